"""Pipeline layouts, entry points and executables (the driver-independent part)."""

from __future__ import annotations

import operator
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeAlias, TypeVar

from . import _stream
from ._args import as_index
from .errors import InvalidArgumentError, NotFoundError
from .types import DescriptorFlags

#: Formats whose payload is source text: bytes given for them must be UTF-8.
TEXT_FORMATS = ("c", "glsl", "cuda", "msl")
_UINT32_MAX = 2**32 - 1
_Payload = TypeVar("_Payload")


def _count(value: object, what: str, low: int = 0) -> int:
    """``value`` as an int in ``[low, 2**32)``: the ABI's counts and indices are 32-bit.
    InvalidArgumentError for anything else (floats, bools, strings, out of range)."""
    number = as_index(value, what)
    if not low <= number <= _UINT32_MAX:
        raise InvalidArgumentError(f"{what}: {number} is outside [{low}, 2**32)")
    return number


if TYPE_CHECKING:
    from .device import Device
    from .drivers.base import LoadedExecutable

#: One format's kernels: source text (str, or UTF-8 bytes for a text format), a binary
#: (bytes-like), a path (iree-system-library), or, for formats holding one entry point per
#: module (spirv, glsl), a mapping from entry point names to modules.
FormatPayload: TypeAlias = (
    "str | bytes | bytearray | memoryview | os.PathLike[str]"
    " | Mapping[str, str | bytes | bytearray | memoryview]"
)


@dataclass(frozen=True)
class DescriptorSetLayoutBinding:
    """One storage-buffer binding of a descriptor set."""

    index: int
    flags: DescriptorFlags = DescriptorFlags.NONE

    def __post_init__(self) -> None:
        """InvalidArgumentError unless ``index`` is a 32-bit binding number and ``flags``
        a combination of DescriptorFlags."""
        object.__setattr__(self, "index", _count(self.index, "descriptor binding index"))
        flags = _count(self.flags, "descriptor binding flags")
        if flags & ~int(DescriptorFlags.READ_ONLY):
            raise InvalidArgumentError(
                f"descriptor binding flags {self.flags!r} are not DescriptorFlags"
            )
        object.__setattr__(self, "flags", DescriptorFlags(flags))


class DescriptorSetLayout:
    """The bindings of one descriptor set, kept sorted by index."""

    __slots__ = ("bindings", "indices")

    def __init__(self, bindings: Iterable[DescriptorSetLayoutBinding | int]):
        """``bindings``: DescriptorSetLayoutBinding objects or binding numbers (ints), each
        unique; InvalidArgumentError otherwise."""
        try:
            items = [
                b if isinstance(b, DescriptorSetLayoutBinding) else DescriptorSetLayoutBinding(b)
                for b in bindings
            ]
        except TypeError:
            raise InvalidArgumentError(
                f"a descriptor set layout takes a list of bindings, got {bindings!r}"
            ) from None
        indices = [b.index for b in items]
        if len(set(indices)) != len(indices):
            raise InvalidArgumentError(
                f"descriptor set binding indices must be unique and >= 0: {indices}"
            )
        self.bindings: tuple[DescriptorSetLayoutBinding, ...] = tuple(
            sorted(items, key=lambda b: b.index)
        )
        self.indices: frozenset[int] = frozenset(indices)

    def __repr__(self) -> str:
        return f"DescriptorSetLayout({[b.index for b in self.bindings]})"


class PipelineLayout:
    """Descriptor set layouts plus a count of 32-bit push constants.

    ``binding_slots`` lists every (set, binding) in the order kernels receive them.
    """

    __slots__ = ("set_layouts", "push_constants", "binding_slots", "_info")

    def __init__(self, set_layouts: Sequence[DescriptorSetLayout] = (), push_constants: int = 0):
        """InvalidArgumentError unless ``set_layouts`` is a sequence of DescriptorSetLayout
        and ``push_constants`` a count of 32-bit values in ``[0, 2**32)``."""
        push_constants = _count(push_constants, "push_constants")
        try:
            self.set_layouts: tuple[DescriptorSetLayout, ...] = tuple(set_layouts)
        except TypeError:
            raise InvalidArgumentError(
                f"set_layouts is a list of DescriptorSetLayout, got {set_layouts!r}"
            ) from None
        for s in self.set_layouts:
            if not isinstance(s, DescriptorSetLayout):
                raise InvalidArgumentError(f"expected DescriptorSetLayout, got {type(s).__name__}")
        self.push_constants = int(push_constants)
        self.binding_slots: tuple[tuple[int, int], ...] = tuple(
            (si, b.index) for si, s in enumerate(self.set_layouts) for b in s.bindings
        )
        # The recorder's tables for this layout, computed once.
        self._info = _stream.LayoutInfo(
            self.push_constants, [[b.index for b in s.bindings] for s in self.set_layouts]
        )

    @property
    def binding_count(self) -> int:
        """How many bindings a kernel of this layout receives (all sets together)."""
        return len(self.binding_slots)

    def __repr__(self) -> str:
        return f"PipelineLayout({list(self.set_layouts)}, push_constants={self.push_constants})"


@dataclass(frozen=True)
class EntryPoint:
    """A kernel function: its name, its pipeline layout and its workgroup size."""

    name: str
    layout: PipelineLayout
    workgroup_size: tuple[int, int, int] = (1, 1, 1)
    #: Bytes of workgroup-shared memory the kernel needs beyond what its binary declares
    #: (CUDA dynamic shared memory); 0 for most kernels.
    local_memory_size: int = 0

    def __post_init__(self) -> None:
        """InvalidArgumentError unless ``name`` is a str, ``layout`` a PipelineLayout,
        ``workgroup_size`` three 32-bit counts >= 1 and ``local_memory_size`` a 32-bit count."""
        if not isinstance(self.name, str):
            raise InvalidArgumentError(f"entry point name must be a str, got {self.name!r}")
        if not isinstance(self.layout, PipelineLayout):
            raise InvalidArgumentError(
                f"entry point {self.name!r}: layout must be a PipelineLayout, got "
                f"{type(self.layout).__name__}"
            )
        try:
            ws = tuple(_count(v, "workgroup_size", 1) for v in self.workgroup_size)
        except (TypeError, InvalidArgumentError):
            raise InvalidArgumentError(
                f"workgroup_size must be three 32-bit counts >= 1, got {self.workgroup_size!r}"
            ) from None
        if len(ws) != 3:
            raise InvalidArgumentError(f"workgroup_size must be three counts >= 1, got {ws}")
        object.__setattr__(self, "workgroup_size", ws)
        object.__setattr__(
            self, "local_memory_size", _count(self.local_memory_size, "local_memory_size")
        )


@dataclass
class ExecutableSource:
    """Entry points plus the same kernels in one or more formats.

    ``formats`` maps a format name ("c", "spirv", "cuda", …) to its payload; a driver
    takes the first format, in the mapping's order, that it can load.
    """

    entry_points: Sequence[EntryPoint]
    formats: Mapping[str, FormatPayload] = field(default_factory=dict)

    def __post_init__(self) -> None:
        """InvalidArgumentError unless ``entry_points`` is a sequence of EntryPoint and
        ``formats`` a mapping from format names (str) to payloads.  Bytes given for a
        text format (:data:`TEXT_FORMATS`, also inside a per-entry-point mapping) are
        decoded as UTF-8 here, so that drivers only ever see text for them."""
        if isinstance(self.entry_points, (str, bytes)) or not isinstance(
            self.entry_points, Iterable
        ):
            raise InvalidArgumentError(
                f"entry_points is a list of EntryPoint, got {self.entry_points!r}"
            )
        if not isinstance(self.entry_points, Sequence):
            self.entry_points = tuple(self.entry_points)
        for ep in self.entry_points:
            if not isinstance(ep, EntryPoint):
                raise InvalidArgumentError(f"expected EntryPoint, got {type(ep).__name__}")
        if not isinstance(self.formats, Mapping):
            raise InvalidArgumentError(
                f"formats maps format names to payloads, got {type(self.formats).__name__}"
            )
        decoded: dict[str, FormatPayload] = {}
        for fmt, payload in self.formats.items():
            if not isinstance(fmt, str):
                raise InvalidArgumentError(f"format names are str, got {fmt!r}")
            if fmt in TEXT_FORMATS:
                payload = _text_payload(fmt, payload)
            decoded[fmt] = payload
        if any(decoded[k] is not v for k, v in self.formats.items()):
            self.formats = decoded


def _text_payload(fmt: str, payload: FormatPayload) -> FormatPayload:
    """A text format's payload with bytes decoded (strict UTF-8)."""
    if isinstance(payload, Mapping):
        decoded = {name: _text_module(fmt, module) for name, module in payload.items()}
        return payload if all(decoded[k] is v for k, v in payload.items()) else decoded
    return _text_module(fmt, payload)


def _text_module(fmt: str, payload: _Payload) -> _Payload | str:
    """One module of a text format with bytes decoded (strict UTF-8)."""
    if isinstance(payload, (bytes, bytearray, memoryview)):
        try:
            return bytes(payload).decode("utf-8")
        except UnicodeDecodeError as e:
            raise InvalidArgumentError(f"format {fmt!r}: source is not UTF-8 text ({e})") from None
    return payload


class Executable:
    """A loaded executable: ``entry_points`` in index order plus the driver's handle."""

    __slots__ = (
        "device",
        "entry_points",
        "format",
        "native",
        "_by_name",
        "_kernels",
        "__weakref__",
    )

    def __init__(
        self, device: Device, entry_points: Sequence[EntryPoint], fmt: str, native: LoadedExecutable
    ):
        self.device = device
        self.entry_points: tuple[EntryPoint, ...] = tuple(entry_points)
        self.format = fmt
        self.native = native
        self._by_name = {e.name: i for i, e in enumerate(self.entry_points)}
        self._kernels = _kernel_table(device, self.entry_points, native, self._by_name)

    def lookup(self, name: str) -> int:
        """The index of the entry point called ``name``; NotFoundError if none,
        InvalidArgumentError if ``name`` is not a str."""
        if not isinstance(name, str):
            raise InvalidArgumentError(f"entry point names are str, got {name!r}")
        try:
            return self._by_name[name]
        except KeyError:
            raise NotFoundError(
                f"no entry point {name!r}; this executable has {list(self._by_name)}"
            ) from None

    def resolve(self, entry_point: int | str) -> int:
        """An entry point index from an index or a name; InvalidArgumentError for anything
        else or an index out of range, NotFoundError for an unknown name."""
        if isinstance(entry_point, str):
            return self.lookup(entry_point)
        try:
            if isinstance(entry_point, bool):
                raise TypeError
            index = operator.index(entry_point)
        except TypeError:
            raise InvalidArgumentError(
                f"entry point is an index or a name, got {entry_point!r}"
            ) from None
        if not 0 <= index < len(self.entry_points):
            raise InvalidArgumentError(
                f"entry point index {index} out of range; executable has {len(self.entry_points)}"
            )
        return index

    def __repr__(self) -> str:
        return f"Executable({[e.name for e in self.entry_points]}, format={self.format!r})"


def _kernel_table(
    device: Device,
    entry_points: Sequence[EntryPoint],
    native: LoadedExecutable,
    names: dict[str, int],
) -> _stream.KernelTable:
    """The recorder's table of an executable's entry points: each one's layout, the two
    words its driver's executor calls it by (local: the function and the environment
    pointers; cuda: the CUfunction; vulkan: none), workgroup size and local memory."""
    entries = []
    for i, ep in enumerate(entry_points):
        fn, env, local = native.kernel(i, ep)
        entries.append((ep.layout, ep.layout._info, fn, env, ep.workgroup_size, local, ep.name))
    return _stream.KernelTable(device, entries, native.binding_alignment, names)
