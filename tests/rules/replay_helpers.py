"""Small builders shared by the rule-replay tests: stores from literal points, and the
rule outputs of a replay read back per series."""

from __future__ import annotations

import numpy as np

from engine.rules.load import load_text
from engine.rules.replay import ReplayOptions, run_replay
from engine.store import StoreBuilder, is_stale

M = 60_000


def store(series: dict[tuple, list[tuple[int, float]]]):
    """A store from ``{labels tuple: [(t_ms, value), ...]}``."""
    b = StoreBuilder()
    for key, pts in series.items():
        sid = b.series_id(tuple(sorted(key)))
        b.append(
            np.full(len(pts), sid),
            np.array([t for t, _ in pts]),
            np.array([v for _, v in pts], float),
        )
    return b.finish()


def up(values, step=M, phase=5_000, **labels):
    """An ``up`` series: one sample per ``step`` from ``phase``; ``None`` skips a step."""
    key = (("__name__", "up"), *labels.items())
    return {key: [(phase + i * step, float(v)) for i, v in enumerate(values) if v is not None]}


def out_series(rep, name):
    """``{labels without __name__: (timestamps, values)}`` of one metric the rules wrote."""
    return {
        tuple(sorted((k, v) for k, v in lab.items() if k != "__name__")): (ts.tolist(), vals)
        for lab, ts, vals in rep.output_store().select(f'{{__name__="{name}"}}')
    }


def values(vals):
    """Values with stale markers shown as ``"stale"``."""
    return ["stale" if is_stale(np.array([v]))[0] else v for v in vals.tolist()]


def replay(text, data, start, end, **opts):
    """Replay rule-file text over ``data`` from ``start`` to ``end`` (ms)."""
    return run_replay(load_text(text, "r.yml"), data, start, end, ReplayOptions(**opts))
