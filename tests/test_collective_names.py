"""The collective names of the contract exist with IREE's values, and every entry point
says plainly that no driver runs collectives yet (UnimplementedError, never an
AttributeError or a silent success)."""

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
def test_every_collective_entry_point_is_unimplemented(driver):
    with hal.create_device(driver) as device:
        with pytest.raises(hal.UnimplementedError, match="not implemented"):
            device.create_channel(0, 2)
        with pytest.raises(hal.UnimplementedError):
            hal.Channel.unique_id()
        with pytest.raises(hal.UnimplementedError):
            hal.Channel()
        buf = device.allocate_buffer(16)
        cb = device.create_command_buffer()
        cb.begin()
        with pytest.raises(hal.UnimplementedError):
            cb.collective(None, hal.CollectiveOp(hal.CollectiveKind.ALL_REDUCE), 0, buf, buf, 4)
        cb.end()
