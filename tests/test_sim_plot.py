"""sim.plot draws an address space and a call; sim.widgets re-runs calls as sliders move."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

import sim  # noqa: E402
import sim.plot  # noqa: E402
from sim import PAGE_SIZE, PROT_READ, PROT_WRITE  # noqa: E402

RW = PROT_READ | PROT_WRITE


def texts(fig):
    return [t.get_text() for ax in fig.axes for t in ax.texts] + [ax.get_title(loc="left") for ax in fig.axes]


def test_plot_shows_protections_partial_copy_and_folded_terabyte():
    """The picture names each page's protection, the call's result, and folds a 1 TiB mapping."""
    mm = sim.AddressSpace()
    a = mm.mmap(2 * PAGE_SIZE, RW, addr=0x100000)
    mm.mprotect(a + PAGE_SIZE, PAGE_SIZE, PROT_READ)
    mm.mmap(1 << 40, PROT_READ, addr=0x10000000000)
    k = sim.Kernel(mm)
    k.copy_to_user(a + PAGE_SIZE - 40, bytes(100), 100)
    fig = sim.plot.plot_mm(mm, k.last)
    t = texts(fig)
    assert "rw" in t and "r" in t
    assert any("copy_to_user" in s and "= 60" in s and "40 bytes done" in s for s in t)
    assert "1 TiB" in t or any(s.endswith("GiB") or s.endswith("TiB") for s in t)
    assert len(fig.axes[0].patches) < 60  # folded, not one patch per page of a terabyte
    plt.close(fig)


def test_plot_marks_pinned_and_zero_pages():
    """Pinned pages carry 'pin ×n'; the zero page carries '0'."""
    mm = sim.AddressSpace()
    a = mm.mmap(2 * PAGE_SIZE, RW)
    mm.poke(a, b"x")
    k = sim.Kernel(mm)
    pages = []
    assert k.pin_user_pages_fast(a, 2, 0, pages) == 2
    fig = sim.plot.plot_mm(mm, k.last)
    t = texts(fig)
    assert sum("pin ×1" in s for s in t) == 2 and "0" in t
    plt.close(fig)


def test_explorer_updates_result_when_sliders_move():
    """Moving the address or the length re-runs the call; the demo's default shows a partial copy."""
    widgets = pytest.importorskip("sim.widgets")
    e = widgets.Explorer()
    assert "copy_from_user" in e.last_text and "= 40" in e.last_text
    e.length.value = 24
    assert "= 0 " in e.last_text
    e.api.value = "strnlen_user"
    e.offset.value = PAGE_SIZE - 10  # the demo string, crossing into the second page
    e.length.value = 100
    assert e.last_text.split("= ")[1].startswith("23")
    e.kernel.value = "6.12"
    assert e.last_text.split("= ")[1].startswith("23")
    before = e.mm.memory_usage()
    e.api.value = "copy_to_user"
    assert e.mm.memory_usage() == before  # the explorer runs on a copy
