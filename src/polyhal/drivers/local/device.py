"""The local device: host memory, C executables and the native executor.

Where work runs: ``local-sync`` runs every submission inline on the thread that made it
ready (the caller, or the thread that signalled its last wait), by definition.  ``local``
runs only work known to be short on the caller's thread (at most ``inline_workgroups``
workgroups and INLINE_TRANSFER_BYTES bytes of transfers, no indirect dispatch): that keeps
a submit-to-signal round trip at a few microseconds; a host submission of at most
SERIAL_WORKGROUPS workgroups in all (unchecked, untraced) runs them one after another there,
waking no worker.  Anything longer goes to the device's runner thread, so
``queue_execute`` returns at once and a wait's timeout bounds it.

Checked mode (``checked=True``) places every allocation between guard pages and runs
kernels and transfers under the executor's fault guard: an access fault inside a kernel
fails the submission with DataLossError naming the entry point, the workgroup, the binding
and the offset, and the process, every other buffer and the device carry on (so does an
integer division by zero or a trap: SIGFPE, SIGILL, with no binding to name).  An overrun
too short to reach the guard page (into the buffer's 64-byte alignment padding) is found
after the run by the padding's canary, and fails the submission the same way.
"""

from __future__ import annotations

import ctypes
import os
import platform
import queue
import signal
import sys
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from typing import Any

from ... import _walker as W
from ...errors import (
    DataLossError,
    HalError,
    InternalError,
    InvalidArgumentError,
    OutOfRangeError,
    ResourceExhaustedError,
)
from ...types import MemoryType
from .. import host_collective
from ..base import DriverDevice, Limits, Work
from . import encoder, executable
from .buffer import LocalAllocation
from .executor import (
    ERROR_FAULT,
    ERROR_INDIRECT_COUNT,
    EXEC_CHECKED,
    EXEC_SERIAL,
    Result,
    SlotRange,
    library,
    run_function,
)

#: Default of the ``inline_workgroups`` option: a submission of at most this many
#: workgroups runs on the caller's thread (a trivial workgroup costs nanoseconds; one that
#: loops for long is the kernel's own business).
INLINE_WORKGROUPS = 4096
#: A short submission (see INLINE_WORKGROUPS) of at most this many workgroups in all runs
#: them serially on the caller's thread, waking no worker (unchecked, untraced).
SERIAL_WORKGROUPS = 8
#: Fills, copies and updates of at most this many bytes in all run on the caller's thread.
INLINE_TRANSFER_BYTES = 4 << 20
#: More worker threads than this is a mistake, not a machine.
MAX_WORKERS = 1024
_ACCESS = {1: "read", 2: "write"}


def _physical_memory() -> int:
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):  # not POSIX: no better figure to offer
        return 2**40


#: LocalDevice.allocate: the memory type of host memory for each one asked for.
_HOST_MEMORY: dict[MemoryType, MemoryType] = {}


class LocalDevice(DriverDevice):
    """The CPU.  Options: ``dispatch_type`` ("concurrent" or "serial"), ``workers``
    (threads besides the caller; default one per CPU but one), ``spin_us`` (how long idle
    workers spin before sleeping), ``inline_workgroups`` (see the module docstring; 0
    hands every submission with a dispatch or transfer to the runner thread), ``checked``.
    """

    executable_formats = executable.FORMATS
    #: Set by polyhal.tracing while the device is traced: submissions then time each
    #: dispatch (see _run_timed).

    def __init__(
        self,
        sync: bool = False,
        dispatch_type: str = "concurrent",
        workers: int | None = None,
        spin_us: float = 50.0,
        checked: bool = False,
        inline_workgroups: int = INLINE_WORKGROUPS,
        **options: Any,
    ):
        if options:
            raise InvalidArgumentError(f"unknown local device options {sorted(options)}")
        if type(inline_workgroups) is not int or inline_workgroups < 0:
            raise InvalidArgumentError(
                f"inline_workgroups is an int >= 0, got {inline_workgroups!r}"
            )
        if workers is not None and (type(workers) is not int or not 0 <= workers <= MAX_WORKERS):
            raise InvalidArgumentError(f"workers is an int in [0, {MAX_WORKERS}], got {workers!r}")
        if type(spin_us) not in (int, float) or not 0 <= spin_us <= 1e6:
            raise InvalidArgumentError(f"spin_us is a number in [0, 1e6], got {spin_us!r}")
        self.sync = sync
        self.checked = checked
        self.serial = sync or dispatch_type == "serial"
        self.flags = (EXEC_SERIAL if self.serial else 0) | (EXEC_CHECKED if checked else 0)
        self.run_deferred_inline = sync
        self.inline_workgroups = inline_workgroups
        self.lib = library()
        self._run_native = run_function()
        if checked:
            self.lib.ph_local_install_fault_handler()
            # Checked allocations, to map a faulting address back to its buffer.
            self.allocations: weakref.WeakSet[LocalAllocation] = weakref.WeakSet()
        cpus = (
            len(os.sched_getaffinity(0))
            if hasattr(os, "sched_getaffinity")
            else (os.cpu_count() or 1)
        )
        self.workers = 0 if sync else (cpus - 1 if workers is None else workers)
        self.pool = (
            self.lib.ph_local_pool_create(self.workers, int(spin_us * 1000), checked)
            if (self.workers > 0)
            else None
        )
        self.jobs: queue.SimpleQueue | None = None  # the runner thread's, once started
        self.runner: threading.Thread | None = None
        self.backlog = 0  # submissions handed to the runner and not finished
        self.lock = threading.Lock()
        # A CPU workgroup is one call of the kernel: its "size" is whatever the kernel loops
        # over, bounded only by the ABI's field widths.
        self.limits = Limits(
            max_bindings=32,
            max_push_constants=64,
            max_workgroup_size=(2**32 - 1, 2**32 - 1, 2**16 - 1),
            max_workgroup_invocations=2**64 - 1,
            max_workgroup_count=(2**32 - 1, 2**32 - 1, 2**16 - 1),
            max_allocation_size=_physical_memory(),
            collectives=True,
        )
        kind = "inline on the caller" if sync else f"{self.workers + 1} threads"
        self.name = f"{platform.processor() or platform.machine()} CPU ({kind})"
        self.info = {
            "vendor": "CPU",
            "driver": "local-sync" if sync else "local",
            "threads": self.workers + 1,
            "dispatch_type": "serial" if self.serial else "concurrent",
            "limits": self.limits.as_dict(),
        }

    def allocate(self, size: int, memory_type: MemoryType, usage: int) -> LocalAllocation:
        # Host memory is all of these at once on the CPU.  (Memoized: enum arithmetic
        # costs microseconds, and programs allocate on every call.)
        resolved = _HOST_MEMORY.get(memory_type)
        if resolved is None:
            resolved = memory_type | MemoryType.HOST_LOCAL | MemoryType.DEVICE_LOCAL
            _HOST_MEMORY[memory_type] = resolved
        memory_type = resolved
        try:
            alloc = LocalAllocation(size, memory_type, self.checked)
        except (MemoryError, OSError) as e:
            raise ResourceExhaustedError(
                f"cannot allocate {size} bytes of host memory: {e or type(e).__name__}"
            ) from None
        if self.checked:
            with self.lock:
                self.allocations.add(alloc)
        return alloc

    def read(self, alloc: Any, offset: int, length: int) -> bytes:
        return alloc.read(offset, length)

    def create_channel(
        self,
        rank: int,
        count: int,
        id: bytes | None,  # noqa: A002 - the contract's name
        launcher: str | None,
        options: dict[str, object],
    ) -> host_collective.HostChannel:
        """A channel of the host engine: MPI across processes, in-process groups between
        devices of one process.  Option ``transport`` ("mpi" or "process") forces one."""
        options = dict(options)
        timeout = options.pop("timeout")
        transport = options.pop("transport", None)
        if options:
            raise InvalidArgumentError(f"unknown channel options {sorted(options)}")
        return host_collective.create(rank, count, id, launcher, float(timeout), transport)  # type: ignore[arg-type]

    def channel_unique_id(self) -> bytes:
        return host_collective.unique_id()

    def write(self, alloc: Any, offset: int, data: memoryview) -> None:
        alloc.write(offset, data)

    def load_executable(self, fmt: str, payload: Any, entry_points: Sequence[Any]) -> Any:
        return executable.load(fmt, payload, entry_points)

    def encode(self, stream: Any, mode: Any = None) -> encoder.Encoded:
        return encoder.encode(stream, self.checked)

    def execute(self, work: Sequence[Work], done: Callable[[HalError | None], None]) -> None:
        """Runs ``work`` now on this thread if it is short (or on local-sync), else hands
        it to the runner thread; either way ``done`` is called once."""
        if self.trace is not None:  # decided here, on the thread running the submission
            work, done = self._timed(work, done)
        if self.sync or (not self.backlog and self._is_short(work)):
            self._run(work, done)
            return
        with self.lock:
            # Behind queued long work, short work queues too: submissions stay in order.
            self.backlog += 1
            if self.jobs is None:
                self.jobs = queue.SimpleQueue()
                self.runner = threading.Thread(
                    target=_runner_loop,
                    args=(weakref.ref(self), self.jobs),
                    name="polyhal-local-runner",
                    daemon=True,
                )
                self.runner.start()
            self.jobs.put((work, done))

    def execute_one(
        self,
        encoded: encoder.Encoded,
        done: Callable[[HalError | None], None],
        binding_table: Sequence[Any] = (),
    ) -> None:
        """``execute`` of one command buffer: unchecked, untraced short work without
        collectives runs here as ``_run`` would, without the Work list (a whole IREE
        program's call submits so: each step is a share of its microseconds)."""
        if (
            self.trace is not None
            or self.checked
            or encoded.collectives
            or not (
                self.sync
                or (
                    not self.backlog
                    and not encoded.unbounded
                    and encoded.workgroups <= self.inline_workgroups
                    and encoded.transfer_bytes <= INLINE_TRANSFER_BYTES
                )
            )
        ):
            self.execute((Work(encoded, binding_table),), done)
            return
        # A few workgroups run one after another here: waking a worker costs more than
        # they take, and far more when the other cores are busy.
        flags = self.flags if encoded.workgroups > SERIAL_WORKGROUPS else EXEC_SERIAL
        # _executor.run resolves the table itself, in one C call (no ctypes arguments).
        if encoded.count and (
            failure := self._run_native(
                self.pool,
                ctypes.addressof(encoded.program),
                binding_table if encoded.has_slots else (),
                flags,
            )
        ):
            done(self._failure(encoded, Result.from_buffer_copy(failure), binding_table))
            return
        done(None)

    def _is_short(self, work: Sequence[Work]) -> bool:
        workgroups = transfer_bytes = 0
        for item in work:
            program = item.encoded
            if program.unbounded:
                return False
            workgroups += program.workgroups
            transfer_bytes += program.transfer_bytes
        return workgroups <= self.inline_workgroups and transfer_bytes <= INLINE_TRANSFER_BYTES

    def _run_job(self, work: Sequence[Work], done: Callable[[HalError | None], None]) -> None:
        try:
            self._run(work, done)
        except Exception as e:  # a bug here must still complete the submission
            done(InternalError(f"local driver failed: {e!r}"))
        finally:
            with self.lock:
                self.backlog -= 1

    def _timed(
        self, work: Sequence[Work], done: Callable[[HalError | None], None]
    ) -> tuple[list, Callable[[HalError | None], None]]:
        """``work`` with a clock array per command buffer, and ``done`` preceded by
        reporting each dispatch's times to the trace (a traced submission)."""
        trace, submission = self.trace, self.trace.submission()
        timed = [
            _TimedWork(
                item.encoded, item.binding_table, (ctypes.c_uint64 * (2 * item.encoded.count))()
            )
            for item in work
        ]
        # Both clocks are CLOCK_MONOTONIC on Linux; the offset is read anyway, once per
        # submission, for platforms where perf_counter is another clock.
        offset = time.perf_counter_ns() - time.clock_gettime_ns(time.CLOCK_MONOTONIC)

        def report(error: HalError | None) -> None:
            for cb_index, item in enumerate(timed):
                times = item.times
                for n, (index, name, counts) in enumerate(item.encoded.dispatches()):
                    end = times[2 * index + 1]
                    if end:  # zero: not run (an earlier command failed)
                        trace.dispatch(
                            name,
                            times[2 * index] + offset,
                            end + offset,
                            submission=submission,
                            command_buffer=cb_index,
                            dispatch=n,
                            workgroups=counts,
                        )
            done(error)

        return timed, report

    def _run(self, work: Sequence[Work], done: Callable[[HalError | None], None]) -> None:
        result = Result()
        for position, item in enumerate(work):
            program = item.encoded
            slots = None
            table = item.binding_table
            if program.has_slots and table:
                slots = (SlotRange * len(table))(
                    *[(e.alloc.ptr + e.offset, e.length) for e in table]
                )
            if program.collectives:
                failed = self._run_segments(item, program, slots, table, result)
                if failed is not None:
                    self._tell_peers(work, position, *failed)
                    done(failed[0])
                    return
                continue
            error = None
            if program.count and self._execute(item, program.program, 0, slots, result):
                error = self._failure(program, result, table)
                if self.checked:  # the failed run may have hit padding too: re-arm it
                    self._padding_error(program, table)
            elif self.checked:
                error = self._padding_error(program, table)
            if error is not None:
                self._tell_peers(work, position + 1, error, -1)
                done(error)
                return
        done(None)

    def _execute(self, item: Work, sub: Any, start: int, slots: Any, result: Result) -> int:
        """Runs the native (sub-)program ``sub`` whose first record is ``start``; non-zero
        on failure, with ``result.failed_command`` counted from the whole program's start."""
        if type(item) is not _TimedWork:
            status = self.lib.ph_local_execute(
                self.pool, ctypes.byref(sub), slots, self.flags, ctypes.byref(result)
            )
        else:
            times = ctypes.addressof(item.times) + 2 * start * ctypes.sizeof(ctypes.c_uint64)
            status = self.lib.ph_local_execute_timed(
                self.pool, ctypes.byref(sub), slots, self.flags, ctypes.byref(result), times
            )
        if status:
            result.failed_command += start
        return status

    def _run_segments(
        self, item: Work, program: encoder.Encoded, slots: Any, table: Sequence[Any], result: Result
    ) -> tuple[HalError, int] | None:
        """Runs a program with collectives: each native segment, then the collective after
        it on the host engine (local buffers are host memory: no staging).  Returns the
        first failure and the record it happened at (the collectives after it are the
        caller's to report to peers as skipped)."""
        for start, sub, collective in program.segments:
            end = collective.index if collective is not None else program.count
            error = None
            if sub is not None and self._execute(item, sub, start, slots, result):
                error = self._failure(program, result, table)
                if self.checked:
                    self._padding_error(program, table)
                return error, int(result.failed_command)
            if self.checked and (error := self._padding_error(program, table)) is not None:
                return error, end - 1
            if collective is None:
                continue
            try:
                collective.channel.run(
                    collective.op,
                    collective.param,
                    _host(collective.send, table),
                    _host(collective.recv, table),
                    collective.element_count,
                )
            except HalError as e:
                return e, collective.index
        return None

    def _tell_peers(self, work: Sequence[Work], position: int, error: HalError, at: int) -> None:
        """Tells the peers of each collective a failed submission skipped -- those after
        record ``at`` of ``work[position]`` and all of the later command buffers -- in
        order, that this rank failed: their matching operations fail instead of waiting,
        and every rank's channel stays at the same operation."""
        since = time.monotonic()  # one timeout for all the notices
        for item in work[position:]:
            for collective in item.encoded.collectives:
                if collective.index > at:
                    collective.channel.fail(
                        collective.op, collective.param, collective.element_count, error, since
                    )
            at = -1

    def _padding_error(
        self, program: encoder.Encoded, table: Sequence[Any]
    ) -> DataLossError | None:
        """DataLossError when a dispatch wrote into a bound buffer's alignment padding (an
        overrun too short to reach the guard page), naming the dispatches that bind it;
        None when no padding was touched.  Every damaged canary is restored, so the next
        submission starts clean."""
        allocations = program.padded
        if program.has_slots and table:
            allocations += tuple(e.alloc for e in table if e.alloc.padding is not None)
        for alloc in allocations:  # the fast check after every checked run
            if alloc.padding.tobytes() != alloc.canary:
                break
        else:
            return None
        damaged = [
            (alloc, first) for alloc in allocations if (first := alloc.padding_damage()) >= 0
        ]
        alloc, first = damaged[0]
        address = alloc.ptr + alloc.size + first
        suspects = []
        for index in range(program.count):
            if program.operation(index) != W.OP_DISPATCH:
                continue
            for i, (ptr, length) in enumerate(program.bindings(index, table)):
                if alloc.ptr <= ptr <= alloc.ptr + alloc.size:
                    suspects.append(
                        f"entry point {program.entry_point_name(index)!r} "
                        f"binding {i} at byte offset {address - ptr}, past the "
                        f"end of its {length} bytes (command {index})"
                    )
        return DataLossError(
            f"a kernel wrote past the end of a {alloc.size}-byte buffer, into its alignment "
            f"padding (found after the submission; the workgroup is unknown): "
            + "; or ".join(suspects or ["by no dispatch of this submission"])
        )

    def _failure(self, program: encoder.Encoded, result: Result, table: Sequence[Any]) -> HalError:
        index = result.failed_command
        wg = tuple(result.workgroup)
        if result.code == ERROR_FAULT:
            return self._fault(program, result, table)
        name = program.entry_point_name(index)
        if result.code == ERROR_INDIRECT_COUNT:
            return OutOfRangeError(
                f"dispatch_indirect of {name!r}: workgroup count {wg} read from the buffer is "
                f"out of range (z <= 65535, at most 2**32 workgroups; command {index})"
            )
        return InternalError(
            f"entry point {name!r} returned {result.code} in workgroup {wg} (command {index})"
        )

    def _fault(
        self, program: encoder.Encoded, result: Result, table: Sequence[Any]
    ) -> DataLossError:
        # DataLossError: the submission stopped part-way, so what it wrote into its own
        # buffers is lost (the signal semaphores fail); nothing else was touched when the
        # access hit a guard page, and the process and device carry on.  It is the class
        # CUDA's illegal-address error maps to as well.
        index = result.failed_command
        address = result.fault_address
        arithmetic = result.fault_signal in (signal.SIGFPE, signal.SIGILL)
        known = address or result.fault_access in _ACCESS  # a hardware fault: 0 is NULL
        what = f"{_signal_name(result.fault_signal)}, " + (
            "an arithmetic fault (an integer division by zero, say) or a trap"
            if arithmetic
            else (f"{_ACCESS[result.fault_access]} " if result.fault_access in _ACCESS else "")
            + (
                f"at address {address:#x}"
                if known
                else "at an unknown address: a signal "
                "handler installed after polyhal's re-raised it"
            )
        )
        op = program.operation(index)
        if op != W.OP_DISPATCH:
            kind = {W.OP_FILL: "fill", W.OP_COPY: "copy"}.get(op, "update")
            return DataLossError(f"{kind} (command {index}) faulted ({what})")
        name = program.entry_point_name(index)
        where = (
            self._locate(address, program.bindings(index, table))
            if address
            else "no binding"
            if arithmetic or known
            else "the binding is unknown"
        )
        return DataLossError(
            f"entry point {name!r} faulted in workgroup "
            f"{tuple(result.workgroup)} ({what}): {where} (command {index})"
        )

    def _locate(self, address: int, bindings: list[tuple[int, int]]) -> str:
        """Names the binding whose buffer (guard pages included) holds ``address``."""
        with self.lock:
            regions = [a.region for a in self.allocations]
        best: tuple | None = None
        same: list[int] = []  # other bindings of exactly the best one's range
        for i, (ptr, length) in enumerate(bindings):
            region = next((r for r in regions if r[0] <= ptr < r[1]), None)
            if region is None or not region[0] <= address < region[1]:
                continue
            offset = address - ptr
            # Several bindings may share a buffer: the nearest one below the address wins.
            rank = (offset < 0, abs(offset), length)
            if best is None or rank < best[0]:
                best, same = (rank, i, offset, length), []
            elif rank == best[0]:
                same.append(i)
        if best is None:
            return (
                f"the address is in none of its {len(bindings)} bindings "
                f"(a wild pointer, or a stack overflow)"
            )
        _, i, offset, length = best
        name = f"binding {i}" + "".join(f" (also bound as binding {j})" for j in same)
        if offset >= length:
            return f"{name} at byte offset {offset}, past the end of its {length} bytes"
        if offset < 0:
            return f"{name} at byte offset {offset}, {-offset} bytes before its start"
        return f"{name} at byte offset {offset}, inside its {length} bytes"

    def close(self) -> None:
        runner, self.runner = self.runner, None
        if runner is not None:
            self.jobs.put(None)  # after whatever is queued: the front end drained the queue
            if runner is not threading.current_thread():
                runner.join()
        if self.pool:
            self.lib.ph_local_pool_destroy(self.pool)
            self.pool = None

    def __del__(self) -> None:
        if sys.is_finalizing():  # interpreter exit: objects go in any order (a device
            return  # before its buffers); the process's end frees what is native
        try:
            self.close()
        except Exception:
            pass


class _TimedWork(Work):
    """A command buffer of a traced submission: ``times`` receives its dispatches' clock
    readings (ph_local_execute_timed)."""

    def __init__(self, encoded: Any, binding_table: Any, times: Any):
        super().__init__(encoded, binding_table)
        self.times = times


def _runner_loop(device_ref: weakref.ref, jobs: queue.SimpleQueue) -> None:
    """The runner thread: holds its device only while running a job, so that a device
    dropped without close() is still collected (its __del__ stops this thread)."""
    while (job := jobs.get()) is not None:
        device = device_ref()
        if device is None:
            return
        device._run_job(*job)
        del device, job  # the job's done() holds the front end's device too


def _host(binding: tuple | None, table: Sequence[Any]) -> Any:
    """The bytes of a collective's binding as a host uint8 array (None: no binding)."""
    if binding is None:
        return None
    slot, alloc, offset, length = binding
    if slot >= 0:
        entry = table[slot]
        alloc, offset = entry.alloc, entry.offset + offset
    return alloc.host_array(offset, length)


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"
