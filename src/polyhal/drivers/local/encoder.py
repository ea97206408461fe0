"""The local executor runs the front end's command stream in place (native/stream.h).

Encoding is therefore no copy: the program is the addresses of the flattened stream's
arrays plus what the device needs to plan the run -- how much work it holds (workgroups,
transfer bytes), which is how the device tells short work, run on the caller's thread,
from long work, and the checked allocations with padding whose canaries it checks after
each run.  Slots stay slot numbers and are resolved from the binding table at each run.

A program with collectives runs in segments: the native executor runs the records between
two collectives (a sub-program over the same arrays), the device runs each collective on
the host engine in between, so every collective starts after the commands before it
completed and before any command after it starts.
"""

from __future__ import annotations

import weakref
from typing import Any

from ... import _walker as W
from ...types import WHOLE_BUFFER
from .executor import StreamProgram


class Collective:
    """A collective record of a program: where it is, what it does, and its bindings as
    (slot, allocation, offset, length) -- slot -1 for a direct reference, allocation None
    for a slot, the whole None where the kind has no such binding."""

    __slots__ = ("index", "channel", "op", "param", "element_count", "send", "recv")

    def __init__(self, index: int, obj: tuple, send: tuple | None, recv: tuple | None):
        channel, self.op, self.param, self.element_count = obj
        self.index = index
        self.channel = channel.driver_channel  # the host engine's HostChannel
        self.send = send
        self.recv = recv


class Encoded:
    """The executor's view of a flattened stream, and the stream that keeps it valid.

    ``workgroups`` counts the workgroups of its direct dispatches, ``transfer_bytes`` the
    bytes its fills, copies and updates write where known when encoding; ``unbounded`` is
    True when the program holds work whose size only execution tells (indirect dispatches,
    whole-slot transfers).  ``padded`` holds the checked allocations with padding that it
    names directly, whose canaries the device checks after each run -- found on a
    ``checked`` device only: no other looks at them.
    """

    __slots__ = (
        "stream",
        "program",
        "has_slots",
        "count",
        "workgroups",
        "transfer_bytes",
        "unbounded",
        "padded",
        "collectives",
        "segments",
        "_dispatches",
        "_records",
    )

    def __init__(self, stream: Any, checked: bool = True):
        # The stream owns the arrays the program points into.  It is its command buffer
        # (or held by it), which every submission keeps alive until it completes; a weak
        # reference, because the command buffer holds this program.
        self.stream = weakref.ref(stream)
        records, count, refs, constants, data = stream.program()
        self.program = StreamProgram(records, count, refs, constants, data)
        self.count = count
        self.workgroups, self.transfer_bytes, self.unbounded, slots = stream.stats()
        self.has_slots = slots > 0
        self.padded = (
            tuple([a for a in stream.allocations if a.padding is not None]) if checked else ()
        )
        self._dispatches: list | None = None
        self._records: Any = None
        # Only a collective records a 4-tuple object (see CommandBuffer.collective), so
        # programs without one pay for no record scan; the type scan runs in C, and most
        # programs record no tuple at all.
        self.collectives: tuple[Collective, ...] = ()
        #: (first record, sub-program or None when empty, the collective after it or None)
        self.segments: tuple = ()
        objects = stream.objects
        if tuple in map(type, objects) and any(type(o) is tuple and len(o) == 4 for o in objects):
            self._split(stream, records, constants, refs, data)

    def _split(self, stream: Any, records: int, constants: int, refs: int, data: int) -> None:
        raw_records, raw_refs = stream.raw()[:2]
        objects, allocs = stream.objects, stream.allocations

        def binding(fields: tuple) -> tuple | None:
            slot, _base, offset, length, alloc, _ = fields
            if slot >= 0:
                return (slot, None, offset, length)
            if alloc == W.NO_OBJECT:
                return None
            return (-1, allocs[alloc], offset, length)

        found = []
        for index, f in enumerate(W.RECORD.iter_unpack(raw_records)):
            if f[W.F_OP] == W.OP_COLLECTIVE:
                found.append(
                    Collective(index, objects[f[W.F_OBJECT]], binding(f[W.F_A]), binding(f[W.F_B]))
                )
        self.collectives = tuple(found)
        segments = []
        start = 0
        for c in (*found, None):
            end = c.index if c is not None else self.count
            sub = (
                StreamProgram(records + start * W.RECORD.size, end - start, refs, constants, data)
                if end > start
                else None
            )
            segments.append((start, sub, c))
            start = end + 1
        self.segments = tuple(segments)
        self.unbounded = True  # a collective waits on other ranks: never on the caller

    def _record(self, command: int) -> tuple:
        if self._records is None:
            self._records = self.stream().raw()
        return W.RECORD.unpack_from(self._records[0], command * W.RECORD.size)

    def dispatches(self) -> list[tuple[int, str, tuple | None]]:
        """(record index, entry point name, workgroup count or None when indirect) of each
        dispatch record, in order: what a traced run reports.  Worked out at the first
        traced run, not when encoding, so that untraced programs never pay for it."""
        if self._dispatches is None:
            out = []
            for index in range(self.count):
                record = self._record(index)
                if record[W.F_OP] == W.OP_DISPATCH:
                    counts = None if record[W.F_AUX] & W.AUX_INDIRECT else record[W.F_WG_COUNT]
                    out.append((index, self.entry_point_name(index), counts))
            self._dispatches = out
        return self._dispatches

    def operation(self, command: int) -> int:
        """The OP_* code of record ``command`` (polyhal._walker)."""
        return self._record(command)[W.F_OP]

    def bindings(self, command: int, table: Any) -> list[tuple[int, int]]:
        """(address, length) of each binding of dispatch record ``command``, in binding
        order, with slots resolved from ``table`` (what the kernel received)."""
        record = self._record(command)
        count, first = record[W.F_BIND_COUNT], record[W.F_BIND_INDEX]
        refs = self._records[1]
        out = []
        for i in range(first, first + count):
            slot, base, offset, length, _, _ = W.REF.unpack_from(refs, i * W.REF.size)
            if slot < 0:
                out.append((base + offset, length))
                continue
            entry = table[slot]
            if length == WHOLE_BUFFER:
                length = entry.length - offset
            out.append((entry.alloc.ptr + entry.offset + offset, length))
        return out

    def entry_point_name(self, command: int) -> str:
        """The name of the entry point that dispatch record ``command`` calls."""
        record = self._record(command)
        exe = self.stream().objects[record[W.F_OBJECT]]
        return exe.entry_points[record[W.F_ENTRY]].name


def encode(stream: Any, checked: bool = True) -> Encoded:
    return Encoded(stream, checked)
