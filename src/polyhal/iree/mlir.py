"""Reading the MLIR IREE dumps, through the MLIR Python bindings of ``iree-base-compiler``.

Four kinds of text reach this module: the benchmark IREE writes per dispatch
(``--iree-hal-dump-executable-benchmarks-to``) and the executable sources
(``--iree-hal-dump-executable-sources-to``), which both hold ``hal.executable.export`` ops
and their kernels; what ``iree-compile --compile-to=executable-targets`` prints for a
benchmark or a program, whose exports hold the workgroup size and local memory codegen chose;
and
the *host program* (``iree-compile --output-format=vm-asm``), IREE's ``vm`` dialect, whose
``hal.command_buffer.dispatch`` calls carry the workgroup counts and push constants each
dispatch is launched with (:func:`read_host_dispatches`).  Each text is parsed whole by
``iree.compiler.ir`` (so an SSA value is the value it names, in its own function) and read
op by op.

The bindings (``iree.compiler.ir``) come with the compiler in the ``iree`` extra; reading
MLIR without them raises UnavailableError.  They parse what the same IREE version writes:
a dump written by another version may not parse, which raises InvalidArgumentError saying so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ..errors import InvalidArgumentError, UnavailableError
from .compiler import compiler_version

#: numpy's name for each MLIR element type a binding can have.
NUMPY_DTYPES = {
    "f16": "float16", "f32": "float32", "f64": "float64",
    "i1": "bool", "i8": "int8", "i16": "int16", "i32": "int32", "i64": "int64",
    "si8": "int8", "si16": "int16", "si32": "int32", "si64": "int64",
    "ui8": "uint8", "ui16": "uint16", "ui32": "uint32", "ui64": "uint64",
    "index": "int64",
}  # fmt: skip

_EXPORT = "hal.executable.export"
_SUBSPAN = "hal.interface.binding.subspan"
_DISPATCH = "hal.command_buffer.dispatch"
_VM_VARIADIC_CALL = "vm.call.variadic"
_VM_DISPATCH = "@hal.command_buffer.dispatch"
_VM_DISPATCH_INDIRECT = "@hal.command_buffer.dispatch.indirect"
_VM_LOOKUP_FUNCTION = "@hal.executable.lookup.function"
# The host program's integer constants: the op and, for the ``.zero`` forms, the value.
_VM_CONSTANTS = {"vm.const.i32": None, "vm.const.i64": None, "vm.const.i32.zero": 0,
                 "vm.const.i64.zero": 0}  # fmt: skip

# The HAL dialect's attributes and IREE's dispatch tensor type have no Python accessors in
# the bindings (only their printed form), so the few fields read from them are read from
# that form: the pipeline layout's constant count and per-binding flags, and the tensor
# type inside ``!iree_tensor_ext.dispatch.tensor<access:tensor<...>>``, which is then
# parsed as an MLIR type.
_LAYOUT_CONSTANTS = re.compile(r"\bconstants\s*=\s*(\d+)")
_LAYOUT_BINDING = re.compile(r"#hal\.pipeline\.binding<([^>]*)>")
_DISPATCH_TENSOR = re.compile(r"^!iree_tensor_ext\.dispatch\.tensor<\w+:(.*)>$", re.S)


@dataclass(frozen=True)
class BindingType:
    """The type through which a kernel sees one binding."""

    #: Element type as MLIR spells it ("f32"), and as numpy does ("float32") when it has one.
    element_type: str
    dtype: str | None
    #: The static shape, or None where a dimension is dynamic.
    shape: tuple[int, ...] | None


@dataclass(frozen=True)
class ExportInfo:
    """What one ``hal.executable.export`` and its kernel say."""

    name: str
    #: Per binding, in order: whether the layout marks it read-only.
    read_only: tuple[bool, ...]
    constant_count: int
    #: Binding index → type, for the bindings the kernel's subspans type.
    binding_types: dict[int, BindingType]
    #: What the export's count region returns, when it returns constants (after
    #: translation; before it the count is left to the compiler).
    workgroup_count: tuple[int, int, int] | None = None
    #: The size and local memory codegen chose (after translation), when it says.
    workgroup_size: tuple[int, int, int] | None = None
    local_memory_size: int = 0

    @property
    def binding_count(self) -> int:
        return len(self.read_only)


@dataclass(frozen=True)
class DispatchSite:
    """The first ``hal.command_buffer.dispatch`` of a module, its operands read where they
    are constants."""

    #: The export it dispatches (the leaf of the function symbol it looks up).
    export: str | None
    workgroup_count: tuple[int, int, int] | None
    #: Push constants as 32-bit words; None where one is not a constant.
    constants: tuple[int, ...] | None
    #: Bytes bound per binding; None for one that is not a constant.
    binding_lengths: tuple[int | None, ...]


@dataclass(frozen=True)
class HostDispatch:
    """One ``hal.command_buffer.dispatch`` call of a host program, its operands read where
    they are constants."""

    #: The function it dispatches (the name ``hal.executable.lookup.function`` looks up),
    #: None where the name is not a constant.
    export: str | None
    #: None where a count is computed at run time (dynamic shapes, runtime values) or read
    #: from a buffer (an indirect dispatch).
    workgroup_count: tuple[int, int, int] | None
    #: Push constants as 32-bit words; None where one is not a constant.
    constants: tuple[int, ...] | None
    indirect: bool = False


def read_exports(text: str, *, what: str) -> list[ExportInfo]:
    """Every export in ``text``, in order (``what`` names the text in errors)."""
    ir = _ir()
    with _context(ir):
        module = _parse(ir, text, what)
        exports = []
        for op in _walk(module, _EXPORT):
            kernel = _kernel_of(op)
            exports.append(
                _export_info(ir, op, _binding_types(ir, kernel) if kernel is not None else {})
            )
        return exports


def read_dispatch_site(text: str, *, what: str) -> DispatchSite | None:
    """The first dispatch in ``text``, or None where it has none."""
    ir = _ir()
    # Importing the dialect's generated module registers its op classes, whose accessors
    # name the operands of the op's variadic groups (``opview`` below).
    from iree.compiler.dialects import hal  # noqa: F401

    with _context(ir):
        module = _parse(ir, text, what)
        dispatches = _walk(module, _DISPATCH)
        if not dispatches:
            return None
        op = dispatches[0].opview  # a hal.CommandBufferDispatchOp
        constants = [_constant(ir, v) for v in op.constants]
        return DispatchSite(
            export=_looked_up_export(ir, op.entry_point),
            workgroup_count=_three(
                tuple(_constant(ir, v) for v in (op.workgroup_x, op.workgroup_y, op.workgroup_z))
            ),
            constants=(
                None
                if any(c is None for c in constants)
                else tuple(c & 0xFFFFFFFF for c in constants if c is not None)
            ),
            binding_lengths=tuple(_constant(ir, v) for v in op.binding_lengths),
        )


def read_host_dispatches(text: str, *, what: str) -> list[HostDispatch]:
    """Every dispatch call in a host program (``iree-compile --output-format=vm-asm``), in
    program order."""
    ir = _ir()
    with _context(ir):
        module = _parse(ir, text, what)
        strings = {
            ir.StringAttr(op.attributes["sym_name"]).value: op.attributes["value"].value
            for op in _walk(module, "vm.rodata")
            if isinstance(op.attributes["value"], ir.StringAttr)
        }
        sites = []
        for op in _walk(module, _VM_VARIADIC_CALL):
            callee = str(op.attributes["callee"])
            if callee not in (_VM_DISPATCH, _VM_DISPATCH_INDIRECT):
                continue
            # Both calls take (command buffer, executable, function, three operands, flags,
            # constants..., bindings...); the three are the count (x, y, z) of a direct
            # dispatch, the buffer holding it (slot, buffer, offset) of an indirect one.
            operands = list(op.operands)
            indirect = callee == _VM_DISPATCH_INDIRECT
            count = None if indirect else _three(tuple(_vm_constant(ir, v) for v in operands[3:6]))
            values = [_vm_constant(ir, v) for v in operands[7 : 7 + _segment_size(op, 7)]]
            sites.append(
                HostDispatch(
                    export=_looked_up_name(ir, operands[2], strings),
                    workgroup_count=count,
                    constants=(
                        None
                        if any(c is None for c in values)
                        else tuple(c & 0xFFFFFFFF for c in values if c is not None)
                    ),
                    indirect=indirect,
                )
            )
        return sites


# --------------------------------------------------------------------------------------------
# Reading ops
# --------------------------------------------------------------------------------------------


def _vm_constant(ir: Any, value: Any) -> int | None:
    """The value of a ``vm.const.i32``/``i64`` (or its ``.zero`` form), else None."""
    owner = value.owner
    if isinstance(owner, ir.Block) or owner.name not in _VM_CONSTANTS:
        return None
    zero = _VM_CONSTANTS[owner.name]
    return zero if zero is not None else ir.IntegerAttr(owner.attributes["value"]).value


def _segment_size(call: Any, index: int) -> int:
    """Operands in the variadic segment ``index`` of a ``vm.call.variadic`` (its
    ``segment_sizes``: -1 for a fixed operand, the count for a variadic one)."""
    sizes = [int(v) for v in call.attributes["segment_sizes"]]
    return max(0, sizes[index]) if index < len(sizes) else 0


def _looked_up_name(ir: Any, function: Any, strings: dict[str, str]) -> str | None:
    """The function name a ``hal.executable.lookup.function`` call looks up, where the name
    is a rodata string."""
    call = function.owner
    if isinstance(call, ir.Block) or call.name != "vm.call":
        return None
    if str(call.attributes["callee"]) != _VM_LOOKUP_FUNCTION or len(call.operands) < 2:
        return None
    ref = call.operands[1].owner
    if isinstance(ref, ir.Block) or ref.name != "vm.const.ref.rodata":
        return None
    return strings.get(ir.FlatSymbolRefAttr(ref.attributes["rodata"]).value)


def _export_info(ir: Any, op: Any, binding_types: dict[int, BindingType]) -> ExportInfo:
    attrs = op.attributes
    layout = str(attrs["layout"])
    constants = _LAYOUT_CONSTANTS.search(layout)
    read_only = tuple("ReadOnly" in b for b in _LAYOUT_BINDING.findall(layout))
    size = None
    if "workgroup_size" in attrs:
        size = _three(tuple(ir.IntegerAttr(a).value for a in ir.ArrayAttr(attrs["workgroup_size"])))
    local_memory = 0
    if "workgroup_local_memory" in attrs:
        local_memory = ir.IntegerAttr(attrs["workgroup_local_memory"]).value
    return ExportInfo(
        name=ir.StringAttr(attrs["sym_name"]).value,
        read_only=read_only,
        constant_count=int(constants.group(1)) if constants else 0,
        binding_types=binding_types,
        workgroup_count=_count_region_result(ir, op),
        workgroup_size=size,
        local_memory_size=local_memory,
    )


def _count_region_result(ir: Any, export: Any) -> tuple[int, int, int] | None:
    """The constants the export's workgroup count region returns, if that is what it does."""
    region = export.regions[0]  # the workgroup count (the second is the condition)
    for block in region.blocks:
        ops = list(block.operations)
        if ops and ops[-1].name == "hal.return":
            return _three(tuple(_constant(ir, v) for v in ops[-1].operands))
    return None


def _kernel_of(export: Any) -> Any:
    """The ``func.func`` of an export: the function of its name in the variant's module."""
    variant = export.parent
    if variant is None:
        return None
    name = export.attributes["sym_name"]
    return next((f for f in _walk(variant, "func.func") if f.attributes["sym_name"] == name), None)


def _binding_types(ir: Any, kernel: Any) -> dict[int, BindingType]:
    out: dict[int, BindingType] = {}
    for op in _walk(kernel, _SUBSPAN):
        index = ir.IntegerAttr(op.attributes["binding"]).value
        if index not in out:
            typed = _binding_type(ir, op.results[0].type)
            if typed is not None:
                out[index] = typed
    return out


def _binding_type(ir: Any, t: Any) -> BindingType | None:
    m = _DISPATCH_TENSOR.match(str(t))
    if m:
        t = ir.Type.parse(m.group(1))
    if not isinstance(t, ir.ShapedType) or not t.has_rank:
        return None
    element = str(t.element_type)
    shape = tuple(t.shape) if t.has_static_shape else None
    return BindingType(element, NUMPY_DTYPES.get(element), shape)


def _looked_up_export(ir: Any, entry_point: Any) -> str | None:
    """The export a dispatch's entry point names: the ``@executable::@variant::@export``
    of the ``hal.executable.lookup.function`` that gives it (its ``entry_point``)."""
    owner = entry_point.owner
    if isinstance(owner, ir.Block) or "entry_point" not in owner.attributes:
        return None
    symbols = ir.SymbolRefAttr(owner.attributes["entry_point"]).value
    return str(symbols[-1]) if symbols else None


def _constant(ir: Any, value: Any) -> int | None:
    """The value of an integer ``arith.constant``, else None."""
    owner = value.owner
    if isinstance(owner, ir.Block) or owner.name != "arith.constant":
        return None
    attr = owner.attributes["value"]
    return ir.IntegerAttr(attr).value if isinstance(attr, ir.IntegerAttr) else None


def _three(values: tuple[int | None, ...]) -> tuple[int, int, int] | None:
    x, y, z = values if len(values) == 3 else (None, None, None)
    return None if x is None or y is None or z is None else (x, y, z)


def _walk(root: Any, name: str) -> list[Any]:
    """Every op called ``name`` under ``root`` (an op or module), in pre-order."""
    ir = _ir()
    found: list[Any] = []

    def visit(op: Any) -> Any:
        if op.name == name:
            found.append(op)
        return ir.WalkResult.ADVANCE

    getattr(root, "operation", root).walk(visit, ir.WalkOrder.PRE_ORDER)
    return found


# --------------------------------------------------------------------------------------------
# The bindings
# --------------------------------------------------------------------------------------------


def available() -> bool:
    """Whether the MLIR Python bindings this module reads with are installed."""
    try:
        _ir()
    except UnavailableError:
        return False
    return True


def _ir() -> Any:
    """``iree.compiler.ir``; UnavailableError where iree-base-compiler is not installed."""
    try:
        from iree.compiler import ir
    except ImportError:
        raise UnavailableError(
            "reading IREE's MLIR needs its Python bindings: pip install iree-base-compiler "
            "(or polyhal[iree])"
        ) from None
    return ir


def _context(ir: Any) -> Any:
    # One context per text read: an MLIR context is not to be shared between the threads
    # that resolve several benchmarks at once.  Creating one registers IREE's dialects.
    return ir.Context()


def _parse(ir: Any, text: str, what: str) -> Any:
    try:
        return ir.Module.parse(text)
    except ir.MLIRError as e:
        raise InvalidArgumentError(
            f"cannot read {what} as MLIR (a dump of another IREE version than the installed "
            f"iree-base-compiler {compiler_version()}?): {e}"
        ) from None
