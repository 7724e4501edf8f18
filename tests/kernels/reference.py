"""Reference implementations of every numba kernel in :mod:`engine.kernels`, in plain Python.

This is the one table (:data:`REFERENCES`) the kernel property tests compare against, in the
manner of numbagg's reference functions. Each reference is written from Prometheus' Go code
(``promql/functions.go``, ``promql/engine.go``'s ``aggregation``/``aggregationK``,
``promql/quantile.go``, ``util/kahansum``, Go's ``sort`` and ``container/heap``), operation
for operation, so that a kernel which claims Go's order of floating-point operations must
agree with its reference *bit for bit*. The references are deliberately naive: they look at
one window / one group / one step at a time, with no prefix sums, deques, fused loops or
pre-sorted orders, so they share none of the kernels' shortcuts.

Which Go code, exactly. The stored ``functions.go`` and ``quantile.go`` predate 3.14 in a few
places; where 3.14 behaves differently (the corpus in ``../shared/promqltest`` and the
upstream changelog say how), the reference follows 3.14 and says so:

- ``mad_over_time`` is NaN when the range holds a NaN (3.14, prometheus#19040);
- a ``smoothed`` rate with every fetched sample after the range has no output
  (prometheus#18523);
- ``BucketFraction`` (classic ``histogram_fraction``) takes the first bucket's lower bound
  as 0 when its upper bound is positive, else -Inf, and counts a bucket with a -Inf lower
  bound whole (prometheus#17424); it coalesces buckets but does not repair monotonicity.

Go's arithmetic on amd64 has no fused multiply-add, so plain Python floats (IEEE doubles)
give Go's results, except where Python raises instead: :func:`go_div` and :func:`go_sqrt`
give IEEE answers for division by zero and negative square roots. Integer division follows
Go's truncation where it matters (``container/heap``'s parent index).

Results are returned as plain lists / tuples (one entry per window, ``None`` for "no
output"), so the tests decide how to compare them; :func:`same_float` is the comparison:
bit-identical, except that any NaN equals any NaN (Go's NaN payloads are not part of any
result Prometheus prints), and -0.0 differs from 0.0.

>>> same_float(-0.0, 0.0), same_float(float("nan"), -float("nan")), same_float(1.0, 1.0)
(False, True, True)
>>> go_div(1.0, -0.0), go_div(0.0, 0.0) != go_div(0.0, 0.0)
(-inf, True)
>>> kahan_inc(1.0, 1e100, 0.0)
(1e+100, 1.0)
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

__all__ = [
    "REFERENCES",
    "STALE_NAN_BITS",
    "aggregate",
    "aggregate_quantile",
    "bucket_fraction",
    "bucket_quantile",
    "build_csr",
    "matrix_points",
    "counter_resets",
    "drop_stale",
    "extended_rate",
    "extrapolated_rate",
    "float_bits",
    "go_div",
    "go_sort",
    "go_sqrt",
    "heap_fix",
    "heap_push",
    "instant_value",
    "interpolate",
    "kahan_inc",
    "lookback_index",
    "match_one_side",
    "over_time",
    "quantile",
    "same_float",
    "select_k",
    "slices_sort_func",
    "smoothed_instant",
    "sort_search",
    "window_bounds",
]

#: Prometheus' stale marker: a NaN with this exact bit pattern (``value.StaleNaN``).
STALE_NAN_BITS = 0x7FF0000000000002

Point = tuple[int, float]  # (timestamp in ms, value): Go's FPoint


# =====================================================================================
# Go arithmetic and runtime helpers
# =====================================================================================


def float_bits(x: float) -> int:
    """The IEEE-754 bit pattern of ``x`` (``math.Float64bits``).

    >>> hex(float_bits(-0.0))
    '0x8000000000000000'
    """
    return struct.unpack("<Q", struct.pack("<d", x))[0]


def same_float(a: float, b: float) -> bool:
    """Bitwise float equality with every NaN equal to every NaN (see the module doc)."""
    a, b = float(a), float(b)
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return float_bits(a) == float_bits(b)


def go_div(a: float, b: float) -> float:
    """``a / b`` with IEEE semantics (±Inf or NaN on division by zero, as in Go)."""
    with np.errstate(all="ignore"):
        return float(np.float64(a) / np.float64(b))


def go_sqrt(x: float) -> float:
    """``math.Sqrt``: NaN for negative input, -0 for -0."""
    if math.isnan(x) or x < 0:
        return math.nan
    return math.sqrt(x)


def go_floor(x: float) -> float:
    """``math.Floor`` (a float, unlike Python's ``math.floor``)."""
    if math.isnan(x) or math.isinf(x):
        return x
    return float(math.floor(x))


def kahan_inc(inc: float, total: float, c: float) -> tuple[float, float]:
    """``util/kahansum.Inc``: Kahan-Neumaier addition; an infinite sum zeroes ``c``."""
    t = total + inc
    if math.isinf(t):
        c = 0.0
    elif abs(total) >= abs(inc):
        c += (total - t) + inc
    else:
        c += (inc - t) + total
    return t, c


def almost_equal(a: float, b: float, epsilon: float) -> bool:
    """``util/almost.Equal`` (two NaNs are equal unless exactly one is a stale marker)."""
    if math.isnan(a) and math.isnan(b):
        return (float_bits(a) == STALE_NAN_BITS) == (float_bits(b) == STALE_NAN_BITS)
    if a == b:
        return True
    min_normal = 2.2250738585072014e-308
    abs_sum = abs(a) + abs(b)
    diff = abs(a - b)
    if a == 0 or b == 0 or abs_sum < min_normal:
        return diff < epsilon * min_normal
    return go_div(diff, min(abs_sum, 1.7976931348623157e308)) < epsilon


def sort_search(n: int, f: Callable[[int], bool]) -> int:
    """``sort.Search``: the smallest ``i`` in ``[0, n)`` with ``f(i)``, by Go's bisection
    (the same probes as Go, which matters when ``f`` is not monotone, e.g. with NaN)."""
    i, j = 0, n
    while i < j:
        h = (i + j) >> 1
        if not f(h):
            i = h + 1
        else:
            j = h
    return i


class _PdqSort:
    """Go's pattern-defeating quicksort (``sort.Sort``, and ``slices.SortFunc`` which is
    generated from the same template), replayed on a Python list with an element-wise
    ``less``. Unstable, like Go's: the permutation of equal elements (``-0.0`` and ``0.0``,
    NaNs, equal bucket bounds) is exactly Go's, which is why it is replayed rather than
    replaced by a stable sort.

    Checked against Go's own ``sort.Sort`` (go1.19 from Debian, run on 4000 NaN- and
    ±0-heavy inputs of up to 150 values, ``breakPatterns`` reached 1637 times): identical
    permutations once go1.19's xorshift shifts (13, 17, 5) were swapped in. The shifts
    here (13, 7, 17) are those of Go 1.24+, after golang/go issue 70144, which is what
    Prometheus 3.14 is built with."""

    _UNKNOWN, _INCREASING, _DECREASING = 0, 1, 2

    def __init__(self, data: list[Any], less: Callable[[Any, Any], bool]) -> None:
        self.d = data
        self.lt = less

    def less(self, i: int, j: int) -> bool:
        return self.lt(self.d[i], self.d[j])

    def swap(self, i: int, j: int) -> None:
        self.d[i], self.d[j] = self.d[j], self.d[i]

    def sort(self) -> None:
        n = len(self.d)
        if n <= 1:
            return
        self.pdqsort(0, n, n.bit_length())

    def insertion_sort(self, a: int, b: int) -> None:
        for i in range(a + 1, b):
            j = i
            while j > a and self.less(j, j - 1):
                self.swap(j, j - 1)
                j -= 1

    def sift_down(self, lo: int, hi: int, first: int) -> None:
        root = lo
        while True:
            child = 2 * root + 1
            if child >= hi:
                return
            if child + 1 < hi and self.less(first + child, first + child + 1):
                child += 1
            if not self.less(first + root, first + child):
                return
            self.swap(first + root, first + child)
            root = child

    def heap_sort(self, a: int, b: int) -> None:
        first, lo, hi = a, 0, b - a
        for i in range((hi - 1) // 2, -1, -1):
            self.sift_down(i, hi, first)
        for i in range(hi - 1, -1, -1):
            self.swap(first, first + i)
            self.sift_down(lo, i, first)

    def pdqsort(self, a: int, b: int, limit: int) -> None:
        was_balanced = True
        was_partitioned = True
        while True:
            length = b - a
            if length <= 12:
                self.insertion_sort(a, b)
                return
            if limit == 0:
                self.heap_sort(a, b)
                return
            if not was_balanced:
                self.break_patterns(a, b)
                limit -= 1
            pivot, hint = self.choose_pivot(a, b)
            if hint == self._DECREASING:
                self.reverse_range(a, b)
                pivot = (b - 1) - (pivot - a)
                hint = self._INCREASING
            if was_balanced and was_partitioned and hint == self._INCREASING:
                if self.partial_insertion_sort(a, b):
                    return
            if a > 0 and not self.less(a - 1, pivot):
                a = self.partition_equal(a, b, pivot)
                continue
            mid, already = self.partition(a, b, pivot)
            was_partitioned = already
            left, right = mid - a, b - mid
            threshold = length // 8
            if left < right:
                was_balanced = left >= threshold
                self.pdqsort(a, mid, limit)
                a = mid + 1
            else:
                was_balanced = right >= threshold
                self.pdqsort(mid + 1, b, limit)
                b = mid

    def partition(self, a: int, b: int, pivot: int) -> tuple[int, bool]:
        self.swap(a, pivot)
        i, j = a + 1, b - 1
        while i <= j and self.less(i, a):
            i += 1
        while i <= j and not self.less(j, a):
            j -= 1
        if i > j:
            self.swap(j, a)
            return j, True
        self.swap(i, j)
        i += 1
        j -= 1
        while True:
            while i <= j and self.less(i, a):
                i += 1
            while i <= j and not self.less(j, a):
                j -= 1
            if i > j:
                break
            self.swap(i, j)
            i += 1
            j -= 1
        self.swap(j, a)
        return j, False

    def partition_equal(self, a: int, b: int, pivot: int) -> int:
        self.swap(a, pivot)
        i, j = a + 1, b - 1
        while True:
            while i <= j and not self.less(a, i):
                i += 1
            while i <= j and self.less(a, j):
                j -= 1
            if i > j:
                break
            self.swap(i, j)
            i += 1
            j -= 1
        return i

    def partial_insertion_sort(self, a: int, b: int) -> bool:
        i = a + 1
        for _ in range(5):
            while i < b and not self.less(i, i - 1):
                i += 1
            if i == b:
                return True
            if b - a < 50:
                return False
            self.swap(i, i - 1)
            if i - a >= 2:
                for j in range(i - 1, 0, -1):  # Go: j >= 1, not j > a
                    if not self.less(j, j - 1):
                        break
                    self.swap(j, j - 1)
            if b - i >= 2:
                for j in range(i + 1, b):
                    if not self.less(j, j - 1):
                        break
                    self.swap(j, j - 1)
        return False

    def break_patterns(self, a: int, b: int) -> None:
        length = b - a
        if length < 8:
            return
        mask64 = (1 << 64) - 1
        r = length
        modulus = 1 << length.bit_length()
        for idx in range(a + (length // 4) * 2 - 1, a + (length // 4) * 2 + 2):
            r ^= (r << 13) & mask64
            r ^= r >> 7
            r ^= (r << 17) & mask64
            other = r & (modulus - 1)
            if other >= length:
                other -= length
            self.swap(idx, a + other)

    def choose_pivot(self, a: int, b: int) -> tuple[int, int]:
        n = b - a
        swaps = [0]
        i, j, k = a + n // 4 * 1, a + n // 4 * 2, a + n // 4 * 3
        if n >= 8:
            if n >= 50:
                i = self.median(i - 1, i, i + 1, swaps)
                j = self.median(j - 1, j, j + 1, swaps)
                k = self.median(k - 1, k, k + 1, swaps)
            j = self.median(i, j, k, swaps)
        if swaps[0] == 0:
            return j, self._INCREASING
        if swaps[0] == 12:
            return j, self._DECREASING
        return j, self._UNKNOWN

    def order2(self, a: int, b: int, swaps: list[int]) -> tuple[int, int]:
        if self.less(b, a):
            swaps[0] += 1
            return b, a
        return a, b

    def median(self, a: int, b: int, c: int, swaps: list[int]) -> int:
        a, b = self.order2(a, b, swaps)
        b, c = self.order2(b, c, swaps)
        a, b = self.order2(a, b, swaps)
        return b

    def reverse_range(self, a: int, b: int) -> None:
        i, j = a, b - 1
        while i < j:
            self.swap(i, j)
            i += 1
            j -= 1


def go_sort(data: list[Any], less: Callable[[Any, Any], bool]) -> None:
    """``sort.Sort`` on ``data`` (in place) whose ``Less(i, j)`` is ``less(data[i], data[j])``.

    >>> xs = [3.0, float("nan"), 1.0, 2.0]
    >>> go_sort(xs, value_heap_less)
    >>> xs
    [nan, 1.0, 2.0, 3.0]
    """
    _PdqSort(data, less).sort()


def slices_sort_func(data: list[Any], less: Callable[[Any, Any], bool]) -> None:
    """``slices.SortFunc`` on ``data`` with ``cmp(a, b) < 0`` given as ``less(a, b)``."""
    _PdqSort(data, less).sort()


def value_heap_less(a: float, b: float) -> bool:
    """``vectorByValueHeap.Less``: NaN sorts before everything (itself included)."""
    return True if math.isnan(a) else a < b


def reverse_value_heap_less(a: float, b: float) -> bool:
    """``vectorByReverseValueHeap.Less``."""
    return True if math.isnan(a) else a > b


def _heap_up(h: list[Any], j: int, less: Callable[[Any, Any], bool]) -> None:
    while True:
        i = (j - 1) // 2 if j > 0 else 0  # Go truncates (-1)/2 to 0
        if i == j or not less(h[j], h[i]):
            return
        h[i], h[j] = h[j], h[i]
        j = i


def _heap_down(h: list[Any], i0: int, n: int, less: Callable[[Any, Any], bool]) -> bool:
    i = i0
    while True:
        j1 = 2 * i + 1
        if j1 >= n:
            break
        j = j1
        j2 = j1 + 1
        if j2 < n and less(h[j2], h[j1]):
            j = j2
        if not less(h[j], h[i]):
            break
        h[i], h[j] = h[j], h[i]
        i = j
    return i > i0


def heap_push(h: list[Any], x: Any, less: Callable[[Any, Any], bool]) -> None:
    """``container/heap.Push``."""
    h.append(x)
    _heap_up(h, len(h) - 1, less)


def heap_fix(h: list[Any], i: int, less: Callable[[Any, Any], bool]) -> None:
    """``container/heap.Fix``."""
    if not _heap_down(h, i, len(h), less):
        _heap_up(h, i, less)


# =====================================================================================
# engine.kernels.windows
# =====================================================================================


def window_bounds(
    seg_start: Sequence[int],
    seg_end: Sequence[int],
    ts: Sequence[int],
    lo: Sequence[int],
    hi: Sequence[int],
) -> tuple[list[list[int]], list[list[int]]]:
    """Absolute ``[start, end)`` of the samples of each segment in ``(lo[j], hi[j]]``.

    Left-open, right-closed, as Prometheus 3's range selectors and lookback. An inverted
    window (``hi < lo``) is empty, with ``end == start``.
    """
    starts, ends = [], []
    for a0, b0 in zip(seg_start, seg_end, strict=True):
        srow, erow = [], []
        for lo_j, hi_j in zip(lo, hi, strict=True):
            start = next((i for i in range(a0, b0) if ts[i] > lo_j), b0)
            end = next((i for i in range(a0, b0) if ts[i] > hi_j), b0)
            srow.append(start)
            erow.append(max(start, end))
        starts.append(srow)
        ends.append(erow)
    return starts, ends


def lookback_index(
    seg_start: Sequence[int],
    seg_end: Sequence[int],
    ts: Sequence[int],
    values: Sequence[float],
    lo: Sequence[int],
    hi: Sequence[int],
) -> list[list[int]]:
    """``vectorSelectorSingle``: the newest sample in ``(lo, hi]``, none (-1) when there is
    no sample or when the newest one is a stale marker (an older sample does not count)."""
    out = []
    for a0, b0 in zip(seg_start, seg_end, strict=True):
        row = []
        for lo_j, hi_j in zip(lo, hi, strict=True):
            inside = [i for i in range(a0, b0) if lo_j < ts[i] <= hi_j]
            if not inside or float_bits(values[inside[-1]]) == STALE_NAN_BITS:
                row.append(-1)
            else:
                row.append(inside[-1])
        out.append(row)
    return out


def drop_stale(
    offsets: Sequence[int], ts: Sequence[int], values: Sequence[float]
) -> tuple[list[int], list[int], list[float]]:
    """The CSR columns without stale markers (``matrixIterSlice`` skips them)."""
    new_off, new_ts, new_vals = [0], [], []
    for s in range(len(offsets) - 1):
        for i in range(offsets[s], offsets[s + 1]):
            if float_bits(values[i]) != STALE_NAN_BITS:
                new_ts.append(ts[i])
                new_vals.append(values[i])
        new_off.append(len(new_ts))
    return new_off, new_ts, new_vals


# =====================================================================================
# engine.kernels.csr
# =====================================================================================


def build_csr(
    series: Sequence[int], ts: Sequence[int], values: Sequence[float], n_series: int
) -> tuple[list[int], list[int], list[float], int]:
    """CSR columns from samples appended in any order: per series by timestamp, the first
    appended sample kept at a duplicate timestamp; a later one with other bits is
    rejected and counted (``ErrDuplicateSampleForTimestamp``), one with the same bits is
    dropped silently."""
    per: list[list[tuple[int, int, float]]] = [[] for _ in range(n_series)]
    for k, (s, t, v) in enumerate(zip(series, ts, values, strict=True)):
        per[s].append((t, k, v))
    offsets, out_ts, out_v, rejected = [0], [], [], 0
    for samples in per:
        samples.sort(key=lambda x: (x[0], x[1]))
        kept: tuple[int, int, float] | None = None
        for t, k, v in samples:
            if kept is not None and t == kept[0]:
                if float_bits(v) != float_bits(kept[2]):
                    rejected += 1
                continue
            kept = (t, k, v)
            out_ts.append(t)
            out_v.append(v)
        offsets.append(len(out_ts))
    return offsets, out_ts, out_v, rejected


def matrix_points(
    values: Sequence[Sequence[float]],
    present: Sequence[Sequence[bool]],
    rows: Sequence[int],
    times: Sequence[int],
) -> tuple[list[int], list[int], list[float]]:
    """The present points of ``rows`` (in that order): offsets, times and values."""
    offsets, out_ts, out_v = [0], [], []
    for r in rows:
        for j, t in enumerate(times):
            if present[r][j]:
                out_ts.append(t)
                out_v.append(values[r][j])
        offsets.append(len(out_ts))
    return offsets, out_ts, out_v


# =====================================================================================
# engine.kernels.rate
# =====================================================================================


def counter_resets(offsets: Sequence[int], values: Sequence[float]) -> tuple[list[int], list[int]]:
    """Positions ``k`` with ``values[k] < values[k-1]`` inside a series, and the number of
    such positions at or before each index."""
    pos, prefix, count = [], [], 0
    for s in range(len(offsets) - 1):
        for i in range(offsets[s], offsets[s + 1]):
            if i > offsets[s] and values[i] < values[i - 1]:
                count += 1
                pos.append(i)
            prefix.append(count)
    return pos, prefix


def extrapolated_rate(
    samples: Sequence[Point],
    range_start: int,
    range_end: int,
    is_counter: bool,
    is_rate: bool,
    range_seconds: float,
) -> float | None:
    """``extrapolatedRate`` (floats, no start timestamps) over one window's samples."""
    if len(samples) < 2:
        return None
    n1 = len(samples) - 1
    first_t, first_v = samples[0]
    last_t, last_v = samples[-1]
    result = last_v - first_v
    if is_counter:
        for (_, prev), (_, curr) in zip(samples, samples[1:], strict=False):
            if curr < prev:
                result += prev
    to_start = float(first_t - range_start) / 1000
    to_end = float(range_end - last_t) / 1000
    sampled = float(last_t - first_t) / 1000
    avg = go_div(sampled, float(n1))
    threshold = avg * 1.1
    if to_start >= threshold:
        to_start = avg / 2
    if is_counter:
        to_zero = to_start
        if result > 0 and first_v >= 0:
            to_zero = sampled * go_div(first_v, result)
        if to_zero < to_start:
            to_start = to_zero
    if to_end >= threshold:
        to_end = avg / 2
    factor = go_div(sampled + to_start + to_end, sampled)
    if is_rate:
        factor = go_div(factor, range_seconds)
    return result * factor


def instant_value(samples: Sequence[Point], is_rate: bool) -> float | None:
    """``instantValue`` (floats): irate / idelta from the last two samples."""
    if len(samples) < 2:
        return None
    (t0, v0), (t1, v1) = samples[-2], samples[-1]
    dt = t1 - t0
    if dt == 0:
        return None
    result = v1
    if not is_rate or not v1 < v0:
        result = v1 - v0
    if is_rate:
        result = go_div(result, float(dt) / 1000)
    return result


# =====================================================================================
# engine.kernels.over_time
# =====================================================================================


def quantile(q: float, values: Sequence[float]) -> float:
    """``quantile(q, vectorByValueHeap)``: ``sort.Sort`` (NaN first), then linear
    interpolation between the closest ranks."""
    if len(values) == 0 or math.isnan(q):
        return math.nan
    if q < 0:
        return -math.inf
    if q > 1:
        return math.inf
    v = list(values)
    go_sort(v, value_heap_less)
    n = float(len(v))
    rank = q * (n - 1)
    lower = max(0.0, go_floor(rank))
    upper = min(n - 1, lower + 1)
    weight = rank - go_floor(rank)
    return v[int(lower)] * (1 - weight) + v[int(upper)] * weight


def _linear_regression(samples: Sequence[Point], intercept_time: int) -> tuple[float, float]:
    n = 0.0
    sum_x = c_x = sum_y = c_y = sum_xy = c_xy = sum_x2 = c_x2 = 0.0
    init_y = samples[0][1]
    const_y = True
    for i, (t, y) in enumerate(samples):
        if const_y and i > 0 and y != init_y:
            const_y = False
        n += 1.0
        x = (t - intercept_time) / 1e3
        sum_x, c_x = kahan_inc(x, sum_x, c_x)
        sum_y, c_y = kahan_inc(y, sum_y, c_y)
        sum_xy, c_xy = kahan_inc(x * y, sum_xy, c_xy)
        sum_x2, c_x2 = kahan_inc(x * x, sum_x2, c_x2)
    if const_y:
        if math.isinf(init_y):
            return math.nan, math.nan
        return 0.0, init_y
    sum_x += c_x
    sum_y += c_y
    sum_xy += c_xy
    sum_x2 += c_x2
    cov_xy = sum_xy - go_div(sum_x * sum_y, n)
    var_x = sum_x2 - go_div(sum_x * sum_x, n)
    slope = go_div(cov_xy, var_x)
    intercept = go_div(sum_y, n) - go_div(slope * sum_x, n)
    return slope, intercept


def _sum_over_time(vals: Sequence[float]) -> float:
    total = c = 0.0
    for f in vals:
        total, c = kahan_inc(f, total, c)
    if math.isinf(total):
        return total
    return total + c


def _avg_over_time(vals: Sequence[float]) -> float:
    total, count = vals[0], 1.0
    mean = c = 0.0
    incremental = False
    for i, f in enumerate(vals[1:]):
        count = float(i + 2)
        if not incremental:
            new_total, new_c = kahan_inc(f, total, c)
            if not math.isinf(new_total):
                total, c = new_total, new_c
                continue
            incremental = True
            mean = go_div(total, count - 1)
            c = go_div(c, count - 1)
        q = go_div(count - 1, count)
        mean, c = kahan_inc(go_div(f, count), q * mean, q * c)
    if incremental:
        return mean + c
    return go_div(total, count) + go_div(c, count)


def _compare_over_time(samples: Sequence[Point], better: Callable[[float, float], bool]):
    best_t, best = samples[0]
    for t, f in samples:
        if better(f, best):
            best, best_t = f, t
    return best, best_t


def _variance_over_time(vals: Sequence[float]) -> float:
    count = mean = c_mean = aux = c_aux = 0.0
    for f in vals:
        count += 1
        delta = f - (mean + c_mean)
        mean, c_mean = kahan_inc(go_div(delta, count), mean, c_mean)
        aux, c_aux = kahan_inc(delta * (f - (mean + c_mean)), aux, c_aux)
    return go_div(aux + c_aux, count)


def _mad_over_time(vals: Sequence[float]) -> float:
    if any(math.isnan(f) for f in vals):
        return math.nan  # 3.14, prometheus#19040
    median = quantile(0.5, vals)
    return quantile(0.5, [abs(f - median) for f in vals])


def _changes(vals: Sequence[float]) -> float:
    changes = 0
    for prev, cur in zip(vals, vals[1:], strict=False):
        if cur != prev and not (math.isnan(cur) and math.isnan(prev)):
            changes += 1
    return float(changes)


def _resets(vals: Sequence[float]) -> float:
    return float(sum(1 for prev, cur in zip(vals, vals[1:], strict=False) if cur < prev))


def _double_exponential_smoothing(vals: Sequence[float], sf: float, tf: float) -> float:
    s0, s1 = 0.0, vals[0]
    b = vals[1] - vals[0]
    for i in range(1, len(vals)):
        x = sf * vals[i]
        if i - 1 != 0:  # calcTrendValue(i-1, ...)
            b = tf * (s1 - s0) + (1 - tf) * b
        y = (1 - sf) * (s1 + b)
        s0, s1 = s1, x + y
    return s1


#: over_time kind name -> f(samples, p1, p2, eval_t) (names as in ``over_time.KINDS``)
OVER_TIME: dict[str, Callable[[Sequence[Point], float, float, int], float]] = {
    "sum_over_time": lambda s, p1, p2, t: _sum_over_time([v for _, v in s]),
    "avg_over_time": lambda s, p1, p2, t: _avg_over_time([v for _, v in s]),
    "count_over_time": lambda s, p1, p2, t: float(len(s)),
    "present_over_time": lambda s, p1, p2, t: 1.0,
    "min_over_time": lambda s, p1, p2, t: _compare_over_time(
        s, lambda cur, m: cur < m or math.isnan(m)
    )[0],
    "max_over_time": lambda s, p1, p2, t: _compare_over_time(
        s, lambda cur, m: cur > m or math.isnan(m)
    )[0],
    "ts_of_min_over_time": lambda s, p1, p2, t: (
        _compare_over_time(s, lambda cur, m: cur <= m or math.isnan(m))[1] / 1000.0
    ),
    "ts_of_max_over_time": lambda s, p1, p2, t: (
        _compare_over_time(s, lambda cur, m: cur >= m or math.isnan(m))[1] / 1000.0
    ),
    "first_over_time": lambda s, p1, p2, t: s[0][1],
    "last_over_time": lambda s, p1, p2, t: s[-1][1],
    "ts_of_first_over_time": lambda s, p1, p2, t: float(s[0][0]) / 1000,
    "ts_of_last_over_time": lambda s, p1, p2, t: float(s[-1][0]) / 1000,
    "stddev_over_time": lambda s, p1, p2, t: go_sqrt(_variance_over_time([v for _, v in s])),
    "stdvar_over_time": lambda s, p1, p2, t: _variance_over_time([v for _, v in s]),
    "quantile_over_time": lambda s, p1, p2, t: quantile(p1, [v for _, v in s]),
    "mad_over_time": lambda s, p1, p2, t: _mad_over_time([v for _, v in s]),
    "changes": lambda s, p1, p2, t: _changes([v for _, v in s]),
    "resets": lambda s, p1, p2, t: _resets([v for _, v in s]),
    "deriv": lambda s, p1, p2, t: _linear_regression(s, s[0][0])[0],
    "predict_linear": lambda s, p1, p2, t: (lambda r: r[0] * p1 + r[1])(_linear_regression(s, t)),
    "double_exponential_smoothing": lambda s, p1, p2, t: _double_exponential_smoothing(
        [v for _, v in s], p1, p2
    ),
}


def over_time(
    kind: str, samples: Sequence[Point], p1: float, p2: float, eval_t: int, min_samples: int
) -> float | None:
    """The Go function named ``kind`` over one window; None (no output) when the window
    has fewer than ``min_samples`` samples (an empty window never has output)."""
    if len(samples) < max(1, min_samples):
        return None
    return OVER_TIME[kind](samples, p1, p2, eval_t)


# =====================================================================================
# engine.kernels.grouped
# =====================================================================================


def aggregate(kind: str, values: Sequence[float]) -> float | None:
    """``(*evaluator).aggregation`` for one group at one step, floats in input order."""
    if not values:
        return None
    f0 = values[0]
    value, mean, kahan_c, count = f0, f0, 0.0, 1.0
    incremental = False
    if kind in ("stddev", "stdvar"):
        value = math.nan if math.isnan(f0) or math.isinf(f0) else 0.0
    elif kind == "group":
        value = 1.0
    for f in values[1:]:
        if kind == "sum":
            value, kahan_c = kahan_inc(f, value, kahan_c)
        elif kind == "avg":
            count += 1
            if not incremental:
                new_v, new_c = kahan_inc(f, value, kahan_c)
                if not math.isinf(new_v):
                    value, kahan_c = new_v, new_c
                    continue
                incremental = True
                mean = go_div(value, count - 1)
                kahan_c = go_div(kahan_c, count - 1)
            q = go_div(count - 1, count)
            mean, kahan_c = kahan_inc(go_div(f, count), q * mean, q * kahan_c)
        elif kind == "max":
            if value < f or math.isnan(value):
                value = f
        elif kind == "min":
            if value > f or math.isnan(value):
                value = f
        elif kind == "count":
            count += 1
        elif kind in ("stddev", "stdvar"):
            count += 1
            delta = f - mean
            mean += go_div(delta, count)
            value += delta * (f - mean)
    if kind == "avg":
        if incremental:
            return mean + kahan_c
        return go_div(value, count) + go_div(kahan_c, count)
    if kind == "count":
        return count
    if kind == "stdvar":
        return go_div(value, count)
    if kind == "stddev":
        return go_sqrt(go_div(value, count))
    if kind == "sum":
        return value + kahan_c
    return value


def aggregate_quantile(q: float, values: Sequence[float]) -> float | None:
    """``quantile(q, ...)`` aggregation for one group at one step (input order)."""
    if not values:
        return None
    return quantile(q, values)


def select_k(samples: Sequence[tuple[int, float]], k: int, top: bool) -> list[int]:
    """``aggregationK`` for topk (``top``) / bottomk for one group at one step.

    ``samples`` are ``(series, value)`` of the group's present series in input order and
    ``k`` is ``min(int64(param), len(inputMatrix))``. Returns the kept series in the order
    Prometheus prints them (``sort.Sort(sort.Reverse(heap))``).
    """
    if k < 1:
        return []
    heap_less = value_heap_less if top else reverse_value_heap_less

    def less(a: tuple[int, float], b: tuple[int, float]) -> bool:
        return heap_less(a[1], b[1])

    heap: list[tuple[int, float]] = []
    for s in samples:
        if len(heap) < k:
            heap_push(heap, s, less)
            continue
        h0, f = heap[0][1], s[1]
        better = h0 < f if top else h0 > f
        if better or (math.isnan(h0) and not math.isnan(f)):
            heap[0] = s
            if k > 1:
                heap_fix(heap, 0, less)
    if len(heap) > 1:
        go_sort(heap, lambda a, b: less(b, a))  # sort.Reverse
    return [s for s, _ in heap]


def match_one_side(
    group: Sequence[int], present: Sequence[Sequence[bool]], n_groups: int
) -> tuple[list[list[int]], tuple[int, int, int]]:
    """For each (group, step) the first present series of the "one" side (-1 if none), and
    the first many-to-many conflict found step by step in series order:
    ``(step, earlier series, later series)``, or ``(-1, -1, -1)``."""
    S = len(group)
    T = len(present[0]) if S else 0
    idx = [[-1] * T for _ in range(n_groups)]
    dup = (-1, -1, -1)
    for t in range(T):
        for s in range(S):
            if not present[s][t]:
                continue
            g = group[s]
            if idx[g][t] >= 0:
                if dup[0] < 0:
                    dup = (t, idx[g][t], s)
            else:
                idx[g][t] = s
    return idx, dup


# =====================================================================================
# engine.kernels.quantile (classic histograms)
# =====================================================================================


def _coalesce(buckets: list[list[float]]) -> list[list[float]]:
    out = [list(buckets[0])]
    for ub, cnt in buckets[1:]:
        if ub == out[-1][0]:
            out[-1][1] += cnt
        else:
            out.append([ub, cnt])
    return out


def _ensure_monotonic_and_ignore_small_deltas(
    buckets: list[list[float]], tolerance: float
) -> tuple[float, float, float, bool]:
    min_b, max_b, max_diff, forced = math.inf, -math.inf, 0.0, False
    prev = buckets[0][1]
    for i in range(1, len(buckets)):
        curr = buckets[i][1]
        if curr == prev:
            continue
        if almost_equal(prev, curr, tolerance):
            buckets[i][1] = prev
            continue
        if curr < prev:
            buckets[i][1] = prev
            forced = True
            if buckets[i][0] < min_b:
                min_b = buckets[i][0]
            if buckets[i][0] > max_b:
                max_b = buckets[i][0]
            if prev - curr > max_diff:
                max_diff = prev - curr
            continue
        prev = curr
    return min_b, max_b, max_diff, forced


def _sort_buckets(buckets: list[list[float]]) -> None:
    slices_sort_func(buckets, lambda a, b: a[0] < b[0])


def bucket_quantile(
    q: float, buckets: Sequence[tuple[float, float]]
) -> tuple[float, tuple[float, float, float] | None]:
    """``BucketQuantile`` over ``(upper bound, count)`` pairs in input order.

    Returns the quantile and, when monotonicity had to be forced, ``(lowest forced
    bucket, highest forced bucket, largest decrease)``.
    """
    if math.isnan(q):
        return math.nan, None
    if q < 0:
        return -math.inf, None
    if q > 1:
        return math.inf, None
    bs = [[ub, c] for ub, c in buckets]
    _sort_buckets(bs)
    if not (math.isinf(bs[-1][0]) and bs[-1][0] > 0):
        return math.nan, None
    bs = _coalesce(bs)
    min_b, max_b, max_diff, forced = _ensure_monotonic_and_ignore_small_deltas(bs, 1e-12)
    if len(bs) < 2:
        return math.nan, None
    observations = bs[-1][1]
    if observations == 0:
        return math.nan, None
    fix = (min_b, max_b, max_diff) if forced else None
    rank = q * observations
    b = sort_search(len(bs) - 1, lambda i: bs[i][1] >= rank)
    if b == len(bs) - 1:
        return bs[-2][0], fix
    if b == 0 and bs[0][0] <= 0:
        return bs[0][0], fix
    start, end, count = 0.0, bs[b][0], bs[b][1]
    if b > 0:
        start = bs[b - 1][0]
        count -= bs[b - 1][1]
        rank -= bs[b - 1][1]
    return start + (end - start) * go_div(rank, count), fix


def _interpolate_bucket(v: float, lo: float, hi: float, count: float, rank: float) -> float:
    """``BucketFraction``'s ``interpolateLinearly``: the cumulative count at ``v`` inside
    the bucket ``(lo, hi]`` whose cumulative count is ``count`` (``rank`` below it); a
    bucket with a -Inf lower bound counts whole."""
    if lo == -math.inf:
        return count
    return rank + go_div((count - rank) * (v - lo), hi - lo)


def bucket_fraction(lower: float, upper: float, buckets: Sequence[tuple[float, float]]) -> float:
    """``BucketFraction`` (3.14) over ``(upper bound, count)`` pairs in input order."""
    bs = [[ub, c] for ub, c in buckets]
    _sort_buckets(bs)
    if not (math.isinf(bs[-1][0]) and bs[-1][0] > 0):
        return math.nan
    bs = _coalesce(bs)
    count = bs[-1][1]
    if count == 0 or math.isnan(lower) or math.isnan(upper):
        return math.nan
    if lower >= upper:
        return 0.0
    rank = lower_rank = upper_rank = 0.0
    lower_set = upper_set = False
    lower_bound = 0.0 if bs[0][0] > 0 else -math.inf
    for i, (upper_bound, b_count) in enumerate(bs):
        if i > 0:
            lower_bound = bs[i - 1][0]

        if not lower_set and lower_bound >= lower:
            lower_rank, lower_set = rank, True
        if not upper_set and lower_bound >= upper:
            upper_rank, upper_set = rank, True
        if lower_set and upper_set:
            break
        if not lower_set and lower_bound < lower < upper_bound:
            lower_rank, lower_set = (
                _interpolate_bucket(lower, lower_bound, upper_bound, b_count, rank),
                True,
            )
        if not upper_set and lower_bound < upper < upper_bound:
            upper_rank, upper_set = (
                _interpolate_bucket(upper, lower_bound, upper_bound, b_count, rank),
                True,
            )
        if lower_set and upper_set:
            break
        rank = b_count
    if not lower_set or lower_rank > count:
        lower_rank = count
    if not upper_set or upper_rank > count:
        upper_rank = count
    return go_div(upper_rank - lower_rank, count)


# =====================================================================================
# engine.kernels.extended (anchored / smoothed)
# =====================================================================================


def interpolate(t1: int, v1: float, t2: int, v2: float, t: int, is_counter: bool) -> float:
    """``interpolate(p1, p2, t, isCounter)``: a counter that dropped restarts from 0."""
    if is_counter and v2 < v1:
        v1 = 0.0
    return v1 + go_div((v2 - v1) * float(t - t1), float(t2 - t1))


def extended_rate(
    f: Sequence[Point],
    range_start: int,
    range_end: int,
    smoothed: bool,
    is_counter: bool,
    is_rate: bool,
    range_seconds: float,
) -> float | None:
    """``extendedRate`` over the fetched samples (the range widened by the lookback delta
    on the left, and on the right too when ``smoothed``); None for no output."""
    if not f:
        return None
    last = len(f) - 1
    first = max(0, sort_search(last, lambda i: f[i][0] > range_start) - 1)
    if smoothed:
        last = sort_search(last, lambda i: f[i][0] >= range_end)
    if f[last][0] <= range_start:
        return None
    if smoothed and f[first][0] > range_end:
        return None  # prometheus#18523: every sample is after the range
    if smoothed and f[first][0] < range_start:
        left = interpolate(*f[first], *f[first + 1], range_start, is_counter)
    else:
        left = f[first][1]
    if smoothed and last > 0 and f[last][0] > range_end:
        right = interpolate(*f[last - 1], *f[last], range_end, is_counter)
    else:
        right = f[last][1]
    result = right - left
    if is_counter:
        if f[first][0] <= range_start:
            first += 1
        if f[last][0] >= range_end:
            last -= 1
        correction = 0.0
        prev = left
        for _, v in f[first : last + 1]:
            if v < prev:
                correction += prev
            prev = v
        if right < prev:
            correction += prev
        result += correction
    if is_rate:
        result = go_div(result, range_seconds)
    return result


def smoothed_instant(f: Sequence[Point], at: int) -> float | None:
    """``smoothSeries`` at one step over the samples in ``(at - lookback, at + lookback]``."""
    if not f:
        return None
    i = sort_search(len(f), lambda k: f[k][0] >= at)
    if i < len(f) and f[i][0] == at:
        return f[i][1]
    if 0 < i < len(f):
        return interpolate(*f[i - 1], *f[i], at, False)
    if i > 0:
        return f[i - 1][1]
    return None


# =====================================================================================
# The table: kernel -> reference
# =====================================================================================

#: ``"module.kernel"`` -> its reference. Every public kernel of the tested modules is here
#: (``test_reference_table`` checks it); a kernel whose reference is another kernel's
#: (``extrapolated_rate_fused``, ``extreme_over_time``) maps to the same function.
REFERENCES: dict[str, Callable[..., Any]] = {
    "kahan.kahan_inc": kahan_inc,
    "gosort.go_sort": go_sort,
    "windows.window_bounds": window_bounds,
    "windows.lookback_index": lookback_index,
    "windows.drop_stale": drop_stale,
    "csr.build_csr": build_csr,
    "csr.matrix_points": matrix_points,
    "rate.counter_resets": counter_resets,
    "rate.extrapolated_rate": extrapolated_rate,
    "rate.extrapolated_rate_fused": extrapolated_rate,
    "rate.instant_value": instant_value,
    "over_time.over_time": over_time,
    "over_time.extreme_over_time": over_time,
    "over_time.quantile_sorted": quantile,
    "grouped.aggregate": aggregate,
    "grouped.aggregate_quantile": aggregate_quantile,
    "grouped.select_k": select_k,
    "grouped.match_one_side": match_one_side,
    "quantile.bucket_quantile": bucket_quantile,
    "quantile.bucket_fraction": bucket_fraction,
    "quantile.bucket_groups": slices_sort_func,
    "extended.extended_rate": extended_rate,
    "extended.smoothed_instant": smoothed_instant,
    "extended.interpolate": interpolate,
}
