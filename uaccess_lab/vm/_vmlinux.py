"""Boot the uncompressed kernel: skip the decompressor that TCG runs slowly.

A Debian vmlinuz is a bzImage whose payload is the kernel ELF compressed
with xz (6.1) or zstd (6.12). Under TCG the guest spends 4-8 s of a cold
start decompressing it. Debian kernels are built with CONFIG_PVH, so QEMU
can instead load the ELF itself and jump to its PVH entry point. We unpack
the payload once per kernel into the user's cache (about 65 MB) and hand
QEMU that file; if anything is missing, the bzImage is used as before.
"""

from __future__ import annotations

import gzip
import lzma
import os
import shutil
import struct
import subprocess
import tempfile
from pathlib import Path

from uaccess_lab.kernels import Kernel, cache_dir

__all__ = ["boot_image"]


def _has_pvh(kernel: Kernel) -> bool:
    config = kernel.root / "boot" / f"config-{kernel.release}"
    try:
        return "CONFIG_PVH=y" in config.read_text().splitlines()
    except OSError:
        return False


def _payload(image: bytes) -> bytes:
    """The compressed kernel inside a bzImage (boot protocol >= 2.08)."""
    setup_sects = image[0x1F1] or 4
    offset, length = struct.unpack_from("<II", image, 0x248)
    start = (setup_sects + 1) * 512 + offset
    return image[start:start + length]


def _decompress(payload: bytes) -> bytes | None:
    if payload.startswith(b"\xfd7zXZ\x00"):
        return lzma.LZMADecompressor().decompress(payload)
    if payload.startswith(b"\x1f\x8b"):
        return gzip.decompress(payload[:-4] if len(payload) > 4 else payload)
    if payload.startswith(b"\x28\xb5\x2f\xfd") and shutil.which("zstd"):
        # The kernel appends the uncompressed size after the frame; zstd reads the frame only.
        proc = subprocess.run(["zstd", "-d", "-c", "-q"], input=payload,
                              capture_output=True, timeout=120, check=False)
        return proc.stdout if proc.stdout.startswith(b"\x7fELF") else None
    return None


def boot_image(kernel: Kernel) -> Path:
    """The ELF vmlinux to boot with PVH when possible, else the kernel's bzImage."""
    if not _has_pvh(kernel):
        return kernel.image
    stat = kernel.image.stat()
    target = cache_dir() / "vmlinux" / f"vmlinux-{kernel.release}-{stat.st_size}-{int(stat.st_mtime)}"
    if target.exists():
        return target
    try:
        elf = _decompress(_payload(kernel.image.read_bytes()))
    except (OSError, lzma.LZMAError, EOFError, struct.error, subprocess.SubprocessError):
        elf = None
    if not elf or not elf.startswith(b"\x7fELF"):
        return kernel.image
    target.parent.mkdir(parents=True, exist_ok=True)
    for old in target.parent.glob(f"vmlinux-{kernel.release}-*"):
        old.unlink(missing_ok=True)  # an older build of the same release
    with tempfile.NamedTemporaryFile(dir=target.parent, delete=False) as tmp:
        tmp.write(elf)
    os.replace(tmp.name, target)
    return target
