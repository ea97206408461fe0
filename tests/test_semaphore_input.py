"""Issue 11, item 7 (the semaphore part): timeouts and payloads are checked, on every driver.

Timeouts are seconds >= 0 or None; NaN, negative values and non-numbers raise
InvalidArgumentError at once; +inf and values too large for a thread wait mean "no
timeout".  Payloads are uint64: an integer outside [0, 2**64) raises OutOfRangeError (as
IREE's queue validation reports a payload above its maximum), anything that is not an
integer InvalidArgumentError.
"""

from __future__ import annotations

import math
import threading
import time

import numpy as np
import pytest

import polyhal as hal
from polyhal.semaphore import check_payload, check_timeout

DRIVERS = [*hal.available_drivers(), "local-sync"]


@pytest.fixture(scope="module", params=DRIVERS)
def device(request):
    with hal.create_device(request.param) as dev:
        yield dev


def _signal_later(sem: hal.Semaphore, value: int, delay: float = 0.05) -> threading.Thread:
    thread = threading.Thread(target=lambda: (time.sleep(delay), sem.signal(value)))
    thread.start()
    return thread


# -- the shared helpers ----------------------------------------------------------------------
@pytest.mark.parametrize(
    "value, expected",
    [
        (None, None),
        (0, 0.0),
        (0.25, 0.25),
        (np.float32(0.5), 0.5),
        (np.int64(2), 2.0),
        (math.inf, None),
        (2**64, None),
        (10**400, None),
        (1e300, None),
    ],
)
def test_check_timeout_accepts(value, expected):
    assert check_timeout(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        math.nan,
        np.float64("nan"),
        -1,
        -1e-9,
        -math.inf,
        -(10**400),
        "1",
        b"1",
        1j,
        [0.1],
        True,
        object(),
    ],
)
def test_check_timeout_refuses(value):
    with pytest.raises(hal.InvalidArgumentError):
        check_timeout(value)


@pytest.mark.parametrize("value", [0, 1, 2**63, 2**64 - 1, np.uint64(2**64 - 1), np.uint8(200)])
def test_check_payload_accepts(value):
    assert check_payload(value) == int(value)


@pytest.mark.parametrize(
    "value, error",
    [
        (2**64, hal.OutOfRangeError),
        (10**30, hal.OutOfRangeError),
        (-1, hal.OutOfRangeError),
        (np.int64(-1), hal.OutOfRangeError),
        (1.0, hal.InvalidArgumentError),
        (math.nan, hal.InvalidArgumentError),
        ("1", hal.InvalidArgumentError),
        (None, hal.InvalidArgumentError),
        (True, hal.InvalidArgumentError),
    ],
)
def test_check_payload_refuses(value, error):
    with pytest.raises(error):
        check_payload(value)


# -- Semaphore.wait ------------------------------------------------------------------------
@pytest.mark.parametrize("timeout", [math.nan, -1, -math.inf, "1", 1j])
def test_wait_with_a_bad_timeout_raises_at_once(device, timeout):
    sem = device.create_semaphore(0)
    start = time.monotonic()
    with pytest.raises(hal.InvalidArgumentError):
        sem.wait(1, timeout=timeout)
    assert time.monotonic() - start < 1.0
    # Even when the value is already reached: the argument is wrong either way.
    with pytest.raises(hal.InvalidArgumentError):
        sem.wait(0, timeout=timeout)


@pytest.mark.parametrize("timeout", [2**64, math.inf, 10**400, 1e300])
def test_wait_with_a_huge_timeout_waits_for_the_signal(device, timeout):
    sem = device.create_semaphore(0)
    thread = _signal_later(sem, 1)
    sem.wait(1, timeout=timeout)  # was an untyped OverflowError for 2**64
    thread.join()
    sem.wait(1, timeout=timeout)  # reached: returns at once


def test_wait_times_out_with_a_small_timeout(device):
    sem = device.create_semaphore(0)
    start = time.monotonic()
    with pytest.raises(hal.DeadlineExceededError):
        sem.wait(1, timeout=np.float32(0.05))
    assert time.monotonic() - start < 5.0


# -- payloads ------------------------------------------------------------------------------
def test_signal_beyond_uint64_raises_and_leaves_the_value(device):
    sem = device.create_semaphore(3)
    for value in (10**30, 2**64):
        with pytest.raises(hal.OutOfRangeError):
            sem.signal(value)
    with pytest.raises(hal.InvalidArgumentError):
        sem.signal(4.0)
    assert sem.query() == 3
    sem.signal(2**64 - 1)  # the largest payload is valid
    assert sem.query() == 2**64 - 1


@pytest.mark.parametrize(
    "value, error",
    [
        (2**64, hal.OutOfRangeError),
        (-1, hal.OutOfRangeError),
        (1.5, hal.InvalidArgumentError),
        ("0", hal.InvalidArgumentError),
    ],
)
def test_create_semaphore_refuses_values_outside_uint64(device, value, error):
    with pytest.raises(error):
        device.create_semaphore(value)
    with pytest.raises(error):
        hal.Semaphore(device, value)


def test_wait_for_a_value_beyond_uint64_raises(device):
    sem = device.create_semaphore(0)
    with pytest.raises(hal.OutOfRangeError):
        sem.wait(2**64, timeout=0)
    with pytest.raises(hal.OutOfRangeError):
        sem.wait(2**64, timeout=None)  # refused before it could block


def test_queue_refuses_payloads_beyond_uint64(device):
    sem = device.create_semaphore(0)
    with pytest.raises(hal.OutOfRangeError):
        device.queue_barrier(wait=[(sem, 2**64)])  # used to stay pending forever
    with pytest.raises(hal.OutOfRangeError):
        device.queue_barrier(signal=[(sem, 10**30)])
    with pytest.raises(hal.OutOfRangeError):
        device.wait_semaphores([(sem, 2**64)], timeout=0)
    device.wait_idle(10)
    assert sem.query() == 0


def test_device_waits_refuse_a_nan_timeout(device):
    sem = device.create_semaphore(0)
    for call in (
        lambda: device.wait_idle(math.nan),
        lambda: device.wait_semaphores([(sem, 1)], timeout=math.nan),
        lambda: device.wait_semaphores([(sem, 1)], mode=hal.WaitMode.ANY, timeout=math.nan),
        lambda: device.wait_idle(-1),
    ):
        start = time.monotonic()
        with pytest.raises(hal.InvalidArgumentError):
            call()
        assert time.monotonic() - start < 1.0


def test_device_waits_take_a_huge_timeout(device):
    sem = device.create_semaphore(0)
    thread = _signal_later(sem, 1)
    device.wait_semaphores([(sem, 1)], timeout=2**64)
    thread.join()
    device.wait_idle(2**64)


# -- fail ----------------------------------------------------------------------------------
@pytest.mark.parametrize("code", [12345, -1, "ABORTED", None, 1.0, True, hal.StatusCode.OK, 0])
def test_fail_refuses_what_is_not_a_failure_code(device, code):
    sem = device.create_semaphore(0)
    with pytest.raises(hal.InvalidArgumentError):
        sem.fail(code)
    assert sem.query() == 0  # still healthy


def test_fail_refuses_a_message_that_is_not_text(device):
    sem = device.create_semaphore(0)
    with pytest.raises(hal.InvalidArgumentError):
        sem.fail(hal.StatusCode.ABORTED, 5)
    assert sem.query() == 0


def test_fail_takes_a_status_code_or_its_int_value(device):
    sem = device.create_semaphore(0)
    sem.fail(int(hal.StatusCode.OUT_OF_RANGE), "why")
    with pytest.raises(hal.OutOfRangeError, match="why"):
        sem.query()
    other = device.create_semaphore(0)
    other.fail(np.int32(hal.StatusCode.DATA_LOSS))
    with pytest.raises(hal.DataLossError):
        other.wait(1, timeout=1)


def test_an_error_for_a_foreign_code_is_unknown_error():
    error = hal.HalError("x", code=12345)
    assert error.code == hal.StatusCode.UNKNOWN
