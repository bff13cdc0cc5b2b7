"""sim's get_user_pages / pin_user_pages: partial success, VMA checks, references and pins."""

import pytest

import sim
from sim import EFAULT, EINVAL, FOLL_LONGTERM, FOLL_WRITE, GUP_PIN_COUNTING_BIAS, PAGE_SIZE, PROT_NONE, PROT_READ, PROT_WRITE

RW = PROT_READ | PROT_WRITE


@pytest.fixture(params=sim.VERSIONS)
def version(request):
    return request.param


def layout(mm, *prots):
    """Consecutive pages with these protections (None: a hole); returns the first address."""
    a = mm.mmap(len(prots) * PAGE_SIZE, RW)
    for i, p in enumerate(prots):
        if p is None:
            mm.munmap(a + i * PAGE_SIZE, PAGE_SIZE)
        else:
            mm.poke(a + i * PAGE_SIZE, bytes([i + 1]) * 8) if p & PROT_WRITE or p == PROT_READ else None
            mm.mprotect(a + i * PAGE_SIZE, PAGE_SIZE, p)
    return a


def test_gup_partial_success_stops_at_the_first_hole(version):
    """GUP over rw, rw, hole returns 2 (not an error) and fills two pages."""
    mm = sim.AddressSpace()
    a = layout(mm, RW, RW, None, RW)
    k = sim.Kernel(mm, version)
    pages = []
    assert k.get_user_pages_unlocked(a, 4, pages, 0) == 2
    assert pages[:2] == [mm.page_at(a), mm.page_at(a + PAGE_SIZE)]
    for p in pages[:2]:
        k.put_page(p)


def test_gup_fails_with_efault_when_the_first_page_cannot_be_taken(version):
    """Nothing taken at all: the error itself comes back."""
    mm = sim.AddressSpace()
    a = layout(mm, PROT_NONE, RW)
    assert sim.Kernel(mm, version).get_user_pages_unlocked(a, 2, [], 0) == -EFAULT


def test_foll_write_on_read_only_fails_but_read_gup_works(version):
    """FOLL_WRITE needs a writable VMA; without it a read-only page is fine."""
    mm = sim.AddressSpace()
    a = layout(mm, PROT_READ)
    k = sim.Kernel(mm, version)
    assert k.get_user_pages_unlocked(a, 1, [], FOLL_WRITE) == -EFAULT
    pages = []
    assert k.get_user_pages_unlocked(a, 1, pages, 0) == 1
    k.put_page(pages[0])


def test_write_only_vma_fails_read_gup_slow_path_but_not_fast_path(version):
    """check_vma_flags() wants VM_READ; the lockless fast path only looks at the PTE."""
    mm = sim.AddressSpace()
    a = layout(mm, PROT_WRITE)
    k = sim.Kernel(mm, version)
    assert k.get_user_pages_unlocked(a, 1, [], 0) == -EFAULT
    pages = []
    assert k.pin_user_pages_fast(a, 1, 0, pages) == 1
    k.unpin_user_page(pages[0])


def test_get_adds_one_and_pin_adds_the_bias(version):
    """A GUP reference adds 1 to the refcount; a pin adds GUP_PIN_COUNTING_BIAS and sets maybe_dma_pinned."""
    mm = sim.AddressSpace()
    a = layout(mm, RW)
    k = sim.Kernel(mm, version)
    page = mm.page_at(a)
    before = page.refcount
    got, pinned = [], []
    k.get_user_pages_unlocked(a, 1, got, 0)
    assert page.refcount == before + 1 and not page.maybe_dma_pinned
    k.pin_user_pages_fast(a, 1, 0, pinned)
    assert page.refcount == before + 1 + GUP_PIN_COUNTING_BIAS and page.maybe_dma_pinned
    k.put_page(got[0])
    k.unpin_user_page(pinned[0])
    assert page.refcount == before and page.pincount == 0


def test_read_gup_of_untouched_memory_gets_the_zero_page_and_write_gup_a_new_page(version):
    """A read GUP faults in the zero page; FOLL_WRITE makes a private page of zeros."""
    mm = sim.AddressSpace()
    a = mm.mmap(2 * PAGE_SIZE, RW)
    k = sim.Kernel(mm, version)
    r, w = [], []
    k.get_user_pages_unlocked(a, 1, r, 0)
    k.get_user_pages_unlocked(a + PAGE_SIZE, 1, w, FOLL_WRITE)
    assert r[0].is_zero_page and not w[0].is_zero_page
    assert bytes(k.kmap_local_page(w[0])) == bytes(PAGE_SIZE)


def test_longterm_read_pin_of_the_zero_page_differs_between_kernels():
    """6.12 unshares the zero page for a read-only FOLL_LONGTERM pin; 6.1 pins the zero page itself."""
    for version, zero in (("6.1", True), ("6.12", False)):
        mm = sim.AddressSpace()
        a = mm.mmap(PAGE_SIZE, RW)
        pages = []
        assert sim.Kernel(mm, version).pin_user_pages_fast(a, 1, FOLL_LONGTERM, pages) == 1
        assert pages[0].is_zero_page is zero, version


def test_longterm_is_refused_by_get_user_pages_unlocked(version):
    """FOLL_LONGTERM without pinning is -EINVAL."""
    mm = sim.AddressSpace()
    a = layout(mm, RW)
    assert sim.Kernel(mm, version).get_user_pages_unlocked(a, 1, [], FOLL_LONGTERM) == -EINVAL


def test_kernel_writes_through_kmap_are_seen_by_the_process(version):
    """A page taken with FOLL_WRITE is the process's page: writes via kmap_local_page show up in user memory."""
    mm = sim.AddressSpace()
    a = layout(mm, RW)
    k = sim.Kernel(mm, version)
    pages = []
    k.pin_user_pages_fast(a + 100, 1, FOLL_WRITE, pages)
    k.kmap_local_page(pages[0])[100:105] = b"kernl"
    k.unpin_user_pages_dirty_lock(pages, 1, True)
    assert mm.peek(a + 100, 5) == b"kernl" and mm.page_at(a).dirty


def test_pinned_page_outlives_munmap(version):
    """munmap drops the mapping's reference; the pinned page stays alive for the kernel."""
    mm = sim.AddressSpace()
    a = layout(mm, RW)
    k = sim.Kernel(mm, version)
    pages = []
    k.pin_user_pages_fast(a, 1, 0, pages)
    mm.munmap(a, PAGE_SIZE)
    assert pages[0].refcount == GUP_PIN_COUNTING_BIAS
    assert bytes(k.kmap_local_page(pages[0])[:8]) == b"\x01" * 8
    k.unpin_user_page(pages[0])
    assert pages[0].refcount == 0


def test_pin_fast_range_past_the_top_is_efault_and_overflow_differs():
    """pin_user_pages_fast checks the whole range first; a wrapping range is 0 on 6.1, -EOVERFLOW on 6.12."""
    for version, wrap in (("6.1", 0), ("6.12", -sim.EOVERFLOW)):
        k = sim.Kernel(sim.AddressSpace(), version)
        assert k.pin_user_pages_fast(sim.TASK_SIZE_MAX - PAGE_SIZE, 2, 0, []) == -EFAULT
        assert k.pin_user_pages_fast(2**64 - PAGE_SIZE, 2, 0, []) == wrap


def test_gup_without_a_pages_array_only_faults_in(version):
    """get_user_pages_unlocked(..., pages=None) faults the pages in and takes no reference."""
    mm = sim.AddressSpace()
    a = mm.mmap(2 * PAGE_SIZE, RW)
    k = sim.Kernel(mm, version)
    assert k.get_user_pages_unlocked(a, 2, None, FOLL_WRITE) == 2
    assert all(p.refcount == 1 and not p.is_zero_page for p in mm.resident().values())


def test_inspection_by_address(version):
    """AddressSpace.refcount/pincount/dirty report on the page mapped at an address."""
    mm = sim.AddressSpace()
    a = mm.mmap(2 * PAGE_SIZE, RW)
    k = sim.Kernel(mm, version)
    assert (mm.refcount(a), mm.pincount(a), mm.dirty(a)) == (0, 0, False)  # nothing there yet
    pages = []
    k.pin_user_pages_fast(a, 1, FOLL_WRITE, pages)
    assert (mm.refcount(a), mm.pincount(a), mm.dirty(a)) == (1 + GUP_PIN_COUNTING_BIAS, 1, True)
    k.unpin_user_page(pages[0])
    assert (mm.refcount(a), mm.pincount(a)) == (1, 0)
