"""Tests of the PromQL parser against Prometheus 3.14's own expectations.

Error texts and positions come from prometheus/prometheus ``promql/parser/parse_test.go``;
the corpus is the upstream promqltest files in ``../shared/promqltest``.
"""

from __future__ import annotations

import csv
import math

import pytest
from conftest import shared_path

from engine.errors import ParseError, PromReplayError
from engine.promql import nodes as N
from engine.promql.durations import resolve_duration
from engine.promql.lex import tokenize
from engine.promql.nodes import strip_positions
from engine.promql.parse import FUNCTIONS, go_number, parse_duration, parse_expr
from engine.store.index import parse_matchers


def same_tree(a: N.Expr, b: N.Expr) -> bool:
    """Structural equality ignoring positions; NaN equals NaN, -0.0 differs from 0.0."""
    return repr(strip_positions(a)) == repr(strip_positions(b))


def corpus_rows() -> list[dict[str, str]]:
    path = shared_path("promqltest", "manifest-upstream.tsv")
    with open(path, newline="") as f:
        return list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))


# ---- the upstream corpus --------------------------------------------------------------------


def test_every_corpus_expression_parses_and_round_trips():
    rows = corpus_rows()
    assert len(rows) > 1500
    failures = []
    for row in rows:
        expr = row["expr"]
        try:
            tree = parse_expr(expr, experimental=True)
            again = parse_expr(str(tree), experimental=True)
        except ParseError as e:
            failures.append(f"{row['file']}:{row['line']}: {expr!r}: {e}")
            continue
        if not same_tree(tree, again):
            failures.append(f"{row['file']}:{row['line']}: {expr!r} printed as {str(tree)!r}")
    assert not failures, "\n".join(failures[:20])


def test_corpus_experimental_syntax_needs_the_flag():
    """Expressions the manifest marks as needing experimental features are refused without
    ``experimental=True`` (duration arithmetic is on by default in 3.14, so not those)."""
    refused, checked = 0, 0
    for row in corpus_rows():
        flags = set(row["flags"].split(","))
        if not flags & {"expfn", "extrange", "fill"} or "fail" in flags:
            continue
        checked += 1
        with pytest.raises(ParseError) as info:
            parse_expr(row["expr"])
        refused += 1
        assert ("not enabled" in info.value.message
                or "must be enabled" in info.value.message), info.value.message
    assert checked == refused > 100
    for row in corpus_rows():
        if row["flags"] in ("durexpr", "") and row["tier"] in ("core", "exp"):
            parse_expr(row["expr"])  # no flag needed


# ---- Prometheus' error messages and positions (parse_test.go) ------------------------------

ERRORS = [
    ("", "no expression found in input", 0),
    ("# just a comment\n\n", "no expression found in input", 0),
    ("1+", "unexpected end of input", 2),
    (".", "unexpected character: '.'", 0),
    ("2.5.", 'bad number or duration syntax: "2.5."', 0),
    ("100..4", 'bad number or duration syntax: "100.."', 0),
    ("0deadbeef", 'bad number or duration syntax: "0de"', 0),
    ("1 /", "unexpected end of input", 3),
    ("*1", "unexpected <op:*>", 0),
    ("(1))", "unexpected right parenthesis ')'", 4),
    ("((1)", "unclosed left parenthesis", 4),
    ("9" * 309, 'error parsing number: strconv.ParseFloat: parsing "' + "9" * 309
     + '": value out of range', 0),
    ("(", "unclosed left parenthesis", 1),
    ("1 and 1", 'set operator "and" not allowed in binary scalar expression', 0),
    ("1 == 1", "comparisons between scalars must use BOOL modifier", 2),
    ("1 or 1", 'set operator "or" not allowed in binary scalar expression', 0),
    ("1 !~ 1", "unexpected character after '!': '~'", 2),
    ("1 =~ 1", "unexpected character after '=': '~'", 2),
    ('-"string"', "unary expression only allowed on expressions of type scalar or instant "
     'vector, got "string"', 0),
    ("-test[5m]", "unary expression only allowed on expressions of type scalar or instant "
     'vector, got "range vector"', 0),
    ("@@", "unexpected <op:@>", 0),
    ("1 offset 1d", "offset modifier must be preceded by an instant vector selector or range "
     "vector selector or a subquery", 0),
    ("foo offset 1s offset 2s", "offset may not be set multiple times", 0),
    ("a - on(b) ignoring(c) d", "unexpected <ignoring>", 10),
    ("foo and 1", 'set operator "and" not allowed in binary scalar expression', 0),
    ("1 or on(bar) foo", "vector matching only allowed between instant vectors", 0),
    ("foo == on(bar) 10", "vector matching only allowed between instant vectors", 0),
    ("foo + group_left(baz) bar", "unexpected <group_left>", 6),
    ("foo and on(bar) group_left(baz) bar", 'no grouping allowed for "and" operation', 0),
    ("foo unless on(bar) group_right(baz) bar", 'no grouping allowed for "unless" operation',
     0),
    ('http_requests{group="production"} + on(instance) group_left(job,instance) '
     'cpu_count{type="smp"}', 'label "instance" must not occur in ON and GROUP clause at once',
     34),
    ("foo + bool bar", "bool modifier can only be used on comparison operators", 4),
    ("foo and bool 10", "bool modifier can only be used on comparison operators", 4),
    ("foo @ +Inf", "timestamp out of bounds for @ modifier: +Inf", 0),
    ("foo @ NaN", "timestamp out of bounds for @ modifier: NaN", 0),
    ("foo @ 9223372036854775809.000000",
     "timestamp out of bounds for @ modifier: 9223372036854775808.000000", 0),
    ("{", "unexpected end of input inside braces", 1),
    ("}", "unexpected character: '}'", 0),
    ("some}", "unexpected character: '}'", 4),
    ("some_metric{a=b}", 'unexpected identifier "b" in label matching, expected string', 14),
    ('some_metric{a:b="b"}', "unexpected character inside braces: ':'", 13),
    ('foo{a>="b"}', "unexpected character inside braces: '>'", 5),
    ("foo{gibberish}", 'unexpected "}" in label matching, expected label matching operator',
     13),
    ("foo{1}", "unexpected character inside braces: '1'", 4),
    ("{}", "vector selector must contain at least one non-empty matcher", 0),
    ('{x=""}', "vector selector must contain at least one non-empty matcher", 0),
    ('{x=~".*"}', "vector selector must contain at least one non-empty matcher", 0),
    ('{x!="a"}', "vector selector must contain at least one non-empty matcher", 0),
    ('foo{__name__="bar"}', 'metric name must not be set twice: "foo" or "bar"', 0),
    ("foo{,}", 'unexpected "," in label matching, expected identifier or "}"', 4),
    ('foo{__name__ == "bar"}', 'unexpected "=" in label matching, expected string', 14),
    ('foo{__name__="bar" lol}', 'unexpected identifier "lol" in label matching, expected "," '
     'or "}"', 19),
    ("foo[5mm]", 'bad number or duration syntax: "5mm"', 4),
    ("foo[5m:1m1]", 'bad number or duration syntax: "1m1"', 7),
    ("foo[5y1hs]", 'unknown unit "hs" in duration "5y1hs"', 4),
    ("foo[5m1h]", 'not a valid duration string: "5m1h"', 4),
    ("foo[0m]", "duration must be greater than 0", 4),
    ('foo["5m"]', "unexpected character in duration expression: '\"'", 4),
    ("foo[]", 'unexpected "]" in subquery or range selector, expected number, duration, step(), '
     "or range()", 4),
    ("foo[-1]", "duration must be greater than 0", 4),
    ("some_metric[5m] OFFSET 1mm", 'bad number or duration syntax: "1mm"', 23),
    ("some_metric[5m] OFFSET", "unexpected end of input in offset, expected number, duration, "
     "step(), or range()", 22),
    ("some_metric OFFSET 1m[5m]", "no offset modifiers allowed before range", 21),
    ("some_metric[5m] @", "unexpected end of input in @, expected timestamp", 17),
    ("some_metric @ 1234 [5m]", "no @ modifiers allowed before range", 19),
    ("(foo + bar)[5m]", "ranges only allowed for vector selectors", 11),
    ('sum by ("foo)(some_metric{})', "unterminated quoted string", 8),
    ("sum without(==)(some_metric)", "unexpected <op:==> in grouping opts, expected label", 12),
    ("sum without(foo,,)(some_metric)", 'unexpected "," in grouping opts, expected label', 16),
    ("sum some_metric by (test)", 'unexpected identifier "some_metric"', 4),
    ("sum (some_metric) by test", 'unexpected identifier "test" in grouping opts, expected '
     '"("', 21),
    ("sum () by (test)", "no arguments for aggregate expression provided", 0),
    ("MIN (some_metric) keep_common", 'unexpected identifier "keep_common"', 18),
    ("sum without (test) (some_metric) by (test)", "unexpected <by>", 33),
    ("topk(some_metric)", "wrong number of arguments for aggregate expression provided, "
     "expected 2, got 1", 0),
    ("topk(some_metric,)", "trailing commas not allowed in function call args", 16),
    ("topk(some_metric, other_metric)", "expected type scalar in aggregation parameter, got "
     "instant vector", 5),
    ("count_values(5, other_metric)", "expected type string in aggregation parameter, got "
     "scalar", 13),
    ("rate(some_metric[5m]) @ 1234", "@ modifier must be preceded by an instant vector "
     "selector or range vector selector or a subquery", 0),
    ("floor()", 'expected 1 argument(s) in call to "floor", got 0', 0),
    ("floor(some_metric, 1)", 'expected 1 argument(s) in call to "floor", got 2', 0),
    ("floor(1)", 'expected type instant vector in call to function "floor", got scalar', 6),
    ("hour(some_metric, some_metric, some_metric)", 'expected at most 1 argument(s) in call '
     'to "hour", got 3', 0),
    ("label_join(x, \"a\")", 'expected at least 3 argument(s) in call to "label_join", got 2',
     0),
    ("time(some_metric)", 'expected 0 argument(s) in call to "time", got 1', 0),
    ("non_existent_function_far_bar()", 'unknown function with name '
     '"non_existent_function_far_bar"', 0),
    ("rate(some_metric)", 'expected type range vector in call to function "rate", got instant '
     "vector", 5),
    ("-=", 'unexpected "="', 1),
    ("++-++-+-+-<", "unexpected <op:<>", 10),
    ("a>b()", 'unknown function with name "b"', 2),
    ("rate(avg)", 'expected type range vector in call to function "rate", got instant vector',
     5),
    ("`\\``", "unterminated raw string", 3),
    ('"\\', "escape sequence not terminated", 0),
    ('"\\c"', "unknown escape sequence U+0063 'c'", 0),
    ('"\\x."', "illegal character U+002E '.' in escape sequence", 0),
    ('foo{bar="baz"}[', "unexpected end of input in duration expression", 15),
    ("test[5d] OFFSET 10s [10m:5s]", "subquery is only allowed on instant vector, got matrix "
     "instead", 0),
    ("rate(food[1m])[1h] offset 1h", "ranges only allowed for vector selectors", 14),
    ('info(rate(x[5m]), target_info{foo="bar"})', "expected label selectors only, got vector "
     "selector instead", 18),
    ('info(x{namespace="zzz"}, {foo="bar"} == 1)', "expected label selectors only", 25),
    ("foo[step]", 'unexpected "]" in subquery or range selector, expected number, duration, '
     "step(), or range()", 8),
    ("foo[step()/0d]", "division by zero", 10),
    ("foo offset (4d/0)", "division by zero", 14),
    ("foo[5s%0d]", "modulo by zero", 6),
    ("foo offset 9.5e10", "duration out of range", 11),
    ("sum(rate(", "unclosed left parenthesis", 9),
    ("foo[5s x 5s]", "unexpected character: 'x', expected ':'", 7),
    ("foo[5s s 5s]", "unexpected character: 's', expected ':'", 7),
    # contexts of syntax errors nested in error-recovering constructs
    ("sum(rate(foo bar))", 'unexpected identifier "bar" in aggregation', 13),
    ("sum by (a) foo", 'unexpected identifier "foo" in aggregation', 11),
    ("rate(foo bar)", 'unexpected identifier "bar"', 9),
    ("foo @ bar", 'unexpected identifier "bar" in @, expected timestamp', 6),
    ("foo[5m:1m 2m]", 'unexpected duration "2m" in subquery selector, expected number, '
     'duration, step(), range(), or "]"', 10),
    # errors the grammar finds in a syntactically complete tree come before type errors
    ("rate(foo) + bar{", "unexpected end of input inside braces", 16),
]


@pytest.mark.parametrize(("text", "message", "position"), ERRORS)
def test_prometheus_error_message_and_position(text, message, position):
    with pytest.raises(ParseError) as info:
        parse_expr(text, experimental=True)
    assert (info.value.message, info.value.position) == (message, position)
    line, col = 1 + text.count("\n", 0, position), position - (text.rfind("\n", 0, position) + 1)
    assert str(info.value) == f"{line}:{col + 1}: parse error: {message}"


EXPERIMENTAL = [
    ("sort_by_label(x, \"a\")", 'function "sort_by_label" is not enabled', 0),
    ("1 + min_of(1, 2)", 'function "min_of" is not enabled', 4),
    ("limit_ratio(0.5, x)", "limit_ratio() is experimental and must be enabled with "
     "--enable-feature=promql-experimental-functions", 0),
    ("rate(x[5m] anchored)", "anchored modifier is experimental and not enabled", 5),
    ("x smoothed", "smoothed modifier is experimental and not enabled", 0),
    ("a + fill(0) b", "binop fill modifiers are experimental and not enabled", 0),
    ("a + on(x) fill_left(1) fill_right(2) b", "binop fill modifiers are experimental and not "
     "enabled", 0),
]


@pytest.mark.parametrize(("text", "message", "position"), EXPERIMENTAL)
def test_experimental_syntax_is_refused_without_the_flag(text, message, position):
    with pytest.raises(ParseError) as info:
        parse_expr(text)
    assert (info.value.message, info.value.position) == (message, position)
    parse_expr(text, experimental=True)


@pytest.mark.parametrize(("text", "message"), [
    ("x[5m:] anchored", "anchored modifier is not supported for subqueries"),
    ("x anchored smoothed", "anchored and smoothed modifiers cannot be used together"),
    ("sum(x) anchored", "anchored modifier not implemented"),
    ("x @ 1 @ 2", "@ <timestamp> may not be set multiple times"),
    ("x[5m] @ start() @ end()", "@ <timestamp> may not be set multiple times"),
    ("1 + fill(0) x", "filling in missing series only allowed between instant vectors"),
    ("a and fill(0) b", "filling in missing series not allowed for set operators"),
    ('{"x", y=""} offset (1m - 1m) offset 1m', "offset may not be set multiple times"),
    ('sum by ("") (x)', 'invalid label name for grouping: ""'),
])
def test_more_semantic_errors(text, message):
    with pytest.raises(ParseError) as info:
        parse_expr(text, experimental=True)
    assert info.value.message == message


def test_extended_range_function_errors_are_left_to_the_engine():
    """Prometheus reports these when evaluating, so the parser accepts them."""
    tree = parse_expr("deriv(foo[3m] smoothed)", experimental=True)
    assert tree.args[0].vs.smoothed
    from engine.promql.signatures import extended_range_error

    assert extended_range_error("anchored", "max_over_time") == (
        "anchored modifier can only be used with: changes, delta, increase, rate, resets - "
        "not with max_over_time")


# ---- precedence and associativity -----------------------------------------------------------


def shape(e: N.Expr) -> str:
    """A fully parenthesised rendering that shows how the tree is nested."""
    if isinstance(e, N.BinaryExpr):
        op = e.op + (" bool" if e.return_bool else "")
        return f"({shape(e.lhs)} {op} {shape(e.rhs)})"
    if isinstance(e, N.UnaryExpr):
        return f"({e.op}{shape(e.expr)})"
    if isinstance(e, N.ParenExpr):
        return f"[{shape(e.expr)}]"
    return str(e)


@pytest.mark.parametrize(("text", "expected"), [
    ("1 + 2 * 3", "(1 + (2 * 3))"),
    ("1 * 2 + 3", "((1 * 2) + 3)"),
    ("1 - 2 - 3", "((1 - 2) - 3)"),
    ("2 ^ 3 ^ 2", "(2 ^ (3 ^ 2))"),
    ("-2 ^ 2", "(-(2 ^ 2))"),
    ("-2 * 2", "(-2 * 2)"),
    ("-1^-2", "(-(1 ^ -2))"),
    ("+1 + -2 * 1", "(1 + (-2 * 1))"),
    ("-a * b", "((-a) * b)"),
    ("-a ^ b", "(-(a ^ b))"),
    ("a * -b ^ c", "(a * (-(b ^ c)))"),
    ("2 ^ -1 * 3", "((2 ^ -1) * 3)"),
    ("a / b % c atan2 d", "(((a / b) % c) atan2 d)"),
    ("a + b < bool c * d", "((a + b) < bool (c * d))"),
    ("a == b != c", "((a == b) != c)"),
    ("foo + bar or bla and blub", "((foo + bar) or (bla and blub))"),
    ("foo and bar unless baz or qux", "(((foo and bar) unless baz) or qux)"),
    ("a or b or c", "((a or b) or c)"),
    ("h </ 1 + 2", "((h </ 1) + 2)"),
    ("h >/ 2 ^ 3", "(h >/ (2 ^ 3))"),
    ("a + b offset 1m", "(a + b offset 1m)"),
    ("-foo offset 1m", "(-foo offset 1m)"),
    ("foo offset 5s-8", "(foo offset 5s - 8)"),
    ("foo offset -2 * 2", "(foo offset -2s * 2)"),
    ("foo offset 2 ^ 2", "(foo offset 2s ^ 2)"),
    ("foo offset step()*0", "(foo offset step() * 0)"),
    ("foo offset -min_of(step(), 1s)^0", "(foo offset -min_of(step(), 1) ^ 0)"),
    ("(1 + 2) * 3", "([(1 + 2)] * 3)"),
])
def test_precedence_and_associativity(text, expected):
    assert shape(parse_expr(text, experimental=True)) == expected


def test_unary_minus_folds_into_number_literals_only():
    assert parse_expr("-1") == N.NumberLiteral(value=-1.0)
    assert parse_expr("- - 1") == N.NumberLiteral(value=1.0)
    assert parse_expr("-5m") == N.NumberLiteral(value=-300.0)
    assert isinstance(parse_expr("-(1)"), N.UnaryExpr)
    assert parse_expr("+Inf").value == math.inf and parse_expr("-Inf").value == -math.inf


# ---- numbers, strings, durations ------------------------------------------------------------


@pytest.mark.parametrize(("text", "value"), [
    ("1", 1.0), (".5", 0.5), ("5.", 5.0), ("123.4567", 123.4567), ("5e-3", 0.005),
    ("5e3", 5000.0), ("0xc", 12.0), ("0x1F", 31.0), ("0X_1f", 31.0), ("0755", 493.0),
    ("08", 8.0), ("1_000", 1000.0), ("1_000.5", 1000.5), ("1e+06", 1e6), ("Inf", math.inf),
    ("iNf", math.inf), ("5m", 300.0), ("1h30m", 5400.0), ("10s53ms", 10.053),
    ("99999999999999999999", 1e20),
])
def test_number_literals(text, value):
    assert parse_expr(text).value == value


def test_nan_literal_any_case():
    for text in ("NaN", "nan", "NAN"):
        assert math.isnan(parse_expr(text).value)


@pytest.mark.parametrize(("text", "message"), [
    ("1__0", 'bad number or duration syntax: "1__"'),
    ("1_", 'bad number or duration syntax: "1_"'),
    ("1e+", 'bad number or duration syntax: "1e+"'),
    ("0x1.5", 'bad number or duration syntax: "0x1."'),
    ("1.2.3", 'bad number or duration syntax: "1.2."'),
    ("5M", 'bad number or duration syntax: "5"'),
    ("0x", 'error parsing number: strconv.ParseFloat: parsing "0x": invalid syntax'),
])
def test_bad_numbers(text, message):
    with pytest.raises(ParseError) as info:
        parse_expr(text)
    assert (info.value.message, info.value.position) == (message, 0)


@pytest.mark.parametrize(("text", "value"), [
    ('"double \\" quote"', 'double " quote'),
    ("'single \\' quote'", "single ' quote"),
    ("`raw \\n ok`", "raw \\n ok"),
    ('"\\a\\b\\f\\n\\r\\t\\v\\\\"', "\a\b\f\n\r\t\v\\"),
    ('"\\x41\\101\\u00e9\\U0001F600"', "AAé\U0001f600"),
    ('"\\xc3\\xa9"', "é"),
    ('"tab\tinside"', "tab\tinside"),
])
def test_string_literals_and_go_escapes(text, value):
    tree = parse_expr(text)
    assert isinstance(tree, N.StringLiteral) and tree.value == value
    assert same_tree(parse_expr(str(tree)), tree)


@pytest.mark.parametrize(("text", "message"), [
    ('"\\\'"', "unknown escape sequence U+0027 '''"),
    ('"\\uD800"', "escape sequence is an invalid Unicode code point"),
    ('"\\400"', "escape sequence is an invalid Unicode code point"),
    ('"line\nbreak"', "unterminated quoted string"),
])
def test_bad_strings(text, message):
    with pytest.raises(ParseError) as info:
        parse_expr(text)
    assert info.value.message == message


@pytest.mark.parametrize(("text", "ms"), [
    ("0", 0), ("1ms", 1), ("10s53ms", 10053), ("1h30m", 5400000),
    ("1y2w3d", (365 + 14 + 3) * 86400000), ("5m", 300000), ("90d", 90 * 86400000),
])
def test_parse_duration(text, ms):
    assert parse_duration(text) == ms
    assert parse_duration(N.format_duration(ms)) == ms


@pytest.mark.parametrize(("text", "message"), [
    ("", "empty duration string"),
    ("5", 'not a valid duration string: "5"'),
    ("-5m", 'not a valid duration string: "-5m"'),
    ("1.5m", 'unknown unit "." in duration "1.5m"'),
    ("5m1h", 'not a valid duration string: "5m1h"'),
    ("5x", 'unknown unit "x" in duration "5x"'),
    ("300000000y", "duration out of range"),
])
def test_parse_duration_errors(text, message):
    with pytest.raises(ParseError) as info:
        parse_duration(text)
    assert info.value.message == message


@pytest.mark.parametrize(("text", "range_ms"), [
    ("foo[1000ms]", 1000), ("foo[1001ms]", 1001), ("foo[300]", 300000), ("foo[4.018]", 4018),
    ("foo[5m30s]", 330000), ("foo[5y]", 5 * 365 * 86400000), ("foo[5m+1m]", 360000),
    ("foo[2m*(10+5)]", 1800000), ("foo[24m+((1.5*2m)+2m)]", 1740000), ("foo[-5m+35m]", 1800000),
    ("foo[1h30m % 1h]", 1800000), ("foo[1h/7]", 514285), ("foo[(5m)]", 300000),
    ("foo[min_of(5m, 1h)]", 300000), ("foo[max_of(-5m, 1s)]", 1000),
])
def test_range_durations_fold_to_milliseconds(text, range_ms):
    assert parse_expr(text).range == range_ms


def test_duration_expressions_with_query_parameters_stay_symbolic():
    tree = parse_expr("foo[step()*2:max_of(step(), 1m)] offset -range()")
    assert isinstance(tree.range, N.DurationExpr) and isinstance(tree.step, N.DurationExpr)
    assert (tree.range.pos, tree.range.end) == (4, 12)
    assert resolve_duration(tree.range, step_ms=15000, range_ms=0, allow_negative=False) == 30000
    assert resolve_duration(tree.step, step_ms=15000, range_ms=0, allow_negative=False) == 60000
    assert resolve_duration(tree.offset, step_ms=1, range_ms=3600000,
                            allow_negative=True) == -3600000
    from engine.errors import QueryError

    with pytest.raises(QueryError, match="duration must be greater than 0"):
        resolve_duration(parse_expr("x[range()]").range, step_ms=0, range_ms=0,
                         allow_negative=False)
    # constant but invalid at evaluation time: kept for the evaluator, as Prometheus does
    bad = parse_expr("x[1m-2m]").range
    assert isinstance(bad, N.DurationExpr)
    with pytest.raises(QueryError, match="^2:7: duration must be greater than 0$"):
        resolve_duration(bad, step_ms=0, range_ms=0, allow_negative=False)


def test_long_durations_lose_precision_as_in_prometheus():
    """Prometheus stores a duration literal as float seconds, then rounds seconds * 1e9 to
    nanoseconds: 99d7h59m54s949ms becomes 8582394948999999ns, i.e. ...948ms when evaluated."""
    exact = 99 * 86400000 + 7 * 3600000 + 59 * 60000 + 54 * 1000 + 949
    assert parse_duration("99d7h59m54s949ms") == exact  # model.ParseDuration itself is exact
    assert parse_expr("x offset 99d7h59m54s949ms").offset == exact - 1
    assert parse_expr("x offset 1d2h3m4s5ms").offset == 93784005


@pytest.mark.parametrize(("text", "offset_ms"), [
    ("foo offset 5m", 300000), ("foo offset -7m", -420000), ("foo OFFSET 1h30m", 5400000),
    ("foo offset 3600", 3600000), ("foo offset (100 + 2)", 102000), ("foo offset (-2 ^ 2)", -4000),
    ("foo offset (2 * 2)", 4000), ("foo offset 1.5", 1500), ("foo offset (1m) * 2", 120000),
])
def test_offsets(text, offset_ms):
    assert parse_expr(text).offset == offset_ms


@pytest.mark.parametrize(("text", "at"), [
    ("foo @ 1603774568", 1603774568.0), ("foo @ -100", -100.0), ("foo @ .3", 0.3),
    ("foo @ 3.3333", 3.333), ("foo @ 3.3335", 3.334), ("foo @ 3e2", 300.0), ("foo @ 0xA", 10.0),
    ("foo @ 1m", 60.0), ("foo @ start()", "start"), ("foo @ end()", "end"),
])
def test_at_modifier(text, at):
    assert parse_expr(text).at == at


# ---- selectors --------------------------------------------------------------------------------


def test_vector_selector_matchers_include_the_name_last():
    vs = parse_expr('foo{a="b", c!="d", e=~"f.*", g!~"h",}')
    assert vs.name == "foo"
    assert [(m.name, m.op, m.value) for m in vs.matchers] == [
        ("a", "=", "b"), ("c", "!=", "d"), ("e", "=~", "f.*"), ("g", "!~", "h"),
        ("__name__", "=", "foo")]
    utf8 = parse_expr('{"my.metric", "a.b"="c"}')
    assert utf8.name == "" and [(m.name, m.value) for m in utf8.matchers] == [
        ("__name__", "my.metric"), ("a.b", "c")]
    assert str(utf8) == '{__name__="my.metric", "a.b"="c"}'


@pytest.mark.parametrize("name", ["sum", "by", "offset", "start", "end", "step", "range", "and",
                                  "anchored", "smoothed", "without", "min", "fill"])
def test_keywords_that_are_metric_names(name):
    tree = parse_expr(name)
    assert isinstance(tree, N.VectorSelector) and tree.name == name
    assert parse_expr(f'{name}{{job="x"}}[5m]').vs.name == name


def test_fill_is_a_keyword_only_before_a_parenthesis():
    tree = parse_expr("fill + fill(0) fill", experimental=True)
    assert tree.lhs.name == "fill" and tree.rhs.name == "fill"
    assert tree.matching.fill_left == tree.matching.fill_right == 0.0
    both = parse_expr("a + fill_left(5) fill_right(-Inf) b", experimental=True).matching
    assert (both.fill_left, both.fill_right) == (5.0, -math.inf)


def test_index_parse_matchers_still_works():
    ms = parse_matchers('up{job="api", instance=~"10\\\\..*"}')
    assert [(m.name, m.op) for m in ms] == [("job", "="), ("instance", "=~"), ("__name__", "=")]
    with pytest.raises(PromReplayError):
        parse_matchers("up offset 5m")


def test_bad_regex_is_a_parse_error_at_the_label():
    for text in ['foo{bar=~"("}', 'foo{bar=~"\\xff"}']:
        with pytest.raises(ParseError) as info:
            parse_expr(text)
        assert info.value.position == 4 and "error parsing regexp" in info.value.message
    assert parse_expr('foo{bar="\\xff"}').matchers[0].value == "\udcff"  # Go keeps the byte


# ---- positions (PositionRange.Start/End of Prometheus) ----------------------------------------


@pytest.mark.parametrize(("text", "path", "span"), [
    ("sum by (foo)(some_metric)", "", (0, 25)),
    ("sum by (foo)(some_metric)", "expr", (13, 24)),
    ("sum (some_metric) without (foo)", "", (0, 31)),
    ("(sum(foo) )", "expr", (1, 9)),
    ("(sum(foo) )", "", (0, 11)),
    (" +some_metric", "", (1, 13)),
    ("-some_metric", "expr", (1, 12)),
    ("+1 + -2 * 1", "rhs.lhs", (5, 7)),
    ("foo * bar", "", (0, 9)),
    ("foo offset 5m", "", (0, 13)),
    ("test[5h] OFFSET 5m", "", (0, 18)),
    ("test[5h] OFFSET 5m", "vs", (0, 4)),
    ("foo[3ms] @ 2.345", "", (0, 16)),
    ("rate(some_metric[5m])", "", (0, 21)),
    ("rate(some_metric[5m])", "args.0", (5, 20)),
    ("foo{bar=\"baz\"}[10m5s:1h6ms]", "", (0, 27)),
    ("some_metric OFFSET 1m [10m:5s]", "expr", (0, 21)),
    ("some_metric[10m:5s] offset 1m @ 123", "", (0, 35)),
    ("(foo + bar{nm=\"val\"} @ 1234)[5m:] @ 1603775019", "expr.expr.rhs", (7, 27)),
    ("(foo + bar{nm=\"val\"} @ 1234)[5m:] @ 1603775019", "", (0, 46)),
    ("min_over_time(rate(foo{bar=\"baz\"}[2s])[5m:] offset 4m)[4m:3s]", "expr.args.0",
     (14, 53)),
    ("foo @ start()", "", (0, 13)),
    ("foo offset -step()", "", (0, 18)),
    ("foo[step()]", "", (0, 11)),
    ("foo[5m] anchored", "", (0, 7)),
    ('{"foo"}', "", (0, 7)),
    ('"double-quoted"', "", (0, 15)),
])
def test_positions(text, path, span):
    node = parse_expr(text, experimental=True)
    for part in filter(None, path.split(".")):
        node = node[int(part)] if part.isdigit() else getattr(node, part)
    assert (node.pos, node.end) == span


def test_positions_are_character_offsets_in_multiline_queries():
    text = 'sum(\n  rate(x{a="é"}[5m])\n)  # comment\n'
    tree = parse_expr(text)
    assert text[tree.expr.pos:].startswith("rate(")
    assert text[tree.expr.args[0].pos:tree.expr.args[0].end] == 'x{a="é"}[5m]'
    with pytest.raises(ParseError) as info:
        parse_expr('sum(\n  rate(x{a="é"})\n)')
    assert str(info.value).startswith("2:8: parse error: expected type range vector")


# ---- the function table -----------------------------------------------------------------------


def test_function_table_covers_the_corpus_and_the_documented_experimental_set():
    experimental = {"double_exponential_smoothing", "histogram_quantiles", "info",
                    "mad_over_time", "max_of", "min_of", "sort_by_label", "sort_by_label_desc",
                    "ts_of_first_over_time", "ts_of_last_over_time", "ts_of_max_over_time",
                    "ts_of_min_over_time", "start", "end", "range", "step", "start_timestamp"}
    assert {n for n, s in FUNCTIONS.items() if s.experimental} == experimental
    assert not FUNCTIONS["first_over_time"].experimental  # stable since 3.14
    assert "holt_winters" not in FUNCTIONS  # removed in 3.0
    used = set()
    for row in corpus_rows():
        tree = parse_expr(row["expr"], experimental=True)
        used |= {n.func for n in N.walk(tree) if isinstance(n, N.Call)}
    assert used <= set(FUNCTIONS) and len(used) > 80


def test_query_parameter_functions_at_top_level():
    for name in ("start", "end", "step", "range"):
        call = parse_expr(f"{name}()", experimental=True)
        assert isinstance(call, N.Call) and call.func == name and call.type == "scalar"
        with pytest.raises(ParseError, match=f'function "{name}" is not enabled'):
            parse_expr(f"{name}()")
    assert parse_expr("vector(step()) + range()", experimental=True).type == "vector"


def test_go_number_matches_strconv():
    assert go_number("0x_1F") == 31.0
    with pytest.raises(ValueError, match="value out of range"):
        go_number("1e400")


def test_lexer_never_raises_and_ends_with_eof_or_error():
    for text in ["", "foo{", "[", "]", '"', "`", "@@", "\x00", "é", "5m1", "a</b", "{a!b}"]:
        toks = tokenize(text)
        assert toks[-1].kind in ("EOF", "ERROR")


def test_deep_nesting_is_an_error_not_a_crash():
    with pytest.raises(ParseError):
        parse_expr("(" * 5000 + "1" + ")" * 5000)
