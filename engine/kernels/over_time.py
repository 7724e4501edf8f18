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
Prometheus, where the function is not called for them.
"""

from __future__ import annotations

import numpy as np

from .jit import kernel
from .kahan import kahan_inc

__all__ = ["KINDS", "over_time", "quantile_sorted"]

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
def _sorted_nan_first(vals):
    """Ascending order with NaNs first, as Go's sort with ``vectorByValueHeap.Less``."""
    n = len(vals)
    out = np.empty(n, np.float64)
    k = 0
    for i in range(n):
        if np.isnan(vals[i]):
            out[k] = vals[i]
            k += 1
    rest = np.empty(n - k, np.float64)
    m = 0
    for i in range(n):
        if not np.isnan(vals[i]):
            rest[m] = vals[i]
            m += 1
    rest.sort()
    out[k:] = rest
    return out


@kernel
def quantile_sorted(q, vals):
    """Prometheus' ``quantile(q, values)``: linear interpolation between closest ranks.

    NaN for no values or NaN ``q``; -Inf for ``q < 0``; +Inf for ``q > 1``.
    """
    n = len(vals)
    if n == 0 or np.isnan(q):
        return np.nan
    if q < 0:
        return -np.inf
    if q > 1:
        return np.inf
    v = _sorted_nan_first(vals)
    rank = q * (n - 1)
    lower = max(0.0, np.floor(rank))
    upper = min(n - 1.0, lower + 1.0)
    weight = rank - np.floor(rank)
    return v[int(lower)] * (1 - weight) + v[int(upper)] * weight


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
def _reduce(kind, ts, values, a, b, p1, p2, eval_t):
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
        return quantile_sorted(p1, values[a:b])
    if kind == MAD:
        window = values[a:b]
        for i in range(n):
            if np.isnan(window[i]):
                return np.nan  # 3.14: any NaN in the range makes the result NaN
        median = quantile_sorted(0.5, window)
        dev = np.empty(n, np.float64)
        for i in range(n):
            dev[i] = abs(window[i] - median)
        return quantile_sorted(0.5, dev)
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
    out = np.zeros((S, T), np.float64)
    present = np.zeros((S, T), np.bool_)
    for s in range(S):
        for j in range(T):
            a = start[s, j]
            b = end[s, j]
            if b - a < min_samples:
                continue
            out[s, j] = _reduce(kind, ts, values, a, b, p1[j], p2[j], eval_t[j])
            present[s, j] = True
    return out, present
