"""``engine.kernels.csr`` against :mod:`reference`. ``build_csr``: samples appended in any
order become per-series, time-ordered columns; at a duplicate timestamp the first
appended sample stays, a later one with other bits is rejected and counted, one with the
same bits is dropped silently.

Why the inputs reach every branch: timestamps come from a handful of values, so
duplicates are common, both with identical bits and with values that compare equal but
differ in bits (0.0 / -0.0, NaN / the stale marker); samples arrive in order, reversed or
shuffled (the kernel only sorts series that need it); some series get no sample at all.
``matrix_points``: a step matrix's rows, picked in any order (repeats too) and with any
pattern of present steps, empty rows and rows present at every step (short, or long
enough to be copied whole) included, become CSR points.
"""

from __future__ import annotations

import math

import numpy as np
import reference as R
from hypothesis import given
from hypothesis import strategies as st
from kernel_support import find_counterexample, kernel_settings

from engine.kernels import csr as K

STALE = float(np.array([R.STALE_NAN_BITS], dtype=np.uint64).view(np.float64)[0])


@st.composite
def appended_samples(draw):
    n_series = draw(st.integers(1, 5))
    n = draw(st.integers(0, 30))
    series = draw(st.lists(st.integers(0, n_series - 1), min_size=n, max_size=n))
    ts = draw(st.lists(st.sampled_from([0, 1, 2, 15_000, -5, 10**12]), min_size=n, max_size=n))
    vals = draw(
        st.lists(
            st.sampled_from([0.0, -0.0, 1.0, 2.0, math.nan, STALE, math.inf]),
            min_size=n,
            max_size=n,
        )
    )
    arrival = draw(st.sampled_from(["sorted", "reversed", "as drawn"]))
    if arrival != "as drawn":
        order = sorted(range(n), key=lambda k: ts[k], reverse=arrival == "reversed")
        series, ts, vals = ([x[k] for k in order] for x in (series, ts, vals))
    return (
        np.array(series, np.int64),
        np.array(ts, np.int64),
        np.array(vals, np.float64),
        n_series,
    )


@kernel_settings(150)
@given(appended_samples())
def test_build_csr_matches_reference(inp):
    offsets, ts, vals, rejected = K.build_csr(*inp)
    ref_off, ref_ts, ref_vals, ref_rejected = R.build_csr(*inp)
    assert offsets.tolist() == ref_off
    assert ts.tolist() == ref_ts
    assert vals.view(np.uint64).tolist() == [R.float_bits(v) for v in ref_vals]
    assert int(rejected) == ref_rejected


@kernel_settings(100)
@given(appended_samples(), st.data())
def test_build_csr_of_chunks_matches_reference(inp, data):
    """The chunks a builder collects, counted and scattered one by one, give the CSR of
    the samples in append order (first appended wins a duplicate timestamp)."""
    series, ts, vals, n_series = inp
    cuts = sorted(data.draw(st.lists(st.integers(0, len(series)), max_size=4)))
    bounds = list(zip([0, *cuts], [*cuts, len(series)], strict=True))
    offsets, out_ts, out_vals, rejected = K.build_csr(
        [series[a:b] for a, b in bounds],
        [ts[a:b] for a, b in bounds],
        [vals[a:b] for a, b in bounds],
        n_series,
    )
    ref_off, ref_ts, ref_vals, ref_rejected = R.build_csr(*inp)
    assert offsets.tolist() == ref_off
    assert out_ts.tolist() == ref_ts
    assert out_vals.view(np.uint64).tolist() == [R.float_bits(v) for v in ref_vals]
    assert int(rejected) == ref_rejected


def _keep_last(series, ts, vals, n_series):
    """Broken copy: the last appended sample wins a duplicate timestamp."""
    n = len(series)
    rev = [n - 1 - k for k in range(n)]
    return R.build_csr(
        [series[k] for k in rev], [ts[k] for k in rev], [vals[k] for k in rev], n_series
    )


def _compare_by_value(series, ts, vals, n_series):
    """Broken copy: duplicates compared by value (NaN never equal, 0.0 == -0.0)."""
    off, out_ts, out_v, _ = R.build_csr(series, ts, vals, n_series)
    per = {}
    rejected = 0
    for s, t, v in zip(series, ts, vals, strict=True):
        if (s, t) in per:
            rejected += per[(s, t)] != v
        else:
            per[(s, t)] = v
    return off, out_ts, out_v, rejected


def test_broken_references_are_caught():
    for broken in (_keep_last, _compare_by_value):

        def differs(inp, broken=broken):
            offsets, ts, vals, rejected = K.build_csr(*inp)
            b_off, b_ts, b_vals, b_rejected = broken(*inp)
            return (
                vals.view(np.uint64).tolist() != [R.float_bits(v) for v in b_vals]
                or int(rejected) != b_rejected
            )

        find_counterexample(appended_samples(), differs)


@st.composite
def step_matrices(draw):
    S = draw(st.integers(0, 5))
    T = draw(st.one_of(st.integers(0, 6), st.integers(K.WHOLE_ROW - 1, K.WHOLE_ROW + 9)))
    every = st.just([True] * T)  # a row present at every step (copied whole when long)
    present = np.array(
        [draw(st.one_of(every, st.lists(st.booleans(), min_size=T, max_size=T))) for _ in range(S)],
        bool,
    )
    values = np.array(
        draw(
            st.lists(
                st.sampled_from([0.0, -0.0, 1.5, math.nan, STALE]), min_size=S * T, max_size=S * T
            )
        ),
        np.float64,
    )
    rows = draw(st.lists(st.integers(0, S - 1), max_size=6)) if S else []
    times = sorted(draw(st.lists(st.integers(-(10**12), 10**13), min_size=T, max_size=T)))
    return (
        values.reshape(S, T),
        present.reshape(S, T),
        np.array(rows, np.int64),
        np.array(times, np.int64),
    )


@kernel_settings(150)
@given(step_matrices())
def test_matrix_points_matches_reference(inp):
    offsets, ts, vals = K.matrix_points(*inp)
    values, present, rows, times = inp
    ref_off, ref_ts, ref_vals = R.matrix_points(values.tolist(), present.tolist(), rows, times)
    assert offsets.tolist() == ref_off
    assert ts.tolist() == [int(t) for t in ref_ts]
    assert vals.view(np.uint64).tolist() == [R.float_bits(v) for v in ref_vals]
