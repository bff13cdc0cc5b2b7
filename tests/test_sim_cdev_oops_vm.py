"""sim.drivers.cdev's oops reads like the real one: the same lines, from the real cdev.ko in a VM."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

import sim
from sim.drivers.cdev import CdevDevice

REPO = Path(__file__).resolve().parents[1]


def _real_oops(series: str) -> str:
    from uaccess_lab.kernels import resolve

    k = resolve(series)
    work = Path(tempfile.mkdtemp(prefix=f"cdev-oops-{series}-"))
    try:
        for name in ("cdev.c", "compat.h", "Makefile"):
            shutil.copy(REPO / "module-src" / name, work / name)
        subprocess.run(["make", "-s", "-C", str(work), f"KDIR={k.build_dir}", "modules"], check=True, timeout=600)
        script = (f"cd {work} && insmod ./cdev.ko && (dd if=/dev/cdev/cdev0 of=/dev/null bs=16 count=1; "
                  "echo rc=$? > rc); dmesg > dmesg.txt")
        vng = shutil.which("vng") or str(Path(sys.executable).with_name("vng"))
        subprocess.run([vng, "--disable-kvm", "-r", str(k.image), "--append", "no5lvl", "--rwdir", str(work), "--",
                        script], capture_output=True, text=True, timeout=600)
        dmesg = work / "dmesg.txt"
        if not dmesg.exists():
            pytest.fail(f"the guest did not write dmesg.txt (work directory {work})")
        return dmesg.read_text()
    finally:
        shutil.rmtree(work, ignore_errors=True)


@pytest.mark.vm
@pytest.mark.timeout(900)
@pytest.mark.parametrize("series", ["6.1", "6.12"])
def test_simulated_oops_has_the_real_oops_lines(series: str) -> None:
    """The BUG, Oops and RIP lines of sim's oops match what the kernel printed for the same read()."""
    if shutil.which("qemu-system-x86_64") is None:
        pytest.skip("qemu-system-x86 is not installed")
    real = _real_oops(series)
    mm = sim.AddressSpace()
    simulated = CdevDevice(sim.Kernel(mm, series)).open().read(mm.mmap(4096, 3), 16).text

    def key_lines(text: str) -> list[str]:
        out = []
        for line in text.splitlines():
            line = re.sub(r"^\[\s*[\d.]+\]\s*", "", line)  # dmesg timestamps
            if line.startswith(("BUG: kernel NULL pointer", "#PF:")) or re.search(r"\bOops: ", line):
                out.append(line.strip())
            m = re.match(r"RIP: 0010:(\w+)\+", line)
            if m:
                out.append(f"RIP: 0010:{m.group(1)}")
        return out

    want, got = key_lines(real), key_lines(simulated)
    assert want, f"no oops in the guest's dmesg:\n{real[-2000:]}"
    assert got == want[: len(got)], f"sim's oops:\n{got}\nthe kernel's:\n{want}"
