"""Aggregation operators: ``sum avg count min max group stddev stdvar quantile topk
bottomk count_values`` (and the experimental ``limitk``/``limit_ratio``) with ``by`` /
``without``.

Mirrors ``rangeEvalAgg``, ``aggregation``, ``aggregationK`` and
``aggregationCountValues`` in prometheus/prometheus ``promql/engine.go``. Grouping keys
are computed once per series; the numeric work per step lives in
:mod:`engine.kernels.grouped`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..errors import QueryError
from ..kernels.grouped import AGG_KINDS, aggregate, aggregate_quantile, select_k
from ..labels import METRIC_NAME, POOL, LabelTable, format_go_float, is_valid_label_name
from . import annotations as A
from . import nodes as N
from .values import Vector

if TYPE_CHECKING:
    from .evaluator import Evaluator

__all__ = ["eval_aggregate"]

MAX_INT64_FLOAT = 9223372036854774784.0
MIN_INT64_FLOAT = -9223372036854775808.0


def _grouping_table(labels: LabelTable, node: N.AggregateExpr) -> LabelTable:
    if node.without:
        return labels.drop(set(node.grouping) | {METRIC_NAME})
    return labels.keep(node.grouping)


def eval_aggregate(ev: Evaluator, node: N.AggregateExpr, times: np.ndarray) -> Vector:
    op = node.op
    if op == "count_values":
        return _count_values(ev, node, times)
    param = None
    if node.param is not None:
        param = ev.eval_scalar(node.param, times)
    vec = ev.eval_vector(node.expr, times)
    T = len(times)
    if op in ("topk", "bottomk", "limitk"):
        k = _check_k(param, vec.n_series)
        if k is None or vec.n_series == 0:
            return Vector.empty(T)
    elif op == "limit_ratio":
        if _check_ratio(ev, param, node.param) or vec.n_series == 0:
            return Vector.empty(T)
    elif op == "quantile":
        _check_quantile(ev, param, node.param)
    if vec.n_series == 0:
        return Vector.empty(T)
    keys = _grouping_table(vec.labels, node)
    group, first = keys.group()
    G = len(first)

    if op in ("topk", "bottomk", "limitk"):
        return _select(node, vec, group, G, k)
    if op == "limit_ratio":
        return _limit_ratio(vec, param)
    if op == "quantile":
        out, seen = aggregate_quantile(vec.values, vec.present, group, G, param)
    else:
        out, seen = aggregate(AGG_KINDS[op], vec.values, vec.present, group, G)
    drop = np.zeros(G, bool)
    np.logical_or.at(drop, group, vec.drop_name)
    return Vector(keys.take(first), out, seen, drop).compact()


def _check_k(param: np.ndarray, n_series: int) -> np.ndarray | None:
    """Prometheus' checks of the ``k`` of topk/bottomk/limitk; ``None`` when every k < 1."""
    if np.isnan(param).any():
        raise QueryError("Parameter value is NaN")
    if param.max() < 1:
        return None
    if param.min() <= MIN_INT64_FLOAT:
        raise QueryError(f"Scalar value {format_go_float(float(param.min()))} underflows int64")
    if param.max() >= MAX_INT64_FLOAT:
        raise QueryError(f"Scalar value {format_go_float(float(param.max()))} overflows int64")
    return np.minimum(np.trunc(param), n_series).astype(np.int64)


def _check_ratio(ev: Evaluator, param: np.ndarray, pnode: N.Expr) -> bool:
    """Checks of limit_ratio's ratio; True when every ratio is 0 (empty result)."""
    if np.isnan(param).any():
        raise QueryError("Ratio value is NaN")
    if (param == 0).all():
        return True
    if param.max() > 1.0:
        ev.annotate(A.invalid_ratio(float(param.max()), 1.0, pnode.pos))
    if param.min() < -1.0:
        ev.annotate(A.invalid_ratio(float(param.min()), -1.0, pnode.pos))
    return False


def _check_quantile(ev: Evaluator, q: np.ndarray, pnode: N.Expr) -> None:
    if np.isnan(q).any():
        ev.annotate(A.invalid_quantile(float("nan"), pnode.pos))
    finite = q[~np.isnan(q)]
    if len(finite) and finite.max() > 1:
        ev.annotate(A.invalid_quantile(float(finite.max()), pnode.pos))
    if len(finite) and finite.min() < 0:
        ev.annotate(A.invalid_quantile(float(finite.min()), pnode.pos))


def _select(node: N.AggregateExpr, vec: Vector, group: np.ndarray, G: int, k: np.ndarray) -> Vector:
    T = vec.values.shape[1]
    if node.op == "limitk":
        keep, rank = _limitk(vec.present, group, G, k)
    else:
        keep, rank = select_k(vec.values, vec.present, group, G, k, node.op == "topk")
    out = Vector(vec.labels, vec.values, vec.present & keep, vec.drop_name)
    if T == 1:
        # an instant query prints each group's selection in order, groups in order
        order = np.lexsort((rank[:, 0], group))
        out = out.take(order)
    return out.compact()


def _limitk(present: np.ndarray, group: np.ndarray, G: int, k: np.ndarray):
    """``limitk``: the first ``k`` present series of each group, in input order."""
    S, T = present.shape
    rank = np.zeros((S, T), np.int64)
    keep = np.zeros((S, T), bool)
    for t in range(T):
        seen = np.zeros(G, np.int64)
        for s in np.flatnonzero(present[:, t]):
            g = group[s]
            if seen[g] < k[t]:
                keep[s, t] = True
                rank[s, t] = seen[g]
                seen[g] += 1
    return keep, rank


def _limit_ratio(vec: Vector, param: np.ndarray) -> Vector:
    from .functions import ratio_sample_offsets

    r = np.clip(param, -1.0, 1.0)[None, :]
    offs = ratio_sample_offsets(vec.labels)[:, None]
    keep = ((r >= 0) & (offs < r)) | ((r < 0) & (offs >= 1.0 + r))
    return Vector(vec.labels, vec.values, vec.present & keep, vec.drop_name).compact()


def _count_values(ev: Evaluator, node: N.AggregateExpr, times: np.ndarray) -> Vector:
    pnode = node.param
    while isinstance(pnode, N.ParenExpr):
        pnode = pnode.expr
    if not isinstance(pnode, N.StringLiteral):  # the parser's type check makes this unreachable
        raise QueryError(f"count_values needs a string parameter, got {pnode}")
    label = pnode.value
    if not is_valid_label_name(label):
        raise QueryError(f"invalid label name {pnode}")
    vec = ev.eval_vector(node.expr, times)
    T = len(times)
    rows, cols = np.nonzero(vec.present)
    if len(rows) == 0:
        return Vector.empty(T)
    bits = vec.values[rows, cols].view(np.uint64)
    ubits, cell_value = np.unique(bits, return_inverse=True)
    texts = [format_go_float(float(b), "f") for b in ubits.view(np.float64)]
    value_ids = POOL.intern_many(texts)[cell_value.reshape(-1)]

    base = vec.labels.drop([label])
    if node.without:
        base = base.drop(set(node.grouping) | {METRIC_NAME})
        with_value = label not in node.grouping
    else:
        base = base.keep(set(node.grouping) - {label})
        with_value = True
    series_group, series_first = base.group()
    cell_key = np.stack(
        [series_group[rows], value_ids if with_value else np.zeros_like(value_ids)], axis=1
    )
    out_keys, out_first, cell_out = np.unique(
        cell_key, axis=0, return_index=True, return_inverse=True
    )
    cell_out = cell_out.reshape(-1)
    n_out = len(out_keys)
    labels = base.take(rows[out_first])
    if with_value:
        labels = labels.with_column(label, value_ids[out_first])
    counts = np.zeros((n_out, T))
    np.add.at(counts, (cell_out, cols), 1.0)
    return Vector(labels, counts, counts > 0)
