"""The driver contract: every hook a driver provides, and all the front end uses of one.

A driver is a module registered in :data:`polyhal.drivers.DRIVER_MODULES` that satisfies
:class:`DriverModule` (module-level ``probe`` and ``create_device``).  The device it creates
implements :class:`DriverDevice`; ``load_executable`` returns a :class:`LoadedExecutable`;
storage is an :class:`Allocation`.  The front end validates every call before it reaches a
driver, so drivers never re-check ranges, usages or states.  Drivers import this module,
the command stream (``polyhal._stream``, ``polyhal._walker``) and the public types and
errors; never the front end's private state.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from .. import _stream
from ..errors import HalError, UnimplementedError
from ..types import MemoryType

if TYPE_CHECKING:
    from typing_extensions import CapsuleType

    from ..executable import EntryPoint, FormatPayload
    from ..types import CommandBufferMode


class DriverModule(Protocol):
    """What a driver module provides (as module-level functions)."""

    def probe(self, name: str) -> tuple[int, str]:
        """(how many devices the driver sees here, and when none, what is missing)."""

    def create_device(self, name: str, index: int, options: dict[str, object]) -> DriverDevice:
        """Device ``index`` of driver ``name`` with the options create_device was given."""


class Allocation(_stream.Storage):
    """Driver storage behind a root Buffer and all its subspans.

    ``released`` is set by ``queue_dealloca``; the front end refuses any later use.
    ``pending_uses`` counts the submissions in flight that name the allocation (kept by the
    front end under the device's queue lock); a dealloca that finds it non-zero sets
    ``release_deferred`` and the driver's ``release`` runs when the last of them retires.
    Drivers subclass this to hold their handles (a pointer, a VkBuffer, a CUdeviceptr).
    """

    # ``released`` and ``ptr`` (the storage's address where the driver has one, else 0)
    # are fields of the native base, which recording reads without attribute lookups.
    __slots__ = ("size", "memory_type", "pending_uses", "release_deferred", "__weakref__")

    def __init__(self, size: int, memory_type: MemoryType):
        self.size = size
        self.memory_type = memory_type
        self.released = False
        self.pending_uses = 0
        self.release_deferred = False

    def host_array(self, offset: int, length: int) -> np.ndarray | None:
        """A writable 1-D uint8 numpy array over ``length`` bytes at ``offset``, without a
        copy, or None when the storage has no coherent host mapping.

        The array (and every view or DLPack capsule made from it) keeps the storage alive:
        a ``release`` or the device's ``close`` meanwhile must not free it.
        """
        return None

    #: True for CUDA memory, which the driver exports through the hooks below (the core
    #: Buffer's __cuda_array_interface__ and __dlpack__ forward to them).
    cuda_memory: bool = False

    def cuda_array_interface(self, offset: int, size: int) -> dict[str, object]:
        """``__cuda_array_interface__`` (v3) of ``size`` bytes at ``offset`` (cuda_memory
        only)."""
        raise NotImplementedError

    def dlpack(self, offset: int, size: int, stream: int | None = None) -> CapsuleType:
        """A DLPack capsule of ``size`` bytes at ``offset`` on the GPU, ordered after the
        queue for the consumer's ``stream`` (cuda_memory only)."""
        raise NotImplementedError

    def dlpack_device(self) -> tuple[int, int]:
        """DLPack's (device type, index) of the storage (cuda_memory only)."""
        raise NotImplementedError


@dataclass
class Limits:
    """What a device allows; the front end validates against these."""

    max_bindings: int = 32  # bindings in one descriptor set push and in one dispatch
    max_push_constants: int = 64  # 32-bit values
    max_workgroup_size: tuple[int, int, int] = (1024, 1024, 64)
    max_workgroup_invocations: int = 1024
    max_workgroup_count: tuple[int, int, int] = (2**32 - 1, 2**32 - 1, 2**16 - 1)
    max_allocation_size: int = 2**40
    collectives: bool = False

    def as_dict(self) -> dict[str, object]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


class LoadedExecutable:
    """What :meth:`DriverDevice.load_executable` returns.  The front end reads
    :meth:`kernel`, ``binding_alignment`` and ``entry_points`` and nothing else of it;
    drivers subclass it with their handles.
    """

    #: Bindings' absolute offsets must be multiples of this (IREE's generated CPU code
    #: assumes 64; CUDA kernels 4); dispatches are refused otherwise.
    binding_alignment: int = 1
    #: The entry points the binary declares, when the source named none (IREE libraries).
    entry_points: tuple[EntryPoint, ...] | None = None

    def kernel(self, index: int, entry_point: EntryPoint) -> tuple[int, int, int]:
        """``(fn, env, local_memory)`` of entry point ``index``: the two words the driver's
        executor calls it by (local: the function and environment pointers; cuda: the
        CUfunction), which the recorder copies into each dispatch record, and the bytes of
        local memory it needs.  By default none and the entry point's own size."""
        return 0, 0, entry_point.local_memory_size


@dataclass
class ResolvedBinding:
    """A binding table entry resolved at submit: storage, absolute offset, length."""

    alloc: Allocation
    offset: int
    length: int
    usage: int = -1  # the buffer's BufferUsage bits, checked against each slot's use


@dataclass
class Work:
    """One command buffer of a submission with the binding table it runs with."""

    # What the driver's encode() returned: each driver's own form, opaque to the front end.
    encoded: Any
    binding_table: Sequence[ResolvedBinding] = field(default_factory=tuple)


class DriverChannel:
    """A driver's end of a channel (what :meth:`DriverDevice.create_channel` returns).

    The front-end ``polyhal.Channel`` wraps it (``Channel.driver_channel``) and a recorded
    collective names the front-end channel, so drivers reach theirs from there.
    """

    rank: int
    count: int

    def split(self, color: int, key: int) -> DriverChannel | None:
        """The channel of the ranks of this one that pass the same ``color`` (>= 0),
        ordered by ``key`` and then by rank; every rank calls it (a collective over this
        channel).  None for a rank that passes a negative color (IREE's NO_COLOR)."""
        raise UnimplementedError("this channel cannot be split")

    def close(self) -> None:
        """Releases the transport's resources; later use is the front end's to refuse."""


class DriverDevice:
    """A driver's device.  Every method receives validated arguments."""

    name: str = "?"
    limits: Limits
    info: dict[str, object]
    #: Formats the driver loads, in the order it prefers them.
    executable_formats: tuple[str, ...] = ()
    #: True when submissions whose waits are met later must run on the signalling
    #: thread (local-sync); otherwise they are handed to the front end's issue thread.
    run_deferred_inline: bool = False
    #: Set by the front end while the device is traced (polyhal.tracing.DeviceTrace):
    #: a driver that can time dispatches reports them to it; None while untraced.
    trace: Any = None

    # -- memory ---------------------------------------------------------------------------
    def allocate(self, size: int, memory_type: MemoryType, usage: int) -> Allocation:
        raise NotImplementedError

    def release(self, alloc: Allocation) -> None:
        """Frees the storage once nothing pending can use it (called by the front end)."""

    def read(self, alloc: Allocation, offset: int, length: int) -> bytes:
        raise NotImplementedError

    def write(self, alloc: Allocation, offset: int, data: memoryview) -> None:
        raise NotImplementedError

    # -- executables ----------------------------------------------------------------------
    def load_executable(
        self, fmt: str, payload: FormatPayload, entry_points: Sequence[EntryPoint]
    ) -> LoadedExecutable:
        """Loads one format; raises InvalidArgumentError carrying the compiler's message."""
        raise NotImplementedError

    # -- command buffers ------------------------------------------------------------------
    def encode(self, stream: _stream.Recorder, mode: CommandBufferMode | None = None) -> Any:
        """Turns a finished command stream into the driver's executable form, once.

        ``stream`` is flattened (``polyhal._stream.Recorder.flatten()``: no nested command
        buffers, their binding tables resolved): an encoder in C reads its records in
        place (``stream.program()``, native/stream.h), one in Python walks
        ``polyhal._walker.commands(stream)``.  ``mode`` is the command buffer's
        CommandBufferMode (one-shot or reusable).  The stream lives as long as its
        command buffer, which every submission keeps alive until it completes; the
        encoded form must not hold it strongly (the command buffer holds the encoded form).
        The encoded form is the driver's own (Any: the front end only hands it back to
        ``execute`` in :class:`Work`).
        """
        raise NotImplementedError

    def execute(self, work: Sequence[Work], done: Callable[[HalError | None], None]) -> None:
        """Runs command buffers one after another (a full barrier between them).

        Calls ``done(None)`` when all completed or ``done(error)`` on the first failure,
        exactly once, from any thread; it may run synchronously before returning.
        """
        raise NotImplementedError

    def execute_one(
        self,
        encoded: Any,
        done: Callable[[HalError | None], None],
        binding_table: Sequence[ResolvedBinding] = (),
    ) -> None:
        """``execute`` of one command buffer (the front end's short path, a host submit
        whose waits are met).  A driver overrides it where that case can skip work (the
        default builds the Work list and calls ``execute``)."""
        self.execute((Work(encoded, binding_table),), done)

    # -- collectives (Limits.collectives says whether the driver runs them) ----------------
    def create_channel(
        self,
        rank: int,
        count: int,
        id: bytes | None,  # noqa: A002 - the contract's name
        launcher: str | None,
        options: dict[str, object],
    ) -> DriverChannel:
        """The driver's end of a channel of ``count`` ranks, this one being ``rank``.

        The front end resolved ``rank`` and ``count`` (0 <= rank < count): from the
        launcher's environment when ``launcher`` is ``"mpi"`` or ``"torch"``, else the
        caller's.  ``id`` is the caller's token, or where a launcher is set and the caller
        gave none, the token rank 0's :meth:`channel_unique_id` made, which the front end
        broadcast over the launcher; None with neither.  ``options``: ``timeout`` (seconds,
        float: how long a collective waits for its peers) and whatever else the caller
        passed, which the driver refuses with InvalidArgumentError if unknown.
        """
        raise UnimplementedError(f"collectives are not implemented on {self.name}")

    def channel_unique_id(self) -> bytes:
        """A fresh rendezvous token for this driver's channels (``Channel.unique_id``)."""
        raise UnimplementedError(f"collectives are not implemented on {self.name}")

    def import_memory(self, array: object) -> Allocation:
        """An allocation over another library's memory (no copy), which keeps ``array``
        alive: what :meth:`polyhal.Device.import_buffer` wraps.  InvalidArgumentError for
        an array the driver cannot take; UnimplementedError where it takes none."""
        raise UnimplementedError(f"{self.name} cannot import another library's memory")

    def close(self) -> None:
        """Releases the device after the front end has drained the queue."""
