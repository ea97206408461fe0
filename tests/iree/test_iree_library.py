"""The IREE system-library loader on its own: real iree-compile output called through ctypes.

These tests drive the kernels with a tiny ctypes caller (one call per workgroup), so they check
the loader and the ABI layouts independently of the local driver's executor.
"""

from __future__ import annotations

import ctypes
import math
import re
import shutil

import numpy as np
import pytest

from polyhal import errors
from polyhal.drivers.local import iree_library as il


def aligned(n: int, dtype=np.float32) -> np.ndarray:
    """A zeroed array whose data starts on a 64-byte boundary (IREE kernels require it)."""
    itemsize = np.dtype(dtype).itemsize
    raw = np.zeros(n * itemsize + 64, np.uint8)
    pad = (-raw.ctypes.data) % 64
    return raw[pad : pad + n * itemsize].view(dtype)


def run_dispatch(lib, export, counts, arrays, constants=()):
    """Call ``export`` once per workgroup of ``counts`` with ``arrays`` as its bindings."""
    ptrs = (ctypes.c_void_p * len(arrays))(*(a.ctypes.data for a in arrays))
    lens = (ctypes.c_size_t * len(arrays))(*(a.nbytes for a in arrays))
    consts = (ctypes.c_uint32 * max(1, len(constants)))(*constants)
    x, y, z = counts
    state = il.DispatchState(
        workgroup_size_x=export.workgroup_size[0],
        workgroup_size_y=export.workgroup_size[1],
        workgroup_size_z=export.workgroup_size[2],
        push_constant_count=len(constants),
        workgroup_count_x=x,
        workgroup_count_y=y,
        workgroup_count_z=z,
        max_concurrency=1,
        binding_count=len(arrays),
        push_constants=consts,
        binding_ptrs=ptrs,
        binding_lengths=lens,
    )
    local = (ctypes.c_uint8 * max(1, export.local_memory_size))()
    fn = il.DispatchFunction(export.function)
    env = ctypes.cast(lib.environment, ctypes.POINTER(il.Environment))
    for k in range(z):
        for j in range(y):
            for i in range(x):
                wg = il.WorkgroupState(
                    workgroup_id_x=i,
                    workgroup_id_y=j,
                    workgroup_id_z=k,
                    processor_id=0,
                    local_memory=ctypes.addressof(local) if export.local_memory_size else None,
                    local_memory_size=export.local_memory_size,
                )
                assert fn(env, state, wg) == 0


def test_abi_layouts():
    assert il.IREE_LIBRARY_VERSION == 6
    assert ctypes.sizeof(il.DispatchState) == 48
    assert ctypes.sizeof(il.WorkgroupState) == 32
    assert ctypes.sizeof(il.Environment) == 96
    assert ctypes.sizeof(il.DispatchAttrs) == 64
    assert ctypes.sizeof(il.LibraryV0) == 128


def test_export_table(local_dump):
    exe = next(iter(local_dump.executables.values()))
    lib = il.load_iree_system_library(exe.paths[0])
    try:
        assert lib.version == 6
        assert lib.imports == ()
        assert lib.constant_count == 0
        names = {e.name for e in lib.exports}
        assert names == set(local_dump.dispatches)
        add = lib.export(local_dump.dispatch("add_dispatch").name)
        assert add.binding_count == 3 and add.constant_count == 0
        assert add.workgroup_size == (1, 1, 1) and add.local_memory_size == 0
        assert add.function != 0
        mm = lib.export(local_dump.dispatch("matmul_bias").name)
        assert mm.binding_count == 4
        # The entry points it builds match the layouts the benchmarks describe.
        for ep in lib.entry_points():
            d = local_dump.dispatches[ep.name]
            assert ep.layout.binding_count == d.binding_count
            assert ep.layout.push_constants == d.constant_count
        assert [e.name for e in lib.resolve_entry_points(lib.entry_points())] == [
            e.name for e in lib.exports
        ]
        with pytest.raises(errors.NotFoundError):
            lib.export("no_such_kernel")
    finally:
        lib.close()


def test_elementwise_add_through_ctypes(local_dump):
    d = local_dump.dispatch("add_dispatch")
    lib = il.load_iree_system_library(d.executable.paths[0])
    rng = np.random.default_rng(0)
    a, b, out = aligned(1024), aligned(1024), aligned(1024)
    a[:] = rng.standard_normal(1024)
    b[:] = rng.standard_normal(1024)
    run_dispatch(lib, lib.export(d.name), d.workgroup_count, [a, b, out])
    np.testing.assert_allclose(out, a + b, rtol=1e-6)
    lib.close()


def test_matmul_bias_through_ctypes(local_dump):
    d = local_dump.dispatch("matmul_bias")
    assert [b.shape for b in d.bindings] == [(64, 32), (32, 48), (64, 48), (64, 48)]
    lib = il.load_iree_system_library(d.executable.paths[0])
    rng = np.random.default_rng(1)
    a, b, c, out = aligned(64 * 32), aligned(32 * 48), aligned(64 * 48), aligned(64 * 48)
    a[:] = rng.standard_normal(a.size)
    b[:] = rng.standard_normal(b.size)
    c[:] = rng.standard_normal(c.size)
    run_dispatch(lib, lib.export(d.name), d.workgroup_count, [a, b, c, out])
    expected = a.reshape(64, 32) @ b.reshape(32, 48) + c.reshape(64, 48)
    np.testing.assert_allclose(out.reshape(64, 48), expected, rtol=1e-4, atol=1e-4)
    lib.close()


def test_dynamic_shape_push_constants(dynamic_dump):
    (d,) = list(dynamic_dump)
    lib = il.load_iree_system_library(d.executable.paths[0])
    e = lib.export(d.name)
    assert e.constant_count == 4  # two i64 dimensions, each as (lo, hi)
    n = 10_000
    rng = np.random.default_rng(2)
    a, b, out = aligned(n), aligned(n), aligned(n)
    a[:] = rng.standard_normal(n)
    b[:] = rng.standard_normal(n)
    # No benchmark exists for a dynamic dispatch: launch enough workgroups for any tile of
    # at least 64 elements (workgroups past the end do nothing).
    run_dispatch(lib, e, (math.ceil(n / 64), 1, 1), [a, b, out], constants=(n, 0, n, 0))
    np.testing.assert_allclose(out, (a + b) ** 2, rtol=1e-5)
    lib.close()


def test_wrong_file_is_invalid_argument(tmp_path):
    bogus = tmp_path / "bogus.so"
    bogus.write_bytes(b"not an ELF file")
    with pytest.raises(errors.InvalidArgumentError):
        il.load_iree_system_library(bogus)
    with pytest.raises(errors.InvalidArgumentError):
        il.load_iree_system_library(tmp_path / "missing.so")


def test_unresolved_ukernel_symbols_fail_at_load(tmp_path, iree_compiler, local_dump):
    """Ukernels compiled as external calls leave undefined symbols: loading the library is a
    clean InvalidArgumentError naming the symbol, and the process loads others after it."""
    from polyhal import iree

    flags = [
        "--iree-opt-data-tiling",
        "--iree-llvmcpu-enable-ukernels=all",
        "--iree-llvmcpu-link-ukernel-bitcode=false",
    ]
    # The compile succeeds; load_dump, which reads the exports by loading the library, fails.
    with pytest.raises(errors.InvalidArgumentError, match=r"cannot read the exports") as info:
        iree.compile_mlir(
            iree_compiler["model"],
            tmp_path,
            driver="local",
            flags=flags,
            resolve_workgroups=False,
        )
    assert re.search(r"iree_uk_\w+", str(info.value)), str(info.value)
    (library,) = (tmp_path / "binaries").glob("*.so")
    with pytest.raises(errors.InvalidArgumentError, match=r"iree_uk_\w+"):
        il.load_iree_system_library(library)
    good = il.load_iree_system_library(next(iter(local_dump.executables.values())).paths[0])
    assert {e.name for e in good.exports} == set(local_dump.dispatches)
    good.close()


# A hand-written library with one import, one optional import and one executable constant,
# checking the import thunk and the environment's constant table.
C_LIBRARY = r"""
#include <stdint.h>
#include <stddef.h>

typedef struct { uint64_t data[8]; } processor_t;
typedef int (*import_fn_t)(void*, void*, void*);
typedef int (*thunk_t)(import_fn_t, void*, void*, void*);
typedef struct {
  const uint32_t* constants; thunk_t import_thunk;
  const import_fn_t* import_funcs; const void** import_contexts; processor_t processor;
} env_t;
typedef struct {
  uint32_t wx, wy; uint16_t wz, constant_count; uint32_t cx, cy; uint16_t cz;
  uint8_t max_concurrency, binding_count;
  const uint32_t* constants; void* const* binding_ptrs; const size_t* binding_lengths;
} dispatch_t;
typedef struct {
  uint32_t x, y; uint16_t z, reserved; uint32_t processor_id;
  void* local_memory; uint32_t local_memory_size;
} workgroup_t;
typedef int (*entry_t)(const env_t*, const dispatch_t*, const workgroup_t*);
typedef struct {
  uint32_t version; const char* name; uint32_t features; int32_t sanitizer;
} header_t;
typedef struct {
  uint64_t flags; uint16_t local_memory_pages; uint8_t constant_count, binding_count;
  uint32_t wx, wy; uint16_t wz, parameter_count; uint64_t reserved[5];
} attrs_t;
typedef struct {
  const header_t* header;
  struct { uint32_t count; const char* const* symbols; } imports;
  struct {
    uint32_t count; const entry_t* ptrs; const attrs_t* attrs; const void* params;
    const void* occupancy; const char* const* names; const char* const* tags;
    const void* parameter_names; const void* source_locations; const void* stage_locations;
  } exports;
  struct { uint32_t count; } constants;
  struct { uint32_t count; const void* files; } sources;
} library_t;

/* out[i] = import(in[i]) * env.constants[0] + push constant 0; optional import must be NULL */
typedef struct { const float* in; float* out; uint32_t n; } params_t;
static int scale(const env_t* env, const dispatch_t* d, const workgroup_t* wg) {
  if (env->import_funcs[0] != NULL) return 7;  /* "?optional_missing" sorts first */
  const float* in = (const float*)d->binding_ptrs[0];
  float* out = (float*)d->binding_ptrs[1];
  params_t p = { in, out, (uint32_t)(d->binding_lengths[0] / 4) };
  int rc = env->import_thunk(env->import_funcs[1], &p, (void*)env->import_contexts[1], NULL);
  if (rc) return rc;
  for (uint32_t i = 0; i < p.n; ++i)
    out[i] = out[i] * (float)env->constants[0] + (float)d->constants[0] + (float)wg->x;
  return 0;
}
static int checks_processor(const env_t* env, const dispatch_t* d, const workgroup_t* wg) {
  (void)wg;
  ((uint64_t*)d->binding_ptrs[0])[0] = env->processor.data[0];
  return 0;
}
static const header_t header = { 6, "handwritten", 0, 0 };
static const char* const import_names[] = { "?optional_missing", "polyhal_test_double" };
static const entry_t ptrs[] = { scale, checks_processor };
static const attrs_t attrs[] = {
  { 0, 1, 1, 2, 1, 1, 1, 0, {0} },
  { 0, 0, 0, 1, 4, 2, 1, 0, {0} },
};
static const char* const names[] = { "scale", "checks_processor" };
static const library_t library = {
  &header, { 2, import_names },
  { 2, ptrs, attrs, NULL, NULL, names, NULL, NULL, NULL, NULL },
  { 1 }, { 0, NULL },
};
const library_t* iree_hal_executable_library_query(uint32_t max_version, const env_t* env) {
  (void)env;
  return max_version == 6 ? &library : NULL;
}
"""


@pytest.fixture(scope="module")
def handwritten():
    if shutil.which("cc") is None and shutil.which("gcc") is None:
        pytest.skip("no C compiler")
    from polyhal._native import compile_shared

    return compile_shared(C_LIBRARY, ("-O1",), stem="iree-handwritten")


_IMPORT = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p)


class _Params(ctypes.Structure):
    _fields_ = [
        ("inp", ctypes.POINTER(ctypes.c_float)),
        ("out", ctypes.POINTER(ctypes.c_float)),
        ("n", ctypes.c_uint32),
    ]


def test_imports_constants_and_local_memory(handwritten):
    seen_contexts = []

    @_IMPORT
    def double(params, context, reserved):
        p = ctypes.cast(params, ctypes.POINTER(_Params)).contents
        seen_contexts.append(context)
        for i in range(p.n):
            p.out[i] = 2.0 * p.inp[i]
        return 0

    with pytest.raises(errors.InvalidArgumentError, match="polyhal_test_double"):
        il.load_iree_system_library(handwritten, constants=[3])
    with pytest.raises(errors.InvalidArgumentError, match="executable constants"):
        il.load_iree_system_library(handwritten, imports={"polyhal_test_double": double})

    lib = il.load_iree_system_library(
        handwritten, imports={"polyhal_test_double": (double, 1234)}, constants=[3]
    )
    assert lib.name == "handwritten"
    assert lib.imports == ("?optional_missing", "polyhal_test_double")
    scale = lib.export("scale")
    assert (scale.binding_count, scale.constant_count, scale.local_memory_size) == (2, 1, 4096)
    cp = lib.export("checks_processor")
    assert cp.workgroup_size == (4, 2, 1)

    x = aligned(16)
    x[:] = np.arange(16)
    y = aligned(16)
    run_dispatch(lib, scale, (1, 1, 1), [x, y], constants=(5,))
    np.testing.assert_array_equal(y, 2 * np.arange(16) * 3 + 5)
    assert seen_contexts == [1234]

    word = aligned(1, np.uint64)
    run_dispatch(lib, cp, (1, 1, 1), [word])
    assert int(word[0]) == il.processor_data()[0]
    lib.close()
    lib.close()  # idempotent
