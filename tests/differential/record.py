"""Re-record the kernel's truth for the differential test, in a VM.

    .venv/bin/python tests/differential/record.py 6.1      # -> truth-6.1.jsonl
    .venv/bin/python tests/differential/record.py 6.12 --dry-run
    .venv/bin/python tests/differential/record.py 6.1 --la57   # -> truth-6.1-la57.jsonl

One guest boot per kernel: the script builds uaccess_demo.ko for that kernel
and the recorder (module-src/user/uaccess_record.c) in a scratch directory,
boots the kernel with virtme-ng under TCG, loads the module, feeds the
recorder every scenario of the corpus (scenarios.generate), and writes the
scenarios with the kernel's answers to truth-<series>.jsonl next to this file.

The guest boots with `no5lvl`: the course (and sim's TASK_SIZE_MAX) is about
x86_64's 4-level paging, and QEMU's TCG CPU would otherwise offer LA57. With
--la57 it boots without it, and the simulator is checked with
AddressSpace(la57=True) against truth-<series>-la57.jsonl.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
MODULE_SRC = REPO / "module-src"
sys.path.insert(0, str(HERE))

import scenarios  # noqa: E402

BOOT_TIMEOUT_S = 1800


def fail(msg: str) -> None:
    print(f"error: {msg}", file=sys.stderr)
    raise SystemExit(1)


def find_kernel(series: str) -> tuple[str, Path, Path]:
    """(release, vmlinuz, headers build dir) for a kernel series."""
    try:
        from uaccess_lab.kernels import resolve  # the lead's kernel finder

        k = resolve(series)
        return k.release, Path(k.image), Path(k.build_dir)
    except ImportError:
        pass
    for image in sorted(Path("/boot").glob("vmlinuz-*")):
        release = image.name[len("vmlinuz-") :]
        if release.startswith(series + ".") or release.startswith(series + "-"):
            return release, image, Path("/lib/modules") / release / "build"
    fail(f"no {series} kernel in /boot; install it (see README) and run again")
    raise AssertionError


def build(workdir: Path, build_dir: Path) -> None:
    """uaccess_demo.ko and uaccess_record, built in workdir."""
    for name in ("uaccess_demo.c", "uaccess_demo.h", "compat.h", "Makefile"):
        shutil.copy(MODULE_SRC / name, workdir / name)
    subprocess.run(["make", "-s", "-C", str(workdir), f"KDIR={build_dir}", "modules"], check=True, timeout=600)
    subprocess.run(
        ["gcc", "-O2", "-Wall", "-Wextra", "-Werror", f"-I{MODULE_SRC}", "-o", str(workdir / "uaccess_record"),
         str(MODULE_SRC / "user" / "uaccess_record.c")],
        check=True,
        timeout=120,
    )


def vng_argv(image: Path, workdir: Path, la57: bool = False) -> list[str]:
    script = (
        f"cd {shlex.quote(str(workdir))} && insmod ./uaccess_demo.ko && "
        "./uaccess_record < scenarios.txt > answers.jsonl 2> record.err; echo rc=$? > done"
    )
    vng = shutil.which("vng") or str(Path(sys.executable).with_name("vng"))
    paging = [] if la57 else ["--append", "no5lvl"]
    return [vng, "--disable-kvm", "-r", str(image), *paging, "--rwdir", str(workdir), "--", script]


def merge(corpus: list[scenarios.Scenario], answers_path: Path) -> tuple[dict, list[dict]]:
    info: dict = {}
    by_id: dict[int, dict] = {}
    for line in answers_path.read_text().splitlines():
        obj = json.loads(line)
        if "info" in obj:
            info = obj["info"]
        else:
            by_id[obj.pop("id")] = obj
    rows = []
    for s in corpus:
        if s.id not in by_id:
            fail(f"the recorder gave no answer for scenario {s.id}; see record.err in the work directory")
        rows.append({"scenario": s.to_json(), "truth": by_id[s.id]})
    return info, rows


def record(series: str, corpus: list[scenarios.Scenario], workdir: Path, la57: bool = False) -> tuple[dict, list[dict]]:
    """Boot `series` once, run every scenario of `corpus` in it; (guest info, rows of scenario + truth)."""
    release, image, build_dir = find_kernel(series)
    (workdir / "scenarios.txt").write_text("".join(s.line() + "\n" for s in corpus))
    build(workdir, build_dir)
    # vng runs virtme-run from PATH: make sure this Python's bin directory (the venv) is on it.
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    proc = subprocess.run(vng_argv(image, workdir, la57), capture_output=True, text=True,
                          timeout=BOOT_TIMEOUT_S, env=env)
    done = workdir / "done"
    if not done.exists() or done.read_text().strip() != "rc=0":
        print(proc.stdout[-3000:], proc.stderr[-3000:], sep="\n", file=sys.stderr)
        err = workdir / "record.err"
        if err.exists():
            print(err.read_text()[-3000:], file=sys.stderr)
        fail(f"the recorder did not finish in the guest (work directory: {workdir})")
    info, rows = merge(corpus, workdir / "answers.jsonl")
    if info.get("release") != release:
        fail(f"the guest ran {info.get('release')!r}, not {release!r}")
    want = scenarios.TASK_SIZE_MAX_LA57 if la57 else scenarios.TASK_SIZE_MAX
    if info.get("task_size_max") != want:
        fail(f"the guest's TASK_SIZE_MAX is {info.get('task_size_max'):#x}, not {want:#x}: "
             + ("its CPU has no LA57" if la57 else "no5lvl did not take effect"))
    return info, rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("series", help="kernel series: 6.1 or 6.12")
    ap.add_argument("--seed", type=int, default=1, help="generator seed (default 1: the committed corpus)")
    ap.add_argument("--out", type=Path, help="output file (default truth-<series>.jsonl here)")
    ap.add_argument("--keep", action="store_true", help="keep the scratch directory")
    ap.add_argument("--dry-run", action="store_true", help="print the vng command and stop")
    ap.add_argument("--la57", action="store_true",
                    help="boot with 5-level paging (QEMU's default CPU has LA57) -> truth-<series>-la57.jsonl")
    args = ap.parse_args(argv)

    release, image, _ = find_kernel(args.series)
    suffix = "-la57" if args.la57 else ""
    out = args.out or HERE / f"truth-{args.series}{suffix}.jsonl"
    corpus = scenarios.generate(args.seed, la57=args.la57)
    workdir = Path(tempfile.mkdtemp(prefix=f"uaccess-record-{args.series}-"))
    os.chmod(workdir, 0o755)
    if args.dry_run:
        print(shlex.join(vng_argv(image, workdir, args.la57)))
        workdir.rmdir()
        return 0
    try:
        t0 = time.monotonic()
        print(f"booting {release} under TCG for {len(corpus)} scenarios ...", flush=True)
        info, rows = record(args.series, corpus, workdir, args.la57)
        header = {"info": info, "generator_seed": args.seed, "scenarios": len(rows), "la57": args.la57,
                  "recorded": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                  "boot_append": "" if args.la57 else "no5lvl"}
        with open(out, "w") as f:
            f.write(json.dumps(header) + "\n")
            for row in rows:
                f.write(json.dumps(row, separators=(",", ":")) + "\n")
        skipped = sum(1 for r in rows if "skip" in r["truth"])
        print(f"wrote {out}: {len(rows)} scenarios ({skipped} skipped) in {time.monotonic() - t0:.0f} s")
    finally:
        if args.keep or not (workdir / "done").exists():
            print(f"work directory: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
