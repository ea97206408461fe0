"""All-reduce across MPI processes: polyhal's collective beside mpi4py's ``Allreduce``.

    python benchmarks/bench_collective.py [--ranks 4] [--mib 16] [--reps 30] [--json FILE]
    mpiexec -n 4 python benchmarks/bench_collective.py        # the same, launched by hand

Started outside an MPI launch it runs itself under ``mpiexec -n RANKS``.  Every rank
all-reduces (float32, sum) ``--mib`` MiB: through mpi4py's ``Comm.Allreduce`` on numpy
arrays, and through a reusable polyhal command buffer holding one ALL_REDUCE collective
on each ``--devices`` device (default ``local``), submitted and waited for.  Repetitions
alternate between the two, each begins after an MPI barrier, and a repetition's time is
the slowest rank's; the figure is the median.  The goal (issue 13): polyhal ``local``
within 1.3x of mpi4py.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np

GOAL = 1.3


def _launched() -> bool:
    return any(v in os.environ for v in ("OMPI_COMM_WORLD_SIZE", "PMI_SIZE"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ranks", type=int, default=4, help="MPI processes (default 4)")
    parser.add_argument("--mib", type=float, default=16, help="MiB per rank (default 16)")
    parser.add_argument("--reps", type=int, default=30, help="repetitions (default 30)")
    parser.add_argument(
        "--devices", default="local", help="comma-separated polyhal devices (default local)"
    )
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    args = parser.parse_args(argv)
    if not _launched():
        from polyhal.tools.cli import mpiexec_command

        command = mpiexec_command(args.ranks, [sys.executable, __file__, *sys.argv[1:]])
        print("launching:", " ".join(command), flush=True)
        return subprocess.call(command)
    return run(args)


def run(args: argparse.Namespace) -> int:
    from mpi4py import MPI

    import polyhal as hal

    comm = MPI.COMM_WORLD
    rank, ranks = comm.Get_rank(), comm.Get_size()
    n = int(args.mib * 2**20) // 4
    send = np.full(n, rank + 1, np.float32)
    send[: min(n, 1000)] = np.arange(min(n, 1000), dtype=np.float32) * (rank + 1)
    out = np.empty_like(send)

    def slowest(seconds: float) -> float:
        return comm.allreduce(seconds, op=MPI.MAX)

    def mpi_once() -> float:
        comm.Barrier()
        start = time.perf_counter()
        comm.Allreduce(send, out, op=MPI.SUM)
        return slowest(time.perf_counter() - start)

    setups = []
    for uri in args.devices.split(","):
        device = hal.create_device(uri)
        channel = device.create_channel()
        source = device.buffer_from(send)
        target = device.allocate_buffer(4 * n)
        cb = device.create_command_buffer(hal.CommandBufferMode.DEFAULT)
        with cb:
            cb.collective(
                channel,
                hal.CollectiveOp(hal.CollectiveKind.ALL_REDUCE, hal.CollectiveReduction.SUM),
                0,
                source,
                target,
                n,
            )
        setups.append((uri, device, cb, device.create_semaphore(0), target))

    def polyhal_once(device: hal.Device, cb: hal.CommandBuffer, sem: hal.Semaphore) -> float:
        value = sem.query() + 1
        comm.Barrier()
        start = time.perf_counter()
        device.queue_execute(cb, signal=[(sem, value)])
        sem.wait(value, timeout=120)
        return slowest(time.perf_counter() - start)

    times: dict[str, list[float]] = {"mpi4py": [], **{s[0]: [] for s in setups}}
    mpi_once()  # warm-up
    for _, device, cb, sem, _ in setups:
        polyhal_once(device, cb, sem)
    for _ in range(args.reps):
        times["mpi4py"].append(mpi_once())
        for uri, device, cb, sem, _ in setups:
            times[uri].append(polyhal_once(device, cb, sem))

    mismatched = [
        uri for uri, *_, target in setups if not np.array_equal(target.to_numpy("float32"), out)
    ]
    for _, device, *_ in setups:
        device.close()
    if rank != 0:
        return 0
    medians = {name: statistics.median(values) for name, values in times.items()}
    size = 4 * n
    # Bus bandwidth as NCCL's tests define it for all-reduce: 2 (ranks - 1) / ranks bytes
    # moved per byte of the buffer.
    factor = 2 * (ranks - 1) / ranks
    print(
        f"all_reduce float32 sum, {size / 2**20:g} MiB per rank, {ranks} ranks, "
        f"median of {args.reps}"
    )
    print("| implementation | median | bus bandwidth | vs mpi4py |")
    print("| --- | --- | --- | --- |")
    base = medians["mpi4py"]
    for name, seconds in medians.items():
        label = "mpi4py `Allreduce`" if name == "mpi4py" else f"polyhal `{name}`"
        print(
            f"| {label} | {seconds * 1e3:.2f} ms | {factor * size / seconds / 1e9:.2f} GB/s "
            f"| {seconds / base:.2f}x |"
        )
    ok = not mismatched and all(medians[s[0]] <= GOAL * base for s in setups if s[0] == "local")
    if mismatched:
        print(f"RESULT MISMATCH on {mismatched}")
    print(f"goal: polyhal local <= {GOAL}x mpi4py: {'held' if ok else 'NOT held'}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"ranks": ranks, "bytes": size, "medians_s": medians, "times_s": times}, f)
    return 0 if not mismatched else 1


if __name__ == "__main__":
    sys.exit(main())
