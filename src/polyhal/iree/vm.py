"""IREE's VM dialect translated into Python: the host program of a compiled module.

``iree-compile --output-format=vm-asm`` prints a module's host program as MLIR in IREE's
``vm`` dialect: functions of integer, float and reference values that call the ``hal``
module's imports (allocate, record, submit, wait) and branch on their results.  This module
reads that text with IREE's MLIR Python bindings and turns every ``vm.func`` into Python
source, compiled once: each SSA value is a local variable, a block with one predecessor is
inlined where it is branched to, and only blocks reached from several places (loop headers,
joins) become states of a ``while True`` loop.  A call is therefore straight-line Python,
with the imports bound as closure constants, not an interpreter walking the IR.

Semantics follow IREE's bytecode interpreter (``runtime/src/iree/vm/ops.h``): i32 and i64
are Python ints kept signed and wrapped to their width after every operation that can leave
it; f32 values are Python floats rounded to single precision after each operation; f64 are
Python floats.  ``!vm.buffer`` is :class:`VmBuffer`, ``!vm.list`` is :class:`VmList`, a
null reference is None.  ``vm.fail`` raises the :class:`~polyhal.errors.HalError` subclass
of IREE's status code (:func:`status_error`).

An operation this translator does not know raises :class:`~polyhal.errors.UnimplementedError`
naming it when the program is read, never at call time and never as a wrong answer.
Imports are bound when a program is instantiated (:meth:`VmProgram.instantiate`); an
import the provider lacks raises UnimplementedError naming it when it is first called
(``vm.import.resolved`` reports it as unresolved, as IREE does for optional imports).
"""

from __future__ import annotations

import ctypes
import math
import re
import struct
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import (
    FailedPreconditionError,
    HalError,
    InvalidArgumentError,
    NotFoundError,
    OutOfRangeError,
    PermissionDeniedError,
    UnavailableError,
    UnimplementedError,
    UnknownError,
    error_for,
)

# ---------------------------------------------------------------------------------------
# Runtime values
# ---------------------------------------------------------------------------------------


class VmBuffer:
    """A ``!vm.buffer``: host bytes the program reads and writes.

    ``data`` is a bytearray for buffers the program made (``vm.buffer.alloc``, ``clone``)
    and a read-only memoryview for rodata; ``alignment`` and ``mime_type`` are the rodata
    attributes (None when absent).
    """

    __slots__ = ("alignment", "data", "mime_type", "name")

    def __init__(
        self,
        data: bytearray | memoryview,
        *,
        alignment: int | None = None,
        mime_type: str | None = None,
        name: str | None = None,
    ):
        self.data = data
        self.alignment = alignment
        self.mime_type = mime_type
        self.name = name

    def __len__(self) -> int:
        return len(self.data)

    def __bytes__(self) -> bytes:
        return bytes(self.data)

    def text(self) -> str:
        """The whole buffer as UTF-8 (rodata strings such as ``"hal.executable.format"``)."""
        return bytes(self.data).decode("utf-8")

    @property
    def writable(self) -> bool:
        """Whether the program may store into the buffer (rodata may not)."""
        return isinstance(self.data, bytearray)

    def __repr__(self) -> str:
        what = f" {self.name!r}" if self.name else ""
        return f"<VmBuffer{what} {len(self.data)} bytes>"


class VmList:
    """A ``!vm.list<T>``: a growable list of i32/i64/f32/f64 values or references.

    ``items`` is the Python list; new slots hold 0 (value lists) or None (reference lists).
    """

    __slots__ = ("element_type", "items")

    def __init__(self, element_type: str = "?", items: Sequence[Any] = ()):
        self.element_type = element_type
        self.items: list[Any] = list(items)

    def __len__(self) -> int:
        return len(self.items)

    def __repr__(self) -> str:
        return f"<VmList<{self.element_type}> {self.items!r}>"


# IREE's status codes beyond the sixteen polyhal's StatusCode names (iree/base/status.h).
_IREE_EXTRA_STATUS: dict[int, type[HalError]] = {
    16: PermissionDeniedError,  # UNAUTHENTICATED
    17: UnknownError,  # DEFERRED: a status that is not an error to a synchronous caller
    18: UnavailableError,  # INCOMPATIBLE: no device or executable variant the module can use
}
_STATUS_CODE_MASK = 0x1F  # iree_status_code_t sits in the low five bits of a status


def status_error(code: int, message: str) -> HalError:
    """The HalError for IREE status ``code`` (the value ``vm.fail`` and ``hal.fence.await``
    carry): codes 1-15 are polyhal's StatusCode classes; 16 (UNAUTHENTICATED) is a
    PermissionDeniedError, 18 (INCOMPATIBLE) an UnavailableError, anything else (0
    included: a failure without a code) an UnknownError."""
    code &= _STATUS_CODE_MASK
    extra = _IREE_EXTRA_STATUS.get(code)
    if extra is not None:
        return extra(message)
    if 1 <= code <= 15:
        return error_for(code, message)
    return UnknownError(message)


# ---------------------------------------------------------------------------------------
# Helpers the generated code calls (the rarer operations; the common ones are inline)
# ---------------------------------------------------------------------------------------

_M32 = 0xFFFFFFFF
_M64 = 0xFFFFFFFFFFFFFFFF
_INF = math.inf
_NAN = math.nan


def _w32(x: int) -> int:
    return ((x + 0x80000000) & _M32) - 0x80000000


def _w64(x: int) -> int:
    return ((x + 0x8000000000000000) & _M64) - 0x8000000000000000


def _zero_division(what: str) -> HalError:
    # IREE's interpreter divides in C, where this is undefined behaviour; a typed error is
    # the only answer that is not wrong.
    return InvalidArgumentError(f"vm: integer {what} by zero")


def _sdiv(a: int, b: int) -> int:
    # C division truncates toward zero; Python's // floors.
    if b == 0:
        raise _zero_division("division")
    q = abs(a) // abs(b)
    return q if (a < 0) == (b < 0) else -q


def _srem(a: int, b: int) -> int:
    # C remainder takes the dividend's sign.
    if b == 0:
        raise _zero_division("remainder")
    r = abs(a) % abs(b)
    return -r if a < 0 else r


def _udiv(a: int, b: int) -> int:
    if b == 0:
        raise _zero_division("division")
    return a // b


def _urem(a: int, b: int) -> int:
    if b == 0:
        raise _zero_division("remainder")
    return a % b


def _f32(x: float) -> float:
    """``x`` rounded to single precision (overflow gives ±inf, as a C cast does)."""
    return ctypes.c_float(x).value


def _fdiv(a: float, b: float) -> float:
    try:
        return a / b
    except ZeroDivisionError:
        if a != a or a == 0.0:
            return _NAN
        return math.copysign(_INF, a) * math.copysign(1.0, b)


def _np_unary(fn: Any, dtype: Any) -> Callable[[float], float]:
    # The transcendental ops run in numpy at the op's own precision, with C's results for
    # domain errors and overflow (inf, nan) instead of Python's exceptions.
    def op(x: float) -> float:
        with np.errstate(all="ignore"):
            return float(fn(dtype(x)))

    return op


def _np_binary(fn: Any, dtype: Any) -> Callable[[float, float], float]:
    def op(x: float, y: float) -> float:
        with np.errstate(all="ignore"):
            return float(fn(dtype(x), dtype(y)))

    return op


def _round_away(x: float) -> float:
    # C round(): halves away from zero.
    if x != x or x in (_INF, -_INF):
        return x
    return math.copysign(math.floor(abs(x) + 0.5), x)


def _round_even(x: float) -> float:
    if x != x or x in (_INF, -_INF):
        return x
    return float(round(x))


def _f2i(x: float, bits: int) -> int:
    # IREE casts with lround/llround: halves away from zero; out of range (and NaN) is
    # undefined in C, where x86 gives the "integer indefinite" value: the minimum.
    if x != x or x in (_INF, -_INF):
        r = -(1 << (bits - 1))
    else:
        r = int(_round_away(x))
    return _w32(r) if bits == 32 else _w64(r)


def _bits_f32(x: int) -> float:
    return struct.unpack("<f", struct.pack("<I", x & _M32))[0]


def _f32_bits(x: float) -> int:
    return _w32(struct.unpack("<I", struct.pack("<f", x))[0])


def _bits_f64(x: int) -> float:
    return struct.unpack("<d", struct.pack("<Q", x & _M64))[0]


def _f64_bits(x: float) -> int:
    return _w64(struct.unpack("<Q", struct.pack("<d", x))[0])


def _ctlz(x: int, bits: int) -> int:
    return bits - (x & ((1 << bits) - 1)).bit_length()


def _null(what: str) -> HalError:
    return InvalidArgumentError(f"vm: {what} is null")


# vm.buffer element access: offsets and lengths of load/store/fill count elements of the
# op's type; copy, compare, clone and hash count bytes (IREE's interpreter does the same).
_BUF_FORMATS = {
    "i8.s": "<b",
    "i8.u": "<B",
    "i16.s": "<h",
    "i16.u": "<H",
    "i32": "<i",
    "i64": "<q",
    "f32": "<f",
    "f64": "<d",
}


def _buf_range(buf: VmBuffer | None, offset: int, length: int, what: str) -> VmBuffer:
    if buf is None:
        raise _null(f"{what} buffer")
    if offset < 0 or length < 0 or offset + length > len(buf.data):
        raise OutOfRangeError(
            f"vm: {what} out of range (offset={offset}, length={length}, "
            f"buffer length={len(buf.data)})"
        )
    return buf


def _buf_writable(buf: VmBuffer, what: str) -> bytearray:
    data = buf.data
    if not isinstance(data, bytearray):
        raise PermissionDeniedError(f"vm: {what}: the buffer is read-only")
    return data


def _make_load(fmt: str) -> Callable[[VmBuffer | None, int], Any]:
    unpack = struct.Struct(fmt).unpack_from
    size = struct.calcsize(fmt)

    def load(buf: VmBuffer | None, index: int) -> Any:
        _buf_range(buf, index * size, size, "vm.buffer.load")
        return unpack(buf.data, index * size)[0]  # type: ignore[union-attr]

    return load


def _make_store(
    fmt: str, wrap: Callable[[Any], Any]
) -> Callable[[VmBuffer | None, int, Any], None]:
    pack = struct.Struct(fmt).pack_into
    size = struct.calcsize(fmt)

    def store(buf: VmBuffer | None, index: int, value: Any) -> None:
        data = _buf_writable(_buf_range(buf, index * size, size, "vm.buffer.store"), "store")
        pack(data, index * size, wrap(value))

    return store


def _make_fill(
    fmt: str, wrap: Callable[[Any], Any]
) -> Callable[[VmBuffer | None, int, int, Any], None]:
    size = struct.calcsize(fmt)

    def fill(buf: VmBuffer | None, index: int, count: int, value: Any) -> None:
        data = _buf_writable(_buf_range(buf, index * size, count * size, "vm.buffer.fill"), "fill")
        data[index * size : (index + count) * size] = struct.pack(fmt, wrap(value)) * count

    return fill


def _u8(v: int) -> int:
    return v & 0xFF


def _u16(v: int) -> int:
    return v & 0xFFFF


def _u32(v: int) -> int:
    return v & _M32


def _u64(v: int) -> int:
    return v & _M64


def _same(v: Any) -> Any:
    return v


def _buffer_alloc(length: int, alignment: int) -> VmBuffer:
    if length < 0:
        raise InvalidArgumentError(f"vm.buffer.alloc: negative length {length}")
    return VmBuffer(bytearray(length), alignment=alignment or None)


def _buffer_clone(src: VmBuffer | None, offset: int, length: int, alignment: int) -> VmBuffer:
    _buf_range(src, offset, length, "vm.buffer.clone")
    return VmBuffer(bytearray(src.data[offset : offset + length]), alignment=alignment or None)  # type: ignore[union-attr]


def _buffer_length(buf: VmBuffer | None) -> int:
    if buf is None:
        raise _null("vm.buffer.length buffer")
    return len(buf.data)


def _buffer_copy(
    src: VmBuffer | None, src_off: int, dst: VmBuffer | None, dst_off: int, length: int
) -> None:
    _buf_range(src, src_off, length, "vm.buffer.copy source")
    data = _buf_writable(_buf_range(dst, dst_off, length, "vm.buffer.copy target"), "copy")
    data[dst_off : dst_off + length] = src.data[src_off : src_off + length]  # type: ignore[union-attr]


def _buffer_compare(
    a: VmBuffer | None, a_off: int, b: VmBuffer | None, b_off: int, length: int
) -> int:
    _buf_range(a, a_off, length, "vm.buffer.compare lhs")
    _buf_range(b, b_off, length, "vm.buffer.compare rhs")
    same = a.data[a_off : a_off + length] == b.data[b_off : b_off + length]  # type: ignore[union-attr]
    return 1 if same else 0


def _list_alloc(element_type: str, capacity: int) -> VmList:
    if capacity < 0:
        raise InvalidArgumentError(f"vm.list.alloc: negative capacity {capacity}")
    return VmList(element_type)


def _list(lst: VmList | None, what: str) -> list[Any]:
    if lst is None:
        raise _null(f"{what} list")
    return lst.items


def _list_reserve(lst: VmList | None, capacity: int) -> None:
    _list(lst, "vm.list.reserve")
    if capacity < 0:
        raise InvalidArgumentError(f"vm.list.reserve: negative capacity {capacity}")


def _list_resize(lst: VmList | None, size: int) -> None:
    items = _list(lst, "vm.list.resize")
    if size < 0:
        raise InvalidArgumentError(f"vm.list.resize: negative size {size}")
    if size < len(items):
        del items[size:]
    else:
        fill = None if lst.element_type.startswith(("!", "?")) else 0  # type: ignore[union-attr]
        items.extend([fill] * (size - len(items)))


def _list_size(lst: VmList | None) -> int:
    return len(_list(lst, "vm.list.size"))


def _list_get(lst: VmList | None, index: int) -> Any:
    items = _list(lst, "vm.list.get")
    if not 0 <= index < len(items):
        raise OutOfRangeError(f"vm.list.get: index {index} out of range (size {len(items)})")
    return items[index]


def _list_set(lst: VmList | None, index: int, value: Any) -> None:
    items = _list(lst, "vm.list.set")
    if not 0 <= index < len(items):
        raise OutOfRangeError(f"vm.list.set: index {index} out of range (size {len(items)})")
    items[index] = value


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise FailedPreconditionError(message)


def _missing_import(name: str) -> Callable[..., Any]:
    def call(*args: Any) -> Any:
        raise UnimplementedError(
            f"the module calls the IREE import {name!r}, which polyhal does not provide"
        )

    return call


_RUNTIME: dict[str, Any] = {
    "_sdiv": _sdiv,
    "_srem": _srem,
    "_udiv": _udiv,
    "_urem": _urem,
    "_f32": _f32,
    "_fdiv": _fdiv,
    "_f2i": _f2i,
    "_round_away": _round_away,
    "_round_even": _round_even,
    "_bits_f32": _bits_f32,
    "_f32_bits": _f32_bits,
    "_bits_f64": _bits_f64,
    "_f64_bits": _f64_bits,
    "_ctlz": _ctlz,
    "_INF": _INF,
    "_NAN": _NAN,
    "_buffer_alloc": _buffer_alloc,
    "_buffer_clone": _buffer_clone,
    "_buffer_length": _buffer_length,
    "_buffer_copy": _buffer_copy,
    "_buffer_compare": _buffer_compare,
    "_list_reserve": _list_reserve,
    "_list_resize": _list_resize,
    "_list_size": _list_size,
    "_list_get": _list_get,
    "_list_set": _list_set,
    "_check": _check,
    "_fail": status_error,
    "_list_alloc": _list_alloc,
}
for _suffix, _fmt in _BUF_FORMATS.items():
    _RUNTIME["_load_" + _suffix.replace(".", "_")] = _make_load(_fmt)
_STORE_WRAPS = {"i8": ("<B", _u8), "i16": ("<H", _u16), "i32": ("<I", _u32), "i64": ("<Q", _u64)}
for _suffix, (_fmt, _wrap) in _STORE_WRAPS.items():
    _RUNTIME["_store_" + _suffix] = _make_store(_fmt, _wrap)
    _RUNTIME["_fill_" + _suffix] = _make_fill(_fmt, _wrap)
for _suffix, _fmt in (("f32", "<f"), ("f64", "<d")):
    _RUNTIME["_store_" + _suffix] = _make_store(_fmt, _same)
    _RUNTIME["_fill_" + _suffix] = _make_fill(_fmt, _same)

_MATH_OPS = {
    "atan": np.arctan,
    "cos": np.cos,
    "sin": np.sin,
    "exp": np.exp,
    "exp2": np.exp2,
    "expm1": np.expm1,
    "log": np.log,
    "log10": np.log10,
    "log1p": np.log1p,
    "log2": np.log2,
    "sqrt": np.sqrt,
    "tanh": np.tanh,
    "ceil": np.ceil,
    "floor": np.floor,
}
for _name, _fn in _MATH_OPS.items():
    _RUNTIME[f"_m_{_name}_f32"] = _np_unary(_fn, np.float32)
    _RUNTIME[f"_m_{_name}_f64"] = _np_unary(_fn, np.float64)
for _name, _fn in (("atan2", np.arctan2), ("pow", np.power)):
    _RUNTIME[f"_m_{_name}_f32"] = _np_binary(_fn, np.float32)
    _RUNTIME[f"_m_{_name}_f64"] = _np_binary(_fn, np.float64)
_RUNTIME["_m_rsqrt_f32"] = _np_unary(lambda x: np.float32(1.0) / np.sqrt(x), np.float32)
_RUNTIME["_m_rsqrt_f64"] = _np_unary(lambda x: 1.0 / np.sqrt(x), np.float64)
_RUNTIME["_m_erf_f32"] = lambda x: _f32(math.erf(x))
_RUNTIME["_m_erf_f64"] = math.erf


def _ieee_rem(a: float, b: float) -> float:
    # C remainder(): the IEEE remainder (quotient rounded to nearest even), NaN for b == 0.
    try:
        return math.remainder(a, b)
    except ValueError:
        return _NAN


_RUNTIME["_m_rem_f32"] = lambda a, b: _f32(_ieee_rem(a, b))
_RUNTIME["_m_rem_f64"] = _ieee_rem


# ---------------------------------------------------------------------------------------
# Rodata: serializing the constant attributes as IREE's compiler does
# ---------------------------------------------------------------------------------------

_DTYPES = {
    "i8": np.int8,
    "i16": np.int16,
    "i32": np.int32,
    "i64": np.int64,
    "f16": np.float16,
    "f32": np.float32,
    "f64": np.float64,
}


def _shaped_count(shaped: Any) -> int:
    return int(np.prod(shaped.shape, dtype=np.int64)) if shaped.shape else 1


def _dense_bytes(attr: Any) -> bytes:
    element = str(attr.type.element_type)
    count = _shaped_count(attr.type)
    if element == "i1":
        # IREE stores i1 one byte per element (0 or 1).
        return np.asarray(np.array(attr), dtype=np.uint8).reshape(-1).tobytes()
    dtype = _DTYPES.get(element)
    if dtype is None:
        return _dense_text_bytes(str(attr), element, count)
    data = np.ascontiguousarray(np.array(attr), dtype=np.dtype(dtype).newbyteorder("<"))
    if data.size != count:
        raise UnimplementedError(f"rodata {str(attr)[:60]}: cannot read its {count} elements")
    return data.tobytes()


_HEX_DENSE = re.compile(r'^dense<"0x([0-9A-Fa-f]*)">')
_TOKENS = re.compile(r"0x[0-9A-Fa-f]+|[-+]?(?:inf|nan|\d+\.?\d*(?:[eE][-+]?\d+)?)|true|false")
_SUB_BYTE = re.compile(r"^[su]?i([2-7])$")
_COMPLEX = {"complex<f32>": np.float32, "complex<f64>": np.float64}


def _dense_text_bytes(text: str, element: str, count: int) -> bytes:
    """Dense elements the bindings cannot hand over as an array (sub-byte integers, bf16,
    complex numbers), serialized as IREE's compiler does, from their printed form."""
    sub = _SUB_BYTE.match(element)
    hexed = _HEX_DENSE.match(text)
    if sub:
        bits = int(sub.group(1))
        if hexed:  # MLIR's raw form: one byte per element
            values = list(bytes.fromhex(hexed.group(1)))
        else:
            values = [int(t, 0) for t in _tokens(text)]
        values = values * count if len(values) == 1 else values
        # IREE packs sub-byte integers LSB first into bytes, never across a byte boundary.
        per_byte = 8 // bits
        out = bytearray((len(values) + per_byte - 1) // per_byte)
        for i, v in enumerate(values):
            out[i // per_byte] |= (v & ((1 << bits) - 1)) << (bits * (i % per_byte))
        return bytes(out)
    if element == "bf16":
        if hexed:
            raw = bytes.fromhex(hexed.group(1))
            return raw * count if len(raw) == 2 else raw
        words = [_bf16_bits(t) for t in _tokens(text)]
        words = words * count if len(words) == 1 else words
        return np.asarray(words, dtype="<u2").tobytes()
    if element in _COMPLEX:
        dtype = np.dtype(_COMPLEX[element]).newbyteorder("<")
        if hexed:
            raw = bytes.fromhex(hexed.group(1))
            return raw * count if len(raw) == 2 * dtype.itemsize else raw
        parts = [float(t) for t in _tokens(text)]
        parts = parts * count if len(parts) == 2 else parts
        return np.asarray(parts, dtype=dtype).tobytes()
    raise UnimplementedError(f"rodata of element type {element} is not supported")


_DENSE_TYPE = re.compile(r"^dense<.*>\s*:\s*(?:tensor|vector)<((?:\d+x)*)(.+)>$", re.S)


def _unbound_dense_bytes(text: str) -> bytes:
    # The bindings raise TypeError for dense attributes of element types they have no
    # class for (complex numbers); their printed form still says everything.
    m = _DENSE_TYPE.match(text.strip())
    if m is None:
        raise UnimplementedError(f"rodata attribute {text[:80]!r} is not supported")
    dims = [int(d) for d in m.group(1).split("x") if d]
    return _dense_text_bytes(text.strip(), m.group(2), int(np.prod(dims, dtype=np.int64)))


def _tokens(text: str) -> list[str]:
    body = text[text.index("<") + 1 : text.rindex("> :")]
    tokens = _TOKENS.findall(body)
    return [{"true": "1", "false": "0"}.get(t, t) for t in tokens]


def _bf16_bits(token: str) -> int:
    if token.startswith("0x"):
        return int(token, 16)  # MLIR prints NaN and infinities as their bit pattern
    bits = int(np.float32(float(token)).view(np.uint32))
    return (bits + 0x7FFF + ((bits >> 16) & 1)) >> 16 & 0xFFFF  # round to nearest even


def _split_top_level(text: str) -> list[str]:
    """``text`` split at the commas outside brackets and strings."""
    parts, depth, start, quoted, i = [], 0, 0, False, 0
    while i < len(text):
        ch = text[i]
        if quoted:
            if ch == "\\":
                i += 1
            elif ch == '"':
                quoted = False
        elif ch == '"':
            quoted = True
        elif ch in "<[({":
            depth += 1
        elif ch in ">])}":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(text[start:i].strip())
            start = i + 1
        i += 1
    tail = text[start:].strip()
    if tail:
        parts.append(tail)
    return parts


_COMPOSITE = re.compile(r"^#util\.composite<(\d+)xi8,\s*\[(.*)\]>$", re.S)
_BYTE_PATTERN = re.compile(r"^#util\.byte_pattern<(-?\d+)>\s*:\s*(.+)$", re.S)


def declared_types(text: str) -> list[str]:
    """The types of an ABI declaration's argument or result list:
    ``"%input0: tensor<4xf32> {iree.abi.name = ...}, ..."`` -> ``["tensor<4xf32>", ...]``."""
    types = []
    for part in _split_top_level(text):
        _, _, rest = part.partition(":")
        types.append(rest.split("{", 1)[0].strip())
    return types


def serialize_attribute(attr: Any, context: Any) -> bytes:
    """The bytes IREE's compiler writes for a rodata value: a string, dense elements
    (little-endian; i1 one byte each), ``#util.composite`` (its parts in order) or
    ``#util.byte_pattern``.  The bindings give no accessor for IREE's own attributes, so
    those two are read from their printed form.  UnimplementedError for anything else."""
    from iree.compiler import ir

    if isinstance(attr, str):  # printed form of an attribute the bindings cannot return
        try:
            attr = ir.Attribute.parse(attr, context)
        except TypeError:
            return _unbound_dense_bytes(attr)
    if isinstance(attr, ir.StringAttr):
        return attr.value_bytes
    if isinstance(attr, ir.DenseElementsAttr):
        return _dense_bytes(attr)
    text = str(attr).strip()
    m = _COMPOSITE.match(text)
    if m:
        out = b"".join(serialize_attribute(part, context) for part in _split_top_level(m.group(2)))
        if len(out) != int(m.group(1)):
            raise UnimplementedError(
                f"rodata #util.composite of {m.group(1)} bytes serialized to {len(out)}"
            )
        return out
    m = _BYTE_PATTERN.match(text)
    if m:
        shaped = ir.Type.parse(m.group(2), context)
        width = int(shaped.element_type.width)
        if width != 1 and width % 8:
            raise UnimplementedError(f"rodata {text[:80]!r}: packed sub-byte elements")
        size = _shaped_count(shaped) * max(1, width // 8)
        # IREE's stream serializer (BytePatternAttr::serializeToStream) writes the pattern
        # byte at the start of every 256-byte chunk and zeros elsewhere; rodata goes
        # through it, so the same bytes here keep results equal to IREE's runtime.
        chunk = bytes([int(m.group(1)) % 256]) + bytes(255)
        return (chunk * (size // 256 + 1))[:size]
    raise UnimplementedError(f"rodata attribute {text[:80]!r} is not supported")


# ---------------------------------------------------------------------------------------
# Operations as Python expressions
# ---------------------------------------------------------------------------------------

Template = Callable[[list[str]], str]


def _wrap(bits: int) -> Callable[[str], str]:
    half, mask = 1 << (bits - 1), (1 << bits) - 1
    return lambda x: f"((({x}) + {half} & {mask}) - {half})"


def _pure_ops() -> dict[str, Template]:
    """The operations that compute one result from their operands, as expression
    templates over the operands' Python expressions (names or literals)."""
    ops: dict[str, Template] = {}
    for t, bits in (("i32", 32), ("i64", 64)):
        w, m, sh = _wrap(bits), (1 << bits) - 1, bits - 1
        ops.update(
            {
                f"add.{t}": lambda a, w=w: w(f"{a[0]} + {a[1]}"),
                f"sub.{t}": lambda a, w=w: w(f"{a[0]} - {a[1]}"),
                f"mul.{t}": lambda a, w=w: w(f"{a[0]} * {a[1]}"),
                f"div.{t}.s": lambda a, w=w: w(f"_sdiv({a[0]}, {a[1]})"),
                f"div.{t}.u": lambda a, w=w, m=m: w(f"_udiv({a[0]} & {m}, {a[1]} & {m})"),
                f"rem.{t}.s": lambda a: f"_srem({a[0]}, {a[1]})",
                f"rem.{t}.u": lambda a, w=w, m=m: w(f"_urem({a[0]} & {m}, {a[1]} & {m})"),
                f"fma.{t}": lambda a, w=w: w(f"{a[0]} * {a[1]} + {a[2]}"),
                f"abs.{t}": lambda a, w=w: w(f"abs({a[0]})"),
                f"min.{t}.s": lambda a: f"({a[1]} if {a[1]} < {a[0]} else {a[0]})",
                f"max.{t}.s": lambda a: f"({a[1]} if {a[0]} < {a[1]} else {a[0]})",
                f"min.{t}.u": lambda a, m=m: (
                    f"({a[1]} if ({a[1]} & {m}) < ({a[0]} & {m}) else {a[0]})"
                ),
                f"max.{t}.u": lambda a, m=m: (
                    f"({a[1]} if ({a[0]} & {m}) < ({a[1]} & {m}) else {a[0]})"
                ),
                f"not.{t}": lambda a: f"(~{a[0]})",
                f"and.{t}": lambda a: f"({a[0]} & {a[1]})",
                f"or.{t}": lambda a: f"({a[0]} | {a[1]})",
                f"xor.{t}": lambda a: f"({a[0]} ^ {a[1]})",
                f"shl.{t}": lambda a, w=w, sh=sh: w(f"{a[0]} << ({a[1]} & {sh})"),
                f"shr.{t}.s": lambda a, sh=sh: f"({a[0]} >> ({a[1]} & {sh}))",
                f"shr.{t}.u": lambda a, w=w, m=m, sh=sh: w(f"({a[0]} & {m}) >> ({a[1]} & {sh})"),
                f"ctlz.{t}": lambda a, bits=bits: f"_ctlz({a[0]}, {bits})",
                f"cmp.eq.{t}": lambda a: f"(1 if {a[0]} == {a[1]} else 0)",
                f"cmp.ne.{t}": lambda a: f"(1 if {a[0]} != {a[1]} else 0)",
                f"cmp.nz.{t}": lambda a: f"(1 if {a[0]} else 0)",
                f"select.{t}": lambda a: f"({a[1]} if {a[0]} else {a[2]})",
            }
        )
        for cmp, op in (("lt", "<"), ("lte", "<="), ("gt", ">"), ("gte", ">=")):
            ops[f"cmp.{cmp}.{t}.s"] = lambda a, op=op: f"(1 if {a[0]} {op} {a[1]} else 0)"
            ops[f"cmp.{cmp}.{t}.u"] = lambda a, op=op, m=m: (
                f"(1 if ({a[0]} & {m}) {op} ({a[1]} & {m}) else 0)"
            )
    w32 = _wrap(32)
    for src, dst in (("i32", "i8"), ("i32", "i16"), ("i64", "i8"), ("i64", "i16"), ("i16", "i8")):
        mask = 0xFF if dst == "i8" else 0xFFFF
        ops[f"trunc.{src}.{dst}"] = lambda a, mask=mask: f"({a[0]} & {mask})"
    ops["trunc.i64.i32"] = lambda a: w32(a[0])
    for src, dst in (("i8", "i32"), ("i8", "i64"), ("i16", "i32"), ("i16", "i64")):
        bits = 8 if src == "i8" else 16
        mask, sign = (1 << bits) - 1, 1 << (bits - 1)
        ops[f"ext.{src}.{dst}.s"] = lambda a, mask=mask, sign=sign: (
            f"((({a[0]} & {mask}) ^ {sign}) - {sign})"
        )
        ops[f"ext.{src}.{dst}.u"] = lambda a, mask=mask: f"({a[0]} & {mask})"
    ops["ext.i32.i64.s"] = lambda a: a[0]
    ops["ext.i32.i64.u"] = lambda a: f"({a[0]} & 4294967295)"

    for t in ("f32", "f64"):
        r = (lambda x: f"_f32({x})") if t == "f32" else (lambda x: f"({x})")
        ops.update(
            {
                f"add.{t}": lambda a, r=r: r(f"{a[0]} + {a[1]}"),
                f"sub.{t}": lambda a, r=r: r(f"{a[0]} - {a[1]}"),
                f"mul.{t}": lambda a, r=r: r(f"{a[0]} * {a[1]}"),
                f"div.{t}": lambda a, r=r: r(f"_fdiv({a[0]}, {a[1]})"),
                f"rem.{t}": lambda a, t=t: f"_m_rem_{t}({a[0]}, {a[1]})",
                f"fma.{t}": lambda a, r=r: r(f"{a[0]} * {a[1]} + {a[2]}"),
                f"abs.{t}": lambda a: f"abs({a[0]})",
                f"neg.{t}": lambda a: f"(-{a[0]})",
                f"round.{t}": lambda a: f"_round_away({a[0]})",
                f"round.{t}.even": lambda a: f"_round_even({a[0]})",
                f"min.{t}": lambda a: f"({a[1]} if {a[1]} < {a[0]} else {a[0]})",
                f"max.{t}": lambda a: f"({a[1]} if {a[0]} < {a[1]} else {a[0]})",
                f"select.{t}": lambda a: f"({a[1]} if {a[0]} else {a[2]})",
                f"cmp.eq.{t}.o": lambda a: f"(1 if {a[0]} == {a[1]} else 0)",
                f"cmp.eq.{t}.u": lambda a: f"(0 if {a[0]} < {a[1]} or {a[0]} > {a[1]} else 1)",
                f"cmp.ne.{t}.o": lambda a: f"(1 if {a[0]} != {a[1]} else 0)",
                f"cmp.ne.{t}.u": lambda a: f"(1 if {a[0]} != {a[1]} else 0)",
                f"cmp.lt.{t}.o": lambda a: f"(1 if {a[0]} < {a[1]} else 0)",
                f"cmp.lt.{t}.u": lambda a: f"(0 if {a[0]} >= {a[1]} else 1)",
                f"cmp.lte.{t}.o": lambda a: f"(1 if {a[0]} <= {a[1]} else 0)",
                f"cmp.lte.{t}.u": lambda a: f"(0 if {a[0]} > {a[1]} else 1)",
                f"cmp.gt.{t}.o": lambda a: f"(1 if {a[0]} > {a[1]} else 0)",
                f"cmp.gt.{t}.u": lambda a: f"(0 if {a[0]} <= {a[1]} else 1)",
                f"cmp.gte.{t}.o": lambda a: f"(1 if {a[0]} >= {a[1]} else 0)",
                f"cmp.gte.{t}.u": lambda a: f"(0 if {a[0]} < {a[1]} else 1)",
                f"cmp.nz.{t}.o": lambda a: f"(1 if {a[0]} < 0.0 or {a[0]} > 0.0 else 0)",
                f"cmp.nz.{t}.u": lambda a: f"(1 if {a[0]} != 0.0 else 0)",
                f"cmp.nan.{t}": lambda a: f"(1 if {a[0]} != {a[0]} else 0)",
            }
        )
        for name in (*_MATH_OPS, "atan2", "pow", "rsqrt", "erf"):
            ops[f"{name}.{t}"] = lambda a, name=name, t=t: f"_m_{name}_{t}({', '.join(a)})"
    ops.update(
        {
            "cast.si32.f32": lambda a: f"_f32(float({a[0]}))",
            "cast.ui32.f32": lambda a: f"_f32(float({a[0]} & 4294967295))",
            "cast.si64.f32": lambda a: f"_i64_f32({a[0]})",
            "cast.ui64.f32": lambda a: f"_i64_f32({a[0]} & 18446744073709551615)",
            "cast.f32.si32": lambda a: f"_f2i({a[0]}, 32)",
            "cast.f32.ui32": lambda a: w32(f"_f2i({a[0]}, 64)"),
            "cast.f32.si64": lambda a: f"_f2i({a[0]}, 64)",
            "cast.f32.ui64": lambda a: f"_f2i({a[0]}, 64)",
            "cast.si32.f64": lambda a: f"float({a[0]})",
            "cast.ui32.f64": lambda a: f"float({a[0]} & 4294967295)",
            "cast.si64.f64": lambda a: f"float({a[0]})",
            "cast.ui64.f64": lambda a: f"float({a[0]} & 18446744073709551615)",
            "cast.f64.si32": lambda a: f"_f2i(_f32({a[0]}), 32)",
            "cast.f64.ui32": lambda a: w32(f"_f2i(_f32({a[0]}), 64)"),
            "cast.f64.si64": lambda a: f"_f2i({a[0]}, 64)",
            "cast.f64.ui64": lambda a: f"_f2i({a[0]}, 64)",
            "bitcast.i32.f32": lambda a: f"_bits_f32({a[0]})",
            "bitcast.f32.i32": lambda a: f"_f32_bits({a[0]})",
            "bitcast.i64.f64": lambda a: f"_bits_f64({a[0]})",
            "bitcast.f64.i64": lambda a: f"_f64_bits({a[0]})",
            "ext.f32.f64": lambda a: a[0],
            "trunc.f64.f32": lambda a: f"_f32({a[0]})",
            "select.ref": lambda a: f"({a[1]} if {a[0]} else {a[2]})",
            "cmp.eq.ref": lambda a: f"(1 if {a[0]} is {a[1]} else 0)",
            "cmp.ne.ref": lambda a: f"(0 if {a[0]} is {a[1]} else 1)",
            "cmp.nz.ref": lambda a: f"(0 if {a[0]} is None else 1)",
            "assign.ref": lambda a: a[0],
            "cast.ref.any": lambda a: a[0],
            "cast.any.ref": lambda a: a[0],
            "buffer.alloc": lambda a: f"_buffer_alloc({a[0]}, {a[1]})",
            "buffer.clone": lambda a: f"_buffer_clone({', '.join(a)})",
            "buffer.length": lambda a: f"_buffer_length({a[0]})",
            "buffer.compare": lambda a: f"_buffer_compare({', '.join(a)})",
            "list.size": lambda a: f"_list_size({a[0]})",
        }
    )
    for suffix in _BUF_FORMATS:
        ops[f"buffer.load.{suffix}"] = lambda a, suffix=suffix: (
            f"_load_{suffix.replace('.', '_')}({a[0]}, {a[1]})"
        )
    for t in ("i32", "i64", "f32", "f64", "ref"):
        ops[f"list.get.{t}"] = lambda a: f"_list_get({a[0]}, {a[1]})"
    for t in ("i32", "i64", "f32", "f64", "ref"):
        ops[f"switch.{t}"] = lambda a: (
            f"(({', '.join(a[2:])},)[{a[0]}] if 0 <= {a[0]} < {len(a) - 2} else {a[1]})"
            if len(a) > 2
            else a[1]
        )
    return ops


def _i64_f32(x: int) -> float:
    # One rounding, as C's (float)int64 does: numpy converts the integer directly.
    if x >= 1 << 63:
        return float(np.uint64(x).astype(np.float32))
    return float(np.int64(x).astype(np.float32))


_RUNTIME["_i64_f32"] = _i64_f32
_PURE = _pure_ops()

# Operations that only have effects: statement templates.
_EFFECTS: dict[str, Template] = {
    "buffer.copy": lambda a: f"_buffer_copy({', '.join(a)})",
    "list.reserve": lambda a: f"_list_reserve({a[0]}, {a[1]})",
    "list.resize": lambda a: f"_list_resize({a[0]}, {a[1]})",
}
for _t in ("i8", "i16", "i32", "i64", "f32", "f64"):
    _EFFECTS[f"buffer.store.{_t}"] = lambda a, t=_t: f"_store_{t}({a[0]}, {a[1]}, {a[2]})"
    _EFFECTS[f"buffer.fill.{_t}"] = lambda a, t=_t: f"_fill_{t}({a[0]}, {a[1]}, {a[2]}, {a[3]})"
for _t in ("i32", "i64", "f32", "f64", "ref"):
    _EFFECTS[f"list.set.{_t}"] = lambda a: f"_list_set({a[0]}, {a[1]}, {a[2]})"
# Operations with no effect on the result: reference counting, tracing, debug printing.
_NO_OPS = frozenset({"discard.refs", "trace", "print"})


# ---------------------------------------------------------------------------------------
# The program: what a vm.module declares
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class VmFunction:
    """A ``vm.func``: its symbol, its argument and result types as IREE prints them
    (``"i32"``, ``"!vm.ref<!hal.buffer_view>"``…) and its ``iree.reflection`` entries."""

    name: str
    arg_types: tuple[str, ...]
    result_types: tuple[str, ...]
    reflection: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class VmExport:
    """A ``vm.export``: the name callers use and the function it runs."""

    name: str
    function: VmFunction

    @property
    def declaration(self) -> str | None:
        """IREE's ABI declaration (``"sync func @main(%input0: tensor<4xf32>) -> ..."``),
        or None when the export has none (internal entry points such as ``__init``)."""
        return self.function.reflection.get("iree.abi.declaration")


@dataclass(frozen=True)
class VmImport:
    """A ``vm.import``: a function another module (``hal``, ``check``) provides."""

    name: str
    arg_types: tuple[str, ...]
    result_types: tuple[str, ...]
    optional: bool


_MAX_INLINE_DEPTH = 40  # Python allows 100 indentation levels; blocks nest at most this deep
# -- one-shot command buffers recorded once (see _FunctionTranslator.emit_region) ----------
_CB = "hal.command_buffer."
#: Where the binding-table slot operand of each buffer operand is, by operand index:
#: copy_buffer(cb, source_slot, target_slot, source, ., target, ...) and
#: fill_buffer(cb, target, ., ., slot, ...).
_SLOT_OPERANDS = {_CB + "copy_buffer": {3: 1, 5: 2}, _CB + "fill_buffer": {1: 4}}
#: The recording imports a region may hold, with the slot operand of a buffer operand; in
#: dispatch's binding tuples (reserved, slot, buffer, offset, length) it comes just before.
_RECORDING: dict[str, Callable[[int], int] | None] = {
    **{name: slots.__getitem__ for name, slots in _SLOT_OPERANDS.items()},
    _CB + "dispatch": lambda i: i - 1,
    _CB + "execution_barrier": None,
}
_BUFFER_TYPE = "!vm.ref<!hal.buffer>"
#: The import a memoized region's submission calls: queue.execute with a binding table of
#: whole buffers (``HalModule``'s; not one of IREE's).
EXECUTE_TABLE = "polyhal.queue.execute_table"
#: Command buffers kept per region (one per distinct set of scalar operands): a region past
#: it records a reusable command buffer on each call, as correct, and no cheaper.
_MEMO_LIMIT = 16
_LITERAL = re.compile(r"^(?:\(?-?\d+\)?|None)$")
_MAX_INLINE_CHAIN = 150  # blocks inlined into one another (each is a few Python frames here)


class VmProgram:
    """A translated ``vm.module``: compiled Python for its functions, its rodata, and what
    it imports and exports.  Read one with :func:`parse_vm`; run it with
    :meth:`instantiate`."""

    def __init__(
        self,
        name: str,
        functions: dict[str, VmFunction],
        exports: dict[str, VmExport],
        imports: dict[str, VmImport],
        rodata: list[VmBuffer],
        global_inits: list[Any],
        source: str,
    ):
        self.name = name
        self.functions = functions
        self.exports = exports
        self.imports = imports
        self.rodata = rodata
        self._global_inits = global_inits
        self.source = source
        self._code = compile(source, f"<vm.module {name}>", "exec")

    def instantiate(self, imports: Mapping[str, Callable[..., Any]]) -> VmInstance:
        """A fresh instance: new globals, imports bound from ``imports`` (by full name,
        ``"hal.buffer_view.create"``), then the initializer (the ``__init`` export) run."""
        namespace: dict[str, Any] = dict(_RUNTIME)
        exec(self._code, namespace)
        bound = [imports.get(name) or _missing_import(name) for name in self.imports]
        resolved = [1 if name in imports else 0 for name in self.imports]
        functions = namespace["__factory"](bound, resolved, self.rodata, self._global_inits)
        return VmInstance(self, functions)


class VmInstance:
    """One instance of a :class:`VmProgram`: its globals and its callable functions.

    ``functions`` maps each ``vm.func`` symbol to a Python callable taking and returning
    VM values (see the module docstring); :meth:`export` looks one up by export name.
    """

    def __init__(self, program: VmProgram, functions: dict[str, Callable[..., Any]]):
        self.program = program
        self.functions = functions
        init = program.exports.get("__init")
        if init is not None:
            functions[init.function.name]()

    def export(self, name: str) -> Callable[..., Any]:
        """The callable of export ``name``; NotFoundError lists the exports when absent."""
        export = self.program.exports.get(name)
        if export is None:
            raise NotFoundError(
                f"the module has no function {name!r}; it exports {sorted(self.program.exports)}"
            )
        return self.functions[export.function.name]

    def close(self) -> None:
        """Run the ``__deinit`` export when the module has one."""
        deinit = self.program.exports.get("__deinit")
        if deinit is not None:
            self.functions[deinit.function.name]()


def parse_vm(text: str | bytes, *, record_once: bool = True) -> VmProgram:
    """Read ``iree-compile --output-format=vm-asm`` output and translate it.

    ``record_once``: one-shot command buffers a function records into and submits in one
    block are recorded once and replayed (see ``_FunctionTranslator.emit_region``); False
    records them on every call, as the program says (for comparison).

    InvalidArgumentError when the text is not a VM-dialect module; UnimplementedError
    naming the first operation (or rodata value) the translator does not support.
    """
    from iree.compiler import ir

    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidArgumentError("VM assembly must be UTF-8 text") from None
    context = ir.Context()
    try:
        module = ir.Module.parse(text, context)
    except Exception as e:  # the bindings raise their own MLIRError
        raise InvalidArgumentError(f"cannot parse the VM assembly: {e}") from None
    vm_modules = [op.operation for op in module.body.operations if op.operation.name == "vm.module"]
    if len(vm_modules) != 1:
        raise InvalidArgumentError(
            f"expected one vm.module in the VM assembly, found {len(vm_modules)} "
            "(compile with iree-compile --output-format=vm-asm)"
        )
    try:
        return _ModuleTranslator(context, vm_modules[0], record_once).translate()
    except HalError:
        raise
    except Exception as e:  # a malformed module the MLIR verifier let through
        raise InvalidArgumentError(f"cannot translate the VM module: {e!r}") from e


def _defined(value: Any) -> bool:
    """Whether an SSA value is not the null reference constant."""
    return getattr(value.owner, "name", None) != "vm.const.ref.zero"


def _printed_value(op: Any) -> str:
    """The value of a ``vm.rodata`` (or ``vm.rodata.inline``) as printed: what follows
    ``@symbol <properties>`` (or ``: !vm.buffer =``)."""
    text = str(op).strip()
    if op.name == "vm.rodata.inline":
        return text.split("!vm.buffer = ", 1)[1].strip()
    rest = text[text.index("@") :].split(None, 1)[1].lstrip()
    if rest.startswith("<"):
        depth = 0
        for i, ch in enumerate(rest):
            depth += (ch == "<") - (ch == ">")
            if depth == 0:
                return rest[i + 1 :].strip()
    return rest


def _attr(op: Any, name: str) -> Any:
    return op.attributes[name] if name in op.attributes else None


def _symbol(op: Any, name: str) -> str:
    return str(op.attributes[name].value)


def _types(types: Any) -> tuple[str, ...]:
    return tuple(str(t) for t in types)


class ModuleScope:
    """What a translated module's factory binds besides its globals, for both translators
    (this one and :mod:`polyhal.iree.vm_bytecode`'s): the imports (``I<k>``, with
    ``H<k>`` saying whether the provider has it), the rodata (``R<k>``) and the caches of
    the command buffer regions recorded once (``M<k>``)."""

    def __init__(self) -> None:
        self.imports: dict[str, VmImport] = {}
        self.import_ids: dict[str, str] = {}
        self.rodata: list[VmBuffer] = []
        self.memo_count = 0

    def declare_import(self, value: VmImport) -> str:
        """The identifier of an import, declared when first named."""
        if value.name not in self.imports:
            self.imports[value.name] = value
            self.import_ids[value.name] = f"I{len(self.import_ids)}"
        return self.import_ids[value.name]

    def extra_import(self, name: str) -> str:
        """The identifier of import ``name``, declared by polyhal when the module does not
        declare it (see :data:`EXECUTE_TABLE`)."""
        return self.declare_import(VmImport(name, (), (), False))

    def new_region(self) -> int:
        """The number of a new command buffer region recorded once (see region_lines)."""
        self.memo_count += 1
        return self.memo_count - 1

    def factory_head(self) -> list[str]:
        """The factory's first lines: its signature and every binding but the globals'
        (taken once the functions are translated: they may declare imports, rodata and
        regions)."""
        lines = ["def __factory(_imports, _resolved, _rodata, _inits):"]
        for i, name in enumerate(self.imports):
            lines.append(f"    {self.import_ids[name]} = _imports[{i}]  # {name!r}")
            lines.append(f"    H{i} = _resolved[{i}]")
        for i, buffer in enumerate(self.rodata):
            lines.append(f"    R{i} = _rodata[{i}]  # {buffer.name!r}")
        lines.extend(f"    M{i} = {{}}" for i in range(self.memo_count))
        return lines


def region_lines(
    n: int,
    cb: str,
    keys: Sequence[str],
    create: str,
    recording: Sequence[str],
    finalize: str,
    buffers: Sequence[str],
) -> list[str]:
    """The code of command buffer region ``n`` recorded once: look ``cb`` up in ``M<n>`` by
    the values of ``keys``; on a miss run ``create`` (a reusable command buffer with a slot
    per buffer), the ``recording`` lines and ``finalize``, and keep it (at most
    :data:`_MEMO_LIMIT` per region); then ``t<n>_``, the binding table of ``buffers``."""
    return [
        f"k{n}_ = ({', '.join(keys)},)" if keys else f"k{n}_ = ()",
        f"{cb} = M{n}.get(k{n}_)",
        f"if {cb} is None:",
        f"    {cb} = {create}",
        *(f"    {line}" for line in recording),
        f"    {finalize}({cb})",
        f"    if len(M{n}) < {_MEMO_LIMIT}:",
        f"        M{n}[k{n}_] = {cb}",
        f"t{n}_ = [{', '.join(buffers)}]",
    ]


class _ModuleTranslator(ModuleScope):
    """Reads a vm.module's symbols, then translates every function into one Python
    factory: ``__factory(imports, resolved, rodata, global_inits)`` returns the functions
    with the module's globals as the closure variables they share."""

    def __init__(self, context: Any, op: Any, record_once: bool = True):
        super().__init__()
        self.context = context
        self.op = op
        self.record_once = record_once
        self.name = _symbol(op, "sym_name")
        self.functions: dict[str, VmFunction] = {}
        self.function_ids: dict[str, str] = {}
        self.func_ops: list[Any] = []
        self.exports: dict[str, VmExport] = {}
        self.rodata_ids: dict[str, str] = {}
        self.globals: dict[str, str] = {}
        self.global_stored: set[str] = set()  # globals some function stores
        self.global_inits: list[Any] = []

    def translate(self) -> VmProgram:
        export_ops = []
        for child in self.op.regions[0].blocks[0].operations:
            op = child.operation
            kind = op.name
            if kind == "vm.import":
                self._import(op)
            elif kind == "vm.func":
                self._function(op)
            elif kind == "vm.export":
                export_ops.append(op)
            elif kind == "vm.rodata":
                self._rodata(op)
            elif kind.startswith("vm.global."):
                self._global(op)
            elif kind == "vm.module_terminator":
                pass
            else:
                raise UnimplementedError(f"the VM module operation {kind!r} is not supported")
        for op in export_ops:
            function = self.functions[_symbol(op, "function_ref")]
            name = (
                str(op.attributes["export_name"].value)
                if "export_name" in op.attributes
                else function.name
            )
            self.exports[name] = VmExport(name, function)
        lines = [
            f"    {ident} = _inits[{i}]  # {name!r}"
            for i, (name, ident) in enumerate(self.globals.items())
        ]
        for op in self.func_ops:
            for block in op.regions[0].blocks:
                for child in block.operations:
                    if child.operation.name.startswith("vm.global.store."):
                        self.global_stored.add(_symbol(child.operation, "global"))
        for op in self.func_ops:
            lines.extend(_FunctionTranslator(self, op).translate())
        lines[:0] = self.factory_head()
        table = ", ".join(f"{name!r}: {ident}" for name, ident in self.function_ids.items())
        lines.append(f"    return {{{table}}}")
        source = "\n".join(lines) + "\n"
        return VmProgram(
            self.name,
            self.functions,
            self.exports,
            self.imports,
            self.rodata,
            self.global_inits,
            source,
        )

    def _import(self, op: Any) -> None:
        name = _symbol(op, "sym_name")
        ftype = op.attributes["function_type"].value
        self.declare_import(
            VmImport(
                name, _types(ftype.inputs), _types(ftype.results), "is_optional" in op.attributes
            )
        )

    def _function(self, op: Any) -> None:
        name = _symbol(op, "sym_name")
        ftype = op.attributes["function_type"].value
        reflection: dict[str, str] = {}
        refl = _attr(op, "iree.reflection")
        if refl is not None:
            for i in range(len(refl)):
                entry = refl[i]
                value = entry.attr
                reflection[entry.name] = str(value.value) if hasattr(value, "value") else str(value)
        self.functions[name] = VmFunction(
            name, _types(ftype.inputs), _types(ftype.results), reflection
        )
        self.function_ids[name] = f"F{len(self.function_ids)}"
        self.func_ops.append(op)

    def _rodata(self, op: Any) -> None:
        name = _symbol(op, "sym_name")
        self.rodata_ids[name] = self.add_rodata(op, name)

    def add_rodata(self, op: Any, name: str | None) -> str:
        """Serialize ``op``'s rodata value; the identifier the generated code uses."""
        alignment = _attr(op, "alignment")
        mime = _attr(op, "mime_type")
        try:
            value: Any = op.attributes["value"]
        except TypeError:  # no Python class for the attribute: serialize its printed form
            value = _printed_value(op)
        data = serialize_attribute(value, self.context)
        self.rodata.append(
            VmBuffer(
                memoryview(data),
                alignment=int(alignment.value) if alignment is not None else None,
                mime_type=str(mime.value) if mime is not None else None,
                name=name,
            )
        )
        return f"R{len(self.rodata) - 1}"

    def _global(self, op: Any) -> None:
        kind = op.name
        name = _symbol(op, "sym_name")
        if kind == "vm.global.ref":
            value: Any = None
        elif kind in ("vm.global.i32", "vm.global.i64", "vm.global.f32", "vm.global.f64"):
            init = _attr(op, "initial_value")
            if init is None:
                value = 0.0 if kind.endswith(("f32", "f64")) else 0
            else:
                value = init.value
        else:
            raise UnimplementedError(f"the VM module operation {kind!r} is not supported")
        self.globals[name] = f"G{len(self.globals)}"
        self.global_inits.append(value)


class _FunctionTranslator:
    """One vm.func as the lines of a nested Python function (see the module docstring)."""

    def __init__(self, module: _ModuleTranslator, op: Any):
        self.module = module
        self.op = op
        self.name = _symbol(op, "sym_name")
        self.ident = module.function_ids[self.name]
        self.exprs: dict[Any, str] = {}
        self.count = 0
        self.states: dict[Any, int] = {}
        self.queue: list[Any] = []
        self.stored_globals: set[str] = set()
        self.preds: dict[Any, int] = {}
        self.chain = 0
        # A memoized region's command buffer -> the name of its binding table (emit_region).
        self.tables: dict[Any, str] = {}

    def fresh(self, value: Any) -> str:
        name = f"v{self.count}"
        self.count += 1
        self.exprs[value] = name
        return name

    def use(self, value: Any) -> str:
        return self.exprs[value]

    def translate(self) -> list[str]:
        blocks = list(self.op.regions[0].blocks)
        entry = blocks[0]
        params = [self.fresh(arg) for arg in entry.arguments]
        for block in blocks[1:]:
            for arg in block.arguments:
                self.fresh(arg)
        for block in blocks:
            ops = list(block.operations)
            for succ in ops[-1].operation.successors:
                self.preds[succ] = self.preds.get(succ, 0) + 1
        self.state_of(entry)
        for block in blocks[1:]:
            if self.preds.get(block, 0) > 1:
                self.state_of(block)
        chunks: list[tuple[int, list[str]]] = []
        while self.queue:
            block = self.queue.pop(0)
            lines: list[str] = []
            self.emit_block(block, lines, 0)
            chunks.append((self.states[block], lines))
        out = [f"    def {self.ident}({', '.join(params)}):  # vm.func {self.name!r}"]
        if self.stored_globals:
            out.append(f"        nonlocal {', '.join(sorted(self.stored_globals))}")
        if len(chunks) == 1:
            out.extend("        " + line for line in chunks[0][1])
        else:
            out.append("        s_ = 0")
            out.append("        while True:")
            for i, (state, lines) in enumerate(sorted(chunks)):
                out.append(f"            {'if' if i == 0 else 'elif'} s_ == {state}:")
                out.extend("                " + line for line in lines)
        return out

    def state_of(self, block: Any) -> int:
        state = self.states.get(block)
        if state is None:
            state = self.states[block] = len(self.states)
            self.queue.append(block)
        return state

    # -- blocks and branches ------------------------------------------------------------

    def emit_block(self, block: Any, out: list[str], depth: int) -> None:
        ind = "    " * depth
        ops = [child.operation for child in block.operations]
        i = 0
        while i < len(ops):
            op = ops[i]
            if len(op.successors) or op.name in ("vm.return", "vm.fail"):
                self.emit_terminator(op, out, depth)
                return
            if (
                op.name == "vm.call"
                and self.module.record_once
                and _symbol(op, "callee") == _CB + "create"
            ):
                end = self.emit_region(ops, i, out, ind)
                if end is not None:
                    i = end + 1
                    continue
            self.emit_op(op, out, ind)
            i += 1
        raise InvalidArgumentError(f"vm.func @{self.name}: a block without a terminator")

    # -- one-shot command buffers, recorded once --------------------------------------------

    def region_plan(self, ops: list[Any], start: int) -> tuple[list[Any], list[Any], int] | None:
        """(the ops to hoist, the recording ops, the index of the finalize) of the one-shot
        command buffer created by ``ops[start]``, when it can be recorded once: a constant
        ONE_SHOT mode with no binding capacity, only dispatches, copies, fills and barriers
        recorded into it between pure operations, no null buffer, and no use after its
        finalize but one ``hal.device.queue.execute`` later in the same block.  Else None."""
        create = ops[start]
        cb = create.results[0]
        modes = self.exprs.get(create.operands[1], "")
        capacity = self.exprs.get(create.operands[4], "")
        if not (_LITERAL.match(modes) and modes != "None" and int(modes.strip("()")) & 1):
            return None
        if capacity != "0":
            return None
        hoisted: list[Any] = []
        recording: list[Any] = []
        for j in range(start + 1, len(ops)):
            op = ops[j]
            operands = list(op.operands)
            uses_cb = [k for k, v in enumerate(operands) if v == cb]
            if op.name in ("vm.call", "vm.call.variadic"):
                callee = _symbol(op, "callee")
                if callee == _CB + "finalize" and uses_cb == [0]:
                    break
                if callee in _RECORDING and uses_cb == [0]:
                    for v in operands[1:]:
                        if str(v.type) == _BUFFER_TYPE and not _defined(v):
                            return None
                    recording.append(op)
                    continue
                if callee == "hal.executable.lookup.function" and not uses_cb:
                    hoisted.append(op)
                    continue
                return None
            kind = op.name[3:]
            if kind in _NO_OPS:
                continue
            if uses_cb or not (kind.startswith(("const.", "global.load.")) or kind in _PURE):
                return None
            hoisted.append(op)
        else:
            return None
        end = j
        executes = 0
        for use in cb.uses:
            owner = use.owner
            name = owner.name
            if name == "vm.discard.refs":
                continue
            if any(owner == op for op in ops[start : end + 1]):
                continue  # the region's own (checked above)
            if (
                name == "vm.call"
                and _symbol(owner, "callee") == "hal.device.queue.execute"
                and use.operand_number == 4
                and any(owner == op for op in ops[end + 1 :])
            ):
                executes += 1
                continue
            return None
        if executes != 1 or not recording:
            return None
        return hoisted, recording, end

    def emit_region(self, ops: list[Any], start: int, out: list[str], ind: str) -> int | None:
        """Emits the one-shot command buffer created by ``ops[start]`` as a reusable one,
        recorded on the first call and kept per set of its scalar operands, its buffers
        binding-table slots: each call looks it up and its queue.execute passes the
        buffers as the table (see :data:`EXECUTE_TABLE`).  The index of its finalize, or
        None (nothing emitted) when :meth:`region_plan` finds it cannot be."""
        plan = self.region_plan(ops, start)
        if plan is None:
            return None
        hoisted, recording, end = plan
        for op in hoisted:
            self.emit_op(op, out, ind)
        create = ops[start]
        cargs = [self.use(v) for v in create.operands]
        keys: list[str] = []
        slots: dict[Any, int] = {}
        buffers: list[str] = []
        name = self.fresh(create.results[0])
        lines: list[str] = []
        for op in recording:
            callee = _symbol(op, "callee")
            slot_of = _RECORDING[callee]
            operands = list(op.operands)
            args = [self.use(v) for v in operands]
            args[0] = name
            replaced: set[int] = set()
            for k, v in enumerate(operands):
                if k and str(v.type) == _BUFFER_TYPE:
                    assert slot_of is not None
                    if v not in slots:
                        slots[v] = len(slots)
                        buffers.append(args[k])
                    args[k] = "None"
                    args[slot_of(k)] = str(slots[v])
                    replaced.update((k, slot_of(k)))
            for k, arg in enumerate(args):
                if k and k not in replaced and not _LITERAL.match(arg) and arg not in keys:
                    keys.append(arg)
            lines.append(self.call_expr(op, args, variadic=op.name == "vm.call.variadic"))
        for arg in (cargs[0], cargs[2], cargs[3]):
            if not _LITERAL.match(arg) and arg not in keys:
                keys.append(arg)
        n = self.module.new_region()
        modes = int(cargs[1].strip("()")) & ~1  # reusable: ONE_SHOT cleared
        create_call = (
            f"{self.module.import_ids[_CB + 'create']}({cargs[0]}, {modes}, {cargs[2]}, "
            f"{cargs[3]}, {len(slots)})"
        )
        finalize = self.module.import_ids[_CB + "finalize"]
        code = region_lines(n, name, keys, create_call, lines, finalize, buffers)
        out.extend(ind + line for line in code)
        self.tables[create.results[0]] = f"t{n}_"
        return end

    def emit_branch(
        self, target: Any, operands: list[str] | None, out: list[str], depth: int
    ) -> None:
        ind = "    " * depth
        if operands is not None and len(target.arguments):
            names = [self.use(arg) for arg in target.arguments]
            pairs = [(n, e) for n, e in zip(names, operands, strict=True) if n != e]
            if pairs:
                lhs = ", ".join(n for n, _ in pairs)
                rhs = ", ".join(e for _, e in pairs)
                out.append(f"{ind}{lhs} = {rhs}")
        if (
            target in self.states
            or self.preds.get(target, 0) != 1
            or depth >= _MAX_INLINE_DEPTH
            or self.chain >= _MAX_INLINE_CHAIN
        ):
            out.append(f"{ind}s_ = {self.state_of(target)}")
            out.append(f"{ind}continue")
        else:
            self.chain += 1
            self.emit_block(target, out, depth)
            self.chain -= 1

    def _ends_quickly(self, target: Any) -> bool:
        # Whether a branch target is a jump or a short block that leaves (fail, return):
        # it goes inside the `if`, the other target continues at the same indentation.
        if target in self.states or self.preds.get(target, 0) != 1:
            return True
        last = list(target.operations)[-1].operation
        return last.name in ("vm.fail", "vm.return")

    def emit_terminator(self, op: Any, out: list[str], depth: int) -> None:
        ind = "    " * depth
        kind = op.name[3:]
        args = [self.use(v) for v in op.operands]
        if kind == "return":
            if not args:
                out.append(f"{ind}return")
            else:
                out.append(f"{ind}return {', '.join(args)}")
        elif kind == "fail":
            message = _attr(op, "message")
            text = str(message.value) if message is not None else ""
            out.append(f"{ind}raise _fail({args[0]}, {text!r})")
        elif kind in ("br", "yield", "break"):
            self.emit_branch(op.successors[0], args, out, depth)
        elif kind == "cond_break":
            self.emit_branch(op.successors[0], args[1:], out, depth)
        elif kind == "cond_br":
            sizes = list(op.attributes["operandSegmentSizes"])
            cond = args[0]
            true_args = args[1 : 1 + sizes[1]]
            false_args = args[1 + sizes[1] :]
            t, f = op.successors[0], op.successors[1]
            if t == f and true_args == false_args:
                self.emit_branch(t, true_args, out, depth)
            elif self._ends_quickly(t) or not self._ends_quickly(f):
                out.append(f"{ind}if {cond}:")
                self.emit_branch(t, true_args, out, depth + 1)
                self.emit_branch(f, false_args, out, depth)
            else:
                out.append(f"{ind}if not {cond}:")
                self.emit_branch(f, false_args, out, depth + 1)
                self.emit_branch(t, true_args, out, depth)
        elif kind == "br_table":
            sizes = list(op.attributes["operandSegmentSizes"])
            case_sizes = list(op.attributes["case_operand_segments"])
            index = args[0]
            default_args = args[1 : 1 + sizes[1]]
            pos = 1 + sizes[1]
            for case, size in enumerate(case_sizes):
                out.append(f"{ind}if {index} == {case}:")
                self.emit_branch(op.successors[1 + case], args[pos : pos + size], out, depth + 1)
                pos += size
            self.emit_branch(op.successors[0], default_args, out, depth)
        elif kind in ("call.yieldable", "call.variadic.yieldable"):
            dest = op.successors[0]
            call = self.call_expr(op, args, variadic=kind == "call.variadic.yieldable")
            results = [self.use(arg) for arg in dest.arguments]
            if results:
                out.append(f"{ind}{', '.join(results)} = {call}")
            else:
                out.append(f"{ind}{call}")
            self.emit_branch(dest, None, out, depth)
        else:
            raise UnimplementedError(
                f"vm.func @{self.name}: the VM operation {op.name!r} is not supported"
            )

    # -- operations ---------------------------------------------------------------------

    def emit_op(self, op: Any, out: list[str], ind: str) -> None:
        kind = op.name[3:]
        results = list(op.results)
        if kind.startswith("const."):
            self.exprs[results[0]] = self.const_expr(op, kind)
            return
        if kind in _NO_OPS:
            return
        args = [self.use(v) for v in op.operands]
        template = _PURE.get(kind)
        if template is not None:
            expr = template(args)
            if expr in args:  # an identity (ext.i32.i64.s, assign.ref): no copy needed
                self.exprs[results[0]] = expr
            else:
                out.append(f"{ind}{self.fresh(results[0])} = {expr}")
            return
        template = _EFFECTS.get(kind)
        if template is not None:
            out.append(f"{ind}{template(args)}")
            return
        if kind == "call" and len(args) == 6 and op.operands[4] in self.tables:
            # The queue.execute of a region recorded once (region_plan allows no other use).
            ident = self.module.extra_import(EXECUTE_TABLE)
            table = self.tables[op.operands[4]]
            out.append(f"{ind}{ident}({', '.join(args)}, {table})")
            return
        if kind in ("call", "call.variadic"):
            call = self.call_expr(op, args, variadic=kind == "call.variadic")
            names = [self.fresh(r) for r in results]
            out.append(f"{ind}{', '.join(names)} = {call}" if names else f"{ind}{call}")
        elif kind.startswith("global.load."):
            name = _symbol(op, "global")
            ident = self.global_ident(name)
            if name in self.module.global_stored:  # read its value now: a store may follow
                out.append(f"{ind}{self.fresh(results[0])} = {ident}")
            else:
                self.exprs[results[0]] = ident
        elif kind.startswith("global.store."):
            if kind.startswith("global.store.indirect"):
                self.unsupported(op)
            ident = self.global_ident(_symbol(op, "global"))
            self.stored_globals.add(ident)
            out.append(f"{ind}{ident} = {args[0]}")
        elif kind == "import.resolved":
            name = _symbol(op, "import")
            index = list(self.module.imports).index(name)
            self.exprs[results[0]] = f"H{index}"
        elif kind == "list.alloc":
            element = str(results[0].type)
            inner = element[len("!vm.list<") : -1] if element.startswith("!vm.list<") else "?"
            out.append(f"{ind}{self.fresh(results[0])} = _list_alloc({inner!r}, {args[0]})")
        elif kind == "cond_fail":
            message = _attr(op, "message")
            text = str(message.value) if message is not None else ""
            out.append(f"{ind}if {args[0]}:")
            out.append(f"{ind}    raise _fail({args[1]}, {text!r})")
        elif kind in ("check.eq", "check.ne", "check.nz"):
            message = _attr(op, "message")
            text = str(message.value) if message is not None else kind
            is_ref = str(op.operands[0].type).startswith("!vm.")
            if kind == "check.nz":
                cond = f"{args[0]} is not None" if is_ref else f"{args[0]} != 0"
            else:
                rel = (
                    ("is" if kind == "check.eq" else "is not")
                    if is_ref
                    else ("==" if kind == "check.eq" else "!=")
                )
                cond = f"{args[0]} {rel} {args[1]}"
            out.append(f"{ind}_check({cond}, {text!r})")
        elif kind == "optimization_barrier":
            for value, arg in zip(results, args, strict=True):
                self.exprs[value] = arg
        elif kind == "rodata.inline":
            self.exprs[results[0]] = self.module.add_rodata(op, None)
        else:
            self.unsupported(op)

    def unsupported(self, op: Any) -> None:
        raise UnimplementedError(
            f"vm.func @{self.name}: the VM operation {op.name!r} is not supported"
        )

    def global_ident(self, name: str) -> str:
        return self.module.globals[name]

    def const_expr(self, op: Any, kind: str) -> str:
        if kind in ("const.i32.zero", "const.i64.zero"):
            return "0"
        if kind in ("const.f32.zero", "const.f64.zero"):
            return "0.0"
        if kind == "const.ref.zero":
            return "None"
        if kind == "const.ref.rodata":
            return self.module.rodata_ids[_symbol(op, "rodata")]
        if kind in ("const.i32", "const.i64"):
            value = int(op.attributes["value"].value)
            return str(value) if value >= 0 else f"({value})"
        if kind in ("const.f32", "const.f64"):
            value = float(op.attributes["value"].value)
            if value != value:
                return "_NAN"
            if value in (math.inf, -math.inf):
                return "_INF" if value > 0 else "(-_INF)"
            return repr(value) if value >= 0 or math.copysign(1.0, value) > 0 else f"({value!r})"
        self.unsupported(op)
        return ""

    def call_expr(self, op: Any, args: list[str], *, variadic: bool) -> str:
        callee = _symbol(op, "callee")
        ident = self.module.import_ids.get(callee) or self.module.function_ids.get(callee)
        if ident is None:
            raise InvalidArgumentError(f"vm.func @{self.name} calls an unknown function @{callee}")
        if not variadic:
            return f"{ident}({', '.join(args)})"
        sizes = list(op.attributes["segment_sizes"])
        seg_types = list(op.attributes["segment_types"])
        parts: list[str] = []
        pos = 0
        for size, type_attr in zip(sizes, seg_types, strict=True):
            if size < 0:
                parts.append(args[pos])
                pos += 1
                continue
            t = type_attr.value
            arity = t.num_types if hasattr(t, "num_types") else 0
            if arity:
                tuples = []
                for _ in range(size):
                    tuples.append("(" + ", ".join(args[pos : pos + arity]) + ")")
                    pos += arity
                parts.append("[" + ", ".join(tuples) + "]")
            else:
                parts.append("[" + ", ".join(args[pos : pos + size]) + "]")
                pos += size
        return f"{ident}({', '.join(parts)})"
