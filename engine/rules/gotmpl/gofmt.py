"""Go's ``fmt`` for template values: ``Sprint``, ``Sprintln``, ``Sprintf`` and ``%v``.

Floats print as Go prints them (``%v`` is the shortest round-trip ``%g``: ``1e+06``,
``0.0001``, ``+Inf``), integers and strings as themselves, maps as ``map[k:v ...]``
with sorted keys, slices as ``[a b]``, a pointer to a struct as ``&{...}`` at the top
level. Wrong verbs and missing or extra arguments produce Go's ``%!d(string=x)``,
``%!d(MISSING)`` and ``%!(EXTRA int=1)``.

>>> sprintf("%.2f|%5d|%-4s|%q|%x|%v|%g", 3.14159, 42, "ab", "a\\"b", 255, 1e6, 1e-5)
'3.14|   42|ab  |"a\\\\"b"|ff|1e+06|1e-05'
>>> sprintf("%d %s", "x")
'%!d(string=x) %!s(MISSING)'
>>> sprint(1, 2, "a", "b", 3.5), sprintf("%.4g", 999.999), sprintf("%v", float("inf"))
('1 2ab3.5', '1000', '+Inf')
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from ...gostrconv import is_print as _is_print
from ...gostrconv import quote
from ...labels import format_go_float
from .values import GoPtr, GoStruct, kind_of, type_of

__all__ = ["fmt_value", "go_quote_string", "sprint", "sprintf", "sprintln", "top_level_print"]


def go_quote_string(s: str, max_runes: int | None = None, ascii_only: bool = False) -> str:
    """strconv.Quote (``%q``); ``max_runes`` truncates first, as ``%.10q`` does."""
    if max_runes is not None:
        s = s[:max_runes]
    return quote(s, ascii_only)


class _Flags:
    __slots__ = ("plus", "minus", "sharp", "space", "zero", "wid", "prec", "plus_v", "sharp_v")

    def __init__(self) -> None:
        self.plus = self.minus = self.sharp = self.space = self.zero = False
        self.plus_v = self.sharp_v = False
        self.wid: int | None = None
        self.prec: int | None = None


def _pad(s: str, f: _Flags) -> str:
    if f.wid is None or len(s) >= f.wid:
        return s
    n = f.wid - len(s)
    if f.minus:
        return s + " " * n
    return ("0" if f.zero else " ") * n + s


# ---- numbers ----------------------------------------------------------------------------


def _float_body(v: float, verb: str, prec: int | None) -> str:
    """strconv.FormatFloat(v, verb, prec, 64) for finite v (sign included)."""
    if verb == "v":
        verb = "g"
    if verb in "gG":
        if prec is None:
            s = format_go_float(v, "g")
        else:
            s = format(v, f".{max(prec, 1)}g")
            s = _two_digit_exponent(s)
        return s.upper() if verb == "G" else s
    if verb in "eE":
        s = format_go_float(v, "e") if prec is None else _two_digit_exponent(format(v, f".{prec}e"))
        return s.upper() if verb == "E" else s
    if verb in "fF":
        return format_go_float(v, "f") if prec is None else format(v, f".{prec}f")
    if verb in "xX":
        return _hex_float(v, prec, verb == "X")
    if verb == "b":
        m, e = math.frexp(v)
        mant = int(m * (1 << 53))
        return f"{mant}p{e - 53:+d}"
    raise ValueError(verb)


def _two_digit_exponent(s: str) -> str:
    if "e" in s:
        mant, exp = s.split("e")
        sign = exp[0]
        digits = exp[1:].lstrip("0") or "0"
        return f"{mant}e{sign}{digits.zfill(2)}"
    return s


def _hex_float(v: float, prec: int | None, upper: bool) -> str:
    if v == 0:
        s = "-0x0p+00" if math.copysign(1, v) < 0 else "0x0p+00"
    else:
        h = float.hex(abs(v))  # 0x1.8000000000000p+1
        mant, exp = h[2:].split("p")
        lead, _, frac = mant.partition(".")
        frac = frac.rstrip("0")
        if prec is not None:
            # round the fraction to prec hex digits
            full = int(lead + frac.ljust(13, "0"), 16)
            shift = 4 * (13 - prec)
            if shift > 0:
                full = (full + (1 << (shift - 1))) >> shift
            s_digits = f"{full:x}"
            lead, frac = s_digits[0], s_digits[1:].ljust(prec, "0")[:prec] if prec else ""
        e = int(exp)
        s = "0x" + lead + ("." + frac if frac else "") + f"p{'+' if e >= 0 else '-'}{abs(e):02d}"
        if v < 0:
            s = "-" + s
    return s.upper().replace("0X", "0X") if upper else s


def _fmt_float(v: float, verb: str, f: _Flags, prec_default: int | None = None) -> str:
    prec = f.prec if f.prec is not None else prec_default
    if math.isnan(v) or math.isinf(v):
        num = "NaN" if math.isnan(v) else ("+Inf" if v > 0 else "-Inf")
        if num == "NaN" and (f.plus or f.space):
            num = ("+" if f.plus else " ") + num
        elif num == "+Inf" and f.space and not f.plus:
            num = " Inf"
        zero, f.zero = f.zero, False
        out = _pad(num, f)
        f.zero = zero
        return out
    body = _float_body(v, verb, prec)
    if f.sharp and verb not in "bv":
        body = _sharp_float(body, verb, prec)
    sign = "-" if body.startswith("-") else "+"
    digits = body.lstrip("-")
    if sign == "+" and f.space and not f.plus:
        sign = " "
    if f.plus or sign != "+":
        if f.zero and not f.minus and f.wid is not None and f.wid > len(digits) + 1:
            return sign + "0" * (f.wid - len(digits) - 1) + digits
        return _pad(sign + digits, f)
    return _pad(digits, f)


def _sharp_float(body: str, verb: str, prec: int | None) -> str:
    """The '#' flag: always a decimal point; %g keeps trailing zeros."""
    mant, e, exp = body.partition("e") if "e" in body else body.partition("E")
    if "." not in mant and "x" not in mant.lower():
        mant += "."
    if verb in "gG":
        p = prec if prec is not None else 6
        digits = sum(c.isdigit() for c in mant.lstrip("-0."))
        if digits < p:
            mant += "0" * (p - max(digits, 1))
    return mant + e + exp


def _fmt_int(v: int, verb: str, f: _Flags) -> str | None:
    if verb in "vd":
        base, digits = 10, "0123456789"
    elif verb == "b":
        base, digits = 2, "01"
    elif verb in "oO":
        base, digits = 8, "01234567"
    elif verb == "x":
        base, digits = 16, "0123456789abcdef"
    elif verb == "X":
        base, digits = 16, "0123456789ABCDEF"
    elif verb == "c":
        return _pad(chr(v) if 0 <= v <= 0x10FFFF else "\ufffd", f)
    elif verb == "q":
        c = chr(v) if 0 <= v <= 0x10FFFF else "\ufffd"
        q = go_quote_string(c)[1:-1].replace("\\\"", "\"").replace("'", "\\'")
        return _pad("'" + q + "'", f)
    elif verb == "U":
        s = f"U+{v:04X}"
        if f.sharp and 0 <= v <= 0x10FFFF and _is_print(chr(v)):
            s += f" '{chr(v)}'"
        return _pad(s, f)
    else:
        return None
    neg = v < 0
    u = -v if neg else v
    s = ""
    while True:
        s = digits[u % base] + s
        u //= base
        if u == 0:
            break
    if f.prec is not None:
        if f.prec == 0 and v == 0:
            s = ""
        s = s.rjust(f.prec, "0")
    elif f.zero and not f.minus and f.wid is not None:
        width = f.wid - (1 if (neg or f.plus or f.space) else 0)
        s = s.rjust(width, "0")
    if f.sharp:
        s = {2: "0b", 8: "0", 16: "0x" if verb == "x" else "0X"}.get(base, "") + s
    if verb == "O":
        s = "0o" + s
    if neg:
        s = "-" + s
    elif f.plus:
        s = "+" + s
    elif f.space:
        s = " " + s
    zero, f.zero = f.zero, False
    out = _pad(s, f)
    f.zero = zero
    return out


def _fmt_string(s: str, verb: str, f: _Flags) -> str | None:
    if f.prec is not None:
        s = s[:f.prec]
    if verb in "vs":
        return _pad(s, f)
    if verb == "q":
        if f.sharp and "`" not in s and all(_is_print(c) or c == "\t" for c in s):
            return _pad("`" + s + "`", f)
        return _pad(go_quote_string(s, ascii_only=f.plus), f)
    if verb in "xX":
        b = s.encode("utf-8", "surrogateescape")
        parts = [f"{x:02x}" if verb == "x" else f"{x:02X}" for x in b]
        if f.space:
            pre = ("0x" if verb == "x" else "0X") if f.sharp else ""
            return _pad(" ".join(pre + p for p in parts), f)
        pre = ("0x" if verb == "x" else "0X") if f.sharp else ""
        return _pad(pre + "".join(parts), f)
    return None


# ---- values -----------------------------------------------------------------------------


def _stringer(v: Any) -> str | None:
    """The String() of a value whose type has one (directly or through a pointer)."""
    target = v.elem if isinstance(v, GoPtr) else v
    if target is None:
        return None
    m = getattr(target, "go_methods", {}).get("String")
    if m is not None and not m.params:
        return str(m.fn(target))
    return None


def _bad_verb(v: Any, verb: str) -> str:
    if v is None:
        return f"%!{verb}(<nil>)"
    return f"%!{verb}({type_of(v)}={fmt_value(v, 'v', _Flags())})"


def fmt_value(v: Any, verb: str, f: _Flags, depth: int = 0) -> str:
    """printArg/printValue: one operand formatted with ``verb``."""
    if v is None:
        if verb in "vT":
            return _pad("<nil>" if verb == "v" else "<nil>", f)
        return _bad_verb(v, verb)
    if verb == "T":
        return _pad(type_of(v), f)
    if verb in "vsxXq":
        s = _stringer(v)
        if s is not None:
            return _fmt_string(s, verb, f) or s
    kind = kind_of(v)
    if kind == "bool":
        if verb in "tv":
            return _pad("true" if v else "false", f)
        return _bad_verb(v, verb)
    if kind == "int":
        out = _fmt_int(int(v), verb, f)
        return out if out is not None else _bad_verb(v, verb)
    if kind == "float":
        if verb == "v":
            return _fmt_float(float(v), "g", f)
        if verb in "bgGxX":
            return _fmt_float(float(v), verb, f)
        if verb in "feEF":
            return _fmt_float(float(v), verb, f, 6)
        return _bad_verb(v, verb)
    if kind == "complex":
        if verb not in "vbgGxXfFeE":
            return _bad_verb(v, verb)
        vv = "g" if verb == "v" else verb
        dflt = 6 if vv in "feEF" else None
        wid, f.wid = f.wid, None
        re_ = _fmt_float(v.real, vv, f, dflt)
        plus, f.plus = f.plus, True
        im = _fmt_float(v.imag, vv, f, dflt)
        f.plus, f.wid = plus, wid
        return _pad(f"({re_}{im}i)", f)
    if kind == "string":
        out = _fmt_string(str(v), verb, f)
        return out if out is not None else _bad_verb(v, verb)
    if isinstance(v, dict):
        keys = sorted(v)
        inner = " ".join(f"{fmt_value(k, verb, f, depth + 1)}:{fmt_value(v[k], verb, f, depth + 1)}"
                         for k in keys)
        return "map[" + inner + "]"
    if isinstance(v, list):
        return "[" + " ".join(fmt_value(x, verb, f, depth + 1) for x in v) + "]"
    if isinstance(v, GoStruct):
        parts = []
        for name, val in v.fields.items():
            s = fmt_value(val, verb, f, depth + 1)
            parts.append(f"{name}:{s}" if f.plus_v else s)
        return "{" + " ".join(parts) + "}"
    if isinstance(v, GoPtr):
        if v.elem is None:
            return _pad("<nil>", f) if verb == "v" else _bad_verb(v, verb)
        if depth == 0 and isinstance(v.elem, (GoStruct, dict, list)):
            return "&" + fmt_value(v.elem, verb, f, depth + 1)
        return _pad("0xc000010000", f) if verb == "v" else _bad_verb(v, verb)
    return _pad(str(v), f)


def sprint(*args: Any) -> str:
    """fmt.Sprint: a space between operands when neither side is a string."""
    out = []
    prev_string = False
    for i, a in enumerate(args):
        is_string = kind_of(a) == "string"
        if i > 0 and not is_string and not prev_string:
            out.append(" ")
        out.append(fmt_value(a, "v", _Flags()))
        prev_string = is_string
    return "".join(out)


def sprintln(*args: Any) -> str:
    """fmt.Sprintln: spaces between all operands, then a newline."""
    return " ".join(fmt_value(a, "v", _Flags()) for a in args) + "\n"


def _parsenum(s: str, i: int) -> tuple[int | None, int]:
    start = i
    while i < len(s) and s[i].isdigit() and s[i].isascii():
        i += 1
    if i == start:
        return None, i
    return int(s[start:i]), i


def sprintf(fmt: str, *args: Any) -> str:
    """fmt.Sprintf with Go's verbs, flags, width, precision, ``*`` and ``[n]`` indexes."""
    out: list[str] = []
    a: Sequence[Any] = args
    argn = 0
    reordered = False
    i, end = 0, len(fmt)
    while i < end:
        j = fmt.find("%", i)
        if j < 0:
            out.append(fmt[i:])
            break
        out.append(fmt[i:j])
        i = j + 1
        f = _Flags()
        while i < end and fmt[i] in "#0+- ":
            c = fmt[i]
            if c == "#":
                f.sharp = True
            elif c == "0":
                f.zero = not f.minus
            elif c == "+":
                f.plus = True
            elif c == "-":
                f.minus, f.zero = True, False
            else:
                f.space = True
            i += 1
        good = True

        def arg_index(i: int, argn: int) -> tuple[int, int, bool, bool]:
            # "[n]" explicit argument index (1-based)
            if i < end and fmt[i] == "[":
                k = fmt.find("]", i)
                if k < 0:
                    return argn, end, False, False
                try:
                    n = int(fmt[i + 1:k])
                except ValueError:
                    return argn, k + 1, False, False
                if 1 <= n <= len(a):
                    return n - 1, k + 1, True, True
                return argn, k + 1, False, False
            return argn, i, True, False

        argn, i, ok, after = arg_index(i, argn)
        good = good and ok
        reordered = reordered or after
        if i < end and fmt[i] == "*":
            i += 1
            if argn < len(a) and kind_of(a[argn]) == "int":
                f.wid = int(a[argn])
                if f.wid < 0:
                    f.wid, f.minus, f.zero = -f.wid, True, False
            else:
                out.append("%!(BADWIDTH)")
            argn += 1
            after = False
        else:
            f.wid, i = _parsenum(fmt, i)
            if after and f.wid is not None:
                good = False
        if i + 1 < end and fmt[i] == ".":
            i += 1
            if after:
                good = False
            argn, i, ok, after = arg_index(i, argn)
            good = good and ok
            reordered = reordered or after
            if i < end and fmt[i] == "*":
                i += 1
                if argn < len(a) and kind_of(a[argn]) == "int" and int(a[argn]) >= 0:
                    f.prec = int(a[argn])
                else:
                    out.append("%!(BADPREC)")
                argn += 1
                after = False
            else:
                f.prec, i = _parsenum(fmt, i)
                if f.prec is None:
                    f.prec = 0
        if not after:
            argn, i, ok, after = arg_index(i, argn)
            good = good and ok
            reordered = reordered or after
        if i >= end:
            out.append("%!(NOVERB)")
            break
        verb = fmt[i]
        i += 1
        if verb == "%":
            out.append("%")
        elif not good:
            out.append(f"%!{verb}(BADINDEX)")
        elif argn >= len(a):
            out.append(f"%!{verb}(MISSING)")
        else:
            if verb == "v":
                f.sharp_v, f.sharp = f.sharp, False
                f.plus_v, f.plus = f.plus, False
                if f.sharp_v and kind_of(a[argn]) == "string":
                    out.append(_pad(go_quote_string(str(a[argn])), f))
                    argn += 1
                    continue
            out.append(fmt_value(a[argn], verb, f))
            argn += 1
    if not reordered and argn < len(a):
        extra = []
        for x in a[argn:]:
            extra.append("<nil>" if x is None else f"{type_of(x)}={fmt_value(x, 'v', _Flags())}")
        out.append("%!(EXTRA " + ", ".join(extra) + ")")
    return "".join(out)


def top_level_print(v: Any) -> str:
    """What ``{{ v }}`` prints: printableValue (pointers followed) then fmt.Fprint."""
    if isinstance(v, GoPtr):
        if v.elem is None:
            return "<nil>"
        if _stringer(v) is not None:
            return str(_stringer(v))
        v = v.elem
    if v is None:
        return "<no value>"
    return fmt_value(v, "v", _Flags())

