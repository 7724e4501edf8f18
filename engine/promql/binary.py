"""Binary operators: arithmetic, comparisons, set operators, and vector matching.

Mirrors ``VectorBinop``, ``VectorscalarBinop``, ``VectorAnd/Or/Unless`` and
``resultMetric`` in prometheus/prometheus ``promql/engine.go``. Matching signatures are
computed once per series (a dense group id over the ``on``/``ignoring`` labels); which
series pairs up with which is then decided for every step at once with array
operations, including Prometheus' many-to-many and duplicate-match errors.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..errors import QueryError
from ..kernels.grouped import match_one_side
from ..labels import METRIC_NAME, LabelTable, format_labels_go
from . import annotations as A
from . import nodes as N
from .values import METADATA_LABELS, Scalar, Vector, collate

if TYPE_CHECKING:
    from .evaluator import Evaluator

__all__ = ["eval_binary", "apply_op", "ARITHMETIC", "COMPARISON", "SET_OPS"]

ARITHMETIC = frozenset({"+", "-", "*", "/", "^", "%", "atan2"})
#: histogram trim operators: defined for native histograms only
TRIM = frozenset({"</", ">/"})
COMPARISON = frozenset({"==", "!=", ">", "<", ">=", "<="})
SET_OPS = frozenset({"and", "or", "unless"})


def apply_op(op: str, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(value, keep)`` of ``a op b`` with Go's float semantics. Comparisons keep ``a``
    as the value and report the outcome in ``keep``; arithmetic keeps everything."""
    with np.errstate(all="ignore"):
        if op == "+":
            v = a + b
        elif op == "-":
            v = a - b
        elif op == "*":
            v = a * b
        elif op == "/":
            v = np.true_divide(a, b)
        elif op == "^":
            v = np.power(a, b)
        elif op == "%":
            v = np.fmod(a, b)
        elif op == "atan2":
            v = np.arctan2(a, b)
        else:
            cmp = {
                "==": np.equal,
                "!=": np.not_equal,
                ">": np.greater,
                "<": np.less,
                ">=": np.greater_equal,
                "<=": np.less_equal,
            }[op]
            keep = cmp(a, b)
            return np.broadcast_to(a, keep.shape).astype(np.float64), keep
    v = np.asarray(v, dtype=np.float64)
    return v, np.ones(v.shape, bool)


def eval_binary(ev: Evaluator, node: N.BinaryExpr, times: np.ndarray):
    lhs = ev.eval(node.lhs, times)
    rhs = ev.eval(node.rhs, times)
    op = node.op
    if op in TRIM:
        return _trim_floats(ev, node, lhs, rhs, len(times))
    if isinstance(lhs, Scalar) and isinstance(rhs, Scalar):
        v, keep = apply_op(op, lhs.values, rhs.values)
        if op in COMPARISON:
            v = keep.astype(np.float64)
        return Scalar(v)
    if isinstance(lhs, Vector) and isinstance(rhs, Vector):
        matching = node.matching or N.VectorMatching(
            card="many-to-many" if op in SET_OPS else "one-to-one"
        )
        if op in SET_OPS:
            return _set_op(ev, op, lhs, rhs, matching)
        return _vector_binop(ev, node, lhs, rhs, matching)
    if isinstance(lhs, Vector):
        return _vector_scalar(ev, node, lhs, rhs.values, swap=False)
    return _vector_scalar(ev, node, rhs, lhs.values, swap=True)


def _trim_floats(ev: Evaluator, node: N.BinaryExpr, lhs, rhs, T: int) -> Vector:
    """``</`` and ``>/`` trim native histograms; between floats they yield nothing and an
    info (``vectorElemBinop``). Native histograms are not part of the evaluator yet, so
    every sample here is a float."""
    if (isinstance(lhs, Vector) and lhs.present.any()) or (
        isinstance(rhs, Vector) and rhs.present.any()
    ):
        ev.annotate(A.incompatible_types_in_binop("float", node.op, "float", node.pos))
    return Vector.empty(T)


# ---- vector <op> scalar -----------------------------------------------------------------
def _vector_scalar(
    ev: Evaluator, node: N.BinaryExpr, vec: Vector, scalar: np.ndarray, swap: bool
) -> Vector:
    op = node.op
    s = np.broadcast_to(scalar[None, :], vec.values.shape)
    a, b = (s, vec.values) if swap else (vec.values, s)
    values, keep = apply_op(op, a, b)
    if op in COMPARISON:
        values = vec.values  # the vector element is the value, whichever side it is on
    if node.return_bool:
        values = keep.astype(np.float64)
        keep = np.ones_like(keep)
    out = Vector(vec.labels, values, vec.present & keep, vec.drop_name)
    if op in ARITHMETIC or node.return_bool:
        out = out.drop_names(ev.delayed)
    return collate(out)


# ---- signatures ---------------------------------------------------------------------------
def _signature_table(labels: LabelTable, m: N.VectorMatching) -> LabelTable:
    if m.on:
        return labels.keep(m.labels)
    return labels.drop(set(m.labels) | {METRIC_NAME})


def _signatures(a: Vector, b: Vector, m: N.VectorMatching) -> tuple[np.ndarray, np.ndarray, int]:
    joint = LabelTable.concat([_signature_table(a.labels, m), _signature_table(b.labels, m)])
    inverse, first = joint.group()
    return inverse[: a.n_series], inverse[a.n_series :], len(first)


def _any_by_group(sig: np.ndarray, present: np.ndarray, n_groups: int) -> np.ndarray:
    out = np.zeros((n_groups, present.shape[1]), bool)
    np.logical_or.at(out, sig, present)
    return out


# ---- and / or / unless ---------------------------------------------------------------------
def _set_op(ev: Evaluator, op: str, lhs: Vector, rhs: Vector, m: N.VectorMatching) -> Vector:
    lsig, rsig, G = _signatures(lhs, rhs, m)
    if op == "and":
        keep = lhs.present & _any_by_group(rsig, rhs.present, G)[lsig]
        return Vector(lhs.labels, lhs.values, keep, lhs.drop_name)
    if op == "unless":
        keep = lhs.present & ~_any_by_group(rsig, rhs.present, G)[lsig]
        return Vector(lhs.labels, lhs.values, keep, lhs.drop_name)
    rkeep = rhs.present & ~_any_by_group(lsig, lhs.present, G)[rsig]
    out = Vector(
        LabelTable.concat([lhs.labels, rhs.labels]),
        np.concatenate([lhs.values, rhs.values]),
        np.concatenate([lhs.present, rkeep]),
        np.concatenate([lhs.drop_name, rhs.drop_name]),
    )
    return collate(out.compact())


# ---- arithmetic and comparisons between vectors ----------------------------------------
def _vector_binop(
    ev: Evaluator, node: N.BinaryExpr, lhs: Vector, rhs: Vector, m: N.VectorMatching
) -> Vector:
    """Arithmetic and comparisons between two vectors (``VectorBinop``).

    With ``group_right`` the sides swap, so the "many" side is always iterated. Each
    output point comes from a *cell*: a many-side point matched with the one-side series
    of its signature, or, with the experimental ``fill`` modifiers, a many-side point
    whose one side is missing (filled with ``fill_right``) or a one-side point that no
    many-side point matched (filled with ``fill_left``), exactly as Prometheus assigns
    the fill values after the swap.
    """
    op = node.op
    T = lhs.values.shape[1]
    swapped = m.card == "one-to-many"
    many, one = (rhs, lhs) if swapped else (lhs, rhs)
    fill_one, fill_many = m.fill_right, m.fill_left
    if (many.n_series == 0 and fill_many is None) or (one.n_series == 0 and fill_one is None):
        return Vector.empty(T)
    if many.n_series == 0 and one.n_series == 0:
        return Vector.empty(T)
    msig, osig, G = _signatures(many, one, m)
    if m.card == "one-to-one" and fill_one is None and fill_many is None:
        out = _pairs_by_series(ev, node, many, one, msig, osig, G, m)
        if out is not None:
            return out

    one_idx, (dup_t, dup_a, dup_b) = match_one_side(osig, one.present, G)
    if dup_t >= 0:
        pair = sorted(
            [one.labels.row(int(dup_a)), one.labels.row(int(dup_b))],
            key=lambda d: tuple(sorted(d.items())),
        )
        side = "left" if swapped else "right"
        group = format_labels_go(_match_table(one.labels.take([int(dup_b)]), m).row(0))
        raise QueryError(
            f"found duplicate series for the match group {group} on the {side} hand-side of "
            f"the operation: [{format_labels_go(pair[0])}, {format_labels_go(pair[1])}]"
            ";many-to-many matching not allowed: matching labels must be unique on one side"
        )

    # cells: (many row or -1, one row or -1, step, signature)
    partner = one_idx[msig] if many.n_series else np.zeros((0, T), np.int64)
    rows, cols = np.nonzero(many.present & (partner >= 0))
    cell_m, cell_o, cell_t = rows, partner[rows, cols], cols
    kinds = [np.zeros(len(rows), np.int8)]
    parts_m, parts_o, parts_t = [cell_m], [cell_o], [cell_t]
    if fill_one is not None:  # many-side points without a one side
        r, c = np.nonzero(many.present & (partner < 0))
        parts_m.append(r), parts_o.append(np.full(len(r), -1)), parts_t.append(c)
        kinds.append(np.ones(len(r), np.int8))
    if fill_many is not None:  # one-side points that no many-side point matched
        used = np.zeros((G, T), bool)
        used[msig[rows], cols] = True
        r, c = np.nonzero(one.present & ~used[osig])
        parts_m.append(np.full(len(r), -1)), parts_o.append(r), parts_t.append(c)
        kinds.append(np.full(len(r), 2, np.int8))
    cell_m = np.concatenate(parts_m).astype(np.int64)
    cell_o = np.concatenate(parts_o).astype(np.int64)
    cell_t = np.concatenate(parts_t).astype(np.int64)
    kind = np.concatenate(kinds)
    if len(cell_t) == 0:
        return Vector.empty(T)
    cell_sig = np.where(
        cell_m >= 0,
        msig[np.maximum(cell_m, 0)] if many.n_series else 0,
        osig[np.maximum(cell_o, 0)] if one.n_series else 0,
    )

    if m.card == "one-to-one" and _repeats(cell_sig, cell_t, T):
        raise QueryError(
            "multiple matches for labels: many-to-one matching must be explicit "
            "(group_left/group_right)"
        )

    mv = np.where(
        kind == 2,
        fill_many if fill_many is not None else 0.0,
        many.values[np.maximum(cell_m, 0), cell_t] if many.n_series else 0.0,
    )
    ov = np.where(
        kind == 1,
        fill_one if fill_one is not None else 0.0,
        one.values[np.maximum(cell_o, 0), cell_t] if one.n_series else 0.0,
    )
    lv, rv = (ov, mv) if swapped else (mv, ov)
    values, keep = apply_op(op, lv, rv)
    if node.return_bool:
        values = keep.astype(np.float64)
        keep = np.ones_like(keep)

    # Output series: one per label source. A cell's labels depend on its many-side series
    # (plus its one-side series when group_x copies labels), or on the one-side series
    # alone for a filled many side. Keys grow with the many-side index, so sources come
    # out in many-side order, the order in which Prometheus iterates.
    n_one = max(one.n_series, 1)
    if m.include:
        key = np.where(kind == 2, -1 - cell_o, cell_m * (n_one + 1) + (cell_o + 1))
    else:
        key = np.where(kind == 2, -1 - cell_o, cell_m)
    _, first, cell_src = np.unique(key, return_index=True, return_inverse=True)
    cell_src = cell_src.reshape(-1)
    labels = _source_labels(many, one, cell_m[first], cell_o[first], kind[first], op, m)
    if not ev.delayed and node.return_bool:
        labels = labels.drop(METADATA_LABELS)
    out_of_src, out_first = labels.group()
    cell_out = out_of_src[cell_src]
    if m.card != "one-to-one":
        combo = np.stack([cell_sig, cell_out, cell_t], axis=1)
        if len(np.unique(combo, axis=0)) < len(combo):
            raise QueryError(
                "multiple matches for labels: grouping labels must ensure unique matches"
            )

    if _repeats(cell_out, cell_t, T):
        raise QueryError("vector cannot contain metrics with the same labelset")
    n_out = len(out_first)
    out_vals = np.zeros((n_out, T))
    out_present = np.zeros((n_out, T), bool)
    out_vals[cell_out, cell_t] = values
    out_present[cell_out, cell_t] = keep
    out = Vector(
        labels.take(out_first), out_vals, out_present, np.full(n_out, bool(node.return_bool))
    )
    return out.compact()


def _pairs_by_series(
    ev: Evaluator,
    node: N.BinaryExpr,
    lhs: Vector,
    rhs: Vector,
    lsig: np.ndarray,
    rsig: np.ndarray,
    G: int,
    m: N.VectorMatching,
) -> Vector | None:
    """One-to-one matching when no match group holds two series on either side, the
    usual case (``on``/``ignoring`` labels that tell the series apart): each output series
    is a pair of input series, paired once instead of step by step, with the same result
    as the cell-by-cell path. ``None`` when the groups or the result labels do not allow
    it; the cell-by-cell path then gives the answer or Prometheus' error."""
    if len(lsig) == 0 or len(rsig) == 0:
        return None
    if max(np.bincount(lsig, minlength=G).max(), np.bincount(rsig, minlength=G).max()) > 1:
        return None
    right_of = np.full(G, -1, np.int64)
    right_of[rsig] = np.arange(len(rsig))
    partner = right_of[lsig]
    li = np.flatnonzero(partner >= 0)
    ri = partner[li]
    present = lhs.present[li] & rhs.present[ri]
    values, keep = apply_op(node.op, lhs.values[li], rhs.values[ri])
    if node.return_bool:
        values = keep.astype(np.float64)
    else:
        present &= keep
    labels = _source_labels(lhs, rhs, li, ri, np.zeros(len(li), np.int8), node.op, m)
    if not ev.delayed and node.return_bool:
        labels = labels.drop(METADATA_LABELS)
    # with ``on`` labels other than the name's, the labels are the pairs' signatures
    distinct = m.on and not m.include and not set(m.labels) & set(METADATA_LABELS)
    if not distinct and len(labels.group()[1]) < len(li):
        return None
    return Vector(
        labels, np.where(present, values, 0.0), present, np.full(len(li), bool(node.return_bool))
    ).compact()


def _repeats(series: np.ndarray, steps: np.ndarray, T: int) -> bool:
    """Whether two cells share a (series, step) pair."""
    return len(series) > 1 and int(np.bincount(series * T + steps).max()) > 1


def _source_labels(
    many: Vector,
    one: Vector,
    src_m: np.ndarray,
    src_o: np.ndarray,
    kind: np.ndarray,
    op: str,
    m: N.VectorMatching,
) -> LabelTable:
    """Result labels of each cell source: ``resultMetric(ls, rs)`` where a filled side is
    the other side's matching labels (``MatchLabels``), as Prometheus builds it."""
    if not kind.any():  # no fill modifier: every source is a matched pair
        return _result_labels(many.labels.take(src_m), one.labels.take(src_o), op, m)
    parts = []
    order = []
    real = np.flatnonzero(kind == 0)
    if len(real):
        parts.append(
            _result_labels(many.labels.take(src_m[real]), one.labels.take(src_o[real]), op, m)
        )
        order.append(real)
    filled_one = np.flatnonzero(kind == 1)
    if len(filled_one):
        base = many.labels.take(src_m[filled_one])
        parts.append(_result_labels(base, _match_table(base, m), op, m))
        order.append(filled_one)
    filled_many = np.flatnonzero(kind == 2)
    if len(filled_many):
        rs = one.labels.take(src_o[filled_many])
        parts.append(_result_labels(_match_table(rs, m), rs, op, m))
        order.append(filled_many)
    table = LabelTable.concat(parts)
    perm = np.empty(len(kind), np.int64)
    perm[np.concatenate(order)] = np.arange(len(kind))
    return table.take(perm)


def _match_table(labels: LabelTable, m: N.VectorMatching) -> LabelTable:
    """``MatchLabels`` column-wise: the ``on`` labels, or all but the ``ignoring`` ones and
    the name."""
    return labels.keep(m.labels) if m.on else labels.drop(set(m.labels) | {METRIC_NAME})


def _result_labels(many: LabelTable, one: LabelTable, op: str, m: N.VectorMatching) -> LabelTable:
    """``resultMetric``: the many side's labels, without the name for arithmetic, cut to
    the matching labels for one-to-one, plus ``group_x`` labels copied from the one side."""
    labels = many
    if op in ARITHMETIC:
        labels = labels.drop(METADATA_LABELS)
    if m.card == "one-to-one":
        labels = labels.keep(m.labels) if m.on else labels.drop(m.labels)
    for name in m.include:
        labels = labels.with_column(name, one.get(name))
    return labels
