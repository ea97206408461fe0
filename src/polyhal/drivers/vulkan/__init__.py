"""The vulkan driver: the HAL mapped one to one onto Vulkan 1.2+ compute.

Built on the ``vulkan`` package (cffi bindings, Apache-2.0).  Every Vulkan 1.2 physical
device with a compute queue and timeline semaphores is a device, best first (discrete
GPUs before Mesa's lavapipe): ``vulkan:N`` selects one.
"""

from __future__ import annotations

from typing import Any

from ..base import DriverDevice


def probe(name: str) -> tuple[int, str]:
    try:
        from . import instance
    except (ImportError, OSError) as e:  # no `vulkan` package, or no libvulkan.so.1
        return 0, f"vulkan unavailable: {e} (pip install vulkan; apt-get install libvulkan1)"
    return instance.probe()


def create_device(name: str, index: int, options: dict[str, Any]) -> DriverDevice:
    from .device import VulkanDevice

    return VulkanDevice(index, **options)
