"""The dump model: the executables and dispatches of one IREE compilation, and their
manifest (:meth:`IreeDump.save`, :func:`load_saved`)."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import spirv
from ..buffer import Buffer
from ..command_buffer import Slot
from ..errors import FailedPreconditionError, InvalidArgumentError, NotFoundError
from ..executable import (
    DescriptorSetLayout,
    DescriptorSetLayoutBinding,
    EntryPoint,
    ExecutableSource,
    PipelineLayout,
)
from ..types import WHOLE_BUFFER, DescriptorFlags
from .compiler import DRIVER_FORMATS

if TYPE_CHECKING:
    from ..command_buffer import CommandBuffer
    from ..device import Device
    from ..executable import Executable

    #: What stands for one binding: a buffer or a table slot, whole or as (offset[, length]).
    BindingArg = Buffer | Slot | tuple[Buffer | Slot, int] | tuple[Buffer | Slot, int, int]


@dataclass(frozen=True)
class BindingInfo:
    """One binding of a dispatch: where IREE's benchmark put it and what the kernel reads."""

    index: int
    read_only: bool = False
    #: Bytes the benchmark bound (the exact tensor size for static shapes), or None.
    length: int | None = None
    #: Element type as MLIR spells it ("f32") and as numpy does ("float32"), when known.
    element_type: str | None = None
    dtype: str | None = None
    #: Static shape of the tensor the kernel sees, when known.
    shape: tuple[int, ...] | None = None
    #: Bytes in which the kernel reads and writes the binding (SPIR-V: the array stride of
    #: its storage buffer, 4 for i8 data IREE accesses as i32 words, 16 for ``vec4``): the
    #: range bound must be a whole number of them, or the tail falls outside it.
    granularity: int = 1

    @property
    def padded_length(self) -> int | None:
        """``length`` rounded up to ``granularity``: the bytes to allocate for this binding
        (odd-sized i8 data on vulkan needs up to 3 more than the tensor), or None."""
        return None if self.length is None else _round_up(self.length, self.granularity)


@dataclass
class IreeExecutable:
    """One polyhal executable made from dumped binaries (a linked .so / .ptx, or SPIR-V)."""

    name: str
    format: str
    paths: tuple[Path, ...]
    entry_points: list[EntryPoint] = field(default_factory=list)

    @property
    def source(self) -> ExecutableSource:
        """The ``hal.ExecutableSource`` to pass to ``device.create_executable``."""
        payload: dict[str, bytes] | str
        if self.format == "spirv":
            # One module per entry point: the payload maps each entry point to its module.
            payload = {}
            for p in self.paths:
                blob = p.read_bytes()
                for name in spirv.compute_entry_point_names(blob):
                    payload[name] = blob
        elif self.format == "ptx":
            payload = self.paths[0].read_text(encoding="utf-8")
        else:
            payload = str(self.paths[0])
        return ExecutableSource(list(self.entry_points), {self.format: payload})


@dataclass
class IreeDispatch:
    """One dispatch: which kernel, its layout, its bindings and its workgroup count."""

    name: str
    executable: IreeExecutable
    entry_point: EntryPoint
    bindings: tuple[BindingInfo, ...] = ()
    #: (x, y, z) as the host program launches it, or None where that is not a constant
    #: (``workgroup_count_note`` says why).
    workgroup_count: tuple[int, int, int] | None = None
    #: Push constants as the host program (else the benchmark) passes them, where they are
    #: constants.
    constants: tuple[int, ...] = ()
    benchmark: Path | None = None
    #: Bytes of workgroup-local memory the kernel needs at launch (CUDA: dynamic shared
    #: memory, which IREE's PTX declares as ``extern .shared``; CPU: ``local_memory``).
    local_memory_size: int = 0
    #: Why ``workgroup_count`` is None (dynamic shapes, no host program, …), when it is.
    workgroup_count_note: str | None = None

    @property
    def constant_count(self) -> int:
        """Push constants (32-bit words) the kernel takes."""
        return self.entry_point.layout.push_constants

    @property
    def binding_count(self) -> int:
        """Bindings the kernel takes."""
        return len(self.entry_point.layout.binding_slots)

    def record(
        self,
        command_buffer: CommandBuffer,
        executables: Mapping[str, Executable] | Executable,
        buffers: Sequence[BindingArg],
        *,
        constants: Sequence[int] | None = None,
        workgroup_count: Sequence[int] | int | None = None,
    ) -> None:
        """Record this dispatch into ``command_buffer``.

        ``executables``: the mapping :meth:`IreeDump.create_executables` returns, or the one
        ``hal.Executable`` holding this entry point.  ``buffers``: one per binding, in binding
        order — a Buffer, ``hal.Slot`` or ``(buffer, offset[, length])``.

        Each range must be a whole number of the binding's ``granularity`` bytes (SPIR-V
        kernels access storage buffers in words or vectors): a range that is not is
        widened to the next whole one where its buffer has the room, and raises
        InvalidArgumentError naming the size it needs where it has not.  Allocate
        :attr:`BindingInfo.padded_length` bytes.  A slot's range is widened where it has a
        length; a whole-slot binding is the caller's to size.

        A dispatch whose workgroup count is unknown (:attr:`workgroup_count_note` says
        why) raises FailedPreconditionError unless ``workgroup_count`` is passed.
        """
        exe = executables[self.executable.name] if isinstance(executables, Mapping) else executables
        counts = workgroup_count if workgroup_count is not None else self.workgroup_count
        if counts is None:
            why = self.workgroup_count_note or "the dump does not say it"
            raise FailedPreconditionError(
                f"dispatch {self.name!r} has no known workgroup count: {why}; pass workgroup_count="
            )
        if len(buffers) != self.binding_count:
            raise InvalidArgumentError(
                f"dispatch {self.name!r} takes {self.binding_count} bindings, got {len(buffers)}"
            )
        values = list(constants if constants is not None else self.constants)
        if len(values) != self.constant_count:
            raise InvalidArgumentError(
                f"dispatch {self.name!r} takes {self.constant_count} push constants, "
                f"got {len(values)}"
            )
        bindings = [self._binding(i, b) for i, b in enumerate(buffers)]
        command_buffer.dispatch(
            exe,
            self.name,
            counts if isinstance(counts, int) else tuple(counts),
            constants=values if values else None,
            bindings=bindings,
        )

    def _binding(self, index: int, arg: BindingArg) -> tuple[Any, ...]:
        """``(index, buffer, offset[, length])`` for ``command_buffer.dispatch``, the range
        widened to whole units of the binding's granularity.  What is not a well-formed
        binding is passed on as given, for ``dispatch`` to report."""
        plain = (index, *arg) if isinstance(arg, tuple) else (index, arg)
        unit = self.bindings[index].granularity if index < len(self.bindings) else 1
        if unit <= 1 or (isinstance(arg, tuple) and not 2 <= len(arg) <= 3):
            return plain
        buffer, offset = (arg[0], arg[1]) if isinstance(arg, tuple) else (arg, 0)
        length = arg[2] if isinstance(arg, tuple) and len(arg) == 3 else WHOLE_BUFFER
        if not (isinstance(buffer, Buffer | Slot) and type(offset) is int and type(length) is int):
            return plain
        if isinstance(buffer, Slot):
            # The table's buffer is not known yet: a whole slot is the caller's to size.
            if length == WHOLE_BUFFER:
                return plain
            return (index, buffer, offset, _round_up(length, unit))
        room = buffer.size - offset
        bound = room if length == WHOLE_BUFFER else length
        if room < 0 or bound < 0 or bound % unit == 0:
            return plain
        need = _round_up(bound, unit)
        if need > room:
            raise InvalidArgumentError(
                f"binding {index} of dispatch {self.name!r} covers {bound} bytes, but the "
                f"kernel accesses it in {unit}-byte units: it needs {need} bytes from offset "
                f"{offset} (allocate BindingInfo.padded_length), the buffer has {room}"
            )
        return (index, buffer, offset, need)


def _round_up(n: int, unit: int) -> int:
    return -(-n // unit) * unit


class IreeDump:
    """The executables and dispatches of one IREE compilation, for one driver.

    ``failed`` maps each dispatch that compiled but could not be loaded to the reason.
    """

    def __init__(
        self,
        driver: str,
        executables: Sequence[IreeExecutable],
        dispatches: Sequence[IreeDispatch],
        *,
        failed: Mapping[str, str] | None = None,
    ):
        self.driver = driver
        self.format = DRIVER_FORMATS[driver]
        self.executables: dict[str, IreeExecutable] = {e.name: e for e in executables}
        self.dispatches: dict[str, IreeDispatch] = {d.name: d for d in dispatches}
        self.failed: dict[str, str] = dict(failed or {})

    def dispatch(self, name: str) -> IreeDispatch:
        """The dispatch called ``name``, else the only one whose name contains it.

        NotFoundError where none matches; FailedPreconditionError, with the reason, where
        the one that matches is a dispatch the dump could not load (:attr:`failed`).
        """
        if name in self.dispatches:
            return self.dispatches[name]
        matches = [d for n, d in self.dispatches.items() if name in n]
        if len(matches) == 1:
            return matches[0]
        if not matches:
            broken = [n for n in self.failed if name == n or name in n]
            if len(broken) == 1:
                raise FailedPreconditionError(
                    f"dispatch {broken[0]!r} compiled but could not be loaded: "
                    f"{self.failed[broken[0]]}"
                )
            raise NotFoundError(
                f"no dispatch matches {name!r}; the dump has {list(self.dispatches)}"
                + (f" (and could not load {list(self.failed)})" if self.failed else "")
            )
        raise InvalidArgumentError(
            f"{name!r} matches several dispatches: {[d.name for d in matches]}"
        )

    def create_executables(self, device: Device) -> dict[str, Executable]:
        """``device.create_executable`` for every executable; name → ``hal.Executable``."""
        return {name: device.create_executable(e.source) for name, e in self.executables.items()}

    def __iter__(self) -> Iterator[IreeDispatch]:
        return iter(self.dispatches.values())

    def __len__(self) -> int:
        return len(self.dispatches)

    def __repr__(self) -> str:
        return (
            f"IreeDump(driver={self.driver!r}, executables={list(self.executables)}, "
            f"dispatches={list(self.dispatches)})"
        )

    def save(self, directory: str | os.PathLike[str]) -> Path:
        """Writes the binaries and a ``manifest.json`` of every resolved dispatch into
        ``directory``, so :func:`load_saved` can run them where no compiler is installed
        (a GPU machine, say).  Returns the manifest's path."""
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        executables = []
        for e in self.executables.values():
            files = []
            for i, path in enumerate(e.paths):
                name = f"{e.name}.{i}{path.suffix}"
                shutil.copyfile(path, out / name)
                files.append(name)
            executables.append(
                {
                    "name": e.name,
                    "format": e.format,
                    "files": files,
                    "entry_points": [_entry_point_json(ep) for ep in e.entry_points],
                }
            )
        dispatches = [
            {
                "name": d.name,
                "executable": d.executable.name,
                "entry_point": _entry_point_json(d.entry_point),
                "bindings": [dataclasses.asdict(b) for b in d.bindings],
                "workgroup_count": d.workgroup_count,
                "constants": list(d.constants),
                "local_memory_size": d.local_memory_size,
                "workgroup_count_note": d.workgroup_count_note,
            }
            for d in self.dispatches.values()
        ]
        manifest = out / "manifest.json"
        manifest.write_text(
            json.dumps(
                {
                    "driver": self.driver,
                    "executables": executables,
                    "dispatches": dispatches,
                    "failed": self.failed,
                },
                indent=1,
            )
        )
        return manifest


def load_saved(directory: str | os.PathLike[str]) -> IreeDump:
    """An :class:`IreeDump` written by :meth:`IreeDump.save`; needs no compiler."""
    root = Path(directory)
    try:
        manifest = json.loads((root / "manifest.json").read_text())
    except (OSError, ValueError) as e:
        raise InvalidArgumentError(f"no readable manifest.json in {root}: {e}") from None
    try:
        executables = {
            e["name"]: IreeExecutable(
                e["name"],
                e["format"],
                tuple(root / f for f in e["files"]),
                [_entry_point_from_json(ep) for ep in e["entry_points"]],
            )
            for e in manifest["executables"]
        }
        dispatches = []
        for d in manifest["dispatches"]:
            bindings = tuple(
                BindingInfo(
                    b["index"],
                    b["read_only"],
                    b["length"],
                    b["element_type"],
                    b["dtype"],
                    tuple(b["shape"]) if b["shape"] is not None else None,
                    b.get("granularity", 1),
                )
                for b in d["bindings"]
            )
            count = d["workgroup_count"]
            dispatches.append(
                IreeDispatch(
                    d["name"],
                    executables[d["executable"]],
                    _entry_point_from_json(d["entry_point"]),
                    bindings,
                    tuple(count) if count is not None else None,
                    tuple(d["constants"]),
                    None,
                    d["local_memory_size"],
                    d.get("workgroup_count_note"),
                )
            )
        return IreeDump(
            manifest["driver"],
            list(executables.values()),
            dispatches,
            failed=manifest.get("failed") or {},
        )
    except (KeyError, TypeError, ValueError) as e:
        raise InvalidArgumentError(f"malformed manifest.json in {root}: {e!r}") from None


def _entry_point_json(ep: EntryPoint) -> dict[str, Any]:
    return {
        "name": ep.name,
        "workgroup_size": list(ep.workgroup_size),
        "local_memory_size": ep.local_memory_size,
        "push_constants": ep.layout.push_constants,
        "sets": [[[b.index, int(b.flags)] for b in s.bindings] for s in ep.layout.set_layouts],
    }


def _entry_point_from_json(data: Mapping[str, Any]) -> EntryPoint:
    layout = PipelineLayout(
        [
            DescriptorSetLayout([DescriptorSetLayoutBinding(i, DescriptorFlags(f)) for i, f in s])
            for s in data["sets"]
        ],
        push_constants=data["push_constants"],
    )
    return EntryPoint(
        data["name"],
        layout,
        workgroup_size=tuple(data["workgroup_size"]),
        local_memory_size=data.get("local_memory_size", 0),
    )
