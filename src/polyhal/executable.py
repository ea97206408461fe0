"""Pipeline layouts, entry points and executables (the driver-independent part)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .errors import InvalidArgumentError, NotFoundError
from .types import DescriptorFlags

if TYPE_CHECKING:
    from .device import Device


@dataclass(frozen=True)
class DescriptorSetLayoutBinding:
    """One storage-buffer binding of a descriptor set."""

    index: int
    flags: DescriptorFlags = DescriptorFlags.NONE


class DescriptorSetLayout:
    """The bindings of one descriptor set, kept sorted by index."""

    __slots__ = ("bindings", "indices")

    def __init__(self, bindings: Iterable[DescriptorSetLayoutBinding | int]):
        items = [
            b if isinstance(b, DescriptorSetLayoutBinding) else DescriptorSetLayoutBinding(int(b))
            for b in bindings
        ]
        indices = [b.index for b in items]
        if any(i < 0 for i in indices) or len(set(indices)) != len(indices):
            raise InvalidArgumentError(
                f"descriptor set binding indices must be unique and >= 0: {indices}")
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

    __slots__ = ("set_layouts", "push_constants", "binding_slots")

    def __init__(self, set_layouts: Sequence[DescriptorSetLayout] = (), push_constants: int = 0):
        if push_constants < 0:
            raise InvalidArgumentError(f"push_constants must be >= 0, got {push_constants}")
        self.set_layouts: tuple[DescriptorSetLayout, ...] = tuple(set_layouts)
        for s in self.set_layouts:
            if not isinstance(s, DescriptorSetLayout):
                raise InvalidArgumentError(f"expected DescriptorSetLayout, got {type(s).__name__}")
        self.push_constants = int(push_constants)
        self.binding_slots: tuple[tuple[int, int], ...] = tuple(
            (si, b.index) for si, s in enumerate(self.set_layouts) for b in s.bindings
        )

    @property
    def binding_count(self) -> int:
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
        from .buffer import as_index

        try:
            ws = tuple(as_index(v, "workgroup_size") for v in self.workgroup_size)
        except TypeError:
            raise InvalidArgumentError(
                f"workgroup_size must be three counts >= 1, got {self.workgroup_size!r}"
            ) from None
        if len(ws) != 3 or any(v < 1 for v in ws):
            raise InvalidArgumentError(f"workgroup_size must be three counts >= 1, got {ws}")
        object.__setattr__(self, "workgroup_size", ws)


@dataclass
class ExecutableSource:
    """Entry points plus the same kernels in one or more formats.

    ``formats`` maps a format name ("c", "spirv", "cuda", …) to its payload; a driver
    takes the first format, in the mapping's order, that it can load.
    """

    entry_points: Sequence[EntryPoint]
    formats: Mapping[str, Any] = field(default_factory=dict)


class Executable:
    """A loaded executable: ``entry_points`` in index order plus the driver's handle."""

    __slots__ = ("device", "entry_points", "format", "native", "_by_name", "__weakref__")

    def __init__(self, device: Device, entry_points: Sequence[EntryPoint], fmt: str, native: Any):
        self.device = device
        self.entry_points: tuple[EntryPoint, ...] = tuple(entry_points)
        self.format = fmt
        self.native = native
        self._by_name = {e.name: i for i, e in enumerate(self.entry_points)}

    def lookup(self, name: str) -> int:
        """The index of the entry point called ``name``; NotFoundError if none."""
        try:
            return self._by_name[name]
        except KeyError:
            raise NotFoundError(
                f"no entry point {name!r}; this executable has {list(self._by_name)}"
            ) from None

    def resolve(self, entry_point: int | str) -> int:
        """An entry point index from an index or a name."""
        if isinstance(entry_point, str):
            return self.lookup(entry_point)
        index = int(entry_point)
        if not 0 <= index < len(self.entry_points):
            raise InvalidArgumentError(
                f"entry point index {index} out of range; executable has {len(self.entry_points)}"
            )
        return index

    def __repr__(self) -> str:
        return f"Executable({[e.name for e in self.entry_points]}, format={self.format!r})"
