"""Selectors: which series a selector names, and their samples at each step.

A vector selector returns, per series and step, the newest sample in the lookback window
``(t - offset - lookback, t - offset]``, unless that sample is a stale marker. A range
selector hands its functions the samples in ``(t - offset - range, t - offset]``, stale
markers removed. Both are computed with :mod:`engine.kernels.windows` directly on the
store's CSR columns, so selecting series from one store copies no samples.

The evaluator reads through a *view*: :class:`StoreView` over one store (cached on the
store, so the stale-free columns and the counter-reset index are built once per metric,
not once per query), or :class:`LayeredView` over several stores, which is how rule
replay lets later rules read what earlier rules recorded on top of the data.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..kernels.extended import smoothed_instant
from ..kernels.rate import counter_resets
from ..kernels.windows import drop_stale, lookback_index, window_bounds
from ..labels import LabelTable
from ..store import Store
from ..store.samples import Samples, is_stale
from .values import Matrix, Vector

if TYPE_CHECKING:
    from ..store.index import Matcher
    from .nodes import VectorSelector

__all__ = [
    "Selection",
    "StoreView",
    "LayeredView",
    "view_of",
    "select_instant",
    "select_range",
    "select_smoothed",
]


@dataclass
class Selection:
    """Selected series: series ``s`` owns ``ts[seg_start[s]:seg_end[s]]`` of the columns.

    ``resets`` is the counter-reset index over ``values`` (see
    :func:`engine.kernels.rate.counter_resets`) when it is already known.
    """

    labels: LabelTable
    ts: np.ndarray
    values: np.ndarray
    seg_start: np.ndarray
    seg_end: np.ndarray
    resets: tuple[np.ndarray, np.ndarray] | None = None

    @property
    def n_series(self) -> int:
        return self.labels.n


#: above this many (series x label names), :meth:`StoreView.labels_of` keeps no code matrix
_CODES_LIMIT = 16_000_000


class StoreView:
    """One store, with the derived columns the evaluator needs, built on first use."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._codes: tuple[list[str], np.ndarray] | None = None
        self._markers: np.ndarray | None = None
        self._runs: np.ndarray | None = None
        self._clean: dict[tuple[int, int], _Clean] = {}

    def labels_of(self, ids: np.ndarray) -> LabelTable:
        """The label sets of series ``ids``, with only the columns they use (the store's
        table has a column for every name in the store: 45 on the medium mesh, of which a
        metric uses 5 to 25). The store's columns are copied once into one ``[name,
        series]`` matrix, so a selection gathers its label sets and finds the columns
        they use in two array operations instead of one per column."""
        table = self.store.labels
        if table.n * len(table.cols) > _CODES_LIMIT:  # a huge store: ask the columns each time
            return table.take(ids).pruned()
        if self._codes is None:
            names = sorted(table.cols)
            matrix = np.stack([table.cols[k] for k in names]) if names else np.zeros((0, table.n))
            self._codes = (names, matrix.astype(np.int32, copy=False))
        names, codes = self._codes
        selected = codes[:, ids]
        used = np.flatnonzero(selected.any(axis=1))
        keep = [names[k] for k in used.tolist()]
        return LabelTable.of_columns(len(ids), dict(zip(keep, selected[used], strict=True)), keep)

    def select(self, matchers: list[Matcher], clean: bool) -> Selection:
        ids = self.store.match(matchers)
        labels = self.labels_of(ids)
        if not clean:
            s = self.store.samples
            return Selection(labels, s.ts, s.values, s.offsets[ids], s.offsets[ids + 1])
        c = self._clean_of(ids)
        local = ids - c.first
        return Selection(labels, c.ts, c.values, c.starts[local], c.ends[local], c.resets)

    def _clean_of(self, ids: np.ndarray) -> _Clean:
        """Stale-free samples for series ``ids`` (sorted), built on first use: those of
        the run of consecutive series that share the name of ``ids`` when they all have
        one name (how a store sorts its series, and what a selector usually asks for),
        else of the whole store. A new process's first query so reads one metric's
        samples rather than the whole store's (the medium mesh's p99 query: a quarter)."""
        lo, hi = 0, self.store.labels.n
        if len(ids) and len(self.markers):
            runs = self.name_runs
            first, last = np.searchsorted(runs, (ids[0], ids[-1]), side="right") - 1
            if first == last:
                lo, hi = int(runs[first]), int(runs[first + 1])
        c = self._clean.get((lo, hi))
        if c is None:
            c = self._clean[(lo, hi)] = _stale_free(self.store.samples, lo, hi, self.markers)
        return c

    @property
    def markers(self) -> np.ndarray:
        """Positions of the store's stale markers in its sample columns."""
        if self._markers is None:
            self._markers = np.flatnonzero(is_stale(self.store.samples.values))
        return self._markers

    @property
    def name_runs(self) -> np.ndarray:
        """Where each run of consecutive series with one ``__name__`` starts, then ``n``."""
        if self._runs is None:
            names = self.store.labels.get("__name__")
            change = np.flatnonzero(names[1:] != names[:-1]) + 1
            self._runs = np.concatenate(([0], change, [len(names)])).astype(np.int64)
        return self._runs


@dataclass(frozen=True)
class _Clean:
    """The samples of a store's series ``first + i`` without stale markers:
    ``ts[starts[i]:ends[i]]``, and the counter-reset index over ``values``."""

    first: int
    ts: np.ndarray
    values: np.ndarray
    starts: np.ndarray
    ends: np.ndarray
    resets: tuple[np.ndarray, np.ndarray]


def _stale_free(s: Samples, lo: int, hi: int, markers: np.ndarray) -> _Clean:
    """Series ``lo`` to ``hi - 1`` of ``s`` without their stale markers (``markers``:
    the positions of every marker of ``s``, sorted).

    The columns are copied only when a marker sits between two samples of a series. A
    series usually has none, or ends with them (it disappeared): its segment then simply
    stops before them, and the slices of the store's columns are read as they are."""
    a, b = int(s.offsets[lo]), int(s.offsets[hi])
    offsets = s.offsets[lo : hi + 1] - a
    ts, values = s.ts[a:b], s.values[a:b]
    starts, ends = offsets[:-1], offsets[1:]
    inside = markers[np.searchsorted(markers, a) : np.searchsorted(markers, b)] - a
    if len(inside):
        owner = np.searchsorted(offsets, inside, side="right") - 1
        series, first, count = np.unique(owner, return_index=True, return_counts=True)
        if (inside[first] == ends[series] - count).all():  # only trailing markers
            ends = ends.copy()
            ends[series] -= count
        else:
            offsets, ts, values = drop_stale(offsets, ts, values, inside)
            starts, ends = offsets[:-1], offsets[1:]
    # trailing markers stay in ``values``: NaN compares false, so they count no reset
    return _Clean(lo, ts, values, starts, ends, counter_resets(offsets, values))


class LayeredView:
    """Several stores read as one. A label set present in more than one store is one
    series whose samples are merged by time (the earlier layer wins a duplicate
    timestamp). Selections that touch one store copy nothing; others are gathered."""

    def __init__(self, stores: list[Store]) -> None:
        self.views = [view_of(s) for s in stores]

    def select(self, matchers: list[Matcher], clean: bool) -> Selection:
        parts = [v.select(matchers, clean) for v in self.views]
        parts = [p for p in parts if p.n_series]
        if not parts:
            return self.views[0].select(matchers, clean)
        if len(parts) == 1:
            return parts[0]
        return _merge(parts)


def _merge(parts: list[Selection]) -> Selection:
    labels = LabelTable.concat([p.labels for p in parts])
    group, first = labels.group()
    chunks_ts, chunks_v, chunks_g = [], [], []
    base = 0
    for p in parts:
        lengths = p.seg_end - p.seg_start
        idx = np.repeat(p.seg_start - np.cumsum(np.concatenate([[0], lengths[:-1]])), lengths)
        idx = idx + np.arange(int(lengths.sum()))
        chunks_ts.append(p.ts[idx])
        chunks_v.append(p.values[idx])
        chunks_g.append(np.repeat(group[base : base + p.n_series], lengths))
        base += p.n_series
    ts = np.concatenate(chunks_ts)
    vals = np.concatenate(chunks_v)
    g = np.concatenate(chunks_g)
    order = np.lexsort((ts, g))  # stable: the earlier layer first at equal times
    ts, vals, g = ts[order], vals[order], g[order]
    keep = np.ones(len(ts), bool)
    keep[1:] = ~((g[1:] == g[:-1]) & (ts[1:] == ts[:-1]))
    ts, vals, g = ts[keep], vals[keep], g[keep]
    counts = np.bincount(g, minlength=len(first))
    offsets = np.zeros(len(first) + 1, np.int64)
    np.cumsum(counts, out=offsets[1:])
    return Selection(labels.take(first), ts, vals, offsets[:-1], offsets[1:])


def view_of(store) -> StoreView | LayeredView:
    """The (cached) view the evaluator reads ``store`` through."""
    if isinstance(store, StoreView | LayeredView):
        return store
    if isinstance(store, list | tuple):
        return LayeredView(list(store))
    view = getattr(store, "_promql_view", None)
    if view is None:
        view = StoreView(store)
        store._promql_view = view
    return view


def select_instant(
    view, node: VectorSelector, eff: np.ndarray, lookback_ms: int
) -> tuple[Vector, np.ndarray]:
    """The instant vector of ``node`` at effective times ``eff`` (offset and ``@`` applied).

    Returns the vector (series with at least one point) and the sample timestamps
    ``[S, T]`` (for ``timestamp()``).
    """
    sel = view.select(list(node.matchers), clean=False)
    idx = lookback_index(sel.seg_start, sel.seg_end, sel.ts, sel.values, eff - lookback_ms, eff)
    present = idx >= 0
    keep = np.flatnonzero(present.any(axis=1))
    idx, present = idx[keep], present[keep]
    safe = np.where(present, idx, 0)
    values = np.where(present, sel.values[safe], 0.0) if len(sel.values) else np.zeros(idx.shape)
    sample_ts = np.where(present, sel.ts[safe], 0) if len(sel.ts) else np.zeros(idx.shape, np.int64)
    return Vector(sel.labels.take(keep), values, present), sample_ts


def select_range(
    view, node: VectorSelector, eff: np.ndarray, range_ms: int, lookback_ms: int
) -> Matrix:
    """The range-vector argument for ``node[range]`` at effective times ``eff``.

    An ``anchored`` range also fetches one lookback delta before the window, a
    ``smoothed`` one also one after it (see :mod:`engine.kernels.extended`)."""
    sel = view.select(list(node.matchers), clean=True)
    extended = "anchored" if node.anchored else "smoothed" if node.smoothed else None
    lo, hi = eff - range_ms, eff.copy()
    if extended:
        lo = lo - lookback_ms
        if extended == "smoothed":
            hi = hi + lookback_ms
    return Matrix(
        sel.labels,
        sel.ts,
        sel.values,
        sel.seg_start,
        sel.seg_end,
        lo,
        hi,
        range_ms,
        resets=sel.resets,
        extended=extended,
        range_start=eff - range_ms,
        range_end=eff.copy(),
        selected=True,
    )


def select_smoothed(view, node: VectorSelector, eff: np.ndarray, lookback_ms: int) -> Vector:
    """A ``smoothed`` instant selector: the value at each step time, interpolated."""
    sel = view.select(list(node.matchers), clean=True)
    start, end = window_bounds(
        sel.seg_start, sel.seg_end, sel.ts, eff - lookback_ms, eff + lookback_ms
    )
    values, present = smoothed_instant(sel.ts, sel.values, start, end, eff)
    keep = np.flatnonzero(present.any(axis=1))
    return Vector(sel.labels.take(keep), values[keep], present[keep])
