"""The collective names of the contract exist with IREE's values, and a driver without
collectives says so plainly (UnimplementedError, never an AttributeError or a silent
success) while one with them makes channels."""

from __future__ import annotations

import pytest

import polyhal as hal


def test_enums_carry_irees_values():
    assert [k.name for k in hal.CollectiveKind] == [
        "ALL_GATHER",
        "ALL_REDUCE",
        "ALL_TO_ALL",
        "BROADCAST",
        "REDUCE",
        "REDUCE_SCATTER",
        "SEND",
        "RECV",
        "SEND_RECV",
    ]
    assert [int(k) for k in hal.CollectiveKind] == list(range(9))
    assert [int(r) for r in hal.CollectiveReduction] == list(range(6))
    assert hal.CollectiveElementType.FLOAT32 == 9 and hal.CollectiveElementType.BFLOAT16 == 11


def test_collective_op_checks_and_packs():
    op = hal.CollectiveOp(
        hal.CollectiveKind.ALL_REDUCE,
        hal.CollectiveReduction.SUM,
        hal.CollectiveElementType.FLOAT16,
    )
    assert op.packed == 1 | 1 << 8 | 8 << 16
    assert hal.CollectiveOp(1).kind is hal.CollectiveKind.ALL_REDUCE
    for bad in ("all_reduce", 9, -1, None):
        with pytest.raises(hal.InvalidArgumentError):
            hal.CollectiveOp(bad)
    with pytest.raises(hal.InvalidArgumentError):
        hal.CollectiveOp(hal.CollectiveKind.REDUCE, reduction=6)


@pytest.mark.parametrize("driver", [*hal.available_drivers(), "local-sync"])
def test_each_driver_has_collectives_or_says_it_has_none(driver):
    with hal.create_device(driver) as device:
        buf = device.allocate_buffer(16)
        op = hal.CollectiveOp(hal.CollectiveKind.ALL_REDUCE, hal.CollectiveReduction.SUM)
        if not device.info["limits"]["collectives"]:
            with pytest.raises(hal.UnimplementedError, match="not implemented"):
                device.create_channel(0, 2, id=hal.Channel.unique_id())
            cb = device.create_command_buffer()
            cb.begin()
            with pytest.raises(hal.UnimplementedError):
                cb.collective(None, op, 0, buf, buf, 4)
            cb.end()
            return
        channel = device.create_channel(0, 1)  # one rank: no peer to wait for
        assert (channel.rank, channel.count) == (0, 1)
        buf.write(bytes(range(16)))
        out = device.allocate_buffer(16)
        cb = device.create_command_buffer()
        with cb:
            cb.collective(channel, op, 0, buf, out, 4)
        sem = device.create_semaphore()
        device.queue_execute(cb, signal=[(sem, 1)])
        sem.wait(1, timeout=30)
        assert out.read() == bytes(range(16))
        channel.close()
