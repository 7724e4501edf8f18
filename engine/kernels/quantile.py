"""Classic-histogram kernels: ``histogram_quantile`` and ``histogram_fraction`` over ``le``
buckets, for every (bucket group, step) at once.

Mirrors ``BucketQuantile`` / ``BucketFraction`` in prometheus/prometheus
``promql/quantile.go``. For one group at one step, the present buckets (sorted by upper
bound once per group, not per step) are used as follows:

- no ``+Inf`` bucket, fewer than two buckets, or zero observations: NaN;
- ``q`` NaN: NaN; ``q < 0``: -Inf; ``q > 1``: +Inf (checked first);
- buckets with the same upper bound (``le="1"`` next to ``le="1.0"``) are summed;
- a count within a relative :data:`PRECISION_TOLERANCE` of the last accepted count is
  float noise and takes its value silently; any other decrease is raised to the last
  accepted count, which the caller reports as "needed to be fixed for monotonicity"
  (with the buckets and the largest decrease involved);
- the bucket holding the rank is found by ``sort.Search``'s bisection (with NaN counts a
  linear scan would find another one);
- the quantile is interpolated linearly inside its bucket, from 0 when the lowest bound
  is positive; a rank in the ``+Inf`` bucket answers the highest finite bound; a rank in
  the lowest bucket whose bound is <= 0 answers that bound.

``histogram_fraction`` uses the same sorted, coalesced buckets but no monotonicity repair.
Go's sort is unstable beyond 12 buckets, so with three or more equal bounds in such a
group the coalesced count may differ from Prometheus' in its last bits.
"""

from __future__ import annotations

import numpy as np

from .jit import kernel

__all__ = ["PRECISION_TOLERANCE", "bucket_groups", "bucket_quantile", "bucket_fraction"]

#: Relative difference below which two cumulative bucket counts are considered equal
#: (``correctPrecisionErrors``' tolerance): sums of rates across series differ by a few
#: ulps, which must not be mistaken for a broken histogram.
PRECISION_TOLERANCE = 1e-12


@kernel
def _gather(order, lo, hi, bounds, values, present, t, ub, cnt):
    """Present buckets of one group at step ``t``, coalesced; returns how many."""
    n = 0
    for k in range(lo, hi):
        s = order[k]
        if not present[s, t]:
            continue
        b = bounds[s]
        if n > 0 and ub[n - 1] == b:
            cnt[n - 1] += values[s, t]
        else:
            ub[n] = b
            cnt[n] = values[s, t]
            n += 1
    return n


@kernel
def _almost_equal(a, b, eps):
    """``util/almost.Equal``: relative to the sum; near zero, absolute against the
    smallest normal float."""
    if a == b:
        return True
    min_normal = 2.2250738585072014e-308
    abs_sum = abs(a) + abs(b)
    diff = abs(a - b)
    if a == 0 or b == 0 or abs_sum < min_normal:
        return diff < eps * min_normal
    return diff / min(abs_sum, 1.7976931348623157e308) < eps


@kernel
def _repair(ub, cnt, n):
    """``ensureMonotonicAndIgnoreSmallDeltas``: a count within the tolerance of the last
    accepted one is float noise and takes its value silently; a real decrease is raised
    to it and reported. Returns ``(forced, min_bucket, max_bucket, max_diff)`` over the
    forced buckets (``+Inf, -Inf, 0`` when none)."""
    forced = False
    min_bucket = np.inf
    max_bucket = -np.inf
    max_diff = 0.0
    prev = cnt[0]
    for i in range(1, n):
        curr = cnt[i]
        if curr == prev:
            continue
        if _almost_equal(prev, curr, PRECISION_TOLERANCE):
            cnt[i] = prev
            continue
        if curr < prev:
            cnt[i] = prev
            forced = True
            min_bucket = min(min_bucket, ub[i])
            max_bucket = max(max_bucket, ub[i])
            max_diff = max(max_diff, prev - curr)
            continue
        prev = curr
    return forced, min_bucket, max_bucket, max_diff


@kernel
def bucket_groups(group, bounds, n_groups):
    """Series sorted by (group, upper bound): ``(order, group_start[G+1])``."""
    by_bound = np.argsort(bounds, kind="mergesort")
    order = by_bound[np.argsort(group[by_bound], kind="mergesort")]
    starts = np.zeros(n_groups + 1, np.int64)
    for s in range(len(group)):
        starts[group[s] + 1] += 1
    for g in range(n_groups):
        starts[g + 1] += starts[g]
    return order, starts


@kernel
def bucket_quantile(q, group, bounds, values, present, n_groups):
    """``out[G, T]``, ``seen[G, T]`` (a group with any bucket present), and where the
    monotonicity had to be forced: ``fix[G, T, 3]`` = (lowest forced bucket, highest
    forced bucket, largest decrease), NaN where nothing was forced."""
    S, T = values.shape
    order, starts = bucket_groups(group, bounds, n_groups)
    out = np.full((n_groups, T), np.nan)
    seen = np.zeros((n_groups, T), np.bool_)
    fix = np.full((n_groups, T, 3), np.nan)
    ub = np.empty(max(S, 1), np.float64)
    cnt = np.empty(max(S, 1), np.float64)
    for g in range(n_groups):
        for t in range(T):
            n = _gather(order, starts[g], starts[g + 1], bounds, values, present, t, ub, cnt)
            if n == 0:
                continue
            seen[g, t] = True
            qt = q[t]
            if np.isnan(qt):
                continue
            if qt < 0:
                out[g, t] = -np.inf
                continue
            if qt > 1:
                out[g, t] = np.inf
                continue
            if not (np.isinf(ub[n - 1]) and ub[n - 1] > 0):
                continue
            f, lo_b, hi_b, diff = _repair(ub, cnt, n)
            if n < 2:
                continue
            observations = cnt[n - 1]
            if observations == 0:
                continue
            if f:
                fix[g, t, 0] = lo_b
                fix[g, t, 1] = hi_b
                fix[g, t, 2] = diff
            rank = qt * observations
            # sort.Search(n-1, cnt[i] >= rank): Go's bisection, not a scan, because with
            # NaN counts the predicate is not monotone and the two find different buckets
            i = 0
            j = n - 1
            while i < j:
                h = (i + j) >> 1
                if not cnt[h] >= rank:
                    i = h + 1
                else:
                    j = h
            if i == n - 1:
                out[g, t] = ub[n - 2]
                continue
            if i == 0 and ub[0] <= 0:
                out[g, t] = ub[0]
                continue
            start = 0.0
            end = ub[i]
            count = cnt[i]
            if i > 0:
                start = ub[i - 1]
                count -= cnt[i - 1]
                rank -= cnt[i - 1]
            out[g, t] = start + (end - start) * (rank / count)
    return out, seen, fix


@kernel(inline="always")
def _interpolate_bucket(v, lo, hi, count, rank):
    """``BucketFraction``'s ``interpolateLinearly``: the cumulative count at ``v`` in the
    bucket ``(lo, hi]`` (cumulative ``count``, ``rank`` below it), in Go's operation order;
    a bucket whose lower bound is -Inf counts whole."""
    if lo == -np.inf:
        return count
    return rank + (count - rank) * (v - lo) / (hi - lo)


@kernel
def bucket_fraction(lower, upper, group, bounds, values, present, n_groups):
    """Fraction of observations between ``lower[t]`` and ``upper[t]`` per (group, step),
    as ``BucketFraction`` (3.14): the inverse of :func:`bucket_quantile`, over the sorted
    and coalesced buckets, *without* the monotonicity repair; the first bucket starts at 0
    when its bound is positive, else at -Inf (and then counts whole)."""
    S, T = values.shape
    order, starts = bucket_groups(group, bounds, n_groups)
    out = np.full((n_groups, T), np.nan)
    seen = np.zeros((n_groups, T), np.bool_)
    ub = np.empty(max(S, 1), np.float64)
    cnt = np.empty(max(S, 1), np.float64)
    for g in range(n_groups):
        for t in range(T):
            n = _gather(order, starts[g], starts[g + 1], bounds, values, present, t, ub, cnt)
            if n == 0:
                continue
            seen[g, t] = True
            if not (np.isinf(ub[n - 1]) and ub[n - 1] > 0):
                continue
            total = cnt[n - 1]  # BucketFraction does not repair monotonicity
            lo_q = lower[t]
            hi_q = upper[t]
            if total == 0 or np.isnan(lo_q) or np.isnan(hi_q):
                continue
            if lo_q >= hi_q:
                out[g, t] = 0.0
                continue
            rank = 0.0
            lower_rank = 0.0
            upper_rank = 0.0
            lower_set = False
            upper_set = False
            b_lo = 0.0 if ub[0] > 0 else -np.inf
            for i in range(n):
                if i > 0:
                    b_lo = ub[i - 1]
                b_hi = ub[i]
                if not lower_set and b_lo >= lo_q:
                    lower_rank = rank
                    lower_set = True
                if not upper_set and b_lo >= hi_q:
                    upper_rank = rank
                    upper_set = True
                if lower_set and upper_set:
                    break
                if not lower_set and b_lo < lo_q and b_hi > lo_q:
                    lower_rank = _interpolate_bucket(lo_q, b_lo, b_hi, cnt[i], rank)
                    lower_set = True
                if not upper_set and b_lo < hi_q and b_hi > hi_q:
                    upper_rank = _interpolate_bucket(hi_q, b_lo, b_hi, cnt[i], rank)
                    upper_set = True
                if lower_set and upper_set:
                    break
                rank = cnt[i]  # cumulative counts: the rank below the next bucket
            if not lower_set or lower_rank > total:
                lower_rank = total
            if not upper_set or upper_rank > total:
                upper_rank = total
            out[g, t] = (upper_rank - lower_rank) / total
    return out, seen
