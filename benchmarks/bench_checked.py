"""What checked mode costs on the local driver, checked against unchecked in one run.

    python benchmarks/bench_checked.py [--quick] [--json FILE] [--device local|local-sync]

Figures (medians): allocation and release of a small and a 1 MiB buffer; dispatch
overhead (a reusable command buffer of 1000 one-workgroup dispatches, a barrier after
each); submit-to-signal round trip of one dispatch; y = x*s + o over 4M int32 (64-element
workgroups) as the bandwidth kernel.  Also the bandwidth kernel run on the caller's thread
rather than the runner thread (``inline_workgroups`` raised), which is what handing long
work off the caller costs.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from typing import Any

import numpy as np

import polyhal as hal
from polyhal.tools import bench


class Setup:
    """One device with the bench kernels, a counter and the axpb buffers."""

    def __init__(self, uri: str, checked: bool, **options: Any):
        self.device = hal.create_device(uri, checked=checked, **options)
        self.layout1 = hal.PipelineLayout([hal.DescriptorSetLayout([0])])
        read_only = hal.DescriptorSetLayoutBinding(0, hal.DescriptorFlags.READ_ONLY)
        layout2 = hal.PipelineLayout([hal.DescriptorSetLayout([read_only, 1])], push_constants=2)
        self.exe = self.device.create_executable(
            hal.ExecutableSource(
                [
                    hal.EntryPoint("touch", self.layout1),
                    hal.EntryPoint("axpb", layout2, (64, 1, 1)),
                ],
                {"c": (bench.KERNELS / "bench.c").read_text()},
            )
        )
        self.counter = self.device.allocate_buffer(4)
        self.sem = self.device.create_semaphore()
        self.value = 0

    def submit(self, cb: hal.CommandBuffer) -> float:
        """Seconds from queue_execute to the signal."""
        self.value += 1
        t = time.perf_counter()
        self.device.queue_execute(cb, signal=[(self.sem, self.value)])
        self.sem.wait(self.value)
        return time.perf_counter() - t


def allocation_us(s: Setup, size: int, reps: int) -> float:
    n = 200

    def loop() -> float:
        t = time.perf_counter()
        for _ in range(n):
            s.device.allocate_buffer(size)  # released at once: it is never referenced
        return (time.perf_counter() - t) / n * 1e6

    return bench.median(loop, reps)


def dispatch_overhead_us(s: Setup, reps: int) -> float:
    n = 1000
    cb = s.device.create_command_buffer(hal.CommandBufferMode.DEFAULT)
    with cb:
        cb.push_descriptor_set(s.layout1, 0, [(0, s.counter)])
        for _ in range(n):
            cb.dispatch(s.exe, 0, 1)
            cb.execution_barrier()
    return bench.median(lambda: s.submit(cb) / n * 1e6, reps)


def round_trip_us(s: Setup, reps: int) -> float:
    cb = s.device.create_command_buffer(hal.CommandBufferMode.DEFAULT)
    with cb:
        cb.dispatch(s.exe, 0, 1, bindings=[(0, s.counter)])
    return bench.median(lambda: statistics.median(s.submit(cb) for _ in range(200)) * 1e6, reps)


def axpb_ms(s: Setup, reps: int) -> float:
    count = 4 << 20
    x_host = np.arange(count, dtype=np.int32)
    x = s.device.buffer_from(x_host)
    y = s.device.allocate_buffer(4 * count)
    cb = s.device.create_command_buffer(hal.CommandBufferMode.DEFAULT)
    with cb:
        cb.dispatch(
            s.exe, 1, (1024, count // 64 // 1024), constants=[3, 7], bindings=[(0, x), (1, y)]
        )
    ms = bench.median(lambda: statistics.median(s.submit(cb) for _ in range(10)) * 1e3, reps)
    assert np.array_equal(y.to_numpy("int32"), x_host * 3 + 7), "axpb result is wrong"
    return ms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument("--device", default="local", choices=("local", "local-sync"))
    args = parser.parse_args()
    reps = 5 if args.quick else 21
    rows: list[tuple[str, str, float, float]] = []
    setups = {checked: Setup(args.device, checked) for checked in (False, True)}

    def figure(name: str, unit: str, measure: Any) -> None:
        # Interleave the two modes so drift on a shared machine hits both alike.
        values = {False: [], True: []}
        for _ in range(3):
            for checked, s in setups.items():
                values[checked].append(measure(s))
        rows.append((name, unit, statistics.median(values[False]), statistics.median(values[True])))

    figure("allocate + release 64 B", "us", lambda s: allocation_us(s, 64, reps))
    figure("allocate + release 1 MiB", "us", lambda s: allocation_us(s, 1 << 20, reps))
    figure(
        "dispatch overhead (1000 one-workgroup dispatches + barriers)",
        "us/dispatch",
        lambda s: dispatch_overhead_us(s, reps),
    )
    figure("submit -> signal round trip, one dispatch", "us", lambda s: round_trip_us(s, reps))
    figure("y = x*s+o, 4M int32, 64-element workgroups", "ms", lambda s: axpb_ms(s, reps))
    if args.device == "local":
        inline = {
            checked: Setup(args.device, checked, inline_workgroups=2**40)
            for checked in (False, True)
        }
        setups = inline
        figure(
            "y = x*s+o on the caller's thread (inline_workgroups=2**40)",
            "ms",
            lambda s: axpb_ms(s, reps),
        )
    width = max(len(r[0]) for r in rows)
    print(f"{'figure':{width}}  {'unchecked':>10}  {'checked':>10}  {'ratio':>6}  unit")
    for name, unit, plain, checked in rows:
        print(f"{name:{width}}  {plain:10.3f}  {checked:10.3f}  {checked / plain:6.2f}  {unit}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(
                [{"name": n, "unit": u, "unchecked": a, "checked": b} for n, u, a, b in rows],
                f,
                indent=2,
            )


if __name__ == "__main__":
    main()
