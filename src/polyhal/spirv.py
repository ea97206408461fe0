"""Reading SPIR-V modules: their words, their instructions and their compute entry points.

A neutral reader with no driver behind it: :mod:`polyhal.iree` reads the modules IREE dumps
with it, and a driver that loads SPIR-V can check a module's structure with it before
handing the module to its API (malformed SPIR-V can crash a driver).  It reads the module's
layout as the SPIR-V specification (section 2.3, "Physical Layout of a SPIR-V Module and
Instruction") defines it; what the instructions mean is ``spirv-val``'s business.

Every function raises InvalidArgumentError for bytes that are not a well-formed module.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass

from .errors import InvalidArgumentError

__all__ = [
    "MAGIC",
    "SpirvEntryPoint",
    "SpirvModule",
    "compute_entry_point_names",
    "instructions",
    "read_module",
    "words",
]

#: The first word of every module, in the module's own byte order.
MAGIC = 0x07230203
#: Words of the header before the first instruction (magic, version, generator, bound, 0).
HEADER_WORDS = 5

# Opcodes, enumerants and storage classes this reader looks at (SPIR-V specification 3.x).
_OP_TYPE_INT = 21
_OP_TYPE_FLOAT = 22
_OP_TYPE_VECTOR = 23
_OP_TYPE_ARRAY = 28
_OP_TYPE_STRUCT = 30
_OP_TYPE_POINTER = 32
_OP_CONSTANT = 43
_OP_VARIABLE = 59
_OP_DECORATE = 71
_OP_MEMBER_DECORATE = 72
_OP_ENTRY_POINT = 15
_OP_EXECUTION_MODE = 16
_EXECUTION_MODEL_GL_COMPUTE = 5
_EXECUTION_MODE_LOCAL_SIZE = 17
_DECORATION_BINDING = 33
_DECORATION_DESCRIPTOR_SET = 34
_DECORATION_OFFSET = 35
_STORAGE_CLASS_PUSH_CONSTANT = 9
# A struct nested deeper than this is malformed (or hostile): stop sizing it.
_MAX_TYPE_DEPTH = 16
# The types whose size the push-constant block's size is made of.
_SIZED_TYPES = frozenset(
    (
        _OP_TYPE_INT,
        _OP_TYPE_FLOAT,
        _OP_TYPE_VECTOR,
        _OP_TYPE_ARRAY,
        _OP_TYPE_STRUCT,
        _OP_TYPE_POINTER,
    )
)


@dataclass(frozen=True)
class SpirvEntryPoint:
    """One GLCompute entry point of a module."""

    name: str
    #: The ``LocalSize`` execution mode, or (1, 1, 1) where the module gives none (a module
    #: may set the size through a specialization constant instead).
    workgroup_size: tuple[int, int, int]


@dataclass(frozen=True)
class SpirvModule:
    """What a module declares for the pipeline layout of its compute entry points."""

    entry_points: tuple[SpirvEntryPoint, ...]
    #: ``(descriptor set, binding)`` of every resource variable of the module.  Module-wide:
    #: the module does not say which entry point uses which (IREE dumps one entry point per
    #: module, where the two are the same).
    bindings: frozenset[tuple[int, int]]
    #: Bytes of the push-constant block, 0 where the module has none.
    push_constant_size: int


def words(code: bytes) -> tuple[int, ...]:
    """The module's 32-bit words, in either byte order (the magic number tells which)."""
    if len(code) < 4 * HEADER_WORDS or len(code) % 4:
        raise InvalidArgumentError(
            f"SPIR-V module of {len(code)} bytes: not a header and whole 32-bit words"
        )
    (first,) = struct.unpack_from("<I", code)
    if first == MAGIC:
        order = "<"
    elif first == struct.unpack("<I", struct.pack(">I", MAGIC))[0]:
        order = ">"
    else:
        raise InvalidArgumentError(f"not SPIR-V: magic {first:#010x}")
    return struct.unpack(f"{order}{len(code) // 4}I", code)


def instructions(code: bytes) -> Iterator[tuple[int, tuple[int, ...]]]:
    """``(opcode, operand words)`` of every instruction after the header, in order."""
    ws = words(code)
    pos = HEADER_WORDS
    while pos < len(ws):
        count, opcode = ws[pos] >> 16, ws[pos] & 0xFFFF
        if count == 0 or pos + count > len(ws):
            raise InvalidArgumentError(f"malformed SPIR-V instruction at word {pos}")
        yield opcode, ws[pos + 1 : pos + count]
        pos += count


def compute_entry_point_names(code: bytes) -> list[str]:
    """Names of the module's GLCompute entry points, in the module's order (maybe none)."""
    return [
        _string(ops[2:])
        for opcode, ops in instructions(code)
        if opcode == _OP_ENTRY_POINT and len(ops) >= 3 and ops[0] == _EXECUTION_MODEL_GL_COMPUTE
    ]


def read_module(code: bytes) -> SpirvModule:
    """The compute entry points, resource bindings and push-constant size of a module."""
    entries: dict[int, str] = {}  # function id -> name
    sizes: dict[int, tuple[int, int, int]] = {}
    sets: dict[int, int] = {}  # variable id -> descriptor set
    binds: dict[int, int] = {}  # variable id -> binding
    types: dict[int, tuple[int, tuple[int, ...]]] = {}  # type id -> (opcode, operands)
    constants: dict[int, int] = {}
    offsets: dict[tuple[int, int], int] = {}  # (struct id, member) -> byte offset
    push_pointer_types: list[int] = []
    for opcode, ops in instructions(code):
        if opcode == _OP_ENTRY_POINT and len(ops) >= 3 and ops[0] == _EXECUTION_MODEL_GL_COMPUTE:
            entries[ops[1]] = _string(ops[2:])
        elif (
            opcode == _OP_EXECUTION_MODE and len(ops) >= 5 and ops[1] == _EXECUTION_MODE_LOCAL_SIZE
        ):
            sizes[ops[0]] = (ops[2], ops[3], ops[4])
        elif opcode == _OP_DECORATE and len(ops) >= 3:
            if ops[1] == _DECORATION_DESCRIPTOR_SET:
                sets[ops[0]] = ops[2]
            elif ops[1] == _DECORATION_BINDING:
                binds[ops[0]] = ops[2]
        elif opcode == _OP_MEMBER_DECORATE and len(ops) >= 4 and ops[2] == _DECORATION_OFFSET:
            offsets[(ops[0], ops[1])] = ops[3]
        elif opcode in _SIZED_TYPES and ops:
            types[ops[0]] = (opcode, ops[1:])
        elif opcode == _OP_CONSTANT and len(ops) >= 3:
            constants[ops[1]] = ops[2]
        elif opcode == _OP_VARIABLE and len(ops) >= 3 and ops[2] == _STORAGE_CLASS_PUSH_CONSTANT:
            push_pointer_types.append(ops[0])

    def size_of(tid: int, depth: int = 0) -> int:
        op, rest = types.get(tid, (0, ()))
        if depth > _MAX_TYPE_DEPTH or not rest:
            return 0
        if op in (_OP_TYPE_INT, _OP_TYPE_FLOAT):
            return rest[0] // 8
        if op == _OP_TYPE_VECTOR and len(rest) >= 2:
            return size_of(rest[0], depth + 1) * rest[1]
        if op == _OP_TYPE_ARRAY and len(rest) >= 2:
            return size_of(rest[0], depth + 1) * constants.get(rest[1], 0)
        if op == _OP_TYPE_STRUCT:
            return max(
                (offsets.get((tid, m), 0) + size_of(t, depth + 1) for m, t in enumerate(rest)),
                default=0,
            )
        return 0

    push_bytes = 0
    for pointer in push_pointer_types:
        op, rest = types.get(pointer, (0, ()))
        if op == _OP_TYPE_POINTER and len(rest) >= 2:  # (storage class, pointee)
            push_bytes = max(push_bytes, size_of(rest[1]))
    return SpirvModule(
        entry_points=tuple(
            SpirvEntryPoint(name, sizes.get(fid, (1, 1, 1))) for fid, name in entries.items()
        ),
        bindings=frozenset((sets.get(var, 0), b) for var, b in binds.items()),
        push_constant_size=push_bytes,
    )


def _string(operands: tuple[int, ...]) -> str:
    # A literal string is UTF-8 packed four bytes a word, first byte in the lowest bits,
    # whatever the module's byte order; it ends at the first NUL.
    raw = struct.pack(f"<{len(operands)}I", *operands)
    return raw.split(b"\0", 1)[0].decode("utf-8", "replace")
