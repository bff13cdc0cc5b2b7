"""Grading student driver code in the guest: the harness, the labs' suites, and one entry point.

    report = grade_source("06-capstone", open("cdev.c").read())
    print(report.format())
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

from .driver import DriverUnderTest
from .harness import Outcome, Report, Suite, TestFailure

__all__ = ["DriverUnderTest", "Outcome", "Report", "Suite", "TestFailure", "grade_source", "suite_for"]

REPO = Path(__file__).resolve().parents[2]


def _visible_suites() -> dict[str, Suite]:
    from .capstone import capstone

    return {capstone.lab: capstone}


def hidden_tests_dir() -> Path | None:
    """Where the instructor's hidden driver tests live: $UACCESS_LAB_GRADER/driver_tests or grader/ here."""
    for base in (os.environ.get("UACCESS_LAB_GRADER"), REPO / "grader"):
        if base and (Path(base) / "driver_tests").is_dir():
            return Path(base) / "driver_tests"
    return None


def suite_for(lab: str, *, visible_only: bool = False) -> Suite:
    """The lab's driver tests: the visible ones, plus the hidden ones unless visible_only."""
    suites = _visible_suites()
    matches = [name for name in suites if name == lab or name.split("-")[0] == lab]
    if len(matches) != 1:
        raise ValueError(f"no driver tests for lab {lab!r}: labs with driver tests are {', '.join(suites)}")
    visible = suites[matches[0]]
    suite = Suite(visible.lab, visible.title)
    suite.extend(visible)
    hidden_dir = hidden_tests_dir()
    hidden_file = hidden_dir / f"{visible.lab}.py" if hidden_dir else None
    if not visible_only and hidden_file and hidden_file.is_file():
        spec = importlib.util.spec_from_file_location(f"hidden_{visible.lab.replace('-', '_')}", hidden_file)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        suite.extend(module.hidden)
    return suite


def grade_source(lab: str, source: str, *, kernel: str | None = None, visible_only: bool = False,
                 names=None, guest=None, on_result=None) -> Report:
    """Build `source` as the lab's driver and run its tests in a guest (booted here unless given)."""
    suite = suite_for(lab, visible_only=visible_only)
    with DriverUnderTest(source, kernel=kernel, guest=guest) as driver:
        return suite.run(driver, visible_only=visible_only, names=names, on_result=on_result)
