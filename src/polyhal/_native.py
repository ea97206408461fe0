"""Native code: polyhal's own, built by the package's build, and user kernels, built at
first use with the system compiler and cached.

polyhal's own C code (the local executor, the CUDA launcher) is compiled by setup.py into
extension modules, which ``load_extension`` loads; it is never compiled here.
User kernels' libraries go to polyhal's one build cache (:mod:`polyhal._cache`), keyed by
the source, the flags, the kernel ABI header, the compiler's identity and version
(``$CC --version``) and, for ``-march=native`` builds, the host CPU's model and features; a
cached library that is truncated, empty or not a library is rebuilt.
"""

from __future__ import annotations

import ctypes
import functools
import importlib.util
import os
import shlex
import shutil
import struct
import subprocess
import warnings
from pathlib import Path

from ._cache import cached
from .errors import InvalidArgumentError, UnavailableError

__all__ = [
    "compile_shared",
    "load_shared",
    "load_extension",
    "include_dir",
    "c_compiler",
    "compiler_identity",
    "target_cpu",
    "is_complete_elf",
]


def c_compiler() -> str:
    """The C compiler command: ``$CC`` when set, else cc, gcc or clang.

    UnavailableError when ``$CC`` names no program (it is never silently replaced by
    another compiler) or when there is no compiler at all.
    """
    cc = os.environ.get("CC")
    if cc:
        words = shlex.split(cc)
        if not words or shutil.which(words[0]) is None:
            raise UnavailableError(
                f"$CC is {cc!r}, which is not a program on this machine; "
                f"set $CC to a C compiler or unset it"
            )
        return cc
    for candidate in ("cc", "gcc", "clang"):
        if shutil.which(candidate):
            return candidate
    raise UnavailableError("no C compiler found (install gcc or clang, or set $CC)")


@functools.cache
def compiler_identity(cc: str) -> str:
    """The compiler's resolved path and ``--version`` output (once per process)."""
    words = shlex.split(cc)
    try:
        proc = subprocess.run([*words, "--version"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError) as e:
        raise UnavailableError(f"the compiler {cc!r} does not run: {e}") from None
    if proc.returncode != 0:
        raise UnavailableError(
            f"the compiler {cc!r} does not run: `{cc} --version` exited "
            f"with {proc.returncode}: {proc.stderr.strip()[:500]}"
        )
    program = os.path.realpath(shutil.which(words[0]) or words[0])
    return "\0".join((program, *words[1:], proc.stdout))


@functools.cache
def target_cpu() -> str:
    """What ``-march=native`` builds for: the first CPU's identity and feature flags from
    /proc/cpuinfo (Linux), else the platform's names for the machine (once per process)."""
    keys = (
        "vendor_id",
        "cpu family",
        "model",
        "model name",
        "stepping",
        "flags",
        "CPU implementer",
        "CPU architecture",
        "CPU variant",
        "CPU part",
        "Features",
        "isa",
        "uarch",
    )
    try:
        lines: list[str] = []
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if not line.strip():
                    if lines:
                        break  # the first processor's block is enough
                    continue
                key = line.partition(":")[0].strip()
                if key in keys:
                    lines.append(line.strip())
        if lines:
            return "\n".join(lines)
    except OSError:
        pass
    import platform

    return f"{platform.machine()} {platform.processor()}"


@functools.cache
def _header() -> str:
    """The kernel ABI header every build may include: part of the key, like the source."""
    return (Path(include_dir()) / "polyhal.h").read_text()


def include_dir() -> str:
    """The folder holding ``polyhal.h``, the kernel ABI header of the local driver."""
    return str(Path(__file__).parent / "include")


def load_extension(module: str, what: str) -> ctypes.CDLL:
    """The extension module ``module`` that the package's build made of polyhal's own C
    code, loaded as a ctypes library with every symbol resolved now.

    UnavailableError (naming ``what``) when it is missing or does not load.  In a source tree
    (``pip install -e .``) a build older than its C file (``native/<name>.c``) still loads,
    with a warning: rebuilding is running ``pip install -e .`` again.
    """
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.origin:
        raise UnavailableError(
            f"polyhal's native {what} is not built: reinstall polyhal (pip install .)"
        )
    try:
        lib = ctypes.CDLL(spec.origin, mode=os.RTLD_NOW)
    except OSError as e:
        raise UnavailableError(
            f"polyhal's native {what} does not load ({e}): reinstall polyhal (pip install .)"
        ) from None
    built = Path(spec.origin)
    source = built.parent / "native" / f"{built.name.split('.')[0].lstrip('_')}.c"
    try:
        stale = source.stat().st_mtime > built.stat().st_mtime
    except OSError:  # an installed package holds no C sources
        stale = False
    if stale:
        warnings.warn(
            f"polyhal: {built} is older than {source}; rebuild it with `pip install -e .`",
            RuntimeWarning,
            stacklevel=2,
        )
    return lib


def compile_shared(source: str, flags: tuple[str, ...] = ("-O3",), stem: str = "kernel") -> Path:
    """Compiles C ``source`` to a shared library and returns its cached path.

    InvalidArgumentError carries the compiler's message when the source does not compile;
    UnavailableError when there is no working compiler.
    """
    return _build(source, flags, stem, rebuild=False)


def load_shared(
    source: str, flags: tuple[str, ...] = ("-O3",), stem: str = "kernel"
) -> ctypes.CDLL:
    """compile_shared, then loads the library with every symbol resolved now.

    A cached library that does not load is rebuilt once.  InvalidArgumentError when a
    freshly built one does not load (an undefined symbol, say), with the loader's message.
    """
    path = _build(source, flags, stem, rebuild=False)
    try:
        return ctypes.CDLL(str(path), mode=os.RTLD_NOW)
    except OSError:
        path = _build(source, flags, stem, rebuild=True)
    try:
        return ctypes.CDLL(str(path), mode=os.RTLD_NOW)
    except OSError as e:
        raise InvalidArgumentError(
            f"the library built from the C source does not load: {e}"
        ) from None


def _build(source: str, flags: tuple[str, ...], stem: str, rebuild: bool) -> Path:
    try:
        source.encode("utf-8")
    except UnicodeEncodeError as e:  # lone surrogates: no file can hold them
        raise InvalidArgumentError(f"the C source is not valid text: {e}") from None
    cc = c_compiler()
    full_flags = ("-shared", "-fPIC", "-pthread", f"-I{include_dir()}", *flags)
    native = any(f.startswith(("-march=native", "-mcpu=native", "-mtune=native")) for f in flags)
    key = (compiler_identity(cc), target_cpu() if native else "", _header(), *full_flags, source)

    def build(out: Path) -> None:
        src = out.parent / f"{stem}.c"
        src.write_text(source, encoding="utf-8")
        try:
            proc = subprocess.run(
                [*shlex.split(cc), *full_flags, str(src), "-o", str(out)],
                capture_output=True,
                text=True,
            )
        except OSError as e:
            raise UnavailableError(f"the compiler {cc!r} does not run: {e}") from None
        if proc.returncode != 0:
            raise InvalidArgumentError(f"C compilation failed ({cc}):\n{proc.stderr.strip()}")

    return cached(stem, "so", key, build, is_complete_elf, rebuild)


def is_complete_elf(path: Path) -> bool:
    """True when ``path`` is an ELF file that holds every byte its headers point at.

    A truncated library would otherwise load and then fault (SIGBUS) when the loader or a
    kernel touches a page past the end of the file.
    """
    try:
        with open(path, "rb") as f:
            head = f.read(4096)
            size = os.fstat(f.fileno()).st_size
    except OSError:
        return False
    if len(head) < 52 or head[:4] != b"\x7fELF" or head[4] not in (1, 2) or head[5] not in (1, 2):
        return False
    order = "<" if head[5] == 1 else ">"
    if head[4] == 2:  # 64-bit
        if len(head) < 64:
            return False
        phoff, shoff = struct.unpack_from(order + "QQ", head, 32)
        phentsize, phnum, shentsize, shnum = struct.unpack_from(order + "HHHH", head, 54)
        segment = struct.Struct(order + "IIQQQQ")  # type, flags, offset, vaddr, paddr, filesz
        offset_field, size_field = 2, 5
    else:
        phoff, shoff = struct.unpack_from(order + "II", head, 28)
        phentsize, phnum, shentsize, shnum = struct.unpack_from(order + "HHHH", head, 42)
        segment = struct.Struct(order + "IIIIII")  # type, offset, vaddr, paddr, filesz, memsz
        offset_field, size_field = 1, 4
    if shoff + shentsize * shnum > size or phoff + phentsize * phnum > size or phnum == 0:
        return False
    if phoff + phentsize * phnum > len(head) or phentsize < segment.size:
        return True  # headers beyond the first page: the size checks above must do
    for i in range(phnum):
        fields = segment.unpack_from(head, phoff + i * phentsize)
        if fields[0] == 1 and fields[offset_field] + fields[size_field] > size:  # PT_LOAD
            return False
    return True
