"""Building native code at first use: C compiled with the system compiler, cached.

Objects are cached by a hash of the source, the flags and the compiler, in
``$POLYHAL_CACHE_DIR`` or the user's cache directory (``$XDG_CACHE_HOME/polyhal``).
Writes are atomic (compile to a temporary name, then rename), so concurrent processes
sharing the cache never load a half-written library.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from .errors import InvalidArgumentError, UnavailableError


def cache_dir() -> Path:
    base = os.environ.get("POLYHAL_CACHE_DIR")
    if base:
        path = Path(base)
    else:
        xdg = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        path = Path(xdg) / "polyhal"
    path.mkdir(parents=True, exist_ok=True)
    return path


def c_compiler() -> str | None:
    """The C compiler to use ($CC, cc, gcc or clang), or None if there is none."""
    for candidate in (os.environ.get("CC"), "cc", "gcc", "clang"):
        if candidate and shutil.which(candidate):
            return candidate
    return None


def include_dir() -> str:
    """The folder holding ``polyhal.h``, the kernel ABI header of the local driver."""
    return str(Path(__file__).parent / "include")


def compile_shared(source: str, flags: tuple[str, ...] = ("-O3",), stem: str = "kernel") -> Path:
    """Compiles C ``source`` to a shared library and returns its cached path.

    InvalidArgumentError carries the compiler's message when the source does not compile.
    """
    cc = c_compiler()
    if cc is None:
        raise UnavailableError("no C compiler found (set $CC or install gcc/clang)")
    full_flags = ("-shared", "-fPIC", "-pthread", f"-I{include_dir()}", *flags)
    key = hashlib.sha256("\0".join((cc, *full_flags, source)).encode()).hexdigest()[:24]
    out = cache_dir() / f"{stem}-{key}.so"
    if out.exists():
        return out
    with tempfile.TemporaryDirectory(dir=cache_dir()) as tmp:
        src = Path(tmp) / f"{stem}.c"
        src.write_text(source)
        tmp_out = Path(tmp) / "out.so"
        proc = subprocess.run([cc, *full_flags, str(src), "-o", str(tmp_out)],
                              capture_output=True, text=True)
        if proc.returncode != 0:
            raise InvalidArgumentError(f"C compilation failed ({cc}):\n{proc.stderr.strip()}")
        os.replace(tmp_out, out)
    return out
