"""The local executor runs the front end's command stream in place (native/stream.h).

Encoding is therefore no copy: the program is the addresses of the flattened stream's
arrays plus what the device needs to plan the run -- how much work it holds (workgroups,
transfer bytes), which is how the device tells short work, run on the caller's thread,
from long work, and the checked allocations with padding whose canaries it checks after
each run.  Slots stay slot numbers and are resolved from the binding table at each run.
"""

from __future__ import annotations

import weakref
from typing import Any

from ... import _walker as W
from ...types import WHOLE_BUFFER
from .executor import StreamProgram


class Encoded:
    """The executor's view of a flattened stream, and the stream that keeps it valid.

    ``workgroups`` counts the workgroups of its direct dispatches, ``transfer_bytes`` the
    bytes its fills, copies and updates write where known when encoding; ``unbounded`` is
    True when the program holds work whose size only execution tells (indirect dispatches,
    whole-slot transfers).  ``padded`` holds the checked allocations with padding that it
    names directly, whose canaries the device checks after each run.
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
        "_dispatches",
        "_records",
    )

    def __init__(self, stream: Any):
        # The stream owns the arrays the program points into.  It is its command buffer
        # (or held by it), which every submission keeps alive until it completes; a weak
        # reference, because the command buffer holds this program.
        self.stream = weakref.ref(stream)
        records, count, refs, constants, data = stream.program()
        self.program = StreamProgram(records, count, refs, constants, data)
        self.count = count
        self.workgroups, self.transfer_bytes, self.unbounded, slots = stream.stats()
        self.has_slots = slots > 0
        self.padded = tuple(a for a in stream.allocations if a.padding is not None)
        self._dispatches: list | None = None
        self._records: Any = None

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


def encode(stream: Any) -> Encoded:
    return Encoded(stream)
