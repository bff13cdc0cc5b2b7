"""The seed article's character device, simulated with its defects (module-src/cdev.c).

    >>> import sim
    >>> from sim.drivers.cdev import CdevDevice
    >>> mm = sim.AddressSpace(); k = sim.Kernel(mm)
    >>> buf = mm.mmap(sim.PAGE_SIZE, sim.PROT_READ | sim.PROT_WRITE)
    >>> mm.poke(buf, b"hello")
    >>> dev = CdevDevice(k)                 # insmod cdev.ko: /dev/cdev/cdev0
    >>> f = dev.open()
    >>> f.write(buf, 5)                     # maps the caller's page, keeps it
    5
    >>> mm.poke(buf, b"HELLO")              # the program changes its buffer...
    >>> out = mm.mmap(sim.PAGE_SIZE, sim.PROT_READ | sim.PROT_WRITE)
    >>> f.read(out, 5), mm.peek(out, 5)     # ...and read() returns the change
    (5, b'HELLO')

It behaves like the real driver, defects included; the numbers are the
`SEED-BUG n` tags of module-src/cdev.c:

1. read() before any write() dereferences a NULL page array: the real kernel
   oopses and kills the reader. Here read() returns an `Oops` record with the
   kernel's words, the file is dead and the device is tainted.
2. read() copies `count` bytes from the first mapped page onward, whatever
   was mapped: bytes past that page are other kernel memory (`LEAK_PATTERN`
   here), copied out to the user - an information leak.
3. a second write() replaces the page array: the first pages are never
   released (`CdevDevice.leaked_pages`).
4. write() returns 0 instead of the error when mapping fails.
5. no locking (not modelled: the simulator runs one call at a time).
6. page_address() instead of kmap_local_page() (same result on x86_64).
7. get_user_pages where pin_user_pages belongs: pages carry a reference,
   not a pin (`page.maybe_dma_pinned` is False).
8. FOLL_WRITE for a buffer the driver only reads: write() from a read-only
   buffer fails (and, by 4, returns 0).
9. read() ignores the file position and turns a failed copy into a short read.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..constants import EFAULT, EINVAL, ENOMEM, FOLL_WRITE, PAGE_SHIFT, PAGE_SIZE, U64_MASK
from ..errors import SimUsageError
from ..mm import Page
from ..uaccess import Kernel

__all__ = ["CDEV_MAX_PAGES", "DEVICE_PATH", "LEAK_PATTERN", "CdevDevice", "CdevFile", "Oops"]

DEVICE_PATH = "/dev/cdev/cdev0"
CDEV_MAX_PAGES = 5
#: what the simulated kernel memory next to a mapped page holds (SEED-BUG 2)
LEAK_PATTERN = b"<kernel memory: not yours> "


@dataclass
class Oops:
    """A simulated kernel oops: what dmesg would show, and what it did to the caller."""

    text: str
    function: str
    bug: int  # the SEED-BUG number that caused it
    exit_status: int = 137  # the reading process was killed (128 + SIGKILL)

    def __str__(self) -> str:
        return self.text

    def _repr_pretty_(self, p, cycle) -> None:  # IPython shows the log, not a dataclass
        p.text(self.text)


def _oops_text(kernel: Kernel, function: str, address: int, comm: str, pid: int, number: int) -> str:
    release = "6.1.0-56-amd64" if kernel.version == "6.1" else "6.12.117+deb12-amd64"
    # 6.11+ prefixes the oops line with the die() string once more
    oops_line = "Oops: 0000 [#%d] PREEMPT SMP NOPTI" % number
    if kernel.version != "6.1":
        oops_line = "Oops: " + oops_line
    return "\n".join(
        [
            f"BUG: kernel NULL pointer dereference, address: {address:016x}",
            "#PF: supervisor read access in kernel mode",
            "#PF: error_code(0x0000) - not-present page",
            "PGD 0 P4D 0 ",
            oops_line,
            f"CPU: 0 PID: {pid} Comm: {comm} Tainted: G           OE      {release} #1",
            "Hardware name: QEMU Standard PC (i440FX + PIIX, 1996), BIOS 1.16.2-debian-1.16.2-1 04/01/2014",
            f"RIP: 0010:{function}+0x9/0x29 [cdev]",
            "Call Trace:",
            " <TASK>",
            " vfs_read+0xb0/0x300",
            " ksys_read+0x6b/0xf0",
            " do_syscall_64+0x58/0xc0",
            " entry_SYSCALL_64_after_hwframe+0x64/0xce",
            " </TASK>",
            "Modules linked in: cdev(OE)",
            f"CR2: {address:016x}",
            "---[ end trace 0000000000000000 ]---",
        ]
    )


@dataclass
class CdevDevice:
    """cdev.ko loaded into a simulated kernel: open() it to get a file."""

    kernel: Kernel
    oopses: list[Oops] = field(default_factory=list)
    #: pages whose references were lost by a second write() (SEED-BUG 3)
    leaked_pages: list[Page] = field(default_factory=list)
    log: list[str] = field(default_factory=list)  # what pr_err() printed

    @property
    def tainted(self) -> bool:
        """After an oops the kernel runs on, tainted (the 'D' flag)."""
        return bool(self.oopses)

    def open(self, comm: str = "python3", pid: int = 1000) -> "CdevFile":
        """open(DEVICE_PATH): a new file with nothing mapped (cdev_open)."""
        return CdevFile(self, comm, pid)


class CdevFile:
    """One open file of the device: write() maps, read() copies back, close() releases."""

    def __init__(self, device: CdevDevice, comm: str, pid: int):
        self.device = device
        self.kernel = device.kernel
        self.comm, self.pid = comm, pid
        self.mapped_pages: list[Page] | None = None  # NULL until the first write()
        self.offset = 0
        self.nr_pages = 0
        self.killed_by: Oops | None = None
        self.closed = False

    def _check_alive(self, what: str) -> None:
        if self.killed_by is not None:
            raise SimUsageError(
                f"{what}: the process that had this file open was killed by the oops in "
                f"{self.killed_by.function}; open the device again (a new process) to continue"
            )
        if self.closed:
            raise SimUsageError(f"{what}: the file is closed; open the device again")

    # cdev_map_user_pages()
    def _map_user_pages(self, uaddr: int, count: int, writable: bool) -> int:
        first = uaddr >> PAGE_SHIFT
        end = (uaddr + count + PAGE_SIZE - 1) >> PAGE_SHIFT
        if uaddr + count > U64_MASK:
            return -EINVAL
        nr_pages = end - first
        if nr_pages > CDEV_MAX_PAGES:
            return -ENOMEM
        if count == 0:
            return 0
        pages: list = [None] * CDEV_MAX_PAGES
        got = self.kernel.get_user_pages_unlocked(uaddr, nr_pages, pages, FOLL_WRITE if writable else 0)
        if got < nr_pages:
            for i in range(max(got, 0)):
                self.kernel.put_page(pages[i])
            return got if got < 0 else -EFAULT
        self.offset = uaddr & (PAGE_SIZE - 1)
        if self.mapped_pages is not None:  # SEED-BUG 3: the old array is simply dropped
            self.device.leaked_pages.extend(self.mapped_pages[: self.nr_pages])
        self.mapped_pages = pages[:nr_pages]
        return nr_pages

    def write(self, buf: int, count: int) -> int:
        """write(fd, buf, count): map the caller's pages and keep them (cdev_write)."""
        self._check_alive("write")
        if not isinstance(buf, int) or not isinstance(count, int) or count < 0:
            raise SimUsageError(f"write(buf, count): buf is a user address and count a size >= 0, got {buf!r}, {count!r}")
        ret = self._map_user_pages(buf, count, True)  # SEED-BUG 8: FOLL_WRITE to read a buffer
        if ret <= 0:
            self.device.log.append(f"cdev: cdev_write: map user pages failed ({ret})")
            return 0  # SEED-BUG 4: the error is lost
        self.nr_pages = ret
        return count

    def read(self, buf: int, count: int) -> int | Oops:
        """read(fd, buf, count): copy from the first mapped page (cdev_read). May return an Oops."""
        self._check_alive("read")
        if not isinstance(buf, int) or not isinstance(count, int) or count < 0:
            raise SimUsageError(f"read(buf, count): buf is a user address and count a size >= 0, got {buf!r}, {count!r}")
        if self.mapped_pages is None:  # SEED-BUG 1: cbuf->mapped_pages[0] with mapped_pages == NULL
            oops = Oops(
                _oops_text(self.kernel, "cdev_read", 0, self.comm, self.pid, len(self.device.oopses) + 1),
                "cdev_read",
                bug=1,
            )
            self.device.oopses.append(oops)
            self.killed_by = oops
            return oops
        page = self.mapped_pages[0]
        # SEED-BUG 2 and 6: page_address(page) + offset, then `count` bytes of
        # whatever follows in the kernel's direct map
        first = bytes(page.data[self.offset :])
        if count > len(first):
            tail = count - len(first)
            leak = (LEAK_PATTERN * (tail // len(LEAK_PATTERN) + 1))[:tail]
            kbuf = first + leak
        else:
            kbuf = first[:count]
        # SEED-BUG 9: no *ppos, and "bytes not copied" becomes a short read
        return count - self.kernel.copy_to_user(buf, kbuf, count)

    def close(self) -> int:
        """close(fd): release the pages of the last write() (cdev_release)."""
        self._check_alive("close")
        for page in (self.mapped_pages or [])[: self.nr_pages]:
            self.kernel.put_page(page)
        self.mapped_pages = None
        self.nr_pages = 0
        self.closed = True
        return 0
