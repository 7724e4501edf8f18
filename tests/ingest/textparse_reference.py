"""A naive, line-by-token reference parser for the kernel in ``engine.kernels.textscan``.

It is a direct transliteration of prometheus/prometheus ``model/textparse`` (3.x): the
lexers' rules, per start state, written as regular expressions (longest match, earlier
rule on ties), and the parsers' ``Next()``/``parseLVals``/``parseMetricSuffix`` /
``parseSeriesEndOfLine``/``parseComment`` control flow. It is slow and simple on purpose
and shares no code with the kernel. NUL bytes are out of its scope (the property tests
do not generate them).

``reference_parse(data, mode)`` returns ``(samples, metas, error)``:

- ``samples``: ``(series_bytes, value_bits, ts_ms | None, exemplar)`` per sample line;
  ``exemplar`` is ``(labels_bytes, value_bits, ts_ms | None)`` or None;
- ``metas``: ``(kind, name_bytes, text_bytes)`` with kind 0 HELP, 1 TYPE, 2 UNIT;
- ``error``: ``(byte_position, samples_read_before)`` or None.
"""

from __future__ import annotations

import math
import re
import struct

TEXT, OM = 0, 1

_M = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
_L = r"[a-zA-Z_][a-zA-Z0-9_]*"
_QS_NL = rb'"(?:\\[^\n\x00]|[^\\"\x00])*"'  # a raw newline is allowed
_QS = rb'"(?:\\[^\n\x00]|[^\\"\n\x00])*"'  # no raw newline

# text lexer: state -> [(regex, token, new_state)]
_TEXT_RULES = {
    "init": [
        (rb"\n", "LINEBREAK", "init"),
        (rb"[ \t]+", "WS", None),
        (rb"#[ \t]+", "#COMMENTSTATE", "comment"),
        (rb"#", "#CONSUME", None),
        (_M.encode(), "MNAME", "value"),
        (rb"\{", "BOPEN", "labels"),
    ],
    "comment": [
        (rb"HELP[\t ]+", "HELP", "meta1"),
        (rb"TYPE[\t ]+", "TYPE", "meta1"),
        (rb"[ \t]+", "WS", None),
    ],
    "meta1": [
        (_QS_NL, "MNAME", "meta2"),
        (_M.encode(), "MNAME", "meta2"),
        (rb"[ \t]+", "WS", None),
    ],
    "meta2": [
        (rb"[ \t]+", "WS", None),
        (rb"[^\n\x00]*", "TEXT", "init"),
    ],
    "labels": [
        (_L.encode(), "LNAME", None),
        (_QS_NL, "QSTRING", "labels"),
        (rb"\}", "BCLOSE", "value"),
        (rb"=", "EQUAL", "lvalue"),
        (rb",", "COMMA", None),
        (rb"[ \t]+", "WS", None),
    ],
    "lvalue": [
        (_QS_NL, "LVALUE", "labels"),
        (rb"[ \t]+", "WS", None),
    ],
    "value": [
        (rb"\{", "BOPEN", "labels"),
        (rb"[^{ \t\n\x00]+", "VALUE", "timestamp"),
        (rb"[ \t]+", "WS", None),
    ],
    "timestamp": [
        (rb"[0-9]+", "TIMESTAMP", None),
        (rb"\n", "LINEBREAK", "init"),
        (rb"[ \t]+", "WS", None),
    ],
}

_OM_RULES = {
    "init": [
        (rb"# ", "#COMMENTSTATE", "comment"),
        (_M.encode(), "MNAME", "value"),
        (rb"\{", "BOPEN", "labels"),
    ],
    "comment": [
        (rb"HELP ", "HELP", "meta1"),
        (rb"TYPE ", "TYPE", "meta1"),
        (rb"UNIT ", "UNIT", "meta1"),
        (rb"EOF\n?", "EOFWORD", "init"),
    ],
    "meta1": [
        (_QS_NL, "MNAME", "meta2"),
        (_M.encode(), "MNAME", "meta2"),
    ],
    "meta2": [(rb" [^\n\x00]*\n", "TEXT", "init")],
    "labels": [
        (_L.encode(), "LNAME", None),
        (_QS_NL, "QSTRING", "labels"),
        (rb"\}", "BCLOSE", "value"),
        (rb"=", "EQUAL", "lvalue"),
        (rb",", "COMMA", None),
    ],
    "lvalue": [(_QS, "LVALUE", "labels")],
    "value": [
        (rb" [^ \n\x00]+", "VALUE", "timestamp"),
        (rb"\{", "BOPEN", "labels"),
    ],
    "timestamp": [
        (rb" [^ \n\x00]+", "TIMESTAMP", None),  # but not " # {" nor a token starting "c"...
        (rb"\n", "LINEBREAK", "init"),
        (rb" # \{", "COMMENT", "exemplar"),
    ],
    "exemplar": [
        (_L.encode(), "LNAME", None),
        (_QS, "QSTRING", "exemplar"),
        (rb"\}", "BCLOSE", "evalue"),
        (rb"=", "EQUAL", "evalue"),
        (rb",", "COMMA", None),
    ],
    "evalue": [
        (_QS, "LVALUE", "exemplar"),
        (rb" [^ \n\x00]+", "VALUE", "etimestamp"),
    ],
    "etimestamp": [
        (rb" [^ \n\x00]+", "TIMESTAMP", None),
        (rb"\n", "LINEBREAK", "init"),
    ],
}

_COMPILED = {
    TEXT: {k: [(re.compile(r), t, s) for r, t, s in v] for k, v in _TEXT_RULES.items()},
    OM: {k: [(re.compile(r), t, s) for r, t, s in v] for k, v in _OM_RULES.items()},
}


class _Err(Exception):
    def __init__(self, pos: int) -> None:
        self.pos = pos


class _Lexer:
    def __init__(self, b: bytes, mode: int) -> None:
        self.b = b
        self.i = 0
        self.start = 0
        self.state = "init"
        self.rules = _COMPILED[mode]
        self.mode = mode

    def lex(self) -> str:
        self.start = self.i  # not reset after "# ": golex jumps back without resetting it
        while True:
            if self.i >= len(self.b):
                return "EOF"
            if (
                self.mode == OM
                and self.state == "timestamp"
                and self.b[self.i : self.i + 3] == b" # "
                and self.b[self.i + 3 : self.i + 4] != b"{"
            ):
                return "INVALID"  # golex does not fall back to the shorter " #" token
            best = None
            for rx, tok, new in self.rules[self.state]:
                m = rx.match(self.b, self.i)
                if m and (best is None or m.end() > best[0].end()):
                    best = (m, tok, new)
            if best is None or best[0].end() == self.i and best[1] != "TEXT":
                if self.mode == TEXT and self.state == "comment":
                    return self._consume_comment()
                return "INVALID"
            m, tok, new = best
            self.i = m.end()
            if new is not None:
                self.state = new
            if tok == "#COMMENTSTATE":
                continue
            if tok == "#CONSUME":
                return self._consume_comment()
            return tok

    def _consume_comment(self) -> str:
        j = self.b.find(b"\n", self.i)
        self.i = len(self.b) if j < 0 else j
        self.state = "init"
        return "COMMENT"

    def buf(self) -> bytes:
        return self.b[self.start : self.i]


def _go_float(s: bytes) -> float:
    """Go ``strconv.ParseFloat`` + Prometheus' ``pP_`` guard, written independently."""
    t = s.decode("latin-1")
    if any(c in t for c in "pP_"):
        raise ValueError
    low = t.lower()
    if re.fullmatch(r"[+-]?(inf|infinity)", low):
        return -math.inf if low.startswith("-") else math.inf
    if low == "nan":
        return struct.unpack("<d", struct.pack("<Q", 0x7FF8000000000001))[0]
    if not re.fullmatch(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?", t):
        raise ValueError
    f = float(t)
    if math.isinf(f):
        raise ValueError
    return f


def _bits(f: float) -> int:
    return struct.unpack("<Q", struct.pack("<d", f))[0]


def _ms(f: float) -> int:
    x = f * 1000.0
    if not (-9223372036854775808.0 <= x < 9223372036854775808.0):
        return -(2**63)
    return int(x)


class _Parser:
    def __init__(self, b: bytes, mode: int) -> None:
        self.mode = mode
        self.l = _Lexer(b + b"\n" if mode == TEXT else b, mode)

    def tok(self) -> str:
        while True:
            t = self.l.lex()
            if self.mode == OM or t != "WS":
                return t

    def err(self) -> _Err:
        return _Err(self.l.start)

    def num_err(self) -> _Err:
        """An error in a number token: positioned on the number (OpenMetrics tokens
        include the blank before it)."""
        st = self.l.start
        return _Err(st + 1 if self.mode == OM and self.l.b[st : st + 1] == b" " else st)

    def lvals(self, name: bool = False, exemplar: bool = False) -> bool:
        """Returns whether a metric name is set once the braces are read."""
        t = self.tok()
        while True:
            if t == "BCLOSE":
                return name
            if t not in ("LNAME", "QSTRING"):
                raise self.err()
            quoted = t == "QSTRING"
            tok_start, tok_len = self.l.start, len(self.l.buf())
            t = self.tok()
            if t in ("COMMA", "BCLOSE") and (quoted or self.mode == OM):
                if exemplar:
                    raise self.err()
                if name:
                    raise _Err(tok_start)  # metric name already set
                if not quoted and tok_len < 2:
                    raise _Err(tok_start)  # upstream slices out of range (a panic)
                name = True
                if t == "BCLOSE":
                    return name
                t = self.tok()
                continue
            if t != "EQUAL":
                raise self.err()
            if self.tok() != "LVALUE":
                raise self.err()
            t = self.tok()
            if t == "COMMA":
                t = self.tok()
            elif self.mode == OM and t != "BCLOSE":
                raise self.err()

    def run(self):
        samples, metas = [], []
        try:
            while True:
                start = self.l.i
                t = self.tok()
                if t == "EOF":
                    if self.mode == OM:
                        raise _Err(self.l.i)
                    break
                if t == "LINEBREAK" and self.mode == TEXT:
                    continue
                if t == "COMMENT" and self.mode == TEXT:
                    if self.tok() != "LINEBREAK":
                        raise self.err()
                    continue
                if t == "EOFWORD":
                    if self.tok() != "EOF":
                        raise _Err(self.l.start)
                    break
                if t in ("HELP", "TYPE", "UNIT"):
                    kind = ("HELP", "TYPE", "UNIT").index(t)
                    if self.tok() != "MNAME":
                        raise self.err()
                    nb = self.l.buf()
                    if nb[:1] == b'"':
                        nb = nb[1:-1]
                    if self.tok() != "TEXT":
                        raise self.err()
                    raw = self.l.buf()
                    if self.mode == OM:
                        text = raw[1:-1]
                        text_pos = self.l.start + 1
                    else:
                        text = raw[1:] if len(raw) > 1 else b""
                        text_pos = self.l.start + 1 if len(raw) > 1 else self.l.i
                    if kind == 1:
                        ok = (
                            [b"counter", b"gauge", b"histogram", b"summary", b"untyped"]
                            if self.mode == TEXT
                            else [
                                b"counter",
                                b"gauge",
                                b"histogram",
                                b"gaugehistogram",
                                b"summary",
                                b"info",
                                b"stateset",
                                b"unknown",
                            ]
                        )
                        if text not in ok:
                            raise _Err(text_pos)
                    if (
                        kind == 2
                        and text
                        and not (
                            nb.endswith(text)
                            and len(nb) >= len(text) + 1
                            and nb[len(nb) - len(text) - 1 : len(nb) - len(text)] == b"_"
                        )
                    ):
                        raise _Err(text_pos)
                    if self.mode == TEXT and self.tok() != "LINEBREAK":
                        raise self.err()
                    metas.append((kind, nb, text))
                    continue
                if t in ("MNAME", "BOPEN"):
                    has_name = t == "MNAME"
                    series_end = self.l.i
                    if t == "BOPEN":
                        has_name = self.lvals()
                        series_end = self.l.i
                        t2 = self.tok()
                    else:
                        t2 = self.tok()
                        if t2 == "BOPEN":
                            self.lvals(name=True)
                            series_end = self.l.i
                            t2 = self.tok()
                    series = self.l.b[start:series_end]
                    if not has_name:
                        raise _Err(start)
                    if t2 != "VALUE":
                        raise self.err()
                    vb = self.l.buf()[1:] if self.mode == OM else self.l.buf()
                    try:
                        v = _go_float(vb)
                    except ValueError:
                        raise self.num_err() from None
                    ts = None
                    ex = None
                    late = False
                    t3 = self.tok()
                    if self.mode == TEXT:
                        if t3 == "TIMESTAMP":
                            ts = int(self.l.buf())
                            if ts >= 2**63:
                                raise self.err()
                            if self.tok() != "LINEBREAK":
                                raise self.err()
                        elif t3 != "LINEBREAK":
                            raise self.err()
                    else:
                        if t3 == "EOF":
                            raise _Err(self.l.i)
                        if t3 == "TIMESTAMP":
                            try:
                                f = _go_float(self.l.buf()[1:])
                            except ValueError:
                                raise self.num_err() from None
                            if f != f or math.isinf(f):
                                raise self.num_err()
                            ts = _ms(f)
                            t4 = self.tok()
                            if t4 == "COMMENT":
                                ex = self.exemplar()
                            elif t4 != "LINEBREAK":
                                raise self.err()
                        elif t3 == "COMMENT":
                            ex = self.exemplar()
                        elif t3 != "LINEBREAK":
                            late = True  # no default case upstream: the sample stands
                    samples.append((series, _bits(v), ts, ex))
                    if late:
                        st = self.l.start
                        raise _Err(st + 1 if self.l.b[st : st + 1] == b" " else st)
                    continue
                raise self.err()
        except _Err as e:
            return samples, metas, (e.pos, len(samples))
        return samples, metas, None

    def exemplar(self):
        a = self.l.start + 3
        self.lvals(exemplar=True)
        lab = self.l.b[a : self.l.i]
        if self.tok() != "VALUE":
            raise self.err()
        try:
            v = _go_float(self.l.buf()[1:])
        except ValueError:
            raise self.num_err() from None
        ts = None
        t = self.tok()
        if t == "EOF":
            raise _Err(self.l.i)
        if t == "TIMESTAMP":
            try:
                f = _go_float(self.l.buf()[1:])
            except ValueError:
                raise self.num_err() from None
            if f != f or math.isinf(f):
                raise self.num_err()
            ts = _ms(f)
            if self.tok() != "LINEBREAK":
                raise self.err()
        elif t != "LINEBREAK":
            raise self.err()
        return (lab, _bits(v), ts)


def reference_parse(data: bytes, mode: int):
    """See the module docstring."""
    return _Parser(data, mode).run()
