"""polyhal.h is the one definition of the local kernel ABI: the Python mirror
(polyhal.drivers.local.abi) matches it field by field, as the system C compiler lays it out,
and the conformance kernels compile against it rather than declaring the structs again."""

from __future__ import annotations

import ctypes
import shlex
import subprocess
from pathlib import Path

import pytest

import polyhal as hal
from polyhal import _native
from polyhal.drivers.local import abi, iree_library

STRUCTS = {
    "polyhal_dispatch_state_t": abi.DispatchState,
    "polyhal_workgroup_state_t": abi.WorkgroupState,
}
CONFORMANCE_C = Path(__file__).resolve().parents[1] / "conformance" / "kernels" / "c"


def compiler_layout(tmp_path: Path) -> dict[tuple[str, str], tuple[int, int]]:
    """(struct, field) -> (offset, size) as the C compiler lays out polyhal.h; the field
    list is the mirror's, so a field the header lacks fails to compile; (struct, "") holds
    the struct's size and alignment."""
    try:
        cc = _native.c_compiler()
    except hal.UnavailableError as e:
        pytest.skip(f"no C compiler to check the header with: {e}")
    lines = [
        "#include <stdio.h>",
        "#include <stddef.h>",
        '#include "polyhal.h"',
        "int main(void) {",
    ]
    for c_name, mirror in STRUCTS.items():
        lines.append(f'  printf("{c_name} - %zu %zu\\n", sizeof({c_name}), _Alignof({c_name}));')
        for field, _ in mirror._fields_:
            lines.append(
                f'  printf("{c_name} {field} %zu %zu\\n", offsetof({c_name}, {field}), '
                f"sizeof((({c_name}*)0)->{field}));"
            )
    lines += ["  return 0;", "}"]
    source = tmp_path / "layout.c"
    source.write_text("\n".join(lines) + "\n")
    program = tmp_path / "layout"
    build = subprocess.run(
        [*shlex.split(cc), "-std=c11", f"-I{hal.include_dir()}", str(source), "-o", str(program)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert build.returncode == 0, build.stderr
    out = subprocess.run(
        [str(program)], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    layout = {}
    for line in out.splitlines():
        struct, field, a, b = line.split()
        layout[(struct, "" if field == "-" else field)] = (int(a), int(b))
    return layout


def test_the_python_mirror_matches_polyhal_h(tmp_path):
    layout = compiler_layout(tmp_path)
    for c_name, mirror in STRUCTS.items():
        assert layout[(c_name, "")] == (ctypes.sizeof(mirror), ctypes.alignment(mirror)), c_name
        for field, ctype in mirror._fields_:
            assert layout[(c_name, field)] == (
                getattr(mirror, field).offset,
                ctypes.sizeof(ctype),
            ), f"{c_name}.{field}"


def test_the_iree_loader_uses_the_one_mirror():
    assert iree_library.DispatchState is abi.DispatchState
    assert iree_library.WorkgroupState is abi.WorkgroupState


def test_the_conformance_kernels_include_the_header_instead_of_declaring_the_abi():
    for path in CONFORMANCE_C.glob("*.[ch]"):
        text = path.read_text()
        assert "typedef struct" not in text, path.name
    assert '#include "polyhal.h"' in (CONFORMANCE_C / "abi.h").read_text()


def test_a_kernel_called_through_the_mirror_sees_what_it_was_given():
    """The mirror drives a real kernel compiled against polyhal.h: every field arrives."""
    lib = _native.load_shared(
        r"""
#include "polyhal.h"
POLYHAL_ENTRY(echo) {
  (void)environment;
  uint32_t* out = (uint32_t*)dispatch->binding_ptrs[0];
  out[0] = dispatch->workgroup_size_x; out[1] = dispatch->workgroup_size_y;
  out[2] = dispatch->workgroup_size_z; out[3] = dispatch->push_constant_count;
  out[4] = dispatch->workgroup_count_x; out[5] = dispatch->workgroup_count_y;
  out[6] = dispatch->workgroup_count_z; out[7] = dispatch->max_concurrency;
  out[8] = dispatch->binding_count; out[9] = dispatch->push_constants[1];
  out[10] = (uint32_t)dispatch->binding_lengths[0];
  out[11] = workgroup->workgroup_id_x; out[12] = workgroup->workgroup_id_y;
  out[13] = workgroup->workgroup_id_z; out[14] = workgroup->reserved;
  out[15] = workgroup->processor_id; out[16] = workgroup->local_memory_size;
  out[17] = workgroup->local_memory == (void*)dispatch->binding_ptrs[0];
  return 0;
}
""",
        stem="abi-echo",
    )
    out = (ctypes.c_uint32 * 18)()
    ptrs = (ctypes.c_void_p * 1)(ctypes.addressof(out))
    lengths = (ctypes.c_size_t * 1)(ctypes.sizeof(out))
    constants = (ctypes.c_uint32 * 2)(5, 0xDEADBEEF)
    state = abi.DispatchState(2, 3, 4, 2, 5, 6, 7, 8, 1, constants, ptrs, lengths)
    workgroup = abi.WorkgroupState(9, 10, 11, 0, 12, ctypes.addressof(out), 13)
    fn = abi.EntryFunction(ctypes.cast(lib.echo, ctypes.c_void_p).value)
    assert fn(None, state, workgroup) == 0
    assert list(out) == [2, 3, 4, 2, 5, 6, 7, 8, 1, 0xDEADBEEF, 72, 9, 10, 11, 0, 12, 13, 1]
