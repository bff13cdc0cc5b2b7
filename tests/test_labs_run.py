"""Every lab runs top to bottom headless, on the real kernel in a guest.

Instructor versions (grader/source/): every cell runs without an error or
stderr output, so the solutions pass all their tests, visible and hidden;
no table shows a simulator/kernel disagreement, nor a solution's prediction
that differs from the kernel. Student versions
(labs/): every cell that is not an exercise (a solution cell) or a test runs
without an error, with the exercises left as the student gets them.
Each notebook's wall time is recorded in
test-artifacts/labs/run-times.json (bench/RESULTS-labs.md lists them);
nothing is asserted about time.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parents[1]
SOURCE = REPO / "grader" / "source"
LABS = REPO / "labs"
ARTIFACTS = REPO / "test-artifacts" / "labs"
LAB_NAMES = ["00-setup", "01-access_ok", "02-get_put_user", "03-copy", "04-strings", "05-mapping", "06-capstone",
             "07-performance"]

pytestmark = pytest.mark.vm


def _execute(path: Path, workdir: Path, parameters: str | None = None) -> tuple[nbformat.NotebookNode, float]:
    nb = nbformat.read(path, as_version=4)
    if parameters is not None:
        cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
        cell.source = parameters
    started = time.monotonic()
    NotebookClient(nb, timeout=600, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(workdir)}}).execute()
    return nb, time.monotonic() - started


def _problems(nb: nbformat.NotebookNode, skip_exercises: bool) -> list[str]:
    """Errors, stderr output and simulator/kernel disagreements, cell by cell."""
    found = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        meta = cell.metadata.get("nbgrader", {})
        if skip_exercises and (meta.get("solution") or meta.get("grade")):
            continue
        for out in cell.get("outputs", []):
            text = out.get("text", "") + str(out.get("data", {}).get("text/html", ""))
            if out.output_type == "error":
                found.append(f"cell {i} ({meta.get('grade_id', '')}): {out.ename}: {out.evalue[:2000]}")
            elif out.output_type == "stream" and out.name == "stderr":
                found.append(f"cell {i} ({meta.get('grade_id', '')}) wrote to stderr: {out.text[:2000]}")
            if not skip_exercises and "your prediction differs" in text:
                found.append(f"cell {i} ({meta.get('grade_id', '')}): the solution's prediction differs from "
                             f"the kernel:\n{text[:2000]}")
            if "bug in the simulator" in text:
                found.append(f"cell {i} ({meta.get('grade_id', '')}): the simulator and the kernel disagree:\n"
                             f"{text[:2000]}")
    return found


def _record(name: str, seconds: float) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / "run-times.json"
    times = json.loads(path.read_text()) if path.exists() else {}
    times[name] = round(seconds, 1)
    path.write_text(json.dumps(times, indent=2, sort_keys=True) + "\n")


def _run(kind: str, lab: str, tmp_path: Path, parameters: str | None = None, label: str | None = None):
    path = (SOURCE / lab / f"{lab}.ipynb") if kind == "instructor" else (LABS / f"{lab}.ipynb")
    assert path.exists(), f"{path} is missing: run `uaccess-lab course generate`"
    nb, seconds = _execute(path, tmp_path, parameters)
    name = f"{kind} {label or lab}"
    _record(name, seconds)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, ARTIFACTS / f"{kind}-{label or lab}.ipynb")
    problems = _problems(nb, skip_exercises=kind == "student")
    assert not problems, f"{name} ({seconds:.0f} s):\n" + "\n".join(problems)
    return nb


@pytest.mark.parametrize("lab", LAB_NAMES)
def test_instructor_notebook_passes_its_tests(lab, tmp_path):
    """The instructor version runs clean: every test cell passes, sim agrees with the kernel."""
    nb = _run("instructor", lab, tmp_path)
    graded = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]
    assert graded, f"{lab} has no graded test cell"


def test_lab05_runs_on_6_12(tmp_path):
    """Lab 05 with KERNEL = "6.12": the same claims hold on the second supported kernel."""
    _run("instructor", "05-mapping", tmp_path, parameters='KERNEL = "6.12"', label="05-mapping-6.12")


@pytest.mark.parametrize("lab", LAB_NAMES)
def test_student_notebook_runs_up_to_the_exercises(lab, tmp_path):
    """The student version: every cell but the exercises and their tests runs without an error."""
    nb = _run("student", lab, tmp_path)
    stubs = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution")]
    assert stubs, f"{lab}: the student version has no exercise cell"
    assert not any("### BEGIN SOLUTION" in c.source or "BEGIN SOLUTION */" in c.source for c in stubs), \
        f"{lab}: the student version still contains a solution"
