"""One-shot command buffers of a whole program recorded once and replayed (polyhal.iree.vm).

A function that records a one-shot command buffer and submits it in the same block (the
LSTM's loop body, any dynamic-shape program) has it recorded on its first call, its buffers
binding-table slots, and replayed with that call's buffers afterwards, one recording per
set of the region's scalar operands.  These tests check that the replay gives the results
the program gives when it records every time, that a replay records nothing, and that a
region whose scalar operands change on every call stays right past the cache's limit.
"""

from __future__ import annotations

import numpy as np
import pytest
from e2e_corpus import CORPUS

import polyhal as hal
from polyhal import iree
from polyhal.iree.hal_module import HalModule
from polyhal.iree.hal_types import host_read
from polyhal.iree.module import Module
from polyhal.iree.vm import parse_vm

DRIVERS = ["local", "local-sync", "vulkan", "cuda"]

DYNAMIC_ADD = """
func.func @main(%a: tensor<?xf32>, %b: tensor<?xf32>) -> tensor<?xf32> {
  %r = arith.addf %a, %b : tensor<?xf32>
  return %r : tensor<?xf32>
}
"""


@pytest.fixture(params=DRIVERS)
def device(request):
    if request.param.split("-")[0] not in hal.available_drivers():
        pytest.skip(f"{request.param} is not available here")
    with hal.create_device(request.param) as d:
        yield d


@pytest.fixture
def creates(monkeypatch):
    """Counts the command buffers a module's program creates (hal.command_buffer.create)."""
    count = [0]
    create = HalModule._command_buffer__create

    def counted(self, *args):
        count[0] += 1
        return create(self, *args)

    counted.hot = True  # type: ignore[attr-defined]
    monkeypatch.setattr(HalModule, "_command_buffer__create", counted)
    return count


@pytest.fixture(scope="module")
def lstm(iree_compiler):
    corpus = CORPUS
    f = next(x for x in corpus.files() if x["file"] == "stablehlo_models/unidirectional_lstm.mlir")
    fn = next(x for x in corpus.functions(f) if x.name == "main")
    return corpus.path(f), f["flags"], fn


def test_lstm_replays_what_it_records(device, lstm, creates):
    """The LSTM (IREE's e2e model: a loop of one-shot command buffers) gives the corpus's
    expected values on every call, records its regions on the first call only, and gives
    bit for bit what the program gives recording on every call, with other inputs too."""
    path, flags, fn = lstm
    text = iree.compile_module(path, device, flags=flags)
    program = parse_vm(text)
    assert "M0.get(" in program.source  # the loop body's command buffers are regions
    with Module(program, device) as once, Module(parse_vm(text, record_once=False), device) as each:
        for call in range(3):
            before = creates[0]
            out = once.main(*fn.inputs(), numpy=True)
            assert not fn.check([out]), fn.check([out])
            if call:
                assert creates[0] == before, "a replay recorded command buffers"
            else:
                assert creates[0] > before
        rng = np.random.default_rng(7)
        for _ in range(3):
            inputs = [rng.standard_normal(a.shape).astype(a.dtype) for a in fn.inputs()]
            before = creates[0]
            got = once.main(*inputs, numpy=True)
            assert creates[0] == before
            want = each.main(*inputs, numpy=True)
            assert creates[0] > before  # the other module records on every call
            np.testing.assert_array_equal(got, want)


def test_a_region_per_set_of_scalars(device, iree_compiler, creates):
    """A dynamic-shape add: its region's scalar operands (the length) differ from call to
    call, so each length is recorded once, and lengths past the cache's limit are still
    right (recorded on each call)."""
    module = iree.load_mlir(DYNAMIC_ADD, device)
    rng = np.random.default_rng(1)
    lengths = [1, 5, 64, 1000, 4097, *range(7, 7 + 24)]
    for n in lengths:
        a, b = rng.standard_normal(n).astype(np.float32), rng.standard_normal(n).astype(np.float32)
        np.testing.assert_array_equal(module.main(a, b, numpy=True), a + b)
    for n in [5, 64, 1000]:  # recorded on the first pass: replayed now
        a, b = rng.standard_normal(n).astype(np.float32), rng.standard_normal(n).astype(np.float32)
        before = creates[0]
        np.testing.assert_array_equal(module.main(a, b, numpy=True), a + b)
        assert creates[0] == before
    module.close()


def test_replay_takes_each_calls_buffers(device, iree_compiler):
    """Arguments given as polyhal Buffers, a different pair on each call, and results kept
    across calls: a replay reads this call's buffers and writes a new result, never an
    earlier call's."""
    module = iree.load_mlir(DYNAMIC_ADD, device)
    rng = np.random.default_rng(2)
    kept = []
    for _ in range(4):
        a, b = (
            rng.standard_normal(256).astype(np.float32),
            rng.standard_normal(256).astype(np.float32),
        )
        va, vb = (
            module.hal.view_of_buffer(device.buffer_from(x), np.float32, [256]) for x in (a, b)
        )
        out = module.main(va, vb)
        kept.append((out, a + b))
    for out, want in kept:
        # (host_read stages a copy where the device's memory is not host-visible)
        np.testing.assert_array_equal(np.frombuffer(host_read(out, 0, out.size), np.float32), want)
    module.close()


def test_lstm_vmfb_replays_too(device, lstm, creates):
    """The same LSTM from a .vmfb (register code, polyhal.iree.vm_bytecode): its regions
    are recorded on the first call only, and it gives what the VM assembly gives."""
    pytest.importorskip("iree._runtime_libs", reason="iree-base-runtime is not installed")
    path, flags, fn = lstm
    vmfb = iree.compile_module(path, device, flags=flags, output_format="vmfb")
    asm = iree.compile_module(path, device, flags=flags)
    with iree.load_module(vmfb, device) as mod, iree.load_module(asm, device) as ref:
        assert "M0.get(" in mod.program.source
        rng = np.random.default_rng(3)
        for call in range(3):
            inputs = [rng.standard_normal(a.shape).astype(a.dtype) for a in fn.inputs()]
            before = creates[0]
            got = mod.main(*inputs, numpy=True)
            if call:
                assert creates[0] == before, "a replay recorded command buffers"
            np.testing.assert_array_equal(got, ref.main(*inputs, numpy=True))
        out = mod.main(*fn.inputs(), numpy=True)
        assert not fn.check([out]), fn.check([out])
