"""Solution regions in C cells: the instructor builds the fix, the student gets the article's code."""

import shutil
from pathlib import Path

import nbformat
import pytest

from uaccess_lab.course import generate
from uaccess_lab.course.c_regions import starter_version

REPO = Path(__file__).resolve().parents[1]

C_CELL = """%%module demo
int answer(void)
{
#if 1 /* BEGIN SOLUTION */
\treturn 42;
#else /* STARTER */
\treturn 0; /* SEED-BUG 1: wrong */
#endif /* END SOLUTION */
}"""


def test_starter_version_keeps_only_the_starter_lines():
    """Each region shrinks to its STARTER branch; the lines around it stay."""
    text, found = starter_version(C_CELL)
    assert found
    assert text == "%%module demo\nint answer(void)\n{\n\treturn 0; /* SEED-BUG 1: wrong */\n}"


@pytest.mark.parametrize("bad, message", [
    ("#if 1 /* BEGIN SOLUTION */\nx\n", "not closed"),
    ("/* BEGIN SOLUTION */\nx\n#endif /* END SOLUTION */", "#if 1 /\\* BEGIN SOLUTION"),
    ("#else /* STARTER */\n", "outside a solution region"),
    ("#endif /* END SOLUTION */", "without BEGIN"),
])
def test_malformed_regions_are_refused_with_the_line(bad, message):
    """A malformed region is an error that says what to write, not a silently broken notebook."""
    with pytest.raises(RuntimeError, match=message):
        starter_version(bad)


def test_nbgrader_generate_assignment_uses_it(tmp_path):
    """Real `nbgrader generate_assignment` with the course config: C cell gets starter code, Python cell the stub."""
    course = tmp_path / "grader"
    (course / "source" / "99-demo").mkdir(parents=True)
    shutil.copy(REPO / "grader/nbgrader_config.py", course)
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    grade_meta = {"solution": True, "grade": False, "locked": False, "schema_version": 3}
    nb.cells = [
        nbformat.v4.new_code_cell(C_CELL, metadata={"nbgrader": {**grade_meta, "grade_id": "driver"}}),
        nbformat.v4.new_code_cell("def f():\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION",
                                  metadata={"nbgrader": {**grade_meta, "grade_id": "python"}}),
    ]
    nbformat.write(nb, course / "source" / "99-demo" / "99-demo.ipynb")

    labs = tmp_path / "labs"
    written = generate.generate(course, labs, log=lambda *_: None)

    assert [p.name for p in written] == ["99-demo.ipynb"]
    student = nbformat.read(labs / "99-demo.ipynb", as_version=4)
    assert student.cells[0].source == starter_version(C_CELL)[0]
    assert "raise NotImplementedError()" in student.cells[1].source
    assert "return 1" not in student.cells[1].source
