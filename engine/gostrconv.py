"""Go's ``strconv`` number and string syntax, in one place.

Prometheus reads numbers and quoted strings with Go's ``strconv``; several of our readers
must accept exactly what it accepts: PromQL number tokens, ``le`` label values,
exposition values, promqltest expectations, template constants, dump files.
Python's own ``int()``/``float()`` accept other spellings (``1_0.5`` with a misplaced
underscore, blanks, ``infinity`` with a sign on NaN), so the syntax is spelled out here.

- :func:`parse_float` is ``ParseFloat(s, 64)``: decimal and hexadecimal (``0x1.8p3``) forms,
  ``_`` separators where Go allows them, ``inf``/``infinity`` (any case, optional sign) and
  ``nan`` (any case, no sign; Go's NaN bits). An out-of-range value is an error, as Go's
  ``ErrRange``.
- :func:`parse_int` is ``ParseInt(s, 0, 64)``: ``0x``/``0o``/``0b``/leading-``0`` bases.
- :func:`underscore_ok` is ``underscoreOK``.
- :func:`quote` is ``Quote`` (``%q``); :func:`unquote` undoes it (the text between the
  quotes).

Errors are ``ValueError("invalid syntax")`` or ``ValueError("value out of range")``.

>>> parse_float("0x1p-2"), parse_float("1_000.5"), parse_float("-INFINITY")
(0.25, 1000.5, -inf)
>>> parse_int("0b101"), parse_int("-0o17"), parse_int("1_000"), parse_int("010")
(5, -15, 1000, 8)
>>> parse_int("09")
Traceback (most recent call last):
...
ValueError: invalid syntax
"""

from __future__ import annotations

import math
import re
import struct
import unicodedata

__all__ = [
    "NORMAL_NAN",
    "escape_char",
    "is_print",
    "parse_float",
    "parse_int",
    "parse_number",
    "quote",
    "quote_rune",
    "underscore_ok",
    "unquote",
]

#: NaN with the bits ``0x7ff8000000000001`` (Go's ``math.NaN()``, Prometheus' NormalNaN).
NORMAL_NAN: float = struct.unpack("<d", struct.pack("<Q", 0x7FF8000000000001))[0]

_SPECIAL = re.compile(r"([+-]?)(inf|infinity)|(nan)", re.IGNORECASE)
_DEC = re.compile(r"[+-]?(?P<m>[0-9_]*\.?[0-9_]*)(?:[eE][+-]?[0-9][0-9_]*)?")
_HEX = re.compile(r"[+-]?0[xX](?P<m>[0-9a-fA-F_]*\.?[0-9a-fA-F_]*)[pP][+-]?[0-9][0-9_]*")
_INT_DIGITS = {16: "0123456789abcdefABCDEF", 8: "01234567", 2: "01", 10: "0123456789"}


def underscore_ok(s: str) -> bool:
    """``strconv.underscoreOK``: ``_`` only between digits, or after a base prefix."""
    saw = "^"
    i = 0
    if s[:1] in ("+", "-"):
        s = s[1:]
    hexa = False
    if len(s) >= 2 and s[0] == "0" and s[1] in "bBoOxX":
        i, saw, hexa = 2, "0", s[1] in "xX"
    for ch in s[i:]:
        if (ch.isdigit() and ch.isascii()) or (hexa and ch in "abcdefABCDEF"):
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


def parse_float(s: str) -> float:
    """``strconv.ParseFloat(s, 64)``; ``ValueError`` on invalid syntax or out of range."""
    m = _SPECIAL.fullmatch(s)
    if m:
        if m.group(3):
            return NORMAL_NAN
        return -math.inf if m.group(1) == "-" else math.inf
    hm = _HEX.fullmatch(s)
    dm = None if hm else _DEC.fullmatch(s)
    mm = hm or dm
    if mm is None or not any(c.isdigit() or (c in "abcdefABCDEF" and hm) for c in mm.group("m")):
        raise ValueError("invalid syntax")
    if "_" in s:
        if not underscore_ok(s):
            raise ValueError("invalid syntax")
        s = s.replace("_", "")
    try:
        f = float.fromhex(s) if hm else float(s)
    except OverflowError:
        raise ValueError("value out of range") from None
    if math.isinf(f):
        raise ValueError("value out of range")
    return f


def parse_int(s: str, unsigned: bool = False) -> int:
    """``strconv.ParseInt(s, 0, 64)`` (``ParseUint`` with ``unsigned``: no sign, up to
    2**64-1); ``ValueError`` on invalid syntax or out of range."""
    if unsigned and s[:1] in "+-":
        raise ValueError("invalid syntax")
    neg = s[:1] == "-"
    body = s[1:] if s[:1] in "+-" else s
    if not body:
        raise ValueError("invalid syntax")
    prefix = body[:2].lower()
    if prefix in ("0x", "0o", "0b"):
        base, digits = {"0x": 16, "0o": 8, "0b": 2}[prefix], body[2:]
    elif body[0] == "0" and len(body) > 1:
        base, digits = 8, body[1:]
    else:
        base, digits = 10, body
    plain = digits.replace("_", "")
    if not plain or any(c not in _INT_DIGITS[base] for c in plain):
        raise ValueError("invalid syntax")
    if "_" in s and not underscore_ok(s):
        raise ValueError("invalid syntax")
    value = int(plain, base)
    value = -value if neg else value
    lo, hi = (0, 2**64) if unsigned else (-(2**63), 2**63)
    if not lo <= value < hi:
        raise ValueError("value out of range")
    return value


def parse_number(s: str) -> float:
    """``ParseInt(s, 0, 64)``, else ``ParseFloat(s, 64)``: how promqltest reads numbers."""
    try:
        return float(parse_int(s))
    except ValueError:
        return parse_float(s)


_SIMPLE_ESCAPES = {
    "a": 7, "b": 8, "f": 12, "n": 10, "r": 13, "t": 9, "v": 11, "\\": 92, '"': 34, "'": 39,
}  # fmt: skip


def unquote(body: str) -> str:
    """The text inside a Go double-quoted literal (``strconv.Unquote`` without the quotes).

    Raises ``ValueError`` on a malformed escape or on bytes that are not UTF-8.

    >>> unquote(r'a\\tb\\x41\\u00e9\\"')
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


_GO_ESCAPES = {
    "\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t",
    "\v": "\\v", "\\": "\\\\",
}  # fmt: skip


def is_print(c: str) -> bool:
    """``unicode.IsPrint``: letters, marks, numbers, punctuation, symbols and ASCII space."""
    return c == " " or unicodedata.category(c)[0] in "LMNPS"


def escape_char(c: str, quote: str, ascii_only: bool = False) -> str:
    """One character as Go's ``Quote``/``QuoteRune`` writes it inside ``quote`` marks.
    Lone surrogates are raw bytes kept by ``surrogateescape`` decoding: ``\\xNN``."""
    if c == quote:
        return "\\" + c
    if c in _GO_ESCAPES:
        return _GO_ESCAPES[c]
    o = ord(c)
    if 0xDC80 <= o <= 0xDCFF:
        return f"\\x{o - 0xDC00:02x}"
    if is_print(c) and not (ascii_only and o >= 0x80):
        return c
    if o < 0x80:
        return f"\\x{o:02x}"
    if o <= 0xFFFF:
        return f"\\u{o:04x}"
    return f"\\U{o:08x}"


def quote(s: str, ascii_only: bool = False) -> str:
    """``strconv.Quote`` (``%q``; ``QuoteToASCII``/``%+q`` with ``ascii_only``).

    >>> print(quote('a"b\\\\c\\n\\té'), quote("é", ascii_only=True))
    "a\\"b\\\\c\\n\\té" "\\u00e9"
    """
    return '"' + "".join(escape_char(c, '"', ascii_only) for c in s) + '"'


def quote_rune(c: str) -> str:
    """``strconv.QuoteRune`` (``%q`` of a rune): ``'x'``."""
    return "'" + escape_char(c, "'") + "'"
