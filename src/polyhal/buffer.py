"""Buffers: a root allocation and views (subspans) onto it."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TypeAlias

import numpy as np
import numpy.typing as npt

from . import _stream, hazards
from ._args import as_index
from .errors import FailedPreconditionError, InvalidArgumentError, OutOfRangeError
from .types import WHOLE_BUFFER, BufferUsage, MemoryAccess, MemoryType

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer
    from typing_extensions import CapsuleType

    from .device import Device
    from .drivers.base import Allocation

#: Host data that a buffer write or update copies: any bytes-like object or numpy array.
HostData: TypeAlias = "ReadableBuffer | np.ndarray"
#: An array shape: a length or a sequence of them (None where it is optional: as it is).
Shape: TypeAlias = "int | Sequence[int]"

KDL_CPU = 1  # DLPack's device type of host memory


class NotExportableError(InvalidArgumentError, BufferError):
    """A buffer that cannot be viewed or exported as asked (memory with no host mapping, a
    DLPack device or stream the memory is not on): an InvalidArgumentError that is also the
    BufferError that the buffer protocol and DLPack name for this."""


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


class Buffer(_stream.BufferBase):
    """Device memory: ``size`` bytes at ``offset`` into a driver allocation.

    A root buffer has offset 0 and spans the whole allocation; ``subspan`` makes views
    that share the storage.  ``read``/``write`` are synchronous host accesses: order them
    after device work by waiting on a semaphore first.

    **Host views without a copy.**  Memory with a coherent host mapping (every ``local``
    buffer; ``vulkan`` buffers whose memory type is HOST_VISIBLE) is reachable as numpy
    arrays that share it: :meth:`as_array` (typed, shaped), ``np.asarray(buffer)`` (bytes,
    through ``__array_interface__``), ``np.from_dlpack`` / ``torch.from_dlpack`` (bytes,
    through ``__dlpack__`` on the CPU device), and ``memoryview(buffer)`` on Python 3.12+
    (``__buffer__``, PEP 688; Python 3.10 and 3.11 have no buffer protocol for classes
    written in Python, so there use ``memoryview(buffer.as_array())``).  Every one of them
    is, or is built on, a numpy array that keeps the storage alive: a view stays valid
    after the Buffer is dropped, after ``queue_dealloca`` (the memory is freed when the
    last view goes) and after the device's ``close``.  A view is writable unless the
    buffer's access lacks WRITE.  Creating a view is a host access of the whole buffer: on
    a checked device it raises FailedPreconditionError while a pending submission reads or
    writes the buffer (as :meth:`write` does); once made, a view is not tracked, so order
    its uses after device work by waiting on semaphores.  Memory without a host mapping
    (vulkan device-local memory, cuda device memory) raises
    :class:`~polyhal.buffer.NotExportableError`; device-only cuda buffers speak
    ``__cuda_array_interface__`` and DLPack on the GPU.
    """

    # device, alloc, offset, size and usage_bits are fields of the native base, which
    # recording reads without attribute lookups.
    __slots__ = ("memory_type", "usage", "access", "__weakref__")

    if TYPE_CHECKING:
        # The native base's fields hold these types: __init__ is the only writer.
        @property
        def device(self) -> Device: ...
        @property
        def alloc(self) -> Allocation: ...

    def __init__(
        self,
        device: Device,
        alloc: Allocation,
        offset: int,
        size: int,
        memory_type: MemoryType,
        usage: BufferUsage,
        access: MemoryAccess,
    ):
        # device, alloc, offset, size and usage bits: fields of the native base, read-only
        super().__init__(device, alloc, offset, size, int(usage))
        self.memory_type = memory_type
        self.usage = usage
        self.access = access

    def __repr__(self) -> str:
        return (
            f"Buffer(size={self.size}, offset={self.offset}, "
            f"memory_type={self.memory_type!r}, usage={self.usage!r})"
        )

    def __len__(self) -> int:
        return self.size

    def check_live(self) -> None:
        """FailedPreconditionError once the buffer was deallocated or its device closed."""
        if self.alloc.released:
            raise FailedPreconditionError("buffer was deallocated (queue_dealloca)")
        if self.device._closed:
            raise FailedPreconditionError("buffer of a closed device")

    # -- host views and interop ----------------------------------------------------------
    def as_array(
        self,
        dtype: npt.DTypeLike = "uint8",
        shape: Shape | None = None,
        *,
        wait: bool | float = False,
        unsynchronized: bool = False,
    ) -> np.ndarray:
        """The buffer's memory as a numpy array of ``dtype`` (and ``shape``), without a copy.

        Writes through the array change the buffer, and device work is visible in it once
        waited for.  The array keeps the storage alive (see the class notes on lifetime).
        InvalidArgumentError for a dtype that is not one, a size that is not a whole
        number of items, or a shape that does not hold them;
        :class:`~polyhal.buffer.NotExportableError` (an InvalidArgumentError) for memory
        without a host mapping: ``to_numpy()`` copies
        it, or ``queue_copy`` it into a buffer allocated with ``MemoryType.HOST_LOCAL``.
        FailedPreconditionError for a deallocated buffer or a closed device, and on a
        checked device while a pending submission uses the buffer (``wait`` and
        ``unsynchronized`` as in :meth:`read`).
        """
        dtype = self._item_type(dtype, "as_array")
        # Of a contiguous array, reshape is a view, never a copy.
        return _reshaped(self._host_view(wait, unsynchronized).view(dtype), shape, "as_array")

    def _item_type(self, dtype: npt.DTypeLike, what: str) -> np.dtype[Any]:
        """``dtype`` for an array of this buffer's bytes; InvalidArgumentError unless it is
        a sized numpy dtype that divides the buffer's size."""
        dtype = _dtype(dtype)
        if self.size % dtype.itemsize:
            raise InvalidArgumentError(
                f"{what}: buffer of {self.size} bytes is not a whole number of {dtype} items"
            )
        return dtype

    def _synchronize(
        self, offset: int, length: int, writes: bool, wait: bool | float, unsynchronized: bool
    ) -> None:
        """The hazard check (checked devices) or wait before a host access of a range."""
        if unsynchronized is not False:
            if unsynchronized is not True:
                raise InvalidArgumentError(
                    f"unsynchronized is True or False, got {unsynchronized!r}"
                )
            if wait is not False:
                raise InvalidArgumentError("wait= and unsynchronized=True contradict each other")
            return
        if wait is not False or self.device.checked:
            hazards.host_access(self, offset, length, writes, wait)

    def _host_view(self, wait: bool | float, unsynchronized: bool) -> np.ndarray:
        """A 1-D uint8 array over this buffer's bytes (read-only without WRITE access)."""
        self.check_live()
        if not self.access & MemoryAccess.READ:
            raise InvalidArgumentError(f"a host view reads: buffer access {self.access!r}")
        writable = bool(self.access & MemoryAccess.WRITE)
        # The caller may write through a writable view at any time: check it as a write.
        self._synchronize(0, self.size, writable, wait, unsynchronized)
        array = self.alloc.host_array(self.offset, self.size)
        if array is None:
            raise NotExportableError(
                f"buffer has no host mapping to view (memory_type={self.memory_type!r}, "
                f"device {self.device.driver}): to_numpy() or read() copy it, or queue_copy "
                "it into a buffer allocated with memory_type=MemoryType.HOST_LOCAL"
            )
        if not writable:
            array.flags.writeable = False
        return array

    @property
    def __array_interface__(self) -> dict[str, object]:
        """numpy's array interface (v3): the bytes, shared, so ``np.asarray(buffer)`` is a
        uint8 view.  ``data`` is the view array itself (a buffer-protocol object, which
        the interface allows) rather than an address: numpy then keeps that array, and so
        the storage, alive instead of this Buffer.  Errors as in :meth:`as_array`."""
        return {
            "shape": (self.size,),
            "typestr": "|u1",
            "version": 3,
            "data": self._host_view(False, False),
        }

    if sys.version_info >= (3, 12):

        def __buffer__(self, flags: int) -> memoryview:
            """The buffer protocol (PEP 688): ``memoryview(buffer)`` of the bytes, shared."""
            return memoryview(self._host_view(False, False))

    @property
    def __cuda_array_interface__(self) -> dict[str, object]:
        """The CUDA Array Interface (v3) of this range, as bytes; cuda devices only."""
        if not self.alloc.cuda_memory:
            raise AttributeError("__cuda_array_interface__: not a buffer of a CUDA device")
        self.check_live()
        return self.alloc.cuda_array_interface(self.offset, self.size)

    def __dlpack__(
        self,
        *,
        stream: int | None = None,
        max_version: tuple[int, int] | None = None,
        dl_device: tuple[int, int] | None = None,
        copy: bool | None = None,
    ) -> CapsuleType:
        """A DLPack capsule of the bytes (uint8), shared.

        Host-mapped memory is exported on the CPU device (``kDLCPU``, through numpy's
        exporter, so ``max_version`` and ``copy`` mean what they mean there); ``stream``
        must be None and ``dl_device`` None or ``(1, 0)``, else NotExportableError.
        cuda device memory is exported on its GPU (``stream``: the consumer's stream).
        Errors as in :meth:`as_array`.
        """
        self.check_live()
        if self.alloc.cuda_memory and self.alloc.host_array(0, 0) is None:
            # Refuse what the consumer cannot take before a capsule exists: numpy asks for
            # the CPU device, and a GPU capsule it then drops fails inside its destructor.
            here = tuple(self.__dlpack_device__())
            if dl_device is not None and tuple(dl_device) != here:
                raise NotExportableError(
                    f"__dlpack__: the memory is on the device {here}, not {dl_device!r} "
                    "(to_numpy() copies it to the host)"
                )
            if copy:
                raise NotExportableError(
                    "__dlpack__: copy=True is not offered for device "
                    "memory (to_numpy() copies it to the host)"
                )
            return self.alloc.dlpack(self.offset, self.size, stream)
        array = self._host_view(False, False)
        if stream is not None:
            raise NotExportableError(f"__dlpack__: host memory takes no stream, got {stream!r}")
        if dl_device is not None and tuple(dl_device) != (KDL_CPU, 0):
            raise NotExportableError(
                f"__dlpack__: the memory is on the CPU device ({KDL_CPU}, 0), not {dl_device!r}"
            )
        # Only what the consumer asked for: numpy before 2.0 takes none of these keywords,
        # and the TypeError it raises is the protocol's "ask again without them".
        options: dict[str, Any] = {
            k: v for k, v in (("max_version", max_version), ("copy", copy)) if v is not None
        }
        return array.__dlpack__(**options)

    def __dlpack_device__(self) -> tuple[int, int]:
        """DLPack's (device type, index): ``(1, 0)`` (kDLCPU) for host-mapped memory, the
        GPU for cuda device memory; NotExportableError for other memory."""
        self.check_live()
        if self.alloc.host_array(0, 0) is not None:
            return (KDL_CPU, 0)
        if not self.alloc.cuda_memory:
            raise NotExportableError(
                f"buffer has no host mapping and its device ({self.device.driver}) exports "
                "no DLPack for it: to_numpy() copies it"
            )
        return self.alloc.dlpack_device()

    def subspan(self, offset: int, length: int = WHOLE_BUFFER) -> Buffer:
        """A view of ``length`` bytes at ``offset``; OutOfRangeError if outside this buffer."""
        self.check_live()
        offset = as_index(offset, "subspan")
        length = resolve_range(self.size, offset, length, "subspan")
        return Buffer(
            self.device,
            self.alloc,
            self.offset + offset,
            length,
            self.memory_type,
            self.usage,
            self.access,
        )

    def _host_range(self, offset: int, length: int, access: MemoryAccess) -> tuple[int, int]:
        """(offset, length) of a host access as Python ints, checked against the buffer."""
        self.check_live()
        if not self.memory_type & MemoryType.HOST_VISIBLE and not (
            self.usage & BufferUsage.MAPPING
        ):
            raise InvalidArgumentError(
                f"buffer is not host-visible (memory_type={self.memory_type!r}); "
                "copy it into a HOST_VISIBLE buffer first"
            )
        if not self.access & access:
            raise InvalidArgumentError(f"buffer access {self.access!r} does not allow {access!r}")
        offset, length = as_index(offset, "host access"), as_index(length, "host access")
        return offset, resolve_range(self.size, offset, length, "host access")

    def read(
        self,
        offset: int = 0,
        length: int = WHOLE_BUFFER,
        *,
        wait: bool | float = False,
        unsynchronized: bool = False,
    ) -> bytes:
        """Copies ``length`` bytes at ``offset`` to the host.

        On a checked device, FailedPreconditionError if a pending submission (queued, not
        yet complete) writes any of those bytes.  ``wait=True`` waits for such submissions
        instead, a number waits at most that many seconds (then DeadlineExceededError).  An
        unchecked device tracks no ranges: there ``wait`` waits for the device to be idle.
        ``unsynchronized=True`` neither checks nor waits: the caller accepts whatever bytes
        are there (say, to see that parked work has not run yet).
        """
        offset, length = self._host_range(offset, length, MemoryAccess.READ)
        self._synchronize(offset, length, False, wait, unsynchronized)
        if length == 0:
            return b""
        with self.device._driver_call():
            return self.device._driver.read(self.alloc, self.offset + offset, length)

    def write(
        self,
        data: HostData,
        offset: int = 0,
        *,
        wait: bool | float = False,
        unsynchronized: bool = False,
    ) -> None:
        """Copies a bytes-like object or numpy array into the buffer at ``offset``.

        On a checked device, FailedPreconditionError if a pending submission reads or
        writes any of those bytes; ``wait`` and ``unsynchronized`` as in :meth:`read`.
        """
        view = _as_bytes_view(data)
        offset, _ = self._host_range(offset, len(view), MemoryAccess.WRITE)
        self._synchronize(offset, len(view), True, wait, unsynchronized)
        if len(view):
            with self.device._driver_call():
                self.device._driver.write(self.alloc, self.offset + offset, view)

    def to_numpy(
        self,
        dtype: npt.DTypeLike = "uint8",
        shape: Shape | None = None,
        *,
        wait: bool | float = False,
        unsynchronized: bool = False,
    ) -> np.ndarray:
        """A copy of the contents as a numpy array of ``dtype`` (and ``shape``); ``wait``,
        ``unsynchronized`` and the checked-mode hazard check as in :meth:`read`."""
        dtype = self._item_type(dtype, "to_numpy")
        array = np.frombuffer(
            bytearray(self.read(wait=wait, unsynchronized=unsynchronized)), dtype=dtype
        )
        return _reshaped(array, shape, "to_numpy")


def _reshaped(array: np.ndarray, shape: Shape | None, what: str) -> np.ndarray:
    """``array`` in ``shape`` (None: as it is); InvalidArgumentError for a shape that is not
    one or does not hold the items."""
    if shape is None:
        return array
    try:
        return array.reshape(shape)
    except (TypeError, ValueError) as e:
        raise InvalidArgumentError(f"{what}: shape {shape!r}: {e}") from None


def _dtype(dtype: npt.DTypeLike) -> np.dtype[Any]:
    """A numpy dtype with a size (no object or void-of-zero types); InvalidArgumentError."""
    try:
        out: np.dtype[Any] = np.dtype(dtype)
    except (TypeError, ValueError) as e:
        raise InvalidArgumentError(f"not a numpy dtype: {dtype!r} ({e})") from None
    if out.itemsize == 0 or out.hasobject:
        raise InvalidArgumentError(f"dtype {out} has no fixed size in bytes")
    return out


def _as_bytes_view(data: HostData) -> memoryview:
    """The bytes of a bytes-like object or numpy array (made contiguous), as a flat view."""
    source: ReadableBuffer
    if isinstance(data, np.ndarray):
        if data.dtype.hasobject:
            raise InvalidArgumentError("a numpy array of Python objects has no bytes to copy")
        source = np.ascontiguousarray(data).data  # a memoryview of the contiguous array
    elif isinstance(data, str):
        raise InvalidArgumentError("expected bytes, got str (encode it first)")
    else:
        source = data
    try:
        view = memoryview(source)
        if not view.c_contiguous:
            view = memoryview(view.tobytes())
        return view.cast("B") if view.format != "B" or view.ndim != 1 else view
    except (TypeError, ValueError, NotImplementedError) as e:
        raise InvalidArgumentError(
            f"expected a bytes-like object or numpy array, got {type(data).__name__} ({e})"
        ) from None
