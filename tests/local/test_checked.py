"""Checked mode on the local drivers: allocations between guard pages, and an access fault
inside a kernel fails its submission with a DataLossError that names the entry point, the
workgroup, the binding and the offset, while the process, other buffers and the device
carry on."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import polyhal as hal

SOURCE = r"""
#include <time.h>
#include "polyhal.h"
POLYHAL_ENTRY(store4) {          /* 4 floats per workgroup into binding 1, however small */
  float* out = (float*)dispatch->binding_ptrs[1];
  for (int i = 0; i < 4; ++i) out[workgroup->workgroup_id_x * 4 + i] = 1.0f;
  return 0;
}
POLYHAL_ENTRY(store_before) {    /* one float 4 KiB before binding 0 */
  ((float*)dispatch->binding_ptrs[0])[-1024] = 1.0f;
  return 0;
}
POLYHAL_ENTRY(wild) {            /* a store through a wild pointer in workgroup 3 */
  if (workgroup->workgroup_id_x == 3) *(volatile int*)(uintptr_t)64 = 1;
  return 0;
}
POLYHAL_ENTRY(worker_store) {    /* workers store past binding 1; the caller dawdles */
  if (workgroup->processor_id == 0) {
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    do clock_gettime(CLOCK_MONOTONIC, &t);
    while ((t.tv_sec - t0.tv_sec) * 1000000000L + (t.tv_nsec - t0.tv_nsec) < 2000000L);
    return 0;
  }
  ((float*)dispatch->binding_ptrs[1])[1024 + workgroup->workgroup_id_x] = 2.0f;
  return 0;
}
POLYHAL_ENTRY(store_just_past) {  /* one float right after binding 1's last byte */
  *(float*)((char*)dispatch->binding_ptrs[1] + dispatch->binding_lengths[1]) = 1.0f;
  return 0;
}
static int dive(volatile char* up, int depth) {  /* 4 KiB a frame, without end */
  volatile char frame[4096];
  frame[0] = (char)depth;
  return dive(frame, depth + 1) + frame[0] + up[0];
}
POLYHAL_ENTRY(overflow) {         /* workgroup 2 overflows its thread's stack */
  static volatile char top;
  return workgroup->workgroup_id_x == 2 ? dive(&top, 0) : 0;
}
POLYHAL_ENTRY(iota) {            /* out[wg] = wg */
  ((uint32_t*)dispatch->binding_ptrs[0])[workgroup->workgroup_id_x] = workgroup->workgroup_id_x;
  return 0;
}
"""

LAYOUT = hal.PipelineLayout([hal.DescriptorSetLayout([0, 1])])


@pytest.fixture(params=["local", "local-sync"])
def device(request):
    with hal.create_device(request.param, checked=True) as d:
        yield d


@pytest.fixture
def exe(device):
    names = (
        "store4",
        "store_before",
        "wild",
        "worker_store",
        "store_just_past",
        "overflow",
        "iota",
    )
    return device.create_executable(
        hal.ExecutableSource([hal.EntryPoint(n, LAYOUT) for n in names], {"c": SOURCE})
    )


def submit(device, exe, entry, count, bindings, naming="direct"):
    """Runs one dispatch; ``naming="slot"``: through binding-table slots of a reusable
    command buffer, which the executor resolves at each run."""
    if naming == "slot":
        cb = device.create_command_buffer(
            hal.CommandBufferMode.DEFAULT, binding_capacity=len(bindings)
        )
        refs, table = [hal.Slot(i) for i in range(len(bindings))], list(bindings)
    else:
        cb, refs, table = device.create_command_buffer(), list(bindings), None
    with cb:
        cb.dispatch(exe, entry, count, bindings=list(enumerate(refs)))
    sem = device.create_semaphore()
    device.queue_execute(cb, signal=[(sem, 1)], binding_table=table)
    return sem


def assert_device_still_works(device, exe):
    out = device.allocate_buffer(4 * 100)
    submit(device, exe, "iota", 100, [out, out]).wait(1, timeout=30)
    assert np.array_equal(out.to_numpy("uint32"), np.arange(100, dtype=np.uint32))


@pytest.mark.parametrize("naming", ["direct", "slot"])
def test_a_store_past_a_small_binding_fails_the_submission_and_harms_nothing(device, exe, naming):
    """The issue's case: a kernel that writes 4 floats per workgroup into an 8-byte
    output.  The first store that leaves the buffer's 64-byte aligned block hits the
    guard page; the submission fails naming where; neighbouring buffers keep their bytes."""
    before = device.buffer_from(np.full(256, 0x11, np.uint8))
    source = device.buffer_from(np.zeros(16, np.float32))
    out = device.allocate_buffer(8)
    after = device.buffer_from(np.full(256, 0x22, np.uint8))
    sem = submit(device, exe, "store4", 64, [source, out], naming)
    with pytest.raises(hal.DataLossError) as info:
        sem.wait(1, timeout=30)
    message = str(info.value)
    match = re.search(
        r"entry point 'store4' faulted in workgroup \((\d+), 0, 0\) \(SIGSEGV, "
        r"(write )?at address 0x[0-9a-f]+\): binding 1 at byte offset (\d+), "
        r"past the end of its 8 bytes",
        message,
    )
    assert match, message
    workgroup, offset = int(match.group(1)), int(match.group(3))
    # Workgroup w stores at bytes 16w..16w+15: the first one past the 64-byte block faults.
    assert workgroup >= 4 and offset == 16 * workgroup, message
    assert sem.failed
    assert before.read() == bytes([0x11]) * 256 and after.read() == bytes([0x22]) * 256
    assert source.read() == bytes(64)
    assert_device_still_works(device, exe)
    # The overrun also went through `out`'s padding: re-armed, it blames no later run.
    submit(device, exe, "iota", 2, [out, out], naming).wait(1, timeout=30)


def test_a_store_before_a_binding_names_the_negative_offset(device, exe):
    out = device.allocate_buffer(64)
    sem = submit(device, exe, "store_before", 1, [out, out])
    with pytest.raises(
        hal.DataLossError,
        match=r"'store_before' faulted in workgroup \(0, 0, 0\).*binding 0 "
        r"\(also bound as binding 1\) at byte offset -4096, 4096 bytes "
        r"before its start",
    ):
        sem.wait(1, timeout=30)
    assert_device_still_works(device, exe)


@pytest.mark.parametrize("naming", ["direct", "slot"])
def test_a_store_just_past_the_end_inside_the_alignment_padding_is_caught(device, exe, naming):
    """An 8-byte buffer ends 56 bytes before its guard page (64-byte alignment): a store
    right after it does not fault, but the padding's canary shows it after the run."""
    source = device.allocate_buffer(64)
    out = device.allocate_buffer(8)
    neighbour = device.buffer_from(np.full(64, 3, np.uint8))
    sem = submit(device, exe, "store_just_past", 1, [source, out], naming)
    with pytest.raises(
        hal.DataLossError,
        match=r"past the end of a 8-byte buffer, into its alignment padding.*"
        r"'store_just_past' binding 1 at byte offset 8, past the end of "
        r"its 8 bytes",
    ):
        sem.wait(1, timeout=30)
    assert neighbour.read() == bytes([3]) * 64
    assert_device_still_works(device, exe)
    # The canary is restored: a correct dispatch on the same buffer passes.
    submit(device, exe, "iota", 2, [out, out]).wait(1, timeout=30)
    assert out.to_numpy("uint32").tolist() == [0, 1]


def test_a_wild_pointer_in_a_kernel_fails_the_submission(device, exe):
    out = device.allocate_buffer(64)
    sem = submit(device, exe, "wild", 8, [out, out])
    with pytest.raises(
        hal.DataLossError,
        match=r"'wild' faulted in workgroup \(3, 0, 0\) \(SIGSEGV, (write )?at "
        r"address 0x40\): the address is in none of its 2 bindings",
    ):
        sem.wait(1, timeout=30)
    assert_device_still_works(device, exe)


def test_a_stack_overflow_in_a_kernel_fails_the_submission(device, exe):
    """The handler runs on an alternate signal stack, so even a kernel that exhausts its
    thread's stack is caught."""
    out = device.allocate_buffer(64)
    sem = submit(device, exe, "overflow", 4, [out, out])
    with pytest.raises(
        hal.DataLossError,
        match=r"'overflow' faulted in workgroup \(2, 0, 0\)"
        r".*none of its 2 bindings",
    ):
        sem.wait(1, timeout=60)
    assert_device_still_works(device, exe)


def test_faults_on_the_runner_thread_fail_the_submission():
    """Long work runs on the device's runner thread: a fault there is caught as well."""
    with hal.create_device("local", checked=True, inline_workgroups=0) as device:
        exe = device.create_executable(
            hal.ExecutableSource(
                [hal.EntryPoint(n, LAYOUT) for n in ("store4", "overflow", "iota")], {"c": SOURCE}
            )
        )
        source, out = device.allocate_buffer(64), device.allocate_buffer(8)
        for entry, pattern in (
            ("store4", r"binding 1 at byte offset \d+, past the end"),
            ("overflow", r"none of its 2 bindings"),
        ):
            sem = submit(device, exe, entry, 64, [source, out])
            with pytest.raises(hal.DataLossError, match=pattern):
                sem.wait(1, timeout=60)
        assert_device_still_works(device, exe)


def test_a_fault_on_a_worker_thread_fails_the_submission():
    with hal.create_device("local", checked=True, workers=1) as device:
        exe = device.create_executable(
            hal.ExecutableSource(
                [hal.EntryPoint("worker_store", LAYOUT), hal.EntryPoint("iota", LAYOUT)],
                {"c": SOURCE},
            )
        )
        source = device.allocate_buffer(64)
        out = device.allocate_buffer(64)
        neighbour = device.buffer_from(np.full(64, 7, np.uint8))
        sem = submit(device, exe, "worker_store", 64, [source, out])
        with pytest.raises(
            hal.DataLossError,
            match=r"'worker_store' faulted in workgroup "
            r"\(\d+, 0, 0\).*binding 1 at byte offset "
            r"\d+, past the end of its 64 bytes",
        ):
            sem.wait(1, timeout=30)
        assert neighbour.read() == bytes([7]) * 64
        assert_device_still_works(device, exe)


def test_faults_in_many_submissions_leave_the_device_working(device, exe):
    """Each recovery unblocks the signal and restores the thread: a second fault on the
    same thread is caught as the first was."""
    out = device.allocate_buffer(8)
    for _ in range(20):
        with pytest.raises(hal.DataLossError):
            submit(device, exe, "store4", 16, [out, out]).wait(1, timeout=30)
    assert_device_still_works(device, exe)


def test_a_fault_outside_any_kernel_still_ends_the_process(tmp_path):
    """Only faults inside a kernel are caught; any other one reaches the previous handler
    (here Python's faulthandler) and the process dies as it would without polyhal."""
    script = textwrap.dedent("""
        import ctypes, faulthandler
        faulthandler.enable()
        import polyhal as hal
        device = hal.create_device("local", checked=True)
        device.allocate_buffer(64)
        print("ready", flush=True)
        ctypes.string_at(0)
        print("survived", flush=True)
    """)
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert "ready" in proc.stdout and "survived" not in proc.stdout
    assert proc.returncode == -11, proc.stderr
    assert "Segmentation fault" in proc.stderr


def test_checked_allocations_keep_the_64_byte_alignment(device):
    for size in (0, 1, 8, 63, 64, 65, 4096, 100000):
        buffer = device.allocate_buffer(size)
        assert buffer.alloc.ptr % 64 == 0
        if size:
            buffer.write(np.full(size, 0x5A, np.uint8))
            assert buffer.read() == bytes([0x5A]) * size


def test_a_fault_handler_installed_later_that_reraises_is_survived():
    """faulthandler enabled after the device dumps its traceback and re-raises the signal:
    polyhal's handler still turns it into a failed submission (without the address), and
    catches later faults directly."""
    script = textwrap.dedent("""
        import faulthandler
        import polyhal as hal
        device = hal.create_device("local-sync", checked=True)
        faulthandler.enable()
        layout = hal.PipelineLayout([hal.DescriptorSetLayout([0])])
        exe = device.create_executable(hal.ExecutableSource([hal.EntryPoint("k", layout)], {
            "c": '#include "polyhal.h"\\n'
                 'POLYHAL_ENTRY(k) { ((float*)dispatch->binding_ptrs[0])[5000] = 1; return 0; }'}))
        out = device.allocate_buffer(64)
        for _ in range(2):
            cb = device.create_command_buffer()
            with cb:
                cb.dispatch(exe, 0, 1, bindings=[(0, out)])
            sem = device.create_semaphore()
            device.queue_execute(cb, signal=[(sem, 1)])
            try:
                sem.wait(1, timeout=30)
            except hal.DataLossError as e:
                print("failed:", e)
    """)
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    first, second = proc.stdout.splitlines()
    assert "'k' faulted" in first and "unknown address" in first
    assert "binding 0 at byte offset 20000, past the end of its 64 bytes" in second


def test_division_by_zero_a_trap_and_a_null_pointer_fail_the_submission():
    """SIGFPE (an integer division by zero) and SIGILL (a trap) inside a kernel killed the
    process even in checked mode; a read of address 0 was reported as "an unknown address".
    Each fails its submission, on local and local-sync, and the device carries on.  In a
    child process: a regression would kill the process."""
    script = textwrap.dedent(r"""
        import polyhal as hal
        SOURCE = '''
        #include "polyhal.h"
        POLYHAL_ENTRY(divide) {
          volatile int zero = 0;
          ((int*)dispatch->binding_ptrs[0])[0] = 7 / zero;
          return 0;
        }
        POLYHAL_ENTRY(trap) { if (workgroup->workgroup_id_x == 1) __builtin_trap(); return 0; }
        POLYHAL_ENTRY(null) {
          volatile int* volatile p = 0;
          ((int*)dispatch->binding_ptrs[0])[0] = *p;
          return 0;
        }
        POLYHAL_ENTRY(fine) { ((int*)dispatch->binding_ptrs[0])[0] = 5; return 0; }
        '''
        layout = hal.PipelineLayout([hal.DescriptorSetLayout([0])])
        for driver in ("local", "local-sync"):
            with hal.create_device(driver, checked=True) as device:
                exe = device.create_executable(hal.ExecutableSource(
                    [hal.EntryPoint(n, layout) for n in ("divide", "trap", "null", "fine")],
                    {"c": SOURCE}))
                out = device.allocate_buffer(64)
                for entry in ("divide", "trap", "null", "fine"):
                    cb = device.create_command_buffer()
                    with cb:
                        cb.dispatch(exe, entry, 4, bindings=[(0, out)])
                    sem = device.create_semaphore()
                    device.queue_execute(cb, signal=[(sem, 1)])
                    try:
                        sem.wait(1, timeout=60)
                        print(driver, entry, "ok", out.to_numpy("int32")[0], flush=True)
                    except hal.DataLossError as e:
                        print(driver, entry, e, flush=True)
    """)
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for driver in ("local", "local-sync"):
        assert re.search(
            rf"^{driver} divide entry point 'divide' faulted in workgroup "
            r"\(\d, 0, 0\) \(SIGFPE, ",
            proc.stdout,
            re.M,
        ), proc.stdout
        assert re.search(
            rf"^{driver} trap entry point 'trap' faulted in workgroup \(1, 0, 0\) "
            r"\(SIGILL, ",
            proc.stdout,
            re.M,
        ), proc.stdout
        assert re.search(
            rf"^{driver} null .*\(SIGSEGV, read at address 0x0\): no binding", proc.stdout, re.M
        ), proc.stdout
        assert f"{driver} fine ok 5" in proc.stdout
