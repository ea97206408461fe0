"""Timeline semaphores and events.

The timeline lives on the host for every driver: a driver reports completion through the
front end, which signals (or fails) the semaphores of the submission.  Each blocked wait
sleeps on a lock of its own, which the signal that reaches its value (or a failure)
releases: only those waiters wake, and the signalling thread does no more than release
them (a Condition's notify_all is Python code on the path from the device's completion to
the waiting host); submissions register *timepoints* that fire once a value is reached or
the semaphore fails.
"""

from __future__ import annotations

import math
import numbers
import operator
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ._args import UINT64_MAX, as_index
from .errors import (
    DeadlineExceededError,
    HalError,
    InvalidArgumentError,
    OutOfRangeError,
    error_for,
)
from .types import StatusCode

if TYPE_CHECKING:
    from .device import Device

#: callback(semaphore) fired when a timepoint is reached or the semaphore fails.
Timepoint = Callable[["Semaphore"], None]
#: A blocked wait: (the value it waits for, the lock its thread sleeps on).
_Waiter = tuple[int, threading.Lock]

#: The largest semaphore payload: values are uint64, as IREE's.
MAX_PAYLOAD = UINT64_MAX


def check_payload(value: Any, what: str = "semaphore value") -> int:
    """``value`` as a semaphore payload, an int in ``[0, 2**64 - 1]``.

    InvalidArgumentError for anything that is not an integer (bools, floats and strings
    included; numpy integers are fine); OutOfRangeError for an integer outside uint64, as
    IREE's queue validation reports a payload above its maximum.
    """
    number: int = value if type(value) is int else as_index(value, what)
    if not 0 <= number <= MAX_PAYLOAD:
        raise OutOfRangeError(f"{what}: {number} is outside the uint64 payload range")
    return number


def check_timeout(timeout: Any, what: str = "timeout") -> float | None:
    """A wait's ``timeout`` in seconds, as the value to hand to ``threading`` waits.

    None means no timeout.  A real number ``>= 0`` is seconds (0 polls); ``+inf`` and values
    at or above ``threading.TIMEOUT_MAX`` (hundreds of years on 64-bit hosts) also mean no
    timeout and come back as None, since no wait can tell them apart from forever.  NaN,
    negative values and anything that is not a real number (strings, bools, complex) raise
    InvalidArgumentError.
    """
    if timeout is None:
        return None
    if isinstance(timeout, bool) or not isinstance(timeout, numbers.Real):
        raise InvalidArgumentError(f"{what}: expected seconds >= 0 or None, got {timeout!r}")
    try:
        seconds = float(timeout)
    except OverflowError:  # an int beyond float range: positive ones are "forever"
        if isinstance(timeout, int) and timeout > 0:
            return None
        raise InvalidArgumentError(f"{what}: must be >= 0 seconds, got {timeout!r}") from None
    if math.isnan(seconds) or seconds < 0:
        raise InvalidArgumentError(f"{what}: must be >= 0 seconds or None, got {timeout!r}")
    if seconds >= threading.TIMEOUT_MAX:
        return None
    return seconds


class Semaphore:
    """A 64-bit timeline: it only moves forward; a failure is sticky and the first wins."""

    __slots__ = ("device", "_lock", "_value", "_failure", "_timepoints", "_waiters", "__weakref__")

    def __init__(self, device: Device | None = None, initial_value: int = 0):
        """A semaphore at ``initial_value``, a uint64 (see :func:`check_payload`)."""
        if type(initial_value) is not int or not 0 <= initial_value <= MAX_PAYLOAD:
            initial_value = check_payload(initial_value, "semaphore initial value")
        self.device = device
        self._lock = threading.Lock()
        self._value = int(initial_value)
        self._failure: tuple[StatusCode, str] | None = None
        self._timepoints: list[list[Any]] = []
        #: (value, lock) of each blocked wait(): the lock is held until the value is reached
        #: or the semaphore fails, then released by whoever made that happen.
        self._waiters: list[_Waiter] = []

    def __repr__(self) -> str:
        state = f"failed {self._failure[0].name}" if self._failure else f"value {self._value}"
        return f"Semaphore({state})"

    def error(self) -> HalError | None:
        """The error every wait raises once the semaphore failed (the HalError subclass of
        its status code, with its message), or None while it has not failed."""
        if self._failure is None:
            return None
        code, message = self._failure
        return error_for(code, message or f"semaphore failed with {code.name}")

    def _error(self) -> HalError:
        error = self.error()
        assert error is not None  # callers checked failed
        return error

    @property
    def failed(self) -> bool:
        """Whether the semaphore failed (then every wait raises the failure's error)."""
        return self._failure is not None

    def query(self) -> int:
        """The current value; raises the failure's error if the semaphore failed."""
        if self._failure is not None:
            raise self._error()
        return self._value

    def signal(self, value: int) -> None:
        """Moves the timeline to ``value``, which must exceed the current value.

        ``value`` is a uint64 payload (:func:`check_payload`): InvalidArgumentError if it
        is not an integer or does not advance, OutOfRangeError outside uint64.
        """
        value = check_payload(value, "semaphore signal")
        with self._lock:
            if self._failure is not None:
                raise self._error()
            if value <= self._value:
                raise InvalidArgumentError(
                    f"semaphore signal to {value} does not move it past {self._value}"
                )
            woken, fired = self._advance(value)
        for waiter in woken:
            waiter[1].release()
        for cb in fired:
            cb(self)

    def _advance(self, value: int) -> tuple[list[_Waiter], list[Timepoint]]:
        """Under the lock: sets the value; returns the waiters to wake and the timepoints to
        fire (after the lock is released)."""
        self._value = value
        woken: list[_Waiter] = []
        if self._waiters:
            woken = [w for w in self._waiters if w[0] <= value]
            if woken:
                self._waiters = [w for w in self._waiters if w[0] > value]
        if not self._timepoints:
            return woken, []
        fired = [tp[1] for tp in self._timepoints if tp[0] <= value]
        if fired:
            self._timepoints = [tp for tp in self._timepoints if tp[0] > value]
        return woken, fired

    def signal_from_queue(self, value: int) -> None:
        """A submission's signal: a value that does not advance fails the semaphore."""
        with self._lock:
            if self._failure is not None:
                return
            if value <= self._value:
                woken, fired = self._set_failure(
                    StatusCode.FAILED_PRECONDITION,
                    f"submission signalled {value} but the semaphore was already at {self._value}",
                )
            elif not self._waiters and not self._timepoints:
                self._value = value  # nobody to wake: what _advance does, in one step
                return
            else:
                woken, fired = self._advance(value)
        for waiter in woken:
            waiter[1].release()
        for cb in fired:
            cb(self)

    def fail(self, code: StatusCode = StatusCode.ABORTED, message: str = "") -> None:
        """Fails the semaphore: every waiter and dependent submission gets the error.

        ``code`` is a non-OK :class:`StatusCode` (or its int value) and ``message`` a str;
        anything else raises InvalidArgumentError.
        """
        try:
            if isinstance(code, bool):
                raise TypeError
            code = StatusCode(operator.index(code))
        except (TypeError, ValueError):
            raise InvalidArgumentError(f"fail() takes a StatusCode, got {code!r}") from None
        if code == StatusCode.OK:
            raise InvalidArgumentError("fail() needs a non-OK status code")
        if not isinstance(message, str):
            raise InvalidArgumentError(f"fail() message is a str, got {type(message).__name__}")
        with self._lock:
            if self._failure is not None:
                return
            woken, fired = self._set_failure(code, message)
        for waiter in woken:
            waiter[1].release()
        for cb in fired:
            cb(self)

    def _set_failure(self, code: StatusCode, message: str) -> tuple[list[_Waiter], list[Timepoint]]:
        """Under the lock: as _advance, for a failure (every waiter, every timepoint)."""
        self._failure = (code, message)
        woken, self._waiters = self._waiters, []
        fired = [tp[1] for tp in self._timepoints]
        self._timepoints = []
        return woken, fired

    def wait(self, value: int, timeout: float | None = None) -> None:
        """Blocks until the value is at least ``value``.

        ``value`` is a uint64 payload (:func:`check_payload`).  ``timeout`` in seconds as
        :func:`check_timeout` takes it (None or +inf: forever, 0: poll; NaN or negative:
        InvalidArgumentError); DeadlineExceededError when it passes; the failure's error if
        the semaphore failed.
        """
        value = check_payload(value, "semaphore wait")
        timeout = check_timeout(timeout, "semaphore wait timeout")
        if self._failure is None and self._value < value:
            self._block(value, timeout)
        if self._failure is not None:
            raise self._error()

    def _block(self, value: int, timeout: float | None) -> None:
        """wait() once the value was seen short of ``value``: sleeps on a lock of its own
        until a signal or failure releases it, or the timeout passes."""
        with self._lock:
            if self._failure is not None or self._value >= value:
                return
            if timeout is not None and timeout <= 0:
                raise DeadlineExceededError(
                    f"semaphore at {self._value}, waiting for {value} (poll)"
                )
            waiter = (value, threading.Lock())
            waiter[1].acquire()
            self._waiters.append(waiter)
        started = time.perf_counter_ns()  # the trace clock (polyhal.tracing)
        woke = False
        try:
            woke = waiter[1].acquire(True, -1 if timeout is None else timeout)
        finally:
            if not woke:  # timed out or interrupted: no signal may release it any more
                with self._lock:
                    if waiter in self._waiters:
                        self._waiters.remove(waiter)
            if self.device is not None and self.device._tracer is not None:
                self.device._tracer.host_wait(self, value, started)
        if not woke and self._failure is None and self._value < value:
            raise DeadlineExceededError(
                f"semaphore at {self._value}, waiting for {value}: timed out after {timeout} s"
            )

    def add_timepoint(self, value: int, callback: Timepoint) -> Any:
        """Calls ``callback(self)`` once the value reaches ``value`` or the semaphore fails.

        Fires at once (on this thread) if that is already so.  Returns a handle for
        :meth:`remove_timepoint`, or None if it fired.
        """
        with self._lock:
            if self._failure is None and self._value < value:
                tp = [value, callback]
                self._timepoints.append(tp)
                return tp
        callback(self)
        return None

    def remove_timepoint(self, handle: Any) -> None:
        """Forgets a timepoint of :meth:`add_timepoint` that has not fired (else nothing)."""
        with self._lock:
            try:
                self._timepoints.remove(handle)
            except ValueError:
                pass

    def reached(self, value: int) -> bool:
        """True if the value is at least ``value`` (and not failed)."""
        return self._failure is None and self._value >= value


class Event:
    """A command-buffer event: signalled and reset on the queue, waited on by wait_events."""

    __slots__ = ("device", "signaled", "__weakref__")

    def __init__(self, device: Device):
        self.device = device
        self.signaled = False

    def __repr__(self) -> str:
        return f"Event(signaled={self.signaled})"
