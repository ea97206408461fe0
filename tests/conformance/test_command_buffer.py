"""Command buffer basics: lifecycle, categories and their errors."""

from __future__ import annotations

import pytest

import polyhal as hal

from .support import allocate

CATEGORIES = [hal.CommandCategory.TRANSFER, hal.CommandCategory.DISPATCH, hal.CommandCategory.ANY]


@pytest.mark.parametrize("categories", CATEGORIES, ids=lambda c: c.name)
def test_create_begin_end(binder, categories):
    cb = binder.command_buffer(categories)
    assert cb.categories == categories
    cb.begin()
    cb.end()


@pytest.mark.parametrize("categories", CATEGORIES, ids=lambda c: c.name)
def test_submit_empty(binder, categories):
    cb = binder.command_buffer(categories)
    with cb:
        pass
    binder.run(cb)


def test_mode_and_capacity_read_back(binder):
    target = allocate(binder.device, 16)
    binder.ref(target)
    cb = binder.command_buffer()
    expected_mode = (
        hal.CommandBufferMode.DEFAULT if binder.uses_slots else hal.CommandBufferMode.ONE_SHOT
    )
    assert cb.mode == expected_mode
    assert cb.binding_capacity == (1 if binder.uses_slots else 0)


def test_begin_twice(binder):
    cb = binder.command_buffer()
    cb.begin()
    with pytest.raises(hal.FailedPreconditionError):
        cb.begin()


def test_end_without_begin(binder):
    cb = binder.command_buffer()
    with pytest.raises(hal.FailedPreconditionError):
        cb.end()


def test_command_after_end(binder):
    target = binder.ref(allocate(binder.device, 16))
    cb = binder.command_buffer()
    with cb:
        pass
    with pytest.raises(hal.FailedPreconditionError):
        cb.fill_buffer(target, 0, 4, 0x07, pattern_length=1)


def test_end_with_open_debug_group(binder):
    cb = binder.command_buffer()
    cb.begin()
    cb.begin_debug_group("open")
    with pytest.raises(hal.FailedPreconditionError):
        cb.end()


def test_debug_groups_balanced(binder):
    cb = binder.command_buffer()
    with cb:
        cb.begin_debug_group("outer")
        cb.begin_debug_group("inner")
        cb.end_debug_group()
        cb.end_debug_group()
    binder.run(cb)


def test_end_debug_group_without_begin(binder):
    cb = binder.command_buffer()
    cb.begin()
    with pytest.raises(hal.FailedPreconditionError):
        cb.end_debug_group()


def test_transfer_only_rejects_dispatch(binder, kernels):
    exe = kernels("write_constants")
    target = binder.ref(allocate(binder.device, 16))
    binder.expect_rejected(
        hal.FailedPreconditionError,
        lambda cb: cb.dispatch(exe, 0, 1, constants=[1, 2, 3, 4], bindings=[(0, target)]),
        categories=hal.CommandCategory.TRANSFER,
    )


@pytest.mark.parametrize("command", ["fill", "copy", "update"])
def test_dispatch_only_rejects_transfer(binder, command):
    source, target = binder.refs(allocate(binder.device, 16), allocate(binder.device, 16))
    record = {
        "fill": lambda cb: cb.fill_buffer(target, 0, 4, 0x07, pattern_length=1),
        "copy": lambda cb: cb.copy_buffer(source, 0, target, 0, 4),
        "update": lambda cb: cb.update_buffer(b"\x01\x02\x03\x04", 0, target, 0, 4),
    }[command]
    binder.expect_rejected(
        hal.FailedPreconditionError, record, categories=hal.CommandCategory.DISPATCH
    )
