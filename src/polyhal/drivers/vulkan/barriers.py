"""HAL barriers as Vulkan ones: the stage and access tables, and prebuilt barriers.

A HAL barrier names execution stages and access scopes; Vulkan wants pipeline stage and
access masks, and rejects access bits that the named stages cannot make.  The tables
below map one to the other (``hal_barrier``), cutting each access mask to what its
stages allow (``memory_dependency``).  A ``Barrier`` holds its Vulkan structs built
once: the device caches one per barrier content, and the recorder records it with one
call (vkCmdPipelineBarrier2 where synchronization2 is on, vkCmdPipelineBarrier
otherwise).  The driver's own barriers (``full_barrier``, ``check_barrier``,
``host_barrier``, ``status_barrier``) and the barrier of a HAL event wait
(``event_wait``) are built here too.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any

import vulkan as vk

from ...types import AccessScope, ExecutionStage
from .instance import ffi, new

if TYPE_CHECKING:
    from .device import VulkanDevice

_NULL = ffi.NULL

# The sync1 and sync2 bits of these stages and accesses are equal.
_TOP = vk.VK_PIPELINE_STAGE_TOP_OF_PIPE_BIT
_BOTTOM = vk.VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT
_ALL = vk.VK_PIPELINE_STAGE_ALL_COMMANDS_BIT
_SHADER = vk.VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT
_INDIRECT = vk.VK_PIPELINE_STAGE_DRAW_INDIRECT_BIT
_TRANSFER = vk.VK_PIPELINE_STAGE_TRANSFER_BIT
_HOST = vk.VK_PIPELINE_STAGE_HOST_BIT
_S = ExecutionStage
#: A dispatch reads its indirect counts in the DRAW_INDIRECT stage, and the count check
#: before it in a compute shader: as a target, "process" and an indirect command read
#: include that shader read.  "Dispatch" is the compute shader alone (as in IREE): the
#: program's own buffers are read and written only by shaders (its indirect counts by
#: the count check), and the DRAW_INDIRECT read of the checked copy is ordered by the
#: check's own barrier.  "Retire" as a source and "issue" as a target mean every
#: command (Vulkan's bottom and top of pipe there would carry no memory dependency).
_SOURCE_STAGES = (
    (_S.COMMAND_ISSUE, _TOP),
    (_S.COMMAND_PROCESS, _INDIRECT),
    (_S.DISPATCH, _SHADER),
    (_S.TRANSFER, _TRANSFER),
    (_S.COMMAND_RETIRE, _ALL),
    (_S.HOST, _HOST),
)
_TARGET_STAGES = (
    (_S.COMMAND_ISSUE, _ALL),
    (_S.COMMAND_PROCESS, _INDIRECT | _SHADER),
    (_S.DISPATCH, _SHADER),
    (_S.TRANSFER, _TRANSFER),
    (_S.COMMAND_RETIRE, _BOTTOM),
    (_S.HOST, _HOST),
)
_A = AccessScope
_SHADER_READ, _SHADER_WRITE = vk.VK_ACCESS_SHADER_READ_BIT, vk.VK_ACCESS_SHADER_WRITE_BIT
_MEMORY_READ, _MEMORY_WRITE = vk.VK_ACCESS_MEMORY_READ_BIT, vk.VK_ACCESS_MEMORY_WRITE_BIT
_ACCESS = (
    (_A.INDIRECT_COMMAND_READ, vk.VK_ACCESS_INDIRECT_COMMAND_READ_BIT | _SHADER_READ),
    (_A.CONSTANT_READ, vk.VK_ACCESS_UNIFORM_READ_BIT),
    (_A.DISPATCH_READ, _SHADER_READ),
    (_A.DISPATCH_WRITE, _SHADER_WRITE),
    (_A.TRANSFER_READ, vk.VK_ACCESS_TRANSFER_READ_BIT),
    (_A.TRANSFER_WRITE, vk.VK_ACCESS_TRANSFER_WRITE_BIT),
    (_A.HOST_READ, vk.VK_ACCESS_HOST_READ_BIT),
    (_A.HOST_WRITE, vk.VK_ACCESS_HOST_WRITE_BIT),
    (_A.MEMORY_READ, _MEMORY_READ),
    (_A.MEMORY_WRITE, _MEMORY_WRITE),
)
#: Every access bit of Vulkan 1.0 (the VkAccessFlags of vkCmdPipelineBarrier).
_EVERY_ACCESS = 0x1FFFF
#: Per stage: (the writes it makes, the accesses it may make).
_STAGE_ACCESS = (
    (_SHADER, _SHADER_WRITE, _SHADER_READ | _SHADER_WRITE | vk.VK_ACCESS_UNIFORM_READ_BIT),
    (_INDIRECT, 0, vk.VK_ACCESS_INDIRECT_COMMAND_READ_BIT),
    (
        _TRANSFER,
        vk.VK_ACCESS_TRANSFER_WRITE_BIT,
        vk.VK_ACCESS_TRANSFER_READ_BIT | vk.VK_ACCESS_TRANSFER_WRITE_BIT,
    ),
    (_HOST, vk.VK_ACCESS_HOST_WRITE_BIT, vk.VK_ACCESS_HOST_READ_BIT | vk.VK_ACCESS_HOST_WRITE_BIT),
)


def _stages(hal_stages: int, table: tuple) -> int:
    mask = 0
    for hal, vk_bits in table:
        if hal_stages & hal:
            mask |= vk_bits
    return _ALL if mask & _ALL else mask


def _access(scope: int) -> int:
    return sum(bits for hal, bits in _ACCESS if scope & hal) if scope else 0


def _allowed(stages: int) -> tuple[int, int]:
    """(the writes made in, the accesses possible in) a Vulkan stage mask."""
    if stages & _ALL:
        return _MEMORY_WRITE, _EVERY_ACCESS
    writes, allowed = 0, _MEMORY_READ | _MEMORY_WRITE
    for stage, w, a in _STAGE_ACCESS:
        if stages & stage:
            writes |= w
            allowed |= a
    return writes, allowed


def memory_dependency(src: int, dst: int, memory_barriers: tuple) -> tuple[int, int]:
    """(source access, target access) of the one global memory barrier of a HAL barrier.

    With no memory barriers given, a HAL barrier makes every write of its source stages
    visible to every access of its target stages (HAL barriers order data as well as
    execution); given ones are mapped and cut to what the stages can do.
    """
    src_writes, src_allowed = _allowed(src)
    dst_allowed = _allowed(dst)[1]
    if not memory_barriers:
        if dst & _ALL:
            return src_writes, _MEMORY_READ | _MEMORY_WRITE
        return src_writes, dst_allowed & ~(_MEMORY_READ | _MEMORY_WRITE)
    src_access = dst_access = 0
    for b in memory_barriers:
        src_access |= _access(int(b.source_scope))
        dst_access |= _access(int(b.target_scope))
    return src_access & src_allowed, dst_access & dst_allowed


class Barrier:
    """A prebuilt vkCmdPipelineBarrier(2): one global memory barrier, maybe buffer ones."""

    __slots__ = ("src", "dst", "memory", "buffers", "buffer_count", "dependency", "keep")

    def __init__(
        self,
        device: VulkanDevice,
        src: int,
        dst: int,
        src_access: int,
        dst_access: int,
        buffers: list[tuple[int, int, Any, int, int]] = (),
    ):
        if device.synchronization2:
            self.src, self.dst = src, dst
            memory = new(
                "VkMemoryBarrier2*",
                {
                    "sType": vk.VK_STRUCTURE_TYPE_MEMORY_BARRIER_2,
                    "srcStageMask": src,
                    "srcAccessMask": src_access,
                    "dstStageMask": dst,
                    "dstAccessMask": dst_access,
                },
            )
            buffer_array = new(
                "VkBufferMemoryBarrier2[]",
                [
                    {
                        "sType": vk.VK_STRUCTURE_TYPE_BUFFER_MEMORY_BARRIER_2,
                        "srcStageMask": src,
                        "srcAccessMask": sa,
                        "dstStageMask": dst,
                        "dstAccessMask": da,
                        "srcQueueFamilyIndex": vk.VK_QUEUE_FAMILY_IGNORED,
                        "dstQueueFamilyIndex": vk.VK_QUEUE_FAMILY_IGNORED,
                        "buffer": buf,
                        "offset": off,
                        "size": size,
                    }
                    for sa, da, buf, off, size in buffers
                ]
                or 1,
            )
            self.dependency = new(
                "VkDependencyInfo*",
                {
                    "sType": vk.VK_STRUCTURE_TYPE_DEPENDENCY_INFO,
                    "memoryBarrierCount": 1,
                    "pMemoryBarriers": memory,
                    "bufferMemoryBarrierCount": len(buffers),
                    "pBufferMemoryBarriers": buffer_array,
                },
            )
            self.keep = (memory, buffer_array)
        else:
            self.src, self.dst = src or _TOP, dst or _BOTTOM
            self.memory = new(
                "VkMemoryBarrier*",
                {
                    "sType": vk.VK_STRUCTURE_TYPE_MEMORY_BARRIER,
                    "srcAccessMask": src_access,
                    "dstAccessMask": dst_access,
                },
            )
            self.buffers = new(
                "VkBufferMemoryBarrier[]",
                [
                    {
                        "sType": vk.VK_STRUCTURE_TYPE_BUFFER_MEMORY_BARRIER,
                        "srcAccessMask": sa,
                        "dstAccessMask": da,
                        "srcQueueFamilyIndex": vk.VK_QUEUE_FAMILY_IGNORED,
                        "dstQueueFamilyIndex": vk.VK_QUEUE_FAMILY_IGNORED,
                        "buffer": buf,
                        "offset": off,
                        "size": size,
                    }
                    for sa, da, buf, off, size in buffers
                ]
                or 1,
            )
            self.buffer_count = len(buffers)
            self.dependency = None

    def record(self, fn: Any, cb: Any) -> None:
        if self.dependency is not None:
            fn.pipeline_barrier2(cb, self.dependency)
        else:
            fn.pipeline_barrier(
                cb, self.src, self.dst, 0, 1, self.memory, self.buffer_count, self.buffers, 0, _NULL
            )

    def bound(self, fn: Any, cb: Any) -> Any:
        """A call without arguments that records this barrier into ``cb``."""
        if self.dependency is not None:
            return partial(fn.pipeline_barrier2, cb, self.dependency)
        return partial(
            fn.pipeline_barrier,
            cb,
            self.src,
            self.dst,
            0,
            1,
            self.memory,
            self.buffer_count,
            self.buffers,
            0,
            _NULL,
        )


def full_barrier(device: VulkanDevice) -> Barrier:
    return Barrier(device, _ALL, _ALL, _MEMORY_WRITE, _MEMORY_READ | _MEMORY_WRITE)


def check_barrier(device: VulkanDevice) -> Barrier:
    """From the count check's writes to the indirect read of its arguments."""
    return Barrier(
        device, _SHADER, _INDIRECT, _SHADER_WRITE, vk.VK_ACCESS_INDIRECT_COMMAND_READ_BIT
    )


def host_barrier(device: VulkanDevice) -> Barrier:
    """Makes every device write available to the host (Buffer.read after a wait)."""
    return Barrier(
        device, _ALL, _HOST, _MEMORY_WRITE, vk.VK_ACCESS_HOST_READ_BIT | vk.VK_ACCESS_HOST_WRITE_BIT
    )


def hal_barrier(
    device: VulkanDevice,
    source_stage: int,
    target_stage: int,
    memory_barriers: tuple,
    buffer_barriers: Any = (),
) -> Barrier:
    """The Vulkan barrier of a HAL one; ``buffer_barriers`` are resolved:
    [(source scope, target scope, VkBuffer, offset, size)]."""
    src = _stages(source_stage, _SOURCE_STAGES)
    dst = _stages(target_stage, _TARGET_STAGES)
    src_access, dst_access = memory_dependency(src, dst, memory_barriers)
    src_allowed, dst_allowed = _allowed(src)[1], _allowed(dst)[1]
    buffers = [
        (_access(int(sa)) & src_allowed, _access(int(da)) & dst_allowed, buf, off, size)
        for sa, da, buf, off, size in buffer_barriers
    ]
    return Barrier(device, src, dst, src_access, dst_access, buffers)


def status_barrier(device: VulkanDevice) -> Barrier:
    """From the status prologue's fill of the status word to the count checks' reads."""
    return Barrier(device, _TRANSFER, _SHADER, vk.VK_ACCESS_TRANSFER_WRITE_BIT, _SHADER_READ)


def event_wait(
    target_stage: int, memory_barriers: tuple, buffer_barriers: list
) -> tuple[int, Any, Any]:
    """(target stage mask, VkMemoryBarrier*, VkBufferMemoryBarrier[]) of the
    vkCmdWaitEvents of a HAL wait: its source is every stage (events are set with every
    stage); ``buffer_barriers`` are resolved as for ``hal_barrier``."""
    dst = _stages(target_stage, _TARGET_STAGES) or _BOTTOM
    src_access, dst_access = memory_dependency(_ALL, dst, memory_barriers)
    memory = new(
        "VkMemoryBarrier*",
        {
            "sType": vk.VK_STRUCTURE_TYPE_MEMORY_BARRIER,
            "srcAccessMask": src_access,
            "dstAccessMask": dst_access,
        },
    )
    buffer_array = new(
        "VkBufferMemoryBarrier[]",
        [
            {
                "sType": vk.VK_STRUCTURE_TYPE_BUFFER_MEMORY_BARRIER,
                "srcAccessMask": _access(int(sa)) & _allowed(_ALL)[1],
                "dstAccessMask": _access(int(da)) & _allowed(dst)[1],
                "srcQueueFamilyIndex": vk.VK_QUEUE_FAMILY_IGNORED,
                "dstQueueFamilyIndex": vk.VK_QUEUE_FAMILY_IGNORED,
                "buffer": buf,
                "offset": off,
                "size": size,
            }
            for sa, da, buf, off, size in buffer_barriers
        ]
        or 1,
    )
    return dst, memory, buffer_array
