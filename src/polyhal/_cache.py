"""The one cache of files polyhal builds at first use: C kernels' shared libraries, SPIR-V
compiled from GLSL, and CUDA images (cubin or PTX) compiled by NVRTC.

An entry is named by its kind and a hash of everything the output depends on: the source,
the tool's identity and version, the flags and, for builds tuned to the host, the target
CPU.  A cache shared between hosts, compilers or versions therefore never serves a foreign
build.  The folder is ``$POLYHAL_CACHE_DIR``, else the user's cache folder
(``$XDG_CACHE_HOME/polyhal``); when that cannot be written, a private temporary folder of
this process (with a warning).  Writes are atomic (built under a temporary name in the same
folder, then renamed), so concurrent processes sharing the cache never read a half-written
file, and an entry that fails its kind's check (truncated, empty, garbage) is built again.
"""

from __future__ import annotations

import atexit
import hashlib
import os
import shutil
import tempfile
import warnings
from collections.abc import Callable, Iterable
from pathlib import Path

_usable_dirs: dict[Path, Path] = {}  # a configured cache folder → the folder used for it
_private_dir: Path | None = None


def cache_dir() -> Path:
    """The folder to cache built files in: the configured one when it can be written,
    else a private temporary folder, removed when the process exits."""
    base = os.environ.get("POLYHAL_CACHE_DIR")
    if base:
        path = Path(base)
    else:
        xdg = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        path = Path(xdg) / "polyhal"
    usable = _usable_dirs.get(path)
    if usable is None:
        try:
            path.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryFile(dir=path):  # permissions alone mislead root
                pass
            usable = path
        except OSError as e:
            usable = private_dir()
            warnings.warn(
                f"polyhal: cannot write the cache folder {str(path)!r} ({e}); "
                f"caching in {str(usable)!r} for this process",
                RuntimeWarning,
                stacklevel=3,
            )
        _usable_dirs[path] = usable
    return usable


def private_dir() -> Path:
    """This process's own cache folder (removed at exit): where builds go when the
    configured folder cannot be written."""
    global _private_dir
    if _private_dir is None:
        _private_dir = Path(tempfile.mkdtemp(prefix="polyhal-cache-"))
        atexit.register(shutil.rmtree, _private_dir, True)
    return _private_dir


def entry_name(kind: str, suffix: str, key_parts: Iterable[str | bytes]) -> str:
    """``<kind>-<hash of key_parts>.<suffix>``: the name of an entry."""
    digest = hashlib.sha256()
    for part in key_parts:
        data = part if isinstance(part, bytes) else part.encode("utf-8", "surrogatepass")
        digest.update(len(data).to_bytes(8, "little"))  # no two part lists hash alike
        digest.update(data)
    return f"{kind}-{digest.hexdigest()[:24]}.{suffix}"


def cached(
    kind: str,
    suffix: str,
    key_parts: Iterable[str | bytes],
    build: Callable[[Path], None],
    valid: Callable[[Path], bool],
    rebuild: bool = False,
) -> Path:
    """The path of the entry for ``key_parts``, building it when it is missing, fails
    ``valid`` or ``rebuild`` is asked for.

    ``build(path)`` writes the output to ``path`` (a temporary name in the cache folder)
    and raises the HalError that explains a failure (a compiler's message); the entry is
    renamed into place only when ``build`` returned.
    """
    name = entry_name(kind, suffix, key_parts)
    out = cache_dir() / name
    if not rebuild and valid(out):
        return out
    try:
        _build_into(out, build)
    except OSError:  # the folder stopped being writable since it was chosen
        out = private_dir() / name
        _build_into(out, build)
    return out


def _build_into(out: Path, build: Callable[[Path], None]) -> None:
    with tempfile.TemporaryDirectory(dir=out.parent) as tmp:
        partial = Path(tmp) / out.name
        build(partial)
        os.replace(partial, out)
