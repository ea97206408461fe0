"""The local driver: the CPU, with kernels as C functions of IREE's executable-library ABI.

``local`` runs dispatches on a worker pool of the native executor; ``local-sync`` runs
everything inline on the calling thread, deterministically: the reference.
"""

from __future__ import annotations

from typing import Any

from ..._native import c_compiler
from .device import LocalDevice


def probe(name: str) -> tuple[int, str]:
    if c_compiler() is None:
        return 0, "no C compiler found (install gcc or set $CC)"
    return 1, ""


def create_device(name: str, index: int, options: dict[str, Any]) -> LocalDevice:
    return LocalDevice(sync=(name == "local-sync"), **options)
