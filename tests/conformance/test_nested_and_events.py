"""execute_commands (nested command buffers) and events."""

from __future__ import annotations

import pytest

import polyhal as hal

from .support import Binder, allocate, filled, u32, upload, wait


def test_execute_commands(binder):
    """The outer command buffer fills one buffer, then runs a reusable inner recording
    that fills another; in slot mode each has its own binding table."""
    device = binder.device
    outer_buffer, inner_buffer = allocate(device, 32), allocate(device, 32)
    inner = Binder(device, binder.mode)
    inner_target = inner.ref(inner_buffer)
    inner_cb = inner.command_buffer(reusable=True)
    with inner_cb:
        inner_cb.fill_buffer(inner_target, 8, 16, 0xAB23CD45, 4)

    outer_target = binder.ref(outer_buffer)

    def record(cb):
        cb.fill_buffer(outer_target, 0, 8, 0x07, 1)
        cb.execution_barrier()
        cb.execute_commands(inner_cb, binding_table=inner.table())
        cb.execution_barrier()
        cb.fill_buffer(outer_target, 24, 8, 0x07, 1)

    binder.record_and_run(record)
    assert inner_buffer.read() == filled(32, 8, 16, 0xAB23CD45, 4)
    assert outer_buffer.read() == filled(32, 0, 8, 0x07, 1)[:24] + b"\x07" * 8


def test_execute_commands_twice_with_two_tables(device):
    """One inner recording nested twice in one command buffer, each with its own table."""
    first, second = allocate(device, 16), allocate(device, 16)
    inner = Binder(device, "slot")
    target = inner.ref(first)
    inner_cb = inner.command_buffer()
    with inner_cb:
        inner_cb.fill_buffer(target, 0, hal.WHOLE_BUFFER, 0x5C, 1)
    outer_cb = device.create_command_buffer()
    with outer_cb:
        outer_cb.execute_commands(inner_cb, binding_table=[first])
        outer_cb.execute_commands(inner_cb, binding_table=[(second, 4, 8)])
    done = device.create_semaphore(0)
    device.queue_execute(outer_cb, signal=[(done, 1)])
    wait(done, 1)
    assert first.read() == b"\x5c" * 16
    assert second.read() == bytes(4) + b"\x5c" * 8 + bytes(4)


def test_signal_and_reset_event(binder):
    """Signalling and resetting an event order nothing and change no memory: the commands
    around them all run, in order, and a reset event signalled again can be waited on."""
    device = binder.device
    event = device.create_event()
    source_buffer, target_buffer = allocate(device, 16), allocate(device, 16, fill=0xEE)
    source, target = binder.refs(source_buffer, target_buffer)

    def record(cb):
        cb.fill_buffer(source, 0, 8, 0x07, 1)
        cb.signal_event(event, hal.ExecutionStage.TRANSFER)
        cb.reset_event(event, hal.ExecutionStage.TRANSFER)
        cb.fill_buffer(source, 8, 8, 0x0A0B0C0D, 4)
        cb.signal_event(event, hal.ExecutionStage.TRANSFER)
        cb.wait_events([event], hal.ExecutionStage.TRANSFER, hal.ExecutionStage.TRANSFER)
        cb.copy_buffer(source, 0, target, 0, 12)

    binder.record_and_run(record)
    expected = filled(16, 8, 8, 0x0A0B0C0D, 4, background=0x07)
    assert source_buffer.read() == expected
    assert target_buffer.read() == expected[:12] + b"\xee" * 4


def test_checked_mode_does_not_take_signal_and_reset_for_a_barrier(binder):
    """Only wait_events (or a barrier) orders commands: two overlapping writes with just a
    signal and a reset between them may run concurrently, and checked mode says so."""
    if not binder.device.checked:
        pytest.skip("the race check is checked mode's (POLYHAL_CHECKED=1)")
    event = binder.device.create_event()
    target_buffer = allocate(binder.device, 16)
    target = binder.ref(target_buffer)

    def record(cb):
        cb.fill_buffer(target, 0, 16, 0x07, 1)
        cb.signal_event(event, hal.ExecutionStage.TRANSFER)
        cb.reset_event(event, hal.ExecutionStage.TRANSFER)
        cb.fill_buffer(target, 4, 4, 0x0A0B0C0D, 4)

    with pytest.raises(hal.FailedPreconditionError, match="race in a command buffer"):
        binder.record_and_run(record)
    assert target_buffer.read() == bytes(16)  # refused before it ran


def test_a_reusable_command_buffer_resets_its_event_for_the_next_submission(binder):
    """signal, wait, copy, reset: each submission of the same recording copies what the
    source holds at that submission."""
    device = binder.device
    event = device.create_event()
    source_buffer, target_buffer = upload(device, u32(1, 2, 3, 4)), allocate(device, 16)
    source, target = binder.refs(source_buffer, target_buffer)
    cb = binder.command_buffer(reusable=True)
    with cb:
        cb.signal_event(event, hal.ExecutionStage.TRANSFER)
        cb.wait_events([event], hal.ExecutionStage.TRANSFER, hal.ExecutionStage.TRANSFER)
        cb.copy_buffer(source, 0, target, 0, 16)
        cb.reset_event(event, hal.ExecutionStage.TRANSFER)
    binder.run(cb)
    assert target_buffer.read() == u32(1, 2, 3, 4)
    source_buffer.write(u32(5, 6, 7, 8))
    binder.run(cb)
    assert target_buffer.read() == u32(5, 6, 7, 8)


def test_wait_event_in_one_command_buffer(binder):
    device = binder.device
    event = device.create_event()
    source_buffer, target_buffer = allocate(device, 16), allocate(device, 16)
    source, target = binder.refs(source_buffer, target_buffer)

    def record(cb):
        cb.fill_buffer(source, 0, 16, 0x42, 1)
        cb.signal_event(event, hal.ExecutionStage.TRANSFER)
        cb.wait_events([event], hal.ExecutionStage.TRANSFER, hal.ExecutionStage.TRANSFER)
        cb.copy_buffer(source, 0, target, 0, 16)

    binder.record_and_run(record)
    assert target_buffer.read() == b"\x42" * 16


def test_event_across_command_buffers(binder):
    """Command buffer 1 writes and signals; command buffer 2, submitted after it, waits on
    the event and then copies: it sees 1's writes."""
    device = binder.device
    event = device.create_event()
    source_buffer = upload(device, u32(0, 0, 0, 0))
    target_buffer = allocate(device, 16)
    source, target = binder.refs(source_buffer, target_buffer)
    first = binder.command_buffer()
    with first:
        first.update_buffer(u32(1, 2, 3, 4), 0, source, 0, 16)
        first.signal_event(event, hal.ExecutionStage.TRANSFER)
    second = binder.command_buffer()
    with second:
        second.wait_events(
            [event],
            hal.ExecutionStage.TRANSFER,
            hal.ExecutionStage.TRANSFER,
            memory_barriers=[
                hal.MemoryBarrier(hal.AccessScope.TRANSFER_WRITE, hal.AccessScope.TRANSFER_READ)
            ],
        )
        second.copy_buffer(source, 0, target, 0, 16)
    done_first, done_second = device.create_semaphore(0), device.create_semaphore(0)
    binder.submit(first, signal=[(done_first, 1)])
    binder.submit(second, signal=[(done_second, 1)])
    wait(done_first, 1)
    wait(done_second, 1)
    assert target_buffer.read() == u32(1, 2, 3, 4)
