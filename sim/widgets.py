"""An interactive explorer: move the address and the length, watch each API answer (ipywidgets).

    import sim.widgets
    sim.widgets.explorer()            # a demo address space
    sim.widgets.explorer(mm)          # or your own

Every change re-runs the chosen call on a *copy* of the address space (so
the picture shows what that one call does, from the same starting point),
prints the call and its result in C terms, and redraws `sim.plot`'s picture.
"""

from __future__ import annotations

import copy
import html

import ipywidgets as W
import matplotlib.pyplot as plt
from IPython.display import display

from .constants import FOLL_LONGTERM, FOLL_WRITE, PAGE_SIZE, PROT_NONE, PROT_READ, PROT_WRITE
from .mm import AddressSpace
from .plot import plot_mm
from .uaccess import Kernel

__all__ = ["APIS", "Explorer", "demo_address_space", "explorer"]

APIS = (
    "access_ok",
    "get_user",
    "put_user",
    "copy_from_user",
    "copy_to_user",
    "clear_user",
    "strnlen_user",
    "strncpy_from_user",
    "get_user_pages_unlocked",
    "pin_user_pages_fast",
)

DEMO_BASE = 0x10000000


def demo_address_space() -> AddressSpace:
    """Two rw pages with a string across their boundary | read-only | hole | PROT_NONE."""
    mm = AddressSpace()
    mm.mmap(3 * PAGE_SIZE, PROT_READ | PROT_WRITE, addr=DEMO_BASE)
    text = b"Hello from user space!\0"
    mm.poke(DEMO_BASE, b"user data " * 40)
    mm.poke(DEMO_BASE + PAGE_SIZE - 10, text)  # a string that crosses into page 2
    mm.poke(DEMO_BASE + 2 * PAGE_SIZE, b"read-only page, no NUL for a while " * 100)
    mm.mprotect(DEMO_BASE + 2 * PAGE_SIZE, PAGE_SIZE, PROT_READ)
    mm.mmap(PAGE_SIZE, PROT_NONE, addr=DEMO_BASE + 4 * PAGE_SIZE)
    return mm


class Explorer:
    """The explorer's state and widgets; `widget` is what a notebook displays."""

    def __init__(self, mm: AddressSpace | None = None, version: str = "6.1", base: int | None = None):
        self.mm = demo_address_space() if mm is None else mm
        self.version = version
        vmas = self.mm.vmas()
        self.base = base if base is not None else (vmas[0].start if vmas else DEMO_BASE)
        span = max(6 * PAGE_SIZE, (vmas[-1].end - self.base + PAGE_SIZE) if vmas else 0)
        span = min(span, 64 * PAGE_SIZE)
        self.api = W.Dropdown(options=APIS, value="copy_from_user", description="call")
        self.offset = W.IntSlider(value=min(span, 3 * PAGE_SIZE - 24), min=0, max=span, step=1, description="uaddr − base",
                                  continuous_update=False, layout=W.Layout(width="95%"))
        self.length = W.IntSlider(value=64, min=0, max=3 * PAGE_SIZE, step=1, description="n / size",
                                  continuous_update=False, layout=W.Layout(width="95%"))
        self.size = W.Dropdown(options=[1, 2, 4, 8], value=8, description="get/put size")
        self.write = W.Checkbox(value=False, description="FOLL_WRITE")
        self.longterm = W.Checkbox(value=False, description="FOLL_LONGTERM")
        self.kernel = W.ToggleButtons(options=["6.1", "6.12"], value=version, description="kernel")
        self.result = W.HTML()
        self.picture = W.Output()
        for w in (self.api, self.offset, self.length, self.size, self.write, self.longterm, self.kernel):
            w.observe(lambda _change: self.update(), names="value")
        self.widget = W.VBox(
            [
                W.HBox([self.api, self.kernel]),
                self.offset,
                self.length,
                W.HBox([self.size, self.write, self.longterm]),
                self.result,
                self.picture,
            ]
        )
        self.last_text = ""
        self.update()

    @property
    def uaddr(self) -> int:
        return self.base + self.offset.value

    def run(self) -> tuple[str, Kernel]:
        """Run the selected call on a copy of the address space: (C-like text, the kernel)."""
        mm = copy.deepcopy(self.mm)
        k = Kernel(mm, version=self.kernel.value)
        api, uaddr, n, size = self.api.value, self.uaddr, self.length.value, self.size.value
        flags = (FOLL_WRITE if self.write.value else 0) | (FOLL_LONGTERM if self.longterm.value else 0)
        if api == "access_ok":
            text = f"access_ok({uaddr:#x}, {n}) = {k.access_ok(uaddr, n)}"
        elif api == "get_user":
            err, value = k.get_user(uaddr, size)
            text = f"get_user(x, (u{8 * size} __user *){uaddr:#x}) = {err}, x = {value:#x}"
        elif api == "put_user":
            text = f"put_user(0x{'ab' * size}, (u{8 * size} __user *){uaddr:#x}) = {k.put_user(int('ab' * size, 16), uaddr, size)}"
        elif api == "copy_from_user":
            kbuf = bytearray(n)
            ret = k.copy_from_user(kbuf, uaddr, n)
            text = f"copy_from_user(kbuf, {uaddr:#x}, {n}) = {ret} (bytes NOT copied; kbuf[{n - ret}:{n}] zeroed)"
        elif api == "copy_to_user":
            ret = k.copy_to_user(uaddr, bytes(n), n)
            text = f"copy_to_user({uaddr:#x}, kbuf, {n}) = {ret} (bytes NOT copied)"
        elif api == "clear_user":
            text = f"clear_user({uaddr:#x}, {n}) = {k.clear_user(uaddr, n)} (bytes NOT cleared)"
        elif api == "strnlen_user":
            text = f"strnlen_user({uaddr:#x}, {n}) = {k.strnlen_user(uaddr, n)} (counts the NUL; 0 = fault)"
        elif api == "strncpy_from_user":
            kbuf = bytearray(max(n, 1))
            ret = k.strncpy_from_user(kbuf, uaddr, n)
            text = f"strncpy_from_user(kbuf, {uaddr:#x}, {n}) = {ret}; kbuf starts {bytes(kbuf[:24])!r}"
        else:
            nr = max(0, min(16, (n + PAGE_SIZE - 1) // PAGE_SIZE))
            pages: list = []
            if api == "get_user_pages_unlocked":
                ret = k.get_user_pages_unlocked(uaddr, nr, pages, flags)
            else:
                ret = k.pin_user_pages_fast(uaddr, nr, flags, pages)
            text = f"{api}({uaddr:#x}, nr_pages={nr}, flags={flags:#x}) = {ret}"
        return text, k

    def update(self) -> None:
        """Re-run the call and redraw (called on every widget change)."""
        text, k = self.run()
        self.last_text = text
        self.result.value = f"<pre style='margin:0'>{html.escape(text)}</pre>"
        self.picture.clear_output(wait=True)
        fig = plot_mm(k.mm, k.last)
        with self.picture:
            display(fig)
        plt.close(fig)


def explorer(mm: AddressSpace | None = None, version: str = "6.1") -> W.VBox:
    """The explorer widget for an address space (default: `demo_address_space()`)."""
    return Explorer(mm, version).widget
