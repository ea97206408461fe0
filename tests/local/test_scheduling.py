"""How the local executor spreads a region's workgroups: chunks sized from what workgroups
cost, never across dispatches, and regions known to be short kept on the caller."""

from __future__ import annotations

import numpy as np

import polyhal as hal

SOURCE = r"""
#include <time.h>
#include "polyhal.h"
static void spin_ns(long ns) {
  struct timespec t0, t;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  do clock_gettime(CLOCK_MONOTONIC, &t);
  while ((t.tv_sec - t0.tv_sec) * 1000000000L + (t.tv_nsec - t0.tv_nsec) < ns);
}
POLYHAL_ENTRY(count) {     /* out[wg] += 1, after spinning push_constants[0] ns */
  uint32_t* out = (uint32_t*)dispatch->binding_ptrs[0];
  if (dispatch->push_constants[0]) spin_ns(dispatch->push_constants[0]);
  out[workgroup->workgroup_id_x] += 1;
  return 0;
}
POLYHAL_ENTRY(processor) { /* out[wg] = processor_id + 1, after spinning push_constants[0] ns */
  uint32_t* out = (uint32_t*)dispatch->binding_ptrs[0];
  if (dispatch->push_constants[0]) spin_ns(dispatch->push_constants[0]);
  out[workgroup->workgroup_id_x] = workgroup->processor_id + 1;
  return 0;
}
"""


def _executable(device: hal.Device) -> hal.Executable:
    layout = hal.PipelineLayout([hal.DescriptorSetLayout([0])], push_constants=1)
    eps = [hal.EntryPoint("count", layout), hal.EntryPoint("processor", layout)]
    return device.create_executable(hal.ExecutableSource(eps, {"c": SOURCE}))


def _submit(device: hal.Device, cb: hal.CommandBuffer) -> None:
    sem = device.create_semaphore()
    device.queue_execute(cb, signal=[(sem, 1)])
    sem.wait(1, timeout=60)


def test_a_region_of_cheap_and_costly_dispatches_runs_every_workgroup_once_per_submission():
    """One region (no barriers) of dispatches whose workgroups cost from nothing to 200 us,
    submitted repeatedly so that later runs size chunks and pick caller-only runs from the
    costs the earlier ones measured."""
    shapes = [(3000, 0), (7, 200_000), (1, 0), (40, 20_000), (2, 0), (500, 1_000)]
    with hal.create_device("local", workers=1) as device:
        exe = _executable(device)
        outs = [device.allocate_buffer(4 * n) for n, _ in shapes]
        for out, (n, _) in zip(outs, shapes, strict=True):
            out.write(np.zeros(n, np.uint32))
        cb = device.create_command_buffer(hal.CommandBufferMode.DEFAULT)
        with cb:
            for out, (n, ns) in zip(outs, shapes, strict=True):
                cb.dispatch(exe, "count", n, bindings=[(0, out)], constants=[ns])
        for _ in range(4):
            _submit(device, cb)
        for out, (n, _) in zip(outs, shapes, strict=True):
            assert out.to_numpy("uint32").tolist() == [4] * n


def test_a_region_known_to_be_short_runs_on_the_caller_alone():
    """Four workgroups of 2 us: once their cost is known, sharing them would cost more
    than it saves, so every one runs on processor 0 (the caller), although the worker
    spins (it would take a workgroup within nanoseconds of its publication).  Timing
    decides it, so runs that a preemption disturbed are given more tries: five in a
    row must stay on the caller."""
    with hal.create_device("local", workers=1, spin_us=200_000) as device:
        exe = _executable(device)
        out = device.allocate_buffer(4 * 4)
        cb = device.create_command_buffer(hal.CommandBufferMode.DEFAULT)
        with cb:
            cb.dispatch(exe, "processor", 4, bindings=[(0, out)], constants=[2000])
        seen = []
        for _ in range(30):
            _submit(device, cb)
            seen.append(out.to_numpy("uint32").tolist())
            if seen[-5:] == [[1] * 4] * 5:
                break
        assert seen[-5:] == [[1] * 4] * 5, seen
