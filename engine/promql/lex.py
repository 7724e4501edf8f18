"""The PromQL lexer: query text to a list of :class:`Token`.

It follows the state machine of Prometheus 3.14's ``promql/parser/lex.go`` closely, because
the lexer decides a good part of the language: which words are keywords (case-insensitive),
that ``fill``/``fill_left``/``fill_right`` are keywords only before ``(``, that the inside of
``{...}`` knows no keywords, that ``[...]`` holds a small duration-expression language, and
which error message (with which position) a malformed query gets. Positions are 0-based
character offsets.

The lexer never raises. A lexing error ends the token list with an ``ERROR`` token whose
``value`` is Prometheus' message and whose ``pos`` is where Prometheus reports it; the
parser raises it when it reaches that token, as Prometheus' parser does.

>>> [(t.kind, t.text) for t in tokenize('sum by (job) (rate(x{a="b"}[5m]))')][:6]
[('SUM', 'sum'), ('BY', 'by'), ('LPAREN', '('), ('IDENT', 'job'), ('RPAREN', ')'), ('LPAREN', '(')]
>>> tokenize('1 !~ 1')[-1]
Token(kind='ERROR', text='', pos=2, value="unexpected character after '!': '~'")
"""

from __future__ import annotations

import re
from typing import Any, NamedTuple

from ..gostrconv import quote as go_quote
from ..gostrconv import quote_rune as _quote_rune

__all__ = [
    "Token",
    "tokenize",
    "KEYWORDS",
    "AGGREGATORS",
    "go_quote",
    "go_quote_rune",
    "describe",
]


class Token(NamedTuple):
    """One token: ``kind`` (e.g. ``IDENT``, ``NUMBER``, ``ADD``, ``SUM``, ``ERROR``), the
    source ``text``, its start ``pos`` and, for strings and errors, a decoded ``value``."""

    kind: str
    text: str
    pos: int
    value: Any = None

    @property
    def end(self) -> int:
        return self.pos + len(self.text)


#: Aggregation operators (token kind is the upper-cased word).
AGGREGATORS = frozenset(
    "sum avg count min max group stddev stdvar topk bottomk count_values quantile limitk "
    "limit_ratio".split()
)

#: Every reserved word (lower-cased) and its token kind. ``inf``/``nan`` lex as numbers.
KEYWORDS: dict[str, str] = {
    "and": "LAND",
    "or": "LOR",
    "unless": "LUNLESS",
    "atan2": "ATAN2",
    **{a: a.upper() for a in AGGREGATORS},
    "offset": "OFFSET",
    "smoothed": "SMOOTHED",
    "anchored": "ANCHORED",
    "by": "BY",
    "without": "WITHOUT",
    "on": "ON",
    "ignoring": "IGNORING",
    "group_left": "GROUP_LEFT",
    "group_right": "GROUP_RIGHT",
    "fill": "FILL",
    "fill_left": "FILL_LEFT",
    "fill_right": "FILL_RIGHT",
    "bool": "BOOL",
    "start": "START",
    "end": "END",
    "step": "STEP",
    "range": "RANGE",
}

_FILL_KINDS = ("FILL", "FILL_LEFT", "FILL_RIGHT")
# Words allowed inside [...] before "(" (duration functions).
_DURATION_WORDS = {"step": "STEP", "range": "RANGE", "min_of": "MIN_OF", "max_of": "MAX_OF"}

_SPACE = " \t\n\r"
_SPACES = re.compile(r"[ \t\n\r]*")
_WORD_OR_COLON = re.compile(r"[A-Za-z0-9_:]*")
_WORD = re.compile(r"[A-Za-z0-9_]*")
_DIGITS = "0123456789"
_HEX = "0123456789abcdefABCDEF"


def _is_alpha(c: str) -> bool:
    return c == "_" or ("a" <= c <= "z") or ("A" <= c <= "Z")


def _is_digit(c: str) -> bool:
    return "0" <= c <= "9"


def _is_alnum(c: str) -> bool:
    return _is_alpha(c) or _is_digit(c)


# ---- Go-compatible quoting (strconv.QuoteRune), used in messages; Quote is gostrconv.quote ----

def go_quote_rune(c: str) -> str:
    """Go's ``%q`` of a rune: ``'x'``; ``''`` stands for end of input (Go prints U+FFFD)."""
    if c == "":
        return "'\ufffd'"
    return _quote_rune(c)


def _go_rune_u(c: str) -> str:
    """Go's ``%#U`` of a rune: ``U+0063 'c'`` (the quoted form only when printable)."""
    o = ord(c)
    head = f"U+{o:04X}"
    return f"{head} '{c}'" if c.isprintable() else head


# ---- token descriptions for "unexpected ..." messages (Item.desc in lex.go) ----

_PUNCT = {"LPAREN", "RPAREN", "LBRACE", "RBRACE", "LBRACKET", "RBRACKET", "COMMA", "EQL",
          "COLON", "SEMICOLON"}
_OPERATORS = {"ADD", "SUB", "MUL", "DIV", "MOD", "POW", "EQLC", "NEQ", "LTE", "LSS", "GTE",
              "GTR", "EQL_REGEX", "NEQ_REGEX", "AT", "ATAN2", "LAND", "LOR", "LUNLESS",
              "TRIM_UPPER", "TRIM_LOWER"}
_KEYWORD_KINDS = {"BOOL", "BY", "GROUP_LEFT", "GROUP_RIGHT", "IGNORING", "OFFSET", "ON",
                  "WITHOUT", "SMOOTHED", "ANCHORED", "FILL", "FILL_LEFT", "FILL_RIGHT"}
_TYPE_DESC = {"IDENT": "identifier", "METRIC_IDENT": "metric identifier", "STRING": "string",
              "NUMBER": "number", "DURATION": "duration"}


def _go_quote_prefix(s: str, n: int) -> str:
    return go_quote(s[:n])


def describe(tok: Token) -> str:
    """How Prometheus names a token in ``unexpected ...`` errors.

    >>> for t in tokenize('foo + by sum "a very long string" ( 5m )'):
    ...     print(describe(t))
    identifier "foo"
    <op:+>
    <by>
    <aggr:sum>
    string "\\"a very lo"...
    "("
    duration "5m"
    ")"
    end of input
    """
    k = tok.kind
    if k == "EOF":
        return "end of input"
    if k == "ERROR":
        return str(tok.value)
    text = tok.text
    if k in _TYPE_DESC:
        if k in ("IDENT", "METRIC_IDENT"):
            shown = go_quote(text)
        elif len(text) > 10:
            shown = _go_quote_prefix(text, 10) + "..."
        else:
            shown = go_quote(text)
        return f"{_TYPE_DESC[k]} {shown}"
    if k in _KEYWORD_KINDS:
        return f"<{text}>"
    if k in _OPERATORS:
        return f"<op:{text}>"
    if k.lower() in AGGREGATORS:
        return f"<aggr:{text}>"
    if len(text) > 10:
        return _go_quote_prefix(text, 10) + "..."
    return go_quote(text)


# ---- the lexer ----


class _Error(Exception):
    def __init__(self, message: str, pos: int) -> None:
        self.message = message
        self.pos = pos


class _Lexer:
    def __init__(self, text: str) -> None:
        self.s = text
        self.n = len(text)
        self.i = 0
        self.out: list[Token] = []
        self.paren_depth = 0
        self.brace_open = False
        self.bracket_open = False
        self.got_colon = False
        self.got_duration = False
        self.in_duration = False  # the lexDurationExpr state (right after "[")

    # -- helpers --
    def peek(self, k: int = 0) -> str:
        j = self.i + k
        return self.s[j] if j < self.n else ""

    def emit(self, kind: str, start: int, value: Any = None) -> None:
        self.out.append(Token(kind, self.s[start:self.i], start, value))

    def skip_spaces(self) -> None:
        self.i = _SPACES.match(self.s, self.i).end()

    def run(self) -> list[Token]:
        try:
            while True:
                if self.brace_open:
                    done = self.inside_braces()
                elif self.in_duration:
                    done = self.duration_expr()
                else:
                    done = self.statement()
                if done:
                    break
        except _Error as e:
            self.out.append(Token("ERROR", "", e.pos, e.message))
        return self.out

    # -- lexStatements --
    def statement(self) -> bool:
        s, start = self.s, self.i
        if s.startswith("#", start):
            self.comment()
            return False
        if start >= self.n:
            if self.paren_depth != 0:
                raise _Error("unclosed left parenthesis", start)
            if self.bracket_open:
                raise _Error("unclosed left bracket", start)
            self.emit("EOF", start)
            return True
        c = s[start]
        self.i += 1
        if c == ",":
            self.emit("COMMA", start)
        elif c in _SPACE:
            self.skip_spaces()
        elif c in "*/%+-^":
            self.emit({"*": "MUL", "/": "DIV", "%": "MOD", "+": "ADD", "-": "SUB", "^": "POW"}[c],
                      start)
        elif c == "=":
            t = self.peek()
            if t == "=":
                self.i += 1
                self.emit("EQLC", start)
            elif t == "~":
                raise _Error(f"unexpected character after '=': {go_quote_rune(t)}", start)
            else:
                self.emit("EQL", start)
        elif c == "!":
            t = self.peek()
            self.i += 1
            if t != "=":
                raise _Error(f"unexpected character after '!': {go_quote_rune(t)}", start)
            self.emit("NEQ", start)
        elif c in "<>":
            t = self.peek()
            if t == "=":
                self.i += 1
                self.emit("LTE" if c == "<" else "GTE", start)
            elif t == "/":  # histogram trim operators </ and >/
                self.i += 1
                self.emit("TRIM_UPPER" if c == "<" else "TRIM_LOWER", start)
            else:
                self.emit("LSS" if c == "<" else "GTR", start)
        elif _is_digit(c) or (c == "." and _is_digit(self.peek())):
            self.i = start
            self.number_or_duration()
        elif c in "\"'":
            self.string(start, c)
        elif c == "`":
            self.raw_string(start)
        elif _is_alpha(c) or c == ":":
            if not self.bracket_open:
                self.i = start
                self.keyword_or_identifier()
            elif c == ":":
                if self.got_colon:
                    raise _Error("unexpected colon ':'", start)
                self.emit("COLON", start)
                self.got_colon = True
            elif not self.duration_keyword(start):
                raise _Error(f"unexpected character: {go_quote_rune(c)}, expected ':'", start)
        elif c == "(":
            self.emit("LPAREN", start)
            self.paren_depth += 1
        elif c == ")":
            self.paren_depth -= 1
            if self.paren_depth < 0:
                raise _Error("unexpected right parenthesis ')'", self.i)
            self.emit("RPAREN", start)
        elif c == "{":
            self.emit("LBRACE", start)
            self.brace_open = True
        elif c == "[":
            if self.bracket_open:
                raise _Error("unexpected left bracket '['", start)
            self.got_colon = False
            self.got_duration = False
            self.emit("LBRACKET", start)
            self.skip_spaces()
            self.bracket_open = True
            self.in_duration = True
        elif c == "]":
            if not self.bracket_open:
                raise _Error("unexpected right bracket ']'", start)
            self.emit("RBRACKET", start)
            self.bracket_open = False
        elif c == "@":
            self.emit("AT", start)
        else:
            raise _Error(f"unexpected character: {go_quote_rune(c)}", start)
        return False

    def comment(self) -> None:
        start = self.i
        j = self.s.find("\n", start)
        k = self.s.find("\r", start)
        ends = [x for x in (j, k) if x >= 0]
        self.i = min(ends) if ends else self.n
        self.emit("COMMENT", start)

    # -- lexDurationExpr: the state right after "[" --
    def duration_expr(self) -> bool:
        start = self.i
        if start >= self.n:
            raise _Error("unexpected end of input in duration expression", start)
        c = self.s[start]
        self.i += 1
        if c == "]":
            self.emit("RBRACKET", start)
            self.bracket_open = False
            self.got_colon = False
            self.in_duration = False
        elif c == ":":
            if not self.got_duration:
                raise _Error("unexpected colon before duration in duration expression", self.i)
            if self.got_colon:
                raise _Error("unexpected repeated colon in duration expression", self.i)
            self.emit("COLON", start)
            self.got_colon = True
        elif c == "(":
            self.emit("LPAREN", start)
            self.paren_depth += 1
        elif c == ")":
            self.paren_depth -= 1
            if self.paren_depth < 0:
                raise _Error("unexpected right parenthesis ')'", self.i)
            self.emit("RPAREN", start)
        elif c in _SPACE:
            self.skip_spaces()
        elif c in "+-*/%^,":
            self.emit({"+": "ADD", "-": "SUB", "*": "MUL", "/": "DIV", "%": "MOD", "^": "POW",
                       ",": "COMMA"}[c], start)
        elif c in "sSmMrR":
            if not self.duration_keyword(start):
                raise _Error(
                    f"unexpected character in duration expression: {go_quote_rune(c)}", start
                )
            self.got_duration = True
        elif _is_digit(c) or (c == "." and _is_digit(self.peek())):
            self.i = start
            self.got_duration = True
            self.in_duration = False  # Prometheus continues in lexStatements after a number
            self.number_or_duration()
        else:
            raise _Error(f"unexpected character in duration expression: {go_quote_rune(c)}",
                         start)
        return False

    def duration_keyword(self, start: int) -> bool:
        """step / range / min_of / max_of inside brackets (scanDurationKeyword)."""
        j = start
        while j < self.n and _is_alpha(self.s[j]):
            j += 1
        kind = _DURATION_WORDS.get(self.s[start:j].lower())
        if kind is None:
            return False
        self.i = j
        self.emit(kind, start)
        return True

    # -- numbers and durations --
    def _accept(self, valid: str) -> bool:
        if self.i < self.n and self.s[self.i] in valid:
            self.i += 1
            return True
        return False

    def scan_number(self) -> bool:
        """scanNumber of lex.go: advances over a number-like prefix; True when it is one."""
        initial = self.i
        digits = _DIGITS
        if self._accept("0") and self._accept("xX"):
            self._accept("_")
            digits = _HEX
        self._accept(".")
        self._accept(digits)
        dot = exp = False
        while self.i < self.n and self.s[self.i] in digits + "._eE":
            c = self.s[self.i]
            if c == "." and dot:
                self.i += 1
                return False
            if c in "eE" and exp:
                self.i += 1
                return False
            if self._accept("."):
                dot = True
                if self._accept("_."):
                    return False
                if digits is _HEX:
                    return False
                continue
            if self._accept("eE"):
                exp = True
                self._accept("+-")
                if self._accept("._eE") or self.i >= self.n:
                    return False
                continue
            if self._accept("_"):
                if self._accept("._eE") or self.i >= self.n:
                    return False
                continue
            while self.i < self.n and self.s[self.i] in digits:
                self.i += 1
        if self.i == initial:
            return False
        return not _is_alnum(self.peek())

    def _remaining_duration(self) -> bool:
        if not self._accept("smhdwy"):
            return False
        self._accept("s")
        while self._accept(_DIGITS):
            while self._accept(_DIGITS):
                pass
            if not self._accept("smhdw"):
                return False
            self._accept("s")
        nxt = self.peek()
        self.i += 1  # Go's l.next(), undone by the caller's backup on success
        return not _is_alnum(nxt)

    def number_or_duration(self) -> None:
        start = self.i
        if self.scan_number():
            self.emit("NUMBER", start)
            return
        if self._remaining_duration():
            self.i -= 1
            self.emit("DURATION", start)
            return
        self.i = min(self.i, self.n)
        raise _Error(f"bad number or duration syntax: {go_quote(self.s[start:self.i])}", start)

    # -- identifiers and keywords --
    def keyword_or_identifier(self) -> None:
        start = self.i
        self.i = _WORD_OR_COLON.match(self.s, start).end()
        word = self.s[start : self.i]
        low = word.lower()
        kind = KEYWORDS.get(low)
        if low in ("inf", "nan"):
            self.emit("NUMBER", start)
        elif kind is not None:
            if kind in _FILL_KINDS and not self._followed_by_lparen():
                self.emit("IDENT", start)
            else:
                self.emit(kind, start)
        elif ":" not in word:
            self.emit("IDENT", start)
        else:
            self.emit("METRIC_IDENT", start)

    def _followed_by_lparen(self) -> bool:
        j = self.i
        while j < self.n and self.s[j] in _SPACE:
            j += 1
        return j < self.n and self.s[j] == "("

    # -- lexInsideBraces --
    def inside_braces(self) -> bool:
        s, start = self.s, self.i
        if s.startswith("#", start):
            self.comment()
            return False
        if start >= self.n:
            raise _Error("unexpected end of input inside braces", start)
        c = s[start]
        self.i += 1
        if c in _SPACE:
            self.skip_spaces()
        elif _is_alpha(c):
            self.i = _WORD.match(s, self.i).end()
            self.emit("IDENT", start)
        elif c == ",":
            self.emit("COMMA", start)
        elif c in "\"'":
            self.string(start, c)
        elif c == "`":
            self.raw_string(start)
        elif c == "=":
            if self._accept("~"):
                self.emit("EQL_REGEX", start)
            else:
                self.emit("EQL", start)
        elif c == "!":
            t = self.peek()
            self.i += 1
            if t == "~":
                self.emit("NEQ_REGEX", start)
            elif t == "=":
                self.emit("NEQ", start)
            else:
                raise _Error(
                    f"unexpected character after '!' inside braces: {go_quote_rune(t)}", start
                )
        elif c == "{":
            raise _Error("unexpected left brace '{'", start)
        elif c == "}":
            self.emit("RBRACE", start)
            self.brace_open = False
        else:
            raise _Error(f"unexpected character inside braces: {go_quote_rune(c)}", start)
        return False

    # -- strings --
    def string(self, start: int, quote: str) -> None:
        """A quoted string with Go escapes; the token value is the decoded text (raw bytes
        from ``\\x``/octal escapes that are not valid UTF-8 become surrogate escapes)."""
        s, n = self.s, self.n
        buf = bytearray()
        while True:
            if self.i >= n:
                raise _Error("unterminated quoted string", start)
            c = s[self.i]
            self.i += 1
            if c == "\\":
                self.escape(start, quote, buf)
            elif c == "\n":
                raise _Error("unterminated quoted string", start)
            elif c == quote:
                break
            else:
                buf += c.encode("utf-8", "surrogateescape")
        self.emit("STRING", start, buf.decode("utf-8", "surrogateescape"))

    def escape(self, start: int, quote: str, buf: bytearray) -> None:
        simple = {"a": 7, "b": 8, "f": 12, "n": 10, "r": 13, "t": 9, "v": 11, "\\": 92}
        if self.i >= self.n:
            raise _Error("escape sequence not terminated", start)
        ch = self.s[self.i]
        self.i += 1
        if ch in simple:
            buf.append(simple[ch])
            return
        if ch == quote:
            buf += ch.encode()
            return
        if ch in "01234567":
            count, base, max_val = 3, 8, 255
        elif ch in "xuU":
            count, base = {"x": (2, 16), "u": (4, 16), "U": (8, 16)}[ch]
            max_val = 255 if ch == "x" else 0x10FFFF
            ch = self.peek()
            self.i += 1
        else:
            raise _Error(f"unknown escape sequence {_go_rune_u(ch)}", start)
        x = 0
        while count > 0:
            d = int(ch, 16) if ch and ch in _HEX else 16
            if d >= base:
                if ch == "":
                    raise _Error("escape sequence not terminated", start)
                raise _Error(f"illegal character {_go_rune_u(ch)} in escape sequence", start)
            x = x * base + d
            count -= 1
            if count > 0:
                ch = self.peek()
                self.i += 1
        if x > max_val or 0xD800 <= x < 0xE000:
            raise _Error("escape sequence is an invalid Unicode code point", start)
        if max_val == 255:
            buf.append(x)
        else:
            buf += chr(x).encode("utf-8")

    def raw_string(self, start: int) -> None:
        j = self.s.find("`", self.i)
        if j < 0:
            raise _Error("unterminated raw string", start)
        value = self.s[self.i : j]
        self.i = j + 1
        self.emit("STRING", start, value)


def tokenize(text: str) -> list[Token]:
    """Every token of ``text`` (comments included), ending with ``EOF`` or ``ERROR``."""
    return _Lexer(text).run()
