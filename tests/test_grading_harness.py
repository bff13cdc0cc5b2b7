"""The grading harness's own rules (no kernel involved): points, parents, filters, JSON, bounded output."""

import json

import pytest

from uaccess_lab.grading.harness import MAX_OUTPUT, Suite, TestFailure


class Context:
    """What the test functions below receive; records the hooks' calls."""

    def __init__(self):
        self.calls = []

    def setup_test(self, case):
        self.calls.append(f"setup {case.name}")

    def teardown_test(self, case):
        self.calls.append(f"teardown {case.name}")
        if case.name == "leaves_a_mess":
            raise TestFailure("left 2 pins behind")


def make_suite():
    suite = Suite("99-demo", "demo")

    @suite.test(2, "the base works")
    def base(ctx):
        return "base note"

    @suite.test(3, "a claim that fails", parent="base")
    def fails(ctx):
        raise TestFailure("expected 4, got 5")

    @suite.test(1, "depends on a failure", parent="fails")
    def orphan(ctx):
        raise AssertionError("must not run")

    @suite.test(1, "passes but its teardown fails", parent="base")
    def leaves_a_mess(ctx):
        return None

    @suite.test(1, "hidden extra", parent="base", hidden=True)
    def hidden_extra(ctx):
        return "x" * (3 * MAX_OUTPUT)

    @suite.test(1, "a bug in the test itself")
    def broken(ctx):
        return 1 / 0

    return suite


def test_points_parents_and_teardown_failures():
    """Passing earns the points; a failed parent fails its child without running it; teardown can fail a test."""
    ctx = Context()
    report = make_suite().run(ctx)
    by_name = {t.name: t for t in report.tests}
    assert (by_name["base"].points, by_name["base"].passed, by_name["base"].output) == (2, True, "base note")
    assert (by_name["fails"].points, by_name["fails"].output) == (0, "expected 4, got 5")
    assert by_name["orphan"].output == "parent failed: fails (fix that first)"
    assert "setup orphan" not in ctx.calls
    assert not by_name["leaves_a_mess"].passed and by_name["leaves_a_mess"].output == "left 2 pins behind"
    assert "ZeroDivisionError" in by_name["broken"].output and "tell the instructor" in by_name["broken"].output
    assert (report.total, report.max) == (3, 9)


def test_visible_only_and_filters_keep_parents():
    """--visible drops hidden tests; a title filter runs the matching tests and their parents."""
    suite = make_suite()
    assert "hidden_extra" not in [t.name for t in suite.select(visible_only=True)]
    assert [t.name for t in suite.select(names=["depends on"])] == ["base", "fails", "orphan"]


def test_json_shape_and_bounded_output():
    """The JSON report has the documented shape; long output keeps head and tail around a marker."""
    report = make_suite().run(Context())
    data = json.loads(report.dumps())
    assert set(data) == {"lab", "total", "max", "tests"}
    assert set(data["tests"][0]) == {"name", "points", "max_points", "passed", "output"}
    long = next(t for t in data["tests"] if t["name"] == "hidden_extra")["output"]
    assert "[output truncated:" in long and len(long) < 1.1 * MAX_OUTPUT


def test_duplicate_names_and_unknown_parents_are_refused():
    """Two tests with one name, or a parent that does not exist, are errors in the suite itself."""
    suite = Suite("99-demo", "demo")

    @suite.test(1, "one")
    def same(ctx):
        pass

    with pytest.raises(ValueError, match="two tests are named same"):
        @suite.test(1, "two")
        def same(ctx):  # noqa: F811
            pass

    @suite.test(1, "child", parent="nobody")
    def child(ctx):
        pass

    with pytest.raises(ValueError, match="parent 'nobody' is not a test"):
        suite.select()


def test_sources_that_read_host_files_are_not_built():
    """#include of a host path, an unknown local header, or .incbin is refused before the compiler runs."""
    from uaccess_lab.grading.driver import DriverUnderTest, source_problems

    assert source_problems('#include <linux/module.h>\n#include "compat.h"\n') == []
    problems = source_problems('#include "/etc/passwd"\n#include "../grader/x.py"\n#include <stdio.h>\n'
                               'asm(".incbin \\"/etc/shadow\\"");\n#include "notes.h"\n')
    assert [p.split(":")[0] for p in problems] == ["line 1", "line 2", "line 3", "line 5", "line 4"]
    driver = DriverUnderTest('#include "/etc/passwd"\n', kernel="6.1")
    with pytest.raises(TestFailure, match="line 1: #include of '/etc/passwd'"):
        driver.require_build()


def test_describe_names_a_swamped_guest_and_never_shows_an_empty_report():
    """A crash message always carries the kernel's words (or the guest's, when the kernel said
    nothing), and signs of a fork bomb or unbounded allocation add a hint."""
    from uaccess_lab.grading.driver import describe
    from uaccess_lab.vm.crash import Crash
    from uaccess_lab.vm.guest import Result

    def crash(kind, text, headline="headline"):
        return Result(command=["stat"], exit_code=None, crash=Crash(kind=kind, headline=headline, text=text))

    hint = "start programs (call_usermodehelper) that multiply?"
    oom = describe(crash("hang", "[ 9.1] Out of memory: Killed process 3732 (sh)"), "stat")
    assert "ran out of memory" in oom and hint in oom and "Killed process 3732" in oom
    stuck = "\n".join(f"[ 42.2] INFO: task sh:{pid} blocked for more than 20 seconds." for pid in (1, 2, 3))
    assert "3 tasks were stuck at once" in describe(crash("hung task", stuck), "stat")
    silent = describe(crash("hang", "", "the guest stopped answering (frozen kernel)"), "stat")
    assert "reported nothing" in silent and hint in silent
    assert silent.endswith("the guest stopped answering (frozen kernel)")
    oops = describe(crash("oops", "BUG: kernel NULL pointer dereference"), "reading")
    assert hint not in oops and oops.endswith("BUG: kernel NULL pointer dereference")
