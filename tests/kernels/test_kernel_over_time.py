"""``engine.kernels.over_time`` against :mod:`reference`: every ``kind`` of ``over_time``,
and ``quantile_sorted`` (the ``quantile()`` shared with the ``quantile`` aggregation).

Why the inputs reach every branch:

- each kind runs over regular, ``@``, reversed and random grids, so min/max (the sliding
  two stacks and the window-by-window fold, whichever ``over_time`` picks) meet
  windows that move forward, stand still, move back and overlap arbitrarily, and the
  reductions meet empty, single-sample and long windows; ``extreme_over_time``, which
  finds its own bounds on non-decreasing grids, meets windows a whole number of steps
  long (their starts taken from earlier ends) and windows that are not;
- values include NaN, ±Inf, ±0.0, 1e308 and subnormals: sums overflow (Kahan's "infinite
  sum drops the compensation"), ``avg_over_time`` switches to the incremental mean,
  ``min``/``max`` start from NaN, ``changes`` compares NaN with NaN, ``deriv`` sees
  constant and infinite inputs, and ``quantile`` sorts NaN first and ``-0.0`` next to
  ``0.0`` (the sign of a zero result depends on Go's sort order, which the reference
  replays);
- the per-step parameters include q = NaN, < 0, > 1, 0 and 1, and factors strictly
  inside (0, 1) for ``double_exponential_smoothing``;
- ``min_samples`` is the evaluator's (2 for deriv / predict_linear / smoothing) and, in
  a second test, any of 1..3 for every kind, as the kernel's contract says.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import reference as R
from hypothesis import event, given
from hypothesis import strategies as st
from kernel_support import (
    SPECIAL_VALUES,
    assert_same,
    find_counterexample,
    kernel_settings,
    matrix_inputs,
    values,
)

from engine.kernels import over_time as K
from engine.kernels import windows as W

KIND_NAMES = sorted(K.KINDS)
NEEDS_TWO = {"deriv", "predict_linear", "double_exponential_smoothing"}


def _params(draw, name, T):
    if name == "quantile_over_time":
        q = st.one_of(
            st.sampled_from([0.0, 0.5, 1.0, 0.25, 0.9, math.nan, -0.5, 1.5]),
            st.floats(0, 1),
        )
        p = draw(st.lists(q, min_size=T, max_size=T))
        return np.array(p), np.array(p)
    if name == "predict_linear":
        p = draw(st.lists(values(), min_size=T, max_size=T))
        return np.array(p), np.array(p)
    if name == "double_exponential_smoothing":
        factor = st.floats(0, 1, exclude_min=True, exclude_max=True)
        sf = draw(st.lists(factor, min_size=T, max_size=T))
        tf = draw(st.lists(factor, min_size=T, max_size=T))
        return np.array(sf), np.array(tf)
    return np.zeros(T), np.zeros(T)


@st.composite
def over_time_inputs(draw, name, any_min_samples=False):
    store, g = draw(matrix_inputs(max_samples=14))
    start, end = (
        np.array(x, dtype=np.int64).reshape(store.n_series, len(g.lo))
        for x in R.window_bounds(store.offsets[:-1], store.offsets[1:], store.ts, g.lo, g.hi)
    )
    p1, p2 = _params(draw, name, len(g.lo))
    if any_min_samples:
        min_samples = draw(st.integers(1, 3))
        if name in NEEDS_TWO:
            min_samples = max(min_samples, 2)
    else:
        min_samples = 2 if name in NEEDS_TWO else 1
    return store, g, start, end, p1, p2, min_samples


def _expected(name, inp, ref=R.over_time):
    store, g, start, end, p1, p2, min_samples = inp
    return [
        [
            ref(
                name,
                store.samples(start[s, j], end[s, j]),
                float(p1[j]),
                float(p2[j]),
                int(g.hi[j]),
                min_samples,
            )
            for j in range(len(g.lo))
        ]
        for s in range(store.n_series)
    ]


def _kernel(name, inp):
    store, g, start, end, p1, p2, min_samples = inp
    return K.over_time(K.KINDS[name], store.ts, store.values, start, end, p1, p2, g.hi, min_samples)


@pytest.mark.parametrize("name", KIND_NAMES)
@kernel_settings(30)
@given(data=st.data())
def test_over_time_matches_reference(name, data):
    inp = data.draw(over_time_inputs(name))
    out, present = _kernel(name, inp)
    event(f"grid={inp[1].kind}")
    assert_same(out, present, _expected(name, inp), f"{name} over grid {inp[1].kind}")


@kernel_settings(60)
@given(data=st.data())
def test_over_time_honours_min_samples_for_every_kind(data):
    name = data.draw(st.sampled_from(KIND_NAMES))
    inp = data.draw(over_time_inputs(name, any_min_samples=True))
    out, present = _kernel(name, inp)
    assert_same(out, present, _expected(name, inp), f"{name}, min_samples={inp[-1]}")


def _extremes(strategy, vals, start, end, is_max, min_samples):
    """``_extremes`` over given window bounds, each window folded afresh (``fold``) or
    the windows slid through the two stacks (``slide``), whichever ``over_time`` would
    pick."""
    room = max(int((end - start).max(initial=0)), 1) if strategy == "slide" else 0
    none = np.zeros(0, np.int64)
    return K._extremes(
        none, vals, none, none, none, none, start, end, False, is_max, min_samples,
        np.empty(room), 0,
    )  # fmt: skip


@pytest.mark.parametrize("strategy", ["fold", "slide"])
@pytest.mark.parametrize("name", ["min_over_time", "max_over_time"])
@kernel_settings(40)
@given(data=st.data())
def test_both_min_max_strategies_match_reference(strategy, name, data):
    """``over_time`` folds each window or slides them by how often the windows overlap;
    each must be right on any grid, whichever it would pick."""
    inp = data.draw(over_time_inputs(name, any_min_samples=True))
    store, g, start, end, _, _, min_samples = inp
    out, present = _extremes(
        strategy, store.values, start, end, name == "max_over_time", min_samples
    )
    assert_same(out, present, _expected(name, inp), f"{strategy} for {name} over {g.kind}")


@st.composite
def fused_extreme_inputs(draw):
    """One to three series of up to 60 samples at a steady interval (jittered or not)
    with values that tie, hold NaN, ±Inf and zeros of both signs (or any
    :func:`values`), under a non-decreasing grid whose windows overlap a lot, a little
    or not at all, often a whole number of steps long (each window then starts where an
    earlier one ended), or stand still (``@``)."""
    n_series = draw(st.integers(1, 3))
    offsets, ts, vals = [0], [], []
    for _ in range(n_series):
        n = draw(st.integers(0, 60))
        jitter = draw(st.sampled_from([0, 0, 400]))
        ts += [1000 * (i + 1) + draw(st.integers(0, jitter)) for i in range(n)]
        vals += draw(
            st.one_of(
                st.lists(_TIES, min_size=n, max_size=n),
                runs(n),
                st.lists(values(), min_size=n, max_size=n),
            )
        )
        offsets.append(len(ts))
    T = draw(st.integers(1, 40))
    step = draw(st.sampled_from([0, 500, 1000, 2000, 3000, 7000]))
    width = draw(
        st.one_of(
            st.integers(0, 24).map(lambda d: d * step if step else 1000),
            st.integers(1, 40).map(lambda w: w * 1000),
            st.integers(1, 40_000),
        )
    )
    t0 = draw(st.integers(-5, 70)) * 1000 + draw(st.sampled_from([0, 500, 999]))
    hi = np.array([t0 + j * step for j in range(T)], np.int64)
    return np.array(vals, np.float64), np.array(ts, np.int64), np.array(offsets), hi - width, hi


@pytest.mark.parametrize("name", ["min_over_time", "max_over_time"])
@kernel_settings(200)
@given(inp=fused_extreme_inputs(), min_samples=st.integers(1, 3))
def test_extreme_over_time_matches_reference(name, inp, min_samples):
    """min/max_over_time finding their own window bounds (the evaluator's path on
    non-decreasing grids) give every window's ``compareOverTime`` bit for bit, whether
    they fold each window or slide, and whether a window's start is walked to or taken
    from the end of the window a whole number of steps before."""
    vals, ts, offsets, lo, hi = inp
    out, present = K.extreme_over_time(
        ts, vals, offsets[:-1], offsets[1:], lo, hi, name == "max_over_time", min_samples
    )
    start, end = (
        np.array(x, dtype=np.int64).reshape(len(offsets) - 1, len(hi))
        for x in R.window_bounds(offsets[:-1], offsets[1:], ts, lo, hi)
    )
    points = [(int(t), float(v)) for t, v in zip(ts, vals, strict=True)]
    expected = [
        [
            R.over_time(name, points[start[s, j] : end[s, j]], 0.0, 0.0, 0, min_samples)
            for j in range(len(hi))
        ]
        for s in range(len(offsets) - 1)
    ]
    slides = (hi - lo).sum() > K.SLIDING_WHEN * (hi[-1] - lo[0])
    event(f"starts from earlier ends: {W.lag(lo, hi) > 0}, slides: {slides}")
    assert_same(out, present, expected, name)


#: values whose order under Go's unstable sort decides the sign of a zero quantile
_TIES = st.sampled_from([0.0, -0.0, math.nan, 1.0, -1.0, math.inf, -math.inf])


@st.composite
def runs(draw, n):
    """``n`` values in runs of one value (a gauge that holds still), where a run of
    ``0.0`` may follow a run of ``-0.0``."""
    pool = draw(st.sampled_from([_TIES, st.sampled_from([0.0, -0.0, 1.0])]))
    out = []
    while len(out) < n:
        out += [draw(pool)] * draw(st.integers(1, 12))
    return out[:n]


@st.composite
def sliding_quantile_inputs(draw):
    """One to three series of up to 60 samples that repeat a few values (zeros of both
    signs, NaN, ±Inf, in :func:`runs` or not: what the sorted window moves around) or take
    any :func:`values`, under windows that overlap a lot, a little, stand still or move
    back, with any per-step q."""
    n_series = draw(st.integers(1, 3))
    offsets, ts, vals = [0], [], []
    for _ in range(n_series):
        n = draw(st.integers(0, 60))
        ts += [1000 * (i + 1) for i in range(n)]
        vals += draw(
            st.one_of(
                st.lists(_TIES, min_size=n, max_size=n),
                runs(n),
                st.lists(st.sampled_from([2.0, 3.0, 5.0]), min_size=n, max_size=n),
                st.lists(values(), min_size=n, max_size=n),
            )
        )
        offsets.append(len(ts))
    T = draw(st.integers(1, 30))
    width = draw(st.integers(1, 40)) * 1000
    step = draw(st.sampled_from([0, 1000, 2000, 3000, 17000, -4000]))
    t0 = draw(st.integers(-5, 70)) * 1000 + draw(st.sampled_from([0, 500]))
    hi = np.array([t0 + j * step for j in range(T)], np.int64)
    start, end = (
        np.array(x, dtype=np.int64).reshape(n_series, T)
        for x in R.window_bounds(offsets[:-1], offsets[1:], ts, hi - width, hi)
    )
    q = st.one_of(st.sampled_from([0.0, 0.5, 1.0, 0.9, math.nan, -0.5, 1.5]), st.floats(0, 1))
    qs = np.array(draw(st.lists(q, min_size=T, max_size=T)))
    return np.array(vals, np.float64), ts, start, end, qs, draw(st.integers(1, 3))


@kernel_settings(200)
@given(inp=sliding_quantile_inputs())
def test_sliding_quantile_matches_reference(inp):
    """The sorted window ``over_time`` slides for overlapping windows gives each
    window's quantile bit for bit, whatever came in and left before."""
    vals, ts, start, end, qs, min_samples = inp
    out = np.zeros(start.shape)
    present = np.zeros(start.shape, bool)
    K._sliding_quantile(qs, vals, start, end, min_samples, out, present)
    points = [(t, float(v)) for t, v in zip(ts, vals, strict=True)]
    expected = [
        [
            R.over_time(
                "quantile_over_time",
                points[start[s, j] : end[s, j]],
                float(qs[j]),
                float(qs[j]),
                0,
                min_samples,
            )
            for j in range(start.shape[1])
        ]
        for s in range(start.shape[0])
    ]
    assert_same(out, present, expected, "sliding quantile")


@pytest.mark.parametrize("q", [0.0, 0.5, 0.9])
def test_sliding_quantile_follows_zeros_that_change_sign(q):
    """-0.0 leaving as 0.0 comes in compares equal but is a change: the window must
    hold the new zero, or a later quantile keeps the old sign."""
    vals = np.array([-0.0] * 4 + [0.0] * 4 + [1.0] * 2)
    start = np.arange(7, dtype=np.int64).reshape(1, 7)
    end = start + 4
    out = np.zeros((1, 7))
    present = np.zeros((1, 7), bool)
    K._sliding_quantile(np.full(7, q), vals, start, end, 1, out, present)
    points = [(i, float(v)) for i, v in enumerate(vals)]
    expected = [
        [R.over_time("quantile_over_time", points[j : j + 4], q, q, 0, 1) for j in range(7)]
    ]
    assert_same(out, present, expected, f"q={q}")


@pytest.mark.parametrize("strategy", ["fold", "slide"])
@pytest.mark.parametrize("is_max", [True, False])
def test_min_max_skip_a_leading_nan_and_keep_the_first_of_equal_zeros(strategy, is_max):
    """The cases random inputs reach rarely: a window that starts with NaN takes its
    first non-NaN extreme; an all-NaN window gives NaN; -0.0 before 0.0 stays -0.0."""
    vals = np.array([math.nan, 1.0, 5.0, -2.0, math.nan, math.nan, -0.0, 0.0])
    start = np.array([[0, 4, 6, 0]], np.int64)
    end = np.array([[4, 6, 8, 8]], np.int64)
    out, present = _extremes(strategy, vals, start, end, is_max, 1)
    expected = [5.0 if is_max else -2.0, math.nan, -0.0, 5.0 if is_max else -2.0]
    assert present.all()
    np.testing.assert_array_equal(out[0], expected)
    assert math.copysign(1.0, out[0, 2]) == -1.0


@kernel_settings(150)
@given(
    q=st.one_of(st.sampled_from([0.0, 0.5, 1.0, math.nan, -1.0, 2.0]), st.floats(0, 1)),
    vals=st.one_of(
        st.lists(_TIES, max_size=40),
        st.lists(st.one_of(values(), st.sampled_from(SPECIAL_VALUES)), max_size=40),
    ),
)
def test_quantile_matches_go_sort_order(q, vals):
    got = K.quantile_sorted(q, np.array(vals, dtype=np.float64))
    expected = R.quantile(q, vals)
    event(f"n={'<=12' if len(vals) <= 12 else '13..32' if len(vals) <= 32 else '>32'}")
    assert R.same_float(got, expected), (got, expected)


# --- the comparison catches broken references --------------------------------------


def _naive_sum(name, samples, p1, p2, t, min_samples):
    """Broken copy: sum_over_time without Kahan compensation."""
    if len(samples) < min_samples or not samples:
        return None
    total = 0.0
    for _, v in samples:
        total += v
    return total


def _max_without_nan_rule(name, samples, p1, p2, t, min_samples):
    """Broken copy: max_over_time that keeps a leading NaN."""
    if len(samples) < min_samples or not samples:
        return None
    best = samples[0][1]
    for _, v in samples:
        if v > best:
            best = v
    return best


def _quantile_nan_last(name, samples, p1, p2, t, min_samples):
    """Broken copy: quantile_over_time with NaN sorted last (numpy's order)."""
    if len(samples) < min_samples or not samples:
        return None
    vals = sorted((v for _, v in samples), key=lambda v: (math.isnan(v), v))
    q = p1
    if math.isnan(q):
        return math.nan
    if q < 0 or q > 1:
        return -math.inf if q < 0 else math.inf
    n = float(len(vals))
    rank = q * (n - 1)
    lower = max(0.0, float(math.floor(rank)))
    upper = min(n - 1, lower + 1)
    w = rank - math.floor(rank)
    return vals[int(lower)] * (1 - w) + vals[int(upper)] * w


def _mad_before_3_14(name, samples, p1, p2, t, min_samples):
    """Broken copy: mad_over_time without 3.14's "any NaN gives NaN" rule."""
    if len(samples) < min_samples or not samples:
        return None
    vals = [v for _, v in samples]
    median = R.quantile(0.5, vals)
    return R.quantile(0.5, [abs(v - median) for v in vals])


def _off_by_one(name, samples, p1, p2, t, min_samples):
    """Broken copy: every window loses its first sample."""
    return R.over_time(name, samples[1:], p1, p2, t, min_samples)


@pytest.mark.parametrize(
    "name, broken",
    [
        ("sum_over_time", _naive_sum),
        ("max_over_time", _max_without_nan_rule),
        ("quantile_over_time", _quantile_nan_last),
        ("mad_over_time", _mad_before_3_14),
        ("avg_over_time", _off_by_one),
        ("deriv", _off_by_one),
    ],
)
def test_broken_over_time_references_are_caught(name, broken):
    def differs(inp):
        out, present = _kernel(name, inp)
        try:
            assert_same(out, present, _expected(name, inp, broken))
        except AssertionError:
            return True
        return False

    find_counterexample(over_time_inputs(name), differs)


def test_quantile_by_selection_equals_quantile_by_sorting():
    """The ranks are selected (quickselect, three-way partitions), not sorted for: on
    windows long enough to partition, with few distinct values (partitions that stop on
    a run of equal values), every rank and weight must give Go's sorted answer."""
    rng = np.random.default_rng(7)
    pools = [
        [0.0, 1.0, 2.0, 3.0],
        [math.nan, -1.0, 0.0, 5.0, math.inf],
        [-0.0, -2.5, 7.0],
        [1e308, -1e308, 0.5, 0.25],
    ]
    for trial in range(3000):
        pool = pools[trial % len(pools)]
        n = int(rng.integers(1, 70))
        vals = rng.choice(pool, n) if trial % 5 else rng.normal(size=n)
        q = float(rng.choice([0.0, 0.01, 0.25, 0.5, 0.77, 0.9, 0.99, 1.0, rng.random()]))
        got = K.quantile_sorted(q, vals)
        want = R.quantile(q, vals.tolist())
        assert R.same_float(got, want), (q, vals.tolist(), got, want)


@pytest.mark.parametrize(("value", "n", "q"), [(0.1, 2, 0.2), (3.3, 3, 0.1), (0.3, 2, 0.1)])
def test_flat_window_quantile_still_interpolates(value, n, q):
    """A window of one repeated value takes a shortcut, but still computes Prometheus'
    ``x*(1-w) + x*w``, which is not always ``x`` (0.1 with w = 0.2 gives
    0.10000000000000002)."""
    vals = np.full(n, value)
    start, end = np.array([[0]]), np.array([[n]])
    p = np.array([q])
    out, present = K.over_time(K.QUANTILE, np.arange(n), vals, start, end, p, p, p, 1)
    assert present[0, 0]
    assert out[0, 0] == R.quantile(q, vals.tolist()) != value


@pytest.mark.parametrize("strategy", ["fold", "slide"])
@pytest.mark.parametrize("is_max", [True, False])
def test_min_max_without_nan_keep_the_first_of_equal_zeros(strategy, is_max):
    """Windows without NaN take the plain fold: it must still keep the first of two
    equal extremes (-0.0 before 0.0 stays -0.0)."""
    vals = np.array([-0.0, 0.0, 3.0, -1.0, 0.0])
    start = np.array([[0, 1, 3]], np.int64)
    end = np.array([[2, 4, 5]], np.int64)
    out, _ = _extremes(strategy, vals, start, end, is_max, 1)
    np.testing.assert_array_equal(out[0], [-0.0, 3.0 if is_max else -1.0, 0.0 if is_max else -1.0])
    assert math.copysign(1.0, out[0, 0]) == -1.0
