"""Recording cost per command, and one-shot record + submit + complete, on one device.

The figures of issue "record any command in about a microsecond": medians of repeated
runs of 1000 commands, validation on (the default), one-shot command buffers.

    python benchmarks/bench_record.py [--device local] [--reps 15]

Forms measured (per command, record + end()):
- shorthand_same: ``cb.dispatch(exe, 1, 1, constants=[i, 1], bindings=[(0, x), (1, y)])``
  with new lists every dispatch naming the same two buffers;
- shorthand_fresh: the same with the buffers rotating among 8 pairs, so that bindings
  change on every dispatch (the case of a real program);
- push_fresh: ``push_constants`` + ``push_descriptor_set`` + ``dispatch`` with rotating
  buffers;
- repeat: ``dispatch(exe, 1, 1)`` with nothing pushed in between (the best case);
- barrier, fill (4 bytes), copy (64 bytes), update (16 bytes);
- oneshot_e2e: record + end + submit + wait of 1000 one-workgroup dispatches with fresh
  state, per dispatch.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

import polyhal as hal
from polyhal.tools.bench import KERNELS, median

N = 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="local")
    parser.add_argument("--reps", type=int, default=15)
    parser.add_argument("--json", help="also write the figures here")
    args = parser.parse_args()
    dev = hal.create_device(args.device)
    layout = hal.PipelineLayout([hal.DescriptorSetLayout([0, 1])], push_constants=2)
    src = hal.ExecutableSource(
        [
            hal.EntryPoint("touch", hal.PipelineLayout([hal.DescriptorSetLayout([0])])),
            hal.EntryPoint("axpb", layout, (64, 1, 1)),
        ],
        {
            "c": (KERNELS / "bench.c").read_text(),
            "spirv": {
                "touch": (KERNELS / "bench_touch.spv").read_bytes(),
                "axpb": (KERNELS / "bench_axpb.spv").read_bytes(),
            },
            "cuda": (KERNELS / "bench.cu").read_text(),
        },
    )
    exe = dev.create_executable(src)
    pairs = [(dev.allocate_buffer(256), dev.allocate_buffer(256)) for _ in range(8)]
    x, y = pairs[0]
    z = dev.allocate_buffer(256)
    payload = np.arange(4, dtype=np.uint32).tobytes()
    sem = dev.create_semaphore(0)
    value = [0]

    def timed(body, submit=False):
        def run() -> float:
            t = time.perf_counter()
            cb = dev.create_command_buffer()
            cb.begin()
            body(cb)
            cb.end()
            if submit:
                value[0] += 1
                dev.queue_execute(cb, signal=[(sem, value[0])])
                sem.wait(value[0])
            return (time.perf_counter() - t) / N * 1e6

        return median(run, args.reps)

    def shorthand_same(cb):
        for i in range(N):
            cb.dispatch(exe, 1, 1, constants=[i, 1], bindings=[(0, x), (1, y)])

    def shorthand_fresh(cb):
        for i in range(N):
            a, b = pairs[i & 7]
            cb.dispatch(exe, 1, 1, constants=[i, 1], bindings=[(0, a), (1, b)])

    def push_fresh(cb):
        for i in range(N):
            a, b = pairs[i & 7]
            cb.push_constants(layout, 0, [i, 1])
            cb.push_descriptor_set(layout, 0, [(0, a), (1, b)])
            cb.dispatch(exe, 1, 1)

    def repeat(cb):
        cb.dispatch(exe, 1, 1, constants=[0, 1], bindings=[(0, x), (1, y)])
        for _ in range(N - 1):
            cb.dispatch(exe, 1, 1)

    def barrier(cb):
        for _ in range(N):
            cb.execution_barrier()

    def fill(cb):
        for i in range(N):
            cb.fill_buffer(z, 4 * (i & 63), 4, i)

    def copy(cb):
        for i in range(N):
            cb.copy_buffer(x, 64 * (i & 3), z, 0, 64)

    def update(cb):
        for i in range(N):
            cb.update_buffer(payload, 0, z, 16 * (i & 15), 16)

    figures = {
        "shorthand_same_us": timed(shorthand_same),
        "shorthand_fresh_us": timed(shorthand_fresh),
        "push_fresh_us": timed(push_fresh),
        "repeat_us": timed(repeat),
        "barrier_us": timed(barrier),
        "fill_us": timed(fill),
        "copy_us": timed(copy),
        "update_us": timed(update),
        "oneshot_e2e_us": timed(shorthand_fresh, submit=True),
    }
    dev.close()
    print(f"device {args.device}: per command, median of {args.reps}")
    for k, v in figures.items():
        print(f"  {k:22s} {v:8.3f}")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
