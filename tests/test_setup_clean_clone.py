"""The README's two commands work from a fresh copy of the kit, as root and as an ordinary user."""

import os
import shutil
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

from tests.processes import free_port, stop_group
from tests.unprivileged import USER, as_user_argv, copy_tree_for, ensure_user

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.vm  # slow: each creates a fresh .venv and installs every pinned package


def command(argv, user):
    """argv run as `user` (None: as ourselves) with a clean login-like environment."""
    return argv if user is None else as_user_argv(argv, name=user)


@pytest.fixture(scope="module", params=["root", "user"])
def fresh_kit(request):
    """A copy of the kit's files in a new directory, owned by root or by the test user.

    Module-scoped: `setup.sh test` runs first in a fresh copy, then `setup.sh lab`
    reuses its .venv, as a person running both commands would.
    """
    user = None if request.param == "root" else USER
    if user is None and os.geteuid() != 0:
        pytest.skip("the root variant needs root")
    base = Path(tempfile.mkdtemp(prefix="uaccess-kit-"))
    base.chmod(0o755)
    if user:
        ensure_user(user)
        pw = ensure_user(user)
        os.chown(base, pw.pw_uid, pw.pw_gid)
        kit = copy_tree_for(base / "kit", REPO, name=user)
    else:
        kit = copy_tree_for(base / "kit", REPO, name="root")
    yield kit, user
    shutil.rmtree(base, ignore_errors=True)


def test_setup_test_runs_the_tests(fresh_kit):
    """`./setup.sh test` builds .venv and runs pytest (here a quick selection of the suite)."""
    kit, user = fresh_kit
    r = subprocess.run(command(["./setup.sh", "test", "-m", "not vm", "tests/test_environment.py", "tests/test_kernels.py"], user),
                       cwd=kit, capture_output=True, text=True, timeout=1500)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert " passed" in r.stdout.splitlines()[-1]
    assert (kit / ".venv/bin/uaccess-lab").exists()


def test_setup_lab_starts_jupyterlab_on_labs(fresh_kit):
    """`./setup.sh lab` ends with JupyterLab serving labs/ on the given port."""
    kit, user = fresh_kit
    port = free_port()
    proc = subprocess.Popen(command(["./setup.sh", "lab", f"--port={port}", "--IdentityProvider.token="], user),
                            cwd=kit, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 1200
        page = None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/contents", timeout=5) as resp:
                    page = resp.read().decode()
                break
            except OSError:
                time.sleep(2)
        assert page is not None, f"JupyterLab did not answer; setup.sh said:\n{proc.communicate(timeout=5)[0][-3000:]}"
        listed = {item["name"] for item in __import__("json").loads(page)["content"]}
        assert listed == {p.name for p in (kit / "labs").iterdir() if not p.name.startswith(".")}
    finally:
        stop_group(proc)
