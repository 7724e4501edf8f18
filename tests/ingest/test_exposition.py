"""Parsing one exposition: real captures, round trips, bad input and Prometheus' rules."""

from __future__ import annotations

import math
import struct

import numpy as np
import pytest
from conftest import shared_path
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.errors import IngestError
from engine.ingest.exposition import (
    OPENMETRICS,
    TEXT,
    TargetParser,
    apply_target_labels,
    parse_exposition,
    sniff_format,
)

REAL = [
    "envoy-1.28-stats-prometheus-excerpt.txt",
    "istio-1.11.4-sidecar-merged-15020.txt",
    "linkerd2-proxy-4191-metrics.txt",
    "prometheus-alltypes-5mfs-openmetrics.om.txt",
    "promtool-dump-openmetrics-roundtrip.om.txt",
]


def bits(f: float) -> int:
    return struct.unpack("<Q", struct.pack("<d", f))[0]


# ---- real captures ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", REAL)
def test_every_real_fixture_parses(name: str) -> None:
    data = shared_path("fixtures-real", name).read_bytes()
    e = parse_exposition(data, file=name)
    sample_lines = [
        ln for ln in data.decode().splitlines() if ln.strip() and not ln.startswith("#")
    ]
    assert len(e.labels) == len(sample_lines)
    assert all("__name__" in lab for lab in e.labels)
    assert sniff_format(data, name) == (OPENMETRICS if ".om" in name else TEXT)


def test_istio_fixture_details() -> None:
    data = shared_path("fixtures-real", "istio-1.11.4-sidecar-merged-15020.txt").read_bytes()
    e = parse_exposition(data)
    by_name = {}
    for lab, v in zip(e.labels, e.values.tolist(), strict=True):
        by_name.setdefault(lab["__name__"], []).append((lab, v))
    # `name{} v` lines are legal; a uint64 beyond 2**53 becomes the nearest double
    ((lab, v),) = by_name["envoy_cluster_manager_cds_version"]
    assert lab == {"__name__": "envoy_cluster_manager_cds_version"}
    assert v == float(16440392441958861461)
    # quantiles of a summary family are normalised (Go's "0" -> "0.0", "1" -> "1.0")
    qs = [lab["quantile"] for lab, _ in by_name["istio_agent_go_gc_duration_seconds"]]
    assert qs == ["0.0", "0.25", "0.5", "0.75", "1.0"]
    # le of a histogram family, Envoy's default buckets: "1" -> "1.0", "3600000" -> "3.6e+06"
    les = {lab["le"] for lab, _ in by_name["istio_request_duration_milliseconds_bucket"]}
    assert {"0.5", "1.0", "5.0", "3.6e+06", "600000.0", "+Inf"} <= les
    # an empty label value is no label at all
    assert all("" not in lab.values() for lab in e.labels)
    assert e.metadata["istio_requests_total"].type == "counter"


def test_linkerd_fixture_keeps_names_and_empty_families() -> None:
    data = shared_path("fixtures-real", "linkerd2-proxy-4191-metrics.txt").read_bytes()
    e = parse_exposition(data)
    names = {lab["__name__"] for lab in e.labels}
    assert "request_total" in names and "response_latency_ms_bucket" in names
    # a family with HELP/TYPE and no samples is fine and keeps its metadata
    assert "retry_skipped_total" in e.metadata
    assert "retry_skipped_total" not in names


def test_openmetrics_fixture_created_and_exemplars() -> None:
    data = shared_path("fixtures-real", "prometheus-alltypes-5mfs-openmetrics.om.txt").read_bytes()
    e = parse_exposition(data)
    names = [lab["__name__"] for lab in e.labels]
    # _created lines are ordinary series by default (created-timestamp ingestion is off)
    assert "rpc_requests_created" in names and "rpc_requests_total" in names
    assert len(e.exemplars) == 6
    i, labels, value, ts = e.exemplars[0]
    assert labels == {"dummyID": "17783"}
    assert value == -0.0003825067330956884
    assert ts == int(1.7268398142239082e09 * 1000)
    assert e.labels[i]["le"] == "-0.0002899999999999998"
    assert e.metadata["rpc_requests"] == e.metadata["rpc_requests"].__class__(
        "counter", "Total number of RPC requests received.", ""
    )


# ---- round trips (hypothesis) ----------------------------------------------------------------

label_names = st.from_regex(r"[a-zA-Z_][a-zA-Z0-9_]{0,8}", fullmatch=True).filter(
    lambda s: s not in ("le", "quantile", "job", "instance") and not s.startswith("__")
)
label_values = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=8
)
metric_names = st.from_regex(r"[a-zA-Z_:][a-zA-Z0-9_:]{0,10}", fullmatch=True)
finite = st.floats(allow_nan=False, allow_infinity=False)
sample_values = st.one_of(finite, st.sampled_from([math.inf, -math.inf, math.nan]))


def esc(v: str) -> str:
    return v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def fmt_value(v: float) -> str:
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    return repr(v)


@st.composite
def families(draw):
    fams = draw(
        st.dictionaries(
            metric_names,
            st.sampled_from(["counter", "gauge", "histogram", "summary", "untyped"]),
            min_size=1,
            max_size=4,
        )
    )
    out = []
    for name, mtype in fams.items():
        series = draw(
            st.lists(
                st.tuples(
                    st.dictionaries(label_names, label_values, max_size=3),
                    sample_values,
                    st.one_of(st.none(), st.integers(0, 4_000_000_000_000)),
                ),
                min_size=0,
                max_size=4,
                unique_by=lambda s: tuple(sorted(s[0].items())),
            )
        )
        bucket = draw(st.sampled_from(["1", "0.5", "1e3", "+Inf", "3600000"]))
        out.append((name, mtype, series, bucket))
    return out


def render(fams, om: bool) -> tuple[bytes, list[tuple[dict, float, int | None]]]:
    lines, expected = [], []
    for name, mtype, series, bucket in fams:
        if om and mtype == "untyped":
            mtype = "unknown"
        lines.append(f"# HELP {name} help {esc(name)}")
        lines.append(f"# TYPE {name} {mtype}")
        for labels, value, ts in series:
            labels = dict(labels)
            exp_labels = {k: v for k, v in labels.items() if v != ""}
            if mtype == "histogram":
                labels["le"] = bucket
                exp_labels["le"] = {
                    "1": "1.0",
                    "0.5": "0.5",
                    "1e3": "1000.0",
                    "+Inf": "+Inf",
                    "3600000": "3.6e+06",
                }[bucket]
            body = ",".join(f'{k}="{esc(v)}"' for k, v in labels.items())
            line = f"{name}{{{body}}} {fmt_value(value)}"
            if ts is not None:
                line += f" {ts / 1000!r}" if om else f" {ts}"
                if om:
                    ts = int(ts / 1000 * 1000)
            lines.append(line)
            expected.append(({"__name__": name, **exp_labels}, value, ts))
    text = "\n".join(lines) + "\n" + ("# EOF\n" if om else "")
    return text.encode(), expected


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(families(), st.booleans())
def test_generated_exposition_round_trips(fams, om: bool) -> None:
    data, expected = render(fams, om)
    e = parse_exposition(data, OPENMETRICS if om else TEXT)
    assert len(e.labels) == len(expected)
    for lab, v, t, has, (exp_lab, exp_v, exp_t) in zip(
        e.labels,
        e.values.tolist(),
        e.timestamps.tolist(),
        e.has_timestamp.tolist(),
        expected,
        strict=True,
    ):
        assert lab == exp_lab
        if math.isnan(exp_v):
            assert bits(v) == 0x7FF8000000000001
        else:
            assert bits(v) == bits(exp_v)
        assert has == (exp_t is not None)
        if exp_t is not None:
            assert t == exp_t
    for name, mtype, _, _ in fams:
        assert e.metadata[name].type == ("unknown" if mtype == "untyped" else mtype)
        assert e.metadata[name].help == f"help {name}"


def mutate(data: bytes, draw) -> bytes:
    for _ in range(draw(st.integers(1, 3))):
        if not data:
            return data
        i = draw(st.integers(0, len(data) - 1))
        op = draw(st.integers(0, 3))
        if op == 0:
            data = data[:i] + data[i + 1 :]
        elif op == 1:
            data = data[:i] + draw(st.binary(min_size=1, max_size=2)) + data[i:]
        elif op == 2:
            data = data[:i]  # truncation
        else:
            data = (
                data[:i]
                + draw(st.sampled_from([b"{", b"}", b'"', b"\\", b" ", b"\n", b"#", b"\xff"]))
                + data[i + 1 :]
            )
    return data


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(families(), st.booleans(), st.data())
def test_malformed_input_raises_only_ingest_error(fams, om: bool, data) -> None:
    body = mutate(render(fams, om)[0], data.draw)
    try:
        e = parse_exposition(body, OPENMETRICS if om else TEXT, file="x.prom")
    except IngestError as err:
        assert err.file == "x.prom" and err.line >= 1 and err.column >= 1
        return
    assert len(e.labels) == len(e.values) == len(e.timestamps)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(families(), st.booleans(), st.data())
def test_failed_scrape_yields_no_samples(fams, om: bool, data) -> None:
    """A failed scrape returns nothing to store; what it read only feeds staleness."""
    good, _ = render(fams, om)
    body = mutate(good, data.draw)
    tp = TargetParser({"job": "j", "instance": "i"})
    p = tp.parse(body, OPENMETRICS if om else TEXT, 1000, "f") if body else None
    if p is None or p.ok:
        return
    assert p.error is not None
    # the series read before the error are exactly the ones tracked
    assert set(p.tracked.tolist()) <= set(p.sids.tolist())
    assert p.n_read == len(p.sids)
    assert not p.ex_sids


# ---- Prometheus' rules, one by one -----------------------------------------------------------


def labels_of(body: bytes, fmt: str | None = None) -> list[dict[str, str]]:
    return parse_exposition(body, fmt).labels


def test_le_normalised_under_the_most_recent_type_only_for_histograms() -> None:
    body = (
        b'# TYPE h histogram\nh_bucket{le="1"} 1\nother{le="2"} 1\n'
        b'# TYPE g gauge\ng{le="3"} 1\n'
        b'# TYPE s summary\ns{quantile="1",le="4"} 1\n'
    )
    assert [lab.get("le") for lab in labels_of(body)] == ["1.0", "2.0", "3", "4"]
    assert labels_of(body)[-1]["quantile"] == "1.0"


def test_gaugehistogram_le_is_not_normalised() -> None:
    body = b'# TYPE g gaugehistogram\ng_bucket{le="1"} 1\n# EOF\n'
    assert labels_of(body)[0]["le"] == "1"


@pytest.mark.parametrize(
    ("raw", "norm"),
    [
        ("1", "1.0"),
        ("600000", "600000.0"),
        ("3600000", "3.6e+06"),
        ("+Inf", "+Inf"),
        ("inf", "+Inf"),
        ("0.1", "0.1"),
        ("-0", "0.0"),
        ("1e-5", "1e-05"),
        ("0x1p4", "16.0"),
        ("abc", "abc"),
        ("1_000", "1000.0"),
        ("", ""),
    ],
)
def test_le_normalisation_values(raw: str, norm: str) -> None:
    lab = labels_of(f'# TYPE h histogram\nh_bucket{{le="{raw}",x="y"}} 1\n'.encode())[0]
    assert lab.get("le", "") == norm


def test_escapes_quoted_names_and_empty_labels() -> None:
    body = b'm{a="x\\\\y",b="q\\"d",c="n\\nl",d="t\\tz",e=""} 1\n{"my.metric","la bel"="v"} 2\n'
    first, second = labels_of(body)
    assert first == {"__name__": "m", "a": "x\\y", "b": 'q"d', "c": "n\nl", "d": "t\\tz"}
    assert second == {"__name__": "my.metric", "la bel": "v"}


def test_empty_braces_and_whitespace_rules() -> None:
    assert labels_of(b"m{} 1\n") == [{"__name__": "m"}]
    # text: blanks between labels and before '{' are accepted, commas optional
    assert labels_of(b'm {a="1" b="2",} 1\n') == [{"__name__": "m", "a": "1", "b": "2"}]
    with pytest.raises(IngestError):
        parse_exposition(b'm {a="1"} 1\n# EOF\n', OPENMETRICS)


def test_text_timestamps_are_milliseconds() -> None:
    e = parse_exposition(b"m 1 1700000000123\nn 2\n")
    assert e.timestamps.tolist() == [1700000000123, -1]
    assert e.has_timestamp.tolist() == [True, False]


def test_openmetrics_timestamps_are_float_seconds_truncated() -> None:
    # 1.005 * 1000 == 1004.9999999999999 in float64: Go's int64() truncates to 1004
    e = parse_exposition(b"m 1 1.005\nn 1 1700215884.373\no 1 -1.5\n# EOF\n")
    assert e.timestamps.tolist() == [1004, 1700215884373, -1500]


def test_nan_and_infinities() -> None:
    e = parse_exposition(b"a NaN\nb +Inf\nc -Inf\nd Inf\n")
    assert bits(e.values[0]) == 0x7FF8000000000001  # Prometheus' normal NaN, not stale
    assert e.values[1:].tolist() == [math.inf, -math.inf, math.inf]


def test_names_are_kept_as_exposed() -> None:
    # Envoy counters without _total stay as they are
    body = b"# TYPE envoy_cluster_upstream_rq counter\nenvoy_cluster_upstream_rq 5\n"
    assert labels_of(body)[0]["__name__"] == "envoy_cluster_upstream_rq"


def test_family_split_across_the_exposition_is_merged() -> None:
    body = b'# HELP a first\n# TYPE a gauge\na 1\nb 2\n# HELP a second\na{x="1"} 3\n'
    e = parse_exposition(body)
    assert e.metadata["a"].type == "gauge" and e.metadata["a"].help == "second"
    assert [lab["__name__"] for lab in e.labels] == ["a", "b", "a"]


def test_unit_line_is_kept_in_openmetrics() -> None:
    e = parse_exposition(b"# TYPE a_seconds gauge\n# UNIT a_seconds seconds\na_seconds 1\n# EOF\n")
    assert e.metadata["a_seconds"].unit == "seconds"


@pytest.mark.parametrize(
    ("body", "fmt", "line", "col", "reason"),
    [
        (b"a 1\nb{ 2\n", TEXT, 2, 4, "expected label name"),
        (b"a 1\nb x\n", TEXT, 2, 3, 'parsing "x": invalid syntax'),
        (b"# TYPE a foo\n", TEXT, 1, 10, "invalid metric type"),
        (b"a 1\n", OPENMETRICS, 2, 1, "data does not end with # EOF"),
        (b"a 1\n# EOF\nb 2\n", OPENMETRICS, 3, 1, "unexpected data after # EOF"),
        (b'a{b="\xff"} 1\n', TEXT, 1, 1, "invalid UTF-8"),
        (b'{"a","b"} 1\n', TEXT, 1, 6, "metric name already set"),
        (b'{x="1"} 1\n', TEXT, 1, 1, "metric name not set"),
        (b'a{x="1",x="2"} 1\n', TEXT, 1, 1, 'label name "x" is not unique'),
        (b"a 1e999\n", TEXT, 1, 3, "value out of range"),
        (b"a 1 2 3\n", TEXT, 1, 7, "expected next entry after timestamp"),
        (b"a 1 99999999999999999999\n", TEXT, 1, 5, "value out of range"),
        (b"a 1 NaN\n# EOF\n", OPENMETRICS, 1, 5, "invalid timestamp"),
    ],
)
def test_errors_name_file_line_column_and_reason(body, fmt, line, col, reason) -> None:
    with pytest.raises(IngestError) as ei:
        parse_exposition(body, fmt, file="scrape.prom")
    err = ei.value
    assert (err.file, err.line, err.column) == ("scrape.prom", line, col)
    assert reason in err.reason
    assert str(err).startswith(f"scrape.prom:{line}:{col}: ")


def test_duplicate_series_lines_are_all_reported_by_the_parser() -> None:
    # parse_exposition keeps every line; the scrape loop drops the repeat (see capture)
    e = parse_exposition(b"a 1\na 2\n")
    assert e.values.tolist() == [1.0, 2.0]


def test_leading_blanks_stay_in_a_text_metric_name() -> None:
    # Prometheus' text parser keeps p.series from the line start, blanks included
    assert labels_of(b"  a 1\n")[0]["__name__"] == "  a"


def test_nul_at_line_start_ends_a_text_exposition() -> None:
    assert [lab["__name__"] for lab in labels_of(b"a 1\n\x00b 2\n")] == ["a"]


# ---- target labels ---------------------------------------------------------------------------


def test_exported_renaming_with_honor_labels_false() -> None:
    key = apply_target_labels(
        [("__name__", "m"), ("job", "x"), ("instance", "y"), ("exported_job", "z")],
        [("instance", "I"), ("job", "J")],
        False,
    )
    assert dict(key) == {
        "__name__": "m",
        "instance": "I",
        "job": "J",
        "exported_instance": "y",
        "exported_job": "z",
        "exported_exported_job": "x",
    }


def test_honor_labels_true_keeps_exposed_labels() -> None:
    key = apply_target_labels(
        [("__name__", "m"), ("job", "x")], [("instance", "I"), ("job", "J")], True
    )
    assert dict(key) == {"__name__": "m", "instance": "I", "job": "x"}


def test_empty_exposed_label_does_not_clash() -> None:
    key = apply_target_labels([("__name__", "m"), ("job", "")], [("job", "J")], False)
    assert dict(key) == {"__name__": "m", "job": "J"}


def test_target_parser_scrape_cache_drops_repeats_and_tracks_staleness() -> None:
    tp = TargetParser({"job": "j", "instance": "i"})
    p = tp.parse(b"a 1\na 2\nb 3 5000\n", TEXT, 1000)
    assert p.ok
    keep = ~(p.dup & ~p.has_ts)
    assert p.values[keep].tolist() == [1.0, 3.0]
    assert p.ts[keep].tolist() == [1000, 5000]
    # a series with its own timestamp is not tracked for staleness
    assert [dict(tp.keys[s])["__name__"] for s in p.tracked.tolist()] == ["a"]


def test_values_keep_bits_through_the_parser() -> None:
    e = parse_exposition(b"a 0.1\nb -0\nc 5e-324\n")
    assert [bits(v) for v in e.values] == [bits(0.1), bits(-0.0), bits(5e-324)]
    assert np.signbit(e.values[1])


_LINES = st.sampled_from([b"a 1\n", b"# HELP a x\n", b"\n", b"metric_name_x 123\n"])


@given(st.lists(_LINES, max_size=50), st.booleans())
def test_line_room_bounds_the_lines_of_small_and_large_bodies(lines, large):
    """The scanning kernels do not check their bounds: the room reserved must hold an
    entry for every line that is not blank (each takes 4 bytes or more), whether it is
    estimated (under 1 MiB) or counted (1 MiB and over, exactly, to keep the series cache
    sized from it small)."""
    from engine.ingest.exposition import line_room

    body = b"".join(lines) or b"\n"
    if large:  # pad with short lines past 1 MiB: the counted path
        body += b"a 1\n" * ((1 << 18) + 1)
    room = line_room(np.frombuffer(body, np.uint8))
    entries = sum(1 for line in body.split(b"\n") if line)  # a blank line scans to nothing
    assert room >= entries + 2
    if large:
        assert room == body.count(b"\n") + 2
