"""Rule-group replay (engine.rules.replay) against the rule manager's semantics, and the
whole-grid fast path against step-by-step evaluation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from replay_helpers import M, out_series, replay, store, up, values

from engine.rules.load import load_text
from engine.rules.replay import ReplayOptions, run_replay
from engine.store import is_stale

# ---- recording rules -------------------------------------------------------------------


def test_recording_labels_group_labels_and_overrides():
    rules = """
groups:
- name: g
  labels: {team: a, env: prod}
  rules:
  - record: job:up:max
    expr: max by (job, zone) (up)
    labels: {env: "", tier: gold}
"""
    data = store(up([1, 1], job="j", zone="z"))
    rep = replay(rules, data, M, 2 * M)
    (key,) = out_series(rep, "job:up:max")
    # group labels, then rule labels on top; an empty value deletes the label
    assert dict(key) == {"job": "j", "team": "a", "tier": "gold", "zone": "z"}


def test_scalar_result_is_one_unlabelled_series_and_string_is_an_error():
    rules = """
groups:
- name: g
  rules:
  - record: one
    expr: scalar(sum(up))
  - record: s
    expr: '"text"'
"""
    rep = replay(rules, store(up([3, 3])), M, 2 * M)
    assert out_series(rep, "one") == {(): ([M, 2 * M], pytest.approx(np.array([3.0, 3.0])))}
    assert [(e.time, e.rule, e.message) for e in rep.errors] == [
        (M, "s", "rule result is not a vector or scalar"),
        (2 * M, "s", "rule result is not a vector or scalar"),
    ]


def test_stale_markers_for_vanished_series_but_not_after_errors():
    rules = """
groups:
- name: g
  limit: 2
  rules:
  - record: r
    expr: up
"""
    data = store(
        {
            **up([1, 1, None, None, None, None, None, 1, 1, 1], instance="a"),
            **up([1, 1, 1, 1, 1, 1, 1, 1, 1, 1], instance="b"),
            **up([None] * 8 + [1, 1], instance="c"),
        }
    )
    rep = replay(rules, data, M, 9 * M)
    a = out_series(rep, "r")[(("instance", "a"),)]
    # a vanishes after 5m of lookback: stale marker at 7m; at 9m three series exceed
    # the limit: an error, no samples and no stale markers
    assert a[0] == [M, 2 * M, 3 * M, 4 * M, 5 * M, 6 * M, 7 * M, 8 * M]
    assert values(a[1]) == [1.0] * 6 + ["stale", 1.0]
    assert [(e.time, e.message) for e in rep.errors] == [
        (9 * M, "exceeded limit of 2 with 3 series")
    ]


def test_duplicate_labelsets_after_rule_labels():
    rules = """
groups:
- name: g
  rules:
  - record: r
    expr: up
    labels: {instance: same}
"""
    rep = replay(rules, store({**up([1], instance="a"), **up([1], instance="b")}), M, M)
    assert [e.message for e in rep.errors] == [
        "vector contains metrics with the same labelset after applying rule labels"
    ]
    assert out_series(rep, "r") == {}


def test_later_rule_reads_earlier_output_of_the_same_evaluation():
    rules = """
groups:
- name: g
  rules:
  - record: a
    expr: sum(up)
  - record: b
    expr: a * 10
"""
    rep = replay(rules, store(up([1, 2, 3])), M, 3 * M)
    assert out_series(rep, "b")[()][1].tolist() == [10.0, 20.0, 30.0]


def test_rule_reading_its_own_output_counts_evaluations():
    rules = """
groups:
- name: g
  rules:
  - record: n
    expr: n + 1 or vector(0)
"""
    for strategy in ("auto", "step"):
        rep = replay(rules, store(up([1])), 0, 4 * M, strategy=strategy)
        assert out_series(rep, "n")[()][1].tolist() == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert rep.units[0].mode == "step"


def test_rule_reading_a_later_rule_sees_its_previous_evaluation():
    rules = """
groups:
- name: g
  rules:
  - record: early
    expr: late
  - record: late
    expr: sum(up)
"""
    rep = replay(rules, store(up([1, 2, 3, 4])), M, 4 * M)
    # at each evaluation "late" is not yet written: "early" sees the previous one
    assert out_series(rep, "early")[()] == (
        [2 * M, 3 * M, 4 * M],
        pytest.approx(np.array([1.0, 2.0, 3.0])),
    )


def test_query_offset_moves_outputs_but_not_active_at():
    rules = """
groups:
- name: g
  query_offset: 1m
  rules:
  - record: r
    expr: sum(up)
  - alert: A
    expr: up > 0
    for: 1m
"""
    data = store(up([0, 1, 1, 1, 1]))
    rep = replay(rules, data, 2 * M, 5 * M)
    ts, vals = out_series(rep, "r")[()]
    assert ts == [M, 2 * M, 3 * M, 4 * M] and vals.tolist() == [0.0, 1.0, 1.0, 1.0]
    (inst,) = rep.instances
    ep = inst.episodes[0]
    # up > 0 is first true at query time 2m, i.e. at the evaluation at 3m
    assert (ep.active_at, ep.fired_at) == (3 * M, 4 * M)
    alerts = {
        lab["alertstate"]: (t.tolist(), v.tolist())
        for lab, t, v in rep.output_store().select("ALERTS")
    }
    assert alerts["pending"][0] == [2 * M, 3 * M]  # written at t - 1m
    fs = rep.output_store().select("ALERTS_FOR_STATE")[0]
    assert fs[2].tolist()[0] == 180.0  # activeAt in unix seconds, on the slot


def test_alerts_of_one_group_read_by_another():
    rules = """
groups:
- name: alerts
  rules:
  - alert: Down
    expr: up == 0
- name: meta
  rules:
  - record: firing_count
    expr: count(ALERTS{alertstate="firing"}) or vector(0)
"""
    rep = replay(rules, store(up([1, 0, 0, 1])), M, 4 * M)
    assert out_series(rep, "firing_count")[()][1].tolist() == [0.0, 1.0, 1.0, 0.0]


def test_episode_report_and_alerts_at():
    rules = """
groups:
- name: g
  rules:
  - alert: Down
    expr: up == 0
    for: 2m
    labels: {severity: page}
    annotations: {summary: instance down}
"""
    rep = replay(rules, store(up([1, 0, 0, 0, 0, 1, 1, 0, 1])), M, 9 * M)
    (inst,) = rep.instances
    assert inst.labels == {"alertname": "Down", "severity": "page"}
    got = [(e.active_at, e.fired_at, e.resolved_at, e.dropped_at) for e in inst.episodes]
    assert got == [(2 * M, 4 * M, 6 * M, None), (8 * M, None, None, 9 * M)]
    firing = rep.alerts_at(5 * M + 30_000)
    assert [(a.state, a.active_at, a.annotations) for a in firing] == [
        ("firing", 2 * M, {"summary": "instance down"})
    ]
    doc = rep.to_json()
    assert doc["instances"][0]["episodes"][0] == {
        "active_at": 120,
        "fired_at": 240,
        "resolved_at": 360,
        "dropped_at": None,
        "annotations_at_firing": {"summary": "instance down"},
        "annotations_last": {"summary": "instance down"},
        "value_at_firing": "0",
    }
    assert "dropped while pending" in rep.table()
    assert "Down{}  .ppFF..p." in rep.strip()  # 1m .. 9m


def test_warmup_reports_from_start_only():
    rules = """
groups:
- name: g
  rules:
  - alert: Down
    expr: up == 0
    for: 3m
"""
    data = store(up([0] * 10))
    cold = replay(rules, data, 5 * M, 9 * M)
    warm = replay(rules, data, 5 * M, 9 * M, warmup_ms=4 * M)
    assert cold.instances[0].episodes[0].active_at == 5 * M
    assert cold.instances[0].episodes[0].fired_at == 8 * M
    assert (warm.instances[0].episodes[0].active_at, warm.instances[0].episodes[0].fired_at) == (
        M,
        4 * M,
    )


# ---- fast path == step by step --------------------------------------------------------

POOL = [
    ("record", "s1", "sum by (job) (m)"),
    ("record", "s2", "s1 * 2"),
    ("record", "rt", "rate(m[2m])"),
    ("record", "lt", "s9 + 1"),
    ("record", "self", "self + 1 or vector(0)"),
    ("record", "ac", "count by (alertname) (ALERTS)"),
    ("record", "s9", "max(m)"),
    ("record", "dup", "label_replace(m, 'inst', 'x', '', '')"),
    ("alert", "A1", "m > 3"),
    ("alert", "A2", "s1 > 8"),
    ("alert", "A3", "rt > 0.01"),
]


@st.composite
def rule_sets(draw):
    n_groups = draw(st.integers(1, 2))
    lines = ["groups:"]
    for g in range(n_groups):
        lines.append(f"- name: g{g}")
        if draw(st.booleans()):
            lines.append(f"  query_offset: {draw(st.sampled_from(['30s', '1m']))}")
        if draw(st.booleans()):
            lines.append(f"  limit: {draw(st.integers(1, 4))}")
        if draw(st.booleans()):
            lines.append(f"  interval: {draw(st.sampled_from(['30s', '1m', '2m']))}")
        lines.append("  rules:")
        picks = draw(st.lists(st.sampled_from(POOL), min_size=1, max_size=5, unique=True))
        for kind, name, expr in picks:
            if kind == "record":
                lines.append(
                    f"  - record: {name}_{g}"
                    if name not in ("s1", "s9", "self", "rt")
                    else f"  - record: {name}"
                )
                lines.append(f'    expr: "{expr}"')
            else:
                lines.append(f"  - alert: {name}")
                lines.append(f'    expr: "{expr}"')
                lines.append(f"    for: {draw(st.sampled_from(['0s', '1m', '2m']))}")
                lines.append(f"    keep_firing_for: {draw(st.sampled_from(['0s', '1m', '3m']))}")
    return "\n".join(lines) + "\n"


@st.composite
def datasets(draw):
    series = {}
    for i in range(draw(st.integers(1, 3))):
        vals = draw(st.lists(st.one_of(st.none(), st.integers(0, 6)), min_size=5, max_size=25))
        phase = draw(st.integers(1, 14_999))
        key = (("__name__", "m"), ("inst", str(i)), ("job", "j" + str(i % 2)))
        series[key] = [(phase + k * 15_000, float(v)) for k, v in enumerate(vals) if v is not None]
    return store(series)


def _canon(rep):
    st_ = rep.output_store()
    out = {}
    for lab, ts, vals in st_.select('{__name__=~".+"}'):
        out[tuple(sorted(lab.items()))] = (ts.tolist(), vals.view(np.uint64).tolist())
    eps = [
        (
            i.alertname,
            sorted(i.labels.items()),
            [(e.active_at, e.fired_at, e.resolved_at, e.dropped_at, e.kept) for e in i.episodes],
        )
        for i in rep.instances
    ]
    errs = [(e.time, e.group, e.rule, e.message) for e in rep.errors]
    return out, eps, errs


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rules=rule_sets(), data=datasets(), align=st.sampled_from(["epoch", "promtool"]))
def test_whole_grid_evaluation_equals_step_by_step(rules, data, align):
    rs = load_text(rules, "r.yml")
    opts = dict(align=align, evaluation_interval_ms=30_000)
    fast = run_replay(rs, data, 30_000, 6 * M, ReplayOptions(**opts))
    slow = run_replay(rs, data, 30_000, 6 * M, ReplayOptions(strategy="step", **opts))
    assert _canon(fast) == _canon(slow)


def test_fast_path_is_used_for_plain_chains():
    rules = """
groups:
- name: g
  rules:
  - record: a
    expr: sum(up)
  - alert: A
    expr: a > 0
"""
    rep = replay(rules, store(up([1, 1])), M, 2 * M)
    assert [u.mode for u in rep.units] == ["range", "range"]


def test_nan_values_are_kept_and_not_stale():
    rules = """
groups:
- name: g
  rules:
  - record: r
    expr: up / 0 * 0
"""
    rep = replay(rules, store(up([1, 1])), M, 2 * M)
    ((_, vals),) = out_series(rep, "r").values()
    assert all(math.isnan(v) for v in vals.tolist()) and not is_stale(vals).any()


@pytest.mark.parametrize("version", [2, 3])
def test_server_alignment_evaluates_on_the_groups_hashed_slot(version):
    from engine.rules.clock import slot_offset_ns

    path = "/etc/prometheus/rules/prometheus-k8s-rulefiles-0/monitoring-x.yaml"
    rules = (
        "groups:\n- name: g\n  interval: 30s\n  rules:\n  - alert: Always\n    expr: vector(1)\n"
    )
    rs = load_text(rules, path)
    off_ms = slot_offset_ns(path, "g", 30_000, version) // 1_000_000
    rep = run_replay(
        rs, store(up([1])), 0, 5 * M, ReplayOptions(align="server", prometheus_version=version)
    )
    (inst,) = rep.instances
    assert inst.episodes[0].active_at == off_ms
    assert rep.evaluation_times()[:2] == [off_ms, off_ms + 30_000]


def test_global_query_offset_applies_unless_the_group_sets_one():
    rules = """
groups:
- name: a
  rules:
  - record: ra
    expr: sum(up)
- name: b
  query_offset: 0s
  rules:
  - record: rb
    expr: sum(up)
"""
    rep = replay(rules, store(up([1, 1, 1])), 2 * M, 2 * M, query_offset_ms=M)
    assert out_series(rep, "ra")[()][0] == [M]
    assert out_series(rep, "rb")[()][0] == [2 * M]


def test_promtool_alignment_ignores_group_intervals():
    rules = """
groups:
- name: slow
  interval: 2m
  rules:
  - record: r
    expr: sum(up)
"""
    data = store(up([1] * 6))
    rep = replay(rules, data, 30_000, 5 * M, align="promtool", evaluation_interval_ms=M)
    every_minute = [30_000 + k * M for k in range(5)]
    assert rep.evaluation_times() == every_minute
    assert out_series(rep, "r")[()][0] == every_minute
    epoch = replay(rules, data, 30_000, 5 * M, evaluation_interval_ms=M)
    assert epoch.evaluation_times() == [2 * M, 4 * M]  # the group's own interval
