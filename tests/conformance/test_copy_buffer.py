"""copy_buffer: whole buffers, sub-ranges, alignment classes and errors."""

from __future__ import annotations

import pytest

import polyhal as hal

from .support import HOST_MEMORY, allocate, deterministic_bytes, upload

LENGTHS = [4, 8, 16, 31, 32, 33, 64, 128, 256, 1024, 4096, 16384, 65536]
OFFSETS = [(0, 0), (8, 8), (4, 4), (1, 2)]
CLASSES = [(s, t, n) for n in LENGTHS for s, t in OFFSETS] + [(0, 0, 1 << 20)]


def test_copy_whole_buffer(binder):
    device = binder.device
    host = upload(device, b"\x54" * 1024, memory_type=HOST_MEMORY)
    dev = allocate(device, 1024)
    source, target = binder.refs(host, dev)
    binder.record_and_run(lambda cb: cb.copy_buffer(source, 0, target, 0, 1024))
    assert dev.read() == b"\x54" * 1024


def test_copy_sub_buffer(binder):
    device = binder.device
    host = upload(device, b"\x88" * 512, memory_type=HOST_MEMORY)
    dev = allocate(device, 1024, fill=0xEE)
    source, target = binder.refs(host, dev)

    def record(cb):
        cb.fill_buffer(target, 0, 8, 0, 1)
        cb.copy_buffer(source, 4, target, 8, 508)
        cb.fill_buffer(target, 516, 508, 0, 1)

    binder.record_and_run(record)
    assert dev.read() == bytes(8) + b"\x88" * 508 + bytes(508)


@pytest.mark.parametrize(
    "source_offset, target_offset, length",
    CLASSES,
    ids=[f"src{s}-dst{t}-len{n}" for s, t, n in CLASSES],
)
def test_copy_class(binder, source_offset, target_offset, length):
    device = binder.device
    data = deterministic_bytes(source_offset + length + 16)
    source_buffer = upload(device, data)
    target_buffer = allocate(device, target_offset + length + 16)
    source, target = binder.refs(source_buffer, target_buffer)
    binder.record_and_run(
        lambda cb: cb.copy_buffer(source, source_offset, target, target_offset, length)
    )
    expected = bytearray(target_buffer.size)
    expected[target_offset : target_offset + length] = data[source_offset : source_offset + length]
    assert target_buffer.read() == bytes(expected)


def test_copy_between_subspans(binder):
    device = binder.device
    data = deterministic_bytes(64)
    source_root = upload(device, data)
    target_root = allocate(device, 64)
    source, target = binder.refs(source_root.subspan(16, 32), target_root.subspan(8, 32))
    binder.record_and_run(lambda cb: cb.copy_buffer(source, 4, target, 12, 16))
    expected = bytearray(64)
    expected[20:36] = data[20:36]
    assert target_root.read() == bytes(expected)


@pytest.mark.parametrize(
    "source_offset, target_offset, length",
    [(0, 8, 16), (8, 0, 16), (0, 0, 16)],
    ids=["forward", "backward", "same"],
)
def test_copy_overlapping(binder, source_offset, target_offset, length):
    buffer = binder.ref(allocate(binder.device, 64))
    binder.expect_rejected(
        hal.InvalidArgumentError,
        lambda cb: cb.copy_buffer(buffer, source_offset, buffer, target_offset, length),
        at_record=False,
    )


def test_copy_adjacent_ranges_of_one_buffer(binder):
    """Touching but not overlapping ranges of one buffer are a valid copy."""
    data = deterministic_bytes(32)
    root = upload(binder.device, data)
    buffer = binder.ref(root)
    binder.record_and_run(lambda cb: cb.copy_buffer(buffer, 0, buffer, 16, 16))
    assert root.read() == data[:16] + data[:16]


@pytest.mark.parametrize("missing", ["TRANSFER_SOURCE", "TRANSFER_TARGET"])
def test_copy_missing_usage(binder, missing):
    device = binder.device
    usage = (
        {
            "TRANSFER_SOURCE": hal.BufferUsage.TRANSFER_TARGET,
            "TRANSFER_TARGET": hal.BufferUsage.TRANSFER_SOURCE,
        }[missing]
        | hal.BufferUsage.DISPATCH_STORAGE
        | hal.BufferUsage.MAPPING
    )
    restricted = allocate(device, 64, usage=usage)
    other = allocate(device, 64)
    source, target = binder.refs(
        *((restricted, other) if missing == "TRANSFER_SOURCE" else (other, restricted))
    )
    binder.expect_rejected(
        (hal.PermissionDeniedError, hal.InvalidArgumentError),
        lambda cb: cb.copy_buffer(source, 0, target, 0, 16),
        at_record=False,
    )


@pytest.mark.parametrize("side", ["source", "target"])
def test_copy_out_of_range(binder, side):
    small, large = allocate(binder.device, 16), allocate(binder.device, 64)
    source, target = binder.refs(*((small, large) if side == "source" else (large, small)))
    binder.expect_rejected(
        hal.OutOfRangeError, lambda cb: cb.copy_buffer(source, 8, target, 8, 16), at_record=False
    )
