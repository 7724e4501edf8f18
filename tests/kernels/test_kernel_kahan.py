"""``engine.kernels.kahan.kahan_inc`` against ``util/kahansum.Inc``, and the reference table
itself: every public kernel of the tested modules has a reference in
:data:`reference.REFERENCES`.

The addends mix huge, tiny, infinite and NaN values with running sums and
compensations of every size, so each of ``Inc``'s three branches (infinite sum,
``|sum| >= |inc|``, the Neumaier swap) decides results.
"""

from __future__ import annotations

import importlib

import pytest
import reference as R
from hypothesis import given
from hypothesis import strategies as st
from kernel_support import find_counterexample, kernel_settings, values

from engine.kernels import kahan as K

TESTED_MODULES = [
    "windows",
    "csr",
    "rate",
    "over_time",
    "grouped",
    "quantile",
    "extended",
    "gosort",
]


@kernel_settings(200)
@given(values(), values(), values())
def test_kahan_inc_matches_reference(inc, total, c):
    got = K.kahan_inc(inc, total, c)
    expected = R.kahan_inc(inc, total, c)
    assert R.same_float(got[0], expected[0]) and R.same_float(got[1], expected[1])


def _classic_kahan(inc, total, c):
    """Broken copy: Kahan without Neumaier's swap for an addend larger than the sum."""
    t = total + inc
    if t in (float("inf"), float("-inf")):
        return t, 0.0
    return t, c + ((total - t) + inc)


def test_broken_kahan_is_caught():
    def differs(args):
        got = K.kahan_inc(*args)
        b = _classic_kahan(*args)
        return not (R.same_float(got[0], b[0]) and R.same_float(got[1], b[1]))

    find_counterexample(st.tuples(values(), values(), values()), differs)


@pytest.mark.parametrize("module", TESTED_MODULES)
def test_every_public_kernel_has_a_reference(module):
    mod = importlib.import_module(f"engine.kernels.{module}")
    kernels = [n for n in mod.__all__ if callable(getattr(mod, n))]
    missing = [n for n in kernels if f"{module}.{n}" not in R.REFERENCES]
    assert not missing, f"kernels without a reference in tests/kernels/reference.py: {missing}"
