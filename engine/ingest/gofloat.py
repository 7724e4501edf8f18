"""Go's number and string syntax, as Prometheus' parsers apply it.

- :func:`parse_go_float` is ``strconv.ParseFloat(s, 64)``: decimal and hexadecimal
  (``0x1.8p3``) forms, ``_`` digit separators where Go allows them, ``inf``/``infinity``
  (any case, optional sign) and ``nan`` (any case, no sign); an out-of-range value is an
  error, as Go's ``ErrRange``.
- :func:`parse_sample_float` adds Prometheus' own guard (``model/textparse`` ``parseFloat``:
  no ``p``, ``P`` or ``_`` at all) and returns NaN with Go's bits ``0x7ff8000000000001``
  (Prometheus' ``value.NormalNaN``).
- :func:`normalize_label_float` is ``normalizeFloatsInLabelValues``' inner step:
  parse with Go's rules, format with ``labels.FormatOpenMetricsFloat``; text that Go cannot
  parse is kept as it is.
- :func:`go_unquote` undoes ``strconv.Quote`` (used by ``promtool tsdb dump``).

>>> [normalize_label_float(s) for s in ("1", "600000", "3600000", "+Inf", "-0", "1e-3", "x")]
['1.0', '600000.0', '3.6e+06', '+Inf', '0.0', '0.001', 'x']
>>> parse_go_float("0x1p-2"), parse_go_float("1_000.5"), parse_go_float("-INFINITY")
(0.25, 1000.5, -inf)
>>> parse_sample_float("1_000")
Traceback (most recent call last):
...
ValueError: unsupported character in float
"""

from __future__ import annotations

import functools
import math
import re
import struct

from ..labels import format_label_float

__all__ = [
    "NORMAL_NAN",
    "parse_go_float",
    "parse_sample_float",
    "normalize_label_float",
    "go_unquote",
]

#: NaN with the bits ``0x7ff8000000000001`` (Go's ``math.NaN()``, Prometheus' NormalNaN).
NORMAL_NAN: float = struct.unpack("<d", struct.pack("<Q", 0x7FF8000000000001))[0]

_SPECIAL = re.compile(r"([+-]?)(inf|infinity)|(nan)", re.IGNORECASE)
_DEC = re.compile(r"[+-]?(?P<m>[0-9_]*\.?[0-9_]*)(?:[eE][+-]?[0-9][0-9_]*)?")
_HEX = re.compile(r"[+-]?0[xX](?P<m>[0-9a-fA-F_]*\.?[0-9a-fA-F_]*)[pP][+-]?[0-9][0-9_]*")


def _underscore_ok(s: str) -> bool:
    """Go's ``strconv.underscoreOK``: ``_`` only between digits (or after a base prefix)."""
    if s[:1] in ("+", "-"):
        s = s[1:]
    saw = "^"
    i = 0
    hexa = False
    if len(s) >= 2 and s[0] == "0" and s[1] in "bBoOxX":
        i, saw, hexa = 2, "0", s[1] in "xX"
    for ch in s[i:]:
        if ch.isdigit() and ch.isascii() or hexa and ch in "abcdefABCDEF":
            saw = "0"
        elif ch == "_":
            if saw != "0":
                return False
            saw = "_"
        else:
            if saw == "_":
                return False
            saw = "!"
    return saw != "_"


def parse_go_float(s: str) -> float:
    """``strconv.ParseFloat(s, 64)``; raises ``ValueError`` (invalid syntax / out of range)."""
    m = _SPECIAL.fullmatch(s)
    if m:
        if m.group(3):
            return NORMAL_NAN
        return -math.inf if m.group(1) == "-" else math.inf
    hm = _HEX.fullmatch(s)
    dm = None if hm else _DEC.fullmatch(s)
    mm = hm or dm
    if mm is None or not any(c.isdigit() or c in "abcdefABCDEF" and hm for c in mm.group("m")):
        raise ValueError("invalid syntax")
    if "_" in s:
        if not _underscore_ok(s):
            raise ValueError("invalid syntax")
        s = s.replace("_", "")
    try:
        f = float.fromhex(s) if hm else float(s)
    except OverflowError:
        raise ValueError("value out of range") from None
    if math.isinf(f):
        raise ValueError("value out of range")
    return f


def parse_sample_float(s: str) -> float:
    """Prometheus' ``parseFloat``: Go's syntax minus ``p``/``P``/``_``, NaN normalised."""
    if any(c in s for c in "pP_"):
        raise ValueError("unsupported character in float")
    f = parse_go_float(s)
    return NORMAL_NAN if f != f else f


@functools.lru_cache(maxsize=4096)  # bucket bounds repeat across series
def normalize_label_float(v: str) -> str:
    """An ``le``/``quantile`` value as Prometheus 3 stores it (unparsable text unchanged)."""
    try:
        f = parse_go_float(v)
    except ValueError:
        return v
    return format_label_float(f)


_SIMPLE_ESCAPES = {
    "a": 7,
    "b": 8,
    "f": 12,
    "n": 10,
    "r": 13,
    "t": 9,
    "v": 11,
    "\\": 92,
    '"': 34,
    "'": 39,
}


def go_unquote(body: str) -> str:
    """The text inside a Go double-quoted literal (``strconv.Unquote`` without the quotes).

    Raises ``ValueError`` on a malformed escape or on bytes that are not UTF-8.

    >>> go_unquote(r'a\\tb\\x41\\u00e9\\"')
    'a\\tbAé"'
    """
    out = bytearray()
    i, n = 0, len(body)
    while i < n:
        ch = body[i]
        if ch != "\\":
            out += ch.encode("utf-8", "surrogateescape")
            i += 1
            continue
        if i + 1 >= n:
            raise ValueError("invalid escape at end of string")
        e = body[i + 1]
        if e in _SIMPLE_ESCAPES:
            out.append(_SIMPLE_ESCAPES[e])
            i += 2
        elif e == "x":
            out.append(int(_hexdigits(body, i + 2, 2), 16))
            i += 4
        elif e in "uU":
            k = 4 if e == "u" else 8
            cp = int(_hexdigits(body, i + 2, k), 16)
            if cp > 0x10FFFF or 0xD800 <= cp <= 0xDFFF:
                raise ValueError(f"invalid unicode escape {body[i : i + 2 + k]!r}")
            out += chr(cp).encode("utf-8")
            i += 2 + k
        elif e in "01234567":
            digits = body[i + 1 : i + 4]
            if len(digits) != 3 or any(c not in "01234567" for c in digits) or int(digits, 8) > 255:
                raise ValueError(f"invalid octal escape {body[i : i + 4]!r}")
            out.append(int(digits, 8))
            i += 4
        else:
            raise ValueError(f"invalid escape {body[i : i + 2]!r}")
    return out.decode("utf-8")


def _hexdigits(s: str, i: int, k: int) -> str:
    d = s[i : i + k]
    if len(d) != k or any(c not in "0123456789abcdefABCDEF" for c in d):
        raise ValueError(f"invalid hex escape {s[i - 2 : i + k]!r}")
    return d
