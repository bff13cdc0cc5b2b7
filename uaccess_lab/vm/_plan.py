"""Turn "boot this kernel" into a QEMU argv, with virtme-ng doing the planning.

virtme-ng knows how to boot a distribution kernel on the host's own files:
which modules the initramfs needs for a 9p root, which virtio-serial ports
carry a script's stdin and stdout, how to word the kernel command line. We
ask `virtme-run --dry-run --show-command --save-initramfs` for that plan and
then start QEMU ourselves, so that:

- the QEMU process is our direct child (it dies with us: PR_SET_PDEATHSIG),
- a reboot reuses the saved plan and initramfs (no second planning step),
- our agent replaces virtme-ng's init: virtme-ng-init starts udev and
  systemd-tmpfiles, which cost about a minute under TCG and give a lab nothing,
- our stage 1 (guest/stage1.sh, appended to virtme-ng's initramfs) mounts the
  read-only host root with a page cache, which makes each exec ~25x faster,
- QEMU boots the uncompressed kernel (see _vmlinux.py): 4-8 s less under TCG.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import json
import lzma
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from importlib import resources
from pathlib import Path

from uaccess_lab.kernels import Kernel, cache_dir

from ._vmlinux import boot_image

__all__ = ["PlanError", "qemu_command", "virtme_run", "with_root"]

# Kernel command line additions, each for a reason:
KERNEL_OPTIONS = [
    # The serial console shows warnings and worse (oops, lockups, panics) but
    # not pr_info floods, which would crawl through an emulated UART.
    "loglevel=5",
    # A task stuck in D state for 20 s is reported (e.g. a module exit that sleeps forever).
    "sysctl.kernel.hung_task_timeout_secs=20",
    # Spectre-style mitigations only slow an emulated CPU down; SMAP/SMEP stay on.
    "mitigations=off",
    # Skip the crypto self-tests at boot: they cost a second or more under TCG.
    "cryptomgr.notests",
    # 4-level paging whatever the CPU offers (KVM on a host with LA57), so the top
    # of user space is the course's TASK_SIZE_MAX, 0x7ffffffff000, everywhere.
    "no5lvl",
    # Our stage 1 (see append_stage1) instead of virtme-ng's /init.
    "rdinit=/uaccess-init",
]


class PlanError(RuntimeError):
    """virtme-ng could not plan the guest; the message says what to do."""


def virtme_run() -> list[str]:
    """argv prefix that runs virtme-ng's virtme-run with this Python, else from PATH."""
    if importlib.util.find_spec("virtme") is not None:
        return [sys.executable, "-m", "virtme.commands.run"]
    found = shutil.which("virtme-run")
    if found:
        return [found]
    raise PlanError(
        "virtme-ng is not installed for this Python: run `pip install virtme-ng` "
        "(or `pip install -e .` in the uaccess-lab checkout)"
    )


def qemu_command(kernel: Kernel, *, memory: str, cpus: int, kvm: bool, workdir: Path,
                 statedir: Path, agent: Path) -> list[str]:
    """QEMU argv that boots `kernel` with `agent` as init and `workdir` (in statedir) writable.

    Plans are saved in the user's cache, so only the first boot of a kernel
    with given settings waits for virtme-ng (about a second).
    """
    saved = cache_dir() / "plans" / _plan_key(kernel, memory, cpus, kvm, agent)
    try:
        plan = json.loads((saved / "plan.json").read_text())
        if (saved / "initramfs.cpio").is_file():
            return [_rebase(arg, plan["statedir"], str(statedir)) for arg in plan["argv"]]
    except (OSError, ValueError, KeyError):
        pass
    argv = _plan_with_virtme(kernel, memory=memory, cpus=cpus, kvm=kvm, workdir=workdir,
                             statedir=statedir, agent=agent)
    argv[argv.index("-initrd") + 1] = str(saved / "initramfs.cpio")
    try:
        saved.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=saved.parent))
        shutil.copy(statedir / "initramfs.cpio", tmp / "initramfs.cpio")
        (tmp / "plan.json").write_text(json.dumps({"statedir": str(statedir), "argv": argv}))
        for name in ("initramfs.cpio", "plan.json"):  # initramfs first: plan.json marks it done
            os.replace(tmp / name, saved / name)
        shutil.rmtree(tmp, ignore_errors=True)
    except OSError:
        argv[argv.index("-initrd") + 1] = str(statedir / "initramfs.cpio")
    return argv


def with_root(argv: list[str], root: Path, *, usr: bool = False) -> list[str]:
    """`argv` with `root` exported as the guest's root file system instead of the host's "/",
    and with `usr`, the host's /usr exported beside it (the agent mounts it on /usr)."""
    device = next((a for a in argv if a.endswith("mount_tag=/dev/root")), "")
    fsdev_id = re.search(r"fsdev=([^,]+)", device)
    out = list(argv)
    for i, arg in enumerate(out):
        if fsdev_id and arg.startswith("local,") and f",id={fsdev_id.group(1)}," in f",{arg},":
            out[i], count = re.subn(r"(^|,)path=/(?=,|$)", rf"\1path={root}", arg)
            if count == 1:
                break
    else:
        raise PlanError(f"unexpected virtme-ng QEMU command: no export of / to replace in {shlex.join(argv)}")
    if usr:
        out[out.index("-append") + 1] += " uaccess.usr=1"
        out += ["-fsdev", "local,id=uaccessusr,path=/usr,security_model=none,readonly=on,multidevs=remap",
                "-device", "virtio-9p-pci,fsdev=uaccessusr,mount_tag=uaccess.usr"]
    return out


def _plan_key(kernel: Kernel, memory: str, cpus: int, kvm: bool, agent: Path) -> str:
    """Everything a saved plan depends on, hashed."""
    try:
        virtme_version = importlib.metadata.version("virtme-ng")
    except importlib.metadata.PackageNotFoundError:
        virtme_version = "?"
    stat = kernel.image.stat()
    parts = [virtme_version, str(kernel.image), stat.st_size, stat.st_mtime_ns,
             str(kernel.modules_dir), memory, cpus, kvm, str(agent),
             hashlib.sha256(Path(__file__).read_bytes()).hexdigest(),
             hashlib.sha256(resources.files("uaccess_lab.guest").joinpath("stage1.sh")
                            .read_bytes()).hexdigest()]
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:20]


def _rebase(arg: str, old: str, new: str) -> str:
    """Move paths under the saved plan's state dir to this guest's (with and without "/")."""
    return arg.replace(old, new).replace(old.lstrip("/"), new.lstrip("/"))


def _plan_with_virtme(kernel: Kernel, *, memory: str, cpus: int, kvm: bool, workdir: Path,
                      statedir: Path, agent: Path) -> list[str]:
    """Ask virtme-run for the QEMU argv and initramfs, then adapt them (module docstring)."""
    initrd = statedir / "initramfs.cpio"
    if initrd.exists():
        initrd.unlink()
    argv = [
        *virtme_run(), "--kimg", str(kernel.image), "--mods", "auto", "--force-9p",
        "--memory", memory, "--cpus", str(cpus), "--rwdir", str(workdir),
        "--show-boot-console", "--script-sh", ":",
        "--dry-run", "--show-command", "--save-initramfs", str(initrd),
    ]
    if not kvm:
        argv.append("--disable-kvm")
    options = list(KERNEL_OPTIONS)
    if kernel.modules_dir != Path("/lib/modules") / kernel.release:
        options.append(f"uaccess.moddir={kernel.modules_dir}")
    for option in options:
        argv += ["--kopt", option]
    # virtme-run leaves a scratch file in $TMPDIR; keep it in our private dir.
    env = dict(os.environ, TMPDIR=str(statedir))
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=180,
                              env=env, check=False)
    except subprocess.TimeoutExpired as exc:
        raise PlanError("virtme-run took more than 180 s to plan the guest") from exc
    lines = [ln for ln in proc.stdout.splitlines() if "qemu-system-" in ln.split(" ", 1)[0]]
    if proc.returncode != 0 or not lines or not initrd.exists():
        raise PlanError(
            f"virtme-run could not plan a guest for {kernel.image} (exit {proc.returncode}):\n"
            f"{(proc.stderr or proc.stdout).strip()[-2000:]}\n"
            "Check that the kernel image is readable and that qemu-system-x86 is installed."
        )
    append_stage1(initrd)
    qemu = shlex.split(lines[-1])
    qemu[qemu.index("-kernel") + 1] = str(boot_image(kernel))
    i = qemu.index("-append") + 1
    qemu[i], count = re.subn(r"(^|\s)init=\S+", rf"\1init={agent}", qemu[i])
    if count != 1:
        raise PlanError(f"unexpected virtme-ng kernel command line: {qemu[i]}")
    return qemu


def _cpio_entry(name: str, data: bytes, mode: int) -> bytes:
    """One file in the "newc" cpio format that the kernel unpacks."""
    fields = [1, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(name) + 1, 0]
    header = b"070701" + b"".join(b"%08X" % f for f in fields) + name.encode() + b"\0"
    header += b"\0" * (-len(header) % 4)
    return header + data + b"\0" * (-len(data) % 4)


def _cpio_files(archive: bytes):
    """(name, data) of each regular file in an uncompressed "newc" cpio archive."""
    pos = 0
    while archive.startswith(b"070701", pos):
        fields = [int(archive[pos + 6 + 8 * i:pos + 14 + 8 * i], 16) for i in range(13)]
        mode, size, namesize = fields[1], fields[6], fields[11]
        name_end = pos + 110 + namesize
        name = archive[pos + 110:name_end - 1].decode(errors="replace")
        data_start = name_end + (-name_end % 4)
        data = archive[data_start:data_start + size]
        pos = data_start + size + (-(data_start + size) % 4)
        if name == "TRAILER!!!":
            return
        if mode & 0o170000 == 0o100000:
            yield name, data


def _uncompressed_modules(initrd: Path) -> bytes:
    """cpio entries replacing virtme-ng's .ko.xz/.ko.zst modules by plain .ko contents.

    busybox insmod first hands a compressed module to the kernel, which
    refuses it, then unpacks it itself; under TCG that costs ~0.4 s a module.
    The kernel unpacks our archive after virtme-ng's, so same-named files win.
    """
    entries = b""
    for name, data in _cpio_files(initrd.read_bytes()):
        if not name.startswith("modules/"):
            continue
        elf = None
        if name.endswith(".ko.xz"):
            elf = lzma.decompress(data)
        elif name.endswith(".ko.zst") and shutil.which("zstd"):
            elf = subprocess.run(["zstd", "-d", "-c", "-q"], input=data, capture_output=True,
                                 timeout=60, check=False).stdout
        if elf and elf.startswith(b"\x7fELF"):
            entries += _cpio_entry(name, elf, 0o100644)
    return entries


# While the initramfs is root, the kernel's module requests (a dozen crypto
# algorithms at boot) run virtme-ng's /sbin/modprobe script, which only logs
# that it has no such module; under TCG each costs 50-100 ms. A file that is
# not executable fails the same requests at once. The real root's modprobe
# takes over after switch_root.
_NO_MODPROBE = b"#!/bin/sh\n# uaccess-lab: not executable on purpose (see _plan.py)\nexit 1\n"


def append_stage1(initrd: Path) -> None:
    """Append a cpio archive holding /uaccess-init; the kernel unpacks both archives."""
    script = resources.files("uaccess_lab.guest").joinpath("stage1.sh").read_bytes()
    archive = (_cpio_entry("uaccess-init", script, 0o100755) + _uncompressed_modules(initrd)
               + _cpio_entry("bin/modprobe", _NO_MODPROBE, 0o100644)
               + _cpio_entry("TRAILER!!!", b"", 0))
    with open(initrd, "ab") as f:
        f.write(b"\0" * (-f.tell() % 4) + archive)
