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

from ..store.samples import STALE_NAN_BITS
from .jit import kernel

#: typed constant: comparing uint64 bits with a Python int would go through float64
_STALE = np.uint64(STALE_NAN_BITS)

__all__ = ["window_bounds", "lookback_index", "drop_stale"]


@kernel
def _search(ts, a, b, x):
    # first index in [a, b) with ts[i] > x
    while a < b:
        m = (a + b) >> 1
        if ts[m] > x:
            b = m
        else:
            a = m + 1
    return a


@kernel(inline="always")
def advance(ts, i, k, b0, lo, hi):
    """Move one series' window ``[i, k)`` (samples below ``b0``) forward to ``(lo, hi]``:
    the walk every monotone step grid takes, each sample passed once per edge."""
    while i < b0 and ts[i] <= lo:
        i += 1
    if k < i:
        k = i
    while k < b0 and ts[k] <= hi:
        k += 1
    return i, k


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
            i = a0
            k = a0
            for j in range(T):
                i, k = advance(ts, i, k, b0, lo[j], hi[j])
                start[s, j] = i
                end[s, j] = k
        else:
            for j in range(T):
                start[s, j] = _search(ts, a0, b0, lo[j])
                end[s, j] = max(start[s, j], _search(ts, a0, b0, hi[j]))
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
        k = a0  # samples before k are at or before the step's time: one walk per series
        for j in range(T):
            if monotone:
                while k < b0 and ts[k] <= hi[j]:
                    k += 1
            else:
                k = _search(ts, a0, b0, hi[j])
            last = k - 1  # the newest sample at or before hi[j]; the window needs it > lo[j]
            if last >= a0 and ts[last] > lo[j] and bits[last] != _STALE:
                out[s, j] = last
            else:
                out[s, j] = -1
    return out


@kernel
def drop_stale(offsets, ts, values):
    """The CSR columns without stale markers (range selectors never see them)."""
    bits = values.view(np.uint64)
    keep = bits != _STALE
    S = len(offsets) - 1
    new_off = np.zeros(S + 1, np.int64)
    n = 0
    for s in range(S):
        for i in range(offsets[s], offsets[s + 1]):
            if keep[i]:
                n += 1
        new_off[s + 1] = n
    new_ts = np.empty(n, np.int64)
    new_vals = np.empty(n, np.float64)
    k = 0
    for i in range(len(ts)):
        if keep[i]:
            new_ts[k] = ts[i]
            new_vals[k] = values[i]
            k += 1
    return new_off, new_ts, new_vals
