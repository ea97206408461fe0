"""Run IREE-compiled kernels through polyhal command buffers and check them against numpy.

    pip install polyhal[iree]          # iree-base-compiler
    python examples/iree_matmul.py                 # local (the CPU)
    python examples/iree_matmul.py vulkan          # or cuda, local-sync, … ($POLYHAL_DEVICE)
    python examples/iree_matmul.py cuda --save DIR  # compile here, keep the dump in DIR
    python examples/iree_matmul.py cuda --from DIR  # run a saved dump (no compiler needed)

iree-compile turns the MLIR below into dispatches (an elementwise op, a matmul, and a matmul
with its bias add fused in) for the device's driver, dumping each kernel binary, a benchmark
per dispatch that records its layout, and the host program that launches them with their
workgroup counts.  ``polyhal.iree`` loads that dump;
each dispatch is then recorded into a polyhal command buffer, submitted, and its output
compared with numpy.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

import numpy as np

import polyhal as hal
from polyhal import iree

M, K, N = 128, 64, 96
SIZE = 4096

MLIR = f"""
func.func @scaled_add(%a: tensor<{SIZE}xf32>, %b: tensor<{SIZE}xf32>) -> tensor<{SIZE}xf32> {{
  %two = arith.constant dense<2.0> : tensor<{SIZE}xf32>
  %s = arith.mulf %a, %two : tensor<{SIZE}xf32>
  %r = arith.addf %s, %b : tensor<{SIZE}xf32>
  return %r : tensor<{SIZE}xf32>
}}
func.func @matmul(%a: tensor<{M}x{K}xf32>, %b: tensor<{K}x{N}xf32>) -> tensor<{M}x{N}xf32> {{
  %init = tensor.empty() : tensor<{M}x{N}xf32>
  %zero = arith.constant 0.0 : f32
  %fill = linalg.fill ins(%zero : f32) outs(%init : tensor<{M}x{N}xf32>) -> tensor<{M}x{N}xf32>
  %mm = linalg.matmul ins(%a, %b : tensor<{M}x{K}xf32>, tensor<{K}x{N}xf32>)
                      outs(%fill : tensor<{M}x{N}xf32>) -> tensor<{M}x{N}xf32>
  return %mm : tensor<{M}x{N}xf32>
}}
func.func @matmul_bias(%a: tensor<{M}x{K}xf32>, %b: tensor<{K}x{N}xf32>,
                       %c: tensor<{M}x{N}xf32>) -> tensor<{M}x{N}xf32> {{
  %init = tensor.empty() : tensor<{M}x{N}xf32>
  %zero = arith.constant 0.0 : f32
  %fill = linalg.fill ins(%zero : f32) outs(%init : tensor<{M}x{N}xf32>) -> tensor<{M}x{N}xf32>
  %mm = linalg.matmul ins(%a, %b : tensor<{M}x{K}xf32>, tensor<{K}x{N}xf32>)
                      outs(%fill : tensor<{M}x{N}xf32>) -> tensor<{M}x{N}xf32>
  %r = arith.addf %mm, %c : tensor<{M}x{N}xf32>
  return %r : tensor<{M}x{N}xf32>
}}
"""

# What each dispatch computes, by the function it came from (inputs in binding order).
REFERENCES = {
    "scaled_add": lambda a, b: 2 * a + b,
    "matmul_bias": lambda a, b, c: a @ b + c,
    "matmul": lambda a, b: a @ b,
}


def reference_for(name: str):
    for prefix, fn in REFERENCES.items():
        if name.startswith(prefix + "_dispatch"):
            return fn
    return None


def compile_dump(driver: str, tmp: str, save: str | None) -> iree.IreeDump:
    t0 = time.perf_counter()
    dump = iree.compile_mlir(MLIR, tmp, driver=driver)
    print(
        f"compiled {len(dump)} dispatches in {time.perf_counter() - t0:.2f}s "
        f"(iree-base-compiler {iree.compiler_version()})"
    )
    if save:
        print(f"saved to {dump.save(save).parent}")
    return dump


def main(uri: str | None = None, save: str | None = None, saved: str | None = None) -> int:
    if saved is None and not iree.compiler_available():
        print("iree-base-compiler is not installed: pip install polyhal[iree]")
        return 1
    if save and saved is None:  # compile only: the device may be elsewhere
        with tempfile.TemporaryDirectory(prefix="polyhal-iree-") as tmp:
            compile_dump((uri or "local").split(":")[0].replace("-sync", ""), tmp, save)
        return 0
    device = hal.create_device(uri)
    print(f"device: {device.driver} ({device.name})")
    rng = np.random.default_rng(0)
    failures = 0
    with device, tempfile.TemporaryDirectory(prefix="polyhal-iree-") as tmp:
        dump = iree.load_saved(saved) if saved else compile_dump(device.driver, tmp, None)
        executables = dump.create_executables(device)

        for d in dump:
            fn = reference_for(d.name)
            if fn is None:
                print(f"  {d.name}: no numpy reference, skipped")
                continue
            *inputs, output = d.bindings
            arrays = [rng.standard_normal(b.shape).astype(b.dtype) for b in inputs]
            # An input's buffer is its array; the output's has the kernel's padding.
            buffers = [device.buffer_from(a) for a in arrays]
            out = device.allocate_buffer(output.padded_length)

            cb = device.create_command_buffer()
            with cb:
                d.record(cb, executables, [*buffers, out])
            done = device.create_semaphore()
            t0 = time.perf_counter()
            device.queue_execute(cb, signal=[(done, 1)])
            done.wait(1, timeout=60)
            elapsed = time.perf_counter() - t0

            result = out.subspan(0, output.length).to_numpy(output.dtype, output.shape)
            expected = fn(*arrays)
            err = float(np.max(np.abs(result - expected)))
            ok = np.allclose(result, expected, rtol=1e-4, atol=1e-4)
            failures += not ok
            print(
                f"  {d.name}: workgroups={d.workgroup_count} "
                f"workgroup_size={d.entry_point.workgroup_size} "
                f"max|err|={err:.2e} {elapsed * 1e3:.2f} ms {'OK' if ok else 'MISMATCH'}"
            )
    print("all dispatches match numpy" if not failures else f"{failures} dispatches differ")
    return 1 if failures else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("device", nargs="?", default=os.environ.get("POLYHAL_DEVICE"))
    parser.add_argument("--save", metavar="DIR", help="compile and save the dump only")
    parser.add_argument("--from", dest="saved", metavar="DIR", help="run a saved dump")
    args = parser.parse_args()
    sys.exit(main(args.device, args.save, args.saved))
