"""The CUDA launcher's encoder (ph_encode, native/launcher.c) reads the front end's command
stream in C.  It needs no GPU: the stream of a ``local`` command buffer has the same
records (the kernel words differ, which the encoder copies without reading), so these tests
run everywhere and check the launch program it makes field by field.
"""

from __future__ import annotations

import ctypes
import struct

import pytest

import polyhal as hal
from polyhal import _walker as W
from polyhal._walker import StreamProgram
from polyhal.drivers.cuda import launcher

SOURCE = r"""
#include "polyhal.h"
POLYHAL_ENTRY(noop) { return 0; }
"""
LAYOUT = hal.PipelineLayout([hal.DescriptorSetLayout([0])], push_constants=1)


@pytest.fixture(scope="module")
def device():
    with hal.create_device("local") as d:
        yield d


@pytest.fixture(scope="module")
def exe(device):
    return device.create_executable(
        hal.ExecutableSource(
            [hal.EntryPoint("noop", LAYOUT, (4, 2, 1), local_memory_size=128)], {"c": SOURCE}
        )
    )


def encode(stream, streams):
    """(launch records as CMD tuples, refs as REF tuples, slot_count, needs_graph,
    constants pointer) of ph_encode's program; the program is freed before returning."""
    lib = launcher.library()
    native = launcher.Encoded()
    assert (
        lib.ph_encode(ctypes.byref(StreamProgram(*stream.program())), streams, ctypes.byref(native))
        == 0
    )
    try:
        p = native.program
        cmds = [
            launcher.CMD.unpack(ctypes.string_at(p.cmds + i * launcher.CMD.size, launcher.CMD.size))
            for i in range(p.count)
        ]
        nrefs = 1 + max([c[12] + c[11] for c in cmds] or [0])
        refs = [
            launcher.REF.unpack(ctypes.string_at(p.refs + i * launcher.REF.size, launcher.REF.size))
            for i in range(nrefs - 1)
        ]
        return cmds, refs, native.slot_count, native.needs_graph, p.constants
    finally:
        lib.ph_encoded_free(ctypes.byref(native))


def ended(device, record, mode=hal.CommandBufferMode.ONE_SHOT, capacity=0):
    cb = device.create_command_buffer(mode, binding_capacity=capacity)
    with cb:
        record(cb)
    return cb, cb.flatten()


def test_a_group_of_dispatches_is_forked_over_streams_with_fresh_state(device, exe):
    bufs = [device.allocate_buffer(256) for _ in range(4)]

    def record(cb):
        for i in range(5):
            cb.dispatch(
                exe, 0, (i + 1, 1, 1), constants=[100 + i], bindings=[(0, bufs[i % 4], 16 * i, 16)]
            )
        cb.execution_barrier()
        cb.dispatch(exe, 0, 1, constants=[7], bindings=[(0, bufs[0])])

    cb, stream = ended(device, record)
    cmds, refs, slots, needs_graph, constants = encode(stream, 3)
    ops = [c[0] for c in cmds]
    assert ops == [launcher.OP_FORK] + [launcher.OP_DISPATCH] * 5 + [
        launcher.OP_JOIN,
        launcher.OP_NOP,
        launcher.OP_DISPATCH,
    ]
    assert cmds[0][4:6] == (3, 6)  # three streams; the JOIN is record 6
    assert cmds[6][4] == 3
    assert [c[1] for c in cmds[1:6]] == [0, 1, 2, 0, 1]
    assert cmds[8][1] == 0
    source = list(W.RECORD.iter_unpack(stream.raw()[0]))
    values = ctypes.cast(constants, ctypes.POINTER(ctypes.c_uint32))
    for i, c in enumerate(cmds[1:6]):
        record_index = c[3]
        assert c[2] == source[record_index][W.F_FN]  # the kernel word, as recorded
        assert c[4:7] == (i + 1, 1, 1) and c[7:10] == (4, 2, 1)
        assert c[10] == source[record_index][W.F_LOCAL_MEMORY]
        assert c[11] == 1 and values[c[14]] == 100 + i and c[13] == 1
        slot, base, offset, length, _, _ = refs[c[12]]
        assert (slot, base + offset, length) == (-1, bufs[i % 4].alloc.ptr + 16 * i, 16)
    assert (slots, needs_graph) == (0, 0)
    assert encode(stream, 1)[0][0][0] == launcher.OP_NOP  # one stream: nothing forked


def test_repeated_state_shares_references_and_empty_dispatches_are_dropped(device, exe):
    buf = device.allocate_buffer(64)

    def record(cb):
        cb.push_descriptor_set(LAYOUT, 0, [(0, buf)])
        cb.push_constants(LAYOUT, 0, [3])
        cb.dispatch(exe, 0, 1)
        cb.execution_barrier()
        cb.dispatch(exe, 0, (0, 1, 1))  # no workgroups: nothing to launch
        cb.execution_barrier()
        cb.dispatch(exe, 0, 2)

    cmds, refs, *_ = encode(ended(device, record)[1], 8)
    dispatches = [c for c in cmds if c[0] == launcher.OP_DISPATCH]
    assert len(dispatches) == 2 and dispatches[0][12] == dispatches[1][12]
    assert len(refs) == 1


def test_transfers_keep_their_references_and_update_bytes(device, exe):
    a, b = device.allocate_buffer(64), device.allocate_buffer(64)
    payload = bytes(range(12))

    def record(cb):
        cb.fill_buffer(a, 4, 8, 0xAB, 1)
        cb.copy_buffer(a, 16, b, 16, 24)
        cb.update_buffer(payload, 0, b, 48, 12)
        cb.execution_barrier()

    cb, stream = ended(device, record)  # the update record points into the stream's bytes
    cmds, refs, *_ = encode(stream, 8)
    assert [c[0] for c in cmds] == [
        launcher.OP_NOP,
        launcher.OP_FILL,
        launcher.OP_COPY,
        launcher.OP_UPDATE,
    ]  # no dispatch: nothing to fork
    fill, copy, update = cmds[1:]
    assert fill[15:17] == (0xAB, 1)
    target = refs[fill[12]]
    assert (target[1] + target[2], target[3]) == (a.alloc.ptr + 4, 8)
    source, dest = refs[copy[12]], refs[copy[12] + 1]  # source first, as the launcher reads
    assert (source[1] + source[2], dest[1] + dest[2], dest[3]) == (
        a.alloc.ptr + 16,
        b.alloc.ptr + 16,
        24,
    )
    assert ctypes.string_at(update[2], 12) == payload


def test_slots_and_indirect_dispatches(device, exe):
    counts = device.allocate_buffer(12)

    def record(cb):
        cb.dispatch(exe, 0, 1, constants=[1], bindings=[(0, hal.Slot(2), 8, 4)])
        cb.dispatch_indirect(exe, 0, counts, 0, constants=[1], bindings=[(0, hal.Slot(0))])

    _, stream = ended(device, record, hal.CommandBufferMode.DEFAULT, capacity=3)
    cmds, refs, slots, needs_graph, _ = encode(stream, 8)
    assert [c[0] for c in cmds] == [launcher.OP_NOP, launcher.OP_DISPATCH]
    assert refs[cmds[1][12]][0:1] == (2,) and refs[cmds[1][12]][2:4] == (8, 4)
    assert (slots, needs_graph) == (3, 1)


def test_an_empty_stream_encodes_to_nothing(device):
    cmds, refs, slots, needs_graph, _ = encode(ended(device, lambda cb: None)[1], 8)
    assert (cmds, refs, slots, needs_graph) == ([], [], 0, 0)


def test_record_layout_matches_the_walker():
    assert struct.calcsize("<qQQQII") == W.REF.size == launcher.REF.size
