"""Collectives on the cuda driver: NCCL, through NVIDIA's ``nccl4py``.

Why nccl4py: it is NVIDIA's own binding of NCCL (the ``nccl`` package, released with
NCCL), so the communicator lifecycle (unique ids, ``ncclCommInitRank``, ``ncclCommSplit``,
``ncclCommAbort``, ``ncclCommGetAsyncError``) is called through a maintained API rather
than a private ctypes mirror of ``nccl.h``; it loads the ``nvidia-nccl-cu12``/``-cu13``
wheels' libnccl.  Only its low-level module (``nccl.bindings.nccl``) is used, which needs
neither cuda-core nor CuPy.  The per-submission calls do not go through Python at all: the
native launcher (native/launcher.c, ``ph_collective_run``) calls NCCL's collective entry
points, taken from the same loaded libnccl (checked by version), in queue order on the
queue's stream, so a one-shot command buffer's collective costs one NCCL call and a
reusable command buffer captures it into its CUDA graph (graph.py).

Channels.  ``create_channel`` starts ``ncclCommInitRank`` on a thread of its own and returns
at once: NCCL's blocking init waits for every rank, so the devices of one process (one
device per GPU) can create their channels one after the other on one thread, and a rank
that never joins ends in DeadlineExceededError at the channel's first use instead of a
hang.  The init thread also connects every peer pair (a one-byte grouped send/recv), and
the driver sets ``NCCL_RUNTIME_CONNECT=0`` where unset, so no later collective or
send/recv waits on the host for a peer to set up a connection: the devices of one process
can then issue their halves of a collective one after the other on one thread.
``NCCL_NVLS_ENABLE=0`` is set where unset (NVLink multicast must stay off) and
``NCCL_GRAPH_REGISTER=0`` (registering graph-captured buffers exchanges handles between
ranks while a command buffer is recorded, which would block that one thread too).

Failures.  NCCL kernels wait on the device for their peers forever; a watchdog thread
follows every submission holding a collective: when NCCL reports an asynchronous error,
or the channel's timeout passes before the submission completes, it *revokes* the channel
(``ph_comm_revoke`` empties the communicator cell the launcher reads, so no later job
calls NCCL with it) and calls ``ncclCommAbort``, which ends the waiting kernels.  The
submission, and every later one using the channel, then fails with DeadlineExceededError
(timeout) or UnavailableError (NCCL's error); a rank whose own submission failed before
its collective ran leaves its peers to that timeout.
"""

from __future__ import annotations

import ctypes
import functools
import os
import threading
import time
from typing import TYPE_CHECKING, Any

from ...errors import (
    DeadlineExceededError,
    FailedPreconditionError,
    HalError,
    InternalError,
    InvalidArgumentError,
    UnavailableError,
    UnimplementedError,
)
from ...types import CollectiveElementType as T
from ...types import CollectiveKind as K
from ...types import CollectiveReduction as R
from ..base import DriverChannel
from .api import check, cu

if TYPE_CHECKING:
    from .device import CudaDevice

#: Environment NCCL reads at its first initialisation (see the module docstring).
NCCL_ENVIRONMENT = {
    "NCCL_NVLS_ENABLE": "0",
    "NCCL_RUNTIME_CONNECT": "0",
    "NCCL_GRAPH_REGISTER": "0",
}
#: Seconds a collective may take, and a channel's init, unless create_channel says.
DEFAULT_TIMEOUT = float(os.environ.get("POLYHAL_COLLECTIVE_TIMEOUT", "300"))
#: How often the watchdog looks at submissions in flight (seconds).
WATCH_PERIOD = 0.02

#: (ncclDataType_t, bytes) of each element type NCCL reduces; int16/uint16 it lacks.
DATATYPES = {
    T.SINT8: (0, 1),
    T.UINT8: (1, 1),
    T.SINT32: (2, 4),
    T.UINT32: (3, 4),
    T.SINT64: (4, 8),
    T.UINT64: (5, 8),
    T.FLOAT16: (6, 2),
    T.FLOAT32: (7, 4),
    T.FLOAT64: (8, 8),
    T.BFLOAT16: (9, 2),
}
ELEMENT_BYTES = {**{t: size for t, (_, size) in DATATYPES.items()}, T.SINT16: 2, T.UINT16: 2}
NCCL_UINT8 = 1
#: ncclRedOp_t of each reduction.
REDUCTIONS = {R.SUM: 0, R.PRODUCT: 1, R.MAXIMUM: 2, R.MINIMUM: 3, R.AVERAGE: 4}
REDUCING = frozenset({K.ALL_REDUCE, K.REDUCE, K.REDUCE_SCATTER})

#: What launcher.c returns for a failed NCCL call (PH_NCCL_ERROR + ncclResult) and for a
#: collective on a revoked channel (PH_NCCL_REVOKED).
NCCL_ERROR = 0x10000
NCCL_REVOKED = NCCL_ERROR + 0x100
#: ncclResult_t names.
_RESULTS = (
    "ncclSuccess",
    "ncclUnhandledCudaError",
    "ncclSystemError",
    "ncclInternalError",
    "ncclInvalidArgument",
    "ncclInvalidUsage",
    "ncclRemoteError",
    "ncclInProgress",
)
_IN_PROGRESS = 7
_ERROR_TYPES: dict[int, type[HalError]] = {
    4: InvalidArgumentError,
    5: FailedPreconditionError,
    6: UnavailableError,  # a peer failed
    2: UnavailableError,  # a socket or the system failed: a peer left, often
}

_NCCL_FUNCTIONS = (
    "ncclAllGather",
    "ncclAllReduce",
    "ncclBroadcast",
    "ncclReduce",
    "ncclReduceScatter",
    "ncclSend",
    "ncclRecv",
    "ncclGroupStart",
    "ncclGroupEnd",
)


class NcclApi(ctypes.Structure):
    """ph_nccl_api_t of launcher.c."""

    _fields_ = [(name, ctypes.c_void_p) for name in _NCCL_FUNCTIONS]


class CollectiveRecord(ctypes.Structure):
    """ph_collective_t of launcher.c: one recorded collective, as the launcher issues it."""

    _fields_ = [
        ("nccl", ctypes.c_void_p),
        ("cell", ctypes.c_void_p),
        ("kind", ctypes.c_uint32),
        ("datatype", ctypes.c_int32),
        ("redop", ctypes.c_int32),
        ("param", ctypes.c_int32),
        ("count", ctypes.c_uint64),
        ("ranks", ctypes.c_uint32),
        ("element_size", ctypes.c_uint32),
    ]


def result_name(code: int) -> str:
    return _RESULTS[code] if 0 <= code < len(_RESULTS) else f"ncclResult {code}"


def nccl_error(code: int, what: str) -> HalError:
    """The polyhal error of a failed NCCL call (``code``: its ncclResult)."""
    detail = ""
    try:
        detail = f": {nccl().bindings.get_error_string(code)}"
    except Exception:  # the name alone still says what failed
        pass
    cls = _ERROR_TYPES.get(code, InternalError)
    return cls(f"{what} failed with {result_name(code)}{detail}")


def launch_error(rc: int, where: str) -> HalError:
    """The error of a launcher result at or above NCCL_ERROR (a collective's)."""
    if rc == NCCL_REVOKED:
        return UnavailableError(
            f"{where}: the collective's channel was revoked after an earlier failure or timeout"
        )
    return nccl_error(rc - NCCL_ERROR, f"{where} (a collective)")


class Nccl:
    """libnccl, loaded once per process by nccl4py: its bindings, and the collective entry
    points the launcher calls (``api``)."""

    def __init__(self) -> None:
        for name, value in NCCL_ENVIRONMENT.items():
            os.environ.setdefault(name, value)
        try:
            from nccl.bindings import nccl as bindings  # type: ignore[import-not-found,unused-ignore]
        except ImportError as e:
            raise UnavailableError(
                f"collectives on cuda need NCCL through nccl4py (pip install 'nccl4py[cu13]' "
                f"or 'nccl4py[cu12]'): {e}"
            ) from None
        self.bindings = bindings
        try:
            self.version = int(bindings.get_version())
        except Exception as e:
            raise UnavailableError(f"nccl4py found no usable libnccl: {e}") from None
        library = ctypes.CDLL(self._library_path())
        version = ctypes.c_int(0)
        library.ncclGetVersion(ctypes.byref(version))
        if version.value != self.version:
            raise UnavailableError(
                f"two libnccl in the process: nccl4py's is {self.version}, the one found for "
                f"the launcher {version.value}"
            )
        self.library = library
        self.api = NcclApi(
            *[
                ctypes.cast(getattr(library, name), ctypes.c_void_p).value
                for name in _NCCL_FUNCTIONS
            ]
        )
        self.api_ptr = ctypes.addressof(self.api)

    @staticmethod
    def _library_path() -> str:
        """The path of the libnccl nccl4py loaded (cuda-pathfinder finds it, as nccl4py
        does; the loader then hands back the same library)."""
        try:
            from cuda.pathfinder import load_nvidia_dynamic_lib

            path = load_nvidia_dynamic_lib("nccl").abs_path
            if path:
                return str(path)
        except Exception:  # not a wheel install: the loader's search finds the one loaded
            pass
        return "libnccl.so.2"

    @property
    def version_string(self) -> str:
        v = self.version
        return f"{v // 10000}.{v // 100 % 100}.{v % 100}"

    def unique_id(self) -> bytes:
        """A fresh ncclUniqueId (128 bytes): the rendezvous token of a new channel."""
        return bytes(self.bindings.get_unique_id())

    def call(self, what: str, fn: Any, *args: Any) -> Any:
        """``fn(*args)`` of the bindings; an NCCL failure becomes its polyhal error."""
        try:
            return fn(*args)
        except self.bindings.NCCLError as e:
            code = getattr(e, "status", None)
            if code is None:
                code = e.args[0] if e.args and isinstance(e.args[0], int) else 3
            raise nccl_error(int(code), what) from None


@functools.cache
def nccl() -> Nccl:
    """The process's NCCL; UnavailableError (cached too) when it cannot be loaded."""
    return Nccl()


def available() -> bool:
    """Whether nccl4py is installed (cheap: loads nothing)."""
    import importlib.util

    try:
        return importlib.util.find_spec("nccl.bindings") is not None
    except (ImportError, ValueError):
        return False


def _handle(comm: Any) -> int:
    """The ncclComm_t address of a bindings communicator."""
    return int(getattr(comm, "handle", comm))


class NcclChannel(DriverChannel):
    """One rank's NCCL communicator on one device (see the module docstring).

    ``cell`` is the communicator as the launcher reads it: 0 until the init completes and
    after a revoke.  ``error`` is set once the channel is unusable, and raised by
    :meth:`ready`.
    """

    def __init__(
        self,
        device: CudaDevice,
        rank: int | None,
        count: int | None,
        timeout: float,
        start: Any,
        what: str,
    ):
        self.device = device
        self._rank = rank  # None for a split's channel until its communicator exists
        self._count = count
        self.timeout = timeout
        self.what = what
        self.cell = ctypes.c_void_p(0)
        self.cell_ptr = ctypes.addressof(self.cell)
        self.error: HalError | None = None
        self.comm: Any = None
        self.closed = False
        self._lock = threading.Lock()
        self._done = threading.Event()
        device.channels.add(self)
        threading.Thread(
            target=self._init, args=(start,), name="polyhal-nccl-init", daemon=True
        ).start()

    @property
    def rank(self) -> int:  # type: ignore[override]
        if self._rank is None:
            self.ready()
        return int(self._rank)  # type: ignore[arg-type]

    @property
    def count(self) -> int:  # type: ignore[override]
        if self._count is None:
            self.ready()
        return int(self._count)  # type: ignore[arg-type]

    def _init(self, start: Any) -> None:
        lib = nccl()
        try:
            self.device.bind()
            comm = start()
            if comm is not None and _handle(comm):
                self.comm = comm
                b = lib.bindings
                self._rank = int(lib.call("ncclCommUserRank", b.comm_user_rank, comm))
                self._count = int(lib.call("ncclCommCount", b.comm_count, comm))
                self._connect(lib, comm)
                self.cell.value = _handle(comm)
            else:  # a split this rank is not part of
                self.error = FailedPreconditionError(f"{self.what}: this rank has no channel")
        except HalError as e:
            self.error = e
        except Exception as e:
            self.error = InternalError(f"{self.what}: {e!r}")
        finally:
            self._done.set()

    def _connect(self, lib: Nccl, comm: Any) -> None:
        """Connects this rank to every peer now (a grouped one-byte send and receive each),
        so that no later send/recv waits on the host for a peer's connection."""
        rank, count = self._rank, self._count
        if count is None or count < 2:
            return
        b = lib.bindings
        stream = check(
            cu.cuStreamCreate(cu.CUstream_flags.CU_STREAM_NON_BLOCKING), "cuStreamCreate"
        )
        memory = check(cu.cuMemAlloc(2 * self.count), "cuMemAlloc")
        try:
            base, s = int(memory), int(stream)
            lib.call("ncclGroupStart", b.group_start)
            for peer in range(count):
                if peer != rank:
                    lib.call("ncclSend", b.send, base + peer, 1, NCCL_UINT8, peer, comm, s)
                    lib.call("ncclRecv", b.recv, base + count + peer, 1, NCCL_UINT8, peer, comm, s)
            lib.call("ncclGroupEnd", b.group_end)
            check(cu.cuStreamSynchronize(stream), "cuStreamSynchronize")
        finally:
            cu.cuMemFree(memory)
            cu.cuStreamDestroy(stream)

    def ready(self) -> None:
        """Waits (at most the timeout) for the init; raises the channel's error if any."""
        if not self._done.is_set() and not self._done.wait(self.timeout):
            with self._lock:
                if self.error is None:
                    self.error = DeadlineExceededError(
                        f"{self.what}: not every rank joined within {self.timeout:g} s"
                    )
        if self.error is not None:
            raise self.error
        if self.closed:
            raise FailedPreconditionError("the channel is closed")

    @property
    def usable(self) -> bool:
        return self._done.is_set() and self.error is None and not self.closed

    def split(self, color: int, key: int) -> NcclChannel | None:
        """The channel of the ranks passing the same ``color`` (ncclCommSplit, collective
        over this channel: started on a thread as an init is, its rank and count known
        once it completes); None for ``color`` < 0, with which this rank takes part in
        the split but joins no channel (every rank of the parent must call split)."""
        self.ready()
        lib = nccl()
        parent = self.comm
        color = int(color) if color is not None and color >= 0 else -1

        def start() -> Any:
            return lib.call("ncclCommSplit", lib.bindings.comm_split, parent, color, int(key), 0)

        child = NcclChannel(self.device, None, None, self.timeout, start, f"split of {self.what}")
        if color < 0:
            child.device.channels.discard(child)
            return None
        return child

    def revoke(self, error: HalError) -> None:
        """Makes the channel unusable with ``error`` and aborts its communicator, which
        ends its kernels still waiting on the device (watchdog, close)."""
        with self._lock:
            if self.error is None:
                self.error = error
            comm, self.comm = self.comm, None
        if comm is None:
            return
        device = self.device
        if not device.closed:
            device.lib.ph_comm_revoke(device.native_ptr, self.cell_ptr, 1000)
        else:
            self.cell.value = 0

        # ncclCommAbort sets the flag that ends this rank's kernels at once, then frees the
        # communicator, which can wait for its peers (seen on two processes: both ranks'
        # aborts at close took over 5 s), so it runs on a thread of its own, not waited for.
        def abort() -> None:
            try:
                nccl().bindings.comm_abort(comm)
            except Exception:  # aborting is the last thing done with it: nothing more to do
                pass

        threading.Thread(target=abort, name="polyhal-nccl-abort", daemon=True).start()

    def async_error(self) -> int:
        """ncclCommGetAsyncError of the communicator (0 if none, or it is gone)."""
        comm = self.comm
        if comm is None:
            return 0
        try:
            return int(nccl().bindings.comm_get_async_error(comm))
        except Exception:
            return 0

    def close(self) -> None:
        """Aborts the communicator (ncclCommAbort frees it without waiting for peers, which
        ncclCommDestroy would); its submissions must have completed."""
        if self.closed:
            return
        self.closed = True
        self.device.channels.discard(self)
        self.revoke(FailedPreconditionError("the channel is closed"))


def create(
    device: CudaDevice, rank: int, count: int, id: bytes | None, options: dict[str, object]
) -> NcclChannel:
    """``Device.create_channel`` on cuda: an NCCL channel from the rendezvous token ``id``."""
    options = dict(options)
    timeout = options.pop("timeout", None)
    if options:
        raise InvalidArgumentError(
            f"unknown cuda channel options {sorted(options)}; known: timeout"
        )
    timeout = DEFAULT_TIMEOUT if timeout is None else float(timeout)  # type: ignore[arg-type]
    if not timeout > 0:
        raise InvalidArgumentError(f"a channel's timeout is seconds > 0, got {timeout}")
    if id is None:
        if count != 1:
            raise InvalidArgumentError(
                "a cuda channel of several ranks needs the rendezvous token of "
                "Channel.unique_id(device) (create_channel(id=...)) or a launcher"
            )
    lib = nccl()
    token = bytes(id) if id is not None else lib.unique_id()
    if len(token) != 128:
        raise InvalidArgumentError(
            f"a cuda channel's id is the 128-byte ncclUniqueId of Channel.unique_id, got "
            f"{len(token)} bytes"
        )
    if not 0 <= rank < count:
        raise InvalidArgumentError(f"rank {rank} is outside a channel of {count} ranks")
    unique = lib.bindings.UniqueId.from_buffer(bytearray(token))

    def start() -> Any:
        return lib.call("ncclCommInitRank", lib.bindings.comm_init_rank, count, unique, rank)

    what = f"NCCL channel (rank {rank} of {count}) on cuda:{device.index}"
    return NcclChannel(device, rank, count, timeout, start, what)


def record(channel: NcclChannel, op: Any, param: int, element_count: int) -> CollectiveRecord:
    """The launcher's record of one collective; UnimplementedError for what NCCL lacks.

    Kinds that only move data move bytes (ncclUint8), which any element type can;
    reducing kinds need NCCL's type and reduction."""
    kind = K(op.kind)
    element = T(op.element_type)
    size = ELEMENT_BYTES[element]
    if kind in REDUCING:
        if element not in DATATYPES:
            raise UnimplementedError(
                f"{kind.name.lower()} of {element.name.lower()} on cuda: NCCL has no 16-bit "
                "integer type to reduce (int16 and uint16 only move data: all_gather, "
                "all_to_all, broadcast, send, recv, send_recv)"
            )
        datatype, _ = DATATYPES[element]
        redop, count = REDUCTIONS[R(op.reduction)], element_count
    else:
        datatype, redop, count, size = NCCL_UINT8, 0, element_count * size, 1
    return CollectiveRecord(
        nccl().api_ptr,
        channel.cell_ptr,
        int(kind),
        datatype,
        redop,
        ctypes.c_int32(param & 0xFFFFFFFF).value,
        count,
        channel.count,
        size,
    )


def driver_channel(channel: Any) -> NcclChannel:
    """The NcclChannel of a recorded command's front-end channel."""
    ch = getattr(channel, "driver_channel", channel)
    if not isinstance(ch, NcclChannel):
        raise InvalidArgumentError("the collective's channel is not a cuda (NCCL) channel")
    return ch


def capture(device: CudaDevice, rec: CollectiveRecord, send: int, recv: int, stream: Any) -> Any:
    """A CUDA graph of one collective, captured from NCCL on ``stream`` (graph.py adds it
    as a child graph node)."""
    relaxed = cu.CUstreamCaptureMode.CU_STREAM_CAPTURE_MODE_RELAXED
    check(cu.cuStreamBeginCapture(stream, relaxed), "cuStreamBeginCapture")
    rc = device.lib.ph_collective_run(
        device.native_ptr, ctypes.addressof(rec), send, recv, int(stream)
    )
    graph = check(cu.cuStreamEndCapture(stream), "cuStreamEndCapture")
    if rc:
        cu.cuGraphDestroy(graph)
        raise launch_error(rc, "capturing a collective into a CUDA graph")
    return graph


class Watchdog:
    """Follows the submissions that hold collectives (one thread per process, started at
    the first): revokes a channel whose NCCL reports an error, or whose submission is
    still running past the channel's timeout (see the module docstring)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._inflight: dict[tuple[int, int], tuple[float, tuple[NcclChannel, ...]]] = {}
        self._thread: threading.Thread | None = None

    def track(self, device: CudaDevice, token: int, channels: tuple[NcclChannel, ...]) -> None:
        deadline = time.monotonic() + min(ch.timeout for ch in channels)
        with self._lock:
            self._inflight[(id(device), token)] = (deadline, channels)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="polyhal-nccl-watchdog", daemon=True
                )
                self._thread.start()
        self._wake.set()

    def untrack(self, device: CudaDevice, token: int) -> None:
        with self._lock:
            self._inflight.pop((id(device), token), None)

    def _run(self) -> None:
        while True:
            with self._lock:
                inflight = list(self._inflight.values())
            if not inflight:
                self._wake.wait()
                self._wake.clear()
                continue
            time.sleep(WATCH_PERIOD)
            now = time.monotonic()
            for deadline, channels in inflight:
                for ch in channels:
                    if ch.comm is None:
                        continue
                    code = ch.async_error()
                    if code not in (0, _IN_PROGRESS):
                        ch.revoke(nccl_error(code, f"a collective on {ch.what}"))
                    elif now > deadline:
                        ch.revoke(
                            DeadlineExceededError(
                                f"a collective on {ch.what} did not complete within "
                                f"{ch.timeout:g} s (a peer failed, left, or never issued it); "
                                "the channel is revoked"
                            )
                        )


WATCHDOG = Watchdog()


def channels_of(records: list[tuple[CollectiveRecord, NcclChannel]]) -> tuple[NcclChannel, ...]:
    """The distinct channels of a command buffer's collectives, in order."""
    seen: dict[int, NcclChannel] = {}
    for _, ch in records:
        seen.setdefault(id(ch), ch)
    return tuple(seen.values())


__all__ = [
    "WATCHDOG",
    "CollectiveRecord",
    "NcclChannel",
    "available",
    "capture",
    "create",
    "launch_error",
    "nccl",
    "record",
]
