"""The course's sources agree with each other: the capstone's driver cell, module-src and the solution."""

from pathlib import Path

import nbformat

from uaccess_lab.course.c_regions import solution_version, starter_version
from uaccess_lab.grading import suite_for

REPO = Path(__file__).resolve().parents[1]
CAPSTONE = REPO / "grader/source/06-capstone/06-capstone.ipynb"


def cell(grade_id: str) -> str:
    nb = nbformat.read(CAPSTONE, as_version=4)
    return next(c.source for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def test_students_start_from_the_articles_driver():
    """The student version of the capstone's driver cell is exactly module-src/cdev.c."""
    text, found = starter_version(cell("driver"))
    assert found
    assert text.rstrip("\n") == "%%writefile cdev.c\n" + (REPO / "module-src/cdev.c").read_text().rstrip("\n")


def test_instructor_version_is_the_solution():
    """The instructor version is grader/solutions/cdev.c (under the article's header comment)."""
    seed = (REPO / "module-src/cdev.c").read_text()
    fixed = (REPO / "grader/solutions/cdev.c").read_text()
    expected = seed[: seed.index("#define pr_fmt")] + fixed[fixed.index("#define pr_fmt"):]
    assert solution_version(cell("driver")).rstrip("\n") == "%%writefile cdev.c\n" + expected.rstrip("\n")


def test_every_driver_test_has_a_graded_cell():
    """Each visible and hidden capstone test is called by exactly one graded cell."""
    nb = nbformat.read(CAPSTONE, as_version=4)
    graded = "\n".join(c.source for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade"))
    for case in suite_for("06-capstone").tests:
        call = f'check("{case.name}"' + (", hidden=True)" if case.hidden else ")")
        assert graded.count(call) == 1, f"{case.name} is called {graded.count(call)} times in graded cells"
