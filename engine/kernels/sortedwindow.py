"""A sorted window of floats that slides: the values of ``[a, b)`` kept in ascending
order while ``a`` and ``b`` move forward, so a rank of each window is a lookup.

``quantile_over_time`` over overlapping windows uses it: a step of a 5m window at a 60 s
step replaces 4 of 20 samples, and replacing costs the distance the value moves in rank,
where selecting the rank afresh reads the whole window again.

The window holds no NaN (the caller counts NaNs apart: they sort first) and compares
``-0.0`` equal to ``0.0``; a value to remove is found by its bits, so a window with
zeros of both signs stays exact as a multiset. Runs of equal values (a gauge's window is
often a few distinct values) move by one element each: the run's last element jumps to
its front, which keeps the multiset and costs one search per distinct value passed.

>>> w = np.empty(4)
>>> m = 0
>>> for v in (3.0, 1.0, 2.0):
...     insert(w, m, v)
...     m += 1
>>> w[:m].tolist()
[1.0, 2.0, 3.0]
>>> replace(w, m, 1.0, 5.0)
>>> w[:m].tolist()
[2.0, 3.0, 5.0]
>>> remove(w, m, 3.0)
>>> m -= 1
>>> w[:m].tolist()
[2.0, 5.0]
"""

from __future__ import annotations

import numpy as np

from .jit import kernel

__all__ = ["insert", "remove", "replace", "build"]


@kernel
def _lower(w, a, b, v):
    """The first index of sorted ``w[a:b]`` whose value is not less than ``v``."""
    while a < b:
        h = (a + b) >> 1
        if w[h] < v:
            a = h + 1
        else:
            b = h
    return a


@kernel
def _upper(w, a, b, v):
    """The first index of sorted ``w[a:b]`` whose value is greater than ``v``."""
    while a < b:
        h = (a + b) >> 1
        if w[h] <= v:
            a = h + 1
        else:
            b = h
    return a


@kernel
def _find(w, m, v):
    """The index of an element of ``w[:m]`` with the bits of ``v`` (present, not NaN)."""
    i = _lower(w, 0, m, v)
    if v == 0.0:  # -0.0 and 0.0 sort together: take a zero of v's sign
        sign = np.signbit(v)
        while np.signbit(w[i]) != sign:
            i += 1
    return i


@kernel
def _move_up(w, m, i, y):
    """Slot ``i`` of sorted ``w[:m]`` is free: move the values below ``y`` after it one
    place down and put ``y`` where it belongs."""
    while i + 1 < m and w[i + 1] < y:
        v = w[i + 1]
        if i + 2 < m and w[i + 2] == v:  # a run: its last element jumps to its front
            e = _upper(w, i + 2, m, v)
            w[i] = w[e - 1]
            i = e - 1
        else:
            w[i] = v
            i += 1
    w[i] = y


@kernel
def _move_down(w, i, y):
    """Slot ``i`` is free and ``w[:i]`` sorted: :func:`_move_up` mirrored."""
    while i > 0 and w[i - 1] > y:
        v = w[i - 1]
        if i > 1 and w[i - 2] == v:
            f = _lower(w, 0, i - 2, v)
            w[i] = w[f]
            i = f
        else:
            w[i] = v
            i -= 1
    w[i] = y


@kernel
def insert(w, m, y):
    """Insert ``y`` into sorted ``w[:m]`` (``w`` has room for ``m + 1``)."""
    _move_down(w, m, y)


@kernel
def remove(w, m, x):
    """Remove one ``x`` (by its bits) from sorted ``w[:m]``; ``w[:m - 1]`` stays sorted."""
    _move_up(w, m, _find(w, m, x), np.inf)


@kernel
def replace(w, m, x, y):
    """Replace one ``x`` (by its bits) of sorted ``w[:m]`` by ``y``."""
    i = _find(w, m, x)
    if y > x:
        _move_up(w, m, i, y)
    else:
        _move_down(w, i, y)


@kernel
def build(w, values, a, b):
    """Fill ``w`` with the non-NaN values of ``values[a:b]``, sorted; their count."""
    m = 0
    for i in range(a, b):
        v = values[i]
        if not np.isnan(v):
            w[m] = v
            m += 1
    if m <= 32:
        for i in range(1, m):
            _move_down(w, i, w[i])
    else:
        w[:m].sort()
    return m
