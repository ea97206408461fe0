"""Running what IREE's compiler produces on polyhal.

IREE (``pip install iree-base-compiler``, or ``polyhal[iree]``) compiles MLIR programs into
*dispatches*: kernels plus the workgroup count each is launched with.  Asked to, it dumps every
kernel binary (``--iree-hal-dump-executable-binaries-to``) and a standalone benchmark per
dispatch (``--iree-hal-dump-executable-benchmarks-to``) that records the dispatch's pipeline
layout and bindings; the workgroup counts are those the compiled host program (the same
compilation as ``--output-format=vm-asm``) launches each dispatch with.  This package turns
such a dump into polyhal objects::

    dump = polyhal.iree.compile_mlir(source, "out", driver=device.driver)   # or load_dump(...)
    executables = dump.create_executables(device)
    d = dump.dispatch("matmul")
    with device.create_command_buffer() as cb:
        d.record(cb, executables, [lhs, rhs, out])

Whole programs (IREE's host program translated to Python, its ``hal`` calls served by
polyhal) are the other way in: ``mod = polyhal.iree.load_mlir(source, device)`` or
``polyhal.iree.load_module("model.vmfb", device)``, then ``mod.main(x, w)``; see
:mod:`polyhal.iree.module`, :mod:`polyhal.iree.vm` (VM assembly) and
:mod:`polyhal.iree.vm_bytecode` (``.vmfb``).

The binary format follows the driver: ``.so`` system libraries for ``local``
(format ``"iree-system-library"``), ``.spv`` SPIR-V for ``vulkan`` (``"spirv"``), ``.ptx`` for
``cuda`` (``"ptx"``).  Nothing here depends on a driver being present.

Alignment: IREE kernels assume every binding starts on a 64-byte boundary (their binding
subspans carry ``alignment(64)``); keep binding offsets multiples of 64.

The package's modules: ``compiler`` (finding and running iree-compile), ``dump`` (the
model: :class:`IreeDump` and what it holds, saving and :func:`load_saved`), ``load``
(:func:`compile_mlir`, :func:`load_dump`), ``binaries`` (what ``.so``, SPIR-V and PTX
binaries declare) and ``mlir`` (reading the dumped MLIR with IREE's MLIR Python bindings).
``python -m polyhal.tools.iree_dump`` lists a dump's dispatches.
"""

from __future__ import annotations

from .compiler import (
    DRIVER_FORMATS,
    FORMAT_SUFFIXES,
    compile_flags,
    compiler_available,
    compiler_version,
    find_iree_compile,
)
from .dump import BindingInfo, IreeDispatch, IreeDump, IreeExecutable, load_saved
from .load import compile_mlir, load_dump
from .module import Function, Module, compile_module, load_mlir, load_module

#: Byte alignment IREE kernels assume for every binding's base address.
BINDING_ALIGNMENT = 64

__all__ = [
    "BINDING_ALIGNMENT",
    "DRIVER_FORMATS",
    "FORMAT_SUFFIXES",
    "BindingInfo",
    "IreeDispatch",
    "IreeDump",
    "IreeExecutable",
    "Function",
    "Module",
    "compile_flags",
    "compile_mlir",
    "compile_module",
    "compiler_available",
    "compiler_version",
    "find_iree_compile",
    "load_dump",
    "load_mlir",
    "load_module",
    "load_saved",
]
