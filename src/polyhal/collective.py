"""Collectives: the names of the contract (operations, channels), ahead of any transport.

No driver runs collectives yet: ``Device.create_channel``, ``Channel.unique_id`` and
``CommandBuffer.collective`` raise UnimplementedError, as IREE's drivers do for an
operation they lack.  The enums carry IREE's values, so the packed operation of
``CollectiveOp.packed`` is IREE's ``iree_hal_collective_op_t``.
"""

from __future__ import annotations

from dataclasses import dataclass

from ._args import as_flags
from .errors import UnimplementedError
from .types import CollectiveElementType, CollectiveKind, CollectiveReduction

#: Why every collective entry point refuses today.
NOT_IMPLEMENTED = (
    "collectives are not implemented yet: no polyhal driver has a channel "
    "(NCCL or MPI) to run them on"
)


@dataclass(frozen=True)
class CollectiveOp:
    """One collective operation: ``kind``, ``reduction`` (for reducing kinds) and the
    ``element_type`` it processes.  InvalidArgumentError for values not of their enum."""

    kind: CollectiveKind
    reduction: CollectiveReduction = CollectiveReduction.NONE
    element_type: CollectiveElementType = CollectiveElementType.FLOAT32

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", as_flags(CollectiveKind, self.kind, "collective kind"))
        object.__setattr__(
            self, "reduction", as_flags(CollectiveReduction, self.reduction, "collective reduction")
        )
        object.__setattr__(
            self,
            "element_type",
            as_flags(CollectiveElementType, self.element_type, "collective element type"),
        )

    @property
    def packed(self) -> int:
        """The operation as IREE packs it: kind, reduction, element type, one byte each."""
        return int(self.kind) | int(self.reduction) << 8 | int(self.element_type) << 16


class Channel:
    """A group of ranks that run collectives together (``Device.create_channel``).

    Not constructible yet: no driver has a transport, so creating one raises
    UnimplementedError.
    """

    rank: int
    count: int

    def __init__(self, *args: object, **kwargs: object):
        raise UnimplementedError(NOT_IMPLEMENTED)

    @staticmethod
    def unique_id() -> bytes:
        """The rendezvous token a root rank shares with the others; UnimplementedError
        until a driver has a transport."""
        raise UnimplementedError(NOT_IMPLEMENTED)

    def split(self, color: int, key: int) -> Channel:
        """A channel of the ranks that pass the same ``color``, ordered by ``key``."""
        raise UnimplementedError(NOT_IMPLEMENTED)
