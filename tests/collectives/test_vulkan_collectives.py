"""Collectives on the vulkan driver across processes: vulkan_ranks.py under ``mpiexec -n
{2,3}``; every rank must report all its cases passed (CONFORMANCE.md, Collectives)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

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


pytestmark = pytest.mark.skipif(_skip_reason() is not None, reason=str(_skip_reason()))


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
