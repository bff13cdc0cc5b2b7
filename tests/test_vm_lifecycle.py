"""QEMU never outlives the Python process that started it, and no guest files are left behind."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from uaccess_lab.vm.guest import _remove_orphaned_statedirs

pytestmark = pytest.mark.vm

# Boots a guest, prints QEMU's pid and the guest's private directory, then either
# exits without close() or waits to be killed.
SCRIPT = """
import sys, time
from uaccess_lab.vm import Guest
guest = Guest("6.1")
guest.start()
print(guest.status().pid, guest.workdir.parent, flush=True)
if sys.argv[1] == "wait":
    time.sleep(600)
"""


def _gone(pid: int, within: float) -> bool:
    """The process has exited (a zombie awaiting its new parent's wait() counts)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                    return True
        except FileNotFoundError:
            return True
        time.sleep(0.2)
    return False


def _start(mode: str) -> tuple[subprocess.Popen, int, Path]:
    proc = subprocess.Popen([sys.executable, "-c", SCRIPT, mode], stdout=subprocess.PIPE, text=True)
    words = proc.stdout.readline().split()
    assert len(words) == 2 and words[0].isdigit(), f"no QEMU pid from the child (exit {proc.poll()})"
    return proc, int(words[0]), Path(words[1])


def test_qemu_dies_with_a_killed_parent():
    """SIGKILL of the Python process (no cleanup code runs) still ends its QEMU; the next guest removes its files."""
    proc, qemu, statedir = _start("wait")
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert _gone(qemu, 15), f"QEMU {qemu} outlived its killed parent"
    assert statedir.is_dir()
    _remove_orphaned_statedirs()  # what the next Guest does before it boots
    assert not statedir.exists()


def test_qemu_is_stopped_when_python_exits_without_close():
    """A script that forgets close() leaves neither QEMU nor the guest's files behind."""
    proc, qemu, statedir = _start("exit")
    assert proc.wait(timeout=60) == 0
    assert _gone(qemu, 15), f"QEMU {qemu} outlived its parent's normal exit"
    assert not statedir.exists()
