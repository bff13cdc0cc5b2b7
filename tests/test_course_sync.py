"""labs/ is exactly what `uaccess-lab course generate` makes from grader/source/ (nothing edited by hand, nothing stale)."""

import json
import shutil
from pathlib import Path

import pytest

from uaccess_lab.course import generate

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.vm  # slow: runs nbgrader once per lab


def normalised(path: Path) -> dict:
    return json.loads(path.read_text())


def test_labs_match_a_fresh_generation(tmp_path):
    """Regenerating every lab from grader/source/ into a scratch copy reproduces labs/ file for file."""
    course = tmp_path / "grader"
    course.mkdir()
    for part in ("nbgrader_config.py", "source"):
        src = REPO / "grader" / part
        (shutil.copytree if src.is_dir() else shutil.copy)(src, course / part)
    fresh = tmp_path / "labs"
    written = generate.generate(course, fresh, log=lambda *_: None)

    expected = sorted(p.name for p in written)
    committed = sorted(p.name for p in (REPO / "labs").glob("*.ipynb"))
    assert committed == expected, "labs/ and grader/source/ list different labs: run `uaccess-lab course generate`"
    stale = [name for name in expected if normalised(fresh / name) != normalised(REPO / "labs" / name)]
    assert not stale, f"labs/ is out of date for {stale}: run `uaccess-lab course generate` and commit labs/"
