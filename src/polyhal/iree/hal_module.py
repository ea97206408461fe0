"""IREE's ``hal`` module on polyhal: the imports an IREE-compiled host program calls.

An IREE module's host program (its VM code) drives the device through the ``hal`` module:
buffers, buffer views, command buffers, the device queue, executables and fences.
:class:`HalModule` implements those imports on polyhal's public API, so that the program,
translated by :mod:`polyhal.iree.vm`, runs on any polyhal driver:

================================  ===================================================
IREE                              polyhal
================================  ===================================================
``!hal.device``                   :class:`polyhal.Device`
``!hal.allocator``                :class:`Allocator` (the device's)
``!hal.buffer``                   :class:`polyhal.Buffer`
``!hal.buffer_view``              :class:`BufferView`
``!hal.command_buffer``           :class:`polyhal.CommandBuffer` (begun at creation)
``!hal.executable``               :class:`~polyhal.iree.hal_executables.HalExecutable`
``!hal.fence``                    :class:`Fence`: ``(Semaphore, value)`` timepoints
binding-table slot ``n``          ``polyhal.Slot(n)``
``queue.execute.indirect``        ``queue_execute(cb, binding_table=...)``
================================  ===================================================

The calling convention is the interface file's: operands in VM order, a variadic segment
is one list, a tuple segment a list of tuples; a result is None, a value, or a tuple.
i32 and i64 values are signed Python ints: an i64 length of -1 is IREE's whole buffer.

Not supported, each raising UnimplementedError naming it: collectives and channels, queue
allocation pools, files other than host memory, executable constants, executable formats
the device does not load (see :func:`~polyhal.iree.hal_executables.supported_formats`).
Bad values raise the HalError subclass of the status IREE would return.

**Allocation.**  On unchecked devices, buffers of up to 16 KiB (a program's results and
transients, allocated on every call) are carved from 256 KiB slabs
(:class:`~polyhal.iree.hal_types.SubAllocator`): a function's results may share one
allocation.  Drop results you no longer need rather than ``queue_dealloca`` them: that
releases the slab, and the results sharing it with them.

**Checked mode.**  IREE's CPU and SPIR-V executables do not say which bindings a kernel
only reads, so polyhal's race checker would take every binding as written and report two
dispatches that read one buffer as a race.  On a checked device, dispatches of such
executables are therefore recorded between barriers; programs run the same, serialised.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..buffer import Buffer
from ..device import Device
from ..errors import (
    DeadlineExceededError,
    InvalidArgumentError,
    OutOfRangeError,
    PermissionDeniedError,
    UnimplementedError,
)
from ..semaphore import Semaphore
from ..types import (
    BufferUsage,
    MemoryType,
    StatusCode,
)
from . import hal_executables
from .hal_commands import CommandBufferImports
from .hal_device import DeviceImports
from .hal_executables import HalExecutable
from .hal_types import (
    ARGUMENT_USAGE,
    MEMORY_BITS,
    SHARING_IMMUTABLE,
    STATUS_DEFERRED,
    STATUS_MASK,
    U32,
    USAGE_BITS,
    Allocator,
    BufferView,
    Fence,
    HalFile,
    SubAllocator,
    bad_argument,
    compatible,
    dtype_of,
    element_type_of,
    guarded,
    host_read,
    hot,
    iree_length,
    is_readonly,
    memory_type_of,
    usage_of,
    vm_bytes,
    vm_text,
)
from .vm import EXECUTE_TABLE

__all__ = [
    "Allocator",
    "BufferView",
    "Fence",
    "HalFile",
    "HalModule",
    "dtype_of",
    "element_type_of",
]


# -- the module ---------------------------------------------------------------------------
class HalModule(CommandBufferImports, DeviceImports):
    """IREE's ``hal`` module on ``device`` (a polyhal Device, or a sequence of them: the
    program's ``hal.devices.*`` see them in order).

    ``imports`` maps each import's full name ("hal.buffer_view.create", …) to its
    implementation.  :meth:`close` waits for the queue and drops what the module made.
    """

    def __init__(self, device: Device | Sequence[Device]):
        devices = [device] if isinstance(device, Device) else list(device)
        if not devices or not all(isinstance(d, Device) for d in devices):
            raise InvalidArgumentError("HalModule takes a polyhal Device or a list of them")
        self.devices = devices
        self.device = devices[0]
        self._allocators = {id(d): Allocator(d) for d in devices}
        self._allocator = self._allocators[id(self.device)]
        self._executables: list[HalExecutable] = []
        # Preserve counts of allocations (IREE's buffer.allocation.* ownership count,
        # 1 until a preserve or discard changes it).
        self._preserved: weakref.WeakKeyDictionary[Any, int] = weakref.WeakKeyDictionary()
        self._suballocator = SubAllocator()
        # (semaphore, the value it is at) for submissions signalling a fence that has no
        # semaphore yet (see DeviceImports._settle).
        self._signal_pool: list[tuple[Semaphore, int]] = []
        self._lock = threading.Lock()  # guards the preserve counts
        self.imports: dict[str, Callable[..., Any]] = {}
        for attr in dir(self):
            if attr.startswith("_") and "__" in attr[1:] and not attr.startswith("__"):
                name, fn = f"hal.{attr[1:].replace('__', '.')}", getattr(self, attr)
                self.imports[name] = fn if getattr(fn, "hot", False) else guarded(name, fn)
        # The submission of a command buffer the translated program records once.
        self.imports[EXECUTE_TABLE] = self._device__queue__execute

    def close(self) -> None:
        """Waits until every device's queue is idle, then drops the executables made."""
        for device in self.devices:
            if not device._closed:
                device.wait_idle()
        self._executables.clear()
        self._preserved.clear()

    # -- host-side helpers for module.py ---------------------------------------------------
    def view_of_array(self, array: Any) -> BufferView:
        """A buffer view of a new device buffer holding a copy of ``array``."""
        array = np.asarray(array)
        if not array.flags.c_contiguous:
            array = array.copy(order="C")
        element_type = element_type_of(array.dtype)
        data = array.reshape(-1).view(np.uint8)
        # Small arguments come from the slabs too (an upload per call costs an allocation).
        buffer = self._suballocator.upload(self.device, data, 1, ARGUMENT_USAGE)
        return BufferView(buffer, element_type, 1, array.shape)

    def view_of_buffer(
        self, buffer: Buffer, dtype: Any, shape: Sequence[int], offset: int = 0
    ) -> BufferView:
        """A buffer view of ``shape`` elements of ``dtype`` at ``offset`` of ``buffer``,
        without a copy; OutOfRangeError when the buffer is too small."""
        if not isinstance(buffer, Buffer):
            raise InvalidArgumentError(f"expected a polyhal Buffer, got {type(buffer).__name__}")
        dt = np.dtype(dtype)
        shape = tuple(int(n) for n in shape)
        nbytes = int(np.prod(shape, dtype=np.int64)) * dt.itemsize
        view = buffer if offset == 0 and nbytes == buffer.size else buffer.subspan(offset, nbytes)
        return BufferView(view, element_type_of(dt), 1, shape)

    # -- allocator --------------------------------------------------------------------------
    def _allocator__select(
        self, memory_types: int, buffer_usage: int, flags: int, candidates: list[Any]
    ) -> tuple[Device, int]:
        if not candidates:
            raise InvalidArgumentError("hal.allocator.select needs a (device, affinity) pair")
        device, affinity = candidates[0]
        return device, affinity

    def _allocator__allocate(
        self, allocator: Allocator, affinity: int, memory_types: int, usage: int, size: int
    ) -> Buffer:
        return self._suballocator.allocate(allocator.device, size, memory_types, usage)

    def _allocator__import(
        self,
        allocator: Allocator,
        try_: int,
        affinity: int,
        memory_types: int,
        usage: int,
        source: Any,
        offset: int,
        length: int,
    ) -> Buffer | None:
        data = vm_bytes(source)
        length = len(data) - offset if length < 0 else length
        if offset < 0 or offset + length > len(data):
            raise InvalidArgumentError(
                f"import of [{offset}, +{length}) from a buffer of {len(data)} bytes"
            )
        # Data the program never writes may be copied: nobody can tell it from an alias.
        if usage & SHARING_IMMUTABLE:
            return allocator.device.buffer_from(
                memoryview(data)[offset : offset + length],
                memory_type=memory_type_of(memory_types),
                usage=usage_of(usage),
            )
        if try_:
            return None
        raise UnimplementedError(
            "hal.allocator.import of mutable host memory: polyhal does not alias host memory"
        )

    # -- buffer -----------------------------------------------------------------------------
    @hot
    def _buffer__assert(
        self,
        buffer: Buffer,
        message: Any,
        allocator: Allocator,
        minimum_length: int,
        memory_types: int,
        usage: int,
    ) -> None:
        if type(buffer) is not Buffer:
            raise InvalidArgumentError(f"{vm_text(message)}: expected a buffer, got {buffer!r}")
        if buffer.size < minimum_length:
            raise InvalidArgumentError(
                f"{vm_text(message)} buffer byte length {buffer.size} less than expected "
                f"minimum {minimum_length}"
            )
        if memory_types & MEMORY_BITS & ~int(buffer.memory_type):
            raise PermissionDeniedError(
                f"{vm_text(message)} buffer memory type is not compatible; buffer has "
                f"{buffer.memory_type!r}, operation requires {memory_type_of(memory_types)!r}"
            )
        if usage & USAGE_BITS & ~buffer.usage_bits:
            raise PermissionDeniedError(
                f"{vm_text(message)} requested usage was not specified when the buffer was "
                f"allocated; buffer allows {buffer.usage!r}, operation requires "
                f"{usage_of(usage)!r}"
            )

    def _buffer__allocation__preserve(self, buffer: Buffer) -> None:
        alloc = buffer.alloc
        with self._lock:
            self._preserved[alloc] = self._preserved.get(alloc, 1) + 1

    def _buffer__allocation__discard(self, buffer: Buffer) -> int:
        alloc = buffer.alloc
        with self._lock:
            count = self._preserved.get(alloc, 1)
            self._preserved[alloc] = max(0, count - 1)
        return 1 if count == 1 else 0

    def _buffer__allocation__is_terminal(self, buffer: Buffer) -> int:
        return 1 if self._preserved.get(buffer.alloc, 1) == 1 else 0

    def _buffer__subspan(self, buffer: Buffer, offset: int, length: int) -> Buffer:
        return buffer.subspan(offset, iree_length(length))

    def _buffer__length(self, buffer: Buffer) -> int:
        return buffer.size

    @hot
    def _buffer__load(self, buffer: Buffer, offset: int, length: int) -> int:
        try:
            if not 0 < length <= 4:
                raise InvalidArgumentError(f"load length byte count {length} exceeds max")
            data = self._suballocator.read(buffer, offset, length)
            if data is None:
                data = host_read(buffer, offset, length)
            value = int.from_bytes(data, "little")
            return value - (1 << 32) if value >= 1 << 31 else value
        except (AttributeError, TypeError) as e:
            raise bad_argument("hal.buffer.load", e) from None

    def _buffer__store(self, value: int, buffer: Buffer, offset: int, length: int) -> None:
        if not 0 < length <= 4:
            raise InvalidArgumentError(f"store length byte count {length} exceeds max")
        if offset + length > buffer.size:
            raise OutOfRangeError(
                f"store out of bounds (target_offset={offset}, length={length} into max "
                f"{buffer.size})"
            )
        data = (value & U32).to_bytes(4, "little")[:length]
        if buffer.memory_type & MemoryType.HOST_VISIBLE or buffer.usage & BufferUsage.MAPPING:
            buffer.write(data, offset)
        else:
            done = buffer.device.create_semaphore(0)
            buffer.device.queue_update(data, 0, buffer, offset, length, signal=[(done, 1)])
            done.wait(1)

    # -- buffer views -----------------------------------------------------------------------
    @hot
    def _buffer_view__create(
        self,
        buffer: Buffer,
        offset: int,
        length: int,
        element_type: int,
        encoding_type: int,
        shape: list[int],
    ) -> BufferView:
        if type(buffer) is not Buffer:
            raise InvalidArgumentError(f"hal.buffer_view.create of {buffer!r}")
        if offset != 0 or length != buffer.size:
            buffer = buffer.subspan(offset, iree_length(length))
        return BufferView(buffer, element_type & U32, encoding_type & U32, tuple(shape))

    @hot
    def _buffer_view__assert(
        self,
        view: BufferView,
        message: Any,
        element_type: int,
        encoding_type: int,
        shape: list[int],
    ) -> None:
        if type(view) is not BufferView:
            raise InvalidArgumentError(
                f"{vm_text(message)}: expected a buffer view, got {type(view).__name__}"
            )
        if view.encoding_type and view.encoding_type != encoding_type & U32:
            raise InvalidArgumentError(
                f"{vm_text(message)} encoding mismatch; expected {encoding_type & U32:08X} but "
                f"have {view.encoding_type:08X}"
            )
        element_type &= U32
        if view.element_type != element_type and not compatible(view.element_type, element_type):
            raise InvalidArgumentError(
                f"{vm_text(message)} element type mismatch; expected {element_type:08X} but "
                f"have {view.element_type:08X}"
            )
        if view.shape != tuple(shape):
            raise InvalidArgumentError(
                f"{vm_text(message)} shape mismatch; expected {tuple(shape)} but have {view.shape}"
            )

    @hot
    def _buffer_view__buffer(self, view: BufferView) -> Buffer:
        try:
            return view.buffer
        except (AttributeError, TypeError) as e:
            raise bad_argument("hal.buffer_view.buffer", e) from None

    def _buffer_view__element_type(self, view: BufferView) -> int:
        value = view.element_type
        return value - (1 << 32) if value >= 1 << 31 else value

    def _buffer_view__encoding_type(self, view: BufferView) -> int:
        value = view.encoding_type
        return value - (1 << 32) if value >= 1 << 31 else value

    @hot
    def _buffer_view__rank(self, view: BufferView) -> int:
        try:
            return len(view.shape)
        except (AttributeError, TypeError) as e:
            raise bad_argument("hal.buffer_view.rank", e) from None

    @hot
    def _buffer_view__dim(self, view: BufferView, index: int) -> int:
        try:
            if not 0 <= index < len(view.shape):
                raise OutOfRangeError(f"buffer view dimension {index} of rank {len(view.shape)}")
            return view.shape[index]
        except (AttributeError, TypeError) as e:
            raise bad_argument("hal.buffer_view.dim", e) from None

    def _buffer_view__trace(self, key: Any, views: list[BufferView]) -> None:
        # IREE traces only into a debug sink the hosting application installs; polyhal
        # installs none, so tracing is a no-op as it is in IREE without one.
        return None

    # -- channels (collectives) -------------------------------------------------------------
    def _channel__create(self, *args: Any) -> Any:
        raise UnimplementedError("hal.channel.create: collectives are not implemented")

    def _channel__split(self, *args: Any) -> Any:
        raise UnimplementedError("hal.channel.split: collectives are not implemented")

    def _channel__rank_and_count(self, *args: Any) -> Any:
        raise UnimplementedError("hal.channel.rank_and_count: collectives are not implemented")

    # -- executables ------------------------------------------------------------------------
    def _executable__create(
        self, device: Device, affinity: int, fmt: Any, data: Any, constants: Any
    ) -> HalExecutable:
        exe = hal_executables.create_executable(
            device,
            vm_text(fmt),
            vm_bytes(data),
            bytes(vm_bytes(constants)) if constants is not None else None,
        )
        self._executables.append(exe)
        return exe

    @hot
    def _executable__lookup__function(self, exe: HalExecutable, name: Any) -> int:
        try:
            # By the name's bytes: a rodata string hashes once, so a program that looks a
            # function up on every call pays a dict lookup.
            index = exe.by_name.get(name.data)
        except (AttributeError, TypeError):
            index = None
        if index is not None:
            return index
        if type(exe) is not HalExecutable:
            raise InvalidArgumentError(f"expected a !hal.executable, got {type(exe).__name__}")
        return exe.lookup(vm_text(name))

    # -- files ------------------------------------------------------------------------------
    def _ex__file__from_memory(
        self,
        device: Device,
        affinity: int,
        access: int,
        memory: Any,
        offset: int,
        length: int,
        flags: int,
    ) -> HalFile:
        data = vm_bytes(memory)
        length = len(data) - offset if length < 0 else length
        if offset < 0 or offset + length > len(data):
            raise OutOfRangeError(f"file of [{offset}, +{length}) in {len(data)} bytes")
        writable = bool(access & 2)  # IREE_HAL_MEMORY_ACCESS_WRITE
        if writable and (not isinstance(data, (bytearray, memoryview)) or is_readonly(data)):
            raise PermissionDeniedError("a writable hal.file over read-only memory")
        return HalFile(data, offset, length, writable)

    # -- fences -----------------------------------------------------------------------------
    @hot
    def _fence__create(self, device: Device, flags: int) -> Fence:
        # No semaphore yet (see Fence): most of a call's fences never need one.
        if not isinstance(device, Device):
            raise InvalidArgumentError(f"hal.fence.create: expected a device, got {device!r}")
        if device._closed:
            device._check_open()  # raises FailedPreconditionError, as create_semaphore does
        return Fence(None, device)

    @hot
    def _fence__join(self, flags: int, fences: list[Fence | None]) -> Fence | None:
        try:
            merged: dict[Semaphore, int] = {}
            some = False
            for fence in fences:
                if fence is None:
                    continue
                some = True
                if fence._timepoints is None and fence._reached:
                    continue  # reached without a semaphore: nothing to wait for
                for sem, value in fence.timepoints:
                    if merged.get(sem, -1) < value:
                        merged[sem] = value
            if merged:
                return Fence(list(merged.items()))
            if not some:
                return None
            joined = Fence(None, None)  # every fence reached: so is the join
            joined._reached = True
            return joined
        except (AttributeError, TypeError) as e:
            raise bad_argument("hal.fence.join", e) from None

    def _fence__query(self, fence: Fence) -> int:
        if fence.reached_on_host:
            return 0
        for sem, value in fence.timepoints:
            error = sem.error()
            if error is not None:
                return int(error.code)
            if not sem.reached(value):
                return STATUS_DEFERRED
        return 0

    def _fence__signal(self, fence: Fence) -> None:
        for sem, value in fence.timepoints:
            sem.signal(value)

    def _fence__fail(self, fence: Fence, status: int) -> None:
        code = status & STATUS_MASK
        # OK (a failure without a code) and IREE's codes past DATA_LOSS have no polyhal
        # error class: UNKNOWN, as polyhal's error_for does for foreign codes.
        kind = StatusCode(code) if 0 < code <= 15 else StatusCode.UNKNOWN
        for sem, _ in fence.timepoints:
            sem.fail(kind, f"fence failed by the program (status {code})")

    @hot
    def _fence__await(self, timeout_ms: int, flags: int, fences: list[Fence | None]) -> int:
        try:
            if len(fences) == 1:
                # One fence of one timepoint (the usual end of a call): straight to its wait.
                fence = fences[0]
                if fence is None or (fence._timepoints is None and fence._reached):
                    return 0
                tps = fence.timepoints
                if len(tps) == 1 and timeout_ms & U32 == U32:
                    sem, value = tps[0]
                    if not sem.reached(value):
                        sem.wait(value)
                    return 0
            timeout_ms &= U32
            deadline = None if timeout_ms == U32 else time.monotonic() + timeout_ms / 1000
            try:
                for fence in fences:
                    if fence is None or (fence._timepoints is None and fence._reached):
                        continue
                    for sem, value in fence.timepoints:
                        if deadline is None:
                            sem.wait(value)
                        else:
                            sem.wait(value, max(0.0, deadline - time.monotonic()))
            except DeadlineExceededError:
                return int(StatusCode.DEADLINE_EXCEEDED)
            return 0
        except (AttributeError, TypeError) as e:
            raise bad_argument("hal.fence.await", e) from None
