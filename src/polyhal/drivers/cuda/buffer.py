"""CUDA memory: device allocations from a stream-ordered pool, pinned host memory, and
memory of other libraries wrapped without a copy.

Device-local buffers come from a memory pool of the device's own, allocated and freed in
the order of the queue's stream (``cuMemAllocFromPoolAsync`` / ``cuMemFreeAsync``): a
buffer released by ``queue_dealloca`` goes back to the pool only after the work queued
before it, and no call waits for the device.  Buffers that are host-visible but not
device-local are pinned host memory the kernels reach through unified addressing.

``read`` and ``write`` of device memory go through a stream of their own and wait for
it: the host bytes are staged by the driver, so the call returns once the copy is done.
The first host access to a new pool allocation waits for the queue to reach the
allocation (an event recorded when it was made); kernels are ordered after it by the
stream itself.

An allocation nothing references any more is freed on the device's completion thread
(:meth:`Memory.discard`, through ``CudaDevice.defer``), never by its destructor; ``close``
frees whatever is still live, and the pool.
"""

from __future__ import annotations

import ctypes
import sys
import threading
from typing import TYPE_CHECKING, Any

import numpy as np

from ...errors import ResourceExhaustedError
from ...types import MemoryType
from ..base import Allocation
from .api import check, cu

if TYPE_CHECKING:
    from .device import CudaDevice

#: The bit that makes MemoryType.DEVICE_LOCAL more than DEVICE_VISIBLE.
_DEVICE_LOCAL_BIT = int(MemoryType.DEVICE_LOCAL) & ~int(MemoryType.DEVICE_VISIBLE)
DEVICE, HOST, EXTERNAL = "device", "host", "external"


class CudaAllocation(Allocation):
    """Storage behind a Buffer: ``ptr`` is its device address (with unified addressing,
    also the host address of pinned memory); ``kind`` is "device", "host" or "external".
    """

    __slots__ = ("device", "kind", "ready", "owner", "freed")

    def __init__(
        self,
        device: CudaDevice,
        size: int,
        memory_type: MemoryType,
        kind: str,
        ptr: int,
        ready: Any = None,
        owner: Any = None,
    ):
        super().__init__(size, memory_type)
        self.device = device
        self.ptr = int(ptr)
        self.kind = kind
        self.ready = ready  # event the queue passes once a new pool allocation is usable
        self.owner = owner  # what keeps external memory alive
        self.freed = False

    def __repr__(self) -> str:
        return f"CudaAllocation({self.kind}, {self.size} bytes at {self.ptr:#x})"

    @property
    def pinned_host(self) -> bool:
        """True for page-locked host memory (DLPack's kDLCUDAHost), else device memory."""
        return self.kind == HOST

    def __del__(self) -> None:
        if sys.is_finalizing():  # interpreter exit: objects go in any order (a device
            return  # before its buffers); the process's end frees what is native
        try:
            self.device.memory.discard(self)
        except Exception:  # interpreter shutdown: the device's attributes may be gone
            pass

    # Interop hooks of the contract: the core Buffer forwards __cuda_array_interface__ /
    # __dlpack__ here.
    cuda_memory = True

    def cuda_array_interface(self, offset: int, size: int) -> dict[str, Any]:
        from .interop import array_interface

        return array_interface(self, offset, size)

    def dlpack(self, offset: int, size: int, stream: Any = None) -> Any:
        from .interop import dlpack_capsule

        return dlpack_capsule(self, offset, size, stream)

    def dlpack_device(self) -> tuple[int, int]:
        from .interop import dlpack_device

        return dlpack_device(self)


def _host_memory_available() -> int | None:
    """MemAvailable of /proc/meminfo in bytes, or None where there is none."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


class Memory:
    """Allocation, release and host access for one device."""

    def __init__(self, device: CudaDevice):
        self.device = device
        self.lock = threading.Lock()
        self.host_stream = check(
            cu.cuStreamCreate(cu.CUstream_flags.CU_STREAM_NON_BLOCKING), "cuStreamCreate"
        )
        self.pool = self._create_pool() if device.attribute("MEMORY_POOLS_SUPPORTED") else None
        #: ptr → kind of every allocation not yet freed; close() frees what is left.
        self.live: dict[int, str] = {}

    def _create_pool(self) -> Any:
        props = cu.CUmemPoolProps()
        props.allocType = cu.CUmemAllocationType.CU_MEM_ALLOCATION_TYPE_PINNED
        props.location.type = cu.CUmemLocationType.CU_MEM_LOCATION_TYPE_DEVICE
        props.location.id = self.device.index
        pool = check(cu.cuMemPoolCreate(props), "cuMemPoolCreate")
        # Keep freed memory in the pool: queue_alloca after queue_dealloca costs no syscall.
        threshold = cu.CUmemPool_attribute.CU_MEMPOOL_ATTR_RELEASE_THRESHOLD
        check(
            cu.cuMemPoolSetAttribute(pool, threshold, cu.cuuint64_t(2**64 - 1)),
            "cuMemPoolSetAttribute",
        )
        return pool

    def allocate(self, size: int, memory_type: MemoryType) -> CudaAllocation:
        dev = self.device
        dev.bind()
        if not memory_type & _DEVICE_LOCAL_BIT:
            available = _host_memory_available()
            if available is not None and size > available // 2:
                # Pinned pages cannot be paged out: past this the kernel's OOM killer, not an
                # error, answers (a SIGKILL of the whole process).
                raise ResourceExhaustedError(
                    f"{size} bytes of pinned host memory: the host has {available} bytes "
                    "available, and a pinned allocation may take at most half of that"
                )
            flags = cu.CU_MEMHOSTALLOC_PORTABLE | cu.CU_MEMHOSTALLOC_DEVICEMAP
            ptr = int(check(cu.cuMemHostAlloc(size, flags), "cuMemHostAlloc")) if size else 0
            if ptr:
                self.live[ptr] = HOST
            kind = MemoryType.HOST_LOCAL | MemoryType.DEVICE_VISIBLE | memory_type
            return CudaAllocation(dev, size, kind, HOST, ptr)
        ready = None
        if not size:
            ptr = 0
        elif self.pool is not None:
            ptr = check(
                cu.cuMemAllocFromPoolAsync(size, self.pool, dev.stream), "cuMemAllocFromPoolAsync"
            )
            ready = dev.take_event()
            check(cu.cuEventRecord(ready, dev.stream), "cuEventRecord")
        else:
            ptr = check(cu.cuMemAlloc(size), "cuMemAlloc")
        if ptr:
            self.live[int(ptr)] = DEVICE
        return CudaAllocation(
            dev, size, memory_type | MemoryType.DEVICE_LOCAL, DEVICE, int(ptr), ready
        )

    def wrap(self, ptr: int, size: int, memory_type: MemoryType, owner: Any) -> CudaAllocation:
        """An allocation over memory another library owns (kept alive by ``owner``)."""
        return CudaAllocation(self.device, size, memory_type, EXTERNAL, ptr, owner=owner)

    def free(self, alloc: CudaAllocation) -> None:
        """Returns the storage once the work queued so far is done with it (the front end's
        release, queue_dealloca: earlier submissions may still use the buffer)."""
        if alloc.freed:
            return
        alloc.freed = True
        dev = self.device
        if alloc.ready is not None:
            dev.give_event(alloc.ready)
            alloc.ready = None
        if alloc.kind == EXTERNAL:
            alloc.owner = None
            return
        if not alloc.ptr:
            return
        if self.live.pop(alloc.ptr, None) is None:
            return
        dev.bind()
        ptr = alloc.ptr
        if alloc.kind == HOST:
            # cuMemFreeHost does not wait for the stream: free after the work queued so far.
            dev.after_queued_work(lambda: cu.cuMemFreeHost(ptr))
        elif self.pool is not None:
            dev.drain()  # behind every queued submission, which may still use it
            check(cu.cuMemFreeAsync(ptr, dev.stream), "cuMemFreeAsync")
        else:
            check(cu.cuMemFree(ptr), "cuMemFree")

    def discard(self, alloc: CudaAllocation) -> None:
        """The release of an allocation nothing references any more (its destructor).

        The front end keeps every buffer of a pending submission alive, so nothing on the
        device uses this one: its storage goes back on the completion thread, in the
        queue's stream order, with no wait; here only the handle is queued (see
        CudaDevice.defer).
        """
        if alloc.freed:
            return
        alloc.freed = True
        ready, alloc.ready = alloc.ready, None
        alloc.owner = None
        ptr = alloc.ptr if alloc.kind != EXTERNAL else 0
        if ptr or ready is not None:
            self.device.defer(self._release, ptr, ready)

    def _release(self, ptr: int, ready: Any) -> None:
        """Frees ``ptr`` (if still live) and takes back the ``ready`` event; never raises,
        as it runs on the completion thread (a failure leaks the memory, nothing else)."""
        if ready is not None:
            self.device.give_event(ready)
        kind = self.live.pop(ptr, None)
        if kind == HOST:
            cu.cuMemFreeHost(ptr)
        elif kind == DEVICE and self.pool is not None:
            cu.cuMemFreeAsync(ptr, self.device.stream)
        elif kind == DEVICE:
            cu.cuMemFree(ptr)

    def read(self, alloc: CudaAllocation, offset: int, length: int) -> bytes:
        out = np.empty(length, np.uint8)
        if alloc.kind == HOST:
            ctypes.memmove(out.ctypes.data, alloc.ptr + offset, length)
        else:
            self._copy(out.ctypes.data, alloc.ptr + offset, length, alloc)
        return out.tobytes()

    def write(self, alloc: CudaAllocation, offset: int, data: memoryview) -> None:
        source = np.frombuffer(data, np.uint8)
        if alloc.kind == HOST:
            ctypes.memmove(alloc.ptr + offset, source.ctypes.data, len(source))
        else:
            self._copy(alloc.ptr + offset, source.ctypes.data, len(source), alloc)

    def _copy(self, dst: int, src: int, length: int, alloc: CudaAllocation) -> None:
        with self.lock:
            self.device.bind()
            if alloc.ready is not None:
                ready, alloc.ready = alloc.ready, None
                check(cu.cuStreamWaitEvent(self.host_stream, ready, 0), "cuStreamWaitEvent")
                self.device.give_event(ready)
            check(cu.cuMemcpyAsync(dst, src, length, self.host_stream), "cuMemcpyAsync")
            check(cu.cuStreamSynchronize(self.host_stream), "cuStreamSynchronize")

    def close(self) -> None:
        """Frees every allocation still live, the pool and the host stream (device close,
        after the queue stopped and the context synchronized)."""
        while self.live:
            ptr, kind = self.live.popitem()
            if kind == HOST:
                cu.cuMemFreeHost(ptr)
            elif self.pool is not None:
                cu.cuMemFreeAsync(ptr, 0)
            else:
                cu.cuMemFree(ptr)
        if self.pool is not None:
            cu.cuCtxSynchronize()
            cu.cuMemPoolDestroy(self.pool)
        cu.cuStreamDestroy(self.host_stream)
