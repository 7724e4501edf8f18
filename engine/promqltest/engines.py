"""The query engine a test run drives, and the real one configured as upstream's.

Anything with the three methods of :class:`QueryEngine` can be tested: the runner's own
tests use small fake engines. :class:`PrometheusEngine` wraps
:mod:`engine.promql.evaluator` with the settings the upstream test engine uses
(DSL.md §6): lookback 5m, at most 10000 samples per query, delayed ``__name__`` removal,
experimental syntax and functions, and a 1m step for subqueries without one.

Queries signal failure by raising :class:`~engine.errors.ParseError` or
:class:`~engine.errors.QueryError`; :func:`error_text` gives the text that ``expect fail``
lines are matched against (the bare message of a parse error, without position).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from ..errors import ParseError, PromReplayError

if TYPE_CHECKING:
    from ..promql.nodes import Expr
    from ..result import Result
    from ..store import Store

__all__ = ["PrometheusEngine", "QueryEngine", "error_text"]


class QueryEngine(Protocol):
    """What the runner needs from an engine. ``text`` is the eval's original expression:
    annotation positions refer to it even when ``expr`` was rewritten."""

    def parse(self, text: str) -> Expr: ...

    def instant(self, store: Store, expr: Expr, time_ms: int, *, text: str) -> Result: ...

    def range(
        self, store: Store, expr: Expr, start_ms: int, end_ms: int, step_ms: int, *, text: str
    ) -> Result: ...


def error_text(err: PromReplayError) -> str:
    """The text an ``expect fail`` line is matched against."""
    if isinstance(err, ParseError):
        return err.message
    return str(err)


class PrometheusEngine:
    """The real evaluator with the upstream test engine's settings.

    Importing it fails (``ImportError``) while ``engine.promql.evaluator`` or
    ``engine.promql.parse`` is missing.
    """

    def __init__(
        self,
        *,
        lookback_delta_ms: int = 300_000,
        max_samples: int = 10_000,
        default_subquery_step_ms: int = 60_000,
    ) -> None:
        from ..promql import evaluator
        from ..promql.parse import parse_expr

        self._evaluator = evaluator
        self._parse_expr = parse_expr
        self.options = evaluator.QueryOptions(
            lookback_delta_ms=lookback_delta_ms,
            max_samples=max_samples,
            delayed_name_removal=True,
            experimental=True,
            default_subquery_step_ms=default_subquery_step_ms,
        )

    def parse(self, text: str) -> Expr:
        return self._parse_expr(text, experimental=True)

    def instant(self, store: Store, expr: Expr, time_ms: int, *, text: str) -> Result:
        return self._evaluator.instant_query(store, expr, time_ms, self.options, text=text)

    def range(
        self, store: Store, expr: Expr, start_ms: int, end_ms: int, step_ms: int, *, text: str
    ) -> Result:
        return self._evaluator.range_query(
            store, expr, start_ms, end_ms, step_ms, self.options, text=text
        )
