"""A kernel from the per-user cache (the non-root route) boots with its own modules directory.

Downloading a kernel takes minutes, so this builds a cache entry that
borrows the system's 6.1 image and headers by symlink, with a modules
directory of its own (the index files plus a marker). The cache lives under
/tmp on purpose: the guest mounts its own /tmp, which must not hide it.
"""

import shutil
import uuid

import pytest

from uaccess_lab import kernels
from uaccess_lab.vm import Guest

pytestmark = pytest.mark.vm


def test_cache_kernel_sees_its_modules_dir_as_lib_modules(tmp_path, monkeypatch):
    """Guest(kernel from the cache): /lib/modules/<release> in the guest is the cache's directory."""
    try:
        system = kernels.resolve("6.1")
    except kernels.KernelNotFound as exc:
        pytest.skip(str(exc))
    if system.source != "system":
        pytest.skip("needs the system-wide 6.1 kernel to borrow its image")
    release = system.release
    root = tmp_path / "cache" / "kernels" / release
    (root / "boot").mkdir(parents=True)
    (root / "boot" / f"vmlinuz-{release}").symlink_to(system.image)
    (root / "boot" / f"config-{release}").symlink_to(f"/boot/config-{release}")
    (root / "usr/src").mkdir(parents=True)
    (root / "usr/src" / f"linux-headers-{release}").symlink_to(system.build_dir)
    modules = root / "lib/modules" / release
    modules.mkdir(parents=True)
    for index in system.modules_dir.glob("modules.*"):
        shutil.copy(index, modules)
    # virtme-ng packs the 9p modules into the initramfs from here (on the host).
    (modules / "kernel").symlink_to(system.modules_dir / "kernel")
    marker = uuid.uuid4().hex
    (modules / "uaccess-marker").write_text(marker + "\n")
    monkeypatch.setenv("UACCESS_LAB_CACHE", str(tmp_path / "cache"))

    kernel = kernels.resolve("6.1")
    assert kernel.source == "cache" and kernel.modules_dir == modules
    with Guest(kernel) as guest:
        r = guest.run("cat /lib/modules/$(uname -r)/uaccess-marker; "
                      "test -f /lib/modules/$(uname -r)/modules.dep && echo has-index")
        assert r.exit_code == 0, r.stderr
        assert r.stdout.split() == [marker, "has-index"]
