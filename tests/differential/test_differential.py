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
#: (kernel series, 5-level paging): the course's 4-level runs, and the same kernels with LA57
KERNELS = ("6.1", "6.12")
VARIANTS = [(s, False) for s in KERNELS] + [(s, True) for s in KERNELS]
IDS = [f"{s}{'-la57' if la57 else ''}" for s, la57 in VARIANTS]
MIN_SCENARIOS = 2000


def load(series: str, la57: bool = False) -> tuple[dict, list[dict]]:
    suffix = "-la57" if la57 else ""
    path = HERE / f"truth-{series}{suffix}.jsonl"
    if not path.exists():
        pytest.fail(f"{path.name} is missing: record it with "
                    f"`python tests/differential/record.py {series}{' --la57' if la57 else ''}`")
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


@pytest.mark.parametrize("series, la57", VARIANTS, ids=IDS)
def test_truth_file_is_a_real_recording(series: str, la57: bool) -> None:
    """The truth comes from a run of the named kernel, with the corpus the generator makes today."""
    header, rows = load(series, la57)
    info = header["info"]
    assert info["release"].startswith(series + "."), f"recorded on {info['release']}, not {series}"
    want = scenarios.TASK_SIZE_MAX_LA57 if la57 else scenarios.TASK_SIZE_MAX
    assert info["task_size_max"] == want, f"recorded with TASK_SIZE_MAX {info['task_size_max']:#x}, not {want:#x}"
    corpus = scenarios.generate(header["generator_seed"], la57=la57)
    assert [s.to_json() for s in corpus] == [r["scenario"] for r in rows], (
        "the generator changed since the truth was recorded: run record.py again"
    )
    recorded = sum(1 for r in rows if "skip" not in r["truth"])
    assert recorded >= MIN_SCENARIOS, f"only {recorded} scenarios were recorded (need {MIN_SCENARIOS})"


@pytest.mark.parametrize("series, la57", VARIANTS, ids=IDS)
def test_sim_agrees_with_kernel(series: str, la57: bool, capsys: pytest.CaptureFixture) -> None:
    """Every recorded scenario: sim's answer equals the kernel's, field for field."""
    _, rows = load(series, la57)
    per_api: dict[str, list[int]] = collections.defaultdict(lambda: [0, 0])
    failures = []
    for row in rows:
        sc, truth = row["scenario"], row["truth"]
        if "skip" in truth:
            continue
        diffs = replay.compare(sc, truth, series, la57)
        per_api[sc["api"]][0] += 1
        if diffs:
            failures.append((sc, diffs))
        else:
            per_api[sc["api"]][1] += 1
    paging = "5-level paging (LA57)" if la57 else "4-level paging"
    report = table(per_api, f"sim vs Linux {series}, {paging}: agreement per API")
    with capsys.disabled():
        print("\n" + report)
    if failures:
        lines = [report, f"{len(failures)} scenario(s) disagree; the first ones:"]
        for sc, diffs in failures[:15]:
            lines.append(f"- #{sc['id']} {scenarios.Scenario(**sc).line()}")
            lines.extend(f"    {d}" for d in diffs)
        pytest.fail("\n".join(lines), pytrace=False)
