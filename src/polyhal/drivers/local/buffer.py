"""Local memory: 64-byte aligned host allocations owned by numpy."""

from __future__ import annotations

import numpy as np

from ...types import MemoryType
from ..base import Allocation

ALIGNMENT = 64


class LocalAllocation(Allocation):
    """Host memory; ``ptr`` is its address, valid while this object lives."""

    __slots__ = ("array", "ptr")

    def __init__(self, size: int, memory_type: MemoryType):
        super().__init__(size, memory_type)
        raw = np.empty(size + ALIGNMENT, dtype=np.uint8)
        start = (-raw.ctypes.data) % ALIGNMENT
        self.array = raw[start:start + size]
        self.ptr: int = raw.ctypes.data + start

    def read(self, offset: int, length: int) -> bytes:
        return self.array[offset:offset + length].tobytes()

    def write(self, offset: int, data: memoryview) -> None:
        self.array[offset:offset + len(data)] = np.frombuffer(data, dtype=np.uint8)
