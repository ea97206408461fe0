"""polyhal.spirv, the one SPIR-V reader: a hand-assembled module read in both byte orders,
and malformed modules refused with InvalidArgumentError."""

from __future__ import annotations

import struct

import pytest

from polyhal import InvalidArgumentError, spirv


def _op(opcode: int, *operands: int) -> list[int]:
    return [(len(operands) + 1) << 16 | opcode, *operands]


def _string(text: str) -> list[int]:
    raw = text.encode() + b"\0"
    raw += b"\0" * (-len(raw) % 4)
    return list(struct.unpack(f"<{len(raw) // 4}I", raw))


# A module with one GLCompute entry point "main" of LocalSize 8x4x2, three resource
# variables at (set, binding) (0, 0), (0, 1), (1, 0), and a push-constant block
# struct { vec3 a; /* offset 16 */ int b[4]; } of 32 bytes.
MODULE_WORDS = [
    spirv.MAGIC, 0x00010300, 0, 30, 0,
    *_op(17, 1),                               # OpCapability Shader
    *_op(14, 0, 1),                            # OpMemoryModel Logical GLSL450
    *_op(15, 5, 1, *_string("main")),          # OpEntryPoint GLCompute %1 "main"
    *_op(15, 0, 9, *_string("vertex")),        # a Vertex entry point: not a kernel
    *_op(16, 1, 17, 8, 4, 2),                  # OpExecutionMode %1 LocalSize 8 4 2
    *_op(71, 10, 34, 0), *_op(71, 10, 33, 0),  # %10: set 0, binding 0
    *_op(71, 11, 34, 0), *_op(71, 11, 33, 1),  # %11: set 0, binding 1
    *_op(71, 12, 34, 1), *_op(71, 12, 33, 0),  # %12: set 1, binding 0
    *_op(72, 20, 0, 35, 0),                    # OpMemberDecorate %20 0 Offset 0
    *_op(72, 20, 1, 35, 16),                   # OpMemberDecorate %20 1 Offset 16
    *_op(21, 2, 32, 1),                        # %2 = OpTypeInt 32 signed
    *_op(22, 3, 32),                           # %3 = OpTypeFloat 32
    *_op(23, 4, 3, 3),                         # %4 = OpTypeVector %3 3
    *_op(43, 2, 5, 4),                         # %5 = OpConstant %2 4
    *_op(28, 6, 2, 5),                         # %6 = OpTypeArray %2 %5
    *_op(30, 20, 4, 6),                        # %20 = OpTypeStruct %4 %6
    *_op(32, 21, 9, 20),                       # %21 = OpTypePointer PushConstant %20
    *_op(59, 21, 22, 9),                       # %22 = OpVariable %21 PushConstant
]  # fmt: skip


def _pack(ws: list[int], order: str = "<") -> bytes:
    return struct.pack(f"{order}{len(ws)}I", *ws)


@pytest.mark.parametrize("order", ["<", ">"], ids=["little-endian", "big-endian"])
def test_module_is_read_in_either_byte_order(order):
    code = _pack(MODULE_WORDS, order)
    assert spirv.words(code) == tuple(MODULE_WORDS)
    assert spirv.compute_entry_point_names(code) == ["main"]
    module = spirv.read_module(code)
    assert module.entry_points == (spirv.SpirvEntryPoint("main", (8, 4, 2)),)
    assert module.bindings == {(0, 0), (0, 1), (1, 0)}
    assert module.push_constant_size == 32
    opcodes = [opcode for opcode, _ in spirv.instructions(code)]
    assert opcodes[:3] == [17, 14, 15] and len(opcodes) == 21


def test_entry_point_without_local_size_and_module_without_push_constants():
    code = _pack([spirv.MAGIC, 0x00010000, 0, 4, 0, *_op(15, 5, 1, *_string("k"))])
    module = spirv.read_module(code)
    assert module.entry_points == (spirv.SpirvEntryPoint("k", (1, 1, 1)),)
    assert module.bindings == frozenset() and module.push_constant_size == 0


def test_header_only_module_has_no_entry_points():
    code = _pack([spirv.MAGIC, 0x00010000, 0, 1, 0])
    assert spirv.compute_entry_point_names(code) == []
    assert spirv.read_module(code).entry_points == ()


@pytest.mark.parametrize(
    "code, message",
    [
        (b"", "not a header"),
        (_pack(MODULE_WORDS)[:16], "not a header"),
        (_pack(MODULE_WORDS) + b"\0", "not a header"),
        (_pack([0xDEADBEEF, *MODULE_WORDS[1:]]), "magic 0xdeadbeef"),
        (_pack(MODULE_WORDS[:-1]), "malformed SPIR-V instruction at word"),
        (_pack([*MODULE_WORDS[:5], 0]), "malformed SPIR-V instruction at word 5"),
        (_pack([*MODULE_WORDS[:5], 0xFFFF0011]), "malformed SPIR-V instruction at word 5"),
    ],
    ids=["empty", "short-header", "odd-size", "bad-magic", "truncated", "zero-count", "overlong"],
)
def test_malformed_module_is_invalid_argument(code, message):
    for read in (spirv.read_module, spirv.compute_entry_point_names, spirv.words):
        if read is spirv.words and "instruction" in message:
            continue  # the words are fine; their instructions are not
        with pytest.raises(InvalidArgumentError, match=message):
            read(code)


def test_deeply_nested_push_constant_type_stops_sizing():
    # A struct that contains itself (invalid SPIR-V) must not recurse without end.
    ws = [
        spirv.MAGIC, 0x00010000, 0, 10, 0,
        *_op(30, 5, 5),          # %5 = OpTypeStruct %5
        *_op(32, 6, 9, 5),       # %6 = OpTypePointer PushConstant %5
        *_op(59, 6, 7, 9),       # %7 = OpVariable %6 PushConstant
    ]  # fmt: skip
    assert spirv.read_module(_pack(ws)).push_constant_size == 0
