"""The polyhal command: devices, demo (checked against numpy), bench --quick."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

import pytest

import polyhal as hal
from polyhal.tools import cli


def test_devices_lists_local_and_says_what_is_missing(capsys):
    assert cli.main(["devices"]) == 0
    out = capsys.readouterr().out
    assert "local " in out and "local-sync" in out
    assert "metal" in out and "unavailable" in out


@pytest.mark.parametrize("uri", ["local", "local-sync"])
def test_demo_matches_numpy(uri, capsys):
    assert (
        cli.main(
            ["demo", "--device", uri, "--size", "64", "--steps", "40", "--steps-per-submit", "10"]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "OK" in out and "MISMATCH" not in out


def test_demo_plot_writes_png(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    path = tmp_path / "heat.png"
    assert (
        cli.main(
            [
                "demo",
                "--size",
                "32",
                "--steps",
                "20",
                "--steps-per-submit",
                "10",
                "--plot",
                str(path),
            ]
        )
        == 0
    )
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_unknown_device_is_a_clean_error(capsys):
    assert cli.main(["demo", "--device", "nonesuch"]) == 1
    assert "NotFoundError" in capsys.readouterr().err


@pytest.mark.parametrize("uri", [*hal.available_drivers(), "local-sync"])
def test_bench_quick_json(tmp_path, uri):
    path = tmp_path / "bench.json"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "polyhal.tools.cli",
            "bench",
            "--quick",
            "--device",
            uri,
            "--json",
            str(path),
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(path.read_text())
    names = {row["name"] for row in data["results"]}
    assert {
        "dispatch_overhead_us",
        "round_trip_us",
        "record_us",
        "record_dispatch_fresh_us",
        "record_push_fresh_us",
        "oneshot_fresh_us",
    } <= names
    for row in data["results"]:
        assert row["value"] > 0


def test_version_is_the_installed_one(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == f"polyhal {cli._version()}"
    proc = subprocess.run(
        [sys.executable, "-m", "polyhal.tools.cli", "--version"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0 and proc.stdout.startswith("polyhal 0.")


def _parsers(parser):
    yield parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                yield from _parsers(sub)


def test_every_option_has_help_and_descriptions_are_plain_text():
    for parser in _parsers(cli.build_parser()):
        assert parser.description, parser.prog
        assert "``" not in parser.description and ":func:" not in parser.description
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                assert all(choice.help for choice in action._choices_actions)
                continue
            assert action.help and action.help != argparse.SUPPRESS, (parser.prog, action.dest)


@pytest.mark.parametrize("command", ["demo", "bench"])
def test_plot_without_matplotlib_fails_before_any_work(command, tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib → ImportError
    start = time.perf_counter()
    assert cli.main([command, "--plot", str(tmp_path / "x.png")]) == 2
    assert time.perf_counter() - start < 1.0
    out, err = capsys.readouterr()
    assert out == "" and "matplotlib" in err and "pip install" in err
    assert not (tmp_path / "x.png").exists()


@pytest.mark.parametrize(
    "args",
    [["--steps", "30", "--steps-per-submit", "20"], ["--steps-per-submit", "3"], ["--size", "0"]],
)
def test_bad_demo_arguments_exit_2_before_any_work(args, capsys):
    assert cli.main(["demo", *args]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.startswith("polyhal: --")


@pytest.mark.parametrize(
    "command, option",
    [
        ("demo", "--plot"),
        ("demo", "--trace"),
        ("bench", "--json"),
        ("bench", "--plot"),
        ("bench", "--trace"),
    ],
)
def test_unwritable_output_fails_before_any_work(command, option, tmp_path, capsys):
    start = time.perf_counter()
    for path in (tmp_path / "missing" / "out", tmp_path):  # no such folder; a folder
        assert cli.main([command, option, str(path)]) == 2
        out, err = capsys.readouterr()
        assert out == "" and err.startswith(f"polyhal: {option}: cannot write")
    assert time.perf_counter() - start < 1.0


def test_demo_picture_has_axes_colorbar_device_and_grid():
    pytest.importorskip("matplotlib")
    from polyhal.tools import demo

    with hal.create_device("local") as device:
        result = demo.run(device, n=32, steps=20, steps_per_submit=10, progress=False)
    fig = demo.figure(result)
    image_axes, colorbar_axes = fig.axes
    title = image_axes.get_title()
    assert "32x32 grid" in title and "20 steps" in title and device.name in title
    assert image_axes.get_xlabel() and image_axes.get_ylabel()
    assert image_axes.axison and colorbar_axes.get_ylabel().startswith("temperature")


def test_verbose_logs_driver_selection():
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "polyhal.tools.cli",
            "-v",
            "demo",
            "--size",
            "16",
            "--steps",
            "10",
            "--steps-per-submit",
            "10",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "polyhal.device: create_device('local'):" in proc.stderr


def test_the_library_never_imports_the_tools():
    """polyhal.tools (the command, demo, bench) sits beside the library, not under it."""
    code = (
        "import sys, polyhal as hal\n"
        "for name in hal.available_drivers():\n"
        "    hal.create_device(name).close()\n"
        "print(sorted(m for m in sys.modules if m.startswith('polyhal.tools')))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"
