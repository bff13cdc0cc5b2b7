"""Every lab notebook has the parts the course promises (no VM needed).

Learning goals at the top, a summary and "read next in the kernel source" at
the end, at least one question asked of both the simulator and the real
kernel, at least one picture, graded tests with hidden ones, and a student
version in labs/ that holds no solution or hidden test.
"""

from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parents[1]
LABS = ["00-setup", "01-access_ok", "02-get_put_user", "03-copy", "04-strings", "05-mapping", "07-performance"]


def source(lab):
    return nbformat.read(REPO / "grader/source" / lab / f"{lab}.ipynb", as_version=4)


@pytest.mark.parametrize("lab", LABS)
def test_goals_summary_and_reading(lab):
    """The first cell names the learning goals; the last cell summarises and points into the kernel source."""
    nb = source(lab)
    assert nb.cells[0].cell_type == "markdown" and "**Learning goals.**" in nb.cells[0].source, \
        f"{lab}: the first cell should state the learning goals"
    last = nb.cells[-1].source
    assert "## Summary" in last and "Read next in the kernel source" in last, \
        f"{lab}: the last cell should be the summary with 'Read next in the kernel source'"


@pytest.mark.parametrize("lab", LABS)
def test_sim_and_kernel_side_by_side(lab):
    """At least one question goes to the simulator and the kernel together, and one picture is drawn."""
    code = "\n".join(c.source for c in nb_code(lab))
    assert "three_way(" in code, f"{lab}: no question asked of the simulator and the kernel side by side"
    assert "plot=True" in code or "plot_mm(" in code or "plt." in code, f"{lab}: no picture"


def nb_code(lab):
    return [c for c in source(lab).cells if c.cell_type == "code"]


@pytest.mark.parametrize("lab", LABS)
def test_graded_cells_have_points_and_hidden_tests(lab):
    """Every lab has graded test cells with points, and at least one of them has hidden tests."""
    graded = [c for c in nb_code(lab) if c.metadata.get("nbgrader", {}).get("grade")]
    assert graded and all(c.metadata["nbgrader"].get("points", 0) > 0 for c in graded), f"{lab}: graded cells need points"
    assert any("### BEGIN HIDDEN TESTS" in c.source for c in graded), f"{lab}: no hidden tests"


@pytest.mark.parametrize("lab", LABS)
def test_student_version_has_no_solutions(lab):
    """labs/<lab>.ipynb is generated: no solution region, no hidden test, and the same graded cells."""
    student = nbformat.read(REPO / "labs" / f"{lab}.ipynb", as_version=4)
    text = "\n".join(c.source for c in student.cells)
    for marker in ("### BEGIN SOLUTION", "BEGIN SOLUTION */", "### BEGIN HIDDEN TESTS"):
        assert marker not in text, f"labs/{lab}.ipynb contains {marker!r}: run `uaccess-lab course generate {lab}`"
    ids = lambda nb: [c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells  # noqa: E731
                      if c.metadata.get("nbgrader", {}).get("grade")]
    assert ids(student) == ids(source(lab)), f"labs/{lab}.ipynb is out of date: run `uaccess-lab course generate {lab}`"
