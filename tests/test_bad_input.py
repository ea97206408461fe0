"""Bad input through the public API raises a HalError subclass, never a stray TypeError,
and leaves the device and every other buffer intact."""

from __future__ import annotations

import numpy as np
import pytest

import polyhal as hal

SOURCE = r"""
#include "polyhal.h"
POLYHAL_ENTRY(copy4) {
  ((uint32_t*)dispatch->binding_ptrs[1])[0] = ((const uint32_t*)dispatch->binding_ptrs[0])[0];
  return 0;
}
"""


@pytest.fixture(scope="module")
def env():
    device = hal.create_device("local")
    layout = hal.PipelineLayout([hal.DescriptorSetLayout([0, 1])], push_constants=1)
    exe = device.create_executable(
        hal.ExecutableSource([hal.EntryPoint("copy4", layout)], {"c": SOURCE})
    )
    a = device.buffer_from(np.arange(16, dtype=np.uint32))
    b = device.buffer_from(np.full(16, 7, np.uint32))
    sentinel = device.buffer_from(np.full(64, 0x5A, np.uint8))
    yield device, layout, exe, a, b, sentinel
    device.close()


BAD_RECORDS = {
    "fill offset str": lambda cb, L, e, a, b: cb.fill_buffer(a, "0", 4, 1),
    "fill float length": lambda cb, L, e, a, b: cb.fill_buffer(a, 0, 4.0, 1),
    "fill pattern str": lambda cb, L, e, a, b: cb.fill_buffer(a, 0, 4, "x"),
    "fill pattern too wide": lambda cb, L, e, a, b: cb.fill_buffer(a, 0, 4, 0x1FF, 1),
    "fill negative offset": lambda cb, L, e, a, b: cb.fill_buffer(a, -4, 4, 1),
    "fill huge length": lambda cb, L, e, a, b: cb.fill_buffer(a, 0, 2**62, 1),
    "fill not a buffer": lambda cb, L, e, a, b: cb.fill_buffer(b"abc", 0, 1, 1),
    "copy past end": lambda cb, L, e, a, b: cb.copy_buffer(a, 60, b, 0, 8),
    "copy negative length": lambda cb, L, e, a, b: cb.copy_buffer(a, 0, b, 0, -1),
    "update source not bytes": lambda cb, L, e, a, b: cb.update_buffer(12, 0, a, 0, 4),
    "update source too short": lambda cb, L, e, a, b: cb.update_buffer(b"ab", 0, a, 0, 4),
    "slot str index": lambda cb, L, e, a, b: cb.fill_buffer(hal.Slot("0"), 0, 4, 1),
    "slot out of capacity": lambda cb, L, e, a, b: cb.fill_buffer(hal.Slot(5), 0, 4, 1),
    "dispatch bad count": lambda cb, L, e, a, b: cb.dispatch(
        e, 0, "abc", bindings=[(0, a), (1, b)]
    ),
    "dispatch four counts": lambda cb, L, e, a, b: cb.dispatch(
        e, 0, (1, 1, 1, 1), bindings=[(0, a), (1, b)]
    ),
    "dispatch z too big": lambda cb, L, e, a, b: cb.dispatch(
        e, 0, (1, 1, 70000), bindings=[(0, a), (1, b)]
    ),
    "dispatch bad entry": lambda cb, L, e, a, b: cb.dispatch(e, 3, 1, bindings=[(0, a)]),
    "dispatch unknown name": lambda cb, L, e, a, b: cb.dispatch(e, "nope", 1),
    "dispatch not executable": lambda cb, L, e, a, b: cb.dispatch("exe", 0, 1),
    "binding garbage": lambda cb, L, e, a, b: cb.push_descriptor_set(L, 0, [42]),
    "binding not in set": lambda cb, L, e, a, b: cb.push_descriptor_set(L, 0, [(5, a)]),
    "binding past end": lambda cb, L, e, a, b: cb.push_descriptor_set(L, 0, [(0, a, 60, 8)]),
    "set out of layout": lambda cb, L, e, a, b: cb.push_descriptor_set(L, 3, [(0, a)]),
    "constants unaligned bytes": lambda cb, L, e, a, b: cb.push_constants(L, 0, b"abc"),
    "constants too many": lambda cb, L, e, a, b: cb.push_constants(L, 0, [1, 2]),
    "constants bad offset": lambda cb, L, e, a, b: cb.push_constants(L, 2, [1]),
    "constants garbage": lambda cb, L, e, a, b: cb.push_constants(L, 0, ["x"]),
    "indirect unaligned": lambda cb, L, e, a, b: cb.dispatch_indirect(
        e, 0, a, 2, bindings=[(0, a), (1, b)]
    ),
    "indirect past end": lambda cb, L, e, a, b: cb.dispatch_indirect(
        e, 0, a, 60, bindings=[(0, a), (1, b)]
    ),
    "event not an event": lambda cb, L, e, a, b: cb.signal_event("ev"),
    "nested not a command buffer": lambda cb, L, e, a, b: cb.execute_commands(a),
    "barrier garbage": lambda cb, L, e, a, b: cb.execution_barrier(buffer_barriers=[1]),
}


@pytest.mark.parametrize("name", list(BAD_RECORDS))
def test_bad_record_raises_hal_error_and_corrupts_nothing(env, name):
    device, layout, exe, a, b, sentinel = env
    before = (a.read(), b.read(), sentinel.read())
    cb = device.create_command_buffer(binding_capacity=1)
    cb.begin()
    with pytest.raises(hal.HalError):
        BAD_RECORDS[name](cb, layout, exe, a, b)
    cb.end()
    sem = device.create_semaphore()
    device.queue_execute(cb, signal=[(sem, 1)], binding_table=[a])
    sem.wait(1, timeout=10)
    assert (a.read(), b.read(), sentinel.read()) == before


BAD_CALLS = {
    "allocate str": lambda d, a: d.allocate_buffer("12"),
    "allocate negative": lambda d, a: d.allocate_buffer(-5),
    "buffer_from object": lambda d, a: d.buffer_from(object()),
    "subspan str": lambda d, a: a.subspan("1", 4),
    "read past end": lambda d, a: a.read(60, 8),
    "write past end": lambda d, a: a.write(b"12345678", 60),
    "to_numpy bad dtype": lambda d, a: a.subspan(0, 6).to_numpy("uint32"),
    "semaphore str": lambda d, a: d.create_semaphore("x"),
    "semaphore negative": lambda d, a: d.create_semaphore(-1),
    "signal str": lambda d, a: d.create_semaphore().signal("x"),
    "signal backwards": lambda d, a: d.create_semaphore(5).signal(3),
    "wait pairs garbage": lambda d, a: d.wait_semaphores([1, 2]),
    "wait value str": lambda d, a: d.wait_semaphores([(d.create_semaphore(), "x")]),
    "execute garbage": lambda d, a: d.queue_execute(["cb"]),
    "execute not ended": lambda d, a: d.queue_execute(d.create_command_buffer()),
    "binding table garbage": lambda d, a: d.queue_execute([], binding_table=[1]),
    "binding table past end": lambda d, a: d.queue_execute([], binding_table=[(a, 60, 8)]),
    "queue_fill past end": lambda d, a: d.queue_fill(a, 60, 8, 0),
    "queue_copy overlap": lambda d, a: d.queue_copy(a, 0, a, 4, 8),
    "host call not callable": lambda d, a: d.queue_host_call(3),
    "dealloca garbage": lambda d, a: d.queue_dealloca("buf"),
    "executable garbage": lambda d, a: d.create_executable("src"),
    "command buffer capacity": lambda d, a: d.create_command_buffer(binding_capacity=-1),
    "fail with OK": lambda d, a: d.create_semaphore().fail(hal.StatusCode.OK),
}


@pytest.mark.parametrize("name", list(BAD_CALLS))
def test_bad_call_raises_hal_error(env, name):
    device, layout, exe, a, b, sentinel = env
    before = (a.read(), sentinel.read())
    with pytest.raises(hal.HalError):
        BAD_CALLS[name](device, a)
    assert (a.read(), sentinel.read()) == before
    device.queue_fill(sentinel, 0, 4, 0x5A)  # the device still works
    device.wait_idle(timeout=10)


def test_workgroup_size_beyond_the_device_is_refused():
    with hal.create_device("local") as device:
        limits = device.info["limits"]
        layout = hal.PipelineLayout([])
        too_big = (1, 1, limits["max_workgroup_size"][2] + 1)
        with pytest.raises(hal.InvalidArgumentError, match="workgroup size"):
            device.create_executable(
                hal.ExecutableSource(
                    [hal.EntryPoint("k", layout, too_big)], {"c": "int k(void){return 0;}"}
                )
            )
    with pytest.raises(hal.InvalidArgumentError):
        hal.EntryPoint("k", hal.PipelineLayout([]), ("a", 1, 1))
