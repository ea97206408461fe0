"""One rank of the vulkan collective run (started by test_vulkan_collectives.py under mpiexec).

Vulkan runs collectives on host memory between GPU submissions
(polyhal/drivers/vulkan/collectives.py), so besides the conformance cases of
rank_cases.py (on the ranges mapped in place, then again through staging copies, the
path of device memory the host cannot map) this checks what that split must keep:
GPU work before a collective is complete and visible to it, work after it sees its
result, binding-table slots resolve per submission, and a submission that fails on the
GPU before its collective fails every rank's.  Prints ``RESULT {json}`` as rank_cases.py.
"""

from __future__ import annotations

import json
import time
import traceback

import numpy as np
from rank_cases import K, R, Run, T

import polyhal as hal
from polyhal.drivers.vulkan import collectives

AXPB_GLSL = """
#version 450
layout(local_size_x = 64) in;
layout(set = 0, binding = 0) buffer Y { float y[]; };
layout(push_constant) uniform Constants { float a; float b; uint n; };

void main() {
  uint i = gl_GlobalInvocationID.x;
  if (i < n) y[i] = a * y[i] + b;
}
"""


class VulkanRun(Run):
    def __init__(self) -> None:
        super().__init__("vulkan")
        layout = hal.PipelineLayout([hal.DescriptorSetLayout([0])], push_constants=3)
        self.axpb = self.device.create_executable(
            hal.ExecutableSource([hal.EntryPoint("axpb", layout, (64, 1, 1))], {"glsl": AXPB_GLSL})
        )

    def staged(self) -> None:
        """The conformance cases again, every range through a staging copy."""
        collectives.ALWAYS_STAGE = True
        try:
            self.kinds()
            self.point_to_point()
        finally:
            collectives.ALWAYS_STAGE = False

    def gpu_around_slots(self) -> None:
        self.gpu_around(slot=True)

    def gpu_around(self, slot: bool = False) -> None:
        """dispatch → all_reduce → dispatch in one reusable command buffer, submitted
        twice in a chain of timeline values; with ``slot`` through binding-table slots
        (two tables), else on the buffers themselves."""
        n, rank, count = 100, self.rank, self.count
        op = hal.CollectiveOp(K.ALL_REDUCE, R.SUM, T.FLOAT32)
        start = np.arange(n, dtype=np.float32) + rank
        pairs = [
            (self.device.buffer_from(start), self.device.allocate_buffer(4 * n)) for _ in range(2)
        ]
        cb = self.device.create_command_buffer(
            hal.CommandBufferMode.DEFAULT, binding_capacity=2 if slot else 0
        )
        src, dst = (hal.Slot(0), hal.Slot(1)) if slot else pairs[0]
        with cb:
            cb.dispatch(self.axpb, 0, 2, constants=[2.0, float(rank), n], bindings=[(0, src)])
            cb.execution_barrier()
            cb.collective(self.channel, op, 0, src, dst, n)
            cb.execution_barrier()
            cb.dispatch(self.axpb, 0, 2, constants=[1.0, 1.0, n], bindings=[(0, dst)])
        sem = self.device.create_semaphore()
        rounds = 2
        for r in range(rounds):
            table = pairs[r] if slot else None
            self.device.queue_execute(
                cb, wait=[(sem, r)], signal=[(sem, r + 1)], binding_table=table
            )
        sem.wait(rounds, timeout=120)
        # Each round: y = 2 y + rank on every rank, the sum over the ranks, plus one.
        s = [np.arange(n, dtype=np.float64) + q for q in range(count)]
        once = [2 * y + q for q, y in enumerate(s)]
        if slot:  # each round on its own pair of buffers
            expected = [(pairs[0][1], sum(once) + 1), (pairs[1][1], sum(once) + 1)]
        else:  # both rounds on the first pair
            twice = [2 * y + q for q, y in enumerate(once)]
            expected = [(pairs[0][1], sum(twice) + 1)]
        name = "dispatch/all_reduce/dispatch" + (" on slots" if slot else "")
        for buffer, want in expected:
            out = buffer.to_numpy("float32")
            self.check(name, np.allclose(out, want), f"{out[:4]} != {want[:4]}")

    def failing_gpu_rank(self) -> None:
        """Rank 1's submission fails on the GPU (an out-of-range indirect count) before its
        collective: it gets that error, the others AbortedError, and the channel goes on."""
        if self.count < 2:
            return
        rank = self.rank
        op = hal.CollectiveOp(K.ALL_REDUCE, R.SUM, T.SINT32)
        buf = self.device.buffer_from(np.full(4, rank + 1, np.int32))
        ys = self.device.allocate_buffer(256)
        counts = self.device.buffer_from(np.array([0xFFFFFFFF, 1, 1], np.uint32))
        cb = self.device.create_command_buffer()
        with cb:
            if rank == 1:
                cb.dispatch_indirect(
                    self.axpb, 0, counts, constants=[1.0, 0.0, 0], bindings=[(0, ys)]
                )
                cb.execution_barrier()
            cb.collective(self.channel, op, 0, buf, buf, 4)
        begin = time.monotonic()
        error = self.submit(cb)
        took = time.monotonic() - begin
        want = hal.OutOfRangeError if rank == 1 else hal.AbortedError
        self.check(
            "a rank failing on the GPU fails every rank",
            isinstance(error, want) and took < 30,
            f"{error!r} after {took:.1f}s",
        )
        cb = self.device.create_command_buffer()
        with cb:
            cb.collective(self.channel, op, 0, buf, buf, 4)
        error = self.submit(cb)
        total = sum(range(1, self.count + 1))
        self.check(
            "the channel works after a GPU failure",
            error is None and buf.to_numpy("int32").tolist() == [total] * 4,
            repr(error) if error else str(buf.to_numpy("int32")),
        )

    def never_comes(self) -> None:
        """Rank 1 never submits its collective: the others fail with DeadlineExceededError
        within the channel's timeout, and the broken channel then refuses."""
        if self.count < 2:
            return
        op = hal.CollectiveOp(K.ALL_REDUCE, R.SUM, T.SINT32)
        buf = self.device.buffer_from(np.ones(4, np.int32))
        short = self.device.create_channel(timeout=1.5)
        if self.rank == 1:
            return
        for want in (hal.DeadlineExceededError, hal.UnavailableError):
            cb = self.device.create_command_buffer()
            with cb:
                cb.fill_buffer(buf, 0, 16, 0)
                cb.execution_barrier()
                cb.collective(short, op, 0, buf, buf, 4)
            begin = time.monotonic()
            error = self.submit(cb)
            took = time.monotonic() - begin
            self.check(
                f"a rank that never comes: {want.__name__}",
                isinstance(error, want) and took < 20,
                f"{error!r} after {took:.1f}s",
            )


def main() -> None:
    run = VulkanRun()
    parts = (
        run.kinds,
        run.point_to_point,
        run.validation,
        run.split,
        run.staged,
        run.gpu_around,
        run.gpu_around_slots,
        run.failing_gpu_rank,
        run.never_comes,
    )
    for part in parts:
        try:
            part()
        except Exception:
            run.failures.append(
                f"{getattr(part, '__name__', 'gpu_around')}: {traceback.format_exc()}"
            )
    print(
        "RESULT "
        + json.dumps(
            {"rank": run.rank, "count": run.count, "passed": run.passed, "failures": run.failures}
        ),
        flush=True,
    )


if __name__ == "__main__":
    main()
