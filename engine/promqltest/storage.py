"""The data a test file loads, and the :class:`~engine.store.Store` built from it.

``load`` commands are additive: each later load appends to what is stored, with its
slots starting at t=0 again. As in Prometheus' test storage, a sample may not go
before (or, with a different value, at) the newest stored timestamp of its series;
such a load fails, and with it the rest of the file. ``clear`` empties everything.
After each command a fresh store is built holding all data loaded so far.

``load_with_nhcb`` additionally turns classic histograms (``X_bucket`` with a parseable
``le``, ``X_sum``, ``X_count``) into native histograms with custom buckets named ``X``
(``le`` dropped), one per label set and timestamp (DSL.md §2).

Start timestamps (``@st`` lines) are kept in :attr:`TestStorage.start_timestamps`
until the engine uses them.

>>> from engine.promqltest.script import parse_script
>>> s = TestStorage()
>>> s.load(parse_script("load 1m\\n  x 1 _ 3").commands[0])
>>> s.store.labels.rows(), s.store.samples.ts.tolist(), s.store.samples.values.tolist()
([{'__name__': 'x'}], [0, 120000], [1.0, 3.0])
"""

from __future__ import annotations

import math
import struct
from collections import defaultdict

import numpy as np

from ..gostrconv import parse_float
from ..histograms import CUSTOM_BUCKETS_SCHEMA, FloatHistogram
from ..labels import METRIC_NAME, Labels
from ..store import Store, StoreBuilder
from .notation import SeqValue, format_labels
from .script import LoadCmd

__all__ = ["LoadError", "TestStorage"]


class LoadError(ValueError):
    """A load command that the test storage rejects (the file fails)."""


class TestStorage:
    """Accumulates loaded samples; :attr:`store` is rebuilt after every load/clear."""

    __test__ = False  # not a pytest class

    def __init__(self) -> None:
        self.clear()

    def clear(self) -> None:
        self._builder = StoreBuilder()
        self._last: dict[Labels, tuple[int, object]] = {}
        #: ``labels -> {ts_ms: start_ts_ms}`` for samples loaded with an ``@st`` line.
        self.start_timestamps: dict[Labels, dict[int, int]] = {}
        self.store: Store = self._builder.finish()

    def load(self, cmd: LoadCmd) -> None:
        """Append one load command's samples; raises :class:`LoadError`."""
        series = {k: list(v) for k, v in cmd.series.items()}
        if cmd.with_nhcb:
            for key, samples in _classic_to_nhcb(cmd).items():
                series.setdefault(key, []).extend(samples)
        f_ids: list[int] = []
        f_ts: list[int] = []
        f_vals: list[float] = []
        for key, samples in series.items():
            sid = self._builder.series_id(key)
            for ts, v, st in samples:
                if not self._accept(key, ts, v):
                    continue
                if v.histogram is not None:
                    self._builder.append_histogram(sid, ts, v.histogram)
                else:
                    f_ids.append(sid)
                    f_ts.append(ts)
                    f_vals.append(v.value)
                if st is not None:
                    self.start_timestamps.setdefault(key, {})[ts] = st
        if f_ids:
            self._builder.append(
                np.asarray(f_ids, np.int64),
                np.asarray(f_ts, np.int64),
                np.asarray(f_vals, np.float64),
            )
        self.store = self._builder.finish()

    def _accept(self, key: Labels, ts: int, v: SeqValue) -> bool:
        """Whether to store a sample: in order, or an exact duplicate (silently dropped)."""
        value: object = v.histogram if v.histogram is not None else _bits(v.value)
        last = self._last.get(key)
        if last is not None:
            last_ts, last_value = last
            if ts < last_ts:
                raise LoadError(f"out of order sample for {format_labels(key)} at t={ts}ms")
            if ts == last_ts:
                if last_value == value:
                    return False
                raise LoadError(f"duplicate sample for timestamp {ts}ms of {format_labels(key)}")
        self._last[key] = (ts, value)
        return True


def _bits(v: float) -> int:
    return struct.unpack("<Q", struct.pack("<d", v))[0]


# ---- load_with_nhcb ----------------------------------------------------------------------------

_SUFFIXES = (("_bucket", "bucket"), ("_sum", "sum"), ("_count", "count"))


class _Partial:
    """Classic-histogram parts seen at one timestamp (upstream ``TempHistogram``)."""

    def __init__(self) -> None:
        self.buckets: dict[float, float] = {}
        self.count: float | None = None
        self.sum = 0.0


def _classic_to_nhcb(cmd: LoadCmd) -> dict[Labels, list[tuple[int, SeqValue, int | None]]]:
    parts: dict[Labels, dict[int, _Partial]] = defaultdict(dict)
    for key, samples in cmd.series.items():
        labels = dict(key)
        name = labels.get(METRIC_NAME, "")
        kind = next((k for suffix, k in _SUFFIXES if name.endswith(suffix)), None)
        if kind is None:
            continue
        le = None
        if kind == "bucket":
            if "le" not in labels:
                raise LoadError(f"load_with_nhcb: {format_labels(key)} has no le label")
            try:
                le = parse_float(labels["le"])
            except ValueError:
                continue
            if math.isnan(le):
                continue
        suffix = next(s for s, k in _SUFFIXES if k == kind)
        labels[METRIC_NAME] = name[: -len(suffix)]
        labels.pop("le", None)
        base = tuple(sorted((k, v) for k, v in labels.items() if v != ""))
        for ts, v, _ in samples:
            if v.histogram is not None:
                continue
            p = parts[base].setdefault(ts, _Partial())
            if kind == "bucket":
                p.buckets.setdefault(le, v.value)  # type: ignore[arg-type]
            elif kind == "count":
                p.count = v.value
            else:
                p.sum = v.value
    out: dict[Labels, list[tuple[int, SeqValue, int | None]]] = {}
    for base, by_ts in parts.items():
        samples = []
        for ts in sorted(by_ts):
            try:
                h = _convert(by_ts[ts])
            except LoadError as e:
                raise LoadError(f"load_with_nhcb: {format_labels(base)} at t={ts}ms: {e}") from None
            samples.append((ts, SeqValue(histogram=h), None))
        out[base] = samples
    return out


def _convert(p: _Partial) -> FloatHistogram:
    """Cumulative classic buckets -> a custom-buckets histogram (upstream ``Convert``)."""
    bounds = sorted(p.buckets)
    prev = None
    for le in bounds:
        c = p.buckets[le]
        if c < 0:
            raise LoadError(f"bucket count must be non-negative: le={le:g}, count={c:g}")
        if prev is not None and c < prev:
            raise LoadError(f"count is not cumulative: {c:g} < {prev:g}")
        prev = c
    if p.count is not None and p.count < 0:
        raise LoadError(f"count must be non-negative: count={p.count:g}")
    count = p.count
    if count is None:
        if not bounds:
            raise LoadError("count must be provided when no buckets are present")
        count = p.buckets[bounds[-1]]
    cumulative = [(le, p.buckets[le]) for le in bounds]
    if not cumulative or cumulative[-1][0] != math.inf:
        cumulative.append((math.inf, count))
    if count != cumulative[-1][1]:
        raise LoadError(
            f"count mismatch: count={count:g} != "
            f"le={cumulative[-1][0]:g} count={cumulative[-1][1]:g}"
        )
    positive = {}
    prev_c = 0.0
    for i, (_, c) in enumerate(cumulative):
        positive[i] = c - prev_c
        prev_c = c
    return FloatHistogram(
        schema=CUSTOM_BUCKETS_SCHEMA,
        count=count,
        sum=p.sum,
        positive=positive,
        custom_values=tuple(le for le, _ in cumulative[:-1]),
    ).compact()
