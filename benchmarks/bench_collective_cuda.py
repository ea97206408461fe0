"""All-reduce on two GPUs: polyhal's cuda driver (NCCL through nccl4py) beside NCCL through
``torch.distributed``, in the same two processes and the same run.

Goals (issue 13): 256 MiB float32 all_reduce within 1.1x of torch.distributed's time, and
an 8 KiB all_reduce's submit-to-complete latency within 1.2x of torch's.  Both sides are
timed the same way, on rank 0's host clock: from the call that issues the all_reduce to
the return of the wait for its completion (torch: ``dist.all_reduce`` then
``torch.cuda.synchronize()``; polyhal: ``queue_execute`` then ``Semaphore.wait``), one
all_reduce at a time; the two sides alternate in rounds and the medians are of all rounds.
polyhal runs one-shot command buffers (recorded ahead, each submitted once: a launch
program calling NCCL on the queue's stream) and a reusable one (its CUDA graph).

    python benchmarks/bench_collective_cuda.py [--rounds 3] [--json out.json]

Needs two CUDA devices, torch with NCCL, and nccl4py.  NVLink multicast stays off
(NCCL_NVLS_ENABLE=0, set for both ranks).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import time

BIG = 256 * 2**20  # bytes
SMALL = 8 * 2**10


def _median(values: list[float]) -> float:
    values = sorted(values)
    n = len(values)
    return values[n // 2] if n % 2 else 0.5 * (values[n // 2 - 1] + values[n // 2])


def log(rank: int, what: str) -> None:
    print(f"[rank {rank}] {what}", file=sys.stderr, flush=True)


def worker(rank: int, rounds: int) -> dict | None:
    import numpy as np
    import torch
    import torch.distributed as dist

    import polyhal as hal

    torch.cuda.set_device(rank)
    dist.init_process_group("nccl", rank=rank, world_size=2, device_id=torch.device("cuda", rank))
    device = hal.create_device(f"cuda:{rank}")
    channel = device.create_channel(timeout=120)  # rank, count and id over torch.distributed
    log(rank, "channel made")
    op = hal.CollectiveOp(hal.CollectiveKind.ALL_REDUCE, hal.CollectiveReduction.SUM)
    results: dict[str, list[float]] = {}

    def add(name: str, seconds: float) -> None:
        results.setdefault(name, []).append(seconds)

    def torch_side(size: int, iterations: int) -> None:
        x = torch.ones(size // 4, dtype=torch.float32, device=f"cuda:{rank}")
        for _ in range(3):
            dist.all_reduce(x)
        torch.cuda.synchronize()
        dist.barrier()
        for _ in range(iterations):
            start = time.perf_counter()
            dist.all_reduce(x)
            torch.cuda.synchronize()
            add(f"torch {size}", time.perf_counter() - start)

    sem = device.create_semaphore(0)
    value = [0]

    def submit_wait(cb: hal.CommandBuffer) -> None:
        value[0] += 1
        device.queue_execute(cb, signal=[(sem, value[0])])
        sem.wait(value[0], timeout=60)

    def polyhal_side(size: int, iterations: int) -> None:
        send = device.buffer_from(np.ones(size // 4, np.float32))
        recv = device.allocate_buffer(size)
        one_shots = []
        for _ in range(iterations):  # recorded ahead: the time is the submission's
            cb = device.create_command_buffer(hal.CommandBufferMode.ONE_SHOT)
            with cb:
                cb.collective(channel, op, 0, send, recv, size // 4)
            one_shots.append(cb)
        dist.barrier()
        for cb in one_shots:
            start = time.perf_counter()
            submit_wait(cb)
            add(f"polyhal one-shot {size}", time.perf_counter() - start)
        # Recorded once the one-shots ran: NCCL made its connections for this size then,
        # not while the graph captures it.
        reusable = device.create_command_buffer(hal.CommandBufferMode.DEFAULT)
        with reusable:
            reusable.collective(channel, op, 0, send, recv, size // 4)
        for _ in range(3):
            submit_wait(reusable)
        dist.barrier()
        for _ in range(iterations):
            start = time.perf_counter()
            submit_wait(reusable)
            add(f"polyhal reusable {size}", time.perf_counter() - start)
        got = recv.to_numpy("float32", shape=(size // 4,))
        assert (got == 2).all(), "polyhal's all_reduce result is wrong"

    for r in range(rounds):
        torch_side(BIG, 20)
        log(rank, f"round {r}: torch 256 MiB done")
        polyhal_side(BIG, 20)
        log(rank, f"round {r}: polyhal 256 MiB done")
        torch_side(SMALL, 300)
        polyhal_side(SMALL, 300)
        log(rank, f"round {r}: 8 KiB done")
    info = {
        "gpu": torch.cuda.get_device_name(rank),
        "torch": torch.__version__,
        "torch_nccl": ".".join(map(str, torch.cuda.nccl.version())),
    }
    from polyhal.drivers.cuda import collective

    info["polyhal_nccl"] = collective.nccl().version_string
    info["cuda_driver"] = device.info.get("cuda_driver_version")
    device.close()
    dist.destroy_process_group()
    if rank:
        return None
    return {"card": info, "medians_us": {k: _median(v) * 1e6 for k, v in results.items()}}


def report(out: dict) -> str:
    m = out["medians_us"]
    lines = [
        f"card: {json.dumps(out['card'])}",
        "| all_reduce | torch.distributed | polyhal one-shot | polyhal reusable | best/torch |",
        "|---|---|---|---|---|",
    ]
    for size, label in ((BIG, "256 MiB float32"), (SMALL, "8 KiB float32")):
        t = m[f"torch {size}"]
        o, r = m[f"polyhal one-shot {size}"], m[f"polyhal reusable {size}"]
        gbs = "" if size == SMALL else f" ({size / t / 1e3:.0f} GB/s)"
        lines.append(
            f"| {label} | {t:.1f} us{gbs} | {o:.1f} us | {r:.1f} us | {min(o, r) / t:.2f}x |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", help="write the medians here too")
    parser.add_argument("--rank", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rank is not None:
        out = worker(args.rank, args.rounds)
        if out is not None:
            print("RESULT " + json.dumps(out), flush=True)
        return
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {
        **os.environ,
        "NCCL_NVLS_ENABLE": "0",
        # polyhal's driver sets this where NCCL is first initialised by it; torch
        # initialises NCCL first here, so both ranks get it from the start (both sides).
        "NCCL_RUNTIME_CONNECT": "0",
        "MASTER_ADDR": "127.0.0.1",
        "MASTER_PORT": str(port),
    }
    procs = [
        subprocess.Popen(
            [sys.executable, __file__, "--rank", str(r), "--rounds", str(args.rounds)],
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        for r in range(2)
    ]
    outputs = [p.communicate(timeout=540)[0] for p in procs]
    if any(p.returncode for p in procs):
        raise SystemExit(f"a rank failed: {[p.returncode for p in procs]}\n{outputs}")
    line = next(x for x in outputs[0].splitlines() if x.startswith("RESULT "))
    out = json.loads(line[len("RESULT ") :])
    print(report(out))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
