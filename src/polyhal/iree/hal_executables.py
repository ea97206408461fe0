"""``hal.executable.create`` for polyhal: IREE's executable formats turned into polyhal's.

An IREE module carries each executable as a rodata blob whose format the module names:

- ``system-elf-<arch>`` (``--iree-llvmcpu-link-embedded=false``) and
  ``embedded-elf-<arch>`` (llvm-cpu's default): a shared library with IREE's
  executable-library ABI, polyhal's ``"iree-system-library"`` format on ``local`` and
  ``local-sync``.  The format takes a path, so the bytes go into polyhal's build cache
  (:mod:`polyhal._cache`), named by their hash.
- ``vulkan-spirv-fb``: a flatbuffer (IREE's ``vulkan_executable_def.fbs``, file identifier
  ``VKE1``) of SPIR-V shader modules, pipeline layouts and pipelines; polyhal's ``"spirv"``
  format with each pipeline's descriptor sets and push constants.
- ``cuda-nvptx-fb``: a flatbuffer (``cuda_executable_def.fbs``, ``CDA1``) of PTX modules
  and exports; polyhal's ``"ptx"`` format.

The flatbuffers follow IREE's 64-byte executable header (magic, version, content size).
Anything else, or a flatbuffer feature polyhal has no counterpart for (BDA dispatch ABI,
arrays of descriptors, uniform buffers, several PTX modules), raises UnimplementedError
naming it; malformed bytes raise InvalidArgumentError.
"""

from __future__ import annotations

import platform
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from .. import _cache, spirv
from ..errors import InvalidArgumentError, UnimplementedError
from ..executable import (
    DescriptorSetLayout,
    DescriptorSetLayoutBinding,
    EntryPoint,
    Executable,
    ExecutableSource,
    PipelineLayout,
)
from ..types import DescriptorFlags

if TYPE_CHECKING:
    from ..device import Device

__all__ = [
    "Function",
    "HalExecutable",
    "create_executable",
    "cuda_source",
    "supported_formats",
    "vulkan_source",
]

#: IREE's executable header before a flatbuffer: magic, version, content size, reserved.
_HEADER = struct.Struct("<4sIQ")
_HEADER_SIZE = 64
#: The architecture part of IREE's ``system-elf-<arch>`` for this host's machine name.
_ELF_ARCH = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "arm_64", "arm64": "arm_64"}
_VK_STORAGE_BUFFER = 7
_CUDA_READ_ONLY = 1  # BindingBits.READ_ONLY
_T = TypeVar("_T")


@dataclass(frozen=True)
class Function:
    """How ``hal.command_buffer.dispatch`` binds one exported function.

    ``sets``: for each descriptor set of the layout, in order, the binding numbers that
    dispatch binding ordinals ``first, first + 1, …`` fill; ``None`` when the layout is one
    set whose binding numbers are the ordinals themselves (the common case, bound as is).
    ``name``: the export's name where it differs from the kernel's (a PTX kernel name
    cannot hold the ``.`` of a name such as ``dot_general_matmul_i32.i32.i32_dispatch_0``,
    so IREE names the kernel with ``_`` and keeps the export's name in its debug info,
    which ``hal.executable.lookup.function`` looks for); None otherwise.
    """

    sets: tuple[tuple[int, tuple[int, ...]], ...] | None
    binding_count: int
    name: str | None = None


class HalExecutable:
    """A ``!hal.executable``: the polyhal Executable and how each function binds."""

    __slots__ = ("executable", "functions", "format", "by_name")

    def __init__(self, executable: Executable, functions: Sequence[Function], fmt: str):
        self.executable = executable
        self.functions = tuple(functions)
        self.format = fmt
        #: Function ordinal by the UTF-8 bytes of its name.
        self.by_name = {ep.name.encode(): i for i, ep in enumerate(executable.entry_points)}
        for i, f in enumerate(self.functions):
            if f.name is not None:
                self.by_name.setdefault(f.name.encode(), i)

    def __repr__(self) -> str:
        return f"HalExecutable({self.format!r}, {self.executable!r})"

    def lookup(self, name: str) -> int:
        """The ordinal of the function called ``name`` (NotFoundError if none)."""
        index = self.by_name.get(name.encode())
        return index if index is not None else self.executable.lookup(name)


def host_elf_format() -> str | None:
    """IREE's ``system-elf-<arch>`` name for this host, None on other platforms."""
    arch = _ELF_ARCH.get(platform.machine().lower())
    if arch is None or platform.system() != "Linux":
        return None
    return f"system-elf-{arch}"


def supported_formats(device: Device) -> frozenset[str]:
    """The IREE executable formats this module loads on ``device``."""
    accepted = device.info["executable_formats"]
    out = set()
    elf = host_elf_format()
    if elf is not None and "iree-system-library" in accepted:
        out.add(elf)
        # IREE's embedded ELF (its default for llvm-cpu) is a shared object with no
        # dependencies: the system loader loads it as it loads a system one.
        out.add("embedded-" + elf[len("system-") :])
    if "spirv" in accepted:
        out.add("vulkan-spirv-fb")
    if "ptx" in accepted:
        out.add("cuda-nvptx-fb")
    return frozenset(out)


def create_executable(
    device: Device, fmt: str, data: bytes | memoryview, constants: bytes | None
) -> HalExecutable:
    """Loads IREE executable ``data`` of format ``fmt`` on ``device``.

    ``constants``: the executable-level constants (None or empty: none); only their
    absence is supported.  UnimplementedError for a format the device does not load
    through polyhal, InvalidArgumentError for malformed data.
    """
    if constants:
        raise UnimplementedError(
            f"executable constants ({len(constants)} bytes) for an IREE executable of format "
            f"{fmt!r}: polyhal loads executables without specialization constants"
        )
    if fmt not in supported_formats(device):
        raise UnimplementedError(
            f"IREE executable format {fmt!r} on the {device.driver} driver; it loads "
            f"{sorted(supported_formats(device))}"
        )
    if fmt.startswith(("system-elf-", "embedded-elf-")):
        return _system_library(device, bytes(data), fmt)
    source, functions = (vulkan_source if fmt == "vulkan-spirv-fb" else cuda_source)(bytes(data))
    return HalExecutable(device.create_executable(source), functions, fmt)


def _system_library(device: Device, data: bytes, fmt: str) -> HalExecutable:
    if data[:4] != b"\x7fELF":
        raise InvalidArgumentError(f"{fmt} executable data is not an ELF file")

    def build(path: Path) -> None:
        path.write_bytes(data)

    path = _cache.cached(
        "iree-elf", "so", [data], build, lambda p: p.is_file() and p.stat().st_size == len(data)
    )
    exe = device.create_executable(ExecutableSource([], {"iree-system-library": path}))
    functions = [Function(None, ep.layout.binding_count) for ep in exe.entry_points]
    return HalExecutable(exe, functions, fmt)


# -- flatbuffers ------------------------------------------------------------------------------
class _Table:
    """A flatbuffer table: fields by their index in the schema (absent fields read as the
    schema's default).  Every read is bounds-checked: InvalidArgumentError when not."""

    __slots__ = ("buf", "pos", "fields")

    def __init__(self, buf: bytes, pos: int):
        self.buf = buf
        self.pos = pos
        vtable = pos - _i32(buf, pos)
        vsize = _u16(buf, vtable)
        if vsize < 4 or vsize % 2:
            raise InvalidArgumentError(f"malformed flatbuffer vtable at {vtable}")
        self.fields = [_u16(buf, vtable + 4 + 2 * i) for i in range((vsize - 4) // 2)]

    def _field(self, index: int) -> int:
        return self.fields[index] if index < len(self.fields) else 0

    def scalar(self, index: int, fmt: str, default: int = 0) -> int:
        off = self._field(index)
        if not off:
            return default
        value: int = _unpack(fmt, self.buf, self.pos + off)[0]
        return value

    def struct(self, index: int, fmt: str) -> tuple[int, ...] | None:
        off = self._field(index)
        return _unpack(fmt, self.buf, self.pos + off) if off else None

    def _target(self, index: int) -> int | None:
        off = self._field(index)
        if not off:
            return None
        at = self.pos + off
        return at + _u32(self.buf, at)

    def table(self, index: int) -> _Table | None:
        at = self._target(index)
        return None if at is None else _Table(self.buf, at)

    def string(self, index: int) -> str | None:
        at = self._target(index)
        if at is None:
            return None
        n = _u32(self.buf, at)
        raw = self.buf[at + 4 : at + 4 + n]
        if len(raw) != n:
            raise InvalidArgumentError("flatbuffer string runs past the end")
        return raw.decode("utf-8", "replace")

    def _vector(self, index: int, item: int) -> tuple[int, int]:
        at = self._target(index)
        if at is None:
            return 0, 0
        n = _u32(self.buf, at)
        if at + 4 + n * item > len(self.buf):
            raise InvalidArgumentError("flatbuffer vector runs past the end")
        return at + 4, n

    def tables(self, index: int) -> list[_Table]:
        start, n = self._vector(index, 4)
        return [_Table(self.buf, start + 4 * i + _u32(self.buf, start + 4 * i)) for i in range(n)]

    def scalars(self, index: int, fmt: str) -> tuple[int, ...]:
        size = struct.calcsize("<" + fmt)
        start, n = self._vector(index, size)
        return _unpack(f"{n}{fmt}", self.buf, start) if n else ()

    def structs(self, index: int, fmt: str) -> list[tuple[int, ...]]:
        size = struct.calcsize("<" + fmt)
        start, n = self._vector(index, size)
        return [_unpack(fmt, self.buf, start + i * size) for i in range(n)]

    def blob(self, index: int, item: int) -> bytes:
        start, n = self._vector(index, item)
        return self.buf[start : start + n * item]


def _unpack(fmt: str, buf: bytes, at: int) -> tuple[int, ...]:
    try:
        if at < 0:
            raise struct.error
        return struct.unpack_from("<" + fmt, buf, at)
    except struct.error:
        raise InvalidArgumentError(
            f"flatbuffer read at {at} outside its {len(buf)} bytes"
        ) from None


def _u16(buf: bytes, at: int) -> int:
    return _unpack("H", buf, at)[0]


def _u32(buf: bytes, at: int) -> int:
    return _unpack("I", buf, at)[0]


def _i32(buf: bytes, at: int) -> int:
    return _unpack("i", buf, at)[0]


def _root(data: bytes, identifier: bytes, fmt: str) -> _Table:
    """The root table of an IREE executable flatbuffer (after its 64-byte header)."""
    if len(data) < _HEADER_SIZE:
        raise InvalidArgumentError(f"{fmt} executable of {len(data)} bytes: no header")
    magic, version, size = _HEADER.unpack_from(data)
    if magic != identifier:
        raise InvalidArgumentError(f"{fmt} executable: identifier {magic!r}, not {identifier!r}")
    if version != 0:
        raise UnimplementedError(f"{fmt} executable header version {version} (polyhal reads 0)")
    if not 0 < size <= len(data) - _HEADER_SIZE:
        raise InvalidArgumentError(f"{fmt} executable: content size {size} out of bounds")
    buf = data[_HEADER_SIZE : _HEADER_SIZE + size]
    if buf[4:8] != identifier:
        raise InvalidArgumentError(f"{fmt} flatbuffer identifier {buf[4:8]!r}")
    return _Table(buf, _u32(buf, 0))


# -- vulkan -----------------------------------------------------------------------------------
def vulkan_source(data: bytes) -> tuple[ExecutableSource, list[Function]]:
    """The polyhal source (format ``"spirv"``) of a ``vulkan-spirv-fb`` executable and how
    each of its functions binds."""
    fmt = "vulkan-spirv-fb"
    root = _root(data, b"VKE1", fmt)
    pipelines = root.tables(0)
    set_layouts = root.tables(1)
    pipeline_layouts = root.tables(2)
    modules = [m.blob(0, 4) for m in root.tables(3)]
    entry_points, functions, payload = [], [], {}
    for i, pipeline in enumerate(pipelines):
        name = pipeline.string(1)
        if not name:
            raise InvalidArgumentError(f"{fmt}: pipeline {i} has no entry point name")
        if pipeline.scalar(5, "B"):
            raise UnimplementedError(
                f"{fmt}: pipeline {name!r} uses the buffer-device-address dispatch ABI; "
                "compile with --iree-vulkan-dispatch-abi=descriptors"
            )
        module = _item(modules, pipeline.scalar(0, "I"), "shader module", name)
        layout_def = _item(pipeline_layouts, pipeline.scalar(2, "I"), "pipeline layout", name)
        sets, layouts = [], []
        for set_index, ordinal in enumerate(layout_def.scalars(0, "I")):
            numbers = []
            for b in _item(set_layouts, ordinal, "descriptor set layout", name).tables(0):
                number, kind, count = b.scalar(0, "I"), b.scalar(1, "I"), b.scalar(2, "I")
                if kind != _VK_STORAGE_BUFFER or count != 1:
                    raise UnimplementedError(
                        f"{fmt}: {name!r} set {set_index} binding {number} is descriptor type "
                        f"{kind} x{count}; polyhal binds single storage buffers"
                    )
                numbers.append(number)
            sets.append((set_index, tuple(numbers)))
            layouts.append(
                # IREE's SPIR-V marks no binding NonWritable: none is known read-only.
                DescriptorSetLayout(numbers)
            )
        push_bytes = max((off + size for _, off, size in layout_def.structs(1, "III")), default=0)
        code = spirv.read_module(module)
        size = next((e.workgroup_size for e in code.entry_points if e.name == name), (1, 1, 1))
        entry_points.append(
            EntryPoint(name, PipelineLayout(layouts, (push_bytes + 3) // 4), workgroup_size=size)
        )
        identity = len(sets) == 1 and sets[0][1] == tuple(range(len(sets[0][1])))
        functions.append(Function(None if identity else tuple(sets), sum(len(s[1]) for s in sets)))
        payload[name] = module
    return ExecutableSource(entry_points, {"spirv": payload}), functions


def _item(items: Sequence[_T], index: int, what: str, name: str) -> _T:
    if not 0 <= index < len(items):
        raise InvalidArgumentError(f"{name!r} names {what} {index} of {len(items)}")
    return items[index]


# -- cuda -------------------------------------------------------------------------------------
def cuda_source(data: bytes) -> tuple[ExecutableSource, list[Function]]:
    """The polyhal source (format ``"ptx"``) of a ``cuda-nvptx-fb`` executable and how
    each of its functions binds."""
    fmt = "cuda-nvptx-fb"
    root = _root(data, b"CDA1", fmt)
    exports = root.tables(0)
    modules = [m.string(0) or "" for m in root.tables(1)]
    if len(modules) != 1:
        raise UnimplementedError(
            f"{fmt}: {len(modules)} PTX modules in one executable; polyhal loads one"
        )
    entry_points, functions = [], []
    for i, export in enumerate(exports):
        name = export.string(1)
        if not name:
            raise InvalidArgumentError(f"{fmt}: export {i} has no kernel name")
        if export.scalar(0, "I") != 0:
            raise InvalidArgumentError(f"{fmt}: {name!r} names a PTX module other than 0")
        dims = export.struct(2, "III") or (1, 1, 1)
        flags = export.scalars(5, "Q")
        layout = PipelineLayout(
            [
                DescriptorSetLayout(
                    DescriptorSetLayoutBinding(
                        b,
                        DescriptorFlags.READ_ONLY if f & _CUDA_READ_ONLY else DescriptorFlags.NONE,
                    )
                    for b, f in enumerate(flags)
                )
            ],
            push_constants=export.scalar(4, "I"),
        )
        entry_points.append(
            EntryPoint(
                name,
                layout,
                workgroup_size=(max(1, dims[0]), max(1, dims[1]), max(1, dims[2])),
                local_memory_size=export.scalar(3, "I"),
            )
        )
        debug = export.table(6)  # iree.hal.debug.ExportDef: its name (field 0)
        alias = debug.string(0) if debug is not None else None
        functions.append(Function(None, len(flags), alias if alias != name else None))
    return ExecutableSource(entry_points, {"ptx": modules[0]}), functions
