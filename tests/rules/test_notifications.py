"""The Alertmanager view of a replay (``ReplayResult.notifications``): what the rule manager
would have sent, as ``rules/alerting.go`` (``sendAlerts``, ``needsSending``) and
``cmd/prometheus/main.go`` (``sendAlerts``: ``startsAt``/``endsAt``) and the notifier
(external labels) build it. Reported, never sent."""

from __future__ import annotations

import pytest
from replay_helpers import M, replay, store, up

RULES = """
groups:
- name: g
  rules:
  - alert: Down
    expr: up == 0
    for: 1m
    labels: {severity: page}
    annotations: {summary: "{{ $labels.instance }} down"}
"""


def sends(rep):
    return [(n.time, n.starts_at, n.ends_at, n.resolved) for n in rep.notifications]


@pytest.mark.parametrize("strategy", ["auto", "step"])
def test_first_firing_resends_and_resolution(strategy):
    # up == 0 at the evaluations 2m..7m: pending 2m, firing 3m..7m, resolved 8m
    data = store(up([1] + [0] * 6 + [1] * 20, instance="a"))
    rep = replay(
        RULES,
        data,
        M,
        26 * M,
        strategy=strategy,
        external_labels={"cluster": "c1", "instance": "ext"},
    )
    firing = [(t * M, 3 * M, (t + 4) * M, False) for t in (3, 5, 7)]
    # a resolution is sent at once, then again every 2m (lastSent + 1m strictly before
    # t) while the alert is retained: until 8m + 15m; at 24m it is forgotten
    resolved = [(t * M, 3 * M, 8 * M, True) for t in range(8, 23, 2)]
    assert sends(rep) == firing + resolved
    # external labels are added where the alert has no such label
    labels = {"alertname": "Down", "cluster": "c1", "instance": "a", "severity": "page"}
    for n in rep.notifications:
        assert n.alertname == "Down" and n.labels == labels
        assert n.annotations == {"summary": "a down"}


@pytest.mark.parametrize(
    ("interval", "resend", "every", "valid"),
    [
        ("1m", 2 * M, 3, 8),  # lastSent + 2m < t: every third evaluation; 4 x 2m
        ("2m", M, 1, 8),  # every evaluation; 4 x the 2m interval
        ("1m", M // 2, 1, 4),
    ],
)
def test_resend_delay_and_interval(interval, resend, every, valid):
    rules = RULES.replace("- name: g\n", f"- name: g\n  interval: {interval}\n")
    step = 2 if interval == "2m" else 1
    data = store(up([0] * 40, instance="a"))
    rep = replay(rules, data, step * M, 30 * M, resend_delay_ms=resend)
    fired = 2 * step * M
    times = list(range(fired, 30 * M + 1, every * step * M))
    assert sends(rep) == [(t, fired, t + valid * M, False) for t in times]


def test_resend_clock_runs_through_the_warmup():
    data = store(up([0] * 12, instance="a"))
    # fires at 1m (for 0s) during the warmup: sent at 1m, 3m (not reported), 5m, 7m
    rules = RULES.replace("for: 1m", "for: 0s")
    rep = replay(rules, data, 4 * M, 8 * M, warmup_ms=3 * M)
    assert sends(rep) == [(5 * M, M, 9 * M, False), (7 * M, M, 11 * M, False)]


def test_nothing_is_sent_when_the_rule_fails():
    rules = RULES.replace("for: 1m", "for: 0s").replace(
        "labels: {severity: page}", "labels: {instance: x}"
    )
    # a duplicate identity at 3m: no evaluation result, so no send; 4m sends again
    data = store({**up([0] * 6, instance="a"), **up([1, 1, 0, 1, 1, 1], instance="b")})
    rep = replay(rules, data, M, 6 * M)
    assert [e.time for e in rep.errors] == [3 * M]
    assert [n.time for n in rep.notifications] == [M, 4 * M, 6 * M]


def test_limit_clears_without_a_resolution():
    rules = RULES.replace("for: 1m", "for: 0s").replace("- name: g\n", "- name: g\n  limit: 1\n")
    data = store({**up([0] * 5, instance="a"), **up([1, 1, 0, 1, 1], instance="b")})
    rep = replay(rules, data, M, 5 * M)
    # the cleared alert is forgotten, not resolved: Alertmanager lets it expire at endsAt
    assert sends(rep) == [(M, M, 5 * M, False), (4 * M, 4 * M, 8 * M, False)]


def test_notifications_of_several_rules_are_in_time_order():
    rules = """
groups:
- name: g
  rules:
  - alert: A
    expr: up == 0
  - alert: B
    expr: up == 0
"""
    rep = replay(rules, store(up([0] * 4)), M, 4 * M)
    assert [(n.time, n.alertname) for n in rep.notifications] == [
        (M, "A"),
        (M, "B"),
        (3 * M, "A"),
        (3 * M, "B"),
    ]
