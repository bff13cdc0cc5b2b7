"""Fixtures for the VM tests: one booted guest per kernel, shared by all tests.

Booting costs 10-30 s under TCG, so the guest is session-scoped: tests that
crash it leave it dirty, and its next `run()` reboots it by itself. Only one
guest runs at a time (switching kernels closes the other), which keeps the
memory use of the suite at one 512 MiB guest.

Choose the kernels with UACCESS_LAB_VM_KERNELS (default "6.1,6.12").
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from uaccess_lab.kernels import KernelNotFound, resolve
from uaccess_lab.vm import Guest, build_module

VM_KERNELS = [k for k in os.environ.get("UACCESS_LAB_VM_KERNELS", "6.1,6.12").split(",") if k]
VM_MODULES = Path(__file__).parent / "vm_modules"


class _OneGuest:
    """At most one live guest; asking for another kernel closes the current one."""

    def __init__(self):
        self.guest: Guest | None = None

    def get(self, series: str) -> Guest:
        if self.guest is not None and self.guest.kernel.series != series:
            self.guest.close()
            self.guest = None
        if self.guest is None:
            self.guest = Guest(series)
        return self.guest

    def close(self) -> None:
        if self.guest is not None:
            self.guest.close()
            self.guest = None


@pytest.fixture(scope="session")
def _vm_guests():
    guests = _OneGuest()
    yield guests
    guests.close()


@pytest.fixture(scope="session", params=VM_KERNELS)
def vm_kernel(request) -> str:
    """A kernel series to test on; skipped (saying how to install) when missing."""
    try:
        resolve(request.param)
    except KernelNotFound as exc:
        pytest.skip(str(exc))
    return request.param


@pytest.fixture
def guest(vm_kernel, _vm_guests) -> Guest:
    """The shared booted guest for `vm_kernel` (rebooted transparently after crashes)."""
    g = _vm_guests.get(vm_kernel)
    g.start()
    return g


@pytest.fixture
def vm_module(vm_kernel):
    """Build tests/vm_modules/<name>.c for the kernel under test: vm_module("nullread")."""

    def build(name: str):
        result = build_module(VM_MODULES / f"{name}.c", kernel=vm_kernel)
        assert result.ok, str(result)
        return result

    return build


def marked_line(path: Path, marker: str) -> int:
    """The 1-based number of the line of `path` that contains `marker`."""
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if marker in line:
            return number
    raise AssertionError(f"{marker} not found in {path}")
