"""What flows between PromQL nodes during evaluation.

Every node is evaluated once over the whole array of step times ``times[T]``:

- :class:`Vector` (an instant vector at every step): a label table, ``values[S, T]`` and
  a ``present[S, T]`` mask. "Absent" and NaN are different things.
- :class:`Scalar`: ``values[T]``.
- :class:`String`: a string literal.
- :class:`Matrix` (a range vector, the argument of ``rate`` and friends): the series'
  samples in CSR form plus the per-step window edges ``(lo[t], hi[t]]``.

Delayed ``__name__`` removal: a series whose name is to be dropped keeps ``__name__`` in
its labels and has ``drop_name`` set; :func:`finish_names` drops it at the end. Without
delayed removal, :meth:`Vector.drop_names` removes the name (and ``__type__``/``__unit__``)
at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import QueryError
from ..kernels.rate import counter_resets
from ..kernels.windows import window_bounds
from ..labels import LabelTable

__all__ = ["Vector", "Scalar", "String", "Matrix", "collate", "METADATA_LABELS"]

#: Labels removed together with the metric name (``schema.IsMetadataLabel``).
METADATA_LABELS = ("__name__", "__type__", "__unit__")

DUPLICATE_LABELSET = "vector cannot contain metrics with the same labelset"


@dataclass
class Vector:
    labels: LabelTable
    values: np.ndarray  # float64 [S, T]
    present: np.ndarray  # bool [S, T]
    drop_name: np.ndarray = field(default=None)  # bool [S]

    def __post_init__(self) -> None:
        if self.drop_name is None:
            self.drop_name = np.zeros(self.labels.n, bool)

    @property
    def n_series(self) -> int:
        return self.labels.n

    @classmethod
    def empty(cls, n_steps: int) -> Vector:
        return cls(LabelTable.empty(0), np.zeros((0, n_steps)), np.zeros((0, n_steps), bool))

    def take(self, idx: np.ndarray) -> Vector:
        return Vector(
            self.labels.take(idx), self.values[idx], self.present[idx], self.drop_name[idx]
        )

    def compact(self) -> Vector:
        """Without the series that are absent at every step."""
        keep = self.present.any(axis=1)
        return self if keep.all() else self.take(np.flatnonzero(keep))

    def drop_names(self, delayed: bool, mask: np.ndarray | None = None) -> Vector:
        """Mark (delayed) or remove (immediate) the metric name of the series in ``mask``."""
        every = mask is None or bool(mask.all())
        if delayed:
            drop = np.ones(self.n_series, bool) if every else self.drop_name | mask
            return Vector(self.labels, self.values, self.present, drop)
        if every:
            labels = self.labels.drop(METADATA_LABELS)
            return Vector(labels, self.values, self.present, np.zeros(self.n_series, bool))
        cols = dict(self.labels.cols)
        for name in METADATA_LABELS:
            if name in cols:
                cols[name] = np.where(mask, 0, cols[name]).astype(np.int32)
        labels = LabelTable(self.n_series, cols)
        return Vector(labels, self.values, self.present, self.drop_name & ~mask)


@dataclass
class Scalar:
    values: np.ndarray  # float64 [T]


@dataclass
class String:
    value: str


@dataclass
class Matrix:
    """Range-vector argument: series ``s`` owns ``ts[seg_start[s]:seg_end[s]]``; the window
    of step ``t`` is ``(lo[t], hi[t]]``. Stale markers are never part of it."""

    labels: LabelTable
    ts: np.ndarray
    values: np.ndarray
    seg_start: np.ndarray
    seg_end: np.ndarray
    lo: np.ndarray  # int64 [T]
    hi: np.ndarray  # int64 [T]
    range_ms: int
    drop_name: np.ndarray = field(default=None)
    resets: tuple[np.ndarray, np.ndarray] | None = None  # (positions, prefix) if known
    #: "anchored" or "smoothed" when the selector said so: ``lo``/``hi`` are then the fetched
    #: range (lookback included) and ``range_start``/``range_end`` the true window edges
    extended: str | None = None
    range_start: np.ndarray | None = None
    range_end: np.ndarray | None = None
    #: True for a range selector's samples: its series are a store's (no two with the same
    #: labels), and Prometheus loads its windows sample by sample (see
    #: :meth:`Evaluator.check_windows`)
    selected: bool = False

    def __post_init__(self) -> None:
        if self.drop_name is None:
            self.drop_name = np.zeros(self.labels.n, bool)
        if self.range_start is None:
            self.range_start = self.lo
        if self.range_end is None:
            self.range_end = self.hi
        self._bounds: tuple[np.ndarray, np.ndarray] | None = None

    @property
    def n_series(self) -> int:
        return self.labels.n

    def reset_index(self) -> tuple[np.ndarray, np.ndarray]:
        """Counter-reset positions and prefix counts over ``values`` (see
        :func:`engine.kernels.rate.counter_resets`); computed from the segments when the
        matrix owns its columns (a subquery result)."""
        if self.resets is None:
            offsets = (
                np.append(self.seg_start, self.seg_end[-1:])
                if self.n_series
                else np.zeros(1, np.int64)
            )
            self.resets = counter_resets(offsets.astype(np.int64), self.values)
        return self.resets

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """``start``/``end`` sample indices ``[S, T]`` of every window (computed once)."""
        if self._bounds is None:
            self._bounds = window_bounds(self.seg_start, self.seg_end, self.ts, self.lo, self.hi)
        return self._bounds


def collate(vec: Vector, strict: bool = False) -> Vector:
    """Merge series with identical label sets, as Prometheus' range evaluation does.

    Two series with the same labels become one when they are never present at the same
    step; otherwise the query fails with Prometheus' duplicate-labelset error. With
    ``strict`` any two series with the same labels fail, present together or not (the
    check Prometheus makes after a range-vector function).
    """
    if vec.n_series < 2:
        return vec
    inverse, first = vec.labels.group()
    if len(first) == vec.n_series:
        return vec
    if strict:
        raise QueryError(DUPLICATE_LABELSET)
    G = len(first)
    counts = np.zeros((G, vec.values.shape[1]), np.int64)
    np.add.at(counts, inverse, vec.present.astype(np.int64))
    if (counts > 1).any():
        raise QueryError(DUPLICATE_LABELSET)
    values = np.zeros((G, vec.values.shape[1]))
    present = np.zeros((G, vec.values.shape[1]), bool)
    # later series only fill steps where nothing is present yet, so the order is irrelevant
    rows, cols = np.nonzero(vec.present)
    values[inverse[rows], cols] = vec.values[rows, cols]
    present[inverse[rows], cols] = True
    drop = vec.drop_name[first]
    return Vector(vec.labels.take(first), values, present, drop)
