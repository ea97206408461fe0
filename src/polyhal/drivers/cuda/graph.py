"""Reusable command buffers as CUDA graphs: built once, instantiated once, launched per submit.

The builder walks the commands the shared walker (polyhal._walker) decodes from the
flattened stream: nested command buffers are inlined and their binding tables resolved
there, and consecutive dispatches with unchanged state share their bindings tuple and
constants bytes, which the records below share in turn.

One node per command.  Barriers are dependency edges: every node of a group depends on
the group before it (on its one node, or on an empty node joining its several nodes), so
the dispatches of a group are parallel branches.  Fills and copies are the driver's own
kernels (kernels.py) and updates copy from a device staging buffer filled at build time,
so every node is a kernel node and a binding table only ever changes kernel parameters.

A collective is a child graph node holding what NCCL's stream capture made of it
(collective.py), between two barriers; the captured graph lives as long as the command
buffer's graph, and a launch is refused once one of the graph's channels was revoked
(launcher.c checks the communicator cells).

Nodes whose buffers are binding-table slots are built with placeholder addresses and
described by launcher records; at each submission whose table differs from the last one,
native/launcher.c rebuilds their parameters with cuGraphExecKernelNodeSetParams in the
executable graph, which is never re-instantiated.

dispatch_indirect
-----------------
IREE leaves it unimplemented on CUDA and other runtimes copy the counts to the host and
wait.  Here it is two nodes: ``polyhal_indirect_update``, a one-thread kernel, then the
dispatch's kernel node, made *device-updatable* (CUDA 12.4).  When the graph runs, the
first node reads the three counts written by whatever ran before it and sets the second
node's grid (or disables it for a zero count) with the device-side graph API; the change
takes effect in the same launch.  No host round trip, no stall, any kernel format.
Counts beyond the device's grid limits disable the node too, and the updater writes them
to a status record of the submission (kernels.IndirectStatus, pinned host memory; the
launcher stores the submission's token on the device before each launch of such a graph),
which the completion thread reads to fail the submission with OutOfRangeError.
The alternatives were weaker: a conditional node only chooses whether a body runs, not its
grid; device-side graph launch needs the whole graph instantiated for device launch
(no host-memory nodes, one more graph per dispatch, tail-launch ordering rules); a launcher
kernel using dynamic parallelism can only launch kernels linked into its own module, so
not a user's PTX or cubin.  Device-updatable graphs cannot be instantiated twice or
cloned, which this driver never does; after host-side updates of such a node the graph is
uploaded again before it is launched (the launcher does that).
"""

from __future__ import annotations

import ctypes
import struct
from typing import TYPE_CHECKING, Any

from ... import commands as C
from ..._walker import SlotRange
from ...errors import UnavailableError, UnimplementedError
from .api import check, cu
from .launcher import (
    CMD,
    FLAG_DEVICE_UPDATABLE,
    OP_COPY,
    OP_DISPATCH,
    OP_FILL,
    OP_INDIRECT_UPDATE,
    REF,
    Graph,
    Program,
)

if TYPE_CHECKING:
    from .device import CudaDevice

TRANSFER_THREADS = 256
TRANSFER_MAX_BLOCKS = 4096
_DEVICE_UPDATABLE = cu.CUkernelNodeAttrID.CU_LAUNCH_ATTRIBUTE_DEVICE_UPDATABLE_KERNEL_NODE


def transfer_blocks(length: int) -> int:
    """Blocks of the builtin fill/copy kernels for ``length`` bytes (as launcher.c)."""
    return max(1, min(TRANSFER_MAX_BLOCKS, -(-length // (16 * TRANSFER_THREADS))))


class CudaGraph:
    """An instantiated graph, the nodes a binding table re-parameterizes, and what they use."""

    __slots__ = (
        "device",
        "native",
        "native_ptr",
        "slot_count",
        "keepalive",
        "node_count",
        "indirect_names",
    )

    def __init__(
        self,
        device: CudaDevice,
        graph: Any,
        exec_: Any,
        native: Graph,
        keepalive: list,
        node_count: int,
        indirect_names: dict[int, str],
        children: tuple = (),
    ):
        self.device = device
        self.slot_count = native.capacity  # binding-table entries the graph's nodes use
        self.native = native
        self.native_ptr = ctypes.addressof(native)
        self.keepalive = keepalive
        self.node_count = node_count
        self.indirect_names = indirect_names  # status-record dispatch number → entry point
        # The device owns the handles: close() destroys those of graphs still alive.
        device._graphs[id(self)] = (graph, exec_, *children)

    def __del__(self) -> None:
        # No driver call here (see CudaDevice.defer): the handles go to the completion thread.
        handles = self.device._graphs.pop(id(self), None)
        if handles is not None:
            self.device.defer(destroy, *handles)


def destroy(graph: Any, exec_: Any, *children: Any) -> None:
    """Destroys a graph, its executable graph and the graphs captured for its child
    nodes (results ignored: a failure leaks them)."""
    cu.cuGraphExecDestroy(exec_)
    cu.cuGraphDestroy(graph)
    for child in children:
        cu.cuGraphDestroy(child)


def build(device: CudaDevice, commands: list) -> CudaGraph:
    """The graph of a flattened stream's commands (polyhal._walker.commands)."""
    staging = sum(len(cmd.data) for cmd in commands if type(cmd) is C.Update)
    builder = GraphBuilder(device, staging)
    try:
        builder.encode(commands)
        return builder.finish()
    except BaseException:
        cu.cuGraphDestroy(builder.graph)
        for child in builder.children:
            cu.cuGraphDestroy(child)
        raise


class SlotRecords:
    """Launcher records (``launcher.CMD``) of the nodes whose buffers are binding-table
    slots, with their references and push constants.  A dispatch that reuses the previous
    one's bindings tuple or constants bytes (the walker hands the same objects) reuses
    their entries."""

    __slots__ = (
        "cmds",
        "refs",
        "constants",
        "count",
        "slot_count",
        "_last_refs",
        "_last_constants",
    )

    def __init__(self) -> None:
        self.cmds = bytearray()
        self.refs = bytearray()
        self.constants = bytearray()
        self.count = 0
        self.slot_count = 0  # binding-table entries the references need
        self._last_refs: tuple = (None, 0)
        self._last_constants: tuple = (None, 0)

    def _refs_index(self, refs: tuple) -> int:
        last, index = self._last_refs
        if refs is not last:
            index = len(self.refs) // REF.size
            for r in refs:
                if r.alloc is not None:
                    self.refs += REF.pack(-1, r.alloc.ptr, r.offset, r.length, 0, 0)
                else:
                    self.slot_count = max(self.slot_count, r.slot + 1)
                    self.refs += REF.pack(r.slot, 0, r.offset, r.length, 0, 0)
            self._last_refs = (refs, index)
        return index

    def _constants_index(self, data: bytes) -> int:
        last, index = self._last_constants
        if data is not last:
            index = len(self.constants) // 4
            self.constants += data
            self._last_constants = (data, index)
        return index

    def emit(
        self,
        op: int,
        handle: int,
        node: int,
        grid: tuple = (0, 0, 0),
        block: tuple = (0, 0, 0),
        shared: int = 0,
        refs: tuple = (),
        constants: bytes = b"",
        pattern: int = 0,
        pattern_length: int = 0,
        flags: int = 0,
    ) -> None:
        """Appends the record of graph node ``node``."""
        self.cmds += CMD.pack(
            op,
            0,
            handle,
            node,
            *grid,
            *block,
            shared,
            len(refs),
            self._refs_index(refs),
            len(constants) // 4,
            self._constants_index(constants),
            pattern,
            pattern_length,
            flags,
        )
        self.count += 1

    def program(self) -> tuple[Program, list]:
        """The launcher's view of the arrays, and the ctypes objects that keep it valid."""
        arrays = [
            (ctypes.c_char * max(1, len(b))).from_buffer(b if b else bytearray(1))
            for b in (self.cmds, self.refs, self.constants)
        ]
        program = Program(
            ctypes.addressof(arrays[0]),
            self.count,
            ctypes.addressof(arrays[1]),
            ctypes.addressof(arrays[2]),
        )
        return program, arrays


class GraphBuilder:
    """Adds one node per command to a new graph, tracking the barrier groups."""

    def __init__(self, device: CudaDevice, staging_size: int):
        self.device = device
        device.bind()
        self.graph = check(cu.cuGraphCreate(0), "cuGraphCreate")
        self.serial = device.serial
        self.frontier: list = []  # what the current group's nodes depend on
        self.group: list = []
        self.nodes = 0
        self.slots = SlotRecords()
        self.keepalive: list = []
        self.staging = (
            device.memory.allocate(staging_size, device.staging_memory_type)
            if staging_size
            else None
        )
        self.staged = bytearray()
        self.transfer: tuple[int, int] | None = None
        self.indirect_names: dict[int, str] = {}
        self.token_word = 0  # where launches store the submission's token (indirect only)
        self.children: list = []  # graphs captured from NCCL (collectives)
        self.cells: list[int] = []  # the communicator cells of their channels

    # -- nodes ------------------------------------------------------------------------------
    def kernel(
        self, fn: int, grid: tuple, block: tuple, shared: int, values: list[int], deps: list
    ) -> Any:
        """Adds a kernel node whose parameters are ``values`` (each read at its width)."""
        params, _storage = _kernel_params(fn, grid, block, shared, values)
        node = check(
            cu.cuGraphAddKernelNode(self.graph, deps, len(deps), params), "cuGraphAddKernelNode"
        )
        self.nodes += 1
        return node

    def add(self, node: Any) -> None:
        self.group.append(node)
        if self.serial:
            self.barrier()

    def barrier(self) -> None:
        group = self.group
        if len(group) == 1:
            self.frontier = group
        elif group:
            self.frontier = [
                check(cu.cuGraphAddEmptyNode(self.graph, group, len(group)), "cuGraphAddEmptyNode")
            ]
            self.nodes += 1
        self.group = []

    @staticmethod
    def address(r: C.Ref) -> tuple[int, int, bool]:
        """(address, length, is a slot); a slot's address is a placeholder until submit."""
        if r.alloc is not None:
            return r.alloc.ptr + r.offset, r.length, False
        return 0, 0, True

    def transfer_kernels(self) -> tuple[int, int]:
        if self.transfer is None:
            self.transfer = self.device.transfer_kernels()
        return self.transfer

    # -- commands ---------------------------------------------------------------------------
    def encode(self, commands: list) -> None:
        for cmd in commands:
            kind = type(cmd)
            if kind is C.Dispatch:
                self.dispatch(cmd)
            elif kind is C.Fill:
                self.fill(cmd)
            elif kind is C.Copy:
                self.copy(cmd.source, cmd.target)
            elif kind is C.Update:
                offset = len(self.staged)
                self.staged += cmd.data
                source = C.Ref(self.staging, -1, offset, len(cmd.data))
                self.copy(source, cmd.target)
            elif kind is C.Barrier or kind is C.WaitEvents:
                self.barrier()
            elif kind is C.Collective:
                self.collective(cmd)

    def dispatch(self, cmd: C.Dispatch) -> None:
        fn, bx, by, bz, shared = cmd.executable.native.launch[cmd.entry_point]
        self.keepalive.append(cmd.executable)
        refs = [self.address(r) for r in cmd.bindings]
        constants = list(struct.unpack(f"<{len(cmd.constants) // 4}I", cmd.constants))
        values = [a for a, _, _ in refs] + constants
        uses_slots = any(slot for _, _, slot in refs)
        if cmd.indirect is None:
            grid = cmd.workgroup_count
            if not all(grid):
                return
            node = self.kernel(fn, grid, (bx, by, bz), shared, values, self.frontier)
            if uses_slots:
                self.slots.emit(
                    OP_DISPATCH,
                    fn,
                    int(node),
                    grid,
                    (bx, by, bz),
                    shared,
                    cmd.bindings,
                    cmd.constants,
                )
            self.add(node)
            return
        # Indirect: an updater node sets the dispatch node's grid on the device, or skips it
        # and reports counts out of range (see the module docstring).
        updater, status = self.device.indirect_kernel()
        dispatch = self.device.next_indirect_id()
        self.indirect_names[dispatch] = cmd.executable.entry_points[cmd.entry_point].name
        counts, _, counts_slot = self.address(cmd.indirect)
        # polyhal_indirect_update(counts, node, token, records, dispatch, max x, y, z); the
        # node's device handle exists once the node does, so it is set afterwards.
        rest = [
            0,
            status.token_word,
            status.records,
            dispatch,
            *self.device.limits.max_workgroup_count,
        ]
        first = self.kernel(updater, (1, 1, 1), (1, 1, 1), 0, [counts, *rest], self.frontier)
        node = self.kernel(fn, (1, 1, 1), (bx, by, bz), shared, values, [first])
        rest[0] = _make_device_updatable(node)
        params, _storage = _kernel_params(updater, (1, 1, 1), (1, 1, 1), 0, [counts, *rest])
        check(cu.cuGraphKernelNodeSetParams(first, params), "cuGraphKernelNodeSetParams")
        self.token_word = status.token_word
        if counts_slot:
            self.slots.emit(
                OP_INDIRECT_UPDATE,
                updater,
                int(first),
                (1, 1, 1),
                (1, 1, 1),
                0,
                (cmd.indirect,),
                struct.pack("<3Q4I", *rest),
            )
        if uses_slots:
            self.slots.emit(
                OP_DISPATCH,
                fn,
                int(node),
                (1, 1, 1),
                (bx, by, bz),
                shared,
                cmd.bindings,
                cmd.constants,
                flags=FLAG_DEVICE_UPDATABLE,
            )
        self.add(node)

    def fill(self, cmd: C.Fill) -> None:
        fill, _ = self.transfer_kernels()
        address, length, slot = self.address(cmd.target)
        if not slot and not length:
            return
        values = [address, length, cmd.pattern, cmd.pattern_length]
        node = self.kernel(
            fill,
            (transfer_blocks(length), 1, 1),
            (TRANSFER_THREADS, 1, 1),
            0,
            values,
            self.frontier,
        )
        if slot:
            self.slots.emit(
                OP_FILL,
                fill,
                int(node),
                refs=(cmd.target,),
                pattern=cmd.pattern,
                pattern_length=cmd.pattern_length,
            )
        self.add(node)

    def copy(self, source: C.Ref, target: C.Ref) -> None:
        _, copy = self.transfer_kernels()
        src, _, src_slot = self.address(source)
        dst, length, dst_slot = self.address(target)
        if not (src_slot or dst_slot or length):
            return
        node = self.kernel(
            copy,
            (transfer_blocks(length), 1, 1),
            (TRANSFER_THREADS, 1, 1),
            0,
            [dst, src, length],
            self.frontier,
        )
        if src_slot or dst_slot:
            self.slots.emit(OP_COPY, copy, int(node), refs=(source, target))
        self.add(node)

    def collective(self, cmd: C.Collective) -> None:
        from . import collective

        channel = collective.driver_channel(cmd.channel)
        channel.ready()
        rec = collective.record(channel, cmd.op, cmd.param, cmd.element_count)
        send, _, send_slot = self.address(cmd.send) if cmd.send else (0, 0, False)
        recv, _, recv_slot = self.address(cmd.recv) if cmd.recv else (0, 0, False)
        if send_slot or recv_slot:  # encoder.py runs such command buffers unless indirect
            raise UnimplementedError(
                "a command buffer with dispatch_indirect cannot hold a collective whose "
                "buffers are binding-table slots on cuda (NCCL's graph nodes take no new "
                "addresses); bind the collective's buffers directly"
            )
        child = collective.capture(self.device, rec, send, recv, self.device.capture_stream())
        self.children.append(child)
        self.barrier()
        node = check(
            cu.cuGraphAddChildGraphNode(self.graph, self.frontier, len(self.frontier), child),
            "cuGraphAddChildGraphNode",
        )
        self.nodes += 1
        self.keepalive += [rec, channel]
        self.cells.append(channel.cell_ptr)
        self.group.append(node)
        self.barrier()

    # -- the executable graph ---------------------------------------------------------------
    def finish(self) -> CudaGraph:
        self.barrier()
        device = self.device
        if self.staging is not None:
            device.memory.write(self.staging, 0, memoryview(self.staged))
        exec_ = check(cu.cuGraphInstantiate(self.graph, 0), "cuGraphInstantiate")
        check(cu.cuGraphUpload(exec_, device.stream), "cuGraphUpload")
        program, arrays = self.slots.program()
        capacity = self.slots.slot_count
        last_table = (SlotRange * max(1, capacity))()
        cells = (ctypes.c_void_p * max(1, len(self.cells)))(*self.cells)
        native = Graph(
            int(exec_),
            program,
            ctypes.addressof(last_table),
            2**64 - 1,
            capacity,
            0,
            self.token_word,
            ctypes.addressof(cells),
            len(self.cells),
        )
        keepalive = [arrays, last_table, self.staging, self.keepalive, self.slots, cells]
        return CudaGraph(
            device,
            self.graph,
            exec_,
            native,
            keepalive,
            self.nodes,
            self.indirect_names,
            tuple(self.children),
        )


def _kernel_params(
    fn: int, grid: tuple, block: tuple, shared: int, values: list[int]
) -> tuple[Any, Any]:
    """CUDA_KERNEL_NODE_PARAMS for ``values`` and the storage it points into, which must
    live until the driver call that takes them (the driver copies the values)."""
    n = len(values)
    storage = (ctypes.c_uint64 * max(1, n))(*values)
    pointers = (ctypes.c_void_p * max(1, n))(*[ctypes.addressof(storage) + 8 * i for i in range(n)])
    params = cu.CUDA_KERNEL_NODE_PARAMS()
    params.func = fn
    params.gridDimX, params.gridDimY, params.gridDimZ = grid
    params.blockDimX, params.blockDimY, params.blockDimZ = block
    params.sharedMemBytes = shared
    params.kernelParams = ctypes.addressof(pointers) if n else 0
    return params, (storage, pointers)


def _make_device_updatable(node: Any) -> int:
    """Opts ``node`` in to device-side updates; returns its device handle."""
    value = cu.CUkernelNodeAttrValue()
    value.deviceUpdatableKernelNode.deviceUpdatable = 1
    check(
        cu.cuGraphKernelNodeSetAttribute(node, _DEVICE_UPDATABLE, value),
        "cuGraphKernelNodeSetAttribute(DEVICE_UPDATABLE_KERNEL_NODE)",
    )
    got = check(
        cu.cuGraphKernelNodeGetAttribute(node, _DEVICE_UPDATABLE),
        "cuGraphKernelNodeGetAttribute(DEVICE_UPDATABLE_KERNEL_NODE)",
    )
    handle = int(got.deviceUpdatableKernelNode.devNode)
    if not handle:
        raise UnavailableError(
            "the driver returned no device handle for a device-updatable "
            "kernel node (dispatch_indirect needs CUDA >= 12.4)"
        )
    return handle
