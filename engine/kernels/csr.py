"""Building CSR sample columns: from samples appended in any order (ingest), and from a
step matrix (a range query's result).

One stable counting sort by series (O(N), no comparison sort), then a check that each
series is already in time order, which it is for samples read scrape after scrape; only
series that are not get a (stable) sort of their own. Duplicate timestamps are resolved
in the same pass: the sample appended first is kept, a later one with the same bits is
dropped, and a later one with a different value is dropped and counted, as Prometheus'
head appender rejects it (``ErrDuplicateSampleForTimestamp``).
"""

from __future__ import annotations

import numpy as np

from .jit import kernel

__all__ = ["build_csr", "matrix_points"]


def build_csr(series, ts, values, n_series):
    """``(offsets[S+1], ts, values, rejected)`` from parallel arrays of samples, or from
    lists of such arrays (chunks, in the order they were appended).

    The chunks are counted and scattered one by one, so they are never concatenated, and
    the columns are allocated by numpy, which asks for huge pages (numba's own allocation
    took a page fault every 4 KiB: about 0.1 s per 15M samples)."""
    if isinstance(series, np.ndarray):
        series, ts, values = [series], [ts], [values]
    counts = np.zeros(n_series + 1, np.int64)
    for chunk in series:
        _count(chunk, counts)
    offsets = np.cumsum(counts)
    out_ts = np.empty(offsets[-1], np.int64)
    out_v = np.empty(offsets[-1], np.float64)
    cursor = offsets[:-1].copy()
    for chunk_s, chunk_t, chunk_v in zip(series, ts, values, strict=True):
        _scatter(chunk_s, chunk_t, chunk_v, cursor, out_ts, out_v)
    new_offsets, w, rejected = _sort_series(offsets, out_ts, out_v, n_series)
    return new_offsets, out_ts[:w], out_v[:w], rejected


@kernel
def _count(series, counts):
    """Add the samples of each series in ``series`` to ``counts[series + 1]``."""
    for i in range(len(series)):
        counts[series[i] + 1] += 1


@kernel
def _scatter(series, ts, values, cursor, out_ts, out_v):
    """Put each sample at its series' ``cursor``, and move the cursor on (stable)."""
    for i in range(len(series)):
        p = cursor[series[i]]
        out_ts[p] = ts[i]
        out_v[p] = values[i]
        cursor[series[i]] = p + 1


@kernel
def _sort_series(offsets, out_ts, out_v, n_series):
    """Sort each series by time where it is not in order, and drop duplicate timestamps
    in place; ``(offsets, kept, rejected)``."""
    bits = out_v.view(np.uint64)
    rejected = 0
    w = 0  # write position: series are compacted in place as duplicates are dropped
    new_offsets = np.zeros(n_series + 1, np.int64)
    for s in range(n_series):
        a = offsets[s]
        b = offsets[s + 1]
        ordered = True
        for i in range(a + 1, b):
            if out_ts[i] < out_ts[i - 1]:
                ordered = False
                break
        if not ordered:
            order = np.argsort(out_ts[a:b], kind="mergesort") + a
            seg_t = out_ts[order]
            seg_v = out_v[order]
            out_ts[a:b] = seg_t
            out_v[a:b] = seg_v
        start = w
        for i in range(a, b):
            if w > start and out_ts[i] == out_ts[w - 1]:
                if bits[i] != bits[w - 1]:
                    rejected += 1
                continue
            out_ts[w] = out_ts[i]
            out_v[w] = out_v[i]
            w += 1
        new_offsets[s + 1] = w
    return new_offsets, w, rejected


#: :func:`matrix_points` copies a row present at every step whole from this many steps
#: on (the medium mesh's (f) range queries: 81 -> 52 us); the views cost more than they
#: save on shorter rows
WHOLE_ROW = 16


@kernel
def matrix_points(values, present, rows, times):
    """The points of step-matrix rows ``rows``, in that order, as CSR columns.

    Row ``rows[k]`` becomes series ``k``: ``ts[offsets[k]:offsets[k+1]]`` are the
    ``times`` of its present steps and ``vals`` their ``values``. Returns
    ``(offsets, ts, vals)``.

    >>> off, ts, v = matrix_points(np.array([[1.0, 2.0], [3.0, 4.0]]),
    ...                            np.array([[True, False], [True, True]]),
    ...                            np.array([1, 0]), np.array([10, 20]))
    >>> off.tolist(), ts.tolist(), v.tolist()
    ([0, 2, 3], [10, 20, 10], [3.0, 4.0, 1.0])
    """
    offsets = np.zeros(len(rows) + 1, np.int64)
    for k in range(len(rows)):
        p = present[rows[k]]  # rows indexed from 0: see engine.kernels.jit on signed indices
        n = 0
        for j in range(len(p)):
            n += p[j]
        offsets[k + 1] = offsets[k] + n
    ts = np.empty(offsets[-1], np.int64)
    vals = np.empty(offsets[-1], np.float64)
    for k in range(len(rows)):
        p = present[rows[k]]
        v = values[rows[k]]
        w = offsets[k]
        if offsets[k + 1] - w == len(p) >= WHOLE_ROW:  # present at every step: a plain copy
            tw = ts[w : w + len(p)]
            vw = vals[w : w + len(p)]
            for j in range(len(p)):
                tw[j] = times[j]
                vw[j] = v[j]
            continue
        for j in range(len(p)):
            if p[j]:
                ts[w] = times[j]
                vals[w] = v[j]
                w += 1
    return offsets, ts, vals
