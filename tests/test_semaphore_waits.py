"""Semaphore waits (issue 10): each blocked wait sleeps until a signal reaches its own
value or the semaphore fails, and a wait that timed out or was interrupted leaves nothing
behind that a later signal could trip over."""

from __future__ import annotations

import threading
import time

import pytest

import polyhal as hal

TIMEOUT = 30.0


def waiter(sem: hal.Semaphore, value: int, outcome: dict) -> threading.Thread:
    def run() -> None:
        try:
            sem.wait(value, timeout=TIMEOUT)
            outcome[value] = "reached"
        except hal.HalError as e:
            outcome[value] = type(e).__name__

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def settle(sem: hal.Semaphore, count: int) -> None:
    """Waits until ``count`` waiters are blocked on ``sem``."""
    deadline = time.monotonic() + TIMEOUT
    while len(sem._waiters) < count:
        assert time.monotonic() < deadline
        time.sleep(0.001)


def test_only_waiters_whose_value_is_reached_wake():
    sem = hal.Semaphore(None, 0)
    outcome: dict = {}
    threads = {v: waiter(sem, v, outcome) for v in (1, 2, 3, 5)}
    settle(sem, 4)
    sem.signal(2)
    for v in (1, 2):
        threads[v].join(TIMEOUT)
    time.sleep(0.01)
    assert outcome == {1: "reached", 2: "reached"}
    assert sorted(w[0] for w in sem._waiters) == [3, 5]
    sem.signal(4)
    threads[3].join(TIMEOUT)
    assert outcome == {1: "reached", 2: "reached", 3: "reached"}
    sem.fail(hal.StatusCode.DATA_LOSS, "gone")
    threads[5].join(TIMEOUT)
    assert outcome[5] == "DataLossError" and sem._waiters == []


def test_timed_out_wait_leaves_nothing_behind():
    sem = hal.Semaphore(None, 0)
    with pytest.raises(hal.DeadlineExceededError):
        sem.wait(1, timeout=0.01)
    with pytest.raises(hal.DeadlineExceededError):
        sem.wait(1, timeout=0)
    assert sem._waiters == []
    outcome: dict = {}
    thread = waiter(sem, 1, outcome)
    settle(sem, 1)
    sem.signal(1)
    thread.join(TIMEOUT)
    assert outcome == {1: "reached"} and sem._waiters == []


def test_signal_during_a_timed_wait_is_seen():
    """A signal reached as a wait's timeout passes: the wait returns or raises, and either
    way leaves no waiter registered (many rounds, to meet the race)."""
    for value in range(1, 200):
        sem = hal.Semaphore(None, value - 1)
        signaller = threading.Timer(0.0005, sem.signal, (value,))
        signaller.start()
        try:
            sem.wait(value, timeout=0.0005)
        except hal.DeadlineExceededError:
            pass
        signaller.join(TIMEOUT)
        assert sem._waiters == []
        sem.wait(value, timeout=0)


def test_queue_signal_wakes_a_host_waiter():
    with hal.create_device("local", checked=False) as device:
        sem = device.create_semaphore(0)
        outcome: dict = {}
        thread = waiter(sem, 1, outcome)
        settle(sem, 1)
        device.queue_barrier(signal=[(sem, 1)])
        thread.join(TIMEOUT)
        assert outcome == {1: "reached"}
