"""Many commands and submissions back to back."""

from __future__ import annotations

from .support import TIMEOUT, Binder, allocate, deterministic_bytes, read_u32, upload


def test_200_one_shot_fills(device):
    """200 one-shot command buffers, each filling its own 4 KiB, submitted back to back."""
    count, size = 200, 4096
    target = allocate(device, count * size)
    for i in range(count):
        cb = device.create_command_buffer()
        with cb:
            cb.fill_buffer(target, i * size, size, 0xBD370000 | i, 4)
        device.queue_execute(cb)
    device.wait_idle(timeout=TIMEOUT * 6)
    words = read_u32(target)
    assert all(words[i * 1024 : (i + 1) * 1024] == [0xBD370000 | i] * 1024 for i in range(count))


def test_512_fills_in_one_command_buffer(binder):
    buffer = allocate(binder.device, 512 * 4)
    target = binder.ref(buffer)

    def record(cb):
        for i in range(512):
            cb.fill_buffer(target, 4 * i, 4, 0xBD370000 | i, 4)

    binder.record_and_run(record)
    assert read_u32(buffer) == [0xBD370000 | i for i in range(512)]


def test_64_by_64_copies(binder):
    """64 command buffers of 64 independent 16-byte copies each; command buffer i moves
    source block (i, j) to target block (63 - i, 63 - j)."""
    device = binder.device
    block, n = 16, 64
    data = deterministic_bytes(n * n * block)
    source_buffer, target_buffer = upload(device, data), allocate(device, n * n * block)
    command_buffers = []
    for i in range(n):
        step = Binder(device, binder.mode)
        source, target = step.refs(source_buffer, target_buffer)
        cb = step.command_buffer()
        with cb:
            for j in range(n):
                cb.copy_buffer(
                    source,
                    (i * n + j) * block,
                    target,
                    ((n - 1 - i) * n + (n - 1 - j)) * block,
                    block,
                )
        command_buffers.append((step, cb))
    for step, cb in command_buffers:
        step.submit(cb)
    device.wait_idle(timeout=TIMEOUT)
    out = target_buffer.read()
    for i in range(n):
        for j in range(n):
            t = ((n - 1 - i) * n + (n - 1 - j)) * block
            s = (i * n + j) * block
            assert out[t : t + block] == data[s : s + block], f"block ({i}, {j})"
