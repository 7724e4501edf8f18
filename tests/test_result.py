"""Result conversions: Prometheus API JSON, Arrow and pandas."""

from __future__ import annotations

import math

import numpy as np
import pytest

from engine.promql.evaluator import instant_query, range_query
from engine.result import format_api_float, format_api_time
from engine.store import StoreBuilder


@pytest.fixture(scope="module")
def db():
    b = StoreBuilder()
    ts = np.arange(0, 600_000, 15_000)
    for job, scale in (("b", 2.0), ("a", 1.0)):
        i = b.series_id((("__name__", "req_total"), ("job", job)))
        b.append(np.full(len(ts), i), ts, np.arange(len(ts)) * scale)
    return b.finish()


@pytest.mark.parametrize(
    "value, text",
    [
        (0.1, "0.1"),
        (1.0, "1"),
        (-2.5, "-2.5"),
        (1e21, "1e+21"),
        (1e20, "100000000000000000000"),
        (1e-7, "1e-07"),
        (1e-6, "0.000001"),
        (math.nan, "NaN"),
        (math.inf, "+Inf"),
        (-math.inf, "-Inf"),
        (123456789.125, "123456789.125"),
    ],
)
def test_api_float_format_matches_prometheus(value, text):
    assert format_api_float(value) == text


def test_api_time_is_seconds_integral_when_whole():
    assert format_api_time(1_700_000_000_000) == 1_700_000_000
    assert format_api_time(1_700_000_000_500) == 1_700_000_000.5


def test_instant_vector_json(db):
    data = instant_query(db, "req_total", 300_000).to_prometheus_json()
    assert data["resultType"] == "vector"
    got = {r["metric"]["job"]: r["value"] for r in data["result"]}
    assert got == {"a": [300, "20"], "b": [300, "40"]}
    assert data["result"][0]["metric"]["__name__"] == "req_total"


def test_range_matrix_json_sorted_by_labels(db):
    data = range_query(db, "rate(req_total[1m])", 120_000, 240_000, 60_000).to_prometheus_json()
    assert data["resultType"] == "matrix"
    assert [r["metric"] for r in data["result"]] == [{"job": "a"}, {"job": "b"}]
    # 3 increments over the 45 s between the first and last sample, extrapolated by the
    # 15 s to the window start, per second: Prometheus' operation order, not 1/15.
    rate = repr(3.0 * ((45 + 15 + 0) / 45 / 60))
    assert rate == "0.06666666666666665"
    assert data["result"][0]["values"] == [[120, rate], [180, rate], [240, rate]]


def test_scalar_and_string_json(db):
    assert instant_query(db, "1 + 2", 60_000).to_prometheus_json() == {
        "resultType": "scalar",
        "result": [60, "3"],
    }
    assert instant_query(db, '"hi"', 60_000).to_prometheus_json() == {
        "resultType": "string",
        "result": [60, "hi"],
    }


def test_arrow_and_pandas_are_long_format(db):
    r = range_query(db, "req_total", 0, 60_000, 30_000)
    table = r.to_arrow()
    assert table.column_names == ["__name__", "job", "timestamp", "value"]
    assert table.num_rows == 6
    df = r.to_pandas()
    assert sorted(df["job"].unique()) == ["a", "b"]
    assert df.loc[df["job"] == "b", "value"].tolist() == [0.0, 4.0, 8.0]


def test_max_samples_limit_gives_prometheus_error(db):
    from engine.errors import TooManySamplesError
    from engine.promql.evaluator import QueryOptions

    with pytest.raises(TooManySamplesError, match="query processing would load too many samples"):
        range_query(db, "req_total", 0, 300_000, 15_000, QueryOptions(max_samples=10))
    # under the limit the same query runs
    assert len(range_query(db, "req_total", 0, 300_000, 15_000, QueryOptions(max_samples=100))) == 2


@pytest.mark.parametrize(
    "start, limit_ok",
    [
        # instant: series 1 holds its 10-sample window, then its own point (11); series 2
        # its window on top of series 1's point, then its own (12)
        (585_000, 12),
        # 10 steps: series 1's last window plus its 10 points (20); series 2 the same on
        # top of series 1's 10 points (30)
        (450_000, 30),
    ],
)
def test_max_samples_counts_range_windows_as_prometheus_loads_them(db, start, limit_ok):
    """A function over a range selector holds, series by series, the points output so far
    plus the current window (Prometheus' ``matrixIterSlice`` counts each sample it loads),
    so the limit can fail although the result itself is small."""
    from engine.errors import TooManySamplesError
    from engine.promql.evaluator import QueryOptions

    expr = "count_over_time(req_total[150s])"
    with pytest.raises(TooManySamplesError):
        range_query(db, expr, start, 585_000, 15_000, QueryOptions(max_samples=limit_ok - 1))
    res = range_query(db, expr, start, 585_000, 15_000, QueryOptions(max_samples=limit_ok))
    assert set(res.values.tolist()) == {10.0}
