"""Vulkan-driver behaviour beyond the conformance suite: the slow paths Vulkan forces
(unaligned fills and updates, misaligned bindings and indirect counts, staging), the
fallback paths (descriptor pools, vkCmdPipelineBarrier), recording once, no barrier the
program did not ask for, and the Khronos validation layer kept silent."""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

import polyhal as hal

ROOT = Path(__file__).resolve().parents[2]
KERNELS = ROOT / "tests" / "conformance" / "kernels" / "glsl"

if hal.drivers.probe("vulkan")[0] == 0:
    pytest.skip(f"no Vulkan device: {hal.drivers.probe('vulkan')[1]}", allow_module_level=True)

from polyhal.drivers.vulkan import barriers  # noqa: E402
from polyhal.drivers.vulkan.instance import VALIDATION_LAYER, instance_layers  # noqa: E402

HAS_LAYER = VALIDATION_LAYER in instance_layers()
TWO = hal.PipelineLayout(
    [
        hal.DescriptorSetLayout(
            [
                hal.DescriptorSetLayoutBinding(0, hal.DescriptorFlags.READ_ONLY),
                hal.DescriptorSetLayoutBinding(1),
            ]
        )
    ]
)
ONE = hal.PipelineLayout([hal.DescriptorSetLayout([0])])


@pytest.fixture(params=["push", "pool", "sync1"], scope="module")
def device(request):
    options = {
        "pool": {"push_descriptors": False},
        "sync1": {"synchronization2": False},
        "push": {},
    }[request.param]
    with hal.create_device("vulkan", validation=HAS_LAYER, **options) as d:
        yield d
        assert d._driver.validation_messages == []


@pytest.fixture(scope="module")
def negate(device):
    return device.create_executable(
        hal.ExecutableSource(
            [hal.EntryPoint("negate", TWO)], {"spirv": (KERNELS / "negate.spv").read_bytes()}
        )
    )


@pytest.fixture(scope="module")
def workgroup_ids(device):
    return device.create_executable(
        hal.ExecutableSource(
            [hal.EntryPoint("write_workgroup_ids", ONE)],
            {"spirv": {"write_workgroup_ids": (KERNELS / "write_workgroup_ids.spv").read_bytes()}},
        )
    )


def run(device, record, mode=hal.CommandBufferMode.ONE_SHOT, table=None):
    cb = device.create_command_buffer(mode, binding_capacity=len(table or ()))
    with cb:
        record(cb)
    done = device.create_semaphore(0)
    device.queue_execute(cb, signal=[(done, 1)], binding_table=table)
    done.wait(1, timeout=30)
    return cb


def test_device_info(device):
    info = device.info
    assert info["api_version"] >= "1.2"
    assert device.info["limits"]["max_push_constants"] >= 32
    assert "spirv" in info["executable_formats"]


@pytest.mark.parametrize("pattern_length", [1, 2, 4])
def test_unaligned_fills(device, pattern_length):
    """Every offset and length around the 4-byte words, on a buffer and a subspan."""
    pattern = {1: 0xA7, 2: 0xB1C2, 4: 0xD1E2F3A4}[pattern_length]
    size = 40
    root = device.allocate_buffer(size + 3)
    for base in (0, 3):
        buffer = root.subspan(base, size)
        cases = [(o, n) for o in range(0, 9, pattern_length) for n in range(0, 15, pattern_length)]
        for offset, length in cases:
            buffer.write(bytes(size))
            run(
                device,
                lambda cb, b=buffer, o=offset, n=length: cb.fill_buffer(
                    b, o, n, pattern, pattern_length
                ),
            )
            expected = bytearray(size)
            expected[offset : offset + length] = (pattern.to_bytes(pattern_length, "little") * 16)[
                :length
            ]
            assert buffer.read() == bytes(expected), (base, offset, length)


def test_unaligned_updates(device):
    data = bytes((i * 37 + 11) & 0xFF for i in range(64))
    buffer = device.allocate_buffer(48)
    for offset in range(6):
        for length in (1, 2, 3, 5, 7, 8, 13, 30):
            buffer.write(b"\xee" * 48)
            run(device, lambda cb, o=offset, n=length: cb.update_buffer(data, 3, buffer, o, n))
            expected = bytearray(b"\xee" * 48)
            expected[offset : offset + length] = data[3 : 3 + length]
            assert buffer.read() == bytes(expected), (offset, length)


def test_large_unaligned_update_in_chunks(device):
    """More than vkCmdUpdateBuffer's 64 KiB, at an odd offset."""
    data = bytes((i * 131 + 7) & 0xFF for i in range(200_001))
    buffer = device.allocate_buffer(200_010)
    buffer.write(bytes(200_010))
    run(device, lambda cb: cb.update_buffer(data, 0, buffer, 3, len(data)))
    assert buffer.read() == bytes(3) + data + bytes(6)


def test_misaligned_bindings_run_on_copies(device, negate):
    """Offsets 4 and 8 are below minStorageBufferOffsetAlignment: the dispatch runs on
    aligned copies, the writable one is copied back, the bytes around stay."""
    source = device.buffer_from(struct.pack("<8i", *range(1, 9)))
    target = device.buffer_from(struct.pack("<8i", *[99] * 8))

    def record(cb):
        cb.dispatch(negate, 0, 3, bindings=[(0, source, 8, 12), (1, target, 4, 12)])

    run(device, record)
    assert struct.unpack("<8i", target.read()) == (99, -3, -4, -5, 99, 99, 99, 99)


def test_misaligned_binding_from_a_slot(device, negate):
    source = device.buffer_from(struct.pack("<4i", 5, 6, 7, 8))
    target = device.buffer_from(bytes(32))

    def record(cb):
        cb.dispatch(negate, 0, 4, bindings=[(0, hal.Slot(0)), (1, hal.Slot(1))])

    run(device, record, hal.CommandBufferMode.DEFAULT, [source, (target, 12, 16)])
    assert struct.unpack("<8i", target.read()) == (0, 0, 0, -5, -6, -7, -8, 0)


def test_indirect_counts_at_a_misaligned_address(device, workgroup_ids):
    """A workgroups buffer that is a subspan at byte 2: vkCmdDispatchIndirect needs a
    4-byte aligned offset, so the counts are copied first."""
    raw = device.buffer_from(b"\0\0" + struct.pack("<3I", 3, 1, 1) + b"\0\0")
    counts = raw.subspan(2, 12)
    out = device.buffer_from(struct.pack("<6I", *[0xCD] * 6))

    def record(cb):
        cb.dispatch_indirect(workgroup_ids, 0, counts, 0, bindings=[(0, out)])

    run(device, record)
    assert struct.unpack("<6I", out.read()) == (0, 1, 2, 0xCD, 0xCD, 0xCD)


def test_host_access_through_staging(device):
    """Device-local memory that the host cannot map is read and written by copies."""
    buffer = device.allocate_buffer(100)
    alloc = buffer.alloc
    mapped, alloc.mapped = alloc.mapped, None  # as on a GPU without a host-visible heap
    try:
        buffer.write(bytes(range(100)))
        assert buffer.read(7, 50) == bytes(range(7, 57))
    finally:
        alloc.mapped = mapped
    assert buffer.read() == bytes(range(100))


def test_size_zero_and_memory_types(device):
    assert device.allocate_buffer(0).read() == b""
    host = device.allocate_buffer(
        16, memory_type=hal.MemoryType.HOST_LOCAL | hal.MemoryType.DEVICE_VISIBLE
    )
    assert host.memory_type & hal.MemoryType.HOST_COHERENT


def test_recorded_once_and_per_table(device):
    """No slots: recorded at end().  Slots: recorded at the first submission with a
    table, and reused while the table's contents are the same."""
    a, b = device.allocate_buffer(16), device.allocate_buffer(16)
    direct = run(device, lambda cb: cb.fill_buffer(a, 0, 16, 1, 1), hal.CommandBufferMode.DEFAULT)
    assert direct.encoded.fixed is not None and not direct.encoded.has_slots
    cb = run(
        device,
        lambda cb: cb.fill_buffer(hal.Slot(0), 0, 16, 2, 1),
        hal.CommandBufferMode.DEFAULT,
        [a],
    )
    program = cb.encoded
    first = program.recording(device._resolve_binding_table([a]))
    for table in ([a], [b], [a]):
        done = device.create_semaphore(0)
        device.queue_execute(cb, signal=[(done, 1)], binding_table=table)
        done.wait(1, timeout=30)
    assert program.recording(device._resolve_binding_table([a])) is first
    assert program.recording(device._resolve_binding_table([b])) is not first
    assert a.read() == b.read() == b"\x02" * 16


def count_calls(device, record, names) -> dict:
    """How often recording ``record`` calls each of the device functions ``names``."""
    fn = device._driver.fn
    calls = dict.fromkeys(names, 0)
    saved = {n: getattr(fn, n) for n in names}

    def counted(name, original):
        def call(*args):
            calls[name] += 1
            return original(*args)

        return call

    for name, original in saved.items():
        if original is not None:
            setattr(fn, name, counted(name, original))
    try:
        run(device, record)
    finally:
        for name, original in saved.items():
            setattr(fn, name, original)
    return calls


def count_barriers(device, record) -> int:
    """Pipeline barriers that recording ``record`` emits."""
    return sum(count_calls(device, record, ("pipeline_barrier", "pipeline_barrier2")).values())


def test_only_changed_state_is_pushed(device):
    """The recorder pushes constants and descriptors when they change, not when a dispatch
    repeats them, nor when the same buffers are pushed again; what runs is still right."""
    layout = hal.PipelineLayout(
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
    exe = device.create_executable(
        hal.ExecutableSource(
            [hal.EntryPoint("scale_and_offset", layout)],
            {"spirv": (KERNELS / "scale_and_offset.spv").read_bytes()},
        )
    )
    x = device.buffer_from(struct.pack("<4i", 1, 2, 3, 4))
    y, z = device.allocate_buffer(16), device.allocate_buffer(16)

    def record(cb):  # barriers between (they leave the state bound) keep it race-free
        cb.dispatch(exe, 0, 4, constants=[2, 1], bindings=[(0, x), (1, y)])
        cb.execution_barrier()
        cb.dispatch(exe, 0, 4)  # the same state
        cb.execution_barrier()
        cb.push_descriptor_set(layout, 0, [(0, x), (1, y)])  # the same buffers again
        cb.dispatch(exe, 0, 4)
        cb.execution_barrier()
        cb.push_constants(layout, 0, [3, 0])
        cb.dispatch(exe, 0, 4, bindings=[(0, y), (1, z)])

    binds = "push_descriptor_set" if device.info["push_descriptors"] else ("bind_descriptor_sets")
    calls = count_calls(device, record, ("push_constants", binds, "dispatch"))
    assert calls == {"push_constants": 2, binds: 2, "dispatch": 4}
    assert struct.unpack("<4i", y.read()) == (3, 5, 7, 9)
    assert struct.unpack("<4i", z.read()) == (9, 15, 21, 27)


def test_direct_dispatch_after_an_indirect_one_binds_again(device, workgroup_ids):
    """The count check of an indirect dispatch binds its own pipeline and descriptors:
    a direct dispatch after it with the same state (nothing pushed in between) binds
    the program's again, rather than writing into the check's buffers."""
    counts = device.buffer_from(struct.pack("<3I", 3, 1, 1))
    out = device.buffer_from(struct.pack("<6I", *[0xCD] * 6))

    def record(cb):
        cb.dispatch(workgroup_ids, 0, 1, bindings=[(0, out)])
        cb.execution_barrier()
        cb.dispatch_indirect(workgroup_ids, 0, counts, 0)
        cb.execution_barrier()
        cb.dispatch(workgroup_ids, 0, 5)

    run(device, record)
    assert struct.unpack("<6I", out.read()) == (0, 1, 2, 3, 4, 0xCD)


def test_no_barrier_the_program_did_not_ask_for(device, negate):
    x, y = device.allocate_buffer(64), device.allocate_buffer(64)
    out = [device.allocate_buffer(64) for _ in range(10)]

    def without(cb):  # no two commands touch one range, with one writing (no race)
        for i in range(8):
            cb.push_constants(negate.entry_points[0].layout, 0, [])
            cb.dispatch(negate, 0, 16, bindings=[(0, x if i % 2 else y), (1, out[i])])
        cb.fill_buffer(out[8], 0, 64, 0, 4)
        cb.copy_buffer(x, 0, out[9], 0, 64)

    def with_two(cb):
        cb.dispatch(negate, 0, 16, bindings=[(0, x), (1, y)])
        cb.execution_barrier()
        cb.dispatch(negate, 0, 16, bindings=[(0, y), (1, x)])
        cb.execution_barrier()
        cb.fill_buffer(x, 0, 64, 0, 4)

    assert count_barriers(device, without) == 0
    assert count_barriers(device, with_two) == 2


def test_serial_dispatch_type_orders_dispatches():
    # Unchecked: the hazard checks would call the overlapping fills a race, which is
    # what the serial dispatch type makes well defined.
    with hal.create_device("vulkan", dispatch_type="serial", checked=False) as device:
        assert device.info["dispatch_type"] == "serial"
        buffer = device.allocate_buffer(16)
        buffer.write(bytes(16))

        def record(cb):
            cb.fill_buffer(buffer, 0, 16, 0x11, 1)
            cb.fill_buffer(buffer, 4, 8, 0x22, 1)

        assert count_barriers(device, record) == 2
        assert buffer.read() == b"\x11" * 4 + b"\x22" * 8 + b"\x11" * 4


def test_debug_groups_and_nesting(device, negate):
    x = device.buffer_from(struct.pack("<4i", 1, 2, 3, 4))
    y = device.allocate_buffer(16)
    inner = device.create_command_buffer(hal.CommandBufferMode.DEFAULT)
    with inner:
        inner.begin_debug_group("inner", color=(1.0, 0.5, 0.0, 1.0))
        inner.dispatch(negate, 0, 4, bindings=[(0, x), (1, y)])
        inner.end_debug_group()

    def record(cb):
        cb.begin_debug_group("outer")
        cb.execute_commands(inner)
        cb.end_debug_group()

    run(device, record)
    assert struct.unpack("<4i", y.read()) == (-1, -2, -3, -4)


def test_glsl_and_spirv_entry_points(device):
    if "glsl" not in device.info["executable_formats"]:
        pytest.skip("glslangValidator is not installed")
    source = (KERNELS / "negate.comp").read_text()
    exe = device.create_executable(
        hal.ExecutableSource([hal.EntryPoint("negate", TWO)], {"glsl": source})
    )
    assert exe.format == "glsl"
    with pytest.raises(hal.InvalidArgumentError, match="glslangValidator"):
        device.create_executable(
            hal.ExecutableSource(
                [hal.EntryPoint("negate", TWO)], {"glsl": source.replace("-input", "-inpt")}
            )
        )
    with pytest.raises(hal.InvalidArgumentError, match="not in the SPIR-V module"):
        device.create_executable(
            hal.ExecutableSource(
                [hal.EntryPoint("nope", TWO), hal.EntryPoint("negate", TWO)],
                {"spirv": (KERNELS / "negate.spv").read_bytes()},
            )
        )


def test_barrier_mapping():
    """HAL stages and scopes map onto Vulkan's; a default barrier is a full one.  The
    dispatch stage is the compute shader alone (indirect counts are read by the count
    check's shader, the DRAW_INDIRECT read of its copy is ordered by the check)."""
    S, A = hal.ExecutionStage, hal.AccessScope
    for table in (barriers._SOURCE_STAGES, barriers._TARGET_STAGES):
        assert barriers._stages(S.DISPATCH, table) == barriers._SHADER
    assert barriers._stages(S.COMMAND_PROCESS, barriers._TARGET_STAGES) == (
        barriers._SHADER | barriers._INDIRECT
    )
    assert barriers._stages(S.COMMAND_RETIRE | S.DISPATCH, barriers._SOURCE_STAGES) == (
        barriers._ALL
    )
    src, dst = barriers._SHADER, barriers._SHADER
    barrier = hal.MemoryBarrier(A.DISPATCH_WRITE, A.DISPATCH_READ | A.TRANSFER_READ)
    assert barriers.memory_dependency(src, dst, (barrier,)) == (
        barriers._SHADER_WRITE,
        barriers._SHADER_READ,
    )
    assert barriers.memory_dependency(barriers._ALL, barriers._ALL, ()) == (
        barriers._MEMORY_WRITE,
        barriers._MEMORY_READ | barriers._MEMORY_WRITE,
    )


@pytest.mark.skipif(not HAS_LAYER, reason="the Khronos validation layer is not installed")
@pytest.mark.parametrize("synchronization2", [True, False], ids=["sync2", "sync1"])
def test_dispatch_stage_orders_indirect_counts(synchronization2):
    """Counts written by a dispatch, read by an indirect dispatch after a dispatch →
    dispatch barrier, then overwritten by a fill after a dispatch → transfer one: with
    the dispatch stage mapped to the compute shader alone, the Khronos layer's hazard
    checks find nothing (the count check reads the counts in a shader) and the indirect
    dispatch runs the counts written before it."""
    S, A = hal.ExecutionStage, hal.AccessScope
    with hal.create_device("vulkan", validation="sync", synchronization2=synchronization2) as d:
        negate = d.create_executable(
            hal.ExecutableSource(
                [hal.EntryPoint("negate", TWO)], {"spirv": (KERNELS / "negate.spv").read_bytes()}
            )
        )
        ids = d.create_executable(
            hal.ExecutableSource(
                [hal.EntryPoint("write_workgroup_ids", ONE)],
                {
                    "spirv": {
                        "write_workgroup_ids": (KERNELS / "write_workgroup_ids.spv").read_bytes()
                    }
                },
            )
        )
        source = d.buffer_from(struct.pack("<3i", -3, -1, -1))
        counts = d.buffer_from(bytes(12))
        out = d.buffer_from(struct.pack("<6I", *[0xCD] * 6))

        def record(cb):
            cb.dispatch(negate, 0, 3, bindings=[(0, source), (1, counts)])
            cb.execution_barrier(
                S.DISPATCH,
                S.DISPATCH,
                memory_barriers=[hal.MemoryBarrier(A.DISPATCH_WRITE, A.INDIRECT_COMMAND_READ)],
            )
            cb.dispatch_indirect(ids, 0, counts, 0, bindings=[(0, out)])
            cb.execution_barrier(
                S.DISPATCH,
                S.TRANSFER,
                memory_barriers=[hal.MemoryBarrier(A.INDIRECT_COMMAND_READ, A.TRANSFER_WRITE)],
            )
            cb.fill_buffer(counts, 0, 12, 0, 4)

        run(d, record)
        assert struct.unpack("<6I", out.read()) == (0, 1, 2, 0xCD, 0xCD, 0xCD)
        assert counts.read() == bytes(12)
        assert d._driver.validation_messages == []


@pytest.mark.skipif(not HAS_LAYER, reason="the Khronos validation layer is not installed")
@pytest.mark.parametrize("synchronization2", [True, False], ids=["sync2", "sync1"])
def test_each_barrier_recorded_as_itself(synchronization2):
    """Barriers of three kinds in turn, without memory barriers (they differ only in
    their stages), with memory barriers shared between calls and built anew for each: the
    recorder repeats the previous barrier's call and keeps one per content, and must record
    each barrier as its own (the Khronos layer's hazard checks find nothing, and every
    step's result is there)."""
    S, A = hal.ExecutionStage, hal.AccessScope
    layout = hal.PipelineLayout(TWO.set_layouts, push_constants=2)
    shared = [hal.MemoryBarrier(A.DISPATCH_WRITE, A.TRANSFER_READ)]
    with hal.create_device("vulkan", validation="sync", synchronization2=synchronization2) as d:
        exe = d.create_executable(
            hal.ExecutableSource(
                [hal.EntryPoint("scale_and_offset", layout)],
                {"spirv": (KERNELS / "scale_and_offset.spv").read_bytes()},
            )
        )
        x = d.buffer_from(struct.pack("<4i", 1, 2, 3, 4))
        y, z = d.buffer_from(bytes(16)), d.buffer_from(bytes(16))

        def record(cb):
            for i in range(6):
                cb.dispatch(exe, 0, 4, constants=[1, 1], bindings=[(0, x), (1, y)])
                memory = ([], shared, [hal.MemoryBarrier(A.DISPATCH_WRITE, A.TRANSFER_READ)])
                cb.execution_barrier(S.DISPATCH, S.TRANSFER, memory_barriers=memory[i % 3])
                cb.copy_buffer(y, 0, z, 0, 16)
                cb.execution_barrier(S.TRANSFER, S.DISPATCH)
                cb.dispatch(exe, 0, 4, constants=[1, 1], bindings=[(0, z), (1, x)])
                cb.execution_barrier(
                    S.DISPATCH,
                    S.DISPATCH,
                    memory_barriers=[hal.MemoryBarrier(A.DISPATCH_WRITE, A.DISPATCH_READ)],
                )

        run(d, record)
        assert struct.unpack("<4i", x.read()) == (13, 14, 15, 16)
        assert struct.unpack("<4i", z.read()) == (12, 13, 14, 15)
        assert d._driver.validation_messages == []


@pytest.mark.skipif(not HAS_LAYER, reason="the Khronos validation layer is not installed")
@pytest.mark.parametrize(
    "environment",
    [
        {"POLYHAL_VULKAN_VALIDATION": "sync"},
        {
            "POLYHAL_VULKAN_VALIDATION": "1",
            "POLYHAL_VULKAN_PUSH_DESCRIPTORS": "0",
            "POLYHAL_VULKAN_SYNCHRONIZATION2": "0",
        },
    ],
    ids=["push-sync2-hazards", "pool-sync1"],
)
def test_conformance_suite_is_silent_under_validation(environment):
    """The whole conformance suite on vulkan with the Khronos layer: no message at all."""
    env = {**os.environ, **environment}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            str(ROOT / "tests" / "conformance"),
            "--drivers=vulkan",
            "-q",
            "-s",
            "-p",
            "no:cacheprovider",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    output = proc.stdout + proc.stderr
    messages = [line for line in output.splitlines() if "[vulkan validation]" in line]
    assert proc.returncode == 0, output[-3000:]
    assert not messages, "\n".join(messages[:5])


# -- issue 11: lifetimes, checked mode, indirect counts, close --------------------------------
def test_dealloca_waits_for_a_parked_submission(device, negate):
    """A queue_dealloca without waits, while an earlier submission that uses the buffer
    is parked on a semaphore: the memory stays until that submission ran (correctly),
    then it is freed."""
    driver = device._driver
    source = device.buffer_from(struct.pack("<4i", 1, 2, 3, 4))
    target = device.allocate_buffer(16)
    baseline = driver.live_allocations
    cb = device.create_command_buffer()
    with cb:
        cb.dispatch(negate, 0, 4, bindings=[(0, source), (1, target)])
    gate, done = device.create_semaphore(0), device.create_semaphore(0)
    device.queue_execute(cb, wait=[(gate, 1)], signal=[(done, 1)])
    freed = device.create_semaphore(0)
    device.queue_dealloca(source, signal=[(freed, 1)])
    freed.wait(1, timeout=30)
    assert driver.live_allocations == baseline  # still held by the parked submission
    gate.signal(1)
    done.wait(1, timeout=30)
    assert struct.unpack("<4i", target.read()) == (-1, -2, -3, -4)
    del cb, source
    assert driver.live_allocations == baseline - 1


def test_dealloca_waits_for_a_parked_submission_with_slots(device, negate):
    """The same with a command buffer that also takes a slot: it is recorded only when
    it runs, and the buffer it names directly must still be there then."""
    driver = device._driver
    source = device.buffer_from(struct.pack("<4i", 1, 2, 3, 4))
    target = device.allocate_buffer(16)
    baseline = driver.live_allocations
    cb = device.create_command_buffer(hal.CommandBufferMode.DEFAULT, binding_capacity=1)
    with cb:
        cb.dispatch(negate, 0, 4, bindings=[(0, source), (1, hal.Slot(0))])
    gate, done = device.create_semaphore(0), device.create_semaphore(0)
    device.queue_execute(cb, wait=[(gate, 1)], signal=[(done, 1)], binding_table=[target])
    device.queue_dealloca(source)
    gate.signal(1)
    done.wait(1, timeout=30)
    assert struct.unpack("<4i", target.read()) == (-1, -2, -3, -4)
    assert driver.live_allocations == baseline
    del cb, source
    assert driver.live_allocations == baseline - 1


def test_dealloca_of_a_parked_binding_table_entry_waits_for_that_submission(device, negate):
    """A binding table entry deallocated while its submission is parked keeps its memory
    (the front end defers the release) until that submission retires; it is freed once
    no recording of the command buffer names it either."""
    driver = device._driver
    baseline = driver.live_allocations
    source = device.buffer_from(struct.pack("<4i", 1, 2, 3, 4))
    target = device.allocate_buffer(16)
    cb = device.create_command_buffer(hal.CommandBufferMode.DEFAULT, binding_capacity=2)
    with cb:
        cb.dispatch(negate, 0, 4, bindings=[(0, hal.Slot(0)), (1, hal.Slot(1))])
    gate, done = device.create_semaphore(0), device.create_semaphore(0)
    device.queue_execute(cb, wait=[(gate, 1)], signal=[(done, 1)], binding_table=[source, target])
    device.queue_dealloca(source)
    assert driver.live_allocations == baseline + 2  # source is still held
    gate.signal(1)
    done.wait(1, timeout=30)
    assert struct.unpack("<4i", target.read()) == (-1, -2, -3, -4)
    # The same command buffer still runs with live buffers.
    other = device.buffer_from(struct.pack("<4i", 5, 6, 7, 8))
    again = device.create_semaphore(0)
    device.queue_execute(cb, signal=[(again, 1)], binding_table=[other, target])
    again.wait(1, timeout=30)
    assert struct.unpack("<4i", target.read()) == (-5, -6, -7, -8)
    del source, cb
    assert driver.live_allocations == baseline + 2  # other and target


def test_robust_buffer_access_only_in_checked_mode():
    for checked in (True, False):
        with hal.create_device("vulkan", checked=checked) as device:
            robust2 = "VK_EXT_robustness2" in device._driver.physical.extensions
            assert device.info["checked"] is checked
            assert device.info["robust_buffer_access"] == (
                ("robustBufferAccess2" if robust2 else "robustBufferAccess") if checked else False
            )


@pytest.mark.parametrize(("checked", "length"), [(True, 8), (True, 0), (False, 0)])
def test_checked_mode_keeps_out_of_bounds_writes_in_their_binding(checked, length):
    """64 invocations of ``negate`` writing through an 8-byte (or empty) output binding:
    in checked mode no byte outside the binding changes, neither the input binding nor
    the rest of the same VkBuffer.  An empty binding is bound to a scratch word in every
    mode, not to the rest of the buffer as VK_WHOLE_SIZE would."""
    with hal.create_device("vulkan", validation=HAS_LAYER, checked=checked) as device:
        negate = device.create_executable(
            hal.ExecutableSource(
                [hal.EntryPoint("negate", TWO)], {"spirv": (KERNELS / "negate.spv").read_bytes()}
            )
        )
        data = bytearray(b"\xee" * 1024)
        data[512:768] = struct.pack("<64i", *range(1, 65))
        buffer = device.buffer_from(bytes(data))
        run(
            device,
            lambda cb: cb.dispatch(
                negate, 0, 64, bindings=[(0, buffer, 512, 256), (1, buffer, 256, length)]
            ),
        )
        after = buffer.read()
        assert after[256 : 256 + length] == struct.pack("<2i", -1, -2)[:length]
        assert after[:256] + after[256 + length :] == data[:256] + data[256 + length :]
        assert device._driver.validation_messages == []


def test_indirect_check_shader_matches_its_source():
    """The shipped SPIR-V words are what glslangValidator makes of the GLSL beside them."""
    from polyhal.drivers.vulkan import indirect_check

    if not shutil.which("glslangValidator"):
        pytest.skip("glslangValidator is not installed")
    with tempfile.TemporaryDirectory() as tmp:
        source, out = Path(tmp) / "check.comp", Path(tmp) / "check.spv"
        source.write_text(indirect_check.GLSL)
        subprocess.run(
            [
                "glslangValidator",
                "-V",
                "-g0",
                "--target-env",
                "vulkan1.2",
                "-S",
                "comp",
                "-o",
                str(out),
                str(source),
            ],
            check=True,
            capture_output=True,
        )
        assert out.read_bytes() == indirect_check.spirv()


@pytest.mark.parametrize("counts", [(1, 1, 70000), (2**32 - 1, 1, 1), (70000, 70000, 1)])
def test_indirect_counts_beyond_the_limits_fail_the_submission(device, workgroup_ids, counts):
    """Counts over maxComputeWorkGroupCount (or 2**32 workgroups in all) are refused on
    the device: the dispatch does not run and the submission fails with OutOfRangeError
    naming the entry point and the counts; the device keeps working."""
    limits = device.info["limits"]["max_workgroup_count"]
    if all(c <= m for c, m in zip(counts, limits, strict=True)) and (
        counts[0] * counts[1] * counts[2] <= 2**32
    ):
        pytest.skip(f"{counts} is within this device's limits {limits}")
    raw = device.buffer_from(struct.pack("<3I", *counts))
    out = device.buffer_from(struct.pack("<4I", *[0xCD] * 4))
    cb = device.create_command_buffer()
    with cb:
        cb.dispatch_indirect(workgroup_ids, 0, raw, 0, bindings=[(0, out)])
    done = device.create_semaphore(0)
    device.queue_execute(cb, signal=[(done, 1)])
    with pytest.raises(
        hal.OutOfRangeError, match=r"write_workgroup_ids.*" + r", ".join(str(c) for c in counts)
    ):
        done.wait(1, timeout=30)
    assert out.read() == struct.pack("<4I", *[0xCD] * 4)
    good = device.buffer_from(struct.pack("<3I", 2, 1, 1))
    run(device, lambda cb: cb.dispatch_indirect(workgroup_ids, 0, good, 0, bindings=[(0, out)]))
    assert struct.unpack("<4I", out.read()) == (0, 1, 0xCD, 0xCD)


def test_indirect_checks_per_submission_of_a_reusable_command_buffer(device, workgroup_ids):
    """One recording submitted many times, with counts that change between submissions
    and several submissions in flight: each fails or passes on its own counts."""
    counts = device.buffer_from(struct.pack("<3I", 1, 1, 1))
    out = device.allocate_buffer(64)
    cb = device.create_command_buffer(hal.CommandBufferMode.DEFAULT)
    with cb:
        cb.dispatch_indirect(workgroup_ids, 0, counts, 0, bindings=[(0, out)])
        cb.execution_barrier()
        cb.dispatch_indirect(workgroup_ids, 0, counts, 0, bindings=[(0, out)])
    results = []
    for bad in [False, True, False, True, True, False]:
        gate = device.create_semaphore(0)
        device.queue_update(
            struct.pack("<3I", 1, 1, 99999 if bad else 3), 0, counts, 0, 12, signal=[(gate, 1)]
        )
        gate.wait(1, timeout=30)
        done = device.create_semaphore(0)
        device.queue_execute(cb, signal=[(done, 1)])
        try:
            done.wait(1, timeout=30)
            results.append(False)
        except hal.OutOfRangeError:
            results.append(True)
    assert results == [False, True, False, True, True, False]


def test_many_indirect_submissions_in_flight(device, workgroup_ids):
    counts_ok = device.buffer_from(struct.pack("<3I", 1, 1, 1))
    counts_bad = device.buffer_from(struct.pack("<3I", 1, 1, 2**20))
    out = device.allocate_buffer(16)
    gate = device.create_semaphore(0)
    dones = []
    for i in range(40):
        cb = device.create_command_buffer()
        with cb:
            cb.dispatch_indirect(
                workgroup_ids, 0, counts_bad if i % 3 == 0 else counts_ok, 0, bindings=[(0, out)]
            )
        done = device.create_semaphore(0)
        device.queue_execute(cb, wait=[(gate, 1)], signal=[(done, 1)])
        dones.append(done)
    gate.signal(1)
    for i, done in enumerate(dones):
        if i % 3 == 0:
            with pytest.raises(hal.OutOfRangeError):
                done.wait(1, timeout=30)
        else:
            done.wait(1, timeout=30)


def test_driver_methods_after_close_raise_failed_precondition():
    device = hal.create_device("vulkan")
    driver = device._driver
    buffer = device.allocate_buffer(16)
    cb = device.create_command_buffer()
    with cb:
        cb.fill_buffer(buffer, 0, 16, 1, 1)
    alloc = buffer.alloc
    device.close()
    calls = {
        "allocate": lambda: driver.allocate(16, hal.MemoryType.DEVICE_LOCAL, 0),
        "release": lambda: driver.release(alloc),
        "read": lambda: driver.read(alloc, 0, 4),
        "write": lambda: driver.write(alloc, 0, memoryview(b"abcd")),
        "load_executable": lambda: driver.load_executable(
            "spirv", (KERNELS / "negate.spv").read_bytes(), [hal.EntryPoint("negate", TWO)]
        ),
        "encode": lambda: driver.encode([]),
        "execute": lambda: driver.execute([hal.drivers.base.Work(cb.encoded)], lambda e: None),
        "pin": lambda: driver.pin(alloc),
    }
    for name, call in calls.items():
        with pytest.raises(hal.FailedPreconditionError, match="closed"):
            call()
            pytest.fail(f"{name} after close returned")
    driver.close()  # twice is harmless
    with pytest.raises(hal.FailedPreconditionError):
        device.queue_fill(buffer, 0, 16, 1)


@pytest.mark.parametrize(
    "options",
    [
        {"push_descriptors": 5},
        {"synchronization2": "maybe"},
        {"validation": "bogus"},
        {"validation": object()},
    ],
)
def test_bad_device_options_are_refused(options):
    with pytest.raises(hal.InvalidArgumentError, match="True, False or None"):
        hal.create_device("vulkan", **options)


def test_bad_environment_flags_are_refused(monkeypatch):
    monkeypatch.setenv("POLYHAL_VULKAN_PUSH_DESCRIPTORS", "maybe")
    with pytest.raises(hal.InvalidArgumentError, match="POLYHAL_VULKAN_PUSH_DESCRIPTORS"):
        hal.create_device("vulkan")
    monkeypatch.setenv("POLYHAL_VULKAN_PUSH_DESCRIPTORS", "off")
    with hal.create_device("vulkan") as device:
        assert device.info["push_descriptors"] is False


def test_the_encoder_refuses_ranges_outside_an_allocation(device):
    """Defence in depth under the front end's checks: a command whose range leaves its
    allocation never reaches Vulkan (issue 11: a slot copy of WHOLE_BUFFER from 4096
    bytes into 3 wrote past the target)."""
    from polyhal import _walker as W
    from polyhal import commands as C
    from polyhal.drivers.vulkan import encoder

    driver = device._driver
    big, small = device.allocate_buffer(4096), device.allocate_buffer(3)
    # Records appended raw, past the front end's checks, as a stream it missed would be.
    for op, a, b, data in (
        (W.OP_COPY, C.Ref(small.alloc, -1, 0, 4096), C.Ref(big.alloc, -1, 0, 4096), None),
        (W.OP_FILL, C.Ref(small.alloc, -1, 2, 4), None, None),
        (W.OP_UPDATE, C.Ref(small.alloc, -1, 0, 4), None, b"abcd"),
    ):
        stream = device.create_command_buffer(hal.CommandBufferMode.DEFAULT)
        stream.begin()
        stream._append(op, 1, None, a, b, 1, 0, data)
        with pytest.raises(hal.OutOfRangeError, match="outside an allocation of 3 bytes"):
            encoder.Encoded(driver, stream)
    cb = device.create_command_buffer(hal.CommandBufferMode.DEFAULT, binding_capacity=2)
    with cb:
        cb.copy_buffer(hal.Slot(0), 0, hal.Slot(1), 0, hal.WHOLE_BUFFER)
    small.write(b"xyz")
    with pytest.raises(hal.HalError):  # at submit (front end) or as a failed submission
        done = device.create_semaphore(0)
        device.queue_execute(cb, signal=[(done, 1)], binding_table=[big, small])
        done.wait(1, timeout=30)
    assert small.read() == b"xyz"


def test_glsl_cache_rebuilds_garbage_and_keys_on_the_compiler(tmp_path, monkeypatch):
    """A truncated or garbage cached SPIR-V module is rebuilt, not loaded; the cache key
    holds glslangValidator's identity (its path and --version output)."""
    if not shutil.which("glslangValidator"):
        pytest.skip("glslangValidator is not installed")
    from polyhal.drivers.vulkan import executable

    monkeypatch.setenv("POLYHAL_CACHE_DIR", str(tmp_path))
    source = "#version 450\nlayout(local_size_x = 1) in;\nvoid main() {}\n"
    first = executable.compile_glsl(source, "noop")
    (cached,) = tmp_path.glob("glsl-*.spv")
    for garbage in (b"", first[:10], b"\xff" * 64):
        cached.write_bytes(garbage)
        assert executable.compile_glsl(source, "noop") == first
    identity = executable.compiler_identity(shutil.which("glslangValidator"))
    assert "Glslang" in identity or "glslang" in identity.lower()
