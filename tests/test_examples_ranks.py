"""The multi-rank examples and ``polyhal demo --ranks`` run under mpiexec with 2 ranks."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from polyhal import drivers
from polyhal.tools import cli, demo

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"


def _mpi_missing() -> str | None:
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        return "mpi4py is not installed (pip install 'polyhal[mpi]')"
    if not os.path.isabs(cli.mpiexec_command(2, [])[0]):
        return "no mpiexec (pip install 'polyhal[mpi]' gives one)"
    return None


pytestmark = pytest.mark.skipif(_mpi_missing() is not None, reason=str(_mpi_missing()))


def _devices() -> list:
    out = ["local"]
    count, reason = drivers.probe("vulkan")
    out.append(
        pytest.param("vulkan", marks=pytest.mark.skipif(not count, reason=f"vulkan: {reason}"))
    )
    return out


def _run(program: list[str], ranks: int = 2) -> subprocess.CompletedProcess:
    # The ranks are launched afresh: no MPI variables of an outer launch, and the device
    # is the one each case names.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OMPI_", "PMI"))}
    env.pop("POLYHAL_DEVICE", None)
    return subprocess.run(
        cli.mpiexec_command(ranks, program),
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        cwd=ROOT,
        check=False,
    )


@pytest.mark.parametrize("device", _devices())
def test_heat_ranks(device: str) -> None:
    out = _run(
        [sys.executable, str(EXAMPLES / "heat_ranks.py"), "--device", device, "--size", "40"]
        + ["--steps", "40"]
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert f"2 ranks of {device}" in out.stdout and ": OK" in out.stdout, out.stdout


@pytest.mark.parametrize("device", _devices())
def test_allreduce_sgd(device: str) -> None:
    out = _run([sys.executable, str(EXAMPLES / "allreduce_sgd.py"), device])
    assert out.returncode == 0, out.stdout + out.stderr
    assert "2 ranks on" in out.stdout and ": OK" in out.stdout, out.stdout


def test_readme_mpiexec_line() -> None:
    # The README's launch line as written, with this Python and the launcher's flags for
    # this machine (root, more ranks than cores).
    readme = (ROOT / "README.md").read_text()
    line = re.search(r"^mpiexec -n (\d+) python (\S+)", readme, re.M)
    assert line is not None, "the README has no mpiexec line"
    out = _run([sys.executable, line.group(2)], ranks=int(line.group(1)))
    assert out.returncode == 0, out.stdout + out.stderr
    assert ": OK" in out.stdout, out.stdout


def test_demo_ranks_launches_mpiexec() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OMPI_", "PMI"))}
    env.pop("POLYHAL_DEVICE", None)
    out = subprocess.run(
        [sys.executable, "-m", "polyhal.tools.cli", "demo", "--ranks", "2", "--size", "32"]
        + ["--steps", "20", "--steps-per-submit", "10"],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        check=False,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "launching: " in out.stdout and " -n 2 " in out.stdout
    assert "heat diffusion on 2 ranks" in out.stdout and ": OK" in out.stdout, out.stdout


def test_demo_ranks_without_mpiexec_prints_the_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    # A Python with no mpiexec beside it and none on PATH.
    monkeypatch.setattr(sys, "executable", str(tmp_path / "python"))
    monkeypatch.setenv("PATH", str(tmp_path))
    for name in ("OMPI_COMM_WORLD_SIZE", "PMI_SIZE"):
        monkeypatch.delenv(name, raising=False)
    assert cli.main(["demo", "--ranks", "3", "--size", "16", "--steps", "20"]) == 1
    err = capsys.readouterr().err
    assert "no mpiexec found" in err
    assert f"mpiexec -n 3 {tmp_path / 'python'} -m polyhal.tools.cli demo --ranks 3" in err


def test_demo_ranks_refuses_a_launch_of_another_size(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.setenv("OMPI_COMM_WORLD_SIZE", "3")
    assert cli.main(["demo", "--ranks", "2", "--size", "16", "--steps", "20"]) == 2
    assert "--ranks 2 but this MPI launch has 3" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--ranks", "0"], "--ranks must be positive"),
        (["--ranks", "5", "--size", "6"], "--ranks 5 needs --size of at least 7"),
        (["--ranks", "2", "--trace", "t.json"], "--trace is not supported with --ranks"),
    ],
)
def test_demo_ranks_bad_arguments(argv: list[str], message: str, capsys) -> None:
    assert cli.main(["demo", *argv]) == 2
    assert message in capsys.readouterr().err


def test_rank_device(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMPI_COMM_WORLD_LOCAL_RANK", "1")
    assert demo.rank_device("vulkan:0") == "vulkan:0"  # an index is kept
    assert demo.rank_device("local") == "local"  # one device: no index
    monkeypatch.setenv("POLYHAL_DEVICE", "local-sync")
    assert demo.rank_device(None) == "local-sync"


@pytest.mark.skipif(drivers.probe("cuda")[0] < 2, reason="needs 2 cuda devices")
def test_rank_device_takes_the_local_rank_s_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    count = drivers.probe("cuda")[0]
    monkeypatch.setenv("OMPI_COMM_WORLD_LOCAL_RANK", str(count + 1))
    assert demo.rank_device("cuda") == "cuda:1"
