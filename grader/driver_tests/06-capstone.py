"""Lab 06's hidden driver tests (instructor only: not released to students).

They repeat the visible checks with sizes, offsets and chunk lengths drawn at
grading time, so a driver tuned to the visible tests' numbers does not pass.
"""

import random

from uaccess_lab.grading import Suite

hidden = Suite("06-capstone", "Fix the article's driver (hidden tests)")
draw = random.SystemRandom()
PAGE = 4096


@hidden.test(2, "hidden: multi-page roundtrip at a random offset, read in random chunks", parent="builds",
             hidden=True)
def hidden_roundtrip_multipage(d):
    length = draw.randint(PAGE + 1, 4 * PAGE)
    offset = draw.randint(1, PAGE - 1)
    chunk = draw.choice([1, 7, 512, 1000, PAGE - 3, 3 * PAGE])
    return d.expect_fixed("cdev_check", "roundtrip", length, offset, chunk)


@hidden.test(1, "hidden: a short buffer read back in one go", parent="builds", hidden=True)
def hidden_roundtrip_short(d):
    return d.expect_fixed("cdev_check", "roundtrip", draw.randint(1, 64), draw.randint(0, PAGE - 64), 4 * PAGE)


@hidden.test(1, "hidden: a second write replaces the first", parent="builds", hidden=True)
def hidden_rewrite(d):
    return d.expect_fixed("cdev_check", "rewrite", draw.randint(1, PAGE), draw.randint(1, PAGE))


@hidden.test(1, "hidden: a write larger than 5 pages fails with an error", parent="builds", hidden=True)
def hidden_too_large(d):
    return d.expect_fixed("cdev_check", "toolarge")


@hidden.test(1, "hidden: many open/write/read/close rounds leave no pins behind", parent="builds", hidden=True)
def hidden_cycles(d):
    return d.expect_fixed("cdev_check", "cycles", draw.randint(50, 150))
