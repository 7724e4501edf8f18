"""Replays pinned into promtool test files that Debian's ``promtool test rules`` (2.42)
accepts, and single mutations of them that it rejects, with ``promreplay rules test``
giving the same verdicts and the same failing (alertname|expr, eval_time) pairs.

The data keeps clear of the 2.x/3.x differences: dense samples every 30s, range windows
of 155s (no sample ever sits on a window edge), counters that start at 0.
"""

from __future__ import annotations

import copy

import pytest
from promtool_pin import replay_and_pin, run_both

pytestmark = pytest.mark.prometheus

RULES = """
groups:
- name: rec
  rules:
  - record: job:req:rate155s
    expr: sum by (job) (rate(req_total[155s]))
  - record: job:err:ratio155s
    expr: sum by (job) (rate(req_total{code="500"}[155s])) / job:req:rate155s
- name: alerts
  rules:
  - alert: ErrorRatioHigh
    expr: job:err:ratio155s > 0.1
    for: 2m
    keep_firing_for: 2m
    labels:
      severity: '{{ if gt $value 0.3 }}critical{{ else }}warning{{ end }}'
    annotations:
      summary: '{{ $labels.job }}: {{ humanizePercentage $value }} errors'
  - alert: Down
    expr: up == 0
    for: 1m
    labels: {team: infra}
    annotations:
      summary: '{{ $labels.instance }} down (value {{ $value }})'
  - alert: ErrorsSeen
    expr: sum by (job) (job:req:rate155s) > 0 and on(job) job:err:ratio155s > 0.05
    annotations:
      description: 'job {{ $labels.job }}'
"""

SERIES = [
    ('req_total{job="api", code="200"}', "0+60x80"),
    ('req_total{job="api", code="500"}', "0+1x20 21+40x12 501+1x47"),
    ('req_total{job="web", code="200"}', "0+30x80"),
    ('req_total{job="web", code="500"}', "0+0x30 0+6x20 120+0x29"),
    ('up{instance="a"}', "1x20 0x12 1x48"),
    ('up{instance="b"}', "1x80"),
]
INTERVAL = 30_000
EVAL_TIMES = [m * 60_000 for m in range(0, 40, 2)] + [13 * 60_000 + 30_000, 17 * 60_000]
EXPRS = ["job:err:ratio155s", "ALERTS", "ALERTS_FOR_STATE", "job:req:rate155s"]


@pytest.fixture(scope="module")
def case(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("oracle")
    rep, doc = replay_and_pin(tmp, RULES, SERIES, INTERVAL, EVAL_TIMES, EXPRS)
    return tmp, rep, doc


def test_the_replay_found_something_worth_pinning(case):
    _, rep, _ = case
    names = {i.alertname for i in rep.instances}
    assert names == {"ErrorRatioHigh", "Down", "ErrorsSeen"}
    sev = {i.labels.get("severity") for i in rep.instances if i.alertname == "ErrorRatioHigh"}
    assert sev == {"warning", "critical"}  # the templated label changes the identity
    assert any(e.kept for i in rep.instances for e in i.episodes)  # keep_firing_for used


def test_promtool_accepts_the_pinned_replay(case):
    tmp, _, doc = case
    assert doc["group_eval_order"] == ["rec", "alerts"]  # promtool would pick at random
    (pc, pf, perr), (oc, of, oerr) = run_both(tmp, doc, "base")
    assert pc == 0, perr
    assert oc == 0, oerr


def _mutations(rep, doc):
    out = {}
    tests = doc["tests"][0]
    d = copy.deepcopy(doc)
    for case in d["tests"][0]["promql_expr_test"]:
        s = next((s for s in case["exp_samples"] if s["value"] not in (0, 1)), None)
        if s is not None:
            s["value"] = s["value"] * (1 + 1e-9)
            break
    out["value_off_by_1e-9"] = d
    d = copy.deepcopy(doc)
    case = next(c for c in d["tests"][0]["alert_rule_test"] if c["exp_alerts"])
    case["exp_alerts"].pop()
    out["alert_removed"] = d
    d = copy.deepcopy(doc)
    case = next(
        c
        for c in d["tests"][0]["alert_rule_test"]
        if c["exp_alerts"] and c["exp_alerts"][0]["exp_annotations"]
    )
    a = case["exp_alerts"][0]["exp_annotations"]
    k = sorted(a)[0]
    a[k] = a[k] + " "
    out["annotation_trailing_space"] = d
    d = copy.deepcopy(doc)
    for i, case in enumerate(tests["alert_rule_test"]):
        from engine.promql.parse import parse_duration

        t = rep.start + parse_duration(case["eval_time"])
        pending = [a for a in rep.alerts_at(t, state="pending") if a.alertname == case["alertname"]]
        if pending:
            a = pending[0]
            d["tests"][0]["alert_rule_test"][i]["exp_alerts"].append(
                {
                    "exp_labels": {k: v for k, v in a.labels.items() if k != "alertname"},
                    "exp_annotations": dict(a.annotations),
                }
            )
            break
    else:
        pytest.fail("no pending alert at any eval time")
    out["pending_expected_as_firing"] = d
    return out


@pytest.mark.parametrize(
    "mutation",
    [
        "value_off_by_1e-9",
        "alert_removed",
        "annotation_trailing_space",
        "pending_expected_as_firing",
    ],
)
def test_single_mutations_fail_in_both(case, mutation):
    tmp, rep, doc = case
    mutated = _mutations(rep, doc)[mutation]
    (pc, pf, perr), (oc, of, oerr) = run_both(tmp, mutated, mutation)
    assert pc == 1, perr
    assert oc == 1, oerr
    assert pf == of and pf, (perr, oerr)
