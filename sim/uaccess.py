"""The kernel's user-memory access functions, simulated mechanism by mechanism.

`Kernel(mm)` is one kernel looking at one process's memory (`AddressSpace`).
Its methods have the kernel's names, argument order and return conventions:
failures are return values (-EFAULT, bytes not copied), never exceptions.

Where the answer depends on *how* the kernel does the work, the simulator
does it the same way (the kernel source named in each docstring is 6.1's;
`KernelProfile` says where 6.12 differs):

- access_ok() is a pure range check against the top of user space;
- get_user()/put_user() are single loads/stores: all or nothing;
- copy_{from,to}_user() stop at the exact first byte that faults (every x86
  copy routine finishes a faulting copy byte by byte), and copy_from_user()
  zeroes the part of the kernel buffer it could not fill;
- clear_user() on 6.1 with a CPU without FSRM clears short ranges 8 bytes at
  a time, so it stops at the start of the 8-byte store that faults;
- strnlen_user() reads aligned 8-byte words (it finds a NUL past `count` if
  the NUL shares a word with the string); strncpy_from_user() reads
  unaligned words, falls back to bytes after a fault, and zeroes the rest of
  the word after a NUL it found in a word.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from . import gup as _gup
from .constants import EFAULT, PAGE_SIZE, PROT_WRITE, U64_MASK
from .errors import SimUsageError
from .mm import AddressSpace, Page
from .profiles import CPU, KernelProfile, profile

__all__ = ["Access", "Kernel"]

INT_MAX = (1 << 31) - 1
_SIZES = frozenset((1, 2, 4, 8))
_MASKS = {n: (1 << (8 * n)) - 1 for n in (1, 2, 4, 8)}
_ZEROS = bytes(PAGE_SIZE)


@dataclass(slots=True)
class Access:
    """What one call did, for pictures: the range it was asked for and how far it got."""

    api: str
    start: int
    length: int
    done: int  # bytes from start the call actually read/wrote (or pages, for GUP)
    result: object
    write: bool = False
    pages: list[int] = field(default_factory=list)  # GUP: addresses of the pages taken


def _u64(name: str, v: object) -> int:
    if not isinstance(v, int) or isinstance(v, bool):
        raise SimUsageError(f"{name} must be an int, got {type(v).__name__} {v!r}")
    if v < 0 or v > U64_MASK:
        raise SimUsageError(
            f"{name}={v} does not fit an unsigned long; pass 0 <= {name} < 2**64 "
            f"(for a 'negative' C value use {name} & (2**64 - 1))"
        )
    return v


def _length(name: str, v: object) -> int:
    if not isinstance(v, int) or isinstance(v, bool):
        raise SimUsageError(f"{name} must be an int, got {type(v).__name__} {v!r}")
    if v < 0:
        raise SimUsageError(f"{name}={v} is negative; a length is an unsigned size_t in the kernel")
    return _u64(name, v)


def _c_long(name: str, v: object) -> int:
    """A count the kernel takes as a C long: 2**63..2**64-1 wrap to negative, as in C."""
    if not isinstance(v, int) or isinstance(v, bool):
        raise SimUsageError(f"{name} must be an int (a C long), got {type(v).__name__} {v!r}")
    if not -(1 << 63) <= v <= U64_MASK:
        raise SimUsageError(f"{name}={v} does not fit a C long; pass -2**63 <= {name} < 2**63")
    return v - (1 << 64) if v >= 1 << 63 else v


def _kbuf(name: str, kbuf: object, n: int, writable: bool) -> memoryview:
    try:
        mv = memoryview(kbuf).cast("B")
    except TypeError:
        raise SimUsageError(
            f"{name} must be a bytearray (or a memoryview of one), got {type(kbuf).__name__}"
        ) from None
    if writable and mv.readonly:
        raise SimUsageError(f"{name} is read-only ({type(kbuf).__name__}); pass a bytearray the kernel can fill")
    if len(mv) < n:
        raise SimUsageError(
            f"{name} holds {len(mv)} bytes but n={n}: the kernel would run past the end of the "
            f"buffer (hardened usercopy turns that into a BUG); make it at least {n} bytes"
        )
    return mv


class Kernel:
    """One kernel (version, CPU) acting on one process's memory.

    :param mm: the process's AddressSpace
    :param version: "6.1" (Debian bookworm's default kernel) or "6.12"
    :param cpu: CPU features that pick the copy routines (default: the course VM's)
    """

    def __init__(self, mm: AddressSpace, version: str = "6.1", cpu: CPU | None = None):
        if not isinstance(mm, AddressSpace):
            raise SimUsageError(f"Kernel(mm): mm must be a sim.AddressSpace, got {type(mm).__name__}")
        self.mm = mm
        #: the top of user space: TASK_SIZE_MAX, or TASK_SIZE_MAX_LA57 for an AddressSpace(la57=True)
        self.task_size_max = mm.task_size_max
        self.profile: KernelProfile = profile(version, cpu, mm.task_size_max)
        self.version = self.profile.version
        self.history: list[Access] = []

    @property
    def last(self) -> Access | None:
        """The most recent call's Access record (None before any call)."""
        return self.history[-1] if self.history else None

    def _record(self, acc: Access) -> None:
        history = self.history
        history.append(acc)
        if len(history) > 1000:
            del history[:500]

    # -- access_ok -------------------------------------------------------------
    def access_ok(self, uaddr: int, size: int, *, constant_size: bool = False) -> bool:
        """Is [uaddr, uaddr+size) inside user space? A range check only: it never looks at mappings.

        6.1 (include/asm-generic/access_ok.h): size <= TASK_SIZE_MAX and
        uaddr <= TASK_SIZE_MAX - size. 6.12 (arch/x86/include/asm/uaccess_64.h):
        the end uaddr+size, wrapping, must be <= USER_PTR_MAX and not below
        uaddr - except when the compiler knows size is a constant <= PAGE_SIZE
        (constant_size=True, e.g. access_ok(p, sizeof(u64))): then only uaddr
        is checked, since the guard page above the top catches the rest.
        """
        uaddr, size = _u64("uaddr", uaddr), _u64("size", size)
        upm = self.profile.user_ptr_max
        if constant_size and upm is not None and size <= PAGE_SIZE:
            ok = uaddr <= upm
        else:
            ok = self._access_ok(uaddr, size)
        self._record(Access("access_ok", uaddr, size, size if ok else 0, ok))
        return ok

    def _access_ok(self, uaddr: int, size: int) -> bool:
        upm = self.profile.user_ptr_max
        if upm is None:
            top = self.task_size_max
            return size <= top and uaddr <= top - size
        end = (uaddr + size) & U64_MASK
        return end <= upm and end >= uaddr

    # -- get_user / put_user ---------------------------------------------------
    def _single_access(self, uaddr: int, size: int, write: bool) -> bool:
        """One load/store instruction of size bytes: faults in what it can, all or nothing."""
        if self.profile.user_ptr_max is None:
            # 6.1 getuser.S/putuser.S: cmp against TASK_SIZE_MAX-(size-1) before touching memory
            if uaddr + size > self.task_size_max:
                return False
        elif uaddr > self.profile.user_ptr_max:
            return False  # 6.12: the address is masked to all-ones, which faults
        mm = self.mm
        ok = mm.accessible(uaddr, size, write)
        # The CPU faults the pages in, lowest first, until one cannot be.
        mm.fault_in(uaddr, ok, write)
        return ok == size

    def get_user(self, uaddr: int, size: int) -> tuple[int, int]:
        """Read a size-byte (1, 2, 4 or 8) little-endian value: (0, value) or (-EFAULT, 0)."""
        # Fast path: inside one page that is already mapped and readable - no
        # fault, no side effect, the same answer as the general path below.
        if type(uaddr) is int and size in _SIZES and 0 <= uaddr and (uaddr & 4095) + size <= PAGE_SIZE:
            mm = self.mm
            page = mm._ptes.get(uaddr >> 12)
            if page is not None:
                vma = mm.find_vma(uaddr)
                if vma is not None and vma.prot:
                    off = uaddr & 4095
                    value = int.from_bytes(page.data[off : off + size], "little")
                    self._record(Access("get_user", uaddr, size, size, 0))
                    return 0, value
        uaddr = _u64("uaddr", uaddr)
        if size not in (1, 2, 4, 8):
            raise SimUsageError(f"get_user size={size!r}: the kernel's get_user() reads 1, 2, 4 or 8 bytes (u8..u64)")
        if not self._single_access(uaddr, size, write=False):
            self._record(Access("get_user", uaddr, size, 0, -EFAULT))
            return -EFAULT, 0
        buf = bytearray(size)
        self.mm.user_read(uaddr, size, memoryview(buf))
        value = int.from_bytes(buf, "little")
        self._record(Access("get_user", uaddr, size, size, 0))
        return 0, value

    def put_user(self, value: int, uaddr: int, size: int) -> int:
        """Store value as size (1, 2, 4 or 8) little-endian bytes: 0 or -EFAULT (nothing stored)."""
        uaddr = _u64("uaddr", uaddr)
        if size not in (1, 2, 4, 8):
            raise SimUsageError(f"put_user size={size!r}: the kernel's put_user() writes 1, 2, 4 or 8 bytes (u8..u64)")
        if not isinstance(value, int):
            raise SimUsageError(f"put_user value must be an int, got {type(value).__name__}")
        off = uaddr & 4095
        if off + size <= PAGE_SIZE:  # fast path: a private page already mapped writable
            mm = self.mm
            page = mm._ptes.get(uaddr >> 12)
            if page is not None and not page.is_zero_page:
                vma = mm.find_vma(uaddr)
                if vma is not None and vma.prot & PROT_WRITE:
                    page.data[off : off + size] = (value & _MASKS[size]).to_bytes(size, "little")
                    page.dirty = True
                    self._record(Access("put_user", uaddr, size, size, 0, True))
                    return 0
        if not self._single_access(uaddr, size, write=True):
            self._record(Access("put_user", uaddr, size, 0, -EFAULT, write=True))
            return -EFAULT
        data = (value & ((1 << (8 * size)) - 1)).to_bytes(size, "little")
        self.mm.user_write(uaddr, memoryview(data))
        self._record(Access("put_user", uaddr, size, size, 0, write=True))
        return 0

    # -- block copies ----------------------------------------------------------
    def copy_from_user(self, kbuf: bytearray | memoryview, uaddr: int, n: int) -> int:
        """Copy n bytes from user uaddr into kbuf; returns the number of bytes NOT copied.

        Copies up to the first byte that faults; the tail kbuf[n - ret:n] is
        zero-filled, so no stale kernel data survives (lib/usercopy.c).
        """
        uaddr, n = _u64("uaddr", uaddr), _length("n", n)
        mv = _kbuf("kbuf", kbuf, n, writable=True)
        if n > INT_MAX:  # check_copy_size(): WARN and copy nothing, not even the zero fill
            self._record(Access("copy_from_user", uaddr, n, 0, n))
            return n
        if self.profile.masked_copy_from_user:
            # 6.12: an address above USER_PTR_MAX is clamped to it (it faults);
            # otherwise no range check: the copy runs until it faults
            done = 0 if uaddr > self.profile.user_ptr_max else self.mm.user_read(uaddr, n, mv[:n])
        elif not self._access_ok(uaddr, n):
            done = 0
        else:
            done = self.mm.user_read(uaddr, n, mv[:n])
        res = n - done
        if res:
            mv[done:n] = bytes(res)
        self._record(Access("copy_from_user", uaddr, n, done, res))
        return res

    def copy_to_user(self, uaddr: int, kbuf: bytes | bytearray | memoryview, n: int) -> int:
        """Copy n bytes of kbuf to user uaddr; returns the number of bytes NOT copied."""
        uaddr, n = _u64("uaddr", uaddr), _length("n", n)
        mv = _kbuf("kbuf", kbuf, n, writable=False)
        if n > INT_MAX or not self._access_ok(uaddr, n):
            self._record(Access("copy_to_user", uaddr, n, 0, n, write=True))
            return n
        done = self.mm.user_write(uaddr, mv[:n])
        self._record(Access("copy_to_user", uaddr, n, done, n - done, write=True))
        return n - done

    def _clear_by_qwords(self, n: int) -> bool:
        """Does clear_user() of n bytes use 8-byte stores that fail whole (clear_user_original)?"""
        cpu = self.profile.cpu
        if self.version != "6.1" or cpu.fsrm:
            return False  # 6.12's rep_stos_alternative and "rep stosb" are byte exact
        if cpu.erms or cpu.rep_good:
            return n < 64  # clear_user_erms / clear_user_rep_good call the original below 64
        return True

    def clear_user(self, uaddr: int, n: int) -> int:
        """Zero n bytes at user uaddr; returns the number of bytes NOT cleared."""
        uaddr, n = _u64("uaddr", uaddr), _length("n", n)
        if not self._access_ok(uaddr, n):
            self._record(Access("clear_user", uaddr, n, 0, n, write=True))
            return n
        mm = self.mm
        ok = mm.accessible(uaddr, n, write=True)
        if self._clear_by_qwords(n):
            # arch/x86/lib/clear_page_64.S clear_user_original: n/8 qword stores from
            # uaddr (unaligned), then n%8 byte stores; a faulting qword stores nothing
            # and the rest is reported as not cleared.
            q, r = divmod(n, 8)
            if ok >= 8 * q:
                done = 8 * q + min(r, ok - 8 * q)
                touched = done
            else:
                done = (ok // 8) * 8
                touched = ok  # the faulting qword still faulted in its first page
        else:
            done = touched = ok
        mm.fault_in(uaddr, touched, write=True)
        mm.user_fill(uaddr, done)
        self._record(Access("clear_user", uaddr, n, done, n - done, write=True))
        return n - done

    # -- strings ---------------------------------------------------------------
    def _string_limit(self, src: int, count: int) -> int | None:
        """The byte limit of a string scan from src, or None if src itself is out of range."""
        if self.profile.masked_strings:
            # 6.12: masked_user_access_begin(): an address above USER_PTR_MAX
            # becomes all-ones and the first read faults; no TASK_SIZE_MAX cap.
            if src > self.profile.user_ptr_max:
                return None
            return count
        if src >= self.task_size_max:
            return None
        return min(self.task_size_max - src, count)

    def strnlen_user(self, uaddr: int, n: int) -> int:
        """Length of the string at uaddr *including* its NUL; 0 on a fault; > n if longer than n.

        lib/strnlen_user.c reads aligned 8-byte words, so a NUL that shares
        a word with the first n bytes is found even past n.
        """
        src = _u64("uaddr", uaddr)
        n = _c_long("n", n)
        if n <= 0:
            self._record(Access("strnlen_user", src, 0, 0, 0))
            return 0
        mx = self._string_limit(src, n)
        if mx is None:
            self._record(Access("strnlen_user", src, n, 0, 0))
            return 0
        mm = self.mm
        align = src & 7
        a0 = src - align
        scan = -(-(mx + align) // 8) * 8  # bytes of the words the loop may read
        readable = mm.accessible(a0, scan, write=False)
        limit = min(readable, scan)
        z = self._find_nul(a0 + align, limit - align)
        if z is not None:  # found in a word that could be read
            pos = align + z
            mm.fault_in(a0, (pos // 8 + 1) * 8, write=False)
            ret = z + 1
            self._record(Access("strnlen_user", src, n, ret, ret))
            return ret
        mm.fault_in(a0, limit, write=False)
        if readable < scan:  # a word faulted before a NUL was found
            self._record(Access("strnlen_user", src, n, max(0, limit - align), 0))
            return 0
        res = scan - align
        ret = n + 1 if res >= n else 0
        self._record(Access("strnlen_user", src, n, res, ret))
        return ret

    def _find_nul(self, addr: int, n: int) -> int | None:
        """Offset of the first NUL in [addr, addr+n) as the kernel would read it (no side effects)."""
        mm = self.mm
        done = 0
        while done < n:
            a = addr + done
            off = a & (PAGE_SIZE - 1)
            chunk = min(PAGE_SIZE - off, n - done)
            page = mm.page_at(a)
            if page is None:
                return done  # an untouched anonymous page reads as zeros
            i = page.data.find(0, off, off + chunk)
            if i >= 0:
                return done + i - off
            done += chunk
        return None

    def strncpy_from_user(self, kbuf: bytearray | memoryview, uaddr: int, n: int) -> int:
        """Copy the string at uaddr into kbuf: its length (without NUL), n if no NUL in n bytes, or -EFAULT.

        lib/strncpy_from_user.c on x86 reads 8 bytes at a time from uaddr
        (unaligned); a word holding the NUL is stored with the bytes after
        the NUL zeroed; after a faulting word it goes on byte by byte. With
        ret == n the buffer holds no NUL. On -EFAULT, kbuf keeps what was
        copied before the fault.
        """
        src = _u64("uaddr", uaddr)
        n = _c_long("n", n)
        if n <= 0:
            self._record(Access("strncpy_from_user", src, 0, 0, 0))
            return 0
        mv = _kbuf("kbuf", kbuf, n, writable=True)
        mx = self._string_limit(src, n)
        if mx is None:
            self._record(Access("strncpy_from_user", src, n, 0, -EFAULT))
            return -EFAULT
        mm = self.mm
        readable = mm.accessible(src, mx, write=False)
        z = self._find_nul(src, min(readable, mx))
        words = min(mx // 8, readable // 8)  # whole words the word loop can read
        if z is not None and z // 8 < words:
            # the NUL is in a word read whole: store the word masked after the NUL
            w = z // 8
            mm.fault_in(src, 8 * w + 8, write=False)
            mm.user_read(src, z, mv[:z])
            mv[z : 8 * w + 8] = bytes(8 * w + 8 - z)
            self._record(Access("strncpy_from_user", src, n, z + 1, z))
            return z
        res = 8 * words
        if z is not None:  # found by the byte loop: the NUL is copied too
            end, ret = z + 1, z
        elif readable < mx:
            end, ret = readable, -EFAULT
        else:
            end, ret = mx, (mx if mx >= n else -EFAULT)
        touched = end
        if res + 8 <= mx:  # the word that faulted still faulted in its readable part
            touched = max(touched, min(readable, res + 8))
        mm.fault_in(src, touched, write=False)
        mm.user_read(src, end, mv[:end])
        self._record(Access("strncpy_from_user", src, n, end, ret))
        return ret

    # -- pages: delegated to sim.gup --------------------------------------------
    def get_user_pages_unlocked(self, start: int, nr_pages: int, pages: list, gup_flags: int) -> int:
        """Take a reference on nr_pages user pages from start: how many (partial success), or -errno.

        Fills pages[0:ret]. Each page must be released with put_page().
        """
        return _gup.get_user_pages_unlocked(self, start, nr_pages, pages, gup_flags)

    def pin_user_pages_fast(self, start: int, nr_pages: int, gup_flags: int, pages: list) -> int:
        """Pin nr_pages user pages from start (lockless fast path first): how many, or -errno.

        Fills pages[0:ret]. Each page must be released with unpin_user_page().
        """
        return _gup.pin_user_pages_fast(self, start, nr_pages, gup_flags, pages)

    def put_page(self, page: Page) -> None:
        """Drop a reference taken by get_user_pages_unlocked()."""
        _gup.put_page(self, page)

    def unpin_user_page(self, page: Page) -> None:
        """Drop a pin taken by pin_user_pages_fast()."""
        _gup.unpin_user_page(self, page)

    def unpin_user_pages_dirty_lock(self, pages: list, npages: int, make_dirty: bool) -> None:
        """Unpin pages[0:npages], marking each dirty first if make_dirty."""
        _gup.unpin_user_pages_dirty_lock(self, pages, npages, make_dirty)

    def set_page_dirty(self, page: Page) -> None:
        """Mark a page dirty (its contents changed behind the page tables' back)."""
        _gup.set_page_dirty(self, page)

    def kmap_local_page(self, page: Page) -> memoryview:
        """A writable view of the page's 4096 bytes (read-only for the zero page)."""
        return _gup.kmap_local_page(self, page)

    def __repr__(self) -> str:
        return f"<Kernel {self.version} on {self.mm!r}>"
