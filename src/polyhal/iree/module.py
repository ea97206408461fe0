"""Whole IREE programs on polyhal: load a compiled module, call its functions.

::

    vm_asm = polyhal.iree.compile_module(source, device)    # iree-compile, cached
    mod = polyhal.iree.load_module(vm_asm, device)          # or load_mlir(source, device)
    out = mod.main(x, w)                  # numpy arrays or polyhal Buffers in, Buffers out
    arr = mod.main(x, w, numpy=True)      # numpy arrays out

The module is IREE's host program (``iree-compile --output-format=vm-asm``) translated to
Python by :mod:`polyhal.iree.vm`, its ``hal`` imports served by
:class:`~polyhal.iree.hal_module.HalModule` on the device.  Its initializer runs once at
load (creating the executables and recording IREE's reusable command buffers); a call then
runs the function's host program: argument checks, queue allocations, one replay of the
recorded command buffer with the arguments bound, a fence wait.

polyhal does not interpret IREE's VM bytecode: a ``.vmfb`` file is refused with
UnimplementedError; compile with ``--output-format=vm-asm`` (or :func:`compile_module`).
"""

from __future__ import annotations

import hashlib
import os
import re
import weakref
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .. import _cache
from .._native import target_cpu
from ..buffer import Buffer
from ..device import Device
from ..errors import (
    FailedPreconditionError,
    HalError,
    InvalidArgumentError,
    NotFoundError,
    UnimplementedError,
)
from .compiler import base_driver, compile_flags, compiler_version, find_iree_compile, run_compiler
from .hal_module import BufferView, HalModule, element_type_of
from .vm import VmFunction, VmProgram, declared_types, parse_vm, status_error
from .vm_bytecode import parse_vmfb

__all__ = ["Function", "Module", "compile_module", "load_mlir", "load_module"]

_VM_ASM_FLAG = "--output-format=vm-asm"
#: A Buffer argument of at most this many bytes keeps its view for the next call.
_CACHED_VIEW_BYTES = 64 << 10

# Translated programs by the hash of their text: loading one module on several devices (or
# twice) translates it once.  Programs are immutable (rodata is read-only), so sharing is safe.
_PROGRAMS: dict[str, VmProgram] = {}
_PROGRAMS_KEPT = 16


def compile_module(
    source: str | os.PathLike[str],
    device: Device | str,
    *,
    flags: Sequence[str] = (),
    timeout: float | None = None,
    output_format: str = "vm-asm",
) -> bytes:
    """Compile an MLIR program (text, or the path of a ``.mlir`` file) for ``device``'s
    driver (a Device or a driver name) to IREE's VM assembly (``output_format="vm-asm"``)
    or to a ``.vmfb`` of VM bytecode (``"vmfb"``), either the input of :func:`load_module`.

    Runs ``iree-compile`` with :func:`~polyhal.iree.compile_flags` for the driver, then
    ``flags``, then ``--output-format=vm-asm`` (or ``vm-bytecode``); the output is cached in
    polyhal's build cache, keyed on the source, the compiler's version and the flags (and
    the host CPU when the flags target it).  InvalidArgumentError with the compiler's errors
    when the program does not compile or ``timeout`` seconds pass, or for another
    ``output_format``; UnavailableError without iree-compile.
    """
    if output_format not in ("vm-asm", "vmfb"):
        raise InvalidArgumentError(f"output_format is 'vm-asm' or 'vmfb', got {output_format!r}")
    text = _source_text(source)
    fmt_flag = _VM_ASM_FLAG if output_format == "vm-asm" else "--output-format=vm-bytecode"
    all_flags = [*compile_flags(base_driver(device)), *flags, fmt_flag]
    key: list[str | bytes] = [text, compiler_version() or find_iree_compile(), *all_flags]
    if any(flag.endswith("=host") for flag in all_flags):
        key.append(target_cpu())

    def build(out: Path) -> None:
        src = out.parent / "input.mlir"
        src.write_text(text, encoding="utf-8")
        run_compiler([*all_flags, str(src), "-o", str(out)], timeout, what="to VM assembly")

    if output_format == "vmfb":
        path = _cache.cached("iree-vmfb", "vmfb", key, build, _is_vmfb)
    else:
        path = _cache.cached("iree-vm", "mlir", key, build, _is_vm_asm)
    return path.read_bytes()


def _is_vmfb(path: Path) -> bool:
    try:
        with open(path, "rb") as f:
            head = f.read(8)
    except OSError:
        return False
    return head[4:8] == b"IREE" or head[:4] == b"PK\x03\x04"


def _is_vm_asm(path: Path) -> bool:
    try:
        with open(path, "rb") as f:
            head = f.read(4096)
            f.seek(-64, os.SEEK_END)
            tail = f.read()
    except OSError:
        return False
    # A complete file opens with the top-level module and ends with its closing brace.
    return b"vm.module" in head and tail.rstrip().endswith(b"}")


def _source_text(source: str | os.PathLike[str]) -> str:
    if isinstance(source, os.PathLike) or (
        isinstance(source, str) and "\n" not in source and source.endswith(".mlir")
    ):
        try:
            return Path(source).read_text(encoding="utf-8")
        except OSError as e:
            raise InvalidArgumentError(f"cannot read the MLIR file {str(source)!r}: {e}") from None
    if not isinstance(source, str):
        raise InvalidArgumentError(f"expected MLIR text or a path, got {type(source).__name__}")
    return source


def load_module(data: bytes | str | os.PathLike[str], device: Device) -> Module:
    """Load an IREE module onto ``device``: a ``.vmfb`` (VM bytecode, iree-compile's
    default output; bytes or a path) or VM assembly (``--output-format=vm-asm``; bytes,
    text or a path).

    The module's initializer runs now: it finds the device, creates the executables and
    records the command buffers IREE memoizes.  A ``.vmfb`` is read through IREE's
    ``iree-dump-module`` (iree-base-runtime, part of ``polyhal[iree]``; see
    :mod:`polyhal.iree.vm_bytecode`).  UnimplementedError for operations or imports polyhal
    does not support, or a ``.vmfb`` without iree-base-runtime installed;
    InvalidArgumentError for data that is neither.
    """
    if not isinstance(device, Device):
        raise InvalidArgumentError(f"load_module needs a polyhal Device, got {device!r}")
    return Module(_program(_vm_source(data)), device)


def load_mlir(
    source: str | os.PathLike[str],
    device: Device,
    *,
    flags: Sequence[str] = (),
    timeout: float | None = None,
) -> Module:
    """:func:`compile_module` then :func:`load_module`: an MLIR program ready to call."""
    return load_module(compile_module(source, device, flags=flags, timeout=timeout), device)


def _vm_source(data: bytes | str | os.PathLike[str]) -> str | bytes:
    """VM assembly text, or the bytes of a ``.vmfb``."""
    if isinstance(data, str) and ("\n" in data or "{" in data):
        return data  # text; parse_vm says when it is not VM assembly
    if isinstance(data, (str, os.PathLike)):
        try:
            raw = Path(data).read_bytes()
        except OSError as e:
            raise InvalidArgumentError(f"cannot read the module file {str(data)!r}: {e}") from None
    elif isinstance(data, (bytes, bytearray, memoryview)):
        raw = bytes(data)
    else:
        raise InvalidArgumentError(
            f"expected VM assembly (bytes, text or a path), got {type(data).__name__}"
        )
    if raw[4:8] == b"IREE" or raw[:4] == b"PK\x03\x04":
        return raw  # a .vmfb (IREE VM bytecode)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidArgumentError(
            "the module is neither VM assembly text nor a .vmfb (compile with "
            "iree-compile --output-format=vm-asm)"
        ) from None


def _program(source: str | bytes) -> VmProgram:
    """The translated program of VM assembly text or ``.vmfb`` bytes, translated once per
    process (the last _PROGRAMS_KEPT sources are kept)."""
    parse: Callable[[Any], VmProgram]
    if isinstance(source, bytes):
        key, parse = "vmfb:" + hashlib.sha256(source).hexdigest(), parse_vmfb
    else:
        key = hashlib.sha256(source.encode("utf-8", "surrogatepass")).hexdigest()
        parse = parse_vm
    program = _PROGRAMS.get(key)
    if program is None:
        program = parse(source)
        if len(_PROGRAMS) >= _PROGRAMS_KEPT:
            _PROGRAMS.pop(next(iter(_PROGRAMS)))
        _PROGRAMS[key] = program
    return program


# ---------------------------------------------------------------------------------------
# The module and its functions
# ---------------------------------------------------------------------------------------

# numpy dtypes of the element types a tensor<...> declaration names.
_DTYPE_NAMES = {
    "i8": np.int8, "i16": np.int16, "i32": np.int32, "i64": np.int64,
    "si8": np.int8, "si16": np.int16, "si32": np.int32, "si64": np.int64,
    "ui8": np.uint8, "ui16": np.uint16, "ui32": np.uint32, "ui64": np.uint64,
    "f16": np.float16, "f32": np.float32, "f64": np.float64, "i1": np.bool_,
    "complex<f32>": np.complex64, "complex<f64>": np.complex128,
}  # fmt: skip
_SIGNATURE = re.compile(r"^\s*(sync|async)?\s*func\s+@[^(]*\((.*)\)\s*->\s*\((.*)\)\s*$", re.S)
_TENSOR = re.compile(r"^tensor<(.*)>$")
_DIMS = re.compile(r"^((?:(?:\d+|\?)x)*)(.*)$")  # "4x?x" and the element type


class TensorSpec:
    """A tensor argument or result as the ABI declaration gives it: its shape (None for a
    dynamic dimension) and numpy dtype (None where numpy has none)."""

    __slots__ = ("dtype", "shape", "text")

    def __init__(self, text: str):
        self.text = text
        m = _TENSOR.match(text)
        self.shape: tuple[int | None, ...] | None = None
        self.dtype: np.dtype[Any] | None = None
        if m:
            dims, element = _DIMS.match(m.group(1).split(",")[0].strip()).groups()  # type: ignore[union-attr]
            self.shape = tuple(None if d == "?" else int(d) for d in dims.split("x")[:-1])
            dtype = _DTYPE_NAMES.get(element)
            self.dtype = np.dtype(dtype) if dtype is not None else None

    @property
    def static(self) -> bool:
        """Whether shape and dtype are fully known (a bare Buffer can then be passed)."""
        return self.shape is not None and None not in self.shape and self.dtype is not None


class Function:
    """One exported function of a :class:`Module`, called like IREE's:
    ``f(*args, numpy=False)``.

    Arguments follow the function's ABI declaration: a tensor is a numpy array (uploaded;
    its dtype and shape must be the declared ones), a polyhal Buffer already on the device
    (the fast path: shape and dtype come from the declaration, which must then be static),
    or a :class:`~polyhal.iree.hal_module.BufferView`; i32/i64/f32/f64 scalars are Python
    numbers; a 0-d tensor also takes a Python number.  Tensor results are polyhal Buffers,
    or numpy arrays with ``numpy=True``; scalar results are Python numbers.  Several results
    come as a tuple.  Wrong arguments raise InvalidArgumentError (the program's own checks
    raise it too, as IREE's ``hal.buffer_view.assert`` does).
    """

    def __init__(self, module: Module, name: str, function: VmFunction, call: Callable[..., Any]):
        self.module = module
        self.name = name
        self.declaration = function.reflection.get("iree.abi.declaration", "")
        self._call = call
        m = _SIGNATURE.match(self.declaration)
        if m is None:
            raise UnimplementedError(
                f"function {name!r}: cannot read its ABI declaration {self.declaration!r}"
            )
        self.arg_specs = [TensorSpec(t) for t in declared_types(m.group(2))]
        self.result_specs = [TensorSpec(t) for t in declared_types(m.group(3))]
        self.arg_types = function.arg_types
        self.result_types = function.result_types
        # IREE's async (coarse-fences) ABI appends a wait fence and a signal fence: the call
        # waits on nothing and blocks until its signal fence is reached.
        fences = ("!vm.ref<!hal.fence>", "!vm.ref<!hal.fence>")
        self._async = m.group(1) == "async" and self.arg_types[-2:] == fences
        if m.group(1) == "async" and not self._async:
            raise UnimplementedError(f"function {name!r}: an async ABI without its two fences")
        if self._async:
            self.arg_types = self.arg_types[:-2]
            imports = module.hal.imports
            self._fence_create = imports["hal.fence.create"]
            self._fence_await = imports["hal.fence.await"]
        if len(self.arg_types) != len(self.arg_specs):
            raise UnimplementedError(
                f"function {name!r}: its declaration names {len(self.arg_specs)} arguments, "
                f"its VM function takes {len(self.arg_types)}"
            )
        self._converters = tuple(
            self._converter(i, vm_type, spec)
            for i, (vm_type, spec) in enumerate(zip(self.arg_types, self.arg_specs, strict=True))
        )
        self._view_results = tuple(t == "!vm.ref<!hal.buffer_view>" for t in self.result_types)

    def __repr__(self) -> str:
        return f"<polyhal.iree Function {self.declaration}>"

    def __call__(self, *args: Any, numpy: bool = False) -> Any:
        converters = self._converters
        if len(args) != len(converters):
            raise InvalidArgumentError(
                f"{self.name}() takes {len(converters)} arguments, got {len(args)}"
            )
        if len(args) == 2:  # the common arities, without zip
            values = [converters[0](args[0]), converters[1](args[1])]
        elif len(args) == 1:
            values = [converters[0](args[0])]
        else:
            values = [convert(arg) for convert, arg in zip(converters, args, strict=True)]
        try:
            if self._async:
                signal = self._fence_create(self.module.device, 0)
                result = self._call(*values, None, signal)
                status = self._fence_await(-1, 0, [signal])
                if status:
                    raise status_error(
                        status, f"{self.name}(): waiting for its signal fence failed"
                    )
            else:
                result = self._call(*values)
        except HalError:
            raise
        except (NameError, TypeError, AttributeError, LookupError, ValueError) as e:
            # Only a malformed module gets here (a register read before any write, a value
            # of the wrong kind in arithmetic): the imports check their own arguments.
            raise InvalidArgumentError(
                f"{self.name}(): the module's host program failed: {e!r}"
            ) from e
        n = len(self._view_results)
        if n == 1:
            if self._view_results[0] and not numpy:
                return result.buffer  # one tensor result, on the device: as _result
            return self._result(result, self._view_results[0], numpy)
        if n == 0:
            return None
        return tuple(
            self._result(r, v, numpy) for r, v in zip(result, self._view_results, strict=True)
        )

    @staticmethod
    def _result(value: Any, is_view: bool, numpy: bool) -> Any:
        if not is_view:
            return value
        return value.to_numpy() if numpy else value.buffer

    def _converter(self, index: int, vm_type: str, spec: TensorSpec) -> Callable[[Any], Any]:
        what = f"{self.name}() argument {index} ({spec.text})"
        if vm_type in ("i32", "i64"):
            bits = 32 if vm_type == "i32" else 64
            return _int_converter(what, bits)
        if vm_type in ("f32", "f64"):
            return _float_converter(what, vm_type)
        if vm_type == "!vm.ref<!hal.buffer_view>":
            return _view_converter(self.module.hal, what, spec)
        return lambda value: value


def _int_converter(what: str, bits: int) -> Callable[[Any], int]:
    lo, hi = -(1 << (bits - 1)), 1 << bits

    def convert(value: Any) -> int:
        if isinstance(value, np.ndarray) and value.ndim == 0 and value.dtype.kind in "iu":
            value = value.item()
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
            raise InvalidArgumentError(f"{what} must be an integer, got {value!r}")
        v = int(value)
        if not lo <= v < hi:
            raise InvalidArgumentError(f"{what}: {v} does not fit in i{bits}")
        # Unsigned values above the signed range are passed as their two's complement.
        return v - hi if v >= hi // 2 else v

    return convert


def _float_converter(what: str, vm_type: str) -> Callable[[Any], float]:
    dtype = np.float32 if vm_type == "f32" else np.float64

    def convert(value: Any) -> float:
        if isinstance(value, np.ndarray) and value.ndim == 0 and value.dtype.kind in "iuf":
            value = value.item()
        if not isinstance(value, (int, float, np.integer, np.floating)) or isinstance(value, bool):
            raise InvalidArgumentError(f"{what} must be a number, got {value!r}")
        return float(dtype(value))

    return convert


def _view_converter(hal: HalModule, what: str, spec: TensorSpec) -> Callable[[Any], Any]:
    static = spec.static
    dtype, shape = spec.dtype, spec.shape
    if static:
        element_type = element_type_of(dtype)
        nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize  # type: ignore[union-attr]

    # (weak reference to the Buffer last passed whole, its view): a program called again
    # with the same small argument gets the same view (views are immutable).  Only small
    # buffers, since the view keeps its buffer alive until the next call.
    last: tuple[Any, BufferView | None] = (lambda: None, None)

    def convert(value: Any) -> Any:
        nonlocal last
        if type(value) is Buffer or isinstance(value, Buffer):
            ref, view = last
            if ref() is value:
                return view
            if not static:
                raise InvalidArgumentError(
                    f"{what}: a bare Buffer needs a static declared shape and dtype; pass a "
                    "numpy array or a BufferView (HalModule.view_of_buffer)"
                )
            if value.size == nbytes:  # the fast path: the whole buffer, no subspan
                view = BufferView(value, element_type, 1, shape)  # type: ignore[arg-type]
                if nbytes <= _CACHED_VIEW_BYTES:
                    last = (weakref.ref(value), view)
                return view
            return hal.view_of_buffer(value, dtype, shape)  # type: ignore[arg-type]
        if isinstance(value, BufferView):
            return value
        if isinstance(value, (int, float, bool)) and dtype is not None:
            value = np.asarray(value, dtype=dtype)
        elif not isinstance(value, np.ndarray):
            try:
                value = np.asarray(value)
            except Exception:
                raise InvalidArgumentError(
                    f"{what} must be a numpy array, a polyhal Buffer or a BufferView, "
                    f"got {type(value).__name__}"
                ) from None
            if value.dtype == object:
                raise InvalidArgumentError(f"{what}: cannot make a tensor of {value!r}")
        return hal.view_of_array(value)

    return convert


class _Unsupported(Function):
    """An export :class:`Function` cannot call: calling it raises the reason."""

    def __init__(self, name: str, declaration: str, error: UnimplementedError):
        self.name = name
        self.declaration = declaration
        self._error = error

    def __call__(self, *args: Any, numpy: bool = False) -> Any:
        raise UnimplementedError(self._error.message)


def _check_values(what: str, lhs: BufferView, rhs: BufferView) -> tuple[Any, Any]:
    if lhs.shape != rhs.shape or lhs.element_type != rhs.element_type:
        raise FailedPreconditionError(
            f"{what} failed: shape {lhs.shape} element type {lhs.element_type:#x} against "
            f"shape {rhs.shape} element type {rhs.element_type:#x}"
        )
    return lhs.to_numpy(), rhs.to_numpy()


def _expect_eq(device: Any, lhs: BufferView, rhs: BufferView) -> None:
    a, b = _check_values("check.expect_eq", lhs, rhs)
    if a.tobytes() != b.tobytes():  # IREE compares the contents byte for byte
        raise FailedPreconditionError(f"check.expect_eq failed:\n{a}\n!=\n{b}")


def _expect_almost_eq(
    device: Any, lhs: BufferView, rhs: BufferView, atol: float = 1e-4, rtol: float = 0.0
) -> None:
    a, b = _check_values("check.expect_almost_eq", lhs, rhs)
    if a.dtype.kind != "f":
        raise UnimplementedError(f"check.expect_almost_eq of {a.dtype} elements")
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    close = (np.abs(a64 - b64) <= atol + rtol * np.abs(b64)) | (np.isnan(a64) & np.isnan(b64))
    if not close.all():
        raise FailedPreconditionError(f"check.expect_almost_eq failed:\n{a}\n!~\n{b}")


def _expect_true(value: int) -> None:
    if not value:
        raise FailedPreconditionError("check.expect_true failed")


def _expect_false(value: int) -> None:
    if value:
        raise FailedPreconditionError("check.expect_false failed")


#: IREE's ``check`` module (what iree-check-module provides to its e2e tests): a failed
#: expectation raises FailedPreconditionError.  Programs import it as optional, so a
#: program compiled without checks never calls it.
CHECK_IMPORTS: dict[str, Callable[..., None]] = {
    "check.expect_eq": _expect_eq,
    "check.expect_almost_eq": _expect_almost_eq,
    "check.expect_true": _expect_true,
    "check.expect_false": _expect_false,
}


class Module:
    """An IREE module loaded onto a device (see :func:`load_module`).

    Each exported function with an ABI declaration is an attribute (``mod.main``), an item
    (``mod["main"]``) and an entry of ``functions``.  The module's globals persist between
    calls.  :meth:`close` (or leaving a ``with`` block) waits for the device queue and
    releases the module's executables.
    """

    def __init__(self, program: VmProgram, device: Device):
        self.program = program
        self.device = device
        self.hal = HalModule(device)
        self.instance = program.instantiate({**CHECK_IMPORTS, **self.hal.imports})
        self.functions: dict[str, Function] = {}
        for name, export in program.exports.items():
            if export.declaration is None:
                continue
            call = self.instance.functions[export.function.name]
            try:
                self.functions[name] = Function(self, name, export.function, call)
            except UnimplementedError as e:
                # One function polyhal cannot call (the async ABI) leaves the others usable.
                self.functions[name] = _Unsupported(name, export.declaration, e)

    def __getattr__(self, name: str) -> Function:
        functions = self.__dict__.get("functions")
        if functions is not None and name in functions:
            return functions[name]  # type: ignore[no-any-return]
        raise AttributeError(
            f"the module has no function {name!r}"
            + (f"; it exports {sorted(functions)}" if functions is not None else "")
        )

    def __getitem__(self, name: str) -> Function:
        try:
            return self.functions[name]
        except KeyError:
            raise NotFoundError(
                f"the module has no function {name!r}; it exports {sorted(self.functions)}"
            ) from None

    def __dir__(self) -> Iterable[str]:
        return [*super().__dir__(), *self.functions]

    def __repr__(self) -> str:
        return (
            f"<polyhal.iree Module {self.program.name!r} {sorted(self.functions)} on {self.device}>"
        )

    def close(self) -> None:
        """Run the module's ``__deinit`` (if any), wait for the queue, drop executables."""
        try:
            self.instance.close()
        finally:
            self.hal.close()

    def __enter__(self) -> Module:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
