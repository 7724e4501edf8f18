"""Property tests of the parser: random syntax trees print to PromQL that parses back to the
same tree, and no input makes the parser fail with anything but a ParseError.

The tree strategy only builds trees the parser itself can produce: parentheses where
precedence needs them, no unary minus directly on a number (the parser folds it), types
that pass Prometheus' checks.
"""

from __future__ import annotations

import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.errors import ParseError
from engine.promql import nodes as N
from engine.promql.lex import KEYWORDS, tokenize
from engine.promql.nodes import strip_positions
from engine.promql.parse import FUNCTIONS, parse_duration, parse_expr
from engine.store.index import Matcher

SETTINGS = settings(max_examples=300, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])

SC, VEC, MAT, STR = N.ValueType.SCALAR, N.ValueType.VECTOR, N.ValueType.MATRIX, N.ValueType.STRING

# ---- leaves -------------------------------------------------------------------------------------

_NOT_METRIC = {"bool", "on", "ignoring", "group_left", "group_right", "atan2", "fill",
               "fill_left", "fill_right", "inf", "nan"}
metric_names = st.from_regex(r"[a-z_][a-z0-9_:]{0,7}", fullmatch=True).filter(
    lambda s: s.lower() not in _NOT_METRIC)
_legacy_labels = st.from_regex(r"[a-zA-Z_][a-zA-Z0-9_]{0,6}", fullmatch=True)
label_names = st.one_of(
    st.sampled_from(["job", "le", "code", "by", "on", "without", "Inf", "bool", "offset"]),
    _legacy_labels, st.text(min_size=1, max_size=4),
).filter(lambda s: s != "__name__")
label_values = st.one_of(st.sampled_from(["", "a", "200", "x y", 'q"\\']), st.text(max_size=4))
regexes = st.sampled_from(["a.*", ".+", "x|y", "[0-9]+", "", "é?", "(a|b)c"])
# Prometheus turns a duration literal into float seconds and back into nanoseconds, which is
# exact only below 2**53 ns (about 104 days); longer ones may lose their last millisecond
# (see test_long_durations_lose_precision_as_in_prometheus).
_EXACT_MS = 2**53 // 10**6
millis = st.integers(min_value=1, max_value=_EXACT_MS)
offsets = st.one_of(st.just(0), st.integers(-_EXACT_MS, _EXACT_MS))
ats = st.one_of(st.none(), st.sampled_from(["start", "end"]),
                st.integers(-10**12, 10**12).map(lambda ms: ms / 1000))
numbers = st.one_of(st.floats(min_value=0, allow_infinity=True), st.just(math.nan),
                    st.integers(0, 10**6).map(float))


def duration_exprs() -> st.SearchStrategy[N.DurationExpr]:
    """Duration arithmetic that needs the query's step or range (so it is not folded)."""
    param = st.sampled_from(["step", "range"]).map(
        lambda f: N.Call(func=f, return_type=SC))
    lit = st.integers(1, 3600).map(float).map(lambda v: N.NumberLiteral(value=v))

    def binary(pair):
        (op, a), b = pair
        if isinstance(a, N.BinaryExpr) and op == "*" and a.op in "+-":
            a = N.ParenExpr(expr=a)  # keep the tree what the parser would build
        return N.BinaryExpr(op=op, lhs=a, rhs=b)

    tree = st.recursive(
        param,
        lambda inner: st.one_of(
            st.tuples(st.tuples(st.sampled_from(["+", "-", "*"]), inner), lit).map(binary),
            st.tuples(inner, lit).map(lambda p: N.Call(func="max_of", args=p,
                                                       return_type=SC)),
            inner.map(lambda e: N.ParenExpr(expr=e)),
        ),
        max_leaves=4,
    )
    # the parser drops parentheses around a whole duration expression
    return tree.filter(lambda e: not isinstance(e, N.ParenExpr)).map(
        lambda e: N.DurationExpr(expr=e))


durations = st.one_of(millis, duration_exprs())


@st.composite
def vector_selectors(draw, experimental=True) -> N.VectorSelector:
    name = draw(st.one_of(st.just(""), metric_names))
    matchers = []
    for _ in range(draw(st.integers(0, 2))):
        op = draw(st.sampled_from(["=", "!=", "=~", "!~"]))
        value = draw(regexes if op in ("=~", "!~") else label_values)
        matchers.append(Matcher(draw(label_names), op, value))
    if not name:  # at least one matcher must not match the empty string
        matchers.append(Matcher(draw(label_names), "=", draw(label_values.filter(bool))))
        if draw(st.booleans()):
            matchers.insert(0, Matcher("__name__", "=", draw(st.text(min_size=1, max_size=4))))
    else:
        matchers.append(Matcher("__name__", "=", name))
    flags = draw(st.sampled_from([(False, False), (True, False), (False, True)]))
    return N.VectorSelector(name=name, matchers=tuple(matchers), offset=draw(offsets),
                            at=draw(ats), anchored=flags[0], smoothed=flags[1])


# ---- typed expression trees -----------------------------------------------------------------

_PREC = {"or": 1, "and": 2, "unless": 2, "==": 3, "!=": 3, "<=": 3, "<": 3, ">=": 3, ">": 3,
         "+": 4, "-": 4, "*": 5, "/": 5, "%": 5, "atan2": 5, "</": 5, ">/": 5, "^": 6}
_ARITH = ["+", "-", "*", "/", "%", "^", "atan2"]
_CMP = ["==", "!=", "<=", "<", ">=", ">"]


def _prec(e: N.Expr) -> int:
    if isinstance(e, N.BinaryExpr):
        return _PREC[e.op]
    if isinstance(e, N.UnaryExpr) or (isinstance(e, N.NumberLiteral)
                                      and math.copysign(1, e.value) < 0):
        return 5  # unary minus binds like '*'
    return 10


def _wrap(e: N.Expr) -> N.Expr:
    return N.ParenExpr(expr=e)


def _postfixable(e: N.Expr) -> N.Expr:
    """Something a [range:step] can follow directly."""
    if isinstance(e, N.BinaryExpr | N.UnaryExpr | N.NumberLiteral | N.SubqueryExpr):
        return _wrap(e)
    return e


def make_binary(op, lhs, rhs, return_bool=False, matching=None) -> N.BinaryExpr:
    p = _PREC[op]
    right_assoc = op == "^"
    if _prec(lhs) < p or (_prec(lhs) == p and right_assoc) or (
            op == "^" and isinstance(lhs, N.UnaryExpr | N.NumberLiteral) and _prec(lhs) == 5):
        lhs = _wrap(lhs)
    signed = not isinstance(rhs, N.BinaryExpr) and _prec(rhs) == 5  # "-x" parses anywhere
    if not signed and (_prec(rhs) < p or (_prec(rhs) == p and not right_assoc)):
        rhs = _wrap(rhs)
    return N.BinaryExpr(op=op, lhs=lhs, rhs=rhs, return_bool=return_bool, matching=matching)


def scalar_leaf():
    return st.one_of(
        numbers.map(lambda v: N.NumberLiteral(value=v)),
        st.sampled_from(["time", "pi", "step"]).map(lambda f: N.Call(func=f, return_type=SC)),
    )


@st.composite
def matrices(draw, depth: int) -> N.Expr:
    if depth == 0 or draw(st.booleans()):
        return N.MatrixSelector(vs=draw(vector_selectors()), range=draw(durations))
    inner = _postfixable(draw(typed(VEC, depth - 1)))
    step = draw(st.one_of(st.none(), durations))
    return N.SubqueryExpr(expr=inner, range=draw(durations), step=step, offset=draw(offsets),
                          at=draw(ats))


@st.composite
def calls(draw, want: str, depth: int) -> N.Expr:
    names = [n for n, s in FUNCTIONS.items() if s.return_type == want and n != "info"]
    sig = FUNCTIONS[draw(st.sampled_from(names))]
    count = sig.min_args
    if sig.max_args is None or sig.max_args > count:
        count += draw(st.integers(0, 1))
    args = []
    for i in range(count):
        t = sig.arg_types[min(i, len(sig.arg_types) - 1)]
        if t == STR:
            args.append(N.StringLiteral(value=draw(label_values)))
        elif t == MAT:
            args.append(draw(matrices(depth)))
        else:
            args.append(draw(typed(t, depth - 1)))
    return N.Call(func=sig.name, args=tuple(args), return_type=sig.return_type)


@st.composite
def aggregations(draw, depth: int) -> N.Expr:
    op = draw(st.sampled_from(["sum", "avg", "count", "min", "max", "group", "stddev",
                               "stdvar", "topk", "bottomk", "quantile", "count_values",
                               "limitk", "limit_ratio"]))
    param = None
    if op == "count_values":
        param = N.StringLiteral(value=draw(label_values))
    elif op in ("topk", "bottomk", "quantile", "limitk", "limit_ratio"):
        param = draw(typed(SC, depth - 1))
    clause = draw(st.sampled_from(["none", "by", "without"]))
    grouping = tuple(draw(st.lists(label_names, max_size=3))) if clause != "none" else ()
    return N.AggregateExpr(op=op, expr=draw(typed(VEC, depth - 1)), param=param,
                           grouping=grouping, without=clause == "without", by=clause == "by")


@st.composite
def vector_binaries(draw, depth: int) -> N.Expr:
    op = draw(st.sampled_from(_ARITH + _CMP + ["and", "or", "unless", "</", ">/"]))
    lhs = draw(typed(VEC, depth - 1))
    set_op = op in ("and", "or", "unless")
    rhs = draw(typed(VEC if set_op or draw(st.booleans()) else SC, depth - 1))
    return_bool = op in _CMP and draw(st.booleans())
    if rhs.type == SC:
        return make_binary(op, lhs, rhs, return_bool)
    card = "many-to-many" if set_op else "one-to-one"
    on = draw(st.booleans())
    labels = tuple(draw(st.lists(label_names, max_size=2, unique=True))) if on or draw(
        st.booleans()) else ()
    include: tuple[str, ...] = ()
    if not set_op and draw(st.booleans()):
        card = draw(st.sampled_from(["many-to-one", "one-to-many"]))
        include = tuple(x for x in draw(st.lists(label_names, max_size=2, unique=True))
                        if not on or x not in labels)
    fill_left = fill_right = None
    if not set_op and draw(st.booleans()):
        fill_left = draw(st.one_of(st.none(), st.floats()))
        fill_right = draw(st.one_of(st.none(), st.floats()))
    matching = N.VectorMatching(card=card, on=on, labels=labels, include=include,
                                fill_left=fill_left, fill_right=fill_right)
    return make_binary(op, lhs, rhs, return_bool, matching)


@st.composite
def typed(draw, want: str, depth: int) -> N.Expr:
    """A random tree of type ``want`` (scalar or vector) at most ``depth`` levels deep."""
    if depth <= 0:
        return draw(scalar_leaf() if want == SC else vector_selectors())
    kind = draw(st.sampled_from(["leaf", "call", "binary", "unary", "paren"]
                                + (["agg", "agg"] if want == VEC else [])))
    if kind == "leaf":
        return draw(typed(want, 0))
    if kind == "call":
        return draw(calls(want, depth))
    if kind == "agg":
        return draw(aggregations(depth))
    if kind == "paren":
        return _wrap(draw(typed(want, depth - 1)))
    if kind == "unary":
        e = draw(typed(want, depth - 1))
        if isinstance(e, N.NumberLiteral) or _prec(e) < 6:
            e = _wrap(e)
        return N.UnaryExpr(op=draw(st.sampled_from(["-", "+"])), expr=e)
    if want == VEC:
        return draw(vector_binaries(depth))
    op = draw(st.sampled_from(_ARITH + _CMP))
    return make_binary(op, draw(typed(SC, depth - 1)), draw(typed(SC, depth - 1)),
                       return_bool=op in _CMP)


def expressions():
    return st.tuples(st.sampled_from([SC, VEC]), st.integers(0, 4)).flatmap(
        lambda p: typed(p[0], p[1]))


# ---- properties ---------------------------------------------------------------------------------


def _round_trip(tree: N.Expr) -> None:
    text = str(tree)
    parsed = parse_expr(text, experimental=True)
    assert repr(strip_positions(parsed)) == repr(strip_positions(tree)), text
    for node in N.walk(parsed):
        assert 0 <= node.pos < node.end <= len(text), (text, node)


@SETTINGS
@given(expressions())
def test_printed_trees_parse_back_to_the_same_tree(tree):
    _round_trip(tree)


@SETTINGS
@given(st.one_of(calls(VEC, 2), vector_binaries(2), aggregations(2), matrices(2).map(
    lambda m: N.Call(func="count_over_time", args=(m,), return_type=VEC))))
def test_calls_binaries_and_range_selectors_round_trip(tree):
    _round_trip(tree)


@SETTINGS
@given(expressions())
def test_printing_is_stable(tree):
    text = str(tree)
    assert str(parse_expr(text, experimental=True)) == text


_PIECES = ["foo", "sum", "by", "(", ")", "[", "]", "{", "}", "5m", "1", "-", "+", "*", "^",
           ",", "offset", "@", "start()", "bool", "on", "group_left", '"x"', "a=", "=~",
           ":", "rate", " ", "#c\n", "and", "fill(", "anchored", "</", "1e", "0x", "é", "'",
           "`", "\\", "step()", "min_of", "\n", '"\\xff"', "{a=~", "}", "0.5", ":", "[5m:]",
           "count_values(", "info(", "limitk(", "!=", "==", "<=", "/", "%", "'\\u00e9'"]


@SETTINGS
@given(st.one_of(st.text(max_size=30), st.lists(st.sampled_from(_PIECES), max_size=12).map(
    "".join)))
def test_any_input_parses_or_raises_a_parse_error(text):
    toks = tokenize(text)
    assert toks[-1].kind in ("EOF", "ERROR")
    try:
        tree = parse_expr(text, experimental=True)
    except ParseError as e:
        assert 0 <= e.position <= len(text)
        return
    assert repr(strip_positions(parse_expr(str(tree), experimental=True))) == repr(
        strip_positions(tree))


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=(1 << 63) // 10**6))
def test_durations_round_trip_through_their_printed_form(ms):
    assert parse_duration(N.format_duration(ms)) == ms


def test_keyword_table_is_lower_case():
    assert all(k == k.lower() for k in KEYWORDS)
