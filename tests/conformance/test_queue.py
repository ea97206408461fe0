"""The queue: semaphore-ordered submissions, failure propagation, lifetimes, queue ops."""

from __future__ import annotations

import gc
import threading

import pytest

import polyhal as hal

from .support import (
    SHORT_TIMEOUT,
    TIMEOUT,
    Binder,
    allocate,
    deterministic_bytes,
    i32,
    read_i32,
    upload,
    wait,
)

JOIN_TIMEOUT = 30.0


def returns_at_once(call, *args, **kwargs):
    """Runs a queue call on a helper thread and asserts that it returned (a queue call
    must never block on its waits); the join timeout keeps a bug from hanging the run."""
    outcome: list = []

    def body():
        try:
            outcome.append(("ok", call(*args, **kwargs)))
        except BaseException as e:  # re-raised on the test's thread
            outcome.append(("error", e))

    thread = threading.Thread(target=body, daemon=True)
    thread.start()
    thread.join(timeout=JOIN_TIMEOUT)
    assert not thread.is_alive(), f"{call.__name__} blocked on its wait semaphores"
    kind, value = outcome[0]
    if kind == "error":
        raise value
    return value


def fill_command_buffer(device, buffer, pattern: int, offset: int = 0, length: int = 16):
    cb = device.create_command_buffer()
    with cb:
        cb.fill_buffer(buffer, offset, length, pattern, 1)
    return cb


def still_pending(semaphore: hal.Semaphore, value: int) -> None:
    with pytest.raises(hal.DeadlineExceededError):
        semaphore.wait(value, timeout=SHORT_TIMEOUT)


# -- ordering by semaphores ------------------------------------------------------------------


def test_submission_waits_for_host_signal(device):
    gate, done = device.create_semaphore(0), device.create_semaphore(5)
    target = allocate(device, 16)
    cb = fill_command_buffer(device, target, 0x33)
    returns_at_once(device.queue_execute, cb, wait=[(gate, 1)], signal=[(done, 6)])
    still_pending(done, 6)
    assert done.query() == 5
    # The parked fill must not have run: a deliberate read under its pending write.
    assert target.read(unsynchronized=True) == bytes(16)
    gate.signal(1)
    wait(done, 6)
    assert target.read() == b"\x33" * 16


def test_command_buffer_list_runs_in_order(device):
    """A list of command buffers runs as if a full barrier stood between them."""
    source, target = allocate(device, 64), allocate(device, 64)
    first = fill_command_buffer(device, source, 0x5A, 0, 64)
    second = device.create_command_buffer()
    with second:
        second.copy_buffer(source, 0, target, 0, 64)
    done = device.create_semaphore(0)
    device.queue_execute([first, second], signal=[(done, 1)])
    wait(done, 1)
    assert target.read() == b"\x5a" * 64


def test_empty_submission_is_a_barrier(device):
    gate, done = device.create_semaphore(0), device.create_semaphore(0)
    returns_at_once(device.queue_execute, (), wait=[(gate, 3)], signal=[(done, 1)])
    gate.signal(2)
    still_pending(done, 1)
    gate.signal(3)
    wait(done, 1)


@pytest.mark.parametrize("semaphores", ["distinct", "one-timeline"])
def test_reverse_order_submissions(device, semaphores):
    """Three dependent steps submitted last-first complete as if submitted in order."""
    if semaphores == "distinct":
        steps = [device.create_semaphore(0) for _ in range(3)]
        points = [(s, 1) for s in steps]
    else:
        timeline = device.create_semaphore(0)
        points = [(timeline, v) for v in (1, 2, 3)]
    scratch, result = allocate(device, 16), allocate(device, 16)
    copy = device.create_command_buffer()
    with copy:
        copy.copy_buffer(scratch, 0, result, 0, 16)
    device.queue_execute(copy, wait=[points[1]], signal=[points[2]])
    device.queue_execute(
        fill_command_buffer(device, scratch, 0x22, 8, 8), wait=[points[0]], signal=[points[1]]
    )
    device.queue_execute(fill_command_buffer(device, scratch, 0x11, 0, 8), signal=[points[0]])
    wait(*points[2])
    assert result.read() == b"\x11" * 8 + b"\x22" * 8


def test_wait_idle(device):
    gate = device.create_semaphore(0)
    targets = [allocate(device, 16) for _ in range(4)]
    for i, target in enumerate(targets):
        device.queue_execute(fill_command_buffer(device, target, 0x10 + i), wait=[(gate, 1)])
    with pytest.raises(hal.DeadlineExceededError):
        device.wait_idle(timeout=SHORT_TIMEOUT)
    gate.signal(1)
    device.wait_idle(timeout=TIMEOUT)
    assert [t.read() for t in targets] == [bytes([0x10 + i]) * 16 for i in range(4)]


# -- failure propagation ---------------------------------------------------------------------


def test_failed_wait_fails_every_signal(device):
    gate = device.create_semaphore(0)
    signals = [device.create_semaphore(0), device.create_semaphore(7)]
    target = allocate(device, 16)
    device.queue_execute(
        fill_command_buffer(device, target, 0x44),
        wait=[(gate, 1)],
        signal=[(signals[0], 1), (signals[1], 9)],
    )
    gate.fail(hal.StatusCode.DATA_LOSS, "injected")
    for semaphore, value in zip(signals, (1, 9), strict=True):
        with pytest.raises(hal.DataLossError) as raised:
            semaphore.wait(value, timeout=TIMEOUT)
        assert raised.value.code == hal.StatusCode.DATA_LOSS
        with pytest.raises(hal.DataLossError):
            semaphore.query()
    device.wait_idle(timeout=TIMEOUT)
    assert target.read() == bytes(16), "a submission whose wait failed must not run"


def test_failure_propagates_down_a_chain(device):
    gate, first, second = (device.create_semaphore(0) for _ in range(3))
    target = allocate(device, 16)
    device.queue_execute((), wait=[(gate, 1)], signal=[(first, 1)])
    device.queue_fill(target, 0, 16, b"\x01", wait=[(first, 1)], signal=[(second, 1)])
    gate.fail(hal.StatusCode.CANCELLED, "injected")
    with pytest.raises(hal.CancelledError):
        second.wait(1, timeout=TIMEOUT)
    assert target.read() == bytes(16)


def test_already_failed_wait(device):
    gate, done = device.create_semaphore(0), device.create_semaphore(0)
    gate.fail(hal.StatusCode.ABORTED, "before submit")
    target = allocate(device, 16)
    try:
        device.queue_execute(
            fill_command_buffer(device, target, 0x44), wait=[(gate, 1)], signal=[(done, 1)]
        )
    except hal.AbortedError:
        pass  # refusing at once is as good as failing the signal
    else:
        with pytest.raises(hal.AbortedError):
            done.wait(1, timeout=TIMEOUT)
    assert target.read() == bytes(16)


# -- lifetimes -------------------------------------------------------------------------------


def test_pending_submission_keeps_resources_alive(device, kernels, binder_mode):
    """Every buffer, the command buffer and the binding table of a pending submission
    stay alive after the caller drops them: drop them, collect, reuse the memory, then
    release the submission and check its result."""
    exe = kernels("negate_double")
    output = allocate(device, 16)
    gate, done = device.create_semaphore(0), device.create_semaphore(0)

    def submit_then_drop() -> None:
        binder = Binder(device, binder_mode)
        source, mid, target = binder.refs(
            upload(device, i32(1, 2, 3, 4)), allocate(device, 16), output
        )
        cb = binder.command_buffer()
        with cb:
            cb.dispatch(exe, "negate", 4, bindings=[(0, source), (1, mid)])
            cb.execution_barrier()
            cb.dispatch(exe, "double_values", 4, bindings=[(0, mid), (1, target)])
        binder.submit(cb, wait=[(gate, 1)], signal=[(done, 1)])

    submit_then_drop()
    gc.collect()
    scribbles = [upload(device, b"\xee" * 16) for _ in range(32)]
    gate.signal(1)
    wait(done, 1)
    assert read_i32(output) == [-2, -4, -6, -8]
    assert all(s.read() == b"\xee" * 16 for s in scribbles)


# -- queue operations ----------------------------------------------------------------------


def test_queue_fill(device):
    gate, done = device.create_semaphore(0), device.create_semaphore(0)
    target = allocate(device, 32)
    returns_at_once(
        device.queue_fill, target, 4, 24, b"\x12\x34\x56\x78", wait=[(gate, 1)], signal=[(done, 1)]
    )
    still_pending(done, 1)
    assert target.read(unsynchronized=True) == bytes(32)  # parked: must not have run
    gate.signal(1)
    wait(done, 1)
    assert target.read() == bytes(4) + b"\x12\x34\x56\x78" * 6 + bytes(4)


def test_queue_update_captures_source(device):
    gate, done = device.create_semaphore(0), device.create_semaphore(0)
    target = allocate(device, 16)
    source = bytearray(deterministic_bytes(32))
    expected = bytes(source[8:24])
    returns_at_once(
        device.queue_update, source, 8, target, 0, 16, wait=[(gate, 1)], signal=[(done, 1)]
    )
    source[:] = b"\xff" * 32
    still_pending(done, 1)
    assert target.read(unsynchronized=True) == bytes(16)  # parked: must not have run
    gate.signal(1)
    wait(done, 1)
    assert target.read() == expected


def test_queue_copy(device):
    gate, done = device.create_semaphore(0), device.create_semaphore(0)
    data = deterministic_bytes(64)
    source, target = upload(device, data), allocate(device, 64)
    returns_at_once(
        device.queue_copy, source, 3, target, 5, 50, wait=[(gate, 1)], signal=[(done, 1)]
    )
    still_pending(done, 1)
    gate.signal(1)
    wait(done, 1)
    assert target.read() == bytes(5) + data[3:53] + bytes(9)


def test_queue_copy_sees_earlier_queue_fill(device):
    source, target = allocate(device, 16), allocate(device, 16)
    filled, copied = device.create_semaphore(0), device.create_semaphore(0)
    device.queue_copy(source, 0, target, 0, 16, wait=[(filled, 1)], signal=[(copied, 1)])
    device.queue_fill(source, 0, 16, b"\x9c", signal=[(filled, 1)])
    wait(copied, 1)
    assert target.read() == b"\x9c" * 16


def test_queue_barrier(device):
    gate, done = device.create_semaphore(0), device.create_semaphore(0)
    returns_at_once(device.queue_barrier, wait=[(gate, 2)], signal=[(done, 4)])
    gate.signal(1)
    still_pending(done, 4)
    gate.signal(2)
    wait(done, 4)
    assert done.query() == 4


def test_queue_host_call(device):
    gate, done = device.create_semaphore(0), device.create_semaphore(0)
    calls: list[int] = []

    def host_fn():
        calls.append(gate.query())

    returns_at_once(device.queue_host_call, host_fn, wait=[(gate, 1)], signal=[(done, 1)])
    still_pending(done, 1)
    assert calls == []
    gate.signal(1)
    wait(done, 1)
    assert calls == [1], "the host call runs once, after its wait and before its signal"


def test_queue_host_call_orders_device_work(device):
    """A host call between two queue operations sees the first and precedes the second."""
    target = allocate(device, 16)
    s = device.create_semaphore(0)
    seen: list[bytes] = []
    device.queue_fill(target, 0, 16, b"\x01", signal=[(s, 1)])
    device.queue_host_call(lambda: seen.append(target.read()), wait=[(s, 1)], signal=[(s, 2)])
    device.queue_fill(target, 0, 16, b"\x02", wait=[(s, 2)], signal=[(s, 3)])
    wait(s, 3)
    assert seen == [b"\x01" * 16]
    assert target.read() == b"\x02" * 16


def test_queue_alloca(device):
    gate, ready, done = (device.create_semaphore(0) for _ in range(3))
    buffer = returns_at_once(device.queue_alloca, 64, wait=[(gate, 1)], signal=[(ready, 1)])
    assert buffer.size == 64
    device.queue_fill(buffer, 0, 64, b"\xa7", wait=[(ready, 1)], signal=[(done, 1)])
    still_pending(done, 1)
    gate.signal(1)
    wait(done, 1)
    assert buffer.read() == b"\xa7" * 64
    buffer.write(b"\x01" * 8, 8)
    assert buffer.read(8, 8) == b"\x01" * 8


@pytest.mark.parametrize("origin", ["queue_alloca", "allocate_buffer"])
def test_use_after_queue_dealloca_fails_cleanly(device, origin):
    ready, freed, done = (device.create_semaphore(0) for _ in range(3))
    if origin == "queue_alloca":
        buffer = device.queue_alloca(64, signal=[(ready, 1)])
    else:
        buffer = allocate(device, 64)
        ready.signal(1)
    device.queue_dealloca(buffer, wait=[(ready, 1)], signal=[(freed, 1)])
    wait(freed, 1)
    with pytest.raises(hal.HalError):
        buffer.read()
    with pytest.raises(hal.HalError):
        buffer.write(b"\x00" * 4)
    cb = device.create_command_buffer()
    cb.begin()
    with pytest.raises(hal.HalError):
        cb.fill_buffer(buffer, 0, 4, 0x01, 1)
    try:
        device.queue_fill(buffer, 0, 64, b"\x01", signal=[(done, 1)])
    except hal.HalError:
        return
    with pytest.raises(hal.HalError):
        done.wait(1, timeout=TIMEOUT)
