#!/usr/bin/env python3
"""A soak of the queue (issue 11): threads × chained submissions with failures mixed in,
reporting RSS, open file descriptors and threads every 1,000 submissions.

Usage::

    python scripts/soak.py --driver local --threads 8 --submissions 20000
    python scripts/soak.py --driver vulkan --threads 4 --submissions 20000

(``--submissions`` per thread.)

Each thread keeps its own timeline semaphore and chains every submission on it (wait for
``v``, signal ``v + 1``): reusable command buffers through a binding table, one-shot
command buffers recorded each time, queue fills and copies, ``queue_alloca`` /
``queue_dealloca`` pairs, host calls, and on purpose failing work (a host call that raises,
a wait on a semaphore that was failed).  A failure propagates down the chain; the thread
sees it on its next wait (a typed HalError), and starts a new semaphore.

Every 1,000 submissions the process's RSS is measured, ``malloc_trim(0)`` is called (glibc:
return freed heap to the system) and RSS is measured again; both are reported, with the
open file descriptors and the threads (``/proc/self/status``, native ones included).

Pass criterion (exit status 0), over the second half of the run (the first half warms up
caches and pools):

- RSS after ``malloc_trim`` grows by at most ``--max-growth-mb`` (default 8 MiB): the
  growth that trimming cannot give back is what a leak looks like, on every driver.  On
  vulkan, whose driver (Mesa) keeps heap caches, the growth before trimming is reported
  beside the amount trimming returned, so the run shows that growth stays under it;
- on ``local`` and ``local-sync`` the RSS before trimming obeys the same bound too;
- open file descriptors and threads do not grow;
- every submission completed or failed with a typed error, and no wait stalled for
  ``--stall`` seconds.
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import os
import random
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

MiB = 1 << 20


@dataclass
class Sample:
    submissions: int
    rss: int  # bytes, before malloc_trim
    rss_trimmed: int  # bytes, after malloc_trim(0)
    fds: int
    threads: int

    def line(self) -> str:
        return (
            f"{self.submissions:>8} submissions  rss {self.rss / MiB:8.1f} MiB  "
            f"after malloc_trim {self.rss_trimmed / MiB:8.1f} MiB "
            f"(trimmed {(self.rss - self.rss_trimmed) / MiB:6.1f})  fds {self.fds:4}  "
            f"threads {self.threads:3}"
        )


@dataclass
class SoakResult:
    driver: str
    samples: list[Sample] = field(default_factory=list)
    submissions: int = 0
    failures_injected: int = 0
    failures_seen: int = 0
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0
    max_growth: int = 8 * MiB
    verdict: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors and not self.verdict

    def judge(self) -> None:
        """Fills ``verdict`` with every criterion the run broke (see the module doc)."""
        self.verdict = []
        if len(self.samples) < 3:
            self.verdict.append(f"only {len(self.samples)} samples; run more submissions")
            return
        half = self.samples[len(self.samples) // 2]
        last = self.samples[-1]
        trimmed_growth = last.rss_trimmed - half.rss_trimmed
        if trimmed_growth > self.max_growth:
            self.verdict.append(
                f"RSS after malloc_trim grew {trimmed_growth / MiB:.1f} MiB over "
                f"the second half (limit {self.max_growth / MiB:.0f})"
            )
        if self.driver.startswith("local") and last.rss - half.rss > self.max_growth:
            self.verdict.append(
                f"RSS grew {(last.rss - half.rss) / MiB:.1f} MiB over the second "
                f"half (limit {self.max_growth / MiB:.0f})"
            )
        second = self.samples[len(self.samples) // 2 :]
        if max(s.fds for s in second) > half.fds:
            self.verdict.append(f"open fds grew from {half.fds} to {max(s.fds for s in second)}")
        if max(s.threads for s in second) > half.threads:
            self.verdict.append(
                f"threads grew from {half.threads} to {max(s.threads for s in second)}"
            )

    def summary(self) -> str:
        s = self.samples
        parts = [
            f"{self.driver}: {self.submissions} submissions in {self.seconds:.1f} s, "
            f"{self.failures_injected} failures injected, {self.failures_seen} seen"
        ]
        if len(s) >= 2:
            half, last = s[len(s) // 2], s[-1]
            parts.append(
                f"second half: RSS {(last.rss - half.rss) / MiB:+.1f} MiB, after malloc_trim "
                f"{(last.rss_trimmed - half.rss_trimmed) / MiB:+.1f} MiB, malloc_trim returned "
                f"{(last.rss - last.rss_trimmed) / MiB:.1f} MiB at the end; fds "
                f"{half.fds}->{last.fds}, threads {half.threads}->{last.threads}"
            )
        parts.append("PASS" if self.ok else "FAIL: " + "; ".join(self.errors + self.verdict))
        return "; ".join(parts)


def _status_field(name: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(name + ":"):
                return int(line.split()[1])
    return 0


_libc: ctypes.CDLL | None = None


def malloc_trim() -> None:
    """glibc's ``malloc_trim(0)``; nothing where there is no glibc."""
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(ctypes.util.find_library("c"))
    trim = getattr(_libc, "malloc_trim", None)
    if trim is not None:
        trim(0)


def sample(submissions: int) -> Sample:
    rss = _status_field("VmRSS") * 1024
    malloc_trim()
    return Sample(
        submissions,
        rss,
        _status_field("VmRSS") * 1024,
        len(os.listdir("/proc/self/fd")),
        _status_field("Threads"),
    )


class _Worker:
    """One thread's chain of submissions."""

    def __init__(self, soak: _Soak, index: int):
        self.soak = soak
        self.hal = soak.hal
        self.dev = soak.dev
        self.rng = random.Random(f"soak:{soak.seed}:{index}")
        hal, dev = self.hal, self.dev
        self.src = dev.allocate_buffer(4096)
        self.dst = dev.allocate_buffer(4096)
        self.src.write(bytes(self.rng.randrange(256) for _ in range(4096)))
        self.reusable = dev.create_command_buffer(hal.CommandBufferMode.DEFAULT, binding_capacity=2)
        with self.reusable:
            self.reusable.copy_buffer(hal.Slot(0), 0, hal.Slot(1), 0, 2048)
            self.reusable.execution_barrier()
            self.reusable.fill_buffer(hal.Slot(1), 2048, 2048, 0xA5)
        self.new_chain()

    def new_chain(self) -> None:
        self.sem = self.dev.create_semaphore(0)
        self.value = 0

    def chain(self) -> tuple[list, list]:
        wait = [(self.sem, self.value)]
        self.value += 1
        return wait, [(self.sem, self.value)]

    def boom(self) -> None:
        raise RuntimeError("soak: a host call that fails on purpose")

    def submit_one(self) -> None:
        hal, dev, rng = self.hal, self.dev, self.rng
        kind = rng.choices(
            ["reusable", "one_shot", "fill", "copy", "alloca", "host", "fail_host", "fail_wait"],
            weights=[30, 20, 15, 10, 10, 10, 3, 2],
        )[0]
        wait, signal = self.chain()
        if kind == "reusable":
            dev.queue_execute(
                self.reusable, wait=wait, signal=signal, binding_table=[self.src, self.dst]
            )
        elif kind == "one_shot":
            cb = dev.create_command_buffer()
            with cb:
                cb.fill_buffer(self.dst, 0, 1024, rng.randrange(256))
                cb.execution_barrier()
                cb.copy_buffer(self.src, 1024, self.dst, 1024, 1024)
            dev.queue_execute(cb, wait=wait, signal=signal)
        elif kind == "fill":
            dev.queue_fill(self.dst, 0, 4096, 0x5A5A5A5A, wait=wait, signal=signal)
        elif kind == "copy":
            dev.queue_copy(self.src, 0, self.dst, 0, 4096, wait=wait, signal=signal)
        elif kind == "alloca":
            buf = dev.queue_alloca(rng.choice([256, 4096, 65536]), wait=wait, signal=signal)
            wait, signal = self.chain()
            dev.queue_dealloca(buf, wait=wait, signal=signal)
            self.soak.count(1)
        elif kind == "host":
            dev.queue_host_call(lambda: None, wait=wait, signal=signal)
        elif kind == "fail_host":
            dev.queue_host_call(self.boom, wait=wait, signal=signal)
            self.soak.injected(1)
        else:
            failed = dev.create_semaphore(0)
            failed.fail(hal.StatusCode.ABORTED, "soak: failed on purpose")
            dev.queue_barrier(wait=[(failed, 1)] + wait, signal=signal)
            self.soak.injected(1)
        self.soak.count(1)

    def settle(self) -> None:
        """Waits for the chain; a failure starts a new one."""
        hal = self.hal
        try:
            self.sem.wait(self.value, timeout=self.soak.stall)
        except hal.DeadlineExceededError:
            self.soak.error(
                f"a chain stalled for {self.soak.stall} s at value {self.value} "
                f"(semaphore {self.sem!r})"
            )
            raise
        except hal.HalError:
            self.soak.seen(1)
            self.new_chain()

    def run(self, quota: int) -> None:
        done = 0
        try:
            while done < quota and not self.soak.stop.is_set():
                self.submit_one()
                done += 1
                if done % 16 == 0 or self.sem.failed:
                    self.settle()
            self.settle()
        except self.hal.DeadlineExceededError:
            self.soak.stop.set()
        except Exception as e:  # noqa: BLE001 - reported, and fails the soak
            self.soak.error(f"{type(e).__name__}: {e}")
            self.soak.stop.set()


class _Soak:
    def __init__(self, driver: str, seed: int, stall: float):
        import polyhal as hal

        self.hal = hal
        self.driver = driver
        self.seed = seed
        self.stall = stall
        self.dev = hal.create_device(driver)
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.submissions = 0
        self.samples: list[Sample] | None = None  # set by soak(): where marks are sampled
        self.every = 1
        self.next_mark = 1
        self.report: Callable[[str], None] | None = None
        self.failures_injected = 0
        self.failures_seen = 0
        self.errors: list[str] = []

    def count(self, n: int) -> None:
        with self.lock:
            self.submissions += n
            # The worker that crosses a mark takes the sample: a sampler thread polling
            # instead would miss marks whenever the workers keep the GIL.
            if self.samples is not None and self.submissions >= self.next_mark:
                self.samples.append(sample(self.submissions))
                if self.report:
                    self.report(self.samples[-1].line())
                while self.next_mark <= self.submissions:
                    self.next_mark += self.every

    def injected(self, n: int) -> None:
        with self.lock:
            self.failures_injected += n

    def seen(self, n: int) -> None:
        with self.lock:
            self.failures_seen += n

    def error(self, text: str) -> None:
        with self.lock:
            self.errors.append(text)


def soak(
    driver: str = "local",
    threads: int = 4,
    submissions: int = 20000,
    *,
    seed: int = 1,
    every: int = 1000,
    stall: float = 60.0,
    max_growth_mb: float = 8.0,
    report: Callable[[str], None] | None = None,
) -> SoakResult:
    """Runs the soak in this process: ``threads`` threads of ``submissions`` each."""
    state = _Soak(driver, seed, stall)
    result = SoakResult(driver, max_growth=int(max_growth_mb * MiB))
    workers = [_Worker(state, i) for i in range(threads)]
    result.samples.append(sample(0))
    if report:
        report(result.samples[-1].line())
    pool = [
        threading.Thread(target=w.run, args=(submissions,), name=f"soak-{i}")
        for i, w in enumerate(workers)
    ]
    state.samples, state.every, state.next_mark, state.report = (
        result.samples,
        every,
        every,
        report,
    )
    start = time.monotonic()
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    state.samples = None
    try:
        state.dev.wait_idle(stall)
    except state.hal.HalError as e:
        state.error(f"wait_idle after the soak: {type(e).__name__}: {e}")
    result.seconds = time.monotonic() - start
    result.samples.append(sample(state.submissions))  # idle, before close: steady state
    if report:
        report(result.samples[-1].line())
    state.dev.close()
    if report:
        report(sample(state.submissions).line() + "  (after close)")
    result.submissions = state.submissions
    result.failures_injected = state.failures_injected
    result.failures_seen = state.failures_seen
    result.errors = list(state.errors)
    if state.failures_injected and not state.failures_seen:
        result.errors.append("failures were injected but no chain ever reported one")
    result.judge()
    return result


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--driver", default="local")
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--submissions", type=int, default=20000, help="per thread")
    parser.add_argument("--every", type=int, default=1000, help="submissions per sample")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--stall", type=float, default=60.0, help="seconds a chain may wait before the soak fails"
    )
    parser.add_argument("--max-growth-mb", type=float, default=8.0)
    args = parser.parse_args(argv)
    result = soak(
        args.driver,
        args.threads,
        args.submissions,
        seed=args.seed,
        every=args.every,
        stall=args.stall,
        max_growth_mb=args.max_growth_mb,
        report=lambda line: print(line, flush=True),
    )
    print(result.summary())
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
