"""Capture folders replayed as Prometheus' scrape loop: up, staleness, target labels."""

from __future__ import annotations

import gzip
import json
import math
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest
from conftest import shared_path
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import engine
from engine.errors import IngestError
from engine.ingest.capture import parse_duration, parse_scrape_time
from engine.store import STALE_NAN_BITS, is_stale

T0 = 1_700_000_000  # seconds


def capture(root: Path, scrapes: dict[str, dict[int, bytes | str]], target_json=None) -> Path:
    """Write ``{target: {seconds: body}}`` under ``root/cap``; str bodies are text."""
    cap = root / "cap"
    for target, files in scrapes.items():
        d = cap / target
        d.mkdir(parents=True, exist_ok=True)
        for t, body in files.items():
            data = body.encode() if isinstance(body, str) else body
            (d / f"{T0 + t}.prom").write_bytes(data)
        if target_json and target in target_json:
            (d / "target.json").write_text(json.dumps(target_json[target]))
    return cap


def series(
    db, selector: str = '{__name__=~".+"}'
) -> dict[str, tuple[list[int], list[float], list[bool]]]:
    """``{name or name{labels}: (seconds offsets, values, stale flags)}``."""
    out = {}
    for lab, ts, v in db.select(selector):
        extra = {k: x for k, x in lab.items() if k not in ("__name__", "job", "instance")}
        key = lab["__name__"] + (str(sorted(extra.items())) if extra else "")
        out[key] = (((ts // 1000) - T0).tolist(), v.tolist(), is_stale(v).tolist())
    return out


# ---- staleness and up ------------------------------------------------------------------------


def test_missing_series_gets_a_stale_marker_at_the_next_scrape(tmp_path: Path) -> None:
    db = engine.open(capture(tmp_path, {"p": {0: "a 1\nb 1\n", 15: "a 2\n", 30: "a 3\nb 3\n"}}))
    s = series(db)
    assert s["a"][:2] == ([0, 15, 30], [1.0, 2.0, 3.0])
    ts, vals, stale = s["b"]
    assert ts == [0, 15, 30] and stale == [False, True, False] and vals[2] == 3.0
    assert s["up"][:2] == ([0, 15, 30], [1.0, 1.0, 1.0])


def test_stale_markers_keep_their_bits(tmp_path: Path) -> None:
    db = engine.open(capture(tmp_path, {"p": {0: "a 1\nb 1\n", 15: "a 2\n"}}))
    ((_, _, v),) = db.select("b")
    assert v.view(np.uint64)[-1] == STALE_NAN_BITS


def test_target_labels_job_instance_and_exported(tmp_path: Path) -> None:
    db = engine.open(capture(tmp_path, {"pod-1": {0: 'm{job="app",instance="x",k="v"} 1\n'}}))
    ((lab, _, _),) = db.select("m")
    assert lab == {
        "__name__": "m",
        "job": "cap",
        "instance": "pod-1",
        "exported_job": "app",
        "exported_instance": "x",
        "k": "v",
    }


def test_target_json_labels_interval_and_honor_labels(tmp_path: Path) -> None:
    cfg = {
        "p": {
            "labels": {
                "job": "envoy",
                "instance": "10.0.0.1:15090",
                "cluster": "c1",
                "__meta_x": "dropped",
            },
            "interval": "30s",
            "honor_labels": True,
        }
    }
    db = engine.open(capture(tmp_path, {"p": {0: 'm{cluster="exposed"} 1\n'}}, cfg))
    ((lab, _, _),) = db.select("m")
    assert lab == {
        "__name__": "m",
        "job": "envoy",
        "instance": "10.0.0.1:15090",
        "cluster": "exposed",
    }
    assert db.series("up") == [
        {"__name__": "up", "cluster": "c1", "instance": "10.0.0.1:15090", "job": "envoy"}
    ]


def test_parse_error_at_first_line_marks_everything_stale(tmp_path: Path) -> None:
    db = engine.open(
        capture(
            tmp_path, {"p": {0: "a 1\nb 1\nc 1\n", 15: "a{ 2\nb 2\nc 2\n", 30: "a 3\nb 3\nc 3\n"}}
        )
    )
    s = series(db)
    for name in "abc":
        ts, vals, stale = s[name]
        assert ts == [0, 15, 30] and stale == [False, True, False], name
    assert s["up"][1] == [1.0, 0.0, 1.0]
    assert len(db.warnings) == 1 and ":1:4: expected label name" in db.warnings[0]


def test_parse_error_at_last_line_marks_almost_nothing_stale(tmp_path: Path) -> None:
    db = engine.open(
        capture(
            tmp_path, {"p": {0: "a 1\nb 1\nc 1\n", 15: "a 2\nb 2\nc{ 2\n", 30: "a 3\nb 3\nc 3\n"}}
        )
    )
    s = series(db)
    # a and b were read before the error: seen, so not stale; nothing stored at 15
    assert s["a"][:2] == ([0, 30], [1.0, 3.0])
    assert s["b"][:2] == ([0, 30], [1.0, 3.0])
    assert s["c"][0] == [0, 15, 30] and s["c"][2] == [False, True, False]
    assert s["up"][1] == [1.0, 0.0, 1.0]


def test_after_a_failed_scrape_the_partial_set_is_compared_next(tmp_path: Path) -> None:
    db = engine.open(
        capture(tmp_path, {"p": {0: "a 1\nb 1\n", 15: "a 2\nb 2\nx{ 2\n", 30: "c 3\n"}})
    )
    s = series(db)
    # a and b counted as seen at 15, so they go stale at 30 when c alone shows up
    assert s["a"][0] == [0, 30] and s["a"][2] == [False, True]
    assert s["b"][0] == [0, 30] and s["b"][2] == [False, True]


def test_target_that_stops_early_goes_stale_at_its_next_scrape(tmp_path: Path) -> None:
    db = engine.open(
        capture(
            tmp_path,
            {
                "early": {0: "a 1\n", 15: "a 2\n"},
                "late": {0: "z 1\n", 15: "z 1\n", 30: "z 1\n", 45: "z 1\n"},
            },
        )
    )
    s = series(db, '{instance="early"}')
    assert s["a"][0] == [0, 15, 30] and s["a"][2] == [False, False, True]
    assert s["up"][0] == [0, 15, 30] and s["up"][2] == [False, False, True]
    late = series(db, '{instance="late"}')
    assert not any(late["z"][2]) and not any(late["up"][2])


def test_empty_body_is_a_successful_scrape_without_series(tmp_path: Path) -> None:
    db = engine.open(capture(tmp_path, {"p": {0: "a 1\n", 15: "", 30: "a 3\n"}}))
    s = series(db)
    assert s["a"][0] == [0, 15, 30] and s["a"][2] == [False, True, False]
    assert s["up"][1] == [1.0, 1.0, 1.0]
    assert db.warnings == []


def test_duplicate_series_in_one_scrape_keeps_the_first(tmp_path: Path) -> None:
    db = engine.open(capture(tmp_path, {"p": {0: "a 1\na 2\n"}}))
    assert series(db)["a"][:2] == ([0], [1.0])


def test_explicit_timestamps_win_and_are_not_tracked_for_staleness(tmp_path: Path) -> None:
    ts = (T0 - 100) * 1000
    db = engine.open(capture(tmp_path, {"p": {0: f"a 1 {ts}\n", 15: "b 1\n"}}))
    s = series(db)
    assert s["a"] == ([-100], [1.0], [False])  # no stale marker for a


def test_samples_out_of_order_across_files_are_sorted(tmp_path: Path) -> None:
    db = engine.open(
        capture(tmp_path, {"p": {0: f"a 1 {(T0 + 50) * 1000}\n", 15: f"a 2 {(T0 + 20) * 1000}\n"}})
    )
    assert series(db)["a"][:2] == ([20, 50], [2.0, 1.0])


# ---- files: gzip, truncation, OpenMetrics, names ---------------------------------------------


def test_gzip_and_corrupt_gzip(tmp_path: Path) -> None:
    cap = capture(tmp_path, {"p": {0: "a 1\n"}})
    d = cap / "p"
    (d / f"{T0 + 15}.prom.gz").write_bytes(gzip.compress(b"a 2\n"))
    (d / f"{T0 + 30}.prom.gz").write_bytes(gzip.compress(b"a 3\n")[:-6])  # truncated stream
    (d / f"{T0 + 45}.prom.gz").write_bytes(gzip.compress(b"a 4\n"))
    db = engine.open(cap)
    s = series(db)
    assert s["a"][0] == [0, 15, 30, 45] and s["a"][2] == [False, False, True, False]
    assert s["up"][1] == [1.0, 1.0, 0.0, 1.0]
    assert "corrupt gzip" in db.warnings[0] and str(d / f"{T0 + 30}.prom.gz") in db.warnings[0]
    with pytest.raises(IngestError, match="corrupt gzip"):
        engine.open(cap, strict=True)


def test_truncated_openmetrics_file_fails_its_scrape(tmp_path: Path) -> None:
    cap = tmp_path / "cap" / "p"
    cap.mkdir(parents=True)
    (cap / f"{T0}.om").write_text("# TYPE a counter\na_total 1\n# EOF\n")
    (cap / f"{T0 + 15}.om").write_text("# TYPE a counter\na_total 2\n")  # cut before # EOF
    db = engine.open(cap.parent)
    s = series(db)
    assert s["a_total"][0] == [0]  # read before the error: seen, not stale, not stored
    assert s["up"][1] == [1.0, 0.0]
    assert "data does not end with # EOF" in db.warnings[0]


def test_openmetrics_sniffed_from_eof_line_in_a_prom_file(tmp_path: Path) -> None:
    db = engine.open(capture(tmp_path, {"p": {0: "a 1 1700000000.5\n# EOF\n"}}))
    ((_, ts, _),) = db.select("a")
    assert ts.tolist() == [1_700_000_000_500]


def test_strict_raises_on_the_first_malformed_scrape(tmp_path: Path) -> None:
    cap = capture(tmp_path, {"p": {0: "a 1\n", 15: "a 1\nb x\n"}})
    with pytest.raises(IngestError) as ei:
        engine.open(cap, strict=True)
    assert ei.value.file.endswith(f"{T0 + 15}.prom") and ei.value.line == 2


@pytest.mark.parametrize(
    ("stem", "ms"),
    [
        ("1700000000", 1_700_000_000_000),
        ("1700000000.5", 1_700_000_000_500),
        ("1700000000.0009", 1_700_000_000_000),
        ("1700000000123", 1_700_000_000_123),
        ("2023-11-14T22:13:20Z", 1_700_000_000_000),
        ("2023-11-14T23:13:20.25+01:00", 1_700_000_000_250),
    ],
)
def test_scrape_time_from_name(stem: str, ms: int) -> None:
    assert parse_scrape_time(stem) == ms


@pytest.mark.parametrize("stem", ["metrics", "2023-11-14T22:13:20", "17000000001234"])
def test_bad_scrape_time(stem: str) -> None:
    with pytest.raises(ValueError):
        parse_scrape_time(stem)


def test_files_with_unreadable_names_are_skipped_with_a_warning(tmp_path: Path) -> None:
    cap = capture(tmp_path, {"p": {0: "a 1\n"}})
    (cap / "p" / "latest.prom").write_text("a 9\n")
    (cap / "p" / "notes.md").write_text("ignored\n")
    db = engine.open(cap)
    assert series(db)["a"][1] == [1.0]
    assert len(db.warnings) == 1 and "latest.prom" in db.warnings[0]


def test_durations() -> None:
    assert [parse_duration(x) for x in ("15s", "1m", "1m30s", "250ms", 10)] == [
        15000,
        60000,
        90000,
        250,
        10000,
    ]
    with pytest.raises(ValueError):
        parse_duration("15")


def test_folder_of_scrape_files_is_one_target(tmp_path: Path) -> None:
    cap = capture(tmp_path, {"pod": {0: "a 1\n"}})
    db = engine.open(cap / "pod")
    assert db.series("up") == [{"__name__": "up", "instance": "pod", "job": "cap"}]


def test_no_scrape_files_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "empty" / "x").mkdir(parents=True)
    with pytest.raises(IngestError, match="no scrape files"):
        engine.open(tmp_path / "empty")


def test_real_fixture_as_a_capture(tmp_path: Path) -> None:
    body = shared_path("fixtures-real", "istio-1.11.4-sidecar-merged-15020.txt").read_bytes()
    db = engine.open(capture(tmp_path, {"reviews-v1": {0: body, 15: body}}))
    st_ = db.stats()
    assert st_["series"] == 461 + 1 and st_["samples"] == 2 * 462
    assert db.metadata["istio_requests_total"].type == "counter"


def test_exemplars_are_kept_once_per_repeat(tmp_path: Path) -> None:
    body = shared_path("fixtures-real", "prometheus-alltypes-5mfs-openmetrics.om.txt").read_bytes()
    cap = tmp_path / "cap" / "p"
    cap.mkdir(parents=True)
    (cap / f"{T0}.om").write_bytes(body)
    (cap / f"{T0 + 15}.om").write_bytes(body)
    db = engine.open(cap.parent)
    # the same exemplar (same labels, value and time) scraped twice is stored once
    assert len(db.exemplars) == 6


# ---- property: a malformed scrape contributes nothing ----------------------------------------

bodies = st.lists(
    st.sampled_from(["a 1", "b 2", 'c{x="1"} 3', "# TYPE a gauge", "d 4 1700000000000"]),
    min_size=1,
    max_size=6,
).map(lambda ls: "\n".join(ls) + "\n")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(bodies, bodies, st.integers(0, 60), st.binary(min_size=1, max_size=2))
def test_malformed_scrape_contributes_nothing_but_staleness(first, second, cut, junk) -> None:
    tmp = Path(tempfile.mkdtemp())
    try:
        bad = second.encode()
        bad = bad[: cut % (len(bad) + 1)] + junk + bad[cut % (len(bad) + 1) :]
        db = engine.open(capture(tmp, {"p": {0: first, 15: bad}}))
        up = series(db)["up"][1]
        at15 = [
            (lab, v)
            for lab, ts, v in db.select('{__name__=~".+"}')
            for t, x in zip(ts.tolist(), v.tolist(), strict=True)
            if t == (T0 + 15) * 1000
            for v in [x]
            if lab["__name__"] != "up"
        ]
        if up[1] == 0.0:
            assert db.warnings and all(is_stale(np.array([v]))[0] for _, v in at15)
        else:
            assert not db.warnings
    finally:
        shutil.rmtree(tmp)


def test_nan_sample_is_not_a_stale_marker(tmp_path: Path) -> None:
    db = engine.open(capture(tmp_path, {"p": {0: "a NaN\n"}}))
    ((_, _, v),) = db.select("a")
    assert math.isnan(v[0]) and not is_stale(v)[0]


def test_target_json_interval_sets_the_end_of_run_stale_time(tmp_path: Path) -> None:
    cap = capture(
        tmp_path,
        {"early": {0: "a 1\n"}, "late": {0: "z 1\n", 100: "z 1\n"}},
        {"early": {"interval": "40s"}},
    )
    s = series(engine.open(cap), '{instance="early"}')
    assert s["a"][0] == [0, 40] and s["a"][2] == [False, True]


def test_honor_timestamps_false_uses_the_scrape_time(tmp_path: Path) -> None:
    cap = capture(
        tmp_path,
        {"p": {0: f"a 1 {(T0 - 500) * 1000}\n", 15: "b 1\n"}},
        {"p": {"honor_timestamps": False}},
    )
    s = series(engine.open(cap))
    # the exposed timestamp is ignored, and the series is then tracked for staleness
    assert s["a"] == ([0, 15], s["a"][1], [False, True])
