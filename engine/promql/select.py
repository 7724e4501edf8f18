"""Selectors: which series a selector names, and their samples at each step.

A vector selector returns, per series and step, the newest sample in the lookback window
``(t - offset - lookback, t - offset]``, unless that sample is a stale marker. A range
selector hands its functions the samples in ``(t - offset - range, t - offset]``, stale
markers removed. Both are computed with :mod:`engine.kernels.windows` directly on the
store's CSR columns, so selecting series copies no samples.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..kernels.rate import counter_resets
from ..kernels.windows import drop_stale, lookback_index
from ..store import Store
from ..store.samples import Samples
from .values import Matrix, Vector

if TYPE_CHECKING:
    from .nodes import VectorSelector

__all__ = ["StoreView", "select_instant", "select_range"]


class StoreView:
    """Per-store caches the evaluator needs: the columns without stale markers and the
    counter-reset index over them. Built once per store, on first use."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._clean: Samples | None = None
        self._resets: tuple[np.ndarray, np.ndarray] | None = None

    @property
    def raw(self) -> Samples:
        return self.store.samples

    @property
    def clean(self) -> Samples:
        """Samples without stale markers (the same arrays when there are none)."""
        if self._clean is None:
            s = self.store.samples
            if len(s.values) and np.isnan(s.values).any():
                off, ts, vals = drop_stale(s.offsets, s.ts, s.values)
                self._clean = Samples(off, ts, vals)
            else:
                self._clean = s
        return self._clean

    @property
    def resets(self) -> tuple[np.ndarray, np.ndarray]:
        if self._resets is None:
            c = self.clean
            self._resets = counter_resets(c.offsets, c.values)
        return self._resets


def _ids(view: StoreView, node: VectorSelector) -> np.ndarray:
    return view.store.match(list(node.matchers))


def select_instant(view: StoreView, node: VectorSelector, eff: np.ndarray, lookback_ms: int) -> tuple[Vector, np.ndarray]:
    """The instant vector of ``node`` at effective times ``eff`` (offset and ``@`` applied).

    Returns the vector (series with at least one point) and the sample timestamps
    ``[S, T]`` (for ``timestamp()``).
    """
    ids = _ids(view, node)
    raw = view.raw
    idx = lookback_index(raw.offsets[ids], raw.offsets[ids + 1], raw.ts, raw.values, eff - lookback_ms, eff)
    present = idx >= 0
    keep = present.any(axis=1)
    ids, idx, present = ids[keep], idx[keep], present[keep]
    safe = np.where(present, idx, 0)
    values = np.where(present, raw.values[safe] if len(raw.values) else 0.0, 0.0)
    sample_ts = np.where(present, raw.ts[safe] if len(raw.ts) else 0, 0)
    return Vector(view.store.labels.take(ids), values, present), sample_ts


def select_range(view: StoreView, node: VectorSelector, eff: np.ndarray, range_ms: int) -> Matrix:
    """The range-vector argument for ``node[range]`` at effective times ``eff``."""
    ids = _ids(view, node)
    clean = view.clean
    return Matrix(
        view.store.labels.take(ids),
        clean.ts,
        clean.values,
        clean.offsets[ids],
        clean.offsets[ids + 1],
        eff - range_ms,
        eff.copy(),
        range_ms,
        resets=view.resets,
    )
