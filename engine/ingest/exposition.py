"""Prometheus text 0.0.4 and OpenMetrics 1.0, parsed as Prometheus 3.14's scraper does.

The byte-level work (tokens, syntax errors, numbers, the series-bytes cache) happens in
the numba kernel :mod:`engine.kernels.textscan`. This module does the label work, once
per distinct series of a target, exactly as ``scrape/scrape.go`` does it on a scrape-cache
miss:

- label values are unescaped (``\\\\``, ``\\"``, ``\\n``; other backslashes stay), quoted
  UTF-8 names are accepted, a label with an empty value is dropped;
- on ``histogram`` families ``le``, on ``summary`` families ``quantile``, is normalised
  (``normalizeFloatsInLabelValues``) under the most recent ``# TYPE`` line, in both
  formats; ``gaugehistogram`` is left alone, as upstream does;
- target labels are attached with ``honor_labels: false`` semantics (a clashing exposed
  label becomes ``exported_<name>``, repeatedly if that name is taken too), or with
  ``honor_labels: true`` (exposed labels win);
- a label set without ``__name__``, with an invalid (non UTF-8 or empty) name, or with a
  repeated label name fails the scrape, as the scrape loop and the head appender do.

Timestamps: text samples may carry integer milliseconds; OpenMetrics samples may carry
float seconds, turned into milliseconds with Go's ``int64(seconds * 1000)`` (truncation
of the float product). Prometheus' scraper and ``promtool tsdb create-blocks-from
openmetrics`` use the same parser, so both convert the same way.

``_created`` lines: Prometheus 3.14 only skips them when the ``created-timestamp``
(start-timestamp) zero-ingestion feature is on, which is off by default. By default they
are ordinary series in both formats, and so they are here.

Exemplars (OpenMetrics only) are kept with their labels exactly as exposed (Prometheus'
``Exemplar()`` does not unescape them); an exemplar without a timestamp takes its
sample's timestamp, as the scrape loop does.

:func:`parse_exposition` parses one exposition and returns its samples; the capture
replay uses :class:`TargetParser`, which keeps Prometheus' per-target scrape cache
(through :class:`engine.ingest.scrapeloop.ScrapeLoop`, whose kernel replays the
scrapes that need no label work without coming back to Python).

>>> body = b'# TYPE h histogram\\nh_bucket{le="1"} 3\\nh_bucket{le="+Inf"} 4 1700000000000\\n'
>>> e = parse_exposition(body)
>>> [lab["le"] for lab in e.labels], e.values.tolist(), e.timestamps.tolist()
(['1.0', '+Inf'], [3.0, 4.0], [-1, 1700000000000])
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from ..errors import IngestError
from ..gostrconv import unquote
from ..kernels.scrapeloop import LOOP_FIELDS, LOOP_GONE, LOOP_HONOR_TS, LOOP_ITER, LOOP_STAMP
from ..labels import Labels
from ..store import FamilyMeta
from .gofloat import normalize_label_float, parse_sample_float

__all__ = [
    "TEXT",
    "OPENMETRICS",
    "DUMP",
    "Exposition",
    "ParsedScrape",
    "TargetParser",
    "parse_exposition",
    "parse_series_labels",
    "raw_scan",
    "sniff_format",
]

#: format names (also the kernel's mode numbers, by position)
TEXT = "text"
OPENMETRICS = "openmetrics"
DUMP = "promtool-dump"
_MODES = {TEXT: 0, OPENMETRICS: 1, DUMP: 2}

_FLAG_TS = 1
_FLAG_DUP = 2
_FLAG_EX = 4
_MTYPES = (
    "unknown",
    "counter",
    "gauge",
    "histogram",
    "summary",
    "gaugehistogram",
    "info",
    "stateset",
)
_HISTOGRAM = 3
_SUMMARY = 4
_EXEMPLAR_MAX_LABEL_RUNES = 128  # exemplar.ExemplarMaxLabelSetLength


def sniff_format(data: bytes, name: str = "") -> str:
    """:data:`OPENMETRICS` for a ``.om`` name or a body whose last line is ``# EOF``;
    :data:`TEXT` otherwise (a capture has no Content-Type header; ``# EOF`` is what
    tells an OpenMetrics body apart)."""
    base = name.lower().removesuffix(".gz")
    if base.endswith(".om") or base.endswith(".om.txt"):
        return OPENMETRICS
    tail = data[-8:].rstrip(b"\n")
    if tail.endswith(b"# EOF") and (len(tail) == 5 or tail[-6:-5] == b"\n"):
        return OPENMETRICS
    return TEXT


# ---- errors ------------------------------------------------------------------------------


class _LabelError(Exception):
    """A series that the scrape loop refuses (carries Prometheus' reason)."""


def _where(data: bytes, pos: int) -> tuple[int, int]:
    pos = max(0, min(pos, len(data)))
    line = data.count(b"\n", 0, pos) + 1
    col = pos - (data.rfind(b"\n", 0, pos) + 1) + 1
    return line, col


def _q(b: bytes) -> str:
    return json.dumps(b.decode("utf-8", "replace"), ensure_ascii=False)


def _kernel_reason(data: bytes, code: int, pos: int, aux: int) -> str:
    from ..kernels.textscan import ERROR_NAMES

    phrase = ERROR_NAMES[code].format(kw=("HELP", "TYPE", "UNIT")[max(0, min(aux, 2))])
    line_start = data.rfind(b"\n", 0, pos) + 1
    end = data.find(b"\n", pos)
    end = len(data) if end < 0 else end
    tok_end = pos
    while tok_end < end and data[tok_end] not in b' \t{}=,"':
        tok_end += 1
    token = data[pos : max(tok_end, pos + 1)] if pos < len(data) else b""
    if code in (13, 14, 4, 17, 20, 24):  # the token is the whole value/word
        tok_end = pos
        while tok_end < end and data[tok_end] not in b" \t":
            tok_end += 1
        token = data[pos:tok_end]
        if code == 13:
            return f"strconv.ParseFloat: parsing {_q(token)}: invalid syntax"
        if code == 17:
            return f"strconv.ParseInt: parsing {_q(token)}: value out of range"
        if code == 4:
            return f"invalid metric type {_q(data[pos:end])}"
        return f"{phrase} {_q(token)}"
    if code in (18, 19):
        return phrase
    got = (
        "end of input"
        if pos >= len(data)
        else ("newline" if data[pos : pos + 1] == b"\n" else _q(token))
    )
    return f"{phrase}, got {got} while parsing: {_q(data[line_start : min(end, pos + 1)])}"


# ---- kernel state --------------------------------------------------------------------------


class _SeriesCache:
    """The kernel's hash table of series bytes -> slot, with its byte arena."""

    def __init__(self) -> None:
        self.st = np.array([0, 0, 0, -1], np.int64)  # n_slots, arena_used, scan_id, first
        self.ht = np.zeros(1024, np.int64)
        cap = 256
        self.slots = _slot_block(cap)  # offset, length, last scan id, successor, modes
        self.slot_hash = np.zeros(cap, np.uint64)
        self.arena = np.zeros(1 << 16, np.uint8)

    @property
    def n_slots(self) -> int:
        return int(self.st[0])

    def reserve(self, lines: int, nbytes: int) -> None:
        need = int(self.st[0]) + lines
        cap = len(self.slots)
        if need > cap:
            new = max(need, 2 * cap)
            grown = _slot_block(new)
            grown[:cap] = self.slots
            self.slots = grown
            self.slot_hash = _grow(self.slot_hash, new, 0)
        if 2 * need > len(self.ht):
            from ..kernels.seriescache import rehash

            size = len(self.ht)
            while size < 4 * need:
                size *= 2
            self.ht = np.zeros(size, np.int64)
            rehash(self.ht, self.slot_hash, int(self.st[0]))
        need_a = int(self.st[1]) + nbytes
        if need_a > len(self.arena):
            self.arena = _grow(self.arena, max(need_a, 2 * len(self.arena)), 0)

    def series_bytes(self, slot: int) -> bytes:
        off, ln = self.slots[slot, :2].tolist()
        return self.arena[off : off + ln].tobytes()


def _slot_block(cap: int) -> np.ndarray:
    block = np.zeros((cap, 5), np.int64)
    block[:, 2:4] = -1
    return block


def _grow(a: np.ndarray, n: int, fill: int) -> np.ndarray:
    out = np.full(n, fill, a.dtype)
    out[: len(a)] = a
    return out


class _Workspace:
    """Output arrays of the kernel, reused from one scan to the next."""

    def __init__(self) -> None:
        self.cap = 0
        self._alloc(1024)

    def _alloc(self, cap: int) -> None:
        self.cap = cap
        e = np.empty
        self.S = e((cap, 5), np.int64)  # slot, own ts, flags, metric type, line start
        self.S_val = e(cap, np.float64)
        self.M = e((cap, 7), np.int64)  # kind, line, name a/b, text a/b, samples before
        self.X = e((cap, 5), np.int64)  # sample, {...} a/b, ts, flags
        self.X_val = e(cap, np.float64)
        # up to four slow numbers per sample: value, timestamp, exemplar value and time
        self.W = e((4 * cap, 4), np.int64)  # entry, kind, a, b
        self.res = np.zeros(21, np.int64)

    def reserve(self, lines: int) -> None:
        if lines > self.cap:
            self._alloc(max(lines, 2 * self.cap))


@dataclass
class _Scan:
    """One kernel pass over a body, with the slow-path numbers resolved."""

    data: bytes
    ns: int
    nm: int
    nx: int
    err: tuple[int, int, str] | None  # (byte position, samples before it, reason)
    values: np.ndarray
    ts_own: np.ndarray
    xv: np.ndarray
    xt: np.ndarray
    mtype_end: int = 0


def _scan_arrays(cache: _SeriesCache, ws: _Workspace) -> tuple[np.ndarray, ...]:
    """The series cache's and the workspace's arrays, in the scanner's argument order."""
    return (
        cache.ht,
        cache.slots,
        cache.slot_hash,
        cache.arena,
        cache.st,
        ws.S,
        ws.S_val,
        ws.M,
        ws.X,
        ws.X_val,
        ws.W,
        ws.res,
    )


def line_room(body: np.ndarray) -> int:
    """Room for one scanned entry per line of ``body`` (its bytes as ``uint8``, ending
    in a newline), plus two: the scanning kernels do not check their bounds. A sample
    line takes at least 4 bytes (``a 1\\n``), so a body under 1 MiB reserves a quarter
    of its length; a larger one counts its newlines (numpy's compare and count, 3.4x
    faster than ``bytes.count``), which keeps the room, and the series cache sized from
    it, small.

    >>> line_room(np.frombuffer(b"a 1\\nb 2\\n", np.uint8))
    4
    """
    n = len(body)
    return n // 4 + 2 if n < 1 << 20 else int(np.count_nonzero(body == 10)) + 2


def _scan(data: bytes, fmt: str, cache: _SeriesCache, ws: _Workspace, mtype0: int = 0) -> _Scan:
    from ..kernels.textscan import scan_exposition

    mode = _MODES[fmt]
    if mode != 1 and not data.endswith(b"\n"):
        data = data + b"\n"  # Prometheus' text parser appends one too
    buf = np.frombuffer(data, np.uint8)
    lines = line_room(buf)
    cache.reserve(lines, len(data))
    ws.reserve(lines)
    mtype_end = scan_exposition(buf, mode, mtype0, *_scan_arrays(cache, ws))
    ns, nm, nx, nw, ecode, epos, eaux = ws.res[:7].tolist()
    err = (epos, ns, _kernel_reason(data, ecode, epos, eaux)) if ecode else None
    if ecode:
        # Go parses the failing line's numbers before it reaches the error; a number
        # out of range (or a NaN/Inf timestamp) there is the real error
        for k, kind in ((9, 0), (12, 1), (15, 2), (18, 3)):
            if ws.res[k]:
                a, b = int(ws.res[k + 1]), int(ws.res[k + 2])
                reason = _slow_error(data[a:b], kind)
                if reason is not None:
                    err = (a, ns, reason)
                    break
    sc = _Scan(
        data,
        ns,
        nm,
        nx,
        err,
        ws.S_val[:ns].copy(),
        ws.S[:ns, 1].copy(),
        ws.X_val[:nx].copy(),
        ws.X[:nx, 3].copy(),
    )
    sc.mtype_end = int(mtype_end)
    if nw:
        sc.err = _slow_numbers(sc, ws, nw)
    return sc


def _slow_error(token: bytes, kind: int) -> str | None:
    """Why a slow-path number fails in Go, or None when it parses."""
    try:
        f = parse_sample_float(token.decode("ascii"))
    except ValueError:
        return f"strconv.ParseFloat: parsing {_q(token)}: value out of range"
    if kind in (1, 3) and (f != f or f in (np.inf, -np.inf)):
        return (
            "invalid timestamp " if kind == 1 else "invalid exemplar timestamp "
        ) + token.decode()
    return None


def _slow_numbers(sc: _Scan, ws: _Workspace, nw: int):
    """Numbers the kernel left to Python (long mantissas, huge exponents)."""
    data, err = sc.data, sc.err
    w_entry, w_kind, w_a, w_b = ws.W.T
    x_sample = ws.X[:, 0]
    for k in range(nw):
        entry, kind = int(w_entry[k]), int(w_kind[k])
        a, b = int(w_a[k]), int(w_b[k])
        sample = entry if kind < 2 else int(x_sample[entry])
        if err is not None and sample >= err[1]:
            break
        text = data[a:b].decode("ascii")
        try:
            f = parse_sample_float(text)
        except ValueError:
            reason = f"strconv.ParseFloat: parsing {_q(data[a:b])}: value out of range"
            return _first(err, (a, sample, reason))
        if kind == 0:
            sc.values[entry] = f
        elif kind == 2:
            sc.xv[entry] = f
        else:
            if f != f or f in (np.inf, -np.inf):
                what = "invalid timestamp" if kind == 1 else "invalid exemplar timestamp"
                return _first(err, (a, sample, f"{what} {text}"))
            if kind == 1:
                sc.ts_own[entry] = _go_ms(f)
            else:
                sc.xt[entry] = _go_ms(f)
    return err


def raw_scan(data: bytes, fmt: str = TEXT):
    """The scanner's view of one body, for tests and debugging.

    Returns ``(samples, metas, error)``: ``samples`` holds ``(series_bytes, value_bits,
    ts_ms | None, exemplar)`` with ``exemplar`` ``(labels_bytes, value_bits, ts_ms |
    None)`` or None; ``metas`` holds ``(kind, name_bytes, text_bytes)`` (0 HELP, 1 TYPE,
    2 UNIT); ``error`` is ``(byte_position, samples_before)`` or None. Label text is not
    interpreted here.

    >>> raw_scan(b'a{b="c"} 1 7\\nd 2\\n')[0]
    [(b'a{b="c"}', 4607182418800017408, 7, None), (b'd', 4611686018427387904, None, None)]
    """
    cache, ws = _SeriesCache(), _Workspace()
    sc = _scan(data, fmt, cache, ws)
    n = sc.ns if sc.err is None else sc.err[1]
    s_slot, s_flags = ws.S[:, 0], ws.S[:, 2]
    x_sample, x_a, x_b, _, x_flags = ws.X.T
    exemplars = {}
    for k in range(sc.nx):
        ts = int(sc.xt[k]) if x_flags[k] & _FLAG_TS else None
        exemplars[int(x_sample[k])] = (sc.data[x_a[k] : x_b[k]], _bits(sc.xv[k]), ts)
    samples = []
    for i in range(n):
        ts = int(sc.ts_own[i]) if s_flags[i] & _FLAG_TS else None
        samples.append(
            (cache.series_bytes(int(s_slot[i])), _bits(sc.values[i]), ts, exemplars.get(i))
        )
    m_kind, m_pos, m_na, m_nb, m_ta, m_tb, _ = ws.M.T
    limit = len(sc.data) + 1 if sc.err is None else sc.err[0]
    metas = [
        (int(m_kind[k]), sc.data[m_na[k] : m_nb[k]], sc.data[m_ta[k] : m_tb[k]])
        for k in range(sc.nm)
        if m_pos[k] < limit
    ]
    return samples, metas, (None if sc.err is None else sc.err[:2])


def _bits(f: float) -> int:
    return int(np.array([f], np.float64).view(np.uint64)[0])


# ---- label parsing (once per distinct series) ----------------------------------------------

_ESCAPES = {b'\\"': b'"', b"\\\\": b"\\", b"\\n": b"\n"}


def _unreplace(b: bytes) -> bytes:
    """Prometheus' ``lvalReplacer``: ``\\"``, ``\\\\`` and ``\\n``; other escapes stay."""
    if b"\\" not in b:
        return b
    out = bytearray()
    i, n = 0, len(b)
    while i < n:
        if b[i] == 92 and i + 1 < n and b[i : i + 2] in _ESCAPES:
            out += _ESCAPES[b[i : i + 2]]
            i += 2
        else:
            out.append(b[i])
            i += 1
    return bytes(out)


def _is_lchar(c: int) -> bool:
    return 97 <= c <= 122 or 65 <= c <= 90 or 48 <= c <= 57 or c == 95


def _quoted(raw: bytes, i: int) -> int:
    """End (exclusive) of the quoted string at ``raw[i] == '"'`` (already validated)."""
    j = i + 1
    while raw[j] != 34:
        j += 2 if raw[j] == 92 else 1
    return j + 1


def _decode(b: bytes, what: str) -> str:
    try:
        return b.decode("utf-8")
    except UnicodeDecodeError:
        raise _LabelError(f"invalid UTF-8 {what}: {_q(b)}") from None


def parse_series_labels(raw: bytes, fmt: str = TEXT, mtype: int = 0) -> list[tuple[str, str]]:
    """Label pairs of the series bytes ``raw`` (name plus ``{...}``, already scanned).

    ``__name__`` comes first, then the labels in exposed order; ``le``/``quantile`` are
    normalised when ``mtype`` is histogram/summary. Raises ``ValueError`` when a value or
    name is not UTF-8.

    >>> parse_series_labels(b'x{"my.name"="a\\\\\\\\b",le="2"}', "text", 3)
    [('__name__', 'x'), ('my.name', 'a\\\\b'), ('le', '2.0')]
    """
    try:
        return _parse_series(raw, fmt, mtype)
    except _LabelError as e:
        raise ValueError(str(e)) from None


_QUOTED = rb'"([^"\\]*(?:\\.[^"\\]*)*)"'
# one label (or, without "=", the metric name inside the braces), already validated
_PAIR = re.compile(
    rb"[ \t]*(?:([a-zA-Z_][a-zA-Z0-9_]*)|" + _QUOTED + rb")[ \t]*"
    rb"(?:(=)[ \t]*" + _QUOTED + rb")?[ \t]*,?",
    re.S,
)
_NAME_START = re.compile(rb"[ \t]*([^ \t{]*)[ \t]*")


def _parse_series(raw: bytes, fmt: str, mtype: int) -> list[tuple[str, str]]:
    m = _NAME_START.match(raw)
    # Prometheus keeps a text line's leading blanks in the metric name
    name: str | None = raw[: m.end(1)].decode("ascii") if m.group(1) else None
    pos = m.end()
    if pos >= len(raw) or raw[pos] != 123:
        return [("__name__", name)] if name is not None else []
    items = _PAIR.findall(raw, pos + 1, len(raw) - 1)
    if fmt != DUMP and b"\\" not in raw and all(eq for _, _, eq, _ in items):
        # the common case: no escapes and no name inside the braces
        try:
            pairs = [((bare or q).decode(), v.decode()) for bare, q, _, v in items]
        except UnicodeDecodeError:
            pass
        else:
            if mtype == _HISTOGRAM or mtype == _SUMMARY:
                key = "le" if mtype == _HISTOGRAM else "quantile"
                pairs = [(k, normalize_label_float(v) if k == key else v) for k, v in pairs]
            return [("__name__", name), *pairs] if name is not None else pairs
    dump = fmt == DUMP
    pairs = []
    for bare, qname, eq, vraw in items:
        if not eq:
            # the metric name, written inside the braces (OpenMetrics also takes a bare
            # word there, minus its first and last character, as upstream does)
            name = _unquote_name(qname if not bare else bare[1:-1], dump)
            continue
        if dump:
            lname = _unquote_name(qname, True) if not bare else bare.decode("ascii")
            try:
                value = unquote(vraw.decode("utf-8"))
            except (UnicodeDecodeError, ValueError):
                raise _LabelError(f"invalid label value: {_q(vraw)}") from None
        else:
            value = _decode(_unreplace(vraw), "label value")
            lname = _unquote_name(qname, False) if not bare else bare.decode("ascii")
            if (mtype == _HISTOGRAM and lname == "le") or (
                mtype == _SUMMARY and lname == "quantile"
            ):
                value = normalize_label_float(value)
        pairs.append((lname, value))
    return [("__name__", name), *pairs] if name is not None else pairs


def _unquote_name(b: bytes, dump: bool) -> str:
    if dump:
        try:
            return unquote(b.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise _LabelError(f"invalid label name: {_q(b)}") from None
    return _decode(_unreplace(b), "metric or label name")


class _Builder:
    """Prometheus' ``labels.Builder`` over a base label list (duplicates kept)."""

    def __init__(self, base: Sequence[tuple[str, str]]) -> None:
        self.base = base
        self.dels = {k for k, v in base if v == ""}
        self.adds: dict[str, str] = {}

    def get(self, name: str) -> str:
        if name in self.adds:
            return self.adds[name]
        if name in self.dels:
            return ""
        for k, v in self.base:
            if k == name:
                return v
        return ""

    def set(self, name: str, value: str) -> None:
        if value == "":
            self.adds.pop(name, None)
            self.dels.add(name)
        else:
            self.dels.discard(name)
            self.adds[name] = value

    def labels(self) -> list[tuple[str, str]]:
        out = [(k, v) for k, v in self.base if k not in self.dels and k not in self.adds]
        out.extend(self.adds.items())
        out.sort(key=lambda kv: kv[0])
        return out


def apply_target_labels(
    pairs: Sequence[tuple[str, str]], target: Sequence[tuple[str, str]], honor_labels: bool
) -> Labels:
    """``mutateSampleLabels`` then the scrape loop's checks; returns the final label key.

    >>> target = [("instance", "i"), ("job", "j")]
    >>> apply_target_labels([("__name__", "m"), ("job", "x")], target, False)
    (('__name__', 'm'), ('exported_job', 'x'), ('instance', 'i'), ('job', 'j'))
    """
    names = {k for k, _ in pairs}
    if (
        len(names) == len(pairs)
        and "" not in names
        and not names.intersection(k for k, _ in target)
    ):
        # the common case: nothing to rename or reject; an empty value is no label
        kept = [kv for kv in pairs if kv[1]]
        if not any(k == "__name__" for k, _ in kept):
            raise _LabelError("missing metric name (__name__ label)")
        return tuple(sorted([*kept, *target]))
    base = sorted(pairs, key=lambda kv: kv[0])
    b = _Builder(base)
    if honor_labels:
        have = {k for k, _ in base}
        for k, v in target:
            if k not in have:
                b.set(k, v)
    else:
        conflicts = []
        for k, v in target:
            existing = next((bv for bk, bv in base if bk == k), "")  # Labels.Get
            if existing != "":
                conflicts.append((k, existing))
            b.set(k, v)
        conflicts.sort(key=lambda kv: len(kv[0]))
        for k, v in conflicts:
            new = k
            while True:
                new = "exported_" + new
                if b.get(new) == "":
                    b.set(new, v)
                    break
    out = b.labels()
    names = [k for k, _ in out]
    if "__name__" not in names:
        raise _LabelError("missing metric name (__name__ label)")
    if any(k == "" for k in names):
        raise _LabelError(f"invalid metric name or label names: {_fmt(out)}")
    for a, c in zip(names, names[1:], strict=False):
        if a == c:
            raise _LabelError(f'label name "{a}" is not unique: invalid sample')
    return tuple(out)


def _fmt(pairs: Sequence[tuple[str, str]]) -> str:
    return "{" + ", ".join(f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in pairs) + "}"


def _exemplar_labels(raw: bytes) -> dict[str, str]:
    """Labels of an exemplar's ``{...}`` bytes, as exposed (no unescaping, like upstream)."""
    out: dict[str, str] = {}
    i, n = 1, len(raw)
    while i < n and raw[i] != 125:
        tok = i
        if raw[i] == 34:
            i = _quoted(raw, i)
            name = raw[tok + 1 : i - 1]
        else:
            while _is_lchar(raw[i]):
                i += 1
            name = raw[tok:i]
        i += 1  # '='
        j = _quoted(raw, i)
        val = raw[i + 1 : j - 1]
        i = j
        if raw[i] == 44:
            i += 1
        out[name.decode("utf-8", "replace")] = _decode(val, "label value")
    return out


# ---- one target's scrapes ------------------------------------------------------------------


@dataclass
class ParsedScrape:
    """What one scrape contributed (see :meth:`TargetParser.parse`).

    ``ok`` is false when the scrape failed; ``error`` then says where and why, and
    nothing may be stored. The ``n_read`` samples read before the error (all, on
    success) are described by ``sids`` (target-local series ids), ``ts`` (ms: own
    timestamp or scrape time), ``values``, ``flags`` and ``keep`` (false for a repeated
    series without its own timestamp, which the scrape loop drops). ``kept_*`` are the
    samples to store. ``tracked`` holds, once each, the series read without their own
    timestamp: the set Prometheus compares with the previous scrape for stale markers.
    """

    ok: bool
    error: IngestError | None
    tracked: np.ndarray
    sids: np.ndarray
    ts: np.ndarray
    values: np.ndarray
    flags: np.ndarray
    keep: np.ndarray
    kept_sids: np.ndarray
    kept_ts: np.ndarray
    kept_values: np.ndarray
    honor_timestamps: bool = True
    n_read: int = 0
    mtype_end: int = 0
    ex_samples: list[int] = field(default_factory=list)
    ex_sids: list[int] = field(default_factory=list)
    ex_ts: list[int] = field(default_factory=list)
    ex_values: list[float] = field(default_factory=list)
    ex_labels: list[dict[str, str]] = field(default_factory=list)

    @property
    def has_ts(self) -> np.ndarray:
        """Which samples carry their own (honoured) timestamp."""
        if not self.honor_timestamps:
            return np.zeros(len(self.flags), bool)
        return (self.flags & _FLAG_TS) != 0

    @property
    def dup(self) -> np.ndarray:
        """Which samples repeat series bytes seen earlier in the same scrape."""
        return (self.flags & _FLAG_DUP) != 0


class TargetParser:
    """Parses the scrapes of one target with Prometheus' scrape cache semantics.

    Series are numbered per target (``keys[i]`` is the final label key of local id
    ``i``); label text is parsed on a cache miss only. The cache is flushed as
    ``scrapeCache.iterDone`` does: after every successful non-empty scrape, entries not
    seen in it are forgotten (so a series that comes back is parsed again, under the
    ``# TYPE`` then in force).
    """

    def __init__(
        self,
        target_labels: Mapping[str, str] | None = None,
        *,
        honor_labels: bool = False,
        honor_timestamps: bool = True,
    ) -> None:
        # Prometheus never keeps an empty target label
        self.target = sorted((k, v) for k, v in (target_labels or {}).items() if v != "")
        self.honor_labels = honor_labels
        self.honor_timestamps = honor_timestamps
        self._cache = _SeriesCache()
        self._ws = _Workspace()
        self._slot_sid = np.full(0, -1, np.int64)
        self._slot_iter = np.full(0, -1, np.int64)
        #: scrape-loop state shared with :func:`~engine.kernels.scrapeloop.replay_scanned`
        #: (its ``LOOP_*`` fields: cache iteration, stamps, ...)
        self.loop = np.zeros(LOOP_FIELDS, np.int64)
        self.loop[LOOP_HONOR_TS] = honor_timestamps
        self.keys: list[Labels] = []
        self._key_ids: dict[Labels, int] = {}
        self.metadata: dict[str, FamilyMeta] = {}
        self._meta_parsed: dict[bytes, tuple[str, int, str]] = {}
        self._meta_current: dict[tuple[str, int], str] = {}
        self._last_exemplar: dict[int, tuple[int, float, tuple]] = {}
        self._stamp = np.zeros(0, np.int64)
        self._gone = np.zeros(0, np.int64)

    # -- the scrape cache's iteration counter, for empty scrapes -----------------------------
    def empty_scrape(self) -> None:
        """An empty body (or a failed fetch): only the iteration advances."""
        self.loop[LOOP_ITER] += 1

    def parse(
        self, data: bytes, fmt: str, t_ms: int, file: str = "", mtype0: int = 0
    ) -> ParsedScrape:
        """Parse one non-empty scrape body taken at ``t_ms`` (unix ms).

        ``mtype0`` is the metric type in force at the start (for a body cut in pieces:
        :attr:`ParsedScrape.mtype_end` of the previous piece).
        """
        from ..kernels.scrapeloop import scrape_bookkeeping

        sc = _scan(data, fmt, self._cache, self._ws, mtype0)
        data, ns, nm, nx, err = sc.data, sc.ns, sc.nm, sc.nx, sc.err
        ws = self._ws
        S = ws.S
        n_slots = self._cache.n_slots
        if len(self._slot_sid) < n_slots:
            grow = max(n_slots, 2 * len(self._slot_sid))
            self._slot_sid = _grow(self._slot_sid, grow, -1)
            self._slot_iter = _grow(self._slot_iter, grow, -1)
        if nm:
            err = self._check_metadata(data, ws, nm, err)
        cut = ns if err is None else err[1]
        ex_labels: list[dict[str, str]] = []
        if nx:
            # exemplar label values must be UTF-8 (a parse error otherwise)
            x_sample, x_a, x_b = ws.X[:, 0], ws.X[:, 1], ws.X[:, 2]
            for k in range(nx):
                si = int(x_sample[k])
                if si >= cut:
                    break
                try:
                    ex_labels.append(_exemplar_labels(data[x_a[k] : x_b[k]]))
                except _LabelError as e:
                    err = _first(err, (int(x_a[k]), si, str(e)))
                    cut = err[1]
                    break
        out = self._out(cut)
        stamp = self._stamp_array()
        while True:
            self.loop[LOOP_STAMP] += 1
            nk, nt = scrape_bookkeeping(
                S,
                sc.values,
                sc.ts_own,
                cut,
                self._slot_sid,
                self._slot_iter,
                self.loop[LOOP_ITER],
                self.honor_timestamps,
                t_ms,
                err is None,
                n_slots,
                stamp,
                self.loop[LOOP_STAMP],
                *out,
            )
            if nk >= 0:
                break
            # label work for the series the scrape cache does not hold, in line order
            for i in out[0][:-nk].tolist():
                try:
                    self._slot_sid[S[i, 0]] = self._resolve(int(S[i, 0]), fmt, int(S[i, 3]))
                except _LabelError as e:
                    err = _first(err, (int(S[i, 4]), i, str(e)))
                    cut = err[1]
                    break
            stamp = self._stamp_array()  # new series may have grown it
        ok = err is None  # on success the kernel also flushed the cache (iterDone(true))
        if nm:
            self._apply_metadata(data, ws, nm, fmt, len(data) + 1 if ok else err[0])
        sid, ts, keep, kept, kept_ts, kept_val, tracked = out
        error = None
        if not ok:
            line, col = _where(data, err[0])
            error = IngestError(err[2], file or None, line, col)
        parsed = ParsedScrape(
            ok=ok,
            error=error,
            tracked=tracked[:nt].copy(),
            sids=sid[:cut],
            ts=ts[:cut],
            values=sc.values[:cut],
            flags=S[:cut, 2].copy(),
            keep=keep[:cut],
            kept_sids=kept[:nk],
            kept_ts=kept_ts[:nk],
            kept_values=kept_val[:nk],
            honor_timestamps=self.honor_timestamps,
            n_read=cut,
            mtype_end=sc.mtype_end,
        )
        if ok and ex_labels:
            x_sample, x_flags = ws.X[:, 0], ws.X[:, 4]
            for k in range(len(ex_labels)):
                si = int(x_sample[k])
                if keep[si]:
                    self._exemplar(
                        parsed,
                        si,
                        int(sid[si]),
                        int(ts[si]),
                        x_flags[k],
                        sc.xt[k],
                        sc.xv[k],
                        ex_labels[k],
                    )
        self.loop[LOOP_ITER] += 1
        return parsed

    def _out(self, n: int) -> tuple[np.ndarray, ...]:
        """Fresh output arrays for :func:`~engine.kernels.scrapeloop.scrape_bookkeeping`
        (fresh: a :class:`ParsedScrape` keeps views of them)."""
        e = np.empty
        return (
            e(n, np.int64),
            e(n, np.int64),
            e(n, bool),
            e(n, np.int64),
            e(n, np.int64),
            e(n, np.float64),
            e(n, np.int64),
        )

    def missing(self, prev: np.ndarray, cur: np.ndarray) -> np.ndarray:
        """The ids of ``prev`` that are not in ``cur`` (both distinct local ids)."""
        if len(prev) == 0:
            return prev
        from ..kernels.scrapeloop import missing_ids

        if len(self._gone) < len(self.keys):
            self._gone = _grow(self._gone, max(len(self.keys), 2 * len(self._gone)), 0)
        self.loop[LOOP_GONE] += 1
        out = np.empty(len(prev), np.int64)
        return out[: missing_ids(prev, cur, self._gone, self.loop[LOOP_GONE], out)]

    def reserve(self, rows: int, nbytes: int) -> bool:
        """Room for a scan of ``nbytes`` bytes in ``rows`` rows that may add as many new
        series (see :func:`~engine.kernels.textscan.scan_exposition`), and stamps for
        every series; returns whether arrays of :meth:`kernel_arrays` were replaced."""
        cache, ws = self._cache, self._ws
        need = cache.n_slots + rows
        keys = len(self.keys)
        if (
            need <= len(cache.slots)
            and 2 * need <= len(cache.ht)
            and int(cache.st[1]) + nbytes <= len(cache.arena)
            and rows <= ws.cap
            and need <= len(self._slot_sid)
            and keys <= len(self._gone)
            and keys <= len(self._stamp)
        ):
            return False
        cache.reserve(rows, nbytes)
        ws.reserve(rows)
        if len(self._slot_sid) < need:
            grow = max(need, 2 * len(self._slot_sid))
            self._slot_sid = _grow(self._slot_sid, grow, -1)
            self._slot_iter = _grow(self._slot_iter, grow, -1)
        if len(self._gone) < keys:
            self._gone = _grow(self._gone, max(keys, 2 * len(self._gone)), 0)
        self._stamp_array()
        return True

    def kernel_arrays(self) -> tuple[np.ndarray, ...]:
        """The arrays the scrape kernels work on: series cache (``ht``, ``slots``,
        ``slot_hash``, ``arena``, ``st``), workspace (``S``, ``S_val``, ``M``, ``X``,
        ``X_val``, ``W``, ``res``), scrape cache (``slot_sid``, ``slot_iter``), stamps
        (``stamp``, ``gone``) and :attr:`loop`; valid until :meth:`reserve` or
        :meth:`parse` replaces one."""
        return (
            *_scan_arrays(self._cache, self._ws),
            self._slot_sid,
            self._slot_iter,
            self._stamp,
            self._gone,
            self.loop,
        )

    def meta_lines(self, data: bytes) -> bytes:
        """The HELP/TYPE/UNIT lines of the last scan of ``data``, each ended by a newline
        (what :func:`~engine.kernels.scrapeloop.replay_scrapes` compares scrapes by)."""
        ws = self._ws
        nm = int(ws.res[1])
        starts, ends = ws.M[:nm, 1].tolist(), ws.M[:nm, 5].tolist()
        return b"".join(data[a:b] + b"\n" for a, b in zip(starts, ends, strict=True))

    def _stamp_array(self) -> np.ndarray:
        if len(self._stamp) < len(self.keys):
            self._stamp = _grow(self._stamp, max(len(self.keys), 2 * len(self._stamp)), 0)
        return self._stamp

    # -- helpers ---------------------------------------------------------------------------
    def _resolve(self, slot: int, fmt: str, mtype: int) -> int:
        pairs = _parse_series(self._cache.series_bytes(slot), fmt, mtype)
        key = apply_target_labels(pairs, self.target, self.honor_labels)
        lid = self._key_ids.get(key)
        if lid is None:
            lid = self._key_ids[key] = len(self.keys)
            self.keys.append(key)
        return lid

    def _check_metadata(self, data, ws, nm, err):
        """HELP text must be UTF-8 (a parse error otherwise)."""
        m_kind, m_pos, _, _, m_ta, m_tb, m_sample = ws.M.T
        for k in range(nm):
            pos = int(m_pos[k])
            if err is not None and pos >= err[0]:
                break
            if m_kind[k] != 0:
                continue
            raw = data[pos : int(m_tb[k])]
            if raw in self._meta_parsed:
                continue
            text = data[m_ta[k] : m_tb[k]]
            try:
                text.decode("utf-8")
            except UnicodeDecodeError:
                return _first(
                    err, (pos, int(m_sample[k]), f"help text {_q(text)} is not a valid utf8 string")
                )
        return err

    def _apply_metadata(self, data, ws, nm, fmt, limit):
        """``scrapeCache.setType/setHelp/setUnit`` for the lines before ``limit``."""
        m_kind, m_pos, m_na, m_nb, m_ta, m_tb, _ = ws.M.T
        parsed, current = self._meta_parsed, self._meta_current
        for k in range(nm):
            pos = int(m_pos[k])
            if pos >= limit:
                break
            raw = data[pos : int(m_tb[k])]
            entry = parsed.get(raw)
            if entry is None:
                kind = int(m_kind[k])
                name = data[m_na[k] : m_nb[k]].decode("utf-8", "replace")
                text = data[m_ta[k] : m_tb[k]].decode("utf-8", "replace")
                if kind == 0 and "\\" in text:
                    text = _unescape_help(text, fmt == OPENMETRICS)
                elif kind == 1 and text == "untyped":
                    text = "unknown"
                entry = (name, kind, text)
                if len(parsed) < 100_000:
                    parsed[raw] = entry
            name, kind, text = entry
            if current.get((name, kind)) == text:
                continue
            current[(name, kind)] = text
            prev = self.metadata.get(name, FamilyMeta())
            if kind == 0:
                self.metadata[name] = FamilyMeta(prev.type, text, prev.unit)
            elif kind == 1:
                self.metadata[name] = FamilyMeta(text, prev.help, prev.unit)
            else:
                self.metadata[name] = FamilyMeta(prev.type, prev.help, text)

    def _exemplar(self, parsed, si, sid, sample_ts, flags, ts, value, labels) -> None:
        if sum(len(k) + len(v) for k, v in labels.items()) > _EXEMPLAR_MAX_LABEL_RUNES:
            return  # storage.ErrExemplarLabelLength: dropped, the sample stays
        t = int(ts) if flags & _FLAG_TS else sample_ts
        v = float(value)
        lab = tuple(sorted(labels.items()))
        last = self._last_exemplar.get(sid)
        if last is not None:
            lt, lv, llab = last
            same_v = (v == lv) or (v != v and lv != lv)
            if (t, lab) == (lt, llab) and same_v:
                return  # a duplicate of the newest exemplar: a no-op upstream
            if t < lt or (t == lt and v < lv):
                return  # out of order
        self._last_exemplar[sid] = (t, v, lab)
        parsed.ex_samples.append(si)
        parsed.ex_sids.append(sid)
        parsed.ex_ts.append(t)
        parsed.ex_values.append(v)
        parsed.ex_labels.append(dict(lab))


def _first(err, cand):
    return cand if err is None or cand[0] < err[0] else err


def _go_ms(f: float) -> int:
    """Go's ``int64(f * 1000)`` on amd64 (out of range -> the minimum int64)."""
    x = f * 1000.0
    if not (-9223372036854775808.0 <= x < 9223372036854775808.0):
        return -(2**63)
    return int(x)


def _unescape_help(s: str, om: bool) -> str:
    """``helpReplacer`` (text: ``\\\\`` and ``\\n``) or ``lvalReplacer`` (OpenMetrics)."""
    table = {"\\\\": "\\", "\\n": "\n"}
    if om:
        table['\\"'] = '"'
    out, i = [], 0
    while i < len(s):
        two = s[i : i + 2]
        if two in table:
            out.append(table[two])
            i += 2
        else:
            out.append(s[i])
            i += 1
    return "".join(out)


# ---- one exposition, for tests and single files --------------------------------------------


@dataclass
class Exposition:
    """The samples of one exposition, in line order (duplicates included).

    ``timestamps`` holds each line's own timestamp in ms, or -1 when it has none (see
    ``has_timestamp``). ``exemplars`` lists ``(sample index, labels, value, ts_ms)``.
    """

    labels: list[dict[str, str]]
    values: np.ndarray
    timestamps: np.ndarray
    has_timestamp: np.ndarray
    metadata: dict[str, FamilyMeta]
    exemplars: list[tuple[int, dict[str, str], float, int]]


def parse_exposition(
    data: bytes,
    fmt: str | None = None,
    *,
    file: str = "",
    target_labels: Mapping[str, str] | None = None,
) -> Exposition:
    """Parse one exposition (format sniffed when ``fmt`` is None); raise
    :class:`~engine.errors.IngestError` naming file, line and column on bad input.

    >>> parse_exposition(b'm{a="1"} 2\\n# EOF\\n').labels
    [{'__name__': 'm', 'a': '1'}]
    """
    fmt = fmt or sniff_format(data, file)
    tp = TargetParser(target_labels)
    if not data:
        return Exposition([], np.zeros(0), np.zeros(0, np.int64), np.zeros(0, bool), {}, [])
    p = tp.parse(data, fmt, -1, file)
    if not p.ok:
        assert p.error is not None
        raise p.error
    keys = tp.keys
    ex = list(zip(p.ex_samples, p.ex_labels, p.ex_values, p.ex_ts, strict=True))
    has_ts = p.has_ts
    return Exposition(
        labels=[dict(keys[s]) for s in p.sids.tolist()],
        values=p.values,
        timestamps=np.where(has_ts, p.ts, -1),
        has_timestamp=has_ts,
        metadata=dict(tp.metadata),
        exemplars=ex,
    )
