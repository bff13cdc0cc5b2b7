"""Find and install the Debian kernels the labs run on.

Every other part of uaccess-lab asks `resolve("6.1")` for "the 6.1 kernel" and gets
one `Kernel`: its vmlinuz, its modules directory and its headers build directory.

A kernel comes by one of two routes, with the same layout under a root directory:

- system (root): Debian's packages installed with apt-get; the root is `/`.
- per-user cache (no root: Binder, JupyterHub): the same .deb files fetched with
  `apt-get download` and unpacked with `dpkg-deb -x` into
  `<cache>/kernels/<release>/`, with the headers' absolute paths repaired so that
  `make -C <root>/usr/src/linux-headers-<release> M=...` builds a module.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "DEFAULT_SERIES",
    "SERIES",
    "Kernel",
    "KernelError",
    "KernelNotFound",
    "UnknownKernel",
    "cache_dir",
    "check_series",
    "install",
    "is_root",
    "resolve",
    "system_install_command",
    "user_install_command",
]


@dataclass(frozen=True)
class KernelSeries:
    """One supported kernel line and the Debian packages that provide it."""

    name: str
    image_package: str
    headers_package: str


# The kernels the course supports. To add one, add its Debian meta packages here.
SERIES = {
    "6.1": KernelSeries("6.1", "linux-image-amd64", "linux-headers-amd64"),
    "6.12": KernelSeries("6.12", "linux-image-6.12-amd64", "linux-headers-6.12-amd64"),
}
DEFAULT_SERIES = "6.1"


class KernelError(Exception):
    """A kernel could not be found or installed; the message says what to do."""


class UnknownKernel(KernelError, ValueError):
    """The caller named a kernel series the course does not support."""


class KernelNotFound(KernelError):
    """A supported kernel is not installed where this user can use it."""


@dataclass(frozen=True)
class Kernel:
    """One installed kernel, ready to boot and to build modules for."""

    series: str
    release: str  # what `uname -r` prints in the guest, e.g. "6.1.0-56-amd64"
    root: Path  # "/" for a system install, else the unpacked cache directory
    image: Path  # the vmlinuz to boot
    modules_dir: Path  # <root>/lib/modules/<release>
    build_dir: Path  # headers: pass as `make -C <build_dir> M=...`

    @property
    def source(self) -> str:
        return "system" if self.root == Path("/") else "cache"


def is_root() -> bool:
    return os.geteuid() == 0


def check_series(name: str | None) -> KernelSeries:
    """Return the supported series called `name` (None means the default)."""
    name = name or os.environ.get("UACCESS_LAB_KERNEL") or DEFAULT_SERIES
    name = name.strip()
    if name.startswith("v"):
        name = name[1:]
    if name not in SERIES:
        supported = ", ".join(
            f"{s} (default)" if s == DEFAULT_SERIES else s for s in SERIES
        )
        raise UnknownKernel(f"unknown kernel {name!r}: the supported kernels are {supported}")
    return SERIES[name]


def cache_dir() -> Path:
    """The per-user cache: $UACCESS_LAB_CACHE, else $XDG_CACHE_HOME/uaccess-lab."""
    if os.environ.get("UACCESS_LAB_CACHE"):
        return Path(os.environ["UACCESS_LAB_CACHE"]).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(xdg) / "uaccess-lab"


def _kernel_stores() -> list[Path]:
    """Directories holding unpacked kernel roots, searched in this order.

    The user's own cache comes first, then any shared read-only stores an
    administrator lists in $UACCESS_LAB_KERNEL_DIRS (colon-separated; see the
    JupyterHub guide).
    """
    stores = [cache_dir() / "kernels"]
    for entry in os.environ.get("UACCESS_LAB_KERNEL_DIRS", "").split(":"):
        if entry:
            stores.append(Path(entry).expanduser())
    return stores


def _release_key(release: str) -> list:
    """Sort key so that 6.1.0-56 sorts after 6.1.0-9."""
    return [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", release)]


def _belongs_to(series: str, release: str) -> bool:
    return release.startswith(series + ".") and release.endswith("-amd64")


def _kernel_in(root: Path, series: str) -> Kernel | None:
    """The newest usable kernel of `series` under `root`, or None."""
    images = sorted(
        (root / "boot").glob("vmlinuz-*"),
        key=lambda p: _release_key(p.name),
        reverse=True,
    )
    for image in images:
        release = image.name.removeprefix("vmlinuz-")
        if not _belongs_to(series, release) or not os.access(image, os.R_OK):
            continue
        modules = next(
            (d for d in (root / "lib/modules" / release, root / "usr/lib/modules" / release) if d.is_dir()),
            None,
        )
        build = root / "usr/src" / f"linux-headers-{release}"
        if modules is None or not (build / "Makefile").is_file():
            continue
        return Kernel(series, release, root, image, modules, build)
    return None


def _installed(series: str) -> Kernel | None:
    for store in _kernel_stores():
        if not store.is_dir():
            continue
        for root in sorted(store.iterdir(), key=lambda p: _release_key(p.name), reverse=True):
            if root.is_dir() and not root.name.startswith("."):
                kernel = _kernel_in(root, series)
                if kernel:
                    return kernel
    return _kernel_in(Path("/"), series)


def system_install_command(series: str) -> str:
    s = check_series(series)
    return f"sudo apt-get install {s.image_package} {s.headers_package}"


def user_install_command(series: str) -> str:
    return f"uaccess-lab kernels install {check_series(series).name}"


def _why_missing(series: KernelSeries) -> str:
    """Explain what part of the system install is missing, if any part is there."""
    images = [p for p in Path("/boot").glob("vmlinuz-*") if _belongs_to(series.name, p.name[8:])]
    if not images:
        return f"no {series.name} kernel image was found in /boot or in {cache_dir() / 'kernels'}"
    release = images[0].name[8:]
    if not os.access(images[0], os.R_OK):
        return f"{images[0]} exists but this user cannot read it (Ubuntu keeps /boot images private)"
    return f"{images[0]} exists but its headers (/usr/src/linux-headers-{release}) are not installed"


def resolve(series: str | None = None) -> Kernel:
    """Return the installed kernel of `series` (default "6.1"), or raise KernelNotFound.

    The error message names what is missing and both ways to install it.
    """
    s = check_series(series)
    kernel = _installed(s.name)
    if kernel:
        return kernel
    raise KernelNotFound(
        f"the {s.name} kernel is not installed: {_why_missing(s)}.\n"
        f"Install it with one of:\n"
        f"  {user_install_command(s.name)}    (any user: unpacks Debian's packages into {cache_dir()})\n"
        f"  {system_install_command(s.name)}    (administrator: system-wide)"
    )


def installed_kernels() -> dict[str, Kernel | None]:
    """Every supported series and its installed kernel (or None)."""
    return {name: _installed(name) for name in SERIES}


# ---------------------------------------------------------------------------
# Installing


def _run(argv: list[str], what: str, cwd: Path | None = None, timeout: float = 1800) -> str:
    """Run argv, return its stdout; on failure raise KernelError saying `what` failed."""
    try:
        proc = subprocess.run(
            argv, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False
        )
    except FileNotFoundError:
        raise KernelError(f"{what}: `{argv[0]}` is not installed") from None
    except subprocess.TimeoutExpired:
        raise KernelError(f"{what}: `{' '.join(argv)}` took longer than {timeout:.0f} s") from None
    if proc.returncode != 0:
        raise KernelError(f"{what} failed (exit {proc.returncode}):\n{proc.stderr.strip() or proc.stdout.strip()}")
    return proc.stdout


# Debian's archive, for a private apt when the system's apt does not know the
# kernel packages (Ubuntu, e.g. Binder's image) or has no package lists
# (repo2docker deletes them). Needs Debian's keyring (package debian-archive-keyring).
DEBIAN_KEYRING = Path("/usr/share/keyrings/debian-archive-keyring.gpg")
DEBIAN_SOURCES = """Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: {keyring}

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: {keyring}
"""


def _system_apt_knows(package: str) -> bool:
    try:
        out = subprocess.run(["apt-cache", "policy", package], capture_output=True, text=True,
                             timeout=60, check=False).stdout
    except (OSError, subprocess.TimeoutExpired):
        return False
    return "Candidate:" in out and "Candidate: (none)" not in out


def _apt_options(series: KernelSeries, log=print) -> list[str]:
    """Options for apt-get/apt-cache: none for the system's apt, or a private apt on Debian's archive.

    UACCESS_LAB_APT=debian forces the private apt; =system forces the system's.
    """
    choice = os.environ.get("UACCESS_LAB_APT", "auto")
    if choice == "system" or (choice == "auto" and _system_apt_knows(series.image_package)):
        return []
    if not DEBIAN_KEYRING.is_file():
        raise KernelError(
            f"this system's apt does not offer {series.image_package}, and Debian's archive keyring "
            f"({DEBIAN_KEYRING}) is missing: an administrator runs `sudo apt-get install debian-archive-keyring`"
        )
    root = cache_dir() / "apt"
    for sub in ("lists/partial", "cache/archives/partial", "sources"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    (root / "sources" / "debian.sources").write_text(DEBIAN_SOURCES.format(keyring=DEBIAN_KEYRING))
    options = [
        "-o", f"Dir::State::Lists={root / 'lists'}", "-o", f"Dir::Cache={root / 'cache'}",
        "-o", "Dir::Etc::SourceList=/dev/null", "-o", f"Dir::Etc::SourceParts={root / 'sources'}",
        "-o", "Dir::State::status=/dev/null", "-o", "Debug::NoLocking=1",
        "-o", f"APT::Sandbox::User={pwd.getpwuid(os.geteuid()).pw_name}",
    ]
    log("reading Debian's package lists (private apt in the cache)")
    _run(["apt-get", *options, "update"], "reading Debian's package lists (check the network, then retry)")
    return options


def _concrete_packages(series: KernelSeries, apt_options: list[str] = ()) -> list[str]:
    """The meta packages plus the versioned packages they pull in that we need.

    Follows Depends: of linux-image-*, linux-headers-* and linux-kbuild-* only;
    the compiler and linux-base are the system's business (see `doctor`).
    """
    wanted = re.compile(r"^linux-(image|headers|kbuild)-")
    todo = [series.image_package, series.headers_package]
    seen: list[str] = []
    while todo:
        name = todo.pop(0)
        if name in seen:
            continue
        seen.append(name)
        out = _run(
            ["apt-cache", *apt_options, "depends", "--no-recommends", "--no-suggests", name],
            f"looking up the dependencies of {name}",
        )
        for line in out.splitlines():
            m = re.match(r"^\s*\|?(?:Pre)?Depends:\s*(\S+)$", line)
            if m and wanted.match(m.group(1)) and not m.group(1).endswith("-unsigned"):
                if not m.group(1).startswith("<"):
                    todo.append(m.group(1))
    return seen


def _repair_paths(root: Path, final_root: Path) -> None:
    """Make an unpacked kernel tree usable where it will finally live.

    Debian's headers point at /usr/src with absolute paths: the per-flavour
    Makefile includes the -common Makefile, and lib/modules/<rel>/build and
    source are absolute symlinks. Point them into `final_root` instead.
    """
    for makefile in (root / "usr/src").glob("linux-headers-*/Makefile"):
        text = makefile.read_text()
        fixed = re.sub(r"^include /usr/src/", f"include {final_root}/usr/src/", text, flags=re.M)
        if fixed != text:
            makefile.write_text(fixed)
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            link = Path(dirpath) / name
            if link.is_symlink():
                target = os.readlink(link)
                if target.startswith("/"):
                    inside = root / target.lstrip("/")
                    link.unlink()
                    link.symlink_to(os.path.relpath(inside, link.parent))


def _install_system(series: KernelSeries, log) -> None:
    argv = ["apt-get", "install", "-y", "--no-install-recommends", series.image_package, series.headers_package]
    log(f"$ {' '.join(argv)}")
    proc = subprocess.run(argv, env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"}, check=False)
    if proc.returncode != 0:
        raise KernelError(
            f"apt-get could not install {series.image_package} {series.headers_package} "
            f"(exit {proc.returncode}); run `apt-get update` and retry "
            f"`uaccess-lab kernels install {series.name}`"
        )


def _install_user(series: KernelSeries, log) -> Path:
    store = cache_dir() / "kernels"
    store.mkdir(parents=True, exist_ok=True)
    apt_options = _apt_options(series, log)
    packages = _concrete_packages(series, apt_options)
    # Unpack into a temporary directory in the same store and rename at the end,
    # so an interrupted install never leaves a half-unpacked kernel behind.
    with tempfile.TemporaryDirectory(prefix=".unpack-", dir=store) as tmp:
        tmp = Path(tmp)
        debs = tmp / "debs"
        debs.mkdir()
        for package in packages:
            log(f"downloading {package}")
            _run(
                ["apt-get", *apt_options, "download", package],
                f"downloading {package} (retry with `uaccess-lab kernels install {series.name}`; "
                f"if apt knows no such package, an administrator must run `apt-get update`)",
                cwd=debs,
            )
        unpacked = tmp / "root"
        for deb in sorted(debs.glob("*.deb")):
            log(f"unpacking {deb.name}")
            _run(["dpkg-deb", "-x", str(deb), str(unpacked)], f"unpacking {deb.name}")
        releases = [p.name.removeprefix("vmlinuz-") for p in (unpacked / "boot").glob("vmlinuz-*")]
        if len(releases) != 1:
            raise KernelError(f"expected one kernel image in {packages}, found {releases or 'none'}")
        release = releases[0]
        final = store / release
        _repair_paths(unpacked, final)
        if shutil.which("depmod") or Path("/sbin/depmod").exists():
            # virtme-ng finds the guest's virtio and 9p modules through modules.dep.
            depmod = shutil.which("depmod") or "/sbin/depmod"
            _run([depmod, "-b", str(unpacked), release], f"indexing the modules of {release}")
        if final.exists():
            shutil.rmtree(final)
        unpacked.rename(final)
    log(f"installed {release} into {final}")
    return final


def install(series: str | None = None, *, system: bool | None = None, log=print) -> Kernel:
    """Install a supported kernel and its headers, then return it.

    system=None installs system-wide when running as root on a system whose apt
    offers Debian's kernel packages, and into the per-user cache otherwise (any
    user; on Ubuntu through a private apt on Debian's archive); True/False force
    one route.
    """
    s = check_series(series)
    if system is None:
        system = is_root() and _system_apt_knows(s.image_package)
    if system:
        if not is_root():
            raise KernelError(
                f"a system-wide install needs root: run `{system_install_command(s.name)}`, "
                f"or `{user_install_command(s.name)}` to install into your own cache"
            )
        _install_system(s, log)
        kernel = _kernel_in(Path("/"), s.name)
    else:
        kernel = _kernel_in(_install_user(s, log), s.name)
    if kernel is None:
        raise KernelError(f"the {s.name} kernel was installed but is still not usable; run `uaccess-lab doctor`")
    return kernel
