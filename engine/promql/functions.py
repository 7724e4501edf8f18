"""The PromQL function registry: one entry and one body per function.

:data:`FUNCTIONS` maps each name to its implementation ``fn(ev, call, times) -> value``,
as prometheus/prometheus ``promql/functions.go`` maps names in ``FunctionCalls``; a
banner such as ``# === rate(Matrix) ===`` sits over each body. Families share one helper
with flags (``_rate(is_counter, is_rate)`` backs ``rate``, ``increase`` and ``delta``).
The parser's signature table (:data:`engine.promql.parse.FUNCTIONS`) says which
arguments each function takes; a test checks that both tables name the same functions.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from ..errors import QueryError
from ..gostrconv import parse_float
from ..kernels import over_time as K
from ..kernels.extended import extended_rate
from ..kernels.quantile import bucket_fraction, bucket_quantile
from ..kernels.rate import extrapolated_rate, extrapolated_rate_fused, instant_value
from ..kernels.threads import split_rows
from ..labels import (
    METRIC_NAME,
    POOL,
    LabelTable,
    format_label_float,
    is_valid_label_name,
    printable,
)
from ..store.index import compile_regex
from . import annotations as A
from . import nodes as N
from .signatures import ANCHORED_SAFE_FUNCTIONS, SMOOTHED_SAFE_FUNCTIONS, extended_range_error
from .values import METADATA_LABELS, Matrix, Scalar, Vector, collate

if TYPE_CHECKING:
    from .evaluator import Evaluator

__all__ = ["FUNCTIONS", "eval_call", "ratio_sample_offsets"]

Impl = Callable[["Evaluator", N.Call, np.ndarray], object]
FUNCTIONS: dict[str, Impl] = {}


def function(*names: str):
    def deco(fn: Impl) -> Impl:
        for n in names:
            FUNCTIONS[n] = fn
        return fn

    return deco


def eval_call(ev: Evaluator, call: N.Call, times: np.ndarray):
    impl = FUNCTIONS.get(call.func)
    if impl is None:
        raise QueryError(f"function {call.func!r} is not implemented")
    return impl(ev, call, times)


def _unwrap(node: N.Expr) -> N.Expr:
    while isinstance(node, N.ParenExpr):
        node = node.expr
    return node


def _scalar_arg(
    ev: Evaluator, call: N.Call, i: int, times: np.ndarray, default: float | None = None
) -> np.ndarray:
    if i >= len(call.args):
        return np.full(len(times), default, np.float64)
    return ev.eval_scalar(call.args[i], times)


def _string_arg(call: N.Call, i: int) -> str:
    node = _unwrap(call.args[i])
    if not isinstance(node, N.StringLiteral):
        raise QueryError(f"expected a string literal as argument {i + 1} of {call.func}")
    return node.value


def _matrix_arg(ev: Evaluator, call: N.Call, times: np.ndarray, i: int = 0) -> Matrix:
    node = _unwrap(call.args[i])
    m = ev.eval(node, times)
    if not isinstance(m, Matrix):
        raise QueryError(f"expected a range vector as argument {i + 1} of {call.func}")
    _check_extended_range(call, node)
    return m


def _check_extended_range(call: N.Call, node: N.Expr) -> None:
    """Prometheus' evaluation-time check of ``anchored``/``smoothed`` arguments."""
    if not isinstance(node, N.MatrixSelector):
        return
    for modifier, safe in (
        ("anchored", ANCHORED_SAFE_FUNCTIONS),
        ("smoothed", SMOOTHED_SAFE_FUNCTIONS),
    ):
        if getattr(node.vs, modifier) and call.func not in safe:
            raise QueryError(extended_range_error(modifier, call.func))


def _vector_result(
    ev: Evaluator, m: Matrix, out: np.ndarray, present: np.ndarray, drop: bool = True
) -> Vector:
    """The output of a range-vector function, named as Prometheus names it."""
    if m.selected:
        ev.check_windows(m, present)
    vec = Vector(m.labels, out, present, m.drop_name.copy()).compact()
    if drop:
        vec = vec.drop_names(ev.delayed)
    if not ev.delayed and not (m.selected and (not drop or _constant_names(m.labels))):
        vec = collate(vec, strict=True)
    return vec


def _constant_names(labels: LabelTable) -> bool:
    """Whether every series has the same metric name (and type and unit): dropping them
    then cannot make two distinct label sets equal."""
    for name in METADATA_LABELS:
        c = labels.cols.get(name)
        if c is not None and len(c) and (c != c[0]).any():
            return False
    return True


# =====================================================================================
# Range-vector functions
# =====================================================================================


def _rate(is_counter: bool, is_rate: bool) -> Impl:
    def impl(ev: Evaluator, call: N.Call, times: np.ndarray) -> Vector:
        m = _matrix_arg(ev, call, times)
        range_s = m.range_ms / 1000.0
        if m.extended:
            start, end = m.bounds()
            out, present = extended_rate(
                m.ts,
                m.values,
                start,
                end,
                m.range_start,
                m.range_end,
                m.extended == "smoothed",
                is_counter,
                is_rate,
                range_s,
            )
        else:
            # the window bounds are found inside the kernel on monotone grids (the usual
            # case), and passed in as per-series arrays otherwise
            fused = _monotone(m.lo) and _monotone(m.hi)
            first, last = (m.seg_start, m.seg_end) if fused else m.bounds()
            kernel = extrapolated_rate_fused if fused else extrapolated_rate
            resets, prefix = m.reset_index()
            out, present = _by_series(
                ev,
                m,
                lambda a, b: kernel(
                    m.ts, m.values, first[a:b], last[a:b], m.lo, m.hi,
                    resets, prefix, is_counter, is_rate, range_s,
                ),  # fmt: skip
            )
        if is_counter:
            _non_counter_info(ev, call, m, present)
        return _vector_result(ev, m, out, present)

    return impl


def _by_series(
    ev: Evaluator, m: Matrix, call: Callable[[int, int], tuple[np.ndarray, ...]]
) -> tuple[np.ndarray, ...]:
    """``call(0, n_series)`` for a kernel over ``m``'s series, split across
    ``QueryOptions.threads`` when the query is large (samples plus output cells)."""
    if ev.options.threads <= 1:
        return call(0, len(m.seg_start))
    weights = (m.seg_end - m.seg_start) + len(m.lo)
    return split_rows(ev.options.threads, len(m.seg_start), call, weights=weights)


def _monotone(a: np.ndarray) -> bool:
    return len(a) < 2 or bool((a[1:] >= a[:-1]).all())


def _non_counter_info(ev: Evaluator, call: N.Call, m: Matrix, present: np.ndarray) -> None:
    if call.func not in ("rate", "increase"):
        return
    produced = m.labels.get(METRIC_NAME)[present.any(axis=1)]
    for name in sorted(POOL.string(code) for code in set(produced.tolist())):
        if name and not name.endswith(("_total", "_sum", "_count", "_bucket")):
            ev.annotate(A.possible_non_counter(name, _unwrap(call.args[0]).pos))


# === rate(node parser.ValueTypeMatrix) ===
FUNCTIONS["rate"] = _rate(True, True)
# === increase(node parser.ValueTypeMatrix) ===
FUNCTIONS["increase"] = _rate(True, False)
# === delta(Matrix parser.ValueTypeMatrix) ===
FUNCTIONS["delta"] = _rate(False, False)


# === irate(node parser.ValueTypeMatrix) / idelta(node model.ValMatrix) ===
@function("irate", "idelta")
def _instant_value(ev: Evaluator, call: N.Call, times: np.ndarray) -> Vector:
    m = _matrix_arg(ev, call, times)
    start, end = m.bounds()
    is_rate = call.func == "irate"
    out, present = _by_series(
        ev, m, lambda a, b: instant_value(m.ts, m.values, start[a:b], end[a:b], is_rate)
    )
    return _vector_result(ev, m, out, present)


# === <aggregation>_over_time(Matrix parser.ValueTypeMatrix), changes, resets, deriv ... ===
@function(
    "sum_over_time",
    "avg_over_time",
    "count_over_time",
    "present_over_time",
    "min_over_time",
    "max_over_time",
    "stddev_over_time",
    "stdvar_over_time",
    "last_over_time",
    "first_over_time",
    "changes",
    "resets",
    "deriv",
    "mad_over_time",
    "ts_of_min_over_time",
    "ts_of_max_over_time",
    "ts_of_first_over_time",
    "ts_of_last_over_time",
)
def _over_time(ev: Evaluator, call: N.Call, times: np.ndarray) -> Vector:
    m = _matrix_arg(ev, call, times)
    return _apply_over_time(ev, call, m, times, np.zeros(len(times)), np.zeros(len(times)))


def _apply_over_time(
    ev: Evaluator, call: N.Call, m: Matrix, times: np.ndarray, p1: np.ndarray, p2: np.ndarray
) -> Vector:
    kind = K.KINDS[call.func]
    min_samples = (
        2 if call.func in ("deriv", "predict_linear", "double_exponential_smoothing") else 1
    )
    if kind in (K.MIN, K.MAX) and not m.extended and _monotone(m.lo) and _monotone(m.hi):
        # on monotone grids (the usual case) min/max find their window bounds on the way
        is_max = kind == K.MAX

        def run(a: int, b: int) -> tuple[np.ndarray, ...]:
            return K.extreme_over_time(
                m.ts, m.values, m.seg_start[a:b], m.seg_end[a:b], m.lo, m.hi, is_max, min_samples
            )
    else:
        start, end = m.bounds()
        if m.extended == "anchored":  # changes/resets: start at the sample at or before it
            inside, _ = _bounds_from(m, m.range_start)
            start = np.where(inside > start, inside - 1, inside)
            end = np.where(end > inside, end, start)  # no sample inside the window: no output

        def run(a: int, b: int) -> tuple[np.ndarray, ...]:
            return K.over_time(
                kind, m.ts, m.values, start[a:b], end[a:b], p1, p2, times, min_samples
            )

    out, present = _by_series(ev, m, run)
    keep_name = call.func in ("last_over_time", "first_over_time")
    return _vector_result(ev, m, out, present, drop=not keep_name)


def _bounds_from(m: Matrix, lo: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Window bounds of ``m`` with another left edge."""
    from ..kernels.windows import window_bounds

    return window_bounds(m.seg_start, m.seg_end, m.ts, lo, m.hi)


# === quantile_over_time(k parser.ValueTypeScalar, Matrix parser.ValueTypeMatrix) ===
@function("quantile_over_time")
def _quantile_over_time(ev: Evaluator, call: N.Call, times: np.ndarray) -> Vector:
    q = ev.eval_scalar(call.args[0], times)
    m = _matrix_arg(ev, call, times, 1)
    start, end = m.bounds()
    has = (end > start).any(axis=0)
    bad = has & (np.isnan(q) | (q < 0) | (q > 1))
    if bad.any():
        ev.annotate(A.invalid_quantile(float(q[np.flatnonzero(bad)[0]]), _unwrap(call.args[0]).pos))
    out, present = _by_series(
        ev,
        m,
        lambda a, b: K.over_time(K.QUANTILE, m.ts, m.values, start[a:b], end[a:b], q, q, times, 1),
    )
    return _vector_result(ev, m, out, present)


# === predict_linear(node parser.ValueTypeMatrix, k parser.ValueTypeScalar) ===
@function("predict_linear")
def _predict_linear(ev: Evaluator, call: N.Call, times: np.ndarray) -> Vector:
    m = _matrix_arg(ev, call, times, 0)
    horizon = ev.eval_scalar(call.args[1], times)
    return _apply_over_time(ev, call, m, times, horizon, horizon)


# === double_exponential_smoothing(Matrix, sf, tf Scalar) ===
@function("double_exponential_smoothing")
def _double_exponential_smoothing(ev: Evaluator, call: N.Call, times: np.ndarray) -> Vector:
    m = _matrix_arg(ev, call, times, 0)
    sf = ev.eval_scalar(call.args[1], times)
    tf = ev.eval_scalar(call.args[2], times)
    start, end = m.bounds()
    has = ((end - start) >= 2).any(axis=0)
    for t in np.flatnonzero(has):
        if not 0 < sf[t] < 1:
            raise QueryError(f"invalid smoothing factor. Expected: 0 < sf < 1, got: {sf[t]:f}")
        if not 0 < tf[t] < 1:
            raise QueryError(f"invalid trend factor. Expected: 0 < tf < 1, got: {tf[t]:f}")
    return _apply_over_time(ev, call, m, times, sf, tf)


# === absent_over_time(Vector parser.ValueTypeMatrix) ===
@function("absent_over_time")
def _absent_over_time(ev: Evaluator, call: N.Call, times: np.ndarray) -> Vector:
    m = _matrix_arg(ev, call, times)
    start, end = m.bounds()
    found = (end > start).any(axis=0) if m.n_series else np.zeros(len(times), bool)
    return _absent_vector(ev, call, ~found)


# === absent(Vector parser.ValueTypeVector) ===
@function("absent")
def _absent(ev: Evaluator, call: N.Call, times: np.ndarray) -> Vector:
    vec = ev.eval_vector(call.args[0], times)
    found = vec.present.any(axis=0) if vec.n_series else np.zeros(len(times), bool)
    return _absent_vector(ev, call, ~found)


def _absent_vector(ev: Evaluator, call: N.Call, missing: np.ndarray) -> Vector:
    arg = _unwrap(call.args[0])
    vs = arg.vs if isinstance(arg, N.MatrixSelector) else arg
    labels: dict[str, str] = {}
    if isinstance(vs, N.VectorSelector):
        seen: set[str] = set()
        for mt in vs.matchers:
            if mt.name == METRIC_NAME:
                continue
            if mt.op == "=" and mt.name not in seen:
                labels[mt.name] = mt.value
                seen.add(mt.name)
            else:
                labels.pop(mt.name, None)
    T = len(missing)
    if not missing.any():
        return Vector.empty(T)
    return Vector(
        LabelTable.from_dicts([labels]), np.ones((1, T)), missing[None, :].copy(), np.ones(1, bool)
    )


# =====================================================================================
# Instant-vector functions
# =====================================================================================


def _simple(fn: Callable[[np.ndarray], np.ndarray]) -> Impl:
    def impl(ev: Evaluator, call: N.Call, times: np.ndarray) -> Vector:
        vec = ev.eval_vector(call.args[0], times)
        with np.errstate(all="ignore"):
            values = fn(vec.values)
        return collate(
            Vector(vec.labels, values, vec.present, vec.drop_name).drop_names(ev.delayed)
        )

    return impl


def _sgn(v: np.ndarray) -> np.ndarray:
    return np.where(v < 0, -1.0, np.where(v > 0, 1.0, v))


# === abs, ceil, floor, exp, sqrt, ln, log2, log10, trigonometry, rad, deg, sgn (Vector) ===
for _name, _fn in {
    "abs": np.abs,
    "ceil": np.ceil,
    "floor": np.floor,
    "exp": np.exp,
    "sqrt": np.sqrt,
    "ln": np.log,
    "log2": np.log2,
    "log10": np.log10,
    "sin": np.sin,
    "cos": np.cos,
    "tan": np.tan,
    "asin": np.arcsin,
    "acos": np.arccos,
    "atan": np.arctan,
    "sinh": np.sinh,
    "cosh": np.cosh,
    "tanh": np.tanh,
    "asinh": np.arcsinh,
    "acosh": np.arccosh,
    "atanh": np.arctanh,
    "rad": lambda v: v * math.pi / 180,
    "deg": lambda v: v * 180 / math.pi,
    "sgn": _sgn,
}.items():
    FUNCTIONS[_name] = _simple(_fn)


# === clamp(Vector, min, max Scalar), clamp_min, clamp_max ===
@function("clamp", "clamp_min", "clamp_max")
def _clamp(ev: Evaluator, call: N.Call, times: np.ndarray) -> Vector:
    vec = ev.eval_vector(call.args[0], times)
    T = len(times)
    lo = np.full(T, -np.inf)
    hi = np.full(T, np.inf)
    if call.func == "clamp":
        lo = ev.eval_scalar(call.args[1], times)
        hi = ev.eval_scalar(call.args[2], times)
    elif call.func == "clamp_min":
        lo = ev.eval_scalar(call.args[1], times)
    else:
        hi = ev.eval_scalar(call.args[1], times)
    values = np.maximum(lo[None, :], np.minimum(hi[None, :], vec.values))
    present = vec.present & ~(hi < lo)[None, :]
    out = Vector(vec.labels, values, present, vec.drop_name).compact()
    return collate(out.drop_names(ev.delayed))


# === round(Vector, toNearest=1 Scalar) ===
@function("round")
def _round(ev: Evaluator, call: N.Call, times: np.ndarray) -> Vector:
    vec = ev.eval_vector(call.args[0], times)
    to = _scalar_arg(ev, call, 1, times, 1.0)
    with np.errstate(all="ignore"):
        inv = 1.0 / to
        values = np.floor(vec.values * inv[None, :] + 0.5) / inv[None, :]
    return collate(Vector(vec.labels, values, vec.present, vec.drop_name).drop_names(ev.delayed))


# === timestamp(Vector parser.ValueTypeVector) ===
@function("timestamp")
def _timestamp(ev: Evaluator, call: N.Call, times: np.ndarray) -> Vector:
    arg = _unwrap(call.args[0])
    if isinstance(arg, N.VectorSelector):
        vec, sample_ts = ev.eval_selector(arg, times)
        values = sample_ts / 1000.0
    else:
        vec = ev.eval_vector(arg, times)
        values = np.broadcast_to(times[None, :] / 1000.0, vec.values.shape).copy()
    return collate(Vector(vec.labels, values, vec.present, vec.drop_name).drop_names(ev.delayed))


# === time() float64, pi() Scalar, start(), end(), range(), step() ===
@function("time")
def _time(ev: Evaluator, call: N.Call, times: np.ndarray) -> Scalar:
    return Scalar(times / 1000.0)


@function("pi")
def _pi(ev: Evaluator, call: N.Call, times: np.ndarray) -> Scalar:
    return Scalar(np.full(len(times), math.pi))


@function("start", "end", "range", "step")
def _query_times(ev: Evaluator, call: N.Call, times: np.ndarray) -> Scalar:
    value = {
        "start": ev.start / 1000.0,
        "end": ev.end / 1000.0,
        "range": (ev.end - ev.start) / 1000.0,
        "step": ev.step / 1000.0,
    }[call.func]
    return Scalar(np.full(len(times), value))


# === min_of(a, b Scalar), max_of(a, b Scalar) ===
@function("min_of", "max_of")
def _min_max_of(ev: Evaluator, call: N.Call, times: np.ndarray) -> Scalar:
    a = ev.eval_scalar(call.args[0], times)
    b = ev.eval_scalar(call.args[1], times)
    return Scalar(go_min(a, b) if call.func == "min_of" else go_max(a, b))


def go_min(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Go's ``math.Min``, element-wise: NaN wins, then -Inf, and -0 is below +0."""
    out = np.where(a < b, a, b)
    zeros = (a == 0) & (b == 0)
    out = np.where(zeros, np.where(np.signbit(a), a, b), out)
    return np.where(np.isnan(a) | np.isnan(b), np.nan, out)


def go_max(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Go's ``math.Max``, element-wise: NaN wins, then +Inf, and +0 is above -0."""
    out = np.where(a > b, a, b)
    zeros = (a == 0) & (b == 0)
    out = np.where(zeros, np.where(np.signbit(a), b, a), out)
    return np.where(np.isnan(a) | np.isnan(b), np.nan, out)


# === vector(s Scalar) ===
@function("vector")
def _vector(ev: Evaluator, call: N.Call, times: np.ndarray) -> Vector:
    s = ev.eval_scalar(call.args[0], times)
    return Vector(
        LabelTable.empty(1), s[None, :].astype(np.float64), np.ones((1, len(times)), bool)
    )


# === scalar(node parser.ValueTypeVector) Scalar ===
@function("scalar")
def _scalar(ev: Evaluator, call: N.Call, times: np.ndarray) -> Scalar:
    vec = ev.eval_vector(call.args[0], times)
    count = vec.present.sum(axis=0)
    total = np.where(vec.present, vec.values, 0.0).sum(axis=0)
    return Scalar(np.where(count == 1, total, np.nan))


# === days_in_month, day_of_month, day_of_week, day_of_year, hour, minute, month, year ===
def _date_parts(seconds: np.ndarray, func: str) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        secs = np.where(np.isfinite(seconds), np.trunc(seconds), -(2**63))
    secs = secs.astype(np.int64)
    days = np.floor_divide(secs, 86400)
    sod = secs - days * 86400
    if func == "hour":
        return (sod // 3600).astype(np.float64)
    if func == "minute":
        return (sod % 3600 // 60).astype(np.float64)
    if func == "day_of_week":
        return ((days + 4) % 7).astype(np.float64)  # 1970-01-01 was a Thursday
    d = days.astype("datetime64[D]")
    y = d.astype("datetime64[Y]")
    mo = d.astype("datetime64[M]")
    if func == "year":
        return (y.astype(np.int64) + 1970).astype(np.float64)
    if func == "month":
        return (mo.astype(np.int64) % 12 + 1).astype(np.float64)
    if func == "day_of_month":
        return ((d - mo.astype("datetime64[D]")).astype(np.int64) + 1).astype(np.float64)
    if func == "day_of_year":
        return ((d - y.astype("datetime64[D]")).astype(np.int64) + 1).astype(np.float64)
    if func == "days_in_month":
        nxt = (mo + 1).astype("datetime64[D]")
        return (nxt - mo.astype("datetime64[D]")).astype(np.int64).astype(np.float64)
    raise AssertionError(func)


@function(
    "days_in_month", "day_of_month", "day_of_week", "day_of_year", "hour", "minute", "month", "year"
)
def _date(ev: Evaluator, call: N.Call, times: np.ndarray) -> Vector:
    if not call.args:
        values = _date_parts(times // 1000, call.func)
        return Vector(LabelTable.empty(1), values[None, :], np.ones((1, len(times)), bool))
    vec = ev.eval_vector(call.args[0], times)
    values = _date_parts(vec.values, call.func)
    return collate(Vector(vec.labels, values, vec.present, vec.drop_name).drop_names(ev.delayed))


# === sort, sort_desc, sort_by_label, sort_by_label_desc (Vector) ===
@function("sort", "sort_desc", "sort_by_label", "sort_by_label_desc")
def _sort(ev: Evaluator, call: N.Call, times: np.ndarray) -> Vector:
    vec = ev.eval_vector(call.args[0], times)
    if ev.is_range:
        ev.annotate(A.sort_in_range_query(call.pos))
    if len(times) != 1 or vec.n_series < 2:
        return vec
    if call.func in ("sort", "sort_desc"):
        v = vec.values[:, 0]
        nan = np.isnan(v)
        key = -v if call.func == "sort_desc" else v
        order = np.lexsort((key, nan))  # NaN last
        return vec.take(order)
    names = [_string_arg(call, i) for i in range(1, len(call.args))]
    rows = vec.labels.rows()
    keys = vec.labels.keys()
    import functools

    def cmp(i: int, j: int) -> int:
        for name in names:
            a, b = rows[i].get(name, ""), rows[j].get(name, "")
            if a != b:
                return -1 if _natural_less(a, b) else 1
        return (keys[i] > keys[j]) - (keys[i] < keys[j])

    order = sorted(range(vec.n_series), key=functools.cmp_to_key(cmp))
    if call.func == "sort_by_label_desc":
        order = order[::-1]
    return vec.take(np.asarray(order))


def _natural_less(a: str, b: str) -> bool:
    """``natsort.Compare``: digit runs compare as numbers, the rest as text."""
    import re

    ca = re.findall(r"\d+|\D+", a)
    cb = re.findall(r"\d+|\D+", b)
    for x, y in zip(ca, cb, strict=False):
        if x == y:
            continue
        if x.isdigit() and y.isdigit():
            if int(x) != int(y):
                return int(x) < int(y)
            return len(x) < len(y)
        return x < y
    return len(ca) < len(cb)


# === label_replace(Vector, dst, replacement, src, regex String) ===
@function("label_replace")
def _label_replace(ev: Evaluator, call: N.Call, times: np.ndarray) -> Vector:
    dst, repl, src, regex = (_string_arg(call, i) for i in range(1, 5))
    try:
        rx = compile_regex(regex)
    except Exception:
        raise QueryError(
            f"invalid regular expression in label_replace(): {printable(regex)}"
        ) from None
    if not is_valid_label_name(dst):
        raise QueryError(f"invalid destination label name in label_replace(): {printable(dst)}")
    vec = ev.eval_vector(call.args[0], times)
    src_codes = vec.labels.get(src)
    uniq, inverse = np.unique(src_codes, return_inverse=True)
    new_codes = np.full(len(uniq), -1, np.int64)  # -1: the regex does not match
    template = _go_template(repl)
    for i, code in enumerate(uniq.tolist()):
        value = POOL.string(code)
        match = rx.fullmatch(value)
        if match is not None:
            new_codes[i] = POOL.intern(_expand(template, match))
    per_series = new_codes[inverse.reshape(-1)]
    hit = per_series >= 0
    if not hit.any():
        return vec
    codes = np.where(hit, per_series, vec.labels.get(dst)).astype(np.int32)
    labels = vec.labels.with_column(dst, codes)
    drop = vec.drop_name.copy()
    if dst == METRIC_NAME:
        drop[hit] = False
    return collate(Vector(labels, vec.values, vec.present, drop))


def _go_template(repl: str) -> list[tuple[bool, str]]:
    """Parse a Go ``Regexp.Expand`` template: ``$1``, ``${1}``, ``$name``, ``${name}``, ``$$``."""
    import re

    parts: list[tuple[bool, str]] = []
    i = 0
    pat = re.compile(r"\$(?:\{([A-Za-z0-9_]+)\}|([A-Za-z0-9_]+)|(\$))")
    while i < len(repl):
        m = pat.search(repl, i)
        if m is None:
            parts.append((False, repl[i:]))
            break
        if m.start() > i:
            parts.append((False, repl[i : m.start()]))
        if m.group(3):
            parts.append((False, "$"))
        else:
            parts.append((True, m.group(1) or m.group(2)))
        i = m.end()
    return parts


def _expand(template: list[tuple[bool, str]], match) -> str:
    out = []
    for is_ref, text in template:
        if not is_ref:
            out.append(text)
            continue
        try:
            ref: int | str = int(text) if text.isdigit() else text
            value = match.group(ref)
        except (IndexError, KeyError, ValueError, TypeError):
            value = ""
        out.append(value or "")
    return "".join(out)


# === label_join(Vector, dst, sep String, src... String) ===
@function("label_join")
def _label_join(ev: Evaluator, call: N.Call, times: np.ndarray) -> Vector:
    dst = _string_arg(call, 1)
    sep = _string_arg(call, 2)
    srcs = [_string_arg(call, i) for i in range(3, len(call.args))]
    for s in srcs:
        if not is_valid_label_name(s):
            raise QueryError(f"invalid source label name in label_join(): {printable(s)}")
    if not is_valid_label_name(dst):
        raise QueryError(f"invalid destination label name in label_join(): {printable(dst)}")
    vec = ev.eval_vector(call.args[0], times)
    if srcs:
        matrix = vec.labels.codes_matrix(srcs)
        combos, inverse = np.unique(matrix, axis=0, return_inverse=True)
        joined = POOL.intern_many([sep.join(POOL.strings(row).tolist()) for row in combos])
        codes = joined[inverse.reshape(-1)]
    else:
        codes = np.zeros(vec.n_series, np.int32)
    labels = vec.labels.with_column(dst, codes)
    drop = vec.drop_name.copy()
    if dst == METRIC_NAME:
        drop[:] = False
    return collate(Vector(labels, vec.values, vec.present, drop))


# === histogram_quantile(k Scalar, Vector) and histogram_fraction(lower, upper Scalar, Vector) ===
def _bucket_groups(ev: Evaluator, vec: Vector, arg_pos: int):
    """Group classic bucket series (all labels but ``le``); parse ``le``."""
    le_values = vec.labels.values("le")
    bounds = np.empty(vec.n_series)
    valid = np.ones(vec.n_series, bool)
    names = vec.labels.values(METRIC_NAME)
    for i, text in enumerate(le_values.tolist()):
        try:
            bounds[i] = parse_float(text)
        except ValueError:
            valid[i] = False
            if vec.present[i].any():
                metric = names[i] if ev.delayed else ""
                ev.annotate(A.bad_bucket_label(metric, text, arg_pos))
    sub = vec.take(np.flatnonzero(valid))
    keys = sub.labels.drop(["le"])
    group, first = keys.group()
    return sub, bounds[valid], group, keys.take(first), first


@function("histogram_quantile", "histogram_quantiles")
def _histogram_quantile(ev: Evaluator, call: N.Call, times: np.ndarray) -> Vector:
    """``histogram_quantile(q, v)``, and the experimental ``histogram_quantiles(v, "label",
    q1, q2, ...)`` which answers several quantiles at once, each series labelled with its
    quantile (formatted as ``le`` values are: ``0.5``, ``1.0``)."""
    if call.func == "histogram_quantile":
        q_args, v_arg, label = [call.args[0]], call.args[1], None
    else:
        q_args, v_arg, label = list(call.args[2:]), call.args[0], _string_arg(call, 1)
    qs = [ev.eval_scalar(a, times) for a in q_args]
    vec = ev.eval_vector(v_arg, times)
    for q, a in zip(qs, q_args, strict=True):
        bad = np.isnan(q) | (q < 0) | (q > 1)
        if bad.any():
            ev.annotate(A.invalid_quantile(float(q[np.flatnonzero(bad)[0]]), _unwrap(a).pos))
    if vec.n_series == 0:
        return Vector.empty(len(times))
    vpos = _unwrap(v_arg).pos
    sub, bounds, group, glabels, first = _bucket_groups(ev, vec, vpos)
    if sub.n_series == 0:
        return Vector.empty(len(times))
    parts = []
    for q in qs:
        out, seen, fix = bucket_quantile(q, group, bounds, sub.values, sub.present, len(first))
        gs, ts = np.nonzero(~np.isnan(fix[:, :, 0]))
        if len(gs):
            names = glabels.values(METRIC_NAME)[gs] if ev.delayed else np.full(len(gs), "")
            for name in sorted(set(names.tolist())):
                k = names == name
                ev.monotonicity.add(
                    name,
                    vpos,
                    times[ts[k]],
                    fix[gs[k], ts[k], 0],
                    fix[gs[k], ts[k], 1],
                    fix[gs[k], ts[k], 2],
                )
        labels = glabels
        if label is not None:
            texts = [format_label_float(float(x)) for x in np.unique(q)]
            if len(texts) != 1:
                raise QueryError(
                    "histogram_quantiles needs quantiles that are the same at every step"
                )
            labels = glabels.with_value(label, texts[0])
        parts.append(Vector(labels, out, seen, np.ones(len(first), bool)))
    res = (
        parts[0]
        if len(parts) == 1
        else Vector(
            LabelTable.concat([p.labels for p in parts]),
            np.concatenate([p.values for p in parts]),
            np.concatenate([p.present for p in parts]),
            np.concatenate([p.drop_name for p in parts]),
        )
    )
    return collate(res.compact().drop_names(ev.delayed))


@function("histogram_fraction")
def _histogram_fraction(ev: Evaluator, call: N.Call, times: np.ndarray) -> Vector:
    lower = ev.eval_scalar(call.args[0], times)
    upper = ev.eval_scalar(call.args[1], times)
    vec = ev.eval_vector(call.args[2], times)
    if vec.n_series == 0:
        return Vector.empty(len(times))
    sub, bounds, group, glabels, first = _bucket_groups(ev, vec, _unwrap(call.args[2]).pos)
    if sub.n_series == 0:
        return Vector.empty(len(times))
    out, seen = bucket_fraction(lower, upper, group, bounds, sub.values, sub.present, len(first))
    res = Vector(glabels, out, seen, np.ones(len(first), bool)).compact()
    return collate(res.drop_names(ev.delayed))


# === histogram_count, histogram_sum, histogram_avg, histogram_stddev, histogram_stdvar ===
@function(
    "histogram_count", "histogram_sum", "histogram_avg", "histogram_stddev", "histogram_stdvar"
)
def _native_histogram_stat(ev: Evaluator, call: N.Call, times: np.ndarray) -> Vector:
    # These read native histograms only; float samples are ignored. Native histograms
    # are not part of the evaluator yet, so the result is always empty.
    ev.eval_vector(call.args[0], times)
    return Vector.empty(len(times))


# === info(v Vector, selector Vector) (experimental): see engine/promql/info.py ===
def _info(ev: Evaluator, call: N.Call, times: np.ndarray) -> Vector:
    from .info import eval_info

    return eval_info(ev, call, times)


FUNCTIONS["info"] = _info


# === limit_ratio helper: HashRatioSampler.SampleOffset ===
def ratio_sample_offsets(labels: LabelTable) -> np.ndarray:
    """``hash(labels) / MaxUint64`` per series, as Prometheus' ``HashRatioSampler``.

    Prometheus hashes label sets with xxhash over its label encoding; until that hash is
    reproduced here, this uses a stable 64-bit hash of the same text, so *which* series
    are sampled can differ from Prometheus (the fraction kept does not).
    """
    import hashlib

    out = np.empty(labels.n)
    for i, key in enumerate(labels.keys()):
        text = "\xff".join(f"{k}\xff{v}" for k, v in key)
        h = int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")
        out[i] = h / float(2**64 - 1)
    return out
