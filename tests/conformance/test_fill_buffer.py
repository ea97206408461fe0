"""fill_buffer: fill a zeroed buffer, compare the whole buffer."""

from __future__ import annotations

import pytest

import polyhal as hal

from .support import allocate, filled

PATTERNS = {1: 0x07, 2: 0xAB23, 4: 0xAB23CD45}

# (buffer size, offset, length, pattern length) of CONFORMANCE.md's listed fills.
LISTED = [
    (1, 0, 1, 1),
    (5, 0, 5, 1),
    (16, 0, 1, 1),
    (16, 0, 3, 1),
    (16, 0, 8, 1),
    (16, 2, 8, 1),
    (2, 0, 2, 2),
    (16, 0, 8, 2),
    (16, 0, 10, 2),
    (16, 2, 8, 2),
    (4, 0, 4, 4),
    (20, 16, 4, 4),
    (16, 0, 8, 4),
    (16, 8, 8, 4),
]

# (pattern length, offset, length) classes; the buffer is offset + length + 16 bytes.
CLASSES = [
    (1, 0, 4),
    (1, 3, 31),
    (1, 17, 32),
    (1, 1, 33),
    (1, 16, 64),
    (1, 7, 1024),
    (1, 31, 65536),
    (2, 0, 4),
    (2, 2, 30),
    (2, 6, 32),
    (2, 18, 34),
    (2, 4, 1024),
    (2, 14, 65536),
    (4, 0, 4),
    (4, 4, 28),
    (4, 8, 32),
    (4, 20, 36),
    (4, 4, 1024),
    (4, 12, 65536),
]


def run_fill(binder, size, offset, length, pattern, pattern_length):
    buffer = allocate(binder.device, size)
    target = binder.ref(buffer)
    binder.record_and_run(
        lambda cb: cb.fill_buffer(target, offset, length, pattern, pattern_length)
    )
    assert buffer.read() == filled(size, offset, length, pattern, pattern_length)


@pytest.mark.parametrize(
    "size, offset, length, pattern_length",
    LISTED,
    ids=[f"size{s}-off{o}-len{n}-p{p}" for s, o, n, p in LISTED],
)
def test_fill_listed(binder, size, offset, length, pattern_length):
    run_fill(binder, size, offset, length, PATTERNS[pattern_length], pattern_length)


@pytest.mark.parametrize(
    "pattern_length, offset, length", CLASSES, ids=[f"p{p}-off{o}-len{n}" for p, o, n in CLASSES]
)
def test_fill_class(binder, pattern_length, offset, length):
    run_fill(binder, offset + length + 16, offset, length, PATTERNS[pattern_length], pattern_length)


@pytest.mark.parametrize("pattern_length", [1, 2, 4])
def test_fill_bytes_pattern(binder, pattern_length):
    """A bytes pattern fills its bytes in order, like the little-endian int pattern."""
    pattern = PATTERNS[pattern_length]
    buffer = allocate(binder.device, 32)
    target = binder.ref(buffer)
    binder.record_and_run(
        lambda cb: cb.fill_buffer(target, 4, 24, pattern.to_bytes(pattern_length, "little"))
    )
    assert buffer.read() == filled(32, 4, 24, pattern, pattern_length)


def test_fill_into_subspan(binder):
    buffer = allocate(binder.device, 32)
    target = binder.ref(buffer.subspan(8, 16))
    binder.record_and_run(lambda cb: cb.fill_buffer(target, 4, 8, 0xAB23CD45, 4))
    assert buffer.read() == filled(32, 12, 8, 0xAB23CD45, 4)


@pytest.mark.parametrize("pattern", [0x010203, b"\x01\x02\x03"], ids=["int", "bytes"])
def test_fill_pattern_length_3(binder, pattern):
    target = binder.ref(allocate(binder.device, 16))
    pattern_length = 3 if isinstance(pattern, int) else None
    binder.expect_rejected(
        hal.InvalidArgumentError, lambda cb: cb.fill_buffer(target, 0, 6, pattern, pattern_length)
    )


@pytest.mark.parametrize(
    "offset, length, pattern_length",
    [(2, 8, 4), (0, 6, 4), (1, 4, 2), (0, 3, 2)],
    ids=["offset-p4", "length-p4", "offset-p2", "length-p2"],
)
def test_fill_unaligned(binder, offset, length, pattern_length):
    target = binder.ref(allocate(binder.device, 16))
    binder.expect_rejected(
        hal.InvalidArgumentError,
        lambda cb: cb.fill_buffer(target, offset, length, PATTERNS[pattern_length], pattern_length),
        at_record=False,
    )


@pytest.mark.parametrize(
    "offset, length",
    [(8, 16), (20, 4), (0, 20)],
    ids=["tail-past-end", "offset-past-end", "longer-than-buffer"],
)
def test_fill_out_of_range(binder, offset, length):
    target = binder.ref(allocate(binder.device, 16))
    binder.expect_rejected(
        hal.OutOfRangeError,
        lambda cb: cb.fill_buffer(target, offset, length, 0x07, 1),
        at_record=False,
    )
