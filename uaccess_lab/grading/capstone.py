"""Lab 06's visible driver tests: one per SEED-BUG in module-src/cdev.c, plus the article's behaviour.

Each test runs a program from module-src/user/ in the guest; the programs
exit 0 when the driver behaves and 1 when they see the defect, and say why.
The instructor's hidden tests (grader/driver_tests/) add randomised cases.
"""

from __future__ import annotations

import re

from .driver import GUEST_DEVICE, DriverUnderTest, describe
from .harness import Suite, TestFailure

capstone = Suite("06-capstone", "Fix the article's driver")


@capstone.test(2, "the driver compiles, loads, creates /dev/cdev/cdev0 (0666) and unloads")
def builds(d: DriverUnderTest):
    note = d.require_build()
    d.load()
    r = d.run(["stat", "-c", "%a %F", GUEST_DEVICE])
    if r.crash or r.timed_out:
        raise TestFailure(describe(r, f"looking at {GUEST_DEVICE} after loading the driver"))
    if r.stdout.strip() != "666 character special file":
        raise TestFailure(f"{GUEST_DEVICE} should be a character device with mode 0666; stat says: "
                          f"{(r.stdout + r.stderr).strip()}")
    d.unload()  # the other tests load it again, once
    return note


@capstone.test(2, "write, change the buffer, read: the changed bytes come back", parent="builds")
def roundtrip(d):
    d.expect_fixed("cdev_roundtrip")


@capstone.test(2, "SEED-BUG 1: read() before write() is end of file, not an oops", parent="builds")
def read_before_write(d):
    d.expect_fixed("seed_bug1_read_before_write")


@capstone.test(2, "SEED-BUG 2: read() returns no more than was written", parent="builds")
def bounded_read(d):
    d.expect_fixed("seed_bug2_unbounded_read")


@capstone.test(2, "SEED-BUG 3: a second write() releases the first one's pages", parent="builds")
def second_write_releases_pages(d):
    d.expect_fixed("seed_bug3_second_write_leak", timeout=60)


@capstone.test(2, "SEED-BUG 4: write() from a bad address fails with EFAULT", parent="builds")
def write_reports_errors(d):
    d.expect_fixed("seed_bug4_write_error")


@capstone.test(2, "SEED-BUG 5: read() and write() take a lock, and no read is torn", parent="builds")
def locking(d):
    for function in ("cdev_read", "cdev_write"):
        body = d.function_body(function)
        if not re.search(r"\b(mutex_lock\w*|spin_lock\w*|down_\w+|down)\s*\(", body):
            raise TestFailure(f"{function}() takes no lock (mutex_lock_interruptible, spin_lock, ...): "
                              f"without one, a concurrent read() and write() on the same file race")
    d.expect_fixed("seed_bug5_race", timeout=60)


@capstone.test(1, "SEED-BUG 6: read() maps the page with kmap_local_page(), not page_address()", parent="builds")
def kmap_local(d):
    body = d.function_body("cdev_read")
    if "page_address" in body or not re.search(r"\bkmap_local_page\s*\(", body):
        raise TestFailure("cdev_read() should reach the page through kmap_local_page() (and kunmap_local()), "
                          "which works for any page; page_address() fails for highmem pages on 32-bit")
    if not re.search(r"\bkunmap_local\s*\(", body):
        raise TestFailure("every kmap_local_page() needs its kunmap_local() in cdev_read()")


@capstone.test(2, "SEED-BUG 7: write() pins the pages (pin_user_pages) and close() unpins them", parent="builds")
def pins(d):
    d.expect_fixed("seed_bug7_pins")


@capstone.test(2, "SEED-BUG 8: write() works from a read-only buffer", parent="builds")
def readonly_buffer(d):
    d.expect_fixed("seed_bug8_readonly_buffer")


@capstone.test(2, "SEED-BUG 9: read() follows the file position, ends with 0, and faults with EFAULT",
               parent="builds")
def read_position(d):
    d.expect_fixed("seed_bug9_read_position")
