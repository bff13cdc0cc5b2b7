"""A student's driver under test: built on the host, exercised in a guest, one test at a time.

Student code never runs on the host: it is compiled here (as a kernel module,
which only the guest kernel loads) and the test programs from
module-src/user/ run inside the guest. The module is loaded once and stays
loaded from test to test (the driver keeps its state per open file, and each
test program opens the device afresh); after a crash the guest reboots by
itself and the next test loads the module again. The first test ("builds")
also unloads it, so a module that cannot be unloaded is caught. After each
test every page the test pinned must be unpinned again: its program has
exited, so the driver's release() has run.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from uaccess_lab.course.c_regions import solution_version
from uaccess_lab.kernels import cache_dir, resolve
from uaccess_lab.vm.build import BuildResult, build_module
from uaccess_lab.vm.guest import Guest, Result

from .harness import TestFailure

REPO = Path(__file__).resolve().parents[2]
MODULE_SRC = REPO / "module-src"
GUEST_DEVICE = "/dev/cdev/cdev0"


def user_programs() -> Path:
    """module-src/user built once (per content) into the cache; returns the directory of binaries."""
    sources = sorted(MODULE_SRC.glob("user/*.[ch]")) + sorted(MODULE_SRC.glob("*.h"))
    makefile = MODULE_SRC / "Makefile"
    digest = hashlib.sha256(b"".join(p.name.encode() + p.read_bytes()
                                     for p in [*sources, makefile])).hexdigest()[:12]
    final = cache_dir() / "user-programs" / digest
    if final.is_dir():
        return final / "user"
    final.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".build-", dir=final.parent))
    try:
        for path in sources:
            dest = work / path.relative_to(MODULE_SRC)
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, dest)
        shutil.copy2(makefile, work)
        proc = subprocess.run(["make", "-C", str(work), "user"], capture_output=True, text=True, timeout=300)
        if proc.returncode != 0:
            raise RuntimeError(f"the test programs in module-src/user did not build:\n{proc.stdout}{proc.stderr}")
        work.rename(final)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return final / "user"


def sealed_paths() -> list[Path]:
    """The host paths a grading guest sees (see Guest's `sealed`): only the test programs.

    Student code can read whatever the guest sees and print it into its own
    feedback, so a grading guest sees neither other submissions nor the hidden tests.
    """
    return [user_programs()]


# The compiler runs on the host: a student's #include could read any host file
# into the build log (other students' work, the hidden tests). Only kernel
# headers and the course's compat.h may be included.
_INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]*)[>"]', re.M)
_ALLOWED_SYSTEM = ("linux/", "asm/", "asm-generic/", "uapi/", "vdso/", "generated/", "trace/")


def source_problems(source: str) -> list[str]:
    """Why the source may not be built on the grading host (empty: it may)."""
    problems = []
    for m in _INCLUDE.finditer(source):
        kind, path = m.groups()
        line = source.count("\n", 0, m.start()) + 1
        if ".." in path or path.startswith("/"):
            problems.append(f"line {line}: #include of {path!r}: only kernel headers and \"compat.h\" may be included")
        elif kind == '"' and path != "compat.h":
            problems.append(f"line {line}: #include \"{path}\": the only local header is \"compat.h\"")
        elif kind == "<" and not path.startswith(_ALLOWED_SYSTEM):
            problems.append(f"line {line}: #include <{path}>: use kernel headers (<linux/...>, <asm/...>)")
    for m in re.finditer(r"\.incbin\b", source):
        line = source.count("\n", 0, m.start()) + 1
        problems.append(f"line {line}: .incbin reads a host file into the module: not allowed")
    return problems


def _overwhelmed(crash, kernel_log: str) -> str:
    """A hint when the guest looks swamped by memory use or processes (a fork bomb): the OOM
    killer ran, many tasks were stuck at once, or the guest froze without any kernel report."""
    text = crash.text + kernel_log
    blocked = set(re.findall(r"INFO: task (\S+) blocked", text))
    if "Out of memory" in text:
        symptom = "The guest ran out of memory (the kernel's OOM killer ran)"
    elif len(blocked) >= 3:
        symptom = f"{len(blocked)} tasks were stuck at once"
    elif crash.kind == "hang" and not crash.text.strip():
        symptom = "The guest stopped answering and its kernel reported nothing"
    else:
        return ""
    return (f"\n{symptom}: does the driver allocate without bound, or start programs "
            "(call_usermodehelper) that multiply?")


def describe(result: Result, what: str) -> str:
    """Why a guest command did not succeed, in words a student can act on."""
    if result.crash:
        where = f" at {result.crash.location}" if result.crash.location else ""
        return (f"the kernel crashed while {what}: {result.crash.kind} in "
                f"{result.crash.function or 'an unknown function'}{where}"
                f"{_overwhelmed(result.crash, result.kernel_log)}\n"
                f"{result.crash.text.strip() or result.crash.headline}")
    if result.timed_out:
        return (f"{what} did not finish in time: the driver hangs or loops "
                f"(the guest is rebooted for the next test)")
    return f"{what} failed (exit {result.exit_code}):\n{result.stdout}{result.stderr}"


class DriverUnderTest:
    """The context every driver test receives."""

    def __init__(self, source: str, *, module: str = "cdev", kernel: str | None = None,
                 guest: Guest | None = None, source_name: str = "cdev.c"):
        self.source, self.module, self.source_name = source, module, source_name
        self.kernel = resolve(kernel)
        self._guest, self._own_guest = guest, guest is None
        self._build: BuildResult | None = None
        self._programs: Path | None = None
        self._pins_before: int | None = None
        self._pins_known: tuple[int, int] | None = None  # (guest boot, pins in flight) after the last test

    # ---- lifecycle ----

    def close(self) -> None:
        if self._own_guest and self._guest is not None:
            self._guest.close()

    def __enter__(self) -> DriverUnderTest:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def use_guest(self, guest: Guest) -> None:
        """Run the following tests in `guest` (a shared guest the caller owns)."""
        if guest is not self._guest:
            self._guest, self._own_guest, self._pins_known = guest, False, None

    @property
    def guest(self) -> Guest:
        if self._guest is None:
            self._guest = Guest(self.kernel, sealed=sealed_paths())
        return self._guest

    def build(self) -> BuildResult:
        """Compile the student's source (once), with the course's compat.h beside it."""
        if self._build is None:
            problems = source_problems(self.source)
            if problems:
                self._build = BuildResult(False, self.module, self.kernel.series, None,
                                          log="not built, for the grading host's safety:\n" + "\n".join(problems))
                return self._build
            with tempfile.TemporaryDirectory() as tmp:
                c_file = Path(tmp) / f"{self.module}.c"
                c_file.write_text(self.source)
                shutil.copy2(MODULE_SRC / "compat.h", tmp)
                self._build = build_module([c_file, Path(tmp) / "compat.h"], self.kernel, name=self.module)
            self._build.diagnostics = [
                d.__class__(self.source_name if d.file.endswith(f"{self.module}.c") else d.file,
                            d.line, d.column, d.severity, d.message)
                for d in self._build.diagnostics
            ]
        return self._build

    # ---- called by Suite.run around each test ----

    def setup_test(self, case) -> None:
        self._pins_before = None
        if case.name == "builds" or not self.build().ok:
            return  # "builds" loads and unloads by itself
        self.ensure_loaded()
        boot, pins = self._pins_known or (None, None)
        self._pins_before = pins if boot == self.guest.boots else self.pins_in_flight()

    def teardown_test(self, case) -> None:
        self._pins_known = None
        if self._pins_before is None or not self.is_loaded():
            return  # not loaded, or the test crashed the guest: nothing to count
        after = self.pins_in_flight()
        if after > self._pins_before:  # maybe 9p I/O holding a pin for a moment: look again
            after = self.pins_in_flight(samples=3)
        self._pins_known = (self.guest.boots, after)
        if after > self._pins_before:
            raise TestFailure(
                f"{after - self._pins_before} page pin(s) were never released: "
                f"every pin_user_pages*() needs an unpin_user_page(s)(), at the latest in release() "
                f"(pins in flight before the test {self._pins_before}, after it {after})"
            )

    # ---- what tests use ----

    def require_build(self) -> str:
        build = self.build()
        if not build.ok:
            shown = [str(d) for d in build.diagnostics if d.severity != "note"] or build.log.strip().splitlines()[-20:]
            raise TestFailure("the driver does not compile:\n" + "\n".join(shown))
        warnings = [str(d) for d in build.warnings]
        return ("compiled with warnings:\n" + "\n".join(warnings)) if warnings else "compiled cleanly"

    def is_loaded(self) -> bool:
        """This build of the module is loaded in a guest that has not crashed since."""
        guest, build = self.guest, self.build()
        return (guest.alive and not guest.dirty and build.ok
                and guest.modules.get(self.module) == Path(build.ko).resolve())

    def ensure_loaded(self) -> None:
        """Load the module unless this build is already loaded (after a crash it is not)."""
        if not self.is_loaded():
            self.load()

    def load(self) -> None:
        """insmod this build, replacing another module of the same name (e.g. a demonstration's)."""
        self.require_build()
        guest = self.guest
        if guest.alive and not guest.dirty and self.module in guest.modules:
            self._rmmod()  # not this test's business if it will not go: the guest starts afresh
        result = guest.load(self.build().ko, timeout=30)
        if result.exit_code != 0 or result.crash:
            raise TestFailure(describe(result, f"loading {self.module}.ko (insmod)"))

    def unload(self) -> None:
        """rmmod the module; one that will not go is a failure, and the guest is rebooted."""
        result = self._rmmod()
        if result.exit_code != 0 or result.crash:
            raise TestFailure(describe(result, f"unloading {self.module} (rmmod)"))

    def _rmmod(self) -> Result:
        """rmmod the module; if it will not go, reboot the guest (a crash makes the guest reboot anyway):
        a module stuck in the kernel would break the next test."""
        result = self.guest.unload(self.module, timeout=15)
        if result.exit_code != 0 and not result.crash:
            self.guest.reboot()
        return result

    def run(self, command: str | list[str], timeout: float = 30) -> Result:
        return self.guest.run(command, timeout=timeout)

    def program(self, name: str, *args: object, timeout: float = 30) -> Result:
        """Run module-src/user/<name> in the guest."""
        if self._programs is None:
            self._programs = user_programs()
        return self.guest.run([str(self._programs / name), *map(str, args)], timeout=timeout)

    def expect_fixed(self, name: str, *args: object, timeout: float = 30) -> str:
        """Run a check program; it exits 0 when the driver behaves, 1 when it shows the defect."""
        result = self.program(name, *args, timeout=timeout)
        what = f"running {name}"
        if result.crash or result.timed_out:
            raise TestFailure(describe(result, what))
        if result.exit_code == 1:
            raise TestFailure(f"{name} saw the defect:\n{result.stdout}{result.stderr}")
        if result.exit_code != 0:
            raise TestFailure(describe(result, what))
        return result.stdout

    def pins_in_flight(self, samples: int = 1) -> int:
        """FOLL_PIN pins held system-wide, the least of `samples` samples (other I/O pins briefly)."""
        result = self.program("pins_in_flight", samples, timeout=15)
        if not result.ok:
            raise TestFailure(describe(result, "reading /proc/vmstat"))
        values = re.findall(r"nr_foll_pin_(acquired|released) (\d+)", result.stdout)
        samples = [int(values[i][1]) - int(values[i + 1][1]) for i in range(0, len(values) - 1, 2)]
        return min(samples)

    def code_text(self) -> str:
        """The source as the compiler sees it, for reading: comments removed, and in the
        instructor's copy each solution region reduced to its solution lines."""
        text = solution_version(self.source)
        text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
        return re.sub(r"//[^\n]*", " ", text)

    def function_body(self, name: str) -> str:
        """The code of C function `name` (comments removed), or "" if there is none."""
        code = self.code_text()
        m = re.search(rf"^[^\n;]*\b{re.escape(name)}\s*\([^;{{]*\)\s*\{{", code, re.M)
        if not m:
            return ""
        depth, i = 0, m.end() - 1
        for j in range(i, len(code)):
            depth += {"{": 1, "}": -1}.get(code[j], 0)
            if depth == 0:
                return code[i:j + 1]
        return code[i:]
