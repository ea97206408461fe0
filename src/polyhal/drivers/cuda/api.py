"""The CUDA driver API and NVRTC through NVIDIA's ``cuda-bindings``, with CUresult → HalError.

cuda-bindings returns ``(CUresult, *values)`` from every call; :func:`check` turns that into
the values or raises the polyhal error of the result, naming the call that failed.
Importing this module raises ImportError where cuda-bindings is missing, which the driver
registry reports as the reason the driver is unavailable.
"""

from __future__ import annotations

from typing import Any

from cuda.bindings import driver as cu
from cuda.bindings import nvrtc

from ...errors import HalError, error_for
from ...types import StatusCode

__all__ = ["STICKY", "check", "check_nvrtc", "cu", "cuda_error", "nvrtc", "result_name"]

_SUCCESS = cu.CUresult.CUDA_SUCCESS

#: CUresult names whose failure is the caller's, or the machine's, rather than a bug.
_CODES = {
    "CUDA_ERROR_OUT_OF_MEMORY": StatusCode.RESOURCE_EXHAUSTED,
    "CUDA_ERROR_INVALID_VALUE": StatusCode.INVALID_ARGUMENT,
    "CUDA_ERROR_INVALID_IMAGE": StatusCode.INVALID_ARGUMENT,
    "CUDA_ERROR_INVALID_PTX": StatusCode.INVALID_ARGUMENT,
    "CUDA_ERROR_UNSUPPORTED_PTX_VERSION": StatusCode.INVALID_ARGUMENT,
    "CUDA_ERROR_NO_BINARY_FOR_GPU": StatusCode.INVALID_ARGUMENT,
    "CUDA_ERROR_NOT_FOUND": StatusCode.NOT_FOUND,
    "CUDA_ERROR_NOT_SUPPORTED": StatusCode.UNIMPLEMENTED,
    "CUDA_ERROR_NO_DEVICE": StatusCode.UNAVAILABLE,
    "CUDA_ERROR_NOT_INITIALIZED": StatusCode.UNAVAILABLE,
    "CUDA_ERROR_DEINITIALIZED": StatusCode.UNAVAILABLE,
}

#: Errors of a kernel that leave the context unusable: every later call returns them too
#: ("the process must be terminated and relaunched", says the CUDA documentation).  They are
#: DATA_LOSS (the device's memory can no longer be trusted, nor reached), which is what a
#: lost device is; the driver reports them as such (device.py).
STICKY = frozenset(
    {
        "CUDA_ERROR_ILLEGAL_ADDRESS",
        "CUDA_ERROR_LAUNCH_FAILED",
        "CUDA_ERROR_ILLEGAL_INSTRUCTION",
        "CUDA_ERROR_MISALIGNED_ADDRESS",
        "CUDA_ERROR_HARDWARE_STACK_ERROR",
        "CUDA_ERROR_INVALID_ADDRESS_SPACE",
        "CUDA_ERROR_INVALID_PC",
        "CUDA_ERROR_ASSERT",
        "CUDA_ERROR_LAUNCH_TIMEOUT",
        "CUDA_ERROR_ECC_UNCORRECTABLE",
    }
)
_CODES.update(dict.fromkeys(STICKY, StatusCode.DATA_LOSS))


def result_name(code: Any) -> str:
    """ "CUDA_ERROR_…" for a CUresult (or its int value)."""
    try:
        return cu.CUresult(int(code)).name
    except ValueError:
        return f"CUresult {int(code)}"


def cuda_error(code: Any, what: str) -> HalError:
    """The polyhal error for a failed driver call ``what``."""
    name = result_name(code)
    err, text = cu.cuGetErrorString(cu.CUresult(int(code))) if name.startswith("CUDA") else (1, b"")
    detail = f": {text.decode()}" if err == _SUCCESS and text else ""
    if name in STICKY:
        detail += " (the device is lost: a kernel fault poisoned the CUDA context)"
    return error_for(_CODES.get(name, StatusCode.INTERNAL), f"{what} failed with {name}{detail}")


def check(result: tuple, what: str) -> Any:
    """The value(s) of a cuda-bindings call; raises the polyhal error if it failed."""
    err, *values = result
    if err != _SUCCESS:
        raise cuda_error(err, what)
    if not values:
        return None
    return values[0] if len(values) == 1 else tuple(values)


def check_nvrtc(result: tuple, what: str) -> Any:
    """Like :func:`check` for NVRTC calls."""
    err, *values = result
    if err != nvrtc.nvrtcResult.NVRTC_SUCCESS:
        raise error_for(StatusCode.INTERNAL, f"{what} failed with {err.name}")
    if not values:
        return None
    return values[0] if len(values) == 1 else tuple(values)
