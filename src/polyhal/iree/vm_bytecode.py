"""IREE VM bytecode (a ``.vmfb``) translated into Python, as :mod:`polyhal.iree.vm` does
for VM assembly.

polyhal does not decode IREE's bytecode itself: IREE's own ``iree-dump-module`` (in the
``iree-base-runtime`` package, part of ``polyhal[iree]``) prints a module's metadata and the
disassembly of every function, and this module reads that text.  The disassembly is the
register form the bytecode holds: ``%i5`` is an i32 (or f32) register, ``%i22:23`` the i64
held in a register pair, ``%r3`` (``%R3`` at its last use) a reference register; branches
move registers into the target block's (``^bb1(%r1->%r2, %i6->%i10)``).  Each register is
a local variable of the generated function (an i64 pair is one variable named after its
first register), each block a state of a ``while True`` loop, and operations are emitted
from the same expression templates as the VM-assembly translator, so both give the same
semantics (IREE's bytecode interpreter's).  Globals live in the module state's
``.rwdata[offset]`` bytes and ``.refs[index]`` slots: each becomes a closure variable.

One-shot command buffers recorded and submitted in one block are recorded once and
replayed, as :mod:`polyhal.iree.vm` does (``_FunctionTranslator.region``).

Not supported (UnimplementedError naming it, when the module is loaded): an operation
the templates do not cover, such as ``vm.check.*`` (the compiler lowers IREE's ``check``
dialect to imports instead).
"""

from __future__ import annotations

import importlib.util
import math
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from ..errors import HalError, InvalidArgumentError, UnimplementedError
from .vm import (
    _CB,
    _EFFECTS,
    _NO_OPS,
    _PURE,
    _RECORDING,
    _SLOT_OPERANDS,
    EXECUTE_TABLE,
    ModuleScope,
    VmBuffer,
    VmExport,
    VmFunction,
    VmImport,
    VmProgram,
    declared_types,
    region_lines,
)

#: The seconds iree-dump-module may take on one module.
DUMP_TIMEOUT = 120.0


def dump_tool() -> str:
    """The path of IREE's ``iree-dump-module``; UnimplementedError when iree-base-runtime
    (``pip install 'polyhal[iree]'``) is not installed."""
    spec = importlib.util.find_spec("iree._runtime_libs")
    if spec is not None and spec.submodule_search_locations:
        for folder in spec.submodule_search_locations:
            tool = Path(folder) / "iree-dump-module"
            if tool.is_file() and os.access(tool, os.X_OK):
                return str(tool)
    found = shutil.which("iree-dump-module")
    if found:
        return found
    raise UnimplementedError(
        "loading a .vmfb needs IREE's iree-dump-module (pip install 'polyhal[iree]', which "
        "brings iree-base-runtime); or load VM assembly (polyhal.iree.compile_module)"
    )


def parse_vmfb(data: bytes) -> VmProgram:
    """A ``.vmfb``'s host program, translated (see the module docstring).

    InvalidArgumentError when IREE's tool cannot read it; UnimplementedError for what the
    translator does not support."""
    tool = dump_tool()
    with tempfile.TemporaryDirectory(prefix="polyhal-vmfb-") as tmp:
        path = Path(tmp) / "module.vmfb"
        path.write_bytes(data)
        texts = []
        for what in ("metadata", "disassembly"):
            try:
                run = subprocess.run(
                    [tool, f"--output={what}", str(path)],
                    capture_output=True,
                    text=True,
                    timeout=DUMP_TIMEOUT,
                )
            except subprocess.TimeoutExpired:
                raise InvalidArgumentError(
                    f"iree-dump-module took more than {DUMP_TIMEOUT:g} s on the module"
                ) from None
            if run.returncode:
                tail = (run.stderr.strip().splitlines() or ["?"])[-1]
                raise InvalidArgumentError(f"iree-dump-module cannot read the module: {tail}")
            texts.append(run.stdout)
    return translate_disassembly(*texts)


def translate_disassembly(metadata: str, disassembly: str) -> VmProgram:
    """The program of ``iree-dump-module``'s ``--output=metadata`` and
    ``--output=disassembly`` texts of one module (what :func:`parse_vmfb` runs)."""
    try:
        return _Translator(metadata, disassembly).translate()
    except HalError:
        raise
    except Exception as e:  # text the reader does not expect: a newer tool, or damage
        raise InvalidArgumentError(f"cannot translate the module's disassembly: {e!r}") from e


_REG = re.compile(r"%([iIrR])(\d+)(?::\d+)?")
_FUNC = re.compile(r"^vm\.func @(\S+)\((.*)\) -> \((.*)\) \{$")
_EXPORT = re.compile(r'^vm\.export @(\S+?)(?: as\("(.*)"\))?$')
_IMPORT = re.compile(r'^vm\.import @(\S+) cconv "(\d?)([^"_]*)_([^"]*)"(.*)$')
_OP = re.compile(r"^(?:(?P<res>%[^=]+?) = )?vm\.(?P<kind>[\w.]+)\s*(?P<rest>.*)$")
_GLOBAL = re.compile(r"\.(rwdata|refs)\[(\d+)\]")
_MOVE = re.compile(r"(%[iIrR]\d+)->(%[iIrR]\d+)")
_SUCCESSOR = re.compile(r"\^bb(\d+)\(([^)]*)\)")
_CREATE = "vm.call @hal.command_buffer.create("
_CCONV_TYPES = {"i": "i32", "I": "i64", "f": "f32", "F": "f64", "r": "!vm.ref<?>", "v": ""}


def _reg(token: str) -> str:
    """The Python variable of a register operand (``%i22:23`` -> ``i22``, ``%R3`` -> ``r3``)."""
    m = _REG.fullmatch(token.strip())
    if m is None:
        raise InvalidArgumentError(f"expected a register, got {token.strip()!r}")
    return m.group(1).lower() + m.group(2)


def _cconv(spec: str) -> list[str | tuple[str, ...]]:
    """The argument kinds of a calling convention: a type letter per argument, a tuple of
    letters for a variadic span (``C...D``)."""
    out: list[str | tuple[str, ...]] = []
    i = 0
    while i < len(spec):
        if spec[i] == "C":
            end = spec.index("D", i)
            out.append(tuple(spec[i + 1 : end]))
            i = end + 1
        else:
            out.append(spec[i])
            i += 1
    return out


def _render(part: str | list[tuple[str, ...]]) -> str:
    """An argument as Python: a variadic segment a list, of tuples where its elements have
    several values."""
    if isinstance(part, str):
        return part
    return "[" + ", ".join(f"({', '.join(t)},)" if len(t) > 1 else t[0] for t in part) + "]"


def _operands(kind: str, rest: str) -> list[str]:
    """The operand tokens of a plain operation: ``%c ? %a : %b`` for a select, without the
    ``: type`` or ``-> type`` the disassembler may print after them."""
    if kind.startswith("select."):
        return _split(rest.split(" -> ")[0].replace(" ? ", ", ").replace(" : ", ", "))
    return _split(rest.split(" : ")[0])


def _split(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


class _Translator(ModuleScope):
    def __init__(self, metadata: str, disassembly: str):
        super().__init__()
        self.metadata = metadata
        self.lines = disassembly.splitlines()
        self.cconvs: dict[str, list[str | tuple[str, ...]]] = {}
        self.functions: dict[str, VmFunction] = {}
        self.function_ids: dict[str, str] = {}
        self.exports: dict[str, str] = {}  # export name -> function name
        self.globals: dict[str, str] = {}  # ".refs[0]" -> identifier
        self.reflection = self._reflection()

    def _reflection(self) -> dict[str, dict[str, str]]:
        """Each exported function's reflection entries, from the metadata listing."""
        out: dict[str, dict[str, str]] = {}
        current: dict[str, str] | None = None
        section = False
        for line in self.metadata.splitlines():
            if line.startswith("Exported Functions:"):
                section = True
                continue
            if not section:
                continue
            m = re.match(r"^\s+\[\s*\d+\]\s+([^(]+)\(", line)
            if m:
                current = out.setdefault(m.group(1).strip(), {})
                continue
            m = re.match(r"^\s{6,}([\w.]+): (.*)$", line)
            if m and current is not None:
                current[m.group(1)] = m.group(2)
                continue
            if line.strip() and not line.startswith(" "):
                break
        return out

    def translate(self) -> VmProgram:
        name = "module"
        bodies: list[tuple[str, list[str], str, str]] = []
        pending_export: tuple[str, str] | None = None
        printed_names: dict[str, list[tuple[bool, int]]] = {}
        i = 0
        while i < len(self.lines):
            line = self.lines[i].strip()
            i += 1
            if line.startswith("vm.module @"):
                name = line.split()[1][1:]
            elif line.startswith("vm.import @"):
                self._import(line)
            elif line.startswith("vm.rodata["):
                index, _, hexdata = line[len("vm.rodata[") :].partition("] = ")
                if int(index) != len(self.rodata):
                    raise InvalidArgumentError(f"rodata {index} out of order")
                self.rodata.append(VmBuffer(memoryview(bytes.fromhex(hexdata.strip()))))
            elif line.startswith("vm.export @"):
                m = _EXPORT.match(line)
                if m is None:
                    raise InvalidArgumentError(f"cannot read {line!r}")
                pending_export = (m.group(1), m.group(2) or m.group(1))
            elif line.startswith("vm.func @"):
                m = _FUNC.match(line)
                if m is None:
                    raise InvalidArgumentError(f"cannot read {line!r}")
                printed, params, results = m.groups()
                # The disassembler's name of an internal function is not reliable (it may
                # repeat an export's): a function is its ordinal, or the name it is
                # exported as.
                ordinal = len(bodies)
                exported = pending_export is not None and pending_export[0] == printed
                fname = pending_export[1] if exported and pending_export else f"fn{ordinal}"
                body = []
                while i < len(self.lines) and self.lines[i].strip() != "}":
                    body.append(self.lines[i].strip())
                    i += 1
                i += 1
                bodies.append((fname, body, params, results))
                self.function_ids[fname] = f"F{ordinal}"
                self.function_ids[f"{name}:{ordinal}"] = f"F{ordinal}"  # how calls name it
                printed_names.setdefault(printed, []).append((exported, ordinal))
                if exported:
                    self.exports[fname] = fname
                pending_export = None
        # A call prints its callee as "@module.<the name the disassembler prints for it>"
        # (or "@module:<ordinal>"); two functions may print alike (an internal function
        # named after an export): the one not exported is the callee then.
        for printed, candidates in printed_names.items():
            internal = [k for exported, k in candidates if not exported]
            chosen = (
                candidates[0][1]
                if len(candidates) == 1
                else internal[0]
                if len(internal) == 1
                else None
            )
            if chosen is not None:
                self.function_ids[f"{name}.{printed}"] = f"F{chosen}"
        for fname, _, params, results in bodies:
            self.functions[fname] = self._function(fname, params, results)
        code: list[str] = []
        for fname, body, params, _ in bodies:
            code.extend(_FunctionTranslator(self, fname, body, params).translate())
        lines = self.factory_head()
        inits: list[Any] = []
        for k, ident in enumerate(self.globals.values()):
            lines.append(f"    {ident} = _inits[{k}]")
            inits.append(None if ident.startswith("GR") else 0)
        lines.extend(code)
        table = ", ".join(f"{n!r}: F{k}" for k, n in enumerate(self.functions))
        lines.append(f"    return {{{table}}}")
        exports = {
            export: VmExport(export, self.functions[fname])
            for export, fname in self.exports.items()
        }
        return VmProgram(
            name,
            self.functions,
            exports,
            self.imports,
            self.rodata,
            inits,
            "\n".join(lines) + "\n",
        )

    def _import(self, line: str) -> None:
        m = _IMPORT.match(line)
        if m is None:
            raise InvalidArgumentError(f"cannot read {line!r}")
        iname, _, args, results, rest = m.groups()
        kinds = _cconv(args)
        self.cconvs[iname] = kinds
        arg_types = tuple(
            _CCONV_TYPES[k] if isinstance(k, str) else "tuple..." for k in kinds if k != "v"
        )
        result_types = tuple(_CCONV_TYPES[k] for k in results if k != "v")
        self.declare_import(VmImport(iname, arg_types, result_types, "optional" in rest))

    def _function(self, fname: str, params: str, results: str) -> VmFunction:
        """The function's types: the disassembly prints every reference as ``!vm.ref<?>``;
        an export's ABI declaration says which are buffer views (tensors) and fences."""
        arg_types = [p.split(": ", 1)[1] for p in _split(params)]
        result_types = [r for r in _split(results)]
        export = next((e for e, f in self.exports.items() if f == fname), None)
        reflection = self.reflection.get(export or "", {})
        declaration = reflection.get("iree.abi.declaration", "")
        m = re.match(r"^\s*(sync|async)?\s*func\s+@[^(]*\((.*)\)\s*->\s*\((.*)\)\s*$", declaration)
        if m:
            for types, declared in ((arg_types, m.group(2)), (result_types, m.group(3))):
                spec = declared_types(declared)
                for k, text in enumerate(spec[: len(types)]):
                    if types[k] == "!vm.ref<?>" and not text.startswith("!"):
                        types[k] = "!vm.ref<!hal.buffer_view>"
                    elif types[k] == "!vm.ref<?>":
                        types[k] = "!vm.ref<" + text + ">"
            if m.group(1) == "async" and arg_types[-2:] == ["!vm.ref<?>", "!vm.ref<?>"]:
                arg_types[-2:] = ["!vm.ref<!hal.fence>", "!vm.ref<!hal.fence>"]
        return VmFunction(fname, tuple(arg_types), tuple(result_types), reflection)

    def global_ident(self, space: str, index: str) -> str:
        key = f"{space}[{index}]"
        ident = self.globals.get(key)
        if ident is None:
            ident = self.globals[key] = f"{'GR' if space == 'refs' else 'GD'}{index}"
        return ident


class _FunctionTranslator:
    """One disassembled function as the lines of a nested Python function."""

    def __init__(self, module: _Translator, name: str, body: list[str], params: str):
        self.module = module
        self.name = name
        self.body = body
        self.params = [_reg(p.split(": ", 1)[0]) for p in _split(params)]
        self.stored: set[str] = set()
        self.moved: set[str] = set()  # registers a branch reads: defined at entry
        self.tables: dict[str, str] = {}  # a recorded-once region's register -> its table
        self.regions = 0

    def fail(self, message: str) -> UnimplementedError:
        return UnimplementedError(f"vm.func @{self.name}: {message}")

    def translate(self) -> list[str]:
        blocks: list[tuple[int, list[str]]] = []
        for line in self.body:
            if line.startswith("^bb"):
                blocks.append((int(line[3:].rstrip(":")), []))
            elif line:
                if not blocks:
                    raise InvalidArgumentError(f"vm.func @{self.name}: code before a block")
                blocks[-1][1].append(line)
        chunks = [(state, self.block(lines)) for state, lines in blocks]
        ident = self.module.function_ids[self.name]
        out = [f"    def {ident}({', '.join(self.params)}):  # vm.func {self.name!r}"]
        if self.stored:
            out.append(f"        nonlocal {', '.join(sorted(self.stored))}")
        early = sorted(self.moved - set(self.params))
        if early:
            ints = [r for r in early if r[0] == "i"]
            refs = [r for r in early if r[0] == "r"]
            if ints:
                out.append(f"        {' = '.join(ints)} = 0")
            if refs:
                out.append(f"        {' = '.join(refs)} = None")
        if len(chunks) == 1:
            out.extend("        " + line for line in chunks[0][1])
            return out
        out.append(f"        s_ = {chunks[0][0]}")
        out.append("        while True:")
        for k, (state, lines) in enumerate(chunks):
            out.append(f"            {'if' if k == 0 else 'elif'} s_ == {state}:")
            out.extend("                " + line for line in lines)
        return out

    def block(self, lines: list[str]) -> list[str]:
        out: list[str] = []
        i = 0
        while i < len(lines):
            if _CREATE in lines[i]:
                end = self.region(lines, i, out)
                if end is not None:
                    i = end + 1
                    continue
            self.op(lines[i], out)
            i += 1
        return out

    # -- one-shot command buffers, recorded once (as polyhal.iree.vm's emit_region) -----

    def region(self, lines: list[str], start: int, out: list[str]) -> int | None:
        """Emits the command buffer created by ``lines[start]`` as one recorded once and
        replayed with a binding table, when it can be: only dispatches, copies, fills and
        barriers recorded into it between constants, pure operations and function lookups,
        then, in the same block, its register's last use as the command buffer of a
        ``hal.device.queue.execute``.  The operations between are emitted first, their
        results in fresh variables (registers are reused inside such a stretch), and the
        registers they wrote get their last values after it.  Whether the buffer is
        ONE_SHOT with no binding capacity is tested when it runs; else it is recorded as
        the program says.  The index of its finalize, or None (nothing emitted)."""
        m = _OP.match(lines[start])
        if m is None or not m.group("res"):
            return None
        cb = _reg(m.group("res"))
        head = re.match(r"^@hal\.command_buffer\.create\((.*)\)$", m.group("rest").strip())
        if head is None or cb[0] != "r":
            return None
        create_args = [_reg(a) for a in _split(head.group(1))]
        mentions = re.compile(rf"%[rR]{cb[1:]}(?![\d:])")
        body: list[tuple[str, re.Match[str]]] = []
        end = None
        for j in range(start + 1, len(lines)):
            op = _OP.match(lines[j])
            if op is None:
                return None
            kind, rest = op.group("kind"), op.group("rest").split("  //")[0].strip()
            results = [_reg(r) for r in _split(op.group("res") or "")]
            if cb in results:
                return None
            call = re.match(r"^@(\S+?)(?: segments\[[^\]]*\])?\((.*?)\)$", rest)
            if kind in ("call", "call.variadic") and call is not None:
                args = _split(call.group(2))
                first_is_cb = bool(args) and _reg(args[0]) == cb
                if any(mentions.fullmatch(a) for a in args[1:]):
                    return None
                if call.group(1) == _CB + "finalize" and first_is_cb:
                    end = j
                    break
                if call.group(1) in _RECORDING and first_is_cb:
                    body.append(("record", op))
                    continue
                if call.group(1) == "hal.executable.lookup.function" and not first_is_cb:
                    body.append(("hoist", op))
                    continue
                return None
            if mentions.search(rest):
                return None
            if kind in _NO_OPS:
                continue
            if kind.startswith("const.") or (kind in _PURE and len(results) == 1):
                body.append(("hoist", op))
                continue
            return None
        if end is None or not any(kind == "record" for kind, _ in body):
            return None
        for k in range(end + 1, len(lines)):  # the register's next use: the submission
            if mentions.search(lines[k]):
                sub = re.search(r"vm\.call @hal\.device\.queue\.execute\((.*)\)$", lines[k])
                args = _split(sub.group(1)) if sub else []
                if (
                    len(args) != 6
                    or args[4] != "%R" + cb[1:]
                    or any(mentions.fullmatch(a) for a in args[:4] + args[5:])
                ):
                    return None
                break
        else:
            return None
        self.emit_region(cb, create_args, body, out)
        return end

    def emit_region(
        self,
        cb: str,
        create: list[str],
        body: list[tuple[str, re.Match[str]]],
        out: list[str],
    ) -> None:
        rename: dict[str, str] = {}
        fresh = iter(range(1 << 30))

        def use(token: str) -> str:
            name = _reg(token)
            return rename.get(name, name)

        recorded: list[tuple[str, list[str | list[tuple[str, ...]]]]] = []
        for kind, op in body:
            rest = op.group("rest").split("  //")[0].strip()
            call = re.match(r"^@(\S+?)(?: segments\[([^\]]*)\])?\((.*?)\)$", rest)
            if call is not None:
                callee, segments, operands = call.groups()
                parts = self.parts(callee, segments, [use(a) for a in _split(operands)])
                if kind == "record":
                    recorded.append((callee, parts))
                    continue
                expr = f"{self.module.import_ids[callee]}({', '.join(map(_render, parts))})"
            elif op.group("kind").startswith("const."):
                expr = self.const(op.group("kind"), rest)
            else:
                expr = _PURE[op.group("kind")]([use(a) for a in _operands(op.group("kind"), rest)])
            target = _reg(op.group("res"))
            rename[target] = name = f"x{self.regions}_{next(fresh)}"
            out.append(f"{name} = {expr}")
        n = self.module.new_region()
        self.regions += 1
        slots: dict[str, int] = {}
        keys: list[str] = []
        replay: list[str] = []
        plain: list[str] = []
        for callee, parts in recorded:
            ident = self.module.import_ids[callee]
            plain.append(f"{ident}({cb}, {', '.join(map(_render, parts[1:]))})")
            with_slots: list[str | list[tuple[str, ...]]] = [cb]
            for part in parts[1:]:
                if isinstance(part, list):  # dispatch: constants, then binding tuples
                    items = []
                    for item in part:
                        if len(item) == 5:  # (reserved, slot, buffer, offset, length)
                            slot = slots.setdefault(item[2], len(slots))
                            keys.extend(v for v in (item[0], item[3], item[4]) if v not in keys)
                            items.append((item[0], str(slot), "None", item[3], item[4]))
                        else:
                            keys.extend(v for v in item if v not in keys)
                            items.append(item)
                    with_slots.append(items)
                else:
                    with_slots.append(part)
            for index, at in _SLOT_OPERANDS.get(callee, {}).items():  # copies and fills
                with_slots[at] = str(slots.setdefault(str(parts[index]), len(slots)))
                with_slots[index] = "None"
            replaced = {i for i, p in enumerate(with_slots) if p != parts[i] or i == 0}
            for i, p in enumerate(parts):
                if i not in replaced and isinstance(p, str) and p not in keys:
                    keys.append(p)
            replay.append(f"{ident}({', '.join(map(_render, with_slots))})")
        for arg in (create[0], create[2], create[3]):
            if arg not in keys:
                keys.append(arg)
        create_id = self.module.import_ids[_CB + "create"]
        finalize_id = self.module.import_ids[_CB + "finalize"]
        modes, capacity = create[1], create[4]
        reusable = f"{create_id}({create[0]}, {modes} & -2, {create[2]}, {create[3]}, {len(slots)})"
        out.append(f"if {modes} & 1 and {capacity} == 0:")
        code = region_lines(n, cb, keys, reusable, replay, finalize_id, list(slots))
        out.extend(f"    {line}" for line in code)
        out.append("else:")
        out.append(f"    {cb} = {create_id}({', '.join(create)})")
        out.extend(f"    {line}" for line in plain)
        out.append(f"    {finalize_id}({cb})")
        out.append(f"    t{n}_ = None")
        for register, name in rename.items():  # the registers as the program left them
            out.append(f"{register} = {name}")
        self.tables[cb] = f"t{n}_"

    def jump(self, successor: str, out: list[str], ind: str = "") -> None:
        m = _SUCCESSOR.fullmatch(successor.strip())
        if m is None:
            raise InvalidArgumentError(f"vm.func @{self.name}: cannot read {successor!r}")
        # The moves run in order, as the interpreter runs them: the compiler orders them
        # (and breaks cycles through a spare register) so that they do the parallel copy.
        for source, target in _MOVE.findall(m.group(2)):
            self.moved.add(_reg(source))
            out.append(f"{ind}{_reg(target)} = {_reg(source)}")
        out.append(f"{ind}s_ = {m.group(1)}")
        out.append(f"{ind}continue")

    def op(self, line: str, out: list[str]) -> None:
        m = _OP.match(line)
        if m is None:
            raise InvalidArgumentError(f"vm.func @{self.name}: cannot read {line!r}")
        kind, rest = m.group("kind"), m.group("rest")
        results = [_reg(r) for r in _split(m.group("res") or "")]
        if kind == "fail":
            code, _, message = rest.partition(",")
            text = message.strip()[1:-1] if message.strip().startswith('"') else message
            out.append(f"raise _fail({_reg(code)}, {text!r})")
            return
        rest = rest.split("  //")[0].strip()
        if kind.startswith("const."):
            out.append(f"{results[0]} = {self.const(kind, rest)}")
            return
        if kind in _NO_OPS:
            return
        if kind == "import.resolved":
            index = list(self.module.imports).index(rest.lstrip("@"))
            out.append(f"{results[0]} = H{index}")
            return
        if kind.startswith("global."):
            g = _GLOBAL.search(rest)
            if g is None:
                raise self.fail(f"cannot read {line!r}")
            ident = self.module.global_ident(*g.groups())
            if kind.startswith("global.load."):
                out.append(f"{results[0]} = {ident}")
            elif kind.startswith("global.store.") and "indirect" not in kind:
                self.stored.add(ident)
                out.append(f"{ident} = {_reg(rest.split(',')[0])}")
            else:
                raise self.fail(f"the VM operation 'vm.{kind}' is not supported")
            return
        if kind in ("call", "call.variadic", "call.yieldable", "call.variadic.yieldable"):
            self.call(kind, rest, results, out)
            return
        if kind == "br":
            self.jump(rest, out)
            return
        if kind == "cond_br":
            cond, _, targets = rest.partition(",")
            first, second = re.findall(r"\^bb\d+\([^)]*\)", targets)
            out.append(f"if {_reg(cond)}:")
            self.jump(first, out, "    ")
            self.jump(second, out)
            return
        if kind == "br_table":  # "%i0 { default: ^bb3(moves), 0: ^bb1(moves), ... }"
            index, _, table = rest.partition("{")
            default = None
            for case, successor in re.findall(r"(default|\d+): (\^bb\d+\([^)]*\))", table):
                if case == "default":
                    default = successor
                    continue
                out.append(f"if {_reg(index)} == {int(case)}:")
                self.jump(successor, out, "    ")
            if default is None:
                raise self.fail(f"a vm.br_table without a default: {line!r}")
            self.jump(default, out)  # an index with no case of its own
            return
        if kind == "return":
            values = [_reg(v) for v in _split(rest)]
            out.append(f"return {', '.join(values)}" if values else "return")
            return
        if kind == "list.alloc":
            count, _, element = rest.partition(":")
            t = element.strip()
            inner = t[len("!vm.list<") : -1] if t.startswith("!vm.list<") else "?"
            out.append(f"{results[0]} = _list_alloc({inner!r}, {_reg(count)})")
            return
        if kind not in _PURE and kind not in _EFFECTS:  # br_table, check.*, cond_fail, ...
            raise self.fail(f"the VM operation 'vm.{kind}' is not supported")
        args = [_reg(a) for a in _operands(kind, rest)]
        template = _PURE.get(kind)
        if template is not None and len(results) == 1:
            out.append(f"{results[0]} = {template(args)}")
            return
        template = _EFFECTS.get(kind)
        if template is not None and not results:
            out.append(template(args))
            return
        raise self.fail(f"the VM operation 'vm.{kind}' is not supported")

    def parts(
        self, callee: str, segments: str | None, args: list[str]
    ) -> list[str | list[tuple[str, ...]]]:
        """A call's arguments grouped as its callee takes them: a variadic segment
        (``segments``, with the import's calling convention) is a list of tuples."""
        if segments is None:
            return list(args)
        kinds = self.module.cconvs.get(callee)
        if kinds is None:
            raise self.fail(f"a variadic call of @{callee}, which is not an import")
        parts: list[str | list[tuple[str, ...]]] = []
        pos = 0
        for size, k in zip((int(s) for s in _split(segments)), kinds, strict=False):
            if size == 65535 or isinstance(k, str):
                parts.append(args[pos])
                pos += 1
                continue
            items = []
            for _ in range(size):
                items.append(tuple(args[pos : pos + len(k)]))
                pos += len(k)
            parts.append(items)
        return parts

    def const(self, kind: str, rest: str) -> str:
        if kind.endswith(".zero"):
            return {"i32": "0", "i64": "0", "f32": "0.0", "f64": "0.0", "ref": "None"}[
                kind.split(".")[1]
            ]
        value = rest.split()[0] if rest else ""
        if kind in ("const.i32", "const.i64"):
            return f"({int(value)})"
        if kind in ("const.f32", "const.f64"):
            number = float(value)
            if number != number:
                return "_NAN"
            if math.isinf(number):
                return "_INF" if number > 0 else "(-_INF)"
            return f"({number!r})"
        if kind == "const.ref.rodata":
            return f"R{int(value)}"
        raise self.fail(f"the VM operation 'vm.{kind}' is not supported")

    def call(self, kind: str, rest: str, results: list[str], out: list[str]) -> None:
        m = re.match(r"^@(\S+?)(?: segments\[([^\]]*)\])?\((.*?)\)(?: -> (.*))?$", rest)
        if m is None:
            raise self.fail(f"cannot read the call {rest!r}")
        callee, segments, operands, successor = m.groups()
        ident = self.module.import_ids.get(callee) or self.module.function_ids.get(callee)
        if ident is None:
            raise InvalidArgumentError(f"vm.func @{self.name} calls an unknown function @{callee}")
        parts = self.parts(callee, segments, [_reg(a) for a in _split(operands)])
        if callee == "hal.device.queue.execute" and len(parts) == 6 and parts[4] in self.tables:
            # The submission of a command buffer region() recorded once, with its table.
            table = self.tables.pop(str(parts[4]))
            ident = self.module.extra_import(EXECUTE_TABLE)
            out.append(f"{ident}({', '.join(map(str, parts))}, {table})")
            return
        call = f"{ident}({', '.join(_render(p) for p in parts)})"
        if kind.endswith("yieldable"):
            if successor is None:
                raise self.fail(f"a yieldable call without a successor: {rest!r}")
            target = _SUCCESSOR.fullmatch(successor.strip())
            if target is None:
                raise self.fail(f"cannot read {successor!r}")
            values = [_reg(v) for v in _split(target.group(2))]
            out.append(f"{', '.join(values)} = {call}" if values else call)
            out.append(f"s_ = {target.group(1)}")
            out.append("continue")
            return
        out.append(f"{', '.join(results)} = {call}" if results else call)
