"""Devices and buffers: the parts of the API every other case relies on."""

from __future__ import annotations

import numpy as np
import pytest

import polyhal as hal

from .support import DEFAULT_MEMORY, DEFAULT_USAGE, allocate, deterministic_bytes, upload


def test_available_drivers_include_local():
    assert "local" in hal.available_drivers()


def test_unknown_driver_is_not_found():
    with pytest.raises(hal.NotFoundError) as raised:
        hal.create_device("no-such-driver")
    assert "local" in str(raised.value), "the error lists the available drivers"


def test_device_driver_name(device, driver):
    assert device.driver == driver.split(":")[0]
    assert isinstance(device.name, str) and device.name
    assert isinstance(device.info, dict) and "limits" in device.info


def test_allocate_properties(device):
    buffer = device.allocate_buffer(64, memory_type=DEFAULT_MEMORY, usage=DEFAULT_USAGE)
    assert buffer.size == 64
    assert buffer.device is device
    assert buffer.usage & DEFAULT_USAGE == DEFAULT_USAGE
    assert buffer.memory_type & hal.MemoryType.HOST_VISIBLE


def test_allocate_size_zero(device):
    buffer = device.allocate_buffer(0)
    assert buffer.size == 0
    assert buffer.read() == b""


def test_write_read_round_trip(device):
    data = deterministic_bytes(1000)
    buffer = allocate(device, 1000)
    buffer.write(data)
    assert buffer.read() == data
    assert buffer.read(10, 20) == data[10:30]
    buffer.write(b"\x00\x01", 998)
    assert buffer.read(996) == data[996:998] + b"\x00\x01"


def test_buffer_from_numpy_and_to_numpy(device):
    array = np.arange(12, dtype=np.int32).reshape(3, 4)
    buffer = upload(device, array)
    assert buffer.size == 48
    out = buffer.to_numpy("int32", (3, 4))
    assert np.array_equal(out, array)
    out[0, 0] = 99
    assert buffer.to_numpy("int32")[0] == 0, "to_numpy returns a copy"


def test_subspan_is_a_view(device):
    data = deterministic_bytes(64)
    buffer = upload(device, data)
    view = buffer.subspan(16, 32)
    assert view.size == 32
    assert view.read() == data[16:48]
    view.write(b"\xff" * 4, 4)
    assert buffer.read(20, 4) == b"\xff" * 4
    assert buffer.subspan(16, hal.WHOLE_BUFFER).size == 48


@pytest.mark.parametrize("offset, length", [(60, 8), (65, 0), (0, 65)])
def test_subspan_out_of_range(device, offset, length):
    buffer = allocate(device, 64)
    with pytest.raises(hal.OutOfRangeError):
        buffer.subspan(offset, length)


def test_read_write_out_of_range(device):
    buffer = allocate(device, 16)
    with pytest.raises(hal.OutOfRangeError):
        buffer.read(8, 16)
    with pytest.raises(hal.OutOfRangeError):
        buffer.write(b"\x00" * 8, 12)


def test_errors_are_familiar_exceptions():
    assert issubclass(hal.InvalidArgumentError, ValueError)
    assert issubclass(hal.OutOfRangeError, IndexError)
    assert issubclass(hal.FailedPreconditionError, RuntimeError)
    assert issubclass(hal.UnimplementedError, NotImplementedError)
    assert issubclass(hal.DeadlineExceededError, TimeoutError)
    assert issubclass(hal.NotFoundError, LookupError)
    for cls in (
        hal.ResourceExhaustedError,
        hal.CancelledError,
        hal.AbortedError,
        hal.DataLossError,
        hal.PermissionDeniedError,
        hal.InternalError,
        hal.UnavailableError,
        hal.UnknownError,
    ):
        assert issubclass(cls, hal.HalError) and issubclass(cls, RuntimeError)


def test_executable_with_no_loadable_format(device):
    source = hal.ExecutableSource(
        [hal.EntryPoint("f", hal.PipelineLayout([]))], {"not-a-format": b""}
    )
    with pytest.raises(hal.UnimplementedError):
        device.create_executable(source)


def test_executable_that_fails_to_compile(device):
    """Every format broken: the driver's first loadable one fails with the compiler's message."""
    layout = hal.PipelineLayout([])
    source = hal.ExecutableSource(
        [hal.EntryPoint("broken", layout)],
        {
            "c": "int broken(void) { this is not C }\n",
            "spirv": {"broken": b"\x03\x02\x23\x07not spir-v"},
            "glsl": {"broken": "#version 450\nthis is not GLSL\n"},
            "cuda": 'extern "C" __global__ void broken() { this is not CUDA }\n',
        },
    )
    with pytest.raises(hal.InvalidArgumentError) as raised:
        device.create_executable(source)
    assert str(raised.value), "the error carries the compiler's message"
