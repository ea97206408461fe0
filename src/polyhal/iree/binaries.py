"""Reading what each kind of IREE binary says about its kernels.

``.so`` system libraries (local driver) tell everything through their export table, read by
loading the library; SPIR-V modules (vulkan) through :mod:`polyhal.spirv`; PTX (cuda)
through its ``.entry`` declarations.  What a binary leaves unsaid is None, for the
benchmark or the compiler to fill in.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .. import spirv
from ..errors import HalError, InvalidArgumentError


@dataclass(frozen=True)
class BinaryKernel:
    """One kernel as its binary declares it."""

    name: str
    binding_count: int | None
    constant_count: int | None
    workgroup_size: tuple[int, int, int] | None
    local_memory_size: int = 0
    #: Binding index → the unit, in bytes, in which the kernel reads and writes it, where
    #: more than a byte: a range bound there must be a whole number of units.
    binding_granularity: Mapping[int, int] = field(default_factory=dict)


def read_kernels(fmt: str, path: Path) -> dict[str, BinaryKernel]:
    """Name → kernel for every kernel in the binary at ``path`` of polyhal format ``fmt``."""
    if fmt == "spirv":
        return spirv_kernels(path.read_bytes())
    if fmt == "ptx":
        return ptx_kernels(path.read_text(encoding="utf-8", errors="replace"))
    return system_library_kernels(path)


def system_library_kernels(path: Path) -> dict[str, BinaryKernel]:
    """The export table of an IREE system library, read by loading it (which only a host
    of the library's architecture can)."""
    # The local driver's loader is the one reader of the library ABI (a public name of
    # the driver package).
    from ..drivers.local import load_iree_system_library

    try:
        lib = load_iree_system_library(path)
    except HalError as e:
        raise InvalidArgumentError(f"cannot read the exports of {str(path)!r}: {e}") from None
    try:
        return {
            e.name: BinaryKernel(
                e.name, e.binding_count, e.constant_count, e.workgroup_size, e.local_memory_size
            )
            for e in lib.exports
        }
    finally:
        lib.close()


def spirv_kernels(code: bytes) -> dict[str, BinaryKernel]:
    """The compute entry points of a SPIR-V module; each has the module's bindings, push
    constants and binding granularity (IREE writes one entry point per module)."""
    module = spirv.read_module(code)
    granularity = spirv_binding_strides(code)
    return {
        ep.name: BinaryKernel(
            ep.name,
            len(module.bindings),
            (module.push_constant_size + 3) // 4,
            ep.workgroup_size,
            binding_granularity=granularity,
        )
        for ep in module.entry_points
    }


# SPIR-V opcodes, decorations and the storage class read by spirv_binding_strides.
_OP_TYPE_ARRAY = 28
_OP_TYPE_RUNTIME_ARRAY = 29
_OP_TYPE_STRUCT = 30
_OP_TYPE_POINTER = 32
_OP_VARIABLE = 59
_OP_DECORATE = 71
_DECORATION_ARRAY_STRIDE = 6
_DECORATION_BINDING = 33
_STORAGE_CLASS_STORAGE_BUFFER = 12


def spirv_binding_strides(code: bytes) -> dict[int, int]:
    """Binding → the largest array stride through which the module's storage buffers at
    that binding are accessed, where larger than a byte.

    A shader reads and writes a storage buffer as an array of its element type: IREE
    writes i8 data without 8-bit storage as ``i32`` words, vectorized f32 as ``vec4``.  A
    descriptor range that ends inside an element leaves that element out of bounds, so
    with robust buffer access (lavapipe, most drivers' defaults) its loads read 0 and its
    stores are dropped: the tail of an odd-sized i8 tensor is lost.  Ranges must be whole
    elements."""
    pointers: dict[int, tuple[int, int]] = {}  # pointer type → (storage class, pointee)
    structs: dict[int, tuple[int, ...]] = {}  # struct type → member types
    arrays: set[int] = set()
    strides: dict[int, int] = {}  # array type → stride
    variables: dict[int, int] = {}  # variable → pointer type (storage buffers)
    bindings: dict[int, int] = {}  # variable → binding
    for opcode, ops in spirv.instructions(code):
        if opcode == _OP_TYPE_POINTER and len(ops) >= 3:
            pointers[ops[0]] = (ops[1], ops[2])
        elif opcode == _OP_TYPE_STRUCT and ops:
            structs[ops[0]] = ops[1:]
        elif opcode in (_OP_TYPE_ARRAY, _OP_TYPE_RUNTIME_ARRAY) and ops:
            arrays.add(ops[0])
        elif opcode == _OP_DECORATE and len(ops) >= 3:
            if ops[1] == _DECORATION_ARRAY_STRIDE:
                strides[ops[0]] = ops[2]
            elif ops[1] == _DECORATION_BINDING:
                bindings[ops[0]] = ops[2]
        elif opcode == _OP_VARIABLE and len(ops) >= 3:
            if ops[2] == _STORAGE_CLASS_STORAGE_BUFFER:
                variables[ops[1]] = ops[0]
    out: dict[int, int] = {}
    for var, pointer in variables.items():
        _, pointee = pointers.get(pointer, (0, 0))
        # IREE's storage buffers are a struct whose one member is the (runtime) array.
        members = [m for m in structs.get(pointee, ()) if m in arrays]
        stride = max((strides.get(m, 1) for m in members), default=1)
        if var in bindings and stride > 1:
            out[bindings[var]] = max(out.get(bindings[var], 1), stride)
    return out


# PTX has no parser to call from Python; its entry declarations are regular enough to read
# directly: ``.entry name(.param .u64 .ptr ... p0, .param .u32 p1) .reqntid 32, 8, 1 {``.
_PTX_ENTRY = re.compile(r"\.entry\s+([A-Za-z_$][\w$]*)\s*\(([^)]*)\)", re.S)
_PTX_NTID = re.compile(r"\.(?:reqntid|maxntid)\s+(\d+)(?:\s*,\s*(\d+))?(?:\s*,\s*(\d+))?")


def ptx_kernels(text: str) -> dict[str, BinaryKernel]:
    """The ``.entry`` kernels of PTX: 64-bit parameters are bindings (IREE passes each as a
    pointer), the others push constants; ``.reqntid``/``.maxntid`` the workgroup size."""
    out: dict[str, BinaryKernel] = {}
    for m in _PTX_ENTRY.finditer(text):
        params = [p.strip() for p in m.group(2).split(",") if p.strip()]
        pointers = sum(1 for p in params if ".ptr" in p or ".u64" in p)
        # The directives between the parameter list and the body's '{'.
        brace = text.find("{", m.end())
        n = _PTX_NTID.search(text[m.end() : brace if brace != -1 else len(text)])
        size = None
        if n:
            x, y, z = (int(v) if v else 1 for v in n.groups())
            size = (x, y, z)
        name = m.group(1)
        out[name] = BinaryKernel(name, pointers, len(params) - pointers, size)
    return out
