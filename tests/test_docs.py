"""The documentation: every tutorial program runs, every public name has a docstring and a
place in the API reference, and the README's links resolve inside the repository."""

from __future__ import annotations

import contextlib
import inspect
import io
import re
import runpy
import shutil
import sys
from pathlib import Path

import pytest

import polyhal as hal
from polyhal import iree

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
TUTORIAL = ROOT / "examples" / "tutorial"

# Which drivers each tutorial program runs on (beyond them: not its formats).
PORTABLE = ["local", "local-sync", "vulkan", "cuda"]
PROGRAMS = {
    "first_kernel_c.py": ["local", "local-sync"],
    "first_kernel_glsl.py": ["vulkan"],
    "first_kernel_cuda.py": ["cuda"],
    "barriers.py": PORTABLE,
    "reduction.py": PORTABLE,
    "reusable.py": PORTABLE,
    "semaphores.py": PORTABLE,
    "iree_add.py": PORTABLE,
    "timeline.py": PORTABLE,
    "checked_mode.py": PORTABLE,
}


def _cases():
    for name, drivers in PROGRAMS.items():
        for driver in drivers:
            yield pytest.param(name, driver, id=f"{name[:-3]}-{driver}")


@pytest.mark.parametrize("name, driver", list(_cases()))
def test_tutorial_program_runs(name, driver, monkeypatch):
    if driver.split("-")[0] not in hal.available_drivers():
        pytest.skip(f"no {driver} device here")
    if driver == "vulkan" and not shutil.which("glslangValidator"):
        pytest.skip("GLSL needs glslangValidator (apt-get install glslang-tools)")
    if name.startswith("iree") and not iree.compiler_available():
        pytest.skip("iree-base-compiler is not installed (pip install 'polyhal[iree]')")
    monkeypatch.setattr(sys, "argv", [name, driver])
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        runpy.run_path(str(TUTORIAL / name), run_name="__main__")  # asserts its own result
    assert out.getvalue().strip()


def test_every_tutorial_program_is_on_the_tutorial_page_and_tested():
    page = (DOCS / "tutorial.md").read_text()
    included = set(re.findall(r"\{literalinclude\} \.\./examples/tutorial/(\S+)", page))
    files = {p.name for p in TUTORIAL.glob("*.py")}
    assert included == files == set(PROGRAMS)


def _public_api():
    """(qualified name, object) of every public name and of their public methods."""
    for name in hal.__all__:
        obj = getattr(hal, name)
        if not (inspect.isclass(obj) or inspect.isfunction(obj)):
            continue
        yield name, obj
        if not inspect.isclass(obj) or issubclass(obj, (BaseException, int)):
            continue  # errors and enums: the class docstring says it all
        for attr, member in vars(obj).items():
            if attr.startswith("_"):
                continue
            if isinstance(member, property):
                member = member.fget
            if inspect.isfunction(member) or isinstance(member, (staticmethod, classmethod)):
                yield f"{name}.{attr}", member


def _own_docstring(obj) -> str:
    """The object's own docstring: not one inherited (enums, errors) nor the signature a
    dataclass writes when it has none."""
    if isinstance(obj, (staticmethod, classmethod)):
        obj = obj.__func__
    doc = (vars(obj).get("__doc__") if inspect.isclass(obj) else obj.__doc__) or ""
    if inspect.isclass(obj) and doc.startswith(f"{obj.__name__}("):
        return ""
    return doc.strip()


def test_every_public_name_and_method_has_a_docstring():
    missing = [name for name, obj in _public_api() if not _own_docstring(obj)]
    assert not missing, f"no docstring: {missing}"


def test_every_public_name_is_in_the_api_reference():
    page = (DOCS / "api.md").read_text()
    documented = set(re.findall(r"\.\. auto(?:class|function|data):: polyhal\.(\w+)", page))
    assert set(hal.__all__) <= documented, set(hal.__all__) - documented


def _local_links(markdown: str):
    for target in re.findall(r"\]\(([^)\s]+)\)", markdown):
        if not re.match(r"[a-z]+:", target) and not target.startswith("#"):
            yield target.split("#")[0]


@pytest.mark.parametrize(
    "page",
    ["README.md", "tests/conformance/README.md", *[f"docs/{p.name}" for p in DOCS.glob("*.md")]],
)
def test_links_resolve_inside_the_repository(page):
    path = ROOT / page
    for target in _local_links(path.read_text()):
        resolved = (path.parent / target).resolve()
        assert resolved.exists(), f"{page} links {target}, which does not exist"
        assert ROOT in resolved.parents, f"{page} links {target}, outside the repository"
