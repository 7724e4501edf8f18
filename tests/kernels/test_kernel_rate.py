"""``engine.kernels.rate`` against :mod:`reference`: ``rate``/``increase``/``delta``
(``extrapolatedRate``), the fused variant that finds its own window bounds, ``irate`` /
``idelta`` (``instantValue``) and the counter-reset index.

Why the inputs reach every branch: half the series are counters with resets (to 0, to
half the value, or to 1), so the reset corrections run, the zero-point cap beats the
extrapolation (a counter starting near 0) or does not; regular sample gaps make the gap to
a window edge land exactly on the 1.1x-average threshold or on the "avg/2" side of it;
windows with 0, 1 and 2+ samples occur (no output below two); the other half of the
series are arbitrary values (NaN, ±Inf, -0.0, 1e308) for ``delta``, whose result may
overflow or be NaN. The fused kernel only runs on non-decreasing grids, as the evaluator
calls it. Every comparison is bit for bit: the kernels add the reset corrections in the
same order as Go.
"""

from __future__ import annotations

import numpy as np
import reference as R
from hypothesis import event, given
from hypothesis import strategies as st
from kernel_support import assert_same, find_counterexample, kernel_settings, matrix_inputs

from engine.kernels import rate as K

FLAVOURS = {"rate": (True, True), "increase": (True, False), "delta": (False, False)}


@st.composite
def rate_inputs(draw):
    store, g = draw(matrix_inputs())
    name = draw(st.sampled_from(sorted(FLAVOURS)))
    seg_start, seg_end = store.offsets[:-1], store.offsets[1:]
    start, end = (
        np.array(x, dtype=np.int64).reshape(store.n_series, len(g.lo))
        for x in R.window_bounds(seg_start, seg_end, store.ts, g.lo, g.hi)
    )
    return store, g, name, start, end


def _expected(store, g, name, start, end, ref=R.extrapolated_rate):
    is_counter, is_rate = FLAVOURS[name]
    return [
        [
            ref(
                store.samples(start[s, j], end[s, j]),
                int(g.lo[j]),
                int(g.hi[j]),
                is_counter,
                is_rate,
                g.range_ms / 1000.0,
            )
            for j in range(len(g.lo))
        ]
        for s in range(store.n_series)
    ]


def _kernel(store, g, name, start, end):
    is_counter, is_rate = FLAVOURS[name]
    pos, prefix = K.counter_resets(store.offsets, store.values)
    return K.extrapolated_rate(
        store.ts, store.values, start, end, g.lo, g.hi, pos, prefix,
        is_counter, is_rate, g.range_ms / 1000.0,
    )  # fmt: skip


@kernel_settings(60)
@given(matrix_inputs())
def test_counter_resets_match_reference(inp):
    store, _ = inp
    pos, prefix = K.counter_resets(store.offsets, store.values)
    ref_pos, ref_prefix = R.counter_resets(store.offsets, store.values)
    assert pos.tolist() == ref_pos
    assert prefix.tolist() == ref_prefix


@kernel_settings(120)
@given(rate_inputs())
def test_extrapolated_rate_matches_reference(inp):
    store, g, name, start, end = inp
    out, present = _kernel(store, g, name, start, end)
    expected = _expected(store, g, name, start, end)
    event(f"{name}: windows with output {int(present.sum())}/{present.size}")
    assert_same(out, present, expected, f"{name} over grid {g.kind}")


@kernel_settings(80)
@given(rate_inputs().filter(lambda inp: inp[1].monotone))
def test_extrapolated_rate_fused_matches_reference(inp):
    store, g, name, start, end = inp
    is_counter, is_rate = FLAVOURS[name]
    pos, prefix = K.counter_resets(store.offsets, store.values)
    out, present = K.extrapolated_rate_fused(
        store.ts, store.values, store.offsets[:-1], store.offsets[1:], g.lo, g.hi,
        pos, prefix, is_counter, is_rate, g.range_ms / 1000.0,
    )  # fmt: skip
    assert_same(out, present, _expected(store, g, name, start, end), f"{name}, fused")


@kernel_settings(80)
@given(rate_inputs())
def test_instant_value_matches_reference(inp):
    store, g, name, start, end = inp
    is_rate = name == "rate"
    out, present = K.instant_value(store.ts, store.values, start, end, is_rate)
    expected = [
        [R.instant_value(store.samples(start[s, j], end[s, j]), is_rate) for j in range(len(g.lo))]
        for s in range(store.n_series)
    ]
    assert_same(out, present, expected, "irate" if is_rate else "idelta")


# --- the comparison catches broken references --------------------------------------


def _rate_zero_cap_first(samples, range_start, range_end, is_counter, is_rate, range_seconds):
    """Broken copy: the zero-point cap before the 1.1x threshold (Prometheus < 2.51)."""
    if len(samples) < 2 or not is_counter:
        return R.extrapolated_rate(
            samples, range_start, range_end, is_counter, is_rate, range_seconds
        )
    first_t, first_v = samples[0]
    last_t, last_v = samples[-1]
    result = last_v - first_v
    for (_, prev), (_, curr) in zip(samples, samples[1:], strict=False):
        if curr < prev:
            result += prev
    to_start = float(first_t - range_start) / 1000
    to_end = float(range_end - last_t) / 1000
    sampled = float(last_t - first_t) / 1000
    avg = R.go_div(sampled, float(len(samples) - 1))
    if result > 0 and first_v >= 0:
        to_start = min(to_start, sampled * R.go_div(first_v, result))
    if to_start >= avg * 1.1:
        to_start = avg / 2
    if to_end >= avg * 1.1:
        to_end = avg / 2
    factor = R.go_div(sampled + to_start + to_end, sampled)
    if is_rate:
        factor = R.go_div(factor, range_seconds)
    return result * factor


def _rate_without_resets(samples, range_start, range_end, is_counter, is_rate, range_seconds):
    """Broken copy: no counter-reset correction."""
    if is_counter and len(samples) >= 2:
        # feed a monotone copy: the same first/last values, no reset inside
        first, last = samples[0], samples[-1]
        samples = [first] + [(t, first[1]) for t, _ in samples[1:-1]] + [last]
    return R.extrapolated_rate(samples, range_start, range_end, is_counter, is_rate, range_seconds)


def test_broken_rate_references_are_caught():
    for broken in (_rate_zero_cap_first, _rate_without_resets):

        def differs(inp, broken=broken):
            store, g, name, start, end = inp
            out, present = _kernel(store, g, name, start, end)
            try:
                assert_same(out, present, _expected(store, g, name, start, end, broken))
            except AssertionError:
                return True
            return False

        find_counterexample(rate_inputs(), differs)


def test_broken_irate_is_caught():
    def differs(inp):
        store, g, _, start, end = inp
        out, present = K.instant_value(store.ts, store.values, start, end, True)
        expected = [
            [
                R.instant_value(store.samples(start[s, j], end[s, j]), False)  # no reset rule
                for j in range(len(g.lo))
            ]
            for s in range(store.n_series)
        ]
        # idelta's value divided by the interval: irate without the reset branch
        for s, row in enumerate(expected):
            for j, e in enumerate(row):
                if e is not None:
                    dt = store.ts[end[s, j] - 1] - store.ts[end[s, j] - 2]
                    row[j] = R.go_div(e, float(dt) / 1000)
        try:
            assert_same(out, present, expected)
        except AssertionError:
            return True
        return False

    find_counterexample(rate_inputs(), differs)
