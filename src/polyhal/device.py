"""The device front end: memory, executables, command buffers and the queue.

The queue orders work by timeline semaphores only.  A submission whose waits are met is
handed to the driver at once, on the caller's thread (the driver decides where it runs:
``local`` runs short work inline and hands long work to a runner thread, ``local-sync``
runs everything inline, the GPU drivers enqueue); otherwise it is parked on timepoints of
its wait semaphores and started when the last one is reached: inline on the signalling
thread for ``local-sync``, on the device's issue thread for the others.  Host calls
(user code that may block) run on a host-call thread of their own, except on
``local-sync``.  A submission holds every resource it uses until the driver reports
completion, and a dealloca of a buffer that pending work names waits for that work.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import queue as _queue
import threading
import time
from collections import deque
from collections.abc import Callable, Collection, Iterable, Sequence
from typing import Any

from . import _stream, drivers, hazards, tracing
from ._args import as_flags, as_index
from .buffer import Buffer, _as_bytes_view, resolve_range
from .collective import Channel
from .command_buffer import _EXECUTABLE as _CB_EXECUTABLE
from .command_buffer import CommandBuffer
from .drivers.base import Allocation, DriverDevice, ResolvedBinding, Work
from .errors import (
    AbortedError,
    CancelledError,
    DeadlineExceededError,
    FailedPreconditionError,
    HalError,
    InternalError,
    InvalidArgumentError,
    NotFoundError,
    ResourceExhaustedError,
    UnimplementedError,
)
from .executable import Executable, ExecutableSource
from .semaphore import MAX_PAYLOAD, Event, Semaphore, check_payload, check_timeout
from .types import (
    WHOLE_BUFFER,
    BufferUsage,
    CommandBufferMode,
    CommandCategory,
    MemoryAccess,
    MemoryType,
    WaitMode,
)

Pairs = Sequence[tuple[Semaphore, int]]
#: What a driver calls once a submission completed: None, or the error it failed with.
Done = Callable[[HalError | None], None]
#: A queue operation: runs the submission's work and calls ``done`` exactly once.
Action = Callable[[Done], None]

_log = logging.getLogger(__name__)


def available_drivers() -> list[str]:
    """Drivers that have at least one device on this machine (``local-sync`` aside)."""
    return [n for n in drivers.DRIVER_MODULES if n != "local-sync" and drivers.probe(n)[0] > 0]


def create_device(uri: str | None = None, **options: Any) -> Device:
    """Opens a device: ``uri`` is "local", "local-sync", "vulkan[:N]", "cuda[:N]" or
    "metal"; None means ``$POLYHAL_DEVICE`` or "local".

    NotFoundError (listing what is available) for an unknown or unavailable driver.
    """
    if uri is not None and not isinstance(uri, str):
        raise InvalidArgumentError(
            f"device uri is a string like 'local' or 'vulkan:0', got {uri!r}"
        )
    uri = uri or os.environ.get("POLYHAL_DEVICE") or "local"
    name, colon, index_text = uri.partition(":")
    if name not in drivers.DRIVER_MODULES:
        raise NotFoundError(
            f"unknown driver {name!r}; known: {sorted(drivers.DRIVER_MODULES)}, "
            f"available here: {available_drivers()}"
        )
    if colon and not index_text.isdigit():  # "vulkan:", "vulkan:0 ", "cuda:-1", "cuda:x"
        raise NotFoundError(
            f"bad device index in {uri!r}: the form is 'driver' or "
            "'driver:N' with N a device number"
        )
    index = int(index_text) if colon else 0
    count, reason = drivers.probe(name)
    if index < 0 or index >= count:
        why = reason or f"{name} has {count} device(s)"
        raise NotFoundError(f"no device {uri!r}: {why}; available here: {available_drivers()}")
    module, _ = drivers.load(name)
    dispatch_type = options.get("dispatch_type", "concurrent")
    if dispatch_type not in ("concurrent", "serial"):
        raise InvalidArgumentError(
            f"dispatch_type is 'concurrent' or 'serial', got {dispatch_type!r}"
        )
    options = dict(options)
    options["checked"] = _checked_option(options.get("checked"))
    device = Device(name, module.create_device(name, index, options), uri)  # type: ignore[union-attr]
    device.checked = options["checked"]
    _log.info("create_device(%r): %s (checked=%s)", uri, device.name, device.checked)
    tracing.attach(device)
    return device


def _checked_option(value: Any) -> bool:
    """``checked=`` of create_device; None means ``$POLYHAL_CHECKED`` (1/true/yes/on)."""
    if value is None:
        text = os.environ.get("POLYHAL_CHECKED", "").strip().lower()
        if text in ("", "0", "false", "no", "off"):
            return False
        if text in ("1", "true", "yes", "on"):
            return True
        raise InvalidArgumentError(f"POLYHAL_CHECKED is 1 or 0, got {text!r}")
    if not isinstance(value, bool):
        raise InvalidArgumentError(f"checked is True or False, got {value!r}")
    return value


class _Submission:
    """One queue operation: its waits, its action, its signals, what it keeps alive."""

    __slots__ = ("device", "action", "signals", "keep", "pending", "finished", "handles", "uses")

    #: Guards ``pending``, ``finished`` and ``handles`` of every submission: held for a few
    #: steps, never around a call, so one lock serves them all (and a submission costs no
    #: lock of its own to make).
    lock = threading.Lock()

    def __init__(
        self, device: Device, action: Action, signals: list[tuple[Semaphore, int]], keep: Any
    ):
        self.device = device
        self.action = action
        self.signals = signals
        self.keep = keep
        self.pending = 0
        self.finished = False
        # (semaphore, timepoint handle) while parked
        self.handles: list[tuple[Semaphore, Any]] | tuple[()] = ()
        self.uses: Any = ()  # allocations named by this submission (see Device._submit)

    def on_timepoint(self, semaphore: Semaphore) -> None:
        with self.lock:
            if self.finished:
                return
            failure = semaphore.error()
            if failure is None:
                self.pending -= 1
                if self.pending:
                    return
        if failure is not None:
            self.complete(failure)
        else:
            self.device._start(self, self.device._driver.run_deferred_inline)

    def run(self) -> None:
        if self.device._tracer is not None:
            self.device._tracer.started(self)
        tls = self.device._tls
        outer, tls.running = getattr(tls, "running", None), self
        try:
            self.action(self.complete)
        except HalError as e:
            self.complete(e)
        except Exception as e:  # a driver bug must still release the queue
            self.complete(InternalError(f"driver failed: {e!r}"))
        finally:
            tls.running = outer

    def complete(self, error: HalError | None) -> None:
        with self.lock:
            if self.finished:
                return
            self.finished = True
            handles, self.handles = self.handles, ()
        if self.device._tracer is not None:
            self.device._tracer.completed(self, error)
        for sem, handle in handles:
            sem.remove_timepoint(handle)
        if self.device.checked:  # before the signals: a host that waited may access at once
            hazards.untrack(self)
        if error is None:
            for sem, value in self.signals:
                sem.signal_from_queue(value)
        else:
            for sem, _ in self.signals:
                sem.fail(error.code, str(error))
        self.keep = None
        self.action = None  # type: ignore[assignment]
        self.device._retire(self, self.uses)


class Device(_stream.DeviceBase):
    """A device of one driver, from :func:`create_device`; a context manager whose exit
    closes it.

    ``driver`` is the URI's driver part ("local", "vulkan", …), ``uri`` the URI, ``name``
    the device's name, ``info`` a dict with the vendor, ``executable_formats`` and
    ``limits``, ``checked`` whether checked mode is on.  Every method may be called from
    any thread; after :meth:`close`, those that allocate, create or queue work raise
    FailedPreconditionError (semaphores keep working: they outlive the device).
    """

    def __init__(self, driver: str, driver_device: DriverDevice, uri: str):
        self.driver = driver
        self.uri = uri
        self._driver = driver_device
        self.name: str = driver_device.name
        self.info: dict[str, Any] = dict(driver_device.info)
        self.info.setdefault("limits", driver_device.limits.as_dict())
        self.info.setdefault("executable_formats", list(driver_device.executable_formats))
        # The queue lock; the hot paths (submit, retire) take the mutex under it directly,
        # which costs half as much as entering the Condition.
        self._mutex = threading.Lock()
        self._lock = threading.Condition(self._mutex)
        self._inflight: set[_Submission] = set()
        self._running = 0  # submissions of queue_execute's short path not yet finished
        self._idle_waiters = 0
        self._calls = 0  # driver calls outside the queue (allocate, load, host copies) now
        self._issue_queue: _queue.SimpleQueue[_Submission | None] | None = None
        self._host_calls: _queue.SimpleQueue[Any] | None = None  # see queue_host_call
        self._tls = threading.local()
        self._closed = False  # close() was called: new work is refused
        self._released = False  # the driver device was closed
        self._release_when_idle = False  # close() came from inside queue work
        #: Checked mode (create_device(checked=True) or POLYHAL_CHECKED=1): kernel faults
        #: become typed submission failures where the driver can catch them, and hazards
        #: raise FailedPreconditionError.
        self.checked = False
        self._tracer: tracing.Tracer | None = None  # set while a trace is recorded
        self._guard = _DriverCall(self)  # see _driver_call
        # queue_execute's short path (_execute_one) starts work without the trampoline of
        # _start, which a driver that runs deferred work inline needs.
        self._lean = not driver_device.run_deferred_inline

    def __repr__(self) -> str:
        return f"Device({self.uri!r}, {self.name!r})"

    def __enter__(self) -> Device:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- memory ------------------------------------------------------------------------------
    def allocate_buffer(
        self,
        size: int,
        *,
        memory_type: MemoryType = MemoryType.OPTIMAL,
        usage: BufferUsage = BufferUsage.DEFAULT,
        access: MemoryAccess = MemoryAccess.ALL,
    ) -> Buffer:
        """Allocates ``size`` bytes (0 is valid); contents are undefined.

        InvalidArgumentError for a size that is not an integer >= 0 or flags that are not
        of their enum; ResourceExhaustedError beyond the device's ``max_allocation_size``
        or when memory runs out; FailedPreconditionError on a closed device.
        """
        self._check_open()
        # Flag arithmetic on enums costs microseconds each (Python's enum), and programs
        # allocate on every call (IREE's transients): the validated flags are memoized per
        # argument (type and value: True must not pass as 1).
        key = (type(memory_type), memory_type, type(usage), usage, type(access), access)
        try:
            flags = _ALLOCATION_FLAGS[key]
        except (KeyError, TypeError):  # TypeError: an unhashable argument, refused here
            flags = _allocation_flags(memory_type, usage, access)
            if len(_ALLOCATION_FLAGS) < 256:
                _ALLOCATION_FLAGS[key] = flags
        if type(size) is not int:
            size = as_index(size, "buffer size")
        if size < 0:
            raise InvalidArgumentError(f"buffer size must be >= 0, got {size}")
        if size > self._driver.limits.max_allocation_size:
            raise ResourceExhaustedError(
                f"buffer of {size} bytes exceeds the device's "
                f"{self._driver.limits.max_allocation_size}"
            )
        memory_type, usage_bits, usage, access = flags
        # _driver_call's two steps called directly (as CommandBuffer.end does): the driver
        # device is not released during the call.
        self._enter_driver_call()
        try:
            alloc = self._driver.allocate(size, memory_type, usage_bits)
        finally:
            self._exit_driver_call()
        return Buffer(self, alloc, 0, size, alloc.memory_type, usage, access)

    def import_buffer(self, array: Any, *, usage: BufferUsage = BufferUsage.DEFAULT) -> Buffer:
        """A Buffer over the memory of another library's array, without a copy; the
        buffer keeps ``array`` alive and writes through either side are seen by the other.

        ``cuda``: a C-contiguous CUDA array with ``__cuda_array_interface__`` or
        ``__dlpack__`` (CuPy, PyTorch, …); its producer's pending work on its stream is
        waited for.  InvalidArgumentError for an array the driver cannot take;
        UnimplementedError on drivers that import no memory.
        """
        self._check_open()
        usage = as_flags(BufferUsage, usage, "usage")
        with self._driver_call():
            alloc = self._driver.import_memory(array)
        return Buffer(
            self, alloc, 0, alloc.size, alloc.memory_type, BufferUsage(usage), MemoryAccess.ALL
        )

    def buffer_from(
        self,
        data: Any,
        *,
        usage: BufferUsage = BufferUsage.DEFAULT,
        memory_type: MemoryType = MemoryType.OPTIMAL,
    ) -> Buffer:
        """A new buffer holding a copy of ``data`` (bytes-like or numpy array), of
        ``len(data)`` bytes; InvalidArgumentError for anything else, other errors as
        :meth:`allocate_buffer`."""
        self._check_open()
        view = _as_bytes_view(data)
        buffer = self.allocate_buffer(len(view), memory_type=memory_type, usage=usage)
        if len(view):  # the driver stages the copy when the memory is not host-visible
            with self._driver_call():
                self._driver.write(buffer.alloc, 0, view)
        return buffer

    # -- executables -------------------------------------------------------------------------
    def create_executable(self, source: ExecutableSource) -> Executable:
        """Loads the first format of ``source`` (in its mapping's order) that the driver
        accepts.

        UnimplementedError (naming the accepted formats) if there is none;
        InvalidArgumentError for something that is not an ExecutableSource, a workgroup
        size beyond the device's limits, or a format that fails to compile or load (with
        the compiler's message).
        """
        self._check_open()
        if not isinstance(source, ExecutableSource):
            raise InvalidArgumentError(f"expected ExecutableSource, got {type(source).__name__}")
        limits = self._driver.limits
        for ep in source.entry_points:
            size = ep.workgroup_size
            if (
                any(v > m for v, m in zip(size, limits.max_workgroup_size, strict=True))
                or size[0] * size[1] * size[2] > limits.max_workgroup_invocations
            ):
                raise InvalidArgumentError(
                    f"entry point {ep.name!r}: workgroup size {size} exceeds the device's "
                    f"{limits.max_workgroup_size} (at most "
                    f"{limits.max_workgroup_invocations} invocations)"
                )
        accepted = self._driver.executable_formats
        for fmt, payload in source.formats.items():
            if fmt in accepted:
                with self._driver_call():
                    native = self._driver.load_executable(fmt, payload, source.entry_points)
                # Some formats (IREE libraries) describe their own entry points.
                entry_points = source.entry_points or native.entry_points
                if not entry_points:
                    raise InvalidArgumentError(f"format {fmt!r} needs the entry points named")
                _log.debug(
                    "%s: executable of %d entry point(s) loaded from format %r (the source has %s)",
                    self.uri,
                    len(entry_points),
                    fmt,
                    list(source.formats),
                )
                return Executable(self, entry_points, fmt, native)
        raise UnimplementedError(
            f"the {self.driver} driver loads formats {list(accepted)}; "
            f"the source has {list(source.formats)}"
        )

    # -- command buffers, semaphores, events ---------------------------------------------------
    def create_command_buffer(
        self,
        mode: CommandBufferMode = CommandBufferMode.ONE_SHOT,
        categories: CommandCategory = CommandCategory.ANY,
        binding_capacity: int = 0,
    ) -> CommandBuffer:
        """A command buffer to record into (``with cb:`` or begin() ... end()).

        ``mode``: ONE_SHOT (submitted once) or DEFAULT (reusable); ``categories`` limits the
        commands it may record; ``binding_capacity`` is how many ``hal.Slot`` entries of a
        binding table it may reference.
        """
        self._check_open()
        return CommandBuffer(self, mode, categories, binding_capacity)

    def create_semaphore(self, initial_value: int = 0) -> Semaphore:
        """A timeline semaphore starting at ``initial_value`` (a uint64)."""
        self._check_open()
        return Semaphore(self, initial_value)

    def create_channel(
        self,
        rank: int | None = None,
        count: int | None = None,
        *,
        id: bytes | None = None,  # noqa: A002 - the contract's name
        timeout: float | None = None,
        **options: object,
    ) -> Channel:
        """A collective group (:class:`polyhal.Channel`) of ``count`` ranks, this device
        being ``rank``; every rank of the group calls it.

        ``rank`` and ``count`` None: from the launcher that started the process
        (torch.distributed once initialized, else MPI through mpi4py), which also carries
        the rendezvous token from rank 0 to the others; with no launcher, a channel of one
        rank.  Explicit: ``id`` is the token of ``Channel.unique_id()`` every rank shares.
        ``timeout`` (seconds, default ``polyhal.collective.DEFAULT_TIMEOUT``): how long a
        collective waits for its peers before its submission fails.  ``options`` go to
        the driver.  OutOfRangeError for a rank outside [0, count), InvalidArgumentError
        for bad values, UnimplementedError on a driver without collectives,
        DeadlineExceededError when the other ranks do not come in time.
        """
        self._check_open()
        from .collective import create_channel

        return create_channel(self, rank, count, id, timeout, options)

    def create_event(self) -> Event:
        """An event for signal_event / wait_events inside command buffers."""
        self._check_open()
        return Event(self)

    # -- the queue ---------------------------------------------------------------------------
    def queue_execute(
        self,
        command_buffers: CommandBuffer | Sequence[CommandBuffer] = (),
        *,
        wait: Pairs = (),
        signal: Pairs = (),
        binding_table: Sequence[Any] | None = None,
    ) -> None:
        """Runs command buffers (one after another) once every wait is reached, then
        signals.  Returns at once; never blocks on a wait.

        ``wait`` / ``signal`` are ``(Semaphore, value)`` pairs; ``binding_table`` resolves
        ``hal.Slot(i)`` (entry ``i``: a Buffer or ``(buffer, offset, length)``), checked
        and captured now.  InvalidArgumentError for anything that is not a command buffer
        of this device, a bad pair or table entry; FailedPreconditionError for a command
        buffer not ended, a one-shot one submitted again, or a closed device;
        OutOfRangeError / PermissionDeniedError when a slot's range or usage does not fit
        its table entry.  A failure while running fails the signal semaphores instead.
        """
        if (
            type(command_buffers) is CommandBuffer
            and self._lean
            and not self._closed
            and not self.checked
            and self._tracer is None
            and type(wait) in (list, tuple)
            and (not wait or self._all_reached(wait))
        ):
            self._execute_one(
                command_buffers,
                signal,
                () if binding_table is None else self._resolve_binding_table(binding_table),
            )
            return
        self._check_open()
        if isinstance(command_buffers, CommandBuffer):
            cbs = [command_buffers]
        elif isinstance(command_buffers, (list, tuple)):
            cbs = list(command_buffers)
        else:
            raise InvalidArgumentError(
                "queue_execute takes a CommandBuffer or a list of them, "
                f"got {type(command_buffers).__name__}"
            )
        table = (
            tuple(self._resolve_binding_table(binding_table)) if binding_table is not None else ()
        )
        for cb in cbs:
            if not isinstance(cb, CommandBuffer):
                raise InvalidArgumentError(f"expected CommandBuffer, got {type(cb).__name__}")
            if cb.device is not self:
                raise InvalidArgumentError("command buffer belongs to another device")
            cb.check_submittable()
            if cb.uses_slots:
                cb.check_slots(table)
        waits, signals = self._pairs(wait, "wait"), self._pairs(signal, "signal")
        keep: Any = (cbs, binding_table)
        if self.checked:  # races through slots raise here; the tracker gets the ranges
            keep = hazards.Footprint(cbs, table, keep)
        if not cbs:
            self._submit(_noop, waits, signals, None)
            return
        work = [Work(cb.encoded, table) for cb in cbs]
        execute = self._driver.execute
        uses: Collection[Allocation]
        if len(cbs) == 1 and not table:
            uses = cbs[0].allocations  # a tuple: a copy the caller cannot change
        else:
            uses = set().union(*[cb.allocations for cb in cbs], [entry.alloc for entry in table])
        self._submit(lambda done: execute(work, done), waits, signals, keep, uses, cbs)

    @staticmethod
    def _all_reached(wait: Sequence[Any]) -> bool:
        """Whether every wait is a well-formed pair already reached (and not failed): such
        waits cannot hold a submission back, so queue_execute's short path may take it.
        False sends anything else, malformed pairs included, to the general path."""
        for pair in wait:
            if not (_plain_pair(pair) and pair[0].reached(pair[1])):
                return False
        return True

    def _execute_one(
        self, cb: CommandBuffer, signal: Pairs, table: Sequence[ResolvedBinding] = ()
    ) -> None:
        """queue_execute of one command buffer whose waits are all reached, on a driver
        whose deferred work does not run inline, unchecked and untraced (``table``: the
        resolved binding table): what the general path does for it, in fewer steps.

        A host submit to an idle queue is timed against the driver's own launch call
        (issue 10), and it runs cold: after the caller's idle spell each Python frame and
        attribute costs several times its warm price (H200 host: 45 us through the general
        helpers against 24 us written out).  So the checks of ``check_submittable``,
        ``uses_slots`` and ``_pairs`` are written out here, in the same order, and the
        driver gets ``execute_one``.  A whole IREE program's call (polyhal.iree) submits
        this way too, with a binding table."""
        if self._closed:
            raise FailedPreconditionError(f"device {self.uri!r} is closed")
        if cb.device is not self:
            raise InvalidArgumentError("command buffer belongs to another device")
        if cb._state != _CB_EXECUTABLE:
            cb.check_submittable()  # raises: the buffer is not ended
        if cb._slot_checks:
            self._check_slots(cb, table)
        uses = cb.allocations  # a tuple: a copy the caller cannot change
        for alloc in uses:
            if alloc.released:
                raise FailedPreconditionError("command buffer uses a deallocated buffer")
        if table:
            uses = uses + tuple([entry.alloc for entry in table])
        pair = signal[0] if type(signal) is list and len(signal) == 1 else None
        if (
            type(pair) is tuple
            and len(pair) == 2
            and type(pair[0]) is Semaphore
            and type(pair[1]) is int
            and 0 <= pair[1] <= MAX_PAYLOAD
        ):
            signals = [pair]
        else:
            signals = self._pairs(signal, "signal")
        with self._mutex:
            if self._closed:  # checked under the lock: close() may race with this call
                raise FailedPreconditionError(f"device {self.uri!r} is closed")
            if cb._one_shot and cb._submitted:
                raise FailedPreconditionError("a ONE_SHOT command buffer can be submitted once")
            cb._submitted = True
            # Counted, not registered: no waits can park it (close() has none to cancel)
            # and nothing but wait_idle, close() and _retire asks about it.
            self._running += 1
            for alloc in uses:
                alloc.pending_uses += 1
        once = [cb]  # popped by the first completion: the driver reports it once

        def done(error: HalError | None) -> None:
            """_Submission.complete of this submission (its driver's ``done``)."""
            try:
                once.pop()  # atomic: a second report, a driver's bug, does nothing
            except IndexError:
                return
            if error is None:
                for sem, value in signals:
                    sem.signal_from_queue(value)
            else:
                for sem, _ in signals:
                    sem.fail(error.code, str(error))
            self._retire(None, uses)

        # As _Submission.run, without its trampoline and running marker: neither matters
        # here (the driver calls no user code, and a completion it reports on this thread
        # starts what it readies on the issue thread).
        try:
            self._driver.execute_one(cb.encoded, done, table)
        except HalError as e:
            done(e)
        except Exception as e:  # a driver bug must still release the queue
            done(InternalError(f"driver failed: {e!r}"))

    def _check_slots(self, cb: CommandBuffer, table: Sequence[ResolvedBinding]) -> None:
        """``cb.check_slots(table)``, skipped when the last check that passed here for
        ``cb`` had a table of the same lengths and usages, and offsets alike modulo every
        alignment ``cb`` asks of a slot.  That is all the check reads when ``cb`` has no
        slot copies (its slot references are fixed once it is ended), and what an IREE
        program submits on every call: its recorded command buffers, fresh buffers of the
        same sizes (at varying offsets into its arena).  Copies through slots are still
        checked for overlap: that reads where the entries are."""
        last = cb._slots_passed
        if last is None:
            # An offset's remainder modulo each alignment follows from this one's.
            modulus = math.lcm(*[align for _, align, _ in cb._slot_alignments])
        else:
            modulus = last[1]
        key: list[int] = []
        for entry in table:  # a flat list: a comprehension's frame costs more
            key += (entry.length, entry.usage, entry.offset % modulus)
        if last is not None and last[0] == key:
            # The same lengths: every slot is in the table.  Only where copies through
            # slots land can differ from the last time.
            if cb._slot_copies:
                cb.check_slot_copies(table)
            return
        cb.check_slots(table)
        cb._slots_passed = (key, modulus)  # one store: another thread sees either whole

    def queue_barrier(self, *, wait: Pairs = (), signal: Pairs = ()) -> None:
        """Signals once every wait is reached."""
        self.queue_execute((), wait=wait, signal=signal)

    def _transfer(
        self, record: Callable[[CommandBuffer], None], wait: Pairs, signal: Pairs
    ) -> None:
        self._check_open()
        cb = CommandBuffer(self, CommandBufferMode.ONE_SHOT, CommandCategory.TRANSFER)
        cb.begin()
        record(cb)
        cb.end()
        self.queue_execute(cb, wait=wait, signal=signal)

    def queue_fill(
        self,
        target: Buffer,
        offset: int,
        length: int,
        pattern: int | bytes,
        *,
        pattern_length: int | None = None,
        wait: Pairs = (),
        signal: Pairs = (),
    ) -> None:
        """Fills ``[offset, offset + length)`` of ``target`` with ``pattern`` (as
        CommandBuffer.fill_buffer) after the waits, then signals."""
        self._transfer(
            lambda cb: cb.fill_buffer(target, offset, length, pattern, pattern_length), wait, signal
        )

    def queue_update(
        self,
        source: Any,
        source_offset: int,
        target: Buffer,
        target_offset: int,
        length: int,
        *,
        wait: Pairs = (),
        signal: Pairs = (),
    ) -> None:
        """Copies host bytes, captured now, into ``target`` after the waits."""
        self._transfer(
            lambda cb: cb.update_buffer(source, source_offset, target, target_offset, length),
            wait,
            signal,
        )

    def queue_copy(
        self,
        source: Buffer,
        source_offset: int,
        target: Buffer,
        target_offset: int,
        length: int,
        *,
        wait: Pairs = (),
        signal: Pairs = (),
    ) -> None:
        """Copies ``length`` bytes from ``source`` to ``target`` (as
        CommandBuffer.copy_buffer) after the waits, then signals."""
        self._transfer(
            lambda cb: cb.copy_buffer(source, source_offset, target, target_offset, length),
            wait,
            signal,
        )

    def queue_alloca(
        self,
        size: int,
        *,
        wait: Pairs = (),
        signal: Pairs = (),
        memory_type: MemoryType = MemoryType.OPTIMAL,
        usage: BufferUsage = BufferUsage.DEFAULT,
        access: MemoryAccess = MemoryAccess.ALL,
    ) -> Buffer:
        """A buffer of ``size`` bytes that may be used once ``signal`` fires; errors as
        :meth:`allocate_buffer`."""
        waits, signals = self._pairs(wait, "wait"), self._pairs(signal, "signal")
        buffer = self.allocate_buffer(size, memory_type=memory_type, usage=usage, access=access)
        self._submit(_noop, waits, signals, buffer)
        return buffer

    def queue_dealloca(self, buffer: Buffer, *, wait: Pairs = (), signal: Pairs = ()) -> None:
        """Releases ``buffer`` after the waits; any later use is FailedPreconditionError."""
        self._check_open()
        if not isinstance(buffer, Buffer) or buffer.device is not self:
            raise InvalidArgumentError("queue_dealloca takes a Buffer of this device")
        buffer.check_live()
        alloc = buffer.alloc
        waits, signals = self._pairs(wait, "wait"), self._pairs(signal, "signal")

        def release(done: Done) -> None:
            with self._lock:
                alloc.released = True
                # Work submitted earlier that names the buffer (parked on a semaphore, or
                # running) keeps its memory: the last of it to retire releases it.
                alloc.release_deferred = alloc.pending_uses > 0
            if not alloc.release_deferred:
                self._driver.release(alloc)
            done(None)

        self._submit(release, waits, signals, alloc)

    def queue_host_call(
        self, fn: Callable[[], Any], *, wait: Pairs = (), signal: Pairs = ()
    ) -> None:
        """Calls ``fn()`` after the waits; if it raises, the signals fail.

        ``fn`` runs on the device's host-call thread, one call after another, never inside
        this call nor on the thread that issues other work, so a function that blocks
        delays only later host calls (on ``local-sync``, whose queue is the calling thread,
        it runs inline: here when its waits are met, else in the ``signal`` that meets
        them); it may call ``close()`` of this device, which then finishes once the queue
        drains.
        """
        self._check_open()
        if not callable(fn):
            raise InvalidArgumentError("queue_host_call takes a callable")
        waits, signals = self._pairs(wait, "wait"), self._pairs(signal, "signal")

        def call(done: Done) -> None:
            try:
                fn()
            except HalError as e:
                done(e)
                return
            except Exception as e:
                done(AbortedError(f"host call raised {e!r}"))
                return
            done(None)

        if self._driver.run_deferred_inline:
            self._submit(call, waits, signals, fn)
            return

        # fn is user code of any length that may wait for what the caller does after this
        # call returns, or for other work of this queue: it runs on a thread of its own.
        def hand_off(done: Done) -> None:
            self._host_call_thread().put((self._tls.running, call, done))

        self._submit(hand_off, waits, signals, fn)

    def wait_semaphores(
        self, pairs: Pairs, *, mode: WaitMode = WaitMode.ALL, timeout: float | None = None
    ) -> None:
        """Waits for all (or any) ``(semaphore, value)`` pairs.

        ``timeout`` in seconds (>= 0; None or +inf wait without limit; 0 polls):
        DeadlineExceededError when it passes, InvalidArgumentError for NaN or a negative value.
        """
        mode = as_flags(WaitMode, mode, "wait mode")
        timeout = check_timeout(timeout)
        items = self._pairs(pairs, "wait")
        if not items:
            return
        deadline = None if timeout is None else time.monotonic() + timeout
        if mode == WaitMode.ALL:
            for sem, value in items:
                remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
                sem.wait(value, remaining)
            return
        woke = threading.Event()
        handles = [(s, s.add_timepoint(v, lambda _s: woke.set())) for s, v in items]
        try:
            if not woke.wait(timeout):
                raise DeadlineExceededError(
                    f"none of {len(items)} semaphores reached its value within {timeout} s"
                )
        finally:
            for sem, handle in handles:
                if handle is not None:
                    sem.remove_timepoint(handle)
        if any(s.reached(v) for s, v in items):
            return
        for sem, _ in items:
            error = sem.error()
            if error is not None:
                raise error

    def wait_idle(self, timeout: float | None = None) -> None:
        """Waits until every submission completed; DeadlineExceededError on timeout.

        ``timeout`` as in :meth:`wait_semaphores`.  Called from inside queue work (a host
        call) it raises FailedPreconditionError: that work could never finish.
        """
        timeout = check_timeout(timeout)
        if getattr(self._tls, "running", None) is not None:
            raise FailedPreconditionError(
                "wait_idle() from inside a queue operation of the same device would wait for itself"
            )
        with self._lock:
            self._idle_waiters += 1
            try:
                if not self._lock.wait_for(
                    lambda: not self._inflight and not self._running, timeout
                ):
                    pending = len(self._inflight) + self._running
                    raise DeadlineExceededError(
                        f"{pending} submissions still pending after {timeout} s"
                    )
            finally:
                self._idle_waiters -= 1

    def trace(
        self, path: str | os.PathLike[str]
    ) -> contextlib.AbstractContextManager[tracing.Tracer]:
        """``with device.trace("out.json"):`` writes a Chrome/Perfetto trace of this
        device's queue operations and host semaphore waits during the block to ``path``
        (see :mod:`polyhal.tracing`); InvalidArgumentError if ``path`` is not a path,
        FailedPreconditionError on a closed device."""
        self._check_open()
        return tracing.trace_device(self, path)

    def close(self) -> None:
        """Refuses new work at once (FailedPreconditionError), cancels submissions still
        waiting on semaphores, waits for running ones, then releases the device.

        Later use of the device or of its buffers, executables and command buffers raises
        FailedPreconditionError.  Called from inside queue work of this device (a
        ``queue_host_call``), it returns at once and the release happens when the queue
        drains.  Calling it again is a no-op.
        """
        with self._lock:
            if self._closed:
                return
            self._closed = True  # from here on _submit refuses new work
            parked = [s for s in self._inflight if s.pending]
        for sub in parked:
            sub.complete(CancelledError("device closed before the submission's waits were met"))
        if getattr(self._tls, "running", None) is not None:
            # Waiting here would wait for the very submission running this call.
            with self._lock:
                self._release_when_idle = True
                if self._inflight or self._running:
                    return
                self._release_when_idle = False
            self._release()
            return
        self.wait_idle()
        self._release()

    def _release(self) -> None:
        """Stops the issue thread and closes the driver device (once, when idle)."""
        with self._lock:
            if self._released:
                return
            self._released = True
            # A thread may be inside the driver for this device (an allocation, a host
            # copy) that began before close(): closing the driver under it corrupts memory.
            self._lock.wait_for(lambda: not self._calls)
        if self._issue_queue is not None:
            self._issue_queue.put(None)
        if self._host_calls is not None:
            self._host_calls.put(None)
        self._driver.close()
        if self._tracer is not None:
            self._tracer.device_closed(self)

    # -- internals ---------------------------------------------------------------------------
    def _driver_call(self) -> _DriverCall:
        """Around a driver call made outside the queue (``with``): FailedPreconditionError
        once the device is closed, else the driver device is not released until the call
        returns."""
        return self._guard

    # Both take the Condition's own lock, the mutex, directly: the same exclusion as
    # entering the Condition, without its Python-level __enter__ and __exit__.
    def _enter_driver_call(self) -> None:
        with self._mutex:
            if self._closed:
                raise FailedPreconditionError(f"device {self.uri!r} is closed")
            self._calls += 1

    def _exit_driver_call(self) -> None:
        with self._mutex:
            self._calls -= 1
            if self._closed and not self._calls:
                self._lock.notify_all()

    def _check_open(self) -> None:
        if self._closed:
            raise FailedPreconditionError(f"device {self.uri!r} is closed")

    def _pairs(self, pairs: Any, what: str) -> list[tuple[Semaphore, int]]:
        if type(pairs) is list and len(pairs) == 1:  # the usual signal=[(sem, value)]
            pair = pairs[0]
            if _plain_pair(pair):
                return [pair]
        if isinstance(pairs, (list, tuple)) and not pairs:
            return []
        if isinstance(pairs, tuple) and len(pairs) == 2 and isinstance(pairs[0], Semaphore):
            pairs = [pairs]
        if not isinstance(pairs, (list, tuple)):
            raise InvalidArgumentError(
                f"{what} list takes a list of (Semaphore, value) pairs, got {pairs!r}"
            )
        out = []
        for item in pairs:
            try:
                sem, value = item
            except (TypeError, ValueError):
                raise InvalidArgumentError(
                    f"{what} list takes (Semaphore, value) pairs, got {item!r}"
                ) from None
            if not isinstance(sem, Semaphore):
                raise InvalidArgumentError(f"{what}: expected a Semaphore, got {sem!r}")
            out.append((sem, check_payload(value, f"{what} value")))
        return out

    def _resolve_binding_table(self, entries: Iterable[Any]) -> list[ResolvedBinding]:
        if not isinstance(entries, (list, tuple)):
            raise InvalidArgumentError(
                f"binding_table is a list of Buffers or (buffer, offset, length), got "
                f"{type(entries).__name__}"
            )
        out: list[ResolvedBinding] = []
        for entry in entries:
            if type(entry) is Buffer and entry.device is self and not entry.alloc.released:
                # A whole buffer (what polyhal.iree's recorded regions pass).
                out.append(ResolvedBinding(entry.alloc, entry.offset, entry.size, entry.usage_bits))
                continue
            if type(entry) is tuple and len(entry) == 3:
                # The usual (buffer, offset, length) of plain ints, checked written out.
                buffer, offset, length = entry
                if (
                    type(buffer) is Buffer
                    and type(offset) is int
                    and type(length) is int
                    and buffer.device is self
                    and 0 <= offset
                    and 0 <= length
                    and offset + length <= buffer.size
                ):
                    alloc, usage = buffer.alloc, buffer.usage_bits
                    if not alloc.released:
                        out.append(ResolvedBinding(alloc, buffer.offset + offset, length, usage))
                        continue
            i = len(out)  # this entry's index: every earlier one was resolved
            if isinstance(entry, Buffer):
                buffer, offset, length = entry, 0, WHOLE_BUFFER
            else:
                if not isinstance(entry, (list, tuple)) or not 1 <= len(entry) <= 3:
                    raise InvalidArgumentError(
                        f"binding table entry {i} is a Buffer or (buffer, offset, length), "
                        f"got {entry!r}"
                    )
                buffer, *rest = entry
                offset = as_index(rest[0], f"binding table entry {i}") if rest else 0
                length = (
                    as_index(rest[1], f"binding table entry {i}") if len(rest) > 1 else WHOLE_BUFFER
                )
            if not isinstance(buffer, Buffer) or buffer.device is not self:
                raise InvalidArgumentError(
                    f"binding table entry {i} is not a Buffer of this device"
                )
            buffer.check_live()
            length = resolve_range(buffer.size, offset, length, f"binding table entry {i}")
            out.append(
                ResolvedBinding(buffer.alloc, buffer.offset + offset, length, int(buffer.usage))
            )
        return out

    def _submit(
        self,
        action: Action,
        waits: list[tuple[Semaphore, int]],
        signals: list[tuple[Semaphore, int]],
        keep: Any,
        uses: Collection[Allocation] | None = None,
        cbs: Sequence[CommandBuffer] = (),
    ) -> None:
        """Queues ``action`` behind ``waits``; ``uses``: the allocations it names, whose
        release a dealloca defers until this submission retires; ``cbs``: the command
        buffers it runs, marked submitted under the queue lock (a ONE_SHOT one listed twice,
        or submitted from two threads at once, runs once and the other call raises)."""
        sub = _Submission(self, action, signals, keep)
        with self._mutex:
            if self._closed:  # checked under the lock: close() may race with this call
                raise FailedPreconditionError(f"device {self.uri!r} is closed")
            for i, cb in enumerate(cbs):
                if cb.one_shot and (cb.submitted or any(c is cb for c in cbs[:i])):
                    raise FailedPreconditionError("a ONE_SHOT command buffer can be submitted once")
            for cb in cbs:
                cb.mark_submitted()
            self._inflight.add(sub)
            if uses:
                sub.uses = uses
                for alloc in uses:
                    alloc.pending_uses += 1
        if self._tracer is not None:
            self._tracer.submitted(sub, waits, signals)
        if self.checked:
            hazards.track(sub)
        pending = []
        for sem, value in waits:
            failure = sem.error()
            if failure is not None:
                sub.complete(failure)
                return
            if not sem.reached(value):
                pending.append((sem, value))
        if not pending:
            self._start(sub, True)
            return
        sub.handles = []
        sub.pending = len(pending)
        for sem, value in pending:
            handle = sem.add_timepoint(value, sub.on_timepoint)
            if handle is not None:
                with sub.lock:
                    if not sub.finished:
                        sub.handles.append((sem, handle))

    def _start(self, sub: _Submission, inline: bool) -> None:
        if not inline:
            if self._issue_queue is None:
                with self._lock:
                    if self._issue_queue is None:
                        self._issue_queue = _queue.SimpleQueue()
                        threading.Thread(
                            target=self._issue_loop,
                            args=(self._issue_queue,),
                            name=f"polyhal-issue-{self.driver}",
                            daemon=True,
                        ).start()
            self._issue_queue.put(sub)
            return
        # A trampoline: a submission that completes and readies another on this thread
        # queues it here instead of recursing, so long dependency chains stay flat.
        tls = self._tls
        ready = getattr(tls, "ready", None)
        if ready is not None:
            ready.append(sub)
            return
        tls.ready = ready = deque((sub,))
        try:
            while ready:
                ready.popleft().run()
        finally:
            tls.ready = None

    def _host_call_thread(self) -> _queue.SimpleQueue[Any]:
        """The queue of the host-call thread (started on first use)."""
        if self._host_calls is None:
            with self._lock:
                if self._host_calls is None:
                    q: _queue.SimpleQueue[Any] = _queue.SimpleQueue()
                    threading.Thread(
                        target=self._host_call_loop,
                        args=(q,),
                        name=f"polyhal-host-{self.driver}",
                        daemon=True,
                    ).start()
                    self._host_calls = q
        return self._host_calls

    def _host_call_loop(self, q: _queue.SimpleQueue[Any]) -> None:
        tls = self._tls
        while True:
            item = q.get()
            if item is None:
                return
            tls.running, call, done = item  # wait_idle / close inside fn see their caller
            try:
                call(done)
            finally:
                tls.running = None

    def _issue_loop(self, q: _queue.SimpleQueue[_Submission | None]) -> None:
        while True:
            sub = q.get()
            if sub is None:
                return
            self._start(sub, True)

    def _retire(self, sub: _Submission | None, uses: Collection[Allocation]) -> None:
        """A submission finished: ``sub`` (None: one that _execute_one counted in
        ``_running``) and the allocations it named."""
        freed = []
        with self._mutex:
            if sub is None:
                self._running -= 1
            else:
                self._inflight.discard(sub)
                sub.uses = ()
            for alloc in uses:
                alloc.pending_uses -= 1
                if alloc.release_deferred and not alloc.pending_uses:
                    alloc.release_deferred = False
                    freed.append(alloc)
            idle = not self._inflight and not self._running
            if self._idle_waiters and idle:
                self._lock.notify_all()
            release = idle and self._release_when_idle
            if release:
                self._release_when_idle = False
        for alloc in freed:  # deallocated while this submission used them
            if not self._released:  # a released driver device freed everything already
                self._driver.release(alloc)
        if release:
            # close() was called from queue work and the queue has drained.  This may be a
            # driver's completion thread, which the driver's close() may join: release from
            # a thread of its own.
            threading.Thread(target=self._release, name="polyhal-close", daemon=True).start()


def _plain_pair(pair: Any) -> bool:
    """Whether ``pair`` is a ``(Semaphore, int)`` tuple with a uint64 payload: the usual
    wait or signal, accepted as it is (anything else goes through :meth:`Device._pairs`'s
    checks, which raise for what is malformed)."""
    return (
        type(pair) is tuple
        and len(pair) == 2
        and type(pair[0]) is Semaphore
        and type(pair[1]) is int
        and 0 <= pair[1] <= MAX_PAYLOAD
    )


class _DriverCall:
    """Device._driver_call's context manager: one per device, holding no state of a call
    (a generator-based one costs a microsecond more per host read, write or allocation)."""

    __slots__ = ("enter", "exit")

    def __init__(self, device: Device):
        self.enter = device._enter_driver_call
        self.exit = device._exit_driver_call

    def __enter__(self) -> None:
        self.enter()

    def __exit__(self, *exc: object) -> None:
        self.exit()


#: allocate_buffer's validated flags per (type, value) of its arguments.
_ALLOCATION_FLAGS: dict[tuple[Any, ...], tuple[MemoryType, int, BufferUsage, MemoryAccess]] = {}


def _allocation_flags(
    memory_type: Any, usage: Any, access: Any
) -> tuple[MemoryType, int, BufferUsage, MemoryAccess]:
    """allocate_buffer's flags checked (InvalidArgumentError for values not of their
    enum): the memory type the driver is asked for, the usage bits, the usage and the
    access the Buffer records."""
    memory_type = as_flags(MemoryType, memory_type, "memory_type")
    usage = as_flags(BufferUsage, usage, "usage")
    access = as_flags(MemoryAccess, access, "access")
    if memory_type & MemoryType.OPTIMAL or memory_type == MemoryType.NONE:
        memory_type = MemoryType.DEVICE_LOCAL | MemoryType.HOST_VISIBLE
    return memory_type, int(usage), BufferUsage(usage), MemoryAccess(access)


def _noop(done: Callable[[HalError | None], None]) -> None:
    done(None)
