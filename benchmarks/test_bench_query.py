"""Query speed, scaling, peak memory and start-up (issue 4 §1, §3).

Run with ``make bench`` or::

    .venv/bin/python -m pytest benchmarks/test_bench_query.py --benchmark-enable
    PROMREPLAY_BENCH_SIZES=small,scaling .venv/bin/python -m pytest \\
        benchmarks/test_bench_query.py --benchmark-enable

The data sets come from :mod:`meshdata` (generated once, then loaded from a saved
store in ``~/.cache/promreplay-bench``; the medium set takes a few minutes the first
time). ``PROMREPLAY_BENCH_SIZES`` picks the sizes: any of ``small``, ``medium``,
``scaling`` (default: all three). Groups:

- ``query <size> range|instant``: the golden-signal queries of :mod:`queries`, as a range
  query over the whole set at a 60 s step and as an instant query at its end;
- ``scaling series (q)`` / ``scaling range (q)``: queries (a) and (b) while the series
  count grows (1.9k to 23.5k series over 1 h) and, separately, the range grows (1 h to
  8 h of 1.9k series). ``extra_info`` holds series, samples and steps: the time should
  grow with the samples touched, not faster;
- ``shape: window length``: ``rate(x[1m])`` and ``rate(x[1h])`` at a 15 s step over
  the same 5 h of the medium set; the target is that the 1 h window costs at most 2x the
  1 m one (the ratio is printed and kept in ``extra_info``);
- ``shape: peak memory``: a range query's resident-memory peak, measured in a fresh
  process (:mod:`probes`), against the target 2 x (samples touched x 16 B + output); the
  one-time cost of a store's first query is reported next to it;
- ``shape: start-up``: ``import engine`` (target 0.3 s) and the first query's extra time
  over the steady state in a new process with a warm numba cache (target 1 s).

Timing targets are reported, never asserted: the machine is shared and noisy.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
from meshdata import SCALING_HOURS, SCALING_SERVICES, dataset
from probes import run_probe
from queries import QUERIES, Grid, query

from engine.promql.evaluator import QueryOptions, instant_query, range_query

SIZES = set(os.environ.get("PROMREPLAY_BENCH_SIZES", "small,medium,scaling").split(","))
_STORES: dict[str, Any] = {}
_SHAPE: dict[str, float] = {}
OPTIONS = QueryOptions()


def _need(size: str) -> None:
    if size not in SIZES:
        pytest.skip(f"{size} not in PROMREPLAY_BENCH_SIZES={','.join(sorted(SIZES))}")


def _store(name: str) -> tuple[Any, Grid]:
    """The store of data set ``name`` and its query grid (loaded once per session)."""
    if name not in _STORES:
        d = dataset(name)
        db = d.store()
        lo, hi = db.samples.time_range()
        _STORES[name] = (db, Grid.over(int(lo), int(hi)))
    return _STORES[name]  # type: ignore[no-any-return]


def _median(benchmark: Any) -> float | None:
    return None if benchmark.stats is None else float(benchmark.stats.stats.median)


# ---- the golden signals --------------------------------------------------------------------


@pytest.mark.parametrize("size", ["small", "medium"])
@pytest.mark.parametrize("q", QUERIES, ids=[q.key for q in QUERIES])
def test_range_query(benchmark: Any, size: str, q: Any) -> None:
    _need(size)
    db, g = _store(size)
    benchmark.group = f"query {size} range"
    r = benchmark(range_query, db, q.expr, g.start_ms, g.end_ms, g.step_ms, OPTIONS)
    assert len(r.values), f"{q.key} is empty on {size}: it measures nothing"
    benchmark.extra_info.update(
        {"steps": g.steps, "series_out": r.labels.n, "points_out": len(r.values)}
    )


@pytest.mark.parametrize("size", ["small", "medium"])
@pytest.mark.parametrize("q", QUERIES, ids=[q.key for q in QUERIES])
def test_instant_query(benchmark: Any, size: str, q: Any) -> None:
    _need(size)
    db, g = _store(size)
    benchmark.group = f"query {size} instant"
    r = benchmark(instant_query, db, q.expr, g.end_ms, OPTIONS)
    assert len(r.values), f"{q.key} is empty on {size}: it measures nothing"


# ---- scaling ----------------------------------------------------------------------------------


def _scaling(benchmark: Any, name: str, key: str, group: str) -> None:
    _need("scaling")
    db, g = _store(name)
    q = query(key)
    benchmark.group = group
    r = benchmark(range_query, db, q.expr, g.start_ms, g.end_ms, g.step_ms, OPTIONS)
    assert len(r.values)
    benchmark.extra_info.update(
        {"series": db.labels.n, "samples": len(db.samples), "steps": g.steps}
    )


@pytest.mark.parametrize("key", ["a", "b"])
@pytest.mark.parametrize("services", SCALING_SERVICES)
def test_scaling_series(benchmark: Any, services: int, key: str) -> None:
    _scaling(benchmark, f"series-{services}", key, f"scaling series ({key})")


@pytest.mark.parametrize("key", ["a", "b"])
@pytest.mark.parametrize("hours", SCALING_HOURS)
def test_scaling_range(benchmark: Any, hours: int, key: str) -> None:
    _scaling(benchmark, f"hours-{hours}", key, f"scaling range ({key})")


# ---- shape checks -----------------------------------------------------------------------------


@pytest.mark.parametrize("window", ["1m", "1h"])
def test_shape_window_length(benchmark: Any, window: str) -> None:
    """``rate(x[1h])`` vs ``rate(x[1m])`` at a 15 s step, same steps, same series."""
    _need("medium")
    db, g = _store("medium")
    start = g.start_ms + 3_600_000  # every 1 h window full
    expr = f"rate(istio_requests_total[{window}])"
    benchmark.group = "shape: window length"
    r = benchmark(range_query, db, expr, start, g.end_ms, 15_000, OPTIONS)
    assert len(r.values)
    t = _median(benchmark)
    if t is not None:
        _SHAPE[window] = t
    if window == "1h" and "1m" in _SHAPE and t is not None:
        ratio = t / _SHAPE["1m"]
        benchmark.extra_info["ratio_1h_over_1m"] = ratio
        print(f"\nrate(x[1h]) / rate(x[1m]) at a 15 s step: {ratio:.2f} (target <= 2)")


@pytest.mark.parametrize("key", ["a", "b", "d"])
def test_shape_peak_memory(benchmark: Any, key: str) -> None:
    """Resident-memory peak of one range query, in a fresh process."""
    _need("medium")
    _, g = _store("medium")
    store = dataset("medium").folder / "store.parquet"
    q = query(key)
    benchmark.group = "shape: peak memory"
    out: dict[str, Any] = {}

    def probe() -> None:
        out.update(run_probe("memory", store, q.expr, g.start_ms, g.end_ms, g.step_ms))

    benchmark.pedantic(probe, rounds=1, iterations=1)
    bound = 2 * (out["samples_touched"] * 16 + out["output_bytes"])
    out["bound_bytes"] = bound
    out["peak_over_bound"] = out["peak_bytes"] / bound
    benchmark.extra_info.update(out)
    print(
        f"\n({key}) peak {out['peak_bytes'] / 1e6:.1f} MB, bound {bound / 1e6:.1f} MB "
        f"({out['samples_touched']} samples touched, {out['output_bytes']} B out); the "
        f"store's first query (one step) peaked at {out['first_step_peak_bytes'] / 1e6:.1f} MB"
    )


def test_shape_startup(benchmark: Any) -> None:
    """``import engine`` and the first query in a new process (numba's cache warm)."""
    size = "medium" if "medium" in SIZES else "small"
    _, g = _store(size)
    store = dataset(size).folder / "store.parquet"
    q = query("b")
    args = (store, q.expr, g.start_ms, g.end_ms, g.step_ms)
    run_probe("startup", *args)  # fills numba's disk cache if it was cold
    benchmark.group = "shape: start-up"
    out: dict[str, Any] = {}
    benchmark.pedantic(lambda: out.update(run_probe("startup", *args)), rounds=1, iterations=1)
    out["first_over_steady_s"] = out["first_s"] - out["steady_s"]
    benchmark.extra_info.update(out)
    print(
        f"\nimport engine {out['import_s']:.3f} s (target 0.3), first query "
        f"+{out['first_over_steady_s']:.3f} s over steady (target 1)"
    )
