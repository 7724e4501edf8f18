"""The lexer of Go's ``text/template/parse`` (``lex.go``), with its error texts.

Items carry the character offset of their start and the 1-based line there. Delimiters
are ``{{`` and ``}}``; ``{{-``/``-}}`` (with an ASCII space next to the dash) trim the
white space around the action; ``{{/* */}}`` are comments. Lexing stops at the first
error, which becomes an ``ERROR`` item whose value is Go's message.

>>> [i.val for i in lex("a {{- .b | c 1 -}} z")]
['a', '{{', '.b', ' ', '|', ' ', 'c', ' ', '1', '}}', 'z', 'EOF']
>>> [i.typ for i in lex("{{.b|c}}")]
['LEFT_DELIM', 'FIELD', 'PIPE', 'IDENTIFIER', 'RIGHT_DELIM', 'EOF']
>>> lex("{{ 3x }}")[-1].val
'bad number syntax: "3x"'
"""

from __future__ import annotations

import bisect
import unicodedata
from typing import NamedTuple

__all__ = ["KEYWORDS", "Item", "describe", "go_rune", "is_alnum", "lex"]

SPACE_CHARS = " \t\r\n"

#: keyword items (Go's ``itemKeyword`` and above)
KEYWORDS = {
    ".": "DOT", "block": "BLOCK", "break": "BREAK", "continue": "CONTINUE",
    "define": "DEFINE", "else": "ELSE", "end": "END", "if": "IF", "range": "RANGE",
    "nil": "NIL", "template": "TEMPLATE", "with": "WITH",
}
_KEYWORD_TYPES = frozenset(KEYWORDS.values())


class Item(NamedTuple):
    typ: str
    pos: int
    val: str
    line: int


def describe(item: Item) -> str:
    """Go's ``item.String()``, as parse errors quote a token."""
    if item.typ == "EOF":
        return "EOF"
    if item.typ == "ERROR":
        return item.val
    if item.typ in _KEYWORD_TYPES:
        return f"<{item.val}>"
    from .gofmt import go_quote_string

    if len(item.val) > 10:
        return go_quote_string(item.val, max_runes=10) + "..."
    return go_quote_string(item.val)


def is_space(c: str) -> bool:
    return c in SPACE_CHARS and c != ""


def is_alnum(c: str) -> bool:
    """Go's isAlphaNumeric: '_' or a Unicode letter or decimal digit."""
    return c == "_" or c.isalpha() or c.isdecimal()


def go_rune(c: str) -> str:
    """Go's ``%#U``: ``U+002A '*'`` (quote omitted for unprintable runes)."""
    cp = ord(c)
    s = f"U+{cp:04X}"
    if _printable(c):
        s += f" '{c}'"
    return s


def _printable(c: str) -> bool:
    """unicode.IsPrint: letters, marks, numbers, punctuation, symbols and ASCII space."""
    if c == " ":
        return True
    return unicodedata.category(c)[0] in "LMNPS"


class _Lexer:
    def __init__(self, text: str) -> None:
        self.text = text
        self.n = len(text)
        self.pos = 0
        self.start = 0
        self.paren_depth = 0
        self.items: list[Item] = []
        self._newlines = [i for i, c in enumerate(text) if c == "\n"]

    def line_at(self, pos: int) -> int:
        return 1 + bisect.bisect_left(self._newlines, pos)

    # -- primitives
    def next(self) -> str:
        if self.pos >= self.n:
            self.pos = self.n + 1  # remember we read EOF, so backup() is a no-op
            return ""
        c = self.text[self.pos]
        self.pos += 1
        return c

    def backup(self) -> None:
        if self.pos > self.n:
            self.pos = self.n
        elif self.pos > 0:
            self.pos -= 1

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < self.n else ""

    def accept(self, valid: str) -> bool:
        c = self.peek()
        if c and c in valid:
            self.pos += 1
            return True
        return False

    def accept_run(self, valid: str) -> None:
        while self.accept(valid):
            pass

    def emit(self, typ: str) -> None:
        end = min(self.pos, self.n)
        val = self.text[self.start:end]
        self.items.append(Item(typ, self.start, val, self.line_at(self.start)))
        self.start = end

    def ignore(self) -> None:
        self.start = min(self.pos, self.n)

    def error(self, msg: str) -> None:
        self.items.append(Item("ERROR", self.start, msg, self.line_at(self.start)))

    def at_right_delim(self) -> tuple[bool, bool]:
        t, p = self.text, self.pos
        if p + 1 < self.n and is_space(t[p]) and t[p + 1] == "-" and t.startswith("}}", p + 2):
            return True, True
        if t.startswith("}}", p):
            return True, False
        return False, False

    def at_terminator(self) -> bool:
        c = self.peek()
        if c == "" or is_space(c) or c in ".,|:)(":
            return True
        return self.text.startswith("}}", self.pos)

    # -- states; each returns the next state or None to stop
    def run(self) -> list[Item]:
        state = self.lex_text
        while state is not None:
            state = state()
        return self.items

    def lex_text(self):  # type: ignore[no-untyped-def]
        t = self.text
        x = t.find("{{", self.pos)
        if x >= 0:
            if x > self.pos:
                self.pos = x
                trim = 0
                after = x + 2
                if after + 1 < self.n and t[after] == "-" and is_space(t[after + 1]):
                    seg = t[self.start:self.pos]
                    trim = len(seg) - len(seg.rstrip(SPACE_CHARS))
                self.pos -= trim
                if self.pos > self.start:
                    self.emit("TEXT")
                self.pos += trim
                self.ignore()
            return self.lex_left_delim
        self.pos = self.n
        if self.pos > self.start:
            self.emit("TEXT")
        self.emit("EOF")
        self.items[-1] = self.items[-1]._replace(val="EOF")
        return None

    def lex_left_delim(self):  # type: ignore[no-untyped-def]
        t = self.text
        self.pos += 2
        trim = self.pos + 1 < self.n and t[self.pos] == "-" and is_space(t[self.pos + 1])
        after = 2 if trim else 0
        if t.startswith("/*", self.pos + after):
            self.pos += after
            self.ignore()
            return self.lex_comment
        self.emit("LEFT_DELIM")
        self.pos += after
        self.ignore()
        self.paren_depth = 0
        return self.lex_inside_action

    def lex_comment(self):  # type: ignore[no-untyped-def]
        self.pos += 2
        x = self.text.find("*/", self.pos)
        if x < 0:
            self.error("unclosed comment")
            return None
        self.pos = x + 2
        delim, trim = self.at_right_delim()
        if not delim:
            self.error("comment ends before closing delimiter")
            return None
        if trim:
            self.pos += 2
        self.pos += 2
        if trim:
            self._skip_left_space()
        self.ignore()
        return self.lex_text

    def _skip_left_space(self) -> None:
        while self.pos < self.n and self.text[self.pos] in SPACE_CHARS:
            self.pos += 1

    def lex_right_delim(self):  # type: ignore[no-untyped-def]
        _, trim = self.at_right_delim()
        if trim:
            self.pos += 2
            self.ignore()
        self.pos += 2
        self.emit("RIGHT_DELIM")
        if trim:
            self._skip_left_space()
            self.ignore()
        return self.lex_text

    def lex_inside_action(self):  # type: ignore[no-untyped-def]
        delim, _ = self.at_right_delim()
        if delim:
            if self.paren_depth == 0:
                return self.lex_right_delim
            self.error("unclosed left paren")
            return None
        c = self.next()
        if c == "":
            self.error("unclosed action")
            return None
        if is_space(c):
            self.backup()
            return self.lex_space
        if c == "=":
            self.emit("ASSIGN")
        elif c == ":":
            if self.next() != "=":
                self.error("expected :=")
                return None
            self.emit("DECLARE")
        elif c == "|":
            self.emit("PIPE")
        elif c == '"':
            return self.lex_quote
        elif c == "`":
            return self.lex_raw_quote
        elif c == "$":
            return self.lex_variable
        elif c == "'":
            return self.lex_char
        elif c == "." and self.pos < self.n and not ("0" <= self.text[self.pos] <= "9"):
            return self.lex_field
        elif c in "+-." or "0" <= c <= "9":
            self.backup()
            return self.lex_number
        elif is_alnum(c):
            self.backup()
            return self.lex_identifier
        elif c == "(":
            self.paren_depth += 1
            self.emit("LEFT_PAREN")
        elif c == ")":
            self.paren_depth -= 1
            if self.paren_depth < 0:
                self.error("unexpected right paren")
                return None
            self.emit("RIGHT_PAREN")
        elif ord(c) < 128 and _printable(c):
            self.emit("CHAR")
        else:
            self.error(f"unrecognized character in action: {go_rune(c)}")
            return None
        return self.lex_inside_action

    def lex_space(self):  # type: ignore[no-untyped-def]
        spaces = 0
        while is_space(self.peek()):
            self.pos += 1
            spaces += 1
        t, p = self.text, self.pos
        if p < self.n and t[p] == "-" and is_space(t[p - 1]) and t.startswith("}}", p + 1):
            self.pos -= 1
            if spaces == 1:
                return self.lex_right_delim
        self.emit("SPACE")
        return self.lex_inside_action

    def lex_identifier(self):  # type: ignore[no-untyped-def]
        while is_alnum(self.peek()):
            self.pos += 1
        word = self.text[self.start:self.pos]
        if not self.at_terminator():
            self.error(f"bad character {go_rune(self.peek())}")
            return None
        if word in KEYWORDS and word != ".":
            self.emit(KEYWORDS[word])
        elif word in ("true", "false"):
            self.emit("BOOL")
        else:
            self.emit("IDENTIFIER")
        return self.lex_inside_action

    def lex_field(self):  # type: ignore[no-untyped-def]
        return self._field_or_variable("FIELD")

    def lex_variable(self):  # type: ignore[no-untyped-def]
        if self.at_terminator():
            self.emit("VARIABLE")
            return self.lex_inside_action
        return self._field_or_variable("VARIABLE")

    def _field_or_variable(self, typ: str):  # type: ignore[no-untyped-def]
        if self.at_terminator():
            self.emit("VARIABLE" if typ == "VARIABLE" else "DOT")
            return self.lex_inside_action
        while is_alnum(self.peek()):
            self.pos += 1
        if not self.at_terminator():
            self.error(f"bad character {go_rune(self.peek())}")
            return None
        self.emit(typ)
        return self.lex_inside_action

    def _scan_quoted(self, quote: str, what: str):  # type: ignore[no-untyped-def]
        while True:
            c = self.next()
            if c == "\\":
                c2 = self.next()
                if c2 != "" and c2 != "\n":
                    continue
                self.error(f"unterminated {what}")
                return False
            if c == "" or c == "\n":
                self.error(f"unterminated {what}")
                return False
            if c == quote:
                return True

    def lex_char(self):  # type: ignore[no-untyped-def]
        if not self._scan_quoted("'", "character constant"):
            return None
        self.emit("CHAR_CONSTANT")
        return self.lex_inside_action

    def lex_quote(self):  # type: ignore[no-untyped-def]
        if not self._scan_quoted('"', "quoted string"):
            return None
        self.emit("STRING")
        return self.lex_inside_action

    def lex_raw_quote(self):  # type: ignore[no-untyped-def]
        while True:
            c = self.next()
            if c == "":
                self.error("unterminated raw quoted string")
                return None
            if c == "`":
                break
        self.emit("RAW_STRING")
        return self.lex_inside_action

    def _scan_number(self) -> bool:
        self.accept("+-")
        digits = "0123456789_"
        if self.accept("0"):
            if self.accept("xX"):
                digits = "0123456789abcdefABCDEF_"
            elif self.accept("oO"):
                digits = "01234567_"
            elif self.accept("bB"):
                digits = "01_"
        self.accept_run(digits)
        if self.accept("."):
            self.accept_run(digits)
        if len(digits) == 11 and self.accept("eE"):
            self.accept("+-")
            self.accept_run("0123456789_")
        if len(digits) == 23 and self.accept("pP"):
            self.accept("+-")
            self.accept_run("0123456789_")
        self.accept("i")
        if is_alnum(self.peek()):
            self.pos += 1
            return False
        return True

    def lex_number(self):  # type: ignore[no-untyped-def]
        from .gofmt import go_quote_string

        if not self._scan_number():
            self.error(f"bad number syntax: {go_quote_string(self.text[self.start:self.pos])}")
            return None
        if self.peek() in ("+", "-") and self.peek():
            if not self._scan_number() or self.text[self.pos - 1] != "i":
                self.error(f"bad number syntax: {go_quote_string(self.text[self.start:self.pos])}")
                return None
            self.emit("COMPLEX")
        else:
            self.emit("NUMBER")
        return self.lex_inside_action


def lex(text: str) -> list[Item]:
    """All items of ``text``, ending with ``EOF`` or an ``ERROR`` item."""
    return _Lexer(text).run()
