"""The persistent guest on real kernels: commands, bounded output, and every way a kernel can fail.

Each test uses the shared guest of tests/vm_fixtures.py; a test that crashes
the kernel checks that the next command reboots it transparently.
"""

import secrets
import time

import pytest

from tests.vm_fixtures import VM_MODULES, marked_line

pytestmark = pytest.mark.vm


def test_run_returns_stdout_stderr_and_exit_code(guest):
    """A shell script's streams and exit status come back separately."""
    r = guest.run("echo out; echo err >&2; uname -r; exit 3", timeout=30)
    assert r.exit_code == 3
    assert r.stdout.splitlines() == ["out", guest.kernel.release]
    assert r.stderr == "err\n"
    assert r.crash is None and not r.timed_out


def test_kernel_log_lines_caused_by_a_command_are_returned(guest):
    """Kernel log lines printed while a command runs are in Result.kernel_log, and only those."""
    marker = f"uaccess-test-{secrets.token_hex(4)}"
    r = guest.run(["sh", "-c", f"echo '<4>{marker}' > /dev/kmsg"], timeout=30)
    assert r.exit_code == 0, r.stderr
    assert marker in r.kernel_log
    assert marker not in guest.run("true").kernel_log


def test_files_host_read_only_workdir_shared_tmp_private(guest, tmp_path):
    """Host files (also under /tmp) are readable but not writable; the work dir is shared; /tmp writes stay in the guest."""
    secret = secrets.token_hex(8)
    (tmp_path / "host.txt").write_text(secret + "\n")
    r = guest.run(f"cat {tmp_path}/host.txt; echo new > {tmp_path}/from-guest.txt && echo tmp-ok; "
                  "touch /usr/uaccess-test 2>/dev/null || echo root-read-only; "
                  "echo shared > shared.txt", timeout=30)
    assert r.stdout.split() == [secret, "tmp-ok", "root-read-only"], r.stderr
    assert not (tmp_path / "from-guest.txt").exists(), "a guest write reached the host's /tmp"
    assert (guest.workdir / "shared.txt").read_text() == "shared\n"


def test_a_million_lines_of_output_are_truncated_not_frozen(guest):
    """Huge output returns bounded: head and tail kept around a marker."""
    r = guest.run("seq 1 1000000", timeout=120, output_limit=64 * 1024)
    assert r.exit_code == 0
    assert r.truncated
    assert len(r.stdout) < 70 * 1024
    assert r.stdout.startswith("1\n2\n3\n")
    assert r.stdout.endswith("999999\n1000000\n")
    assert "output truncated" in r.stdout


def test_a_user_space_timeout_kills_the_command_and_keeps_the_guest(guest):
    """A command past its timeout is killed (exit 137); the kernel is fine, so no reboot follows."""
    boots = guest.boots
    r = guest.run("echo started; sleep 60", timeout=1)
    assert r.timed_out and r.exit_code == 137
    assert r.stdout == "started\n"
    assert r.crash is None and not guest.dirty
    after = guest.run("echo alive")
    assert after.stdout == "alive\n" and after.rebooted is None and guest.boots == boots


def test_null_dereference_in_read_is_an_oops_with_source_line(guest, vm_module):
    """NULL deref in a read handler: crash.kind == "oops", function and source line named, then a transparent reboot."""
    build = vm_module("nullread")
    assert guest.load(build.ko).exit_code == 0
    r = guest.run("cat /proc/nullread; echo reader-exit=$?", timeout=30)
    assert "reader-exit=137" in r.stdout, "the oops kills the reading process"
    assert r.crash is not None and r.crash.kind == "oops", r.kernel_log[-3000:]
    assert "NULL pointer dereference" in r.crash.text
    assert r.crash.function == "nullread_read" and r.crash.module == "nullread"
    line = marked_line(VM_MODULES / "nullread.c", "NULLREAD_FAULT_LINE")
    assert r.crash.location == f"nullread.c:{line}", r.crash.text
    assert guest.dirty

    after = guest.run("uname -r")
    assert after.exit_code == 0 and after.stdout.strip() == guest.kernel.release
    assert after.rebooted and "oops" in after.rebooted
    assert not guest.dirty


def test_warning_is_reported_and_not_fatal(guest, vm_module):
    """WARN_ON at load is a "warning" crash with its source line; the guest is not rebooted."""
    build = vm_module("warn")
    boots = guest.boots
    r = guest.load(build.ko)
    assert r.exit_code == 0
    assert r.crash is not None and r.crash.kind == "warning", r.kernel_log[-3000:]
    assert r.crash.function == "warn_init"
    assert r.crash.location == f"warn.c:{marked_line(VM_MODULES / 'warn.c', 'WARN_ON(trigger)')}"
    assert not guest.dirty
    assert guest.unload("warn").exit_code == 0
    assert guest.run("true").rebooted is None and guest.boots == boots


def test_preempt_off_endless_loop_is_reported_within_bounded_time(guest, vm_module):
    """A read that spins with preemption off: the kernel's lockup/stall report (or a hang) within timeout + 40 s."""
    build = vm_module("spin")
    assert guest.load(build.ko).exit_code == 0
    started = time.monotonic()
    r = guest.run("cat /proc/spin", timeout=5)
    elapsed = time.monotonic() - started
    assert r.timed_out and r.exit_code is None
    assert r.crash is not None and r.crash.kind in ("soft lockup", "rcu stall", "hang"), r.kernel_log
    if r.crash.kind != "hang":
        assert r.crash.function == "spin_read", r.crash.text
        assert r.crash.location and r.crash.location.startswith("spin.c:")
    assert elapsed < 5 + 2 + 30 + 15, f"took {elapsed:.0f} s"
    after = guest.run("echo alive")
    assert after.stdout == "alive\n" and after.rebooted


def test_module_whose_exit_never_returns_is_reported_not_waited_on(guest, vm_module):
    """rmmod of a module whose exit sleeps forever: a "hang" crash after the unload timeout."""
    build = vm_module("stuckexit")
    assert guest.load(build.ko).exit_code == 0
    started = time.monotonic()
    r = guest.unload("stuckexit", timeout=5)
    assert time.monotonic() - started < 5 + 2 + 15
    assert r.crash is not None and r.crash.kind == "hang"
    assert "exit function never returns" in r.crash.headline
    assert guest.run("true").rebooted


def test_printk_flood_returns_a_bounded_kernel_log(guest, vm_module):
    """200000 printk lines at load: the log comes back bounded and says it was cut."""
    build = vm_module("flood")
    limit = 256 * 1024
    r = guest.run(["insmod", guest.copy_in(build.ko), "lines=200000"], timeout=180, output_limit=limit)
    assert r.exit_code == 0, r.stderr
    assert len(r.kernel_log) < limit + 1024
    assert r.truncated or "records lost" in r.kernel_log
    assert "line 199999 of 200000" in r.kernel_log, "the tail of the flood is kept"
    assert guest.run("rmmod flood").exit_code == 0


def test_kernel_panic_kills_the_guest_and_the_next_command_reboots(guest):
    """A panic ends QEMU; the result says "panic" with the kernel's text, and the next run boots afresh."""
    r = guest.run("echo c > /proc/sysrq-trigger", timeout=30)
    assert r.crash is not None and r.crash.kind == "panic", r.kernel_log[-3000:]
    assert "Kernel panic" in r.crash.text
    assert r.exit_code is None
    after = guest.run("echo alive")
    assert after.stdout == "alive\n" and after.rebooted
