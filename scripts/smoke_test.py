"""A quick check of an installed polyhal (cibuildwheel's test-command; any venv too).

It runs transfers through the native executor that came in the wheel, which needs no C
compiler, and, when the machine has one, a C kernel too.  Exits non-zero on any failure.
"""

from __future__ import annotations

import shutil

import numpy as np

import polyhal as hal

KERNEL = r"""
#include "polyhal.h"
POLYHAL_ENTRY(add_one) {
  uint32_t* data = (uint32_t*)dispatch->binding_ptrs[0];
  data[workgroup->workgroup_id_x] += 1;
  return 0;
}
"""


def main() -> None:
    print("polyhal", hal.__file__, "drivers:", hal.available_drivers())
    assert "local" in hal.available_drivers(), "the native executor did not load"
    with hal.create_device("local") as device:
        buffer = device.allocate_buffer(64)
        copy = device.allocate_buffer(64)
        done = device.create_semaphore()
        device.queue_fill(buffer, 0, 64, np.uint32(41).tobytes(), signal=[(done, 1)])
        device.queue_copy(buffer, 0, copy, 0, 64, wait=[(done, 1)], signal=[(done, 2)])
        done.wait(2, timeout=60)
        assert (copy.to_numpy("uint32") == 41).all()
        if any(shutil.which(cc) for cc in ("cc", "gcc", "clang")):
            layout = hal.PipelineLayout([hal.DescriptorSetLayout([0])])
            exe = device.create_executable(
                hal.ExecutableSource([hal.EntryPoint("add_one", layout)], {"c": KERNEL})
            )
            cb = device.create_command_buffer()
            with cb:
                cb.dispatch(exe, 0, 16, bindings=[(0, copy)])
            device.queue_execute(cb, signal=[(done, 3)])
            done.wait(3, timeout=60)
            assert (copy.to_numpy("uint32") == 42).all()
            print("C kernel: ok")
    print("smoke test: ok")


if __name__ == "__main__":
    main()
