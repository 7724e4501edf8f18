"""Prometheus' own PromQL conformance corpus, run with our engine (issue 3 §5).

Every eval of ``../shared/promqltest/upstream/*.test`` runs through the promqltest runner
with :class:`~engine.promqltest.PrometheusEngine`, range-mode and @-invariance checks
included. All ``core``-tier evals must pass; the counts of every tier (``nh`` and ``exp``
do not fail the run yet) are printed whatever the outcome.
"""

from __future__ import annotations

from collections import Counter

import pytest
from conftest import shared_path

from engine.promqltest import Manifest, PrometheusEngine, run_file
from engine.promqltest.report import format_failure

TIERS = ("core", "nh", "exp", "nh+exp")


@pytest.fixture(scope="module")
def corpus():
    folder = shared_path("promqltest", "upstream")
    manifest = Manifest.load(folder.parent / "manifest-upstream.tsv")
    try:
        engine = PrometheusEngine()
    except ImportError as e:
        pytest.fail(f"the engine cannot be imported: {e}")
    records = []
    for path in sorted(folder.glob("*.test")):
        records.extend(run_file(path, engine, name=path.name))
    return manifest, records


def test_every_core_eval_passes(corpus, capsys):
    manifest, records = corpus
    tally: Counter[tuple[str, str]] = Counter()
    failed_core = []
    load_failures = [r for r in records if r.expr == "load"]
    for r in records:
        if r.expr == "load":
            continue
        entry = manifest.entry(r.file, r.line)
        tier = entry.tier if entry is not None else "unlisted"
        tally[(tier, r.status)] += 1
        if tier == "core" and r.status != "pass":
            failed_core.append(r)
    with capsys.disabled():
        print("\nupstream promqltest corpus:")
        for tier in (*TIERS, "unlisted"):
            p, f = tally[(tier, "pass")], tally[(tier, "fail")]
            if p or f:
                print(f"  {tier:8} {p:5} passed {f:5} failed ({100 * p / (p + f):.1f}%)")
        if load_failures:
            print(f"  {len(load_failures)} load commands failed")
    assert tally[("unlisted", "pass")] + tally[("unlisted", "fail")] == 0, (
        "evals missing from the manifest"
    )
    assert tally[("core", "pass")] + tally[("core", "fail")] == 750
    details = "\n".join(format_failure(r) for r in failed_core[:25])
    assert not failed_core, f"{len(failed_core)} core evals fail; the first ones:\n{details}"
