"""Lab 01 in a real browser: JupyterLab from the README's first command, headless Chromium, Run All.

The notebook is labs/01-*.ipynb with its exercise cells answered (the
instructor's solutions put into the student's cells, as a student who did the
lab would have them). Screenshots go to test-artifacts/browser/.
"""

import json
import os
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

from tests.processes import free_port, stop_group

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "test-artifacts" / "browser"
CHROMIUM = Path("/usr/bin/chromium")
pytestmark = [pytest.mark.vm, pytest.mark.browser]


def answered_student_notebook(lab: str, dest: Path) -> str:
    """labs/<lab>-*.ipynb with every answer cell replaced by the instructor's solution; returns its name."""
    student_path = next((REPO / "labs").glob(f"{lab}-*.ipynb"))
    source_path = REPO / "grader/source" / student_path.stem / student_path.name
    student = nbformat.read(student_path, as_version=4)
    solutions = {c.metadata["nbgrader"]["grade_id"]: c.source for c in nbformat.read(source_path, as_version=4).cells
                 if c.metadata.get("nbgrader", {}).get("solution")}
    for cell in student.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in solutions:
            cell.source = solutions[grade_id]
    nbformat.write(student, dest / student_path.name)
    return student_path.name


@pytest.fixture(scope="module")
def jupyterlab(tmp_path_factory):
    """`./setup.sh lab` serving a scratch copy of the lab on a free port (the repository stays untouched)."""
    if not CHROMIUM.exists():
        pytest.skip("Chromium is missing: sudo apt-get install chromium chromium-driver (./setup.sh test does it as root)")
    root = tmp_path_factory.mktemp("labs")
    name = answered_student_notebook("01", root)
    port = free_port()
    proc = subprocess.Popen(
        ["./setup.sh", "lab", f"--port={port}", "--IdentityProvider.token=", f"--ServerApp.root_dir={root}"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/contents", timeout=5) as r:
                    listed = [item["name"] for item in json.loads(r.read())["content"]]
                break
            except OSError:
                assert proc.poll() is None, proc.stdout.read()[-3000:]
                time.sleep(1)
        else:
            pytest.fail("JupyterLab did not start within 300 s")
        assert name in listed
        yield f"http://127.0.0.1:{port}", name
    finally:
        stop_group(proc)


def test_lab01_runs_in_the_browser(jupyterlab):
    """Run All in Chromium: no error output, the address-space plot is an image, the slider changes the output."""
    from playwright.sync_api import sync_playwright

    base, name = jupyterlab
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        try:
            page.goto(f"{base}/lab/tree/{name}", timeout=120_000)
            page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=120_000)
            page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=120_000)
            page.screenshot(path=ARTIFACTS / "01-opened.png")

            page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
            page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
            # Done when no code cell is queued or running ([*]) and every code cell has a number.
            page.wait_for_function(
                """() => {
                    const prompts = [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')];
                    return prompts.length > 0 && prompts.every(p => /\\[\\d+\\]/.test(p.textContent));
                }""", timeout=600_000, polling=1000)
            page.screenshot(path=ARTIFACTS / "02-ran-all.png", full_page=True)

            errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
            assert errors.count() == 0, "error output: " + errors.first.inner_text()[:2000]
            images = page.locator(".jp-OutputArea-output img")
            assert images.count() >= 1, "the address-space plot did not render as an image"
            assert images.first.evaluate("img => img.naturalWidth") > 100

            slider = page.locator(".jupyter-widgets .widget-slider .noUi-handle, "
                                  ".jupyter-widgets .widget-slider input[type='range']").first
            slider.scroll_into_view_if_needed()
            output = page.locator(".jupyter-widgets.widget-output, .jupyter-widgets .widget-output").first
            before = output.inner_html()
            page.screenshot(path=ARTIFACTS / "03-explorer-before.png")
            slider.focus()
            for _ in range(5):
                page.keyboard.press("ArrowRight")
            page.wait_for_function("(before) => { const o = document.querySelector("
                                   "'.jupyter-widgets.widget-output, .jupyter-widgets .widget-output');"
                                   " return o && o.innerHTML !== before; }", arg=before, timeout=60_000)
            page.screenshot(path=ARTIFACTS / "04-explorer-after.png")
            assert output.inner_html() != before
        finally:
            page.screenshot(path=ARTIFACTS / "99-last.png", full_page=True)
            browser.close()
