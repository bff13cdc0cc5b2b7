"""A guest root that holds only what a grading guest needs, instead of the whole host.

By default the guest sees the host's files read-only over 9p, which is what
a lab wants (`%%guest` cells use the host's tools). A guest that runs
student kernel code for grading must not: a module can read any file the
guest sees and print it into its own feedback (other students' work, the
hidden tests, the gradebook). A sealed root is a small directory exported
instead of "/":

    bin -> usr/bin, lib -> usr/lib, ...    as on the host (merged /usr), with the
    usr/                                   host's /usr mounted there (programs, libraries,
                                           kernel modules; no one's data)
    <agent path>                           the guest's init, at its host path
    <each shared path>                     e.g. the test programs, at their host paths
    proc/ sys/ dev/ run/ tmp/ root/        empty mount points

So /home, /root, /etc, /srv, /opt, /var and the host's /tmp stay out of sight.
On a host without a merged /usr, busybox's tools stand in for /usr.
Files are hard-linked from the host where possible (copied otherwise) into
the user's cache, one directory per content, built once.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

from uaccess_lab.kernels import cache_dir

__all__ = ["SealedRootError", "sealed_root"]

MOUNT_POINTS = ("proc", "sys", "dev", "run", "tmp", "root")
# On a merged-/usr host these top-level names are symlinks into /usr.
MERGED = ("bin", "sbin", "lib", "lib32", "lib64", "libx32")
# Without a merged /usr: what the grading runs (the agent's "/bin/sh -c", insmod, rmmod, stat ...).
APPLETS = ("sh", "insmod", "rmmod", "lsmod", "stat", "cat", "echo", "ls", "dmesg", "true", "false",
           "sleep", "grep", "head", "tail", "wc", "test", "[", "mkdir", "rm", "dd")


class SealedRootError(RuntimeError):
    """The sealed root could not be made; the message says what to install."""


def merged_usr() -> bool:
    return Path("/bin").is_symlink() and os.readlink("/bin").lstrip("/") == "usr/bin"


def sealed_root(agent: Path, shared: Sequence[Path]) -> tuple[Path, bool]:
    """(the directory to export as the guest's root, whether the host's /usr goes beside it)."""
    usr = merged_usr()
    busybox = None if usr else Path(shutil.which("busybox") or "/bin/busybox")
    if busybox is not None and not busybox.is_file():
        raise SealedRootError("this host has no merged /usr, so a sealed guest needs busybox: "
                              "sudo apt-get install busybox-static")
    files = [agent.resolve()]  # each placed at its own host path in the root
    for path in shared:
        path = Path(path).resolve()
        files += sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    content = files + ([busybox.resolve()] if busybox else [])
    digest = hashlib.sha256(repr([usr] + [(str(f), f.stat().st_size, f.stat().st_mtime_ns) for f in content])
                            .encode()).hexdigest()[:16]
    final = cache_dir() / "sealed-roots" / digest
    if final.is_dir():
        return final, usr
    final.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".build-", dir=final.parent))
    try:
        for point in MOUNT_POINTS:
            (work / point).mkdir()
        if usr:
            (work / "usr").mkdir()
            for name in MERGED:
                if Path("/", name).is_symlink():
                    (work / name).symlink_to(os.readlink(Path("/", name)))
        else:
            (work / "lib/modules").mkdir(parents=True)
            _place(busybox.resolve(), work / "bin/busybox")
            for applet in APPLETS:
                (work / "bin" / applet).symlink_to("busybox")
        for path in files:
            _place(path, work / path.relative_to("/"))
        work.chmod(0o755)
        try:
            work.rename(final)
        except OSError:  # another process built the same root first
            shutil.rmtree(work, ignore_errors=True)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return final, usr


def _place(src: Path, dest: Path) -> None:
    """Hard-link `src` to `dest` (same file system, same owner), else copy it."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(src, dest)
    except OSError:
        shutil.copy2(src, dest)
