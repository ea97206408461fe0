"""Channels of one process (several local devices, one rank each) and the front end's
validation of create_channel and CommandBuffer.collective."""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import polyhal as hal
from polyhal.collective import send_recv_param

K, R, T = hal.CollectiveKind, hal.CollectiveReduction, hal.CollectiveElementType
SUM32 = hal.CollectiveOp(K.ALL_REDUCE, R.SUM, T.FLOAT32)


@pytest.fixture
def pair():
    """Two local devices, ranks 0 and 1 of one in-process channel."""
    devices = [hal.create_device("local") for _ in range(2)]
    token = hal.Channel.unique_id()
    channels = [d.create_channel(r, 2, id=token, timeout=10) for r, d in enumerate(devices)]
    yield devices, channels
    for d in devices:
        d.close()


def run_all(devices, record):
    """Records ``record(rank, device, cb)`` on each device, submits all, waits for all;
    returns each rank's error or None."""
    sems = []
    for rank, device in enumerate(devices):
        cb = device.create_command_buffer()
        with cb:
            record(rank, device, cb)
        sem = device.create_semaphore()
        device.queue_execute(cb, signal=[(sem, 1)])
        sems.append(sem)
    errors = []
    for sem in sems:
        try:
            sem.wait(1, timeout=30)
            errors.append(None)
        except hal.HalError as e:
            errors.append(e)
    return errors


def test_devices_of_one_process_share_a_channel(pair):
    devices, channels = pair
    data = [np.arange(6, dtype=np.float32) + 10 * r for r in range(2)]
    bufs = {}

    def record(rank, device, cb):
        send = device.buffer_from(data[rank])
        total, gathered, ring = (device.allocate_buffer(n) for n in (24, 48, 24))
        bufs[rank] = (total, gathered, ring)
        cb.collective(channels[rank], SUM32, 0, send, total, 6)
        cb.collective(
            channels[rank],
            hal.CollectiveOp(K.ALL_GATHER, element_type=T.FLOAT32),
            0,
            send,
            gathered,
            6,
        )
        peer = 1 - rank
        cb.collective(
            channels[rank],
            hal.CollectiveOp(K.SEND_RECV, element_type=T.FLOAT32),
            send_recv_param(peer, peer),
            send,
            ring,
            6,
        )

    assert run_all(devices, record) == [None, None]
    for rank in range(2):
        total, gathered, ring = bufs[rank]
        assert np.array_equal(total.to_numpy("float32"), data[0] + data[1])
        assert np.array_equal(gathered.to_numpy("float32"), np.concatenate(data))
        assert np.array_equal(ring.to_numpy("float32"), data[1 - rank])


def test_local_sync_devices_share_a_channel_from_two_threads():
    devices = [hal.create_device("local-sync") for _ in range(2)]
    token = hal.Channel.unique_id()
    channels = [d.create_channel(r, 2, id=token, timeout=10) for r, d in enumerate(devices)]
    out = [d.allocate_buffer(8) for d in devices]
    errors = []

    def rank_main(rank):
        device = devices[rank]
        send = device.buffer_from(np.array([rank + 1, 5], np.int32))
        cb = device.create_command_buffer()
        with cb:
            cb.collective(
                channels[rank],
                hal.CollectiveOp(K.ALL_REDUCE, R.PRODUCT, T.SINT32),
                0,
                send,
                out[rank],
                2,
            )
        sem = device.create_semaphore()
        device.queue_execute(cb, signal=[(sem, 1)])  # runs here, inline: waits for the peer
        try:
            sem.wait(1, timeout=30)
        except hal.HalError as e:
            errors.append(e)

    threads = [threading.Thread(target=rank_main, args=(r,)) for r in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert [o.to_numpy("int32").tolist() for o in out] == [[2, 25], [2, 25]]


def test_a_rank_that_never_comes_fails_the_others_in_time():
    devices = [hal.create_device("local") for _ in range(2)]
    token = hal.Channel.unique_id()
    channels = [d.create_channel(r, 2, id=token, timeout=2) for r, d in enumerate(devices)]
    buf = devices[0].allocate_buffer(4)
    cb = devices[0].create_command_buffer()
    with cb:
        cb.collective(channels[0], SUM32, 0, buf, buf, 1)
    sem = devices[0].create_semaphore()
    start = time.monotonic()
    devices[0].queue_execute(cb, signal=[(sem, 1)])  # returns at once: the runner waits
    assert time.monotonic() - start < 1.5
    with pytest.raises(hal.DeadlineExceededError, match="did not arrive"):
        sem.wait(1, timeout=20)
    assert time.monotonic() - start < 10
    # The late rank learns that its peer gave up; the rank that timed out is broken.
    late = devices[1].allocate_buffer(4)
    cb = devices[1].create_command_buffer()
    with cb:
        cb.collective(channels[1], SUM32, 0, late, late, 1)
    sem = devices[1].create_semaphore()
    devices[1].queue_execute(cb, signal=[(sem, 1)])
    with pytest.raises(hal.AbortedError, match="gave up"):
        sem.wait(1, timeout=20)
    cb = devices[0].create_command_buffer()
    with cb:
        cb.collective(channels[0], SUM32, 0, buf, buf, 1)
    sem = devices[0].create_semaphore()
    devices[0].queue_execute(cb, signal=[(sem, 1)])
    with pytest.raises(hal.UnavailableError, match="broken"):
        sem.wait(1, timeout=20)


def test_split_in_one_process():
    devices = [hal.create_device("local") for _ in range(3)]
    token = hal.Channel.unique_id()
    channels = [d.create_channel(r, 3, id=token, timeout=10) for r, d in enumerate(devices)]
    made = {}

    def split(rank):  # every rank calls split: each waits for the others
        made[rank] = channels[rank].split(None if rank == 1 else 0, -rank)

    threads = [threading.Thread(target=split, args=(r,)) for r in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert made[1] is None
    assert (made[0].rank, made[0].count) == (1, 2) and (made[2].rank, made[2].count) == (0, 2)
    assert made[0].device is devices[0]


def test_create_channel_checks_its_arguments():
    with hal.create_device("local") as device:
        token = hal.Channel.unique_id()
        assert isinstance(token, bytes) and len(token) >= 16
        assert hal.Channel.unique_id(device) != token
        with pytest.raises(hal.OutOfRangeError):
            device.create_channel(2, 2, id=token)
        with pytest.raises(hal.OutOfRangeError):
            device.create_channel(0, 0, id=token)
        with pytest.raises(hal.InvalidArgumentError):
            device.create_channel(0, None)
        with pytest.raises(hal.InvalidArgumentError, match="id="):
            device.create_channel(0, 2)
        for bad in (0, -1, float("nan"), float("inf"), "1"):
            with pytest.raises(hal.InvalidArgumentError):
                device.create_channel(0, 1, timeout=bad)
        with pytest.raises(hal.InvalidArgumentError):
            device.create_channel(0, 1, id="token")
        with pytest.raises(hal.InvalidArgumentError):
            device.create_channel(0, 1, colour=3)
        with pytest.raises(hal.InvalidArgumentError):
            device.create_channel(0, 1, transport="tcp")
        with pytest.raises(hal.InvalidArgumentError):  # not started by mpiexec
            device.create_channel(0, 2, id=token, transport="mpi")
        first = device.create_channel(0, 2, id=token)
        with pytest.raises(hal.AlreadyExistsError):
            device.create_channel(0, 2, id=token)
        with pytest.raises(hal.InvalidArgumentError):
            device.create_channel(1, 3, id=token)
        first.close()
        alone = device.create_channel()  # no launcher here: a channel of one rank
        assert (alone.rank, alone.count) == (0, 1)
    with pytest.raises(hal.FailedPreconditionError):
        device.create_channel(0, 1)


def _recording(device):
    cb = device.create_command_buffer(mode=hal.CommandBufferMode.DEFAULT, binding_capacity=2)
    cb.begin()
    return cb


@pytest.mark.parametrize(
    ("call", "error"),
    [
        # reductions: reducing kinds need one, the others take none
        (
            lambda cb, ch, b: cb.collective(ch, hal.CollectiveOp(K.ALL_REDUCE), 0, b, b, 1),
            hal.InvalidArgumentError,
        ),
        (
            lambda cb, ch, b: cb.collective(ch, hal.CollectiveOp(K.ALL_GATHER, R.SUM), 0, b, b, 1),
            hal.InvalidArgumentError,
        ),
        (lambda cb, ch, b: cb.collective(ch, "all_reduce", 0, b, b, 1), hal.InvalidArgumentError),
        # bindings required, and none where the kind takes none
        (lambda cb, ch, b: cb.collective(ch, SUM32, 0, None, b, 1), hal.InvalidArgumentError),
        (lambda cb, ch, b: cb.collective(ch, SUM32, 0, b, None, 1), hal.InvalidArgumentError),
        (
            lambda cb, ch, b: cb.collective(ch, hal.CollectiveOp(K.SEND), 1, b, b, 1),
            hal.InvalidArgumentError,
        ),
        (
            lambda cb, ch, b: cb.collective(ch, hal.CollectiveOp(K.RECV), 1, b, b, 1),
            hal.InvalidArgumentError,
        ),
        # roots and peers inside the channel
        (
            lambda cb, ch, b: cb.collective(ch, hal.CollectiveOp(K.BROADCAST), 2, b, b, 1),
            hal.OutOfRangeError,
        ),
        (
            lambda cb, ch, b: cb.collective(ch, hal.CollectiveOp(K.REDUCE, R.MAXIMUM), -1, b, b, 1),
            hal.OutOfRangeError,
        ),
        (
            lambda cb, ch, b: cb.collective(ch, hal.CollectiveOp(K.SEND), 5, b, None, 1),
            hal.OutOfRangeError,
        ),
        (
            lambda cb, ch, b: cb.collective(
                ch, hal.CollectiveOp(K.SEND_RECV), send_recv_param(0, 3), b, b, 1
            ),
            hal.OutOfRangeError,
        ),
        (
            lambda cb, ch, b: cb.collective(ch, hal.CollectiveOp(K.BROADCAST), "0", b, b, 1),
            hal.InvalidArgumentError,
        ),
        # element counts against each binding's range (16 bytes)
        (lambda cb, ch, b: cb.collective(ch, SUM32, 0, b, b, 5), hal.OutOfRangeError),
        (
            lambda cb, ch, b: cb.collective(ch, hal.CollectiveOp(K.ALL_GATHER), 0, b, b, 3),
            hal.OutOfRangeError,
        ),  # recv 24
        (
            lambda cb, ch, b: cb.collective(
                ch, hal.CollectiveOp(K.REDUCE_SCATTER, R.SUM), 0, b, b, 3
            ),
            hal.OutOfRangeError,
        ),
        (lambda cb, ch, b: cb.collective(ch, SUM32, 0, (b, 8, 8), b, 3), hal.OutOfRangeError),
        (
            lambda cb, ch, b: cb.collective(ch, SUM32, 0, hal.Binding(0, b, 4), b, 4),
            hal.OutOfRangeError,
        ),
        (lambda cb, ch, b: cb.collective(ch, SUM32, 0, b, b, -1), hal.OutOfRangeError),
        (
            lambda cb, ch, b: cb.collective(ch, hal.CollectiveOp(K.ALL_TO_ALL), 0, b, b, 3),
            hal.InvalidArgumentError,
        ),
        (
            lambda cb, ch, b: cb.collective(ch, SUM32, 0, hal.Slot(2), b, 1),
            hal.InvalidArgumentError,
        ),
        (lambda cb, ch, b: cb.collective(ch, SUM32, 0, (b, 0), b, 1), hal.InvalidArgumentError),
    ],
)
def test_collective_validation(pair, call, error):
    devices, channels = pair
    buf = devices[0].allocate_buffer(16)
    cb = _recording(devices[0])
    with pytest.raises(error):
        call(cb, channels[0], buf)
    # Nothing was recorded: the command buffer still ends empty.
    cb.end()
    assert cb.record_count == 0


def test_collective_checks_the_channel_and_slots_at_submit(pair):
    devices, channels = pair
    device = devices[0]
    buf = device.allocate_buffer(16)
    cb = _recording(device)
    with pytest.raises(hal.InvalidArgumentError, match="another device"):
        cb.collective(channels[1], SUM32, 0, buf, buf, 4)
    # Ranges of slots are only known at submit: 16 bytes needed, the entry has 8.
    cb.collective(channels[0], SUM32, 0, hal.Slot(0), hal.Slot(1), 4)
    cb.end()
    sem = device.create_semaphore()
    with pytest.raises(hal.OutOfRangeError):
        device.queue_execute(cb, signal=[(sem, 1)], binding_table=[buf, (buf, 0, 8)])
    assert sem.query() == 0
    channels[0].close()
    cb = _recording(device)
    with pytest.raises(hal.FailedPreconditionError):
        cb.collective(channels[0], SUM32, 0, buf, buf, 4)


def test_reusable_and_nested_command_buffers_with_slots(pair):
    devices, channels = pair
    outs, sems, inner_cbs = [], [], []
    for rank, device in enumerate(devices):
        inner = device.create_command_buffer(mode=hal.CommandBufferMode.DEFAULT, binding_capacity=2)
        with inner:
            inner.collective(channels[rank], SUM32, 0, hal.Slot(0), hal.Slot(1), 2)
        outer = device.create_command_buffer(mode=hal.CommandBufferMode.DEFAULT, binding_capacity=2)
        with outer:
            outer.execute_commands(inner)
        inner_cbs.append(outer)
        outs.append(device.allocate_buffer(8))
        sems.append(device.create_semaphore())
    for step in (1, 2):  # the same command buffers twice, each with new inputs
        for rank, device in enumerate(devices):
            x = device.buffer_from(np.array([rank, step], np.float32))
            device.queue_execute(
                inner_cbs[rank], signal=[(sems[rank], step)], binding_table=[x, outs[rank]]
            )
        for rank in range(2):
            sems[rank].wait(step, timeout=30)
            assert outs[rank].to_numpy("float32").tolist() == [1.0, 2.0 * step]


def test_empty_collectives(pair):
    devices, channels = pair
    ops = [
        SUM32,
        hal.CollectiveOp(K.ALL_GATHER),
        hal.CollectiveOp(K.ALL_TO_ALL),
        hal.CollectiveOp(K.REDUCE_SCATTER, R.AVERAGE, T.BFLOAT16),
    ]

    def record(rank, device, cb):
        empty = device.allocate_buffer(0)
        for op in ops:
            cb.collective(channels[rank], op, 0, empty, empty, 0)

    assert run_all(devices, record) == [None, None]


def test_every_kind_reduction_and_element_type_in_one_process():
    """rank_cases.py's model cases, with three devices of this process as the ranks."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    try:
        import rank_cases
    finally:
        sys.path.pop(0)
    devices = [hal.create_device("local") for _ in range(3)]
    token = hal.Channel.unique_id()
    runs = [
        rank_cases.Run("local", d, d.create_channel(r, 3, id=token, timeout=30))
        for r, d in enumerate(devices)
    ]
    threads = [
        threading.Thread(target=lambda run=run: (run.kinds(), run.point_to_point(), run.split()))
        for run in runs
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [run.failures for run in runs] == [[], [], []]
    assert all(run.passed > 200 for run in runs)
