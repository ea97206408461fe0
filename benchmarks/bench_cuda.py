"""cuda-driver performance goals, side by side with the alternatives, in one run.

    python benchmarks/bench_cuda.py [--quick] [--json FILE]

1. One-shot dispatch host cost: record + submit + complete, per dispatch, 1000 dispatches
   of a one-thread kernel in one command buffer: with new constants and bindings on every
   dispatch (``dispatch(exe, 1, 1, constants=[i], bindings=[(0, bufs[i % 8])])``, new
   lists each time; record + end() alone too), with the same state (independent, and with
   a barrier between each, which keeps them on one stream); against a bare cuLaunchKernel
   loop from Python (cuda-bindings, arguments built per launch as such a loop does --
   the same new pointer and constant each launch, or one pointer -- and prebuilt), CuPy
   RawKernel and PyTorch (an in-place add on one element).
   Goals (issue 10): new state <= 0.5x the bare loop with the same arguments, and below
   CuPy's loop.
2. A reusable chain of 1000 dependent dispatches (a barrier between each): device time
   of one submission (CUDA events on the queue's stream around 20 submitted back to back,
   so that no launch gap counts) and host submit time
   (the queue_execute call: alone, once the previous submission's completion has been
   handled, and 20 back to back), against a hand-built CUDA graph of the same 1000 kernel
   nodes (cuGraphLaunch timed the same two ways; alone, in turn with the submits, each
   after the same pause, since a call after an idle spell is several times slower than
   the same call in a loop).  Also, to place the host cost: the
   submit of a reusable command buffer of one dispatch, and cuGraphLaunch of the chain's
   own graph.  Goals: <= 1.1x the hand-built graph's device time; host submit to an idle
   queue <= 1.2x cuGraphLaunch alone (issue 10).
3. The mix (issue 10): one-shot submissions (1000 dispatches with new state) alternating
   with a reusable chain of 1000 dispatches with a barrier after each, bindings alternating
   between two buffers; wall time of each chain submission (queue_execute to the
   semaphore's wait returning) against a hand-built graph of the same chain launched and
   synchronized (cuGraphLaunch + cuStreamSynchronize) in the same alternation; and both
   without the one-shot submissions in between.  Goal: <= 1.1x the hand-built graph.
4. 16 independent long dispatches between two barriers (one block spinning ~2 ms each):
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
from polyhal.tools.bench import median

SOURCE = r"""
extern "C" __global__ void touch(unsigned int* counter) { counter[0] += 1; }
extern "C" __global__ void add(unsigned int* counter, unsigned int value) {
  counter[0] += value;
}
extern "C" __global__ void spin(unsigned int* out, unsigned int cycles) {
  long long start = clock64();
  while (clock64() - start < cycles) {}
  out[blockIdx.x] = 1;
}
"""
N = 1000


class Setup:
    def __init__(self) -> None:
        self.device = hal.create_device("cuda")
        self.driver = self.device._driver
        one = hal.PipelineLayout([hal.DescriptorSetLayout([0])])
        one_c = hal.PipelineLayout([hal.DescriptorSetLayout([0])], push_constants=1)
        self.exe = self.device.create_executable(
            hal.ExecutableSource(
                [
                    hal.EntryPoint("touch", one),
                    hal.EntryPoint("spin", one_c),
                    hal.EntryPoint("add", one_c),
                ],
                {"cuda": SOURCE},
            )
        )
        self.layout = one
        self.counter = self.device.allocate_buffer(4096)
        self.counter.write(bytes(4096))
        self.bufs = [self.device.allocate_buffer(256) for _ in range(8)]
        self.fn = self.exe.native.functions[0]
        self.add_fn = self.exe.native.functions[2]
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


def record_fresh(s: Setup) -> hal.CommandBuffer:
    """A one-shot command buffer of N dispatches, new constants and bindings each."""
    exe, bufs = s.exe, s.bufs
    cb = s.device.create_command_buffer()
    cb.begin()
    for i in range(N):
        cb.dispatch(exe, 2, 1, constants=[i], bindings=[(0, bufs[i % 8])])
    cb.end()
    return cb


def polyhal_one_shot_fresh(s: Setup, reps: int) -> tuple[float, float]:
    """(record + submit + complete, record + end alone), us per dispatch."""
    device = s.device
    sem = device.create_semaphore(0)
    value = [0]

    def once() -> float:
        t = time.perf_counter()
        cb = record_fresh(s)
        value[0] += 1
        device.queue_execute(cb, signal=[(sem, value[0])])
        sem.wait(value[0], timeout=30)
        return (time.perf_counter() - t) / N * 1e6

    def record_only() -> float:
        t = time.perf_counter()
        record_fresh(s)
        return (time.perf_counter() - t) / N * 1e6

    return median(once, reps), median(record_only, reps)


def bare_launch_loop_fresh(s: Setup, reps: int) -> float:
    """cuLaunchKernel of ``add`` with a new pointer and constant each launch."""
    s.driver.bind()
    ptrs = [b.alloc.ptr for b in s.bufs]
    fn, stream = s.add_fn, s.stream
    types = (ctypes.c_void_p, ctypes.c_uint)

    def once() -> float:
        t = time.perf_counter()
        for i in range(N):
            cu.cuLaunchKernel(fn, 1, 1, 1, 1, 1, 1, 0, stream, ((ptrs[i % 8], i), types), 0)
        check(cu.cuStreamSynchronize(stream), "sync")
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
                cu.cuLaunchKernel(fn, 1, 1, 1, 1, 1, 1, 0, stream, ((ptr,), (ctypes.c_void_p,)), 0)
        check(cu.cuStreamSynchronize(stream), "sync")
        return (time.perf_counter() - t) / N * 1e6

    return median(once, reps)


def cupy_loop(reps: int) -> float | None:
    """CuPy RawKernel ``add`` with a new array and constant each launch."""
    try:
        import cupy
    except ImportError:
        return None
    kernel = cupy.RawKernel(SOURCE, "add")
    counters = [cupy.zeros(1, dtype=cupy.uint32) for _ in range(8)]

    def once() -> float:
        t = time.perf_counter()
        for i in range(N):
            kernel((1,), (1,), (counters[i % 8], cupy.uint32(i)))
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
def chain_command_buffer(s: Setup, buffers: list) -> hal.CommandBuffer:
    """A reusable chain of N dispatches of ``touch`` with a barrier after each, binding
    ``buffers`` in turn."""
    cb = s.device.create_command_buffer(hal.CommandBufferMode.DEFAULT)
    with cb:
        for i in range(N):
            cb.dispatch(s.exe, 0, 1, bindings=[(0, buffers[i % len(buffers)])])
            cb.execution_barrier()
    return cb


def polyhal_chain(s: Setup, reps: int) -> tuple[float, ...]:
    """(device us per submission, host us per queue_execute alone, host us per
    queue_execute when 20 are made back to back, host us of cuGraphLaunch of the chain's
    own graph alone, host us per queue_execute of a reusable command buffer of one
    dispatch alone, host us of the driver's part of queue_execute alone, host us of
    cuGraphLaunch of the hand-built graph alone, timed in turn with the submits)."""
    device = s.device
    cb = chain_command_buffer(s, [s.counter])
    sem = device.create_semaphore(0)
    for v in (1, 2):
        device.queue_execute(cb, signal=[(sem, v)])
        sem.wait(v, timeout=30)

    def alone(cb: hal.CommandBuffer) -> float:
        value = sem.query() + 1
        time.sleep(0.002)  # let the completion thread finish the last one: time this call alone
        t = time.perf_counter()
        device.queue_execute(cb, signal=[(sem, value)])
        elapsed = (time.perf_counter() - t) * 1e6
        sem.wait(value, timeout=30)
        return elapsed

    graph, hand_built = build_graph(s, [s.counter])

    def launch_alone() -> float:
        s.driver.bind()
        time.sleep(0.002)
        t = time.perf_counter()
        check(cu.cuGraphLaunch(hand_built, s.stream), "launch")
        elapsed = (time.perf_counter() - t) * 1e6
        check(cu.cuStreamSynchronize(s.stream), "sync")
        return elapsed

    host_times, launch_times = [], []
    for _ in range(3 * reps):  # a call after a pause varies more than one in a loop
        host_times.append(alone(cb))
        launch_times.append(launch_alone())
    cu.cuGraphExecDestroy(hand_built)
    cu.cuGraphDestroy(graph)

    start, end = s.events()
    device_times, back_to_back = [], []
    # Where the host time goes: the driver's part of each call (its execute_one, which
    # hands the graph to the launcher's submit thread), the rest being the front end's.
    driver_times: list = []
    execute_one = s.driver.execute_one

    def timed(encoded: object, done: object, table: object = ()) -> None:
        t = time.perf_counter()
        execute_one(encoded, done, table)
        driver_times.append((time.perf_counter() - t) * 1e6)

    s.driver.execute_one = timed
    for _ in range(reps):
        alone(cb)
    del s.driver.execute_one
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
    own = int(cb.encoded.graph.native.exec)
    own_launch = []
    for _ in range(reps):
        time.sleep(0.002)
        t = time.perf_counter()
        check(cu.cuGraphLaunch(own, s.stream), "launch")
        own_launch.append((time.perf_counter() - t) * 1e6)
        check(cu.cuStreamSynchronize(s.stream), "sync")
    small = device.create_command_buffer(hal.CommandBufferMode.DEFAULT)
    with small:
        small.dispatch(s.exe, 0, 1, bindings=[(0, s.counter)])
    small_times = [alone(small) for _ in range(reps)]
    return (
        statistics.median(device_times),
        statistics.median(host_times),
        statistics.median(back_to_back),
        statistics.median(own_launch),
        statistics.median(small_times),
        statistics.median(driver_times),
        statistics.median(launch_times),
    )


def build_graph(s: Setup, buffers: list) -> tuple:
    """(graph, executable graph) of a chain of N ``touch`` kernel nodes binding ``buffers``
    in turn, built with cuda-bindings."""
    s.driver.bind()
    graph = check(cu.cuGraphCreate(0), "cuGraphCreate")
    args = [np.array([b.alloc.ptr], dtype=np.uint64) for b in buffers]
    arrays = [np.array([a.ctypes.data], dtype=np.uint64) for a in args]
    prev: list = []
    for i in range(N):
        params = cu.CUDA_KERNEL_NODE_PARAMS()
        params.func = s.fn
        params.gridDimX = params.gridDimY = params.gridDimZ = 1
        params.blockDimX = params.blockDimY = params.blockDimZ = 1
        params.kernelParams = arrays[i % len(buffers)].ctypes.data
        node = check(cu.cuGraphAddKernelNode(graph, prev, len(prev), params), "add")
        prev = [node]
    exe = check(cu.cuGraphInstantiate(graph, 0), "instantiate")
    check(cu.cuGraphUpload(exe, s.stream), "upload")
    return graph, exe


def hand_built_graph(s: Setup, reps: int) -> tuple[float, float]:
    """A chain of 1000 kernel nodes built with cuda-bindings: (device us, host us per
    cuGraphLaunch back to back)."""
    graph, exe = build_graph(s, [s.counter])
    start, end = s.events()
    device_times, back_to_back = [], []
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
    return statistics.median(device_times), statistics.median(back_to_back)


# -- 3. the mix -----------------------------------------------------------------------------
def mix(s: Setup, reps: int, alternate: bool) -> tuple[float, float]:
    """(us of wall time per reusable chain submission, us per hand-built graph launch +
    synchronize), each preceded by a one-shot submission of N dispatches with new state
    when ``alternate``, the two kinds interleaved."""
    device = s.device
    two = s.bufs[:2]
    cb = chain_command_buffer(s, two)
    graph, exe = build_graph(s, two)
    sem = device.create_semaphore(0)

    def submit(cb: hal.CommandBuffer) -> float:
        value = sem.query() + 1
        t = time.perf_counter()
        device.queue_execute(cb, signal=[(sem, value)])
        sem.wait(value, timeout=30)
        return (time.perf_counter() - t) * 1e6

    def launch() -> float:
        s.driver.bind()
        t = time.perf_counter()
        check(cu.cuGraphLaunch(exe, s.stream), "launch")
        check(cu.cuStreamSynchronize(s.stream), "sync")
        return (time.perf_counter() - t) * 1e6

    ours, theirs = [], []
    for _ in range(reps + 1):
        if alternate:
            submit(record_fresh(s))
        ours.append(submit(cb))
        if alternate:
            submit(record_fresh(s))
        theirs.append(launch())
    cu.cuGraphExecDestroy(exe)
    cu.cuGraphDestroy(graph)
    return statistics.median(ours[1:]), statistics.median(theirs[1:])


# -- 4. overlap -----------------------------------------------------------------------------
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
                cb.dispatch(s.exe, 1, 1, constants=[cycles], bindings=[(0, s.counter, 64 * i, 64)])
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
    r["one_shot_fresh_us_per_dispatch"], r["record_fresh_us_per_dispatch"] = polyhal_one_shot_fresh(
        s, reps
    )
    r["bare_loop_fresh_us_per_launch"] = bare_launch_loop_fresh(s, reps)
    r["one_shot_us_per_dispatch"] = polyhal_one_shot(s, reps)
    r["one_shot_chain_us_per_dispatch"] = polyhal_one_shot(s, reps, barriers=True)
    r["bare_loop_us_per_launch"] = bare_launch_loop(s, reps, prebuilt=False)
    r["bare_loop_prebuilt_us_per_launch"] = bare_launch_loop(s, reps, prebuilt=True)
    r["cupy_rawkernel_us_per_launch"] = cupy_loop(reps)
    r["torch_add_us_per_op"] = torch_loop(reps)
    (
        r["chain_device_us"],
        r["chain_host_submit_us"],
        r["chain_host_submit_back_to_back_us"],
        r["chain_own_graph_launch_us"],
        r["one_dispatch_host_submit_us"],
        r["chain_host_submit_driver_us"],
        r["graph_host_launch_us"],
    ) = polyhal_chain(s, reps)
    r["graph_device_us"], r["graph_host_launch_back_to_back_us"] = hand_built_graph(s, reps)
    r["mix_chain_us"], r["mix_graph_us"] = mix(s, reps, alternate=True)
    r["alone_chain_us"], r["alone_graph_us"] = mix(s, reps, alternate=False)
    r["overlap_one_shot_ms"] = overlap(s, max(3, reps // 3), reusable=False)
    r["overlap_graph_ms"] = overlap(s, max(3, reps // 3), reusable=True)
    s.device.close()

    one, bare = r["one_shot_us_per_dispatch"], r["bare_loop_us_per_launch"]
    fresh, bare_fresh = r["one_shot_fresh_us_per_dispatch"], r["bare_loop_fresh_us_per_launch"]
    cupy = r["cupy_rawkernel_us_per_launch"]
    chain, graph = r["chain_device_us"], r["graph_device_us"]
    submit, launch = r["chain_host_submit_us"], r["graph_host_launch_us"]
    rows = [
        ("card", r["device"], ""),
        (
            "one-shot, new state each dispatch: record+submit+complete",
            f"{fresh:.2f} us",
            f"{fresh / bare_fresh:.2f}x bare loop, new args (goal <= 0.50)"
            + ("" if cupy is None else f"; {fresh / cupy:.2f}x CuPy (goal < 1)"),
        ),
        (
            "one-shot, new state each dispatch: record + end() alone",
            f"{r['record_fresh_us_per_dispatch']:.2f} us",
            "",
        ),
        ("bare cuLaunchKernel loop (new pointer and constant)", f"{bare_fresh:.2f} us", ""),
        (
            "one-shot, same state: record+submit+complete / dispatch",
            f"{one:.2f} us",
            f"{one / bare:.2f}x bare loop",
        ),
        (
            "one-shot, a barrier between each dispatch",
            f"{r['one_shot_chain_us_per_dispatch']:.2f} us",
            f"{r['one_shot_chain_us_per_dispatch'] / bare:.2f}x bare loop",
        ),
        ("bare cuLaunchKernel loop (args per launch)", f"{bare:.2f} us", ""),
        (
            "bare cuLaunchKernel loop (prebuilt args)",
            f"{r['bare_loop_prebuilt_us_per_launch']:.2f} us",
            "",
        ),
        ("CuPy RawKernel loop", _us(r["cupy_rawkernel_us_per_launch"]), ""),
        ("PyTorch add_ loop", _us(r["torch_add_us_per_op"]), ""),
        (
            "reusable chain of 1000: device time",
            f"{chain:.0f} us",
            f"{chain / graph:.2f}x hand-built graph (goal <= 1.10)",
        ),
        (
            "hand-built graph of 1000: device time",
            f"{graph:.0f} us",
            f"{graph / N:.2f} us per node",
        ),
        (
            "reusable chain: host submit, alone",
            f"{submit:.1f} us",
            f"{submit / launch:.2f}x cuGraphLaunch alone (goal <= 1.20)",
        ),
        (
            "reusable chain: host submit alone, the driver's part",
            f"{r['chain_host_submit_driver_us']:.1f} us",
            "its execute_one(): the hand-off to the submit thread",
        ),
        (
            "reusable chain: host submit, back to back",
            f"{r['chain_host_submit_back_to_back_us']:.1f} us",
            "",
        ),
        (
            "hand-built graph: cuGraphLaunch, alone",
            f"{launch:.1f} us",
            "timed in turn with the host submits above",
        ),
        (
            "the chain's own graph: cuGraphLaunch, alone",
            f"{r['chain_own_graph_launch_us']:.1f} us",
            "",
        ),
        (
            "reusable, one dispatch: host submit, alone",
            f"{r['one_dispatch_host_submit_us']:.1f} us",
            "",
        ),
        (
            "hand-built graph: cuGraphLaunch, back to back",
            f"{r['graph_host_launch_back_to_back_us']:.1f} us",
            "",
        ),
    ]
    for name, goal in (("mix", " (goal <= 1.10)"), ("alone", "")):
        ours, theirs = r[f"{name}_chain_us"], r[f"{name}_graph_us"]
        rows.append(
            (
                f"chain of 1000, two buffers, submit+wait ({name})",
                f"{ours:.0f} us vs {theirs:.0f} us hand-built",
                f"{ours / theirs:.2f}x{goal}",
            )
        )
    for name in ("one_shot", "graph"):
        o, sixteen = r[f"overlap_{name}_ms"]
        rows.append(
            (
                f"16 long dispatches ({name.replace('_', '-')})",
                f"{sixteen:.2f} ms vs {o:.2f} ms for one",
                f"{sixteen / o:.1f}x one",
            )
        )
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
