"""Pictures of an address space and of what one kernel call did to it (matplotlib).

    import sim, sim.plot
    fig = sim.plot.plot_mm(mm, access=kernel.last)

One row of cells, one cell a page, lowest address on the left:

- the fill says the protection: green read-write, blue read-only, orange
  write-only, grey PROT_NONE, white hatched a hole (nothing mapped);
- a faded cell was never touched (no page yet); "0" marks the shared zero
  page; a dark strip at the bottom marks a page of the process's own;
- a bar above the row is the range the call was asked for: solid green is
  how far it got, red hatched what it did not do (bytes not copied, the
  fault); GUP's pages get a purple frame with "pinned" or "ref";
- long mappings and long holes are folded into a "⋯" cell labelled with
  their size, so a 1 TiB mapping draws as readily as a 4 KiB one.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.patches import Patch, Rectangle

from .constants import PAGE_SIZE, PROT_NONE, PROT_READ, PROT_WRITE
from .mm import AddressSpace
from .uaccess import Access

__all__ = ["PROT_COLORS", "plot_mm", "human_size"]

PROT_COLORS = {
    PROT_READ | PROT_WRITE: "#8fd18f",
    PROT_READ: "#8cbfe6",
    PROT_WRITE: "#f7b267",
    PROT_NONE: "#b8b8b8",
}
_HOLE = "#ffffff"
_DONE = "#2e9e44"
_FAIL = "#d62728"
_GUP = "#7b2fbe"
_SMALL_VMA_PAGES = 12
_EDGE_PAGES = 2


def human_size(n: int) -> str:
    """4096 -> '4 KiB', 2**40 -> '1 TiB'."""
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if round(value, 1) < 1024 or unit == "PiB":
            text = f"{value:.1f}".rstrip("0").rstrip(".")
            return f"{text} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def _pages_to_show(mm: AddressSpace, access: Access | None) -> list[int]:
    pages: set[int] = set()
    for v in mm.vmas():
        n = v.length // PAGE_SIZE
        if n <= _SMALL_VMA_PAGES:
            pages.update(range(v.start, v.end, PAGE_SIZE))
        else:
            pages.update(v.start + i * PAGE_SIZE for i in range(_EDGE_PAGES))
            pages.update(v.end - (i + 1) * PAGE_SIZE for i in range(_EDGE_PAGES))
    top = mm.task_size_max
    if access is not None and access.start < top + 2 * PAGE_SIZE:
        first = access.start & ~(PAGE_SIZE - 1)
        last = min(access.start + max(access.length, 1) - 1, top + PAGE_SIZE)
        last &= ~(PAGE_SIZE - 1)
        span = range(first - PAGE_SIZE, last + 2 * PAGE_SIZE, PAGE_SIZE)
        if len(span) <= 2 * _SMALL_VMA_PAGES:
            pages.update(span)
        else:
            pages.update(first + i * PAGE_SIZE for i in range(-1, _EDGE_PAGES + 1))
            pages.update(last + i * PAGE_SIZE for i in range(-_EDGE_PAGES, 2))
            done_end = (access.start + access.done) & ~(PAGE_SIZE - 1)
            pages.update(done_end + i * PAGE_SIZE for i in range(-1, 2))
        pages.update(access.pages)
    return sorted(p for p in pages if 0 <= p < top + 2 * PAGE_SIZE)


class _Layout:
    """Cells (pages and folded gaps) with x positions, and address -> x."""

    GAP_W = 0.8

    def __init__(self, mm: AddressSpace, pages: list[int]):
        self.cells: list[tuple[str, int, int, float]] = []  # kind, start, end, x
        x = 0.0
        prev = None
        for p in pages:
            if prev is not None and p != prev + PAGE_SIZE:
                self.cells.append(("gap", prev + PAGE_SIZE, p, x))
                x += self.GAP_W
            self.cells.append(("page", p, p + PAGE_SIZE, x))
            x += 1.0
            prev = p
        self.width = x

    def x_of(self, addr: int) -> float:
        for kind, start, end, x in self.cells:
            if start <= addr < end:
                w = 1.0 if kind == "page" else self.GAP_W
                return x + w * (addr - start) / (end - start)
        if not self.cells:
            return 0.0
        return 0.0 if addr < self.cells[0][1] else self.width


def plot_mm(
    mm: AddressSpace,
    access: Access | None = None,
    ax=None,
    title: str | None = None,
):
    """Draw the address space, and what `access` (e.g. kernel.last) did to it.

    :param mm: the AddressSpace to draw
    :param access: one call's record (Kernel.last / Kernel.history[i]), or None
    :param ax: a matplotlib Axes to draw into (default: a new figure)
    :param title: the figure title (default: the call and its result)
    :returns: the matplotlib Figure
    """
    pages = _pages_to_show(mm, access)
    if not pages:
        pages = [0x10000]
    lay = _Layout(mm, pages)
    if ax is None:
        fig, ax = plt.subplots(figsize=(max(6.0, min(16.0, 1.0 + 0.62 * lay.width)), 2.9))
    else:
        fig = ax.figure
    resident = mm.resident()
    taken = set(access.pages) if access is not None else set()

    for kind, start, end, x in lay.cells:
        if kind == "gap":
            vma = mm.find_vma(start)
            same = vma is not None and vma.end >= end
            color = PROT_COLORS[vma.prot] if same else _HOLE
            ax.add_patch(Rectangle((x, 0), lay.GAP_W, 1, facecolor=color, edgecolor="#555", lw=0.8,
                                   hatch=None if same else "//", alpha=0.5))
            ax.text(x + lay.GAP_W / 2, 0.5, "⋯", ha="center", va="center", fontsize=13)
            ax.text(x + lay.GAP_W / 2, -0.42, human_size(end - start), ha="center", va="top", fontsize=7,
                    color="#444", rotation=0)
            continue
        vma = mm.find_vma(start)
        page = resident.get(start)
        if vma is None:
            ax.add_patch(Rectangle((x, 0), 1, 1, facecolor=_HOLE, edgecolor="#555", lw=0.8, hatch="//"))
        else:
            alpha = 1.0 if page is not None else 0.45
            ax.add_patch(Rectangle((x, 0), 1, 1, facecolor=PROT_COLORS[vma.prot], edgecolor="#333", lw=0.8,
                                   alpha=alpha))
            label = {PROT_READ | PROT_WRITE: "rw", PROT_READ: "r", PROT_WRITE: "w", PROT_NONE: "none"}[vma.prot]
            ax.text(x + 0.5, 0.72, label, ha="center", va="center", fontsize=9)
            if page is not None and page.is_zero_page:
                ax.text(x + 0.5, 0.32, "0", ha="center", va="center", fontsize=11, color="#333",
                        fontweight="bold")
            elif page is not None:
                ax.add_patch(Rectangle((x + 0.08, 0.06), 0.84, 0.12, facecolor="#333", lw=0))
        if page is not None and (page.pincount or page.gup_refs):
            bits = []
            if page.pincount:
                bits.append(f"pin ×{page.pincount}")
            if page.gup_refs:
                bits.append(f"ref +{page.gup_refs}")
            ax.text(x + 0.5, 0.45 if not page.is_zero_page else 0.12, "\n".join(bits), ha="center",
                    va="center", fontsize=7, color=_GUP, fontweight="bold")
        if start in taken:
            ax.add_patch(Rectangle((x + 0.03, 0.03), 0.94, 0.94, fill=False, edgecolor=_GUP, lw=2.5))
        ax.text(x, -0.08, f"{start:#x}", ha="left", va="top", fontsize=6.5, rotation=30, color="#222")

    if access is not None:
        _draw_access(ax, lay, access)
        if title is None:
            title = _describe(access)
    ax.set_xlim(-0.3, lay.width + 0.3)
    ax.set_ylim(-0.95, 1.9)
    ax.axis("off")
    if title:
        ax.set_title(title, fontsize=10, loc="left")
    handles = [
        Patch(facecolor=PROT_COLORS[PROT_READ | PROT_WRITE], edgecolor="#333", label="read-write"),
        Patch(facecolor=PROT_COLORS[PROT_READ], edgecolor="#333", label="read-only"),
        Patch(facecolor=PROT_COLORS[PROT_WRITE], edgecolor="#333", label="write-only"),
        Patch(facecolor=PROT_COLORS[PROT_NONE], edgecolor="#333", label="PROT_NONE"),
        Patch(facecolor=_HOLE, edgecolor="#333", hatch="//", label="hole"),
    ]
    if access is not None and access.api not in ("access_ok",):
        handles += [Patch(facecolor=_DONE, label="done"), Patch(facecolor="white", edgecolor=_FAIL, hatch="xx",
                                                                   label="not done")]
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.02), ncol=len(handles), fontsize=7,
              frameon=False, handlelength=1.2)
    fig.tight_layout()
    return fig


def _draw_access(ax, lay: _Layout, acc: Access) -> None:
    y, h = 1.18, 0.28
    x0 = lay.x_of(acc.start)
    x1 = lay.x_of(acc.start + acc.length) if acc.length else x0 + 0.02
    xd = lay.x_of(acc.start + acc.done)
    if acc.api == "access_ok":
        color = _DONE if acc.result else _FAIL
        ax.add_patch(Rectangle((x0, y), max(x1 - x0, 0.02), h, facecolor=color, alpha=0.6, edgecolor="black"))
        return
    if acc.length and x1 - x0 < 1.5 and lay.width >= 2.4:
        # A range much smaller than a page: draw it magnified, joined to where it is.
        zw = 2.4
        zx0 = min(max(-0.2, (x0 + x1) / 2 - zw / 2), lay.width - zw)
        for a, b in ((x0, zx0), (x1, zx0 + zw)):
            ax.plot([a, b], [1.0, y], color="#777", lw=0.8, ls=":")
        frac = acc.done / acc.length
        x0, x1, xd = zx0, zx0 + zw, zx0 + zw * frac
        unit = "pages" if acc.pages or acc.api.endswith("_fast") or acc.api.startswith("get_user_pages") else "B"
        scale = PAGE_SIZE if unit == "pages" else 1
        if acc.done:
            ax.text((x0 + xd) / 2, y + h / 2, _count(acc.done // scale, unit), ha="center", va="center",
                    fontsize=7, color="white", fontweight="bold", zorder=5)
        if acc.done < acc.length:
            ax.text((xd + x1) / 2, y + h + 0.08, f"{_count((acc.length - acc.done) // scale, unit)} not",
                    ha="center", va="bottom", fontsize=7, color=_FAIL, zorder=5)
    ax.add_patch(Rectangle((x0, y), max(x1 - x0, 0.02), h, fill=False, edgecolor="black", lw=1))
    if acc.done:
        ax.add_patch(Rectangle((x0, y), xd - x0, h, facecolor=_DONE, edgecolor="none", alpha=0.85))
    if acc.done < acc.length:
        ax.add_patch(Rectangle((xd, y), max(x1 - xd, 0.02), h, facecolor="white", edgecolor=_FAIL, hatch="xx",
                               lw=1))
        fault_x = lay.x_of(acc.start + acc.done)
        ax.plot([fault_x, fault_x], [0, 1.0], color=_FAIL, lw=1.5, ls="--")


def _count(n: int, unit: str) -> str:
    """"1 page", "3 pages", "40 B"."""
    return f"{n} page" if unit == "pages" and n == 1 else f"{n} {unit}"


def _describe(acc: Access) -> str:
    r = acc.result
    if acc.api in ("copy_from_user", "copy_to_user", "clear_user"):
        return (f"{acc.api}(uaddr={acc.start:#x}, n={acc.length}) = {r}: "
                f"{acc.done} bytes done, {acc.length - acc.done} not")
    if acc.api == "access_ok":
        return f"access_ok({acc.start:#x}, {acc.length}) = {r}"
    if acc.api in ("get_user", "put_user"):
        return f"{acc.api} of {acc.length} bytes at {acc.start:#x}: {'0 (ok)' if r == 0 else f'{r} (-EFAULT)'}"
    if acc.api in ("strnlen_user", "strncpy_from_user"):
        return f"{acc.api}({acc.start:#x}, {acc.length}) = {r}"
    return f"{acc.api}(start={acc.start:#x}, nr_pages={acc.length // PAGE_SIZE}) = {r}"
