"""The instructor's workflow over nbgrader, one command per step, with progress over the class.

    uaccess-lab course generate              # grader/source -> labs/ (student versions)
    uaccess-lab course release 06-capstone   # put the lab in the exchange for students
    uaccess-lab course collect 06-capstone   # fetch submissions from the exchange
    uaccess-lab course autograde 06-capstone [--jobs N]
    uaccess-lab course feedback 06-capstone  # HTML feedback, released to students
    uaccess-lab course export grades.csv

Every step is the real nbgrader command run in the course directory (where
nbgrader_config.py is); `autograde` runs it once per submission so it can show
"submission n of N", elapsed time and an ETA, and so that one broken
submission never stops the rest of the class.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

from .generate import COURSE, nbgrader

__all__ = ["SubmissionResult", "autograde", "run_step", "submissions"]


class WorkflowError(RuntimeError):
    """An nbgrader step failed; the message holds nbgrader's own output."""


def run_step(args: list[str], course: Path = COURSE, timeout: float = 3600) -> str:
    """Run one nbgrader command; return its output or raise WorkflowError with it."""
    proc = nbgrader(args, course, timeout=timeout)
    output = proc.stdout + proc.stderr
    if proc.returncode != 0:
        raise WorkflowError(f"`nbgrader {' '.join(args)}` failed (exit {proc.returncode}):\n{output[-4000:]}")
    return output


def scratch_course(dest: Path, submissions_dir: Path | None = None, lab: str | None = None) -> Path:
    """A throw-away copy of the course in `dest` (config, sources, hidden tests), for trying
    the workflow on a sample class: each student directory under `submissions_dir`
    becomes submitted/<student>/<lab>/. Returns the new course directory."""
    import shutil

    dest.mkdir(parents=True, exist_ok=True)
    for part in ("nbgrader_config.py", "source", "driver_tests"):
        src = COURSE / part
        (shutil.copytree if src.is_dir() else shutil.copy)(src, dest / part)
    if submissions_dir is not None:
        for student_dir in sorted(p for p in submissions_dir.iterdir() if p.is_dir()):
            shutil.copytree(student_dir, dest / "submitted" / student_dir.name / lab)
    return dest


def submissions(lab: str, course: Path = COURSE) -> list[str]:
    """Student ids with a submission of `lab` in submitted/ (after `collect`, or copied there by hand)."""
    root = course / "submitted"
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if (p / lab).is_dir())


@dataclass
class SubmissionResult:
    student: str
    ok: bool
    score: float | None
    max_score: float | None
    seconds: float
    message: str = ""


def _score(lab: str, student: str, course: Path) -> tuple[float | None, float | None]:
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", "uaccess-lab") as gb:
        try:
            submission = gb.find_submission(lab, student)
        except MissingEntry:
            return None, None
        return submission.score, submission.max_score


def _why_failed(output: str) -> str:
    """The line of nbgrader's output that says why a submission could not be graded."""
    if "NotJSONError" in output or "does not appear to be JSON" in output:
        return "the notebook file is not valid JSON (corrupted or truncated): ask the student to submit again"
    for marker in ("is not valid", "Error", "error"):
        for line in output.splitlines():
            if marker in line:
                return line.strip()[:300]
    return output.strip().splitlines()[-1][:300] if output.strip() else "nbgrader failed without output"


def _grade_one(lab: str, student: str, course: Path) -> SubmissionResult:
    started = time.monotonic()
    proc = nbgrader(["autograde", lab, "--student", student, "--create", "--force"], course, timeout=3600)
    seconds = time.monotonic() - started
    score, max_score = _score(lab, student, course)
    output = proc.stdout + proc.stderr
    if proc.returncode != 0 or score is None:
        return SubmissionResult(student, False, score, max_score, seconds,
                                f"could not be graded: {_why_failed(output)}")
    return SubmissionResult(student, True, score, max_score, seconds)


def autograde(lab: str, course: Path = COURSE, *, students: list[str] | None = None, jobs: int = 1,
              log=print) -> list[SubmissionResult]:
    """Autograde every submission of `lab`, showing progress; return one result per student."""
    todo = students or submissions(lab, course)
    if not todo:
        raise WorkflowError(f"no submissions of {lab} in {course / 'submitted'}: run `uaccess-lab course collect {lab}` first")
    results: list[SubmissionResult] = []
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = {pool.submit(_grade_one, lab, s, course): s for s in todo}
        for done, future in enumerate(as_completed(futures), 1):
            r = future.result()
            results.append(r)
            elapsed = time.monotonic() - started
            eta = elapsed / done * (len(todo) - done)
            score = f"{r.score:g}/{r.max_score:g}" if r.score is not None else "-"
            log(f"[{done}/{len(todo)}] {r.student}: {score} in {r.seconds:.0f}s"
                f"{'  ' + r.message if r.message else ''}  (elapsed {elapsed:.0f}s, ETA {eta:.0f}s)")
    return sorted(results, key=lambda r: r.student)
