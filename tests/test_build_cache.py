"""polyhal's one build cache (polyhal._cache): C kernels, GLSL and CUDA images share it."""

from __future__ import annotations

from pathlib import Path

import pytest

from polyhal import _cache
from polyhal.errors import InvalidArgumentError


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("POLYHAL_CACHE_DIR", str(tmp_path))
    return tmp_path


def test_key_parts_keep_their_boundaries():
    # ("ab", "c") and ("a", "bc") are different builds: the parts are length-prefixed.
    assert _cache.entry_name("k", "so", ["ab", "c"]) != _cache.entry_name("k", "so", ["a", "bc"])
    assert _cache.entry_name("k", "so", ["x"]) == _cache.entry_name("k", "so", [b"x"])
    assert _cache.entry_name("k", "so", ["x"]).startswith("k-")


def test_builds_once_and_rebuilds_what_fails_its_check(cache):
    calls = []

    def build(path: Path) -> None:
        calls.append(path)
        path.write_bytes(b"GOOD")

    def valid(path: Path) -> bool:
        return path.is_file() and path.read_bytes() == b"GOOD"

    first = _cache.cached("thing", "bin", ["source", "tool 1.0"], build, valid)
    assert first.parent == cache and first.read_bytes() == b"GOOD"
    assert _cache.cached("thing", "bin", ["source", "tool 1.0"], build, valid) == first
    assert len(calls) == 1
    first.write_bytes(b"GO")  # truncated by a crash elsewhere
    assert _cache.cached("thing", "bin", ["source", "tool 1.0"], build, valid) == first
    assert len(calls) == 2 and first.read_bytes() == b"GOOD"
    # another tool version is another entry
    other = _cache.cached("thing", "bin", ["source", "tool 2.0"], build, valid)
    assert other != first and len(calls) == 3


def test_a_failed_build_leaves_no_entry(cache):
    def build(path: Path) -> None:
        path.write_bytes(b"half")
        raise InvalidArgumentError("the compiler said no")

    with pytest.raises(InvalidArgumentError, match="said no"):
        _cache.cached("thing", "bin", ["bad source"], build, lambda p: p.is_file())
    assert list(cache.iterdir()) == []
