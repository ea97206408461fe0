"""One rank of the collective conformance run (started by test_mpi.py under mpiexec).

Every rank runs the same cases on its own device and channel and prints one line,
``RESULT {json}``: its rank, the channel's count, how many checks passed and what failed.
Inputs are made from a seed of (case, rank), so each rank knows every rank's inputs and
checks what it received against a numpy model of the operation (written here, apart from
the engine's code).  Usage: ``python rank_cases.py DRIVER``.
"""

from __future__ import annotations

import json
import sys
import time
import traceback
import zlib

import numpy as np

import polyhal as hal
from polyhal.collective import send_recv_param

K, R, T = hal.CollectiveKind, hal.CollectiveReduction, hal.CollectiveElementType
INTS = {
    T.SINT8: np.int8,
    T.UINT8: np.uint8,
    T.SINT16: np.int16,
    T.UINT16: np.uint16,
    T.SINT32: np.int32,
    T.UINT32: np.uint32,
    T.SINT64: np.int64,
    T.UINT64: np.uint64,
}
#: Float types: (storage dtype, bits of precision of a result)
FLOATS = {
    T.FLOAT16: (np.float16, 11),
    T.BFLOAT16: (np.uint16, 8),
    T.FLOAT32: (np.float32, 24),
    T.FLOAT64: (np.float64, 53),
}
SIZE = {
    **{t: np.dtype(d).itemsize for t, d in INTS.items()},
    **{t: np.dtype(d).itemsize for t, (d, _) in FLOATS.items()},
}
REDUCTIONS = [R.SUM, R.PRODUCT, R.MINIMUM, R.MAXIMUM, R.AVERAGE]
FAIL_KERNEL = r"""
#include "polyhal.h"
POLYHAL_ENTRY(fail) { return 7; }
"""


def inputs(case: str, rank: int, etype: int, n: int) -> tuple[bytes, np.ndarray]:
    """(the bytes rank ``rank`` sends in ``case``, their values: ints in their type, floats
    as float64)."""
    rng = np.random.default_rng([zlib.crc32(case.encode()), rank, int(etype)])
    if etype in INTS:
        info = np.iinfo(INTS[etype])
        values = rng.integers(int(info.min), int(info.max), n, dtype=INTS[etype], endpoint=True)
        return values.tobytes(), values
    x = rng.uniform(-2.0, 2.0, n)
    if etype == T.BFLOAT16:  # values bfloat16 holds exactly: float32 with 16 low bits clear
        bits = x.astype(np.float32).view(np.uint32) & np.uint32(0xFFFF0000)
        return (bits >> 16).astype(np.uint16).tobytes(), bits.view(np.float32).astype(np.float64)
    stored = x.astype(FLOATS[etype][0])
    return stored.tobytes(), stored.astype(np.float64)


def decode(raw: bytes, etype: int) -> np.ndarray:
    if etype in INTS:
        return np.frombuffer(raw, INTS[etype])
    if etype == T.BFLOAT16:
        bits = np.frombuffer(raw, np.uint16).astype(np.uint32) << 16
        return bits.view(np.float32).astype(np.float64)
    return np.frombuffer(raw, FLOATS[etype][0]).astype(np.float64)


def model_reduce(values: list[np.ndarray], reduction: int, etype: int) -> np.ndarray:
    stack = np.stack(values)
    if etype in INTS:
        dt = INTS[etype]
        if reduction in (R.SUM, R.AVERAGE):
            total = np.add.reduce(stack, axis=0, dtype=dt)
        elif reduction == R.PRODUCT:
            total = np.multiply.reduce(stack, axis=0, dtype=dt)
        elif reduction == R.MINIMUM:
            return stack.min(axis=0)
        else:
            return stack.max(axis=0)
        if reduction == R.AVERAGE:  # integer division rounding toward zero, exactly
            count = len(values)
            quotients = [abs(v) // count * (1 if v >= 0 else -1) for v in total.tolist()]
            return np.array(quotients, dtype=dt)
        return total
    ops = {R.SUM: np.sum, R.PRODUCT: np.prod, R.MINIMUM: np.min, R.MAXIMUM: np.max}
    if reduction == R.AVERAGE:
        return stack.sum(axis=0) / len(values)
    return ops[reduction](stack, axis=0)


def close_enough(
    got: np.ndarray, want: np.ndarray, scale: np.ndarray, etype: int, count: int
) -> bool:
    if etype in INTS:
        return np.array_equal(got, want)
    bits = FLOATS[etype][1]
    # The result rounds once to its own precision; the sum of `count` operands may be
    # accumulated in another order (float32 at least) than the model's.
    accumulate = 2.0 ** -(24 if bits < 53 else 53)
    tol = 2.0**-bits * np.abs(want) + 2 * count * accumulate * scale
    return bool(np.all(np.abs(got - want) <= tol))


class Run:
    """The cases of one rank: on ``device`` and ``channel``, or a new device of ``driver``
    and the launcher's channel."""

    def __init__(
        self, driver: str, device: hal.Device | None = None, channel: hal.Channel | None = None
    ):
        self.device = device or hal.create_device(driver)
        self.channel = channel or self.device.create_channel(timeout=60)
        self.rank, self.count = self.channel.rank, self.channel.count
        self.passed = 0
        self.failures: list[str] = []

    def check(self, name: str, ok: bool, detail: str = "") -> None:
        if ok:
            self.passed += 1
        else:
            self.failures.append(f"{name}: {detail}")

    def submit(self, cb: hal.CommandBuffer, timeout: float = 120) -> hal.HalError | None:
        sem = self.device.create_semaphore()
        self.device.queue_execute(cb, signal=[(sem, 1)])
        try:
            sem.wait(1, timeout=timeout)
        except hal.HalError as e:
            return e
        return None

    def buffer(self, data: bytes) -> hal.Buffer:
        return (
            self.device.buffer_from(np.frombuffer(data, np.uint8))
            if data
            else (self.device.allocate_buffer(0))
        )

    # -- every kind x reduction x element type against the model -------------------------
    def kinds(self) -> None:
        plans = [(K.ALL_GATHER, R.NONE), (K.ALL_TO_ALL, R.NONE), (K.BROADCAST, R.NONE)]
        plans += [(k, r) for k in (K.ALL_REDUCE, K.REDUCE, K.REDUCE_SCATTER) for r in REDUCTIONS]
        types = [*INTS, *FLOATS]
        for kind, reduction in plans:
            # One command buffer per (kind, reduction): the send data arrives by update
            # before each collective and the result leaves by copy after it, so the
            # queue order around collectives is checked too.
            cb = self.device.create_command_buffer()
            checks = []
            cb.begin()
            for etype in types:
                case = f"{kind.name}/{reduction.name}/{etype.name}"
                n = 3 * self.count  # a multiple of count: all_to_all splits it
                root = (self.count - 1) if kind == K.BROADCAST else 1 % self.count
                send_n = n * self.count if kind == K.REDUCE_SCATTER else n
                recv_n = n * self.count if kind == K.ALL_GATHER else n
                mine, _ = inputs(case, self.rank, etype, send_n)
                send = self.device.allocate_buffer(len(mine))
                recv = self.device.buffer_from(np.full(recv_n * SIZE[etype], 0xA5, np.uint8))
                out = self.device.allocate_buffer(recv_n * SIZE[etype])
                cb.update_buffer(mine, 0, send, 0, len(mine))
                cb.execution_barrier()
                op = hal.CollectiveOp(kind, reduction, etype)
                cb.collective(
                    self.channel,
                    op,
                    root if kind in (K.BROADCAST, K.REDUCE) else 0,
                    send,
                    recv,
                    n if kind != K.REDUCE_SCATTER else n,
                )
                cb.execution_barrier()
                cb.copy_buffer(recv, 0, out, 0, recv_n * SIZE[etype])
                checks.append((case, kind, reduction, etype, n, root, out))
            cb.end()
            error = self.submit(cb)
            if error is not None:
                self.check(f"{kind.name}/{reduction.name}", False, repr(error))
                continue
            for case, kind_, reduction_, etype, n, root, out in checks:
                self.verify(case, kind_, reduction_, etype, n, root, out.read())

    def verify(
        self, case: str, kind: int, reduction: int, etype: int, n: int, root: int, got_raw: bytes
    ) -> None:
        count, rank = self.count, self.rank
        send_n = n * count if kind == K.REDUCE_SCATTER else n
        values = [inputs(case, r, etype, send_n)[1] for r in range(count)]
        raws = [inputs(case, r, etype, send_n)[0] for r in range(count)]
        got = decode(got_raw, etype)
        if kind == K.ALL_GATHER:
            self.check(case, got_raw == b"".join(raws), "gathered bytes differ")
            return
        if kind == K.ALL_TO_ALL:
            block = n // count * SIZE[etype]
            want = b"".join(raws[j][rank * block : (rank + 1) * block] for j in range(count))
            self.check(case, got_raw == want, "all_to_all bytes differ")
            return
        if kind == K.BROADCAST:
            self.check(case, got_raw == raws[root], "broadcast bytes differ")
            return
        if kind == K.REDUCE and rank != root:  # only the root's recv is written
            self.check(case, got_raw == b"\xa5" * len(got_raw), "a non-root recv was written")
            return
        want = model_reduce(values, reduction, etype)
        scale = np.sum(np.abs(np.stack(values)), axis=0) if etype not in INTS else None
        if kind == K.REDUCE_SCATTER:
            want = want[rank * n : (rank + 1) * n]
            scale = scale[rank * n : (rank + 1) * n] if scale is not None else None
        ok = close_enough(got, want, scale, etype, count)
        self.check(case, ok, f"got {got[:4]} want {want[:4]}")

    # -- point to point --------------------------------------------------------------------
    def point_to_point(self) -> None:
        rank, count = self.rank, self.count
        partner = rank ^ 1
        data = {r: inputs("p2p", r, T.FLOAT64, 37)[0] for r in range(count)}  # any bits
        if partner < count:
            send = self.buffer(data[rank])
            recv = self.device.allocate_buffer(len(data[rank]))
            cb = self.device.create_command_buffer()
            op_send = hal.CollectiveOp(K.SEND, element_type=T.FLOAT64)
            op_recv = hal.CollectiveOp(K.RECV, element_type=T.FLOAT64)
            with cb:  # even ranks send first, odd ranks receive first: no cycle
                if rank % 2 == 0:
                    cb.collective(self.channel, op_send, partner, send, None, 37)
                    cb.collective(self.channel, op_recv, partner, None, recv, 37)
                else:
                    cb.collective(self.channel, op_recv, partner, None, recv, 37)
                    cb.collective(self.channel, op_send, partner, send, None, 37)
            error = self.submit(cb)
            self.check(
                "send/recv",
                error is None and recv.read() == data[partner],
                repr(error) if error else "bytes differ",
            )
        # A ring of send_recv (every rank sends right, receives from the left) ...
        op = hal.CollectiveOp(K.SEND_RECV, element_type=T.UINT8)
        send = self.buffer(data[rank])
        recv = self.device.allocate_buffer(len(data[rank]))
        param = send_recv_param((rank + 1) % count, (rank - 1) % count)
        # ... and a chain whose ends have no peer (the first rank receives zeros).
        chain = self.device.buffer_from(np.full(len(data[rank]), 0x77, np.uint8))
        chain_param = send_recv_param(
            rank + 1 if rank + 1 < count else -1, rank - 1 if rank > 0 else -1
        )
        cb = self.device.create_command_buffer()
        with cb:
            cb.collective(self.channel, op, param, send, recv, len(data[rank]))
            cb.collective(self.channel, op, chain_param, send, chain, len(data[rank]))
        error = self.submit(cb)
        self.check(
            "send_recv ring",
            error is None and recv.read() == data[(rank - 1) % count],
            repr(error) if error else "bytes differ",
        )
        want = bytes(len(data[rank])) if rank == 0 else data[rank - 1]
        self.check(
            "send_recv chain",
            error is None and chain.read() == want,
            repr(error) if error else "bytes differ",
        )

    # -- validation: checked when recorded or submitted, on every rank alike ---------------
    def validation(self) -> None:
        op = hal.CollectiveOp(K.ALL_REDUCE, R.SUM, T.FLOAT32)
        small = self.device.allocate_buffer(16)
        cb = self.device.create_command_buffer(
            mode=hal.CommandBufferMode.DEFAULT, binding_capacity=2
        )
        cb.begin()
        try:
            cb.collective(self.channel, op, 0, small, small, 5)  # 20 bytes > 16
            self.check("element_count past the range", False, "no error")
        except hal.OutOfRangeError:
            self.passed += 1
        other = hal.create_device(self.device.driver)
        try:
            cb.collective(other.create_channel(0, 1), op, 0, small, small, 4)
            self.check("channel of another device", False, "no error")
        except hal.InvalidArgumentError:
            self.passed += 1
        other.close()
        cb.collective(self.channel, op, 0, hal.Slot(0), hal.Slot(1), 4)
        cb.end()
        sem = self.device.create_semaphore()
        try:  # a slot too short is found at submit, before any rank's collective runs
            self.device.queue_execute(cb, signal=[(sem, 1)], binding_table=[small, (small, 0, 8)])
            self.check("slot past the range", False, "no error")
        except hal.OutOfRangeError:
            self.passed += 1

    # -- a rank that fails, a rank that never comes ----------------------------------------
    def failing_rank(self) -> None:
        if self.count < 2:
            return
        rank = self.rank
        layout = hal.PipelineLayout([hal.DescriptorSetLayout([])])
        exe = self.device.create_executable(
            hal.ExecutableSource([hal.EntryPoint("fail", layout)], {"c": FAIL_KERNEL})
        )
        op = hal.CollectiveOp(K.ALL_REDUCE, R.SUM, T.SINT32)
        buf = self.device.buffer_from(np.full(4, rank + 1, np.int32))
        cb = self.device.create_command_buffer()
        with cb:
            if rank == 1:  # its kernel fails before the collective
                cb.dispatch(exe, "fail", 1)
                cb.execution_barrier()
            cb.collective(self.channel, op, 0, buf, buf, 4)
        start = time.monotonic()
        error = self.submit(cb)
        took = time.monotonic() - start
        want = hal.InternalError if rank == 1 else hal.AbortedError
        self.check(
            "a failing rank fails every rank",
            isinstance(error, want) and took < 30,
            f"{error!r} after {took:.1f}s",
        )
        # The channel carries on: every rank stayed at the same operation.
        cb = self.device.create_command_buffer()
        with cb:
            cb.collective(self.channel, op, 0, buf, buf, 4)
        error = self.submit(cb)
        self.check("the channel works after a failure", error is None, repr(error))

        # A rank that never comes: the others fail within the channel's timeout.
        short = self.device.create_channel(timeout=1.5)
        if rank != 1:
            cb = self.device.create_command_buffer()
            with cb:
                cb.collective(short, op, 0, buf, buf, 4)
            start = time.monotonic()
            error = self.submit(cb)
            took = time.monotonic() - start
            self.check(
                "a rank that never comes",
                isinstance(error, hal.DeadlineExceededError) and took < 20,
                f"{error!r} after {took:.1f}s",
            )
            cb = self.device.create_command_buffer()
            with cb:
                cb.collective(short, op, 0, buf, buf, 4)
            error = self.submit(cb)
            self.check(
                "a broken channel refuses", isinstance(error, hal.UnavailableError), repr(error)
            )

    def empty(self) -> None:
        empty = self.device.allocate_buffer(0)
        cb = self.device.create_command_buffer()
        with cb:
            for op in (
                hal.CollectiveOp(K.ALL_REDUCE, R.SUM, T.SINT8),
                hal.CollectiveOp(K.ALL_GATHER),
                hal.CollectiveOp(K.ALL_TO_ALL),
                hal.CollectiveOp(K.REDUCE_SCATTER, R.AVERAGE, T.FLOAT16),
            ):
                cb.collective(self.channel, op, 0, empty, empty, 0)
        error = self.submit(cb)
        self.check("empty collectives", error is None, repr(error))

    def split(self) -> None:
        rank, count = self.rank, self.count
        # Even and odd ranks form two channels, ordered by descending rank.
        sub = self.channel.split(rank % 2, -rank)
        members = sorted((r for r in range(count) if r % 2 == rank % 2), reverse=True)
        self.check(
            "split rank/count",
            (sub.rank, sub.count) == (members.index(rank), len(members)),
            f"{sub.rank}/{sub.count}",
        )
        buf = self.device.buffer_from(np.array([rank], np.int64))
        out = self.device.allocate_buffer(8 * sub.count)
        cb = self.device.create_command_buffer()
        with cb:
            cb.collective(
                sub, hal.CollectiveOp(K.ALL_GATHER, element_type=T.SINT64), 0, buf, out, 1
            )
        error = self.submit(cb)
        self.check(
            "split all_gather",
            error is None and out.to_numpy("int64").tolist() == members,
            repr(error) if error else str(out.to_numpy("int64")),
        )
        none = self.channel.split(None if rank == 0 else 0, rank)
        self.check("split without color", (none is None) == (rank == 0), repr(none))


def main() -> None:
    driver = sys.argv[1] if len(sys.argv) > 1 else "local"
    run = Run(driver)
    for part in (
        run.kinds,
        run.point_to_point,
        run.empty,
        run.validation,
        run.split,
        run.failing_rank,
    ):
        try:
            part()
        except Exception:
            run.failures.append(f"{part.__name__}: {traceback.format_exc()}")
    print(
        "RESULT "
        + json.dumps(
            {"rank": run.rank, "count": run.count, "passed": run.passed, "failures": run.failures}
        ),
        flush=True,
    )


if __name__ == "__main__":
    main()
