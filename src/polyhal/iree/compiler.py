"""Finding and running ``iree-compile``: its path, its version, the flags for each driver."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version

from ..errors import InvalidArgumentError, UnavailableError

#: polyhal format name for each driver's IREE binaries, and the dumped files' suffix.
DRIVER_FORMATS = {"local": "iree-system-library", "vulkan": "spirv", "cuda": "ptx"}
FORMAT_SUFFIXES = {"iree-system-library": ".so", "spirv": ".spv", "ptx": ".ptx"}

_NOT_INSTALLED = "iree-compile is not installed: pip install iree-base-compiler (or polyhal[iree])"


def compiler_available() -> bool:
    """Whether ``iree-base-compiler`` (or an ``iree-compile`` on PATH) is installed."""
    try:
        find_iree_compile()
        return True
    except UnavailableError:
        return False


def find_iree_compile() -> str:
    """Path of the ``iree-compile`` tool: ``$IREE_COMPILE``, then the one
    ``iree-base-compiler`` ships, then PATH; UnavailableError when there is none."""
    env = os.environ.get("IREE_COMPILE")
    if env and os.path.exists(env):
        return env
    if _has_module("iree.compiler.tools"):
        from iree.compiler.tools import binaries

        # find_tool raises ValueError when the package lacks its binary (a partial
        # install); PATH may still have one.
        try:
            return str(binaries.find_tool("iree-compile"))
        except ValueError:
            pass
    path = shutil.which("iree-compile")
    if path:
        return path
    raise UnavailableError(_NOT_INSTALLED)


def _has_module(name: str) -> bool:
    # find_spec imports the parents: "iree" alone may be another distribution's namespace.
    try:
        return importlib.util.find_spec(name) is not None
    except ImportError:
        return False


def compiler_version() -> str | None:
    """The installed iree-base-compiler version, or None."""
    try:
        return version("iree-base-compiler")
    except PackageNotFoundError:
        return None


def base_driver(driver: object) -> str:
    """The driver kind of a driver name ("vulkan:1", "local-sync") or of a Device."""
    name = getattr(driver, "driver", driver)
    if not isinstance(name, str):
        raise InvalidArgumentError(f"driver must be a name or a Device, got {driver!r}")
    base = name.split(":", 1)[0]
    return "local" if base == "local-sync" else base


def compile_flags(
    driver: str,
    *,
    cpu: str = "host",
    cuda_target: str = "sm_80",
    vulkan_target: str | None = None,
) -> list[str]:
    """The ``iree-compile`` target flags that make binaries polyhal's ``driver`` can run."""
    base = base_driver(driver)
    if base == "local":
        return [
            "--iree-hal-target-device=local",
            "--iree-hal-local-target-device-backends=llvm-cpu",
            "--iree-llvmcpu-link-embedded=false",
            f"--iree-llvmcpu-target-cpu={cpu}",
        ]
    if base == "vulkan":
        flags = ["--iree-hal-target-device=vulkan", "--iree-vulkan-dispatch-abi=descriptors"]
        if vulkan_target:
            flags.append(f"--iree-vulkan-target={vulkan_target}")
        return flags
    if base == "cuda":
        return ["--iree-hal-target-device=cuda", f"--iree-cuda-target={cuda_target}"]
    raise InvalidArgumentError(
        f"IREE executables exist for the drivers {sorted(DRIVER_FORMATS)}, not {driver!r}"
    )


def run_compiler(args: Sequence[str], timeout: float | None, *, what: str) -> str:
    """Run ``iree-compile args`` and return its stdout.

    A compile error or a timeout raises InvalidArgumentError carrying the compiler's error
    lines (the input is what is wrong); a compiler that cannot be started, UnavailableError.
    """
    cmd = [find_iree_compile(), *args]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise InvalidArgumentError(f"iree-compile timed out after {timeout}s {what}") from None
    except OSError as e:
        raise UnavailableError(f"cannot run iree-compile: {e}") from None
    if proc.returncode != 0:
        raise InvalidArgumentError(f"iree-compile failed {what}:\n{_error_lines(proc.stderr)}")
    return proc.stdout


def _error_lines(stderr: str) -> str:
    # iree-compile prints long CPU-target warnings; keep the error lines when there are any.
    lines = stderr.splitlines()
    errors = [ln for ln in lines if "error" in ln.lower()]
    text = "\n".join(errors if errors else lines)
    return text[-8000:]
