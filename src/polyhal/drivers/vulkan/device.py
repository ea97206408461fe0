"""The Vulkan device: a VkDevice with one compute queue, its caches and host transfers.

Features are taken where the device has them: VK_KHR_push_descriptor (descriptor pools
otherwise), synchronization2 (core 1.3 or the KHR extension; vkCmdPipelineBarrier
otherwise), VK_EXT_debug_utils labels.  Timeline semaphores are required (probe skips
devices without them).  Options: ``dispatch_type`` ("concurrent" | "serial"),
``validation`` (the Khronos layer, True or "sync" for its hazard checks too; default
``$POLYHAL_VULKAN_VALIDATION``; messages land in ``validation_messages`` and on stderr),
``push_descriptors`` and ``synchronization2`` (None: when present; False: never; defaults
``$POLYHAL_VULKAN_PUSH_DESCRIPTORS`` and ``$POLYHAL_VULKAN_SYNCHRONIZATION2``, so a whole
test suite can run on the fallback paths).

Checked mode (``checked=True``) enables ``robustBufferAccess``, and ``robustBufferAccess2``
(VK_EXT_robustness2) where the device has it: a kernel's out-of-bounds reads then return
zero (or values from inside its binding) and its out-of-bounds writes are dropped, so it
cannot touch memory outside the range bound to it; ``info["robust_buffer_access"]``
says which is on.  Descriptors cover the bound range rounded up to whole 4-byte words
(SPIR-V's storage accesses are words; recording.make_descriptor_writes says why).

Indirect workgroup counts are checked on the device, in every mode: before each
vkCmdDispatchIndirect a one-invocation shader (``indirect_check``) copies the counts into
scratch arguments, or zeros and a note in a host-visible status slot when they exceed
``maxComputeWorkGroupCount`` or 2**32 workgroups in all; the dispatch reads the scratch
arguments, and the submission then fails with OutOfRangeError.  Each submission with such
checks takes one status slot, whose index a short prologue command buffer stores where
the shader finds it (a recording is reused across submissions, so it cannot hold it).

After ``close()`` every method raises FailedPreconditionError.
"""

from __future__ import annotations

import itertools
import logging
import os
import struct
import sys
import threading
import time
import weakref
from collections.abc import Callable, Collection, Sequence
from typing import Any

import vulkan as vk

from ...errors import (
    FailedPreconditionError,
    HalError,
    InvalidArgumentError,
    NotFoundError,
    OutOfRangeError,
)
from ...executable import EntryPoint
from ...tracing import now_ns
from ...types import MemoryType
from .. import host_collective
from ..base import DriverChannel, DriverDevice, Limits, Work
from . import barriers, collectives, encoder, executable, indirect_check, recording
from .buffer import VulkanAllocation
from .executable import EntryPipeline
from .instance import (
    API_1_3,
    DeviceFunctions,
    check,
    create_instance,
    enumerate_array,
    ffi,
    handle,
    lib,
    new,
    physical_devices,
)
from .queue import Queue

_log = logging.getLogger(__name__)
_MAX_CACHED_WRITES = 4096
#: Status slots, so submissions with indirect dispatches in flight at once; one more
#: waits for a slot to come back.
_STATUS_SLOTS = 1024

#: Device functions the encoder calls: attribute → (core name, extension name…).
_FUNCTIONS = {
    "begin_command_buffer": ("vkBeginCommandBuffer",),
    "end_command_buffer": ("vkEndCommandBuffer",),
    "bind_pipeline": ("vkCmdBindPipeline",),
    "push_constants": ("vkCmdPushConstants",),
    "bind_descriptor_sets": ("vkCmdBindDescriptorSets",),
    "dispatch": ("vkCmdDispatch",),
    "dispatch_indirect": ("vkCmdDispatchIndirect",),
    "pipeline_barrier": ("vkCmdPipelineBarrier",),
    "fill_buffer": ("vkCmdFillBuffer",),
    "update_buffer": ("vkCmdUpdateBuffer",),
    "copy_buffer": ("vkCmdCopyBuffer",),
    "set_event": ("vkCmdSetEvent",),
    "reset_event": ("vkCmdResetEvent",),
    "wait_events": ("vkCmdWaitEvents",),
}

#: Optional features turned on where the device has them (kernels may need them).
_FEATURES = ("shaderInt64", "shaderInt16", "shaderFloat64")
_FEATURES_11 = (
    "storageBuffer16BitAccess",
    "uniformAndStorageBuffer16BitAccess",
    "variablePointersStorageBuffer",
    "variablePointers",
)
_FEATURES_12 = (
    "shaderInt8",
    "shaderFloat16",
    "storageBuffer8BitAccess",
    "uniformAndStorageBuffer8BitAccess",
    "shaderBufferInt64Atomics",
    "scalarBlockLayout",
    "vulkanMemoryModel",
    "vulkanMemoryModelDeviceScope",
    "timelineSemaphore",
)


_TRUE, _FALSE = ("1", "true", "yes", "on"), ("", "0", "false", "no", "off")

# VkTimeDomainEXT values (the vulkan package leaves these constants None).
_DEVICE_DOMAIN, _MONOTONIC_DOMAIN = 0, 1
_CALIBRATED_TIMESTAMP_INFO = 1000184000  # VK_STRUCTURE_TYPE_CALIBRATED_TIMESTAMP_INFO_EXT


def _delta(tick: int, base: int, mask: int) -> int:
    """``tick - base`` in ticks of a ``mask``-wide counter that may have wrapped between."""
    delta = (tick - base) & mask
    return delta - mask - 1 if delta > mask >> 1 else delta


def _time_domains(instance: Any, physical: Any) -> set[int]:
    """The time domains VK_EXT_calibrated_timestamps can read together on ``physical``."""
    fn = instance.proc("vkGetPhysicalDeviceCalibrateableTimeDomainsEXT")
    if fn is None:
        return set()
    return set(enumerate_array(fn, "VkTimeDomainEXT", physical.handle))


def _flag(value: Any, default: bool, what: str) -> bool:
    """An on/off option: None (``default``), a bool, or one of the strings an environment
    variable may hold; InvalidArgumentError for anything else."""
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in _TRUE + _FALSE:
        return value.lower() in _TRUE
    raise InvalidArgumentError(f"{what} is True, False or None, got {value!r}")


class VulkanDevice(DriverDevice):
    """A Vulkan physical device's compute queue behind the HAL's driver interface."""

    #: Set by polyhal.tracing while the device is traced: submissions then run recordings
    #: with timestamp queries around each dispatch (encoder.Encoded.traced_recording).

    def __init__(
        self,
        index: int,
        dispatch_type: str = "concurrent",
        validation: bool | str | None = None,
        push_descriptors: bool | None = None,
        synchronization2: bool | None = None,
        checked: bool = False,
        **options: Any,
    ):
        if options:
            raise InvalidArgumentError(f"unknown vulkan device options {sorted(options)}")
        self.handle = None
        self.checked = checked
        # Guards pins and frees of allocations (re-entrant: a collection can free an
        # allocation while this thread already holds it).
        self.memory_lock = threading.RLock()
        #: The VkDevice after close() while host views of its memory live (see buffer.py).
        self.lingering: Any = None
        self.serial = dispatch_type == "serial"
        self.validation_messages: list[str] = []
        self._slow_paths_logged: set[str] = set()
        # Every option is checked before anything is created.
        env = os.environ.get
        push_descriptors = _flag(
            push_descriptors,
            _flag(env("POLYHAL_VULKAN_PUSH_DESCRIPTORS"), True, "$POLYHAL_VULKAN_PUSH_DESCRIPTORS"),
            "push_descriptors",
        )
        synchronization2 = _flag(
            synchronization2,
            _flag(env("POLYHAL_VULKAN_SYNCHRONIZATION2"), True, "$POLYHAL_VULKAN_SYNCHRONIZATION2"),
            "synchronization2",
        )
        what = "validation"
        if validation is None:
            what = "$POLYHAL_VULKAN_VALIDATION"
            validation = os.environ.get(what[1:])
        sync_validation = isinstance(validation, str) and validation.lower() == "sync"
        validation = sync_validation or _flag(validation, False, f'{what} (or "sync")')
        self.instance = create_instance(validation, sync_validation)
        devices, _ = physical_devices(self.instance)
        if not 0 <= index < len(devices):
            raise NotFoundError(f"no Vulkan device {index}; there are {len(devices)}")
        self.physical = physical = devices[index]
        self.queue_family = physical.queue_family
        self._messenger = self._create_messenger() if validation else None
        try:
            self._create_device(push_descriptors, synchronization2)
        except BaseException:
            self._destroy_messenger()
            raise
        self.fn = DeviceFunctions(
            self.handle,
            _FUNCTIONS
            | {
                "push_descriptor_set": ("vkCmdPushDescriptorSetKHR",)
                if self.push_descriptors
                else (),
                "pipeline_barrier2": ("vkCmdPipelineBarrier2", "vkCmdPipelineBarrier2KHR")
                if self.synchronization2
                else (),
                "get_calibrated_timestamps": ("vkGetCalibratedTimestampsEXT",)
                if self.calibrated
                else (),
            },
        )
        self.begin_label = self.instance.proc("vkCmdBeginDebugUtilsLabelEXT")
        self.end_label = self.instance.proc("vkCmdEndDebugUtilsLabelEXT")
        self._read_properties()
        self.queue = Queue(self.handle, self.queue_family)

        self.executable_formats = executable.formats()
        self.allocations: weakref.WeakSet = weakref.WeakSet()
        self.recordings: weakref.WeakSet = weakref.WeakSet()
        self.cache_lock = threading.Lock()
        #: Descriptor writes per (plan id, uid, offset, length, …): (groups, what keeps
        #: them valid), one value, so that a reader never holds writes whose infos went.
        self.descriptor_writes: dict[tuple, tuple[list, list]] = {}
        self._barriers: dict[tuple, barriers.Barrier] = {}
        self._set_layouts: dict[tuple, Any] = {}
        self._pipeline_layouts: dict[tuple, tuple[Any, tuple]] = {}
        self._pipelines: dict[tuple, Any] = {}
        self._plans: dict[tuple, int] = {}
        self._events: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        cache_info = new(
            "VkPipelineCacheCreateInfo*", {"sType": vk.VK_STRUCTURE_TYPE_PIPELINE_CACHE_CREATE_INFO}
        )
        out = handle("VkPipelineCache")
        check(
            lib.vkCreatePipelineCache(self.handle, cache_info, ffi.NULL, out),
            "vkCreatePipelineCache",
        )
        self.pipeline_cache = out[0]
        self.full_barrier = barriers.full_barrier(self)
        self.check_barrier = barriers.check_barrier(self)
        # Between the command buffers of a submission (the HAL runs them one after
        # another), and after its last one (the host may read what it wrote).
        self._between = recording.record_barrier_only(self, self.full_barrier)
        self._to_host = recording.record_barrier_only(self, barriers.host_barrier(self))
        # An empty binding is bound to these 4 bytes: Vulkan has no empty range, and
        # VK_WHOLE_SIZE would hand the kernel the rest of the buffer.
        self.empty_binding = VulkanAllocation(self, 4, MemoryType.DEVICE_LOCAL)
        self._check_entry: EntryPipeline | None = None
        self._status: VulkanAllocation | None = None
        self._status_free: list[int] = []
        self._status_cond = threading.Condition(threading.Lock())
        self._prologues: dict[int, recording.Recording] = {}
        self._sites = itertools.count(1)
        #: Runs submissions holding collectives (collectives.py), started at the first.
        self._collectives: collectives.CollectiveThread | None = None

    # -- creation -----------------------------------------------------------------------------
    def _create_messenger(self) -> Any:
        create = self.instance.proc("vkCreateDebugUtilsMessengerEXT")
        if create is None:
            return None

        def callback(severity: int, types: int, data: Any, user: Any) -> int:
            message = ffi.string(data.pMessage).decode("utf-8", "replace")
            self.validation_messages.append(message)
            print(f"[vulkan validation] {message}", file=sys.stderr)
            return 0

        self._callback = ffi.callback("PFN_vkDebugUtilsMessengerCallbackEXT", callback)
        info = new(
            "VkDebugUtilsMessengerCreateInfoEXT*",
            {
                "sType": vk.VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT,
                "messageSeverity": vk.VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT
                | vk.VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT,
                "messageType": vk.VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT
                | vk.VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT
                | vk.VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT,
                "pfnUserCallback": self._callback,
            },
        )
        out = handle("VkDebugUtilsMessengerEXT")
        check(create(self.instance.handle, info, ffi.NULL, out), "vkCreateDebugUtilsMessengerEXT")
        return out[0]

    def note_slow_path(self, kind: str, what: str) -> None:
        """Logs (INFO, logger polyhal) that a command took the slow path ``kind``, once per
        device and kind: the encoder calls it on every such command, the log says it once."""
        if kind not in self._slow_paths_logged:
            self._slow_paths_logged.add(kind)
            _log.info("vulkan %s: %s (slow path; said once per device)", self.name, what)

    def _create_device(self, push_descriptors: bool, synchronization2: bool) -> None:
        physical = self.physical
        exts = physical.extensions
        api_1_3 = physical.api_version >= API_1_3
        f13 = new(
            "VkPhysicalDeviceVulkan13Features*",
            {"sType": vk.VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_3_FEATURES},
        )
        sync2_khr = new(
            "VkPhysicalDeviceSynchronization2Features*",
            {"sType": vk.VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SYNCHRONIZATION_2_FEATURES},
        )
        f12 = new(
            "VkPhysicalDeviceVulkan12Features*",
            {
                "sType": vk.VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES,
                "pNext": f13
                if api_1_3
                else sync2_khr
                if "VK_KHR_synchronization2" in exts
                else ffi.NULL,
            },
        )
        f11 = new(
            "VkPhysicalDeviceVulkan11Features*",
            {"sType": vk.VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES, "pNext": f12},
        )
        robust2 = new(
            "VkPhysicalDeviceRobustness2FeaturesEXT*",
            {"sType": vk.VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_ROBUSTNESS_2_FEATURES_EXT, "pNext": f11},
        )
        has_robust2 = "VK_EXT_robustness2" in exts
        f2 = new(
            "VkPhysicalDeviceFeatures2*",
            {
                "sType": vk.VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2,
                "pNext": robust2 if has_robust2 else f11,
            },
        )
        lib.vkGetPhysicalDeviceFeatures2(physical.handle, f2)
        has_sync2 = bool(f13.synchronization2 if api_1_3 else sync2_khr.synchronization2)

        self.synchronization2 = synchronization2 and has_sync2
        self.push_descriptors = push_descriptors and "VK_KHR_push_descriptor" in exts
        for wanted, got, fallback in (
            (
                push_descriptors,
                self.push_descriptors,
                "no VK_KHR_push_descriptor: descriptor sets come from descriptor pools",
            ),
            (
                synchronization2,
                self.synchronization2,
                "no synchronization2: plain vkCmdPipelineBarrier barriers",
            ),
        ):
            if wanted and not got:
                _log.info("vulkan %s: %s", physical.name, fallback)
        extensions = []
        if self.push_descriptors:
            extensions.append("VK_KHR_push_descriptor")
        robust = self.checked and bool(f2.features.robustBufferAccess)
        robust2 = robust and has_robust2 and bool(robust2.robustBufferAccess2)
        if robust2:
            extensions.append("VK_EXT_robustness2")
        # Traced submissions map timestamps onto the host clock with it (_calibrate).
        self.calibrated = (
            sys.platform == "linux"
            and "VK_EXT_calibrated_timestamps" in exts
            and _MONOTONIC_DOMAIN in _time_domains(self.instance, physical)
        )
        if self.calibrated:
            extensions.append("VK_EXT_calibrated_timestamps")
        self.robust_access = (
            "robustBufferAccess2" if robust2 else "robustBufferAccess" if robust else False
        )

        e13 = new(
            "VkPhysicalDeviceVulkan13Features*",
            {
                "sType": vk.VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_3_FEATURES,
                "synchronization2": self.synchronization2,
            },
        )
        e_sync2 = new(
            "VkPhysicalDeviceSynchronization2Features*",
            {
                "sType": vk.VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SYNCHRONIZATION_2_FEATURES,
                "synchronization2": 1,
            },
        )
        tail: Any = ffi.NULL
        if api_1_3:
            tail = e13
        elif self.synchronization2:
            tail = e_sync2
            extensions.append("VK_KHR_synchronization2")
        e12 = new(
            "VkPhysicalDeviceVulkan12Features*",
            {
                "sType": vk.VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES,
                "pNext": tail,
                **{name: getattr(f12, name) for name in _FEATURES_12},
            },
        )
        e11 = new(
            "VkPhysicalDeviceVulkan11Features*",
            {
                "sType": vk.VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES,
                "pNext": e12,
                **{name: getattr(f11, name) for name in _FEATURES_11},
            },
        )
        e_robust2 = new(
            "VkPhysicalDeviceRobustness2FeaturesEXT*",
            {
                "sType": vk.VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_ROBUSTNESS_2_FEATURES_EXT,
                "pNext": e11,
                "robustBufferAccess2": 1,
            },
        )
        e2 = new(
            "VkPhysicalDeviceFeatures2*",
            {
                "sType": vk.VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2,
                "pNext": e_robust2 if robust2 else e11,
                "features": {
                    **{name: getattr(f2.features, name) for name in _FEATURES},
                    "robustBufferAccess": robust,
                },
            },
        )
        priority = ffi.new("float[1]", [1.0])
        queue_info = new(
            "VkDeviceQueueCreateInfo*",
            {
                "sType": vk.VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
                "queueFamilyIndex": self.queue_family,
                "queueCount": 1,
                "pQueuePriorities": priority,
            },
        )
        names = [ffi.new("char[]", e.encode()) for e in extensions]
        name_array = ffi.new("char*[]", names)
        info = new(
            "VkDeviceCreateInfo*",
            {
                "sType": vk.VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO,
                "pNext": e2,
                "queueCreateInfoCount": 1,
                "pQueueCreateInfos": queue_info,
                "enabledExtensionCount": len(extensions),
                "ppEnabledExtensionNames": name_array,
            },
        )
        out = handle("VkDevice")
        check(lib.vkCreateDevice(physical.handle, info, ffi.NULL, out), "vkCreateDevice")
        self.handle = out[0]
        self.extensions = extensions

    def _read_properties(self) -> None:
        physical = self.physical
        push = new(
            "VkPhysicalDevicePushDescriptorPropertiesKHR*",
            {"sType": vk.VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PUSH_DESCRIPTOR_PROPERTIES_KHR},
        )
        p11 = new(
            "VkPhysicalDeviceVulkan11Properties*",
            {
                "sType": vk.VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_PROPERTIES,
                "pNext": push if "VK_KHR_push_descriptor" in physical.extensions else ffi.NULL,
            },
        )
        p2 = new(
            "VkPhysicalDeviceProperties2*",
            {"sType": vk.VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2, "pNext": p11},
        )
        lib.vkGetPhysicalDeviceProperties2(physical.handle, p2)
        limits = p2.properties.limits
        families = enumerate_array(
            lib.vkGetPhysicalDeviceQueueFamilyProperties, "VkQueueFamilyProperties", physical.handle
        )
        #: Bits of the queue's timestamps (0: none; traced submissions then time nothing)
        #: and nanoseconds per tick.
        self.timestamp_bits = int(families[self.queue_family].timestampValidBits)
        self.timestamp_period = float(limits.timestampPeriod)
        self.storage_alignment = max(4, int(limits.minStorageBufferOffsetAlignment))
        bindings = min(
            32, limits.maxPerStageDescriptorStorageBuffers, limits.maxDescriptorSetStorageBuffers
        )
        if self.push_descriptors:
            bindings = min(bindings, push.maxPushDescriptors)
        self.limits = Limits(
            max_bindings=bindings,
            max_push_constants=min(64, limits.maxPushConstantsSize // 4),
            max_workgroup_size=tuple(limits.maxComputeWorkGroupSize),
            max_workgroup_invocations=limits.maxComputeWorkGroupInvocations,
            max_workgroup_count=tuple(limits.maxComputeWorkGroupCount),
            max_allocation_size=int(p11.maxMemoryAllocationSize),
            collectives=True,  # through host memory and the host engine (collectives.py)
        )
        memory = new("VkPhysicalDeviceMemoryProperties*")
        lib.vkGetPhysicalDeviceMemoryProperties(physical.handle, memory)
        self.memory_types = [
            memory.memoryTypes[i].propertyFlags for i in range(memory.memoryTypeCount)
        ]
        api = physical.api_version
        self.name = physical.name
        self.info = {
            "vendor": f"{physical.vendor_id:#06x}",
            "driver": physical.driver,
            "api_version": f"{vk.VK_VERSION_MAJOR(api)}.{vk.VK_VERSION_MINOR(api)}."
            f"{vk.VK_VERSION_PATCH(api)}",
            "queue_family": self.queue_family,
            "push_descriptors": self.push_descriptors,
            "synchronization2": self.synchronization2,
            "debug_utils": self.begin_label is not None,
            "validation": self.instance.validation,
            "dispatch_type": "serial" if self.serial else "concurrent",
            "checked": self.checked,
            "robust_buffer_access": self.robust_access,
            "min_storage_buffer_offset_alignment": self.storage_alignment,
            "limits": self.limits.as_dict(),
        }

    # -- memory ---------------------------------------------------------------------------------
    def allocate(self, size: int, memory_type: MemoryType, usage: int) -> VulkanAllocation:
        self._check_open()
        return VulkanAllocation(self, size, memory_type)

    @property
    def live_allocations(self) -> int:
        """How many allocations (the driver's own included) still hold device memory."""
        return sum(1 for alloc in list(self.allocations) if alloc.memory is not None)

    def pin(self, alloc: VulkanAllocation) -> None:
        """Keeps ``alloc``'s memory until the matching ``unpin``.

        FailedPreconditionError when it is already freed: a binding table entry (which
        nothing pins before its submission runs) deallocated by a ``queue_dealloca`` that
        ran first, or a closed device.
        """
        self.pin_all((alloc,))

    def pin_all(self, allocs: Collection[VulkanAllocation]) -> None:
        """``pin`` of each of ``allocs``, under one lock; none is pinned when one fails."""
        with self.memory_lock:
            if not all(alloc.buffer is not None for alloc in allocs):
                self._check_open()
                raise FailedPreconditionError(
                    "a buffer this work uses was deallocated (queue_dealloca) before it ran"
                )
            for alloc in allocs:
                alloc.pins += 1

    def unpin(self, alloc: VulkanAllocation) -> None:
        """Drops a pin; the last one frees a released allocation."""
        self.unpin_all((alloc,))

    def unpin_all(self, allocs: Collection[VulkanAllocation]) -> None:
        """``unpin`` of each of ``allocs``, under one lock."""
        with self.memory_lock:
            for alloc in allocs:
                alloc.pins -= 1
                if not alloc.pins and alloc.released:
                    alloc.free()

    def release(self, alloc: Any) -> None:
        """Frees the memory now, or when the last recording using it goes (see ``pin``)."""
        self._check_open()
        with self.memory_lock:
            alloc.released = True
            if not alloc.pins:
                alloc.free()

    def read(self, alloc: Any, offset: int, length: int) -> bytes:
        self._check_open()
        self.pin(alloc)
        try:
            if alloc.mapped is not None:
                return alloc.read(offset, length)
            staging = VulkanAllocation(self, length, MemoryType.HOST_LOCAL)
            self._run(recording.record_copy(self, alloc, offset, staging, 0, length))
            return staging.read(0, length)
        finally:
            self.unpin(alloc)

    def write(self, alloc: Any, offset: int, data: memoryview) -> None:
        self._check_open()
        self.pin(alloc)
        try:
            if alloc.mapped is not None:
                alloc.write(offset, data)
                return
            staging = VulkanAllocation(self, len(data), MemoryType.HOST_LOCAL)
            staging.write(0, data)
            self._run(recording.record_copy(self, staging, 0, alloc, offset, len(data)))
        finally:
            self.unpin(alloc)

    def _check_open(self) -> None:
        if self.handle is None:
            raise FailedPreconditionError("the Vulkan device is closed")

    def _run(self, rec: recording.Recording) -> None:
        """Submits one recording and waits for it (host transfers through staging)."""
        finished = threading.Event()
        failure: list[HalError | None] = [None]

        def done(error: HalError | None) -> None:
            failure[0] = error
            finished.set()

        self.queue.submit([rec.cb, self._to_host.cb], done, rec)
        finished.wait()
        if failure[0] is not None:
            raise failure[0]

    # -- executables ------------------------------------------------------------------------------
    def load_executable(self, fmt: str, payload: Any, entry_points: Sequence[Any]) -> Any:
        self._check_open()
        return executable.load(self, fmt, payload, entry_points)

    def pipeline(self, code: bytes, spirv_name: str, ep: EntryPoint) -> EntryPipeline:
        """The entry point's pipeline, from the caches when this kernel was seen before."""
        sets, read_only = executable.binding_plan(ep)
        structure = tuple(tuple(b.index for b in s.bindings) for s in ep.layout.set_layouts)
        push_size = 4 * ep.layout.push_constants
        # A pipeline layout may hold one push-descriptor set: layouts of several
        # non-empty sets take the descriptor-pool path.
        push = self.push_descriptors and sum(1 for indices in structure if indices) <= 1
        with self.cache_lock:
            layout_key = (structure, push_size, push)
            if layout_key not in self._pipeline_layouts:
                set_layouts = tuple(self._set_layout(indices, push) for indices in structure)
                layout = executable.create_pipeline_layout(self, set_layouts, push_size)
                self._pipeline_layouts[layout_key] = (layout, set_layouts)
            layout, set_layouts = self._pipeline_layouts[layout_key]
            pipeline_key = (code, spirv_name, layout_key)
            if pipeline_key not in self._pipelines:
                self._pipelines[pipeline_key] = executable.create_pipeline(
                    self, code, spirv_name, layout
                )
            plan_id = self._plans.setdefault(sets, len(self._plans))
        return EntryPipeline(
            ep.name,
            self._pipelines[pipeline_key],
            layout,
            set_layouts,
            push_size,
            sets,
            read_only,
            plan_id,
            push,
        )

    def _set_layout(self, indices: tuple[int, ...], push: bool) -> Any:
        key = (indices, push and bool(indices))
        if key not in self._set_layouts:
            self._set_layouts[key] = executable.create_set_layout(self, indices, key[1])
        return self._set_layouts[key]

    # -- encoder caches ---------------------------------------------------------------------------
    def cache_descriptor_writes(
        self, entry: EntryPipeline, key: tuple, ranges: list
    ) -> tuple[list, list]:
        empty = self.empty_binding
        value = recording.make_descriptor_writes(
            entry, [r if r[2] else (empty, 0, 4) for r in ranges]
        )
        with self.cache_lock:
            if len(self.descriptor_writes) >= _MAX_CACHED_WRITES:
                # Recorded commands copied what they pushed, so dropping entries is safe.
                self.descriptor_writes.clear()
            self.descriptor_writes[key] = value
        return value

    def barrier(
        self, source_stage: int, target_stage: int, memory_barriers: tuple
    ) -> barriers.Barrier:
        """A HAL barrier without buffer barriers, built once per device."""
        key = (source_stage, target_stage, memory_barriers)
        barrier = self._barriers.get(key)
        if barrier is None:
            barrier = self._barriers[key] = barriers.hal_barrier(
                self, source_stage, target_stage, memory_barriers
            )
        return barrier

    def event_handle(self, event: Any) -> Any:
        """The VkEvent of a HAL Event, made at first use, destroyed with the Event."""
        vk_event = self._events.get(event)
        if vk_event is None:
            with self.cache_lock:
                vk_event = self._events.get(event)
                if vk_event is None:
                    info = new(
                        "VkEventCreateInfo*", {"sType": vk.VK_STRUCTURE_TYPE_EVENT_CREATE_INFO}
                    )
                    out = handle("VkEvent")
                    check(lib.vkCreateEvent(self.handle, info, ffi.NULL, out), "vkCreateEvent")
                    vk_event = self._events[event] = out[0]
                    weakref.finalize(event, self._destroy_event, vk_event)
        return vk_event

    def _destroy_event(self, vk_event: Any) -> None:
        if self.handle is not None:
            lib.vkDestroyEvent(self.handle, vk_event, ffi.NULL)

    # -- command buffers and the queue ----------------------------------------------------------
    def encode(self, stream: Any, mode: Any = None) -> encoder.Encoded | collectives.Segmented:
        self._check_open()
        snapshot = encoder.Stream.of(stream)
        cuts = collectives.collective_cuts(snapshot)
        if cuts:
            return collectives.Segmented(self, snapshot, cuts)
        return encoder.Encoded(self, stream, snapshot)

    def execute(self, work: Sequence[Work], done: Callable[[HalError | None], None]) -> None:
        self._check_open()
        if any(isinstance(item.encoded, collectives.Segmented) for item in work):
            if self._collectives is None:
                with self.cache_lock:
                    if self._collectives is None:
                        self._collectives = collectives.CollectiveThread(self)
            self._collectives.submit(work, done)
            return
        self.execute_encoded(work, done)

    def execute_encoded(
        self, work: Sequence[Work], done: Callable[[HalError | None], None]
    ) -> None:
        """``execute`` of work without collectives: one Vulkan submission."""
        cbs, keep = [], []
        sites: dict[int, str] = {}
        # Traced or not is decided here, per submission, on the thread running it.
        timed: list | None = [] if self.trace is not None and self.timestamp_bits else None
        for item in work:
            if timed is None:
                rec = item.encoded.recording(item.binding_table)
            else:
                rec = item.encoded.traced_recording(item.binding_table)
                timed.append(rec)
            if rec is None:
                continue
            if cbs:
                cbs.append(self._between.cb)
            cbs.append(rec.cb)
            keep.append(rec)
            if rec.sites:
                sites.update(rec.sites)
        if not cbs:
            done(None)
            return
        cbs.append(self._to_host.cb)
        if timed is not None:
            done = self._timed_done(timed, done)
        if not sites:
            self.queue.submit(cbs, done, keep)
            return
        slot = self._take_status_slot()
        try:
            self.queue.submit(
                [self._prologue(slot).cb, *cbs], self._checked_done(slot, sites, done), keep
            )
        except BaseException:
            self._give_status_slot(slot)
            raise

    def _timed_done(
        self, recordings: list, done: Callable[[HalError | None], None]
    ) -> Callable[[HalError | None], None]:
        """``done`` preceded by reporting the dispatch times of a traced submission's
        ``recordings`` (one per command buffer, None for an empty one) to the trace.

        Called just before the submission is handed to Vulkan: device ticks are mapped
        onto the host clock by a calibration taken here (VK_EXT_calibrated_timestamps:
        a device and a CLOCK_MONOTONIC reading at the same instant), or, without the
        extension, by aligning the submission's first timestamp with this moment (which
        can only place dispatches early, never outside the submission)."""
        trace, submission = self.trace, self.trace.submission()
        mask = (1 << self.timestamp_bits) - 1 if self.timestamp_bits < 64 else 2**64 - 1
        period = self.timestamp_period
        host_ns, device_tick = now_ns(), None
        if self.calibrated:
            infos = ffi.new(
                "VkCalibratedTimestampInfoEXT[2]",
                [
                    {"sType": _CALIBRATED_TIMESTAMP_INFO, "timeDomain": _DEVICE_DOMAIN},
                    {"sType": _CALIBRATED_TIMESTAMP_INFO, "timeDomain": _MONOTONIC_DOMAIN},
                ],
            )
            out, deviation = ffi.new("uint64_t[2]"), ffi.new("uint64_t*")
            if self.fn.get_calibrated_timestamps(self.handle, 2, infos, out, deviation) >= 0:
                # The host reading is CLOCK_MONOTONIC; the trace clock is perf_counter.
                host_ns = out[1] + now_ns() - time.clock_gettime_ns(time.CLOCK_MONOTONIC)
                device_tick = out[0] & mask

        def report(error: HalError | None) -> None:
            try:
                if error is None:
                    ticks = [rec.timing.read(self) if rec is not None else [] for rec in recordings]
                    base = device_tick
                    if base is None:  # align the first start with the submission
                        starts = [t[0] & mask for t in ticks if t]
                        base = starts[0] if starts else 0
                    for cb_index, (rec, values) in enumerate(zip(recordings, ticks, strict=True)):
                        for n, (name, counts) in enumerate(
                            rec.timing.dispatches if rec is not None else ()
                        ):
                            start, end = (
                                host_ns + _delta(values[2 * n + k], base, mask) * period
                                for k in (0, 1)
                            )
                            trace.dispatch(
                                name,
                                int(start),
                                int(end),
                                submission=submission,
                                command_buffer=cb_index,
                                dispatch=n,
                                workgroups=counts,
                            )
            except HalError as e:  # the queries could not be read: the trace goes without
                _log.warning("dispatch timestamps of a traced submission were lost: %s", e)
            finally:
                for rec in recordings:
                    if rec is not None:
                        rec.timing.busy = False
            done(error)

        return report

    # -- collectives ------------------------------------------------------------------------------
    def create_channel(
        self,
        rank: int,
        count: int,
        id: bytes | None,  # noqa: A002 - the contract's name
        launcher: str | None,
        options: dict[str, object],
    ) -> DriverChannel:
        """A channel of the host engine (drivers/host_collective.py): Vulkan has no
        transport of its own, so collectives run on host memory (collectives.py)."""
        self._check_open()
        options = dict(options)
        timeout = float(options.pop("timeout"))  # type: ignore[arg-type]
        if options:
            raise InvalidArgumentError(f"unknown vulkan channel options {sorted(options)}")
        return host_collective.create(rank, count, id, launcher, timeout)

    def channel_unique_id(self) -> bytes:
        return host_collective.unique_id()

    # -- indirect count checks ----------------------------------------------------------------
    def indirect_check(self) -> tuple[EntryPipeline, VulkanAllocation]:
        """The count-checking pipeline and the status buffer, made at first use.

        The status buffer holds the slot index of the running submission in word 0 and
        slot ``i`` at words 4 + 4i: [site, x, y, z] of the first failed check, or zeros.
        """
        with self.cache_lock:
            # Keyed on the status buffer itself: the pipeline is made outside the lock, so
            # a second caller may arrive before it exists, and must not replace the buffer
            # (or its free slots) that the first one already handed out.
            if self._status is None:
                status = VulkanAllocation(self, 16 * (_STATUS_SLOTS + 1), MemoryType.HOST_LOCAL)
                status.write(0, memoryview(bytes(status.size)))
                self._status = status
                self._status_free = list(range(_STATUS_SLOTS - 1, -1, -1))
        if self._check_entry is None:
            entry = self.pipeline(indirect_check.spirv(), "main", indirect_check.ENTRY_POINT)
            self._check_entry = entry
        assert self._status is not None
        return self._check_entry, self._status

    def new_site(self) -> int:
        """A nonzero id for one recorded count check (what a failed one reports)."""
        return next(self._sites) & 0xFFFF_FFFF or 1

    def _take_status_slot(self) -> int:
        with self._status_cond:
            while not self._status_free:
                self._status_cond.wait()
            return self._status_free.pop()

    def _give_status_slot(self, slot: int) -> None:
        with self._status_cond:
            self._status_free.append(slot)
            self._status_cond.notify()

    def _prologue(self, slot: int) -> recording.Recording:
        rec = self._prologues.get(slot)
        if rec is None:
            with self.cache_lock:
                rec = self._prologues.get(slot)
                if rec is None:
                    assert self._status is not None
                    rec = self._prologues[slot] = recording.record_status_prologue(
                        self, self._status, slot
                    )
        return rec

    def _checked_done(
        self, slot: int, sites: dict[int, str], done: Callable[[HalError | None], None]
    ) -> Callable:
        """``done`` preceded by reading (and clearing) the submission's status slot."""

        def checked(error: HalError | None) -> None:
            status = self._status
            assert status is not None
            site, x, y, z = struct.unpack("<4I", status.read(16 * (slot + 1), 16))
            if site:
                status.write(16 * (slot + 1), memoryview(bytes(16)))
                if error is None:
                    limit = self.limits.max_workgroup_count
                    error = OutOfRangeError(
                        f"dispatch_indirect of {sites.get(site, '?')!r}: workgroup count "
                        f"{(x, y, z)} read from the buffer is out of range (at most {limit} "
                        "per dimension and 2**32 workgroups in all); it did not run"
                    )
            self._give_status_slot(slot)
            done(error)

        return checked

    def close(self) -> None:
        if self.handle is None:
            return
        if self._collectives is not None:
            self._collectives.close()
        self.queue.close()
        for rec in list(self.recordings):
            rec.destroy()
        self._prologues.clear()
        with self.memory_lock:
            for alloc in list(self.allocations):
                if alloc.views:  # numpy still maps it: its last host view frees it
                    alloc.released = True
                else:
                    alloc.free()
        for vk_event in list(self._events.values()):
            lib.vkDestroyEvent(self.handle, vk_event, ffi.NULL)
        self._events.clear()
        for pipeline in self._pipelines.values():
            lib.vkDestroyPipeline(self.handle, pipeline, ffi.NULL)
        for layout, _ in self._pipeline_layouts.values():
            lib.vkDestroyPipelineLayout(self.handle, layout, ffi.NULL)
        for set_layout in self._set_layouts.values():
            lib.vkDestroyDescriptorSetLayout(self.handle, set_layout, ffi.NULL)
        lib.vkDestroyPipelineCache(self.handle, self.pipeline_cache, ffi.NULL)
        with self.memory_lock:  # an allocation collected now must not free on a dead device
            if any(alloc.views for alloc in list(self.allocations)):
                self.lingering = self.handle
            else:
                lib.vkDestroyDevice(self.handle, ffi.NULL)
            self.handle = None
        self._destroy_messenger()

    def _destroy_messenger(self) -> None:
        if self._messenger is not None:
            destroy = self.instance.proc("vkDestroyDebugUtilsMessengerEXT")
            destroy(self.instance.handle, self._messenger, ffi.NULL)
            self._messenger = None
