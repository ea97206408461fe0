"""Bindings of the native executor (native/executor.c), built by the package's build.

setup.py compiles native/executor.c into the extension module ``_executor`` next to this
file; its ph_* functions are called through ctypes, and its one Python function,
``run`` (METH_FASTCALL: the short submission path), through :func:`run_function`.  It is
never compiled at first use.
"""

from __future__ import annotations

import ctypes
import functools
import importlib
from collections.abc import Callable
from typing import Any

from ..._native import load_extension
from ..._walker import SlotRange, StreamProgram

__all__ = ["Result", "SlotRange", "StreamProgram", "library", "run_function"]


class Result(ctypes.Structure):
    _fields_ = [
        ("failed_command", ctypes.c_int64),
        ("code", ctypes.c_int32),
        ("workgroup", ctypes.c_uint32 * 3),
        ("fault_address", ctypes.c_uint64),
        ("fault_signal", ctypes.c_int32),
        ("fault_access", ctypes.c_int32),
    ]


#: ph_local_execute flags and result codes (native/executor.c).
EXEC_SERIAL, EXEC_CHECKED = 1, 2
ERROR_INDIRECT_COUNT, ERROR_FAULT = -(2**31), -(2**31) + 1


@functools.cache
def library() -> ctypes.CDLL:
    """The executor built with the package, loaded once per process.

    UnavailableError when it is missing or does not load (a source tree that was never
    built, say): the local drivers are then absent.
    """
    lib = load_extension(f"{__package__}._executor", "executor")
    lib.ph_local_pool_create.restype = ctypes.c_void_p
    lib.ph_local_pool_create.argtypes = [ctypes.c_int, ctypes.c_long, ctypes.c_int]
    lib.ph_local_pool_destroy.restype = None
    lib.ph_local_pool_destroy.argtypes = [ctypes.c_void_p]
    lib.ph_local_execute.restype = ctypes.c_int
    lib.ph_local_execute.argtypes = [
        ctypes.c_void_p,
        ctypes.c_void_p,
        ctypes.c_void_p,
        ctypes.c_int,
        ctypes.c_void_p,
    ]
    lib.ph_local_execute_timed.restype = ctypes.c_int
    lib.ph_local_execute_timed.argtypes = [
        ctypes.c_void_p,
        ctypes.c_void_p,
        ctypes.c_void_p,
        ctypes.c_int,
        ctypes.c_void_p,
        ctypes.c_void_p,
    ]
    lib.ph_local_install_fault_handler.restype = None
    lib.ph_local_install_fault_handler.argtypes = []
    return lib


@functools.cache
def run_function() -> Callable[..., Any]:
    """``_executor.run(pool, program_address, binding_table, flags)``: None, or the failure
    record's bytes.  UnavailableError, as :func:`library`, when the executor is not built
    (it is loaded through :func:`library` first, which says so)."""
    library()
    run: Callable[..., Any] = importlib.import_module(f"{__package__}._executor").run
    return run
