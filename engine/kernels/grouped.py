"""Aggregation operators over step matrices: ``sum``, ``avg``, ``count``, ``min``, ``max``,
``group``, ``stddev``, ``stdvar``, ``quantile``, ``topk``, ``bottomk``.

Inputs are ``values[S, T]`` / ``present[S, T]`` and a dense group id per series. Series
are visited in input order for every output cell, exactly the order in which
``(*evaluator).aggregation`` in prometheus/prometheus ``promql/engine.go`` visits them,
so compensated sums and incremental means round the same way.
"""

from __future__ import annotations

import numpy as np

from .gosort import REVERSE_REVERSE_HEAP, REVERSE_VALUE_HEAP, go_sort
from .jit import kernel
from .kahan import kahan_inc
from .over_time import quantile_in_place

__all__ = ["AGG_KINDS", "aggregate", "aggregate_quantile", "select_k"]

SUM, AVG, COUNT, MIN, MAX, GROUP, STDDEV, STDVAR = 0, 1, 2, 3, 4, 5, 6, 7
AGG_KINDS = {
    "sum": SUM,
    "avg": AVG,
    "count": COUNT,
    "min": MIN,
    "max": MAX,
    "group": GROUP,
    "stddev": STDDEV,
    "stdvar": STDVAR,
}


@kernel
def aggregate(kind, values, present, group, n_groups):
    """One output cell per (group, step); returns ``(out[G, T], seen[G, T])``."""
    S, T = values.shape
    G = n_groups
    val = np.zeros((G, T), np.float64)
    comp = np.zeros((G, T), np.float64)
    mean = np.zeros((G, T), np.float64)
    count = np.zeros((G, T), np.float64)
    incremental = np.zeros((G, T), np.bool_)
    seen = np.zeros((G, T), np.bool_)
    for s in range(S):
        g = group[s]
        for t in range(T):
            if not present[s, t]:
                continue
            f = values[s, t]
            if not seen[g, t]:
                seen[g, t] = True
                val[g, t] = f
                mean[g, t] = f
                count[g, t] = 1.0
                if kind == STDDEV or kind == STDVAR:
                    if np.isnan(f) or np.isinf(f):
                        val[g, t] = np.nan
                    else:
                        val[g, t] = 0.0
                elif kind == GROUP:
                    val[g, t] = 1.0
                continue
            if kind == SUM:
                val[g, t], comp[g, t] = kahan_inc(f, val[g, t], comp[g, t])
            elif kind == AVG:
                count[g, t] += 1.0
                n = count[g, t]
                if not incremental[g, t]:
                    nv, nc = kahan_inc(f, val[g, t], comp[g, t])
                    if not np.isinf(nv):
                        val[g, t] = nv
                        comp[g, t] = nc
                        continue
                    incremental[g, t] = True
                    mean[g, t] = val[g, t] / (n - 1)
                    comp[g, t] /= n - 1
                q = (n - 1) / n
                mean[g, t], comp[g, t] = kahan_inc(f / n, q * mean[g, t], q * comp[g, t])
            elif kind == COUNT:
                count[g, t] += 1.0
            elif kind == MAX:
                if val[g, t] < f or np.isnan(val[g, t]):
                    val[g, t] = f
            elif kind == MIN:
                if val[g, t] > f or np.isnan(val[g, t]):
                    val[g, t] = f
            elif kind == STDDEV or kind == STDVAR:
                count[g, t] += 1.0
                delta = f - mean[g, t]
                mean[g, t] += delta / count[g, t]
                val[g, t] += delta * (f - mean[g, t])
    out = np.zeros((G, T), np.float64)
    for g in range(G):
        for t in range(T):
            if not seen[g, t]:
                continue
            if kind == SUM:
                out[g, t] = val[g, t] + comp[g, t]
            elif kind == AVG:
                n = count[g, t]
                if incremental[g, t]:
                    out[g, t] = mean[g, t] + comp[g, t]
                else:
                    out[g, t] = val[g, t] / n + comp[g, t] / n
            elif kind == COUNT:
                out[g, t] = count[g, t]
            elif kind == STDVAR:
                out[g, t] = val[g, t] / count[g, t]
            elif kind == STDDEV:
                out[g, t] = np.sqrt(val[g, t] / count[g, t])
            else:
                out[g, t] = val[g, t]
    return out, seen


@kernel
def aggregate_quantile(values, present, group, n_groups, q):
    """``quantile(q[t], ...)`` per (group, step); ``q`` holds one value per step."""
    S, T = values.shape
    G = n_groups
    order = np.argsort(group, kind="mergesort")
    bounds = np.zeros(G + 1, np.int64)
    for s in range(S):
        bounds[group[s] + 1] += 1
    for g in range(G):
        bounds[g + 1] += bounds[g]
    out = np.zeros((G, T), np.float64)
    seen = np.zeros((G, T), np.bool_)
    buf = np.empty(S, np.float64)
    for g in range(G):
        for t in range(T):
            n = 0
            for k in range(bounds[g], bounds[g + 1]):
                s = order[k]
                if present[s, t]:
                    buf[n] = values[s, t]
                    n += 1
            if n > 0:
                out[g, t] = quantile_in_place(q[t], buf, n)
                seen[g, t] = True
    return out, seen


@kernel
def _less(a, b, top):
    # vectorByValueHeap.Less (top=True) / vectorByReverseValueHeap.Less (top=False)
    if np.isnan(a):
        return True
    return a < b if top else a > b


@kernel
def _up(hv, hs, j, top):
    while True:
        i = (j - 1) // 2 if j > 0 else 0
        if i == j or not _less(hv[j], hv[i], top):
            break
        hv[i], hv[j] = hv[j], hv[i]
        hs[i], hs[j] = hs[j], hs[i]
        j = i


@kernel
def _down(hv, hs, i0, n, top):
    i = i0
    while True:
        j1 = 2 * i + 1
        if j1 >= n:
            break
        j = j1
        j2 = j1 + 1
        if j2 < n and _less(hv[j2], hv[j1], top):
            j = j2
        if not _less(hv[j], hv[i], top):
            break
        hv[i], hv[j] = hv[j], hv[i]
        hs[i], hs[j] = hs[j], hs[i]
        i = j
    return i > i0


@kernel
def select_k(values, present, group, n_groups, k, top):
    """``topk`` (``top=True``) / ``bottomk``: which series each group keeps at each step.

    Emulates the bounded heap of ``(*evaluator).aggregationK`` (Go's ``container/heap``
    with Prometheus' ``Less``), so ties and NaNs keep the same series Prometheus keeps.
    ``k[t]`` is already ``min(int64(param), S)``; steps with ``k < 1`` keep nothing.
    Returns ``(keep[S, T], rank[S, T])`` where ``rank`` orders a group's kept series as
    Prometheus prints them (descending for topk, ascending for bottomk, NaN last).
    """
    S, T = values.shape
    G = n_groups
    keep = np.zeros((S, T), np.bool_)
    rank = np.zeros((S, T), np.int64)
    kmax = 0
    for t in range(T):
        if k[t] > kmax:
            kmax = k[t]
    if kmax < 1:
        return keep, rank
    hv = np.empty((G, kmax), np.float64)
    hs = np.empty((G, kmax), np.int64)
    hn = np.zeros(G, np.int64)
    for t in range(T):
        kt = k[t]
        if kt < 1:
            continue
        hn[:] = 0
        for s in range(S):
            if not present[s, t]:
                continue
            g = group[s]
            f = values[s, t]
            n = hn[g]
            if n < kt:
                hv[g, n] = f
                hs[g, n] = s
                hn[g] = n + 1
                _up(hv[g], hs[g], n, top)
            else:
                h0 = hv[g, 0]
                better = (h0 < f) if top else (h0 > f)
                if better or (np.isnan(h0) and not np.isnan(f)):
                    hv[g, 0] = f
                    hs[g, 0] = s
                    if kt > 1:
                        if not _down(hv[g], hs[g], 0, n, top):
                            _up(hv[g], hs[g], 0, top)
        for g in range(G):
            n = hn[g]
            # print order: sort.Sort(sort.Reverse(heap)) -> "best" first, NaN last; Go's
            # unstable sort decides the order of ties, so it is replayed (gosort)
            vals = hv[g, :n].copy()
            idx = hs[g, :n].copy()
            go_sort(vals, idx, n, REVERSE_VALUE_HEAP if top else REVERSE_REVERSE_HEAP)
            for r in range(n):
                keep[idx[r], t] = True
                rank[idx[r], t] = r
    return keep, rank


@kernel
def match_one_side(group, present, n_groups):
    """For each (group, step), the one series of the "one" side present there, or -1.

    Used by vector matching. If two series of a group are present at the same step the
    match is many-to-many; the first such case (earliest step, then series order) is
    returned as ``dup = (step, earlier series, later series)``, else ``(-1, -1, -1)``.
    """
    S, T = present.shape
    idx = np.full((n_groups, T), -1, np.int64)
    dup_t = -1
    dup_a = -1
    dup_b = -1
    for t in range(T):
        for s in range(S):
            if not present[s, t]:
                continue
            g = group[s]
            if idx[g, t] >= 0:
                if dup_t < 0:
                    dup_t = t
                    dup_a = idx[g, t]
                    dup_b = s
            else:
                idx[g, t] = s
        if dup_t >= 0:
            break
    return idx, (dup_t, dup_a, dup_b)
