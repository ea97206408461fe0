"""Reading what each kind of IREE binary says about its kernels.

``.so`` system libraries (local driver) tell everything through their export table, read by
loading the library; SPIR-V modules (vulkan) through :mod:`polyhal.spirv`; PTX (cuda)
through its ``.entry`` declarations.  What a binary leaves unsaid is None, for the
benchmark or the compiler to fill in.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
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
    """The compute entry points of a SPIR-V module; each has the module's bindings and
    push constants (IREE writes one entry point per module)."""
    module = spirv.read_module(code)
    return {
        ep.name: BinaryKernel(
            ep.name,
            len(module.bindings),
            (module.push_constant_size + 3) // 4,
            ep.workgroup_size,
        )
        for ep in module.entry_points
    }


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
