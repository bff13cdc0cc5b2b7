"""One guest per Python process, shared by the notebook magics, the labs' helpers and the grading cells.

A Binder session has 2 GiB for everything and a guest takes 512 MiB, so a
notebook must never hold two. `shared_guest()` returns the process's guest
for a kernel, booting it on first use; asking for another kernel stops the
current guest first. `%kernel 6.12` sets the notebook's default kernel with
`set_default_kernel()`.
"""

from __future__ import annotations

import os

from uaccess_lab.kernels import check_series, resolve

from .guest import Guest

__all__ = ["current_guest", "default_kernel", "set_default_kernel", "shared_guest"]

_guest: Guest | None = None
_default: str | None = None  # None: the course's default (UACCESS_LAB_KERNEL, else 6.1)


def default_kernel() -> str:
    """The series a cell uses when it names none."""
    return check_series(_default).name


def set_default_kernel(series: str | None) -> str:
    """Make `series` the notebook's kernel (raises UnknownKernel with the supported list)."""
    global _default
    _default = check_series(series).name
    return _default


def current_guest() -> Guest | None:
    """The process's guest, if one was created (it may be stopped)."""
    return _guest


def shared_guest(kernel: str | None = None) -> Guest:
    """The process's guest for `kernel` (default: the notebook's kernel); one at a time.

    While nbgrader grades the notebook, the guest is sealed (Guest's `sealed`):
    it runs students' kernel code, which must not read other students' work.
    """
    global _guest
    series = check_series(kernel or _default).name
    sealed = _grading_paths() if os.environ.get("NBGRADER_EXECUTION") == "autograde" else None
    if _guest is not None and _guest.kernel.series == series and _guest.sealed == sealed:
        return _guest
    if _guest is not None:
        _guest.close()
    _guest = Guest(resolve(series), sealed=sealed)
    return _guest


def _grading_paths() -> tuple:
    from uaccess_lab.grading.driver import sealed_paths

    return tuple(sealed_paths())
