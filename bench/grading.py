"""Grade the sample class of lab 06 with the real nbgrader workflow; report seconds per submission.

    .venv/bin/python bench/grading.py [--jobs N]

Uses a scratch copy of the course (grader/) with tests/submissions/06-capstone/
submitted, runs `uaccess-lab course autograde` logic on it, and prints each
submission's time and the median. Every submission boots its own guest (one
notebook kernel per submission), so the boot under TCG bounds the time.
"""

import argparse
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

from uaccess_lab.course import workflow

REPO = Path(__file__).resolve().parents[1]
LAB = "06-capstone"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        course = workflow.scratch_course(Path(tmp) / "grader", REPO / "tests/submissions" / LAB, LAB)
        os.environ["UACCESS_LAB_GRADER"] = str(course)
        workflow.run_step(["generate_assignment", LAB, "--force"], course)
        started = time.monotonic()
        results = workflow.autograde(LAB, course, jobs=args.jobs)
        wall = time.monotonic() - started
    times = sorted(r.seconds for r in results)
    print(f"\nmachine: {platform.node()}, {os.cpu_count()} CPUs, {platform.platform()}")
    print(f"{len(results)} submissions, --jobs {args.jobs}: wall {wall:.0f} s")
    print(f"seconds per submission: median {statistics.median(times):.1f}, min {times[0]:.1f}, max {times[-1]:.1f}")


if __name__ == "__main__":
    main()
