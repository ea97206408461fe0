"""cuda-driver performance goals, side by side with the alternatives, in one run.

    python benchmarks/bench_cuda.py [--quick] [--json FILE]

1. One-shot dispatch host cost: record + submit + complete, per dispatch, 1000 dispatches
   of a one-thread kernel in one command buffer (independent, and with a barrier between
   each, which keeps them on one stream); against a bare cuLaunchKernel loop from
   Python (cuda-bindings, arguments built per launch as such a loop does, and prebuilt),
   CuPy RawKernel and PyTorch (an in-place add on one element).  Goal: <= 0.6x the bare
   loop.
2. A reusable chain of 1000 dependent dispatches (a barrier between each): device time
   of one submission (CUDA events on the queue's stream around 20 submitted back to back,
   so that no launch gap counts) and host submit time
   (the queue_execute call: alone, once the previous submission's completion has been
   handled, and 20 back to back), against a hand-built CUDA graph of the same 1000 kernel
   nodes (cuGraphLaunch timed the same two ways).
   Goals: <= 1.1x the hand-built graph's device time; host submit <= 10 us.
3. 16 independent long dispatches between two barriers (one block spinning ~2 ms each):
   wall time against one such dispatch, one-shot (parallel streams) and reusable (graph).
   Goal: far below 16x one.

Every figure is a median over repetitions.  Needs an NVIDIA GPU; CuPy and PyTorch rows
are left out where they are not installed.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import statistics
import sys
import time

import numpy as np

import polyhal as hal
from polyhal.drivers.cuda.api import check, cu

SOURCE = r"""
extern "C" __global__ void touch(unsigned int* counter) { counter[0] += 1; }
extern "C" __global__ void spin(unsigned int* out, unsigned int cycles) {
  long long start = clock64();
  while (clock64() - start < cycles) {}
  out[blockIdx.x] = 1;
}
"""
N = 1000


def median(fn, reps: int) -> float:
    fn()
    return statistics.median(fn() for _ in range(reps))


class Setup:
    def __init__(self) -> None:
        self.device = hal.create_device("cuda")
        self.driver = self.device._driver
        one = hal.PipelineLayout([hal.DescriptorSetLayout([0])])
        one_c = hal.PipelineLayout([hal.DescriptorSetLayout([0])], push_constants=1)
        self.exe = self.device.create_executable(hal.ExecutableSource(
            [hal.EntryPoint("touch", one), hal.EntryPoint("spin", one_c)], {"cuda": SOURCE}))
        self.layout = one
        self.counter = self.device.allocate_buffer(4096)
        self.counter.write(bytes(4096))
        self.fn = self.exe.native.functions[0]
        self.stream = self.driver.stream

    def events(self) -> tuple:
        flags = cu.CUevent_flags.CU_EVENT_DEFAULT
        return (check(cu.cuEventCreate(flags), "ev"), check(cu.cuEventCreate(flags), "ev"))

    def elapsed_us(self, a, b) -> float:
        check(cu.cuEventSynchronize(b), "sync")
        return check(cu.cuEventElapsedTime(a, b), "elapsed") * 1000.0


# -- 1. one-shot host cost ------------------------------------------------------------------
def polyhal_one_shot(s: Setup, reps: int, barriers: bool = False) -> float:
    device, exe, counter = s.device, s.exe, s.counter
    sem = device.create_semaphore(0)
    value = [0]

    def once() -> float:
        t = time.perf_counter()
        cb = device.create_command_buffer()
        cb.begin()
        cb.push_descriptor_set(s.layout, 0, [(0, counter)])
        for i in range(N):
            if barriers and i:
                cb.execution_barrier()
            cb.dispatch(exe, 0, 1)
        cb.end()
        value[0] += 1
        device.queue_execute(cb, signal=[(sem, value[0])])
        sem.wait(value[0], timeout=30)
        return (time.perf_counter() - t) / N * 1e6

    return median(once, reps)


def bare_launch_loop(s: Setup, reps: int, prebuilt: bool) -> float:
    s.driver.bind()
    ptr = s.counter.alloc.ptr
    args = np.array([ptr], dtype=np.uint64)
    params = np.array([args.ctypes.data], dtype=np.uint64)
    params_address = params.ctypes.data
    fn, stream = s.fn, s.stream

    def once() -> float:
        t = time.perf_counter()
        for _ in range(N):
            if prebuilt:
                cu.cuLaunchKernel(fn, 1, 1, 1, 1, 1, 1, 0, stream, params_address, 0)
            else:
                cu.cuLaunchKernel(fn, 1, 1, 1, 1, 1, 1, 0, stream,
                                  ((ptr,), (ctypes.c_void_p,)), 0)
        check(cu.cuStreamSynchronize(stream), "sync")
        return (time.perf_counter() - t) / N * 1e6

    return median(once, reps)


def cupy_loop(reps: int) -> float | None:
    try:
        import cupy
    except ImportError:
        return None
    kernel = cupy.RawKernel(SOURCE, "touch")
    counter = cupy.zeros(1, dtype=cupy.uint32)

    def once() -> float:
        t = time.perf_counter()
        for _ in range(N):
            kernel((1,), (1,), (counter,))
        cupy.cuda.get_current_stream().synchronize()
        return (time.perf_counter() - t) / N * 1e6

    return median(once, reps)


def torch_loop(reps: int) -> float | None:
    try:
        import torch
    except ImportError:
        return None
    if not torch.cuda.is_available():
        return None
    x = torch.zeros(1, device="cuda")

    def once() -> float:
        t = time.perf_counter()
        for _ in range(N):
            x.add_(1)
        torch.cuda.synchronize()
        return (time.perf_counter() - t) / N * 1e6

    return median(once, reps)


# -- 2. reusable chain ----------------------------------------------------------------------
def polyhal_chain(s: Setup, reps: int) -> tuple[float, float, float]:
    """(device us per submission, host us per queue_execute alone, host us per
    queue_execute when 20 are made back to back)."""
    device = s.device
    cb = device.create_command_buffer(hal.CommandBufferMode.DEFAULT)
    with cb:
        cb.push_descriptor_set(s.layout, 0, [(0, s.counter)])
        for i in range(N):
            if i:
                cb.execution_barrier()
            cb.dispatch(s.exe, 0, 1)
    sem = device.create_semaphore(0)
    for v in (1, 2):  # the first runs the stream program, the second builds the graph
        device.queue_execute(cb, signal=[(sem, v)])
        sem.wait(v, timeout=30)
    start, end = s.events()
    device_times, host_times, back_to_back = [], [], []
    for _ in range(reps):
        value = sem.query() + 1
        time.sleep(0.002)  # let the completion thread finish the last one: time this call alone
        t = time.perf_counter()
        device.queue_execute(cb, signal=[(sem, value)])
        host_times.append((time.perf_counter() - t) * 1e6)
        sem.wait(value, timeout=30)
    for _ in range(reps):
        # 20 back to back: the host cost of each call, and (the GPU never idling between
        # them) the device time of each submission.
        value = sem.query()
        s.driver.bind()
        check(cu.cuEventRecord(start, s.stream), "record")
        t = time.perf_counter()
        for k in range(1, 21):
            device.queue_execute(cb, signal=[(sem, value + k)])
        back_to_back.append((time.perf_counter() - t) / 20 * 1e6)
        s.driver.drain()  # the submit thread has put them all on the stream
        check(cu.cuEventRecord(end, s.stream), "record")
        device_times.append(s.elapsed_us(start, end) / 20)
        sem.wait(value + 20, timeout=60)
    return (statistics.median(device_times), statistics.median(host_times),
            statistics.median(back_to_back))


def hand_built_graph(s: Setup, reps: int) -> tuple[float, float, float]:
    """A chain of 1000 kernel nodes built with cuda-bindings: (device us, host us per
    cuGraphLaunch alone, and back to back)."""
    s.driver.bind()
    graph = check(cu.cuGraphCreate(0), "cuGraphCreate")
    args = np.array([s.counter.alloc.ptr], dtype=np.uint64)
    params_array = np.array([args.ctypes.data], dtype=np.uint64)
    params = cu.CUDA_KERNEL_NODE_PARAMS()
    params.func = s.fn
    params.gridDimX = params.gridDimY = params.gridDimZ = 1
    params.blockDimX = params.blockDimY = params.blockDimZ = 1
    params.kernelParams = params_array.ctypes.data
    prev: list = []
    for _ in range(N):
        node = check(cu.cuGraphAddKernelNode(graph, prev, len(prev), params), "add")
        prev = [node]
    exe = check(cu.cuGraphInstantiate(graph, 0), "instantiate")
    check(cu.cuGraphUpload(exe, s.stream), "upload")
    start, end = s.events()
    device_times, host_times, back_to_back = [], [], []
    for _ in range(reps + 1):
        time.sleep(0.002)
        t = time.perf_counter()
        check(cu.cuGraphLaunch(exe, s.stream), "launch")
        host_times.append((time.perf_counter() - t) * 1e6)
        check(cu.cuStreamSynchronize(s.stream), "sync")
    for _ in range(reps):
        check(cu.cuEventRecord(start, s.stream), "record")
        t = time.perf_counter()
        for _ in range(20):
            check(cu.cuGraphLaunch(exe, s.stream), "launch")
        back_to_back.append((time.perf_counter() - t) / 20 * 1e6)
        check(cu.cuEventRecord(end, s.stream), "record")
        device_times.append(s.elapsed_us(start, end) / 20)
    cu.cuGraphExecDestroy(exe)
    cu.cuGraphDestroy(graph)
    return (statistics.median(device_times), statistics.median(host_times[1:]),
            statistics.median(back_to_back))


# -- 3. overlap -----------------------------------------------------------------------------
def overlap(s: Setup, reps: int, reusable: bool) -> tuple[float, float]:
    """(ms for one long dispatch, ms for 16 between two barriers)."""
    device = s.device
    cycles = 4_000_000  # ~2 ms at the H100's ~1.98 GHz
    mode = hal.CommandBufferMode.DEFAULT if reusable else hal.CommandBufferMode.ONE_SHOT
    sem = device.create_semaphore(0)
    value = [0]

    def record(n: int) -> hal.CommandBuffer:
        cb = device.create_command_buffer(mode)
        with cb:
            cb.execution_barrier()
            for i in range(n):
                cb.dispatch(s.exe, 1, 1, constants=[cycles],
                            bindings=[(0, s.counter, 64 * i, 64)])
            cb.execution_barrier()
        return cb

    def timed(n: int) -> float:
        reused = record(n) if reusable else None

        def once() -> float:
            cb = reused or record(n)
            value[0] += 1
            t = time.perf_counter()
            device.queue_execute(cb, signal=[(sem, value[0])])
            sem.wait(value[0], timeout=30)
            return (time.perf_counter() - t) * 1e3

        once()  # reusable: the first runs the stream program, the second builds the graph
        return median(once, reps)

    return timed(1), timed(16)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--json", default=None)
    a = ap.parse_args()
    reps = 5 if a.quick else 15
    s = Setup()
    r: dict = {"device": s.device.name, "driver_version": s.device.info["cuda_driver_version"]}
    r["one_shot_us_per_dispatch"] = polyhal_one_shot(s, reps)
    r["one_shot_chain_us_per_dispatch"] = polyhal_one_shot(s, reps, barriers=True)
    r["bare_loop_us_per_launch"] = bare_launch_loop(s, reps, prebuilt=False)
    r["bare_loop_prebuilt_us_per_launch"] = bare_launch_loop(s, reps, prebuilt=True)
    r["cupy_rawkernel_us_per_launch"] = cupy_loop(reps)
    r["torch_add_us_per_op"] = torch_loop(reps)
    (r["chain_device_us"], r["chain_host_submit_us"],
     r["chain_host_submit_back_to_back_us"]) = polyhal_chain(s, reps)
    (r["graph_device_us"], r["graph_host_launch_us"],
     r["graph_host_launch_back_to_back_us"]) = hand_built_graph(s, reps)
    r["overlap_one_shot_ms"] = overlap(s, max(3, reps // 3), reusable=False)
    r["overlap_graph_ms"] = overlap(s, max(3, reps // 3), reusable=True)
    s.device.close()

    one, bare = r["one_shot_us_per_dispatch"], r["bare_loop_us_per_launch"]
    chain, graph = r["chain_device_us"], r["graph_device_us"]
    rows = [
        ("card", r["device"], ""),
        ("one-shot record+submit+complete / dispatch", f"{one:.2f} us",
         f"{one / bare:.2f}x bare loop (goal <= 0.60)"),
        ("one-shot, a barrier between each dispatch",
         f"{r['one_shot_chain_us_per_dispatch']:.2f} us",
         f"{r['one_shot_chain_us_per_dispatch'] / bare:.2f}x bare loop"),
        ("bare cuLaunchKernel loop (args per launch)", f"{bare:.2f} us", ""),
        ("bare cuLaunchKernel loop (prebuilt args)",
         f"{r['bare_loop_prebuilt_us_per_launch']:.2f} us", ""),
        ("CuPy RawKernel loop", _us(r["cupy_rawkernel_us_per_launch"]), ""),
        ("PyTorch add_ loop", _us(r["torch_add_us_per_op"]), ""),
        ("reusable chain of 1000: device time", f"{chain:.0f} us",
         f"{chain / graph:.2f}x hand-built graph (goal <= 1.10)"),
        ("hand-built graph of 1000: device time", f"{graph:.0f} us",
         f"{graph / N:.2f} us per node"),
        ("reusable chain: host submit, alone", f"{r['chain_host_submit_us']:.1f} us",
         "goal <= 10"),
        ("reusable chain: host submit, back to back",
         f"{r['chain_host_submit_back_to_back_us']:.1f} us", "goal <= 10"),
        ("hand-built graph: cuGraphLaunch, alone", f"{r['graph_host_launch_us']:.1f} us", ""),
        ("hand-built graph: cuGraphLaunch, back to back",
         f"{r['graph_host_launch_back_to_back_us']:.1f} us", ""),
    ]
    for name in ("one_shot", "graph"):
        o, sixteen = r[f"overlap_{name}_ms"]
        rows.append((f"16 long dispatches ({name.replace('_', '-')})",
                     f"{sixteen:.2f} ms vs {o:.2f} ms for one", f"{sixteen / o:.1f}x one"))
    width = max(len(a) for a, _, _ in rows)
    for a_, b_, c_ in rows:
        print(f"{a_:<{width}}  {b_:<28} {c_}")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(r, f, indent=2)


def _us(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.2f} us"


if __name__ == "__main__":
    sys.exit(main())
