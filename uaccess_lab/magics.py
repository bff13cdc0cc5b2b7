"""IPython magics: the real kernel from notebook cells.

    %load_ext uaccess_lab
    %kernel 6.12                  switch kernel (default: 6.1); no argument shows it
    %%module hello --load         the cell is C: build it, show errors against the
                                  cell's own lines, and (with --load) insmod it
    %%guest --timeout 30          the cell is a shell script run as root in the guest
    %guest_status                 what is running, how many boots, the last crash

The guest boots on first use (with a progress line) and stays up; after a
kernel crash the next cell reboots it and says so. The last result is kept in
the notebook as `_guest_result` (a `uaccess_lab.vm.Result`).
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time

from IPython.core.magic import Magics, cell_magic, line_magic, magics_class
from IPython.display import display

from uaccess_lab.kernels import KernelError, resolve
from uaccess_lab.vm import BuildError, Guest, GuestError, build_module
from uaccess_lab.vm.build import BuildResult
from uaccess_lab.vm import shared
from uaccess_lab.vm.guest import Result

__all__ = ["UaccessMagics", "load_ipython_extension"]


class _Text:
    """Plain text shown as-is by Jupyter (a str would be shown quoted)."""

    def __init__(self, text: str):
        self.text = text

    def _repr_pretty_(self, p, cycle):
        p.text(self.text)

    def __repr__(self) -> str:
        return self.text


def _parser(prog: str, description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description=description, add_help=False)
    parser.exit = _no_exit  # a magic must not end the notebook kernel
    return parser


def _no_exit(status=0, message=None):
    raise _UsageError(message or "")


class _UsageError(Exception):
    pass


_MODULE_ARGS = _parser("%%module", "build the cell as a kernel module")
_MODULE_ARGS.add_argument("name", help="module name (a C identifier)")
_MODULE_ARGS.add_argument("--load", action="store_true", help="insmod it after building")
_MODULE_ARGS.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                          help="module parameter for --load (repeatable)")

_GUEST_ARGS = _parser("%%guest", "run the cell as a shell script in the guest")
_GUEST_ARGS.add_argument("--timeout", type=float, default=60.0, help="seconds (default 60)")


@magics_class
class UaccessMagics(Magics):
    """The magics; one guest per notebook, for the kernel chosen with %kernel."""

    # The guest is the process's shared one (uaccess_lab.vm.shared), which the
    # labs' helpers and the grading cells use too: a notebook never holds two.

    @property
    def series(self) -> str:
        return shared.default_kernel()

    # ---- helpers ----

    def _kernel(self):
        return resolve(self.series)

    def _guest(self) -> Guest:
        guest = shared.shared_guest(self.series)
        # A (re)boot during this cell shows its progress in this cell's output.
        guest.progress = _BootProgress()
        return guest

    # ---- magics ----

    @line_magic
    def kernel(self, line: str):
        """%kernel [6.1|6.12]: show or switch the kernel that cells build for and run on."""
        wanted = line.strip()
        try:
            kernel = resolve(wanted or self.series)
        except KernelError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return None
        if wanted:
            shared.set_default_kernel(kernel.series)
            current = shared.current_guest()
            if current is not None and current.kernel.series != kernel.series:
                current.close()  # free its memory now; the next cell boots the new kernel
        return _Text(f"kernel {kernel.series}: {kernel.release} ({kernel.source} install, "
                     f"{kernel.image})")

    @cell_magic
    def module(self, line: str, cell: str):
        """%%module NAME [--load] [--param k=v]: build the cell as NAME.ko (and load it)."""
        try:
            args = _MODULE_ARGS.parse_args(shlex.split(line))
        except _UsageError as exc:
            print(f"{exc}\n{_MODULE_ARGS.format_usage()}", file=sys.stderr)
            return None
        try:
            build = build_module(cell, kernel=self._kernel(), name=args.name, source_name="cell")
        except (BuildError, KernelError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return None
        self.shell.user_ns["_module_build"] = build
        if not build.ok:
            print(_build_errors(build, cell), file=sys.stderr)
            return None
        took = "cached" if build.cached else f"{build.duration:.1f} s"
        warned = f", {len(build.warnings)} warnings" if build.warnings else ""
        print(f"built {build.name}.ko for {build.kernel} ({took}{warned})")
        for warning in build.warnings:
            print(f"  {warning}")
        if not args.load:
            return None
        params = dict(p.split("=", 1) for p in args.param if "=" in p)
        try:
            guest = self._guest()
            if build.name in guest.modules:
                guest.unload(build.name)
            result = guest.load(build.ko, **params)
        except (GuestError, KernelError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return None
        self._show(result)
        return None

    @cell_magic
    def guest(self, line: str, cell: str):
        """%%guest [--timeout S]: run the cell as a root shell script in the guest."""
        try:
            args = _GUEST_ARGS.parse_args(shlex.split(line))
        except _UsageError as exc:
            print(f"{exc}\n{_GUEST_ARGS.format_usage()}", file=sys.stderr)
            return None
        try:
            result = self._guest().run(cell, timeout=args.timeout)
        except (GuestError, KernelError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return None
        self._show(result)
        return None

    @line_magic
    def guest_status(self, line: str):
        """%guest_status: the guest's kernel, state, boots and last crash."""
        guest = shared.current_guest()
        if guest is None:
            try:
                kernel = self._kernel()
            except KernelError as exc:
                return _Text(f"no guest yet; {exc}")
            return _Text(f"no guest yet: the first %%guest or %%module --load boots "
                         f"{kernel.series} ({kernel.release})")
        s = guest.status()
        lines = [
            f"kernel      {s.kernel} ({s.release})",
            f"state       {s.state}" + (f", QEMU pid {s.pid}" if s.pid else ""),
            f"emulation   {'KVM' if s.accel == 'kvm' else 'TCG (software, no KVM)'}, "
            f"{s.cpus} CPUs, {s.memory}",
            f"boots       {s.boots}" + (f", last took {s.last_boot_seconds:.1f} s"
                                        if s.last_boot_seconds else ""),
            f"modules     {', '.join(s.loaded_modules) or '-'}",
            f"last crash  {s.last_crash or '-'}",
        ]
        return _Text("\n".join(lines))

    def _show(self, result: Result) -> None:
        self.shell.user_ns["_guest_result"] = result
        if result.rebooted:
            print(f"[note] {result.rebooted}")
        if result.crash:
            c = result.crash
            banner = f"KERNEL {c.kind.upper()}"
            if c.function:
                banner += f" in {c.function}" + (f" [{c.module}]" if c.module else "")
            if c.location:
                banner += f" at {c.location}"
            print(f"{'=' * 8} {banner} {'=' * 8}\n{c.headline}\n\n{c.text}\n{'=' * 40}",
                  file=sys.stderr)
            if c.fatal:
                print("The guest will reboot before the next command.", file=sys.stderr)
        if result.stdout:
            print(f"--- stdout ---\n{result.stdout.rstrip()}")
        if result.stderr:
            print(f"--- stderr ---\n{result.stderr.rstrip()}")
        if result.kernel_log and not result.crash:
            print(f"--- kernel log ---\n{result.kernel_log.rstrip()}")
        if result.timed_out:
            status = "timed out"
        elif result.exit_code is None:
            status = "no exit status (the guest died)"
        else:
            status = f"exit {result.exit_code}"
        print(f"--- {status}, {result.duration:.2f} s ---")


def _build_errors(build: BuildResult, cell: str) -> str:
    """Compiler errors with the cell's own line numbers and the offending line."""
    lines = cell.splitlines()
    out = [f"build of {build.name} for {build.kernel} failed:"]
    shown = [d for d in build.diagnostics if d.severity in ("error", "fatal error", "warning")]
    for d in shown:
        out.append(f"  {d}")
        if d.file == "cell" and 1 <= d.line <= len(lines):
            src = lines[d.line - 1]
            out.append(f"    {d.line:4d} | {src}")
            if d.column:  # byte columns: keep the line's tabs so the caret lines up
                pad = "".join(ch if ch == "\t" else " " for ch in src[: d.column - 1])
                out.append(f"         | {pad}^")
    if not shown:
        out += ["  " + line for line in build.log.strip().splitlines()[-20:]]
    return "\n".join(out)


class _BootProgress:
    """Shows "booting the guest: 7.5 s (kernel booting)" updating in place."""

    def __init__(self):
        self.handle = None
        self.last = 0.0

    def __call__(self, elapsed: float, stage: str) -> None:
        now = time.monotonic()
        if stage != "ready" and now - self.last < 1.0:
            return
        self.last = now
        text = _Text(f"booting the guest: {elapsed:.1f} s ({stage})" if stage != "ready"
                     else f"guest ready after {elapsed:.1f} s")
        if self.handle is None:
            self.handle = display(text, display_id=True)
        else:
            self.handle.update(text)


def load_ipython_extension(ipython) -> None:
    ipython.register_magics(UaccessMagics)
