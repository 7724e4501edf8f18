"""A tiny, independent query engine for testing the promqltest runner.

It understands just enough PromQL to exercise the runner: ``name`` / ``name{l="v", ...}``
selectors (5m lookback, stale markers end a series), ``sel[5m]`` range selectors,
``offset <dur>`` and ``@ <seconds>`` on them, number and string literals, and
``time()``. Selectors whose name starts with ``warn_`` / ``info_`` add an annotation
pointing at the selector; the name ``boom`` raises a ``QueryError``. Histogram samples
are returned through a ``histograms`` attribute on the result.

Subclasses break it in one deliberate way each, to prove the runner's checks catch it.
"""

from __future__ import annotations

import re
from dataclasses import replace

import numpy as np

from engine.errors import ParseError, QueryError
from engine.labels import LabelTable
from engine.promql.nodes import (
    Call,
    Expr,
    MatrixSelector,
    NumberLiteral,
    StringLiteral,
    VectorSelector,
)
from engine.promql.parse import parse_duration
from engine.promqltest.notation import parse_labels
from engine.result import Annotation, Result
from engine.store import Matcher, is_stale

LOOKBACK = 300_000

_SELECTOR = re.compile(
    r"(?P<sel>[a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?)(?:\[(?P<range>[0-9a-z]+)\])?"
    r"(?: offset (?P<offset>[0-9a-z]+))?(?: @ (?P<at>-?[0-9.]+))?"
)


class FakeEngine:
    """The correct baseline (for the little it supports)."""

    def parse(self, text: str) -> Expr:
        t = text.strip()
        if t == "time()":
            return Call(func="time", return_type="scalar")
        if re.fullmatch(r"-?[0-9.]+", t):
            return NumberLiteral(value=float(t))
        if re.fullmatch(r'"[^"]*"', t):
            return StringLiteral(value=t[1:-1])
        m = _SELECTOR.fullmatch(t)
        if not m:
            raise ParseError("unexpected character", 0, text)
        labels = parse_labels(m.group("sel"))
        name = dict(labels).get("__name__", "")
        vs = VectorSelector(
            name=name,
            matchers=tuple(Matcher(k, "=", v) for k, v in labels),
            offset=parse_duration(m.group("offset")) if m.group("offset") else 0,
            at=float(m.group("at")) if m.group("at") else None,
            pos=0,
        )
        if m.group("range"):
            return MatrixSelector(vs=vs, range=parse_duration(m.group("range")))
        return vs

    # ---- queries ---------------------------------------------------------------------------
    def instant(self, store, expr, time_ms, *, text):
        if isinstance(expr, MatrixSelector):
            return self.range_vector(store, expr, time_ms, text)
        kind, rows = self.eval(store, expr, time_ms, text)
        if kind == "string":
            return Result(
                "string",
                LabelTable.empty(0),
                np.zeros(1, np.int64),
                np.array([time_ms]),
                np.zeros(0),
                string=rows,
            )
        if kind == "scalar":
            return _result("scalar", [({}, [(time_ms, rows, None)])], [])
        return _result(
            "vector", [(lab, [(time_ms, v, h)]) for lab, v, h in rows], self.annotations(expr, text)
        )

    def range(self, store, expr, start_ms, end_ms, step_ms, *, text):
        if isinstance(expr, MatrixSelector | StringLiteral):
            kind = "range vector" if isinstance(expr, MatrixSelector) else "string"
            raise QueryError(
                f'invalid expression type "{kind}" for range query, '
                "must be Scalar or instant Vector"
            )
        series: dict[tuple, list] = {}
        for t in range(start_ms, end_ms + 1, step_ms):
            kind, rows = self.eval(store, expr, t, text)
            if kind == "scalar":
                series.setdefault((), []).append((t, rows, None))
                continue
            for lab, v, h in rows:
                series.setdefault(tuple(sorted(lab.items())), []).append((t, v, h))
        ordered = sorted(series.items())
        return self.order(
            _result("matrix", [(dict(k), pts) for k, pts in ordered], self.annotations(expr, text))
        )

    def order(self, result):
        return result

    # ---- evaluation ------------------------------------------------------------------------------
    def annotations(self, expr, text):
        vs = expr.vs if isinstance(expr, MatrixSelector) else expr
        if isinstance(vs, VectorSelector):
            for prefix, severity in (("warn_", "warning"), ("info_", "info")):
                if vs.name.startswith(prefix):
                    return [Annotation(severity, f"odd metric {vs.name!r}", vs.pos, text)]
        return []

    def selector_time(self, vs: VectorSelector, t: int) -> int:
        base = t if vs.at is None else round(float(vs.at) * 1000)
        return base - int(vs.offset)

    def eval(self, store, expr, t, text):
        if isinstance(expr, NumberLiteral):
            return "scalar", expr.value
        if isinstance(expr, StringLiteral):
            return "string", expr.value
        if isinstance(expr, Call) and expr.func == "time":
            return "scalar", t / 1000
        assert isinstance(expr, VectorSelector), expr
        if expr.name == "boom":
            raise QueryError("boom went the query")
        at = self.selector_time(expr, t)
        rows = []
        for sid, lab in self.matching(store, expr):
            pts = self.points(store, sid, at - LOOKBACK, at)
            if pts and not (pts[-1][2] is None and is_stale(np.array([pts[-1][1]]))[0]):
                rows.append((lab, pts[-1][1], pts[-1][2]))
        return "vector", rows

    def matching(self, store, vs):
        for sid in range(store.labels.n):
            lab = store.labels.row(sid)
            if all(m.matches(lab.get(m.name, "")) for m in vs.matchers):
                yield sid, lab

    def points(self, store, sid, lo, hi):
        """(ts, float, histogram) points of a series in ``(lo, hi]``, by time."""
        ts, vals = store.samples.series(sid)
        pts = [(int(a), float(b), None) for a, b in zip(ts, vals, strict=True) if lo < a <= hi]
        hs = store.histograms
        for k in np.flatnonzero(hs.series == sid):
            if lo < hs.ts[k] <= hi:
                pts.append((int(hs.ts[k]), 0.0, hs.values[k]))
        return sorted(pts, key=lambda p: p[0])

    def range_vector(self, store, expr: MatrixSelector, t, text):
        at = self.selector_time(expr.vs, t)
        out = []
        for sid, lab in self.matching(store, expr.vs):
            pts = [
                p
                for p in self.points(store, sid, at - int(expr.range), at)
                if p[2] is not None or not is_stale(np.array([p[1]]))[0]
            ]
            if pts:
                out.append((lab, pts))
        out.sort(key=lambda r: tuple(sorted(r[0].items())))
        return _result("matrix", out, self.annotations(expr, text))


def _result(kind, series, annotations):
    """A Result from ``[(labels, [(ts, value, histogram|None), ...]), ...]``."""
    labels = LabelTable.from_dicts([lab for lab, _ in series])
    offsets = np.zeros(len(series) + 1, np.int64)
    np.cumsum([len(p) for _, p in series], out=offsets[1:])
    pts = [p for _, ps in series for p in ps]
    r = Result(
        kind,
        labels,
        offsets,
        np.array([p[0] for p in pts], np.int64),
        np.array([p[1] for p in pts], np.float64),
        annotations=annotations,
    )
    if any(p[2] is not None for p in pts):
        h = np.empty(len(pts), object)
        h[:] = [p[2] for p in pts]
        r.histograms = h
    return r


# ---- deliberately wrong engines -----------------------------------------------------------------


class RangeModeOffByOne(FakeEngine):
    """Range queries add 1 to every value: only the range-mode check can see it."""

    def range(self, store, expr, start_ms, end_ms, step_ms, *, text):
        r = super().range(store, expr, start_ms, end_ms, step_ms, text=text)
        r.values = r.values + 1
        return r


class UnsortedRange(FakeEngine):
    """Range results come back in reverse label order."""

    def order(self, result):
        n = result.labels.n
        rev = np.arange(n)[::-1]
        lengths = np.diff(result.offsets)[rev]
        offsets = np.zeros(n + 1, np.int64)
        np.cumsum(lengths, out=offsets[1:])
        idx = (
            np.concatenate([np.arange(result.offsets[i], result.offsets[i + 1]) for i in rev])
            if n
            else []
        )
        idx = np.asarray(idx, np.int64)
        return replace(
            result,
            labels=result.labels.take(rev),
            offsets=offsets,
            ts=result.ts[idx],
            values=result.values[idx],
        )


class IgnoresAt(FakeEngine):
    """The ``@`` modifier is ignored: only the @-invariance check can see it."""

    def selector_time(self, vs, t):
        return t - int(vs.offset)


class FailsInRangeMode(FakeEngine):
    """Range queries of selectors fail."""

    def range(self, store, expr, start_ms, end_ms, step_ms, *, text):
        raise QueryError("range queries are broken")
