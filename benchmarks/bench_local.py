"""Local-driver performance goals, side by side with the alternatives, in one run.

    python benchmarks/bench_local.py [--quick] [--json FILE]

Runs `polyhal bench` (the polyhal figures plus numpy and a prebuilt-argument ctypes loop)
and, when PyOpenCL with an OpenCL CPU platform (PoCL) is installed, the same workloads
through PoCL: per-kernel enqueue cost, enqueue+finish round trip, and y = x*s+o.
Also a ctypes loop that builds each call's dispatch state in Python, which is what a
Python-driven runtime does per dispatch.  Every figure is a median.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import statistics
import sys
import time

import numpy as np

import polyhal as hal
from polyhal.drivers.local.abi import DispatchState, EntryFunction, WorkgroupState
from polyhal.tools import bench


def ctypes_python_driven(reps: int) -> float:
    """A Python loop that builds each dispatch's state and calls the kernel via ctypes."""
    device = hal.create_device("local-sync")
    layout = hal.PipelineLayout([hal.DescriptorSetLayout([0])])
    exe = device.create_executable(
        hal.ExecutableSource(
            [hal.EntryPoint("touch", layout)], {"c": (bench.KERNELS / "bench.c").read_text()}
        )
    )
    counter = device.allocate_buffer(4)
    # the kernel's function pointer, as the driver contract gives it to the recorder
    fn = EntryFunction(exe.native.kernel(0, exe.entry_points[0])[0])
    n = 1000

    def loop() -> float:
        t = time.perf_counter()
        for _ in range(n):
            ptrs = (ctypes.c_void_p * 1)(counter.alloc.ptr)
            lens = (ctypes.c_size_t * 1)(4)
            state = DispatchState(1, 1, 1, 0, 1, 1, 1, 1, 1, None, ptrs, lens)
            fn(None, ctypes.byref(state), ctypes.byref(WorkgroupState()))
        return (time.perf_counter() - t) / n * 1e6

    return bench.median(loop, reps)


OPENCL = """
__kernel void touch(__global uint* c) { c[0] += 1; }
__kernel void axpb(__global const int* x, __global int* y, int s, int o) {
  size_t i = get_global_id(0); y[i] = x[i] * s + o; }
"""


def pocl(reps: int) -> list[dict]:
    try:
        import pyopencl as cl
    except ImportError:
        return []
    platforms = [p for p in cl.get_platforms() if p.get_devices(cl.device_type.CPU)]
    if not platforms:
        return []
    device = platforms[0].get_devices(cl.device_type.CPU)[0]
    ctx = cl.Context([device])
    q = cl.CommandQueue(ctx)
    prg = cl.Program(ctx, OPENCL).build()
    mf = cl.mem_flags
    counter = cl.Buffer(ctx, mf.READ_WRITE, 4)
    touch = prg.touch
    touch.set_args(counter)
    n = 1000

    def chain() -> float:
        t = time.perf_counter()
        for _ in range(n):
            cl.enqueue_nd_range_kernel(q, touch, (1,), (1,))
        q.finish()
        return (time.perf_counter() - t) / n * 1e6

    def round_trip() -> float:
        samples = []
        for _ in range(200):
            t = time.perf_counter()
            cl.enqueue_nd_range_kernel(q, touch, (1,), (1,))
            q.finish()
            samples.append(time.perf_counter() - t)
        return statistics.median(samples) * 1e6

    count = 4 << 20
    x_host = np.arange(count, dtype=np.int32)
    x = cl.Buffer(ctx, mf.READ_ONLY | mf.COPY_HOST_PTR, hostbuf=x_host)
    y = cl.Buffer(ctx, mf.WRITE_ONLY, 4 * count)
    axpb = prg.axpb
    axpb.set_args(x, y, np.int32(3), np.int32(7))

    def kernel() -> float:
        t = time.perf_counter()
        cl.enqueue_nd_range_kernel(q, axpb, (count,), (64,))
        q.finish()
        return (time.perf_counter() - t) * 1e3

    name = f"PoCL {device.name}"
    return [
        {
            "name": "pocl_enqueue_us",
            "value": bench.median(chain, reps),
            "unit": "us/dispatch",
            "what": f"alternative: {name}, 1000 in-order enqueues + finish",
            "goal": "",
        },
        {
            "name": "pocl_round_trip_us",
            "value": bench.median(round_trip, reps),
            "unit": "us",
            "what": f"alternative: {name}, enqueue + finish",
            "goal": "",
        },
        {
            "name": "pocl_axpb_ms",
            "value": bench.median(kernel, reps),
            "unit": "ms",
            "what": f"alternative: {name}, y = x*s+o, local size 64",
            "goal": "",
        },
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json")
    parser.add_argument("--device", default="local")
    args = parser.parse_args()
    reps = 5 if args.quick else 21
    report = bench.run(args.device, quick=args.quick)
    report["results"].append(
        {
            "name": "ctypes_python_loop_us",
            "value": ctypes_python_driven(reps),
            "unit": "us/call",
            "goal": "",
            "what": "alternative: Python loop building each dispatch state, calling via ctypes",
        }
    )
    report["results"] += pocl(reps)
    print(bench.table(report))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
