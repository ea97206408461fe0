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
            bufs[buf][off : off + n] = np.tile(unit, n // plen)
        elif op[0] == "copy":
            _, src, s_off, dst, d_off, n = op
            bufs[dst][d_off : d_off + n] = bufs[src][s_off : s_off + n].copy()
        else:
            _, buf, off, data = op
            bufs[buf][off : off + len(data)] = np.frombuffer(data, np.uint8)
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
            pytest.fail(
                f"buffer {i} ({sizes[i]} bytes) differs at {bad[:8].tolist()}... "
                f"({len(bad)} bytes); program: {ops}"
            )


def random_stages(
    rng: np.random.Generator, elements: int, buffers: int, count: int
) -> list[list[tuple]]:
    """Ops grouped into stages whose ops touch no buffer another op of the stage writes:
    they may run concurrently (no barrier between them) and the result is still defined."""
    stages: list[list[tuple]] = []
    stage: list[tuple] = []
    reads: set[int] = set()
    writes: set[int] = set()
    for _ in range(count):
        kind = rng.choice(["dispatch", "dispatch", "fill", "copy", "update"])
        first = int(rng.integers(0, elements // 2))
        n = int(rng.integers(1, elements - first + 1))
        src, dst = (int(v) for v in rng.choice(buffers, size=2, replace=False))
        if kind == "dispatch":  # reads [source, +n), writes [first, +n): a shifted window
            source = int(rng.integers(0, elements - n + 1))
            op = (
                "dispatch",
                src,
                dst,
                first,
                n,
                int(rng.choice([-1, 1])),
                int(rng.integers(-50, 51)),
                source,
            )
            r, w = {src}, {dst}
        elif kind == "fill":
            op = ("fill", dst, first, n, int(rng.integers(0, 2**31)))
            r, w = set(), {dst}
        elif kind == "copy":
            op = ("copy", src, dst, first, n)
            r, w = {src}, {dst}
        else:
            op = ("update", dst, first, rng.integers(-1000, 1000, n, dtype=np.int32).tobytes())
            r, w = set(), {dst}
        if w & (reads | writes) or r & writes:  # a conflict: start a new stage
            stages.append(stage)
            stage, reads, writes = [], set(), set()
        stage.append(op)
        reads |= r
        writes |= w
    stages.append(stage)
    return [s for s in stages if s]


def dispatch_model(initial: list[np.ndarray], stages: list[list[tuple]]) -> list[np.ndarray]:
    bufs = [b.copy() for b in initial]
    for stage in stages:
        for op in stage:
            if op[0] == "dispatch":
                _, src, dst, first, n, scale, offset, source = op
                bufs[dst][first : first + n] = bufs[src][source : source + n] * scale + offset
            elif op[0] == "fill":
                _, dst, first, n, pattern = op
                bufs[dst][first : first + n] = np.int32(np.uint32(pattern).view(np.int32))
            elif op[0] == "copy":
                _, src, dst, first, n = op
                bufs[dst][first : first + n] = bufs[src][first : first + n]
            else:
                _, dst, first, data = op
                values = np.frombuffer(data, np.int32)
                bufs[dst][first : first + len(values)] = values
    return bufs


@pytest.mark.parametrize("slots", [False, True], ids=["direct", "slot"])
@pytest.mark.parametrize("seed", range(8))
def test_random_dispatch_pipeline_matches_the_model(device, seed, slots):
    """Dispatches, fills, copies and updates, concurrent within a stage, barriers between
    stages: a driver that misses a barrier, or adds a wrong dependency, differs."""
    from conformance.kernels import KernelCache, layout

    rng = np.random.default_rng(1000 + seed)
    elements, count = 4099, 4
    initial = [rng.integers(-1000, 1000, elements, dtype=np.int32) for _ in range(count)]
    stages = random_stages(rng, elements, count, 30)
    buffers = [device.buffer_from(b, usage=USAGE) for b in initial]
    refs = [hal.Slot(i) for i in range(count)] if slots else buffers
    exe = KernelCache(device)("scale_and_offset")
    pipeline = layout("scale_and_offset")
    mode = hal.CommandBufferMode.DEFAULT if slots else hal.CommandBufferMode.ONE_SHOT
    cb = device.create_command_buffer(mode, binding_capacity=count if slots else 0)
    with cb:
        for stage in stages:
            for op in stage:
                if op[0] == "dispatch":
                    _, src, dst, first, n, scale, offset, source = op
                    cb.push_constants(pipeline, 0, [scale, offset])
                    cb.push_descriptor_set(
                        pipeline,
                        0,
                        [(0, refs[src], 4 * source, 4 * n), (1, refs[dst], 4 * first, 4 * n)],
                    )
                    cb.dispatch(exe, 0, n)
                elif op[0] == "fill":
                    _, dst, first, n, pattern = op
                    cb.fill_buffer(refs[dst], 4 * first, 4 * n, pattern, 4)
                elif op[0] == "copy":
                    _, src, dst, first, n = op
                    cb.copy_buffer(refs[src], 4 * first, refs[dst], 4 * first, 4 * n)
                else:
                    _, dst, first, data = op
                    cb.update_buffer(data, 0, refs[dst], 4 * first, len(data))
            cb.execution_barrier()
    sem = device.create_semaphore()
    device.queue_execute(cb, signal=[(sem, 1)], binding_table=buffers if slots else None)
    sem.wait(1, timeout=30)
    expected = dispatch_model(initial, stages)
    for i, buffer in enumerate(buffers):
        got = buffer.to_numpy("int32")
        if not np.array_equal(got, expected[i]):
            bad = np.flatnonzero(got != expected[i])
            pytest.fail(
                f"buffer {i} differs at {bad[:8].tolist()} ({len(bad)} elements); "
                f"stages: {[[op[:3] for op in s] for s in stages]}"
            )
