"""The article's scenario on the real kernels, through uaccess_lab.vm.

Build module-src (cdev.ko and the user programs) on the host, load cdev.ko in
the guest, run cdev_roundtrip: it writes a buffer, changes it, reads it back,
and exits 0 when the changed bytes come back (write() mapped the page).
"""

import shutil
import subprocess
from pathlib import Path

import pytest

from uaccess_lab.kernels import resolve

pytestmark = pytest.mark.vm

MODULE_SRC = Path(__file__).resolve().parents[1] / "module-src"


@pytest.fixture
def module_src_build(vm_kernel, tmp_path):
    """A private copy of module-src built for the kernel under test."""
    tree = tmp_path / "module-src"
    shutil.copytree(MODULE_SRC, tree, ignore=shutil.ignore_patterns("*.ko", "*.o", ".*"))
    kernel = resolve(vm_kernel)
    make = subprocess.run(["make", "-C", str(tree), f"KDIR={kernel.build_dir}"],
                          capture_output=True, text=True, timeout=600)
    assert make.returncode == 0, make.stdout[-3000:] + make.stderr[-3000:]
    return tree


def test_cdev_roundtrip_returns_the_changed_bytes(guest, module_src_build):
    """write() maps the caller's page, so read() returns the bytes changed after write()."""
    loaded = guest.load(module_src_build / "cdev.ko")
    assert loaded.exit_code == 0, loaded.stderr + loaded.kernel_log
    try:
        program = guest.copy_in(module_src_build / "user" / "cdev_roundtrip")
        r = guest.run([program], timeout=60)
        assert r.crash is None, r.crash.text
        assert r.exit_code == 0, r.stdout + r.stderr
        assert "HELLO" in r.stdout and "the kernel read the changed buffer" in r.stdout
    finally:
        guest.unload("cdev")


def test_module_in_use_is_reported_by_unload(guest, module_src_build):
    """rmmod of cdev while a process holds /dev/cdev/cdev0 open fails with "in use", without a crash."""
    assert guest.load(module_src_build / "cdev.ko").exit_code == 0
    r = guest.run("exec 3<>/dev/cdev/cdev0; rmmod cdev", timeout=30)
    assert r.exit_code != 0 and "in use" in r.stderr, r.stderr
    assert r.crash is None
    assert guest.unload("cdev").exit_code == 0
