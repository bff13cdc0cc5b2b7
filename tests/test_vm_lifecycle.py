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


def test_a_guest_booting_in_the_background_serves_the_first_command():
    """start_in_background() returns with QEMU started; the first run() waits for the boot and works."""
    from uaccess_lab.vm import Guest

    guest = Guest("6.1")
    try:
        guest.start_in_background()
        assert guest.status().state == "booting" and guest.alive
        result = guest.run("echo up")
        assert result.ok and result.stdout == "up\n"
        assert guest.boots == 1 and result.rebooted is None
        guest.start_in_background()  # already up: nothing happens
        assert guest.boots == 1 and guest.status().state == "ready"
    finally:
        guest.close()


def test_a_background_boot_that_fails_is_reported_by_the_first_command():
    """A boot that cannot finish raises GuestBootError at the first command, with the console's tail."""
    from uaccess_lab.vm import Guest
    from uaccess_lab.vm.guest import GuestBootError

    guest = Guest("6.1", boot_timeout=0.5)
    try:
        guest.start_in_background()
        with pytest.raises(GuestBootError, match="did not come up within 0 s|did not come up within 1 s"):
            guest.run("true")
        assert not guest.alive
    finally:
        guest.close()


def test_qemu_that_exits_is_reaped_at_once():
    """QEMU killed from outside (as a notebook kernel's shutdown does with SIGTERM) leaves no zombie:
    the kernel waits for its children to disappear before it exits."""
    from uaccess_lab.vm import Guest

    guest = Guest("6.1")
    try:
        guest.start()
        pid = guest.status().pid
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not Path(f"/proc/{pid}").exists(), "QEMU stayed a zombie: nobody reaped it"
        assert guest.run("echo again").stdout == "again\n"  # and the next command boots a new guest
    finally:
        guest.close()
