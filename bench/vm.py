"""Measure the VM layer: cold start, warm round trip, builds, load/unload, reboot after a crash.

    python bench/vm.py [--kernels 6.1,6.12] [--repeat 3] [--kvm off]

Prints one markdown table per kernel (paste into bench/RESULTS-vm.md). The
numbers depend on what else runs on the machine: the load average at the
start is printed too. Nothing here is asserted; tests check behaviour only.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

from uaccess_lab.vm import Guest, build_module

HERE = Path(__file__).resolve().parent
NULLREAD = HERE.parent / "tests" / "vm_modules" / "nullread.c"
SMALL_MODULE = """\
#include <linux/module.h>
static int __init bench_init(void) { pr_info("bench %s\\n", "{tag}"); return 0; }
static void __exit bench_exit(void) { }
module_init(bench_init);
module_exit(bench_exit);
MODULE_LICENSE("GPL");
"""


def _timed(fn):
    started = time.monotonic()
    value = fn()
    return time.monotonic() - started, value


def _qemu_rss_mib(guest: Guest) -> float:
    status = Path(f"/proc/{guest.status().pid}/status").read_text()
    line = next(ln for ln in status.splitlines() if ln.startswith("VmRSS:"))
    return int(line.split()[1]) / 1024


def bench_kernel(series: str, repeat: int, kvm: str | None) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []

    colds = []
    for _ in range(repeat):
        def cold():
            guest = Guest(series, kvm=kvm)
            try:
                result = guest.run("true")
                assert result.exit_code == 0, result
                return guest.last_boot_seconds
            finally:
                guest.close()
        seconds, boot = _timed(cold)
        colds.append((seconds, boot))
    rows.append(("cold start to first `run(\"true\")` result, median of "
                 f"{repeat}", f"{statistics.median(c[0] for c in colds):.1f} s "
                 f"(runs: {', '.join(f'{c[0]:.1f}' for c in colds)})"))

    with Guest(series, kvm=kvm) as guest:
        guest.start()
        rows.append(("emulation", "KVM" if guest.kvm else "TCG"))
        for _ in range(3):
            guest.run("true")  # warm the guest's page cache
        for label, command in (("warm `run(\"true\")` (via /bin/sh -c)", "true"),
                               ("warm `run([\"true\"])` (argv, no shell)", ["true"])):
            times = [_timed(lambda c=command: guest.run(c))[0] for _ in range(30)]
            rows.append((f"{label}, median of 30",
                         f"{statistics.median(times) * 1000:.0f} ms "
                         f"(p90 {sorted(times)[26] * 1000:.0f} ms)"))

        tag = f"{os.getpid()}-{time.time_ns()}"  # new source: no build cache hit
        seconds, build = _timed(lambda: build_module(SMALL_MODULE.replace("{tag}", tag),
                                                     kernel=series, name="bench_small"))
        assert build.ok, build
        rows.append(("build one small module (uncached)", f"{seconds:.1f} s"))
        seconds, again = _timed(lambda: build_module(SMALL_MODULE.replace("{tag}", tag),
                                                     kernel=series, name="bench_small"))
        rows.append(("same build again (cached)", f"{seconds * 1000:.0f} ms"))

        loads = []
        for _ in range(5):
            load_s, loaded = _timed(lambda: guest.load(build.ko))
            unload_s, unloaded = _timed(lambda: guest.unload("bench_small"))
            assert loaded.exit_code == 0 and unloaded.exit_code == 0
            loads.append((load_s, unload_s))
        rows.append(("load (copy in + insmod), median of 5",
                     f"{statistics.median(x[0] for x in loads) * 1000:.0f} ms"))
        rows.append(("unload (rmmod), median of 5",
                     f"{statistics.median(x[1] for x in loads) * 1000:.0f} ms"))

        meminfo = guest.run("grep -E 'MemTotal|MemAvailable' /proc/meminfo").stdout.split()
        rows.append(("guest memory (-m)", f"{guest.memory}; in the guest MemTotal "
                     f"{int(meminfo[1]) // 1024} MiB, MemAvailable {int(meminfo[4]) // 1024} MiB"))
        rows.append(("QEMU resident memory on the host", f"{_qemu_rss_mib(guest):.0f} MiB"))

        nullread = build_module(NULLREAD, kernel=series)
        guest.load(nullread.ko)
        seconds, oops = _timed(lambda: guest.run("cat /proc/nullread", timeout=30))
        assert oops.crash and oops.crash.kind == "oops", oops
        rows.append(("oops reported (command that oopses)", f"{seconds:.1f} s"))
        seconds, after = _timed(lambda: guest.run("true"))
        assert after.rebooted
        rows.append(("next `run()` after the oops (transparent reboot)", f"{seconds:.1f} s"))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kernels", default="6.1,6.12", help="comma-separated series")
    parser.add_argument("--repeat", type=int, default=3, help="cold starts per kernel")
    parser.add_argument("--kvm", default=None, help="on, off or auto (default: probe)")
    args = parser.parse_args()
    load1, load5, _ = os.getloadavg()
    print(f"machine: {os.cpu_count()} CPUs, load average {load1:.1f} (1 min) {load5:.1f} (5 min) "
          "at the start\n")
    for series in args.kernels.split(","):
        rows = bench_kernel(series, args.repeat, args.kvm)
        print(f"### kernel {series}\n\n| measure | result |\n|---|---|")
        for name, value in rows:
            print(f"| {name} | {value} |")
        print()


if __name__ == "__main__":
    main()
