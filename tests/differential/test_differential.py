"""sim agrees with the real kernel on every recorded scenario (100%, per kernel).

The truth files were recorded in a VM by record.py (real Debian kernels under
QEMU); replaying them needs no VM and takes seconds. A disagreement prints
the scenario and each field where sim and the kernel differ.
"""

from __future__ import annotations

import collections
import json
from pathlib import Path

import pytest
import replay
import scenarios

HERE = Path(__file__).resolve().parent
KERNELS = ("6.1", "6.12")
MIN_SCENARIOS = 2000


def load(series: str) -> tuple[dict, list[dict]]:
    path = HERE / f"truth-{series}.jsonl"
    if not path.exists():
        pytest.fail(f"{path.name} is missing: record it with `python tests/differential/record.py {series}`")
    lines = path.read_text().splitlines()
    return json.loads(lines[0]), [json.loads(line) for line in lines[1:]]


def table(rows: dict[str, list[int]], title: str) -> str:
    out = [title, f"  {'API':<20}{'scenarios':>10}{'agree':>8}{'%':>8}"]
    total, agree = 0, 0
    for api in scenarios.APIS:
        n, ok = rows.get(api, [0, 0])
        total += n
        agree += ok
        out.append(f"  {api:<20}{n:>10}{ok:>8}{100.0 * ok / n if n else 0:>8.1f}")
    out.append(f"  {'all':<20}{total:>10}{agree:>8}{100.0 * agree / total if total else 0:>8.1f}")
    return "\n".join(out)


@pytest.mark.parametrize("series", KERNELS)
def test_truth_file_is_a_real_recording(series: str) -> None:
    """The truth comes from a run of the named kernel, with the corpus the generator makes today."""
    header, rows = load(series)
    info = header["info"]
    assert info["release"].startswith(series + "."), f"recorded on {info['release']}, not {series}"
    assert info["task_size_max"] == scenarios.TASK_SIZE_MAX, "recorded with 5-level paging; boot with no5lvl"
    corpus = scenarios.generate(header["generator_seed"])
    assert [s.to_json() for s in corpus] == [r["scenario"] for r in rows], (
        "the generator changed since the truth was recorded: run record.py again"
    )
    recorded = sum(1 for r in rows if "skip" not in r["truth"])
    assert recorded >= MIN_SCENARIOS, f"only {recorded} scenarios were recorded (need {MIN_SCENARIOS})"


@pytest.mark.parametrize("series", KERNELS)
def test_sim_agrees_with_kernel(series: str, capsys: pytest.CaptureFixture) -> None:
    """Every recorded scenario: sim's answer equals the kernel's, field for field."""
    _, rows = load(series)
    per_api: dict[str, list[int]] = collections.defaultdict(lambda: [0, 0])
    failures = []
    for row in rows:
        sc, truth = row["scenario"], row["truth"]
        if "skip" in truth:
            continue
        diffs = replay.compare(sc, truth, series)
        per_api[sc["api"]][0] += 1
        if diffs:
            failures.append((sc, diffs))
        else:
            per_api[sc["api"]][1] += 1
    report = table(per_api, f"sim vs Linux {series}: agreement per API")
    with capsys.disabled():
        print("\n" + report)
    if failures:
        lines = [report, f"{len(failures)} scenario(s) disagree; the first ones:"]
        for sc, diffs in failures[:15]:
            lines.append(f"- #{sc['id']} {scenarios.Scenario(**sc).line()}")
            lines.extend(f"    {d}" for d in diffs)
        pytest.fail("\n".join(lines), pytrace=False)
