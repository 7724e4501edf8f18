"""``engine.kernels.gosort`` against :mod:`reference`'s replay of Go's ``sort.Sort``.

The reference's ``pdqsort`` was checked against Go's own ``sort.Sort`` (go1.19, with that
release's xorshift shifts patched in) on 4000 NaN- and ±0-heavy inputs of up to 150
values: every permutation agreed, ``breakPatterns`` included. Here the kernel must give
the reference's permutation (the payload ``idx``), not merely a sorted array: the inputs
are mostly ties (±0, NaN, a few repeated values), sorted, reversed or shuffled, with
lengths across the insertion-sort limit (12), the ninther limit (50) and the
partial-insertion-sort limit, so every branch of the algorithm decides an order that a
different correct sort would not reproduce.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import reference as R
from hypothesis import event, given
from hypothesis import strategies as st
from kernel_support import find_counterexample, kernel_settings, values

from engine.kernels import gosort as K

LESS = {
    K.VALUE_HEAP: R.value_heap_less,
    K.REVERSE_VALUE_HEAP: lambda a, b: R.value_heap_less(b, a),
    K.REVERSE_REVERSE_HEAP: lambda a, b: R.reverse_value_heap_less(b, a),
}

_ties = st.sampled_from([0.0, -0.0, math.nan, 1.0, -1.0, 2.0, math.inf])


@st.composite
def sort_inputs(draw):
    vals = draw(
        st.one_of(
            st.lists(_ties, max_size=120),
            st.lists(st.one_of(_ties, values()), max_size=120),
        )
    )
    order = draw(st.sampled_from(["as drawn", "ascending", "descending"]))
    key = lambda v: (not math.isnan(v), 0.0 if math.isnan(v) else v)  # noqa: E731
    if order == "ascending":
        vals.sort(key=key)
    elif order == "descending":
        vals.sort(key=key, reverse=True)
    mode = draw(st.sampled_from(sorted(LESS)))
    return vals, mode, order


def _reference_permutation(vals, mode):
    items = [(v, i) for i, v in enumerate(vals)]
    less = LESS[mode]
    R.go_sort(items, lambda x, y: less(x[0], y[0]))
    return [i for _, i in items]


def _kernel_permutation(vals, mode):
    keys = np.array(vals, dtype=np.float64)
    idx = np.arange(len(vals), dtype=np.int64)
    K.go_sort(keys, idx, len(vals), mode)
    return idx.tolist(), keys


@kernel_settings(120)
@given(sort_inputs())
def test_go_sort_gives_gos_permutation(inp):
    vals, mode, order = inp
    got, keys = _kernel_permutation(vals, mode)
    event(f"{order}, n {'<=12' if len(vals) <= 12 else '13..49' if len(vals) < 50 else '>=50'}")
    assert got == _reference_permutation(vals, mode)
    assert [R.float_bits(float(k)) for k in keys] == [R.float_bits(vals[i]) for i in got]


def test_a_stable_sort_is_caught():
    """Broken copy: a stable sort by the same comparator is a correct sort, and still not
    Go's order."""

    def differs(inp):
        vals, mode, _ = inp
        less = LESS[mode]
        stable = sorted(
            range(len(vals)),
            key=functools.cmp_to_key(
                lambda i, j: -1 if less(vals[i], vals[j]) else 1 if less(vals[j], vals[i]) else 0
            ),
        )
        return _kernel_permutation(vals, mode)[0] != stable

    find_counterexample(sort_inputs(), differs)
