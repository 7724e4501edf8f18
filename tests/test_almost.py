"""The float rule of the promqltest runner (``engine.almost``)."""

import math
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.almost import MIN_NORMAL, almost_equal, is_stale_value
from engine.store import STALE_NAN

NAN_PAYLOAD = struct.unpack("<d", struct.pack("<Q", 0x7FF8000000000001))[0]


@pytest.mark.parametrize(
    ("a", "b", "equal"),
    [
        (1.0, 1.0, True),
        (1.0, 1.0 + 1.9e-6, True),  # relative to the sum: |d| / 2 < 1e-6
        (1.0, 1.0 + 2.1e-6, False),
        (-5.0, -5.0 * (1 + 1e-7), True),
        (1.0, -1.0, False),
        (0.0, 0.0, True),
        (0.0, -0.0, True),
        (0.0, 1e-300, False),  # zero is matched (almost) exactly
        (0.0, 1e-6 * MIN_NORMAL / 2, True),
        (1e-310, 1.1e-310, False),  # subnormal sum: absolute rule
        (math.inf, math.inf, True),
        (-math.inf, -math.inf, True),
        (math.inf, -math.inf, False),
        (math.inf, 1.7e308, False),
        (1.7e308, -1.7e308, False),
        (math.nan, math.nan, True),
        (math.nan, NAN_PAYLOAD, True),  # any NaN payload
        (math.nan, 1.0, False),
        (STALE_NAN, STALE_NAN, True),
        (STALE_NAN, math.nan, False),  # the stale marker only equals itself
        (math.nan, STALE_NAN, False),
        (STALE_NAN, 0.0, False),
    ],
)
def test_float_rule(a, b, equal):
    assert almost_equal(a, b) is equal


def test_stale_marker_is_recognised_by_bits_only():
    assert is_stale_value(STALE_NAN)
    assert not is_stale_value(math.nan)
    assert not is_stale_value(NAN_PAYLOAD)


finite = st.floats(allow_nan=False, allow_infinity=False)


@given(finite, finite)
def test_symmetric(a, b):
    assert almost_equal(a, b) == almost_equal(b, a)


@given(st.floats(min_value=1e-300, max_value=1e300), st.floats(min_value=-0.9e-6, max_value=0.9e-6))
def test_small_relative_error_is_equal(a, rel):
    assert almost_equal(a, a * (1 + rel))


@given(st.floats(min_value=1e-300, max_value=1e300), st.floats(min_value=2.1e-6, max_value=1.0))
def test_larger_relative_error_is_not_equal(a, rel):
    assert not almost_equal(a, a * (1 + rel))


@given(finite)
def test_nonzero_never_equals_zero_unless_tiny(a):
    assert almost_equal(0.0, a) == (abs(a) < 1e-6 * MIN_NORMAL)
