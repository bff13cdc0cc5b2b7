"""Decide between KVM and TCG (software emulation) for the guest.

/dev/kvm can exist and still hang QEMU at boot (nested virtualisation in some
clouds does this). So "KVM works" means: a QEMU started with KVM prints the
kernel's first console line within a few seconds. The probe runs once; its
answer is cached for this process and, per host boot, in the user's cache.

Force a choice with the argument `kvm=` ("on"/"off"/"auto", or True/False) or
the environment variable UACCESS_LAB_KVM (same values).
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import time
from pathlib import Path

from uaccess_lab.kernels import cache_dir

from ._proc import kill_on_parent_death, stop

__all__ = ["use_kvm", "probe_kvm"]

_ON = {"1", "on", "yes", "true", "kvm"}
_OFF = {"0", "off", "no", "false", "tcg"}
_process_answer: bool | None = None


def _parse(value: object) -> bool | None:
    """True/False for a forced choice, None for "auto"."""
    if value is None or isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _ON:
        return True
    if text in _OFF:
        return False
    if text in ("", "auto"):
        return None
    raise ValueError(f"kvm={value!r}: use 'on', 'off' or 'auto' (or UACCESS_LAB_KVM=on|off|auto)")


def use_kvm(kvm: object = None, image: Path | None = None) -> bool:
    """Whether to boot with KVM: the forced choice, else the (cached) probe."""
    forced = _parse(kvm)
    if forced is None:
        forced = _parse(os.environ.get("UACCESS_LAB_KVM"))
    if forced is not None:
        return forced
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        return False
    global _process_answer
    if _process_answer is None:
        _process_answer = _cached_probe(image)
    return _process_answer


def _boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return "unknown"


def _cached_probe(image: Path | None) -> bool:
    cache = cache_dir() / "kvm-probe.json"
    try:
        saved = json.loads(cache.read_text())
        if saved.get("boot_id") == _boot_id():
            return bool(saved["works"])
    except (OSError, ValueError, KeyError):
        pass
    works = probe_kvm(image) if image is not None else False
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_text(json.dumps({"boot_id": _boot_id(), "works": works}))
    except OSError:
        pass
    return works


def probe_kvm(image: Path, timeout: float = 4.0) -> bool:
    """Boot `image` under KVM for at most `timeout` s; True if its console speaks."""
    argv = [
        "qemu-system-x86_64", "-accel", "kvm", "-machine", "q35", "-cpu", "host",
        "-m", "128M", "-nodefaults", "-display", "none", "-no-reboot",
        "-serial", "stdio", "-kernel", str(image),
        "-append", "console=ttyS0 earlyprintk=serial,ttyS0 panic=-1 init=/nonexistent",
    ]
    try:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, preexec_fn=kill_on_parent_death)
    except OSError:
        return False
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ready, _, _ = select.select([proc.stdout], [], [], 0.2)
            if ready:
                return bool(os.read(proc.stdout.fileno(), 4096))
            if proc.poll() is not None:
                return False
        return False
    finally:
        stop(proc)
