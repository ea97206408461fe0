"""Whole IREE programs through polyhal.iree.load_module on local, local-sync and vulkan.

Each program is compiled once per driver kind (polyhal's build cache keeps the VM assembly
across runs); the module fixtures are shared by the tests of a driver.
"""

from __future__ import annotations

import numpy as np
import pytest

import polyhal as hal
from polyhal import iree
from polyhal.errors import (
    FailedPreconditionError,
    InvalidArgumentError,
    NotFoundError,
    UnimplementedError,
)

DRIVERS = ["local", "local-sync", "vulkan"]

PROGRAMS = """
func.func @add(%a: tensor<4xf32>, %b: tensor<4xf32>) -> tensor<4xf32> {
  %s = arith.addf %a, %b : tensor<4xf32>
  %m = arith.mulf %s, %a : tensor<4xf32>
  return %m : tensor<4xf32>
}
func.func @matmul(%a: tensor<8x16xf32>, %b: tensor<16x4xf32>) -> tensor<8x4xf32> {
  %init = tensor.empty() : tensor<8x4xf32>
  %zero = arith.constant 0.0 : f32
  %fill = linalg.fill ins(%zero : f32) outs(%init : tensor<8x4xf32>) -> tensor<8x4xf32>
  %mm = linalg.matmul ins(%a, %b : tensor<8x16xf32>, tensor<16x4xf32>)
                      outs(%fill : tensor<8x4xf32>) -> tensor<8x4xf32>
  return %mm : tensor<8x4xf32>
}
func.func @scale(%x: tensor<3xi32>, %k: i32) -> (tensor<3xi32>, i32) {
  %e = tensor.empty() : tensor<3xi32>
  %r = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>],
                       iterator_types = ["parallel"]}
      ins(%x : tensor<3xi32>) outs(%e : tensor<3xi32>) {
  ^bb0(%in: i32, %out: i32):
    %p = arith.muli %in, %k : i32
    linalg.yield %p : i32
  }  -> tensor<3xi32>
  %c1 = arith.constant 1 : i32
  %k1 = arith.addi %k, %c1 : i32
  return %r, %k1 : tensor<3xi32>, i32
}
func.func @collatz(%start: tensor<f32>) -> tensor<f32> {
  %one = arith.constant dense<1.0> : tensor<f32>
  %two = arith.constant dense<2.0> : tensor<f32>
  %three = arith.constant dense<3.0> : tensor<f32>
  %zero = arith.constant dense<0.0> : tensor<f32>
  %r:2 = scf.while (%x = %start, %n = %zero)
      : (tensor<f32>, tensor<f32>) -> (tensor<f32>, tensor<f32>) {
    %xv = tensor.extract %x[] : tensor<f32>
    %c1 = arith.constant 1.0 : f32
    %more = arith.cmpf ogt, %xv, %c1 : f32
    scf.condition(%more) %x, %n : tensor<f32>, tensor<f32>
  } do {
  ^bb0(%x2: tensor<f32>, %n2: tensor<f32>):
    %n3 = arith.addf %n2, %one : tensor<f32>
    %half = arith.divf %x2, %two : tensor<f32>
    %fl = math.floor %half : tensor<f32>
    %hv = tensor.extract %half[] : tensor<f32>
    %fv = tensor.extract %fl[] : tensor<f32>
    %even = arith.cmpf oeq, %hv, %fv : f32
    %next = scf.if %even -> tensor<f32> {
      scf.yield %half : tensor<f32>
    } else {
      %t = arith.mulf %x2, %three : tensor<f32>
      %u = arith.addf %t, %one : tensor<f32>
      scf.yield %u : tensor<f32>
    }
    scf.yield %next, %n3 : tensor<f32>, tensor<f32>
  }
  return %r#1 : tensor<f32>
}
func.func @expect(%a: tensor<3xf32>, %b: tensor<2xi32>) {
  %c = arith.constant dense<[1.0, 2.0, 3.0]> : tensor<3xf32>
  check.expect_almost_eq(%a, %c) : tensor<3xf32>
  %d = arith.constant dense<[4, 5]> : tensor<2xi32>
  check.expect_eq(%b, %d) : tensor<2xi32>
  return
}
"""

GLOBALS = """
util.global private mutable @counter = dense<0.0> : tensor<f32>
func.func @inc(%d: tensor<f32>) -> tensor<f32> {
  %0 = util.global.load @counter : tensor<f32>
  %1 = arith.addf %0, %d : tensor<f32>
  util.global.store %1, @counter : tensor<f32>
  return %1 : tensor<f32>
}
func.func @get() -> tensor<f32> {
  %0 = util.global.load @counter : tensor<f32>
  return %0 : tensor<f32>
}
"""


@pytest.fixture(scope="module", params=DRIVERS)
def device(request, iree_compiler):
    if request.param.split("-")[0] not in hal.available_drivers():
        pytest.skip(f"{request.param} is not available here")
    with hal.create_device(request.param) as dev:
        yield dev


@pytest.fixture(scope="module")
def programs(device):
    with iree.load_mlir(PROGRAMS, device, timeout=300) as mod:
        yield mod


def _collatz_steps(n: int) -> int:
    steps = 0
    while n > 1:
        n = n // 2 if n % 2 == 0 else 3 * n + 1
        steps += 1
    return steps


def test_functions_of_a_module(programs):
    assert sorted(programs.functions) == ["add", "collatz", "expect", "matmul", "scale"]
    assert programs["add"] is programs.add
    assert "tensor<4xf32>" in programs.add.declaration
    with pytest.raises(NotFoundError):
        programs["nope"]
    with pytest.raises(AttributeError):
        programs.nope  # noqa: B018


def test_elementwise_numpy_and_buffers(programs, device):
    a = np.arange(4, dtype=np.float32)
    b = np.full(4, 2.0, np.float32)
    np.testing.assert_array_equal(programs.add(a, b, numpy=True), (a + b) * a)
    # Buffers already on the device in, a Buffer out.
    out = programs.add(device.buffer_from(a), device.buffer_from(b))
    assert isinstance(out, hal.Buffer)
    np.testing.assert_array_equal(_host_copy(device, out).to_numpy(np.float32, (4,)), (a + b) * a)
    # The result feeds the next call without leaving the device.
    again = programs.add(out, device.buffer_from(b), numpy=True)
    np.testing.assert_array_equal(again, ((a + b) * a + b) * (a + b) * a)


def _host_copy(device, buffer):
    """``buffer`` itself where the host can read it, else a copy in host-visible memory (a
    result on a GPU is device-local: reading it directly is refused)."""
    if buffer.memory_type & hal.MemoryType.HOST_VISIBLE:
        return buffer
    staging = device.allocate_buffer(buffer.size, memory_type=hal.MemoryType.HOST_LOCAL)
    sem = device.create_semaphore(0)
    device.queue_copy(buffer, 0, staging, 0, buffer.size, signal=[(sem, 1)])
    sem.wait(1, timeout=60)
    return staging


def test_matmul(programs):
    rng = np.random.default_rng(0)
    a = rng.standard_normal((8, 16)).astype(np.float32)
    b = rng.standard_normal((16, 4)).astype(np.float32)
    np.testing.assert_allclose(programs.matmul(a, b, numpy=True), a @ b, rtol=1e-5, atol=1e-5)


def test_scalar_arguments_and_results(programs):
    out, k = programs.scale(np.array([1, -2, 3], np.int32), 5, numpy=True)
    np.testing.assert_array_equal(out, [5, -10, 15])
    assert k == 6
    # A 0-d array is a scalar too (what np.load gives back for a saved scalar).
    out, k = programs.scale(np.array([1, 2, 3], np.int32), np.array(-2, np.int32), numpy=True)
    np.testing.assert_array_equal(out, [-2, -4, -6])
    assert k == -1


def test_control_flow_on_device_values(programs):
    # The loop condition is read back from the device every iteration.
    for n in (1, 6, 27):
        assert float(programs.collatz(float(n), numpy=True)) == _collatz_steps(n)
    assert float(programs.collatz(np.array(7.0, np.float32), numpy=True)) == 16


def test_check_module(programs):
    # IREE's check module: the program compares on its own and fails with a HalError.
    ints = np.array([4, 5], np.int32)
    assert programs.expect(np.array([1.0, 2.00001, 3.0], np.float32), ints) is None
    with pytest.raises(FailedPreconditionError, match="expect_almost_eq"):
        programs.expect(np.array([1.0, 2.5, 3.0], np.float32), ints)
    with pytest.raises(FailedPreconditionError, match="expect_eq"):
        programs.expect(np.array([1.0, 2.0, 3.0], np.float32), np.array([4, 6], np.int32))


def test_globals_persist_between_calls(device):
    source = iree.compile_module(GLOBALS, device)
    first = iree.load_module(source, device)
    second = iree.load_module(source, device)
    try:
        assert float(first.inc(1.5, numpy=True)) == 1.5
        assert float(first.inc(2.0, numpy=True)) == 3.5
        assert float(first.get(numpy=True)) == 3.5
        assert float(second.get(numpy=True)) == 0.0  # each module has its own globals
    finally:
        first.close()
        second.close()


ASYNC = """
func.func @twice(%a: tensor<4xf32>) -> tensor<4xf32> {
  %r = arith.addf %a, %a : tensor<4xf32>
  return %r : tensor<4xf32>
}
"""


def test_async_abi(device):
    # IREE's coarse-fences ABI: polyhal passes no wait fence and waits for the signal fence.
    flags = ["--iree-execution-model=async-external"]
    with iree.load_mlir(ASYNC, device, flags=flags) as mod:
        assert mod.twice.declaration.startswith("async func")
        x = np.arange(4, dtype=np.float32)
        np.testing.assert_array_equal(mod.twice(x, numpy=True), 2 * x)
        np.testing.assert_array_equal(mod.twice(device.buffer_from(x), numpy=True), 2 * x)


def test_bad_arguments(programs, device):
    a = np.zeros(4, np.float32)
    with pytest.raises(InvalidArgumentError, match="2 arguments"):
        programs.add(a)
    with pytest.raises(InvalidArgumentError):  # IREE's own hal.buffer_view.assert
        programs.add(np.zeros(5, np.float32), a)
    with pytest.raises(InvalidArgumentError):
        programs.add(np.zeros(4, np.float64), a)
    with pytest.raises(InvalidArgumentError):
        programs.scale(np.zeros(3, np.int32), 1.5)
    with pytest.raises(InvalidArgumentError):
        programs.scale(np.zeros(3, np.int32), 2**40)
    with pytest.raises(hal.HalError):  # a buffer smaller than the declared tensor
        programs.add(device.buffer_from(np.zeros(2, np.float32)), a)
    # The module still works after the failed calls.
    np.testing.assert_array_equal(programs.add(a, a, numpy=True), a)


def test_malformed_vmfb_raises(iree_compiler, tmp_path):
    """A file that says it is a .vmfb but is not one: InvalidArgumentError (from IREE's
    reader), by path and by bytes.  Real ones load: tests/iree/test_vmfb.py."""
    pytest.importorskip("iree._runtime_libs", reason="iree-base-runtime is not installed")
    vmfb = tmp_path / "m.vmfb"
    vmfb.write_bytes(b"\x18\x00\x00\x00IREE" + bytes(64))
    with hal.create_device("local-sync") as dev:
        with pytest.raises(InvalidArgumentError, match="iree-dump-module"):
            iree.load_module(vmfb, dev)
        with pytest.raises(InvalidArgumentError, match="iree-dump-module"):
            iree.load_module(vmfb.read_bytes(), dev)


def test_not_a_module(iree_compiler, tmp_path):
    with hal.create_device("local-sync") as dev:
        for bad in (b"\xff\xfe binary", "func.func @f() {\n  return\n}", 42):
            with pytest.raises(InvalidArgumentError):
                iree.load_module(bad, dev)
        with pytest.raises(InvalidArgumentError, match="cannot read"):
            iree.load_module(tmp_path / "missing.mlir", dev)
        # Symbol names reach the generated Python only as string literals.
        sneaky = 'vm.module @m {\n vm.func @"f\\nraise SystemExit"() { vm.return }\n}'
        assert iree.load_module(sneaky, dev).functions == {}


def test_unsupported_operation(iree_compiler):
    text = """
    vm.module @m {
      vm.func @f(%b: !vm.buffer) -> i64 {
        %z = vm.const.i64.zero
        %h = vm.buffer.hash %b, %z, %z : !vm.buffer -> i64
        vm.return %h : i64
      }
      vm.export @f
    }
    """
    with hal.create_device("local-sync") as dev:
        with pytest.raises(UnimplementedError, match="vm.buffer.hash"):
            iree.load_module(text, dev)


def test_compile_errors_are_invalid_argument(iree_compiler):
    with pytest.raises(InvalidArgumentError):
        iree.compile_module("func.func @f( {", "local")
