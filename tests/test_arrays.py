"""Host-visible buffers as arrays without a copy: ``Buffer.as_array``, ``np.asarray`` through
``__array_interface__``, ``memoryview`` (the buffer protocol on Python 3.12+), DLPack for
numpy and PyTorch; views keep the storage alive, and creating one follows checked mode's
hazard rules.  On every driver here plus local-sync (cuda where present: its device memory
has no host mapping, so there only the refusals run)."""

from __future__ import annotations

import gc
import struct
import sys

import numpy as np
import pytest
from conformance import kernels as K

import polyhal as hal
from polyhal.buffer import NotExportableError

DRIVERS = list(dict.fromkeys([*hal.available_drivers(), "local-sync"]))
#: Drivers whose default buffers have a coherent host mapping.
MAPPED = {"local", "local-sync", "vulkan"}
TIMEOUT = 10.0


@pytest.fixture(scope="module", params=DRIVERS)
def driver(request):
    return request.param


@pytest.fixture(scope="module")
def device(driver):
    with hal.create_device(driver, checked=True) as dev:
        yield dev


@pytest.fixture
def mapped(device):
    """Skips on drivers whose buffers have no host mapping (their refusal is tested below)."""
    if device.driver not in MAPPED:
        pytest.skip(f"{device.driver} buffers have no host mapping to view")
    return device


def ints(*values: int) -> bytes:
    return struct.pack(f"<{len(values)}i", *values)


def wait_barrier(device) -> None:
    done = device.create_semaphore(0)
    device.queue_barrier(signal=[(done, 1)])
    done.wait(1, timeout=TIMEOUT)


# -- sharing memory -------------------------------------------------------------------------


def test_asarray_shares_memory_both_ways(mapped):
    buffer = mapped.buffer_from(np.arange(16, dtype=np.uint8))
    array = np.asarray(buffer)
    assert array.dtype == np.uint8 and array.shape == (16,) and array.flags.writeable
    assert array.tolist() == list(range(16))
    array[3] = 200
    assert buffer.read(3, 1) == b"\xc8"
    buffer.write(b"\x07", 5)
    assert array[5] == 7
    assert np.shares_memory(array, buffer.as_array())
    interface = buffer.__array_interface__
    assert interface["shape"] == (16,) and interface["typestr"] == "|u1"
    assert interface["version"] == 3


def test_device_work_is_visible_in_a_view_after_waiting(mapped):
    negate = K.KernelCache(mapped)("negate_double")
    x, y = mapped.buffer_from(ints(1, 2, 3, 4)), mapped.buffer_from(ints(0, 0, 0, 0))
    view = y.as_array("int32")  # made before the work: a view is not tracked afterwards
    cb = mapped.create_command_buffer()
    with cb:
        cb.dispatch(negate, "negate", 4, bindings=[(0, x), (1, y)])
    done = mapped.create_semaphore(0)
    mapped.queue_execute(cb, signal=[(done, 1)])
    done.wait(1, timeout=TIMEOUT)
    assert view.tolist() == [-1, -2, -3, -4]
    mapped.queue_fill(y, 4, 8, b"\x05\x00\x00\x00", signal=[(done, 2)])
    done.wait(2, timeout=TIMEOUT)
    assert view.tolist() == [-1, 5, 5, -4]


def test_as_array_typed_and_shaped_views(mapped):
    buffer = mapped.buffer_from(np.arange(8, dtype=np.float32))
    grid = buffer.as_array("float32", (2, 4))
    assert grid.shape == (2, 4) and grid.dtype == np.float32
    grid[1, 0] = 42.0
    assert buffer.to_numpy("float32")[4] == 42.0
    assert buffer.as_array(np.float32, (-1, 2)).shape == (4, 2)
    tail = buffer.subspan(8, 8).as_array("int32")  # offsets are the view's
    assert tail.shape == (2,) and np.shares_memory(tail, grid)
    tail[:] = 0
    assert grid[0, 2:].tolist() == [0.0, 0.0]
    assert buffer.as_array("uint8").shape == (32,)
    assert mapped.allocate_buffer(0).as_array().shape == (0,)
    assert np.asarray(mapped.allocate_buffer(0)).shape == (0,)


def test_memoryview_shares_memory(mapped):
    buffer = mapped.buffer_from(b"abcd")
    view = memoryview(buffer.as_array())  # works on every Python
    view[0] = ord("z")
    assert buffer.read() == b"zbcd"


@pytest.mark.skipif(
    sys.version_info < (3, 12),
    reason="the buffer protocol for classes "
    "written in Python (__buffer__, PEP 688) needs Python 3.12",
)
def test_buffer_protocol(mapped):
    buffer = mapped.buffer_from(b"abcd")
    view = memoryview(buffer)
    assert view.format == "B" and view.nbytes == 4 and not view.readonly
    view[1] = ord("y")
    assert buffer.read() == b"aycd"
    assert bytes(buffer) == b"aycd"


def test_numpy_from_dlpack(mapped):
    buffer = mapped.buffer_from(np.arange(6, dtype=np.uint8))
    assert buffer.__dlpack_device__() == (1, 0)
    array = np.from_dlpack(buffer)
    assert array.dtype == np.uint8 and array.tolist() == list(range(6))
    array[0] = 9
    assert buffer.read(0, 1) == b"\x09"
    copied = np.from_dlpack(buffer, copy=True)
    copied[1] = 77
    assert buffer.read(1, 1) == b"\x01"
    typed = np.from_dlpack(buffer.subspan(2, 4).as_array("int32"))
    assert np.shares_memory(typed, array)
    assert buffer.__dlpack__(max_version=(1, 0), dl_device=(1, 0)) is not None


def test_dlpack_refuses_other_devices_and_streams(mapped):
    buffer = mapped.allocate_buffer(16)
    with pytest.raises(NotExportableError) as info:
        buffer.__dlpack__(dl_device=(2, 0))
    assert isinstance(info.value, hal.InvalidArgumentError)
    assert isinstance(info.value, BufferError)
    with pytest.raises(NotExportableError):
        buffer.__dlpack__(stream=1)


def test_torch_from_dlpack(mapped):
    torch = pytest.importorskip("torch")
    buffer = mapped.buffer_from(np.arange(4, dtype=np.uint8))
    tensor = torch.from_dlpack(buffer)
    assert tensor.device.type == "cpu" and tensor.dtype == torch.uint8
    tensor += 1
    assert buffer.read() == bytes([1, 2, 3, 4])
    floats = torch.from_dlpack(mapped.buffer_from(np.ones(4, np.float32)).as_array("float32"))
    assert floats.sum().item() == 4.0


# -- access flags -----------------------------------------------------------------------------


def test_read_only_access_gives_read_only_views(mapped):
    buffer = mapped.allocate_buffer(16, access=hal.MemoryAccess.READ)
    array = buffer.as_array("int32")
    assert not array.flags.writeable
    with pytest.raises(ValueError):
        array[0] = 1
    assert not np.asarray(buffer).flags.writeable
    write_only = mapped.allocate_buffer(16, access=hal.MemoryAccess.WRITE)
    with pytest.raises(hal.InvalidArgumentError):
        write_only.as_array()


# -- lifetime ---------------------------------------------------------------------------------


def test_views_outlive_the_buffer_and_the_device_references(driver):
    """Checked devices place local allocations between guard pages: a view that did not keep
    its mapping would fault here instead of reading."""
    if driver not in MAPPED:
        pytest.skip(f"{driver} buffers have no host mapping to view")
    device = hal.create_device(driver, checked=True)
    buffer = device.buffer_from(np.arange(1024, dtype=np.int32))
    views = [
        buffer.as_array("int32"),
        np.asarray(buffer),
        np.from_dlpack(buffer),
        memoryview(buffer.as_array()),
    ]
    del buffer, device
    gc.collect()
    assert views[0].sum() == sum(range(1024))
    views[1][:4] = 1  # still writable
    assert views[2][:4].tolist() == [1, 1, 1, 1] and views[3][0] == 1


def test_dealloca_with_a_live_view(mapped):
    buffer = mapped.buffer_from(np.arange(64, dtype=np.uint8))
    view = buffer.as_array()
    done = mapped.create_semaphore(0)
    mapped.queue_dealloca(buffer, signal=[(done, 1)])
    done.wait(1, timeout=TIMEOUT)
    assert view.tolist() == list(range(64))  # the memory outlives the dealloca
    view[:] = 3
    assert view.sum() == 3 * 64
    for use in (
        buffer.as_array,
        lambda: np.asarray(buffer),
        buffer.__dlpack__,
        buffer.__dlpack_device__,
        buffer.read,
    ):
        with pytest.raises(hal.FailedPreconditionError):
            use()


def test_close_with_a_live_view():
    device = hal.create_device("local", checked=True)
    view = device.buffer_from(ints(5, 6)).as_array("int32")
    device.close()
    assert view.tolist() == [5, 6]


@pytest.mark.skipif("vulkan" not in DRIVERS, reason="no Vulkan device here")
def test_vulkan_memory_is_freed_when_the_last_view_goes():
    device = hal.create_device("vulkan", checked=True)
    driver = device._driver
    before = driver.live_allocations
    buffer = device.buffer_from(ints(1, 2, 3))
    view = buffer.as_array("int32")
    device.queue_dealloca(buffer)
    wait_barrier(device)
    assert driver.live_allocations == before + 1  # the view pins it
    del view
    gc.collect()
    assert driver.live_allocations == before
    # close() with a live view leaves that memory (and the VkDevice) to the view.
    kept = device.buffer_from(ints(7, 8)).as_array("int32")
    device.close()
    assert driver.lingering is not None
    assert kept.tolist() == [7, 8]
    kept[0] = 9
    assert kept.tolist() == [9, 8]
    with pytest.raises(hal.FailedPreconditionError):
        device.allocate_buffer(4)
    del kept
    gc.collect()
    assert driver.lingering is None and driver.live_allocations == 0


# -- hazards (checked mode) -----------------------------------------------------------------


def test_view_of_a_buffer_pending_work_writes_is_a_hazard(mapped):
    gate, done = mapped.create_semaphore(0), mapped.create_semaphore(0)
    target = mapped.allocate_buffer(16)
    mapped.queue_fill(target, 0, 16, b"\x01", wait=[(gate, 1)], signal=[(done, 1)])
    for make in (target.as_array, lambda: np.asarray(target), lambda: np.from_dlpack(target)):
        with pytest.raises(hal.FailedPreconditionError):
            make()
    with pytest.raises(hal.DeadlineExceededError):
        target.as_array(wait=0.05)
    assert target.as_array(unsynchronized=True).shape == (16,)
    # A writable view conflicts with a pending read too.
    source, sink = mapped.buffer_from(b"x" * 16), mapped.allocate_buffer(16)
    mapped.queue_copy(source, 0, sink, 0, 16, wait=[(gate, 1)], signal=[(done, 2)])
    with pytest.raises(hal.FailedPreconditionError):
        source.as_array()
    gate.signal(1)
    done.wait(2, timeout=TIMEOUT)
    assert target.as_array().tolist() == [1] * 16
    assert sink.as_array().tobytes() == b"x" * 16


# -- refusals ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "dtype, shape",
    [
        ("garbage", None),
        (object, None),
        ("float32", (3, 3)),
        ("uint8", "x"),
        ("uint8", (2, -1, -1)),
        ("V0", None),
    ],
)
def test_bad_dtype_or_shape(mapped, dtype, shape):
    buffer = mapped.allocate_buffer(16)
    with pytest.raises(hal.InvalidArgumentError):
        buffer.as_array(dtype, shape)


def test_size_not_a_multiple_of_the_item(mapped):
    with pytest.raises(hal.InvalidArgumentError, match="whole number"):
        mapped.allocate_buffer(6).as_array("float32")


def test_closed_device(driver):
    device = hal.create_device(driver, checked=True)
    buffer = device.allocate_buffer(16)
    device.close()
    for use in (
        buffer.as_array,
        lambda: np.asarray(buffer),
        buffer.__dlpack__,
        buffer.__dlpack_device__,
    ):
        with pytest.raises(hal.FailedPreconditionError):
            use()


def test_memory_without_a_host_mapping_is_refused(device):
    buffer = device.allocate_buffer(16, memory_type=hal.MemoryType.DEVICE_LOCAL)
    # cuda memory is HOST_VISIBLE (read and write copy through staging) but never mapped.
    if buffer.memory_type & hal.MemoryType.HOST_VISIBLE and device.driver in MAPPED:
        pytest.skip(f"every buffer of {device.name} is host-visible")
    for use in (buffer.as_array, lambda: np.asarray(buffer)):
        with pytest.raises(NotExportableError, match="to_numpy") as info:
            use()
        assert isinstance(info.value, hal.InvalidArgumentError)
    assert buffer.to_numpy().shape == (16,)  # the copy still works


def test_a_refused_gpu_capsule_is_a_clean_buffer_error(device):
    if device.driver != "cuda":
        pytest.skip("only cuda buffers export DLPack on a GPU")
    from polyhal.drivers.cuda import interop

    buffer = device.allocate_buffer(16)
    before = len(interop._Capsules.live)
    # numpy takes CPU tensors only: it drops the capsule with its BufferError pending, which
    # a destructor written in Python turned into a SystemError.
    with pytest.raises(BufferError):
        np.from_dlpack(buffer)
    assert len(interop._Capsules.live) == before
    capsule = buffer.__dlpack__()
    assert len(interop._Capsules.live) == before + 1
    del capsule  # never consumed: its destructor releases what it kept alive
    assert len(interop._Capsules.live) == before


def test_import_buffer_is_unimplemented_where_the_driver_imports_no_memory(device):
    """Device.import_buffer wraps another library's memory where the driver can (cuda,
    tested in tests/cuda); elsewhere it says so with UnimplementedError, and bad usage
    flags are refused before the driver is asked."""
    if device.driver == "cuda":
        pytest.skip("cuda imports CUDA arrays: tests/cuda/test_cuda.py")
    with pytest.raises(hal.UnimplementedError, match="cannot import"):
        device.import_buffer(np.zeros(4, np.float32))
    with pytest.raises(hal.InvalidArgumentError):
        device.import_buffer(np.zeros(4, np.float32), usage="storage")


def test_a_buffers_range_is_read_only(device):
    """The range every check trusts is set when the buffer is made: a caller cannot widen
    it afterwards (the recorder reads these fields natively)."""
    buffer = device.allocate_buffer(16).subspan(4, 8)
    for name, value in (("size", 1 << 40), ("offset", 0), ("device", None), ("alloc", None)):
        with pytest.raises(AttributeError):
            setattr(buffer, name, value)
    assert (buffer.offset, buffer.size) == (4, 8)
