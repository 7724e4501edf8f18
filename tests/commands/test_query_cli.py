"""``promreplay query``: instant and range queries over a saved store, in every format."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest

from engine.cli import main
from engine.store import StoreBuilder

T0 = 1_700_000_000


@pytest.fixture(scope="module")
def store_path(tmp_path_factory):
    b = StoreBuilder()
    ts = (T0 + np.arange(0, 3600, 15)) * 1000
    for svc, per_scrape in (("reviews", 15.0), ("ratings", 7.5)):
        i = b.series_id((("__name__", "istio_requests_total"), ("destination_service_name", svc)))
        b.append(np.full(len(ts), i), ts, np.arange(len(ts)) * per_scrape)
    path = tmp_path_factory.mktemp("q") / "store.parquet"
    b.finish().save(path)
    return str(path)


def run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_instant_json_matches_api_shape(store_path, capsys):
    code, out, _ = run(
        capsys,
        "query",
        store_path,
        "sum by (destination_service_name) (rate(istio_requests_total[5m]))",
        "--time",
        "end-10m",
        "--format",
        "json",
    )
    assert code == 0
    doc = json.loads(out)
    assert doc["status"] == "success"
    got = {
        r["metric"]["destination_service_name"]: float(r["value"][1]) for r in doc["data"]["result"]
    }
    assert got == pytest.approx({"reviews": 1.0, "ratings": 0.5}, rel=1e-12)
    assert doc["data"]["result"][0]["value"][0] == T0 + 3585 - 600


def test_range_csv_and_rfc3339(store_path, capsys):
    start = "2023-11-14T22:23:20Z"  # T0 + 600
    code, out, _ = run(
        capsys,
        "query",
        store_path,
        "istio_requests_total",
        "--start",
        start,
        "--end",
        "2023-11-14T22:25:20Z",
        "--step",
        "1m",
        "--format",
        "csv",
    )
    assert code == 0
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0] == ["__name__", "destination_service_name", "timestamp", "value"]
    assert len(rows) == 1 + 2 * 3
    assert rows[1][2] == str(float(T0 + 600))


def test_table_and_plot(store_path, capsys, tmp_path):
    png = tmp_path / "p.png"
    code, out, err = run(
        capsys,
        "query",
        store_path,
        "rate(istio_requests_total[1m])",
        "--start",
        "start+5m",
        "--end",
        "end",
        "--plot",
        str(png),
    )
    assert code == 0
    assert "reviews" in out and "ratings" in out
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_bad_query_is_a_clean_error(store_path, capsys):
    code, _, err = run(capsys, "query", store_path, "sum(rate(x[5m])", "--format", "json")
    assert code == 1
    assert "parse error" in err and "Traceback" not in err


def test_bad_time_is_a_clean_error(store_path, capsys):
    code, _, err = run(capsys, "query", store_path, "up", "--time", "yesterday")
    assert code == 1
    assert "bad time 'yesterday'" in err


def test_threads_option(store_path, capsys, monkeypatch):
    monkeypatch.setattr("engine.kernels.threads.MIN_WORK", 0)  # split even this small store
    expr = "rate(istio_requests_total[5m])"
    outs = []
    for n in ("1", "2"):
        code, out, _ = run(
            capsys,
            "query",
            store_path,
            expr,
            "--start",
            "start+10m",
            "--format",
            "json",
            "--threads",
            n,
        )
        assert code == 0
        outs.append(json.loads(out)["data"]["result"])
    assert len(outs[0]) == 2 and outs[0] == outs[1]
    with pytest.raises(SystemExit):
        main(["query", store_path, expr, "--threads", "0"])
    assert "--threads: expected a positive integer, got '0'" in capsys.readouterr().err
