"""Instant and range queries: one evaluation of each node over the whole step grid.

``eval(node, times)`` evaluates a node at an array of step times (ms) and returns a
:mod:`~engine.promql.values` value. An instant query is a grid of one step. Modifiers
change the times a subtree sees: ``offset`` and ``@`` shift a selector's effective
times (``@`` makes them constant), and a subquery evaluates its inner expression once,
on the epoch-aligned grid that covers every outer step's window.

>>> from engine.store import StoreBuilder
>>> b = StoreBuilder()
>>> i = b.series_id((("__name__", "x"), ("job", "a")))
>>> b.append(np.full(3, i), np.array([0, 60_000, 120_000]), np.array([1.0, 2.0, 4.0]))
>>> db = b.finish()
>>> r = instant_query(db, "x * 2", 120_000)
>>> r.series()[0][0], r.values.tolist()
({'job': 'a'}, [8.0])
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

from ..errors import QueryError, TooManySamplesError
from ..kernels.csr import matrix_points
from ..labels import LabelTable
from ..result import Annotation, Result
from . import nodes as N
from .annotations import MonotonicityFixes
from .select import select_instant, select_range, select_smoothed, view_of
from .values import METADATA_LABELS, Matrix, Scalar, String, Vector, collate

if TYPE_CHECKING:
    from ..store import Store

__all__ = ["QueryOptions", "instant_query", "range_query", "Evaluator"]

MAX_STEPS = 1_000_000


@dataclass(frozen=True)
class QueryOptions:
    """Engine settings. The defaults are those of a Prometheus 3.14 server.

    - ``lookback_delta_ms``: how far back an instant selector looks (5m).
    - ``max_samples``: the most samples a query may hold at once (Prometheus'
      ``--query.max-samples``, 50M); more fails with Prometheus' error.
    - ``delayed_name_removal``: drop ``__name__`` only at the end of evaluation
      (the ``promql-delayed-name-removal`` feature; the promqltest runner turns it on).
    - ``experimental``: experimental functions and syntax.
    - ``default_subquery_step_ms``: the step of ``x[10m:]`` (a server uses its global
      evaluation interval, 1m).
    - ``threads``: cores the range-vector kernels may use (1: the calling thread only).
      Results are the same for any value; large queries run faster with more.
    """

    lookback_delta_ms: int = 300_000
    max_samples: int = 50_000_000
    delayed_name_removal: bool = False
    experimental: bool = False
    default_subquery_step_ms: int = 60_000
    threads: int = 1


def go_round(x: float) -> int:
    """Go's ``math.Round``: half away from zero."""
    return int(math.floor(abs(x) + 0.5)) * (1 if x >= 0 else -1)


def _parse(expr: str | N.Expr, options: QueryOptions) -> tuple[N.Expr, str]:
    if isinstance(expr, N.Expr):
        return expr, str(expr)
    from .parse import parse_expr

    return parse_expr(expr, experimental=options.experimental), expr


def instant_query(
    store: Store,
    expr: str | N.Expr,
    time_ms: int,
    options: QueryOptions | None = None,
    text: str | None = None,
) -> Result:
    """Evaluate ``expr`` at one instant (ms since the epoch)."""
    options = options or QueryOptions()
    node, src = _parse(expr, options)
    ev = Evaluator(store, options, int(time_ms), int(time_ms), 0, text or src)
    return ev.run(node)


def range_query(
    store: Store,
    expr: str | N.Expr,
    start_ms: int,
    end_ms: int,
    step_ms: int,
    options: QueryOptions | None = None,
    text: str | None = None,
) -> Result:
    """Evaluate ``expr`` at ``start, start+step, ... <= end`` (ms since the epoch)."""
    options = options or QueryOptions()
    if step_ms <= 0:
        raise QueryError(
            "zero or negative query resolution step widths are not accepted. Try a positive integer"
        )
    if end_ms < start_ms:
        raise QueryError("end timestamp must not be before start time")
    if (end_ms - start_ms) // step_ms + 1 > MAX_STEPS:
        raise QueryError(f"a range query may have at most {MAX_STEPS} steps; increase the step")
    node, src = _parse(expr, options)
    if node.type not in (N.ValueType.VECTOR, N.ValueType.SCALAR):
        kind = {"matrix": "range vector", "string": "string"}.get(node.type, node.type)
        raise QueryError(
            f'invalid expression type "{kind}" for range query, must be Scalar or instant Vector'
        )
    ev = Evaluator(store, options, int(start_ms), int(end_ms), int(step_ms), text or src)
    return ev.run(node)


class Evaluator:
    """Evaluates one query. ``start``/``end``/``step`` are those of the query (step 0 for
    an instant query); ``text`` is the query text annotations point into."""

    def __init__(
        self, store: Store, options: QueryOptions, start: int, end: int, step: int, text: str
    ):
        self.view = view_of(store)
        self.options = options
        self.start = start
        self.end = end
        self.step = step
        self.text = text
        self.delayed = options.delayed_name_removal
        self._annotations: dict[str, Annotation] = {}
        self.monotonicity = MonotonicityFixes()

    # ---- bookkeeping ------------------------------------------------------------------
    def annotate(self, a: Annotation) -> None:
        self._annotations.setdefault(a.message, replace(a, expr=self.text))

    def check_samples(self, n: int) -> None:
        if n > self.options.max_samples:
            raise TooManySamplesError()

    def check_windows(self, m: Matrix, present: np.ndarray) -> None:
        """The sample limit for a function over a range selector, counted as Prometheus
        counts it: series by series, the points already output for earlier series plus
        the current window's samples (loaded one by one), and at each series' end its
        own points too (``present``: the function's output, ``[S, T]``)."""
        limit = self.options.max_samples
        if int(np.sum(m.seg_end - m.seg_start)) + present.size <= limit:
            return  # every sample and every output point together fit
        start, end = m.bounds()
        windows = end - start
        if windows.shape[1] == 0:
            return
        out = present.sum(axis=1)
        before = np.cumsum(out) - out
        peak = np.maximum(windows.max(axis=1), windows[:, -1] + out)
        if (before + peak > limit).any():
            raise TooManySamplesError()

    @property
    def is_range(self) -> bool:
        return self.step != 0

    # ---- entry point --------------------------------------------------------------------
    def run(self, node: N.Expr) -> Result:
        times = (
            np.arange(self.start, self.end + 1, self.step, dtype=np.int64)
            if self.step
            else np.array([self.start], dtype=np.int64)
        )
        value = self.eval(node, times)
        for a in self.monotonicity.annotations():
            self.annotate(a)
        annotations = list(self._annotations.values())
        if isinstance(value, String):
            return Result(
                "string",
                LabelTable.empty(0),
                np.zeros(1, np.int64),
                np.array([self.start]),
                np.zeros(0),
                string=value.value,
                annotations=annotations,
            )
        if isinstance(value, Scalar):
            if not self.is_range:
                return Result(
                    "scalar",
                    LabelTable.empty(1),
                    np.array([0, 1]),
                    times.copy(),
                    value.values.astype(np.float64),
                    annotations=annotations,
                )
            vec = Vector(LabelTable.empty(1), value.values[None, :], np.ones((1, len(times)), bool))
            return _matrix_result(vec, times, annotations)
        if isinstance(value, Matrix):
            return _range_vector_result(self, value, annotations)
        vec = value
        if self.delayed:
            vec = finish_names(vec)
        if self.is_range:
            return _matrix_result(vec, times, annotations)
        vec = vec.compact()
        if vec.labels.duplicated_pair() is not None:
            raise QueryError("vector cannot contain metrics with the same labelset")
        n = vec.n_series
        return Result(
            "vector",
            vec.labels,
            np.arange(n + 1, dtype=np.int64),
            np.full(n, times[0], np.int64),
            vec.values[:, 0].copy(),
            annotations=annotations,
        )

    # ---- dispatch --------------------------------------------------------------------------
    def eval(self, node: N.Expr, times: np.ndarray):
        if isinstance(node, N.ParenExpr):
            return self.eval(node.expr, times)
        if isinstance(node, N.NumberLiteral):
            return Scalar(np.full(len(times), node.value, np.float64))
        if isinstance(node, N.StringLiteral):
            return String(node.value)
        if isinstance(node, N.VectorSelector):
            return self.eval_selector(node, times)[0]
        if isinstance(node, N.MatrixSelector):
            return self.eval_matrix_selector(node, times)
        if isinstance(node, N.SubqueryExpr):
            return self.eval_subquery(node, times)
        if isinstance(node, N.UnaryExpr):
            return self.eval_unary(node, times)
        if isinstance(node, N.BinaryExpr):
            from .binary import eval_binary

            return eval_binary(self, node, times)
        if isinstance(node, N.AggregateExpr):
            from .aggregate import eval_aggregate

            return eval_aggregate(self, node, times)
        if isinstance(node, N.Call):
            from .functions import eval_call

            return eval_call(self, node, times)
        if isinstance(node, N.DurationExpr):
            return Scalar(np.full(len(times), self.duration_ms(node, allow_negative=True) / 1000.0))
        raise QueryError(f"unhandled expression of type {type(node).__name__}")

    def eval_vector(self, node: N.Expr, times: np.ndarray) -> Vector:
        v = self.eval(node, times)
        if not isinstance(v, Vector):
            raise QueryError(f"expected an instant vector, got {type(v).__name__}")
        return v

    def eval_scalar(self, node: N.Expr, times: np.ndarray) -> np.ndarray:
        v = self.eval(node, times)
        if not isinstance(v, Scalar):
            raise QueryError(f"expected a scalar, got {type(v).__name__}")
        return v.values

    # ---- time modifiers ------------------------------------------------------------------
    def duration_ms(self, d: N.Duration | None, allow_negative: bool = False) -> int:
        """A duration in ms; duration expressions are evaluated for this query."""
        if d is None:
            return 0
        if isinstance(d, N.DurationExpr):
            from .durations import resolve_duration

            return resolve_duration(
                d, step_ms=self.step, range_ms=self.end - self.start, allow_negative=allow_negative
            )
        return int(d)

    def at_ms(self, at: N.AtModifier) -> int | None:
        if at is None:
            return None
        if at == "start":
            return self.start
        if at == "end":
            return self.end
        return go_round(float(at) * 1000.0)

    def effective_times(
        self, at: N.AtModifier, offset: N.Duration, times: np.ndarray
    ) -> np.ndarray:
        at_ms = self.at_ms(at)
        base = times if at_ms is None else np.full(len(times), at_ms, np.int64)
        return base - self.duration_ms(offset, allow_negative=True)

    # ---- leaves -------------------------------------------------------------------------------
    def eval_selector(self, node: N.VectorSelector, times: np.ndarray) -> tuple[Vector, np.ndarray]:
        eff = self.effective_times(node.at, node.offset, times)
        if node.smoothed:
            vec = select_smoothed(self.view, node, eff, self.options.lookback_delta_ms)
            self.check_samples(int(vec.present.sum()))
            return vec, np.broadcast_to(eff, vec.values.shape)
        vec, sample_ts = select_instant(self.view, node, eff, self.options.lookback_delta_ms)
        self.check_samples(int(vec.present.sum()))
        return vec, sample_ts

    def eval_matrix_selector(self, node: N.MatrixSelector, times: np.ndarray) -> Matrix:
        vs = node.vs
        eff = self.effective_times(vs.at, vs.offset, times)
        return select_range(
            self.view, vs, eff, self.duration_ms(node.range), self.options.lookback_delta_ms
        )

    def eval_subquery(self, node: N.SubqueryExpr, times: np.ndarray) -> Matrix:
        eff = self.effective_times(node.at, node.offset, times)
        rng = self.duration_ms(node.range)
        step = self.duration_ms(node.step) if node.step is not None else 0
        if step <= 0:
            step = self.options.default_subquery_step_ms
        lo_edge = int(eff.min()) - rng
        first = (lo_edge // step) * step
        if first <= lo_edge:
            first += step
        last = int(eff.max())
        inner_times = np.arange(first, last + 1, step, dtype=np.int64)
        if len(inner_times) > MAX_STEPS:
            raise QueryError("subquery resolution is too fine for its range")
        inner = self.eval_vector(node.expr, inner_times) if len(inner_times) else Vector.empty(0)
        inner = inner.compact()
        counts = inner.present.sum(axis=1)
        offsets = np.zeros(inner.n_series + 1, np.int64)
        np.cumsum(counts, out=offsets[1:])
        rows, cols = np.nonzero(inner.present)
        self.check_samples(len(rows))
        return Matrix(
            inner.labels,
            inner_times[cols],
            inner.values[rows, cols],
            offsets[:-1],
            offsets[1:],
            eff - rng,
            eff.copy(),
            rng,
            drop_name=inner.drop_name,
        )

    def eval_unary(self, node: N.UnaryExpr, times: np.ndarray):
        v = self.eval(node.expr, times)
        if node.op == "+":
            return v
        if isinstance(v, Scalar):
            return Scalar(-v.values)
        vec = Vector(v.labels, -v.values, v.present, v.drop_name).drop_names(self.delayed)
        return vec if self.delayed else collate(vec)


def finish_names(vec: Vector) -> Vector:
    """Delayed name removal, last step: drop the names that were marked for dropping."""
    if not vec.drop_name.any():
        return vec
    cols = dict(vec.labels.cols)
    for name in METADATA_LABELS:
        if name in cols:
            cols[name] = np.where(vec.drop_name, 0, cols[name]).astype(np.int32)
    out = Vector(LabelTable(vec.n_series, cols), vec.values, vec.present)
    return collate(out)


def _matrix_result(vec: Vector, times: np.ndarray, annotations: list[Annotation]) -> Result:
    keep = np.flatnonzero(vec.present.any(axis=1))
    labels = vec.labels.take(keep)
    order = labels.sort_order()
    offsets, ts, values = matrix_points(
        vec.values, vec.present, keep[order], np.asarray(times, np.int64)
    )
    return Result("matrix", labels.take(order), offsets, ts, values, annotations=annotations)


def _range_vector_result(ev: Evaluator, m: Matrix, annotations: list[Annotation]) -> Result:
    """An instant query of a range selector or subquery: the raw points of the window."""
    start, end = m.bounds()
    a, b = start[:, 0], end[:, 0]
    keep = np.flatnonzero(b > a)
    labels = m.labels.take(keep)
    drop = m.drop_name[keep]
    if ev.delayed and drop.any():
        cols = dict(labels.cols)
        for name in METADATA_LABELS:
            if name in cols:
                cols[name] = np.where(drop, 0, cols[name]).astype(np.int32)
        labels = LabelTable(labels.n, cols)
    a, b = a[keep], b[keep]
    lengths = b - a
    offsets = np.zeros(len(keep) + 1, np.int64)
    np.cumsum(lengths, out=offsets[1:])
    gather = np.repeat(a - offsets[:-1], lengths) + np.arange(offsets[-1])
    order = labels.sort_order()
    res = Result("matrix", labels, offsets, m.ts[gather], m.values[gather], annotations=annotations)
    if not np.array_equal(order, np.arange(len(order))):
        res = _reorder(res, order)
    return res


def _reorder(r: Result, order: np.ndarray) -> Result:
    lengths = np.diff(r.offsets)[order]
    starts = r.offsets[:-1][order]
    offsets = np.zeros(len(order) + 1, np.int64)
    np.cumsum(lengths, out=offsets[1:])
    gather = np.repeat(starts - offsets[:-1], lengths) + np.arange(offsets[-1])
    return Result(
        r.type,
        r.labels.take(order),
        offsets,
        r.ts[gather],
        r.values[gather],
        r.string,
        r.annotations,
    )
