"""What the labs' nbgrader test cells call: one driver test per cell.

    %%writefile cdev.c          <- the student's driver, in the exercise cell
    ...
    check("read_before_write")  <- a test cell worth that test's points

`check` builds the driver once per source text, shares one guest across the
notebook's cells, runs the test (after its parent, if that has not run yet),
prints why it passed, and raises AssertionError with the guest's evidence
when it failed. nbgrader turns a raised error into 0 points for the cell.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sys
from pathlib import Path

from uaccess_lab.vm.shared import shared_guest

from . import suite_for
from .driver import DriverUnderTest
from .harness import Outcome, TestFailure

__all__ = ["check", "self_check"]

# One session per (lab, kernel, source): the built driver and the tests already run.
_sessions: dict[tuple, tuple[DriverUnderTest, dict[str, Outcome]]] = {}


def _session(lab: str, source_file: str, kernel: str | None):
    path = Path(source_file)
    if not path.is_file():
        raise TestFailure(f"{path} does not exist: run the exercise cell (the one starting with "
                          f"%%writefile {path.name}) first, then this one")
    source = path.read_text()
    guest = shared_guest(kernel)  # the notebook's one guest (sealed while nbgrader grades)
    key = (lab, guest.kernel.series, hashlib.sha256(source.encode()).hexdigest())
    if key not in _sessions:
        _sessions[key] = (DriverUnderTest(source, kernel=guest.kernel.series, guest=guest,
                                          source_name=path.name), {})
    driver, results = _sessions[key]
    driver.use_guest(guest)  # the shared guest may have been replaced by a %kernel switch
    return driver, results


def _run(name: str, lab: str, source_file: str, kernel: str | None, hidden: bool) -> Outcome:
    suite = suite_for(lab, visible_only=not hidden)
    driver, results = _session(suite.lab, source_file, kernel)
    chain, case = [], suite.find(name)
    while case:
        chain.insert(0, case)
        case = suite.find(case.parent) if case.parent else None
    parent_passed = True
    for case in chain:
        if case.name not in results:
            results[case.name] = suite.run_test(case, driver, parent_passed=parent_passed)
        parent_passed = results[case.name].passed
    return results[name]


def check(name: str, *, lab: str = "06-capstone", source_file: str = "cdev.c", kernel: str | None = None,
          hidden: bool = False) -> None:
    """Run the driver test `name`; raise AssertionError (0 points) unless it passes."""
    # nbgrader gives 0 points to a cell that writes to stderr: keep progress on stdout.
    with contextlib.redirect_stderr(sys.stdout):
        outcome = _run(name, lab, source_file, kernel, hidden)
    if not outcome.passed:
        raise TestFailure(f"{outcome.title}\n{outcome.output}")
    print(f"OK: {outcome.title}" + (f"\n{outcome.output}" if outcome.output else ""))


def self_check(*, lab: str = "06-capstone", source_file: str = "cdev.c", kernel: str | None = None) -> None:
    """Run every visible test and print the report, as the grader will (without the hidden tests)."""
    suite = suite_for(lab, visible_only=True)
    with contextlib.redirect_stderr(sys.stdout):
        for case in suite.tests:
            outcome = _run(case.name, lab, source_file, kernel, hidden=False)
            verdict = "OK  " if outcome.passed else "FAIL"
            print(f"{verdict} {outcome.title} ({outcome.points:g}/{outcome.max_points:g})", flush=True)
            if not outcome.passed:
                print("     " + outcome.output.replace("\n", "\n     "))


def grading_now() -> bool:
    """True while nbgrader autogrades the notebook (demonstration cells then skip their VM runs)."""
    return os.environ.get("NBGRADER_EXECUTION") == "autograde"


def _boot_early_when_grading() -> None:
    """While grading, boot the notebook's guest as soon as this module is imported (the first
    cell): under TCG the boot takes seconds, which then overlap the cells before the first
    check() and the build of the student's driver."""
    if not grading_now():
        return
    try:
        shared_guest().start_in_background()
    except Exception:  # noqa: BLE001 (e.g. no kernel: the first check() says so, as a graded failure)
        pass


def run_on_driver(program: str, *args: object, source_file: str | None = None, kernel: str | None = None,
                  timeout: float = 60) -> None:
    """Load a driver (default: the article's, module-src/cdev.c) and run one user program against it.

    Prints the program's output and, if the kernel crashed, the oops; used by
    the lab's demonstration cells. Skipped while nbgrader grades.
    """
    from .driver import MODULE_SRC, describe

    if grading_now():
        print("(demonstration skipped while grading)")
        return
    source_file = source_file or str(MODULE_SRC / "cdev.c")
    with contextlib.redirect_stderr(sys.stdout):
        driver, _ = _session("demo", source_file, kernel)
        driver.ensure_loaded()
        result = driver.program(program, *args, timeout=timeout)
    print(f"$ {program} {' '.join(map(str, args))}".rstrip())
    print(result.stdout + result.stderr, end="")
    if result.crash or result.timed_out:
        print("\n" + describe(result, f"running {program}"))
    else:
        print(f"[exit status {result.exit_code}: "
              f"{ {0: 'behaves correctly', 1: 'the defect is there', 2: 'could not run'}.get(result.exit_code, '?') }]")


_boot_early_when_grading()
