"""Misusing the simulator raises SimUsageError with a message that says what to fix."""

import pytest

import sim
from sim import PAGE_SIZE, PROT_READ, PROT_WRITE

RW = PROT_READ | PROT_WRITE


@pytest.fixture
def k():
    mm = sim.AddressSpace()
    mm.mmap(PAGE_SIZE, RW, addr=0x10000)
    return sim.Kernel(mm)


@pytest.mark.parametrize(
    "call, fix",
    [
        (lambda k: k.get_user(0x10000, 3), "1, 2, 4 or 8"),
        (lambda k: k.put_user(1, 0x10000, 16), "1, 2, 4 or 8"),
        (lambda k: k.copy_from_user(bytearray(4), 0x10000, -1), "negative"),
        (lambda k: k.copy_from_user(bytearray(4), 0x10000, 8), "at least 8 bytes"),
        (lambda k: k.copy_from_user(b"immutable", 0x10000, 4), "bytearray"),
        (lambda k: k.copy_to_user(0x10000, bytearray(2), 5), "at least 5 bytes"),
        (lambda k: k.strncpy_from_user(bytearray(2), 0x10000, 5), "at least 5 bytes"),
        (lambda k: k.access_ok(-1, 1), r"2\*\*64"),
        (lambda k: k.access_ok(0x10000, "8"), "must be an int"),
        (lambda k: k.get_user_pages_unlocked(0x10000, 1, (), 0), "must be a list"),
        (lambda k: k.pin_user_pages_fast(0x10000, 1, 0x4, []), "FOLL_WRITE and FOLL_LONGTERM"),
        (lambda k: k.pin_user_pages_fast(0x10000, 1, 0, None), "pages list"),
        (lambda k: k.get_user_pages_unlocked(0x10000, -1, [], 0), "non-negative"),
    ],
)
def test_misuse_raises_with_the_fix(k, call, fix):
    """Each misuse raises SimUsageError naming what to change."""
    with pytest.raises(sim.SimUsageError, match=fix):
        call(k)


def test_unpinning_a_page_that_is_not_pinned(k):
    """unpin_user_page on a page taken with get_user_pages says to use put_page."""
    pages = []
    k.get_user_pages_unlocked(0x10000, 1, pages, 0)
    with pytest.raises(sim.SimUsageError, match="put_page"):
        k.unpin_user_page(pages[0])


def test_double_put_page(k):
    """Releasing a GUP reference twice is caught (it would be a use-after-free)."""
    pages = []
    k.get_user_pages_unlocked(0x10000, 1, pages, sim.FOLL_WRITE)
    k.put_page(pages[0])
    with pytest.raises(sim.SimUsageError, match="use-after-free"):
        k.put_page(pages[0])


def test_kmap_after_release(k):
    """Mapping a page after its last reference went is refused."""
    pages = []
    k.pin_user_pages_fast(0x10000, 1, sim.FOLL_WRITE, pages)
    k.mm.munmap(0x10000, PAGE_SIZE)
    k.unpin_user_page(pages[0])
    with pytest.raises(sim.SimUsageError, match="no reference"):
        k.kmap_local_page(pages[0])


@pytest.mark.parametrize(
    "call, fix",
    [
        (lambda mm: mm.mmap(0, RW), "positive"),
        (lambda mm: mm.mmap(PAGE_SIZE, 4), "PROT_EXEC"),
        (lambda mm: mm.mmap(PAGE_SIZE, RW, addr=0x10001), "page aligned"),
        (lambda mm: mm.mmap(PAGE_SIZE, RW, addr=sim.TASK_SIZE_MAX), "outside user space"),
        (lambda mm: mm.mprotect(0x50000, PAGE_SIZE, PROT_READ), "not all mapped"),
        (lambda mm: mm.peek(0x10000, -1), "non-negative"),
        (lambda mm: mm.mmap(PAGE_SIZE, RW, addr=0), "mmap_min_addr"),
    ],
)
def test_address_space_misuse(call, fix):
    """AddressSpace rejects impossible requests with the reason."""
    mm = sim.AddressSpace()
    mm.mmap(PAGE_SIZE, RW, addr=0x10000)
    with pytest.raises(sim.SimUsageError, match=fix):
        call(mm)


def test_unknown_kernel_version():
    """Only the modelled kernels can be asked for."""
    with pytest.raises(sim.SimUsageError, match="6.1, 6.12"):
        sim.Kernel(sim.AddressSpace(), version="5.10")


def test_kernel_failures_are_not_exceptions(k):
    """-EFAULT is a return value: a bad user pointer never raises."""
    assert k.get_user(0xDEAD0000, 8) == (-sim.EFAULT, 0)
    assert k.copy_to_user(0, b"x", 1) == 1
    assert k.strncpy_from_user(bytearray(4), 2**64 - 1, 4) == -sim.EFAULT
