"""Samples in CSR layout: ``offsets[int64, S+1]``, ``ts[int64 ms]``, ``values[float64]``.

Series ``i`` owns ``ts[offsets[i]:offsets[i+1]]``, sorted by time with no duplicate
timestamps. A stale marker is the NaN with bits :data:`STALE_NAN_BITS` and is kept
bit-exact: nothing here does float arithmetic on values.

>>> b = SampleBuilder()
>>> b.append(np.array([1, 0, 1]), np.array([20, 10, 10]), np.array([2.0, 1.0, 1.5]))
>>> b.append(np.array([1]), np.array([10]), np.array([9.0]))   # duplicate, different value
>>> s, rejected = b.finish(2)
>>> s.offsets.tolist(), s.ts.tolist(), s.values.tolist(), rejected
([0, 1, 3], [10, 10, 20], [1.0, 1.5, 2.0], 1)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "STALE_NAN",
    "STALE_NAN_BITS",
    "Samples",
    "SampleBuilder",
    "is_stale",
    "stale_markers",
]

#: Bit pattern of Prometheus' staleness marker (``value.StaleNaN``).
STALE_NAN_BITS = 0x7FF0000000000002
#: The staleness marker as a float. Compare with :func:`is_stale`, never with ``==``.
STALE_NAN: float = float(np.array([STALE_NAN_BITS], dtype=np.uint64).view(np.float64)[0])


def is_stale(values: np.ndarray) -> np.ndarray:
    """Boolean mask of the stale markers in a float64 array (bitwise test)."""
    return np.ascontiguousarray(values, dtype=np.float64).view(np.uint64) == STALE_NAN_BITS


def stale_markers(n: int) -> np.ndarray:
    """``n`` stale markers as a float64 array."""
    return np.full(n, STALE_NAN_BITS, dtype=np.uint64).view(np.float64)


@dataclass(slots=True)
class Samples:
    """CSR sample columns of ``S`` series."""

    offsets: np.ndarray  # int64 [S+1]
    ts: np.ndarray  # int64 [N], ms since the epoch
    values: np.ndarray  # float64 [N]

    @classmethod
    def empty(cls, n_series: int = 0) -> Samples:
        return cls(np.zeros(n_series + 1, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float64))

    @property
    def n_series(self) -> int:
        return len(self.offsets) - 1

    def __len__(self) -> int:
        return len(self.ts)

    def series(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        a, b = self.offsets[i], self.offsets[i + 1]
        return self.ts[a:b], self.values[a:b]

    def take(self, idx: np.ndarray) -> Samples:
        """The samples of series ``idx``, in that order, as a new CSR."""
        idx = np.asarray(idx, dtype=np.int64)
        starts, ends = self.offsets[idx], self.offsets[idx + 1]
        lengths = ends - starts
        offsets = np.zeros(len(idx) + 1, np.int64)
        np.cumsum(lengths, out=offsets[1:])
        if len(idx) == self.n_series and np.array_equal(idx, np.arange(self.n_series)):
            return self
        gather = np.repeat(starts - offsets[:-1], lengths) + np.arange(offsets[-1])
        return Samples(offsets, self.ts[gather], self.values[gather])

    def time_range(self) -> tuple[int, int] | None:
        if len(self.ts) == 0:
            return None
        return int(self.ts.min()), int(self.ts.max())

    def nbytes(self) -> int:
        return self.offsets.nbytes + self.ts.nbytes + self.values.nbytes


class SampleBuilder:
    """Collects ``(series, ts, value)`` chunks in any order, then builds a :class:`Samples`.

    :meth:`finish` sorts every series by time. At a duplicate timestamp the sample
    appended first is kept; a later one with the *same bits* is dropped silently and one
    with a different value is rejected and counted, as Prometheus' head appender does
    (``ErrDuplicateSampleForTimestamp``).
    """

    def __init__(self) -> None:
        self._series: list[np.ndarray] = []
        self._ts: list[np.ndarray] = []
        self._values: list[np.ndarray] = []

    def append(self, series: np.ndarray, ts: np.ndarray, values: np.ndarray) -> None:
        series = np.asarray(series, dtype=np.int64)
        ts = np.asarray(ts, dtype=np.int64)
        values = np.asarray(values, dtype=np.float64)
        if not (series.shape == ts.shape == values.shape) or series.ndim != 1:
            raise ValueError("series, ts and values must be 1-D arrays of one length")
        if len(series):
            self._series.append(series)
            self._ts.append(ts)
            self._values.append(values)

    def __len__(self) -> int:
        return sum(len(s) for s in self._series)

    def finish(self, n_series: int, remap: np.ndarray | None = None) -> tuple[Samples, int]:
        """The CSR columns, and the number of rejected duplicate-timestamp samples.

        ``remap`` renumbers series ids (``new = remap[old]``) on the way. The builder
        stays usable: more samples may be appended and ``finish`` called again.
        """
        from ..kernels.csr import build_csr

        if not self._series:
            return Samples.empty(n_series), 0
        limit = len(remap) if remap is not None else n_series
        if any(chunk.min() < 0 or chunk.max() >= limit for chunk in self._series):
            raise ValueError("series id out of range")
        series = self._series if remap is None else [remap[chunk] for chunk in self._series]
        offsets, ts, values, rejected = build_csr(series, self._ts, self._values, n_series)
        return Samples(offsets, ts, values), int(rejected)
