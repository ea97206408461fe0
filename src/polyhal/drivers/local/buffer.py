"""Local memory: 64-byte aligned host allocations, plain or (checked mode) between guard pages."""

from __future__ import annotations

import ctypes
import mmap
import os

import numpy as np

from ...types import MemoryType
from ..base import Allocation

ALIGNMENT = 64
PAGE = mmap.PAGESIZE
#: Inaccessible bytes before and after a checked allocation.  Guards cost address space,
#: not memory, so the trailing one is wide: a kernel that strides past its binding (one
#: workgroup's elements after another's) meets it before it could reach the next mapping.
GUARD_BEFORE = PAGE
GUARD_AFTER = 16 * PAGE
PROT_NONE = 0
#: The byte pattern of a checked allocation's padding.
CANARY = 0xCB
CANARY_BYTES = bytes([CANARY]) * ALIGNMENT
HUGE_PAGE = 2 << 20

_libc = ctypes.CDLL(None, use_errno=True)
_libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
_libc.mprotect.restype = ctypes.c_int


class LocalAllocation(Allocation):
    """Host memory; ``ptr`` is its address, valid while this object lives.

    ``region`` is ``(start, end)`` of the whole mapping, guards included, for a checked
    allocation, and None for a plain one; ``padding`` the bytes between its end and the
    trailing guard (filled with CANARY), None when there are none.  Raises MemoryError or
    OSError when the memory cannot be had.
    """

    __slots__ = ("array", "region", "padding", "canary")

    def __init__(self, size: int, memory_type: MemoryType, checked: bool = False):
        super().__init__(size, memory_type)
        if checked:
            self._map_guarded(size)
            return
        raw = np.empty(size + ALIGNMENT, dtype=np.uint8)
        start = (-raw.ctypes.data) % ALIGNMENT
        self.array = raw[start : start + size]
        self.ptr: int = raw.ctypes.data + start
        self.region: tuple[int, int] | None = None
        self.padding: np.ndarray | None = None
        self.canary = b""

    def _map_guarded(self, size: int) -> None:
        # The buffer ends as close to the trailing guard as the 64-byte alignment that IREE's
        # kernels assume (aligned vector loads) allows.  The trade-off: an overrun of fewer
        # than (-size % 64) bytes lands in this mapping's padding and does not fault; the
        # padding holds a canary that the device checks after each submission instead
        # (found later, without the workgroup).  Any other overrun, and an underrun past the
        # first page's slack, faults at once.  Exact placement (no padding) would misalign
        # every buffer whose size is not a multiple of 64.
        rounded = -(-size // ALIGNMENT) * ALIGNMENT
        data_end = GUARD_BEFORE + -(-rounded // PAGE) * PAGE
        total = data_end + GUARD_AFTER
        mapping = mmap.mmap(
            -1, total, flags=mmap.MAP_PRIVATE, prot=mmap.PROT_READ | mmap.PROT_WRITE
        )
        anchor = ctypes.c_char.from_buffer(mapping)
        base = ctypes.addressof(anchor)
        del anchor  # the mapping must hold no export of ours: numpy's view keeps it alive
        for offset, length in ((0, GUARD_BEFORE), (data_end, GUARD_AFTER)):
            if _libc.mprotect(base + offset, length, PROT_NONE) != 0:
                errno = ctypes.get_errno()
                raise OSError(errno, f"mprotect of a guard page: {os.strerror(errno)}")
        if rounded >= HUGE_PAGE and hasattr(mmap, "MADV_HUGEPAGE"):
            # What numpy asks for its large arrays too: fewer TLB misses in kernels.
            mapping.madvise(mmap.MADV_HUGEPAGE, GUARD_BEFORE, data_end - GUARD_BEFORE)
        start = data_end - rounded
        # The array's base is the mapping: it is unmapped when the last view goes away.
        self.array = np.frombuffer(mapping, dtype=np.uint8, count=size, offset=start)
        self.ptr = base + start
        self.region = (base, base + total)
        self.padding = None
        self.canary = CANARY_BYTES[: rounded - size]  # what the padding holds while intact
        if rounded > size:
            self.padding = np.frombuffer(
                mapping, dtype=np.uint8, count=rounded - size, offset=start + size
            )
            self.padding[:] = CANARY

    def padding_damage(self) -> int:
        """The index of the first padding byte that is no longer CANARY (restoring them
        all), or -1 when the padding is intact or there is none."""
        padding = self.padding
        if padding is None or padding.tobytes() == self.canary:
            return -1
        first = int(np.flatnonzero(padding != CANARY)[0])
        padding[:] = CANARY
        return first

    def host_array(self, offset: int, length: int) -> np.ndarray:
        # A numpy view's base chain ends at the storage (the raw array, or the guarded
        # mapping), so the bytes live as long as any view: a dealloca or close frees nothing.
        return self.array[offset : offset + length]

    def read(self, offset: int, length: int) -> bytes:
        return self.array[offset : offset + length].tobytes()

    def write(self, offset: int, data: memoryview) -> None:
        self.array[offset : offset + len(data)] = np.frombuffer(data, dtype=np.uint8)
