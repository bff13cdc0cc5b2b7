"""Build a kernel module on the host, against one kernel's headers.

    result = build_module(cell_text, kernel="6.1", name="hello")
    if not result.ok:
        for d in result.diagnostics:
            print(d)          # cell:7:5: error: 'x' undeclared ...

Sources are a directory, a list of .c/.h files, or C source text (a notebook
cell). Each build runs in its own directory under the user's cache, named by
a hash of the sources and the kernel, so rebuilding the same code is instant.
Modules get debug info (-g) so that crashes map to source lines.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from uaccess_lab.kernels import Kernel, cache_dir, resolve

__all__ = ["BuildError", "BuildResult", "Diagnostic", "build_module"]

_DIAG = re.compile(
    r"^(?P<file>[^\s:][^:]*):(?P<line>\d+):(?:(?P<col>\d+):)? "
    r"(?P<sev>fatal error|error|warning|note): (?P<msg>.*)$"
)
_MODPOST = re.compile(r"^(?P<sev>ERROR|WARNING): modpost: (?P<msg>.*)$")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class BuildError(ValueError):
    """The sources could not even be prepared for a build (bad name, no files)."""


@dataclass(frozen=True)
class Diagnostic:
    """One compiler message, with the file named as the user knows it."""

    file: str
    line: int
    column: int
    severity: str  # "error", "fatal error", "warning" or "note"
    message: str

    def __str__(self) -> str:
        col = f"{self.column}:" if self.column else ""
        return f"{self.file}:{self.line}:{col} {self.severity}: {self.message}"


@dataclass
class BuildResult:
    """ok: a .ko was produced. ko: its path. log: the full make output."""

    ok: bool
    name: str
    kernel: str
    ko: Path | None
    diagnostics: list[Diagnostic] = field(default_factory=list)
    log: str = ""
    build_dir: Path | None = None
    duration: float = 0.0
    cached: bool = False

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity in ("error", "fatal error")]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "warning"]

    def __str__(self) -> str:
        if self.ok:
            return f"built {self.ko} for {self.kernel} ({len(self.warnings)} warnings)"
        lines = [f"build of {self.name} for {self.kernel} failed:"]
        lines += [f"  {d}" for d in self.diagnostics if d.severity != "note"] or [
            "  " + line for line in self.log.strip().splitlines()[-15:]
        ]
        return "\n".join(lines)


def _collect(sources, source_name: str, name: str | None) -> tuple[str, dict[str, bytes], dict[str, str]]:
    """(module name, {file name: content}, {file name: label shown to the user})."""
    files: dict[str, bytes] = {}
    labels: dict[str, str] = {}
    if isinstance(sources, str) and ("\n" in sources or not Path(sources).exists()):
        name = name or "cell_module"
        files[f"{name}.c"] = sources.encode()
        labels[f"{name}.c"] = source_name
        return name, files, labels
    if isinstance(sources, (str, os.PathLike)) and Path(sources).is_dir():
        directory = Path(sources)
        paths = sorted(p for p in directory.iterdir() if p.suffix in (".c", ".h") and p.is_file())
        name = name or directory.name
    elif isinstance(sources, (str, os.PathLike)):
        paths = [Path(sources)]
    elif isinstance(sources, Sequence):
        paths = [Path(p) for p in sources]
    else:
        raise BuildError(f"sources must be C text, a directory or a list of files, not {type(sources).__name__}")
    for path in paths:
        if path.name in files:
            raise BuildError(f"two source files are both called {path.name}: rename one")
        files[path.name] = path.read_bytes()
        labels[path.name] = str(path)
    c_files = [f for f in files if f.endswith(".c")]
    if not c_files:
        raise BuildError(f"no .c file among {list(files) or 'the sources'}: give at least one")
    name = name or Path(c_files[0]).stem
    return name, files, labels


def _kbuild(name: str, files: dict[str, bytes]) -> str:
    objects = [Path(f).stem + ".o" for f in files if f.endswith(".c")]
    lines = ["# Written by uaccess_lab.vm.build", f"obj-m := {name}.o"]
    if objects != [f"{name}.o"]:
        if f"{name}.o" in objects:
            raise BuildError(
                f"a module built from several files cannot have a file named {name}.c: "
                f"rename that file or pass another name="
            )
        lines.append(f"{name}-y := {' '.join(objects)}")
    # -g: debug info, so crash reports map back to source lines.
    # Columns count bytes (a tab is 1), as an editor's cursor does, not display cells.
    lines.append("ccflags-y += -g -fdiagnostics-column-unit=byte")
    return "\n".join(lines) + "\n"


def parse_diagnostics(log: str, build_dir: Path, labels: dict[str, str]) -> list[Diagnostic]:
    """Compiler and modpost messages from a make log, with files named as the user knows them."""
    found = []
    for line in log.splitlines():
        m = _DIAG.match(line.strip())
        if m:
            path = Path(m["file"])
            if path.parent == build_dir or (not path.is_absolute() and path.name in labels):
                file = labels.get(path.name, path.name)
            else:
                file = m["file"]
            found.append(Diagnostic(file, int(m["line"]), int(m["col"] or 0), m["sev"], m["msg"]))
            continue
        m = _MODPOST.match(line.strip())
        if m:
            found.append(Diagnostic("modpost", 0, 0, m["sev"].lower(), m["msg"]))
    return found


def build_module(sources, kernel: str | Kernel | None = None, *, name: str | None = None,
                 source_name: str = "cell", timeout: float = 300.0) -> BuildResult:
    """Compile `sources` into a .ko for `kernel` (default: the course's default kernel).

    :param sources: C source text, a directory (its .c and .h files), or a list of files.
    :param name: module name (a C identifier); default from the file or directory name,
        or "cell_module" for source text.
    :param source_name: how source text is named in diagnostics ("cell").
    :returns: a `BuildResult`; compile errors are in it, not raised.
    :raises BuildError: the sources cannot be built at all (no .c file, bad name).
    :raises uaccess_lab.kernels.KernelNotFound: the kernel is not installed (says how to).
    """
    k = kernel if isinstance(kernel, Kernel) else resolve(kernel)
    name, files, labels = _collect(sources, source_name, name)
    if not _NAME.match(name):
        raise BuildError(f"module name {name!r} is not a C identifier: use letters, digits and _")
    kbuild = _kbuild(name, files)
    digest = hashlib.sha256()
    for part in [k.release, str(k.build_dir), kbuild] + [f + "\0" for f in sorted(files)]:
        digest.update(part.encode())
    for f in sorted(files):
        digest.update(files[f])
    root = cache_dir() / "build"
    final = root / f"{name}-{k.series}-{digest.hexdigest()[:12]}"
    ko = final / f"{name}.ko"
    started = time.monotonic()
    if ko.exists() and (final / "build.log").exists():
        log = (final / "build.log").read_text()
        return BuildResult(True, name, k.series, ko, parse_diagnostics(log, final, labels),
                           log, final, 0.0, cached=True)
    root.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=root))
    for fname, content in files.items():
        (work / fname).write_bytes(content)
    (work / "Kbuild").write_text(kbuild)
    cmd = ["make", "-C", str(k.build_dir), f"M={work}", "modules"]
    env = dict(os.environ, LC_ALL="C", LANG="C")
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                              env=env, check=False)
        log = proc.stdout + proc.stderr
        ok = proc.returncode == 0 and (work / f"{name}.ko").exists()
    except subprocess.TimeoutExpired as exc:
        log = f"{exc.stdout or ''}{exc.stderr or ''}\nmake did not finish within {timeout:g} s"
        ok = False
    except FileNotFoundError:
        log = "make is not installed: sudo apt-get install make gcc"
        ok = False
    log = log.replace(str(work), str(final))
    diagnostics = parse_diagnostics(log, final, labels)
    duration = time.monotonic() - started
    if not ok:
        shutil.rmtree(work, ignore_errors=True)
        return BuildResult(False, name, k.series, None, diagnostics, log, None, duration)
    (work / "build.log").write_text(log)
    try:
        os.rename(work, final)
    except OSError:  # an identical build finished first; use it
        shutil.rmtree(work, ignore_errors=True)
    return BuildResult(True, name, k.series, ko, diagnostics, log, final, duration)
