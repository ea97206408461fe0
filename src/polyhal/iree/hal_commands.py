"""``hal.command_buffer.*``: IREE's command buffer imports on polyhal's CommandBuffer.

A command buffer is begun when created, as IREE's are.  A dispatch binding
``(reserved, slot, buffer, offset, length)`` with a null buffer is binding-table slot
``slot`` (``polyhal.Slot``), resolved by each ``queue.execute.indirect``.  Part of
:mod:`polyhal.iree.hal_module`.
"""

from __future__ import annotations

from typing import Any

from ..buffer import Buffer
from ..command_buffer import CommandBuffer, Slot
from ..device import Device
from ..errors import (
    InvalidArgumentError,
    UnimplementedError,
)
from ..types import (
    WHOLE_BUFFER,
)
from . import hal_executables
from .hal_executables import HalExecutable
from .hal_types import (
    CATEGORIES,
    MODE_BITS,
    MODES,
    STAGE_BITS,
    UNSUPPORTED_DISPATCH_FLAGS,
    bad_argument,
    fill_pattern,
    hot,
    iree_length,
    slot_ref,
    vm_bytes,
    vm_text,
)


class CommandBufferImports:
    """The ``hal.command_buffer.*`` imports (a part of HalModule)."""

    # -- command buffers --------------------------------------------------------------------
    @hot
    def _command_buffer__create(
        self, device: Device, modes: int, categories: int, affinity: int, binding_capacity: int
    ) -> CommandBuffer:
        try:
            cb = device.create_command_buffer(
                MODES[modes & MODE_BITS], CATEGORIES[categories & 3], binding_capacity
            )
            cb.begin()
            return cb
        except (AttributeError, TypeError) as e:
            raise bad_argument("hal.command_buffer.create", e) from None

    @hot
    def _command_buffer__finalize(self, cb: CommandBuffer) -> None:
        try:
            cb.end()
        except (AttributeError, TypeError) as e:
            raise bad_argument("hal.command_buffer.finalize", e) from None

    def _command_buffer__begin_debug_group(self, cb: CommandBuffer, label: Any) -> None:
        cb.begin_debug_group(vm_text(label))

    def _command_buffer__end_debug_group(self, cb: CommandBuffer) -> None:
        cb.end_debug_group()

    @hot
    def _command_buffer__execution_barrier(
        self, cb: CommandBuffer, source: int, target: int, flags: int
    ) -> None:
        try:
            cb.execution_barrier(source & STAGE_BITS, target & STAGE_BITS, flags)
        except (AttributeError, TypeError) as e:
            raise bad_argument("hal.command_buffer.execution_barrier", e) from None

    def _command_buffer__advise_buffer(
        self, cb: CommandBuffer, buffer: Buffer | None, flags: int, a: int, b: int, slot: int
    ) -> None:
        # Advice changes no result; recorded nowhere (polyhal has no memory advice).
        cb._recording(3)

    def _command_buffer__flush_buffer(
        self, cb: CommandBuffer, slot: int, buffer: Buffer | None, offset: int, length: int
    ) -> None:
        # polyhal's host-visible memory is coherent: nothing to flush.
        cb._recording(3)

    def _command_buffer__invalidate_buffer(
        self, cb: CommandBuffer, slot: int, buffer: Buffer | None, offset: int, length: int
    ) -> None:
        # polyhal's host-visible memory is coherent: nothing to invalidate.
        cb._recording(3)

    @hot
    def _command_buffer__fill_buffer(
        self,
        cb: CommandBuffer,
        target: Buffer | None,
        offset: int,
        length: int,
        slot: int,
        pattern: int,
        pattern_length: int,
        flags: int,
    ) -> None:
        try:
            value, plen = fill_pattern(pattern, pattern_length)
            cb.fill_buffer(
                target if target is not None else slot_ref(slot),
                offset,
                iree_length(length),
                value,
                plen,
            )
        except (AttributeError, TypeError) as e:
            raise bad_argument("hal.command_buffer.fill_buffer", e) from None

    def _command_buffer__update_buffer(
        self,
        cb: CommandBuffer,
        source: Any,
        source_offset: int,
        target: Buffer | None,
        target_offset: int,
        length: int,
        slot: int,
        flags: int,
    ) -> None:
        cb.update_buffer(
            vm_bytes(source),
            source_offset,
            target if target is not None else slot_ref(slot),
            target_offset,
            length,
        )

    @hot
    def _command_buffer__copy_buffer(
        self,
        cb: CommandBuffer,
        source_slot: int,
        target_slot: int,
        source: Buffer | None,
        source_offset: int,
        target: Buffer | None,
        target_offset: int,
        length: int,
        flags: int,
    ) -> None:
        try:
            cb.copy_buffer(
                source if source is not None else slot_ref(source_slot),
                source_offset,
                target if target is not None else slot_ref(target_slot),
                target_offset,
                length if length >= 0 else WHOLE_BUFFER,  # iree_length, without its frame
            )
        except (AttributeError, TypeError) as e:
            raise bad_argument("hal.command_buffer.copy_buffer", e) from None

    def _command_buffer__collective(self, *args: Any) -> None:
        raise UnimplementedError("hal.command_buffer.collective: collectives are not implemented")

    @hot
    def _command_buffer__dispatch(
        self,
        cb: CommandBuffer,
        exe: HalExecutable,
        function: int,
        x: int,
        y: int,
        z: int,
        flags: int,
        constants: list[int],
        bindings: list[tuple[int, int, Buffer | None, int, int]],
    ) -> None:
        try:
            # _function's checks, written out: a call records this for each dispatch, and a
            # frame, like a comprehension's, is a share of its microseconds.
            if (
                type(exe) is not HalExecutable
                or flags & UNSUPPORTED_DISPATCH_FLAGS
                or not 0 <= function < len(exe.functions)
            ):
                self._function(exe, function, flags)  # raises, naming what is wrong
            f = exe.functions[function]
            if f.sets is None:
                specs = []
                i = 0
                for _, slot, b, off, n in bindings:
                    specs.append(
                        (
                            i,
                            b if b is not None else slot_ref(slot),
                            off,
                            n if n >= 0 else WHOLE_BUFFER,
                        )
                    )
                    i += 1
                # IREE's compiler leaves dispatches that write disjoint parts of one
                # binding between the same barriers (two reductions into one small
                # results buffer); checked mode's race check sees only whole bindings, so
                # there each dispatch goes between barriers.
                guard = cb.device.checked
                if guard:
                    cb.execution_barrier()
                cb.dispatch(
                    exe.executable, function, (x, y, z), constants=constants, bindings=specs
                )
                if guard:
                    cb.execution_barrier()
                return
            self._dispatch_sets(cb, exe, function, f, constants, bindings, (x, y, z), None)
        except (AttributeError, TypeError) as e:
            raise bad_argument("hal.command_buffer.dispatch", e) from None

    def _command_buffer__dispatch__indirect(
        self,
        cb: CommandBuffer,
        exe: HalExecutable,
        function: int,
        workgroups_slot: int,
        workgroups: Buffer | None,
        workgroups_offset: int,
        flags: int,
        constants: list[int],
        bindings: list[tuple[int, int, Buffer | None, int, int]],
    ) -> None:
        f = self._function(exe, function, flags)
        source = workgroups if workgroups is not None else slot_ref(workgroups_slot)
        self._dispatch_sets(
            cb, exe, function, f, constants, bindings, None, (source, workgroups_offset)
        )

    def _function(self, exe: HalExecutable, function: int, flags: int) -> hal_executables.Function:
        if type(exe) is not HalExecutable:
            raise InvalidArgumentError(f"expected a !hal.executable, got {type(exe).__name__}")
        if flags & UNSUPPORTED_DISPATCH_FLAGS:
            raise UnimplementedError(
                f"dispatch flags {flags:#x}: custom or indirect dispatch arguments"
            )
        if not 0 <= function < len(exe.functions):
            raise InvalidArgumentError(
                f"function {function} of an executable of {len(exe.functions)}"
            )
        return exe.functions[function]

    def _dispatch_sets(
        self,
        cb: CommandBuffer,
        exe: HalExecutable,
        function: int,
        f: hal_executables.Function,
        constants: list[int],
        bindings: list[tuple[int, int, Buffer | None, int, int]],
        counts: tuple[int, int, int] | None,
        indirect: tuple[Buffer | Slot, int] | None,
    ) -> None:
        """A dispatch whose bindings are pushed set by set (several descriptor sets, or
        an indirect dispatch)."""
        if len(bindings) != f.binding_count:
            raise InvalidArgumentError(
                f"dispatch of {exe.executable.entry_points[function].name!r} with "
                f"{len(bindings)} bindings; the function has {f.binding_count}"
            )
        specs = [
            (b if b is not None else slot_ref(slot), off, n if n >= 0 else WHOLE_BUFFER)
            for _, slot, b, off, n in bindings
        ]
        layout = exe.executable.entry_points[function].layout
        guard = cb.device.checked  # as in _command_buffer__dispatch
        if guard:
            cb.execution_barrier()
        sets = f.sets or ((0, tuple(range(len(specs)))),)
        first = 0
        for set_index, numbers in sets:
            cb.push_descriptor_set(
                layout,
                set_index,
                [(n, *specs[first + i]) for i, n in enumerate(numbers)],
            )
            first += len(numbers)
        if constants:
            cb.push_constants(layout, 0, constants)
        if indirect is None:
            assert counts is not None
            cb.dispatch(exe.executable, function, counts)
        else:
            cb.dispatch_indirect(exe.executable, function, indirect[0], indirect[1])
        if guard:
            cb.execution_barrier()
