"""polyhal's own native code comes built with the package (setup.py), never at first use.

scripts/test.sh runs the suite against the installed wheel and sets POLYHAL_TEST_INSTALLED=1,
which makes these tests also check that polyhal is imported from the install, not from src/.
"""

from __future__ import annotations

import ctypes
import importlib
import os
import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path

import pytest

import polyhal as hal

ROOT = Path(__file__).resolve().parents[1]
# (module, a ph_* function its C exports for ctypes)
EXTENSIONS = [
    ("polyhal.drivers.local._executor", "ph_local_execute"),
    ("polyhal.drivers.cuda._launcher", "ph_cmd_size"),
]


@pytest.mark.parametrize(("name", "symbol"), EXTENSIONS)
def test_the_native_code_is_an_importable_extension_module(name, symbol):
    module = importlib.import_module(name)
    assert Path(module.__file__).suffix in (".so", ".pyd")
    getattr(ctypes.CDLL(module.__file__), symbol)  # the ph_* functions are exported


def test_the_recorder_is_a_compiled_extension_module():
    from polyhal import _stream, _walker

    assert Path(_stream.__file__).suffix in (".so", ".pyd")
    # the walker's struct formats mirror native/stream.h
    assert (_walker.RECORD.size, _walker.REF.size) == (_stream.RECORD_SIZE, _stream.REF_SIZE)
    assert hal.CommandBuffer.dispatch is _stream.Recorder.dispatch  # C, not Python


def test_the_cuda_launcher_loads_without_a_gpu():
    from polyhal.drivers.cuda import launcher

    launcher.library()  # checks the C structure sizes against launcher.py's


@pytest.mark.skipif(
    not os.environ.get("POLYHAL_TEST_INSTALLED"),
    reason="POLYHAL_TEST_INSTALLED is not set (scripts/test.sh sets it)",
)
def test_polyhal_is_imported_from_the_installed_package():
    installed = {Path(sysconfig.get_paths()[key]).resolve() for key in ("purelib", "platlib")}
    where = Path(hal.__file__).resolve()
    assert any(where.is_relative_to(folder) for folder in installed), where
    assert not where.is_relative_to(ROOT / "src"), where


def test_a_missing_executor_makes_local_absent_and_is_never_compiled(tmp_path):
    """Simulates a package whose build did not run: nothing compiles, the reason is given."""
    cache = tmp_path / "cache"
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            textwrap.dedent("""
        import sys
        sys.modules["polyhal.drivers.local._executor"] = None  # import finds nothing
        import polyhal as hal
        print("available", "local" in hal.available_drivers())
        try:
            hal.create_device("local")
        except hal.NotFoundError as e:
            print("refused", e)
    """),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "POLYHAL_CACHE_DIR": str(cache)},
    )
    assert result.returncode == 0, result.stderr
    assert "available False" in result.stdout
    assert "refused" in result.stdout and "not built" in result.stdout, result.stdout
    assert not cache.exists() or not any(cache.iterdir())
