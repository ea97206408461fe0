"""Regression tests of issue 11's front-end items, on every driver: hostile or careless
calls raise their typed HalError, never a stray Python exception, a wrong result, a crash
or a hang; closing a device refuses new work at once and never deadlocks."""

from __future__ import annotations

import math
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

import polyhal as hal

from .kernels import executable_source
from .support import deterministic_bytes


def _reusable(device: hal.Device, capacity: int) -> hal.CommandBuffer:
    return device.create_command_buffer(hal.CommandBufferMode.DEFAULT, binding_capacity=capacity)


def _run(device: hal.Device, cb: hal.CommandBuffer, table=None) -> None:
    sem = device.create_semaphore(0)
    device.queue_execute(cb, signal=[(sem, 1)], binding_table=table)
    sem.wait(1, timeout=30)


# -- item 1: a copy through slots with WHOLE_BUFFER ------------------------------------------
@pytest.mark.parametrize("sizes", [(4096, 3), (3, 4096)], ids=["big-to-small", "small-to-big"])
def test_slot_copy_whole_buffer_needs_equal_lengths(device, sizes):
    src_size, dst_size = sizes
    src = device.buffer_from(deterministic_bytes(src_size))
    dst = device.buffer_from(bytes([0xEE]) * dst_size)
    guard = device.buffer_from(bytes([0x77]) * 256)
    cb = _reusable(device, 2)
    with cb:
        cb.copy_buffer(hal.Slot(0), 0, hal.Slot(1), 0, hal.WHOLE_BUFFER)
    with pytest.raises(hal.OutOfRangeError, match="equal lengths"):
        device.queue_execute(cb, binding_table=[src, dst])
    device.wait_idle(10)
    assert dst.read() == bytes([0xEE]) * dst_size
    assert guard.read() == bytes([0x77]) * 256
    # Equal ranges through the same recording copy exactly.
    same = device.buffer_from(bytes(src_size))
    _run(device, cb, [src, same])
    assert same.read() == deterministic_bytes(src_size)


def test_slot_copy_direct_source_whole_buffer_checks_target(device):
    src = device.buffer_from(deterministic_bytes(64))
    small = device.buffer_from(bytes(8))
    cb = _reusable(device, 1)
    with cb:
        cb.copy_buffer(src, 0, hal.Slot(0), 0, hal.WHOLE_BUFFER)
    with pytest.raises(hal.OutOfRangeError):
        device.queue_execute(cb, binding_table=[small])
    assert small.read() == bytes(8)


def test_slot_ranges_are_checked_for_every_command(device):
    small = device.buffer_from(bytes(4))
    checks = {
        "fill": lambda cb: cb.fill_buffer(hal.Slot(0), 0, 16, 0x11),
        "update": lambda cb: cb.update_buffer(bytes(16), 0, hal.Slot(0), 0, 16),
        "copy": lambda cb: cb.copy_buffer(hal.Slot(0), 0, hal.Slot(1), 0, 16),
        "offset": lambda cb: cb.fill_buffer(hal.Slot(0), 8, hal.WHOLE_BUFFER, 0x11),
    }
    big = device.buffer_from(bytes(64))
    for name, record in checks.items():
        cb = _reusable(device, 2)
        with cb:
            record(cb)
        with pytest.raises(hal.OutOfRangeError):
            device.queue_execute(cb, binding_table=[small, big])
        assert small.read() == bytes(4), name


def test_slot_offset_beyond_uint64_is_refused_when_recorded(device):
    cb = _reusable(device, 1)
    cb.begin()
    with pytest.raises(hal.OutOfRangeError):
        cb.fill_buffer(hal.Slot(0), 4 * 10**30, 4, 1)
    with pytest.raises(hal.OutOfRangeError):
        cb.fill_buffer(hal.Slot(0), 0, 2**64 + 4, 1)
    cb.end()


# -- item 4: numpy integer offsets never wrap ------------------------------------------------
def test_numpy_offsets_do_not_wrap_in_host_access(device):
    buf = device.buffer_from(bytes(512))
    sub = buf.subspan(128)
    sub.write(b"ABCD", np.uint8(200))
    assert buf.read(328, 4) == b"ABCD"
    assert buf.read().count(b"ABCD") == 1
    assert sub.read(np.uint8(200), np.uint8(4)) == b"ABCD"
    with pytest.raises(hal.OutOfRangeError):
        sub.write(b"ABCD", np.uint16(60000))


def test_numpy_offsets_do_not_wrap_in_command_buffers(device):
    buf = device.buffer_from(bytes(512))
    sub = buf.subspan(128)
    cb = device.create_command_buffer()
    with cb:
        cb.fill_buffer(sub, np.uint8(200), np.uint8(4), 0x41)
        cb.update_buffer(b"WXYZ", np.uint8(0), sub, np.uint8(252), np.uint8(4))
    _run(device, cb)
    data = buf.read()
    assert data[328:332] == b"AAAA" and data[380:384] == b"WXYZ"
    assert data.count(b"A") == 4


# -- item 6: close -------------------------------------------------------------------------
def test_close_from_a_host_call(driver):
    dev = hal.create_device(driver)
    done = hal.Semaphore(None, 0)
    dev.queue_host_call(dev.close, signal=[(done, 1)])
    done.wait(1, timeout=10)
    with pytest.raises(hal.FailedPreconditionError):
        dev.queue_barrier()
    dev.close()  # a second close is a no-op


def test_close_while_threads_submit_returns_and_refuses(driver):
    dev = hal.create_device(driver)
    errors: list[BaseException] = []
    refused = []

    def submit() -> None:
        sem = hal.Semaphore(None, 0)
        i = 0
        try:
            while i < 100_000:
                i += 1
                dev.queue_barrier(signal=[(sem, i)])
        except hal.FailedPreconditionError:
            refused.append(i)
        except BaseException as e:  # noqa: BLE001 - the test reports anything else
            errors.append(e)

    threads = [threading.Thread(target=submit) for _ in range(4)]
    for t in threads:
        t.start()
    time.sleep(0.2)
    start = time.monotonic()
    dev.close()
    assert time.monotonic() - start < 10
    for t in threads:
        t.join(10)
    assert not errors
    assert len(refused) == 4


def test_closed_device_and_its_objects_refuse_use(driver):
    dev = hal.create_device(driver)
    buf = dev.buffer_from(bytes(16))
    dev.close()
    calls = {
        "read": lambda: buf.read(),
        "write": lambda: buf.write(b"x"),
        "subspan": lambda: buf.subspan(0, 4),
        "allocate": lambda: dev.allocate_buffer(16),
        "queue_fill": lambda: dev.queue_fill(buf, 0, 4, 1),
        "queue_host_call": lambda: dev.queue_host_call(lambda: None),
        "queue_dealloca": lambda: dev.queue_dealloca(buf),
        "queue_alloca": lambda: dev.queue_alloca(16),
        "create_command_buffer": lambda: dev.create_command_buffer(),
        "create_semaphore": lambda: dev.create_semaphore(0),
        "create_event": lambda: dev.create_event(),
    }
    for name, call in calls.items():
        with pytest.raises(hal.FailedPreconditionError):
            call()
            pytest.fail(name)


def test_command_buffers_of_a_closed_device_refuse_recording(driver):
    dev = hal.create_device(driver)
    fresh = dev.create_command_buffer()
    recording = dev.create_command_buffer()
    recording.begin()
    buf = dev.allocate_buffer(16)
    dev.close()
    with pytest.raises(hal.FailedPreconditionError):
        fresh.begin()
    with pytest.raises(hal.FailedPreconditionError):
        recording.execution_barrier()
    with pytest.raises(hal.FailedPreconditionError):
        recording.fill_buffer(buf, 0, 4, 1)
    with pytest.raises(hal.FailedPreconditionError):
        recording.end()


# -- items 7, 10, 11: untyped errors and accepted garbage ------------------------------------
@pytest.mark.parametrize("timeout", [math.nan, "1", -1.0, [1]])
def test_bad_timeouts(device, timeout):
    with pytest.raises(hal.InvalidArgumentError):
        device.wait_idle(timeout)
    sem = device.create_semaphore(0)
    with pytest.raises(hal.InvalidArgumentError):
        device.wait_semaphores([(sem, 1)], timeout=timeout)


def test_huge_timeout_means_no_limit(device):
    sem = device.create_semaphore(1)
    device.wait_idle(2**64)
    device.wait_semaphores([(sem, 1)], timeout=math.inf)


def test_payloads_are_uint64(device):
    sem = device.create_semaphore(0)
    with pytest.raises(hal.OutOfRangeError):
        device.queue_barrier(wait=[(sem, 2**64)])
    with pytest.raises(hal.OutOfRangeError):
        device.queue_barrier(signal=[(sem, -1)])
    with pytest.raises(hal.InvalidArgumentError):
        device.queue_barrier(signal=[(sem, 1.5)])
    device.wait_idle(10)
    assert sem.query() == 0


BAD_CALLS = {
    "barrier str": lambda d, cb: cb.execution_barrier("x"),
    "barrier None": lambda d, cb: cb.execution_barrier(None),
    "barrier float": lambda d, cb: cb.execution_barrier(1.5),
    "barrier unknown bits": lambda d, cb: cb.execution_barrier(1 << 40),
    "barrier memory garbage": lambda d, cb: cb.execution_barrier(memory_barriers=5),
    "barrier memory items": lambda d, cb: cb.execution_barrier(memory_barriers=[1]),
    "barrier buffer garbage": lambda d, cb: cb.execution_barrier(buffer_barriers=[1]),
    "signal_event stage": lambda d, cb: cb.signal_event(d.create_event(), "x"),
    "wait_events not a list": lambda d, cb: cb.wait_events(5),
    "push_constants layout str": lambda d, cb: cb.push_constants("layout", 0, [1]),
    "push_constants str values": lambda d, cb: cb.push_constants(
        hal.PipelineLayout([], 1), 0, "ab"
    ),
    "push_descriptor_set int": lambda d, cb: cb.push_descriptor_set(
        hal.PipelineLayout([hal.DescriptorSetLayout([0])]), 0, 5
    ),
    "binding extra items": lambda d, cb: cb.push_descriptor_set(
        hal.PipelineLayout([hal.DescriptorSetLayout([0])]), 0, [(0, d.allocate_buffer(4), 0, 4, 99)]
    ),
    "queue_execute binding_table int": lambda d, cb: d.queue_execute(cb, binding_table=5),
    "queue_execute None": lambda d, cb: d.queue_execute(None),
    "queue_execute str": lambda d, cb: d.queue_execute("cb"),
    "binding table entry extra": lambda d, cb: d.queue_execute(
        [], binding_table=[(d.allocate_buffer(4), 0, 4, 7)]
    ),
    "binding table entry str": lambda d, cb: d.queue_execute([], binding_table=["abc"]),
    "create_command_buffer categories str": lambda d, cb: d.create_command_buffer(categories="x"),
    "create_command_buffer mode None": lambda d, cb: d.create_command_buffer(mode=None),
    "allocate memory_type None": lambda d, cb: d.allocate_buffer(16, memory_type=None),
    "allocate usage str": lambda d, cb: d.allocate_buffer(16, usage="x"),
    "allocate access float": lambda d, cb: d.allocate_buffer(16, access=1.0),
    "to_numpy garbage": lambda d, cb: d.allocate_buffer(16).to_numpy("garbage"),
    "to_numpy bad shape": lambda d, cb: d.allocate_buffer(16).to_numpy("uint8", (3, 3)),
    "write str": lambda d, cb: d.allocate_buffer(16).write("abc"),
    "wait_semaphores mode": lambda d, cb: d.wait_semaphores([], mode="any"),
    "wait list garbage": lambda d, cb: d.queue_barrier(wait=5),
    "signal list str": lambda d, cb: d.queue_barrier(signal="s"),
    "host_call not callable": lambda d, cb: d.queue_host_call(5),
    "dealloca not a buffer": lambda d, cb: d.queue_dealloca("b"),
    "allocate access -1": lambda d, cb: d.allocate_buffer(16, access=-1),
    "create_command_buffer categories -1": lambda d, cb: d.create_command_buffer(categories=-1),
    "barrier target_stage -1": lambda d, cb: cb.execution_barrier(hal.ExecutionStage.DISPATCH, -1),
    "reset_event stage -1": lambda d, cb: cb.reset_event(d.create_event(), -1),
    "memory barrier float scope": lambda d, cb: cb.execution_barrier(
        memory_barriers=[hal.MemoryBarrier(1.5, hal.AccessScope.HOST_READ)]
    ),
    "buffer barrier negative scope": lambda d, cb: cb.execution_barrier(
        buffer_barriers=[hal.BufferBarrier(-1, 1, d.allocate_buffer(4))]
    ),
    "barrier flags negative numpy": lambda d, cb: cb.execution_barrier(flags=np.int8(-56)),
    "fill pattern too negative": lambda d, cb: cb.fill_buffer(d.allocate_buffer(8), 0, 8, -(2**40)),
    "fill pattern_length float": lambda d, cb: cb.fill_buffer(d.allocate_buffer(8), 0, 8, 1, 1.0),
    "dispatch count True": lambda d, cb: cb.dispatch(
        d.create_executable(executable_source("workgroup_ids")),
        0,
        True,
        bindings=[(0, d.allocate_buffer(64))],
    ),
    "dispatch count numpy bool": lambda d, cb: cb.dispatch(
        d.create_executable(executable_source("workgroup_ids")),
        0,
        np.bool_(True),
        bindings=[(0, d.allocate_buffer(64))],
    ),
    "create_device int uri": lambda d, cb: hal.create_device(5),
    "create_device checked str": lambda d, cb: hal.create_device("local", checked="yes"),
}


@pytest.mark.parametrize("name", sorted(BAD_CALLS))
def test_bad_calls_raise_typed_errors(device, name):
    cb = device.create_command_buffer()
    cb.begin()
    with pytest.raises(hal.HalError):
        BAD_CALLS[name](device, cb)
    cb.end()
    device.wait_idle(10)


def test_push_constants_take_floats_and_numpy_scalars(device):
    from polyhal.command_buffer import _constants

    words = _constants([1, -1, 2.5, np.float32(-0.5), np.int32(-3), np.uint32(7)])
    expected = np.array([1, -1], np.int32).tobytes() + np.array([2.5, -0.5], np.float32).tobytes()
    expected += np.array([-3], np.int32).tobytes() + np.array([7], np.uint32).tobytes()
    assert words == expected
    assert _constants([np.int64(-2), np.float64(1.0)]) == (
        np.array([-2], np.int64).tobytes() + np.array([1.0], np.float64).tobytes()
    )
    with pytest.raises(hal.InvalidArgumentError):
        _constants([2**33])
    with pytest.raises(hal.InvalidArgumentError):
        _constants([1e300])


# -- item 2: a dealloca never frees memory that pending work names ---------------------------
@pytest.mark.parametrize("through", ["table", "direct"])
def test_dealloca_waits_for_parked_work(device, through):
    src = device.buffer_from(np.arange(1024, dtype=np.uint32))
    dst = device.buffer_from(bytes(4096))
    gate, done = device.create_semaphore(0), device.create_semaphore(0)
    if through == "table":
        cb = _reusable(device, 2)
        with cb:
            cb.copy_buffer(hal.Slot(0), 0, hal.Slot(1), 0, 4096)
        table = [src, dst]
    else:
        cb = device.create_command_buffer()
        with cb:
            cb.copy_buffer(src, 0, dst, 0, 4096)
        table = None
    device.queue_execute(cb, wait=[(gate, 1)], signal=[(done, 1)], binding_table=table)
    device.queue_dealloca(src)  # no waits: runs now, while the copy is parked
    with pytest.raises(hal.FailedPreconditionError):
        src.read()
    gate.signal(1)
    done.wait(1, timeout=30)
    assert (dst.to_numpy("uint32") == np.arange(1024)).all()
    assert src.alloc.pending_uses == 0 and not src.alloc.release_deferred


def test_nesting_depth_is_bounded(device):
    buf = device.buffer_from(bytes(16))
    inner = device.create_command_buffer(hal.CommandBufferMode.DEFAULT)
    with inner:
        inner.fill_buffer(buf, 0, 4, 0x42)
    from polyhal.command_buffer import MAX_NESTING

    for _ in range(MAX_NESTING):
        outer = device.create_command_buffer(hal.CommandBufferMode.DEFAULT)
        with outer:
            outer.execute_commands(inner)
        inner = outer
    _run(device, inner)
    assert buf.read(0, 4) == b"BBBB"
    too_deep = device.create_command_buffer()
    too_deep.begin()
    with pytest.raises(hal.ResourceExhaustedError):
        too_deep.execute_commands(inner)
    too_deep.end()


@pytest.mark.parametrize("color", ["red", (1.0, 0.0), (2.0, 0.0, 0.0), [None, 1, 1]])
def test_debug_group_color_is_checked(device, color):
    cb = device.create_command_buffer()
    cb.begin()
    with pytest.raises(hal.InvalidArgumentError):
        cb.begin_debug_group("g", color)
    cb.begin_debug_group("g", (1.0, 0.5, 0.0), ("file.py", 3))
    cb.end_debug_group()
    cb.end()
    _run(device, cb)


def test_host_access_options_are_checked(device):
    buf = device.buffer_from(bytes(16))
    for kwargs in (
        {"wait": math.nan, "unsynchronized": True},
        {"wait": "x"},
        {"unsynchronized": "yes"},
        {"wait": -1.0},
    ):
        with pytest.raises(hal.InvalidArgumentError):
            buf.read(**kwargs)
        with pytest.raises(hal.InvalidArgumentError):
            buf.write(b"x", **kwargs)
    assert buf.read(unsynchronized=True) == bytes(16)
    assert buf.read(wait=1.0) == bytes(16)


def test_ready_host_call_does_not_run_inside_queue_host_call(device):
    """A host call whose waits are met runs on a queue thread, not inside the call: a host
    call that waits for what the caller does next neither blocks the caller nor times out
    (local-sync, whose queue is the calling thread, runs it inline by design)."""
    if device.driver == "local-sync":
        pytest.skip("local-sync runs every queue operation inline on the calling thread")
    go, done = device.create_semaphore(0), device.create_semaphore(0)
    started = time.monotonic()
    device.queue_host_call(lambda: go.wait(1, timeout=10), signal=[(done, 1)])
    assert time.monotonic() - started < 5
    go.signal(1)
    done.wait(1, timeout=10)
    failing, failed = device.create_semaphore(0), device.create_semaphore(0)
    device.queue_host_call(lambda: failing.wait(1, timeout=10), signal=[(failed, 1)])
    failing.fail(hal.StatusCode.CANCELLED, "stop")
    with pytest.raises(hal.CancelledError, match="stop"):
        failed.wait(1, timeout=10)


def test_a_host_call_may_wait_for_parked_work_of_its_own_queue(device):
    """A host call that blocks holds up only later host calls: parked work of the same
    queue still starts when its wait is met (it used to wait behind the host call on the
    issue thread until the host call's timeout)."""
    if device.driver == "local-sync":
        pytest.skip("local-sync runs every queue operation inline on the calling thread")
    buf = device.buffer_from(bytes(16))
    gate, filled, done = (device.create_semaphore(0) for _ in range(3))
    device.queue_fill(buf, 0, 4, 9, wait=[(gate, 1)], signal=[(filled, 1)])
    device.queue_host_call(lambda: filled.wait(1, timeout=20), signal=[(done, 1)])
    timer = threading.Timer(0.1, gate.signal, args=(1,))
    timer.start()
    started = time.monotonic()
    done.wait(1, timeout=30)
    timer.join()
    assert time.monotonic() - started < 10
    assert buf.read(0, 4) == b"\x09" * 4


@pytest.mark.parametrize(
    "wait",
    [2**70, 10**400, 1e300, np.float32(30), np.uint64(2**64 - 1)],
    ids=["2**70", "10**400", "1e300", "np.float32", "np.uint64"],
)
def test_host_access_wait_takes_any_timeout(wait):
    """wait= of a host access behind pending work takes what every timeout takes: a value too
    long for the platform's waits is forever (it raised OverflowError), numpy scalars are
    seconds.  Checked mode, where the wait is for the pending writer itself."""
    for driver in ("local", "vulkan"):
        if driver not in hal.available_drivers():
            continue
        with hal.create_device(driver, checked=True) as device:
            buf = device.buffer_from(bytes(16))
            gate = device.create_semaphore(0)
            device.queue_fill(buf, 0, 4, 7, wait=[(gate, 1)])
            timer = threading.Timer(0.1, gate.signal, args=(1,))
            timer.start()
            try:
                assert buf.read(0, 4, wait=wait) == b"\x07" * 4
            finally:
                timer.join()


def test_one_shot_twice_in_one_submission_or_from_two_threads(device):
    """A ONE_SHOT command buffer listed twice in one queue_execute ran twice; submitted by
    several threads at once, more than one could pass the check.  Exactly one submission
    is accepted; a refused list consumes nothing."""
    buf = device.buffer_from(bytes(16))

    def one_shot() -> hal.CommandBuffer:
        cb = device.create_command_buffer()
        with cb:
            cb.fill_buffer(buf, 0, 4, 1)
        return cb

    cb = one_shot()
    with pytest.raises(hal.FailedPreconditionError, match="once"):
        device.queue_execute([cb, cb])
    device.queue_execute(cb)
    for _ in range(20):
        cb, accepted = one_shot(), []

        def submit(cb=cb, accepted=accepted):
            try:
                device.queue_execute(cb)
                accepted.append(cb)
            except hal.FailedPreconditionError:
                pass

        threads = [threading.Thread(target=submit) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(accepted) == 1
    device.wait_idle(30)


@pytest.mark.parametrize("nested", [False, True])
def test_wait_on_an_event_nothing_sets_does_not_hang(device, nested):
    """wait_events on an event that no earlier command sets orders like a barrier on every
    driver (on vulkan, vkCmdWaitEvents would stall the queue forever)."""
    buf = device.buffer_from(bytes(8))
    event = device.create_event()
    inner = device.create_command_buffer(hal.CommandBufferMode.DEFAULT)
    with inner:
        inner.wait_events([event])
        inner.fill_buffer(buf, 0, 4, 0x11)
    cb = device.create_command_buffer()
    with cb:
        if nested:
            cb.execute_commands(inner)
        else:
            cb.wait_events([event])
            cb.fill_buffer(buf, 0, 4, 0x11)
        cb.execution_barrier()
        cb.signal_event(event)
        cb.reset_event(event)
        cb.wait_events([event])
        cb.fill_buffer(buf, 4, 4, 0x22)
    _run(device, cb)
    assert buf.read() == bytes([0x11] * 4 + [0x22] * 4)
    _run(device, _ended(device))  # the queue still moves


def _ended(device: hal.Device) -> hal.CommandBuffer:
    cb = device.create_command_buffer()
    cb.begin()
    cb.end()
    return cb


CLOSE_RACE = r"""
import random, sys, threading, time
import polyhal as hal
random.seed(11)
for _ in range(12):
    device = hal.create_device(sys.argv[1])
    buf = device.allocate_buffer(256)
    stop = threading.Event()
    untyped = []

    def use():
        while not stop.is_set():
            try:
                r = random.random()
                if r < 0.25:
                    device.queue_dealloca(device.queue_alloca(64))
                elif r < 0.5:
                    device.queue_fill(buf, 0, 4, 7)  # a command buffer encoded per call
                elif r < 0.75:
                    buf.write(b"abcd", 8)
                    buf.read(0, 16)
                else:
                    device.allocate_buffer(128)
            except hal.HalError:
                pass
            except Exception as e:
                untyped.append(repr(e))
                return

    users = [threading.Thread(target=use) for _ in range(3)]
    for t in users:
        t.start()
    time.sleep(random.random() * 0.03)
    closers = [threading.Thread(target=device.close) for _ in range(2)]
    for t in closers:
        t.start()
    for t in closers:
        t.join(60)
    stop.set()
    for t in users:
        t.join(60)
    assert not untyped, untyped
print("ok")
"""


def test_close_while_threads_allocate_encode_and_copy(driver):
    """close() while other threads allocate, encode command buffers (queue_fill) and copy
    to and from buffers: on vulkan the driver device was destroyed under an allocation, an
    encoder or a collected recording ("double free or corruption", SIGABRT).  Calls in
    progress finish before the release; later ones raise FailedPreconditionError.  In a
    child process: a regression kills the process."""
    proc = subprocess.run(
        [sys.executable, "-c", CLOSE_RACE, driver], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0 and "ok" in proc.stdout, proc.stdout + proc.stderr[-3000:]


def test_whole_buffer_copies_between_a_slot_and_a_direct_buffer(device):
    """docs/binding-tables.md: a slot source with WHOLE_BUFFER reaches to the end of both
    ranges, which must be equally long; a direct source fixes the length."""
    src = device.buffer_from(deterministic_bytes(64))
    direct = device.buffer_from(bytes(16))
    from_slot = _reusable(device, 1)
    with from_slot:
        from_slot.copy_buffer(hal.Slot(0), 0, direct, 0, hal.WHOLE_BUFFER)
    with pytest.raises(hal.OutOfRangeError, match="equal lengths"):
        device.queue_execute(from_slot, binding_table=[src])
    _run(device, from_slot, [src.subspan(8, 16)])
    assert direct.read() == src.read(8, 16)
    to_slot = _reusable(device, 1)
    with to_slot:
        to_slot.copy_buffer(src.subspan(0, 8), 0, hal.Slot(0), 0, hal.WHOLE_BUFFER)
    big = device.buffer_from(bytes([0xEE]) * 64)
    _run(device, to_slot, [big])
    assert big.read() == src.read(0, 8) + bytes([0xEE]) * 56
    with pytest.raises(hal.OutOfRangeError):
        device.queue_execute(to_slot, binding_table=[(big, 0, 4)])


def test_semaphores_of_a_closed_device_keep_working(driver):
    """docs/contract.md, Closing a device: wait_idle returns at once; semaphores keep
    working, and wait_semaphores waits for them as before (it did not return at once)."""
    dev = hal.create_device(driver)
    sem = dev.create_semaphore(0)
    dev.close()
    dev.wait_idle(None)
    with pytest.raises(hal.DeadlineExceededError):
        dev.wait_semaphores([(sem, 1)], timeout=0.05)
    threading.Timer(0.05, sem.signal, args=(1,)).start()
    dev.wait_semaphores([(sem, 1)], timeout=10)
    assert sem.query() == 1


@pytest.mark.parametrize("uri", ["local:", "local:0 ", "local:-1", "local:x", "local: 0"])
def test_malformed_device_uris_are_not_found(uri):
    with pytest.raises(hal.NotFoundError, match="bad device index"):
        hal.create_device(uri)


def test_trace_of_a_closed_device_is_refused(driver, tmp_path):
    dev = hal.create_device(driver)
    dev.close()
    with pytest.raises(hal.FailedPreconditionError):
        dev.trace(tmp_path / "t.json")
