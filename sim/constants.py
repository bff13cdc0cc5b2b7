"""The constants of x86_64 Linux that the simulator's API uses.

Values are the kernel's: page geometry and the top of user space with 4-level
paging, mmap's PROT_* bits, errno numbers, and the FOLL_* flags of GUP as the
6.1 kernel numbers them (6.12 renumbered FOLL_*; the simulator takes 6.1's
values whichever kernel it models, as the teaching driver's ABI does).
"""

PAGE_SHIFT = 12
PAGE_SIZE = 1 << PAGE_SHIFT
PAGE_MASK = ~(PAGE_SIZE - 1)

#: arch/x86/include/asm/page_64_types.h: ((1UL << 47) - PAGE_SIZE) with 4-level
#: paging. The top page below 1 << 47 is never mapped (a guard against the
#: non-canonical hole), so the last user byte is TASK_SIZE_MAX - 1.
TASK_SIZE_MAX = (1 << 47) - PAGE_SIZE
#: the same with 5-level paging (LA57 CPUs, e.g. QEMU's TCG CPU, unless booted with no5lvl)
TASK_SIZE_MAX_LA57 = (1 << 56) - PAGE_SIZE

PROT_NONE = 0x0
PROT_READ = 0x1
PROT_WRITE = 0x2

EFAULT = 14
EINVAL = 22
ENOMEM = 12
EOVERFLOW = 75

FOLL_WRITE = 0x01
FOLL_LONGTERM = 0x10000

#: include/linux/mm.h: a pin adds this much to a small page's refcount
GUP_PIN_COUNTING_BIAS = 1 << 10

U64_MASK = (1 << 64) - 1
