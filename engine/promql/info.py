"""``info(v, {selector})``: enrich series with the data labels of info metrics (experimental).

Follows prometheus/prometheus ``promql/info.go`` as the 3.14 conformance tests pin it
down (info metrics are the ``*_info`` series): info series are found by the
identifying labels ``instance`` and ``job`` of the base series (``target_info`` unless the
selector names other info metrics), evaluated at the base selector's own reference time
(its ``@``/``offset``, and those of the subqueries around it), and at each step the newest
info sample per (info metric, instance, job) wins. The base series gets every data label
of the matched info series that it does not already have (restricted to the selector's
label names, if it names any); a series the info metrics' matchers demand but cannot
satisfy is dropped.

Label work happens per distinct combination of (base series, matched info series); the
per-step choice of the info series is array work.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import numpy as np

from ..errors import QueryError
from ..labels import METRIC_NAME, LabelTable, format_labels_go
from ..store.index import Matcher
from . import nodes as N
from .select import select_instant
from .values import Vector, collate

if TYPE_CHECKING:
    from .evaluator import Evaluator

__all__ = ["eval_info", "IDENTIFYING_LABELS"]

TARGET_INFO = "target_info"
IDENTIFYING_LABELS = ("instance", "job")


def _reference_times(ev: Evaluator, node: N.Expr, times: np.ndarray) -> np.ndarray:
    """The time the first vector selector of ``node`` reads at each step: ``@`` and
    ``offset`` of the subqueries on the way to it, then its own."""
    ref = times.copy()
    cur = node
    while True:
        if isinstance(cur, N.VectorSelector):
            return ev.effective_times(cur.at, cur.offset, ref)
        if isinstance(cur, N.MatrixSelector):
            cur = cur.vs
            continue
        if isinstance(cur, N.SubqueryExpr):
            ref = ev.effective_times(cur.at, cur.offset, ref)
        kids = N.children(cur)
        if not kids:
            return ref
        # pre-order: the first child that contains a vector selector
        cur = next(
            (k for k in kids if any(isinstance(n, N.VectorSelector) for n in N.walk(k))), None
        )
        if cur is None:
            return ref


def eval_info(ev: Evaluator, call: N.Call, times: np.ndarray) -> Vector:
    base = ev.eval_vector(call.args[0], times)
    T = len(times)
    selector = call.args[1] if len(call.args) > 1 else None
    data_matchers: dict[str, list[Matcher]] = {}
    name_matchers: list[Matcher] = []
    if isinstance(selector, N.VectorSelector):
        for m in selector.matchers:
            data_matchers.setdefault(m.name, []).append(m)
            if m.name == METRIC_NAME:
                name_matchers.append(m)
    else:
        name_matchers = [Matcher(METRIC_NAME, "=", TARGET_INFO)]

    # A base series that is itself one of the info metrics asked for is passed through,
    # not enriched.
    names = base.labels.values(METRIC_NAME)
    exact = any(m.op == "=" for m in name_matchers)
    ignore = np.array(
        [
            bool(name_matchers)
            and all(m.matches(n) for m in name_matchers)
            and (exact or n.endswith("_info"))
            for n in names.tolist()
        ],
        bool,
    )

    # which info series can match: identifying label values of the other base series
    id_values = {
        label: sorted({v for v in base.labels.values(label)[~ignore].tolist() if v})
        for label in IDENTIFYING_LABELS
    }
    info_matchers = [
        Matcher(label, "=~", "|".join(re.escape(v) for v in vals))
        for label, vals in id_values.items()
        if vals
    ]
    has_name = any(m.name == METRIC_NAME for ms in data_matchers.values() for m in ms)
    data_only = {k: v for k, v in data_matchers.items() if k != METRIC_NAME}
    if not info_matchers:
        info = Vector.empty(T)
        info_ts = np.zeros((0, T))
    else:
        for ms in data_matchers.values():
            info_matchers.extend(ms)
        if has_name:
            # Without an exact name, only ``*_info`` series are info metrics: the 3.14
            # tests pin this down (``{__name__!="target_info"}`` finds ``build_info``,
            # not the data series that share its instance and job).
            if not exact:
                info_matchers.append(Matcher(METRIC_NAME, "=~", ".+_info"))
        else:
            info_matchers.insert(0, Matcher(METRIC_NAME, "=", TARGET_INFO))
        ref = _reference_times(ev, call.args[0], times)
        node = N.VectorSelector(name="", matchers=tuple(info_matchers))
        info, info_ts = select_instant(ev.view, node, ref, ev.options.lookback_delta_ms)
    return _combine(base, ignore, info, info_ts, data_only)


def _pick_newest(info: Vector, info_ts: np.ndarray, sig: np.ndarray, G: int) -> np.ndarray:
    """Per (signature, step): the info series with the newest sample, or -1."""
    T = info.values.shape[1]
    rows, cols = np.nonzero(info.present)
    chosen = np.full((G, T), -1, np.int64)
    if len(rows) == 0:
        return chosen
    ts = info_ts[rows, cols]
    order = np.lexsort((ts, cols, sig[rows]))
    rows, cols, ts = rows[order], cols[order], ts[order]
    g = sig[rows]
    last = np.ones(len(rows), bool)
    last[:-1] = (g[1:] != g[:-1]) | (cols[1:] != cols[:-1])
    tie = ~last & np.append((ts[1:] == ts[:-1]), False)
    if tie.any():
        k = int(np.flatnonzero(tie)[0])
        a, b = info.labels.row(int(rows[k])), info.labels.row(int(rows[k + 1]))
        raise QueryError(
            f"found duplicate series for info metric: existing {format_labels_go(a)} @ "
            f"{int(ts[k])}, new {format_labels_go(b)} @ {int(ts[k + 1])}"
        )
    chosen[g[last], cols[last]] = rows[last]
    return chosen


def _combine(
    base: Vector,
    ignore: np.ndarray,
    info: Vector,
    info_ts: np.ndarray,
    data_matchers: dict[str, list[Matcher]],
) -> Vector:
    T = base.values.shape[1]
    if base.n_series == 0:
        return base
    info_names = sorted(set(info.labels.values(METRIC_NAME).tolist())) if info.n_series else []
    # signatures: (info metric name, instance, job) over info series and base x names
    id_cols = list(IDENTIFYING_LABELS)
    tables = [info.labels.keep([METRIC_NAME, *id_cols])]
    for name in info_names:
        tables.append(base.labels.keep(id_cols).with_value(METRIC_NAME, name))
    joint = LabelTable.concat(tables)
    sig, first = joint.group()
    G = len(first)
    chosen = _pick_newest(info, info_ts, sig[: info.n_series], G)
    partners = [
        chosen[sig[info.n_series + i * base.n_series : info.n_series + (i + 1) * base.n_series]]
        for i in range(len(info_names))
    ]  # each [S_base, T]
    rows, cols = np.nonzero(base.present)
    keys = np.stack([rows] + [p[rows, cols] for p in partners], axis=1)
    keys[ignore[rows], 1:] = -1
    uniq, src_first, cell_src = np.unique(keys, axis=0, return_index=True, return_inverse=True)
    cell_src = cell_src.reshape(-1)
    needs_data = any(not m.matches("") for ms in data_matchers.values() for m in ms)
    src_labels: list[dict[str, str] | None] = []
    for key in uniq.tolist():
        b = key[0]
        labels = base.labels.row(b)
        if ignore[b]:
            src_labels.append(labels)
            continue
        extra: dict[str, str] = {}
        matched = [p for p in key[1:] if p >= 0]
        for p in matched:
            for name, value in info.labels.row(p).items():
                if name == METRIC_NAME or (data_matchers and name not in data_matchers):
                    continue
                if extra.get(name, value) != value:
                    raise QueryError(f"conflicting label: {name}")
                if name not in labels:
                    extra[name] = value
        if not matched and needs_data:
            src_labels.append(None)
            continue
        src_labels.append({**labels, **extra})
    keep_src = np.array([x is not None for x in src_labels], bool)
    cells = keep_src[cell_src]
    rows, cols, cell_src = rows[cells], cols[cells], cell_src[cells]
    kept = [x for x in src_labels if x is not None]
    if not kept:
        return Vector.empty(T)
    remap = np.cumsum(keep_src) - 1
    cell_src = remap[cell_src]
    table = LabelTable.from_dicts(kept)
    src_out, out_first = table.group()
    cell_out = src_out[cell_src]
    n = len(out_first)
    counts = np.zeros((n, T), np.int64)
    np.add.at(counts, (cell_out, cols), 1)
    if (counts > 1).any():
        raise QueryError("vector cannot contain metrics with the same labelset")
    values = np.zeros((n, T))
    present = np.zeros((n, T), bool)
    values[cell_out, cols] = base.values[rows, cols]
    present[cell_out, cols] = True
    drop = np.zeros(n, bool)
    np.logical_or.at(drop, cell_out, base.drop_name[rows])
    return collate(Vector(table.take(out_first), values, present, drop))
