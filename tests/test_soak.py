"""A short soak (scripts/soak.py, issue 11): threads × chained submissions with failures
mixed in complete with typed errors only, and RSS, open fds and threads do not grow."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

import polyhal as hal

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "soak.py"


def _load():
    spec = importlib.util.spec_from_file_location("polyhal_soak_script", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


soak = _load()


@pytest.mark.parametrize("driver", ["local", "local-sync", "vulkan"])
def test_short_soak_does_not_grow(driver):
    base = "local" if driver == "local-sync" else driver
    if base not in hal.available_drivers():
        pytest.skip(f"no {driver} device here")
    result = soak.soak(driver, threads=4, submissions=1000, every=500, stall=30)
    assert result.ok, result.summary()
    assert result.submissions >= 4000
    assert result.failures_injected and result.failures_seen
    assert len(result.samples) >= 5
