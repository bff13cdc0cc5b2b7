"""Regenerate the student notebooks in labs/ from the instructor notebooks in grader/source/.

`nbgrader generate_assignment` strips solutions and hidden tests into
grader/release/<lab>/; the files there are then copied to labs/, where
students open them. tests/test_course_sync.py fails when the two disagree.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
COURSE = REPO / "grader"
LABS = REPO / "labs"


def assignments(course: Path = COURSE) -> list[str]:
    """The labs in the course, in order (one directory each under source/)."""
    return sorted(p.name for p in (course / "source").iterdir() if p.is_dir() and not p.name.startswith("."))


def nbgrader(args: list[str], course: Path = COURSE, timeout: float = 600) -> subprocess.CompletedProcess:
    """Run an nbgrader command in the course directory (where nbgrader_config.py is)."""
    bindir = Path(sys.executable).parent
    argv = [str(bindir / "nbgrader"), *args, f"--CourseDirectory.root={course}"]
    # nbgrader runs `alembic` (its database migrations) from PATH: use the venv's.
    env = {**os.environ, "PATH": f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}"}
    proc = subprocess.run(argv, cwd=course, env=env, capture_output=True, text=True, timeout=timeout)
    # nbgrader only logs a broken config file and goes on with its defaults: refuse that.
    if "Exception while loading config file" in proc.stderr:
        raise RuntimeError(f"{course / 'nbgrader_config.py'} did not load; nbgrader said:\n{proc.stderr[-3000:]}")
    return proc


def generate(course: Path = COURSE, labs: Path = LABS, only: list[str] | None = None, log=print) -> list[Path]:
    """Generate each lab's student version and copy it into `labs`; return the files written."""
    written = []
    labs.mkdir(exist_ok=True)
    for lab in only or assignments(course):
        log(f"generating {lab}")
        proc = nbgrader(["generate_assignment", lab, "--force"], course)
        if proc.returncode != 0:
            raise RuntimeError(f"nbgrader generate_assignment {lab} failed:\n{proc.stdout}{proc.stderr}")
        release = course / "release" / lab
        for src in sorted(release.rglob("*")):
            if src.is_file():
                dest = labs / src.relative_to(release)
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(src, dest)
                written.append(dest)
    return written
