"""A reusable command buffer: recorded once with slots, submitted many times with a
different binding table each time, the submissions chained on one timeline.

    python examples/tutorial/reusable.py [local | local-sync | vulkan | cuda]
"""

import sys

import numpy as np

import polyhal as hal

C_SOURCE = r"""
#include "polyhal.h"

POLYHAL_ENTRY(scale) {
  const float* x = (const float*)dispatch->binding_ptrs[0];
  float* y = (float*)dispatch->binding_ptrs[1];
  union { uint32_t bits; float value; } a = {dispatch->push_constants[0]};
  uint32_t n = dispatch->push_constants[1];
  uint32_t first = workgroup->workgroup_id_x * dispatch->workgroup_size_x;
  for (uint32_t i = first; i < first + dispatch->workgroup_size_x && i < n; ++i)
    y[i] = a.value * x[i];
  return 0;
}
"""
GLSL_SOURCE = """
#version 450
layout(local_size_x = 64) in;
layout(set = 0, binding = 0) readonly buffer X { float x[]; };
layout(set = 0, binding = 1) writeonly buffer Y { float y[]; };
layout(push_constant) uniform Constants { float a; uint n; };
void main() {
  uint i = gl_GlobalInvocationID.x;
  if (i < n) y[i] = a * x[i];
}
"""
CUDA_SOURCE = """
extern "C" __global__ void scale(const float* x, float* y, float a, unsigned n) {
  unsigned i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) y[i] = a * x[i];
}
"""

device = hal.create_device(sys.argv[1] if len(sys.argv) > 1 else None)
layout = hal.PipelineLayout(
    [
        hal.DescriptorSetLayout(
            [
                hal.DescriptorSetLayoutBinding(0, hal.DescriptorFlags.READ_ONLY),
                hal.DescriptorSetLayoutBinding(1),
            ]
        )
    ],
    push_constants=2,
)
exe = device.create_executable(
    hal.ExecutableSource(
        [hal.EntryPoint("scale", layout, (64, 1, 1))],
        {"c": C_SOURCE, "glsl": GLSL_SOURCE, "cuda": CUDA_SOURCE},
    )
)

n = 256
# DEFAULT mode is reusable; binding_capacity is the number of slots it may reference.
cb = device.create_command_buffer(hal.CommandBufferMode.DEFAULT, binding_capacity=2)
with cb:
    cb.dispatch(
        exe,
        "scale",
        (n + 63) // 64,
        constants=[2.0, n],
        bindings=[(0, hal.Slot(0)), (1, hal.Slot(1))],
    )

# Three buffers: each submission doubles the previous one's output into the next buffer.
buffers = [device.buffer_from(np.ones(n, np.float32))] + [
    device.allocate_buffer(4 * n) for _ in range(3)
]
timeline = device.create_semaphore(0)
for k in range(3):
    # Entry i of the table resolves hal.Slot(i): a Buffer, or (buffer, offset, length).
    table = [buffers[k], (buffers[k + 1], 0, 4 * n)]
    device.queue_execute(cb, wait=[(timeline, k)], signal=[(timeline, k + 1)], binding_table=table)
timeline.wait(3, timeout=10)

assert np.array_equal(buffers[3].to_numpy("float32"), np.full(n, 8.0, np.float32))
print(f"{device.driver}: after 3 submissions: {buffers[3].to_numpy('float32')[:2]}")
device.close()
