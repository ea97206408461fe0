"""The IREE example runs end to end, checked against numpy, on every driver here."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import polyhal as hal
from polyhal import iree

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "iree_matmul.py"


@pytest.mark.parametrize("driver", ["local", "local-sync", "vulkan", "cuda"])
def test_iree_example(driver):
    if not iree.compiler_available():
        pytest.skip("iree-base-compiler is not installed (pip install 'polyhal[iree]')")
    if driver.split("-")[0] not in hal.available_drivers():
        pytest.skip(f"no {driver} device here")
    proc = subprocess.run(
        [sys.executable, str(EXAMPLE), driver], capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_saved_dump_runs_without_recompiling(tmp_path):
    """Compile and save here; run from the saved dump (what a machine with no compiler does)."""
    if not iree.compiler_available():
        pytest.skip("iree-base-compiler is not installed (pip install 'polyhal[iree]')")
    saved = tmp_path / "dump"
    proc = subprocess.run(
        [sys.executable, str(EXAMPLE), "local", "--save", str(saved)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    dump = iree.load_saved(saved)
    assert len(dump) == 3 and all(d.workgroup_count for d in dump)
    proc = subprocess.run(
        [sys.executable, str(EXAMPLE), "local-sync", "--from", str(saved)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0 and "all dispatches match numpy" in proc.stdout, proc.stdout
