"""Buffers: a root allocation and views (subspans) onto it."""

from __future__ import annotations

import operator
from typing import TYPE_CHECKING, Any

import numpy as np

from .errors import FailedPreconditionError, InvalidArgumentError, OutOfRangeError
from .types import WHOLE_BUFFER, BufferUsage, MemoryAccess, MemoryType

if TYPE_CHECKING:
    from .device import Device
    from .drivers.base import Allocation


def as_index(value: Any, what: str) -> int:
    """``value`` as a Python int (numpy integers too); InvalidArgumentError otherwise."""
    if type(value) is int:
        return value
    try:
        return operator.index(value)
    except TypeError:
        raise InvalidArgumentError(f"{what}: expected an integer, got {value!r}") from None


def resolve_range(size: int, offset: int, length: int, what: str = "range") -> int:
    """The length of ``[offset, offset+length)`` inside ``size`` bytes; OutOfRangeError if outside.

    ``length`` may be WHOLE_BUFFER (to the end).
    """
    if type(offset) is not int or type(length) is not int:
        offset, length = as_index(offset, what), as_index(length, what)
    if offset < 0 or offset > size:
        raise OutOfRangeError(f"{what}: offset {offset} is outside a buffer of {size} bytes")
    if length == WHOLE_BUFFER:
        return size - offset
    if length < 0 or offset + length > size:
        raise OutOfRangeError(
            f"{what}: [{offset}, {offset}+{length}) is outside a buffer of {size} bytes"
        )
    return length


class Buffer:
    """Device memory: ``size`` bytes at ``offset`` into a driver allocation.

    A root buffer has offset 0 and spans the whole allocation; ``subspan`` makes views
    that share the storage.  ``read``/``write`` are synchronous host accesses: order them
    after device work by waiting on a semaphore first.
    """

    __slots__ = ("device", "alloc", "offset", "size", "memory_type", "usage", "access",
                 "usage_bits", "__weakref__")

    def __init__(self, device: Device, alloc: Allocation, offset: int, size: int,
                 memory_type: MemoryType, usage: BufferUsage, access: MemoryAccess):
        self.device = device
        self.alloc = alloc
        self.offset = offset
        self.size = size
        self.memory_type = memory_type
        self.usage = usage
        self.usage_bits = int(usage)  # for fast checks while recording
        self.access = access

    def __repr__(self) -> str:
        return (f"Buffer(size={self.size}, offset={self.offset}, "
                f"memory_type={self.memory_type!r}, usage={self.usage!r})")

    def __len__(self) -> int:
        return self.size

    def check_live(self) -> None:
        if self.alloc.released:
            raise FailedPreconditionError("buffer was deallocated (queue_dealloca)")

    # -- interop: drivers whose allocations can export themselves provide the hooks ------
    @property
    def __cuda_array_interface__(self) -> dict:
        """The CUDA Array Interface (v3) of this range, as bytes; cuda devices only."""
        hook = getattr(self.alloc, "cuda_array_interface", None)
        if hook is None:
            raise AttributeError("__cuda_array_interface__: not a buffer of a CUDA device")
        self.check_live()
        return hook(self.offset, self.size)

    def __dlpack__(self, *, stream: Any = None, **_: Any) -> Any:
        """A DLPack capsule of this range as uint8, where the driver exports DLPack."""
        hook = getattr(self.alloc, "dlpack", None)
        if hook is None:
            raise TypeError(f"this buffer's device ({self.device.driver}) does not export DLPack")
        self.check_live()
        return hook(self.offset, self.size, stream)

    def __dlpack_device__(self) -> tuple[int, int]:
        hook = getattr(self.alloc, "dlpack_device", None)
        if hook is None:
            raise TypeError(f"this buffer's device ({self.device.driver}) does not export DLPack")
        return hook()

    def subspan(self, offset: int, length: int = WHOLE_BUFFER) -> Buffer:
        """A view of ``length`` bytes at ``offset``; OutOfRangeError if outside this buffer."""
        offset = as_index(offset, "subspan")
        length = resolve_range(self.size, offset, length, "subspan")
        return Buffer(self.device, self.alloc, self.offset + offset, length,
                      self.memory_type, self.usage, self.access)

    def _host_range(self, offset: int, length: int, access: MemoryAccess) -> int:
        self.check_live()
        if not self.memory_type & MemoryType.HOST_VISIBLE and not (
                self.usage & BufferUsage.MAPPING):
            raise InvalidArgumentError(
                f"buffer is not host-visible (memory_type={self.memory_type!r}); "
                "copy it into a HOST_VISIBLE buffer first")
        if not self.access & access:
            raise InvalidArgumentError(f"buffer access {self.access!r} does not allow {access!r}")
        return resolve_range(self.size, offset, length, "host access")

    def read(self, offset: int = 0, length: int = WHOLE_BUFFER) -> bytes:
        """Copies ``length`` bytes at ``offset`` to the host."""
        length = self._host_range(offset, length, MemoryAccess.READ)
        if length == 0:
            return b""
        return self.device._driver.read(self.alloc, self.offset + offset, length)

    def write(self, data: Any, offset: int = 0) -> None:
        """Copies a bytes-like object or numpy array into the buffer at ``offset``."""
        view = _as_bytes_view(data)
        self._host_range(offset, len(view), MemoryAccess.WRITE)
        if len(view):
            self.device._driver.write(self.alloc, self.offset + offset, view)

    def to_numpy(self, dtype: Any = "uint8", shape: Any = None) -> np.ndarray:
        """A copy of the contents as a numpy array of ``dtype`` (and ``shape``)."""
        dtype = np.dtype(dtype)
        if self.size % dtype.itemsize:
            raise InvalidArgumentError(
                f"buffer of {self.size} bytes is not a whole number of {dtype} items")
        array = np.frombuffer(bytearray(self.read()), dtype=dtype)
        return array.reshape(shape) if shape is not None else array


def _as_bytes_view(data: Any) -> memoryview:
    if isinstance(data, np.ndarray):
        data = np.ascontiguousarray(data)
    try:
        view = memoryview(data)
    except TypeError:
        raise InvalidArgumentError(
            f"expected a bytes-like object or numpy array, got {type(data).__name__}") from None
    return view.cast("B") if view.format != "B" or view.ndim != 1 else view
