"""The driver registry: driver name → the module implementing the contract of
:mod:`polyhal.drivers.base` (``probe(name)`` and ``create_device(name, index, options)``).

Modules are imported on first use, so a missing GPU stack costs nothing.  A name with no
module is a planned driver: it is listed, with the reason it is unavailable.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .base import DriverModule

#: Driver name → module, or None for a planned driver.  "local-sync" is the local driver
#: run inline on the caller.
DRIVER_MODULES: dict[str, str | None] = {
    "local": "polyhal.drivers.local",
    "local-sync": "polyhal.drivers.local",
    "vulkan": "polyhal.drivers.vulkan",
    "cuda": "polyhal.drivers.cuda",
    "metal": None,
}
#: Why a planned driver is unavailable.
PLANNED = {
    "metal": "the metal driver is planned, not implemented (no Apple machine to "
    "build and test it on)"
}


def load(name: str) -> tuple[DriverModule | None, str]:
    """The driver module for ``name`` and "", or None and why it cannot be loaded."""
    module = DRIVER_MODULES[name]
    if module is None:
        return None, PLANNED[name]
    try:
        return importlib.import_module(module), ""
    except ImportError as e:
        return None, f"{name} driver not importable: {e}"


def probe(name: str) -> tuple[int, str]:
    """(device count, reason when 0) for a driver name."""
    module, reason = load(name)
    if module is None:
        return 0, reason
    try:
        return module.probe(name)
    except Exception as e:  # a broken GPU stack must not break device listing
        return 0, f"{name} probe failed: {e}"
