"""Vulkan executables: SPIR-V modules (or GLSL compiled by glslangValidator) to pipelines.

An entry point's HAL layout becomes its Vulkan layout one to one: set ``s`` binding ``b``
is a storage buffer at ``layout(set=s, binding=b)``, and the push constants are one
range of ``4 * push_constants`` bytes at offset 0 visible to the compute stage.  Set
layouts, pipeline layouts and pipelines are cached on the device by content, so entry
points of one layout share one VkPipelineLayout (which lets the encoder keep pushed
state across them) and loading the same kernel twice costs nothing.

Malformed SPIR-V can crash a Vulkan driver, so every module is checked first: its
structure here, and its semantics by ``spirv-val`` when SPIRV-Tools is installed.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import vulkan as vk

from ... import spirv
from ..._cache import cached
from ..._native import compiler_identity
from ...errors import InvalidArgumentError
from ...executable import EntryPoint
from ...types import DescriptorFlags
from ..base import LoadedExecutable
from .instance import check, ffi, handle, lib, new

if TYPE_CHECKING:
    from .device import VulkanDevice


@dataclass(eq=False)
class EntryPipeline:
    """What the encoder needs to dispatch one entry point."""

    name: str
    pipeline: Any  # VkPipeline
    layout: Any  # VkPipelineLayout (shared by entry points of one layout)
    set_layouts: tuple  # VkDescriptorSetLayout per descriptor set
    push_size: int  # bytes of push constants
    #: (set index, binding indices, first binding position) per descriptor set, in the
    #: (set, binding) order of a Dispatch's bindings.
    sets: tuple[tuple[int, tuple[int, ...], int], ...]
    read_only: tuple[bool, ...]  # per binding, in that order
    plan_id: int  # names ``sets`` in the device's descriptor caches
    push: bool  # descriptors pushed (VK_KHR_push_descriptor) rather than pool-allocated


@dataclass(eq=False)
class VulkanExecutable(LoadedExecutable):
    entries: list[EntryPipeline]


def formats() -> tuple[str, ...]:
    """The formats this machine can load: GLSL only where glslangValidator is installed."""
    return ("spirv", "glsl") if shutil.which("glslangValidator") else ("spirv",)


def load(
    device: VulkanDevice, fmt: str, payload: Any, entry_points: Sequence[EntryPoint]
) -> VulkanExecutable:
    if not entry_points:
        raise InvalidArgumentError(f"format {fmt!r} needs the entry points named")
    modules = _modules(fmt, payload, entry_points)
    # A module of one entry point for one HAL entry point may name it anything ("main").
    own_module = isinstance(modules, dict) or len(entry_points) == 1
    entries = []
    for ep in entry_points:
        code = modules[ep.name] if isinstance(modules, dict) else modules
        names = _entry_names(code)
        spirv_name = (
            ep.name if ep.name in names else (names[0] if own_module and len(names) == 1 else None)
        )
        if spirv_name is None:
            raise InvalidArgumentError(
                f"entry point {ep.name!r} is not in the SPIR-V module (it has {names})"
            )
        _validate(code)
        entries.append(device.pipeline(code, spirv_name, ep))
    return VulkanExecutable(entries)


def _modules(fmt: str, payload: Any, entry_points: Sequence[EntryPoint]) -> Any:
    """One module (bytes) or {entry point name: bytes}, as SPIR-V."""
    if fmt == "glsl":
        if isinstance(payload, (str, bytes)):
            if len(entry_points) != 1:
                raise InvalidArgumentError(
                    "one GLSL source has one entry point; pass {entry_point_name: source} "
                    f"for {[e.name for e in entry_points]}"
                )
            payload = {entry_points[0].name: payload}
        return {
            ep.name: compile_glsl(_text(_lookup(payload, ep.name, fmt)), ep.name)
            for ep in entry_points
        }
    if isinstance(payload, dict):
        return {ep.name: _bytes(_lookup(payload, ep.name, fmt)) for ep in entry_points}
    return _bytes(payload)


def _lookup(payload: dict, name: str, fmt: str) -> Any:
    try:
        return payload[name]
    except KeyError:
        raise InvalidArgumentError(
            f"format {fmt!r} has no module for entry point {name!r} (it has {list(payload)})"
        ) from None


def _bytes(module: Any) -> bytes:
    if isinstance(module, (str, Path)):
        module = Path(module).read_bytes()
    try:
        return bytes(module)
    except TypeError:
        raise InvalidArgumentError(
            f"a SPIR-V module is bytes, got {type(module).__name__}"
        ) from None


def _text(source: Any) -> str:
    return source.decode() if isinstance(source, bytes) else str(source)


def _entry_names(code: bytes) -> list[str]:
    """The GLCompute entry points of a module; InvalidArgumentError if it is malformed,
    in the other byte order (Vulkan reads host-order words) or has none."""
    if len(code) >= 4 and int.from_bytes(code[:4], sys.byteorder) != spirv.MAGIC:
        raise InvalidArgumentError(
            f"not SPIR-V in this host's byte order: magic "
            f"{int.from_bytes(code[:4], sys.byteorder):#010x}"
        )
    names = spirv.compute_entry_point_names(code)
    if not names:
        raise InvalidArgumentError("the SPIR-V module has no compute entry point")
    return names


@functools.lru_cache(maxsize=256)
def _validate(code: bytes) -> None:
    """spirv-val's verdict, where SPIRV-Tools is installed."""
    tool = shutil.which("spirv-val")
    if tool is None:
        return
    with tempfile.NamedTemporaryFile(suffix=".spv") as f:
        f.write(code)
        f.flush()
        proc = subprocess.run(
            [tool, "--target-env", "vulkan1.2", f.name], capture_output=True, text=True
        )
    if proc.returncode:
        raise InvalidArgumentError(f"invalid SPIR-V (spirv-val):\n{proc.stderr.strip()}")


def _spirv_file(path: Path) -> bool:
    """A whole SPIR-V module in host byte order (a truncated or garbage file is not)."""
    try:
        code = path.read_bytes()
    except OSError:
        return False
    return (
        len(code) >= 20
        and len(code) % 4 == 0
        and int.from_bytes(code[:4], sys.byteorder) == spirv.MAGIC
    )


def compile_glsl(source: str, entry_name: str) -> bytes:
    """GLSL (``main``) to SPIR-V whose entry point is ``entry_name``; cached by content.

    InvalidArgumentError carries glslangValidator's message when it fails.
    """
    tool = shutil.which("glslangValidator")
    if tool is None:
        raise InvalidArgumentError("GLSL needs glslangValidator (apt-get install glslang-tools)")
    # The key holds glslangValidator's identity and version, like the C kernel cache's.
    key = (compiler_identity(tool), entry_name, source)

    def build(out: Path) -> None:
        src = out.parent / "kernel.comp"
        src.write_text(source)
        proc = subprocess.run(
            [
                tool,
                "-V",
                "--target-env",
                "vulkan1.2",
                "-S",
                "comp",
                "-e",
                entry_name,
                "--source-entrypoint",
                "main",
                "-o",
                str(out),
                str(src),
            ],
            capture_output=True,
            text=True,
        )
        if proc.returncode:
            message = (proc.stdout + proc.stderr).strip()
            raise InvalidArgumentError(f"GLSL compilation failed (glslangValidator):\n{message}")

    out = cached("glsl", "spv", key, build, _spirv_file)
    return out.read_bytes()


# -- Vulkan objects (created through the device's caches) ---------------------------------
def create_set_layout(device: VulkanDevice, bindings: tuple[int, ...], push: bool) -> Any:
    items = new(
        "VkDescriptorSetLayoutBinding[]",
        [
            {
                "binding": b,
                "descriptorType": vk.VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
                "descriptorCount": 1,
                "stageFlags": vk.VK_SHADER_STAGE_COMPUTE_BIT,
            }
            for b in bindings
        ]
        or 1,
    )
    flags = vk.VK_DESCRIPTOR_SET_LAYOUT_CREATE_PUSH_DESCRIPTOR_BIT_KHR if push else 0
    info = new(
        "VkDescriptorSetLayoutCreateInfo*",
        {
            "sType": vk.VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO,
            "flags": flags,
            "bindingCount": len(bindings),
            "pBindings": items,
        },
    )
    out = handle("VkDescriptorSetLayout")
    check(
        lib.vkCreateDescriptorSetLayout(device.handle, info, ffi.NULL, out),
        "vkCreateDescriptorSetLayout",
    )
    return out[0]


def create_pipeline_layout(device: VulkanDevice, set_layouts: Sequence[Any], push_size: int) -> Any:
    layouts = new("VkDescriptorSetLayout[]", list(set_layouts) or 1)
    push = new(
        "VkPushConstantRange*",
        {"stageFlags": vk.VK_SHADER_STAGE_COMPUTE_BIT, "offset": 0, "size": push_size},
    )
    info = new(
        "VkPipelineLayoutCreateInfo*",
        {
            "sType": vk.VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO,
            "setLayoutCount": len(set_layouts),
            "pSetLayouts": layouts,
            "pushConstantRangeCount": 1 if push_size else 0,
            "pPushConstantRanges": push,
        },
    )
    out = handle("VkPipelineLayout")
    check(lib.vkCreatePipelineLayout(device.handle, info, ffi.NULL, out), "vkCreatePipelineLayout")
    return out[0]


def create_pipeline(device: VulkanDevice, code: bytes, spirv_name: str, layout: Any) -> Any:
    words = ffi.new("char[]", code)
    module_info = new(
        "VkShaderModuleCreateInfo*",
        {
            "sType": vk.VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO,
            "codeSize": len(code),
            "pCode": ffi.cast("uint32_t*", words),
        },
    )
    module = handle("VkShaderModule")
    check(
        lib.vkCreateShaderModule(device.handle, module_info, ffi.NULL, module),
        "vkCreateShaderModule",
    )
    name = ffi.new("char[]", spirv_name.encode())
    try:
        info = new(
            "VkComputePipelineCreateInfo*",
            {
                "sType": vk.VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO,
                "stage": {
                    "sType": vk.VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO,
                    "stage": vk.VK_SHADER_STAGE_COMPUTE_BIT,
                    "module": module[0],
                    "pName": name,
                },
                "layout": layout,
            },
        )
        out = handle("VkPipeline")
        result = lib.vkCreateComputePipelines(
            device.handle, device.pipeline_cache, 1, info, ffi.NULL, out
        )
        if result < 0:
            raise InvalidArgumentError(
                f"vkCreateComputePipelines failed for {spirv_name!r}: VkResult {result}"
            )
        return out[0]
    finally:
        lib.vkDestroyShaderModule(device.handle, module[0], ffi.NULL)


def binding_plan(ep: EntryPoint) -> tuple[tuple, tuple[bool, ...]]:
    """The per-set plan and read-only flags of an entry point's bindings."""
    sets, position, read_only = [], 0, []
    for index, set_layout in enumerate(ep.layout.set_layouts):
        indices = tuple(b.index for b in set_layout.bindings)
        if indices:
            sets.append((index, indices, position))
        position += len(indices)
        read_only += [bool(b.flags & DescriptorFlags.READ_ONLY) for b in set_layout.bindings]
    return tuple(sets), tuple(read_only)
