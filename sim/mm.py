"""One process's user address space: VMAs, page tables and pages.

The model is the one the kernel keeps for a private anonymous mapping:

- a VMA (virtual memory area) is a range of pages with one protection;
- a page table entry (PTE) exists only for a page that has been touched:
  a read fault maps the shared *zero page*, a write fault (or the first
  write after reading) gives the process a private page of its own;
- a page has a reference count (1 while mapped, +1 per get_user_pages
  reference, +GUP_PIN_COUNTING_BIAS per pin) and a dirty bit.

Memory use is proportional to the pages touched, never to the size of a
mapping: a 1 TiB mmap() that nothing touches is one VMA and no pages.

`poke`/`peek` are what the *process* does (a C program's loads and stores):
they obey the protections and raise `SegmentationFault`. The kernel's own
accesses (`sim.Kernel`) use the fault-in primitives below and return error
codes instead.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import Iterator

from .constants import (
    GUP_PIN_COUNTING_BIAS,
    PAGE_SHIFT,
    PAGE_SIZE,
    PROT_NONE,
    PROT_READ,
    PROT_WRITE,
    TASK_SIZE_MAX,
    TASK_SIZE_MAX_LA57,
)
from .errors import SegmentationFault, SimUsageError

__all__ = ["AddressSpace", "Page", "VMA", "prot_str"]

#: /proc/sys/vm/mmap_min_addr on Debian: nothing may be mapped below it
MMAP_MIN_ADDR = 0x10000
#: where mmap(addr=None) starts looking, top-down, as Linux's mmap_base does
MMAP_BASE = 0x7F0000000000
_ZEROS = bytes(PAGE_SIZE)


def prot_str(prot: int) -> str:
    """'rw', 'r-', '-w' or '--' for a PROT_* combination."""
    return ("r" if prot & PROT_READ else "-") + ("w" if prot & PROT_WRITE else "-")


def _check_prot(prot: int) -> None:
    if not isinstance(prot, int) or prot & ~(PROT_READ | PROT_WRITE):
        raise SimUsageError(
            f"prot={prot!r}: use PROT_NONE or a combination of PROT_READ | PROT_WRITE "
            "(the simulator has no PROT_EXEC)"
        )


def _check_range(addr: int, length: int, what: str, top: int = TASK_SIZE_MAX) -> None:
    if not isinstance(addr, int) or not isinstance(length, int):
        raise SimUsageError(f"{what}: addr and length must be ints, got {addr!r}, {length!r}")
    if addr % PAGE_SIZE:
        raise SimUsageError(f"{what}: addr {addr:#x} is not page aligned; round it down to a multiple of PAGE_SIZE")
    if length <= 0:
        raise SimUsageError(f"{what}: length must be positive, got {length}")
    if 0 <= addr < MMAP_MIN_ADDR:
        raise SimUsageError(
            f"{what}: {addr:#x} is below mmap_min_addr ({MMAP_MIN_ADDR:#x}): Linux keeps the lowest 64 KiB "
            "unmapped so that NULL pointer bugs fault; map at or above it"
        )
    if addr < 0 or addr + length > top:
        raise SimUsageError(
            f"{what}: [{addr:#x}, {addr + length:#x}) is outside user space [0, TASK_SIZE_MAX={top:#x})"
        )


class Page:
    """One physical page.

    :ivar refcount: the kernel's page_count(): 1 for the mapping, +1 per
        get_user_pages reference, +GUP_PIN_COUNTING_BIAS per pin
    :ivar pincount: pins taken by pin_user_pages and not yet unpinned
    :ivar dirty: written since it was created (by the process or the kernel)
    """

    __slots__ = ("pfn", "data", "refcount", "pincount", "gup_refs", "dirty", "is_zero_page", "mapped")

    _next_pfn = 0x1000

    def __init__(self, zero: bool = False):
        Page._next_pfn += 1
        self.pfn = Page._next_pfn
        self.is_zero_page = zero
        self.data = bytearray(PAGE_SIZE)
        self.refcount = 1
        self.pincount = 0
        self.gup_refs = 0
        self.dirty = False
        self.mapped = not zero

    @property
    def maybe_dma_pinned(self) -> bool:
        """folio_maybe_dma_pinned() for a small page: refcount >= GUP_PIN_COUNTING_BIAS."""
        return self.refcount >= GUP_PIN_COUNTING_BIAS

    def __repr__(self) -> str:
        kind = "zero page" if self.is_zero_page else f"pfn {self.pfn:#x}"
        pin = f", {self.pincount} pin(s)" if self.pincount else ""
        return f"<Page {kind} refcount={self.refcount}{pin}{' dirty' if self.dirty else ''}>"


@dataclass(frozen=True)
class VMA:
    """One virtual memory area: [start, end) with one protection."""

    start: int
    end: int
    prot: int

    @property
    def length(self) -> int:
        return self.end - self.start

    def __repr__(self) -> str:
        return f"VMA({self.start:#x}-{self.end:#x} {prot_str(self.prot)})"


class AddressSpace:
    """One process's user memory (the kernel's mm_struct), empty at first.

    :param la57: 5-level paging (user space up to 2**56 - PAGE_SIZE instead of
        2**47 - PAGE_SIZE); mmap() without an address still stays below 2**47.
    """

    def __init__(self, la57: bool = False) -> None:
        self.la57 = bool(la57)
        #: the top of user space for this process: TASK_SIZE_MAX or TASK_SIZE_MAX_LA57
        self.task_size_max = TASK_SIZE_MAX_LA57 if la57 else TASK_SIZE_MAX
        self._starts: list[int] = []
        self._vmas: list[VMA] = []
        self._ptes: dict[int, Page] = {}  # virtual page number -> page
        self.zero_page = Page(zero=True)
        self.zero_page.data = bytearray(_ZEROS)

    # -- mappings ------------------------------------------------------------
    def mmap(self, length: int, prot: int, addr: int | None = None) -> int:
        """Map `length` bytes (rounded up to pages) of zeroed anonymous memory.

        :param addr: where (page aligned); an existing mapping there is
            replaced, like MAP_FIXED. None picks a free range top-down.
        :returns: the address of the mapping
        :raises SimUsageError: bad length, prot or addr, or no room
        """
        _check_prot(prot)
        if not isinstance(length, int) or length <= 0:
            raise SimUsageError(f"mmap: length must be a positive int, got {length!r}")
        length = (length + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1)
        if addr is None:
            addr = self._find_free(length)
        _check_range(addr, length, "mmap", self.task_size_max)
        self._remove(addr, addr + length)
        self._insert(VMA(addr, addr + length, prot))
        return addr

    def mprotect(self, addr: int, length: int, prot: int) -> None:
        """Change the protection of every page of [addr, addr+length); all must be mapped."""
        _check_prot(prot)
        length = (length + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1) if isinstance(length, int) else length
        _check_range(addr, length, "mprotect", self.task_size_max)
        end = addr + length
        covered = sum(min(v.end, end) - max(v.start, addr) for v in self._overlapping(addr, end))
        if covered != length:
            raise SimUsageError(f"mprotect: [{addr:#x}, {end:#x}) is not all mapped (mprotect would fail with ENOMEM)")
        self._remove(addr, end, keep_pages=True)
        self._insert(VMA(addr, end, prot))

    def munmap(self, addr: int, length: int) -> None:
        """Unmap [addr, addr+length). Pages the kernel still holds (GUP) outlive the mapping."""
        length = (length + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1) if isinstance(length, int) else length
        _check_range(addr, length, "munmap", self.task_size_max)
        self._remove(addr, addr + length)

    def _find_free(self, length: int) -> int:
        top = MMAP_BASE
        for v in reversed(self._vmas):
            if v.start >= top:
                continue
            if v.end <= top - length:
                break
            top = v.start
        if top - length < 0x10000:
            raise SimUsageError(f"mmap: no free range of {length:#x} bytes below {MMAP_BASE:#x}; pass addr=")
        return top - length

    def _overlapping(self, start: int, end: int) -> list[VMA]:
        i = max(0, bisect.bisect_right(self._starts, start) - 1)
        out = []
        while i < len(self._vmas) and self._vmas[i].start < end:
            if self._vmas[i].end > start:
                out.append(self._vmas[i])
            i += 1
        return out

    def _remove(self, start: int, end: int, keep_pages: bool = False) -> None:
        for v in self._overlapping(start, end):
            i = self._vmas.index(v)
            del self._vmas[i]
            del self._starts[i]
            if v.start < start:
                self._insert(VMA(v.start, start, v.prot), merge=False)
            if v.end > end:
                self._insert(VMA(end, v.end, v.prot), merge=False)
        if not keep_pages:
            lo, hi = start >> PAGE_SHIFT, end >> PAGE_SHIFT
            if hi - lo < len(self._ptes):
                vpns = [vpn for vpn in range(lo, hi) if vpn in self._ptes]
            else:
                vpns = [vpn for vpn in self._ptes if lo <= vpn < hi]
            for vpn in vpns:
                self._unmap_page(self._ptes.pop(vpn))

    def _unmap_page(self, page: Page) -> None:
        if not page.is_zero_page:
            page.mapped = False
            page.refcount -= 1

    def _insert(self, vma: VMA, merge: bool = True) -> None:
        i = bisect.bisect_left(self._starts, vma.start)
        if merge:  # adjacent anonymous VMAs with one protection merge, as in the kernel
            if i > 0 and self._vmas[i - 1].end == vma.start and self._vmas[i - 1].prot == vma.prot:
                vma = VMA(self._vmas[i - 1].start, vma.end, vma.prot)
                i -= 1
                del self._vmas[i]
                del self._starts[i]
            if i < len(self._vmas) and self._vmas[i].start == vma.end and self._vmas[i].prot == vma.prot:
                vma = VMA(vma.start, self._vmas[i].end, vma.prot)
                del self._vmas[i]
                del self._starts[i]
        self._vmas.insert(i, vma)
        self._starts.insert(i, vma.start)

    # -- inspection ----------------------------------------------------------
    def vmas(self) -> list[VMA]:
        """The VMAs, lowest first (what /proc/self/maps lists)."""
        return list(self._vmas)

    def find_vma(self, addr: int) -> VMA | None:
        """The VMA containing addr, or None (a hole)."""
        i = bisect.bisect_right(self._starts, addr) - 1
        if i >= 0 and addr < self._vmas[i].end:
            return self._vmas[i]
        return None

    def page_at(self, addr: int) -> Page | None:
        """The page mapped at addr (maybe the zero page), or None if never touched."""
        return self._ptes.get(addr >> PAGE_SHIFT)

    def resident(self) -> dict[int, Page]:
        """{page address: page} for every page with a page table entry."""
        return {vpn << PAGE_SHIFT: p for vpn, p in sorted(self._ptes.items())}

    def refcount(self, addr: int) -> int:
        """page_count() of the page mapped at addr (0 if none is mapped there yet)."""
        page = self.page_at(addr)
        return page.refcount if page is not None else 0

    def pincount(self, addr: int) -> int:
        """How many pins are held on the page mapped at addr (0 if none)."""
        page = self.page_at(addr)
        return page.pincount if page is not None else 0

    def dirty(self, addr: int) -> bool:
        """Has the page mapped at addr been written since it was created?"""
        page = self.page_at(addr)
        return bool(page is not None and page.dirty)

    def memory_usage(self) -> int:
        """Bytes of page data the simulation holds for this process (touched pages only)."""
        return sum(PAGE_SIZE for p in self._ptes.values() if not p.is_zero_page)

    # -- what the process does -----------------------------------------------
    def peek(self, addr: int, n: int) -> bytes:
        """Read n bytes as the process would; raises SegmentationFault on a bad address."""
        if not isinstance(n, int) or n < 0:
            raise SimUsageError(f"peek: n must be a non-negative int, got {n!r}")
        ok = self.accessible(addr, n, write=False)
        if ok < n:
            raise SegmentationFault(addr + ok, "read", self._why(addr + ok, write=False))
        out = bytearray(n)
        self.user_read(addr, n, memoryview(out))
        return bytes(out)

    def poke(self, addr: int, data: bytes) -> None:
        """Write data as the process would; raises SegmentationFault (writing nothing) on a bad address."""
        data = memoryview(bytes(data) if not isinstance(data, (bytes, bytearray, memoryview)) else data)
        ok = self.accessible(addr, len(data), write=True)
        if ok < len(data):
            raise SegmentationFault(addr + ok, "write", self._why(addr + ok, write=True))
        self.user_write(addr, data)

    def _why(self, addr: int, write: bool) -> str:
        vma = self.find_vma(addr)
        if vma is None:
            return "nothing is mapped there"
        return f"the mapping {vma} does not allow {'writing' if write else 'reading'}"

    # -- the kernel's view: permission, fault-in, transfer ---------------------
    @staticmethod
    def _allowed(vma: VMA, write: bool) -> bool:
        # x86: PROT_WRITE implies readable; a read fails only on PROT_NONE
        return bool(vma.prot & PROT_WRITE) if write else vma.prot != PROT_NONE

    def accessible(self, addr: int, n: int, write: bool) -> int:
        """How many bytes from addr (up to n) the hardware lets the kernel access, without side effects."""
        done = 0
        while done < n:
            a = addr + done
            if a >= self.task_size_max or a < 0:
                break
            vma = self.find_vma(a)
            if vma is None or not self._allowed(vma, write):
                break
            done = min(n, vma.end - addr)
        return done

    def fault_in(self, addr: int, n: int, write: bool) -> None:
        """Make the PTEs of every page overlapping [addr, addr+n) as the faults would; all must be allowed."""
        if n <= 0:
            return
        for vpn in range(addr >> PAGE_SHIFT, ((addr + n - 1) >> PAGE_SHIFT) + 1):
            self._fault_page(vpn, write)

    def _fault_page(self, vpn: int, write: bool) -> Page:
        page = self._ptes.get(vpn)
        if write:
            if page is None or page.is_zero_page:
                page = Page()  # do_anonymous_page / wp_page_copy from the zero page: zeroed
                self._ptes[vpn] = page
            page.dirty = True
        elif page is None:
            page = self._ptes[vpn] = self.zero_page  # read fault on anonymous memory
        return page

    def _unshare_zero(self, vpn: int) -> Page:
        """Replace the zero page at vpn with a zeroed page of the process's own (an unshare fault)."""
        page = Page()
        self._ptes[vpn] = page
        return page

    def user_read(self, addr: int, n: int, out: memoryview) -> int:
        """Copy the accessible prefix of [addr, addr+n) into out, faulting pages in; returns bytes copied."""
        ok = self.accessible(addr, n, write=False)
        done = 0
        ptes = self._ptes
        while done < ok:
            a = addr + done
            vpn = a >> PAGE_SHIFT
            off = a & (PAGE_SIZE - 1)
            chunk = min(PAGE_SIZE - off, ok - done)
            page = ptes.get(vpn)
            if page is None:
                page = self._fault_page(vpn, write=False)
            out[done : done + chunk] = page.data[off : off + chunk]
            done += chunk
        return ok

    def user_write(self, addr: int, data: memoryview) -> int:
        """Store the writable prefix of data at addr, faulting pages in; returns bytes stored."""
        n = len(data)
        ok = self.accessible(addr, n, write=True)
        done = 0
        ptes = self._ptes
        while done < ok:
            a = addr + done
            vpn = a >> PAGE_SHIFT
            off = a & (PAGE_SIZE - 1)
            chunk = min(PAGE_SIZE - off, ok - done)
            page = ptes.get(vpn)
            if page is None or page.is_zero_page:
                page = self._fault_page(vpn, write=True)
            page.dirty = True
            page.data[off : off + chunk] = data[done : done + chunk]
            done += chunk
        return ok

    def user_fill(self, addr: int, n: int, byte: int = 0) -> None:
        """Store n copies of byte at addr; the range must be writable (see accessible)."""
        done = 0
        while done < n:
            a = addr + done
            off = a & (PAGE_SIZE - 1)
            chunk = min(PAGE_SIZE - off, n - done)
            page = self._fault_page(a >> PAGE_SHIFT, write=True)
            page.data[off : off + chunk] = bytes([byte]) * chunk if byte else _ZEROS[:chunk]
            done += chunk

    def pte_state(self, vpn: int) -> tuple[Page | None, bool]:
        """(page, writable) of a PTE: what fast GUP sees without taking locks."""
        page = self._ptes.get(vpn)
        if page is None:
            return None, False
        vma = self.find_vma(vpn << PAGE_SHIFT)
        writable = bool(vma and vma.prot & PROT_WRITE) and not page.is_zero_page
        return page, writable

    def __iter__(self) -> Iterator[VMA]:
        return iter(self._vmas)

    def __repr__(self) -> str:
        return f"<AddressSpace {len(self._vmas)} VMAs, {len(self._ptes)} pages touched>"
