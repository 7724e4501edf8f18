"""Ingest of the generated mesh data sets: capture folders, the OpenMetrics view, saved
stores (issue 4 §1).

``test_ingest_bench.py`` measures the exposition parser itself on synthetic bytes, next
to ``prometheus_client``; this file measures ``engine.open`` end to end on the data sets
of :mod:`meshdata` (gzipped scrape files with target labels, staleness and ``up``), at
the sizes the query benchmarks use. Run with ``make bench`` or::

    PROMREPLAY_BENCH_SIZES=small,scaling .venv/bin/python -m pytest \\
        benchmarks/test_bench_ingest.py --benchmark-enable -s

``extra_info`` (printed with ``-s``): samples/s (the samples a store holds, ``up``
included, stale markers not: the count promtool and VictoriaMetrics load from the same
data) and MB/s of uncompressed exposition text. Target (issue 4 §3): at least 1M
samples/s on the medium set, on one core.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from meshdata import SCALING_HOURS, SCALING_SERVICES, dataset, uncompressed_bytes

import engine
from engine.store import Store

SIZES = set(os.environ.get("PROMREPLAY_BENCH_SIZES", "small,medium,scaling").split(","))


def _need(size: str) -> None:
    if size not in SIZES:
        pytest.skip(f"{size} not in PROMREPLAY_BENCH_SIZES={','.join(sorted(SIZES))}")


def _report(benchmark: Any, name: str, samples: int, nbytes: int) -> None:
    seconds = benchmark.stats.stats.median if benchmark.stats is not None else None
    info = {"samples": samples, "text_bytes": nbytes}
    if seconds:
        info.update({"samples/s": samples / seconds, "MB/s": nbytes / 1e6 / seconds})
        print(
            f"\n{name:24s} {samples / seconds / 1e6:7.3f} M samples/s "
            f"{nbytes / 1e6 / seconds:8.1f} MB/s ({samples:,} samples)"
        )
    benchmark.extra_info.update(info)


def _open_capture(benchmark: Any, name: str, rounds: int) -> None:
    d = dataset(name)
    cap = d.capture()
    summary = d.summary
    nbytes = uncompressed_bytes(cap)
    db = benchmark.pedantic(engine.open, args=(cap,), rounds=rounds, iterations=1)
    assert db.stats()["series"] == summary["series"] and not db.warnings
    _report(benchmark, name, summary["samples"], nbytes)


@pytest.mark.parametrize("size", ["small", "medium"])
def test_open_capture(benchmark: Any, size: str) -> None:
    _need(size)
    benchmark.group = "ingest capture"
    _open_capture(benchmark, size, rounds=3 if size == "small" else 1)


@pytest.mark.parametrize("services", SCALING_SERVICES)
def test_open_capture_scaling_series(benchmark: Any, services: int) -> None:
    _need("scaling")
    benchmark.group = "ingest scaling series"
    _open_capture(benchmark, f"series-{services}", rounds=1)


@pytest.mark.parametrize("hours", SCALING_HOURS)
def test_open_capture_scaling_range(benchmark: Any, hours: int) -> None:
    _need("scaling")
    benchmark.group = "ingest scaling range"
    _open_capture(benchmark, f"hours-{hours}", rounds=1)


def test_open_openmetrics(benchmark: Any, tmp_path: Path) -> None:
    """The OpenMetrics view of the small set (one file with timestamps, as a dump)."""
    _need("small")
    d = dataset("small")
    om = tmp_path / "small.om"
    nbytes = d.write_openmetrics(om)
    benchmark.group = "ingest openmetrics"
    db = benchmark.pedantic(engine.open, args=(om,), rounds=3, iterations=1)
    assert len(db.samples) == d.summary["samples"]
    _report(benchmark, "small openmetrics", d.summary["samples"], nbytes)


@pytest.mark.parametrize("size", ["small", "medium"])
def test_load_saved_store(benchmark: Any, size: str) -> None:
    _need(size)
    d = dataset(size)
    d.store()  # built and saved once
    path = d.folder / "store.parquet"
    benchmark.group = "load saved store"
    db = benchmark.pedantic(Store.load, args=(path,), rounds=3, iterations=1)
    benchmark.extra_info.update(
        {"samples": len(db.samples), "file_bytes_per_sample": path.stat().st_size / len(db.samples)}
    )
