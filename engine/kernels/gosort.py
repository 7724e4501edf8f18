"""Go's ``sort.Sort`` on float keys, replayed step for step.

Go's ``sort.Sort`` is a pattern-defeating quicksort (``sort/zsortinterface.go``): insertion
sort up to 12 elements, then median-of-three / Tukey-ninther pivots, partial insertion
sort of nearly sorted input, and ``breakPatterns`` shuffles seeded with the length. It is
not stable, and Prometheus' comparators are not strict weak orders (``Less(NaN, x)`` is
true for every ``x``, NaN included), so *which* of several equal keys ends up where is
decided by the algorithm itself. That is visible in results: ``quantile`` of
``{0, -0, ...}`` is ``0`` or ``-0`` depending on where each zero lands, and the print order
of ``topk`` ties follows the permutation. Replaying Go's exact sequence of comparisons and
swaps is the only way to agree in those cases; everywhere else any correct sort would do.

Three comparators, as Prometheus uses them:

- :data:`VALUE_HEAP` — ``vectorByValueHeap.Less``: NaN first, then ascending
  (``quantile()``);
- :data:`REVERSE_VALUE_HEAP` — ``sort.Reverse(vectorByValueHeap)``: descending, NaN last
  (``topk``'s print order);
- :data:`REVERSE_REVERSE_HEAP` — ``sort.Reverse(vectorByReverseValueHeap)``: ascending, NaN
  last (``bottomk``'s print order).

``idx`` travels with ``keys`` (pass an empty array when there is no payload). The
``breakPatterns`` generator uses Go 1.24+'s 64-bit xorshift shifts (13, 7, 17; golang/go
issue 70144).

>>> import numpy as np
>>> keys = np.array([0.0, np.nan, -1.0, 2.0])
>>> go_sort(keys, np.empty(0, np.int64), 4, VALUE_HEAP)
>>> keys.tolist()
[nan, -1.0, 0.0, 2.0]
"""

from __future__ import annotations

import numpy as np

from .jit import kernel

__all__ = ["REVERSE_REVERSE_HEAP", "REVERSE_VALUE_HEAP", "VALUE_HEAP", "go_sort"]

VALUE_HEAP, REVERSE_VALUE_HEAP, REVERSE_REVERSE_HEAP = 0, 1, 2

_UNKNOWN_HINT, _INCREASING_HINT, _DECREASING_HINT = 0, 1, 2


@kernel(inline="always")
def _less(keys, i, j, mode):
    x = keys[i]
    y = keys[j]
    if mode == VALUE_HEAP:
        return np.isnan(x) or x < y
    if mode == REVERSE_VALUE_HEAP:
        return np.isnan(y) or y < x
    return np.isnan(y) or y > x


@kernel(inline="always")
def _swap(keys, idx, i, j):
    keys[i], keys[j] = keys[j], keys[i]
    if len(idx) > 0:
        idx[i], idx[j] = idx[j], idx[i]


@kernel
def _insertion_sort(keys, idx, a, b, mode):
    for i in range(a + 1, b):
        j = i
        while j > a and _less(keys, j, j - 1, mode):
            _swap(keys, idx, j, j - 1)
            j -= 1


@kernel
def _sift_down(keys, idx, lo, hi, first, mode):
    root = lo
    while True:
        child = 2 * root + 1
        if child >= hi:
            return
        if child + 1 < hi and _less(keys, first + child, first + child + 1, mode):
            child += 1
        if not _less(keys, first + root, first + child, mode):
            return
        _swap(keys, idx, first + root, first + child)
        root = child


@kernel
def _heap_sort(keys, idx, a, b, mode):
    first = a
    hi = b - a
    for i in range((hi - 1) // 2, -1, -1):
        _sift_down(keys, idx, i, hi, first, mode)
    for i in range(hi - 1, -1, -1):
        _swap(keys, idx, first, first + i)
        _sift_down(keys, idx, 0, i, first, mode)


@kernel
def _partition(keys, idx, a, b, pivot, mode):
    _swap(keys, idx, a, pivot)
    i = a + 1
    j = b - 1
    while i <= j and _less(keys, i, a, mode):
        i += 1
    while i <= j and not _less(keys, j, a, mode):
        j -= 1
    if i > j:
        _swap(keys, idx, j, a)
        return j, True
    _swap(keys, idx, i, j)
    i += 1
    j -= 1
    while True:
        while i <= j and _less(keys, i, a, mode):
            i += 1
        while i <= j and not _less(keys, j, a, mode):
            j -= 1
        if i > j:
            break
        _swap(keys, idx, i, j)
        i += 1
        j -= 1
    _swap(keys, idx, j, a)
    return j, False


@kernel
def _partition_equal(keys, idx, a, b, pivot, mode):
    _swap(keys, idx, a, pivot)
    i = a + 1
    j = b - 1
    while True:
        while i <= j and not _less(keys, a, i, mode):
            i += 1
        while i <= j and _less(keys, a, j, mode):
            j -= 1
        if i > j:
            break
        _swap(keys, idx, i, j)
        i += 1
        j -= 1
    return i


@kernel
def _partial_insertion_sort(keys, idx, a, b, mode):
    i = a + 1
    for _ in range(5):
        while i < b and not _less(keys, i, i - 1, mode):
            i += 1
        if i == b:
            return True
        if b - a < 50:
            return False
        _swap(keys, idx, i, i - 1)
        if i - a >= 2:
            for j in range(i - 1, 0, -1):  # Go: j >= 1 (not j > a)
                if not _less(keys, j, j - 1, mode):
                    break
                _swap(keys, idx, j, j - 1)
        if b - i >= 2:
            for j in range(i + 1, b):
                if not _less(keys, j, j - 1, mode):
                    break
                _swap(keys, idx, j, j - 1)
    return False


@kernel
def _bit_length(n):
    k = 0
    while n > 0:
        k += 1
        n >>= 1
    return k


@kernel
def _break_patterns(keys, idx, a, b):
    length = b - a
    if length < 8:
        return
    r = np.uint64(length)
    modulus = np.uint64(1) << np.uint64(_bit_length(length))
    mask = modulus - np.uint64(1)
    mid = a + (length // 4) * 2
    for k in range(mid - 1, mid + 2):
        r ^= r << np.uint64(13)
        r ^= r >> np.uint64(7)
        r ^= r << np.uint64(17)
        other = np.int64(r & mask)
        if other >= length:
            other -= length
        _swap(keys, idx, k, a + other)


@kernel(inline="always")
def _order2(keys, a, b, swaps, mode):
    if _less(keys, b, a, mode):
        return b, a, swaps + 1
    return a, b, swaps


@kernel
def _median(keys, a, b, c, swaps, mode):
    a, b, swaps = _order2(keys, a, b, swaps, mode)
    b, c, swaps = _order2(keys, b, c, swaps, mode)
    a, b, swaps = _order2(keys, a, b, swaps, mode)
    return b, swaps


@kernel
def _choose_pivot(keys, a, b, mode):
    n = b - a
    swaps = 0
    i = a + n // 4 * 1
    j = a + n // 4 * 2
    k = a + n // 4 * 3
    if n >= 8:
        if n >= 50:
            i, swaps = _median(keys, i - 1, i, i + 1, swaps, mode)
            j, swaps = _median(keys, j - 1, j, j + 1, swaps, mode)
            k, swaps = _median(keys, k - 1, k, k + 1, swaps, mode)
        j, swaps = _median(keys, i, j, k, swaps, mode)
    if swaps == 0:
        return j, _INCREASING_HINT
    if swaps == 12:
        return j, _DECREASING_HINT
    return j, _UNKNOWN_HINT


@kernel
def _reverse_range(keys, idx, a, b):
    i = a
    j = b - 1
    while i < j:
        _swap(keys, idx, i, j)
        i += 1
        j -= 1


@kernel
def go_sort(keys, idx, n, mode):
    """Sort ``keys[:n]`` (and ``idx[:n]`` with them, unless ``idx`` is empty) exactly as
    Go's ``sort.Sort`` does with the comparator ``mode``. Go's ``pdqsort`` recurses into
    the smaller part and loops on the larger one; the explicit stack below replays that
    order (numba's cache cannot hold self-recursive functions)."""
    if n <= 12:
        _insertion_sort(keys, idx, 0, n, mode)
        return
    # one row per pending larger part: a, b, limit, balanced, partitioned
    stack = np.empty((64, 5), np.int64)
    depth = 0
    a = 0
    b = n
    limit = _bit_length(n)
    balanced = True
    partitioned = True
    while True:
        length = b - a
        done = False
        if length <= 12:
            _insertion_sort(keys, idx, a, b, mode)
            done = True
        elif limit == 0:
            _heap_sort(keys, idx, a, b, mode)
            done = True
        else:
            if not balanced:
                _break_patterns(keys, idx, a, b)
                limit -= 1
            pivot, hint = _choose_pivot(keys, a, b, mode)
            if hint == _DECREASING_HINT:
                _reverse_range(keys, idx, a, b)
                pivot = (b - 1) - (pivot - a)
                hint = _INCREASING_HINT
            if balanced and partitioned and hint == _INCREASING_HINT:
                done = _partial_insertion_sort(keys, idx, a, b, mode)
        if not done:
            if a > 0 and not _less(keys, a - 1, pivot, mode):
                a = _partition_equal(keys, idx, a, b, pivot, mode)
                continue
            mid, partitioned = _partition(keys, idx, a, b, pivot, mode)
            threshold = length // 8
            stack[depth, 2] = limit
            stack[depth, 4] = partitioned
            if mid - a < b - mid:  # the smaller, left part now; the right one later
                stack[depth, 0] = mid + 1
                stack[depth, 1] = b
                stack[depth, 3] = (mid - a) >= threshold
                b = mid
            else:  # the smaller, right part now; the left one later
                stack[depth, 0] = a
                stack[depth, 1] = mid
                stack[depth, 3] = (b - mid) >= threshold
                a = mid + 1
            depth += 1
            balanced = True
            partitioned = True
            continue
        if depth == 0:
            return
        depth -= 1
        a = stack[depth, 0]
        b = stack[depth, 1]
        limit = stack[depth, 2]
        balanced = stack[depth, 3] != 0
        partitioned = stack[depth, 4] != 0
