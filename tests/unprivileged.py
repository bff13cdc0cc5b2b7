"""Run test steps as an ordinary user, the way Binder and JupyterHub run the kit.

CI runs as root; these helpers create one unprivileged user (once) and run
argv lists as that user with a clean environment. Tests that need them skip
with a reason when not run as root.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

USER = "uaccess-student"
PASS_THROUGH = {
    "http_proxy", "https_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY",
    "PIP_CERT", "PIP_FIND_LINKS", "PIP_DEFAULT_TIMEOUT", "PIP_INDEX_URL", "REQUESTS_CA_BUNDLE",
    "SSL_CERT_FILE", "SSL_CERT_DIR", "CURL_CA_BUNDLE",
}


def require_root() -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to create an unprivileged test user (CI runs as root)")


def ensure_user(name: str = USER) -> pwd.struct_passwd:
    """Create the test user with a home directory, if it does not exist yet."""
    require_root()
    try:
        return pwd.getpwnam(name)
    except KeyError:
        subprocess.run(["useradd", "--create-home", "--shell", "/bin/bash", name], check=True)
        return pwd.getpwnam(name)


def user_tmpdir(name: str = USER) -> Path:
    """A fresh directory in /tmp owned by the test user (pytest's tmp_path is root-only)."""
    user = ensure_user(name)
    path = Path(tempfile.mkdtemp(prefix=f"{name}-"))
    os.chown(path, user.pw_uid, user.pw_gid)
    path.chmod(0o755)
    return path


def run_as(argv: list[str], *, cwd: Path | None = None, env: dict | None = None,
           timeout: float = 600, name: str = USER) -> subprocess.CompletedProcess:
    """Run argv as the test user with a login-like environment plus `env`."""
    return subprocess.run(as_user_argv(argv, name=name, env=env), cwd=cwd, capture_output=True, text=True,
                          timeout=timeout)


def as_user_argv(argv: list[str], *, name: str = USER, env: dict | None = None) -> list[str]:
    """argv wrapped to run as user `name` with a login-like environment plus `env` (later wins)."""
    user = ensure_user(name)
    base = {
        "HOME": user.pw_dir,
        "USER": name,
        "LOGNAME": name,
        "PATH": "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin",
        "LANG": "C.UTF-8",
    }
    # Keep the machine's network and certificate settings so pip and apt work as for root.
    base.update({k: v for k, v in os.environ.items() if k in PASS_THROUGH})
    base.update(env or {})
    return ["runuser", "-u", name, "--", "env", "-i", *(f"{k}={v}" for k, v in base.items()), *argv]


def _kit_files(source: Path) -> list[str]:
    """The files of the kit: what git tracks or would track, or (outside git) all but build products."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=source, capture_output=True, text=True,
    )
    if listed.returncode == 0:
        return [f for f in listed.stdout.split("\0") if f and (source / f).exists()]
    skip = {".git", ".venv", "__pycache__", ".pytest_cache", "test-artifacts"}
    files = []
    for dirpath, dirnames, filenames in os.walk(source):
        dirnames[:] = [d for d in dirnames if d not in skip]
        files += [os.path.relpath(os.path.join(dirpath, f), source) for f in filenames]
    return files


def copy_tree_for(dest: Path, source: Path, name: str = USER) -> Path:
    """Copy the kit's files to dest, owned by the user `name`."""
    user = ensure_user(name)
    for rel in _kit_files(source):
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source / rel, target)
    for dirpath, dirnames, filenames in os.walk(dest):
        os.chown(dirpath, user.pw_uid, user.pw_gid)
        for f in filenames:
            os.chown(os.path.join(dirpath, f), user.pw_uid, user.pw_gid)
    return dest


@contextlib.contextmanager
def traversable_for_others(path: Path):
    """Let other users reach `path` (o+x on each parent that lacks it), restored afterwards.

    CI may clone the kit under a private directory such as /root; a test that
    runs the checkout's .venv Python as the test user needs to reach it.
    """
    changed = []
    path = Path(os.path.abspath(path))  # not resolve(): a venv's python is a symlink out of it
    for parent in [*reversed(path.parents), path]:
        mode = parent.stat().st_mode
        if not mode & 0o001:
            parent.chmod(mode | 0o001)
            changed.append((parent, mode))
    try:
        yield
    finally:
        for parent, mode in reversed(changed):
            parent.chmod(mode)
