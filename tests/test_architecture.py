"""The floor plan holds: no import circles, and drivers use only the driver contract.

Imports are read from the source (``ast``), at module level and inside functions alike
(a function-level import is still a dependency); imports under ``if TYPE_CHECKING:`` are
type references only and are left out.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "polyhal"
#: What a driver may import from polyhal: the contract, the command stream and its walker,
#: the public value types and errors, and the build helpers.
DRIVER_MAY_IMPORT = {
    "polyhal.drivers.base",
    "polyhal.drivers.host_collective",  # the host collective engine (local, vulkan)
    "polyhal._stream",
    "polyhal._walker",
    "polyhal.commands",
    "polyhal.errors",
    "polyhal.types",
    "polyhal.executable",
    "polyhal._native",
    "polyhal._cache",
    "polyhal._args",
    "polyhal.spirv",
    "polyhal.tracing",
}


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(SRC).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


MODULES = _modules()
NATIVE = {"polyhal._stream"}  # extension modules: no source to read


def _imports(name: str, path: Path) -> set[str]:
    """The polyhal modules ``name`` imports (outside TYPE_CHECKING blocks)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()

    def target(node: ast.ImportFrom) -> str:
        if not node.level:
            return node.module or ""
        base = package.split(".")
        base = base[: len(base) - node.level + 1]
        return ".".join(base + ([node.module] if node.module else []))

    def visit(nodes: list[ast.stmt]) -> None:
        for node in nodes:
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                visit(node.orelse)
                continue
            if isinstance(node, ast.Import):
                found.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = target(node)
                subs = {f"{base}.{a.name}" for a in node.names}
                subs &= set(MODULES) | NATIVE
                found.update(subs or {base})
            for field in ("body", "orelse", "finalbody", "handlers"):
                inner = getattr(node, field, None)
                if isinstance(inner, list):
                    visit(inner)

    visit(ast.parse(path.read_text()).body)
    return {m for m in found if m in MODULES or m in NATIVE} - {name}


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


def _cycles() -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in GRAPH.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in GRAPH:
        if v not in index:
            visit(v)
    return out


def test_the_import_reader_sees_imports():
    # the reader itself: known edges exist, so an empty result below means something
    assert "polyhal._stream" in GRAPH["polyhal.command_buffer"]
    assert "polyhal.drivers.base" in GRAPH["polyhal.drivers.local.executable"]
    assert "polyhal.executable" in GRAPH["polyhal.device"]


def test_no_import_circles():
    assert _cycles() == []


@pytest.mark.parametrize(
    "driver",
    sorted(
        p.name
        for p in (PACKAGE / "drivers").iterdir()
        if p.is_dir() and (p / "__init__.py").exists()
    ),
)
def test_drivers_import_only_the_contract(driver):
    own = f"polyhal.drivers.{driver}"
    bad = {}
    for name, deps in GRAPH.items():
        if name == own or name.startswith(own + "."):
            outside = {d for d in deps if not d.startswith(own)} - DRIVER_MAY_IMPORT
            if outside:
                bad[name] = sorted(outside)
    assert bad == {}


def test_drivers_touch_no_front_end_privates():
    # Front-end objects reach drivers through the contract's hooks; a driver that read
    # ``device._driver`` or a semaphore's ``_failure`` would depend on internals.
    # (a driver's own attributes of the same names, through ``self``, are its business)
    private = re.compile(
        r"\b(?!self\b)\w+\._(driver|tls|closed|slot_checks|submitted|failure"
        r"|error|resolve_binding_table)\b"
    )
    found = []
    for path in (PACKAGE / "drivers").rglob("*.py"):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if private.search(line):
                found.append(f"{path.relative_to(SRC)}:{number}: {line.strip()}")
    assert found == []
