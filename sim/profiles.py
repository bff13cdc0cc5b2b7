"""Which kernel and which CPU the simulator models.

The kernel's answers depend on its version *and* on the CPU it runs on: x86
picks its copy and clear routines at boot from CPU feature bits (the
ALTERNATIVE macros in arch/x86/include/asm/uaccess_64.h), and those routines
differ in how far they get before a fault. The defaults are the course VM:
Debian's kernels under QEMU's TCG CPU, which has REP_GOOD and ERMS but
neither FSRM nor FSRS (measured by uaccess_demo's INFO ioctl).
"""

from __future__ import annotations

from dataclasses import dataclass

from .constants import EOVERFLOW, TASK_SIZE_MAX
from .errors import SimUsageError

__all__ = ["CPU", "KernelProfile", "QEMU_TCG_CPU", "VERSIONS", "profile"]


@dataclass(frozen=True)
class CPU:
    """The x86 feature bits that choose the kernel's user-copy routines."""

    rep_good: bool = True  # X86_FEATURE_REP_GOOD: "rep movs/stos" is fast
    erms: bool = True  # X86_FEATURE_ERMS: enhanced "rep movsb/stosb"
    fsrm: bool = False  # X86_FEATURE_FSRM: fast short "rep movsb"
    fsrs: bool = False  # X86_FEATURE_FSRS: fast short "rep stosb" (6.12 uses it)


#: the CPU of the course's VM (QEMU TCG, "QEMU TCG CPU version 2.5+")
QEMU_TCG_CPU = CPU()


@dataclass(frozen=True)
class KernelProfile:
    """The kernel-version facts the simulator's mechanisms read."""

    version: str
    cpu: CPU
    #: 6.10+: access_ok() compares the *end* address with USER_PTR_MAX
    #: (runtime constant, = TASK_SIZE_MAX without LAM); None: 6.1's asm-generic check
    user_ptr_max: int | None
    #: 6.4+: the string functions use address masking, not a TASK_SIZE_MAX bound
    masked_strings: bool
    #: pinning the zero page leaves its refcount alone (measured on both kernels)
    pin_skips_zero_page: bool
    #: what pin_user_pages_fast() returns when start + nr_pages wraps (measured)
    fast_gup_overflow: int
    #: 6.12 copy_from_user(): mask_user_address() instead of access_ok(), so a
    #: range running past the top of user space copies up to the top
    masked_copy_from_user: bool
    #: 6.5+ gup_must_unshare(): a read-only FOLL_LONGTERM pin never pins the
    #: zero page of a private mapping; it gets a page of its own instead
    longterm_unshares_zero_page: bool
    #: pin_user_pages_fast() with nr_pages == 0 has no early return: its
    #: lockless walk runs on from start (a kernel bug, measured on 6.1 and 6.12)
    fast_gup_zero_runs_on: bool


VERSIONS = ("6.1", "6.12")


def profile(version: str = "6.1", cpu: CPU | None = None, task_size_max: int = TASK_SIZE_MAX) -> KernelProfile:
    """The profile of a supported kernel series ("6.1", the default, or "6.12")."""
    cpu = QEMU_TCG_CPU if cpu is None else cpu
    if version == "6.1":
        return KernelProfile("6.1", cpu, None, False, True, 0, False, False, True)
    if version == "6.12":
        return KernelProfile("6.12", cpu, task_size_max, True, True, -EOVERFLOW, True, True, True)
    raise SimUsageError(f"kernel version {version!r} is not modelled; use one of {', '.join(VERSIONS)}")
