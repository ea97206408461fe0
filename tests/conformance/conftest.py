"""Fixtures of the conformance suite: one device per driver, the Binder, the kernels.

Drivers tested, first match wins:
  ``--drivers=local,vulkan``, then ``$POLYHAL_TEST_DRIVERS`` (same comma list), then
  ``hal.available_drivers()`` plus ``local-sync``.
Every test that takes ``device`` runs once per driver; every test that takes ``binder``
runs twice more, with direct buffers and with binding-table slots.
"""

from __future__ import annotations

import os

import pytest

import polyhal as hal

from .kernels import KernelCache
from .support import Binder

BINDER_MODES = ("direct", "slot")


def selected_drivers(config: pytest.Config) -> list[str]:
    spec = config.getoption("--drivers") or os.environ.get("POLYHAL_TEST_DRIVERS")
    names = spec.split(",") if spec else [*hal.available_drivers(), "local-sync"]
    return list(dict.fromkeys(n.strip() for n in names if n.strip()))


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "driver" in metafunc.fixturenames:
        metafunc.parametrize("driver", selected_drivers(metafunc.config), scope="session")
    if "binder_mode" in metafunc.fixturenames:
        metafunc.parametrize("binder_mode", BINDER_MODES)


@pytest.fixture(scope="session")
def device(driver: str):
    """One device per driver, shared by the session and closed at its end."""
    with hal.create_device(driver) as dev:
        yield dev


@pytest.fixture(scope="session")
def kernels(device: hal.Device, request: pytest.FixtureRequest) -> KernelCache:
    """``kernels("abs")`` is the device's Executable of that test executable."""
    return KernelCache(device, request.config.getoption("--kernel-format"))


@pytest.fixture
def binder(device: hal.Device, binder_mode: str) -> Binder:
    return Binder(device, binder_mode)
