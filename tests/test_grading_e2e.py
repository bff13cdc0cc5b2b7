"""The real nbgrader workflow on lab 06 with a sample class: every kind of submission gets its expected score."""

import csv
import json
from pathlib import Path

import pytest

from uaccess_lab.course import workflow

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "tests/submissions"
LAB = "06-capstone"
EXPECTED = json.loads((SAMPLES / "expected.json").read_text())

pytestmark = pytest.mark.vm


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory, monkeypatch_module):
    """A copy of the course with the sample class submitted, autograded once for all tests here."""
    course = workflow.scratch_course(tmp_path_factory.mktemp("course") / "grader", SAMPLES / LAB, LAB)
    # The instructor ran their notebook in source/: its %%writefile left the solution there.
    (course / "source" / LAB / "cdev.c").write_text((REPO / "grader/solutions/cdev.c").read_text())
    # the notebooks' hidden tests come from this course's driver_tests/
    monkeypatch_module.setenv("UACCESS_LAB_GRADER", str(course))
    workflow.run_step(["generate_assignment", LAB, "--force"], course)
    lines = []
    # Two at a time: nbgrader processes then write the one SQLite gradebook concurrently,
    # as `uaccess-lab course autograde --jobs 2` does on an instructor's machine.
    results = workflow.autograde(LAB, course, jobs=2, log=lines.append)
    return course, {r.student: r for r in results}, lines


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as mp:
        yield mp


@pytest.mark.parametrize("student", sorted(EXPECTED["scores"]))
def test_each_submission_gets_its_expected_score(graded_class, student):
    """Autograde gives each sample the score its kind of mistake deserves (see expected.json)."""
    course, results, lines = graded_class
    expected, why = EXPECTED["scores"][student]
    r = results[student]
    if expected is None:
        assert not r.ok and "could not be graded" in r.message, r
    else:
        assert r.ok, f"{student} was not graded: {r.message}"
        assert (r.score, r.max_score) == (expected, EXPECTED["max_score"]), f"{student}: {why}"


def test_progress_shows_n_of_N_elapsed_and_eta(graded_class):
    """The instructor sees one line per submission: n/N, score, elapsed and ETA."""
    course, results, lines = graded_class
    assert len(lines) == len(EXPECTED["scores"])
    assert lines[-1].startswith(f"[{len(lines)}/{len(lines)}] ")
    assert all("elapsed" in line and "ETA" in line for line in lines)


def test_feedback_for_the_oops_shows_the_oops(graded_class):
    """The feedback HTML of the oopsing submission contains the kernel's oops text and the faulting line."""
    course, results, lines = graded_class
    workflow.run_step(["generate_feedback", LAB, "--force"], course)
    html = (course / "feedback/oops_read_before_write" / LAB / f"{LAB}.html").read_text()
    assert "BUG: kernel NULL pointer dereference" in html
    assert "cdev_read" in html


def test_export_lists_every_graded_student(graded_class, tmp_path):
    """`nbgrader export` writes a CSV with one row per graded student and their score."""
    course, results, lines = graded_class
    target = tmp_path / "grades.csv"
    workflow.run_step(["export", f"--to={target}"], course)
    rows = {row["student_id"]: row for row in csv.DictReader(target.open())}
    for student, (expected, _) in EXPECTED["scores"].items():
        if expected is not None:
            assert float(rows[student]["raw_score"]) == expected


def test_files_the_instructors_notebook_wrote_are_neither_released_nor_graded(graded_class):
    """source/<lab>/cdev.c (the solution, written by running the instructor's notebook) is not
    in the release, and did not stand in for a deleted driver cell (driver_cell_deleted: 1 point)."""
    course, results, lines = graded_class
    assert (course / "source" / LAB / "cdev.c").is_file()
    assert not (course / "release" / LAB / "cdev.c").exists()
    assert sorted(p.name for p in (course / "release" / LAB).iterdir()) == [f"{LAB}.ipynb"]

