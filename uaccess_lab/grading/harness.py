"""A grading harness a student can read: one function per claim, points on the decorator line.

    capstone = Suite("06-capstone", "Fix the article's driver")

    @capstone.test(2, "read() before write() is end of file, not an oops", parent="builds")
    def read_before_write(driver):
        driver.expect_fixed("seed_bug1_read_before_write")

A test passes when its function returns and fails when it raises
`TestFailure` (or any exception: that is reported as a harness error, still
as a failed test with its message). A test whose parent failed is not run;
it fails with "parent failed: <name>" so the cause is shown once.
"""

from __future__ import annotations

import json
import time
import traceback
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field

__all__ = ["Outcome", "Report", "Suite", "TestCase", "TestFailure"]

# Output kept per test in reports; long guest logs keep their head and tail.
MAX_OUTPUT = 6000


class TestFailure(AssertionError):
    """A test's verdict: the message says what was expected and what came back."""

    __test__ = False  # not a pytest test class


def bounded(text: str, limit: int = MAX_OUTPUT) -> str:
    if len(text) <= limit:
        return text
    head, tail = text[: limit // 2], text[-limit // 2:]
    return f"{head}\n... [output truncated: {len(text) - limit} characters not shown] ...\n{tail}"


@dataclass(frozen=True)
class TestCase:
    __test__ = False  # not a pytest test class

    name: str
    title: str
    points: float
    function: Callable
    parent: str | None = None
    hidden: bool = False


@dataclass
class Outcome:
    """What one test earned. The JSON report is a list of these."""

    name: str
    title: str
    points: float
    max_points: float
    passed: bool
    output: str
    hidden: bool = False
    seconds: float = 0.0


@dataclass
class Report:
    lab: str
    tests: list[Outcome] = field(default_factory=list)

    @property
    def total(self) -> float:
        return sum(t.points for t in self.tests)

    @property
    def max(self) -> float:
        return sum(t.max_points for t in self.tests)

    def to_json(self) -> dict:
        return {
            "lab": self.lab,
            "total": self.total,
            "max": self.max,
            "tests": [
                {k: v for k, v in asdict(t).items() if k in ("name", "points", "max_points", "passed", "output")}
                for t in self.tests
            ],
        }

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=2)

    def format(self) -> str:
        """The report as a student reads it: one line per test, failures explained below it."""
        lines = []
        for t in self.tests:
            verdict = "OK  " if t.passed else "FAIL"
            lines.append(f"{verdict} {t.title} ({t.points:g}/{t.max_points:g}) [{t.name}, {t.seconds:.1f}s]")
            if not t.passed and t.output:
                lines += ["     " + line for line in t.output.rstrip().splitlines()]
        lines.append(f"Score: {self.total:g}/{self.max:g}")
        return "\n".join(lines)


class Suite:
    """An ordered list of tests for one lab."""

    def __init__(self, lab: str, title: str):
        self.lab, self.title = lab, title
        self.tests: list[TestCase] = []

    def test(self, points: float, title: str, *, parent: str | None = None, hidden: bool = False):
        """Register the decorated function as a test worth `points`."""

        def register(function: Callable) -> Callable:
            name = function.__name__
            if any(t.name == name for t in self.tests):
                raise ValueError(f"{self.lab}: two tests are named {name}; test names must be unique")
            self.tests.append(TestCase(name, title, float(points), function, parent, hidden))
            return function

        return register

    def extend(self, other: Suite) -> None:
        """Add another suite's tests (e.g. the instructor's hidden ones) after these."""
        for t in other.tests:
            if any(mine.name == t.name for mine in self.tests):
                raise ValueError(f"{self.lab}: test {t.name} is defined twice")
            self.tests.append(t)

    def select(self, *, visible_only: bool = False, names: Iterable[str] | None = None) -> list[TestCase]:
        """Tests to run: all, the visible ones, or those whose name or title contains a filter."""
        known = {t.name for t in self.tests}
        for t in self.tests:
            if t.parent and t.parent not in known:
                raise ValueError(f"{self.lab}: {t.name}'s parent {t.parent!r} is not a test of this suite")
        chosen = [t for t in self.tests if not (visible_only and t.hidden)]
        if names:
            filters = list(names)
            wanted = {t.name for t in chosen if any(f in t.name or f in t.title for f in filters)}
            # a selected test needs its parents to run too
            for t in reversed(chosen):
                if t.name in wanted and t.parent:
                    wanted.add(t.parent)
            chosen = [t for t in chosen if t.name in wanted]
        return chosen

    def run(self, context, *, visible_only: bool = False, names: Iterable[str] | None = None,
            on_result: Callable[[Outcome], None] | None = None) -> Report:
        """Run the selected tests in order against `context` (what each test function receives)."""
        report = Report(self.lab)
        passed: dict[str, bool] = {}
        for case in self.select(visible_only=visible_only, names=names):
            outcome = self.run_test(case, context, parent_passed=passed.get(case.parent, False))
            passed[case.name] = outcome.passed
            report.tests.append(outcome)
            if on_result:
                on_result(outcome)
        return report

    def run_test(self, case: TestCase, context, *, parent_passed: bool = True) -> Outcome:
        """Run one test (unless its parent failed) and return what it earned."""
        started = time.monotonic()
        if case.parent and not parent_passed:
            ok, output = False, f"parent failed: {case.parent} (fix that first)"
        else:
            ok, output = _call(case, context)
        return Outcome(case.name, case.title, case.points if ok else 0.0, case.points, ok,
                       bounded(output), case.hidden, time.monotonic() - started)

    def find(self, name: str) -> TestCase:
        for case in self.tests:
            if case.name == name:
                return case
        raise KeyError(f"{self.lab} has no test named {name!r}; its tests are: "
                       + ", ".join(t.name for t in self.tests))


def _call(case: TestCase, context) -> tuple[bool, str]:
    """Run one test between the context's optional setup_test/teardown_test hooks."""
    ok, output = _guarded(lambda: getattr(context, "setup_test", lambda c: None)(case))
    if ok:
        ok, output = _guarded(lambda: case.function(context))
    cleaned, problem = _guarded(lambda: getattr(context, "teardown_test", lambda c: None)(case))
    if not cleaned:
        return False, f"{output}\n{problem}".strip() if not ok else problem
    return ok, output


def _guarded(step: Callable[[], object]) -> tuple[bool, str]:
    try:
        note = step()
    except TestFailure as failure:
        return False, str(failure)
    except Exception:  # a bug in the harness or the environment: still a graded outcome
        return False, "the test itself failed (please tell the instructor):\n" + traceback.format_exc(limit=5)
    return True, note if isinstance(note, str) else ""
