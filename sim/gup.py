"""get_user_pages and pin_user_pages: taking user pages into the kernel (mm/gup.c).

The slow path (get_user_pages_unlocked, and what pin_user_pages_fast falls
back to) walks the range page by page under the mmap lock: it finds the VMA,
checks its flags (check_vma_flags: FOLL_WRITE needs a writable VMA, a read
needs PROT_READ - a PROT_WRITE-only VMA fails a read GUP even though the CPU
could read it), faults the page in (a read maps the zero page, a write makes
a private page), and takes a reference. It stops at the first page it cannot
take and returns how many it took, or the error if it took none.

The fast path (pin_user_pages_fast) first walks the page tables without
locks: it takes only pages already present with a PTE that allows the
access, and never the zero page (its PTE is "special"); it does not look at
the VMA at all. The rest of the range goes to the slow path.

References: FOLL_GET adds 1 to the page's refcount; FOLL_PIN adds
GUP_PIN_COUNTING_BIAS (1024) to a small page's refcount, which is what
folio_maybe_dma_pinned() tests. Since 6.5 pinning the zero page leaves its
refcount alone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .constants import (
    EFAULT,
    EINVAL,
    FOLL_LONGTERM,
    FOLL_WRITE,
    GUP_PIN_COUNTING_BIAS,
    PAGE_MASK,
    PAGE_SHIFT,
    PAGE_SIZE,
    PROT_READ,
    PROT_WRITE,
    U64_MASK,
)
from .errors import SimUsageError
from .mm import Page

if TYPE_CHECKING:
    from .uaccess import Kernel

_KNOWN_FLAGS = FOLL_WRITE | FOLL_LONGTERM


def _check_args(api: str, start: object, nr_pages: object, pages: object, gup_flags: object) -> None:
    if not isinstance(start, int) or not 0 <= start <= U64_MASK:
        raise SimUsageError(f"{api}: start must be an address 0 <= start < 2**64, got {start!r}")
    if not isinstance(nr_pages, int) or nr_pages < 0:
        raise SimUsageError(f"{api}: nr_pages must be a non-negative int, got {nr_pages!r}")
    if not isinstance(gup_flags, int) or gup_flags & ~_KNOWN_FLAGS:
        raise SimUsageError(
            f"{api}: gup_flags={gup_flags!r}; the simulator models FOLL_WRITE and FOLL_LONGTERM "
            "(sim.FOLL_WRITE | sim.FOLL_LONGTERM) only"
        )
    if pages is None:
        return  # C's pages == NULL: fault the pages in, take no references
    if not isinstance(pages, list):
        raise SimUsageError(
            f"{api}: pages must be a list for the kernel to fill (C: struct page *pages[]) or None, "
            f"got {type(pages).__name__}"
        )
    if nr_pages > 1 << 20:
        raise SimUsageError(f"{api}: nr_pages={nr_pages} is unreasonably large for a simulation; ask for fewer pages")
    if len(pages) < nr_pages:
        pages.extend([None] * (nr_pages - len(pages)))


def _grab(k: "Kernel", page: Page, pin: bool, pages: list | None = ()) -> None:
    if pages is None:
        return  # no array: nothing is referenced (get_user_pages(..., NULL) just faults in)
    if pin:
        page.pincount += 1
        if not (page.is_zero_page and k.profile.pin_skips_zero_page):
            page.refcount += GUP_PIN_COUNTING_BIAS
    else:
        page.gup_refs += 1
        page.refcount += 1


def _slow_page(k: "Kernel", addr: int, write: bool, unshare_zero: bool = False) -> Page | None:
    """One iteration of __get_user_pages(): the page at addr, faulted in, or None (-EFAULT).

    unshare_zero: a read-only long-term pin (6.12) that finds the zero page
    takes an unshare fault, which gives the process a zeroed page of its own.
    """
    mm = k.mm
    if addr >= k.task_size_max:
        return None  # no VMA; the vsyscall gate page is execute-only and not GUP-able
    vma = mm.find_vma(addr)
    if vma is None:
        return None
    if write and not vma.prot & PROT_WRITE:
        return None  # check_vma_flags: FOLL_WRITE on a read-only VMA (no FOLL_FORCE)
    if not write and not vma.prot & PROT_READ:
        return None  # check_vma_flags: a read on a VMA without VM_READ
    page = mm._fault_page(addr >> PAGE_SHIFT, write)
    if unshare_zero and page.is_zero_page:
        page = mm._unshare_zero(addr >> PAGE_SHIFT)
    return page


def _slow(k: "Kernel", start: int, nr_pages: int, pages: list, offset: int, write: bool, pin: bool,
          longterm: bool = False) -> int:
    unshare = pin and longterm and not write and k.profile.longterm_unshares_zero_page
    for i in range(nr_pages):
        if pages is not None and offset + i >= len(pages):
            pages.append(None)
        page = _slow_page(k, (start + i * PAGE_SIZE) & U64_MASK, write, unshare)
        if page is None:
            return i if i else -EFAULT
        _grab(k, page, pin, pages)
        if pages is not None:
            pages[offset + i] = page
    return nr_pages


def _finish(k: "Kernel", api: str, start: int, nr_pages: int, pages: list, ret: int, write: bool) -> int:
    from .uaccess import Access

    taken = [((start & PAGE_MASK) + i * PAGE_SIZE) & U64_MASK for i in range(max(ret, 0))]
    k._record(Access(api, start & PAGE_MASK, nr_pages * PAGE_SIZE, max(ret, 0) * PAGE_SIZE, ret, write, taken))
    return ret


def get_user_pages_unlocked(k: "Kernel", start: int, nr_pages: int, pages: list, gup_flags: int) -> int:
    api = "get_user_pages_unlocked"
    _check_args(api, start, nr_pages, pages, gup_flags)
    write = bool(gup_flags & FOLL_WRITE)
    if gup_flags & FOLL_LONGTERM:
        # 6.1: WARN_ON_ONCE(gup_flags & FOLL_LONGTERM); 6.12: is_valid_gup_args()
        return _finish(k, api, start, nr_pages, pages, -EINVAL, write)
    if nr_pages == 0:
        return _finish(k, api, start, 0, pages, 0, write)
    ret = _slow(k, start, nr_pages, pages, 0, write, pin=False)
    return _finish(k, api, start, nr_pages, pages, ret, write)


def pin_user_pages_fast(k: "Kernel", start: int, nr_pages: int, gup_flags: int, pages: list) -> int:
    api = "pin_user_pages_fast"
    if pages is None:
        raise SimUsageError(f"{api}: pinning needs a pages list to return the pinned pages in (the kernel WARNs on NULL)")
    _check_args(api, start, nr_pages, pages, gup_flags)
    write = bool(gup_flags & FOLL_WRITE)
    start &= PAGE_MASK & U64_MASK
    length = nr_pages << PAGE_SHIFT
    end = start + length
    if end > U64_MASK:
        return _finish(k, api, start, nr_pages, pages, k.profile.fast_gup_overflow, write)
    if k.profile.version != "6.1" and end > k.task_size_max:
        return _finish(k, api, start, nr_pages, pages, -EFAULT, write)
    if not k._access_ok(start, length):
        return _finish(k, api, start, nr_pages, pages, -EFAULT, write)
    # lockless_pages_from_mm(): present, non-special, access-permitting PTEs only
    nr_pinned = 0
    mm = k.mm
    runaway = nr_pages == 0 and k.profile.fast_gup_zero_runs_on
    # 6.1, nr_pages == 0: the page-table walk is a do-while that only stops at a
    # page it cannot take (or the end of the PTE table), and the slow path then
    # gets nr_pages - nr_pinned == -1, i.e. "no limit".
    fast_limit = ((start | 0x1FFFFF) + 1 - start) >> PAGE_SHIFT if runaway else nr_pages
    while nr_pinned < fast_limit:
        addr = start + nr_pinned * PAGE_SIZE
        vma = mm.find_vma(addr)
        page, writable = mm.pte_state(addr >> PAGE_SHIFT)
        if page is None or page.is_zero_page or vma is None or vma.prot == 0 or (write and not writable):
            break
        _grab(k, page, pin=True)
        if nr_pinned >= len(pages):
            pages.append(None)
        pages[nr_pinned] = page
        nr_pinned += 1
    if nr_pinned == nr_pages:
        return _finish(k, api, start, nr_pages, pages, nr_pinned, write)
    rest = (k.task_size_max >> PAGE_SHIFT) if runaway else nr_pages - nr_pinned
    ret = _slow(k, start + nr_pinned * PAGE_SIZE, rest, pages, nr_pinned, write, pin=True,
                longterm=bool(gup_flags & FOLL_LONGTERM))
    if ret < 0:
        ret = nr_pinned if nr_pinned else ret
    else:
        ret += nr_pinned
    return _finish(k, api, start, nr_pages, pages, ret, write)


def _check_page(api: str, page: object) -> Page:
    if not isinstance(page, Page):
        raise SimUsageError(f"{api}: expected a page from get_user_pages/pin_user_pages, got {page!r}")
    return page


def put_page(k: "Kernel", page: Page) -> None:
    _check_page("put_page", page)
    if page.gup_refs <= 0:
        raise SimUsageError(
            f"put_page({page!r}): this kernel holds no get_user_pages reference on it; in the real "
            "kernel this would drop someone else's reference (a use-after-free). Release each page "
            "exactly once, and release pinned pages with unpin_user_page()"
        )
    page.gup_refs -= 1
    page.refcount -= 1


def unpin_user_page(k: "Kernel", page: Page) -> None:
    _check_page("unpin_user_page", page)
    if page.pincount <= 0:
        raise SimUsageError(
            f"unpin_user_page({page!r}): the page is not pinned. Unpin only pages that "
            "pin_user_pages*() returned, once each; pages from get_user_pages*() go back with put_page()"
        )
    page.pincount -= 1
    if not (page.is_zero_page and k.profile.pin_skips_zero_page):
        page.refcount -= GUP_PIN_COUNTING_BIAS


def unpin_user_pages_dirty_lock(k: "Kernel", pages: list, npages: int, make_dirty: bool) -> None:
    if not isinstance(npages, int) or npages < 0 or npages > len(pages):
        raise SimUsageError(f"unpin_user_pages_dirty_lock: npages={npages!r} but pages has {len(pages)} entries")
    for page in pages[:npages]:
        _check_page("unpin_user_pages_dirty_lock", page)
        if make_dirty and not page.is_zero_page:
            page.dirty = True
        unpin_user_page(k, page)


def set_page_dirty(k: "Kernel", page: Page) -> None:
    _check_page("set_page_dirty", page)
    if not page.is_zero_page:
        page.dirty = True


def kmap_local_page(k: "Kernel", page: Page) -> memoryview:
    _check_page("kmap_local_page", page)
    if page.pincount <= 0 and page.gup_refs <= 0 and not page.mapped:
        raise SimUsageError(
            f"kmap_local_page({page!r}): the kernel holds no reference to this page any more; "
            "map pages only between get/pin and put/unpin"
        )
    if page.is_zero_page:
        return memoryview(bytes(page.data))  # read-only: writing the shared zero page is a bug
    return memoryview(page.data)
