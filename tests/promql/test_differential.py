"""Differential test: our engine against a real Prometheus on generated mesh data (issue 3 §5).

One deterministic mesh capture (``fixtures/generate.py``: Istio/Envoy and Linkerd proxies,
3 h at 30 s, proxy restarts, an incident, missed scrapes, per-target phase and jitter) is
written as ONE OpenMetrics file with timestamps. Debian's ``prometheus`` (2.42) serves the
blocks ``promtool tsdb create-blocks-from openmetrics`` makes of it; our engine loads the
same file with ``engine.open`` (a dump: samples as they are, no stale markers, which is
exactly what the backfilled blocks hold). Every query of the catalogue
(``differential_queries.py``: families x metrics x modifiers, instant and range) goes to
both, over Prometheus' HTTP API and :meth:`engine.store.Store.query` /
:meth:`~engine.store.Store.query_range`:

- the result types and the series sets (label sets) must be equal;
- per series, the timestamps must be equal and the values within a relative ``1e-12``
  (NaN equals NaN; zero and infinities exactly);
- for ``sort``/``sort_desc`` instant queries, the order of the values too;
- queries Prometheus refuses must be refused by our engine with one of its own errors
  (the message texts changed between versions and are not compared);
- every answer must hold something, except the few cases flagged ``may_be_empty``:
  comparing two empty answers proves nothing.

The oracle is 2.42, the target 3.14. Every difference by design between them is in
:data:`KNOWN_DIFFERENCES`: a family is either skipped (reported as a skipped test, with its
reason) or avoided by the data or the query shapes, and then a guard test here proves that
the data does avoid it. The README's "Known differences from Prometheus" lists them too.

Not compared: annotations (2.42 has fewer), and result order apart from ``sort*``.

Cost: generating the data (about 320 MB of OpenMetrics text, deleted once loaded and
backfilled), one backfill, one server start and some 760 queries on each side: under a
minute on 2 cores once numba's cache is warm.
"""

from __future__ import annotations

import math
import shutil
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from crosscheck import Answer, compare_answers, extrapolation_rules_differ, fmt_labels
from differential_queries import (
    FAMILIES,
    INSTANTS,
    MAX_REACH_S,
    RANGE_END,
    RANGE_START,
    STEP,
    T0,
    Case,
    cases,
)
from oracle import PrometheusError, PrometheusServer, backfill_openmetrics, require_prometheus

import engine
from engine.errors import PromReplayError
from engine.labels import format_label_float
from engine.promql import nodes as N
from engine.promql.parse import FUNCTIONS, parse_expr

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # `fixtures` lives at the repository root, next to `engine`
    sys.path.insert(0, str(ROOT))

from fixtures.config import MeshConfig, preset  # noqa: E402
from fixtures.generate import Summary, generate  # noqa: E402

#: The data: the ``small`` mesh for 3 h at a 30 s interval. Seed 3 and restarts without pod
#: replacements give proxy restarts inside the compared span (counter resets) while no
#: series starts there (see ``test_data_never_triggers_the_old_rate_extrapolation``).
CONFIG: MeshConfig = preset(
    "small",
    seed=3,
    duration_ms=3 * 3_600_000,
    interval_ms=30_000,
    proxy_restarts_per_pod_hour=0.2,
    replacements_per_pod_hour=0.0,
)


@dataclass(frozen=True)
class KnownDifference:
    """A difference by design between the 2.42 oracle and 3.14 semantics.

    ``handling`` is ``"skipped"`` (no query of it is compared; a skipped test reports it)
    or says how the data or the queries avoid it. ``functions`` names the functions it
    removes from the coverage requirement."""

    example: str
    reason: str
    handling: str
    functions: tuple[str, ...] = ()


KNOWN_DIFFERENCES: dict[str, KnownDifference] = {
    "holt_winters": KnownDifference(
        "holt_winters(x[10m], 0.5, 0.5)",
        "renamed double_exponential_smoothing in 3.0 and made experimental; holt_winters no "
        "longer parses in 3.x, double_exponential_smoothing does not exist in 2.42",
        "skipped",
    ),
    "functions_new_in_3x": KnownDifference(
        "first_over_time(x[5m])",
        "stable in 3.x but unknown to 2.42: first_over_time (3.7), histogram_avg, "
        "histogram_stddev, histogram_stdvar (native histograms only)",
        "skipped",
        ("first_over_time", "histogram_avg", "histogram_stddev", "histogram_stdvar"),
    ),
    "histogram_fraction_classic": KnownDifference(
        "histogram_fraction(0, 100, sum by (le) (rate(x_bucket[5m])))",
        "3.4 computes histogram_fraction over classic le buckets; 2.42 only over native "
        "histograms and returns nothing for float series",
        "skipped",
        ("histogram_fraction",),
    ),
    "syntax_new_in_3x": KnownDifference(
        'x[300] offset 60, x[5m+1m], {"a.b"}, x anchored, a + fill(0) b, a </ b',
        "durations as numbers (3.0), duration expressions (3.14), quoted UTF-8 names "
        "(3.0), anchored/smoothed, fill(), trim operators and experimental functions are "
        "parse errors in 2.42",
        "skipped",
    ),
    "atan2_keeps_name": KnownDifference(
        "x atan2 3",
        "2.42 keeps __name__ on atan2 results (its shouldDropMetricName lacks ATAN2); 3.x "
        "drops it like every other arithmetic operator",
        "avoided: atan2 is only applied to name-less operands",
    ),
    "rate_extrapolation_order": KnownDifference(
        "rate(x[5m]) over a window in which x starts",
        "2.51 (#13725) caps the start-side extrapolation of a counter at its zero point "
        "after the 1.1x-average-interval test, 2.42 before it; they differ when the first "
        "sample is far from the window start and the counter is young (new series)",
        "avoided: no series starts inside the compared span; a guard test evaluates both "
        "rules on every window of the span",
    ),
    "closed_windows": KnownDifference(
        "x[5m] with a sample exactly at t - 5m; x[5m:1m] at t = 10m",
        "3.0 made range and lookback windows left-open (t - r, t]; 2.42 closed [t - r, t] "
        "(also for the epoch-aligned steps of subqueries)",
        "avoided: no sample is on a whole second (guard test) while every time, range "
        "and offset is whole seconds, and evaluation times are 7 s past a minute so that "
        "no subquery step falls on a window edge",
    ),
    "le_normalisation": KnownDifference(
        'x_bucket{le="1"}',
        "3.0 normalises le/quantile label values at ingestion (1 -> 1.0); 2.42 keeps them",
        "avoided: the OpenMetrics view is written normalised (guard test)",
    ),
    "compensated_sums": KnownDifference(
        "sum(a) - sum(b) with sum(a) ~ sum(b)",
        "3.x sums with Kahan-Neumaier compensation (sum, avg, *_over_time, stddev...), "
        "2.42 naively: results differ in the last bit, which cancellation magnifies",
        "avoided: no query subtracts or compares aggregates that nearly cancel",
    ),
    "topk_ties": KnownDifference(
        "bottomk(1, x) where several series hold the same value",
        "which of several equal series topk/bottomk keep depends on each engine's "
        "internal series order",
        "avoided: topk/bottomk only rank values that differ",
    ),
    "regex_dot_newline": KnownDifference(
        'x{a=~".*"} where a holds a newline',
        "3.0 regex '.' matches newlines; 2.42 not",
        "avoided: no label value holds a newline (guard test)",
    ),
}

SKIPPED = sorted(k for k, d in KNOWN_DIFFERENCES.items() if d.handling == "skipped")
CASES = cases()


# ---- the comparator's own tests (no Prometheus needed) ----------------------------------------


def _vec(*series: tuple[dict[str, str], float]) -> Answer:
    data = {
        "resultType": "vector",
        "result": [{"metric": m, "value": [1.5, str(v)]} for m, v in series],
    }
    return Answer.parse(data)


def test_compare_answers_accepts_equal_answers_in_any_order() -> None:
    a = _vec(({"a": "1"}, 1.0), ({"a": "2"}, float("nan")))
    b = _vec(({"a": "2"}, float("nan")), ({"a": "1"}, 1.0 + 1e-15))
    assert compare_answers(a, b) == []


@pytest.mark.parametrize(
    ("ours", "problem"),
    [
        (_vec(({"a": "1"}, 1.0000001)), "Prometheus 1.0, ours 1.0000001"),
        (_vec(({"a": "1"}, 0.0)), "Prometheus 1.0, ours 0.0"),
        (_vec(({"a": "1"}, 1.0), ({"a": "3"}, 1.0)), 'only ours has {a="3"}'),
        (_vec(), 'only Prometheus has {a="1"}'),
        (_vec(({"a": "1", "b": ""}, 1.0)), "only ours has"),
    ],
)
def test_compare_answers_reports_each_difference(ours: Answer, problem: str) -> None:
    assert any(problem in p for p in compare_answers(_vec(({"a": "1"}, 1.0)), ours))


def test_compare_answers_checks_types_timestamps_and_order() -> None:
    m1 = {"resultType": "matrix", "result": [{"metric": {}, "values": [[1, "1"], [2, "2"]]}]}
    m2 = {"resultType": "matrix", "result": [{"metric": {}, "values": [[1, "1"], [3, "2"]]}]}
    assert "timestamps" in compare_answers(Answer.parse(m1), Answer.parse(m2))[0]
    scalar = Answer.parse({"resultType": "scalar", "result": [1, "1"]})
    assert compare_answers(Answer.parse(m1), scalar) == [
        "result type: Prometheus matrix, ours scalar"
    ]
    asc = _vec(({"a": "1"}, 1.0), ({"a": "2"}, 2.0))
    desc = _vec(({"a": "2"}, 2.0), ({"a": "1"}, 1.0))
    assert compare_answers(asc, desc) == []
    assert compare_answers(asc, desc, ordered=True)[0].startswith("order of values")


# ---- the catalogue's coverage (no Prometheus needed) ------------------------------------------


def _nodes(case: Case) -> Iterator[N.Expr]:
    yield from N.walk(parse_expr(case.expr))


def test_catalogue_size_and_modes() -> None:
    modes = Counter(c.mode for c in CASES)
    assert len(CASES) >= 200 and modes["instant"] >= 100 and modes["range"] >= 100, modes
    assert {c.family for c in CASES} == set(FAMILIES)
    assert len({c.id for c in CASES}) == len(CASES), "duplicate queries"
    assert all(c.time in INSTANTS for c in CASES if c.mode == "instant")


def test_catalogue_covers_every_shared_function() -> None:
    """Every stable 3.14 function that 2.42 has with the same semantics is queried."""
    used = {n.func for c in CASES for n in _nodes(c) if isinstance(n, N.Call)}
    excluded = {f for d in KNOWN_DIFFERENCES.values() for f in d.functions}
    stable = {name for name, sig in FUNCTIONS.items() if not sig.experimental}
    assert sorted(stable - excluded - used) == []
    assert not used & excluded


def test_catalogue_covers_every_operator_family() -> None:
    nodes = [n for c in CASES for n in _nodes(c)]
    aggs = {n.op for n in nodes if isinstance(n, N.AggregateExpr)}
    assert aggs >= {
        "sum",
        "avg",
        "min",
        "max",
        "count",
        "group",
        "stddev",
        "stdvar",
        "topk",
        "bottomk",
        "quantile",
        "count_values",
    }
    assert any(n.by for n in nodes if isinstance(n, N.AggregateExpr))
    assert any(n.without for n in nodes if isinstance(n, N.AggregateExpr))
    binops = [n for n in nodes if isinstance(n, N.BinaryExpr)]
    assert {n.op for n in binops} >= {
        "+",
        "-",
        "*",
        "/",
        "%",
        "^",
        "atan2",
        "==",
        "!=",
        ">",
        "<",
        ">=",
        "<=",
        "and",
        "or",
        "unless",
    }
    assert any(n.return_bool for n in binops)
    matching = [n.matching for n in binops if n.matching is not None]
    assert any(m.on for m in matching) and any(not m.on and m.labels for m in matching)
    assert {m.card for m in matching} >= {"many-to-one", "one-to-many"}
    selectors = [n for n in nodes if isinstance(n, N.VectorSelector)]
    assert {m.op for s in selectors for m in s.matchers} == {"=", "!=", "=~", "!~"}
    assert any(s.offset < 0 for s in selectors) and any(s.offset > 0 for s in selectors)
    ats = {str(s.at) for s in selectors if s.at is not None}
    assert len(ats) >= 3, ats  # a time, start() and end()
    subqueries = [n for n in nodes if isinstance(n, N.SubqueryExpr)]
    assert any(s.step is None for s in subqueries) and any(s.offset for s in subqueries)
    assert any(isinstance(n, N.UnaryExpr) for n in nodes)
    assert any(isinstance(n, N.StringLiteral) for n in nodes)
    assert any(isinstance(n, N.NumberLiteral) and math.isnan(n.value) for n in nodes)


def window_start_ms(node: N.Expr, t: int) -> float:
    """The earliest start of a range window (range selector or subquery) that ``node``
    reads when evaluated at ``t`` (ms) or later; ``inf`` when it has none. Instant
    lookback is left out: it extrapolates nothing. ``@ start()``/``@ end()`` are taken as
    ``t``, which is never later than what they mean."""

    def pinned(at: N.AtModifier) -> int:
        return t if at is None or isinstance(at, str) else round(at * 1000)

    if isinstance(node, N.MatrixSelector):
        return pinned(node.vs.at) - int(node.vs.offset) - int(node.range)
    if isinstance(node, N.SubqueryExpr):
        start = pinned(node.at) - int(node.offset) - int(node.range)
        return min(start, window_start_ms(node.expr, start))
    return min((window_start_ms(c, t) for c in N.children(node)), default=math.inf)


def test_catalogue_stays_within_the_guarded_span() -> None:
    """The rate guard below checks windows from ``RANGE_START - MAX_REACH_S`` on: no query
    reads a window that starts earlier."""
    lo = (RANGE_START - MAX_REACH_S) * 1000
    too_early = [
        c.expr
        for c in CASES
        if window_start_ms(parse_expr(c.expr), (c.time or RANGE_START) * 1000) < lo
    ]
    assert too_early == []
    assert window_start_ms(parse_expr("rate(x[5m] offset 1m)"), lo + 360_000) == lo
    assert window_start_ms(parse_expr("max_over_time(x[1m:] @ 1000)"), lo) == 940_000
    assert RANGE_START % 60 == 7 and STEP % 60 == 0 and all(t % 60 == 7 for t in INSTANTS)


@pytest.mark.parametrize("name", SKIPPED)
def test_known_difference(name: str) -> None:
    d = KNOWN_DIFFERENCES[name]
    pytest.skip(f"2.42 and 3.14 differ by design ({d.example}): {d.reason}")


# ---- the data -------------------------------------------------------------------------------


@dataclass
class MeshData:
    """The generated data, twice: in our store, and as TSDB blocks for Prometheus."""

    db: engine.Store
    blocks: Path
    summary: Summary


@pytest.fixture(scope="module")
def mesh_data(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MeshData]:
    """Generate the OpenMetrics file, load it into our store, backfill it into blocks and
    delete it (about 320 MB) at once; the blocks (a few MB) go at teardown."""
    _, promtool = require_prometheus()  # the data serves only the comparison
    assert CONFIG.start_ms == T0 * 1000, "differential_queries.T0 must be the first slot"
    folder = tmp_path_factory.mktemp("differential")
    om, blocks = folder / "mesh.om", folder / "data"
    try:
        summary = generate(CONFIG, openmetrics=om)
        db = engine.open(om)
        backfill_openmetrics(om, blocks, promtool)
        om.unlink()
        yield MeshData(db, blocks, summary)
    finally:
        om.unlink(missing_ok=True)
        shutil.rmtree(blocks, ignore_errors=True)


@pytest.mark.prometheus
def test_data_never_triggers_the_old_rate_extrapolation(mesh_data: MeshData) -> None:
    """The 2.42 and 3.x extrapolation rules agree on every window of every series that any
    query of the catalogue can evaluate (whole-second window ends from ``RANGE_START -
    MAX_REACH_S`` to the end of the data, every range given to rate/increase/delta).

    A window can only disagree when the gap from its start to its first sample is at least
    1.1 average intervals, so when that sample starts the series or follows a gap (a missed
    scrape, a series that went away): only those samples are examined. ``rate`` over a
    subquery reads the points the subquery makes at every step, which start or pause only
    where the raw series do."""
    ranges = sorted(
        {
            int(n.args[0].range)
            for c in CASES
            for n in _nodes(c)
            if isinstance(n, N.Call)
            and n.func in ("rate", "increase", "delta")
            and isinstance(n.args[0], N.MatrixSelector)
        }
    )
    assert ranges, "no rate/increase/delta over a range selector in the catalogue"
    lo, hi = (RANGE_START - MAX_REACH_S) * 1000, mesh_data.summary.end_ms
    found = []
    for labels, ts, vs in mesh_data.db.select('{__name__=~".+"}'):
        gap_after = np.flatnonzero(np.diff(ts) > 1.05 * CONFIG.interval_ms) + 1
        for first in [0, *gap_after.tolist()]:
            for r in ranges:
                for t in extrapolation_rules_differ(ts, vs, first, r, lo, hi)[:1].tolist():
                    found.append(
                        f"{fmt_labels(tuple(sorted(labels.items())))}[{r // 1000}s]"
                        f" at {t / 1000:.0f}"
                    )
    assert found == [], f"{len(found)} windows where 2.42 extrapolates differently: {found[:5]}"
    # and the span is not trivially clean: counters reset in it (proxy restarts)
    span = RANGE_END - RANGE_START
    resets = mesh_data.db.query(f'sum(resets({{__name__=~".+_total"}}[{span}s]))', time=RANGE_END)
    assert resets.values[0] > 0


@pytest.mark.prometheus
def test_data_is_off_every_window_edge_and_normalised(mesh_data: MeshData) -> None:
    """No sample on a whole second (so never on the edge of a window or lookback of a
    whole-second query), ``le`` written as 3.x normalises it, no newline in any label."""
    series = mesh_data.db.select('{__name__=~".+"}')
    assert sum(len(ts) for _, ts, _ in series) == mesh_data.summary.samples
    on_second = sum(int((ts % 1000 == 0).sum()) for _, ts, _ in series)
    assert on_second == 0
    les = {lab["le"] for lab, _, _ in series if "le" in lab}
    assert les and all(le == format_label_float(float(le)) for le in les)
    assert not any("\n" in v for lab, _, _ in series for v in lab.values())
    # the compared span, and every window it reads, lies inside the data
    assert T0 * 1000 < (RANGE_START - MAX_REACH_S) * 1000 < mesh_data.summary.end_ms
    assert RANGE_END * 1000 < mesh_data.summary.end_ms


# ---- the comparison ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def prometheus(mesh_data: MeshData) -> Iterator[PrometheusServer]:
    """Prometheus 2.42 on the blocks backfilled from the same OpenMetrics file (bound to
    127.0.0.1, stopped by its pid)."""
    with PrometheusServer(
        mesh_data.blocks.parent / "prometheus", data_dir=mesh_data.blocks
    ) as prom:
        yield prom


def run_case(case: Case, prom: PrometheusServer, db: engine.Store) -> tuple[list[str], int]:
    """Run ``case`` on both sides: what differs (empty when they agree), and how many
    points of Prometheus' answer were compared."""
    try:
        if case.mode == "instant":
            expected = prom.query(case.expr, case.time)
        else:
            expected = prom.query_range(case.expr, RANGE_START, RANGE_END, STEP)
    except PrometheusError as e:
        expected = e
    try:
        if case.mode == "instant":
            result = db.query(case.expr, time=case.time)
        else:
            result = db.query_range(case.expr, RANGE_START, RANGE_END, STEP)
        got: dict[str, Any] | Exception = result.to_prometheus_json()
    except PromReplayError as e:
        got = e
    except Exception as e:  # noqa: BLE001 - a crash is a finding, reported with the rest
        return [f"ours crashed: {type(e).__name__}: {e}"], 0
    if case.error:
        if not isinstance(expected, Exception):
            return ["Prometheus answered a query the catalogue expects it to refuse"], 0
        if not isinstance(got, Exception):
            return [f"ours answered; Prometheus refused: {expected}"], 0
        return [], 0
    if isinstance(expected, Exception):
        return [f"Prometheus refused it: {expected}"], 0
    if isinstance(got, Exception):
        return [f"ours refused it: {type(got).__name__}: {got}"], 0
    e_answer, g_answer = Answer.parse(expected), Answer.parse(got)
    problems = compare_answers(e_answer, g_answer, ordered=case.ordered)
    if not problems and not case.may_be_empty and len(e_answer) == 0:
        problems.append("Prometheus' answer is empty: the query compares nothing")
    return problems, sum(len(points) for _, points in e_answer.series)


@pytest.mark.prometheus
def test_queries_match_prometheus(
    mesh_data: MeshData, prometheus: PrometheusServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every query of the catalogue, instant and range, against Prometheus 2.42.

    One test for the whole catalogue, so that the server is started once even when the
    suite runs under xdist; the failure message lists every query that differs."""
    failures, points = [], 0
    for case in CASES:
        problems, n = run_case(case, prometheus, mesh_data.db)
        points += n
        if problems:
            at = f"at {case.time}" if case.mode == "instant" else f"{RANGE_START}..{RANGE_END}"
            failures.append(
                f"[{case.family}] {case.mode} {at}: {case.expr}\n    " + "\n    ".join(problems)
            )
    modes = Counter(c.mode for c in CASES)
    with capsys.disabled():
        print(
            f"\ndifferential vs Prometheus 2.42: {len(CASES)} queries ({modes['instant']} "
            f"instant, {modes['range']} range) in {len(FAMILIES)} families, {points} points; "
            f"{len(failures)} differ; {len(SKIPPED)} known-difference families skipped"
        )
    assert not failures, f"{len(failures)} of {len(CASES)} queries differ:\n" + "\n".join(failures)
