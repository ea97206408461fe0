"""The driver registry: a driver is a module with ``probe(name)`` and ``create_device``.

``probe(name) -> (device_count, reason)``: how many devices the driver sees here and, when
none, what is missing.  ``create_device(name, index, options) -> DriverDevice``.
Modules are imported on first use so a missing GPU stack costs nothing.
"""

from __future__ import annotations

import importlib
from types import ModuleType

#: Driver name → module.  "local-sync" is the local driver run inline on the caller.
DRIVER_MODULES: dict[str, str] = {
    "local": "polyhal.drivers.local",
    "local-sync": "polyhal.drivers.local",
    "vulkan": "polyhal.drivers.vulkan",
    "cuda": "polyhal.drivers.cuda",
    "metal": "polyhal.drivers.metal",
}


def load(name: str) -> tuple[ModuleType | None, str]:
    """The driver module for ``name`` and "" or None and why it cannot be loaded."""
    try:
        return importlib.import_module(DRIVER_MODULES[name]), ""
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
