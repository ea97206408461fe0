"""Helpers shared by the conformance tests: default buffers, expected bytes, the Binder."""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterable

import numpy as np
import pytest

import polyhal as hal

#: Seconds a wait that must succeed may take; only a broken driver gets near it.
TIMEOUT = 10.0
#: Seconds a wait that must time out is given.
SHORT_TIMEOUT = 0.05

#: "Default buffers" of CONFORMANCE.md.
DEFAULT_MEMORY = hal.MemoryType.DEVICE_LOCAL | hal.MemoryType.HOST_VISIBLE
DEFAULT_USAGE = (
    hal.BufferUsage.DISPATCH_STORAGE | hal.BufferUsage.TRANSFER | hal.BufferUsage.MAPPING
)
#: Workgroups buffers of indirect dispatches also need DISPATCH_INDIRECT_PARAMS.
INDIRECT_USAGE = DEFAULT_USAGE | hal.BufferUsage.DISPATCH_INDIRECT_PARAMS
#: The host-side source buffer of the copy cases.
HOST_MEMORY = hal.MemoryType.HOST_LOCAL | hal.MemoryType.DEVICE_VISIBLE


def allocate(
    device: hal.Device, size: int, *, fill: int = 0, usage=DEFAULT_USAGE, memory_type=DEFAULT_MEMORY
) -> hal.Buffer:
    """A default buffer of ``size`` bytes, every byte set to ``fill`` by the host."""
    buffer = device.allocate_buffer(size, memory_type=memory_type, usage=usage)
    if size:
        buffer.write(bytes([fill]) * size)
    return buffer


def upload(
    device: hal.Device, data, *, usage=DEFAULT_USAGE, memory_type=DEFAULT_MEMORY
) -> hal.Buffer:
    """A default buffer holding ``data`` (bytes-like or numpy array)."""
    return device.buffer_from(data, usage=usage, memory_type=memory_type)


def deterministic_bytes(n: int) -> bytes:
    """CONFORMANCE.md's deterministic bytes: b[i] = (i*131 + (i>>7)*17 + 0x5A) & 0xFF."""
    i = np.arange(n, dtype=np.int64)
    return ((i * 131 + (i >> 7) * 17 + 0x5A) & 0xFF).astype(np.uint8).tobytes()


def pattern_bytes(pattern: int, pattern_length: int) -> bytes:
    """The bytes a fill writes, in order: (p >> 8*(i % pl)) & 0xFF."""
    return pattern.to_bytes(pattern_length, "little")


def filled(
    size: int, offset: int, length: int, pattern: int, pattern_length: int, background: int = 0
) -> bytes:
    """The whole buffer after filling [offset, offset+length) of a ``background`` buffer."""
    out = bytearray([background]) * size
    out[offset : offset + length] = (
        pattern_bytes(pattern, pattern_length) * (length // pattern_length + 1)
    )[:length]
    return bytes(out)


def u32(*values: int) -> bytes:
    return struct.pack(f"<{len(values)}I", *values)


def i32(*values: int) -> bytes:
    return struct.pack(f"<{len(values)}i", *values)


def f32(*values: float) -> bytes:
    return struct.pack(f"<{len(values)}f", *values)


def read_u32(buffer: hal.Buffer) -> list[int]:
    return buffer.to_numpy("<u4").tolist()


def read_i32(buffer: hal.Buffer) -> list[int]:
    return buffer.to_numpy("<i4").tolist()


def read_f32(buffer: hal.Buffer) -> list[float]:
    return buffer.to_numpy("<f4").tolist()


def wait(semaphore: hal.Semaphore, value: int) -> None:
    """Waits, with the generous TIMEOUT, for a value that must be reached."""
    semaphore.wait(value, timeout=TIMEOUT)


class Binder:
    """Writes each command-buffer case once for both ways of naming a buffer.

    ``direct``: ``ref(buffer)`` is the buffer itself, and command buffers are one-shot
    (or reusable when the case asks).  ``slot``: ``ref(buffer)`` is ``hal.Slot(i)``
    (one slot per distinct buffer object), command buffers are reusable with
    ``binding_capacity`` = the slots used, and submissions pass the binding table.

    Take every ``ref`` before ``command_buffer()``: its capacity is fixed then.
    """

    def __init__(self, device: hal.Device, mode: str):
        self.device = device
        self.mode = mode
        self.slots: list[hal.Buffer] = []
        self.capacity: int | None = None

    @property
    def uses_slots(self) -> bool:
        return self.mode == "slot"

    def ref(self, buffer: hal.Buffer):
        """The buffer as the command buffer names it."""
        if not self.uses_slots:
            return buffer
        for i, known in enumerate(self.slots):
            if known is buffer:
                return hal.Slot(i)
        assert self.capacity is None, "test bug: ref() taken after command_buffer()"
        self.slots.append(buffer)
        return hal.Slot(len(self.slots) - 1)

    def refs(self, *buffers: hal.Buffer) -> list:
        return [self.ref(b) for b in buffers]

    def command_buffer(
        self, categories=hal.CommandCategory.ANY, *, reusable: bool = False
    ) -> hal.CommandBuffer:
        """A command buffer for this mode; reusable in slot mode or when asked."""
        if self.uses_slots:
            self.capacity = len(self.slots)
            return self.device.create_command_buffer(
                mode=hal.CommandBufferMode.DEFAULT,
                categories=categories,
                binding_capacity=self.capacity,
            )
        mode = hal.CommandBufferMode.DEFAULT if reusable else hal.CommandBufferMode.ONE_SHOT
        return self.device.create_command_buffer(mode=mode, categories=categories)

    def table(self, replace: Iterable[tuple[hal.Buffer, hal.Buffer]] = ()) -> list | None:
        """The binding table (None in direct mode).

        ``replace`` lists (buffer, other) pairs: the slot of ``buffer`` gets ``other``.
        """
        if not self.uses_slots:
            return None
        table = list(self.slots)
        for old, new in replace:
            table[next(i for i, b in enumerate(self.slots) if b is old)] = new
        return table

    def submit(
        self,
        command_buffer: hal.CommandBuffer,
        *,
        wait=(),
        signal=(),
        replace: Iterable[tuple[hal.Buffer, hal.Buffer]] = (),
    ) -> None:
        self.device.queue_execute(
            command_buffer, wait=wait, signal=signal, binding_table=self.table(replace)
        )

    def run(
        self,
        command_buffer: hal.CommandBuffer,
        *,
        replace: Iterable[tuple[hal.Buffer, hal.Buffer]] = (),
    ) -> None:
        """Submits and waits for completion."""
        semaphore = self.device.create_semaphore(0)
        self.submit(command_buffer, signal=[(semaphore, 1)], replace=replace)
        wait(semaphore, 1)

    def record_and_run(
        self, record: Callable[[hal.CommandBuffer], None], categories=hal.CommandCategory.ANY
    ) -> None:
        """Records ``record(cb)`` between begin and end, submits, waits."""
        cb = self.command_buffer(categories)
        with cb:
            record(cb)
        self.run(cb)

    def expect_rejected(
        self,
        error: type[BaseException] | tuple,
        record: Callable[[hal.CommandBuffer], None],
        *,
        at_record: bool = True,
        categories=hal.CommandCategory.ANY,
    ) -> None:
        """Asserts that recording ``record(cb)`` raises ``error``.

        With ``at_record=False`` the fault depends on a buffer that a slot only names
        (its size or usage), so in slot mode it may instead be raised by ``end()`` or by
        ``queue_execute`` when the binding table is known; it must not run either way.
        """
        cb = self.command_buffer(categories)
        cb.begin()
        if at_record or not self.uses_slots:
            with pytest.raises(error):
                record(cb)
            return
        with pytest.raises(error):
            record(cb)
            cb.end()
            self.submit(cb)
