"""PromQL text to our syntax tree (:mod:`engine.promql.nodes`), as Prometheus 3.14 parses it.

This is our own parser: a lexer (:mod:`engine.promql.lex`, a port of the state machine of
Prometheus' ``lex.go``) and a recursive-descent / precedence-climbing parser that mirrors
``generated_parser.y``, followed by a type-checking pass that mirrors ``checkAST`` of
``parse.go``.

Why not wrap the PyPI ``promql-parser`` (a Rust port) at runtime? Its AST carries no
positions, and annotation texts need the ``(line:col)`` of sub-expressions; its error
messages are not Prometheus' messages; and it lacks 3.x syntax the corpus uses (duration
arithmetic such as ``[5m+1m]`` and ``offset (1m*2)``, ``step()``/``range()``/``min_of`` in
durations, ``anchored``/``smoothed``, ``fill()``/``fill_left()``/``fill_right()``, and the
histogram trim operators ``</`` and ``>/``). It is still installed, as an independent
oracle for the tests (``tests/promql/test_parse_differential.py``); nothing imports it here.

Public API (the rest of the code base calls exactly these)::

    parse_expr(text, *, experimental=False) -> Expr     # raises engine.errors.ParseError
    parse_duration(text) -> int                          # milliseconds, model.ParseDuration
    FUNCTIONS: dict[str, FunctionSignature]              # from engine.promql.signatures

Errors carry Prometheus' message and the 0-based character offset Prometheus reports (its
``PositionRange().Start``); as Prometheus, only the first error is reported. Syntax errors
win over type errors, because Prometheus type-checks only a syntactically valid tree.
Errors Prometheus raises at evaluation time (``anchored``/``smoothed`` on an unsupported
function, a non-positive duration expression such as ``[1m-2m]``) are left to the
evaluator: see :func:`engine.promql.signatures.extended_range_error` and
:func:`engine.promql.durations.resolve_duration`.

>>> e = parse_expr('sum by (job) (rate(http_requests_total{code=~"5.."}[5m]))')
>>> str(e)
'sum by (job) (rate(http_requests_total{code=~"5.."}[5m]))'
>>> e.expr.args[0].range, e.expr.pos, e.expr.args[0].vs.matchers[-1]
(300000, 14, Matcher(name='__name__', op='=', value='http_requests_total'))
>>> e = parse_expr("-2^2")  # '^' binds tighter than unary minus
>>> type(e).__name__, e.op, str(e.expr), (e.expr.pos, e.expr.end)
('UnaryExpr', '-', '2 ^ 2', (1, 4))
>>> try:
...     parse_expr('rate(foo)')
... except ParseError as e:
...     print(e.position, e.message)
5 expected type range vector in call to function "rate", got instant vector
>>> parse_duration("1h30m"), parse_duration("10s53ms"), parse_duration("0")
(5400000, 10053, 0)
"""

from __future__ import annotations

import functools
import math
from dataclasses import replace

from ..errors import ParseError, PromReplayError, QueryError
from ..gostrconv import parse_number
from ..labels import is_valid_label_name
from ..store.index import Matcher
from .durations import MAX_SECONDS, duration_seconds, uses_query_params
from .lex import AGGREGATORS, Token, describe, go_quote, tokenize
from .nodes import (
    AggregateExpr,
    BinaryExpr,
    Call,
    Duration,
    DurationExpr,
    Expr,
    MatrixSelector,
    NumberLiteral,
    ParenExpr,
    StringLiteral,
    SubqueryExpr,
    UnaryExpr,
    ValueType,
    VectorMatching,
    VectorSelector,
)
from .signatures import EXPERIMENTAL_AGGREGATORS, FUNCTIONS, FunctionSignature

__all__ = ["parse_expr", "parse_duration", "go_number", "FUNCTIONS", "FunctionSignature"]

# ---- operators ----------------------------------------------------------------------------

#: token kind -> (operator text, precedence); higher binds tighter, ``^`` is right-assoc.
_BINARY = {
    "LOR": ("or", 1),
    "LAND": ("and", 2), "LUNLESS": ("unless", 2),
    "EQLC": ("==", 3), "NEQ": ("!=", 3), "LTE": ("<=", 3), "LSS": ("<", 3), "GTE": (">=", 3),
    "GTR": (">", 3),
    "ADD": ("+", 4), "SUB": ("-", 4),
    "MUL": ("*", 5), "DIV": ("/", 5), "MOD": ("%", 5), "ATAN2": ("atan2", 5),
    "TRIM_UPPER": ("</", 5), "TRIM_LOWER": (">/", 5),
    "POW": ("^", 6),
}
_POW = 6
_COMPARISONS = frozenset({"==", "!=", "<=", "<", ">=", ">"})
_SET_OPS = frozenset({"and", "or", "unless"})
#: duration-expression operators (inside ``[...]`` and ``offset``).
_DURATION_BINARY = {"ADD": ("+", 1), "SUB": ("-", 1), "MUL": ("*", 2), "DIV": ("/", 2),
                    "MOD": ("%", 2), "POW": ("^", 3)}
_MATCH_OPS = {"EQL": "=", "NEQ": "!=", "EQL_REGEX": "=~", "NEQ_REGEX": "!~"}
_AGG_KINDS = frozenset(a.upper() for a in AGGREGATORS)
_PARAM_AGGREGATORS = frozenset({"topk", "bottomk", "count_values", "quantile", "limitk",
                                "limit_ratio"})
#: keywords Prometheus accepts as metric names (metric_identifier in the grammar).
_METRIC_KEYWORDS = frozenset({"BY", "OFFSET", "WITHOUT", "LAND", "LOR", "LUNLESS", "START",
                              "END", "STEP", "RANGE", "ANCHORED", "SMOOTHED"}) | _AGG_KINDS
#: tokens Prometheus accepts as label names in by/without/on/ignoring/group_x lists.
_LABEL_TOKENS = (frozenset({"IDENT", "METRIC_IDENT", "BOOL", "BY", "GROUP_LEFT", "GROUP_RIGHT",
                            "IGNORING", "LAND", "LOR", "LUNLESS", "OFFSET", "ON", "START", "END",
                            "ATAN2", "STEP", "RANGE", "ANCHORED", "SMOOTHED"}) | _AGG_KINDS)
_NUMBERS = ("NUMBER", "DURATION")
_QUERY_FUNCS = frozenset({"START", "END", "STEP", "RANGE"})  # keywords that are also functions

#: float64(math.MaxInt64): the bound of an ``@`` timestamp in seconds.
_MAX_TIMESTAMP = 9.223372036854776e18

_DOCUMENTED = {ValueType.VECTOR: "instant vector", ValueType.MATRIX: "range vector"}

_OFFSET_EXPECTED = "number, duration, step(), or range()"
_RANGE_CTX = ("subquery or range selector", _OFFSET_EXPECTED)
_STEP_CTX = ("subquery selector", 'number, duration, step(), range(), or "]"')


def _documented(t: str) -> str:
    return _DOCUMENTED.get(t, t)


# ---- numbers and durations ----------------------------------------------------------------


def _go_round(x: float) -> float:
    """Go's math.Round: half away from zero."""
    r = math.floor(abs(x))
    if abs(x) - r >= 0.5:
        r += 1
    return math.copysign(r, x)


def go_number(text: str) -> float:
    """The value of a PromQL number token (Prometheus' ``parser.number``: ParseInt with base 0,
    else ParseFloat). Raises ValueError with Prometheus' message.

    >>> go_number("0x1F"), go_number("0755"), go_number("1_000"), go_number("1e3"), go_number("08")
    (31.0, 493.0, 1000.0, 1000.0, 8.0)
    """
    if text.isdigit() and (len(text) == 1 or text[0] != "0") and len(text) < 19:
        return float(text)  # the common case, without exceptions
    try:
        return parse_number(text)
    except ValueError as e:
        raise ValueError(
            f"error parsing number: strconv.ParseFloat: parsing {go_quote(text)}: {e}"
        ) from None


_UNITS = {"ms": (7, 10**6), "s": (6, 10**9), "m": (5, 60 * 10**9), "h": (4, 3600 * 10**9),
          "d": (3, 86400 * 10**9), "w": (2, 7 * 86400 * 10**9), "y": (1, 365 * 86400 * 10**9)}


def _duration_ns(s: str) -> int:
    """prometheus/common model.ParseDuration, in nanoseconds; ValueError with its message."""
    if s == "0":
        return 0
    if s == "":
        raise ValueError("empty duration string")
    orig, total, last = s, 0, 0
    while s:
        if not s[0].isdigit() or not s[0].isascii():
            raise ValueError(f"not a valid duration string: {go_quote(orig)}")
        i = 0
        while i < len(s) and s[i].isascii() and s[i].isdigit():
            i += 1
        v = int(s[:i])
        s = s[i:]
        i = 0
        while i < len(s) and not (s[i].isascii() and s[i].isdigit()):
            i += 1
        if i == 0:
            raise ValueError(f"not a valid duration string: {go_quote(orig)}")
        unit, s = s[:i], s[i:]
        if unit not in _UNITS:
            raise ValueError(f"unknown unit {go_quote(unit)} in duration {go_quote(orig)}")
        pos, mult = _UNITS[unit]
        if pos <= last:
            raise ValueError(f"not a valid duration string: {go_quote(orig)}")
        last = pos
        if v > (1 << 63) // mult:
            raise ValueError("duration out of range")
        total += v * mult
        if total > (1 << 63) - 1:
            raise ValueError("duration out of range")
    return total


def parse_duration(text: str) -> int:
    """Milliseconds of a Prometheus duration (``model.ParseDuration``): units ``y w d h m s
    ms`` in decreasing order, bare ``0`` allowed, no sign, no fractions.

    >>> parse_duration("1y2w"), parse_duration("1m30s")
    (32745600000, 90000)
    >>> parse_duration("5m1h")
    Traceback (most recent call last):
      ...
    engine.errors.ParseError: 1:1: parse error: not a valid duration string: "5m1h"
    """
    try:
        return _duration_ns(text) // 10**6
    except ValueError as e:
        raise ParseError(str(e), 0, text) from None


def _seconds_of_ns(ns: int) -> float:
    """Go's time.Duration.Seconds()."""
    sec, nsec = divmod(ns, 10**9)
    return float(sec) + nsec / 1e9


def _literal_ms(seconds: float) -> int:
    """A literal number of seconds as a range/offset: rounded to nanoseconds as Prometheus
    stores it, then truncated to the milliseconds evaluation uses."""
    ns = int(_go_round(seconds * 1e9))
    ms = abs(ns) // 10**6
    return -ms if ns < 0 else ms


# ---- the parser ---------------------------------------------------------------------------


class _Parser:
    def __init__(self, text: str, experimental: bool) -> None:
        self.text = text
        self.experimental = experimental
        self.toks = [t for t in tokenize(text) if t.kind != "COMMENT"]
        self.i = 0
        self.prev_end = 0  # end of the last consumed token (Prometheus' lastClosing)
        self.ctx: list[tuple[str, str]] = []  # innermost error-recovery context
        # side tables keyed by id(node); `keep` holds every node so ids stay unique
        self.keep: list[Expr] = []
        self.types: dict[int, str] = {}
        self.written_matching: dict[int, VectorMatching] = {}
        self.offset_by_expr: set[int] = set()

    # -- errors --
    def fail(self, message: str, pos: int) -> ParseError:
        return ParseError(message, pos, self.text)

    def unexpected(self, tok: Token, expected: str | None = None) -> ParseError:
        context, default = self.ctx[-1] if self.ctx else ("", "")
        msg = "unexpected " + describe(tok)
        if context:
            msg += " in " + context
        exp = default if expected is None else expected
        if exp:
            msg += ", expected " + exp
        return self.fail(msg, tok.pos)

    # -- tokens --
    def peek(self, k: int = 0) -> Token:
        j = self.i + k
        tok = self.toks[j] if j < len(self.toks) else self.toks[-1]
        if tok.kind == "ERROR":
            raise self.fail(tok.value, tok.pos)
        return tok

    def next(self) -> Token:
        tok = self.peek()
        self.i += 1
        self.prev_end = tok.end
        return tok

    def expect(self, kind: str, expected: str | None = None) -> Token:
        if self.peek().kind != kind:
            raise self.unexpected(self.peek(), expected)
        return self.next()

    # -- node bookkeeping --
    def node(self, n: Expr, typ: str | None = None) -> Expr:
        self.keep.append(n)
        if typ is None:
            if isinstance(n, BinaryExpr):
                both = self.types[id(n.lhs)] == self.types[id(n.rhs)] == ValueType.SCALAR
                typ = ValueType.SCALAR if both else ValueType.VECTOR
            elif isinstance(n, ParenExpr | UnaryExpr):
                typ = self.types[id(n.expr)]
            else:
                typ = n.type
        self.types[id(n)] = typ
        return n

    def moved(self, old: Expr, new: Expr) -> Expr:
        """Register ``new``, a modified copy of ``old`` (same type and side information)."""
        self.node(new, self.types[id(old)])
        if id(old) in self.offset_by_expr:
            self.offset_by_expr.add(id(new))
        return new

    # -- entry point --
    def parse(self) -> Expr:
        if self.peek().kind == "EOF":
            raise self.fail("no expression found in input", 0)
        e = self.expr(0)
        if self.peek().kind != "EOF":
            raise self.unexpected(self.peek())
        _Checker(self).check(e)
        return e

    # -- expressions --
    def expr(self, min_prec: int) -> Expr:
        lhs = self.unary()
        while True:
            tok = self.peek()
            spec = _BINARY.get(tok.kind)
            if spec is None or spec[1] < min_prec:
                return lhs
            op, prec = spec
            self.next()
            modifiers = self.bin_modifiers()
            rhs = self.expr(prec if prec == _POW else prec + 1)
            lhs = self.binary(op, lhs, rhs, *modifiers)

    def unary(self) -> Expr:
        tok = self.peek()
        if tok.kind not in ("ADD", "SUB"):
            return self.postfix(self.primary())
        self.next()
        operand = self.expr(_POW)  # unary +/- binds like '*': only '^' binds tighter
        op = "-" if tok.kind == "SUB" else "+"
        if isinstance(operand, NumberLiteral):
            v = -operand.value if op == "-" else operand.value
            return self.node(NumberLiteral(value=v, pos=tok.pos, end=operand.end))
        return self.node(UnaryExpr(op=op, expr=operand, pos=tok.pos, end=operand.end))

    def postfix(self, e: Expr) -> Expr:
        while True:
            kind = self.peek().kind
            if kind == "LBRACKET":
                e = self.range_or_subquery(e)
            elif kind == "OFFSET":
                e = self.offset(e)
            elif kind == "AT":
                e = self.at(e)
            elif kind in ("ANCHORED", "SMOOTHED"):
                e = self.extended_range(e)
            else:
                return e

    def primary(self) -> Expr:
        tok = self.peek()
        k = tok.kind
        if k == "NUMBER":
            self.next()
            try:
                value = go_number(tok.text)
            except ValueError as e:
                raise self.fail(str(e), tok.pos) from None
            return self.node(NumberLiteral(value=value, pos=tok.pos, end=tok.end))
        if k == "DURATION":
            return self.node(self.duration_literal())
        if k == "STRING":
            self.next()
            return self.node(StringLiteral(value=tok.value, pos=tok.pos, end=tok.end))
        if k == "LPAREN":
            self.next()
            inner = self.expr(0)
            close = self.expect("RPAREN")
            return self.node(ParenExpr(expr=inner, pos=tok.pos, end=close.end))
        if k == "LBRACE":
            return self.vector_selector(None)
        if k in ("IDENT", *_QUERY_FUNCS) and self.peek(1).kind == "LPAREN":
            return self.call()
        if k in _AGG_KINDS and self.peek(1).kind in ("LPAREN", "BY", "WITHOUT"):
            return self.aggregate()
        if k in ("IDENT", "METRIC_IDENT") or k in _METRIC_KEYWORDS:
            return self.vector_selector(self.next())
        raise self.unexpected(tok)

    # -- vector selectors --
    def vector_selector(self, name_tok: Token | None) -> Expr:
        name = name_tok.text if name_tok is not None else ""
        start = name_tok.pos if name_tok is not None else self.peek().pos
        end = name_tok.end if name_tok is not None else 0
        matchers: list[Matcher] = []
        if self.peek().kind == "LBRACE":
            matchers, end = self.label_matchers()
        if name:
            matchers.append(Matcher("__name__", "=", name))
        return self.node(VectorSelector(name=name, matchers=tuple(matchers), pos=start, end=end))

    def label_matchers(self) -> tuple[list[Matcher], int]:
        self.next()  # {
        self.ctx.append(("label matching", ""))
        out: list[Matcher] = []
        if self.peek().kind != "RBRACE":
            while True:
                out.append(self.label_matcher())
                tok = self.peek()
                if tok.kind == "COMMA":
                    self.next()
                    if self.peek().kind == "RBRACE":
                        break
                elif tok.kind == "RBRACE":
                    break
                else:
                    raise self.unexpected(tok, '"," or "}"')
        close = self.next()
        self.ctx.pop()
        return out, close.end

    def label_matcher(self) -> Matcher:
        tok = self.peek()
        if tok.kind == "IDENT":
            name = self.next().text
        elif tok.kind == "STRING":
            name = self.next().value
            if self.peek().kind not in _MATCH_OPS:
                return self.matcher(tok, "__name__", "=", name)
        else:
            raise self.unexpected(tok, 'identifier or "}"')
        op_tok = self.peek()
        if op_tok.kind not in _MATCH_OPS:
            raise self.unexpected(op_tok, "label matching operator")
        self.next()
        value = self.expect("STRING", "string").value
        return self.matcher(tok, name, _MATCH_OPS[op_tok.kind], value)

    def matcher(self, at: Token, name: str, op: str, value: str) -> Matcher:
        try:
            return Matcher(name, op, value)
        except PromReplayError as e:
            raise self.fail(str(e), at.pos) from None
        except UnicodeError:  # a regex with raw non-UTF-8 bytes from \x escapes
            raise self.fail(f"error parsing regexp: invalid UTF-8: `{value}`", at.pos) from None

    # -- calls and aggregations --
    def call_body(self) -> list[Expr]:
        self.expect("LPAREN")
        args: list[Expr] = []
        if self.peek().kind == "RPAREN":
            self.next()
            return args
        while True:
            args.append(self.expr(0))
            tok = self.peek()
            if tok.kind == "COMMA":
                self.next()
                if self.peek().kind in ("RPAREN", "COMMA"):
                    raise self.fail("trailing commas not allowed in function call args", tok.pos)
            elif tok.kind == "RPAREN":
                self.next()
                return args
            else:
                raise self.unexpected(tok)

    def call(self) -> Expr:
        name_tok = self.next()
        name = name_tok.text if name_tok.kind == "IDENT" else name_tok.text.lower()
        args = self.call_body()
        sig = FUNCTIONS.get(name)
        if sig is None:
            raise self.fail(f"unknown function with name {go_quote(name)}", name_tok.pos)
        if sig.experimental and not self.experimental:
            raise self.fail(f"function {go_quote(name)} is not enabled", name_tok.pos)
        return self.node(Call(func=name, args=tuple(args), return_type=sig.return_type,
                              pos=name_tok.pos, end=self.prev_end))

    def aggregate(self) -> Expr:
        op_tok = self.next()
        op = op_tok.text.lower()
        self.ctx.append(("aggregation", ""))
        grouping: tuple[str, ...] = ()
        without = by = False
        modified = False
        if self.peek().kind in ("BY", "WITHOUT"):
            without, by, grouping = self.aggregate_modifier()
            modified = True
        if self.peek().kind != "LPAREN":
            raise self.unexpected(self.peek())
        args = self.call_body()
        self.ctx.pop()
        if not modified and self.peek().kind in ("BY", "WITHOUT"):
            without, by, grouping = self.aggregate_modifier()
        end = self.prev_end
        if not args:
            raise self.fail("no arguments for aggregate expression provided", op_tok.pos)
        desired, param = 1, None
        if op in _PARAM_AGGREGATORS:
            if op in EXPERIMENTAL_AGGREGATORS and not self.experimental:
                raise self.fail(f"{op}() is experimental and must be enabled with "
                                "--enable-feature=promql-experimental-functions", op_tok.pos)
            desired, param = 2, args[0]
        if len(args) != desired:
            raise self.fail("wrong number of arguments for aggregate expression provided, "
                            f"expected {desired}, got {len(args)}", op_tok.pos)
        return self.node(AggregateExpr(op=op, expr=args[-1], param=param, grouping=grouping,
                                       without=without, by=by, pos=op_tok.pos, end=end))

    def aggregate_modifier(self) -> tuple[bool, bool, tuple[str, ...]]:
        kw = self.next()
        labels = self.grouping_labels()
        return kw.kind == "WITHOUT", kw.kind == "BY", labels

    def grouping_labels(self) -> tuple[str, ...]:
        self.ctx.append(("grouping opts", ""))
        self.expect("LPAREN", '"("')
        labels: list[str] = []
        if self.peek().kind == "RPAREN":
            self.next()
        else:
            while True:
                tok = self.peek()
                if tok.kind in _LABEL_TOKENS:
                    labels.append(self.next().text)
                elif tok.kind == "STRING":
                    name = self.next().value
                    if not is_valid_label_name(name):
                        raise self.fail(f"invalid label name for grouping: {go_quote(name)}",
                                        tok.pos)
                    labels.append(name)
                else:
                    raise self.unexpected(tok, "label")
                tok = self.peek()
                if tok.kind == "COMMA":
                    self.next()
                    if self.peek().kind == "RPAREN":
                        self.next()
                        break
                elif tok.kind == "RPAREN":
                    self.next()
                    break
                else:
                    raise self.unexpected(tok, '"," or ")"')
        self.ctx.pop()
        return tuple(labels)

    # -- binary expressions --
    def bin_modifiers(self) -> tuple[bool, VectorMatching, bool]:
        return_bool = False
        if self.peek().kind == "BOOL":
            self.next()
            return_bool = True
        card, on, labels, include = "one-to-one", False, (), ()
        if self.peek().kind in ("ON", "IGNORING"):
            on = self.next().kind == "ON"
            labels = self.grouping_labels()
            if self.peek().kind in ("GROUP_LEFT", "GROUP_RIGHT"):
                g = self.next()
                card = "many-to-one" if g.kind == "GROUP_LEFT" else "one-to-many"
                if self.peek().kind == "LPAREN":
                    include = self.grouping_labels()
        fill_left, fill_right, filled = None, None, False
        seen: set[str] = set()
        while self.peek().kind in ("FILL", "FILL_LEFT", "FILL_RIGHT"):
            tok = self.peek()
            if tok.kind in seen or "FILL" in seen or (tok.kind == "FILL" and seen):
                raise self.unexpected(tok)
            seen.add(self.next().kind)
            value = self.fill_value()
            filled = True
            if tok.kind in ("FILL", "FILL_LEFT"):
                fill_left = value
            if tok.kind in ("FILL", "FILL_RIGHT"):
                fill_right = value
        matching = VectorMatching(card=card, on=on, labels=labels, include=include,
                                  fill_left=fill_left, fill_right=fill_right)
        return return_bool, matching, filled

    def fill_value(self) -> float:
        self.ctx.append(("fill modifier", "number"))
        self.expect("LPAREN")
        sign = 1.0
        if self.peek().kind in ("ADD", "SUB"):
            sign = -1.0 if self.next().kind == "SUB" else 1.0
        tok = self.peek()
        if tok.kind == "NUMBER":
            self.next()
            try:
                value = go_number(tok.text)
            except ValueError as e:
                raise self.fail(str(e), tok.pos) from None
        elif tok.kind == "DURATION":
            value = self.duration_literal().value
        else:
            raise self.unexpected(tok)
        self.expect("RPAREN", '")"')
        self.ctx.pop()
        return sign * value

    def binary(self, op: str, lhs: Expr, rhs: Expr, return_bool: bool,
               written: VectorMatching, filled: bool) -> Expr:
        if filled and not self.experimental:
            raise self.fail("binop fill modifiers are experimental and not enabled", lhs.pos)
        matching = None
        if self.types[id(lhs)] == self.types[id(rhs)] == ValueType.VECTOR:
            matching = written
            if op in _SET_OPS and written.card == "one-to-one":
                matching = replace(written, card="many-to-many")
        n = self.node(BinaryExpr(op=op, lhs=lhs, rhs=rhs, return_bool=return_bool,
                                 matching=matching, pos=lhs.pos, end=rhs.end))
        self.written_matching[id(n)] = written
        return n

    # -- [range], [range:step] --
    def range_or_subquery(self, e: Expr) -> Expr:
        lb = self.next()
        self.ctx.append(_RANGE_CTX)
        rng = self.positive_duration()
        tok = self.peek()
        if tok.kind == "RBRACKET":
            self.next()
            self.ctx.pop()
            if not isinstance(e, VectorSelector):
                raise self.fail("ranges only allowed for vector selectors", lb.pos)
            if e.offset != 0 or id(e) in self.offset_by_expr:
                raise self.fail("no offset modifiers allowed before range", lb.pos)
            if e.at is not None and not isinstance(e.at, str):
                raise self.fail("no @ modifiers allowed before range", lb.pos)
            return self.node(MatrixSelector(vs=e, range=rng, pos=e.pos, end=tok.end))
        if tok.kind != "COLON":
            raise self.unexpected(tok)
        self.next()
        self.ctx[-1] = _STEP_CTX
        step = None if self.peek().kind == "RBRACKET" else self.positive_duration()
        close = self.expect("RBRACKET")
        self.ctx.pop()
        return self.node(SubqueryExpr(expr=e, range=rng, step=step, pos=e.pos, end=close.end))

    # -- duration expressions --
    def duration_literal(self) -> NumberLiteral:
        tok = self.next()
        if tok.kind == "NUMBER":
            try:
                value = go_number(tok.text)
            except ValueError as e:
                raise self.fail(str(e), tok.pos) from None
        else:
            try:
                value = _seconds_of_ns(_duration_ns(tok.text))
            except ValueError as e:
                raise self.fail(str(e), tok.pos) from None
        return NumberLiteral(value=value, pos=tok.pos, end=tok.end)

    def checked_literal(self) -> NumberLiteral:
        lit = self.duration_literal()
        if not -MAX_SECONDS <= lit.value <= MAX_SECONDS:
            raise self.fail("duration out of range", lit.pos)
        return lit

    def dur_expr(self, min_prec: int) -> Expr:
        lhs = self.dur_unary()
        return self.dur_continue(lhs, min_prec)

    def dur_continue(self, lhs: Expr, min_prec: int) -> Expr:
        while True:
            tok = self.peek()
            spec = _DURATION_BINARY.get(tok.kind)
            if spec is None or spec[1] < min_prec:
                return lhs
            op, prec = spec
            self.next()
            rhs = self.dur_expr(prec if op == "^" else prec + 1)
            if op in ("/", "%") and isinstance(rhs, NumberLiteral) and rhs.value == 0:
                raise self.fail("division by zero" if op == "/" else "modulo by zero", tok.pos)
            lhs = BinaryExpr(op=op, lhs=lhs, rhs=rhs, pos=lhs.pos, end=rhs.end)

    def dur_unary(self) -> Expr:
        tok = self.peek()
        if tok.kind not in ("ADD", "SUB"):
            return self.dur_primary()
        self.next()
        return self.dur_sign(tok, self.dur_expr(3))

    def dur_sign(self, tok: Token, operand: Expr) -> Expr:
        if isinstance(operand, NumberLiteral):
            v = -operand.value if tok.kind == "SUB" else operand.value
            if not -MAX_SECONDS <= v <= MAX_SECONDS:
                raise self.fail("duration out of range", tok.pos)
            return NumberLiteral(value=v, pos=tok.pos, end=operand.end)
        if tok.kind == "ADD":
            return operand
        return UnaryExpr(op="-", expr=operand, pos=tok.pos, end=operand.end)

    def dur_primary(self) -> Expr:
        tok = self.peek()
        k = tok.kind
        if k in _NUMBERS:
            return self.checked_literal()
        if k in ("STEP", "RANGE"):
            self.next()
            self.expect("LPAREN")
            close = self.expect("RPAREN")
            return Call(func=k.lower(), return_type=ValueType.SCALAR, pos=tok.pos, end=close.end)
        if k in ("MIN_OF", "MAX_OF") or (k == "IDENT" and tok.text in ("min_of", "max_of")):
            self.next()
            self.expect("LPAREN")
            a = self.dur_expr(0)
            self.expect("COMMA")
            b = self.dur_expr(0)
            close = self.expect("RPAREN")
            return Call(func=tok.text.lower(), args=(a, b), return_type=ValueType.SCALAR,
                        pos=tok.pos, end=close.end)
        if k == "LPAREN":
            self.next()
            inner = self.dur_expr(0)
            close = self.expect("RPAREN")
            if isinstance(inner, NumberLiteral):
                return inner
            return ParenExpr(expr=inner, pos=tok.pos, end=close.end)
        raise self.unexpected(tok)

    def positive_duration(self) -> Duration:
        node = self.dur_expr(0)
        if isinstance(node, NumberLiteral):
            if node.value <= 0:
                raise self.fail("duration must be greater than 0", node.pos)
            if _literal_ms(node.value) == 0:  # positive but under 1ms: evaluates to 0ms
                return DurationExpr(expr=node, pos=node.pos, end=node.end)
            return _literal_ms(node.value)
        return self.fold(node, allow_negative=False)

    def fold(self, node: Expr, *, allow_negative: bool) -> Duration:
        """Constant-fold a duration expression to milliseconds when Prometheus would compute
        a valid duration from it; otherwise keep it for the evaluator."""
        if isinstance(node, NumberLiteral):
            return _literal_ms(node.value)
        if not uses_query_params(node):
            try:
                v = duration_seconds(node)
            except QueryError:
                v = math.nan
            if not math.isnan(v) and abs(v) <= MAX_SECONDS and (allow_negative or v > 0):
                ms = int(v * 1000)
                if allow_negative or ms > 0:
                    return ms
        inner = node
        while isinstance(inner, ParenExpr):  # outer parentheses carry no meaning
            inner = inner.expr
        return DurationExpr(expr=inner, pos=node.pos, end=node.end)

    # -- offset, @, anchored/smoothed --
    def offset_operand(self) -> Expr:
        """Prometheus' offset_duration_expr: a signed literal, step()/range()/min_of/max_of
        or a parenthesised expression ends the operand, so ``foo offset 5m * 2`` multiplies
        the selector; only an unsigned ``( ... )`` may continue as duration arithmetic."""
        tok = self.peek()
        if tok.kind in ("ADD", "SUB"):
            self.next()
            if self.peek().kind not in (*_NUMBERS, "STEP", "RANGE", "MIN_OF", "MAX_OF", "LPAREN",
                                        "IDENT"):
                raise self.unexpected(self.peek())
            return self.dur_sign(tok, self.dur_primary())
        if tok.kind == "LPAREN":
            return self.dur_continue(self.dur_primary(), 0)
        return self.dur_primary()

    def offset(self, e: Expr) -> Expr:
        self.next()
        self.ctx.append(("offset", _OFFSET_EXPECTED))
        node = self.offset_operand()
        self.ctx.pop()
        value = self.fold(node, allow_negative=True)
        by_expr = not isinstance(node, NumberLiteral)
        target = e.vs if isinstance(e, MatrixSelector) else e
        if not isinstance(e, VectorSelector | MatrixSelector | SubqueryExpr):
            raise self.fail("offset modifier must be preceded by an instant vector selector or "
                            "range vector selector or a subquery", e.pos)
        if target.offset != 0 or id(target) in self.offset_by_expr:
            raise self.fail("offset may not be set multiple times", e.pos)
        if isinstance(e, MatrixSelector):
            vs = self.moved(e.vs, replace(e.vs, offset=value))
            if by_expr:
                self.offset_by_expr.add(id(vs))
            return self.moved(e, replace(e, vs=vs, end=self.prev_end))
        new = self.moved(e, replace(e, offset=value, end=self.prev_end))
        if by_expr:
            self.offset_by_expr.add(id(new))
        return new

    def at(self, e: Expr) -> Expr:
        self.next()
        self.ctx.append(("@", "timestamp"))
        tok = self.peek()
        at: float | str
        if tok.kind in ("START", "END"):
            self.next()
            self.expect("LPAREN")
            self.expect("RPAREN")
            at = tok.kind.lower()
        else:
            sign = 1.0
            if tok.kind in ("ADD", "SUB"):
                sign = -1.0 if self.next().kind == "SUB" else 1.0
            if self.peek().kind not in _NUMBERS:
                raise self.unexpected(self.peek())
            ts = sign * self.duration_literal().value
            if math.isnan(ts) or not -_MAX_TIMESTAMP < ts < _MAX_TIMESTAMP:
                shown = "NaN" if math.isnan(ts) else "+Inf" if ts == math.inf else \
                    "-Inf" if ts == -math.inf else f"{ts:f}"
                raise self.fail(f"timestamp out of bounds for @ modifier: {shown}", e.pos)
            at = _go_round(ts * 1000) / 1000
        self.ctx.pop()
        target = e.vs if isinstance(e, MatrixSelector) else e
        if not isinstance(e, VectorSelector | MatrixSelector | SubqueryExpr):
            raise self.fail("@ modifier must be preceded by an instant vector selector or range "
                            "vector selector or a subquery", e.pos)
        if target.at is not None:
            raise self.fail("@ <timestamp> may not be set multiple times", e.pos)
        if isinstance(e, MatrixSelector):
            vs = self.moved(e.vs, replace(e.vs, at=at))
            return self.moved(e, replace(e, vs=vs, end=self.prev_end))
        return self.moved(e, replace(e, at=at, end=self.prev_end))

    def extended_range(self, e: Expr) -> Expr:
        kw = self.next().kind.lower()
        other = "smoothed" if kw == "anchored" else "anchored"
        if not self.experimental:
            raise self.fail(f"{kw} modifier is experimental and not enabled", e.pos)
        if isinstance(e, SubqueryExpr):
            raise self.fail(f"{kw} modifier is not supported for subqueries", e.pos)
        if not isinstance(e, VectorSelector | MatrixSelector):
            raise self.fail(f"{kw} modifier not implemented", e.pos)
        target = e.vs if isinstance(e, MatrixSelector) else e
        if getattr(target, other):
            raise self.fail("anchored and smoothed modifiers cannot be used together", e.pos)
        vs = self.moved(target, replace(target, **{kw: True}))
        return self.moved(e, replace(e, vs=vs)) if isinstance(e, MatrixSelector) else vs


# ---- type checking (checkAST of parse.go) -------------------------------------------------


class _Checker:
    """Prometheus' ``checkAST``, run on a syntactically valid tree, in its traversal order
    (children first for binary expressions, argument count before argument types for calls,
    the aggregated expression before the aggregation parameter)."""

    def __init__(self, p: _Parser) -> None:
        self.p = p
        self.bypass: set[int] = set()

    def fail(self, message: str, pos: int) -> ParseError:
        return self.p.fail(message, pos)

    def expect_type(self, node: Expr, want: str, context: str) -> None:
        t = self.check(node)
        if t != want:
            raise self.fail(f"expected type {_documented(want)} in {context}, got "
                            f"{_documented(t)}", node.pos)

    def op_start(self, n: BinaryExpr) -> int:
        i = n.lhs.end
        while i < len(self.p.text) and self.p.text[i] in " \t\n\r":
            i += 1
        return i

    def check(self, n: Expr) -> str:
        typ = self.p.types[id(n)]
        if isinstance(n, AggregateExpr):
            self.expect_type(n.expr, ValueType.VECTOR, "aggregation expression")
            if n.op in ("topk", "bottomk", "quantile", "limitk", "limit_ratio"):
                self.expect_type(n.param, ValueType.SCALAR, "aggregation parameter")
            if n.op == "count_values":
                self.expect_type(n.param, ValueType.STRING, "aggregation parameter")
        elif isinstance(n, BinaryExpr):
            self.check_binary(n)
        elif isinstance(n, Call):
            self.check_call(n)
        elif isinstance(n, ParenExpr):
            self.check(n.expr)
        elif isinstance(n, UnaryExpr):
            t = self.check(n.expr)
            if t not in (ValueType.SCALAR, ValueType.VECTOR):
                raise self.fail("unary expression only allowed on expressions of type scalar or "
                                f"instant vector, got {go_quote(_documented(t))}", n.pos)
        elif isinstance(n, SubqueryExpr):
            t = self.check(n.expr)
            if t != ValueType.VECTOR:
                raise self.fail(f"subquery is only allowed on instant vector, got {t} instead",
                                n.pos)
        elif isinstance(n, MatrixSelector):
            self.check(n.vs)
        elif isinstance(n, VectorSelector):
            self.check_selector(n)
        return typ

    def check_binary(self, n: BinaryExpr) -> None:
        types = self.p.types
        lt, rt = self.check(n.lhs), self.check(n.rhs)
        w = self.p.written_matching[id(n)]
        if n.return_bool and n.op not in _COMPARISONS:
            raise self.fail("bool modifier can only be used on comparison operators",
                            self.op_start(n))
        if (n.op in _COMPARISONS and not n.return_bool
                and types[id(n.lhs)] == types[id(n.rhs)] == ValueType.SCALAR):
            raise self.fail("comparisons between scalars must use BOOL modifier", self.op_start(n))
        card = "many-to-many" if n.op in _SET_OPS and w.card == "one-to-one" else w.card
        if w.on:
            for l1 in w.labels:
                if l1 in w.include:
                    raise self.fail(f"label {go_quote(l1)} must not occur in ON and GROUP clause "
                                    "at once", self.op_start(n))
        for side, t in ((n.lhs, lt), (n.rhs, rt)):
            if t not in (ValueType.SCALAR, ValueType.VECTOR):
                raise self.fail("binary expression must contain only scalar and instant vector "
                                "types", side.pos)
        filled = w.fill_left is not None or w.fill_right is not None
        if lt != ValueType.VECTOR or rt != ValueType.VECTOR:
            if w.labels:
                raise self.fail("vector matching only allowed between instant vectors", n.pos)
            if filled:
                raise self.fail("filling in missing series only allowed between instant vectors",
                                n.pos)
        elif n.op in _SET_OPS:
            if card in ("one-to-many", "many-to-one"):
                raise self.fail(f"no grouping allowed for {go_quote(n.op)} operation", n.pos)
            if filled:
                raise self.fail("filling in missing series not allowed for set operators", n.pos)
        if ValueType.SCALAR in (lt, rt) and n.op in _SET_OPS:
            raise self.fail(f"set operator {go_quote(n.op)} not allowed in binary scalar "
                            "expression", n.pos)

    def check_call(self, n: Call) -> None:
        sig = FUNCTIONS[n.func]
        nargs, got, name = len(sig.arg_types), len(n.args), f'"{n.func}"'  # names are ASCII
        if sig.variadic == 0:
            if nargs != got:
                raise self.fail(f"expected {nargs} argument(s) in call to {name}, got {got}",
                                n.pos)
        else:
            na = nargs - 1
            if na > got:
                raise self.fail(f"expected at least {na} argument(s) in call to {name}, got "
                                f"{got}", n.pos)
            if sig.variadic > 0 and na + sig.variadic < got:
                raise self.fail(f"expected at most {na + sig.variadic} argument(s) in call to "
                                f"{name}, got {got}", n.pos)
        if n.func == "info" and got > 1:
            second = n.args[1]
            t = self.p.types[id(second)]
            if t != ValueType.VECTOR:
                raise self.fail(f"expected type instant vector in call to function {name}, got "
                                f"{_documented(t)}", n.pos)
            if isinstance(second, VectorSelector) and second.name:
                raise self.fail("expected label selectors only, got vector selector instead",
                                second.pos)
            if not isinstance(second, VectorSelector):
                raise self.fail("expected label selectors only", second.pos)
            self.bypass.add(id(second))
        for i, arg in enumerate(n.args):
            if i >= nargs:
                if sig.variadic == 0:
                    break
                i = nargs - 1
            t = self.check(arg)
            if t != sig.arg_types[i]:
                raise self.fail(f"expected type {_documented(sig.arg_types[i])} in call to "
                                f"function {name}, got {_documented(t)}", arg.pos)

    def check_selector(self, n: VectorSelector) -> None:
        if n.name:
            for m in n.matchers[:-1]:
                if m.name == "__name__":
                    raise self.fail("metric name must not be set twice: "
                                    f"{go_quote(n.name)} or {go_quote(m.value)}", n.pos)
            return
        if id(n) not in self.bypass and all(m.matches_empty() for m in n.matchers):
            raise self.fail("vector selector must contain at least one non-empty matcher", n.pos)


# ---- public entry point -------------------------------------------------------------------


def parse_expr(text: str, *, experimental: bool = False) -> Expr:
    """Parse a PromQL expression into our syntax tree.

    ``experimental=True`` enables what Prometheus puts behind feature flags: experimental
    functions and the ``limitk``/``limit_ratio`` aggregators, ``anchored``/``smoothed``
    range selectors, and the ``fill()``/``fill_left()``/``fill_right()`` binary modifiers.
    Duration arithmetic (``[5m+1m]``) is always on, as in Prometheus 3.14.

    Raises :class:`~engine.errors.ParseError` with Prometheus' message and position.

    >>> str(parse_expr('a / on(x) group_left(y) b offset -5m'))
    'a / on (x) group_left (y) b offset -5m'
    >>> parse_expr('limitk(2, x)')  # doctest: +ELLIPSIS
    Traceback (most recent call last):
      ...
    engine.errors.ParseError: 1:1: parse error: limitk() is experimental and must be ...
    """
    if not isinstance(text, str):
        raise TypeError(f"parse_expr needs a str, got {type(text).__name__}")
    return _parse_cached(text, experimental)


@functools.lru_cache(maxsize=1024)
def _parse_cached(text: str, experimental: bool) -> Expr:
    # Trees are immutable, so a query asked again (rules, dashboards) is parsed once.
    # Errors are not cached: lru_cache does not store exceptions.
    try:
        return _Parser(text, experimental).parse()
    except RecursionError:
        raise ParseError("expression nesting is too deep to parse", 0, text) from None
