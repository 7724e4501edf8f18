"""``QueryOptions.threads``: splitting a kernel's series across threads changes nothing.

The split is forced on small data by lowering :data:`engine.kernels.threads.MIN_WORK`, so
every range-vector kernel that takes part runs in several threads, and the results must be
identical (JSON equality: same series, same float bits as text) to a one-thread run.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import engine
from engine.kernels import threads
from engine.promql.evaluator import QueryOptions, range_query

DEMO = Path(__file__).resolve().parents[2] / "fixtures" / "demo-capture"

QUERIES = [
    "sum by (destination_workload) (rate(istio_requests_total[5m]))",
    "increase(istio_requests_total[10m])",
    "delta(envoy_cluster_upstream_cx_active[5m])",
    "irate(istio_requests_total[2m])",
    "idelta(envoy_cluster_upstream_cx_active[2m])",
    "max_over_time(envoy_cluster_upstream_cx_active[10m])",
    "min_over_time(envoy_cluster_upstream_cx_active[10m])",
    "avg_over_time(envoy_cluster_upstream_cx_active[7m])",
    "stddev_over_time(envoy_cluster_upstream_cx_active[7m])",
    "quantile_over_time(0.9, envoy_cluster_upstream_cx_active[15m])",
    "predict_linear(envoy_cluster_upstream_cx_active[10m], 600)",
    "changes(envoy_cluster_upstream_cx_active[10m])",
    "histogram_quantile(0.99, sum by (le, destination_workload) "
    "(rate(istio_request_duration_milliseconds_bucket[5m])))",
]


@pytest.fixture(scope="module")
def demo() -> engine.Store:
    return engine.open(DEMO)


@pytest.mark.parametrize("expr", QUERIES)
def test_threads_give_identical_results(demo, expr, monkeypatch):
    lo, hi = _span(demo)
    args = (demo, expr, lo + 600_000, hi, 30_000)
    one = range_query(*args, QueryOptions(threads=1)).to_prometheus_json()
    calls: list[tuple[int, int]] = []
    real = threads.split_rows

    def spy(n, rows, call, **kw):
        kw["min_work"] = 0
        return real(n, rows, lambda a, b: (calls.append((a, b)), call(a, b))[1], **kw)

    monkeypatch.setattr("engine.promql.functions.split_rows", spy)
    three = range_query(*args, QueryOptions(threads=3)).to_prometheus_json()
    assert len(calls) >= 2, "the query never split its series"
    assert one["result"], "the query returned nothing: a vacuous comparison"
    assert three == one


def _span(store: engine.Store) -> tuple[int, int]:
    stats = store.stats()
    return int(stats["min_time"] * 1000), int(stats["max_time"] * 1000)


@given(st.lists(st.integers(0, 1000), min_size=0, max_size=40), st.integers(1, 8))
def test_cuts_are_ordered_and_cover_all_rows(weights, parts):
    b = threads.cuts(np.array(weights, np.int64), parts)
    assert b[0] == 0 and b[-1] == len(weights)
    assert np.all(np.diff(b) > 0) or len(weights) == 0
    assert len(b) - 1 <= max(parts, 1)


@given(st.integers(0, 50), st.integers(1, 5), st.data())
def test_split_rows_matches_one_call(rows, n, data):
    weights = np.array(data.draw(st.lists(st.integers(0, 9), min_size=rows, max_size=rows)))
    base = np.arange(rows * 3, dtype=np.float64).reshape(rows, 3)

    def call(a, b):
        return base[a:b] * 2, np.arange(a, b)

    got = threads.split_rows(n, rows, call, weights=weights, min_work=0)
    want = call(0, rows)
    assert all(np.array_equal(g, w) for g, w in zip(got, want, strict=True))
