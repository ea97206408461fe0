"""IREE-compiled CPU kernels run through polyhal command buffers on the local driver."""

from __future__ import annotations

import numpy as np
import pytest

import polyhal as hal
from polyhal import iree

DRIVERS = ["local", "local-sync"]


@pytest.fixture(params=DRIVERS)
def device(request):
    if request.param.split("-")[0] not in hal.available_drivers():
        pytest.skip(f"{request.param} is not available here")
    with hal.create_device(request.param) as dev:
        yield dev


def run(device, dump, name, arrays, out_shape, *, mode=hal.CommandBufferMode.ONE_SHOT):
    d = dump.dispatch(name)
    exes = dump.create_executables(device)
    buffers = [device.buffer_from(np.ascontiguousarray(a)) for a in arrays]
    out = device.allocate_buffer(int(np.prod(out_shape)) * 4)
    cb = device.create_command_buffer(mode)
    with cb:
        d.record(cb, exes, [*buffers, out])
    sem = device.create_semaphore()
    device.queue_execute(cb, signal=[(sem, 1)])
    sem.wait(1, timeout=60)
    return out.to_numpy("float32", out_shape)


def test_dump_describes_every_dispatch(local_dump):
    assert local_dump.driver == "local" and local_dump.format == "iree-system-library"
    names = list(local_dump.dispatches)
    assert len(names) == 3, names
    for d in local_dump:
        assert d.workgroup_count is not None and all(c >= 1 for c in d.workgroup_count)
        assert d.constant_count == 0
        assert d.entry_point.workgroup_size == (1, 1, 1)
        src = d.executable.source
        assert list(src.formats) == ["iree-system-library"]
    add = local_dump.dispatch("add_dispatch")
    assert [b.read_only for b in add.bindings] == [True, True, False]
    assert [(b.dtype, b.shape, b.length) for b in add.bindings] == [("float32", (1024,), 4096)] * 3


def test_elementwise_add(device, local_dump):
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((2, 1024), dtype=np.float32)
    out = run(device, local_dump, "add_dispatch", [a, b], (1024,))
    np.testing.assert_allclose(out, a + b, rtol=1e-6)


def test_matmul(device, local_dump):
    rng = np.random.default_rng(1)
    a = rng.standard_normal((64, 32), dtype=np.float32)
    b = rng.standard_normal((32, 48), dtype=np.float32)
    d = local_dump.dispatch("matmul_dispatch")
    assert [x.shape for x in d.bindings] == [(64, 32), (32, 48), (64, 48)]
    out = run(device, local_dump, d.name, [a, b], (64, 48))
    np.testing.assert_allclose(out, a @ b, rtol=1e-4, atol=1e-4)


def test_matmul_bias_reusable_command_buffer(device, local_dump):
    rng = np.random.default_rng(2)
    a = rng.standard_normal((64, 32), dtype=np.float32)
    b = rng.standard_normal((32, 48), dtype=np.float32)
    c = rng.standard_normal((64, 48), dtype=np.float32)
    out = run(
        device, local_dump, "matmul_bias", [a, b, c], (64, 48), mode=hal.CommandBufferMode.DEFAULT
    )
    np.testing.assert_allclose(out, a @ b + c, rtol=1e-4, atol=1e-4)


def test_entry_points_from_the_library_itself(device, local_dump):
    """With no entry points given, names and layouts come from the library's export table."""
    exe_info = next(iter(local_dump.executables.values()))
    exe = device.create_executable(
        hal.ExecutableSource([], {"iree-system-library": str(exe_info.paths[0])})
    )
    assert sorted(e.name for e in exe.entry_points) == sorted(local_dump.dispatches)
    add = exe.entry_points[exe.lookup(local_dump.dispatch("add_dispatch").name)]
    assert add.layout.binding_count == 3 and add.layout.push_constants == 0

    rng = np.random.default_rng(3)
    a, b = rng.standard_normal((2, 1024), dtype=np.float32)
    bufs = [device.buffer_from(a), device.buffer_from(b), device.allocate_buffer(4096)]
    d = local_dump.dispatch("add_dispatch")
    with device.create_command_buffer() as cb:
        cb.dispatch(exe, d.name, d.workgroup_count, bindings=list(enumerate(bufs)))
    sem = device.create_semaphore()
    device.queue_execute(cb, signal=[(sem, 1)])
    sem.wait(1, timeout=60)
    np.testing.assert_allclose(bufs[2].to_numpy("float32"), a + b, rtol=1e-6)


def test_dynamic_shape_with_push_constants(device, dynamic_dump):
    (d,) = list(dynamic_dump)
    assert d.workgroup_count is None  # IREE dumps no benchmark for dynamic shapes
    n = 5000
    rng = np.random.default_rng(4)
    a, b = rng.standard_normal((2, n), dtype=np.float32)
    exes = dynamic_dump.create_executables(device)
    bufs = [device.buffer_from(a), device.buffer_from(b), device.allocate_buffer(4 * n)]
    with device.create_command_buffer() as cb:
        # Generous: workgroups past the end of the data do nothing.
        d.record(cb, exes, bufs, constants=[n, 0, n, 0], workgroup_count=(n // 64 + 1, 1, 1))
    sem = device.create_semaphore()
    device.queue_execute(cb, signal=[(sem, 1)])
    sem.wait(1, timeout=60)
    np.testing.assert_allclose(bufs[2].to_numpy("float32"), (a + b) ** 2, rtol=1e-5)


def test_layout_too_small_for_the_kernel_is_rejected(device, local_dump):
    d = local_dump.dispatch("add_dispatch")
    small = hal.EntryPoint(
        d.name, hal.PipelineLayout([hal.DescriptorSetLayout([0, 1])]), workgroup_size=(1, 1, 1)
    )
    with pytest.raises(hal.InvalidArgumentError):
        device.create_executable(
            hal.ExecutableSource([small], {"iree-system-library": str(d.executable.paths[0])})
        )


def test_compile_error_carries_the_message(tmp_path, iree_compiler):
    with pytest.raises(hal.InvalidArgumentError, match="iree-compile failed"):
        iree.compile_mlir("func.func @broken(", tmp_path, driver="local")


@pytest.mark.parametrize("use_slot", [False, True])
def test_unaligned_binding_is_rejected_not_a_crash(device, local_dump, use_slot):
    """IREE kernels use aligned vector loads: a binding off a 64-byte boundary must be
    refused before it can fault."""
    d = local_dump.dispatch("add_dispatch")
    exe = local_dump.create_executables(device)[d.executable.name]
    big = device.allocate_buffer(3 * 4096 + 64)
    views = [big.subspan(16, 4096), big.subspan(4096 + 64, 4096), big.subspan(8192 + 64, 4096)]
    mode = hal.CommandBufferMode.DEFAULT if use_slot else hal.CommandBufferMode.ONE_SHOT
    cb = device.create_command_buffer(mode, binding_capacity=3 if use_slot else 0)
    cb.begin()
    bindings = [(i, hal.Slot(i) if use_slot else v) for i, v in enumerate(views)]
    if not use_slot:
        with pytest.raises(hal.InvalidArgumentError, match="multiple of 64"):
            cb.dispatch(exe, d.name, d.workgroup_count, bindings=bindings)
        return
    cb.dispatch(exe, d.name, d.workgroup_count, bindings=bindings)
    cb.end()
    with pytest.raises(hal.InvalidArgumentError, match="multiple of 64"):
        device.queue_execute(cb, binding_table=views)
