"""environment.yml (conda users) and pyproject.toml (pip users) install the same versions."""

import re
import tomllib
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]


def pins(requirements):
    out = {}
    for req in requirements:
        m = re.fullmatch(r"([A-Za-z0-9_.\-]+)==([^\s;]+)", req.strip())
        if m:
            out[m.group(1).lower()] = m.group(2)
    return out


def test_environment_yml_pins_match_pyproject():
    """Every runtime pin in pyproject.toml appears in environment.yml with the same version, and back."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    env = yaml.safe_load((REPO / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    assert pins(pip_section) == pins(project["dependencies"])
    assert all("==" in req for req in project["dependencies"]), "every dependency must be pinned"


def test_environment_yml_installs_the_project_itself():
    """The conda environment installs uaccess-lab from the checkout (the CLI, sim and magics)."""
    env = yaml.safe_load((REPO / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    assert "-e ." in pip_section
    assert env["name"] == "uaccess-lab"
    assert any(str(d).startswith("python=3.11") for d in env["dependencies"])


def test_binder_requirements_pin_the_same_versions():
    """binder/requirements.txt (repo2docker) pins exactly pyproject.toml's runtime dependencies."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    lines = [ln.split("#")[0].strip() for ln in (REPO / "binder/requirements.txt").read_text().splitlines()]
    assert pins([ln for ln in lines if ln]) == pins(project["dependencies"])


def test_binder_post_build_installs_the_kit_and_a_kernel_without_root():
    """postBuild installs uaccess-lab and the default kernel by the non-root route, and fails loudly."""
    script = (REPO / "binder/postBuild").read_text()
    assert script.startswith("#!/usr/bin/env bash") and "set -euo pipefail" in script
    assert "pip install --no-deps -e ." in script
    assert "uaccess-lab kernels install 6.1" in script
    commands = [ln for ln in script.splitlines() if not ln.lstrip().startswith("#")]
    assert not any("sudo " in ln for ln in commands)
    assert (REPO / "binder/postBuild").stat().st_mode & 0o111
