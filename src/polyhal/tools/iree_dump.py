"""``python -m polyhal.tools.iree_dump BINARIES [BENCHMARKS] [--driver D]``: list the
dispatches of an IREE dump as :func:`polyhal.iree.load_dump` reads them."""

from __future__ import annotations

import argparse
import sys

from .. import iree
from ..errors import HalError


def main(argv: list[str] | None = None) -> int:
    """List every dispatch: executable, workgroup count (or why it is unknown) and size,
    bindings, constants; then the dispatches that could not be loaded, with the reason."""
    parser = argparse.ArgumentParser(
        prog="python -m polyhal.tools.iree_dump", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("binaries", help="the --iree-hal-dump-executable-binaries-to directory")
    parser.add_argument(
        "benchmarks", nargs="?", help="the --iree-hal-dump-executable-benchmarks-to directory"
    )
    parser.add_argument("--driver", help="local, vulkan or cuda (default: what the binaries are)")
    args = parser.parse_args(argv)
    try:
        dump = iree.load_dump(args.binaries, args.benchmarks, driver=args.driver)
    except HalError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    for d in dump:
        unknown = f" ({d.workgroup_count_note})" if d.workgroup_count is None else ""
        print(
            f"{d.name}: executable={d.executable.name} workgroups={d.workgroup_count}{unknown} "
            f"bindings={[(b.index, b.dtype, b.shape) for b in d.bindings]} "
            f"constants={d.constant_count} workgroup_size={d.entry_point.workgroup_size}"
        )
    for name, reason in dump.failed.items():  # left out of the dump: not loadable
        print(f"{name}: not loaded: {reason}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
