"""The CUDA device: primary context, streams, memory, executables and the queue.

The queue is stream 0 of the device.  ``execute`` hands a submission's command buffers
to the native launcher (native/launcher.c), which puts them on the stream (launch
programs one driver call per command, graphs with cuGraphLaunch) on the caller's thread
when the queue is idle, else on its submit thread behind the jobs queued before; it
records a CUDA event behind them and queues the event for the completion thread; that
thread waits for it (cuEventSynchronize, in C, without the GIL) and reports completion to
the front end.
The timeline semaphores stay on the host; a CUDA event marks each submission's device
completion.  The completion thread, rather than cuLaunchHostFunc, keeps the front end's
callbacks off the driver's internal thread, where they could not call CUDA at all.

Submissions whose waits the front end already saw met are enqueued at once, on the
caller's thread, and run in queue order on the device; submissions that wait for another
submission are enqueued by the front end's issue thread once it completes, so a caller
never blocks on a wait.

Lifetimes: destructors (of graphs, allocations, modules) never call the driver.  They hand
their handles to :meth:`CudaDevice.defer`; the completion thread destroys them after the
submission it is completing, and ``close`` destroys what is left, and everything still
alive, before it releases the primary context.  (A driver call from a destructor can run
after ``close`` released the context, and ``cuGraphExecDestroy`` then blocks forever: that
was ``polyhal bench --device cuda`` hanging at exit.)

Device loss: a kernel fault (an illegal address, say) poisons the CUDA context, and every
later driver call returns the same error.  The submission that ran the faulting kernel
fails with DataLossError naming its entry points, and every later call on the device
raises the same error, until ``close``.  Indirect workgroup counts beyond the device's grid
limits fail their submission with OutOfRangeError (see graph.py).
"""

from __future__ import annotations

import ctypes
import itertools
import logging
import sys
import threading
import weakref
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

from ... import _walker
from ...errors import (
    DataLossError,
    FailedPreconditionError,
    HalError,
    InternalError,
    InvalidArgumentError,
    OutOfRangeError,
    ResourceExhaustedError,
)
from ...tracing import now_ns
from ...types import MemoryType
from ..base import DriverDevice, Limits, Work
from . import collective, encoder, executable, interop, kernels, launcher
from .api import STICKY, check, cu, cuda_error, result_name
from .buffer import CudaAllocation, Memory
from .graph import destroy as graph_destroy

_log = logging.getLogger(__name__)
DEFAULT_STREAMS = 8
_STOP = 0  # the token that stops the completion thread (submissions count from 1)
_REAP = 2**64 - 1  # the token that only makes the completion thread run the deferred work
_ATTR = cu.CUdevice_attribute


class CudaDevice(DriverDevice):
    executable_formats = executable.FORMATS
    #: CudaDevices open in the process (see bind).
    open_devices = 0
    #: Set by polyhal.tracing while the device is traced: submissions then record a CUDA
    #: event pair around each dispatch (_execute_traced).
    staging_memory_type = MemoryType.DEVICE_LOCAL

    def __init__(
        self,
        index: int,
        dispatch_type: str = "concurrent",
        streams: int = DEFAULT_STREAMS,
        checked: bool = False,
        **options: Any,
    ):
        if options:
            raise InvalidArgumentError(
                f"unknown cuda device options {sorted(options)}; "
                "known: dispatch_type, streams, checked"
            )
        if not 1 <= int(streams) <= launcher.MAX_STREAMS:
            raise InvalidArgumentError(f"streams is 1 to {launcher.MAX_STREAMS}, got {streams}")
        self.index = index
        self.checked = checked
        self.serial = dispatch_type == "serial"
        self.closed = False
        self.stopping = False
        #: The device-lost message once a kernel fault poisoned the context, else None.
        self.lost: str | None = None
        self._deferred: deque = deque()  # (fn, args): driver handles released by destructors
        self._reap_queued = False
        self._queue_lock = threading.Lock()  # orders pushes to the completion queue and close
        self._graphs: dict[int, tuple] = {}  # id(CudaGraph) → (graph, exec, …) of live graphs
        #: NCCL channels made on this device (collective.py), and the channels of each
        #: submission in flight that holds collectives, by token.
        self.channels: weakref.WeakSet = weakref.WeakSet()
        self._collective_tokens: dict[int, tuple] = {}
        self._capture_stream: Any = None
        check(cu.cuInit(0), "cuInit")
        self.cu_device = check(cu.cuDeviceGet(index), "cuDeviceGet")
        err, context = cu.cuDevicePrimaryCtxRetain(self.cu_device)
        if result_name(err) in STICKY:
            raise DataLossError(
                f"cuda device {index} cannot be created: the CUDA driver still reports "
                f"{result_name(err)} from a device lost earlier in this process; CUDA makes "
                "that error permanent for the process, so only a new process can use the GPU"
            )
        self.context = check((err, context), "cuDevicePrimaryCtxRetain")
        self._tls = threading.local()
        CudaDevice.open_devices += 1
        self.bind()
        self._describe()
        stream_flags = cu.CUstream_flags.CU_STREAM_NON_BLOCKING
        self.streams = [
            check(cu.cuStreamCreate(stream_flags), "cuStreamCreate")
            for _ in range(1 if self.serial else int(streams))
        ]
        self.stream = self.streams[0]
        self._events: list = []
        self.memory = Memory(self)
        self.lib = launcher.library()
        functions = launcher.functions()
        self._native_submit, self._complete_next = functions.submit, functions.complete_next
        self.native = launcher.Device(ctypes.addressof(launcher.api()), int(self.context))
        for i, s in enumerate(self.streams):
            self.native.streams[i] = int(s)
            self.native.join_events[i] = self._new_event()
        self.native.fork_event = self._new_event()
        self.native_ptr = ctypes.addressof(self.native)
        if len(self.streams) > 1:
            self.lib.ph_pool_create(self.native_ptr, len(self.streams) - 1)
        self._transfer: tuple | None = None
        self._indirect: tuple | None = None
        self._indirect_ids = itertools.count(1)
        try:
            self.transfer_kernels()
        except HalError as e:  # no NVRTC: stream programs still run; graphs will say why
            self.info["builtin_kernels"] = str(e)
        self._start_queue()

    def _start_queue(self) -> None:
        self._submit_lock = threading.Lock()
        self._tokens = itertools.count(1)
        self._pending: dict[int, tuple] = {}  # token → (event, done, error, work)
        if self.lib.ph_queue_create(self.native_ptr):
            raise ResourceExhaustedError("could not start the cuda submit thread")
        self._completion_thread = threading.Thread(
            target=self._complete, name=f"polyhal-cuda{self.index}-completion", daemon=True
        )
        self._completion_thread.start()

    def _describe(self) -> None:
        dev = self.cu_device
        major, minor = (
            self.attribute("COMPUTE_CAPABILITY_MAJOR"),
            self.attribute("COMPUTE_CAPABILITY_MINOR"),
        )
        self.compute_capability = (major, minor)
        raw = check(cu.cuDeviceGetName(256, dev), "cuDeviceGetName")
        self.name = raw.split(b"\0")[0].decode()
        total = check(cu.cuDeviceTotalMem(dev), "cuDeviceTotalMem")
        self.max_shared_memory = self.attribute("MAX_SHARED_MEMORY_PER_BLOCK_OPTIN")
        self.limits = Limits(
            max_bindings=32,
            max_push_constants=64,
            max_workgroup_size=tuple(self.attribute(f"MAX_BLOCK_DIM_{a}") for a in "XYZ"),
            max_workgroup_invocations=self.attribute("MAX_THREADS_PER_BLOCK"),
            max_workgroup_count=tuple(self.attribute(f"MAX_GRID_DIM_{a}") for a in "XYZ"),
            max_allocation_size=int(total),
            collectives=collective.available(),
        )
        driver = check(cu.cuDriverGetVersion(), "cuDriverGetVersion")
        self.info = {
            "vendor": "NVIDIA",
            "driver": "cuda",
            "device_index": self.index,
            "compute_capability": f"{major}.{minor}",
            "multiprocessors": self.attribute("MULTIPROCESSOR_COUNT"),
            "memory_bytes": int(total),
            "cuda_driver_version": driver,
            "dispatch_type": "serial" if self.serial else "concurrent",
            "max_shared_memory_per_block": self.max_shared_memory,
            "limits": self.limits.as_dict(),
        }

    def attribute(self, name: str) -> int:
        return check(
            cu.cuDeviceGetAttribute(getattr(_ATTR, f"CU_DEVICE_ATTRIBUTE_{name}"), self.cu_device),
            f"cuDeviceGetAttribute({name})",
        )

    def bind(self) -> None:
        """Makes the device's (primary) context current on the calling thread.

        The front end calls the driver from the caller's thread, its issue thread and
        completion callbacks, so every entry point binds; once per thread is enough, since
        the primary context is the one CuPy and PyTorch make current too.  While several
        devices are open (one per GPU, collectives), one thread drives them all and the
        launcher makes each job's context current, so then every call binds.
        """
        tls = self._tls
        if getattr(tls, "context", None) is not self.context or CudaDevice.open_devices > 1:
            check(cu.cuCtxSetCurrent(self.context), "cuCtxSetCurrent")
            tls.context = self.context

    def check_usable(self) -> None:
        """Raises FailedPreconditionError once ``close`` has begun, and the device-lost
        DataLossError once a kernel fault poisoned the context; every entry point calls it."""
        if self.stopping:
            raise FailedPreconditionError(f"cuda device {self.index} is closed")
        if self.lost is not None:
            raise DataLossError(self.lost)

    # -- deferred release ---------------------------------------------------------------
    def defer(self, fn: Callable[..., Any], *args: Any) -> None:
        """Queues ``fn(*args)``, a release of driver handles, for the completion thread.

        What destructors call instead of the driver: a destructor runs wherever the garbage
        collector does (inside a driver call's caller, in a completion callback, after
        ``close``), where a driver call can block or touch a released context.  Only a
        deque append happens here.  Handles deferred after ``close`` are gone already (close
        released everything the device made).
        """
        if not self.closed:
            self._deferred.append((fn, args))

    def _kick(self) -> None:
        """Has the completion thread run the deferred releases soon (an entry point calls
        this, never a destructor: it takes the queue lock)."""
        if self._deferred and not self._reap_queued:
            with self._queue_lock:
                if not self.stopping:
                    self._reap_queued = True
                    self.lib.ph_complete_push(self.native_ptr, _REAP)

    def _reap(self) -> None:
        """Runs the deferred releases (completion thread, or close once that has stopped)."""
        self._reap_queued = False
        if not self._deferred:
            return
        self.bind()
        while True:
            try:
                fn, args = self._deferred.popleft()
            except IndexError:
                return
            fn(*args)

    # -- events ---------------------------------------------------------------------------
    def _new_event(self) -> int:
        return int(
            check(cu.cuEventCreate(cu.CUevent_flags.CU_EVENT_DISABLE_TIMING), "cuEventCreate")
        )

    def take_event(self) -> int:
        """An event handle (an int, which cuda-bindings also takes) from the device's pool."""
        try:
            return self._events.pop()
        except IndexError:
            self.bind()
            return self._new_event()

    def give_event(self, event: int) -> None:
        self._events.append(event)

    def after_queued_work(self, fn: Callable[[], Any]) -> None:
        """Calls ``fn()`` on the completion thread once the work queued so far is done."""
        self.check_usable()
        event = self.take_event()
        with self._queue_lock:
            self.check_usable()
            token = next(self._tokens)
            self._pending[token] = (event, lambda _error: fn(), None, ())
            self.lib.ph_submit(self.native_ptr, launcher.JOB_RECORD, None, None, 0, event, token)

    def drain(self) -> None:
        """Waits until every queued submission is on the device's stream (not done)."""
        self.check_usable()
        self.lib.ph_submit_drain(self.native_ptr)

    # -- memory ---------------------------------------------------------------------------
    def allocate(self, size: int, memory_type: MemoryType, usage: int) -> CudaAllocation:
        self.check_usable()
        self._kick()
        return self.memory.allocate(size, memory_type)

    def release(self, alloc: Any) -> None:
        if self.stopping:
            raise FailedPreconditionError(f"cuda device {self.index} is closed")
        if self.lost is not None:
            # Nothing can use the memory any more, and close() frees it; raising here would
            # reach the front end's completion callbacks, which release deferred frees.
            return
        self.memory.free(alloc)

    def read(self, alloc: Any, offset: int, length: int) -> bytes:
        self.check_usable()
        return self.memory.read(alloc, offset, length)

    def write(self, alloc: Any, offset: int, data: memoryview) -> None:
        self.check_usable()
        self.memory.write(alloc, offset, data)

    # -- executables ----------------------------------------------------------------------
    def load_executable(self, fmt: str, payload: Any, entry_points: Sequence[Any]) -> Any:
        self.check_usable()
        self._kick()
        self.bind()
        exe = executable.load(
            fmt, payload, entry_points, self.compute_capability, self.max_shared_memory
        )
        exe.release = self._unload
        return exe

    def _unload(self, module: Any) -> None:
        self.defer(cu.cuModuleUnload, module)  # called from CudaExecutable.__del__

    def transfer_kernels(self) -> tuple[int, int]:
        """(fill, copy) function handles of the builtin transfer kernels."""
        if self._transfer is None:
            self.check_usable()
            self.bind()
            module, fill, copy = kernels.load_transfer_kernels(self.compute_capability)
            self._transfer = (module, int(fill), int(copy))
            self.native.fill_kernel, self.native.copy_kernel = int(fill), int(copy)
        return self._transfer[1], self._transfer[2]

    def indirect_kernel(self) -> tuple[int, kernels.IndirectStatus]:
        """The handle of ``polyhal_indirect_update`` (graph.py), built at first use, and the
        status memory through which it reports counts out of range."""
        if self._indirect is None:
            self.check_usable()
            self.bind()
            module, fn, how = kernels.load_indirect_kernel(self.compute_capability)
            try:
                status = kernels.IndirectStatus()
            except BaseException:
                cu.cuModuleUnload(module)
                raise
            self._indirect = (module, int(fn), status)
            self.info["indirect_dispatch"] = f"device-updatable graph node, updater built by {how}"
        return self._indirect[1], self._indirect[2]

    def next_indirect_id(self) -> int:
        """A number naming one indirect dispatch in the status records (graph.py)."""
        return next(self._indirect_ids) & 0xFFFFFFFF

    # -- command buffers and the queue ----------------------------------------------------
    def encode(self, stream: Any, mode: Any = None) -> encoder.Encoded:
        self.check_usable()
        self._kick()
        self.bind()
        return encoder.encode(self, stream, mode)

    def execute(self, work: Sequence[Work], done: Callable[[HalError | None], None]) -> None:
        if self.trace is not None:  # decided per submission, on the thread running it
            self._execute_traced(work, done)
            return
        # The host time of a submission is timed against the driver's own launch call, so
        # the usual case (one command buffer whose job is known) is one call of the
        # launcher's Python function, with the checks and look-ups written out here.
        if self.stopping or self.lost is not None:
            self.check_usable()
        if self._deferred and not self._reap_queued:
            self._kick()
        job = work[0].encoded.job if len(work) == 1 else None
        with self._submit_lock:
            if self.stopping:  # close() may have begun meanwhile: the queue must stay up
                self.check_usable()
            token = next(self._tokens)
            try:
                event = self._events.pop()
            except IndexError:
                event = self.take_event()
            self._pending[token] = (event, done, None, work)
            try:
                if job is not None:
                    if self._native_submit(self.native_ptr, job[0], job[1], event, token):
                        raise ResourceExhaustedError("out of host memory queueing a submission")
                    return
                self._track(token, work)
                last = work[-1]
                for item in work:
                    item.encoded.submit(
                        self, item.binding_table, event if item is last else None, token
                    )
            except Exception as e:
                # Complete the submission behind whatever of it was queued, with a typed error.
                if not isinstance(e, HalError):
                    e = InternalError(f"cuda: queueing the submission failed: {e!r}")
                self._pending[token] = (event, done, e, work)
                self.lib.ph_submit(
                    self.native_ptr, launcher.JOB_RECORD, None, None, 0, event, token
                )

    def execute_one(
        self, encoded: Any, done: Callable[[HalError | None], None], binding_table: Any = ()
    ) -> None:
        # execute() for one command buffer with no binding table, its usual case written
        # out once more: this call runs cold after the caller's idle spell, when each
        # Python frame costs several times its warm price (see Device._execute_one).  The
        # pending entry holds the Encoded itself; _finish makes the Work list of it only
        # for an error message.
        job = encoded.job
        if (
            job is None
            or binding_table
            or self.trace is not None
            or self.stopping
            or self.lost is not None
        ):
            self.execute((Work(encoded, binding_table),), done)
            return
        if self._deferred and not self._reap_queued:
            self._kick()
        with self._submit_lock:
            if self.stopping:  # close() may have begun meanwhile: the queue must stay up
                self.check_usable()
            token = next(self._tokens)
            try:
                event = self._events.pop()
            except IndexError:
                event = self.take_event()
            self._pending[token] = (event, done, None, encoded)
            if self._native_submit(self.native_ptr, job[0], job[1], event, token):
                self._pending[token] = (
                    event,
                    done,
                    ResourceExhaustedError("out of host memory queueing a submission"),
                    encoded,
                )
                self.lib.ph_submit(
                    self.native_ptr, launcher.JOB_RECORD, None, None, 0, event, token
                )

    def _execute_traced(
        self, work: Sequence[Work], done: Callable[[HalError | None], None]
    ) -> None:
        """``execute`` of a traced submission: each command buffer runs as its
        TracedProgram (stream 0 only, no graph), and a timing event is recorded on stream
        0 before and after each dispatch.  The events are recorded from this thread once
        the launcher has issued what precedes them (``drain``), which keeps them in
        stream order.  After completion, cuEventElapsedTime from a reference event,
        recorded first and aligned with the host clock read just before it, places each
        dispatch on the trace (so dispatches can only appear early, never before the
        submission).  Command buffers with an indirect dispatch run as their graph,
        untimed."""
        self.check_usable()
        self._kick()
        self.bind()
        trace, submission = self.trace, self.trace.submission()
        events: list = []
        timed: list[tuple] = []  # (command buffer, dispatch, start event, end event)

        def record() -> Any:
            event = check(cu.cuEventCreate(cu.CUevent_flags.CU_EVENT_DEFAULT), "cuEventCreate")
            events.append(event)
            self.drain()
            check(cu.cuEventRecord(event, self.stream), "cuEventRecord")
            return event

        def report(error: HalError | None) -> None:
            try:
                if error is None and timed:
                    self.bind()
                    for cb_index, (n, name, counts), start, end in timed:
                        begin, finish = (
                            check(cu.cuEventElapsedTime(reference, e), "cuEventElapsedTime")
                            for e in (start, end)
                        )
                        trace.dispatch(
                            name,
                            host_ns + int(begin * 1e6),
                            host_ns + int(finish * 1e6),
                            submission=submission,
                            command_buffer=cb_index,
                            dispatch=n,
                            workgroups=counts,
                        )
            except HalError as e:  # the trace goes without; the submission is unaffected
                _log.warning("dispatch times of a traced submission were lost: %s", e)
            finally:
                for event in events:
                    cu.cuEventDestroy(event)
            done(error)

        with self._submit_lock:
            self.check_usable()
            token = next(self._tokens)
            event = self.take_event()
            self._pending[token] = (event, report, None, work)
            try:
                self._track(token, work)
                host_ns = now_ns()  # read first: the reference is reached at or after it
                reference = record()
                for cb_index, item in enumerate(work):
                    encoded = item.encoded
                    if encoded.needs_graph or not encoded.count:
                        encoded.submit(self, item.binding_table, None, token)
                        continue
                    program = encoded.traced()
                    count = program.slot_count
                    slots = (
                        (_walker.SlotRange * count)(
                            *[
                                (e.alloc.ptr + e.offset, e.length)
                                for e in item.binding_table[:count]
                            ]
                        )
                        if count
                        else None
                    )
                    for piece, dispatch in program.pieces:
                        start = record() if dispatch is not None else None
                        if self.lib.ph_submit(
                            self.native_ptr,
                            launcher.JOB_STREAM,
                            ctypes.addressof(piece),
                            slots,
                            count,
                            None,
                            token,
                        ):
                            raise ResourceExhaustedError("out of host memory queueing a submission")
                        if dispatch is not None:
                            timed.append((cb_index, dispatch, start, record()))
            except Exception as e:
                if not isinstance(e, HalError):
                    e = InternalError(f"cuda: queueing the submission failed: {e!r}")
                self._pending[token] = (event, report, e, work)
            self.lib.ph_submit(self.native_ptr, launcher.JOB_RECORD, None, None, 0, event, token)

    def _complete(self) -> None:
        """The completion thread: reports each submission's end in queue order, then runs
        the releases that destructors deferred meanwhile."""
        complete_next, native = self._complete_next, self.native_ptr
        while True:
            token, rc, failed = complete_next(native)
            if token == _STOP:
                return
            if token != _REAP:
                self._finish(token, rc, failed)
            if self._deferred or self._reap_queued:
                try:
                    self._reap()
                except Exception:  # a failed release leaks a handle; the queue must go on
                    self._report()

    def _finish(self, token: int, rc: int, failed: int) -> None:
        event, done, error, work = self._pending.pop(token)
        self._events.append(event)
        if self._collective_tokens and token in self._collective_tokens:
            error = self._untrack(token, rc, error)
        # Only a failed launch or an indirect dispatch's status can end it in an error.
        if error is None and (rc or self._indirect is not None):
            if not isinstance(work, (list, tuple)):  # execute_one's entry holds the Encoded
                work = (Work(work, ()),)
            try:
                error = self._outcome(token, rc, failed, work)
            except Exception as e:  # the submission must still complete, with a typed error
                error = InternalError(f"cuda: completing the submission failed: {e!r}")
        try:
            done(error)
        except Exception:  # the front end's callback: report it, and keep the queue going
            self._report()

    @staticmethod
    def _report() -> None:
        """Reports the exception being handled as an uncaught one of the current thread."""
        threading.excepthook(
            threading.ExceptHookArgs((*sys.exc_info(), threading.current_thread()))
        )

    def _outcome(self, token: int, rc: int, failed: int, work: Sequence[Work]) -> HalError | None:
        """The error a completed submission ends with, or None."""
        if rc >= collective.NCCL_ERROR:
            return collective.launch_error(rc, f"command {failed} of a command buffer")
        if rc:
            if result_name(rc) in STICKY:
                if self.lost is None:
                    self.lost = self._lost_message(rc, work)
                return DataLossError(self.lost)
            where = f"command {failed} of a command buffer" if failed >= 0 else "work on the device"
            return cuda_error(rc, where)
        if self._indirect is not None:
            return self._indirect_error(token, work)
        return None

    def _lost_message(self, rc: int, work: Sequence[Work]) -> str:
        names = sorted({name for item in work for name in item.encoded.entry_points()})
        ran = (
            f"a submission running {', '.join(repr(n) for n in names)}" if names else "a submission"
        )
        err, text = cu.cuGetErrorString(cu.CUresult(rc))
        detail = f" ({text.decode()})" if err == cu.CUresult.CUDA_SUCCESS and text else ""
        return (
            f"cuda device {self.index} lost: {result_name(rc)}{detail} in {ran}; the CUDA "
            "context is unusable, so every later call on this device fails; close it (CUDA "
            "keeps this error for the rest of the process: only a new process can use the "
            "GPU again)"
        )

    def _indirect_error(self, token: int, work: Sequence[Work]) -> HalError | None:
        """OutOfRangeError when an indirect dispatch of the submission read counts beyond
        the device's grid limits (and was skipped), from the updater's status record."""
        names: dict[int, str] = {}
        for item in work:
            graph = getattr(item.encoded, "graph", None)
            if graph is not None:
                names.update(graph.indirect_names)
        record = self._indirect[2].record(token) if names else None
        if record is None or record[0] not in names:
            return None
        dispatch, counts = record
        return OutOfRangeError(
            f"dispatch_indirect of {names[dispatch]!r}: workgroup count {counts} read from the "
            f"buffer is out of range (the device allows at most "
            f"{self.limits.max_workgroup_count}); the dispatch was skipped"
        )

    # -- collectives (collective.py) --------------------------------------------------------
    def create_channel(
        self,
        rank: int,
        count: int,
        id: bytes | None,  # noqa: A002 - the contract's name
        launcher: str | None,
        options: dict[str, object],
    ) -> collective.NcclChannel:
        self.check_usable()
        self.bind()
        return collective.create(self, rank, count, id, options)

    def channel_unique_id(self) -> bytes:
        return collective.nccl().unique_id()

    def capture_stream(self) -> Any:
        """A stream of this device for capturing NCCL's collectives into graphs."""
        if self._capture_stream is None:
            self._capture_stream = check(
                cu.cuStreamCreate(cu.CUstream_flags.CU_STREAM_NON_BLOCKING), "cuStreamCreate"
            )
        return self._capture_stream

    def _track(self, token: int, work: Sequence[Work]) -> None:
        """Has the watchdog follow submission ``token`` if it holds collectives; waits for
        their channels' init, raising a channel's error (the caller fails the submission)."""
        channels = tuple({id(ch): ch for item in work for ch in item.encoded.channels}.values())
        if not channels:
            return
        for channel in channels:
            if not channel.usable:
                channel.ready()
        self._collective_tokens[token] = channels
        collective.WATCHDOG.track(self, token, channels)

    def _untrack(self, token: int, rc: int, error: HalError | None) -> HalError | None:
        """Ends the watch of a completed submission; its error, which is a revoked
        channel's where the launch reported none (the watchdog aborted its kernels)."""
        channels = self._collective_tokens.pop(token)
        collective.WATCHDOG.untrack(self, token)
        if error is None and not rc:
            error = next((ch.error for ch in channels if ch.error is not None), None)
        return error

    def import_memory(self, array: Any) -> CudaAllocation:
        return interop.wrap(self, array)

    def close(self) -> None:
        """Refuses new work, finishes what is queued, then destroys everything the device
        made (whatever still references it raises FailedPreconditionError) and releases the
        primary context, resetting it when a kernel fault poisoned it."""
        if self.stopping:
            return
        if threading.current_thread() is self._completion_thread:
            raise FailedPreconditionError(
                "a cuda device cannot be closed from its own completion callbacks (close "
                "waits for the thread that runs them)"
            )
        # From here every entry point raises FailedPreconditionError, and nothing more is
        # pushed to the completion queue.
        with self._submit_lock, self._queue_lock:
            self.stopping = True
        self.lib.ph_queue_stop(self.native_ptr)
        self.lib.ph_complete_push(self.native_ptr, _STOP)
        self._completion_thread.join()
        self.lib.ph_queue_destroy(self.native_ptr)
        self.lib.ph_pool_destroy(self.native_ptr)
        self.bind()
        cu.cuCtxSynchronize()
        for channel in list(self.channels):
            channel.close()
        # Release everything the device made while its context lives: deferred handles,
        # then graphs and allocations still referenced (later use raises, see check_usable).
        self._reap()
        while self._graphs:
            graph_destroy(*self._graphs.popitem()[1])
        for builtin in (self._transfer, self._indirect):
            if builtin is not None:
                cu.cuModuleUnload(builtin[0])
        if self._indirect is not None:
            self._indirect[2].close()
        for s in self.streams:
            cu.cuStreamDestroy(s)
        if self._capture_stream is not None:
            cu.cuStreamDestroy(self._capture_stream)
        self.memory.close()
        for event in self._events:
            cu.cuEventDestroy(event)
        self._events = []
        self.closed = True
        CudaDevice.open_devices -= 1
        cu.cuDevicePrimaryCtxRelease(self.cu_device)
        if self.lost is not None:
            # The poisoned primary context must not be handed to the next retain as it is.
            cu.cuDevicePrimaryCtxReset(self.cu_device)
