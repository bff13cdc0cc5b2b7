"""Regenerate the sample class for lab 06 (tests/submissions/06-capstone/<student>/06-capstone.ipynb).

    .venv/bin/python tests/submissions/make_samples.py

Each sample is the released student notebook (labs/06-capstone.ipynb) with
the driver cell (and sometimes other cells) changed the way one kind of
student would: a correct fix, a compile error, an oops, a hang, leaked pins,
a partial fix, no change at all, a corrupted file, a cell that kills the
notebook's kernel, cells deleted or renamed, the driver cell deleted. expected.json holds the score each must get, and why.
Run it again whenever lab 06 changes; the sync test catches a stale class.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import nbformat

from uaccess_lab.course.c_regions import solution_version

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent / "06-capstone"
LAB = "06-capstone"


def driver_source(nb) -> str:
    cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "driver")
    return cell.source


def with_driver(nb, source: str, answer: int | None = 8192):
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id == "driver":
            cell.source = source
        elif grade_id == "answer-bug2" and answer is not None:
            cell.source = f"answer_bug2 = {answer}"
    return nb


def edit(text: str, old: str, new: str) -> str:
    if old not in text:
        raise SystemExit(f"make_samples: the solution no longer contains {old!r}; update this script")
    return text.replace(old, new, 1)


def main() -> None:
    student_nb = nbformat.read(REPO / "labs" / f"{LAB}.ipynb", as_version=4)
    source_nb = nbformat.read(REPO / "grader/source" / LAB / f"{LAB}.ipynb", as_version=4)
    fixed = solution_version(driver_source(source_nb))
    seed = driver_source(student_nb)

    samples = {
        "correct": with_driver(student_nb, fixed),
        "compile_error": with_driver(student_nb, edit(fixed, "return ret ? ret : count;", "return ret ? ret : count")),
        "oops_read_before_write": with_driver(
            student_nb, edit(fixed, "if (!cbuf->pages || *ppos >= cbuf->len) {", "if (!cbuf->pages[0] || *ppos >= cbuf->len) {")),
        "hang": with_driver(
            student_nb, edit(fixed, "\t/* SEED-BUG 1 and 9: nothing written yet",
                             "\twhile (!cbuf->pages)\t/* wait for a writer */\n\t\tcpu_relax();\n"
                             "\t/* SEED-BUG 1 and 9: nothing written yet")),
        "leaks_pins": with_driver(
            student_nb, edit(fixed, "\tunpin_user_pages(cbuf->pages, cbuf->nr_pages);\n", "")),
        "partial_fix": with_driver(
            student_nb,
            edit(edit(seed, "\tstruct page *page = cbuf->mapped_pages[0];",
                      "\tstruct page *page;\n\n\tif (!cbuf->mapped_pages)\n\t\treturn 0;\n\tpage = cbuf->mapped_pages[0];"),
                 "\t\treturn 0;\n\t}\n\tcbuf->nr_pages = ret;", "\t\treturn ret < 0 ? ret : -EFAULT;\n\t}\n\tcbuf->nr_pages = ret;"),
            answer=None),
        "empty": student_nb,
    }
    dead = with_driver(student_nb, fixed)
    at = next(i for i, c in enumerate(dead.cells) if c.metadata.get("nbgrader", {}).get("grade_id") == "driver")
    killer = nbformat.v4.new_code_cell("import os\nos._exit(1)  # the kernel dies here")
    killer.id = "kernel-dies-here"  # fixed, so regenerating changes nothing
    dead.cells.insert(at + 1, killer)
    samples["kernel_dies"] = dead

    # Cells deleted and renamed: the test cells come back from the instructor's version.
    tampered = with_driver(student_nb, fixed)
    tampered.cells = [c for c in tampered.cells if c.metadata.get("nbgrader", {}).get("grade_id") != "test-bug9"]
    for cell in tampered.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "test-bug8":
            cell.metadata.nbgrader["grade_id"] = "my-own-test"
    samples["cells_deleted_or_renamed"] = tampered
    # The driver cell deleted: nothing to build (the instructor's cdev.c must not stand in).
    no_driver = with_driver(student_nb, fixed)
    no_driver.cells = [c for c in no_driver.cells if c.metadata.get("nbgrader", {}).get("grade_id") != "driver"]
    samples["driver_cell_deleted"] = no_driver

    for student, nb in samples.items():
        path = HERE / student / f"{LAB}.ipynb"
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, path)
    corrupted = HERE / "corrupted" / f"{LAB}.ipynb"
    corrupted.parent.mkdir(parents=True, exist_ok=True)
    text = nbformat.writes(student_nb)
    corrupted.write_text(text[: len(text) // 2])  # cut in the middle: not valid JSON
    print(f"wrote {len(samples) + 1} samples under {HERE}")


if __name__ == "__main__":
    main()
