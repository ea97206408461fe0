"""Loading IREE-compiled CPU executables ("system libraries") for the local driver.

``iree-compile --iree-hal-target-device=local --iree-hal-local-target-device-backends=llvm-cpu
--iree-llvmcpu-link-embedded=false`` produces a platform shared object (``.so``) that exports one
symbol, ``iree_hal_executable_library_query``.  Calling it with the ABI version the library was
built for and a pointer to an *environment* returns the library's description: a header (version,
name, features, sanitizer), an import table, an export table (function pointers, per-export
attributes such as binding and constant counts, names) and a table of executable constants.

Every export is a dispatch function with the local driver's kernel signature::

    int fn(const environment*, const dispatch_state*, const workgroup_state*);

This module reads that description with ctypes (no native code of its own) and keeps alive what
the kernels need from the host: the ``dlopen``'d library and an environment struct.  The local
driver calls each export once per workgroup, passing :attr:`IreeLibrary.environment`.

The layouts below are those of IREE's ``runtime/src/iree/hal/local/executable_library.h`` at
library version 6 (the version ``iree-base-compiler`` 3.x emits), checked against the bytes of
real compiled libraries; x86-64 and aarch64 (LP64) only.
"""

from __future__ import annotations

import ctypes
import os
import platform
import sys
import tempfile
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ... import errors
from .abi import DispatchState, WorkgroupState

__all__ = [
    "IREE_LIBRARY_VERSION",
    "IREE_QUERY_SYMBOL",
    "IreeExport",
    "IreeLibrary",
    "load_iree_system_library",
    "DispatchFunction",
    "DispatchState",
    "WorkgroupState",
    "Environment",
    "processor_data",
]

#: The executable-library ABI version this loader implements
#: (IREE_HAL_EXECUTABLE_LIBRARY_VERSION_0_6).
IREE_LIBRARY_VERSION = 6
#: The one symbol an IREE system library exports.
IREE_QUERY_SYMBOL = "iree_hal_executable_library_query"
#: Bytes per page of workgroup local memory (IREE_HAL_WORKGROUP_LOCAL_MEMORY_PAGE_SIZE).
LOCAL_MEMORY_PAGE_SIZE = 4096
#: Sizes of iree_hal_processor_v0_t::data.
PROCESSOR_DATA_CAPACITY = 8

# Sanitizer kinds (iree_hal_executable_library_sanitizer_kind_t).
_SANITIZERS = {0: "none", 1: "address", 2: "memory", 3: "thread", 4: "undefined"}


# --------------------------------------------------------------------------------------------
# ABI structures (version 0.6).  Offsets on LP64 are in the comments; the asserts below pin them.
# The dispatch and workgroup states every local kernel receives are polyhal.h's (abi.py).
# --------------------------------------------------------------------------------------------

_u8, _u16, _u32, _u64 = ctypes.c_uint8, ctypes.c_uint16, ctypes.c_uint32, ctypes.c_uint64
_ptr = ctypes.c_void_p


class LibraryHeader(ctypes.Structure):
    """iree_hal_executable_library_header_t (24 bytes)."""

    _fields_ = [
        ("version", _u32),  # 0
        ("name", ctypes.c_char_p),  # 8
        ("features", _u32),  # 16
        ("sanitizer", ctypes.c_int32),  # 20
    ]


class ImportTable(ctypes.Structure):
    """iree_hal_executable_import_table_v0_t: ``count`` symbols, sorted, weak ones prefixed '?'."""

    _fields_ = [("count", _u32), ("symbols", ctypes.POINTER(ctypes.c_char_p))]


class DispatchAttrs(ctypes.Structure):
    """iree_hal_executable_dispatch_attrs_v0_t at v0.6 (64 bytes)."""

    _fields_ = [
        ("flags", _u64),  # 0
        ("local_memory_pages", _u16),  # 8
        ("constant_count", _u8),  # 10
        ("binding_count", _u8),  # 11
        ("workgroup_size_x", _u32),  # 12
        ("workgroup_size_y", _u32),  # 16
        ("workgroup_size_z", _u16),  # 20
        ("parameter_count", _u16),  # 22
        ("reserved", _u64 * 5),  # 24
    ]


class DispatchParameter(ctypes.Structure):
    """iree_hal_executable_dispatch_parameter_v0_t (8 bytes)."""

    _fields_ = [
        ("type", _u8),
        ("size", _u8),
        ("flags", _u16),
        ("name", _u16),
        ("offset", _u16),
    ]


class ExportTable(ctypes.Structure):
    """iree_hal_executable_export_table_v0_t at v0.6 (struct of arrays, 80 bytes)."""

    _fields_ = [
        ("count", _u32),  # 0
        ("ptrs", ctypes.POINTER(_ptr)),  # 8
        ("attrs", ctypes.POINTER(DispatchAttrs)),  # 16  (optional)
        ("params", ctypes.POINTER(ctypes.POINTER(DispatchParameter))),  # 24  (optional)
        ("occupancy", _ptr),  # 32  (optional)
        ("names", ctypes.POINTER(ctypes.c_char_p)),  # 40  (optional)
        ("tags", ctypes.POINTER(ctypes.c_char_p)),  # 48  (optional)
        ("parameter_names", ctypes.POINTER(ctypes.c_char_p)),  # 56  (optional)
        ("source_locations", _ptr),  # 64  (optional)
        ("stage_locations", _ptr),  # 72  (optional)
    ]


class ConstantTable(ctypes.Structure):
    """iree_hal_executable_constant_table_v0_t."""

    _fields_ = [("count", _u32)]


class SourceFileTable(ctypes.Structure):
    """iree_hal_executable_source_file_table_v0_t."""

    _fields_ = [("count", _u32), ("files", _ptr)]


class LibraryV0(ctypes.Structure):
    """iree_hal_executable_library_v0_t at v0.6 (128 bytes)."""

    _fields_ = [
        ("header", ctypes.POINTER(LibraryHeader)),  # 0
        ("imports", ImportTable),  # 8
        ("exports", ExportTable),  # 24
        ("constants", ConstantTable),  # 104
        ("sources", SourceFileTable),  # 112
    ]


class Processor(ctypes.Structure):
    """iree_hal_processor_v0_t: architecture-specific CPU feature words (IREE's cpu_data)."""

    _fields_ = [("data", _u64 * PROCESSOR_DATA_CAPACITY)]


class Environment(ctypes.Structure):
    """iree_hal_executable_environment_v0_t (96 bytes); one per library, shared by all calls."""

    _fields_ = [
        ("constants", ctypes.POINTER(_u32)),  # 0
        ("import_thunk", _ptr),  # 8
        ("import_funcs", ctypes.POINTER(_ptr)),  # 16
        ("import_contexts", ctypes.POINTER(_ptr)),  # 24
        ("processor", Processor),  # 32
    ]


#: int fn(const environment*, const dispatch_state*, const workgroup_state*)
DispatchFunction = ctypes.CFUNCTYPE(
    ctypes.c_int,
    ctypes.POINTER(Environment),
    ctypes.POINTER(DispatchState),
    ctypes.POINTER(WorkgroupState),
)
_QueryFunction = ctypes.CFUNCTYPE(ctypes.POINTER(ctypes.POINTER(LibraryHeader)), _u32, _ptr)
#: int import(void* params, void* context, void* reserved)
ImportFunction = ctypes.CFUNCTYPE(ctypes.c_int, _ptr, _ptr, _ptr)
#: int thunk(import fn, void* params, void* context, void* reserved)
_ImportThunk = ctypes.CFUNCTYPE(ctypes.c_int, _ptr, _ptr, _ptr, _ptr)

if ctypes.sizeof(ctypes.c_void_p) == 8:
    assert ctypes.sizeof(LibraryHeader) == 24
    assert ctypes.sizeof(DispatchAttrs) == 64
    assert ctypes.sizeof(ExportTable) == 80
    assert LibraryV0.exports.offset == 24 and LibraryV0.constants.offset == 104
    assert ctypes.sizeof(LibraryV0) == 128
    assert ctypes.sizeof(Environment) == 96


def _import_thunk(fn: int | None, params: int | None, context: int | None, reserved: int | None):
    # Called from kernel code (any worker thread) for every import call.  A missing optional
    # import is a NULL function: report failure instead of jumping to address 0.
    if not fn:
        return -1
    try:
        return ImportFunction(fn)(params, context, reserved)
    except BaseException:  # pragma: no cover - never let an exception unwind into C
        return -1


# One thunk for the process: a ctypes callback whose lifetime is the module's.
_THUNK = _ImportThunk(_import_thunk)
_THUNK_ADDRESS = ctypes.cast(_THUNK, ctypes.c_void_p).value


# --------------------------------------------------------------------------------------------
# Processor information (IREE's cpu_data word 0; see iree/schemas/cpu_feature_bits.inl)
# --------------------------------------------------------------------------------------------

# /proc/cpuinfo flag name → bit in data[0].
_X86_64_BITS = {
    "pni": 0, "ssse3": 1, "sse4_1": 2, "sse4_2": 3, "sse4a": 4,
    "avx": 10, "fma": 11, "fma4": 12, "xop": 13, "f16c": 14, "avx2": 15,
    "avx512f": 20, "avx512cd": 21, "avx512vl": 22, "avx512dq": 23, "avx512bw": 24,
    "avx512ifma": 25, "avx512vbmi": 26, "avx512_vpopcntdq": 27, "avx512_vnni": 28,
    "avx512_vbmi2": 29, "avx512_bitalg": 30, "avx512_bf16": 31, "avx512_fp16": 32,
    "amx_tile": 50, "amx_int8": 51, "amx_bf16": 52,
}  # fmt: skip
_ARM_64_BITS = {
    "fp": 0, "atomics": 1, "asimdhp": 10, "asimdfhm": 11, "asimddp": 12, "i8mm": 13,
    "bf16": 14, "sve": 20, "sve2": 21, "svebitperm": 23, "svef32mm": 24, "svef64mm": 25,
    "sme": 30, "sme2": 31,
}  # fmt: skip

_processor_cache: tuple[int, ...] | None = None
_DLOPEN_MODE = getattr(os, "RTLD_NOW", 0) | getattr(os, "RTLD_LOCAL", 0)


def processor_data() -> tuple[int, ...]:
    """The host CPU's features encoded as IREE's ``iree_hal_processor_v0_t::data``.

    Kernels (ukernels in particular) pick code paths from these bits; a bit is only set when
    the kernel may use the instructions, so unknown platforms get all zeros (the portable path).
    """
    global _processor_cache
    if _processor_cache is not None:
        return _processor_cache
    data = [0] * PROCESSOR_DATA_CAPACITY
    machine = platform.machine().lower()
    table = (
        _X86_64_BITS
        if machine in ("x86_64", "amd64")
        else _ARM_64_BITS
        if machine in ("aarch64", "arm64")
        else None
    )
    if table is not None and sys.platform.startswith("linux"):
        try:
            with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
                for line in f:
                    key, _, value = line.partition(":")
                    if key.strip() in ("flags", "Features"):
                        for flag in value.split():
                            bit = table.get(flag)
                            if bit is not None:
                                data[0] |= 1 << bit
                        break
        except OSError:
            pass
    _processor_cache = tuple(data)
    return _processor_cache


# --------------------------------------------------------------------------------------------
# The loaded library
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class IreeExport:
    """One dispatch function of an IREE library, as its export table describes it."""

    ordinal: int
    name: str
    #: Address of ``int fn(const env*, const dispatch_state*, const workgroup_state*)``.
    function: int
    #: Number of 32-bit push constants the dispatch reads (``dispatch_state.constant_count``).
    constant_count: int
    #: Number of bindings the dispatch reads (``dispatch_state.binding_ptrs``), in order.
    binding_count: int
    #: The workgroup size compiled in; (1, 1, 1) for llvm-cpu code.
    workgroup_size: tuple[int, int, int]
    #: Bytes of workgroup-local scratch memory each workgroup call needs (0: none).
    local_memory_size: int
    #: Raw iree_hal_executable_dispatch_flags_v0_t bits.
    flags: int = 0
    parameter_count: int = 0
    tag: str | None = None

    def entry_point(self) -> Any:
        """A ``hal.EntryPoint`` for this export: set 0 with ``binding_count`` bindings and
        ``constant_count`` push constants, so ``binding_ptrs`` reach the kernel in order."""
        from ...executable import DescriptorSetLayout, EntryPoint, PipelineLayout

        return EntryPoint(
            self.name,
            PipelineLayout(
                [DescriptorSetLayout(range(self.binding_count))],
                push_constants=self.constant_count,
            ),
            workgroup_size=self.workgroup_size,
        )


class IreeLibrary:
    """A loaded IREE system library: its exports and the environment its kernels are given.

    Keep this object alive for as long as any of its function pointers may run; :meth:`close`
    (or garbage collection) unloads the library.
    """

    def __init__(
        self,
        path: str,
        *,
        imports: Mapping[str, Any] | None = None,
        constants: Sequence[int] | None = None,
        copy: bool = True,
    ):
        self.path = os.fspath(path)
        self._lock = threading.Lock()
        self._closed = False
        self._handle: int | None = None
        self._keep: list[Any] = []

        load_path = self.path
        temp: str | None = None
        if copy:
            # dlopen caches by file identity: a library re-dumped to the same path would
            # otherwise come back stale. Load a private copy, unlinked once mapped.
            try:
                with open(self.path, "rb") as f:
                    blob = f.read()
            except OSError as e:
                raise errors.InvalidArgumentError(
                    f"cannot read IREE system library {self.path!r}: {e}"
                ) from None
            fd, temp = tempfile.mkstemp(prefix="polyhal-iree-", suffix=".so")
            with os.fdopen(fd, "wb") as f:
                f.write(blob)
            load_path = temp
        try:
            # dlopen maps what the headers promise: a truncated file faults (SIGBUS) in
            # the loader instead of failing, so check that the bytes are all there first.
            from ..._native import is_complete_elf

            if not is_complete_elf(load_path):
                raise errors.InvalidArgumentError(
                    f"IREE system library {self.path!r} is not a complete ELF shared "
                    "library (truncated, or not a library)"
                )
            try:
                # RTLD_NOW: unresolved symbols (say iree_uk_* ukernels compiled as external
                # calls) fail here with the linker's message, not at dispatch time.
                self._dll = ctypes.CDLL(load_path, mode=_DLOPEN_MODE)
            except OSError as e:
                raise errors.InvalidArgumentError(
                    f"cannot load IREE system library {self.path!r}: {e}"
                ) from None
        finally:
            if temp is not None:
                try:
                    os.unlink(temp)
                except OSError:
                    pass
        self._handle = self._dll._handle
        try:
            self._init(imports or {}, constants)
        except BaseException:
            self.close()
            raise

    # -- loading ------------------------------------------------------------------------------

    def _init(self, imports: Mapping[str, Any], constants: Sequence[int] | None) -> None:
        try:
            query_address = ctypes.cast(getattr(self._dll, IREE_QUERY_SYMBOL), _ptr).value
        except AttributeError:
            raise errors.InvalidArgumentError(
                f"{self.path!r} is not an IREE system library: it exports no {IREE_QUERY_SYMBOL!r}"
            ) from None
        query = _QueryFunction(query_address)

        # The environment the library is queried with is the one every dispatch receives.
        env = Environment()
        env.processor.data[:] = processor_data()
        env.import_thunk = _THUNK_ADDRESS
        self._env = env

        header_pp = query(IREE_LIBRARY_VERSION, ctypes.addressof(env))
        if not header_pp:
            # The query answers only for the exact version it was built for; name it.
            found = next(
                (v for v in range(0, 64) if v != IREE_LIBRARY_VERSION and query(v, None)), None
            )
            detail = f"it was built for version {found}" if found is not None else "no version"
            raise errors.InvalidArgumentError(
                f"IREE system library {self.path!r} does not implement executable-library ABI "
                f"version {IREE_LIBRARY_VERSION} ({detail}); recompile it with an "
                f"iree-base-compiler that emits version {IREE_LIBRARY_VERSION} (3.x)"
            )
        lib = ctypes.cast(header_pp, ctypes.POINTER(LibraryV0)).contents
        header = lib.header.contents
        if header.version != IREE_LIBRARY_VERSION:
            raise errors.InvalidArgumentError(
                f"IREE system library {self.path!r} reports ABI version {header.version}, "
                f"expected {IREE_LIBRARY_VERSION}"
            )
        if header.sanitizer != 0:
            raise errors.InvalidArgumentError(
                f"IREE system library {self.path!r} is built with the "
                f"{_SANITIZERS.get(header.sanitizer, header.sanitizer)} sanitizer, which this "
                f"process does not host"
            )
        self.version = int(header.version)
        self.name = (header.name or b"").decode("utf-8", "replace")
        self.features = int(header.features)
        self._library = lib

        # Imports: resolve every symbol from `imports`; a missing weak one ('?name') is NULL.
        self.imports = tuple(
            lib.imports.symbols[i].decode("utf-8", "replace") for i in range(lib.imports.count)
        )
        if self.imports:
            funcs = (_ptr * len(self.imports))()
            contexts = (_ptr * len(self.imports))()
            missing = []
            for i, symbol in enumerate(self.imports):
                weak = symbol.startswith("?") or symbol.endswith("?")
                name = symbol.strip("?")
                value = imports.get(name)
                if value is None:
                    if not weak:
                        missing.append(name)
                    continue
                fn, ctx = value if isinstance(value, tuple) else (value, None)
                funcs[i] = _address(fn)
                contexts[i] = _address(ctx) if ctx is not None else None
                self._keep.append(value)
            if missing:
                raise errors.InvalidArgumentError(
                    f"IREE system library {self.path!r} imports {missing}, which polyhal does "
                    f"not provide; pass them as imports={{name: function}} (a C function "
                    f"int fn(void* params, void* context, void* reserved))"
                )
            env.import_funcs = funcs
            env.import_contexts = contexts
            self._keep += [funcs, contexts]

        # Executable-level specialization constants.
        self.constant_count = int(lib.constants.count)
        if self.constant_count:
            if constants is None or len(constants) != self.constant_count:
                raise errors.InvalidArgumentError(
                    f"IREE system library {self.path!r} declares {self.constant_count} "
                    f"executable constants; pass constants= with exactly that many values"
                )
            values = (_u32 * self.constant_count)(*(int(v) & 0xFFFFFFFF for v in constants))
            env.constants = values
            self._keep.append(values)

        self.exports = tuple(self._read_export(i) for i in range(lib.exports.count))
        self._by_name = {e.name: e for e in self.exports}

    def _read_export(self, i: int) -> IreeExport:
        table = self._library.exports
        function = table.ptrs[i] or 0
        name = table.names[i].decode("utf-8", "replace") if table.names else None
        tag = table.tags[i].decode("utf-8", "replace") if table.tags and table.tags[i] else None
        if table.attrs:
            a = table.attrs[i]
            return IreeExport(
                ordinal=i,
                name=name or f"export_{i}",
                function=function,
                constant_count=int(a.constant_count),
                binding_count=int(a.binding_count),
                workgroup_size=(
                    max(1, int(a.workgroup_size_x)),
                    max(1, int(a.workgroup_size_y)),
                    max(1, int(a.workgroup_size_z)),
                ),
                local_memory_size=int(a.local_memory_pages) * LOCAL_MEMORY_PAGE_SIZE,
                flags=int(a.flags),
                parameter_count=int(a.parameter_count),
                tag=tag,
            )
        # No attribute table: every field takes its documented zero default.
        return IreeExport(i, name or f"export_{i}", function, 0, 0, (1, 1, 1), 0, 0, 0, tag)

    # -- queries ------------------------------------------------------------------------------

    @property
    def environment(self) -> int:
        """Address of the ``environment`` struct to pass to every export call."""
        return ctypes.addressof(self._env)

    @property
    def handle(self) -> int:
        """The ``dlopen`` handle."""
        return int(self._handle or 0)

    def export(self, name_or_ordinal: str | int) -> IreeExport:
        """An export by name or ordinal (NotFoundError / InvalidArgumentError if none)."""
        if isinstance(name_or_ordinal, str):
            try:
                return self._by_name[name_or_ordinal]
            except KeyError:
                raise errors.NotFoundError(
                    f"IREE library {self.name!r} has no export {name_or_ordinal!r}; it has "
                    f"{list(self._by_name)}"
                ) from None
        i = int(name_or_ordinal)
        if not 0 <= i < len(self.exports):
            raise errors.InvalidArgumentError(
                f"export ordinal {i} out of range; IREE library {self.name!r} has "
                f"{len(self.exports)}"
            )
        return self.exports[i]

    def entry_points(self) -> list[Any]:
        """``hal.EntryPoint`` for every export, built from the library's own export table.

        Each has one descriptor set (set 0) with ``binding_count`` bindings and
        ``constant_count`` push constants, so ``binding_ptrs`` reach the kernel in order.
        """
        return [e.entry_point() for e in self.exports]

    def resolve_entry_points(self, entry_points: Sequence[Any]) -> list[IreeExport]:
        """The export behind each of the caller's entry points, checked against its layout.

        Entry points are matched by name (by position when the library carries no names).
        A layout must give the kernel at least the bindings and push constants it reads:
        fewer would let it read past ``binding_ptrs`` / ``constants``.
        """
        has_names = bool(self._library.exports.names)
        resolved = []
        for i, ep in enumerate(entry_points):
            if has_names:
                e = self.export(ep.name)
            else:
                e = self.export(i)
            layout = ep.layout
            bindings = getattr(layout, "binding_count", None)
            if bindings is None:
                bindings = sum(len(s.bindings) for s in layout.set_layouts)
            if bindings < e.binding_count:
                raise errors.InvalidArgumentError(
                    f"entry point {ep.name!r}: the IREE kernel reads {e.binding_count} bindings "
                    f"but its pipeline layout has {bindings}"
                )
            if layout.push_constants < e.constant_count:
                raise errors.InvalidArgumentError(
                    f"entry point {ep.name!r}: the IREE kernel reads {e.constant_count} push "
                    f"constants but its pipeline layout has {layout.push_constants}"
                )
            resolved.append(e)
        return resolved

    # -- lifetime -----------------------------------------------------------------------------

    def close(self) -> None:
        """Unload the library. No export may be running or run afterwards."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            handle, self._handle = self._handle, None
        if handle:
            try:
                _dlclose(handle)
            except Exception:  # pragma: no cover
                pass

    def __del__(self) -> None:  # pragma: no cover - best effort at interpreter exit
        if sys.is_finalizing():  # interpreter exit: objects go in any order (a device
            return  # before its buffers); the process's end frees what is native
        try:
            self.close()
        except Exception:
            pass

    def __enter__(self) -> IreeLibrary:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"IreeLibrary({self.name!r}, version={getattr(self, 'version', '?')}, "
            f"exports={[e.name for e in getattr(self, 'exports', ())]})"
        )


def _address(value: Any) -> int:
    """An address from an int, a ctypes function/pointer or a c_void_p."""
    if isinstance(value, int):
        return value
    if isinstance(value, ctypes.c_void_p):
        return int(value.value or 0)
    return int(ctypes.cast(value, ctypes.c_void_p).value or 0)


def _dlclose(handle: int) -> None:
    import _ctypes

    closer = getattr(_ctypes, "dlclose", None)
    if closer is not None:
        closer(handle)


def load_iree_system_library(
    path: str | os.PathLike[str],
    *,
    imports: Mapping[str, Any] | None = None,
    constants: Sequence[int] | None = None,
    copy: bool = True,
) -> IreeLibrary:
    """Load an IREE-compiled CPU system library (a ``.so`` dumped by iree-compile).

    ``imports`` maps import names the library declares to C functions
    ``int fn(void* params, void* context, void* reserved)`` (an address, a ctypes function, or a
    ``(function, context)`` pair); libraries that import nothing (the common case) need none.
    ``constants`` gives the values of executable-level constants when the library declares any.
    Errors (unreadable file, not an IREE library, wrong ABI version, unresolved symbols or
    imports) raise ``polyhal.InvalidArgumentError`` carrying the reason.
    """
    return IreeLibrary(os.fspath(path), imports=imports, constants=constants, copy=copy)
