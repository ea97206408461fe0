"""Per-call time of whole IREE-compiled programs: polyhal (``local``) beside IREE's own
runtime (``local-task``), same process, same program and compiler flags.

    python benchmarks/bench_iree.py [--repeat 200] [--runs 5] [--only add_1k,mnist]

Each program is compiled once with ``polyhal.iree.compile_flags("local")`` (IREE's runtime
loads the ``.vmfb``; polyhal loads the VM assembly of the same compilation flags, and, in
the last two columns, the ``.vmfb`` itself; all cached). The
inputs are uploaded once (polyhal Buffers; IREE buffer views in device memory), so a call
measures the host program: argument checks, result allocation, the dispatches, the wait.
Results stay on the device.  polyhal's device is unchecked (``checked=False``, whatever
``POLYHAL_CHECKED`` says): checked mode trades speed for its checks.

A run times ``--repeat`` calls of each runtime (a tenth for the large programs), the
runtimes alternating in blocks of a tenth of them, in an order that rotates from block to
block, so that machine noise hits all alike; it takes each one's median, and the table
shows the median over ``--runs`` runs of each runtime's median.  Ratio = polyhal local /
IREE local-task (the issue's reference), with its range over the runs, and the ratio of
the runs' smallest medians ("best": the quietest run of each, for a noisy machine).
IREE's local-sync column (no worker threads) is IREE's own floor, for context.
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

import polyhal as hal
from polyhal import iree

ROOT = Path(__file__).resolve().parent.parent

SMALL = {
    "add_1k": """
func.func @main(%a: tensor<1024xf32>, %b: tensor<1024xf32>) -> tensor<1024xf32> {
  %r = arith.addf %a, %b : tensor<1024xf32>
  return %r : tensor<1024xf32>
}""",
    "matmul_64": """
func.func @main(%a: tensor<64x32xf32>, %b: tensor<32x48xf32>) -> tensor<64x48xf32> {
  %init = tensor.empty() : tensor<64x48xf32>
  %zero = arith.constant 0.0 : f32
  %fill = linalg.fill ins(%zero : f32) outs(%init : tensor<64x48xf32>) -> tensor<64x48xf32>
  %mm = linalg.matmul ins(%a, %b : tensor<64x32xf32>, tensor<32x48xf32>)
                      outs(%fill : tensor<64x48xf32>) -> tensor<64x48xf32>
  return %mm : tensor<64x48xf32>
}""",
}
LARGE = {
    "matmul_1024": """
func.func @main(%a: tensor<1024x1024xf32>, %b: tensor<1024x1024xf32>) -> tensor<1024x1024xf32> {
  %init = tensor.empty() : tensor<1024x1024xf32>
  %zero = arith.constant 0.0 : f32
  %fill = linalg.fill ins(%zero : f32) outs(%init : tensor<1024x1024xf32>)
      -> tensor<1024x1024xf32>
  %mm = linalg.matmul ins(%a, %b : tensor<1024x1024xf32>, tensor<1024x1024xf32>)
                      outs(%fill : tensor<1024x1024xf32>) -> tensor<1024x1024xf32>
  return %mm : tensor<1024x1024xf32>
}""",
    "add_4m": """
func.func @main(%a: tensor<4194304xf32>, %b: tensor<4194304xf32>) -> tensor<4194304xf32> {
  %r = arith.addf %a, %b : tensor<4194304xf32>
  return %r : tensor<4194304xf32>
}""",
}
#: Programs from the e2e corpus: (file, function, size class).  Both are small: IREE's
#: runtime calls them in tens of microseconds.
CORPUS = {
    "mnist": ("stablehlo_models/mnist_fake_weights.mlir", "predict", "small"),
    "lstm": ("stablehlo_models/unidirectional_lstm.mlir", "main", "small"),
}


def _corpus_module() -> Any:
    path = ROOT / "scripts" / "iree_corpus.py"
    spec = importlib.util.spec_from_file_location("iree_corpus", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("iree_corpus", module)
    spec.loader.exec_module(module)
    return module


def _program(name: str, ic: Any, tmp: Path) -> tuple[Path, str, list[np.ndarray[Any, Any]], str]:
    """(MLIR file, function, inputs, size class) of a benchmark program."""
    rng = np.random.default_rng(0)
    if name in CORPUS:
        corpus = ic.Corpus()
        file, fname, size = CORPUS[name]
        f = next(x for x in corpus.files() if x["file"] == file)
        fn = next(x for x in corpus.functions(f) if x.name == fname)
        return corpus.path(f), fname, fn.inputs(), size
    text = SMALL.get(name) or LARGE[name]
    path = tmp / f"{name}.mlir"
    path.write_text(text)
    shapes = {
        "add_1k": [(1024,), (1024,)],
        "matmul_64": [(64, 32), (32, 48)],
        "matmul_1024": [(1024, 1024), (1024, 1024)],
        "add_4m": [(4194304,), (4194304,)],
    }[name]
    inputs = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    return path, "main", inputs, "small" if name in SMALL else "large"


def _times_us(call: Callable[[], Any], repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter_ns()
        call()
        times.append((time.perf_counter_ns() - t0) / 1000)
    return times


#: The runtimes timed, in table order: IREE's local-task (the reference the ratio is taken
#: against), IREE's local-sync (no worker threads: IREE's floor), polyhal's local loading
#: the VM assembly, and loading the .vmfb of the same compilation.
RUNTIMES = ("iree local-task", "iree local-sync", "polyhal local", "polyhal local, .vmfb")


def bench(name: str, ic: Any, repeat: int, runs: int, tmp: Path) -> tuple[str, list[list[float]]]:
    """(size class, per run: the median µs of each of RUNTIMES) of one program."""
    path, fname, inputs, size = _program(name, ic, tmp)
    extra = ["--iree-input-demote-f64-to-f32"] if name in CORPUS else []
    vmfb = ic.compile_vmfb(path, [*iree.compile_flags("local"), *extra])
    calls: list[Callable[[], Any]] = []
    want = None
    for driver in ("local-task", "local-sync"):
        runner = ic.IreeRunner(vmfb, driver)
        fn = runner.module[fname]
        args = [runner.upload(a, a.dtype.name) for a in inputs]
        if want is None:
            want = np.asarray(runner.download(fn(*args), "float32"))
        calls.append(lambda fn=fn, args=args: fn(*args))
    device = hal.create_device("local", checked=False)
    ph_args = [device.buffer_from(np.ascontiguousarray(a)) for a in inputs]
    modules = []
    for fmt in ("vm-asm", "vmfb"):
        source = iree.compile_module(path, "local", flags=extra, output_format=fmt)
        modules.append(iree.load_module(source, device))
        ph_fn = modules[-1][fname]
        got = ph_fn(*ph_args, numpy=True)
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)  # same program and answer
        calls.append(lambda ph_fn=ph_fn: ph_fn(*ph_args))
    blocks = 10
    per_block = max(repeat // blocks, 1)
    out = []
    for call in calls:
        _times_us(call, max(per_block // 2, 3))  # warm-up
    for _ in range(runs):
        times: list[list[float]] = [[] for _ in calls]
        for block in range(blocks):
            # The order rotates from block to block: no runtime always follows another
            # (IREE's local-task workers stay awake a while after its calls).
            for i in range(len(calls)):
                k = (i + block) % len(calls)
                times[k] += _times_us(calls[k], per_block)
        out.append([statistics.median(t) for t in times])
    for module in modules:
        module.close()
    device.close()
    return size, out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=200, help="timed calls per runtime")
    parser.add_argument("--runs", type=int, default=5, help="measurements per program")
    parser.add_argument("--only", default="", help="comma list of programs")
    args = parser.parse_args(argv)
    import tempfile

    ic = _corpus_module()
    names = [*SMALL, *LARGE, *CORPUS]
    if args.only:
        names = [n for n in names if n in args.only.split(",")]
    print(
        f"{'program':<12} {'size':<6} {'IREE local-task µs':>18} {'IREE local-sync µs':>18} "
        f"{'polyhal local µs':>16} {'ratio':>6} {'ratio range':>12} {'best':>5} "
        f"{'.vmfb µs':>9} {'ratio':>6}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            repeat = args.repeat if name not in LARGE else max(args.repeat // 10, 20)
            size, runs = bench(name, ic, repeat, args.runs, Path(tmp))
            med = [statistics.median(r[i] for r in runs) for i in range(len(RUNTIMES))]
            ratios = [r[2] / r[0] for r in runs]
            best = min(r[2] for r in runs) / min(r[0] for r in runs)
            print(
                f"{name:<12} {size:<6} {med[0]:>18.1f} {med[1]:>18.1f} {med[2]:>16.1f} "
                f"{med[2] / med[0]:>6.2f} {min(ratios):>5.2f}–{max(ratios):<5.2f} {best:>5.2f} "
                f"{med[3]:>9.1f} {med[3] / med[0]:>6.2f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
