"""Checks per-dispatch device times in traces on every available driver.

Runs a small traced program on each driver (three entry points dispatched in order, as a
one-shot command buffer and as a reusable one with a binding-table slot, submitted twice)
and validates the trace it wrote: every dispatch is there, once, named after its entry
point, on the device's ``device`` track, with a duration > 0, inside its submission's
queue slice and in dispatch order; then runs the program again untraced.

    python scripts/trace_check.py                    # every available driver
    python scripts/trace_check.py --drivers cuda     # one of them
    python scripts/trace_check.py --keep traces/     # also keep the trace files

Exits 0 when every driver checked passed, 1 otherwise (2 when none was available); prints
one line per driver.  The cuda driver's tracing is verified only by this script on a
machine with a GPU.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

import polyhal as hal

ENTRY_POINTS = ("first", "second", "third")
GROUPS, SIZE = 4, 64  # workgroups per dispatch, invocations per workgroup
#: Work per invocation, so that each dispatch lasts long enough for any timer to see it.
ROUNDS = 256

C_SOURCE = r"""
#include "polyhal.h"
static unsigned churn(unsigned v) {
  for (unsigned r = 0; r < @ROUNDS@; ++r) v = v * 1664525u + 1013904223u;
  return v;
}
#define KERNEL(name, op)                                              \
  POLYHAL_ENTRY(name) {                                               \
    unsigned* o = (unsigned*)dispatch->binding_ptrs[0];               \
    unsigned base = workgroup->workgroup_id_x * @SIZE@;             \
    for (unsigned j = 0; j < @SIZE@; ++j) {                         \
      unsigned i = base + j;                                          \
      volatile unsigned sink = churn(i);                              \
      (void)sink;                                                     \
      op;                                                             \
    }                                                                 \
    return 0;                                                         \
  }
KERNEL(first, o[i] = i)
KERNEL(second, o[i] += 1)
KERNEL(third, o[i] *= 2)
""".replace("@ROUNDS@", str(ROUNDS)).replace("@SIZE@", str(SIZE))

GLSL_TEMPLATE = """#version 450
layout(local_size_x = @SIZE@) in;
layout(set = 0, binding = 0) buffer B { uint o[]; };
void main() {
  uint i = gl_GlobalInvocationID.x;
  uint v = i;
  for (uint r = 0; r < @ROUNDS@u; ++r) v = v * 1664525u + 1013904223u;
  if (v == 0xFFFFFFFFu && i == 0xFFFFFFFFu) o[0] = v;
  @OP@;
}
"""
GLSL = {
    name: GLSL_TEMPLATE.replace("@SIZE@", str(SIZE))
    .replace("@ROUNDS@", str(ROUNDS))
    .replace("@OP@", op)
    for name, op in zip(ENTRY_POINTS, ("o[i] = i", "o[i] += 1", "o[i] *= 2"), strict=True)
}

CUDA_SOURCE = r"""
__device__ unsigned churn(unsigned v) {
  for (unsigned r = 0; r < @ROUNDS@u; ++r) v = v * 1664525u + 1013904223u;
  return v;
}
#define KERNEL(name, op)                                                         \
  extern "C" __global__ void name(unsigned* o) {                                 \
    unsigned i = blockIdx.x * blockDim.x + threadIdx.x;                          \
    if (churn(i) == 0xFFFFFFFFu && i == 0xFFFFFFFFu) o[0] = 0;                   \
    op;                                                                          \
  }
KERNEL(first, o[i] = i)
KERNEL(second, o[i] += 1)
KERNEL(third, o[i] *= 2)
""".replace("@ROUNDS@", str(ROUNDS))

#: GLSL's SPIR-V, shipped so that machines without glslangValidator run the check too
#: (regenerate with: glslangValidator -V -g0 --target-env vulkan1.2 -S comp -e NAME
#: --source-entrypoint main -o trace_check_spirv/NAME.spv; tests/test_tracing.py compares).
SPIRV_DIR = Path(__file__).parent / "trace_check_spirv"
SPIRV = {name: (SPIRV_DIR / f"{name}.spv").read_bytes() for name in ENTRY_POINTS}

EXPECTED = (np.arange(GROUPS * SIZE, dtype=np.uint32) + 1) * 2


def run_program(device: hal.Device) -> list[int]:
    """Runs the program: a one-shot command buffer, then a reusable one with a slot,
    submitted twice.  Returns the number of dispatches each submission ran, in order."""
    layout = hal.PipelineLayout([hal.DescriptorSetLayout([0])])
    exe = device.create_executable(
        hal.ExecutableSource(
            [hal.EntryPoint(name, layout, (SIZE, 1, 1)) for name in ENTRY_POINTS],
            {"c": C_SOURCE, "spirv": SPIRV, "cuda": CUDA_SOURCE},
        )
    )
    out = device.allocate_buffer(GROUPS * SIZE * 4)
    done = device.create_semaphore(0)
    one_shot = device.create_command_buffer()
    with one_shot:
        for name in ENTRY_POINTS:
            one_shot.dispatch(exe, name, (GROUPS, 1, 1), bindings=[(0, out)])
            one_shot.execution_barrier()
    device.queue_execute(one_shot, signal=[(done, 1)])
    done.wait(1, timeout=120)
    reusable = device.create_command_buffer(mode=hal.CommandBufferMode.DEFAULT, binding_capacity=1)
    with reusable:
        for name in ENTRY_POINTS:
            reusable.dispatch(exe, name, (GROUPS, 1, 1), bindings=[(0, hal.Slot(0))])
            reusable.execution_barrier()
    for value in (2, 3):
        device.queue_execute(
            reusable, wait=[(done, value - 1)], signal=[(done, value)], binding_table=[out]
        )
    done.wait(3, timeout=120)
    result = out.to_numpy("uint32")
    if not np.array_equal(result, EXPECTED):
        raise AssertionError(f"the program computed {result[:8]}…")
    return [len(ENTRY_POINTS)] * 3


def dispatch_events(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in events if e.get("cat") == "dispatch"]


def problems(
    events: list[dict[str, Any]], per_submission: list[int], slack_us: float = 0.0
) -> list[str]:
    """What is wrong with the dispatch events of a trace of ``run_program`` (empty: all
    good).  ``slack_us`` tolerates clock-mapping error at the edges of submissions."""
    found: list[str] = []
    spans: dict[int, list[float]] = {}
    for e in events:
        if e.get("cat") == "queue" and e.get("name") == "queue_execute":
            spans.setdefault(e["id"], []).append(e["ts"])
    executes = sorted(spans)
    if len(executes) != len(per_submission):
        return [f"{len(executes)} queue_execute operations traced, expected {len(per_submission)}"]
    tracks = {
        e["tid"]
        for e in events
        if e.get("ph") == "M" and e.get("name") == "thread_name" and e["args"]["name"] == "device"
    }
    dispatches = dispatch_events(events)
    for submission, expected in zip(executes, per_submission, strict=True):
        begin, end = min(spans[submission]), max(spans[submission])
        mine = sorted(
            (e for e in dispatches if e["args"]["submission"] == submission),
            key=lambda e: (e["args"]["command_buffer"], e["args"]["dispatch"]),
        )
        names = [e["name"] for e in mine]
        if names != list(ENTRY_POINTS) * (expected // len(ENTRY_POINTS)):
            found.append(
                f"submission {submission}: dispatches {names}, expected {list(ENTRY_POINTS)}"
            )
            continue
        last_start = begin - slack_us
        for e in mine:
            where = f"submission {submission} dispatch {e['args']['dispatch']} ({e['name']})"
            if e["ph"] != "X" or e["tid"] not in tracks:
                found.append(f"{where}: not a complete event on the device track")
            if not e["dur"] > 0:
                found.append(f"{where}: duration {e['dur']} µs")
            if e["ts"] < last_start:
                found.append(
                    f"{where}: starts at {e['ts']}, before the one before it "
                    f"({last_start}) or its submission ({begin})"
                )
            if e["ts"] + e["dur"] > end + slack_us:
                found.append(
                    f"{where}: ends at {e['ts'] + e['dur']}, after its submission completed ({end})"
                )
            if e["args"]["workgroups"] != [GROUPS, 1, 1]:
                found.append(f"{where}: workgroups {e['args']['workgroups']}")
            last_start = e["ts"]
    return found


def check_driver(uri: str, directory: Path) -> list[str]:
    """Traced and untraced runs of the program on ``uri``; the problems found."""
    path = directory / f"{uri}.json"
    with hal.create_device(uri) as device:
        with device.trace(path):
            per_submission = run_program(device)
        run_program(device)  # untraced again: must still compute the right thing
    return problems(json.loads(path.read_text()), per_submission, slack_us=1.0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--drivers",
        nargs="*",
        help="driver URIs (default: every available driver, local-sync included)",
    )
    parser.add_argument("--keep", metavar="DIR", help="write the traces into DIR")
    args = parser.parse_args()
    available = hal.available_drivers()
    drivers = args.drivers or [
        d for d in ("local", "local-sync", "vulkan", "cuda") if d.split("-")[0] in available
    ]
    if not drivers:
        print("no driver available")
        return 2
    failed = False
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(args.keep or tmp)
        directory.mkdir(parents=True, exist_ok=True)
        for uri in drivers:
            try:
                found = check_driver(uri, directory)
            except Exception as e:  # report and go on to the next driver
                found = [f"{type(e).__name__}: {e}"]
            failed |= bool(found)
            print(f"{uri}: " + ("ok" if not found else "FAILED\n  " + "\n  ".join(found)))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
