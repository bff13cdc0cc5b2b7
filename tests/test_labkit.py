"""labkit's simulator side and its comparison table (no VM needed)."""

from types import SimpleNamespace

import pytest

import sim
from uaccess_lab.labkit import LOW_BASE, Answer, Question, compare, simulate


def test_question_rejects_bad_layout():
    """A layout character outside LAYOUT_CODES is refused with the allowed set."""
    with pytest.raises(ValueError, match="layout"):
        Question("copy_from_user", uaddr=LOW_BASE, size=1, layout="wx")


def test_question_rejects_nul_outside_filled_pages():
    """A NUL can only go where the recorder writes bytes."""
    with pytest.raises(ValueError, match="filled page"):
        Question("strnlen_user", uaddr=LOW_BASE, size=10, layout="-w", nuls=[LOW_BASE + 3])


def test_simulate_partial_copy():
    """copy_from_user 60 bytes before a hole: 40 of 100 not copied, the rest of kbuf zeroed."""
    q = Question("copy_from_user", layout="w-", uaddr=LOW_BASE + sim.PAGE_SIZE - 60, size=100)
    a = simulate(q)
    assert a.ret == 40
    assert a.kbuf[:60] == q.user_bytes(q.uaddr, 60)
    assert a.kbuf[60:] == bytes(40)
    assert a.resident == "1-"


def test_scenario_line_matches_recorder_format():
    """12 space-separated fields, as uaccess_record.c parses them."""
    line = Question("strnlen_user", uaddr=LOW_BASE, size=-1 & (2**64 - 1), nuls=[LOW_BASE + 5]).line(7)
    assert line.split() == ["7", "strnlen_user", hex(LOW_BASE), "w", hex(LOW_BASE), "0xffffffffffffffff",
                            "0x0", "0x0", "0x0", "0x1", hex(LOW_BASE + 5), "-"]


def test_compare_flags_disagreement_loudly():
    """Any sim/kernel difference, even in a field not shown, is reported as a simulator bug."""
    s = Answer(ret=0, resident="1", where="sim 6.1")
    k = Answer(ret=0, resident="0", where="kernel 6.1")
    table = compare(0, s, k)
    assert not table.agree
    assert "bug in the simulator" in table._repr_html_()
    assert "resident" in str(table)
    assert compare(0, s, Answer(ret=0, resident="1", where="k")).agree


def test_one_guest_shared_with_the_magics_and_the_driver_tests(monkeypatch):
    """labkit, the %%guest magics and check()/run_on_driver() use one guest; one kernel at a time (none booted)."""
    from uaccess_lab import labkit
    from uaccess_lab.magics import UaccessMagics
    from uaccess_lab.vm import shared

    monkeypatch.setattr(shared, "_guest", None)
    monkeypatch.setattr(shared, "_default", None)
    g = labkit.shared_guest()
    assert g.kernel.series == "6.1"
    assert shared.shared_guest() is g and labkit.shared_guest("6.1") is g
    assert UaccessMagics._guest(SimpleNamespace(series=shared.default_kernel())) is g

    g612 = labkit.shared_guest("6.12")
    assert g612 is not g and g612.kernel.series == "6.12"
    assert shared.current_guest() is g612, "asking for another kernel replaces the one guest"
    shared.set_default_kernel("6.12")
    assert shared.shared_guest() is g612
