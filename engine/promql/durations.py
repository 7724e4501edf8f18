"""Duration expressions: ``[5m+1m]``, ``offset (1m*2)``, ``[step()*2]``, ``min_of(..)``.

A duration expression is a small arithmetic tree (:class:`~engine.promql.nodes.NumberLiteral`
in seconds, ``+ - * / % ^``, unary ``+``/``-``, parentheses, ``step()``, ``range()``,
``min_of(a, b)``, ``max_of(a, b)``). Prometheus 3.14 keeps it in the AST and computes it when
a query is prepared (``promql/durations.go``), in float seconds, then truncates to whole
milliseconds. The parser folds every expression that does not call ``step()`` or ``range()``
and keeps the others as :class:`~engine.promql.nodes.DurationExpr` for the evaluator, which
calls :func:`resolve_duration` once per query.

>>> from engine.promql.parse import parse_expr
>>> parse_expr("foo[5m+1m]").range, parse_expr("foo[1h/7]").range
(360000, 514285)
>>> d = parse_expr("foo[step()*2]").range
>>> resolve_duration(d, step_ms=15000, range_ms=0, allow_negative=False)
30000
"""

from __future__ import annotations

import math

from ..errors import QueryError
from .nodes import BinaryExpr, Call, DurationExpr, Expr, NumberLiteral, ParenExpr, UnaryExpr

__all__ = ["duration_seconds", "resolve_duration", "uses_query_params", "go_pow", "MAX_SECONDS"]

#: Largest magnitude, in seconds, that fits a Go ``time.Duration`` (int64 nanoseconds).
MAX_SECONDS = (1 << 63) / 1e9


def go_pow(x: float, y: float) -> float:
    """Go's ``math.Pow``: never raises (NaN for a negative base and fractional exponent,
    ±Inf for overflow and for zero to a negative power).

    >>> go_pow(-8.0, 1/3), go_pow(0.0, -1.0), go_pow(10.0, 400.0), go_pow(2.0, 10.0)
    (nan, inf, inf, 1024.0)
    """
    try:
        return math.pow(x, y)
    except OverflowError:
        if x < 0 and y == int(y) and int(y) % 2 == 1:
            return -math.inf
        return math.inf
    except ValueError:
        if x == 0 and y < 0:
            odd = y == int(y) and int(y) % 2 == 1
            return math.copysign(math.inf, x) if odd else math.inf
        return math.nan


def _go_min(a: float, b: float) -> float:
    if math.isnan(a) or math.isnan(b):
        return math.nan
    if a == b == 0:
        return a if math.copysign(1, a) < 0 else b
    return a if a < b else b


def _go_max(a: float, b: float) -> float:
    if math.isnan(a) or math.isnan(b):
        return math.nan
    if a == b == 0:
        return a if math.copysign(1, a) > 0 else b
    return a if a > b else b


def uses_query_params(expr: Expr) -> bool:
    """Whether a duration expression calls ``step()`` or ``range()``."""
    if isinstance(expr, Call):
        return expr.func in ("step", "range") or any(uses_query_params(a) for a in expr.args)
    if isinstance(expr, BinaryExpr):
        return uses_query_params(expr.lhs) or uses_query_params(expr.rhs)
    if isinstance(expr, UnaryExpr | ParenExpr | DurationExpr):
        return uses_query_params(expr.expr)
    return False


def duration_seconds(expr: Expr, step_s: float = 0.0, range_s: float = 0.0) -> float:
    """The value, in float seconds, of a duration expression tree (``evaluateDurationExpr``).

    Raises :class:`~engine.errors.QueryError` on division or modulo by zero, with
    Prometheus' ``start:end: division by zero`` text.
    """
    if isinstance(expr, NumberLiteral):
        return expr.value
    if isinstance(expr, DurationExpr | ParenExpr):
        return duration_seconds(expr.expr, step_s, range_s)
    if isinstance(expr, UnaryExpr):
        v = duration_seconds(expr.expr, step_s, range_s)
        return -v if expr.op == "-" else v
    if isinstance(expr, Call):
        if expr.func == "step":
            return step_s
        if expr.func == "range":
            return range_s
        a = duration_seconds(expr.args[0], step_s, range_s)
        b = duration_seconds(expr.args[1], step_s, range_s)
        return _go_min(a, b) if expr.func == "min_of" else _go_max(a, b)
    if isinstance(expr, BinaryExpr):
        a = duration_seconds(expr.lhs, step_s, range_s)
        b = duration_seconds(expr.rhs, step_s, range_s)
        op = expr.op
        if op == "+":
            return a + b
        if op == "-":
            return a - b
        if op == "*":
            return a * b
        if op in ("/", "%"):
            if b == 0:
                what = "division" if op == "/" else "modulo"
                raise QueryError(f"{expr.pos}:{expr.end}: {what} by zero")
            return a / b if op == "/" else math.fmod(a, b)
        if op == "^":
            return go_pow(a, b)
    raise QueryError(f"unexpected duration expression {expr!s}")


def resolve_duration(
    d: int | DurationExpr, *, step_ms: int, range_ms: int, allow_negative: bool
) -> int:
    """Milliseconds of a range, step or offset (``calculateDuration`` of durations.go).

    ``step_ms``/``range_ms`` are the query's step and ``end - start`` (0 for instant
    queries). Ranges and steps must be positive (``allow_negative=False``); offsets may be
    negative. The result is truncated to whole milliseconds, as Prometheus does.

    >>> from engine.promql.parse import parse_expr
    >>> resolve_duration(parse_expr("x offset -step()").offset, step_ms=60000, range_ms=0,
    ...                  allow_negative=True)
    -60000
    """
    if isinstance(d, int):
        return d
    v = duration_seconds(d, step_ms / 1000, range_ms / 1000)
    where = f"{d.pos}:{d.end}"
    if v <= 0 and not allow_negative:
        raise QueryError(f"{where}: duration must be greater than 0")
    if math.isnan(v) or v > (1 << 63) - 1 or v < -(1 << 63):
        raise QueryError(f"{where}: duration is out of range")
    return int(v * 1000)
