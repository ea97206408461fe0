"""Random transfer programs on every driver against a numpy model of the HAL.

Each program fills, copies and updates random (valid) ranges of a few buffers, with a
barrier after every command so the result is defined, through direct buffers and through
binding-table slots.  Seeded: every run tests the same programs.
"""

from __future__ import annotations

import numpy as np
import pytest

import polyhal as hal

DRIVERS = list(dict.fromkeys([*hal.available_drivers(), "local-sync"]))
USAGE = hal.BufferUsage.DEFAULT


def random_program(rng: np.random.Generator, sizes: list[int], length: int) -> list[tuple]:
    ops: list[tuple] = []
    for _ in range(length):
        kind = rng.choice(["fill", "copy", "update"])
        if kind == "fill":
            plen = int(rng.choice([1, 2, 4]))
            buf = int(rng.integers(len(sizes)))
            units = sizes[buf] // plen
            start = int(rng.integers(units))
            count = int(rng.integers(0, units - start + 1))
            pattern = int(rng.integers(0, 1 << (8 * plen)))
            ops.append(("fill", buf, start * plen, count * plen, pattern, plen))
        elif kind == "copy":
            src, dst = (int(v) for v in rng.integers(len(sizes), size=2))
            n = int(rng.integers(0, min(sizes[src], sizes[dst]) + 1))
            s_off = int(rng.integers(0, sizes[src] - n + 1))
            d_off = int(rng.integers(0, sizes[dst] - n + 1))
            if src == dst and s_off < d_off + n and d_off < s_off + n:
                continue  # overlapping copies are invalid
            ops.append(("copy", src, s_off, dst, d_off, n))
        else:
            buf = int(rng.integers(len(sizes)))
            n = int(rng.integers(0, min(sizes[buf], 600) + 1))
            off = int(rng.integers(0, sizes[buf] - n + 1))
            ops.append(("update", buf, off, rng.integers(0, 256, n, dtype=np.uint8).tobytes()))
    return ops


def model(initial: list[np.ndarray], ops: list[tuple]) -> list[np.ndarray]:
    bufs = [b.copy() for b in initial]
    for op in ops:
        if op[0] == "fill":
            _, buf, off, n, pattern, plen = op
            unit = np.frombuffer(pattern.to_bytes(plen, "little"), np.uint8)
            bufs[buf][off:off + n] = np.tile(unit, n // plen)
        elif op[0] == "copy":
            _, src, s_off, dst, d_off, n = op
            bufs[dst][d_off:d_off + n] = bufs[src][s_off:s_off + n].copy()
        else:
            _, buf, off, data = op
            bufs[buf][off:off + len(data)] = np.frombuffer(data, np.uint8)
    return bufs


@pytest.fixture(scope="module", params=DRIVERS)
def device(request):
    with hal.create_device(request.param) as d:
        yield d


@pytest.mark.parametrize("slots", [False, True], ids=["direct", "slot"])
@pytest.mark.parametrize("seed", range(12))
def test_random_transfer_program_matches_the_model(device, seed, slots):
    rng = np.random.default_rng(seed)
    sizes = [int(s) for s in rng.choice([4, 13, 64, 250, 1024, 4099], size=3)]
    initial = [rng.integers(0, 256, s, dtype=np.uint8) for s in sizes]
    ops = random_program(rng, sizes, 24)
    buffers = [device.buffer_from(b, usage=USAGE) for b in initial]
    refs = [hal.Slot(i) for i in range(3)] if slots else buffers
    mode = hal.CommandBufferMode.DEFAULT if slots else hal.CommandBufferMode.ONE_SHOT
    cb = device.create_command_buffer(mode, binding_capacity=3 if slots else 0)
    with cb:
        for op in ops:
            if op[0] == "fill":
                _, buf, off, n, pattern, plen = op
                cb.fill_buffer(refs[buf], off, n, pattern, plen)
            elif op[0] == "copy":
                _, src, s_off, dst, d_off, n = op
                cb.copy_buffer(refs[src], s_off, refs[dst], d_off, n)
            else:
                _, buf, off, data = op
                cb.update_buffer(data, 0, refs[buf], off, len(data))
            cb.execution_barrier()
    sem = device.create_semaphore()
    device.queue_execute(cb, signal=[(sem, 1)], binding_table=buffers if slots else None)
    sem.wait(1, timeout=30)
    for i, (buffer, expected) in enumerate(zip(buffers, model(initial, ops), strict=True)):
        got = buffer.to_numpy()
        if not np.array_equal(got, expected):
            bad = np.flatnonzero(got != expected)
            pytest.fail(f"buffer {i} ({sizes[i]} bytes) differs at {bad[:8].tolist()}... "
                        f"({len(bad)} bytes); program: {ops}")
