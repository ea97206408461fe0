"""The same saxpy kernel in GLSL on the ``vulkan`` driver (needs glslangValidator).

python examples/tutorial/first_kernel_glsl.py       # vulkan (lavapipe works on a CPU)
"""

import sys

import numpy as np

import polyhal as hal

# Descriptor set s, binding b is layout(set = s, binding = b); the push constants are one
# push_constant block of 32-bit values in order.  The shader's `main` becomes the entry
# point named in hal.EntryPoint ("saxpy").  local_size_x is the real workgroup size on
# Vulkan: keep EntryPoint.workgroup_size equal to it.
SAXPY_GLSL = """
#version 450
layout(local_size_x = 64) in;
layout(set = 0, binding = 0) readonly buffer X { float x[]; };
layout(set = 0, binding = 1) buffer Y { float y[]; };
layout(push_constant) uniform Constants { float a; uint n; };

void main() {
  uint i = gl_GlobalInvocationID.x;
  if (i < n) y[i] = a * x[i] + y[i];
}
"""

device = hal.create_device(sys.argv[1] if len(sys.argv) > 1 else "vulkan")

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
exe = device.create_executable(hal.ExecutableSource([entry], {"glsl": SAXPY_GLSL}))

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
