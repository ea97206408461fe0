"""The kernel cache recovers from damaged entries and unwritable folders, keys builds by
compiler and CPU, and never swaps a missing $CC for another compiler."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest

import polyhal as hal
from polyhal import _cache, _native

KERNEL = r"""
#include "polyhal.h"
POLYHAL_ENTRY(seven) {  /* out[0] = 7 */
  ((uint32_t*)dispatch->binding_ptrs[0])[0] = 7;
  return 0;
}
"""
LAYOUT = hal.PipelineLayout([hal.DescriptorSetLayout([0])])


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("POLYHAL_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def unique_kernel() -> str:
    """KERNEL with a unique comment: a cache entry no other test or run shares."""
    return f"/* {uuid.uuid4()} */\n{KERNEL}"


def run_seven(device, source):
    exe = device.create_executable(
        hal.ExecutableSource([hal.EntryPoint("seven", LAYOUT)], {"c": source})
    )
    out = device.allocate_buffer(4)
    cb = device.create_command_buffer()
    with cb:
        cb.dispatch(exe, 0, 1, bindings=[(0, out)])
    sem = device.create_semaphore()
    device.queue_execute(cb, signal=[(sem, 1)])
    sem.wait(1, timeout=30)
    assert out.to_numpy("uint32")[0] == 7


def damage(path: Path, how: str) -> None:
    """Replaces the cache entry by a damaged one (a new file: this process keeps the
    library it has mapped, as it would if another process damaged the entry)."""
    data = path.read_bytes()
    damaged = path.with_suffix(".damaged")
    if how == "truncated":
        damaged.write_bytes(data[: len(data) // 2])
    elif how == "empty":
        damaged.write_bytes(b"")
    elif how == "garbage":
        damaged.write_bytes(os.urandom(20000))
    else:  # a complete ELF file that is no library: dlopen refuses it
        shutil.copyfile(shutil.which("true") or "/bin/true", damaged)
    os.replace(damaged, path)


def run_python(script: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **env},
    )


SEVEN_SCRIPT = """
    import polyhal as hal
    layout = hal.PipelineLayout([hal.DescriptorSetLayout([0])])
    with hal.create_device("local") as device:
        exe = device.create_executable(hal.ExecutableSource([hal.EntryPoint("seven", layout)],
                                                            {"c": SOURCE}))
        out = device.allocate_buffer(4)
        cb = device.create_command_buffer()
        with cb:
            cb.dispatch(exe, 0, 1, bindings=[(0, out)])
        sem = device.create_semaphore()
        device.queue_execute(cb, signal=[(sem, 1)])
        sem.wait(1, timeout=30)
        print("result", out.to_numpy("uint32")[0])
"""


@pytest.mark.parametrize("how", ["truncated", "empty", "garbage", "executable"])
def test_a_damaged_cached_kernel_is_rebuilt(cache, how):
    """The next run finds the damaged entry, rebuilds it and runs (it used to raise an
    untyped OSError on this and every later run)."""
    source = unique_kernel()
    with hal.create_device("local") as device:
        run_seven(device, source)
    (path,) = cache.glob("kernel-*.so")
    damage(path, how)
    result = run_python(
        SEVEN_SCRIPT.replace("SOURCE", repr(source)), {"POLYHAL_CACHE_DIR": str(cache)}
    )
    assert result.returncode == 0 and "result 7" in result.stdout, result.stderr
    assert _native.is_complete_elf(path) and path.stat().st_size > 1000
    with hal.create_device("local") as device:  # and in this process too
        run_seven(device, source)


def test_the_cache_holds_user_kernels_only(cache):
    """The executor comes built with the package: a fresh cache gets the kernel, no more."""
    result = run_python(
        SEVEN_SCRIPT.replace("SOURCE", repr(unique_kernel())), {"POLYHAL_CACHE_DIR": str(cache)}
    )
    assert result.returncode == 0 and "result 7" in result.stdout, result.stderr
    names = [p.name for p in cache.iterdir()]
    assert len(names) == 1 and names[0].startswith("kernel-"), names


def test_without_a_compiler_local_is_there_and_c_kernels_say_why(cache):
    result = run_python(
        """
        import polyhal as hal
        print("available", "local" in hal.available_drivers())
        with hal.create_device("local") as device:
            try:
                device.create_executable(hal.ExecutableSource(
                    [hal.EntryPoint("seven", hal.PipelineLayout([hal.DescriptorSetLayout([0])]))],
                    {"c": "int x;"}))
            except hal.UnavailableError as e:
                print("refused", e)
    """,
        {"POLYHAL_CACHE_DIR": str(cache), "CC": "/nonexistent"},
    )
    assert result.returncode == 0, result.stderr
    assert "available True" in result.stdout
    assert "refused" in result.stdout and "/nonexistent" in result.stdout


def test_a_cc_that_names_no_program_is_unavailable_not_replaced(cache, monkeypatch):
    with hal.create_device("local") as device:  # the executor is already loaded
        monkeypatch.setenv("CC", "/nonexistent")
        with pytest.raises(hal.UnavailableError, match=r"\$CC is '/nonexistent'"):
            device.create_executable(
                hal.ExecutableSource([hal.EntryPoint("seven", LAYOUT)], {"c": unique_kernel()})
            )
    with pytest.raises(hal.UnavailableError):
        _native.compile_shared(KERNEL)


def test_compile_errors_still_carry_the_compilers_message(cache):
    with hal.create_device("local") as device:
        with pytest.raises(hal.InvalidArgumentError, match="(?s)C compilation failed.*error"):
            device.create_executable(
                hal.ExecutableSource([hal.EntryPoint("seven", LAYOUT)], {"c": "int seven( {"})
            )


def test_source_text_no_file_can_hold_is_an_invalid_argument(cache):
    with hal.create_device("local") as device:
        with pytest.raises(hal.InvalidArgumentError, match="not valid text"):
            device.create_executable(
                hal.ExecutableSource(
                    [hal.EntryPoint("seven", LAYOUT)], {"c": KERNEL + "/* \udc80 */"}
                )
            )


def test_an_undefined_symbol_is_an_invalid_argument_at_load(cache):
    source = "void nowhere_to_be_found(void);\n" + KERNEL.replace(
        "return 0;", "nowhere_to_be_found(); return 0;"
    )
    with hal.create_device("local") as device:
        with pytest.raises(hal.InvalidArgumentError, match="nowhere_to_be_found"):
            device.create_executable(
                hal.ExecutableSource([hal.EntryPoint("seven", LAYOUT)], {"c": source})
            )


def test_an_unwritable_cache_folder_falls_back_to_a_private_one(tmp_path, monkeypatch):
    """A cache path that cannot be created (below a regular file: root can write anywhere
    else) warns once and keeps working from a private temporary folder."""
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("POLYHAL_CACHE_DIR", str(blocker / "cache"))
    with pytest.warns(RuntimeWarning, match="cannot write the cache folder"):
        folder = _cache.cache_dir()
    assert folder != blocker / "cache" and os.access(folder, os.W_OK)
    with hal.create_device("local") as device:
        run_seven(device, unique_kernel())
    assert list(folder.glob("kernel-*.so"))


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_cache_folder_falls_back_to_a_private_one(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    folder.mkdir()
    folder.chmod(0o555)
    monkeypatch.setenv("POLYHAL_CACHE_DIR", str(folder))
    with pytest.warns(RuntimeWarning, match="cannot write the cache folder"):
        assert _cache.cache_dir() != folder
    with hal.create_device("local") as device:
        run_seven(device, unique_kernel())


def test_the_key_includes_the_compilers_identity(cache, tmp_path, monkeypatch):
    """The same source and flags built by a compiler that reports another version are
    another cache entry (a wrapper around the real compiler stands in for an upgrade)."""
    real = _native.c_compiler()
    first = _native.compile_shared(KERNEL, ("-O1",))
    wrapper = tmp_path / "other-cc"
    wrapper.write_text(
        f'#!/bin/sh\nif [ "$1" = --version ]; then echo "other-cc 99.1"; '
        f'exit 0; fi\nexec {real} "$@"\n'
    )
    wrapper.chmod(0o755)
    monkeypatch.setenv("CC", str(wrapper))
    second = _native.compile_shared(KERNEL, ("-O1",))
    assert first != second and second.exists()
    assert "other-cc 99.1" in _native.compiler_identity(str(wrapper))


def test_native_builds_are_keyed_by_the_target_cpu(cache):
    """-march=native output depends on the CPU, so its identity enters the key."""
    cpu = _native.target_cpu()
    assert cpu
    if sys.platform.startswith("linux") and Path("/proc/cpuinfo").exists():
        assert any(line.startswith(("flags", "Features")) for line in cpu.splitlines())
    native = _native.compile_shared(KERNEL, ("-O3", "-march=native"))
    portable = _native.compile_shared(KERNEL, ("-O3",))
    assert native != portable


def test_damaged_entries_in_a_shared_folder_do_not_break_concurrent_users(cache):
    """Two processes that find the same damaged entry both rebuild it atomically."""
    source = unique_kernel()
    with hal.create_device("local") as device:
        run_seven(device, source)
    (path,) = cache.glob("kernel-*.so")
    damage(path, "garbage")
    script = textwrap.dedent(SEVEN_SCRIPT.replace("SOURCE", repr(source)))
    env = {**os.environ, "POLYHAL_CACHE_DIR": str(cache)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0 and "result 7" in out, err
    assert _native.is_complete_elf(path)
