"""IREE's ``hal`` module on polyhal: the imports an IREE-compiled host program calls.

An IREE module's host program (its VM code) drives the device through the ``hal`` module:
buffers, buffer views, command buffers, the device queue, executables and fences.
:class:`HalModule` implements those imports on polyhal's public API, so that the program,
translated by :mod:`polyhal.iree.vm`, runs on any polyhal driver:

================================  ===================================================
IREE                              polyhal
================================  ===================================================
``!hal.device``                   :class:`polyhal.Device`
``!hal.allocator``                :class:`Allocator` (the device's)
``!hal.buffer``                   :class:`polyhal.Buffer`
``!hal.buffer_view``              :class:`BufferView`
``!hal.command_buffer``           :class:`polyhal.CommandBuffer` (begun at creation)
``!hal.executable``               :class:`~polyhal.iree.hal_executables.HalExecutable`
``!hal.fence``                    :class:`Fence`: ``(Semaphore, value)`` timepoints
binding-table slot ``n``          ``polyhal.Slot(n)``
``queue.execute.indirect``        ``queue_execute(cb, binding_table=...)``
================================  ===================================================

The calling convention is the interface file's: operands in VM order, a variadic segment
is one list, a tuple segment a list of tuples; a result is None, a value, or a tuple.
i32 and i64 values are signed Python ints: an i64 length of -1 is IREE's whole buffer.

Not supported, each raising UnimplementedError naming it: collectives and channels, queue
allocation pools, files other than host memory, executable constants, executable formats
the device does not load (see :func:`~polyhal.iree.hal_executables.supported_formats`).
Bad values raise the HalError subclass of the status IREE would return.

**Checked mode.**  IREE's CPU and SPIR-V executables do not say which bindings a kernel
only reads, so polyhal's race checker would take every binding as written and report two
dispatches that read one buffer as a race.  On a checked device, dispatches of such
executables are therefore recorded between barriers; programs run the same, serialised.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..buffer import Buffer
from ..command_buffer import CommandBuffer, Slot
from ..device import Device
from ..errors import (
    DeadlineExceededError,
    InvalidArgumentError,
    OutOfRangeError,
    PermissionDeniedError,
    UnimplementedError,
)
from ..semaphore import Semaphore
from ..types import (
    WHOLE_BUFFER,
    BufferUsage,
    CommandBufferMode,
    CommandCategory,
    MemoryType,
    StatusCode,
)
from . import hal_executables
from .hal_executables import HalExecutable

__all__ = [
    "Allocator",
    "BufferView",
    "Fence",
    "HalFile",
    "HalModule",
    "dtype_of",
    "element_type_of",
]

_U32 = 0xFFFF_FFFF
_U64 = 0xFFFF_FFFF_FFFF_FFFF
_DEFERRED = 17  # IREE_STATUS_DEFERRED: a fence not reached yet
_STATUS_MASK = 0x1F

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


def dtype_of(element_type: int) -> np.dtype[Any]:
    """The numpy dtype of an IREE element type; UnimplementedError for one numpy cannot
    hold (bfloat16, 4-bit integers, 8-bit floats, …)."""
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


def _compatible(actual: int, expected: int) -> bool:
    """IREE's rule for a buffer view's element type against an expected one: opaque
    matches anything, integers of one width match each other, else exactly."""
    kind = actual >> 24 & 0xFF
    if kind == 0:
        return True
    if kind & 0xF0 == _INTEGER and expected >> 24 & 0xF0 == _INTEGER:
        return _bit_count(actual) == _bit_count(expected)
    return actual == expected


# -- flag conversions ---------------------------------------------------------------------
_MEMORY_BITS = int(
    MemoryType.OPTIMAL | MemoryType.HOST_LOCAL | MemoryType.HOST_CACHED | MemoryType.DEVICE_LOCAL
)
_USAGE_BITS = int(BufferUsage.DEFAULT | BufferUsage.DISPATCH_UNIFORM_READ)
_SHARING_IMMUTABLE = 1 << 19
_MODE_BITS = 1 | 1 << 4 | 1 << 5  # ONE_SHOT, ALLOW_INLINE_EXECUTION, UNVALIDATED
_STAGE_BITS = 0x3F
# Dispatch flags polyhal has no counterpart for: custom or indirect arguments.
_UNSUPPORTED_DISPATCH_FLAGS = 1 << 2 | 1 << 3 | 1 << 4
#: Pre-made slot references (binding tables rarely have more entries).
_SLOTS = tuple(Slot(i) for i in range(256))


def _slot(index: int) -> Slot:
    return _SLOTS[index] if 0 <= index < 256 else Slot(index)


# Conversions made once per distinct value: programs pass a handful of constants.
_MEMORY_TYPES: dict[int, MemoryType] = {}
_USAGES: dict[int, BufferUsage] = {}
_MODES = {m: CommandBufferMode(m) for m in range(_MODE_BITS + 1) if not m & ~_MODE_BITS}
_CATEGORIES = tuple(CommandCategory(c) for c in range(4))


def _memory_type(value: int) -> MemoryType:
    """IREE memory types as polyhal's (the same bits; IREE's others are hints)."""
    out = _MEMORY_TYPES.get(value)
    if out is None:
        out = _MEMORY_TYPES[value] = MemoryType(value & _MEMORY_BITS)
    return out


def _usage(value: int) -> BufferUsage:
    """IREE buffer usage as polyhal's: the bits polyhal checks; sharing, image and
    mapping-access bits are IREE's hints without a polyhal meaning."""
    out = _USAGES.get(value)
    if out is None:
        out = _USAGES[value] = BufferUsage(value & _USAGE_BITS)
    return out


def _length(value: int) -> int:
    """An IREE i64 length: -1 (any negative) is the whole buffer."""
    return value if value >= 0 else WHOLE_BUFFER


def _text(value: Any) -> str:
    """The string of a ``!vm.buffer`` (A's VmBuffer), or of str/bytes given directly."""
    if isinstance(value, str):
        return value
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).decode("utf-8", "replace")
    text = getattr(value, "text", None)
    if text is None:
        raise InvalidArgumentError(f"expected a !vm.buffer, got {type(value).__name__}")
    result: str = text()
    return result


def _bytes(value: Any) -> bytes | memoryview:
    """The bytes of a ``!vm.buffer`` (its ``data``), or of a bytes-like object."""
    data = (
        value if isinstance(value, (bytes, bytearray, memoryview)) else getattr(value, "data", None)
    )
    if data is None:
        raise InvalidArgumentError(f"expected a !vm.buffer, got {type(value).__name__}")
    return data if isinstance(data, (bytes, memoryview)) else memoryview(data)


def _pattern_match(value: str, pattern: str) -> bool:
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
    when the fence is.  ``timepoints`` is the list queue operations wait on or signal."""

    __slots__ = ("timepoints",)

    def __init__(self, timepoints: list[tuple[Semaphore, int]]):
        self.timepoints = timepoints

    def __repr__(self) -> str:
        return f"Fence({[(id(s), v) for s, v in self.timepoints]})"


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
            buffer = _staged(buffer)
        return buffer.to_numpy(dtype, self.shape)


def _staged(buffer: Buffer) -> Buffer:
    """A host-visible copy of ``buffer``, made on its device's queue and waited for."""
    device = buffer.device
    staging = device.allocate_buffer(buffer.size, memory_type=MemoryType.HOST_LOCAL)
    done = device.create_semaphore(0)
    device.queue_copy(buffer, 0, staging, 0, buffer.size, signal=[(done, 1)])
    done.wait(1)
    return staging


# -- the module ---------------------------------------------------------------------------
class HalModule:
    """IREE's ``hal`` module on ``device`` (a polyhal Device, or a sequence of them: the
    program's ``hal.devices.*`` see them in order).

    ``imports`` maps each import's full name ("hal.buffer_view.create", …) to its
    implementation.  :meth:`close` waits for the queue and drops what the module made.
    """

    def __init__(self, device: Device | Sequence[Device]):
        devices = [device] if isinstance(device, Device) else list(device)
        if not devices or not all(isinstance(d, Device) for d in devices):
            raise InvalidArgumentError("HalModule takes a polyhal Device or a list of them")
        self.devices = devices
        self.device = devices[0]
        self._allocators = {id(d): Allocator(d) for d in devices}
        self._allocator = self._allocators[id(self.device)]
        self._executables: list[HalExecutable] = []
        # Preserve counts of allocations (IREE's buffer.allocation.* ownership count,
        # 1 until a preserve or discard changes it).
        self._preserved: dict[Any, int] = {}
        self.imports: dict[str, Callable[..., Any]] = {
            f"hal.{name[1:].replace('__', '.')}": getattr(self, name)
            for name in dir(self)
            if name.startswith("_") and "__" in name[1:] and not name.startswith("__")
        }

    def close(self) -> None:
        """Waits until every device's queue is idle, then drops the executables made."""
        for device in self.devices:
            if not device._closed:
                device.wait_idle()
        self._executables.clear()
        self._preserved.clear()

    # -- host-side helpers for module.py ---------------------------------------------------
    def view_of_array(self, array: Any) -> BufferView:
        """A buffer view of a new device buffer holding a copy of ``array``."""
        array = np.asarray(array)
        if not array.flags.c_contiguous:
            array = array.copy(order="C")
        element_type = element_type_of(array.dtype)
        buffer = self.device.buffer_from(array.reshape(-1).view(np.uint8))
        return BufferView(buffer, element_type, 1, tuple(int(n) for n in array.shape))

    def view_of_buffer(
        self, buffer: Buffer, dtype: Any, shape: Sequence[int], offset: int = 0
    ) -> BufferView:
        """A buffer view of ``shape`` elements of ``dtype`` at ``offset`` of ``buffer``,
        without a copy; OutOfRangeError when the buffer is too small."""
        if not isinstance(buffer, Buffer):
            raise InvalidArgumentError(f"expected a polyhal Buffer, got {type(buffer).__name__}")
        dt = np.dtype(dtype)
        shape = tuple(int(n) for n in shape)
        nbytes = int(np.prod(shape, dtype=np.int64)) * dt.itemsize
        view = buffer if offset == 0 and nbytes == buffer.size else buffer.subspan(offset, nbytes)
        return BufferView(view, element_type_of(dt), 1, shape)

    # -- allocator --------------------------------------------------------------------------
    def _allocator__select(
        self, memory_types: int, buffer_usage: int, flags: int, candidates: list[Any]
    ) -> tuple[Device, int]:
        if not candidates:
            raise InvalidArgumentError("hal.allocator.select needs a (device, affinity) pair")
        device, affinity = candidates[0]
        return device, affinity

    def _allocator__allocate(
        self, allocator: Allocator, affinity: int, memory_types: int, usage: int, size: int
    ) -> Buffer:
        return allocator.device.allocate_buffer(
            size, memory_type=_memory_type(memory_types), usage=_usage(usage)
        )

    def _allocator__import(
        self,
        allocator: Allocator,
        try_: int,
        affinity: int,
        memory_types: int,
        usage: int,
        source: Any,
        offset: int,
        length: int,
    ) -> Buffer | None:
        data = _bytes(source)
        length = len(data) - offset if length < 0 else length
        if offset < 0 or offset + length > len(data):
            raise InvalidArgumentError(
                f"import of [{offset}, +{length}) from a buffer of {len(data)} bytes"
            )
        # Data the program never writes may be copied: nobody can tell it from an alias.
        if usage & _SHARING_IMMUTABLE:
            return allocator.device.buffer_from(
                memoryview(data)[offset : offset + length],
                memory_type=_memory_type(memory_types),
                usage=_usage(usage),
            )
        if try_:
            return None
        raise UnimplementedError(
            "hal.allocator.import of mutable host memory: polyhal does not alias host memory"
        )

    # -- buffer -----------------------------------------------------------------------------
    def _buffer__assert(
        self,
        buffer: Buffer,
        message: Any,
        allocator: Allocator,
        minimum_length: int,
        memory_types: int,
        usage: int,
    ) -> None:
        if type(buffer) is not Buffer:
            raise InvalidArgumentError(f"{_text(message)}: expected a buffer, got {buffer!r}")
        if buffer.size < minimum_length:
            raise InvalidArgumentError(
                f"{_text(message)} buffer byte length {buffer.size} less than expected "
                f"minimum {minimum_length}"
            )
        if memory_types & _MEMORY_BITS & ~int(buffer.memory_type):
            raise PermissionDeniedError(
                f"{_text(message)} buffer memory type is not compatible; buffer has "
                f"{buffer.memory_type!r}, operation requires {_memory_type(memory_types)!r}"
            )
        if usage & _USAGE_BITS & ~buffer.usage_bits:
            raise PermissionDeniedError(
                f"{_text(message)} requested usage was not specified when the buffer was "
                f"allocated; buffer allows {buffer.usage!r}, operation requires "
                f"{_usage(usage)!r}"
            )

    def _buffer__allocation__preserve(self, buffer: Buffer) -> None:
        alloc = buffer.alloc
        self._preserved[alloc] = self._preserved.get(alloc, 1) + 1

    def _buffer__allocation__discard(self, buffer: Buffer) -> int:
        alloc = buffer.alloc
        count = self._preserved.get(alloc, 1)
        if count <= 1:
            self._preserved.pop(alloc, None)
            return 1 if count == 1 else 0
        self._preserved[alloc] = count - 1
        return 0

    def _buffer__allocation__is_terminal(self, buffer: Buffer) -> int:
        return 1 if self._preserved.get(buffer.alloc, 1) == 1 else 0

    def _buffer__subspan(self, buffer: Buffer, offset: int, length: int) -> Buffer:
        return buffer.subspan(offset, _length(length))

    def _buffer__length(self, buffer: Buffer) -> int:
        return buffer.size

    def _buffer__load(self, buffer: Buffer, offset: int, length: int) -> int:
        if not 0 < length <= 4:
            raise InvalidArgumentError(f"load length byte count {length} exceeds max")
        value = int.from_bytes(_host_read(buffer, offset, length), "little")
        return value - (1 << 32) if value >= 1 << 31 else value

    def _buffer__store(self, value: int, buffer: Buffer, offset: int, length: int) -> None:
        if not 0 < length <= 4:
            raise InvalidArgumentError(f"store length byte count {length} exceeds max")
        if offset + length > buffer.size:
            raise OutOfRangeError(
                f"store out of bounds (target_offset={offset}, length={length} into max "
                f"{buffer.size})"
            )
        data = (value & _U32).to_bytes(4, "little")[:length]
        if buffer.memory_type & MemoryType.HOST_VISIBLE or buffer.usage & BufferUsage.MAPPING:
            buffer.write(data, offset)
        else:
            done = buffer.device.create_semaphore(0)
            buffer.device.queue_update(data, 0, buffer, offset, length, signal=[(done, 1)])
            done.wait(1)

    # -- buffer views -----------------------------------------------------------------------
    def _buffer_view__create(
        self,
        buffer: Buffer,
        offset: int,
        length: int,
        element_type: int,
        encoding_type: int,
        shape: list[int],
    ) -> BufferView:
        if type(buffer) is not Buffer:
            raise InvalidArgumentError(f"hal.buffer_view.create of {buffer!r}")
        if offset != 0 or length != buffer.size:
            buffer = buffer.subspan(offset, _length(length))
        return BufferView(buffer, element_type & _U32, encoding_type & _U32, tuple(shape))

    def _buffer_view__assert(
        self,
        view: BufferView,
        message: Any,
        element_type: int,
        encoding_type: int,
        shape: list[int],
    ) -> None:
        if type(view) is not BufferView:
            raise InvalidArgumentError(
                f"{_text(message)}: expected a buffer view, got {type(view).__name__}"
            )
        if view.encoding_type and view.encoding_type != encoding_type & _U32:
            raise InvalidArgumentError(
                f"{_text(message)} encoding mismatch; expected {encoding_type & _U32:08X} but "
                f"have {view.encoding_type:08X}"
            )
        element_type &= _U32
        if view.element_type != element_type and not _compatible(view.element_type, element_type):
            raise InvalidArgumentError(
                f"{_text(message)} element type mismatch; expected {element_type:08X} but "
                f"have {view.element_type:08X}"
            )
        if view.shape != tuple(shape):
            raise InvalidArgumentError(
                f"{_text(message)} shape mismatch; expected {tuple(shape)} but have {view.shape}"
            )

    def _buffer_view__buffer(self, view: BufferView) -> Buffer:
        return view.buffer

    def _buffer_view__element_type(self, view: BufferView) -> int:
        value = view.element_type
        return value - (1 << 32) if value >= 1 << 31 else value

    def _buffer_view__encoding_type(self, view: BufferView) -> int:
        value = view.encoding_type
        return value - (1 << 32) if value >= 1 << 31 else value

    def _buffer_view__rank(self, view: BufferView) -> int:
        return len(view.shape)

    def _buffer_view__dim(self, view: BufferView, index: int) -> int:
        if not 0 <= index < len(view.shape):
            raise OutOfRangeError(f"buffer view dimension {index} of rank {len(view.shape)}")
        return view.shape[index]

    def _buffer_view__trace(self, key: Any, views: list[BufferView]) -> None:
        # IREE traces only into a debug sink the hosting application installs; polyhal
        # installs none, so tracing is a no-op as it is in IREE without one.
        return None

    # -- channels (collectives) -------------------------------------------------------------
    def _channel__create(self, *args: Any) -> Any:
        raise UnimplementedError("hal.channel.create: collectives are not implemented")

    def _channel__split(self, *args: Any) -> Any:
        raise UnimplementedError("hal.channel.split: collectives are not implemented")

    def _channel__rank_and_count(self, *args: Any) -> Any:
        raise UnimplementedError("hal.channel.rank_and_count: collectives are not implemented")

    # -- command buffers --------------------------------------------------------------------
    def _command_buffer__create(
        self, device: Device, modes: int, categories: int, affinity: int, binding_capacity: int
    ) -> CommandBuffer:
        cb = device.create_command_buffer(
            _MODES[modes & _MODE_BITS], _CATEGORIES[categories & 3], binding_capacity
        )
        cb.begin()
        return cb

    def _command_buffer__finalize(self, cb: CommandBuffer) -> None:
        cb.end()

    def _command_buffer__begin_debug_group(self, cb: CommandBuffer, label: Any) -> None:
        cb.begin_debug_group(_text(label))

    def _command_buffer__end_debug_group(self, cb: CommandBuffer) -> None:
        cb.end_debug_group()

    def _command_buffer__execution_barrier(
        self, cb: CommandBuffer, source: int, target: int, flags: int
    ) -> None:
        cb.execution_barrier(source & _STAGE_BITS, target & _STAGE_BITS, flags)

    def _command_buffer__advise_buffer(
        self, cb: CommandBuffer, buffer: Buffer | None, flags: int, a: int, b: int, slot: int
    ) -> None:
        # Advice changes no result; recorded nowhere (polyhal has no memory advice).
        cb._recording(3)

    def _command_buffer__flush_buffer(
        self, cb: CommandBuffer, slot: int, buffer: Buffer | None, offset: int, length: int
    ) -> None:
        # polyhal's host-visible memory is coherent: nothing to flush.
        cb._recording(3)

    def _command_buffer__invalidate_buffer(
        self, cb: CommandBuffer, slot: int, buffer: Buffer | None, offset: int, length: int
    ) -> None:
        # polyhal's host-visible memory is coherent: nothing to invalidate.
        cb._recording(3)

    def _command_buffer__fill_buffer(
        self,
        cb: CommandBuffer,
        target: Buffer | None,
        offset: int,
        length: int,
        slot: int,
        pattern: int,
        pattern_length: int,
        flags: int,
    ) -> None:
        value, plen = _fill_pattern(pattern, pattern_length)
        cb.fill_buffer(
            target if target is not None else _slot(slot), offset, _length(length), value, plen
        )

    def _command_buffer__update_buffer(
        self,
        cb: CommandBuffer,
        source: Any,
        source_offset: int,
        target: Buffer | None,
        target_offset: int,
        length: int,
        slot: int,
        flags: int,
    ) -> None:
        cb.update_buffer(
            _bytes(source),
            source_offset,
            target if target is not None else _slot(slot),
            target_offset,
            length,
        )

    def _command_buffer__copy_buffer(
        self,
        cb: CommandBuffer,
        source_slot: int,
        target_slot: int,
        source: Buffer | None,
        source_offset: int,
        target: Buffer | None,
        target_offset: int,
        length: int,
        flags: int,
    ) -> None:
        cb.copy_buffer(
            source if source is not None else _slot(source_slot),
            source_offset,
            target if target is not None else _slot(target_slot),
            target_offset,
            _length(length),
        )

    def _command_buffer__collective(self, *args: Any) -> None:
        raise UnimplementedError("hal.command_buffer.collective: collectives are not implemented")

    def _command_buffer__dispatch(
        self,
        cb: CommandBuffer,
        exe: HalExecutable,
        function: int,
        x: int,
        y: int,
        z: int,
        flags: int,
        constants: list[int],
        bindings: list[tuple[int, int, Buffer | None, int, int]],
    ) -> None:
        f = self._function(exe, function, flags)
        if f.sets is None:
            specs = [
                (
                    i,
                    b if b is not None else _slot(slot),
                    off,
                    n if n >= 0 else WHOLE_BUFFER,
                )
                for i, (_, slot, b, off, n) in enumerate(bindings)
            ]
            guard = not f.read_only_known and cb.device.checked
            if guard:
                cb.execution_barrier()
            cb.dispatch(exe.executable, function, (x, y, z), constants=constants, bindings=specs)
            if guard:
                cb.execution_barrier()
            return
        self._dispatch_sets(cb, exe, function, f, constants, bindings, (x, y, z), None)

    def _command_buffer__dispatch__indirect(
        self,
        cb: CommandBuffer,
        exe: HalExecutable,
        function: int,
        workgroups_slot: int,
        workgroups: Buffer | None,
        workgroups_offset: int,
        flags: int,
        constants: list[int],
        bindings: list[tuple[int, int, Buffer | None, int, int]],
    ) -> None:
        f = self._function(exe, function, flags)
        source = workgroups if workgroups is not None else _slot(workgroups_slot)
        self._dispatch_sets(
            cb, exe, function, f, constants, bindings, None, (source, workgroups_offset)
        )

    def _function(self, exe: HalExecutable, function: int, flags: int) -> hal_executables.Function:
        if type(exe) is not HalExecutable:
            raise InvalidArgumentError(f"expected a !hal.executable, got {type(exe).__name__}")
        if flags & _UNSUPPORTED_DISPATCH_FLAGS:
            raise UnimplementedError(
                f"dispatch flags {flags:#x}: custom or indirect dispatch arguments"
            )
        if not 0 <= function < len(exe.functions):
            raise InvalidArgumentError(
                f"function {function} of an executable of {len(exe.functions)}"
            )
        return exe.functions[function]

    def _dispatch_sets(
        self,
        cb: CommandBuffer,
        exe: HalExecutable,
        function: int,
        f: hal_executables.Function,
        constants: list[int],
        bindings: list[tuple[int, int, Buffer | None, int, int]],
        counts: tuple[int, int, int] | None,
        indirect: tuple[Buffer | Slot, int] | None,
    ) -> None:
        """A dispatch whose bindings are pushed set by set (several descriptor sets, or
        an indirect dispatch)."""
        if len(bindings) != f.binding_count:
            raise InvalidArgumentError(
                f"dispatch of {exe.executable.entry_points[function].name!r} with "
                f"{len(bindings)} bindings; the function has {f.binding_count}"
            )
        specs = [
            (b if b is not None else _slot(slot), off, n if n >= 0 else WHOLE_BUFFER)
            for _, slot, b, off, n in bindings
        ]
        layout = exe.executable.entry_points[function].layout
        guard = not f.read_only_known and cb.device.checked
        if guard:
            cb.execution_barrier()
        sets = f.sets or ((0, tuple(range(len(specs)))),)
        first = 0
        for set_index, numbers in sets:
            cb.push_descriptor_set(
                layout,
                set_index,
                [(n, *specs[first + i]) for i, n in enumerate(numbers)],
            )
            first += len(numbers)
        if constants:
            cb.push_constants(layout, 0, constants)
        if indirect is None:
            assert counts is not None
            cb.dispatch(exe.executable, function, counts)
        else:
            cb.dispatch_indirect(exe.executable, function, indirect[0], indirect[1])
        if guard:
            cb.execution_barrier()

    # -- devices ----------------------------------------------------------------------------
    def _device__allocator(self, device: Device) -> Allocator:
        if device is self.device:
            return self._allocator
        return self._allocators[id(device)]

    def _device__query__i64(self, device: Device, category: Any, key: Any) -> tuple[int, int]:
        category, key = _text(category), _text(key)
        if category == "hal.device.id":
            return 1, int(_pattern_match(_device_id(device), key))
        if category == "hal.executable.format":
            return 1, int(key in hal_executables.supported_formats(device))
        if category == "hal.device" and key == "concurrency":
            return 1, 1
        return 0, 0

    def _device__queue__alloca(
        self,
        device: Device,
        affinity: int,
        wait: Fence | None,
        signal: Fence | None,
        pool: int,
        memory_types: int,
        usage: int,
        size: int,
        flags: int,
    ) -> Buffer:
        if pool:
            raise UnimplementedError(f"hal.device.queue.alloca from pool {pool}: no pools")
        return device.queue_alloca(
            size,
            wait=wait.timepoints if wait is not None else (),
            signal=signal.timepoints if signal is not None else (),
            memory_type=_memory_type(memory_types),
            usage=_usage(usage),
        )

    def _device__queue__dealloca(
        self,
        device: Device,
        affinity: int,
        wait: Fence | None,
        signal: Fence | None,
        buffer: Buffer,
        flags: int,
    ) -> None:
        device.queue_dealloca(
            buffer,
            wait=wait.timepoints if wait is not None else (),
            signal=signal.timepoints if signal is not None else (),
        )

    def _device__queue__fill(
        self,
        device: Device,
        affinity: int,
        wait: Fence | None,
        signal: Fence | None,
        target: Buffer,
        offset: int,
        length: int,
        pattern: int,
        pattern_length: int,
        flags: int,
    ) -> None:
        value, plen = _fill_pattern(pattern, pattern_length)
        device.queue_fill(
            target,
            offset,
            _length(length),
            value,
            pattern_length=plen,
            wait=wait.timepoints if wait is not None else (),
            signal=signal.timepoints if signal is not None else (),
        )

    def _device__queue__update(
        self,
        device: Device,
        affinity: int,
        wait: Fence | None,
        signal: Fence | None,
        source: Any,
        source_offset: int,
        target: Buffer,
        target_offset: int,
        length: int,
        flags: int,
    ) -> None:
        device.queue_update(
            _bytes(source),
            source_offset,
            target,
            target_offset,
            length,
            wait=wait.timepoints if wait is not None else (),
            signal=signal.timepoints if signal is not None else (),
        )

    def _device__queue__copy(
        self,
        device: Device,
        affinity: int,
        wait: Fence | None,
        signal: Fence | None,
        source: Buffer,
        source_offset: int,
        target: Buffer,
        target_offset: int,
        length: int,
        flags: int,
    ) -> None:
        device.queue_copy(
            source,
            source_offset,
            target,
            target_offset,
            _length(length),
            wait=wait.timepoints if wait is not None else (),
            signal=signal.timepoints if signal is not None else (),
        )

    def _device__queue__read(
        self,
        device: Device,
        affinity: int,
        wait: Fence | None,
        signal: Fence | None,
        source: HalFile,
        source_offset: int,
        target: Buffer,
        target_offset: int,
        length: int,
        flags: int,
    ) -> None:
        data = _file_range(source, source_offset, length)
        signals = signal.timepoints if signal is not None else []

        # The file's bytes are read when the operation runs, after its waits.
        def read() -> None:
            device.queue_update(bytes(data), 0, target, target_offset, length, signal=signals)

        device.queue_host_call(read, wait=wait.timepoints if wait is not None else ())

    def _device__queue__write(
        self,
        device: Device,
        affinity: int,
        wait: Fence | None,
        signal: Fence | None,
        source: Buffer,
        source_offset: int,
        target: HalFile,
        target_offset: int,
        length: int,
        flags: int,
    ) -> None:
        if not target.writable:
            raise PermissionDeniedError("hal.device.queue.write into a read-only file")
        out = _file_range(target, target_offset, length)
        view = source.subspan(source_offset, length)

        def write() -> None:
            host = view if view.memory_type & MemoryType.HOST_VISIBLE else _staged(view)
            out[:] = host.read()

        device.queue_host_call(
            write,
            wait=wait.timepoints if wait is not None else (),
            signal=signal.timepoints if signal is not None else (),
        )

    def _device__queue__barrier(
        self, device: Device, affinity: int, wait: Fence | None, signal: Fence | None, flags: int
    ) -> None:
        device.queue_barrier(
            wait=wait.timepoints if wait is not None else (),
            signal=signal.timepoints if signal is not None else (),
        )

    def _device__queue__execute(
        self,
        device: Device,
        affinity: int,
        wait: Fence | None,
        signal: Fence | None,
        cb: CommandBuffer,
        flags: int,
    ) -> None:
        device.queue_execute(
            cb,
            wait=wait.timepoints if wait is not None else (),
            signal=signal.timepoints if signal is not None else (),
        )

    def _device__queue__execute__indirect(
        self,
        device: Device,
        affinity: int,
        wait: Fence | None,
        signal: Fence | None,
        cb: CommandBuffer,
        flags: int,
        table: list[tuple[Buffer | None, int, int]],
    ) -> None:
        waits = wait.timepoints if wait is not None else ()
        signals = signal.timepoints if signal is not None else ()
        try:
            device.queue_execute(cb, wait=waits, signal=signals, binding_table=table)
        except (InvalidArgumentError, OutOfRangeError):
            # IREE's whole-buffer lengths (-1) and unused (null) entries: converted only on
            # this path, so a common call passes the program's table untouched.
            fixed = _binding_table(table)
            if fixed is None:
                raise
            device.queue_execute(cb, wait=waits, signal=signals, binding_table=fixed)

    def _device__queue__flush(self, device: Device, affinity: int) -> None:
        # polyhal's queue operations are submitted when called: nothing is batched.
        return None

    def _devices__count(self) -> int:
        return len(self.devices)

    def _devices__get(self, index: int) -> Device | None:
        return self.devices[index] if 0 <= index < len(self.devices) else None

    # -- executables ------------------------------------------------------------------------
    def _executable__create(
        self, device: Device, affinity: int, fmt: Any, data: Any, constants: Any
    ) -> HalExecutable:
        exe = hal_executables.create_executable(
            device,
            _text(fmt),
            _bytes(data),
            bytes(_bytes(constants)) if constants is not None else None,
        )
        self._executables.append(exe)
        return exe

    def _executable__lookup__function(self, exe: HalExecutable, name: Any) -> int:
        return exe.lookup(_text(name))

    # -- files ------------------------------------------------------------------------------
    def _ex__file__from_memory(
        self,
        device: Device,
        affinity: int,
        access: int,
        memory: Any,
        offset: int,
        length: int,
        flags: int,
    ) -> HalFile:
        data = _bytes(memory)
        length = len(data) - offset if length < 0 else length
        if offset < 0 or offset + length > len(data):
            raise OutOfRangeError(f"file of [{offset}, +{length}) in {len(data)} bytes")
        writable = bool(access & 2)  # IREE_HAL_MEMORY_ACCESS_WRITE
        if writable and (not isinstance(data, (bytearray, memoryview)) or _readonly(data)):
            raise PermissionDeniedError("a writable hal.file over read-only memory")
        return HalFile(data, offset, length, writable)

    # -- fences -----------------------------------------------------------------------------
    def _fence__create(self, device: Device, flags: int) -> Fence:
        return Fence([(device.create_semaphore(0), 1)])

    def _fence__join(self, flags: int, fences: list[Fence | None]) -> Fence | None:
        merged: dict[Semaphore, int] = {}
        for fence in fences:
            if fence is None:
                continue
            for sem, value in fence.timepoints:
                if merged.get(sem, -1) < value:
                    merged[sem] = value
        return Fence(list(merged.items())) if merged else None

    def _fence__query(self, fence: Fence) -> int:
        for sem, value in fence.timepoints:
            error = sem.error()
            if error is not None:
                return int(error.code)
            if not sem.reached(value):
                return _DEFERRED
        return 0

    def _fence__signal(self, fence: Fence) -> None:
        for sem, value in fence.timepoints:
            sem.signal(value)

    def _fence__fail(self, fence: Fence, status: int) -> None:
        code = status & _STATUS_MASK
        for sem, _ in fence.timepoints:
            sem.fail(
                StatusCode(code) if code <= 15 else StatusCode.UNKNOWN,
                f"fence failed by the program (status {code})",
            )

    def _fence__await(self, timeout_ms: int, flags: int, fences: list[Fence | None]) -> int:
        timeout_ms &= _U32
        deadline = None if timeout_ms == _U32 else time.monotonic() + timeout_ms / 1000
        try:
            for fence in fences:
                if fence is None:
                    continue
                for sem, value in fence.timepoints:
                    if deadline is None:
                        sem.wait(value)
                    else:
                        sem.wait(value, max(0.0, deadline - time.monotonic()))
        except DeadlineExceededError:
            return int(StatusCode.DEADLINE_EXCEEDED)
        return 0


def _device_id(device: Device) -> str:
    """The identifier IREE's driver for ``device`` would have (what ``hal.device.id``
    patterns such as "local*" match)."""
    return {"local": "local-task", "local-sync": "local-sync"}.get(device.driver, device.driver)


def _fill_pattern(pattern: int, length: int) -> tuple[int, int]:
    """A fill pattern of 1, 2, 4 or 8 bytes as polyhal's (value, length)."""
    if length == 8:
        value = pattern & _U64
        if value >> 32 != value & _U32:
            raise UnimplementedError(
                f"an 8-byte fill pattern {value:#018x} whose halves differ (polyhal fills "
                "1, 2 or 4 bytes)"
            )
        return value & _U32, 4
    if length not in (1, 2, 4):
        raise InvalidArgumentError(f"fill pattern length {length}: 1, 2, 4 or 8 bytes")
    return pattern & ((1 << 8 * length) - 1), length


def _binding_table(
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


def _host_read(buffer: Buffer, offset: int, length: int) -> bytes:
    """``length`` bytes of ``buffer`` at ``offset``, through a staging copy when the host
    cannot map it."""
    if offset < 0 or offset + length > buffer.size:
        raise OutOfRangeError(f"read of [{offset}, +{length}) from a buffer of {buffer.size} bytes")
    if buffer.memory_type & MemoryType.HOST_VISIBLE or buffer.usage & BufferUsage.MAPPING:
        return buffer.read(offset, length)
    return _staged(buffer.subspan(offset, length)).read()


def _file_range(file: HalFile, offset: int, length: int) -> memoryview:
    if type(file) is not HalFile:
        raise InvalidArgumentError(f"expected a !hal.file, got {type(file).__name__}")
    if offset < 0 or length < 0 or offset + length > file.length:
        raise OutOfRangeError(f"[{offset}, +{length}) outside a file of {file.length} bytes")
    start = file.offset + offset
    return memoryview(file.memory)[start : start + length]


def _readonly(data: Any) -> bool:
    return bool(memoryview(data).readonly)
