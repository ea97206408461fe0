"""Encodes a flattened command stream: when it is recorded, and which recording runs.

A stream without binding-table slots is recorded once, at ``end()``, and submitted
as often as the HAL allows (every command buffer is recorded SIMULTANEOUS_USE, since the
driver does not learn the HAL mode).  One with slots is recorded at its first submission
with that binding table, and the recording is kept for the next submission whose table
holds the same buffer ranges: a table whose contents did not change is not re-recorded.
A traced submission runs a recording with timestamp queries around each dispatch
(``Timestamps``), made and kept the same way.

The front end hands over a flattened stream (nested command buffers inlined, their
binding tables resolved); ``Encoded`` keeps a snapshot of its arrays (``Stream``).  How
a stream becomes Vulkan commands is recording.py (the Recorder), and how HAL barriers
become Vulkan ones is barriers.py.
"""

from __future__ import annotations

import struct
import sys
import threading
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

import vulkan as vk

from ... import _walker as W
from .instance import check, ffi, handle, lib, new
from .recording import Recorder, Recording, begin_recording

if TYPE_CHECKING:
    from .device import VulkanDevice

_RECORDINGS_KEPT = 4  # binding tables remembered per encoded command buffer
_NULL = ffi.NULL
_RECORD_SIZE = W.RECORD.size
_OPS = struct.Struct(f"<I{_RECORD_SIZE - 4}x")  # a record's op, for counting dispatches


class Stream:
    """A flattened command stream (polyhal._stream) as the encoder keeps it: its arrays
    as bytes (``raw()``, what polyhal._walker decodes) and the lists its records index.

    A snapshot, so that an Encoded holds no reference to its command buffer (that would be
    a cycle) and reads the same records at every later recording."""

    __slots__ = ("arrays", "objects", "allocations")

    def __init__(self, arrays: tuple, objects: list, allocations: list):
        self.arrays = arrays  # (records, refs, constants, data)
        self.objects = objects
        self.allocations = allocations

    @classmethod
    def of(cls, stream: Any) -> Stream:
        return cls(stream.raw(), stream.objects, stream.allocations)

    def raw(self) -> tuple:
        return self.arrays

    def command(self, index: int) -> Any:
        """Record ``index`` as a polyhal.commands object, decoded by the shared walker."""
        records, *pools = self.arrays
        one = records[index * _RECORD_SIZE : (index + 1) * _RECORD_SIZE]
        return W.commands(Stream((one, *pools), self.objects, self.allocations))[0]

    def dispatch_count(self) -> int:
        return sum(1 for (op,) in _OPS.iter_unpack(self.arrays[0]) if op == W.OP_DISPATCH)


class Encoded:
    """What ``encode`` returns: a fixed recording, or recordings per binding table.

    An Encoded with slots pins the buffers it names directly (its recordings are made
    only when it runs, and a submission parked until then must find them).
    """

    __slots__ = ("device", "stream", "has_slots", "fixed", "recordings", "lock", "held", "traced")

    def __init__(self, device: VulkanDevice, stream: Any, snapshot: Stream | None = None):
        # ``stream``: a polyhal._stream stream, with its ``snapshot`` when taken already;
        # or a Stream snapshot alone (part of one: see collectives.Segmented).
        self.held: list = []
        self.device = device
        if isinstance(stream, Stream):
            snapshot = stream
        self.stream = snapshot if snapshot is not None else Stream.of(stream)
        self.recordings: OrderedDict[tuple, Recording] = OrderedDict()
        self.traced: OrderedDict[tuple, Recording] = OrderedDict()  # made when first traced
        self.lock = threading.Lock()
        self.fixed = None
        self.has_slots = False
        if not self.stream.arrays[0]:
            return
        # Recorded at once unless the stream references a slot (a buffer barrier's slot is
        # only met while recording): then it is recorded per binding table at submission.
        # A snapshot's slots are found by recording it.
        self.has_slots = not isinstance(stream, Stream) and stream.stats()[3] > 0
        if not self.has_slots:
            try:
                self.fixed = record(device, self.stream, _NO_TABLE)
            except _NeedsTable:
                self.has_slots = True
        if self.has_slots:
            device.pin_all(self.stream.allocations)
            self.held = list(self.stream.allocations)

    def __del__(self) -> None:
        if sys.is_finalizing():  # interpreter exit: objects go in any order (a device
            return  # before its buffers); the process's end frees what is native
        held, self.held = self.held, []
        self.device.unpin_all(held)

    def recording(self, table: Any) -> Recording | None:
        """The recording to submit with ``table`` (None when there is nothing to run)."""
        if not self.has_slots:
            return self.fixed
        key = tuple([(e.alloc.uid, e.offset, e.length) for e in table])
        with self.lock:
            rec = self.recordings.get(key)
            if rec is not None:
                self.recordings.move_to_end(key)
                return rec
            rec = record(self.device, self.stream, table)
            self.recordings[key] = rec
            if len(self.recordings) > _RECORDINGS_KEPT:
                self.recordings.popitem(last=False)
            return rec

    def traced_recording(self, table: Any) -> Recording | None:
        """A recording with a timestamp query before and after each dispatch, to submit
        with ``table`` in a traced submission (None when there is nothing to run).

        Recorded at the first traced submission, never for untraced ones, and kept like
        the plain recordings.  It stays busy until the device has read its queries after
        the submission completed: a traced submission that finds it busy gets
        a fresh, uncached recording, so that two in flight never share queries.
        """
        if not self.stream.arrays[0]:
            return None
        key = tuple([(e.alloc.uid, e.offset, e.length) for e in table]) if self.has_slots else ()
        with self.lock:
            rec = self.traced.get(key)
            if rec is not None and not rec.timing.busy:  # type: ignore[union-attr]
                rec.timing.busy = True  # type: ignore[union-attr]
                self.traced.move_to_end(key)
                return rec
        rec = record(self.device, self.stream, table if self.has_slots else _NO_TABLE, timed=True)
        rec.timing.busy = True  # type: ignore[union-attr]
        with self.lock:
            if key not in self.traced:
                self.traced[key] = rec
                if len(self.traced) > _RECORDINGS_KEPT:
                    self.traced.popitem(last=False)
        return rec


class Timestamps:
    """The timestamp queries of a traced recording: query 2n and 2n + 1 are written
    before and after its n-th dispatch, ``dispatches[n]`` = (entry point name, workgroup
    count or None when indirect)."""

    __slots__ = ("pool", "queries", "dispatches", "busy")

    def __init__(self, device: VulkanDevice, count: int):
        self.queries = max(2, 2 * count)
        info = new(
            "VkQueryPoolCreateInfo*",
            {
                "sType": vk.VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO,
                "queryType": vk.VK_QUERY_TYPE_TIMESTAMP,
                "queryCount": self.queries,
            },
        )
        pool = handle("VkQueryPool")
        check(lib.vkCreateQueryPool(device.handle, info, _NULL, pool), "vkCreateQueryPool")
        self.pool = pool[0]
        self.dispatches: list[tuple[str, tuple | None]] = []
        self.busy = False

    def read(self, device: VulkanDevice) -> list[int]:
        """The raw tick values, two per dispatch (call once the submission completed)."""
        count = 2 * len(self.dispatches)
        if not count:
            return []
        out = ffi.new("uint64_t[]", count)
        check(
            lib.vkGetQueryPoolResults(
                device.handle,
                self.pool,
                0,
                count,
                8 * count,
                out,
                8,
                vk.VK_QUERY_RESULT_64_BIT | vk.VK_QUERY_RESULT_WAIT_BIT,
            ),
            "vkGetQueryPoolResults",
        )
        return list(out)


class _NeedsTable(Exception):
    """A slot reference met while recording without a binding table."""


class _NoTable:
    """The binding table of a recording made before any is known."""

    def __getitem__(self, slot: int) -> Any:
        raise _NeedsTable(slot)


_NO_TABLE = _NoTable()


def record(device: VulkanDevice, stream: Stream, table: Any, timed: bool = False) -> Recording:
    """Records ``stream`` (slots resolved from ``table``) into a new Recording;
    ``timed``: with timestamp queries around each dispatch (see Timestamps)."""
    rec = begin_recording(device)
    fn = device.fn
    if timed:
        rec.timing = timing = Timestamps(device, stream.dispatch_count())
        # Queries must be reset before each write, every submission.
        lib.vkCmdResetQueryPool(rec.cb, timing.pool, 0, timing.queries)
    recorder = Recorder(device, rec)
    try:
        recorder.record(stream, table)
    finally:
        recorder.close()
        check(fn.end_command_buffer(rec.cb), "vkEndCommandBuffer")
    return rec
