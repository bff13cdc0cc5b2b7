"""sim.drivers.cdev behaves like module-src/cdev.c, SEED-BUGs included."""

import pytest

import sim
from sim import PAGE_SIZE, PROT_READ, PROT_WRITE
from sim.drivers.cdev import CDEV_MAX_PAGES, LEAK_PATTERN, CdevDevice, Oops

RW = PROT_READ | PROT_WRITE


@pytest.fixture
def world():
    mm = sim.AddressSpace()
    k = sim.Kernel(mm)
    return mm, k, CdevDevice(k)


def test_write_then_read_returns_the_buffer_as_it_is_now(world):
    """write() keeps the caller's page, so read() returns what the buffer holds at read time."""
    mm, k, dev = world
    buf = mm.mmap(PAGE_SIZE, RW)
    out = mm.mmap(PAGE_SIZE, RW)
    mm.poke(buf + 10, b"first")
    f = dev.open()
    assert f.write(buf + 10, 5) == 5
    mm.poke(buf + 10, b"later")
    assert f.read(out, 5) == 5
    assert mm.peek(out, 5) == b"later"


def test_seed_bug_1_read_before_write_oopses(world):
    """SEED-BUG 1: read() before write() is a NULL dereference: an oops record, the reader killed."""
    mm, k, dev = world
    out = mm.mmap(PAGE_SIZE, RW)
    f = dev.open(comm="cdev_test", pid=4242)
    oops = f.read(out, 10)
    assert isinstance(oops, Oops) and oops.bug == 1 and oops.exit_status == 137
    assert "BUG: kernel NULL pointer dereference, address: 0000000000000000" in oops.text
    assert "Oops: 0000 [#1] PREEMPT SMP NOPTI" in oops.text
    assert "RIP: 0010:cdev_read+" in oops.text and "PID: 4242 Comm: cdev_test" in oops.text
    assert dev.tainted and dev.oopses == [oops]
    with pytest.raises(sim.SimUsageError, match="killed by the oops"):
        f.read(out, 10)
    assert dev.open().read(out, 1).text.count("[#2]") == 1  # a second oops is numbered #2


def test_seed_bug_2_read_past_the_page_leaks_kernel_memory(world):
    """SEED-BUG 2: count is not bounded by what was mapped: bytes after the page are kernel memory."""
    mm, k, dev = world
    buf = mm.mmap(PAGE_SIZE, RW)
    out = mm.mmap(2 * PAGE_SIZE, RW)
    mm.poke(buf + PAGE_SIZE - 4, b"mine")
    f = dev.open()
    f.write(buf + PAGE_SIZE - 4, 4)
    assert f.read(out, 40) == 40
    got = mm.peek(out, 40)
    assert got[:4] == b"mine" and got[4:] == (LEAK_PATTERN * 2)[:36]


def test_seed_bug_3_second_write_leaks_the_first_pages(world):
    """SEED-BUG 3: the pages of the first write() are never released."""
    mm, k, dev = world
    a = mm.mmap(PAGE_SIZE, RW)
    b = mm.mmap(PAGE_SIZE, RW)
    f = dev.open()
    f.write(a, 8)
    first = mm.page_at(a)
    f.write(b, 8)
    f.close()
    assert dev.leaked_pages == [first]
    assert first.refcount == 2  # the mapping's reference and the lost GUP reference
    assert mm.page_at(b).refcount == 1  # the second write's page was released by close()


def test_seed_bugs_4_and_8_write_from_read_only_buffer_returns_zero(world):
    """SEED-BUG 8 asks for FOLL_WRITE on a read-only buffer, which fails; SEED-BUG 4 reports it as 0 bytes."""
    mm, k, dev = world
    ro = mm.mmap(PAGE_SIZE, PROT_READ)
    f = dev.open()
    assert f.write(ro, 16) == 0
    assert "map user pages failed (-14)" in dev.log[-1]


def test_write_too_many_pages_returns_zero(world):
    """More than CDEV_MAX_PAGES pages is -ENOMEM inside, 0 to the caller (SEED-BUG 4)."""
    mm, k, dev = world
    big = mm.mmap((CDEV_MAX_PAGES + 1) * PAGE_SIZE, RW)
    assert dev.open().write(big, (CDEV_MAX_PAGES + 1) * PAGE_SIZE) == 0
    assert dev.log[-1].endswith(f"({-sim.ENOMEM})")


def test_seed_bug_7_pages_are_referenced_not_pinned(world):
    """SEED-BUG 7: the driver keeps pages with a plain reference: maybe_dma_pinned stays False."""
    mm, k, dev = world
    buf = mm.mmap(PAGE_SIZE, RW)
    f = dev.open()
    f.write(buf, 1)
    page = mm.page_at(buf)
    assert page.gup_refs == 1 and page.pincount == 0 and not page.maybe_dma_pinned


def test_seed_bug_9_failed_copy_is_a_short_read(world):
    """SEED-BUG 9: a read() into a buffer that ends at a hole returns a short count, not -EFAULT."""
    mm, k, dev = world
    buf = mm.mmap(PAGE_SIZE, RW)
    out = mm.mmap(2 * PAGE_SIZE, RW)
    mm.munmap(out + PAGE_SIZE, PAGE_SIZE)
    f = dev.open()
    f.write(buf, 100)
    assert f.read(out + PAGE_SIZE - 30, 100) == 30
