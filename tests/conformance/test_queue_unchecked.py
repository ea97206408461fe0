"""queue_execute on unchecked devices (issue 10): one command buffer with no waits and no
binding table takes a short path there (the rest of the suite runs checked, which takes
the general one).  It must run, signal and refuse exactly as the general path does.
"""

from __future__ import annotations

import pytest

import polyhal as hal

from .support import TIMEOUT, allocate

SLOT = hal.PipelineLayout([hal.DescriptorSetLayout([0])])


@pytest.fixture(scope="module")
def unchecked(driver: str):
    with hal.create_device(driver, checked=False) as dev:
        yield dev


def fill(device, buffer, pattern: int, mode=hal.CommandBufferMode.DEFAULT):
    cb = device.create_command_buffer(mode)
    with cb:
        cb.fill_buffer(buffer, 0, 16, pattern, 1)
    return cb


def test_runs_and_signals_every_signal_form(unchecked):
    buffer = allocate(unchecked, 16)
    a, b = unchecked.create_semaphore(0), unchecked.create_semaphore(10)
    for pattern, signal, reached in (
        (1, [(a, 1)], [(a, 1)]),
        (2, (a, 2), [(a, 2)]),
        (3, [(a, 3), (b, 11)], [(a, 3), (b, 11)]),
        (4, [], []),
    ):
        cb = fill(unchecked, buffer, pattern)
        unchecked.queue_execute(cb, signal=signal)
        unchecked.wait_idle(TIMEOUT)
        for sem, value in reached:
            assert sem.query() == value
        assert buffer.read() == bytes([pattern]) * 16
    one_shot = fill(unchecked, buffer, 5, hal.CommandBufferMode.ONE_SHOT)
    unchecked.queue_execute(one_shot, wait=[], signal=[(a, 2**64 - 1)])
    a.wait(2**64 - 1, timeout=TIMEOUT)
    assert buffer.read() == bytes([5]) * 16


def test_refusals(unchecked):
    buffer = allocate(unchecked, 16, fill=9)
    sem = unchecked.create_semaphore(0)
    cb = fill(unchecked, buffer, 1)
    bad = [
        (dict(signal=[(sem, -1)]), hal.OutOfRangeError),
        (dict(signal=[(sem, 2**64)]), hal.OutOfRangeError),
        (dict(signal=[(sem, 1.5)]), hal.InvalidArgumentError),
        (dict(signal=[(sem, True)]), hal.InvalidArgumentError),
        (dict(signal=[("sem", 1)]), hal.InvalidArgumentError),
        (dict(signal=[(sem,)]), hal.InvalidArgumentError),
        (dict(signal=5), hal.InvalidArgumentError),
        (dict(wait=0), hal.InvalidArgumentError),  # falsy, yet not a list of pairs
        (dict(wait=None), hal.InvalidArgumentError),
    ]
    for kwargs, error in bad:
        with pytest.raises(error):
            unchecked.queue_execute(cb, **kwargs)
    open_cb = unchecked.create_command_buffer()
    open_cb.begin()
    with pytest.raises(hal.FailedPreconditionError):
        unchecked.queue_execute(open_cb, signal=[(sem, 1)])
    with hal.create_device("local-sync", checked=False) as other:
        with pytest.raises(hal.InvalidArgumentError):
            unchecked.queue_execute(fill(other, allocate(other, 16), 1), signal=[(sem, 1)])
    slots = unchecked.create_command_buffer(hal.CommandBufferMode.DEFAULT, binding_capacity=1)
    with slots:
        slots.fill_buffer(hal.Slot(0), 0, 16, 1, 1)
    with pytest.raises(hal.InvalidArgumentError):  # a slot, and no binding table
        unchecked.queue_execute(slots, signal=[(sem, 1)])
    unchecked.wait_idle(TIMEOUT)
    assert sem.query() == 0 and buffer.read() == bytes([9]) * 16  # nothing ran

    one_shot = fill(unchecked, buffer, 2, hal.CommandBufferMode.ONE_SHOT)
    unchecked.queue_execute(one_shot, signal=[(sem, 1)])
    with pytest.raises(hal.FailedPreconditionError):
        unchecked.queue_execute(one_shot, signal=[(sem, 2)])
    sem.wait(1, timeout=TIMEOUT)
    assert buffer.read() == bytes([2]) * 16

    doomed = allocate(unchecked, 16)
    uses_doomed = fill(unchecked, doomed, 3)
    unchecked.queue_dealloca(doomed, signal=[(sem, 2)])
    sem.wait(2, timeout=TIMEOUT)
    with pytest.raises(hal.FailedPreconditionError):
        unchecked.queue_execute(uses_doomed, signal=[(sem, 3)])


def test_closed_device_refuses(driver: str):
    device = hal.create_device(driver, checked=False)
    cb = fill(device, allocate(device, 16), 1)
    sem = device.create_semaphore(0)
    device.close()
    with pytest.raises(hal.FailedPreconditionError):
        device.queue_execute(cb, signal=[(sem, 1)])
    assert sem.query() == 0


def test_signal_that_does_not_advance_fails_the_semaphore(unchecked):
    buffer = allocate(unchecked, 16)
    sem = unchecked.create_semaphore(5)
    unchecked.queue_execute(fill(unchecked, buffer, 1), signal=[(sem, 5)])
    unchecked.wait_idle(TIMEOUT)
    with pytest.raises(hal.FailedPreconditionError):
        sem.wait(6, timeout=TIMEOUT)


def test_replay_refuses_slot_copies_that_now_overlap(unchecked):
    """A reusable copy between two slots, submitted with a table that passed (two
    buffers), then with one buffer at both ends at overlapping offsets (the same lengths
    and usages, which the short path's slot-check cache compares): refused, and the
    buffer unchanged."""
    cb = unchecked.create_command_buffer(hal.CommandBufferMode.DEFAULT, binding_capacity=2)
    with cb:
        cb.copy_buffer(hal.Slot(0), 0, hal.Slot(1), 0, 16)
    a, b = allocate(unchecked, 64, fill=1), allocate(unchecked, 64, fill=2)
    unchecked.queue_execute(cb, binding_table=[(a, 0, 32), (b, 0, 32)])
    unchecked.wait_idle(TIMEOUT)
    assert b.read(0, 16) == bytes([1]) * 16
    with pytest.raises(hal.InvalidArgumentError, match="overlap"):
        unchecked.queue_execute(cb, binding_table=[(a, 0, 32), (a, 8, 32)])
    unchecked.queue_execute(cb, binding_table=[(a, 0, 32), (a, 16, 32)])  # touching: fine
    unchecked.wait_idle(TIMEOUT)
    assert a.read() == bytes([1]) * 64
