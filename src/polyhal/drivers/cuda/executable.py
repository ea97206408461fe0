"""CUDA executables: CUDA C compiled by NVRTC, PTX or cubin, loaded as a CUmodule.

Kernel parameters are the bindings as device pointers in (set, binding) order, then each
push constant as a 32-bit value; the block size is the entry point's workgroup size and
the dynamic shared memory its ``local_memory_size``.

NVRTC compiles for the device's own architecture (``sm_XY``, a cubin) when it knows it,
else for the newest virtual architecture it knows below it (PTX, finished by the driver).
Compiled images are cached on disk by a hash of the source, the options and NVRTC's
version, beside the local driver's compiled C.
"""

from __future__ import annotations

import ctypes
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..._cache import cached
from ..._native import is_complete_elf
from ...errors import InvalidArgumentError, UnavailableError
from ...executable import EntryPoint
from ..base import LoadedExecutable
from .api import check, check_nvrtc, cu, cuda_error, nvrtc

FORMATS = ("cuda", "ptx", "cubin")
#: Dynamic shared memory a kernel may use without opting in.
DEFAULT_SHARED_MEMORY = 48 * 1024


@dataclass
class CudaExecutable(LoadedExecutable):
    """A loaded module and, per entry point, what a launch needs.

    ``launch[i]`` is ``(CUfunction handle, block x, y, z, dynamic shared memory bytes)``.
    """

    module: Any
    functions: list[Any]
    launch: list[tuple[int, int, int, int, int]]
    release: Any = field(default=None, repr=False)
    #: Bindings' absolute offsets must be multiples of this.  Kernels receive bindings as
    #: typed pointers, and a misaligned 32-bit access is a fault that loses the whole
    #: CUDA context; 4 bytes keeps every 32-bit kernel safe (wider vector loads still
    #: need the kernel's own care).
    binding_alignment: int = 4

    def kernel(self, index: int, entry_point: EntryPoint) -> tuple[int, int, int]:
        return self.launch[index][0], 0, entry_point.local_memory_size

    def __del__(self) -> None:
        if sys.is_finalizing():  # interpreter exit: objects go in any order (a device
            return  # before its buffers); the process's end frees what is native
        if self.release is not None:
            self.release(self.module)


def nvrtc_target(compute_capability: tuple[int, int]) -> tuple[str, bool]:
    """(``--gpu-architecture`` value, True if it is a real one producing a cubin)."""
    wanted = compute_capability[0] * 10 + compute_capability[1]
    try:
        archs = check_nvrtc(nvrtc.nvrtcGetSupportedArchs(), "nvrtcGetSupportedArchs")
    except Exception:  # older NVRTC: assume it knows the device
        return f"sm_{wanted}", True
    if wanted in archs:
        return f"sm_{wanted}", True
    below = [a for a in archs if a <= wanted]
    return f"compute_{max(below) if below else min(archs)}", False


def compile_cuda(
    source: str,
    compute_capability: tuple[int, int],
    name: str = "kernel",
    options: Sequence[str] = (),
    ptx: bool = False,
) -> bytes:
    """CUDA C → a cubin, or PTX where NVRTC does not know the device or ``ptx`` is asked
    for; InvalidArgumentError carries NVRTC's log."""
    arch, real = nvrtc_target(compute_capability)
    if ptx and real:
        arch, real = arch.replace("sm_", "compute_"), False
    opts = [f"--gpu-architecture={arch}", *options]
    try:
        version = check_nvrtc(nvrtc.nvrtcVersion(), "nvrtcVersion")
    except Exception as e:  # the NVRTC library itself is missing
        raise UnavailableError(f"NVRTC is not available to compile CUDA C: {e}") from None
    path = cached(
        "cuda",
        "cubin" if real else "ptx",
        (repr(version), *opts, source),
        lambda out: out.write_bytes(_nvrtc(source, name, opts, real)),
        is_complete_elf if real else _ptx_valid,
    )
    return path.read_bytes()


def _ptx_valid(path: Path) -> bool:
    """A PTX module: text naming its PTX version (a truncated file may still pass; the
    driver's JIT then reports it)."""
    try:
        head = path.read_bytes()[:4096]
    except OSError:
        return False
    return b".version" in head and b".target" in head


def _nvrtc(source: str, name: str, opts: list[str], real: bool) -> bytes:
    prog = check_nvrtc(
        nvrtc.nvrtcCreateProgram(source.encode(), f"{name}.cu".encode(), 0, [], []),
        "nvrtcCreateProgram",
    )
    try:
        (err,) = nvrtc.nvrtcCompileProgram(prog, len(opts), [o.encode() for o in opts])
        if err != nvrtc.nvrtcResult.NVRTC_SUCCESS:
            size = check_nvrtc(nvrtc.nvrtcGetProgramLogSize(prog), "nvrtcGetProgramLogSize")
            log = b" " * size
            check_nvrtc(nvrtc.nvrtcGetProgramLog(prog, log), "nvrtcGetProgramLog")
            raise InvalidArgumentError(
                f"NVRTC could not compile {name!r} ({' '.join(opts)}):\n"
                f"{log.rstrip(b' ').decode(errors='replace').strip()}"
            )
        get_size, get = (
            (nvrtc.nvrtcGetCUBINSize, nvrtc.nvrtcGetCUBIN)
            if real
            else (nvrtc.nvrtcGetPTXSize, nvrtc.nvrtcGetPTX)
        )
        size = check_nvrtc(get_size(prog), "nvrtcGet image size")
        image = b" " * size
        check_nvrtc(get(prog, image), "nvrtcGet image")
        return image
    finally:
        nvrtc.nvrtcDestroyProgram(prog)


def load_module(image: bytes) -> Any:
    """A CUmodule from a cubin, fatbin or NUL-terminated PTX image."""
    buffer = ctypes.create_string_buffer(image, len(image) + 1)  # NUL-terminates PTX
    return check(cu.cuModuleLoadData(ctypes.addressof(buffer)), "cuModuleLoadData")


def load(
    fmt: str,
    payload: Any,
    entry_points: Sequence[EntryPoint],
    compute_capability: tuple[int, int],
    max_shared_memory: int,
) -> CudaExecutable:
    """Loads one format; InvalidArgumentError carries the compiler's or loader's message."""
    if not entry_points:
        raise InvalidArgumentError(f"format {fmt!r} needs the entry points to be named")
    if fmt == "cuda":
        if isinstance(payload, bytes):
            payload = payload.decode()
        if not isinstance(payload, str):
            raise InvalidArgumentError(
                f"format 'cuda' takes CUDA C source text, got {type(payload).__name__}"
            )
        image = compile_cuda(payload, compute_capability, entry_points[0].name)
    elif fmt == "ptx":
        image = payload.encode() if isinstance(payload, str) else bytes(payload)
    else:
        image = bytes(payload)
    try:
        module = load_module(image)
    except Exception as e:
        raise InvalidArgumentError(f"the CUDA driver could not load the {fmt} image: {e}") from None
    try:
        functions, launch = [], []
        for ep in entry_points:
            fn = _function(module, ep, max_shared_memory)
            functions.append(fn)
            launch.append((int(fn), *ep.workgroup_size, ep.local_memory_size))
    except BaseException:
        cu.cuModuleUnload(module)
        raise
    return CudaExecutable(module, functions, launch, cu.cuModuleUnload)


def _function(module: Any, ep: EntryPoint, max_shared_memory: int) -> Any:
    err, fn = cu.cuModuleGetFunction(module, ep.name.encode())
    if err != cu.CUresult.CUDA_SUCCESS:
        raise InvalidArgumentError(
            f"entry point {ep.name!r} is not a kernel of the module "
            f"({cuda_error(err, 'cuModuleGetFunction')})"
        )
    threads = ep.workgroup_size[0] * ep.workgroup_size[1] * ep.workgroup_size[2]
    attr = cu.CUfunction_attribute
    limit = check(
        cu.cuFuncGetAttribute(attr.CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK, fn),
        "cuFuncGetAttribute",
    )
    if threads > limit:
        raise InvalidArgumentError(
            f"entry point {ep.name!r}: workgroup size {ep.workgroup_size} is {threads} threads; "
            f"the compiled kernel allows at most {limit}"
        )
    if ep.local_memory_size > max_shared_memory:
        raise InvalidArgumentError(
            f"entry point {ep.name!r} needs {ep.local_memory_size} bytes of shared memory; "
            f"the device has {max_shared_memory} per block"
        )
    if ep.local_memory_size > DEFAULT_SHARED_MEMORY:
        check(
            cu.cuFuncSetAttribute(
                fn, attr.CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, ep.local_memory_size
            ),
            "cuFuncSetAttribute",
        )
    return fn
