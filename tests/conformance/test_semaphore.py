"""Timeline semaphores: values, waits, timeouts, failures and threads."""

from __future__ import annotations

import threading

import pytest

import polyhal as hal

from .support import SHORT_TIMEOUT, TIMEOUT

JOIN_TIMEOUT = 30.0


def start(target, *args) -> threading.Thread:
    thread = threading.Thread(target=target, args=args, daemon=True)
    thread.start()
    return thread


def join(*threads: threading.Thread) -> None:
    for thread in threads:
        thread.join(timeout=JOIN_TIMEOUT)
        assert not thread.is_alive(), "a thread did not finish: a wait hung"


# -- values --------------------------------------------------------------------------------


def test_initial_value(device):
    assert device.create_semaphore(123).query() == 123
    assert device.create_semaphore().query() == 0


def test_signal_sequence(device):
    semaphore = device.create_semaphore(0)
    for value in (2, 3, 40):
        semaphore.signal(value)
        assert semaphore.query() == value


@pytest.mark.parametrize("value", [5, 4], ids=["equal", "lower"])
def test_signal_not_increasing(device, value):
    semaphore = device.create_semaphore(5)
    with pytest.raises(hal.InvalidArgumentError):
        semaphore.signal(value)
    assert semaphore.query() == 5


@pytest.mark.parametrize(
    "code, error",
    [
        (hal.StatusCode.ABORTED, hal.AbortedError),
        (hal.StatusCode.CANCELLED, hal.CancelledError),
        (hal.StatusCode.DATA_LOSS, hal.DataLossError),
    ],
    ids=lambda v: getattr(v, "name", None) or v.__name__,
)
def test_fail_reads_back_code(device, code, error):
    semaphore = device.create_semaphore(0)
    semaphore.fail(code, "injected")
    with pytest.raises(error) as raised:
        semaphore.query()
    assert raised.value.code == code


def test_fail_default_code_is_aborted(device):
    semaphore = device.create_semaphore(0)
    semaphore.fail()
    with pytest.raises(hal.AbortedError):
        semaphore.query()


# -- waits ---------------------------------------------------------------------------------


def test_empty_wait_list(device):
    device.wait_semaphores([], timeout=0)
    device.wait_semaphores([])
    device.wait_semaphores([], mode=hal.WaitMode.ANY, timeout=0)


def test_wait_for_reached_values(device):
    semaphore = device.create_semaphore(2)
    semaphore.wait(1, timeout=0)
    semaphore.wait(2, timeout=0)
    device.wait_semaphores([(semaphore, 1), (semaphore, 2)], timeout=0)
    other = device.create_semaphore(2)
    device.wait_semaphores([(semaphore, 1), (other, 2)], timeout=TIMEOUT)


@pytest.mark.parametrize("timeout", [0, SHORT_TIMEOUT], ids=["poll", "short"])
def test_wait_times_out(device, timeout):
    semaphore = device.create_semaphore(0)
    with pytest.raises(hal.DeadlineExceededError) as raised:
        semaphore.wait(1, timeout=timeout)
    assert isinstance(raised.value, TimeoutError)
    assert semaphore.query() == 0


def test_wait_all_with_one_unsignaled_times_out(device):
    signaled, unsignaled = device.create_semaphore(1), device.create_semaphore(0)
    with pytest.raises(hal.DeadlineExceededError):
        device.wait_semaphores(
            [(signaled, 1), (unsignaled, 1)], mode=hal.WaitMode.ALL, timeout=SHORT_TIMEOUT
        )


def test_wait_any_with_one_signaled(device):
    signaled, unsignaled = device.create_semaphore(1), device.create_semaphore(0)
    device.wait_semaphores([(unsignaled, 1), (signaled, 1)], mode=hal.WaitMode.ANY, timeout=TIMEOUT)


def test_wait_any_with_none_signaled_times_out(device):
    a, b = device.create_semaphore(0), device.create_semaphore(0)
    with pytest.raises(hal.DeadlineExceededError):
        device.wait_semaphores([(a, 1), (b, 1)], mode=hal.WaitMode.ANY, timeout=SHORT_TIMEOUT)


# -- failures ------------------------------------------------------------------------------


def test_fail_then_wait(device):
    semaphore = device.create_semaphore(0)
    semaphore.fail(hal.StatusCode.CANCELLED, "stop")
    with pytest.raises(hal.CancelledError):
        semaphore.wait(1, timeout=TIMEOUT)
    with pytest.raises(hal.CancelledError):
        device.wait_semaphores([(semaphore, 1)], timeout=TIMEOUT)


def test_first_failure_wins(device):
    semaphore = device.create_semaphore(0)
    semaphore.fail(hal.StatusCode.DATA_LOSS, "first")
    semaphore.fail(hal.StatusCode.CANCELLED, "second")
    with pytest.raises(hal.DataLossError):
        semaphore.query()
    with pytest.raises(hal.DataLossError):
        semaphore.wait(1, timeout=TIMEOUT)


def test_fail_wakes_a_waiting_thread(device):
    semaphore = device.create_semaphore(0)
    errors: list[BaseException] = []

    def waiter():
        try:
            semaphore.wait(1, timeout=TIMEOUT)
        except hal.HalError as e:
            errors.append(e)

    thread = start(waiter)
    semaphore.fail(hal.StatusCode.ABORTED, "wake up")
    join(thread)
    assert len(errors) == 1 and errors[0].code == hal.StatusCode.ABORTED


# -- threads -------------------------------------------------------------------------------


def test_wait_while_another_thread_signals(device):
    semaphore = device.create_semaphore(0)
    thread = start(semaphore.signal, 10)
    semaphore.wait(3, timeout=TIMEOUT)
    join(thread)
    assert semaphore.query() == 10


def test_ping_pong(device):
    ping, pong = device.create_semaphore(0), device.create_semaphore(0)
    rounds = 50
    errors: list[BaseException] = []

    def responder():
        try:
            for i in range(1, rounds + 1):
                ping.wait(i, timeout=TIMEOUT)
                pong.signal(i)
        except BaseException as e:  # reported by the main thread
            errors.append(e)

    thread = start(responder)
    for i in range(1, rounds + 1):
        ping.signal(i)
        pong.wait(i, timeout=TIMEOUT)
    join(thread)
    assert not errors
    assert pong.query() == rounds


def test_many_waiters_on_one_value(device):
    semaphore = device.create_semaphore(0)
    woken: list[int] = []
    lock = threading.Lock()

    def waiter(i):
        semaphore.wait(5, timeout=TIMEOUT)
        with lock:
            woken.append(i)

    threads = [start(waiter, i) for i in range(16)]
    semaphore.signal(4)
    assert not woken, "a waiter for 5 woke at 4"
    semaphore.signal(5)
    join(*threads)
    assert sorted(woken) == list(range(16))


def test_many_waiters_wait_semaphores_any(device):
    a, b = device.create_semaphore(0), device.create_semaphore(0)
    woken: list[int] = []
    lock = threading.Lock()

    def waiter(i):
        device.wait_semaphores([(a, 1), (b, 1)], mode=hal.WaitMode.ANY, timeout=TIMEOUT)
        with lock:
            woken.append(i)

    threads = [start(waiter, i) for i in range(8)]
    b.signal(1)
    join(*threads)
    assert sorted(woken) == list(range(8))
