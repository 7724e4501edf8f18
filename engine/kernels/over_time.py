"""``<aggregation>_over_time`` and the other per-window float functions.

One driver loops over series and steps and applies the reduction picked by ``kind`` to
the samples ``[start, end)`` of each window. Each reduction mirrors its Go body in
prometheus/prometheus ``promql/functions.go`` (3.x) operation for operation, including
the order of floating-point additions, so results match bit for bit where Go's do:

====================  =============================================================
kind                  Prometheus function
====================  =============================================================
SUM                   funcSumOverTime (Kahan–Neumaier; an infinite sum drops the compensation)
AVG                   funcAvgOverTime (compensated sum / count; incremental mean after overflow)
COUNT, PRESENT        funcCountOverTime, funcPresentOverTime
MIN, MAX              compareOverTime (a NaN running value is always replaced)
TS_OF_MIN, TS_OF_MAX  compareOverTime with the timestamp of the last extreme
FIRST, LAST           funcFirstOverTime / funcLastOverTime (floats)
TS_OF_FIRST/LAST      funcTsOfFirstOverTime / funcTsOfLastOverTime
STDDEV, STDVAR        varianceOverTime (Welford with compensated mean and M2)
QUANTILE              funcQuantileOverTime -> quantile(): NaN sorts first
MAD                   funcMadOverTime (median of absolute deviations from the median)
CHANGES, RESETS       funcChanges / funcResets (floats)
DERIV, PREDICT        funcDeriv / funcPredictLinear -> linearRegression (compensated sums)
DES                   funcDoubleExponentialSmoothing
====================  =============================================================

Windows are never empty when a reduction runs: empty windows produce no output, as in
Prometheus, where the function is not called for them. Min and max have a driver of their
own (:func:`_extremes`), which can also find the windows' bounds itself
(:func:`extreme_over_time`: the evaluator's path on non-decreasing step grids).
"""

from __future__ import annotations

import numpy as np

from . import sortedwindow as sw
from .gosort import VALUE_HEAP, go_sort
from .jit import kernel
from .kahan import kahan_inc
from .windows import advance, first_after, lag

__all__ = ["KINDS", "extreme_over_time", "over_time", "quantile_sorted"]

SUM, AVG, COUNT, PRESENT, MIN, MAX, TS_OF_MIN, TS_OF_MAX = 0, 1, 2, 3, 4, 5, 6, 7
FIRST, LAST, TS_OF_FIRST, TS_OF_LAST, STDDEV, STDVAR, QUANTILE, MAD = 8, 9, 10, 11, 12, 13, 14, 15
CHANGES, RESETS, DERIV, PREDICT, DES = 16, 17, 18, 19, 20

#: name of the PromQL function -> kind code of :func:`over_time`
KINDS = {
    "sum_over_time": SUM,
    "avg_over_time": AVG,
    "count_over_time": COUNT,
    "present_over_time": PRESENT,
    "min_over_time": MIN,
    "max_over_time": MAX,
    "ts_of_min_over_time": TS_OF_MIN,
    "ts_of_max_over_time": TS_OF_MAX,
    "first_over_time": FIRST,
    "last_over_time": LAST,
    "ts_of_first_over_time": TS_OF_FIRST,
    "ts_of_last_over_time": TS_OF_LAST,
    "stddev_over_time": STDDEV,
    "stdvar_over_time": STDVAR,
    "quantile_over_time": QUANTILE,
    "mad_over_time": MAD,
    "changes": CHANGES,
    "resets": RESETS,
    "deriv": DERIV,
    "predict_linear": PREDICT,
    "double_exponential_smoothing": DES,
}


@kernel
def sort_nan_first(buf, n):
    """Sort ``buf[:n]`` in place as Go's ``sort.Sort`` with ``vectorByValueHeap.Less``
    does: NaNs first, then ascending.

    Any correct sort gives Go's array bit for bit except for the order of equal keys,
    and the only equal keys with different bits are ``-0.0`` and ``0.0`` (NaN payloads
    never reach a result). So a fast sort is used (insertion sort for small windows,
    numpy's otherwise), and only a window holding both zeros is sorted by the replay of
    Go's algorithm (:mod:`engine.kernels.gosort`), which decides the sign of a zero
    quantile."""
    neg_zero = False
    pos_zero = False
    for i in range(n):
        if buf[i] == 0.0:
            if np.signbit(buf[i]):
                neg_zero = True
            else:
                pos_zero = True
    if neg_zero and pos_zero:
        go_sort(buf, buf[:0], n, VALUE_HEAP)  # no payload: an empty view
        return
    k = 0
    for i in range(n):
        if np.isnan(buf[i]):
            buf[i], buf[k] = buf[k], buf[i]
            k += 1
    if n - k <= 32:
        for i in range(k + 1, n):
            v = buf[i]
            j = i - 1
            while j >= k and buf[j] > v:
                buf[j + 1] = buf[j]
                j -= 1
            buf[j + 1] = v
    else:
        buf[k:n].sort()


@kernel
def quantile_in_place(q, buf, n):
    """Prometheus' ``quantile(q, values)`` over ``buf[:n]`` (reordered in place): linear
    interpolation between the closest ranks of the values sorted NaN first; NaN for no
    values or NaN ``q``; -Inf for ``q < 0``; +Inf for ``q > 1``.

    Only the two ranks are needed, so they are selected, not sorted for (O(n)): the
    value at a rank is the same whichever way it is found, except for the sign of a
    zero when both ``-0.0`` and ``0.0`` are present, and then the window is sorted by
    the replay of Go's sort (:func:`sort_nan_first`), which decides it."""
    if n == 0 or np.isnan(q):
        return np.nan
    if q < 0:
        return -np.inf
    if q > 1:
        return np.inf
    lo, up, weight = _rank_weight(q, n)
    nans = 0
    neg_zero = False
    pos_zero = False
    for i in range(n):
        v = buf[i]
        if np.isnan(v):
            nans += 1
        elif v == 0.0:
            if np.signbit(v):
                neg_zero = True
            else:
                pos_zero = True
    if neg_zero and pos_zero:  # Go's sort of the values as given decides the signs
        sort_nan_first(buf, n)
        return buf[lo] * (1 - weight) + buf[up] * weight
    if nans:
        k = 0
        for i in range(n):
            v = buf[i]
            if np.isnan(v):
                buf[i] = buf[k]
                buf[k] = v
                k += 1
    if lo < nans:
        return np.nan  # a NaN rank: NaN whatever the weight
    return _interpolate_ranks(buf[nans:n], lo - nans, up - nans, weight)


@kernel
def _rank_weight(q, n):
    """The two ranks of ``quantile(q)`` over ``n`` values and the weight of the upper."""
    rank = q * (n - 1)
    lower = max(0.0, np.floor(rank))
    upper = min(n - 1.0, lower + 1.0)
    return int(lower), int(upper), rank - np.floor(rank)


@kernel
def _interpolate_ranks(buf, lo, up, weight):
    """The values at ranks ``lo`` and ``up`` (``up`` is ``lo`` or ``lo + 1``) of ``buf``
    (no NaN, zeros of one sign: equal values are equal bits), found by selection and
    interpolated as Prometheus does; ``buf`` is reordered."""
    n = len(buf)
    _select(buf, 0, n, lo)
    at_up = buf[lo]
    if up > lo:
        at_up = buf[up]
        for i in range(lo + 1, n):  # everything after rank lo is no smaller
            if buf[i] < at_up:
                at_up = buf[i]
    return buf[lo] * (1 - weight) + at_up * weight


@kernel
def _window_quantile(q, values, a, b, buf):
    """``quantile_over_time``'s value for the window ``values[a:b]`` (not empty), with
    ``buf`` as room: :func:`quantile_in_place`'s result, computed without copying or
    reordering a window whose non-NaN values are all equal (a flat gauge)."""
    n = b - a
    if np.isnan(q):
        return np.nan
    if q < 0:
        return -np.inf
    if q > 1:
        return np.inf
    nans = 0
    neg_zero = False
    pos_zero = False
    least = np.inf
    most = -np.inf
    for i in range(a, b):
        v = values[i]
        if np.isnan(v):
            nans += 1
        else:
            least = min(least, v)
            most = max(most, v)
            if v == 0.0:
                if np.signbit(v):
                    neg_zero = True
                else:
                    pos_zero = True
    lo, up, weight = _rank_weight(q, n)
    if neg_zero and pos_zero:
        buf[:n] = values[a:b]
        return quantile_in_place(q, buf, n)
    if lo < nans:
        return np.nan
    if least == most:
        return least * (1 - weight) + least * weight
    m = 0
    for i in range(a, b):
        if not np.isnan(values[i]):
            buf[m] = values[i]
            m += 1
    return _interpolate_ranks(buf[:m], lo - nans, up - nans, weight)


@kernel
def _select(buf, lo, hi, kth):
    """Reorder ``buf[lo:hi]`` (no NaNs) so that ``buf[kth]`` holds what a sort would put
    there, nothing greater before it and nothing smaller after it: quickselect with a
    three-way partition (windows of a gauge are often one repeated value), insertion
    sort for short ranges."""
    while hi - lo > 12:
        a = buf[lo]
        b = buf[(lo + hi - 1) >> 1]
        c = buf[hi - 1]
        pivot = max(min(a, b), min(max(a, b), c))  # median of three
        lt = lo
        i = lo
        gt = hi
        while i < gt:
            v = buf[i]
            if v < pivot:
                buf[i] = buf[lt]
                buf[lt] = v
                lt += 1
                i += 1
            elif v > pivot:
                gt -= 1
                buf[i] = buf[gt]
                buf[gt] = v
            else:
                i += 1
        if kth < lt:
            hi = lt
        elif kth >= gt:
            lo = gt
        else:
            return
    for i in range(lo + 1, hi):
        v = buf[i]
        j = i - 1
        while j >= lo and buf[j] > v:
            buf[j + 1] = buf[j]
            j -= 1
        buf[j + 1] = v


@kernel
def quantile_sorted(q, vals):
    """:func:`quantile_in_place` over a copy of ``vals``."""
    buf = vals.copy()
    return quantile_in_place(q, buf, len(buf))


@kernel
def _linear_regression(ts, values, a, b, intercept_t):
    n = 0.0
    sx = 0.0
    cx = 0.0
    sy = 0.0
    cy = 0.0
    sxy = 0.0
    cxy = 0.0
    sx2 = 0.0
    cx2 = 0.0
    init_y = values[a]
    const_y = True
    for i in range(a, b):
        y = values[i]
        if const_y and i > a and y != init_y:
            const_y = False
        n += 1.0
        x = (ts[i] - intercept_t) / 1e3
        sx, cx = kahan_inc(x, sx, cx)
        sy, cy = kahan_inc(y, sy, cy)
        sxy, cxy = kahan_inc(x * y, sxy, cxy)
        sx2, cx2 = kahan_inc(x * x, sx2, cx2)
    if const_y:
        if np.isinf(init_y):
            return np.nan, np.nan
        return 0.0, init_y
    sx += cx
    sy += cy
    sxy += cxy
    sx2 += cx2
    cov_xy = sxy - sx * sy / n
    var_x = sx2 - sx * sx / n
    slope = cov_xy / var_x
    intercept = sy / n - slope * sx / n
    return slope, intercept


@kernel
def _reduce(kind, ts, values, a, b, p1, p2, eval_t, buf):
    n = b - a
    if kind == SUM:
        total = 0.0
        c = 0.0
        for i in range(a, b):
            total, c = kahan_inc(values[i], total, c)
        if np.isinf(total):
            return total
        return total + c
    if kind == AVG:
        total = values[a]
        count = 1.0
        mean = 0.0
        c = 0.0
        incremental = False
        for i in range(a + 1, b):
            f = values[i]
            count = float(i - a + 1)
            if not incremental:
                new_total, new_c = kahan_inc(f, total, c)
                if not np.isinf(new_total):
                    total = new_total
                    c = new_c
                    continue
                incremental = True
                mean = total / (count - 1)
                c /= count - 1
            q = (count - 1) / count
            mean, c = kahan_inc(f / count, q * mean, q * c)
        if incremental:
            return mean + c
        return total / count + c / count
    if kind == COUNT:
        return float(n)
    if kind == PRESENT:
        return 1.0
    if kind == MIN or kind == MAX or kind == TS_OF_MIN or kind == TS_OF_MAX:
        best = values[a]
        best_t = ts[a]
        for i in range(a, b):
            f = values[i]
            if kind == MAX:
                take = f > best or np.isnan(best)
            elif kind == MIN:
                take = f < best or np.isnan(best)
            elif kind == TS_OF_MAX:
                take = f >= best or np.isnan(best)
            else:
                take = f <= best or np.isnan(best)
            if take:
                best = f
                best_t = ts[i]
        if kind == MIN or kind == MAX:
            return best
        return best_t / 1000.0
    if kind == FIRST:
        return values[a]
    if kind == LAST:
        return values[b - 1]
    if kind == TS_OF_FIRST:
        return ts[a] / 1000.0
    if kind == TS_OF_LAST:
        return ts[b - 1] / 1000.0
    if kind == STDDEV or kind == STDVAR:
        count = 0.0
        mean = 0.0
        c_mean = 0.0
        aux = 0.0
        c_aux = 0.0
        for i in range(a, b):
            f = values[i]
            count += 1.0
            delta = f - (mean + c_mean)
            mean, c_mean = kahan_inc(delta / count, mean, c_mean)
            aux, c_aux = kahan_inc(delta * (f - (mean + c_mean)), aux, c_aux)
        variance = (aux + c_aux) / count
        if kind == STDDEV:
            return np.sqrt(variance)
        return variance
    if kind == QUANTILE:
        return _window_quantile(p1, values, a, b, buf)
    if kind == MAD:
        for i in range(a, b):
            if np.isnan(values[i]):
                return np.nan  # 3.14: any NaN in the range makes the result NaN
        buf[:n] = values[a:b]
        median = quantile_in_place(0.5, buf, n)
        for i in range(n):
            buf[i] = abs(values[a + i] - median)
        return quantile_in_place(0.5, buf, n)
    if kind == CHANGES:
        changes = 0
        for i in range(a + 1, b):
            cur = values[i]
            prev = values[i - 1]
            if cur != prev and not (np.isnan(cur) and np.isnan(prev)):
                changes += 1
        return float(changes)
    if kind == RESETS:
        resets = 0
        for i in range(a + 1, b):
            if values[i] < values[i - 1]:
                resets += 1
        return float(resets)
    if kind == DERIV:
        slope, _ = _linear_regression(ts, values, a, b, ts[a])
        return slope
    if kind == PREDICT:
        slope, intercept = _linear_regression(ts, values, a, b, eval_t)
        return slope * p1 + intercept
    if kind == DES:
        sf = p1
        tf = p2
        s0 = 0.0
        s1 = values[a]
        trend = values[a + 1] - values[a]
        for i in range(1, n):
            x = sf * values[a + i]
            if i - 1 != 0:
                trend = tf * (s1 - s0) + (1 - tf) * trend
            y = (1 - sf) * (s1 + trend)
            s0 = s1
            s1 = x + y
        return s1
    return np.nan


@kernel
def over_time(kind, ts, values, start, end, p1, p2, eval_t, min_samples):
    """Apply reduction ``kind`` to every window with at least ``min_samples`` samples.

    ``p1``/``p2`` are per-step scalar parameters (quantile, prediction horizon, smoothing
    factors); ``eval_t`` are the step times in ms (``predict_linear``'s intercept time).
    Returns ``(out, present)``, both ``[S, T]``.
    """
    S, T = start.shape
    longest = 0
    visits = 0
    for s in range(S):
        for j in range(T):
            longest = max(longest, end[s, j] - start[s, j])
            visits += end[s, j] - start[s, j]
    if kind == MIN or kind == MAX:
        room = longest if visits > SLIDING_WHEN * _span(start, end) else 0
        none = np.zeros(0, np.int64)
        return _extremes(
            ts, values, none, none, none, none, start, end, False, kind == MAX, min_samples,
            np.empty(room, np.float64), 0,
        )  # fmt: skip
    out = np.zeros((S, T), np.float64)
    present = np.zeros((S, T), np.bool_)
    if kind == QUANTILE and visits > SLIDING_QUANTILE_WHEN * _span(start, end):
        _sliding_quantile(p1, values, start, end, min_samples, out, present)
        return out, present
    buf = np.empty(longest, np.float64)
    for s in range(S):
        for j in range(T):
            a = start[s, j]
            b = end[s, j]
            if b - a < min_samples:
                continue
            out[s, j] = _reduce(kind, ts, values, a, b, p1[j], p2[j], eval_t[j], buf)
            present[s, j] = True
    return out, present


#: min/max_over_time slide a queue of two stacks (:func:`_extremes`) when the windows
#: visit samples more than this many times over, and fold each window afresh otherwise
#: (max_over_time on the medium mesh, 60 s step: sliding took 1.17x the folds' time for 5m
#: windows, 1.04x for 7m, 0.95x for 9m, 0.88x for 10m, 0.68x for 15m; 15 s step: 0.98x
#: for 2m, 0.85x for 4m)
SLIDING_WHEN = 8

#: quantile_over_time slides a sorted window (:mod:`engine.kernels.sortedwindow`) when the
#: windows visit samples more than this many times over; below, each window selects its
#: ranks afresh, which costs less than sorting windows that share few samples (measured
#: on the medium mesh: sliding was 2.7x faster for 5m windows at a 60 s step, 4x at 15 s,
#: 13x for 1h windows, and 2-3x slower for 30m-2h windows at a step of half the range)
SLIDING_QUANTILE_WHEN = 4


@kernel
def _longest(start, end):
    """The most samples of any window."""
    S, T = start.shape
    longest = 0
    for s in range(S):
        for j in range(T):
            longest = max(longest, end[s, j] - start[s, j])
    return longest


@kernel
def _span(start, end):
    """Samples between the first window's start and the last window's end, per series
    (what a sliding pass over the windows reads)."""
    S, T = start.shape
    total = 0
    for s in range(S):
        if T:
            total += max(end[s, T - 1] - start[s, 0], 0)
    return total


@kernel
def _extremes(
    ts, values, seg_start, seg_end, lo, hi, start, end, fused, is_max, min_samples, room, steps
):
    """min/max_over_time of every window with at least ``min_samples`` samples: window
    ``j`` of series ``s`` is ``[start[s, j], end[s, j])``, or, when ``fused``, found by
    walking series ``s``'s samples forward to ``(lo[j], hi[j]]`` (``lo``/``hi``
    non-decreasing; when ``steps`` > 0 each window starts where the one ``steps`` before
    it ended, :func:`engine.kernels.windows.lag`, and only its end is walked to).
    Returns ``(out, present)``, both ``[S, T]``.

    ``compareOverTime`` keeps the first value and replaces it by any larger (smaller)
    one, or whenever it holds NaN: the result is the first extreme of the window's
    non-NaN values, or its last value (a NaN) when all of them are NaN. Min is max of
    the negated values (negation is exact and keeps equal values equal), so one set of
    loops serves both, without a flag in them. Each window's extreme is folded by
    :func:`_fold`, which never takes a NaN: a NaN where a fold starts, a window of NaNs
    and an extreme of -Inf (the empty fold's) are computed again by :func:`_compare`.

    Windows that overlap a lot (``room`` is not empty: room for one window's samples)
    slide a queue of two stacks instead of folding each window afresh: ``[mid, pushed)``
    are folded into one running extreme ``back``, and ``room[r]`` holds the extreme of
    ``[base + r, mid)``; a window ``[a, b)`` with ``a < mid`` is ``room[a - base]``
    joined with ``back`` once ``[pushed, b)`` is folded in. When a window starts past
    ``mid``, the samples left in it become the new suffixes (one backward pass), so
    each sample is read about twice whatever the windows' length; a window that moves
    back starts over."""
    if fused:
        S = len(seg_start)
        T = len(lo)
    else:
        S, T = start.shape
    out = np.zeros((S, T), np.float64)
    present = np.zeros((S, T), np.bool_)
    sign = 1.0 if is_max else -1.0
    sliding = len(room) > 0
    ends = np.empty(T if fused else 0, np.int64)
    for s in range(S):
        b0 = seg_end[s] if fused else 0
        i = first_after(ts, seg_start[s], b0, lo[0]) if fused and T else 0
        k = i
        di = 0
        dk = 0
        base = 0
        mid = 0
        pushed = 0
        last_a = -1  # no window yet
        back = -np.inf
        for j in range(T):
            if fused:
                known = ends[j - steps] if 0 < steps <= j else -1
                i, k, di, dk = advance(ts, i, k, b0, lo[j], hi[j], di, dk, known)
                ends[j] = k
                a = i
                b = k
            else:
                a = start[s, j]
                b = end[s, j]
            if b <= a or b - a < min_samples:
                continue
            if not sliding:
                x = a + 1
                best = sign * values[a]
            else:
                if last_a < 0 or a < last_a or b < pushed:  # the first window, or it moved back
                    mid = a
                    pushed = a
                    back = -np.inf
                elif a >= mid:  # no suffix left in the window: its pushed samples become them
                    pushed = max(pushed, a)
                    best = -np.inf
                    r = pushed - a
                    while r > 0:
                        r -= 1
                        v = sign * values[a + r]
                        if v >= best:  # the earlier of equal values
                            best = v
                        room[r] = best
                    base = a
                    mid = pushed
                    back = -np.inf
                last_a = a
                x = pushed
                best = back
            best = _fold(values, x, b, best, sign)
            if sliding:
                back = best
                pushed = b
                if a < mid and not room[a - base] < back:
                    best = room[a - base]
            if not best > -np.inf:  # NaN or -Inf
                best = _compare(values, a, b, sign)
            out[s, j] = sign * best
            present[s, j] = True
    return out, present


@kernel(inline="always")
def _fold(values, x, b, best, sign):
    """The first greatest of ``best`` and ``sign * values[x:b]``, NaNs passed over."""
    w = values[x:b]  # indexed from 0: see engine.kernels.jit on signed indices
    for r in range(len(w)):
        v = sign * w[r]
        if v > best:
            best = v
    return best


@kernel
def _compare(values, a, b, sign):
    """``compareOverTime`` over ``sign * values[a:b]``, one sample at a time."""
    w = values[a:b]
    best = sign * w[0]
    for r in range(1, len(w)):
        v = sign * w[r]
        if v > best or np.isnan(best):
            best = v
    return best


@kernel
def extreme_over_time(ts, values, seg_start, seg_end, lo, hi, is_max, min_samples):
    """min/max_over_time of the windows ``(lo[j], hi[j]]`` (non-decreasing) of the series
    ``ts[seg_start[s]:seg_end[s]]``, their bounds found on the way (no bound arrays are
    built): ``over_time(MAX or MIN, ...)`` of the same windows. They slide when they
    overlap more than :data:`SLIDING_WHEN` times over in time (for samples at a steady
    rate, as often as in samples)."""
    T = len(lo)
    longest = 0
    if T and np.sum(hi - lo) > SLIDING_WHEN * (hi[T - 1] - lo[0]):
        for s in range(len(seg_start)):
            longest = max(longest, seg_end[s] - seg_start[s])
    none = np.zeros((0, 0), np.int64)
    return _extremes(
        ts, values, seg_start, seg_end, lo, hi, none, none, True, is_max, min_samples,
        np.empty(longest, np.float64), lag(lo, hi),
    )  # fmt: skip


@kernel
def _zero_signs(v):
    """``(-1, 0)`` for ``-0.0``, ``(0, 1)`` for ``0.0``, ``(0, 0)`` otherwise (NaN too)."""
    if v == 0.0:
        if np.signbit(v):
            return 1, 0
        return 0, 1
    return 0, 0


@kernel
def _sliding_quantile(q, values, start, end, min_samples, out, present):
    """quantile_over_time with a sorted window per series (:mod:`engine.kernels.sortedwindow`):
    a window that overlaps the last one replaces the samples that left by those that
    came in, and its two ranks are read off. NaNs are counted apart (they sort first);
    a window holding zeros of both signs is computed by :func:`_window_quantile`, whose
    replay of Go's sort decides the sign of a zero result. A window that moves back, or
    would replace as many samples as it holds, is sorted afresh."""
    S, T = start.shape
    longest = max(_longest(start, end), 1)
    w = np.empty(longest, np.float64)
    buf = np.empty(longest, np.float64)
    bits = values.view(np.uint64)
    for s in range(S):
        ca = 0  # the sorted window holds [ca, cb): m values and `nans` NaNs
        cb = 0
        m = 0
        nans = 0
        neg = 0  # zeros of each sign among the m values
        pos = 0
        for j in range(T):
            a = start[s, j]
            b = end[s, j]
            if b <= a or b - a < min_samples:
                continue
            present[s, j] = True
            qj = q[j]
            if np.isnan(qj):
                out[s, j] = np.nan
                continue
            if qj < 0:
                out[s, j] = -np.inf
                continue
            if qj > 1:
                out[s, j] = np.inf
                continue
            if cb == ca or a < ca or b < cb or (a - ca) + (b - cb) >= b - a:
                m = sw.build(w, values, a, b)
                nans = b - a - m
                neg = 0
                pos = 0
                for i in range(a, b):
                    dn, dp = _zero_signs(values[i])
                    neg += dn
                    pos += dp
            else:
                i = ca  # samples [ca, a) leave and [cb, b) come in, paired off first
                k = cb
                while i < a and k < b:
                    if bits[i] != bits[k]:  # else the same value goes out and in
                        x = values[i]
                        y = values[k]
                        dn, dp = _zero_signs(x)
                        neg -= dn
                        pos -= dp
                        dn, dp = _zero_signs(y)
                        neg += dn
                        pos += dp
                        if np.isnan(x):
                            nans -= 1
                            if np.isnan(y):
                                nans += 1
                            else:
                                sw.insert(w, m, y)
                                m += 1
                        elif np.isnan(y):
                            nans += 1
                            sw.remove(w, m, x)
                            m -= 1
                        else:
                            sw.replace(w, m, x, y)
                    i += 1
                    k += 1
                for r in range(i, a):
                    x = values[r]
                    dn, dp = _zero_signs(x)
                    neg -= dn
                    pos -= dp
                    if np.isnan(x):
                        nans -= 1
                    else:
                        sw.remove(w, m, x)
                        m -= 1
                for r in range(k, b):
                    y = values[r]
                    dn, dp = _zero_signs(y)
                    neg += dn
                    pos += dp
                    if np.isnan(y):
                        nans += 1
                    else:
                        sw.insert(w, m, y)
                        m += 1
            ca = a
            cb = b
            lo, up, weight = _rank_weight(qj, b - a)
            if neg > 0 and pos > 0:
                out[s, j] = _window_quantile(qj, values, a, b, buf)
            elif lo < nans:
                out[s, j] = np.nan  # a NaN rank: NaN whatever the weight
            else:
                out[s, j] = w[lo - nans] * (1 - weight) + w[up - nans] * weight
