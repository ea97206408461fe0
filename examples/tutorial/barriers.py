"""Two dispatches ordered by a barrier, with the kernels in C, GLSL and CUDA so that the
same program runs on every driver.

    python examples/tutorial/barriers.py [local | local-sync | vulkan | cuda]

``square`` writes y = x * x; ``neighbour_sum`` reads two elements of y that other
workgroups wrote: z[i] = y[i] + y[(i + 1) % n].  Dispatches between two barriers may run
concurrently, so the second one is only correct behind an ``execution_barrier()``.
"""

import sys

import numpy as np

import polyhal as hal

C_SOURCE = r"""
#include "polyhal.h"

POLYHAL_ENTRY(square) {
  const float* x = (const float*)dispatch->binding_ptrs[0];
  float* y = (float*)dispatch->binding_ptrs[1];
  uint32_t n = dispatch->push_constants[0];
  uint32_t first = workgroup->workgroup_id_x * dispatch->workgroup_size_x;
  for (uint32_t i = first; i < first + dispatch->workgroup_size_x && i < n; ++i) y[i] = x[i] * x[i];
  return 0;
}

POLYHAL_ENTRY(neighbour_sum) {
  const float* y = (const float*)dispatch->binding_ptrs[0];
  float* z = (float*)dispatch->binding_ptrs[1];
  uint32_t n = dispatch->push_constants[0];
  uint32_t first = workgroup->workgroup_id_x * dispatch->workgroup_size_x;
  for (uint32_t i = first; i < first + dispatch->workgroup_size_x && i < n; ++i)
    z[i] = y[i] + y[(i + 1) % n];
  return 0;
}
"""

# GLSL holds one entry point per module: {entry point name: source}, each with its `main`.
GLSL_HEADER = """
#version 450
layout(local_size_x = 64) in;
layout(set = 0, binding = 0) readonly buffer In { float src[]; };
layout(set = 0, binding = 1) writeonly buffer Out { float dst[]; };
layout(push_constant) uniform Constants { uint n; };
"""
GLSL_SOURCES = {
    "square": GLSL_HEADER
    + """
void main() {
  uint i = gl_GlobalInvocationID.x;
  if (i < n) dst[i] = src[i] * src[i];
}""",
    "neighbour_sum": GLSL_HEADER
    + """
void main() {
  uint i = gl_GlobalInvocationID.x;
  if (i < n) dst[i] = src[i] + src[(i + 1) % n];
}""",
}

CUDA_SOURCE = """
extern "C" __global__ void square(const float* x, float* y, unsigned n) {
  unsigned i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) y[i] = x[i] * x[i];
}
extern "C" __global__ void neighbour_sum(const float* y, float* z, unsigned n) {
  unsigned i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) z[i] = y[i] + y[(i + 1) % n];
}
"""

device = hal.create_device(sys.argv[1] if len(sys.argv) > 1 else None)  # $POLYHAL_DEVICE

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
entry_points = [hal.EntryPoint(name, layout, (64, 1, 1)) for name in ("square", "neighbour_sum")]
# Each driver takes the first format it can load: local "c", vulkan "glsl", cuda "cuda".
exe = device.create_executable(
    hal.ExecutableSource(entry_points, {"c": C_SOURCE, "glsl": GLSL_SOURCES, "cuda": CUDA_SOURCE})
)

n = 4096
x = device.buffer_from(np.arange(n, dtype=np.float32) / n)
y = device.allocate_buffer(4 * n)
z = device.allocate_buffer(4 * n)
groups = (n + 63) // 64

cb = device.create_command_buffer()
with cb:
    cb.dispatch(exe, "square", groups, constants=[n], bindings=[(0, x), (1, y)])
    # Dispatch writes before the barrier are visible to dispatch reads after it.  The
    # defaults are a full barrier; the explicit form names the stages and the access:
    cb.execution_barrier(
        hal.ExecutionStage.DISPATCH,
        hal.ExecutionStage.DISPATCH,
        memory_barriers=[
            hal.MemoryBarrier(hal.AccessScope.DISPATCH_WRITE, hal.AccessScope.DISPATCH_READ)
        ],
    )
    cb.dispatch(exe, "neighbour_sum", groups, constants=[n], bindings=[(0, y), (1, z)])

done = device.create_semaphore(0)
device.queue_execute(cb, signal=[(done, 1)])
done.wait(1, timeout=10)

xs = np.arange(n, dtype=np.float32) / n
ys = xs * xs
assert np.allclose(z.to_numpy("float32"), ys + np.roll(ys, -1))
print(f"{device.driver}: z[:3] = {z.to_numpy('float32')[:3]}")
device.close()
