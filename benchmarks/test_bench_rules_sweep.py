"""Sweep speed (engine/rules/sweep.py): many variants of one alert cost about one replay.

Run with ``make bench`` or
``.venv/bin/python -m pytest benchmarks/test_bench_rules_sweep.py --benchmark-enable``.
Over the bundled capture (``fixtures/demo-capture``, rule file ``fixtures/rules/istio.yml``),
a sweep of 6 thresholds x 5 ``for`` x 3 ``keep_firing_for`` (90 variants) evaluates the
expression once and runs the alert state machine 90 times; 90 replays would evaluate
every rule 90 times. The check: the sweep takes less than five replays of the rule file.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

import engine
import engine.rules

ROOT = Path(__file__).resolve().parent.parent
THRESHOLDS = [0.01, 0.02, 0.05, 0.1, 0.2, 0.3]
FORS = ["0s", "1m", "2m", "5m", "10m"]
KEEPS = ["0s", "2m", "5m"]


@pytest.fixture(scope="module")
def demo():
    db = engine.open(str(ROOT / "fixtures" / "demo-capture"))
    rs = engine.rules.load(str(ROOT / "fixtures" / "rules" / "istio.yml"))
    rs.replay(db, "start+5m", "end")  # compile the kernels first
    return db, rs


def test_sweep_of_90_variants_costs_less_than_five_replays(demo, benchmark):
    db, rs = demo
    t0 = time.perf_counter()
    for _ in range(3):
        rs.replay(db, "start+5m", "end")
    one_replay = (time.perf_counter() - t0) / 3
    res = benchmark.pedantic(
        rs.sweep,
        args=(db, "start+5m", "end"),
        kwargs=dict(
            alert="IstioErrorRatioHigh", thresholds=THRESHOLDS, fors=FORS, keep_firing_fors=KEEPS
        ),
        rounds=3,
    )
    benchmark.extra_info["one_replay_s"] = one_replay
    assert len(res.variants) == 90
    assert benchmark.stats["min"] < 5 * one_replay
