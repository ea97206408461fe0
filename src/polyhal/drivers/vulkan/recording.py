"""Recording into VkCommandBuffers: the Recording that owns one, and the Recorder.

The Recorder records a flattened command stream (polyhal._stream; encoder.py decides
when and for which binding table) into one Recording.  Recording is the hot path, so
it keeps what the GPU already has: the bound pipeline, the pushed constants and
descriptors (per pipeline layout), and it takes prebuilt descriptor writes and barriers
from the device's caches.  It inserts no barrier the program did not ask for, except
around the two slow paths Vulkan forces:

- a storage binding whose offset is not a multiple of ``minStorageBufferOffsetAlignment``
  cannot be bound at all: the range is copied to an aligned scratch buffer, the dispatch
  runs on the copy and writable ranges are copied back, behind full barriers;
- ``vkCmdFillBuffer`` / ``vkCmdUpdateBuffer`` take whole aligned words only: they write
  the aligned body, and the bytes of the partial words at the edges are copied from a
  small host-visible staging buffer that the recording owns (``vkCmdCopyBuffer`` is
  byte-exact, so no neighbouring byte is touched and no compute is involved).

Every ``dispatch_indirect`` is preceded by the count check (device.py, indirect_check.py):
a one-invocation dispatch that copies the counts into scratch arguments of the recording
(zeros when out of range), then a barrier from its writes to the indirect read.

A recording pins the allocations it references until it is destroyed (buffer.py).  The
device's own short recordings (the barriers between command buffers, the status
prologue, staging copies) are made here too.
"""

from __future__ import annotations

import operator
import struct
import sys
from functools import partial
from typing import TYPE_CHECKING, Any

import vulkan as vk

from ... import _walker as W
from ... import commands as C
from ...errors import OutOfRangeError
from ...types import MemoryType
from .barriers import _ALL, _BOTTOM, _TOP, Barrier, event_wait, hal_barrier, status_barrier
from .buffer import VulkanAllocation
from .executable import EntryPipeline
from .instance import WHOLE_SIZE, check, ffi, handle, lib, new

if TYPE_CHECKING:
    from .device import VulkanDevice
    from .encoder import Stream, Timestamps

_COMPUTE = vk.VK_PIPELINE_BIND_POINT_COMPUTE
_STAGE_COMPUTE = vk.VK_SHADER_STAGE_COMPUTE_BIT
_STORAGE_BUFFER = vk.VK_DESCRIPTOR_TYPE_STORAGE_BUFFER
_WRITE_DESCRIPTOR_SET = vk.VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET
_UPDATE_CHUNK = 65536  # vkCmdUpdateBuffer's limit
_STAGING_CHUNK = 1024  # bytes of host-visible staging memory a recording takes at once
_ARGS_CHUNK = 64  # indirect-check argument slots (16 bytes each) a recording takes at once
_NULL = ffi.NULL

# -- the stream's records (native/stream.h, ph_cmd_t) ------------------------------------
#: The fields a dispatch or barrier needs: op and aux (as one word), workgroup count,
#: constants (count, index), bindings (count, index), data_offset (a barrier's stages),
#: object and entry point (as one word).  Fields that only compare are read as one word;
#: those the hot path computes with stay 32-bit (Python's arithmetic on small ints is
#: faster).
_FIELDS = struct.Struct("<Q28x3I4I8xQ80xQ")
_RECORD_SIZE, _REF_SIZE = W.RECORD.size, W.REF.size
if _FIELDS.size != _RECORD_SIZE:  # pragma: no cover
    raise ImportError(
        f"the Vulkan recorder reads {_FIELDS.size}-byte records, the stream has {_RECORD_SIZE}"
    )
_OP_DISPATCH, _OP_BARRIER, _NO_OBJECT = W.OP_DISPATCH, W.OP_BARRIER, W.NO_OBJECT
_NO_BARRIERS = ((), ())  # a barrier record's (memory, buffer barriers) without an object
_SCOPES = operator.attrgetter("source_scope", "target_scope")  # of a MemoryBarrier


class Recording:
    """A VkCommandBuffer in a command pool of its own, and what it owns.

    A pool per recording lets any thread record without locking the others, and frees
    everything (descriptor sets too) in one call.  Destroyed when collected: a pending
    submission holds its recordings, so that is never while the GPU may use it.
    ``held`` are the allocations it pins; ``sites`` names its count checks (site id →
    entry point name).
    """

    __slots__ = (
        "device",
        "pool",
        "cb",
        "descriptor_pools",
        "sets",
        "keep",
        "held",
        "sites",
        "timing",
        "__weakref__",
    )

    def __init__(self, device: VulkanDevice):
        self.device = device
        self.timing: Timestamps | None = None  # a traced recording's timestamp queries
        self.descriptor_pools: list = []
        self.sets: dict = {}
        self.keep: list = []
        self.held: set = set()
        self.sites: dict[int, str] = {}
        self.pool = None
        info = new(
            "VkCommandPoolCreateInfo*",
            {
                "sType": vk.VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
                "queueFamilyIndex": device.queue_family,
            },
        )
        pool = handle("VkCommandPool")
        check(lib.vkCreateCommandPool(device.handle, info, _NULL, pool), "vkCreateCommandPool")
        self.pool = pool[0]
        device.recordings.add(self)
        alloc = new(
            "VkCommandBufferAllocateInfo*",
            {
                "sType": vk.VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
                "commandPool": self.pool,
                "level": vk.VK_COMMAND_BUFFER_LEVEL_PRIMARY,
                "commandBufferCount": 1,
            },
        )
        cb = handle("VkCommandBuffer")
        check(lib.vkAllocateCommandBuffers(device.handle, alloc, cb), "vkAllocateCommandBuffers")
        self.cb = cb[0]

    def descriptor_set(self, set_layout: Any) -> Any:
        """A new descriptor set of ``set_layout`` (the pool path, without push descriptors)."""
        layouts = new("VkDescriptorSetLayout[1]", [set_layout])
        out = new("VkDescriptorSet[1]")
        for pool in self.descriptor_pools[-1:]:
            info = new(
                "VkDescriptorSetAllocateInfo*",
                {
                    "sType": vk.VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO,
                    "descriptorPool": pool,
                    "descriptorSetCount": 1,
                    "pSetLayouts": layouts,
                },
            )
            if lib.vkAllocateDescriptorSets(self.device.handle, info, out) >= 0:
                return out
        sets = 64 << min(len(self.descriptor_pools), 6)
        size = new("VkDescriptorPoolSize*", {"type": _STORAGE_BUFFER, "descriptorCount": sets * 32})
        pool_info = new(
            "VkDescriptorPoolCreateInfo*",
            {
                "sType": vk.VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO,
                "maxSets": sets,
                "poolSizeCount": 1,
                "pPoolSizes": size,
            },
        )
        pool = handle("VkDescriptorPool")
        check(
            lib.vkCreateDescriptorPool(self.device.handle, pool_info, _NULL, pool),
            "vkCreateDescriptorPool",
        )
        self.descriptor_pools.append(pool[0])
        info = new(
            "VkDescriptorSetAllocateInfo*",
            {
                "sType": vk.VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO,
                "descriptorPool": pool[0],
                "descriptorSetCount": 1,
                "pSetLayouts": layouts,
            },
        )
        check(
            lib.vkAllocateDescriptorSets(self.device.handle, info, out), "vkAllocateDescriptorSets"
        )
        return out

    def hold(self, alloc: VulkanAllocation) -> None:
        """Pins ``alloc`` for this recording's life (FailedPreconditionError if freed)."""
        if alloc not in self.held:
            self.device.pin(alloc)
            self.held.add(alloc)

    def hold_all(self, allocs: list) -> None:
        """``hold`` of each of ``allocs``, pinned under one lock."""
        new = set(allocs) - self.held
        self.device.pin_all(new)
        self.held |= new

    def destroy(self) -> None:
        held, self.held = self.held, set()
        self.device.unpin_all(held)
        # Under the device's memory lock: a collected recording (__del__ on any thread) and
        # the device's close() may destroy it at once, and the VkDevice goes under this lock.
        with self.device.memory_lock:
            dev = self.device.handle
            if dev is None or self.pool is None:
                return
            lib.vkDestroyCommandPool(dev, self.pool, _NULL)
            if self.timing is not None:
                lib.vkDestroyQueryPool(dev, self.timing.pool, _NULL)
                self.timing = None
            for pool in self.descriptor_pools:
                lib.vkDestroyDescriptorPool(dev, pool, _NULL)
            self.pool = None
            self.descriptor_pools = []
            self.keep = []

    def __del__(self) -> None:
        if sys.is_finalizing():  # interpreter exit: objects go in any order (a device
            return  # before its buffers); the process's end frees what is native
        try:
            self.destroy()
        except Exception:
            pass


def begin_recording(
    device: VulkanDevice, flags: int = vk.VK_COMMAND_BUFFER_USAGE_SIMULTANEOUS_USE_BIT
) -> Recording:
    """A new Recording with its command buffer begun with usage ``flags``."""
    rec = Recording(device)
    begin = new(
        "VkCommandBufferBeginInfo*",
        {"sType": vk.VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO, "flags": flags},
    )
    check(device.fn.begin_command_buffer(rec.cb, begin), "vkBeginCommandBuffer")
    return rec


def _chain(calls: list) -> Any:
    """One call without arguments making ``calls`` in order (itself for a single one)."""
    if len(calls) == 1:
        return calls[0]

    def chain() -> None:
        for call in calls:
            call()

    return chain


def record_barrier_only(device: VulkanDevice, barrier: Barrier) -> Recording:
    """A recording holding one barrier (what the driver puts between and after the
    command buffers of a submission)."""
    rec = begin_recording(device)
    barrier.record(device.fn, rec.cb)
    check(device.fn.end_command_buffer(rec.cb), "vkEndCommandBuffer")
    return rec


def record_status_prologue(device: VulkanDevice, status: VulkanAllocation, slot: int) -> Recording:
    """The recording that runs first in a submission holding count checks: it stores
    ``slot`` in word 0 of the status buffer, after everything submitted before (earlier
    submissions' checks read that word and reuse the same scratch arguments)."""
    rec = begin_recording(device)
    fn = device.fn
    device.full_barrier.record(fn, rec.cb)
    fn.fill_buffer(rec.cb, status.buffer, 0, 4, slot)
    status_barrier(device).record(fn, rec.cb)
    check(fn.end_command_buffer(rec.cb), "vkEndCommandBuffer")
    return rec


def record_copy(
    device: VulkanDevice,
    src: VulkanAllocation,
    src_offset: int,
    dst: VulkanAllocation,
    dst_offset: int,
    length: int,
) -> Recording:
    """A recording of one copy (the staging path of host reads and writes)."""
    rec = begin_recording(device, vk.VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT)
    region = new("VkBufferCopy*", (src_offset, dst_offset, length))
    device.fn.copy_buffer(rec.cb, src.buffer, dst.buffer, 1, region)
    check(device.fn.end_command_buffer(rec.cb), "vkEndCommandBuffer")
    return rec


class Recorder:
    """Records one stream into one VkCommandBuffer, tracking the state already set in it."""

    def __init__(self, device: VulkanDevice, rec: Recording):
        self.device = device
        self.fn = fn = device.fn
        self.cb = rec.cb
        self.rec = rec
        self.align_mask = device.storage_alignment - 1
        self.serial = device.serial
        self.staging: VulkanAllocation | None = None
        self.staged = 0
        self.args: VulkanAllocation | None = None  # count-check arguments
        self.args_used = 0
        # Events set earlier in this recording (and not reset since): only those are
        # waited on with vkCmdWaitEvents, see wait_events.
        self.set_events: set = set()
        self.pipeline: Any = None  # the bound VkPipeline
        self.entry: EntryPipeline | None = None  # the entry point of the program's dispatch
        # Per entry point: a binding record's bytes → the calls that bind it.  The bytes
        # name the ranges within this stream and binding table, so a hit needs no check.
        self.bound: dict[EntryPipeline, dict[bytes, Any]] = {}
        self.keep: list = []  # the descriptor writes those calls point at
        self.barrier_calls: dict[tuple, Any] = {}  # see barrier_call
        self.handlers: dict[type, Any] = {
            C.Barrier: self.barrier,
            C.Fill: self.fill,
            C.Update: self.update,
            C.Copy: self.copy,
            C.SignalEvent: self.signal_event,
            C.ResetEvent: self.reset_event,
            C.WaitEvents: self.wait_events,
            C.Discard: self.nothing,
            C.BeginDebugGroup: self.begin_debug_group,
            C.EndDebugGroup: self.end_debug_group,
        }
        # The program's own dispatches go through these (the count check's does not):
        # serial devices order each one, traced recordings time each one.
        dispatch, indirect = fn.dispatch, fn.dispatch_indirect
        if self.serial:
            full = device.full_barrier

            def dispatch(cb: Any, x: int, y: int, z: int, call: Any = dispatch) -> None:
                call(cb, x, y, z)
                full.record(fn, cb)

            def indirect(cb: Any, buffer: Any, offset: int, call: Any = indirect) -> None:
                call(cb, buffer, offset)
                full.record(fn, cb)

        if rec.timing is not None:
            dispatch, indirect = self.timed(dispatch, True), self.timed(indirect, False)
        self.dispatch, self.dispatch_indirect = dispatch, indirect

    def timed(self, call: Any, direct: bool) -> Any:
        """``call`` bracketed by timestamp writes: top of pipe before (the dispatch may
        start), bottom of pipe after (it and everything before it completed)."""
        timing = self.rec.timing
        assert timing is not None
        pool, dispatches = timing.pool, timing.dispatches

        def timed_call(cb: Any, *args: Any) -> None:
            n = 2 * len(dispatches)
            lib.vkCmdWriteTimestamp(cb, _TOP, pool, n)
            call(cb, *args)
            lib.vkCmdWriteTimestamp(cb, _BOTTOM, pool, n + 1)
            dispatches.append((self.entry.name, args if direct else None))  # type: ignore

        return timed_call

    def close(self) -> None:
        """Drops the bound methods and closures that make cycles through the recorder:
        they would keep the recording, and the allocations it pins, until the next
        garbage collection."""
        self.handlers.clear()
        self.dispatch = self.dispatch_indirect = None

    def record(self, stream: Stream, table: Any) -> None:
        """Records every command of ``stream``.

        The hot path reads the records' fields in place (polyhal._walker decodes the rest).
        The stream shares the entries of repeated state, so a constants or bindings index
        equal to the previous dispatch's means the same values: nothing is pushed again
        (the counts are the pipeline layout's, so the index alone names an entry while
        the layout stays).  A barrier record equal to the previous barrier (kind, stages,
        object) repeats its call; another finds the device's prebuilt barrier by content.
        """
        records, refs, constants, _ = stream.arrays
        # The constants pool as words: a dispatch's constants are a pointer into it.
        words = ffi.from_buffer("uint32_t[]", constants)
        objects, allocations = stream.objects, stream.allocations
        # Every allocation the stream names directly, pinned at once (slots' one by one).
        self.rec.hold_all(allocations)
        unpack_refs, decode_ref = W.REF.iter_unpack, W.decode_ref
        cb, fn = self.cb, self.fn
        push_constants, dispatch = fn.push_constants, self.dispatch
        bound_by_entry, handlers = self.bound, self.handlers
        direct, op_barrier, low = _OP_DISPATCH, _OP_BARRIER, 0xFFFFFFFF
        stage, ref_size, no_object = _STAGE_COMPUTE, _REF_SIZE, _NO_OBJECT
        entry: Any = None
        layout: Any = None
        bound: dict = {}
        bind: Any = None  # the calls that bound the current descriptors
        args: Any = None
        barrier_calls, scopes = self.barrier_calls, _SCOPES
        barrier: Any = None
        plan = last_target = last_ci = last_bi = const_bytes = bind_bytes = -1
        barrier_kind = barrier_stages = barrier_target = -1
        count = len(records) // _RECORD_SIZE
        fields = _FIELDS.iter_unpack(records)
        # ``kind`` is op | aux << 32 (a direct dispatch: OP_DISPATCH), ``target`` object |
        # entry point << 32.  The rare paths find the record's index from what is left to
        # read: enumerate() would cost every record.
        for kind, x, y, z, cc, ci, bc, bi, stages, target in fields:
            if kind == direct and target == last_target:
                pass  # the entry point of the previous dispatch: on to its state
            elif kind == barrier_kind and stages == barrier_stages and target == barrier_target:
                barrier()
                continue
            else:
                op = kind & low
                if op == op_barrier:
                    obj = target & low
                    memory, buffers = objects[obj] if obj != no_object else _NO_BARRIERS
                    if not buffers:  # the device's prebuilt barrier, one call per content
                        content = (stages, *map(scopes, memory))
                        barrier = barrier_calls.get(content)
                        if barrier is None:
                            barrier = self.barrier_call(content, memory)
                        barrier_kind, barrier_stages, barrier_target = kind, stages, target
                        barrier()
                        continue
                if op != direct:
                    cmd = stream.command(count - fields.__length_hint__() - 1)
                    handlers[type(cmd)](cmd, table)
                    continue
                if kind != direct:
                    # Indirect: the count check binds its own state, so all is bound again.
                    cmd = stream.command(count - fields.__length_hint__() - 1)
                    args = self.check_indirect(
                        objects[target & low].native.entries[target >> 32].name, cmd.indirect, table
                    )
                    last_target = -1
                    layout = None
                if target != last_target:
                    entry = objects[target & low].native.entries[target >> 32]
                    if entry.layout is not layout:  # nothing is known to be pushed for it
                        layout = entry.layout
                        plan = last_ci = last_bi = -1
                        const_bytes, bind_bytes = 4 * cc, ref_size * bc
                    if entry.plan_id != plan:
                        plan = entry.plan_id
                        last_bi = -1
                        bind = None
                    if entry.pipeline is not self.pipeline:
                        self.use(entry)
                    bound = bound_by_entry.get(entry)  # type: ignore[assignment]
                    if bound is None:
                        bound = bound_by_entry[entry] = {}
                    self.entry = entry
                    last_target = target
            if ci != last_ci:
                last_ci = ci
                if const_bytes:
                    push_constants(cb, layout, stage, 0, const_bytes, words + ci)
            if bi != last_bi:
                last_bi = bi
                if bind_bytes:
                    # New entries may repeat ranges bound before (bindings pushed again):
                    # their bytes find the same calls, and bound ones are not bound again.
                    start = ref_size * bi
                    key = refs[start : start + bind_bytes]
                    try:
                        calls = bound[key]
                    except KeyError:
                        bindings = [decode_ref(f, allocations) for f in unpack_refs(key)]
                        calls = self.bind_calls(entry, bindings, table)
                        if calls is None:  # misaligned: the dispatch runs on copies
                            self.dispatch_shadowed(
                                entry,
                                bindings,
                                table,
                                (x, y, z) if kind == direct else None,
                                None if kind == direct else args,
                            )
                            last_bi, bind = -1, None
                            continue
                        bound[key] = calls
                    if calls is not bind:
                        calls()
                        bind = calls
            if kind == direct:
                dispatch(cb, x, y, z)
            else:
                self.dispatch_indirect(cb, *args)

    def barrier_call(self, key: tuple, memory: tuple) -> Any:
        """Makes the call recording the device's barrier of a barrier record without
        buffer barriers, kept in ``barrier_calls`` under ``key`` = (stages, (source scope,
        target scope) of each memory barrier): by content, since a program that builds
        new MemoryBarrier objects for each barrier gets a new object entry each time."""
        stages = key[0]
        call = self.barrier_calls[key] = self.device.barrier(
            stages & 0xFFFFFFFF, stages >> 32, memory
        ).bound(self.fn, self.cb)
        return call

    def nothing(self, cmd: Any, table: Any) -> None:
        """Discards need no work: the bytes simply stay."""

    # -- dispatch ---------------------------------------------------------------------------
    def use(self, entry: EntryPipeline) -> None:
        if entry.pipeline is not self.pipeline:
            self.fn.bind_pipeline(self.cb, _COMPUTE, entry.pipeline)
            self.pipeline = entry.pipeline

    def bind_calls(self, entry: EntryPipeline, bindings: list, table: Any) -> Any:
        """A call that binds ``bindings`` (Refs, in the entry's binding order) to the
        entry's descriptor sets, or None when one is misaligned (dispatch_shadowed)."""
        key = [entry.plan_id]
        ranges = []
        held, align_mask = self.rec.held, self.align_mask
        # self.resolve() written out: every dispatch with new buffers comes here.
        for ref in bindings:
            alloc, offset, length = ref.resolve(table)
            if alloc not in held:
                self.rec.hold(alloc)
            if offset < 0 or length < 0 or offset + length > alloc.size:
                raise OutOfRangeError(
                    f"bytes [{offset}, {offset + length}) are outside an "
                    f"allocation of {alloc.size} bytes"
                )
            if offset & align_mask:
                return None
            ranges.append((alloc, offset, length))
            key += (alloc.uid, offset, length)
        return self.calls(entry, tuple(key), ranges)

    def calls(self, entry: EntryPipeline, key: tuple, ranges: list) -> Any:
        """A call without arguments that binds buffer ranges to the entry's descriptor
        sets (one Vulkan call per set).

        ``key`` = (plan id, uid, offset, length, …) names them for the caches;
        ``ranges`` is the [(alloc, offset, length)] list.
        """
        cached = self.device.descriptor_writes.get(key)
        if cached is None:
            cached = self.device.cache_descriptor_writes(entry, key, ranges)
        self.keep.append(cached)
        groups = cached[0]
        cb, layout = self.cb, entry.layout
        if entry.push:
            push = self.fn.push_descriptor_set
            return _chain(
                [
                    partial(push, cb, _COMPUTE, layout, set_index, count, writes)
                    for set_index, count, writes in groups
                ]
            )
        sets = self.rec.sets.get(key)
        if sets is None:
            sets = []
            for set_index, count, writes in groups:
                vk_set = self.rec.descriptor_set(entry.set_layouts[set_index])
                with self.device.cache_lock:  # the cached writes are shared
                    for i in range(count):
                        writes[i].dstSet = vk_set[0]
                    lib.vkUpdateDescriptorSets(self.device.handle, count, writes, 0, _NULL)
                    for i in range(count):
                        writes[i].dstSet = _NULL
                sets.append((set_index, vk_set))
            self.rec.sets[key] = sets
        bind = self.fn.bind_descriptor_sets
        return _chain(
            [
                partial(bind, cb, _COMPUTE, layout, set_index, 1, vk_set, 0, _NULL)
                for set_index, vk_set in sets
            ]
        )

    def bind(self, entry: EntryPipeline, key: tuple, ranges: list) -> None:
        self.calls(entry, key, ranges)()

    def check_indirect(self, name: str, ref: C.Ref, table: Any) -> tuple[Any, int]:
        """Records the count check of an indirect dispatch of entry point ``name``;
        returns the (VkBuffer, offset) of the checked arguments for vkCmdDispatchIndirect.

        Leaves the check's pipeline and descriptors bound: the caller binds its own again.
        """
        alloc, offset, _ = self.resolve(ref, table, 12)
        if offset & 3:  # the check reads whole words
            scratch = self.scratch(12)
            self.device.full_barrier.record(self.fn, self.cb)
            self.copy_raw(alloc, offset, scratch, 0, 12)
            self.device.full_barrier.record(self.fn, self.cb)
            alloc, offset = scratch, 0
        entry, status = self.device.indirect_check()
        if self.args is None or self.args_used == _ARGS_CHUNK:
            self.args = self.scratch(16 * _ARGS_CHUNK)
            self.args_used = 0
        args, args_word = self.args, 4 * self.args_used
        self.args_used += 1
        site = self.device.new_site()
        self.rec.sites[site] = name
        base = offset & ~self.align_mask  # a storage binding's offset must be aligned
        self.use(entry)
        self.fn.push_constants(
            self.cb,
            entry.layout,
            _STAGE_COMPUTE,
            0,
            24,
            struct.pack(
                "<6I",
                *self.device.limits.max_workgroup_count,
                site,
                (offset - base) // 4,
                args_word,
            ),
        )
        ranges = [(alloc, base, offset - base + 12), (args, 0, args.size), (status, 0, status.size)]
        self.bind(entry, (entry.plan_id, *[x for a, o, n in ranges for x in (a.uid, o, n)]), ranges)
        self.fn.dispatch(self.cb, 1, 1, 1)
        self.device.check_barrier.record(self.fn, self.cb)
        return args.buffer, 4 * args_word

    def resolve(
        self,
        ref: C.Ref,
        table: Any,
        length: int | None = None,
    ) -> tuple[VulkanAllocation, int, int]:
        """``ref.resolve(table)`` (with ``length`` instead of the ref's, when given),
        pinning the allocation for the recording and checking that the range is inside
        it: the front end checks every range first, and this keeps a range it missed
        from reaching Vulkan, where it would touch other memory."""
        alloc, offset, ref_length = ref.resolve(table)
        if length is None:
            length = ref_length
        if alloc not in self.rec.held:
            self.rec.hold(alloc)
        if offset < 0 or length < 0 or offset + length > alloc.size:
            raise OutOfRangeError(
                f"bytes [{offset}, {offset + length}) are outside an "
                f"allocation of {alloc.size} bytes"
            )
        return alloc, offset, length

    def dispatch_shadowed(
        self,
        entry: EntryPipeline,
        bindings: list,
        table: Any,
        counts: tuple | None,
        indirect: tuple[Any, int] | None,
    ) -> None:
        """A dispatch with bindings Vulkan cannot bind where they are: it runs on aligned
        copies of those ranges, and the writable ones are copied back.  ``counts``: the
        workgroup count, or None and ``indirect`` the checked (VkBuffer, offset)."""
        self.device.note_slow_path(
            "misaligned binding",
            "a binding at an offset that is not a multiple of "
            f"minStorageBufferOffsetAlignment ({self.device.storage_alignment}) runs on an "
            "aligned copy, behind full barriers",
        )
        shadows: dict[tuple, list] = {}  # (uid, offset, length) → [scratch, written, alloc]
        ranges, key = [], [entry.plan_id]
        for i, ref in enumerate(bindings):
            alloc, offset, length = self.resolve(ref, table)
            if offset & self.align_mask:
                shadow = shadows.setdefault(
                    (alloc.uid, offset, length), [self.scratch(length), False, alloc]
                )
                shadow[1] |= not entry.read_only[i]
                alloc, offset = shadow[0], 0
            ranges.append((alloc, offset, length))
            key += (alloc.uid, offset, length)
        full = self.device.full_barrier
        full.record(self.fn, self.cb)
        for (_, offset, length), (scratch, _, alloc) in shadows.items():
            self.copy_raw(alloc, offset, scratch, 0, length)
        full.record(self.fn, self.cb)
        self.bind(entry, tuple(key), ranges)
        if counts is not None:
            self.dispatch(self.cb, *counts)
        else:
            self.dispatch_indirect(self.cb, *indirect)
        full.record(self.fn, self.cb)
        for (_, offset, length), (scratch, written, alloc) in shadows.items():
            if written:
                self.copy_raw(scratch, 0, alloc, offset, length)
        full.record(self.fn, self.cb)

    def scratch(self, length: int) -> VulkanAllocation:
        scratch = VulkanAllocation(self.device, length, MemoryType.DEVICE_LOCAL)
        self.rec.keep.append(scratch)
        return scratch

    # -- transfers --------------------------------------------------------------------------
    def fill(self, cmd: C.Fill, table: Any) -> None:
        alloc, offset, length = self.resolve(cmd.target, table)
        if not length:
            return
        pattern, plen = cmd.pattern, cmd.pattern_length

        def byte_at(x: int) -> int:
            return (pattern >> 8 * ((x - offset) % plen)) & 0xFF

        end = offset + length
        body, body_end = (offset + 3) & ~3, end & ~3
        if body < body_end:
            word = (
                byte_at(body)
                | byte_at(body + 1) << 8
                | byte_at(body + 2) << 16
                | (byte_at(body + 3) << 24)
            )
            self.fn.fill_buffer(self.cb, alloc.buffer, body, body_end - body, word)
        self.partial_words(alloc, offset, end, byte_at)
        if self.serial:
            self.device.full_barrier.record(self.fn, self.cb)

    def update(self, cmd: C.Update, table: Any) -> None:
        alloc, offset, length = self.resolve(cmd.target, table)
        if not length:
            return
        data = cmd.data
        end = offset + length
        position, body_end = (offset + 3) & ~3, end & ~3
        while position < body_end:
            n = min(_UPDATE_CHUNK, body_end - position)
            start = position - offset
            self.fn.update_buffer(self.cb, alloc.buffer, position, n, data[start : start + n])
            position += n
        self.partial_words(alloc, offset, end, lambda x: data[x - offset])
        if self.serial:
            self.device.full_barrier.record(self.fn, self.cb)

    def partial_words(self, alloc: VulkanAllocation, start: int, end: int, byte_at: Any) -> None:
        """Writes the bytes of [start, end) outside its whole aligned words."""
        body, body_end = (start + 3) & ~3, end & ~3
        if body >= body_end:
            edges = [(start, end)]
        else:
            edges = [(start, body), (body_end, end)]
        if edges[0][0] < edges[0][1] or edges[-1][0] < edges[-1][1]:
            self.device.note_slow_path(
                "partial words",
                "a fill or update with edges that are not whole 32-bit words "
                "copies those bytes from staging memory",
            )
        for first, last in edges:
            if first < last:
                data = bytes(byte_at(x) for x in range(first, last))
                staging, offset = self.stage(data)
                self.copy_raw(staging, offset, alloc, first, len(data))

    def stage(self, data: bytes) -> tuple[VulkanAllocation, int]:
        """``data`` in the recording's host-visible staging memory: (allocation, offset)."""
        staging = self.staging
        if staging is None or self.staged + len(data) > staging.size:
            staging = self.staging = VulkanAllocation(
                self.device, max(_STAGING_CHUNK, len(data)), MemoryType.HOST_LOCAL
            )
            self.rec.keep.append(staging)
            self.staged = 0
        offset = self.staged
        staging.write(offset, data)
        self.staged += len(data)
        return staging, offset

    def copy(self, cmd: C.Copy, table: Any) -> None:
        src, src_offset, length = self.resolve(cmd.source, table)
        dst, dst_offset, _ = self.resolve(cmd.target, table, length)
        if length:
            self.copy_raw(src, src_offset, dst, dst_offset, length)
        if self.serial:
            self.device.full_barrier.record(self.fn, self.cb)

    def copy_raw(
        self,
        src: VulkanAllocation,
        src_offset: int,
        dst: VulkanAllocation,
        dst_offset: int,
        length: int,
    ) -> None:
        region = new("VkBufferCopy*", (src_offset, dst_offset, length))
        self.fn.copy_buffer(self.cb, src.buffer, dst.buffer, 1, region)

    # -- synchronization --------------------------------------------------------------------
    def barrier(self, cmd: C.Barrier, table: Any) -> None:
        if cmd.buffer_barriers:
            barrier = hal_barrier(
                self.device,
                cmd.source_stage,
                cmd.target_stage,
                cmd.memory_barriers,
                self.buffer_barriers(cmd.buffer_barriers, table),
            )
        else:
            barrier = self.device.barrier(cmd.source_stage, cmd.target_stage, cmd.memory_barriers)
        barrier.record(self.fn, self.cb)

    def buffer_barriers(self, barriers: tuple, table: Any) -> list:
        out = []
        for source_scope, target_scope, ref in barriers:
            alloc, offset, length = self.resolve(ref, table)
            out.append((source_scope, target_scope, alloc.buffer, offset, length or WHOLE_SIZE))
        return out

    def signal_event(self, cmd: C.SignalEvent, table: Any) -> None:
        # Vulkan wants a wait's source stages to equal the union of the set stages, which
        # the HAL does not promise across command buffers: events use every stage.
        self.fn.set_event(self.cb, self.device.event_handle(cmd.event), _ALL)
        self.set_events.add(cmd.event)

    def reset_event(self, cmd: C.ResetEvent, table: Any) -> None:
        self.fn.reset_event(self.cb, self.device.event_handle(cmd.event), _ALL)
        self.set_events.discard(cmd.event)

    def wait_events(self, cmd: C.WaitEvents, table: Any) -> None:
        if not all(e in self.set_events for e in cmd.events):
            # An event set by another command buffer (or never): the queue runs command
            # buffers in submission order, so a barrier orders everything the set could
            # have, while vkCmdWaitEvents would stall the queue forever when the set comes
            # later (a submission parked on a semaphore) or never: the GPU would hang.
            self.barrier(
                C.Barrier(
                    cmd.source_stage, cmd.target_stage, 0, cmd.memory_barriers, cmd.buffer_barriers
                ),
                table,
            )
            return
        events = new("VkEvent[]", [self.device.event_handle(e) for e in cmd.events])
        buffers = self.buffer_barriers(cmd.buffer_barriers, table)
        dst, memory, buffer_array = event_wait(cmd.target_stage, cmd.memory_barriers, buffers)
        self.fn.wait_events(
            self.cb,
            len(cmd.events),
            events,
            _ALL,
            dst,
            1,
            memory,
            len(buffers),
            buffer_array,
            0,
            _NULL,
        )

    # -- debug groups ---------------------------------------------------------------------
    def begin_debug_group(self, cmd: C.BeginDebugGroup, table: Any) -> None:
        begin = self.device.begin_label
        if begin is None:
            return
        color = tuple(cmd.color)[:4] if cmd.color is not None else (0.0, 0.0, 0.0, 0.0)
        name = ffi.new("char[]", cmd.label.encode())
        label = new(
            "VkDebugUtilsLabelEXT*",
            {
                "sType": vk.VK_STRUCTURE_TYPE_DEBUG_UTILS_LABEL_EXT,
                "pLabelName": name,
                "color": list(color) + [0.0] * (4 - len(color)),
            },
        )
        begin(self.cb, label)

    def end_debug_group(self, cmd: C.EndDebugGroup, table: Any) -> None:
        if self.device.end_label is not None:
            self.device.end_label(self.cb)


def make_descriptor_writes(entry: EntryPipeline, ranges: list) -> tuple[list, list]:
    """([(set index, count, VkWriteDescriptorSet array)], what keeps them valid) binding
    ``ranges`` = [(alloc, offset, length > 0)] in the entry's binding order; each
    descriptor covers its range rounded up to whole 4-byte words (what robust buffer
    access, and lavapipe always, bound accesses to).

    Why words: SPIR-V without 8/16-bit storage reads and writes storage buffers in 32-bit
    words (IREE stores i8 data with masked word atomics), and an access is out of bounds
    when any of its bytes is, so a 1- or 3-byte range would hold no usable word and its
    last bytes could be neither read nor written.  The widened bytes always exist: offsets
    here are multiples of the storage alignment (at least 4) and every VkBuffer's size is
    rounded up to 4 (buffer.py)."""
    groups, keep = [], []
    for set_index, indices, first in entry.sets:
        count = len(indices)
        infos = new(
            "VkDescriptorBufferInfo[]",
            [
                (alloc.buffer, offset, (length + 3) & ~3)
                for alloc, offset, length in ranges[first : first + count]
            ],
        )
        writes = new("VkWriteDescriptorSet[]", count)
        for i, binding in enumerate(indices):
            w = writes[i]
            w.sType = _WRITE_DESCRIPTOR_SET
            w.dstBinding = binding
            w.descriptorCount = 1
            w.descriptorType = _STORAGE_BUFFER
            w.pBufferInfo = infos + i
        groups.append((set_index, count, writes))
        keep.append(infos)
    return groups, keep
