"""Native histograms as float histograms: the data type, its arithmetic and its test rule.

This is the minimum the promqltest runner needs (the native-histogram issue builds on
it): a :class:`FloatHistogram` mirrors Prometheus' ``histogram.FloatHistogram``
(``model/histogram/float_histogram.go``), with one simplification: buckets are kept as a
mapping *bucket index -> absolute count* instead of spans plus a dense array. A bucket
that is present with count 0 is an explicitly empty bucket (inside a span, upstream); an
absent index is a gap between spans. :meth:`FloatHistogram.spans` recovers upstream's
spans and bucket arrays when they are needed for display.

Bucket ``i`` of an exponential schema ``s`` (``-4 <= s <= 8``) covers
``(2**((i-1) / 2**s), 2**(i / 2**s)]``; negative buckets mirror that below zero. Schema
``-53`` (:data:`CUSTOM_BUCKETS_SCHEMA`) uses ``custom_values`` as upper bounds, the last
bucket reaching ``+Inf``; its buckets are positive only.

>>> a = FloatHistogram(schema=0, count=3, sum=4.0, positive={0: 1.0, 1: 2.0})
>>> b = FloatHistogram(schema=0, count=1, sum=1.0, positive={2: 1.0})
>>> c = a.add(b)
>>> c.count, c.sum, c.positive
(4.0, 5.0, {0: 1.0, 1: 2.0, 2: 1.0})
>>> c.sub(b).compact().positive
{0: 1.0, 1: 2.0}
>>> c.test_expression()
'{{count:4 sum:5 buckets:[1 2 1]}}'
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace

from .almost import almost_equal
from .labels import format_go_float

__all__ = [
    "CUSTOM_BUCKETS_SCHEMA",
    "COUNTER_RESET_HINTS",
    "FloatHistogram",
    "HistogramError",
    "histograms_match",
]

#: Schema number of native histograms with custom bucket bounds (NHCB).
CUSTOM_BUCKETS_SCHEMA = -53
#: Counter-reset hints, in the spelling of the promqltest notation.
COUNTER_RESET_HINTS = ("unknown", "reset", "not_reset", "gauge")


class HistogramError(ValueError):
    """Two histograms that cannot be combined (exponential vs custom buckets, or
    different custom bounds)."""


@dataclass(slots=True)
class FloatHistogram:
    """A native histogram with float counts. Treat instances as immutable: every
    operation returns a new histogram.

    ``positive`` / ``negative`` map bucket indices to absolute counts, sorted by index.
    ``counter_reset_hint`` is one of :data:`COUNTER_RESET_HINTS`.
    """

    schema: int = 0
    sum: float = 0.0
    count: float = 0.0
    zero_threshold: float = 0.0
    zero_count: float = 0.0
    positive: dict[int, float] = field(default_factory=dict)
    negative: dict[int, float] = field(default_factory=dict)
    custom_values: tuple[float, ...] = ()
    counter_reset_hint: str = "unknown"

    def __post_init__(self) -> None:
        if self.counter_reset_hint not in COUNTER_RESET_HINTS:
            raise ValueError(f"unknown counter reset hint {self.counter_reset_hint!r}")
        self.positive = dict(sorted(self.positive.items()))
        self.negative = dict(sorted(self.negative.items()))
        self.custom_values = tuple(float(v) for v in self.custom_values)

    # ---- properties --------------------------------------------------------------------
    @property
    def uses_custom_buckets(self) -> bool:
        return self.schema == CUSTOM_BUCKETS_SCHEMA

    def copy(self) -> FloatHistogram:
        return replace(self, positive=dict(self.positive), negative=dict(self.negative))

    def upper_bound(self, index: int) -> float:
        """Upper bound of positive bucket ``index`` (the negative bucket of the same
        index has the negated bound as its *lower* end)."""
        return _bucket_bound(index, self.schema, self.custom_values)

    # ---- arithmetic ----------------------------------------------------------------------
    def add(self, other: FloatHistogram) -> FloatHistogram:
        """``self + other`` bucket-wise (upstream ``FloatHistogram.Add``).

        Differing zero thresholds are reconciled by widening the smaller zero bucket;
        differing schemas by reducing the finer one to the coarser. The counter-reset
        hint follows upstream: equal hints stay, a gauge on either side wins, then an
        unknown on either side wins, and a reset/not-reset collision gives unknown.
        """
        return self._combine(other, 1.0)

    def sub(self, other: FloatHistogram) -> FloatHistogram:
        """``self - other`` bucket-wise (upstream ``FloatHistogram.Sub``); the hint of
        ``self`` is kept."""
        return self._combine(other, -1.0)

    def compact(self) -> FloatHistogram:
        """A copy without empty buckets (upstream ``Compact(0)``: buckets whose count is
        exactly zero are removed; NaN counts stay)."""
        out = self.copy()
        out.positive = {i: c for i, c in self.positive.items() if c != 0}
        out.negative = {i: c for i, c in self.negative.items() if c != 0}
        return out

    def _combine(self, other: FloatHistogram, sign: float) -> FloatHistogram:
        if self.uses_custom_buckets != other.uses_custom_buckets:
            raise HistogramError(
                "cannot combine a histogram with custom buckets and one with exponential buckets"
            )
        if self.uses_custom_buckets and self.custom_values != other.custom_values:
            raise HistogramError("cannot combine histograms with different custom bucket bounds")
        h = self.copy()
        if sign > 0:
            h.counter_reset_hint = _added_hint(self.counter_reset_hint, other.counter_reset_hint)
        if h.uses_custom_buckets:
            h.count += sign * other.count
            h.sum += sign * other.sum
            h.positive = _merge_buckets(h.positive, other.positive, sign, None)
            return h
        other_zero_count = h._reconcile_zero_buckets(other)
        h.zero_count += sign * other_zero_count
        h.count += sign * other.count
        h.sum += sign * other.sum
        target = min(h.schema, other.schema)
        mine_pos = _reduce_resolution(h.positive, h.schema, target)
        mine_neg = _reduce_resolution(h.negative, h.schema, target)
        theirs_pos = _reduce_resolution(other.positive, other.schema, target)
        theirs_neg = _reduce_resolution(other.negative, other.schema, target)
        h.schema = target
        threshold = h.zero_threshold

        def inside_zero_bucket(index: int) -> bool:
            return _bucket_bound(index, target, ()) <= threshold

        h.positive = _merge_buckets(mine_pos, theirs_pos, sign, inside_zero_bucket)
        h.negative = _merge_buckets(mine_neg, theirs_neg, sign, inside_zero_bucket)
        return h

    def _reconcile_zero_buckets(self, other: FloatHistogram) -> float:
        """Make ``self`` and ``other`` agree on one zero threshold (the larger one, widened
        further when it falls inside a populated bucket). Mutates ``self`` (a private
        copy) and returns ``other``'s zero count for the agreed threshold."""
        other_count, other_threshold = other.zero_count, other.zero_threshold
        while other_threshold != self.zero_threshold:
            if self.zero_threshold > other_threshold:
                other_count, other_threshold = other._zero_count_for(self.zero_threshold)
            if other_threshold > self.zero_threshold:
                self.zero_count, self.zero_threshold = self._zero_count_for(other_threshold)
                self._trim_buckets_in_zero_bucket()
        return other_count

    def _zero_count_for(self, threshold: float) -> tuple[float, float]:
        """Zero count if the zero bucket were widened to ``threshold``, and the threshold
        actually needed (the upper bound of a populated bucket it falls into)."""
        while True:
            count = self.zero_count
            restart = False
            for index, c in self.positive.items():
                lower = self.upper_bound(index - 1)
                if lower >= threshold:
                    break
                count += c
                upper = self.upper_bound(index)
                if upper > threshold:
                    if c != 0:
                        threshold = upper
                    break
            for index, c in self.negative.items():
                lower = self.upper_bound(index - 1)
                if lower >= threshold:
                    break
                count += c
                upper = self.upper_bound(index)
                if upper > threshold:
                    if c != 0:
                        threshold = upper
                        restart = True
                    break
            if not restart:
                return count, threshold

    def _trim_buckets_in_zero_bucket(self) -> None:
        t = self.zero_threshold
        self.positive = {
            i: c for i, c in self.positive.items() if self.upper_bound(i - 1) >= t and c != 0
        }
        self.negative = {
            i: c for i, c in self.negative.items() if self.upper_bound(i - 1) >= t and c != 0
        }

    # ---- display ---------------------------------------------------------------------------
    def spans(self, positive: bool = True) -> tuple[list[tuple[int, int]], list[float]]:
        """Upstream's ``(spans, buckets)``: spans as ``(offset, length)``, the first offset
        absolute and later ones relative to the end of the previous span.

        >>> FloatHistogram(positive={-1: 1.0, 0: 2.0, 3: 4.0}).spans()
        ([(-1, 2), (2, 1)], [1.0, 2.0, 4.0])
        """
        buckets = self.positive if positive else self.negative
        spans: list[tuple[int, int]] = []
        counts: list[float] = []
        prev_end: int | None = None
        for index, c in buckets.items():
            if prev_end is not None and index == prev_end:
                off, length = spans[-1]
                spans[-1] = (off, length + 1)
            else:
                spans.append((index if prev_end is None else index - prev_end, 1))
            prev_end = index + 1
            counts.append(c)
        return spans, counts

    def test_expression(self) -> str:
        """The histogram in promqltest notation (gaps between spans written as zeros)."""
        parts: list[str] = []
        if self.schema != 0:
            parts.append(f"schema:{self.schema}")
        parts.append(f"count:{_fmt(self.count)}")
        parts.append(f"sum:{_fmt(self.sum)}")
        if self.zero_count != 0:
            parts.append(f"z_bucket:{_fmt(self.zero_count)}")
        if self.zero_threshold != 0:
            parts.append(f"z_bucket_w:{_fmt(self.zero_threshold)}")
        if self.uses_custom_buckets and self.custom_values:
            parts.append(f"custom_values:[{' '.join(_fmt(v) for v in self.custom_values)}]")
        for prefix, buckets in (("", self.positive), ("n_", self.negative)):
            if not buckets:
                continue
            first, last = min(buckets), max(buckets)
            if first != 0:
                parts.append(f"{prefix}offset:{first}")
            dense = " ".join(_fmt(buckets.get(i, 0.0)) for i in range(first, last + 1))
            parts.append(f"{prefix}buckets:[{dense}]")
        if self.counter_reset_hint != "unknown":
            parts.append(f"counter_reset_hint:{self.counter_reset_hint}")
        return "{{" + " ".join(parts) + "}}"

    def __str__(self) -> str:
        return self.test_expression()


def histograms_match(
    expected: FloatHistogram,
    got: FloatHistogram,
    *,
    compare_hint: bool = False,
    equal: Callable[[float, float], bool] = almost_equal,
) -> bool:
    """The promqltest rule for native histograms (``compareNativeHistogram``).

    Both sides are compacted first. Then the schema must be equal; count, sum and zero
    count are compared with ``equal`` (the float rule); the zero threshold must be
    exactly equal; custom bounds must be equal for schema -53; the populated bucket
    indices must be the same on both sides and their counts equal by ``equal``. The
    counter-reset hint is compared only when ``compare_hint`` (the expected histogram
    spelled one out).

    >>> e = FloatHistogram(count=2, sum=3, positive={0: 1, 1: 1, 2: 0})
    >>> histograms_match(e, FloatHistogram(count=2, sum=3.0000001, positive={0: 1, 1: 1}))
    True
    >>> histograms_match(e, FloatHistogram(count=2, sum=3, positive={1: 1, 2: 1}))
    False
    """
    exp, cur = expected.compact(), got.compact()
    if exp.schema != cur.schema:
        return False
    if not (equal(exp.count, cur.count) and equal(exp.sum, cur.sum)):
        return False
    if exp.uses_custom_buckets and exp.custom_values != cur.custom_values:
        return False
    if exp.zero_threshold != cur.zero_threshold or not equal(exp.zero_count, cur.zero_count):
        return False
    for a, b in ((exp.negative, cur.negative), (exp.positive, cur.positive)):
        if list(a) != list(b):
            return False
        if not all(equal(a[i], b[i]) for i in a):
            return False
    return not compare_hint or exp.counter_reset_hint == cur.counter_reset_hint


# ---- helpers ---------------------------------------------------------------------------------


def _fmt(v: float) -> str:
    return format_go_float(float(v))


def _added_hint(mine: str, theirs: str) -> str:
    if mine == theirs or mine == "gauge":
        return mine
    if theirs == "gauge":
        return "gauge"
    return "unknown"


def _bucket_bound(index: int, schema: int, custom_values: tuple[float, ...]) -> float:
    """Upper bound of bucket ``index``: custom bounds, or ``2**(index / 2**schema)``.

    For positive schemas this computes the power directly where upstream reads a table of
    correctly rounded constants; the two can differ in the last bit, which only matters
    when zero thresholds are reconciled at exactly such a bound.
    """
    if schema == CUSTOM_BUCKETS_SCHEMA:
        if index < 0:
            return -math.inf
        return custom_values[index] if index < len(custom_values) else math.inf
    if schema <= 0:
        try:
            return math.ldexp(1.0, index << -schema)
        except OverflowError:
            return math.inf
    frac, whole = index & ((1 << schema) - 1), index >> schema
    try:
        return math.ldexp(2.0 ** (frac / (1 << schema)), whole)
    except OverflowError:
        return math.inf


def _reduce_resolution(buckets: Mapping[int, float], schema: int, target: int) -> dict[int, float]:
    """Merge buckets of ``schema`` into the coarser ``target`` schema."""
    if schema == target:
        return dict(buckets)
    shift = schema - target
    out: dict[int, float] = {}
    for index, c in buckets.items():
        j = ((index - 1) >> shift) + 1
        out[j] = out.get(j, 0.0) + c
    return out


def _merge_buckets(
    mine: Mapping[int, float],
    theirs: Mapping[int, float],
    sign: float,
    skip: Callable[[int], bool] | None,
) -> dict[int, float]:
    out = dict(mine)
    for index, c in theirs.items():
        if skip is not None and skip(index):
            continue
        if index in out:
            out[index] = out[index] + c if sign > 0 else out[index] - c
        else:
            out[index] = c if sign > 0 else -c
    return dict(sorted(out.items()))
