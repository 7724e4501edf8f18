"""Measurements that need a fresh process: start-up time and a range query's peak memory.

Each probe runs as ``python benchmarks/probes.py <probe> ...`` in a subprocess and prints
one JSON object; :func:`run_probe` starts it and returns that object.

- ``startup STORE EXPR START END STEP``: ``import engine`` time, ``engine.open`` of the
  saved store, the first ``query_range`` (which imports the evaluator and loads its
  kernels from numba's cache), and the median of the next three (``steady``). Run it twice and
  read the second: the first run fills numba's disk cache.
- ``memory STORE EXPR START END STEP``: the resident-memory peak of one range query above
  what the process held before it (:func:`peak_rss_during`), after a one-step warm-up of
  the same query (kernels loaded, the store's cached views built: that one-step query's
  own peak is ``first_step_peak_bytes``); also ``tracemalloc``'s peak (numpy's
  allocations only), the samples the query's selectors touch and the size of its output.

Times are in ms since the epoch for ``START``/``END``/``STEP``.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["peak_rss_during", "run_probe", "samples_touched"]

HERE = Path(__file__).resolve()


def run_probe(probe: str, *args: str | int, cores: int = 1, timeout: float = 600) -> dict[str, Any]:
    """Run a probe in a new interpreter pinned to ``cores`` CPUs with
    ``NUMBA_NUM_THREADS=cores``; its JSON result."""
    env = dict(os.environ, NUMBA_NUM_THREADS=str(cores))
    cpus = sorted(os.sched_getaffinity(0))[:cores]
    proc = subprocess.run(
        [sys.executable, str(HERE), probe, *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        preexec_fn=lambda: os.sched_setaffinity(0, cpus),
    )
    if proc.returncode != 0:
        raise RuntimeError(f"probe {probe} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def samples_touched(db: Any, expr: str, start_ms: int, end_ms: int) -> int:
    """Samples (stale markers included) of the series each selector of ``expr`` matches,
    inside the widest span it reads: ``(start - range - offset - lookback, end - offset]``
    (5 m lookback for instant selectors)."""
    import numpy as np

    from engine.promql import nodes as N
    from engine.promql.parse import parse_expr

    total = 0
    ranged = set()
    node = parse_expr(expr)
    for n in N.walk(node):
        if isinstance(n, N.MatrixSelector):
            ranged.add(id(n.vs))
            total += _count(db, n.vs, start_ms - int(n.range), end_ms, np)
    for n in N.walk(node):
        if isinstance(n, N.VectorSelector) and id(n) not in ranged:
            total += _count(db, n, start_ms - 300_000, end_ms, np)
    return total


def _count(db: Any, vs: Any, lo: int, hi: int, np: Any) -> int:
    lo, hi = lo - int(vs.offset), hi - int(vs.offset)
    n = 0
    for i in db.match(list(vs.matchers)).tolist():
        ts, _ = db.samples.series(i)
        n += int(np.searchsorted(ts, hi, "right") - np.searchsorted(ts, lo, "right"))
    return n


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def peak_rss_during(fn: Callable[[], object]) -> tuple[int, object]:
    """Bytes by which the resident set's peak (``VmHWM``) rises above its size before
    ``fn()`` while ``fn`` runs, and ``fn``'s result. Linux only.

    Memory freed earlier is first handed back to the system (``gc``, then glibc's
    ``malloc_trim``): otherwise ``fn`` would reuse pages that are already resident, and
    its allocations would not show in the peak. Allocations made by numba's runtime and
    by C libraries count, unlike with ``tracemalloc``.
    """
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # resets VmHWM to the current resident size
    before = _status_kib("VmRSS")
    out = fn()
    return (_status_kib("VmHWM") - before) * 1024, out


def _startup(store: str, expr: str, start: int, end: int, step: int) -> dict[str, Any]:
    """What a user's script does: ``import engine``, ``engine.open``, ``query_range``."""
    t0 = time.perf_counter()
    import engine

    t1 = time.perf_counter()
    db = engine.open(store)
    t2 = time.perf_counter()
    args = (expr, start / 1000, end / 1000, step / 1000)
    db.query_range(*args)
    t3 = time.perf_counter()
    steady = []
    for _ in range(3):
        s = time.perf_counter()
        db.query_range(*args)
        steady.append(time.perf_counter() - s)
    return {
        "import_s": t1 - t0,
        "load_s": t2 - t1,
        "first_s": t3 - t2,
        "steady_s": statistics.median(steady),
    }


def _memory(store: str, expr: str, start: int, end: int, step: int) -> dict[str, Any]:
    import tracemalloc

    from engine.promql.evaluator import range_query
    from engine.store import Store

    db = Store.load(store)
    touched = samples_touched(db, expr, start, end)
    # warm-up on one step: kernels loaded, per-store views built, little left to reuse
    first_peak, _ = peak_rss_during(lambda: range_query(db, expr, end, end, step))
    peak, r = peak_rss_during(lambda: range_query(db, expr, start, end, step))
    output = r.values.nbytes + r.ts.nbytes + r.offsets.nbytes  # type: ignore[attr-defined]
    del r
    gc.collect()
    tracemalloc.start()  # a separate run: its own bookkeeping would count in VmHWM
    range_query(db, expr, start, end, step)
    _, traced = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "peak_bytes": peak,
        "first_step_peak_bytes": first_peak,
        "tracemalloc_peak_bytes": traced,
        "samples_touched": touched,
        "output_bytes": output,
    }


def main(argv: list[str]) -> int:
    probe, store, expr, start, end, step = argv
    fn = {"startup": _startup, "memory": _memory}[probe]
    print(json.dumps(fn(store, expr, int(start), int(end), int(step))))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
