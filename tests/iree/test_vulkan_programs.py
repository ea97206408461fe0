"""Whole IREE programs whose bindings are not whole 32-bit words, on vulkan (and local).

IREE's SPIR-V kernels access ``i8``/``i1`` data in 32-bit words (loads of the word, stores
by masked word atomics), so a 1- or 3-byte tensor is a binding shorter than the word the
kernel touches.  Before the vulkan driver rounded descriptor ranges up to whole words,
lavapipe dropped those accesses and such results came back as whatever the memory held
(IREE's e2e ``stablehlo_ops/compare.mlir``: 8 functions).  Both checked devices (robust
buffer access) and unchecked ones (the sub-allocator's slabs) are run; inputs change from
call to call so that a stale or uninitialised result cannot pass by chance.
"""

from __future__ import annotations

import numpy as np
import pytest

import polyhal as hal
from polyhal import iree

DRIVERS = ["local", "vulkan"]

ODD = """
func.func @compare(%a: tensor<3xi32>, %b: tensor<3xi32>) -> tensor<3xi1> {
  %0 = stablehlo.compare EQ, %a, %b : (tensor<3xi32>, tensor<3xi32>) -> tensor<3xi1>
  return %0 : tensor<3xi1>
}
func.func @select(%a: tensor<i32>, %b: tensor<i32>, %x: tensor<i8>, %y: tensor<i8>)
    -> tensor<i8> {
  %0 = stablehlo.compare EQ, %a, %b : (tensor<i32>, tensor<i32>) -> tensor<i1>
  %1 = stablehlo.select %0, %y, %x : tensor<i1>, tensor<i8>
  return %1 : tensor<i8>
}
func.func @negate(%x: tensor<5xi8>) -> tensor<5xi8> {
  %0 = stablehlo.negate %x : tensor<5xi8>
  return %0 : tensor<5xi8>
}
"""


@pytest.fixture(scope="module", params=[True, False], ids=["checked", "unchecked"])
def checked(request):
    return request.param


@pytest.fixture(scope="module", params=DRIVERS)
def module(request, checked, iree_compiler):
    if request.param not in hal.available_drivers():
        pytest.skip(f"{request.param} is not available here")
    with hal.create_device(request.param, checked=checked) as dev:
        with iree.load_mlir(ODD, dev, timeout=300) as mod:
            yield mod


def test_odd_length_i1_result(module):
    a = np.array([1, 2, 3], np.int32)
    for call in range(6):
        b = np.array([1 + call % 2, 2 + call % 3, 3], np.int32)
        got = module.compare(a, b, numpy=True)
        np.testing.assert_array_equal(got, a == b, err_msg=f"call {call}")


def test_one_byte_arguments_and_result(module):
    x, y = np.array(7, np.int8), np.array(-9, np.int8)
    for call in range(6):
        a, b = np.array(call % 2, np.int32), np.array(1, np.int32)
        got = module.select(a, b, x, y, numpy=True)
        assert int(got) == (-9 if call % 2 == 1 else 7), f"call {call}"


def test_five_byte_result(module):
    for call in range(4):
        x = np.arange(5, dtype=np.int8) + 10 * call
        np.testing.assert_array_equal(module.negate(x, numpy=True), -x)


def test_results_beside_each_other_stay_separate(module):
    """Results of successive calls share slabs on unchecked devices: one call's word
    access must not change the bytes of another's result."""
    a = np.array([5, 6, 7], np.int32)
    first = module.compare(a, a)
    second = module.compare(a, a + 1)
    np.testing.assert_array_equal(first.to_numpy(np.bool_, (3,)), [True] * 3)
    np.testing.assert_array_equal(second.to_numpy(np.bool_, (3,)), [False] * 3)


# -- the driver's rule, for every user: descriptors cover whole words ---------------------

WORDS = """#version 450
layout(local_size_x = 1) in;
layout(set = 0, binding = 0) readonly buffer In { uint src[]; };
layout(set = 0, binding = 1) buffer Out { uint dst[]; };
void main() {
  // Byte 0 of the input's first word, plus 1, into bytes 0..2 of the output's first
  // word; byte 3 of that word is not the binding's and is kept (masked atomics).
  uint v = (src[0] & 0xFFu) + 1u;
  atomicAnd(dst[0], 0xFF000000u);
  atomicOr(dst[0], v | (v << 8) | (v << 16));
}
"""


@pytest.mark.parametrize("checked", [True, False], ids=["checked", "unchecked"])
def test_vulkan_binds_partial_words(checked):
    if "vulkan" not in hal.available_drivers():
        pytest.skip("vulkan is not available here")
    layout = hal.PipelineLayout(
        [
            hal.DescriptorSetLayout(
                [
                    hal.DescriptorSetLayoutBinding(0, hal.DescriptorFlags.READ_ONLY),
                    hal.DescriptorSetLayoutBinding(1),
                ]
            )
        ]
    )
    with hal.create_device("vulkan", checked=checked) as dev:
        if "glsl" not in dev.info["executable_formats"]:
            pytest.skip("glslangValidator is not installed")
        exe = dev.create_executable(
            hal.ExecutableSource([hal.EntryPoint("words", layout)], {"glsl": WORDS})
        )
        source = dev.allocate_buffer(1)  # one byte: its word is padding polyhal owns
        source.write(np.array([41], np.uint8))
        parent = dev.allocate_buffer(8)
        parent.write(np.full(8, 0xAA, np.uint8))
        for target in (parent.subspan(0, 3), dev.allocate_buffer(3)):
            with dev.create_command_buffer() as cb:
                cb.dispatch(exe, 0, (1, 1, 1), bindings=[(0, source), (1, target)])
            dev.queue_execute(cb)
            dev.wait_idle()
            np.testing.assert_array_equal(target.to_numpy(np.uint8), [42, 42, 42])
        # The byte after the 3-byte subspan shares its word and is another range's.
        np.testing.assert_array_equal(parent.to_numpy(np.uint8)[3:], [0xAA] * 5)
