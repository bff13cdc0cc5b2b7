"""Shared fixtures for the uaccess-lab tests."""

import shutil

import pytest

from tests import unprivileged


@pytest.fixture
def student_dir():
    """A fresh directory owned by the unprivileged test user; removed afterwards."""
    path = unprivileged.user_tmpdir()
    yield path
    shutil.rmtree(path, ignore_errors=True)


# ---- VM fixtures (uaccess_lab.vm): one shared booted guest per kernel ----
# They live in tests/vm_fixtures.py; importing them here shares them with every test file.
from tests.vm_fixtures import _vm_guests, guest, vm_kernel, vm_module  # noqa: E402,F401
