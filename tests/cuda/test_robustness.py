"""cuda driver under careless or hostile use (issue 11): objects that outlive their device,
calls after close, a kernel that faults, indirect workgroup counts beyond the grid limits.

A kernel fault makes CUDA's error permanent for the process, so that test runs its device
in a child process.  Every test skips, with the reason, where there is no CUDA device.
"""

from __future__ import annotations

import gc
import json
import struct
import subprocess
import sys
import textwrap
import threading

import pytest

import polyhal as hal
from polyhal import drivers
from polyhal.drivers.base import Work
from polyhal.types import MemoryType

COUNT, REASON = drivers.probe("cuda")
pytestmark = pytest.mark.skipif(COUNT == 0, reason=f"no CUDA device: {REASON}")

SOURCE = r"""
extern "C" __global__ void grid_size(unsigned int* out) {
  if (threadIdx.x == 0 && blockIdx.x + blockIdx.y + blockIdx.z == 0) {
    out[0] = gridDim.x; out[1] = gridDim.y; out[2] = gridDim.z; out[3] += 1;
  }
}
extern "C" __global__ void add_one(unsigned int* data) { data[threadIdx.x] += 1; }
"""
ONE = hal.PipelineLayout([hal.DescriptorSetLayout([0])])
GRID_SIZE = hal.EntryPoint("grid_size", ONE)


def _child(script: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """Runs ``script`` in a new Python process (its CUDA state is its own)."""
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_graphs_and_buffers_outliving_their_device_are_released_without_blocking():
    """Issue 11 item 5: `polyhal bench --device cuda` hung at exit in CudaGraph.__del__,
    whose cuGraphExecDestroy ran after close() had released the primary context."""
    proc = _child(
        """
        import gc, time
        import polyhal as hal
        d = hal.create_device("cuda")
        keep = []
        for mode in (hal.CommandBufferMode.DEFAULT, hal.CommandBufferMode.ONE_SHOT):
            b = d.allocate_buffer(64)
            h = d.allocate_buffer(64, memory_type=hal.MemoryType.HOST_LOCAL)
            cb = d.create_command_buffer(mode)
            with cb:
                cb.fill_buffer(b, 0, 64, 1)
                cb.execution_barrier()
                cb.update_buffer(b"abcd", 0, b, 0, 4)
                cb.execution_barrier()
                cb.copy_buffer(b, 0, h, 0, 64)
            keep += [b, h, cb]
        # Cycles: collected only by the garbage collector, at some later allocation.
        for _ in range(50):
            c = d.create_command_buffer(hal.CommandBufferMode.DEFAULT)
            with c:
                c.fill_buffer(keep[0], 0, 64, 2)
            cycle = [c]
            cycle.append(cycle)
        d.close()
        t = time.perf_counter()
        del keep, c, cb, b, h, cycle
        gc.collect()
        print("released in", time.perf_counter() - t)
    """,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert "released in" in proc.stdout


def test_every_driver_call_after_close_raises_failed_precondition():
    d = hal.create_device("cuda")
    exe = d.create_executable(hal.ExecutableSource([GRID_SIZE], {"cuda": SOURCE}))
    buf = d.allocate_buffer(16)
    cb = d.create_command_buffer(hal.CommandBufferMode.DEFAULT)
    with cb:
        cb.dispatch(exe, 0, 1, bindings=[(0, buf)])
    driver, alloc = d._driver, buf.alloc
    d.close()
    calls = {
        "allocate": lambda: driver.allocate(16, MemoryType.DEVICE_LOCAL, 0),
        "release": lambda: driver.release(alloc),
        "read": lambda: driver.read(alloc, 0, 4),
        "write": lambda: driver.write(alloc, 0, memoryview(b"abcd")),
        "load_executable": lambda: driver.load_executable("cuda", SOURCE, [GRID_SIZE]),
        "encode": lambda: driver.encode([]),
        "execute": lambda: driver.execute([], lambda error: None),
        "drain": driver.drain,
        "after_queued_work": lambda: driver.after_queued_work(lambda: None),
        "buffer.read": lambda: buf.read(),
        "cuda_array_interface": lambda: alloc.cuda_array_interface(0, 16),
        "dlpack": lambda: alloc.dlpack(0, 16),
    }
    for name, call in calls.items():
        with pytest.raises(hal.FailedPreconditionError):
            call()
            pytest.fail(f"{name} after close did not raise")
    d.close()  # again: nothing happens
    del cb, exe, calls
    gc.collect()  # destructors of a closed device's objects do nothing


FAULT = r"""
import json, time
import numpy as np
import polyhal as hal
SOURCE = r'''
extern "C" __global__ void wild(unsigned int* out, unsigned int lo, unsigned int hi) {
  unsigned int* p = (unsigned int*)(((unsigned long long)hi << 32) | lo);
  p[threadIdx.x] = 1;
  out[threadIdx.x] = 2;
}
extern "C" __global__ void add_one(unsigned int* data) { data[threadIdx.x] += 1; }
'''
LAYOUT = hal.PipelineLayout([hal.DescriptorSetLayout([0])], push_constants=2)
ONE = hal.PipelineLayout([hal.DescriptorSetLayout([0])])
out = {}

def outcome(fn):
    t = time.perf_counter()
    try:
        fn()
        return ["ok", "", time.perf_counter() - t]
    except Exception as e:
        return [type(e).__name__, str(e), time.perf_counter() - t]

d = hal.create_device("cuda")
exe = d.create_executable(hal.ExecutableSource(
    [hal.EntryPoint("wild", LAYOUT, (32, 1, 1)), hal.EntryPoint("add_one", ONE, (32, 1, 1))],
    {"cuda": SOURCE}))
target = d.allocate_buffer(128)
later = d.create_command_buffer(hal.CommandBufferMode.DEFAULT)  # recorded before the fault
with later:
    later.dispatch(exe, "add_one", 1, bindings=[(0, target)])
cb = d.create_command_buffer()
with cb:
    cb.dispatch(exe, "wild", 1, constants=[0x10, 0], bindings=[(0, target)])
sem = d.create_semaphore(0)
d.queue_execute(cb, signal=[(sem, 1)])
out["submission"] = outcome(lambda: sem.wait(1, timeout=60))
out["allocate"] = outcome(lambda: d.allocate_buffer(16))
out["read"] = outcome(lambda: target.read())
again = d.create_semaphore(0)
def submit_again():
    d.queue_execute(later, signal=[(again, 1)])
    again.wait(1, timeout=60)
out["submit"] = outcome(submit_again)
out["release"] = outcome(lambda: d._driver.release(target.alloc))  # from completion callbacks
out["close"] = outcome(d.close)

def new_device():
    with hal.create_device("cuda") as e:
        x = e.create_executable(hal.ExecutableSource([hal.EntryPoint("add_one", ONE, (32, 1, 1))],
                                                     {"cuda": SOURCE}))
        b = e.buffer_from(np.arange(32, dtype=np.uint32))
        c = e.create_command_buffer()
        with c:
            c.dispatch(x, 0, 1, bindings=[(0, b)])
        s = e.create_semaphore(0)
        e.queue_execute(c, signal=[(s, 1)])
        s.wait(1, timeout=60)
        assert b.to_numpy("uint32").tolist() == list(range(1, 33))
out["new_device"] = outcome(new_device)
print(json.dumps(out))
"""


def test_a_kernel_fault_loses_the_device_with_a_typed_sticky_error():
    """Issue 11 item 3: an illegal address fails its submission with DataLossError naming
    the entry point; later calls raise it too; close returns; no hang, no crash."""
    proc = _child(FAULT, timeout=240)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    kind, message, _ = out["submission"]
    assert kind == "DataLossError", out
    assert "lost" in message and "'wild'" in message and "ILLEGAL_ADDRESS" in message, message
    for call in ("allocate", "read", "submit"):
        assert out[call][:2] == ["DataLossError", message], (call, out[call])
    assert out["release"][0] == "ok", out["release"]
    assert out["close"][0] == "ok", out["close"]
    # CUDA keeps the error for the rest of the process ("the process must be terminated and
    # relaunched"): a new device either works or says so, typed and at once.
    kind, message, seconds = out["new_device"]
    assert kind == "ok" or (kind == "DataLossError" and "new process" in message), out
    assert seconds < 30


@pytest.fixture(scope="module")
def device():
    with hal.create_device("cuda") as d:
        yield d


@pytest.mark.parametrize("slot", [False, True])
@pytest.mark.parametrize("mode", ["one-shot", "reusable"])
def test_indirect_counts_beyond_the_grid_limits_fail_the_submission(device, mode, slot):
    """Issue 11 item 8: counts the device cannot run are refused with OutOfRangeError
    (checked on the device, no host round trip), the dispatch skipped, the queue intact."""
    if slot and mode == "one-shot":
        pytest.skip("a one-shot command buffer has no binding table of its own to test here")
    exe = device.create_executable(hal.ExecutableSource([GRID_SIZE], {"cuda": SOURCE}))
    limits = device.info["limits"]["max_workgroup_count"]
    counts = device.allocate_buffer(12)
    out = device.allocate_buffer(16)
    out.write(bytes(16))
    reusable = mode == "reusable"
    cb_mode = hal.CommandBufferMode.DEFAULT if reusable else hal.CommandBufferMode.ONE_SHOT

    def record():
        cb = device.create_command_buffer(cb_mode, binding_capacity=1 if slot else 0)
        with cb:
            cb.dispatch_indirect(exe, 0, hal.Slot(0) if slot else counts, 0, bindings=[(0, out)])
        return cb

    cb = record()
    bad = [(2**32 - 1, 1, 1), (1, 1, 70000), (1, limits[1] + 1, 1), (limits[0] + 1, 1, 1)]
    runs = 0
    for i, grid in enumerate([*bad, (3, 2, 1)]):
        if i and not reusable:
            cb = record()
        counts.write(struct.pack("<3I", *grid))
        sem = device.create_semaphore(0)
        device.queue_execute(cb, signal=[(sem, 1)], binding_table=[counts] if slot else None)
        if grid in bad:
            with pytest.raises(hal.OutOfRangeError) as info:
                sem.wait(1, timeout=30)
            assert "'grid_size'" in str(info.value) and str(grid) in str(info.value)
        else:
            sem.wait(1, timeout=30)
            runs += 1
        got = out.to_numpy("uint32").tolist()
        assert got[3] == runs, (grid, got)  # the refused dispatches did not run
    assert got[:3] == [3, 2, 1]


def test_a_failing_completion_callback_is_reported_and_the_queue_goes_on(device, monkeypatch):
    """Issue 11: the completion thread swallowed exceptions with `except Exception: pass`;
    now they reach threading.excepthook, and later submissions still complete."""
    seen = []
    monkeypatch.setattr(threading, "excepthook", lambda args: seen.append(args.exc_value))
    buf = device.allocate_buffer(16)
    cb = device.create_command_buffer(hal.CommandBufferMode.DEFAULT)
    with cb:
        cb.fill_buffer(buf, 0, 16, 7)
    driver = device._driver

    def failing(error):
        raise RuntimeError("callback failed")

    finished, results = threading.Event(), []
    driver.execute([Work(cb.encoded)], failing)
    driver.execute([Work(cb.encoded)], lambda error: (results.append(error), finished.set()))
    assert finished.wait(30) and results == [None]
    assert [str(e) for e in seen] == ["callback failed"]
    assert buf.read() == bytes([7]) * 16


@pytest.mark.parametrize("start", [1, 2, 6])
def test_indirect_counts_at_any_byte_address(device, start):
    """A subspan may start at any byte: the updater must not fault on a misaligned word
    (a fault loses the device; the fuzzer of issue 11 found it)."""
    exe = device.create_executable(hal.ExecutableSource([GRID_SIZE], {"cuda": SOURCE}))
    root = device.allocate_buffer(32)
    counts = root.subspan(start, 12)
    out = device.allocate_buffer(16)
    out.write(bytes(16))
    counts.write(struct.pack("<3I", 3, 2, 1))
    for mode in (hal.CommandBufferMode.ONE_SHOT, hal.CommandBufferMode.DEFAULT):
        cb = device.create_command_buffer(mode)
        with cb:
            cb.dispatch_indirect(exe, 0, counts, 0, bindings=[(0, out)])
        sem = device.create_semaphore(0)
        device.queue_execute(cb, signal=[(sem, 1)])
        sem.wait(1, timeout=30)
    assert out.to_numpy("uint32").tolist() == [3, 2, 1, 2]


def test_pinned_host_memory_beyond_what_the_host_has_is_refused(device):
    """Pinned pages cannot be paged out: a huge host allocation got the fuzzer's child
    SIGKILLed by the OOM killer instead of raising."""
    from polyhal.drivers.cuda.buffer import _host_memory_available

    available = _host_memory_available()
    if available is None:
        pytest.skip("no MemAvailable in /proc/meminfo")
    size = min(available, device.info["limits"]["max_allocation_size"])
    if size <= available // 2:
        pytest.skip("the device's allocation limit is below half the host's memory")
    with pytest.raises(hal.ResourceExhaustedError):
        device.allocate_buffer(size, memory_type=hal.MemoryType.HOST_LOCAL)
    assert device.allocate_buffer(16, memory_type=hal.MemoryType.HOST_LOCAL).size == 16
