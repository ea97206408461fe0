"""A first kernel in C on the ``local`` driver: ``y = a * x + y`` (saxpy).

python examples/tutorial/first_kernel_c.py          # local; or local-sync
"""

import sys

import numpy as np

import polyhal as hal

# An entry point on `local` is a C function with IREE's executable-library ABI.  polyhal.h
# declares its structs and the POLYHAL_ENTRY(name) macro.  polyhal calls the function once
# per workgroup; the kernel loops over the workgroup's invocations itself.
SAXPY_C = r"""
#include "polyhal.h"

POLYHAL_ENTRY(saxpy) {
  const float* x = (const float*)dispatch->binding_ptrs[0];   /* set 0, binding 0 */
  float* y = (float*)dispatch->binding_ptrs[1];               /* set 0, binding 1 */
  union { uint32_t bits; float value; } a = {dispatch->push_constants[0]};
  uint32_t n = dispatch->push_constants[1];
  uint32_t first = workgroup->workgroup_id_x * dispatch->workgroup_size_x;
  for (uint32_t i = first; i < first + dispatch->workgroup_size_x && i < n; ++i) {
    y[i] = a.value * x[i] + y[i];
  }
  return 0;  /* non-zero fails the submission */
}
"""

device = hal.create_device(sys.argv[1] if len(sys.argv) > 1 else "local")

# One descriptor set with two storage buffers (x is only read) and two 32-bit push
# constants (a, n).
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
exe = device.create_executable(hal.ExecutableSource([entry], {"c": SAXPY_C}))

n = 1000
x = device.buffer_from(np.arange(n, dtype=np.float32))
y = device.buffer_from(np.ones(n, dtype=np.float32))

cb = device.create_command_buffer()  # ONE_SHOT: recorded once, submitted once
with cb:  # begin() ... end()
    cb.dispatch(
        exe,
        "saxpy",
        (n + 63) // 64,  # workgroups of 64 elements
        constants=[2.5, n],
        bindings=[(0, x), (1, y)],
    )

done = device.create_semaphore(0)
device.queue_execute(cb, signal=[(done, 1)])  # returns at once
done.wait(1, timeout=10)  # the queue signals 1 when the work is done

result = y.to_numpy("float32")
assert np.array_equal(result, 2.5 * np.arange(n, dtype=np.float32) + 1)
print(result[:4])  # [1.  3.5 6.  8.5]
device.close()
