"""Save and load speed of stores (engine/store/parquet.py).

Run with ``make bench`` or
``.venv/bin/python -m pytest benchmarks/test_bench_store_persist.py --benchmark-enable``.
The store is mesh-like: 20k series with 4 labels, 100 samples each at 15 s (2M samples).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from engine.labels import LabelTable
from engine.store import Samples, Store

SERIES, PER_SERIES = 20_000, 100


@pytest.fixture(scope="module")
def store() -> Store:
    rows = [
        {"__name__": f"m{i % 50}", "pod": f"p{i}", "code": str(200 + i % 5), "job": "mesh"}
        for i in range(SERIES)
    ]
    offsets = np.arange(SERIES + 1, dtype=np.int64) * PER_SERIES
    ts = np.tile(np.arange(PER_SERIES, dtype=np.int64) * 15_000 + 1_700_000_000_000, SERIES)
    values = np.cumsum(np.random.default_rng(1).random(SERIES * PER_SERIES)).round(0)
    return Store(LabelTable.from_dicts(rows), Samples(offsets, ts, values))


@pytest.mark.parametrize("suffix", [".parquet", ".arrow"])
def test_save(benchmark, store: Store, tmp_path: Path, suffix: str) -> None:  # noqa: ANN001
    path = tmp_path / f"s{suffix}"
    benchmark(store.save, path)
    benchmark.extra_info["bytes_per_sample"] = path.stat().st_size / len(store.samples)


@pytest.mark.parametrize("suffix", [".parquet", ".arrow"])
def test_load(benchmark, store: Store, tmp_path: Path, suffix: str) -> None:  # noqa: ANN001
    path = tmp_path / f"s{suffix}"
    store.save(path)
    back = benchmark(Store.load, path)
    assert len(back.samples) == len(store.samples)
