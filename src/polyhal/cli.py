"""The ``polyhal`` command: ``devices``, ``demo`` and ``bench``."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from typing import Any

from . import drivers
from .device import create_device
from .errors import HalError

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
            print(f"{name:11s} unavailable: {reason}" + (f"\n{'':12s}to enable: {hint}"
                                                           if hint else ""))
            continue
        for index in range(count):
            uri = name if count == 1 else f"{name}:{index}"
            try:
                with create_device(uri) as device:
                    limits = device.info.get("limits", {})
                    print(f"{uri:11s} {device.name}")
                    print(f"{'':12s}formats {device.info.get('executable_formats')}; "
                          f"max bindings {limits.get('max_bindings')}, push constants "
                          f"{limits.get('max_push_constants')}, workgroup size "
                          f"{limits.get('max_workgroup_size')}")
            except HalError as e:
                print(f"{uri:11s} failed to open: {e}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from . import demo

    with create_device(args.device) as device:
        print(f"heat diffusion on {device.uri} ({device.name}): {args.size}x{args.size} grid, "
              f"{args.steps} steps, {args.steps // args.steps_per_submit} submissions of one "
              f"reusable command buffer")
        result = demo.run(device, n=args.size, steps=args.steps,
                          steps_per_submit=args.steps_per_submit)
    per_step = result.seconds / result.steps
    cells = args.size * args.size * result.steps / result.seconds
    ok = result.max_error <= 1e-3
    print(f"time {result.seconds * 1e3:.1f} ms: {per_step * 1e6:.1f} us per step "
          f"(dispatch + barrier), {cells / 1e6:.1f} M cell updates/s")
    print(f"max |polyhal - numpy| = {result.max_error:.2e}: {'OK' if ok else 'MISMATCH'}")
    if args.plot and not _plot(demo.plot, result, args.plot):
        return 2
    return 0 if ok else 1


def cmd_bench(args: argparse.Namespace) -> int:
    from . import bench

    results = bench.run(args.device, quick=args.quick, progress=True)
    print(bench.table(results))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)
        print(f"wrote {args.json}")
    if args.plot and not _plot(bench.plot, results, args.plot):
        return 2
    return 0


def _plot(plot: Callable[[Any, str], None], data: Any, path: str) -> bool:
    """Writes a plot; False (with a hint) where matplotlib is missing."""
    try:
        plot(data, path)
    except ImportError:
        print("--plot needs matplotlib: pip install 'polyhal[plot]'", file=sys.stderr)
        return False
    print(f"wrote {path}")
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="polyhal", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("devices", help="list drivers, devices and limits")
    demo = sub.add_parser("demo", help="run the heat-diffusion pipeline and check it")
    demo.add_argument("--device", default=None, help="device URI (default $POLYHAL_DEVICE "
                      "or local)")
    demo.add_argument("--size", type=int, default=256)
    demo.add_argument("--steps", type=int, default=400)
    demo.add_argument("--steps-per-submit", type=int, default=20)
    demo.add_argument("--plot", metavar="FILE", help="write a PNG of the result")
    bench = sub.add_parser("bench", help="measure dispatch overhead, round trips, bandwidth")
    bench.add_argument("--device", default=None)
    bench.add_argument("--json", metavar="FILE")
    bench.add_argument("--plot", metavar="FILE")
    bench.add_argument("--quick", action="store_true", help="fewer repetitions")
    args = parser.parse_args(argv)
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
