"""The CUDA device: primary context, streams, memory, executables and the queue.

The queue is stream 0 of the device.  ``execute`` hands a submission's command buffers
to the native submit thread (native/launcher.c), which puts them on the stream (stream
programs through the launcher, graphs with cuGraphLaunch), records a CUDA event behind
them and queues the event for the completion thread; that thread waits for it
(cuEventSynchronize, in C, without the GIL) and reports completion to the front end.
The timeline semaphores stay on the host; a CUDA event marks each submission's device
completion.  The completion thread, rather than cuLaunchHostFunc, keeps the front end's
callbacks off the driver's internal thread, where they could not call CUDA at all.

Submissions whose waits the front end already saw met are enqueued at once, on the
caller's thread, and run in queue order on the device; submissions that wait for another
submission are enqueued by the front end's issue thread once it completes, so a caller
never blocks on a wait.
"""

from __future__ import annotations

import ctypes
import itertools
import threading
from collections.abc import Callable, Sequence
from typing import Any

from ...errors import HalError, InvalidArgumentError, ResourceExhaustedError
from ...types import MemoryType
from ..base import DriverDevice, Limits, Work
from . import encoder, executable, kernels, launcher
from .api import check, cu, cuda_error
from .buffer import CudaAllocation, Memory

DEFAULT_STREAMS = 8
_STOP = 0  # the token that stops the completion thread (submissions count from 1)
_ATTR = cu.CUdevice_attribute


class CudaDevice(DriverDevice):
    executable_formats = executable.FORMATS
    staging_memory_type = MemoryType.DEVICE_LOCAL

    def __init__(self, index: int, dispatch_type: str = "concurrent",
                 streams: int = DEFAULT_STREAMS, checked: bool = False, **options: Any):
        if options:
            raise InvalidArgumentError(f"unknown cuda device options {sorted(options)}; "
                                       "known: dispatch_type, streams, checked")
        if not 1 <= int(streams) <= launcher.MAX_STREAMS:
            raise InvalidArgumentError(f"streams is 1 to {launcher.MAX_STREAMS}, got {streams}")
        self.index = index
        self.checked = checked
        self.serial = dispatch_type == "serial"
        self.closed = False
        self.stopping = False
        check(cu.cuInit(0), "cuInit")
        self.cu_device = check(cu.cuDeviceGet(index), "cuDeviceGet")
        self.context = check(cu.cuDevicePrimaryCtxRetain(self.cu_device),
                             "cuDevicePrimaryCtxRetain")
        self._tls = threading.local()
        self.bind()
        self._describe()
        stream_flags = cu.CUstream_flags.CU_STREAM_NON_BLOCKING
        self.streams = [check(cu.cuStreamCreate(stream_flags), "cuStreamCreate")
                        for _ in range(1 if self.serial else int(streams))]
        self.stream = self.streams[0]
        self._events: list = []
        self.memory = Memory(self)
        self.lib = launcher.library()
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
        try:
            self.transfer_kernels()
        except HalError as e:  # no NVRTC: stream programs still run; graphs will say why
            self.info["builtin_kernels"] = str(e)
        self._start_queue()

    def _start_queue(self) -> None:
        self._submit_lock = threading.Lock()
        self._tokens = itertools.count(1)
        self._pending: dict[int, tuple] = {}  # token → (event, done, error)
        if self.lib.ph_queue_create(self.native_ptr):
            raise ResourceExhaustedError("could not start the cuda submit thread")
        self._completion_thread = threading.Thread(
            target=self._complete, name=f"polyhal-cuda{self.index}-completion", daemon=True)
        self._completion_thread.start()

    def _describe(self) -> None:
        dev = self.cu_device
        major, minor = self.attribute("COMPUTE_CAPABILITY_MAJOR"), self.attribute(
            "COMPUTE_CAPABILITY_MINOR")
        self.compute_capability = (major, minor)
        raw = check(cu.cuDeviceGetName(256, dev), "cuDeviceGetName")
        self.name = raw.split(b"\0")[0].decode()
        total = check(cu.cuDeviceTotalMem(dev), "cuDeviceTotalMem")
        self.max_shared_memory = self.attribute("MAX_SHARED_MEMORY_PER_BLOCK_OPTIN")
        self.limits = Limits(
            max_bindings=32, max_push_constants=64,
            max_workgroup_size=tuple(self.attribute(f"MAX_BLOCK_DIM_{a}") for a in "XYZ"),
            max_workgroup_invocations=self.attribute("MAX_THREADS_PER_BLOCK"),
            max_workgroup_count=tuple(self.attribute(f"MAX_GRID_DIM_{a}") for a in "XYZ"),
            max_allocation_size=int(total))
        driver = check(cu.cuDriverGetVersion(), "cuDriverGetVersion")
        self.info = {
            "vendor": "NVIDIA", "driver": "cuda", "device_index": self.index,
            "compute_capability": f"{major}.{minor}",
            "multiprocessors": self.attribute("MULTIPROCESSOR_COUNT"),
            "memory_bytes": int(total), "cuda_driver_version": driver,
            "dispatch_type": "serial" if self.serial else "concurrent",
            "max_shared_memory_per_block": self.max_shared_memory,
            "limits": self.limits.as_dict(),
        }

    def attribute(self, name: str) -> int:
        return check(cu.cuDeviceGetAttribute(getattr(_ATTR, f"CU_DEVICE_ATTRIBUTE_{name}"),
                                             self.cu_device), f"cuDeviceGetAttribute({name})")

    def bind(self) -> None:
        """Makes the device's (primary) context current on the calling thread.

        The front end calls the driver from the caller's thread, its issue thread and
        completion callbacks, so every entry point binds; once per thread is enough, since
        the primary context is the one CuPy and PyTorch make current too.
        """
        tls = self._tls
        if getattr(tls, "context", None) is not self.context:
            check(cu.cuCtxSetCurrent(self.context), "cuCtxSetCurrent")
            tls.context = self.context

    # -- events ---------------------------------------------------------------------------
    def _new_event(self) -> int:
        return int(check(cu.cuEventCreate(cu.CUevent_flags.CU_EVENT_DISABLE_TIMING),
                         "cuEventCreate"))

    def take_event(self) -> int:
        """An event handle (an int, which cuda-bindings also takes) from the device's pool."""
        try:
            return self._events.pop()
        except IndexError:
            return self._new_event()

    def give_event(self, event: int) -> None:
        self._events.append(event)

    def after_queued_work(self, fn: Callable[[], Any]) -> None:
        """Calls ``fn()`` on the completion thread once the work queued so far is done."""
        # No submit lock: this runs from __del__ too, maybe on a thread inside execute.
        if self.stopping:  # the queue is idle (the front end drained it) and stopping
            fn()
            return
        event = self.take_event()
        token = next(self._tokens)
        self._pending[token] = (event, lambda _error: fn(), None)
        self.lib.ph_submit(self.native_ptr, launcher.JOB_RECORD, None, None, 0, event, token)

    def drain(self) -> None:
        """Waits until every queued submission is on the device's stream (not done)."""
        if not self.stopping:
            self.lib.ph_submit_drain(self.native_ptr)

    # -- memory ---------------------------------------------------------------------------
    def allocate(self, size: int, memory_type: MemoryType, usage: int) -> CudaAllocation:
        return self.memory.allocate(size, memory_type)

    def release(self, alloc: Any) -> None:
        self.memory.free(alloc)

    def read(self, alloc: Any, offset: int, length: int) -> bytes:
        return self.memory.read(alloc, offset, length)

    def write(self, alloc: Any, offset: int, data: memoryview) -> None:
        self.memory.write(alloc, offset, data)

    # -- executables ----------------------------------------------------------------------
    def load_executable(self, fmt: str, payload: Any, entry_points: Sequence[Any]) -> Any:
        self.bind()
        exe = executable.load(fmt, payload, entry_points, self.compute_capability,
                              self.max_shared_memory)
        exe.release = self._unload
        return exe

    def _unload(self, module: Any) -> None:
        if not self.closed:
            self.bind()
            cu.cuModuleUnload(module)

    def transfer_kernels(self) -> tuple[int, int]:
        """(fill, copy) function handles of the builtin transfer kernels."""
        if self._transfer is None:
            self.bind()
            module, fill, copy = kernels.load_transfer_kernels(self.compute_capability)
            self._transfer = (module, int(fill), int(copy))
            self.native.fill_kernel, self.native.copy_kernel = int(fill), int(copy)
        return self._transfer[1], self._transfer[2]

    def indirect_kernel(self) -> int:
        """The handle of ``polyhal_indirect_update`` (graph.py), built at first use."""
        if self._indirect is None:
            self.bind()
            module, fn, how = kernels.load_indirect_kernel(self.compute_capability)
            self._indirect = (module, int(fn))
            self.info["indirect_dispatch"] = f"device-updatable graph node, updater built by {how}"
        return self._indirect[1]

    # -- command buffers and the queue ----------------------------------------------------
    def encode(self, commands: list, mode: Any = None) -> encoder.Encoded:
        self.bind()
        return encoder.encode(self, commands, mode)

    def execute(self, work: Sequence[Work], done: Callable[[HalError | None], None]) -> None:
        self.bind()
        with self._submit_lock:
            token = next(self._tokens)
            event = self.take_event()
            self._pending[token] = (event, done, None)
            try:
                last = work[-1]
                for item in work:
                    item.encoded.submit(self, item.binding_table,
                                        event if item is last else None, token)
            except HalError as e:
                # Complete the submission behind whatever of it was queued.
                self._pending[token] = (event, done, e)
                self.lib.ph_submit(self.native_ptr, launcher.JOB_RECORD, None, None, 0, event,
                                   token)

    def _complete(self) -> None:
        """The completion thread: reports each submission's end in queue order."""
        token, failed = ctypes.c_uint64(), ctypes.c_int64()
        while True:
            rc = self.lib.ph_complete_next(self.native_ptr, ctypes.byref(token),
                                           ctypes.byref(failed))
            if token.value == _STOP:
                return
            event, done, error = self._pending.pop(token.value)
            self.give_event(event)
            if rc and error is None:
                where = (f"command {failed.value} of a command buffer" if failed.value >= 0
                         else "work on the device")
                error = cuda_error(rc, where)
            try:
                done(error)
            except Exception:  # a completion callback must not stop the queue
                pass

    def close(self) -> None:
        if self.closed:
            return
        # From here a garbage-collected buffer (on any thread, during the joins below) must
        # neither wait for the stopped submit thread nor queue work behind it.
        self.stopping = True
        self.lib.ph_queue_stop(self.native_ptr)
        self.lib.ph_complete_push(self.native_ptr, _STOP)
        self._completion_thread.join()
        self.lib.ph_queue_destroy(self.native_ptr)
        self.closed = True
        self.lib.ph_pool_destroy(self.native_ptr)
        self.bind()
        cu.cuCtxSynchronize()
        for s in self.streams:
            cu.cuStreamDestroy(s)
        self.memory.close()
        for event in self._events:
            cu.cuEventDestroy(event)
        self._events = []
        cu.cuDevicePrimaryCtxRelease(self.cu_device)
