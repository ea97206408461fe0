"""Issue 11, item 10 (the executable part): layouts, entry points and executable sources
refuse garbage with InvalidArgumentError (never a TypeError, ValueError or
UnicodeDecodeError), on every driver."""

from __future__ import annotations

import numpy as np
import pytest

import polyhal as hal

DRIVERS = [*hal.available_drivers(), "local-sync"]
LAYOUT = hal.PipelineLayout([hal.DescriptorSetLayout([0, 1])])


@pytest.fixture(scope="module", params=DRIVERS)
def device(request):
    with hal.create_device(request.param) as dev:
        yield dev


@pytest.mark.parametrize(
    "make",
    [
        lambda: hal.DescriptorSetLayout(None),
        lambda: hal.DescriptorSetLayout(["x"]),
        lambda: hal.DescriptorSetLayout([1.5]),
        lambda: hal.DescriptorSetLayout([-1]),
        lambda: hal.DescriptorSetLayout([2**64]),
        lambda: hal.DescriptorSetLayout([0, 0]),
        lambda: hal.DescriptorSetLayoutBinding("x"),
        lambda: hal.DescriptorSetLayoutBinding(0, "ro"),
        lambda: hal.DescriptorSetLayoutBinding(0, 1 << 7),
        lambda: hal.PipelineLayout(None),
        lambda: hal.PipelineLayout([1]),
        lambda: hal.PipelineLayout([], "x"),
        lambda: hal.PipelineLayout([], 1.5),
        lambda: hal.PipelineLayout([], -1),
        lambda: hal.PipelineLayout([], 2**64),
        lambda: hal.EntryPoint(5, LAYOUT),
        lambda: hal.EntryPoint("e", "layout"),
        lambda: hal.EntryPoint("e", LAYOUT, None),
        lambda: hal.EntryPoint("e", LAYOUT, (1, 1)),
        lambda: hal.EntryPoint("e", LAYOUT, (0, 1, 1)),
        lambda: hal.EntryPoint("e", LAYOUT, (2**64, 1, 1)),
        lambda: hal.EntryPoint("e", LAYOUT, (1.0, 1, 1)),
        lambda: hal.EntryPoint("e", LAYOUT, local_memory_size=-1),
        lambda: hal.ExecutableSource(None, {}),
        lambda: hal.ExecutableSource("abc", {}),
        lambda: hal.ExecutableSource([None], {}),
        lambda: hal.ExecutableSource([], None),
        lambda: hal.ExecutableSource([], {5: "x"}),
        lambda: hal.ExecutableSource([], {"c": b"\xff\xfe"}),
        lambda: hal.ExecutableSource([], {"glsl": {"e": b"\xff"}}),
    ],
    ids=lambda f: "",
)
def test_garbage_descriptions_raise_invalid_argument(make):
    with pytest.raises(hal.InvalidArgumentError):
        make()


def test_valid_descriptions_normalize():
    binding = hal.DescriptorSetLayoutBinding(np.uint8(3), int(hal.DescriptorFlags.READ_ONLY))
    assert binding.index == 3 and binding.flags is hal.DescriptorFlags.READ_ONLY
    assert hal.PipelineLayout([], np.int64(2)).push_constants == 2
    entry = hal.EntryPoint("e", LAYOUT, (np.uint16(4), 1, 1))
    assert entry.workgroup_size == (4, 1, 1)
    source = hal.ExecutableSource((e for e in [entry]), {"c": b"int x;"})
    assert source.entry_points == (entry,) and source.formats == {"c": "int x;"}
    text = {"c": "int x;"}
    assert hal.ExecutableSource([entry], text).formats is text  # nothing to decode: kept


def test_non_utf8_source_raises_on_every_driver(device):
    entry = hal.EntryPoint("abs_f32", LAYOUT)
    for fmt in ("c", "glsl", "cuda"):
        with pytest.raises(hal.InvalidArgumentError, match="UTF-8"):
            device.create_executable(hal.ExecutableSource([entry], {fmt: b"\xff"}))


def test_entry_point_lookup_and_indices_are_checked(device):
    from tests.conformance.kernels import executable_source

    exe = device.create_executable(executable_source("abs"))
    assert exe.lookup("abs_f32") == 0
    for name in (None, 5, b"abs_f32", ["abs_f32"]):
        with pytest.raises(hal.InvalidArgumentError):
            exe.lookup(name)
    with pytest.raises(hal.NotFoundError):
        exe.lookup("nope")
    cb = device.create_command_buffer()
    cb.begin()
    for entry in (None, 1.5, b"abs_f32", -1, 2**64, True):
        with pytest.raises(hal.InvalidArgumentError):
            cb.dispatch(exe, entry, 1)
