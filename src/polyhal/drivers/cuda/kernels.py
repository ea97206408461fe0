"""The driver's own kernels, compiled by NVRTC once per architecture and cached.

- ``polyhal_fill`` / ``polyhal_copy``: transfers the copy engines' entry points cannot take
  (a 2- or 4-byte pattern starting at an address that is not a multiple of its length),
  and every fill and copy inside a CUDA graph, where a kernel node's parameters can be
  re-pointed at a new binding table in the executable graph (memset and memcpy nodes
  cannot move between allocations of different kinds).
- ``polyhal_indirect_update``: the first node of an indirect dispatch (see graph.py).  It
  reads the three workgroup counts on the device and, through the CUDA 12.4 device-side
  graph API, sets the grid of the dispatch's kernel node, or disables the node when a
  count is zero, in the same launch of the graph: no round trip through the host.  Counts
  beyond the device's grid limits disable the node too and are written, with the number of
  the dispatch, to the status record of the submission (:class:`IndirectStatus`).
"""

from __future__ import annotations

import ctypes
import os
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import UnavailableError
from .api import check, cu
from .executable import compile_cuda, load_module

TRANSFER_SOURCE = r"""
typedef unsigned long long u64;

// Bytes [0, length) of dst get byte (i % pattern_length) of the little-endian pattern.
extern "C" __global__ void polyhal_fill(unsigned char* dst, u64 length, unsigned int pattern,
                                        unsigned int pattern_length) {
  const u64 stride = (u64)gridDim.x * blockDim.x;
  const u64 first = (u64)blockIdx.x * blockDim.x + threadIdx.x;
  u64 head = 0;
  if (((u64)dst & 15) == 0) {
    // Every 16-byte chunk starts at a multiple of the pattern length: the same 4 words.
    const unsigned int word = pattern_length == 1 ? pattern * 0x01010101u
                              : pattern_length == 2 ? pattern | (pattern << 16) : pattern;
    const uint4 v = make_uint4(word, word, word, word);
    head = length / 16;
    for (u64 c = first; c < head; c += stride) reinterpret_cast<uint4*>(dst)[c] = v;
    head *= 16;
  }
  for (u64 i = head + first; i < length; i += stride)
    dst[i] = (unsigned char)(pattern >> (8 * (i % pattern_length)));
}

// dst[0, length) = src[0, length); the ranges do not overlap.
extern "C" __global__ void polyhal_copy(unsigned char* dst, const unsigned char* src,
                                        u64 length) {
  const u64 stride = (u64)gridDim.x * blockDim.x;
  const u64 first = (u64)blockIdx.x * blockDim.x + threadIdx.x;
  u64 head = 0;
  if ((((u64)dst | (u64)src) & 15) == 0) {
    head = length / 16;
    for (u64 c = first; c < head; c += stride)
      reinterpret_cast<uint4*>(dst)[c] = reinterpret_cast<const uint4*>(src)[c];
    head *= 16;
  }
  for (u64 i = head + first; i < length; i += stride) dst[i] = src[i];
}
"""

#: Status records: one per submission token modulo this many (submissions in flight).
STATUS_RECORDS = 1024
#: A record: token, dispatch number, x, y, z, three words of padding (32 bytes).
STATUS_WORDS = 8

INDIRECT_SOURCE = r"""
// Sets the grid of the device-updatable kernel node `node` from counts[0..3), or disables
// it when a count is zero or beyond the device's grid limits; counts out of range go to the
// record of the submission whose token the launch stored at `token` (the first of them
// wins), which the host reads once the submission completed.
struct polyhal_indirect_record { unsigned int token, dispatch, x, y, z, pad[3]; };
__device__ unsigned int polyhal_u32(const unsigned char* p) {
  return p[0] | p[1] << 8 | p[2] << 16 | (unsigned int)p[3] << 24;
}
extern "C" __global__ void polyhal_indirect_update(
    const unsigned char* counts, cudaGraphDeviceNode_t node, const unsigned int* token,
    polyhal_indirect_record* records, unsigned int dispatch, unsigned int max_x,
    unsigned int max_y, unsigned int max_z) {
  // Byte loads: the counts may start at any address (a subspan's offset is any byte), and
  // a misaligned word load would be a kernel fault, which loses the device.
  const unsigned int x = polyhal_u32(counts), y = polyhal_u32(counts + 4),
                     z = polyhal_u32(counts + 8);
  const bool in_range = x <= max_x && y <= max_y && z <= max_z;
  const bool run = x && y && z && in_range;
  set_enabled(node, run);
  if (run) set_grid(node, x, y, z);
  if (!in_range) {
    const unsigned int t = *token;
    polyhal_indirect_record* r = &records[t % RECORDS];
    if (r->token != t) {
      r->dispatch = dispatch; r->x = x; r->y = y; r->z = z;
      __threadfence_system();  // the host sees the counts before the token that marks them
      r->token = t;
    }
  }
}
""".replace("RECORDS", f"{STATUS_RECORDS}u")

#: The device-side graph API as the CUDA headers (and recent NVRTC) declare it.
TOOLKIT_API = r"""
#define set_enabled(node, on) cudaGraphKernelNodeSetEnabled(node, on)
#define set_grid(node, x, y, z) cudaGraphKernelNodeSetGridDim(node, dim3(x, y, z))
"""

#: The same, declared here from the layout of cudaGraphKernelNodeUpdate in driver_types.h,
#: for an NVRTC that does not declare it (then libcudadevrt provides the function).
DECLARED_API = r"""
typedef struct CUgraphDeviceUpdatableNode_st* cudaGraphDeviceNode_t;
struct polyhal_node_update {
  cudaGraphDeviceNode_t node;
  int field;  // 1: grid, 3: enabled
  union { struct { unsigned int x, y, z; } grid; unsigned int enabled; void* pad[3]; } data;
};
extern "C" __device__ int cudaGraphKernelNodeUpdatesApply(const polyhal_node_update*,
                                                          unsigned long long);
__device__ void set_enabled(cudaGraphDeviceNode_t node, bool on) {
  polyhal_node_update u = {}; u.node = node; u.field = 3; u.data.enabled = on;
  cudaGraphKernelNodeUpdatesApply(&u, 1);
}
__device__ void set_grid(cudaGraphDeviceNode_t node, unsigned x, unsigned y, unsigned z) {
  polyhal_node_update u = {}; u.node = node; u.field = 1;
  u.data.grid.x = x; u.data.grid.y = y; u.data.grid.z = z;
  cudaGraphKernelNodeUpdatesApply(&u, 1);
}
"""


class IndirectStatus:
    """Where indirect dispatches report counts out of range: a device word each launch of a
    graph with indirect dispatches first sets to its submission's token (launcher.c), and
    :data:`STATUS_RECORDS` records in pinned host memory the updater writes (through unified
    addressing, the host address is the device address)."""

    def __init__(self) -> None:
        self.token_word = int(check(cu.cuMemAlloc(4), "cuMemAlloc"))
        size = STATUS_RECORDS * STATUS_WORDS * 4
        try:
            flags = cu.CU_MEMHOSTALLOC_PORTABLE | cu.CU_MEMHOSTALLOC_DEVICEMAP
            self.records = int(check(cu.cuMemHostAlloc(size, flags), "cuMemHostAlloc"))
        except BaseException:
            cu.cuMemFree(self.token_word)
            raise
        ctypes.memset(self.records, 0, size)  # token 0 is never a submission's
        self.view = np.ctypeslib.as_array(
            (ctypes.c_uint32 * (STATUS_RECORDS * STATUS_WORDS)).from_address(self.records)
        ).reshape(STATUS_RECORDS, STATUS_WORDS)

    def record(self, token: int) -> tuple[int, tuple[int, int, int]] | None:
        """(dispatch number, counts) reported by submission ``token``, which completed."""
        r = self.view[token % STATUS_RECORDS]
        if int(r[0]) != token & 0xFFFFFFFF:
            return None
        return int(r[1]), (int(r[2]), int(r[3]), int(r[4]))

    def close(self) -> None:
        cu.cuMemFree(self.token_word)
        cu.cuMemFreeHost(self.records)


def load_transfer_kernels(compute_capability: tuple[int, int]) -> tuple[Any, Any, Any]:
    """(module, fill function, copy function)."""
    module = load_module(compile_cuda(TRANSFER_SOURCE, compute_capability, "polyhal_transfer"))
    fill = check(cu.cuModuleGetFunction(module, b"polyhal_fill"), "cuModuleGetFunction")
    copy = check(cu.cuModuleGetFunction(module, b"polyhal_copy"), "cuModuleGetFunction")
    return module, fill, copy


def load_indirect_kernel(compute_capability: tuple[int, int]) -> tuple[Any, Any, str]:
    """(module, polyhal_indirect_update, how it was built).

    NVRTC declares the device-side graph API itself; where the calls need the device runtime
    library, the program is compiled relocatable and linked with libcudadevrt.
    """
    failures = []
    for how, prelude, options, link in _indirect_builds():
        try:
            image = compile_cuda(
                prelude + INDIRECT_SOURCE, compute_capability, "polyhal_indirect", options
            )
            if link:
                image = _link_with_devrt(image, link)
            module = load_module(image)
            fn = check(
                cu.cuModuleGetFunction(module, b"polyhal_indirect_update"), "cuModuleGetFunction"
            )
            return module, fn, how
        except Exception as e:
            failures.append(f"{how}: {e}")
    raise UnavailableError(
        "dispatch_indirect needs CUDA >= 12.4 device-updatable graph nodes and a kernel that "
        "updates them; building it failed:\n" + "\n".join(failures)
    )


def _indirect_builds() -> list[tuple[str, str, tuple[str, ...], str | None]]:
    """(what, source prelude, NVRTC options, libcudadevrt to link or None), in order."""
    builds: list[tuple[str, str, tuple[str, ...], str | None]] = [
        ("NVRTC's own declarations", TOOLKIT_API, (), None)
    ]
    devrt = _cudadevrt()
    if devrt:
        builds.append(("NVRTC -rdc, linked with libcudadevrt", TOOLKIT_API, ("-rdc=true",), devrt))
        builds.append(
            ("declared here, -rdc, linked with libcudadevrt", DECLARED_API, ("-rdc=true",), devrt)
        )
    return builds


def _cudadevrt() -> str | None:
    try:
        from cuda.pathfinder import find_static_lib

        return find_static_lib("cudadevrt")
    except Exception:
        pass
    for root in _cuda_roots():
        for sub in ("lib64", "lib", "targets/x86_64-linux/lib"):
            if (root / sub / "libcudadevrt.a").exists():
                return str(root / sub / "libcudadevrt.a")
    return None


def _cuda_roots() -> list[Path]:
    roots = [os.environ.get(v) for v in ("CUDA_HOME", "CUDA_PATH")]
    return [Path(r) for r in (*roots, "/usr/local/cuda") if r]


def _link_with_devrt(image: bytes, devrt: str) -> bytes:
    """Links a relocatable image with libcudadevrt through the driver's JIT linker."""
    jit = cu.CUjitInputType
    state = check(cu.cuLinkCreate(0, [], []), "cuLinkCreate")
    try:
        ptx = image.lstrip()[:1] in (b"/", b".")
        kind = jit.CU_JIT_INPUT_PTX if ptx else jit.CU_JIT_INPUT_CUBIN
        buffer = ctypes.create_string_buffer(image, len(image) + 1)
        check(
            cu.cuLinkAddData(
                state, kind, ctypes.addressof(buffer), len(buffer), b"polyhal_indirect", 0, [], []
            ),
            "cuLinkAddData",
        )
        check(
            cu.cuLinkAddFile(state, jit.CU_JIT_INPUT_LIBRARY, devrt.encode(), 0, [], []),
            "cuLinkAddFile(libcudadevrt)",
        )
        cubin, size = check(cu.cuLinkComplete(state), "cuLinkComplete")
        return ctypes.string_at(cubin, size)
    finally:
        cu.cuLinkDestroy(state)
