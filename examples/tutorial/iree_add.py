"""Running IREE-compiled code: compile an MLIR function with iree-compile, then record
its dispatches into polyhal command buffers.

    pip install 'polyhal[iree]'                  # iree-base-compiler
    python examples/tutorial/iree_add.py [local | local-sync | vulkan | cuda]
"""

import sys
import tempfile

import numpy as np

import polyhal as hal
from polyhal import iree

MLIR = """
func.func @scaled_add(%a: tensor<1024xf32>, %b: tensor<1024xf32>) -> tensor<1024xf32> {
  %two = arith.constant dense<2.0> : tensor<1024xf32>
  %s = arith.mulf %a, %two : tensor<1024xf32>
  %r = arith.addf %s, %b : tensor<1024xf32>
  return %r : tensor<1024xf32>
}
"""

device = hal.create_device(sys.argv[1] if len(sys.argv) > 1 else None)
with tempfile.TemporaryDirectory() as tmp:
    # The compiler targets the driver's format: CPU system libraries for local, SPIR-V
    # for vulkan, PTX for cuda.  The dump knows every dispatch's layout and grid.
    dump = iree.compile_mlir(MLIR, tmp, driver=device.driver)
    executables = dump.create_executables(device)
    dispatch = dump.dispatch("scaled_add")
    print(
        f"{dispatch.name}: {dispatch.binding_count} bindings, workgroups {dispatch.workgroup_count}"
    )

    a = np.arange(1024, dtype=np.float32)
    b = np.ones(1024, dtype=np.float32)
    out = device.allocate_buffer(4 * 1024)
    cb = device.create_command_buffer()
    with cb:  # buffers in binding order: the inputs, then the result
        dispatch.record(cb, executables, [device.buffer_from(a), device.buffer_from(b), out])
    done = device.create_semaphore(0)
    device.queue_execute(cb, signal=[(done, 1)])
    done.wait(1, timeout=60)

assert np.array_equal(out.to_numpy("float32"), 2 * a + b)
print(f"{device.driver}: {out.to_numpy('float32')[:3]}")
device.close()
