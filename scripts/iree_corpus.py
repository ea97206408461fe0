"""IREE's end-to-end tests as a corpus of functions with arguments and results.

IREE's ``tests/e2e`` programs are test functions without arguments: their inputs are
``util.unfoldable_constant`` values and their outputs are checked in place by ``check.expect_*``
ops (IREE's check VM module).  The model programs (``stablehlo_models``) are instead run by
``iree-run-mlir`` with ``--input=`` flags and their printed result matched by FileCheck.  This
script turns both into ordinary functions a runtime can call: every unfoldable constant becomes
an argument, every checked value a result; the values go to ``values.npz`` and what to compare
to ``manifest.json`` (see tests/iree/e2e/README.md for the format).

    python scripts/iree_corpus.py convert --iree-git /path/to/iree/.git [--commit SHA]
    python scripts/iree_corpus.py reference [--drivers local-task,vulkan] [--jobs 2] [--all]
    python scripts/iree_corpus.py polyhal [--drivers local,local-sync,vulkan] [files...]

``convert`` reads IREE's sources with IREE's MLIR Python bindings (``iree.compiler.ir``), where
the stablehlo, tosa, util and check dialects are registered, and rewrites them there.
``reference`` compiles every converted file with the flags polyhal uses (one module per file
and target, cached in polyhal's build cache), runs each function with IREE's own runtime
(``iree.runtime``) and records in the manifest which functions IREE itself gets right: the
corpus scores polyhal only on those.  ``polyhal`` runs the corpus through ``polyhal.iree``
and prints the pass counts on those functions and the failures grouped by kind.

The library part (``Corpus``, ``check_results``, ``compile_vmfb``, ``IreeRunner``) is what the
test harness (tests/iree/test_e2e_corpus.py) and benchmarks/bench_iree.py import.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
CORPUS_DIR = ROOT / "tests" / "iree" / "e2e"
SUITES = (
    "linalg",
    "linalg_ext_ops",
    "tosa_ops",
    "stablehlo_ops",
    "tensor_ops",
    "stablehlo_models",
)
#: Flags IREE's own build adds for a suite's llvm-cpu and vulkan tests (BUILD.bazel).
SUITE_FLAGS = {
    "stablehlo_ops": ["--iree-input-demote-f64-to-f32"],
    "stablehlo_models": ["--iree-input-demote-f64-to-f32"],
}
#: IREE runtime driver for each target polyhal compiles for.
TARGETS = {"local-task": "local", "vulkan": "vulkan", "cuda": "cuda"}

HEADER = """\
// Derived from IREE ({path} at commit {commit}, https://github.com/iree-org/iree).
// Copyright The IREE Authors. Licensed under the Apache License v2.0 with LLVM Exceptions.
// See https://llvm.org/LICENSE.txt for license information (and tests/iree/e2e/LICENSE).
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
// Converted by polyhal's scripts/iree_corpus.py: util.unfoldable_constant values are
// arguments and checked values are results; tests/iree/e2e/manifest.json says what to compare.
"""


def _properties_of_next_dict(text: str, op: str) -> str:
    """``op {attrs}`` -> ``op <{attrs}>`` for every ``op`` (balanced braces)."""
    out, i = [], 0
    for m in re.finditer(re.escape(op) + r"\s*\{", text):
        start = m.end() - 1
        if start < i:
            continue
        depth = 0
        for end in range(start, len(text)):
            depth += {"{": 1, "}": -1}.get(text[end], 0)
            if depth == 0:
                break
        out.append(text[i:start] + "<" + text[start : end + 1] + ">")
        i = end + 1
    return "".join(out) + text[i:]


_TOSA_ATTR_DICT = re.compile(
    r"^(\s*%[\w:#]+ = )(tosa\.\w+)\s+([^{\n]*?)\s*\{(.*)\}\s*:\s*(\(.*\)\s*->\s*.*)$", re.M
)

#: Rewrites for source the installed compiler's parser rejects, tried in turn when a file does
#: not parse: (name, rewrite).  All but the last are the same change, an op's inherent
#: attributes written in its attribute dictionary (older syntax) moved into its properties;
#: the last spells the named elementwise ops the compiler no longer has as ``linalg.elementwise``
#: of the same kind.
SYNTAX_FIXUPS: list[tuple[str, Callable[[str], str]]] = [
    (
        "util.global {inlining_policy} as properties",
        lambda t: re.sub(
            r"(util\.global private @\S+) \{(inlining_policy = [^}]*)\}", r"\1 <\2>", t
        ),
    ),
    (
        "tosa ops in generic form with their attributes as properties",
        lambda t: _TOSA_ATTR_DICT.sub(lambda m: f'{m[1]}"{m[2]}"({m[3]}) <{{{m[4]}}}> : {m[5]}', t),
    ),
    (
        "iree_linalg_ext attention ops' attributes as properties",
        lambda t: _properties_of_next_dict(
            _properties_of_next_dict(t, "iree_linalg_ext.attention"),
            "iree_linalg_ext.online_attention",
        ),
    ),
    (
        "linalg.add/sub/mul/negf as linalg.elementwise <kind>",
        lambda t: re.sub(r"\blinalg\.(add|sub|mul|negf)\b", r"linalg.elementwise <\1>", t),
    ),
]

# ---------------------------------------------------------------------------------------------
# Element types


def _ml_dtypes() -> Any:
    import ml_dtypes

    return ml_dtypes


#: MLIR element type -> numpy dtype name (ml_dtypes names for the narrow floats).
_NUMPY_TYPES = {
    "i1": "bool",
    "i8": "int8",
    "i16": "int16",
    "i32": "int32",
    "i64": "int64",
    "ui8": "uint8",
    "ui16": "uint16",
    "ui32": "uint32",
    "ui64": "uint64",
    "f16": "float16",
    "f32": "float32",
    "f64": "float64",
    "bf16": "bfloat16",
    "f8E4M3FN": "float8_e4m3fn",
    "f8E4M3FNUZ": "float8_e4m3fnuz",
    "f8E5M2": "float8_e5m2",
    "f8E5M2FNUZ": "float8_e5m2fnuz",
    "f8E8M0FNU": "float8_e8m0fnu",
    "complex<f32>": "complex64",
    "complex<f64>": "complex128",
    "index": "int64",
}
_DEMOTED = {"f64": "f32", "complex<f64>": "complex<f32>"}


def dtype_named(name: str) -> np.dtype[Any]:
    """The numpy dtype of a manifest dtype name (ml_dtypes for bfloat16 and the f8 types)."""
    if hasattr(np, name) and name not in ("bool",):
        return np.dtype(name)
    if name == "bool":
        return np.dtype(np.bool_)
    return np.dtype(getattr(_ml_dtypes(), name))


def _split_shaped(type_text: str) -> tuple[tuple[int, ...] | None, str]:
    """(shape, element type) of ``tensor<2x3xf32>``; (None, t) for a scalar type ``t``."""
    m = re.fullmatch(r"tensor<(.*)>", type_text)
    if not m:
        return None, type_text
    inner = m.group(1)
    dims: list[int] = []
    while True:
        d = re.match(r"(\d+|\?)x", inner)
        if not d:
            break
        dims.append(-1 if d.group(1) == "?" else int(d.group(1)))
        inner = inner[d.end() :]
    return tuple(dims), inner


# ---------------------------------------------------------------------------------------------
# Reading elements attributes


def _attr_to_numpy(ir: Any, op: Any, name: str, type_text: str) -> np.ndarray[Any, Any]:
    """The value of ``op``'s dense elements attribute ``name`` (or scalar integer attribute)
    as an array of ``type_text``'s shape."""
    shape, elem = _split_shaped(type_text)
    if elem not in _NUMPY_TYPES:
        raise ValueError(f"element type {elem} has no numpy dtype")
    try:
        attr = op.attributes[name]
    except TypeError:  # the bindings cannot wrap complex elements: read the op's text
        text = str(op)
        start = text.index("dense<")
        depth, end = 0, start
        for end in range(start + 5, len(text)):
            depth += {"<": 1, ">": -1}.get(text[end], 0)
            if depth == 0:
                break
        attr = text[start : end + 1] + " : " + type_text
    if shape is None:  # a scalar: util.unfoldable_constant 4 : index
        return np.array(ir.IntegerAttr(attr).value, dtype=dtype_named(_NUMPY_TYPES[elem]))
    if any(d < 0 for d in shape):
        raise ValueError(f"dynamic constant type {type_text}")
    dtype = dtype_named(_NUMPY_TYPES[elem])
    if isinstance(attr, str):
        return _parse_dense_text(attr, shape, elem, dtype)
    dense = ir.DenseElementsAttr(attr)
    try:
        arr = np.array(dense)
        if arr.dtype != object:
            if arr.size == 1 and math.prod(shape) != 1:  # a splat, on older bindings
                return np.full(shape, arr.ravel()[0], dtype=dtype)
            if arr.size == math.prod(shape):
                return arr.astype(dtype, copy=False).reshape(shape)
    except (TypeError, ValueError):
        pass
    return _parse_dense_text(str(attr), shape, elem, dtype)


def _parse_dense_text(text: str, shape: tuple[int, ...], elem: str, dtype: Any) -> Any:
    """Values of ``dense<...> : type`` for element types the bindings cannot hand to numpy
    (bf16, the f8 types, complex): decimal literals, or hex bit patterns."""
    body = text[text.index("<") + 1 : text.rindex(">", 0, text.rindex(":"))]
    count = math.prod(shape)
    if body.startswith('"0x'):  # raw little-endian storage
        raw = bytes.fromhex(body[3:-1])
        arr = np.frombuffer(raw, dtype=dtype)
        return np.resize(arr, count).reshape(shape)  # a splat stores one element
    is_complex = elem.startswith("complex")
    if is_complex:
        pairs = re.findall(r"\(([^,()]+),([^,()]+)\)", body)
        vals = [complex(_scalar(a, elem), _scalar(b, elem)) for a, b in pairs]
    else:
        tokens = [t for t in re.split(r"[\s,\[\]]+", body) if t]
        vals = [_scalar(t, elem) for t in tokens]
    if elem.startswith(("f", "bf")) and any(isinstance(v, _Bits) for v in vals):
        bits_dtype = np.dtype(f"uint{dtype.itemsize * 8}")
        flat = np.array([v.bits if isinstance(v, _Bits) else 0 for v in vals], bits_dtype)
        dec = np.array([0.0 if isinstance(v, _Bits) else v for v in vals]).astype(dtype)
        mask = np.array([isinstance(v, _Bits) for v in vals])
        out = dec.view(bits_dtype).copy()
        out[mask] = flat[mask]
        arr = out.view(dtype)
    else:
        arr = np.array(vals).astype(dtype)
    if arr.size == 1 and count != 1:
        arr = np.full(count, arr.ravel()[0], dtype=dtype)
    return arr.reshape(shape)


@dataclass
class _Bits:
    bits: int


def _scalar(token: str, elem: str) -> Any:
    if token in ("true", "false"):
        return token == "true"
    if token.startswith("0x") and (elem.startswith(("f", "bf")) or "complex" in elem):
        return _Bits(int(token, 16))
    if elem.startswith(("f", "bf", "complex")):
        return float(token)
    return int(token, 0)


# ---------------------------------------------------------------------------------------------
# Conversion


@dataclass
class Converted:
    """One converted test function: its arguments' and results' types and the checks."""

    name: str
    args: list[dict[str, Any]] = field(default_factory=list)
    results: list[dict[str, Any]] = field(default_factory=list)
    checks: list[dict[str, Any]] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    kept_constants: list[str] = field(default_factory=list)


class _Values:
    """The arrays of one file, named ``<function>.<role><index>`` in values.npz."""

    def __init__(self, prefix: str, store: dict[str, np.ndarray[Any, Any]]) -> None:
        self.prefix = prefix
        self.store = store

    def put(self, key: str, arr: np.ndarray[Any, Any]) -> str:
        full = f"{self.prefix}:{key}"
        if arr.dtype.kind == "V" or arr.dtype.type.__module__ == "ml_dtypes":
            arr = arr.view(f"uint{arr.dtype.itemsize * 8}")  # npz cannot name ml_dtypes types
        self.store[full] = arr
        return full


def _type_info(type_text: str, demote: bool) -> dict[str, Any]:
    shape, elem = _split_shaped(type_text)
    if demote:
        elem = _DEMOTED.get(elem, elem)
    if elem not in _NUMPY_TYPES:
        raise ValueError(f"element type {elem} has no numpy dtype")
    info: dict[str, Any] = {"type": type_text, "dtype": _NUMPY_TYPES[elem]}
    info["shape"] = list(shape) if shape is not None else None
    return info


def _walk(op: Any, out: list[Any]) -> list[Any]:
    for region in op.regions:
        for block in region.blocks:
            for inner in block.operations:
                out.append(inner.operation)
                _walk(inner.operation, out)
    return out


def convert_test_function(ir: Any, func: Any, values: _Values, demote: bool) -> Converted:
    """Rewrite ``func`` (no arguments, ``check.*`` assertions) in place into a function whose
    unfoldable constants are arguments and whose checked values are results."""
    name = ir.StringAttr(func.attributes["sym_name"]).value
    conv = Converted(name)
    body = func.regions[0]
    entry = body.blocks[0]
    returns = [op for op in _walk(func, []) if op.name == "func.return"]
    if len(returns) != 1:
        raise ValueError(f"@{name}: {len(returns)} returns (one expected)")
    ret = returns[0]
    loc = ret.location
    # Constants become entry-block arguments: those dominate every use.
    for op in _walk(func, []):
        if op.name != "util.unfoldable_constant":
            continue
        result = op.results[0]
        type_text = str(result.type)
        if _split_shaped(type_text)[1] not in _NUMPY_TYPES:
            # i4, i2: no numpy array (nor a runtime's argument) holds them; stay in place.
            conv.kept_constants.append(type_text)
            continue
        arr = _attr_to_numpy(ir, op, "value", type_text)
        if type_text == "index":  # function arguments cannot be index: pass an i64
            arg = entry.add_argument(ir.IntegerType.get_signless(64), loc)
            with ir.InsertionPoint(op):
                cast = ir.Operation.create(
                    "arith.index_cast", results=[result.type], operands=[arg], loc=op.location
                )
            result.replace_all_uses_with(cast.results[0])
            info = _type_info("i64", demote)
        else:
            arg = entry.add_argument(result.type, loc)
            result.replace_all_uses_with(arg)
            info = _type_info(type_text, demote)
        idx = len(conv.args)
        info["value"] = values.put(f"{name}.arg{idx}", arr)
        conv.args.append(info)
        op.erase()
    # Checks become results; their operands must reach the one return.
    result_values: list[Any] = []

    def result_index(value: Any) -> int:
        for i, v in enumerate(result_values):
            if v == value:
                return i
        result_values.append(value)
        conv.results.append(_type_info(str(value.type), demote))
        return len(result_values) - 1

    for op in _walk(func, []):  # again: the constants are gone
        if not op.name.startswith("check."):
            continue
        if op.parent.name != "func.func":
            # It runs only when its region runs (a branch of an if): no result can say that.
            conv.dropped.append(f"{op.name} inside {op.parent.name}")
            op.erase()
            continue
        if op.block != entry and op.block != ret.block:
            # Its operands may not reach the return: the check runs on one path only.
            raise ValueError(f"@{name}: {op.name} neither in the entry nor the return block")
        kind = op.name[len("check.expect_") :]
        operands = list(op.operands)
        check: dict[str, Any] = {"kind": kind}
        if kind in ("eq_const", "almost_eq_const"):
            check["result"] = result_index(operands[0])
            arr = _attr_to_numpy(ir, op, "value", str(operands[0].type))
            check["expected"] = values.put(f"{name}.expected{len(conv.checks)}", arr)
        elif kind in ("eq", "almost_eq"):
            check["result"] = result_index(operands[0])
            check["other"] = result_index(operands[1])
        elif kind in ("true", "false", "all_true"):
            check["result"] = result_index(operands[0])
        else:
            raise ValueError(f"@{name}: unknown check {op.name}")
        if kind.startswith("almost_eq"):
            for tol, default in (("atol", 1e-4), ("rtol", 0.0)):
                attr = op.attributes[tol] if tol in op.attributes else None
                check[tol] = ir.FloatAttr(attr).value if attr is not None else default
        conv.checks.append(check)
        op.erase()
    with ir.InsertionPoint(ret):
        ir.Operation.create("func.return", operands=result_values, loc=loc)
    ret.erase()
    arg_types = [a.type for a in entry.arguments]
    res_types = [v.type for v in result_values]
    func.attributes["function_type"] = ir.TypeAttr.get(ir.FunctionType.get(arg_types, res_types))
    return conv


# -- the model programs: iree-run-mlir inputs and FileCheck'd outputs --------------------------


def _run_inputs(text: str) -> list[str]:
    """The ``--input=`` values of the llvm-cpu RUN line."""
    runs = [ln for ln in text.splitlines() if ln.startswith("// RUN:")]
    line = next((r for r in runs if "llvm-cpu" in r), runs[-1] if runs else "")
    return [m.strip('"') for m in re.findall(r'--input=("[^"]*"|\S+)', line)]


def _parse_input(spec: str) -> np.ndarray[Any, Any]:
    """An iree-run-mlir ``--input=2x3xf32=1,2,...`` (no ``=...``: zeros)."""
    head, _, data = spec.partition("=")
    parts = head.split("x")
    shape, elem = tuple(int(p) for p in parts[:-1]), parts[-1]
    dtype = dtype_named(_NUMPY_TYPES[elem])
    if not data:
        return np.zeros(shape, dtype)
    vals = [float(t) for t in re.split(r"[\s,\[\]]+", data) if t]
    return np.array(vals, dtype=dtype).reshape(shape)


def _filecheck_expected(text: str) -> tuple[str, list[str]] | None:
    """(function, printed tokens) of ``// CHECK-LABEL: EXEC @f`` and the CHECK lines after it."""
    label = re.search(r"// CHECK-LABEL: EXEC @(\S+)", text)
    if label:
        name, start = label.group(1), label.end()
    else:  # iree-run-mlir runs the one public function
        public = re.findall(r"^\s*func\.func @([\w.$-]+)", text, re.MULTILINE)
        if len(public) != 1:
            return None
        name, start = public[0], 0
    printed = ""
    for ln in text[start:].splitlines():
        m = re.match(r"\s*// CHECK(?:-SAME)?:\s?(.*)", ln)
        if m:
            printed += " " + m.group(1)
    value = printed.replace("{{[0-9]+}}", "~").strip().split("=", 1)
    return name, re.findall(r"[^\s\[\]]+", value[1] if len(value) > 1 else "")


def _interval(token: str) -> tuple[float, float]:
    """The values a FileCheck token admits: ``3.79~`` (``3.79{{[0-9]+}}`` in the CHECK line)
    is [3.79, 3.80]; a literal is
    the value to IREE's printing precision (6 significant digits); ``0`` is 0."""
    prefix = token.rstrip("~")
    x = float(prefix)
    decimals = len(prefix.split(".", 1)[1]) if "." in prefix else 0
    if token.endswith("~"):
        step = 10.0**-decimals
        lo, hi = (x, x + step) if not prefix.startswith("-") else (x - step, x)
        return lo, hi
    if x == 0:
        return 0.0, 0.0
    half = 0.5 * 10.0 ** (math.floor(math.log10(abs(x))) - 5)
    return x - half, x + half


def convert_model(ir: Any, module: Any, text: str, values: _Values, demote: bool) -> Converted:
    """The EXEC function of an iree-run-mlir test: its unfoldable constants become
    arguments after its own ones, its result is checked against the FileCheck lines."""
    found = _filecheck_expected(text)
    if not found:
        raise ValueError("no CHECK-LABEL: EXEC line")
    name, tokens = found
    func = next(
        op
        for op in module.body.operations
        if op.operation.name == "func.func"
        and ir.StringAttr(op.operation.attributes["sym_name"]).value == name
    ).operation
    conv = Converted(name)
    entry = func.regions[0].blocks[0]
    for i, spec in enumerate(_run_inputs(text)):
        info = _type_info(str(entry.arguments[i].type), demote)
        info["value"] = values.put(f"{name}.arg{i}", _parse_input(spec))
        conv.args.append(info)
    loc = func.location
    for op in _walk(func, []):
        if op.name != "util.unfoldable_constant":
            continue
        result = op.results[0]
        arr = _attr_to_numpy(ir, op, "value", str(result.type))
        arg = entry.add_argument(result.type, loc)
        result.replace_all_uses_with(arg)
        info = _type_info(str(result.type), demote)
        info["value"] = values.put(f"{name}.arg{len(conv.args)}", arr)
        conv.args.append(info)
        op.erase()
    ftype = ir.FunctionType(ir.TypeAttr(func.attributes["function_type"]).value)
    func.attributes["function_type"] = ir.TypeAttr.get(
        ir.FunctionType.get([a.type for a in entry.arguments], list(ftype.results))
    )
    if len(ftype.results) != 1:
        raise ValueError(f"@{name}: {len(ftype.results)} results (one expected)")
    conv.results.append(_type_info(str(ftype.results[0]), demote))
    check: dict[str, Any] = {"kind": "filecheck", "result": 0}
    if tokens:
        bounds = np.array([_interval(t) for t in tokens], dtype=np.float64)
        check["lo"] = values.put(f"{name}.lo", bounds[:, 0])
        check["hi"] = values.put(f"{name}.hi", bounds[:, 1])
    conv.checks.append(check)  # no tokens: IREE checks only the printed shape and type
    return conv


# -- files -------------------------------------------------------------------------------------


def convert_file(
    ir: Any, ctx: Any, suite: str, fname: str, text: str, store: dict[str, Any]
) -> tuple[str, list[Converted], list[dict[str, str]]]:
    """(converted MLIR, converted functions, skipped functions with the reason) of one file."""
    module = ir.Module.parse(text, ctx)
    demote = "--iree-input-demote-f64-to-f32" in SUITE_FLAGS.get(suite, [])
    values = _Values(f"{suite}/{fname}", store)
    converted: list[Converted] = []
    skipped: list[dict[str, str]] = []
    if "// RUN:" in text:
        converted.append(convert_model(ir, module, text, values, demote))
    else:
        for op in list(module.body.operations):
            op = op.operation
            if op.name != "func.func":
                continue
            attrs = op.attributes
            ftype = ir.FunctionType(ir.TypeAttr(attrs["function_type"]).value)
            private = "sym_visibility" in attrs
            if private or len(ftype.inputs) or len(ftype.results):
                continue  # a helper the tests call
            name = ir.StringAttr(attrs["sym_name"]).value
            try:
                converted.append(convert_test_function(ir, op, values, demote))
            except ValueError as e:
                # Leave it out of the module: its check ops name a VM module polyhal lacks.
                skipped.append({"function": name, "reason": str(e)})
                op.erase()
    return str(module), converted, skipped


def _parseable(ir: Any, text: str, entry: dict[str, Any]) -> str:
    """``text``, or ``text`` with the SYNTAX_FIXUPS it needs (named in ``entry["fixups"]``)
    when the installed compiler cannot parse it as it is."""

    def parses(t: str) -> bool:
        try:
            ir.Module.parse(t, ir.Context())
            return True
        except Exception:
            return False

    if parses(text):
        return text
    for name, rewrite in SYNTAX_FIXUPS:
        fixed = rewrite(text)
        if fixed != text and parses(fixed):
            entry["fixups"] = [name]
            return fixed
    return text


def _git_show(git_dir: str, commit: str, path: str) -> str:
    return subprocess.run(
        ["git", "--git-dir", git_dir, "show", f"{commit}:{path}"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def _git_files(git_dir: str, commit: str, folder: str) -> list[str]:
    out = subprocess.run(
        ["git", "--git-dir", git_dir, "ls-tree", "--name-only", commit, folder + "/"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return sorted(p for p in out.split() if p.endswith(".mlir"))


def cmd_convert(args: argparse.Namespace) -> None:
    """Convert IREE's e2e suites into tests/iree/e2e (MLIR files, manifest.json, values.npz)."""
    from iree.compiler import ir

    git_dir = args.iree_git
    commit = subprocess.run(
        ["git", "--git-dir", git_dir, "rev-parse", args.commit],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    out = Path(args.out)
    store: dict[str, Any] = {}
    files: list[dict[str, Any]] = []
    for suite in SUITES:
        for path in _git_files(git_dir, commit, f"tests/e2e/{suite}"):
            fname = Path(path).name
            text = _git_show(git_dir, commit, path)
            entry: dict[str, Any] = {"file": f"{suite}/{fname}", "source": path}
            entry["flags"] = SUITE_FLAGS.get(suite, [])
            text = _parseable(ir, text, entry)
            ctx = ir.Context()
            try:
                with ctx, ir.Location.unknown():
                    mlir, converted, skipped = convert_file(ir, ctx, suite, fname, text, store)
            except Exception as e:  # a file the installed compiler's parser rejects
                entry["skipped"] = f"{type(e).__name__}: {str(e).splitlines()[0][:200]}"
                files.append(entry)
                print(f"skip {path}: {entry['skipped']}", file=sys.stderr)
                continue
            dest = out / suite / fname
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_text(HEADER.format(path=path, commit=commit) + "\n" + mlir)
            entry["functions"] = [
                {"name": c.name, "args": c.args, "results": c.results, "checks": c.checks}
                | ({"dropped_checks": c.dropped} if c.dropped else {})
                | ({"kept_unfoldable_constants": c.kept_constants} if c.kept_constants else {})
                for c in converted
            ]
            if skipped:
                entry["skipped_functions"] = skipped
            files.append(entry)
    if not _same_values(out / "values.npz", store):  # the zip's timestamps would churn git
        np.savez_compressed(out / "values.npz", **store)
    manifest = {
        "source": {"repository": "https://github.com/iree-org/iree", "commit": commit},
        "files": files,
    }
    old = out / "manifest.json"
    if old.exists():  # keep the reference results of functions that did not change
        _carry_reference(json.loads(old.read_text()), manifest)
    write_manifest(manifest, out)
    n_funcs = sum(len(f.get("functions", [])) for f in files)
    n_files = sum(1 for f in files if "functions" in f)
    print(f"{n_files} files, {n_funcs} functions converted into {out}")


def _same_values(path: Path, store: dict[str, Any]) -> bool:
    if not path.exists():
        return False
    with np.load(path) as old:
        if set(old.files) != set(store):
            return False
        return all(
            old[k].dtype == v.dtype and old[k].shape == v.shape and old[k].tobytes() == v.tobytes()
            for k, v in store.items()
        )


def _carry_reference(old: dict[str, Any], new: dict[str, Any]) -> None:
    before = {
        (f["file"], fn["name"]): fn
        for f in old["files"]
        for fn in f.get("functions", [])
        if "iree" in fn
    }
    for f in new["files"]:
        for fn in f.get("functions", []):
            prev = before.get((f["file"], fn["name"]))
            if prev and {k: v for k, v in prev.items() if k != "iree"} == fn:
                fn["iree"] = prev["iree"]


def write_manifest(manifest: dict[str, Any], out: Path = CORPUS_DIR) -> None:
    """Write manifest.json, one function per line-ish (readable diffs)."""
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")


# ---------------------------------------------------------------------------------------------
# The corpus as data: what the harness and the benchmark read


@dataclass
class Function:
    """A converted function of the corpus."""

    file: str
    name: str
    entry: dict[str, Any]
    corpus: Corpus

    @property
    def id(self) -> str:
        return f"{self.file}::{self.name}"

    def inputs(self) -> list[Any]:
        """The argument values: numpy arrays, a Python number for a scalar argument."""
        out = []
        for a in self.entry["args"]:
            arr = self.corpus.array(a["value"], a["dtype"])
            out.append(arr.item() if a["shape"] is None else arr)
        return out

    def iree_passes(self, driver: str) -> bool:
        """Whether IREE's own runtime got this function right on ``driver``."""
        return self.entry.get("iree", {}).get(driver) == "pass"

    def check(self, results: Sequence[Any]) -> list[str]:
        """What is wrong with ``results`` (numpy arrays or scalars), empty when all checks
        pass."""
        return check_results(self, results)


class Corpus:
    """tests/iree/e2e: the converted files, their manifest and their values."""

    def __init__(self, directory: Path = CORPUS_DIR) -> None:
        self.dir = directory
        self.manifest = json.loads((directory / "manifest.json").read_text())
        self._npz: Any = None

    def array(self, key: str, dtype_name: str) -> np.ndarray[Any, Any]:
        if self._npz is None:
            self._npz = np.load(self.dir / "values.npz")
        arr = self._npz[key]
        dtype = dtype_named(dtype_name)
        if arr.dtype != dtype:
            if dtype.type.__module__ == "ml_dtypes":  # stored as same-width unsigned ints
                arr = arr.view(dtype)
            else:  # an f64 value of a program compiled with f64 demoted to f32
                arr = arr.astype(dtype)
        return arr

    def files(self) -> list[dict[str, Any]]:
        return [f for f in self.manifest["files"] if "functions" in f]

    def functions(self, file: dict[str, Any] | None = None) -> list[Function]:
        files = [file] if file is not None else self.files()
        return [Function(f["file"], fn["name"], fn, self) for f in files for fn in f["functions"]]

    def path(self, file: dict[str, Any]) -> Path:
        return self.dir / file["file"]


def check_results(fn: Function, results: Sequence[Any]) -> list[str]:
    """The failed checks of ``fn`` given its results, as messages."""
    problems: list[str] = []
    entry = fn.entry
    if len(results) != len(entry["results"]):
        return [f"{len(results)} results, expected {len(entry['results'])}"]
    got = []
    for r, info in zip(results, entry["results"], strict=True):
        arr = np.asarray(r)
        want_dtype = dtype_named(info["dtype"])
        shape = info["shape"]
        if shape is not None and (
            arr.ndim != len(shape)
            or any(d not in (-1, n) for d, n in zip(shape, arr.shape, strict=False))
        ):
            problems.append(f"shape {arr.shape}, expected {tuple(shape)} (-1: dynamic)")
        if arr.dtype != want_dtype and arr.dtype.itemsize == want_dtype.itemsize:
            arr = arr.view(want_dtype)
        got.append(arr)
    if problems:
        return problems
    for c in entry["checks"]:
        kind = c["kind"]
        a = got[c["result"]]
        where = f"result {c['result']} ({kind})"
        if kind in ("eq_const", "almost_eq_const"):
            b = fn.corpus.array(c["expected"], entry["results"][c["result"]]["dtype"])
        elif kind in ("eq", "almost_eq"):
            b = got[c["other"]]
        else:
            b = None
        if kind in ("eq", "eq_const"):
            if not _equal(a, b):
                problems.append(f"{where}: {_diff(a, b)}")
        elif kind.startswith("almost_eq"):
            if not _close(a, b, c["atol"], c["rtol"]):
                problems.append(f"{where}: {_diff(a, b)} (atol {c['atol']}, rtol {c['rtol']})")
        elif kind == "true" and not bool(np.asarray(a) != 0):
            problems.append(f"{where}: {a}")
        elif kind == "false" and not bool(np.asarray(a) == 0):
            problems.append(f"{where}: {a}")
        elif kind == "all_true" and not bool(np.all(np.asarray(a) != 0)):
            problems.append(f"{where}: not all true")
        elif kind == "filecheck" and "lo" in c:
            # The bounds rounded to the result's type: 13.87 as an f32 is 13.8699998...
            lo = fn.corpus.array(c["lo"], "float64").astype(a.dtype).astype(np.float64)
            hi = fn.corpus.array(c["hi"], "float64").astype(a.dtype).astype(np.float64)
            flat = a.astype(np.float64).ravel()
            if flat.size != lo.size:
                problems.append(f"{where}: {flat.size} values, CHECK lines have {lo.size}")
            elif not np.all((flat >= lo) & (flat <= hi)):
                bad = int(np.argmax(~((flat >= lo) & (flat <= hi))))
                problems.append(f"{where}: [{bad}] = {flat[bad]} not in [{lo[bad]}, {hi[bad]}]")
    return problems


def _as_comparable(a: Any) -> np.ndarray[Any, Any]:
    arr = np.asarray(a)
    if arr.dtype.type.__module__ == "ml_dtypes":
        return arr.astype(np.float64)
    return arr


def _equal(a: Any, b: Any) -> bool:
    x, y = _as_comparable(a), _as_comparable(b)
    if x.shape != y.shape:
        return False
    if x.dtype.kind in "fc":
        return bool(np.array_equal(x, y, equal_nan=True))
    return bool(np.array_equal(x, y))


def _close(a: Any, b: Any, atol: float, rtol: float) -> bool:
    # IREE's check module: lhs == rhs || (isfinite(rhs) && |lhs - rhs| <= atol + rtol*|rhs|).
    x = _as_comparable(a).astype(np.complex128 if np.iscomplexobj(a) else np.float64)
    y = _as_comparable(b).astype(x.dtype)
    if x.shape != y.shape:
        return False
    with np.errstate(invalid="ignore", over="ignore"):
        ok = (x == y) | (np.isfinite(y) & (np.abs(x - y) <= atol + rtol * np.abs(y)))
        ok |= np.isnan(x) & np.isnan(y)
    return bool(np.all(ok))


def _diff(a: Any, b: Any) -> str:
    x, y = np.asarray(a), np.asarray(b)
    if x.shape != y.shape:
        return f"shape {x.shape} vs {y.shape}"
    xf, yf = _as_comparable(x).ravel(), _as_comparable(y).ravel()
    with np.errstate(invalid="ignore"):
        bad = np.flatnonzero(
            ~((xf == yf) | (np.isnan(xf) & np.isnan(yf))) if xf.dtype.kind in "fc" else xf != yf
        )
    if bad.size == 0:
        return "equal?"
    i = int(bad[0])
    return f"{bad.size} of {xf.size} differ, first [{i}]: {xf[i]} != {yf[i]}"


# ---------------------------------------------------------------------------------------------
# Compiling (cached) and IREE's runtime as the reference


def compile_flags(file: dict[str, Any], target: str) -> list[str]:
    """iree-compile flags for a corpus file and a polyhal target ("local", "vulkan", "cuda")."""
    from polyhal.iree import compile_flags as target_flags

    return [*target_flags(target), *file.get("flags", [])]


def compile_vmfb(path: Path, flags: Sequence[str], timeout: float = 600) -> Path:
    """The .vmfb of ``path`` compiled with ``flags``, from polyhal's build cache."""
    from polyhal import _cache
    from polyhal.iree.compiler import compiler_version, find_iree_compile

    text = path.read_bytes()
    tool = find_iree_compile()

    def build(out: Path) -> None:
        proc = subprocess.run(
            [tool, *flags, str(path), "-o", str(out)],
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if proc.returncode != 0:
            err = [ln for ln in proc.stderr.splitlines() if "error" in ln]
            raise CompileError("\n".join(err[:5]) or proc.stderr[-2000:])

    key = [text, *flags, compiler_version() or tool]
    failed = _failure_marker(key)
    if failed.exists():
        raise CompileError(failed.read_text())
    try:
        return _cache.cached("iree-corpus", "vmfb", key, build, lambda p: p.is_file())
    except CompileError as e:
        failed.write_text(str(e))  # a compile error is as reproducible as a success
        raise


def _failure_marker(key: list[Any]) -> Path:
    from polyhal import _cache

    return _cache.cache_dir() / _cache.entry_name("iree-corpus-failed", "txt", key)


class CompileError(Exception):
    """iree-compile rejected a corpus file."""


def _compile_quietly(job: tuple[str, list[str]]) -> None:
    try:
        compile_vmfb(Path(job[0]), job[1])
    except CompileError:
        pass  # remembered in the cache; the run reports it per function


def compile_all(jobs: Iterable[tuple[Path, list[str]]], workers: int = 2) -> None:
    """Compile every (file, flags) into the cache (niced, at most ``workers`` at a time), so
    that the per-file processes that follow find them there."""
    todo = [(str(p), list(f)) for p, f in jobs]
    with ProcessPoolExecutor(max(workers, 1), initializer=os.nice, initargs=(10,)) as pool:
        list(pool.map(_compile_quietly, todo))


#: manifest dtype -> IREE's HalElementType name.
_IREE_ELEMENT_TYPES = {
    "bool": "BOOL_8",
    "int8": "SINT_8",
    "int16": "SINT_16",
    "int32": "SINT_32",
    "int64": "SINT_64",
    "uint8": "UINT_8",
    "uint16": "UINT_16",
    "uint32": "UINT_32",
    "uint64": "UINT_64",
    "float16": "FLOAT_16",
    "float32": "FLOAT_32",
    "float64": "FLOAT_64",
    "bfloat16": "BFLOAT_16",
    "float8_e4m3fn": "FLOAT_8_E4M3_FN",
    "float8_e4m3fnuz": "FLOAT_8_E4M3_FNUZ",
    "float8_e5m2": "FLOAT_8_E5M2",
    "float8_e5m2fnuz": "FLOAT_8_E5M2_FNUZ",
    "float8_e8m0fnu": "FLOAT_8_E8M0_FNU",
    "complex64": "COMPLEX_64",
    "complex128": "COMPLEX_128",
}


class IreeRunner:
    """One compiled module on one IREE runtime driver; buffers are allocated and mapped
    explicitly (IREE's numpy helpers import host memory, which lavapipe refuses unless it is
    4096-byte aligned)."""

    def __init__(self, vmfb: Path, driver: str) -> None:
        import iree.runtime as rt

        self.rt = rt
        self.config = rt.Config(driver)
        self.device = self.config.device
        self.context = rt.SystemContext(config=self.config)
        self.context.add_vm_module(rt.VmModule.mmap(self.config.vm_instance, str(vmfb)))
        self.module = self.context.modules.module

    def upload(self, arr: np.ndarray[Any, Any], dtype_name: str) -> Any:
        """A device buffer view holding ``arr``."""
        rt = self.rt
        buf = self.device.allocator.allocate_buffer(
            memory_type=rt.MemoryType.DEVICE_LOCAL | rt.MemoryType.HOST_VISIBLE,
            allowed_usage=rt.BufferUsage.DEFAULT | rt.BufferUsage.MAPPING,
            allocation_size=max(arr.nbytes, 1),
        )
        raw = np.ascontiguousarray(arr).view(np.uint8).reshape(-1)
        mapped = buf.map()
        mapped.asarray((raw.size,), np.dtype(np.uint8))[...] = raw
        del mapped
        etype = getattr(rt.HalElementType, _IREE_ELEMENT_TYPES[dtype_name])
        return rt.HalBufferView(buf, list(arr.shape), int(etype))

    def download(self, result: Any, dtype_name: str) -> Any:
        """A result as numpy (copied through a host staging buffer); a scalar as is."""
        rt = self.rt
        view = getattr(result, "_buffer_view", result)
        if not isinstance(view, rt.HalBufferView):
            return np.asarray(result)
        source = view.get_buffer()
        nbytes = source.byte_length()
        staging = self.device.allocator.allocate_buffer(
            memory_type=int(rt.MemoryType.HOST_LOCAL | rt.MemoryType.DEVICE_VISIBLE),
            allowed_usage=int(rt.BufferUsage.TRANSFER_TARGET | rt.BufferUsage.MAPPING_SCOPED),
            allocation_size=max(nbytes, 1),
        )
        sem = self.device.create_semaphore(0)
        self.device.queue_copy(
            source,
            staging,
            wait_semaphores=rt.HalFence.create_at(sem, 0),
            signal_semaphores=rt.HalFence.create_at(sem, 1),
        )
        rt.HalFence.create_at(sem, 1).wait()
        mapped = staging.map()
        raw = np.array(mapped.asarray((nbytes,), np.dtype(np.uint8)))
        shape = tuple(view.shape)
        dtype = dtype_named(dtype_name)
        return raw[: math.prod(shape) * dtype.itemsize].view(dtype).reshape(shape)

    def call(self, fn: Function, args: Sequence[Any]) -> list[Any]:
        """Call ``fn`` with already uploaded ``args``; the raw results."""
        out = self.module[fn.name](*args)
        return list(out) if isinstance(out, (list, tuple)) else ([] if out is None else [out])

    def inputs(self, fn: Function) -> list[Any]:
        """``fn``'s argument values on the device (a scalar as a Python int)."""
        out = []
        for arr, info in zip(fn.inputs(), fn.entry["args"], strict=True):
            out.append(arr if info["shape"] is None else self.upload(arr, info["dtype"]))
        return out

    def run(self, fn: Function) -> list[Any]:
        """``fn``'s results, as numpy, for its corpus inputs."""
        results = self.call(fn, self.inputs(fn))
        infos = fn.entry["results"]
        return [self.download(r, i["dtype"]) for r, i in zip(results, infos, strict=False)]


def iree_verdicts(file: str, drivers: Sequence[str], only: str | None = None) -> dict[str, Any]:
    """Run the functions of one corpus file (or only the function ``only``) with IREE's
    runtime on each driver: {function id: {driver: verdict}}."""
    corpus = Corpus()
    f = next(x for x in corpus.files() if x["file"] == file)
    fns = [fn for fn in corpus.functions(f) if only is None or fn.name == only]
    out: dict[str, dict[str, str]] = {fn.id: {} for fn in fns}
    for driver in drivers:
        try:
            vmfb = compile_vmfb(corpus.path(f), compile_flags(f, TARGETS[driver]))
        except CompileError as e:
            for fn in fns:
                out[fn.id][driver] = "compile error: " + (str(e).splitlines() or [""])[0][:200]
            continue
        runner = IreeRunner(vmfb, driver)
        for fn in fns:
            try:
                problems = fn.check(runner.run(fn))
                out[fn.id][driver] = "pass" if not problems else "fail: " + problems[0][:240]
            except Exception as e:
                out[fn.id][driver] = "error: " + _one_line(e)
    return out


def _run_json(cmd: list[str], timeout: float) -> dict[str, Any] | str:
    """The JSON a ``scripts/iree_corpus.py`` subcommand prints last, or why there is none."""
    try:
        proc = subprocess.run(
            ["nice", sys.executable, __file__, *cmd],
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        return f"timeout after {timeout:.0f}s"
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr.strip().splitlines() or ["?"])[-1][:200]
        return f"crash (exit {proc.returncode}): {tail}"
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def _verdicts_by_file(
    corpus: Corpus,
    files: Sequence[str],
    sub: str,
    drivers: Sequence[str],
    jobs: int,
    timeout: float,
) -> dict[str, dict[str, str]]:
    """Every function's verdicts, each file in its own process (``jobs`` at a time); the
    functions of a file whose process crashed are run one per process."""
    from concurrent.futures import ThreadPoolExecutor

    def one(file: str) -> dict[str, dict[str, str]]:
        result = _run_json([sub, file, ",".join(drivers)], timeout)
        if isinstance(result, dict):
            return result
        f = next(x for x in corpus.files() if x["file"] == file)
        out: dict[str, dict[str, str]] = {}
        for fn in corpus.functions(f):
            single = _run_json([sub, file, ",".join(drivers), "--only", fn.name], timeout)
            out.update(
                single if isinstance(single, dict) else {fn.id: dict.fromkeys(drivers, single)}
            )
        return out

    verdicts: dict[str, dict[str, str]] = {}
    with ThreadPoolExecutor(jobs) as pool:
        for result in pool.map(one, files):
            verdicts.update(result)
    return verdicts


def cmd_reference(args: argparse.Namespace) -> None:
    """Record in the manifest which functions IREE's own runtime gets right, per driver."""
    corpus = Corpus()
    drivers = args.drivers.split(",")
    files = [
        f
        for f in corpus.files()
        if args.all or any(d not in fn.get("iree", {}) for fn in f["functions"] for d in drivers)
    ]
    for driver in drivers:
        t0 = time.perf_counter()
        jobs = [(corpus.path(f), compile_flags(f, TARGETS[driver])) for f in files]
        compile_all(jobs, args.jobs)
        print(f"{driver}: compiled {len(jobs)} files in {time.perf_counter() - t0:.0f}s")
    names = [f["file"] for f in files]
    verdicts = _verdicts_by_file(corpus, names, "iree-file", drivers, args.jobs, 900)
    for f in files:
        for fn in f["functions"]:
            rec = fn.setdefault("iree", {})
            for driver in drivers:
                rec[driver] = verdicts[f"{f['file']}::{fn['name']}"][driver]
    write_manifest(corpus.manifest, corpus.dir)
    print(summary(corpus.manifest))


def polyhal_verdicts(
    file: str, drivers: Sequence[str], only: str | None = None
) -> dict[str, dict[str, str]]:
    """Run the functions of one corpus file (or only ``only``) through ``polyhal.iree`` on
    each driver: {function id: {driver: "pass" | "fail: ..." | "error: ..."}}."""
    import polyhal as hal
    from polyhal import iree

    corpus = Corpus()
    f = next(x for x in corpus.files() if x["file"] == file)
    fns = [fn for fn in corpus.functions(f) if only is None or fn.name == only]
    out: dict[str, dict[str, str]] = {fn.id: {} for fn in fns}
    for driver in drivers:
        target = "local" if driver.startswith("local") else driver
        try:
            vm_asm = iree.compile_module(str(corpus.path(f)), target, flags=f["flags"])
        except Exception as e:
            for fn in fns:
                out[fn.id][driver] = "compile error: " + _one_line(e)
            continue
        with hal.create_device(driver) as device:
            try:
                module = iree.load_module(vm_asm, device)
            except Exception as e:
                for fn in fns:
                    out[fn.id][driver] = "load error: " + _one_line(e)
                continue
            with module:
                for fn in fns:
                    try:
                        res = module[fn.name](*fn.inputs(), numpy=True)
                        n = len(fn.entry["results"])
                        results = [] if n == 0 else [res] if n == 1 else list(res)
                        problems = fn.check(results)
                        out[fn.id][driver] = "pass" if not problems else "fail: " + problems[0]
                    except Exception as e:
                        out[fn.id][driver] = "error: " + _one_line(e)
    return out


def _one_line(e: BaseException) -> str:
    lines = str(e).strip().splitlines() or [""]
    return f"{type(e).__name__}: {lines[0][:240]}"


def cmd_polyhal(args: argparse.Namespace) -> None:
    """Run the corpus through polyhal (each file in its own process, two at a time) and
    print the pass counts on the functions IREE passes, and the failures by kind."""
    corpus = Corpus()
    drivers = args.drivers.split(",")
    files = [f["file"] for f in corpus.files() if not args.files or f["file"] in args.files]
    verdicts = _verdicts_by_file(corpus, files, "polyhal-file", drivers, args.jobs, args.timeout)
    if args.json:
        Path(args.json).write_text(json.dumps(verdicts, indent=1))
    print(polyhal_summary(corpus, verdicts, drivers))


def polyhal_summary(
    corpus: Corpus, verdicts: dict[str, dict[str, str]], drivers: Sequence[str]
) -> str:
    """Pass counts per driver over the functions IREE passes, and failure kinds."""
    lines = []
    kinds: dict[tuple[str, str], list[str]] = {}
    for driver in drivers:
        ref = "local-task" if driver.startswith("local") else driver
        scored = [fn for fn in corpus.functions() if fn.iree_passes(ref) and fn.id in verdicts]
        passed = [fn for fn in scored if verdicts[fn.id].get(driver) == "pass"]
        lines.append(f"polyhal {driver}: {len(passed)} of {len(scored)} (IREE {ref} passes)")
        for fn in scored:
            v = verdicts[fn.id].get(driver, "not run")
            if v != "pass":
                kind = re.sub(r"\d+", "N", v)[:120]
                kinds.setdefault((driver, kind), []).append(fn.id)
    for (driver, kind), ids in sorted(kinds.items(), key=lambda kv: -len(kv[1])):
        lines.append(f"  {driver} x{len(ids)}: {kind}   e.g. {ids[0]}")
    return "\n".join(lines)


def summary(manifest: dict[str, Any]) -> str:
    """Counts: files, functions, IREE passes per driver."""
    files = [f for f in manifest["files"] if "functions" in f]
    fns = [fn for f in files for fn in f["functions"]]
    lines = [f"{len(files)} files, {len(fns)} functions"]
    drivers = sorted({d for fn in fns for d in fn.get("iree", {})})
    for d in drivers:
        n = sum(1 for fn in fns if fn.get("iree", {}).get(d) == "pass")
        lines.append(f"IREE {d}: {n} of {len(fns)} pass")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    conv = sub.add_parser("convert", help=cmd_convert.__doc__)
    conv.add_argument("--iree-git", required=True, help="IREE's git directory")
    conv.add_argument("--commit", default="HEAD")
    conv.add_argument("--out", default=str(CORPUS_DIR))
    ref = sub.add_parser("reference", help=cmd_reference.__doc__)
    ref.add_argument("--drivers", default="local-task,vulkan")
    ref.add_argument("--jobs", type=int, default=2)
    ref.add_argument(
        "--all", action="store_true", help="every file, not only those lacking verdicts"
    )
    sub.add_parser("summary", help="print the manifest's counts")
    ph = sub.add_parser("polyhal", help=cmd_polyhal.__doc__)
    ph.add_argument("--drivers", default="local,local-sync,vulkan")
    ph.add_argument("--jobs", type=int, default=2)
    ph.add_argument("--timeout", type=float, default=900)
    ph.add_argument("--json", help="write every verdict to this file")
    ph.add_argument("files", nargs="*", help="corpus files (default: all)")
    for name in ("polyhal-file", "iree-file"):
        one = sub.add_parser(name, help="(internal) one file's verdicts as JSON")
        one.add_argument("file")
        one.add_argument("drivers")
        one.add_argument("--only", help="one function")
    args = parser.parse_args(argv)
    handlers: dict[str, Callable[[argparse.Namespace], None]] = {
        "convert": cmd_convert,
        "reference": cmd_reference,
        "summary": lambda a: print(summary(Corpus().manifest)),
        "polyhal": cmd_polyhal,
        "polyhal-file": lambda a: print(
            json.dumps(polyhal_verdicts(a.file, a.drivers.split(","), a.only))
        ),
        "iree-file": lambda a: print(
            json.dumps(iree_verdicts(a.file, a.drivers.split(","), a.only))
        ),
    }
    handlers[args.cmd](args)


if __name__ == "__main__":
    main()
