"""Recognise kernel crashes in kernel log text and point at the source line.

`find_crash(text)` scans kernel log lines (from the guest's /dev/kmsg or its
serial console) for the kernel's own crash reports -- oops, BUG, WARNING,
panic, soft/hard lockup, RCU stall, hung task -- and returns a `Crash` with
the report's text and the faulting function. `locate(crash, modules)` then
maps `func+0x9/0x29 [module]` to `file.c:line` with binutils' addr2line when
the module's .ko carries debug info.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass, replace
from pathlib import Path

__all__ = ["Crash", "FATAL_KINDS", "find_crash", "locate"]

# Kinds after which the guest cannot be trusted and is rebooted before its next use.
# A WARNING leaves the kernel consistent (only tainted), so it does not count.
FATAL_KINDS = frozenset(
    {"oops", "bug", "panic", "soft lockup", "hard lockup", "rcu stall", "hung task",
     "hang", "guest died"}
)

# (kind, pattern) in order of precedence: the first kind found in the text wins,
# except that a panic always wins (it is what finally happened).
_MARKERS: list[tuple[str, re.Pattern[str]]] = [
    ("soft lockup", re.compile(r"BUG: soft lockup")),
    ("hard lockup", re.compile(r"Watchdog detected hard LOCKUP|NMI watchdog: .*hard LOCKUP")),
    ("rcu stall", re.compile(r"rcu: INFO: \S+ (self-)?detected stalls?|rcu_\w+ self-detected stall")),
    ("bug", re.compile(r"kernel BUG at |BUG: (scheduling while atomic|sleeping function called"
                       r"|spinlock|KASAN|KFENCE|Bad page|bad unlock)")),
    ("oops", re.compile(r"BUG: (kernel NULL pointer dereference|unable to handle)|"
                        r"\bOops: |general protection fault|Oops\b.*\[#\d+\]")),
    ("hung task", re.compile(r"INFO: task .* blocked for more than \d+ seconds")),
    ("warning", re.compile(r"WARNING: CPU: \d+ PID: \d+ at ")),
]
_PANIC = re.compile(r"Kernel panic - not syncing")
# Where one report ends: the kernel prints this after the call trace.
_END = re.compile(r"---\[ end (trace|Kernel panic)")
_RIP = re.compile(r"RIP: [0-9a-f]{4}:(?P<func>[\w.]+)\+(?P<off>0x[0-9a-f]+)/0x[0-9a-f]+(?: \[(?P<mod>\w+)\])?")
_FRAME = re.compile(r"^\s*(?:\[[ \d.]+\]\s*)?\s*(?:\? )?(?P<func>[\w.]+)\+(?P<off>0x[0-9a-f]+)/0x[0-9a-f]+ \[(?P<mod>\w+)\]")
_WARN_AT = re.compile(r"WARNING: CPU: \d+ PID: \d+ at (?P<where>\S+) (?P<func>[\w.]+)\+(?P<off>0x[0-9a-f]+)")
_MAX_LINES = 120


@dataclass(frozen=True)
class Crash:
    """One kernel crash report.

    kind: "oops", "bug", "warning", "panic", "soft lockup", "hard lockup",
          "rcu stall", "hung task", "hang" (a command stuck in the kernel that
          SIGKILL could not stop) or "guest died" (QEMU exited unexpectedly).
    headline: the report's first line, e.g. "BUG: kernel NULL pointer dereference, ...".
    text: the kernel's report (bounded to about 120 lines).
    function: faulting function ("cdev_read"), module ("cdev") and offset, when known.
    location: "cdev.c:42" when the module's debug info could map it, else None.
    """

    kind: str
    headline: str
    text: str
    function: str | None = None
    module: str | None = None
    offset: int | None = None
    location: str | None = None

    @property
    def fatal(self) -> bool:
        return self.kind in FATAL_KINDS

    def __str__(self) -> str:
        where = ""
        if self.function:
            where = f" in {self.function}" + (f" [{self.module}]" if self.module else "")
            if self.location:
                where += f" at {self.location}"
        return f"kernel {self.kind}{where}: {self.headline}"


def _strip_time(line: str) -> str:
    return re.sub(r"^\[\s*\d+\.\d+\]\s?", "", line)


def find_crash(text: str) -> Crash | None:
    """Return the most important crash report in kernel log `text`, or None."""
    lines = text.splitlines()
    panic_at = next((i for i, line in enumerate(lines) if _PANIC.search(line)), None)
    for kind, pattern in _MARKERS:
        start = next((i for i, line in enumerate(lines) if pattern.search(line)), None)
        if start is None:
            continue
        # The "BUG: ..." line of an oops comes just before "Oops:"; start at the first.
        while start > 0 and re.search(r"BUG: |cut here", lines[start - 1]):
            start -= 1
        crash = _report(kind, lines, start)
        if panic_at is not None:
            end = min(len(lines), panic_at + 5)
            crash = replace(crash, kind="panic",
                            text="\n".join(lines[start:end][-_MAX_LINES:]))
        return crash
    if panic_at is not None:
        start = max(0, panic_at - 40)
        return _report("panic", lines, start, headline_at=panic_at)
    return None


def _report(kind: str, lines: list[str], start: int, headline_at: int | None = None) -> Crash:
    end = start
    while end < len(lines) and end - start < _MAX_LINES:
        end += 1
        if _END.search(lines[end - 1]):
            break
    body = lines[start:end]
    headline = _strip_time(lines[headline_at if headline_at is not None else start]).strip()
    if "cut here" in headline and len(body) > 1:
        headline = _strip_time(body[1]).strip()
    func = mod = off = None
    match = next((m for m in map(_RIP.search, body) if m), None)
    if match:
        func, off, mod = match["func"], int(match["off"], 16), match["mod"]
    elif kind == "warning":
        warn = next((m for m in map(_WARN_AT.search, body) if m), None)
        if warn:
            func, off = warn["func"], int(warn["off"], 16)
    return Crash(kind=kind, headline=headline, text="\n".join(body),
                 function=func, module=mod, offset=off)


def _frames(crash: Crash) -> list[tuple[str, int, str]]:
    """(function, offset, module) of the RIP and of the call trace's module frames."""
    frames = []
    if crash.function and crash.module and crash.offset is not None:
        frames.append((crash.function, crash.offset, crash.module))
    for line in crash.text.splitlines():
        m = _FRAME.search(line)
        if m and "? " not in line.split(m["func"])[0][-3:]:
            frames.append((m["func"], int(m["off"], 16), m["mod"]))
    return frames


def locate(crash: Crash, modules: dict[str, Path]) -> Crash:
    """Fill in `crash.location` from the first frame in a module we have the .ko of.

    modules: module name -> path of its .ko (built with debug info).
    When the faulting instruction is in the core kernel (e.g. inside
    copy_to_user), the first call-trace frame in one of `modules` is used and
    the function is updated to it.
    """
    for func, off, mod in _frames(crash):
        ko = modules.get(mod)
        if ko is None:
            continue
        where = source_line(Path(ko), func, off)
        if where:
            return replace(crash, function=func, module=mod, offset=off, location=where)
    return crash


def source_line(ko: Path, func: str, offset: int) -> str | None:
    """Map func+offset in a relocatable .ko to "file.c:line" using its debug info."""
    symbol = _symbol(ko, func)
    if symbol is None:
        return None
    section, value = symbol
    try:
        out = subprocess.run(
            ["addr2line", "-e", str(ko), "-j", section, "-i", hex(value + offset)],
            capture_output=True, text=True, timeout=20, check=False,
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    # With -i, inlined frames come innermost first (e.g. cpu_relax() in
    # processor.h); the student's own line is the first one in a .c file.
    places = [ln for ln in out.splitlines() if ln.strip() and not ln.startswith("??")]
    for place in sorted(places, key=lambda p: not p.split(":")[0].endswith(".c")):
        path, _, line = place.partition(":")
        line = line.split()[0] if line else "?"
        if line not in ("?", "0"):
            return f"{Path(path).name}:{line}"
    return None


def _symbol(ko: Path, func: str) -> tuple[str, int] | None:
    """(section name, value) of function `func` in the object file `ko`."""
    try:
        out = subprocess.run(["readelf", "-W", "-S", "-s", str(ko)],
                             capture_output=True, text=True, timeout=20, check=False).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    sections: dict[int, str] = {}
    for m in re.finditer(r"^\s*\[\s*(\d+)\]\s+(\S+)", out, re.M):
        sections[int(m[1])] = m[2]
    for m in re.finditer(r"^\s*\d+:\s+([0-9a-f]+)\s+\d+\s+FUNC\s+\w+\s+\w+\s+(\d+)\s+(\S+)$", out, re.M):
        if m[3] == func and int(m[2]) in sections:
            return sections[int(m[2])], int(m[1], 16)
    return None
