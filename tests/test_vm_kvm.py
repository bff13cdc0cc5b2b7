"""KVM or TCG: forced choices are obeyed, and the probe is quick, bounded and cached."""

import json
import time

import pytest

from uaccess_lab.kernels import resolve
from uaccess_lab.vm import kvm


@pytest.fixture
def fresh_probe(monkeypatch, tmp_path):
    """No cached answer, in this process or on disk."""
    monkeypatch.setenv("UACCESS_LAB_CACHE", str(tmp_path))
    monkeypatch.delenv("UACCESS_LAB_KVM", raising=False)
    monkeypatch.setattr(kvm, "_process_answer", None)
    return tmp_path


def test_forced_choice_needs_no_probe(fresh_probe, monkeypatch):
    """kvm="off"/"on" and UACCESS_LAB_KVM decide without starting QEMU; nonsense is refused."""
    assert kvm.use_kvm("off") is False
    assert kvm.use_kvm(True) is True
    monkeypatch.setenv("UACCESS_LAB_KVM", "tcg")
    assert kvm.use_kvm(None) is False
    assert not (fresh_probe / "kvm-probe.json").exists()
    with pytest.raises(ValueError, match="use 'on', 'off' or 'auto'"):
        kvm.use_kvm("sometimes")


@pytest.mark.vm
def test_probe_is_bounded_and_cached(fresh_probe):
    """The probe takes seconds at most, once; later answers come from the cache."""
    image = resolve("6.1").image
    started = time.monotonic()
    first = kvm.use_kvm(None, image)
    assert time.monotonic() - started < 15
    saved = fresh_probe / "kvm-probe.json"
    if kvm._parse(None) is None and not kvm.os.access("/dev/kvm", kvm.os.R_OK | kvm.os.W_OK):
        assert first is False  # no usable /dev/kvm: TCG without probing
        return
    assert json.loads(saved.read_text())["works"] is first
    kvm._process_answer = None  # a new process: the file answers
    started = time.monotonic()
    assert kvm.use_kvm(None, image) is first
    assert time.monotonic() - started < 0.5
