"""The local device: host memory, C executables and the native executor."""

from __future__ import annotations

import ctypes
import os
import platform
from collections.abc import Callable, Sequence
from typing import Any

from ...errors import HalError, InternalError, InvalidArgumentError, OutOfRangeError
from ...types import MemoryType
from ..base import DriverDevice, Limits, Work
from . import encoder, executable
from .buffer import LocalAllocation
from .executor import Result, Slot, library

#: The executor's result code for indirect counts out of range (PH_ERROR_INDIRECT_COUNT).
INDIRECT_COUNT_ERROR = -(2**31)


class LocalDevice(DriverDevice):
    executable_formats = executable.FORMATS

    def __init__(self, sync: bool = False, dispatch_type: str = "concurrent",
                 workers: int | None = None, spin_us: float = 50.0, checked: bool = False,
                 **options: Any):
        if options:
            raise InvalidArgumentError(f"unknown local device options {sorted(options)}")
        self.sync = sync
        self.checked = checked
        self.serial = sync or dispatch_type == "serial"
        self.run_deferred_inline = sync
        self.lib = library()
        cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (
            os.cpu_count() or 1)
        self.workers = 0 if sync else (cpus - 1 if workers is None else int(workers))
        self.pool = self.lib.ph_pool_create(self.workers, int(spin_us * 1000)) if (
            self.workers > 0) else None
        # A CPU workgroup is one call of the kernel: its "size" is whatever the kernel loops
        # over, bounded only by the ABI's field widths.
        self.limits = Limits(max_bindings=32, max_push_constants=64,
                             max_workgroup_size=(2**32 - 1, 2**32 - 1, 2**16 - 1),
                             max_workgroup_invocations=2**64 - 1,
                             max_workgroup_count=(2**32 - 1, 2**32 - 1, 2**16 - 1))
        kind = "inline on the caller" if sync else f"{self.workers + 1} threads"
        self.name = f"{platform.processor() or platform.machine()} CPU ({kind})"
        self.info = {"vendor": "CPU", "driver": "local-sync" if sync else "local",
                     "threads": self.workers + 1, "dispatch_type":
                     "serial" if self.serial else "concurrent",
                     "limits": self.limits.as_dict()}

    def allocate(self, size: int, memory_type: MemoryType, usage: int) -> LocalAllocation:
        # Host memory is all of these at once on the CPU.
        return LocalAllocation(size, memory_type | MemoryType.HOST_LOCAL
                               | MemoryType.DEVICE_LOCAL)

    def read(self, alloc: Any, offset: int, length: int) -> bytes:
        return alloc.read(offset, length)

    def write(self, alloc: Any, offset: int, data: memoryview) -> None:
        alloc.write(offset, data)

    def load_executable(self, fmt: str, payload: Any, entry_points: Sequence[Any]) -> Any:
        return executable.load(fmt, payload, entry_points)

    def encode(self, commands: list, mode: Any = None) -> encoder.EncodedProgram:
        return encoder.encode(commands)

    def execute(self, work: Sequence[Work], done: Callable[[HalError | None], None]) -> None:
        execute = self.lib.ph_execute
        result = Result()
        for item in work:
            program = item.encoded
            slots = None
            if program.has_slots and item.binding_table:
                table = item.binding_table
                slots = (Slot * len(table))(*[(e.alloc.ptr + e.offset, e.length) for e in table])
            if program.count and execute(self.pool, ctypes.byref(program.program), slots,
                                         self.serial, ctypes.byref(result)):
                done(self._kernel_error(program, result))
                return
        done(None)

    @staticmethod
    def _kernel_error(program: encoder.EncodedProgram, result: Result) -> HalError:
        index = result.failed_command
        name = program.entry_point_name(index)
        wg = tuple(result.workgroup)
        if result.code == INDIRECT_COUNT_ERROR:
            return OutOfRangeError(
                f"dispatch_indirect of {name!r}: workgroup count {wg} read from the buffer is "
                f"out of range (z <= 65535, at most 2**32 workgroups; command {index})")
        return InternalError(f"entry point {name!r} returned {result.code} in workgroup {wg} "
                             f"(command {index})")

    def close(self) -> None:
        if self.pool:
            self.lib.ph_pool_destroy(self.pool)
            self.pool = None

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass
