"""Cross-checking our answers against Prometheus' own, shared by the differential test
(``tests/promql/test_differential.py``) and the side-by-side benchmark
(``benchmarks/compare.py``): one place for how two answers are compared and for where the
2.42 oracle may legitimately differ from 3.x.

- :class:`Answer` parses an HTTP API ``data`` object (Prometheus' JSON or ours, from
  :meth:`engine.result.Result.to_prometheus_json`);
- :func:`compare_answers` lists what differs: result type, series sets, timestamps, values
  beyond a relative :data:`REL_TOL` (NaN equals NaN; zero and infinities exactly) and,
  for ``sort*``, the order; :func:`compare_ranked` does the same for ``topk`` results,
  where ties may keep different series; :meth:`Answer.without` leaves points out;
- :func:`extrapolation_rules_differ` finds the ``rate``/``increase`` windows where 2.42's
  and 3.x's start-side extrapolation give different results (a series that starts, or
  comes back after a gap, inside the window).

Importable as ``crosscheck`` by tests (``tests/`` is on ``sys.path``) and as
``tests.crosscheck`` by benchmarks (with the repository root on ``sys.path``).

>>> one = {"resultType": "vector", "result": [{"metric": {"a": "1"}, "value": [1, "2"]}]}
>>> none = {"resultType": "vector", "result": []}
>>> compare_answers(Answer.parse(one), Answer.parse(one)), compare_answers(
...     Answer.parse(one), Answer.parse(none))
([], ['only Prometheus has {a="1"}'])
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "REL_TOL",
    "Answer",
    "LabelKey",
    "compare_answers",
    "compare_ranked",
    "extrapolation_rules_differ",
    "fmt_labels",
    "values_close",
]

#: Values must agree to this relative difference (NaN == NaN; 0 and ±Inf exactly): the
#: issue's bound. Both engines compute in float64; where they sum in a different order
#: (Kahan in 3.x), the results differ in the last bit or two, far below it.
REL_TOL = 1e-12

LabelKey = tuple[tuple[str, str], ...]


@dataclass
class Answer:
    """An API ``data`` object, parsed: the result type, the string of a string result, and
    per series (in answer order) its label key and its ``(ms, value)`` points."""

    type: str
    series: list[tuple[LabelKey, list[tuple[int, float]]]]
    string: str | None = None

    @classmethod
    def parse(cls, data: dict[str, Any]) -> Answer:
        t, result = data["resultType"], data["result"]
        if t == "string":
            return cls(t, [((), [(_ms(result[0]), 0.0)])], string=result[1])
        if t == "scalar":
            return cls(t, [((), [(_ms(result[0]), float(result[1]))])])
        out = []
        for s in result:
            points = s["values"] if t == "matrix" else [s["value"]]
            key = tuple(sorted(s["metric"].items()))
            out.append((key, [(_ms(ts), float(v)) for ts, v in points]))
        return cls(t, out)

    def __len__(self) -> int:
        return len(self.series)

    def points(self) -> int:
        """Number of ``(series, time)`` points."""
        return sum(len(p) for _, p in self.series)

    def without(self, points: set[tuple[LabelKey, int]]) -> Answer:
        """The answer without the ``(label key, ms)`` points in ``points``; a series
        left with no point goes too.

        >>> a = Answer("matrix", [((("a", "1"),), [(1000, 1.0), (2000, 2.0)]), ((), [(1000, 3.0)])])
        >>> a.without({((("a", "1"),), 1000), ((), 1000)}).series
        [((('a', '1'),), [(2000, 2.0)])]
        """
        if not points:
            return self
        out = []
        for key, pts in self.series:
            kept = [(t, v) for t, v in pts if (key, t) not in points]
            if kept:
                out.append((key, kept))
        return Answer(self.type, out, self.string)


def _ms(t: float | int | str) -> int:
    return round(float(t) * 1000)


def values_close(a: float, b: float, rel_tol: float = REL_TOL) -> bool:
    """NaN equals NaN; zero and infinities must be equal; otherwise a relative bound.

    >>> values_close(1.0, 1.0 + 1e-15), values_close(1.0, 1.0 + 1e-9), values_close(0.0, 1e-300)
    (True, False, False)
    >>> values_close(float("nan"), float("nan")), values_close(float("inf"), 1e308)
    (True, False)
    """
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    if a == b:
        return True
    if a == 0 or b == 0 or math.isinf(a) or math.isinf(b):
        return False
    return abs(a - b) <= rel_tol * max(abs(a), abs(b))


def compare_answers(
    expected: Answer,
    got: Answer,
    *,
    ordered: bool = False,
    rel_tol: float = REL_TOL,
    limit: int = 5,
) -> list[str]:
    """What differs between Prometheus' answer and ours (empty when they agree), at most
    ``limit`` lines per kind of difference."""
    problems: list[str] = []
    if expected.type != got.type:
        return [f"result type: Prometheus {expected.type}, ours {got.type}"]
    if expected.string != got.string:
        return [f"string: Prometheus {expected.string!r}, ours {got.string!r}"]
    exp, ours = dict(expected.series), dict(got.series)
    if len(exp) != len(expected.series) or len(ours) != len(got.series):
        problems.append("an answer holds the same label set twice")
    for name, missing in (
        ("only Prometheus has", exp.keys() - ours.keys()),
        ("only ours has", ours.keys() - exp.keys()),
    ):
        for key in sorted(missing)[:limit]:
            problems.append(f"{name} {fmt_labels(key)}")
        if len(missing) > limit:
            problems.append(f"... and {len(missing) - limit} more series {name.split()[0]}")
    bad: list[str] = []
    for key in sorted(exp.keys() & ours.keys()):
        a, b = exp[key], ours[key]
        if [t for t, _ in a] != [t for t, _ in b]:
            problems.append(
                f"timestamps of {fmt_labels(key)}: Prometheus {_fmt_times(a)}, ours {_fmt_times(b)}"
            )
            continue
        for (t, va), (_, vb) in zip(a, b, strict=True):
            if not values_close(va, vb, rel_tol):
                bad.append(f"{fmt_labels(key)} at {t / 1000:.3f}: Prometheus {va!r}, ours {vb!r}")
    problems += bad[:limit]
    if len(bad) > limit:
        problems.append(f"... {len(bad)} values differ in all")
    if ordered and not problems:
        ve = [s[1][0][1] for s in expected.series]
        vg = [s[1][0][1] for s in got.series]
        if len(ve) != len(vg) or not all(map(values_close, ve, vg)):
            problems.append(f"order of values: Prometheus {ve}, ours {vg}")
    return problems


def compare_ranked(
    expected: Answer, got: Answer, *, rel_tol: float = REL_TOL, limit: int = 5
) -> list[str]:
    """:func:`compare_answers` for ``topk``/``bottomk`` results, where equal values may
    be kept from different series (each engine breaks ties in its own series order): at
    each timestamp, both answers must hold the same values (as sorted lists, within
    ``rel_tol``), and every series present in both at that time must have the same value.

    >>> def vec(*pairs):
    ...     return Answer("vector", [((("s", s),), [(0, v)]) for s, v in pairs])
    >>> compare_ranked(vec(("a", 5.0), ("b", 3.0)), vec(("a", 5.0), ("c", 3.0)))
    []
    >>> compare_ranked(vec(("a", 5.0), ("b", 3.0)), vec(("a", 5.0), ("c", 2.0)))
    ['values at 0.000: Prometheus [3.0, 5.0], ours [2.0, 5.0]']
    """
    if expected.type != got.type:
        return [f"result type: Prometheus {expected.type}, ours {got.type}"]
    by_time: dict[int, tuple[list[float], list[float]]] = {}
    for side, answer in enumerate((expected, got)):
        for _, pts in answer.series:
            for t, v in pts:
                by_time.setdefault(t, ([], []))[side].append(v)
    problems = []
    for t in sorted(by_time):
        e, g = (sorted(vs, key=_sort_key) for vs in by_time[t])
        if len(e) != len(g) or not all(map(values_close, e, g, [rel_tol] * len(e))):
            problems.append(f"values at {t / 1000:.3f}: Prometheus {e}, ours {g}")
    exp = {(key, t): v for key, pts in expected.series for t, v in pts}
    for key, pts in got.series:
        for t, v in pts:
            if (key, t) in exp and not values_close(exp[key, t], v, rel_tol):
                problems.append(
                    f"{fmt_labels(key)} at {t / 1000:.3f}: Prometheus {exp[key, t]!r}, ours {v!r}"
                )
    if len(problems) > limit:
        problems = problems[:limit] + [f"... {len(problems)} differences in all"]
    return problems


def _sort_key(v: float) -> tuple[bool, float]:
    return (math.isnan(v), 0.0 if math.isnan(v) else v)


def fmt_labels(key: LabelKey) -> str:
    return "{" + ", ".join(f'{k}="{v}"' for k, v in key) + "}"


def _fmt_times(points: list[tuple[int, float]]) -> str:
    ts = [t for t, _ in points]
    return f"{len(ts)} points {ts[:3]}..." if len(ts) > 3 else str(ts)


def extrapolation_rules_differ(
    ts: np.ndarray, vs: np.ndarray, first: int, range_ms: int, lo_ms: int, hi_ms: int
) -> np.ndarray:
    """Window ends ``t`` (whole seconds in ``[lo_ms, hi_ms]``) whose window ``(t - r, t]``
    starts with sample ``first`` and where 2.42's and 3.x's start-side extrapolation of
    ``rate``/``increase`` differ.

    Both rules as functions.go has them (``extrapolatedRate``): ``ds`` is the gap from the
    window start to the first sample, ``avg`` the average interval, ``dz`` the duration to
    the counter's zero point. 2.42: ``ds = min(ds, dz)``, then ``ds`` if ``ds < 1.1 avg``
    else ``avg / 2``. 3.x: ``ds`` if ``ds < 1.1 avg`` else ``avg / 2``, then ``min(.., dz)``.
    """
    prev = int(ts[first - 1]) if first > 0 else int(ts[first]) - range_ms - 1000
    # (t - r, t] starts with sample `first` iff prev <= t - r < ts[first], and holds it
    t_lo = max(prev + range_ms, int(ts[first]), lo_ms)
    t_hi = min(int(ts[first]) + range_ms, hi_ms + 1)
    t = np.arange(-(-t_lo // 1000) * 1000, t_hi, 1000, dtype=np.int64)
    last = np.searchsorted(ts, t, "right") - 1
    keep = last > first  # at least two samples
    t, last = t[keep], last[keep]
    if not len(t):
        return t
    # the increase, with the value before each counter reset added back
    resets = np.concatenate([[0.0], np.cumsum(np.where(np.diff(vs) < 0, vs[:-1], 0.0))])
    result = vs[last] - vs[first] + resets[last] - resets[first]
    ds = (ts[first] - (t - range_ms)) / 1000
    sampled = (ts[last] - ts[first]) / 1000
    avg = sampled / (last - first)
    with np.errstate(divide="ignore", invalid="ignore"):
        dz = np.where((result > 0) & (vs[first] >= 0), sampled * vs[first] / result, np.inf)
    old = np.minimum(ds, dz)
    old = np.where(old < 1.1 * avg, old, avg / 2)
    new = np.minimum(np.where(ds < 1.1 * avg, ds, avg / 2), dz)
    return t[old != new]
