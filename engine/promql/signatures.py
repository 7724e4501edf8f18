"""The signatures of every PromQL 3.14 function, as the parser type-checks them.

This is the table of Prometheus' ``promql/parser/functions.go``: argument types, how many
extra arguments a variadic function takes, the return type, and whether the function is
experimental (then ``parse_expr(..., experimental=True)`` is needed, as with Prometheus'
``--enable-feature=promql-experimental-functions``). Implementations live elsewhere; this
module only says what a call must look like.

``variadic`` follows Prometheus: ``0`` means exactly ``len(arg_types)`` arguments; ``n > 0``
means the last argument type is optional and may appear up to ``n`` times; ``-1`` means the
last argument type is optional and may repeat without limit.

>>> sig = FUNCTIONS["round"]
>>> sig.arg_types, sig.variadic, sig.min_args, sig.max_args
(('vector', 'scalar'), 1, 1, 2)
>>> FUNCTIONS["label_join"].max_args is None, FUNCTIONS["info"].experimental
(True, True)
"""

from __future__ import annotations

from dataclasses import dataclass

from .nodes import ValueType

__all__ = [
    "FunctionSignature",
    "FUNCTIONS",
    "EXPERIMENTAL_AGGREGATORS",
    "ANCHORED_SAFE_FUNCTIONS",
    "SMOOTHED_SAFE_FUNCTIONS",
    "extended_range_error",
]

S, V, M, STR = ValueType.SCALAR, ValueType.VECTOR, ValueType.MATRIX, ValueType.STRING


@dataclass(frozen=True, slots=True)
class FunctionSignature:
    """What a call to ``name`` must look like."""

    name: str
    arg_types: tuple[str, ...]
    return_type: str
    variadic: int = 0
    experimental: bool = False

    @property
    def min_args(self) -> int:
        return len(self.arg_types) if self.variadic == 0 else len(self.arg_types) - 1

    @property
    def max_args(self) -> int | None:
        """Largest argument count, or None when unlimited."""
        if self.variadic == 0:
            return len(self.arg_types)
        if self.variadic < 0:
            return None
        return len(self.arg_types) - 1 + self.variadic


def _table(*rows: tuple) -> dict[str, FunctionSignature]:
    out = {}
    for name, args, ret, *rest in rows:
        variadic = rest[0] if rest else 0
        experimental = rest[1] if len(rest) > 1 else False
        out[name] = FunctionSignature(name, tuple(args), ret, variadic, experimental)
    return dict(sorted(out.items()))


_MATH = ("abs acos acosh asin asinh atan atanh ceil cos cosh deg exp floor ln log10 log2 rad "
         "sgn sin sinh sqrt tan tanh").split()
_OVER_TIME = ("avg_over_time count_over_time first_over_time last_over_time max_over_time "
              "min_over_time present_over_time stddev_over_time stdvar_over_time "
              "sum_over_time absent_over_time changes delta deriv idelta increase irate rate "
              "resets").split()
_DATE = "day_of_month day_of_week day_of_year days_in_month hour minute month year".split()
_HISTOGRAM = "histogram_avg histogram_count histogram_stddev histogram_stdvar histogram_sum".split()
_TS_OF = "ts_of_first_over_time ts_of_last_over_time ts_of_max_over_time ts_of_min_over_time"

#: name -> signature, for every function of Prometheus 3.14 (stable and experimental).
FUNCTIONS: dict[str, FunctionSignature] = _table(
    *[(f, [V], V) for f in _MATH],
    *[(f, [M], V) for f in _OVER_TIME],
    *[(f, [V], V, 1) for f in _DATE],
    *[(f, [V], V) for f in _HISTOGRAM],
    *[(f, [M], V, 0, True) for f in _TS_OF.split()],
    ("absent", [V], V),
    ("clamp", [V, S, S], V),
    ("clamp_max", [V, S], V),
    ("clamp_min", [V, S], V),
    ("histogram_fraction", [S, S, V], V),
    ("histogram_quantile", [S, V], V),
    ("label_join", [V, STR, STR, STR], V, -1),
    ("label_replace", [V, STR, STR, STR, STR], V),
    ("pi", [], S),
    ("predict_linear", [M, S], V),
    ("quantile_over_time", [S, M], V),
    ("round", [V, S], V, 1),
    ("scalar", [V], S),
    ("sort", [V], V),
    ("sort_desc", [V], V),
    ("time", [], S),
    ("timestamp", [V], V),
    ("vector", [S], V),
    # experimental
    ("double_exponential_smoothing", [M, S, S], V, 0, True),
    ("histogram_quantiles", [V, STR, S], V, -1, True),
    ("info", [V, V], V, 1, True),
    ("mad_over_time", [M], V, 0, True),
    ("sort_by_label", [V, STR], V, -1, True),
    ("sort_by_label_desc", [V, STR], V, -1, True),
    ("start", [], S, 0, True),
    ("end", [], S, 0, True),
    ("range", [], S, 0, True),
    ("step", [], S, 0, True),
    ("min_of", [S, S], S, 0, True),
    ("max_of", [S, S], S, 0, True),
    ("start_timestamp", [V], V, 0, True),
)

#: Aggregation operators that need experimental functions enabled.
EXPERIMENTAL_AGGREGATORS = frozenset({"limitk", "limit_ratio"})

#: Functions that accept ``anchored`` / ``smoothed`` range selectors (Prometheus' engine).
ANCHORED_SAFE_FUNCTIONS = frozenset({"changes", "delta", "increase", "rate", "resets"})
SMOOTHED_SAFE_FUNCTIONS = frozenset({"delta", "increase", "rate"})


def extended_range_error(modifier: str, function: str) -> str:
    """The evaluation-time error for an ``anchored``/``smoothed`` selector given to a function
    that does not support it. Prometheus raises it in the engine, not the parser, so
    ``parse_expr`` accepts ``deriv(foo[3m] smoothed)`` and the evaluator reports this text.

    >>> extended_range_error("smoothed", "deriv")
    'smoothed modifier can only be used with: delta, increase, rate - not with deriv'
    """
    safe = ANCHORED_SAFE_FUNCTIONS if modifier == "anchored" else SMOOTHED_SAFE_FUNCTIONS
    allowed = ", ".join(sorted(safe))
    return f"{modifier} modifier can only be used with: {allowed} - not with {function}"
