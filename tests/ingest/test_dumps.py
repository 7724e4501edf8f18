"""Single files: promtool dumps, OpenMetrics dumps, API JSON, VictoriaMetrics exports."""

from __future__ import annotations

import gzip
import json
import math
from pathlib import Path

import numpy as np
import pytest
from conftest import shared_path

import engine
from engine.errors import IngestError
from engine.ingest.dumps import detect_format
from engine.store import is_stale


def rows(db, selector: str = '{__name__=~".+"}'):
    return {
        tuple(sorted(lab.items())): (ts.tolist(), v.tolist()) for lab, ts, v in db.select(selector)
    }


# ---- promtool's own test files ---------------------------------------------------------------


def test_promtool_dump_test_1() -> None:
    db = engine.open(shared_path("promtool", "testdata", "dump-test-1.prom"))
    r = rows(db)
    assert r[(("__name__", "heavy_metric"), ("foo", "bar"))] == (
        [0, 60000, 120000, 180000, 240000],
        [5.0, 4.0, 3.0, 2.0, 1.0],
    )
    assert r[(("__name__", "metric"), ("baz", "abc"), ("foo", "bar"))][1] == [
        1.0,
        2.0,
        3.0,
        4.0,
        5.0,
    ]
    assert db.stats()["series"] == 3 and db.stats()["samples"] == 15


@pytest.mark.parametrize(
    ("name", "series", "samples"), [("dump-test-2.prom", 2, 10), ("dump-test-3.prom", 1, 2)]
)
def test_promtool_dump_others(name: str, series: int, samples: int) -> None:
    st = engine.open(shared_path("promtool", "testdata", name)).stats()
    assert (st["series"], st["samples"]) == (series, samples)


def test_promtool_dump_openmetrics() -> None:
    db = engine.open(shared_path("promtool", "testdata", "dump-openmetrics-test.prom"))
    r = rows(db)
    assert r[(("__name__", "my_gauge"), ("abc", "baz"), ("bar", "foo"))] == (
        [0, 60000, 120000, 180000, 240000],
        [9.0, 8.0, 0.0, 4.0, 7.0],
    )
    assert not any(is_stale(np.array(v)).any() for _, v in r.values())


def test_promtool_openmetrics_roundtrip_file() -> None:
    db = engine.open(shared_path("promtool", "testdata", "dump-openmetrics-roundtrip-test.prom"))
    r = rows(db)
    key = (("__name__", "up"), ("instance", "localhost:8000"), ("job", "example2"))
    # float seconds -> int64(seconds * 1000), exactly as create-blocks-from reads them
    assert r[key] == ([1700226034330, 1700226094329], [1.0, 1.0])
    assert db.stats()["samples"] == 14


@pytest.mark.parametrize("name", ["dump-series-1.prom", "dump-series-2.prom", "dump-series-3.prom"])
def test_series_listing_without_samples_is_a_clear_error(name: str) -> None:
    with pytest.raises(IngestError, match="no samples"):
        engine.open(shared_path("promtool", "testdata", name))


# ---- formats written here --------------------------------------------------------------------


def test_promtool_dump_quoting_and_special_values(tmp_path: Path) -> None:
    f = tmp_path / "dump.txt"
    f.write_text(
        '{__name__="m", a="tab\\there", "b.c"="\\u00e9"} NaN -5\n'
        '{__name__="m", a="tab\\there", "b.c"="\\u00e9"} +Inf 10\n'
    )
    db = engine.open(f)
    ((lab, ts, v),) = db.select("m")
    assert lab == {"__name__": "m", "a": "tab\there", "b.c": "é"}
    assert ts.tolist() == [-5, 10] and math.isnan(v[0]) and v[1] == math.inf


def test_prometheus_api_matrix(tmp_path: Path) -> None:
    doc = {
        "status": "success",
        "data": {
            "resultType": "matrix",
            "result": [
                {
                    "metric": {"__name__": "up", "job": "a"},
                    "values": [[1435781430.781, "1"], [1435781445, "0"]],
                },
                {"metric": {"__name__": "x", "e": ""}, "values": [[1.5, "NaN"], [2.001, "+Inf"]]},
            ],
        },
    }
    f = tmp_path / "q.json"
    f.write_text(json.dumps(doc))
    r = rows(engine.open(f))
    assert r[(("__name__", "up"), ("job", "a"))] == ([1435781430781, 1435781445000], [1.0, 0.0])
    ts, v = r[(("__name__", "x"),)]
    assert ts == [1500, 2001] and math.isnan(v[0]) and v[1] == math.inf
    assert detect_format(f.read_bytes()) == "prometheus-api"


def test_prometheus_api_data_object_and_bad_result_type(tmp_path: Path) -> None:
    f = tmp_path / "q.json"
    f.write_text(
        json.dumps(
            {
                "resultType": "matrix",
                "result": [{"metric": {"__name__": "m"}, "values": [[10, "3"]]}],
            }
        )
    )
    assert rows(engine.open(f)) == {(("__name__", "m"),): ([10000], [3.0])}
    f.write_text(
        json.dumps({"status": "success", "data": {"resultType": "scalar", "result": [1, "2"]}})
    )
    with pytest.raises(IngestError, match="matrix"):
        engine.open(f, strict=True)
    db = engine.open(f)  # not strict: a warning, nothing loaded
    assert db.stats()["samples"] == 0 and "matrix" in db.warnings[0]


def test_victoriametrics_export_lines(tmp_path: Path) -> None:
    f = tmp_path / "export.jsonl"
    f.write_text(
        '{"metric":{"__name__":"up","job":"a"},"values":[1,0,1],"timestamps":[1000,2000,3000]}\n'
        "\n"
        '{"metric":{"__name__":"big"},"values":[16440392441958861461, 0.1],'
        '"timestamps":[1000,2000]}\n'
    )
    r = rows(engine.open(f))
    assert r[(("__name__", "up"), ("job", "a"))] == ([1000, 2000, 3000], [1.0, 0.0, 1.0])
    assert r[(("__name__", "big"),)][1] == [float(16440392441958861461), 0.1]


def test_victoriametrics_bad_line_names_the_line_and_loads_nothing(tmp_path: Path) -> None:
    f = tmp_path / "export.jsonl"
    f.write_text(
        '{"metric":{"__name__":"up"},"values":[1],"timestamps":[1000]}\n'
        '{"metric":{"__name__":"up"},"values":[1,2],"timestamps":[1000]}\n'
    )
    with pytest.raises(IngestError) as ei:
        engine.open(f, strict=True)
    assert ei.value.line == 2
    assert engine.open(f).stats()["samples"] == 0


def test_single_exposition_file_uses_the_time_in_its_name(tmp_path: Path) -> None:
    f = tmp_path / "1700000000.prom"
    f.write_text("a 1\nb 2 1600000000000\n")
    r = rows(engine.open(f))
    assert r[(("__name__", "a"),)] == ([1_700_000_000_000], [1.0])
    assert r[(("__name__", "b"),)] == ([1_600_000_000_000], [2.0])
    # no target labels, no up, no stale markers for a single file
    assert (("__name__", "up"),) not in r


def test_gzipped_single_file(tmp_path: Path) -> None:
    f = tmp_path / "dump.prom.gz"
    f.write_bytes(gzip.compress(b'{__name__="m"} 1 1000\n'))
    assert rows(engine.open(f)) == {(("__name__", "m"),): ([1000], [1.0])}


@pytest.mark.parametrize("body", [b"", b"\x00\x01\x02binary", b"12345 nonsense\n", b"[1, 2, 3]"])
def test_undetectable_format_is_a_clear_error(tmp_path: Path, body: bytes) -> None:
    f = tmp_path / "mystery.bin"
    f.write_bytes(body)
    with pytest.raises(IngestError) as ei:
        engine.open(f)  # raised even without strict
    assert str(f) in str(ei.value)


def test_malformed_dump_is_dropped_with_a_warning(tmp_path: Path) -> None:
    f = tmp_path / "dump.txt"
    f.write_text('{__name__="m"} 1 1000\n{__name__="m"} x 2000\n')
    db = engine.open(f)
    assert db.stats()["samples"] == 0
    assert f"{f}:2:16:" in db.warnings[0]


def test_missing_path() -> None:
    with pytest.raises(IngestError, match="no such file"):
        engine.open("/nonexistent/promreplay/file")


@pytest.mark.parametrize(
    ("body", "fmt"),
    [
        (b'{__name__="up", job="a"} 1 1000\n', "promtool-dump"),
        (b'{"metric":{"__name__":"up"},"values":[1],"timestamps":[1]}\n', "victoriametrics"),
        (b'{"status":"success","data":{"resultType":"matrix","result":[]}}', "prometheus-api"),
        (
            b'{\n  "status": "success",\n  "data": {"resultType": "matrix", "result": []}\n}\n',
            "prometheus-api",
        ),
        (b"up 1 1.5\n# EOF\n", "openmetrics"),
        (b"# HELP up x\nup 1\n", "text"),
        (b'{"my.metric"} 1\n', "text"),
    ],
)
def test_detect_format(body: bytes, fmt: str) -> None:
    assert detect_format(body) == fmt


@pytest.mark.parametrize("suffix", [".txt", ".om"])
def test_large_files_are_read_in_pieces_with_the_same_result(tmp_path: Path, suffix: str) -> None:
    """Cutting a file in pieces (to bound the scanner's workspace) changes nothing: the
    ``# TYPE`` in force carries over, and line numbers in errors stay file-relative."""
    from engine.ingest.dumps import _load_exposition
    from engine.store import StoreBuilder

    om = suffix == ".om"
    lines = ["# TYPE h histogram"]
    lines += [
        f'h_bucket{{le="{i}",i="{i % 7}"}} {i} {1000 + i}{".5" if om else ""}' for i in range(3000)
    ]
    body = ("\n".join(lines) + "\n" + ("# EOF\n" if om else "")).encode()
    f = tmp_path / f"dump{suffix}"
    f.write_bytes(body)
    fmt = "openmetrics" if om else "text"
    whole, pieces = StoreBuilder(), StoreBuilder()
    _load_exposition(body, fmt, f, whole)
    _load_exposition(body, fmt, f, pieces, chunk=997)
    a, b = whole.finish(), pieces.finish()
    assert a.labels.rows() == b.labels.rows()
    assert a.labels.rows()[0]["le"] == "0.0"  # normalised: the TYPE carried over
    assert np.array_equal(a.samples.ts, b.samples.ts)
    assert np.array_equal(a.samples.values, b.samples.values)
    bad = body.replace(b'h_bucket{le="2500"', b'h_bucket{le="2500" x')
    with pytest.raises(IngestError) as ei:
        _load_exposition(bad, fmt, f, StoreBuilder(), chunk=997)
    assert ei.value.line == 2502
