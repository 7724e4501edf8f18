"""What the rules write: a store that grows while a replay runs, readable by the evaluator.

Rule outputs (recorded series, ``ALERTS``, ``ALERTS_FOR_STATE`` and their stale
markers) are appended here as the replay goes, and later rules read them through
:meth:`OutputStore.view`, layered over the data (``[data, outputs.view()]``, see
:class:`engine.promql.select.LayeredView`).

:meth:`OutputStore.append` applies the checks of Prometheus' head appender to one sample,
as the rule manager's appender meets them (``rules/group.go``): a sample older than the
newest one of its series is rejected (out of order), one at the same time with other
bits is rejected (duplicate), and one with the same bits is accepted without being
stored twice. :meth:`OutputStore.extend` is the bulk path for a rule evaluated over the
whole grid at once, whose series no other rule writes.

>>> out = OutputStore()
>>> k = (("__name__", "r"),)
>>> [out.append(k, t, v) for t, v in ((1000, 1.0), (1000, 2.0), (500, 3.0), (2000, 2.0))]
[True, False, False, True]
>>> st = out.to_store()
>>> st.samples.ts.tolist(), st.samples.values.tolist()
([1000, 2000], [1.0, 2.0])
"""

from __future__ import annotations

import numpy as np

from ..labels import Labels, LabelTable
from ..promql.select import Selection, StoreView
from ..store import Store, StoreBuilder, is_stale
from ..store.index import match_series

__all__ = ["OutputStore", "OutputView"]


class _Series:
    __slots__ = ("ts", "values", "n")

    def __init__(self) -> None:
        self.ts = np.zeros(8, np.int64)
        self.values = np.zeros(8, np.float64)
        self.n = 0

    def reserve(self, extra: int) -> None:
        need = self.n + extra
        if need > len(self.ts):
            cap = max(need, 2 * len(self.ts))
            ts = np.zeros(cap, np.int64)
            vals = np.zeros(cap, np.float64)
            ts[: self.n] = self.ts[: self.n]
            vals[: self.n] = self.values[: self.n]
            self.ts, self.values = ts, vals


class OutputStore:
    """Series written by rules, each kept sorted by time (appends only go forward)."""

    def __init__(self) -> None:
        self._ids: dict[Labels, int] = {}
        self._keys: list[Labels] = []
        self._series: list[_Series] = []
        self._table: LabelTable | None = None

    def __len__(self) -> int:
        return len(self._keys)

    @property
    def n_samples(self) -> int:
        return sum(s.n for s in self._series)

    def series_id(self, key: Labels) -> int:
        i = self._ids.get(key)
        if i is None:
            i = self._ids[key] = len(self._keys)
            self._keys.append(key)
            self._series.append(_Series())
            self._table = None
        return i

    def append(self, key: Labels, ts: int, value: float) -> bool:
        """Append one sample with the head appender's checks; ``False`` if rejected."""
        s = self._series[self.series_id(key)]
        if s.n:
            last_ts = int(s.ts[s.n - 1])
            if ts < last_ts:
                return False
            if ts == last_ts:
                same = (
                    np.float64(value).view(np.uint64) == s.values[s.n - 1 : s.n].view(np.uint64)[0]
                )
                return bool(same)
        s.reserve(1)
        s.ts[s.n] = ts
        s.values[s.n] = value
        s.n += 1
        return True

    def extend(self, key: Labels, ts: np.ndarray, values: np.ndarray) -> None:
        """Append samples sorted by time, all newer than what the series holds."""
        if len(ts) == 0:
            return
        s = self._series[self.series_id(key)]
        if s.n and int(ts[0]) <= int(s.ts[s.n - 1]):
            raise ValueError(f"samples for {key} go back in time")
        s.reserve(len(ts))
        s.ts[s.n : s.n + len(ts)] = ts
        s.values[s.n : s.n + len(ts)] = values
        s.n += len(ts)

    # ---- reading ------------------------------------------------------------------------
    @property
    def labels(self) -> LabelTable:
        if self._table is None:
            self._table = LabelTable.from_dicts([dict(k) for k in self._keys])
        return self._table

    def series(self, key: Labels) -> tuple[np.ndarray, np.ndarray]:
        """Timestamps and values of one series (empty if never written)."""
        i = self._ids.get(key)
        if i is None:
            return np.zeros(0, np.int64), np.zeros(0, np.float64)
        s = self._series[i]
        return s.ts[: s.n], s.values[: s.n]

    def keys(self) -> list[Labels]:
        return list(self._keys)

    def view(self) -> OutputView:
        """A view the evaluator reads the current contents through."""
        return OutputView(self)

    def to_store(self) -> Store:
        """A snapshot as an ordinary :class:`~engine.store.Store` (stale markers kept)."""
        b = StoreBuilder()
        for key, s in zip(self._keys, self._series, strict=True):
            if s.n:
                sid = b.series_id(key)
                b.append(np.full(s.n, sid, np.int64), s.ts[: s.n].copy(), s.values[: s.n].copy())
        return b.finish()


class OutputView(StoreView):
    """Reads an :class:`OutputStore` as it is at the moment of each selection."""

    def __init__(self, out: OutputStore) -> None:  # noqa: D107 - no StoreView state needed
        self.out = out

    def select(self, matchers, clean: bool) -> Selection:
        out = self.out
        table = out.labels
        ids = match_series(table, matchers) if table.n else np.zeros(0, np.int64)
        chunks_ts, chunks_v, lengths = [], [], []
        for i in ids.tolist():
            s = out._series[i]
            ts, vals = s.ts[: s.n], s.values[: s.n]
            if clean and len(vals):
                keep = ~is_stale(vals)
                if not keep.all():
                    ts, vals = ts[keep], vals[keep]
            chunks_ts.append(ts)
            chunks_v.append(vals)
            lengths.append(len(ts))
        offsets = np.zeros(len(ids) + 1, np.int64)
        if lengths:
            np.cumsum(lengths, out=offsets[1:])
            ts = np.concatenate(chunks_ts)
            vals = np.concatenate(chunks_v)
        else:
            ts, vals = np.zeros(0, np.int64), np.zeros(0, np.float64)
        return Selection(table.take(ids), ts, vals, offsets[:-1], offsets[1:])
