"""The polyhal command: devices, demo (checked against numpy), bench --quick."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import polyhal as hal
from polyhal import cli


def test_devices_lists_local_and_says_what_is_missing(capsys):
    assert cli.main(["devices"]) == 0
    out = capsys.readouterr().out
    assert "local " in out and "local-sync" in out
    assert "metal" in out and "unavailable" in out


@pytest.mark.parametrize("uri", ["local", "local-sync"])
def test_demo_matches_numpy(uri, capsys):
    assert cli.main(["demo", "--device", uri, "--size", "64", "--steps", "40",
                     "--steps-per-submit", "10"]) == 0
    out = capsys.readouterr().out
    assert "OK" in out and "MISMATCH" not in out


def test_demo_plot_writes_png(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    path = tmp_path / "heat.png"
    assert cli.main(["demo", "--size", "32", "--steps", "20", "--steps-per-submit", "10",
                     "--plot", str(path)]) == 0
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_unknown_device_is_a_clean_error(capsys):
    assert cli.main(["demo", "--device", "nonesuch"]) == 1
    assert "NotFoundError" in capsys.readouterr().err


@pytest.mark.parametrize("uri", [*hal.available_drivers(), "local-sync"])
def test_bench_quick_json(tmp_path, uri):
    path = tmp_path / "bench.json"
    proc = subprocess.run([sys.executable, "-m", "polyhal.cli", "bench", "--quick",
                           "--device", uri, "--json", str(path)],
                          capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(path.read_text())
    names = {row["name"] for row in data["results"]}
    assert {"dispatch_overhead_us", "round_trip_us", "record_us"} <= names
    for row in data["results"]:
        assert row["value"] > 0
