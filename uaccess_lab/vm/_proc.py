"""Child processes that never outlive us: PR_SET_PDEATHSIG plus an atexit sweep.

Only processes started through here are ever killed, by their own PID.
"""

from __future__ import annotations

import atexit
import ctypes
import signal
import subprocess
import threading

_PR_SET_PDEATHSIG = 1
_libc = ctypes.CDLL(None, use_errno=True)
_live: set[subprocess.Popen] = set()
_lock = threading.Lock()


def kill_on_parent_death() -> None:
    """preexec_fn: the kernel sends SIGKILL to this child when its parent dies.

    Note: "parent" is the thread that forked it. Guests are started from the
    calling thread; a notebook runs cells on its main thread, so this holds.
    """
    _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def track(proc: subprocess.Popen) -> None:
    with _lock:
        _live.add(proc)


def untrack(proc: subprocess.Popen) -> None:
    with _lock:
        _live.discard(proc)


def stop(proc: subprocess.Popen, timeout: float = 10.0) -> None:
    """Kill `proc` (which we started) and reap it."""
    if proc.poll() is None:
        proc.kill()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        pass
    untrack(proc)


@atexit.register
def _sweep() -> None:
    with _lock:
        procs = list(_live)
    for proc in procs:
        stop(proc, timeout=5)
