"""``engine.kernels.windows`` against :mod:`reference`: window bounds, the lookback sample
of instant selectors, stale-marker removal.

Why the inputs reach every branch of the kernels:

- ``window_bounds`` has a forward-pass path for non-decreasing edges and a binary-search
  path for anything else; the grids are regular / ``@`` (monotone) or reversed / random /
  inverted (not), which ``event`` records, and the segments are an arbitrary selection of
  a store's series (repeats and reordering included), so absolute indices are checked;
- window edges are drawn on sample timestamps and 1 ms either side, so both the left-open
  and the right-closed comparisons decide real cases (the mutants below prove it);
- a quarter of the samples are stale markers, so ``lookback_index`` meets a stale newest
  sample with older live ones behind it, and ``drop_stale`` meets stale runs at series
  edges; NaNs with other payloads must survive.
"""

from __future__ import annotations

import numpy as np
import reference as R
from hypothesis import event, given
from hypothesis import strategies as st
from kernel_support import find_counterexample, kernel_settings, matrix_inputs

from engine.kernels import windows as K


@st.composite
def selection(draw, stale=False, inverted=True):
    store, g = draw(matrix_inputs(stale=stale, inverted=inverted))
    sel = draw(st.lists(st.integers(0, store.n_series - 1), min_size=1, max_size=5))
    seg_start = store.offsets[:-1][sel]
    seg_end = store.offsets[1:][sel]
    return store, g, seg_start, seg_end


@kernel_settings(120)
@given(selection())
def test_window_bounds_match_reference(inp):
    store, g, seg_start, seg_end = inp
    start, end = K.window_bounds(seg_start, seg_end, store.ts, g.lo, g.hi)
    ref_start, ref_end = R.window_bounds(seg_start, seg_end, store.ts, g.lo, g.hi)
    event(f"grid={g.kind} monotone={g.monotone}")
    assert start.tolist() == ref_start
    assert end.tolist() == ref_end


@kernel_settings(120)
@given(selection(stale=True))
def test_lookback_index_matches_reference(inp):
    store, g, seg_start, seg_end = inp
    got = K.lookback_index(seg_start, seg_end, store.ts, store.values, g.lo, g.hi)
    expected = R.lookback_index(seg_start, seg_end, store.ts, store.values, g.lo, g.hi)
    stale_hidden = any(
        e == -1 and any(g.lo[j] < store.ts[i] <= g.hi[j] for i in range(a, b))
        for row, a, b in zip(expected, seg_start, seg_end, strict=True)
        for j, e in enumerate(row)
    )
    event(f"a stale newest sample hides older ones: {stale_hidden}")
    assert got.tolist() == expected


@kernel_settings(60)
@given(matrix_inputs(stale=True))
def test_drop_stale_matches_reference(inp):
    store, _ = inp
    off, ts, vals = K.drop_stale(store.offsets, store.ts, store.values)
    ref_off, ref_ts, ref_vals = R.drop_stale(store.offsets, store.ts, store.values)
    assert off.tolist() == ref_off
    assert ts.tolist() == ref_ts
    # bit for bit: other NaN payloads are kept as they are
    assert vals.view(np.uint64).tolist() == [R.float_bits(v) for v in ref_vals]


# --- the comparison catches broken references --------------------------------------


def _left_closed_bounds(seg_start, seg_end, ts, lo, hi):
    """Broken copy: windows ``[lo, hi]`` (Prometheus 2.x), not ``(lo, hi]``."""
    return R.window_bounds(seg_start, seg_end, ts, np.asarray(lo) - 1, hi)


def _right_open_bounds(seg_start, seg_end, ts, lo, hi):
    """Broken copy: windows ``(lo, hi)``."""
    return R.window_bounds(seg_start, seg_end, ts, lo, np.asarray(hi) - 1)


def _stale_skipping_lookback(seg_start, seg_end, ts, values, lo, hi):
    """Broken copy: a stale newest sample lets an older live one through."""
    out = []
    for a0, b0 in zip(seg_start, seg_end, strict=True):
        row = []
        for lo_j, hi_j in zip(lo, hi, strict=True):
            live = [
                i
                for i in range(a0, b0)
                if lo_j < ts[i] <= hi_j and R.float_bits(values[i]) != R.STALE_NAN_BITS
            ]
            row.append(live[-1] if live else -1)
        out.append(row)
    return out


def test_broken_window_edges_are_caught():
    for broken in (_left_closed_bounds, _right_open_bounds):

        def differs(inp, broken=broken):
            store, g, seg_start, seg_end = inp
            start, end = K.window_bounds(seg_start, seg_end, store.ts, g.lo, g.hi)
            b_start, b_end = broken(seg_start, seg_end, store.ts, g.lo, g.hi)
            return start.tolist() != b_start or end.tolist() != b_end

        find_counterexample(selection(), differs)


def test_broken_stale_handling_is_caught():
    def differs(inp):
        store, g, seg_start, seg_end = inp
        got = K.lookback_index(seg_start, seg_end, store.ts, store.values, g.lo, g.hi)
        return got.tolist() != _stale_skipping_lookback(
            seg_start, seg_end, store.ts, store.values, g.lo, g.hi
        )

    find_counterexample(selection(stale=True), differs)


@kernel_settings(300)
@given(
    st.lists(
        st.one_of(st.integers(-50, 50), st.integers(-(10**6), 10**6)), max_size=300
    ).map(sorted),
    st.data(),
)
def test_first_after_is_a_right_bisection(ts, data):
    """``first_after`` (an interpolation probe, a gallop, then bisection) finds what a
    bisection finds, on any sorted timestamps: regular, clustered or repeated, with
    ``x`` on a sample, next to one, or anywhere."""
    x = data.draw(
        st.sampled_from(ts).flatmap(lambda t: st.sampled_from([t - 1, t, t + 1]))
        if ts
        else st.integers(-5, 5)
    )
    x = data.draw(st.one_of(st.just(x), st.integers(-(10**6), 10**6)))
    ts = np.array(ts, np.int64)
    a = data.draw(st.integers(0, len(ts)))
    b = data.draw(st.integers(a, len(ts)))
    want = a + int(np.searchsorted(ts[a:b], x, side="right"))
    assert K.first_after(ts, a, b, x) == want


@kernel_settings(300)
@given(
    t0=st.integers(-(10**6), 10**6),
    step=st.integers(0, 5000),
    d=st.integers(0, 12),
    extra=st.integers(-3, 3),
    T=st.integers(0, 20),
    data=st.data(),
)
def test_lag_is_where_windows_start_at_earlier_ends(t0, step, d, extra, T, data):
    """``lag`` finds ``d`` on a step grid whose range is ``d`` steps (every window then
    starts where the one ``d`` steps before ends), and only claims a lag that holds for
    every window, on any non-decreasing grid (repeated steps and other ranges too)."""
    regular = data.draw(st.booleans())
    if regular:
        hi = np.array([t0 + j * step for j in range(T)], np.int64)
    else:  # any non-decreasing edges
        edges = data.draw(st.lists(st.integers(0, 40), min_size=T, max_size=T))
        hi = np.sort(np.array(edges, np.int64))
    width = d * step + data.draw(st.sampled_from([0, 0, extra]))
    lo = hi - width
    got = K.lag(lo, hi)
    assert 0 <= got < max(T, 1)
    if got:
        assert all(lo[j] == hi[j - got] for j in range(got, T))
    elif regular and step and 0 < d < T and width == d * step:
        raise AssertionError(f"missed the lag {d} of a {step} ms grid of {T} steps")
