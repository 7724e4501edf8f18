"""The order of label sets, as Prometheus' ``labels.Compare`` sorts them, once the strings
behind the label values are ranked (:meth:`engine.labels.LabelTable.sort_order` ranks
them: numba does not compare Python strings).

A range query's result is sorted this way, once per query over its output series: two
small kernels around the string sort instead of a dozen numpy calls, each of which cost
more than the work on a few hundred series (sort_order of the medium mesh's (f) range
queries, 189 series of 6 labels: 120-200 -> 45 us).

>>> m = np.array([[3, 0, 3], [0, 5, 4]], np.int32)  # two labels (rows) of three series
>>> codes = distinct(np.sort(m, axis=None))
>>> codes.tolist()
[0, 3, 4, 5]
>>> lex_order(m, codes, np.array([0, 3, 1, 2])).tolist()  # strings: "" < "5" < "3" < "4"
[0, 2, 1]
"""

from __future__ import annotations

import numpy as np

from .jit import kernel

__all__ = ["distinct", "lex_order"]


@kernel
def distinct(flat):
    """The distinct values of the sorted array ``flat``."""
    out = np.empty(len(flat), flat.dtype)
    n = 0
    for i in range(len(flat)):
        if n == 0 or flat[i] != out[n - 1]:
            out[n] = flat[i]
            n += 1
    return out[:n]


@kernel
def lex_order(m, codes, by_string):
    """The stable order of the series (columns of ``m``, ``[labels, series]``, labels in
    name order, 0 for an absent label) by their label sets. ``codes`` are the distinct
    values of ``m``, ascending (:func:`distinct`), and ``by_string`` their indices in
    the order of their strings.

    A present value sorts by its string; an absent label after every value when the
    series has a later label (its next pair has a greater name) and before every value
    when it has none (its pairs end, and the shorter set sorts first). Series are then
    sorted label by label, the last first, each sort stable (as ``np.lexsort``), unless
    they are in order already."""
    k, n = m.shape
    rank = np.empty(len(codes), np.int64)
    for r in range(len(by_string)):
        rank[by_string[r]] = r + 1
    tokens = np.empty((k, n), np.int64)
    for i in range(n):
        later = False
        for j in range(k - 1, -1, -1):
            c = m[j, i]
            if c != 0:
                tokens[j, i] = rank[np.searchsorted(codes, c)]
                later = True
            elif later:
                tokens[j, i] = len(codes) + 1
            else:
                tokens[j, i] = 0
    order = np.arange(n)
    if not _in_order(tokens):
        for j in range(k - 1, -1, -1):
            order = order[np.argsort(tokens[j][order], kind="mergesort")]
    return order


@kernel
def _in_order(tokens):
    """Whether the columns of ``tokens`` are already sorted (a selection of a store's
    series often is: no sort is needed)."""
    k, n = tokens.shape
    for i in range(1, n):
        for j in range(k):
            if tokens[j, i - 1] != tokens[j, i]:
                if tokens[j, i - 1] > tokens[j, i]:
                    return False
                break
    return True
