"""``hal.device.*`` and ``hal.devices.*``: queries and the device queue on polyhal's.

Every queue operation waits on its wait fence's timepoints and signals its signal
fence's (a null fence: none).  Part of :mod:`polyhal.iree.hal_module`.
"""

from __future__ import annotations

from typing import Any

from ..buffer import Buffer
from ..command_buffer import CommandBuffer
from ..device import Device
from ..errors import (
    InvalidArgumentError,
    OutOfRangeError,
    PermissionDeniedError,
    UnimplementedError,
)
from ..semaphore import Semaphore
from ..types import (
    MemoryType,
)
from . import hal_executables
from .hal_types import (
    Allocator,
    Fence,
    HalFile,
    SubAllocator,
    bad_argument,
    binding_table,
    device_id,
    file_range,
    fill_pattern,
    hot,
    iree_length,
    memory_type_of,
    pattern_match,
    pending,
    signal_now,
    signals_of,
    staged,
    usage_of,
    vm_bytes,
    vm_text,
    waits_of,
)


class DeviceImports:
    """The ``hal.device.*`` and ``hal.devices.*`` imports (a part of HalModule)."""

    device: Device
    devices: list[Device]
    _allocator: Allocator
    _allocators: dict[int, Allocator]
    _suballocator: SubAllocator
    _signal_pool: list[tuple[Semaphore, int]]

    # -- devices ----------------------------------------------------------------------------
    @hot
    def _device__allocator(self, device: Device) -> Allocator:
        try:
            if device is self.device:
                return self._allocator
            return self._allocators[id(device)]
        except (KeyError, TypeError) as e:
            raise bad_argument("hal.device.allocator", e) from None

    def _device__query__i64(self, device: Device, category: Any, key: Any) -> tuple[int, int]:
        category, key = vm_text(category), vm_text(key)
        if category == "hal.device.id":
            return 1, int(pattern_match(device_id(device), key))
        if category == "hal.executable.format":
            return 1, int(key in hal_executables.supported_formats(device))
        if category == "hal.device" and key == "concurrency":
            return 1, 1  # one queue
        if category == "hal.dispatch" and key == "concurrency" and "threads" in device.info:
            return 1, int(device.info["threads"])  # the CPU drivers' workers
        return 0, 0

    @hot
    def _device__queue__alloca(
        self,
        device: Device,
        affinity: int,
        wait: Fence | None,
        signal: Fence | None,
        pool: int,
        memory_types: int,
        usage: int,
        size: int,
        flags: int,
    ) -> Buffer:
        try:
            if pool:
                raise UnimplementedError(f"hal.device.queue.alloca from pool {pool}: no pools")
            # (A fence reached without a semaphore, tested inline: the common case.)
            if wait is None or (wait._timepoints is None and wait._reached) or not pending(wait):
                # Nothing left to wait for: what the queue would do, allocate then signal,
                # done here without a queue submission (the common case, every call).
                buffer = self._suballocator.allocate(device, size, memory_types, usage)
                if signal is not None:
                    signal.signal_host()
                return buffer
            return device.queue_alloca(
                size,
                wait=waits_of(wait),
                signal=signals_of(signal),
                memory_type=memory_type_of(memory_types),
                usage=usage_of(usage),
            )
        except (AttributeError, TypeError) as e:
            raise bad_argument("hal.device.queue.alloca", e) from None

    @hot
    def _device__queue__dealloca(
        self,
        device: Device,
        affinity: int,
        wait: Fence | None,
        signal: Fence | None,
        buffer: Buffer,
        flags: int,
    ) -> None:
        try:
            if self._suballocator.owns(buffer) and not pending(wait):
                # A buffer carved from a slab frees nothing early (its slab goes when its last
                # buffer does): the deallocation only orders, and with its waits reached it is
                # done at once; else it is a barrier.
                signal_now(signal)
                return
            waits = waits_of(wait)
            signals = signals_of(signal)
            if self._suballocator.owns(buffer):
                device.queue_barrier(wait=waits, signal=signals)
            else:
                device.queue_dealloca(buffer, wait=waits, signal=signals)
        except (AttributeError, TypeError) as e:
            raise bad_argument("hal.device.queue.dealloca", e) from None

    @hot
    def _device__queue__fill(
        self,
        device: Device,
        affinity: int,
        wait: Fence | None,
        signal: Fence | None,
        target: Buffer,
        offset: int,
        length: int,
        pattern: int,
        pattern_length: int,
        flags: int,
    ) -> None:
        try:
            value, plen = fill_pattern(pattern, pattern_length)
            device.queue_fill(
                target,
                offset,
                iree_length(length),
                value,
                pattern_length=plen,
                wait=waits_of(wait),
                signal=signals_of(signal),
            )
        except (AttributeError, TypeError) as e:
            raise bad_argument("hal.device.queue.fill", e) from None

    def _device__queue__update(
        self,
        device: Device,
        affinity: int,
        wait: Fence | None,
        signal: Fence | None,
        source: Any,
        source_offset: int,
        target: Buffer,
        target_offset: int,
        length: int,
        flags: int,
    ) -> None:
        device.queue_update(
            vm_bytes(source),
            source_offset,
            target,
            target_offset,
            length,
            wait=waits_of(wait),
            signal=signals_of(signal),
        )

    @hot
    def _device__queue__copy(
        self,
        device: Device,
        affinity: int,
        wait: Fence | None,
        signal: Fence | None,
        source: Buffer,
        source_offset: int,
        target: Buffer,
        target_offset: int,
        length: int,
        flags: int,
    ) -> None:
        try:
            if not pending(wait) and self._suballocator.copy(
                device, source, source_offset, target, target_offset, length
            ):
                # Done on the host: nothing left to wait for, both ends in slab memory.
                signal_now(signal)
                return
            device.queue_copy(
                source,
                source_offset,
                target,
                target_offset,
                iree_length(length),
                wait=waits_of(wait),
                signal=signals_of(signal),
            )
        except (AttributeError, TypeError) as e:
            raise bad_argument("hal.device.queue.copy", e) from None

    def _device__queue__read(
        self,
        device: Device,
        affinity: int,
        wait: Fence | None,
        signal: Fence | None,
        source: HalFile,
        source_offset: int,
        target: Buffer,
        target_offset: int,
        length: int,
        flags: int,
    ) -> None:
        data = file_range(source, source_offset, length)
        signals = signals_of(signal)

        # The file's bytes are read when the operation runs, after its waits.
        def read() -> None:
            device.queue_update(bytes(data), 0, target, target_offset, length, signal=signals)

        device.queue_host_call(read, wait=waits_of(wait))

    def _device__queue__write(
        self,
        device: Device,
        affinity: int,
        wait: Fence | None,
        signal: Fence | None,
        source: Buffer,
        source_offset: int,
        target: HalFile,
        target_offset: int,
        length: int,
        flags: int,
    ) -> None:
        if not target.writable:
            raise PermissionDeniedError("hal.device.queue.write into a read-only file")
        out = file_range(target, target_offset, length)
        view = source.subspan(source_offset, length)

        def write() -> None:
            host = view if view.memory_type & MemoryType.HOST_VISIBLE else staged(view)
            out[:] = host.read()

        device.queue_host_call(
            write,
            wait=waits_of(wait),
            signal=signals_of(signal),
        )

    def _device__queue__barrier(
        self, device: Device, affinity: int, wait: Fence | None, signal: Fence | None, flags: int
    ) -> None:
        device.queue_barrier(
            wait=waits_of(wait),
            signal=signals_of(signal),
        )

    @hot
    def _device__queue__execute(
        self,
        device: Device,
        affinity: int,
        wait: Fence | None,
        signal: Fence | None,
        cb: CommandBuffer,
        flags: int,
        table: list[Buffer] | None = None,
    ) -> None:
        """IREE's queue.execute; with ``table`` (polyhal's own import, EXECUTE_TABLE of
        polyhal.iree.vm): a command buffer a region records once, with ``table``'s whole
        buffers as its binding table."""
        self._execute("hal.device.queue.execute", device, wait, signal, cb, table, False)

    @hot
    def _device__queue__execute__indirect(
        self,
        device: Device,
        affinity: int,
        wait: Fence | None,
        signal: Fence | None,
        cb: CommandBuffer,
        flags: int,
        table: list[tuple[Buffer | None, int, int]],
    ) -> None:
        self._execute("hal.device.queue.execute.indirect", device, wait, signal, cb, table, True)

    def _execute(
        self,
        what: str,
        device: Device,
        wait: Fence | None,
        signal: Fence | None,
        cb: CommandBuffer,
        table: Any,
        iree_table: bool,
    ) -> None:
        """A submission of ``cb`` with binding table ``table``: IREE's table of
        (buffer, offset, length) entries when ``iree_table``, else None or whole Buffers."""
        try:
            waits = waits_of(wait)
            pair = None
            if signal is not None and signal._timepoints is None and not signal._reached:
                pair = self._pooled_timepoint(device)
                signals: Any = [pair]
            else:
                signals = signals_of(signal)
            try:
                device.queue_execute(cb, wait=waits, signal=signals, binding_table=table)
            except (InvalidArgumentError, OutOfRangeError):
                # IREE's whole-buffer lengths (-1) and unused (null) entries: converted only on
                # this path, so a common call passes the program's table untouched.
                fixed = binding_table(table) if iree_table else None
                if fixed is None:
                    raise
                device.queue_execute(cb, wait=waits, signal=signals, binding_table=fixed)
            if pair is not None and signal is not None:
                self._settle(signal, pair)
        except (AttributeError, TypeError) as e:
            raise bad_argument(what, e) from None

    def _pooled_timepoint(self, device: Device) -> tuple[Semaphore, int]:
        """The next timepoint of a semaphore of ``device`` from the module's pool (a new
        semaphore when the pool has none): what a submission signalling a fence that has
        no semaphore yet signals instead of a semaphore made for it (see _settle)."""
        try:
            sem, value = self._signal_pool.pop()  # atomic: each thread takes its own
        except IndexError:
            return Semaphore(device, 0), 1
        if sem.device is not device:
            return Semaphore(device, 0), 1  # the other device's goes (another module call)
        return sem, value + 1

    def _settle(self, fence: Fence, pair: tuple[Semaphore, int]) -> None:
        """After a submission signalling ``pair`` for ``fence`` returned: when it has
        finished already (short work runs on the caller), the fence is marked reached and
        the semaphore goes back to the pool, no timepoint of it pending; else the fence
        takes the timepoint."""
        sem, value = pair
        if sem.reached(value):
            fence.signal_host()
            self._signal_pool.append(pair)
        else:
            fence.adopt(pair)

    def _device__queue__flush(self, device: Device, affinity: int) -> None:
        # polyhal's queue operations are submitted when called: nothing is batched.
        return None

    def _devices__count(self) -> int:
        return len(self.devices)

    def _devices__get(self, index: int) -> Device | None:
        return self.devices[index] if 0 <= index < len(self.devices) else None
