r"""Go's ``strconv.ParseInt(s, 0, 64)`` and ``ParseFloat(s, 64)`` on arbitrary text.

The runner reads an expected scalar line with ``ParseInt`` and, failing that,
``ParseFloat`` (so ``0x1F`` is 31 and ``010`` is 8), and ``le`` label values with
``ParseFloat``. These see whole lines and label values, which may carry a sign, ``-Inf``,
``0b``/``0o`` prefixes or hex floats; :func:`engine.promql.parse.go_number` reads only
the number tokens the PromQL lexer produces (no sign), which is what series values use.
Python's own ``int``/``float`` accept other spellings (``1_0.5``, ``infinity`` with a sign
on NaN, surrounding blanks), so the accepted syntax is spelled out here.

>>> parse_go_number("0x1F"), parse_go_number("010"), parse_go_number("-0.2e-6")
(31.0, 8.0, -2e-07)
>>> parse_go_number("+Inf"), parse_go_number("nan"), parse_go_number("-0b11")
(inf, nan, -3.0)
"""

from __future__ import annotations

import re

__all__ = ["parse_go_int", "parse_go_float", "parse_go_number"]

_INT_BASES = {"0x": 16, "0o": 8, "0b": 2}
_INT_DIGITS = {16: "0-9a-fA-F", 8: "0-7", 2: "01", 10: "0-9"}
_DEC_FLOAT = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_HEX_FLOAT = re.compile(
    r"[+-]?0[xX](?:[0-9a-fA-F]+(?:\.[0-9a-fA-F]*)?|\.[0-9a-fA-F]+)[pP][+-]?[0-9]+"
)
_SPECIAL = re.compile(r"([+-]?)(inf|infinity)|nan", re.IGNORECASE)


def parse_go_int(s: str) -> int | None:
    """``strconv.ParseInt(s, 0, 64)``, or ``None`` when Go would return an error.

    >>> parse_go_int("0b101"), parse_go_int("-0o17"), parse_go_int("1_000"), parse_go_int("09")
    (5, -15, 1000, None)
    """
    body = s[1:] if s[:1] in "+-" else s
    neg = s[:1] == "-"
    if not body:
        return None
    base = 10
    prefix = body[:2].lower()
    if prefix in _INT_BASES:
        base, digits = _INT_BASES[prefix], body[2:]
        underscore_ok = re.fullmatch(f"(_?[{_INT_DIGITS[base]}])+", digits) is not None
    elif body[0] == "0" and len(body) > 1:
        base, digits = 8, body[1:]
        underscore_ok = (
            re.fullmatch(f"_?[{_INT_DIGITS[8]}](_?[{_INT_DIGITS[8]}])*", digits) is not None
        )
    else:
        digits = body
        underscore_ok = re.fullmatch("[0-9](_?[0-9])*", digits) is not None
    if not digits or not underscore_ok:
        return None
    value = int(digits.replace("_", ""), base)
    value = -value if neg else value
    if not -(2**63) <= value < 2**63:
        return None
    return value


def parse_go_float(s: str) -> float | None:
    """``strconv.ParseFloat(s, 64)``, or ``None`` when Go would return an error.

    Accepts decimal and hexadecimal (``p`` exponent) literals, ``inf``/``infinity`` with
    an optional sign, and ``nan``, all case-insensitively where Go is. Values that
    overflow are an error in Go, so they are ``None`` here.
    """
    m = _SPECIAL.fullmatch(s)
    if m:
        if m.group(2) is None:
            return float("nan")
        return float("-inf") if m.group(1) == "-" else float("inf")
    if _DEC_FLOAT.fullmatch(s):
        v = float(s)
    elif _HEX_FLOAT.fullmatch(s):
        v = float.fromhex(s)
    else:
        return None
    if v in (float("inf"), float("-inf")):
        return None
    return v


def parse_go_number(s: str) -> float | None:
    """The runner's ``parseNumber``: ``ParseInt(s, 0, 64)``, else ``ParseFloat(s, 64)``."""
    i = parse_go_int(s)
    if i is not None:
        return float(i)
    return parse_go_float(s)
