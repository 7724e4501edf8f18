"""Window bounds over CSR samples, kept apart from the window maths.

For a step whose window is ``(lo, hi]`` (left-open, as in Prometheus 3), series ``s`` owns
the samples ``start[s, j] <= i < end[s, j]`` where ``start`` is the first index with
``ts[i] > lo`` and ``end`` the first with ``ts[i] > hi``. Indices are absolute positions in
the CSR columns. The per-step bounds ``lo``/``hi`` are usually non-decreasing (a step grid,
or a constant under ``@``), which lets one forward pass per series find every bound; other
orders fall back to binary search.
"""

from __future__ import annotations

import numpy as np

from ..store.samples import STALE_NAN_BITS, is_stale
from .jit import kernel

#: typed constant: comparing uint64 bits with a Python int would go through float64
_STALE = np.uint64(STALE_NAN_BITS)

__all__ = ["window_bounds", "lookback_index", "drop_stale"]


@kernel
def first_after(ts, a, b, x):
    """The first index in ``[a, b)`` whose sample is after ``x``, or ``b``: where a
    series' walk starts (an instant query's one window sits at the end of a series:
    walking there from its first sample cost most of a small query).

    Scrapes come at a near-constant interval, so the search probes first where ``x``
    falls between the segment's first and last timestamps, then gallops from there
    and bisects what is left. On a regular series that reads 3-5 timestamps instead
    of bisection's log2(n) scattered ones, which an instant query pays as cache misses
    on a busy machine; an irregular series costs at most twice bisection.

    >>> ts = np.array([10, 20, 30, 40, 50, 60, 70, 80])
    >>> [first_after(ts, 0, 8, x) for x in (5, 10, 15, 45, 79, 80)]
    [0, 1, 1, 4, 7, 8]
    """
    if a >= b or ts[a] > x:
        return a
    if ts[b - 1] <= x:
        return b
    lo = a  # ts[lo] <= x < ts[hi] from here on
    hi = b - 1
    g = lo + int((x - ts[lo]) / (ts[hi] - ts[lo]) * (hi - lo))
    g = min(g, hi - 1)
    step = 1
    if ts[g] <= x:
        lo = g
        while lo + step < hi and ts[lo + step] <= x:
            lo += step
            step *= 2
        hi = min(hi, lo + step)
    else:
        hi = g
        while hi - step > lo and ts[hi - step] > x:
            hi -= step
            step *= 2
        lo = max(lo, hi - step)
    while hi - lo > 1:
        m = (lo + hi) >> 1
        if ts[m] <= x:
            lo = m
        else:
            hi = m
    return hi


@kernel(inline="always")
def _edge(ts, i, b0, x, guess):
    """The first index from ``i`` on whose sample is after ``x``, or ``b0`` (everything
    before ``i`` is at or before ``x``), tried first at ``i + guess``: the distance the
    edge moved at the last step, which on a step grid over regular samples is the same
    from step to step. A right guess costs two well-predicted compares, where the walk
    ends on a mispredicted loop exit (window_bounds of the medium mesh's (f) queries:
    0.42 -> 0.32 ms)."""
    g = i + guess
    if guess >= 0 and g <= b0 and (g == i or ts[g - 1] <= x) and (g == b0 or ts[g] > x):
        return g
    while i < b0 and ts[i] <= x:
        i += 1
    return i


@kernel(inline="always")
def advance(ts, i, k, b0, lo, hi, di, dk, known=-1):
    """Move one series' window ``[i, k)`` (samples below ``b0``) forward to ``(lo, hi]``:
    the walk every monotone step grid takes, each sample passed once per edge. ``di``/``dk``
    are how far the edges moved at the last step, the guesses for this one; ``known``,
    when not negative, is the new start, which the caller knows (see :func:`lag`).
    Returns the new ``i, k`` and how far they moved.

    >>> ts = np.array([10, 20, 30, 40])
    >>> advance(ts, 0, 0, 4, 5, 20, 0, 0)
    (0, 2, 0, 2)
    >>> advance(ts, 0, 2, 4, 15, 30, 0, 2)
    (1, 3, 1, 1)
    """
    ni = known if known >= 0 else _edge(ts, i, b0, lo, di)
    start = max(k, ni)
    nk = _edge(ts, start, b0, hi, k + dk - start)
    return ni, nk, ni - i, nk - k


@kernel
def lag(lo, hi):
    """The ``d > 0`` for which every window starts where the one ``d`` steps before it
    ends (``lo[j] == hi[j - d]`` for every ``j >= d``: a step grid whose range is a whole
    number of steps), or 0. A walk then takes each window's start from the end it found
    ``d`` steps before, and moves one edge instead of two.

    >>> hi = np.array([20, 30, 40, 50])
    >>> lag(hi - 20, hi), lag(hi - 25, hi)
    (2, 0)
    """
    T = len(lo)
    d = 1
    while d < T and hi[T - 1 - d] > lo[T - 1]:
        d += 1
    if d >= T or hi[T - 1 - d] != lo[T - 1]:
        return 0
    for j in range(d, T):
        if lo[j] != hi[j - d]:
            return 0
    return d


@kernel
def window_bounds(seg_start, seg_end, ts, lo, hi):
    """``start``/``end`` int64 ``[S, T]`` for windows ``(lo[j], hi[j]]``.

    Series ``s`` owns ``ts[seg_start[s]:seg_end[s]]`` (sorted), so a selection of series
    of a larger CSR needs no copy.

    >>> ts = np.array([10, 20, 30])
    >>> s, e = window_bounds(np.array([0]), np.array([3]), ts, np.array([5, 10, 25]),
    ...                      np.array([20, 30, 30]))
    >>> s.tolist(), e.tolist()
    ([[0, 1, 2]], [[2, 3, 3]])
    """
    S = len(seg_start)
    T = len(lo)
    start = np.empty((S, T), np.int64)
    end = np.empty((S, T), np.int64)
    monotone = True
    for j in range(1, T):
        if lo[j] < lo[j - 1] or hi[j] < hi[j - 1]:
            monotone = False
            break
    for s in range(S):
        a0 = seg_start[s]
        b0 = seg_end[s]
        if monotone:
            i = first_after(ts, a0, b0, lo[0]) if T else a0
            k = i
            di = 0
            dk = 0
            for j in range(T):
                i, k, di, dk = advance(ts, i, k, b0, lo[j], hi[j], di, dk)
                start[s, j] = i
                end[s, j] = k
        else:
            for j in range(T):
                start[s, j] = first_after(ts, a0, b0, lo[j])
                end[s, j] = max(start[s, j], first_after(ts, a0, b0, hi[j]))
    return start, end


@kernel
def lookback_index(seg_start, seg_end, ts, values, lo, hi):
    """Index of the sample an instant selector returns at each step, or -1.

    Mirrors ``vectorSelectorSingle``: the newest sample in ``(lo, hi]``; none when that
    sample is a stale marker.
    """
    S = len(seg_start)
    T = len(lo)
    bits = values.view(np.uint64)
    out = np.empty((S, T), np.int64)
    monotone = True
    for j in range(1, T):
        if hi[j] < hi[j - 1]:
            monotone = False
            break
    for s in range(S):
        a0 = seg_start[s]
        b0 = seg_end[s]
        # samples before k are at or before the step's time: one walk per series
        k = first_after(ts, a0, b0, hi[0]) if monotone and T else a0
        for j in range(T):
            if monotone:
                while k < b0 and ts[k] <= hi[j]:
                    k += 1
            else:
                k = first_after(ts, a0, b0, hi[j])
            last = k - 1  # the newest sample at or before hi[j]; the window needs it > lo[j]
            if last >= a0 and ts[last] > lo[j] and bits[last] != _STALE:
                out[s, j] = last
            else:
                out[s, j] = -1
    return out


def drop_stale(offsets, ts, values, where=None):
    """The CSR columns without stale markers (range selectors never see them).

    ``where`` are the markers' positions (ascending), found here when the caller does
    not have them. The runs between markers are copied whole: a store has few markers
    (one per series that disappears). The new columns are allocated by numpy, which asks
    the kernel for huge pages, so the copy runs at memory speed: 0.26 -> 0.09 s for the
    medium mesh's 15M samples, where numba's own allocation took a page fault every
    4 KiB."""
    if where is None:
        where = np.flatnonzero(is_stale(values))
    stale = len(where)
    new_ts = np.empty(len(ts) - stale, np.int64)
    new_vals = np.empty(len(values) - stale, np.float64)
    new_off = np.empty(len(offsets), np.int64)
    ends = np.append(where, len(values)).astype(np.int64)  # the markers, then the end
    _copy_fresh(offsets, ts, values, ends, new_off, new_ts, new_vals)
    return new_off, new_ts, new_vals


@kernel
def _copy_fresh(offsets, ts, values, ends, new_off, new_ts, new_vals):
    """:func:`drop_stale` into the given arrays; ``ends`` are the markers' positions,
    then ``len(values)``."""
    stale = len(ends) - 1
    a = 0  # [a, ends[r]) goes to [a - r, ends[r] - r)
    for r in range(stale + 1):
        b = ends[r]
        new_ts[a - r : b - r] = ts[a:b]
        new_vals[a - r : b - r] = values[a:b]
        a = b + 1
    r = 0  # markers before offsets[s]
    for s in range(len(offsets)):
        while r < stale and ends[r] < offsets[s]:
            r += 1
        new_off[s] = offsets[s] - r
