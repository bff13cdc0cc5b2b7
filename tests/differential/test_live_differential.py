"""Ask the real kernel fresh questions now, in a VM, and compare with sim (not the recorded truth).

A small corpus with a different seed from the committed one, so that this
also checks that sim generalises beyond the scenarios it was proven on.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest
import record
import replay
import scenarios

SMALL_MIX = {api: 25 for api in scenarios.APIS}


@pytest.mark.vm
@pytest.mark.timeout(900)
@pytest.mark.parametrize("series", ["6.1", "6.12"])
def test_sim_agrees_with_a_fresh_recording(series: str) -> None:
    """250 new scenarios, recorded live: every answer of sim equals the kernel's."""
    if shutil.which("qemu-system-x86_64") is None:
        pytest.skip("qemu-system-x86 is not installed")
    corpus = scenarios.generate(seed=4242, mix=SMALL_MIX)
    workdir = Path(tempfile.mkdtemp(prefix=f"uaccess-live-{series}-"))
    try:
        _, rows = record.record(series, corpus, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    failures = []
    for row in rows:
        diffs = replay.compare(row["scenario"], row["truth"], series)
        if diffs:
            failures.append(f"#{row['scenario']['id']} {scenarios.Scenario(**row['scenario']).line()}: {diffs}")
    assert not failures, "sim disagrees with the live kernel:\n" + "\n".join(failures[:10])
