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
