"""More rule families checked against Debian's ``promtool test rules`` (2.42): a replay is
pinned into a promtool test file that promtool must accept, and rule errors that start
mid-range must be reported by both at the same evaluation with the same message.

Families: a recorded classic-histogram p99 with an alert on it (severity from
``$value``), ``increase`` and ``max_over_time`` of a recorded series with
``keep_firing_for``, ``absent()`` of a series that disappears, and a second group that
records and alerts on ``ALERTS``; then a group ``limit`` and duplicate label sets.

The data keeps clear of the 2.x/3.x differences: samples every 30s, evaluations on whole
minutes, window and lookback edges never on a sample, counters that start at 0.
"""

from __future__ import annotations

import pytest
from promtool_pin import replay_and_pin, rule_errors, run_both

pytestmark = pytest.mark.prometheus

INTERVAL = 30_000
M = 60_000

RULES = """
groups:
- name: rec
  rules:
  - record: job:lat:rate155s
    expr: sum by (job, le) (rate(lat_bucket[155s]))
  - record: job:lat:p99
    expr: histogram_quantile(0.99, job:lat:rate155s)
  - record: job:err:increase155s
    expr: sum by (job) (increase(req_total{code="500"}[155s]))
- name: alerts
  rules:
  - alert: LatencyP99High
    expr: job:lat:p99 > 0.5
    for: 1m
    labels:
      severity: '{{ if gt $value 0.9 }}page{{ else }}ticket{{ end }}'
    annotations:
      summary: 'p99 {{ $value | humanize }}s'
  - alert: ErrorBurst
    expr: max_over_time(job:err:increase155s[275s]) > 20
    keep_firing_for: 3m
    labels: {severity: page}
    annotations: {summary: '{{ $labels.job }} burst {{ $value }}'}
  - alert: TargetMissing
    expr: absent(up{instance="c"})
    for: 2m
    labels: {severity: page}
    annotations: {summary: 'instance c has no up'}
- name: meta
  rules:
  - record: alerts:firing:count
    expr: count by (severity) (ALERTS{alertstate="firing"})
  - alert: ManyPages
    expr: alerts:firing:count{severity="page"} >= 2
    annotations: {summary: '{{ $value }} pages firing'}
"""
SERIES = [
    # 60 requests per 30s, all under 0.5s (p99 0.476s); from 15.5m to 25m, 12 of them
    # take 0.5-1s (p99 0.975s), from 25.5m 1.25 (p99 0.76s)
    ('lat_bucket{job="api", le="0.1"}', "0+50x79"),
    ('lat_bucket{job="api", le="0.5"}', "0+60x30 1848+48x19 2818.75+58.75x28"),
    ('lat_bucket{job="api", le="1"}', "0+60x79"),
    ('lat_bucket{job="api", le="+Inf"}', "0+60x79"),
    ('req_total{job="api", code="500"}', "0+1x20 21+12x6 93+1x52"),
    ('req_total{job="api", code="200"}', "0+59x79"),
    # c's last sample is at 10m30s: absent from 15m31s (no evaluation on the edge)
    ('up{instance="c"}', "1x21"),
    ('up{instance="a"}', "1x79"),
]
EVAL_TIMES = [m * M for m in range(0, 40, 2)] + [13 * M + 30_000, 27 * M, 31 * M]
EXPRS = [
    "job:lat:p99",
    "job:err:increase155s",
    "alerts:firing:count",
    "ALERTS",
    "ALERTS_FOR_STATE",
]


def test_families_pinned_into_a_test_file_that_promtool_accepts(tmp_path):
    rep, doc = replay_and_pin(tmp_path, RULES, SERIES, INTERVAL, EVAL_TIMES, EXPRS)
    # the case is worth checking: every alert fires, the severity changes with $value,
    # keep_firing_for holds one, and the meta group pages on the others
    assert {i.alertname for i in rep.instances} == {
        "LatencyP99High",
        "ErrorBurst",
        "TargetMissing",
        "ManyPages",
    }
    sev = {i.labels["severity"] for i in rep.instances if i.alertname == "LatencyP99High"}
    assert sev == {"page", "ticket"}
    assert any(e.kept for i in rep.instances for e in i.episodes)
    # ManyPages carries severity="page" from its data, so its own ALERTS (read at the
    # next evaluation) count: once firing, it holds itself up after the others resolve
    (many,) = [i for i in rep.instances if i.alertname == "ManyPages"]
    assert [(e.fired_at, e.resolved_at) for e in many.episodes] == [(17 * M, None)]
    assert rep.errors == []
    (pc, _, perr), (oc, _, oerr) = run_both(tmp_path, doc, "families")
    assert pc == 0, perr
    assert oc == 0, oerr
    # and the pinned file is no rubber stamp: without one expected alert, both fail there
    case = next(
        c
        for c in doc["tests"][0]["alert_rule_test"]
        if c["alertname"] == "TargetMissing" and c["eval_time"] == "31m"
    )
    case["exp_alerts"] = []
    (pc, pf, perr), (oc, of, oerr) = run_both(tmp_path, doc, "families_mutated")
    assert pc == oc == 1, (perr, oerr)
    assert pf == of == {("TargetMissing", "31m")}


ERROR_RULES = {
    "limit": """
groups:
- name: lim
  limit: 1
  rules:
  - alert: Down
    expr: up == 0
""",
    "duplicate_alert": """
groups:
- name: dup
  rules:
  - alert: Down
    expr: up == 0
    labels: {instance: same}
""",
    "duplicate_record": """
groups:
- name: dup
  rules:
  - record: up:relabelled
    expr: up == 0
    labels: {instance: same}
""",
}
# a is down from 10m30s to 16m, b from 15m to 17m: both at the evaluations 15m and 16m
ERROR_SERIES = [
    ('up{instance="a"}', "1x20 0x11 1x47"),
    ('up{instance="b"}', "1x29 0x4 1x45"),
]


@pytest.mark.parametrize("kind", sorted(ERROR_RULES))
def test_errors_that_start_mid_range_are_reported_like_promtool(tmp_path, kind):
    rules = ERROR_RULES[kind]
    rep, doc = replay_and_pin(tmp_path, rules, ERROR_SERIES, INTERVAL, EVAL_TIMES, ["up"])
    assert [e.time for e in rep.errors] == [15 * M, 16 * M]  # the replay carries on
    first = rep.errors[0]
    (pc, pf, perr), (oc, of, oerr) = run_both(tmp_path, doc, kind)
    # the first evaluation with an error ends the test group, in both; the checks
    # before it pass
    assert pc == oc == 1, (perr, oerr)
    assert pf == of == set()
    assert rule_errors(perr) == rule_errors(oerr) == [
        f"rule: {first.rule}, time: 15m0s, err: {first.message}"
    ]
