"""Buffers: a root allocation and views (subspans) onto it."""

from __future__ import annotations

import operator
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from . import hazards
from .errors import FailedPreconditionError, InvalidArgumentError, OutOfRangeError
from .types import WHOLE_BUFFER, BufferUsage, MemoryAccess, MemoryType

if TYPE_CHECKING:
    from .device import Device
    from .drivers.base import Allocation

UINT64_MAX = 2**64 - 1
_Flag = TypeVar("_Flag", bound=int)


def as_index(value: Any, what: str) -> int:
    """``value`` as a Python int (numpy integers too); InvalidArgumentError otherwise.

    Converting at the API boundary matters: a numpy ``uint8`` offset added to a Python int
    would wrap in numpy's arithmetic instead of raising.
    """
    if type(value) is int:
        return value
    if isinstance(value, bool):
        raise InvalidArgumentError(f"{what}: expected an integer, got {value!r}")
    try:
        return operator.index(value)
    except TypeError:
        raise InvalidArgumentError(f"{what}: expected an integer, got {value!r}") from None


def as_uint64(value: Any, what: str) -> int:
    """``value`` as an int in [0, 2**64); InvalidArgumentError for a non-integer,
    OutOfRangeError outside the range (offsets, lengths and payloads are 64-bit)."""
    value = as_index(value, what)
    if not 0 <= value <= UINT64_MAX:
        raise OutOfRangeError(f"{what}: {value} is outside [0, 2**64)")
    return value


def as_flags(kind: type[_Flag], value: Any, what: str) -> _Flag:
    """``value`` as a member (or combination) of the IntFlag/IntEnum ``kind``.

    InvalidArgumentError for anything else: a string, None, a float, or bits the enum does
    not define.
    """
    if type(value) is kind:
        return value
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise InvalidArgumentError(f"{what}: expected a {kind.__name__}, got {value!r}")
    if value < 0:  # IntFlag would take -1 as "every bit"
        raise InvalidArgumentError(f"{what}: {value!r} is not a {kind.__name__}")
    try:
        member = kind(int(value))
    except ValueError:
        raise InvalidArgumentError(f"{what}: {value!r} is not a {kind.__name__}") from None
    known = 0
    for m in kind:
        known |= int(m)
    if int(member) & ~known or int(member) < 0:
        raise InvalidArgumentError(f"{what}: {value!r} has bits {kind.__name__} does not define")
    return member


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
        """FailedPreconditionError once the buffer was deallocated or its device closed."""
        if self.alloc.released:
            raise FailedPreconditionError("buffer was deallocated (queue_dealloca)")
        if self.device._closed:
            raise FailedPreconditionError("buffer of a closed device")

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
        self.check_live()
        offset = as_index(offset, "subspan")
        length = resolve_range(self.size, offset, length, "subspan")
        return Buffer(self.device, self.alloc, self.offset + offset, length,
                      self.memory_type, self.usage, self.access)

    def _host_range(self, offset: int, length: int, access: MemoryAccess) -> tuple[int, int]:
        """(offset, length) of a host access as Python ints, checked against the buffer."""
        self.check_live()
        if not self.memory_type & MemoryType.HOST_VISIBLE and not (
                self.usage & BufferUsage.MAPPING):
            raise InvalidArgumentError(
                f"buffer is not host-visible (memory_type={self.memory_type!r}); "
                "copy it into a HOST_VISIBLE buffer first")
        if not self.access & access:
            raise InvalidArgumentError(f"buffer access {self.access!r} does not allow {access!r}")
        offset, length = as_index(offset, "host access"), as_index(length, "host access")
        return offset, resolve_range(self.size, offset, length, "host access")

    def read(self, offset: int = 0, length: int = WHOLE_BUFFER, *,
             wait: bool | float = False, unsynchronized: bool = False) -> bytes:
        """Copies ``length`` bytes at ``offset`` to the host.

        On a checked device, FailedPreconditionError if a pending submission (queued, not
        yet complete) writes any of those bytes.  ``wait=True`` waits for such submissions
        instead, a number waits at most that many seconds (then DeadlineExceededError).  An
        unchecked device tracks no ranges: there ``wait`` waits for the device to be idle.
        ``unsynchronized=True`` neither checks nor waits: the caller accepts whatever bytes
        are there (say, to see that parked work has not run yet).
        """
        offset, length = self._host_range(offset, length, MemoryAccess.READ)
        if (wait is not False or self.device.checked) and not unsynchronized:
            hazards.host_access(self, offset, length, False, wait)
        if length == 0:
            return b""
        return self.device._driver.read(self.alloc, self.offset + offset, length)

    def write(self, data: Any, offset: int = 0, *, wait: bool | float = False,
              unsynchronized: bool = False) -> None:
        """Copies a bytes-like object or numpy array into the buffer at ``offset``.

        On a checked device, FailedPreconditionError if a pending submission reads or
        writes any of those bytes; ``wait`` and ``unsynchronized`` as in :meth:`read`.
        """
        view = _as_bytes_view(data)
        offset, _ = self._host_range(offset, len(view), MemoryAccess.WRITE)
        if (wait is not False or self.device.checked) and not unsynchronized:
            hazards.host_access(self, offset, len(view), True, wait)
        if len(view):
            self.device._driver.write(self.alloc, self.offset + offset, view)

    def to_numpy(self, dtype: Any = "uint8", shape: Any = None, *,
                 wait: bool | float = False, unsynchronized: bool = False) -> np.ndarray:
        """A copy of the contents as a numpy array of ``dtype`` (and ``shape``); ``wait``,
        ``unsynchronized`` and the checked-mode hazard check as in :meth:`read`."""
        dtype = _dtype(dtype)
        if self.size % dtype.itemsize:
            raise InvalidArgumentError(
                f"buffer of {self.size} bytes is not a whole number of {dtype} items")
        array = np.frombuffer(bytearray(self.read(wait=wait, unsynchronized=unsynchronized)),
                              dtype=dtype)
        if shape is None:
            return array
        try:
            return array.reshape(shape)
        except (TypeError, ValueError) as e:
            raise InvalidArgumentError(f"to_numpy: shape {shape!r}: {e}") from None


def _dtype(dtype: Any) -> np.dtype:
    """A numpy dtype with a size (no object or void-of-zero types); InvalidArgumentError."""
    try:
        out = np.dtype(dtype)
    except (TypeError, ValueError) as e:
        raise InvalidArgumentError(f"not a numpy dtype: {dtype!r} ({e})") from None
    if out.itemsize == 0 or out.hasobject:
        raise InvalidArgumentError(f"dtype {out} has no fixed size in bytes")
    return out


def _as_bytes_view(data: Any) -> memoryview:
    """The bytes of a bytes-like object or numpy array (made contiguous), as a flat view."""
    if isinstance(data, np.ndarray):
        if data.dtype.hasobject:
            raise InvalidArgumentError("a numpy array of Python objects has no bytes to copy")
        data = np.ascontiguousarray(data)
    elif isinstance(data, str):
        raise InvalidArgumentError("expected bytes, got str (encode it first)")
    try:
        view = memoryview(data)
        if not view.c_contiguous:
            view = memoryview(view.tobytes())
        return view.cast("B") if view.format != "B" or view.ndim != 1 else view
    except (TypeError, ValueError, NotImplementedError) as e:
        raise InvalidArgumentError(
            f"expected a bytes-like object or numpy array, got {type(data).__name__} ({e})"
        ) from None
