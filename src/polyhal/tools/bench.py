"""``polyhal bench``: the figures of the local-performance goals, side by side with the
alternatives that run in the same process (a Python ctypes loop, numpy).

Every figure is the median of several repetitions.
"""

from __future__ import annotations

import ctypes
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from .. import (
    CommandBufferMode,
    DescriptorFlags,
    DescriptorSetLayout,
    DescriptorSetLayoutBinding,
    EntryPoint,
    ExecutableSource,
    PipelineLayout,
    create_device,
)
from ..drivers.local.abi import DispatchState, EntryFunction, WorkgroupState

KERNELS = Path(__file__).parent / "kernels"


def median(fn: Callable[[], float], reps: int) -> float:
    """The median of ``reps`` calls of ``fn`` after one warm-up call."""
    fn()  # warm-up
    return statistics.median(fn() for _ in range(reps))


def _machine() -> str:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import os

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"{model or platform.processor() or platform.machine()}, {cores} cores"


def _ctypes_loop(exe: Any, counter: Any, n: int, reps: int, add: Callable) -> None:
    """The alternative on the CPU: the same kernel called from a Python loop via ctypes."""
    # The kernel's function pointer, as the driver contract gives it to the recorder.
    fn = EntryFunction(exe.native.kernel(0, exe.entry_points[0])[0])
    ptrs = (ctypes.c_void_p * 1)(counter.alloc.ptr)
    lengths = (ctypes.c_size_t * 1)(4)
    state = DispatchState(1, 1, 1, 0, 1, 1, 1, 1, 1, None, ptrs, lengths)
    wg = WorkgroupState()

    def ctypes_loop() -> float:
        t = time.perf_counter()
        for _ in range(n):
            fn(None, state, wg)
        return (time.perf_counter() - t) / n * 1e6

    add(
        "ctypes_loop_us",
        median(ctypes_loop, reps),
        "us/call",
        "alternative: a Python loop calling the same kernel through ctypes",
    )


def run(uri: str | None = None, quick: bool = False, progress: bool = True) -> dict[str, Any]:
    reps = 5 if quick else 21
    device = create_device(uri)
    layout1 = PipelineLayout([DescriptorSetLayout([0])])
    x_read_only = DescriptorSetLayoutBinding(0, DescriptorFlags.READ_ONLY)
    layout2 = PipelineLayout([DescriptorSetLayout([x_read_only, 1])], push_constants=2)
    source = ExecutableSource(
        [EntryPoint("touch", layout1), EntryPoint("axpb", layout2, (64, 1, 1))],
        {
            "c": (KERNELS / "bench.c").read_text(),
            "spirv": {
                "touch": (KERNELS / "bench_touch.spv").read_bytes(),
                "axpb": (KERNELS / "bench_axpb.spv").read_bytes(),
            },
            "cuda": (KERNELS / "bench.cu").read_text(),
        },
    )
    exe = device.create_executable(source)
    counter = device.allocate_buffer(4)
    results: list[dict[str, Any]] = []
    steps = 6
    done = 0

    def step(label: str) -> None:
        nonlocal done
        done += 1
        if progress and sys.stderr.isatty():
            sys.stderr.write(f"\r[{done}/{steps}] {label:60s}")
            sys.stderr.flush()

    def add(name: str, value: float, unit: str, what: str, goal: str = "") -> None:
        # The goals are the local driver's (docs/benchmarks.md); elsewhere they do not apply.
        results.append(
            {
                "name": name,
                "value": value,
                "unit": unit,
                "what": what,
                "goal": goal if device.driver == "local" else "",
            }
        )

    # 1. dispatch overhead: 1000 one-workgroup dispatches with a barrier after each.
    step("dispatch overhead")
    n = 1000
    cb = device.create_command_buffer(CommandBufferMode.DEFAULT)
    with cb:
        cb.push_descriptor_set(layout1, 0, [(0, counter)])
        for _ in range(n):
            cb.dispatch(exe, 0, 1)
            cb.execution_barrier()
    sem = device.create_semaphore(0)
    value = [0]

    def chain() -> float:
        value[0] += 1
        t = time.perf_counter()
        device.queue_execute(cb, signal=[(sem, value[0])])
        sem.wait(value[0])
        return (time.perf_counter() - t) / n * 1e6

    add(
        "dispatch_overhead_us",
        median(chain, reps),
        "us/dispatch",
        "reusable command buffer of 1000 one-workgroup dispatches + barriers",
        "<= 1",
    )

    if device.driver in ("local", "local-sync"):
        step("ctypes loop")
        _ctypes_loop(exe, counter, n, reps, add)

    # 2. submit -> signal round trip of a one-dispatch command buffer.
    step("round trip")
    one = device.create_command_buffer(CommandBufferMode.DEFAULT)
    with one:
        one.dispatch(exe, 0, 1, bindings=[(0, counter)])

    def round_trip() -> float:
        samples = []
        for _ in range(200):
            value[0] += 1
            t = time.perf_counter()
            device.queue_execute(one, signal=[(sem, value[0])])
            sem.wait(value[0])
            samples.append(time.perf_counter() - t)
        return statistics.median(samples) * 1e6

    add(
        "round_trip_us",
        median(round_trip, reps),
        "us",
        "queue_execute of a one-dispatch command buffer until its semaphore is signalled",
        "<= 20",
    )

    # 3. memory-bound kernel vs numpy.
    step("y = x*s + o")
    count = 4 << 20
    x_host = np.arange(count, dtype=np.int32)
    x = device.buffer_from(x_host)
    y = device.allocate_buffer(4 * count)
    axpb = device.create_command_buffer(CommandBufferMode.DEFAULT)
    with axpb:
        axpb.dispatch(
            exe, 1, (1024, count // 64 // 1024), constants=[3, 7], bindings=[(0, x), (1, y)]
        )

    def kernel() -> float:
        value[0] += 1
        t = time.perf_counter()
        device.queue_execute(axpb, signal=[(sem, value[0])])
        sem.wait(value[0])
        return (time.perf_counter() - t) * 1e3

    def numpy_axpb() -> float:
        t = time.perf_counter()
        x_host * 3 + 7
        return (time.perf_counter() - t) * 1e3

    y_host = np.empty_like(x_host)

    def numpy_axpb_out() -> float:
        t = time.perf_counter()
        np.multiply(x_host, 3, out=y_host)
        np.add(y_host, 7, out=y_host)
        return (time.perf_counter() - t) * 1e3

    kernel_ms = median(kernel, reps)
    numpy_ms = median(numpy_axpb, reps)
    numpy_out_ms = median(numpy_axpb_out, reps)
    assert np.array_equal(y.to_numpy("int32"), x_host * 3 + 7), "axpb result is wrong"
    add("axpb_ms", kernel_ms, "ms", "y = x*s+o, 4M int32, 64-element workgroups")
    add("numpy_axpb_ms", numpy_ms, "ms", "alternative: numpy x*s+o")
    add(
        "numpy_axpb_out_ms",
        numpy_out_ms,
        "ms",
        "alternative: numpy into a preallocated output (multiply, add with out=)",
    )
    add("axpb_vs_numpy", kernel_ms / numpy_ms, "x", "polyhal time / numpy x*s+o time", "<= 0.5")
    add(
        "axpb_vs_numpy_out",
        kernel_ms / numpy_out_ms,
        "x",
        "polyhal time / numpy time with a preallocated output",
    )

    # 4. recording cost of one-shot commands, validation on: each command recorded and
    # end() encoding them, per command.  The case users hit first: new constants and
    # bindings on every dispatch (new lists; the input rotating among 8 buffers, the output
    # a new 256-byte range of one buffer each time, so that the program is race-free).
    step("recording")
    m = 1000
    z = device.allocate_buffer(64 * m)  # each transfer its own range: race-free
    inputs = [device.allocate_buffer(256) for _ in range(8)]
    out = device.allocate_buffer(256 * m)
    payload = bytes(16)

    def per_command(body: Callable[[Any], None], submit: bool = False) -> Callable[[], float]:
        def run() -> float:
            t = time.perf_counter()
            c = device.create_command_buffer()
            c.begin()
            body(c)
            c.end()
            if submit:
                value[0] += 1
                device.queue_execute(c, signal=[(sem, value[0])])
                sem.wait(value[0])
            return (time.perf_counter() - t) / m * 1e6

        return run

    def shorthand(c: Any) -> None:
        for i in range(m):
            c.dispatch(
                exe, 1, 1, constants=[i, 1], bindings=[(0, inputs[i & 7]), (1, out, 256 * i, 256)]
            )

    def push_form(c: Any) -> None:
        for i in range(m):
            c.push_constants(layout2, 0, [i, 1])
            c.push_descriptor_set(layout2, 0, [(0, inputs[i & 7]), (1, out, 256 * i, 256)])
            c.dispatch(exe, 1, 1)

    def unchanged(c: Any) -> None:
        c.push_descriptor_set(layout1, 0, [(0, counter)])
        for _ in range(m // 2):  # each bumps the counter: a barrier after each
            c.dispatch(exe, 0, 1)
            c.execution_barrier()

    def barriers(c: Any) -> None:
        for _ in range(m):
            c.execution_barrier()

    def fills(c: Any) -> None:
        for i in range(m):
            c.fill_buffer(z, 4 * i, 4, i)

    def copies(c: Any) -> None:
        for i in range(m):
            c.copy_buffer(x, 64 * (i & 3), z, 64 * i, 64)

    def updates(c: Any) -> None:
        for i in range(m):
            c.update_buffer(payload, 0, z, 16 * i, 16)

    add(
        "record_dispatch_fresh_us",
        median(per_command(shorthand), reps),
        "us/dispatch",
        "one-shot: dispatch(exe, 1, 1, constants=[i, 1], bindings=[(0, a), (1, b, off, 256)])"
        ", new lists and other buffers every dispatch; recorded + end()",
        "<= 1",
    )
    add(
        "record_push_fresh_us",
        median(per_command(push_form), reps),
        "us/dispatch",
        "one-shot: push_constants + push_descriptor_set + dispatch, new state every "
        "dispatch; recorded + end()",
        "<= 1",
    )
    add(
        "record_us",
        median(per_command(unchanged), reps),
        "us/command",
        "one-shot: dispatches with the pushed state unchanged (the best case), a barrier "
        "after each; per command, recorded + end()",
        "<= 2",
    )
    for name, body in (
        ("barrier", barriers),
        ("fill", fills),
        ("copy", copies),
        ("update", updates),
    ):
        add(
            f"record_{name}_us",
            median(per_command(body), reps),
            "us/command",
            f"one-shot: {name} commands recorded + end()",
            "<= 0.5",
        )
    add(
        "oneshot_fresh_us",
        median(per_command(shorthand, submit=True), reps),
        "us/dispatch",
        "one-shot: 1000 one-workgroup dispatches with fresh state, recorded + submitted + "
        "completed",
        "<= 1.5",
    )
    step("done")
    if progress and sys.stderr.isatty():
        sys.stderr.write("\n")
    device.close()
    return {
        "device": device.uri,
        "device_name": device.name,
        "machine": _machine(),
        "python": platform.python_version(),
        "results": results,
    }


def table(report: dict[str, Any]) -> str:
    lines = [
        f"polyhal bench on {report['device']} ({report['device_name']}); "
        f"{report['machine']}; Python {report['python']}",
        f"{'figure':24s} {'median':>10s} {'unit':12s} {'goal':8s} what",
    ]
    for r in report["results"]:
        lines.append(
            f"{r['name']:24s} {r['value']:10.3f} {r['unit']:12s} {r['goal']:8s} {r['what']}"
        )
    return "\n".join(lines)


def plot(report: dict[str, Any], path: str) -> None:
    """One panel per unit, polyhal beside its alternatives, goals as dashed lines."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels: dict[str, list[dict[str, Any]]] = {}
    for r in report["results"]:
        unit = "us per call" if r["unit"] in ("us/dispatch", "us/call") else r["unit"]
        panels.setdefault(unit, []).append(r)
    fig, axes = plt.subplots(
        len(panels), 1, figsize=(8, 1.1 * len(report["results"]) + 1), dpi=110, squeeze=False
    )
    for ax, (unit, rows) in zip(axes[:, 0], panels.items(), strict=True):
        colors = ["#888888" if r["what"].startswith("alternative") else "#3b7dd8" for r in rows]
        ax.barh([r["name"] for r in rows], [r["value"] for r in rows], color=colors)
        for i, r in enumerate(rows):
            ax.text(r["value"], i, f" {r['value']:.3g}", va="center", fontsize=8)
            goal = r["goal"].replace("<=", "").strip()
            if goal:
                ax.plot(
                    [float(goal)] * 2,
                    [i - 0.45, i + 0.45],
                    color="#d83b3b",
                    linestyle="--",
                    linewidth=1.2,
                )
        ax.invert_yaxis()
        ax.set_xlabel(unit, fontsize=8)
        ax.tick_params(labelsize=8)
        ax.margins(x=0.2)
    fig.suptitle(
        f"polyhal bench: {report['device']} on {report['machine']} "
        "(blue: polyhal, grey: alternatives, red: goal)",
        fontsize=9,
    )
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
