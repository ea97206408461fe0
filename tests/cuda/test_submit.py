"""cuda submission paths of issue 10: graphs handed to the launcher's submit thread (awake
or asleep), the launcher's Python entry points, and queue_execute's short path (unchecked
devices), mixed with one-shot launch programs and binding tables.

Every test skips, with the reason, where there is no CUDA device.
"""

from __future__ import annotations

import time

import pytest

import polyhal as hal
from polyhal import drivers

COUNT, REASON = drivers.probe("cuda")

SOURCE = r"""
extern "C" __global__ void add_one(unsigned int* data) { data[threadIdx.x] += 1; }
"""
ONE = hal.PipelineLayout([hal.DescriptorSetLayout([0])])


@pytest.fixture(scope="module", params=[False, True], ids=["unchecked", "checked"])
def device(request):
    if COUNT == 0:
        pytest.skip(f"no CUDA device: {REASON}")
    with hal.create_device("cuda", checked=request.param) as d:
        yield d


@pytest.fixture(scope="module")
def exe(device):
    return device.create_executable(
        hal.ExecutableSource([hal.EntryPoint("add_one", ONE, (4, 1, 1))], {"cuda": SOURCE})
    )


def chain(device, exe, buffers, n=50):
    cb = device.create_command_buffer(hal.CommandBufferMode.DEFAULT)
    with cb:
        for i in range(n):
            cb.dispatch(exe, 0, 1, bindings=[(0, buffers[i % len(buffers)])])
            cb.execution_barrier()
    return cb


def counts(buffers):
    return [b.to_numpy("uint32").tolist() for b in buffers]


def test_graph_submissions_with_the_submit_thread_awake_and_asleep(device, exe):
    """A reusable chain (a graph, which the submit thread launches) submitted right after
    the last submission completed (the thread spins for it), after a pause long enough for
    the thread to sleep, behind a one-shot submission, and back to back."""
    pair = [device.buffer_from(bytes(16)) for _ in range(2)]
    cb = chain(device, exe, pair)
    sem = device.create_semaphore(0)
    expected, value = [0, 0], 0
    for k in range(12):
        if k % 3 == 1:
            time.sleep(0.005)  # beyond the submit thread's spin: it sleeps
        if k % 3 != 2:
            one = device.create_command_buffer()
            with one:
                one.dispatch(exe, 0, 1, bindings=[(0, pair[k % 2])])
            value += 1
            device.queue_execute(one, signal=[(sem, value)])
            expected[k % 2] += 1
        value += 1
        device.queue_execute(cb, signal=(sem, value))
        sem.wait(value, timeout=30)
        expected = [e + 25 for e in expected]
        assert sem.query() == value
        assert counts(pair) == [[e] * 4 for e in expected]
    for k in range(1, 31):  # back to back: queued behind each other on the submit thread
        device.queue_execute(cb, signal=[(sem, value + k)])
    sem.wait(value + 30, timeout=30)
    assert counts(pair) == [[e + 30 * 25] * 4 for e in expected]


def test_one_shot_and_table_paths_keep_queue_order(device, exe):
    """One-shot programs (run inline on an idle queue), a graph with a binding table (the
    general path) and a graph without one, queued without waiting: they run in order."""
    buf = device.buffer_from(bytes(16))
    slot = device.create_command_buffer(hal.CommandBufferMode.DEFAULT, binding_capacity=1)
    with slot:
        for _ in range(10):
            slot.dispatch(exe, 0, 1, bindings=[(0, hal.Slot(0))])
            slot.execution_barrier()
    plain = chain(device, exe, [buf], n=10)
    sem = device.create_semaphore(0)
    for k in range(1, 61):
        if k % 3 == 0:
            one = device.create_command_buffer()
            with one:
                one.dispatch(exe, 0, 1, bindings=[(0, buf)])
            device.queue_execute(one, signal=[(sem, k)])
        elif k % 3 == 1:
            device.queue_execute(slot, signal=[(sem, k)], binding_table=[buf])
        else:
            device.queue_execute(plain, signal=[(sem, k)])
    sem.wait(60, timeout=30)
    assert counts([buf]) == [[20 * 10 + 20 * 10 + 20] * 4]


def test_short_path_errors(device, exe):
    """What queue_execute refuses, it refuses on the short path too (unchecked devices)."""
    buf = device.buffer_from(bytes(16))
    sem = device.create_semaphore(0)
    one = device.create_command_buffer()
    with one:
        one.dispatch(exe, 0, 1, bindings=[(0, buf)])
    device.queue_execute(one, signal=[(sem, 1)])
    with pytest.raises(hal.FailedPreconditionError):
        device.queue_execute(one, signal=[(sem, 2)])
    open_cb = device.create_command_buffer()
    open_cb.begin()
    with pytest.raises(hal.FailedPreconditionError):
        device.queue_execute(open_cb)
    with pytest.raises(hal.InvalidArgumentError):
        device.queue_execute(chain(device, exe, [buf], n=1), wait=0)
    with pytest.raises(hal.OutOfRangeError):
        device.queue_execute(chain(device, exe, [buf], n=1), signal=[(sem, -1)])
    sem.wait(1, timeout=30)
    assert counts([buf]) == [[1] * 4]
