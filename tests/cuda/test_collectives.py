"""Collectives on the cuda driver: NCCL across two GPUs (CONFORMANCE.md, "Collectives").

Two devices of one process (cuda:0 and cuda:1, one channel each, one id) run every kind x
every reduction it takes x every element type against a numpy model of the operation;
send/recv pairs deliver exact bytes; reusable command buffers run the collective captured
in their CUDA graph, and with binding-table slots as a launch program; bounds are checked
when recorded (and at submit for slots); a channel of another device is refused; splits.
Two processes (one GPU each) check the failures: a rank whose submission fails, or that
exits, makes the other rank's submission fail with a typed error within the channel's
timeout, and nothing hangs.

Skips, with the reason, without two CUDA devices or without nccl4py.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest

import polyhal as hal
from polyhal import drivers
from polyhal.collective import send_recv_param
from polyhal.errors import (
    FailedPreconditionError,
    HalError,
    InvalidArgumentError,
    OutOfRangeError,
    UnimplementedError,
)

K, R, T = hal.CollectiveKind, hal.CollectiveReduction, hal.CollectiveElementType
COUNT, REASON = drivers.probe("cuda")
HAS_NCCL = importlib.util.find_spec("nccl") is not None
pytestmark = [
    pytest.mark.skipif(COUNT < 2, reason=f"needs two CUDA devices, found {COUNT} {REASON}"),
    pytest.mark.skipif(not HAS_NCCL, reason="needs nccl4py (NCCL's Python binding)"),
]
os.environ.setdefault("NCCL_NVLS_ENABLE", "0")  # NVLink multicast stays off, always

N = 64  # elements per rank
RANKS = 2
REDUCTIONS = (R.SUM, R.PRODUCT, R.MINIMUM, R.MAXIMUM, R.AVERAGE)
#: numpy dtype of each element type; bfloat16 is computed in float32 and stored as the
#: top half of its float32 bits (the values are small integers, so exactly).
DTYPES = {
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
    T.BFLOAT16: np.float32,
}
NCCL_REDUCES = [t for t in T if t not in (T.SINT16, T.UINT16)]


def to_bytes(values: np.ndarray, element: T) -> bytes:
    if element == T.BFLOAT16:
        return (values.astype(np.float32).view(np.uint32) >> 16).astype(np.uint16).tobytes()
    return values.astype(DTYPES[element]).tobytes()


def from_bytes(data: bytes, element: T) -> np.ndarray:
    if element == T.BFLOAT16:
        bits = np.frombuffer(data, np.uint16).astype(np.uint32) << 16
        return bits.view(np.float32)
    return np.frombuffer(data, DTYPES[element])


def inputs(element: T, reduction: R, count: int, seed: int) -> list[np.ndarray]:
    """Small integers (exact in every type, no overflow): products stay within int8."""
    rng = np.random.default_rng(seed)
    signed = element in (T.SINT8, T.SINT16, T.SINT32, T.SINT64) or DTYPES[element] in (
        np.float16,
        np.float32,
        np.float64,
    )
    low, high = (-3, 4) if reduction == R.PRODUCT else (-40, 41)
    if not signed:
        low = 0
    return [rng.integers(low, high, count).astype(DTYPES[element]) for _ in range(RANKS)]


def reduce(values: list[np.ndarray], reduction: R, element: T) -> np.ndarray:
    dtype = DTYPES[element]
    stack = np.stack(values)
    if reduction == R.SUM:
        return stack.sum(0, dtype=dtype)
    if reduction == R.PRODUCT:
        return stack.prod(0, dtype=dtype)
    if reduction == R.MINIMUM:
        return stack.min(0)
    if reduction == R.MAXIMUM:
        return stack.max(0)
    total = stack.sum(0, dtype=dtype)
    if np.issubdtype(dtype, np.integer):  # NCCL's average of integers rounds toward zero
        wide = total.astype(np.int64)
        return (np.sign(wide) * (np.abs(wide) // RANKS)).astype(dtype)
    return (total.astype(np.float64) / RANKS).astype(dtype)


@pytest.fixture(scope="module")
def pair():
    devices = [hal.create_device(f"cuda:{i}") for i in range(RANKS)]
    token = hal.Channel.unique_id(devices[0])
    channels = [d.create_channel(r, RANKS, id=token, timeout=60) for r, d in enumerate(devices)]
    yield devices, channels
    for ch in channels:
        ch.close()
    for d in devices:
        d.close()


def run(pair, op, params, sends, recv_bytes, count, *, mode=hal.CommandBufferMode.ONE_SHOT):
    """Records and runs one collective on every rank; returns each rank's recv bytes (the
    recv buffers start as 0xAB bytes)."""
    devices, channels = pair
    recvs, sems = [], []
    for rank, (device, channel) in enumerate(zip(devices, channels, strict=True)):
        send = device.buffer_from(sends[rank]) if sends[rank] is not None else None
        recv = device.buffer_from(b"\xab" * recv_bytes) if recv_bytes else None
        cb = device.create_command_buffer(mode)
        with cb:
            cb.collective(channel, op, params[rank], send, recv, count)
        sem = device.create_semaphore(0)
        device.queue_execute(cb, signal=[(sem, 1)])
        recvs.append(recv)
        sems.append(sem)
    for sem in sems:
        sem.wait(1, timeout=60)
    return [r.read() if r is not None else None for r in recvs]


@pytest.mark.parametrize("element", list(T), ids=lambda t: t.name.lower())
def test_data_movement_kinds_match_the_model(pair, element):
    values = inputs(element, R.SUM, N, int(element))
    data = [to_bytes(v, element) for v in values]
    n = len(data[0])
    # all_gather: every rank receives every rank's block, in rank order
    got = run(pair, hal.CollectiveOp(K.ALL_GATHER, element_type=element), [0, 0], data, n * 2, N)
    assert got == [data[0] + data[1]] * 2
    # all_to_all: block k of rank r's send lands at block r of rank k's recv
    half = n // 2
    got = run(pair, hal.CollectiveOp(K.ALL_TO_ALL, element_type=element), [0, 0], data, n, N)
    assert got[0] == data[0][:half] + data[1][:half]
    assert got[1] == data[0][half:] + data[1][half:]
    for root in range(RANKS):
        op = hal.CollectiveOp(K.BROADCAST, element_type=element)
        got = run(pair, op, [root, root], data, n, N)
        assert got == [data[root]] * 2
    # send_recv around the ring, and with no peer to receive from: zeros
    ring = [send_recv_param(1, 1), send_recv_param(0, 0)]
    got = run(pair, hal.CollectiveOp(K.SEND_RECV, element_type=element), ring, data, n, N)
    assert got == [data[1], data[0]]
    one_way = [send_recv_param(1, -1), send_recv_param(-1, 0)]
    got = run(pair, hal.CollectiveOp(K.SEND_RECV, element_type=element), one_way, data, n, N)
    assert got == [b"\0" * n, data[0]]


@pytest.mark.parametrize("element", NCCL_REDUCES, ids=lambda t: t.name.lower())
@pytest.mark.parametrize("reduction", REDUCTIONS, ids=lambda r: r.name.lower())
def test_reducing_kinds_match_the_model(pair, element, reduction):
    values = inputs(element, reduction, N, 7 * int(element) + int(reduction))
    expect = reduce(values, reduction, element)
    data = [to_bytes(v, element) for v in values]
    n = len(data[0])
    op = hal.CollectiveOp(K.ALL_REDUCE, reduction, element)
    got = run(pair, op, [0, 0], data, n, N)
    for rank in range(RANKS):
        np.testing.assert_array_equal(from_bytes(got[rank], element), expect, err_msg=f"{rank}")
    for root in range(RANKS):
        got = run(pair, hal.CollectiveOp(K.REDUCE, reduction, element), [root] * 2, data, n, N)
        np.testing.assert_array_equal(from_bytes(got[root], element), expect)
    # reduce_scatter: rank r receives block r of the reduction of the whole sends
    half = N // RANKS
    op = hal.CollectiveOp(K.REDUCE_SCATTER, reduction, element)
    got = run(pair, op, [0, 0], data, n // RANKS, half)
    for rank in range(RANKS):
        block = expect[rank * half : (rank + 1) * half]
        np.testing.assert_array_equal(from_bytes(got[rank], element), block)


@pytest.mark.parametrize("element", [T.SINT16, T.UINT16], ids=lambda t: t.name.lower())
@pytest.mark.parametrize("kind", [K.ALL_REDUCE, K.REDUCE, K.REDUCE_SCATTER])
def test_16_bit_integer_reductions_are_unimplemented_by_name(pair, element, kind):
    devices, channels = pair
    device = devices[0]
    buf = device.allocate_buffer(N * 2 * RANKS)
    cb = device.create_command_buffer(hal.CommandBufferMode.ONE_SHOT)
    count = N if kind != K.REDUCE_SCATTER else N // RANKS
    with pytest.raises(UnimplementedError, match=element.name.lower()):
        with cb:
            cb.collective(channels[0], hal.CollectiveOp(kind, R.SUM, element), 0, buf, buf, count)


def test_send_and_recv_deliver_exact_bytes(pair):
    devices, channels = pair
    payload = bytes(range(256)) * 64 + b"\x01\x02\x03"  # odd length: bytes, not words
    for sender in range(RANKS):
        receiver = 1 - sender
        sends = [None, None]
        sends[sender] = payload
        ops = [None, None]
        ops[sender] = hal.CollectiveOp(K.SEND, element_type=T.UINT8)
        ops[receiver] = hal.CollectiveOp(K.RECV, element_type=T.UINT8)
        sems, recv = [], None
        for rank in range(RANKS):
            device, cb = devices[rank], devices[rank].create_command_buffer()
            with cb:
                if rank == sender:
                    send = device.buffer_from(payload)
                    cb.collective(channels[rank], ops[rank], receiver, send, None, len(payload))
                else:
                    recv = device.buffer_from(b"\xee" * (len(payload) + 16))
                    target = (recv, 8, len(payload))
                    cb.collective(channels[rank], ops[rank], sender, None, target, len(payload))
            sem = device.create_semaphore(0)
            device.queue_execute(cb, signal=[(sem, 1)])
            sems.append(sem)
        for sem in sems:
            sem.wait(1, timeout=60)
        got = recv.read()
        assert got[8:-8] == payload and got[:8] == got[-8:] == b"\xee" * 8


def test_reusable_command_buffers_run_the_captured_graph_again(pair):
    devices, channels = pair
    op = hal.CollectiveOp(K.ALL_REDUCE, R.SUM, T.FLOAT32)
    sends = [d.buffer_from(np.full(N, r + 1, np.float32)) for r, d in enumerate(devices)]
    recvs = [d.allocate_buffer(N * 4) for d in devices]
    cbs = []
    for rank, device in enumerate(devices):
        # reusable: a CUDA graph holding NCCL's nodes
        cb = device.create_command_buffer(hal.CommandBufferMode.DEFAULT)
        with cb:
            cb.fill_buffer(recvs[rank], 0, N * 4, 0)
            cb.execution_barrier()
            cb.collective(channels[rank], op, 0, sends[rank], recvs[rank], N)
        cbs.append(cb)
    for step in range(1, 4):
        for rank in range(RANKS):
            sends[rank].write(np.full(N, (rank + 1) * step, np.float32).tobytes())
        sems = [d.create_semaphore(0) for d in devices]
        for device, cb, sem in zip(devices, cbs, sems, strict=True):
            device.queue_execute(cb, signal=[(sem, 1)])
        for sem in sems:
            sem.wait(1, timeout=60)
        for recv in recvs:
            assert (recv.to_numpy("float32") == 3 * step).all()


def test_slot_bound_collectives_run_with_each_table(pair):
    devices, channels = pair
    op = hal.CollectiveOp(K.ALL_GATHER, element_type=T.UINT32)
    cbs = []
    for rank, device in enumerate(devices):
        cb = device.create_command_buffer(hal.CommandBufferMode.DEFAULT, binding_capacity=2)
        with cb:
            cb.collective(channels[rank], op, 0, hal.Slot(0), hal.Slot(1), N)
        cbs.append(cb)
    for step in range(2):
        tables, recvs = [], []
        for rank, device in enumerate(devices):
            send = device.buffer_from(np.full(N, 10 * step + rank, np.uint32))
            recv = device.allocate_buffer(N * 4 * RANKS)
            tables.append([send, recv])
            recvs.append(recv)
        sems = [d.create_semaphore(0) for d in devices]
        for device, cb, sem, table in zip(devices, cbs, sems, tables, strict=True):
            device.queue_execute(cb, signal=[(sem, 1)], binding_table=table)
        for sem in sems:
            sem.wait(1, timeout=60)
        expect = np.concatenate([np.full(N, 10 * step + r, np.uint32) for r in range(RANKS)])
        for recv in recvs:
            np.testing.assert_array_equal(recv.to_numpy("uint32"), expect)


def test_bounds_and_foreign_channels_are_refused(pair):
    devices, channels = pair
    device = devices[0]
    small = device.allocate_buffer(N * 4)
    op = hal.CollectiveOp(K.ALL_REDUCE, R.SUM, T.FLOAT32)
    cb = device.create_command_buffer()
    cb.begin()
    with pytest.raises(OutOfRangeError):
        cb.collective(channels[0], op, 0, small, small, N + 1)
    with pytest.raises(OutOfRangeError):  # all_gather receives count x the send
        cb.collective(channels[0], hal.CollectiveOp(K.ALL_GATHER), 0, small, small, N)
    with pytest.raises(InvalidArgumentError):
        cb.collective(channels[1], op, 0, small, small, N)
    cb.end()
    # slots: checked against the table at submit
    cb = device.create_command_buffer(binding_capacity=2)
    with cb:
        cb.collective(channels[0], op, 0, hal.Slot(0), hal.Slot(1), N)
    with pytest.raises(OutOfRangeError):
        device.queue_execute(cb, binding_table=[small, device.allocate_buffer(8)])


def test_split_reorders_and_leaves_out_ranks(pair):
    devices, channels = pair
    made: list = [None, None]
    errors: list = []

    def split(rank, color, key):
        try:
            made[rank] = channels[rank].split(color, key)
        except BaseException as e:  # reported below
            errors.append(e)

    # Splits are collective over the parent: each rank's on its own thread.
    threads = [threading.Thread(target=split, args=(r, 0, RANKS - r)) for r in range(RANKS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(90)
    assert not errors, errors
    assert [c.rank for c in made] == [1, 0] and all(c.count == 2 for c in made)
    got = run(
        (devices, made),
        hal.CollectiveOp(K.ALL_GATHER, element_type=T.UINT8),
        [0, 0],
        [b"\x00" * 4, b"\x01" * 4],
        8,
        4,
    )
    assert got == [b"\x01" * 4 + b"\x00" * 4] * 2  # the new rank order
    for c in made:
        c.close()
    threads = [
        threading.Thread(target=split, args=(r, 5 if r == 0 else None, 0)) for r in range(RANKS)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(90)
    assert not errors, errors
    assert made[1] is None and (made[0].rank, made[0].count) == (0, 1)
    made[0].close()
    cb = devices[0].create_command_buffer()
    cb.begin()
    with pytest.raises(FailedPreconditionError):
        cb.collective(made[0], hal.CollectiveOp(K.ALL_GATHER), 0, None, None, 0)
    cb.end()


WORKER = textwrap.dedent(
    """
    import json, os, sys, time
    import numpy as np
    import polyhal as hal
    from polyhal.errors import HalError

    rank, mode, path, timeout = int(sys.argv[1]), sys.argv[2], sys.argv[3], float(sys.argv[4])
    device = hal.create_device(f"cuda:{rank}")
    if rank == 0:
        token = hal.Channel.unique_id(device)
        with open(path + ".tmp", "wb") as f:
            f.write(token)
        os.rename(path + ".tmp", path)
    else:
        while not os.path.exists(path):
            time.sleep(0.01)
        token = open(path, "rb").read()
    channel = device.create_channel(rank, 2, id=token, timeout=timeout)
    op = hal.CollectiveOp(hal.CollectiveKind.ALL_REDUCE, hal.CollectiveReduction.SUM)
    send = device.buffer_from(np.full(1024, rank + 1, np.float32))
    recv = device.allocate_buffer(4096)
    cb = device.create_command_buffer(hal.CommandBufferMode.DEFAULT)
    with cb:
        cb.collective(channel, op, 0, send, recv, 1024)
    sem = device.create_semaphore(0)
    device.queue_execute(cb, signal=[(sem, 1)])
    sem.wait(1, timeout=60)
    first = float(recv.to_numpy("float32")[0])
    if rank == 1 and mode == "exit":
        os._exit(3)
    gate = device.create_semaphore(0)
    wait = [(gate, 1)] if rank == 1 else []
    device.queue_execute(cb, wait=wait, signal=[(sem, 2)])
    if rank == 1:
        gate.fail(message="rank 1 failed before its collective")
    start = time.monotonic()
    try:
        sem.wait(2, timeout=timeout + 60)
        outcome = "ok"
    except HalError as e:
        outcome = type(e).__name__
    print(json.dumps({"rank": rank, "first": first, "outcome": outcome,
                      "seconds": time.monotonic() - start}), flush=True)
    device.close()
    """
)


@pytest.mark.parametrize("mode", ["fail", "exit"])
def test_a_failing_rank_fails_every_rank_within_the_timeout(tmp_path, mode):
    timeout = 8.0  # also bounds the channel's init, which both processes start apart
    env = {**os.environ, "NCCL_NVLS_ENABLE": "0"}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, str(r), mode, str(tmp_path / "id"), str(timeout)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            text=True,
        )
        for r in range(RANKS)
    ]
    results = {}
    start = time.monotonic()
    for p in procs:
        try:
            out, err = p.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            for q in procs:
                q.kill()
            pytest.fail(f"a rank hung ({mode})")
        lines = [line for line in out.splitlines() if line.startswith("{")]
        if lines:
            got = json.loads(lines[-1])
            results[got["rank"]] = got
        elif not (mode == "exit" and p.returncode == 3):
            pytest.fail(f"rank exited {p.returncode} without a result:\n{err[-3000:]}")
    assert time.monotonic() - start < 120
    assert results[0]["first"] == 3.0  # the channel worked before the failure
    assert results[0]["outcome"] in ("DeadlineExceededError", "UnavailableError", "AbortedError")
    assert results[0]["seconds"] < timeout + 10
    if mode == "fail":
        assert results[1]["outcome"] == "AbortedError"  # its own wait's failure
    assert issubclass(getattr(hal.errors, results[0]["outcome"]), HalError)
