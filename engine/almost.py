"""Prometheus' float comparison for tests (``util/almost.Equal``), stale markers included.

Two values are equal when they are bitwise equal, when both are NaN (but the stale marker
only equals another stale marker), or when their difference is below ``epsilon`` times
the *sum* of their magnitudes. When either value is exactly zero, or the sum is
subnormal, the difference must be below ``epsilon`` times the smallest normal float:
zero has to be matched (almost) exactly.

The default ``epsilon`` is the promqltest runner's ``1e-6``: with the sum as reference,
that allows a relative error of about ``2e-6``.

>>> almost_equal(1.0, 1.0 + 1e-7), almost_equal(1.0, 1.0 + 1e-5)
(True, False)
>>> almost_equal(0.0, 1e-300), almost_equal(float("nan"), float("nan"))
(False, True)
>>> from engine.store.samples import STALE_NAN
>>> almost_equal(STALE_NAN, float("nan")), almost_equal(STALE_NAN, STALE_NAN)
(False, True)
"""

from __future__ import annotations

import math
import struct

__all__ = ["DEFAULT_EPSILON", "MIN_NORMAL", "almost_equal", "is_stale_value"]

#: Relative tolerance of the promqltest runner (``defaultEpsilon`` upstream).
DEFAULT_EPSILON = 1e-6
#: The smallest positive normal float64 (``0x0010000000000000``).
MIN_NORMAL = 2.2250738585072014e-308

_STALE_BITS = 0x7FF0000000000002


def is_stale_value(v: float) -> bool:
    """Whether ``v`` carries the exact bit pattern of Prometheus' stale marker."""
    return struct.unpack("<Q", struct.pack("<d", v))[0] == _STALE_BITS


def almost_equal(a: float, b: float, epsilon: float = DEFAULT_EPSILON) -> bool:
    """``util/almost.Equal(a, b, epsilon)`` with the stale-marker exception (see module doc).

    >>> almost_equal(float("inf"), float("inf")), almost_equal(float("inf"), 1e308)
    (True, False)
    >>> almost_equal(100.0, 100.0002), almost_equal(100.0, 100.0003)
    (True, False)
    """
    a = float(a)
    b = float(b)
    if math.isnan(a) and math.isnan(b):
        stale_a, stale_b = is_stale_value(a), is_stale_value(b)
        return stale_a == stale_b
    if a == b:
        return True
    abs_sum = abs(a) + abs(b)
    diff = abs(a - b)
    if a == 0 or b == 0 or abs_sum < MIN_NORMAL:
        return diff < epsilon * MIN_NORMAL
    return diff / min(abs_sum, 1.7976931348623157e308) < epsilon
