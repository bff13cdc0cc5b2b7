"""sim.drivers.cdev's oops reads like the real one: the same lines, from the real cdev.ko in a VM."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

import sim
from sim.drivers.cdev import CdevDevice

REPO = Path(__file__).resolve().parents[1]


def _real_oops(series: str) -> str:
    """The kernel log of a read() before any write() on the real cdev.ko, in a fresh guest."""
    from uaccess_lab.vm import Guest, build_module

    build = build_module([REPO / "module-src/cdev.c", REPO / "module-src/compat.h"], series, name="cdev")
    assert build.ok, str(build)
    with Guest(series) as guest:
        assert guest.load(build.ko).exit_code == 0
        result = guest.run("dd if=/dev/cdev/cdev0 of=/dev/null bs=16 count=1", timeout=60)
    assert result.crash is not None and result.crash.kind == "oops", str(result)
    return result.crash.text


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
