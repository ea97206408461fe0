"""Per-call time of whole IREE-compiled programs: polyhal (``local``) beside IREE's own
runtime (``local-task``), same process, same program and compiler flags.

    python benchmarks/bench_iree.py [--repeat 200] [--only add_1k,mnist]

Each program is compiled once with ``polyhal.iree.compile_flags("local")`` (IREE's runtime
loads the ``.vmfb``, polyhal the VM assembly of the same compilation flags; both cached). The
inputs are uploaded once (polyhal Buffers; IREE buffer views in device memory), so a call
measures the host program: argument checks, result allocation, the dispatches, the wait.
Results stay on the device.  Times are medians of ``--repeat`` calls after a warm-up; the two
runtimes alternate in blocks so that machine noise hits both alike.  Ratio = polyhal / IREE.
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
from polyhal.iree.module import compile_module, load_module

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
#: Programs from the e2e corpus: (file, function).
CORPUS = {"mnist": ("stablehlo_models/mnist_fake_weights.mlir", "predict")}


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
        file, fname = CORPUS[name]
        f = next(x for x in corpus.files() if x["file"] == file)
        fn = next(x for x in corpus.functions(f) if x.name == fname)
        return corpus.path(f), fname, fn.inputs(), "large"
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


def _median_us(call: Callable[[], Any], repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter_ns()
        call()
        times.append((time.perf_counter_ns() - t0) / 1000)
    return times


def bench(name: str, ic: Any, repeat: int, tmp: Path) -> tuple[str, str, float, float]:
    """(program, size class, IREE µs, polyhal µs) of one program."""
    path, fname, inputs, size = _program(name, ic, tmp)
    flags = list(iree.compile_flags("local"))
    extra = ["--iree-input-demote-f64-to-f32"] if name in CORPUS else []
    # IREE's runtime on local-task.
    runner = ic.IreeRunner(ic.compile_vmfb(path, [*flags, *extra]), "local-task")
    iree_fn = runner.module[fname]
    iree_args = [runner.upload(a, a.dtype.name) for a in inputs]
    # polyhal on local.
    device = hal.create_device("local")
    module = load_module(compile_module(path, "local", flags=extra), device)
    ph_fn = module[fname]
    ph_args = [device.buffer_from(np.ascontiguousarray(a)) for a in inputs]
    want = np.asarray(runner.download(iree_fn(*iree_args), "float32"))
    got = ph_fn(*ph_args, numpy=True)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)  # same program, same answer
    blocks = 10
    per_block = max(repeat // blocks, 1)
    warm = max(per_block // 2, 3)
    _median_us(lambda: iree_fn(*iree_args), warm)
    _median_us(lambda: ph_fn(*ph_args), warm)
    t_iree: list[float] = []
    t_ph: list[float] = []
    for _ in range(blocks):
        t_iree += _median_us(lambda: iree_fn(*iree_args), per_block)
        t_ph += _median_us(lambda: ph_fn(*ph_args), per_block)
    module.close()
    device.close()
    return name, size, statistics.median(t_iree), statistics.median(t_ph)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=200, help="timed calls per runtime")
    parser.add_argument("--only", default="", help="comma list of programs")
    args = parser.parse_args(argv)
    import tempfile

    ic = _corpus_module()
    names = [*SMALL, *LARGE, *CORPUS]
    if args.only:
        names = [n for n in names if n in args.only.split(",")]
    print(f"{'program':<14} {'size':<6} {'IREE µs':>10} {'polyhal µs':>11} {'ratio':>6}")
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            repeat = args.repeat if name in SMALL else max(args.repeat // 10, 20)
            prog, size, t_iree, t_ph = bench(name, ic, repeat, Path(tmp))
            print(f"{prog:<14} {size:<6} {t_iree:>10.1f} {t_ph:>11.1f} {t_ph / t_iree:>6.2f}")


if __name__ == "__main__":
    main()
