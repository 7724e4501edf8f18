"""``engine.kernels.grouped`` against :mod:`reference`: every ``AGG_KIND`` of
``aggregate``, ``aggregate_quantile``, ``select_k`` (topk/bottomk) and ``match_one_side``.

Why the inputs reach every branch: series are assigned to 1-4 groups at random (some
groups empty at some steps) and are present or absent per step, so each (group, step)
sees 0, 1 or many values in series order, which is the order Go adds them in (compensated
sums and the incremental mean round differently in any other order); values mix ±Inf
(sum overflow, the avg switch to the incremental mean, stddev's NaN start), NaN (min/max
replace a NaN running value; topk/bottomk push NaN to the bottom of the heap) and small
integers (ties: which of several equal series topk keeps depends on Go's
``container/heap`` sift order, and their print order on Go's unstable ``sort.Sort``; up to
20 series per group, so heaps pass the 12-element insertion-sort limit). ``k`` ranges
over -1..S per step (``k < 1`` keeps nothing).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import reference as R
from hypothesis import event, given
from hypothesis import strategies as st
from kernel_support import find_counterexample, kernel_settings, values

from engine.kernels import grouped as K

AGG_NAMES = sorted(K.AGG_KINDS)


@st.composite
def grouped_inputs(draw, max_series=8, max_steps=4, max_groups=4, ties=False):
    S = draw(st.integers(1, max_series))
    T = draw(st.integers(1, max_steps))
    G = draw(st.integers(1, max_groups))
    flavour = draw(st.sampled_from(["ties", "huge", "any"] if ties else ["huge", "any"]))
    element = {
        "ties": st.one_of(st.sampled_from([0.0, -0.0, 1.0, 2.0, math.nan]), values()),
        # sums that overflow: avg switches to the incremental mean, Kahan drops c
        "huge": st.one_of(st.sampled_from([1e308, 1.7e308, -1e308, 1.0, 1e-300]), values()),
        "any": values(),
    }[flavour]
    vals = np.array(draw(st.lists(element, min_size=S * T, max_size=S * T))).reshape(S, T)
    if draw(st.booleans()):
        present = np.ones((S, T), bool)  # dense: large groups, large topk heaps
    else:
        present = np.array(draw(st.lists(st.booleans(), min_size=S * T, max_size=S * T)))
        present = present.reshape(S, T)
    group = np.array(draw(st.lists(st.integers(0, G - 1), min_size=S, max_size=S)), np.int64)
    return vals.astype(np.float64), present, group, G


def _members(vals, present, group, g, t):
    return [float(vals[s, t]) for s in range(len(group)) if group[s] == g and present[s, t]]


def _expected(inp, ref):
    vals, present, group, G = inp
    return [
        [ref(_members(vals, present, group, g, t)) for t in range(vals.shape[1])] for g in range(G)
    ]


def _check(out, seen, expected, context):
    from kernel_support import assert_same

    assert_same(out, seen, expected, context)


@pytest.mark.parametrize("name", AGG_NAMES)
@kernel_settings(40)
@given(inp=grouped_inputs())
def test_aggregate_matches_reference(name, inp):
    vals, present, group, G = inp
    out, seen = K.aggregate(K.AGG_KINDS[name], vals, present, group, G)
    _check(out, seen, _expected(inp, lambda m: R.aggregate(name, m)), name)


@kernel_settings(80)
@given(
    inp=grouped_inputs(max_series=16, ties=True),
    data=st.data(),
)
def test_aggregate_quantile_matches_reference(inp, data):
    vals, present, group, G = inp
    q_elem = st.one_of(st.sampled_from([0.0, 0.5, 1.0, math.nan, -1.0, 2.0]), st.floats(0, 1))
    q = np.array(data.draw(st.lists(q_elem, min_size=vals.shape[1], max_size=vals.shape[1])))
    out, seen = K.aggregate_quantile(vals, present, group, G, q)
    expected = [
        [
            R.aggregate_quantile(float(q[t]), _members(vals, present, group, g, t))
            for t in range(vals.shape[1])
        ]
        for g in range(G)
    ]
    _check(out, seen, expected, "quantile")


def _select_k_reference(vals, present, group, G, k, top, ref=R.select_k):
    S, T = vals.shape
    keep = np.zeros((S, T), bool)
    rank = np.zeros((S, T), np.int64)
    for t in range(T):
        for g in range(G):
            members = [(s, float(vals[s, t])) for s in range(S) if group[s] == g and present[s, t]]
            for r, s in enumerate(ref(members, int(k[t]), top)):
                keep[s, t] = True
                rank[s, t] = r
    return keep, rank


@st.composite
def select_k_inputs(draw):
    vals, present, group, G = draw(grouped_inputs(max_series=20, max_groups=3, ties=True))
    S, T = vals.shape
    k_elem = st.one_of(st.integers(-1, S), st.just(S))
    k = np.array(draw(st.lists(k_elem, min_size=T, max_size=T)), np.int64)
    top = draw(st.booleans())
    return vals, present, group, G, k, top


@kernel_settings(120)
@given(select_k_inputs())
def test_select_k_matches_reference(inp):
    vals, present, group, G, k, top = inp
    keep, rank = K.select_k(vals, present, group, G, k, top)
    ref_keep, ref_rank = _select_k_reference(vals, present, group, G, k, top)
    event(f"largest heap {'> 12' if ref_keep.sum(axis=0).max(initial=0) > 12 else '<= 12'}")
    assert np.array_equal(keep, ref_keep), ("kept series differ", keep, ref_keep)
    assert np.array_equal(rank[keep], ref_rank[ref_keep]), ("print order differs", rank, ref_rank)


@kernel_settings(80)
@given(grouped_inputs(max_series=8, max_steps=5))
def test_match_one_side_matches_reference(inp):
    _, present, group, G = inp
    idx, dup = K.match_one_side(group, present, G)
    ref_idx, ref_dup = R.match_one_side(group, present.tolist(), G)
    assert tuple(int(x) for x in dup) == ref_dup
    # the kernel stops at the first conflicting step: later steps are not filled in
    last = ref_dup[0] if ref_dup[0] >= 0 else present.shape[1] - 1
    assert idx[:, : last + 1].tolist() == [row[: last + 1] for row in ref_idx]


# --- the comparison catches broken references --------------------------------------


def _naive_sum(m):
    """Broken copy: sum without Kahan compensation."""
    if not m:
        return None
    total = m[0]
    for f in m[1:]:
        total += f
    return total


def _avg_without_overflow_switch(m):
    """Broken copy: avg as the compensated sum over the count, even when the sum
    overflows (Prometheus switches to an incremental mean)."""
    if not m:
        return None
    total, c = m[0], 0.0
    for f in m[1:]:
        total, c = R.kahan_inc(f, total, c)
    return R.go_div(total, float(len(m))) + R.go_div(c, float(len(m)))


def _stable_select_k(members, k, top):
    """Broken copy: topk/bottomk as a stable sort (first series wins ties)."""
    if k < 1:
        return []
    key = (lambda x: (math.isnan(x[1]), -x[1] if top else x[1])) if members else None
    return [s for s, _ in sorted(members, key=key)[:k]]


@pytest.mark.parametrize(
    "name, broken", [("sum", _naive_sum), ("avg", _avg_without_overflow_switch)]
)
def test_broken_aggregations_are_caught(name, broken):
    def differs(inp):
        vals, present, group, G = inp
        out, seen = K.aggregate(K.AGG_KINDS[name], vals, present, group, G)
        try:
            _check(out, seen, _expected(inp, broken), name)
        except AssertionError:
            return True
        return False

    find_counterexample(grouped_inputs(), differs)


def test_broken_select_k_is_caught():
    def differs(inp):
        vals, present, group, G, k, top = inp
        keep, rank = K.select_k(vals, present, group, G, k, top)
        b_keep, b_rank = _select_k_reference(vals, present, group, G, k, top, _stable_select_k)
        return not (np.array_equal(keep, b_keep) and np.array_equal(rank[keep], b_rank[b_keep]))

    find_counterexample(select_k_inputs(), differs)


def test_broken_duplicate_report_is_caught():
    """Broken copy: the conflict reported as (step, later series, earlier series)."""

    def differs(inp):
        _, present, group, G = inp
        _, dup = K.match_one_side(group, present, G)
        _, (t, a, b) = R.match_one_side(group, present.tolist(), G)
        return tuple(int(x) for x in dup) != (t, b, a)

    find_counterexample(grouped_inputs(), differs)
