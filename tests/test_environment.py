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
