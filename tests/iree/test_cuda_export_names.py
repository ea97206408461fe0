"""cuda executables of whole programs: an export whose name a PTX kernel cannot carry.

IREE names the PTX kernel of a dispatch such as ``i32i32.i32_dispatch_0_matmul`` with ``_``
for the ``.`` and keeps the export's own name in the executable's debug info; the host
program looks the function up by that name.  Reading the executable needs no GPU.
"""

from __future__ import annotations

import re

import pytest

from polyhal import iree
from polyhal.iree import hal_executables
from polyhal.iree.module import compile_module

PROGRAM = """
func.func @"i32.add"(%a: tensor<4xi32>, %b: tensor<4xi32>) -> tensor<4xi32> {
  %r = arith.addi %a, %b : tensor<4xi32>
  return %r : tensor<4xi32>
}
"""


@pytest.fixture(scope="module")
def vm_asm() -> str:
    if not iree.compiler_available():
        pytest.skip("iree-base-compiler is not installed")
    return compile_module(PROGRAM, "cuda").decode()


def test_lookup_name_with_a_dot_is_the_exports(vm_asm: str) -> None:
    names = re.findall(r'"(i32\.add_dispatch[^"]*)"', vm_asm)
    assert names, "the host program looks the dispatch up by its dotted name"
    (blob,) = re.findall(r'mime_type = "application/x-flatbuffers"> dense<"0x([0-9A-F]+)"', vm_asm)
    source, functions = hal_executables.cuda_source(bytes.fromhex(blob))
    kernels = [ep.name for ep in source.entry_points]
    assert names[0] not in kernels  # the kernel's name has no dot
    assert [f.name for f in functions] == [names[0]]
