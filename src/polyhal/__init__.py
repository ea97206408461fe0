"""polyhal: a hardware abstraction layer for compute.

Allocate buffers, load executables, record command buffers and submit them to a device
queue ordered by timeline semaphores; the same program runs on every driver.
"""

from __future__ import annotations

from ._native import include_dir
from .buffer import Buffer
from .collective import Channel, CollectiveOp
from .command_buffer import Binding, BufferBarrier, CommandBuffer, MemoryBarrier, Slot
from .device import Device, available_drivers, create_device
from .errors import (
    AbortedError,
    AlreadyExistsError,
    CancelledError,
    DataLossError,
    DeadlineExceededError,
    FailedPreconditionError,
    HalError,
    InternalError,
    InvalidArgumentError,
    NotFoundError,
    OutOfRangeError,
    PermissionDeniedError,
    ResourceExhaustedError,
    UnavailableError,
    UnimplementedError,
    UnknownError,
)
from .executable import (
    DescriptorSetLayout,
    DescriptorSetLayoutBinding,
    EntryPoint,
    Executable,
    ExecutableSource,
    PipelineLayout,
)
from .semaphore import Event, Semaphore
from .types import (
    WHOLE_BUFFER,
    AccessScope,
    BufferUsage,
    CollectiveElementType,
    CollectiveKind,
    CollectiveReduction,
    CommandBufferMode,
    CommandCategory,
    DescriptorFlags,
    ExecutionStage,
    MemoryAccess,
    MemoryType,
    StatusCode,
    WaitMode,
)

__version__ = "0.1.0"

__all__ = [
    "WHOLE_BUFFER",
    "AbortedError",
    "AccessScope",
    "AlreadyExistsError",
    "Binding",
    "Buffer",
    "BufferBarrier",
    "BufferUsage",
    "CancelledError",
    "CommandBuffer",
    "CommandBufferMode",
    "CommandCategory",
    "DataLossError",
    "DeadlineExceededError",
    "DescriptorFlags",
    "DescriptorSetLayout",
    "DescriptorSetLayoutBinding",
    "Device",
    "EntryPoint",
    "Event",
    "Executable",
    "ExecutableSource",
    "ExecutionStage",
    "FailedPreconditionError",
    "HalError",
    "InternalError",
    "InvalidArgumentError",
    "MemoryAccess",
    "MemoryBarrier",
    "MemoryType",
    "NotFoundError",
    "OutOfRangeError",
    "PermissionDeniedError",
    "PipelineLayout",
    "ResourceExhaustedError",
    "Semaphore",
    "Slot",
    "StatusCode",
    "UnavailableError",
    "UnimplementedError",
    "UnknownError",
    "WaitMode",
    "available_drivers",
    "create_device",
    "include_dir",
    "Channel",
    "CollectiveOp",
    "CollectiveKind",
    "CollectiveReduction",
    "CollectiveElementType",
]
