"""Shared fixtures for the IREE tests: compiling small MLIR programs with iree-compile.

Every test here skips, with the reason, when iree-base-compiler is not installed
(``pip install polyhal[iree]``).
"""

from __future__ import annotations

import pytest

from polyhal import iree

# Static shapes: an elementwise add, a matmul, and a matmul with a bias add fused into it.
MODEL = """
func.func @add(%a: tensor<1024xf32>, %b: tensor<1024xf32>) -> tensor<1024xf32> {
  %r = arith.addf %a, %b : tensor<1024xf32>
  return %r : tensor<1024xf32>
}
func.func @matmul(%a: tensor<64x32xf32>, %b: tensor<32x48xf32>) -> tensor<64x48xf32> {
  %init = tensor.empty() : tensor<64x48xf32>
  %zero = arith.constant 0.0 : f32
  %fill = linalg.fill ins(%zero : f32) outs(%init : tensor<64x48xf32>) -> tensor<64x48xf32>
  %mm = linalg.matmul ins(%a, %b : tensor<64x32xf32>, tensor<32x48xf32>)
                      outs(%fill : tensor<64x48xf32>) -> tensor<64x48xf32>
  return %mm : tensor<64x48xf32>
}
func.func @matmul_bias(%a: tensor<64x32xf32>, %b: tensor<32x48xf32>, %c: tensor<64x48xf32>)
    -> tensor<64x48xf32> {
  %init = tensor.empty() : tensor<64x48xf32>
  %zero = arith.constant 0.0 : f32
  %fill = linalg.fill ins(%zero : f32) outs(%init : tensor<64x48xf32>) -> tensor<64x48xf32>
  %mm = linalg.matmul ins(%a, %b : tensor<64x32xf32>, tensor<32x48xf32>)
                      outs(%fill : tensor<64x48xf32>) -> tensor<64x48xf32>
  %r = arith.addf %mm, %c : tensor<64x48xf32>
  return %r : tensor<64x48xf32>
}
"""

# A dynamic shape: its dimensions reach the kernel as push constants (i64 as lo, hi words).
DYNAMIC = """
func.func @dyn(%a: tensor<?xf32>, %b: tensor<?xf32>) -> tensor<?xf32> {
  %r = arith.addf %a, %b : tensor<?xf32>
  %s = arith.mulf %r, %r : tensor<?xf32>
  return %s : tensor<?xf32>
}
"""


def _require_compiler() -> None:
    if not iree.compiler_available():
        pytest.skip("iree-base-compiler is not installed (pip install polyhal[iree])")


@pytest.fixture(scope="session")
def iree_compiler():
    """Skips the test when iree-compile is missing; else the MLIR sources used here."""
    _require_compiler()
    return {"model": MODEL, "dynamic": DYNAMIC}


@pytest.fixture(scope="session")
def local_dump(tmp_path_factory):
    _require_compiler()
    return iree.compile_mlir(MODEL, tmp_path_factory.mktemp("iree-local"), driver="local")


@pytest.fixture(scope="session")
def dynamic_dump(tmp_path_factory):
    _require_compiler()
    return iree.compile_mlir(DYNAMIC, tmp_path_factory.mktemp("iree-dyn"), driver="local")
