"""The command buffer front end: validates every call, resolves push state, records.

Validation follows IREE's ``command_buffer_validation.c`` and adds a real bounds check of
every buffer range.  What is recorded is the native command stream (native/stream.h):
:class:`CommandBuffer` derives from ``polyhal._stream.Recorder``, whose C methods take the
common calls (dispatch, push_constants, push_descriptor_set, execution_barrier, fill, copy,
update) whole.  What they do not take -- hal.Slot and hal.Binding arguments, numpy
values, anything invalid -- arrives at the ``_slow_*`` methods here, which convert it,
raise the typed error for bad input, and record through the recorder's primitives.  The
driver encodes the flattened stream once, at ``end()``.
"""

from __future__ import annotations

import functools
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar

import numpy as np

from . import _stream, _walker, errors, hazards
from . import commands as C
from ._args import as_flags, as_index, as_uint64
from .buffer import Buffer, _as_bytes_view, resolve_range
from .collective import Channel as _Channel
from .collective import check_op
from .errors import (
    FailedPreconditionError,
    InvalidArgumentError,
    OutOfRangeError,
    PermissionDeniedError,
    ResourceExhaustedError,
)
from .executable import Executable, PipelineLayout
from .types import (
    WHOLE_BUFFER,
    AccessScope,
    BufferUsage,
    CollectiveKind,
    CommandBufferMode,
    CommandCategory,
    ExecutionStage,
)

if TYPE_CHECKING:
    from .buffer import HostData
    from .collective import Channel, CollectiveOp
    from .device import Device
    from .drivers.base import ResolvedBinding
    from .semaphore import Event

_FULL_STAGES = int(
    ExecutionStage.COMMAND_RETIRE
    | ExecutionStage.DISPATCH
    | ExecutionStage.TRANSFER
    | ExecutionStage.COMMAND_ISSUE
    | ExecutionStage.COMMAND_PROCESS
)
_USAGE_STORAGE = int(BufferUsage.DISPATCH_STORAGE)
_USAGE_SRC = int(BufferUsage.TRANSFER_SOURCE)
_USAGE_DST = int(BufferUsage.TRANSFER_TARGET)
_USAGE_INDIRECT = int(BufferUsage.DISPATCH_INDIRECT_PARAMS)


@dataclass(frozen=True)
class Slot:
    """An indirect buffer reference: entry ``index`` of the submission's binding table."""

    index: int


@dataclass(frozen=True)
class Binding:
    """Binding ``binding`` of a descriptor set: a buffer (or Slot) range."""

    binding: int
    buffer: Buffer | Slot
    offset: int = 0
    length: int = WHOLE_BUFFER


@dataclass(frozen=True)
class MemoryBarrier:
    """Orders memory accesses of ``source_scope`` before those of ``target_scope``
    (AccessScope flags) in an execution_barrier or wait_events."""

    source_scope: AccessScope | int
    target_scope: AccessScope | int


@dataclass(frozen=True)
class BufferBarrier:
    """A MemoryBarrier limited to ``[offset, offset + length)`` of ``buffer`` (a Buffer or
    a Slot)."""

    source_scope: AccessScope | int
    target_scope: AccessScope | int
    buffer: Buffer | Slot
    offset: int = 0
    length: int = WHOLE_BUFFER


#: A buffer argument of a command: a Buffer, or a Slot that each submission's binding
#: table resolves.
BufferOrSlot: TypeAlias = "Buffer | Slot"
#: One binding of push_descriptor_set (and dispatch's ``bindings=``): a Binding, or
#: ``(binding, buffer[, offset[, length]])``.
BindingSpec: TypeAlias = (
    "Binding | tuple[int, BufferOrSlot] | tuple[int, BufferOrSlot, int]"
    " | tuple[int, BufferOrSlot, int, int]"
)
#: Push-constant values: bytes (a multiple of 4), a numpy array (its bytes), or a list of
#: Python ints and floats and numpy 32/64-bit scalars (see ``_constants``).
PushConstantValues: TypeAlias = (
    "bytes | bytearray | memoryview | np.ndarray | Sequence[int | float | np.generic]"
)
#: A collective's send or recv binding: a Buffer, a Slot, a Binding or
#: ``(buffer_or_slot, offset, length)``.
CollectiveBinding: TypeAlias = "Buffer | Slot | Binding | tuple[Buffer | Slot, int, int]"
#: A workgroup count: an int (x) or 1 to 3 ints (x, y, z).
WorkgroupCount: TypeAlias = "int | Sequence[int]"
#: An entry of a binding table (``queue_execute``, ``execute_commands``): entry i resolves
#: ``Slot(i)`` to a whole Buffer or to ``(buffer, offset, length)``.
BindingTableEntry: TypeAlias = "Buffer | tuple[Buffer, int, int]"

_T = TypeVar("_T")
_INITIAL, _RECORDING, _EXECUTABLE = 0, 1, 2
#: How deep execute_commands may nest (encoders walk nested lists recursively; real
#: programs nest once or twice).
MAX_NESTING = 32
#: Binding-table entries a reusable command buffer may reference (a sanity bound: tables
#: are Python sequences resolved at every submission).
_MAX_BINDING_CAPACITY = 2**20
_ANY, _DISPATCH, _TRANSFER = (
    int(CommandCategory.ANY),
    int(CommandCategory.DISPATCH),
    int(CommandCategory.TRANSFER),
)


_stream.configure(vars(errors), Executable, C.Ref, PipelineLayout, MemoryBarrier)


def _mode_flags(
    mode: Any, categories: Any
) -> tuple[CommandBufferMode, CommandCategory, bool, bool, int]:
    """A command buffer's mode and categories checked (InvalidArgumentError for values not
    of their enum, or categories that allow no command): the mode, the categories, whether
    it validates, whether it is one-shot, and the category bits its commands check."""
    mode = as_flags(CommandBufferMode, mode, "command buffer mode")
    categories = as_flags(CommandCategory, categories, "command categories")
    if not categories & CommandCategory.ANY:
        raise InvalidArgumentError(f"categories {categories!r} allow no command")
    validate = not mode & CommandBufferMode.UNVALIDATED
    one_shot = bool(mode & CommandBufferMode.ONE_SHOT)
    return mode, categories, validate, one_shot, int(categories) if validate else _ANY


#: CommandBuffer's validated flags per (type, value) of its mode and categories.
_MODE_FLAGS: dict[tuple[Any, ...], tuple[CommandBufferMode, CommandCategory, bool, bool, int]] = {}


class CommandBuffer(_stream.Recorder):
    """Records commands for a device queue.  ``with cb:`` is ``begin()`` … ``end()``.

    ONE_SHOT command buffers are submitted once; DEFAULT (reusable) ones any number of
    times, with ``hal.Slot`` references resolved from each submission's binding table.
    """

    __slots__ = (
        "device",
        "mode",
        "categories",
        "binding_capacity",
        "_slot_checks",
        "_slot_copies",
        "_slot_alignments",
        "_slots_passed",
        "_debug_depth",
        "_nesting",
        "encoded",
        "_submitted",
        "_validate",
        "_limits",
        "_events",
        "_categories",
        "_one_shot",
        "_stream",
    )  # weak references: the native base has them

    def __init__(
        self,
        device: Device,
        mode: CommandBufferMode = CommandBufferMode.ONE_SHOT,
        categories: CommandCategory = CommandCategory.ANY,
        binding_capacity: int = 0,
    ):
        binding_capacity = as_index(binding_capacity, "binding_capacity")
        if not 0 <= binding_capacity <= _MAX_BINDING_CAPACITY:
            raise InvalidArgumentError(
                f"binding_capacity must be in [0, {_MAX_BINDING_CAPACITY}], got {binding_capacity}"
            )
        # Enum arithmetic costs microseconds each, and programs make command buffers on
        # every call: the validated flags are memoized per (type, value) of the arguments.
        key = (type(mode), mode, type(categories), categories)
        try:
            flags = _MODE_FLAGS[key]
        except (KeyError, TypeError):  # TypeError: an unhashable argument, refused here
            flags = _mode_flags(mode, categories)
            if len(_MODE_FLAGS) < 256:
                _MODE_FLAGS[key] = flags
        self.mode, self.categories, self._validate, self._one_shot, self._categories = flags
        self.device = device
        self.binding_capacity = binding_capacity
        limits = self._limits = device._driver.limits
        wx, wy, wz = limits.max_workgroup_count
        self._setup(
            device,
            self._validate,
            self._categories,
            limits.max_push_constants,
            limits.max_bindings,
            (wx, wy, wz),
        )
        # What only the binding table can settle, checked at submit: each slot reference's
        # range (ref, required usage, alignment, what), copies through slots that may
        # overlap (source, target), and kernels' binding alignments (ref, alignment, what).
        self._slot_checks: list[tuple[C.Ref, int, int, str]] = []
        self._slot_copies: list[tuple[C.Ref, C.Ref]] = []
        self._slot_alignments: list[tuple[C.Ref, int, str]] = []
        # What the queue's short path last found to pass check_slots (Device._check_slots).
        self._slots_passed: tuple[list[int], int] | None = None
        self._events: list[Event] = []
        self._stream: _stream.Recorder | None = None  # the flattened stream, once ended
        self._debug_depth = 0
        self._nesting = 0  # the deepest chain of execute_commands below this one
        self.encoded: Any = None
        self._submitted = False

    def __repr__(self) -> str:
        state = ("initial", "recording", "executable")[self._state]
        return (
            f"CommandBuffer(mode={self.mode!r}, categories={self.categories!r}, "
            f"{self.record_count} commands, {state})"
        )

    # -- lifecycle --------------------------------------------------------------------------
    def begin(self) -> None:
        """Starts recording; FailedPreconditionError if it was begun before."""
        if self._state != _INITIAL:
            raise FailedPreconditionError("begin() on a command buffer that was already begun")
        if self.device._closed:
            raise FailedPreconditionError("begin() on a command buffer of a closed device")
        self._state = _RECORDING

    def end(self) -> None:
        """Finishes recording and encodes the commands for the driver."""
        if self._state != _RECORDING:
            raise FailedPreconditionError("end() on a command buffer that is not recording")
        if self.device._closed:
            raise FailedPreconditionError("end() on a command buffer of a closed device")
        if self._debug_depth:
            raise FailedPreconditionError(
                f"end() with {self._debug_depth} debug group(s) still open"
            )
        flat = self.flatten()
        # Only a separate flattened stream is kept: the buffer itself would be a cycle.
        self._stream = flat if flat is not self else None
        if self.device.checked:
            hazards.check_recording(self)
        # Device._driver_call without its context manager's frames (programs end command
        # buffers on every call): close() waits for the encoder to finish.
        device = self.device
        device._enter_driver_call()
        try:
            self.encoded = device._driver.encode(flat, self.mode)
        finally:
            device._exit_driver_call()
        self._state = _EXECUTABLE

    def __enter__(self) -> CommandBuffer:
        self.begin()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.end()

    @property
    def commands(self) -> list[C.Command]:
        """The recorded commands as :mod:`polyhal.commands` objects, a nested command
        buffer as one Execute: decoded from the stream at each call, for tools and the
        hazard checker (drivers read the stream itself)."""
        return _walker.commands(self)

    def _recording(self, category: int) -> None:
        if self._state != _RECORDING or self.device._closed:
            if self.device._closed:
                raise FailedPreconditionError("command buffer of a closed device")
            raise FailedPreconditionError(
                "command recorded outside begin()/end()"
                if self._state == _INITIAL
                else "command recorded after end()"
            )
        if not self._categories & category:
            raise FailedPreconditionError(
                f"a {CommandCategory(category).name} command in a command buffer of "
                f"categories {self.categories!r}"
            )

    # -- buffer references -----------------------------------------------------------------
    def _ref(
        self,
        buffer: object,
        offset: int,
        length: int,
        usage: int,
        what: str | tuple[str, int, int],
        align: int = 1,
    ) -> C.Ref:
        """A Ref to a validated range; ``what`` (a str, or a format tuple) names the use."""
        if (
            type(buffer) is Buffer
            and buffer.device is self.device
            and type(offset) is int
            and type(length) is int
        ):
            # The common case, checked without building any message.
            size = buffer.size
            if length == WHOLE_BUFFER and 0 <= offset <= size:
                length = size - offset
            alloc = buffer.alloc
            if (
                0 <= offset
                and 0 <= length
                and offset + length <= size
                and not alloc.released
                and (not usage or buffer.usage_bits & usage or not self._validate)
                and (align == 1 or not (offset % align or length % align) or not self._validate)
            ):
                self._add_allocs((alloc,))
                return C.Ref(alloc, -1, buffer.offset + offset, length)
        if isinstance(what, tuple):
            what = what[0] % what[1:]
        return self._checked_ref(buffer, offset, length, usage, what, align)

    def _checked_ref(
        self, buffer: object, offset: int, length: int, usage: int, what: str, align: int
    ) -> C.Ref:
        if type(buffer) is Slot:
            index = as_index(buffer.index, what)
            offset, length = as_uint64(offset, what), as_uint64(length, what)
            if not 0 <= index < self.binding_capacity:
                raise InvalidArgumentError(
                    f"{what}: Slot({index}) is outside binding_capacity {self.binding_capacity}"
                )
            if offset < 0 or (length != WHOLE_BUFFER and length < 0):
                raise OutOfRangeError(f"{what}: negative offset or length ({offset}, {length})")
            if (
                self._validate
                and align > 1
                and (offset % align or (length != WHOLE_BUFFER and length % align))
            ):
                raise InvalidArgumentError(
                    f"{what}: offset {offset} and length {length} must be multiples of {align}"
                )
            ref = C.Ref(None, index, offset, length)
            self._slot_checks.append((ref, usage, align, what))
            return ref
        if not isinstance(buffer, Buffer):
            raise InvalidArgumentError(
                f"{what}: expected a Buffer or Slot, got {type(buffer).__name__}"
            )
        if buffer.device is not self.device:
            raise InvalidArgumentError(f"{what}: buffer belongs to another device")
        alloc = buffer.alloc
        if alloc.released:
            raise FailedPreconditionError(f"{what}: buffer was deallocated")
        if self._validate and usage and not buffer.usage_bits & usage:
            raise PermissionDeniedError(
                f"{what}: buffer usage {BufferUsage(buffer.usage)!r} lacks {BufferUsage(usage)!r}"
            )
        offset = as_index(offset, what)
        length = resolve_range(buffer.size, offset, length, what)
        if self._validate and align > 1 and (offset % align or length % align):
            raise InvalidArgumentError(
                f"{what}: offset {offset} and length {length} must be multiples of {align}"
            )
        self._add_allocs((alloc,))
        return C.Ref(alloc, -1, buffer.offset + offset, length)

    # -- debug groups and barriers ---------------------------------------------------------
    def begin_debug_group(
        self,
        label: str,
        color: Sequence[float] | None = None,
        location: tuple[str, int] | None = None,
    ) -> None:
        """Opens a labelled group of commands (for debuggers and traces; no effect on
        execution).  ``color``: None or (r, g, b[, a]) floats in [0, 1]; ``location``: None
        or (file, line).  InvalidArgumentError for anything else."""
        self._recording(_ANY)
        group = (str(label), _label_color(color), _label_location(location))
        self._debug_depth += 1
        self._append(_walker.OP_BEGIN_DEBUG, 0, group, None, None, 0, 0, None)

    def end_debug_group(self) -> None:
        """Closes the innermost begin_debug_group(); FailedPreconditionError if none is open."""
        self._recording(_ANY)
        if not self._debug_depth:
            raise FailedPreconditionError("end_debug_group() without begin_debug_group()")
        self._debug_depth -= 1
        self._append(_walker.OP_END_DEBUG, 0, None, None, None, 0, 0, None)

    def _slow_execution_barrier(
        self,
        source_stage: ExecutionStage | int = _FULL_STAGES,
        target_stage: ExecutionStage | int = _FULL_STAGES,
        flags: int = 0,
        memory_barriers: Sequence[MemoryBarrier] = (),
        buffer_barriers: Sequence[BufferBarrier] = (),
    ) -> None:
        # execution_barrier() (the recorder's) with arguments: validated here.
        self._recording(_ANY)
        source, target = _stage(source_stage, "source_stage"), _stage(target_stage, "target_stage")
        flags = _barrier_flags(flags)
        memory = _memory_barriers(memory_barriers)
        buffers = self._buffer_barriers(buffer_barriers)
        self._append(
            _walker.OP_BARRIER,
            flags,
            (memory, buffers) if memory or buffers else None,
            None,
            None,
            0,
            source | target << 32,
            None,
        )

    def _buffer_barriers(self, barriers: Sequence[BufferBarrier]) -> tuple[C.BufferRange, ...]:
        out = []
        for b in _sequence(barriers, "buffer_barriers"):
            if not isinstance(b, BufferBarrier):
                raise InvalidArgumentError(f"expected BufferBarrier, got {type(b).__name__}")
            as_flags(AccessScope, b.source_scope, "buffer barrier source_scope")
            as_flags(AccessScope, b.target_scope, "buffer barrier target_scope")
            ref = self._ref(b.buffer, b.offset, b.length, 0, "buffer barrier")
            out.append((b.source_scope, b.target_scope, ref))
        return tuple(out)

    # -- events ----------------------------------------------------------------------------
    def _event(self, event: object) -> Event:
        from .semaphore import Event

        if not isinstance(event, Event):
            raise InvalidArgumentError(f"expected an Event, got {type(event).__name__}")
        if event.device is not self.device:
            raise InvalidArgumentError("event belongs to another device")
        self._events.append(event)
        return event

    def signal_event(self, event: Event, source_stage: ExecutionStage | int = _FULL_STAGES) -> None:
        """Sets ``event`` once the commands before it reach ``source_stage``."""
        self._recording(_DISPATCH)
        stage = _stage(source_stage, "source_stage")
        self._append(_walker.OP_SIGNAL_EVENT, 0, self._event(event), None, None, 0, stage, None)

    def reset_event(self, event: Event, source_stage: ExecutionStage | int = _FULL_STAGES) -> None:
        """Unsets ``event`` once the commands before it reach ``source_stage``."""
        self._recording(_DISPATCH)
        stage = _stage(source_stage, "source_stage")
        self._append(_walker.OP_RESET_EVENT, 0, self._event(event), None, None, 0, stage, None)

    def wait_events(
        self,
        events: Iterable[Event],
        source_stage: ExecutionStage | int = _FULL_STAGES,
        target_stage: ExecutionStage | int = _FULL_STAGES,
        memory_barriers: Sequence[MemoryBarrier] = (),
        buffer_barriers: Sequence[BufferBarrier] = (),
    ) -> None:
        """Commands after this wait, from ``target_stage`` on, until every event in
        ``events`` is set; the barriers say which memory the wait makes visible."""
        self._recording(_DISPATCH)
        evs = tuple(self._event(e) for e in _sequence(events, "events"))
        source, target = _stage(source_stage, "source_stage"), _stage(target_stage, "target_stage")
        detail = (evs, _memory_barriers(memory_barriers), self._buffer_barriers(buffer_barriers))
        self._append(_walker.OP_WAIT_EVENTS, 0, detail, None, None, 0, source | target << 32, None)

    # -- transfer --------------------------------------------------------------------------
    def discard_buffer(self, buffer: BufferOrSlot) -> None:
        """Declares the contents undefined (a hint; it never changes bytes)."""
        self._recording(_ANY)
        ref = self._ref(buffer, 0, WHOLE_BUFFER, 0, "discard")
        self._append(_walker.OP_DISCARD, 0, None, ref, None, 0, 0, None)

    def _slow_fill_buffer(
        self,
        target: BufferOrSlot,
        offset: int,
        length: int,
        pattern: int | bytes,
        pattern_length: int | None = None,
    ) -> None:
        self._recording(_TRANSFER)
        value, plen = _pattern(pattern, pattern_length)
        ref = self._ref(target, offset, length, _USAGE_DST, "fill target", plen)
        self._append(_walker.OP_FILL, plen, None, ref, None, value, 0, None)

    def _slow_update_buffer(
        self,
        source: HostData,
        source_offset: int,
        target: BufferOrSlot,
        target_offset: int,
        length: int,
    ) -> None:
        self._recording(_TRANSFER)
        data = _capture(source, source_offset, length)
        ref = self._ref(target, target_offset, len(data), _USAGE_DST, "update target")
        self._append(_walker.OP_UPDATE, 0, None, ref, None, 0, 0, data)

    def _slow_copy_buffer(
        self,
        source: BufferOrSlot,
        source_offset: int,
        target: BufferOrSlot,
        target_offset: int,
        length: int,
    ) -> None:
        self._recording(_TRANSFER)
        src = self._ref(source, source_offset, length, _USAGE_SRC, "copy source")
        dst = self._ref(
            target,
            target_offset,
            length if length != WHOLE_BUFFER else src.length,
            _USAGE_DST,
            "copy target",
        )
        if src.alloc is None or dst.alloc is None:
            self._slot_copies.append((src, dst))
        elif src.alloc is dst.alloc and _overlap(src.offset, src.length, dst.offset, dst.length):
            raise InvalidArgumentError(
                f"copy source [{src.offset}, +{src.length}) and target [{dst.offset}, "
                f"+{dst.length}) overlap in one buffer"
            )
        self._append(_walker.OP_COPY, 0, None, dst, src, 0, 0, None)

    def collective(
        self,
        channel: Channel,
        op: CollectiveOp,
        param: int,
        send_binding: CollectiveBinding | None,
        recv_binding: CollectiveBinding | None,
        element_count: int,
    ) -> None:
        """A collective operation over ``channel`` with IREE's semantics (docs/collectives.md).

        ``send_binding`` / ``recv_binding``: a Buffer, a Slot, a Binding, or
        ``(buffer_or_slot, offset, length)``, None where the kind takes none (send: every
        kind but RECV; recv: every kind but SEND).  ``param``: the root rank (BROADCAST,
        REDUCE), the peer (SEND, RECV), both peers (SEND_RECV:
        ``polyhal.collective.send_recv_param``), else 0.  ``element_count`` elements of
        the op's element type per rank: ALL_GATHER receives ``count`` times that and
        REDUCE_SCATTER sends ``count`` times that; ALL_TO_ALL's is the whole buffer, a
        multiple of ``count``.  InvalidArgumentError for a channel of another device, a
        binding missing or extra, a reduction that does not suit the kind; OutOfRangeError
        for a root or peer outside the channel and for ranges shorter than the elements
        (for slots: at submit); UnimplementedError where the driver has no collectives.
        """
        self._recording(_DISPATCH)
        if not self._limits.collectives:
            raise errors.UnimplementedError(
                f"collectives are not implemented on the {self.device.driver} driver"
            )
        if not isinstance(channel, _Channel):
            raise InvalidArgumentError(f"expected a Channel, got {type(channel).__name__}")
        if channel.device is not self.device:
            raise InvalidArgumentError("collective: the channel belongs to another device")
        if channel.closed:
            raise FailedPreconditionError("collective: the channel was closed")
        op = check_op(op)
        count = as_uint64(element_count, "element_count")
        kind, ranks = op.kind, channel.count
        param = _collective_param(kind, param, ranks)
        n = count * op.element_size
        need_send, need_recv = {
            CollectiveKind.ALL_GATHER: (n, n * ranks),
            CollectiveKind.REDUCE_SCATTER: (n * ranks, n),
            CollectiveKind.SEND: (n, None),
            CollectiveKind.RECV: (None, n),
        }.get(kind, (n, n))
        if kind == CollectiveKind.ALL_TO_ALL and count % ranks:
            raise InvalidArgumentError(
                f"all_to_all: element_count {count} is not a multiple of the {ranks} ranks"
            )
        send = self._collective_ref(send_binding, need_send, "collective send")
        recv = self._collective_ref(recv_binding, need_recv, "collective recv")
        self._append(_walker.OP_COLLECTIVE, 0, (channel, op, param, count), send, recv, 0, 0, None)

    def _collective_ref(
        self, binding: CollectiveBinding | None, need: int | None, what: str
    ) -> C.Ref | None:
        """The Ref of a collective's binding covering exactly ``need`` bytes (None: the
        kind takes no such binding)."""
        if need is None:
            if binding is not None:
                raise InvalidArgumentError(f"{what}: this collective kind takes no {what[11:]}")
            return None
        if binding is None:
            raise InvalidArgumentError(f"{what}: this collective kind needs a {what[11:]} binding")
        offset, length = 0, WHOLE_BUFFER
        buffer: object = binding
        if isinstance(binding, Binding):
            buffer, offset, length = binding.buffer, binding.offset, binding.length
        elif isinstance(binding, tuple):
            if len(binding) != 3:
                raise InvalidArgumentError(
                    f"{what}: expected (buffer_or_slot, offset, length), got {len(binding)} items"
                )
            buffer, offset, length = binding
        if length != WHOLE_BUFFER:
            length = as_uint64(length, what)
            if length < need:
                raise OutOfRangeError(
                    f"{what}: the collective needs {need} bytes, the range has {length}"
                )
        return self._ref(buffer, offset, need, _USAGE_STORAGE, what)

    # -- push state and dispatch -----------------------------------------------------------
    def _slow_push_constants(
        self, layout: PipelineLayout, offset: int, values: PushConstantValues
    ) -> None:
        # push_constants (the recorder's) for what its fast path does not take.  ``values``:
        # bytes, a numpy array (its bytes), or a list mixing Python ints (one word, signed
        # or unsigned; InvalidArgumentError beyond 32 bits), Python floats (one float32
        # word), numpy 32-bit scalars (one word, their bits) and numpy 64-bit scalars (two
        # words, low word first).  Beyond the layout's ``push_constants``: OutOfRangeError.
        self._recording(_DISPATCH)
        self._set_constants(layout, offset, values)

    def _set_constants(
        self, layout: PipelineLayout, offset: int, values: PushConstantValues
    ) -> None:
        if type(layout) is not PipelineLayout:
            raise InvalidArgumentError(f"expected PipelineLayout, got {type(layout).__name__}")
        data = _constants(values)
        offset = as_index(offset, "push constant offset")
        if offset % 4 or offset < 0:
            raise InvalidArgumentError(
                f"push constant offset {offset} is not a non-negative multiple of 4"
            )
        end = offset + len(data)
        if self._validate and end > 4 * layout.push_constants:
            raise OutOfRangeError(
                f"push constants [{offset}, {end}) exceed the layout's "
                f"{layout.push_constants} values"
            )
        if end > 4 * self._limits.max_push_constants:
            raise ResourceExhaustedError(
                f"push constants [{offset}, {end}) exceed the device's "
                f"{self._limits.max_push_constants} values"
            )
        self._push_words(layout, offset, data)

    def _slow_push_descriptor_set(
        self,
        layout: PipelineLayout,
        set: int,  # noqa: A002
        bindings: Iterable[BindingSpec],
    ) -> None:
        self._recording(_DISPATCH)
        if not isinstance(layout, PipelineLayout):
            raise InvalidArgumentError(f"expected PipelineLayout, got {type(layout).__name__}")
        self._set_bindings(layout, as_index(set, "descriptor set"), bindings)

    def _set_bindings(
        self,
        layout: PipelineLayout,
        set: int,  # noqa: A002
        bindings: Iterable[BindingSpec],
    ) -> None:
        if not 0 <= set < len(layout.set_layouts):
            raise InvalidArgumentError(
                f"descriptor set {set} is not in the layout (it has {len(layout.set_layouts)})"
            )
        if type(bindings) is not list:
            bindings = _sequence(bindings, "bindings")
        if len(bindings) > self._limits.max_bindings:
            raise ResourceExhaustedError(
                f"{len(bindings)} bindings exceed the device's {self._limits.max_bindings}"
            )
        known = layout.set_layouts[set].indices
        entries = []
        for b in bindings:
            index, ref = self._binding(b, set)
            if self._validate and index not in known:
                raise InvalidArgumentError(
                    f"binding {index} is not in descriptor set {set} (it has {sorted(known)})"
                )
            if not 0 <= index < 2**32:
                raise InvalidArgumentError(f"binding index {index} is not a 32-bit number")
            entries.append((index, ref))
        self._push_set(layout, set, entries)

    def _binding(self, b: BindingSpec, set_index: int) -> tuple[int, C.Ref]:
        if type(b) is tuple and len(b) == 2 and type(b[0]) is int:
            index = b[0]
            return index, self._ref(
                b[1], 0, WHOLE_BUFFER, _USAGE_STORAGE, ("set %d binding %d", set_index, index)
            )
        if isinstance(b, Binding):
            index, buffer, offset, length = b.binding, b.buffer, b.offset, b.length
        else:
            try:
                index, buffer, *rest = b
            except (TypeError, ValueError):
                rest = None  # not a sequence of 2 or more items
            if rest is None or len(rest) > 2 or isinstance(b, (str, bytes)):
                raise InvalidArgumentError(
                    f"a binding is hal.Binding or (binding, buffer[, offset[, length]]), got {b!r}"
                )
            offset = rest[0] if rest else 0
            length = rest[1] if len(rest) > 1 else WHOLE_BUFFER
        index = as_index(index, "binding index")
        return index, self._ref(
            buffer, offset, length, _USAGE_STORAGE, ("set %d binding %d", set_index, index)
        )

    def _binding_ref(self, b: Binding | BufferOrSlot, what: str) -> C.Ref:
        if isinstance(b, Binding):
            return self._ref(b.buffer, b.offset, b.length, _USAGE_STORAGE, what)
        return self._ref(b, 0, WHOLE_BUFFER, _USAGE_STORAGE, what)

    def _dispatch_state(
        self,
        executable: object,
        entry_point: int | str,
        constants: PushConstantValues | None,
        bindings: Sequence[BindingSpec] | None,
    ) -> int:
        """Validates the executable and entry point, pushes the shorthand's state; the
        entry point's index."""
        if not isinstance(executable, Executable):
            raise InvalidArgumentError(f"expected Executable, got {type(executable).__name__}")
        if executable.device is not self.device:
            raise InvalidArgumentError("executable belongs to another device")
        index = executable.resolve(entry_point)
        layout = executable.entry_points[index].layout
        # The shorthand: the entry point's own layout, so no layout check is needed.
        if constants is not None:
            self._set_constants(layout, 0, constants)
        if bindings is not None:
            self._set_bindings(layout, 0, bindings)
        return index

    def _slow_dispatch(
        self,
        executable: Executable,
        entry_point: int | str,
        workgroup_count: WorkgroupCount,
        *,
        constants: PushConstantValues | None = None,
        bindings: Sequence[BindingSpec] | None = None,
    ) -> None:
        # dispatch (the recorder's) for what its fast path does not take.
        self._recording(_DISPATCH)
        counts = _workgroup_count(workgroup_count, self._limits.max_workgroup_count)
        index = self._dispatch_state(executable, entry_point, constants, bindings)
        self._dispatch_record(executable, index, counts, None)

    def dispatch_indirect(
        self,
        executable: Executable,
        entry_point: int | str,
        workgroups_buffer: BufferOrSlot,
        workgroups_offset: int = 0,
        *,
        constants: PushConstantValues | None = None,
        bindings: Sequence[BindingSpec] | None = None,
    ) -> None:
        """Like dispatch, with three uint32 counts read from a buffer when it runs."""
        self._recording(_DISPATCH)
        ref = self._ref(
            workgroups_buffer, workgroups_offset, 12, _USAGE_INDIRECT, "workgroups buffer"
        )
        if workgroups_offset % 4:
            raise InvalidArgumentError(
                f"workgroups offset {workgroups_offset} is not a multiple of 4"
            )
        index = self._dispatch_state(executable, entry_point, constants, bindings)
        self._dispatch_record(executable, index, None, ref)

    def execute_commands(
        self,
        command_buffer: CommandBuffer,
        binding_table: Sequence[BindingTableEntry] | None = None,
    ) -> None:
        """Runs a recorded command buffer here; its slots resolve from ``binding_table``
        or, when None, from this command buffer's own binding table."""
        self._recording(_ANY)
        if not isinstance(command_buffer, CommandBuffer) or command_buffer is self:
            raise InvalidArgumentError("execute_commands takes another CommandBuffer")
        if command_buffer._state != _EXECUTABLE:
            raise FailedPreconditionError("the nested command buffer is not ended")
        if command_buffer.device is not self.device:
            raise InvalidArgumentError("the nested command buffer belongs to another device")
        if command_buffer._nesting + 1 > MAX_NESTING:
            raise ResourceExhaustedError(
                f"execute_commands nests command buffers {command_buffer._nesting + 2} deep; "
                f"at most {MAX_NESTING + 1} levels are allowed"
            )
        table = None
        if binding_table is not None:
            table = tuple(self.device._resolve_binding_table(binding_table))
            command_buffer.check_slots(table)
        elif command_buffer._slot_checks and (
            command_buffer.binding_capacity > self.binding_capacity
        ):
            raise InvalidArgumentError(
                "nested command buffer uses slots beyond this one's binding_capacity "
                f"({command_buffer.binding_capacity} > {self.binding_capacity})"
            )
        self._nesting = max(self._nesting, command_buffer._nesting + 1)
        if table is not None:
            self._add_allocs(entry.alloc for entry in table)
        else:
            self._slot_checks.extend(command_buffer._slot_checks)
            self._slot_copies.extend(command_buffer._slot_copies)
            self._slot_alignments.extend(command_buffer._slot_alignments)
        self._add_allocs(command_buffer.allocations)
        self._events.extend(command_buffer._events)
        self._append(_walker.OP_EXECUTE, 0, (command_buffer, table), None, None, 0, 0, None)

    # -- what the queue reads and records (called by the device) ----------------------------
    @property
    def one_shot(self) -> bool:
        """Whether the buffer is ONE_SHOT (submitted at most once)."""
        return self._one_shot

    @property
    def submitted(self) -> bool:
        """Whether the buffer was submitted (queue_execute accepted it) at least once."""
        return self._submitted

    @property
    def uses_slots(self) -> bool:
        """Whether the buffer references binding-table slots, which every submission's
        table must then satisfy (check_slots)."""
        return bool(self._slot_checks)

    def mark_submitted(self) -> None:
        """Records that a submission accepted the buffer (the device calls it under its
        queue lock, after checking ``one_shot`` and ``submitted``)."""
        self._submitted = True

    # -- submit-time checks (called by the device) -----------------------------------------
    def check_submittable(self) -> None:
        """Raises FailedPreconditionError unless the buffer can be submitted now: ended,
        not a ONE_SHOT buffer already submitted, and every buffer it names still allocated."""
        if self._state != _EXECUTABLE:
            raise FailedPreconditionError("command buffer submitted before end()")
        if self._submitted and self._one_shot:
            raise FailedPreconditionError("a ONE_SHOT command buffer can be submitted once")
        for alloc in self.allocations:
            if alloc.released:
                raise FailedPreconditionError("command buffer uses a deallocated buffer")

    def check_slots(self, table: Sequence[ResolvedBinding]) -> None:
        """Bounds-checks every slot reference against a resolved binding table."""
        count = len(table)
        for ref, usage, align, what in self._slot_checks:
            if ref.slot >= count:
                raise InvalidArgumentError(
                    f"{what}: Slot({ref.slot}) but the binding table has {count} entries"
                )
            entry = table[ref.slot]
            # resolve_range written out (the reference's offset and length are uint64s,
            # checked when recorded): its message is built only when it raises.
            size, offset, length = entry.length, ref.offset, ref.length
            if length == WHOLE_BUFFER and offset <= size:
                length = size - offset
            elif offset > size or offset + length > size:
                resolve_range(size, offset, length, f"{what} (slot)")  # raises
            if self._validate and usage and not entry.usage & usage:
                raise PermissionDeniedError(
                    f"{what}: binding table entry {ref.slot} has usage "
                    f"{BufferUsage(entry.usage)!r}, lacking {BufferUsage(usage)!r}"
                )
            if self._validate and align > 1 and length % align:
                raise InvalidArgumentError(f"{what}: length {length} not a multiple of {align}")
        # Every slot is known to be in the table now.
        for ref, align, what in self._slot_alignments:  # the absolute offset counts
            offset = table[ref.slot].offset + ref.offset
            if offset % align:
                raise InvalidArgumentError(
                    f"{what}: offset {offset} is not a multiple of {align} bytes"
                )
        self.check_slot_copies(table)

    def check_slot_copies(self, table: Sequence[ResolvedBinding]) -> None:
        """Checks each copy through binding-table slots against ``table`` (every slot in
        it): both ends the same length, and not overlapping."""
        for src, dst in self._slot_copies:
            a_alloc, a_off, a_len = src.resolve(table)
            b_alloc, b_off, b_len = dst.resolve(table)
            # A WHOLE_BUFFER length resolves against each end's own table entry: both ends
            # must then name the same number of bytes, or a driver would read past the
            # source or write past the target.
            if a_len != b_len:
                raise OutOfRangeError(
                    f"copy through binding-table slots: the source range is {a_len} bytes and "
                    f"the target range {b_len} bytes; a copy needs equal lengths (pass an "
                    "explicit length instead of WHOLE_BUFFER)"
                )
            if a_alloc is b_alloc and _overlap(a_off, a_len, b_off, b_len):
                raise InvalidArgumentError("copy source and target overlap in one buffer")


def _collective_param(kind: CollectiveKind, param: object, ranks: int) -> int:
    """``param`` checked for ``kind`` on a channel of ``ranks`` ranks: a root or peer in
    [0, ranks) (OutOfRangeError outside), SEND_RECV's packed pair, else anything (IREE
    ignores it; recorded as given when an int)."""
    if type(param) is not int:
        raise InvalidArgumentError(f"collective param is an int, got {type(param).__name__}")
    if kind in (
        CollectiveKind.BROADCAST,
        CollectiveKind.REDUCE,
        CollectiveKind.SEND,
        CollectiveKind.RECV,
    ):
        if not 0 <= param < ranks:
            role = "root" if kind in (CollectiveKind.BROADCAST, CollectiveKind.REDUCE) else "peer"
            raise OutOfRangeError(
                f"collective {kind.name.lower()}: {role} rank {param} is outside [0, {ranks})"
            )
        return param
    if kind == CollectiveKind.SEND_RECV:
        if not 0 <= param < 2**32:
            raise InvalidArgumentError(
                f"send_recv param packs two int16 peers (send_recv_param), got {param}"
            )
        for half in (param & 0xFFFF, param >> 16):
            peer = half - 0x10000 if half >= 0x8000 else half
            if peer != -1 and not 0 <= peer < ranks:
                raise OutOfRangeError(
                    f"collective send_recv: peer rank {peer} is outside [0, {ranks}) (or -1)"
                )
        return param
    if not 0 <= param < 2**32:
        raise InvalidArgumentError(f"collective param is a uint32, got {param}")
    return param


def _overlap(a: int, alen: int, b: int, blen: int) -> bool:
    return a < b + blen and b < a + alen


_STAGE_BITS = int(
    ExecutionStage.COMMAND_ISSUE
    | ExecutionStage.COMMAND_PROCESS
    | ExecutionStage.DISPATCH
    | ExecutionStage.TRANSFER
    | ExecutionStage.COMMAND_RETIRE
    | ExecutionStage.HOST
)


def _stage(value: object, what: str) -> int:
    """An ExecutionStage mask as an int; InvalidArgumentError for anything else."""
    if type(value) is int and not value & ~_STAGE_BITS and value >= 0:
        return value
    return int(as_flags(ExecutionStage, value, what))


def _sequence(values: Iterable[_T], what: str) -> list[_T]:
    """A list of the items of a sequence argument; InvalidArgumentError for a non-sequence."""
    if isinstance(values, (str, bytes, bytearray, memoryview)):
        raise InvalidArgumentError(f"{what}: expected a sequence, got {type(values).__name__}")
    try:
        return list(values)
    except TypeError:
        raise InvalidArgumentError(
            f"{what}: expected a sequence, got {type(values).__name__}"
        ) from None


def _memory_barriers(barriers: Sequence[MemoryBarrier]) -> tuple[MemoryBarrier, ...]:
    items = tuple(_sequence(barriers, "memory_barriers"))
    for b in items:
        if not isinstance(b, MemoryBarrier):
            raise InvalidArgumentError(f"expected MemoryBarrier, got {type(b).__name__}")
        as_flags(AccessScope, b.source_scope, "memory barrier source_scope")
        as_flags(AccessScope, b.target_scope, "memory barrier target_scope")
    return items


def _label_color(color: Sequence[float] | None) -> tuple[float, float, float, float] | None:
    if color is None:
        return None
    try:
        values = [float(c) for c in _sequence(color, "debug group color")]
    except (TypeError, ValueError):
        values = []
    if len(values) not in (3, 4) or not all(0.0 <= v <= 1.0 for v in values):
        raise InvalidArgumentError(
            f"debug group color is (r, g, b[, a]) with values in [0, 1], got {color!r}"
        )
    return (values[0], values[1], values[2], values[3] if len(values) == 4 else 1.0)


def _label_location(location: object) -> tuple[str, int] | None:
    if location is None:
        return None
    if (
        isinstance(location, tuple)
        and len(location) == 2
        and isinstance(location[0], str)
        and type(location[1]) is int
    ):
        return (location[0], location[1])
    raise InvalidArgumentError(f"debug group location is (file, line), got {location!r}")


def _barrier_flags(flags: object) -> int:
    """Execution barrier flags: a 32-bit mask (IREE defines none yet, so any mask is kept)."""
    value = as_index(flags, "barrier flags")
    if not 0 <= value < 2**32:
        raise InvalidArgumentError(f"barrier flags {flags!r} are not a 32-bit mask")
    return value


def _pattern(pattern: int | bytes, pattern_length: int | None) -> tuple[int, int]:
    if isinstance(pattern, (bytes, bytearray, memoryview)):
        raw = bytes(pattern)
        plen = len(raw) if pattern_length is None else as_index(pattern_length, "pattern_length")
        if plen != len(raw):
            raise InvalidArgumentError(
                f"pattern of {len(raw)} bytes with pattern_length {pattern_length}"
            )
        value = int.from_bytes(raw, "little") if raw else 0
    else:
        value = as_index(pattern, "fill pattern")
        if pattern_length is None:
            plen = 1 if 0 <= value <= 0xFF else 2 if 0 <= value <= 0xFFFF else 4
        else:
            plen = as_index(pattern_length, "pattern_length")
    if plen not in (1, 2, 4):
        raise InvalidArgumentError(f"pattern length must be 1, 2 or 4 bytes, got {plen}")
    if value < -(1 << (8 * plen - 1)):
        raise InvalidArgumentError(f"pattern {value} does not fit in {plen} bytes")
    if value < 0:
        value &= (1 << (8 * plen)) - 1
    if value >> (8 * plen):
        raise InvalidArgumentError(f"pattern {value:#x} does not fit in {plen} bytes")
    return value, plen


def _capture(source: HostData, offset: int, length: int) -> bytes:
    view = _as_bytes_view(source)
    offset = as_index(offset, "update source")
    length = resolve_range(len(view), offset, length, "update source")
    return bytes(view[offset : offset + length])


@functools.cache
def _uint32s(count: int) -> struct.Struct:
    return struct.Struct(f"<{count}I")


def _constants(values: PushConstantValues) -> bytes:
    """Push-constant words, little-endian: bytes (a multiple of 4), a numpy array, or a list.

    List items: Python ints (one word, signed or unsigned 32-bit), Python floats (one
    float32 word), numpy 32-bit scalars (one word, their bits), numpy 64-bit scalars (two
    words, low word first); mixed freely.
    """
    if isinstance(values, (bytes, bytearray, memoryview)):
        data = bytes(values)
    elif isinstance(values, np.ndarray):
        if values.dtype.hasobject:
            raise InvalidArgumentError("push constants: a numpy array of objects")
        data = np.ascontiguousarray(values).tobytes()
    else:
        if isinstance(values, str) or not hasattr(values, "__len__"):
            raise InvalidArgumentError(
                f"push constants are bytes, a numpy array or a list of numbers, got {values!r}"
            )
        packed = None
        if all(type(v) is int for v in values):
            try:
                packed = _uint32s(len(values)).pack(*values)  # the common case: all uint32
            except struct.error:
                pass
        data = packed if packed is not None else b"".join([_constant_word(v) for v in values])
    if len(data) % 4:
        raise InvalidArgumentError(f"push constants of {len(data)} bytes: not whole 32-bit values")
    return data


_WORD = struct.Struct("<I")
_FLOAT = struct.Struct("<f")


def _constant_word(value: object) -> bytes:
    """One push-constant item as its 4 (or, for numpy 64-bit scalars, 8) bytes."""
    if type(value) is int:
        if -(2**31) <= value < 2**32:
            return _WORD.pack(value & 0xFFFFFFFF)
        raise InvalidArgumentError(f"push constant {value} does not fit in 32 bits")
    if type(value) is float:
        try:
            return _FLOAT.pack(value)
        except OverflowError:
            raise InvalidArgumentError(f"push constant {value} does not fit in a float32") from None
    if (
        isinstance(value, np.generic)
        and value.dtype.kind in "iuf"
        and value.dtype.itemsize in (4, 8)
    ):
        little: bytes = value.astype(value.dtype.newbyteorder("<")).tobytes()
        return little
    if isinstance(value, (int, np.integer)):  # bool, int subclasses, narrow numpy ints
        return _constant_word(int(value))
    raise InvalidArgumentError(
        f"push constant {value!r}: expected an int, a float or a numpy 32/64-bit scalar"
    )


def _workgroup_count(count: WorkgroupCount, limit: tuple[int, int, int]) -> tuple[int, int, int]:
    if type(count) is int and 0 <= count <= limit[0]:
        return (count, 1, 1)
    if isinstance(count, (bool, np.bool_)):
        raise InvalidArgumentError(f"workgroup_count is an int or (x, y, z), got {count!r}")
    if isinstance(count, (int, np.integer)):
        counts = (int(count), 1, 1)
    else:
        try:
            items = [as_index(c, "workgroup_count") for c in count]
        except (TypeError, InvalidArgumentError):
            raise InvalidArgumentError(
                f"workgroup_count is an int or (x, y, z), got {count!r}"
            ) from None
        if not 1 <= len(items) <= 3:
            raise InvalidArgumentError(f"workgroup_count has 1 to 3 values, got {count!r}")
        padded = items + [1] * (3 - len(items))
        counts = (padded[0], padded[1], padded[2])
    for c, m in zip(counts, limit, strict=False):
        if c < 0 or c > m:
            raise InvalidArgumentError(f"workgroup count {counts} outside [0, {limit}]")
    return counts
