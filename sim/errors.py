"""Exceptions: only for misuse of the simulator, never for what the kernel returns.

Kernel-level failures (-EFAULT, bytes not copied, a partial GUP) are return
values, as in C. These exceptions mean the *caller* did something the real
kernel API does not allow (or would crash on), and their messages say what
to change.
"""


class SimError(Exception):
    """Base class of every exception the simulator raises."""


class SimUsageError(SimError, ValueError):
    """An API was called in a way the real kernel API does not allow; the message says how to fix it."""


class SegmentationFault(SimError):
    """The simulated *process* touched memory it may not (what SIGSEGV is to a C program).

    :ivar addr: the first address that could not be accessed
    :ivar access: "read" or "write"
    """

    def __init__(self, addr: int, access: str, why: str):
        self.addr = addr
        self.access = access
        super().__init__(f"SIGSEGV: the process's {access} at {addr:#x} faulted: {why}")
