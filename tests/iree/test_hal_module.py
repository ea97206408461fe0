"""IREE's ``hal`` module imports on polyhal (polyhal.iree.hal_module), driven directly.

Each test replays what an IREE-compiled host program does (the call sequences of
``iree-compile --output-format=vm-asm`` output) against real devices: ``local``,
``local-sync`` and ``vulkan`` (lavapipe here).  The executables are the rodata blobs of
modules compiled for the driver; the results are checked against numpy.
"""

from __future__ import annotations

import re
import subprocess

import numpy as np
import pytest

import polyhal as hal
from polyhal import iree, spirv
from polyhal.iree import hal_executables
from polyhal.iree.hal_module import BufferView, Fence, HalModule, dtype_of, element_type_of
from polyhal.iree.vm import VmBuffer

SOURCE = """
func.func @add(%a: tensor<16xf32>, %b: tensor<16xf32>) -> tensor<16xf32> {
  %r = arith.addf %a, %b : tensor<16xf32>
  return %r : tensor<16xf32>
}
func.func @scale(%a: tensor<?xf32>, %s: tensor<f32>) -> tensor<?xf32> {
  %c0 = arith.constant 0 : index
  %d = tensor.dim %a, %c0 : tensor<?xf32>
  %e = tensor.empty(%d) : tensor<?xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(i) -> (i)>, affine_map<(i) -> ()>,
                                        affine_map<(i) -> (i)>],
                       iterator_types = ["parallel"]}
      ins(%a, %s : tensor<?xf32>, tensor<f32>) outs(%e : tensor<?xf32>) {
  ^bb0(%x: f32, %y: f32, %o: f32):
    %m = arith.mulf %x, %y : f32
    linalg.yield %m : f32
  } -> tensor<?xf32>
  return %r : tensor<?xf32>
}
"""
F32 = 0x21000020
USAGE = 3075  # TRANSFER | DISPATCH_STORAGE, what the programs assert and allocate
DEVICE_LOCAL = 48
FORMATS = {"local": "system-elf-x86_64", "vulkan": "vulkan-spirv-fb"}
DRIVERS = ["local", "local-sync", "vulkan"]


def _base(driver: str) -> str:
    return "local" if driver.startswith("local") else driver


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    """driver kind → {rodata name: bytes} of SOURCE compiled to IREE's VM assembly."""
    if not iree.compiler_available():
        pytest.skip("iree-base-compiler is not installed (pip install polyhal[iree])")
    out = {}
    folder = tmp_path_factory.mktemp("hal-module")
    src = folder / "source.mlir"
    src.write_text(SOURCE)
    for kind in ("local", "vulkan", "cuda"):
        path = folder / f"{kind}.mlir"
        subprocess.run(
            [
                iree.find_iree_compile(),
                str(src),
                *iree.compile_flags(kind),
                "--output-format=vm-asm",
                "-o",
                str(path),
            ],
            check=True,
            capture_output=True,
        )
        text = path.read_text()
        out[kind] = {
            m.group(1): bytes.fromhex(m.group(2))
            for m in re.finditer(r'vm\.rodata private @(\w+) <[^>]*> dense<"0x([0-9A-F]*)">', text)
        }
    return out


@pytest.fixture(params=DRIVERS)
def module(request):
    driver = request.param
    if driver != "local-sync" and driver not in hal.available_drivers():
        pytest.skip(f"no {driver} device here")
    # Checked, whatever the environment says: these tests count on its own allocation per
    # buffer and on the race checker (the slab tests make unchecked devices themselves).
    device = hal.create_device(driver, checked=True)
    mod = HalModule(device)
    yield mod
    mod.close()
    device.close()


def _s(text: str) -> VmBuffer:
    return VmBuffer(memoryview(text.encode()), alignment=1)


def _executable(mod: HalModule, compiled, name: str):
    """What a module's __init does: find the device, check the format, create."""
    call = mod.imports
    kind = _base(mod.device.driver)
    fmt = FORMATS[kind]
    assert call["hal.devices.count"]() == 1
    device = call["hal.devices.get"](0)
    assert device is mod.device
    assert call["hal.devices.get"](1) is None
    pattern = "local*" if kind == "local" else kind
    assert call["hal.device.query.i64"](device, _s("hal.device.id"), _s(pattern)) == (1, 1)
    assert call["hal.device.query.i64"](device, _s("hal.device.id"), _s("cuda")) == (1, 0)
    assert call["hal.device.query.i64"](device, _s("hal.executable.format"), _s(fmt)) == (1, 1)
    assert call["hal.device.query.i64"](device, _s("hal.nothing"), _s("x")) == (0, 0)
    assert call["hal.device.query.i64"](device, _s("hal.device"), _s("concurrency")) == (1, 1)
    blob = VmBuffer(memoryview(compiled[kind][name]), alignment=16)
    return call["hal.executable.create"](device, -1, _s(fmt), blob, None)


def _blob_name(compiled, kind: str, function: str) -> str:
    names = [n for n in compiled[kind] if n.endswith(FORMATS[kind].replace("-", "_"))]
    if kind == "local":
        assert len(names) == 1  # one linked library for every function
        return names[0]
    return next(n for n in names if n.startswith(function))


def test_memoized_add_replays_with_a_binding_table(module, compiled):
    """``__add_memoize_apply`` records the dispatch once with slots; each call binds the
    arguments and a queue-allocated result through ``queue.execute.indirect``."""
    call = module.imports
    device = module.device
    exe = _executable(module, compiled, _blob_name(compiled, _base(device.driver), "add"))
    fn = call["hal.executable.lookup.function"](exe, _s("add_dispatch_0_elementwise_16_f32"))
    assert fn == exe.lookup("add_dispatch_0_elementwise_16_f32")
    cb = call["hal.command_buffer.create"](device, 0, 3, -1, 3)
    bindings = [(0, slot, None, 0, 64) for slot in range(3)]
    call["hal.command_buffer.dispatch"](cb, exe, fn, 1, 1, 1, 0, [], bindings)
    call["hal.command_buffer.execution_barrier"](cb, 28, 13, 0)
    call["hal.command_buffer.finalize"](cb)

    rng = np.random.default_rng(0)
    for _ in range(3):  # the recording is replayed on new buffers every call
        a, b = (rng.standard_normal(16).astype(np.float32) for _ in range(2))
        args = [module.view_of_array(a), module.view_of_array(b)]
        allocator = call["hal.device.allocator"](device)
        buffers = []
        for view in args:
            call["hal.buffer_view.assert"](view, _s("input"), F32, 1, [16])
            buffer = call["hal.buffer_view.buffer"](view)
            call["hal.buffer.assert"](buffer, _s("tensor"), allocator, 64, 16, USAGE)
            buffers.append(buffer)
        ready = call["hal.fence.create"](device, 0)
        out = call["hal.device.queue.alloca"](
            device, -1, None, ready, 0, DEVICE_LOCAL, USAGE, 64, 0
        )
        done = call["hal.fence.create"](device, 0)
        table = [(buffers[0], 0, 64), (buffers[1], 0, 64), (out, 0, 64)]
        call["hal.device.queue.execute.indirect"](device, -1, ready, done, cb, 0, table)
        assert call["hal.fence.await"](-1, 0, [done]) == 0
        assert call["hal.fence.query"](done) == 0
        view = call["hal.buffer_view.create"](out, 0, 64, F32, 1, [16])
        np.testing.assert_array_equal(view.to_numpy(), a + b)


@pytest.mark.parametrize("driver", ["local", "vulkan"])
def test_replays_check_every_table(driver, compiled):
    """Unchecked replays of one recorded command buffer (the short submit path, which
    skips a slot check it already passed for a table of the same lengths and usages)
    still refuse a table entry too short, or lacking the dispatch usage, after good ones."""
    if driver not in hal.available_drivers():
        pytest.skip(f"no {driver} device here")
    with hal.create_device(driver, checked=False) as device:
        mod = HalModule(device)
        call = mod.imports
        exe = _executable(mod, compiled, _blob_name(compiled, _base(driver), "add"))
        fn = call["hal.executable.lookup.function"](exe, _s("add_dispatch_0_elementwise_16_f32"))
        cb = call["hal.command_buffer.create"](device, 0, 3, -1, 3)
        bindings = [(0, slot, None, 0, 64) for slot in range(3)]
        call["hal.command_buffer.dispatch"](cb, exe, fn, 1, 1, 1, 0, [], bindings)
        call["hal.command_buffer.finalize"](cb)
        a = device.buffer_from(np.arange(16, dtype=np.float32))

        def run(*table):
            done = call["hal.fence.create"](device, 0)
            call["hal.device.queue.execute.indirect"](device, -1, None, done, cb, 0, list(table))
            assert call["hal.fence.await"](-1, 0, [done]) == 0

        for _ in range(2):
            out = call["hal.device.queue.alloca"](device, -1, None, None, 0, 48, USAGE, 64, 0)
            run((a, 0, 64), (a, 0, 64), (out, 0, 64))
            device.wait_idle()
            np.testing.assert_array_equal(out.to_numpy(np.float32), 2 * np.arange(16))
        out = call["hal.device.queue.alloca"](device, -1, None, None, 0, 48, USAGE, 64, 0)
        with pytest.raises(hal.OutOfRangeError):
            run((a, 0, 64), (a, 0, 64), (out, 0, 32))
        plain = device.allocate_buffer(64, usage=hal.BufferUsage.TRANSFER)
        with pytest.raises(hal.PermissionDeniedError):
            run((a, 0, 64), (a, 0, 64), (plain, 0, 64))
        run((a, 0, 64), (a, 0, 64), (out, 0, 64))
        mod.close()


@pytest.mark.parametrize("behind_a_wait", [False, True])
def test_executes_signal_fences_without_semaphores(behind_a_wait, compiled):
    """A submission signalling a fence with no semaphore signals a pooled one: work that
    finished before the call returned leaves the fence reached (the semaphore serves the
    next call); work still to run (here: behind a wait) gives the fence its timepoint."""
    with hal.create_device("local", checked=False) as device:
        mod = HalModule(device)
        call = mod.imports
        exe = _executable(mod, compiled, _blob_name(compiled, "local", "add"))
        fn = call["hal.executable.lookup.function"](exe, _s("add_dispatch_0_elementwise_16_f32"))
        cb = call["hal.command_buffer.create"](device, 0, 3, -1, 3)
        bindings = [(0, slot, None, 0, 64) for slot in range(3)]
        call["hal.command_buffer.dispatch"](cb, exe, fn, 1, 1, 1, 0, [], bindings)
        call["hal.command_buffer.finalize"](cb)
        a = device.buffer_from(np.arange(16, dtype=np.float32))
        for _ in range(3):
            gate = call["hal.fence.create"](device, 0) if behind_a_wait else None
            if gate is not None:
                gate.timepoints  # noqa: B018 - a semaphore, signalled below
            out = call["hal.device.queue.alloca"](device, -1, None, None, 0, 48, USAGE, 64, 0)
            done = call["hal.fence.create"](device, 0)
            table = [(a, 0, 64), (a, 0, 64), (out, 0, 64)]
            call["hal.device.queue.execute.indirect"](device, -1, gate, done, cb, 0, table)
            assert done.reached_on_host != behind_a_wait
            # A one-shot copy of the result behind it, signalling a fresh fence too.
            copy = call["hal.command_buffer.create"](device, 1, 3, -1, 0)
            target = call["hal.device.queue.alloca"](device, -1, None, None, 0, 48, USAGE, 64, 0)
            call["hal.command_buffer.copy_buffer"](copy, 0, 0, out, 0, target, 0, 64, 0)
            call["hal.command_buffer.finalize"](copy)
            copied = call["hal.fence.create"](device, 0)
            call["hal.device.queue.execute"](device, -1, done, copied, copy, 0)
            if gate is not None:
                assert call["hal.fence.query"](copied) == 17
                assert call["hal.fence.await"](10, 0, [copied]) == 4
                call["hal.fence.signal"](gate)
            assert call["hal.fence.await"](-1, 0, [copied]) == 0
            assert call["hal.fence.query"](done) == 0
            device.wait_idle()
            np.testing.assert_array_equal(out.to_numpy(np.float32), 2 * np.arange(16))
            np.testing.assert_array_equal(target.to_numpy(np.float32), 2 * np.arange(16))
            with pytest.raises(hal.InvalidArgumentError):  # reached: a second signal fails
                call["hal.fence.signal"](done)
        if not behind_a_wait:
            assert len(mod._signal_pool) == 1  # one semaphore served every submission
        mod.close()


def test_a_fence_adopting_a_timepoint_after_it_got_a_semaphore():
    """Fence.adopt on a fence that got its own semaphore meanwhile: that one follows the
    adopted timepoint, signalled or failed with it."""
    with hal.create_device("local-sync", checked=False) as device:
        for fail in (False, True):
            fence = Fence(None, device)
            own, value = fence.timepoints[0]
            sem = device.create_semaphore(0)
            fence.adopt((sem, 1))
            assert not own.reached(value)
            if fail:
                sem.fail(hal.StatusCode.DATA_LOSS, "kernel fault")
                with pytest.raises(hal.DataLossError):
                    own.wait(value, 1.0)
            else:
                sem.signal(1)
                own.wait(value, 1.0)


def test_concurrent_dispatches_reading_one_buffer(module, compiled):
    """Two dispatches between the same barriers read the same arguments, as IREE records
    independent dispatches; checked mode (this suite's) must not call that a race."""
    call = module.imports
    device = module.device
    assert device.checked
    exe = _executable(module, compiled, _blob_name(compiled, _base(device.driver), "add"))
    fn = call["hal.executable.lookup.function"](exe, _s("add_dispatch_0_elementwise_16_f32"))
    cb = call["hal.command_buffer.create"](device, 0, 3, -1, 4)
    for out_slot in (2, 3):
        bindings = [(0, 0, None, 0, 64), (0, 1, None, 0, 64), (0, out_slot, None, 0, 64)]
        call["hal.command_buffer.dispatch"](cb, exe, fn, 1, 1, 1, 0, [], bindings)
    call["hal.command_buffer.execution_barrier"](cb, 28, 13, 0)
    call["hal.command_buffer.finalize"](cb)
    a = device.buffer_from(np.arange(16, dtype=np.float32))
    b = device.buffer_from(np.ones(16, dtype=np.float32))
    outs = [device.allocate_buffer(64) for _ in range(2)]
    done = call["hal.fence.create"](device, 0)
    table = [(a, 0, 64), (b, 0, 64), (outs[0], 0, 64), (outs[1], 0, 64)]
    call["hal.device.queue.execute.indirect"](device, -1, None, done, cb, 0, table)
    assert call["hal.fence.await"](-1, 0, [done]) == 0
    for out in outs:
        np.testing.assert_array_equal(out.to_numpy(np.float32), np.arange(16) + 1)


def test_indirect_dispatch_reads_its_workgroup_count(module, compiled):
    """dispatch.indirect: the count comes from a buffer when the command runs, here
    through a binding-table slot as IREE records it."""
    call = module.imports
    device = module.device
    exe = _executable(module, compiled, _blob_name(compiled, _base(device.driver), "add"))
    fn = call["hal.executable.lookup.function"](exe, _s("add_dispatch_0_elementwise_16_f32"))
    cb = call["hal.command_buffer.create"](device, 1, 3, -1, 4)
    bindings = [(0, slot, None, 0, 64) for slot in range(3)]
    call["hal.command_buffer.dispatch.indirect"](cb, exe, fn, 3, None, 0, 0, [], bindings)
    call["hal.command_buffer.execution_barrier"](cb, 28, 13, 0)
    call["hal.command_buffer.finalize"](cb)
    a = device.buffer_from(np.arange(16, dtype=np.float32))
    out = device.allocate_buffer(64)
    counts = device.buffer_from(np.array([1, 1, 1], dtype=np.uint32))
    done = call["hal.fence.create"](device, 0)
    table = [(a, 0, 64), (a, 0, 64), (out, 0, 64), (counts, 0, 12)]
    call["hal.device.queue.execute.indirect"](device, -1, None, done, cb, 0, table)
    call["hal.device.queue.flush"](device, -1)
    assert call["hal.fence.await"](-1, 0, [done]) == 0
    np.testing.assert_array_equal(out.to_numpy(np.float32), np.arange(16) * 2)


def test_one_shot_dynamic_dispatch_with_push_constants(module, compiled):
    """A dynamic shape: the program records a one-shot command buffer per call, with the
    dimension as push constants and the workgroup count it computed."""
    call = module.imports
    device = module.device
    exe = _executable(module, compiled, _blob_name(compiled, _base(device.driver), "scale"))
    name = next(e.name for e in exe.executable.entry_points if e.name.startswith("scale"))
    fn = call["hal.executable.lookup.function"](exe, _s(name))
    n = 1000
    a = np.arange(n, dtype=np.float32)
    view_a, view_s = module.view_of_array(a), module.view_of_array(np.float32(2.5))
    assert call["hal.buffer_view.rank"](view_a) == 1
    assert call["hal.buffer_view.dim"](view_a, 0) == n
    assert call["hal.buffer_view.element_type"](view_a) == F32
    call["hal.buffer_view.assert"](view_s, _s("input1"), F32, 1, [])
    ready = call["hal.fence.create"](device, 0)
    out = call["hal.device.queue.alloca"](device, -1, None, ready, 0, DEVICE_LOCAL, USAGE, 4 * n, 0)
    cb = call["hal.command_buffer.create"](device, 1, 3, -1, 0)
    # The workgroup count the program derives: ceil(n / tile) on CPU, ceil(n / 64) on GPU.
    tile = 4096 if _base(device.driver) == "local" else 64
    count = -(-n // tile)
    bindings = [
        (0, 0, call["hal.buffer_view.buffer"](view_a), 0, 4 * n),
        (0, 0, call["hal.buffer_view.buffer"](view_s), 0, 4),
        (0, 0, out, 0, 4 * n),
    ]
    call["hal.command_buffer.dispatch"](cb, exe, fn, count, 1, 1, 0, [n, 0], bindings)
    call["hal.command_buffer.execution_barrier"](cb, 28, 13, 0)
    call["hal.command_buffer.finalize"](cb)
    done = call["hal.fence.create"](device, 0)
    call["hal.device.queue.execute"](device, -1, ready, done, cb, 0)
    assert call["hal.fence.await"](-1, 0, [done]) == 0
    result = call["hal.buffer_view.create"](out, 0, 4 * n, F32, 1, [n])
    np.testing.assert_array_equal(result.to_numpy(), a * np.float32(2.5))


def test_queue_transfers_and_host_access(module):
    """fill, update, copy, load and store, ordered by fences; dealloca at the end."""
    call = module.imports
    device = module.device
    f1, f2, f3, f4 = (call["hal.fence.create"](device, 0) for _ in range(4))
    buf = call["hal.device.queue.alloca"](device, -1, None, f1, 0, DEVICE_LOCAL, USAGE, 64, 0)
    call["hal.device.queue.fill"](device, -1, f1, f2, buf, 0, -1, 0x01020304, 4, 0)
    call["hal.device.queue.update"](
        device, -1, f2, f3, VmBuffer(memoryview(b"\xff\xfe")), 0, buf, 8, 2, 0
    )
    other = call["hal.allocator.allocate"](call["hal.device.allocator"](device), -1, 48, USAGE, 64)
    call["hal.device.queue.copy"](device, -1, f3, f4, buf, 0, other, 0, 64, 0)
    joined = call["hal.fence.join"](0, [f3, None, f4])
    assert call["hal.fence.await"](-1, 0, [joined]) == 0
    assert call["hal.buffer.length"](other) == 64
    assert call["hal.buffer.load"](other, 0, 4) == 0x01020304
    assert call["hal.buffer.load"](other, 8, 2) == 0xFEFF
    assert call["hal.buffer.load"](other, 8, 4) == 0x0102FEFF
    call["hal.buffer.store"](-1, other, 60, 4)
    assert call["hal.buffer.load"](other, 60, 4) == -1  # i32 results are signed
    sub = call["hal.buffer.subspan"](other, 8, 8)
    assert call["hal.buffer.length"](sub) == 8
    assert call["hal.buffer.load"](sub, 0, 1) == 0xFF
    gone = call["hal.fence.create"](device, 0)
    call["hal.device.queue.dealloca"](device, -1, None, gone, buf, 0)
    call["hal.device.queue.barrier"](device, -1, gone, None, 0)
    assert call["hal.fence.await"](-1, 0, [gone]) == 0
    with pytest.raises(hal.FailedPreconditionError):
        buf.read()


def test_alloca_waits_for_its_fence(module):
    """An alloca behind a wait fence signals only once that fence is reached."""
    call = module.imports
    device = module.device
    before, after = call["hal.fence.create"](device, 0), call["hal.fence.create"](device, 0)
    buffer = call["hal.device.queue.alloca"](device, -1, before, after, 0, 48, USAGE, 32, 0)
    assert call["hal.buffer.length"](buffer) == 32
    assert call["hal.fence.query"](after) == 17
    call["hal.fence.signal"](before)
    assert call["hal.fence.await"](-1, 0, [after]) == 0


@pytest.mark.parametrize("driver", DRIVERS)
def test_small_buffers_share_slabs_without_aliasing(driver):
    """Unchecked, small allocations are carved from slabs: distinct ranges, and a
    deallocation of one leaves its neighbours usable."""
    if driver != "local-sync" and driver not in hal.available_drivers():
        pytest.skip(f"no {driver} device here")
    with hal.create_device(driver, checked=False) as device:
        mod = HalModule(device)
        call = mod.imports
        buffers = []
        for i in range(40):
            fence = call["hal.fence.create"](device, 0)
            buffer = call["hal.device.queue.alloca"](device, -1, None, fence, 0, 48, USAGE, 100, 0)
            assert call["hal.fence.query"](fence) == 0
            assert buffer.size == 100
            call["hal.device.queue.fill"](device, -1, fence, None, buffer, 0, 100, i, 1, 0)
            buffers.append(buffer)
        assert len({b.alloc for b in buffers}) < len(buffers)  # shared slabs
        gone = call["hal.fence.create"](device, 0)
        call["hal.device.queue.dealloca"](device, -1, None, gone, buffers[0], 0)
        assert call["hal.fence.await"](-1, 0, [gone]) == 0
        device.wait_idle()
        for i, buffer in enumerate(buffers[1:], 1):
            assert buffer.read() == bytes([i]) * 100
        assert call["hal.buffer.load"](buffers[5], 96, 4) == 0x05050505
        with pytest.raises(hal.OutOfRangeError):
            call["hal.buffer.load"](buffers[5], 98, 4)
        # A caller who deallocates a result releases its slab; later allocations go on.
        device.queue_dealloca(buffers[-1])
        device.wait_idle()
        with pytest.raises(hal.FailedPreconditionError):
            buffers[-2].read()
        fresh = call["hal.device.queue.alloca"](device, -1, None, None, 0, 48, USAGE, 100, 0)
        assert fresh.alloc is not buffers[-1].alloc
        mod.close()


@pytest.mark.parametrize("driver", DRIVERS)
def test_fences_without_semaphores(driver):
    """A fence signalled by an operation the host finishes at once (an alloca or dealloca
    of slab memory with its waits reached) gets no semaphore, and behaves as a fence:
    queries, waits, joins, a second signal's error, a queue operation waiting on it."""
    if driver != "local-sync" and driver not in hal.available_drivers():
        pytest.skip(f"no {driver} device here")
    with hal.create_device(driver, checked=False) as device:
        mod = HalModule(device)
        call = mod.imports
        a, b = call["hal.fence.create"](device, 0), call["hal.fence.create"](device, 0)
        buf = call["hal.device.queue.alloca"](device, -1, None, a, 0, 48, USAGE, 64, 0)
        assert a.reached_on_host and "no semaphore" in repr(a)
        assert call["hal.fence.query"](a) == 0
        assert call["hal.fence.await"](0, 0, [a]) == 0
        joined = call["hal.fence.join"](0, [a, None])
        assert isinstance(joined, Fence) and call["hal.fence.query"](joined) == 0
        # A queue operation behind it runs at once; one behind a pending fence waits.
        call["hal.device.queue.fill"](device, -1, a, b, buf, 0, 64, 7, 1, 0)
        assert call["hal.fence.await"](-1, 0, [b]) == 0
        assert call["hal.buffer.load"](buf, 60, 4) == 0x07070707
        pending, after = call["hal.fence.create"](device, 0), call["hal.fence.create"](device, 0)
        mixed = call["hal.fence.join"](0, [a, pending])
        call["hal.device.queue.fill"](device, -1, mixed, after, buf, 0, 4, 9, 1, 0)
        assert call["hal.fence.query"](after) == 17
        assert call["hal.fence.await"](10, 0, [after]) == 4
        call["hal.fence.signal"](pending)
        assert call["hal.fence.await"](-1, 0, [after]) == 0
        assert call["hal.buffer.load"](buf, 0, 4) == 0x09090909
        # Signalled twice: the error a semaphore gives.
        with pytest.raises(hal.InvalidArgumentError):
            call["hal.fence.signal"](a)
        # A dealloca of slab memory whose waits are reached signals at once, too.
        gone = call["hal.fence.create"](device, 0)
        call["hal.device.queue.dealloca"](device, -1, a, gone, buf, 0)
        assert gone.reached_on_host
        failed = call["hal.fence.create"](device, 0)
        call["hal.fence.fail"](failed, 13)
        assert call["hal.fence.query"](failed) == 13
        mod.close()
    with pytest.raises(hal.FailedPreconditionError):
        call["hal.fence.create"](device, 0)  # a closed device: as create_semaphore


@pytest.mark.parametrize("driver", DRIVERS)
def test_queue_copy_between_slab_buffers(driver):
    """A queue copy between slab buffers with its waits reached is done at once (host
    views), with the queue's checks: a range outside a buffer or an overlap still raises,
    and a copy behind a pending fence waits for it."""
    if driver != "local-sync" and driver not in hal.available_drivers():
        pytest.skip(f"no {driver} device here")
    with hal.create_device(driver, checked=False) as device:
        mod = HalModule(device)
        call = mod.imports
        ready = call["hal.fence.create"](device, 0)
        src = call["hal.device.queue.alloca"](device, -1, None, None, 0, 48, USAGE, 64, 0)
        dst = call["hal.device.queue.alloca"](device, -1, None, None, 0, 48, USAGE, 64, 0)
        call["hal.device.queue.update"](
            device, -1, None, ready, VmBuffer(memoryview(bytes(range(64)))), 0, src, 0, 64, 0
        )
        assert call["hal.fence.await"](-1, 0, [ready]) == 0
        done = call["hal.fence.create"](device, 0)
        call["hal.device.queue.copy"](device, -1, ready, done, src, 8, dst, 16, 32, 0)
        assert call["hal.fence.await"](-1, 0, [done]) == 0
        device.wait_idle()
        assert dst.read(16, 32) == bytes(range(8, 40))
        with pytest.raises(hal.OutOfRangeError):
            call["hal.device.queue.copy"](device, -1, None, None, src, 40, dst, 0, 32, 0)
        with pytest.raises(hal.InvalidArgumentError):  # overlapping ranges of one buffer
            call["hal.device.queue.copy"](device, -1, None, None, src, 0, src, 8, 16, 0)
        gate, after = call["hal.fence.create"](device, 0), call["hal.fence.create"](device, 0)
        call["hal.device.queue.copy"](device, -1, gate, after, src, 0, dst, 0, 8, 0)
        assert call["hal.fence.query"](after) == 17
        call["hal.fence.signal"](gate)
        assert call["hal.fence.await"](-1, 0, [after]) == 0
        device.wait_idle()
        assert dst.read(0, 8) == bytes(range(8))
        mod.close()


@pytest.mark.parametrize("checked", [False, True])
def test_calls_again_with_the_same_buffers(checked):
    """A function called again with the same Buffer arguments (whose views polyhal keeps)
    reads their current contents, and takes other buffers as well."""
    if not iree.compiler_available():
        pytest.skip("iree-base-compiler is not installed (pip install polyhal[iree])")
    with hal.create_device("local", checked=checked) as device:
        mod = iree.load_mlir(SOURCE, device)
        x = device.buffer_from(np.arange(16, dtype=np.float32))
        y = device.buffer_from(np.ones(16, dtype=np.float32))
        for k in range(3):
            x.write(np.full(16, k, dtype=np.float32))
            np.testing.assert_array_equal(mod.add(x, y, numpy=True), np.full(16, k + 1.0))
        z = device.buffer_from(np.full(16, 5, dtype=np.float32))
        np.testing.assert_array_equal(mod.add(z, y, numpy=True), np.full(16, 6.0))
        np.testing.assert_array_equal(mod.add(x, x, numpy=True), np.full(16, 4.0))
        with pytest.raises(hal.OutOfRangeError):  # too small for the declared shape
            mod.add(device.buffer_from(np.ones(8, dtype=np.float32)), y)
        mod.close()


def test_files_from_host_memory(module):
    """hal.ex.file.from_memory, then queue.read into a buffer and queue.write out of one,
    each after its wait fence."""
    call = module.imports
    device = module.device
    source = VmBuffer(memoryview(bytes(range(64))))
    file = call["hal.ex.file.from_memory"](device, -1, 1, source, 0, 64, 0)
    buffer = device.allocate_buffer(32)
    start, read = call["hal.fence.create"](device, 0), call["hal.fence.create"](device, 0)
    call["hal.device.queue.read"](device, -1, start, read, file, 16, buffer, 0, 32, 0)
    assert call["hal.fence.query"](read) == 17  # behind its wait
    call["hal.fence.signal"](start)
    assert call["hal.fence.await"](-1, 0, [read]) == 0
    assert buffer.read() == bytes(range(16, 48))
    target = VmBuffer(bytearray(40))
    out = call["hal.ex.file.from_memory"](device, -1, 3, target, 0, 40, 0)
    wrote = call["hal.fence.create"](device, 0)
    call["hal.device.queue.write"](device, -1, read, wrote, buffer, 4, out, 8, 16, 0)
    assert call["hal.fence.await"](-1, 0, [wrote]) == 0
    assert bytes(target.data) == bytes(8) + bytes(range(20, 36)) + bytes(16)
    with pytest.raises(hal.PermissionDeniedError):
        call["hal.device.queue.write"](device, -1, None, None, buffer, 0, file, 0, 4, 0)
    with pytest.raises(hal.PermissionDeniedError):
        call["hal.ex.file.from_memory"](device, -1, 3, source, 0, 64, 0)


def test_threads_share_a_module():
    """Several threads run one program's calls at once: each gets its own results."""
    if not iree.compiler_available():
        pytest.skip("iree-base-compiler is not installed (pip install polyhal[iree])")
    from concurrent.futures import ThreadPoolExecutor

    from polyhal.iree import module as iree_module

    with hal.create_device("local", checked=False) as device:
        mod = iree_module.load_mlir(SOURCE, device)

        def run(seed: int) -> bool:
            rng = np.random.default_rng(seed)
            ok = True
            for _ in range(50):
                a, b = (rng.standard_normal(16).astype(np.float32) for _ in range(2))
                ok &= bool(np.array_equal(mod.add(a, b, numpy=True), a + b))
            return ok

        with ThreadPoolExecutor(4) as pool:
            assert all(pool.map(run, range(8)))
        mod.close()


def test_command_buffer_transfers_through_slots(module):
    """fill / update / copy recorded once with slots, replayed on two tables."""
    call = module.imports
    device = module.device
    cb = call["hal.command_buffer.create"](device, 0, 1, -1, 2)
    call["hal.command_buffer.begin_debug_group"](cb, _s("transfers"))
    call["hal.command_buffer.fill_buffer"](cb, None, 0, 16, 0, 7, 1, 0)
    abcd = VmBuffer(memoryview(b"abcd"))
    call["hal.command_buffer.update_buffer"](cb, abcd, 0, None, 16, 4, 0, 0)
    call["hal.command_buffer.execution_barrier"](cb, 28, 13, 0)
    call["hal.command_buffer.copy_buffer"](cb, 0, 1, None, 0, None, 0, 32, 0)
    call["hal.command_buffer.end_debug_group"](cb)
    call["hal.command_buffer.finalize"](cb)
    for _ in range(2):
        a = device.allocate_buffer(32)
        b = device.allocate_buffer(32)
        done = call["hal.fence.create"](device, 0)
        call["hal.device.queue.execute.indirect"](
            device, -1, None, done, cb, 0, [(a, 0, -1), (b, 0, 32)]
        )
        assert call["hal.fence.await"](-1, 0, [done]) == 0
        assert b.read(0, 20) == b"\x07" * 16 + b"abcd"
    # A null entry is an unused slot: fine in a longer table, an error where it is used.
    done = call["hal.fence.create"](device, 0)
    call["hal.device.queue.execute.indirect"](
        device, -1, None, done, cb, 0, [(a, 0, 32), (b, 0, 32), (None, 0, 0)]
    )
    assert call["hal.fence.await"](-1, 0, [done]) == 0
    with pytest.raises(hal.OutOfRangeError):
        call["hal.device.queue.execute.indirect"](
            device, -1, None, None, cb, 0, [(a, 0, 32), (None, 0, 0)]
        )


def test_fences_signal_fail_and_time_out(module):
    call = module.imports
    device = module.device
    fence = call["hal.fence.create"](device, 0)
    assert isinstance(fence, Fence)
    assert call["hal.fence.query"](fence) == 17  # IREE_STATUS_DEFERRED
    assert call["hal.fence.await"](0, 0, [fence]) == 4  # deadline exceeded
    assert call["hal.fence.await"](10, 0, [fence]) == 4
    call["hal.fence.signal"](fence)
    assert call["hal.fence.query"](fence) == 0
    assert call["hal.fence.await"](0, 0, [fence, None]) == 0
    assert call["hal.fence.join"](0, [None]) is None
    failed = call["hal.fence.create"](device, 0)
    after = call["hal.fence.create"](device, 0)
    call["hal.device.queue.barrier"](device, -1, failed, after, 0)
    call["hal.fence.fail"](failed, 13)
    assert call["hal.fence.query"](failed) == 13
    with pytest.raises(hal.InternalError):
        call["hal.fence.await"](-1, 0, [after])
    odd = call["hal.fence.create"](device, 0)
    call["hal.fence.fail"](odd, 0)  # no code: UNKNOWN
    assert call["hal.fence.query"](odd) == 2


def test_asserts_raise_the_status_iree_would(module):
    call = module.imports
    view = module.view_of_array(np.zeros((2, 3), np.int32))
    call["hal.buffer_view.assert"](view, _s("ok"), 0x10000020, 1, [2, 3])  # signless i32
    with pytest.raises(hal.InvalidArgumentError, match="arg0 shape"):
        call["hal.buffer_view.assert"](view, _s("arg0"), 0x10000020, 1, [3, 2])
    with pytest.raises(hal.InvalidArgumentError, match="element type"):
        call["hal.buffer_view.assert"](view, _s("arg0"), F32, 1, [2, 3])
    with pytest.raises(hal.InvalidArgumentError, match="encoding"):
        call["hal.buffer_view.assert"](view, _s("arg0"), 0x10000020, 2, [2, 3])
    allocator = call["hal.device.allocator"](module.device)
    buffer = call["hal.buffer_view.buffer"](view)
    with pytest.raises(hal.InvalidArgumentError, match="less than expected"):
        call["hal.buffer.assert"](buffer, _s("tensor"), allocator, 25, 16, USAGE)
    narrow = module.device.allocate_buffer(24, usage=hal.BufferUsage.TRANSFER)
    with pytest.raises(hal.PermissionDeniedError):
        call["hal.buffer.assert"](narrow, _s("tensor"), allocator, 24, 16, USAGE)
    with pytest.raises(hal.InvalidArgumentError):
        call["hal.buffer.load"](buffer, 0, 8)
    with pytest.raises(hal.OutOfRangeError):
        call["hal.buffer.store"](1, buffer, 22, 4)


def test_unsupported_imports_raise_unimplemented(module):
    call = module.imports
    device = module.device
    with pytest.raises(hal.UnimplementedError, match="collectives"):
        call["hal.channel.create"](device, -1, 0, None, None, 0, 1)
    cb = call["hal.command_buffer.create"](device, 1, 3, -1, 0)
    with pytest.raises(hal.UnimplementedError, match="collectives"):
        call["hal.command_buffer.collective"](cb, None, 0, 0, 0, 0, None, None, 0, 0, 0, 0, 0)
    with pytest.raises(hal.UnimplementedError, match="pool"):
        call["hal.device.queue.alloca"](device, -1, None, None, 3, 48, USAGE, 16, 0)
    with pytest.raises(hal.UnimplementedError, match="format"):
        call["hal.executable.create"](device, -1, _s("vmvx-bytecode-fb"), _s("x"), None)
    with pytest.raises(hal.UnimplementedError, match="8-byte fill"):
        call["hal.command_buffer.fill_buffer"](cb, None, 0, 16, 0, 1, 8, 0)


def test_values_of_the_wrong_kind_raise_invalid_argument(module):
    """A null or foreign ref where an import needs one: INVALID_ARGUMENT, as IREE's
    argument checks return, from the hot imports and the others alike."""
    call = module.imports
    device = module.device
    fence = call["hal.fence.create"](device, 0)
    for name, args in [
        ("hal.buffer_view.buffer", (None,)),
        ("hal.buffer_view.dim", (fence, 0)),
        ("hal.fence.await", (-1, 0, [device])),
        ("hal.device.queue.execute", (device, -1, None, fence, None, 0)),
        ("hal.device.queue.alloca", (device, -1, device, None, 0, 48, USAGE, 16, 0)),
        ("hal.command_buffer.finalize", (fence,)),
        ("hal.buffer.length", (None,)),
        ("hal.fence.query", (None,)),
        ("hal.executable.lookup.function", (None, _s("x"))),
        ("hal.device.allocator", (object(),)),
    ]:
        with pytest.raises(hal.InvalidArgumentError):
            call[name](*args)


def test_allocator_select_import_and_view_queries(module):
    call = module.imports
    device = module.device
    assert call["hal.allocator.select"](48, USAGE, 0, [(device, -1)]) == (device, -1)
    allocator = call["hal.device.allocator"](device)
    rodata = VmBuffer(memoryview(bytes(range(32))))
    immutable = USAGE | 1 << 19  # SHARING_IMMUTABLE: a copy is as good as an alias
    buffer = call["hal.allocator.import"](allocator, 1, -1, 48, immutable, rodata, 8, 16)
    assert buffer.read() == bytes(range(8, 24))
    # Mutable host memory cannot be aliased: a "try" import returns null, others fail.
    mutable = VmBuffer(bytearray(16))
    assert call["hal.allocator.import"](allocator, 1, -1, 48, USAGE, mutable, 0, -1) is None
    with pytest.raises(hal.UnimplementedError):
        call["hal.allocator.import"](allocator, 0, -1, 48, USAGE, mutable, 0, -1)
    view = call["hal.buffer_view.create"](buffer, 4, 8, 0x12000010, 1, [2, 2])
    assert call["hal.buffer_view.encoding_type"](view) == 1
    assert call["hal.buffer_view.rank"](view) == 2
    assert call["hal.buffer_view.buffer"](view).size == 8
    assert view.to_numpy().tolist() == [[0x0D0C, 0x0F0E], [0x1110, 0x1312]]
    assert call["hal.buffer_view.trace"](_s("key"), [view]) is None


def test_allocation_preserve_and_discard_count_owners(module):
    call = module.imports
    buffer = module.device.allocate_buffer(16)
    assert call["hal.buffer.allocation.is_terminal"](buffer) == 1
    call["hal.buffer.allocation.preserve"](buffer)
    assert call["hal.buffer.allocation.is_terminal"](buffer) == 0
    assert call["hal.buffer.allocation.discard"](call["hal.buffer.subspan"](buffer, 0, 8)) == 0
    assert call["hal.buffer.allocation.is_terminal"](buffer) == 1
    assert call["hal.buffer.allocation.discard"](buffer) == 1
    assert call["hal.buffer.allocation.discard"](buffer) == 0  # no owner left


def test_element_types():
    assert element_type_of(np.float32) == F32
    assert dtype_of(F32) == np.float32
    assert dtype_of(0x10000008) == np.int8  # signless i8
    assert dtype_of(0x13000008) == np.bool_
    with pytest.raises(hal.UnimplementedError, match="0x10000004"):
        dtype_of(0x10000004)  # i4: numpy holds no packed 4-bit integers
    with pytest.raises(hal.UnimplementedError):
        element_type_of(np.dtype("U3"))


def test_bfloat16_through_ml_dtypes():
    ml_dtypes = pytest.importorskip("ml_dtypes")
    assert dtype_of(0x22000010) == ml_dtypes.bfloat16
    assert element_type_of(ml_dtypes.float8_e4m3fn) == 0x25000008


def test_view_of_buffer_checks_its_size(module):
    buffer = module.device.buffer_from(np.arange(8, dtype=np.int32))
    view = module.view_of_buffer(buffer, np.int32, (2, 2), offset=16)
    assert isinstance(view, BufferView)
    np.testing.assert_array_equal(view.to_numpy(), [[4, 5], [6, 7]])
    with pytest.raises(hal.OutOfRangeError):
        module.view_of_buffer(buffer, np.int32, (3, 3))


def test_cuda_flatbuffer_becomes_ptx_entry_points(compiled):
    """cuda-nvptx-fb (no GPU needed to read it): kernel names, block sizes, push
    constants and read-only bindings from the flatbuffer, the PTX as format "ptx"."""
    (blob,) = (v for k, v in compiled["cuda"].items() if k.endswith("cuda_nvptx_fb"))
    source, functions = hal_executables.cuda_source(blob)
    eps = {ep.name: ep for ep in source.entry_points}
    add = eps["add_dispatch_0_elementwise_16_f32"]
    scale = next(ep for name, ep in eps.items() if name.startswith("scale"))
    assert add.layout.push_constants == 0 and scale.layout.push_constants == 2
    flags = [b.flags for b in add.layout.set_layouts[0].bindings]
    assert flags == [hal.DescriptorFlags.READ_ONLY] * 2 + [hal.DescriptorFlags.NONE]
    assert all(f.sets is None for f in functions)
    assert add.workgroup_size[0] >= 1
    ptx = source.formats["ptx"]
    assert isinstance(ptx, str) and all(f".entry {name}" in ptx for name in eps)


def test_vulkan_flatbuffer_becomes_spirv_entry_points(compiled):
    blob = compiled["vulkan"][_blob_name(compiled, "vulkan", "scale")]
    source, functions = hal_executables.vulkan_source(blob)
    (ep,) = source.entry_points
    assert ep.layout.push_constants == 2 and ep.layout.binding_count == 3
    assert functions[0].sets is None and functions[0].binding_count == 3
    (module,) = source.formats["spirv"].values()
    assert spirv.compute_entry_point_names(module) == [ep.name]


def _swap_bindings(blob: bytes, first: int, second: int) -> bytes:
    """A vulkan-spirv-fb whose descriptor bindings ``first`` and ``second`` trade numbers,
    in the layout and in the SPIR-V alike: the same program, with dispatch binding
    ordinals no longer equal to binding numbers."""
    data = bytearray(blob)
    root = hal_executables._root(bytes(blob), b"VKE1", "vulkan-spirv-fb")
    base = hal_executables._HEADER_SIZE
    swap = {first: second, second: first}
    for layout in root.tables(1):
        for b in layout.tables(0):
            at = base + b.pos + b.fields[0]  # binding:uint32, present when not 0
            number = int.from_bytes(data[at : at + 4], "little")
            data[at : at + 4] = swap.get(number, number).to_bytes(4, "little")
    for module in root.tables(3):
        start = base + module._vector(0, 4)[0]
        code = bytes(data[start : start + len(module.blob(0, 4))])
        words = list(memoryview(code).cast("I"))
        pos = spirv.HEADER_WORDS
        while pos < len(words):
            count, opcode = words[pos] >> 16, words[pos] & 0xFFFF
            if opcode == 71 and count == 4 and words[pos + 2] == 33:  # OpDecorate Binding
                words[pos + 3] = swap.get(words[pos + 3], words[pos + 3])
            pos += count
        data[start : start + len(code)] = np.array(words, dtype=np.uint32).tobytes()
    return bytes(data)


def test_binding_ordinals_follow_the_layout_not_the_numbers(compiled):
    """A pipeline layout whose binding numbers are not the dispatch ordinals: ordinal i
    binds the i-th binding the layout lists (as IREE's Vulkan HAL does)."""
    if "vulkan" not in hal.available_drivers():
        pytest.skip("no vulkan device here")
    blob = _swap_bindings(compiled["vulkan"][_blob_name(compiled, "vulkan", "scale")], 1, 2)
    source, functions = hal_executables.vulkan_source(blob)
    assert functions[0].sets == ((0, (0, 2, 1)),)
    with hal.create_device("vulkan") as device:
        mod = HalModule(device)
        call = mod.imports
        blob_ref = VmBuffer(memoryview(blob))
        exe = call["hal.executable.create"](device, -1, _s("vulkan-spirv-fb"), blob_ref, None)
        n = 100
        a = device.buffer_from(np.arange(n, dtype=np.float32))
        scale = device.buffer_from(np.float32(3).tobytes())
        out = device.allocate_buffer(4 * n)
        cb = call["hal.command_buffer.create"](device, 1, 3, -1, 0)
        bindings = [(0, 0, a, 0, 4 * n), (0, 0, scale, 0, 4), (0, 0, out, 0, 4 * n)]
        call["hal.command_buffer.dispatch"](cb, exe, 0, -(-n // 64), 1, 1, 0, [n, 0], bindings)
        call["hal.command_buffer.finalize"](cb)
        done = call["hal.fence.create"](device, 0)
        call["hal.device.queue.execute"](device, -1, None, done, cb, 0)
        assert call["hal.fence.await"](-1, 0, [done]) == 0
        np.testing.assert_array_equal(out.to_numpy(np.float32), np.arange(n) * 3)
        mod.close()


def test_malformed_executables_raise_invalid_argument(module):
    device = module.device
    kind = _base(device.driver)
    fmt = FORMATS[kind]
    for data in (b"", b"\x7fELF" + b"\0" * 60, b"VKE1" + b"\0" * 60, b"x" * 200):
        with pytest.raises(hal.InvalidArgumentError):
            hal_executables.create_executable(device, fmt, data, None)


# -- whole programs through polyhal.iree.module -----------------------------------------------
PROGRAM = """
func.func @collatz(%arg0: tensor<f32>) -> tensor<f32> {
  %one = arith.constant dense<1.0> : tensor<f32>
  %two = arith.constant dense<2.0> : tensor<f32>
  %three = arith.constant dense<3.0> : tensor<f32>
  %zero = arith.constant dense<0.0> : tensor<f32>
  %r:2 = scf.while (%steps = %zero, %n = %arg0)
      : (tensor<f32>, tensor<f32>) -> (tensor<f32>, tensor<f32>) {
    %gt = arith.cmpf ogt, %n, %one : tensor<f32>
    %c = tensor.extract %gt[] : tensor<i1>
    scf.condition(%c) %steps, %n : tensor<f32>, tensor<f32>
  } do {
  ^bb0(%s: tensor<f32>, %m: tensor<f32>):
    %s1 = arith.addf %s, %one : tensor<f32>
    %rem = arith.remf %m, %two : tensor<f32>
    %odd = arith.cmpf one, %rem, %zero : tensor<f32>
    %up = arith.mulf %m, %three : tensor<f32>
    %up1 = arith.addf %up, %one : tensor<f32>
    %down = arith.divf %m, %two : tensor<f32>
    %next = arith.select %odd, %up1, %down : tensor<i1>, tensor<f32>
    scf.yield %s1, %next : tensor<f32>, tensor<f32>
  }
  return %r#0 : tensor<f32>
}
func.func @offset(%a: tensor<1024xf32>) -> tensor<1024xf32> {
  %c = arith.constant dense<[CONSTANT]> : tensor<1024xf32>
  %r = arith.addf %a, %c : tensor<1024xf32>
  return %r : tensor<1024xf32>
}
func.func @two(%a: tensor<8xi32>) -> (tensor<8xi32>, tensor<i32>) {
  %z = arith.constant dense<0> : tensor<i32>
  %s = linalg.reduce ins(%a : tensor<8xi32>) outs(%z : tensor<i32>) dimensions = [0]
    (%x: i32, %acc: i32) {
      %y = arith.addi %x, %acc : i32
      linalg.yield %y : i32
    }
  return %a, %s : tensor<8xi32>, tensor<i32>
}
""".replace("CONSTANT", ", ".join(f"{i * 0.25}" for i in range(1024)))


def _collatz_steps(n: float) -> int:
    steps = 0
    while n > 1:
        n = 3 * n + 1 if n % 2 else n / 2
        steps += 1
    return steps


@pytest.mark.parametrize("checked", [True, False])
@pytest.mark.parametrize("driver", DRIVERS)
def test_whole_programs_through_load_module(driver, checked):
    """Control flow on device data (hal.buffer.load in a loop), a constant pool
    (allocator.import), several results: the program's host code runs on the imports."""
    if not iree.compiler_available():
        pytest.skip("iree-base-compiler is not installed (pip install polyhal[iree])")
    if driver != "local-sync" and driver not in hal.available_drivers():
        pytest.skip(f"no {driver} device here")
    from polyhal.iree import module as iree_module

    with hal.create_device(driver, checked=checked) as device:
        mod = iree_module.load_mlir(PROGRAM, device)
        for n in (27.0, 1.0, 6.0):
            assert mod.collatz(np.float32(n), numpy=True) == _collatz_steps(n)
        a = np.random.default_rng(1).standard_normal(1024).astype(np.float32)
        for _ in range(2):
            out = mod.offset(a, numpy=True)
            np.testing.assert_array_equal(out, a + np.arange(1024, dtype=np.float32) * 0.25)
        x = np.arange(8, dtype=np.int32) * 3
        same, total = mod.two(x, numpy=True)
        np.testing.assert_array_equal(same, x)
        assert total == x.sum()
        mod.close()
