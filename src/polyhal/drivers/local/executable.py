"""Local executables: C sources compiled to shared libraries, or IREE system libraries."""

from __future__ import annotations

import ctypes
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..._native import load_shared
from ...errors import InvalidArgumentError
from ...executable import EntryPoint
from ..base import LoadedExecutable

FORMATS = ("c", "iree-system-library")


@dataclass
class LocalExecutable(LoadedExecutable):
    """Function pointers of each entry point (in index order) and what keeps them loaded."""

    functions: list[int]
    environment: int  # pointer passed as the kernels' first argument (0: a zeroed one)
    local_memory: list[int]
    keepalive: Any
    entry_points: tuple[EntryPoint, ...] | None = None
    binding_alignment: int = 1  # bindings' absolute offsets must be multiples of this

    def kernel(self, index: int, entry_point: EntryPoint) -> tuple[int, int, int]:
        return self.functions[index], self.environment, self.local_memory[index]


def load(fmt: str, payload: Any, entry_points: Sequence[EntryPoint]) -> LocalExecutable:
    if fmt == "c":
        return _load_c(payload, entry_points)
    return _load_iree(payload, entry_points)


def _load_c(source: Any, entry_points: Sequence[EntryPoint]) -> LocalExecutable:
    if isinstance(source, bytes):
        source = source.decode()
    if not isinstance(source, str):
        raise InvalidArgumentError(f"format 'c' takes C source text, got {type(source).__name__}")
    if not entry_points:
        raise InvalidArgumentError("format 'c' needs the entry points to be named")
    lib = load_shared(source, ("-O3", "-march=native"))
    functions = []
    for ep in entry_points:
        try:
            fn = getattr(lib, ep.name)
        except AttributeError:
            raise InvalidArgumentError(
                f"entry point {ep.name!r} is not a function of the C source"
            ) from None
        functions.append(ctypes.cast(fn, ctypes.c_void_p).value or 0)
    return LocalExecutable(functions, 0, [0] * len(functions), lib)


def _load_iree(path: Any, entry_points: Sequence[EntryPoint]) -> LocalExecutable:
    from .iree_library import load_iree_system_library

    library = load_iree_system_library(str(path))
    if entry_points:
        exports, own = library.resolve_entry_points(entry_points), None
    else:
        exports = list(library.exports)
        own = tuple(e.entry_point() for e in exports)
    # IREE's generated code assumes 64-byte aligned bindings (aligned vector loads).
    return LocalExecutable(
        [e.function for e in exports],
        library.environment,
        [e.local_memory_size for e in exports],
        library,
        own,
        binding_alignment=64,
    )
