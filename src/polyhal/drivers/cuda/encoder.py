"""Command streams → what the launcher runs: a launch program, or a CUDA graph (graph.py).

A command buffer's flattened stream (polyhal._stream, native/stream.h) is encoded once,
at ``end()``, by ``ph_encode`` in native/launcher.c into a *launch program*: flat records
(``launcher.CMD``) with the launch geometry, the buffer references of the stream and
indexes into its push constants and update bytes, walked at each submission with one
driver call per command (cuLaunchKernel, cuMemsetD8/D16/D32Async, cuMemcpyAsync).
Nothing here runs per command: Python makes one call for the whole stream.  Binding-table
slots stay slot numbers and are resolved by the launcher from each submission's table.

Dispatches between two barriers may run concurrently: a group holding two or more of
them is spread round-robin over the device's streams, forked from stream 0 by an event
before the group and joined back after it.  A group of one dispatch, and every command
of a ``serial`` device, stays on stream 0, which orders it for free.

Reusable command buffers run as a CUDA graph, built once from the shared walker's
commands (polyhal._walker): at ``end()`` when the front end says the command buffer is
reusable, else at its second submission (the first runs the launch program).  Command
buffers with an indirect dispatch are always graphs: reading the workgroup counts on the
device needs a device-updatable graph node (graph.py).
"""

from __future__ import annotations

import ctypes
import sys
import weakref
from typing import TYPE_CHECKING, Any

from ... import _walker as W
from ..._walker import REF, SlotRange, StreamProgram
from ...errors import ResourceExhaustedError
from ...types import CommandBufferMode
from . import graph as graphs
from .launcher import CMD, JOB_GRAPH, JOB_STREAM, OP_COLLECTIVE, OP_DISPATCH, Program
from .launcher import Encoded as NativeEncoded

if TYPE_CHECKING:
    from .device import CudaDevice


def _launch_program(lib: Any, stream: Any, streams: int) -> NativeEncoded:
    """``ph_encode`` of ``stream`` for ``streams`` streams (freed by ph_encoded_free)."""
    native = NativeEncoded()
    if lib.ph_encode(ctypes.byref(StreamProgram(*stream.program())), streams, ctypes.byref(native)):
        raise ResourceExhaustedError("out of host memory encoding a command buffer")
    return native


def _collectives(native: NativeEncoded, stream: Any) -> tuple[list, bool]:
    """Sets the handle of each collective record of a launch program to its
    CollectiveRecord; returns [(record, NcclChannel)] (which must outlive the program)
    and whether any collective's buffer is a binding-table slot."""
    if not native.collectives:
        return [], False
    from . import collective

    program = native.program
    launch = ctypes.string_at(program.cmds, program.count * CMD.size)
    records, objects = stream.raw()[0], stream.objects
    out: list = []
    slots = False
    for i in range(program.count):
        c = CMD.unpack_from(launch, i * CMD.size)
        if c[0] != OP_COLLECTIVE:
            continue
        fields = W.RECORD.unpack_from(records, c[3] * W.RECORD.size)
        channel, op, param, count = objects[fields[W.F_OBJECT]]
        ch = collective.driver_channel(channel)
        rec = collective.record(ch, op, param, count)
        ctypes.c_uint64.from_address(program.cmds + i * CMD.size + 8).value = ctypes.addressof(rec)
        for k in (0, 1):  # c[12]: the record's first reference (send, then recv)
            slots |= (
                REF.unpack_from(ctypes.string_at(program.refs + (c[12] + k) * REF.size, REF.size))[
                    0
                ]
                >= 0
            )
        out.append((rec, ch))
    return out, slots


class Encoded:
    """One recorded command buffer, as the device runs it.

    The launch program points into the stream's arrays (constants, update bytes), so the
    stream must outlive it: the stream is the command buffer (or held by it), which every
    submission keeps alive until it completes.  A weak reference here, because the
    command buffer holds this object.
    """

    __slots__ = (
        "stream",
        "lib",
        "native",
        "program_ptr",
        "count",
        "slot_count",
        "needs_graph",
        "graph",
        "submitted",
        "_traced",
        "job",
        "collectives",
        "channels",
        "graphable",
    )

    def __init__(self, device: CudaDevice, stream: Any, reusable: bool, one_shot: bool):
        self.lib = device.lib
        self.stream = weakref.ref(stream)
        self.native = _launch_program(self.lib, stream, 1 if device.serial else len(device.streams))
        self.program_ptr = ctypes.addressof(self.native)  # its first field is the program
        self.count = self.native.program.count
        self.slot_count = self.native.slot_count
        self.needs_graph = bool(self.native.needs_graph)
        self.collectives, slot_collectives = _collectives(self.native, stream)
        self.channels = tuple({id(ch): ch for _, ch in self.collectives}.values())
        self.graphable = not slot_collectives  # see the module docstring
        self.graph: graphs.CudaGraph | None = None
        self.submitted = False
        self._traced: TracedProgram | None = None
        #: (kind, target) of the launcher job that every submission of this command buffer
        #: runs with no binding table, once that is known; else None (see submit()).
        self.job: tuple[int, int] | None = None
        if (self.needs_graph or (reusable and self.graphable)) and self.runs_anything:
            self.graph = graphs.build(device, self.commands())
            self._set_job(self.graph)
        elif (one_shot or not self.runs_anything) and not self.slot_count and not self.channels:
            self.job = (JOB_STREAM, self.program_ptr)

    def _set_job(self, graph: graphs.CudaGraph) -> None:
        if not graph.slot_count and not self.channels:
            self.job = (JOB_GRAPH, graph.native_ptr)

    def __del__(self) -> None:
        if sys.is_finalizing():  # interpreter exit: objects go in any order (a device
            return  # before its buffers); the process's end frees what is native
        native = getattr(self, "native", None)
        if native is not None:
            self.lib.ph_encoded_free(ctypes.byref(native))

    @property
    def runs_anything(self) -> bool:
        """Whether the command buffer puts any work on the device."""
        return self.count > 0 or self.needs_graph

    def commands(self) -> list:
        """The stream's commands, decoded by the shared walker (for the graph builder)."""
        return W.commands(self.stream())

    def entry_points(self) -> list[str]:
        """Names of the entry points the command buffer dispatches, in order (none once
        the command buffer is gone)."""
        stream = self.stream()
        if stream is None:
            return []
        records, objects = stream.raw()[0], stream.objects
        return [
            objects[f[W.F_OBJECT]].entry_points[f[W.F_ENTRY]].name
            for f in W.RECORD.iter_unpack(records)
            if f[W.F_OP] == W.OP_DISPATCH
        ]

    def traced(self) -> TracedProgram:
        """What a traced submission runs instead (made at the first one, kept)."""
        if self._traced is None:
            self._traced = TracedProgram(self.lib, self.stream())
        return self._traced

    def submit(self, device: CudaDevice, table: Any, event: int | None, token: int) -> None:
        """Hands the command buffer to the launcher (ph_submit: a launch program runs now on
        an idle queue, else the submit thread runs the job); with ``event`` (the
        submission's last command buffer), also the submission's completion ``token``.
        (CudaDevice.execute submits ``job`` itself where there is one.)

        The caller holds the device's submit lock.  Raises the error of a graph build.
        """
        graph = self.graph
        if graph is None and self.submitted and self.runs_anything and self.graphable:
            graph = self.graph = graphs.build(device, self.commands())
            self._set_job(graph)
        self.submitted = True
        if graph is not None:
            kind, target, count = JOB_GRAPH, graph.native_ptr, graph.slot_count
        else:
            kind, target, count = JOB_STREAM, self.program_ptr, self.slot_count
        slots = None
        if count:
            slots = (SlotRange * count)(
                *[(e.alloc.ptr + e.offset, e.length) for e in table[:count]]
            )
        if device.lib.ph_submit(device.native_ptr, kind, target, slots, count, event, token):
            raise ResourceExhaustedError("out of host memory queueing a submission")


def encode(device: CudaDevice, stream: Any, mode: Any = None) -> Encoded:
    """Encodes a flattened stream; builds its graph now where it needs one."""
    one_shot = mode is not None and bool(CommandBufferMode(mode) & CommandBufferMode.ONE_SHOT)
    return Encoded(device, stream, mode is not None and not one_shot, one_shot)


class TracedProgram:
    """A stream as a launch program on stream 0 alone, cut into pieces at each dispatch,
    so that a traced submission can record a CUDA event before and after every dispatch
    (device.py, CudaDevice._execute_traced).

    ``pieces`` = [(Program, dispatch)], ``dispatch`` None for a piece of other commands,
    else (its index among the stream's dispatches, entry point name, workgroup count).
    Indirect dispatches are not in a launch program: a stream with one runs as its graph,
    untimed.
    """

    __slots__ = ("lib", "native", "pieces", "slot_count", "collectives")

    def __init__(self, lib: Any, stream: Any):
        self.lib = lib
        self.native = _launch_program(lib, stream, 1)
        self.collectives = _collectives(self.native, stream)[0]
        program = self.native.program
        self.slot_count = self.native.slot_count
        records, objects = stream.raw()[0], stream.objects
        # (dispatch index, name, counts) of each dispatch record, by stream record index;
        # the index counts indirect dispatches too, as the other drivers' traces do.
        dispatches: dict[int, tuple] = {}
        for index, f in enumerate(W.RECORD.iter_unpack(records)):
            if f[W.F_OP] == W.OP_DISPATCH:
                name = objects[f[W.F_OBJECT]].entry_points[f[W.F_ENTRY]].name
                dispatches[index] = (len(dispatches), name, f[W.F_WG_COUNT])
        cmds, count = program.cmds or 0, program.count
        launch = ctypes.string_at(cmds, count * CMD.size) if count else b""
        self.pieces: list[tuple[Program, tuple | None]] = []
        start = 0
        for i in range(count + 1):
            record = CMD.unpack_from(launch, i * CMD.size) if i < count else None
            is_dispatch = record is not None and record[0] == OP_DISPATCH
            if (is_dispatch or record is None) and i > start:
                self.pieces.append(
                    (
                        Program(
                            cmds + start * CMD.size, i - start, program.refs, program.constants
                        ),
                        None,
                    )
                )
            if is_dispatch:
                self.pieces.append(
                    (
                        Program(cmds + i * CMD.size, 1, program.refs, program.constants),
                        dispatches[record[3]],
                    )
                )
                start = i + 1

    def __del__(self) -> None:
        if sys.is_finalizing():  # interpreter exit: objects go in any order (a device
            return  # before its buffers); the process's end frees what is native
        native = getattr(self, "native", None)
        if native is not None:
            self.lib.ph_encoded_free(ctypes.byref(native))
