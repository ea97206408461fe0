"""Enumerations and constants of the HAL, with IREE's values where IREE has them."""

from __future__ import annotations

import enum

#: A length meaning "from the offset to the end of the buffer" (IREE_WHOLE_BUFFER).
WHOLE_BUFFER = 0xFFFF_FFFF_FFFF_FFFF


class MemoryType(enum.IntFlag):
    """Where a buffer's memory lives and how the host sees it (IREE's memory types)."""

    NONE = 0
    OPTIMAL = 1 << 0
    HOST_VISIBLE = 1 << 1
    HOST_COHERENT = 1 << 2
    HOST_CACHED = 1 << 3
    HOST_LOCAL = HOST_VISIBLE | HOST_COHERENT
    DEVICE_VISIBLE = 1 << 4
    DEVICE_LOCAL = DEVICE_VISIBLE | (1 << 5)


class BufferUsage(enum.IntFlag):
    """What a buffer may be used for; commands check it unless UNVALIDATED."""

    NONE = 0
    TRANSFER_SOURCE = 1 << 0
    TRANSFER_TARGET = 1 << 1
    TRANSFER = TRANSFER_SOURCE | TRANSFER_TARGET
    DISPATCH_INDIRECT_PARAMS = 1 << 8
    DISPATCH_UNIFORM_READ = 1 << 9
    DISPATCH_STORAGE_READ = 1 << 10
    DISPATCH_STORAGE_WRITE = 1 << 11
    DISPATCH_STORAGE = DISPATCH_STORAGE_READ | DISPATCH_STORAGE_WRITE
    MAPPING_SCOPED = 1 << 24
    MAPPING_PERSISTENT = 1 << 25
    MAPPING = MAPPING_SCOPED | MAPPING_PERSISTENT
    DEFAULT = TRANSFER | DISPATCH_STORAGE | DISPATCH_INDIRECT_PARAMS | MAPPING


class MemoryAccess(enum.IntFlag):
    """What the host may do with a buffer's memory."""

    NONE = 0
    READ = 1 << 0
    WRITE = 1 << 1
    DISCARD = 1 << 2
    ALL = READ | WRITE | DISCARD


class CommandBufferMode(enum.IntFlag):
    """DEFAULT (0) is reusable; ONE_SHOT submits once; UNVALIDATED skips checks."""

    DEFAULT = 0
    ONE_SHOT = 1 << 0
    ALLOW_INLINE_EXECUTION = 1 << 4
    UNVALIDATED = 1 << 5


class CommandCategory(enum.IntFlag):
    """The kinds of command a command buffer may record."""

    NONE = 0
    TRANSFER = 1 << 0
    DISPATCH = 1 << 1
    ANY = TRANSFER | DISPATCH


class ExecutionStage(enum.IntFlag):
    """Pipeline stages that barriers and events order."""

    NONE = 0
    COMMAND_ISSUE = 1 << 0
    COMMAND_PROCESS = 1 << 1
    DISPATCH = 1 << 2
    TRANSFER = 1 << 3
    COMMAND_RETIRE = 1 << 4
    HOST = 1 << 5


class AccessScope(enum.IntFlag):
    """Memory accesses that barriers make visible."""

    NONE = 0
    INDIRECT_COMMAND_READ = 1 << 0
    CONSTANT_READ = 1 << 1
    DISPATCH_READ = 1 << 2
    DISPATCH_WRITE = 1 << 3
    TRANSFER_READ = 1 << 4
    TRANSFER_WRITE = 1 << 5
    HOST_READ = 1 << 6
    HOST_WRITE = 1 << 7
    MEMORY_READ = 1 << 8
    MEMORY_WRITE = 1 << 9


class DescriptorFlags(enum.IntFlag):
    """Per-binding flags of a descriptor set layout (READ_ONLY)."""

    NONE = 0
    READ_ONLY = 1 << 0


class WaitMode(enum.IntEnum):
    """Whether a wait on several semaphores needs ALL of them or ANY one."""

    ALL = 0
    ANY = 1


class StatusCode(enum.IntEnum):
    """IREE's status codes; each non-OK one has its HalError class."""

    OK = 0
    CANCELLED = 1
    UNKNOWN = 2
    INVALID_ARGUMENT = 3
    DEADLINE_EXCEEDED = 4
    NOT_FOUND = 5
    ALREADY_EXISTS = 6
    PERMISSION_DENIED = 7
    RESOURCE_EXHAUSTED = 8
    FAILED_PRECONDITION = 9
    ABORTED = 10
    OUT_OF_RANGE = 11
    UNIMPLEMENTED = 12
    INTERNAL = 13
    UNAVAILABLE = 14
    DATA_LOSS = 15


class CollectiveKind(enum.IntEnum):
    """The operation of a collective command (IREE's ``iree_hal_collective_kind_t``)."""

    ALL_GATHER = 0
    ALL_REDUCE = 1
    ALL_TO_ALL = 2
    BROADCAST = 3
    REDUCE = 4
    REDUCE_SCATTER = 5
    SEND = 6
    RECV = 7
    SEND_RECV = 8


class CollectiveReduction(enum.IntEnum):
    """How a reducing collective combines elements (``iree_hal_collective_reduction_t``)."""

    NONE = 0
    SUM = 1
    PRODUCT = 2
    MINIMUM = 3
    MAXIMUM = 4
    AVERAGE = 5


class CollectiveElementType(enum.IntEnum):
    """The element type a collective processes (``iree_hal_collective_element_type_t``)."""

    SINT8 = 0
    UINT8 = 1
    SINT16 = 2
    UINT16 = 3
    SINT32 = 4
    UINT32 = 5
    SINT64 = 6
    UINT64 = 7
    FLOAT16 = 8
    FLOAT32 = 9
    FLOAT64 = 10
    BFLOAT16 = 11
