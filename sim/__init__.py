"""sim: a simulator of how the Linux kernel reads and writes user memory.

It models one process's address space (`AddressSpace`) and one x86_64 kernel
(`Kernel`, Debian's 6.1 by default, or 6.12) with the kernel's own names,
argument order and return conventions, mechanism by mechanism, so that its
answers agree byte for byte with the real kernel's (tests/differential/
replays thousands of answers recorded in a VM)::

    >>> import sim
    >>> mm = sim.AddressSpace()
    >>> buf = mm.mmap(2 * sim.PAGE_SIZE, sim.PROT_READ | sim.PROT_WRITE)
    >>> mm.munmap(buf + sim.PAGE_SIZE, sim.PAGE_SIZE)      # a hole after one page
    >>> k = sim.Kernel(mm)
    >>> kbuf = bytearray(100)
    >>> k.copy_from_user(kbuf, buf + sim.PAGE_SIZE - 60, 100)   # 40 bytes NOT copied
    40

Kernel-level failures are return values; Python exceptions (`SimUsageError`)
mean the simulator was misused, and say what to fix. `sim.plot` draws an
address space, `sim.widgets` is an interactive explorer, `sim.drivers.cdev`
is the seed article's driver with its defects.
"""

from .constants import (
    EFAULT,
    EINVAL,
    ENOMEM,
    EOVERFLOW,
    FOLL_LONGTERM,
    FOLL_WRITE,
    GUP_PIN_COUNTING_BIAS,
    PAGE_SHIFT,
    PAGE_SIZE,
    PROT_NONE,
    PROT_READ,
    PROT_WRITE,
    TASK_SIZE_MAX,
    TASK_SIZE_MAX_LA57,
)
from .errors import SegmentationFault, SimError, SimUsageError
from .mm import VMA, AddressSpace, Page
from .profiles import CPU, QEMU_TCG_CPU, VERSIONS
from .uaccess import Access, Kernel

__all__ = [
    "Access",
    "AddressSpace",
    "CPU",
    "EFAULT",
    "EINVAL",
    "ENOMEM",
    "EOVERFLOW",
    "FOLL_LONGTERM",
    "FOLL_WRITE",
    "GUP_PIN_COUNTING_BIAS",
    "Kernel",
    "PAGE_SHIFT",
    "PAGE_SIZE",
    "PROT_NONE",
    "PROT_READ",
    "PROT_WRITE",
    "Page",
    "QEMU_TCG_CPU",
    "SegmentationFault",
    "SimError",
    "SimUsageError",
    "TASK_SIZE_MAX",
    "TASK_SIZE_MAX_LA57",
    "VERSIONS",
    "VMA",
]
