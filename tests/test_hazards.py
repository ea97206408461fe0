"""Checked mode's hazards (polyhal.hazards): races between the commands of one group, found
at end() for direct ranges and at queue_execute for slots, and host access to ranges that
a pending submission uses, refused or waited for.  On every driver here plus local-sync."""

from __future__ import annotations

import struct
import threading
import time

import pytest
from conformance import kernels as K

import polyhal as hal

DRIVERS = list(dict.fromkeys([*hal.available_drivers(), "local-sync"]))
USAGE = hal.BufferUsage.DEFAULT
TIMEOUT = 10.0


@pytest.fixture(scope="module", params=DRIVERS)
def device(request):
    with hal.create_device(request.param, checked=True) as dev:
        yield dev


@pytest.fixture(scope="module")
def negate(device):
    """negate(set 0: binding 0 READ_ONLY input, binding 1 output), one element per workgroup."""
    return K.KernelCache(device)("negate_double")


def ints(*values: int) -> bytes:
    return struct.pack(f"<{len(values)}i", *values)


def record(device, fn, mode=hal.CommandBufferMode.ONE_SHOT, capacity=0):
    cb = device.create_command_buffer(mode, binding_capacity=capacity)
    cb.begin()
    fn(cb)
    cb.end()
    return cb


def parked_negate(device, negate, x, y):
    """Submits y = -x behind an unsignalled gate: (gate, done)."""
    gate, done = device.create_semaphore(0), device.create_semaphore(0)
    cb = record(device, lambda cb: cb.dispatch(negate, "negate", 4, bindings=[(0, x), (1, y)]))
    device.queue_execute(cb, wait=[(gate, 1)], signal=[(done, 1)])
    return gate, done


# -- host access ---------------------------------------------------------------------------


def test_host_read_under_parked_write_raises_naming_the_submission(device, negate):
    x, y = device.buffer_from(ints(1, 2, 3, 4)), device.buffer_from(ints(9, 9, 9, 9))
    gate, done = parked_negate(device, negate, x, y)
    with pytest.raises(hal.FailedPreconditionError) as info:
        y.read()
    message = str(info.value)
    for part in (
        "host read of bytes [0, 16)",
        "pending queue_execute",
        "parked on 1",
        "command 0",
        "dispatch of 'negate'",
        "set 0 binding 1",
        "writes [0, 16)",
    ):
        assert part in message, (part, message)
    with pytest.raises(hal.FailedPreconditionError):
        y.to_numpy("<i4")
    with pytest.raises(hal.FailedPreconditionError):
        y.subspan(12, 4).read()
    with pytest.raises(hal.FailedPreconditionError, match="host write"):
        x.write(ints(5), 4)  # the pending dispatch reads x
    with pytest.raises(hal.FailedPreconditionError, match="host write"):
        y.write(ints(5), 4)
    assert x.read() == ints(1, 2, 3, 4)  # reading what pending work only reads is fine
    assert y.read(unsynchronized=True) == ints(9, 9, 9, 9)  # the opt-out: it has not run
    gate.signal(1)
    done.wait(1, timeout=TIMEOUT)
    assert y.read() == ints(-1, -2, -3, -4)
    x.write(ints(7, 7, 7, 7))
    y.write(bytes(16))


def test_only_the_pending_range_is_refused(device):
    buffer = device.buffer_from(bytes(64))
    gate, done = device.create_semaphore(0), device.create_semaphore(0)
    device.queue_fill(buffer, 16, 16, 0xAB, wait=[(gate, 1)], signal=[(done, 1)])
    assert buffer.read(0, 16) == bytes(16)
    assert buffer.read(32) == bytes(32)
    buffer.write(b"\x01" * 16)
    with pytest.raises(hal.FailedPreconditionError, match="pending queue_fill .*fill_buffer"):
        buffer.read(31, 2)
    gate.signal(1)
    done.wait(1, timeout=TIMEOUT)
    assert buffer.read() == b"\x01" * 16 + b"\xab" * 16 + bytes(32)


def test_wait_true_returns_the_data_once_another_thread_signals(device, negate):
    x, y = device.buffer_from(ints(1, 2, 3, 4)), device.buffer_from(bytes(16))
    gate, _ = parked_negate(device, negate, x, y)
    timer = threading.Timer(0.1, gate.signal, args=(1,))
    timer.start()
    try:
        assert y.to_numpy("<i4", wait=True).tolist() == [-1, -2, -3, -4]
    finally:
        timer.join()


def test_wait_with_a_timeout(device, negate):
    x, y = device.buffer_from(ints(1, 2, 3, 4)), device.buffer_from(bytes(16))
    gate, _ = parked_negate(device, negate, x, y)
    t = time.monotonic()
    with pytest.raises(hal.DeadlineExceededError, match="still pending after 0.05 s"):
        y.read(wait=0.05)
    assert time.monotonic() - t >= 0.05
    with pytest.raises(hal.DeadlineExceededError):
        x.write(bytes(16), wait=0)
    threading.Timer(0.05, gate.signal, args=(1,)).start()
    x_bytes = x.read(wait=TIMEOUT)  # no conflict: returns at once
    assert x_bytes == ints(1, 2, 3, 4)
    assert y.read(wait=TIMEOUT) == ints(-1, -2, -3, -4)


@pytest.mark.parametrize("wait", [float("nan"), -1, "1", None])
def test_bad_wait_values(device, wait):
    buffer = device.buffer_from(bytes(4))
    with pytest.raises(hal.InvalidArgumentError, match="wait is"):
        buffer.read(wait=wait)


def test_a_failed_submission_releases_its_ranges(device):
    buffer = device.buffer_from(bytes(16))
    gate, done = device.create_semaphore(0), device.create_semaphore(0)
    device.queue_fill(buffer, 0, 16, 0x11, wait=[(gate, 1)], signal=[(done, 1)])
    with pytest.raises(hal.FailedPreconditionError):
        buffer.read()
    gate.fail(hal.StatusCode.ABORTED, "given up")
    with pytest.raises(hal.AbortedError):
        done.wait(1, timeout=TIMEOUT)
    assert buffer.read() == bytes(16)


def test_a_host_call_may_read_what_waits_behind_it(device):
    """A submission parked behind the running host call cannot race it (directly or via
    a queue_barrier in between)."""
    target = device.buffer_from(bytes(16))
    gate, s, t = (device.create_semaphore(0) for _ in range(3))
    seen: list[bytes] = []
    device.queue_fill(target, 0, 16, 0x01, wait=[(gate, 1)], signal=[(s, 1)])
    device.queue_host_call(lambda: seen.append(target.read()), wait=[(s, 1)], signal=[(s, 2)])
    device.queue_barrier(wait=[(s, 2)], signal=[(t, 1)])
    device.queue_fill(target, 0, 16, 0x02, wait=[(t, 1)], signal=[(s, 3)])
    gate.signal(1)  # everything is queued: the second fill is parked when the call runs
    s.wait(3, timeout=TIMEOUT)
    assert seen == [b"\x01" * 16]
    assert target.read() == b"\x02" * 16


def test_a_host_call_still_sees_unordered_pending_work(device):
    target = device.buffer_from(bytes(16))
    gate, s, other = (device.create_semaphore(0) for _ in range(3))
    device.queue_fill(target, 0, 16, 0x01, wait=[(other, 1)])  # not behind the host call
    errors: list[BaseException] = []

    def look() -> None:
        for wait in (False, True, 0.01):  # an unbounded wait could wait for itself
            try:
                target.read(wait=wait)
            except (hal.FailedPreconditionError, hal.DeadlineExceededError) as e:
                errors.append(e)

    device.queue_host_call(look, wait=[(gate, 1)], signal=[(s, 1)])
    gate.signal(1)
    s.wait(1, timeout=TIMEOUT)
    other.signal(1)
    device.wait_idle(TIMEOUT)
    assert [type(e) for e in errors] == [
        hal.FailedPreconditionError,
        hal.FailedPreconditionError,
        hal.DeadlineExceededError,
    ]
    assert all("pending queue_fill (parked" in str(e) for e in errors)
    assert "could wait for itself" in str(errors[1])


# -- races ---------------------------------------------------------------------------------


def test_overlapping_writes_without_a_barrier_race_at_end(device, negate):
    x, y = device.buffer_from(ints(1, 2, 3, 4)), device.buffer_from(bytes(16))
    cb = device.create_command_buffer()
    cb.begin()
    cb.dispatch(negate, "negate", 2, bindings=[(0, x), hal.Binding(1, y, 0, 8)])
    cb.dispatch(negate, "double_values", 2, bindings=[(0, x), hal.Binding(1, y, 4, 8)])
    with pytest.raises(hal.FailedPreconditionError) as info:
        cb.end()
    message = str(info.value)
    for part in (
        "command 0 (dispatch of 'negate', set 0 binding 1) writes [0, 8)",
        "command 1 (dispatch of 'double_values', set 0 binding 1) writes [4, 12)",
        "overlap at [4, 8)",
        "execution_barrier",
    ):
        assert part in message, (part, message)


def test_a_barrier_separates_the_writes(device, negate):
    x, y = device.buffer_from(ints(1, 2, 3, 4)), device.buffer_from(bytes(16))
    z = device.buffer_from(bytes(16))

    def program(cb):
        cb.dispatch(negate, "negate", 4, bindings=[(0, x), (1, y)])
        cb.execution_barrier()
        cb.dispatch(negate, "double_values", 4, bindings=[(0, y), (1, z)])
        cb.execution_barrier()
        cb.dispatch(negate, "negate", 4, bindings=[(0, z), (1, y)])

    done = device.create_semaphore(0)
    device.queue_execute(record(device, program), signal=[(done, 1)])
    done.wait(1, timeout=TIMEOUT)
    assert y.read() == ints(2, 4, 6, 8)


def test_read_only_overlaps_and_disjoint_writes_are_fine(device, negate):
    x = device.buffer_from(ints(1, 2, 3, 4))
    y = device.buffer_from(bytes(32))

    def program(cb):  # both read all of x; they write the two halves of y
        cb.dispatch(negate, "negate", 4, bindings=[(0, x), hal.Binding(1, y, 0, 16)])
        cb.dispatch(negate, "double_values", 4, bindings=[(0, x), hal.Binding(1, y, 16, 16)])

    done = device.create_semaphore(0)
    device.queue_execute(record(device, program), signal=[(done, 1)])
    done.wait(1, timeout=TIMEOUT)
    assert y.read() == ints(-1, -2, -3, -4, 2, 4, 6, 8)


def test_read_after_write_races_and_transfers_count(device, negate):
    x, y = device.buffer_from(ints(1, 2, 3, 4)), device.buffer_from(bytes(16))
    with pytest.raises(
        hal.FailedPreconditionError,
        match=r"command 0 \(dispatch of 'negate', set 0 binding 1\) writes .* "
        r"command 1 \(dispatch of 'double_values', set 0 binding 0\) reads",
    ):
        record(
            device,
            lambda cb: (
                cb.dispatch(negate, "negate", 4, bindings=[(0, x), (1, y)]),
                cb.dispatch(negate, "double_values", 4, bindings=[(0, y), (1, x)]),
            ),
        )
    with pytest.raises(
        hal.FailedPreconditionError,
        match=r"command 0 \(fill_buffer, target\) writes \[0, 4\).*"
        r"command 1 \(dispatch of 'negate', set 0 binding 0\) reads",
    ):
        record(
            device,
            lambda cb: (
                cb.fill_buffer(x, 0, 4, 0, 4),
                cb.dispatch(negate, "negate", 4, bindings=[(0, x), (1, y)]),
            ),
        )
    with pytest.raises(hal.FailedPreconditionError, match="copy_buffer, target"):
        record(
            device,
            lambda cb: (
                cb.dispatch(negate, "negate", 4, bindings=[(0, x), (1, y)]),
                cb.copy_buffer(x, 0, y, 8, 4),
            ),
        )
    with pytest.raises(hal.FailedPreconditionError, match="update_buffer, target"):
        record(
            device,
            lambda cb: (cb.copy_buffer(y, 0, x, 0, 4), cb.update_buffer(b"abcd", 0, y, 0, 4)),
        )


def test_events_and_nesting(device, negate):
    x, y = device.buffer_from(ints(1, 2, 3, 4)), device.buffer_from(bytes(16))
    event = device.create_event()
    # wait_events separates groups; signal_event does not.
    record(
        device,
        lambda cb: (
            cb.dispatch(negate, "negate", 4, bindings=[(0, x), (1, y)]),
            cb.signal_event(event),
            cb.wait_events([event]),
            cb.dispatch(negate, "double_values", 4, bindings=[(0, y), (1, x)]),
        ),
    )
    with pytest.raises(hal.FailedPreconditionError):
        record(
            device,
            lambda cb: (
                cb.dispatch(negate, "negate", 4, bindings=[(0, x), (1, y)]),
                cb.signal_event(event),
                cb.dispatch(negate, "double_values", 4, bindings=[(0, y), (1, x)]),
            ),
        )
    # A nested command buffer joins the enclosing group: no implicit barrier around it.
    inner = record(
        device,
        lambda cb: cb.dispatch(negate, "double_values", 4, bindings=[(0, y), (1, x)]),
        hal.CommandBufferMode.DEFAULT,
    )
    with pytest.raises(hal.FailedPreconditionError, match=r"command 1\.0 \(nested\)"):
        record(
            device,
            lambda cb: (
                cb.dispatch(negate, "negate", 4, bindings=[(0, x), (1, y)]),
                cb.execute_commands(inner),
            ),
        )
    record(
        device,
        lambda cb: (
            cb.dispatch(negate, "negate", 4, bindings=[(0, x), (1, y)]),
            cb.execution_barrier(),
            cb.execute_commands(inner),
        ),
    )
    # Command buffers of one queue_execute run as if a barrier stood between them.
    first = record(device, lambda cb: cb.dispatch(negate, "negate", 4, bindings=[(0, x), (1, y)]))
    done = device.create_semaphore(0)
    device.queue_execute([first, inner], signal=[(done, 1)])
    done.wait(1, timeout=TIMEOUT)
    assert x.read() == ints(-2, -4, -6, -8)


def test_slots_race_at_queue_execute(device, negate):
    x, y = device.buffer_from(ints(1, 2, 3, 4)), device.buffer_from(bytes(32))
    cb = record(
        device,
        lambda cb: (
            cb.dispatch(negate, "negate", 4, bindings=[(0, x), (1, hal.Slot(0))]),
            cb.dispatch(negate, "double_values", 4, bindings=[(0, x), (1, hal.Slot(1))]),
        ),
        hal.CommandBufferMode.DEFAULT,
        capacity=2,
    )
    done = device.create_semaphore(0)
    with pytest.raises(
        hal.FailedPreconditionError,
        match=r"command 0 .*binding 1\) writes \[8, 24\).*command 1 .*"
        r"writes \[16, 32\)",
    ):
        device.queue_execute(cb, binding_table=[(y, 8, 16), (y, 16, 16)], signal=[(done, 1)])
    assert done.query() == 0  # refused: nothing was queued
    device.queue_execute(cb, binding_table=[(y, 0, 16), (y, 16, 16)], signal=[(done, 1)])
    done.wait(1, timeout=TIMEOUT)
    assert y.read() == ints(-1, -2, -3, -4, 2, 4, 6, 8)


def test_slot_against_direct_range(device, negate):
    x, y = device.buffer_from(ints(1, 2, 3, 4)), device.buffer_from(bytes(16))
    z = device.buffer_from(bytes(16))
    cb = record(
        device,
        lambda cb: (
            cb.dispatch(negate, "negate", 4, bindings=[(0, x), (1, y)]),
            cb.dispatch(negate, "double_values", 4, bindings=[(0, hal.Slot(0)), (1, z)]),
        ),
        hal.CommandBufferMode.DEFAULT,
        capacity=1,
    )
    with pytest.raises(hal.FailedPreconditionError, match="binding 0\\) reads"):
        device.queue_execute(cb, binding_table=[y])
    done = device.create_semaphore(0)
    device.queue_execute(cb, binding_table=[x], signal=[(done, 1)])
    done.wait(1, timeout=TIMEOUT)
    assert z.read() == ints(2, 4, 6, 8)


def test_serial_devices_report_races_too(negate):
    driver = negate.device.driver
    with hal.create_device(driver, dispatch_type="serial", checked=True) as dev:
        exe = K.KernelCache(dev)("negate_double")
        x, y = dev.buffer_from(ints(1, 2, 3, 4)), dev.buffer_from(bytes(16))
        with pytest.raises(hal.FailedPreconditionError, match="race"):
            record(
                dev,
                lambda cb: (
                    cb.dispatch(exe, "negate", 4, bindings=[(0, x), (1, y)]),
                    cb.dispatch(exe, "double_values", 4, bindings=[(0, y), (1, x)]),
                ),
            )


def test_unchecked_devices_check_nothing(negate):
    driver = negate.device.driver
    with hal.create_device(driver, checked=False) as dev:
        exe = K.KernelCache(dev)("negate_double")
        x, y = dev.buffer_from(ints(1, 2, 3, 4)), dev.buffer_from(bytes(16))
        cb = record(
            dev,
            lambda cb: (  # a race, unreported
                cb.dispatch(exe, "negate", 4, bindings=[(0, x), (1, y)]),
                cb.dispatch(exe, "negate", 4, bindings=[(0, x), (1, y)]),
            ),
        )
        gate, done = dev.create_semaphore(0), dev.create_semaphore(0)
        dev.queue_execute(cb, wait=[(gate, 1)], signal=[(done, 1)])
        assert y.read() == bytes(16)  # unchecked: whatever is there
        # wait= still works: without ranges it waits for the device to be idle.
        with pytest.raises(hal.DeadlineExceededError):
            y.read(wait=0.02)
        threading.Timer(0.05, gate.signal, args=(1,)).start()
        assert y.read(wait=True) == ints(-1, -2, -3, -4)
