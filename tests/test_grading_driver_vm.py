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
