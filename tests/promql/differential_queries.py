"""The query catalogue of the differential test against a real Prometheus
(``test_differential.py``): PromQL families crossed with mesh metrics and modifiers.

Every family is a function returning expressions; :func:`cases` turns each expression into
an instant query (at one of :data:`INSTANTS`, in turn) and a range query over
``[RANGE_START, RANGE_END]`` at :data:`STEP`, except where a family says it is
instant-only (string literals, range vectors) or flags a case.

Times are built so that Prometheus 2.42's closed windows ``[t - r, t]`` and 3.x's
left-open ``(t - r, t]`` select the same samples: every evaluation time, every ``@`` time,
range, offset and subquery step is a whole number of seconds, and no sample of the data
is on a whole second. Evaluation times are also 7 s past a whole minute, so the left
edge of a subquery (``t - range - offset``) is never one of its epoch-aligned steps (all
steps here are multiples of 10 s, and so are ranges and offsets): 2.42 would include
that step, 3.x not.

>>> all(c.time % 60 == 7 for c in cases() if c.mode == "instant")
True
>>> len({c.family for c in cases()}) == len(FAMILIES)
True
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import product

__all__ = [
    "Case",
    "FAMILIES",
    "INSTANTS",
    "M0",
    "MAX_REACH_S",
    "RANGE_END",
    "RANGE_START",
    "STEP",
    "T0",
    "cases",
]

#: The first scrape slot of the generated data (``MeshConfig.start_ms`` / 1000), and the
#: whole minute before it, from which evaluation times count (it is 20 s past a minute).
T0 = 1_700_000_000
M0 = T0 - T0 % 60
#: Range queries: 64 steps of 1m over the last hour of the data (the test module says why
#: this span: after the new series of the incident, before the end of the data).
RANGE_START = M0 + 115 * 60 + 7
RANGE_END = M0 + 178 * 60 + 7
STEP = 60
#: Instant queries, in turn: inside the range span, one just after a proxy restart.
INSTANTS = (M0 + 125 * 60 + 7, M0 + 141 * 60 + 7, M0 + 155 * 60 + 7, M0 + 170 * 60 + 7)
#: The furthest any query looks back from its evaluation time (range + subquery range +
#: offset); the rate-extrapolation guard checks windows that far back.
MAX_REACH_S = 15 * 60
#: A fixed ``@`` time inside the span (also 7 s past a minute).
AT = M0 + 150 * 60 + 7
#: A fixed ``@`` time before the span, 2 to 3 minutes after the error series of a restarted
#: proxy stopped (they never come back): still inside their 5m lookback, not their end.
AT_LOOKBACK = M0 + 108 * 60 + 7


@dataclass(frozen=True)
class Case:
    """One query to compare. ``mode`` is ``instant`` (at ``time``) or ``range``;
    ``ordered``: the instant result's order is part of the answer (``sort``);
    ``may_be_empty``: an empty answer is expected (``absent`` of present series), or
    possible (a filter at one instant, whose range query must not be empty);
    ``error``: both sides must fail (the message texts differ between versions)."""

    family: str
    expr: str
    mode: str
    time: int = 0
    ordered: bool = False
    may_be_empty: bool = False
    error: bool = False

    @property
    def id(self) -> str:
        return f"{self.family}-{self.mode}-{self.expr}"


@dataclass(frozen=True)
class Q:
    """An expression of a family and how to run it."""

    expr: str
    instant_only: bool = False
    range_only: bool = False
    ordered: bool = False
    may_be_empty: bool = False
    error: bool = False
    #: a filter: at one instant it may keep nothing; over the range it must keep something
    filter: bool = False


# ---- the metrics ----------------------------------------------------------------------------

REQ = "istio_requests_total"
REQ_DST = 'istio_requests_total{reporter="destination"}'
REQ_SRC = 'istio_requests_total{reporter="source"}'
L_REQ = "request_total"
L_RSP = "response_total"
CX = "envoy_cluster_upstream_cx_active"  # gauge
OVF = "envoy_cluster_upstream_cx_overflow"  # counter without the _total suffix
DUR = "istio_request_duration_milliseconds"
REQ_BYTES = "istio_request_bytes"
RSP_BYTES = "istio_response_bytes"
LAT = "response_latency_ms"
UP = "up"
#: Every Istio/Envoy target label but the service ones.
TARGET = "instance, pod, namespace, job"
SVC = "destination_service_name"

#: Name-less inputs for the element-wise functions: a gauge moved into [-1.5, ...] and
#: scaled into roughly [-1, 1] for the inverse trigonometric ones, and a rate.
GAUGE_SHIFTED = f"({CX} - 1.5)"
GAUGE_UNIT = f"(({CX} - 2) / 3)"
RATE = f"rate({REQ}[5m])"


def _qs(*exprs: str, **flags: bool) -> list[Q]:
    return [Q(e, **flags) for e in exprs]


# ---- the families (issue 3 §2) ---------------------------------------------------------------


def selectors() -> list[Q]:
    """Instant and range selectors with each matcher type, on each kind of metric."""
    plain = [REQ, L_REQ, L_RSP, CX, OVF, UP, f"{DUR}_sum", f"{LAT}_count"]
    matchers = [
        REQ_DST,
        'istio_requests_total{response_code!="200"}',
        'istio_requests_total{response_flags=~"U.|URX"}',
        'istio_requests_total{destination_service_name!~"cart|catalog"}',
        '{__name__=~"istio_request_duration_milliseconds_(sum|count)"}',
        '{__name__=~"response_.*", direction="inbound"}',
        '{job="linkerd-proxy", __name__!~"response_latency_ms.*"}',
        'response_latency_ms_bucket{le="100.0"}',
        'istio_request_bytes_bucket{le=~"1\\\\.8e\\\\+06|\\\\+Inf"}',
        'envoy_cluster_upstream_cx_active{cluster_name=~"outbound\\\\|.*"}',
        'up{job!="envoy-stats", instance=~"10\\\\..*"}',
        'request_total{direction="outbound", dst_pod=~".+"}',
    ]
    ranges = _qs(
        f"{CX}[2m]",
        f"{UP}[5m]",
        f'{L_REQ}{{direction="inbound"}}[1m]',
        instant_only=True,
    )
    return _qs(*plain, *matchers) + ranges


def offsets() -> list[Q]:
    return _qs(
        f"{UP} offset 5m",
        f"{CX} offset 1m30s",
        f"{REQ_DST} offset -2m",
        f"rate({L_REQ}[5m] offset 10m)",
        f"rate({REQ}[2m] offset -1m)",
        f"sum({CX} offset 3m) by (pod)",
        f"{L_RSP} - {L_RSP} offset 5m",
        f"max_over_time({CX}[5m] offset -3m)",
    )


def at_modifier() -> list[Q]:
    return _qs(
        f"{UP} @ {AT}",
        f"{CX} @ start()",
        f"{CX} @ end()",
        f"rate({REQ_DST}[5m] @ end())",
        f"sum({L_REQ} @ start())",
        f"{CX} @ start() offset 1m",
        f"sum_over_time({UP}[10m] @ end())",
        f"{L_RSP} - {L_RSP} @ {AT}",
        f"max_over_time(rate({L_REQ}[2m])[10m:1m] @ {AT})",
        f"{REQ} @ {AT_LOOKBACK}",
        f"count by (pod, response_code) ({REQ} @ {AT_LOOKBACK})",
    )


def subqueries() -> list[Q]:
    return _qs(
        f"max_over_time(rate({L_REQ}[2m])[10m:1m])",
        f"avg_over_time({CX}[10m:30s])",
        f"min_over_time(sum by ({SVC}) (rate({REQ}[5m]))[10m:2m])",
        f"sum_over_time({UP}[5m:])",
        f"deriv(sum({L_RSP})[10m:1m])",
        f"max_over_time({CX}[10m:1m] offset 2m)",
        f"count_over_time({UP}[10m:1m] @ end())",
        f"rate({L_RSP}[5m:30s])",
        f"max_over_time(avg_over_time({CX}[1m40s:30s])[6m:1m])",
        f"last_over_time({REQ_DST}[5m:1m])",
    )


def literals() -> list[Q]:
    numbers = _qs("42", "-1.5", "1e3", "0x1f", ".5", "Inf", "-Inf", "NaN", "2 ^ 0.5")
    return numbers + _qs('"mesh"', instant_only=True)


def unary() -> list[Q]:
    return _qs(
        f"-{UP}",
        f"-{RATE}",
        f"-sum by ({SVC}) ({RATE})",
        "-(1 + 2)",
        "- -3",
        f"+{CX}",
        f"-{CX} offset 1m",
    )


ARITH_OPS = ("+", "-", "*", "/", "%", "^", "atan2")
COMPARISONS = ("==", "!=", ">", "<", ">=", "<=")
SVC_DST = f"sum by ({SVC}) (rate({REQ_DST}[5m]))"
SVC_SRC = f"sum by ({SVC}) (rate({REQ_SRC}[5m]))"
#: One-to-one vector pairs whose inputs are per-series (not sums), so that results which
#: cancel (``-``, ``%``) compare exactly: sums differ in the last bit (Kahan in 3.x).
DUR_SUM = f"rate({DUR}_sum[5m])"
DUR_COUNT = f"rate({DUR}_count[5m])"


def arithmetic() -> list[Q]:
    out = []
    for op in ARITH_OPS:
        # 2.42 keeps __name__ for atan2 (see KNOWN_DIFFERENCES): a name-less left side
        lhs = GAUGE_SHIFTED if op == "atan2" else CX
        out += _qs(
            f"{lhs} {op} 3",
            f"2 {op} rate({L_REQ}[5m])",
            f"{DUR_SUM} {op} {DUR_COUNT}",
            f"7 {op} 3",
        )
    out += _qs(
        f"{CX} / 0",
        f"-{CX} % 0",
        f"{UP} * {UP}",
        f"(({CX} + 1) * 2 - 3) / 4",
        f"{SVC_DST} + {SVC_SRC}",
        f"{SVC_DST} / {SVC_SRC}",
    )
    return out


def comparison() -> list[Q]:
    out = []
    for op in COMPARISONS:
        out += _qs(f"{CX} {op} 2", f"{CX} {op} {CX} offset 5m", filter=True)
        out += _qs(f"{CX} {op} bool 2", f"{CX} {op} bool {CX} offset 5m", f"1 {op} bool 2")
    out += _qs(f"2 < {CX}", f"{RATE} > 0.5", filter=True)
    out += _qs(f"rate({REQ_BYTES}_sum[5m]) > bool rate({RSP_BYTES}_sum[5m])", f"{UP} == bool 1")
    return out


def set_operators() -> list[Q]:
    return _qs(
        f'{REQ} and {REQ}{{response_code="200"}}',
        f"{UP} and on(instance) {CX} > 0",
        f"{RATE} > 1 or {RATE} < 0.1",
        f'{REQ} unless on({SVC}) {REQ}{{response_flags="UC"}}',
        f"{UP} or vector(0)",
        f"rate({LAT}_bucket[5m]) and ignoring(le) rate({LAT}_count[5m]) > 0",
        f'{CX} unless on(pod) {CX}{{cluster_name=~"outbound.*cart.*"}}',
        f"sum by (pod) ({CX}) or on(pod) {UP}",
        f"{L_REQ} unless {L_RSP}",
    )


def vector_matching() -> list[Q]:
    by_code = f"sum by ({SVC}, response_code) (rate({REQ_DST}[5m]))"
    by_svc = f"sum by ({SVC}) (rate({REQ_DST}[5m]))"
    return _qs(
        f"{by_code} / ignoring(response_code) group_left {by_svc}",
        f"{by_svc} / ignoring(response_code) group_right {by_code}",
        f"{by_code} / on({SVC}) group_left {by_svc}",
        f"rate({LAT}_bucket[5m]) / ignoring(le) group_left rate({LAT}_count[5m])",
        f"{CX} / on() group_left sum({CX})",
        f"{CX} * on(instance) group_left(job) {UP}",
        f"{UP} * on(pod) group_right(namespace) {CX}",
        f"rate({L_RSP}[5m]) / ignoring(classification, status_code) group_left rate({L_REQ}[5m])",
        f"{SVC_DST} / on({SVC}) {SVC_SRC}",
        f"sum by (pod) ({CX}) * ignoring(pod) group_left sum({UP})",
    )


AGGREGATIONS = ("sum", "avg", "min", "max", "count", "group", "stddev", "stdvar")


def aggregations() -> list[Q]:
    out = []
    for op in AGGREGATIONS:
        out += _qs(
            f"{op}({RATE})",
            f"{op} by ({SVC}) ({RATE})",
            f"{op} without ({TARGET}, reporter) ({RATE})",
            f"{op}({CX}) by (cluster_name)",
        )
    out += _qs(f"sum by (le) (rate({DUR}_bucket[5m]))", f"avg without (le) ({LAT}_bucket)")
    return out


def topk_bottomk() -> list[Q]:
    """Over values without ties: which of several equal series is kept depends on each
    engine's internal order (see KNOWN_DIFFERENCES)."""
    return _qs(
        f"topk(3, {RATE})",
        f'bottomk(2, rate({REQ}{{response_code="200"}}[5m]))',
        f"topk by ({SVC}) (1, {RATE})",
        f"bottomk without ({TARGET}) (1, rate({L_REQ}[5m]))",
        f"topk(1, sum by ({SVC}) ({RATE}))",
        f"topk(2, rate({DUR}_sum[5m]))",
        f"bottomk(1, sum by (pod) (rate({REQ}[10m])))",
    )


def quantiles() -> list[Q]:
    return _qs(
        f"quantile(0.9, {RATE})",
        f"quantile by ({SVC}) (0.5, {RATE})",
        f"quantile(0, {CX})",
        f"quantile(1, {CX}) by (pod)",
        f"quantile(1.5, {RATE})",
        f"quantile(-1, {RATE})",
        f"quantile without ({TARGET}) (0.25, rate({L_REQ}[5m]))",
    )


def count_values() -> list[Q]:
    return _qs(
        f'count_values("connections", {CX})',
        f'count_values by (pod) ("v", {UP})',
        f'count_values("rate", round(sum by ({SVC}) ({RATE}), 0.01))',
        f'count_values without (cluster_name) ("c", {CX})',
    )


RATE_FUNCS = ("rate", "irate", "increase", "delta", "idelta", "deriv", "resets", "changes")
RATE_INPUTS = (f"{REQ}[5m]", f"{L_REQ}[1m]", f"{OVF}[10m]", f"{DUR}_sum[2m]", f"{CX}[5m]")


def rate_family() -> list[Q]:
    out = [Q(f"{f}({m})") for f, m in product(RATE_FUNCS, RATE_INPUTS)]
    out += _qs(
        f"predict_linear({CX}[10m], 600)",
        f"predict_linear({L_RSP}[5m], 3600)",
        f"predict_linear({UP}[5m], -60)",
        f"sum by ({SVC}) (increase({REQ_DST}[10m]))",
        f"rate({LAT}_bucket[5m])",
    )
    return out


OVER_TIME = ("avg", "min", "max", "sum", "count", "last", "present", "stddev", "stdvar")


def over_time() -> list[Q]:
    out = []
    for f in OVER_TIME:
        out += _qs(f"{f}_over_time({CX}[10m])", f"{f}_over_time({L_RSP}[5m])")
    out += _qs(
        f"quantile_over_time(0.9, {CX}[10m])",
        f"quantile_over_time(0.5, {L_REQ}[5m])",
        f"quantile_over_time(0, {UP}[2m])",
        f"quantile_over_time(1.2, {CX}[5m])",
        f"stddev_over_time(rate({L_REQ}[1m])[10m:1m])",
    )
    return out


def histogram_quantile() -> list[Q]:
    dst = f'sum by (le, {SVC}) (rate({DUR}_bucket{{reporter="destination"}}[5m]))'
    out = [Q(f"histogram_quantile({q}, {dst})") for q in ("0.5", "0.9", "0.99", "0", "1")]
    out += _qs(
        f"histogram_quantile(-0.5, {dst})",
        f"histogram_quantile(1.5, {dst})",
        f"histogram_quantile(0.95, sum by (le) (rate({REQ_BYTES}_bucket[5m])))",
        f"histogram_quantile(0.5, sum by (le, reporter) (rate({RSP_BYTES}_bucket[10m])))",
        f"histogram_quantile(0.9, rate({DUR}_bucket[2m]))",
        f"histogram_quantile(0.95, sum by (le, direction) (rate({LAT}_bucket[5m])))",
        f"histogram_quantile(0.75, {LAT}_bucket)",
        f'histogram_quantile(0.5, {REQ_BYTES}_bucket{{le!="+Inf"}})',
        f"histogram_quantile(0.99, sum by (le) (rate({DUR}_bucket[1m])))",
    )
    return out


def native_histogram_functions() -> list[Q]:
    """Functions of native histograms, which ignore float samples in both versions."""
    return _qs(
        f"histogram_count({DUR}_count)", f"histogram_sum(rate({LAT}_sum[5m]))", may_be_empty=True
    )


def labels() -> list[Q]:
    return _qs(
        f'label_replace({UP}, "host", "$1", "instance", "(.*):.*")',
        f'label_replace({UP}, "pod", "", "pod", ".*")',
        f'label_replace({CX}, "cluster", "$1", "cluster_name", "nomatch(.*)")',
        f'label_replace({CX}, "kind", "${{1}}-x", "cluster_name", "(in|out)bound.*")',
        f'label_replace({REQ_DST}, "__name__", "istio_calls", "", "")',
        f'label_replace(rate({L_REQ}[5m]), "dir", "$2", "direction", "(in|out)(bound)")',
        f'label_join({UP}, "target", "/", "namespace", "pod")',
        f'label_join({CX}, "job", "", "cluster_name")',
        f'label_join(sum by (pod, namespace) ({CX}), "id", ":", "namespace", "pod", "namespace")',
    )


def time_functions() -> list[Q]:
    names = (
        "day_of_month",
        "day_of_week",
        "day_of_year",
        "days_in_month",
        "hour",
        "minute",
        "month",
        "year",
    )
    out = [Q(f"{f}()") for f in names]
    out += [Q(f"{f}(timestamp({UP}))") for f in names]
    out += _qs(
        "time()",
        f"timestamp({UP})",
        f"timestamp({CX} offset 2m)",
        f"time() - timestamp({L_REQ})",
        "minute(vector(1700006400))",
        "day_of_week(vector(1704067200))",
    )
    return out


MATH = ("abs", "ceil", "floor", "exp", "ln", "log2", "log10", "sqrt", "sgn")
TRIG = (
    "sin",
    "cos",
    "tan",
    "asin",
    "acos",
    "atan",
    "sinh",
    "cosh",
    "tanh",
    "asinh",
    "acosh",
    "atanh",
    "deg",
    "rad",
)


def math_functions() -> list[Q]:
    out = [Q(f"{f}({GAUGE_SHIFTED})") for f in MATH]
    out += [Q(f"{f}({RATE})") for f in ("exp", "ln", "sqrt", "ceil")]
    out += _qs(
        f"round({GAUGE_SHIFTED})",
        f"round({RATE}, 0.5)",
        f"round(sum by ({SVC}) ({RATE}), 0.01)",
        f"clamp({GAUGE_SHIFTED}, -1, 1)",
        f"clamp_min({RATE}, 0.5)",
        f"clamp_max({GAUGE_SHIFTED}, 0)",
    )
    out.append(Q(f"clamp({CX}, 5, 1)", may_be_empty=True))
    return out


def trigonometry() -> list[Q]:
    return [Q(f"{f}({GAUGE_UNIT})") for f in TRIG] + _qs("pi()", f"sin({RATE} * pi())")


def sorting() -> list[Q]:
    return _qs(
        f"sort({RATE})",
        f"sort_desc(sum by ({SVC}) ({RATE}))",
        f"sort_desc(rate({DUR}_sum[5m]))",
        f"sort(rate({L_REQ}[5m]))",
        ordered=True,
    )


def absent() -> list[Q]:
    return _qs(
        f"absent({UP})",
        f"absent({REQ_DST})",
        'absent(nonexistent{job="x", instance=~"a.*"})',
        'absent(up{job="nope"})',
        f"absent_over_time({UP}[5m])",
        'absent_over_time(nonexistent{a="b"}[5m])',
        "absent(sum(nonexistent))",
        may_be_empty=True,
    )


def scalar_vector() -> list[Q]:
    """Thresholds come from exact aggregations (``quantile``, ``max``), not ``avg``: 2.42's
    incremental mean can land one bit off an exact mean that 3.x computes (KNOWN_DIFFERENCES)."""
    return _qs(
        f"scalar(sum({UP}))",
        f"scalar({UP})",
        "vector(1)",
        "vector(time())",
        f"scalar(sum({CX})) * {UP}",
        f"{CX} >= scalar(quantile(0.5, {CX}))",
        f"vector(scalar(sum(rate({L_REQ}[5m]))))",
    )


def errors() -> list[Q]:
    """Queries both versions refuse (the message texts differ between versions)."""
    return [
        *_qs(f"{REQ} + on({SVC}) {REQ}", f"{UP} * on(job) group_left {CX}", error=True),
        Q(f'label_replace({UP}, "a", "b", "c", "(")', error=True),
        Q(f'label_replace({CX}, "cluster_name", "x", "", "")', error=True),
        Q(
            f"rate({L_RSP}[5m]) / ignoring(classification, status_code) rate({L_REQ}[5m])",
            error=True,
        ),
        Q(f"{UP}[5m]", range_only=True, error=True),
        Q('"mesh"', range_only=True, error=True),
    ]


FAMILIES: dict[str, Callable[[], list[Q]]] = {
    "selectors": selectors,
    "offset": offsets,
    "at": at_modifier,
    "subquery": subqueries,
    "literals": literals,
    "unary": unary,
    "arithmetic": arithmetic,
    "comparison": comparison,
    "set_operators": set_operators,
    "vector_matching": vector_matching,
    "aggregation": aggregations,
    "topk_bottomk": topk_bottomk,
    "quantile": quantiles,
    "count_values": count_values,
    "rate_family": rate_family,
    "over_time": over_time,
    "histogram_quantile": histogram_quantile,
    "native_histogram_functions": native_histogram_functions,
    "labels": labels,
    "time": time_functions,
    "math": math_functions,
    "trigonometry": trigonometry,
    "sort": sorting,
    "absent": absent,
    "scalar_vector": scalar_vector,
    "errors": errors,
}


def cases() -> list[Case]:
    """Every query to compare, in a stable order."""
    return list(_cases())


def _cases() -> Iterator[Case]:
    n = 0
    for family, make in FAMILIES.items():
        for q in make():
            flags = {"ordered": q.ordered, "may_be_empty": q.may_be_empty, "error": q.error}
            if not q.range_only:
                yield Case(
                    family,
                    q.expr,
                    "instant",
                    INSTANTS[n % len(INSTANTS)],
                    **{**flags, "may_be_empty": q.may_be_empty or q.filter},
                )
                n += 1
            if not q.instant_only:
                yield Case(family, q.expr, "range", **{**flags, "ordered": False})
