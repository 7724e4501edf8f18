"""Series notation of the promqltest DSL (DSL.md §2): label sets, value sequences,
native-histogram literals and start-timestamp sequences.

A series line is ``<labels> <values>``. ``<labels>`` is ``name``, ``name{l="v", ...}``,
``{__name__="name", ...}`` or the UTF-8 form ``{"my.name", "label.x"="v"}``; label values
are PromQL string literals. ``<values>`` are space-separated items, expanded left to
right (``N`` counts the *extra* samples, except for ``_xN``):

==================  ==========================================================
``v``               one sample (number, ``Inf``/``NaN`` any case, ``stale``)
``a+bxN``           ``a, a+b, ..., a+N*b`` by repeated addition (N+1 samples)
``a-bxN``           ``a, a-b, ..., a-N*b`` (N+1 samples)
``axN``             N+1 copies of ``a``
``_`` / ``_xN``     one / N skipped slots
``{{...}}``         a native histogram (keys below); ``{{A}}xN``, ``{{A}}+{{B}}xN``,
                    ``{{A}}-{{B}}xN`` expand like the float forms
==================  ==========================================================

Histogram keys: ``schema``, ``sum``, ``count``, ``z_bucket``, ``z_bucket_w``,
``buckets:[...]`` (absolute counts from index ``offset``), ``offset``, ``n_buckets``,
``n_offset``, ``custom_values:[...]``, ``counter_reset_hint:unknown|reset|not_reset|gauge``.

>>> d = parse_series_desc('up{job="a"} 1+2x2 _ stale -1x1')
>>> d.labels
(('__name__', 'up'), ('job', 'a'))
>>> [str(v) for v in d.values]
['1', '3', '5', '_', 'stale', '-1', '-1']
>>> [str(v) for v in parse_values("{{count:1 buckets:[1]}}+{{count:2 buckets:[2]}}x1")]
['{{count:1 sum:0 buckets:[1]}}', '{{count:3 sum:0 buckets:[3]}}']
>>> parse_st_sequence("_ -1m+30sx2 0")
[None, -60000, -30000, 0, 0]
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import ParseError
from ..histograms import COUNTER_RESET_HINTS, FloatHistogram, HistogramError
from ..labels import METRIC_NAME, Labels, format_go_float
from ..promql.lex import tokenize
from ..promql.parse import go_number, parse_duration
from ..store.samples import STALE_NAN

__all__ = [
    "NotationError",
    "SeqValue",
    "SeriesDesc",
    "format_labels",
    "parse_labels",
    "parse_series_desc",
    "parse_st_sequence",
    "parse_values",
    "split_st_line",
    "unquote",
]


class NotationError(ValueError):
    """A malformed series line. ``column`` is the 1-based column in the parsed text."""

    def __init__(self, reason: str, column: int | None = None) -> None:
        self.reason = reason
        self.column = column
        super().__init__(reason if column is None else f"column {column}: {reason}")


@dataclass(frozen=True, slots=True)
class SeqValue:
    """One slot of an expanded sequence: a float, a histogram, or omitted (``_``).

    ``hint_set`` records whether the histogram literal spelled out
    ``counter_reset_hint:`` (only then does the test rule compare the hint).
    """

    value: float = 0.0
    histogram: FloatHistogram | None = None
    omitted: bool = False
    hint_set: bool = False

    def __str__(self) -> str:
        if self.omitted:
            return "_"
        if self.histogram is not None:
            return self.histogram.test_expression()
        return format_value(self.value)


OMITTED = SeqValue(omitted=True)


@dataclass(frozen=True, slots=True)
class SeriesDesc:
    """A parsed series line: its label set (``__name__`` included) and expanded values."""

    labels: Labels
    values: tuple[SeqValue, ...]


def format_value(v: float) -> str:
    """A float as the runner prints it: Go's shortest form, ``stale`` for the marker."""
    from ..almost import is_stale_value

    return "stale" if is_stale_value(v) else format_go_float(v)


def format_labels(labels: Labels) -> str:
    """``name{a="b", ...}`` (``{}`` for the empty set), as Prometheus prints label sets.

    >>> format_labels((("__name__", "up"), ("job", "a"))), format_labels(())
    ('up{job="a"}', '{}')
    """
    d = dict(labels)
    name = d.pop(METRIC_NAME, "")
    inner = ", ".join(f'{_label_name(k)}="{_escape(v)}"' for k, v in d.items())
    if name and not re.fullmatch(r"[a-zA-Z_:][a-zA-Z0-9_:]*", name):
        return "{" + ", ".join([f'"{_escape(name)}"'] + ([inner] if inner else [])) + "}"
    return f"{name}{{{inner}}}"


def _label_name(name: str) -> str:
    return name if re.fullmatch(r"[a-zA-Z_][a-zA-Z0-9_]*", name) else f'"{_escape(name)}"'


def _escape(v: str) -> str:
    return v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


# ---- series lines ---------------------------------------------------------------------

_METRIC_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_WS = " \t"


def parse_series_desc(line: str) -> SeriesDesc:
    """Parse ``<labels> <values>``; raises :class:`NotationError`."""
    end = _metric_end(line)
    labels = parse_labels(line[:end])
    rest = line[end:]
    if rest and rest[0] not in _WS:
        raise NotationError(f"unexpected {rest[0]!r} after the label set", end + 1)
    return SeriesDesc(labels, tuple(parse_values(rest, column_offset=end)))


def _metric_end(text: str) -> int:
    """Index just past the label-set part of a series line."""
    m = _METRIC_NAME.match(text)
    pos = m.end() if m else 0
    if pos < len(text) and text[pos] == "{":
        pos = _scan_braces(text, pos)
    if pos == 0:
        raise NotationError("expected a metric name or a label set", 1)
    return pos


def _scan_braces(text: str, pos: int) -> int:
    """Index just past the ``}`` matching the ``{`` at ``pos`` (quotes respected)."""
    i = pos + 1
    while i < len(text):
        ch = text[i]
        if ch in "\"'`":
            i = _string_end(text, i)
            continue
        if ch == "}":
            return i + 1
        i += 1
    raise NotationError("unterminated label set", pos + 1)


def _string_end(text: str, pos: int) -> int:
    quote = text[pos]
    i = pos + 1
    while i < len(text):
        if text[i] == "\\" and quote != "`":
            i += 2
            continue
        if text[i] == quote:
            return i + 1
        i += 1
    raise NotationError("unterminated quoted string", pos + 1)


def parse_labels(text: str) -> Labels:
    """The label set of a series description (``__name__`` included, sorted by name,
    empty values dropped).

    >>> parse_labels('{"my.metric", "a.b"=\\'x\\'}')
    (('__name__', 'my.metric'), ('a.b', 'x'))
    >>> parse_labels("{}")
    ()
    """
    labels: dict[str, str] = {}
    m = _METRIC_NAME.match(text)
    pos = 0
    if m:
        labels[METRIC_NAME] = m.group()
        pos = m.end()
    if pos < len(text):
        if text[pos] != "{":
            raise NotationError(f"unexpected {text[pos]!r} in metric name", pos + 1)
        pos = _parse_label_braces(text, pos, labels)
    if pos != len(text):
        raise NotationError(f"unexpected {text[pos]!r} after the label set", pos + 1)
    return tuple(sorted((k, v) for k, v in labels.items() if v != ""))


def _parse_label_braces(text: str, pos: int, labels: dict[str, str]) -> int:
    pos = _skip_ws(text, pos + 1)
    while True:
        if pos >= len(text):
            raise NotationError("unterminated label set", pos + 1)
        if text[pos] == "}":
            return pos + 1
        if text[pos] in "\"'`":
            name, pos = _read_string(text, pos)
            pos = _skip_ws(text, pos)
            if pos < len(text) and text[pos] != "=":
                _set_label(labels, METRIC_NAME, name, pos)
                pos = _after_item(text, pos)
                continue
        else:
            m = _LABEL_NAME.match(text, pos)
            if not m:
                raise NotationError(f"unexpected {text[pos]!r} in label set", pos + 1)
            name, pos = m.group(), _skip_ws(text, m.end())
        if text[pos : pos + 1] != "=" or text[pos + 1 : pos + 2] in ("=", "~"):
            raise NotationError(f"expected '=' after label {name!r}", pos + 1)
        pos = _skip_ws(text, pos + 1)
        if pos >= len(text) or text[pos] not in "\"'`":
            raise NotationError(f"expected a quoted value for label {name!r}", pos + 1)
        value, pos = _read_string(text, pos)
        _set_label(labels, name, value, pos)
        pos = _after_item(text, _skip_ws(text, pos))


def _after_item(text: str, pos: int) -> int:
    if pos < len(text) and text[pos] == ",":
        return _skip_ws(text, pos + 1)
    if pos < len(text) and text[pos] == "}":
        return pos
    raise NotationError("expected ',' or '}' in label set", pos + 1)


def _set_label(labels: dict[str, str], name: str, value: str, pos: int) -> None:
    if name in labels:
        raise NotationError(f"label {name!r} set twice", pos + 1)
    labels[name] = value


def _read_string(text: str, pos: int) -> tuple[str, int]:
    end = _string_end(text, pos)
    try:
        return unquote(text[pos:end]), end
    except ValueError as e:
        raise NotationError(str(e), pos + 1) from None


def unquote(literal: str) -> str:
    r"""The value of one PromQL string literal (``"..."``, ``'...'`` or ```...```, Go
    escapes), decoded by the PromQL lexer; ``ValueError`` with its reason otherwise.

    >>> unquote('"a\\tb"'), unquote("'it\\'s'"), unquote("`raw\\n`")
    ('a\tb', "it's", 'raw\\n')
    """
    tokens = tokenize(literal)
    first = tokens[0]
    if first.kind == "STRING" and first.end == len(literal):
        return first.value
    raise ValueError(first.value if first.kind == "ERROR" else f"not one string literal: {literal}")


def _skip_ws(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in _WS:
        pos += 1
    return pos


# ---- value sequences --------------------------------------------------------------------

_NUMBER = re.compile(r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_DURATION = re.compile(r"(?:[0-9]+(?:ms|[smhdwy]))+")
_WORD = re.compile(r"[a-zA-Z_][a-zA-Z0-9_:]*")
_UINT = re.compile(r"[0-9]+")
_KEY = re.compile(r"[a-z_]+")


class _Scanner:
    """Cursor over a value sequence; errors carry 1-based columns of the full line."""

    def __init__(self, text: str, column_offset: int) -> None:
        self.text = text
        self.pos = 0
        self.offset = column_offset

    def error(self, reason: str) -> NotationError:
        return NotationError(reason, self.offset + self.pos + 1)

    def peek(self, n: int = 1) -> str:
        return self.text[self.pos : self.pos + n]

    def at_end(self) -> bool:
        return self.pos >= len(self.text)

    def skip_ws(self) -> None:
        self.pos = _skip_ws(self.text, self.pos)

    def expect(self, s: str) -> None:
        if not self.text.startswith(s, self.pos):
            raise self.error(f"expected {s!r}")
        self.pos += len(s)

    def uint(self) -> int:
        m = _UINT.match(self.text, self.pos)
        if not m:
            raise self.error("expected a repetition count")
        self.pos = m.end()
        if self.peek().isalnum() or self.peek() == ".":
            raise self.error("invalid repetition count")
        return int(m.group())

    def int(self) -> int:
        neg = self.peek() == "-"
        if neg:
            self.pos += 1
        v = self.uint()
        return -v if neg else v

    def number(self) -> float:
        """An unsigned number, ``Inf``/``NaN``, or a duration (in seconds)."""
        d = _DURATION.match(self.text, self.pos)
        if d:
            try:
                ms = parse_duration(d.group())
            except ParseError as e:
                raise self.error(e.message) from None
            self.pos = d.end()
            return ms / 1000
        m = _NUMBER.match(self.text, self.pos)
        if m:
            self.pos = m.end()
            nxt = self.peek()
            if nxt and (nxt.isalnum() or nxt == "_") and nxt != "x":
                raise self.error(f"bad number syntax {m.group() + nxt!r}")
            try:
                return go_number(m.group())
            except ValueError as e:
                raise self.error(str(e)) from None
        w = _WORD.match(self.text, self.pos)
        if w and w.group().lower() in ("inf", "nan"):
            self.pos = w.end()
            return float("inf") if w.group().lower() == "inf" else float("nan")
        raise self.error("expected a number")

    def signed_number(self) -> float:
        sign = self.peek()
        if sign in ("+", "-"):
            self.pos += 1
            v = self.number()
            return -v if sign == "-" else v
        return self.number()


def parse_values(text: str, *, column_offset: int = 0) -> list[SeqValue]:
    """Expand a space-separated value sequence (see the module doc).

    >>> [str(v) for v in parse_values("0.5-0.25x2 _x2 1e3 NaN")]
    ['0.5', '0.25', '0', '_', '_', '1000', 'NaN']
    """
    sc = _Scanner(text, column_offset)
    out: list[SeqValue] = []
    while True:
        sc.skip_ws()
        if sc.at_end():
            return out
        out.extend(_item(sc))
        if not sc.at_end() and sc.peek() not in _WS:
            raise sc.error(f"unexpected {sc.peek()!r} in series values")


def _item(sc: _Scanner) -> list[SeqValue]:
    if sc.peek(2) == "{{":
        return _histogram_item(sc)
    if sc.peek() == "_":
        sc.pos += 1
        if sc.peek() == "x":
            sc.pos += 1
            return [OMITTED] * sc.uint()
        return [OMITTED]
    w = _WORD.match(sc.text, sc.pos)
    if w and w.group() == "stale":
        sc.pos = w.end()
        first = STALE_NAN
    else:
        first = sc.signed_number()
    if sc.peek() == "x":
        sc.pos += 1
        n = sc.uint()
        return [SeqValue(first)] * (n + 1)
    if sc.peek() in ("+", "-"):
        delta = sc.signed_number()
        sc.expect("x")
        n = sc.uint()
        values = []
        v = first
        for _ in range(n + 1):
            values.append(SeqValue(v))
            v += delta
        return values
    return [SeqValue(first)]


def _histogram_item(sc: _Scanner) -> list[SeqValue]:
    base, base_hint = _histogram(sc)
    if sc.peek() == "x":
        sc.pos += 1
        n = sc.uint()
        return [SeqValue(histogram=base, hint_set=base_hint)] * (n + 1)
    if sc.peek() in ("+", "-") and sc.text.startswith("{{", sc.pos + 1):
        op = sc.peek()
        sc.pos += 1
        inc, inc_hint = _histogram(sc)
        sc.expect("x")
        n = sc.uint()
        # Upstream flags every value of the sequence with the hint flag of the literal
        # parsed last, the increment.
        out = [SeqValue(histogram=base, hint_set=inc_hint)]
        cur = base
        for _ in range(n):
            if cur.schema > inc.schema:
                raise sc.error(
                    "error combining histograms: "
                    f"cannot merge from schema {inc.schema} to {cur.schema}"
                )
            try:
                cur = cur.add(inc) if op == "+" else cur.sub(inc)
            except HistogramError as e:
                raise sc.error(f"error combining histograms: {e}") from None
            out.append(SeqValue(histogram=cur, hint_set=inc_hint))
        return out
    return [SeqValue(histogram=base, hint_set=base_hint)]


_HIST_KEYS = (
    "schema",
    "sum",
    "count",
    "z_bucket",
    "z_bucket_w",
    "buckets",
    "offset",
    "n_buckets",
    "n_offset",
    "custom_values",
    "counter_reset_hint",
)


def _histogram(sc: _Scanner) -> tuple[FloatHistogram, bool]:
    """A ``{{...}}`` literal, and whether it set ``counter_reset_hint``."""
    sc.expect("{{")
    desc: dict[str, object] = {}
    sc.skip_ws()
    while sc.peek(2) != "}}":
        if sc.at_end():
            raise sc.error("unterminated histogram description")
        w = _KEY.match(sc.text, sc.pos)
        key = w.group() if w else ""
        if w is None or key not in _HIST_KEYS:
            raise sc.error(
                f"unexpected {key or sc.peek()!r} in histogram description, "
                "expected a key such as buckets:[5 10 7]"
            )
        if key in desc:
            raise sc.error(f'duplicate key "{key}" in histogram')
        sc.pos = w.end()
        sc.expect(":")
        desc[key] = _histogram_field(sc, key)
        if sc.peek(2) != "}}" and sc.peek() not in _WS:
            raise sc.error(f"unexpected {sc.peek()!r} in histogram description")
        sc.skip_ws()
    sc.pos += 2
    return _build_histogram(desc), "counter_reset_hint" in desc


def _histogram_field(sc: _Scanner, key: str) -> object:
    if key in ("schema", "offset", "n_offset"):
        return sc.int()
    if key in ("sum", "count", "z_bucket"):
        return sc.signed_number()
    if key == "z_bucket_w":
        return sc.number()
    if key == "counter_reset_hint":
        w = _WORD.match(sc.text, sc.pos)
        if not w or w.group() not in COUNTER_RESET_HINTS:
            raise sc.error("counter_reset_hint must be one of unknown, reset, not_reset, gauge")
        sc.pos = w.end()
        return w.group()
    sc.expect("[")
    values: list[float] = []
    sc.skip_ws()
    while sc.peek() != "]":
        if sc.at_end():
            raise sc.error("unterminated bucket list")
        values.append(sc.signed_number())
        if sc.peek() not in _WS and sc.peek() != "]":
            raise sc.error(f"unexpected {sc.peek()!r} in bucket list")
        sc.skip_ws()
    sc.pos += 1
    if not values:
        raise sc.error(f"empty {key} list")
    return values


def _build_histogram(desc: dict[str, object]) -> FloatHistogram:
    def buckets(key: str, offset_key: str) -> dict[int, float]:
        counts = desc.get(key, [])
        offset = int(desc.get(offset_key, 0))  # type: ignore[call-overload]
        return {offset + i: float(c) for i, c in enumerate(counts)}  # type: ignore[arg-type]

    return FloatHistogram(
        schema=int(desc.get("schema", 0)),  # type: ignore[call-overload]
        sum=float(desc.get("sum", 0.0)),  # type: ignore[arg-type]
        count=float(desc.get("count", 0.0)),  # type: ignore[arg-type]
        zero_threshold=float(desc.get("z_bucket_w", 0.0)),  # type: ignore[arg-type]
        zero_count=float(desc.get("z_bucket", 0.0)),  # type: ignore[arg-type]
        positive=buckets("buckets", "offset"),
        negative=buckets("n_buckets", "n_offset"),
        custom_values=tuple(desc.get("custom_values", ())),  # type: ignore[arg-type]
        counter_reset_hint=str(desc.get("counter_reset_hint", "unknown")),
    )


# ---- start timestamps ----------------------------------------------------------------------

_ST_ITEM = re.compile(r"([+-]?)([0-9]+[a-wyzA-Z]*)")


def split_st_line(line: str) -> tuple[str, str] | None:
    """``(metric_part, sequence)`` of a start-timestamp line ``name{...}@st <items>``
    (``metric_part`` is empty for a standalone ``@st <items>`` default line), or ``None``
    when ``line`` is not one. As upstream, the first blank ends the metric part.

    >>> split_st_line('x{a="b"}@st _ -1m'), split_st_line("x 1 2")
    (('x{a="b"}', '_ -1m'), None)
    """
    m = re.search(r"[ \t]", line)
    if not m or not line[: m.start()].endswith("@st"):
        return None
    return line[: m.start() - 3], line[m.end() :].strip()


def parse_st_sequence(text: str) -> list[int | None]:
    """Start-timestamp offsets in ms relative to each sample (``None`` = no start
    timestamp): ``_``, ``_xN`` (N slots), ``*``/``*xN`` (repeat the last offset),
    ``<dur>``, ``<dur>xN`` (N+1), ``<dur>+<dur>xN`` / ``<dur>-<dur>xN`` (N+1, stepping).

    >>> parse_st_sequence("-59999msx1 * 1ms")
    [-59999, -59999, -59999, 1]
    """
    out: list[int | None] = []
    for item in text.split():
        prev = next((v for v in reversed(out) if v is not None), 0)
        out.extend(_st_item(item, prev))
    return out


def _st_item(item: str, prev: int) -> list[int | None]:
    def bad(reason: str) -> NotationError:
        return NotationError(f"invalid @st item {item!r}: {reason}")

    if item == "_":
        return [None]
    if item.startswith("_x"):
        if not item[2:].isdigit() or int(item[2:]) == 0:
            raise bad("invalid repeat count")
        return [None] * int(item[2:])
    if item == "*":
        return [prev]
    if item.startswith("*x"):
        if not item[2:].isdigit():
            raise bad("invalid repeat count")
        return [prev] * (int(item[2:]) + 1)
    base, rest = _st_duration(item, bad)
    if rest == "":
        return [base]
    if rest[0] == "x":
        if not rest[1:].isdigit():
            raise bad("invalid repeat count")
        return [base] * (int(rest[1:]) + 1)
    if rest[0] not in "+-":
        raise bad(f"unexpected character {rest[0]!r} after duration")
    delta, rest2 = _st_duration(rest, bad)
    if not rest2.startswith("x") or not rest2[1:].isdigit():
        raise bad("expected 'x<count>' after step duration")
    return [base + i * delta for i in range(int(rest2[1:]) + 1)]


def _st_duration(s: str, bad) -> tuple[int, str]:
    m = _ST_ITEM.match(s)
    if not m:
        raise bad("expected a duration")
    try:
        ms = parse_duration(m.group(2))
    except ParseError as e:
        raise bad(e.message) from None
    return (-ms if m.group(1) == "-" else ms), s[m.end() :]
