"""The shared walker: a flattened command stream (polyhal._stream) as command objects.

The front end records into the native stream (native/stream.h); ``Recorder.flatten()``
inlines nested command buffers and resolves their binding tables once.  Encoders that run
in C (the local executor) read the stream's records in place; encoders written in Python
(Vulkan, the CUDA graph builder, the hazard checker, tools) walk :func:`commands`, which
decodes every record into the plain objects of :mod:`polyhal.commands`.

What the stream deduplicated stays shared: consecutive dispatches with the same bindings
get the same ``bindings`` tuple, the same constants the same ``constants`` bytes, and a
dispatch identical to the previous one the same Dispatch object, so encoders can skip
re-binding state by identity.
"""

from __future__ import annotations

import ctypes
import struct
from collections.abc import Sequence
from typing import TYPE_CHECKING, cast

from . import _stream
from . import commands as C

if TYPE_CHECKING:
    from .collective import Channel, CollectiveOp
    from .command_buffer import MemoryBarrier
    from .drivers.base import Allocation, ResolvedBinding
    from .executable import Executable
    from .semaphore import Event

    #: The fields of a REF.unpack: slot, base, offset, length, allocation index, pad.
    RefFields = tuple[int, int, int, int, int, int]
    #: A barrier's object: its memory barriers and buffer barriers.
    _BarrierLists = tuple[tuple[MemoryBarrier, ...], tuple[C.BufferRange, ...]]

# Mirrors of ph_ref_t and ph_cmd_t (native/stream.h); the import checks the sizes.
REF = struct.Struct("<qQQQII")
RECORD = struct.Struct("<IIQQ3I3IIIIIIIQ" + "qQQQII" * 2 + "II")
if RECORD.size != _stream.RECORD_SIZE or REF.size != _stream.REF_SIZE:  # pragma: no cover
    raise ImportError(
        f"polyhal._stream records are {_stream.RECORD_SIZE}/{_stream.REF_SIZE} "
        f"bytes, the walker expects {RECORD.size}/{REF.size}: a stale build"
    )


class StreamProgram(ctypes.Structure):
    """ph_program_t of native/stream.h: a flattened stream's arrays, as executors read them
    (``Recorder.program()`` gives the addresses)."""

    _fields_ = [
        ("cmds", ctypes.c_void_p),
        ("count", ctypes.c_uint64),
        ("refs", ctypes.c_void_p),
        ("constants", ctypes.c_void_p),
        ("data", ctypes.c_void_p),
    ]


class SlotRange(ctypes.Structure):
    """ph_slot_t of native/stream.h: a binding-table entry resolved for an executor
    (address and length), as distinct from ``hal.Slot``, the entry's index."""

    _fields_ = [("base", ctypes.c_uint64), ("length", ctypes.c_uint64)]


(
    OP_NOP,
    OP_DISPATCH,
    OP_FILL,
    OP_COPY,
    OP_UPDATE,
    OP_BARRIER,
    OP_SIGNAL_EVENT,
    OP_RESET_EVENT,
    OP_WAIT_EVENTS,
    OP_DISCARD,
    OP_EXECUTE,
    OP_COLLECTIVE,
    OP_BEGIN_DEBUG,
    OP_END_DEBUG,
) = range(14)
AUX_INDIRECT = 1
NO_OBJECT = 2**32 - 1
#: Field positions in a RECORD tuple.
F_OP, F_AUX, F_FN, F_ENV = 0, 1, 2, 3
F_WG_SIZE, F_WG_COUNT = slice(4, 7), slice(7, 10)
F_CONST_COUNT, F_CONST_INDEX, F_BIND_COUNT, F_BIND_INDEX = 10, 11, 12, 13
F_LOCAL_MEMORY, F_PATTERN, F_DATA = 14, 15, 16
F_A, F_B = slice(17, 23), slice(23, 29)
F_OBJECT, F_ENTRY = 29, 30


def decode_ref(fields: RefFields, allocations: Sequence[Allocation]) -> C.Ref:
    """The Ref of a ph_ref_t (``REF.unpack`` fields) of a stream whose allocation list is
    ``allocations``: a slot's range, or an allocation's."""
    slot, _base, offset, length, alloc, _ = fields
    if slot >= 0:
        return C.Ref(None, slot, offset, length)
    return C.Ref(allocations[alloc], -1, offset, length)


def commands(stream: _stream.Recorder) -> list[C.Command]:
    """The commands of a stream, in order, as :mod:`polyhal.commands` objects.  Encoders
    walk flattened streams; a stream that was not flattened gives a nested command buffer
    as one :class:`~polyhal.commands.Execute` (what the hazard checker reports paths in)."""
    records, refs, constants, data = stream.raw()
    objects = stream.objects
    allocs = stream.allocations

    def ref(fields: tuple[int, ...]) -> C.Ref:
        return decode_ref(cast("RefFields", fields), allocs)

    # What a record's object is follows from its op (the recorder appends it so).
    out: list[C.Command] = []
    bindings_key: tuple[int, int] | None = None
    bindings: tuple[C.Ref, ...] = ()
    constants_key: tuple[int, int] | None = None
    consts = b""
    last: C.Dispatch | None = None
    for f in RECORD.iter_unpack(records):
        op = f[F_OP]
        if op == OP_DISPATCH:
            key = (f[F_BIND_INDEX], f[F_BIND_COUNT])
            if key != bindings_key:
                first, count = key
                bindings = tuple(
                    ref(REF.unpack_from(refs, (first + i) * REF.size)) for i in range(count)
                )
                bindings_key = key
            key = (f[F_CONST_INDEX], f[F_CONST_COUNT])
            if key != constants_key:
                consts = constants[4 * key[0] : 4 * (key[0] + key[1])]
                constants_key = key
            exe = cast("Executable", objects[f[F_OBJECT]])
            if f[F_AUX] & AUX_INDIRECT:
                cmd = C.Dispatch(exe, f[F_ENTRY], None, ref(f[F_A]), consts, bindings)
            else:
                counts = f[F_WG_COUNT]
                if (
                    last is not None
                    and last.executable is exe
                    and last.entry_point == f[F_ENTRY]
                    and last.workgroup_count == counts
                    and last.bindings is bindings
                    and last.constants is consts
                ):
                    out.append(last)  # a repeat of the previous dispatch
                    continue
                cmd = last = C.Dispatch(exe, f[F_ENTRY], counts, None, consts, bindings)
            out.append(cmd)
            continue
        obj = objects[f[F_OBJECT]] if f[F_OBJECT] != NO_OBJECT else None
        stages = f[F_DATA]
        if op == OP_BARRIER:
            memory, buffers = cast("_BarrierLists", obj) if obj is not None else ((), ())
            out.append(C.Barrier(stages & 0xFFFFFFFF, stages >> 32, f[F_AUX], memory, buffers))
        elif op == OP_FILL:
            out.append(C.Fill(ref(f[F_A]), f[F_PATTERN], f[F_AUX]))
        elif op == OP_COPY:
            out.append(C.Copy(ref(f[F_B]), ref(f[F_A])))
        elif op == OP_UPDATE:
            target = ref(f[F_A])
            out.append(C.Update(data[stages : stages + target.length], target))
        elif op == OP_SIGNAL_EVENT:
            out.append(C.SignalEvent(cast("Event", obj), stages))
        elif op == OP_RESET_EVENT:
            out.append(C.ResetEvent(cast("Event", obj), stages))
        elif op == OP_WAIT_EVENTS:
            events, memory, buffers = cast(
                "tuple[tuple[Event, ...], tuple[MemoryBarrier, ...], tuple[C.BufferRange, ...]]",
                obj,
            )
            out.append(C.WaitEvents(events, stages & 0xFFFFFFFF, stages >> 32, memory, buffers))
        elif op == OP_DISCARD:
            out.append(C.Discard(ref(f[F_A])))
        elif op == OP_COLLECTIVE:
            channel, operation, param, count = cast("tuple[Channel, CollectiveOp, int, int]", obj)
            send = ref(f[F_A]) if f[F_A][4] != NO_OBJECT or f[F_A][0] >= 0 else None
            recv = ref(f[F_B]) if f[F_B][4] != NO_OBJECT or f[F_B][0] >= 0 else None
            out.append(C.Collective(channel, operation, param, send, recv, count))
        elif op == OP_BEGIN_DEBUG:
            label, color, location = cast(
                "tuple[str, tuple[float, float, float, float] | None, tuple[str, int] | None]", obj
            )
            out.append(C.BeginDebugGroup(label, color, location))
        elif op == OP_END_DEBUG:
            out.append(C.EndDebugGroup())
        elif op == OP_EXECUTE:  # only in a stream that was not flattened
            nested, table = cast("tuple[_stream.Recorder, tuple[ResolvedBinding, ...] | None]", obj)
            out.append(C.Execute(commands(nested), table))
    return out
