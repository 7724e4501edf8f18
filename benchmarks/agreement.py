"""Does promreplay's answer to a benchmark query equal Prometheus 2.42's?

The comparison is the differential test's (``tests/crosscheck.py``): same series, same
timestamps, values within a relative 1e-12. The known differences between 2.42 and 3.x
are avoided the same way:

- closed vs left-open windows, and ``le`` normalisation: by the data and the grid (no
  sample on a whole second, every evaluation time 7 s past a minute; ``le`` written
  normalised in the OpenMetrics view), see :mod:`queries`;
- ``topk`` ties: compared with :func:`~tests.crosscheck.compare_ranked`;
- ``rate`` extrapolation when a series starts (or returns after a gap) inside the
  window: the medium set, unlike the differential test's data, has series that appear
  (new response codes, replaced pods), so the points that may differ are computed with
  :func:`~tests.crosscheck.extrapolation_rules_differ` on every raw series the query's
  ``rate`` reads, mapped to the output series through the query's ``group_by`` labels,
  and left out of the comparison. How many were left out is reported: a handful among
  thousands.

Every other point must agree: a fast wrong answer is a failure.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from queries import BenchQuery  # noqa: E402

from tests.crosscheck import (  # noqa: E402
    Answer,
    LabelKey,
    compare_answers,
    compare_ranked,
    extrapolation_rules_differ,
)

__all__ = ["Agreement", "agree", "old_rate_points"]

_RATES = ("rate", "increase", "delta")


@dataclass
class Agreement:
    """The outcome of one comparison: ``problems`` is empty when the answers agree."""

    problems: list[str]
    compared_points: int
    left_out_points: int
    series: int
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def old_rate_points(
    db: Any, q: BenchQuery, times_ms: np.ndarray, interval_ms: int
) -> set[tuple[LabelKey, int]]:
    """The ``(output label key, ms)`` points of ``q`` at ``times_ms`` where a ``rate``
    window of some raw series it reads is extrapolated differently by 2.42 and 3.x.

    A window can only differ when its first sample starts the series or follows a gap
    (more than 1.05 scrape intervals): only those samples are examined, as in the
    differential test's guard.
    """
    if q.group_by is None:
        return set()
    from engine.promql import nodes as N
    from engine.promql.parse import parse_expr
    from engine.store import is_stale

    lo, hi = int(times_ms.min()), int(times_ms.max())
    out: set[tuple[LabelKey, int]] = set()
    for n in N.walk(parse_expr(q.expr)):
        is_rate = isinstance(n, N.Call) and n.func in _RATES
        if not (is_rate and isinstance(n.args[0], N.MatrixSelector)):
            continue
        ms = n.args[0]
        range_ms, offset = int(ms.range), int(ms.vs.offset)
        for i in db.match(list(ms.vs.matchers)).tolist():
            ts, vs = db.samples.series(i)
            keep = ~is_stale(vs)
            ts, vs = ts[keep], vs[keep]
            if len(ts) < 2:
                continue
            firsts = [0, *(np.flatnonzero(np.diff(ts) > 1.05 * interval_ms) + 1).tolist()]
            hits = [
                extrapolation_rules_differ(ts, vs, f, range_ms, lo - offset, hi - offset)
                for f in firsts
            ]
            when = np.intersect1d(np.concatenate(hits) + offset, times_ms)
            if len(when):
                labels = db.labels.row(i)
                key = tuple(sorted((k, labels[k]) for k in q.group_by if labels.get(k)))
                out.update((key, t) for t in when.tolist())
    return out


def agree(
    q: BenchQuery,
    prometheus: dict[str, Any],
    ours: dict[str, Any],
    left_out: set[tuple[LabelKey, int]],
) -> Agreement:
    """Compare Prometheus' API ``data`` with ours for query ``q``, leaving out the
    points in ``left_out``."""
    expected, got = Answer.parse(prometheus), Answer.parse(ours)
    total = expected.points()
    expected, got = expected.without(left_out), got.without(left_out)
    compare = compare_ranked if q.ranked else compare_answers
    problems = compare(expected, got)
    if not problems and expected.points() == 0:
        problems = ["Prometheus' answer is empty: the comparison proves nothing"]
    notes = ["topk compared by value at each step (ties may keep other series)"] if q.ranked else []
    return Agreement(problems, expected.points(), total - expected.points(), len(expected), notes)
