"""The public API contract of DESIGN.md: names, enum values, errors, devices, buffers."""

from __future__ import annotations

import numpy as np
import pytest

import polyhal as hal


def test_enum_values_match_iree():
    assert hal.MemoryType.DEVICE_LOCAL == 0x30 and hal.MemoryType.HOST_LOCAL == 0x06
    assert hal.BufferUsage.TRANSFER == 3 and hal.BufferUsage.DISPATCH_STORAGE == 0xC00
    assert hal.BufferUsage.DISPATCH_INDIRECT_PARAMS == 0x100
    assert hal.CommandBufferMode.DEFAULT == 0 and hal.CommandBufferMode.ONE_SHOT == 1
    assert hal.CommandCategory.ANY == 3
    assert hal.ExecutionStage.DISPATCH == 4 and hal.ExecutionStage.HOST == 32
    assert hal.AccessScope.MEMORY_WRITE == 512
    assert hal.StatusCode.RESOURCE_EXHAUSTED == 8 and hal.StatusCode.DATA_LOSS == 15
    assert hal.WHOLE_BUFFER == 2**64 - 1


@pytest.mark.parametrize(
    "cls, base, code",
    [
        (hal.InvalidArgumentError, ValueError, hal.StatusCode.INVALID_ARGUMENT),
        (hal.OutOfRangeError, IndexError, hal.StatusCode.OUT_OF_RANGE),
        (hal.FailedPreconditionError, RuntimeError, hal.StatusCode.FAILED_PRECONDITION),
        (hal.UnimplementedError, NotImplementedError, hal.StatusCode.UNIMPLEMENTED),
        (hal.DeadlineExceededError, TimeoutError, hal.StatusCode.DEADLINE_EXCEEDED),
        (hal.NotFoundError, LookupError, hal.StatusCode.NOT_FOUND),
        (hal.ResourceExhaustedError, RuntimeError, hal.StatusCode.RESOURCE_EXHAUSTED),
        (hal.CancelledError, RuntimeError, hal.StatusCode.CANCELLED),
        (hal.AbortedError, RuntimeError, hal.StatusCode.ABORTED),
        (hal.DataLossError, RuntimeError, hal.StatusCode.DATA_LOSS),
        (hal.PermissionDeniedError, RuntimeError, hal.StatusCode.PERMISSION_DENIED),
        (hal.InternalError, RuntimeError, hal.StatusCode.INTERNAL),
        (hal.UnavailableError, RuntimeError, hal.StatusCode.UNAVAILABLE),
        (hal.UnknownError, RuntimeError, hal.StatusCode.UNKNOWN),
    ],
)
def test_error_classes(cls, base, code):
    e = cls("boom")
    assert isinstance(e, hal.HalError) and isinstance(e, base) and e.code == code


def test_create_device_defaults_and_errors(monkeypatch):
    monkeypatch.delenv("POLYHAL_DEVICE", raising=False)
    with hal.create_device() as d:
        assert d.driver == "local"
    monkeypatch.setenv("POLYHAL_DEVICE", "local-sync")
    with hal.create_device() as d:
        assert d.driver == "local-sync"
    with pytest.raises(hal.NotFoundError, match="available"):
        hal.create_device("warp-drive")
    with pytest.raises(hal.NotFoundError):
        hal.create_device("local:3")
    assert "local" in hal.available_drivers()


def test_buffers_subspans_and_host_access():
    with hal.create_device("local") as d:
        assert d.allocate_buffer(0).read() == b""
        b = d.buffer_from(np.arange(16, dtype=np.uint8))
        view = b.subspan(4, 8)
        assert view.read() == bytes(range(4, 12))
        view.write(b"\xff\xfe", 2)
        assert b.read(6, 2) == b"\xff\xfe"
        inner = view.subspan(2, hal.WHOLE_BUFFER)
        assert inner.size == 6 and inner.read(0, 2) == b"\xff\xfe"
        assert b.to_numpy("uint32", (2, 2)).shape == (2, 2)
        with pytest.raises(hal.OutOfRangeError):
            b.subspan(10, 8)
        with pytest.raises(hal.OutOfRangeError):
            view.read(4, 8)
        with pytest.raises(hal.OutOfRangeError):
            b.write(b"x" * 17)
        with pytest.raises(hal.InvalidArgumentError):
            b.write(12345)
        with pytest.raises(hal.InvalidArgumentError):
            d.allocate_buffer(-1)
        with pytest.raises(hal.InvalidArgumentError):
            b.subspan(0, 3).to_numpy("uint32")


def test_executable_lookup_and_layouts():
    layout = hal.PipelineLayout(
        [
            hal.DescriptorSetLayout([1, 0]),
            hal.DescriptorSetLayout(
                [hal.DescriptorSetLayoutBinding(0, hal.DescriptorFlags.READ_ONLY)]
            ),
        ],
        push_constants=3,
    )
    assert layout.binding_slots == ((0, 0), (0, 1), (1, 0))
    with pytest.raises(hal.InvalidArgumentError):
        hal.DescriptorSetLayout([0, 0])
    with pytest.raises(hal.InvalidArgumentError):
        hal.EntryPoint("k", layout, (0, 1, 1))
    with hal.create_device("local") as d:
        exe = d.create_executable(
            hal.ExecutableSource(
                [hal.EntryPoint("a", layout), hal.EntryPoint("b", layout)],
                {"c": "int a(void){return 0;} int b(void){return 0;}"},
            )
        )
        assert exe.lookup("b") == 1
        with pytest.raises(hal.NotFoundError):
            exe.lookup("c")


def test_close_cancels_parked_submissions_and_rejects_use():
    d = hal.create_device("local")
    wait, done = d.create_semaphore(0), d.create_semaphore(0)
    d.queue_barrier(wait=[(wait, 1)], signal=[(done, 1)])
    d.close()
    with pytest.raises(hal.CancelledError):
        done.wait(1, timeout=1)
    with pytest.raises(hal.FailedPreconditionError):
        d.allocate_buffer(4)


def test_wait_idle_times_out_on_a_parked_submission():
    with hal.create_device("local") as d:
        wait, done = d.create_semaphore(0), d.create_semaphore(0)
        d.queue_barrier(wait=[(wait, 1)], signal=[(done, 1)])
        with pytest.raises(hal.DeadlineExceededError):
            d.wait_idle(timeout=0.05)
        wait.signal(1)
        d.wait_idle(timeout=10)
        assert done.query() == 1


def test_long_dependency_chain_does_not_recurse():
    with hal.create_device("local-sync") as d:
        sem = d.create_semaphore(0)
        for i in range(5000, 0, -1):  # submitted in reverse: each waits on the previous
            d.queue_barrier(wait=[(sem, i)], signal=[(sem, i + 1)])
        sem.signal(1)
        assert sem.query() == 5001


def test_unvalidated_mode_skips_category_checks_but_not_bounds():
    with hal.create_device("local") as d:
        buf = d.allocate_buffer(16)
        cb = d.create_command_buffer(
            hal.CommandBufferMode.ONE_SHOT | hal.CommandBufferMode.UNVALIDATED,
            categories=hal.CommandCategory.DISPATCH,
        )
        cb.begin()
        cb.fill_buffer(buf, 0, 16, 0x11)  # allowed: categories are not checked
        with pytest.raises(hal.OutOfRangeError):
            cb.fill_buffer(buf, 8, 16, 0x11)  # never unchecked: it would corrupt memory
        cb.end()
        sem = d.create_semaphore()
        d.queue_execute(cb, signal=[(sem, 1)])
        sem.wait(1, timeout=5)
        assert buf.read() == b"\x11" * 16


def test_collective_refuses_what_is_not_a_channel():
    with hal.create_device("local") as d:
        cb = d.create_command_buffer()
        cb.begin()
        with pytest.raises(hal.InvalidArgumentError):
            cb.collective(None, 0, 0, None, None, 0)
