"""ctypes binding of the native launcher (native/launcher.c), built by the package's build
into the extension module ``_launcher`` next to this file (never at first use); the two
calls of every submission are Python functions of that module (``functions()``).

``encode`` turns a command buffer's flattened stream (polyhal._stream) into a launch
program in C; Python only describes the slot-dependent nodes of CUDA graphs (graph.py)
with the same records (``CMD``, ``REF``).

The launcher calls the CUDA driver through function pointers taken here from libcuda, so
it compiles without CUDA headers.  Structures mirror launcher.c; ``library()`` checks the
sizes the C side reports.
"""

from __future__ import annotations

import ctypes
import functools
import importlib
import struct
from typing import Any

from ..._native import load_extension

MAX_STREAMS = 32

#: ph_launch_t: op, stream, handle, node, grid[3], block[3], shared_memory, ref_count,
#: ref_index, constant_count, constant_index, pattern, pattern_length, flags.
CMD = struct.Struct("<IIQQ3I3I8I")
#: ph_ref_t of native/stream.h: slot (-1: direct, the bytes at base + offset), base,
#: offset, length, then two words the launcher does not read.
REF = struct.Struct("<qQQQII")

(
    OP_NOP,
    OP_DISPATCH,
    OP_FILL,
    OP_COPY,
    OP_UPDATE,
    OP_FORK,
    OP_JOIN,
    OP_INDIRECT_UPDATE,
    OP_COLLECTIVE,
) = range(9)
FLAG_DEVICE_UPDATABLE = 1
#: Jobs of the submit thread.
JOB_STREAM, JOB_GRAPH, JOB_RECORD = 1, 2, 3

#: Driver entry points, in ph_api_t order, by their exported (versioned) names.
API_FUNCTIONS = (
    "cuCtxSetCurrent",
    "cuLaunchKernel",
    "cuMemsetD8Async",
    "cuMemsetD16Async",
    "cuMemsetD32Async",
    "cuMemcpyAsync",
    "cuEventRecord",
    "cuStreamWaitEvent",
    "cuGraphLaunch",
    "cuGraphUpload",
    "cuGraphExecKernelNodeSetParams_v2",
    "cuEventSynchronize",
)


class Api(ctypes.Structure):
    _fields_ = [(name, ctypes.c_void_p) for name in API_FUNCTIONS]


class Program(ctypes.Structure):
    _fields_ = [
        ("cmds", ctypes.c_void_p),
        ("count", ctypes.c_uint64),
        ("refs", ctypes.c_void_p),
        ("constants", ctypes.c_void_p),
    ]


class Encoded(ctypes.Structure):
    """ph_encoded_t: the launch program ph_encode made (freed by ph_encoded_free)."""

    _fields_ = [
        ("program", Program),
        ("slot_count", ctypes.c_uint64),
        ("needs_graph", ctypes.c_uint32),
        ("collectives", ctypes.c_uint32),
    ]


class Graph(ctypes.Structure):
    _fields_ = [
        ("exec", ctypes.c_void_p),
        ("slot_nodes", Program),
        ("last_table", ctypes.c_void_p),
        ("last_count", ctypes.c_uint64),
        ("capacity", ctypes.c_uint64),
        ("needs_upload", ctypes.c_uint32),
        ("token_word", ctypes.c_uint64),
        ("cells", ctypes.c_void_p),
        ("cell_count", ctypes.c_uint64),
    ]


class Device(ctypes.Structure):
    _fields_ = [
        ("api", ctypes.c_void_p),
        ("ctx", ctypes.c_void_p),
        ("streams", ctypes.c_void_p * MAX_STREAMS),
        ("fork_event", ctypes.c_void_p),
        ("join_events", ctypes.c_void_p * MAX_STREAMS),
        ("fill_kernel", ctypes.c_void_p),
        ("copy_kernel", ctypes.c_void_p),
        ("pool", ctypes.c_void_p),
        ("queue", ctypes.c_void_p),
    ]


@functools.cache
def api() -> Api:
    """The driver entry points, from the libcuda that cuda-bindings loaded too."""
    libcuda = ctypes.CDLL("libcuda.so.1")
    return Api(
        *[ctypes.cast(getattr(libcuda, name), ctypes.c_void_p).value for name in API_FUNCTIONS]
    )


@functools.cache
def library() -> ctypes.CDLL:
    """The launcher built with the package, loaded once per process; UnavailableError when
    it is missing or does not load."""
    lib = load_extension(f"{__package__}._launcher", "CUDA launcher")
    p, u64 = ctypes.c_void_p, ctypes.c_uint64
    for name, restype, args in (
        ("ph_submit", ctypes.c_int, [p, ctypes.c_uint32, p, p, u64, p, u64]),
        ("ph_submit_drain", None, [p]),
        ("ph_complete_push", None, [p, u64]),
        ("ph_queue_create", ctypes.c_int, [p]),
        ("ph_queue_stop", None, [p]),
        ("ph_queue_destroy", None, [p]),
        ("ph_pool_create", p, [p, ctypes.c_int]),
        ("ph_pool_destroy", None, [p]),
        ("ph_encode", ctypes.c_int, [p, ctypes.c_uint32, p]),
        ("ph_encoded_free", None, [p]),
        ("ph_collective_run", ctypes.c_int, [p, p, u64, u64, p]),
        ("ph_comm_revoke", None, [p, p, ctypes.c_uint32]),
    ):
        fn = getattr(lib, name)
        fn.restype = restype
        fn.argtypes = args
    for name in ("ph_cmd_size", "ph_device_size", "ph_graph_size", "ph_encoded_size"):
        getattr(lib, name).restype = ctypes.c_uint64
    assert lib.ph_cmd_size() == CMD.size, "launcher.c and launcher.py disagree on ph_launch_t"
    assert lib.ph_device_size() == ctypes.sizeof(Device), "ph_device_t layout mismatch"
    assert lib.ph_graph_size() == ctypes.sizeof(Graph), "ph_graph_t layout mismatch"
    assert lib.ph_encoded_size() == ctypes.sizeof(Encoded), "ph_encoded_t layout mismatch"
    return lib


@functools.cache
def functions() -> Any:
    """The launcher's module as Python sees it, for the two calls each submission makes:
    ``submit(device, kind, target, event, token)`` (ph_submit with no binding table) and
    ``complete_next(device)`` (ph_complete_next, returning ``(token, CUresult, failed
    command)``), a fraction of the cost of a ctypes call; ``device`` is the address of a
    ``Device``.  UnavailableError as ``library()``."""
    library()
    return importlib.import_module(f"{__package__}._launcher")
