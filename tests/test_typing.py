"""The typed interface: polyhal ships PEP 561 type information, and the stub of the C
recorder (src/polyhal/_stream.pyi) says what the extension module has, no more, no less.

mypy itself runs in scripts/test.sh ([tool.mypy] in pyproject.toml); this keeps the stub,
which mypy trusts blindly, in step with native/stream.c.
"""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

import polyhal
from polyhal import _stream

PACKAGE = Path(polyhal.__file__).resolve().parent
STUB = PACKAGE / "_stream.pyi"


def _stub() -> tuple[set[str], dict[str, set[str]]]:
    """(module-level names, {class: its member names}) declared by the stub."""
    tree = ast.parse(STUB.read_text(encoding="utf-8"))
    names: set[str] = set()
    classes: dict[str, set[str]] = {}
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            members = classes[node.name] = set()
            for item in node.body:
                if isinstance(item, ast.FunctionDef):
                    members.add(item.name)
                elif isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
                    members.add(item.target.id)
            names.add(node.name)
        elif isinstance(node, ast.FunctionDef):
            names.add(node.name)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return names, classes


def _own_members(cls: type) -> set[str]:
    """The methods, members and getsets a C type defines itself (dunders aside: the type's
    slots give those)."""
    return {
        name
        for name, value in vars(cls).items()
        if not name.startswith("__")
        and (inspect.ismethoddescriptor(value) or inspect.isdatadescriptor(value))
    }


def test_the_package_ships_its_type_information():
    # in the wheel too: scripts/test.sh runs this against the installed package
    assert (PACKAGE / "py.typed").is_file()
    assert STUB.is_file()


def test_the_stub_declares_every_name_of_the_extension_module():
    names, _ = _stub()
    public = {n for n in vars(_stream) if not n.startswith("__")}
    assert public == names  # (type aliases, plain assignments in the stub, are not counted)


@pytest.mark.parametrize(
    "name", ["Storage", "DeviceBase", "BufferBase", "LayoutInfo", "KernelTable", "Recorder"]
)
def test_the_stub_declares_every_member_of_each_native_type(name):
    _, classes = _stub()
    declared = {n for n in classes[name] if not n.startswith("__")}
    assert declared == _own_members(getattr(_stream, name))
