"""A persistent guest: boot a Debian kernel once, then run many commands in it.

    with Guest("6.1") as g:
        g.load(build.ko)
        r = g.run("cat /dev/cdev/cdev0", timeout=10)
        print(r.stdout, r.kernel_log, r.crash)

How it works: QEMU boots the kernel with the host's files read-only over 9p
and one private writable work directory (planned by virtme-ng, see _plan.py).
Our agent is the guest's init; it runs each command and answers over a
virtio-serial port with the exit status, bounded stdout/stderr and the kernel
log lines the command caused. The kernel console arrives separately, so a
panic or a frozen guest is still seen and explained.

After a fatal crash (oops, BUG, lockup, panic, a command stuck in the kernel)
the guest is dirty: the next `run()` reboots it first and says so in
`Result.rebooted`.

Files: the host's files are visible read-only at their own paths and cached
by the guest, so a host file that changes while the guest runs may look
stale there. Pass changing files through `copy_in()` (or `load()` for .ko
files): they land in the writable work dir (`workdir`, the same path on both
sides), which is never cached. The guest's /tmp shows the host's /tmp with a
writable layer on top: writes there stay in the guest.
"""

from __future__ import annotations

import atexit
import collections
import itertools
import os
import queue
import shutil
import subprocess
import tempfile
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from uaccess_lab.kernels import Kernel, resolve

from . import _proc
from ._agent import agent_binary
from ._plan import qemu_command, with_root
from ._sealed_root import sealed_root
from .crash import Crash, find_crash, locate
from .kvm import use_kvm

__all__ = ["Guest", "GuestBootError", "GuestError", "Result"]

# After SIGKILL the agent waits this long before calling a command stuck (agent.c).
_KILL_GRACE = 2.0
# How long to watch the console for the kernel's own diagnosis of a stuck
# command (soft lockup after ~20 s, RCU stall after ~21 s, hung task after 20 s).
LOCKUP_WAIT = 30.0
_CONSOLE_LINES = 20000
_MAX_ARG = 1 << 20  # the agent's limits (agent.c: MAX_ARG_LEN, MAX_ARGS)


class GuestError(RuntimeError):
    """The guest could not be used; the message says why and what to do."""


class GuestBootError(GuestError):
    """The guest did not come up; the message ends with the console's last lines."""


@dataclass
class Result:
    """What one command did in the guest.

    exit_code: the command's exit status; 128+N when killed by signal N (137 for
        SIGKILL, as a shell reports it); None when the guest died or froze.
    kernel_log: kernel log lines printed while the command ran.
    crash: None, or the kernel crash the command caused (see `Crash`).
    timed_out: the command ran past its timeout and was killed (or could not be).
    truncated: some output was cut (head and tail kept, marker in between).
    rebooted: why the guest was (re)booted just before this command, if it was.
    """

    command: list[str]
    exit_code: int | None
    stdout: str = ""
    stderr: str = ""
    kernel_log: str = ""
    duration: float = 0.0
    crash: Crash | None = None
    timed_out: bool = False
    truncated: bool = False
    rebooted: str | None = None

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and self.crash is None and not self.timed_out

    def __str__(self) -> str:
        status = "timed out" if self.timed_out else f"exit {self.exit_code}"
        text = f"$ {' '.join(self.command)}  [{status}, {self.duration:.2f}s]"
        if self.crash:
            text += f"\n!! {self.crash}"
        return text


@dataclass
class GuestStatus:
    """A snapshot of the guest for `%guest_status` and the CLI."""

    kernel: str
    release: str
    state: str  # "stopped", "booting", "ready", "dirty" or "dead"
    accel: str  # "kvm" or "tcg"
    memory: str
    cpus: int
    boots: int
    last_boot_seconds: float | None
    pid: int | None
    workdir: str | None
    last_crash: str | None = None
    loaded_modules: list[str] = field(default_factory=list)


class _Stream:
    """One bounded output stream from the agent: head + tail + total bytes."""

    def __init__(self, total: int, head: bytes, tail: bytes):
        self.total, self.head, self.tail = total, head, tail

    @property
    def truncated(self) -> bool:
        return self.total > len(self.head) + len(self.tail)

    def text(self) -> str:
        if not self.truncated:
            return (self.head + self.tail).decode(errors="replace")
        dropped = self.total - len(self.head) - len(self.tail)
        marker = f"\n... [output truncated: {dropped} bytes not shown] ...\n"
        return self.head.decode(errors="replace") + marker + self.tail.decode(errors="replace")


class Guest:
    """A booted kernel to run commands in; see the module docstring.

    :param kernel: kernel series ("6.1", "6.12") or a resolved `Kernel`.
    :param memory: guest RAM, QEMU syntax ("512M").
    :param cpus: virtual CPUs (default: 2, or 1 on a one-core host).
    :param kvm: "on", "off" or "auto"/None (probe once; env UACCESS_LAB_KVM).
    :param boot_timeout: seconds to wait for the guest to come up.
    :param progress: called as progress(elapsed_seconds, stage) while booting.
    :param sealed: None (default): the guest sees all host files, read-only. A list of
        host paths: the guest sees only those (at their own paths), the host's /usr and
        its work dir; for running untrusted kernel code (see _sealed_root).
    """

    def __init__(self, kernel: str | Kernel | None = None, *, memory: str = "512M",
                 cpus: int | None = None, kvm: object = None, boot_timeout: float | None = None,
                 progress: Callable[[float, str], None] | None = None,
                 sealed: Sequence[str | os.PathLike] | None = None):
        self.kernel = kernel if isinstance(kernel, Kernel) else resolve(kernel)
        self.sealed = None if sealed is None else tuple(Path(p) for p in sealed)
        self.memory = memory
        self.cpus = cpus or min(2, os.cpu_count() or 1)
        self._kvm_choice = kvm
        self.kvm: bool | None = None
        self.boot_timeout = boot_timeout
        self.progress = progress
        self.boots = 0
        self.last_boot_seconds: float | None = None
        self.last_crash: Crash | None = None
        self.modules: dict[str, Path] = {}  # loaded module name -> host .ko (debug info)
        self._proc: subprocess.Popen | None = None
        self._statedir: Path | None = None
        self._argv: list[str] | None = None
        self._dirty: Crash | None = None
        self._interrupted = False  # a command was abandoned (Ctrl-C): reboot before the next
        self._booting: float | None = None  # start_in_background() launched QEMU at this time
        self._replies: queue.Queue = queue.Queue()
        self._console: collections.deque[tuple[int, str]] = collections.deque(maxlen=_CONSOLE_LINES)
        self._console_seq = 0
        self._console_lock = threading.Lock()
        self._ids = itertools.count(1)
        self._lock = threading.RLock()

    # ---- lifecycle ----

    def __enter__(self) -> Guest:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        proc = getattr(self, "_proc", None)
        if proc is not None:
            _proc.stop(proc, timeout=2)
        statedir = getattr(self, "_statedir", None)
        if statedir is not None:
            shutil.rmtree(statedir, ignore_errors=True)

    @property
    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def dirty(self) -> bool:
        return self._dirty is not None

    @property
    def workdir(self) -> Path:
        """Host directory that the guest sees, writable, at the same path."""
        if self._statedir is None:
            raise GuestError("the guest has not been started: call start() or use `with Guest()`")
        return self._statedir / "work"

    @property
    def console_log(self) -> Path | None:
        """The current boot's full serial console (kernel messages), capped at 32 MiB."""
        return self._statedir / "console.log" if self._statedir else None

    def start(self) -> None:
        """Boot the guest unless it is already up and clean."""
        with self._lock:
            if self._booting is not None:
                self._await_boot()
            if self.alive and not self.dirty:
                return
            self._boot()

    def start_in_background(self) -> None:
        """Start QEMU now and return at once; the next command (or start()) waits for the boot.

        For callers that know a guest will be needed soon (a notebook being
        graded) and have other work meanwhile (building the driver). QEMU is
        started from the calling thread, which must live on (see _proc).
        """
        with self._lock:
            if self._booting is None and not (self.alive and not self.dirty):
                self._booting = self._launch()

    def reboot(self) -> None:
        with self._lock:
            self._shutdown()
            self._boot()

    def close(self) -> None:
        """Stop QEMU and delete the guest's private files."""
        with self._lock:
            self._shutdown()
            if self._statedir is not None:
                shutil.rmtree(self._statedir, ignore_errors=True)
                self._statedir = None
                self._argv = None

    def _shutdown(self) -> None:
        self._booting = None
        if self._proc is not None:
            _proc.stop(self._proc)
            self._proc = None
        self.modules.clear()
        self._dirty = None
        self._interrupted = False

    def _boot(self) -> None:
        self._booting = self._launch()
        self._await_boot()

    def _launch(self) -> float:
        """Start QEMU; returns when it was started (for _await_boot's timeout)."""
        self._shutdown()
        started = time.monotonic()
        self._say(0.0, "preparing")
        if self.kvm is None:
            self._say(time.monotonic() - started, "checking whether KVM works")
            self.kvm = use_kvm(self._kvm_choice, self.kernel.image)
        if self._statedir is None:
            _remove_orphaned_statedirs()
            self._statedir = Path(tempfile.mkdtemp(prefix=_STATEDIR_PREFIX))
            (self._statedir / "owner.pid").write_text(str(os.getpid()))
            self.workdir.mkdir()
            _live_guests.add(self)
        if self._argv is None:
            # Slow only the first time for a kernel: agent build, kernel unpack, virtme-ng plan.
            self._say(time.monotonic() - started, "planning the guest")
            agent = agent_binary()
            self._argv = qemu_command(self.kernel, memory=self.memory, cpus=self.cpus,
                                      kvm=self.kvm, workdir=self.workdir,
                                      statedir=self._statedir, agent=agent)
            if self.sealed is not None:
                root, usr = sealed_root(agent, self.sealed)
                self._argv = with_root(self._argv, root, usr=usr)
        self._replies = queue.Queue()
        with self._console_lock:
            self._console.clear()
        log = open(self._statedir / "console.log", "wb")  # noqa: SIM115 (closed by the reader)
        self._proc = subprocess.Popen(
            self._argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            preexec_fn=_proc.kill_on_parent_death, cwd=self._statedir,
        )
        _proc.track(self._proc)
        threading.Thread(target=self._read_console, args=(self._proc, log), daemon=True).start()
        threading.Thread(target=self._read_replies, args=(self._proc, self._replies),
                         daemon=True).start()
        return started

    def _await_boot(self) -> None:
        """Wait for the launched guest's agent to say it is ready."""
        started, self._booting = self._booting, None
        timeout = self.boot_timeout or (60.0 if self.kvm else 240.0)
        deadline = started + timeout
        while True:
            now = time.monotonic()
            if now >= deadline:
                tail = self.console_tail(30)
                self._shutdown()
                raise GuestBootError(
                    f"the {self.kernel.series} guest did not come up within {timeout:.0f} s "
                    f"({'KVM' if self.kvm else 'TCG, software emulation'}). If the machine is "
                    "busy, pass a larger boot_timeout; with KVM trouble, try kvm='off'.\n"
                    f"Last console lines:\n{tail}"
                )
            try:
                kind, payload = self._replies.get(timeout=min(0.5, deadline - now))
            except queue.Empty:
                stage = "kernel booting" if self._console_seq else "starting QEMU"
                self._say(time.monotonic() - started, stage)
                continue
            if kind == "ready":
                break
            if kind == "eof":
                self._proc.wait(timeout=10)
                tail = self.console_tail(30)
                code = self._proc.returncode
                self._shutdown()
                raise GuestBootError(
                    f"QEMU exited during boot (exit {code}). Last console lines:\n{tail}"
                )
        self.boots += 1
        self.last_boot_seconds = time.monotonic() - started
        self._say(self.last_boot_seconds, "ready")

    def _say(self, elapsed: float, stage: str) -> None:
        if self.progress is not None:
            self.progress(elapsed, stage)

    # ---- reader threads ----

    def _read_console(self, proc: subprocess.Popen, log) -> None:
        written, limit = 0, 32 << 20
        with log:
            for raw in iter(proc.stderr.readline, b""):
                if written < limit:
                    log.write(raw)
                    written += len(raw)
                line = raw.decode(errors="replace").rstrip("\r\n")
                with self._console_lock:
                    self._console_seq += 1
                    self._console.append((self._console_seq, line))
        # QEMU has gone: reap it now. A notebook kernel that shuts down waits for its child
        # processes to disappear, and an unreaped one stays listed as a zombie (2.5 s lost).
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass

    @staticmethod
    def _read_replies(proc: subprocess.Popen, replies: queue.Queue) -> None:
        out = proc.stdout

        def read_exact(n: int) -> bytes:
            chunks, left = [], n
            while left:
                chunk = out.read(left)
                if not chunk:
                    raise EOFError
                chunks.append(chunk)
                left -= len(chunk)
            return b"".join(chunks)

        def stream() -> _Stream:
            total, head, tail = map(int, out.readline().split())
            return _Stream(total, read_exact(head), read_exact(tail))

        try:
            while True:
                line = out.readline()
                if not line:
                    break
                words = line.decode(errors="replace").split()
                if not words:
                    continue
                if words[0] == "READY":
                    replies.put(("ready", words[1:]))
                elif words[0] == "PONG":
                    replies.put(("pong", words[1]))
                elif words[0] == "RES" and len(words) == 5:
                    rid, status, code, usec = words[1], words[2], int(words[3]), int(words[4])
                    streams = (stream(), stream(), stream())
                    replies.put(("res", (rid, status, code, usec, streams)))
                elif words[0] == "ERR":
                    replies.put(("err", " ".join(words[1:])))
        except (EOFError, ValueError, OSError):
            pass
        replies.put(("eof", None))

    def _console_mark(self) -> int:
        with self._console_lock:
            return self._console_seq

    def console_since(self, mark: int) -> str:
        with self._console_lock:
            return "\n".join(line for seq, line in self._console if seq > mark)

    def console_tail(self, n: int = 50) -> str:
        with self._console_lock:
            return "\n".join(line for _, line in list(self._console)[-n:])

    # ---- commands ----

    def run(self, command: str | Sequence[str], timeout: float = 60.0,
            output_limit: int = 1 << 20, lockup_wait: float = LOCKUP_WAIT) -> Result:
        """Run `command` in the guest as root, in the work directory.

        :param command: a shell script (run by /bin/sh -c) or an argv list.
        :param timeout: seconds before the command is killed. A command that
            cannot be killed (stuck in the kernel) is reported as a "hang" crash
            within about timeout + 35 s, and the guest is rebooted before its next use.
        :param output_limit: bytes kept per stream (stdout, stderr, kernel log);
            beyond it the head and tail are kept around a truncation marker.
        :param lockup_wait: for a command stuck in the kernel, how long to wait
            for the kernel's own diagnosis (soft lockup, RCU stall, hung task).
        :returns: a `Result`; kernel crashes are in `Result.crash`, never raised.
        :raises GuestBootError: when a needed (re)boot fails.
        """
        argv = ["/bin/sh", "-c", command] if isinstance(command, str) else [str(a) for a in command]
        if not argv:
            raise ValueError("run() needs a command: a shell script string or a non-empty argv list")
        if any(len(arg.encode()) > _MAX_ARG for arg in argv) or len(argv) > 4096:
            raise ValueError("command too large (over 4096 arguments or one over 1 MiB): "
                             "copy_in() a script file and run that instead")
        with self._lock:
            rebooted = self._ensure_ready()
            result = self._run(argv, timeout, output_limit, lockup_wait)
            result.rebooted = rebooted
            return result

    def _ensure_ready(self) -> str | None:
        if self._booting is not None:
            self._await_boot()
            return None
        if self._interrupted:
            self._boot()
            return "the guest was rebooted because the previous command was interrupted"
        if self.alive and not self.dirty:
            return None
        if self._proc is None and self.boots == 0:
            self._boot()
            return None
        if self.dirty:
            reason = f"the guest was rebooted after the previous command's kernel {self._dirty.kind}"
        else:
            reason = "the guest was rebooted because QEMU had stopped"
        self._boot()
        return reason

    def _send(self, rid: str, argv: list[str], timeout: float, limit: int) -> None:
        parts = [f"RUN {rid} {int(timeout * 1000)} {int(limit)} {len(argv)}\n".encode()]
        for arg in argv:
            data = arg.encode()
            parts += [f"{len(data)}\n".encode(), data]
        try:
            self._proc.stdin.write(b"".join(parts))
            self._proc.stdin.flush()
        except (BrokenPipeError, OSError):
            pass  # QEMU is gone; the reply reader reports it

    def _wait_reply(self, rid: str, seconds: float):
        deadline = time.monotonic() + seconds
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            try:
                kind, payload = self._replies.get(timeout=left)
            except queue.Empty:
                return None
            if kind in ("eof", "err") or (kind == "res" and payload[0] == rid):
                return kind, payload

    def _run(self, argv: list[str], timeout: float, limit: int, lockup_wait: float) -> Result:
        rid = str(next(self._ids))
        mark = self._console_mark()
        started = time.monotonic()
        self._send(rid, argv, timeout, limit)
        # The agent enforces the timeout; we only give up if the agent itself is stuck.
        try:
            reply = self._wait_reply(rid, timeout + _KILL_GRACE + max(15.0, timeout / 2))
        except KeyboardInterrupt:
            self._interrupted = True  # the command may still run: start afresh next time
            raise
        if reply is not None and reply[0] == "err":
            raise GuestError(f"the guest agent rejected the request: {reply[1]}")
        if reply is None or reply[0] == "eof":
            return self._guest_lost(argv, mark, started, frozen=reply is None,
                                    lockup_wait=lockup_wait)
        _, status, code, usec, (out, err, klog) = reply[1]
        kernel_log = klog.text()
        result = Result(
            command=argv, exit_code=code if status == "exit" else None,
            stdout=out.text(), stderr=err.text(), kernel_log=kernel_log,
            duration=usec / 1e6, timed_out=status in ("timeout", "stuck"),
            truncated=out.truncated or err.truncated or klog.truncated,
        )
        if status in ("signal", "timeout") and code:
            result.exit_code = 128 + code
        crash = find_crash(kernel_log) or find_crash(self.console_since(mark))
        if status == "stuck":
            crash = crash or self._wait_for_diagnosis(mark, lockup_wait) or Crash(
                kind="hang",
                headline=(f"the command did not finish within {timeout:g} s and did not die "
                          "when killed: it is stuck inside the kernel"),
                text=self.console_since(mark)[-20000:],
            )
        return self._with_crash(result, crash)

    def _wait_for_diagnosis(self, mark: int, seconds: float) -> Crash | None:
        """Give the kernel's watchdogs time to explain a stuck command."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            crash = find_crash(self.console_since(mark))
            if crash and crash.kind != "warning":
                time.sleep(1.0)  # let the rest of the report arrive
                return find_crash(self.console_since(mark))
            time.sleep(0.5)
        return None

    def _guest_lost(self, argv: list[str], mark: int, started: float, frozen: bool,
                    lockup_wait: float) -> Result:
        if not frozen:
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        # A frozen guest (e.g. one CPU spinning with preemption off) still prints
        # its watchdogs' reports on the console: give them time to arrive.
        crash = self._wait_for_diagnosis(mark, lockup_wait) if frozen else None
        console = self.console_since(mark)
        crash = crash or find_crash(console)
        if crash is None:
            if frozen:
                crash = Crash(kind="hang", headline="the guest stopped answering (frozen kernel)",
                              text=console[-20000:])
            else:
                crash = Crash(kind="guest died",
                              headline=f"QEMU exited (status {self._proc.returncode}) "
                                       "while the command ran",
                              text=console[-20000:])
        result = Result(command=argv, exit_code=None, kernel_log=console[-200000:],
                        duration=time.monotonic() - started, timed_out=frozen)
        result = self._with_crash(result, crash)
        _proc.stop(self._proc)
        return result

    def _with_crash(self, result: Result, crash: Crash | None) -> Result:
        if crash is None:
            return result
        crash = locate(crash, self.modules)
        self.last_crash = crash
        if crash.fatal:
            self._dirty = crash
        result.crash = crash
        return result

    # ---- files and modules ----

    def copy_in(self, path: str | os.PathLike) -> str:
        """Copy a host file or directory into the work dir; returns its guest path."""
        with self._lock:
            self._ensure_ready()
            src = Path(path)
            dest = self.workdir / "in" / src.name
            dest.parent.mkdir(exist_ok=True)
            if src.is_dir():
                shutil.copytree(src, dest, dirs_exist_ok=True)
            else:
                shutil.copy2(src, dest)
            return str(dest)

    def load(self, ko: str | os.PathLike, timeout: float = 30.0, **params: object) -> Result:
        """insmod a module built on the host; params become name=value arguments."""
        ko = Path(ko)
        if not ko.is_file():
            raise GuestError(f"no such module file: {ko} (build it first, e.g. with build_module)")
        name = ko.stem.replace("-", "_")
        with self._lock:
            guest_ko = self.copy_in(ko)
            args = [f"{key}={_param(value)}" for key, value in params.items()]
            self.modules[name] = ko.resolve()
            result = self.run(["insmod", guest_ko, *args], timeout=timeout)
            if result.exit_code != 0 and not result.crash:
                self.modules.pop(name, None)
            return result

    def unload(self, name: str, timeout: float = 10.0) -> Result:
        """rmmod a module; an exit function that never returns becomes a "hang" crash."""
        name = Path(name).stem.replace("-", "_") if str(name).endswith(".ko") else name
        with self._lock:
            # Don't wait for a hung-task report: "exit never returns" says it all.
            result = self.run(["rmmod", name], timeout=timeout, lockup_wait=0)
            if result.crash and result.crash.kind == "hang":
                result.crash = replace(
                    result.crash,
                    headline=f"rmmod {name} did not return within {timeout:g} s: "
                             "the module's exit function never returns",
                )
            if result.exit_code == 0:
                self.modules.pop(name, None)
            return result

    def status(self) -> GuestStatus:
        if self._proc is None:
            state = "stopped"
        elif not self.alive:
            state = "dead"
        elif self.dirty:
            state = "dirty"
        elif self._booting is not None:
            state = "booting"
        else:
            state = "ready"
        return GuestStatus(
            kernel=self.kernel.series, release=self.kernel.release, state=state,
            accel="kvm" if self.kvm else "tcg", memory=self.memory, cpus=self.cpus,
            boots=self.boots, last_boot_seconds=self.last_boot_seconds,
            pid=self._proc.pid if self._proc else None,
            workdir=str(self.workdir) if self._statedir else None,
            last_crash=str(self.last_crash) if self.last_crash else None,
            loaded_modules=sorted(self.modules),
        )


_STATEDIR_PREFIX = "uaccess-guest-"
_live_guests: weakref.WeakSet[Guest] = weakref.WeakSet()


@atexit.register
def _close_all() -> None:
    """A script that forgets close() still leaves no QEMU and no files behind."""
    for guest in list(_live_guests):
        guest.close()


def _remove_orphaned_statedirs() -> None:
    """Delete our user's guest directories whose Python process has died (e.g. SIGKILL)."""
    for path in Path(tempfile.gettempdir()).glob(_STATEDIR_PREFIX + "*"):
        try:
            if path.stat().st_uid != os.getuid():
                continue
            pid = int((path / "owner.pid").read_text())
            os.kill(pid, 0)
        except ProcessLookupError:
            shutil.rmtree(path, ignore_errors=True)
        except (OSError, ValueError):
            continue  # not ours to judge, or still being created


def _param(value: object) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)
