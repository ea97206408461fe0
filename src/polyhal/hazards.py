"""Checked mode's hazard detection: races inside a command buffer, host access to memory
that pending submissions use.

Both checks run only on devices created with ``checked=True`` (or ``POLYHAL_CHECKED=1``);
the front end calls in here behind one ``device.checked`` test, so an unchecked device
pays nothing else.  Every hazard is a FailedPreconditionError naming both sides.

**Races.**  The commands of one command buffer between two barriers form a *group*, and
the commands of a group may run concurrently and in any order: ``vulkan`` orders nothing
without a pipeline barrier (dispatches, fills, copies and updates alike), ``local`` runs
consecutive dispatches concurrently.  Two commands of a group race when their ranges of
one allocation overlap and at least one of them writes.  What a command reads and writes:

- dispatch: bindings flagged READ_ONLY in the entry point's layout are read, every other
  binding may be written; an indirect dispatch also reads its workgroups buffer;
- fill_buffer and update_buffer write their target; copy_buffer reads its source and
  writes its target; a collective reads its send and writes its recv binding;
- discard_buffer, events and debug groups touch no bytes.

Groups are split by ``execution_barrier`` and ``wait_events`` whatever their stage masks
and memory or buffer barriers (a too-narrow barrier is not diagnosed, so a correct
program never is); ``signal_event`` / ``reset_event`` order nothing and split nothing.
``execute_commands`` adds no barrier: drivers record the nested commands inline, so they
join the enclosing group (the nested buffer's own barriers split groups as usual).  The
command buffers of one ``queue_execute`` are separate (they run as if a full barrier stood
between them).  Two bindings of one dispatch may alias: that is not a race between
commands.  Races are reported on every device, ``dispatch_type="serial"`` and
``local-sync`` included: a command buffer is meant to run on any driver.  Direct buffer
ranges are checked at ``end()``; a group that uses binding-table slots is checked again
at ``queue_execute``, once the table resolves them.

**Host access.**  From ``queue_execute`` (and the queue_fill/update/copy helpers) until
the submission completes, successfully or not, its ranges are registered with the
device's tracker: ``Buffer.read``/``to_numpy`` of a range that it writes, and
``Buffer.write`` of a range that it reads or writes, raise FailedPreconditionError
naming the access and the submission (operation, parked or running, its signals, the
command and range), or with ``wait=`` wait for those submissions.  Parked submissions
count too (another thread may meet their waits at any moment), except, for an access
from inside a ``queue_host_call``, those that wait (directly or through other parked
submissions) on a semaphore that the host call signals: they cannot start before it
returns.  A submission's ranges are released before its signal semaphores are
signalled, so a host that waits on the semaphore first never sees a hazard.
``unsynchronized=True`` on the host access skips the check, for a caller that wants
whatever bytes are there (say, to show that parked work has not run yet).  Unchecked
devices track nothing: there ``wait=`` waits for the whole device to be idle.
"""

from __future__ import annotations

import sys
import threading
import time
import weakref
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from typing import TYPE_CHECKING

from . import commands as C
from .errors import DeadlineExceededError, FailedPreconditionError, InvalidArgumentError
from .semaphore import check_timeout
from .types import DescriptorFlags

if TYPE_CHECKING:
    from .buffer import Buffer
    from .command_buffer import CommandBuffer
    from .device import Device, _Submission
    from .drivers.base import Allocation, ResolvedBinding
    from .executable import PipelineLayout

    #: A command's index path: its index, and those of the nested command buffers around it.
    _Path = tuple[int, ...]
    #: An access: (allocation, start, end, writes, path, command, role).
    _Access = tuple[Allocation, int, int, bool, _Path, C.Command, str]
    #: A deferred access: (slot ref, writes, path, command, role).
    _Deferred = tuple[C.Ref, bool, _Path, C.Command, str]
    #: A command's direct range: (allocation, start, end, writes, role).
    _Direct = tuple[Allocation, int, int, bool, str]
    #: A command's slot range, resolved at submit: (ref, writes, role).
    _SlotUse = tuple[C.Ref, bool, str]
    #: A command of a group: (path, command, direct ranges, slot ranges).
    _Entry = tuple[_Path, C.Command, list[_Direct], list[_SlotUse]]
    #: A range a submission touches: (start, end, writes, path, command, role).
    _Range = tuple[int, int, bool, _Path, C.Command, str]
    #: Per binding of a layout: (may the kernel write it?, its name).
    _BindingUses = tuple[tuple[bool, str], ...]

_READ_ONLY = int(DescriptorFlags.READ_ONLY)
_SEPARATORS = (C.Barrier, C.WaitEvents)

# An access is (allocation, start, end, writes, path, command, role): the absolute byte
# range [start, end) of the allocation, and which command (its index path) touches it in
# which role, for the message.  A deferred access is (Ref, writes, path, command, role): a
# slot that only the binding table resolves.


# -- what each command touches ------------------------------------------------------------
def _binding_uses(layout: PipelineLayout, cache: dict[int, _BindingUses]) -> _BindingUses:
    """Per binding in ``binding_slots`` order: (may the kernel write it?, its name)."""
    uses = cache.get(id(layout))
    if uses is None:
        uses = cache[id(layout)] = tuple(
            (not int(b.flags) & _READ_ONLY, f"set {si} binding {b.index}")
            for si, s in enumerate(layout.set_layouts)
            for b in s.bindings
        )
    return uses


def _uses(cmd: C.Command, layouts: dict[int, _BindingUses]) -> list[_SlotUse]:
    """(ref, writes, role) of every buffer range ``cmd`` touches."""
    if isinstance(cmd, C.Dispatch):
        layout = cmd.executable.entry_points[cmd.entry_point].layout
        uses = [
            (ref, w, role)
            for ref, (w, role) in zip(cmd.bindings, _binding_uses(layout, layouts), strict=True)
        ]
        if cmd.indirect is not None:
            uses.append((cmd.indirect, False, "workgroups buffer"))
        return uses
    if isinstance(cmd, (C.Fill, C.Update)):
        return [(cmd.target, True, "target")]
    if isinstance(cmd, C.Copy):
        return [(cmd.source, False, "source"), (cmd.target, True, "target")]
    if isinstance(cmd, C.Collective):
        return [
            (ref, w, role)
            for ref, w, role in ((cmd.send, False, "send"), (cmd.recv, True, "recv"))
            if ref is not None
        ]
    return []


def _describe(path: _Path, cmd: C.Command, role: str) -> str:
    index = ".".join(str(i) for i in path)
    kind = type(cmd)
    if isinstance(cmd, C.Dispatch):
        name = cmd.executable.entry_points[cmd.entry_point].name
        what = f"dispatch{'_indirect' if cmd.workgroup_count is None else ''} of {name!r}"
    else:
        what = {
            C.Fill: "fill_buffer",
            C.Update: "update_buffer",
            C.Copy: "copy_buffer",
            C.Collective: "collective",
        }.get(kind, kind.__name__)
    nested = " (nested)" if len(path) > 1 else ""
    return f"command {index}{nested} ({what}, {role})"


def _alloc_name(alloc: Allocation) -> str:
    return f"allocation {id(alloc):#x} ({alloc.size} bytes)"


# -- groups and the race check --------------------------------------------------------------
class _Intervals:
    """A union of half-open ranges kept as sorted, disjoint (starts, ends)."""

    __slots__ = ("starts", "ends")

    def __init__(self) -> None:
        self.starts: list[int] = []
        self.ends: list[int] = []

    def overlaps(self, start: int, end: int) -> bool:
        # Only the last range starting before ``end`` can reach past ``start``: the ranges
        # are disjoint, so their ends are sorted too.
        i = bisect_left(self.starts, end) - 1
        return i >= 0 and self.ends[i] > start

    def add(self, start: int, end: int) -> None:
        starts, ends = self.starts, self.ends
        lo, hi = bisect_left(ends, start), bisect_right(starts, end)
        if hi - lo == 1 and starts[lo] <= start and end <= ends[lo]:
            return  # already covered (a range many commands read)
        if lo < hi:
            start, end = min(start, starts[lo]), max(end, ends[hi - 1])
        starts[lo:hi] = [start]
        ends[lo:hi] = [end]


class _Group:
    """The accesses of one group so far, per allocation: writes, reads and a log."""

    __slots__ = ("allocs",)

    def __init__(self) -> None:
        self.allocs: dict[Allocation, tuple[_Intervals, _Intervals, list[_Access]]] = {}

    def add_command(self, accesses: list[_Access]) -> None:
        """Checks one command's accesses against the group, then adds them (a command
        never races itself)."""
        allocs = self.allocs
        for access in accesses:
            state = allocs.get(access[0])
            if state is not None:
                start, end, writes = access[1], access[2], access[3]
                if state[0].overlaps(start, end) or (writes and state[1].overlaps(start, end)):
                    other = next(
                        a for a in state[2] if a[1] < end and start < a[2] and (a[3] or writes)
                    )
                    raise FailedPreconditionError(_race_message(other, access))
        for access in accesses:
            state = allocs.get(access[0])
            if state is None:
                state = allocs[access[0]] = (_Intervals(), _Intervals(), [])
            (state[0] if access[3] else state[1]).add(access[1], access[2])
            state[2].append(access)


def _race_message(first: _Access, second: _Access) -> str:
    alloc = first[0]
    start, end = max(first[1], second[1]), min(first[2], second[2])

    def side(a: _Access) -> str:
        return f"{_describe(a[4], a[5], a[6])} {'writes' if a[3] else 'reads'} [{a[1]}, {a[2]})"

    return (
        f"race in a command buffer: {side(first)} and {side(second)} of "
        f"{_alloc_name(alloc)} overlap at [{start}, {end}) with no execution_barrier "
        "between them; commands between barriers may run concurrently, so put a "
        "barrier between them"
    )


def _accesses(path: _Path, cmd: C.Command, direct: list[_Direct]) -> list[_Access]:
    return [
        (alloc, start, end, writes, path, cmd, role) for alloc, start, end, writes, role in direct
    ]


class _Walk:
    """One pass over a command list at end(): checks each group's direct ranges as it goes
    and keeps what submit needs.

    A group is kept as one entry per command, (path, command, direct ranges, deferred
    slots), and flattened into a :class:`_Group` only once a second command joins it, so
    a command between two barriers costs little.
    """

    __slots__ = (
        "layouts",
        "seen",
        "entries",
        "direct",
        "group",
        "slot_groups",
        "ranges",
        "deferred",
    )

    def __init__(self) -> None:
        self.layouts: dict[int, _BindingUses] = {}
        # (id(command), id(table)) → (direct [(alloc, start, end, writes, role)], deferred
        # [(ref, writes, role)]): the front end repeats one object for a repeated dispatch.
        self.seen: dict[tuple[int, int], tuple[list[_Direct], list[_SlotUse]]] = {}
        self.entries: list[_Entry] = []  # the current group's commands
        self.direct = False  # whether one of them has a direct range
        self.group: _Group | None = None
        self.slot_groups: list[list[_Entry]] = []  # groups with slots, checked at submit
        # (alloc, start, end, writes) → the first toucher (path, command, role)
        self.ranges: dict[tuple[Allocation, int, int, bool], tuple[_Path, C.Command, str]] = {}
        self.deferred: list[_Deferred] = []  # every deferred access

    def walk(
        self, commands: list[C.Command], table: Sequence[ResolvedBinding] | None, path: _Path
    ) -> None:
        for i, cmd in enumerate(commands):
            if type(cmd) in _SEPARATORS:
                self.end_group()
            elif isinstance(cmd, C.Execute):
                inner = cmd.binding_table if cmd.binding_table is not None else table
                self.walk(cmd.commands, inner, (*path, i))
            else:
                self.command((*path, i), cmd, table)

    def command(self, path: _Path, cmd: C.Command, table: Sequence[ResolvedBinding] | None) -> None:
        key = (id(cmd), id(table))
        known = self.seen.get(key)
        if known is None:
            direct: list[_Direct] = []
            deferred: list[_SlotUse] = []
            for ref, writes, role in _uses(cmd, self.layouts):
                if ref.alloc is None and table is None:
                    deferred.append((ref, writes, role))
                    continue
                alloc, start, length = ref.resolve(table if table is not None else ())
                if length:
                    direct.append((alloc, start, start + length, writes, role))
            known = self.seen[key] = (direct, deferred)
            for alloc, start, end, writes, role in direct:
                self.ranges.setdefault((alloc, start, end, writes), (path, cmd, role))
        direct, deferred = known
        if not direct and not deferred:
            return
        if deferred:
            self.deferred += [(ref, writes, path, cmd, role) for ref, writes, role in deferred]
        entries = self.entries
        if direct:
            group = self.group
            if group is None and self.direct:
                group = self.group = _Group()
                for e in entries:
                    group.add_command(_accesses(*e[:3]))
            if group is not None:
                group.add_command(_accesses(path, cmd, direct))
            self.direct = True
        entries.append((path, cmd, direct, deferred))

    def end_group(self) -> None:
        if any(e[3] for e in self.entries):
            self.slot_groups.append(self.entries)
        self.entries = []
        self.direct = False
        self.group = None


def check_slot_group(entries: list[_Entry], table: Sequence[ResolvedBinding]) -> None:
    """Raises FailedPreconditionError if two commands of a group race once ``table``
    resolves its slots."""
    group = _Group()
    for path, cmd, direct, deferred in entries:
        accesses = _accesses(path, cmd, direct)
        for ref, writes, role in deferred:
            alloc, start, length = ref.resolve(table)
            if length:
                accesses.append((alloc, start, start + length, writes, path, cmd, role))
        group.add_command(accesses)


class _Plan:
    """What end() leaves for submit: the groups that need the binding table, and the ranges
    the command buffer touches (direct ones by allocation, slots deferred)."""

    __slots__ = ("slot_groups", "ranges", "deferred")

    def __init__(self, walk: _Walk):
        self.slot_groups = walk.slot_groups
        ranges: dict[Allocation, list[_Range]] = {}
        for (alloc, start, end, writes), where in walk.ranges.items():
            ranges.setdefault(alloc, []).append((start, end, writes, *where))
        self.ranges = ranges
        self.deferred = walk.deferred


_plans: weakref.WeakKeyDictionary[CommandBuffer, _Plan] = weakref.WeakKeyDictionary()


def check_recording(cb: CommandBuffer) -> None:
    """At ``end()``: FailedPreconditionError if two commands with direct buffer ranges
    race; keeps what the submit-time checks need."""
    walk = _Walk()
    walk.walk(cb.commands, None, ())
    walk.end_group()
    _plans[cb] = _Plan(walk)


def _plan(cb: CommandBuffer) -> _Plan:
    plan = _plans.get(cb)
    if plan is None:  # ended before its device was checked: cannot happen through the API
        check_recording(cb)
        plan = _plans[cb]
    return plan


# -- submissions and the host ---------------------------------------------------------------
class Footprint:
    """A checked submission's ``keep``: what it keeps alive plus the ranges it touches.

    Built by ``queue_execute`` (which raises FailedPreconditionError here if slots make two
    commands race), registered when the submission is queued and released when it
    completes.
    """

    __slots__ = ("keep", "operation", "ranges", "submission", "tracker")

    def __init__(
        self, cbs: Sequence[CommandBuffer], table: Sequence[ResolvedBinding], keep: object
    ):
        self.keep = keep
        self.operation = _operation()
        self.submission: _Submission | None = None
        ranges: dict[Allocation, list[_Range]] = {}
        for cb in cbs:
            plan = _plan(cb)
            for entries in plan.slot_groups:
                check_slot_group(entries, table)
            if len(cbs) == 1 and not plan.deferred:
                ranges = plan.ranges  # shared, never modified
                break
            for alloc, touched in plan.ranges.items():
                ranges.setdefault(alloc, []).extend(touched)
            for ref, writes, path, cmd, role in plan.deferred:
                alloc, start, length = ref.resolve(table)
                if length:
                    ranges.setdefault(alloc, []).append(
                        (start, start + length, writes, path, cmd, role)
                    )
        self.ranges = ranges
        self.tracker = _tracker(cbs[0].device) if ranges else None

    def parked(self) -> bool:
        """Whether the submission still waits on semaphores (else it runs)."""
        return self.submission is not None and self.submission.pending > 0

    def describe(self) -> str:
        sub = self.submission
        if sub is None or sub.pending <= 0:  # not parked()
            state = "running"
        else:
            state = f"parked on {sub.pending} unmet wait(s)"
        signals = (
            ", ".join(f"semaphore {id(s):#x} to {v}" for s, v in sub.signals)
            if (sub is not None and sub.signals)
            else "nothing"
        )
        return f"a pending {self.operation} ({state}; it signals {signals})"


def _operation() -> str:
    """The public queue call that is submitting: queue_execute, or the queue_fill /
    queue_update / queue_copy helper that called it (found on the stack, since the helpers
    share one path; only the message uses it)."""
    frame = sys._getframe(2)  # _operation ← Footprint ← queue_execute
    caller = frame.f_back
    if caller is not None and caller.f_code.co_name == "_transfer" and caller.f_back:
        return caller.f_back.f_code.co_name
    return "queue_execute"


class _Tracker:
    """A device's pending ranges: allocation → {footprint: [(start, end, writes, path,
    command, role)]}."""

    __slots__ = ("lock", "cond", "pending", "waiters")

    def __init__(self) -> None:
        self.lock = threading.Lock()  # taken directly on the submit path: cheaper than cond
        self.cond = threading.Condition(self.lock)
        self.pending: dict[Allocation, dict[Footprint, list[_Range]]] = {}
        self.waiters = 0

    def conflict(
        self, alloc: Allocation, start: int, end: int, writes: bool
    ) -> tuple[Footprint, _Range] | None:
        """Under the lock: (footprint, entry) of a pending access that conflicts."""
        subs = self.pending.get(alloc)
        if not subs:
            return None
        behind = None
        for fp, entries in subs.items():
            for entry in entries:
                if entry[0] < end and start < entry[1] and (writes or entry[2]):
                    if behind is None:
                        behind = _behind_this_host_call(fp)
                    if fp.submission not in behind:
                        return fp, entry
                    break
        return None


def _behind_this_host_call(fp: Footprint) -> set[_Submission]:
    """The parked submissions that cannot start before the queue_host_call running on this
    thread completes (an access from inside it cannot race them): those waiting, directly
    or through other parked submissions, on a value of a semaphore that it signals."""
    sub = fp.submission
    if sub is None:
        return set()
    device = sub.device
    host_call = _running_submission(device)
    if host_call is None:
        return set()
    # A snapshot without the device's lock (copying a set is atomic under the GIL), so the
    # tracker's lock, held here, is never held while another is taken.
    parked = [s for s in tuple(device._inflight) if s.pending]
    blocked = {sem for sem, _ in host_call.signals}
    behind: set[_Submission] = set()
    grew = True
    while grew:
        grew = False
        for s in parked:
            # A timepoint handle is [value, callback]; a met one is no longer a blocker.
            if s not in behind and any(
                sem in blocked and not sem.reached(handle[0]) for sem, handle in list(s.handles)
            ):
                behind.add(s)
                blocked.update(sem for sem, _ in s.signals)
                grew = True
    return behind


def _running_submission(device: Device) -> _Submission | None:
    """The submission of ``device`` whose action runs on this thread (a queue_host_call's
    function), as the queue records it."""
    running: _Submission | None = getattr(device._tls, "running", None)
    return running


_trackers: weakref.WeakKeyDictionary[Device, _Tracker] = weakref.WeakKeyDictionary()
_trackers_lock = threading.Lock()


def _tracker(device: Device) -> _Tracker:
    tracker = _trackers.get(device)
    if tracker is None:
        with _trackers_lock:
            tracker = _trackers.get(device)
            if tracker is None:
                tracker = _trackers[device] = _Tracker()
    return tracker


def track(sub: _Submission) -> None:
    """Registers a queued submission's ranges (a no-op for other queue operations)."""
    fp = sub.keep
    if type(fp) is not Footprint or fp.tracker is None:
        return
    fp.submission = sub
    tracker = fp.tracker
    with tracker.lock:
        pending = tracker.pending
        for alloc, entries in fp.ranges.items():
            subs = pending.get(alloc)
            if subs is None:
                pending[alloc] = {fp: entries}
            else:
                subs[fp] = entries


def untrack(sub: _Submission) -> None:
    """Releases a completing submission's ranges, before its semaphores are signalled."""
    fp = sub.keep
    # track() set the submission only where the footprint has a tracker
    if type(fp) is not Footprint or fp.submission is None or fp.tracker is None:
        return
    tracker = fp.tracker
    with tracker.lock:
        pending = tracker.pending
        for alloc in fp.ranges:
            subs = pending.get(alloc)
            if subs is not None:
                subs.pop(fp, None)
                if not subs:
                    del pending[alloc]
        if tracker.waiters:
            tracker.cond.notify_all()


def _timeout(wait: bool | float) -> float | None:
    """``wait=`` of the host accesses: True → None (forever), seconds → seconds as
    :func:`~polyhal.semaphore.check_timeout` takes them (a timeout too long for the
    platform's waits, e.g. ``2**70``, is forever)."""
    if wait is True:
        return None
    if wait is not None:
        try:
            return check_timeout(wait, "wait")
        except InvalidArgumentError:
            pass
    raise InvalidArgumentError(f"wait is True, False or a timeout in seconds >= 0, got {wait!r}")


def host_access(buffer: Buffer, offset: int, length: int, writes: bool, wait: bool | float) -> None:
    """Before a host ``read``/``write`` of ``[offset, offset+length)`` of ``buffer``.

    Checked device: FailedPreconditionError if a pending submission writes that range (or,
    for a write, reads it); with ``wait`` True or a timeout in seconds, waits for those
    submissions instead (DeadlineExceededError when the timeout passes).  Unchecked
    device: tracks nothing, so ``wait`` waits for the whole device to be idle.
    """
    timeout = None if wait is False else _timeout(wait)
    device = buffer.device
    if not device.checked:
        if wait is not False:
            device.wait_idle(timeout)
        return
    tracker = _trackers.get(device)
    if tracker is None or not tracker.pending or not length:
        return  # nothing pending: the common case, checked without the lock
    alloc = buffer.alloc
    start = buffer.offset + offset
    end = start + length
    with tracker.cond:
        found = tracker.conflict(alloc, start, end, writes)
        if found is None:
            return
        if wait is False:
            raise FailedPreconditionError(
                _host_message(buffer, offset, length, writes, found)
                + "; wait on its signal semaphore first, or pass "
                "wait=True (or a timeout in seconds)"
            )
        deadline = None if timeout is None else time.monotonic() + timeout
        tracker.waiters += 1
        try:
            while found is not None:
                if timeout is None and found[0].parked() and _running_submission(device):
                    # Parked work may have to start on this very thread (the issue thread
                    # runs queue_host_call functions): waiting without a bound could hang.
                    raise FailedPreconditionError(
                        _host_message(buffer, offset, length, writes, found)
                        + "; wait=True inside a queue operation of the same device could "
                        "wait for itself: give a timeout in seconds"
                    )
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    raise DeadlineExceededError(
                        _host_message(buffer, offset, length, writes, found)
                        + f"; still pending after {timeout} s"
                    )
                tracker.cond.wait(remaining)
                found = tracker.conflict(alloc, start, end, writes)
        finally:
            tracker.waiters -= 1


def _host_message(
    buffer: Buffer, offset: int, length: int, writes: bool, found: tuple[Footprint, _Range]
) -> str:
    fp, (start, end, pending_writes, path, cmd, role) = found
    access = "write" if writes else "read"
    absolute = buffer.offset + offset
    return (
        f"host {access} of bytes [{offset}, {offset + length}) of a buffer "
        f"([{absolute}, {absolute + length}) of {_alloc_name(buffer.alloc)}) while "
        f"{fp.describe()} {'writes' if pending_writes else 'reads'} [{start}, {end}) "
        f"there: {_describe(path, cmd, role)}"
    )
