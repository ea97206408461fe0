"""A reduction: the sum of a million floats in passes of 256-element workgroup sums.

    python examples/tutorial/reduction.py [local | local-sync | vulkan | cuda]

Each pass turns n values into ceil(n / 256) partial sums; passes are recorded into one
command buffer with a barrier between them, ping-ponging between two scratch buffers.
GLSL and CUDA sum a workgroup's elements in shared memory; C loops over them.
"""

import sys

import numpy as np

import polyhal as hal

GROUP = 256  # elements per workgroup: local_size_x, blockDim.x and the C loop's extent

C_SOURCE = r"""
#include "polyhal.h"

POLYHAL_ENTRY(block_sum) {
  const float* in = (const float*)dispatch->binding_ptrs[0];
  float* out = (float*)dispatch->binding_ptrs[1];
  uint32_t n = dispatch->push_constants[0];
  uint32_t group = workgroup->workgroup_id_x;
  uint32_t first = group * dispatch->workgroup_size_x;
  float sum = 0.0f;
  for (uint32_t i = first; i < first + dispatch->workgroup_size_x && i < n; ++i) sum += in[i];
  out[group] = sum;
  return 0;
}
"""

GLSL_SOURCE = """
#version 450
layout(local_size_x = 256) in;
layout(set = 0, binding = 0) readonly buffer In { float src[]; };
layout(set = 0, binding = 1) writeonly buffer Out { float dst[]; };
layout(push_constant) uniform Constants { uint n; };
shared float partial[256];

void main() {
  uint i = gl_GlobalInvocationID.x, t = gl_LocalInvocationID.x;
  partial[t] = i < n ? src[i] : 0.0;
  barrier();
  for (uint stride = 128; stride > 0; stride >>= 1) {
    if (t < stride) partial[t] += partial[t + stride];
    barrier();
  }
  if (t == 0) dst[gl_WorkGroupID.x] = partial[0];
}
"""

CUDA_SOURCE = """
extern "C" __global__ void block_sum(const float* in, float* out, unsigned n) {
  __shared__ float partial[256];
  unsigned i = blockIdx.x * blockDim.x + threadIdx.x, t = threadIdx.x;
  partial[t] = i < n ? in[i] : 0.0f;
  __syncthreads();
  for (unsigned stride = 128; stride > 0; stride >>= 1) {
    if (t < stride) partial[t] += partial[t + stride];
    __syncthreads();
  }
  if (t == 0) out[blockIdx.x] = partial[0];
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
    push_constants=1,
)
exe = device.create_executable(
    hal.ExecutableSource(
        [hal.EntryPoint("block_sum", layout, (GROUP, 1, 1))],
        {"c": C_SOURCE, "glsl": GLSL_SOURCE, "cuda": CUDA_SOURCE},
    )
)

n = 1 << 20
values = (np.arange(n) % 7).astype(np.float32)  # small integers: every sum is exact
data = device.buffer_from(values)
scratch = [device.allocate_buffer(4 * (n // GROUP + 1)) for _ in range(2)]

cb = device.create_command_buffer()
with cb:
    source, count, p = data, n, 0
    while count > 1:
        groups = (count + GROUP - 1) // GROUP
        cb.dispatch(
            exe, "block_sum", groups, constants=[count], bindings=[(0, source), (1, scratch[p])]
        )
        cb.execution_barrier()  # the next pass reads what this one wrote
        source, count, p = scratch[p], groups, 1 - p

done = device.create_semaphore(0)
device.queue_execute(cb, signal=[(done, 1)])
done.wait(1, timeout=30)

total = float(source.to_numpy("float32")[0])
assert total == float(values.sum(dtype=np.float64))
print(f"{device.driver}: sum = {total:.0f}")
device.close()
