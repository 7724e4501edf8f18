"""The @-modifier invariance check of upstream's runner (DSL.md §7).

Every instant eval is repeated with ``@ <t>`` added to each selector and subquery that
has none, evaluated at other instants; the result must not change. The rewrite copies
upstream's ``atModifierTestCases`` exactly, including two details its tree walk implies:

* a subquery gets the ``@`` itself and nothing below it is touched (upstream sets the
  subquery's timestamp before visiting its children, which then count as being below a
  subquery with ``@``); calls below a subquery are not looked at either, nor inside
  duration arithmetic (upstream's ``step()`` there is not a function call);
* ``@ start()`` / ``@ end()`` count as "no ``@`` yet" and become ``@ <t>`` (upstream's
  fresh parse leaves the timestamp unset for them).

Expressions calling a function whose value depends on the evaluation time itself
(:data:`AT_UNSAFE_FUNCTIONS`) are not rewritten.

>>> from engine.promql.nodes import VectorSelector, MatrixSelector, Call
>>> e = Call(func="rate", args=(MatrixSelector(vs=VectorSelector(name="x"), range=60000),))
>>> [(str(x), t) for x, t in at_modifier_cases(e, 300_000)][:2]
[('rate(x[1m] @ 300.000)', -3000000), ('rate(x[1m] @ 300.000)', 0)]
>>> [t for _, t in at_modifier_cases(e, 0)]
[-1000, 0, 1000]
>>> at_modifier_cases(Call(func="time"), 60_000)
[]
"""

from __future__ import annotations

from dataclasses import fields, replace

from ..promql.nodes import Call, DurationExpr, Expr, MatrixSelector, SubqueryExpr, VectorSelector

__all__ = ["AT_UNSAFE_FUNCTIONS", "at_modifier_cases", "pin_at"]

#: Functions whose result varies with the evaluation time even when their arguments do
#: not (upstream ``AtModifierUnsafeFunctions``, plus the query-context functions).
AT_UNSAFE_FUNCTIONS = frozenset(
    {
        "days_in_month",
        "day_of_month",
        "day_of_week",
        "day_of_year",
        "hour",
        "minute",
        "month",
        "year",
        "predict_linear",
        "time",
        "timestamp",
        "start",
        "end",
        "range",
        "step",
    }
)


def _unset(at: object) -> bool:
    return at is None or at in ("start", "end")


def pin_at(node: Expr, at_seconds: float) -> Expr:
    """``node`` with ``@ at_seconds`` on every selector/subquery lacking one (see module doc)."""
    if isinstance(node, VectorSelector):
        return replace(node, at=at_seconds) if _unset(node.at) else node
    if isinstance(node, MatrixSelector):
        return replace(node, vs=pin_at(node.vs, at_seconds))
    if isinstance(node, SubqueryExpr):
        return replace(node, at=at_seconds) if _unset(node.at) else node
    if isinstance(node, DurationExpr):
        return node
    changes = {}
    for f in fields(node):
        v = getattr(node, f.name)
        if isinstance(v, Expr):
            changes[f.name] = pin_at(v, at_seconds)
        elif isinstance(v, tuple) and v and all(isinstance(x, Expr) for x in v):
            changes[f.name] = tuple(pin_at(x, at_seconds) for x in v)
    return replace(node, **changes) if changes else node


def _calls_unsafe_function(node: Expr) -> bool:
    if isinstance(node, Call) and node.func in AT_UNSAFE_FUNCTIONS:
        return True
    if isinstance(node, SubqueryExpr | DurationExpr):
        return False
    for f in fields(node):
        v = getattr(node, f.name)
        if isinstance(v, Expr) and _calls_unsafe_function(v):
            return True
        if isinstance(v, tuple) and any(
            isinstance(x, Expr) and _calls_unsafe_function(x) for x in v
        ):
            return True
    return False


def _trunc_div(a: int, b: int) -> int:
    q = abs(a) // b
    return q if a >= 0 else -q


def at_modifier_cases(node: Expr, time_ms: int) -> list[tuple[Expr, int]]:
    """The rewritten expression and the instants (ms) to evaluate it at: ``-10t, 0,
    t/5, t, 10t`` (``-1s, 0, 1s`` for ``t = 0``); empty when the check does not apply."""
    if _calls_unsafe_function(node):
        return []
    pinned = pin_at(node, time_ms / 1000)
    if time_ms == 0:
        times = [-1000, 0, 1000]
    else:
        times = [-10 * time_ms, 0, _trunc_div(time_ms, 5), time_ms, 10 * time_ms]
    return [(pinned, t) for t in times]
