"""Vulkan memory: one VkBuffer bound to its own VkDeviceMemory per HAL allocation.

Memory types are chosen from the HAL MemoryType: its DEVICE_LOCAL / HOST_VISIBLE /
HOST_COHERENT / HOST_CACHED bits are required Vulkan property flags (host-visible memory
is always taken coherent, so no flush is ever needed).  When no such type exists, or its
heap is full (a discrete GPU's small BAR heap), DEVICE_LOCAL | HOST_VISIBLE falls back to
plain device-local memory that the host reaches through staging copies.  Host-visible
memory is mapped once, for the allocation's life.

Every VkBuffer carries all the usages the driver needs (storage, transfer, indirect) and
is rounded up to whole 32-bit words, so the byte-writing shader can reach the last
partial word of any buffer.

Lifetime: a recording that references an allocation *pins* it (see ``VulkanDevice.pin``)
until the recording is destroyed, which is never before the GPU finished with it.  A
``queue_dealloca`` frees the memory at once when nothing pins it, else when the last pin
goes: a submission parked on a semaphore holds its recording, so its buffers outlive a
dealloca that runs first.

Host views (``Buffer.as_array``, ``np.asarray(buffer)``, DLPack) are numpy arrays over
the mapped memory.  Each pins its allocation and counts in ``views`` until the last array
made from it is collected, so neither a dealloca nor the device's ``close`` unmaps memory
that Python can still reach: ``close`` leaves such allocations (and the VkDevice, as
``lingering``) to the last view, which frees them.  Only HOST_COHERENT memory is viewed
(host-visible memory is always taken coherent here), so a view needs no flush or
invalidate.
"""

from __future__ import annotations

import itertools
import sys
from typing import TYPE_CHECKING, Any

import numpy as np
import vulkan as vk

from ...types import MemoryType
from ..base import Allocation
from .instance import WHOLE_SIZE, check, error, ffi, handle, lib, new

if TYPE_CHECKING:
    from .device import VulkanDevice

_USAGE = (
    vk.VK_BUFFER_USAGE_STORAGE_BUFFER_BIT
    | vk.VK_BUFFER_USAGE_TRANSFER_SRC_BIT
    | vk.VK_BUFFER_USAGE_TRANSFER_DST_BIT
    | vk.VK_BUFFER_USAGE_INDIRECT_BUFFER_BIT
)
_DEVICE_LOCAL = vk.VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT
_HOST_VISIBLE = vk.VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT
_HOST_COHERENT = vk.VK_MEMORY_PROPERTY_HOST_COHERENT_BIT
_HOST_CACHED = vk.VK_MEMORY_PROPERTY_HOST_CACHED_BIT
_HAL_DEVICE_LOCAL_ONLY = int(MemoryType.DEVICE_LOCAL) & ~int(MemoryType.DEVICE_VISIBLE)
_uids = itertools.count(1)


def required_flags(memory_type: MemoryType) -> int:
    """The Vulkan memory property flags a HAL memory type asks for."""
    flags = 0
    if memory_type & _HAL_DEVICE_LOCAL_ONLY:
        flags |= _DEVICE_LOCAL
    if memory_type & MemoryType.HOST_VISIBLE:
        flags |= _HOST_VISIBLE | _HOST_COHERENT
    if memory_type & MemoryType.HOST_CACHED:
        flags |= _HOST_VISIBLE | _HOST_COHERENT | _HOST_CACHED
    return flags


def hal_memory_type(flags: int) -> MemoryType:
    """What a Vulkan memory type is, in HAL terms (all Vulkan memory is device-visible)."""
    out = MemoryType.DEVICE_VISIBLE
    if flags & _DEVICE_LOCAL:
        out |= MemoryType.DEVICE_LOCAL
    if flags & _HOST_VISIBLE:
        out |= MemoryType.HOST_VISIBLE
    if flags & _HOST_COHERENT:
        out |= MemoryType.HOST_COHERENT
    if flags & _HOST_CACHED:
        out |= MemoryType.HOST_CACHED
    return out


def candidate_types(memory_types: list[int], allowed_bits: int, required: int) -> list[int]:
    """Indices of the memory types to try, best first.

    Types with every required flag come first, fewest extra flags first (host memory
    that was not asked to be device-local stays in system RAM); then, for a request of
    device-local host-visible memory, plain device-local types (reached by staging).
    """

    def usable(i: int, need: int) -> bool:
        return bool(allowed_bits >> i & 1) and memory_types[i] & need == need

    def extra(i: int) -> int:
        return bin(memory_types[i] & ~required).count("1")

    first = sorted((i for i in range(len(memory_types)) if usable(i, required)), key=extra)
    rest: list[int] = []
    if required & _DEVICE_LOCAL and required & _HOST_VISIBLE:
        rest = [i for i in range(len(memory_types)) if usable(i, _DEVICE_LOCAL) and i not in first]
    return first + rest


class VulkanAllocation(Allocation):
    """A VkBuffer and its VkDeviceMemory; ``mapped`` is the host address when mappable.

    ``uid`` is unique for the process's life, so caches can key on it safely after
    the allocation is gone.
    """

    __slots__ = ("device", "buffer", "memory", "mapped", "vk_size", "uid", "pins", "views")

    def __init__(self, device: VulkanDevice, size: int, memory_type: MemoryType):
        super().__init__(size, memory_type)
        self.device = device
        self.buffer: Any = None
        self.memory: Any = None
        self.mapped: Any = None
        self.vk_size = max(4, (size + 3) & ~3)
        self.uid = next(_uids)
        self.pins = 0  # recordings (and host transfers) using it; see VulkanDevice.pin
        self.views = 0  # live host views (_HostView), each also one of the pins
        dev = device.handle
        info = new(
            "VkBufferCreateInfo*",
            {
                "sType": vk.VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
                "size": self.vk_size,
                "usage": _USAGE,
                "sharingMode": vk.VK_SHARING_MODE_EXCLUSIVE,
            },
        )
        out = handle("VkBuffer")
        check(lib.vkCreateBuffer(dev, info, ffi.NULL, out), "vkCreateBuffer")
        self.buffer = out[0]
        try:
            self._bind_memory(memory_type)
        except BaseException:
            self.free()
            raise
        device.allocations.add(self)

    def _bind_memory(self, memory_type: MemoryType) -> None:
        device = self.device
        reqs = new("VkMemoryRequirements*")
        lib.vkGetBufferMemoryRequirements(device.handle, self.buffer, reqs)
        required = required_flags(memory_type)
        last = vk.VK_ERROR_OUT_OF_DEVICE_MEMORY
        for index in candidate_types(device.memory_types, reqs.memoryTypeBits, required):
            info = new(
                "VkMemoryAllocateInfo*",
                {
                    "sType": vk.VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
                    "allocationSize": reqs.size,
                    "memoryTypeIndex": index,
                },
            )
            out = handle("VkDeviceMemory")
            last = lib.vkAllocateMemory(device.handle, info, ffi.NULL, out)
            if last >= 0:
                self.memory = out[0]
                flags = device.memory_types[index]
                self.memory_type = hal_memory_type(flags)
                break
        else:
            raise error(last, f"allocating {self.size} bytes of {memory_type!r}")
        check(
            lib.vkBindBufferMemory(device.handle, self.buffer, self.memory, 0), "vkBindBufferMemory"
        )
        if flags & _HOST_VISIBLE:
            ptr = ffi.new("void**")
            check(lib.vkMapMemory(device.handle, self.memory, 0, WHOLE_SIZE, 0, ptr), "vkMapMemory")
            self.mapped = ffi.cast("char*", ptr[0])

    def host_array(self, offset: int, length: int) -> np.ndarray | None:
        if not self.memory_type & MemoryType.HOST_COHERENT:
            return None
        device = self.device
        with device.memory_lock:
            device.pin(self)  # FailedPreconditionError once freed
            self.views += 1
            view = _HostView(self, int(ffi.cast("uintptr_t", self.mapped)) + offset, length)
        return np.asarray(view)

    def read(self, offset: int, length: int) -> bytes:
        return ffi.buffer(self.mapped + offset, length)[:]

    def write(self, offset: int, data: memoryview) -> None:
        ffi.memmove(self.mapped + offset, data, len(data))

    def free(self) -> None:
        """Destroys the buffer and its memory now (the caller knows nothing uses them).

        Idempotent and safe from any thread (a release, a last unpin, a collection and
        the device's close may race): the handles are taken under the device's lock.
        """
        device = self.device
        with device.memory_lock:
            # A closed device whose host views outlived it lingers until the last one goes.
            dev = device.handle if device.handle is not None else device.lingering
            if dev is None:
                return
            buffer, memory = self.buffer, self.memory
            self.buffer = self.memory = self.mapped = None
            if buffer is not None:
                lib.vkDestroyBuffer(dev, buffer, ffi.NULL)
            if memory is not None:
                lib.vkFreeMemory(dev, memory, ffi.NULL)  # unmaps too
            if device.handle is None and not any(a.views for a in list(device.allocations)):
                device.lingering = None
                lib.vkDestroyDevice(dev, ffi.NULL)

    def __del__(self) -> None:
        if sys.is_finalizing():  # interpreter exit: objects go in any order (a device
            return  # before its buffers); the process's end frees what is native
        try:
            self.free()
        except Exception:
            pass


class _HostView:
    """What numpy builds a host view from: the mapped bytes, and a pin on the allocation
    for as long as an array made from it lives (numpy keeps this object as the base)."""

    __slots__ = ("alloc", "__array_interface__")

    def __init__(self, alloc: VulkanAllocation, address: int, length: int):
        self.alloc = alloc  # pinned by the caller, once per _HostView
        self.__array_interface__ = {
            "shape": (length,),
            "typestr": "|u1",
            "data": (address, False),
            "version": 3,
        }

    def __del__(self) -> None:
        if sys.is_finalizing():  # interpreter exit: objects go in any order (a device
            return  # before its buffers); the process's end frees what is native
        alloc = self.alloc
        try:
            with alloc.device.memory_lock:
                alloc.views -= 1
                alloc.device.unpin(alloc)  # the last pin frees a released allocation
        except Exception:  # interpreter shutdown: the device's attributes may be gone
            pass
