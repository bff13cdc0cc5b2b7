"""The VM tests again, as an unprivileged user: how Binder and JupyterHub run the kit.

CI runs as root; this creates an ordinary user, copies the kit into a
directory it owns, and runs all the other VM test files there with pytest as that user
(no root, no sudo; QEMU, its 9p export and the caches all belong to the user).
By default on the 6.1 kernel only, to keep CI time down; set
UACCESS_LAB_NONROOT_VM_KERNELS=6.1,6.12 for both.
"""

import os
import re
import sys
from pathlib import Path

import pytest

from tests.unprivileged import copy_tree_for, run_as, traversable_for_others

pytestmark = [pytest.mark.vm, pytest.mark.nonroot]

REPO = Path(__file__).resolve().parents[1]
# Every VM test file but this one.
VM_TEST_FILES = sorted(
    str(p.relative_to(REPO)) for p in (REPO / "tests").glob("test_vm_*.py")
    if p.name != Path(__file__).name
)


@pytest.fixture
def reachable_venv():
    """The checkout's .venv reachable by the test user, even when CI cloned it under /root."""
    with traversable_for_others(Path(sys.executable).parent):
        yield


def test_vm_tests_pass_as_an_unprivileged_user(student_dir, reachable_venv):
    """Every tests/test_vm_*.py passes when run by an ordinary user."""
    probe = run_as([sys.executable, "-c", "import virtme, pytest, uaccess_lab"])
    if probe.returncode != 0:
        pytest.skip(f"the test user cannot run this venv's Python ({sys.executable}): "
                    f"put the checkout where other users can read it. {probe.stderr[-300:]}")
    kit = copy_tree_for(student_dir / "kit", REPO)
    kernels = os.environ.get("UACCESS_LAB_NONROOT_VM_KERNELS", "6.1")
    env = {
        "PYTHONPATH": str(kit),
        "UACCESS_LAB_CACHE": str(student_dir / "cache"),
        "UACCESS_LAB_VM_KERNELS": kernels,
    }
    r = run_as([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                "-o", "addopts=", "-rs", *VM_TEST_FILES],
               cwd=kit, env=env, timeout=1800)
    tail = r.stdout[-6000:] + r.stderr[-2000:]
    assert r.returncode == 0, tail
    summary = r.stdout.strip().splitlines()[-1]
    passed = re.search(r"(\d+) passed", summary)
    assert passed and int(passed[1]) >= 20 and "failed" not in summary, tail
    assert "skipped" not in summary, f"nothing may be skipped for the user:\n{tail}"
