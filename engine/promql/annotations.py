"""PromQL warnings and infos, with Prometheus' message text (``util/annotations``).

Each constructor returns an :class:`~engine.result.Annotation` without the query text;
the evaluator attaches the text so ``str()`` can print the ``(line:col)`` suffix.
Annotations are de-duplicated by message, as Prometheus does.

>>> possible_non_counter("http_requests", 5).message
'metric might not be a counter, name does not end in _total/_sum/_count/_bucket: "http_requests"'
"""

from __future__ import annotations

import numpy as np

from ..gostrconv import quote
from ..labels import format_go_float
from ..result import Annotation

WARNING = "warning"
INFO = "info"


def _q(s: str) -> str:
    """Go's ``%q``."""
    return quote(s)


def _g(v: float) -> str:
    """Go's ``%g`` (shortest)."""
    return format_go_float(v, "g")


def _with_metric(msg: str, metric: str) -> str:
    return f"{msg} for metric name {_q(metric)}" if metric else msg


def invalid_quantile(q: float, pos: int) -> Annotation:
    return Annotation(WARNING, f"quantile value should be between 0 and 1, got {_g(q)}", pos)


def invalid_ratio(r: float, to: float, pos: int) -> Annotation:
    return Annotation(
        WARNING, f"ratio value should be between -1 and 1, got {_g(r)}, capping to {_g(to)}", pos
    )


def bad_bucket_label(metric: str, value: str, pos: int) -> Annotation:
    msg = f'bucket label "le" is missing or has a malformed value of {_q(value)}'
    return Annotation(WARNING, _with_metric(msg, metric), pos)


def mixed_floats_histograms(metric: str, pos: int) -> Annotation:
    return Annotation(
        WARNING, f"encountered a mix of histograms and floats for metric name {_q(metric)}", pos
    )


def mixed_floats_histograms_agg(pos: int) -> Annotation:
    return Annotation(WARNING, "encountered a mix of histograms and floats for aggregation", pos)


def mixed_classic_native(metric: str, pos: int) -> Annotation:
    return Annotation(
        WARNING, _with_metric("vector contains a mix of classic and native histograms", metric), pos
    )


def possible_non_counter(metric: str, pos: int) -> Annotation:
    return Annotation(
        INFO,
        "metric might not be a counter, name does not end in _total/_sum/_count/_bucket: "
        + _q(metric),
        pos,
    )


def possible_non_counter_label(metric: str, type_label: str, pos: int) -> Annotation:
    return Annotation(
        INFO,
        'metric might not be a counter, __type__ label is not set to "counter" or "histogram", '
        f"got {_q(type_label)}: {_q(metric)}",
        pos,
    )


FORCED_MONOTONICITY = (
    "input to histogram_quantile needed to be fixed for monotonicity (see "
    "https://prometheus.io/docs/prometheus/latest/querying/functions/#histogram_quantile)"
)


class MonotonicityFixes:
    """The "needed to be fixed for monotonicity" info, which Prometheus 3.14 accumulates
    over every (bucket group, step) it happens at, per metric name: the range of steps,
    the lowest and highest forced bucket, the largest decrease and how many times.

    >>> f = MonotonicityFixes()
    >>> f.add("", 20, np.array([60_000, 120_000]), np.array([1.0, 10.0]),
    ...       np.array([100.0, 10.0]), np.array([0.5, 2.0]))
    >>> print(f.annotations()[0].message)  # doctest: +NORMALIZE_WHITESPACE
    input to histogram_quantile needed to be fixed for monotonicity (see
    https://prometheus.io/docs/prometheus/latest/querying/functions/#histogram_quantile),
    from buckets 1 to 100, with a max diff of 2, over 2 samples from
    1970-01-01T00:01:00Z to 1970-01-01T00:02:00Z
    """

    def __init__(self) -> None:
        self._by_metric: dict[str, list] = {}

    def add(
        self,
        metric: str,
        pos: int,
        ts: np.ndarray,
        lo: np.ndarray,
        hi: np.ndarray,
        diff: np.ndarray,
    ) -> None:
        if len(ts) == 0:
            return
        cur = self._by_metric.get(metric)
        new = [
            pos,
            int(ts.min()),
            int(ts.max()),
            float(lo.min()),
            float(hi.max()),
            float(diff.max()),
            len(ts),
        ]
        if cur is None:
            self._by_metric[metric] = new
        else:
            cur[1], cur[2] = min(cur[1], new[1]), max(cur[2], new[2])
            cur[3], cur[4], cur[5] = min(cur[3], new[3]), max(cur[4], new[4]), max(cur[5], new[5])
            cur[6] += new[6]

    def annotations(self) -> list[Annotation]:
        out = []
        for metric, (pos, t0, t1, lo, hi, diff, n) in self._by_metric.items():
            msg = (
                f"{_with_metric(FORCED_MONOTONICITY, metric)}, from buckets {_g(lo)} to {_g(hi)}, "
                f"with a max diff of {format(diff, '.2g')}, over {n} samples from {_rfc3339(t0)} "
                f"to {_rfc3339(t1)}"
            )
            out.append(Annotation(INFO, msg, pos))
        return out


def _rfc3339(ms: int) -> str:
    """Go's ``time.Unix(ms/1000, 0).UTC().Format(time.RFC3339)`` (division truncates)."""
    import datetime

    secs = int(ms / 1000)
    return datetime.datetime.fromtimestamp(secs, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def histogram_ignored_in_aggregation(aggregation: str, pos: int) -> Annotation:
    return Annotation(INFO, f"ignored histogram in {aggregation} aggregation", pos)


def histogram_ignored_in_mixed_range(metric: str, pos: int) -> Annotation:
    return Annotation(
        INFO,
        "ignored histograms in a range containing both floats and histograms for metric name "
        + _q(metric),
        pos,
    )


def sort_in_range_query(pos: int) -> Annotation:
    return Annotation(
        WARNING,
        "sort is ineffective for range queries since results are always ordered by labels",
        pos,
    )


def incompatible_types_in_binop(lhs_type: str, op: str, rhs_type: str, pos: int) -> Annotation:
    return Annotation(
        INFO,
        f"incompatible sample types encountered for binary operator {_q(op)}: "
        f"{lhs_type} {op} {rhs_type}",
        pos,
    )
