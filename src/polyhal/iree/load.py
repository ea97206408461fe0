"""From what ``iree-compile`` dumps to an :class:`~polyhal.iree.IreeDump`: compiling a
module (:func:`compile_mlir`) and loading a dump (:func:`load_dump`)."""

from __future__ import annotations

import concurrent.futures
import dataclasses
import os
import shutil
import tempfile
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from ..errors import HalError, InvalidArgumentError, NotFoundError
from ..executable import DescriptorSetLayout, DescriptorSetLayoutBinding, EntryPoint, PipelineLayout
from ..types import DescriptorFlags
from . import mlir
from .binaries import BinaryKernel, read_kernels
from .compiler import DRIVER_FORMATS, FORMAT_SUFFIXES, base_driver, compile_flags, run_compiler
from .dump import BindingInfo, IreeDispatch, IreeDump, IreeExecutable

if TYPE_CHECKING:
    from ..device import Device

_SUFFIX_DRIVERS = {FORMAT_SUFFIXES[fmt]: driver for driver, fmt in DRIVER_FORMATS.items()}

#: The host program :func:`compile_mlir` writes beside ``binaries/``: the compiled module in
#: IREE's ``vm`` dialect (``iree-compile --output-format=vm-asm``).
HOST_PROGRAM = "module.vm.mlir"


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
    ``binaries/``, ``benchmarks/``, ``sources/``, the host program ``module.vm.mlir``
    (:data:`HOST_PROGRAM`) and ``module.vmfb``, which is that host program serialized, so it
    holds exactly the dumped binaries.  ``target_flags`` replaces :func:`compile_flags`
    (``driver``'s defaults); ``flags`` are appended.  A compile error raises
    InvalidArgumentError carrying the compiler's message.  A program with no dispatch (all
    constants, copies and reshapes) gives an empty dump.  A dispatch that compiled but
    cannot be loaded is left out and reported (:attr:`IreeDump.failed`), see
    :func:`load_dump`.
    """
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    src = _source_path(source, out)
    bins, benches, sources = out / "binaries", out / "benchmarks", out / "sources"
    for d in (bins, benches, sources):
        if d.exists():
            shutil.rmtree(d)
    host = out / HOST_PROGRAM
    tflags = list(target_flags) if target_flags is not None else compile_flags(driver)
    # One compilation makes the binaries and the host program that launches them, so the
    # workgroup counts read from it are those of these binaries.
    run_compiler(
        [
            str(src),
            *tflags,
            f"--iree-hal-dump-executable-binaries-to={bins}",
            f"--iree-hal-dump-executable-benchmarks-to={benches}",
            f"--iree-hal-dump-executable-sources-to={sources}",
            *flags,
            "--output-format=vm-asm",
            "-o",
            str(host),
        ],
        timeout,
        what=f"compiling {src}",
    )
    run_compiler(
        [str(host), "--compile-from=vm", *flags, "-o", str(out / "module.vmfb")],
        timeout,
        what=f"serializing {host}",
    )
    if not bins.exists():
        # Nothing to dispatch: the compiler folded the program to constants, copies and
        # reshapes, which the host program does alone.
        return IreeDump(base_driver(driver), [], [])
    translated = None
    if resolve_workgroups and base_driver(driver) == "cuda":
        # PTX does not declare the workgroup-local memory its kernels need; the translated
        # exports of this program (the same pipeline as the dumped binaries) do.
        translated = out / "executables.mlir"
        run_compiler(
            [str(src), *tflags, *flags, "--compile-to=executable-targets", "-o", str(translated)],
            timeout,
            what=f"translating the executables of {src}",
        )
    return _load_dump(
        bins,
        benches if benches.exists() else None,
        driver=driver,
        sources_dir=sources if sources.exists() else None,
        host_program=host,
        translated=translated,
        resolve_workgroups=resolve_workgroups,
        timeout=timeout,
    )


def load_dump(
    binaries_dir: str | os.PathLike[str],
    benchmarks_dir: str | os.PathLike[str] | None = None,
    *,
    driver: str | Device | None = None,
    sources_dir: str | os.PathLike[str] | None = None,
    host_program: str | os.PathLike[str] | None = None,
    resolve_workgroups: bool = True,
    timeout: float | None = 600,
) -> IreeDump:
    """Load the executables IREE dumped into ``binaries_dir`` for one polyhal driver.

    ``driver``: a driver name ("local", "vulkan", "cuda", "local-sync", "vulkan:1", …) or a
    Device; None picks the only kind of binary present.  ``benchmarks_dir`` (the dump of
    ``--iree-hal-dump-executable-benchmarks-to``) supplies layouts and bindings;
    ``sources_dir`` (``--iree-hal-dump-executable-sources-to``) layouts and binding types
    where no benchmark does.  Without either, entry points come from the binaries alone.

    **Workgroup counts** (and push constants) come from the host program, ``host_program``:
    the same compilation's module as IREE's ``vm`` dialect (``iree-compile
    --output-format=vm-asm``); by default the :data:`HOST_PROGRAM` beside ``binaries_dir``
    where :func:`compile_mlir` wrote one (and the MLIR bindings are there to read it).
    Each count is what the program's dispatch calls
    pass.  A count the program computes at run time (dynamic shapes, values read on the
    device, indirect dispatches), or passes differently at different calls, is None, with
    the reason in :attr:`IreeDispatch.workgroup_count_note`: recording such a dispatch
    without ``workgroup_count=`` raises FailedPreconditionError naming it.

    Without a host program, a count the benchmark itself states is taken; where it leaves
    the count to the compiler (IREE 3.x does) and ``resolve_workgroups`` is true, the
    benchmark is compiled again and its count kept only where that compilation remakes the
    dumped binary byte for byte.  Compiling a benchmark again can make another kernel, with
    another count, than the one dumped (IREE's e2e ``conv2d_1452x2223_dilated_valid`` on
    the CPU: 1 workgroup instead of 24), so an unverified count would launch part of the
    grid; such a count stays None with the reason.

    PTX does not declare the workgroup-local memory a kernel needs: for ``cuda`` with
    ``resolve_workgroups``, each benchmark is translated (``--compile-to=executable-targets``)
    to read it and the workgroup size.  (:func:`compile_mlir` translates the program itself
    instead, which makes the same kernels as the dumped ones.)

    A dispatch that cannot be loaded (its benchmark fails to translate, its layout cannot be
    told) is left out and the others kept: :attr:`IreeDump.failed` maps its name to the
    reason, :meth:`IreeDump.dispatch` raises FailedPreconditionError with it, and a
    ``RuntimeWarning`` lists them.

    MLIR is read with the MLIR Python bindings of ``iree-base-compiler`` (UnavailableError
    without them; a benchmark or host program they cannot parse raises
    InvalidArgumentError).  :func:`load_saved` needs neither bindings nor compiler.
    """
    return _load_dump(
        binaries_dir,
        benchmarks_dir,
        driver=driver,
        sources_dir=sources_dir,
        host_program=host_program,
        translated=None,
        resolve_workgroups=resolve_workgroups,
        timeout=timeout,
    )


def _load_dump(
    binaries_dir: str | os.PathLike[str],
    benchmarks_dir: str | os.PathLike[str] | None,
    *,
    driver: str | Device | None,
    sources_dir: str | os.PathLike[str] | None,
    host_program: str | os.PathLike[str] | None,
    translated: Path | None,
    resolve_workgroups: bool,
    timeout: float | None,
) -> IreeDump:
    """:func:`load_dump`, with ``translated``: the program's executables as
    ``--compile-to=executable-targets`` prints them, whose exports give workgroup sizes and
    local memory in place of translating each benchmark."""
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

    host = Path(host_program) if host_program is not None else bdir.parent / HOST_PROGRAM
    launches: dict[str, _Launch] | None = None
    if host_program is not None or (host.is_file() and mlir.available()):
        try:
            text = host.read_text(encoding="utf-8", errors="replace")
        except OSError as e:
            raise InvalidArgumentError(f"cannot read the host program {str(host)!r}: {e}") from None
        launches = _host_launches(mlir.read_host_dispatches(text, what=str(host)))

    # Kernel name → why it cannot be loaded.
    failed: dict[str, str] = {}
    benchmarks: dict[str, _Benchmark] = {}
    if benchmarks_dir is not None:
        parsed = [_read_benchmark(p) for p in sorted(Path(benchmarks_dir).glob("*.mlir"))]
        benchmarks = {b.export.name: b for b in parsed if b is not None}
    exports: dict[str, mlir.ExportInfo] = {}
    if translated is not None:
        text = translated.read_text(encoding="utf-8", errors="replace")
        exports = {e.name: e for e in mlir.read_exports(text, what=str(translated))}
    if resolve_workgroups and fmt == "ptx":
        translate = [b for n, b in benchmarks.items() if n in kernels and n not in exports]
        for bench, error in _each(translate, lambda b: _translate(b, timeout)):
            if error is not None:
                failed[bench.export.name] = f"its benchmark does not translate: {error}"
    if resolve_workgroups and launches is None:
        remake = [b for n, b in benchmarks.items() if n in kernels and b.workgroup_count is None]
        for bench, error in _each(remake, lambda b: _remake(b, kernels[b.export.name][0], timeout)):
            if error is not None:
                bench.count_note = f"compiling its benchmark again failed: {error}"

    sources: dict[str, mlir.ExportInfo] = {}
    if sources_dir is not None:
        for p in sorted(Path(sources_dir).glob("*.mlir")):
            text = p.read_text(encoding="utf-8", errors="replace")
            for export in mlir.read_exports(text, what=str(p)):
                sources[export.name] = export

    entry_points: dict[Path, list[EntryPoint]] = {}
    for name, (path, kernel) in kernels.items():
        if name in failed:
            continue
        try:
            ep = _entry_point(
                name, kernel, benchmarks.get(name), sources.get(name), exports.get(name), path
            )
        except InvalidArgumentError as e:
            failed[name] = str(e)
            continue
        entry_points.setdefault(path, []).append(ep)
    executables = _executables(fmt, files, entry_points)
    dispatches = [
        _dispatch(
            ep,
            executables[path],
            kernels[ep.name][1],
            benchmarks.get(ep.name),
            sources.get(ep.name),
            _launch(ep.name, benchmarks.get(ep.name), launches),
        )
        for path, eps in entry_points.items()
        for ep in eps
    ]
    if failed:
        warnings.warn(
            f"{len(failed)} of the {len(kernels)} dispatches in {str(bdir)!r} cannot be "
            f"loaded and are left out: "
            + "; ".join(f"{name}: {why}" for name, why in failed.items()),
            RuntimeWarning,
            stacklevel=3,  # the caller of load_dump or compile_mlir
        )
    unique = list({id(e): e for e in executables.values()}.values())
    return IreeDump(base, unique, dispatches, failed=failed)


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
    #: Why workgroup_count is None, when the benchmark was compiled again to find it.
    count_note: str | None = None
    workgroup_size: tuple[int, int, int] | None = None
    local_memory_size: int = 0


@dataclass(frozen=True)
class _Launch:
    """How the host program launches one export: its count and constants where every
    dispatch call passes the same constant ones, else None and why."""

    workgroup_count: tuple[int, int, int] | None
    constants: tuple[int, ...] | None
    note: str | None = None


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


def _host_launches(sites: Sequence[mlir.HostDispatch]) -> dict[str, _Launch]:
    """Export name → how the host program's dispatch calls launch it."""
    by_name: dict[str, list[mlir.HostDispatch]] = {}
    for site in sites:
        if site.export is not None:
            by_name.setdefault(site.export, []).append(site)
    launches = {}
    for name, group in by_name.items():
        counts = {s.workgroup_count for s in group}
        constants = {s.constants for s in group}
        note = None
        if any(s.indirect for s in group):
            note = "the host program dispatches it indirectly (the count is read from a buffer)"
        elif None in counts:
            note = (
                "the host program computes its workgroup count at run time (dynamic shapes "
                "or values)"
            )
        elif len(counts) > 1:
            several = sorted(c for c in counts if c is not None)
            note = f"the host program dispatches it with several workgroup counts {several}"
        count = counts.pop() if note is None else None
        launches[name] = _Launch(count, constants.pop() if len(constants) == 1 else None, note)
    return launches


def _launch(name: str, bench: _Benchmark | None, launches: dict[str, _Launch] | None) -> _Launch:
    """A dispatch's count and constants: the host program's where there is one, else its
    benchmark's."""
    bench_constants = bench.constants if bench is not None else None
    if launches is not None:
        launch = launches.get(name)
        if launch is None:
            return _Launch(None, bench_constants, "the host program never dispatches it")
        if launch.constants is None:
            return dataclasses.replace(launch, constants=bench_constants)
        return launch
    if bench is None:
        return _Launch(None, None, "no host program and no benchmark gives its workgroup count")
    note = bench.count_note
    if bench.workgroup_count is None and note is None:
        note = (
            "no host program gives its workgroup count (compile with compile_mlir, or pass "
            "host_program=)"
        )
    return _Launch(bench.workgroup_count, bench_constants, note)


_T = TypeVar("_T")


def _each(items: Sequence[_T], work: Callable[[_T], None]) -> list[tuple[_T, HalError | None]]:
    """Runs ``work`` on every item, a few at a time (each runs iree-compile); each item with
    the HalError its work raised, or None."""
    if not items:
        return []

    def run(item: _T) -> HalError | None:
        try:
            work(item)
        except HalError as e:
            return e
        return None

    workers = max(1, min(len(items), os.cpu_count() or 1))
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        return list(zip(items, pool.map(run, items), strict=True))


def _translate(bench: _Benchmark, timeout: float | None) -> None:
    """Translate a benchmark's executable to read the workgroup size and local memory
    codegen chose (what PTX does not declare)."""
    what = f"translating the benchmark of {bench.export.name}"
    out = run_compiler(
        [str(bench.path), "--compile-to=executable-targets", "-o", "-"], timeout, what=what
    )
    translated = next(
        (e for e in mlir.read_exports(out, what=what) if e.name == bench.export.name), None
    )
    if translated is None:
        raise InvalidArgumentError(f"{what}: the translation has no export of that name")
    bench.workgroup_size = translated.workgroup_size
    bench.local_memory_size = translated.local_memory_size


def _remake(bench: _Benchmark, binary: Path, timeout: float | None) -> None:
    """Compile a benchmark again, whole, and keep the count its host program launches the
    export with if the compilation remade ``binary`` (the dumped one) byte for byte."""
    name = bench.export.name
    what = f"compiling the benchmark of {name} again"
    with tempfile.TemporaryDirectory(prefix="polyhal-iree-") as tmp:
        text = run_compiler(
            [
                str(bench.path),
                f"--iree-hal-dump-executable-binaries-to={tmp}",
                "--output-format=vm-asm",
                "-o",
                "-",
            ],
            timeout,
            what=what,
        )
        dumped = binary.read_bytes()
        remade = [p for p in Path(tmp).iterdir() if p.suffix == binary.suffix]
        if not any(p.read_bytes() == dumped for p in remade):
            bench.count_note = (
                "compiling its benchmark again makes another binary than the dumped one, so "
                "the count it launches that with need not fit the dumped kernel (compile "
                "with compile_mlir, which reads counts from the host program, or pass "
                "workgroup_count=)"
            )
            return
    launch = _host_launches(mlir.read_host_dispatches(text, what=what)).get(name)
    if launch is None:
        bench.count_note = "its benchmark compiled again never dispatches it"
        return
    bench.workgroup_count = launch.workgroup_count
    bench.count_note = launch.note
    if bench.constants is None:
        bench.constants = launch.constants


def _entry_point(
    name: str,
    kernel: BinaryKernel,
    bench: _Benchmark | None,
    source: mlir.ExportInfo | None,
    translated: mlir.ExportInfo | None,
    path: Path,
) -> EntryPoint:
    """A kernel's entry point: its layout from its benchmark, else its source, else its
    binary; its workgroup size and local memory from its binary, else what the compiler
    chose (the translated program's export, else its translated benchmark's)."""
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
    chosen = translated or bench
    size = kernel.workgroup_size or (chosen.workgroup_size if chosen else None) or (1, 1, 1)
    local_memory = max(kernel.local_memory_size, chosen.local_memory_size if chosen else 0)
    return EntryPoint(name, layout, workgroup_size=size, local_memory_size=local_memory)


def _dispatch(
    ep: EntryPoint,
    executable: IreeExecutable,
    kernel: BinaryKernel,
    bench: _Benchmark | None,
    source: mlir.ExportInfo | None,
    launch: _Launch,
) -> IreeDispatch:
    """The dispatch of an entry point, with what its benchmark and source say of its
    bindings (types: the benchmark's over the source's), what its binary says of how it
    accesses them, and how the host program launches it."""
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
            granularity=kernel.binding_granularity.get(b.index, 1),
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
        workgroup_count=launch.workgroup_count,
        constants=launch.constants or (),
        benchmark=bench.path if bench is not None else None,
        local_memory_size=ep.local_memory_size,
        workgroup_count_note=launch.note if launch.workgroup_count is None else None,
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
