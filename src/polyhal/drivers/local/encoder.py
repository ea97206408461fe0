"""Encodes a command list into the native executor's flat arrays, once per command buffer.

Layout (must match native/executor.c): 128-byte ph_cmd_t records, 24-byte ph_ref_t
binding references, a uint32 push-constant pool and a byte pool of update payloads.
Direct buffer references become absolute addresses; slots stay slot numbers and are
resolved from the binding table at each execution.  Nested command buffers are inlined.
The program also records how much work it holds (workgroups, transfer bytes), which is
how the device tells short work, run on the caller's thread, from long work.
"""

from __future__ import annotations

import ctypes
import struct
from typing import Any

from ... import commands as C
from ...types import WHOLE_BUFFER
from .executor import Program

OP_DISPATCH, OP_FILL, OP_COPY, OP_UPDATE, OP_BARRIER = 1, 2, 3, 4, 5
AUX_INDIRECT = 1

CMD = struct.Struct("<IIQQ3I3IIIIIIIQqQQqQQ")
REF = struct.Struct("<qQQ")
assert CMD.size == 128 and REF.size == 24


class EncodedProgram:
    """The executor's program plus the buffers and executables whose addresses it holds.

    ``workgroups`` counts the workgroups of its direct dispatches, ``transfer_bytes`` the
    bytes its fills, copies and updates write where known when encoding; ``unbounded`` is
    True when the program holds work whose size only execution tells (indirect dispatches,
    whole-slot transfers).  ``padded`` holds the checked allocations with padding that its
    dispatches bind directly, whose canaries the device checks after each run.
    """

    __slots__ = ("program", "arrays", "executables", "has_slots", "count", "workgroups",
                 "transfer_bytes", "unbounded", "padded", "_dispatches")

    def __init__(self, cmds: bytearray, refs: bytearray, constants: bytearray, data: bytearray,
                 count: int, executables: list, has_slots: bool, workgroups: int = 0,
                 transfer_bytes: int = 0, unbounded: bool = False, padded: tuple = ()):
        arrays = [(ctypes.c_char * max(1, len(b))).from_buffer(b if b else bytearray(1))
                  for b in (cmds, refs, constants, data)]
        self.program = Program(ctypes.addressof(arrays[0]), count,
                               ctypes.addressof(arrays[1]), ctypes.addressof(arrays[2]),
                               ctypes.addressof(arrays[3]))
        self.arrays = arrays
        self.executables = executables
        self.has_slots = has_slots
        self.count = count
        self.workgroups = workgroups
        self.transfer_bytes = transfer_bytes
        self.unbounded = unbounded
        self.padded = padded
        self._dispatches: list | None = None

    def dispatches(self) -> list[tuple[int, str, tuple | None]]:
        """(record index, entry point name, workgroup count or None when indirect) of each
        dispatch record, in order: what a traced run reports.  Worked out at the first
        traced run, not when encoding, so that untraced programs never pay for it."""
        if self._dispatches is None:
            out = []
            for index in range(self.count):
                record = CMD.unpack_from(self.arrays[0], index * CMD.size)
                if record[0] == OP_DISPATCH:
                    counts = None if record[1] & AUX_INDIRECT else record[7:10]
                    out.append((index, self.entry_point_name(index), counts))
            self._dispatches = out
        return self._dispatches

    def operation(self, command: int) -> int:
        """The OP_* code of record ``command``."""
        return CMD.unpack_from(self.arrays[0], command * CMD.size)[0]

    def bindings(self, command: int, table: Any) -> list[tuple[int, int]]:
        """(address, length) of each binding of dispatch record ``command``, in binding
        order, with slots resolved from ``table`` (what the kernel received)."""
        record = CMD.unpack_from(self.arrays[0], command * CMD.size)
        count, first = record[12], record[13]
        out = []
        for i in range(first, first + count):
            slot, offset, length = REF.unpack_from(self.arrays[1], i * REF.size)
            if slot < 0:
                out.append((offset, length))
                continue
            entry = table[slot]
            if length == WHOLE_BUFFER:
                length = entry.length - offset
            out.append((entry.alloc.ptr + entry.offset + offset, length))
        return out

    def entry_point_name(self, command: int) -> str:
        """The name of the entry point that dispatch record ``command`` calls."""
        fn = CMD.unpack_from(self.arrays[0], command * CMD.size)[2]
        for exe in self.executables:
            for i, f in enumerate(exe.native.functions):
                if f == fn:
                    return exe.entry_points[i].name
        return "?"


class _Encoder:
    def __init__(self) -> None:
        self.last_refs: Any = None  # (bindings tuple, table, index): reuse identical bindings
        self.last_constants: Any = None
        self.last_dispatch: Any = None  # (command, table, its packed record)
        self.cmds = bytearray()
        self.refs = bytearray()
        self.constants = bytearray()
        self.data = bytearray()
        self.count = 0
        self.has_slots = False
        self.executables: list = []  # kept alive while the program may call them
        self.workgroups = 0
        self.transfer_bytes = 0
        self.unbounded = False
        self.padded: dict[int, Any] = {}  # id → checked allocation with padding, bound directly

    def ref(self, r: C.Ref, table: Any) -> tuple[int, int, int]:
        if r.alloc is None and table is not None:
            alloc, offset, length = r.resolve(table)
            return -1, alloc.ptr + offset, length
        if r.alloc is None:
            self.has_slots = True
            return r.slot, r.offset, r.length
        return -1, r.alloc.ptr + r.offset, r.length

    def emit(self, op: int, aux: int = 0, fn: int = 0, env: int = 0,
             wg_size: tuple = (1, 1, 1), wg_count: tuple = (0, 0, 0), nconst: int = 0,
             const_index: int = 0, nbind: int = 0, bind_index: int = 0, local_mem: int = 0,
             pattern: int = 0, data_offset: int = 0, a: tuple = (0, 0, 0),
             b: tuple = (0, 0, 0)) -> None:
        self.cmds += CMD.pack(op, aux, fn, env, *wg_size, *wg_count, nconst, const_index, nbind,
                              bind_index, local_mem, pattern, data_offset, *a, *b)
        self.count += 1

    def count_bytes(self, target: C.Ref, table: Any) -> None:
        if target.length != WHOLE_BUFFER:
            self.transfer_bytes += target.length
        elif table is not None:
            self.transfer_bytes += target.resolve(table)[2]
        else:
            self.unbounded = True

    def encode(self, commands: list, table: Any) -> None:
        # Nested command buffers are walked with an explicit stack, not recursion: nesting
        # thousands deep must not exhaust Python's stack.
        stack = [(iter(commands), table)]
        while stack:
            items, table = stack[-1]
            for cmd in items:
                kind = type(cmd)
                if kind is C.Dispatch:
                    self.dispatch(cmd, table)
                elif kind is C.Fill:
                    self.count_bytes(cmd.target, table)
                    self.emit(OP_FILL, aux=cmd.pattern_length, pattern=cmd.pattern,
                              a=self.ref(cmd.target, table))
                elif kind is C.Copy:
                    self.count_bytes(cmd.target, table)
                    self.emit(OP_COPY, a=self.ref(cmd.target, table),
                              b=self.ref(cmd.source, table))
                elif kind is C.Update:
                    self.count_bytes(cmd.target, table)
                    offset = len(self.data)
                    self.data += cmd.data
                    self.emit(OP_UPDATE, data_offset=offset, a=self.ref(cmd.target, table))
                elif kind is C.Execute:
                    stack.append((iter(cmd.commands), cmd.binding_table
                                  if cmd.binding_table is not None else table))
                    break  # continue with the nested commands, then the rest of these
                elif kind in (C.Barrier, C.WaitEvents, C.SignalEvent, C.ResetEvent):
                    self.emit(OP_BARRIER)
                # Discard and debug groups need nothing on the CPU.
            else:
                stack.pop()

    def dispatch(self, cmd: C.Dispatch, table: Any) -> None:
        counts = cmd.workgroup_count
        if counts is None:
            self.unbounded = True
        else:
            self.workgroups += counts[0] * counts[1] * counts[2]
        last = self.last_dispatch
        if last is not None and last[0] is cmd and last[1] is table:
            self.cmds += last[2]  # the front end repeats identical dispatches as one object
            self.count += 1
            return
        start = len(self.cmds)
        self.encode_dispatch(cmd, table)
        self.last_dispatch = (cmd, table, bytes(self.cmds[start:]))

    def encode_dispatch(self, cmd: C.Dispatch, table: Any) -> None:
        exe = cmd.executable
        native = exe.native
        entry = exe.entry_points[cmd.entry_point]
        if not self.executables or self.executables[-1] is not exe:
            self.executables.append(exe)
        # Consecutive dispatches usually share their bindings and constants (the front end
        # hands out the same objects while push state is unchanged): store them once.
        bindings = cmd.bindings
        last = self.last_refs
        if last is not None and last[0] is bindings and last[1] is table:
            bind_index = last[2]
        else:
            bind_index = len(self.refs) // REF.size
            for r in bindings:
                self.refs += REF.pack(*self.ref(r, table))
                alloc = r.alloc if r.alloc is not None or table is None else r.resolve(table)[0]
                if alloc is not None and alloc.padding is not None:
                    self.padded[id(alloc)] = alloc
            self.last_refs = (bindings, table, bind_index)
        constants = cmd.constants
        last = self.last_constants
        if last is not None and last[0] is constants:
            const_index = last[1]
        else:
            const_index = len(self.constants) // 4
            self.constants += constants
            self.last_constants = (constants, const_index)
        if cmd.indirect is not None:
            aux, (cx, cy, cz), ind = AUX_INDIRECT, (0, 0, 0), self.ref(cmd.indirect, table)
        else:
            aux, (cx, cy, cz), ind = 0, cmd.workgroup_count, (0, 0, 0)
        wx, wy, wz = entry.workgroup_size
        self.cmds += CMD.pack(OP_DISPATCH, aux, native.functions[cmd.entry_point],
                              native.environment, wx, wy, wz, cx, cy, cz, len(constants) // 4,
                              const_index, len(bindings), bind_index,
                              native.local_memory[cmd.entry_point], 0, 0, *ind, 0, 0, 0)
        self.count += 1


def encode(commands: list) -> EncodedProgram:
    enc = _Encoder()
    enc.encode(commands, None)
    return EncodedProgram(enc.cmds, enc.refs, enc.constants, enc.data, enc.count,
                          enc.executables, enc.has_slots, enc.workgroups, enc.transfer_bytes,
                          enc.unbounded, tuple(enc.padded.values()))
