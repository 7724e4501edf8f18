"""The alert state machine (engine.rules.alerts) against rules/alerting.go semantics."""

from __future__ import annotations

import pytest

from engine.rules.alerts import (
    DUPLICATE_ALERT,
    FIRING,
    INACTIVE,
    PENDING,
    RESOLVED_RETENTION_MS,
    AlertRuleState,
    RuleEvalError,
)

M = 60_000


def identity(lab, v, t):
    out = {k: x for k, x in lab.items() if k != "__name__"}
    out["alertname"] = "A"
    return tuple(sorted(out.items()))


def rule(for_ms=0, keep=0, limit=0, raw=None):
    return AlertRuleState("A", for_ms, keep, limit, raw or {}, identity)


X = {"__name__": "up", "instance": "x"}
Y = {"__name__": "up", "instance": "y"}


def states(outs):
    return sorted((dict(a.key)["instance"], s) for a, s in outs)


def test_pending_then_firing_at_for():
    r = rule(for_ms=2 * M)
    assert states(r.step(0, [(X, 0.0)])) == [("x", PENDING)]
    assert states(r.step(M, [(X, 0.0)])) == [("x", PENDING)]
    out = r.step(2 * M, [(X, 0.0)])  # t - activeAt == for: fires (>=)
    assert states(out) == [("x", FIRING)]
    ep = r.episodes[identity(X, 0, 0)][0]
    assert (ep.active_at, ep.fired_at) == (0, 2 * M)


def test_for_zero_fires_at_once_and_is_never_pending():
    r = rule()
    assert states(r.step(0, [(X, 1.0)])) == [("x", FIRING)]


def test_absent_pending_is_dropped():
    r = rule(for_ms=5 * M)
    r.step(0, [(X, 1.0)])
    assert r.step(M, []) == []
    assert r.active == {}
    ep = r.episodes[identity(X, 0, 0)][0]
    assert ep.dropped_at == M and ep.fired_at is None and ep.resolved_at is None


def test_resolved_alert_is_retained_15m_then_forgotten_and_comes_back_as_new_pending():
    r = rule(for_ms=M)
    r.step(0, [(X, 1.0)])
    r.step(M, [(X, 1.0)])
    assert r.step(2 * M, []) == []
    key = identity(X, 0, 0)
    a = r.active[key]
    assert a.state == INACTIVE and a.resolved_at == 2 * M
    r.step(2 * M + RESOLVED_RETENTION_MS, [])  # exactly 15m: still kept (strict >)
    assert key in r.active
    r.step(2 * M + RESOLVED_RETENTION_MS + 1, [])
    assert key not in r.active
    # present again: a new episode starting pending
    r.step(30 * M, [(X, 1.0)])
    eps = r.episodes[key]
    assert len(eps) == 2 and eps[1].active_at == 30 * M and r.active[key].state == PENDING


def test_retained_alert_that_returns_starts_new_pending_episode():
    r = rule(for_ms=M)
    r.step(0, [(X, 1.0)])
    r.step(M, [(X, 1.0)])
    r.step(2 * M, [])
    out = r.step(3 * M, [(X, 1.0)])
    assert states(out) == [("x", PENDING)]
    eps = r.episodes[identity(X, 0, 0)]
    assert [e.resolved_at for e in eps] == [2 * M, None]
    assert eps[1].active_at == 3 * M


def test_keep_firing_for_is_strict_and_freezes_value():
    r = rule(keep=2 * M)
    r.step(0, [(X, 5.0)])
    assert states(r.step(M, [])) == [("x", FIRING)]  # first missed at 1m
    a = r.active[identity(X, 0, 0)]
    assert a.value == 5.0 and a.keep_firing_since == M
    assert states(r.step(2 * M, [])) == [("x", FIRING)]  # 1m < 2m
    assert r.step(3 * M, []) == []  # 2m < 2m is false: resolved
    ep = r.episodes[identity(X, 0, 0)][0]
    assert ep.resolved_at == 3 * M
    assert ep.kept == [[M, 3 * M]]


def test_keep_firing_since_resets_when_present_again():
    r = rule(keep=2 * M)
    r.step(0, [(X, 1.0)])
    r.step(M, [])
    r.step(2 * M, [(X, 2.0)])
    a = r.active[identity(X, 0, 0)]
    assert a.keep_firing_since is None and a.value == 2.0
    r.step(3 * M, [])
    assert states(r.step(4 * M, [])) == [("x", FIRING)]  # missed since 3m only


def test_pending_alerts_never_keep_firing():
    r = rule(for_ms=5 * M, keep=10 * M)
    r.step(0, [(X, 1.0)])
    assert r.step(M, []) == []
    assert r.active == {}


def test_duplicate_identity_fails_without_touching_state():
    r = rule(for_ms=M)
    r.step(0, [(X, 1.0)])
    before = dict(r.active)
    with pytest.raises(RuleEvalError, match=DUPLICATE_ALERT):
        r.step(M, [(X, 1.0), ({"instance": "x"}, 2.0)])  # same identity without __name__
    assert r.active == before and r.active[identity(X, 0, 0)].state == PENDING


def test_limit_clears_every_alert():
    r = rule(limit=1)
    r.step(0, [(X, 1.0)])
    with pytest.raises(RuleEvalError, match="exceeded limit of 1 with 2 alerts"):
        r.step(M, [(X, 1.0), (Y, 1.0)])
    assert r.active == {}
    # the existing episode was dropped; the alert born in the failed evaluation never existed
    assert r.episodes[identity(X, 0, 0)][0].dropped_at == M
    assert identity(Y, 0, 0) not in r.episodes
    # next evaluation: everything is new again
    assert states(r.step(2 * M, [(X, 1.0)])) == [("x", FIRING)]
    assert r.episodes[identity(X, 0, 0)][1].active_at == 2 * M


def test_kept_alerts_count_towards_limit():
    r = rule(keep=5 * M, limit=1)
    r.step(0, [(X, 1.0)])
    r.step(M, [])  # kept
    with pytest.raises(RuleEvalError, match="exceeded limit of 1 with 2 alerts"):
        r.step(2 * M, [(Y, 1.0)])


def test_alerts_series_use_raw_templates_under_alert_labels():
    def ident(lab, v, t):
        return (("alertname", "A"), ("instance", lab["instance"]))  # severity rendered ""

    r = AlertRuleState("A", 0, 0, 0, {"severity": "{{ $labels.sev }}"}, ident)
    ((a, state),) = r.step(0, [(X, 1.0)])
    assert dict(r.series_labels(a, "ALERTS", state)) == {
        "__name__": "ALERTS",
        "alertname": "A",
        "alertstate": "firing",
        "instance": "x",
        "severity": "{{ $labels.sev }}",
    }
    assert dict(r.series_labels(a, "ALERTS_FOR_STATE", None)) == {
        "__name__": "ALERTS_FOR_STATE",
        "alertname": "A",
        "instance": "x",
        "severity": "{{ $labels.sev }}",
    }


def test_needs_sending():
    r = rule(for_ms=M)
    r.step(0, [(X, 1.0)])
    a = r.active[identity(X, 0, 0)]
    assert not r.needs_sending(a, 0, M)  # pending
    r.step(M, [(X, 1.0)])
    assert r.needs_sending(a, M, M)
    a.last_sent_at = M
    assert not r.needs_sending(a, 2 * M, M)  # lastSent + 1m is not before 2m
    assert r.needs_sending(a, 2 * M + 1, M)
    r.step(3 * M, [])
    assert r.needs_sending(a, 3 * M, M)  # resolved since the last send
