"""Collectives on Vulkan: through host memory and the host engine the CPU drivers use.

Vulkan has no collective command, so a command buffer holding collectives is encoded as
parts (``Segmented``): the runs of commands between collectives, each encoded as any
command buffer is (encoder.Encoded), and the collectives themselves.  A submission
of such command buffers runs on the device's collective thread, one part after another:
the GPU runs a run of commands (followed by the barrier that makes its writes visible
to the host) and the thread waits for it; then the collective runs on the host, on the
send and receive ranges themselves where their memory is host-visible and coherent, or
on host-visible staging copies of them otherwise; the next part's submission makes the
host's writes visible to the GPU.  Correct before fast: the GPU idles while a collective
runs.

Submissions holding collectives run one at a time per device, in the order they became
ready, so that every rank issues its collectives in the order its program does.  Other
submissions are not held back by them (the HAL orders submissions by semaphores only).
"""

from __future__ import annotations

import queue
import struct
import sys
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ... import _walker as W
from ... import commands as C
from ...errors import HalError, InternalError
from ...types import MemoryType
from ..base import Work
from .buffer import VulkanAllocation
from .encoder import Encoded, Stream
from .instance import ffi
from .recording import record_copy

if TYPE_CHECKING:
    from .device import VulkanDevice

_RECORD_SIZE = W.RECORD.size
_OPS = struct.Struct(f"<I{_RECORD_SIZE - 4}x")  # a record's op

#: Testing seam: True stages every collective range through a staging copy, the path
#: of device-local memory that the host cannot map (lavapipe maps all of its memory).
ALWAYS_STAGE = False


class Segmented:
    """A command stream holding collectives, as parts run in order: an encoder.Encoded
    for each run of other commands, a commands.Collective for each collective.

    Pins every allocation the stream names directly for its life: a collective's
    ranges are reached through no recording that would pin them."""

    __slots__ = ("device", "parts", "held")

    def __init__(self, device: VulkanDevice, stream: Stream, cuts: list[int]):
        self.device = device
        self.held: list = []
        records, *pools = stream.arrays
        self.parts: list[Encoded | C.Collective] = []
        start = 0
        for cut in [*cuts, len(records) // _RECORD_SIZE]:
            if cut > start:
                piece = records[start * _RECORD_SIZE : cut * _RECORD_SIZE]
                self.parts.append(
                    Encoded(device, Stream((piece, *pools), stream.objects, stream.allocations))
                )
            if cut < len(records) // _RECORD_SIZE:
                command = stream.command(cut)
                assert isinstance(command, C.Collective)
                self.parts.append(command)
            start = cut + 1
        device.pin_all(stream.allocations)
        self.held = list(stream.allocations)

    def __del__(self) -> None:
        if sys.is_finalizing():  # interpreter exit: objects go in any order (a device
            return  # before its buffers); the process's end frees what is native
        held, self.held = self.held, []
        self.device.unpin_all(held)


def collective_cuts(stream: Stream) -> list[int]:
    """The indices of the collective records of ``stream``."""
    return [
        i for i, (op,) in enumerate(_OPS.iter_unpack(stream.arrays[0])) if op == W.OP_COLLECTIVE
    ]


class CollectiveThread:
    """The device's thread that runs submissions holding collectives, one at a time."""

    def __init__(self, device: VulkanDevice):
        self.device = device
        self.jobs: queue.SimpleQueue[tuple[list, Callable] | None] = queue.SimpleQueue()
        self.thread = threading.Thread(
            target=self._loop, name="polyhal-vulkan-collectives", daemon=True
        )
        self.thread.start()

    def submit(self, work: Sequence[Work], done: Callable[[HalError | None], None]) -> None:
        """Runs ``work`` (what VulkanDevice.execute received) on the thread."""
        steps: list = []  # ("gpu", [Work of Encoded]) and ("host", Collective, table)
        for item in work:
            parts = item.encoded.parts if isinstance(item.encoded, Segmented) else [item.encoded]
            for part in parts:
                if isinstance(part, C.Collective):
                    steps.append(("host", part, item.binding_table))
                elif steps and steps[-1][0] == "gpu":
                    steps[-1][1].append(Work(part, item.binding_table))
                else:
                    steps.append(("gpu", [Work(part, item.binding_table)]))
        self.jobs.put((steps, done))

    def close(self) -> None:
        self.jobs.put(None)
        if self.thread is not threading.current_thread():
            self.thread.join()

    def _loop(self) -> None:
        while True:
            job = self.jobs.get()
            if job is None:
                return
            steps, done = job
            error: HalError | None = None
            for step in steps:
                if error is not None:
                    if step[0] == "host":  # keep the peers' sequence aligned with ours
                        _tell_peers(step[1], error)
                    continue
                try:
                    if step[0] == "gpu":
                        self._run_gpu(step[1])
                    else:
                        self._run_host(step[1], step[2])
                except HalError as e:
                    error = e
                except Exception as e:  # a bug here must still complete the submission
                    error = InternalError(f"vulkan collective submission failed: {e!r}")
            done(error)

    def _run_gpu(self, work: list[Work]) -> None:
        """Submits ``work`` as one submission and waits for it."""
        finished = threading.Event()
        failure: list[HalError | None] = [None]

        def gpu_done(error: HalError | None) -> None:
            failure[0] = error
            finished.set()

        self.device.execute_encoded(work, gpu_done)
        finished.wait()
        if failure[0] is not None:
            raise failure[0]

    def _run_host(self, command: C.Collective, table: Any) -> None:
        """Runs one collective on host memory: the ranges themselves when mapped and
        coherent, staging copies otherwise (copied in before, the receive range copied
        back after)."""
        device = self.device
        try:
            send = _Range(device, command.send, table) if command.send else None
            recv = _Range(device, command.recv, table) if command.recv else None
        except HalError as e:  # staging failed: this rank will not come to the collective
            _tell_peers(command, e)
            raise
        if send is not None and recv is not None and send.same_range(recv):
            send = recv  # one range read and written (the engine takes aliases)
        command.channel.driver_channel.run(
            command.op,
            command.param,
            send.array if send is not None else None,
            recv.array if recv is not None else None,
            command.element_count,
        )
        if recv is not None:
            recv.write_back()


def _tell_peers(command: C.Collective, error: HalError) -> None:
    """Tells ``command``'s peers that this rank will not run it (its submission failed)."""
    try:
        command.channel.driver_channel.fail(command.op, command.param, command.element_count, error)
    except HalError:  # the channel is broken: the peers learn it by their timeout
        pass


class _Range:
    """A collective's buffer range as host memory: ``array``, a writable 1-D uint8 array."""

    __slots__ = ("device", "alloc", "offset", "length", "staging", "array")

    def __init__(self, device: VulkanDevice, ref: C.Ref, table: Any):
        alloc, offset, length = ref.resolve(table)
        self.device, self.alloc, self.offset, self.length = device, alloc, offset, length
        self.staging: VulkanAllocation | None = None
        if (
            not ALWAYS_STAGE
            and alloc.mapped is not None
            and alloc.memory_type & MemoryType.HOST_COHERENT
        ):
            self.array = np.frombuffer(ffi.buffer(alloc.mapped + offset, length), np.uint8)
            return
        # Staged with its contents, receive ranges too: an operation may leave part of
        # one unwritten (a reduce's on ranks other than the root), and copying the
        # staging back must then restore what was there.
        self.staging = VulkanAllocation(device, max(length, 1), MemoryType.HOST_LOCAL)
        if length:
            device._run(record_copy(device, alloc, offset, self.staging, 0, length))
        self.array = np.frombuffer(ffi.buffer(self.staging.mapped, length), np.uint8)

    def same_range(self, other: _Range) -> bool:
        return (self.alloc, self.offset, self.length) == (other.alloc, other.offset, other.length)

    def write_back(self) -> None:
        """Copies a staged receive range to where it belongs."""
        if self.staging is not None and self.length:
            self.device._run(
                record_copy(self.device, self.staging, 0, self.alloc, self.offset, self.length)
            )
