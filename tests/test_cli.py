"""The `uaccess-lab` command's kernel and doctor subcommands, as a user calls them."""

import subprocess
import sys

import pytest

from uaccess_lab import kernels


def uaccess_lab(*args, timeout=120):
    return subprocess.run([sys.executable, "-m", "uaccess_lab.cli", *args],
                          capture_output=True, text=True, timeout=timeout)


def test_kernels_list_shows_both_kernels():
    """`kernels list` names each supported series with its release and headers."""
    r = uaccess_lab("kernels", "list")
    assert r.returncode == 0, r.stderr
    for series in kernels.SERIES:
        k = kernels.resolve(series)
        assert k.release in r.stdout and str(k.build_dir) in r.stdout


def test_unknown_kernel_is_an_error_without_traceback():
    """`kernels install 5.4` exits 2 with the supported list and no Python traceback."""
    r = uaccess_lab("kernels", "install", "5.4")
    assert r.returncode == 2
    assert "error: unknown kernel '5.4': the supported kernels are 6.1 (default), 6.12" in r.stderr
    assert "Traceback" not in r.stderr


def test_run_without_a_command_says_how():
    """`run` with nothing after -- explains the usage instead of booting a guest."""
    r = uaccess_lab("run", "--")
    assert r.returncode == 2
    assert "uaccess-lab run [--kernel K] -- CMD" in r.stderr


def test_doctor_passes_here_and_reports_each_part():
    """On this fully set-up machine doctor exits 0 and shows every check."""
    r = uaccess_lab("doctor", timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    for name in ("Python packages", "qemu-system-x86_64", "busybox", "insmod", "kernel 6.1", "kernel 6.12",
                 "compiler for 6.1", "KVM", "memory"):
        assert name in r.stdout
    assert r.stdout.rstrip().endswith("The labs can run.")


def test_doctor_fails_when_the_default_kernel_is_missing(tmp_path):
    """With no usable 6.1 kernel doctor exits 1 and prints the install command."""
    from uaccess_lab import doctor

    checks = doctor.check_kernel("6.1")
    assert checks[0].ok  # installed here; now hide it
    import io

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(kernels, "_installed", lambda series: None)
        checks = doctor.check_kernel("6.1")
        out = io.StringIO()
        code = doctor.report(checks, out=out)
    assert code == 1
    assert "fix: uaccess-lab kernels install 6.1" in out.getvalue()
    assert "The labs cannot run yet: fix kernel 6.1" in out.getvalue()
