"""The same saxpy kernel in CUDA C on the ``cuda`` driver (an NVIDIA GPU, cuda-bindings).

pip install 'polyhal[cuda]'
python examples/tutorial/first_kernel_cuda.py
"""

import sys

import numpy as np

import polyhal as hal

# Kernel parameters are the bindings as device pointers in (set, binding) order, then each
# push constant as one 32-bit value.  extern "C" keeps the name the entry point uses; the
# block size is EntryPoint.workgroup_size and the grid the dispatch's workgroup count.
SAXPY_CUDA = """
extern "C" __global__ void saxpy(const float* x, float* y, float a, unsigned n) {
  unsigned i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) y[i] = a * x[i] + y[i];
}
"""

device = hal.create_device(sys.argv[1] if len(sys.argv) > 1 else "cuda")

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
entry = hal.EntryPoint("saxpy", layout, workgroup_size=(64, 1, 1))
exe = device.create_executable(hal.ExecutableSource([entry], {"cuda": SAXPY_CUDA}))

n = 1000
x = device.buffer_from(np.arange(n, dtype=np.float32))
y = device.buffer_from(np.ones(n, dtype=np.float32))

cb = device.create_command_buffer()
with cb:
    cb.dispatch(exe, "saxpy", (n + 63) // 64, constants=[2.5, n], bindings=[(0, x), (1, y)])

done = device.create_semaphore(0)
device.queue_execute(cb, signal=[(done, 1)])
done.wait(1, timeout=10)

result = y.to_numpy("float32")
assert np.array_equal(result, 2.5 * np.arange(n, dtype=np.float32) + 1)
print(result[:4])  # [1.  3.5 6.  8.5]
device.close()
