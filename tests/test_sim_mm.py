"""sim.AddressSpace: mappings, what the process may touch, and what touching costs."""

import pytest

import sim
from sim import PAGE_SIZE, PROT_NONE, PROT_READ, PROT_WRITE

RW = PROT_READ | PROT_WRITE


def test_mmap_returns_distinct_page_aligned_ranges():
    """Two mmaps without an address get disjoint page-aligned ranges."""
    mm = sim.AddressSpace()
    a = mm.mmap(100, RW)
    b = mm.mmap(3 * PAGE_SIZE, PROT_READ)
    assert a % PAGE_SIZE == 0 and b % PAGE_SIZE == 0
    assert b + 3 * PAGE_SIZE <= a or a + PAGE_SIZE <= b
    assert {(v.start, v.length) for v in mm.vmas()} == {(a, PAGE_SIZE), (b, 3 * PAGE_SIZE)}


def test_fresh_memory_reads_zero_and_poke_peek_round_trip():
    """A new mapping reads as zeros; what the process writes it reads back."""
    mm = sim.AddressSpace()
    a = mm.mmap(2 * PAGE_SIZE, RW)
    assert mm.peek(a, 16) == bytes(16)
    mm.poke(a + PAGE_SIZE - 3, b"across")
    assert mm.peek(a + PAGE_SIZE - 3, 6) == b"across"


def test_protections_are_enforced_for_the_process():
    """Writing read-only memory, or touching PROT_NONE or a hole, is a SIGSEGV at the first bad byte."""
    mm = sim.AddressSpace()
    a = mm.mmap(3 * PAGE_SIZE, RW)
    mm.mprotect(a + PAGE_SIZE, PAGE_SIZE, PROT_READ)
    mm.mprotect(a + 2 * PAGE_SIZE, PAGE_SIZE, PROT_NONE)
    with pytest.raises(sim.SegmentationFault) as e:
        mm.poke(a + PAGE_SIZE - 2, b"abcd")
    assert e.value.addr == a + PAGE_SIZE and e.value.access == "write"
    assert mm.peek(a + PAGE_SIZE - 2, 4) == bytes(4)  # nothing was written
    with pytest.raises(sim.SegmentationFault) as e:
        mm.peek(a + 2 * PAGE_SIZE - 1, 2)
    assert e.value.addr == a + 2 * PAGE_SIZE
    mm.munmap(a, PAGE_SIZE)
    with pytest.raises(sim.SegmentationFault, match="nothing is mapped"):
        mm.peek(a, 1)


def test_write_only_mapping_is_readable_on_x86():
    """x86 page tables cannot express write-only: PROT_WRITE memory can be read."""
    mm = sim.AddressSpace()
    a = mm.mmap(PAGE_SIZE, PROT_WRITE)
    mm.poke(a, b"w")
    assert mm.peek(a, 1) == b"w"


def test_mprotect_splits_and_merges_vmas():
    """mprotect of a middle page splits a VMA in three; restoring it merges them back."""
    mm = sim.AddressSpace()
    a = mm.mmap(3 * PAGE_SIZE, RW)
    mm.mprotect(a + PAGE_SIZE, PAGE_SIZE, PROT_READ)
    assert [(v.start - a, v.prot) for v in mm.vmas()] == [(0, RW), (PAGE_SIZE, PROT_READ), (2 * PAGE_SIZE, RW)]
    mm.mprotect(a + PAGE_SIZE, PAGE_SIZE, RW)
    assert len(mm.vmas()) == 1


def test_untouched_terabyte_costs_nothing():
    """A 1 TiB mapping holds no page until touched; touching one byte costs one page."""
    mm = sim.AddressSpace()
    a = mm.mmap(1 << 40, RW)
    assert mm.memory_usage() == 0 and mm.resident() == {}
    mm.poke(a + (1 << 39), b"x")
    assert mm.memory_usage() == PAGE_SIZE
    assert list(mm.resident()) == [a + (1 << 39)]


def test_read_fault_maps_the_zero_page_then_write_copies():
    """Reading untouched memory maps the shared zero page; the first write gives a private page."""
    mm = sim.AddressSpace()
    a = mm.mmap(PAGE_SIZE, RW)
    mm.peek(a, 1)
    assert mm.page_at(a).is_zero_page and mm.memory_usage() == 0
    mm.poke(a, b"!")
    assert not mm.page_at(a).is_zero_page and mm.page_at(a).dirty
    assert mm.zero_page.data == bytes(PAGE_SIZE)


def test_munmap_drops_pages():
    """Unmapping releases the mapping's reference on its pages."""
    mm = sim.AddressSpace()
    a = mm.mmap(PAGE_SIZE, RW)
    mm.poke(a, b"x")
    page = mm.page_at(a)
    assert page.refcount == 1
    mm.munmap(a, PAGE_SIZE)
    assert page.refcount == 0 and mm.page_at(a) is None
