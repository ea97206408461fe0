"""The typed interface of polyhal._stream, the C half of the command buffer (native/stream.c).

The recorder's public methods are typed with what the front end accepts: the C fast path
takes the common forms, and everything else goes to the subclass's ``_slow_<name>``
method with the same arguments, which converts it or raises the typed error.  Keep this
file in step with stream.c's method tables and argument parsing.
"""

from collections.abc import Iterable, Sequence

from polyhal.buffer import HostData
from polyhal.command_buffer import (
    BindingSpec,
    BufferBarrier,
    BufferOrSlot,
    MemoryBarrier,
    PushConstantValues,
    WorkgroupCount,
)
from polyhal.commands import Ref
from polyhal.drivers.base import Allocation
from polyhal.executable import Executable, PipelineLayout
from polyhal.types import ExecutionStage

#: sizeof(ph_cmd_t) and sizeof(ph_ref_t) (native/stream.h): polyhal._walker checks its
#: mirrors of them at import.
RECORD_SIZE: int
REF_SIZE: int
#: How many descriptor sets a command buffer can push.
MAX_SETS: int

def configure(
    errors: dict[str, object],
    executable_type: type[Executable],
    ref_type: type[Ref],
    pipeline_layout_type: type[PipelineLayout],
    memory_barrier_type: type[MemoryBarrier] = ...,
    /,
) -> None:
    """The classes the fast path checks against and the errors it raises (``errors`` maps
    the names InvalidArgumentError, OutOfRangeError, FailedPreconditionError and
    ResourceExhaustedError to them); called once, by polyhal.command_buffer."""

class Storage:
    """The fields of an allocation that recording reads without a lookup."""

    #: The storage's address (host or device), 0 where the driver has none.
    ptr: int
    #: Set by queue_dealloca; the front end refuses any later use.
    released: bool

class DeviceBase:
    """The field of a Device that every recorded command checks."""

    #: close() was called: new work is refused.
    _closed: bool

class BufferBase:
    """The fields of a Buffer that recording reads without a lookup; read-only, set once by
    ``__init__`` (a caller cannot widen the range that every check trusts)."""

    def __init__(
        self, device: DeviceBase, alloc: Storage, offset: int, size: int, usage_bits: int, /
    ) -> None: ...
    @property
    def device(self) -> DeviceBase: ...
    @property
    def alloc(self) -> Storage: ...
    @property
    def offset(self) -> int: ...
    @property
    def size(self) -> int: ...
    @property
    def usage_bits(self) -> int: ...

class LayoutInfo:
    """A pipeline layout's tables for the recorder: the count of push-constant words and
    each descriptor set's binding numbers, ascending."""

    def __new__(cls, push_constants: int, sets: Sequence[Sequence[int]], /) -> LayoutInfo: ...

#: One entry point of a KernelTable: (layout, its LayoutInfo, fn, env, workgroup size,
#: local memory bytes, name).
KernelEntry = tuple[PipelineLayout, LayoutInfo, int, int, tuple[int, int, int], int, str]

class KernelTable:
    """An executable's entry points for the recorder (``names``: entry point name to
    index; bindings' absolute offsets must be multiples of ``alignment``)."""

    def __new__(
        cls,
        device: DeviceBase,
        entries: Sequence[KernelEntry],
        alignment: int,
        names: dict[str, int],
        /,
    ) -> KernelTable: ...

class Recorder:
    """The command stream of one command buffer (native/stream.h records)."""

    #: 0 initial, 1 recording, 2 executable.
    _state: int
    @property
    def record_count(self) -> int:
        """How many records the stream holds."""
    @property
    def allocations(self) -> tuple[Allocation, ...]:
        """Every allocation a direct reference names, in index order (a copy).  The C code
        checks for Storage; the front end records only drivers' Allocations."""
    @property
    def objects(self) -> tuple[object, ...]:
        """What records name by index (executables, events, barrier lists, nested command
        buffers), in index order (a copy)."""

    def _setup(
        self,
        device: DeviceBase,
        validate: bool,
        categories: int,
        max_push_constants: int,
        max_bindings: int,
        max_workgroup_count: tuple[int, int, int],
        /,
    ) -> None: ...

    # -- the public recording calls (fast path in C, the rest in ``_slow_<name>``) --------
    def dispatch(
        self,
        executable: Executable,
        entry_point: int | str,
        workgroup_count: WorkgroupCount,
        *,
        constants: PushConstantValues | None = None,
        bindings: Sequence[BindingSpec] | None = None,
    ) -> None:
        """Records a dispatch of ``entry_point`` (an index or a name) over
        ``workgroup_count`` (an int or (x, y, z)) workgroups; ``constants`` / ``bindings``
        are shorthand for push_constants(layout, 0, …) and push_descriptor_set(layout, 0,
        …) with the entry point's own layout."""
    def push_constants(
        self, layout: PipelineLayout, offset: int, values: PushConstantValues
    ) -> None:
        """Sets push constants from byte ``offset`` (a multiple of 4) for later dispatches."""
    def push_descriptor_set(
        self, layout: PipelineLayout, set: int, bindings: Sequence[BindingSpec]
    ) -> None:
        """Binds descriptor set ``set`` for later dispatches (pushing set k unbinds the
        sets after it)."""
    def execution_barrier(
        self,
        source_stage: ExecutionStage | int = ...,
        target_stage: ExecutionStage | int = ...,
        flags: int = 0,
        memory_barriers: Sequence[MemoryBarrier] = (),
        buffer_barriers: Sequence[BufferBarrier] = (),
    ) -> None:
        """Orders the commands after it after those before it (defaults: a full
        dispatch and transfer barrier)."""
    def fill_buffer(
        self,
        target: BufferOrSlot,
        offset: int,
        length: int,
        pattern: int | bytes,
        pattern_length: int | None = None,
    ) -> None:
        """Fills ``[offset, offset+length)`` of ``target`` with a 1, 2 or 4-byte pattern."""
    def copy_buffer(
        self,
        source: BufferOrSlot,
        source_offset: int,
        target: BufferOrSlot,
        target_offset: int,
        length: int,
    ) -> None:
        """Copies ``length`` bytes between buffers (the ranges must not overlap)."""
    def update_buffer(
        self,
        source: HostData,
        source_offset: int,
        target: BufferOrSlot,
        target_offset: int,
        length: int,
    ) -> None:
        """Copies ``length`` bytes of host data (captured now) into ``target``."""

    # -- primitives the slow path records through -----------------------------------------
    def _push_words(self, layout: PipelineLayout, offset: int, data: bytes, /) -> None: ...
    def _push_set(
        self, layout: PipelineLayout, set: int, entries: list[tuple[int, Ref]], /
    ) -> None: ...
    def _dispatch_record(
        self,
        executable: Executable,
        entry_point: int,
        counts: tuple[int, int, int] | None,
        indirect: Ref | None,
        /,
    ) -> None: ...
    def _append(
        self,
        op: int,
        aux: int,
        obj: object,
        a: Ref | None,
        b: Ref | None,
        pattern: int,
        stages: int,
        data: bytes | None,
        /,
    ) -> None: ...
    def _add_allocs(self, allocations: Iterable[Allocation], /) -> None: ...

    # -- inspection and flattening ---------------------------------------------------------
    def raw(self) -> tuple[bytes, bytes, bytes, bytes]:
        """(records, refs, constants, data) as bytes: what the Python walker decodes."""
    def program(self) -> tuple[int, int, int, int, int]:
        """(records, count, refs, constants, data): the arrays' addresses, for executors
        that read the stream in place; valid while the stream lives and records no more."""
    def stats(self) -> tuple[int, int, bool, int]:
        """(workgroups, transfer_bytes, unbounded, slot_count) of the stream."""
    def flatten(self) -> Recorder:
        """A stream with no nested command buffers: this one when it has none, else a new
        Recorder with every command in execution order, nested binding tables resolved."""
