"""The evaluation plan (engine.rules.plan) and the outputs store (engine.rules.outputs)."""

from __future__ import annotations

import numpy as np

from engine.promql.parse import parse_expr
from engine.rules.outputs import OutputStore
from engine.rules.plan import RuleInfo, plan_units
from engine.store.index import Matcher


def info(pos, kind, name, expr, offset=0, gpos=0, **kw):
    return RuleInfo(pos, gpos, offset, kind, name, parse_expr(expr), **kw)


def modes(rules, **kw):
    return [(u.mode, u.positions) for u in plan_units(rules, **kw)]


def test_plain_chain_is_range_evaluated():
    rules = [
        info(0, "record", "a", "sum(up)"),
        info(1, "record", "b", "a * 2"),
        info(2, "alert", "A", "b > 1"),
        info(3, "record", "c", 'count(ALERTS{alertname="A"})'),
    ]
    assert modes(rules) == [("range", (0,)), ("range", (1,)), ("range", (2,)), ("range", (3,))]


def test_reading_self_or_a_later_rule_makes_a_block():
    rules = [
        info(0, "record", "x", "sum(up)"),
        info(1, "record", "a", "b + 1"),
        info(2, "record", "y", "sum(up)"),
        info(3, "record", "b", "sum(up)"),
    ]
    assert modes(rules) == [("range", (0,)), ("step", (1, 2, 3))]
    assert modes([info(0, "record", "n", "n + 1 or vector(0)")]) == [("step", (0,))]


def test_alerts_of_a_later_rule_and_other_alertnames():
    rules = [
        info(0, "record", "c", 'count(ALERTS{alertname="B"})'),
        info(1, "alert", "A", "up == 0"),
        info(2, "alert", "B", "up == 0"),
    ]
    assert modes(rules) == [("step", (0, 1, 2))]
    rules[0] = info(0, "record", "c", 'count(ALERTS{alertname="Z"})')
    assert modes(rules) == [("range", (0,)), ("range", (1,)), ("range", (2,))]


def test_larger_producer_offset_or_lookahead_is_unsafe():
    rules = [
        info(0, "record", "a", "sum(up)", offset=60_000, gpos=0),
        info(1, "record", "b", "a", offset=0, gpos=1),
    ]
    assert modes(rules) == [("step", (0, 1))]
    rules = [info(0, "record", "a", "sum(up)"), info(1, "record", "b", "a offset -1m")]
    assert modes(rules) == [("step", (0, 1))]


def test_same_output_name_start_end_and_template_queries():
    rules = [info(0, "record", "a", "sum(up)"), info(1, "record", "a", "max(up)")]
    assert modes(rules) == [("step", (0, 1))]
    assert modes([info(0, "record", "a", "up @ end()")]) == [("step", (0,))]
    rules = [info(0, "record", "a", "sum(up)"), info(1, "alert", "A", "up", template_query=True)]
    assert modes(rules) == [("step", (0, 1))]
    assert modes([info(0, "record", "a", "up @ 100")], data_until_eval=True) == [("step", (0,))]
    assert modes([info(0, "record", "a", "up @ 100")]) == [("range", (0,))]


def test_static_labels_rule_out_a_producer():
    rules = [
        info(0, "record", "c", 'x{team="a"}'),
        info(1, "record", "x", "sum(up)", static_labels={"team": "b"}),
    ]
    assert modes(rules) == [("range", (0,)), ("range", (1,))]


def test_output_store_view_drops_stale_markers_for_range_selectors():
    from engine.store.samples import STALE_NAN

    out = OutputStore()
    k = (("__name__", "r"), ("a", "1"))
    out.extend(k, np.array([1, 2, 3]), np.array([1.0, STALE_NAN, 3.0]))
    raw = out.view().select([Matcher("__name__", "=", "r")], clean=False)
    clean = out.view().select([Matcher("__name__", "=", "r")], clean=True)
    assert raw.ts.tolist() == [1, 2, 3] and clean.ts.tolist() == [1, 3]
    assert out.to_store().labels.rows() == [{"__name__": "r", "a": "1"}]
