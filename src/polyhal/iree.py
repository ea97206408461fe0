"""Running what IREE's compiler produces on polyhal.

IREE (``pip install iree-base-compiler``, or ``polyhal[iree]``) compiles MLIR programs into
*dispatches*: kernels plus the workgroup count each is launched with.  Asked to, it dumps every
kernel binary (``--iree-hal-dump-executable-binaries-to``) and a standalone benchmark per
dispatch (``--iree-hal-dump-executable-benchmarks-to``) that records the dispatch's pipeline
layout, its bindings and, once its count region is resolved, its workgroup count.  This module
turns such a dump into polyhal objects::

    dump = polyhal.iree.compile_mlir(source, "out", driver=device.driver)   # or load_dump(...)
    executables = dump.create_executables(device)
    d = dump.dispatch("matmul")
    with device.create_command_buffer() as cb:
        d.record(cb, executables, [lhs, rhs, out])

The binary format follows the driver: ``.so`` system libraries for ``local``
(format ``"iree-system-library"``), ``.spv`` SPIR-V for ``vulkan`` (``"spirv"``), ``.ptx`` for
``cuda`` (``"ptx"``).  Nothing here depends on a driver being present.

Alignment: IREE kernels assume every binding starts on a 64-byte boundary (their binding
subspans carry ``alignment(64)``); keep binding offsets multiples of 64.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import importlib.util
import json
import os
import re
import shutil
import struct
import subprocess
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import (
    FailedPreconditionError,
    InvalidArgumentError,
    NotFoundError,
    UnavailableError,
)
from .executable import (
    DescriptorSetLayout,
    DescriptorSetLayoutBinding,
    EntryPoint,
    ExecutableSource,
    PipelineLayout,
)
from .types import DescriptorFlags

__all__ = [
    "BindingInfo",
    "IreeDispatch",
    "IreeDump",
    "IreeExecutable",
    "compile_flags",
    "compile_mlir",
    "compiler_available",
    "compiler_version",
    "find_iree_compile",
    "load_dump",
    "load_saved",
]

#: polyhal format name for each driver's IREE binaries, and the dumped files' suffix.
DRIVER_FORMATS = {"local": "iree-system-library", "vulkan": "spirv", "cuda": "ptx"}
FORMAT_SUFFIXES = {"iree-system-library": ".so", "spirv": ".spv", "ptx": ".ptx"}
_SUFFIX_DRIVERS = {".so": "local", ".spv": "vulkan", ".ptx": "cuda"}
#: Byte alignment IREE kernels assume for every binding's base address.
BINDING_ALIGNMENT = 64

_NUMPY_DTYPES = {
    "f16": "float16", "f32": "float32", "f64": "float64",
    "i1": "bool", "i8": "int8", "i16": "int16", "i32": "int32", "i64": "int64",
    "si8": "int8", "si16": "int16", "si32": "int32", "si64": "int64",
    "ui8": "uint8", "ui16": "uint16", "ui32": "uint32", "ui64": "uint64",
    "index": "int64",
}  # fmt: skip


# --------------------------------------------------------------------------------------------
# The compiler
# --------------------------------------------------------------------------------------------


def compiler_available() -> bool:
    """Whether ``iree-base-compiler`` (or an ``iree-compile`` on PATH) is installed."""
    try:
        find_iree_compile()
        return True
    except UnavailableError:
        return False


def find_iree_compile() -> str:
    """Path of the ``iree-compile`` tool (the Python package's own first, then PATH)."""
    env = os.environ.get("IREE_COMPILE")
    if env and os.path.exists(env):
        return env
    if importlib.util.find_spec("iree") is not None:
        try:
            if importlib.util.find_spec("iree.compiler") is not None:
                from iree.compiler.tools import binaries  # type: ignore[import-not-found]

                path = binaries.find_tool("iree-compile")
                if path:
                    return str(path)
        except Exception:
            pass
    path = shutil.which("iree-compile")
    if path:
        return path
    raise UnavailableError(
        "iree-compile is not installed: pip install iree-base-compiler (or polyhal[iree])"
    )


def compiler_version() -> str | None:
    """The installed iree-base-compiler version, or None."""
    try:
        from importlib.metadata import version

        return version("iree-base-compiler")
    except Exception:
        return None


def compile_flags(
    driver: str,
    *,
    cpu: str = "host",
    cuda_target: str = "sm_80",
    vulkan_target: str | None = None,
) -> list[str]:
    """The ``iree-compile`` target flags that make binaries polyhal's ``driver`` can run."""
    base = _base_driver(driver)
    if base == "local":
        return [
            "--iree-hal-target-device=local",
            "--iree-hal-local-target-device-backends=llvm-cpu",
            "--iree-llvmcpu-link-embedded=false",
            f"--iree-llvmcpu-target-cpu={cpu}",
        ]
    if base == "vulkan":
        flags = ["--iree-hal-target-device=vulkan", "--iree-vulkan-dispatch-abi=descriptors"]
        if vulkan_target:
            flags.append(f"--iree-vulkan-target={vulkan_target}")
        return flags
    if base == "cuda":
        return ["--iree-hal-target-device=cuda", f"--iree-cuda-target={cuda_target}"]
    raise InvalidArgumentError(
        f"IREE executables exist for the drivers {sorted(DRIVER_FORMATS)}, not {driver!r}"
    )


def compile_mlir(
    source: str | os.PathLike[str],
    output_dir: str | os.PathLike[str],
    *,
    driver: str = "local",
    flags: Sequence[str] = (),
    target_flags: Sequence[str] | None = None,
    resolve_workgroups: bool = True,
    timeout: float | None = 600,
) -> IreeDump:
    """Compile an MLIR module with iree-compile and load the dump it leaves in ``output_dir``.

    ``source`` is MLIR text or a path to a ``.mlir`` file.  ``output_dir`` receives
    ``binaries/``, ``benchmarks/``, ``sources/`` and ``module.vmfb``.  ``target_flags`` replaces
    :func:`compile_flags` (``driver``'s defaults); ``flags`` are appended.  A compile error
    raises InvalidArgumentError carrying the compiler's message.
    """
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    src = _source_path(source, out)
    bins, benches, sources = out / "binaries", out / "benchmarks", out / "sources"
    for d in (bins, benches, sources):
        if d.exists():
            shutil.rmtree(d)
    tflags = list(target_flags) if target_flags is not None else compile_flags(driver)
    cmd = [
        find_iree_compile(),
        str(src),
        *tflags,
        f"--iree-hal-dump-executable-binaries-to={bins}",
        f"--iree-hal-dump-executable-benchmarks-to={benches}",
        f"--iree-hal-dump-executable-sources-to={sources}",
        *flags,
        "-o",
        str(out / "module.vmfb"),
    ]
    _run_compiler(cmd, timeout, what=f"compiling {src}")
    return load_dump(
        bins,
        benches if benches.exists() else None,
        driver=driver,
        sources_dir=sources if sources.exists() else None,
        resolve_workgroups=resolve_workgroups,
        timeout=timeout,
    )


def _source_path(source: str | os.PathLike[str], out: Path) -> Path:
    if isinstance(source, os.PathLike) or (
        isinstance(source, str) and "\n" not in source and source.endswith((".mlir", ".mlirbc"))
    ):
        path = Path(source)
        if not path.exists():
            raise InvalidArgumentError(f"no MLIR file {str(path)!r}")
        return path
    path = out / "module.mlir"
    path.write_text(str(source), encoding="utf-8")
    return path


def _run_compiler(cmd: list[str], timeout: float | None, *, what: str) -> str:
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise InvalidArgumentError(f"iree-compile timed out after {timeout}s {what}") from None
    except OSError as e:
        raise UnavailableError(f"cannot run iree-compile: {e}") from None
    if proc.returncode != 0:
        message = _compiler_errors(proc.stderr)
        raise InvalidArgumentError(f"iree-compile failed {what}:\n{message}")
    return proc.stdout


def _compiler_errors(stderr: str) -> str:
    # iree-compile prints long CPU-target warnings; keep the error lines when there are any.
    lines = stderr.splitlines()
    errors = [ln for ln in lines if "error" in ln.lower()]
    text = "\n".join(errors if errors else lines)
    return text[-8000:]


# --------------------------------------------------------------------------------------------
# Dump contents
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BindingInfo:
    """One binding of a dispatch: where IREE's benchmark put it and what the kernel reads."""

    index: int
    read_only: bool = False
    #: Bytes the benchmark bound (the exact tensor size for static shapes), or None.
    length: int | None = None
    #: Element type as MLIR spells it ("f32") and as numpy does ("float32"), when known.
    element_type: str | None = None
    dtype: str | None = None
    #: Static shape of the tensor the kernel sees, when known.
    shape: tuple[int, ...] | None = None


@dataclass
class IreeDispatch:
    """One dispatch: which kernel, its layout, its bindings and its workgroup count."""

    name: str
    executable: IreeExecutable
    entry_point: EntryPoint
    bindings: tuple[BindingInfo, ...] = ()
    #: (x, y, z), or None when the dump does not say (no benchmark, dynamic shapes).
    workgroup_count: tuple[int, int, int] | None = None
    #: Push constants the benchmark passes, when it passes any.
    constants: tuple[int, ...] = ()
    benchmark: Path | None = None
    #: Bytes of workgroup-local memory the kernel needs at launch (CUDA: dynamic shared
    #: memory, which IREE's PTX declares as ``extern .shared``; CPU: ``local_memory``).
    local_memory_size: int = 0

    @property
    def constant_count(self) -> int:
        return self.entry_point.layout.push_constants

    @property
    def binding_count(self) -> int:
        return len(self.entry_point.layout.binding_slots)

    def record(
        self,
        command_buffer: Any,
        executables: Mapping[str, Any] | Any,
        buffers: Sequence[Any],
        *,
        constants: Sequence[int] | None = None,
        workgroup_count: Sequence[int] | int | None = None,
    ) -> None:
        """Record this dispatch into ``command_buffer``.

        ``executables``: the mapping :meth:`IreeDump.create_executables` returns, or the one
        ``hal.Executable`` holding this entry point.  ``buffers``: one per binding, in binding
        order — a Buffer, ``hal.Slot`` or ``(buffer, offset[, length])``.
        """
        exe = executables[self.executable.name] if isinstance(executables, Mapping) else executables
        counts = workgroup_count if workgroup_count is not None else self.workgroup_count
        if counts is None:
            raise FailedPreconditionError(
                f"dispatch {self.name!r} has no known workgroup count (no benchmark was dumped "
                f"for it); pass workgroup_count="
            )
        if len(buffers) != self.binding_count:
            raise InvalidArgumentError(
                f"dispatch {self.name!r} takes {self.binding_count} bindings, got {len(buffers)}"
            )
        values = list(constants if constants is not None else self.constants)
        if len(values) != self.constant_count:
            raise InvalidArgumentError(
                f"dispatch {self.name!r} takes {self.constant_count} push constants, "
                f"got {len(values)}"
            )
        bindings = []
        for i, b in enumerate(buffers):
            bindings.append((i, *b) if isinstance(b, tuple) else (i, b))
        command_buffer.dispatch(
            exe,
            self.name,
            tuple(counts) if not isinstance(counts, int) else counts,
            constants=values if values else None,
            bindings=bindings,
        )


@dataclass
class IreeExecutable:
    """One polyhal executable made from dumped binaries (a linked .so / .ptx, or SPIR-V)."""

    name: str
    format: str
    paths: tuple[Path, ...]
    entry_points: list[EntryPoint] = field(default_factory=list)

    @property
    def source(self) -> ExecutableSource:
        """The ``hal.ExecutableSource`` to pass to ``device.create_executable``."""
        if self.format == "spirv":
            payload: Any = {}
            for p in self.paths:
                blob = p.read_bytes()
                for name in _spirv_entry_points(blob):
                    payload[name] = blob
        elif self.format == "ptx":
            payload = self.paths[0].read_text(encoding="utf-8")
        else:
            payload = str(self.paths[0])
        return ExecutableSource(list(self.entry_points), {self.format: payload})


class IreeDump:
    """The executables and dispatches of one IREE compilation, for one driver."""

    def __init__(
        self,
        driver: str,
        executables: Sequence[IreeExecutable],
        dispatches: Sequence[IreeDispatch],
    ):
        self.driver = driver
        self.format = DRIVER_FORMATS[driver]
        self.executables: dict[str, IreeExecutable] = {e.name: e for e in executables}
        self.dispatches: dict[str, IreeDispatch] = {d.name: d for d in dispatches}

    def dispatch(self, name: str) -> IreeDispatch:
        """The dispatch called ``name``, else the only one whose name contains it."""
        if name in self.dispatches:
            return self.dispatches[name]
        matches = [d for n, d in self.dispatches.items() if name in n]
        if len(matches) == 1:
            return matches[0]
        if not matches:
            raise NotFoundError(
                f"no dispatch matches {name!r}; the dump has {list(self.dispatches)}"
            )
        raise InvalidArgumentError(
            f"{name!r} matches several dispatches: {[d.name for d in matches]}"
        )

    def create_executables(self, device: Any) -> dict[str, Any]:
        """``device.create_executable`` for every executable; name → ``hal.Executable``."""
        return {name: device.create_executable(e.source) for name, e in self.executables.items()}

    def __iter__(self):
        return iter(self.dispatches.values())

    def __len__(self) -> int:
        return len(self.dispatches)

    def __repr__(self) -> str:
        return (
            f"IreeDump(driver={self.driver!r}, executables={list(self.executables)}, "
            f"dispatches={list(self.dispatches)})"
        )

    def save(self, directory: str | os.PathLike[str]) -> Path:
        """Writes the binaries and a ``manifest.json`` of every resolved dispatch into
        ``directory``, so :func:`load_saved` can run them where no compiler is installed
        (a GPU machine, say).  Returns the manifest's path."""
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        executables = []
        for e in self.executables.values():
            files = []
            for i, path in enumerate(e.paths):
                name = f"{e.name}.{i}{path.suffix}"
                shutil.copyfile(path, out / name)
                files.append(name)
            executables.append({"name": e.name, "format": e.format, "files": files,
                                "entry_points": [_entry_point_json(ep) for ep in e.entry_points]})
        dispatches = [{
            "name": d.name, "executable": d.executable.name,
            "entry_point": _entry_point_json(d.entry_point),
            "bindings": [dataclasses.asdict(b) for b in d.bindings],
            "workgroup_count": d.workgroup_count, "constants": list(d.constants),
            "local_memory_size": d.local_memory_size,
        } for d in self.dispatches.values()]
        manifest = out / "manifest.json"
        manifest.write_text(json.dumps({"driver": self.driver, "executables": executables,
                                        "dispatches": dispatches}, indent=1))
        return manifest


# --------------------------------------------------------------------------------------------
# load_dump
# --------------------------------------------------------------------------------------------


def load_dump(
    binaries_dir: str | os.PathLike[str],
    benchmarks_dir: str | os.PathLike[str] | None = None,
    *,
    driver: Any = None,
    sources_dir: str | os.PathLike[str] | None = None,
    resolve_workgroups: bool = True,
    timeout: float | None = 600,
) -> IreeDump:
    """Load the executables IREE dumped into ``binaries_dir`` for one polyhal driver.

    ``driver``: a driver name ("local", "vulkan", "cuda", "local-sync", "vulkan:1", …) or a
    Device; None picks the only kind of binary present.  ``benchmarks_dir`` (the dump of
    ``--iree-hal-dump-executable-benchmarks-to``) supplies layouts, bindings and workgroup
    counts; where a benchmark leaves the count to the compiler (IREE 3.x does), each benchmark
    is compiled with ``iree-compile --compile-to=hal`` to read it, unless
    ``resolve_workgroups`` is False.  Without benchmarks, entry points come from the binaries
    alone and dispatches have no workgroup count.
    """
    bdir = Path(binaries_dir)
    if not bdir.is_dir():
        raise InvalidArgumentError(f"no binaries directory {str(bdir)!r}")
    base = _pick_driver(bdir, driver)
    fmt = DRIVER_FORMATS[base]
    files = sorted(p for p in bdir.iterdir() if p.suffix == FORMAT_SUFFIXES[fmt])
    if not files:
        raise NotFoundError(
            f"{str(bdir)!r} holds no {FORMAT_SUFFIXES[fmt]} binaries for the {base} driver"
        )

    # What each binary holds: entry point name → (path, info from the binary).
    binary_info: dict[str, tuple[Path, dict[str, Any]]] = {}
    for path in files:
        for name, info in _binary_entry_points(fmt, path).items():
            binary_info.setdefault(name, (path, info))

    # What the benchmarks say: per export name.
    bench: dict[str, dict[str, Any]] = {}
    if benchmarks_dir is not None:
        bench_files = sorted(Path(benchmarks_dir).glob("*.mlir"))
        parsed = [_parse_benchmark(p) for p in bench_files]
        if resolve_workgroups:
            todo = [p for p in parsed if p and p.get("workgroup_count") is None]
            if todo:
                _resolve_workgroup_counts(todo, timeout)
        for p in parsed:
            if p:
                bench[p["export"]] = p

    # Source listings fill in binding shapes when benchmarks are absent.
    source_bindings: dict[str, dict[int, BindingInfo]] = {}
    source_layouts: dict[str, tuple[int, int, dict[int, bool]]] = {}
    if sources_dir is not None:
        for p in sorted(Path(sources_dir).glob("*.mlir")):
            text = p.read_text(encoding="utf-8", errors="replace")
            for name, layout_text, body in _exports_with_bodies(text):
                source_bindings[name] = _binding_types(body)
                source_layouts[name] = _layout_counts(layout_text)

    groups: dict[Path, list[EntryPoint]] = {}
    dispatches: list[tuple[Path, IreeDispatch]] = []
    for name, (path, info) in binary_info.items():
        b = bench.get(name)
        if b is not None:
            n_bindings, n_constants = b["binding_count"], b["constant_count"]
            flags = b["binding_flags"]
        elif name in source_layouts:
            n_bindings, n_constants, flags = source_layouts[name]
        else:
            n_bindings, n_constants = info.get("binding_count"), info.get("constant_count")
            flags = {}
            if n_bindings is None or n_constants is None:
                raise InvalidArgumentError(
                    f"cannot tell the layout of {name!r} in {str(path)!r} without its benchmark"
                )
        layout = PipelineLayout(
            [
                DescriptorSetLayout(
                    DescriptorSetLayoutBinding(
                        i,
                        DescriptorFlags.READ_ONLY if flags.get(i) else DescriptorFlags.NONE,
                    )
                    for i in range(n_bindings)
                )
            ],
            push_constants=n_constants,
        )
        size = info.get("workgroup_size") or (b or {}).get("workgroup_size") or (1, 1, 1)
        local_memory = max(
            int(info.get("local_memory_size") or 0), int((b or {}).get("local_memory_size") or 0)
        )
        ep = _entry_point(name, layout, size, local_memory)
        groups.setdefault(path, []).append(ep)
        types = dict(source_bindings.get(name, {}))
        if b is not None:
            types.update(b["binding_types"])
        lengths = b["binding_lengths"] if b is not None else {}
        binding_infos = tuple(
            _binding_info(i, bool(flags.get(i)), lengths.get(i), types.get(i))
            for i in range(n_bindings)
        )
        dispatches.append(
            (
                path,
                IreeDispatch(
                    name=name,
                    executable=None,  # type: ignore[arg-type]  # set below
                    entry_point=ep,
                    bindings=binding_infos,
                    workgroup_count=b.get("workgroup_count") if b is not None else None,
                    constants=tuple(b.get("constants") or ()) if b is not None else (),
                    benchmark=b.get("path") if b is not None else None,
                    local_memory_size=local_memory,
                ),
            )
        )

    executables: dict[Path, IreeExecutable] = {}
    if fmt == "spirv":
        # One module per entry point: gather them into one executable.
        one = IreeExecutable(
            name=_common_name(files),
            format=fmt,
            paths=tuple(groups),
            entry_points=[ep for eps in groups.values() for ep in eps],
        )
        executables = {p: one for p in groups}
    else:
        for path, eps in groups.items():
            executables[path] = IreeExecutable(
                name=_executable_name(path), format=fmt, paths=(path,), entry_points=eps
            )
    for path, d in dispatches:
        d.executable = executables[path]
    unique = list({id(e): e for e in executables.values()}.values())
    return IreeDump(base, unique, [d for _, d in dispatches])


def _entry_point_json(ep: EntryPoint) -> dict[str, Any]:
    return {"name": ep.name, "workgroup_size": list(ep.workgroup_size),
            "local_memory_size": getattr(ep, "local_memory_size", 0),
            "push_constants": ep.layout.push_constants,
            "sets": [[[b.index, int(b.flags)] for b in s.bindings]
                     for s in ep.layout.set_layouts]}


def _entry_point_from_json(data: Mapping[str, Any]) -> EntryPoint:
    layout = PipelineLayout(
        [DescriptorSetLayout([DescriptorSetLayoutBinding(i, DescriptorFlags(f)) for i, f in s])
         for s in data["sets"]], push_constants=data["push_constants"])
    return _entry_point(data["name"], layout, data["workgroup_size"],
                        data.get("local_memory_size", 0))


def load_saved(directory: str | os.PathLike[str]) -> IreeDump:
    """An :class:`IreeDump` written by :meth:`IreeDump.save`; needs no compiler."""
    root = Path(directory)
    try:
        manifest = json.loads((root / "manifest.json").read_text())
    except (OSError, ValueError) as e:
        raise InvalidArgumentError(f"no readable manifest.json in {root}: {e}") from None
    executables = {
        e["name"]: IreeExecutable(e["name"], e["format"], tuple(root / f for f in e["files"]),
                                  [_entry_point_from_json(ep) for ep in e["entry_points"]])
        for e in manifest["executables"]}
    dispatches = []
    for d in manifest["dispatches"]:
        bindings = tuple(
            BindingInfo(b["index"], b["read_only"], b["length"], b["element_type"], b["dtype"],
                        tuple(b["shape"]) if b["shape"] is not None else None)
            for b in d["bindings"])
        count = d["workgroup_count"]
        dispatches.append(IreeDispatch(
            d["name"], executables[d["executable"]], _entry_point_from_json(d["entry_point"]),
            bindings, tuple(count) if count is not None else None, tuple(d["constants"]),
            None, d["local_memory_size"]))
    return IreeDump(manifest["driver"], list(executables.values()), dispatches)


def _entry_point(name: str, layout: PipelineLayout, size: Any, local_memory: int) -> EntryPoint:
    """An EntryPoint; carries ``local_memory_size`` where polyhal's EntryPoint has the field."""
    fields = getattr(EntryPoint, "__dataclass_fields__", {})
    if local_memory and "local_memory_size" in fields:
        return EntryPoint(name, layout, workgroup_size=tuple(size),  # type: ignore[call-arg]
                          local_memory_size=local_memory)
    return EntryPoint(name, layout, workgroup_size=tuple(size))


def _binding_info(index: int, read_only: bool, length: int | None, typ: BindingInfo | None):
    if typ is None:
        return BindingInfo(index, read_only, length)
    return BindingInfo(index, read_only, length, typ.element_type, typ.dtype, typ.shape)


def _base_driver(driver: Any) -> str:
    name = getattr(driver, "driver", driver)
    if not isinstance(name, str):
        raise InvalidArgumentError(f"driver must be a name or a Device, got {driver!r}")
    base = name.split(":", 1)[0]
    if base == "local-sync":
        base = "local"
    return base


def _pick_driver(bdir: Path, driver: Any) -> str:
    if driver is not None:
        base = _base_driver(driver)
        if base not in DRIVER_FORMATS:
            raise InvalidArgumentError(
                f"IREE executables exist for the drivers {sorted(DRIVER_FORMATS)}, not {base!r}"
            )
        return base
    kinds = {_SUFFIX_DRIVERS[p.suffix] for p in bdir.iterdir() if p.suffix in _SUFFIX_DRIVERS}
    if len(kinds) == 1:
        return kinds.pop()
    if not kinds:
        raise NotFoundError(f"{str(bdir)!r} holds no .so, .spv or .ptx binaries")
    raise InvalidArgumentError(
        f"{str(bdir)!r} holds binaries for {sorted(kinds)}; pass driver= to choose"
    )


def _executable_name(path: Path) -> str:
    stem = path.stem
    return stem[len("module_"):] if stem.startswith("module_") else stem


def _common_name(files: Sequence[Path]) -> str:
    return os.path.commonprefix([_executable_name(p) for p in files]).rstrip("_") or "spirv"


# --------------------------------------------------------------------------------------------
# Binaries
# --------------------------------------------------------------------------------------------


def _binary_entry_points(fmt: str, path: Path) -> dict[str, dict[str, Any]]:
    if fmt == "spirv":
        blob = path.read_bytes()
        return _spirv_entry_points(blob)
    if fmt == "ptx":
        return _ptx_entry_points(path.read_text(encoding="utf-8", errors="replace"))
    return _system_library_entry_points(path)


def _system_library_entry_points(path: Path) -> dict[str, dict[str, Any]]:
    # Read the export table by loading the library (cheap); only where the host can.
    from .drivers.local.iree_library import load_iree_system_library

    try:
        lib = load_iree_system_library(path)
    except Exception as e:
        raise InvalidArgumentError(f"cannot read the exports of {str(path)!r}: {e}") from None
    try:
        return {
            e.name: {
                "binding_count": e.binding_count,
                "constant_count": e.constant_count,
                "workgroup_size": e.workgroup_size,
                "local_memory_size": e.local_memory_size,
            }
            for e in lib.exports
        }
    finally:
        lib.close()


_PTX_ENTRY = re.compile(r"\.entry\s+([A-Za-z_$][\w$]*)\s*\(([^)]*)\)", re.S)
_PTX_NTID = re.compile(r"\.(?:reqntid|maxntid)\s+(\d+)(?:\s*,\s*(\d+))?(?:\s*,\s*(\d+))?")


def _ptx_entry_points(text: str) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for m in _PTX_ENTRY.finditer(text):
        params = [p.strip() for p in m.group(2).split(",") if p.strip()]
        pointers = sum(1 for p in params if ".ptr" in p or ".u64" in p)
        scalars = len(params) - pointers
        # The directives between the parameter list and the body's '{'.
        tail = text[m.end(): text.find("{", m.end())]
        size = (1, 1, 1)
        n = _PTX_NTID.search(tail)
        if n:
            size = tuple(int(v) if v else 1 for v in n.groups())  # type: ignore[assignment]
        out[m.group(1)] = {
            "binding_count": pointers,
            "constant_count": scalars,
            "workgroup_size": size,
        }
    return out


def _spirv_words(blob: bytes) -> list[int]:
    if len(blob) < 20 or len(blob) % 4:
        raise InvalidArgumentError("not a SPIR-V module (bad size)")
    magic = struct.unpack_from("<I", blob)[0]
    order = "<" if magic == 0x07230203 else ">" if magic == 0x03022307 else None
    if order is None:
        raise InvalidArgumentError("not a SPIR-V module (bad magic number)")
    return list(struct.unpack(f"{order}{len(blob) // 4}I", blob))


def _spirv_entry_points(blob: bytes) -> dict[str, dict[str, Any]]:
    """Entry points of a SPIR-V module: name, LocalSize, bindings and push constant count."""
    words = _spirv_words(blob)
    entries: dict[int, str] = {}
    sizes: dict[int, tuple[int, int, int]] = {}
    sets: dict[int, int] = {}
    binds: dict[int, int] = {}
    types: dict[int, tuple[int, list[int]]] = {}  # result id → (opcode, operands)
    constants: dict[int, int] = {}
    offsets: dict[tuple[int, int], int] = {}
    push_pointer_types: list[int] = []
    i = 5
    while i < len(words):
        count, opcode = words[i] >> 16, words[i] & 0xFFFF
        if count == 0:
            break
        ops = words[i + 1: i + count]
        if opcode == 15 and ops and ops[0] == 5:  # OpEntryPoint GLCompute
            raw = struct.pack(f"<{len(ops) - 2}I", *ops[2:])
            entries[ops[1]] = raw.split(b"\0", 1)[0].decode("utf-8", "replace")
        elif opcode == 16 and len(ops) >= 5 and ops[1] == 17:  # OpExecutionMode LocalSize
            sizes[ops[0]] = (ops[2], ops[3], ops[4])
        elif opcode == 71 and len(ops) >= 3:  # OpDecorate DescriptorSet / Binding
            if ops[1] == 34:
                sets[ops[0]] = ops[2]
            elif ops[1] == 33:
                binds[ops[0]] = ops[2]
        elif opcode == 72 and len(ops) >= 4 and ops[2] == 35:  # OpMemberDecorate Offset
            offsets[(ops[0], ops[1])] = ops[3]
        elif opcode in (21, 22, 23, 28, 30, 32) and ops:  # int, float, vector, array, struct, ptr
            types[ops[0]] = (opcode, ops[1:])
        elif opcode == 43 and len(ops) >= 3:  # OpConstant
            constants[ops[1]] = ops[2]
        elif opcode == 59 and len(ops) >= 3 and ops[2] == 9:  # OpVariable PushConstant
            push_pointer_types.append(ops[0])
        i += count

    def size_of(tid: int, depth: int = 0) -> int:
        op, rest = types.get(tid, (0, []))
        if depth > 16 or not rest:
            return 0
        if op in (21, 22):
            return rest[0] // 8
        if op == 23:
            return size_of(rest[0], depth + 1) * rest[1]
        if op == 28:
            return size_of(rest[0], depth + 1) * constants.get(rest[1], 0)
        if op == 30:
            return max(
                (offsets.get((tid, m), 0) + size_of(t, depth + 1) for m, t in enumerate(rest)),
                default=0,
            )
        return 0

    push_bytes = 0
    for ptr in push_pointer_types:
        op, rest = types.get(ptr, (0, []))
        if op == 32 and len(rest) >= 2:
            push_bytes = max(push_bytes, size_of(rest[1]))
    bindings = {(sets.get(var, 0), b) for var, b in binds.items()}
    return {
        name: {
            "binding_count": len(bindings),
            "constant_count": (push_bytes + 3) // 4,
            "workgroup_size": sizes.get(fid, (1, 1, 1)),
        }
        for fid, name in entries.items()
    }


# --------------------------------------------------------------------------------------------
# Benchmarks
# --------------------------------------------------------------------------------------------

_ALIAS = re.compile(r"^(#[\w$.-]+)\s*=\s*(.+)$", re.M)
_EXPORT = re.compile(
    r"hal\.executable\.export\s+(?:public\s+|private\s+)?@([\w$.-]+)[^\n]*?layout\("
)
_CONST = re.compile(r"(%[\w$.-]+)\s*=\s*arith\.constant\s+(-?\d+)\s*:\s*(?:index|i\d+)")
_LOOKUP = re.compile(r"function\(@[\w$.-]+::@[\w$.-]+::@([\w$.-]+)\)")
_DISPATCH = re.compile(r"hal\.command_buffer\.dispatch<")
_SUBSPAN = re.compile(r"hal\.interface\.binding\.subspan\b[^\n]*?\bbinding\((\d+)\)[^\n]*")


def _balanced(text: str, start: int, open_ch: str = "(", close_ch: str = ")") -> int:
    """Index just past the bracket that closes the one opened right before ``start``."""
    depth = 1
    i = start
    while i < len(text) and depth:
        c = text[i]
        if c == open_ch:
            depth += 1
        elif c == close_ch:
            depth -= 1
        elif c == '"':
            j = text.find('"', i + 1)
            while j != -1 and text[j - 1] == "\\":
                j = text.find('"', j + 1)
            i = j if j != -1 else len(text)
        i += 1
    return i


def _expand_aliases(text: str) -> str:
    aliases = dict(_ALIAS.findall(text))
    if not aliases:
        return text
    for _ in range(4):  # aliases may refer to aliases
        changed = False
        for k, v in aliases.items():
            if k in text:
                new = re.sub(re.escape(k) + r"(?![\w$.-])", lambda _m, v=v: v, text)
                changed |= new != text
                text = new
        if not changed:
            break
    return text


def _exports_with_bodies(text: str) -> list[tuple[str, str, str]]:
    """(export name, layout text, text of the variant that follows) per export."""
    text = _expand_aliases(text)
    out = []
    matches = list(_EXPORT.finditer(text))
    for k, m in enumerate(matches):
        end = _balanced(text, m.end())
        layout = text[m.end(): end - 1]
        body_end = matches[k + 1].start() if k + 1 < len(matches) else len(text)
        out.append((m.group(1), layout, text[end:body_end]))
    return out


def _layout_counts(layout: str) -> tuple[int, int, dict[int, bool]]:
    constants = 0
    m = re.search(r"constants\s*=\s*(\d+)", layout)
    if m:
        constants = int(m.group(1))
    flags = {}
    for i, b in enumerate(re.finditer(r"#hal\.pipeline\.binding<([^>]*)>", layout)):
        flags[i] = "ReadOnly" in b.group(1)
    return len(flags), constants, flags


_TYPE = re.compile(
    r"(?:memref|tensor)<((?:[0-9?]+x)*)((?:[fiu]|si|ui|bf)\d+|index)\b"
)


def _binding_types(body: str) -> dict[int, BindingInfo]:
    out: dict[int, BindingInfo] = {}
    for m in _SUBSPAN.finditer(body):
        index = int(m.group(1))
        if index in out:
            continue
        line = m.group(0)
        t = _TYPE.search(line[line.rfind(":"):]) or _TYPE.search(line)
        if not t:
            continue
        dims = [d for d in t.group(1).split("x") if d]
        shape = None if any(d == "?" for d in dims) else tuple(int(d) for d in dims)
        et = t.group(2)
        out[index] = BindingInfo(index, element_type=et, dtype=_NUMPY_DTYPES.get(et), shape=shape)
    return out


def _parse_benchmark(path: Path) -> dict[str, Any] | None:
    text = path.read_text(encoding="utf-8", errors="replace")
    exports = _exports_with_bodies(text)
    if not exports:
        return None
    text = _expand_aliases(text)
    lookup = _LOOKUP.search(text)
    name = lookup.group(1) if lookup else exports[0][0]
    layout_text, body = next(((lt, b) for n, lt, b in exports if n == name), exports[0][1:])
    n_bindings, n_constants, flags = _layout_counts(layout_text)
    info: dict[str, Any] = {
        "path": path,
        "export": name,
        "binding_count": n_bindings,
        "constant_count": n_constants,
        "binding_flags": flags,
        "binding_types": _binding_types(body),
        "binding_lengths": {},
        "constants": None,
        "workgroup_count": None,
    }
    site = _dispatch_site(text)
    if site is not None:
        values = dict((k, int(v)) for k, v in _CONST.findall(text))
        info["binding_lengths"] = {
            i: values.get(length) for i, (_, length) in enumerate(site["bindings"])
        }
        if site["constants"]:
            cs = [values.get(c) for c in site["constants"]]
            info["constants"] = None if any(c is None for c in cs) else [c & 0xFFFFFFFF for c in cs]
        counts = [values.get(c) for c in site["workgroups"]]
        if site["workgroups"] and all(c is not None for c in counts):
            info["workgroup_count"] = tuple(counts)
    return info


def _dispatch_site(text: str) -> dict[str, list[Any]] | None:
    m = _DISPATCH.search(text)
    if not m:
        return None
    end = text.find("flags(", m.end())
    op = text[m.start(): end if end != -1 else len(text)]
    site: dict[str, list[Any]] = {"workgroups": [], "constants": [], "bindings": []}
    w = re.search(r"workgroups\(\[([^\]]*)\]\)", op)
    if w:
        site["workgroups"] = [s.strip() for s in w.group(1).split(",") if s.strip()]
    c = re.search(r"constants\(\[([^\]]*)\]\)", op)
    if c:
        site["constants"] = [
            s.strip().split(":")[0].strip() for s in c.group(1).split(",") if s.strip()
        ]
    b = re.search(r"bindings\(\[(.*?)\]\)", op, re.S)
    if b:
        site["bindings"] = re.findall(r"\)\[\s*(%[\w$.-]+)\s*,\s*(%[\w$.-]+)\s*\]", b.group(1))
    return site


def _translated_export(text: str, name: str) -> dict[str, Any]:
    """Workgroup count, size and local memory of export ``name`` in translated HAL MLIR.

    After translation (``--compile-to=executable-targets``) an export reads::

        hal.executable.export public @name ordinal(0) layout(...) count(...) -> (...) {
          %c48 = arith.constant 48 : index ...
          hal.return %c48, %c1, %c1 : index, index, index
        } <workgroup_size = [32 : index, 8 : index, 1 : index], workgroup_local_memory = 34304>
    """
    out: dict[str, Any] = {}
    m = re.search(r"hal\.executable\.export\s+(?:public\s+|private\s+)?@" + re.escape(name)
                  + r"\b[^\n]*?layout\(", text)
    if not m:
        return out
    after_layout = _balanced(text, m.end())
    brace = text.find("{", after_layout)
    if brace == -1:
        return out
    end = _balanced(text, brace + 1, "{", "}")
    region = text[brace + 1: end - 1]
    values = dict((k, int(v)) for k, v in _CONST.findall(region))
    r = re.search(r"hal\.return\s+([^:]+):", region)
    if r:
        counts = [values.get(v.strip()) for v in r.group(1).split(",")]
        if len(counts) == 3 and all(c is not None for c in counts):
            out["workgroup_count"] = tuple(counts)
    attrs = text[end: text.find("\n", end)]
    w = re.search(r"workgroup_size\s*=\s*\[([^\]]*)\]", attrs)
    if w:
        dims = [int(x.split(":")[0]) for x in w.group(1).split(",") if x.strip()]
        if len(dims) == 3:
            out["workgroup_size"] = tuple(dims)
    lm = re.search(r"workgroup_local_memory\s*=\s*(\d+)", attrs)
    if lm:
        out["local_memory_size"] = int(lm.group(1))
    return out


def _resolve_workgroup_counts(infos: list[dict[str, Any]], timeout: float | None) -> None:
    """Translate each benchmark's executable to read its workgroup count (and the
    workgroup size and local memory codegen chose); fall back to lowering the whole
    benchmark to the HAL dialect when the count depends on the dispatch site."""
    tool = find_iree_compile()

    def resolve(info: dict[str, Any]) -> None:
        what = f"resolving the workgroup count of {info['export']}"
        out = _run_compiler(
            [tool, str(info["path"]), "--compile-to=executable-targets", "-o", "-"], timeout,
            what=what,
        )
        info.update(_translated_export(out, info["export"]))
        if info.get("workgroup_count") is not None:
            return
        out = _run_compiler([tool, str(info["path"]), "--compile-to=hal", "-o", "-"], timeout,
                            what=what)
        site = _dispatch_site(out)
        if site is None:
            return
        values = dict((k, int(v)) for k, v in _CONST.findall(out))
        counts = [values.get(c) for c in site["workgroups"]]
        if site["workgroups"] and all(c is not None for c in counts):
            info["workgroup_count"] = tuple(counts)
        if site["constants"] and info.get("constants") is None:
            cs = [values.get(c) for c in site["constants"]]
            if all(c is not None for c in cs):
                info["constants"] = [c & 0xFFFFFFFF for c in cs]

    workers = max(1, min(len(infos), os.cpu_count() or 1))
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        for f in [pool.submit(resolve, i) for i in infos]:
            f.result()


def _main(argv: Iterable[str] | None = None) -> int:  # pragma: no cover - a debugging aid
    import argparse

    parser = argparse.ArgumentParser(description="List the dispatches of an IREE dump.")
    parser.add_argument("binaries")
    parser.add_argument("benchmarks", nargs="?")
    parser.add_argument("--driver")
    args = parser.parse_args(list(argv) if argv is not None else None)
    dump = load_dump(args.binaries, args.benchmarks, driver=args.driver)
    for d in dump:
        print(
            f"{d.name}: executable={d.executable.name} workgroups={d.workgroup_count} "
            f"bindings={[(b.index, b.dtype, b.shape) for b in d.bindings]} "
            f"constants={d.constant_count} workgroup_size={d.entry_point.workgroup_size}"
        )
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(_main())
