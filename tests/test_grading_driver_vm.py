"""DriverUnderTest in a real guest: the module is loaded once per submission and reloaded after a crash."""

from pathlib import Path

import pytest

from uaccess_lab.grading import grade_source
from uaccess_lab.vm import Guest

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.vm


class CommandLog:
    """Record the guest commands the grading runs (the guest itself is real)."""

    def __init__(self, guest: Guest, monkeypatch):
        self.argv: list[list[str]] = []
        run = guest.run

        def logged(command, *args, **kwargs):
            self.argv.append(command if isinstance(command, list) else ["sh", "-c", command])
            return run(command, *args, **kwargs)

        monkeypatch.setattr(guest, "run", logged)

    def count(self, program: str) -> int:
        return sum(1 for argv in self.argv if Path(str(argv[0])).name == program)


def test_the_fixed_driver_is_loaded_once_for_all_its_tests(monkeypatch):
    """"builds" loads and unloads it; every later test runs against one more load, with pin checks."""
    with Guest("6.1") as guest:
        log = CommandLog(guest, monkeypatch)
        report = grade_source("06", (REPO / "grader/solutions/cdev.c").read_text(), guest=guest)
        assert report.total == report.max, report.format()
        assert log.count("insmod") == 2 and log.count("rmmod") == 1
        assert log.count("pins_in_flight") == len(report.tests)  # one baseline, then one after each test
        assert guest.boots == 1


def test_after_an_oops_the_next_test_runs_in_a_fresh_guest_with_the_module_loaded_again(monkeypatch):
    """The article's driver oopses on read-before-write; the test after it still runs (and sees its own defect)."""
    with Guest("6.1") as guest:
        log = CommandLog(guest, monkeypatch)
        report = grade_source("06", (REPO / "module-src/cdev.c").read_text(), guest=guest,
                              names=["read_before_write", "bounded_read"])
        tests = {t.name: t for t in report.tests}
        assert "BUG: kernel NULL pointer dereference" in tests["read_before_write"].output
        bounded = tests["bounded_read"]
        assert not bounded.passed and "saw the defect" in bounded.output, bounded.output
        assert guest.boots == 2 and log.count("insmod") == 3  # builds, then once per boot


def forkbomb_driver() -> str:
    """The fixed driver whose init starts a fork bomb in user space (call_usermodehelper)."""
    source = (REPO / "grader/solutions/cdev.c").read_text()
    init = source.index("{", source.index("static int __init cdev_init(void)")) + 1
    bomb = ('\n\t{\n\t\tstatic char *argv[] = { "/bin/sh", "-c", "b() { b | b & }; b", NULL };\n'
            '\t\tstatic char *envp[] = { "PATH=/usr/bin:/bin", NULL };\n\n'
            "\t\tcall_usermodehelper(argv[0], argv, envp, UMH_NO_WAIT);\n\t}\n")
    source = source[:init] + bomb + source[init:]
    return source.replace("#include <linux/module.h>", "#include <linux/module.h>\n#include <linux/umh.h>", 1)


def test_a_fork_bomb_started_by_the_driver_fails_the_build_test_with_a_clear_message():
    """The guest is swamped: "builds" fails saying so, the tests that depend on it are
    not run (no half hour of timeouts), and the next submission's guest is a fresh one."""
    report = grade_source("06", forkbomb_driver(), kernel="6.1", names=["roundtrip"])
    tests = {t.name: t for t in report.tests}
    builds = tests["builds"]
    assert not builds.passed and "looking at /dev/cdev/cdev0 after loading the driver" in builds.output
    assert "call_usermodehelper" in builds.output, builds.output  # the hint: out of memory, or many stuck tasks
    assert tests["roundtrip"].output.startswith("parent failed: builds")
    after = grade_source("06", (REPO / "grader/solutions/cdev.c").read_text(), kernel="6.1", names=["roundtrip"])
    assert all(t.passed for t in after.tests), after.format()
