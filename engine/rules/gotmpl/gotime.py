"""Go's ``time.Time`` and ``time.Duration`` for templates (``toTime``, ``toDuration``).

Times are UTC instants in integer nanoseconds (any int64, so years beyond Python's
``datetime`` range work too). ``Format`` takes Go layouts (``2006-01-02 15:04:05``);
``String()`` is ``2006-01-02 15:04:05.999999999 -0700 MST``, which in UTC reads
``2015-06-23 13:19:44.128 +0000 UTC``. Durations print as Go does: ``1h1m1s``,
``1.5s``, ``100ms``, ``0s``.

>>> t = GoTime(1435065584_128_000_000)
>>> str(t), t.format("Jan _2 2006 3:04PM .000 Z07:00 Monday")
('2015-06-23 13:19:44.128 +0000 UTC', 'Jun 23 2015 1:19PM .128 Z Tuesday')
>>> [duration_string(d) for d in (0, 3661 * 10**9, 1_500_000_000, 100_000_000, 1000, -5)]
['0s', '1h1m1s', '1.5s', '100ms', '1µs', '-5ns']
"""

from __future__ import annotations

from typing import Any

from .values import GoInt, GoMethod

__all__ = ["GoDuration", "GoTime", "duration_string", "ns_from_float_seconds"]

_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December"]
_DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]
_NS = 10**9


def _civil(days: int) -> tuple[int, int, int]:
    """Days since 1970-01-01 -> (year, month, day), proleptic Gregorian (any range)."""
    z = days + 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    y = yoe + era * 400
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + 3 if mp < 10 else mp - 9
    return (y + (1 if m <= 2 else 0), m, d)


def _is_leap(y: int) -> bool:
    return y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)


class _Month(GoInt):
    go_methods = {"String": GoMethod((), lambda m: _MONTHS[(int(m) - 1) % 12])}

    def __str__(self) -> str:
        return _MONTHS[(int(self) - 1) % 12]


class _Weekday(GoInt):
    go_methods = {"String": GoMethod((), lambda d: _DAYS[int(d) % 7])}


class GoTime:
    """time.Time in UTC, ``ns`` nanoseconds after the epoch."""

    go_type = "time.Time"
    go_kind = "struct"

    def __init__(self, ns: int) -> None:
        self.ns = int(ns)

    # fields
    @property
    def _parts(self) -> tuple[int, int, int, int, int, int, int]:
        secs, nsec = divmod(self.ns, _NS)
        days, sod = divmod(secs, 86400)
        y, m, d = _civil(days)
        return y, m, d, sod // 3600, sod % 3600 // 60, sod % 60, nsec

    def weekday(self) -> int:
        days = (self.ns // _NS) // 86400
        return (days + 4) % 7  # 1970-01-01 was a Thursday

    def yearday(self) -> int:
        y, m, d, *_ = self._parts
        cum = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334]
        return cum[m - 1] + d + (1 if m > 2 and _is_leap(y) else 0)

    def format(self, layout: str) -> str:
        return _format(self, layout)

    def __str__(self) -> str:
        return self.format("2006-01-02 15:04:05.999999999 -0700 MST")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, GoTime) and other.ns == self.ns

    def __hash__(self) -> int:
        return hash(self.ns)


def _time_methods() -> dict[str, GoMethod]:
    def t(fn: Any, *params: str) -> GoMethod:
        return GoMethod(tuple(params), fn)

    def dur(d: Any) -> int:
        return int(d)

    return {
        "String": t(lambda s: str(s)),
        "Format": t(lambda s, layout: s.format(layout), "string"),
        "Unix": t(lambda s: GoInt(s.ns // _NS)),
        "UnixMilli": t(lambda s: GoInt(s.ns // 10**6)),
        "UnixMicro": t(lambda s: GoInt(s.ns // 10**3)),
        "UnixNano": t(lambda s: GoInt(s.ns)),
        "Year": t(lambda s: s._parts[0]),
        "Month": t(lambda s: _Month(s._parts[1], "time.Month")),
        "Day": t(lambda s: s._parts[2]),
        "Hour": t(lambda s: s._parts[3]),
        "Minute": t(lambda s: s._parts[4]),
        "Second": t(lambda s: s._parts[5]),
        "Nanosecond": t(lambda s: s._parts[6]),
        "Weekday": t(lambda s: _Weekday(s.weekday(), "time.Weekday")),
        "YearDay": t(lambda s: s.yearday()),
        "UTC": t(lambda s: GoTime(s.ns)),
        "Local": t(lambda s: GoTime(s.ns)),
        "IsZero": t(lambda s: s.ns == _ZERO_TIME_NS),
        "Add": t(lambda s, d: GoTime(s.ns + dur(d)), "time.Duration"),
        "Sub": t(lambda s, o: GoDuration(s.ns - o.ns), "time.Time"),
        "Before": t(lambda s, o: s.ns < o.ns, "time.Time"),
        "After": t(lambda s, o: s.ns > o.ns, "time.Time"),
        "Equal": t(lambda s, o: s.ns == o.ns, "time.Time"),
        "Truncate": t(lambda s, d: GoTime(s.ns - (s.ns - _ZERO_TIME_NS) % dur(d)) if dur(d) > 0
                      else GoTime(s.ns), "time.Duration"),
    }


# Go's zero Time is year 1; its Unix nanoseconds (for IsZero and Truncate)
_ZERO_TIME_NS = -62135596800 * _NS


# ---- layouts ------------------------------------------------------------------------------


def _next_chunk(layout: str) -> tuple[str, str, str]:
    """time.nextStdChunk: (prefix, std, suffix); std '' when there is none."""
    n = len(layout)
    for i, c in enumerate(layout):
        rest = layout[i:]
        if c == "J" and rest.startswith("Jan"):
            if rest.startswith("January"):
                return layout[:i], "January", layout[i + 7:]
            if not layout[i + 3:i + 4].islower():
                return layout[:i], "Jan", layout[i + 3:]
        elif c == "M":
            if rest.startswith("Mon"):
                if rest.startswith("Monday"):
                    return layout[:i], "Monday", layout[i + 6:]
                if not layout[i + 3:i + 4].islower():
                    return layout[:i], "Mon", layout[i + 3:]
            if rest.startswith("MST"):
                return layout[:i], "MST", layout[i + 3:]
        elif c == "0":
            if i + 1 < n and "1" <= layout[i + 1] <= "6":
                return layout[:i], rest[:2], layout[i + 2:]
            if rest.startswith("002"):
                return layout[:i], "002", layout[i + 3:]
        elif c == "1":
            if rest.startswith("15"):
                return layout[:i], "15", layout[i + 2:]
            return layout[:i], "1", layout[i + 1:]
        elif c == "2":
            if rest.startswith("2006"):
                return layout[:i], "2006", layout[i + 4:]
            return layout[:i], "2", layout[i + 1:]
        elif c == "_":
            if rest.startswith("_2"):
                if rest.startswith("_2006"):
                    return layout[:i + 1], "2006", layout[i + 5:]
                return layout[:i], "_2", layout[i + 2:]
            if rest.startswith("__2"):
                return layout[:i], "__2", layout[i + 3:]
        elif c in "345":
            return layout[:i], c, layout[i + 1:]
        elif c == "P" and rest.startswith("PM"):
            return layout[:i], "PM", layout[i + 2:]
        elif c == "p" and rest.startswith("pm"):
            return layout[:i], "pm", layout[i + 2:]
        elif c in "-Z":
            for std in ("070000", "07:00:00", "0700", "07:00", "07"):
                if rest.startswith(c + std):
                    return layout[:i], c + std, layout[i + 1 + len(std):]
        elif c in ".," and i + 1 < n and layout[i + 1] in "09":
            ch = layout[i + 1]
            j = i + 1
            while j < n and layout[j] == ch:
                j += 1
            if not (j < n and layout[j].isdigit()):
                return layout[:i], layout[i:j], layout[j:]
    return layout, "", ""


def _format(t: GoTime, layout: str) -> str:
    y, mo, d, h, mi, s, ns = t._parts
    out = []
    while layout:
        prefix, std, layout = _next_chunk(layout)
        out.append(prefix)
        if not std:
            break
        if std == "January":
            out.append(_MONTHS[mo - 1])
        elif std == "Jan":
            out.append(_MONTHS[mo - 1][:3])
        elif std == "Monday":
            out.append(_DAYS[t.weekday()])
        elif std == "Mon":
            out.append(_DAYS[t.weekday()][:3])
        elif std == "MST":
            out.append("UTC")
        elif std == "01":
            out.append(f"{mo:02d}")
        elif std == "1":
            out.append(str(mo))
        elif std == "02":
            out.append(f"{d:02d}")
        elif std == "2":
            out.append(str(d))
        elif std == "_2":
            out.append(f"{d:2d}")
        elif std == "002":
            out.append(f"{t.yearday():03d}")
        elif std == "__2":
            out.append(f"{t.yearday():3d}")
        elif std == "03":
            out.append(f"{(h % 12) or 12:02d}")
        elif std == "3":
            out.append(str((h % 12) or 12))
        elif std == "15":
            out.append(f"{h:02d}")
        elif std == "04":
            out.append(f"{mi:02d}")
        elif std == "4":
            out.append(str(mi))
        elif std == "05":
            out.append(f"{s:02d}")
        elif std == "5":
            out.append(str(s))
        elif std == "06":
            out.append(f"{y % 100:02d}")
        elif std == "2006":
            out.append(f"{y:04d}" if y >= 0 else f"-{-y:04d}")
        elif std == "PM":
            out.append("PM" if h >= 12 else "AM")
        elif std == "pm":
            out.append("pm" if h >= 12 else "am")
        elif std[0] == "Z":
            out.append("Z")
        elif std[0] == "-":
            out.append({"-070000": "+000000", "-07:00:00": "+00:00:00", "-0700": "+0000",
                        "-07:00": "+00:00", "-07": "+00"}[std])
        else:  # fractional seconds
            sep, digits = std[0], len(std) - 1
            frac = f"{ns:09d}"[:digits]
            if std[1] == "9":
                frac = frac.rstrip("0")
                if frac:
                    out.append(sep + frac)
            else:
                out.append(sep + frac)
    return "".join(out)


# ---- durations ----------------------------------------------------------------------------


def _fmt_frac(v: int, prec: int) -> tuple[str, int]:
    digits = []
    printed = False
    for _ in range(prec):
        digit = v % 10
        printed = printed or digit != 0
        if printed:
            digits.append(str(digit))
        v //= 10
    s = "".join(reversed(digits))
    return ("." + s if printed else ""), v


def duration_string(d: int) -> str:
    """time.Duration.String()."""
    neg = d < 0
    u = -d if neg else d
    if u < _NS:
        if u == 0:
            return "0s"
        if u < 1000:
            prec, unit = 0, "ns"
        elif u < 10**6:
            prec, unit = 3, "µs"
        else:
            prec, unit = 6, "ms"
        frac, u = _fmt_frac(u, prec)
        s = f"{u}{frac}{unit}"
    else:
        frac, u = _fmt_frac(u, 9)
        s = f"{u % 60}{frac}s"
        u //= 60
        if u > 0:
            s = f"{u % 60}m" + s
            u //= 60
            if u > 0:
                s = f"{u}h" + s
    return "-" + s if neg else s


def _div_float(d: int, unit: int) -> float:
    q = int(d / unit) if d >= 0 else -((-d) // unit)
    r = d - q * unit
    return float(q) + r / unit


class GoDuration(GoInt):
    """time.Duration: integer nanoseconds with Go's methods."""

    def __new__(cls, ns: int) -> GoDuration:
        return super().__new__(cls, ns, "time.Duration")  # type: ignore[return-value]

    def __str__(self) -> str:
        return duration_string(int(self))


def _trunc_div(a: int, b: int) -> int:
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q


def _truncate(d: int, m: int) -> int:
    """Duration.Truncate: toward zero to a multiple of m."""
    if m <= 0:
        return d
    return d - (d % m if d >= 0 else -((-d) % m))


def _round(d: int, m: int) -> int:
    if m <= 0:
        return d
    r = d % m if d >= 0 else -((-d) % m)
    if d < 0:
        r = -r
        if r + r < m:
            return d + r
        return d - m + r
    if r + r < m:
        return d - r
    return d + m - r


GoDuration.go_methods = {
    "String": GoMethod((), lambda d: duration_string(int(d))),
    "Hours": GoMethod((), lambda d: _div_float(int(d), 3600 * _NS)),
    "Minutes": GoMethod((), lambda d: _div_float(int(d), 60 * _NS)),
    "Seconds": GoMethod((), lambda d: _div_float(int(d), _NS)),
    "Milliseconds": GoMethod((), lambda d: GoInt(_trunc_div(int(d), 10**6))),
    "Microseconds": GoMethod((), lambda d: GoInt(_trunc_div(int(d), 10**3))),
    "Nanoseconds": GoMethod((), lambda d: GoInt(int(d))),
    "Abs": GoMethod((), lambda d: GoDuration(abs(int(d)))),
    "Round": GoMethod(("time.Duration",), lambda d, m: GoDuration(_round(int(d), int(m)))),
    "Truncate": GoMethod(("time.Duration",), lambda d, m: GoDuration(_truncate(int(d), int(m)))),
}
GoTime.go_methods = _time_methods()  # type: ignore[attr-defined]


def ns_from_float_seconds(v: float) -> int:
    """Go's ``time.Duration(v * float64(time.Second))`` (amd64: out of range -> MinInt64)."""
    x = v * 1e9
    if x != x or x >= 2.0**63 or x < -(2.0**63):
        return -(1 << 63)
    return int(x)

