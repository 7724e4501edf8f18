"""The promqltest runner (``engine.promqltest``) and ``promreplay test``.

Runs use the small independent engine of ``fake_engine.py``; its deliberately wrong
variants prove that the range-mode and @-invariance checks catch what they are for.
"""

from __future__ import annotations

import json
import math
import struct
import textwrap
from pathlib import Path

import pytest
from conftest import shared_path
from fake_engine import FailsInRangeMode, FakeEngine, IgnoresAt, RangeModeOffByOne, UnsortedRange
from hypothesis import given
from hypothesis import strategies as st

from engine.cli import main
from engine.histograms import FloatHistogram
from engine.promql.nodes import (
    Call,
    DurationExpr,
    MatrixSelector,
    NumberLiteral,
    SubqueryExpr,
    VectorSelector,
)
from engine.promqltest import (
    Manifest,
    RunnerOptions,
    ScriptError,
    TierFilter,
    parse_script,
    run_file,
    run_script,
)
from engine.promqltest.invariance import at_modifier_cases
from engine.promqltest.notation import (
    NotationError,
    format_labels,
    parse_labels,
    parse_series_desc,
    parse_st_sequence,
    parse_values,
)
from engine.result import Annotation

HERE = Path(__file__).parent
# The files written for the runner (they need only what the fake engine evaluates); every
# file of the folder runs with the real engine in tests/promql/test_promqltest_files.py.
OWN_FILES = sorted((HERE / "promqltest").glob("runner_*.test"))
STALE_BITS = 0x7FF0000000000002


def script(text: str):
    return parse_script(textwrap.dedent(text), "t.test")


def run(text: str, engine=None, **options):
    return run_script(script(text), engine or FakeEngine(), RunnerOptions(**options))


def outcome(text: str, engine=None, **options) -> list[tuple[int, str]]:
    return [(r.line, r.status) for r in run(text, engine, **options)]


def message(text: str, engine=None, **options) -> str:
    records = run(text, engine, **options)
    assert len(records) == 1
    assert records[0].status == "fail", "expected this eval to fail"
    return records[0].message


def values(text: str) -> list:
    out = []
    for v in parse_values(text):
        if v.omitted:
            out.append("_")
        elif v.histogram is not None:
            out.append(v.histogram)
        elif struct.unpack("<Q", struct.pack("<d", v.value))[0] == STALE_BITS:
            out.append("stale")
        elif math.isnan(v.value):
            out.append("NaN")
        else:
            out.append(v.value)
    return out


# ---- series notation ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1", [1]),
        ("1 2 3", [1, 2, 3]),
        ("1+2x3", [1, 3, 5, 7]),  # N *more* samples after the first
        ("5-1x2", [5, 4, 3]),
        ("-1-1x1", [-1, -2]),
        ("-2+1x2", [-2, -1, 0]),
        ("3x2", [3, 3, 3]),
        ("0x0", [0]),
        ("_", ["_"]),
        ("_x3", ["_", "_", "_"]),  # N slots, not N+1
        ("1 _ 2", [1, "_", 2]),
        ("stale", ["stale"]),
        ("stalex1", None),
        ("NaN nan -Inf +Inf inf", ["NaN", "NaN", -math.inf, math.inf, math.inf]),
        ("+1 -0.5 .5 1. 1e3 2E-1", [1, -0.5, 0.5, 1, 1000, 0.2]),
        ("010", [8]),  # Go ParseInt base 0: octal
        ("0x3", [0, 0, 0, 0]),  # no hex in series values: 0 repeated
        ("5m 1h30m", [300, 5400]),  # durations are seconds
        ("   1\t 2  ", [1, 2]),
        ("", []),
    ],
)
def test_value_sequences(text, expected):
    if expected is None:
        with pytest.raises(NotationError):
            parse_values(text)
    else:
        assert values(text) == expected


@pytest.mark.parametrize(
    "text", ["1+2", "1x", "x3", "--1", "+-1", "Infx3", "1,2", "1 +", "1a", "_x", "{{", "1+{{}}x2"]
)
def test_bad_value_sequences(text):
    with pytest.raises(NotationError):
        parse_values(text)


def test_increments_are_repeated_additions_as_upstream():
    # Go adds the increment again and again; a + i*b rounds differently from i=3 on.
    assert values("0.1+0.2x4") == [
        0.1,
        0.1 + 0.2,
        0.1 + 0.2 + 0.2,
        0.1 + 0.2 + 0.2 + 0.2,
        0.8999999999999999,
    ]
    assert values("0.1+0.2x3")[3] == 0.7 != 0.1 + 3 * 0.2


@st.composite
def sequences(draw):
    """A value sequence and its hand-expanded values (an independent reference)."""
    items, expected = [], []
    for _ in range(draw(st.integers(0, 6))):
        kind = draw(st.sampled_from(["num", "rep", "inc", "dec", "blank", "blanks"]))
        a = draw(st.integers(-1000, 1000))
        b = draw(st.integers(0, 50))
        n = draw(st.integers(0, 5))
        if kind == "num":
            items.append(str(a))
            expected.append(float(a))
        elif kind == "rep":
            items.append(f"{a}x{n}")
            expected += [float(a)] * (n + 1)
        elif kind in ("inc", "dec"):
            sign = 1 if kind == "inc" else -1
            items.append(f"{a}{'+' if sign > 0 else '-'}{b}x{n}")
            expected += [float(a + sign * b * i) for i in range(n + 1)]
        elif kind == "blank":
            items.append("_")
            expected.append("_")
        else:
            items.append(f"_x{n}")
            expected += ["_"] * n
    return " ".join(items), expected


@given(sequences())
def test_sequence_expansion_against_a_reference(case):
    text, expected = case
    assert values(text) == expected


def test_histogram_literal_fields():
    (v,) = parse_values(
        "{{schema:1 sum:-3.5 count:4 z_bucket:1 z_bucket_w:0.001 buckets:[1 0 2] offset:-1 "
        "n_buckets:[3] n_offset:2 counter_reset_hint:gauge}}"
    )
    h = v.histogram
    assert (h.schema, h.sum, h.count, h.zero_count, h.zero_threshold) == (1, -3.5, 4, 1, 0.001)
    assert h.positive == {-1: 1, 0: 0, 1: 2}
    assert h.negative == {2: 3}
    assert h.counter_reset_hint == "gauge" and v.hint_set


def test_histogram_literal_defaults_and_custom_buckets():
    assert values("{{}} {{ }}") == [FloatHistogram(), FloatHistogram()]
    (v,) = parse_values("{{schema:-53 sum:1 count:1 custom_values:[5 10] buckets:[1]}}")
    assert v.histogram.uses_custom_buckets and v.histogram.custom_values == (5.0, 10.0)
    assert not v.hint_set


def test_histogram_sequences():
    inc = parse_values("{{count:1 buckets:[1]}}+{{sum:2 count:2 buckets:[1 1]}}x2")
    assert [(v.histogram.count, v.histogram.sum, v.histogram.positive) for v in inc] == [
        (1, 0, {0: 1}),
        (3, 2, {0: 2, 1: 1}),
        (5, 4, {0: 3, 1: 2}),
    ]
    dec = parse_values("{{count:5 buckets:[5]}}-{{count:2 buckets:[2]}}x1")
    assert [v.histogram.positive for v in dec] == [{0: 5}, {0: 3}]
    rep = parse_values("{{count:1}}x2")
    assert len(rep) == 3 and all(v.histogram.count == 1 for v in rep)


def test_histogram_sequence_hint_flag_comes_from_the_increment():
    seq = parse_values("{{count:1}}+{{count:1 counter_reset_hint:gauge}}x1")
    assert [v.hint_set for v in seq] == [True, True]
    assert [v.histogram.counter_reset_hint for v in seq] == ["unknown", "gauge"]
    seq = parse_values("{{count:1 counter_reset_hint:reset}}+{{count:1}}x1")
    assert [v.hint_set for v in seq] == [False, False]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("{{sum:1 sum:2}}", "duplicate key"),
        ("{{foo:1}}", "unexpected 'foo'"),
        ("{{buckets:[]}}", "empty buckets"),
        ("{{counter_reset_hint:maybe}}", "counter_reset_hint"),
        ("{{schema:0}}+{{schema:1}}x1", None),  # a finer increment is reduced: fine
        ("{{schema:1}}+{{schema:0}}x1", "cannot merge from schema 0 to 1"),
        ("{{schema:-53 custom_values:[1]}}+{{schema:0}}x1", "error combining histograms"),
    ],
)
def test_histogram_literal_errors(text, reason):
    if reason is None:
        assert len(parse_values(text)) == 2
        return
    with pytest.raises(NotationError, match=reason):
        parse_values(text)


@pytest.mark.parametrize(
    ("text", "labels"),
    [
        ("up", {"__name__": "up"}),
        ('up{job="a",instance="b"}', {"__name__": "up", "job": "a", "instance": "b"}),
        ('up{job="a",}', {"__name__": "up", "job": "a"}),
        ('{__name__="up", job = "a"}', {"__name__": "up", "job": "a"}),
        ('{"my.metric", "label.x"="v"}', {"__name__": "my.metric", "label.x": "v"}),
        ("{job='single', by=`raw\\n`}", {"job": "single", "by": "raw\\n"}),
        ('x{a="\\"q\\" \\n \\u00e9"}', {"__name__": "x", "a": '"q" \n é'}),
        ('x{a="", b="c"}', {"__name__": "x", "b": "c"}),  # empty means absent
        ("{}", {}),
        ("a:b_c", {"__name__": "a:b_c"}),
    ],
)
def test_label_sets(text, labels):
    assert dict(parse_labels(text)) == labels


@pytest.mark.parametrize(
    "text",
    [
        'x{a="b"',
        'x{a=~"b"}',
        'x{a!="b"}',
        'x{a="b" c="d"}',
        "x{a=b}",
        'x{a="b",a="c"}',
        'x{"n"}',
        'x{"bad\\q"}',
        "9x",
        'x {a="b"}',
    ],
)
def test_bad_label_sets(text):
    with pytest.raises(NotationError):
        parse_labels(text)


def test_series_line_splits_labels_from_values():
    d = parse_series_desc('x{a="with space, and }"} 1 2')
    assert dict(d.labels) == {"__name__": "x", "a": "with space, and }"}
    assert [v.value for v in d.values] == [1, 2]
    with pytest.raises(NotationError, match="column"):
        parse_series_desc('x{a="b"}1')


label_sets = st.dictionaries(
    st.from_regex(r"[a-zA-Z_][a-zA-Z0-9_.]{0,6}", fullmatch=True).filter(lambda s: s != "__name__"),
    st.text(min_size=1, max_size=8),
    max_size=4,
)


@given(label_sets, st.from_regex(r"[a-zA-Z_:][a-zA-Z0-9_:.]{0,6}", fullmatch=True) | st.just(""))
def test_label_set_printing_round_trips(labels, name):
    if name:
        labels = {**labels, "__name__": name}
    key = tuple(sorted(labels.items()))
    assert parse_labels(format_labels(key)) == key


@pytest.mark.parametrize(
    ("text", "offsets"),
    [
        ("_ _ -30s-1mx2", [None, None, -30000, -90000, -150000]),
        ("0-1mx1 -59999msx1", [0, -60000, -59999, -59999]),
        ("_x2 1ms +1m", [None, None, 1, 60000]),
        ("-1m * *x1", [-60000, -60000, -60000, -60000]),
    ],
)
def test_start_timestamp_sequences(text, offsets):
    assert parse_st_sequence(text) == offsets


@pytest.mark.parametrize("text", ["_x0", "1mx", "1m+1m", "1m*2", "abc", "1m+1mxq"])
def test_bad_start_timestamp_sequences(text):
    with pytest.raises(NotationError):
        parse_st_sequence(text)


# ---- block rules and commands ------------------------------------------------------------


def test_commands_and_lines():
    s = script("""
        # a comment line
        load 5m
        \tx{a="1"} 1 2
          x{a="2"}   3

        clear
        eval instant at 10m x
          x 1

        eval range from 1m to 3m step 1m x
    """)
    kinds = [(type(c).__name__, c.line) for c in s.commands]
    assert kinds == [("LoadCmd", 3), ("ClearCmd", 7), ("EvalCmd", 8), ("EvalCmd", 11)]
    load = s.commands[0]
    assert load.step_ms == 300_000
    assert [(ts, v.value) for ts, v, _ in load.series[(("__name__", "x"), ("a", "1"))]] == [
        (0, 1),
        (300_000, 2),
    ]
    ev = s.commands[3]
    assert (ev.kind, ev.start_ms, ev.end_ms, ev.step_ms, ev.expr) == (
        "range",
        60_000,
        180_000,
        60_000,
        "x",
    )


def test_a_comment_ends_a_block():
    with pytest.raises(ScriptError, match=r"t.test:5: invalid command 'y 2'"):
        script("""
            load 1m
              x 1
            # the block ends here
              y 2
        """)


def test_a_scalar_line_ends_an_eval_block():
    s = script("""
        eval instant at 0 1
          1
        clear
    """)
    assert [type(c).__name__ for c in s.commands] == ["EvalCmd", "ClearCmd"]
    with pytest.raises(ScriptError, match=r":4: invalid command"):
        script("""
            eval instant at 0 1
              1
              x 2
        """)


def test_deprecated_fail_lines_end_the_block():
    s = script("""
        eval_fail instant at 0 boom
          expected_fail_message boom went the query
        clear
    """)
    assert s.commands[0].expected_fail_message == "boom went the query"
    assert s.commands[1].line == 4


def test_later_definition_of_a_series_wins_within_one_load():
    (load,) = script("""
        load 1m
          x 1 2
          x _ 5
    """).commands
    assert [(ts, v.value) for ts, v, _ in load.series[(("__name__", "x"),)]] == [(60_000, 5)]


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("frobnicate", r":1: invalid command 'frobnicate'"),
        ("load", ":1: invalid load command"),
        ("load 5x", ":1: invalid step"),
        ("EVAL instant at 0 x", ":1: invalid eval command"),
        ("eval instant 5m x", ":1: invalid eval command"),
        ("eval instant at -5m x", ":1: invalid evaluation time"),
        ("eval range from 5m to 1m step 1m x", ":1: end time 1m is before start time 5m"),
        ("eval_ordered range from 0 to 1m step 1m x", ":1: invalid eval command"),
        ("eval instant at 0 x\n  expect warn\n  expect no_warn", ":3: .*warn and no_warn"),
        ("eval instant at 0 x\n  expect info\n  expect no_info", ":3: .*info and no_info"),
        ("eval instant at 0 x\n  expect fail\n  expect fail", ":3: .*only one expect fail"),
        ("eval instant at 0 x\n  expect sometimes", ":2: invalid expect line"),
        ("eval instant at 0 x\n  expect warn regex: (", ":2: invalid regex"),
        ("eval instant at 0 x\n  x 1 2", ":2: expecting multiple values in instant evaluation"),
        ("eval instant at 0 x\n  expect string hello", ":2: expect string"),
        ("eval instant at 0 x\n  expect range vector from 2m to 1m step 1m", ":2: end time 1m"),
        ("load 1m\n  x 1 +", ":2: invalid series line: column 6"),
        ("load 1m\n  x@st -1m\n  y 1", ":2: @st metric does not match"),
        ("load 1m\n  x@st -1m -1m\n  x 1", ":2: @st line has 2 values but sample line has 1"),
        ("load 1m\n  x@st -1m", ":2: @st line has no following sample line"),
    ],
)
def test_malformed_files_name_the_line(text, error):
    with pytest.raises(ScriptError, match=error):
        parse_script(text, "t.test")


def test_header_forms():
    s = script("""
        eval instant at 1m30s x

        eval_ordered instant at 0 x

        eval_warn instant at 0 x

        eval_info range from 0 to 10s53ms step 1s x

        eval instant at 0 label_replace(x, "to", "step", "from", "to")

        eval range from 0 to 1m step 30s count(x) by (step)
    """)
    evals = s.evals
    assert evals[0].time_ms == 90_000
    assert [e.legacy for e in evals[:4]] == ["", "ordered", "warn", "info"]
    assert evals[3].end_ms == 10_053
    assert evals[4].expr == 'label_replace(x, "to", "step", "from", "to")'
    assert (evals[5].step_ms, evals[5].expr) == (30_000, "count(x) by (step)")


def test_expect_lines_and_positions():
    (ev,) = script("""
        eval instant at 0 x
          expect warn msg:  PromQL warning: something (1:1)
          expect info regex: some.*thing
          b 2
          expect ordered
          a 1
    """).commands
    assert ev.expects["warn"][0].message == "PromQL warning: something (1:1)"
    assert ev.expects["info"][0].regex == "some.*thing"
    assert [e.pos for e in ev.expected.values()] == [1, 2]  # expect lines do not count
    assert ev.ordered


def test_expect_range_vector_replaces_the_evaluation_time():
    (ev,) = script("""
        eval instant at 1m x[1m]
          expect range vector from 10s to 50s step 20s
          x 1 2 3
    """).commands
    assert (ev.time_ms, ev.start_ms, ev.end_ms, ev.step_ms) == (50_000, 10_000, 50_000, 20_000)
    assert ev.range_vector and ev.exclude_from_range_query
    assert (
        ev.expected[(("__name__", "x"),)].pos == 2
    )  # upstream counts the range line as a position


@pytest.mark.parametrize(
    ("line", "value"),
    [("2", 2), ("-0.2e-6", -0.2e-6), ("NaN", "nan"), ("+Inf", math.inf), ("0x1F", 31), ("010", 8)],
)
def test_scalar_lines_use_go_number_parsing(line, value):
    (ev,) = script(f"eval instant at 0 x\n  {line}").commands
    assert ev.expect_scalar
    if value == "nan":
        assert math.isnan(ev.scalar.value)
    else:
        assert ev.scalar.value == value


def test_start_timestamps_are_kept_per_sample():
    from engine.promqltest.storage import TestStorage

    s = script("""
        load 1m
          x@st _ -30s -1m+1sx1
          x    1 2    3     4
          @st -1ms
          y    5 6
    """)
    storage = TestStorage()
    storage.load(s.commands[0])
    assert storage.start_timestamps[(("__name__", "x"),)] == {
        60_000: 30_000,
        120_000: 60_000,
        180_000: 121_000,
    }
    assert storage.start_timestamps[(("__name__", "y"),)] == {0: -1, 60_000: 59_999}


def test_loads_add_up_and_must_stay_in_order():
    records = run("""
        load 1m
          x 1 2

        load 1m
          x _ 2 3

        eval range from 0 to 2m step 1m x
          x 1 2 3

        load 1m
          x 9

        eval instant at 0 x
          x 1

        clear
        eval instant at 0 x
    """)
    assert [(r.line, r.expr, r.status) for r in records] == [
        (8, "x", "pass"),
        (11, "load", "fail"),
        (14, "x", "fail"),
        (18, "x", "fail"),
    ]
    assert "out of order sample" in records[1].message
    assert records[2].message == "not run: the load at line 11 failed"


def test_a_duplicate_sample_with_another_value_fails_the_load():
    records = run("""
        load 1m
          x 1

        load 1m
          x 2
    """)
    assert records[0].status == "fail" and "duplicate sample for timestamp" in records[0].message


def test_load_with_nhcb_synthesises_custom_bucket_histograms():
    from engine.promqltest.storage import TestStorage

    s = script("""
        load_with_nhcb 1m
          h_bucket{le="0.5", j="a"} 1 2
          h_bucket{le="1", j="a"}   3 4
          h_bucket{le="+Inf", j="a"} 3 5
          h_sum{j="a"}   7 8
          h_count{j="a"} 3 5
          h_bucket{le="NaN", j="a"} 100 100
          plain 1
    """)
    storage = TestStorage()
    storage.load(s.commands[0])
    db = storage.store
    assert db.labels.n == 8  # the seven float series, plus h{j="a"}
    hs = db.histograms
    assert [db.labels.row(int(i)) for i in hs.series] == [{"__name__": "h", "j": "a"}] * 2
    assert hs.ts.tolist() == [0, 60_000]
    h0, h1 = hs.values
    assert (h0.schema, h0.custom_values, h0.count, h0.sum, h0.positive) == (
        -53,
        (0.5, 1.0),
        3,
        7,
        {0: 1, 1: 2},
    )
    assert (h1.count, h1.sum, h1.positive) == (5, 8, {0: 2, 1: 2, 2: 1})


def test_load_with_nhcb_rejects_broken_classic_histograms():
    records = run("""
        load_with_nhcb 1m
          h_bucket{le="1"} 5
          h_bucket{le="2"} 3
    """)
    assert records[0].status == "fail" and "not cumulative" in records[0].message


# ---- expectations ------------------------------------------------------------------------

DATA = """
load 1m
  x{a="1"} 1+1x5
  x{a="2"} 10+10x5
  warn_x 5
  info_x 6
  boom 0
  h {{schema:0 count:2 sum:3 buckets:[1 1]}}
  hg {{count:2 sum:3 buckets:[1 1] counter_reset_hint:gauge}}
"""


def case(body: str) -> str:
    return DATA + "\n" + textwrap.dedent(body)


@pytest.mark.parametrize(
    ("body", "passes"),
    [
        ("eval instant at 0 boom\n  expect fail", True),
        ("eval instant at 0 boom\n  expect fail msg: boom went the query", True),
        ("eval instant at 0 boom\n  expect fail msg: boom went the quer", False),
        ("eval instant at 0 boom\n  expect fail regex: went", True),  # unanchored
        ("eval instant at 0 boom\n  expect fail regex: ^went", False),
        ("eval instant at 0 boom\n  expect fail regex: ^b.*y$", True),
        ("eval_fail instant at 0 boom", True),
        ("eval_fail instant at 0 boom\n  expected_fail_message boom went the query", True),
        ("eval_fail instant at 0 boom\n  expected_fail_regexp query$", True),
        ("eval_fail instant at 0 boom\n  expected_fail_regexp ^query", False),
        ("eval range from 0 to 1m step 1m boom\n  expect fail msg: boom went the query", True),
        ("eval instant at 0 x\n  expect fail", False),  # succeeded although a failure was expected
        ("eval instant at 0 boom", False),  # failed although nothing said so
        (
            "eval instant at 0 x{\n  expect fail",
            False,
        ),  # a syntax error is never an expected failure
    ],
)
def test_fail_expectations(body, passes):
    assert outcome(case(body))[-1][1] == ("pass" if passes else "fail")


def test_failure_messages_say_what_was_expected_and_got():
    m = message("eval instant at 0 boom\n  x 1")
    assert "the query failed" in m and "got:      error: boom went the query" in m
    m = message(case("eval instant at 0 boom\n  expect fail msg: nope"))
    assert "expected: error matching message 'nope'" in m


WARN = "PromQL warning: odd metric 'warn_x' (1:1)"
INFO = "PromQL info: odd metric 'info_x' (1:1)"


@pytest.mark.parametrize(
    ("body", "passes"),
    [
        ("eval instant at 0 warn_x\n  warn_x 5", True),  # no lines about warnings: ignored
        (f"eval instant at 0 warn_x\n  expect warn msg: {WARN}\n  warn_x 5", True),
        (
            "eval instant at 0 warn_x\n"
            "  expect warn msg: PromQL warning: odd metric 'warn_x'\n  warn_x 5",
            False,
        ),
        ("eval instant at 0 warn_x\n  expect warn regex: odd metric\n  warn_x 5", True),
        (
            "eval instant at 0 warn_x\n  expect warn regex: "
            + r"\([0-9]+:[0-9]+\)$"
            + "\n  warn_x 5",
            True,
        ),
        ("eval instant at 0 warn_x\n  expect warn\n  warn_x 5", True),
        (
            "eval instant at 0 warn_x\n"
            "  expect warn regex: odd\n  expect warn msg: other\n  warn_x 5",
            False,
        ),
        ("eval instant at 0 warn_x\n  expect info\n  warn_x 5", False),
        ("eval instant at 0 warn_x\n  expect no_warn\n  warn_x 5", False),
        ("eval instant at 0 warn_x\n  expect no_info\n  warn_x 5", True),
        ('eval instant at 0 x{a="1"}\n  expect warn\n  x{a="1"} 1', False),
        ("eval_warn instant at 0 warn_x\n  warn_x 5", True),
        ("eval_warn instant at 0 info_x\n  info_x 6", False),
        (f"eval instant at 0 info_x\n  expect info msg: {INFO}\n  info_x 6", True),
        ("eval instant at 0 info_x\n  expect no_info\n  info_x 6", False),
        ("eval instant at 0 info_x\n  expect warn regex: .*\n  info_x 6", False),
        ("eval_info instant at 0 info_x\n  info_x 6", True),
        (f"eval range from 0 to 1m step 1m warn_x\n  expect warn msg: {WARN}\n  warn_x 5 5", True),
    ],
)
def test_annotation_expectations(body, passes):
    assert outcome(case(body))[-1][1] == ("pass" if passes else "fail")


class TwoWarnings(FakeEngine):
    """Reports the same warning twice, at two positions."""

    def annotations(self, expr, text):
        return [Annotation("warning", "twice", 0, text), Annotation("warning", "twice", 2, text)]


class TwoKinds(FakeEngine):
    def annotations(self, expr, text):
        return [Annotation("warning", "first", 0, text), Annotation("warning", "second", 0, text)]


@pytest.mark.parametrize(
    ("lines", "passes"),
    [
        (["expect warn msg: PromQL warning: first (1:1)"], False),  # "second" is not expected
        (
            [
                "expect warn msg: PromQL warning: first (1:1)",
                "expect warn msg: PromQL warning: second (1:1)",
            ],
            True,
        ),
        (["expect warn regex: (first|second)"], True),
        (["expect warn"], True),
    ],
)
def test_every_warning_must_be_expected(lines, passes):
    body = 'eval instant at 0 x{a="1"}\n' + "".join(f"  {x}\n" for x in lines) + '  x{a="1"} 1'
    assert outcome(case(body), TwoKinds())[-1][1] == ("pass" if passes else "fail")


def test_annotations_are_deduplicated_by_message_keeping_the_last():
    ok = 'eval instant at 0 x{a="1"}\n  expect warn msg: PromQL warning: twice (1:3)\n  x{a="1"} 1'
    assert outcome(case(ok), TwoWarnings())[-1][1] == "pass"
    first = ok.replace("(1:3)", "(1:1)")
    assert outcome(case(first), TwoWarnings())[-1][1] == "fail"


@pytest.mark.parametrize(
    ("body", "passes"),
    [
        ('eval instant at 0 x\n  x{a="1"} 1\n  x{a="2"} 10', True),
        ('eval instant at 0 x\n  x{a="2"} 10\n  x{a="1"} 1', True),  # order ignored
        ('eval instant at 0 x\n  expect ordered\n  x{a="1"} 1\n  x{a="2"} 10', True),
        ('eval instant at 0 x\n  expect ordered\n  x{a="2"} 10\n  x{a="1"} 1', False),
        ('eval_ordered instant at 0 x\n  x{a="2"} 10\n  x{a="1"} 1', False),
        ('eval instant at 0 x\n  x{a="1"} 1', False),  # missing series
        ('eval instant at 0 x\n  x{a="1"} 1\n  x{a="2"} 10\n  x{a="3"} 0', False),
        ('eval instant at 0 x\n  x{a="1"} 1.0000019\n  x{a="2"} 10', True),  # float rule
        ('eval instant at 0 x\n  x{a="1"} 1.0000021\n  x{a="2"} 10', False),
        ('eval instant at 0 x\n  {a="1"} 1\n  {a="2"} 10', False),  # __name__ is part of the labels
        ('eval instant at 0 x{a="1"}\n  1', False),  # scalar expected, vector returned
        ("eval instant at 0 7\n  {} 7", False),  # vector expected, scalar returned
        ("eval instant at 0 7\n  7.0000001", True),
        ("eval instant at 0 7\n  0", False),
        ('eval instant at 0 "s"\n  expect string "s"', True),
        ('eval instant at 0 "s"\n  expect string "t"', False),
        ('eval instant at 0 "s"', False),  # no expect string: the empty string is expected
        ("eval instant at 0 nothing", True),
        ("eval instant at 0 nothing\n  nothing 1", False),
        ('eval range from 0 to 2m step 1m x{a="1"}\n  x{a="1"} 1 2 3', True),
        ('eval range from 0 to 2m step 1m x{a="1"}\n  x{a="1"} 1+1x2', True),
        ('eval range from 0 to 2m step 1m x{a="1"}\n  x{a="1"} 1 2', False),  # point count
        ('eval range from 0 to 2m step 1m x{a="1"}\n  x{a="1"} 1 _ 3', False),
        ('eval range from 0 to 2m step 1m x{a="1"}\n  x{a="1"} 1 2 3 4', False),  # beyond the range
        ('eval range from 0 to 2m step 1m x{a="1"}\n  expect ordered\n  x{a="1"} 1 2 3', False),
        ("eval range from 0 to 2m step 1m 5\n  5", False),  # a range query returns a matrix
        (
            'eval instant at 1m x{a="1"}[1m]\n'
            '  expect range vector from 1m to 1m step 1m\n  x{a="1"} 2',
            True,
        ),
        (
            'eval instant at 1m x{a="1"}[2m]\n'
            '  expect range vector from 0 to 1m step 1m\n  x{a="1"} 1 2',
            True,
        ),
        (
            'eval instant at 1m x{a="1"}[2m]\n'
            '  expect range vector from 0 to 1m step 1m\n  x{a="1"} _ 2',
            False,
        ),
        ('eval instant at 1m x{a="1"}[2m]\n  x{a="1"} 2', False),  # a matrix without its range line
    ],
)
def test_value_expectations(body, passes):
    assert outcome(case(body))[-1][1] == ("pass" if passes else "fail")


def test_a_matrix_needs_its_range_line_to_list_points():
    body = case('eval instant at 1m x{a="1"}[1m]\n  x{a="1"} 2')
    assert "more than the query's time range can return" in message(body, range_check=False)
    assert outcome(case("eval instant at 1m nothing[1m]"), range_check=False)[-1][1] == "pass"


@pytest.mark.parametrize(
    ("body", "passes"),
    [
        ("eval instant at 0 h\n  h {{count:2 sum:3 buckets:[1 1]}}", True),
        ("eval instant at 0 h\n  h {{count:2 sum:3.000001 buckets:[1 1 0]}}", True),
        ("eval instant at 0 h\n  h {{count:2 sum:3 buckets:[1 2]}}", False),
        ("eval instant at 0 h\n  h {{count:2 sum:3 offset:1 buckets:[1 1]}}", False),
        ("eval instant at 0 h\n  h 2", False),  # float expected, histogram returned
        ('eval instant at 0 x{a="1"}\n  x{a="1"} {{count:1}}', False),
        ("eval instant at 0 hg\n  hg {{count:2 sum:3 buckets:[1 1]}}", True),  # hint not stated
        (
            "eval instant at 0 hg\n  hg {{count:2 sum:3 buckets:[1 1] counter_reset_hint:gauge}}",
            True,
        ),
        (
            "eval instant at 0 hg\n  hg {{count:2 sum:3 buckets:[1 1] counter_reset_hint:unknown}}",
            False,
        ),
        ("eval range from 0 to 1m step 1m h\n  h {{count:2 sum:3 buckets:[1 1]}}x1", True),
        (
            "eval range from 0 to 1m step 1m h\n"
            "  h {{count:2 sum:3 buckets:[1 1]}} {{count:3 sum:3}}",
            False,
        ),
    ],
)
def test_histogram_expectations(body, passes):
    assert outcome(case(body))[-1][1] == ("pass" if passes else "fail")


# ---- range-mode and @-modifier checks ----------------------------------------------------

GOOD = case("""
    eval instant at 2m x
      x{a="1"} 3
      x{a="2"} 30
""")


@pytest.mark.parametrize(
    ("engine", "option", "reason"),
    [
        (RangeModeOffByOne(), "range_check", r"range-mode check .*: x\{a=\"1\"\}: wrong value"),
        (
            UnsortedRange(),
            "range_check",
            "range-mode check .*: matrix result is not sorted by labels",
        ),
        (FailsInRangeMode(), "range_check", "range-mode check: the range query failed"),
        (
            IgnoresAt(),
            "at_check",
            r"@-modifier check \(x @ 120.000 evaluated at t=-1200000ms\): missing series",
        ),
    ],
)
def test_extra_checks_catch_wrong_engines_and_can_be_switched_off(engine, option, reason):
    assert outcome(GOOD) == [(3 + DATA.count("\n"), "pass")]
    import re

    assert re.search(reason, message(GOOD, engine))
    assert outcome(GOOD, engine, **{option: False})[0][1] == "pass"


def test_range_mode_is_skipped_where_upstream_skips_it():
    for body in (
        'eval instant at 0 "s"\n  expect string "s"',  # string results
        "eval instant at 0 boom\n  expect fail",  # expected failures
        'eval instant at 1m x{a="1"}[1m]\n'
        '  expect range vector from 1m to 1m step 1m\n  x{a="1"} 2',
    ):
        assert outcome(case(body), FailsInRangeMode())[-1][1] == "pass", body


class Aliased:
    """Parses some texts as other expressions (to reach code paths by expression text)."""

    def parse(self, text):
        return super().parse(
            {"step() or x": 'x{a="1"}', "steps() or x": 'x{a="1"}', "ordered_x": "x"}.get(
                text, text
            )
        )


class AliasedFake(Aliased, FakeEngine):
    pass


class AliasedFailsInRangeMode(Aliased, FailsInRangeMode):
    pass


class AliasedOffByOne(Aliased, RangeModeOffByOne):
    pass


def test_range_mode_is_skipped_for_query_context_functions():
    body = case('eval instant at 0 step() or x\n  x{a="1"} 1')
    assert outcome(body, AliasedFailsInRangeMode(), at_check=False)[-1][1] == "pass"
    other = body.replace("step()", "steps()")
    assert "range-mode check" in message(other, AliasedFailsInRangeMode(), at_check=False)


def test_ordered_evals_run_the_range_query_but_compare_nothing():
    ordered = case('eval instant at 0 ordered_x\n  expect ordered\n  x{a="1"} 1\n  x{a="2"} 10')
    assert outcome(ordered, AliasedFake())[-1][1] == "pass"
    assert outcome(ordered, AliasedFailsInRangeMode())[-1][1] == "fail"
    assert outcome(ordered, AliasedOffByOne())[-1][1] == "pass"


def test_scalars_are_checked_in_range_mode_too():
    assert outcome(case("eval instant at 0 4\n  4"), RangeModeOffByOne())[-1][1] == "fail"
    assert (
        outcome(case("eval instant at 0 4\n  4"), RangeModeOffByOne(), range_check=False)[-1][1]
        == "pass"
    )


def sel(name, **kw):
    return VectorSelector(name=name, **kw)


def test_at_modifier_cases_times():
    x = sel("x")
    assert [t for _, t in at_modifier_cases(x, 300_000)] == [
        -3_000_000,
        0,
        60_000,
        300_000,
        3_000_000,
    ]
    assert [t for _, t in at_modifier_cases(x, 7)] == [-70, 0, 1, 7, 70]  # t/5 truncates
    assert [t for _, t in at_modifier_cases(x, 0)] == [-1000, 0, 1000]
    assert all(e == sel("x", at=0.3) for e, _ in at_modifier_cases(x, 300))


def test_at_modifier_rewrite():
    inner = Call(func="time", return_type="scalar")
    sub = SubqueryExpr(expr=Call(func="abs", args=(sel("y"), inner)), range=600_000, step=60_000)
    expr = Call(
        func="f",
        args=(
            MatrixSelector(vs=sel("x"), range=60_000),
            sel("y", at=5.0),
            sel("z", at="start"),
            sub,
            NumberLiteral(value=1),
        ),
    )
    [(pinned, _)] = at_modifier_cases(expr, 60_000)[:1]
    m, kept, started, pinned_sub, num = pinned.args
    assert m.vs.at == 60.0
    assert kept.at == 5.0  # an existing @ stays
    assert started.at == 60.0  # @ start() counts as none, as upstream's fresh parse
    assert pinned_sub.at == 60.0 and pinned_sub.expr == sub.expr  # nothing below a subquery changes
    assert num == NumberLiteral(value=1)
    assert str(m) == "x[1m] @ 60.000"


def test_at_modifier_check_is_skipped_for_time_dependent_functions():
    for func in ("time", "timestamp", "hour", "predict_linear", "day_of_week", "start", "step"):
        assert (
            at_modifier_cases(Call(func="g", args=(Call(func=func, args=(sel("x"),)),)), 60_000)
            == []
        )
    # ... but not for calls below a subquery or inside duration arithmetic
    below = SubqueryExpr(expr=Call(func="time"), range=60_000)
    assert len(at_modifier_cases(below, 60_000)) == 5
    dur = MatrixSelector(vs=sel("x"), range=DurationExpr(expr=Call(func="step")))
    assert len(at_modifier_cases(dur, 60_000)) == 5


def test_at_check_failures_carry_the_rewritten_query():
    m = message(GOOD, IgnoresAt())
    assert "x @ 120.000" in m and "expected: " in m and "got:" in m


class Crashes(FakeEngine):
    def instant(self, store, expr, time_ms, *, text):
        raise ZeroDivisionError("oops")


def test_engine_bugs_fail_the_eval_with_their_origin():
    m = message(GOOD, Crashes())
    assert m.startswith(
        "internal error during evaluation: ZeroDivisionError: oops at test_promqltest.py:"
    )
    m = message("eval instant at 0 x{\n  expect fail")
    assert m.startswith("the expression does not parse: ")


# ---- our own .test files -----------------------------------------------------------------


@pytest.mark.parametrize("path", OWN_FILES, ids=lambda p: p.name)
def test_own_files_pass_with_a_correct_engine(path):
    records = run_file(path, FakeEngine())
    assert records and [r for r in records if r.status != "pass"] == []


@pytest.mark.parametrize("path", OWN_FILES, ids=lambda p: p.name)
def test_own_files_catch_wrong_engines(path):
    for engine in (RangeModeOffByOne(), IgnoresAt()):
        assert any(r.status == "fail" for r in run_file(path, engine)), type(engine).__name__


def test_upstream_corpus_parses_loads_and_matches_the_manifest():
    from engine.promqltest.script import ClearCmd, LoadCmd
    from engine.promqltest.storage import TestStorage

    folder = shared_path("promqltest", "upstream")
    manifest = Manifest.load(folder.parent / "manifest-upstream.tsv")
    seen = 0
    for path in sorted(folder.glob("*.test")):
        s = parse_script(path.read_text(), path.name)
        storage = TestStorage()
        for cmd in s.commands:
            if isinstance(cmd, LoadCmd):
                storage.load(cmd)
            elif isinstance(cmd, ClearCmd):
                storage.clear()
        for ev in s.evals:
            entry = manifest.entry(path.name, ev.line)
            assert entry is not None and entry.expr == ev.expr, (path.name, ev.line)
            seen += 1
    assert seen == len(manifest) == 1771


# ---- the CLI -----------------------------------------------------------------------------


@pytest.fixture
def cli(monkeypatch, capsys):
    """Runs ``promreplay ...`` with the fake engine; returns (exit code, stdout, stderr)."""
    import engine.commands.test as cmd

    def go(*argv, engine=None):
        monkeypatch.setattr(cmd, "_engine", lambda: engine or FakeEngine())
        code = main(list(argv))
        out = capsys.readouterr()
        return code, out.out, out.err

    return go


@pytest.fixture
def files(tmp_path):
    good = tmp_path / "good.test"
    good.write_text(case('eval instant at 0 x{a="1"}\n  x{a="1"} 1\n'))
    bad = tmp_path / "bad.test"
    bad.write_text(case('eval instant at 0 x{a="1"}\n  x{a="1"} 2\n\neval instant at 0 nothing\n'))
    return good, bad


def test_cli_prints_failures_and_a_summary(cli, files):
    good, bad = files
    line = 3 + DATA.count("\n") - 1
    code, out, err = cli("test", str(good), str(bad))
    assert code == 1
    assert out.splitlines() == [
        f'FAIL {bad}:{line}: x{{a="1"}}',
        '    x{a="1"}: wrong value',
        "    expected: 2",
        "    got:      1",
        "2 passed, 1 failed, 0 skipped",
    ]
    assert f"{bad}: 1 passed, 1 failed, 0 skipped" in err
    assert cli("test", str(good)) == (
        0,
        "1 passed, 0 failed, 0 skipped\n",
        f"{good}: 1 passed, 0 failed, 0 skipped\n",
    )


def test_cli_quiet_folder_and_switches(cli, files, tmp_path):
    good, bad = files
    code, out, err = cli("test", "--quiet", str(tmp_path))
    assert (code, out, err) == (1, "2 passed, 1 failed, 0 skipped\n", "")
    code, out, _ = cli("test", "-q", "--no-at-check", str(good), engine=IgnoresAt())
    assert (code, out) == (0, "1 passed, 0 failed, 0 skipped\n")
    assert cli("test", "-q", str(good), engine=IgnoresAt())[0] == 1
    assert cli("test", "-q", "--no-range-check", str(good), engine=RangeModeOffByOne())[0] == 0


def test_cli_json_records(cli, files, tmp_path):
    good, bad = files
    out = tmp_path / "out.json"
    cli("test", "-q", "--json", str(out), str(good), str(bad))
    records = json.loads(out.read_text())
    line = 3 + DATA.count("\n") - 1
    assert [(r["file"], r["line"], r["expr"], r["status"]) for r in records] == [
        (str(good), line, 'x{a="1"}', "pass"),
        (str(bad), line, 'x{a="1"}', "fail"),
        (str(bad), line + 3, "nothing", "pass"),
    ]
    assert all(set(r) == {"file", "line", "expr", "status", "message"} for r in records)
    assert "expected: 2" in records[1]["message"] and records[0]["message"] == ""


def test_cli_tiers(cli, files, tmp_path):
    good, bad = files
    line = 3 + DATA.count("\n") - 1
    manifest = tmp_path / "manifest-upstream.tsv"
    manifest.write_text(
        "file\tline\teval_no\tkind\ttier\tflags\texpr\n"
        f'bad.test\t{line}\t0\tinstant\tnh\t\tx{{a="1"}}\n'
        f"bad.test\t{line + 3}\t1\tinstant\tcore\t\tnothing\n"
    )
    assert cli("test", "-q", "--tier", "core", str(bad)) == (
        0,
        "1 passed, 0 failed, 1 skipped\n",
        "",
    )
    assert cli("test", "-q", "--tier", "nh", str(bad))[:2] == (1, "0 passed, 1 failed, 1 skipped\n")
    # good.test is not in the manifest: its eval is skipped
    assert cli("test", "-q", "--tier", "core", "--manifest", str(manifest), str(good))[1] == (
        "0 passed, 0 failed, 1 skipped\n"
    )
    # the folder above counts too (the shared corpus keeps its manifest beside upstream/)
    sub = tmp_path / "upstream"
    sub.mkdir()
    (sub / "bad.test").write_text(bad.read_text())
    assert cli("test", "-q", "--tier", "core", str(sub))[1] == "1 passed, 0 failed, 1 skipped\n"
    manifest.unlink()
    code, out, err = cli("test", "--tier", "core", str(bad))
    assert code == 1 and "--tier needs a manifest" in err


def test_tier_filter_reasons():
    m = Manifest.parse(
        "file\tline\teval_no\tkind\ttier\tflags\texpr\na.test\t2\t0\tinstant\tnh+exp\tnh\tx\n"
    )
    (ev,) = parse_script("\neval instant at 0 x\n", "dir/a.test").evals
    assert TierFilter("exp", m)("dir/a.test", ev) is None
    assert TierFilter("core", m)("dir/a.test", ev) == "tier nh+exp"
    assert "not listed" in TierFilter("core", m)("dir/b.test", ev)
    with pytest.raises(Exception, match="unknown tier"):
        TierFilter("nope", m)


def test_cli_errors(cli, tmp_path):
    code, out, err = cli("test", str(tmp_path / "missing.test"))
    assert code == 1 and "no such file or folder" in err
    broken = tmp_path / "broken.test"
    broken.write_text("load 1m\n  x 1\n\nnonsense here\n")
    code, out, err = cli("test", str(broken))
    assert code == 1
    assert out.splitlines()[0] == f"FAIL {broken}:4: "
    assert "the file does not parse: invalid command 'nonsense here'" in out


def test_cli_reports_a_missing_engine(monkeypatch, capsys, files):
    import engine.commands.test as cmd

    def missing():
        from engine.errors import PromReplayError

        raise PromReplayError("the PromQL engine is not available: No module named 'x'")

    monkeypatch.setattr(cmd, "_engine", missing)
    assert main(["test", str(files[0])]) == 1
    assert "the PromQL engine is not available" in capsys.readouterr().err
