"""Collectives: channels (groups of ranks) and the collective operation.

A :class:`Channel` is made by :meth:`polyhal.Device.create_channel`: ``count`` ranks, this
device being ``rank``.  With rank and count left out they come from the launcher that
started the process -- ``torch.distributed`` once initialized, else MPI (``mpiexec``
with mpi4py installed) -- and the rendezvous token every driver needs is made by rank 0
and broadcast over that launcher.  Given explicitly, every rank passes the same ``id``,
a token of :meth:`Channel.unique_id` made once and shared by the caller.

``CommandBuffer.collective`` records one :class:`CollectiveOp` on a channel; the enums
carry IREE's values, so :attr:`CollectiveOp.packed` is IREE's ``iree_hal_collective_op_t``.
Which driver runs what, and the semantics of each operation: docs/collectives.md.
"""

from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ._args import as_flags
from .errors import (
    DeadlineExceededError,
    FailedPreconditionError,
    InvalidArgumentError,
    OutOfRangeError,
    UnavailableError,
)
from .types import CollectiveElementType, CollectiveKind, CollectiveReduction

if TYPE_CHECKING:
    from .device import Device
    from .drivers.base import DriverChannel

#: How long a collective waits for its peers when create_channel names no timeout
#: (seconds); a peer that does not come by then fails the submission on every rank.
DEFAULT_TIMEOUT = 300.0
#: Creating a channel waits for the other ranks at least this long (seconds), whatever the
#: channel's timeout: processes start at different times.
CREATE_TIMEOUT = 60.0
#: IREE's IREE_HAL_CHANNEL_NO_COLOR: a rank that passes it to split() joins no channel.
NO_COLOR = -1

_ELEMENT_SIZE = {
    CollectiveElementType.SINT8: 1,
    CollectiveElementType.UINT8: 1,
    CollectiveElementType.SINT16: 2,
    CollectiveElementType.UINT16: 2,
    CollectiveElementType.SINT32: 4,
    CollectiveElementType.UINT32: 4,
    CollectiveElementType.SINT64: 8,
    CollectiveElementType.UINT64: 8,
    CollectiveElementType.FLOAT16: 2,
    CollectiveElementType.FLOAT32: 4,
    CollectiveElementType.FLOAT64: 8,
    CollectiveElementType.BFLOAT16: 2,
}
_REDUCING = {
    CollectiveKind.ALL_REDUCE,
    CollectiveKind.REDUCE,
    CollectiveKind.REDUCE_SCATTER,
}


@dataclass(frozen=True)
class CollectiveOp:
    """One collective operation: ``kind``, ``reduction`` (for reducing kinds) and the
    ``element_type`` it processes.  InvalidArgumentError for values not of their enum."""

    kind: CollectiveKind
    reduction: CollectiveReduction = CollectiveReduction.NONE
    element_type: CollectiveElementType = CollectiveElementType.FLOAT32

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", as_flags(CollectiveKind, self.kind, "collective kind"))
        object.__setattr__(
            self, "reduction", as_flags(CollectiveReduction, self.reduction, "collective reduction")
        )
        object.__setattr__(
            self,
            "element_type",
            as_flags(CollectiveElementType, self.element_type, "collective element type"),
        )

    @property
    def packed(self) -> int:
        """The operation as IREE packs it: kind, reduction, element type, one byte each."""
        return int(self.kind) | int(self.reduction) << 8 | int(self.element_type) << 16

    @property
    def element_size(self) -> int:
        """Bytes per element of ``element_type``."""
        return _ELEMENT_SIZE[self.element_type]


def check_op(op: object) -> CollectiveOp:
    """``op`` if it is a valid operation: a CollectiveOp whose reduction suits its kind
    (reducing kinds -- all_reduce, reduce, reduce_scatter -- need one, the others take
    NONE, as IREE's validation says); InvalidArgumentError otherwise."""
    if not isinstance(op, CollectiveOp):
        raise InvalidArgumentError(f"expected a CollectiveOp, got {type(op).__name__}")
    reducing = op.kind in _REDUCING
    if reducing and op.reduction == CollectiveReduction.NONE:
        raise InvalidArgumentError(f"collective {op.kind.name.lower()} needs a reduction")
    if not reducing and op.reduction != CollectiveReduction.NONE:
        raise InvalidArgumentError(
            f"collective {op.kind.name.lower()} takes no reduction, got {op.reduction.name}"
        )
    return op


def send_recv_param(send_peer: int, recv_peer: int) -> int:
    """The ``param`` of a SEND_RECV: IREE packs the peer this rank sends to in the low 16
    bits and the peer it receives from in the high 16 bits, -1 for none."""
    for peer in (send_peer, recv_peer):
        if type(peer) is not int or not -1 <= peer < 2**15:
            raise InvalidArgumentError(f"a send_recv peer is an int in [-1, 32768), got {peer!r}")
    return (send_peer & 0xFFFF) | (recv_peer & 0xFFFF) << 16


class Channel:
    """A group of ``count`` ranks that run collectives together, this one being ``rank``.

    Made by :meth:`polyhal.Device.create_channel` and :meth:`split`; it belongs to its
    device (a command buffer of another device refuses it).  ``driver_channel`` is the
    driver's end, which the drivers that run recorded collectives read.
    """

    __slots__ = ("device", "rank", "count", "timeout", "driver_channel", "_closed")

    def __init__(self, device: Device, driver_channel: DriverChannel, timeout: float):
        self.device = device
        self.driver_channel = driver_channel
        self.rank = driver_channel.rank
        self.count = driver_channel.count
        self.timeout = timeout
        self._closed = False

    def __repr__(self) -> str:
        return f"Channel(rank={self.rank}, count={self.count}, device={self.device.driver!r})"

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._closed

    @staticmethod
    def unique_id(device: Device | None = None) -> bytes:
        """A fresh rendezvous token (the ``id`` of ``create_channel``), made once -- by
        one rank -- and handed to every rank by the caller.

        Tokens are the driver's: pass the ``device`` the channels will be created on
        where its driver has a transport of its own (``cuda``: an NCCL unique id); without
        one it is the host engine's token (``local``, ``local-sync``, ``vulkan``).
        """
        if device is None:
            from .drivers import host_collective

            return host_collective.unique_id()
        device._check_open()
        return bytes(device._driver.channel_unique_id())

    def split(self, color: int | None, key: int) -> Channel | None:
        """A channel of the ranks of this one that pass the same ``color``, ordered by
        ``key`` (then by rank), as IREE's ``iree_hal_channel_split`` and MPI's
        ``Comm_split``: every rank must call it.  A rank passing ``color`` None (or -1,
        IREE's NO_COLOR) joins no channel and gets None.  Waits for the other ranks up to
        the channel's timeout (DeadlineExceededError)."""
        self._check()
        if color is None:
            color = NO_COLOR
        for name, value in (("color", color), ("key", key)):
            if type(value) is not int or not -(2**31) <= value < 2**31:
                raise InvalidArgumentError(f"split {name} is a 32-bit int, got {value!r}")
        if color < NO_COLOR:
            raise InvalidArgumentError(f"split color is >= 0 or NO_COLOR (-1), got {color}")
        with self.device._driver_call():
            made = self.driver_channel.split(color, key)
        return None if made is None else Channel(self.device, made, self.timeout)

    def close(self) -> None:
        """Releases the channel's transport; command buffers that record it afterwards
        raise FailedPreconditionError.  Idempotent."""
        if not self._closed:
            self._closed = True
            self.driver_channel.close()

    def _check(self) -> None:
        if self._closed:
            raise FailedPreconditionError("the channel was closed")
        self.device._check_open()


def _launcher() -> tuple[str, int, int] | None:
    """(launcher, rank, count) of the environment that started this process:
    torch.distributed once initialized, else MPI (mpi4py); None when neither."""
    dist = sys.modules.get("torch.distributed")
    if dist is not None and dist.is_available() and dist.is_initialized():
        return "torch", int(dist.get_rank()), int(dist.get_world_size())
    from .drivers import host_collective

    world = host_collective.mpi_world()
    if world is not None:
        return "mpi", int(world.Get_rank()), int(world.Get_size())
    return None


def _broadcast_id(launcher: str, rank: int, make: Any, timeout: float) -> bytes:
    """The token rank 0 makes with ``make()``, on every rank, over the launcher."""
    if launcher == "torch":
        dist: Any = sys.modules["torch.distributed"]  # initialized: _launcher saw it
        box: list[Any] = [make() if rank == 0 else None]
        dist.broadcast_object_list(box, src=0)
        return bytes(box[0])
    import numpy as np
    from mpi4py import MPI

    # A length-prefixed fixed buffer through a nonblocking broadcast, polled to the
    # deadline: a rank that never creates the channel must not hang the others.
    buffer = np.zeros(1024, dtype=np.uint8)
    if rank == 0:
        token = make()
        if len(token) > buffer.size - 4:
            raise InvalidArgumentError(f"a {len(token)}-byte channel token is too long")
        buffer[:4] = np.frombuffer(len(token).to_bytes(4, "little"), np.uint8)
        buffer[4 : 4 + len(token)] = np.frombuffer(token, np.uint8)
    request = MPI.COMM_WORLD.Ibcast(buffer, root=0)
    deadline = time.monotonic() + timeout
    while not request.Test():
        if time.monotonic() >= deadline:
            raise DeadlineExceededError(
                "create_channel: rank 0 did not share the channel's token in time"
            )
        time.sleep(1e-4)
    length = int.from_bytes(buffer[:4].tobytes(), "little")
    return buffer[4 : 4 + length].tobytes()


def create_channel(
    device: Device,
    rank: int | None,
    count: int | None,
    id: bytes | None,  # noqa: A002 - the contract's name
    timeout: float | None,
    options: dict[str, object],
) -> Channel:
    """:meth:`polyhal.Device.create_channel`: validates, resolves the rendezvous, asks the
    driver."""
    if timeout is None:
        timeout = DEFAULT_TIMEOUT
    if type(timeout) not in (int, float) or not (timeout > 0 and math.isfinite(timeout)):
        raise InvalidArgumentError(f"timeout is a finite number of seconds > 0, got {timeout!r}")
    timeout = float(timeout)
    if id is not None:
        if not isinstance(id, (bytes, bytearray, memoryview)):
            raise InvalidArgumentError(
                f"id is bytes (Channel.unique_id()), got {type(id).__name__}"
            )
        id = bytes(id)  # noqa: A001
        if not id:
            raise InvalidArgumentError("id is empty")
    launcher: str | None = None
    if rank is None and count is None:
        found = _launcher()
        if found is None:
            rank, count = 0, 1  # no launcher: a channel of this rank alone
        else:
            launcher, rank, count = found
    elif rank is None or count is None:
        raise InvalidArgumentError("rank and count are given together or not at all")
    for name, value in (("rank", rank), ("count", count)):
        if type(value) is not int:
            raise InvalidArgumentError(f"{name} is an int, got {type(value).__name__}")
    if not 1 <= count < 2**15:
        raise OutOfRangeError(f"count must be in [1, 32768), got {count}")
    if not 0 <= rank < count:
        raise OutOfRangeError(f"rank {rank} is outside [0, {count})")
    driver = device._driver
    if not driver.limits.collectives:
        driver.create_channel(rank, count, id, launcher, {})  # the driver's UnimplementedError
        raise UnavailableError(f"{device.driver} declares no collectives")  # pragma: no cover
    if launcher is not None and id is None:
        wait = max(timeout, CREATE_TIMEOUT)
        id = _broadcast_id(launcher, rank, driver.channel_unique_id, wait)  # noqa: A001
    with device._driver_call():
        made = driver.create_channel(rank, count, id, launcher, {"timeout": timeout, **options})
    return Channel(device, made, timeout)
