"""IREE's own end-to-end tests (tests/iree/e2e, see its README.md) run as whole programs
through ``polyhal.iree``: every function IREE's runtime gets right on ``local-task`` must be
right on polyhal's ``local`` and ``local-sync``; every one it gets right on ``vulkan``, on
polyhal's ``vulkan`` (lavapipe here).  The manifest records IREE's verdicts
(``python scripts/iree_corpus.py reference``); functions IREE fails are not scored.

Each corpus file is one module: compiled once per target (``local`` and ``local-sync`` load
the same VM assembly), all files of the run two at a time, through
``polyhal.iree.compile_module``'s build cache, so a second run compiles nothing.

The whole corpus runs by default: with an empty cache the run took 143-152 s on the 2-core
development machine (nearly all of it compiling 145 files for two targets), 16 s with the
cache warm.  ``POLYHAL_IREE_CORPUS=subset`` runs ``SUBSET_FILES`` only (the model programs and a
few files of every suite, chosen for the host-program features they need; 22 s cold), for
quick runs while working on ``polyhal.iree``.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pytest
from e2e_corpus import CORPUS

import polyhal as hal
from polyhal import iree

SUBSET = os.environ.get("POLYHAL_IREE_CORPUS", "full") == "subset"

#: The quick subset: every model program, and per suite files whose host programs need
#: control flow, several dispatches, transfers, dynamic shapes or scalar push constants.
SUBSET_FILES = {
    "stablehlo_models/collatz.mlir",
    "stablehlo_models/edge_detection.mlir",
    "stablehlo_models/fragment_000.mlir",
    "stablehlo_models/fullyconnected.mlir",
    "stablehlo_models/mnist_fake_weights.mlir",
    "stablehlo_models/unidirectional_lstm.mlir",
    "tosa_ops/while.mlir",
    "tosa_ops/if.mlir",
    "tosa_ops/matmul.mlir",
    "tosa_ops/add.mlir",
    "stablehlo_ops/while.mlir",
    "stablehlo_ops/dynamic_slice.mlir",
    "stablehlo_ops/reduce.mlir",
    "stablehlo_ops/dot.mlir",
    "stablehlo_ops/sort.mlir",
    "tensor_ops/extract_slice.mlir",
    "tensor_ops/concat.mlir",
    "linalg/pack_dynamic_inner_tiles.mlir",
    "linalg/softmax.mlir",
    "linalg_ext_ops/scatter.mlir",
    "linalg_ext_ops/top-k.mlir",
}

#: polyhal drivers scored against each IREE driver's verdicts, and the target they load.
#: ``cuda`` is scored where the manifest holds IREE's cuda verdicts (recorded on a GPU machine
#: with ``scripts/iree_corpus.py reference --drivers cuda``; none are recorded yet).
SCORED = {"local-task": ("local", "local-sync"), "vulkan": ("vulkan",), "cuda": ("cuda",)}
TARGET = {"local": "local", "local-sync": "local", "vulkan": "vulkan", "cuda": "cuda"}


def _files() -> list[dict[str, Any]]:
    return [f for f in CORPUS.files() if not SUBSET or f["file"] in SUBSET_FILES]


def _cases() -> list[Any]:
    cases = []
    for f in _files():
        for fn in CORPUS.functions(f):
            for iree_driver, drivers in SCORED.items():
                if not fn.iree_passes(iree_driver):
                    continue
                for driver in drivers:
                    cases.append(pytest.param(f, fn, driver, id=f"{fn.id}-{driver}"))
    return cases


def _compile(job: tuple[str, str, tuple[str, ...]]) -> str | None:
    """Compile one corpus file for one target into the build cache; its error, or None."""
    path, target, flags = job
    try:
        iree.compile_module(path, target, flags=list(flags))
        return None
    except hal.HalError as e:
        return f"{type(e).__name__}: {e}"


@pytest.fixture(scope="session")
def compiled() -> dict[tuple[str, str], str | None]:
    """Every file of the run compiled for the targets its cases need (two iree-compile
    processes at a time, started from threads: forking this process, whose drivers run
    threads of their own, is not safe; cached); the compile error of each (file, target),
    or None."""
    if not iree.compiler_available():
        pytest.skip("iree-base-compiler is not installed (pip install polyhal[iree])")
    jobs = []
    for f in _files():
        for iree_driver, drivers in SCORED.items():
            fns = [fn for fn in CORPUS.functions(f) if fn.iree_passes(iree_driver)]
            if fns and any(_driver_available(d) for d in drivers):
                jobs.append((str(CORPUS.path(f)), TARGET[drivers[0]], tuple(f["flags"])))
    with ThreadPoolExecutor(2) as pool:
        errors = list(pool.map(_compile, jobs))
    return {(path, target): err for (path, target, _), err in zip(jobs, errors, strict=True)}


def _driver_available(driver: str) -> bool:
    return driver.split("-")[0] in hal.available_drivers()


_devices: dict[str, hal.Device] = {}
_modules: dict[tuple[str, str], Any] = {}


def _close_modules(keep: str | None) -> None:
    for key in [k for k in _modules if k[0] != keep]:
        module = _modules.pop(key)
        if not isinstance(module, Exception):
            module.close()


@pytest.fixture(scope="session", autouse=True)
def _close_everything():
    yield
    _close_modules(None)
    for device in _devices.values():
        device.close()


def _module(f: dict[str, Any], driver: str, compiled: dict[tuple[str, str], str | None]) -> Any:
    """The file's module loaded on ``driver`` (once while the tests of that file run: the
    cases come file by file, and the previous file's modules are closed); raises what loading
    raised."""
    key = (f["file"], driver)
    if key not in _modules:
        _close_modules(f["file"])
        path, target = str(CORPUS.path(f)), TARGET[driver]
        error = compiled.get((path, target))
        if error is not None:
            pytest.fail(f"iree-compile failed for {target} (IREE's runtime passed): {error}")
        if driver not in _devices:
            _devices[driver] = hal.create_device(driver)
        try:
            vm_asm = iree.compile_module(path, target, flags=f["flags"])
            _modules[key] = iree.load_module(vm_asm, _devices[driver])
        except Exception as e:
            _modules[key] = e
    module = _modules[key]
    if isinstance(module, Exception):
        raise module
    return module


@pytest.mark.parametrize(("file", "fn", "driver"), _cases())
def test_corpus_function(file, fn, driver, compiled):
    if not _driver_available(driver):
        pytest.skip(f"no {driver} device here")
    module = _module(file, driver, compiled)
    out = module[fn.name](*fn.inputs(), numpy=True)
    n = len(fn.entry["results"])
    results = [] if n == 0 else [out] if n == 1 else list(out)
    problems = fn.check(results)
    assert not problems, f"{fn.id} on {driver}: " + "; ".join(problems)


def test_corpus_is_scored():
    """The manifest holds IREE's verdicts for both drivers, and IREE passes most functions:
    a corpus nobody scores, or a reference that failed wholesale, would make the test above
    vacuous."""
    fns = CORPUS.functions()
    assert len(fns) > 400
    for driver in ("local-task", "vulkan"):
        verdicts = [fn.entry.get("iree", {}).get(driver) for fn in fns]
        assert all(v is not None for v in verdicts), f"no IREE verdicts for {driver}"
        assert sum(v == "pass" for v in verdicts) > len(fns) // 2, driver


def _expected_results(fn: Any) -> list[Any] | None:
    """The results the manifest's constant checks name, or None when a check compares two
    results or a result has no constant to take."""
    results: list[Any] = [None] * len(fn.entry["results"])
    for c in fn.entry["checks"]:
        info = fn.entry["results"][c["result"]]
        if c["kind"] in ("eq_const", "almost_eq_const"):
            results[c["result"]] = CORPUS.array(c["expected"], info["dtype"]).copy()
        elif c["kind"] == "filecheck" and "lo" in c:
            lo = CORPUS.array(c["lo"], "float64")
            results[c["result"]] = lo.reshape(info["shape"]).astype(info["dtype"])
        else:
            return None
    return None if any(r is None for r in results) else results


def _perturbed(arr: Any) -> Any:
    wrong = np.array(arr, copy=True)
    flat = wrong.reshape(-1)
    if wrong.dtype == np.bool_:
        flat[0] = not flat[0]
    elif wrong.dtype.kind in "iu":
        flat[0] = flat[0] + 1 if flat[0] < np.iinfo(wrong.dtype).max else flat[0] - 1
    else:
        x = float(flat[0])
        flat[0] = x + 1 + abs(x) if np.isfinite(x) else 0  # moves every finite value by >= 1
    return wrong


def test_checks_catch_wrong_results():
    """The comparisons the corpus scores with accept the expected values and reject a
    result with one element changed (so a polyhal bug cannot pass unnoticed)."""
    checked = 0
    for fn in CORPUS.functions():
        results = _expected_results(fn)
        if results is None or any(np.asarray(r).size == 0 for r in results):
            continue
        assert not fn.check(results), fn.id
        assert fn.check([_perturbed(results[0]), *results[1:]]), fn.id
        assert fn.check(results[1:] if len(results) > 1 else [results[0][None]]), fn.id
        checked += 1
    assert checked > 300
