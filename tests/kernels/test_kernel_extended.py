"""``engine.kernels.extended`` (``anchored`` / ``smoothed``) against :mod:`reference`:
``extendedRate`` for rate / increase / delta, ``smoothSeries`` and ``interpolate``.

Why the inputs reach every branch: the fetched window is the range widened by a lookback
delta of 1 ms, 1 min or 5 min on the left (and on the right when smoothed), and the step
grid's edges sit on sample timestamps or 1 ms off them, so the kernels meet a sample
exactly on the range start or end, samples only before the range (no output), only after
it (no output when smoothed, prometheus#18523), and on both sides (interpolation at both
edges); counters with resets make ``interpolate`` restart from 0 and the reset correction
count resets inside the range and at its edges; ``smoothed_instant`` sees an exact match,
a gap to interpolate across, and nothing after the step (the last value carries on).
"""

from __future__ import annotations

import numpy as np
import reference as R
from hypothesis import given
from hypothesis import strategies as st
from kernel_support import (
    assert_same,
    find_counterexample,
    kernel_settings,
    matrix_inputs,
    values,
)

from engine.kernels import extended as K

FLAVOURS = {"rate": (True, True), "increase": (True, False), "delta": (False, False)}


def _bounds(store, lo, hi):
    return (
        np.array(x, dtype=np.int64).reshape(store.n_series, len(lo))
        for x in R.window_bounds(store.offsets[:-1], store.offsets[1:], store.ts, lo, hi)
    )


@st.composite
def extended_inputs(draw):
    store, g = draw(matrix_inputs())
    lookback = draw(st.sampled_from([1, 60_000, 300_000]))
    smoothed = draw(st.booleans())
    name = draw(st.sampled_from(sorted(FLAVOURS)))
    start, end = _bounds(store, g.lo - lookback, g.hi + (lookback if smoothed else 0))
    return store, g, smoothed, name, start, end


def _expected(inp, ref=R.extended_rate):
    store, g, smoothed, name, start, end = inp
    is_counter, is_rate = FLAVOURS[name]
    return [
        [
            ref(
                store.samples(start[s, j], end[s, j]),
                int(g.lo[j]),
                int(g.hi[j]),
                smoothed,
                is_counter,
                is_rate,
                g.range_ms / 1000.0,
            )
            for j in range(len(g.lo))
        ]
        for s in range(store.n_series)
    ]


def _kernel(inp):
    store, g, smoothed, name, start, end = inp
    is_counter, is_rate = FLAVOURS[name]
    return K.extended_rate(
        store.ts, store.values, start, end, g.lo, g.hi, smoothed, is_counter, is_rate,
        g.range_ms / 1000.0,
    )  # fmt: skip


@kernel_settings(120)
@given(extended_inputs())
def test_extended_rate_matches_reference(inp):
    out, present = _kernel(inp)
    assert_same(out, present, _expected(inp), f"{inp[3]}, smoothed={inp[2]}")


@kernel_settings(80)
@given(matrix_inputs(), st.sampled_from([1, 60_000, 300_000]))
def test_smoothed_instant_matches_reference(inp, lookback):
    store, g = inp
    start, end = _bounds(store, g.hi - lookback, g.hi + lookback)
    out, present = K.smoothed_instant(store.ts, store.values, start, end, g.hi)
    expected = [
        [
            R.smoothed_instant(store.samples(start[s, j], end[s, j]), int(g.hi[j]))
            for j in range(len(g.hi))
        ]
        for s in range(store.n_series)
    ]
    assert_same(out, present, expected, "smoothed instant selector")


@kernel_settings(100)
@given(
    st.integers(-(10**6), 10**6),
    values(),
    st.integers(1, 10**6),
    values(),
    st.integers(0, 10**6),
    st.booleans(),
)
def test_interpolate_matches_reference(t1, v1, dt, v2, dt_at, is_counter):
    t2 = t1 + dt
    t = t1 + dt_at % (dt + 1)
    got = K.interpolate(t1, v1, t2, v2, t, is_counter)
    assert R.same_float(got, R.interpolate(t1, v1, t2, v2, t, is_counter))


# --- the comparison catches broken references --------------------------------------


def _without_after_range_guard(f, range_start, range_end, smoothed, *rest):
    """Broken copy: before prometheus#18523, a smoothed rate with every sample after the
    range was 0 instead of absent."""
    if smoothed and f and f[0][0] > range_end:
        return 0.0
    return R.extended_rate(f, range_start, range_end, smoothed, *rest)


def _counter_without_restart(f, range_start, range_end, smoothed, is_counter, *rest):
    """Broken copy: interpolation across a counter reset without restarting from 0."""
    if not is_counter or not smoothed:
        return R.extended_rate(f, range_start, range_end, smoothed, is_counter, *rest)
    saved = R.interpolate
    R.interpolate = lambda t1, v1, t2, v2, t, c: saved(t1, v1, t2, v2, t, False)
    try:
        return saved.__globals__["extended_rate"](
            f, range_start, range_end, smoothed, is_counter, *rest
        )
    finally:
        R.interpolate = saved


def test_broken_extended_references_are_caught():
    for broken in (_without_after_range_guard, _counter_without_restart):

        def differs(inp, broken=broken):
            out, present = _kernel(inp)
            try:
                assert_same(out, present, _expected(inp, broken))
            except AssertionError:
                return True
            return False

        find_counterexample(extended_inputs(), differs)
