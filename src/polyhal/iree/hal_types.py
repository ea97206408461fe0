"""The values IREE's ``hal`` imports exchange, as polyhal objects: element types, buffer
views, fences, files, the allocator; and IREE's enum values as polyhal's.

Part of :mod:`polyhal.iree.hal_module` (which re-exports the public names).
"""

from __future__ import annotations

import re
import threading
import weakref
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np

from ..buffer import Buffer
from ..command_buffer import Slot
from ..device import Device
from ..errors import (
    HalError,
    InvalidArgumentError,
    OutOfRangeError,
    UnimplementedError,
)
from ..semaphore import Semaphore
from ..types import (
    WHOLE_BUFFER,
    BufferUsage,
    CommandBufferMode,
    CommandCategory,
    MemoryType,
)

_F = TypeVar("_F", bound=Callable[..., Any])
U32 = 0xFFFF_FFFF
_U64 = 0xFFFF_FFFF_FFFF_FFFF
STATUS_DEFERRED = 17  # IREE_STATUS_DEFERRED: a fence not reached yet
STATUS_MASK = 0x1F

# -- element types (iree_hal_element_type_t: numerical type << 24 | bit count) ------------
_INTEGER, _SIGNED, _UNSIGNED, _BOOLEAN = 0x10, 0x11, 0x12, 0x13
_FLOAT_IEEE, _FLOAT_COMPLEX = 0x21, 0x23
#: IREE element type → numpy dtype, for the types numpy holds.
_DTYPES: dict[int, np.dtype[Any]] = {
    _FLOAT_IEEE << 24 | 16: np.dtype(np.float16),
    _FLOAT_IEEE << 24 | 32: np.dtype(np.float32),
    _FLOAT_IEEE << 24 | 64: np.dtype(np.float64),
    _FLOAT_COMPLEX << 24 | 64: np.dtype(np.complex64),
    _FLOAT_COMPLEX << 24 | 128: np.dtype(np.complex128),
    _BOOLEAN << 24 | 8: np.dtype(np.bool_),
    **{
        kind << 24 | bits: np.dtype(f"{'u' if kind == _UNSIGNED else 'i'}{bits // 8}")
        for kind in (_INTEGER, _SIGNED, _UNSIGNED)
        for bits in (8, 16, 32, 64)
    },
    # Opaque element types (numerical type 0) are bytes of that width.
    **{bits: np.dtype(f"u{bits // 8}") for bits in (8, 16, 32, 64)},
}
#: numpy dtype → the IREE element type of a buffer view of it (signed integers SINT_*).
_ELEMENT_TYPES: dict[np.dtype[Any], int] = {
    np.dtype(np.float16): _FLOAT_IEEE << 24 | 16,
    np.dtype(np.float32): _FLOAT_IEEE << 24 | 32,
    np.dtype(np.float64): _FLOAT_IEEE << 24 | 64,
    np.dtype(np.complex64): _FLOAT_COMPLEX << 24 | 64,
    np.dtype(np.complex128): _FLOAT_COMPLEX << 24 | 128,
    np.dtype(np.bool_): _BOOLEAN << 24 | 8,
    **{np.dtype(f"i{n}"): _SIGNED << 24 | 8 * n for n in (1, 2, 4, 8)},
    **{np.dtype(f"u{n}"): _UNSIGNED << 24 | 8 * n for n in (1, 2, 4, 8)},
}


def _extended_float_types() -> None:
    """bfloat16 and the 8-bit floats, where ml_dtypes (a dependency of IREE's runtime)
    gives numpy dtypes for them."""
    try:
        import ml_dtypes
    except ImportError:
        return
    for numerical, name in (
        (0x22, "bfloat16"),
        (0x24, "float8_e5m2"),
        (0x25, "float8_e4m3fn"),
        (0x26, "float8_e5m2fnuz"),
        (0x27, "float8_e4m3fnuz"),
        (0x28, "float8_e8m0fnu"),
    ):
        kind = getattr(ml_dtypes, name, None)
        if kind is not None:
            dtype = np.dtype(kind)
            element_type = numerical << 24 | 8 * dtype.itemsize
            _DTYPES[element_type] = dtype
            _ELEMENT_TYPES[dtype] = element_type


_extended_float_types()


def dtype_of(element_type: int) -> np.dtype[Any]:
    """The numpy dtype of an IREE element type; UnimplementedError for one numpy cannot
    hold (sub-byte integers and floats; bfloat16 and 8-bit floats without ml_dtypes)."""
    dtype = _DTYPES.get(element_type)
    if dtype is None:
        raise UnimplementedError(
            f"IREE element type {element_type:#010x} has no numpy dtype "
            f"(numerical type {element_type >> 24 & 0xFF:#x}, {element_type & 0xFF} bits)"
        )
    return dtype


def element_type_of(dtype: Any) -> int:
    """The IREE element type of a numpy dtype; UnimplementedError for others."""
    try:
        return _ELEMENT_TYPES[np.dtype(dtype)]
    except (KeyError, TypeError):
        raise UnimplementedError(f"no IREE element type for numpy dtype {dtype!r}") from None


def _bit_count(element_type: int) -> int:
    return element_type & 0xFF


def compatible(actual: int, expected: int) -> bool:
    """IREE's rule for a buffer view's element type against an expected one: opaque
    matches anything, integers of one width match each other, else exactly."""
    kind = actual >> 24 & 0xFF
    if kind == 0:
        return True
    if kind & 0xF0 == _INTEGER and expected >> 24 & 0xF0 == _INTEGER:
        return _bit_count(actual) == _bit_count(expected)
    return actual == expected


# -- flag conversions ---------------------------------------------------------------------
MEMORY_BITS = int(
    MemoryType.OPTIMAL | MemoryType.HOST_LOCAL | MemoryType.HOST_CACHED | MemoryType.DEVICE_LOCAL
)
USAGE_BITS = int(BufferUsage.DEFAULT | BufferUsage.DISPATCH_UNIFORM_READ)
SHARING_IMMUTABLE = 1 << 19
#: The usage of buffers made for a function's arguments: every use polyhal knows.
ARGUMENT_USAGE = int(BufferUsage.DEFAULT)
_TRANSFER_SOURCE = int(BufferUsage.TRANSFER_SOURCE)
_TRANSFER_TARGET = int(BufferUsage.TRANSFER_TARGET)
MODE_BITS = 1 | 1 << 4 | 1 << 5  # ONE_SHOT, ALLOW_INLINE_EXECUTION, UNVALIDATED
STAGE_BITS = 0x3F
# Dispatch flags polyhal has no counterpart for: custom or indirect arguments.
UNSUPPORTED_DISPATCH_FLAGS = 1 << 2 | 1 << 3 | 1 << 4
#: Pre-made slot references (binding tables rarely have more entries).
_SLOTS = tuple(Slot(i) for i in range(256))


def slot_ref(index: int) -> Slot:
    """``polyhal.Slot(index)``, made once for the common indices."""
    return _SLOTS[index] if 0 <= index < 256 else Slot(index)


# Conversions made once per distinct value: programs pass a handful of constants.
_MEMORY_TYPES: dict[int, MemoryType] = {}
_USAGES: dict[int, BufferUsage] = {}
MODES = {m: CommandBufferMode(m) for m in range(MODE_BITS + 1) if not m & ~MODE_BITS}
CATEGORIES = tuple(CommandCategory(c) for c in range(4))


def memory_type_of(value: int) -> MemoryType:
    """IREE memory types as polyhal's (the same bits; IREE's others are hints)."""
    out = _MEMORY_TYPES.get(value)
    if out is None:
        out = _MEMORY_TYPES[value] = MemoryType(value & MEMORY_BITS)
    return out


def usage_of(value: int) -> BufferUsage:
    """IREE buffer usage as polyhal's: the bits polyhal checks; sharing, image and
    mapping-access bits are IREE's hints without a polyhal meaning."""
    out = _USAGES.get(value)
    if out is None:
        out = _USAGES[value] = BufferUsage(value & USAGE_BITS)
    return out


def iree_length(value: int) -> int:
    """An IREE i64 length: -1 (any negative) is the whole buffer."""
    return value if value >= 0 else WHOLE_BUFFER


def bad_argument(name: str, error: Exception) -> InvalidArgumentError:
    """The error of an import given a value of the wrong kind (a null or foreign ref, a
    non-integer): what IREE's argument checks return, INVALID_ARGUMENT."""
    return InvalidArgumentError(f"{name}: bad argument ({type(error).__name__}: {error})")


def hot(fn: _F) -> _F:
    """Marks an import that a call may run every time: it checks its arguments in its own
    body (a try costs nothing until something is wrong) instead of through
    :func:`guarded`'s extra call."""
    fn.hot = True  # type: ignore[attr-defined]
    return fn


def guarded(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` raising InvalidArgumentError (not TypeError, AttributeError, …) for
    arguments of the wrong kind or number.  The imports a call runs every time check in
    their own bodies instead, which costs nothing until something is wrong."""

    def call(*args: Any) -> Any:
        try:
            return fn(*args)
        except HalError:
            raise
        except (AttributeError, TypeError, KeyError, IndexError, ValueError, OverflowError) as e:
            raise bad_argument(name, e) from None

    call.__name__ = call.__qualname__ = name
    return call


def vm_text(value: Any) -> str:
    """The string of a ``!vm.buffer`` (:class:`polyhal.iree.vm.VmBuffer`), or of str or
    bytes given directly."""
    if isinstance(value, str):
        return value
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).decode("utf-8", "replace")
    text = getattr(value, "text", None)
    if text is None:
        raise InvalidArgumentError(f"expected a !vm.buffer, got {type(value).__name__}")
    result: str = text()
    return result


def vm_bytes(value: Any) -> bytes | memoryview:
    """The bytes of a ``!vm.buffer`` (its ``data``), or of a bytes-like object."""
    data = (
        value if isinstance(value, (bytes, bytearray, memoryview)) else getattr(value, "data", None)
    )
    if data is None:
        raise InvalidArgumentError(f"expected a !vm.buffer, got {type(value).__name__}")
    return data if isinstance(data, (bytes, memoryview)) else memoryview(data)


def pattern_match(value: str, pattern: str) -> bool:
    """IREE's pattern match: ``*`` any run of characters, ``?`` one character."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, re.S) is not None


# -- ref types ----------------------------------------------------------------------------
class Allocator:
    """A ``!hal.allocator``: the allocator of ``device``."""

    __slots__ = ("device",)

    def __init__(self, device: Device):
        self.device = device

    def __repr__(self) -> str:
        return f"Allocator({self.device!r})"


class Fence:
    """A ``!hal.fence``: the ``(Semaphore, value)`` timepoints it stands for, each reached
    when the fence is.  ``timepoints`` is the list queue operations wait on or signal.

    A fence of ``hal.fence.create`` (``Fence(device=...)``) gets its semaphore only when
    something needs one: a queue operation that waits on it or signals it, a wait that
    blocks, a query, a failure.  A program makes several fences per call, and most are
    signalled by operations the host finishes at once (an allocation from a slab, the
    deallocation of one): :meth:`signal_host` then marks the fence reached, no semaphore
    made.  :func:`waits_of` reads a fence's waits without making one.
    """

    __slots__ = ("_timepoints", "_device", "_reached")

    #: Guards the step from no semaphore to one (and signal_host racing with it).
    _lock = threading.Lock()

    def __init__(
        self, timepoints: list[tuple[Semaphore, int]] | None = None, device: Device | None = None
    ):
        self._timepoints = timepoints
        self._device = device
        self._reached = False

    @property
    def timepoints(self) -> list[tuple[Semaphore, int]]:
        tps = self._timepoints
        if tps is None:
            with self._lock:
                tps = self._timepoints
                if tps is None:
                    sem = Semaphore(self._device, 1 if self._reached else 0)
                    tps = self._timepoints = [(sem, 1)]
        return tps

    @property
    def reached_on_host(self) -> bool:
        """Whether the fence has no semaphore and was signalled from the host: reached."""
        return self._timepoints is None and self._reached

    def signal_host(self) -> None:
        """Signals every timepoint not reached yet, from the host (a queue operation that
        finished at once); a fence without a semaphore is only marked reached."""
        if self._timepoints is None:
            with self._lock:
                if self._timepoints is None:
                    self._reached = True
                    return
        for sem, value in self._timepoints:
            if not sem.reached(value):
                sem.signal(value)

    def adopt(self, pair: tuple[Semaphore, int]) -> None:
        """Makes ``pair`` (a queue operation's signal) the fence's timepoint; a fence that
        got a semaphore meanwhile has it follow ``pair`` instead (signalled or failed
        with it)."""
        with self._lock:
            if self._timepoints is None:
                self._timepoints = [pair]
                return
        own = self._timepoints

        def follow(sem: Semaphore) -> None:
            error = sem.error()
            for target, value in own:
                if error is not None:
                    target.fail(error.code, str(error))
                elif not target.reached(value):
                    target.signal(value)

        pair[0].add_timepoint(pair[1], follow)

    def __repr__(self) -> str:
        if self._timepoints is None:
            return f"Fence({'reached' if self._reached else 'not reached'}, no semaphore)"
        return f"Fence({[(id(s), v) for s, v in self._timepoints]})"


class HalFile:
    """A ``!hal.file`` over host memory (``hal.ex.file.from_memory``): ``length`` bytes
    of ``memory`` from ``offset``."""

    __slots__ = ("memory", "offset", "length", "writable")

    def __init__(self, memory: Any, offset: int, length: int, writable: bool):
        self.memory = memory
        self.offset = offset
        self.length = length
        self.writable = writable


class BufferView:
    """A ``!hal.buffer_view``: a buffer with an element type, an encoding and a shape.

    ``buffer`` holds exactly the view's bytes (``length`` of them, from ``offset`` 0:
    ``hal.buffer_view.create`` makes a subspan when the view covers part of a buffer,
    as IREE does); ``element_type`` and ``encoding_type`` are IREE's values, ``shape``
    a tuple of ints.
    """

    __slots__ = ("buffer", "offset", "length", "element_type", "encoding_type", "shape")

    def __init__(
        self,
        buffer: Buffer,
        element_type: int,
        encoding_type: int,
        shape: tuple[int, ...],
    ):
        self.buffer = buffer
        self.offset = 0
        self.length = buffer.size
        self.element_type = element_type
        self.encoding_type = encoding_type
        self.shape = shape

    def __repr__(self) -> str:
        return (
            f"BufferView(shape={self.shape}, element_type={self.element_type:#010x}, "
            f"{self.length} bytes)"
        )

    @property
    def dtype(self) -> np.dtype[Any]:
        """The numpy dtype of the elements (UnimplementedError where numpy has none)."""
        return dtype_of(self.element_type)

    def to_numpy(self) -> np.ndarray:
        """A copy of the contents as an array of ``dtype`` and ``shape``.

        It waits for nothing: the program awaited its fences before returning the view.
        Memory the host cannot map is copied through a host-visible staging buffer.
        """
        dtype = self.dtype
        count = int(np.prod(self.shape, dtype=np.int64))
        nbytes = count * dtype.itemsize
        if nbytes > self.length:
            raise OutOfRangeError(
                f"buffer view of shape {self.shape} needs {nbytes} bytes, has {self.length}"
            )
        buffer = self.buffer.subspan(0, nbytes) if nbytes != self.length else self.buffer
        if not buffer.memory_type & MemoryType.HOST_VISIBLE:
            buffer = staged(buffer)
        return buffer.to_numpy(dtype, self.shape)


_SLAB_ALIGNMENT = 256  # SubAllocator.ALIGNMENT


class _Slab:
    """One slab of a SubAllocator: its buffer (a root buffer: offsets are the
    allocation's), its fields as the subspans carved from it take them, the next free
    offset, and its host view (None where the host cannot map it)."""

    __slots__ = (
        "buffer",
        "alloc",
        "device",
        "size",
        "memory_type",
        "usage",
        "access",
        "view",
        "next",
    )

    def __init__(self, buffer: Buffer, view: np.ndarray | None):
        self.buffer = buffer
        self.alloc = buffer.alloc
        self.device = buffer.device
        self.size = buffer.size
        self.memory_type = buffer.memory_type
        self.usage = buffer.usage
        self.access = buffer.access
        self.view = view
        self.next = 0


class SubAllocator:
    """Small buffers carved out of larger ones ("slabs"), one slab at a time per device,
    memory type and usage: a subspan costs a tenth of an allocation, and an IREE program
    allocates its results and transients on every call.

    Memory is never reused: a slab is freed when its last buffer (and every host view of
    one) is gone, so nothing can alias.  The program's deallocation of a slab buffer frees
    nothing early (see :meth:`owns`); a caller's ``queue_dealloca`` of one (a function
    result) releases its whole slab, so the buffers sharing it refuse further use
    (FailedPreconditionError) and the next buffer comes from a new slab.  Checked devices
    allocate every buffer on its own, between guard pages, so that an overrun still faults
    where it happens.
    """

    #: Bytes per slab, and the largest buffer carved from one.
    SLAB = 256 << 10
    LARGEST = 16 << 10
    #: Every buffer starts on this boundary: IREE's CPU kernels need 64 bytes, Vulkan's
    #: storage-buffer offset alignment is at most 256.
    ALIGNMENT = _SLAB_ALIGNMENT

    def __init__(self) -> None:
        self._slabs: dict[tuple[int, int, int], _Slab] = {}
        self._allocations: weakref.WeakSet[Any] = weakref.WeakSet()
        # Each host-mapped slab's one host view, by its allocation.
        self._views: weakref.WeakKeyDictionary[Any, np.ndarray] = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()

    def upload(self, device: Device, data: np.ndarray, memory_types: int, usage: int) -> Buffer:
        """A buffer holding a copy of ``data`` (uint8): a function argument."""
        return self.allocate(device, data.nbytes, memory_types, usage, data)

    def allocate(
        self,
        device: Device,
        size: int,
        memory_types: int,
        usage: int,
        data: np.ndarray | None = None,
    ) -> Buffer:
        """A buffer of ``size`` bytes of IREE memory types and usage on ``device`` (holding a
        copy of ``data``, uint8, when given)."""
        if size > self.LARGEST or size < 0 or device.checked:
            buffer = device.allocate_buffer(
                size, memory_type=memory_type_of(memory_types), usage=usage_of(usage)
            )
            if data is not None and size:
                buffer.write(data)
            return buffer
        key = (id(device), memory_types, usage)
        step = (size + _SLAB_ALIGNMENT - 1) & -_SLAB_ALIGNMENT or _SLAB_ALIGNMENT
        with self._lock:  # threads calling one module must not share a range
            slab = self._slabs.get(key)
            if (
                slab is None
                or slab.next + step > slab.size
                or slab.alloc.released
                or slab.device is not device
            ):
                slab = self._slabs[key] = self._new_slab(device, memory_types, usage)
            offset = slab.next
            slab.next = offset + step
        # The range is inside the live slab (checked above): the subspan made directly.
        out = Buffer(device, slab.alloc, offset, size, slab.memory_type, slab.usage, slab.access)
        if data is not None and size:
            if slab.view is not None:
                # Fresh memory no device work has seen: the slab's own host view (made
                # once; slabs exist on unchecked devices only) is the cheapest way in.
                slab.view[offset : offset + size] = data
            else:
                out.write(data)
        return out

    def _new_slab(self, device: Device, memory_types: int, usage: int) -> _Slab:
        buffer = device.allocate_buffer(
            self.SLAB, memory_type=memory_type_of(memory_types), usage=usage_of(usage)
        )
        view = _host_view(buffer)
        self._allocations.add(buffer.alloc)
        if view is not None:
            self._views[buffer.alloc] = view
        return _Slab(buffer, view)

    def read(self, buffer: Buffer, offset: int, length: int) -> bytes | None:
        """``length`` bytes at ``offset`` of a slab buffer through its slab's host view
        (the range checked), or None for a buffer of no host-mapped slab."""
        view = self._views.get(buffer.alloc)
        if view is None:
            return None
        if offset < 0 or length < 0 or offset + length > buffer.size:
            raise OutOfRangeError(
                f"read of [{offset}, +{length}) from a buffer of {buffer.size} bytes"
            )
        start = buffer.offset + offset
        data: bytes = view[start : start + length].tobytes()
        return data

    def copy(
        self,
        device: Device,
        source: Buffer,
        source_offset: int,
        target: Buffer,
        target_offset: int,
        length: int,
    ) -> bool:
        """Copies ``length`` bytes between two live buffers of ``device`` in host-mapped
        slabs through the slabs' host views, as the queue would once its waits are
        reached; False (nothing done) for anything else, which the queue then does or
        refuses: other buffers, ranges outside a buffer, overlap, missing transfer usage."""
        if type(source) is not Buffer or type(target) is not Buffer:
            return False
        src = self._views.get(source.alloc)
        dst = self._views.get(target.alloc)
        if (
            src is None
            or dst is None
            or type(source_offset) is not int
            or type(target_offset) is not int
            or type(length) is not int
            or source.device is not device
            or target.device is not device
            or source.alloc.released
            or target.alloc.released
            or not source.usage_bits & _TRANSFER_SOURCE
            or not target.usage_bits & _TRANSFER_TARGET
            or not 0 < length
            or not 0 <= source_offset <= source.size - length
            or not 0 <= target_offset <= target.size - length
        ):
            return False
        a = source.offset + source_offset
        b = target.offset + target_offset
        if source.alloc is target.alloc and a < b + length and b < a + length:
            return False  # overlap: the queue's error
        dst[b : b + length] = src[a : a + length]
        return True

    def owns(self, buffer: Buffer) -> bool:
        """Whether ``buffer`` lies in a slab (its deallocation must free nothing)."""
        return buffer.alloc in self._allocations


def pending(fence: Fence | None) -> bool:
    """Whether ``fence`` (None: no fence) has a timepoint not reached yet (or failed)."""
    if fence is None:
        return False
    tps = fence._timepoints
    if tps is None:
        return not fence._reached
    for sem, value in tps:
        if not sem.reached(value):
            return True
    return False


def waits_of(fence: Fence | None) -> list[tuple[Semaphore, int]] | tuple[()]:
    """The timepoints a queue operation waiting on ``fence`` waits on: none for a null
    fence or one reached without a semaphore (no semaphore is made for it)."""
    if fence is None or (fence._timepoints is None and fence._reached):
        return ()
    return fence.timepoints


def signals_of(fence: Fence | None) -> list[tuple[Semaphore, int]] | tuple[()]:
    """The timepoints a queue operation signalling ``fence`` signals (none for a null
    fence)."""
    return fence.timepoints if fence is not None else ()


def signal_now(fence: Fence | None) -> None:
    """Signals every timepoint of ``fence`` not reached yet, from the host: the end of a
    queue operation that had nothing to wait for and nothing to run."""
    if fence is not None:
        fence.signal_host()


def _host_view(buffer: Buffer) -> np.ndarray | None:
    """A uint8 array over ``buffer``'s memory, or None where the host cannot map it."""
    try:
        return buffer.as_array()
    except InvalidArgumentError:  # NotExportableError: no host mapping
        return None


def staged(buffer: Buffer) -> Buffer:
    """A host-visible copy of ``buffer``, made on its device's queue and waited for."""
    device = buffer.device
    staging = device.allocate_buffer(buffer.size, memory_type=MemoryType.HOST_LOCAL)
    done = device.create_semaphore(0)
    device.queue_copy(buffer, 0, staging, 0, buffer.size, signal=[(done, 1)])
    done.wait(1)
    return staging


def device_id(device: Device) -> str:
    """The identifier IREE's driver for ``device`` would have (what ``hal.device.id``
    patterns such as "local*" match)."""
    return {"local": "local-task", "local-sync": "local-sync"}.get(device.driver, device.driver)


def fill_pattern(pattern: int, length: int) -> tuple[int, int]:
    """A fill pattern of 1, 2, 4 or 8 bytes as polyhal's (value, length)."""
    if length == 8:
        value = pattern & _U64
        if value >> 32 != value & U32:
            raise UnimplementedError(
                f"an 8-byte fill pattern {value:#018x} whose halves differ (polyhal fills "
                "1, 2 or 4 bytes)"
            )
        return value & U32, 4
    if length not in (1, 2, 4):
        raise InvalidArgumentError(f"fill pattern length {length}: 1, 2, 4 or 8 bytes")
    return pattern & ((1 << 8 * length) - 1), length


def binding_table(
    table: list[tuple[Buffer | None, int, int]],
) -> list[Any] | None:
    """The table with IREE's whole-buffer lengths as polyhal's and null entries as empty
    ranges of another entry's buffer; None when there was nothing to convert."""
    any_buffer = next((b for b, _, _ in table if b is not None), None)
    changed = False
    out: list[Any] = []
    for buffer, offset, length in table:
        if buffer is None:
            if any_buffer is None:
                return None
            out.append((any_buffer, 0, 0))
            changed = True
        elif length < 0:
            out.append((buffer, offset, WHOLE_BUFFER))
            changed = True
        else:
            out.append((buffer, offset, length))
    return out if changed else None


def host_read(buffer: Buffer, offset: int, length: int) -> bytes:
    """``length`` bytes of ``buffer`` at ``offset``, through a staging copy when the host
    cannot map it."""
    if offset < 0 or offset + length > buffer.size:
        raise OutOfRangeError(f"read of [{offset}, +{length}) from a buffer of {buffer.size} bytes")
    if buffer.memory_type & MemoryType.HOST_VISIBLE or buffer.usage & BufferUsage.MAPPING:
        return buffer.read(offset, length)
    return staged(buffer.subspan(offset, length)).read()


def file_range(file: HalFile, offset: int, length: int) -> memoryview:
    if type(file) is not HalFile:
        raise InvalidArgumentError(f"expected a !hal.file, got {type(file).__name__}")
    if offset < 0 or length < 0 or offset + length > file.length:
        raise OutOfRangeError(f"[{offset}, +{length}) outside a file of {file.length} bytes")
    start = file.offset + offset
    return memoryview(file.memory)[start : start + length]


def is_readonly(data: Any) -> bool:
    return bool(memoryview(data).readonly)
