"""The native recorder (polyhal._stream, issue 10) against the Python paths it replaces.

``CommandBuffer.dispatch``, ``push_constants``, ``push_descriptor_set``,
``execution_barrier``, ``fill_buffer``, ``copy_buffer`` and ``update_buffer`` are C methods
whose fast path takes the common argument forms and hands anything else to the Python
``_slow_<name>`` method with the same arguments.  On every driver here plus local-sync:

- the common forms (the README's shorthand among them) never reach the slow path, and
  what they record runs correctly;
- a program recorded through the fast forms and through exotic forms of the same values
  (hal.Binding, numpy scalars, bytearrays, int subclasses...) is the same stream, byte for
  byte;
- every bad input on the fast entry points raises the same HalError subclass as the Python
  path (``_slow_<name>`` called directly is the oracle), leaves the stream unchanged and the
  command buffer usable; hostile objects (computed attributes, ``__index__`` that raises,
  ends the command buffer or grows the list being parsed) never crash the process;
- the push-state rules of the seed hold on both paths.
"""

from __future__ import annotations

import dataclasses
import gc
import math
import random
import struct

import numpy as np
import pytest
from conformance import kernels as K

import polyhal as hal
from polyhal import _stream, _walker
from polyhal import commands as C

DRIVERS = list(dict.fromkeys([*hal.available_drivers(), "local-sync"]))
TIMEOUT = 10.0
ANY = hal.CommandCategory.ANY
ONE_SHOT = hal.CommandBufferMode.ONE_SHOT
UNVALIDATED = hal.CommandBufferMode.UNVALIDATED
WHOLE = hal.WHOLE_BUFFER
FAST = (
    "dispatch",
    "push_constants",
    "push_descriptor_set",
    "execution_barrier",
    "fill_buffer",
    "copy_buffer",
    "update_buffer",
)


@pytest.fixture(scope="module", params=DRIVERS)
def device(request):
    with hal.create_device(request.param, checked=True) as dev:
        yield dev


class Env:
    """The executables and layouts of one device's tests (bad_env adds what the bad-input
    cases need)."""

    def __init__(self, device: hal.Device):
        self.device = device
        self.so = device.create_executable(K.executable_source("scale_and_offset"))
        self.wc = device.create_executable(K.executable_source("write_constants"))
        self.two = device.create_executable(K.executable_source("two_sets"))
        self.L = self.so.entry_points[0].layout
        self.LW = self.wc.entry_points[0].layout
        self.L2 = self.two.entry_points[0].layout


@pytest.fixture(scope="module")
def env(device):
    return Env(device)


class Spy(hal.CommandBuffer):
    """A command buffer whose slow paths fail the test: what it records took the C path."""

    __slots__ = ()

    def _slow(self, name, args, kwargs):
        raise AssertionError(f"{name}{args!r} {kwargs!r} took the slow path")

    def _slow_dispatch(self, *a, **k):
        self._slow("dispatch", a, k)

    def _slow_push_constants(self, *a, **k):
        self._slow("push_constants", a, k)

    def _slow_push_descriptor_set(self, *a, **k):
        self._slow("push_descriptor_set", a, k)

    def _slow_execution_barrier(self, *a, **k):
        self._slow("execution_barrier", a, k)

    def _slow_fill_buffer(self, *a, **k):
        self._slow("fill_buffer", a, k)

    def _slow_copy_buffer(self, *a, **k):
        self._slow("copy_buffer", a, k)

    def _slow_update_buffer(self, *a, **k):
        self._slow("update_buffer", a, k)


def spy(device, mode=ONE_SHOT, categories=ANY, capacity=0) -> Spy:
    """A Spy, constructed as Device.create_command_buffer constructs a CommandBuffer."""
    return Spy(device, mode, categories, capacity)


def recording(device, mode=ONE_SHOT, categories=ANY, capacity=0) -> hal.CommandBuffer:
    cb = device.create_command_buffer(mode, categories, capacity)
    cb.begin()
    return cb


def run(device, cb) -> None:
    sem = device.create_semaphore(0)
    device.queue_execute(cb, signal=[(sem, 1)])
    sem.wait(1, timeout=TIMEOUT)


class MyInt(int):
    """An int subclass: not the exact type the fast path takes."""


class MyList(list):
    """A list subclass: not the exact type the fast path takes."""


def i32(buffer) -> list[int]:
    return buffer.to_numpy("<i4").tolist()


def u32(buffer) -> list[int]:
    return buffer.to_numpy("<u4").tolist()


def f32bits(value: float) -> int:
    return struct.unpack("<I", struct.pack("<f", value))[0]


# -- the fast forms never take the slow path -------------------------------------------------


def record_common_forms(cb, e: Env, x, y, z, w) -> None:
    """Every fast form once; the expected results are in test_fast_forms_never_go_slow."""
    so, L = e.so, e.L
    # The README's shorthand (a name, lists), then tuples and offsets/lengths in bindings.
    cb.dispatch(so, "scale_and_offset", 4, constants=[3, 10], bindings=[(0, x), (1, y)])
    cb.execution_barrier()
    cb.dispatch(so, 0, (4, 1, 1), constants=(2, -1), bindings=((0, x, 16), (1, y, 16, 16)))
    cb.execution_barrier()
    cb.push_constants(L, 0, [5])
    cb.push_constants(L, 4, b"\x07\x00\x00\x00")
    cb.push_descriptor_set(L, 0, [(0, x, 32, WHOLE), (1, y, 32)])
    cb.dispatch(so, 0, [4])
    cb.execution_barrier()
    cb.fill_buffer(z, 0, 64, 0xAB)
    cb.execution_barrier()
    cb.fill_buffer(z, 0, 8, 0x01020304, 4)
    cb.fill_buffer(z, 8, 4, 0x0102, None)
    cb.copy_buffer(y, 0, z, 16, 16)
    cb.update_buffer(b"\x01\x02\x03\x04" * 4, 4, z, 48, 8)
    cb.dispatch(e.wc, 0, 1, constants=[1.5, -2, 0xFFFFFFFF, 7], bindings=[(0, w)])


def test_fast_forms_never_go_slow(device, env):
    x = device.buffer_from(np.arange(16, dtype=np.int32))
    y = device.buffer_from(bytes(64))
    z = device.buffer_from(bytes(64))
    w = device.buffer_from(bytes(16))
    cb = spy(device)
    with cb:
        record_common_forms(cb, env, x, y, z, w)
    assert cb.record_count == 13
    run(device, cb)
    assert i32(y) == [10, 13, 16, 19, 7, 9, 11, 13, 47, 52, 57, 62, 0, 0, 0, 0]
    expected = (
        bytes([4, 3, 2, 1]) * 2
        + bytes([2, 1]) * 2
        + b"\xab" * 4
        + np.array([10, 13, 16, 19], "<i4").tobytes()
        + b"\xab" * 16
        + b"\x01\x02\x03\x04" * 2
        + b"\xab" * 8
    )
    assert z.read() == expected
    assert u32(w) == [f32bits(1.5), 2**32 - 2, 2**32 - 1, 7]


def test_fast_forms_never_go_slow_unvalidated_and_across_sets(device, env):
    a = device.buffer_from(np.arange(8, dtype=np.uint32) + 100)
    b = device.buffer_from(bytes(32))
    cb = spy(device, UNVALIDATED)
    with cb:
        cb.push_descriptor_set(env.L2, 0, [(0, a)])
        cb.push_descriptor_set(env.L2, 1, [(0, b)])
        cb.dispatch(env.two, 0, 8)
        mb = hal.MemoryBarrier(hal.AccessScope.DISPATCH_READ, hal.AccessScope.TRANSFER_WRITE)
        cb.execution_barrier(hal.ExecutionStage.DISPATCH, hal.ExecutionStage.TRANSFER, 0, [mb], ())
        cb.execution_barrier(memory_barriers=(mb,), target_stage=0x1F, flags=2**32 - 1)
        cb.fill_buffer(a, 0, 32, 0)
    (first, second) = [c for c in _walker.commands(cb) if type(c) is C.Barrier]
    assert (first.source_stage, first.target_stage, first.flags) == (4, 8, 0)
    assert first.memory_barriers == second.memory_barriers == (mb,)
    assert (second.source_stage, second.flags) == (0x1F, 2**32 - 1)
    run(device, cb)
    assert u32(b) == list(range(100, 108))
    assert u32(a) == [0] * 8


def test_fast_forms_accept_exact_types_only(device, env):
    """What the fast path refuses goes to the slow path, which converts it: bools, int
    subclasses, list subclasses, bytearrays, hal.Binding, numpy scalars, buffer barriers."""
    x = device.buffer_from(bytes(64))
    slow = [
        lambda cb: cb.dispatch(env.so, np.uint8(0), 1, bindings=[(0, x), (1, x)]),
        lambda cb: cb.dispatch(env.so, 0, MyInt(1), bindings=[(0, x), (1, x)]),
        lambda cb: cb.dispatch(env.so, 0, 1, constants=MyList([1, 2])),
        lambda cb: cb.dispatch(env.so, 0, 1, constants=[True, 2]),
        lambda cb: cb.dispatch(env.so, 0, 1, constants=bytearray(8)),
        lambda cb: cb.dispatch(env.so, 0, 1, bindings=[hal.Binding(0, x), (1, x)]),
        lambda cb: cb.push_descriptor_set(env.L, 0, MyList([(0, x), (1, x)])),
        lambda cb: cb.push_constants(env.L, np.int64(0), [1]),
        lambda cb: cb.execution_barrier(
            buffer_barriers=[
                hal.BufferBarrier(hal.AccessScope.DISPATCH_WRITE, hal.AccessScope.DISPATCH_READ, x)
            ]
        ),
        lambda cb: cb.fill_buffer(x, 0, 4, b"\x01"),
        lambda cb: cb.fill_buffer(x, 0, WHOLE, 1),
        lambda cb: cb.copy_buffer(x, 0, x, 32, np.uint8(4)),
        lambda cb: cb.update_buffer(bytearray(4), 0, x, 0, 4),
    ]
    for record in slow:
        cb = spy(device)
        cb.begin()
        with pytest.raises(AssertionError, match="slow path"):
            record(cb)


# -- equivalence: fast forms and slow forms record the same stream ---------------------------


def record_program(cb, e: Env, x, y, z, w, slow: bool) -> None:
    """One program in two spellings: the common forms, or exotic forms of the same values
    that the fast path hands to the Python slow path."""
    so, L = e.so, e.L
    n = np.uint32 if slow else int
    if slow:
        cb.dispatch(
            so,
            np.int64(0),
            (np.uint8(4),),
            constants=np.array([3, 10], np.int32),
            bindings=[hal.Binding(0, x), hal.Binding(1, y)],
        )
        cb.execution_barrier(0x1F, 0x1F)
        cb.dispatch(
            so,
            "scale_and_offset",
            MyInt(4),
            constants=[np.int32(2), True],
            bindings=iter([(0, x, n(16)), (1, y, 16, np.uint64(16))]),
        )
        cb.execution_barrier(flags=0)
        cb.push_constants(L, np.int64(0), np.array([5], np.uint32))
        cb.push_constants(L, MyInt(4), bytearray(b"\x07\x00\x00\x00"))
        cb.push_descriptor_set(L, np.uint8(0), (hal.Binding(0, x, 32), [1, y, 32]))
        cb.dispatch(so, 0, [np.int16(4), 1])
        cb.execution_barrier(0x1F, 0x1F, 0, [], ())
        cb.fill_buffer(z, np.uint8(0), 64, b"\xab")
        cb.execution_barrier(hal.ExecutionStage(0x1F), hal.ExecutionStage(0x1F))
        cb.fill_buffer(z, 0, 8, bytes([4, 3, 2, 1]), np.int64(4))
        cb.fill_buffer(z, MyInt(8), 4, np.uint16(0x0102), 2)
        cb.copy_buffer(y, np.int32(0), z, 16, np.uint64(16))
        cb.update_buffer(memoryview(b"\x01\x02\x03\x04" * 4), 4, z, 48, np.uint8(8))
        cb.dispatch(
            e.wc,
            0,
            1,
            constants=[np.float32(1.5), np.int32(-2), np.uint32(2**32 - 1), np.float32(math.nan)],
            bindings=[(np.uint8(0), w)],
        )
        cb.execution_barrier(memory_barriers=())
        cb.push_constants(e.LW, 0, bytearray(struct.pack("<ff", math.inf, -math.inf)))
        cb.dispatch(e.wc, 0, 1)
    else:
        cb.dispatch(so, 0, 4, constants=[3, 10], bindings=[(0, x), (1, y)])
        cb.execution_barrier()
        cb.dispatch(so, 0, 4, constants=[2, 1], bindings=[(0, x, 16), (1, y, 16, 16)])
        cb.execution_barrier()
        cb.push_constants(L, 0, [5])
        cb.push_constants(L, 4, [7])
        cb.push_descriptor_set(L, 0, [(0, x, 32), (1, y, 32)])
        cb.dispatch(so, 0, (4, 1))
        cb.execution_barrier()
        cb.fill_buffer(z, 0, 64, 0xAB)
        cb.execution_barrier()
        cb.fill_buffer(z, 0, 8, 0x01020304, 4)
        cb.fill_buffer(z, 8, 4, 0x0102)
        cb.copy_buffer(y, 0, z, 16, 16)
        cb.update_buffer(b"\x01\x02\x03\x04" * 4, 4, z, 48, 8)
        cb.dispatch(e.wc, 0, 1, constants=[1.5, -2, 2**32 - 1, math.nan], bindings=[(0, w)])
        cb.execution_barrier()
        cb.push_constants(e.LW, 0, [math.inf, -math.inf])
        cb.dispatch(e.wc, 0, 1)


def normalized(cb) -> list:
    """The decoded commands with objects by identity (Ref has no equality)."""

    def norm(v):
        if isinstance(v, C.Ref):
            return ("Ref", None if v.alloc is None else id(v.alloc), v.slot, v.offset, v.length)
        if dataclasses.is_dataclass(v) and not isinstance(v, type):
            return (type(v).__name__, *(norm(getattr(v, f.name)) for f in dataclasses.fields(v)))
        if isinstance(v, (tuple, list)):
            return tuple(norm(i) for i in v)
        if isinstance(v, (int, float, bytes, str, type(None))):
            return v
        return ("object", id(v))

    return [norm(c) for c in _walker.commands(cb)]


@pytest.mark.parametrize("mode", [ONE_SHOT, UNVALIDATED], ids=["validated", "unvalidated"])
def test_fast_and_slow_forms_record_the_same_stream(device, env, mode):
    x = device.buffer_from(np.arange(16, dtype=np.int32))
    y, z, w = (device.buffer_from(bytes(n)) for n in (64, 64, 16))
    fast, slow = (device.create_command_buffer(mode) for _ in range(2))
    for cb, slow_forms in ((fast, False), (slow, True)):
        with cb:
            record_program(cb, env, x, y, z, w, slow_forms)
    assert fast.record_count == slow.record_count == 15
    assert fast.raw() == slow.raw()  # records, refs, constants, update payloads
    assert fast.objects == slow.objects
    assert all(a is b for a, b in zip(fast.allocations, slow.allocations, strict=True))
    assert normalized(fast) == normalized(slow)
    # What the walker gives Python encoders: float32 bits as struct packs them.
    words = _walker.commands(fast)[12].constants
    assert struct.unpack("<4I", words)[:3] == (f32bits(1.5), 2**32 - 2, 2**32 - 1)
    assert math.isnan(struct.unpack("<4f", words)[3])
    assert struct.unpack("<2f", _walker.commands(slow)[14].constants[:8]) == (math.inf, -math.inf)
    results = []
    for cb in (fast, slow):
        for b in (y, z, w):
            b.write(bytes(b.size))
        run(device, cb)
        results.append([b.read() for b in (y, z, w)])
    assert results[0] == results[1]
    assert i32(y) == [10, 13, 16, 19, 9, 11, 13, 15, 47, 52, 57, 62, 0, 0, 0, 0]
    assert u32(w)[:3] == [f32bits(math.inf), f32bits(-math.inf), 2**32 - 1]


def test_copy_names_the_source_allocation_first_on_both_paths(device):
    a, b = device.buffer_from(bytes(16)), device.buffer_from(bytes(16))
    fast, slow = recording(device), recording(device)
    fast.copy_buffer(a, 0, b, 0, 16)
    slow._slow_copy_buffer(a, 0, b, 0, 16)
    assert [x is y for x, y in zip(fast.allocations, slow.allocations, strict=True)] == [True, True]
    assert fast.allocations[0] is a.alloc
    assert fast.raw() == slow.raw()


def test_random_calls_match_the_python_path(device, env):
    """A seeded differential: the same random (often hostile) calls through the C methods
    and through ``_slow_<name>``: the same outcome (the same HalError subclass, or success)
    and, at the end, the same decoded commands."""
    rng = random.Random(10)
    d = device
    bufs = [d.buffer_from(bytes(n)) for n in (64, 64, 16, 4)] + [
        d.allocate_buffer(64, usage=hal.BufferUsage.TRANSFER_SOURCE),
        d.allocate_buffer(64, usage=hal.BufferUsage.DISPATCH_STORAGE),
    ]
    bufs.append(bufs[0].subspan(4, 32))
    numbers = [
        0,
        0,
        4,
        8,
        16,
        1,
        2,
        3,
        60,
        64,
        65,
        -1,
        -4,
        2**31,
        2**32,
        2**63,
        2**64,
        2**64 - 1,
        True,
        False,
        4.0,
        math.nan,
        None,
        "4",
        np.uint8(4),
        np.int64(-1),
    ]
    mbs = [
        hal.MemoryBarrier(hal.AccessScope.DISPATCH_WRITE, hal.AccessScope.DISPATCH_READ),
        hal.MemoryBarrier(hal.AccessScope.TRANSFER_WRITE, 4),
    ]
    values = [
        [1, 2],
        (3, 4),
        [1],
        [],
        [1.5, -0.0],
        [math.inf, math.nan],
        [2**32, 0],
        [-(2**31) - 1],
        [1e39],
        [-1e39],
        [3.4e38],
        b"\x00" * 8,
        b"abc",
        b"",
        [1, 2, 3],
        [1] * 65,
        "ab",
        5,
        None,
        [None],
        [True, False],
    ]

    def num():
        return rng.choice(numbers)

    def buf():
        return rng.choice(bufs + [None, "buf", 5])

    def binding():
        r = rng.random()
        if r < 0.6:
            return (
                rng.choice([0, 0, 1, 1, 2, -1, 2**32, True]),
                buf(),
                *[num() for _ in range(rng.choice([0, 0, 1, 2, 3]))],
            )
        if r < 0.8:
            return [rng.choice([0, 1]), buf()]
        return rng.choice([42, None, (0,), "x", ()])

    def bindings():
        return rng.choice(
            [
                [binding() for _ in range(rng.choice([0, 1, 2, 2, 3]))],
                tuple(binding() for _ in range(2)),
                None,
                "ab",
                5,
            ]
        )

    def call():
        kind = rng.choice(FAST)
        exe = rng.choice([env.so, env.so, env.wc, env.two, None, env.L])
        layout = rng.choice([env.L, env.L, env.LW, env.L2, None, env.so])
        if kind == "dispatch":
            kw = {}
            if rng.random() < 0.6:
                kw["bindings"] = bindings()
            if rng.random() < 0.6:
                kw["constants"] = rng.choice(values)
            return (
                kind,
                (
                    exe,
                    rng.choice([0, 0, 1, "scale_and_offset", "x", -1, 2**64]),
                    rng.choice(
                        [1, 4, (2, 1, 1), [1], (), (1, 1, 1, 1), -1, 2**32, (1, 1, 2**16), "1"]
                    ),
                ),
                kw,
            )
        if kind == "push_constants":
            return kind, (layout, num(), rng.choice(values)), {}
        if kind == "push_descriptor_set":
            return kind, (layout, rng.choice([0, 0, 1, 2, -1, 2**64, True]), bindings()), {}
        if kind == "execution_barrier":
            kw = {}
            if rng.random() < 0.5:
                kw["memory_barriers"] = rng.choice(
                    [
                        [mbs[0]],
                        mbs,
                        tuple(mbs),
                        [],
                        [hal.MemoryBarrier(3, 4)],
                        "x",
                        [1],
                        [hal.MemoryBarrier(2**64, 1)],
                        [hal.MemoryBarrier(True, 1)],
                        MyList(mbs),
                        [hal.MemoryBarrier(-1, 1)],
                        [hal.MemoryBarrier(0x400, 1)],
                    ]
                )
            if rng.random() < 0.2:
                kw["buffer_barriers"] = rng.choice([[], (), [hal.BufferBarrier(4, 8, bufs[0])]])
            return (
                kind,
                rng.choice(
                    [
                        (),
                        (),
                        (0x1F, 0x1F),
                        ("x",),
                        (0x1F, 0x1F, 2**32),
                        (hal.ExecutionStage.HOST, MyInt(2)),
                        (True,),
                        (0x40,),
                        (np.uint8(1),),
                    ]
                ),
                kw,
            )
        if kind == "fill_buffer":
            return (
                kind,
                (
                    buf(),
                    num(),
                    num(),
                    rng.choice([0, 1, 0x1234, 2**32 - 1, 2**32, -1, b"ab", 1.0]),
                    *rng.choice([(), (None,), (1,), (2,), (4,), (3,), (True,)]),
                ),
                {},
            )
        if kind == "copy_buffer":
            return kind, (buf(), num(), buf(), num(), num()), {}
        return (
            kind,
            (
                rng.choice([b"\x01" * 64, b"ab", bytearray(8), "ab", None]),
                num(),
                buf(),
                num(),
                num(),
            ),
            {},
        )

    for mode in (ONE_SHOT, UNVALIDATED):
        fast, slow = recording(d, mode), recording(d, mode)
        for _ in range(300):
            kind, args, kw = call()
            outcomes = []
            for method in (getattr(fast, kind), getattr(slow, "_slow_" + kind)):
                try:
                    method(*args, **kw)
                    outcomes.append(None)
                except hal.HalError as e:
                    outcomes.append(type(e))
            assert outcomes[0] is outcomes[1], (kind, args, kw, outcomes)
        assert normalized(fast) == normalized(slow)
        assert fast.record_count > 10  # enough calls were valid to record something


# -- bad input: the same typed error as the Python path --------------------------------------


class Boom(Exception):
    pass


class IndexRaises:
    def __init__(self, exc):
        self.exc = exc

    def __index__(self):
        raise self.exc


def bad_cases(e: Env, x, foreign, released, src_only, mode_unvalidated=False):
    """(name, method, args, kwargs, expected error) for the fast entry points."""
    so, L = e.so, e.L
    bb = [(0, x), (1, x)]
    U = mode_unvalidated
    IA, OOR, FP, RE, PD, NF = (
        hal.InvalidArgumentError,
        hal.OutOfRangeError,
        hal.FailedPreconditionError,
        hal.ResourceExhaustedError,
        hal.PermissionDeniedError,
        hal.NotFoundError,
    )
    cases = [
        # dispatch: constants
        ("const 2**64", "dispatch", (so, 0, 1), {"constants": [2**64, 1], "bindings": bb}, IA),
        ("const 2**32", "dispatch", (so, 0, 1), {"constants": [2**32, 1]}, IA),
        ("const -2**31-1", "dispatch", (so, 0, 1), {"constants": [-(2**31) - 1, 1]}, IA),
        ("const 1e39", "dispatch", (so, 0, 1), {"constants": [1e39, 1]}, IA),
        ("const -1e39", "dispatch", (so, 0, 1), {"constants": [0, -1e39]}, IA),
        ("const str", "dispatch", (so, 0, 1), {"constants": ["1", 1]}, IA),
        ("const None item", "dispatch", (so, 0, 1), {"constants": [None]}, IA),
        ("const complex", "dispatch", (so, 0, 1), {"constants": [1j]}, IA),
        ("const bytes 3", "dispatch", (so, 0, 1), {"constants": b"abc"}, IA),
        # (unvalidated: pushed, then the dispatch finds no bindings)
        ("const bytes 12", "dispatch", (so, 0, 1), {"constants": bytes(12)}, IA if U else OOR),
        ("const 3 words", "dispatch", (so, 0, 1), {"constants": [1, 2, 3]}, IA if U else OOR),
        ("const int", "dispatch", (so, 0, 1), {"constants": 5}, IA),
        ("const str whole", "dispatch", (so, 0, 1), {"constants": "ab"}, IA),
        ("const list subclass", "dispatch", (so, 0, 1), {"constants": MyList([2**64])}, IA),
        ("const 65 words", "dispatch", (so, 0, 1), {"constants": [1] * 65}, RE if U else OOR),
        # dispatch: bindings
        ("binding 5-tuple", "dispatch", (so, 0, 1), {"bindings": [(0, x, 0, 4, 9), (1, x)]}, IA),
        ("binding 1-tuple", "dispatch", (so, 0, 1), {"bindings": [(0,), (1, x)]}, IA),
        ("binding int", "dispatch", (so, 0, 1), {"bindings": [42]}, IA),
        ("binding str", "dispatch", (so, 0, 1), {"bindings": "ab"}, IA),
        ("binding index 2**64", "dispatch", (so, 0, 1), {"bindings": [(2**64, x)]}, IA),
        ("binding index -1", "dispatch", (so, 0, 1), {"bindings": [(-1, x)]}, IA),
        ("binding index bool", "dispatch", (so, 0, 1), {"bindings": [(False, x), (1, x)]}, IA),
        ("binding index float", "dispatch", (so, 0, 1), {"bindings": [(0.0, x), (1, x)]}, IA),
        ("binding not in set", "dispatch", (so, 0, 1), {"bindings": [(5, x)]}, IA),
        ("binding offset -1", "dispatch", (so, 0, 1), {"bindings": [(0, x, -1), (1, x)]}, OOR),
        ("binding offset 2**63", "dispatch", (so, 0, 1), {"bindings": [(0, x, 2**63)]}, OOR),
        ("binding offset 2**64", "dispatch", (so, 0, 1), {"bindings": [(0, x, 2**64)]}, OOR),
        ("binding offset float", "dispatch", (so, 0, 1), {"bindings": [(0, x, 4.0)]}, IA),
        ("binding offset bool", "dispatch", (so, 0, 1), {"bindings": [(0, x, True)]}, IA),
        ("binding offset past end", "dispatch", (so, 0, 1), {"bindings": [(0, x, 65)]}, OOR),
        ("binding length 2**64", "dispatch", (so, 0, 1), {"bindings": [(0, x, 0, 2**64)]}, OOR),
        ("binding length 2**63", "dispatch", (so, 0, 1), {"bindings": [(0, x, 0, 2**63)]}, OOR),
        ("binding length -1", "dispatch", (so, 0, 1), {"bindings": [(0, x, 0, -1)]}, OOR),
        ("binding length past end", "dispatch", (so, 0, 1), {"bindings": [(0, x, 4, 64)]}, OOR),
        ("binding foreign buffer", "dispatch", (so, 0, 1), {"bindings": [(0, foreign)]}, IA),
        ("binding released buffer", "dispatch", (so, 0, 1), {"bindings": [(0, released)]}, FP),
        ("binding not a buffer", "dispatch", (so, 0, 1), {"bindings": [(0, b"buf")]}, IA),
        (
            "binding no storage usage",
            "dispatch",
            (so, 0, 1),
            {"bindings": [(0, src_only)]},
            IA if U else PD,
        ),
        ("bindings too many", "dispatch", (so, 0, 1), {"bindings": [(0, x)] * 1000}, RE),
        (
            "binding index raises TypeError",
            "dispatch",
            (so, 0, 1),
            {"bindings": [(IndexRaises(TypeError("no")), x)]},
            IA,
        ),
        # dispatch: executable, entry point, workgroup count
        ("wg 2**64", "dispatch", (so, 0, 2**64), {}, IA),
        ("wg -1", "dispatch", (so, 0, -1), {}, IA),
        ("wg z 2**32", "dispatch", (so, 0, (1, 1, 2**32)), {}, IA),
        ("wg 4 items", "dispatch", (so, 0, (1, 1, 1, 1)), {}, IA),
        ("wg empty", "dispatch", (so, 0, ()), {}, IA),
        ("wg float", "dispatch", (so, 0, 1.0), {}, IA),
        ("wg bool", "dispatch", (so, 0, True), {}, IA),
        ("wg str", "dispatch", (so, 0, "1"), {}, IA),
        ("wg None", "dispatch", (so, 0, None), {}, IA),
        ("ep 2**63", "dispatch", (so, 2**63, 1), {}, IA),
        ("ep -1", "dispatch", (so, -1, 1), {}, IA),
        ("ep bool", "dispatch", (so, True, 1), {}, IA),
        ("ep float", "dispatch", (so, 0.0, 1), {}, IA),
        ("ep unknown name", "dispatch", (so, "nope", 1), {}, NF),
        ("ep bytes name", "dispatch", (so, b"scale_and_offset", 1), {}, IA),
        ("exe a layout", "dispatch", (L, 0, 1), {}, IA),
        ("exe None", "dispatch", (None, 0, 1), {}, IA),
        ("exe foreign", "dispatch", (e.foreign_exe, 0, 1), {}, IA),
        ("no layout pushed", "dispatch", (so, 0, 1), {}, IA),
        # push_constants
        ("pc offset 2**64", "push_constants", (L, 2**64, [1]), {}, RE if U else OOR),
        ("pc offset 2**62", "push_constants", (L, 2**62, [1]), {}, RE if U else OOR),
        ("pc offset -4", "push_constants", (L, -4, [1]), {}, IA),
        ("pc offset 2", "push_constants", (L, 2, [1]), {}, IA),
        ("pc offset float", "push_constants", (L, 4.0, [1]), {}, IA),
        ("pc offset bool", "push_constants", (L, False, [1]), {}, IA),
        ("pc offset None", "push_constants", (L, None, [1]), {}, IA),
        (
            "pc offset raises TypeError",
            "push_constants",
            (L, IndexRaises(TypeError()), [1]),
            {},
            IA,
        ),
        ("pc beyond device", "push_constants", (L, 0, [0] * 65), {}, RE if U else OOR),
        ("pc past end empty", "push_constants", (L, 4 * 65, []), {}, RE if U else OOR),
        ("pc 2**32", "push_constants", (L, 0, [2**32]), {}, IA),
        ("pc float beyond f32", "push_constants", (L, 0, [3.5e38]), {}, IA),
        ("pc bytes 5", "push_constants", (L, 0, bytes(5)), {}, IA),
        ("pc values int", "push_constants", (L, 0, 7), {}, IA),
        ("pc layout None", "push_constants", (None, 0, [1]), {}, IA),
        ("pc layout executable", "push_constants", (so, 0, [1]), {}, IA),
        ("pc layout duck", "push_constants", (e.duck_layout, 0, [1]), {}, IA),
        ("pc layout computed info", "push_constants", (e.computed_layout, 0, [1, 2, 3]), {}, IA),
        # push_descriptor_set
        ("set 2**64", "push_descriptor_set", (L, 2**64, bb), {}, IA),
        ("set -1", "push_descriptor_set", (L, -1, bb), {}, IA),
        ("set 1 of 1", "push_descriptor_set", (L, 1, bb), {}, IA),
        ("set bool", "push_descriptor_set", (L, False, bb), {}, IA),
        ("set float", "push_descriptor_set", (L, 0.0, bb), {}, IA),
        ("set 16", "push_descriptor_set", (e.L17, 16, [(0, x)]), {}, RE),
        ("set layout duck", "push_descriptor_set", (e.duck_layout, 0, bb), {}, IA),
        ("set layout computed info", "push_descriptor_set", (e.computed_layout, 0, bb), {}, IA),
        ("set binding 2**32", "push_descriptor_set", (L, 0, [(2**32, x)]), {}, IA),
        ("set bindings None", "push_descriptor_set", (L, 0, None), {}, IA),
        ("set bindings 5-tuple", "push_descriptor_set", (L, 0, [(0, x, 0, 4, 5)]), {}, IA),
        ("set bindings tuple of 5", "push_descriptor_set", (L, 0, (0, x, 0, 4, 5)), {}, IA),
        # execution_barrier
        ("barrier str", "execution_barrier", ("x",), {}, IA),
        ("barrier stage 2**64", "execution_barrier", (2**64,), {}, IA),
        ("barrier stage -1", "execution_barrier", (-1,), {}, IA),
        ("barrier flags 2**32", "execution_barrier", (0x1F, 0x1F, 2**32), {}, IA),
        ("barrier flags -1", "execution_barrier", (0x1F, 0x1F, -1), {}, IA),
        ("barrier flags float", "execution_barrier", (0x1F, 0x1F, 1.0), {}, IA),
        ("barrier stage bool", "execution_barrier", (True,), {}, IA),
        ("barrier stage beyond HOST", "execution_barrier", (0x40,), {}, IA),
        ("barrier memory not a list", "execution_barrier", (), {"memory_barriers": "x"}, IA),
        ("barrier memory int item", "execution_barrier", (), {"memory_barriers": [1]}, IA),
        ("barrier memory None", "execution_barrier", (), {"memory_barriers": None}, IA),
        (
            "barrier scope 2**64",
            "execution_barrier",
            (),
            {"memory_barriers": [hal.MemoryBarrier(2**64, 1)]},
            IA,
        ),
        (
            "barrier scope -1",
            "execution_barrier",
            (),
            {"memory_barriers": [hal.MemoryBarrier(1, -1)]},
            IA,
        ),
        (
            "barrier scope bool",
            "execution_barrier",
            (),
            {"memory_barriers": [hal.MemoryBarrier(True, 1)]},
            IA,
        ),
        (
            "barrier scope undefined bit",
            "execution_barrier",
            (),
            {"memory_barriers": [hal.MemoryBarrier(0x400, 1)]},
            IA,
        ),
        (
            "barrier scope float",
            "execution_barrier",
            (),
            {"memory_barriers": [hal.MemoryBarrier(1.0, 1)]},
            IA,
        ),
        ("barrier buffer barrier int", "execution_barrier", (), {"buffer_barriers": [1]}, IA),
        # fill_buffer
        ("fill offset 2**64", "fill_buffer", (x, 2**64, 4, 1), {}, OOR),
        ("fill offset -1", "fill_buffer", (x, -1, 4, 1), {}, OOR),
        ("fill offset float", "fill_buffer", (x, 0.0, 4, 1), {}, IA),
        ("fill length 2**63", "fill_buffer", (x, 0, 2**63, 1), {}, OOR),
        ("fill length -1", "fill_buffer", (x, 0, -1, 1), {}, OOR),
        ("fill length bool", "fill_buffer", (x, 0, True, 1), {}, IA),
        ("fill past end", "fill_buffer", (x, 60, 8, 1), {}, OOR),
        ("fill pattern 2**32", "fill_buffer", (x, 0, 4, 2**32), {}, IA),
        ("fill pattern 2**64", "fill_buffer", (x, 0, 4, 2**64), {}, IA),
        ("fill pattern wide", "fill_buffer", (x, 0, 4, 0x1FF, 1), {}, IA),
        ("fill pattern float", "fill_buffer", (x, 0, 4, 1.0), {}, IA),
        ("fill pattern None", "fill_buffer", (x, 0, 4, None), {}, IA),
        ("fill plen 3", "fill_buffer", (x, 0, 4, 1, 3), {}, IA),
        ("fill plen bool", "fill_buffer", (x, 0, 4, 1, True), {}, IA),
        ("fill plen 2**64", "fill_buffer", (x, 0, 4, 1, 2**64), {}, IA),
        ("fill foreign", "fill_buffer", (foreign, 0, 4, 1), {}, IA),
        ("fill released", "fill_buffer", (released, 0, 4, 1), {}, FP),
        ("fill not a buffer", "fill_buffer", (b"abcd", 0, 4, 1), {}, IA),
        # copy_buffer
        ("copy overlap", "copy_buffer", (x, 0, x, 4, 8), {}, IA),
        ("copy length -1", "copy_buffer", (x, 0, e.y, 0, -1), {}, OOR),
        ("copy length 2**64", "copy_buffer", (x, 0, e.y, 0, 2**64), {}, OOR),
        ("copy source past end", "copy_buffer", (x, 60, e.y, 0, 8), {}, OOR),
        ("copy target offset 2**63", "copy_buffer", (x, 0, e.y, 2**63, 4), {}, OOR),
        ("copy offset float", "copy_buffer", (x, 0.0, e.y, 0, 4), {}, IA),
        ("copy released source", "copy_buffer", (released, 0, e.y, 0, 4), {}, FP),
        ("copy foreign target", "copy_buffer", (x, 0, foreign, 0, 4), {}, IA),
        ("copy target None", "copy_buffer", (x, 0, None, 0, 4), {}, IA),
        # update_buffer
        ("update source str", "update_buffer", ("abcd", 0, x, 0, 4), {}, IA),
        ("update source int", "update_buffer", (12, 0, x, 0, 4), {}, IA),
        ("update source short", "update_buffer", (b"ab", 0, x, 0, 4), {}, OOR),
        ("update source offset past", "update_buffer", (b"abcd", 5, x, 0, 0), {}, OOR),
        ("update target offset 2**63", "update_buffer", (b"abcd", 0, x, 2**63, 4), {}, OOR),
        ("update length 2**64", "update_buffer", (b"abcd", 0, x, 0, 2**64), {}, OOR),
        ("update length -1", "update_buffer", (b"abcd", 0, x, 0, -1), {}, OOR),
        ("update released", "update_buffer", (b"abcd", 0, released, 0, 4), {}, FP),
    ]
    if not U:
        cases += [
            ("fill unaligned", "fill_buffer", (x, 2, 4, 0x01020304, 4), {}, IA),
            ("fill no target usage", "fill_buffer", (src_only, 0, 4, 1), {}, PD),
            ("copy no source usage", "copy_buffer", (e.storage_only, 0, x, 0, 4), {}, PD),
            ("set binding not in set", "push_descriptor_set", (L, 0, [(7, x)]), {}, IA),
            ("binding storage usage", "push_descriptor_set", (L, 0, [(0, src_only)]), {}, PD),
        ]
    return cases


@pytest.fixture(scope="module")
def bad_env(device, env):
    other = hal.create_device(device.driver)
    e = env
    e.foreign_exe = other.create_executable(K.executable_source("scale_and_offset"))
    foreign = other.allocate_buffer(64)
    released = device.allocate_buffer(64)
    device.queue_dealloca(released)
    device.wait_idle(TIMEOUT)
    src_only = device.allocate_buffer(64, usage=hal.BufferUsage.TRANSFER_SOURCE)
    e.storage_only = device.allocate_buffer(64, usage=hal.BufferUsage.DISPATCH_STORAGE)
    e.y = device.allocate_buffer(64)

    class Duck:
        """Not a PipelineLayout, with a real layout's tables."""

        _info = e.L._info
        set_layouts = e.L.set_layouts
        push_constants = 2

    class Computed:
        """A layout whose tables are computed at every access (nothing keeps them)."""

        set_layouts = e.L.set_layouts
        push_constants = 64

        @property
        def _info(self):
            return _stream.LayoutInfo(64, [list(range(64))])

    e.duck_layout, e.computed_layout = Duck(), Computed()
    e.L17 = hal.PipelineLayout([hal.DescriptorSetLayout([0])] * 17)
    yield e, foreign, released, src_only
    other.close()


@pytest.mark.parametrize("mode", [ONE_SHOT, UNVALIDATED], ids=["validated", "unvalidated"])
def test_bad_input_raises_what_the_python_path_raises(device, bad_env, mode):
    e, foreign, released, src_only = bad_env
    x = device.buffer_from(bytes(64))
    cases = bad_cases(e, x, foreign, released, src_only, mode == UNVALIDATED)
    for name, method, args, kwargs, expected in cases:
        fast, oracle = recording(device, mode), recording(device, mode)
        with pytest.raises(hal.HalError) as fast_err:
            getattr(fast, method)(*args, **kwargs)
        with pytest.raises(hal.HalError) as slow_err:
            getattr(oracle, "_slow_" + method)(*args, **kwargs)
        assert type(fast_err.value) is type(slow_err.value) is expected, (
            name,
            fast_err.value,
            slow_err.value,
        )
        assert fast.record_count == 0, name
    # Both still record, and what they recorded runs.
    for cb in (fast, oracle):
        out = device.buffer_from(bytes(64))
        cb.dispatch(e.so, 0, 16, constants=[2, 1], bindings=[(0, x), (1, out)])
        cb.end()
        run(device, cb)
        assert i32(out) == [1] * 16


def test_wrong_signatures_are_python_type_errors(device, env):
    cb = recording(device)
    calls = [
        lambda: cb.dispatch(env.so, 0),
        lambda: cb.dispatch(env.so, 0, 1, foo=1),
        lambda: cb.dispatch(env.so, 0, 1, 2),
        lambda: cb.push_constants(env.L, 0),
        lambda: cb.push_descriptor_set(env.L, 0, [], 1),
        lambda: cb.fill_buffer(),
        lambda: cb.copy_buffer(1, 2),
        lambda: cb.update_buffer(b"", 0, None, 0, 0, 9),
        lambda: cb.execution_barrier(1, 2, 3, 4, 5, 6),
        lambda: cb.execution_barrier(0x1F, source_stage=0x1F),
        lambda: cb.execution_barrier(stages=0x1F),
    ]
    for call in calls:
        with pytest.raises(TypeError) as err:
            call()
        assert not isinstance(err.value, hal.HalError)
    assert cb.record_count == 0
    # Keywords name the documented parameters (through the slow path).
    x = device.buffer_from(bytes(64))
    cb.push_constants(layout=env.L, offset=0, values=[1])
    cb.push_descriptor_set(env.L, set=0, bindings=[(0, x)])
    cb.fill_buffer(target=x, offset=0, length=4, pattern=1, pattern_length=4)
    cb.copy_buffer(x, 0, x, 32, length=4)
    cb.update_buffer(source=b"abcd", source_offset=0, target=x, target_offset=8, length=4)
    cb.execution_barrier(source_stage=0x1F, target_stage=0x1F)
    cb.dispatch(
        env.wc, entry_point=0, workgroup_count=1, constants=[1, 2, 3, 4], bindings=[(0, x, 48)]
    )
    assert cb.record_count == 5


@pytest.mark.parametrize("state", ["initial", "ended", "closed device", "category"])
def test_every_fast_entry_point_refuses_outside_recording(device, env, state):
    x = device.buffer_from(bytes(64))
    if state == "closed device":
        dev = hal.create_device(device.driver)
        e, x = Env(dev), dev.buffer_from(bytes(64))
        cb = recording(dev)
        dev.close()
    else:
        e = env
        cb = device.create_command_buffer(
            categories=hal.CommandCategory.TRANSFER if state == "category" else ANY
        )
        if state == "ended":
            cb.begin()
            cb.end()
    calls = [
        lambda: cb.dispatch(e.so, 0, 1, constants=[1, 2], bindings=[(0, x), (1, x)]),
        lambda: cb.push_constants(e.L, 0, [1]),
        lambda: cb.push_descriptor_set(e.L, 0, [(0, x)]),
        lambda: cb.fill_buffer(x, 0, 4, 1),
        lambda: cb.copy_buffer(x, 0, x, 32, 4),
        lambda: cb.update_buffer(b"abcd", 0, x, 0, 4),
        lambda: cb.execution_barrier(),
    ]
    if state == "category":
        calls = calls[:3]
    for call in calls:
        with pytest.raises(hal.FailedPreconditionError):
            call()
    assert cb.record_count == 0


# -- hostile objects: never a crash, never a change to an ended stream -----------------------


def fill_block(cb, y) -> None:
    """16 records, a full first block of the stream: one more would move the array that an
    ended command buffer's program points into."""
    for _ in range(15):
        cb.execution_barrier()
    cb.fill_buffer(y, 0, 64, 15)


def test_index_side_effects_never_corrupt_the_stream(device, env):
    x = device.buffer_from(np.arange(16, dtype=np.int32))
    y = device.buffer_from(bytes(64))
    cb = recording(device)
    fill_block(cb, y)

    class Ends:
        def __index__(self):
            cb.end()
            return 0

    hostile = [
        lambda: cb.dispatch(env.so, 0, (Ends(), 1), constants=[1, 0], bindings=[(0, x), (1, y)]),
        lambda: cb.push_constants(env.L, Ends(), [1]),
        lambda: cb.push_descriptor_set(env.L, 0, [(0, x, Ends())]),
        lambda: cb.fill_buffer(y, Ends(), 4, 1),
        lambda: cb.copy_buffer(x, 0, y, Ends(), 4),
        lambda: cb.update_buffer(b"abcd", Ends(), y, 0, 4),
        lambda: cb.execution_barrier(0x1F, 0x1F, Ends()),
    ]
    for i, call in enumerate(hostile):
        if i:
            cb = recording(device)
            fill_block(cb, y)
        with pytest.raises(hal.FailedPreconditionError, match="after end"):
            call()
        assert cb.record_count == 16 and cb._state == 2
        y.write(bytes(64))
        run(device, cb)
        assert y.read() == bytes([15]) * 64


def test_bindings_grown_or_shrunk_during_the_call(device, env):
    x, y = device.buffer_from(bytes(64)), device.buffer_from(bytes(64))
    cb = recording(device)
    binds: list = []

    class Grows:
        def __index__(self):
            binds.extend([(1, y)] * 100)
            return 1

    binds[:] = [(0, x), (Grows(), y)]
    with pytest.raises(hal.ResourceExhaustedError):
        cb.push_descriptor_set(env.L, 0, binds)
    binds[:] = [(0, x), (Grows(), y)]
    with pytest.raises(hal.ResourceExhaustedError):
        cb.dispatch(env.so, 0, 1, constants=[1, 0], bindings=binds)

    class Shrinks:
        def __index__(self):
            del binds[1:]
            return 0

    binds[:] = [(Shrinks(), x), (1, y), (1, y)]
    cb.push_descriptor_set(env.L, 0, binds)  # what was iterated: binding 0 only
    with pytest.raises(hal.InvalidArgumentError, match="binding 1 is not bound"):
        cb.dispatch(env.so, 0, 1, constants=[1, 0])
    assert cb.record_count == 0


def test_a_users_own_exception_from_index_propagates(device, env):
    x = device.buffer_from(bytes(64))
    cb = recording(device)
    error = Boom("from __index__")
    calls = [
        lambda: cb.dispatch(env.so, 0, (IndexRaises(error),)),
        lambda: cb.dispatch(env.so, 0, 1, bindings=[(IndexRaises(error), x)]),
        lambda: cb.push_constants(env.L, IndexRaises(error), [1]),
        lambda: cb.push_descriptor_set(env.L, 0, [(0, x, IndexRaises(error))]),
        lambda: cb.fill_buffer(x, 0, IndexRaises(error), 1),
        lambda: cb.copy_buffer(x, IndexRaises(error), x, 32, 4),
        lambda: cb.update_buffer(b"abcd", 0, x, IndexRaises(error), 4),
    ]
    for call in calls:
        with pytest.raises(Boom) as err:
            call()
        assert err.value is error
    cb.fill_buffer(x, 0, 64, 7)
    cb.end()
    run(device, cb)
    assert x.read() == bytes([7]) * 64


def test_a_computed_layout_info_is_never_read(device, env):
    """An object whose ``_info`` is computed at each access: nothing would own the tables
    once read (a use after free if the fast path took it); it is not a PipelineLayout."""
    cb = recording(device)
    x = device.buffer_from(bytes(64))

    class Computed:
        @property
        def _info(self):
            return _stream.LayoutInfo(64, [list(range(64))])

    for _ in range(50):
        with pytest.raises(hal.InvalidArgumentError, match="PipelineLayout"):
            cb.push_constants(Computed(), 0, [1, 2, 3])
        with pytest.raises(hal.InvalidArgumentError, match="PipelineLayout"):
            cb.push_descriptor_set(Computed(), 0, [(0, x), (5, x)])
    assert cb.record_count == 0


def test_a_subclassed_executable_or_layout_takes_the_slow_path(device, env):
    class Layout(hal.PipelineLayout):
        __slots__ = ()

    layout = Layout(env.L.set_layouts, push_constants=2)
    x, y = device.buffer_from(np.arange(4, dtype=np.int32)), device.buffer_from(bytes(16))
    cb = recording(device)
    with pytest.raises(hal.InvalidArgumentError, match="PipelineLayout"):
        cb.push_constants(layout, 0, [1])  # as before: push_constants takes exactly one
    cb.push_descriptor_set(layout, 0, [(0, x), (1, y)])  # isinstance, as before
    cb.push_constants(env.L, 0, [3, 1])
    cb.dispatch(env.so, 0, 4)
    cb.end()
    run(device, cb)
    assert i32(y) == [1, 4, 7, 10]


# -- push-state rules, on both paths ---------------------------------------------------------


@pytest.fixture(params=["fast", "slow"])
def form(request):
    return request.param


def push_set(cb, form, layout, set_index, bindings):
    if form == "fast":
        cb.push_descriptor_set(layout, set_index, bindings)
    else:
        cb.push_descriptor_set(
            layout, np.uint8(set_index), [hal.Binding(b[0], *b[1:]) for b in bindings]
        )


def test_pushing_set_0_drops_set_1(device, env, form):
    a, b = device.buffer_from(bytes(32)), device.buffer_from(bytes(32))
    cb = recording(device)
    push_set(cb, form, env.L2, 1, [(0, b)])
    push_set(cb, form, env.L2, 0, [(0, a)])
    with pytest.raises(hal.InvalidArgumentError, match="set 1 binding 0 is not bound"):
        cb.dispatch(env.two, 0, 8)
    push_set(cb, form, env.L2, 1, [(0, b)])
    push_set(cb, form, env.L2, 1, [(0, b)])  # re-pushing set 1 keeps set 0
    cb.dispatch(env.two, 0, 8)
    assert cb.record_count == 1


def test_a_repeated_binding_number_takes_the_last(device, env, form):
    x = device.buffer_from(np.arange(8, dtype=np.int32))
    junk = device.buffer_from(np.full(8, 1000, np.int32))
    y = device.buffer_from(bytes(32))
    cb = recording(device)
    cb.push_constants(env.L, 0, [1, 0])
    push_set(cb, form, env.L, 0, [(0, junk), (1, y), (0, x)])
    cb.dispatch(env.so, 0, 8)
    cb.execution_barrier()
    if form == "fast":
        cb.dispatch(env.so, 0, 8, bindings=[(0, junk), (1, y), (0, x, 0, 32)])
    else:
        cb.dispatch(
            env.so,
            0,
            8,
            bindings=[hal.Binding(0, junk), hal.Binding(1, y), hal.Binding(0, x, 0, 32)],
        )
    (first, _, second) = _walker.commands(cb)
    assert [r.alloc for r in first.bindings] == [x.alloc, y.alloc]
    assert [r.alloc for r in second.bindings] == [x.alloc, y.alloc]
    cb.end()
    run(device, cb)
    assert i32(y) == list(range(8))


def test_dispatch_after_push_constants_of_another_layout(device, env, form):
    """Push constants are one array shared by layouts: a dispatch reads the words its own
    layout counts, whichever layout pushed them."""
    x = device.buffer_from(np.arange(4, dtype=np.int32))
    y = device.buffer_from(bytes(16))
    cb = recording(device)
    values = [7, 8, 9, 10] if form == "fast" else np.array([7, 8, 9, 10], np.uint32)
    cb.push_constants(env.LW, 0, values)  # write_constants' layout: 4 words
    push_set(cb, form, env.L, 0, [(0, x), (1, y)])
    cb.dispatch(env.so, 0, 4)
    assert _walker.commands(cb)[0].constants == struct.pack("<2I", 7, 8)
    cb.end()
    run(device, cb)
    assert i32(y) == [8, 15, 22, 29]


def test_unvalidated_skips_layout_checks_but_keeps_range_checks(device, env, form):
    x = device.buffer_from(bytes(64))
    src_only = device.allocate_buffer(64, usage=hal.BufferUsage.TRANSFER_SOURCE)
    cb = recording(device, UNVALIDATED, hal.CommandCategory.DISPATCH)
    fast = form == "fast"
    n = int if fast else np.uint32
    # Skipped: the layout's binding numbers and constant count, usage, alignment, category.
    push_set(cb, form, env.L, 0, [(0, x), (1, x), (9, x)])
    cb.push_constants(env.L, n(0), [1, 2, 3, 4] if fast else np.arange(4, dtype=np.uint32))
    push_set(cb, form, env.L, 0, [(0, src_only), (1, x)])
    cb.fill_buffer(src_only, n(2), 4, 0x01020304, 4)
    cb.execution_barrier()
    # Kept: ranges, the device's limits, the pattern, overlap.
    device_words = device.info["limits"]["max_push_constants"]
    checks = [
        (hal.OutOfRangeError, lambda: push_set(cb, form, env.L, 0, [(0, x, 60, 8)])),
        (hal.OutOfRangeError, lambda: cb.fill_buffer(x, n(60), 8, 1)),
        (hal.OutOfRangeError, lambda: cb.copy_buffer(x, n(0), x, 32, 40)),
        (hal.OutOfRangeError, lambda: cb.update_buffer(b"abcd", n(0), x, 62, 4)),
        (
            hal.ResourceExhaustedError,
            lambda: cb.push_constants(env.L, n(0), [0] * (device_words + 1)),
        ),
        (hal.InvalidArgumentError, lambda: cb.fill_buffer(x, n(0), 4, 2**32)),
        (hal.InvalidArgumentError, lambda: cb.copy_buffer(x, n(0), x, 4, 8)),
        (hal.InvalidArgumentError, lambda: push_set(cb, form, env.L, 0, [(2**32, x)])),
    ]
    for error, call in checks:
        before = cb.raw()
        with pytest.raises(error):
            call()
        assert cb.raw() == before
    assert cb.record_count == 2


def test_an_unrelated_class_at_a_freed_buffer_subclass_address_is_no_buffer(device):
    """The fast path's exact-type shortcut for Buffer once kept a borrowed pointer to the
    last Buffer subclass seen: once that class was freed, a new class allocated at its
    address (likely, for one of the same shape) passed for a Buffer, its fields read as a
    device, an allocation and a range."""
    a = device.buffer_from(bytes(64))
    names = ("a_dev", "b_alloc", "c_off", "d_size", "e_usage")  # BufferBase's field order
    unvalidated = recording(device, UNVALIDATED)

    def use_a_subclass() -> int:
        sub = type("Sub", (hal.Buffer,), {"__slots__": names})
        b = sub(device, a.alloc, 0, 64, a.memory_type, a.usage, a.access)
        unvalidated.fill_buffer(b, 0, 4, 1)
        return id(sub)

    for _ in range(20):
        address = use_a_subclass()
        gc.collect()
        impostor = type("Sub", (), {"__slots__": names})
        x = impostor()
        x.a_dev, x.b_alloc, x.c_off, x.d_size, x.e_usage = device, 256, 0, 1 << 40, 0xFFFF
        with pytest.raises(hal.InvalidArgumentError, match="expected a Buffer"):
            unvalidated.fill_buffer(x, 0, 4096, 0xAB)
        if id(impostor) == address:
            break  # the case of the bug was met (and refused)


@pytest.fixture(scope="module")
def iree_add(tmp_path_factory):
    """(device, executable, entry point index, workgroup count, layout, C executable of
    the same layout): an IREE kernel (its bindings must be 64-byte aligned) and a C kernel
    (any offset) that share one PipelineLayout, on a local device."""
    from polyhal import iree

    if not iree.compiler_available():
        pytest.skip("iree-base-compiler is not installed (pip install polyhal[iree])")
    add = """func.func @add(%a: tensor<16xf32>, %b: tensor<16xf32>) -> tensor<16xf32> {
      %r = arith.addf %a, %b : tensor<16xf32>
      return %r : tensor<16xf32>
    }"""
    dump = iree.compile_mlir(add, tmp_path_factory.mktemp("iree-add"), driver="local")
    with hal.create_device("local") as device:
        d = next(iter(dump))
        aligned = dump.create_executables(device)[d.executable.name]
        index = aligned.resolve(d.name)
        layout = aligned.entry_points[index].layout
        any_offset = device.create_executable(
            hal.ExecutableSource(
                [hal.EntryPoint("k", layout)],
                {"c": '#include "polyhal.h"\nPOLYHAL_ENTRY(k) { return 0; }\n'},
            )
        )
        yield device, aligned, index, d.workgroup_count, layout, any_offset


def test_a_shared_layout_is_checked_at_each_executables_alignment(iree_add):
    """Executables may share a layout but not an alignment: a dispatch reusing the
    previous one's bindings is checked at its own executable's alignment, before a kernel
    can fault on it."""
    device, aligned, index, counts, layout, any_offset = iree_add
    big = device.allocate_buffer(4096)
    bindings = [(i, big, 64 * i + 4, 64) for i in range(layout.binding_count)]
    for slow in (False, True):
        cb = recording(device)
        if slow:
            cb.push_descriptor_set(layout, np.uint8(0), [hal.Binding(*b) for b in bindings])
        else:
            cb.push_descriptor_set(layout, 0, bindings)
        cb.dispatch(any_offset, 0, 1)
        with pytest.raises(hal.InvalidArgumentError, match="multiple of 64"):
            cb.dispatch(aligned, index, counts)
        cb.dispatch(any_offset, 0, 1)
        assert cb.record_count == 2


def test_a_dispatch_is_not_recorded_once_its_buffer_ended_mid_call(iree_add):
    """A slot binding's alignment check builds a commands.Ref (Python code): anything that
    ends the command buffer meanwhile (another thread; here a subclass's attribute) must
    not see the dispatch appended to the stream its program reads in place."""
    device, aligned, index, counts, layout, _ = iree_add

    class EndsOnAlignment(hal.CommandBuffer):
        __slots__ = ("_kept",)

        @property
        def _slot_alignments(self):
            if self._state == 1:
                self.end()
            return self._kept

        @_slot_alignments.setter
        def _slot_alignments(self, value):
            self._kept = value

    cb = EndsOnAlignment(device, hal.CommandBufferMode.DEFAULT, ANY, layout.binding_count)
    cb.begin()
    for _ in range(16):  # a full first block: one more record would move the array
        cb.execution_barrier()
    with pytest.raises(hal.FailedPreconditionError, match="after end"):
        cb.dispatch(
            aligned, index, counts, bindings=[(i, hal.Slot(i)) for i in range(layout.binding_count)]
        )
    assert cb.record_count == 16 and cb._state == 2


def test_allocations_and_objects_are_copies(device, env):
    """What submission counts as in use cannot be changed from outside: clearing the list
    once let a released buffer be submitted (a fill of freed memory)."""
    a = device.allocate_buffer(4096)
    cb = device.create_command_buffer()
    with cb:
        cb.fill_buffer(a, 0, 4096, 0xAB)
        cb.execution_barrier()
        cb.dispatch(env.so, 0, 1, constants=[1, 2], bindings=[(0, a), (1, a, 64)])
    for seq in (cb.allocations, cb.objects):
        assert isinstance(seq, tuple)
    assert cb.allocations == (a.alloc,) and cb.objects == (env.so,)
    assert cb.allocations is cb.allocations and cb.objects is cb.objects  # copied once
    growing = recording(device)
    growing.fill_buffer(a, 0, 4, 1)
    before = growing.allocations
    b = device.allocate_buffer(64)
    growing.fill_buffer(b, 0, 4, 1)
    assert before == (a.alloc,) and growing.allocations == (a.alloc, b.alloc)
    device.queue_dealloca(a)
    device.wait_idle(TIMEOUT)
    with pytest.raises(hal.FailedPreconditionError, match="deallocated"):
        device.queue_execute(cb)
