"""Regressions of the single-dispatch API (issue 15), on every driver they apply to.

- Workgroup counts are the host program's: a count re-derived by compiling a dumped
  benchmark again can belong to another kernel than the dumped one (IREE's e2e
  ``conv2d_1452x2223_dilated_valid`` on the CPU: 1 workgroup instead of 24), which wrote
  part of the output and raised nothing.
- A benchmark that fails to compile again (``conv2d_2451x2311_same``'s convolution on the
  CPU) made ``compile_mlir`` raise for the whole program.
- On vulkan, an i8 binding of odd length is accessed as i32 words: a range of exactly the
  tensor's bytes lost the last element.

The convolutions are IREE's own e2e tests (``inputs/conv2d.mlir``; the values below are
theirs).
"""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest

import polyhal as hal
from polyhal import errors, iree
from polyhal.iree import binaries

CONV2D = Path(__file__).parent / "inputs" / "conv2d.mlir"

I8_ADD = """
func.func @add_i8(%a: tensor<1001xi8>, %b: tensor<1001xi8>) -> tensor<1001xi8> {
  %r = arith.addi %a, %b : tensor<1001xi8>
  return %r : tensor<1001xi8>
}
"""

# Inputs and expected results of IREE's e2e tests (tests/e2e/linalg/conv2d.mlir and
# tests/e2e/stablehlo_ops/convolution.mlir).
NOPADDING_IN = np.array(
    [
        [[1, 3, 5, 7], [11, 13, 15, 17], [21, 23, 25, 27], [31, 33, 35, 37]],
        [[2, 4, 6, 8], [12, 14, 16, 18], [22, 24, 26, 28], [32, 34, 36, 38]],
    ],
    dtype=np.float32,
).reshape(1, 2, 4, 4)
NOPADDING_W = np.array(
    [[[1, 3], [5, 7], [9, 11]], [[2, 4], [6, 8], [10, 12]]], dtype=np.float32
).reshape(1, 2, 3, 2)
NOPADDING_OUT = np.array([[1310, 1466, 1622], [2090, 2246, 2402]], dtype=np.float32)

SAME_IN = np.arange(1, 41, dtype=np.float32).reshape(2, 4, 5, 1)
SAME_W = np.arange(1, 7, dtype=np.float32).reshape(2, 3, 1, 1)
SAME_OUT = np.array(
    [
        [[80, 121, 142, 163, 100], [160, 226, 247, 268, 160]],
        [[240, 331, 352, 373, 220], [83, 104, 110, 116, 59]],
        [[400, 541, 562, 583, 340], [480, 646, 667, 688, 400]],
        [[560, 751, 772, 793, 460], [183, 224, 230, 236, 119]],
    ],
    dtype=np.float32,
).reshape(2, 4, 5, 1)

DILATED_IN = np.array(
    [
        [[0.09762701, 0.43037874], [0.20552675, 0.08976637], [-0.1526904, 0.29178822],
         [-0.12482557, 0.78354603], [0.92732555, -0.23311697]],
        [[0.5834501, 0.05778984], [0.13608912, 0.85119325], [-0.85792786, -0.8257414],
         [-0.9595632, 0.6652397], [0.5563135, 0.74002427]],
        [[0.9572367, 0.59831715], [-0.07704128, 0.56105834], [-0.76345116, 0.27984205],
         [-0.71329343, 0.88933784], [0.04369664, -0.17067613]],
        [[-0.47088876, 0.5484674], [-0.08769934, 0.1368679], [-0.9624204, 0.23527099],
         [0.22419144, 0.23386799], [0.8874962, 0.3636406]],
    ],
    dtype=np.float32,
).reshape(1, 4, 5, 2)  # fmt: skip
DILATED_W = np.array(
    [
        [[[-0.2809842, -0.12593609, 0.3952624], [-0.8795491, 0.33353344, 0.34127575]],
         [[-0.5792349, -0.7421474, -0.3691433], [-0.27257845, 0.14039354, -0.12279698]]],
        [[[0.9767477, -0.79591036, -0.5822465], [-0.677381, 0.30621666, -0.4934168]],
         [[-0.06737845, -0.5111488, -0.68206084], [-0.7792497, 0.31265917, -0.7236341]]],
    ],
    dtype=np.float32,
)  # fmt: skip
DILATED_OUT = np.array(
    [
        [[-0.45181108, -0.37253797, -1.1074474], [-0.74972206, 0.8691965, 0.21864426],
         [-1.9352274, 1.6551838, 0.13848126], [-2.296763, 0.32046723, -0.02542188]],
        [[-1.4578199, 0.59465677, 0.0599021], [-0.3617443, 1.4647548, 1.2320882],
         [0.04506956, 1.4347346, -0.22625303], [-1.122044, -0.41301775, -1.5628793]],
    ],
    dtype=np.float32,
).reshape(1, 2, 4, 3)  # fmt: skip

DRIVERS = ["local", "local-sync", "vulkan"]


def _require_compiler() -> None:
    if not iree.compiler_available():
        pytest.skip("iree-base-compiler is not installed (pip install polyhal[iree])")


@pytest.fixture(params=DRIVERS)
def device(request):
    if request.param.split("-")[0] not in hal.available_drivers():
        pytest.skip(f"{request.param} is not available here")
    with hal.create_device(request.param) as dev:
        yield dev


_DUMPS: dict[tuple[str, str], iree.IreeDump] = {}


def _dump(tmp_path_factory, what: str, driver: str) -> iree.IreeDump:
    """One compilation per program and driver kind for the whole session."""
    _require_compiler()
    kind = iree.compile_flags(driver)[0]
    if (what, kind) not in _DUMPS:
        source = CONV2D if what == "conv2d" else I8_ADD
        out = tmp_path_factory.mktemp(f"iree-{what}")
        _DUMPS[(what, kind)] = iree.compile_mlir(source, out, driver=driver)
    return _DUMPS[(what, kind)]


def _run(device, dump, steps):
    """Records ``(dispatch name, [buffers])`` steps into one command buffer, a barrier
    between each, and waits for it."""
    exes = dump.create_executables(device)
    with device.create_command_buffer() as cb:
        for i, (name, buffers) in enumerate(steps):
            if i:
                cb.execution_barrier()
            dump.dispatch(name).record(cb, exes, buffers)
    sem = device.create_semaphore()
    device.queue_execute(cb, signal=[(sem, 1)])
    sem.wait(1, timeout=60)


def _poisoned(device, nbytes):
    # NaN everywhere: a workgroup that does not run leaves NaN, which no result matches.
    return device.buffer_from(np.full(nbytes // 4, np.nan, dtype=np.float32))


def test_convolutions_write_their_whole_output(device, tmp_path_factory):
    """Every workgroup of every convolution runs: the counts are the host program's."""
    dump = _dump(tmp_path_factory, "conv2d", device.driver)
    assert not dump.failed
    for d in dump:
        assert d.workgroup_count is not None, d.workgroup_count_note

    out = _poisoned(device, NOPADDING_OUT.nbytes)
    ins = [device.buffer_from(NOPADDING_IN), device.buffer_from(NOPADDING_W)]
    _run(device, dump, [("conv2d_nopadding_dispatch", [*ins, out])])
    np.testing.assert_allclose(out.to_numpy("float32", (2, 3)), NOPADDING_OUT, rtol=1e-6)

    out = _poisoned(device, DILATED_OUT.nbytes)
    ins = [device.buffer_from(DILATED_IN), device.buffer_from(DILATED_W)]
    _run(device, dump, [("conv2d_1452x2223_dilated_valid", [*ins, out])])
    got = out.to_numpy("float32", DILATED_OUT.shape)
    np.testing.assert_allclose(got, DILATED_OUT, rtol=1e-5, atol=1e-6)


def test_two_dispatch_convolution(device, tmp_path_factory):
    """``conv2d_2451x2311_same`` pads its input (a copy dispatch) then convolves; its
    convolution's benchmark does not compile again on the CPU, which once failed the whole
    compile_mlir."""
    dump = _dump(tmp_path_factory, "conv2d", device.driver)
    pad = dump.dispatch("conv2d_2451x2311_same_dispatch_0")
    conv = dump.dispatch("conv2d_2451x2311_same_dispatch_1")
    padded = device.buffer_from(np.zeros(pad.bindings[1].length // 4, dtype=np.float32))
    out = _poisoned(device, SAME_OUT.nbytes)
    _run(
        device,
        dump,
        [
            (pad.name, [device.buffer_from(SAME_IN), padded]),
            (conv.name, [padded, device.buffer_from(SAME_W), out]),
        ],
    )
    np.testing.assert_allclose(out.to_numpy("float32", SAME_OUT.shape), SAME_OUT, rtol=1e-6)


def _without_host_program(dump, tmp_path) -> tuple[Path, Path]:
    """Copies of a dump's binaries and benchmarks, with no host program beside them."""
    d = next(iter(dump))
    bins, benches = tmp_path / "binaries", tmp_path / "benchmarks"
    shutil.copytree(d.executable.paths[0].parent, bins)
    shutil.copytree(d.benchmark.parent, benches)
    return bins, benches


def test_benchmark_counts_that_cannot_be_verified_are_unknown(tmp_path, tmp_path_factory):
    """Without the host program, a count is kept only where compiling the benchmark again
    remakes the dumped binary; elsewhere recording without workgroup_count= raises, naming
    why, and the dispatches whose benchmark does not compile are kept."""
    dump = _dump(tmp_path_factory, "conv2d", "local")
    bins, benches = _without_host_program(dump, tmp_path)
    again = iree.load_dump(bins, benches, driver="local")
    assert set(again.dispatches) == set(dump.dispatches) and not again.failed
    broken = again.dispatch("conv2d_2451x2311_same_dispatch_1")
    assert broken.workgroup_count is None
    assert "compiling its benchmark again failed" in broken.workgroup_count_note
    dilated = again.dispatch("conv2d_1452x2223_dilated_valid")
    if dilated.workgroup_count is not None:  # verified: the benchmark remade the binary
        assert dilated.workgroup_count == dump.dispatch(dilated.name).workgroup_count
    else:
        assert "another binary" in dilated.workgroup_count_note

    with hal.create_device("local") as dev:
        exes = again.create_executables(dev)
        bufs = [dev.allocate_buffer(b.length) for b in broken.bindings]
        with dev.create_command_buffer() as cb:
            with pytest.raises(errors.FailedPreconditionError, match="again failed"):
                broken.record(cb, exes, bufs)
            # The caller may still give the count.
            broken.record(
                cb, exes, bufs, workgroup_count=dump.dispatch(broken.name).workgroup_count
            )


def test_vulkan_benchmark_counts_are_verified(tmp_path, tmp_path_factory):
    """SPIR-V is remade byte for byte by compiling the benchmark again: its counts hold."""
    dump = _dump(tmp_path_factory, "conv2d", "vulkan")
    bins, benches = _without_host_program(dump, tmp_path)
    again = iree.load_dump(bins, benches, driver="vulkan")
    for d in again:
        if d.workgroup_count is not None:
            assert d.workgroup_count == dump.dispatches[d.name].workgroup_count
        else:
            assert d.workgroup_count_note


def test_a_dispatch_that_cannot_be_loaded_is_reported(tmp_path_factory):
    """For cuda each benchmark is translated (PTX does not declare its workgroup-local
    memory); one that does not translate is left out with the reason, the others kept.
    Compiling for cuda needs no GPU; a translation cut short by the timeout fails."""
    dump = _dump(tmp_path_factory, "conv2d", "cuda")
    assert not dump.failed and len(dump) == 4
    d = next(iter(dump))
    bins, benches = d.executable.paths[0].parent, d.benchmark.parent
    with pytest.warns(RuntimeWarning, match="cannot be loaded"):
        broken = iree.load_dump(bins, benches, driver="cuda", timeout=0.001)
    assert set(broken.failed) == set(dump.dispatches) and not broken.dispatches
    name = "conv2d_1452x2223_dilated_valid"
    with pytest.raises(errors.FailedPreconditionError, match="does not translate.*timed out"):
        broken.dispatch(name)
    with pytest.raises(errors.NotFoundError):
        broken.dispatch("no_such_dispatch")
    saved = iree.load_saved(broken.save(tmp_path_factory.mktemp("saved")).parent)
    assert saved.failed == broken.failed


def test_counts_are_those_of_the_host_program(tmp_path_factory):
    """Each dispatch's count is what the host program's dispatch call passes."""
    for driver in ("local", "vulkan"):
        dump = _dump(tmp_path_factory, "conv2d", driver)
        host = next(iter(dump)).executable.paths[0].parent.parent / iree.load.HOST_PROGRAM
        sites = iree.mlir.read_host_dispatches(host.read_text(), what="host")
        assert {s.export: s.workgroup_count for s in sites} == {
            d.name: d.workgroup_count for d in dump
        }
        assert (host.parent / "module.vmfb").stat().st_size > 0


@pytest.mark.parametrize("driver", ["local", "vulkan"])
def test_odd_sized_i8_binding_granularity(driver, tmp_path_factory):
    """What the binary says of how it accesses i8 data: words on vulkan, bytes on the CPU."""
    dump = _dump(tmp_path_factory, "i8", driver)
    d = dump.dispatch("add_i8")
    assert [b.length for b in d.bindings] == [1001] * 3
    unit = 1 if driver == "local" else 4
    assert [b.granularity for b in d.bindings] == [unit] * 3
    assert [b.padded_length for b in d.bindings] == [1001 if unit == 1 else 1004] * 3
    if driver == "vulkan":
        (spv,) = [p for p in d.executable.paths if d.name in p.name]
        assert binaries.spirv_binding_strides(spv.read_bytes()) == {0: 4, 1: 4, 2: 4}


def test_odd_sized_i8_elementwise(device, tmp_path_factory):
    dump = _dump(tmp_path_factory, "i8", device.driver)
    d = dump.dispatch("add_i8")
    rng = np.random.default_rng(5)
    a, b = rng.integers(-128, 128, (2, 1001), dtype=np.int8)
    want = (a.astype(np.int16) + b).astype(np.int8)

    def run(buffers):
        exes = dump.create_executables(device)
        with device.create_command_buffer() as cb:
            d.record(cb, exes, buffers)
        sem = device.create_semaphore()
        device.queue_execute(cb, signal=[(sem, 1)])
        sem.wait(1, timeout=60)

    def padded(x):
        n = d.bindings[0].padded_length
        return device.buffer_from(np.concatenate([x, np.zeros(n - x.size, np.int8)]))

    # Buffers of the padded length, bound whole or as the tensor's exact range (widened).
    for exact in (False, True):
        out = device.buffer_from(np.full(d.bindings[2].padded_length, 7, np.int8))
        bufs = [padded(a), padded(b), out]
        run([(x, 0, 1001) for x in bufs] if exact else bufs)
        np.testing.assert_array_equal(out.to_numpy("int8")[:1001], want)
        assert (out.to_numpy("int8")[1001:] == 7).all()  # the padding bytes are untouched

    # Buffers of exactly the tensor's bytes: fine on the CPU; on vulkan the kernel's last
    # word would fall outside them, which is refused rather than computed wrong.
    bufs = [device.buffer_from(a), device.buffer_from(b), device.allocate_buffer(1001)]
    if d.bindings[2].granularity == 1:
        run(bufs)
        np.testing.assert_array_equal(bufs[2].to_numpy("int8"), want)
    else:
        with device.create_command_buffer() as cb:
            with pytest.raises(errors.InvalidArgumentError, match="needs 1004 bytes"):
                d.record(cb, dump.create_executables(device), bufs)


def test_granularity_survives_save(tmp_path_factory):
    dump = _dump(tmp_path_factory, "i8", "vulkan")
    saved = iree.load_saved(dump.save(tmp_path_factory.mktemp("saved")).parent)
    assert saved.dispatch("add_i8").bindings == dump.dispatch("add_i8").bindings


def test_no_warning_for_a_clean_dump(tmp_path_factory):
    dump = _dump(tmp_path_factory, "conv2d", "local")
    d = next(iter(dump))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        iree.load_dump(d.executable.paths[0].parent, d.benchmark.parent, driver="local")


def test_a_program_without_dispatches_gives_an_empty_dump(tmp_path):
    """A reshape alone compiles to no dispatch (the host program does it): compile_mlir
    gives an empty dump, not an error about a missing binaries directory."""
    _require_compiler()
    source = """
    func.func @reshape(%a: tensor<2x3xf32>) -> tensor<6xf32> {
      %r = tensor.collapse_shape %a [[0, 1]] : tensor<2x3xf32> into tensor<6xf32>
      return %r : tensor<6xf32>
    }
    """
    dump = iree.compile_mlir(source, tmp_path, driver="local")
    assert len(dump) == 0 and not dump.failed and dump.driver == "local"
    assert (tmp_path / "module.vmfb").stat().st_size > 0
    with pytest.raises(errors.NotFoundError):
        dump.dispatch("reshape")


def test_cuda_local_memory_from_the_program_itself(tmp_path):
    """For cuda, compile_mlir reads each kernel's workgroup-local memory from the program's
    own translation (the same kernels as the dumped PTX), not from its benchmark compiled
    again; both say the same for this matmul.  Compiling for cuda needs no GPU."""
    _require_compiler()
    from test_iree_gpu import F16_MATMUL

    dump = iree.compile_mlir(F16_MATMUL, tmp_path, driver="cuda")
    (d,) = list(dump)
    assert d.local_memory_size > 0 and d.workgroup_count is not None
    assert (tmp_path / "executables.mlir").is_file()
    again = iree.load_dump(tmp_path / "binaries", tmp_path / "benchmarks", driver="cuda")
    assert again.dispatch(d.name).local_memory_size == d.local_memory_size
    assert again.dispatch(d.name).entry_point.workgroup_size == d.entry_point.workgroup_size


def test_odd_sized_i8_through_binding_table_slots(device, tmp_path_factory):
    """A slot's range of the tensor's bytes is widened to whole units too; the table's
    buffers are the padded ones."""
    dump = _dump(tmp_path_factory, "i8", device.driver)
    d = dump.dispatch("add_i8")
    rng = np.random.default_rng(6)
    a, b = rng.integers(-128, 128, (2, 1001), dtype=np.int8)
    n = d.bindings[0].padded_length
    table = [device.buffer_from(np.resize(x, n)) for x in (a, b)] + [device.allocate_buffer(n)]
    cb = device.create_command_buffer(hal.CommandBufferMode.DEFAULT, binding_capacity=3)
    with cb:
        d.record(cb, dump.create_executables(device), [(hal.Slot(i), 0, 1001) for i in range(3)])
    for _ in range(2):  # replayed
        sem = device.create_semaphore()
        device.queue_execute(cb, binding_table=table, signal=[(sem, 1)])
        sem.wait(1, timeout=60)
    want = (a.astype(np.int16) + b).astype(np.int8)
    np.testing.assert_array_equal(table[2].to_numpy("int8")[:1001], want)


@pytest.mark.parametrize(
    "bad",
    [lambda out: "x", lambda out: (out, "zero"), lambda out: (out, 0, 1, 2)],
    ids=["not-a-buffer", "offset", "four-items"],
)
def test_malformed_binding_is_a_hal_error(bad, tmp_path_factory):
    """What the granularity code cannot read is left to the command buffer to refuse."""
    dump = _dump(tmp_path_factory, "i8", "vulkan")
    if "vulkan" not in hal.available_drivers():
        pytest.skip("vulkan is not available here")
    d = dump.dispatch("add_i8")
    with hal.create_device("vulkan") as dev:
        a, b, out = (dev.allocate_buffer(1004) for _ in range(3))
        with dev.create_command_buffer() as cb:
            with pytest.raises(errors.HalError):
                d.record(cb, dump.create_executables(dev), [a, b, bad(out)])
