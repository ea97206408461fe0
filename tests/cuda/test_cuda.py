"""cuda-driver behaviour beyond the conformance suite: stream programs on parallel streams,
graphs and binding-table updates, indirect dispatch on the device, unaligned fills,
NVRTC errors, dynamic shared memory, the memory pool and interop with CuPy and PyTorch.

Every test but the probe skips, with the reason, where there is no CUDA device.
"""

from __future__ import annotations

import struct
import time

import numpy as np
import pytest

import polyhal as hal
from polyhal import drivers

COUNT, REASON = drivers.probe("cuda")
needs_gpu = pytest.mark.skipif(COUNT == 0, reason=f"no CUDA device: {REASON}")

SOURCE = r"""
extern "C" __global__ void iota(unsigned int* out, unsigned int base) {
  unsigned int i = blockIdx.x * blockDim.x + threadIdx.x;
  out[i] = base + i;
}
extern "C" __global__ void add_one(unsigned int* data) {
  unsigned int i = blockIdx.x * blockDim.x + threadIdx.x;
  data[i] += 1;
}
extern "C" __global__ void grid_size(unsigned int* out) {
  if (threadIdx.x == 0 && blockIdx.x + blockIdx.y + blockIdx.z == 0) {
    out[0] = gridDim.x; out[1] = gridDim.y; out[2] = gridDim.z; out[3] += 1;
  }
}
extern "C" __global__ void spin(unsigned int* out, unsigned int cycles) {
  long long start = clock64();
  while (clock64() - start < cycles) {}
  out[blockIdx.x] = 1;
}
extern "C" __global__ void reverse_in_shared(unsigned int* data) {
  extern __shared__ unsigned int tile[];
  unsigned int i = threadIdx.x;
  tile[i] = data[i];
  __syncthreads();
  data[i] = tile[blockDim.x - 1 - i];
}
"""
ONE = hal.PipelineLayout([hal.DescriptorSetLayout([0])])
ONE_AND_CONSTANT = hal.PipelineLayout([hal.DescriptorSetLayout([0])], push_constants=1)
STORAGE = hal.BufferUsage.DEFAULT


def test_probe_counts_devices_or_says_why_not():
    count, reason = drivers.probe("cuda")
    assert type(count) is int and count >= 0
    if count:
        assert reason == ""
    else:  # names what is missing: the package, the driver library or a GPU
        assert isinstance(reason, str) and "cuda" in reason.lower()


@pytest.fixture(scope="module", params=["concurrent", "serial"])
def device(request):
    if COUNT == 0:
        pytest.skip(f"no CUDA device: {REASON}")
    with hal.create_device("cuda", dispatch_type=request.param) as d:
        yield d


@pytest.fixture(scope="module")
def exe(device):
    return device.create_executable(
        hal.ExecutableSource(
            [
                hal.EntryPoint("iota", ONE_AND_CONSTANT, (64, 1, 1)),
                hal.EntryPoint("add_one", ONE, (64, 1, 1)),
                hal.EntryPoint("grid_size", ONE),
                hal.EntryPoint("spin", ONE_AND_CONSTANT),
                hal.EntryPoint("reverse_in_shared", ONE, (256, 1, 1), local_memory_size=256 * 4),
            ],
            {"cuda": SOURCE},
        )
    )


def run(device, cb, table=None):
    sem = device.create_semaphore(0)
    device.queue_execute(cb, signal=[(sem, 1)], binding_table=table)
    sem.wait(1, timeout=30)


def test_info(device):
    assert device.info["vendor"] == "NVIDIA"
    assert device.info["limits"]["max_workgroup_invocations"] >= 1024
    assert "compute_capability" in device.info


def test_independent_dispatches_between_barriers(device, exe):
    out = device.allocate_buffer(64 * 4 * 16)
    cb = device.create_command_buffer()
    with cb:
        for i in range(16):
            cb.dispatch(exe, "iota", 1, constants=[i * 64], bindings=[(0, out, i * 256, 256)])
        cb.execution_barrier()
        cb.dispatch(exe, "add_one", 16, bindings=[(0, out)])
    run(device, cb)
    assert out.to_numpy("uint32").tolist() == list(range(1, 1025))


def test_one_shot_with_new_state_every_dispatch_alternating_with_a_graph(device, exe):
    """The launch program made in C from the stream (ph_encode): new constants and
    bindings on every dispatch, spread over the streams; a reusable chain (a graph, which
    the launcher's submit thread launches) between one-shot submissions."""
    bufs = [device.allocate_buffer(8 * 256) for _ in range(8)]
    pair = [device.allocate_buffer(256) for _ in range(2)]
    for b in pair:
        b.write(bytes(256))
    chain = device.create_command_buffer(hal.CommandBufferMode.DEFAULT)
    with chain:
        for i in range(10):
            chain.dispatch(exe, "add_one", 1, bindings=[(0, pair[i % 2])])
            chain.execution_barrier()
    for round_ in range(3):
        cb = device.create_command_buffer()
        with cb:
            for i in range(64):
                cb.dispatch(
                    exe,
                    "iota",
                    1,
                    constants=[1000 * i + round_],
                    bindings=[(0, bufs[i % 8], (i // 8) * 256, 256)],
                )
        run(device, cb)
        for i in range(64):
            got = bufs[i % 8].to_numpy("uint32")[(i // 8) * 64 : (i // 8 + 1) * 64]
            assert got.tolist() == [1000 * i + round_ + k for k in range(64)], i
        run(device, chain)
        assert [b.to_numpy("uint32")[0] for b in pair] == [5 * (round_ + 1)] * 2


@pytest.mark.parametrize("submissions", [1, 2, 5])
def test_reusable_command_buffer_with_new_tables(device, exe, submissions):
    """The first submission runs the stream program, later ones the graph; each table
    re-points the graph's kernel and fill nodes."""
    cb = device.create_command_buffer(hal.CommandBufferMode.DEFAULT, binding_capacity=1)
    with cb:
        cb.fill_buffer(hal.Slot(0), 0, hal.WHOLE_BUFFER, 0xAB23, 2)
        cb.execution_barrier()
        cb.dispatch(exe, "iota", 2, constants=[7], bindings=[(0, hal.Slot(0), 0, 512)])
    for i in range(submissions):
        out = device.allocate_buffer(1024)
        run(device, cb, [(out, 0, 1024)] if i % 2 else [out])
        got = out.to_numpy("uint32")
        assert got[:128].tolist() == list(range(7, 135)), i
        assert set(got[128:].tolist()) == {0xAB23AB23}, i


def test_graph_chain_and_nested(device, exe):
    data = device.allocate_buffer(256)
    inner = device.create_command_buffer(hal.CommandBufferMode.DEFAULT, binding_capacity=1)
    with inner:
        inner.dispatch(exe, "add_one", 1, bindings=[(0, hal.Slot(0))])
    cb = device.create_command_buffer(hal.CommandBufferMode.DEFAULT)
    with cb:
        cb.fill_buffer(data, 0, 256, 0)
        for _ in range(10):
            cb.execution_barrier()
            cb.dispatch(exe, "add_one", 1, bindings=[(0, data)])
        cb.execution_barrier()
        cb.execute_commands(inner, binding_table=[data])
    for n in range(1, 4):
        run(device, cb)
        assert set(data.to_numpy("uint32").tolist()) == {11}, n


@pytest.mark.parametrize("reusable", [False, True])
def test_indirect_counts_read_on_the_device(device, exe, reusable):
    """The same recording reads new counts at every submission, zero included."""
    counts = device.allocate_buffer(12, usage=STORAGE)
    out = device.allocate_buffer(16)
    out.write(bytes(16))
    mode = hal.CommandBufferMode.DEFAULT if reusable else hal.CommandBufferMode.ONE_SHOT
    for i, grid in enumerate([(3, 2, 1), (0, 1, 1), (5, 1, 2)]):
        if i == 0 or not reusable:
            cb = device.create_command_buffer(mode)
            with cb:
                cb.dispatch_indirect(exe, "grid_size", counts, 0, bindings=[(0, out)])
        device.queue_update(struct.pack("<3I", *grid), 0, counts, 0, 12)
        run(device, cb)
        got = out.to_numpy("uint32").tolist()
        if all(grid):
            assert got[:3] == list(grid)
    assert got[3] == 2  # the zero-count dispatch did not run


def test_unaligned_fills(device):
    """2- and 4-byte patterns at absolute addresses the copy engines' fills cannot take."""
    buffer = device.allocate_buffer(64)
    view = buffer.subspan(1, 40)
    for mode in (hal.CommandBufferMode.ONE_SHOT, hal.CommandBufferMode.DEFAULT):
        buffer.write(bytes(64))
        cb = device.create_command_buffer(mode)
        with cb:
            cb.fill_buffer(view, 2, 8, 0xAB23, 2)
            cb.fill_buffer(view, 12, 12, 0x11223344, 4)
        run(device, cb)
        expect = bytearray(64)
        expect[3:11] = bytes.fromhex("23ab") * 4
        expect[13:25] = bytes.fromhex("44332211") * 3
        assert buffer.read() == bytes(expect), mode


def test_copies_of_any_alignment(device):
    rng = np.random.default_rng(1)
    data = rng.integers(0, 256, 5000, dtype=np.uint8).tobytes()
    source = device.buffer_from(data)
    for mode in (hal.CommandBufferMode.ONE_SHOT, hal.CommandBufferMode.DEFAULT):
        target = device.allocate_buffer(5000)
        target.write(bytes(5000))
        cb = device.create_command_buffer(mode)
        with cb:
            cb.copy_buffer(source, 3, target, 7, 4093)
            cb.update_buffer(b"\x01\x02\x03", 0, target, 4100, 3)
        run(device, cb)
        got = target.read()
        assert got[7:4100] == data[3:4096] and got[4100:4103] == b"\x01\x02\x03", mode


def test_dynamic_shared_memory(device, exe):
    data = device.buffer_from(np.arange(256, dtype=np.uint32))
    cb = device.create_command_buffer()
    with cb:
        cb.dispatch(exe, "reverse_in_shared", 1, bindings=[(0, data)])
    run(device, cb)
    assert data.to_numpy("uint32").tolist() == list(range(255, -1, -1))


def test_nvrtc_error_carries_the_log(device):
    source = hal.ExecutableSource(
        [hal.EntryPoint("broken", ONE)], {"cuda": 'extern "C" __global__ void broken() { nope; }'}
    )
    with pytest.raises(hal.InvalidArgumentError, match="nope"):
        device.create_executable(source)


def test_ptx_and_cubin_formats(device, exe):
    from polyhal.drivers.cuda.executable import compile_cuda

    cc = device._driver.compute_capability
    for fmt, payload in (
        ("cubin", compile_cuda(SOURCE, cc)),
        ("ptx", compile_cuda(SOURCE, cc, ptx=True).decode().rstrip("\0")),
    ):
        loaded = device.create_executable(
            hal.ExecutableSource([hal.EntryPoint("add_one", ONE, (64, 1, 1))], {fmt: payload})
        )
        data = device.buffer_from(np.zeros(64, np.uint32))
        cb = device.create_command_buffer()
        with cb:
            cb.dispatch(loaded, 0, 1, bindings=[(0, data)])
        run(device, cb)
        assert set(data.to_numpy("uint32").tolist()) == {1}


def test_alloca_and_dealloca_are_stream_ordered(device):
    sem = device.create_semaphore(0)
    buffer = device.queue_alloca(4096, signal=[(sem, 1)])
    device.queue_fill(buffer, 0, 4096, 0x5A, wait=[(sem, 1)], signal=[(sem, 2)])
    sem.wait(2, timeout=10)
    assert buffer.read(0, 16) == b"\x5a" * 16
    device.queue_dealloca(buffer, wait=[(sem, 2)], signal=[(sem, 3)])
    sem.wait(3, timeout=10)
    with pytest.raises(hal.FailedPreconditionError):
        buffer.read()


def test_host_local_buffers_are_pinned_memory(device, exe):
    host = device.allocate_buffer(
        256, memory_type=hal.MemoryType.HOST_LOCAL | hal.MemoryType.DEVICE_VISIBLE
    )
    host.write(bytes(256))
    cb = device.create_command_buffer()
    with cb:
        cb.dispatch(exe, "add_one", 1, bindings=[(0, host)])
    run(device, cb)
    assert set(host.to_numpy("uint32").tolist()) == {1}


def test_long_dispatches_overlap(device, exe):
    """16 one-block dispatches between two barriers take far less than 16 times one."""
    if device.info["dispatch_type"] == "serial":
        pytest.skip("a serial device runs dispatches one after another")
    out = device.allocate_buffer(64)
    cycles = 20_000_000  # ~10 ms at 2 GHz

    def timed(n):
        cb = device.create_command_buffer()
        with cb:
            for i in range(n):
                cb.dispatch(exe, "spin", 1, constants=[cycles], bindings=[(0, out, 4 * i, 4)])
        start = time.perf_counter()
        run(device, cb)
        return time.perf_counter() - start

    timed(1)
    one, sixteen = timed(1), timed(16)
    assert sixteen < 6 * one, (one, sixteen)


# -- interop ----------------------------------------------------------------------------------


def test_cupy_views_and_wraps(device):
    cupy = pytest.importorskip("cupy")
    from polyhal.drivers.cuda.interop import as_array, import_buffer

    buffer = device.buffer_from(np.arange(16, dtype=np.float32))
    view = cupy.asarray(as_array(buffer, "float32"))
    view *= 2
    cupy.cuda.runtime.deviceSynchronize()
    assert buffer.to_numpy("float32").tolist() == [2.0 * i for i in range(16)]
    theirs = cupy.arange(8, dtype=cupy.int32)
    wrapped = import_buffer(device, theirs)
    assert wrapped.to_numpy("int32").tolist() == list(range(8))


def test_torch_dlpack_both_ways(device):
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("PyTorch sees no CUDA device")
    from polyhal.drivers.cuda.interop import as_array, import_buffer

    buffer = device.buffer_from(np.arange(6, dtype=np.int32))
    tensor = torch.from_dlpack(as_array(buffer, "int32", (2, 3)))
    assert tensor.shape == (2, 3) and tensor.device.type == "cuda"
    tensor += 1
    torch.cuda.synchronize()
    assert buffer.to_numpy("int32").tolist() == list(range(1, 7))
    theirs = torch.arange(4, dtype=torch.float32, device="cuda")
    torch.cuda.synchronize()
    wrapped = import_buffer(device, theirs)
    assert wrapped.to_numpy("float32").tolist() == [0.0, 1.0, 2.0, 3.0]
    cb = device.create_command_buffer()
    with cb:
        cb.fill_buffer(wrapped, 0, 16, 0)
    run(device, cb)
    assert theirs.tolist() == [0.0] * 4


def test_core_buffer_forwards_the_interfaces(device):
    """A polyhal buffer of a cuda device is itself a CUDA array: the core Buffer forwards
    __cuda_array_interface__ and DLPack to its allocation."""
    buffer = device.buffer_from(np.arange(4, dtype=np.uint8)).subspan(1, 3)
    interface = buffer.__cuda_array_interface__
    assert interface["shape"] == (3,) and interface["typestr"] == "|u1"
    assert interface["version"] == 3
    assert interface["data"] == (buffer.alloc.ptr + 1, False)
    assert buffer.__dlpack_device__()[0] in (2, 3)  # kDLCUDA or kDLCUDAHost


def test_numpy_from_dlpack_of_device_memory_is_refused_typed(device):
    """Device memory is refused with a BufferError: before a capsule exists when the
    consumer names the CPU device (dl_device), else by numpy on reading the capsule (a GPU
    capsule numpy dropped failed in its destructor: SystemError)."""
    # HOST_VISIBLE on cuda means read() and write() work (through staging), not a mapping.
    buffer = device.allocate_buffer(64, memory_type=hal.MemoryType.DEVICE_LOCAL)
    with pytest.raises(BufferError):
        np.from_dlpack(buffer)
    with pytest.raises(hal.InvalidArgumentError):
        buffer.__dlpack__(dl_device=(1, 0))
