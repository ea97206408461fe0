"""A short seeded slice of the hostile fuzzer (scripts/fuzz.py, issue 11) on every driver
here: no untyped error, crash, hang, corrupted guard byte or accepted garbage."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

import polyhal as hal

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "fuzz.py"
DRIVERS = ["local", "local-sync", "vulkan"]
#: 3 batches of 300 calls per driver; seeds differ from the ones in the docs' runs.
BATCHES, CALLS, SEED = 3, 300, 11


def _load():
    spec = importlib.util.spec_from_file_location("polyhal_fuzz_script", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


fuzz = _load()


@pytest.mark.parametrize("driver", DRIVERS)
def test_fuzz_slice_finds_nothing(driver):
    base = "local" if driver == "local-sync" else driver
    if base not in hal.available_drivers():
        pytest.skip(f"no {driver} device here")
    report = fuzz.fuzz(driver, BATCHES * CALLS, SEED, batch_size=CALLS, timeout=90)
    assert report.batches == BATCHES
    assert report.calls >= BATCHES * CALLS * 0.9, report.summary()
    assert report.clean, "\n".join(
        [report.summary()] + [f.line() for f in report.findings.values()]
    )


def test_a_child_killed_by_a_signal_is_a_crash_naming_the_call():
    records = [
        {"t": "phase", "phase": "calls"},
        {"t": "c", "i": 1, "ok": 0, "typed": 0, "call": "dev.queue_fill(buf0, 0, 4, 1)"},
        {"t": "c", "i": 2, "ok": 1, "typed": 0, "call": "cb.end()"},
    ]
    stderr = (
        "Fatal Python error: Segmentation fault\n\nCurrent thread 0x1 (most recent call "
        'first):\n  File "/x/src/polyhal/drivers/vulkan/queue.py", line 42 in submit\n'
        '  File "/x/scripts/fuzz.py", line 9 in call\n'
    )
    counts, findings = fuzz._classify("vulkan", 1, 0, -11, False, records, stderr)
    assert counts["calls"] == 2
    (crash,) = findings
    assert crash.kind == "crash" and crash.call.startswith("cb.end()")
    assert crash.site == "polyhal/drivers/vulkan/queue.py:42"
    assert crash.owner == "driver (vulkan)" and "SIGSEGV" in crash.exception


def test_a_timeout_is_a_hang_and_a_missing_end_is_a_crash():
    records = [{"t": "c", "i": 1, "ok": 0, "typed": 0, "call": "sem.wait(1, timeout=nan)"}]
    _, (hang,) = fuzz._classify("local", 1, 0, -9, True, records, "")
    assert hang.kind == "hang" and hang.call.startswith("sem.wait(1, timeout=nan)")
    _, (crash,) = fuzz._classify("local", 1, 0, 1, False, records, "Traceback ...\nKeyError")
    assert crash.kind == "crash"


def test_arguments_that_must_fail_are_known():
    import numpy as np

    assert fuzz.int_badness("offset", -1) and fuzz.int_badness("offset", 1.5)
    assert fuzz.int_badness("offset", 10**30) and not fuzz.int_badness("offset", np.uint8(200))
    assert not fuzz.int_badness("length", fuzz.WHOLE_BUFFER)
    assert fuzz.int_badness("payload", 2**64) and not fuzz.int_badness("payload", 2**64 - 1)


@pytest.mark.parametrize(
    "kind, expected",
    [
        ("corrupt", "corruption"),
        ("crash", "crash"),
        ("hang", "hang"),
        ("untyped", "untyped"),
        ("accepted", "accepted"),
        ("mismatch", "mismatch"),
    ],
)
def test_the_fuzzer_reports_each_kind_of_finding(monkeypatch, kind, expected):
    monkeypatch.setenv("POLYHAL_FUZZ_SELFTEST", kind)
    _, findings = fuzz.run_batch(
        "local-sync", 1, 0, 40, timeout=4 if kind == "hang" else 30, checked=True
    )
    assert expected in [f.kind for f in findings], findings
    if expected in ("crash", "hang", "untyped", "accepted", "mismatch"):
        (finding,) = [f for f in findings if f.kind == expected]
        assert finding.call.startswith(f"selftest {kind}")


def test_sanitizer_reports_are_findings_at_their_first_own_frame():
    """--asan: each AddressSanitizer or UBSan report is a finding, at the first frame of its
    stack that is neither the sanitizer's nor an inlined header."""
    log = """==7==ERROR: AddressSanitizer: heap-use-after-free on address 0x6 at pc 0x7
READ of size 8 at 0x6 thread T0
    #0 0x7f in __interceptor_memcpy ../sanitizer_common/sanitizer_common_interceptors.inc:8
    #1 0x7f in Py_TYPE /usr/include/python3.11/object.h:133
    #2 0x7f in layout_info polyhal/native/stream.c:786
freed by thread T0 here:
    #0 0x7f in __interceptor_free ../../../../src/libsanitizer/asan/asan_malloc_linux.cpp:52
polyhal/native/stream.c:120:5: runtime error: shift exponent 64 is too large
"""
    found = fuzz.sanitizer_findings("local", log, "(batch 0)")
    assert [(f.kind, f.exception, f.site) for f in found] == [
        ("sanitizer", "heap-use-after-free", "layout_info (stream.c:786)"),
        ("sanitizer", "shift exponent 64 is too large", "stream.c:120"),
    ]
