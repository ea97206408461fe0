"""Local-driver behaviour beyond the conformance suite: the native executor, concurrency,
kernel failures and compile errors, and local against local-sync."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest

import polyhal as hal

SOURCE = r"""
#include <time.h>
#include "polyhal.h"
POLYHAL_ENTRY(iota) {            /* out[wg * wsx + i] = wg * wsx + i over a 2-D grid */
  uint32_t* out = (uint32_t*)dispatch->binding_ptrs[0];
  uint32_t gx = dispatch->workgroup_count_x, wsx = dispatch->workgroup_size_x;
  uint32_t wg = workgroup->workgroup_id_z * dispatch->workgroup_count_y * gx
              + workgroup->workgroup_id_y * gx + workgroup->workgroup_id_x;
  for (uint32_t i = 0; i < wsx; ++i) out[wg * wsx + i] = wg * wsx + i;
  return 0;
}
POLYHAL_ENTRY(add_one) {         /* out[i] += 1 for i in this workgroup's 64 elements */
  uint32_t* out = (uint32_t*)dispatch->binding_ptrs[0];
  for (uint32_t i = 0; i < 64; ++i) out[workgroup->workgroup_id_x * 64 + i] += 1;
  return 0;
}
POLYHAL_ENTRY(fail_at) {         /* returns 5 in workgroup push_constants[0] */
  return workgroup->workgroup_id_x == dispatch->push_constants[0] ? 5 : 0;
}
POLYHAL_ENTRY(slow_flag) {       /* workgroup 0 waits ~20 ms, then sets flag = 1 */
  volatile uint32_t* flag = (volatile uint32_t*)dispatch->binding_ptrs[0];
  if (workgroup->workgroup_id_x == 0) {
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    do clock_gettime(CLOCK_MONOTONIC, &t);
    while ((t.tv_sec - t0.tv_sec) * 1000000000L + (t.tv_nsec - t0.tv_nsec) < 20000000L);
    flag[0] = 1;
  }
  return 0;
}
POLYHAL_ENTRY(read_flag) {       /* out[1] = flag (binding 0, element 0) */
  volatile uint32_t* flag = (volatile uint32_t*)dispatch->binding_ptrs[0];
  flag[1] = flag[0];
  return 0;
}
POLYHAL_ENTRY(processor) {       /* records which processor ran each workgroup */
  uint32_t* out = (uint32_t*)dispatch->binding_ptrs[0];
  out[workgroup->workgroup_id_x] = workgroup->processor_id + 1;
  return 0;
}
"""


@pytest.fixture(params=["local", "local-sync"])
def device(request):
    with hal.create_device(request.param) as d:
        yield d


@pytest.fixture
def exe(device):
    layout = hal.PipelineLayout([hal.DescriptorSetLayout([0])], push_constants=1)
    eps = [
        hal.EntryPoint("iota", layout, (4, 1, 1)),
        hal.EntryPoint("add_one", layout),
        hal.EntryPoint("fail_at", layout),
        hal.EntryPoint("processor", layout),
        hal.EntryPoint("slow_flag", layout),
        hal.EntryPoint("read_flag", layout),
    ]
    return device.create_executable(hal.ExecutableSource(eps, {"c": SOURCE}))


def run(device, record, binding_table=None):
    cb = device.create_command_buffer()
    with cb:
        record(cb)
    sem = device.create_semaphore()
    device.queue_execute(cb, signal=[(sem, 1)], binding_table=binding_table)
    sem.wait(1, timeout=30)


def test_3d_grid_covers_every_workgroup_once(device, exe):
    out = device.allocate_buffer(4 * 4 * 7 * 5 * 3)
    run(device, lambda cb: cb.dispatch(exe, "iota", (7, 5, 3), bindings=[(0, out)], constants=[0]))
    assert np.array_equal(out.to_numpy("uint32"), np.arange(4 * 105, dtype=np.uint32))


def test_many_workgroups_and_concurrent_dispatches_between_barriers(device, exe):
    n = 4096
    bufs = [device.allocate_buffer(4 * 64 * n) for _ in range(4)]
    for b in bufs:
        b.write(np.zeros(64 * n, np.uint32))

    def record(cb):
        for _rep in range(3):
            for b in bufs:  # four independent dispatches: may overlap
                cb.dispatch(exe, "add_one", n, bindings=[(0, b)], constants=[0])
            cb.execution_barrier()

    run(device, record)
    for b in bufs:
        assert np.all(b.to_numpy("uint32") == 3)


def test_a_barrier_waits_for_every_workgroup_before_it(device, exe):
    """The reader runs after a barrier behind a slow writer; on `local` the writer's other
    workgroup frees a thread to start the reader early if the barrier were not a join."""
    flag = device.allocate_buffer(8)
    for _ in range(3):
        flag.write(np.zeros(2, np.uint32))

        def record(cb):
            cb.push_descriptor_set(exe.entry_points[0].layout, 0, [(0, flag)])
            cb.push_constants(exe.entry_points[0].layout, 0, [0])
            cb.dispatch(exe, "slow_flag", 2)
            cb.execution_barrier()
            cb.dispatch(exe, "read_flag", 1)

        run(device, record)
        assert flag.to_numpy("uint32").tolist() == [1, 1]


def test_workers_share_the_work(exe):
    with hal.create_device("local", workers=1) as device:
        layout = hal.PipelineLayout([hal.DescriptorSetLayout([0])], push_constants=1)
        exe = device.create_executable(
            hal.ExecutableSource([hal.EntryPoint("processor", layout)], {"c": SOURCE})
        )
        out = device.allocate_buffer(4 * 20000)
        run(device, lambda cb: cb.dispatch(exe, 0, 20000, bindings=[(0, out)], constants=[0]))
        ids = out.to_numpy("uint32")
        assert np.all(ids >= 1)
        assert device.info["threads"] == 2


def test_serial_dispatch_type_runs_on_one_processor():
    with hal.create_device("local", dispatch_type="serial") as device:
        layout = hal.PipelineLayout([hal.DescriptorSetLayout([0])], push_constants=1)
        exe = device.create_executable(
            hal.ExecutableSource([hal.EntryPoint("processor", layout)], {"c": SOURCE})
        )
        out = device.allocate_buffer(4 * 5000)
        run(device, lambda cb: cb.dispatch(exe, 0, 5000, bindings=[(0, out)], constants=[0]))
        assert np.all(out.to_numpy("uint32") == 1)


def test_kernel_failure_fails_signals_names_entry_point_and_device_keeps_working(device, exe):
    out = device.allocate_buffer(4 * 64 * 100)
    out.write(np.zeros(64 * 100, np.uint32))
    cb = device.create_command_buffer()
    with cb:
        cb.dispatch(exe, "fail_at", 100, bindings=[(0, out)], constants=[37])
        cb.execution_barrier()
        cb.dispatch(exe, "add_one", 100, bindings=[(0, out)], constants=[0])
    sem = device.create_semaphore()
    device.queue_execute(cb, signal=[(sem, 1)])
    with pytest.raises(hal.InternalError, match="fail_at.*returned 5"):
        sem.wait(1, timeout=30)
    assert np.all(out.to_numpy("uint32") == 0), "commands after the failure must not run"
    run(device, lambda c: c.dispatch(exe, "add_one", 100, bindings=[(0, out)], constants=[0]))
    assert np.all(out.to_numpy("uint32") == 1)


def test_compile_error_carries_compiler_message(device):
    layout = hal.PipelineLayout([])
    with pytest.raises(hal.InvalidArgumentError, match="(?s)C compilation failed.*error"):
        device.create_executable(
            hal.ExecutableSource([hal.EntryPoint("k", layout)], {"c": "int k( { syntax error"})
        )


def test_missing_entry_point_symbol(device):
    layout = hal.PipelineLayout([])
    with pytest.raises(hal.InvalidArgumentError, match="nope"):
        device.create_executable(
            hal.ExecutableSource(
                [hal.EntryPoint("nope", layout)], {"c": "int other(void) { return 0; }"}
            )
        )


def test_unknown_format_names_accepted_ones(device):
    layout = hal.PipelineLayout([])
    with pytest.raises(hal.UnimplementedError, match="'c'"):
        device.create_executable(
            hal.ExecutableSource([hal.EntryPoint("k", layout)], {"spirv": b"\x03\x02\x23\x07"})
        )


def test_local_and_local_sync_agree_on_a_mixed_program():
    results = []
    for uri in ("local", "local-sync"):
        with hal.create_device(uri) as device:
            layout = hal.PipelineLayout([hal.DescriptorSetLayout([0])], push_constants=1)
            exe = device.create_executable(
                hal.ExecutableSource(
                    [hal.EntryPoint("iota", layout, (4, 1, 1)), hal.EntryPoint("add_one", layout)],
                    {"c": SOURCE},
                )
            )
            a = device.allocate_buffer(4 * 64 * 64)
            b = device.allocate_buffer(4 * 64 * 64)

            def record(cb, a=a, b=b, exe=exe):
                cb.fill_buffer(b, 0, b.size, 0xA5A5A5A5, 4)
                cb.dispatch(exe, "iota", 1024, bindings=[(0, a)], constants=[0])
                cb.execution_barrier()
                cb.dispatch(exe, "add_one", 64, bindings=[(0, a)], constants=[0])
                cb.execution_barrier()
                cb.copy_buffer(a, 100, b, 8, 4000)
                cb.update_buffer(b"\x01\x02\x03\x04", 0, b, 0, 4)

            run(device, record)
            results.append((a.read(), b.read()))
    assert results[0] == results[1]


def test_unknown_option_is_rejected():
    with pytest.raises(hal.InvalidArgumentError):
        hal.create_device("local", frobnicate=True)
    with pytest.raises(hal.InvalidArgumentError):
        hal.create_device("local", dispatch_type="sideways")


@pytest.mark.parametrize(
    "options",
    [
        {"workers": "2"},
        {"workers": -1},
        {"workers": 10**6},
        {"workers": 1.5},
        {"spin_us": "x"},
        {"spin_us": float("nan")},
        {"spin_us": -1},
        {"inline_workgroups": None},
    ],
)
def test_bad_option_values_are_invalid_arguments(options):
    with pytest.raises(hal.InvalidArgumentError):
        hal.create_device("local", **options)


@pytest.mark.parametrize("counts", [(1, 1, 70000), (2**31, 4, 1)])
def test_indirect_counts_out_of_range_fail_the_submission(device, exe, counts):
    """Counts read from device memory are checked when the dispatch runs: refused with
    OutOfRangeError, never truncated and never a near-endless loop."""
    out = device.allocate_buffer(4 * 64)
    counts_buffer = device.buffer_from(np.array(counts, np.uint32))
    cb = device.create_command_buffer()
    with cb:
        cb.dispatch_indirect(exe, "add_one", counts_buffer, bindings=[(0, out)], constants=[0])
    sem = device.create_semaphore()
    device.queue_execute(cb, signal=[(sem, 1)])
    with pytest.raises(hal.OutOfRangeError, match="add_one"):
        sem.wait(1, timeout=30)
    run(device, lambda c: c.dispatch(exe, "add_one", 1, bindings=[(0, out)], constants=[0]))


DEADLINE_SOURCE = r"""
#include <time.h>
#include "polyhal.h"
POLYHAL_ENTRY(until) {           /* spins until CLOCK_MONOTONIC (ms) reaches the constants */
  uint64_t deadline = ((uint64_t)dispatch->push_constants[1] << 32) | dispatch->push_constants[0];
  struct timespec t;
  do clock_gettime(CLOCK_MONOTONIC, &t);
  while ((uint64_t)t.tv_sec * 1000u + (uint64_t)t.tv_nsec / 1000000u < deadline);
  return 0;
}
"""


def _deadline_dispatch(device, workgroups, seconds):
    """A command buffer whose workgroups all spin until `seconds` from now (Python's
    time.monotonic is CLOCK_MONOTONIC too), so it lasts that long on any machine."""
    layout = hal.PipelineLayout([], push_constants=2)
    exe = device.create_executable(
        hal.ExecutableSource([hal.EntryPoint("until", layout)], {"c": DEADLINE_SOURCE})
    )
    deadline = int(time.monotonic() * 1000 + seconds * 1000)
    cb = device.create_command_buffer()
    with cb:
        cb.dispatch(exe, 0, workgroups, constants=[deadline & 0xFFFFFFFF, deadline >> 32])
    return cb


def test_long_work_returns_at_once_and_a_wait_timeout_bounds_it():
    """Item 9: a dispatch of many workgroups runs on the runner thread, not inside
    queue_execute; a wait with a timeout raises DeadlineExceededError meanwhile."""
    with hal.create_device("local") as device:
        cb = _deadline_dispatch(device, 2**20, 1.5)
        sem = device.create_semaphore()
        start = time.monotonic()
        device.queue_execute(cb, signal=[(sem, 1)])
        assert time.monotonic() - start < 0.5
        with pytest.raises(hal.DeadlineExceededError):
            sem.wait(1, timeout=0.05)
        # Short work queued behind it keeps the submission order.
        out = device.allocate_buffer(4)
        device.queue_fill(out, 0, 4, b"\x01\x02\x03\x04", signal=[(sem, 2)])
        assert not sem.reached(2)
        sem.wait(2, timeout=60)
        assert sem.reached(1) and out.read() == b"\x01\x02\x03\x04"


def test_short_work_completes_inside_queue_execute():
    """The fast path stays: a small dispatch is done when queue_execute returns."""
    with hal.create_device("local") as device:
        cb = _deadline_dispatch(device, 64, 0)
        sem = device.create_semaphore()
        device.queue_execute(cb, signal=[(sem, 1)])
        assert sem.reached(1)


def test_inline_workgroups_zero_hands_everything_to_the_runner():
    with hal.create_device("local", inline_workgroups=0) as device:
        cb = _deadline_dispatch(device, 1, 1.0)
        sem = device.create_semaphore()
        start = time.monotonic()
        device.queue_execute(cb, signal=[(sem, 1)])
        assert time.monotonic() - start < 0.5
        sem.wait(1, timeout=60)
    with pytest.raises(hal.InvalidArgumentError, match="inline_workgroups"):
        hal.create_device("local", inline_workgroups=-1)


def test_local_sync_runs_inline_by_definition():
    with hal.create_device("local-sync") as device:
        cb = _deadline_dispatch(device, 2**13, 0.2)
        sem = device.create_semaphore()
        device.queue_execute(cb, signal=[(sem, 1)])
        assert sem.reached(1)


@pytest.mark.parametrize("checked", [False, True])
def test_an_allocation_too_large_for_the_host_is_resource_exhausted(device, checked):
    """Item 4: 32 GiB is ResourceExhaustedError, never MemoryError: refused by the front
    end where it exceeds the limit (physical memory), else by the driver when the host
    cannot back it."""
    limit = device.info["limits"]["max_allocation_size"]
    assert 0 < limit <= os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    with hal.create_device(device.driver, checked=checked) as d:
        with pytest.raises(hal.ResourceExhaustedError):
            d.allocate_buffer(32 << 30)
        d.allocate_buffer(4096).write(b"\x00" * 4096)  # and it still allocates


def test_a_failed_host_allocation_is_resource_exhausted():
    """The driver's own failure (here under an address-space limit) is typed too, for plain
    and guarded allocations, and the device carries on."""
    script = textwrap.dedent("""
        import resource
        import polyhal as hal
        for uri in ("local", "local-sync"):
            for checked in (False, True):
                device = hal.create_device(uri, checked=checked)
                resource.setrlimit(resource.RLIMIT_AS, (8 << 30, resource.RLIM_INFINITY))
                try:
                    device.allocate_buffer(12 << 30)
                except hal.ResourceExhaustedError as e:
                    print("typed", e)
                resource.setrlimit(resource.RLIMIT_AS, (resource.RLIM_INFINITY,) * 2)
                device.allocate_buffer(4096).write(bytes(4096))
                device.close()
    """)
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("typed cannot allocate 12884901888 bytes") == 4, proc.stdout


def test_a_device_dropped_without_close_stops_its_runner_thread():
    def runners():
        return [t for t in threading.enumerate() if t.name == "polyhal-local-runner"]

    before = len(runners())
    device = hal.create_device("local", inline_workgroups=0)
    cb = _deadline_dispatch(device, 1, 0)
    sem = device.create_semaphore()
    device.queue_execute(cb, signal=[(sem, 1)])
    sem.wait(1, timeout=30)
    assert len(runners()) == before + 1
    del device, cb, sem
    gc.collect()
    deadline = time.monotonic() + 10
    while len(runners()) > before and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(runners()) == before


def test_the_deepest_nesting_allowed_encodes_and_runs(device):
    """The encoder walks nested command buffers with its own stack (it recursed once, and
    the fuzzer hit Python's recursion limit before the front end capped the depth)."""
    out = device.allocate_buffer(4)
    inner = device.create_command_buffer(hal.CommandBufferMode.DEFAULT)
    with inner:
        inner.fill_buffer(out, 0, 4, b"\x07\x08\x09\x0a", 4)
    depth = 0
    while True:
        outer = device.create_command_buffer(hal.CommandBufferMode.DEFAULT)
        outer.begin()
        try:
            outer.execute_commands(inner)
        except hal.ResourceExhaustedError:
            break
        outer.end()
        inner, depth = outer, depth + 1
        assert depth < 10000
    sem = device.create_semaphore()
    device.queue_execute(inner, signal=[(sem, 1)])
    sem.wait(1, timeout=30)
    assert depth > 1 and out.read() == b"\x07\x08\x09\x0a"


@pytest.mark.parametrize("keep", [60, 1000, 3000, 20000])
def test_truncated_iree_system_library_is_refused_not_loaded(tmp_path, keep):
    """A truncated ELF file is refused before dlopen, which would map past its end and
    die of SIGBUS (found by the fuzzer); run in a child so a regression cannot kill us."""
    import importlib.util
    import subprocess
    import sys

    library = importlib.util.find_spec("polyhal.drivers.local._executor").origin
    path = tmp_path / "truncated.so"
    with open(library, "rb") as f:
        path.write_bytes(f.read()[:keep])
    code = (
        "import polyhal as hal\n"
        "d = hal.create_device('local')\n"
        "try:\n"
        f"    source = hal.ExecutableSource([], {{'iree-system-library': {str(path)!r}}})\n"
        "    d.create_executable(source)\n"
        "except hal.InvalidArgumentError as e:\n"
        "    print('refused:', e)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "not a complete ELF" in proc.stdout
