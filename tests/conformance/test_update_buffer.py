"""update_buffer: host bytes captured at record time, written by the device."""

from __future__ import annotations

import numpy as np
import pytest

import polyhal as hal

from .support import allocate

SOURCE = bytes(
    [0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0xA1, 0xA2, 0xA3, 0xA4, 0xA5, 0xA6, 0xA7, 0xA8]
)


def test_update_whole_buffer(binder):
    buffer = allocate(binder.device, 16)
    target = binder.ref(buffer)
    binder.record_and_run(lambda cb: cb.update_buffer(SOURCE, 0, target, 0, 16))
    assert buffer.read() == SOURCE


def test_update_256_bytes(binder):
    data = bytes(i ^ 0xA5 for i in range(256))
    buffer = allocate(binder.device, 256)
    target = binder.ref(buffer)
    binder.record_and_run(lambda cb: cb.update_buffer(data, 0, target, 0, 256))
    assert buffer.read() == data


def test_update_with_offsets(binder):
    buffer = allocate(binder.device, 16)
    target = binder.ref(buffer)
    binder.record_and_run(lambda cb: cb.update_buffer(SOURCE, 4, target, 4, 8))
    assert buffer.read() == bytes(4) + bytes([5, 6, 7, 8, 0xA1, 0xA2, 0xA3, 0xA4]) + bytes(4)


def test_update_into_subspan(binder):
    buffer = allocate(binder.device, 16)
    target = binder.ref(buffer.subspan(4, 8))
    binder.record_and_run(lambda cb: cb.update_buffer(SOURCE, 4, target, 4, 4))
    assert buffer.read() == bytes(8) + bytes([5, 6, 7, 8]) + bytes(4)


@pytest.mark.parametrize("kind", ["bytearray", "numpy"])
def test_update_captures_source_at_record(binder, kind):
    host = bytearray(SOURCE) if kind == "bytearray" else np.frombuffer(SOURCE, np.uint8).copy()
    buffer = allocate(binder.device, 16)
    target = binder.ref(buffer)
    cb = binder.command_buffer()
    with cb:
        cb.update_buffer(host, 0, target, 0, 16)
        host[:] = b"\xff" * 16 if kind == "bytearray" else 0xFF
    host[:8] = b"\xee" * 8 if kind == "bytearray" else 0xEE
    binder.run(cb)
    assert buffer.read() == SOURCE


@pytest.mark.parametrize(
    "source_offset, target_offset, length", [(0, 8, 16), (8, 0, 16)], ids=["target", "source"]
)
def test_update_out_of_range(binder, source_offset, target_offset, length):
    target = binder.ref(allocate(binder.device, 16))
    # The host source's size is known at record time, the target slot's only at submit.
    binder.expect_rejected(
        hal.OutOfRangeError,
        lambda cb: cb.update_buffer(SOURCE, source_offset, target, target_offset, length),
        at_record=source_offset != 0,
    )
