"""`uaccess-lab run` and `uaccess-lab shell` boot a real guest and behave like commands."""

import subprocess
import sys

import pytest

from tests.vm_fixtures import VM_MODULES
from uaccess_lab.vm import build_module

pytestmark = pytest.mark.vm

CLI = [sys.executable, "-m", "uaccess_lab.cli"]


def test_run_loads_modules_and_returns_the_command_exit_code():
    """`run --module X.ko -- CMD` loads X first; the exit code is the command's own."""
    ko = build_module(VM_MODULES / "nullread.c", kernel="6.1").ko
    r = subprocess.run([*CLI, "run", "--kernel", "6.1", "--module", str(ko), "--",
                        "sh", "-c", "grep -c nullread /proc/modules; exit 7"],
                       capture_output=True, text=True, timeout=400)
    assert r.returncode == 7, r.stderr
    assert r.stdout == "1\n"
    assert "guest ready after" in r.stderr


def test_shell_runs_each_line_in_the_guest():
    """`shell` reads lines from stdin and runs each in the same guest."""
    r = subprocess.run([*CLI, "shell", "--kernel", "6.1"],
                       input="echo one > /tmp/f\ncat /tmp/f\nexit\n",
                       capture_output=True, text=True, timeout=400)
    assert r.returncode == 0, r.stderr
    assert "one" in r.stdout
