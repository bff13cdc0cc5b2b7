"""`uaccess-lab doctor`: one screen that says what works and what to do about what does not.

Each check returns a `Check`: a name, whether it passed, what was found, and
(when it failed) the fix. `required=False` checks only warn: the labs still run.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from importlib import metadata

from uaccess_lab import kernels

# System packages the labs need on Debian/Ubuntu; setup.sh installs the same list.
SYSTEM_PACKAGES = {
    "qemu-system-x86_64": "qemu-system-x86",
    "busybox": "busybox-static",
    "insmod": "kmod",
    "make": "make",
    "gcc": "gcc",
}
MIN_AVAILABLE_MIB = 1024  # guest (512 MiB) + Jupyter + a module build


@dataclass
class Check:
    name: str
    ok: bool
    found: str
    fix: str = ""
    required: bool = True


def _first_line(argv: list[str]) -> str:
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"({exc})"
    return (out.stdout or out.stderr).strip().splitlines()[0] if (out.stdout or out.stderr).strip() else ""


def _apt_fix(package: str) -> str:
    return f"an administrator runs: sudo apt-get install {package}"


def check_python_packages() -> Check:
    """Every pinned dependency of uaccess-lab is installed at its pinned version."""
    try:
        requirements = metadata.requires("uaccess-lab") or []
    except metadata.PackageNotFoundError:
        return Check("Python packages", False, "uaccess-lab is not pip-installed",
                     "run ./setup.sh lab (it creates .venv and installs everything)")
    wrong = []
    runtime = [req for req in requirements if "extra ==" not in req]
    for req in runtime:
        name, _, pinned = req.partition("==")
        name = name.strip()
        try:
            have = metadata.version(name)
        except metadata.PackageNotFoundError:
            wrong.append(f"{name} missing")
            continue
        if pinned and have != pinned.strip():
            wrong.append(f"{name} {have} (pinned {pinned.strip()})")
    found = f"Python {sys.version.split()[0]} at {sys.executable}"
    if wrong:
        return Check("Python packages", False, f"{found}; " + ", ".join(wrong),
                     "run ./setup.sh lab again to reinstall the pinned versions")
    return Check("Python packages", True, f"{found}; {len(runtime)} pinned packages OK")


def check_tool(tool: str, package: str) -> Check:
    path = shutil.which(tool) or next(
        (p for p in (f"/usr/sbin/{tool}", f"/sbin/{tool}") if os.access(p, os.X_OK)), None
    )
    if not path:
        return Check(tool, False, "not found", _apt_fix(package))
    version_args = {"insmod": ["-V"], "busybox": []}.get(tool, ["--version"])
    version = _first_line([path, *version_args])
    return Check(tool, True, f"{path}: {version}")


def check_vng() -> Check:
    bindir = os.path.dirname(sys.executable)
    path = shutil.which("vng") or (os.path.join(bindir, "vng") if os.path.exists(os.path.join(bindir, "vng")) else None)
    if not path:
        return Check("virtme-ng", False, "vng not found", "run ./setup.sh lab (virtme-ng comes from PyPI)")
    try:
        version = metadata.version("virtme-ng")
    except metadata.PackageNotFoundError:
        version = "?"
    return Check("virtme-ng", True, f"{path} (virtme-ng {version})")


def _kernel_compiler(kernel: kernels.Kernel) -> str | None:
    """The compiler the kernel's headers will call, e.g. `gcc-12`."""
    variables = kernel.build_dir / ".kernelvariables"
    if not variables.is_file():
        return None
    text = variables.read_text()
    m = re.search(r"^CC\s*=.*?\)\s*\$\(CROSS_COMPILE\)(\S+)", text, re.M)
    if not m:
        return None
    cross = re.search(r"^override CROSS_COMPILE\s*=\s*(\S+)$", text, re.M)
    prefix = cross.group(1) if cross and not cross.group(1).startswith("$") else ""
    return prefix + m.group(1)


def check_kernel(series: str) -> list[Check]:
    name = f"kernel {series}"
    try:
        kernel = kernels.resolve(series)
    except kernels.KernelNotFound as exc:
        return [Check(name, False, "not installed", str(exc).split("\n", 1)[1].strip(),
                      required=series == kernels.DEFAULT_SERIES)]
    checks = [Check(name, True, f"{kernel.release} ({kernel.source}: {kernel.image})",
                    required=series == kernels.DEFAULT_SERIES)]
    compiler = _kernel_compiler(kernel)
    if compiler:
        path = shutil.which(compiler)
        config = kernel.build_dir / ".config"
        wanted = ""
        if config.is_file():
            m = re.search(r'^CONFIG_CC_VERSION_TEXT="(.*)"$', config.read_text(), re.M)
            wanted = m.group(1) if m else ""
        if not path:
            package = re.sub(r"^x86_64-linux-gnu-", "", compiler)
            checks.append(Check(f"compiler for {series}", False, f"{compiler} not found (the kernel was built with {wanted})",
                                _apt_fix(package), required=series == kernels.DEFAULT_SERIES))
        else:
            have = _first_line([path, "--version"])
            same = wanted.split(") ")[-1] in have if wanted else True
            checks.append(Check(f"compiler for {series}", True,
                                f"{have}" + ("" if same else f" (kernel built with {wanted}: modules still load)")))
    return checks


def check_kvm() -> Check:
    """Whether KVM really works (a short probe boot); TCG is the slow but working fallback."""
    try:
        from uaccess_lab.vm import kvm
    except ImportError:
        return Check("KVM", False, "the VM package is not installed", "run ./setup.sh lab", required=False)
    forced = os.environ.get("UACCESS_LAB_KVM", "").strip().lower()
    if forced and forced != "auto":
        return Check("KVM", True, f"UACCESS_LAB_KVM={forced} chooses for the probe", required=False)
    if not os.path.exists("/dev/kvm"):
        why = "no /dev/kvm"
    elif not os.access("/dev/kvm", os.R_OK | os.W_OK):
        why = "/dev/kvm is not accessible to this user"
    else:
        try:
            image = kernels.resolve().image
        except kernels.KernelError:
            image = None
        if image is not None and kvm.use_kvm("auto", image):
            return Check("KVM", True, "/dev/kvm works: guests use KVM", required=False)
        why = "/dev/kvm exists but a guest did not start with it (probe timed out)"
    return Check("KVM", False, f"{why}: guests use TCG (software emulation, slower)",
                 "nothing to do; to use KVM, give this user a working /dev/kvm", required=False)


def check_memory() -> Check:
    available = 0
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                available = int(line.split()[1]) // 1024
    ok = available >= MIN_AVAILABLE_MIB
    return Check("memory", ok, f"{available} MiB available (the labs need {MIN_AVAILABLE_MIB} MiB)",
                 "close other notebooks or ask for a bigger session")


def run_checks() -> list[Check]:
    checks = [check_python_packages()]
    checks += [check_tool(tool, pkg) for tool, pkg in SYSTEM_PACKAGES.items()]
    checks.append(check_vng())
    for series in kernels.SERIES:
        checks += check_kernel(series)
    checks.append(check_kvm())
    checks.append(check_memory())
    return checks


def report(checks: list[Check], out=sys.stdout) -> int:
    """Print one line per check and a verdict; return the exit code (0 = labs can run)."""
    for c in checks:
        mark = "ok  " if c.ok else ("FAIL" if c.required else "warn")
        print(f"[{mark}] {c.name:<22} {c.found}", file=out)
        if not c.ok and c.fix:
            for line in c.fix.splitlines():
                print(f"       {'':<22} fix: {line.strip()}", file=out)
    failed = [c.name for c in checks if c.required and not c.ok]
    if failed:
        print(f"\nThe labs cannot run yet: fix {', '.join(failed)} (see 'fix:' above).", file=out)
        return 1
    print("\nThe labs can run.", file=out)
    return 0
