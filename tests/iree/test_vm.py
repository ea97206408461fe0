"""polyhal.iree.vm: IREE's VM dialect translated into Python.

Scalar programs (no device work: iree-compile lowers them to pure VM arithmetic) run both
through polyhal's translation and through IREE's own runtime, on edge values and random
ones, and must agree bit for bit.  Hand-written VM modules cover what compiled scalar code
does not reach: globals, rodata, vm.buffer and vm.list operations, br_table, vm.fail's
status codes, optional imports, unsupported operations.
"""

from __future__ import annotations

import math
import struct
import subprocess

import numpy as np
import pytest

from polyhal.errors import (
    DeadlineExceededError,
    FailedPreconditionError,
    InvalidArgumentError,
    OutOfRangeError,
    PermissionDeniedError,
    UnavailableError,
    UnimplementedError,
    UnknownError,
)
from polyhal.iree import vm

SCALARS = """
func.func @i32ops(%a: i32, %b: i32)
    -> (i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32) {
  %0 = arith.addi %a, %b : i32
  %1 = arith.subi %a, %b : i32
  %2 = arith.muli %a, %b : i32
  %3 = arith.andi %a, %b : i32
  %4 = arith.ori %a, %b : i32
  %5 = arith.xori %a, %b : i32
  %6 = arith.shli %a, %b : i32
  %7 = arith.shrsi %a, %b : i32
  %8 = arith.shrui %a, %b : i32
  %9 = arith.maxsi %a, %b : i32
  %10 = arith.minui %a, %b : i32
  %11 = arith.maxui %a, %b : i32
  return %0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11
      : i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32
}
func.func @i32div(%a: i32, %b: i32) -> (i32, i32, i32, i32) {
  %0 = arith.divsi %a, %b : i32
  %1 = arith.remsi %a, %b : i32
  %2 = arith.divui %a, %b : i32
  %3 = arith.remui %a, %b : i32
  return %0, %1, %2, %3 : i32, i32, i32, i32
}
func.func @i64ops(%a: i64, %b: i64) -> (i64, i64, i64, i64, i64, i64, i64, i64) {
  %0 = arith.addi %a, %b : i64
  %1 = arith.subi %a, %b : i64
  %2 = arith.muli %a, %b : i64
  %3 = arith.xori %a, %b : i64
  %4 = arith.shli %a, %b : i64
  %5 = arith.shrui %a, %b : i64
  %6 = arith.minsi %a, %b : i64
  %7 = arith.maxui %a, %b : i64
  return %0, %1, %2, %3, %4, %5, %6, %7 : i64, i64, i64, i64, i64, i64, i64, i64
}
func.func @i64div(%a: i64, %b: i64) -> (i64, i64, i64, i64) {
  %0 = arith.divsi %a, %b : i64
  %1 = arith.remsi %a, %b : i64
  %2 = arith.divui %a, %b : i64
  %3 = arith.remui %a, %b : i64
  return %0, %1, %2, %3 : i64, i64, i64, i64
}
func.func @cmps(%a: i32, %b: i32) -> (i1, i1, i1, i1, i1, i1, i32) {
  %0 = arith.cmpi slt, %a, %b : i32
  %1 = arith.cmpi ult, %a, %b : i32
  %2 = arith.cmpi sge, %a, %b : i32
  %3 = arith.cmpi ugt, %a, %b : i32
  %4 = arith.cmpi eq, %a, %b : i32
  %5 = arith.cmpi ne, %a, %b : i32
  %6 = arith.select %0, %a, %b : i32
  return %0, %1, %2, %3, %4, %5, %6 : i1, i1, i1, i1, i1, i1, i32
}
func.func @casts(%a: i32, %x: f32) -> (i64, i64, i32, i32, f32, f32, i32, i32) {
  %0 = arith.extsi %a : i32 to i64
  %1 = arith.extui %a : i32 to i64
  %t8 = arith.trunci %a : i32 to i8
  %2 = arith.extsi %t8 : i8 to i32
  %t16 = arith.trunci %a : i32 to i16
  %3 = arith.extui %t16 : i16 to i32
  %4 = arith.sitofp %a : i32 to f32
  %5 = arith.uitofp %a : i32 to f32
  %6 = arith.fptosi %x : f32 to i32
  %7 = arith.bitcast %x : f32 to i32
  return %0, %1, %2, %3, %4, %5, %6, %7 : i64, i64, i32, i32, f32, f32, i32, i32
}
func.func @floats(%x: f32, %y: f32) -> (f32, f32, f32, f32, f32, f32, f32, i1, i1, i1) {
  %0 = arith.addf %x, %y : f32
  %1 = arith.subf %x, %y : f32
  %2 = arith.mulf %x, %y : f32
  %3 = arith.divf %x, %y : f32
  %4 = arith.negf %x : f32
  %5 = math.absf %x : f32
  %6 = arith.maximumf %x, %y : f32
  %7 = arith.cmpf olt, %x, %y : f32
  %8 = arith.cmpf une, %x, %y : f32
  %9 = arith.cmpf uge, %x, %y : f32
  return %0, %1, %2, %3, %4, %5, %6, %7, %8, %9
      : f32, f32, f32, f32, f32, f32, f32, i1, i1, i1
}
func.func @i64f(%i: i64, %x: f32) -> (f32, i64) {
  %0 = arith.sitofp %i : i64 to f32
  %1 = arith.fptosi %x : f32 to i64
  return %0, %1 : f32, i64
}
func.func @collatz(%n: i32) -> i32 {
  %c0 = arith.constant 0 : i32
  %c1 = arith.constant 1 : i32
  %c2 = arith.constant 2 : i32
  %c3 = arith.constant 3 : i32
  %r:2 = scf.while (%x = %n, %steps = %c0) : (i32, i32) -> (i32, i32) {
    %more = arith.cmpi sgt, %x, %c1 : i32
    scf.condition(%more) %x, %steps : i32, i32
  } do {
  ^bb0(%x2: i32, %s2: i32):
    %odd = arith.remsi %x2, %c2 : i32
    %is_odd = arith.cmpi ne, %odd, %c0 : i32
    %next = scf.if %is_odd -> i32 {
      %t = arith.muli %x2, %c3 : i32
      %u = arith.addi %t, %c1 : i32
      scf.yield %u : i32
    } else {
      %h = arith.divsi %x2, %c2 : i32
      scf.yield %h : i32
    }
    %s3 = arith.addi %s2, %c1 : i32
    scf.yield %next, %s3 : i32, i32
  }
  return %r#1 : i32
}
"""

I32_EDGES = [0, 1, -1, 2, 7, 31, 32, 33, 2**31 - 1, -(2**31), 0x7FFF, 0xFFFF, -300, 123456789]
I64_EDGES = [0, 1, -1, 63, 64, 2**63 - 1, -(2**63), 2**32, -(2**40) + 5, 987654321012]
# f32 values as the VM holds them: Python floats already rounded to single precision.
F32_EDGES = [
    struct.unpack("<f", struct.pack("<f", x))[0]
    for x in (0.0, -0.0, 1.0, -1.5, 2.5, 3.5, -2.5, 1e-30, 3.4e38, math.inf, -math.inf, math.nan)
]


def _f32(x: float) -> float:
    return struct.unpack("<f", struct.pack("<f", x))[0]


def _same(a, b) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        a, b = float(a), float(b)
        return (a != a and b != b) or struct.pack("<d", a) == struct.pack("<d", b)
    return int(a) == int(b)


@pytest.fixture(scope="module")
def scalar_modules(iree_compiler, tmp_path_factory):
    """(polyhal's instance, IREE runtime's module) of SCALARS."""
    rt = pytest.importorskip("iree.runtime", reason="iree-base-runtime is not installed")
    from polyhal.iree import compile_flags, compile_module, find_iree_compile

    ours = vm.parse_vm(compile_module(SCALARS, "local")).instantiate({})
    folder = tmp_path_factory.mktemp("iree-vm")
    (folder / "s.mlir").write_text(SCALARS)
    subprocess.run(
        [find_iree_compile(), *compile_flags("local"), str(folder / "s.mlir"), "-o",
         str(folder / "s.vmfb")],
        check=True,
        capture_output=True,
    )  # fmt: skip
    config = rt.Config("local-sync")
    context = rt.SystemContext(config=config)
    vmfb = (folder / "s.vmfb").read_bytes()
    context.add_vm_module(rt.VmModule.copy_buffer(context.instance, vmfb))
    return ours, context.modules.module


def _agree(scalar_modules, name, args):
    ours, theirs = scalar_modules
    mine = ours.export(name)(*args)
    ref = theirs[name](*args)
    mine = mine if isinstance(mine, tuple) else (mine,)
    ref = tuple(ref) if isinstance(ref, (tuple, list)) else (ref,)
    assert len(mine) == len(ref)
    for i, (a, b) in enumerate(zip(mine, ref, strict=True)):
        assert _same(a, b), f"{name}{args} result {i}: polyhal {a!r}, IREE {b!r}"


def _pairs(values, rng, make, count=40):
    pairs = [(a, b) for a in values for b in values]
    pairs += [(make(rng), make(rng)) for _ in range(count)]
    return pairs


def test_i32_arithmetic_matches_iree(scalar_modules):
    rng = np.random.default_rng(1)
    for a, b in _pairs(I32_EDGES, rng, lambda r: int(r.integers(-(2**31), 2**31))):
        _agree(scalar_modules, "i32ops", (a, b))
        _agree(scalar_modules, "cmps", (a, b))
        if b != 0 and not (a == -(2**31) and b == -1):  # undefined in C: no reference
            _agree(scalar_modules, "i32div", (a, b))


def test_i64_arithmetic_matches_iree(scalar_modules):
    rng = np.random.default_rng(2)
    for a, b in _pairs(I64_EDGES, rng, lambda r: int(r.integers(-(2**63), 2**63))):
        _agree(scalar_modules, "i64ops", (a, b))
        if b != 0 and not (a == -(2**63) and b == -1):
            _agree(scalar_modules, "i64div", (a, b))


def test_casts_and_floats_match_iree(scalar_modules):
    rng = np.random.default_rng(3)
    finite = [x for x in F32_EDGES if math.isfinite(x) and abs(x) < 2e9]
    for a in I32_EDGES:
        for x in finite:
            _agree(scalar_modules, "casts", (a, x))
    for x, y in _pairs(F32_EDGES, rng, lambda r: _f32(float(r.normal() * 100))):
        _agree(scalar_modules, "floats", (x, y))
    for i in I64_EDGES:
        _agree(scalar_modules, "i64f", (i, 2.5))


def test_loops_match_iree(scalar_modules):
    for n in (1, 2, 7, 27, 97, 871):
        _agree(scalar_modules, "collatz", (n,))
    ours, _ = scalar_modules
    assert ours.export("collatz")(27) == 111


HAND = """
vm.module @hand {
  vm.global.i32 private mutable @counter = 5 : i32
  vm.rodata private @words dense<[1, 2, 3, -4]> : tensor<4xi32>
  vm.rodata private @name "polyhal"
  vm.rodata private @pool #util.composite<16xi8, [
      dense<[7, 8]> : tensor<2xi16>, dense<0> : vector<4xi8>, dense<2.5> : tensor<2xf32>]>
  vm.rodata private @pattern <alignment = 64> #util.byte_pattern<3> : tensor<100xi32>
  vm.rodata private @nibbles dense<[1, -1, 3]> : tensor<3xi4>
  vm.rodata private @halves dense<[1.5, -2.0, 0x7FC0]> : tensor<3xbf16>
  vm.rodata private @complex dense<[(1.0, 2.0), (3.0, -4.0)]> : tensor<2xcomplex<f32>>
  vm.import private optional @missing.thing(%a : i32) -> i32
  vm.func @bump(%d: i32) -> i32 {
    %v = vm.global.load.i32 @counter : i32
    %n = vm.add.i32 %v, %d : i32
    vm.global.store.i32 %n, @counter : i32
    vm.return %n : i32
  }
  vm.export @bump
  vm.func @buffers(%i: i64) -> (i32, i64, i32, f32, i32) {
    %r = vm.const.ref.rodata @words : !vm.buffer
    %zero = vm.const.i64.zero
    %len = vm.buffer.length %r : !vm.buffer -> i64
    %al = vm.const.i32 16
    %b = vm.buffer.clone %r, %zero, %len, %al : !vm.buffer -> !vm.buffer
    %x = vm.buffer.load.i32 %b[%i] : !vm.buffer -> i32
    %c99 = vm.const.i32 99
    vm.buffer.store.i32 %c99, %b[%i] : i32 -> !vm.buffer
    %y = vm.buffer.load.i32 %b[%i] : !vm.buffer -> i32
    %p = vm.const.ref.rodata @pool : !vm.buffer
    %c2 = vm.const.i64 2
    %f = vm.buffer.load.f32 %p[%c2] : !vm.buffer -> f32
    %c1 = vm.const.i64 1
    %h = vm.buffer.load.i16.s %p[%c1] : !vm.buffer -> i32
    vm.return %x, %len, %y, %f, %h : i32, i64, i32, f32, i32
  }
  vm.export @buffers
  vm.func @fill(%n: i64, %v: i32) -> !vm.buffer {
    %c16 = vm.const.i64 16
    %al = vm.const.i32 8
    %b = vm.buffer.alloc %c16, %al : !vm.buffer
    %one = vm.const.i64 1
    vm.buffer.fill.i16 %b, %one, %n, %v : i32 -> !vm.buffer
    vm.return %b : !vm.buffer
  }
  vm.export @fill
  vm.func @write_rodata() {
    %r = vm.const.ref.rodata @words : !vm.buffer
    %zero = vm.const.i64.zero
    %c1 = vm.const.i32 1
    vm.buffer.store.i32 %c1, %r[%zero] : i32 -> !vm.buffer
    vm.return
  }
  vm.export @write_rodata
  vm.func @lists(%n: i32, %i: i32) -> (i32, i32) {
    %l = vm.list.alloc %n : (i32) -> !vm.list<i32>
    vm.list.resize %l, %n : (!vm.list<i32>, i32)
    %c7 = vm.const.i32 7
    vm.list.set.i32 %l, %i, %c7 : (!vm.list<i32>, i32, i32)
    %v = vm.list.get.i32 %l, %i : (!vm.list<i32>, i32) -> i32
    %s = vm.list.size %l : (!vm.list<i32>) -> i32
    vm.return %v, %s : i32, i32
  }
  vm.export @lists
  vm.func @table(%i: i32) -> i32 {
    vm.br_table %i {
      default: ^bb1(%i : i32),
      0: ^bb2,
      1: ^bb3
    }
  ^bb1(%x: i32):
    vm.return %x : i32
  ^bb2:
    %a = vm.const.i32 100
    vm.return %a : i32
  ^bb3:
    %b = vm.const.i32 200
    vm.return %b : i32
  }
  vm.export @table
  vm.func @fail_with(%code: i32) {
    vm.fail %code, "failed on purpose"
  }
  vm.export @fail_with
  vm.func @check(%a: i32, %b: i32) {
    vm.check.eq %a, %b, "a == b" : i32
    vm.return
  }
  vm.export @check
  vm.func @resolved() -> i32 {
    %r = vm.import.resolved @missing.thing : i32
    vm.return %r : i32
  }
  vm.export @resolved
  vm.func @call_missing() -> i32 {
    %c = vm.const.i32 1
    %r = vm.call @missing.thing(%c) : (i32) -> i32
    vm.return %r : i32
  }
  vm.export @call_missing
}
"""


@pytest.fixture(scope="module")
def hand(iree_compiler):
    return vm.parse_vm(HAND)


def test_globals_persist_per_instance(hand):
    first = hand.instantiate({})
    assert first.export("bump")(2) == 7
    assert first.export("bump")(3) == 10
    assert hand.instantiate({}).export("bump")(1) == 6  # a new instance starts afresh


def test_inline_rodata_beside_named_rodata(iree_compiler):
    """``vm.rodata.inline`` in a function of a module that also has named rodata: both
    bound in the generated factory (an inline one was once referenced but never bound)."""
    program = vm.parse_vm(
        """vm.module @m {
  vm.rodata private @named dense<[1, 2]> : tensor<2xi8>
  vm.func @f() -> (i32, i32) {
    %b = vm.rodata.inline : !vm.buffer = dense<[7, 8, 9]> : tensor<3xi8>
    %n = vm.buffer.length %b : !vm.buffer -> i64
    %r = vm.trunc.i64.i32 %n : i64 -> i32
    %c = vm.const.ref.rodata @named : !vm.buffer
    %m = vm.buffer.length %c : !vm.buffer -> i64
    %s = vm.trunc.i64.i32 %m : i64 -> i32
    vm.return %r, %s : i32, i32
  }
  vm.export @f
}"""
    )
    assert program.instantiate({}).export("f")() == (3, 2)


def test_rodata_and_buffer_ops(hand):
    inst = hand.instantiate({})
    assert inst.export("buffers")(3) == (-4, 16, 99, 2.5, 8)
    with pytest.raises(OutOfRangeError):
        inst.export("buffers")(4)
    with pytest.raises(PermissionDeniedError):
        inst.export("write_rodata")()
    buf = inst.export("fill")(3, 0x1234)
    assert bytes(buf) == bytes(2) + bytes.fromhex("341234123412") + bytes(8)
    with pytest.raises(OutOfRangeError):
        inst.export("fill")(8, 1)
    by_name = {b.name: b for b in hand.rodata}
    assert by_name["name"].text() == "polyhal"
    assert not by_name["words"].writable
    # IREE's stream serializer writes a byte pattern once per 256-byte chunk.
    pattern = bytes(by_name["pattern"])
    assert len(pattern) == 400 and pattern[0] == pattern[256] == 3
    assert by_name["pattern"].alignment == 64
    # Serialized as IREE's compiler does: sub-byte integers packed low bits first, bf16 as
    # its 16-bit pattern, complex numbers as (real, imaginary) pairs.
    assert bytes(by_name["nibbles"]) == bytes([0xF1, 0x03])
    assert bytes(by_name["halves"]) == bytes.fromhex("c03f00c0c07f")
    assert np.frombuffer(bytes(by_name["complex"]), "<f4").tolist() == [1.0, 2.0, 3.0, -4.0]


def test_list_ops(hand):
    inst = hand.instantiate({})
    assert inst.export("lists")(3, 1) == (7, 3)
    with pytest.raises(OutOfRangeError):
        inst.export("lists")(3, 3)
    with pytest.raises(InvalidArgumentError):
        inst.export("lists")(-1, 0)


def test_br_table(hand):
    table = hand.instantiate({}).export("table")
    assert [table(i) for i in (0, 1, 2, -1)] == [100, 200, 2, -1]


@pytest.mark.parametrize(
    "code, error",
    [
        (3, InvalidArgumentError),
        (4, DeadlineExceededError),
        (9, FailedPreconditionError),
        (14, UnavailableError),
        (18, UnavailableError),  # IREE's INCOMPATIBLE: no usable device
        (0, UnknownError),
    ],
)
def test_fail_raises_the_status_error(hand, code, error):
    with pytest.raises(error, match="failed on purpose"):
        hand.instantiate({}).export("fail_with")(code)


def test_check_op(hand):
    check = hand.instantiate({}).export("check")
    check(4, 4)
    with pytest.raises(FailedPreconditionError, match="a == b"):
        check(4, 5)


def test_missing_optional_import(hand):
    inst = hand.instantiate({})
    assert inst.export("resolved")() == 0
    with pytest.raises(UnimplementedError, match="missing.thing"):
        inst.export("call_missing")()
    provided = hand.instantiate({"missing.thing": lambda a: a + 41})
    assert provided.export("resolved")() == 1
    assert provided.export("call_missing")() == 42


def test_unsupported_operation_raises_at_read(iree_compiler):
    text = """
    vm.module @m {
      vm.func @f(%b: !vm.buffer) -> i64 {
        %z = vm.const.i64.zero
        %n = vm.const.i64 4
        %h = vm.buffer.hash %b, %z, %n : !vm.buffer -> i64
        vm.return %h : i64
      }
      vm.export @f
    }
    """
    with pytest.raises(UnimplementedError, match="vm.buffer.hash"):
        vm.parse_vm(text)


def test_not_vm_assembly(iree_compiler):
    with pytest.raises(InvalidArgumentError):
        vm.parse_vm("func.func @f() { return }")
    with pytest.raises(InvalidArgumentError):
        vm.parse_vm("this is not mlir")


def test_status_table():
    assert isinstance(vm.status_error(5, "x"), LookupError)
    assert isinstance(vm.status_error(16, "x"), PermissionDeniedError)
    assert isinstance(vm.status_error(0x20 | 3, "x"), InvalidArgumentError)  # payload bits


def test_long_block_chains_and_deep_nesting(iree_compiler):
    # 400 blocks in a row and 120 nested conditionals: more than Python's frames and
    # indentation levels allow inlining; the translation falls back to loop states.
    n = 400
    lines = ["vm.module @m {", "vm.func @chain(%a: i32) -> i32 {", "%c1 = vm.const.i32 1"]
    lines.append("vm.br ^bb1(%a : i32)")
    for i in range(1, n):
        lines += [f"^bb{i}(%x{i}: i32):", f"%y{i} = vm.add.i32 %x{i}, %c1 : i32"]
        lines.append(f"vm.br ^bb{i + 1}(%y{i} : i32)")
    lines += [f"^bb{n}(%x{n}: i32):", f"vm.return %x{n} : i32", "}", "vm.export @chain"]
    depth = 120
    lines += ["vm.func @nest(%a: i32) -> i32 {", "%c1 = vm.const.i32 1", "vm.br ^bb1"]
    for i in range(1, depth):
        # Neither successor is a short exit, so each level nests one `if` deeper.
        lines += [
            f"^bb{i}:",
            f"%k{i} = vm.const.i32 {i}",
            f"%e{i} = vm.cmp.lt.i32.s %k{i}, %a : i32",
        ]
        lines.append(f"vm.cond_br %e{i}, ^bb{i + 1}, ^x{i}")
        lines += [f"^x{i}:", f"vm.cond_br %e{i}, ^y{i}, ^z{i}"]
        lines += [f"^y{i}:", "vm.return %c1 : i32", f"^z{i}:", f"vm.return %k{i} : i32"]
    lines += [f"^bb{depth}:", "vm.return %a : i32", "}", "vm.export @nest", "}"]
    program = vm.parse_vm("\n".join(lines))
    assert "while True" in program.source  # the fallback was taken
    inst = program.instantiate({})
    assert inst.export("chain")(5) == 5 + n - 1
    assert [inst.export("nest")(k) for k in (0, 3, 119, 500)] == [1, 3, 119, 500]


def test_declared_tensor_types():
    from polyhal.iree.module import TensorSpec

    spec = TensorSpec("tensor<4x?xcomplex<f32>>")
    assert spec.shape == (4, None) and spec.dtype == np.complex64 and not spec.static
    spec = TensorSpec("tensor<2x3xf32, #encoding>")
    assert spec.shape == (2, 3) and spec.dtype == np.float32 and spec.static
    assert TensorSpec("tensor<i1>").shape == ()
    assert TensorSpec("tensor<8xbf16>").dtype is None  # numpy has no bf16
