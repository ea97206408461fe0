"""The Vulkan loader through the ``vulkan`` package: instances, physical devices, calls.

The package (cffi, ABI mode) gives the C declarations and the loaded ``libvulkan``.  Its
Python wrappers build every struct from keyword arguments and cost several microseconds
a call, so the driver calls the C functions directly: instance functions through the
loader, device functions through pointers from ``vkGetDeviceProcAddr`` (which also skips
the loader's dispatch trampoline).  Structs are built with ``ffi.new`` and kept alive by
whoever records or submits them.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

import vulkan as vk

from ...errors import HalError, InternalError, ResourceExhaustedError

ffi = vk.ffi
lib = vk.lib

#: VK_WHOLE_SIZE as the uint64 the C API takes (the package spells it -1).
WHOLE_SIZE = 0xFFFF_FFFF_FFFF_FFFF
API_1_2 = vk.VK_MAKE_VERSION(1, 2, 0)
API_1_3 = vk.VK_MAKE_VERSION(1, 3, 0)
VALIDATION_LAYER = "VK_LAYER_KHRONOS_validation"

_RESULT_NAMES = {
    getattr(vk, n): n
    for n in dir(vk)
    if n.startswith("VK_ERROR_") and isinstance(getattr(vk, n), int)
}


def error(result: int, what: str) -> HalError:
    """The HalError for a failed VkResult."""
    name = _RESULT_NAMES.get(result, f"VkResult {result}")
    if result in (
        vk.VK_ERROR_OUT_OF_HOST_MEMORY,
        vk.VK_ERROR_OUT_OF_DEVICE_MEMORY,
        vk.VK_ERROR_OUT_OF_POOL_MEMORY,
        vk.VK_ERROR_FRAGMENTED_POOL,
    ):
        return ResourceExhaustedError(f"{what}: {name}")
    return InternalError(f"{what}: {name}")


def check(result: int, what: str) -> None:
    if result < 0:
        raise error(result, what)


def new(ctype: str, init: Any = None) -> Any:
    return ffi.new(ctype, init)


def handle(ctype: str) -> Any:
    """A one-element output array for a created handle."""
    return ffi.new(ctype + "*")


def enumerate_array(fn: Any, ctype: str, *args: Any) -> Any:
    """Calls a two-call enumeration ``fn(*args, &count, array)`` and returns the array
    itself, holding exactly the items enumerated.

    The owning array, not a slice of it: a cffi slice (and a struct item) does not keep
    its array alive, so reading one after the array went was reading freed memory.  When
    the count changes between the two calls (a device appeared), it enumerates again.
    """
    count = ffi.new("uint32_t*")
    while True:
        fn(*args, count, ffi.NULL)
        size = count[0]
        array = ffi.new(f"{ctype}[]", size)
        fn(*args, count, array)
        if count[0] == size:
            return array


def string(chars: Any) -> str:
    return ffi.string(chars).decode("utf-8", "replace")


# -- instances ----------------------------------------------------------------------------
def instance_extensions() -> set[str]:
    props = enumerate_array(
        lib.vkEnumerateInstanceExtensionProperties, "VkExtensionProperties", ffi.NULL
    )
    return {string(p.extensionName) for p in props}


def instance_layers() -> set[str]:
    props = enumerate_array(lib.vkEnumerateInstanceLayerProperties, "VkLayerProperties")
    return {string(p.layerName) for p in props}


@dataclass
class Instance:
    """A VkInstance with the extensions it enabled."""

    handle: Any
    extensions: set[str]
    validation: bool
    keep: list = field(default_factory=list)

    def proc(self, name: str) -> Any:
        """An instance-level function pointer, or None where the loader lacks it."""
        ptr = lib.vkGetInstanceProcAddr(self.handle, name.encode())
        return None if ptr == ffi.NULL else ffi.cast("PFN_" + name, ptr)


_instances: dict[tuple[bool, bool], Instance] = {}
_instances_lock = threading.Lock()


def create_instance(validation: bool = False, sync_validation: bool = False) -> Instance:
    """The process's Vulkan instance for these settings, made on first use and kept.

    Devices share it instead of creating and destroying one each: on NVIDIA's driver in a
    process that also uses CUDA, creating a VkInstance after others were destroyed was
    seen to fail with VK_ERROR_INCOMPATIBLE_DRIVER (H100, driver 580.159.04).
    """
    key = (bool(validation), bool(validation and sync_validation))
    with _instances_lock:
        instance = _instances.get(key)
        if instance is None:
            instance = _instances[key] = _new_instance(*key)
        return instance


def _new_instance(validation: bool, sync_validation: bool) -> Instance:
    """A Vulkan 1.3 instance (1.2 devices work under it), with debug utils where present
    and the Khronos validation layer when asked (InternalError if it is not installed);
    ``sync_validation`` also turns on its synchronization (hazard) checks."""
    available = instance_extensions()
    extensions = [e for e in ("VK_EXT_debug_utils",) if e in available]
    layers = []
    if validation:
        if VALIDATION_LAYER not in instance_layers():
            raise InternalError(
                f"{VALIDATION_LAYER} is not installed (apt-get install vulkan-validationlayers)"
            )
        layers.append(VALIDATION_LAYER)
    keep = [
        ffi.new("char[]", b"polyhal"),
        [ffi.new("char[]", e.encode()) for e in extensions],
        [ffi.new("char[]", name.encode()) for name in layers],
    ]
    app = new(
        "VkApplicationInfo*",
        {
            "sType": vk.VK_STRUCTURE_TYPE_APPLICATION_INFO,
            "pApplicationName": keep[0],
            "applicationVersion": 1,
            "pEngineName": keep[0],
            "engineVersion": 1,
            "apiVersion": API_1_3,
        },
    )
    ext_names = ffi.new("char*[]", keep[1])
    layer_names = ffi.new("char*[]", keep[2])
    enables = ffi.new(
        "VkValidationFeatureEnableEXT[1]",
        [vk.VK_VALIDATION_FEATURE_ENABLE_SYNCHRONIZATION_VALIDATION_EXT],
    )
    features = new(
        "VkValidationFeaturesEXT*",
        {
            "sType": vk.VK_STRUCTURE_TYPE_VALIDATION_FEATURES_EXT,
            "enabledValidationFeatureCount": 1,
            "pEnabledValidationFeatures": enables,
        },
    )
    info = new(
        "VkInstanceCreateInfo*",
        {
            "sType": vk.VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO,
            "pApplicationInfo": app,
            "pNext": features if validation and sync_validation else ffi.NULL,
            "enabledExtensionCount": len(extensions),
            "ppEnabledExtensionNames": ext_names,
            "enabledLayerCount": len(layers),
            "ppEnabledLayerNames": layer_names,
        },
    )
    out = handle("VkInstance")
    check(lib.vkCreateInstance(info, ffi.NULL, out), "vkCreateInstance")
    return Instance(out[0], set(extensions), validation)


# -- physical devices ---------------------------------------------------------------------
#: Discrete GPUs first, CPUs (lavapipe) last, so "vulkan" means the best device here.
_TYPE_ORDER = {
    vk.VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: 0,
    vk.VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: 1,
    vk.VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: 2,
    vk.VK_PHYSICAL_DEVICE_TYPE_CPU: 3,
}


@dataclass
class PhysicalDevice:
    handle: Any
    name: str
    api_version: int
    device_type: int
    vendor_id: int
    driver: str
    queue_family: int
    extensions: set[str]


def _compute_family(physical: Any) -> int | None:
    """A queue family with compute; a compute-only one first (the async compute queues)."""
    families = enumerate_array(
        lib.vkGetPhysicalDeviceQueueFamilyProperties, "VkQueueFamilyProperties", physical
    )
    compute = [i for i, f in enumerate(families) if f.queueFlags & vk.VK_QUEUE_COMPUTE_BIT]
    dedicated = [i for i in compute if not families[i].queueFlags & vk.VK_QUEUE_GRAPHICS_BIT]
    return (dedicated or compute or [None])[0]


def _has_timeline_semaphores(physical: Any) -> bool:
    f12 = new(
        "VkPhysicalDeviceVulkan12Features*",
        {"sType": vk.VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES},
    )
    f2 = new(
        "VkPhysicalDeviceFeatures2*",
        {"sType": vk.VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2, "pNext": f12},
    )
    lib.vkGetPhysicalDeviceFeatures2(physical, f2)
    return bool(f12.timelineSemaphore)


def physical_devices(instance: Instance) -> tuple[list[PhysicalDevice], list[str]]:
    """Every Vulkan 1.2 device with a compute queue and timeline semaphores, best first,
    and why the others were left out."""
    found, skipped = [], []
    for physical in enumerate_array(
        lib.vkEnumeratePhysicalDevices, "VkPhysicalDevice", instance.handle
    ):
        props = new("VkPhysicalDeviceProperties*")
        lib.vkGetPhysicalDeviceProperties(physical, props)
        name = string(props.deviceName)
        family = _compute_family(physical)
        if props.apiVersion < API_1_2:
            skipped.append(
                f"{name}: Vulkan {vk.VK_VERSION_MAJOR(props.apiVersion)}."
                f"{vk.VK_VERSION_MINOR(props.apiVersion)} < 1.2"
            )
            continue
        if family is None:
            skipped.append(f"{name}: no compute queue")
            continue
        if not _has_timeline_semaphores(physical):
            skipped.append(f"{name}: no timeline semaphores")
            continue
        exts = {
            string(p.extensionName)
            for p in enumerate_array(
                lib.vkEnumerateDeviceExtensionProperties,
                "VkExtensionProperties",
                physical,
                ffi.NULL,
            )
        }
        driver = new(
            "VkPhysicalDeviceDriverProperties*",
            {"sType": vk.VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DRIVER_PROPERTIES},
        )
        p2 = new(
            "VkPhysicalDeviceProperties2*",
            {"sType": vk.VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2, "pNext": driver},
        )
        lib.vkGetPhysicalDeviceProperties2(physical, p2)
        found.append(
            PhysicalDevice(
                physical,
                name,
                props.apiVersion,
                props.deviceType,
                props.vendorID,
                f"{string(driver.driverName)} {string(driver.driverInfo)}".strip(),
                family,
                exts,
            )
        )
    found.sort(key=lambda p: _TYPE_ORDER.get(p.device_type, 4))
    return found, skipped


_probe_lock = threading.Lock()
_probe_result: tuple[int, str] | None = None


def probe() -> tuple[int, str]:
    """(usable device count, why none) — enumerated once per process."""
    global _probe_result
    with _probe_lock:
        if _probe_result is None:
            devices, skipped = physical_devices(create_instance())
            reason = (
                ""
                if devices
                else (
                    "no Vulkan 1.2 device with a compute queue and timeline semaphores"
                    + (f" ({'; '.join(skipped)})" if skipped else " (no Vulkan device found)")
                )
            )
            _probe_result = (len(devices), reason)
        return _probe_result


class DeviceFunctions:
    """Device-level entry points, fetched once with vkGetDeviceProcAddr.

    ``names`` maps attribute → candidate C names (core first, then the extension's);
    an attribute is None when the device offers none of them.
    """

    def __init__(self, device: Any, names: dict[str, tuple[str, ...]]):
        for attr, candidates in names.items():
            fn = None
            for name in candidates:
                ptr = lib.vkGetDeviceProcAddr(device, name.encode())
                if ptr != ffi.NULL:
                    fn = ffi.cast("PFN_" + candidates[0], ptr)
                    break
            setattr(self, attr, fn)
