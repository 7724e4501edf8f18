"""``engine.kernels.quantile`` (classic ``histogram_quantile`` / ``histogram_fraction``)
against :mod:`reference`'s ``BucketQuantile`` / ``BucketFraction``.

Why the inputs reach every branch: each group draws its ``le`` bounds from a pool with
negative, zero (both signs), fractional and infinite bounds, duplicates (coalescing, as
``le="1"`` next to ``le="1.0"``) and a missing ``+Inf`` bucket now and then; its counts
start cumulative and are then perturbed per series and step: a relative change of about
1e-13 (below the 1e-12 tolerance: silently levelled), a real decrease (forced
monotonicity, reported with its buckets and largest decrease), zero observations, NaN and
±Inf counts (where Go's binary search over the counts and a linear scan part ways), and
-0.0. Buckets are present or absent per step, so a group has 0, 1, 2 or many buckets;
``q`` includes NaN, <0, >1, 0 and 1, and the fraction bounds include ±Inf, NaN, bounds
equal to a bucket edge and ``lower >= upper``.

Known divergence, not covered: Go sorts a group's buckets with ``slices.SortFunc``, which
is unstable beyond 12 elements, and coalesces equal bounds in the sorted order; the kernel
sorts once per group, stably. With more than 12 buckets *and* three or more buckets of the
same bound in one group (not something ``sum by (le, ...)`` produces), the coalesced count
can differ in its last bits. Groups here have at most 12 buckets, where Go's sort is an
insertion sort and both orders agree.
"""

from __future__ import annotations

import math

import numpy as np
import reference as R
from hypothesis import event, given
from hypothesis import strategies as st
from kernel_support import assert_same, bits_equal, find_counterexample, kernel_settings

from engine.kernels import quantile as K

BOUNDS = [-10.0, -1.0, -0.0, 0.0, 0.1, 0.5, 1.0, 2.5, 10.0, 100.0, math.inf, -math.inf]


@st.composite
def bucket_inputs(draw, max_buckets=12):
    G = draw(st.integers(1, 3))
    T = draw(st.integers(1, 4))
    bounds, group = [], []
    for g in range(G):
        n = draw(st.integers(1, max_buckets))
        bs = draw(st.lists(st.sampled_from(BOUNDS[:-1]), min_size=n, max_size=n))
        if draw(st.integers(0, 6)) > 0:
            bs[draw(st.integers(0, n - 1))] = math.inf
        bounds += bs
        group += [g] * n
    S = len(bounds)
    order = np.argsort(np.array(bounds), kind="stable")
    rank = np.empty(S, np.int64)
    rank[order] = np.arange(S)
    vals = np.empty((S, T))
    for t in range(T):
        scale = draw(st.sampled_from([1.0, 3.0, 1e12, 0.5]))
        for s in range(S):
            c = float(rank[s] + 1) * scale
            kind = draw(st.sampled_from(["ok"] * 6 + ["tiny", "drop", "special"]))
            if kind == "tiny":
                c *= draw(st.sampled_from([1 + 1e-13, 1 - 1e-13, 1 + 3e-12]))
            elif kind == "drop":
                c = max(0.0, c - draw(st.sampled_from([1.0, 2.5, c])))
            elif kind == "special":
                c = draw(st.sampled_from([math.nan, math.inf, 0.0, -0.0, -1.0]))
            vals[s, t] = c
    if draw(st.booleans()):
        present = np.ones((S, T), bool)
    else:
        present = np.array(draw(st.lists(st.booleans(), min_size=S * T, max_size=S * T)))
        present = present.reshape(S, T)
    return np.array(group, np.int64), np.array(bounds), vals, present, G


def _buckets(inp, g, t):
    group, bounds, vals, present, _ = inp
    return [
        (float(bounds[s]), float(vals[s, t]))
        for s in range(len(group))
        if group[s] == g and present[s, t]
    ]


_q = st.one_of(st.sampled_from([0.0, 0.5, 1.0, 0.99, math.nan, -1.0, 2.0]), st.floats(0, 1))
_edge = st.one_of(
    st.sampled_from(BOUNDS + [math.nan, 0.05, 3.0, 50.0]), st.floats(-20, 200, allow_nan=False)
)


@st.composite
def quantile_inputs(draw, max_buckets=12):
    inp = draw(bucket_inputs(max_buckets))
    T = inp[2].shape[1]
    q = np.array(draw(st.lists(_q, min_size=T, max_size=T)))
    return inp, q


def _quantile_expected(inp, q, ref=R.bucket_quantile):
    G, T = inp[4], inp[2].shape[1]
    out = [[None] * T for _ in range(G)]
    fix = [[None] * T for _ in range(G)]
    for g in range(G):
        for t in range(T):
            b = _buckets(inp, g, t)
            if b:
                out[g][t], fix[g][t] = ref(float(q[t]), b)
    return out, fix


@kernel_settings(120)
@given(quantile_inputs())
def test_bucket_quantile_matches_reference(args):
    inp, q = args
    group, bounds, vals, present, G = inp
    out, seen, fix = K.bucket_quantile(q, group, bounds, vals, present, G)
    expected, expected_fix = _quantile_expected(inp, q)
    assert_same(out, seen, expected, "histogram_quantile")
    for g in range(G):
        for t in range(len(q)):
            e = expected_fix[g][t]
            if e is None:
                assert np.isnan(fix[g, t]).all(), (g, t, fix[g, t])
            else:
                assert bits_equal(fix[g, t], np.array(e)), (g, t, fix[g, t], e)
    event(f"monotonicity forced somewhere: {any(f for row in expected_fix for f in row)}")


@st.composite
def fraction_inputs(draw, max_buckets=12):
    inp = draw(bucket_inputs(max_buckets))
    T = inp[2].shape[1]
    lower = np.array(draw(st.lists(_edge, min_size=T, max_size=T)))
    upper = np.array(draw(st.lists(_edge, min_size=T, max_size=T)))
    return inp, lower, upper


def _fraction_expected(inp, lower, upper, ref=R.bucket_fraction):
    G, T = inp[4], inp[2].shape[1]
    return [
        [
            ref(float(lower[t]), float(upper[t]), b) if (b := _buckets(inp, g, t)) else None
            for t in range(T)
        ]
        for g in range(G)
    ]


@kernel_settings(120)
@given(fraction_inputs())
def test_bucket_fraction_matches_reference(args):
    inp, lower, upper = args
    group, bounds, vals, present, G = inp
    out, seen = K.bucket_fraction(lower, upper, group, bounds, vals, present, G)
    assert_same(out, seen, _fraction_expected(inp, lower, upper), "histogram_fraction")


# --- the comparison catches broken references --------------------------------------


def _quantile_without_tolerance(q, buckets):
    """Broken copy: the pre-2.49 envelope, no 1e-12 tolerance for float noise."""
    if math.isnan(q) or q < 0 or q > 1:
        return R.bucket_quantile(q, buckets)
    bs = sorted(([ub, c] for ub, c in buckets), key=lambda b: b[0])
    if not (math.isinf(bs[-1][0]) and bs[-1][0] > 0):
        return math.nan, None
    bs = R._coalesce(bs)
    top = bs[0][1]
    for b in bs[1:]:
        if b[1] > top:
            top = b[1]
        elif b[1] < top:
            b[1] = top
    if len(bs) < 2 or bs[-1][1] == 0:
        return math.nan, None
    rank = q * bs[-1][1]
    i = R.sort_search(len(bs) - 1, lambda k: bs[k][1] >= rank)
    if i == len(bs) - 1:
        return bs[-2][0], None
    if i == 0 and bs[0][0] <= 0:
        return bs[0][0], None
    start, count = (bs[i - 1][0], bs[i][1] - bs[i - 1][1]) if i else (0.0, bs[i][1])
    rank -= bs[i - 1][1] if i else 0.0
    return start + (bs[i][0] - start) * R.go_div(rank, count), None


def _fraction_first_bucket_from_minus_inf(lower, upper, buckets):
    """Broken copy: the first bucket always starts at -Inf (before prometheus#17424)."""
    bs = [(ub, c) for ub, c in buckets]
    if bs and min(ub for ub, _ in bs) > 0:
        bs.append((min(ub for ub, _ in bs) / 2, 0.0))  # same counts, but 0 is no longer
    return R.bucket_fraction(lower, upper, bs)  # the first lower bound


def test_broken_quantile_reference_is_caught():
    def differs(args):
        inp, q = args
        group, bounds, vals, present, G = inp
        out, seen, _ = K.bucket_quantile(q, group, bounds, vals, present, G)
        try:
            assert_same(out, seen, _quantile_expected(inp, q, _quantile_without_tolerance)[0])
        except AssertionError:
            return True
        return False

    find_counterexample(quantile_inputs(), differs)


def test_broken_fraction_reference_is_caught():
    def differs(args):
        inp, lower, upper = args
        group, bounds, vals, present, G = inp
        out, seen = K.bucket_fraction(lower, upper, group, bounds, vals, present, G)
        try:
            assert_same(
                out,
                seen,
                _fraction_expected(inp, lower, upper, _fraction_first_bucket_from_minus_inf),
            )
        except AssertionError:
            return True
        return False

    find_counterexample(fraction_inputs(), differs)
