"""Zero-copy interop with CuPy, PyTorch and anything else that speaks
``__cuda_array_interface__`` (v3) or DLPack.

Out: :func:`as_array` views a polyhal buffer as an object with both protocols, so
``cupy.asarray(as_array(buf, "float32"))`` and ``torch.from_dlpack(as_array(buf))`` use
the buffer's memory.  (The allocation also has the hooks the core Buffer can forward
``__cuda_array_interface__`` / ``__dlpack__`` to.)  Consumers are ordered after the polyhal
queue: the interface names the queue's stream, and ``__dlpack__(stream=s)`` makes ``s``
wait for it with an event.

In: :func:`wrap` (the cuda driver's ``import_memory``, behind
:meth:`polyhal.Device.import_buffer`) wraps another library's CUDA array (contiguous) as an
allocation of the same memory, keeping the array alive as long as the buffer.  Both share
the device's primary context, which CuPy and PyTorch use too.
"""

from __future__ import annotations

import ctypes
import math
import sys
from typing import TYPE_CHECKING, Any

import numpy as np

from ...errors import InvalidArgumentError
from ...types import BufferUsage, MemoryType
from .api import check, cu
from .launcher import library

if TYPE_CHECKING:
    from ...buffer import Buffer
    from .buffer import CudaAllocation
    from .device import CudaDevice

KDL_CUDA, KDL_CUDA_HOST = 2, 3
_DL_CODES = {"i": 0, "u": 1, "f": 2, "c": 5, "b": 6}
_CU_STREAM_LEGACY = 1


# -- out: polyhal buffers to other libraries ----------------------------------------------------
def array_interface(
    alloc: CudaAllocation, offset: int, size: int, dtype: Any = "uint8", shape: Any = None
) -> dict[str, Any]:
    """``__cuda_array_interface__`` (v3) of ``size`` bytes at ``offset``."""
    dtype, shape = _typed(size, dtype, shape)
    alloc.device.drain()  # consumers synchronize with the stream: queued work must be on it
    return {
        "shape": shape,
        "typestr": dtype.str,
        "descr": [("", dtype.str)],
        "data": (alloc.ptr + offset if size else 0, False),
        "strides": None,
        "version": 3,
        "stream": int(alloc.device.stream),
    }


def dlpack_device(alloc: CudaAllocation) -> tuple[int, int]:
    return (KDL_CUDA_HOST, 0) if alloc.pinned_host else (KDL_CUDA, alloc.device.index)


def dlpack_capsule(
    alloc: CudaAllocation,
    offset: int,
    size: int,
    stream: Any = None,
    dtype: Any = "uint8",
    shape: Any = None,
) -> Any:
    """A DLPack capsule ("dltensor") of ``size`` bytes at ``offset``.

    ``stream``: the consumer's stream (None or 1: the legacy default stream; -1: none);
    it is made to wait for the work queued on the device so far.
    """
    dtype, shape = _typed(size, dtype, shape)
    alloc.device.check_usable()
    if stream != -1:
        device = alloc.device
        device.drain()
        event = device.take_event()
        device.bind()
        check(cu.cuEventRecord(event, device.stream), "cuEventRecord")
        target = _CU_STREAM_LEGACY if stream is None else int(stream)
        check(cu.cuStreamWaitEvent(target, event, 0), "cuStreamWaitEvent")
        device.give_event(event)
    return _Capsules.make(
        alloc, alloc.ptr + offset if size else 0, dtype, shape, dlpack_device(alloc)
    )


class CudaArray:
    """A typed view of a polyhal buffer with ``__cuda_array_interface__`` and DLPack."""

    def __init__(self, buffer: Buffer, dtype: Any = "uint8", shape: Any = None):
        alloc = buffer.alloc
        if not hasattr(alloc, "kind"):
            raise InvalidArgumentError("as_array takes a buffer of a cuda device")
        buffer.check_live()
        self.buffer = buffer
        self.dtype, self.shape = _typed(buffer.size, dtype, shape)

    @property
    def __cuda_array_interface__(self) -> dict[str, Any]:
        b = self.buffer
        return array_interface(b.alloc, b.offset, b.size, self.dtype, self.shape)

    def __dlpack__(self, *, stream: Any = None, **_: Any) -> Any:
        b = self.buffer
        return dlpack_capsule(b.alloc, b.offset, b.size, stream, self.dtype, self.shape)

    def __dlpack_device__(self) -> tuple[int, int]:
        return dlpack_device(self.buffer.alloc)


def as_array(buffer: Buffer, dtype: Any = "uint8", shape: Any = None) -> CudaArray:
    """``buffer`` as a CUDA array of ``dtype`` (and ``shape``; default: 1-D), no copy."""
    return CudaArray(buffer, dtype, shape)


def _typed(size: int, dtype: Any, shape: Any) -> tuple[np.dtype, tuple[int, ...]]:
    dtype = np.dtype(dtype)
    if size % dtype.itemsize:
        raise InvalidArgumentError(f"{size} bytes are not a whole number of {dtype} items")
    count = size // dtype.itemsize
    shape = (
        (count,)
        if shape is None
        else tuple(int(s) for s in ((shape,) if isinstance(shape, int) else shape))
    )
    if math.prod(shape) != count:
        raise InvalidArgumentError(f"shape {shape} does not hold {count} {dtype} items")
    return dtype, shape


# -- in: other libraries' arrays as polyhal buffers --------------------------------------------
def import_buffer(device: Any, array: Any, *, usage: BufferUsage = BufferUsage.DEFAULT) -> Buffer:
    """A polyhal Buffer over the memory of a contiguous CUDA array (CuPy, PyTorch, …):
    ``device.import_buffer(array, usage=usage)`` on a cuda device."""
    if getattr(device, "driver", None) != "cuda":
        raise InvalidArgumentError("import_buffer takes a device of the cuda driver")
    buffer: Buffer = device.import_buffer(array, usage=usage)
    return buffer


def wrap(driver: CudaDevice, array: Any) -> CudaAllocation:
    """An allocation over the memory of a contiguous CUDA array, keeping it alive."""
    interface = getattr(array, "__cuda_array_interface__", None)
    driver.check_usable()
    driver.bind()
    if interface is not None:
        ptr, size = _from_interface(interface)
        owner = array
    elif hasattr(array, "__dlpack__"):
        ptr, size, owner = _from_dlpack(array)
    else:
        raise InvalidArgumentError(
            f"{type(array).__name__} has neither __cuda_array_interface__ nor __dlpack__"
        )
    alloc: CudaAllocation = driver.memory.wrap(
        ptr, size, MemoryType.DEVICE_LOCAL | MemoryType.HOST_VISIBLE, owner
    )
    return alloc


def _from_interface(interface: dict[str, Any]) -> tuple[int, int]:
    shape = tuple(interface["shape"])
    itemsize = np.dtype(interface["typestr"]).itemsize
    strides = interface.get("strides")
    if strides is not None and tuple(strides) != _contiguous_strides(shape, itemsize):
        raise InvalidArgumentError("import_buffer takes a C-contiguous array")
    stream = interface.get("stream")
    if stream:  # the producer's pending work on its stream must finish first
        check(cu.cuStreamSynchronize(int(stream)), "cuStreamSynchronize")
    return int(interface["data"][0]), math.prod(shape) * itemsize


def _contiguous_strides(shape: tuple[int, ...], itemsize: int) -> tuple[int, ...]:
    strides, step = [], itemsize
    for extent in reversed(shape):
        strides.append(step)
        step *= extent
    return tuple(reversed(strides))


def _from_dlpack(array: Any) -> tuple[int, int, Any]:
    capsule = array.__dlpack__()
    pointer = _api.PyCapsule_GetPointer(capsule, b"dltensor")
    managed = ctypes.cast(pointer, ctypes.POINTER(DLManagedTensor)).contents
    t = managed.dl_tensor
    if t.device.device_type not in (KDL_CUDA, KDL_CUDA_HOST):
        raise InvalidArgumentError(f"DLPack device type {t.device.device_type} is not CUDA")
    shape = tuple(t.shape[i] for i in range(t.ndim))
    itemsize = t.dtype.bits * t.dtype.lanes // 8
    if t.strides and tuple(t.strides[i] * itemsize for i in range(t.ndim)) != _contiguous_strides(
        shape, itemsize
    ):
        raise InvalidArgumentError("import_buffer takes a C-contiguous array")
    # Consume the capsule: the tensor now belongs to `owner`, whose collection deletes it.
    _api.PyCapsule_SetName(capsule, b"used_dltensor")
    owner = _DLPackOwner(pointer, managed.deleter)
    return t.data + t.byte_offset, math.prod(shape) * itemsize, owner


class _DLPackOwner:
    def __init__(self, pointer: int, deleter: Any):
        self.pointer, self.deleter = pointer, deleter

    def __del__(self) -> None:
        if sys.is_finalizing():  # interpreter exit: objects go in any order (a device
            return  # before its buffers); the process's end frees what is native
        if self.deleter:
            self.deleter(self.pointer)


# -- DLPack structures and capsules ----------------------------------------------------------
class DLDevice(ctypes.Structure):
    _fields_ = [("device_type", ctypes.c_int32), ("device_id", ctypes.c_int32)]


class DLDataType(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint8), ("bits", ctypes.c_uint8), ("lanes", ctypes.c_uint16)]


class DLTensor(ctypes.Structure):
    _fields_ = [
        ("data", ctypes.c_void_p),
        ("device", DLDevice),
        ("ndim", ctypes.c_int32),
        ("dtype", DLDataType),
        ("shape", ctypes.POINTER(ctypes.c_int64)),
        ("strides", ctypes.POINTER(ctypes.c_int64)),
        ("byte_offset", ctypes.c_uint64),
    ]


class DLManagedTensor(ctypes.Structure):
    pass


_Deleter = ctypes.CFUNCTYPE(None, ctypes.c_void_p)
DLManagedTensor._fields_ = [
    ("dl_tensor", DLTensor),
    ("manager_ctx", ctypes.c_void_p),
    ("deleter", _Deleter),
]


class _CapsuleApi:
    def __init__(self) -> None:
        api = ctypes.pythonapi
        self.PyCapsule_New = api.PyCapsule_New
        self.PyCapsule_New.restype = ctypes.py_object
        # The destructor is C (launcher.c: ph_dlpack_capsule_destructor), by address.
        self.PyCapsule_New.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p]
        self.PyCapsule_GetPointer = api.PyCapsule_GetPointer
        self.PyCapsule_GetPointer.restype = ctypes.c_void_p
        self.PyCapsule_GetPointer.argtypes = [ctypes.py_object, ctypes.c_char_p]
        self.PyCapsule_SetName = api.PyCapsule_SetName
        self.PyCapsule_SetName.restype = ctypes.c_int
        self.PyCapsule_SetName.argtypes = [ctypes.py_object, ctypes.c_char_p]


_api = _CapsuleApi()


class _Capsules:
    """Capsules handed out and what each keeps alive until its consumer deletes it."""

    live: dict[int, tuple] = {}

    @classmethod
    def make(
        cls, owner: Any, data: int, dtype: np.dtype, shape: tuple[int, ...], device: tuple[int, int]
    ) -> Any:
        managed = DLManagedTensor()
        shape_array = (ctypes.c_int64 * max(1, len(shape)))(*shape)
        t = managed.dl_tensor
        t.data = data
        t.device = DLDevice(*device)
        t.ndim = len(shape)
        t.dtype = DLDataType(_DL_CODES[dtype.kind], dtype.itemsize * 8, 1)
        t.shape = shape_array
        t.strides = None
        t.byte_offset = 0
        managed.deleter = _delete_managed
        address = ctypes.addressof(managed)
        cls.live[address] = (managed, shape_array, owner)
        destructor = ctypes.cast(library().ph_dlpack_capsule_destructor, ctypes.c_void_p)
        return _api.PyCapsule_New(address, b"dltensor", destructor)


@_Deleter
def _delete_managed(address: int) -> None:
    _Capsules.live.pop(address, None)
