"""``.vmfb`` modules (IREE VM bytecode, iree-compile's default output) through
``polyhal.iree.load_module``: read with IREE's iree-dump-module and translated
(polyhal.iree.vm_bytecode).

The e2e corpus's quick subset (every model program and files chosen for their host
programs: control flow, transfers, dynamic shapes, scalar push constants) is compiled to
``.vmfb`` and scored as test_e2e_corpus scores the VM assembly: every function IREE's own
runtime passes must pass.
"""

from __future__ import annotations

import numpy as np
import pytest
from e2e_corpus import CORPUS

import polyhal as hal
from polyhal import iree
from polyhal.errors import InvalidArgumentError

pytest.importorskip("iree._runtime_libs", reason="iree-base-runtime is not installed")


FILES = sorted(
    [
        "stablehlo_models/collatz.mlir",
        "stablehlo_models/edge_detection.mlir",
        "stablehlo_models/fragment_000.mlir",
        "stablehlo_models/fullyconnected.mlir",
        "stablehlo_models/mnist_fake_weights.mlir",
        "stablehlo_models/unidirectional_lstm.mlir",
        "tosa_ops/while.mlir",
        "tosa_ops/if.mlir",
        "stablehlo_ops/while.mlir",
        "stablehlo_ops/dynamic_slice.mlir",
        "stablehlo_ops/sort.mlir",
        "tensor_ops/extract_slice.mlir",
        "linalg/pack_dynamic_inner_tiles.mlir",
        "linalg/conv2d.mlir",
        "linalg_ext_ops/top-k.mlir",
    ]
)
#: The IREE driver whose verdicts score each polyhal driver (see test_e2e_corpus).
REFERENCE = {"local": "local-task", "local-sync": "local-task", "vulkan": "vulkan"}

DYNAMIC = """
func.func @main(%a: tensor<?xf32>, %b: tensor<?xf32>) -> tensor<?xf32> {
  %r = arith.addf %a, %b : tensor<?xf32>
  return %r : tensor<?xf32>
}
util.global private mutable @counter = 5 : i32
func.func @bump(%x: i32) -> i32 {
  %c = util.global.load @counter : i32
  %n = arith.addi %c, %x : i32
  util.global.store %n, @counter : i32
  return %n : i32
}
"""


@pytest.fixture(scope="module", params=list(REFERENCE))
def device(request):
    if request.param.split("-")[0] not in hal.available_drivers():
        pytest.skip(f"{request.param} is not available here")
    with hal.create_device(request.param) as d:
        yield d


@pytest.mark.parametrize("file", FILES)
def test_corpus_file_from_vmfb(device, file, iree_compiler):
    f = next(x for x in CORPUS.files() if x["file"] == file)
    scored = [fn for fn in CORPUS.functions(f) if fn.iree_passes(REFERENCE[device.driver])]
    if not scored:
        pytest.skip(f"IREE's {REFERENCE[device.driver]} runtime passes no function of {file}")
    vmfb = iree.compile_module(CORPUS.path(f), device, flags=f["flags"], output_format="vmfb")
    assert vmfb[:4] == b"PK\x03\x04" or vmfb[4:8] == b"IREE"  # a zip-wrapped flatbuffer
    with iree.load_module(vmfb, device) as module:
        for fn in scored:
            out = module[fn.name](*fn.inputs(), numpy=True)
            n = len(fn.entry["results"])
            results = [] if n == 0 else [out] if n == 1 else list(out)
            problems = fn.check(results)
            assert not problems, f"{fn.id} on {device.driver} from a .vmfb: {problems}"


def test_vmfb_path_bytes_globals_and_embedded_elf(tmp_path, iree_compiler):
    """A .vmfb by path and by bytes; a module global kept between calls; the default
    embedded ELF of llvm-cpu (loaded like a system library)."""
    device = hal.create_device("local")
    embedded = ["--iree-llvmcpu-link-embedded=true"]
    for flags in ([], embedded):
        data = iree.compile_module(DYNAMIC, device, flags=flags, output_format="vmfb")
        path = tmp_path / "m.vmfb"
        path.write_bytes(data)
        for source in (data, path, str(path)):
            with iree.load_module(source, device) as module:
                a = np.arange(7, dtype=np.float32)
                np.testing.assert_array_equal(module.main(a, a, numpy=True), 2 * a)
                assert module.bump(3) == 8 and module.bump(4) == 12
    device.close()


def test_vmfb_errors(iree_compiler):
    device = hal.create_device("local")
    with pytest.raises(InvalidArgumentError):
        iree.load_module(b"\x00\x00\x00\x00IREE" + b"\x00" * 64, device)
    with pytest.raises(InvalidArgumentError):
        iree.compile_module(DYNAMIC, device, output_format="flatbuffer")
    device.close()


DISASSEMBLY = """vm.module @m version 0
vm.import @check.expect_true cconv "0i_v"
vm.rodata[0] = 6869

vm.export @f
vm.func @f(%i0: i32) -> (i32) {
^bb0:
  %i1 = vm.const.i32 7  // 0x00000007
  %i2 = vm.add.i32 %i0, %i1
  vm.cond_br %i2, ^bb1(%i2->%i3), ^bb2()
^bb1:
  vm.return %i3
^bb2:
  vm.fail %i1, "zero"
}
"""
METADATA = """Exported Functions:
  [  0] f(i32) -> (i32)
        iree.abi.declaration: sync func @f(%input0: i32) -> (%output0: i32)
"""


def test_disassembly_translation():
    """The translator on its own: a block argument moved in by a branch, a failure with a
    status, and what it does not support raising UnimplementedError naming the operation
    (never a wrong answer); text it cannot read raises InvalidArgumentError."""
    from polyhal.iree.vm_bytecode import translate_disassembly

    program = translate_disassembly(METADATA, DISASSEMBLY)
    instance = program.instantiate({})
    f = instance.export("f")
    assert f(1) == 8
    with pytest.raises(hal.HalError, match="zero"):
        f(-7)
    assert bytes(program.rodata[0]) == b"hi"
    assert program.exports["f"].declaration.startswith("sync func @f")
    unknown = DISASSEMBLY.replace("vm.add.i32 %i0, %i1", "vm.frobnicate.i32 %i0, %i1")
    with pytest.raises(hal.UnimplementedError, match="vm.frobnicate.i32"):
        translate_disassembly(METADATA, unknown)
    with pytest.raises(hal.UnimplementedError, match="vm.check.eq"):
        translate_disassembly(
            METADATA, DISASSEMBLY.replace("vm.add.i32 %i0, %i1", "vm.check.eq %i0, %i1")
        )
    with pytest.raises(InvalidArgumentError):
        translate_disassembly(
            METADATA, DISASSEMBLY.replace("vm.rodata[0] = 6869", "vm.rodata[0] = zz")
        )


def test_malformed_register_code_raises_typed():
    """A register read before any write (what only a damaged module does) raises
    InvalidArgumentError from the call, not a Python NameError."""
    from polyhal.iree.module import Module
    from polyhal.iree.vm_bytecode import translate_disassembly

    bad = DISASSEMBLY.replace("vm.add.i32 %i0, %i1", "vm.add.i32 %i0, %i9")
    with (
        hal.create_device("local") as device,
        Module(translate_disassembly(METADATA, bad), device) as m,
    ):
        with pytest.raises(InvalidArgumentError, match="host program"):
            m.f(1)
        assert Module(translate_disassembly(METADATA, DISASSEMBLY), device).f(2) == 9


SWITCH = """
func.func @sw(%i: i32, %x: i32) -> i32 {
  cf.switch %i : i32, [
    default: ^bd(%x : i32),
    0: ^b0(%x : i32),
    1: ^b1(%x : i32)
  ]
^b0(%a: i32):
  %r0 = arith.addi %a, %a : i32
  return %r0 : i32
^b1(%b: i32):
  %r1 = arith.muli %b, %b : i32
  return %r1 : i32
^bd(%c: i32):
  return %c : i32
}
func.func @chk(%i: i32) -> i32 {
  %c = arith.constant 10 : i32
  %ok = arith.cmpi slt, %i, %c : i32
  cf.assert %ok, "too big"
  return %i : i32
}
"""


def test_vmfb_branch_table_and_assert(iree_compiler):
    """``cf.switch`` becomes ``vm.br_table`` (cases, and the default for any other index,
    negative ones included); ``cf.assert`` a branch to ``vm.fail``, raised as the HalError
    of its status."""
    with hal.create_device("local-sync") as device:
        data = iree.compile_module(SWITCH, device, output_format="vmfb")
        with iree.load_module(data, device) as m:
            assert [m.sw(k, 7) for k in (0, 1, 2, 5, -1)] == [14, 49, 7, 7, 7]
            assert m.chk(3) == 3
            with pytest.raises(hal.HalError, match="too big"):
                m.chk(12)
