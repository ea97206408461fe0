#!/usr/bin/env python3
"""A hostile fuzz of polyhal's public API (issue 11).

Usage::

    python scripts/fuzz.py --driver local --calls 10000 --seed 1
    python scripts/fuzz.py --driver local,local-sync,vulkan --calls 2000 --findings out.md
    python scripts/fuzz.py --driver local,vulkan --calls 20000 --ops rec_   # the recorder
    python scripts/fuzz.py --driver local,vulkan --calls 5000 --ops rec_ --asan

Each batch of calls runs in a child process (``sys.executable``), so a crash or a hang is
observed from outside instead of taking the fuzzer down.  The child opens a device,
allocates *guard* buffers filled with known bytes that no call is ever given, interleaved
with a pool of *victim* objects (buffers of odd sizes, subspans, executables of the
conformance kernels, semaphores, events, command buffers in every mode and state, objects
of a second device and of a closed one), then makes random hostile calls across the API of
DESIGN.md, mixed with valid ones so that deeper states are reached.  Every wait it makes is
bounded; the batch timeout catches real hangs.

Each call is classified:

- ``ok``: it returned, or raised a polyhal HalError (counted as "typed");
- ``untyped``: it raised anything else; the site is the innermost polyhal frame;
- ``accepted``: it returned although an argument is invalid on its own (a negative offset,
  a payload beyond uint64, a tuple of the wrong arity, an object of a closed device, …);
- ``crash``: the child died of a signal (the call it had logged last is named, with the
  innermost polyhal frame of faulthandler's traceback);
- ``hang``: the batch ran past its timeout, or the queue did not drain at the batch's end;
- ``corruption``: a guard buffer's bytes changed;
- ``mismatch``: a call through the recorder's C method and the same call through the
  Python path it must match (``_slow_<name>``, on a twin command buffer) had different
  outcomes, or recorded different commands (issue 10);
- ``sanitizer``: with ``--asan``, AddressSanitizer or UndefinedBehaviorSanitizer reported
  a memory or undefined-behaviour error in a child (which then goes on): the children run
  on a copy of the package whose recorder (native/stream.c) is built with both, and every
  library's heap is checked (the site names the first frame outside the sanitizer).

The recorder's C entry points (``dispatch``, ``push_constants``, ``push_descriptor_set``,
``execution_barrier``, ``fill_buffer``, ``copy_buffer``, ``update_buffer``) get their own
hostile values: integers at every edge of int64/uint64/uint32, bools, floats, NaN and
infinities, floats beyond float32, bytes that are not whole words, int/list/tuple
subclasses, objects whose ``__index__`` raises, ends the command buffer, records into it or
grows the list being parsed, layouts whose tables are computed at each access, and an
unrelated class allocated where a Buffer subclass was freed.

Exceptions in background threads (``threading.excepthook``) and in finalizers
(``sys.unraisablehook``) are findings too.  The run is deterministic per seed (the objects
and the calls; the timing of the queue is not).  The exit status is 1 if there is any
finding.  ``fuzz()`` is the entry point for tests.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
KERNELS = REPO / "tests" / "conformance" / "kernels.py"
DEFAULT_BATCH = 400
DEFAULT_TIMEOUT = 90.0
#: How long a wait at the end of a batch may take for the queue to drain.
DRAIN_TIMEOUT = 20.0
WHOLE_BUFFER = 2**64 - 1

# ------------------------------------------------------------------------------------------
# The parent: runs batches in children, classifies what happened, reports.
# ------------------------------------------------------------------------------------------


@dataclass
class Finding:
    """One distinct problem: ``kind`` is untyped, accepted, crash, hang, corruption or
    mismatch."""

    driver: str
    kind: str
    call: str
    exception: str
    site: str
    count: int = 1

    @property
    def key(self) -> tuple:
        if self.kind == "untyped":
            return (self.driver, self.kind, self.exception.split(":", 1)[0], self.site)
        if self.kind in ("accepted", "mismatch"):
            return (self.driver, self.kind, _call_shape(self.call))
        return (self.driver, self.kind, self.site or _call_shape(self.call))

    @property
    def owner(self) -> str:
        return owner_guess(self.site)

    def line(self) -> str:
        return (
            f"- {self.driver} | {self.kind} | `{_short(self.call, 400)}` | "
            f"{_short(self.exception, 160)} | {self.site or '?'} | {self.owner}"
            + (f" | seen {self.count}x" if self.count > 1 else "")
        )


@dataclass
class DriverReport:
    driver: str
    calls: int = 0
    ok: int = 0
    typed: int = 0
    batches: int = 0
    seconds: float = 0.0
    findings: dict[tuple, Finding] = field(default_factory=dict)

    def add(self, finding: Finding) -> None:
        old = self.findings.get(finding.key)
        if old is None:
            self.findings[finding.key] = finding
        else:
            old.count += 1

    def count(self, kind: str) -> int:
        return sum(1 for f in self.findings.values() if f.kind == kind)

    def events(self, kind: str) -> int:
        return sum(f.count for f in self.findings.values() if f.kind == kind)

    @property
    def clean(self) -> bool:
        return not self.findings

    def summary(self) -> str:
        return (
            f"{self.driver}: {self.calls} calls in {self.batches} batches "
            f"({self.seconds:.0f} s): ok {self.ok} (typed errors {self.typed}); "
            f"untyped sites {self.count('untyped')}, crashes {self.events('crash')}, "
            f"hangs {self.events('hang')}, corruptions {self.events('corruption')}, "
            f"accepted garbage {self.count('accepted')}, "
            f"C/Python mismatches {self.count('mismatch')}"
            + (f", sanitizer reports {self.count('sanitizer')}" if self.count("sanitizer") else "")
            + (f", unchecked guards {self.events('unchecked')}" if self.events("unchecked") else "")
        )


def owner_guess(site: str) -> str:
    """Who fixes it: the front end, a driver, or the files of the fuzz task."""
    if "/drivers/" in site:
        return "driver (" + site.split("/drivers/", 1)[1].split("/", 1)[0] + ")"
    for name in ("semaphore.py", "executable.py", "types.py", "errors.py"):
        if f"/{name}:" in site:
            return "fuzz helper (semaphore/executable/types/errors)"
    # Any other polyhal module (device, command_buffer, buffer, hazards, …), or no frame at
    # all (accepted garbage, hangs in the caller's own call): the front end first.
    return "front end"


def _short(text: str, n: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= n else text[: n - 3] + "..."


def _call_shape(call: str) -> str:
    """A call with its numbers blurred: accepted-garbage findings per method and argument
    kind, not per value."""
    return re.sub(r"\b\d+\b", "N", call.split(" #", 1)[0])


_FRAME = re.compile(r'File "([^"]+)", line (\d+)')


def _polyhal_frame(text: str) -> str:
    """The innermost polyhal frame of faulthandler's dump of the current thread."""
    block = text
    if "Current thread" in text:
        block = text.split("Current thread", 1)[1]
        block = re.split(r"\n\s*\n|\nThread 0x", block, maxsplit=1)[0]
    for path, line in _FRAME.findall(block):  # most recent call first
        if "/polyhal/" in path:
            return _rel(path) + ":" + line
    return ""


def _rel(path: str) -> str:
    i = path.rfind("/polyhal/")
    return "polyhal/" + path[i + len("/polyhal/") :] if i >= 0 else path


def asan_package(dest: Path) -> dict[str, str]:
    """Copies the package into ``dest`` with its recorder (native/stream.c, the parser of
    hostile Python values) rebuilt with AddressSanitizer and UndefinedBehaviorSanitizer; the
    environment that runs children on it.  RuntimeError if gcc or its sanitizer runtimes
    are missing."""
    import shutil
    import sysconfig

    pkg = dest / "polyhal"
    shutil.copytree(REPO / "src" / "polyhal", pkg, ignore=shutil.ignore_patterns("__pycache__"))
    preload = []
    for name in ("libasan.so", "libubsan.so"):
        found = subprocess.run(["gcc", f"-print-file-name={name}"], capture_output=True, text=True)
        path = found.stdout.strip()
        if found.returncode or not os.path.isabs(path):
            raise RuntimeError(f"--asan needs gcc and its {name}")
        preload.append(path)
    target = next(pkg.glob("_stream*.so"), pkg / "_stream.abi3.so")
    built = subprocess.run(
        [
            "gcc",
            "-shared",
            "-fPIC",
            "-O1",
            "-g",
            "-fno-omit-frame-pointer",
            "-fsanitize=address,undefined",
            "-pthread",
            "-DPH_PYTHON_MODULE=1",
            "-DPy_LIMITED_API=0x030A0000",  # as setup.py builds it
            f"-I{sysconfig.get_paths()['include']}",
            f"-I{pkg / 'native'}",
            str(pkg / "native" / "stream.c"),
            "-o",
            str(target),
        ],
        capture_output=True,
        text=True,
    )
    if built.returncode:
        raise RuntimeError("--asan: building native/stream.c failed: " + built.stderr[-800:])
    # pymalloc would hide heap errors in Python objects: plain malloc, checked.
    return {
        "LD_PRELOAD": " ".join(preload),
        "PYTHONMALLOC": "malloc",
        "PYTHONPATH": str(dest),
        "ASAN_OPTIONS": "detect_leaks=0:halt_on_error=0",
    }


_SANITIZED = re.compile(r"ERROR: AddressSanitizer: ([\w-]+)|(\S+:\d+):\d+: runtime error: (.*)")
_FRAME_LINE = re.compile(r"(?m)^\s*#\d+ 0x[0-9a-f]+ in (\S+) (.+)$")


def sanitizer_findings(driver: str, text: str, where: str) -> list[Finding]:
    """The reports in a sanitizer log as findings, each at the first frame of its stack
    outside the sanitizer's own."""
    out = []
    for block in re.split(r"(?m)^(?===\d+==ERROR|\S+:\d+:\d+: runtime error)", text):
        m = _SANITIZED.search(block)
        if not m:
            continue
        if m.group(2):  # UBSan names its line
            out.append(
                Finding(
                    driver, "sanitizer", where, m.group(3).strip(), m.group(2).rsplit("/", 1)[-1]
                )
            )
            continue
        site = ""
        for function, location in _FRAME_LINE.findall(block):
            if (
                "sanitizer" in location
                or "/include/" in location  # inlined headers
                or function.startswith(("__interceptor", "__asan"))
            ):
                continue
            site = f"{function} ({location.strip('()').rsplit('/', 1)[-1]})"
            break
        out.append(Finding(driver, "sanitizer", where, m.group(1), site))
    return out


def run_batch(
    driver: str,
    seed: int,
    index: int,
    calls: int,
    *,
    timeout: float,
    checked: bool,
    ops: str = "",
    asan_env: dict[str, str] | None = None,
) -> tuple[dict, list[Finding]]:
    """Runs one batch in a child process; (counts, findings)."""
    with tempfile.TemporaryDirectory(prefix="polyhal-fuzz-") as tmp:
        log_path = Path(tmp) / "calls.log"
        err_path = Path(tmp) / "stderr.txt"
        env = dict(os.environ, POLYHAL_CHECKED="1" if checked else "0", PYTHONFAULTHANDLER="1")
        if asan_env:
            env.update(asan_env)
            env["ASAN_OPTIONS"] += f":log_path={tmp}/sanitizer"
            env["UBSAN_OPTIONS"] = f"print_stacktrace=1:log_path={tmp}/sanitizer"
        cmd = [
            sys.executable,
            str(Path(__file__).resolve()),
            "--child",
            "--driver",
            driver,
            "--seed",
            str(seed),
            "--batch-index",
            str(index),
            "--calls",
            str(calls),
            "--log",
            str(log_path),
        ] + (["--ops", ops] if ops else [])
        with open(err_path, "wb") as err:
            proc = subprocess.Popen(cmd, stdout=err, stderr=err, env=env, cwd=REPO)
            hung = False
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                hung = True
                proc.send_signal(signal.SIGUSR1)  # faulthandler dumps every thread's stack
                time.sleep(1.0)
                proc.kill()
                proc.wait()
        records = _read_log(log_path)
        stderr = err_path.read_text(errors="replace")
        reports = "\n".join(
            p.read_text(errors="replace") for p in sorted(Path(tmp).glob("sanitizer*"))
        )
    counts, findings = _classify(driver, seed, index, proc.returncode, hung, records, stderr)
    findings += sanitizer_findings(driver, reports, f"(a call of seed {seed} batch {index})")
    if any(f.kind in ("crash", "hang") for f in findings):
        # The whole stack dump of every thread is what a fix needs: keep it.
        keep = Path(tempfile.gettempdir()) / f"polyhal-fuzz-{driver}-seed{seed}-batch{index}.txt"
        keep.write_text(stderr)
        for f in findings:
            if f.kind in ("crash", "hang"):
                f.exception += f" (stderr: {keep})"
    return counts, findings


def _read_log(path: Path) -> list[dict]:
    out = []
    try:
        text = path.read_text(errors="replace")
    except FileNotFoundError:
        return out
    for line in text.splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            pass  # a line cut short by a crash
    return out


def _classify(
    driver: str, seed: int, index: int, rc: int, hung: bool, records: list[dict], stderr: str
) -> tuple[dict, list[Finding]]:
    where = f" #seed {seed} batch {index}"
    counts = {"calls": 0, "ok": 0, "typed": 0}
    findings: list[Finding] = []
    last = "(setup)"
    done = False
    for r in records:
        t = r.get("t")
        if t == "c":
            last = r["call"]
            counts.update(calls=r["i"], ok=r["ok"], typed=r["typed"])
        elif t == "phase":
            last = f"({r['phase']})"
        elif t == "f":
            findings.append(
                Finding(driver, r["kind"], r["call"] + where, r.get("exc", ""), r.get("site", ""))
            )
        elif t == "done":
            counts.update(calls=r["calls"], ok=r["ok"], typed=r["typed"])
            done = True
    if hung:
        findings.append(
            Finding(driver, "hang", last + where, "batch timeout", _polyhal_frame(stderr))
        )
    elif rc < 0:
        sig = signal.Signals(-rc).name if -rc in signal.valid_signals() else str(-rc)
        findings.append(
            Finding(
                driver, "crash", last + where, f"{sig}: " + _tail(stderr), _polyhal_frame(stderr)
            )
        )
    elif rc != 0 or not done:
        findings.append(
            Finding(
                driver,
                "crash",
                last + where,
                f"child exited {rc}: " + _tail(stderr),
                _polyhal_frame(stderr),
            )
        )
    return counts, findings


def _tail(stderr: str) -> str:
    lines = [
        ln
        for ln in stderr.strip().splitlines()
        if ln.strip()
        and not ln.lstrip().startswith(
            ("File ", "Thread 0x", "Current thread", "Extension modules")
        )
    ]
    return _short(" / ".join(lines[-4:]), 300)


def fuzz(
    driver: str,
    calls: int,
    seed: int = 1,
    *,
    batch_size: int = DEFAULT_BATCH,
    timeout: float = DEFAULT_TIMEOUT,
    checked: bool = True,
    jobs: int = 1,
    progress: Callable[[str], None] | None = None,
    ops: str = "",
    asan_env: dict[str, str] | None = None,
) -> DriverReport:
    """Fuzzes ``driver`` with ``calls`` calls in batches; the report of what was found.
    ``ops``: a comma list of name fragments; only the ops whose names contain one run.
    ``asan_env``: run the children under the sanitizers (:func:`asan_package`)."""
    from concurrent.futures import ThreadPoolExecutor

    report = DriverReport(driver)
    sizes = [batch_size] * (calls // batch_size)
    if calls % batch_size:
        sizes.append(calls % batch_size)
    start = time.monotonic()
    with ThreadPoolExecutor(max(1, jobs)) as pool:
        futures = [
            pool.submit(
                run_batch,
                driver,
                seed,
                i,
                n,
                timeout=timeout,
                checked=checked,
                ops=ops,
                asan_env=asan_env,
            )
            for i, n in enumerate(sizes)
        ]
        for i, future in enumerate(futures):
            counts, findings = future.result()
            report.batches += 1
            report.calls += counts["calls"]
            report.ok += counts["ok"]
            report.typed += counts["typed"]
            for f in findings:
                report.add(f)
            if progress:
                progress(f"{driver} batch {i}: {counts['calls']} calls, {len(findings)} finding(s)")
    report.seconds = time.monotonic() - start
    return report


def write_findings(path: Path, reports: Sequence[DriverReport], header: str = "") -> None:
    """Writes the distinct findings of ``reports`` as markdown lines."""
    lines = [header.rstrip(), ""] if header else []
    lines += ["Summary: " + r.summary() for r in reports]
    lines += ["", "driver | kind | call | exception | polyhal file:line | owner guess"]
    for r in reports:
        for f in sorted(r.findings.values(), key=lambda f: (f.kind, f.site, f.call)):
            lines.append(f.line())
    path.write_text("\n".join(lines) + "\n")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--driver", default="local", help="comma list: local, local-sync, vulkan, cuda"
    )
    parser.add_argument("--calls", type=int, default=10000, help="calls per driver")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--batch", type=int, default=DEFAULT_BATCH, help="calls per child")
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        help="seconds a batch may take before it counts as a hang",
    )
    parser.add_argument("--jobs", type=int, default=1, help="children run at once")
    parser.add_argument(
        "--unchecked",
        action="store_true",
        help="run with POLYHAL_CHECKED=0 (kernels that write out of bounds "
        "may then legitimately corrupt guards on GPU drivers)",
    )
    parser.add_argument("--findings", type=Path, help="also write the findings as markdown")
    parser.add_argument(
        "--ops",
        default="",
        help="comma list: only the ops whose names contain one of these run "
        "(rec_: the recorder's C entry points)",
    )
    parser.add_argument(
        "--asan",
        action="store_true",
        help="run the children on a copy of the package whose recorder is "
        "built with AddressSanitizer and UBSan (needs gcc)",
    )
    parser.add_argument("-q", "--quiet", action="store_true")
    # The child side (internal).
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--batch-index", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--log", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return child_main(args.driver, args.seed, args.batch_index, args.calls, args.log, args.ops)
    reports = []
    sanitized = tempfile.TemporaryDirectory(prefix="polyhal-fuzz-asan-") if args.asan else None
    asan_env = asan_package(Path(sanitized.name)) if sanitized else None
    for driver in [d.strip() for d in args.driver.split(",") if d.strip()]:
        report = fuzz(
            driver,
            args.calls,
            args.seed,
            batch_size=args.batch,
            timeout=args.timeout,
            checked=not args.unchecked,
            jobs=args.jobs,
            progress=None if args.quiet else lambda m: print(m, flush=True),
            ops=args.ops,
            asan_env=asan_env,
        )
        reports.append(report)
        print(report.summary(), flush=True)
        for f in sorted(report.findings.values(), key=lambda f: (f.kind, f.site)):
            print("  " + f.line(), flush=True)
    if args.findings:
        write_findings(args.findings, reports)
    for r in reports:
        print("SUMMARY " + r.summary())
    return 0 if all(r.clean for r in reports) else 1


# ------------------------------------------------------------------------------------------
# The child: one batch of calls against one device.
# ------------------------------------------------------------------------------------------


@dataclass
class Arg:
    """A generated argument: how the call is printed, the value, and whether the value is
    invalid for its parameter on its own (so the call must raise)."""

    label: str
    value: Any
    bad: bool = False


def _np_values() -> list[tuple[str, Any]]:
    import numpy as np

    return [
        ("np.uint8(200)", np.uint8(200)),
        ("np.int8(-56)", np.int8(-56)),
        ("np.uint16(65535)", np.uint16(65535)),
        ("np.int16(-1)", np.int16(-1)),
        ("np.uint32(4294967295)", np.uint32(2**32 - 1)),
        ("np.int32(-7)", np.int32(-7)),
        ("np.uint64(2**64-1)", np.uint64(2**64 - 1)),
        ("np.int64(-1)", np.int64(-1)),
        ("np.int64(4)", np.int64(4)),
        ("np.uint8(3)", np.uint8(3)),
        ("np.float32(4.0)", np.float32(4.0)),
        ("np.float64(nan)", np.float64("nan")),
        ("np.bool_(True)", np.bool_(True)),
        ("np.array([3])", np.array([3])),
    ]


HOSTILE: list[tuple[str, Any]] = [
    ("None", None),
    ("'1'", "1"),
    ("'x'", "x"),
    ("1.5", 1.5),
    ("4.0", 4.0),
    ("nan", float("nan")),
    ("inf", float("inf")),
    ("-inf", float("-inf")),
    ("2**64", 2**64),
    ("2**64-1", 2**64 - 1),
    ("2**63", 2**63),
    ("10**30", 10**30),
    ("-1", -1),
    ("-2**63", -(2**63)),
    ("2**32", 2**32),
    ("2**31", 2**31),
    ("True", True),
    ("False", False),
    ("[1]", [1]),
    ("(1,)", (1,)),
    ("(1, 2, 3, 4)", (1, 2, 3, 4)),
    ("b'\\x01'", b"\x01"),
    ("1j", 1j),
    ("object()", object()),
    ("{}", {}),
]


def int_badness(kind: str, value: Any) -> bool:
    """Whether ``value`` is invalid for an integer parameter of ``kind`` whatever the rest
    of the call is: offset, length, count, size, index or payload."""
    import operator

    import numpy as np

    if isinstance(value, (bool, np.bool_)) or isinstance(value, np.ndarray):
        return False  # ambiguous: an int subclass, or a 0-d array that indexes
    try:
        i = operator.index(value)
    except TypeError:
        return True
    if i < 0:
        return True
    if kind == "payload":
        return i > 2**64 - 1
    if kind == "length" and i == WHOLE_BUFFER:
        return False
    if kind in ("count", "index"):
        return i >= 2**32
    return i >= 2**62  # no buffer is that large


def child_main(driver: str, seed: int, index: int, calls: int, log: str, ops: str = "") -> int:
    import faulthandler
    import threading

    faulthandler.enable(all_threads=True)
    faulthandler.register(signal.SIGUSR1, all_threads=True)
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    fuzzer = _Child(driver, random.Random(f"{seed}:{index}:{driver}"), fd)
    if ops:
        parts = [p for p in ops.split(",") if p]
        fuzzer.ops = [(op, w) for op, w in _Child.OPS if any(p in op.__name__ for p in parts)]
        if not fuzzer.ops:
            raise SystemExit(f"no op matches --ops {ops!r}")

    def thread_hook(args: Any) -> None:
        fuzzer.record(
            "untyped",
            f"(thread {args.thread.name if args.thread else '?'})",
            args.exc_value,
            args.exc_traceback,
        )

    def unraisable_hook(args: Any) -> None:
        fuzzer.record(
            "untyped", f"(unraisable in {args.object!r:.80})", args.exc_value, args.exc_traceback
        )

    threading.excepthook = thread_hook
    sys.unraisablehook = unraisable_hook
    fuzzer.phase("setup")
    fuzzer.setup()
    fuzzer.phase("calls")
    selftest = os.environ.get("POLYHAL_FUZZ_SELFTEST")
    for i in range(calls):
        if selftest and i == calls // 2:
            fuzzer.selftest(selftest)
        if fuzzer.stuck:
            break  # the queue is wedged: every later wait would only run out its timeout
        fuzzer.step()
    fuzzer.phase("drain")
    fuzzer.finish()
    fuzzer.write({"t": "done", "calls": fuzzer.n, "ok": fuzzer.ok, "typed": fuzzer.typed})
    fuzzer.phase("exit")
    return 0


# Hostile values for the recorder's C entry points (issue 10): the forms its fast path
# parses (exact ints, floats, lists, tuples, bytes) at their edges, the subclasses it must
# hand to the slow path, and objects whose conversion runs code.
REC_METHODS = (
    "dispatch",
    "dispatch",
    "push_constants",
    "push_descriptor_set",
    "execution_barrier",
    "fill_buffer",
    "copy_buffer",
    "update_buffer",
)
#: Integers and non-integers at the edges of the C parser; every one is invalid as an
#: offset, a set or an entry point (2**64-1 is WHOLE_BUFFER: valid as a length only; 2**31
#: and 2**32-1 are valid barrier flags).
REC_EDGES: list[tuple[str, Any]] = [
    ("-1", -1),
    ("-2**63", -(2**63)),
    ("-2**63-1", -(2**63) - 1),
    ("2**63-1", 2**63 - 1),
    ("2**63", 2**63),
    ("2**64-1", 2**64 - 1),
    ("2**64", 2**64),
    ("2**32", 2**32),
    ("2**31", 2**31),
    ("True", True),
    ("False", False),
    ("4.0", 4.0),
    ("nan", math.nan),
    ("inf", math.inf),
    ("'4'", "4"),
    ("None", None),
    ("b'4'", b"4"),
]


class MyInt(int):
    """An int subclass: the fast path hands it to the slow path, which takes its value."""

    def __repr__(self) -> str:
        return f"MyInt({int(self)})"


class MyList(list):
    def __repr__(self) -> str:
        return f"MyList({list(self)!r})"


class MyTuple(tuple):
    def __repr__(self) -> str:
        return f"MyTuple({tuple(self)!r})"


class Index:
    """Not an int, with ``__index__`` (that runs ``effect`` first, when given)."""

    def __init__(self, value: int, effect: Callable[[], Any] | None = None, label: str = ""):
        self.value, self.effect, self.label = value, effect, label

    def __index__(self) -> int:
        if self.effect is not None:
            self.effect()
        return self.value

    def __repr__(self) -> str:
        return self.label or f"Index({self.value})"


class IndexTypeError:
    def __index__(self) -> int:
        raise TypeError("__index__ refuses")

    def __repr__(self) -> str:
        return "IndexTypeError()"


def _quietly(fn: Callable[[], Any]) -> Callable[[], None]:
    """``fn`` with polyhal's typed errors ignored (a side effect inside an argument)."""

    def run() -> None:
        import polyhal

        try:
            fn()
        except polyhal.HalError:
            pass

    return run


def _norm(value: Any) -> Any:
    """A decoded command as plain data, objects by identity (commands.Ref has no equality)."""
    import dataclasses

    from polyhal import commands

    if isinstance(value, commands.Ref):
        alloc = None if value.alloc is None else id(value.alloc)
        return ("Ref", alloc, value.slot, value.offset, value.length)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return (
            type(value).__name__,
            *(_norm(getattr(value, f.name)) for f in dataclasses.fields(value)),
        )
    if isinstance(value, (tuple, list)):
        return tuple(_norm(v) for v in value)
    if isinstance(value, (int, float, bytes, str, type(None))):
        return value if not (isinstance(value, float) and math.isnan(value)) else "nan"
    return ("object", id(value))


class _Child:
    """The pools of objects and the generators of hostile calls."""

    def __init__(self, driver: str, rng: random.Random, fd: int):
        import numpy as np

        import polyhal as hal

        self.hal = hal
        self.np = np
        self.driver = driver
        self.rng = rng
        self.fd = fd
        self.n = self.ok = self.typed = 0
        self.stuck = False  # a hang was found: the batch ends early
        self.local = driver.startswith("local")
        self.numbers = HOSTILE + _np_values()
        self.ops = self.OPS

    # -- logging ----------------------------------------------------------------------------
    def write(self, record: dict) -> None:
        os.write(self.fd, (json.dumps(record, default=repr) + "\n").encode())

    def phase(self, name: str) -> None:
        self.write({"t": "phase", "phase": name})

    def record(
        self, kind: str, call: str, exc: BaseException | None = None, tb: Any = None
    ) -> None:
        self.stuck |= kind == "hang"
        site = ""
        text = ""
        if exc is not None:
            text = f"{type(exc).__name__}: {_short(str(exc), 200)}"
            frames = traceback.extract_tb(tb if tb is not None else exc.__traceback__)
            for fr in frames:
                if "/polyhal/" in fr.filename:
                    site = f"{_rel(fr.filename)}:{fr.lineno}"
        self.write({"t": "f", "kind": kind, "call": call, "exc": text, "site": site})

    def call(self, label: str, fn: Callable[[], Any], bad: bool = False) -> Any:
        """Makes one fuzz call: logged before it runs, classified after."""
        self.n += 1
        self.write({"t": "c", "i": self.n, "ok": self.ok, "typed": self.typed, "call": label})
        try:
            result = fn()
        except self.hal.HalError:
            self.ok += 1
            self.typed += 1
            return None
        except Exception as e:  # noqa: BLE001 - classifying it is the point
            self.record("untyped", label, e)
            return None
        self.ok += 1
        if bad:
            self.record("accepted", label, None)
        return result

    # -- setup ------------------------------------------------------------------------------
    def setup(self) -> None:
        hal, rng = self.hal, self.rng
        self.dev = hal.create_device(self.driver)
        self.other = hal.create_device(self.driver)
        closed = hal.create_device(self.driver)
        self.kernels = self._load_kernels()
        self.exes: list[tuple[str, Any]] = [
            (f"exe.{n}", self.dev.create_executable(src)) for n, src in self.kernels.items()
        ]
        self.layouts = [
            (f"{label}.layout{i}", ep.layout)
            for label, exe in self.exes
            for i, ep in enumerate(exe.entry_points)
        ]
        self.guards: list[tuple[Any, bytes]] = []
        self.bufs: list[tuple[str, Any]] = []
        sizes = [0, 1, 3, 12, 16, 64, 100, 256, 4096, 4099, 40, 48]
        for i, size in enumerate(sizes):
            buf = self.dev.allocate_buffer(size)
            if size:
                buf.write(bytes(rng.randrange(256) for _ in range(size)))
            self.bufs.append((f"buf{i}[{size}]", buf))
            self._guard(rng.choice([3, 64, 256, 4096, 4100]))
        # Restricted usage, access and memory types.
        for label, kwargs in [
            ("src_only", {"usage": hal.BufferUsage.TRANSFER_SOURCE}),
            ("dst_only", {"usage": hal.BufferUsage.TRANSFER_TARGET}),
            ("storage_only", {"usage": hal.BufferUsage.DISPATCH_STORAGE}),
            ("read_only", {"access": hal.MemoryAccess.READ}),
            ("device_local", {"memory_type": hal.MemoryType.DEVICE_LOCAL}),
            ("host_local", {"memory_type": hal.MemoryType.HOST_LOCAL}),
        ]:
            self.bufs.append((f"{label}[64]", self.dev.allocate_buffer(64, **kwargs)))
            self._guard(64)
        for label, buf in list(self.bufs[:8]):
            if buf.size >= 4:
                self.bufs.append((f"{label}.sub(1,{buf.size - 2})", buf.subspan(1, buf.size - 2)))
        # Objects of another (open) device and of a closed one: bad in this device's calls.
        self.foreign: list[tuple[str, Any]] = [
            ("other.buf[64]", self.other.allocate_buffer(64)),
            ("other.cb", self.other.create_command_buffer()),
            ("other.event", self.other.create_event()),
            ("other.exe", self.other.create_executable(self.kernels["abs"])),
        ]
        cbs = []
        for mode in (hal.CommandBufferMode.ONE_SHOT, hal.CommandBufferMode.DEFAULT):
            cb = closed.create_command_buffer(mode, binding_capacity=2)
            cb.begin()
            cb.fill_buffer(hal.Slot(0), 0, 4, 1)
            cb.end()
            cbs.append(cb)
        recording = closed.create_command_buffer()
        recording.begin()
        self.closed_objs: list[tuple[str, Any]] = [
            ("closed.buf[64]", closed.allocate_buffer(64)),
            ("closed.cb", cbs[0]),
            ("closed.cb_reusable", cbs[1]),
            ("closed.cb_recording", recording),
            ("closed.event", closed.create_event()),
            ("closed.exe", closed.create_executable(self.kernels["abs"])),
            ("closed.sem", closed.create_semaphore(0)),
        ]
        closed.close()
        self.closed_dev = closed
        self.sems: list[tuple[str, Any]] = []
        self.all_sems: list[Any] = [self.closed_objs[-1][1]]
        self.sem_hi: dict[int, int] = {}
        for i in range(6):
            self._add_sem(f"sem{i}", self.dev.create_semaphore(i % 2))
        self.events = [(f"event{i}", self.dev.create_event()) for i in range(3)]
        self.cbs: list[tuple[str, Any]] = []
        for i in range(8):
            self._new_cb(f"cb{i}")
        self.fresh_devices = 0
        self.cb_count = len(self.cbs)
        self.views: list[tuple[str, Any]] = []  # numpy arrays onto buffers' memory
        self._rec_setup()

    def _rec_setup(self) -> None:
        """What the recorder ops use: an entry point with set 0 = bindings 0, 1 and two
        push constants, its layout and look-alikes, buffers of 64 bytes, a released one."""
        from polyhal import _stream

        hal = self.hal
        self.rec_exe = dict(self.exes)["exe.scale_and_offset"]
        layout = self.rec_layout = self.rec_exe.entry_points[0].layout
        self.rec_bufs = [(f"rbuf{i}[64]", self.dev.allocate_buffer(64)) for i in range(3)]
        self.rec_bufs.append(("rbuf0.sub(4,32)", self.rec_bufs[0][1].subspan(4, 32)))
        self.rec_dead = self.dev.allocate_buffer(64)
        self.dev.queue_dealloca(self.rec_dead)

        class Duck:
            """Not a PipelineLayout, with a real layout's tables."""

            _info = layout._info
            set_layouts = layout.set_layouts
            push_constants = layout.push_constants

            def __repr__(self) -> str:
                return "Duck()"

        class Computed:
            """A layout look-alike whose tables are made at each access: nothing owns them
            once read."""

            set_layouts = layout.set_layouts
            push_constants = 64

            @property
            def _info(self) -> Any:
                return _stream.LayoutInfo(64, [list(range(64))])

            def __repr__(self) -> str:
                return "Computed()"

        class SubLayout(hal.PipelineLayout):
            __slots__ = ()

            def __repr__(self) -> str:
                return "SubLayout()"

        self.rec_looks = [("Duck()", Duck()), ("Computed()", Computed())]
        # The same MemoryBarrier objects again and again (what a recorder may cache).
        self.rec_mb = hal.MemoryBarrier(
            hal.AccessScope.DISPATCH_WRITE, hal.AccessScope.DISPATCH_READ
        )
        self.rec_mbs = [
            self.rec_mb,
            hal.MemoryBarrier(hal.AccessScope.TRANSFER_WRITE, hal.AccessScope.TRANSFER_READ),
        ]
        self.rec_sublayout = SubLayout(layout.set_layouts, push_constants=2)
        self.twins: tuple[Any, Any] | None = None
        self.twin_calls = 0

    def _load_kernels(self) -> dict[str, Any]:
        import importlib.util

        spec = importlib.util.spec_from_file_location("polyhal_fuzz_kernels", KERNELS)
        module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
        sys.modules[spec.name] = module  # dataclasses look their module up there
        spec.loader.exec_module(module)  # type: ignore[union-attr]
        names = [
            "abs",
            "write_constants",
            "scale_and_offset",
            "negate_double",
            "workgroup_ids",
            "indirect_producer",
            "two_sets",
        ]
        out = {n: module.executable_source(n) for n in names}
        if self.local:
            # A kernel that writes one float per workgroup with no bounds check: checked
            # mode must turn its overruns into a failed submission.
            layout = self.hal.PipelineLayout([self.hal.DescriptorSetLayout([0])])
            out["oob"] = self.hal.ExecutableSource(
                [self.hal.EntryPoint("oob_write", layout)],
                {
                    "c": '#include "polyhal.h"\nPOLYHAL_ENTRY(oob_write) {\n'
                    "  ((float*)dispatch->binding_ptrs[0])[workgroup->workgroup_id_x] = 1.0f;"
                    "\n  return 0;\n}\n"
                },
            )
        return out

    def _guard(self, size: int) -> None:
        data = bytes(self.rng.randrange(256) for _ in range(size))
        buf = self.dev.buffer_from(data)
        self.guards.append((buf, data))

    def _add_sem(self, label: str, sem: Any) -> None:
        self.sems.append((label, sem))
        self.all_sems.append(sem)
        self.sem_hi[id(sem)] = sem.query()

    def _new_cb(self, label: str) -> None:
        hal, rng = self.hal, self.rng
        mode = rng.choice(
            [
                hal.CommandBufferMode.ONE_SHOT,
                hal.CommandBufferMode.DEFAULT,
                hal.CommandBufferMode.ONE_SHOT | hal.CommandBufferMode.ALLOW_INLINE_EXECUTION,
                hal.CommandBufferMode.UNVALIDATED,
            ]
        )
        categories = rng.choice(
            [
                hal.CommandCategory.ANY,
                hal.CommandCategory.ANY,
                hal.CommandCategory.TRANSFER,
                hal.CommandCategory.DISPATCH,
            ]
        )
        cb = self.dev.create_command_buffer(mode, categories, rng.choice([0, 0, 1, 2, 4]))
        state = rng.random()
        if state < 0.75:
            cb.begin()
        if state < 0.15:
            cb.end()
        label = f"{label}<{mode.name or int(mode)},{categories.name},cap{cb.binding_capacity}>"
        if len(self.cbs) >= 12:
            self.cbs.pop(rng.randrange(len(self.cbs)))
        self.cbs.append((label, cb))

    def selftest(self, kind: str) -> None:
        """Makes one finding of ``kind`` on purpose ($POLYHAL_FUZZ_SELFTEST), so tests can
        see that the parent reports it."""
        if kind == "corrupt":
            buf, data = self.guards[0]
            buf.write(bytes(b ^ 0xFF for b in data[:1]))
        elif kind == "crash":
            self.call("selftest crash", lambda: os.kill(os.getpid(), signal.SIGSEGV))
        elif kind == "hang":
            self.call("selftest hang", lambda: time.sleep(3600))
        elif kind == "untyped":
            self.call("selftest untyped", lambda: {}["missing"])
        elif kind == "accepted":
            self.call("selftest accepted", lambda: None, bad=True)
        elif kind == "mismatch":
            self._mismatch("selftest mismatch", "C: ok / Python: InvalidArgumentError")

    # -- the end of a batch -------------------------------------------------------------------
    def finish(self) -> None:
        hal = self.hal
        # Pending submissions wait on values nobody will signal: fail every semaphore so
        # the queue drains, then demand that it does.
        for sem in self.all_sems:
            try:
                sem.fail(hal.StatusCode.CANCELLED, "fuzz batch end")
            except hal.HalError:
                pass
        for dev, name in ((self.dev, "device"), (self.other, "other device")):
            try:
                # Once a hang is known, a short wait tells whether the queue is still wedged.
                dev.wait_idle(2.0 if self.stuck else DRAIN_TIMEOUT)
            except hal.DeadlineExceededError as e:
                self.record("hang", f"({name} did not drain after every semaphore failed)", e)
                self._dump_stuck(dev)
                self.write({"t": "done", "calls": self.n, "ok": self.ok, "typed": self.typed})
                os._exit(0)
            except hal.HalError:
                pass
        self.phase("guards")
        for i, (buf, data) in enumerate(self.guards):
            try:
                got = buf.read()
            except hal.HalError as e:
                # A lost device (cuda after a faulting kernel) refuses every later call:
                # its memory cannot be compared, which is itself worth a look.
                self.record("unchecked", f"guard {i} unreadable at the batch end", e)
                continue
            if got != data:
                diff = next(j for j in range(len(data)) if got[j] != data[j])
                self.record("corruption", f"guard {i} ({len(data)} bytes) differs from byte {diff}")
        self.phase("close")
        for dev in (self.other, self.dev):
            try:
                dev.close()
            except hal.HalError as e:
                self.record("unchecked", "close() at the batch end raised", e)

    @staticmethod
    def _dump_stuck(dev: Any) -> None:
        """What the stuck submissions hold (the front end's internals, read for the report)
        and every thread's stack, into stderr, which the parent keeps."""
        import faulthandler

        from polyhal import CommandBuffer

        def command_buffers(obj: Any, depth: int = 0) -> list:
            if isinstance(obj, CommandBuffer):
                return [obj]
            if depth > 3:
                return []
            if isinstance(obj, (list, tuple)):
                items = obj
            else:
                slots = getattr(type(obj), "__slots__", ())
                items = [getattr(obj, n, None) for n in slots] + list(
                    getattr(obj, "__dict__", {}).values()
                )
            return [cb for item in items for cb in command_buffers(item, depth + 1)]

        for sub in list(getattr(dev, "_inflight", ()))[:20]:
            cbs = command_buffers(getattr(sub, "keep", None))
            print(
                "stuck submission: pending waits",
                getattr(sub, "pending", "?"),
                "finished",
                getattr(sub, "finished", "?"),
                "command buffers",
                [(cb.mode.name, _names(cb.commands)) for cb in cbs],
                file=sys.stderr,
            )
        sys.stderr.flush()
        faulthandler.dump_traceback(all_threads=True)

    # -- one step -------------------------------------------------------------------------------
    def step(self) -> None:
        ops = self.ops
        op = self.rng.choices(ops, weights=[w for _, w in ops])[0][0]
        op(self)

    # -- argument generators -----------------------------------------------------------------
    def num(self, kind: str, valid: Sequence[int] = (), p_valid: float = 0.75) -> Arg:
        if valid and self.rng.random() < p_valid:
            v = self.rng.choice(list(valid))
            return Arg(repr(v), v, int_badness(kind, v))
        label, v = self.rng.choice(self.numbers)
        return Arg(label, v, int_badness(kind, v))

    def buf(self, *, slots: bool = True, foreign: bool = True) -> Arg:
        """A buffer argument for this device's calls (or a Slot, or garbage)."""
        r = self.rng.random()
        if r < 0.72:
            label, b = self.rng.choice(self.bufs)
            dead = getattr(getattr(b, "alloc", None), "released", False)
            return Arg(label, b, dead)
        if r < 0.84 and slots:
            i = self.rng.choice([0, 1, 2, 3])
            return Arg(f"Slot({i})", self.hal.Slot(i))
        if r < 0.88 and slots:
            label, v = self.rng.choice(
                [
                    ("-1", -1),
                    ("'0'", "0"),
                    ("2**64", 2**64),
                    ("None", None),
                    ("np.uint8(1)", self.np.uint8(1)),
                    ("1.0", 1.0),
                ]
            )
            return Arg(f"Slot({label})", self.hal.Slot(v), int_badness("index", v))
        if r < 0.94 and foreign:
            label, b = self.rng.choice([self.foreign[0], self.closed_objs[0]])
            return Arg(label, b, True)
        label, v = self.rng.choice(
            [
                ("None", None),
                ("'buf'", "buf"),
                ("5", 5),
                ("b'abc'", b"abc"),
                ("np.zeros(4)", self.np.zeros(4)),
                ("[buf0]", [self.bufs[0][1]]),
                ("event0", self.events[0][1]),
            ]
        )
        return Arg(label, v, True)

    def slot_range(self, target: Arg, *args: Arg) -> bool:
        """Whether a range is bad: against a Slot only values outside uint64 (or not
        integers) are, since the binding table is known at submit only."""
        if isinstance(target.value, self.hal.Slot):
            return any(int_badness("payload", a.value) for a in args)
        return any(a.bad for a in args)

    def offset(self, size: int = 64, kind: str = "offset") -> Arg:
        return self.num(kind, [0, 0, 1, 2, 4, 8, size // 2, max(0, size - 4), size, size + 1])

    def length(self, size: int = 64) -> Arg:
        return self.num("length", [0, 1, 4, 8, 12, size, WHOLE_BUFFER, WHOLE_BUFFER, size + 4])

    def size_of(self, arg: Arg) -> int:
        return getattr(arg.value, "size", 64) if not isinstance(arg.value, int) else 64

    def enum(self, kind: Any, extra: Sequence[tuple[str, Any, bool]] = ()) -> Arg:
        """A member of ``kind``, a combination, or garbage (bad)."""
        r = self.rng.random()
        members = list(kind)
        if r < 0.6 and members:
            m = self.rng.choice(members)
            return Arg(f"{kind.__name__}.{m.name}", m)
        if r < 0.7 and len(members) > 1:
            a, b = self.rng.sample(members, 2)
            return Arg(f"{kind.__name__}.{a.name}|{b.name}", a | b)
        options = [
            ("None", None, True),
            ("'x'", "x", True),
            ("-1", -1, True),
            ("2**64", 2**64, True),
            ("1 << 30", 1 << 30, True),
            ("1.5", 1.5, True),
            ("[1]", [1], True),
            ("np.uint8(1)", self.np.uint8(1), False),
            ("StatusCode.ABORTED", self.hal.StatusCode.ABORTED, False),
            *extra,
        ]
        label, v, bad = self.rng.choice(options)
        return Arg(label, v, bad)

    def sem(self) -> tuple[str, Any]:
        return self.rng.choice(self.sems)

    def pairs(self, what: str) -> Arg:
        """A wait or signal list."""
        rng = self.rng
        r = rng.random()
        if r < 0.35:
            return Arg("()", ())
        label, s = self.sem()
        hi = self.sem_hi[id(s)]
        if r < 0.75:
            if what == "signal":
                v = hi + 1
                self.sem_hi[id(s)] = v
            else:
                v = rng.choice([0, max(0, hi - 1), hi, hi + 1, hi + 2])
            if rng.random() < 0.15:
                return Arg(f"({label}, {v})", (s, v))  # a bare pair
            return Arg(f"[({label}, {v})]", [(s, v)])
        options = [
            (f"[({label},)]", [(s,)], True),
            (f"[({label}, 1, 1)]", [(s, 1, 1)], True),
            (f"[{label}]", [s], True),
            ("[(None, 1)]", [(None, 1)], True),
            (f"[({label}, 2**64)]", [(s, 2**64)], True),
            (f"[({label}, 10**30)]", [(s, 10**30)], True),
            (f"[({label}, -1)]", [(s, -1)], True),
            (f"[({label}, '1')]", [(s, "1")], True),
            (f"[({label}, 1.0)]", [(s, 1.0)], True),
            (f"[({label}, nan)]", [(s, math.nan)], True),
            ("'x'", "x", True),
            ("5", 5, True),
            ("None", None, False),
            (f"[({label}, np.uint64(1))]", [(s, self.np.uint64(1))], False),
            ("[(closed.sem, 1)]", [(self.closed_objs[-1][1], 1)], False),
        ]
        lab, v, bad = rng.choice(options)
        return Arg(lab, v, bad)

    def timeout(self, forever_ok: bool = False) -> Arg:
        options = [
            ("0", 0, False),
            ("0.001", 0.001, False),
            ("0.01", 0.01, False),
            ("np.float32(0.002)", self.np.float32(0.002), False),
            ("nan", math.nan, True),
            ("-1", -1, True),
            ("-inf", -math.inf, True),
            ("'0.1'", "0.1", True),
            ("1j", 1j, True),
            ("[0.1]", [0.1], True),
            ("np.float64(nan)", self.np.float64("nan"), True),
            ("-1e-9", -1e-9, True),
        ]
        if forever_ok:
            options += [
                ("None", None, False),
                ("inf", math.inf, False),
                ("2**64", 2**64, False),
                ("10**400", 10**400, False),
                ("1e300", 1e300, False),
            ]
        label, v, bad = self.rng.choice(options)
        return Arg(label, v, bad)

    def data(self) -> Arg:
        np = self.np
        options = [
            ("b'ABCD'", b"ABCD", False),
            ("bytes(64)", bytes(64), False),
            ("bytearray(3)", bytearray(3), False),
            ("b''", b"", False),
            ("memoryview(bytes(16))", memoryview(bytes(16)), False),
            ("np.arange(4, dtype=f32)", np.arange(4, dtype=np.float32), False),
            ("np.arange(8)[::2]", np.arange(8, dtype=np.int32)[::2], False),
            ("np.ones((2,3), u16)", np.ones((2, 3), np.uint16), False),
            ("np.float64(1.0)", np.float64(1.0), False),
            ("'abcd'", "abcd", True),
            ("None", None, True),
            ("5", 5, True),
            ("[1, 2, 3]", [1, 2, 3], True),
            ("bytes(5000)", bytes(5000), False),
            ("np.array(['a'], dtype=object)", np.array(["a"], dtype=object), True),
        ]
        label, v, bad = self.rng.choice(options)
        return Arg(label, v, bad)

    # -- operations: the device ----------------------------------------------------------------
    def _dev(self) -> tuple[str, Any, bool]:
        r = self.rng.random()
        if r < 0.93:
            return "dev", self.dev, False
        return "closed_dev", self.closed_dev, True

    def op_allocate(self) -> None:
        name, dev, bad = self._dev()
        size = self.num("size", [0, 1, 3, 16, 64, 4099, 2**35])
        kw = []
        for key, kind in (
            ("memory_type", self.hal.MemoryType),
            ("usage", self.hal.BufferUsage),
            ("access", self.hal.MemoryAccess),
        ):
            if self.rng.random() < 0.4:
                kw.append((key, self.enum(kind)))
        label = f"{name}.allocate_buffer({size.label}{_kw(kw)})"
        buf = self.call(
            label,
            lambda: dev.allocate_buffer(size.value, **_kv(kw)),
            bad or size.bad or any(a.bad for _, a in kw),
        )
        self._adopt(buf, label)

    def _adopt(self, buf: Any, label: str) -> None:
        if isinstance(buf, self.hal.Buffer) and buf.size <= 1 << 20 and buf.device is self.dev:
            if len(self.bufs) > 40:
                self.bufs.pop(self.rng.randrange(12, len(self.bufs)))
            self.bufs.append((f"new{self.n}[{buf.size}]", buf))

    def op_buffer_from(self) -> None:
        name, dev, bad = self._dev()
        data = self.data()
        kw = []
        if self.rng.random() < 0.3:
            kw.append(("usage", self.enum(self.hal.BufferUsage)))
        if self.rng.random() < 0.3:
            kw.append(("memory_type", self.enum(self.hal.MemoryType)))
        label = f"{name}.buffer_from({data.label}{_kw(kw)})"
        buf = self.call(
            label,
            lambda: dev.buffer_from(data.value, **_kv(kw)),
            bad or data.bad or any(a.bad for _, a in kw),
        )
        self._adopt(buf, label)

    def op_create_executable(self) -> None:
        hal, rng = self.hal, self.rng
        name, dev, bad = self._dev()
        eps = self.kernels["abs"].entry_points
        layout = eps[0].layout
        garbage_formats = [
            ("{'c': b'\\xff\\xfe'}", {"c": b"\xff\xfe"}, True),
            ("{'c': 'int x = ;'}", {"c": "int x = ;"}, True),
            ("{'c': None}", {"c": None}, True),
            ("{'c': 5}", {"c": 5}, True),
            ("{'spirv': b'garbage'}", {"spirv": b"garbage!"}, True),
            ("{'spirv': magic+garbage}", {"spirv": bytes.fromhex("03022307") + bytes(64)}, True),
            ("{'spirv': {'abs_f32': b'\\x00'*7}}", {"spirv": {"abs_f32": bytes(7)}}, True),
            ("{'glsl': 'void main( {'}", {"glsl": "void main( {"}, True),
            ("{'glsl': b'\\xff'}", {"glsl": b"\xff"}, True),
            ("{'cuda': 'garbage'}", {"cuda": "__global__ void abs_f32( {"}, True),
            ("{'ptx': b'\\xff'}", {"ptx": b"\xff"}, True),
            ("{'cubin': b'\\x7fELF'+junk}", {"cubin": b"\x7fELF" + bytes(60)}, True),
            (
                "{'iree-system-library': '/nonexistent.so'}",
                {"iree-system-library": "/nonexistent.so"},
                True,
            ),
            ("{'iree-system-library': b'junk'}", {"iree-system-library": b"junk"}, True),
            ("{'metallib': b'junk'}", {"metallib": b"junk"}, True),
            ("{}", {}, True),
            ("None", None, True),
            ("'c'", "c", True),
            ("{5: 'x'}", {5: "x"}, True),
        ]
        words = [0x07230203, 0x00010000, 0, rng.randrange(1, 200), 0] + [
            rng.getrandbits(32) if rng.random() < 0.3 else rng.randrange(0, 64)
            for _ in range(rng.randrange(1, 64))
        ]
        spirv_junk = b"".join(w.to_bytes(4, "little") for w in words)
        garbage_formats += [
            ("{'spirv': header+random words}", {"spirv": spirv_junk}, True),
            ("{'spirv': header+random words, truncated}", {"spirv": spirv_junk[:-2]}, True),
            (
                "{'iree-system-library': garbage file}",
                {"iree-system-library": self._junk_file(rng.randbytes(rng.randrange(0, 4096)))},
                True,
            ),
            (
                "{'iree-system-library': truncated ELF}",
                {"iree-system-library": self._junk_file(_elf_head(rng.randrange(16, 2048)))},
                True,
            ),
            ("{'iree-system-library': 'libm.so.6'}", {"iree-system-library": "libm.so.6"}, True),
        ]
        r = rng.random()
        if r < 0.25:
            n = rng.choice(list(self.kernels))
            label = f"{name}.create_executable(kernels[{n!r}])"
            self.call(label, lambda: dev.create_executable(self.kernels[n]), bad)
            return
        if r < 0.75:
            flabel, formats, fbad = rng.choice(garbage_formats)
            label = f"{name}.create_executable(ExecutableSource(abs.eps, {flabel}))"
            self.call(
                label, lambda: dev.create_executable(hal.ExecutableSource(eps, formats)), True
            )
            return
        elabel, entries = rng.choice(
            [
                ("[None]", lambda: [None]),
                ("'abc'", lambda: "abc"),
                ("None", lambda: None),
                (
                    "[EntryPoint('abs_f32', 'layout')]",
                    lambda: [hal.EntryPoint("abs_f32", "layout")],
                ),
                ("[EntryPoint('nope', layout)]", lambda: [hal.EntryPoint("nope", layout)]),
                (
                    "[EntryPoint('abs_f32', layout, (4096, 4096, 64))]",
                    lambda: [hal.EntryPoint("abs_f32", layout, (4096, 4096, 64))],
                ),
                ("[EntryPoint(5, layout)]", lambda: [hal.EntryPoint(5, layout)]),
                (
                    "[EntryPoint('abs_f32', layout, (1, 1, 2**32))]",
                    lambda: [hal.EntryPoint("abs_f32", layout, (1, 1, 2**32))],
                ),
            ]
        )
        fmt = dict(self.kernels["abs"].formats)
        label = f"{name}.create_executable(ExecutableSource({elabel}, abs.formats))"
        # A large workgroup size is bad only beyond the device's limits.
        self.call(
            label,
            lambda: dev.create_executable(hal.ExecutableSource(entries(), fmt)),
            "4096" not in elabel,
        )

    def _junk_file(self, data: bytes) -> str:
        """A file of ``data`` named like a shared library, removed at exit."""
        import atexit

        fd, path = tempfile.mkstemp(prefix="polyhal-fuzz-", suffix=".so")
        os.write(fd, data)
        os.close(fd)
        atexit.register(os.unlink, path)
        return path

    def op_constructors(self) -> None:
        hal, rng = self.hal, self.rng
        layout = self.layouts[0][1]
        options: list[tuple[str, Callable[[], Any], bool]] = [
            ("DescriptorSetLayout(['x'])", lambda: hal.DescriptorSetLayout(["x"]), True),
            ("DescriptorSetLayout(None)", lambda: hal.DescriptorSetLayout(None), True),
            ("DescriptorSetLayout([-1])", lambda: hal.DescriptorSetLayout([-1]), True),
            ("DescriptorSetLayout([0, 0])", lambda: hal.DescriptorSetLayout([0, 0]), True),
            ("DescriptorSetLayout([1.5])", lambda: hal.DescriptorSetLayout([1.5]), True),
            ("DescriptorSetLayout([2**64])", lambda: hal.DescriptorSetLayout([2**64]), True),
            (
                "DescriptorSetLayout([DSLB('x')])",
                lambda: hal.DescriptorSetLayout([hal.DescriptorSetLayoutBinding("x")]),
                True,
            ),
            (
                "DescriptorSetLayout([DSLB(0, 'ro')])",
                lambda: hal.DescriptorSetLayout([hal.DescriptorSetLayoutBinding(0, "ro")]),
                True,
            ),
            ("PipelineLayout(None)", lambda: hal.PipelineLayout(None), True),
            ("PipelineLayout([1])", lambda: hal.PipelineLayout([1]), True),
            ("PipelineLayout([], 'x')", lambda: hal.PipelineLayout([], "x"), True),
            ("PipelineLayout([], -1)", lambda: hal.PipelineLayout([], -1), True),
            ("PipelineLayout([], 1.5)", lambda: hal.PipelineLayout([], 1.5), True),
            ("PipelineLayout([], 2**64)", lambda: hal.PipelineLayout([], 2**64), True),
            ("EntryPoint('e', layout, (1, 1))", lambda: hal.EntryPoint("e", layout, (1, 1)), True),
            ("EntryPoint('e', layout, None)", lambda: hal.EntryPoint("e", layout, None), True),
            (
                "EntryPoint('e', layout, (0, 1, 1))",
                lambda: hal.EntryPoint("e", layout, (0, 1, 1)),
                True,
            ),
            ("EntryPoint('e', layout, 'abc')", lambda: hal.EntryPoint("e", layout, "abc"), True),
            (
                "EntryPoint('e', layout, (2**64, 1, 1))",
                lambda: hal.EntryPoint("e", layout, (2**64, 1, 1)),
                True,
            ),
            (
                "ExecutableSource([], {'c': b'\\xff'})",
                lambda: hal.ExecutableSource([], {"c": b"\xff"}),
                False,
            ),
            ("Semaphore(dev, 2**64)", lambda: hal.Semaphore(self.dev, 2**64), True),
            ("Semaphore(dev, -1)", lambda: hal.Semaphore(self.dev, -1), True),
            ("Semaphore(dev, 'x')", lambda: hal.Semaphore(self.dev, "x"), True),
            ("Semaphore(dev, 1.0)", lambda: hal.Semaphore(self.dev, 1.0), True),
            (
                "Semaphore(dev, np.uint64(2**64-1))",
                lambda: hal.Semaphore(self.dev, self.np.uint64(2**64 - 1)),
                False,
            ),
        ]
        label, fn, bad = rng.choice(options)
        self.call(label, fn, bad)

    def op_create_cb(self) -> None:
        hal, rng = self.hal, self.rng
        name, dev, bad = self._dev()
        kw = []
        if rng.random() < 0.7:
            kw.append(("mode", self.enum(hal.CommandBufferMode)))
        if rng.random() < 0.5:
            kw.append(
                (
                    "categories",
                    self.enum(
                        hal.CommandCategory,
                        [("CommandCategory.NONE", hal.CommandCategory.NONE, True)],
                    ),
                )
            )
        if rng.random() < 0.5:
            kw.append(("binding_capacity", self.num("count", [0, 1, 2, 4, 64])))
        label = f"{name}.create_command_buffer({_kw(kw)[2:]})"
        cb = self.call(
            label, lambda: dev.create_command_buffer(**_kv(kw)), bad or any(a.bad for _, a in kw)
        )
        if isinstance(cb, hal.CommandBuffer):
            if len(self.cbs) >= 12:
                self.cbs.pop(rng.randrange(len(self.cbs)))
            self.cbs.append((f"cb#{self.n}", cb))
            if rng.random() < 0.8:
                self.call(f"cb#{self.n}.begin()", cb.begin)

    def op_new_valid_cb(self) -> None:
        self.cb_count += 1
        self._new_cb(f"cb{self.cb_count}")

    def op_create_semaphore(self) -> None:
        name, dev, bad = self._dev()
        v = self.num("payload", [0, 1, 5, 2**64 - 1, 2**63])
        label = f"{name}.create_semaphore({v.label})"
        sem = self.call(label, lambda: dev.create_semaphore(v.value), bad or v.bad)
        if isinstance(sem, self.hal.Semaphore) and len(self.sems) < 14:
            self._add_sem(f"sem#{self.n}", sem)

    def op_create_event(self) -> None:
        name, dev, bad = self._dev()
        self.call(f"{name}.create_event()", dev.create_event, bad)

    def op_attrs(self) -> None:
        dev = self.rng.choice([self.dev, self.closed_dev])
        self.call("dev.info/name/driver/repr", lambda: (dev.info, dev.name, dev.driver, repr(dev)))

    def op_create_device(self) -> None:
        hal = self.hal
        uri, ubad = self.rng.choice(
            [
                (self.driver, False),
                ("nope", True),
                ("local:7", True),
                ("local:x", True),
                ("vulkan:-1", True),
                (":", True),
                ("", False),
                (None, False),
                (5, True),
            ]
        )
        opts, obad = self.rng.choice(
            [
                ({}, False),
                ({"dispatch_type": "bogus"}, True),
                ({"dispatch_type": None}, True),
                ({"checked": "yes"}, True),
                ({"checked": 1}, True),
                ({"dispatch_type": "serial"}, False),
            ]
        )
        if uri in ("", None) and "POLYHAL_DEVICE" not in os.environ:
            uri = self.driver if self.rng.random() < 0.5 else uri
        if self.fresh_devices >= 3 and not (ubad or obad):
            return
        label = f"create_device({uri!r}, **{opts!r})"
        dev = self.call(label, lambda: hal.create_device(uri, **opts), ubad or obad)
        if dev is not None:
            self.fresh_devices += 1
            self.call(f"{label}.close()", dev.close)

    def op_fresh_close(self) -> None:
        """A fresh device closed with work pending, from a host call, or twice."""
        if self.fresh_devices >= 3:
            return
        hal, rng = self.hal, self.rng
        self.fresh_devices += 1
        dev = hal.create_device(self.driver)
        sem = dev.create_semaphore(0)
        buf = dev.allocate_buffer(64)
        try:
            self._add_view("fresh.buf.as_array()", buf.as_array())
        except hal.HalError:
            pass  # memory without a host mapping
        kind = rng.choice(["pending", "host_call_close", "twice", "dealloca_pending", "race"])
        if kind == "pending":
            self.call(
                "fresh.queue_fill(buf, 0, 64, 7, wait=[(s, 1)])",
                lambda: dev.queue_fill(buf, 0, 64, 7, wait=[(sem, 1)]),
            )
            self.call("fresh.close() with a parked fill", dev.close)
        elif kind == "host_call_close":
            self.call("fresh.queue_host_call(fresh.close)", lambda: dev.queue_host_call(dev.close))
            self.call("fresh.close() after queue_host_call(fresh.close)", dev.close)
        elif kind == "twice":
            self.call("fresh.close()", dev.close)
            self.call("fresh.close() again", dev.close)
        elif kind == "race":
            import threading

            def submit() -> None:
                for i in range(200):
                    try:
                        dev.queue_fill(buf, 0, 64, i & 0xFF)
                    except hal.HalError:
                        pass  # FailedPreconditionError once closed: expected

            thread = threading.Thread(target=submit, name="fuzz-close-race")
            thread.start()
            time.sleep(0.002)
            self.call("fresh.close() while another thread submits", dev.close)
            thread.join(30)
            if thread.is_alive():
                self.record("hang", "a thread submitting to a closing device never returned")
        else:
            self.call(
                "fresh.queue_dealloca(buf, wait=[(s, 1)])",
                lambda: dev.queue_dealloca(buf, wait=[(sem, 1)]),
            )
            self.call("fresh.close() with a parked dealloca", dev.close)
        # Everything after close must refuse.
        options = [
            (
                "fresh(closed).queue_host_call(lambda: None)",
                lambda: dev.queue_host_call(lambda: None),
            ),
            ("fresh(closed).queue_dealloca(buf)", lambda: dev.queue_dealloca(buf)),
            ("fresh(closed).buf.read()", buf.read),
            ("fresh(closed).buf.write(b'x')", lambda: buf.write(b"x")),
            ("fresh(closed).allocate_buffer(4)", lambda: dev.allocate_buffer(4)),
            ("fresh(closed).queue_barrier()", dev.queue_barrier),
        ]
        label, fn = rng.choice(options)
        self.call(label, fn, True)

    # -- operations: the queue --------------------------------------------------------------
    def op_queue_execute(self) -> None:
        rng = self.rng
        r = rng.random()
        cbs: Arg
        if r < 0.6:
            label, cb = rng.choice(self.cbs)
            cbs = Arg(label, cb)
        elif r < 0.7:
            (l1, c1), (l2, c2) = rng.choice(self.cbs), rng.choice(self.cbs)
            cbs = Arg(f"[{l1}, {l2}]", [c1, c2])
        elif r < 0.8:
            label, obj = rng.choice(
                [self.foreign[1]] + [o for o in self.closed_objs if ".cb" in o[0]]
            )
            cbs = Arg(label, obj, True)
        else:
            label, v = rng.choice(
                [
                    ("None", None),
                    ("'cb'", "cb"),
                    ("5", 5),
                    ("[None]", [None]),
                    ("buf0", self.bufs[0][1]),
                ]
            )
            cbs = Arg(label, v, True)
        table = self.binding_table()
        wait, sig = self.pairs("wait"), self.pairs("signal")
        label = (
            f"dev.queue_execute({cbs.label}, wait={wait.label}, signal={sig.label}, "
            f"binding_table={table.label})"
        )
        self.call(
            label,
            lambda: self.dev.queue_execute(
                cbs.value, wait=wait.value, signal=sig.value, binding_table=table.value
            ),
            cbs.bad or table.bad or wait.bad or sig.bad,
        )

    def binding_table(self) -> Arg:
        rng = self.rng
        r = rng.random()
        if r < 0.3:
            return Arg("None", None)
        if r < 0.85:
            entries, labels, bad = [], [], False
            for _ in range(rng.choice([1, 2, 3, 4])):
                kind = rng.random()
                b = self.buf(slots=False)
                if kind < 0.5:
                    entries.append(b.value)
                    labels.append(b.label)
                    # A one-item list is a (buffer,) entry here, which is fine.
                    bad |= b.bad and b.label != "[buf0]"
                else:
                    if rng.random() < 0.1:  # a (buffer,) entry: offset 0, the whole buffer
                        entries.append((b.value,))
                        labels.append(f"({b.label},)")
                        bad |= b.bad
                        continue
                    off, ln = self.offset(self.size_of(b)), self.length(self.size_of(b))
                    extra = rng.random() < 0.1
                    entries.append((b.value, off.value, ln.value) + ((0,) if extra else ()))
                    labels.append(
                        f"({b.label}, {off.label}, {ln.label}" + (", 0)" if extra else ")")
                    )
                    bad |= b.bad or off.bad or ln.bad or extra
            return Arg("[" + ", ".join(labels) + "]", entries, bad)
        label, v = rng.choice(
            [
                ("5", 5),
                ("'x'", "x"),
                ("[None]", [None]),
                ("[5]", [5]),
                ("[(None, 0, 4)]", [(None, 0, 4)]),
                ("{}", {}),
            ]
        )
        return Arg(label, v, label != "{}")

    def op_queue_barrier(self) -> None:
        name, dev, bad = self._dev()
        wait, sig = self.pairs("wait"), self.pairs("signal")
        self.call(
            f"{name}.queue_barrier(wait={wait.label}, signal={sig.label})",
            lambda: dev.queue_barrier(wait=wait.value, signal=sig.value),
            bad or wait.bad or sig.bad,
        )

    def op_queue_transfer(self) -> None:
        name, dev, bad = self._dev()
        rng = self.rng
        kind = rng.choice(["fill", "update", "copy"])
        wait, sig = self.pairs("wait"), self.pairs("signal")
        tgt = self.buf(slots=False)
        off, ln = self.offset(self.size_of(tgt)), self.length(self.size_of(tgt))
        tail = f"wait={wait.label}, signal={sig.label}"
        bad = bad or wait.bad or sig.bad or tgt.bad or off.bad or ln.bad
        if kind == "fill":
            pat = self.pattern()
            label = f"{name}.queue_fill({tgt.label}, {off.label}, {ln.label}, {pat.label}, {tail})"
            self.call(
                label,
                lambda: dev.queue_fill(
                    tgt.value, off.value, ln.value, pat.value, wait=wait.value, signal=sig.value
                ),
                bad or pat.bad,
            )
        elif kind == "update":
            data, soff = self.data(), self.offset(16)
            label = (
                f"{name}.queue_update({data.label}, {soff.label}, {tgt.label}, "
                f"{off.label}, {ln.label}, {tail})"
            )
            self.call(
                label,
                lambda: dev.queue_update(
                    data.value,
                    soff.value,
                    tgt.value,
                    off.value,
                    ln.value,
                    wait=wait.value,
                    signal=sig.value,
                ),
                bad or data.bad or soff.bad,
            )
        else:
            src = self.buf(slots=False)
            soff = self.offset(self.size_of(src))
            label = (
                f"{name}.queue_copy({src.label}, {soff.label}, {tgt.label}, {off.label}, "
                f"{ln.label}, {tail})"
            )
            self.call(
                label,
                lambda: dev.queue_copy(
                    src.value,
                    soff.value,
                    tgt.value,
                    off.value,
                    ln.value,
                    wait=wait.value,
                    signal=sig.value,
                ),
                bad or src.bad or soff.bad,
            )

    def op_queue_alloca(self) -> None:
        name, dev, bad = self._dev()
        size = self.num("size", [0, 4, 64, 100])
        wait, sig = self.pairs("wait"), self.pairs("signal")
        kw = [("memory_type", self.enum(self.hal.MemoryType))] if self.rng.random() < 0.3 else []
        label = f"{name}.queue_alloca({size.label}, wait={wait.label}, signal={sig.label}{_kw(kw)})"
        buf = self.call(
            label,
            lambda: dev.queue_alloca(size.value, wait=wait.value, signal=sig.value, **_kv(kw)),
            bad or size.bad or wait.bad or sig.bad or any(a.bad for _, a in kw),
        )
        self._adopt(buf, label)

    def op_queue_dealloca(self) -> None:
        name, dev, bad = self._dev()
        if self.rng.random() < 0.7 and len(self.bufs) > 14:
            i = self.rng.randrange(12, len(self.bufs))  # never the first few roots
            b = Arg(*self.bufs[i])
            b.bad = getattr(b.value.alloc, "released", False)
        else:
            b = self.buf(slots=False)
        wait, sig = self.pairs("wait"), self.pairs("signal")
        label = f"{name}.queue_dealloca({b.label}, wait={wait.label}, signal={sig.label})"
        self.call(
            label,
            lambda: dev.queue_dealloca(b.value, wait=wait.value, signal=sig.value),
            bad or b.bad or wait.bad or sig.bad,
        )

    def op_queue_host_call(self) -> None:
        name, dev, bad = self._dev()
        hal, rng = self.hal, self.rng
        slabel, s = self.sem()

        def boom() -> None:
            raise ValueError("host call failed on purpose")

        def hal_boom() -> None:
            raise hal.OutOfRangeError("host call failed on purpose")

        def signal_sem() -> None:
            s.signal(s.query() + 1)

        fns = [
            ("lambda: None", lambda: None, False),
            ("boom", boom, False),
            ("hal_boom", hal_boom, False),
            (f"signal({slabel})", signal_sem, False),
            ("lambda: dev.wait_idle(0.01)", lambda: self.dev.wait_idle(0.01), False),
            ("lambda: time.sleep(0.002)", lambda: time.sleep(0.002), False),
            ("5", 5, True),
            ("None", None, True),
            ("'fn'", "fn", True),
        ]
        flabel, fn, fbad = rng.choice(fns)
        wait, sig = self.pairs("wait"), self.pairs("signal")
        label = f"{name}.queue_host_call({flabel}, wait={wait.label}, signal={sig.label})"
        self.call(
            label,
            lambda: dev.queue_host_call(fn, wait=wait.value, signal=sig.value),
            bad or fbad or wait.bad or sig.bad,
        )

    def op_wait_semaphores(self) -> None:
        hal, rng = self.hal, self.rng
        pairs = self.pairs("wait")
        reached = isinstance(pairs.value, list) and all(
            isinstance(p, tuple)
            and len(p) == 2
            and isinstance(p[0], hal.Semaphore)
            and isinstance(p[1], int)
            and 0 <= p[1] <= p[0]._value
            for p in pairs.value
        )
        timeout = self.timeout(forever_ok=reached)
        mode = Arg("ALL", hal.WaitMode.ALL)
        if rng.random() < 0.4:
            mode = self.enum(hal.WaitMode)
        label = f"dev.wait_semaphores({pairs.label}, mode={mode.label}, timeout={timeout.label})"
        empty = pairs.value in ((), None)
        self.call(
            label,
            lambda: self.dev.wait_semaphores(pairs.value, mode=mode.value, timeout=timeout.value),
            pairs.bad or ((mode.bad or timeout.bad) and not empty),
        )

    def op_wait_idle(self) -> None:
        timeout = self.timeout()
        name, dev, bad = self._dev()
        self.call(
            f"{name}.wait_idle({timeout.label})", lambda: dev.wait_idle(timeout.value), timeout.bad
        )

    # -- operations: semaphores -------------------------------------------------------------
    def op_semaphore(self) -> None:
        hal, rng = self.hal, self.rng
        label, s = self.sem() if rng.random() < 0.9 else self.closed_objs[-1]
        hi = self.sem_hi.get(id(s), 0)
        kind = rng.choice(["query", "signal", "signal", "fail", "wait", "wait"])
        if kind == "query":
            self.call(f"{label}.query()", s.query)
        elif kind == "signal":
            v = self.num("payload", [hi + 1, hi + 1, hi, 2**64 - 1, hi + 2])
            if isinstance(v.value, int) and not v.bad and v.value > hi:
                self.sem_hi[id(s)] = v.value
            self.call(f"{label}.signal({v.label})", lambda: s.signal(v.value), v.bad)
        elif kind == "fail":
            if rng.random() < 0.6:
                code = (
                    Arg("12345", 12345, True)
                    if rng.random() < 0.5
                    else self.enum(hal.StatusCode, [("'ABORTED'", "ABORTED", True)])
                )
                msg = rng.choice([("''", ""), ("'why'", "why"), ("None", None), ("5", 5)])
                self.call(
                    f"{label}.fail({code.label}, {msg[0]})",
                    lambda: s.fail(code.value, msg[1]),
                    code.bad or code.value == 0 or msg[0] == "5",
                )
            else:
                self.call(f"{label}.fail()", s.fail)
        else:
            v = self.num("payload", [0, hi, hi + 1, 2**64 - 1])
            forever = not v.bad and isinstance(v.value, int) and v.value <= getattr(s, "_value", 0)
            t = self.timeout(forever_ok=forever)
            self.call(
                f"{label}.wait({v.label}, timeout={t.label})",
                lambda: s.wait(v.value, timeout=t.value),
                v.bad or t.bad,
            )

    # -- operations: buffers ------------------------------------------------------------------
    def op_buffer(self) -> None:
        rng = self.rng
        b = self.buf(slots=False)
        if not isinstance(b.value, self.hal.Buffer):
            return
        # Host access to another open device's buffer is fine; a released one or one of
        # a closed device is not.
        dead = b.value.alloc.released or b.value.device in (self.closed_dev,)
        kind = rng.choice(["subspan", "read", "read", "write", "write", "to_numpy", "len"])
        size = b.value.size
        if kind == "subspan":
            off, ln = self.offset(size), self.length(size)
            sub = self.call(
                f"{b.label}.subspan({off.label}, {ln.label})",
                lambda: b.value.subspan(off.value, ln.value),
                off.bad or ln.bad,
            )
            if sub is not None and rng.random() < 0.3:
                self._adopt(sub, "subspan")
        elif kind == "read":
            off, ln = self.offset(size), self.length(size)
            kw = self.host_wait()
            self.call(
                f"{b.label}.read({off.label}, {ln.label}{_kw(kw)})",
                lambda: b.value.read(off.value, ln.value, **_kv(kw)),
                dead or off.bad or ln.bad or any(a.bad for _, a in kw),
            )
        elif kind == "write":
            data, off = self.data(), self.offset(size)
            kw = self.host_wait()
            self.call(
                f"{b.label}.write({data.label}, {off.label}{_kw(kw)})",
                lambda: b.value.write(data.value, off.value, **_kv(kw)),
                dead or off.bad or data.bad or any(a.bad for _, a in kw),
            )
        elif kind == "to_numpy":
            dt, dtype, dbad = rng.choice(
                [
                    ("'uint8'", "uint8", False),
                    ("'float32'", "float32", False),
                    ("'garbage'", "garbage", True),
                    ("None", None, False),
                    ("'O'", "O", True),
                    ("'V0'", "V0", True),
                    ("5", 5, True),
                    ("'U2'", "U2", False),
                    ("'S0'", "S0", True),
                ]
            )
            sh, shape, sbad = rng.choice(
                [
                    ("None", None, False),
                    ("(-1,)", (-1,), False),
                    ("(3, 5)", (3, 5), False),
                    ("'x'", "x", True),
                    ("2**64", 2**64, True),
                    ("(2, -1)", (2, -1), False),
                ]
            )
            self.call(
                f"{b.label}.to_numpy({dt}, {sh})",
                lambda: b.value.to_numpy(dtype, shape),
                dead or dbad or sbad,
            )
        else:
            self.call(f"len({b.label}), repr", lambda: (len(b.value), repr(b.value)))

    def host_wait(self) -> list[tuple[str, Arg]]:
        """Host access options: ``wait`` (bounded: never True, which may wait for parked
        work forever) and ``unsynchronized``."""
        kw: list[tuple[str, Arg]] = []
        if self.rng.random() < 0.3:
            label, v, bad = self.rng.choice(
                [
                    ("False", False, False),
                    ("0.01", 0.01, False),
                    ("0", 0, False),
                    ("nan", math.nan, True),
                    ("-1", -1, True),
                    ("'x'", "x", True),
                    ("1j", 1j, True),
                ]
            )
            kw.append(("wait", Arg(label, v, bad)))
        if self.rng.random() < 0.1:
            kw.append(("unsynchronized", Arg("True", True)))
        return kw

    def op_build_environment(self) -> None:
        """Local drivers: a C kernel built under a hostile environment: ``CC`` naming no
        program must raise (never fall back to another compiler); a cache folder that
        cannot be written must fall back to a private one."""
        if not self.local:
            return
        import warnings

        hal = self.hal
        kind = self.rng.choice(["cc", "cache"])
        var, value = (
            ("CC", "/nonexistent/cc")
            if kind == "cc"
            else ("POLYHAL_CACHE_DIR", "/proc/polyhal-cache")
        )
        abs_source = self.kernels["abs"]
        # A fresh comment makes a new cache key, so the kernel is really built.
        source = hal.ExecutableSource(
            abs_source.entry_points,
            {"c": f"/* fuzz {self.n} {self.rng.random()} */\n" + abs_source.formats["c"]},
        )
        old = os.environ.get(var)
        os.environ[var] = value
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                self.call(
                    f"{var}={value}: dev.create_executable(new C source)",
                    lambda: self.dev.create_executable(source),
                    kind == "cc",
                )
        finally:
            if old is None:
                del os.environ[var]
            else:
                os.environ[var] = old

    def op_trace(self) -> None:
        import tempfile as _tempfile

        rng = self.rng
        with _tempfile.TemporaryDirectory(prefix="polyhal-fuzz-trace-") as tmp:
            label, path, bad = rng.choice(
                [
                    ("tmp/trace.json", os.path.join(tmp, "trace.json"), False),
                    ("None", None, True),
                    ("5", 5, True),
                    ("'/nonexistent/dir/t.json'", "/nonexistent/dir/t.json", False),
                    ("tmp (a directory)", tmp, False),
                    ("b'\xff'", b"\xff", False),
                ]
            )
            _, s = self.sem()

            def run() -> None:
                with self.dev.trace(path):
                    self.dev.queue_barrier(signal=[])
                    self.dev.queue_host_call(lambda: None)
                    try:
                        s.wait(0, timeout=0)
                    except self.hal.HalError:
                        pass

            self.call(f"with dev.trace({label}): queue work", run, bad)

    def _add_view(self, label: str, view: Any) -> None:
        if len(self.views) >= 10:
            self.views.pop(self.rng.randrange(len(self.views)))
        self.views.append((label, view))

    def op_views(self) -> None:
        """Arrays onto buffers' memory without a copy (as_array, __array_interface__,
        DLPack), used after the buffer was deallocated or its device closed: the views
        keep the storage alive, so this must never fault."""
        hal, np, rng = self.hal, self.np, self.rng
        kind = rng.choice(["make", "make", "use", "use", "dealloca"])
        if kind == "make":
            b = self.buf(slots=False)
            if not isinstance(b.value, hal.Buffer):
                return  # numpy's own errors for non-buffers are not polyhal's to type
            dead = b.bad and b.value.device is not self.other
            how = rng.choice(["as_array", "as_array", "asarray", "from_dlpack"])
            if how == "as_array":
                dt, dtype, dbad = rng.choice(
                    [
                        ("'uint8'", "uint8", False),
                        ("'float32'", "float32", False),
                        ("'O'", "O", True),
                        ("None", None, False),
                        ("'garbage'", "garbage", True),
                    ]
                )
                sh, shape, sbad = rng.choice(
                    [
                        ("None", None, False),
                        ("(-1,)", (-1,), False),
                        ("'x'", "x", True),
                        ("(7, 3)", (7, 3), False),
                    ]
                )
                kw = self.host_wait()
                view = self.call(
                    f"{b.label}.as_array({dt}, {sh}{_kw(kw)})",
                    lambda: b.value.as_array(dtype, shape, **_kv(kw)),
                    dead or dbad or sbad or any(a.bad for _, a in kw),
                )
            elif how == "asarray":
                view = self.call(f"np.asarray({b.label})", lambda: np.asarray(b.value), False)
            else:
                buffer = b.value

                def from_dlpack() -> Any:
                    try:
                        return np.from_dlpack(buffer)
                    except BufferError as e:
                        # numpy, the consumer, refusing a GPU capsule (older numpy asks for
                        # no device) is the DLPack protocol's own typed answer, not polyhal's.
                        if isinstance(e, hal.HalError) or buffer.__dlpack_device__()[0] == 1:
                            raise
                        return None

                view = self.call(f"np.from_dlpack({b.label})", from_dlpack, dead)
            if isinstance(view, np.ndarray) and view.dtype != object:
                self._add_view(f"view#{self.n}({b.label})", view)
        elif kind == "use" and self.views:
            label, view = rng.choice(self.views)

            def use() -> None:
                flat = view.reshape(-1).view(np.uint8) if view.size else view
                int(flat.sum())
                if view.flags.writeable and flat.size:
                    flat[rng.randrange(flat.size)] = 0x42

            self.call(f"read and write through {label}", use)
        elif kind == "dealloca":
            buf = self.dev.allocate_buffer(rng.choice([16, 4096]))

            def run() -> None:
                view = buf.as_array()
                done = self.dev.create_semaphore(0)
                self.dev.queue_dealloca(buf, signal=[(done, 1)])
                done.wait(1, timeout=10)
                self._add_view(f"view#{self.n}(deallocated)", view)
                view[:] = 7
                int(view.sum())

            self.call("as_array view, queue_dealloca, then write through the view", run)

    def op_unsignaled_event(self) -> None:
        """A command buffer waiting on an event that nothing signals: it must complete or
        fail, never stall the queue (vulkan's vkCmdWaitEvents would wait forever)."""
        hal, rng = self.hal, self.rng
        nested = rng.random() < 0.5

        def run() -> None:
            event = self.dev.create_event()
            cb = self.dev.create_command_buffer(hal.CommandBufferMode.DEFAULT)
            with cb:
                cb.wait_events([event])
            if nested:
                outer = self.dev.create_command_buffer()
                with outer:
                    outer.execute_commands(cb)
                cb = outer
            done = self.dev.create_semaphore(0)
            self.dev.queue_execute(cb, signal=[(done, 1)])
            try:
                done.wait(1, timeout=5)
            except hal.DeadlineExceededError:
                self.record(
                    "hang",
                    f"wait_events on an event nothing signals (nested={nested}) never completed",
                )
                raise

        self.call(f"wait_events on an unsignaled event, nested={nested}", run)

    def op_numpy_offsets(self) -> None:
        """An oracle for numpy integer offsets (issue 11, item 4): bytes written at
        ``T(v)`` into a subspan land at ``v``, through every path that takes an offset."""
        hal, np, rng = self.hal, self.np, self.rng
        root = self.dev.allocate_buffer(4096)
        start = rng.choice([1, 56, 200, 255, 1000])
        sub = root.subspan(start, 4096 - start)
        v = rng.randrange(0, min(sub.size - 8, 3000)) & ~3
        kind = np.dtype(
            rng.choice(["uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64"])
        ).type
        try:
            offset = kind(v)
        except OverflowError:
            return
        if int(offset) != v:
            return  # the value does not fit the type
        data = bytes(rng.randrange(1, 256) for _ in range(4))
        path = rng.choice(
            ["write", "queue_update", "queue_fill", "cb_fill", "cb_copy", "binding_table"]
        )

        def run() -> None:
            root.write(bytes(4096))
            done = self.dev.create_semaphore(0)
            if path == "write":
                sub.write(data, offset)
            elif path == "queue_update":
                self.dev.queue_update(data, 0, sub, offset, 4, signal=[(done, 1)])
            elif path == "queue_fill":
                self.dev.queue_fill(sub, offset, 4, data, signal=[(done, 1)])
            elif path == "cb_fill":
                cb = self.dev.create_command_buffer()
                with cb:
                    cb.fill_buffer(sub, offset, kind(4), data)
                self.dev.queue_execute(cb, signal=[(done, 1)])
            elif path == "cb_copy":
                src = self.dev.buffer_from(data)
                cb = self.dev.create_command_buffer()
                with cb:
                    cb.copy_buffer(src, kind(0), sub, offset, kind(4))
                self.dev.queue_execute(cb, signal=[(done, 1)])
            else:
                cb = self.dev.create_command_buffer(
                    hal.CommandBufferMode.DEFAULT, binding_capacity=1
                )
                with cb:
                    cb.update_buffer(data, 0, hal.Slot(kind(0)), 0, 4)
                self.dev.queue_execute(
                    cb, signal=[(done, 1)], binding_table=[(sub, offset, kind(4))]
                )
            if path != "write":
                done.wait(1, timeout=10)
            got = root.read()
            want = bytearray(4096)
            want[start + v : start + v + 4] = data
            if got != bytes(want):
                wrong = got.find(data)
                self.record(
                    "corruption",
                    f"{path} at {kind.__name__}({v}) into a subspan at "
                    f"{start}: the bytes landed at {wrong - start} of the subspan",
                )

        self.call(f"numpy offset oracle: {path} at {kind.__name__}({v}), subspan at {start}", run)

    def op_threads(self) -> None:
        """Two threads submit chained transfers on one device at once while this one
        records; exceptions in them surface through threading.excepthook."""
        import threading

        hal = self.hal
        seed = self.rng.random()

        def work(index: int) -> None:
            rng = random.Random(f"{seed}:{index}")
            sem = self.dev.create_semaphore(0)
            a = self.dev.allocate_buffer(256)
            b = self.dev.allocate_buffer(256)
            for v in range(30):
                try:
                    kind = rng.choice(["fill", "copy", "host", "fail"])
                    wait, signal = [(sem, v)], [(sem, v + 1)]
                    if kind == "fill":
                        self.dev.queue_fill(a, 0, 256, v & 0xFF, wait=wait, signal=signal)
                    elif kind == "copy":
                        self.dev.queue_copy(a, 0, b, 0, 256, wait=wait, signal=signal)
                    elif kind == "host":
                        self.dev.queue_host_call(lambda: None, wait=wait, signal=signal)
                    else:
                        sem.fail(hal.StatusCode.ABORTED, "thread fuzz")
                        sem = self.dev.create_semaphore(v + 1)
                except hal.HalError:
                    pass
            try:
                sem.wait(30, timeout=10)
            except hal.HalError:
                pass

        def run() -> None:
            threads = [
                threading.Thread(target=work, args=(i,), name=f"fuzz-thread-{i}") for i in range(2)
            ]
            for t in threads:
                t.start()
            for _ in range(20):
                self.op_valid_transfer()
            for t in threads:
                t.join(30)
                if t.is_alive():
                    self.record("hang", "a fuzz thread submitting chained work never finished")

        self.call("two threads submit while this one records", run)

    def op_host_rw_valid(self) -> None:
        label, b = self.rng.choice(self.bufs[:12])
        if b.size:
            off = self.rng.randrange(b.size)
            self.call(f"{label}.write(valid, {off})", lambda: b.write(bytes(b.size - off), off))
            self.call(f"{label}.read()", b.read)

    # -- operations: command buffers --------------------------------------------------------
    def _cb(self) -> tuple[str, Any, bool]:
        """A command buffer to record into; the third item is whether it is invalid for
        recording whatever the arguments are (closed device)."""
        if self.rng.random() < 0.05:
            label, cb = self.rng.choice([o for o in self.closed_objs if ".cb" in o[0]])
            return label, cb, True
        # Mostly one that records (the internal state, read for depth only), so that the
        # arguments are what gets checked.
        recording = [c for c in self.cbs if c[1]._state == 1]
        if recording and self.rng.random() < 0.8:
            label, cb = self.rng.choice(recording)
        else:
            label, cb = self.rng.choice(self.cbs)
        return label, cb, False

    def _strict(self, cb: Any) -> bool:
        """Whether the command buffer validates (UNVALIDATED skips some checks, so bad
        arguments need not raise there)."""
        return not cb.mode & self.hal.CommandBufferMode.UNVALIDATED

    def op_cb_lifecycle(self) -> None:
        label, cb, closed = self._cb()
        kind = self.rng.choice(
            ["begin", "end", "end", "begin_debug_group", "end_debug_group", "repr"]
        )
        if kind == "begin":
            self.call(f"{label}.begin()", cb.begin, closed)
        elif kind == "end":
            self.call(f"{label}.end()", cb.end, closed)
        elif kind == "begin_debug_group":
            lab, color, loc = self.rng.choice(
                [
                    ("'group'", None, None),
                    ("None", None, None),
                    ("'g'", (1.0, 0.0, 0.0, 1.0), None),
                    ("'g'", "red", None),
                    ("'g'", (1, 2), "file.py:3"),
                    ("b'\\xff'", 5, 7),
                    ("'g'", (math.nan, 2**64, -1, "x"), None),
                ]
            )
            self.call(
                f"{label}.begin_debug_group({lab}, {color!r}, {loc!r})",
                lambda: cb.begin_debug_group(lab, color, loc),
                closed,
            )
        elif kind == "end_debug_group":
            self.call(f"{label}.end_debug_group()", cb.end_debug_group, closed)
        else:
            self.call(f"repr({label})", lambda: repr(cb))

    def op_cb_barrier(self) -> None:
        hal, rng = self.hal, self.rng
        label, cb, closed = self._cb()
        strict = self._strict(cb)
        args = []
        if rng.random() < 0.7:
            args.append(("source_stage", self.enum(hal.ExecutionStage)))
            args.append(("target_stage", self.enum(hal.ExecutionStage)))
        if rng.random() < 0.3:
            args.append(("flags", self.num("count", [0, 0, 1])))
        if rng.random() < 0.4:
            s1, s2 = self.enum(hal.AccessScope), self.enum(hal.AccessScope)
            mb = rng.choice(
                [
                    Arg(
                        f"[MemoryBarrier({s1.label}, {s2.label})]",
                        [hal.MemoryBarrier(s1.value, s2.value)],
                        s1.bad or s2.bad,
                    ),
                    Arg("[1]", [1], True),
                    Arg("'x'", "x", True),
                    Arg("None", None, False),
                ]
            )
            args.append(("memory_barriers", mb))
        if rng.random() < 0.4:
            b = self.buf()
            off, ln = self.offset(self.size_of(b)), self.length(self.size_of(b))
            bb = rng.choice(
                [
                    Arg(
                        f"[BufferBarrier(READ, WRITE, {b.label}, {off.label}, {ln.label})]",
                        [
                            hal.BufferBarrier(
                                hal.AccessScope.DISPATCH_READ,
                                hal.AccessScope.DISPATCH_WRITE,
                                b.value,
                                off.value,
                                ln.value,
                            )
                        ],
                        b.bad or self.slot_range(b, off, ln),
                    ),
                    Arg("[1]", [1], True),
                    Arg("[None]", [None], True),
                ]
            )
            args.append(("buffer_barriers", bb))
        if rng.random() < 0.15:  # positional garbage as the issue found
            g = rng.choice([Arg("'x'", "x", True), Arg("None", None, True)])
            self.call(
                f"{label}.execution_barrier({g.label})",
                lambda: cb.execution_barrier(g.value),
                closed or (g.bad and strict),
            )
            return
        self.call(
            f"{label}.execution_barrier({_kw(args)[2:]})",
            lambda: cb.execution_barrier(**_kv(args)),
            closed or (strict and any(a.bad for _, a in args)),
        )

    def event(self) -> Arg:
        r = self.rng.random()
        if r < 0.8:
            return Arg(*self.rng.choice(self.events))
        if r < 0.9:
            return Arg(*self.rng.choice([self.foreign[2], self.closed_objs[4]]), True)
        return Arg(
            *self.rng.choice([("'ev'", "ev"), ("None", None), ("sem0", self.sems[0][1])]), True
        )

    def op_cb_events(self) -> None:
        hal, rng = self.hal, self.rng
        label, cb, closed = self._cb()
        ev = self.event()
        stage = self.enum(hal.ExecutionStage)
        kind = rng.choice(["signal", "reset", "wait"])
        strict = self._strict(cb)
        if kind == "signal":
            self.call(
                f"{label}.signal_event({ev.label}, {stage.label})",
                lambda: cb.signal_event(ev.value, stage.value),
                closed or ev.bad or (strict and stage.bad),
            )
        elif kind == "reset":
            self.call(
                f"{label}.reset_event({ev.label}, {stage.label})",
                lambda: cb.reset_event(ev.value, stage.value),
                closed or ev.bad or (strict and stage.bad),
            )
        else:
            evs = rng.choice(
                [
                    Arg(f"[{ev.label}]", [ev.value], ev.bad),
                    Arg(f"[{ev.label}, 'x']", [ev.value, "x"], True),
                    Arg("None", None, True),
                    Arg("[]", [], False),
                    Arg(ev.label, ev.value, True),
                ]
            )
            tstage = self.enum(hal.ExecutionStage)
            self.call(
                f"{label}.wait_events({evs.label}, {stage.label}, {tstage.label})",
                lambda: cb.wait_events(evs.value, stage.value, tstage.value),
                closed or evs.bad or (strict and (stage.bad or tstage.bad)),
            )

    def pattern(self) -> Arg:
        label, v, bad = self.rng.choice(
            [
                ("0", 0, False),
                ("0xAB", 0xAB, False),
                ("0x1234", 0x1234, False),
                ("0xDEADBEEF", 0xDEADBEEF, False),
                ("-1", -1, False),
                ("2**32", 2**32, True),
                ("b'\\x01'", b"\x01", False),
                ("b'\\x01\\x02\\x03'", b"\x01\x02\x03", True),
                ("bytearray(b'ab')", bytearray(b"ab"), False),
                ("'x'", "x", True),
                ("None", None, True),
                ("1.5", 1.5, True),
                ("np.uint8(200)", self.np.uint8(200), False),
                ("2**64", 2**64, True),
                ("-2**40", -(2**40), True),
            ]
        )
        return Arg(label, v, bad)

    def op_cb_transfer(self) -> None:
        rng = self.rng
        label, cb, closed = self._cb()
        kind = rng.choice(["fill", "fill", "update", "copy", "copy", "discard"])
        tgt = self.buf()
        size = self.size_of(tgt)
        off, ln = self.offset(size), self.length(size)
        base = closed or tgt.bad or self.slot_range(tgt, off, ln)
        if kind == "fill":
            pat = self.pattern()
            plen = self.rng.choice(
                [
                    ("", None, False),
                    (", 1", 1, False),
                    (", 4", 4, False),
                    (", 3", 3, True),
                    (", 0", 0, True),
                    (", 'x'", "x", True),
                    (", -1", -1, True),
                ]
            )
            self.call(
                f"{label}.fill_buffer({tgt.label}, {off.label}, {ln.label}, {pat.label}{plen[0]})",
                lambda: cb.fill_buffer(tgt.value, off.value, ln.value, pat.value, plen[1]),
                base or pat.bad or plen[2],
            )
        elif kind == "update":
            data, soff = self.data(), self.offset(16)
            self.call(
                f"{label}.update_buffer({data.label}, {soff.label}, {tgt.label}, "
                f"{off.label}, {ln.label})",
                lambda: cb.update_buffer(data.value, soff.value, tgt.value, off.value, ln.value),
                base or data.bad or soff.bad,
            )
        elif kind == "copy":
            src = self.buf()
            soff = self.offset(self.size_of(src))
            self.call(
                f"{label}.copy_buffer({src.label}, {soff.label}, {tgt.label}, "
                f"{off.label}, {ln.label})",
                lambda: cb.copy_buffer(src.value, soff.value, tgt.value, off.value, ln.value),
                base or src.bad or self.slot_range(src, soff, ln),
            )
        else:
            self.call(
                f"{label}.discard_buffer({tgt.label})",
                lambda: cb.discard_buffer(tgt.value),
                closed or tgt.bad,
            )

    def op_cb_collective(self) -> None:
        label, cb, closed = self._cb()
        b = self.buf()
        self.call(
            f"{label}.collective(None, None, 0, {b.label}, {b.label}, 4)",
            lambda: cb.collective(None, None, 0, b.value, b.value, 4),
            True,
        )

    def exe(self) -> Arg:
        r = self.rng.random()
        if r < 0.85:
            return Arg(*self.rng.choice(self.exes))
        if r < 0.93:
            return Arg(*self.rng.choice([self.foreign[3], self.closed_objs[5]]), True)
        return Arg(
            *self.rng.choice([("'exe'", "exe"), ("None", None), ("layout", self.layouts[0][1])]),
            True,
        )

    def constants(self) -> Arg:
        np = self.np
        label, v, bad = self.rng.choice(
            [
                ("None", None, False),
                ("[1, 2]", [1, 2], False),
                ("[1, 2, 3, 4]", [1, 2, 3, 4], False),
                ("b'\\x00'*8", bytes(8), False),
                ("np.ones(2, u32)", np.ones(2, np.uint32), False),
                ("[np.float32(1.5), 2]", [np.float32(1.5), 2], False),
                ("['x']", ["x"], True),
                ("[2**32]", [2**32], True),
                ("[-1]", [-1], False),
                ("b'abc'", b"abc", True),
                ("5", 5, True),
                ("[None]", [None], True),
                ("[2**64]", [2**64], True),
                ("[1]*1000", [1] * 1000, True),
            ]
        )
        return Arg(label, v, bad)

    def bindings(self) -> Arg:
        hal, rng = self.hal, self.rng
        r = rng.random()
        if r < 0.2:
            return Arg("None", None)
        if r < 0.85:
            items, labels, bad = [], [], False
            for i in range(rng.choice([1, 2, 2, 2, 3])):
                b = self.buf()
                form = rng.random()
                index = i if rng.random() < 0.9 else rng.choice([-1, 5, 2**64, "x"])
                ibad = index in (-1, 2**64, "x")
                if form < 0.4:
                    items.append((index, b.value))
                    labels.append(f"({index!r}, {b.label})")
                    bad |= b.bad or ibad
                elif form < 0.75:
                    off, ln = self.offset(self.size_of(b)), self.length(self.size_of(b))
                    items.append(hal.Binding(index, b.value, off.value, ln.value))
                    labels.append(f"Binding({index!r}, {b.label}, {off.label}, {ln.label})")
                    bad |= b.bad or self.slot_range(b, off, ln) or ibad
                elif form < 0.85:
                    items.append((index, b.value, 0, 4, 99))
                    labels.append(f"({index!r}, {b.label}, 0, 4, 99)")
                    bad = True
                else:
                    g = rng.choice([("42", 42), ("None", None), ("(0,)", (0,)), ("'x'", "x")])
                    items.append(g[1])
                    labels.append(g[0])
                    bad = True
            return Arg("[" + ", ".join(labels) + "]", items, bad)
        label, v = rng.choice([("5", 5), ("'ab'", "ab"), ("[[]]", [[]])])
        return Arg(label, v, True)

    def op_cb_push(self) -> None:
        rng = self.rng
        label, cb, closed = self._cb()
        strict = self._strict(cb)
        if rng.random() < 0.85:
            layout = Arg(*rng.choice(self.layouts))
        else:
            layout = Arg(
                *rng.choice([("'layout'", "layout"), ("None", None), ("exe.abs", self.exes[0][1])]),
                True,
            )
        if rng.random() < 0.5:
            off, vals = self.num("offset", [0, 0, 4, 8, 2]), self.constants()
            self.call(
                f"{label}.push_constants({layout.label}, {off.label}, {vals.label})",
                lambda: cb.push_constants(layout.value, off.value, vals.value),
                closed or layout.bad or off.bad or (vals.bad and strict),
            )
        else:
            s, binds = self.num("index", [0, 0, 0, 1, 3]), self.bindings()
            self.call(
                f"{label}.push_descriptor_set({layout.label}, {s.label}, {binds.label})",
                lambda: cb.push_descriptor_set(layout.value, s.value, binds.value),
                closed or layout.bad or s.bad or (binds.bad and strict),
            )

    def workgroup_count(self) -> Arg:
        np = self.np
        label, v, bad = self.rng.choice(
            [
                ("1", 1, False),
                ("4", 4, False),
                ("16", 16, False),
                ("0", 0, False),
                ("(2, 2, 1)", (2, 2, 1), False),
                ("(3,)", (3,), False),
                ("(np.uint8(2), 1, 1)", (np.uint8(2), 1, 1), False),
                ("np.uint8(200)", np.uint8(200), False),
                ("(1, 1, 70000)", (1, 1, 70000), True),
                ("2**32", 2**32, True),
                ("-1", -1, True),
                ("'abc'", "abc", True),
                ("(1, 1, 1, 1)", (1, 1, 1, 1), True),
                ("()", (), True),
                ("1.5", 1.5, True),
                ("None", None, True),
                ("(2**64, 1, 1)", (2**64, 1, 1), True),
                ("(1, -1, 1)", (1, -1, 1), True),
                ("np.int64(-3)", np.int64(-3), True),
                ("(1024,)", (1024,), False),
            ]
        )
        return Arg(label, v, bad)

    def entry(self, exe: Any) -> Arg:
        label, v, bad = self.rng.choice(
            [
                ("0", 0, False),
                ("0", 0, False),
                ("1", 1, False),
                ("np.uint8(0)", self.np.uint8(0), False),
                ("'nope'", "nope", True),
                ("-1", -1, True),
                ("2**64", 2**64, True),
                ("1.5", 1.5, True),
                ("None", None, True),
                ("b'abs_f32'", b"abs_f32", True),
            ]
        )
        eps = getattr(exe, "entry_points", ())
        if label == "1":
            bad = len(eps) < 2
        if self.rng.random() < 0.2 and eps:
            return Arg(repr(eps[0].name), eps[0].name)
        return Arg(label, v, bad)

    def op_cb_dispatch(self) -> None:
        rng = self.rng
        label, cb, closed = self._cb()
        exe = self.exe()
        ep = self.entry(exe.value)
        kw = []
        if rng.random() < 0.6:
            kw.append(("bindings", self.bindings()))
        if rng.random() < 0.4:
            kw.append(("constants", self.constants()))
        strict = self._strict(cb)
        kw_bad = any(a.bad for _, a in kw) and strict
        if rng.random() < 0.75:
            count = self.workgroup_count()
            self.call(
                f"{label}.dispatch({exe.label}, {ep.label}, {count.label}{_kw(kw)})",
                lambda: cb.dispatch(exe.value, ep.value, count.value, **_kv(kw)),
                closed or exe.bad or ep.bad or count.bad or kw_bad,
            )
        else:
            b = self.buf()
            off = self.num("offset", [0, 0, 4, 2, 12, max(0, self.size_of(b) - 12)])
            self.call(
                f"{label}.dispatch_indirect({exe.label}, {ep.label}, {b.label}, "
                f"{off.label}{_kw(kw)})",
                lambda: cb.dispatch_indirect(exe.value, ep.value, b.value, off.value, **_kv(kw)),
                closed or exe.bad or ep.bad or b.bad or self.slot_range(b, off) or kw_bad,
            )

    def op_cb_execute_commands(self) -> None:
        label, cb, closed = self._cb()
        r = self.rng.random()
        if r < 0.8:
            inner = Arg(*self.rng.choice(self.cbs))
        else:
            inner = Arg(*self.rng.choice([("'cb'", "cb"), ("None", None), self.foreign[1]]), True)
        table = self.binding_table()
        self.call(
            f"{label}.execute_commands({inner.label}, {table.label})",
            lambda: cb.execute_commands(inner.value, table.value),
            closed or inner.bad or table.bad or inner.value is cb,
        )

    def op_executable(self) -> None:
        label, exe = self.rng.choice(self.exes + [self.closed_objs[5]])
        name, value, bad = self.rng.choice(
            [
                ("'abs_f32'", "abs_f32", False),
                ("'nope'", "nope", True),
                ("None", None, True),
                ("5", 5, True),
                ("b'abs_f32'", b"abs_f32", True),
            ]
        )
        self.call(f"{label}.lookup({name})", lambda: exe.lookup(value), bad)

    # -- valid work, so that deeper states are reached ------------------------------------------
    def _victims(self, n: int, min_size: int) -> list[tuple[str, Any]]:
        live = [
            (lab, b)
            for lab, b in self.bufs
            if b.size >= min_size
            and not b.alloc.released
            and b.usage == self.hal.BufferUsage.DEFAULT
            and b.memory_type & self.hal.MemoryType.HOST_VISIBLE
        ]
        self.rng.shuffle(live)
        out, allocs = [], []
        for lab, b in live:
            if b.alloc not in allocs:
                out.append((lab, b))
                allocs.append(b.alloc)
            if len(out) == n:
                break
        return out

    def op_valid_transfer(self) -> None:
        hal, rng = self.hal, self.rng
        picked = self._victims(2, 16)
        if len(picked) < 2:
            return
        (la, a), (lb, b) = picked
        wait, sig = self.pairs("wait"), self.pairs("signal")
        if wait.bad or sig.bad:
            wait, sig = Arg("()", ()), Arg("()", ())
        mode = (
            hal.CommandBufferMode.ONE_SHOT if rng.random() < 0.7 else hal.CommandBufferMode.DEFAULT
        )
        n = min(a.size, b.size) // 4 * 4

        def record() -> Any:
            cb = self.dev.create_command_buffer(mode)
            cb.begin()
            cb.fill_buffer(a, 0, n, 0x3F800000, 4)
            cb.execution_barrier()
            cb.copy_buffer(a, 0, b, 0, n)
            cb.execution_barrier()
            cb.update_buffer(bytes(range(8)), 0, a, 0, 8)
            cb.end()
            self.dev.queue_execute(cb, wait=wait.value, signal=sig.value)
            return cb

        cb = self.call(f"valid transfer {la}->{lb} wait={wait.label} signal={sig.label}", record)
        if cb is not None and mode == hal.CommandBufferMode.DEFAULT:
            if len(self.cbs) >= 12:
                self.cbs.pop(rng.randrange(len(self.cbs)))
            self.cbs.append((f"valid_cb#{self.n}", cb))

    def op_valid_dispatch(self) -> None:
        hal, rng = self.hal, self.rng
        picked = self._victims(2, 16)
        if len(picked) < 2:
            return
        (la, a), (lb, b) = picked
        name = rng.choice(["abs", "negate_double", "scale_and_offset"])
        exe = dict(self.exes)[f"exe.{name}"]
        count = min(a.size, b.size) // 4
        constants = [0x3F800000, 0] if name == "scale_and_offset" else None
        use_slots = rng.random() < 0.4
        wait, sig = self.pairs("wait"), self.pairs("signal")
        if wait.bad or sig.bad:
            wait, sig = Arg("()", ()), Arg("()", ())

        def run() -> None:
            mode = hal.CommandBufferMode.DEFAULT if use_slots else hal.CommandBufferMode.ONE_SHOT
            cb = self.dev.create_command_buffer(mode, binding_capacity=2 if use_slots else 0)
            cb.begin()
            binds = [(0, hal.Slot(0)), (1, hal.Slot(1))] if use_slots else [(0, a), (1, b)]
            cb.dispatch(exe, 0, count, bindings=binds, constants=constants)
            cb.end()
            table = [a, b] if use_slots else None
            self.dev.queue_execute(cb, wait=wait.value, signal=sig.value, binding_table=table)
            if use_slots and rng.random() < 0.5:
                self.dev.queue_execute(cb, binding_table=[(a, 0, count * 4), (b, 0, count * 4)])

        self.call(
            f"valid dispatch {name}({la}, {lb}) x{count} slots={use_slots} "
            f"wait={wait.label} signal={sig.label}",
            run,
        )

    def op_kernel_overrun(self) -> None:
        """Dispatches that run past a binding: checked mode must fail the submission (or
        keep the writes in bounds), never corrupt a guard."""
        hal, rng = self.hal, self.rng
        if self.driver.startswith("cuda"):
            self._kernel_overrun_fresh()
            return
        picked = self._victims(2, 4)
        if len(picked) < 2:
            return
        (la, a), (lb, b) = picked
        if self.local and rng.random() < 0.5:
            exe = dict(self.exes)["exe.oob"]
            count = a.size // 4 + rng.choice([1, 2, 16, 1024])
            binds = [(0, a)]
            name = "oob_write"
        else:
            exe = dict(self.exes)["exe.abs"]
            count = min(a.size, b.size) // 4 + rng.choice([1, 4, 1024])
            binds = [(0, a), (1, b)]
            name = "abs"
        sem = self.dev.create_semaphore(0)

        def run() -> None:
            cb = self.dev.create_command_buffer()
            cb.begin()
            cb.dispatch(exe, 0, count, bindings=binds)
            cb.end()
            self.dev.queue_execute(cb, signal=[(sem, 1)])
            try:
                sem.wait(1, timeout=10)
            except hal.DeadlineExceededError:
                raise  # a typed error, but the pool is checked at the batch end anyway
            except hal.HalError:
                pass

        self.call(f"kernel overrun {name}({la}) x{count}", run)

    def _kernel_overrun_fresh(self) -> None:
        """cuda: a faulting kernel loses its device for good, so it runs on a fresh one;
        then a new device must work."""
        if self.fresh_devices >= 3:
            return
        hal = self.hal
        self.fresh_devices += 1

        def run() -> None:
            dev = hal.create_device(self.driver)
            try:
                a = dev.allocate_buffer(16)
                b = dev.allocate_buffer(16)
                exe = dev.create_executable(self.kernels["abs"])
                sem = dev.create_semaphore(0)
                cb = dev.create_command_buffer()
                with cb:
                    cb.dispatch(exe, 0, 1 << 20, bindings=[(0, a), (1, b)])
                dev.queue_execute(cb, signal=[(sem, 1)])
                try:
                    sem.wait(1, timeout=30)
                except hal.DeadlineExceededError:
                    raise
                except hal.HalError:
                    pass
            finally:
                dev.close()
            hal.create_device(self.driver).close()

        self.call("kernel overrun abs x2**20 on a fresh device, then a new device", run)

    def op_indirect_counts(self) -> None:
        """An indirect dispatch whose counts in the buffer are out of range."""
        hal, rng = self.hal, self.rng
        picked = self._victims(2, 16)
        if len(picked) < 2:
            return
        (la, a), (lb, b) = picked
        counts = rng.choice(
            [
                (2**32 - 1, 1, 1),
                (1, 1, 70000),
                (65536, 65537, 1),
                (0xABABABAB, 0xABABABAB, 0xABAB),
                (1, 1, 1),
                (0, 0, 0),
            ]
        )
        wg = self.dev.buffer_from(self.np.array(counts, dtype=self.np.uint32))
        exe = dict(self.exes)["exe.abs"]
        sem = self.dev.create_semaphore(0)

        def run() -> None:
            cb = self.dev.create_command_buffer()
            cb.begin()
            cb.dispatch_indirect(exe, 0, wg, 0, bindings=[(0, a), (1, b)])
            cb.end()
            self.dev.queue_execute(cb, signal=[(sem, 1)])
            try:
                sem.wait(1, timeout=10)
            except hal.DeadlineExceededError:
                raise
            except hal.HalError:
                pass

        self.call(f"dispatch_indirect abs counts={counts} ({la}, {lb})", run)

    def op_dealloca_race(self) -> None:
        """A dealloca with no wait list while a parked submission still uses the buffer:
        the memory must outlive the submission (issue 11, item 2)."""
        rng = self.rng
        size = rng.choice([64, 4096, 65536])
        sem = self.dev.create_semaphore(0)

        def run() -> None:
            buf = self.dev.allocate_buffer(size)
            other = self.dev.allocate_buffer(size)
            kind = rng.choice(["fill", "copy", "dispatch"])
            if kind == "fill":
                self.dev.queue_fill(buf, 0, size, 0xAB, wait=[(sem, 1)])
            elif kind == "copy":
                self.dev.queue_copy(other, 0, buf, 0, size, wait=[(sem, 1)])
            else:
                cb = self.dev.create_command_buffer()
                with cb:
                    cb.dispatch(
                        dict(self.exes)["exe.abs"], 0, size // 4, bindings=[(0, other), (1, buf)]
                    )
                self.dev.queue_execute(cb, wait=[(sem, 1)])
            self.dev.queue_dealloca(buf)
            done = self.dev.create_semaphore(0)
            self.dev.queue_dealloca(other, signal=[(done, 1)])
            sem.signal(1)
            done.wait(1, timeout=10)

        self.call(f"dealloca race ({size} bytes)", run)

    def op_slot_whole_copy(self) -> None:
        """Copies and fills through slots with WHOLE_BUFFER, submitted with entries of
        different sizes (issue 11, item 1)."""
        hal, rng = self.hal, self.rng
        src_size, dst_size = rng.choice([(4096, 3), (3, 4096), (64, 60), (100, 100), (0, 16)])
        src = self.dev.allocate_buffer(src_size)
        dst = self.dev.allocate_buffer(dst_size)
        kind = rng.choice(["copy", "copy_direct_src", "fill", "update"])

        def run() -> None:
            cb = self.dev.create_command_buffer(hal.CommandBufferMode.DEFAULT, binding_capacity=2)
            with cb:
                if kind == "copy":
                    cb.copy_buffer(hal.Slot(0), 0, hal.Slot(1), 0, WHOLE_BUFFER)
                elif kind == "copy_direct_src":
                    cb.copy_buffer(src, 0, hal.Slot(1), 0, WHOLE_BUFFER)
                elif kind == "fill":
                    cb.fill_buffer(hal.Slot(1), 0, WHOLE_BUFFER, 0x5A)
                else:
                    cb.update_buffer(bytes(64), 0, hal.Slot(1), 0, 16)
            s = self.dev.create_semaphore(0)
            self.dev.queue_execute(cb, binding_table=[src, dst], signal=[(s, 1)])
            s.wait(1, timeout=10)

        self.call(f"slot {kind} WHOLE_BUFFER {src_size} -> {dst_size}", run)

    def op_deep_nesting(self) -> None:
        """A chain of command buffers each executing the previous one."""
        hal, rng = self.hal, self.rng
        depth = rng.choice([8, 200, 3000])
        label, buf = rng.choice(self.bufs[:12])

        def run() -> None:
            inner = self.dev.create_command_buffer(hal.CommandBufferMode.DEFAULT)
            with inner:
                inner.fill_buffer(buf, 0, buf.size, 0x11)
            for _ in range(depth):
                outer = self.dev.create_command_buffer(hal.CommandBufferMode.DEFAULT)
                with outer:
                    outer.execute_commands(inner)
                inner = outer
            s = self.dev.create_semaphore(0)
            self.dev.queue_execute(inner, signal=[(s, 1)])
            s.wait(1, timeout=10)

        self.call(f"nested x{depth} fill of {label}", run)

    def op_signal_forward(self) -> None:
        label, s = self.sem()
        if s.failed:
            return
        v = s.query() + self.rng.choice([1, 1, 2])
        self.sem_hi[id(s)] = max(self.sem_hi[id(s)], v)
        self.call(f"{label}.signal({v}) (forward)", lambda: s.signal(v))

    def op_replace_sem(self) -> None:
        if len(self.sems) > 8:
            self.sems.pop(self.rng.randrange(len(self.sems)))
        self._add_sem(f"sem#{self.n}", self.dev.create_semaphore(0))

    # -- the recorder's C entry points (issue 10) ---------------------------------------------
    def r_int(self, kind: str, cb: Any, effects: bool) -> Arg:
        """An integer argument (offset, length, set, entry, flags): valid values, the same
        as other types, values at the edges, or (``effects``) an ``__index__`` that ends
        ``cb`` (must raise) or records into it (valid)."""
        rng, np = self.rng, self.np
        valid = {
            "offset": [0, 0, 4, 8, 16],
            "length": [4, 8, 16, WHOLE_BUFFER],
            "set": [0],
            "entry": [0, 0, "scale_and_offset"],
            "flags": [0],
        }[kind]
        r = rng.random()
        if r < 0.55:
            v = rng.choice(valid)
            return Arg(repr(v), v)
        if r < 0.72:
            v = rng.choice([v for v in valid if isinstance(v, int)])
            label, value = rng.choice(
                [
                    (f"MyInt({v})", MyInt(v)),
                    (f"Index({v})", Index(v)),
                    (f"np.uint64({v})", np.uint64(v)),
                    (f"np.int32({v})", np.int32(v) if v < 2**31 else v),
                ]
            )
            return Arg(label, value)
        if r < 0.92 or not effects:
            label, value = rng.choice(REC_EDGES + [("IndexTypeError()", IndexTypeError())])
            if type(value) is not int:
                return Arg(label, value, True)
            if kind == "flags":  # a 32-bit mask
                return Arg(label, value, not 0 <= value < 2**32)
            return Arg(label, value, not (kind == "length" and value == WHOLE_BUFFER))
        if rng.random() < 0.5:
            return Arg(
                "Index(0, ends the command buffer)", Index(0, cb.end, "Index(0, ends cb)"), True
            )
        return Arg(
            "Index(0, records a barrier into it)",
            Index(0, _quietly(cb.execution_barrier), "Index(0, re-enters cb)"),
        )

    def r_count(self, cb: Any, effects: bool) -> Arg:
        np = self.np
        label, v, bad = self.rng.choice(
            [
                ("1", 1, False),
                ("4", 4, False),
                ("0", 0, False),
                ("(2,)", (2,), False),
                ("(1, 1, 1)", (1, 1, 1), False),
                ("[2, 1]", [2, 1], False),
                ("MyTuple((1, 1))", MyTuple((1, 1)), False),
                ("MyInt(2)", MyInt(2), False),
                ("np.uint32(3)", np.uint32(3), False),
                ("(Index(1),)", (Index(1),), False),
                ("-1", -1, True),
                ("2**32", 2**32, True),
                ("2**64", 2**64, True),
                ("(1, 1, 2**16)", (1, 1, 2**16), True),
                ("(1, 1, 2**64)", (1, 1, 2**64), True),
                ("()", (), True),
                ("(1, 1, 1, 1)", (1, 1, 1, 1), True),
                ("1.0", 1.0, True),
                ("True", True, True),
                ("'1'", "1", True),
                ("None", None, True),
                ("[None]", [None], True),
                ("(-1,)", (-1,), True),
                ("(nan,)", (math.nan,), True),
            ]
        )
        if effects and self.rng.random() < 0.1:
            return Arg("(Index(1, ends cb), 1)", (Index(1, cb.end), 1), True)
        return Arg(label, v, bad)

    def r_constants(self, strict: bool) -> Arg:
        """Push-constant values for a layout of two words."""
        np = self.np
        label, v, bad = self.rng.choice(
            [
                ("[1, 2]", [1, 2], False),
                ("(1, 2)", (1, 2), False),
                ("[]", [], False),
                ("[1]", [1], False),
                ("[1.5, nan]", [1.5, math.nan], False),
                ("[inf, -inf]", [math.inf, -math.inf], False),
                ("[3.4028235e38, -0.0]", [3.4028235e38, -0.0], False),
                ("[5e-324, -5e-324]", [5e-324, -5e-324], False),
                ("[2**32-1, -2**31]", [2**32 - 1, -(2**31)], False),
                ("b'\\0'*8", bytes(8), False),
                ("bytearray(8)", bytearray(8), False),
                ("MyList([1, 2])", MyList([1, 2]), False),
                ("[True, False]", [True, False], False),
                ("[np.int32(-1), 2]", [np.int32(-1), 2], False),
                ("[MyInt(3)]", [MyInt(3)], False),
                ("[2**32]", [2**32], True),
                ("[-2**31-1]", [-(2**31) - 1], True),
                ("[1e39]", [1e39], True),
                ("[3.4028236e38]", [3.4028236e38], True),
                ("[-1e39]", [-1e39], True),
                ("[2**64]", [2**64], True),
                ("b'abc'", b"abc", True),
                ("'ab'", "ab", True),
                ("5", 5, True),
                ("[None]", [None], True),
                ("['1']", ["1"], True),
                ("[1j]", [1j], True),
                ("[1]*65", [1] * 65, True),
                ("MyList([2**64])", MyList([2**64]), True),
                ("[Index(1)]", [Index(1)], True),
                ("[1, 2, 3]", [1, 2, 3], strict),
                ("b'\\0'*12", bytes(12), strict),
            ]
        )
        return Arg(label, v, bad)

    def r_buffer(self) -> Arg:
        r = self.rng.random()
        if r < 0.85:
            return Arg(*self.rng.choice(self.rec_bufs))
        return Arg(
            *self.rng.choice(
                [
                    (self.foreign[0][0], self.foreign[0][1]),
                    (self.closed_objs[0][0], self.closed_objs[0][1]),
                    ("released[64]", self.rec_dead),
                    ("None", None),
                    ("5", 5),
                    ("b'abc'", b"abc"),
                    ("rexe", self.rec_exe),
                ]
            ),
            True,
        )

    def r_bindings(self, cb: Any, strict: bool, effects: bool) -> Arg:
        """The bindings of set 0 (bindings 0 and 1) of the recorder ops' layout."""
        hal, rng = self.hal, self.rng
        (la, a), (lb, b) = rng.sample(self.rec_bufs, 2)
        r = rng.random()
        if r < 0.45:
            label, v = rng.choice(
                [
                    (f"[(0, {la}), (1, {lb})]", [(0, a), (1, b)]),
                    (f"((0, {la}), (1, {lb}))", ((0, a), (1, b))),
                    (f"[(0, {la}, 0), (1, {lb}, 0, 16)]", [(0, a, 0), (1, b, 0, 16)]),
                    (f"[(0, {la}, 0, WHOLE), (1, {lb})]", [(0, a, 0, WHOLE_BUFFER), (1, b)]),
                    (
                        f"[Binding(0, {la}), Binding(1, {lb}, 4)]",
                        [hal.Binding(0, a), hal.Binding(1, b, 4)],
                    ),
                    (f"MyList([(0, {la}), (1, {lb})])", MyList([(0, a), (1, b)])),
                    (f"[MyTuple((0, {la})), [1, {lb}]]", [MyTuple((0, a)), [1, b]]),
                    (f"[(0, {lb}), (1, {lb}), (0, {la})]", [(0, b), (1, b), (0, a)]),
                    (
                        f"[(MyInt(0), {la}), (np.uint8(1), {lb})]",
                        [(MyInt(0), a), (self.np.uint8(1), b)],
                    ),
                    (f"[(0, {la})]", [(0, a)]),
                    ("[]", []),
                ]
            )
            return Arg(label, v)
        if r < 0.9 or not effects:
            bad_buf = self.r_buffer() if rng.random() < 0.3 else Arg(la, a)
            label, v, bad = rng.choice(
                [
                    (f"[(0, {la}, 0, 4, 9), (1, {lb})]", [(0, a, 0, 4, 9), (1, b)], True),
                    ("[(0,)]", [(0,)], True),
                    ("[42]", [42], True),
                    ("'ab'", "ab", True),
                    ("5", 5, True),
                    (f"[(2**64, {la})]", [(2**64, a)], True),
                    (f"[(-1, {la})]", [(-1, a)], True),
                    (f"[(2**32, {la})]", [(2**32, a)], True),
                    (f"[(True, {la}), (1, {lb})]", [(True, a), (1, b)], True),
                    (f"[(0.0, {la})]", [(0.0, a)], True),
                    (f"[(0, {bad_buf.label})]", [(0, bad_buf.value)], bad_buf.bad),
                    (f"[(0, {la}, -1)]", [(0, a, -1)], True),
                    (f"[(0, {la}, 2**63)]", [(0, a, 2**63)], True),
                    (f"[(0, {la}, 2**64)]", [(0, a, 2**64)], True),
                    (f"[(0, {la}, 0, 2**64)]", [(0, a, 0, 2**64)], True),
                    (f"[(0, {la}, 0, -1)]", [(0, a, 0, -1)], True),
                    (f"[(0, {la}, 4.0)]", [(0, a, 4.0)], True),
                    (f"[(0, {la}, True)]", [(0, a, True)], True),
                    (f"[(0, {la}, IndexTypeError())]", [(0, a, IndexTypeError())], True),
                    (f"[(0, {la})]*100", [(0, a)] * 100, True),
                    (f"[(5, {la}), (1, {lb})]", [(5, a), (1, b)], strict),
                    (f"(0, {la}, 0, 4, 5)", (0, a, 0, 4, 5), True),
                ]
            )
            return Arg(label, v, bad)
        items: list = []
        if rng.random() < 0.5:
            items[:] = [(0, a), (Index(1, lambda: items.extend([(1, b)] * 100)), b)]
            return Arg(f"[(0, {la}), (Index(1, grows this list by 100), {lb})]", items, True)
        items[:] = [(Index(0, items.clear), a), (1, b), (1, b)]
        return Arg(f"[(Index(0, clears this list), {la}), (1, {lb}), (1, {lb})]", items)

    def r_layout(self, for_constants: bool) -> Arg:
        r = self.rng.random()
        if r < 0.85:
            return Arg("rlayout", self.rec_layout)
        if r < 0.9:
            return Arg("SubLayout()", self.rec_sublayout, for_constants)
        return Arg(
            *self.rng.choice(
                self.rec_looks + [("None", None), ("rexe", self.rec_exe), ("'layout'", "layout")]
            ),
            True,
        )

    def r_pattern(self) -> tuple[Arg, list[Arg]]:
        """A fill pattern and the optional pattern_length after it."""
        np, rng = self.np, self.rng
        label, v, bad = rng.choice(
            [
                ("0", 0, False),
                ("0xAB", 0xAB, False),
                ("0x1234", 0x1234, False),
                ("0xDEADBEEF", 0xDEADBEEF, False),
                ("-1", -1, False),
                ("b'\\x01'", b"\x01", False),
                ("MyInt(7)", MyInt(7), False),
                ("np.uint8(3)", np.uint8(3), False),
                ("2**32", 2**32, True),
                ("2**64", 2**64, True),
                ("1.0", 1.0, True),
                ("None", None, True),
                ("'x'", "x", True),
                ("-2**40", -(2**40), True),
                ("b'\\x01\\x02\\x03'", b"\x01\x02\x03", True),
            ]
        )
        pattern = Arg(label, v, bad)
        r = rng.random()
        if r < 0.5:
            return pattern, []
        if r < 0.7:
            return pattern, [Arg("None", None)]
        if r < 0.85 and isinstance(v, int) and not bad:
            return pattern, [Arg("4", 4)]
        return pattern, [
            Arg(
                *rng.choice(
                    [("3", 3), ("0", 0), ("True", True), ("2**64", 2**64), ("1.0", 1.0), ("-1", -1)]
                ),
                True,
            )
        ]

    def r_barrier(self, cb: Any, effects: bool) -> tuple[str, list, list]:
        """An execution_barrier call: stages, flags and memory barriers in every form the
        fast path may take, and their hostile variants (buffer barriers go slow)."""
        hal, rng = self.hal, self.rng
        S, A = hal.ExecutionStage, hal.AccessScope
        r = rng.random()
        if r < 0.35:
            return "execution_barrier", [], []
        if r < 0.5:
            stages = [
                Arg(
                    *rng.choice(
                        [
                            ("0x1F", 0x1F),
                            ("DISPATCH", S.DISPATCH),
                            ("HOST", S.HOST),
                            ("NONE", S.NONE),
                            ("MyInt(4)", MyInt(4)),
                            ("np.uint8(4)", self.np.uint8(4)),
                        ]
                    )
                )
                for _ in range(2)
            ]
            if rng.random() < 0.3:
                label, v = rng.choice(REC_EDGES)
                stages[rng.randrange(2)] = Arg(label, v, True)  # bools are no masks either
            return "execution_barrier", stages + [self.r_int("flags", cb, effects)], []
        kw = []
        if rng.random() < 0.5:
            kw.append(("source_stage", Arg("TRANSFER", S.TRANSFER)))
        mb = self.rec_mb
        label, v, bad = rng.choice(
            [
                ("[mb]", [mb], False),
                ("(mb, mb)", (mb, mb), False),
                ("rec_mbs", self.rec_mbs, False),
                (
                    "[MemoryBarrier(WRITE, READ)]",
                    [hal.MemoryBarrier(A.DISPATCH_WRITE, A.DISPATCH_READ)],
                    False,
                ),
                ("MyList([mb])", MyList([mb]), False),
                ("[]", [], False),
                ("[MemoryBarrier(0x3FF, 0)]", [hal.MemoryBarrier(0x3FF, 0)], False),
                ("[1]", [1], True),
                ("'x'", "x", True),
                ("None", None, True),
                ("[MemoryBarrier(True, 1)]", [hal.MemoryBarrier(True, 1)], True),
                ("[MemoryBarrier(2**64, 1)]", [hal.MemoryBarrier(2**64, 1)], True),
                ("[MemoryBarrier(0x400, 1)]", [hal.MemoryBarrier(0x400, 1)], True),
                ("[MemoryBarrier(-1, 1)]", [hal.MemoryBarrier(-1, 1)], True),
                ("[MemoryBarrier(1.0, 1)]", [hal.MemoryBarrier(1.0, 1)], True),
                ("[mb, None]", [mb, None], True),
            ]
        )
        kw.append(("memory_barriers", Arg(label, v, bad)))
        if rng.random() < 0.15:
            (la, a) = rng.choice(self.rec_bufs)
            kw.append(
                (
                    "buffer_barriers",
                    Arg(
                        f"[BufferBarrier(WRITE, READ, {la})]",
                        [hal.BufferBarrier(A.DISPATCH_WRITE, A.DISPATCH_READ, a)],
                    ),
                )
            )
        return "execution_barrier", [], kw

    def _rec_call(self, cb: Any, strict: bool, effects: bool) -> tuple[str, list, list]:
        """A random call of a recorder C method: (name, positional Args, keyword Args)."""
        rng = self.rng
        name = rng.choice(REC_METHODS)
        if name == "dispatch":
            exe = (
                Arg("rexe", self.rec_exe)
                if rng.random() < 0.9
                else Arg(
                    *rng.choice(
                        [
                            self.foreign[3],
                            self.closed_objs[5],
                            ("rlayout", self.rec_layout),
                            ("None", None),
                            ("'exe'", "exe"),
                        ]
                    ),
                    True,
                )
            )
            args = [exe, self.r_int("entry", cb, effects), self.r_count(cb, effects)]
            kw = []
            if rng.random() < 0.7:
                kw.append(("bindings", self.r_bindings(cb, strict, effects)))
            if rng.random() < 0.6:
                kw.append(("constants", self.r_constants(strict)))
            return name, args, kw
        if name == "push_constants":
            offset = (
                self.r_int("offset", cb, effects)
                if rng.random() < 0.3
                else Arg(*rng.choice([("0", 0), ("4", 4), ("8", 8)]))
            )
            return name, [self.r_layout(True), offset, self.r_constants(strict)], []
        if name == "push_descriptor_set":
            return (
                name,
                [
                    self.r_layout(False),
                    self.r_int("set", cb, effects),
                    self.r_bindings(cb, strict, effects),
                ],
                [],
            )
        if name == "execution_barrier":
            return self.r_barrier(cb, effects)
        if name == "fill_buffer":
            pattern, plen = self.r_pattern()
            return (
                name,
                [
                    self.r_buffer(),
                    self.r_int("offset", cb, effects),
                    self.r_int("length", cb, effects),
                    pattern,
                    *plen,
                ],
                [],
            )
        if name == "copy_buffer":
            return (
                name,
                [
                    self.r_buffer(),
                    self.r_int("offset", cb, effects),
                    self.r_buffer(),
                    self.r_int("offset", cb, effects),
                    self.r_int("length", cb, effects),
                ],
                [],
            )
        source = Arg(
            *rng.choice(
                [
                    ("bytes(64)", bytes(64)),
                    ("bytearray(64)", bytearray(64)),
                    ("memoryview(bytes(64))", memoryview(bytes(64))),
                    ("np.zeros(16, u32)", self.np.zeros(16, self.np.uint32)),
                ]
            )
        )
        if rng.random() < 0.1:
            source = Arg(*rng.choice([("'ab'", "ab"), ("5", 5), ("None", None)]), True)
        return (
            name,
            [
                source,
                self.r_int("offset", cb, effects),
                self.r_buffer(),
                self.r_int("offset", cb, effects),
                self.r_int("length", cb, effects),
            ],
            [],
        )

    def op_rec_hostile(self) -> None:
        """A recorder C method with hostile arguments, on a command buffer of the pool."""
        label, cb, closed = self._cb()
        name, args, kw = self._rec_call(cb, self._strict(cb), effects=True)
        bad = closed or any(a.bad for a in args) or any(a.bad for _, a in kw)
        self.call(
            f"{label}.{name}({_arglist(args, kw)})",
            lambda: getattr(cb, name)(*[a.value for a in args], **_kv(kw)),
            bad,
        )

    def op_rec_twins(self) -> None:
        """The same random call through a recorder C method and through ``_slow_<name>``
        (the Python path it must match) on twin command buffers: a different outcome, or
        different recorded commands, is a mismatch."""
        hal, rng = self.hal, self.rng
        if self.twins is None or self.twin_calls >= 40:
            self._twins_compare()
            mode = rng.choice(
                [
                    hal.CommandBufferMode.ONE_SHOT,
                    hal.CommandBufferMode.DEFAULT,
                    hal.CommandBufferMode.UNVALIDATED,
                ]
            )
            self.twins = (
                self.dev.create_command_buffer(mode, binding_capacity=2),
                self.dev.create_command_buffer(mode, binding_capacity=2),
            )
            for cb in self.twins:
                cb.begin()
            self.twin_calls = 0
        fast, slow = self.twins
        name, args, kw = self._rec_call(fast, self._strict(fast), effects=False)
        values, kwargs = [a.value for a in args], _kv(kw)
        label = f"twins.{name}({_arglist(args, kw)})"
        self.twin_calls += 1

        def run() -> None:
            outcomes, errors = [], []
            for fn in (getattr(fast, name), getattr(slow, "_slow_" + name)):
                try:
                    fn(*values, **kwargs)
                    outcomes.append("ok")
                except hal.HalError as e:
                    outcomes.append(type(e).__name__)
                except Exception as e:  # noqa: BLE001 - reported below
                    outcomes.append(f"untyped {type(e).__name__}")
                    errors.append(e)
            if outcomes[0] != outcomes[1] or fast.record_count != slow.record_count:
                self._mismatch(
                    label,
                    f"C: {outcomes[0]}, {fast.record_count} records / "
                    f"Python: {outcomes[1]}, {slow.record_count} records",
                )
                self.twins = None  # the streams differ from here on
            if errors:
                raise errors[0]

        self.call(label, run)

    def _twins_compare(self) -> None:
        """Compares what the twins recorded, command by command."""
        if self.twins is None:
            return
        fast, slow = self.twins
        a, b = [_norm(c) for c in fast.commands], [_norm(c) for c in slow.commands]
        if a != b:
            i = next(
                (i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y),
                min(len(a), len(b)),
            )
            self._mismatch(
                f"twins: {self.twin_calls} calls",
                f"command {i} differs: "
                f"C {a[i] if i < len(a) else None} / Python "
                f"{b[i] if i < len(b) else None}",
            )

    def _mismatch(self, call: str, text: str) -> None:
        self.write({"t": "f", "kind": "mismatch", "call": call, "exc": text, "site": ""})

    def op_rec_impostor(self) -> None:
        """Unrelated classes allocated where a Buffer subclass was just freed, in fills (an
        UNVALIDATED command buffer, so no usage bit stands in the way): the fast path once
        cached the last Buffer class seen by address (issue 10).  Each fill must raise."""
        import gc

        hal = self.hal
        names = ("a_dev", "b_alloc", "c_off", "d_size", "e_usage")  # BufferBase's fields
        a = self.rec_bufs[0][1]
        cb = self.dev.create_command_buffer(hal.CommandBufferMode.UNVALIDATED)
        cb.begin()

        def run() -> None:
            refused: Exception | None = None
            for _ in range(5):
                sub = type("Sub", (hal.Buffer,), {"__slots__": names})
                cb.fill_buffer(
                    sub(self.dev, a.alloc, 0, 64, a.memory_type, a.usage, a.access), 0, 4, 1
                )
                del sub
                gc.collect()
                impostor = type("Sub", (), {"__slots__": names})()
                impostor.a_dev, impostor.b_alloc, impostor.c_off = self.dev, 256, 0
                impostor.d_size, impostor.e_usage = 1 << 40, 0xFFFF
                try:
                    cb.fill_buffer(impostor, 0, 4096, 0xAB)
                except hal.HalError as e:
                    refused = e
                    continue
                return  # taken for a Buffer: accepted garbage
            raise refused  # type: ignore[misc]

        self.call(
            "fill_buffer(<a class where a Buffer subclass was freed>, 0, 4096, 0xAB) x5", run, True
        )

    OPS: list[tuple[Callable[[Any], None], float]] = []


def _elf_head(n: int) -> bytes:
    """The first ``n`` bytes of this interpreter's own executable: a truncated ELF file."""
    with open(sys.executable, "rb") as f:
        return f.read(n)


def _names(commands: list) -> list:
    """Command type names, nested command buffers' lists inside."""
    return [
        _names(c.commands) if type(c).__name__ == "Execute" else type(c).__name__ for c in commands
    ]


def _kw(kw: list[tuple[str, Arg]]) -> str:
    return "".join(f", {k}={a.label}" for k, a in kw)


def _arglist(args: list[Arg], kw: list[tuple[str, Arg]]) -> str:
    return ", ".join([a.label for a in args] + [f"{k}={a.label}" for k, a in kw])


def _kv(kw: list[tuple[str, Arg]]) -> dict[str, Any]:
    return {k: a.value for k, a in kw}


_Child.OPS = [
    (_Child.op_allocate, 4),
    (_Child.op_buffer_from, 2),
    (_Child.op_create_executable, 1.5),
    (_Child.op_constructors, 2),
    (_Child.op_create_cb, 3),
    (_Child.op_new_valid_cb, 3),
    (_Child.op_create_semaphore, 2),
    (_Child.op_create_event, 0.5),
    (_Child.op_attrs, 0.5),
    (_Child.op_create_device, 0.3),
    (_Child.op_fresh_close, 0.4),
    (_Child.op_queue_execute, 7),
    (_Child.op_queue_barrier, 2),
    (_Child.op_queue_transfer, 6),
    (_Child.op_queue_alloca, 1.5),
    (_Child.op_queue_dealloca, 1.5),
    (_Child.op_queue_host_call, 2.5),
    (_Child.op_wait_semaphores, 3),
    (_Child.op_wait_idle, 1),
    (_Child.op_semaphore, 6),
    (_Child.op_buffer, 6),
    (_Child.op_host_rw_valid, 1.5),
    (_Child.op_cb_lifecycle, 5),
    (_Child.op_cb_barrier, 3),
    (_Child.op_cb_events, 2.5),
    (_Child.op_cb_transfer, 9),
    (_Child.op_cb_collective, 0.3),
    (_Child.op_cb_push, 5),
    (_Child.op_cb_dispatch, 7),
    (_Child.op_cb_execute_commands, 2.5),
    (_Child.op_executable, 0.7),
    (_Child.op_valid_transfer, 3),
    (_Child.op_valid_dispatch, 3),
    (_Child.op_kernel_overrun, 0.8),
    (_Child.op_indirect_counts, 0.6),
    (_Child.op_signal_forward, 3),
    (_Child.op_replace_sem, 0.5),
    (_Child.op_dealloca_race, 0.6),
    (_Child.op_slot_whole_copy, 0.6),
    (_Child.op_deep_nesting, 0.2),
    (_Child.op_trace, 0.3),
    (_Child.op_build_environment, 0.2),
    (_Child.op_views, 2),
    (_Child.op_threads, 0.3),
    (_Child.op_numpy_offsets, 1),
    (_Child.op_unsignaled_event, 0.3),
    (_Child.op_rec_hostile, 6),
    (_Child.op_rec_twins, 6),
    (_Child.op_rec_impostor, 0.2),
]


if __name__ == "__main__":
    sys.exit(main())
