"""Options shared by every test folder (registered here so `pytest tests --drivers=…` works)."""

from __future__ import annotations

import os

import pytest

# The suite runs in checked mode (guard pages on local, robust buffer access on vulkan,
# hazard detection everywhere) unless the caller chose otherwise.
os.environ.setdefault("POLYHAL_CHECKED", "1")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--drivers",
        default=None,
        help="comma list of polyhal drivers for the conformance suite (default: "
        "$POLYHAL_TEST_DRIVERS, else hal.available_drivers() plus local-sync)",
    )
    parser.addoption(
        "--kernel-format",
        default=None,
        help="offer the conformance kernels in this format only (c, spirv, glsl, cuda)",
    )
