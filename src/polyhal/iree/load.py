"""From what ``iree-compile`` dumps to an :class:`~polyhal.iree.IreeDump`: compiling a
module (:func:`compile_mlir`) and loading a dump (:func:`load_dump`)."""

from __future__ import annotations

import concurrent.futures
import dataclasses
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import InvalidArgumentError, NotFoundError
from ..executable import DescriptorSetLayout, DescriptorSetLayoutBinding, EntryPoint, PipelineLayout
from ..types import DescriptorFlags
from . import mlir
from .binaries import BinaryKernel, read_kernels
from .compiler import DRIVER_FORMATS, FORMAT_SUFFIXES, base_driver, compile_flags, run_compiler
from .dump import BindingInfo, IreeDispatch, IreeDump, IreeExecutable

if TYPE_CHECKING:
    from ..device import Device

_SUFFIX_DRIVERS = {FORMAT_SUFFIXES[fmt]: driver for driver, fmt in DRIVER_FORMATS.items()}


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
    run_compiler(
        [
            str(src),
            *tflags,
            f"--iree-hal-dump-executable-binaries-to={bins}",
            f"--iree-hal-dump-executable-benchmarks-to={benches}",
            f"--iree-hal-dump-executable-sources-to={sources}",
            *flags,
            "-o",
            str(out / "module.vmfb"),
        ],
        timeout,
        what=f"compiling {src}",
    )
    return load_dump(
        bins,
        benches if benches.exists() else None,
        driver=driver,
        sources_dir=sources if sources.exists() else None,
        resolve_workgroups=resolve_workgroups,
        timeout=timeout,
    )


def load_dump(
    binaries_dir: str | os.PathLike[str],
    benchmarks_dir: str | os.PathLike[str] | None = None,
    *,
    driver: str | Device | None = None,
    sources_dir: str | os.PathLike[str] | None = None,
    resolve_workgroups: bool = True,
    timeout: float | None = 600,
) -> IreeDump:
    """Load the executables IREE dumped into ``binaries_dir`` for one polyhal driver.

    ``driver``: a driver name ("local", "vulkan", "cuda", "local-sync", "vulkan:1", …) or a
    Device; None picks the only kind of binary present.  ``benchmarks_dir`` (the dump of
    ``--iree-hal-dump-executable-benchmarks-to``) supplies layouts, bindings and workgroup
    counts; where a benchmark leaves the count to the compiler (IREE 3.x does), each benchmark
    is compiled with ``iree-compile --compile-to=executable-targets`` (or ``=hal``) to read
    it, unless ``resolve_workgroups`` is False.  ``sources_dir`` (the dump of
    ``--iree-hal-dump-executable-sources-to``) supplies layouts and binding types where no
    benchmark does.  Without either, entry points come from the binaries alone and
    dispatches have no workgroup count.

    Benchmarks and sources are MLIR, read with the MLIR Python bindings of
    ``iree-base-compiler`` (UnavailableError without them; a dump they cannot parse raises
    InvalidArgumentError).  :func:`load_saved` needs neither bindings nor compiler.
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

    # What each binary holds: kernel name → (path, what the binary says).
    kernels: dict[str, tuple[Path, BinaryKernel]] = {}
    for path in files:
        for name, kernel in read_kernels(fmt, path).items():
            kernels.setdefault(name, (path, kernel))

    benchmarks: dict[str, _Benchmark] = {}
    if benchmarks_dir is not None:
        parsed = [_read_benchmark(p) for p in sorted(Path(benchmarks_dir).glob("*.mlir"))]
        found = [b for b in parsed if b is not None]
        if resolve_workgroups:
            _resolve_workgroup_counts([b for b in found if b.workgroup_count is None], timeout)
        benchmarks = {b.export.name: b for b in found}

    sources: dict[str, mlir.ExportInfo] = {}
    if sources_dir is not None:
        for p in sorted(Path(sources_dir).glob("*.mlir")):
            text = p.read_text(encoding="utf-8", errors="replace")
            for export in mlir.read_exports(text, what=str(p)):
                sources[export.name] = export

    entry_points: dict[Path, list[EntryPoint]] = {}
    for name, (path, kernel) in kernels.items():
        entry_points.setdefault(path, []).append(
            _entry_point(name, kernel, benchmarks.get(name), sources.get(name), path)
        )
    executables = _executables(fmt, files, entry_points)
    dispatches = [
        _dispatch(ep, executables[path], benchmarks.get(ep.name), sources.get(ep.name))
        for path, eps in entry_points.items()
        for ep in eps
    ]
    unique = list({id(e): e for e in executables.values()}.values())
    return IreeDump(base, unique, dispatches)


def _executables(
    fmt: str, files: Sequence[Path], entry_points: dict[Path, list[EntryPoint]]
) -> dict[Path, IreeExecutable]:
    """The executable each binary belongs to: one per ``.so`` or ``.ptx``; one for all the
    SPIR-V modules (IREE writes one module per entry point)."""
    if fmt == "spirv":
        one = IreeExecutable(
            name=_common_name(files),
            format=fmt,
            paths=tuple(entry_points),
            entry_points=[ep for eps in entry_points.values() for ep in eps],
        )
        return {p: one for p in entry_points}
    return {
        path: IreeExecutable(
            name=_executable_name(path), format=fmt, paths=(path,), entry_points=eps
        )
        for path, eps in entry_points.items()
    }


@dataclass
class _Benchmark:
    """One dumped benchmark: the export it runs and what its dispatch passes."""

    path: Path
    export: mlir.ExportInfo
    binding_lengths: tuple[int | None, ...] = ()
    constants: tuple[int, ...] | None = None
    workgroup_count: tuple[int, int, int] | None = None
    workgroup_size: tuple[int, int, int] | None = None
    local_memory_size: int = 0


def _read_benchmark(path: Path) -> _Benchmark | None:
    text = path.read_text(encoding="utf-8", errors="replace")
    exports = mlir.read_exports(text, what=str(path))
    if not exports:
        return None
    site = mlir.read_dispatch_site(text, what=str(path))
    name = site.export if site is not None and site.export else exports[0].name
    export = next((e for e in exports if e.name == name), exports[0])
    bench = _Benchmark(path, export)
    if site is not None:
        bench.binding_lengths = site.binding_lengths
        bench.constants = site.constants
        bench.workgroup_count = site.workgroup_count
    return bench


def _resolve_workgroup_counts(benchmarks: list[_Benchmark], timeout: float | None) -> None:
    """Translate each benchmark's executable to read its workgroup count (and the workgroup
    size and local memory codegen chose); fall back to lowering the whole benchmark to the
    HAL dialect when the count depends on the dispatch site."""

    def resolve(bench: _Benchmark) -> None:
        what = f"resolving the workgroup count of {bench.export.name}"
        out = run_compiler(
            [str(bench.path), "--compile-to=executable-targets", "-o", "-"], timeout, what=what
        )
        translated = next(
            (e for e in mlir.read_exports(out, what=what) if e.name == bench.export.name), None
        )
        if translated is not None:
            bench.workgroup_count = translated.workgroup_count
            bench.workgroup_size = translated.workgroup_size
            bench.local_memory_size = translated.local_memory_size
        if bench.workgroup_count is not None:
            return
        out = run_compiler([str(bench.path), "--compile-to=hal", "-o", "-"], timeout, what=what)
        site = mlir.read_dispatch_site(out, what=what)
        if site is None:
            return
        bench.workgroup_count = site.workgroup_count
        if bench.constants is None:
            bench.constants = site.constants

    workers = max(1, min(len(benchmarks), os.cpu_count() or 1))
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        for f in [pool.submit(resolve, b) for b in benchmarks]:
            f.result()


def _entry_point(
    name: str,
    kernel: BinaryKernel,
    bench: _Benchmark | None,
    source: mlir.ExportInfo | None,
    path: Path,
) -> EntryPoint:
    """A kernel's entry point: its layout from its benchmark, else its source, else its
    binary; its workgroup size from its binary, else what the compiler chose."""
    export = bench.export if bench is not None else source
    if export is not None:
        read_only, n_constants = export.read_only, export.constant_count
    elif kernel.binding_count is not None and kernel.constant_count is not None:
        read_only, n_constants = (False,) * kernel.binding_count, kernel.constant_count
    else:
        raise InvalidArgumentError(
            f"cannot tell the layout of {name!r} in {str(path)!r} without its benchmark"
        )
    layout = PipelineLayout(
        [
            DescriptorSetLayout(
                DescriptorSetLayoutBinding(
                    i, DescriptorFlags.READ_ONLY if ro else DescriptorFlags.NONE
                )
                for i, ro in enumerate(read_only)
            )
        ],
        push_constants=n_constants,
    )
    size = kernel.workgroup_size or (bench.workgroup_size if bench else None) or (1, 1, 1)
    local_memory = max(kernel.local_memory_size, bench.local_memory_size if bench else 0)
    return EntryPoint(name, layout, workgroup_size=size, local_memory_size=local_memory)


def _dispatch(
    ep: EntryPoint,
    executable: IreeExecutable,
    bench: _Benchmark | None,
    source: mlir.ExportInfo | None,
) -> IreeDispatch:
    """The dispatch of an entry point, with what its benchmark and source say of its
    bindings (types: the benchmark's over the source's) and of its launch."""
    types = dict(source.binding_types) if source is not None else {}
    if bench is not None:
        types.update(bench.export.binding_types)
    lengths = bench.binding_lengths if bench is not None else ()
    bindings = []
    for b in ep.layout.set_layouts[0].bindings:
        info = BindingInfo(
            b.index,
            bool(b.flags & DescriptorFlags.READ_ONLY),
            lengths[b.index] if b.index < len(lengths) else None,
        )
        t = types.get(b.index)
        if t is not None:
            info = dataclasses.replace(
                info, element_type=t.element_type, dtype=t.dtype, shape=t.shape
            )
        bindings.append(info)
    return IreeDispatch(
        name=ep.name,
        executable=executable,
        entry_point=ep,
        bindings=tuple(bindings),
        workgroup_count=bench.workgroup_count if bench is not None else None,
        constants=(bench.constants or ()) if bench is not None else (),
        benchmark=bench.path if bench is not None else None,
        local_memory_size=ep.local_memory_size,
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


def _pick_driver(bdir: Path, driver: str | Device | None) -> str:
    if driver is not None:
        base = base_driver(driver)
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
    return stem[len("module_") :] if stem.startswith("module_") else stem


def _common_name(files: Sequence[Path]) -> str:
    return os.path.commonprefix([_executable_name(p) for p in files]).rstrip("_") or "spirv"
