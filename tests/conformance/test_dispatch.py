"""dispatch and dispatch_indirect: kernels, push constants, bindings, push-state semantics."""

from __future__ import annotations

import numpy as np
import pytest

import polyhal as hal

from . import kernels as K
from .support import (
    INDIRECT_USAGE,
    Binder,
    allocate,
    f32,
    i32,
    read_f32,
    read_i32,
    read_u32,
    u32,
    upload,
    wait,
)

SENTINEL = 0xCDCDCDCD


# -- direct dispatches ----------------------------------------------------------------------


@pytest.mark.parametrize("style", ["shorthand", "push", "tuples"])
def test_abs(binder, kernels, style):
    exe = kernels("abs")
    input_buffer = upload(binder.device, f32(-2.5, -2.5, -2.5, -2.5))
    output_buffer = upload(binder.device, f32(-9.0, -9.0, -9.0, -9.0))
    source, target = binder.refs(input_buffer, output_buffer)
    bindings = [hal.Binding(0, source, 4, 8), hal.Binding(1, target, 4, 8)]
    if style == "tuples":
        bindings = [(0, source, 4, 8), (1, target, 4, 8)]

    def record(cb):
        if style == "push":
            cb.push_descriptor_set(K.layout("abs"), 0, bindings)
            cb.dispatch(exe, "abs_f32", 2)
        else:
            cb.dispatch(exe, "abs_f32", 2, bindings=bindings)

    binder.record_and_run(record)
    assert read_f32(output_buffer) == [-9.0, 2.5, 2.5, -9.0]


@pytest.mark.parametrize(
    "style", ["shorthand-list", "push-ints", "push-bytes", "push-numpy", "push-in-two-parts"]
)
def test_write_constants(binder, kernels, style):
    exe = kernels("write_constants")
    layout = K.layout("write_constants")
    output_buffer = allocate(binder.device, 16)
    target = binder.ref(output_buffer)
    values = [11, 22, 33, 44]

    def record(cb):
        if style == "shorthand-list":
            cb.dispatch(exe, 0, 1, constants=values, bindings=[(0, target)])
            return
        if style == "push-ints":
            cb.push_constants(layout, 0, values)
        elif style == "push-bytes":
            cb.push_constants(layout, 0, u32(*values))
        elif style == "push-numpy":
            cb.push_constants(layout, 0, np.array(values, dtype=np.uint32))
        else:
            cb.push_constants(layout, 0, values[:2])
            cb.push_constants(layout, 8, values[2:])
        cb.push_descriptor_set(layout, 0, [(0, target)])
        cb.dispatch(exe, 0, 1)

    binder.record_and_run(record)
    assert read_u32(output_buffer) == values


def test_push_constants_persist_across_dispatches(binder, kernels):
    """Constants pushed once hold for every later dispatch of the command buffer."""
    exe = kernels("write_constants")
    layout = K.layout("write_constants")
    first, second = allocate(binder.device, 16), allocate(binder.device, 16)
    a, b = binder.refs(first, second)

    def record(cb):
        cb.push_constants(layout, 0, [5, 6, 7, 8])
        cb.push_descriptor_set(layout, 0, [(0, a)])
        cb.dispatch(exe, 0, 1)
        cb.push_constants(layout, 4, [60])
        cb.push_descriptor_set(layout, 0, [(0, b)])
        cb.dispatch(exe, 0, 1)

    binder.record_and_run(record)
    assert read_u32(first) == [5, 6, 7, 8]
    assert read_u32(second) == [5, 60, 7, 8]


def test_scale_and_offset(binder, kernels):
    exe = kernels("scale_and_offset")
    input_buffer = upload(binder.device, i32(1, 2, 3, 4))
    output_buffer = allocate(binder.device, 16)
    source, target = binder.refs(input_buffer, output_buffer)
    binder.record_and_run(
        lambda cb: cb.dispatch(
            exe, "scale_and_offset", 4, constants=[3, 10], bindings=[(0, source), (1, target)]
        )
    )
    assert read_i32(output_buffer) == [13, 16, 19, 22]


def test_two_entry_points_with_barrier(binder, kernels):
    """negate reads ``data`` into ``mid``; behind a barrier double_values doubles ``data``
    in place.  Without the barrier the write could race the read."""
    exe = kernels("negate_double")
    data_buffer = upload(binder.device, i32(1, 2, 3, 4))
    mid_buffer = allocate(binder.device, 16)
    data, mid = binder.refs(data_buffer, mid_buffer)

    def record(cb):
        cb.dispatch(exe, "negate", 4, bindings=[(0, data), (1, mid)])
        cb.execution_barrier()
        cb.dispatch(exe, exe.lookup("double_values"), 4, bindings=[(0, data), (1, data)])

    binder.record_and_run(record)
    assert read_i32(mid_buffer) == [-1, -2, -3, -4]
    assert read_i32(data_buffer) == [2, 4, 6, 8]


def test_entry_point_lookup(kernels):
    exe = kernels("negate_double")
    assert [e.name for e in exe.entry_points] == ["negate", "double_values"]
    assert exe.lookup("negate") == 0
    assert exe.lookup("double_values") == 1
    with pytest.raises(hal.NotFoundError):
        exe.lookup("triple")


@pytest.mark.parametrize(
    "count", [32, (32, 1, 1), (4, 4, 2), (2, 2, 8)], ids=["int", "x", "xyz", "deep-z"]
)
def test_write_workgroup_ids(binder, kernels, count):
    exe = kernels("workgroup_ids")
    output_buffer = allocate(binder.device, 32 * 4, fill=0xCD)
    target = binder.ref(output_buffer)
    binder.record_and_run(lambda cb: cb.dispatch(exe, 0, count, bindings=[(0, target)]))
    assert read_u32(output_buffer) == list(range(32))


def test_1024_workgroups(binder, kernels):
    exe = kernels("workgroup_ids")
    output_buffer = allocate(binder.device, 1024 * 4, fill=0xCD)
    target = binder.ref(output_buffer)
    binder.record_and_run(lambda cb: cb.dispatch(exe, 0, 1024, bindings=[(0, target)]))
    assert read_u32(output_buffer) == list(range(1024))


def test_64_workgroups_resubmitted(binder, kernels):
    """One reusable recording run 3 times, each time into a new output (slot mode) or
    into the same output reset by the host (direct mode)."""
    exe = kernels("workgroup_ids")
    first = allocate(binder.device, 64 * 4, fill=0xCD)
    target = binder.ref(first)
    cb = binder.command_buffer(reusable=True)
    with cb:
        cb.dispatch(exe, 0, 64, bindings=[(0, target)])
    for _ in range(3):
        output = allocate(binder.device, 64 * 4, fill=0xCD) if binder.uses_slots else first
        output.write(b"\xcd" * output.size)
        binder.run(cb, replace=[(first, output)])
        assert read_u32(output) == list(range(64))


# -- indirect dispatches ---------------------------------------------------------------------


def indirect_ids(binder):
    """An output of 32 sentinels and a workgroups buffer that says (32, 1, 1) at record."""
    output = upload(binder.device, u32(*[SENTINEL] * 32))
    workgroups = upload(binder.device, u32(32, 1, 1), usage=INDIRECT_USAGE)
    return output, workgroups


def expect_ids(output: hal.Buffer, count: int) -> None:
    assert read_u32(output) == list(range(count)) + [SENTINEL] * (32 - count)


def test_indirect_counts_from_queue_update(binder, kernels):
    """The counts are read when the dispatch runs, after a queue_update rewrote them."""
    exe = kernels("workgroup_ids")
    output, workgroups = indirect_ids(binder)
    target, counts = binder.refs(output, workgroups)
    cb = binder.command_buffer()
    with cb:
        cb.dispatch_indirect(exe, 0, counts, bindings=[(0, target)])
    updated = binder.device.create_semaphore(0)
    done = binder.device.create_semaphore(0)
    binder.device.queue_update(u32(4, 1, 1), 0, workgroups, 0, 12, signal=[(updated, 1)])
    binder.submit(cb, wait=[(updated, 1)], signal=[(done, 1)])
    wait(done, 1)
    expect_ids(output, 4)


def test_indirect_counts_from_update_buffer(binder, kernels):
    exe = kernels("workgroup_ids")
    output, workgroups = indirect_ids(binder)
    target, counts = binder.refs(output, workgroups)

    def record(cb):
        cb.update_buffer(u32(4, 1, 1), 0, counts, 0, 12)
        cb.execution_barrier()
        cb.dispatch_indirect(exe, 0, counts, bindings=[(0, target)])

    binder.record_and_run(record)
    expect_ids(output, 4)


def test_indirect_counts_from_fill_buffer(binder, kernels):
    exe = kernels("workgroup_ids")
    output, workgroups = indirect_ids(binder)
    target, counts = binder.refs(output, workgroups)

    def record(cb):
        cb.fill_buffer(counts, 0, 12, 1, 4)
        cb.execution_barrier()
        cb.dispatch_indirect(exe, 0, counts, bindings=[(0, target)])

    binder.record_and_run(record)
    expect_ids(output, 1)


def test_indirect_counts_from_producer_dispatch(binder, kernels):
    producer = kernels("indirect_producer")
    exe = kernels("workgroup_ids")
    output, workgroups = indirect_ids(binder)
    target, counts = binder.refs(output, workgroups)

    def record(cb):
        cb.dispatch(producer, "write_indirect_counts", 1, bindings=[(0, counts)])
        cb.execution_barrier(
            source_stage=hal.ExecutionStage.DISPATCH,
            target_stage=hal.ExecutionStage.DISPATCH | hal.ExecutionStage.COMMAND_ISSUE,
            memory_barriers=[
                hal.MemoryBarrier(
                    hal.AccessScope.DISPATCH_WRITE, hal.AccessScope.INDIRECT_COMMAND_READ
                )
            ],
        )
        cb.dispatch_indirect(exe, 0, counts, bindings=[(0, target)])

    binder.record_and_run(record)
    expect_ids(output, 4)


@pytest.mark.parametrize("how", ["subspan", "offset"])
def test_indirect_counts_at_byte_16(binder, kernels, how):
    """The counts at byte 16 of [2,1,1,0,4,1,1] are (4,1,1): a subspan's offset must be
    added (a regression of IREE's Metal driver), as must workgroups_offset."""
    exe = kernels("workgroup_ids")
    output = upload(binder.device, u32(*[SENTINEL] * 32))
    root = upload(binder.device, u32(2, 1, 1, 0, 4, 1, 1), usage=INDIRECT_USAGE)
    workgroups, offset = (root.subspan(16, 12), 0) if how == "subspan" else (root, 16)
    target, counts = binder.refs(output, workgroups)
    binder.record_and_run(
        lambda cb: cb.dispatch_indirect(exe, 0, counts, offset, bindings=[(0, target)])
    )
    expect_ids(output, 4)


def test_indirect_unaligned_offset(binder, kernels):
    exe = kernels("workgroup_ids")
    output = upload(binder.device, u32(*[SENTINEL] * 32))
    workgroups = upload(binder.device, u32(0, 4, 1, 1, 0), usage=INDIRECT_USAGE)
    target, counts = binder.refs(output, workgroups)
    binder.expect_rejected(
        hal.InvalidArgumentError,
        lambda cb: cb.dispatch_indirect(exe, 0, counts, 2, bindings=[(0, target)]),
    )


def test_indirect_counts_past_end(binder, kernels):
    exe = kernels("workgroup_ids")
    output, workgroups = indirect_ids(binder)
    target, counts = binder.refs(output, workgroups)
    binder.expect_rejected(
        hal.OutOfRangeError,
        lambda cb: cb.dispatch_indirect(exe, 0, counts, 4, bindings=[(0, target)]),
        at_record=False,
    )


# -- pipelines of reusable command buffers -------------------------------------------------


def test_reusable_update_then_dispatch(binder, kernels):
    exe = kernels("scale_and_offset")
    input_buffer = allocate(binder.device, 16)
    output_buffer = allocate(binder.device, 16)
    source, target = binder.refs(input_buffer, output_buffer)
    cb = binder.command_buffer(reusable=True)
    with cb:
        cb.update_buffer(i32(1, 2, 3, 4), 0, source, 0, 16)
        cb.execution_barrier()
        cb.dispatch(exe, 0, 4, constants=[3, 10], bindings=[(0, source), (1, target)])
    for _ in range(2):
        input_buffer.write(bytes(16))
        output_buffer.write(bytes(16))
        binder.run(cb)
        assert read_i32(input_buffer) == [1, 2, 3, 4]
        assert read_i32(output_buffer) == [13, 16, 19, 22]


def test_reusable_chained_dispatches(binder, kernels):
    exe = kernels("negate_double")
    input_buffer = upload(binder.device, i32(1, 2, 3, 4))
    mid_buffer = allocate(binder.device, 16)
    output_buffer = allocate(binder.device, 16)
    source, mid, target = binder.refs(input_buffer, mid_buffer, output_buffer)
    cb = binder.command_buffer(reusable=True)
    with cb:
        cb.dispatch(exe, "negate", 4, bindings=[(0, source), (1, mid)])
        cb.execution_barrier()
        cb.dispatch(exe, "double_values", 4, bindings=[(0, mid), (1, target)])
    for _ in range(2):
        mid_buffer.write(bytes(16))
        output_buffer.write(bytes(16))
        binder.run(cb)
        assert read_i32(mid_buffer) == [-1, -2, -3, -4]
        assert read_i32(output_buffer) == [-2, -4, -6, -8]


def test_one_recording_three_binding_tables(binder, kernels):
    """Slot mode: three submissions, each with its own input and output in the table.
    Direct mode: the same reusable recording run three times on rewritten input."""
    exe = kernels("scale_and_offset")
    first_in, first_out = allocate(binder.device, 16), allocate(binder.device, 16)
    source, target = binder.refs(first_in, first_out)
    cb = binder.command_buffer(reusable=True)
    with cb:
        cb.dispatch(exe, 0, 4, constants=[3, 10], bindings=[(0, source), (1, target)])
    device = binder.device
    runs = []
    for k in range(3):
        values = [k * 10 + v for v in (1, 2, 3, 4)]
        if binder.uses_slots:
            pair = (upload(device, i32(*values)), allocate(device, 16))
        else:
            first_in.write(i32(*values))
            pair = (first_in, first_out)
        binder.run(cb, replace=[(first_in, pair[0]), (first_out, pair[1])])
        assert read_i32(pair[1]) == [v * 3 + 10 for v in values]
        runs.append(pair)
    if binder.uses_slots:
        for k, (_, out) in enumerate(runs):
            assert read_i32(out) == [(k * 10 + v) * 3 + 10 for v in (1, 2, 3, 4)]


def test_concurrent_submissions_of_one_recording(device, kernels):
    """A reusable command buffer may be pending several times at once, each submission
    with its own binding table."""
    exe = kernels("scale_and_offset")
    binder = Binder(device, "slot")
    first_in, first_out = allocate(device, 16), allocate(device, 16)
    source, target = binder.refs(first_in, first_out)
    cb = binder.command_buffer()
    with cb:
        cb.dispatch(exe, 0, 4, constants=[3, 10], bindings=[(0, source), (1, target)])
    gate = device.create_semaphore(0)
    pairs = [(upload(device, i32(k, k, k, k)), allocate(device, 16)) for k in range(3)]
    done = [device.create_semaphore(0) for _ in pairs]
    for (src, dst), sem in zip(pairs, done, strict=True):
        binder.submit(
            cb, wait=[(gate, 1)], signal=[(sem, 1)], replace=[(first_in, src), (first_out, dst)]
        )
    gate.signal(1)
    for k, ((_, dst), sem) in enumerate(zip(pairs, done, strict=True)):
        wait(sem, 1)
        assert read_i32(dst) == [k * 3 + 10] * 4


# -- push-state semantics ------------------------------------------------------------------


def two_sets_buffers(binder):
    source_buffer = upload(binder.device, u32(7, 8, 9, 10))
    target_buffer = allocate(binder.device, 16)
    return (source_buffer, target_buffer, *binder.refs(source_buffer, target_buffer))


@pytest.mark.parametrize("order", [(0, 1), (1, 0, 1)], ids=["0-1", "1-0-1"])
def test_push_sets_in_order(binder, kernels, order):
    exe = kernels("two_sets")
    layout = K.layout("two_sets")
    _, target_buffer, source, target = two_sets_buffers(binder)

    def record(cb):
        for s in order:
            cb.push_descriptor_set(layout, s, [(0, source if s == 0 else target)])
        cb.dispatch(exe, 0, 4)

    binder.record_and_run(record)
    assert read_u32(target_buffer) == [7, 8, 9, 10]


def test_pushing_set_0_drops_set_1(binder, kernels):
    exe = kernels("two_sets")
    layout = K.layout("two_sets")
    _, _, source, target = two_sets_buffers(binder)

    def record(cb):
        cb.push_descriptor_set(layout, 1, [(0, target)])
        cb.push_descriptor_set(layout, 0, [(0, source)])
        cb.dispatch(exe, 0, 4)

    binder.expect_rejected(hal.InvalidArgumentError, record)


def test_dispatch_without_pushed_layout(binder, kernels):
    exe = kernels("abs")
    binder.expect_rejected(hal.InvalidArgumentError, lambda cb: cb.dispatch(exe, 0, 2))


def test_too_many_bindings(binder):
    limit = binder.device.info["limits"]["max_bindings"]
    buffer = binder.ref(allocate(binder.device, 16))
    count = limit + 1
    layout = hal.PipelineLayout([hal.DescriptorSetLayout(range(count))])
    binder.expect_rejected(
        hal.ResourceExhaustedError,
        lambda cb: cb.push_descriptor_set(layout, 0, [(b, buffer) for b in range(count)]),
    )


@pytest.mark.parametrize(
    "offset, length",
    [(4, 16), (20, 4), (16, 1)],
    ids=["tail-past-end", "offset-past-end", "one-byte-past-end"],
)
def test_binding_range_past_end(binder, kernels, offset, length):
    exe = kernels("abs")
    source, target = binder.refs(allocate(binder.device, 16), allocate(binder.device, 16))
    binder.expect_rejected(
        hal.OutOfRangeError,
        lambda cb: cb.dispatch(exe, 0, 2, bindings=[(0, source, offset, length), (1, target)]),
        at_record=False,
    )
