"""The command list: plain data recorded by the front end, consumed by driver encoders.

Every command here has been validated.  Buffers appear as :class:`Ref`: either a direct
reference (``alloc`` set, ``offset`` absolute in the allocation, ``length`` exact) or a
binding-table slot (``alloc`` None, ``offset`` relative to the slot's range, ``length``
exact or WHOLE_BUFFER) resolved when the command buffer is submitted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeAlias

from .drivers.base import Allocation, ResolvedBinding
from .executable import Executable
from .types import WHOLE_BUFFER, AccessScope

if TYPE_CHECKING:
    from .collective import Channel, CollectiveOp
    from .command_buffer import MemoryBarrier
    from .semaphore import Event


class Ref:
    """A buffer range inside a command: direct storage or a binding-table slot."""

    __slots__ = ("alloc", "slot", "offset", "length")

    def __init__(self, alloc: Allocation | None, slot: int, offset: int, length: int):
        self.alloc = alloc
        self.slot = slot
        self.offset = offset
        self.length = length

    def resolve(self, table: Sequence[ResolvedBinding]) -> tuple[Allocation, int, int]:
        """(allocation, absolute offset, length) with slots looked up in ``table``."""
        if self.alloc is not None:
            return self.alloc, self.offset, self.length
        entry = table[self.slot]
        length = entry.length - self.offset if self.length == WHOLE_BUFFER else self.length
        return entry.alloc, entry.offset + self.offset, length

    def __repr__(self) -> str:
        where = f"slot {self.slot}" if self.alloc is None else f"alloc {id(self.alloc):#x}"
        return f"Ref({where}, {self.offset}, {self.length})"


@dataclass(slots=True)
class Dispatch:
    executable: Executable
    entry_point: int
    workgroup_count: tuple[int, int, int] | None  # None → indirect
    indirect: Ref | None
    constants: bytes  # the entry point layout's push constants, little-endian uint32
    bindings: tuple[Ref, ...]  # in (set, binding) order


#: A buffer barrier as recorded: (source scope, target scope, the validated range).
BufferRange: TypeAlias = "tuple[AccessScope | int, AccessScope | int, Ref]"


@dataclass(slots=True)
class Barrier:
    source_stage: int
    target_stage: int
    flags: int = 0
    memory_barriers: tuple[MemoryBarrier, ...] = ()
    buffer_barriers: tuple[BufferRange, ...] = ()


@dataclass(slots=True)
class Fill:
    target: Ref
    pattern: int  # the pattern_length low bytes are the pattern, little-endian
    pattern_length: int


@dataclass(slots=True)
class Update:
    data: bytes  # captured when recorded
    target: Ref


@dataclass(slots=True)
class Copy:
    source: Ref
    target: Ref


@dataclass(slots=True)
class SignalEvent:
    event: Event
    source_stage: int


@dataclass(slots=True)
class ResetEvent:
    event: Event
    source_stage: int


@dataclass(slots=True)
class WaitEvents:
    events: tuple[Event, ...]
    source_stage: int
    target_stage: int
    memory_barriers: tuple[MemoryBarrier, ...] = ()
    buffer_barriers: tuple[BufferRange, ...] = ()


@dataclass(slots=True)
class Discard:
    target: Ref


@dataclass(slots=True)
class Execute:
    """A nested command buffer; ``binding_table`` (resolved) or None to use the outer one."""

    commands: list[Command]
    binding_table: tuple[ResolvedBinding, ...] | None


@dataclass(slots=True)
class Collective:
    channel: Channel
    op: CollectiveOp
    param: int
    send: Ref | None
    recv: Ref | None
    element_count: int


@dataclass(slots=True)
class BeginDebugGroup:
    label: str
    color: tuple[float, float, float, float] | None = None  # (r, g, b, a) in [0, 1]
    location: tuple[str, int] | None = None  # (file, line)


@dataclass(slots=True)
class EndDebugGroup:
    pass


#: Every command the walker (polyhal._walker.commands) yields.
Command: TypeAlias = (
    "Dispatch | Barrier | Fill | Update | Copy | SignalEvent | ResetEvent"
    " | WaitEvents | Discard | Execute | Collective | BeginDebugGroup"
    " | EndDebugGroup"
)
