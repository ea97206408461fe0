"""Heat diffusion split into strips of rows across MPI ranks, halos exchanged every step.

    mpiexec -n 2 python examples/heat_ranks.py                   # local (the CPU)
    mpiexec -n 4 python examples/heat_ranks.py --device vulkan --size 128
    polyhal demo --ranks 2                                       # the same, launched for you

(As root, Open MPI wants ``--allow-run-as-root``; more ranks than cores ``--oversubscribe``.)
Every rank opens its device and a channel whose rank and count come from mpiexec; the
computation is :func:`polyhal.tools.demo.run_strips`: each rank keeps its strip of the grid
with a halo row above and below, and every step refreshes the halos with two SEND_RECV
collectives (its last row down, its first row up) before the stencil dispatch.  The steps
are recorded once into a reusable command buffer and submitted in a chain of timeline
values; at the end an ALL_GATHER hands rank 0 the whole grid, which it checks against numpy.
"""

from __future__ import annotations

import argparse
import sys

import polyhal as hal
from polyhal.tools import demo


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="local", help="device URI (default local)")
    parser.add_argument("--size", type=int, default=64, help="grid size N (N x N cells)")
    parser.add_argument("--steps", type=int, default=100, help="time steps")
    parser.add_argument("--steps-per-submit", type=int, default=10, help="steps recorded")
    args = parser.parse_args(argv)

    # One device per process: "cuda" on a host of several GPUs means cuda:<local rank>.
    with hal.create_device(demo.rank_device(args.device)) as device:
        channel = device.create_channel()  # rank and count from mpiexec
        result = demo.run_strips(
            device, channel, n=args.size, steps=args.steps, steps_per_submit=args.steps_per_submit
        )
    if result.rank != 0:
        return 0
    ok = result.max_error <= 1e-3
    print(
        f"{result.device}: {args.size}x{args.size} grid, "
        f"{result.steps} steps in {result.seconds * 1e3:.1f} ms; "
        f"max |polyhal - numpy| = {result.max_error:.2e}: {'OK' if ok else 'MISMATCH'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
