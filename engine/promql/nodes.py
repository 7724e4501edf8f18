"""Our own PromQL syntax tree. Only :mod:`engine.promql.parse` builds these nodes.

Every node records ``pos``, the 0-based character offset of its first character in the
query text, and ``end``, one past its last. Annotations report ``pos`` as Prometheus does
(``(1:25)``). Nodes are immutable; ``str(node)`` prints PromQL that parses back to an
equal tree (modulo positions).

Durations are int milliseconds, or a :class:`DurationExpr` when the query wrote duration
arithmetic that cannot be computed at parse time (``[step()*2]``, ``offset -range()``), which
the evaluator resolves once per query with
:func:`engine.promql.durations.resolve_duration`. Constant arithmetic (``[5m+1m]``,
``offset (1m*2)``) is folded to milliseconds by the parser.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields, replace

from ..store.index import Matcher

__all__ = [
    "ValueType",
    "Expr",
    "NumberLiteral",
    "StringLiteral",
    "VectorSelector",
    "MatrixSelector",
    "SubqueryExpr",
    "Call",
    "AggregateExpr",
    "BinaryExpr",
    "VectorMatching",
    "UnaryExpr",
    "ParenExpr",
    "DurationExpr",
    "Duration",
    "AtModifier",
    "format_duration",
    "walk",
    "children",
    "strip_positions",
]


class ValueType:
    SCALAR = "scalar"
    VECTOR = "vector"
    MATRIX = "matrix"
    STRING = "string"


@dataclass(frozen=True, slots=True, kw_only=True)
class Expr:
    pos: int = field(default=0, compare=False)
    end: int = field(default=0, compare=False)

    @property
    def type(self) -> str:  # pragma: no cover - overridden
        raise NotImplementedError

    def __str__(self) -> str:  # pragma: no cover - overridden
        raise NotImplementedError


@dataclass(frozen=True, slots=True, kw_only=True)
class DurationExpr(Expr):
    """Duration arithmetic, evaluated to seconds: ``expr`` is a tree of
    :class:`NumberLiteral` (seconds), :class:`BinaryExpr` (``+ - * / % ^``, no matching),
    :class:`UnaryExpr` (``-``), :class:`ParenExpr` and :class:`Call` of ``step()``,
    ``range()``, ``min_of(a, b)``, ``max_of(a, b)`` (3.14, on by default)."""

    expr: Expr

    @property
    def type(self) -> str:
        return ValueType.SCALAR

    def __str__(self) -> str:
        inner = str(self.expr)
        return inner if isinstance(self.expr, ParenExpr | NumberLiteral | Call) else f"({inner})"


#: A duration: int milliseconds, or an expression resolved at evaluation time.
Duration = int | DurationExpr

#: ``@`` modifier: unix seconds, or ``"start"`` / ``"end"`` (the query's start/end), or None.
AtModifier = float | str | None


def format_duration(ms: Duration) -> str:
    """Prometheus' ``model.Duration.String()``: ``90000`` -> ``1m30s``; ``0`` -> ``0s``.

    >>> format_duration(5400000), format_duration(1500), format_duration(-60000)
    ('1h30m', '1s500ms', '-1m')
    >>> format_duration(90 * 86400000), format_duration(14 * 86400000)
    ('90d', '2w')
    """
    if isinstance(ms, DurationExpr):
        return str(ms)
    if ms == 0:
        return "0s"
    sign = "-" if ms < 0 else ""
    ms = abs(ms)
    out = []
    # Years and weeks only when they divide exactly: 90d reads better than 12w6d.
    for unit, size, exact in (
        ("y", 31536000000, True),
        ("w", 604800000, True),
        ("d", 86400000, False),
        ("h", 3600000, False),
        ("m", 60000, False),
        ("s", 1000, False),
        ("ms", 1, False),
    ):
        if exact and ms % size:
            continue
        if ms >= size:
            out.append(f"{ms // size}{unit}")
            ms %= size
    return sign + "".join(out)


def _format_at(at: AtModifier) -> str:
    if at is None:
        return ""
    if isinstance(at, str):
        return f" @ {at}()"
    return f" @ {at:.3f}"


def _format_offset(offset: Duration) -> str:
    if isinstance(offset, DurationExpr):
        e = offset.expr
        if isinstance(e, Call) or (
            isinstance(e, UnaryExpr) and e.op == "-" and isinstance(e.expr, Call | ParenExpr)
        ):
            return f" offset {e}"
        # A parenthesised offset would swallow a following "* 2" (Prometheus' grammar lets
        # only a signed or atomic operand end the offset), so print it signed.
        return f" offset +({e})"
    if offset == 0:
        return ""
    if offset < 0:
        return f" offset -{format_duration(-offset)}"
    return f" offset {format_duration(offset)}"


def _format_number(v: float) -> str:
    from ..labels import format_go_float

    return format_go_float(v, "g")


def _quote(s: str) -> str:
    """Go's ``%q``, as Prometheus prints strings."""
    from ..gostrconv import quote as go_quote

    return go_quote(s)


def _label_name(name: str) -> str:
    """A label name inside ``{...}``: bare when it is a legacy name, else quoted."""
    import re

    return name if re.fullmatch(r"[a-zA-Z_][a-zA-Z0-9_]*", name) else _quote(name)


#: Words that cannot stand bare in a by/without/on/ignoring/group_x list.
_NOT_BARE_IN_GROUPING = frozenset({"without", "inf", "nan"})


def _grouping_label(name: str) -> str:
    """A label name in a grouping list: bare unless the lexer would read something else."""
    bare = _label_name(name)
    return _quote(name) if name.lower() in _NOT_BARE_IN_GROUPING else bare


def _grouping(names: tuple[str, ...]) -> str:
    return ", ".join(map(_grouping_label, names))


@dataclass(frozen=True, slots=True, kw_only=True)
class NumberLiteral(Expr):
    value: float

    @property
    def type(self) -> str:
        return ValueType.SCALAR

    def __str__(self) -> str:
        return _format_number(self.value)


@dataclass(frozen=True, slots=True, kw_only=True)
class StringLiteral(Expr):
    value: str

    @property
    def type(self) -> str:
        return ValueType.STRING

    def __str__(self) -> str:
        return _quote(self.value)


@dataclass(frozen=True, slots=True, kw_only=True)
class VectorSelector(Expr):
    """``name{matchers} [anchored|smoothed] offset d @ t``. ``matchers`` include the
    ``__name__`` matcher when a name was given."""

    name: str = ""
    matchers: tuple[Matcher, ...] = ()
    offset: Duration = 0
    at: AtModifier = None
    anchored: bool = False
    smoothed: bool = False

    @property
    def type(self) -> str:
        return ValueType.VECTOR

    def selector_text(self) -> str:
        import re

        ms = [
            m
            for m in self.matchers
            if not (m.name == "__name__" and m.op == "=" and m.value == self.name)
        ]
        inner = ", ".join(f"{_label_name(m.name)}{m.op}{_quote(m.value)}" for m in ms)
        if self.name and not re.fullmatch(r"[a-zA-Z_:][a-zA-Z0-9_:]*", self.name):
            return "{" + ", ".join([_quote(self.name)] + ([inner] if inner else [])) + "}"
        if self.name and not inner:
            return self.name
        return f"{self.name}{{{inner}}}"

    def modifiers_text(self) -> str:
        mod = " anchored" if self.anchored else " smoothed" if self.smoothed else ""
        return mod + _format_offset(self.offset) + _format_at(self.at)

    def __str__(self) -> str:
        return self.selector_text() + self.modifiers_text()


@dataclass(frozen=True, slots=True, kw_only=True)
class MatrixSelector(Expr):
    vs: VectorSelector
    range: Duration

    @property
    def type(self) -> str:
        return ValueType.MATRIX

    def __str__(self) -> str:
        rng = format_duration(self.range)
        return f"{self.vs.selector_text()}[{rng}]{self.vs.modifiers_text()}"


@dataclass(frozen=True, slots=True, kw_only=True)
class SubqueryExpr(Expr):
    """``expr[range:step] offset d @ t``; ``step`` None means the default resolution."""

    expr: Expr
    range: Duration
    step: Duration | None = None
    offset: Duration = 0
    at: AtModifier = None

    @property
    def type(self) -> str:
        return ValueType.MATRIX

    def __str__(self) -> str:
        step = "" if self.step is None else format_duration(self.step)
        return (
            f"{self.expr}[{format_duration(self.range)}:{step}]"
            f"{_format_offset(self.offset)}{_format_at(self.at)}"
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Call(Expr):
    func: str
    args: tuple[Expr, ...] = ()
    return_type: str = ValueType.VECTOR

    @property
    def type(self) -> str:
        return self.return_type

    def __str__(self) -> str:
        return f"{self.func}({', '.join(str(a) for a in self.args)})"


@dataclass(frozen=True, slots=True, kw_only=True)
class AggregateExpr(Expr):
    op: str
    expr: Expr
    param: Expr | None = None
    grouping: tuple[str, ...] = ()
    without: bool = False
    by: bool = False  # an explicit empty ``by ()`` prints; the meaning equals no clause

    @property
    def type(self) -> str:
        return ValueType.VECTOR

    def __str__(self) -> str:
        clause = ""
        if self.without:
            clause = f" without ({_grouping(self.grouping)}) "
        elif self.grouping or self.by:
            clause = f" by ({_grouping(self.grouping)}) "
        args = f"{self.param}, {self.expr}" if self.param is not None else str(self.expr)
        return f"{self.op}{clause}({args})"


@dataclass(frozen=True, slots=True, kw_only=True)
class VectorMatching:
    """How two vectors match: ``card`` is ``one-to-one``, ``many-to-one``
    (``group_left``), ``one-to-many`` (``group_right``) or ``many-to-many`` (set ops).
    ``on`` False with empty ``labels`` means match on all labels but the name.
    ``fill_left``/``fill_right`` are the experimental ``fill()`` values (None = off)."""

    card: str = "one-to-one"
    on: bool = False
    labels: tuple[str, ...] = ()
    include: tuple[str, ...] = ()
    fill_left: float | None = None
    fill_right: float | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class BinaryExpr(Expr):
    op: str
    lhs: Expr
    rhs: Expr
    return_bool: bool = False
    matching: VectorMatching | None = None

    @property
    def type(self) -> str:
        if self.lhs.type == ValueType.SCALAR and self.rhs.type == ValueType.SCALAR:
            return ValueType.SCALAR
        return ValueType.VECTOR

    def __str__(self) -> str:
        op = self.op + (" bool" if self.return_bool else "")
        m = self.matching
        mod = ""
        if m is not None:
            grouped = m.card in ("many-to-one", "one-to-many")
            if m.on or m.labels or grouped:
                mod += f" {'on' if m.on else 'ignoring'} ({_grouping(m.labels)})"
            if m.card == "many-to-one":
                mod += f" group_left ({_grouping(m.include)})"
            elif m.card == "one-to-many":
                mod += f" group_right ({_grouping(m.include)})"
            left, right = m.fill_left, m.fill_right
            if left is not None or right is not None:
                same = (
                    left is not None
                    and right is not None
                    and (left == right or (math.isnan(left) and math.isnan(right)))
                )
                if same:
                    mod += f" fill({_format_number(left)})"
                else:
                    if left is not None:
                        mod += f" fill_left({_format_number(left)})"
                    if right is not None:
                        mod += f" fill_right({_format_number(right)})"
        return f"{self.lhs} {op}{mod} {self.rhs}"


@dataclass(frozen=True, slots=True, kw_only=True)
class UnaryExpr(Expr):
    op: str  # "-" or "+"
    expr: Expr

    @property
    def type(self) -> str:
        return self.expr.type

    def __str__(self) -> str:
        return f"{self.op}{self.expr}"


@dataclass(frozen=True, slots=True, kw_only=True)
class ParenExpr(Expr):
    expr: Expr

    @property
    def type(self) -> str:
        return self.expr.type

    def __str__(self) -> str:
        return f"({self.expr})"


def children(node: Expr) -> list[Expr]:
    """Direct sub-expressions of ``node``, in source order."""
    if isinstance(node, MatrixSelector):
        return [node.vs]
    if isinstance(node, SubqueryExpr | UnaryExpr | ParenExpr | DurationExpr):
        return [node.expr]
    if isinstance(node, Call):
        return list(node.args)
    if isinstance(node, AggregateExpr):
        return ([node.param] if node.param is not None else []) + [node.expr]
    if isinstance(node, BinaryExpr):
        return [node.lhs, node.rhs]
    return []


def walk(node: Expr):
    """Pre-order traversal of the tree."""
    yield node
    for c in children(node):
        yield from walk(c)


def strip_positions(node):
    """A copy of the tree with every position zeroed (for structural comparison)."""
    if not isinstance(node, Expr):
        return node
    changes = {}
    for f in fields(node):
        v = getattr(node, f.name)
        if isinstance(v, Expr):
            changes[f.name] = strip_positions(v)
        elif isinstance(v, tuple) and v and isinstance(v[0], Expr):
            changes[f.name] = tuple(strip_positions(x) for x in v)
    return replace(node, pos=0, end=0, **changes)
