"""The conformance suite's test executables, each in every kernel format.

An executable is a named list of entry points (name, bindings per descriptor set, push
constant count, workgroup size).  The same names, layouts and workgroup sizes hold in
every format, so a test loads ``"abs"`` and gets whichever format the device takes:

- ``c``      kernels/c/NAME.c, prefixed with kernels/c/abi.h (polyhal.h, the local driver's ABI)
- ``spirv``  kernels/glsl/ENTRY.spv, one module per entry point (build_spirv.sh)
- ``glsl``   kernels/glsl/ENTRY.comp, one module per entry point
- ``cuda``   kernels/cuda/NAME.cu (parameters: bindings in (set, binding) order, then
             each push constant as a 32-bit value)

Every entry point has workgroup size (1, 1, 1) and handles the element at its linear
workgroup id, so the dispatch's workgroup count is the element count in every format.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import polyhal as hal

KERNEL_DIR = Path(__file__).parent / "kernels"


@dataclass(frozen=True)
class Kernel:
    """One entry point: ``sets`` gives the binding count of each descriptor set, and
    ``read_only`` the (set, binding) pairs the kernel only reads."""

    name: str
    sets: tuple[int, ...]
    push_constants: int = 0
    read_only: tuple[tuple[int, int], ...] = ()
    workgroup_size: tuple[int, int, int] = (1, 1, 1)


EXECUTABLES: dict[str, tuple[Kernel, ...]] = {
    "abs": (Kernel("abs_f32", sets=(2,), read_only=((0, 0),)),),
    "write_constants": (Kernel("write_constants", sets=(1,), push_constants=4),),
    "scale_and_offset": (
        Kernel("scale_and_offset", sets=(2,), push_constants=2, read_only=((0, 0),)),
    ),
    "negate_double": (
        Kernel("negate", sets=(2,), read_only=((0, 0),)),
        Kernel("double_values", sets=(2,), read_only=((0, 0),)),
    ),
    "workgroup_ids": (Kernel("write_workgroup_ids", sets=(1,)),),
    "indirect_producer": (Kernel("write_indirect_counts", sets=(1,)),),
    "two_sets": (Kernel("copy_across_sets", sets=(1, 1), read_only=((0, 0),)),),
}


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def _layout(kernel: Kernel) -> hal.PipelineLayout:
    set_layouts = [
        hal.DescriptorSetLayout(
            [
                hal.DescriptorSetLayoutBinding(
                    b,
                    hal.DescriptorFlags.READ_ONLY
                    if (s, b) in kernel.read_only
                    else hal.DescriptorFlags.NONE,
                )
                for b in range(count)
            ]
        )
        for s, count in enumerate(kernel.sets)
    ]
    return hal.PipelineLayout(set_layouts, push_constants=kernel.push_constants)


@cache
def executable_source(name: str) -> hal.ExecutableSource:
    """The ExecutableSource of test executable ``name`` with every format available here.

    Cached, so the entry points' PipelineLayout objects are the same on every call.
    """
    kernels = EXECUTABLES[name]
    entry_points = [
        hal.EntryPoint(k.name, _layout(k), workgroup_size=k.workgroup_size) for k in kernels
    ]
    glsl_dir = KERNEL_DIR / "glsl"
    formats: dict[str, object] = {
        "c": _read(KERNEL_DIR / "c" / "abi.h") + _read(KERNEL_DIR / "c" / f"{name}.c"),
    }
    spirv = {k.name: glsl_dir / f"{k.name}.spv" for k in kernels}
    if all(path.exists() for path in spirv.values()):
        formats["spirv"] = {entry: path.read_bytes() for entry, path in spirv.items()}
    formats["glsl"] = {k.name: _read(glsl_dir / f"{k.name}.comp") for k in kernels}
    formats["cuda"] = _read(KERNEL_DIR / "cuda" / f"{name}.cu")
    return hal.ExecutableSource(entry_points, formats)


def layout(name: str, entry: str | None = None) -> hal.PipelineLayout:
    """The pipeline layout of ``entry`` (default: the first) of executable ``name``."""
    entry_points = executable_source(name).entry_points
    if entry is None:
        return entry_points[0].layout
    return next(e.layout for e in entry_points if e.name == entry)


class KernelCache:
    """Loads each test executable once per device, offering only ``kernel_format`` when
    one is given (to test, say, the GLSL path of a driver that prefers SPIR-V)."""

    def __init__(self, device: hal.Device, kernel_format: str | None = None):
        self.device = device
        self.kernel_format = kernel_format
        self._loaded: dict[str, hal.Executable] = {}

    def __call__(self, name: str) -> hal.Executable:
        if name not in self._loaded:
            source = executable_source(name)
            if self.kernel_format:
                source = hal.ExecutableSource(
                    source.entry_points, {self.kernel_format: source.formats[self.kernel_format]}
                )
            self._loaded[name] = self.device.create_executable(source)
        return self._loaded[name]
