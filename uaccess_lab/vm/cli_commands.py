"""`uaccess-lab run` and `uaccess-lab shell`: thin wrappers over `Guest`.

The CLI (uaccess_lab/cli.py) parses the arguments and calls these.
"""

from __future__ import annotations

import sys

from .guest import Guest, Result

__all__ = ["run_command", "shell_command"]

# One-shot and shell commands are interactive work, not tests: allow them time.
COMMAND_TIMEOUT = 600.0


def _progress(elapsed: float, stage: str) -> None:
    if not sys.stderr.isatty() and stage not in ("preparing", "ready"):
        return  # a log file gets the first and the last line only
    if stage == "ready":
        print(f"\rguest ready after {elapsed:.1f} s{' ' * 20}", file=sys.stderr, flush=True)
    else:
        print(f"\rbooting the guest: {elapsed:4.1f} s ({stage})", end="", file=sys.stderr, flush=True)


def _report(result: Result, show_kernel_log: bool) -> None:
    """Print a result: the command's streams as they were, the rest on stderr."""
    if result.rebooted:
        print(f"note: {result.rebooted}", file=sys.stderr)
    sys.stdout.write(result.stdout)
    sys.stdout.flush()
    sys.stderr.write(result.stderr)
    if result.crash:
        print(f"\n*** {result.crash}\n{result.crash.text}", file=sys.stderr)
    elif show_kernel_log and result.kernel_log:
        print(f"--- kernel log ---\n{result.kernel_log.rstrip()}", file=sys.stderr)
    if result.timed_out:
        print(f"error: the command did not finish within {COMMAND_TIMEOUT:g} s", file=sys.stderr)


def _exit_code(result: Result) -> int:
    if result.exit_code is not None:
        return result.exit_code
    return 255  # the guest died or froze: like virtme-ng, 255 for "no exit status"


def run_command(kernel: str | None, modules: list[str] | None, cmd: list[str],
                kvm: str | None) -> int:
    """Boot `kernel`, insmod `modules` in order, run `cmd`; return its exit code."""
    with Guest(kernel, kvm=kvm, progress=_progress) as guest:
        for module in modules or []:
            loaded = guest.load(module)
            if loaded.exit_code != 0 or (loaded.crash and loaded.crash.fatal):
                _report(loaded, show_kernel_log=True)
                print(f"error: could not load {module}", file=sys.stderr)
                return _exit_code(loaded) or 1
            if loaded.crash:  # a warning: worth seeing, not fatal
                _report(loaded, show_kernel_log=False)
        result = guest.run(cmd, timeout=COMMAND_TIMEOUT)
        _report(result, show_kernel_log=False)
        return _exit_code(result)


def shell_command(kernel: str | None, kvm: str | None) -> int:
    """A line-by-line root shell in the guest. Each line runs as its own command."""
    with Guest(kernel, kvm=kvm, progress=_progress) as guest:
        print(f"{guest.kernel.release} guest: each line runs as root with /bin/sh "
              "(no terminal, so no editors or pagers); kernel log lines follow each "
              "command. Ctrl-D or `exit` leaves.", file=sys.stderr)
        while True:
            try:
                line = input("guest# ")
            except (EOFError, KeyboardInterrupt):
                print(file=sys.stderr)
                return 0
            if line.strip() in ("exit", "logout"):
                return 0
            if line.strip():
                _report(guest.run(line, timeout=COMMAND_TIMEOUT), show_kernel_log=True)
