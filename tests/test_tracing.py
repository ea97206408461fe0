"""Tracing: ``device.trace(path)``, ``POLYHAL_TRACE`` and ``polyhal bench --trace`` write a
valid Chrome/Perfetto trace (JSON trace-event array) of the queue and of host waits."""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import subprocess
import sys
import textwrap
import threading
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

import polyhal as hal
from polyhal import tracing

DRIVERS = ["local", "local-sync", "vulkan", "cuda"]

# The traced program and the checks of its dispatch events, shared with the self-check
# that is run on the GPU machine.
_spec = importlib.util.spec_from_file_location(
    "trace_check", Path(__file__).resolve().parent.parent / "scripts" / "trace_check.py"
)
trace_check = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(trace_check)


@pytest.fixture(params=DRIVERS)
def device(request):
    if request.param.split("-")[0] not in hal.available_drivers():
        pytest.skip(f"no {request.param} device here")
    with hal.create_device(request.param) as dev:
        yield dev


def _operations(events):
    """{id: (name, args, [nested slice names])} of the async queue slices, checked for
    balance: every "b" has its "e", nested ones inside their parent."""
    ops: dict[int, list] = {}
    for e in events:
        if e.get("cat") == "queue":
            ops.setdefault(e["id"], []).append(e)
    out = {}
    for op_id, evs in ops.items():
        outer_b, *inner, outer_e = evs
        assert outer_b["ph"] == "b" and outer_e["ph"] == "e"
        assert outer_b["name"] == outer_e["name"] and outer_b["ts"] <= outer_e["ts"]
        assert len(inner) % 2 == 0
        for b, e in zip(inner[::2], inner[1::2], strict=True):
            assert (b["ph"], e["ph"]) == ("b", "e") and b["name"] == e["name"]
            assert outer_b["ts"] <= b["ts"] <= e["ts"] <= outer_e["ts"]
        out[op_id] = (outer_b["name"], outer_b.get("args", {}), [b["name"] for b in inner[::2]])
    return out


def test_traced_program_writes_every_queue_operation(device, tmp_path):
    path = tmp_path / "trace.json"
    with device.trace(path):
        timeline = device.create_semaphore(0)
        a = device.buffer_from(np.arange(16, dtype=np.uint32))
        b = device.allocate_buffer(64)
        device.queue_fill(b, 0, 64, 7, wait=[(timeline, 1)], signal=[(timeline, 2)])
        device.queue_copy(a, 0, b, 0, 32, wait=[(timeline, 2)], signal=[(timeline, 3)])
        device.queue_update(b"abcd", 0, b, 60, 4, wait=[(timeline, 3)], signal=[(timeline, 4)])
        cb = device.create_command_buffer()
        with cb:
            cb.fill_buffer(a, 0, 16, 0)
        device.queue_execute(cb, wait=[(timeline, 4)], signal=[(timeline, 5)])
        device.queue_host_call(lambda: None, wait=[(timeline, 5)], signal=[(timeline, 6)])
        scratch = device.queue_alloca(64, wait=[(timeline, 6)], signal=[(timeline, 7)])
        device.queue_dealloca(scratch, wait=[(timeline, 7)], signal=[(timeline, 8)])
        device.queue_barrier(wait=[(timeline, 8)], signal=[(timeline, 9)])
        timeline.signal(1)  # releases the chain; the host blocks below until it is done
        timeline.wait(9, timeout=30)
        failed = device.create_semaphore(0)
        failed.fail(hal.StatusCode.ABORTED, "on purpose")
        device.queue_barrier(wait=[(failed, 1)], signal=[(device.create_semaphore(0), 1)])
        tracing_copy = b.read()  # host access is not traced, only queue work and waits
        later = device.create_semaphore(0)
        threading.Timer(0.05, later.signal, (1,)).start()
        later.wait(1, timeout=30)  # blocks: a host wait that is reached
        with pytest.raises(hal.DeadlineExceededError):
            later.wait(2, timeout=0.01)  # a host wait that times out
    assert tracing_copy[60:] == b"abcd"
    events = json.loads(path.read_text())
    ops = _operations(events)
    names = [name for name, _, _ in ops.values()]
    assert names == [
        "queue_fill",
        "queue_copy",
        "queue_update",
        "queue_execute",
        "queue_host_call",
        "queue_alloca",
        "queue_dealloca",
        "queue_barrier",
        "queue_barrier",
    ]
    fill_args, fill_inner = ops[1][1], ops[1][2]
    assert fill_args["waits"] == ["s1 >= 1"] and fill_args["signals"] == ["s1 = 2"]
    assert fill_inner == ["waiting", "running"]  # parked until the host signalled 1
    assert all("running" in inner for name, _, inner in list(ops.values())[:-1])
    last_args, last_inner = ops[9][1], ops[9][2]
    assert last_args["error"] == "ABORTED: on purpose" and "running" not in last_inner
    waits = {e["name"]: e for e in events if e.get("cat") == "host"}
    assert all(e["ph"] == "X" and e["dur"] >= 0 for e in waits.values())
    later = "s4"  # numbered after the timeline, the failed semaphore and its signal
    assert waits[f"wait {later} >= 1"]["args"]["outcome"] == "reached"
    assert waits[f"wait {later} >= 1"]["dur"] >= 20_000  # µs: the timer fired after 50 ms
    assert waits[f"wait {later} >= 2"]["args"]["outcome"] == "timed out"
    processes = [e for e in events if e["ph"] == "M" and e["name"] == "process_name"]
    assert [p["args"]["name"] for p in processes] == [f"polyhal {device.uri} ({device.name})"]


def test_trace_ends_with_pending_work_marked_and_tracing_off_again(device, tmp_path):
    path = tmp_path / "trace.json"
    gate = device.create_semaphore(0)
    with device.trace(path) as tracer:
        device.queue_barrier(wait=[(gate, 1)], signal=[(gate, 2)])
        tracer.complete_event(
            "kernel",
            tracer.now_us(),
            12.5,
            device=device,
            tid="dispatch",
            args={"entry_point": "k"},
        )
    assert device._tracer is None
    gate.signal(1)
    gate.wait(2, timeout=30)
    events = json.loads(path.read_text())
    ((name, args, inner),) = _operations(events).values()
    assert name == "queue_barrier" and args["state"].startswith("still pending")
    (kernel,) = [e for e in events if e["name"] == "kernel"]
    assert kernel["ph"] == "X" and kernel["dur"] == 12.5 and kernel["cat"] == "device"
    track = [
        e
        for e in events
        if e["ph"] == "M" and e["name"] == "thread_name" and e["tid"] == kernel["tid"]
    ]
    assert track[0]["args"]["name"] == "dispatch"


def test_bad_trace_path_is_invalid_argument(tmp_path):
    with hal.create_device("local-sync") as dev:
        for path in (None, "", tmp_path / "no-such-dir" / "t.json", tmp_path):
            with pytest.raises(hal.InvalidArgumentError):
                dev.trace(path).__enter__()
        assert dev._tracer is None


def test_unwritable_polyhal_trace_warns_and_runs_untraced(tmp_path):
    program = textwrap.dedent("""
        import polyhal as hal
        with hal.create_device("local") as dev:
            assert dev._tracer is None
            s = dev.create_semaphore(0)
            dev.queue_barrier(signal=[(s, 1)])
            s.wait(1, timeout=10)
        print("ran")
    """)
    env = dict(os.environ, POLYHAL_TRACE=str(tmp_path / "missing" / "t.json"))
    proc = subprocess.run(
        [sys.executable, "-c", program], env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0 and proc.stdout.strip() == "ran", proc.stderr
    assert "POLYHAL_TRACE" in proc.stderr and "cannot write the trace" in proc.stderr


def test_polyhal_trace_env_traces_every_device_of_the_process(tmp_path):
    path = tmp_path / "env.json"
    program = textwrap.dedent("""
        import polyhal as hal
        for uri in ("local", "local-sync"):
            with hal.create_device(uri) as dev:
                s = dev.create_semaphore(0)
                dev.queue_barrier(signal=[(s, 1)])
                s.wait(1, timeout=10)
    """)
    env = dict(os.environ, POLYHAL_TRACE=str(path))
    proc = subprocess.run(
        [sys.executable, "-c", program], env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    events = json.loads(path.read_text())
    processes = {
        e["pid"]: e["args"]["name"]
        for e in events
        if e["ph"] == "M" and e["name"] == "process_name"
    }
    assert sorted(name.split()[1] for name in processes.values()) == ["local", "local-sync"]
    per_process = Counter(e["pid"] for e in events if e.get("cat") == "queue")
    assert set(per_process) == set(processes)


def test_bench_trace_writes_a_trace(tmp_path):
    path = tmp_path / "bench.json"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "polyhal.tools.cli",
            "bench",
            "--quick",
            "--device",
            "local",
            "--trace",
            str(path),
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == 0, proc.stderr
    assert f"wrote {path}" in proc.stdout
    events = json.loads(path.read_text())
    ops = _operations(events)
    assert Counter(name for name, _, _ in ops.values())["queue_execute"] > 100
    dispatches = Counter(e["name"] for e in events if e.get("cat") == "dispatch")
    assert dispatches["touch"] > 100 and dispatches["axpb"] > 0, dispatches


def test_traced_program_has_each_dispatch_timed_by_entry_point(device, tmp_path):
    path = tmp_path / "trace.json"
    with device.trace(path):
        per_submission = trace_check.run_program(device)
    assert device._driver.trace is None  # off again: later submissions are not timed
    events = json.loads(path.read_text())
    assert trace_check.problems(events, per_submission) == []
    dispatches = trace_check.dispatch_events(events)
    assert [e["name"] for e in dispatches] == list(trace_check.ENTRY_POINTS) * 3
    assert [e["args"]["submission"] for e in dispatches] == [1, 1, 1, 2, 2, 2, 3, 3, 3]
    assert all(e["args"]["command_buffer"] == 0 for e in dispatches)
    assert [e["args"]["dispatch"] for e in dispatches] == [0, 1, 2] * 3


def test_untraced_device_and_untraced_submissions_time_nothing(device, tmp_path):
    path = tmp_path / "trace.json"
    with hal.create_device(device.uri) as other, other.trace(path):
        trace_check.run_program(device)  # this device is not traced
        gate = other.create_semaphore(0)
        other.queue_barrier(signal=[(gate, 1)])
        gate.wait(1, timeout=30)
    assert device._tracer is None and device._driver.trace is None
    events = json.loads(path.read_text())
    assert trace_check.dispatch_events(events) == []
    assert [name for name, _, _ in _operations(events).values()] == ["queue_barrier"]


def test_vulkan_without_calibrated_timestamps_aligns_with_the_submission(tmp_path):
    if "vulkan" not in hal.available_drivers():
        pytest.skip("no vulkan device here")
    path = tmp_path / "trace.json"
    with hal.create_device("vulkan") as dev:
        dev._driver.calibrated = False  # as on a device without VK_EXT_calibrated_timestamps
        with dev.trace(path):
            per_submission = trace_check.run_program(dev)
    events = json.loads(path.read_text())
    assert trace_check.problems(events, per_submission) == []
    assert len(trace_check.dispatch_events(events)) == 9


def test_tracer_is_off_by_default():
    with hal.create_device("local") as dev:
        assert dev._tracer is None
    assert tracing.TRACE_ENV not in os.environ


def test_logger_polyhal_reports_driver_selection_and_executable_format(caplog):
    caplog.set_level(logging.DEBUG, logger="polyhal")
    source = hal.ExecutableSource(
        [hal.EntryPoint("k", hal.PipelineLayout([hal.DescriptorSetLayout([0])]))],
        {"spirv": b"not loaded here", "c": '#include "polyhal.h"\nPOLYHAL_ENTRY(k) { return 0; }'},
    )
    with hal.create_device("local-sync") as dev:
        dev.create_executable(source)
    messages = [r.getMessage() for r in caplog.records if r.name.startswith("polyhal")]
    assert any(m.startswith("create_device('local-sync'):") for m in messages), messages
    assert any("loaded from format 'c'" in m for m in messages), messages


def test_logger_polyhal_reports_vulkan_slow_paths_once(caplog):
    if "vulkan" not in hal.available_drivers():
        pytest.skip("no vulkan device here")
    caplog.set_level(logging.INFO, logger="polyhal")
    layout = hal.PipelineLayout([hal.DescriptorSetLayout([0])])
    with hal.create_device("vulkan") as dev:
        alignment = dev.info["min_storage_buffer_offset_alignment"]
        exe = dev.create_executable(
            hal.ExecutableSource(
                [hal.EntryPoint("first", layout, (trace_check.SIZE, 1, 1))],
                {"spirv": trace_check.SPIRV},
            )
        )
        size = trace_check.GROUPS * trace_check.SIZE * 4
        out = dev.allocate_buffer(size + 64)
        for _ in range(2):
            cb = dev.create_command_buffer()
            with cb:
                cb.fill_buffer(out, 1, 6, 7, 1)  # partial words at both edges
                cb.execution_barrier()
                if alignment > 4:  # a binding offset Vulkan cannot bind: an aligned copy
                    cb.dispatch(exe, "first", trace_check.GROUPS, bindings=[(0, out, 4, size)])
            done = dev.create_semaphore(0)
            dev.queue_execute(cb, signal=[(done, 1)])
            done.wait(1, timeout=30)
    messages = [
        r.getMessage()
        for r in caplog.records
        if r.name.startswith("polyhal") and "slow path" in r.getMessage()
    ]
    assert sum("32-bit words" in m for m in messages) == 1, messages
    if alignment > 4:
        assert sum("minStorageBufferOffsetAlignment" in m for m in messages) == 1, messages


def test_indirect_and_nested_dispatches_are_timed(device, tmp_path):
    if device.driver == "cuda":
        pytest.skip("cuda runs command buffers with an indirect dispatch as graphs, untimed")
    path = tmp_path / "trace.json"
    layout = hal.PipelineLayout([hal.DescriptorSetLayout([0])])
    exe = device.create_executable(
        hal.ExecutableSource(
            [
                hal.EntryPoint(name, layout, (trace_check.SIZE, 1, 1))
                for name in trace_check.ENTRY_POINTS
            ],
            {
                "c": trace_check.C_SOURCE,
                "spirv": trace_check.SPIRV,
                "cuda": trace_check.CUDA_SOURCE,
            },
        )
    )
    out = device.allocate_buffer(trace_check.GROUPS * trace_check.SIZE * 4)
    counts = device.buffer_from(np.array([trace_check.GROUPS, 1, 1], dtype=np.uint32))
    inner = device.create_command_buffer()
    with inner:
        inner.dispatch(exe, "third", (trace_check.GROUPS, 1, 1), bindings=[(0, out)])
    cb = device.create_command_buffer()
    with cb:
        cb.dispatch(exe, "first", (trace_check.GROUPS, 1, 1), bindings=[(0, out)])
        cb.execution_barrier()
        cb.dispatch_indirect(exe, "second", counts, bindings=[(0, out)])
        cb.execution_barrier()
        cb.execute_commands(inner)
    done = device.create_semaphore(0)
    with device.trace(path):
        device.queue_execute(cb, signal=[(done, 1)])
        done.wait(1, timeout=60)
    assert np.array_equal(out.to_numpy("uint32"), trace_check.EXPECTED)
    dispatches = trace_check.dispatch_events(json.loads(path.read_text()))
    assert [(e["name"], e["args"]["dispatch"], e["args"]["workgroups"]) for e in dispatches] == [
        ("first", 0, [trace_check.GROUPS, 1, 1]),
        ("second", 1, "indirect"),
        ("third", 2, [trace_check.GROUPS, 1, 1]),
    ]
    assert all(e["dur"] > 0 for e in dispatches)


def test_shipped_spirv_is_the_glsl_compiled(tmp_path):
    """scripts/trace_check_spirv holds what glslangValidator makes of trace_check.GLSL."""
    import shutil
    import subprocess

    if not shutil.which("glslangValidator"):
        pytest.skip("glslangValidator is not installed")
    for name, source in trace_check.GLSL.items():
        src = tmp_path / f"{name}.comp"
        src.write_text(source)
        out = tmp_path / f"{name}.spv"
        subprocess.run(
            [
                "glslangValidator",
                "-V",
                "-g0",
                "--target-env",
                "vulkan1.2",
                "-S",
                "comp",
                "-e",
                name,
                "--source-entrypoint",
                "main",
                "-o",
                str(out),
                str(src),
            ],
            check=True,
            capture_output=True,
        )
        assert out.read_bytes() == trace_check.SPIRV[name], name
