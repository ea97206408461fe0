"""The host collective engine: IREE's collective operations over host memory.

The drivers whose memory the CPU can reach run collectives here (``local`` directly on its
buffers, ``vulkan`` through host-visible staging): :func:`create` makes a
:class:`HostChannel`, whose :meth:`HostChannel.run` performs one operation on 1-D uint8
arrays holding exactly the bytes the operation reads and writes.

Two transports carry the ranks:

* MPI (``mpi4py``), one rank per process: a channel created under an MPI launcher, or with
  the rank and count of ``MPI.COMM_WORLD``, runs on a duplicate of COMM_WORLD.  Every
  operation first *arrives*: a nonblocking allreduce of a small record (did this rank's
  submission fail, which operation, how many elements, which root), polled up to the
  channel's deadline, so that a rank that never comes fails the others with
  DeadlineExceededError instead of hanging them, a rank whose submission failed fails them
  with AbortedError, and ranks that disagree fail with InvalidArgumentError.  Once every
  rank has arrived the data moves through MPI's own nonblocking collective (Iallreduce,
  Iallgather, Ialltoall, Ibcast, Ireduce, Ireduce_scatter_block; point-to-point after a
  pairwise handshake), on the caller's memory without a copy, polled to the same
  deadline.  MPI has no float16 or bfloat16 arithmetic, and Open MPI's vectorized ops
  saturate 8- and 16-bit integer sums: those reductions gather the operands and reduce
  them with numpy.
* In-process: ranks that live in one process (several devices, one per rank) meet in a
  group keyed by the channel's id; the last rank to arrive at an operation computes every
  rank's result with numpy.  The same deadline, failure and agreement rules hold.

After a deadline passes the channel is broken (an MPI request may still be pending inside
it): every later operation raises UnavailableError.  Arithmetic follows IREE and NCCL:
integer sums and products wrap, AVERAGE is the sum divided by the rank count (integers
rounding toward zero), float16 and bfloat16 reduce in float32 and round to nearest even.
"""

from __future__ import annotations

import functools
import os
import struct
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import (
    AbortedError,
    AlreadyExistsError,
    DeadlineExceededError,
    FailedPreconditionError,
    HalError,
    InvalidArgumentError,
    UnavailableError,
)
from ..types import CollectiveElementType as T
from ..types import CollectiveKind as K
from ..types import CollectiveReduction as R
from .base import DriverChannel

if TYPE_CHECKING:
    from ..collective import CollectiveOp

#: How long creating an MPI channel waits for every rank at least (seconds).
CREATE_TIMEOUT = 60.0

#: The numpy type each element type computes in (bfloat16: float32, from its bits).
_DTYPE: dict[int, Any] = {
    T.SINT8: np.int8,
    T.UINT8: np.uint8,
    T.SINT16: np.int16,
    T.UINT16: np.uint16,
    T.SINT32: np.int32,
    T.UINT32: np.uint32,
    T.SINT64: np.int64,
    T.UINT64: np.uint64,
    T.FLOAT16: np.float16,
    T.FLOAT32: np.float32,
    T.FLOAT64: np.float64,
    T.BFLOAT16: np.uint16,
}
#: Bytes per element of each element type.
ELEMENT_SIZE: dict[int, int] = {t: np.dtype(d).itemsize for t, d in _DTYPE.items()}
_FLOAT = {T.FLOAT16, T.FLOAT32, T.FLOAT64, T.BFLOAT16}
_ELEMENTWISE: dict[int, Any] = {  # numpy ufuncs, called with out=
    R.SUM: np.add,
    R.PRODUCT: np.multiply,
    R.MINIMUM: np.minimum,
    R.MAXIMUM: np.maximum,
    R.AVERAGE: np.add,
}
_NARROW_INTS = {T.SINT8, T.UINT8, T.SINT16, T.UINT16}
#: Kinds whose ``param`` names a rank all ranks must agree on (the root).
_ROOTED = {K.BROADCAST, K.REDUCE}
_P2P = {K.SEND, K.RECV, K.SEND_RECV}


def unique_id() -> bytes:
    """A fresh token naming an in-process group: random bytes and this process's id."""
    return os.urandom(24) + struct.pack("<Q", os.getpid())


def send_recv_peers(param: int) -> tuple[int, int]:
    """(send peer, recv peer) of a SEND_RECV ``param``: IREE packs them as two int16, the
    send peer in the low half; -1 is none."""
    send, recv = struct.unpack("<hh", struct.pack("<I", param & 0xFFFFFFFF))
    return send, recv


# -- arithmetic ----------------------------------------------------------------------------
def _values(raw: np.ndarray, element_type: int) -> np.ndarray:
    """The elements of ``raw`` (uint8 bytes) in the type they compute in."""
    if element_type == T.BFLOAT16:
        widened: np.ndarray = raw.view(np.uint16).astype(np.uint32) << 16
        return widened.view(np.float32)
    values: np.ndarray = raw.view(_DTYPE[element_type])
    return values.astype(np.float32) if element_type == T.FLOAT16 else values


def _store(values: np.ndarray, element_type: int, out: np.ndarray) -> None:
    """Writes computed ``values`` into ``out`` (uint8 bytes) as ``element_type``."""
    if element_type == T.BFLOAT16:
        bits = values.astype(np.float32).view(np.uint32)
        # Round to nearest even on the 16 bits dropped; NaNs stay (quiet) NaNs.
        rounded = ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16).astype(np.uint16)
        nan = np.isnan(values)
        if nan.any():
            rounded[nan] = ((bits[nan] >> 16) | 0x40).astype(np.uint16)
        out.view(np.uint16)[...] = rounded
    else:
        out.view(_DTYPE[element_type])[...] = values.astype(_DTYPE[element_type], copy=False)


def _divide(total: np.ndarray, count: int, element_type: int) -> np.ndarray:
    """AVERAGE from a sum: floats divide, integers divide rounding toward zero."""
    if element_type in _FLOAT:
        mean: np.ndarray = total / np.asarray(count, dtype=total.dtype)
        return mean
    quotient = total // count
    if total.dtype.kind == "i":  # floor division rounds down: back toward zero
        quotient += ((total % count) != 0) & (total < 0)
    return quotient


def reduce_arrays(
    operands: Sequence[np.ndarray], reduction: int, element_type: int, out: np.ndarray
) -> None:
    """Reduces ``operands`` (uint8 bytes, one per rank, in rank order) into ``out``."""
    fn = _ELEMENTWISE[reduction]
    with np.errstate(all="ignore"):  # integer wrap and float overflow are the semantics
        total = _values(operands[0], element_type).copy()
        for operand in operands[1:]:
            fn(total, _values(operand, element_type), out=total)
        if reduction == R.AVERAGE:
            total = _divide(total, len(operands), element_type)
        _store(total, element_type, out)


def _average_in_place(recv: np.ndarray, count: int, element_type: int) -> None:
    with np.errstate(all="ignore"):
        values = recv.view(_DTYPE[element_type])
        values[...] = _divide(values, count, element_type)


# -- what every rank does: one operation --------------------------------------------------
class HostChannel(DriverChannel):
    """One rank's end of a host channel.  Operations on one channel run one at a time
    (a lock), in the order the rank issues them; every rank issues the same sequence."""

    def __init__(self, transport: _Transport, rank: int, count: int, timeout: float):
        self.transport = transport
        self.rank = rank
        self.count = count
        self.timeout = timeout
        self.lock = threading.Lock()
        self.broken: str | None = None  # why operations are refused, once a deadline passed

    def _check(self) -> None:
        if self.broken is not None:
            raise UnavailableError(f"collective channel is broken: {self.broken}")

    def run(
        self,
        op: CollectiveOp,
        param: int,
        send: np.ndarray | None,
        recv: np.ndarray | None,
        element_count: int,
    ) -> None:
        """Performs ``op`` with the peers (validated arguments; ``send`` and ``recv`` are
        1-D uint8 arrays of exactly the bytes the operation touches, possibly aliasing).
        Raises DeadlineExceededError, AbortedError, InvalidArgumentError (ranks disagree)
        or UnavailableError (the channel broke earlier)."""
        with self.lock:
            self._check()
            if send is not None and recv is not None and np.may_share_memory(send, recv):
                send = send.copy()  # the transports write recv while reading send
            self._guard(
                lambda deadline: self.transport.run(
                    op, param, send, recv, element_count, None, deadline
                )
            )

    def fail(
        self,
        op: CollectiveOp,
        param: int,
        element_count: int,
        error: HalError,
        since: float | None = None,
    ) -> None:
        """This rank's submission failed before reaching ``op``: the peers' matching
        operation raises AbortedError naming this rank.  Bounded by the timeout counted
        from ``since`` (a ``time.monotonic()``; default now), so that the notices of one
        failed submission together wait no longer than one timeout; errors of the notice
        itself are dropped (the submission already failed)."""
        with self.lock:
            if self.broken is not None:
                return
            try:
                self._guard(
                    lambda deadline: self.transport.run(
                        op, param, None, None, element_count, error, deadline
                    ),
                    since,
                )
            except HalError:
                pass

    def _guard(self, action: Callable[[float], None], since: float | None = None) -> None:
        deadline = (time.monotonic() if since is None else since) + self.timeout
        try:
            action(deadline)
        except DeadlineExceededError as e:
            self.broken = str(e)
            raise

    def split(self, color: int, key: int) -> HostChannel | None:
        with self.lock:
            self._check()
            result: list[HostChannel | None] = []
            self._guard(
                lambda deadline: result.append(
                    self.transport.split(color, key, self.timeout, deadline)
                )
            )
            return result[0]

    def close(self) -> None:
        self.transport.close()


class _Transport:
    rank: int
    count: int

    def run(
        self,
        op: CollectiveOp,
        param: int,
        send: np.ndarray | None,
        recv: np.ndarray | None,
        element_count: int,
        failure: HalError | None,
        deadline: float,
    ) -> None:
        raise NotImplementedError

    def split(self, color: int, key: int, timeout: float, deadline: float) -> HostChannel | None:
        raise NotImplementedError

    def close(self) -> None:
        pass


def _fingerprint(op: CollectiveOp, param: int, element_count: int) -> tuple[int, int, int]:
    """What every rank of a (non point-to-point) operation must agree on."""
    return op.packed, element_count, param if op.kind in _ROOTED else 0


def _split_groups(entries: Sequence[tuple[int, int]]) -> dict[int, list[int]]:
    """Ranks grouped by color (negative: none), each ordered by (key, rank)."""
    groups: dict[int, list[int]] = {}
    for rank, (color, _key) in enumerate(entries):
        if color >= 0:
            groups.setdefault(color, []).append(rank)
    for ranks in groups.values():
        ranks.sort(key=lambda r: (entries[r][1], r))
    return groups


# -- MPI ----------------------------------------------------------------------------------
def _mpi() -> Any:
    from mpi4py import MPI

    return MPI


@functools.cache
def _mpi_types() -> dict[int, Any]:
    MPI = _mpi()
    return {
        T.SINT8: MPI.INT8_T,
        T.UINT8: MPI.UINT8_T,
        T.SINT16: MPI.INT16_T,
        T.UINT16: MPI.UINT16_T,
        T.SINT32: MPI.INT32_T,
        T.UINT32: MPI.UINT32_T,
        T.SINT64: MPI.INT64_T,
        T.UINT64: MPI.UINT64_T,
        T.FLOAT32: MPI.FLOAT,
        T.FLOAT64: MPI.DOUBLE,
    }


@functools.cache
def _mpi_ops() -> dict[int, Any]:
    MPI = _mpi()
    return {
        R.SUM: MPI.SUM,
        R.PRODUCT: MPI.PROD,
        R.MINIMUM: MPI.MIN,
        R.MAXIMUM: MPI.MAX,
        R.AVERAGE: MPI.SUM,
    }


#: Point-to-point tags on a channel's communicator: the handshake and the data.
_TAG_HELLO, _TAG_DATA = 7001, 7002
#: Handshake bits: what this rank does with the peer it tells.
_SENDS, _RECEIVES = 1, 2


#: How long a wait tests its request in a busy loop before it starts yielding the CPU: a
#: small message's round trip between ranks is tens of microseconds, and a yield
#: (``time.sleep``) costs about 140 us on a loaded machine, which made a 1 KiB all_reduce
#: 0.4-0.9 ms against mpi4py's 2-70 us.
_SPIN_SECONDS = 200e-6


def _poll(request: Any, deadline: float, what: str, eager: bool = False) -> None:
    """Waits for an MPI request until ``deadline`` (DeadlineExceededError after).

    Nonblocking MPI operations progress while tested.  A wait first tests in a busy loop
    for ``_SPIN_SECONDS`` (small messages complete within it); then waiting for peers to
    arrive (``eager`` False) sleeps in growing steps, so a waiting rank does not take a
    core from the ranks it waits for, and moving data once all arrived (``eager``) only
    yields the CPU between tests, so each step of the algorithm starts at once.
    """
    if request.Test():
        return
    spin_until = time.monotonic() + _SPIN_SECONDS
    while time.monotonic() < spin_until:
        if request.Test():
            return
    pause = 0.0
    while not request.Test():
        now = time.monotonic()
        if now >= deadline:
            raise DeadlineExceededError(what)
        if eager:
            time.sleep(0)
        elif pause:
            time.sleep(min(pause, deadline - now))
            pause = min(pause * 2, 1e-3)
        else:
            pause = 1e-5


def _poll_all(requests: Sequence[Any], deadline: float, what: str) -> None:
    for request in requests:
        _poll(request, deadline, what)


class MpiTransport(_Transport):
    """Ranks of an MPI communicator (one per process)."""

    def __init__(self, comm: Any):
        self.comm = comm
        self.rank = comm.Get_rank()
        self.count = comm.Get_size()
        #: Requests a deadline abandoned and the arrays they may still write: kept alive,
        #: MPI still owns them.
        self.abandoned: list[Any] = []

    @classmethod
    def duplicate(cls, comm: Any, deadline: float) -> MpiTransport:
        """A transport on a private duplicate of ``comm`` (every rank must call it)."""
        dup, request = comm.Idup()
        _poll(request, deadline, "not every rank created the channel in time (MPI Idup)")
        return cls(dup)

    def _arrive(
        self,
        op: CollectiveOp,
        param: int,
        element_count: int,
        failure: HalError | None,
        deadline: float,
    ) -> None:
        MPI = _mpi()
        mine = _fingerprint(op, param, element_count)
        # MAX over (failed rank + 1, x, -x, ...): every rank learns whether some rank failed
        # and whether all passed the same values (then max(x) == -max(-x)).
        local = np.array(
            [self.rank + 1 if failure is not None else 0] + [v for x in mine for v in (x, -x)],
            dtype=np.int64,
        )
        out = np.empty_like(local)
        request = self.comm.Iallreduce(local, out, op=MPI.MAX)
        try:
            _poll(
                request,
                deadline,
                f"collective {K(op.kind).name.lower()}: not every rank "
                f"of the channel arrived in time (rank {self.rank} of {self.count} waited)",
            )
        except DeadlineExceededError:
            self.abandoned.append((request, local, out))
            raise
        if failure is not None:
            return
        if out[0]:
            raise AbortedError(
                f"collective {K(op.kind).name.lower()}: rank {out[0] - 1} of the channel "
                "failed before reaching it"
            )
        if any(out[1 + 2 * i] != -out[2 + 2 * i] for i in range(len(mine))):
            raise InvalidArgumentError(
                f"collective {K(op.kind).name.lower()}: the ranks disagree on the operation, "
                "element count or root"
            )

    def run(
        self,
        op: CollectiveOp,
        param: int,
        send: np.ndarray | None,
        recv: np.ndarray | None,
        element_count: int,
        failure: HalError | None,
        deadline: float,
    ) -> None:
        kind = op.kind
        if kind in _P2P:
            self._p2p(op, param, send, recv, element_count, failure, deadline)
            return
        self._arrive(op, param, element_count, failure, deadline)
        if failure is not None:
            return
        MPI = _mpi()
        comm, keep = self.comm, (send, recv)
        name = K(kind).name.lower()
        if kind == K.ALL_GATHER:
            request = comm.Iallgather([send, MPI.BYTE], [recv, MPI.BYTE])
        elif kind == K.ALL_TO_ALL:
            request = comm.Ialltoall([send, MPI.BYTE], [recv, MPI.BYTE])
        elif kind == K.BROADCAST:
            if self.rank == param:
                assert recv is not None  # the front end requires it for a broadcast
                recv[...] = send
            request = comm.Ibcast([recv, MPI.BYTE], root=param)
        else:
            request, finish, keep = self._reduce(op, param, send, recv, element_count)
            self._data(request, keep, deadline, name)
            finish()
            return
        self._data(request, keep, deadline, name)

    def _data(self, request: Any, keep: Any, deadline: float, name: str) -> None:
        """Waits for a data operation.  Every rank arrived, so only a rank that gave up in
        the meantime (its deadline passed as the last one came) or a stalled process keeps
        it from completing; at the deadline the request and the arrays it may still write
        are kept (MPI owns them) and the channel breaks."""
        try:
            _poll(
                request,
                deadline,
                f"collective {name}: a peer stopped taking part after "
                f"every rank arrived (rank {self.rank} waited)",
                eager=True,
            )
        except DeadlineExceededError:
            self.abandoned.append((request, keep))
            raise

    def _reduce(
        self, op: CollectiveOp, root: int, send: Any, recv: Any, n: int
    ) -> tuple[Any, Callable[[], None], Any]:
        """(request, what to do once it completes, what it uses) of a reducing kind."""
        MPI = _mpi()
        comm, kind, et, red = self.comm, op.kind, int(op.element_type), int(op.reduction)
        dtype = _mpi_types().get(et)
        if dtype is None or (red in (R.SUM, R.AVERAGE) and et in _NARROW_INTS):
            # float16 / bfloat16: MPI has no arithmetic for them.  8- and 16-bit integer
            # sums: Open MPI's vectorized ops saturate them instead of wrapping (seen with
            # Open MPI 5.0 at 3 ranks and more).  Gather the operands and reduce here.
            size = n * ELEMENT_SIZE[et]
            gathered = np.empty(self.count * size, dtype=np.uint8)
            if kind == K.ALL_REDUCE:
                request = comm.Iallgather([send, MPI.BYTE], [gathered, MPI.BYTE])
            elif kind == K.REDUCE:
                request = comm.Igather(
                    [send, MPI.BYTE],
                    [gathered, MPI.BYTE] if self.rank == root else None,
                    root=root,
                )
            else:  # REDUCE_SCATTER: rank r receives every rank's block r
                request = comm.Ialltoall([send, MPI.BYTE], [gathered, MPI.BYTE])

            def finish() -> None:
                if kind != K.REDUCE or self.rank == root:
                    operands = [gathered[r * size : (r + 1) * size] for r in range(self.count)]
                    reduce_arrays(operands, red, et, recv)

            return request, finish, (send, recv, gathered)
        mpi_op = _mpi_ops()[red]
        if kind == K.ALL_REDUCE:
            request = comm.Iallreduce([send, n, dtype], [recv, n, dtype], op=mpi_op)
        elif kind == K.REDUCE:
            request = comm.Ireduce(
                [send, n, dtype],
                [recv, n, dtype] if self.rank == root else None,
                op=mpi_op,
                root=root,
            )
        else:  # REDUCE_SCATTER
            # (mpi4py takes the send count from the buffer: ``count`` blocks of ``n``)
            request = comm.Ireduce_scatter_block([send, dtype], [recv, n, dtype], op=mpi_op)

        def average() -> None:
            if red == R.AVERAGE and (kind != K.REDUCE or self.rank == root):
                _average_in_place(recv, self.count, et)

        return request, average, (send, recv)

    def _p2p(
        self,
        op: CollectiveOp,
        param: int,
        send: np.ndarray | None,
        recv: np.ndarray | None,
        n: int,
        failure: HalError | None,
        deadline: float,
    ) -> None:
        MPI = _mpi()
        kind = op.kind
        send_to, recv_from = (
            send_recv_peers(param)
            if kind == K.SEND_RECV
            else (param, -1)
            if kind == K.SEND
            else (-1, param)
        )
        peers: dict[int, int] = {}
        if send_to >= 0:
            peers[send_to] = peers.get(send_to, 0) | _SENDS
        if recv_from >= 0:
            peers[recv_from] = peers.get(recv_from, 0) | _RECEIVES
        # Handshake with each peer: (failed, what I do with you, element type, count).
        hello = {
            p: np.array([failure is not None, bits, op.element_type, n], dtype=np.int64)
            for p, bits in peers.items()
        }
        answers = {p: np.empty(4, dtype=np.int64) for p in peers}
        requests = [self.comm.Irecv(answers[p], source=p, tag=_TAG_HELLO) for p in peers]
        requests += [self.comm.Isend(hello[p], dest=p, tag=_TAG_HELLO) for p in peers]
        name = K(kind).name.lower()
        try:
            _poll_all(
                requests,
                deadline,
                f"collective {name}: peer rank(s) {sorted(peers)} "
                f"did not arrive in time (rank {self.rank} waited)",
            )
        except DeadlineExceededError:
            self.abandoned.append((requests, hello, answers))
            raise
        if failure is not None:
            return
        for p, answer in answers.items():
            failed, bits, element_type, count = (int(v) for v in answer)
            if failed:
                raise AbortedError(f"collective {name}: peer rank {p} failed before reaching it")
            # What the peer does with me must mirror what I do with it.
            mirrored = (_SENDS if bits & _RECEIVES else 0) | (_RECEIVES if bits & _SENDS else 0)
            if mirrored != peers[p] or element_type != op.element_type or count != n:
                raise InvalidArgumentError(
                    f"collective {name}: rank {self.rank} and peer rank {p} disagree on who "
                    "sends, the element type or the element count"
                )
        data = []
        if recv_from >= 0:
            data.append(self.comm.Irecv([recv, MPI.BYTE], source=recv_from, tag=_TAG_DATA))
        elif kind == K.SEND_RECV:
            assert recv is not None  # the front end requires it for send_recv
            recv[...] = 0  # IREE: a rank with no recv peer gets zeros
        if send_to >= 0:
            data.append(self.comm.Isend([send, MPI.BYTE], dest=send_to, tag=_TAG_DATA))
        for request in data:
            self._data(request, (send, recv), deadline, name)

    def split(self, color: int, key: int, timeout: float, deadline: float) -> HostChannel | None:
        MPI = _mpi()
        # Learn that every rank arrived (nonblocking, to the deadline) before the
        # blocking Comm.Split, which then cannot wait on a rank that never comes.
        mine = np.array([color, key], dtype=np.int64)
        every = np.empty(2 * self.count, dtype=np.int64)
        request = self.comm.Iallgather(mine, every)
        try:
            _poll(request, deadline, "split: not every rank of the channel arrived in time")
        except DeadlineExceededError:
            self.abandoned.append((request, mine, every))
            raise
        sub = self.comm.Split(color if color >= 0 else MPI.UNDEFINED, key)
        if sub == MPI.COMM_NULL:
            return None
        transport = MpiTransport(sub)
        return HostChannel(transport, transport.rank, transport.count, timeout)

    def close(self) -> None:
        if not self.abandoned and self.comm is not None:
            MPI = _mpi()
            if not MPI.Is_finalized():
                # Collective on the communicator's ranks: free only what nothing waits on.
                self.comm.Free()
        self.comm = None


# -- in-process -------------------------------------------------------------------------
class _Round:
    """One operation of an in-process group: what each rank brought, and the outcome."""

    __slots__ = ("needed", "entries", "arrived", "left", "done", "error", "result")

    def __init__(self, needed: int):
        self.needed = needed
        self.entries: dict[int, Any] = {}
        self.arrived = 0
        self.left = 0
        self.done = False
        self.error: HalError | None = None  # raised by every rank that did not fail
        self.result: Any = None


class _Group:
    """Ranks of one process meeting by id; ``cond`` guards everything."""

    def __init__(self, count: int):
        self.count = count
        self.cond = threading.Condition()
        self.members: set[int] = set()
        self.rounds: dict[Any, _Round] = {}


_GROUPS: weakref.WeakValueDictionary[bytes, _Group] = weakref.WeakValueDictionary()
_GROUPS_LOCK = threading.Lock()


class LocalTransport(_Transport):
    """A rank of an in-process group.  Whole-group operations meet in rounds numbered by
    ``sequence``; point-to-point ones in rounds of the pair, numbered per peer."""

    def __init__(self, group: _Group, rank: int):
        self.group = group
        self.rank = rank
        self.count = group.count
        self.sequence = 0
        self.pair_sequence: dict[int, int] = {}

    def _post(self, key: Any, needed: int, entry: Any, compute: Callable[[_Round], None]) -> _Round:
        """Adds this rank's ``entry`` to round ``key`` (the group's lock held); the rank
        that completes the round runs ``compute``."""
        group = self.group
        rnd = group.rounds.get(key)
        if rnd is None:
            rnd = group.rounds[key] = _Round(needed)
        rnd.arrived += 1
        if rnd.done:  # a peer gave up on this round before this rank came
            return rnd
        rnd.entries[self.rank] = entry
        if len(rnd.entries) == needed:
            try:
                compute(rnd)
            except HalError as e:
                rnd.error = e
            rnd.done = True
            group.cond.notify_all()
        return rnd

    def _wait(self, key: Any, rnd: _Round, failed: bool, deadline: float, what: str) -> None:
        """Waits (the group's lock held) until round ``key`` completes or ``deadline``
        passes; raises the round's error unless this rank ``failed`` itself."""
        group = self.group
        while not rnd.done:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                missing = sorted(set(range(self.count)) - set(rnd.entries))
                rnd.done = True
                rnd.error = AbortedError(
                    f"{what}: rank {self.rank} gave up waiting for rank(s) {missing}"
                )
                group.cond.notify_all()
                self._leave(key, rnd)
                raise DeadlineExceededError(
                    f"{what}: rank(s) {missing} of the channel did not arrive in time "
                    f"(rank {self.rank} waited)"
                )
            group.cond.wait(remaining)
        self._leave(key, rnd)
        if rnd.error is not None and not failed:
            raise rnd.error

    def _leave(self, key: Any, rnd: _Round) -> None:
        rnd.left += 1
        if rnd.left == rnd.needed:  # everyone came and went: forget the round
            self.group.rounds.pop(key, None)

    def run(
        self,
        op: CollectiveOp,
        param: int,
        send: np.ndarray | None,
        recv: np.ndarray | None,
        element_count: int,
        failure: HalError | None,
        deadline: float,
    ) -> None:
        name = f"collective {K(op.kind).name.lower()}"
        if op.kind in _P2P:
            self._p2p(op, param, send, recv, element_count, failure, deadline, name)
            return
        self.sequence += 1
        key = ("all", self.sequence)
        entry = (failure, _fingerprint(op, param, element_count), send, recv)
        with self.group.cond:
            rnd = self._post(
                key, self.count, entry, lambda r: _compute_group(op, param, element_count, r)
            )
            self._wait(key, rnd, failure is not None, deadline, name)

    def _p2p(
        self,
        op: CollectiveOp,
        param: int,
        send: np.ndarray | None,
        recv: np.ndarray | None,
        n: int,
        failure: HalError | None,
        deadline: float,
        name: str,
    ) -> None:
        kind = op.kind
        send_to, recv_from = (
            send_recv_peers(param)
            if kind == K.SEND_RECV
            else (param, -1)
            if kind == K.SEND
            else (-1, param)
        )
        if kind == K.SEND_RECV and recv_from < 0 and failure is None:
            assert recv is not None  # the front end requires it for send_recv
            recv[...] = 0  # IREE: a rank with no recv peer gets zeros
        entry = (
            failure,
            (int(op.element_type), n),
            send if send_to >= 0 else None,
            recv if recv_from >= 0 else None,
            send_to,
            recv_from,
        )
        # Post to every pair's round first, then wait: a ring of send_recv cannot deadlock.
        rounds = []
        with self.group.cond:
            for p in sorted({q for q in (send_to, recv_from) if q >= 0}):
                seq = self.pair_sequence[p] = self.pair_sequence.get(p, 0) + 1
                key = ("pair", min(p, self.rank), max(p, self.rank), seq)
                needed = 1 if p == self.rank else 2
                compute = functools.partial(_compute_pair, what=f"{name} with rank {p}")
                rounds.append((p, key, self._post(key, needed, entry, compute)))
            for p, key, rnd in rounds:
                self._wait(key, rnd, failure is not None, deadline, f"{name} with rank {p}")

    def split(self, color: int, key: int, timeout: float, deadline: float) -> HostChannel | None:
        self.sequence += 1
        round_key = ("all", self.sequence)
        with self.group.cond:
            rnd = self._post(round_key, self.count, (None, (color, key)), _compute_split)
            self._wait(round_key, rnd, False, deadline, "split")
        made = rnd.result[self.rank]
        if made is None:
            return None
        sub_group, sub_rank = made
        return HostChannel(LocalTransport(sub_group, sub_rank), sub_rank, sub_group.count, timeout)

    def close(self) -> None:
        with self.group.cond:
            self.group.members.discard(self.rank)


def _compute_split(rnd: _Round) -> None:
    entries = [rnd.entries[r][1] for r in range(len(rnd.entries))]
    out: dict[int, tuple[_Group, int] | None] = dict.fromkeys(range(len(entries)))
    for ranks in _split_groups(entries).values():
        group = _Group(len(ranks))
        group.members.update(range(len(ranks)))
        for new_rank, old_rank in enumerate(ranks):
            out[old_rank] = (group, new_rank)
    rnd.result = out


def _compute_pair(rnd: _Round, what: str) -> None:
    entries = rnd.entries
    for rank, (failure, *_rest) in entries.items():
        if failure is not None:
            raise AbortedError(f"{what}: rank {rank} failed before reaching it")
    if len(entries) == 1:  # a rank sending to itself
        ((rank, (_, _, send, recv, to, frm)),) = entries.items()
        if to == rank and frm == rank:
            recv[...] = send
            return
        raise InvalidArgumentError(f"{what}: rank {rank} sends to itself without receiving")
    (a, ea), (b, eb) = sorted(entries.items())
    _, fa, send_a, recv_a, to_a, from_a = ea
    _, fb, send_b, recv_b, to_b, from_b = eb
    if (to_a == b) != (from_b == a) or (to_b == a) != (from_a == b) or fa != fb:
        raise InvalidArgumentError(
            f"{what}: ranks {a} and {b} disagree on who sends, the element type or the count"
        )
    if to_a == b:
        recv_b[...] = send_a
    if to_b == a:
        recv_a[...] = send_b


def _compute_group(op: CollectiveOp, param: int, n: int, rnd: _Round) -> None:
    entries = [rnd.entries[r] for r in range(len(rnd.entries))]
    count = len(entries)
    name = f"collective {K(op.kind).name.lower()}"
    for rank, (failure, *_rest) in enumerate(entries):
        if failure is not None:
            raise AbortedError(f"{name}: rank {rank} failed before reaching it")
    if len({e[1] for e in entries}) != 1:
        raise InvalidArgumentError(
            f"{name}: the ranks disagree on the operation, element count or root"
        )
    sends = [e[2] for e in entries]
    recvs = [e[3] for e in entries]
    kind = op.kind
    size = n * ELEMENT_SIZE[op.element_type]
    # Every result is computed before any recv is written: a rank's recv may be another
    # rank's send (devices of one process may share buffers).
    if kind == K.ALL_GATHER:
        whole = np.concatenate(sends) if sends else np.empty(0, np.uint8)
        results = [whole] * count
    elif kind == K.ALL_TO_ALL:
        block = size // count
        results = [
            np.concatenate([sends[j][r * block : (r + 1) * block] for j in range(count)])
            for r in range(count)
        ]
    elif kind == K.BROADCAST:
        results = [sends[param].copy()] * count
    else:
        operands = sends
        if kind == K.REDUCE_SCATTER:
            total = np.empty(size * count, np.uint8)
        else:
            total = np.empty(size, np.uint8)
        reduce_arrays(operands, op.reduction, op.element_type, total)
        if kind == K.REDUCE:
            recvs[param][...] = total
            return
        if kind == K.ALL_REDUCE:
            results = [total] * count
        else:
            results = [total[r * size : (r + 1) * size] for r in range(count)]
    for recv, result in zip(recvs, results, strict=True):
        recv[...] = result


# -- making channels ------------------------------------------------------------------------
def mpi_world() -> Any | None:
    """``MPI.COMM_WORLD`` when this process runs under an MPI launcher with mpi4py (which
    it initializes) or has initialized mpi4py itself; None otherwise."""
    import sys

    env = os.environ
    launched = any(
        v in env for v in ("OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "MV2_COMM_WORLD_SIZE")
    )
    if not launched and "mpi4py.MPI" not in sys.modules:
        return None
    try:
        MPI = _mpi()
    except ImportError:
        if launched:
            raise UnavailableError(
                "this process was started by an MPI launcher but mpi4py is not installed "
                "(pip install 'polyhal[mpi]')"
            ) from None
        return None
    if not MPI.Is_initialized() or MPI.Is_finalized():
        return None
    return MPI.COMM_WORLD


def create(
    rank: int,
    count: int,
    id: bytes | None,  # noqa: A002 - the contract's name
    launcher: str | None,
    timeout: float,
    transport: str | None = None,
) -> HostChannel:
    """A host channel (see the module docstring for which transport it takes).

    ``transport`` None chooses: MPI for ``launcher`` "mpi" or an explicit ``rank`` and
    ``count`` equal to COMM_WORLD's, else an in-process group keyed by ``id`` (a token of
    :func:`unique_id`; count 1 needs none).  ``"mpi"`` or ``"process"`` forces one (an
    in-process group of as many devices as the MPI job has processes needs
    ``"process"``).  InvalidArgumentError for an explicit multi-rank channel without an
    id or an unknown transport, AlreadyExistsError for a rank already taken in its group,
    UnavailableError for ranks in several processes without MPI, FailedPreconditionError
    for MPI initialized without MPI_THREAD_MULTIPLE (queues call MPI from their threads).
    """
    if transport not in (None, "mpi", "process"):
        raise InvalidArgumentError(f"transport is 'mpi' or 'process', got {transport!r}")
    # Processes start at different times: creating waits at least CREATE_TIMEOUT.
    deadline = time.monotonic() + max(timeout, CREATE_TIMEOUT)
    world = mpi_world() if count > 1 and transport != "process" else None
    if transport == "mpi" and (
        world is None or (world.Get_size(), world.Get_rank()) != (count, rank)
    ):
        raise InvalidArgumentError(
            f"transport 'mpi' carries MPI.COMM_WORLD's ranks: rank {rank} of {count} is not "
            "this process's (is it started by mpiexec, with mpi4py installed?)"
        )
    if world is not None and (
        launcher == "mpi"
        or transport == "mpi"
        or (world.Get_size() == count and world.Get_rank() == rank and launcher is None)
    ):
        MPI = _mpi()
        if MPI.Query_thread() < MPI.THREAD_MULTIPLE:
            raise FailedPreconditionError(
                "MPI was initialized without MPI_THREAD_MULTIPLE, and polyhal's queues call "
                "MPI from their own threads (mpi4py's default thread level is 'multiple')"
            )
        mpi: _Transport = MpiTransport.duplicate(world, deadline)
        return HostChannel(mpi, rank, count, timeout)
    if launcher is not None and count > 1 and transport != "process":
        raise UnavailableError(
            f"the host collective engine carries ranks of several processes over MPI only; "
            f"this channel's ranks come from {launcher} (launch with mpiexec and install "
            "mpi4py, or use a driver with its own transport)"
        )
    if count == 1:
        id = id or unique_id()  # noqa: A001
    if id is None:
        raise InvalidArgumentError(
            "a channel with an explicit rank and count needs id= (hal.Channel.unique_id(), "
            "made once and given to every rank)"
        )
    with _GROUPS_LOCK:
        group = _GROUPS.get(bytes(id))
        if group is None:
            group = _GROUPS[bytes(id)] = _Group(count)
    with group.cond:
        if group.count != count:
            raise InvalidArgumentError(
                f"channel id already names a group of {group.count} ranks, not {count}"
            )
        if rank in group.members:
            raise AlreadyExistsError(f"rank {rank} of this channel id was already created")
        group.members.add(rank)
    return HostChannel(LocalTransport(group, rank), rank, count, timeout)
