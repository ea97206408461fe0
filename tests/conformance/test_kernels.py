"""The test executables themselves: every entry point exists in every format."""

from __future__ import annotations

import re
import struct

import pytest

from .kernels import EXECUTABLES, KERNEL_DIR, executable_source

SPIRV_MAGIC = 0x07230203
OP_ENTRY_POINT = 15


def spirv_entry_points(module: bytes) -> list[str]:
    """The names of a SPIR-V module's OpEntryPoint instructions."""
    words = struct.unpack(f"<{len(module) // 4}I", module)
    assert words[0] == SPIRV_MAGIC
    names, i = [], 5
    while i < len(words):
        count, opcode = words[i] >> 16, words[i] & 0xFFFF
        if opcode == OP_ENTRY_POINT:
            raw = struct.pack(f"<{count - 3}I", *words[i + 3 : i + count])
            names.append(raw.split(b"\0", 1)[0].decode())
        i += count
    return names


@pytest.mark.parametrize("name", sorted(EXECUTABLES))
def test_every_format_has_every_entry_point(name):
    source = executable_source(name)
    entries = [e.name for e in source.entry_points]
    formats = source.formats
    assert set(formats) == {"c", "spirv", "glsl", "cuda"}
    for entry in entries:
        assert re.search(rf"POLYHAL_ENTRY\({entry}\)", formats["c"]), entry
        assert re.search(rf'extern "C" __global__ void {entry}\(', formats["cuda"]), entry
        assert "void main()" in formats["glsl"][entry]
        assert spirv_entry_points(formats["spirv"][entry]) == [entry]


def test_every_glsl_module_is_built():
    glsl = KERNEL_DIR / "glsl"
    sources = {p.stem for p in glsl.glob("*.comp")}
    assert sources == {p.stem for p in glsl.glob("*.spv")}, "run kernels/build_spirv.sh"
    for stem in sources:
        assert (glsl / f"{stem}.spv").stat().st_size > 0
