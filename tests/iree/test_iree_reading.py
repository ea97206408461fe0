"""Reading a dump: the MLIR through IREE's Python bindings, SPIR-V and PTX binaries, saved
manifests, and the dump lister (``python -m polyhal.tools.iree_dump``)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from polyhal import errors, iree, spirv
from polyhal.iree import binaries, load, mlir

# A second function that reuses the benchmark function's SSA names for other values: each
# name means the value of its own function, so it must change nothing read from the dump.
DECOY = """
  util.func private @decoy() -> index {
    %c0 = arith.constant 7 : index
    %c4096 = arith.constant 1 : index
    %c8192 = arith.constant 1 : index
    %c6144 = arith.constant 1 : index
    %c12288 = arith.constant 1 : index
    util.return %c0 : index
  }
}
"""


def _dirs(dump):
    d = next(iter(dump))
    return d.executable.paths[0].parent, d.benchmark.parent


def test_benchmark_exports_and_dispatch_sites(local_dump):
    for d in local_dump:
        text = d.benchmark.read_text()
        (export,) = mlir.read_exports(text, what="benchmark")
        assert export.name == d.name
        assert export.read_only == tuple(b.read_only for b in d.bindings)
        assert export.constant_count == d.constant_count == 0
        assert {i: (t.dtype, t.shape) for i, t in export.binding_types.items()} == {
            b.index: (b.dtype, b.shape) for b in d.bindings
        }
        site = mlir.read_dispatch_site(text, what="benchmark")
        assert site is not None and site.export == d.name
        assert site.binding_lengths == tuple(b.length for b in d.bindings)
        assert site.constants == ()
        # IREE 3.x leaves the count to the compiler in the benchmark itself.
        assert site.workgroup_count is None


def test_ssa_names_are_read_in_their_own_function(local_dump, tmp_path):
    bins, benches = _dirs(local_dump)
    decoyed = tmp_path / "benchmarks"
    decoyed.mkdir()
    for p in benches.glob("*.mlir"):
        text = p.read_text().rstrip()
        assert text.endswith("}")
        (decoyed / p.name).write_text(text[:-1] + DECOY)
    dump = iree.load_dump(bins, decoyed, driver="local")
    for d in dump:
        original = local_dump.dispatches[d.name]
        assert d.bindings == original.bindings
        assert d.workgroup_count == original.workgroup_count


def test_unreadable_benchmark_is_invalid_argument(local_dump, tmp_path):
    bins, _ = _dirs(local_dump)
    (tmp_path / "broken.mlir").write_text("hal.executable.export @x layout(")
    with pytest.raises(errors.InvalidArgumentError, match="cannot read .*broken.mlir as MLIR"):
        iree.load_dump(bins, tmp_path, driver="local")


def test_benchmark_without_exports_is_ignored(local_dump, tmp_path):
    bins, benches = _dirs(local_dump)
    for p in benches.glob("*.mlir"):
        shutil.copy(p, tmp_path / p.name)
    (tmp_path / "other.mlir").write_text("module {}\n")
    dump = iree.load_dump(bins, tmp_path, driver="local", resolve_workgroups=False)
    assert set(dump.dispatches) == set(local_dump.dispatches)


def test_reading_mlir_without_the_bindings_is_unavailable(local_dump, tmp_path, monkeypatch):
    bins, benches = _dirs(local_dump)
    saved = local_dump.save(tmp_path / "saved")
    monkeypatch.setitem(sys.modules, "iree.compiler", None)  # as if not installed
    with pytest.raises(errors.UnavailableError, match="pip install iree-base-compiler"):
        iree.load_dump(bins, benches, driver="local", resolve_workgroups=False)
    # The binaries alone, and a saved dump, need no MLIR.
    assert set(iree.load_dump(bins, driver="local").dispatches) == set(local_dump.dispatches)
    again = iree.load_saved(saved.parent)
    assert {d.name: d.workgroup_count for d in again} == {
        d.name: d.workgroup_count for d in local_dump
    }


@pytest.mark.parametrize(
    "manifest",
    [
        {"driver": "local"},
        {"driver": "metal", "executables": [], "dispatches": []},
        {"driver": "local", "executables": [{"name": "x"}], "dispatches": []},
        [],
    ],
    ids=["no-executables", "unknown-driver", "executable-without-files", "not-an-object"],
)
def test_malformed_manifest_is_invalid_argument(tmp_path, manifest):
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(errors.InvalidArgumentError, match="manifest.json"):
        iree.load_saved(tmp_path)


def test_missing_manifest_is_invalid_argument(tmp_path):
    with pytest.raises(errors.InvalidArgumentError, match="no readable manifest.json"):
        iree.load_saved(tmp_path)


def test_spirv_dump_is_read_with_polyhal_spirv(iree_compiler, tmp_path):
    """Compiling for vulkan needs no vulkan device: the SPIR-V reader is checked anywhere."""
    dump = iree.compile_mlir(
        iree_compiler["model"], tmp_path, driver="vulkan", resolve_workgroups=False
    )
    (exe,) = dump.executables.values()
    assert exe.format == "spirv" and len(exe.paths) == len(dump) == 3
    payload = exe.source.formats["spirv"]
    for path in exe.paths:
        code = path.read_bytes()
        module = spirv.read_module(code)
        (ep,) = module.entry_points  # IREE writes one entry point per module
        d = dump.dispatches[ep.name]
        assert payload[ep.name] == code
        assert len(module.bindings) == d.binding_count
        assert module.push_constant_size == 4 * d.constant_count
        assert d.entry_point.workgroup_size == ep.workgroup_size != (1, 1, 1)
        kernels = binaries.read_kernels("spirv", path)
        assert kernels[ep.name].binding_count == d.binding_count


PTX = """
.version 7.0
.target sm_80
.address_size 64
.visible .entry scale(
    .param .u64 .ptr .global .align 16 scale_param_0,
    .param .u64 scale_param_1,
    .param .u32 scale_param_2
)
.reqntid 32, 8, 1
{
    ret;
}
.visible .entry plain(.param .u64 plain_param_0)
{
    ret;
}
.visible .entry sized(.param .u64 p0) .maxntid 64 {
    ret;
}
"""


def test_ptx_kernels():
    kernels = binaries.ptx_kernels(PTX)
    assert kernels == {
        "scale": binaries.BinaryKernel("scale", 2, 1, (32, 8, 1)),
        "plain": binaries.BinaryKernel("plain", 1, 0, None),
        "sized": binaries.BinaryKernel("sized", 1, 0, (64, 1, 1)),
    }


def test_dump_lister(local_dump):
    bins, benches = _dirs(local_dump)
    proc = subprocess.run(
        [sys.executable, "-m", "polyhal.tools.iree_dump", str(bins), str(benches)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) == len(local_dump)
    for d in local_dump:
        (line,) = [ln for ln in lines if ln.startswith(d.name + ":")]
        assert f"workgroups={d.workgroup_count}" in line
        assert f"executable={d.executable.name}" in line


def test_dump_lister_reports_a_bad_directory(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "polyhal.tools.iree_dump", str(tmp_path / "missing")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 1 and "no binaries directory" in proc.stderr


# kernel_a launched with two different counts, kernel_b with a count and a push constant
# known only at run time, kernel_c indirectly.
HOST_PROGRAM = Path(__file__).parent / "inputs" / "host_dispatches.vm.mlir"


def test_host_dispatches_and_what_is_not_static(iree_compiler):
    sites = mlir.read_host_dispatches(HOST_PROGRAM.read_text(), what="host")
    assert sites == [
        mlir.HostDispatch("kernel_a", (4, 1, 0), (7, 1)),
        mlir.HostDispatch("kernel_b", None, None),
        mlir.HostDispatch("kernel_c", None, (), indirect=True),
        mlir.HostDispatch("kernel_a", (7, 1, 1), (7, 1)),
    ]
    launches = load._host_launches(sites)
    assert launches["kernel_a"].workgroup_count is None
    assert "several workgroup counts [(4, 1, 0), (7, 1, 1)]" in launches["kernel_a"].note
    assert launches["kernel_a"].constants == (7, 1)
    assert "at run time" in launches["kernel_b"].note and launches["kernel_b"].constants is None
    assert "indirectly" in launches["kernel_c"].note


def test_every_dispatch_of_a_dump_is_in_its_host_program(local_dump):
    host = next(iter(local_dump)).executable.paths[0].parent.parent / load.HOST_PROGRAM
    sites = mlir.read_host_dispatches(host.read_text(), what="host")
    assert {s.export for s in sites} == set(local_dump.dispatches)
    for s in sites:
        assert s.workgroup_count == local_dump.dispatches[s.export].workgroup_count
        assert s.constants == () and not s.indirect
