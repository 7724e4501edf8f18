"""The in-process columnar store: series labels, CSR samples, metadata and exemplars.

>>> b = StoreBuilder()
>>> ids = b.series_ids([(("__name__", "up"), ("job", "b")), (("__name__", "up"), ("job", "a"))])
>>> b.append(ids, np.array([1000, 1000]), np.array([1.0, 0.0]))
>>> db = b.finish()
>>> db.series('up{job="a"}')
[{'__name__': 'up', 'job': 'a'}]
>>> [(lab["job"], ts.tolist(), v.tolist()) for lab, ts, v in db.select("up")]
[('a', [1000], [0.0]), ('b', [1000], [1.0])]
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ..labels import POOL, Labels, LabelTable
from .index import Matcher, match_series, parse_matchers
from .samples import SampleBuilder, Samples

if TYPE_CHECKING:
    from os import PathLike

__all__ = ["FamilyMeta", "Exemplars", "HistogramSamples", "Store", "StoreBuilder"]


@dataclass(frozen=True, slots=True)
class FamilyMeta:
    """``# TYPE``, ``# HELP`` and ``# UNIT`` of one metric family."""

    type: str = "unknown"
    help: str = ""
    unit: str = ""


@dataclass(slots=True)
class HistogramSamples:
    """Native-histogram samples, kept beside the float columns until the native-histogram
    issue gives them columns of their own. ``values`` holds histogram objects; rows are
    sorted by (series, ts)."""

    series: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    ts: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    values: np.ndarray = field(default_factory=lambda: np.zeros(0, object))

    def __len__(self) -> int:
        return len(self.series)


@dataclass(slots=True)
class Exemplars:
    """Exemplar table: one row per exemplar, ``series`` indexes the store's series."""

    series: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    ts: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # ms; -1 = none
    values: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float64))
    labels: LabelTable = field(default_factory=LabelTable.empty)

    def __len__(self) -> int:
        return len(self.series)


class Store:
    """Everything a capture, dump or saved store holds, in columns.

    ``labels`` has one row per series (dense ids ``0..S-1``, in Prometheus' label
    order); ``samples`` holds their samples in CSR layout. Times in this API are unix
    seconds as floats; inside, they are int64 milliseconds.
    """

    def __init__(
        self,
        labels: LabelTable,
        samples: Samples,
        metadata: dict[str, FamilyMeta] | None = None,
        exemplars: Exemplars | None = None,
        warnings: Sequence[str] = (),
        rejected_duplicates: int = 0,
        histograms: HistogramSamples | None = None,
    ) -> None:
        if samples.n_series != labels.n:
            raise ValueError(f"{labels.n} label sets but {samples.n_series} sample series")
        self.labels = labels
        self.samples = samples
        self.metadata: dict[str, FamilyMeta] = dict(metadata or {})
        self.exemplars = exemplars if exemplars is not None else Exemplars()
        self.warnings: list[str] = list(warnings)
        self.rejected_duplicates = int(rejected_duplicates)
        self.histograms = histograms if histograms is not None else HistogramSamples()

    def __repr__(self) -> str:
        st = self.stats()
        return f"<Store {st['series']} series, {st['samples']} samples>"

    # ---- selection ---------------------------------------------------------------------
    def match(self, matchers: Sequence[Matcher] | str) -> np.ndarray:
        """Series ids (sorted) matching a selector text or a list of matchers."""
        if isinstance(matchers, str):
            matchers = parse_matchers(matchers)
        return match_series(self.labels, matchers)

    def series(self, selector: str) -> list[dict[str, str]]:
        """Label sets (``__name__`` included) of the series matching ``selector``."""
        return self.labels.take(self.match(selector)).rows()

    def select(
        self, selector: str, start: float | None = None, end: float | None = None
    ) -> list[tuple[dict[str, str], np.ndarray, np.ndarray]]:
        """Raw samples of matching series, stale markers included.

        ``start``/``end`` (unix seconds, inclusive) bound the samples returned.
        Returns ``(labels, ts_ms int64, values float64)`` per series, in label order.
        """
        ids = self.match(selector)
        lo = -(2**63) if start is None else int(np.floor(start * 1000))
        hi = 2**63 - 1 if end is None else int(np.floor(end * 1000))
        out = []
        for i in ids.tolist():
            ts, vals = self.samples.series(i)
            a, b = np.searchsorted(ts, lo, "left"), np.searchsorted(ts, hi, "right")
            out.append((self.labels.row(i), ts[a:b].copy(), vals[a:b].copy()))
        return out

    # ---- PromQL --------------------------------------------------------------------------
    def query(self, expr: str, time: float | None = None, **options: Any):
        """Evaluate ``expr`` at ``time`` (unix seconds; default: the newest sample).

        ``options`` are those of :class:`~engine.promql.evaluator.QueryOptions`, with
        ``lookback_delta`` in seconds as a convenience. Returns a
        :class:`~engine.result.Result`.

        >>> db.query('sum(rate(istio_requests_total[5m]))', time=1.7e9)  # doctest: +SKIP
        """
        from ..promql.evaluator import instant_query

        t = self._default_time() if time is None else time
        return instant_query(self, expr, _to_ms(t), _options(options))

    def query_range(self, expr: str, start: float, end: float, step: float = 60.0, **options: Any):
        """Evaluate ``expr`` at ``start, start+step, ... <= end`` (unix seconds)."""
        from ..promql.evaluator import range_query

        return range_query(self, expr, _to_ms(start), _to_ms(end), _to_ms(step), _options(options))

    def _default_time(self) -> float:
        tr = self.samples.time_range()
        return 0.0 if tr is None else tr[1] / 1000

    # ---- summary -----------------------------------------------------------------------
    def stats(self) -> dict[str, Any]:
        """Series and sample counts, time range (unix seconds) and bytes in memory."""
        tr = self.samples.time_range()
        label_bytes = sum(c.nbytes for c in self.labels.cols.values())
        return {
            "series": self.labels.n,
            "samples": len(self.samples),
            "min_time": None if tr is None else tr[0] / 1000,
            "max_time": None if tr is None else tr[1] / 1000,
            "exemplars": len(self.exemplars),
            "bytes": self.samples.nbytes() + label_bytes,
            "warnings": len(self.warnings),
            "rejected_duplicates": self.rejected_duplicates,
        }

    def top_metrics(self, n: int = 10) -> list[tuple[str, int]]:
        """The ``n`` metric names with the most series, most first."""
        names = self.labels.get("__name__")
        uniq, counts = np.unique(names, return_counts=True)
        order = np.lexsort((POOL.strings(uniq).astype(str), -counts))[:n]
        return [(POOL.string(int(uniq[i])), int(counts[i])) for i in order]

    # ---- persistence -------------------------------------------------------------------
    def save(self, path: str | PathLike[str]) -> None:
        """Write the store to ``path`` (Parquet; atomic: temporary file, then rename)."""
        from .parquet import save_store

        save_store(self, path)

    @classmethod
    def load(cls, path: str | PathLike[str]) -> Store:
        from .parquet import load_store

        return load_store(path)


class StoreBuilder:
    """Accumulates series and samples from any number of sources, then builds a Store."""

    def __init__(self) -> None:
        self._ids: dict[Labels, int] = {}
        self._keys: list[Labels] = []
        self.samples = SampleBuilder()
        self.metadata: dict[str, FamilyMeta] = {}
        self.warnings: list[str] = []
        self._ex_series: list[np.ndarray] = []
        self._ex_ts: list[np.ndarray] = []
        self._ex_values: list[np.ndarray] = []
        self._ex_labels: list[dict[str, str]] = []
        self._h_series: list[int] = []
        self._h_ts: list[int] = []
        self._h_values: list[object] = []

    @property
    def n_series(self) -> int:
        return len(self._keys)

    def series_id(self, key: Labels) -> int:
        """Dense id of a label set (``(name, value)`` pairs sorted by name, no empties)."""
        i = self._ids.get(key)
        if i is None:
            i = self._ids[key] = len(self._keys)
            self._keys.append(key)
        return i

    def series_ids(self, keys: Iterable[Labels]) -> np.ndarray:
        return np.fromiter((self.series_id(k) for k in keys), dtype=np.int64)

    def append(self, series: np.ndarray, ts: np.ndarray, values: np.ndarray) -> None:
        self.samples.append(series, ts, values)

    def append_histogram(self, series: int, ts: int, value: object) -> None:
        """One native-histogram sample (kept in :class:`HistogramSamples`)."""
        self._h_series.append(int(series))
        self._h_ts.append(int(ts))
        self._h_values.append(value)

    def add_exemplars(
        self,
        series: np.ndarray,
        ts: np.ndarray,
        values: np.ndarray,
        labels: Sequence[dict[str, str]],
    ) -> None:
        self._ex_series.append(np.asarray(series, np.int64))
        self._ex_ts.append(np.asarray(ts, np.int64))
        self._ex_values.append(np.asarray(values, np.float64))
        self._ex_labels.extend(labels)

    def finish(self) -> Store:
        """Build the store; series are renumbered into Prometheus' label order."""
        n = len(self._keys)
        order = sorted(range(n), key=self._keys.__getitem__)
        remap = np.empty(n, np.int64)
        remap[np.asarray(order, dtype=np.int64)] = np.arange(n)
        labels = LabelTable.from_dicts([dict(self._keys[i]) for i in order])
        samples, rejected = self.samples.finish(n, remap)
        exemplars = Exemplars()
        if self._ex_series:
            exemplars = Exemplars(
                remap[np.concatenate(self._ex_series)],
                np.concatenate(self._ex_ts),
                np.concatenate(self._ex_values),
                LabelTable.from_dicts(self._ex_labels),
            )
        histograms = HistogramSamples()
        if self._h_series:
            hs = remap[np.asarray(self._h_series, np.int64)]
            hts = np.asarray(self._h_ts, np.int64)
            hv = np.empty(len(self._h_values), object)
            hv[:] = self._h_values
            order = np.lexsort((hts, hs))
            histograms = HistogramSamples(hs[order], hts[order], hv[order])
        return Store(labels, samples, self.metadata, exemplars, self.warnings, rejected, histograms)


def _to_ms(seconds: float) -> int:
    """Unix seconds -> int ms, truncating below the millisecond as Prometheus' API does."""
    return int(np.floor(np.float64(seconds) * 1000.0 + 1e-6))


def _options(options: dict[str, Any]):
    from ..promql.evaluator import QueryOptions

    opts = dict(options)
    if "lookback_delta" in opts:
        opts["lookback_delta_ms"] = _to_ms(opts.pop("lookback_delta"))
    return QueryOptions(**opts)
