"""Alerting rules in a whole replay (engine.rules.replay): alert identity, the ``ALERTS`` /
``ALERTS_FOR_STATE`` series and their stale markers, and rule errors (duplicates,
``limit``), each on both evaluation paths (whole grid and step by step)."""

from __future__ import annotations

import pytest
from replay_helpers import M, out_series, replay, store, up, values

STRATEGIES = pytest.mark.parametrize("strategy", ["auto", "step"])


def alerts_series(rep, state=None):
    """``ALERTS`` (of one state) as ``{labels without __name__/alertstate: (ts, values)}``."""
    out = {}
    for key, (ts, vals) in out_series(rep, "ALERTS").items():
        lab = dict(key)
        if lab.pop("alertstate") == state or state is None:
            out[tuple(sorted(lab.items()))] = (ts, values(vals))
    return out


# ---- identity --------------------------------------------------------------------------


@STRATEGIES
def test_alertname_wins_over_a_data_label_and_a_rule_label(strategy):
    rules = """
groups:
- name: g
  rules:
  - alert: Real
    expr: label_replace(up, "alertname", "FromData", "", "")
    labels: {alertname: FromRule, severity: page}
"""
    rep = replay(rules, store(up([1, 1], instance="a")), M, 2 * M, strategy=strategy)
    (inst,) = rep.instances
    assert inst.alertname == "Real"
    assert inst.labels == {"alertname": "Real", "instance": "a", "severity": "page"}
    (a,) = rep.alerts_at(2 * M)
    assert a.labels["alertname"] == "Real"
    for metric in ("ALERTS", "ALERTS_FOR_STATE"):
        (key,) = out_series(rep, metric)
        assert dict(key)["alertname"] == "Real"


@STRATEGIES
def test_label_template_rendering_empty_deletes_the_label_but_alerts_shows_the_template(
    strategy,
):
    tmpl = "{{ if gt $value 5.0 }}page{{ end }}"
    rules = f"""
groups:
- name: g
  rules:
  - alert: Hot
    expr: temp > 0
    labels:
      severity: '{tmpl}'
"""
    key = (("__name__", "temp"), ("instance", "a"), ("severity", "from-data"))
    data = store({key: [(5_000, 1.0), (65_000, 9.0)]})
    rep = replay(rules, data, M, 2 * M, strategy=strategy)
    # value 1 renders "": the label goes, the data's own severity with it; value 9
    # renders "page": another identity, so the first one resolves
    quiet = {"alertname": "Hot", "instance": "a"}
    loud = {"alertname": "Hot", "instance": "a", "severity": "page"}
    assert [i.labels for i in rep.instances] == [quiet, loud]
    assert [(e.active_at, e.resolved_at) for e in rep.instances[0].episodes] == [(M, 2 * M)]
    assert [a.labels for a in rep.alerts_at(M)] == [quiet]
    # ALERTS / ALERTS_FOR_STATE start from the raw templates: the deleted label shows them
    raw = {**quiet, "severity": tmpl}
    assert alerts_series(rep, "firing") == {
        tuple(sorted(raw.items())): ([M, 2 * M], [1.0, "stale"]),
        tuple(sorted(loud.items())): ([2 * M], [1.0]),
    }
    assert set(out_series(rep, "ALERTS_FOR_STATE")) == {
        tuple(sorted(raw.items())),
        tuple(sorted(loud.items())),
    }


# ---- stale markers -----------------------------------------------------------------------


@STRATEGIES
def test_pending_series_goes_stale_when_firing_and_firing_series_when_resolved(strategy):
    rules = """
groups:
- name: g
  rules:
  - alert: Down
    expr: up == 0
    for: 2m
"""
    # up is 0 at the evaluations 2m..5m: pending 2m, 3m; firing 4m, 5m; resolved 6m
    rep = replay(rules, store(up([1, 0, 0, 0, 0, 1, 1])), M, 7 * M, strategy=strategy)
    ident = (("alertname", "Down"),)
    assert alerts_series(rep, "pending")[ident] == ([2 * M, 3 * M, 4 * M], [1.0, 1.0, "stale"])
    assert alerts_series(rep, "firing")[ident] == ([4 * M, 5 * M, 6 * M], [1.0, 1.0, "stale"])
    ts, vals = out_series(rep, "ALERTS_FOR_STATE")[ident]
    assert (ts, values(vals)) == ([2 * M, 3 * M, 4 * M, 5 * M, 6 * M], [120.0] * 4 + ["stale"])


@STRATEGIES
def test_dropped_pending_alert_goes_stale(strategy):
    rules = """
groups:
- name: g
  rules:
  - alert: Down
    expr: up == 0
    for: 5m
"""
    rep = replay(rules, store(up([1, 0, 0, 1, 1])), M, 5 * M, strategy=strategy)
    ident = (("alertname", "Down"),)
    assert alerts_series(rep) == {ident: ([2 * M, 3 * M, 4 * M], [1.0, 1.0, "stale"])}
    ts, vals = out_series(rep, "ALERTS_FOR_STATE")[ident]
    assert (ts, values(vals)) == ([2 * M, 3 * M, 4 * M], [120.0, 120.0, "stale"])
    assert rep.instances[0].episodes[0].dropped_at == 4 * M


@STRATEGIES
def test_stale_markers_are_written_at_t_minus_the_query_offset(strategy):
    rules = """
groups:
- name: g
  query_offset: 1m
  rules:
  - record: r
    expr: up == 1
  - alert: A
    expr: up == 1
"""
    # up == 1 at query times 1m, 2m and not at 3m (evaluations 2m, 3m, 4m)
    rep = replay(rules, store(up([1, 1, 0, 0])), 2 * M, 4 * M, strategy=strategy)
    ((ts, vals),) = out_series(rep, "r").values()
    assert (ts, values(vals)) == ([M, 2 * M, 3 * M], [1.0, 1.0, "stale"])
    assert alerts_series(rep, "firing") == {
        (("alertname", "A"),): ([M, 2 * M, 3 * M], [1.0, 1.0, "stale"])
    }
    assert rep.instances[0].episodes[0].resolved_at == 4 * M  # state times stay on t


# ---- errors -----------------------------------------------------------------------------


@STRATEGIES
def test_failing_alert_rule_writes_nothing_and_keeps_its_state(strategy):
    rules = """
groups:
- name: g
  rules:
  - alert: Down
    expr: up == 0
    for: 2m
    labels: {instance: x}
"""
    # at 3m both instances are 0: one identity twice, an error
    data = store({**up([0, 0, 0, 0, 0], instance="a"), **up([1, 1, 0, 1, 1], instance="b")})
    rep = replay(rules, data, M, 5 * M, strategy=strategy)
    assert [(e.time, e.rule, e.message) for e in rep.errors] == [
        (
            3 * M,
            "Down",
            "vector contains metrics with the same labelset after applying alert labels",
        )
    ]
    # the failed evaluation did not advance the state: without it the alert fires at 3m
    (inst,) = rep.instances
    assert [(e.active_at, e.fired_at) for e in inst.episodes] == [(M, 4 * M)]
    assert [a.state for a in rep.alerts_at(3 * M)] == ["pending"]
    ident = (("alertname", "Down"), ("instance", "x"))
    # nothing at 3m, and the pending series' stale marker comes at 4m, not 3m
    assert alerts_series(rep, "pending")[ident] == ([M, 2 * M, 4 * M], [1.0, 1.0, "stale"])
    assert alerts_series(rep, "firing")[ident] == ([4 * M, 5 * M], [1.0, 1.0])
    assert out_series(rep, "ALERTS_FOR_STATE")[ident][0] == [M, 2 * M, 4 * M, 5 * M]
    assert "Down{instance=x}  ppxFF" in rep.strip()


@STRATEGIES
def test_alert_limit_clears_the_rules_alerts_in_a_replay(strategy):
    rules = """
groups:
- name: g
  limit: 1
  rules:
  - alert: Down
    expr: up == 0
"""
    data = store({**up([0, 0, 0, 0, 0], instance="a"), **up([1, 1, 0, 0, 1], instance="b")})
    rep = replay(rules, data, M, 5 * M, strategy=strategy)
    assert [(e.time, e.message) for e in rep.errors] == [
        (3 * M, "exceeded limit of 1 with 2 alerts"),
        (4 * M, "exceeded limit of 1 with 2 alerts"),
    ]
    assert rep.to_json()["errors"][0] == {
        "time": 180,
        "group": "g",
        "rule": "Down",
        "error": "exceeded limit of 1 with 2 alerts",
    }
    # a's alert was cleared at 3m and is new (active and firing again) at 5m
    (inst,) = rep.instances
    assert [(e.active_at, e.fired_at, e.dropped_at) for e in inst.episodes] == [
        (M, M, 3 * M),
        (5 * M, 5 * M, None),
    ]
    assert rep.alerts_at(4 * M) == []
    ident = (("alertname", "Down"), ("instance", "a"))
    # errors write nothing and no stale markers
    assert alerts_series(rep, "firing") == {ident: ([M, 2 * M, 5 * M], [1.0, 1.0, 1.0])}
    ts, vals = out_series(rep, "ALERTS_FOR_STATE")[ident]
    assert (ts, values(vals)) == ([M, 2 * M, 5 * M], [60.0, 60.0, 300.0])


# ---- templates ---------------------------------------------------------------------------


@STRATEGIES
def test_templates_run_at_t_while_the_rule_queries_at_t_minus_the_offset(strategy):
    rules = """
groups:
- name: g
  query_offset: 1m
  rules:
  - alert: A
    expr: up > 0
    annotations:
      value: '{{ $value }}'
      query: '{{ with query "up" }}{{ . | first | value }}{{ end }}'
      time: '{{ with query "vector(time())" }}{{ . | first | value }}{{ end }}'
"""
    rep = replay(rules, store(up([1, 2, 3, 4, 5])), 3 * M, 3 * M, strategy=strategy)
    (a,) = rep.alerts_at(3 * M)
    # the rule sees up at 2m (2); the template's query runs at 3m (3)
    assert a.annotations == {"value": "2", "query": "3", "time": "180"}
    assert a.active_at == 3 * M


@STRATEGIES
def test_an_alert_on_the_alerts_of_an_earlier_group(strategy):
    rules = """
groups:
- name: a
  rules:
  - alert: Down
    expr: up == 0
- name: meta
  rules:
  - alert: Meta
    expr: ALERTS{alertname="Down", alertstate="firing"}
    for: 1m
"""
    # Down fires at 2m..4m and resolves at 5m; Meta sees it at the same instants
    rep = replay(rules, store(up([1, 0, 0, 0, 1])), M, 5 * M, strategy=strategy)
    meta = [i for i in rep.instances if i.alertname == "Meta"]
    # alertname is the rule's; the data's alertstate stays an alert label ...
    assert [i.labels for i in meta] == [{"alertname": "Meta", "alertstate": "firing"}]
    assert [(e.active_at, e.fired_at, e.resolved_at) for e in meta[0].episodes] == [
        (2 * M, 3 * M, 5 * M)
    ]
    # ... but in ALERTS the alertstate is the alert's own state
    series = {
        dict(k)["alertstate"]: (ts, values(v))
        for k, (ts, v) in out_series(rep, "ALERTS").items()
        if dict(k)["alertname"] == "Meta"
    }
    assert series == {
        "pending": ([2 * M, 3 * M], [1.0, "stale"]),
        "firing": ([3 * M, 4 * M, 5 * M], [1.0, 1.0, "stale"]),
    }
