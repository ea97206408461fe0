"""The demo: 2-D heat diffusion, one dispatch and one barrier per time step.

The whole run is recorded once as a reusable command buffer of ``steps_per_submit`` steps,
then submitted ``rounds`` times, each submission waiting on the previous one's timeline
value.  The result is checked against the same computation in numpy.

:func:`run_strips` is the same computation split across the ranks of a channel (one
process per rank under ``mpiexec``): each rank owns a strip of rows and exchanges its
edge rows with its neighbours by collectives every step (``polyhal demo --ranks N``).
"""

from __future__ import annotations

import os
import struct
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .. import (
    Channel,
    CollectiveKind,
    CollectiveOp,
    CommandBufferMode,
    DescriptorSetLayout,
    Device,
    EntryPoint,
    ExecutableSource,
    PipelineLayout,
    Slot,
    drivers,
)
from ..collective import send_recv_param

KERNELS = Path(__file__).parent / "kernels"
TILE = 16


@dataclass
class DemoResult:
    """What :func:`run` computed: the final grid, numpy's, their largest difference, the
    wall time in seconds of the submissions, and how many steps and submissions ran."""

    grid: np.ndarray
    reference: np.ndarray
    max_error: float
    seconds: float
    steps: int
    submissions: int
    #: The device it ran on, as "uri (name)".
    device: str = ""


def heat_source() -> ExecutableSource:
    layout = PipelineLayout([DescriptorSetLayout([0, 1])], push_constants=2)
    entry = EntryPoint("heat_step", layout, (TILE, TILE, 1))
    return ExecutableSource(
        [entry],
        {
            "c": (KERNELS / "heat.c").read_text(),
            "spirv": (KERNELS / "heat.spv").read_bytes(),
            "cuda": (KERNELS / "heat.cu").read_text(),
        },
    )


def initial_grid(n: int) -> np.ndarray:
    y, x = np.mgrid[0:n, 0:n].astype(np.float32) / max(n - 1, 1)
    grid = 100.0 * np.exp(-((x - 0.35) ** 2 + (y - 0.4) ** 2) / 0.01)
    grid += 60.0 * np.exp(-((x - 0.7) ** 2 + (y - 0.65) ** 2) / 0.005)
    grid[0, :] = 100.0  # a hot edge
    grid[-1, :] = grid[:, 0] = grid[:, -1] = 0.0
    return grid.astype(np.float32)


def reference(grid: np.ndarray, steps: int, alpha: float) -> np.ndarray:
    a = grid.copy()
    b = a.copy()
    alpha32 = np.float32(alpha)
    for _ in range(steps):
        b[1:-1, 1:-1] = a[1:-1, 1:-1] + alpha32 * (
            a[:-2, 1:-1] + a[2:, 1:-1] + a[1:-1, :-2] + a[1:-1, 2:] - np.float32(4) * a[1:-1, 1:-1]
        )
        a, b = b, a
    return a


def run(
    device: Device,
    n: int = 256,
    steps: int = 400,
    steps_per_submit: int = 20,
    alpha: float = 0.2,
    progress: bool = True,
) -> DemoResult:
    """Runs ``steps`` time steps (a multiple of ``steps_per_submit``, which must be even)."""
    if steps_per_submit % 2 or steps % steps_per_submit:
        raise ValueError("steps must be a multiple of steps_per_submit, which must be even")
    exe = device.create_executable(heat_source())
    layout = exe.entry_points[0].layout
    grid = initial_grid(n)
    a = device.buffer_from(grid)
    b = device.allocate_buffer(a.size)
    groups = ((n + TILE - 1) // TILE, (n + TILE - 1) // TILE, 1)
    constants = struct.pack("<If", n, alpha)

    # Record once: even steps read slot 0 and write slot 1, odd steps the reverse.
    cb = device.create_command_buffer(CommandBufferMode.DEFAULT, binding_capacity=2)
    with cb:
        cb.push_constants(layout, 0, constants)
        for step in range(steps_per_submit):
            src, dst = (Slot(0), Slot(1)) if step % 2 == 0 else (Slot(1), Slot(0))
            cb.push_descriptor_set(layout, 0, [(0, src), (1, dst)])
            cb.dispatch(exe, 0, groups)
            cb.execution_barrier()

    rounds = steps // steps_per_submit
    timeline = device.create_semaphore(0)
    start = time.perf_counter()
    for r in range(rounds):
        device.queue_execute(
            cb, wait=[(timeline, r)], signal=[(timeline, r + 1)], binding_table=[a, b]
        )
    bar = _Progress(rounds, "heat", enabled=progress)
    while True:
        value = timeline.query()
        bar.update(value)
        if value >= rounds:
            break
        try:
            timeline.wait(value + 1, timeout=0.05)
        except TimeoutError:
            pass
    seconds = time.perf_counter() - start
    bar.close()
    result = a.to_numpy("float32", (n, n))
    expected = reference(grid, steps, alpha)
    error = float(np.max(np.abs(result - expected)))
    return DemoResult(
        result, expected, error, seconds, steps, rounds, f"{device.uri} ({device.name})"
    )


def heat_strip_source() -> ExecutableSource:
    """The strip kernel: ``heat_strip_step`` over a rows x cols block whose border it copies
    (push constants: cols, rows, alpha as float32 bits)."""
    layout = PipelineLayout([DescriptorSetLayout([0, 1])], push_constants=3)
    entry = EntryPoint("heat_strip_step", layout, (TILE, TILE, 1))
    return ExecutableSource(
        [entry],
        {
            "c": (KERNELS / "heat_strip.c").read_text(),
            "spirv": (KERNELS / "heat_strip.spv").read_bytes(),
            "cuda": (KERNELS / "heat_strip.cu").read_text(),
        },
    )


#: Where launchers put a process's rank among those of its host (Open MPI, MPICH's
#: hydra, Slurm, torchrun).
LOCAL_RANK_VARIABLES = (
    "OMPI_COMM_WORLD_LOCAL_RANK",
    "MPI_LOCALRANKID",
    "SLURM_LOCALID",
    "LOCAL_RANK",
)


def rank_device(uri: str | None) -> str:
    """The device URI a rank of a multi-process launch opens: ``uri`` (None:
    ``$POLYHAL_DEVICE`` or "local") as given when it names an index or its driver has one
    device; otherwise device ``local rank % devices``, so that the processes of a host
    with several GPUs take one each instead of all sharing the first."""
    uri = uri or os.environ.get("POLYHAL_DEVICE") or "local"
    if ":" in uri:
        return uri
    count, _ = drivers.probe(uri)
    local = next((os.environ[v] for v in LOCAL_RANK_VARIABLES if v in os.environ), "")
    if count <= 1 or not local.isdigit():
        return uri
    return f"{uri}:{int(local) % count}"


def strip_rows(n: int, rank: int, count: int) -> tuple[int, int]:
    """The grid rows ``[first, stop)`` that ``rank`` of ``count`` updates: the interior
    rows 1 … n - 2 in ``count`` strips as even as can be."""
    interior = n - 2
    return 1 + rank * interior // count, 1 + (rank + 1) * interior // count


@dataclass
class StripsResult:
    """What :func:`run_strips` computed on one rank: the whole final grid and numpy's
    with their largest difference (on rank 0; None and NaN elsewhere), the wall time in
    seconds of this rank's submissions, steps, submissions and the channel's rank/count."""

    grid: np.ndarray | None
    reference: np.ndarray | None
    max_error: float
    seconds: float
    steps: int
    submissions: int
    rank: int
    ranks: int
    #: Where it ran, as "R ranks of uri (name)" (this rank's device).
    device: str = ""


def run_strips(
    device: Device,
    channel: Channel,
    n: int = 256,
    steps: int = 400,
    steps_per_submit: int = 20,
    alpha: float = 0.2,
) -> StripsResult:
    """:func:`run`'s heat diffusion with the grid split into strips of rows across the
    ranks of ``channel`` (every rank calls it with the same arguments).

    A rank keeps its rows with one halo row above and below: a copy of the neighbour's
    edge row, or the grid's fixed edge at either end.  Every step first refreshes the
    halos of the current grid with two SEND_RECV collectives (each rank sends its last
    row down and receives its upper halo, then sends its first row up and receives its
    lower halo; a rank at an end receives into scratch), then runs the strip kernel.
    ``steps_per_submit`` steps are recorded once into a reusable command buffer that is
    submitted in a chain of timeline values, as :func:`run` does.  At the end an
    ALL_GATHER of the (padded) strips gives rank 0 the whole grid, checked there against
    numpy.  ValueError when there are more ranks than interior rows.
    """
    if steps_per_submit % 2 or steps % steps_per_submit:
        raise ValueError("steps must be a multiple of steps_per_submit, which must be even")
    rank, count = channel.rank, channel.count
    if count > n - 2:
        raise ValueError(f"{count} ranks need a grid of at least {count + 2} rows, got {n}")
    first, stop = strip_rows(n, rank, count)
    rows = stop - first + 2  # with the halos
    row = 4 * n  # bytes
    exe = device.create_executable(heat_strip_source())
    layout = exe.entry_points[0].layout
    grid = initial_grid(n)
    a = device.buffer_from(grid[first - 1 : stop + 1])
    b = device.allocate_buffer(a.size)
    scratch = device.allocate_buffer(row)  # the halo an end rank receives nothing into
    up = rank - 1 if rank > 0 else -1  # -1: no neighbour there
    down = rank + 1 if rank < count - 1 else -1
    exchange = CollectiveOp(CollectiveKind.SEND_RECV)
    groups = ((n + TILE - 1) // TILE, (rows + TILE - 1) // TILE, 1)
    constants = struct.pack("<IIf", n, rows, alpha)

    cb = device.create_command_buffer(CommandBufferMode.DEFAULT, binding_capacity=2)
    with cb:
        cb.push_constants(layout, 0, constants)
        for step in range(steps_per_submit):
            src, dst = (Slot(0), Slot(1)) if step % 2 == 0 else (Slot(1), Slot(0))
            upper = (src, 0, row) if up >= 0 else (scratch, 0, row)
            lower = (src, (rows - 1) * row, row) if down >= 0 else (scratch, 0, row)
            last, first_row = (src, (rows - 2) * row, row), (src, row, row)
            cb.collective(channel, exchange, send_recv_param(down, up), last, upper, n)
            cb.collective(channel, exchange, send_recv_param(up, down), first_row, lower, n)
            cb.execution_barrier()
            cb.push_descriptor_set(layout, 0, [(0, src), (1, dst)])
            cb.dispatch(exe, 0, groups)
            cb.execution_barrier()

    rounds = steps // steps_per_submit
    timeline = device.create_semaphore(0)
    start = time.perf_counter()
    for r in range(rounds):
        device.queue_execute(
            cb, wait=[(timeline, r)], signal=[(timeline, r + 1)], binding_table=[a, b]
        )
    timeline.wait(rounds)
    seconds = time.perf_counter() - start

    # Every rank's strip, padded to the tallest, gathered into one block per rank.
    tallest = max(hi - lo for lo, hi in (strip_rows(n, r, count) for r in range(count)))
    mine = device.allocate_buffer(tallest * row)
    gathered = device.allocate_buffer(count * tallest * row)
    gather = device.create_command_buffer(CommandBufferMode.ONE_SHOT)
    with gather:
        gather.copy_buffer(a, row, mine, 0, (rows - 2) * row)
        gather.execution_barrier()
        gather.collective(
            channel, CollectiveOp(CollectiveKind.ALL_GATHER), 0, mine, gathered, tallest * n
        )
    done = device.create_semaphore(0)
    device.queue_execute(gather, signal=[(done, 1)])
    done.wait(1)
    where = f"{count} ranks of {device.uri} ({device.name})"
    if rank != 0:
        return StripsResult(None, None, float("nan"), seconds, steps, rounds, rank, count, where)
    blocks = gathered.to_numpy("float32", (count, tallest, n))
    result = grid.copy()
    for r in range(count):
        lo, hi = strip_rows(n, r, count)
        result[lo:hi] = blocks[r, : hi - lo]
    expected = reference(grid, steps, alpha)
    error = float(np.max(np.abs(result - expected)))
    return StripsResult(result, expected, error, seconds, steps, rounds, rank, count, where)


class _Progress:
    """A one-line progress bar on stderr (only on a terminal)."""

    def __init__(self, total: int, label: str, enabled: bool = True):
        self.total, self.label = total, label
        self.enabled = enabled and sys.stderr.isatty()
        self.shown = -1

    def update(self, done: int) -> None:
        if not self.enabled or done == self.shown:
            return
        self.shown = done
        width = 30
        filled = width * done // max(self.total, 1)
        sys.stderr.write(
            f"\r{self.label} [{'#' * filled}{'.' * (width - filled)}] {done}/{self.total}"
        )
        sys.stderr.flush()

    def close(self) -> None:
        if self.enabled:
            sys.stderr.write("\n")


def plot(result: DemoResult, path: str) -> None:
    """Writes a PNG of the final temperature field to ``path`` (needs matplotlib)."""
    import matplotlib.pyplot as plt

    fig = figure(result)
    fig.savefig(path)
    plt.close(fig)


def figure(result: DemoResult) -> Any:
    """The picture of :func:`plot` as a matplotlib Figure: the field with axes in cells, a
    colorbar, and the device and grid size in the title (needs matplotlib)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = result.grid.shape[0]
    fig, ax = plt.subplots(figsize=(5.6, 5.2), dpi=120)
    im = ax.imshow(result.grid, cmap="inferno", origin="upper", extent=(0, n, n, 0))
    ax.set_title(
        f"heat diffusion, {n}x{n} grid, {result.steps} steps\n"
        f"on {result.device or 'an unnamed device'}",
        fontsize=10,
    )
    ax.set_xlabel("x (cell)")
    ax.set_ylabel("y (cell)")
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label="temperature (hot edge = 100)")
    fig.tight_layout()
    return fig
