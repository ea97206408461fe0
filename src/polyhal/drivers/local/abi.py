"""The Python mirror of the local driver's kernel ABI, ``include/polyhal.h``.

``polyhal.h`` (``polyhal.include_dir()``) is the one definition of the ABI: IREE's CPU
executable-library ABI, version 0.x.  The executor (``native/executor.c``), the conformance
kernels and user kernels compile against it; Python code that calls a kernel itself (the
IREE loader, its tests, the benchmarks' ctypes loops) uses the structs below, which carry
the header's field names.  tests/local/test_kernel_abi.py compiles a program against
``polyhal.h`` and checks every field's offset and size here against the compiler's.
"""

from __future__ import annotations

import ctypes

__all__ = ["DispatchState", "WorkgroupState", "EntryFunction"]


class DispatchState(ctypes.Structure):
    """``polyhal_dispatch_state_t`` (IREE's ``iree_hal_executable_dispatch_state_v0_t``):
    the same for every workgroup of a dispatch."""

    _fields_ = [
        ("workgroup_size_x", ctypes.c_uint32),
        ("workgroup_size_y", ctypes.c_uint32),
        ("workgroup_size_z", ctypes.c_uint16),
        ("push_constant_count", ctypes.c_uint16),
        ("workgroup_count_x", ctypes.c_uint32),
        ("workgroup_count_y", ctypes.c_uint32),
        ("workgroup_count_z", ctypes.c_uint16),
        ("max_concurrency", ctypes.c_uint8),
        ("binding_count", ctypes.c_uint8),
        ("push_constants", ctypes.POINTER(ctypes.c_uint32)),
        ("binding_ptrs", ctypes.POINTER(ctypes.c_void_p)),
        ("binding_lengths", ctypes.POINTER(ctypes.c_size_t)),
    ]


class WorkgroupState(ctypes.Structure):
    """``polyhal_workgroup_state_t`` (IREE's ``iree_hal_executable_workgroup_state_v0_t``):
    one per workgroup call."""

    _fields_ = [
        ("workgroup_id_x", ctypes.c_uint32),
        ("workgroup_id_y", ctypes.c_uint32),
        ("workgroup_id_z", ctypes.c_uint16),
        ("reserved", ctypes.c_uint16),
        ("processor_id", ctypes.c_uint32),
        ("local_memory", ctypes.c_void_p),
        ("local_memory_size", ctypes.c_uint32),
    ]


#: ``POLYHAL_ENTRY(name)``: int name(const polyhal_env_t*, const polyhal_dispatch_state_t*,
#: const polyhal_workgroup_state_t*); the environment is opaque (IREE libraries read theirs).
EntryFunction = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.c_void_p, ctypes.POINTER(DispatchState), ctypes.POINTER(WorkgroupState)
)
