"""The local driver: the CPU, with kernels as C functions of IREE's executable-library ABI.

``local`` runs dispatches on a worker pool of the native executor; ``local-sync`` runs
everything inline on the calling thread, deterministically: the reference.
"""

from __future__ import annotations

from typing import Any

from ...errors import HalError
from .device import LocalDevice
from .executor import library
from .iree_library import load_iree_system_library

#: The driver contract (probe, create_device) and the one reader of IREE's executable-
#: library ABI, which polyhal.iree uses to list a library's exports without a device.
__all__ = ["create_device", "load_iree_system_library", "probe"]


def probe(name: str) -> tuple[int, str]:
    # The device exists when the executor built with the package loads.
    try:
        library()
    except HalError as e:
        return 0, str(e)
    return 1, ""


def create_device(name: str, index: int, options: dict[str, Any]) -> LocalDevice:
    return LocalDevice(sync=(name == "local-sync"), **options)
