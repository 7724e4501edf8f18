"""The side-by-side benchmark's own machinery (``benchmarks/``), without the long run.

- the OpenMetrics -> VictoriaMetrics import text conversion (timestamps to ms), chunked
  streaming included, against a plain re-formatting of the same samples;
- the evaluation grid (7 s past a minute, inside the data);
- which points the comparison with Prometheus 2.42 leaves out (:func:`old_rate_points`),
  against a naive evaluation of both versions' ``rate`` extrapolation;
- the samples a query touches (the peak-memory bound), against a brute-force count, and
  the resident-memory peak probe on known allocations;
- the disk check, the capture size count and the Markdown record;
- a real VictoriaMetrics (skipped when ``victoria-metrics`` is not installed) importing
  converted text and answering with the same values and millisecond timestamps.
"""

from __future__ import annotations

import doctest
import gzip
import math
import re
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[2]
for p in (str(ROOT / "benchmarks"), str(ROOT)):
    if p not in sys.path:
        sys.path.insert(0, p)

import compare  # noqa: E402
import meshdata  # noqa: E402
import peers  # noqa: E402
import queries  # noqa: E402
import results  # noqa: E402
from agreement import agree, old_rate_points  # noqa: E402
from meshdata import uncompressed_bytes  # noqa: E402
from peers import VictoriaMetricsServer, find_victoria_metrics, om_to_vm_text, vm_import_chunks  # noqa: E402
from probes import peak_rss_during, samples_touched  # noqa: E402
from queries import QUERIES, BenchQuery, Grid  # noqa: E402
from results import markdown  # noqa: E402

from engine.store import STALE_NAN, StoreBuilder  # noqa: E402
from fixtures.writers import format_om_timestamp  # noqa: E402

# ---- OpenMetrics -> VictoriaMetrics import text -------------------------------------------------

_label_values = st.text(
    alphabet=st.characters(blacklist_characters='\n"\\', blacklist_categories=("Cs",)), max_size=8
)
_samples = st.lists(
    st.tuples(
        st.sampled_from(["x", "y_total", "z_bucket"]),
        _label_values,
        st.floats(allow_nan=False, allow_infinity=False, width=64),
        st.integers(1_000_000_000_000, 9_999_999_999_999),
    ),
    min_size=1,
    max_size=40,
)


def _om(samples: list[tuple[str, str, float, int]]) -> bytes:
    ts = format_om_timestamp(np.array([s[3] for s in samples], dtype=np.int64))
    lines = ["# TYPE x gauge"]
    lines += [f'{n}{{a="{v}"}} {val!r} {t}' for (n, v, val, _), t in zip(samples, ts, strict=True)]
    return ("\n".join(lines) + "\n# EOF\n").encode()


@given(_samples)
def test_om_to_vm_text_writes_milliseconds(samples: list[tuple[str, str, float, int]]) -> None:
    text, n = om_to_vm_text(_om(samples))
    assert n == len(samples)
    lines = text.decode().split("\n")[:-1]  # not splitlines: U+0085 is a line break there
    assert lines[0] == "# TYPE x gauge" and lines[-1] == "# EOF"
    for line, (name, value, v, ms) in zip(lines[1:-1], samples, strict=True):
        assert line == f'{name}{{a="{value}"}} {v!r} {ms}'


@settings(max_examples=50)
@given(_samples, st.integers(1, 300))
def test_vm_import_chunks_streams_whole_lines(
    tmp_path_factory: pytest.TempPathFactory, samples: list[tuple[str, str, float, int]], size: int
) -> None:
    path = tmp_path_factory.mktemp("om") / "x.om"
    path.write_bytes(_om(samples))
    chunks = list(vm_import_chunks(path, chunk_bytes=size))
    assert b"".join(c for c, _ in chunks) == om_to_vm_text(path.read_bytes())[0]
    assert sum(n for _, n in chunks) == len(samples)


@pytest.mark.parametrize(
    "line",
    [b"x 1 1700000000\n", b"x 1 1700000000.5\n", b'x{a="1"} 1\n', b"1.234\n", b"x 170000000.000\n"],
)
def test_om_to_vm_text_refuses_other_timestamps(line: bytes) -> None:
    with pytest.raises(ValueError, match="line 2 of the chunk: the timestamp is not unix seconds"):
        om_to_vm_text(b"x 1 1700000000.000\n" + line)


def test_vm_import_chunks_refuses_a_truncated_file(tmp_path: Path) -> None:
    path = tmp_path / "x.om"
    path.write_bytes(b"x 1 1700000000.000\nx 2 17000")
    with pytest.raises(ValueError, match="the last line has no newline"):
        list(vm_import_chunks(path))


# ---- the grid --------------------------------------------------------------------------------


@given(
    st.integers(1_600_000_000_000, 1_800_000_000_000),
    st.integers(120_000, 10**8),
    st.sampled_from([15_000, 60_000, 300_000]),
)
def test_grid_lies_inside_the_data_seven_seconds_past_a_minute(
    first: int, span: int, step: int
) -> None:
    g = Grid.over(first, first + span, step)
    assert g.start_ms % 60_000 == 7_000 and first <= g.start_ms < first + 60_000
    assert (g.end_ms - g.start_ms) % step == 0 and 0 <= first + span - g.end_ms < step
    assert g.steps == (g.end_ms - g.start_ms) // step + 1


# ---- points left out of the comparison ------------------------------------------------------


def _rate(ts: np.ndarray, vs: np.ndarray, t: int, r: int, old: bool) -> float | None:
    """``rate(x[r])`` at ``t`` as Prometheus 2.42 (``old``) or 3.x extrapolates it,
    written from functions.go's ``extrapolatedRate`` one window at a time."""
    sel = (ts > t - r) & (ts <= t)
    w_ts, w_vs = ts[sel], vs[sel]
    if len(w_ts) < 2:
        return None
    result = w_vs[-1] - w_vs[0] + sum(a for a, b in zip(w_vs[:-1], w_vs[1:], strict=True) if b < a)
    to_start = (w_ts[0] - (t - r)) / 1000
    to_end = (t - w_ts[-1]) / 1000
    sampled = (w_ts[-1] - w_ts[0]) / 1000
    avg = sampled / (len(w_ts) - 1)
    to_zero = sampled * w_vs[0] / result if result > 0 and w_vs[0] >= 0 else math.inf
    if old:
        to_start = min(to_start, to_zero)
        to_start = to_start if to_start < 1.1 * avg else avg / 2
    else:
        to_start = to_start if to_start < 1.1 * avg else avg / 2
        to_start = min(to_start, to_zero)
    to_end = to_end if to_end < 1.1 * avg else avg / 2
    return float(result * (sampled + to_start + to_end) / sampled / (r / 1000))


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_old_rate_points_are_where_the_two_extrapolations_differ(seed: int) -> None:
    """Counters that start late (at 0 or not), miss scrapes, go stale and come back:
    :func:`old_rate_points` names exactly the (group, step) points at which some series of
    the group gets a different ``rate`` from 2.42's rule and from 3.x's."""
    rng = np.random.default_rng(seed)
    b = StoreBuilder()
    raw = []
    for i in range(6):
        group = ["a", "b", ""][i % 3]
        first = 1_700_000_000_000 + int(rng.integers(0, 40)) * 15_000 + 123 + i
        ts = first + 15_000 * np.arange(int(rng.integers(10, 120)))
        ts = ts[rng.random(len(ts)) > 0.1]  # missed scrapes
        vs = np.cumsum(rng.integers(0, 5, len(ts))).astype(float) + rng.choice([0.0, 3.0, 40.0])
        labels = (("__name__", "x_total"), ("g", group), ("i", str(i)))
        if not group:
            labels = (("__name__", "x_total"), ("i", str(i)))
        sid = b.series_id(labels)
        stale_at = len(ts) // 2
        b.append(np.full(len(ts), sid), ts, vs)
        b.append(np.array([sid]), np.array([ts[stale_at] + 1]), np.array([STALE_NAN]))
        raw.append((dict(labels).get("g", ""), ts, vs))
    db = b.finish()
    q = BenchQuery("t", "", "sum by (g)(rate(x_total[5m]))", ("g",))
    times = (1_700_000_000_000 // 60_000) * 60_000 + 7_000 + 60_000 * np.arange(45)
    expected = set()
    for group, ts, vs in raw:
        for t in times.tolist():
            old, new = _rate(ts, vs, t, 300_000, True), _rate(ts, vs, t, 300_000, False)
            if old != new:
                expected.add(((("g", group),) if group else (), t))
    assert old_rate_points(db, q, times, 15_000) == expected


def test_agree_leaves_out_points_and_still_catches_a_wrong_value() -> None:
    q = BenchQuery("t", "", "sum(x)", ("g",))

    def matrix(*values: float) -> dict:
        return {
            "resultType": "matrix",
            "result": [
                {"metric": {"g": "a"}, "values": [[60 * i, str(v)] for i, v in enumerate(values)]}
            ],
        }

    left = {((("g", "a"),), 0)}
    a = agree(q, matrix(1, 2, 3), matrix(9, 2, 3), left)
    assert a.ok and (a.compared_points, a.left_out_points) == (2, 1)
    b = agree(q, matrix(1, 2, 3), matrix(9, 2, 3.0001), left)
    assert not b.ok and "Prometheus 3.0, ours 3.0001" in b.problems[0]
    assert not agree(q, matrix(), matrix(), set()).ok  # nothing compared proves nothing


# ---- samples touched -----------------------------------------------------------------------------


def test_samples_touched_counts_each_selector_over_its_window() -> None:
    b = StoreBuilder()
    ts = 1_700_000_000_000 + 15_000 * np.arange(100)
    for name in ("x", "y"):
        sid = b.series_id((("__name__", name),))
        b.append(np.full(100, sid), ts, np.arange(100.0))
    db = b.finish()
    start, end = int(ts[40]), int(ts[60])
    in_window = int(((ts > start - 300_000) & (ts <= end)).sum())
    assert samples_touched(db, "rate(x[5m])", start, end) == in_window
    assert samples_touched(db, "rate(x[5m]) / y", start, end) == 2 * in_window
    assert samples_touched(db, "rate(x[1m])", start, end) == int(
        ((ts > start - 60_000) & (ts <= end)).sum()
    )


@pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="Linux /proc needed")
def test_peak_rss_during_counts_pages_freed_earlier_and_reused() -> None:
    """~190 MB in 96 kB arrays (from malloc's heap, not mmap): measured the second time
    too, when the same pages are reused (they are handed back first)."""

    def work() -> int:
        chunks = [np.ones(12_000) for _ in range(2_000)]
        return sum(len(c) for c in chunks)

    work()
    peak, n = peak_rss_during(work)
    assert n == 24_000_000 and 170e6 < peak < 400e6, peak
    small, _ = peak_rss_during(lambda: np.ones(1000).sum())
    assert small < 20e6


# ---- disk, capture size, record ----------------------------------------------------------------


def test_check_disk_names_the_folder_the_need_and_the_way_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(compare.shutil, "disk_usage", lambda p: type("U", (), {"free": 5e9})())
    with pytest.raises(compare.SetupError) as e:
        compare.check_disk(tmp_path, 6, capture_cached=True)
    msg = str(e.value)
    assert str(tmp_path) in msg and "OpenMetrics view of 6 h is about 12.5 GB" in msg
    assert "5.0 GB is free" in msg and "--hours" in msg
    assert compare.check_disk(tmp_path, 1, capture_cached=True)["free_gb"] == 5.0


def test_uncompressed_bytes_reads_gzip_trailers(tmp_path: Path) -> None:
    from fixtures.config import preset
    from fixtures.generate import generate

    cap = tmp_path / "cap"
    generate(preset("small", duration_ms=300_000), cap)
    files = [p for p in cap.rglob("*.prom.gz")]
    assert files
    assert uncompressed_bytes(cap) == sum(len(gzip.decompress(p.read_bytes())) for p in files)


def test_markdown_record_escapes_pipes_and_shows_failures() -> None:
    e = next(q for q in QUERIES if q.key == "e")
    row = {
        "key": "e",
        "mode": "range",
        "expr": e.expr,
        "promreplay_s": 0.002,
        "prometheus_s": 0.05,
        "vm_s": 0.001,
        "ratio_prometheus": 0.04,
        "ratio_vm": 2.0,
        "target_met": False,
        "check": {
            "ok": False,
            "problems": ['only ours has {a="x|y"}'],
            "compared_points": 3,
            "left_out_points": 0,
        },
    }
    run = {
        "machine": {
            "date": "2026-01-02T03:04:05+00:00",
            "host": "h",
            "nproc": 2,
            "cpu_model": "cpu",
            "memory": "1 GiB",
            "loadavg_at_start": (0.1, 0.2, 0.3),
        },
        "versions": {"promreplay": "0.1.0"},
        "runs": 3,
        "cores": 1,
        "data": {
            "name": "medium",
            "hours": 6,
            "series": 11,
            "samples": 22,
            "steps": 360,
            "step_s": 60,
        },
        "queries": [row],
        "ingest": [
            {
                "system": "promreplay",
                "what": "open",
                "seconds": 2.0,
                "samples_per_s": 2e6,
                "mb_per_s": 100.0,
                "target_met": True,
            }
        ],
    }
    md = markdown(run)
    table_row = next(line for line in md.splitlines() if line.startswith("| (e) | range"))
    assert table_row.count(" | ") == 8  # no stray column from the | in the values
    assert "2 ms | 50 ms | 1 ms | 0.04 | 2 | **no** | **FAIL**" in table_row
    assert "UH\\|UT" in md and "| promreplay | open | 2.0 | 2,000k | 100.0 | yes |" in md

    # with --cores 2 the two-core time gets its own column, header and separator included
    row["promreplay_multi_s"] = 0.0012
    md = markdown({**run, "cores": 2})
    lines = md.splitlines()
    head = next(i for i, line in enumerate(lines) if line.startswith("| query | mode |"))
    assert "| promreplay | 2 cores | Prometheus |" in lines[head]
    table_row = next(line for line in lines if line.startswith("| (e) | range"))
    rows = (lines[head], lines[head + 1], table_row)
    cells = [len(re.split(r"(?<!\\)\|", line)) for line in rows]
    assert cells == [12, 12, 12]  # 10 columns between the outer pipes (\| is no column)
    assert "| 2 ms | 1.2 ms | 50 ms |" in table_row
    assert "on 2 cores" in md


# ---- a real VictoriaMetrics ----------------------------------------------------------------


def test_victoria_metrics_imports_the_converted_text(tmp_path: Path) -> None:
    if find_victoria_metrics() is None:
        pytest.skip("victoria-metrics is not installed (apt-get install -y victoria-metrics)")
    om = tmp_path / "x.om"
    om.write_bytes(
        b'# TYPE x_total counter\nx_total{a="1"} 5 1700000000.941\n'
        b'x_total{a="1"} 7.5 1700000015.002\n# EOF\n'
    )
    with VictoriaMetricsServer(tmp_path / "vm") as vm:
        for body, _ in vm_import_chunks(om):
            vm.import_prometheus(body)
        vm.force_flush()
        assert vm.rows_inserted() == 2
        data, seconds = vm.api("query", {"query": "x_total[1m]", "time": "1700000020"})
        assert seconds > 0 and vm.url.startswith("http://127.0.0.1:")
        proc = vm.proc
    assert data["result"][0]["values"] == [[1700000000.941, "5"], [1700000015.002, "7.5"]]
    assert proc is not None and proc.poll() is not None  # stopped by its pid


@pytest.mark.parametrize("module", [meshdata, peers, queries, results], ids=lambda m: m.__name__)
def test_docstring_examples_of_the_benchmark_modules(module: object) -> None:
    """``benchmarks/`` is outside ``make test``'s doctest collection: run them here."""
    failed, attempted = doctest.testmod(module)  # type: ignore[arg-type]
    assert attempted > 0 and failed == 0


def test_settle_waits_for_a_busy_server_and_not_for_an_idle_one() -> None:
    """The comparison times nothing while a server is still busy (VictoriaMetrics merging
    its import): a process that spins for about 3 s holds it back that long, an idle one
    does not."""
    import subprocess
    import types

    def run_with(code: str) -> dict:
        proc = subprocess.Popen([sys.executable, "-c", code])
        try:
            run = compare.Comparison.__new__(compare.Comparison)
            run.prom, run.vm = types.SimpleNamespace(proc=proc), None
            run.record = {"notes": []}
            run.settle(window_s=0.5, limit_s=20)
            return run.record
        finally:
            proc.kill()
            proc.wait()

    busy = run_with("import time\nt = time.time()\nwhile time.time() - t < 3: pass\ntime.sleep(60)")
    idle = run_with("import time\ntime.sleep(60)")
    assert busy["settle_s"] >= 2.0, busy
    assert idle["settle_s"] < 2.0, idle
    assert not busy["notes"] and not idle["notes"]
