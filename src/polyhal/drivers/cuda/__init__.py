"""The cuda driver: NVIDIA GPUs through NVIDIA's ``cuda-bindings`` (driver API and NVRTC).

Devices ``cuda`` and ``cuda:N`` use the device's primary context, so buffers, streams and
modules are shared with CuPy, PyTorch and anything else in the process.  One-shot command
buffers go straight onto a stream through a small native launcher; reusable ones become a
CUDA graph; indirect dispatches read their workgroup counts on the device.  Layout:

- ``device.py``      the device, its streams and the queue (completion thread)
- ``buffer.py``      allocations: stream-ordered pool, pinned host memory, wrapped memory
- ``executable.py``  CUDA C (NVRTC), PTX and cubin modules
- ``encoder.py``     command streams → launch programs (native/launcher.c makes and runs them)
- ``graph.py``       reusable command buffers as CUDA graphs; dispatch_indirect
- ``kernels.py``     the driver's own kernels (fills, copies, the indirect-dispatch updater)
- ``interop.py``     ``__cuda_array_interface__`` and DLPack, both ways
- ``collective.py``  channels and collectives on NCCL (through nccl4py)
"""

from __future__ import annotations

from typing import Any

from ..base import DriverDevice


def probe(name: str) -> tuple[int, str]:
    """(number of CUDA devices, "" or why there are none)."""
    try:
        from .api import cu
    except ImportError as e:
        return 0, f"cuda-bindings is not installed (pip install 'polyhal[cuda]'): {e}"
    try:
        (err,) = cu.cuInit(0)
    except Exception as e:  # no libcuda: cuda-bindings raises instead of returning an error
        return 0, f"no NVIDIA driver: {e}"
    if err != cu.CUresult.CUDA_SUCCESS:
        return 0, f"cuInit failed with {err.name}"
    err, count = cu.cuDeviceGetCount()
    if err != cu.CUresult.CUDA_SUCCESS or not count:
        return 0, "the NVIDIA driver reports no CUDA device"
    from ...errors import HalError
    from .launcher import library

    try:
        library()
    except HalError as e:
        return 0, str(e)
    return count, ""


def create_device(name: str, index: int, options: dict[str, Any]) -> DriverDevice:
    from .device import CudaDevice

    return CudaDevice(index, **options)
