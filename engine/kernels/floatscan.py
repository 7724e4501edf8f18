"""Go's ``strconv.ParseFloat`` for the exposition scanner (numba).

Floats are parsed exactly like Go's ``strconv.ParseFloat`` on the common forms: the
decimal syntax is validated here, and the value is computed with Clinger's fast path
(``mantissa < 2**52`` and ``|exp10| <= 22``, one correctly rounded IEEE operation, as Go's
``atof64exact``) or, for integers below 2**63, one correctly rounded int->float
conversion. Anything else (more than 19 digits, large exponents) is flagged ``SLOW``
and handed to Python's correctly rounded ``float()`` by the caller
(:func:`engine.ingest.gofloat.parse_sample_float`).
"""

from __future__ import annotations

import numba as nb
import numpy as np

__all__ = ["F_OK", "F_SLOW", "F_SYNTAX", "F_CHAR", "parse_go_float", "seconds_to_ms"]

_POW10 = np.array([10.0**i for i in range(23)], dtype=np.float64)
# Go's math.NaN() and Prometheus' value.NormalNaN share these bits
_NORMAL_NAN = np.array([0x7FF8000000000001], dtype=np.uint64).view(np.float64)
_TWO63 = 9223372036854775808.0

# float parse status
F_OK = 0
F_SLOW = 1
F_SYNTAX = 2
F_CHAR = 3


@nb.njit(cache=True)
def _lower_eq(buf, a, b, word):
    """Case-insensitive equality of ``buf[a:b]`` with the lowercase ASCII ``word``."""
    if b - a != len(word):
        return False
    for k in range(b - a):
        if (buf[a + k] | 32) != word[k]:
            return False
    return True


_INF = np.frombuffer(b"inf", np.uint8).copy()
_INFINITY = np.frombuffer(b"infinity", np.uint8).copy()
_NAN = np.frombuffer(b"nan", np.uint8).copy()


@nb.njit(cache=True)
def parse_go_float(buf, a, b):
    """``strconv.ParseFloat(buf[a:b], 64)`` with Prometheus' ``parseFloat`` guard.

    Returns ``(status, value)``: 0 ok, 1 valid syntax but needs the slow path, 2 invalid
    syntax, 3 a ``p``/``P``/``_`` character (Prometheus rejects those before Go parses).
    NaN comes back with Go's bits ``0x7ff8000000000001``.
    """
    st, v = _parse_float_body(buf, a, b)
    if st == F_SYNTAX:
        # Prometheus rejects p, P and _ before Go parses: that is the reported reason
        for k in range(a, b):
            c = buf[k]
            if c == 112 or c == 80 or c == 95:
                return F_CHAR, 0.0
    return st, v


@nb.njit(cache=True)
def _parse_float_body(buf, a, b):
    if a >= b:
        return F_SYNTAX, 0.0
    i = a
    neg = False
    signed = False
    c = buf[i]
    if c == 43 or c == 45:
        neg = c == 45
        signed = True
        i += 1
        if i == b:
            return F_SYNTAX, 0.0
    lc = buf[i] | 32
    if lc == 105:  # 'i'
        if _lower_eq(buf, i, b, _INF) or _lower_eq(buf, i, b, _INFINITY):
            return F_OK, (-np.inf if neg else np.inf)
        return F_SYNTAX, 0.0
    if lc == 110:  # 'n'
        if not signed and _lower_eq(buf, i, b, _NAN):
            return F_OK, _NORMAL_NAN[0]
        return F_SYNTAX, 0.0
    # decimal: Go's readFloat for base 10
    mant = np.uint64(0)
    nd = 0
    nd_mant = 0
    dp = 0
    sawdot = False
    sawdigits = False
    trunc = False
    while i < b:
        c = buf[i]
        if c == 46:  # '.'
            if sawdot:
                return F_SYNTAX, 0.0
            sawdot = True
            dp = nd
            i += 1
            continue
        if 48 <= c <= 57:
            sawdigits = True
            if c == 48 and nd == 0:
                dp -= 1
                i += 1
                continue
            nd += 1
            if nd_mant < 19:
                mant = mant * np.uint64(10) + np.uint64(c - 48)
                nd_mant += 1
            elif c != 48:
                trunc = True
            i += 1
            continue
        break
    if not sawdigits:
        return F_SYNTAX, 0.0
    if not sawdot:
        dp = nd
    if i < b and (buf[i] | 32) == 101:  # 'e'
        i += 1
        if i >= b:
            return F_SYNTAX, 0.0
        esign = 1
        if buf[i] == 43:
            i += 1
        elif buf[i] == 45:
            esign = -1
            i += 1
        if i >= b or not (48 <= buf[i] <= 57):
            return F_SYNTAX, 0.0
        e = 0
        while i < b and 48 <= buf[i] <= 57:
            if e < 10000:
                e = e * 10 + (buf[i] - 48)
            i += 1
        dp += e * esign
    if i != b:
        return F_SYNTAX, 0.0
    if mant == 0:
        return F_OK, (-0.0 if neg else 0.0)
    if trunc:
        return F_SLOW, 0.0
    exp = dp - nd_mant
    if mant < np.uint64(1) << np.uint64(52):
        f = float(np.int64(mant))
        if exp == 0:
            pass
        elif 0 < exp <= 37:
            if exp > 22:
                f *= _POW10[exp - 22]
                exp = 22
            if f > 1e15:
                return F_SLOW, 0.0
            f *= _POW10[exp]
        elif -22 <= exp < 0:
            f /= _POW10[-exp]
        else:
            return F_SLOW, 0.0
        return F_OK, (-f if neg else f)
    if exp == 0 and mant < np.uint64(1) << np.uint64(63):
        f = float(np.int64(mant))  # one correctly rounded conversion
        return F_OK, (-f if neg else f)
    return F_SLOW, 0.0


@nb.njit(cache=True)
def seconds_to_ms(f):
    """Go's ``int64(f * 1000)`` on amd64: truncation, 0x8000000000000000 when out of range."""
    x = f * 1000.0
    if x >= _TWO63 or x < -_TWO63:
        return np.int64(-9223372036854775807 - 1)
    return np.int64(x)
