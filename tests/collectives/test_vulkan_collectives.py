"""Collectives on the vulkan driver: two devices of one process sharing a channel, and
vulkan_ranks.py under ``mpiexec -n {2,3}``, where every rank must report all its cases
passed (CONFORMANCE.md, Collectives)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

import polyhal as hal
from polyhal import drivers
from polyhal.tools.cli import mpiexec_command

HERE = Path(__file__).resolve().parent


def _skip_reason() -> str | None:
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        return "mpi4py is not installed (pip install 'polyhal[mpi]')"
    if not os.path.isabs(mpiexec_command(2, [])[0]):
        return "no mpiexec (pip install 'polyhal[mpi]' brings Open MPI's)"
    count, reason = drivers.probe("vulkan")
    if not count:
        return f"vulkan: {reason}"
    return None


def _vulkan_missing() -> str | None:
    count, reason = drivers.probe("vulkan")
    return None if count else f"vulkan: {reason}"


needs_vulkan = pytest.mark.skipif(_vulkan_missing() is not None, reason=str(_vulkan_missing()))


@pytest.fixture(params=[False, True], ids=["mapped", "staged"])
def two_ranks(request: pytest.FixtureRequest) -> Iterator[list]:
    """Two vulkan devices of this process, ranks 0 and 1 of one channel, with every
    collective range mapped in place or (``staged``) through staging copies."""
    from polyhal.drivers.vulkan import collectives

    collectives.ALWAYS_STAGE = request.param
    devices = [hal.create_device("vulkan") for _ in range(2)]
    token = hal.Channel.unique_id()
    try:
        yield [(d, d.create_channel(r, 2, id=token, timeout=20)) for r, d in enumerate(devices)]
    finally:
        collectives.ALWAYS_STAGE = False
        for device in devices:
            device.close()


@needs_vulkan
def test_two_devices_of_one_process(two_ranks: list) -> None:
    # fill → all_reduce → copy back over the input, twice (a reusable command buffer in a
    # timeline chain): the copy sees the reduction, the second round the first's result.
    op = hal.CollectiveOp(hal.CollectiveKind.ALL_REDUCE, hal.CollectiveReduction.SUM)
    sems, buffers = [], []
    for rank, (device, channel) in enumerate(two_ranks):
        x = device.allocate_buffer(64)
        out = device.allocate_buffer(64)
        cb = device.create_command_buffer(hal.CommandBufferMode.DEFAULT)
        with cb:
            cb.collective(channel, op, 0, x, out, 16)
            cb.execution_barrier()
            cb.copy_buffer(out, 0, x, 0, 64)
        x.write(np.full(16, rank + 1, np.float32).tobytes())
        sem = device.create_semaphore()
        for r in range(2):
            device.queue_execute(cb, wait=[(sem, r)], signal=[(sem, r + 1)])
        sems.append(sem)
        buffers.append(x)
    for sem, x in zip(sems, buffers, strict=True):
        sem.wait(2, timeout=60)
        assert x.to_numpy("float32").tolist() == [6.0] * 16  # (1 + 2) then (3 + 3)


@needs_vulkan
def test_a_device_failing_before_its_collective_fails_its_peer(two_ranks: list) -> None:
    # Rank 1's indirect dispatch has a workgroup count past the limit: its submission
    # fails with OutOfRangeError before the collective, and rank 0's with AbortedError.
    layout = hal.PipelineLayout([hal.DescriptorSetLayout([0])])
    op = hal.CollectiveOp(hal.CollectiveKind.ALL_REDUCE, hal.CollectiveReduction.SUM)
    sems = []
    for rank, (device, channel) in enumerate(two_ranks):
        buf = device.buffer_from(np.ones(4, np.float32))
        cb = device.create_command_buffer()
        with cb:
            if rank == 1:
                exe = device.create_executable(
                    hal.ExecutableSource([hal.EntryPoint("touch", layout, (1, 1, 1))], TOUCH)
                )
                counts = device.buffer_from(np.array([0xFFFFFFFF, 1, 1], np.uint32))
                cb.dispatch_indirect(exe, 0, counts, bindings=[(0, buf)])
                cb.execution_barrier()
            cb.collective(channel, op, 0, buf, buf, 4)
        sem = device.create_semaphore()
        device.queue_execute(cb, signal=[(sem, 1)])
        sems.append(sem)
    with pytest.raises(hal.AbortedError, match="rank 1"):
        sems[0].wait(1, timeout=60)
    with pytest.raises(hal.OutOfRangeError):
        sems[1].wait(1, timeout=60)


TOUCH = {
    "glsl": """
#version 450
layout(local_size_x = 1) in;
layout(set = 0, binding = 0) buffer B { float b[]; };
void main() { b[0] += 1.0; }
"""
}

needs_mpi = pytest.mark.skipif(_skip_reason() is not None, reason=str(_skip_reason()))


@needs_mpi
@pytest.mark.parametrize("ranks", [2, 3])
def test_every_rank_passes(ranks: int) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OMPI_", "PMI"))}
    command = mpiexec_command(ranks, [sys.executable, str(HERE / "vulkan_ranks.py")])
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=600, env=env, cwd=HERE, check=False
    )
    results = [
        json.loads(line[len("RESULT ") :])
        for line in done.stdout.splitlines()
        if line.startswith("RESULT ")
    ]
    assert done.returncode == 0 and len(results) == ranks, (
        f"mpiexec exited {done.returncode} with {len(results)} of {ranks} results\n"
        f"{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
    )
    assert sorted(r["rank"] for r in results) == list(range(ranks))
    failures = {r["rank"]: r["failures"] for r in results if r["failures"]}
    assert failures == {}
    # The conformance cases twice (mapped, staged) and the vulkan ones all ran.
    assert all(r["passed"] > 400 for r in results), [r["passed"] for r in results]
