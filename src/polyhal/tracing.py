"""Chrome / Perfetto traces of the queue: when each queue operation was submitted, when
it started and completed, what it waited on and signalled, and how long the host blocked
in semaphore waits.

Turn it on for one device with ``with device.trace("out.json"): ...`` (the file is
written when the block ends), or for every device of the process with
``POLYHAL_TRACE=out.json`` or :func:`trace_all` (one file; events are appended as devices
close and the file is finished at exit, or when :func:`trace_all`'s block ends).

The file is the JSON-array form of the trace-event format; open it in
https://ui.perfetto.dev or ``chrome://tracing``.  What it holds:

- every device is a process, named after its URI and device name;
- every queue operation is an async slice named after the call (``queue_execute``,
  ``queue_fill``, ``queue_copy``, ``queue_update``, ``queue_alloca``, ``queue_dealloca``,
  ``queue_host_call``, ``queue_barrier``) from its submission to its completion, with two
  nested slices: ``waiting`` (submitted, its waits not yet met; shown for an operation
  with waits when it lasted at least 1 µs) and ``running`` (started on the queue until
  the driver reported completion).  Its args list the waits and signals as ``"s<N> >= value"`` /
  ``"s<N> = value"`` (``s<N>`` numbers each semaphore in the order the trace first saw it)
  and, for a failed or cancelled operation, its status code and message;
- every host semaphore wait that blocked is a slice ``wait s<N> >= value`` on the thread
  that waited, with how it ended (reached, failed, timed out).

- where the driver measures them (local: ``CLOCK_MONOTONIC`` around each dispatch; vulkan:
  timestamp queries; cuda: event pairs), every dispatch is a slice named after its entry
  point, category ``dispatch``, on the device's ``device`` track, inside its submission's
  ``running`` slice; args: ``workgroups``, ``command_buffer`` (its index in the
  submission), ``dispatch`` (its index among the command buffer's dispatches, nested
  command buffers inlined) and ``submission`` (the queue operation's ``id``).

A traced device's driver device has ``trace`` set to a :class:`DeviceTrace` (drivers that
time dispatches declare the attribute, None when untraced); it decides per submission,
when the driver runs it, whether dispatches are timed.

Off, tracing costs one attribute check (``device._tracer is not None``) in each of the
places it hooks: submission, start and completion of a queue operation, and the end of a
blocking semaphore wait; and one (``trace is not None``) where a driver runs a submission.
"""

from __future__ import annotations

import atexit
import contextlib
import itertools
import json
import logging
import os
import sys
import threading
import time
import weakref
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

from .errors import HalError, InvalidArgumentError

if TYPE_CHECKING:
    from .device import Device, _Submission
    from .semaphore import Semaphore

#: The environment variable that traces every device of the process into one file.
TRACE_ENV = "POLYHAL_TRACE"

_log = logging.getLogger(__name__)

# One clock for every tracer of the process, so that traces of several devices line up.
_EPOCH_NS = time.perf_counter_ns()
_ENCODER = json.JSONEncoder(separators=(",", ":"), default=str)
#: Events kept in memory before they are appended to the file.
_FLUSH_EVERY = 4096


def now_ns() -> int:
    """The trace clock: ``time.perf_counter_ns()``, the clock every event is measured on."""
    return time.perf_counter_ns()


def _us(ns: int) -> float:
    return (ns - _EPOCH_NS) / 1000.0


class _Record:
    """One queue operation: raw numbers only, turned into events when written, so that
    tracing adds little to each operation."""

    __slots__ = (
        "seq",
        "op",
        "pid",
        "tid",
        "waits",
        "signals",
        "submitted",
        "started",
        "ended",
        "error",
        "state",
    )

    def __init__(
        self,
        seq: int,
        op: str,
        pid: int,
        tid: int,
        waits: tuple[tuple[int, int], ...],
        signals: tuple[tuple[int, int], ...],
    ):
        self.seq, self.op, self.pid, self.tid = seq, op, pid, tid
        self.waits, self.signals = waits, signals  # ((semaphore number, value), …)
        self.submitted = now_ns()
        self.started: int | None = None
        self.ended = 0
        self.error: str | None = None
        self.state: str | None = None

    def events(self) -> list[str]:
        """The async slices of this operation, as JSON trace events.

        Formatted by hand rather than by ``json.dumps`` of a dict per event: writing is
        most of what tracing costs, and only ``args`` holds free text.
        """
        args: dict[str, object] = {}
        if self.waits:
            args["waits"] = [f"s{n} >= {v}" for n, v in self.waits]
        if self.signals:
            args["signals"] = [f"s{n} = {v}" for n, v in self.signals]
        if self.error is not None:
            args["error"] = self.error
        if self.state is not None:
            args["state"] = self.state
        tail = f'"cat":"queue","id":{self.seq},"pid":{self.pid},"tid":{self.tid}}}'
        submitted, ended = _us(self.submitted), _us(self.ended)
        events = [
            f'{{"ph":"b","name":"{self.op}","ts":{submitted},"args":{_ENCODER.encode(args)},{tail}'
        ]
        if self.started is not None:
            started = _us(self.started)
            if self.waits and self.started - self.submitted >= 1000:
                events += [
                    f'{{"ph":"b","name":"waiting","ts":{submitted},{tail}',
                    f'{{"ph":"e","name":"waiting","ts":{started},{tail}',
                ]
            events += [
                f'{{"ph":"b","name":"running","ts":{started},{tail}',
                f'{{"ph":"e","name":"running","ts":{ended},{tail}',
            ]
        events.append(f'{{"ph":"e","name":"{self.op}","ts":{ended},{tail}')
        return events


class Tracer:
    """Collects trace events and writes them to ``path`` (JSON trace-event array).

    Thread-safe: queue threads, completion threads and the host all report into it.
    Events are kept in memory until :meth:`flush` (or :meth:`close`, or every few
    thousand operations) appends them to the file; :meth:`close` finishes the JSON array.
    Open a tracer with :meth:`polyhal.Device.trace` or :func:`trace_all` rather than
    directly.
    """

    def __init__(self, path: str | os.PathLike[str]):
        """A tracer writing to ``path``, created (or truncated) at once.

        InvalidArgumentError if ``path`` is not a path or the file cannot be created.
        """
        if not isinstance(path, (str, os.PathLike)) or not os.fspath(path):
            raise InvalidArgumentError(f"trace path is a file name, got {path!r}")
        self.path = os.fspath(path)
        try:
            self._file = open(self.path, "w", encoding="utf-8")  # noqa: SIM115 - kept open
            self._file.write("[")
        except OSError as e:  # a bad path should fail where it is given, not at close()
            raise InvalidArgumentError(f"cannot write the trace to {self.path!r}: {e}") from None
        self._lock = threading.Lock()
        self._events: list[dict[str, object] | _Record] = []  # event dicts and _Records, in order
        self._records: dict[_Submission, _Record] = {}
        self._seq = itertools.count(1)
        self._pids: weakref.WeakKeyDictionary[Device, int] = weakref.WeakKeyDictionary()
        self._sems: weakref.WeakKeyDictionary[Semaphore, int] = weakref.WeakKeyDictionary()
        self._tids: dict[tuple[int, int | str], int] = {}
        self._next_pid = self._next_sem = 0  # numbers are never reused, unlike weak keys
        self._written = 0
        self.closed = False

    # -- the clock and events a driver may add --------------------------------------------
    @staticmethod
    def now_us() -> float:
        """Now on the trace clock, in microseconds since the trace epoch."""
        return _us(now_ns())

    @staticmethod
    def ns_to_us(ns: int) -> float:
        """A ``time.perf_counter_ns()`` reading as a trace timestamp in microseconds."""
        return _us(ns)

    def complete_event(
        self,
        name: str,
        start_us: float,
        dur_us: float,
        *,
        device: Device | None = None,
        tid: int | str | None = None,
        cat: str = "device",
        args: dict[str, object] | None = None,
    ) -> None:
        """Adds one slice: ``name`` from ``start_us`` lasting ``dur_us`` (microseconds on
        the trace clock, see :meth:`now_us`).

        ``device`` puts it in that device's process; ``tid`` names its track (an int, or a
        label such as ``"dispatch"`` that becomes a named track of its own).
        """
        pid = self._pid(device) if device is not None else 0
        event: dict[str, object] = {
            "ph": "X",
            "name": name,
            "cat": cat,
            "pid": pid,
            "tid": self._tid(tid, pid),
            "ts": start_us,
            "dur": max(dur_us, 0.0),
        }
        if args:
            event["args"] = args
        with self._lock:
            self._events.append(event)

    # -- hooks called by the front end (device.py, semaphore.py) --------------------------
    def submitted(
        self,
        sub: _Submission,
        waits: Sequence[tuple[Semaphore, int]],
        signals: Sequence[tuple[Semaphore, int]],
    ) -> None:
        """A queue operation ``sub`` was submitted with these (semaphore, value) lists."""
        pid = self._pids.get(sub.device) or self._pid(sub.device)
        tid = self._tids.get((pid, threading.get_ident())) or self._tid(None, pid)
        sems = self._sems
        record = _Record(
            next(self._seq),
            _operation_name(),
            pid,
            tid,
            tuple((sems.get(s) or self._sem(s), v) for s, v in waits),
            tuple((sems.get(s) or self._sem(s), v) for s, v in signals),
        )
        self._records[sub] = record

    def started(self, sub: _Submission) -> None:
        """``sub`` started running on the queue (its waits were met)."""
        record = self._records.get(sub)
        if record is not None:
            record.started = now_ns()

    def completed(self, sub: _Submission, error: HalError | None) -> None:
        """``sub`` completed (``error`` None) or failed / was cancelled."""
        end = now_ns()
        record = self._records.pop(sub, None)
        if record is None:  # submitted before this tracer was attached
            return
        record.ended = end
        if error is not None:
            record.error = f"{error.code.name}: {error}"
        with self._lock:
            self._events.append(record)
            full = len(self._events) >= _FLUSH_EVERY
        if full:  # bounded memory for long traces; the file grows instead
            self.flush()

    def host_wait(self, semaphore: Semaphore, value: int, started_ns: int) -> None:
        """The calling thread blocked in ``semaphore.wait(value)`` since ``started_ns``.

        Called with the semaphore's lock held, so its state tells how the wait ended.
        """
        end = now_ns()
        if semaphore.failed:
            outcome = "failed"
        elif semaphore.query() >= value:
            outcome = "reached"
        else:
            outcome = "timed out"
        device = semaphore.device
        pid = self._pid(device) if device is not None else 0
        event = {
            "ph": "X",
            "cat": "host",
            "name": f"wait s{self._sem(semaphore)} >= {value}",
            "pid": pid,
            "tid": self._tid(None, pid),
            "ts": _us(started_ns),
            "dur": (end - started_ns) / 1000.0,
            "args": {"outcome": outcome},
        }
        with self._lock:
            self._events.append(event)

    def device_closed(self, device: Device) -> None:
        """``device`` was released: write what was collected so far."""
        self.flush()

    # -- output -------------------------------------------------------------------------
    def flush(self) -> None:
        """Appends the events collected so far to the file."""
        with self._lock:
            if self.closed:
                return
            events, self._events = self._events, []
            self._write(events)

    def close(self) -> None:
        """Writes everything, operations still pending marked as such, and finishes the
        JSON array.  Later calls do nothing."""
        end = now_ns()
        with self._lock:
            if self.closed:
                return
            pending, self._records = list(self._records.values()), {}
        for record in pending:
            record.ended, record.state = end, "still pending when the trace ended"
        with self._lock:
            self._events.extend(pending)
            events, self._events = self._events, []
            self._write(events)
            if not self.closed:
                self._file.write("\n]\n")
            self._file.close()
            self.closed = True

    def _write(self, events: list[dict[str, object] | _Record]) -> None:
        """Under the lock: appends events to the file.  A write that fails (a full disk)
        stops the trace with a warning: tracing must never fail the traced program."""
        lines = []
        for item in events:
            if isinstance(item, _Record):
                lines += item.events()
            else:
                lines.append(_ENCODER.encode(item))
        if not lines:
            return
        try:
            self._file.write((",\n" if self._written else "\n") + ",\n".join(lines))
            self._written += len(lines)
            self._file.flush()
        except OSError as e:
            _log.warning("trace %s stopped: %s", self.path, e)
            self.closed = True
            with contextlib.suppress(OSError):
                self._file.close()

    # -- internals ----------------------------------------------------------------------
    def _pid(self, device: Device) -> int:
        with self._lock:
            pid = self._pids.get(device)
            if pid is None:
                self._next_pid += 1
                pid = self._pids[device] = self._next_pid
                self._events.append(
                    {
                        "ph": "M",
                        "name": "process_name",
                        "pid": pid,
                        "tid": 0,
                        "args": {"name": f"polyhal {device.uri} ({device.name})"},
                    }
                )
            return pid

    def _tid(self, label: int | str | None, pid: int) -> int:
        """A small track number for ``label`` (None: the calling thread) in process ``pid``."""
        key: tuple[int, int | str] = (pid, threading.get_ident() if label is None else label)
        with self._lock:
            tid = self._tids.get(key)
            if tid is None:
                tid = self._tids[key] = len(self._tids) + 1
                name = threading.current_thread().name if label is None else str(label)
                self._events.append(
                    {
                        "ph": "M",
                        "name": "thread_name",
                        "pid": pid,
                        "tid": tid,
                        "args": {"name": name},
                    }
                )
            return tid

    def _sem(self, semaphore: Semaphore) -> int:
        """The semaphore's number in this trace (``s<N>``), given at first sight."""
        with self._lock:
            n = self._sems.get(semaphore)
            if n is None:
                self._next_sem += 1
                n = self._sems[semaphore] = self._next_sem
            return n


class DeviceTrace:
    """What a traced device's driver device holds in ``trace``: where its dispatch times go.

    A driver asks :meth:`submission` when it runs a submission (on the thread running it)
    and reports each timed dispatch with :meth:`dispatch` once the times are known, from
    any thread.
    """

    __slots__ = ("tracer", "_device")

    def __init__(self, tracer: Tracer, device: Device):
        self.tracer = tracer
        self._device = weakref.ref(device)  # the device holds its driver, which holds this

    def submission(self) -> int | None:
        """The trace id of the queue operation the calling thread is running, or None
        (submitted before the tracer was attached)."""
        device = self._device()
        if device is None:
            return None
        running = getattr(device._tls, "running", None)
        record = self.tracer._records.get(running) if running is not None else None
        return record.seq if record is not None else None

    def dispatch(
        self,
        name: str,
        start_ns: int,
        end_ns: int,
        *,
        submission: int | None,
        command_buffer: int,
        dispatch: int,
        workgroups: tuple[int, int, int] | None,
    ) -> None:
        """Adds one dispatch slice, ``start_ns``..``end_ns`` on the trace clock
        (:func:`now_ns`); ``workgroups`` is (x, y, z), or None for an indirect dispatch."""
        device = self._device()
        if device is None:
            return
        self.tracer.complete_event(
            name,
            _us(start_ns),
            (end_ns - start_ns) / 1000.0,
            device=device,
            tid="device",
            cat="dispatch",
            args={
                "workgroups": list(workgroups) if workgroups else "indirect",
                "command_buffer": command_buffer,
                "dispatch": dispatch,
                "submission": submission,
            },
        )


def _set_tracer(device: Device, tracer: Tracer | None) -> None:
    """Traces ``device`` into ``tracer`` (None: untraced), its driver's dispatches too."""
    device._tracer = tracer
    device._driver.trace = DeviceTrace(tracer, device) if tracer is not None else None


def _operation_name() -> str:
    """The public queue call that led to this submission (``queue_fill`` and the like).

    Every queue operation funnels into ``Device._submit``, and the transfer calls go
    through ``queue_execute``: the outermost ``queue_*`` frame of device.py above the
    hook names the operation.  Only reached with tracing on.
    """
    name = "queue_execute"
    submit = sys._getframe(2)  # _operation_name ← submitted ← Device._submit
    device_file = submit.f_code.co_filename
    frame = submit.f_back
    while frame is not None and frame.f_code.co_filename == device_file:
        if frame.f_code.co_name.startswith("queue_"):
            name = frame.f_code.co_name
        frame = frame.f_back
    return name


# -- turning it on ---------------------------------------------------------------------------
_process_lock = threading.Lock()
_process_tracer: Tracer | None = None
_env_checked = False


def attach(device: Device) -> None:
    """Called by ``create_device``: traces ``device`` into the process-wide tracer when
    :func:`trace_all` is active or ``POLYHAL_TRACE`` is set."""
    global _process_tracer, _env_checked
    if _process_tracer is None and not _env_checked:
        with _process_lock:
            path = os.environ.get(TRACE_ENV)
            _env_checked = True
            if path and _process_tracer is None:
                try:
                    _process_tracer = Tracer(path)
                except InvalidArgumentError as e:  # the program runs on, untraced
                    _log.warning("%s=%s: %s", TRACE_ENV, path, e)
                    return
                atexit.register(_process_tracer.close)
                _log.info("tracing every device of this process to %s (%s)", path, TRACE_ENV)
    if _process_tracer is not None and not _process_tracer.closed:
        _set_tracer(device, _process_tracer)


@contextmanager
def trace_device(device: Device, path: str | os.PathLike[str]) -> Iterator[Tracer]:
    """``Device.trace``: traces ``device`` into ``path`` while the block runs.

    The tracer replaces any process-wide one for this device during the block and gives
    the device back to it afterwards.  The file is complete when the block ends.
    """
    tracer = Tracer(path)
    previous = device._tracer
    _set_tracer(device, tracer)
    _log.info("tracing %s to %s", device.uri, tracer.path)
    try:
        yield tracer
    finally:
        _set_tracer(device, previous)
        tracer.close()


@contextmanager
def trace_all(path: str | os.PathLike[str]) -> Iterator[Tracer]:
    """Traces every device created while the block runs into ``path`` (what
    ``POLYHAL_TRACE`` does for a whole process); the file is complete when it ends."""
    global _process_tracer
    tracer = Tracer(path)
    with _process_lock:
        previous, _process_tracer = _process_tracer, tracer
    try:
        yield tracer
    finally:
        with _process_lock:
            _process_tracer = previous
        tracer.close()
