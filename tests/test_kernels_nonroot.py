"""The non-root route: an ordinary user unpacks Debian's kernel packages and builds a module with them."""

import json
import subprocess
from pathlib import Path

import pytest

from tests.unprivileged import copy_tree_for, run_as

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.vm
@pytest.mark.nonroot
def test_user_installs_6_1_into_its_cache_and_builds_cdev(student_dir):
    """`uaccess-lab kernels install 6.1` as a user, then `make -C module-src KDIR=<cache>` builds cdev.ko."""
    kit = copy_tree_for(student_dir / "kit", REPO)
    cache = student_dir / "cache"
    env = {"UACCESS_LAB_CACHE": str(cache), "PYTHONPATH": str(kit)}

    install = run_as(["/usr/bin/python3", "-m", "uaccess_lab.cli", "kernels", "install", "6.1"],
                     cwd=kit, env=env, timeout=1200)
    assert install.returncode == 0, install.stdout[-2000:] + install.stderr[-2000:]

    store = cache / "kernels"
    entries = sorted(p.name for p in store.iterdir())
    assert not [e for e in entries if e.startswith(".")], f"left-over temporary directories: {entries}"
    assert len(entries) == 1 and entries[0].startswith("6.1.")

    found = run_as(["/usr/bin/python3", "-c",
                    "import json; from uaccess_lab.kernels import resolve; k = resolve('6.1'); "
                    "print(json.dumps({'source': k.source, 'release': k.release, 'build': str(k.build_dir), "
                    "'image': str(k.image), 'modules': str(k.modules_dir)}))"],
                   cwd=kit, env=env)
    assert found.returncode == 0, found.stderr
    kernel = json.loads(found.stdout)
    assert kernel["source"] == "cache" and kernel["release"] == entries[0]
    assert Path(kernel["image"]).is_file()
    assert (Path(kernel["modules"]) / "modules.dep").is_file(), "depmod did not index the modules"

    build = run_as(["make", "-C", str(kit / "module-src"), f"KDIR={kernel['build']}", "modules"],
                   cwd=kit, env=env, timeout=600)
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    vermagic = subprocess.run(["modinfo", "-F", "vermagic", str(kit / "module-src/cdev.ko")],
                              capture_output=True, text=True, check=True).stdout
    assert vermagic.split()[0] == kernel["release"]


@pytest.mark.nonroot
def test_system_install_as_user_says_what_to_run(student_dir):
    """A user asking for a system-wide install is told the sudo command and the user route."""
    kit = copy_tree_for(student_dir / "kit", REPO)
    r = run_as(["/usr/bin/python3", "-m", "uaccess_lab.cli", "kernels", "install", "--system", "6.12"],
               cwd=kit, env={"PYTHONPATH": str(kit)})
    assert r.returncode == 2
    assert "sudo apt-get install linux-image-6.12-amd64 linux-headers-6.12-amd64" in r.stderr
    assert "uaccess-lab kernels install 6.12" in r.stderr


@pytest.mark.nonroot
def test_private_debian_apt_finds_the_packages_as_a_user(student_dir):
    """Where the system's apt cannot help (Ubuntu, Binder), a user's private apt reads Debian's archive."""
    kit = copy_tree_for(student_dir / "kit", REPO)
    env = {"UACCESS_LAB_CACHE": str(student_dir / "cache"), "PYTHONPATH": str(kit), "UACCESS_LAB_APT": "debian"}
    r = run_as(["/usr/bin/python3", "-c",
                "from uaccess_lab import kernels as k; s = k.SERIES['6.12']; "
                "print('\\n'.join(k._concrete_packages(s, k._apt_options(s, log=lambda m: None))))"],
               cwd=kit, env=env, timeout=300)
    assert r.returncode == 0, r.stderr
    names = r.stdout.split()
    assert any(n.startswith("linux-image-6.12.") and n.endswith("-amd64") for n in names), names
    assert any(n.startswith("linux-kbuild-6.12") for n in names), names
    assert (student_dir / "cache/apt/lists").is_dir()
