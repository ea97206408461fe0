"""Vulkan-driver goals: host recording cost and device time per dispatch of a reusable
1000-dispatch command buffer, beside the same sequence hand-recorded with the plain
``vulkan`` binding (its Python wrappers, as a user of the package would write it).

    python benchmarks/bench_vulkan.py [--device vulkan:N] [--dispatches 1000]
                                      [--workgroups 64] [--reps 11] [--json FILE]

Each dispatch runs ``scale_and_offset`` (two storage buffers, two push constants) of
the conformance kernels.  Cases:

- ``barrier``: every dispatch is followed by a dispatch→dispatch memory barrier;
- ``none``: no barrier at all (the GPU may overlap the dispatches);
- each with the state ``repeated`` (the same constants and buffers every dispatch, which
  the encoder pushes once) or ``changing`` (new constants and swapped buffers every
  dispatch: everything is pushed again, as the hand-recorded sequence always does), by
  ``push_constants`` + ``push_descriptor_set`` + ``dispatch``; ``none/shorthand`` is
  ``changing`` through the ``dispatch(..., constants=, bindings=)`` shorthand.

Host figures are µs of Python per dispatch: ``front end`` (the HAL calls that record),
``encode`` (``end()``, which records the VkCommandBuffer) and their sum; ``hand`` is the
hand-recorded sequence, ``raw floor`` the same Vulkan calls with every struct prebuilt
(what the driver's own calls cost, with the least Python around them; its barrier is the
encoder's for the HAL dispatch → dispatch barrier, compute shader to compute shader),
measured beside each case, interleaved with it.  Goal (issue 10): recording with changing
state (front end + encode) within 1.5x the raw floor of the same run.  First, the raw
floor recorded alone, seven in a row: where a driver's recording cost depends on what
ran before (one H200 run, with barriers: 2.5 µs alone, 4.5 µs interleaved with the
HAL's recordings, which stay alive to the end of their case), the two differ.

Device figures are µs per dispatch between two GPU timestamps written right before and
after the command buffer, medians over ``reps`` submissions.
"""

from __future__ import annotations

import argparse
import json
import statistics
import threading
import time
from pathlib import Path

import polyhal as hal

ROOT = Path(__file__).resolve().parent.parent
SPIRV = ROOT / "tests" / "conformance" / "kernels" / "glsl" / "scale_and_offset.spv"


class Bench:
    def __init__(self, uri: str, dispatches: int, workgroups: int, reps: int):
        import vulkan as vk

        from polyhal.drivers.vulkan.instance import ffi, lib

        self.vk, self.ffi, self.lib = vk, ffi, lib
        self.device = hal.create_device(uri)
        self.driver = self.device._driver
        self.n, self.workgroups, self.reps = dispatches, workgroups, reps
        self.layout = hal.PipelineLayout(
            [
                hal.DescriptorSetLayout(
                    [
                        hal.DescriptorSetLayoutBinding(0, hal.DescriptorFlags.READ_ONLY),
                        hal.DescriptorSetLayoutBinding(1),
                    ]
                )
            ],
            push_constants=2,
        )
        self.exe = self.device.create_executable(
            hal.ExecutableSource(
                [hal.EntryPoint("scale_and_offset", self.layout)], {"spirv": SPIRV.read_bytes()}
            )
        )
        size = 4 * workgroups
        self.x = self.device.buffer_from(bytes(size))
        self.y = self.device.buffer_from(bytes(size))
        #: The barrier after each dispatch: dispatch → dispatch, writes → reads.
        self.memory_barriers = [
            hal.MemoryBarrier(hal.AccessScope.DISPATCH_WRITE, hal.AccessScope.DISPATCH_READ)
        ]
        self._timestamps()

    # -- polyhal ------------------------------------------------------------------------------
    def record_hal(
        self,
        barrier: bool,
        changing: bool,
        shorthand: bool = False,
    ) -> tuple[hal.CommandBuffer, float, float]:
        """A reusable command buffer of n dispatches; (cb, front-end s, encode s).  The
        calls are written as a program would (arguments in local variables, the barrier's
        by position): the loop around them is the harness's, kept as lean as the raw
        floor's."""
        cb = self.device.create_command_buffer(hal.CommandBufferMode.DEFAULT)
        layout, exe, x, y, n = self.layout, self.exe, self.x, self.y, self.n
        wg, stage, memory = self.workgroups, hal.ExecutionStage.DISPATCH, self.memory_barriers
        t0 = time.perf_counter()
        cb.begin()
        if not changing:
            cb.push_constants(layout, 0, [3, 1])
            cb.push_descriptor_set(layout, 0, [(0, x), (1, y)])
        for i in range(n):
            if shorthand:
                a, b = (x, y) if i % 2 == 0 else (y, x)
                cb.dispatch(exe, 0, wg, constants=[3, i], bindings=[(0, a), (1, b)])
                if barrier:
                    cb.execution_barrier(stage, stage, memory_barriers=memory)
                continue
            if changing:
                cb.push_constants(layout, 0, [3, i])
                a, b = (x, y) if i % 2 == 0 else (y, x)
                cb.push_descriptor_set(layout, 0, [(0, a), (1, b)])
            cb.dispatch(exe, 0, wg)
            if barrier:
                cb.execution_barrier(stage, stage, memory_barriers=memory)
        t1 = time.perf_counter()
        cb.end()
        t2 = time.perf_counter()
        return cb, t1 - t0, t2 - t1

    # -- the plain binding, by hand -----------------------------------------------------------
    def record_hand(self, barrier: bool) -> tuple[object, float]:
        """The reference: push constants + push descriptors + dispatch (+ barrier) per
        dispatch through the package's wrappers; returns (VkCommandBuffer, seconds)."""
        vk, ffi, drv = self.vk, self.ffi, self.driver
        entry = self.exe.native.entries[0]
        pool = vk.vkCreateCommandPool(
            drv.handle, vk.VkCommandPoolCreateInfo(queueFamilyIndex=drv.queue_family), None
        )
        cb = vk.vkAllocateCommandBuffers(
            drv.handle,
            vk.VkCommandBufferAllocateInfo(
                commandPool=pool, level=vk.VK_COMMAND_BUFFER_LEVEL_PRIMARY, commandBufferCount=1
            ),
        )[0]
        push_descriptors = vk.vkGetDeviceProcAddr(drv.handle, "vkCmdPushDescriptorSetKHR")
        x, y, size = self.x.alloc.buffer, self.y.alloc.buffer, 4 * self.workgroups
        t0 = time.perf_counter()
        vk.vkBeginCommandBuffer(
            cb, vk.VkCommandBufferBeginInfo(flags=vk.VK_COMMAND_BUFFER_USAGE_SIMULTANEOUS_USE_BIT)
        )
        vk.vkCmdBindPipeline(cb, vk.VK_PIPELINE_BIND_POINT_COMPUTE, entry.pipeline)
        for i in range(self.n):
            constants = ffi.new("int32_t[2]", [3, i])
            vk.vkCmdPushConstants(cb, entry.layout, vk.VK_SHADER_STAGE_COMPUTE_BIT, 0, 8, constants)
            a, b = (x, y) if i % 2 == 0 else (y, x)
            writes = [
                vk.VkWriteDescriptorSet(
                    dstBinding=binding,
                    descriptorCount=1,
                    descriptorType=vk.VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
                    pBufferInfo=[vk.VkDescriptorBufferInfo(buffer=buf, offset=0, range=size)],
                )
                for binding, buf in ((0, a), (1, b))
            ]
            push_descriptors(cb, vk.VK_PIPELINE_BIND_POINT_COMPUTE, entry.layout, 0, 2, writes)
            vk.vkCmdDispatch(cb, self.workgroups, 1, 1)
            if barrier:
                vk.vkCmdPipelineBarrier(
                    cb,
                    vk.VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
                    vk.VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
                    0,
                    1,
                    [
                        vk.VkMemoryBarrier(
                            srcAccessMask=vk.VK_ACCESS_SHADER_WRITE_BIT,
                            dstAccessMask=vk.VK_ACCESS_SHADER_READ_BIT,
                        )
                    ],
                    0,
                    None,
                    0,
                    None,
                )
        vk.vkEndCommandBuffer(cb)
        seconds = time.perf_counter() - t0
        self._keep = getattr(self, "_keep", []) + [pool]
        return cb, seconds

    def record_hand_raw(self, barrier: bool) -> float:
        """The floor: the same calls with every struct built beforehand, through the
        device's function pointers (cffi), i.e. the least Python per dispatch; seconds."""
        import struct

        from polyhal.drivers.vulkan import barriers, recording

        vk, drv = self.vk, self.driver
        fn, entry = drv.fn, self.exe.native.entries[0]
        size = 4 * self.workgroups
        writes = [
            recording.make_descriptor_writes(entry, [(a.alloc, 0, size), (b.alloc, 0, size)])
            for a, b in ((self.x, self.y), (self.y, self.x))
        ]
        sets = [groups[0][2] for groups, _ in writes]
        stages = vk.VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT
        memory = barriers.Barrier(
            drv, stages, stages, vk.VK_ACCESS_SHADER_WRITE_BIT, vk.VK_ACCESS_SHADER_READ_BIT
        )
        rec = recording.Recording(drv)
        begin = self.ffi.new(
            "VkCommandBufferBeginInfo*",
            {
                "sType": vk.VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
                "flags": vk.VK_COMMAND_BUFFER_USAGE_SIMULTANEOUS_USE_BIT,
            },
        )
        cb, layout, compute = rec.cb, entry.layout, vk.VK_PIPELINE_BIND_POINT_COMPUTE
        push_constants, push_set, dispatch = (
            fn.push_constants,
            fn.push_descriptor_set,
            (fn.dispatch),
        )
        pack, stage, wg = (
            struct.Struct("<ii").pack,
            vk.VK_SHADER_STAGE_COMPUTE_BIT,
            (self.workgroups),
        )
        t0 = time.perf_counter()
        fn.begin_command_buffer(cb, begin)
        fn.bind_pipeline(cb, compute, entry.pipeline)
        for i in range(self.n):
            push_constants(cb, layout, stage, 0, 8, pack(3, i))
            push_set(cb, compute, layout, 0, 2, sets[i & 1])
            dispatch(cb, wg, 1, 1)
            if barrier:
                memory.record(fn, cb)
        fn.end_command_buffer(cb)
        return time.perf_counter() - t0

    # -- device time ----------------------------------------------------------------------------
    def _timestamps(self) -> None:
        from polyhal.drivers.vulkan.recording import Recording

        vk, ffi, lib, drv = self.vk, self.ffi, self.lib, self.driver
        props = ffi.new("VkPhysicalDeviceProperties*")
        lib.vkGetPhysicalDeviceProperties(drv.physical.handle, props)
        self.period_ns = props.limits.timestampPeriod
        info = ffi.new(
            "VkQueryPoolCreateInfo*",
            {
                "sType": vk.VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO,
                "queryType": vk.VK_QUERY_TYPE_TIMESTAMP,
                "queryCount": 2,
            },
        )
        out = ffi.new("VkQueryPool*")
        lib.vkCreateQueryPool(drv.handle, info, ffi.NULL, out)
        self.queries = out[0]
        self.stamp_cbs = []
        for reset in (True, False):
            rec = Recording(drv)
            begin = ffi.new(
                "VkCommandBufferBeginInfo*",
                {"sType": vk.VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO},
            )
            lib.vkBeginCommandBuffer(rec.cb, begin)
            if reset:
                lib.vkCmdResetQueryPool(rec.cb, self.queries, 0, 2)
            lib.vkCmdWriteTimestamp(
                rec.cb, vk.VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, self.queries, 0 if reset else 1
            )
            lib.vkEndCommandBuffer(rec.cb)
            self.stamp_cbs.append(rec)

    def device_us(self, vk_cb: object) -> float:
        """Median µs per dispatch between timestamps around ``vk_cb``."""
        ffi, lib, drv = self.ffi, self.lib, self.driver
        stamps = ffi.new("uint64_t[2]")
        times = []
        for _ in range(self.reps + 1):
            finished = threading.Event()
            drv.queue.submit(
                [self.stamp_cbs[0].cb, vk_cb, self.stamp_cbs[1].cb],
                lambda error, event=finished: event.set(),
                None,
            )
            finished.wait()
            lib.vkGetQueryPoolResults(
                drv.handle, self.queries, 0, 2, 16, stamps, 8, self.vk.VK_QUERY_RESULT_64_BIT
            )
            times.append((stamps[1] - stamps[0]) * self.period_ns / 1e3 / self.n)
        return statistics.median(times[1:])

    def replay_wall_us(self, cb: hal.CommandBuffer, submissions: int = 10) -> float:
        """µs per dispatch of back-to-back queue_execute calls, waited for at the end."""
        times = []
        for _ in range(3):
            sem = self.device.create_semaphore(0)
            t0 = time.perf_counter()
            for k in range(submissions):
                self.device.queue_execute(cb, wait=[(sem, k)], signal=[(sem, k + 1)])
            sem.wait(submissions, timeout=60)
            times.append((time.perf_counter() - t0) / submissions / self.n * 1e6)
        return statistics.median(times)

    # -- the report -----------------------------------------------------------------------------
    def raw_alone(self, results: dict) -> None:
        """The raw floor recorded seven times in a row, with and without barriers."""
        alone = {
            ("barrier" if barrier else "none"): statistics.median(
                [self.record_hand_raw(barrier) for _ in range(7)]
            )
            / self.n
            * 1e6
            for barrier in (True, False)
        }
        results["raw_floor_alone_us"] = {k: round(v, 3) for k, v in alone.items()}
        print(
            f"raw floor recorded alone, µs/dispatch: with barriers {alone['barrier']:.2f}, "
            f"without {alone['none']:.2f}",
            flush=True,
        )

    def run(self) -> dict:
        results = {
            "device": self.device.name,
            "driver_info": self.device.info.get("driver"),
            "dispatches": self.n,
            "workgroups": self.workgroups,
            "cases": {},
        }
        self.raw_alone(results)
        for barrier in (True, False):
            hand = [self.record_hand(barrier) for _ in range(3)]
            hand_s = statistics.median([s for _, s in hand])
            hand_dev = self.device_us(hand[0][0])
            for changing, shorthand in ((False, False), (True, False), (True, True)):
                name = ("barrier/" if barrier else "none/") + (
                    "shorthand" if shorthand else "changing" if changing else "repeated"
                )
                # The floor and the case interleaved, so that both see the same machine.
                recs, raws = [], []
                for _ in range(7):
                    recs.append(self.record_hal(barrier, changing, shorthand))
                    raws.append(self.record_hand_raw(barrier))
                raw_us = statistics.median(raws) / self.n * 1e6
                front = statistics.median([f for _, f, _ in recs]) / self.n * 1e6
                encode = statistics.median([e for _, _, e in recs]) / self.n * 1e6
                ratio = (front + encode) / raw_us
                cb = recs[0][0]
                dev = self.device_us(cb.encoded.recording(()).cb)
                case = {
                    "host_front_end_us": round(front, 3),
                    "host_encode_us": round(encode, 3),
                    "host_total_us": round(front + encode, 3),
                    "hand_host_us": round(hand_s / self.n * 1e6, 3),
                    "hand_raw_host_us": round(raw_us, 3),
                    "raw_ratio": round(ratio, 3),
                    "device_us": round(dev, 4),
                    "hand_device_us": round(hand_dev, 4),
                    "device_ratio": round(dev / hand_dev, 3) if hand_dev else None,
                    "replay_wall_us": round(self.replay_wall_us(cb), 4),
                }
                results["cases"][name] = case
                goal = f" goal <=1.5x: {'held' if ratio <= 1.5 else 'MISSED'}" if changing else ""
                print(
                    f"{name:18s} host µs/dispatch: front end {front:6.2f} + encode "
                    f"{encode:5.2f} = {front + encode:6.2f} (hand {case['hand_host_us']:6.2f}, "
                    f"raw floor {raw_us:5.2f}, x{ratio:.2f}{goal})"
                    f" | device µs/dispatch {dev:7.4f} (hand {hand_dev:7.4f}, "
                    f"x{case['device_ratio']}) | replay wall {case['replay_wall_us']:.4f}",
                    flush=True,
                )
        return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="vulkan")
    parser.add_argument("--dispatches", type=int, default=1000)
    parser.add_argument("--workgroups", type=int, default=64)
    parser.add_argument("--reps", type=int, default=11)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    bench = Bench(args.device, args.dispatches, args.workgroups, args.reps)
    print(
        f"{bench.device.name} ({bench.device.info.get('driver')}), "
        f"{args.dispatches} dispatches of {args.workgroups} workgroups",
        flush=True,
    )
    results = bench.run()
    check = bench.y.to_numpy("<i4")[:4]
    print(f"(y[:4] after the runs: {check.tolist()})")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    bench.device.close()


if __name__ == "__main__":
    main()
