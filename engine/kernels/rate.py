"""rate / increase / delta, irate / idelta, and the counter-reset index they share.

Mirrors ``extrapolatedRate`` and ``instantValue`` in prometheus/prometheus
``promql/functions.go`` (3.x). Counter resets are found once per selection
(:func:`counter_resets`), so a window costs O(1) plus O(resets inside it), however long
it is, and the correction is still added in Prometheus' order, reset by reset.
"""

from __future__ import annotations

import numpy as np

from .jit import kernel
from .windows import advance, first_after

__all__ = ["counter_resets", "extrapolated_rate", "extrapolated_rate_fused", "instant_value"]


def counter_resets(offsets, values):
    """Positions ``k`` where ``values[k] < values[k-1]`` within a series, and a prefix count.

    Returns ``(pos, prefix)`` with ``prefix[i]`` = number of resets at positions ``<= i``.
    ``prefix`` (one entry per sample of the store) is allocated by numpy, which asks for
    huge pages: numba's allocation took a page fault every 4 KiB (0.19 -> 0.06 s on the
    medium mesh, a new process's first query).
    """
    prefix = np.empty(len(values), np.int64)
    return _counter_resets(offsets, values, prefix), prefix


@kernel
def _counter_resets(offsets, values, prefix):
    """:func:`counter_resets` into ``prefix``; returns ``pos``. Each series is indexed
    from 0 (see :mod:`engine.kernels.jit` on signed indices)."""
    count = 0
    S = len(offsets) - 1
    for s in range(S):
        v = values[offsets[s] : offsets[s + 1]]
        p = prefix[offsets[s] : offsets[s + 1]]
        if len(v):
            p[0] = count
        for i in range(1, len(v)):
            count += v[i] < v[i - 1]
            p[i] = count
    pos = np.empty(count, np.int64)
    k = 0
    for s in range(S):
        a = offsets[s]
        v = values[a : offsets[s + 1]]
        for i in range(1, len(v)):
            if v[i] < v[i - 1]:
                pos[k] = a + i
                k += 1
    return pos


@kernel
def _rates(
    ts,
    values,
    seg_start,
    seg_end,
    lo,
    hi,
    start,
    end,
    fused,
    reset_pos,
    reset_prefix,
    is_counter,
    is_rate,
    range_seconds,
):
    """Both rate kernels: window ``j`` of series ``s`` is ``[start[s, j], end[s, j])``, or,
    when ``fused``, found by walking series ``s``'s samples forward; its edges are
    ``(lo[j], hi[j]]``.

    Per series, a first pass gathers each window's sample count, raw increase (last -
    first, plus the value before each counter reset, in Prometheus' order), first value
    and first/last timestamps; a second pass extrapolates them. The second pass has no
    branches on the data (selects instead), so it vectorises: its divisions, most of a
    window's cost, run several at a time (2-3x faster than one window at a time). The
    first pass is written out here rather than in a helper: numba's inlining of one made
    the kernel 3x slower."""
    S = len(start) if not fused else len(seg_start)
    T = len(lo)
    out = np.empty((S, T), np.float64)
    present = np.empty((S, T), np.bool_)
    count = np.empty(T, np.int64)
    raw = np.empty(T, np.float64)
    fv = np.empty(T, np.float64)
    ft = np.empty(T, np.int64)
    lt = np.empty(T, np.int64)
    for s in range(S):
        b0 = seg_end[s] if fused else 0
        i = first_after(ts, seg_start[s], b0, lo[0]) if fused and T else 0
        k = i
        di = 0
        dk = 0
        for j in range(T):
            if fused:
                i, k, di, dk = advance(ts, i, k, b0, lo[j], hi[j], di, dk)
                a = i
                b = k
            else:
                a = start[s, j]
                b = end[s, j]
            n = b - a
            count[j] = n
            if n >= 2:
                first_v = values[a]
                result = values[b - 1] - first_v
                if is_counter:
                    for r in range(reset_prefix[a], reset_prefix[b - 1]):
                        result += values[reset_pos[r] - 1]
                raw[j] = result
                fv[j] = first_v
                ft[j] = ts[a]
                lt[j] = ts[b - 1]
            else:
                raw[j] = 0.0
                fv[j] = 0.0
                ft[j] = 0
                lt[j] = 1
        row = out[s]
        for j in range(T):
            result = raw[j]
            first_v = fv[j]
            to_start = (ft[j] - lo[j]) / 1000.0
            to_end = (hi[j] - lt[j]) / 1000.0
            sampled = (lt[j] - ft[j]) / 1000.0
            avg = sampled / max(count[j] - 1, 1)
            threshold = avg * 1.1
            to_start = avg / 2.0 if to_start >= threshold else to_start
            if is_counter:
                # never extrapolate below zero (2.51+: after the threshold rule)
                to_zero = sampled * (first_v / result) if result > 0 and first_v >= 0 else to_start
                to_start = to_zero if to_zero < to_start else to_start
            to_end = avg / 2.0 if to_end >= threshold else to_end
            factor = (sampled + to_start + to_end) / sampled
            if is_rate:
                factor /= range_seconds
            row[j] = result * factor
        for j in range(T):
            present[s, j] = count[j] >= 2
            if count[j] < 2:
                row[j] = np.nan
    return out, present


@kernel
def extrapolated_rate(
    ts,
    values,
    start,
    end,
    range_start,
    range_end,
    reset_pos,
    reset_prefix,
    is_counter,
    is_rate,
    range_seconds,
):
    """Prometheus' extrapolated rate over windows ``[start, end)`` (``extrapolatedRate``).

    - fewer than two samples: no output;
    - result = last - first, plus the value before each counter reset (counters);
    - each side is extrapolated to the window edge when its gap is below 1.1x the
      average sample spacing, else by half that spacing; for counters the start side
      never extrapolates below zero (the 2.51+ order: threshold first, then zero cap);
    - divided by the range in seconds for ``rate``.
    """
    none = np.zeros(0, np.int64)
    return _rates(
        ts,
        values,
        none,
        none,
        range_start,
        range_end,
        start,
        end,
        False,
        reset_pos,
        reset_prefix,
        is_counter,
        is_rate,
        range_seconds,
    )


@kernel
def extrapolated_rate_fused(
    ts,
    values,
    seg_start,
    seg_end,
    lo,
    hi,
    reset_pos,
    reset_prefix,
    is_counter,
    is_rate,
    range_seconds,
):
    """:func:`extrapolated_rate` with the window bounds found on the way (one forward
    pass per series; ``lo``/``hi`` must be non-decreasing): no bound arrays are built."""
    none = np.zeros((0, 0), np.int64)
    return _rates(
        ts,
        values,
        seg_start,
        seg_end,
        lo,
        hi,
        none,
        none,
        True,
        reset_pos,
        reset_prefix,
        is_counter,
        is_rate,
        range_seconds,
    )


@kernel
def instant_value(ts, values, start, end, is_rate):
    """irate / idelta from the last two samples of each window (``instantValue``)."""
    S, T = start.shape
    out = np.zeros((S, T), np.float64)
    present = np.zeros((S, T), np.bool_)
    for s in range(S):
        for j in range(T):
            a = start[s, j]
            b = end[s, j]
            if b - a < 2:
                continue
            t0 = ts[b - 2]
            t1 = ts[b - 1]
            dt = t1 - t0
            if dt == 0:
                continue
            v0 = values[b - 2]
            v1 = values[b - 1]
            if is_rate and v1 < v0:
                r = v1  # counter reset: the value after the reset is the increase
            else:
                r = v1 - v0
            if is_rate:
                r /= dt / 1000.0
            out[s, j] = r
            present[s, j] = True
    return out, present
