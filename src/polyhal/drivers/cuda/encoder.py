"""Command lists → what the launcher runs: a stream program, or a CUDA graph (graph.py).

A command buffer is packed once, at ``end()``, into a *stream program*: flat records
(``launcher.CMD``), buffer references (``launcher.REF``) and push constants, walked by
native/launcher.c at each submission with one driver call per command (cuLaunchKernel,
cuMemsetD8/D16/D32Async, cuMemcpyAsync; updates copy the bytes captured at record time).
Direct buffers are packed as device addresses; binding-table slots stay slot numbers and
are resolved by the launcher from each submission's table.

Dispatches between two barriers may run concurrently: a group holding two or more of
them is spread round-robin over the device's streams, forked from stream 0 by an event
before the group and joined back after it (a FORK record takes the place of the NOP the
encoder leaves at the start of every group).  A group of one command, and every command
of a ``serial`` device, stays on stream 0, which orders it for free.

Reusable command buffers run as a CUDA graph, built once: at ``end()`` when the front end
says the command buffer is reusable, else at its second submission (the first runs the
stream program).  Command buffers with an indirect dispatch are always graphs: reading the
workgroup counts on the device needs a device-updatable graph node (graph.py).
"""

from __future__ import annotations

import ctypes
import struct
from typing import TYPE_CHECKING, Any

from ... import commands as C
from ...errors import ResourceExhaustedError
from ...types import CommandBufferMode
from . import graph as graphs
from .launcher import (
    CMD,
    JOB_GRAPH,
    JOB_STREAM,
    OP_COPY,
    OP_DISPATCH,
    OP_FILL,
    OP_FORK,
    OP_JOIN,
    OP_NOP,
    OP_UPDATE,
    REF,
    Program,
    Slot,
)

if TYPE_CHECKING:
    from .device import CudaDevice

_NOP = CMD.pack(OP_NOP, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
_STREAM = struct.Struct("<I")  # the stream field of a record, at byte 4


class Packer:
    """Flat arrays of records, buffer references and push constants.

    References and constants shared by consecutive commands (the same pushed descriptor
    set, the same constants) are packed once and indexed by every record that uses them.
    """

    __slots__ = ("cmds", "refs", "constants", "count", "slot_count", "_refs", "_constants")

    def __init__(self) -> None:
        self.cmds = bytearray()
        self.refs = bytearray()
        self.constants = bytearray()
        self.count = 0
        self.slot_count = 0  # binding-table entries the references need
        self._refs: dict = {}
        self._constants: dict = {}

    def ref(self, r: C.Ref, table: Any) -> bytes:
        if r.alloc is not None:
            return REF.pack(-1, r.alloc.ptr + r.offset, r.length)
        if table is not None:
            alloc, offset, length = r.resolve(table)
            return REF.pack(-1, alloc.ptr + offset, length)
        if r.slot >= self.slot_count:
            self.slot_count = r.slot + 1
        return REF.pack(r.slot, r.offset, r.length)

    def refs_index(self, refs: tuple, table: Any) -> int:
        """Index of ``refs`` (packed consecutively) in the reference array."""
        key = (refs, id(table))
        index = self._refs.get(key)
        if index is None:
            index = len(self.refs) // REF.size
            self.refs += b"".join([self.ref(r, table) for r in refs])
            self._refs[key] = index
        return index

    def constants_index(self, data: bytes) -> int:
        """Index of ``data`` (32-bit values) in the constant array."""
        index = self._constants.get(data)
        if index is None:
            index = len(self.constants) // 4
            self.constants += data
            self._constants[data] = index
        return index

    def emit(self, op: int, handle: int = 0, node: int = 0, grid: tuple = (0, 0, 0),
             block: tuple = (0, 0, 0), shared: int = 0, refs: tuple = (), table: Any = None,
             constants: bytes = b"", pattern: int = 0, pattern_length: int = 0,
             flags: int = 0) -> int:
        """Appends a record; returns its index."""
        self.cmds += CMD.pack(op, 0, handle, node, *grid, *block, shared, len(refs),
                              self.refs_index(refs, table), len(constants) // 4,
                              self.constants_index(constants), pattern, pattern_length,
                              flags)
        self.count += 1
        return self.count - 1

    def program(self) -> tuple[Program, list]:
        """The launcher's view of the arrays, and the ctypes objects that keep it valid."""
        arrays = [(ctypes.c_char * max(1, len(b))).from_buffer(b if b else bytearray(1))
                  for b in (self.cmds, self.refs, self.constants)]
        program = Program(ctypes.addressof(arrays[0]), self.count, ctypes.addressof(arrays[1]),
                          ctypes.addressof(arrays[2]))
        return program, arrays


class Encoded:
    """One recorded command buffer, as the device runs it."""

    __slots__ = ("commands", "program", "program_ptr", "keepalive", "slot_count",
                 "needs_graph", "reusable", "graph", "submitted", "_traced")

    def __init__(self, commands: list, program: Program, keepalive: list, slot_count: int,
                 needs_graph: bool, reusable: bool):
        self.commands = commands
        self.program = program
        self.program_ptr = ctypes.addressof(program)
        self.keepalive = keepalive
        self.slot_count = slot_count
        self.needs_graph = needs_graph
        self.reusable = reusable
        self.graph: graphs.CudaGraph | None = None
        self.submitted = False
        self._traced: TracedProgram | None = None

    def traced(self) -> TracedProgram:
        """What a traced submission runs instead (made at the first one, kept)."""
        if self._traced is None:
            self._traced = TracedProgram(self.commands)
        return self._traced

    def submit(self, device: CudaDevice, table: Any, event: int | None, token: int) -> None:
        """Queues the command buffer for the device's submit thread; with ``event`` (the
        submission's last command buffer), also the submission's completion ``token``.

        The caller holds the device's submit lock.  Raises the error of a graph build.
        """
        graph = self.graph
        if graph is None and self.submitted and self.commands:
            graph = self.graph = graphs.build(device, self.commands)
        self.submitted = True
        if graph is not None:
            kind, target, count = JOB_GRAPH, graph.native_ptr, graph.slot_count
        else:
            kind, target, count = JOB_STREAM, self.program_ptr, self.slot_count
        slots = None
        if count:
            slots = (Slot * count)(*[(e.alloc.ptr + e.offset, e.length) for e in table[:count]])
        if device.lib.ph_submit(device.native_ptr, kind, target, slots, count, event, token):
            raise ResourceExhaustedError("out of host memory queueing a submission")


def encode(device: CudaDevice, commands: list, mode: Any = None) -> Encoded:
    """Packs a validated command list; builds its graph now where it needs one."""
    encoder = StreamEncoder(1 if device.serial else len(device.streams))
    encoder.encode(commands, None)
    encoder.barrier()
    program, keepalive = encoder.packer.program()
    keepalive.append(encoder.payloads)
    reusable = mode is not None and not CommandBufferMode(mode) & CommandBufferMode.ONE_SHOT
    encoded = Encoded(commands, program, keepalive, encoder.packer.slot_count,
                      encoder.needs_graph, reusable)
    if (encoder.needs_graph or reusable) and commands:
        encoded.graph = graphs.build(device, commands)
    return encoded


class TracedProgram:
    """A command list as a stream program on stream 0 alone, cut into pieces at each
    dispatch, so that a traced submission can record a CUDA event before and after every
    dispatch (device.py, CudaDevice._execute_traced).

    ``pieces`` = [(Program, dispatch)], ``dispatch`` None for a piece of other commands,
    else (its index among the command list's dispatches, entry point name, workgroup
    count).  Indirect dispatches are not in a stream program: a command list with one
    runs as its graph, untimed.
    """

    __slots__ = ("pieces", "keepalive", "slot_count")

    def __init__(self, commands: list):
        encoder = StreamEncoder(1)
        encoder.encode(commands, None)
        encoder.barrier()
        packer = encoder.packer
        _, arrays = packer.program()
        self.keepalive = [arrays, encoder.payloads]
        self.slot_count = packer.slot_count
        cmds, refs, constants = (ctypes.addressof(a) for a in arrays)
        # The stream encoder packs a record for exactly these dispatches, in this order.
        dispatches = iter([d for d in _dispatches(commands, []) if all(d[2])])
        self.pieces: list[tuple[Program, tuple | None]] = []
        start = 0
        for i in range(packer.count + 1):
            is_dispatch = i < packer.count and CMD.unpack_from(
                packer.cmds, i * CMD.size)[0] == OP_DISPATCH
            if (is_dispatch or i == packer.count) and i > start:
                self.pieces.append((Program(cmds + start * CMD.size, i - start, refs,
                                            constants), None))
            if is_dispatch:
                self.pieces.append((Program(cmds + i * CMD.size, 1, refs, constants),
                                    next(dispatches)))
                start = i + 1


def _dispatches(commands: list, out: list) -> list:
    """(index, entry point name, workgroup count) of every direct dispatch of
    ``commands`` in order, nested command lists inlined; the index counts indirect
    dispatches too, as the other drivers' traces do."""
    for cmd in commands:
        kind = type(cmd)
        if kind is C.Dispatch:
            if cmd.indirect is None:
                out.append((len(out), cmd.executable.entry_points[cmd.entry_point].name,
                            tuple(cmd.workgroup_count)))
            else:
                out.append((len(out), None, (0, 0, 0)))
        elif kind is C.Execute:
            _dispatches(cmd.commands, out)
    return out


class StreamEncoder:
    """Packs a command list into a stream program."""

    def __init__(self, streams: int):
        self.packer = Packer()
        self.streams = streams
        self.payloads: list[bytes] = []  # update bytes the program points into
        self.needs_graph = False
        self.group: list[int] = []  # record indices of the current group
        self.group_start = 0  # index of the NOP record that opens the group
        self.group_dispatches = 0

    def encode(self, commands: list, table: Any) -> None:
        p = self.packer
        # The record of the last dispatch, reused as is while the same kernel is dispatched
        # with the same counts, bindings and constants (the front end hands the same objects).
        last: tuple = (None, None, None, None, None)
        record = b""
        for cmd in commands:
            kind = type(cmd)
            if kind is C.Dispatch:
                if cmd.indirect is not None:
                    self.needs_graph = True
                    continue
                exe, entry, counts, bindings, constants = last
                if not (cmd.bindings is bindings and cmd.constants is constants
                        and cmd.executable is exe and cmd.entry_point == entry
                        and cmd.workgroup_count == counts):
                    record = self.dispatch_record(cmd, table)
                    last = (cmd.executable, cmd.entry_point, cmd.workgroup_count, cmd.bindings,
                            cmd.constants)
                if not record:  # no workgroups: nothing to run
                    continue
                if not self.group:
                    self.group_start = p.count
                    p.cmds += _NOP
                    p.count += 1
                self.group.append(p.count)
                p.cmds += record
                p.count += 1
                self.group_dispatches += 1
            elif kind is C.Fill:
                self.open()
                p.emit(OP_FILL, refs=(cmd.target,), table=table, pattern=cmd.pattern,
                       pattern_length=cmd.pattern_length)
            elif kind is C.Copy:
                self.open()
                p.emit(OP_COPY, refs=(cmd.source, cmd.target), table=table)
            elif kind is C.Update:
                self.open()
                self.payloads.append(cmd.data)
                address = ctypes.cast(ctypes.c_char_p(cmd.data), ctypes.c_void_p).value or 0
                p.emit(OP_UPDATE, handle=address, refs=(cmd.target,), table=table)
            elif kind is C.Barrier or kind is C.WaitEvents:
                self.barrier()
            elif kind is C.Execute:
                self.barrier()
                self.encode(cmd.commands, cmd.binding_table if cmd.binding_table is not None
                            else table)
                self.barrier()
            # Signal/reset event: the queue's stream already orders everything after them;
            # discard and debug groups change nothing on the device.

    def dispatch_record(self, cmd: C.Dispatch, table: Any) -> bytes:
        """The packed record of a direct dispatch; b"" when it has no workgroups."""
        gx, gy, gz = cmd.workgroup_count
        if not (gx and gy and gz):
            return b""
        p = self.packer
        fn, bx, by, bz, shared = cmd.executable.native.launch[cmd.entry_point]
        return CMD.pack(OP_DISPATCH, 0, fn, 0, gx, gy, gz, bx, by, bz, shared,
                        len(cmd.bindings), p.refs_index(cmd.bindings, table),
                        len(cmd.constants) >> 2, p.constants_index(cmd.constants), 0, 0, 0)

    def open(self) -> None:
        """Registers the record about to be appended as a member of the current group."""
        p = self.packer
        if not self.group:
            self.group_start = p.count
            p.cmds += _NOP
            p.count += 1
        self.group.append(p.count)

    def barrier(self) -> None:
        """Closes the current group, spreading it over streams when it pays."""
        p = self.packer
        members = self.group
        if self.group_dispatches >= 2 and self.streams > 1:
            n = min(len(members), self.streams)
            CMD.pack_into(p.cmds, self.group_start * CMD.size, OP_FORK, 0, 0, 0, n, p.count, 0,
                          0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
            for i, index in enumerate(members):
                _STREAM.pack_into(p.cmds, index * CMD.size + 4, i % n)
            p.cmds += CMD.pack(OP_JOIN, 0, 0, 0, n, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
            p.count += 1
        self.group = []
        self.group_dispatches = 0
