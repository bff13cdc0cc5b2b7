"""The Binder route without repo2docker: postBuild as a fresh unprivileged user, then labs 00 and 05 headless.

repo2docker cannot run here (no container engine), so this repeats its steps:
a new user with an empty home and no sudo, a Python environment with
binder/requirements.txt, binder/postBuild from the repository root (which
installs the kit and the 6.1 kernel through the private Debian apt, as on
Binder's Ubuntu image), then the first and the mapping lab executed headless.
"""

import subprocess
from pathlib import Path

import nbformat
import pytest

from tests.unprivileged import copy_tree_for, ensure_user, require_root, run_as

REPO = Path(__file__).resolve().parents[1]
USER = "uaccess-binder"
pytestmark = [pytest.mark.vm, pytest.mark.nonroot]


def as_binder_user(argv, cwd, timeout=1800):
    """argv as the Binder user, with its venv first on PATH and the private Debian apt (as on Ubuntu)."""
    venv = Path(ensure_user(USER).pw_dir) / "venv"
    env = {"PATH": f"{venv}/bin:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin", "UACCESS_LAB_APT": "debian"}
    return run_as(argv, cwd=cwd, env=env, timeout=timeout, name=USER)


@pytest.fixture(scope="module")
def binder_home():
    """A fresh user and home with the kit built the way repo2docker would build it."""
    require_root()
    subprocess.run(["userdel", "--remove", USER], capture_output=True)
    pw = ensure_user(USER)
    home = Path(pw.pw_dir)
    kit = copy_tree_for(home / "kit", REPO, name=USER)
    steps = [
        ["/usr/bin/python3", "-m", "venv", str(home / "venv")],
        ["pip", "install", "-q", "-r", "binder/requirements.txt"],
        ["bash", "binder/postBuild"],
    ]
    for argv in steps:
        r = as_binder_user(argv, cwd=kit)
        assert r.returncode == 0, f"{' '.join(argv)} failed:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
    yield home, kit
    subprocess.run(["userdel", "--remove", USER], capture_output=True)


def test_post_build_baked_the_kernel_into_the_users_cache(binder_home):
    """After postBuild the 6.1 kernel resolves from the user's own cache, with no root involved."""
    home, kit = binder_home
    r = as_binder_user(["python", "-c", "from uaccess_lab.kernels import resolve; k = resolve('6.1'); "
                                        "print(k.source, k.image)"], cwd=kit)
    assert r.returncode == 0, r.stderr
    source, image = r.stdout.split()
    assert source == "cache" and image.startswith(str(home / ".cache/uaccess-lab/kernels/"))


@pytest.mark.parametrize("lab", ["00", "05"])
def test_lab_runs_headless_for_the_binder_user(binder_home, lab):
    """The student version of the lab executes without an error as the Binder user."""
    home, kit = binder_home
    notebook = next((kit / "labs").glob(f"{lab}-*.ipynb"))
    executed = home / f"{lab}-run.ipynb"
    r = as_binder_user(["jupyter", "nbconvert", "--to", "notebook", "--execute", "--allow-errors",
                        "--ExecutePreprocessor.timeout=600", "--output", str(executed),
                        str(notebook)], cwd=kit / "labs", timeout=1200)
    assert r.returncode == 0, r.stderr[-4000:]
    errors = errors_before_first_exercise(nbformat.read(executed, as_version=4))
    assert not errors, "\n\n".join(errors)


def errors_before_first_exercise(nb) -> list[str]:
    """Error outputs of the cells before the first unsolved exercise (a `raise NotImplementedError()` stub)."""
    found = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        if "raise NotImplementedError()" in cell.source:
            break
        for out in cell.outputs:
            if out.output_type == "error":
                found.append(f"{cell.source[:200]}\n-> {out.ename}: {out.evalue}")
    return found
