"""`uaccess-lab grade-driver` on the article's driver, in a real guest: JSON out, the oops in the output."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.vm
def test_grade_driver_json_on_the_articles_driver():
    """The seed driver builds and loads (points) and oopses on read-before-write (no points, oops text)."""
    r = subprocess.run([sys.executable, "-m", "uaccess_lab.cli", "grade-driver", "--lab", "06", "--visible",
                        "--json", "-k", "read_before_write", str(REPO / "module-src/cdev.c")],
                       capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    assert report["lab"] == "06-capstone"
    tests = {t["name"]: t for t in report["tests"]}
    assert list(tests) == ["builds", "read_before_write"]  # the filter keeps the parent
    assert tests["builds"]["passed"] and tests["builds"]["points"] == tests["builds"]["max_points"] == 2
    oops = tests["read_before_write"]
    assert not oops["passed"] and oops["points"] == 0
    assert "BUG: kernel NULL pointer dereference" in oops["output"]
    assert "cdev_read" in oops["output"] and "cdev.c:" in oops["output"]
    assert (report["total"], report["max"]) == (2, 4)
    assert "FAIL read_before_write" in r.stderr  # progress goes to stderr, JSON alone on stdout


def test_grade_driver_refuses_what_it_cannot_grade(tmp_path):
    """An unknown lab or an unreadable file exits 2 with a message, not a traceback."""
    missing = subprocess.run([sys.executable, "-m", "uaccess_lab.cli", "grade-driver", "--lab", "06",
                              str(tmp_path / "nope.c")], capture_output=True, text=True, timeout=60)
    assert missing.returncode == 2 and "cannot read" in missing.stderr and "Traceback" not in missing.stderr
    unknown = subprocess.run([sys.executable, "-m", "uaccess_lab.cli", "grade-driver", "--lab", "42",
                              str(REPO / "module-src/cdev.c")], capture_output=True, text=True, timeout=60)
    assert unknown.returncode == 2 and "labs with driver tests are 06-capstone" in unknown.stderr
