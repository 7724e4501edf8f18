"""Parsing a promqltest file into commands (DSL.md §1, §2, §4).

Lines are trimmed, and a line starting with ``#`` counts as empty. A ``load`` or
``eval`` command owns the following lines up to the next empty line; an eval block also
ends right after a scalar line (a line that parses as a number) and after a deprecated
``expected_fail_message``/``expected_fail_regexp`` line. ``clear`` is one line.

The whole file is parsed before anything runs, and a malformed command fails the file
(:class:`ScriptError` names the file and line). One deliberate difference: upstream
also parses every eval expression up front, so one PromQL syntax error fails the whole
file; here the expression is parsed when its eval runs, and only that eval fails.

>>> s = parse_script('''
... load 1m
...   up{job="a"} 0+1x3
...
... eval instant at 2m up
...   expect no_warn
...   up{job="a"} 2
... ''')
>>> [type(c).__name__ for c in s.commands]
['LoadCmd', 'EvalCmd']
>>> ev = s.commands[1]
>>> ev.line, ev.time_ms, [(k, e.pos, [str(v) for v in e.values]) for k, e in ev.expected.items()]
(5, 120000, [((('__name__', 'up'), ('job', 'a')), 1, ['2'])])
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import re2

from ..errors import ParseError, PromReplayError
from ..gostrconv import parse_number
from ..labels import Labels
from ..promql.parse import parse_duration
from .notation import (
    NotationError,
    SeqValue,
    parse_labels,
    parse_series_desc,
    parse_st_sequence,
    split_st_line,
    unquote,
)

__all__ = [
    "ClearCmd",
    "EvalCmd",
    "Expect",
    "ExpectedSeries",
    "LoadCmd",
    "Script",
    "ScriptError",
    "parse_script",
]

EXPECT_TYPES = ("ordered", "fail", "warn", "no_warn", "info", "no_info")

_SPACE = r"[\t\n\f\r ]"
_LOAD = re.compile(rf"^load(?:_(with_nhcb))?{_SPACE}+(.+?)$")
_EVAL_INSTANT = re.compile(
    rf"^eval(?:_(fail|warn|ordered|info))?{_SPACE}+instant{_SPACE}+(?:at{_SPACE}+(.+?))?{_SPACE}+(.+)$"
)
_EVAL_RANGE = re.compile(
    rf"^eval(?:_(fail|warn|info))?{_SPACE}+range{_SPACE}+from{_SPACE}+(.+){_SPACE}+to{_SPACE}+(.+)"
    rf"{_SPACE}+step{_SPACE}+(.+?){_SPACE}+(.+)$"
)
_EXPECT = re.compile(
    rf"^expect{_SPACE}+(ordered|fail|warn|no_warn|info|no_info)(?:{_SPACE}+(regex|msg):(.+))?$"
)
_EXPECT_RANGE = re.compile(
    rf"^expect range vector{_SPACE}+from{_SPACE}+(.+){_SPACE}+to{_SPACE}+(.+)"
    rf"{_SPACE}+step{_SPACE}+(.+)$"
)
_RANGE_VECTOR_PREFIX = "expect range vector"
_STRING_PREFIX = "expect string"


class ScriptError(PromReplayError):
    """A malformed test file: ``FILE:LINE: reason``."""

    def __init__(self, reason: str, file: str = "<input>", line: int | None = None) -> None:
        self.reason = reason
        self.file = file
        self.line = line
        super().__init__(f"{file}:{line}: {reason}" if line is not None else f"{file}: {reason}")


@dataclass(frozen=True)
class Expect:
    """One ``expect <type>`` line: ``message`` (exact match), ``regex`` (RE2, unanchored
    search), or neither (matches anything)."""

    type: str
    message: str | None = None
    regex: str | None = None

    def matches(self, text: str) -> bool:
        if self.message is not None:
            return self.message == text
        return re2.search(self.regex if self.regex is not None else "^.*$", text) is not None

    def describe(self) -> str:
        if self.message is not None:
            return f"message {self.message!r}"
        return f"pattern {self.regex if self.regex is not None else '^.*$'!r}"


@dataclass(frozen=True)
class ExpectedSeries:
    """Expected values of one series; ``pos`` is its 1-based position among the block's
    result lines (for ``expect ordered``)."""

    pos: int
    values: tuple[SeqValue, ...]


@dataclass
class LoadCmd:
    """``load <step>`` / ``load_with_nhcb <step>``. ``series`` maps each label set to its
    samples ``(ts_ms, SeqValue, start_ts_ms | None)``; a label set defined twice keeps
    the later definition."""

    line: int
    step_ms: int
    with_nhcb: bool = False
    series: dict[Labels, list[tuple[int, SeqValue, int | None]]] = field(default_factory=dict)
    lines: dict[Labels, int] = field(default_factory=dict)


@dataclass
class ClearCmd:
    line: int


@dataclass
class EvalCmd:
    """One ``eval`` command. Times are ms since the epoch.

    For an instant eval ``time_ms`` is the evaluation time (replaced by the end of an
    ``expect range vector`` line) and ``start_ms``/``step_ms`` locate the expected points
    of a range-vector result; ``end_ms`` is ``None`` unless such a line was given. For a
    range eval, ``start_ms``/``end_ms``/``step_ms`` are the query's.
    """

    line: int
    expr: str
    kind: str  # "instant" or "range"
    time_ms: int = 0
    start_ms: int = 0
    end_ms: int | None = None
    step_ms: int = 0
    legacy: str = ""  # deprecated header modifier: fail, warn, info, ordered
    expected_fail_message: str | None = None
    expected_fail_regexp: str | None = None
    expects: dict[str, list[Expect]] = field(default_factory=dict)
    expect_scalar: bool = False
    expected: dict[Labels, ExpectedSeries] = field(default_factory=dict)
    scalar: SeqValue | None = None
    expected_string: str = ""
    range_vector: bool = False
    exclude_from_range_query: bool = False

    @property
    def ordered(self) -> bool:
        return self.legacy == "ordered" or bool(self.expects.get("ordered"))

    @property
    def fails(self) -> bool:
        return self.legacy == "fail" or bool(self.expects.get("fail"))

    def describe_expected(self) -> str:
        """The expected result as the block wrote it (for failure reports)."""
        from .notation import format_labels

        if self.fails:
            e = self.expects.get("fail")
            qualified = e and (e[0].message is not None or e[0].regex is not None)
            return "an error" + (f" matching {e[0].describe()}" if qualified else "")
        if self.expect_scalar and self.scalar is not None:
            return f"scalar {self.scalar}"
        if not self.expected:
            return f"string {self.expected_string!r}" if self.expected_string else "empty result"
        return "\n".join(
            f"{format_labels(k)} {' '.join(str(v) for v in e.values)}"
            for k, e in sorted(self.expected.items(), key=lambda kv: kv[1].pos)
        )


@dataclass
class Script:
    file: str
    commands: list[LoadCmd | ClearCmd | EvalCmd]

    @property
    def evals(self) -> list[EvalCmd]:
        return [c for c in self.commands if isinstance(c, EvalCmd)]


def _lines(text: str) -> list[str]:
    out = []
    for raw in text.split("\n"):
        line = raw.strip()
        out.append("" if line.startswith("#") else line)
    return out


def parse_script(text: str, file: str = "<input>") -> Script:
    """Parse a whole test file; raises :class:`ScriptError` on the first bad command."""
    lines = _lines(text)
    commands: list[LoadCmd | ClearCmd | EvalCmd] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if line == "":
            i += 1
            continue
        word = re.split(r"[\t ]+", line, maxsplit=1)[0].lower()
        try:
            if word == "clear":
                commands.append(ClearCmd(i + 1))
            elif word.startswith("load"):
                i, cmd = _parse_load(lines, i)
                commands.append(cmd)
            elif word.startswith("eval"):
                i, cmd = _parse_eval(lines, i)
                commands.append(cmd)
            else:
                raise _Error(i, f"invalid command {line!r}")
        except _Error as e:
            raise ScriptError(e.reason, file, e.index + 1) from None
        i += 1
    return Script(file, commands)


class _Error(Exception):
    def __init__(self, index: int, reason: str) -> None:
        self.index = index
        self.reason = reason


def _duration(index: int, text: str, what: str) -> int:
    try:
        return parse_duration(text)
    except ParseError as e:
        raise _Error(index, f"invalid {what} {text!r}: {e.message}") from None


def _parse_load(lines: list[str], i: int) -> tuple[int, LoadCmd]:
    m = _LOAD.match(lines[i])
    if not m:
        raise _Error(i, "invalid load command (expected: load[_with_nhcb] <step>)")
    cmd = LoadCmd(i + 1, _duration(i, m.group(2), "step"), with_nhcb=m.group(1) == "with_nhcb")
    default_st: list[int | None] = []
    pending: tuple[Labels, list[int | None], int] | None = None
    while i + 1 < len(lines) and lines[i + 1] != "":
        i += 1
        line = lines[i]
        st = split_st_line(line)
        if st is not None:
            if pending is not None:
                raise _Error(pending[2], "@st line has no following sample line")
            metric, seq = st
            try:
                offsets = parse_st_sequence(seq)
                labels = parse_labels(metric) if metric else None
            except NotationError as e:
                raise _Error(i, f"invalid @st line: {e}") from None
            if labels is None:
                default_st = offsets
            else:
                pending = (labels, offsets, i)
            continue
        try:
            desc = parse_series_desc(line)
        except NotationError as e:
            raise _Error(i, f"invalid series line: {e}") from None
        offsets: list[int | None] = []
        if pending is not None:
            if pending[0] != desc.labels:
                raise _Error(
                    pending[2], "@st metric does not match the following sample line metric"
                )
            if len(pending[1]) != len(desc.values):
                raise _Error(
                    pending[2],
                    f"@st line has {len(pending[1])} values but sample line has {len(desc.values)}",
                )
            offsets = pending[1]
            pending = None
        samples = []
        for k, v in enumerate(desc.values):
            if v.omitted:
                continue
            ts = k * cmd.step_ms
            off: int | None = None
            if offsets:
                off = offsets[k]
            elif default_st:
                off = default_st[k % len(default_st)]
            samples.append((ts, v, None if off is None else ts + off))
        cmd.series[desc.labels] = samples
        cmd.lines[desc.labels] = i + 1
    if pending is not None:
        raise _Error(pending[2], "@st line has no following sample line")
    return i, cmd


def _parse_eval(lines: list[str], i: int) -> tuple[int, EvalCmd]:
    header = lines[i]
    inst = _EVAL_INSTANT.match(header)
    rng = _EVAL_RANGE.match(header)
    if inst is None and rng is None:
        raise _Error(
            i,
            "invalid eval command (expected: eval[_fail|_warn|_info|_ordered] instant "
            "[at <time>] <expr> or eval[_fail|_warn|_info] range from <start> to <end> "
            "step <step> <expr>)",
        )
    if inst is not None:
        expr = inst.group(3)
        t = _duration(i, inst.group(2) or "", "evaluation time")
        cmd = EvalCmd(i + 1, expr, "instant", time_ms=t, start_ms=t, legacy=inst.group(1) or "")
    else:
        assert rng is not None
        expr = rng.group(5)
        start = _duration(i, rng.group(2), "start time")
        end = _duration(i, rng.group(3), "end time")
        if end < start:
            raise _Error(i, f"end time {rng.group(3)} is before start time {rng.group(2)}")
        step = _duration(i, rng.group(4), "step")
        cmd = EvalCmd(
            i + 1,
            expr,
            "range",
            start_ms=start,
            end_ms=end,
            step_ms=step,
            legacy=rng.group(1) or "",
        )

    j = 1
    while i + 1 < len(lines) and lines[i + 1] != "":
        i += 1
        line = lines[i]
        if cmd.legacy == "fail" and line.startswith("expected_fail_message"):
            cmd.expected_fail_message = line[len("expected_fail_message") :].strip()
            break
        if cmd.legacy == "fail" and line.startswith("expected_fail_regexp"):
            pattern = line[len("expected_fail_regexp") :].strip()
            _check_regex(i, pattern, "expected_fail_regexp")
            cmd.expected_fail_regexp = pattern
            break
        if line.startswith(_RANGE_VECTOR_PREFIX):
            m = _EXPECT_RANGE.match(line)
            if not m:
                raise _Error(i, f"invalid range vector definition {line!r}")
            start = _duration(i, m.group(1), "start time")
            end = _duration(i, m.group(2), "end time")
            if end < start:
                raise _Error(i, f"end time {m.group(2)} is before start time {m.group(1)}")
            cmd.start_ms, cmd.end_ms = start, end
            cmd.step_ms = _duration(i, m.group(3), "step")
            cmd.time_ms = end
            cmd.range_vector = True
            cmd.exclude_from_range_query = True
            j += 1
            continue
        if line.startswith(_STRING_PREFIX):
            cmd.expected_string = _expected_string(i, line)
            cmd.exclude_from_range_query = True
            j += 1
            continue
        if line.split(" ")[0] == "expect":
            exp = _parse_expect(i, line)
            cmd.expects.setdefault(exp.type, []).append(exp)
            _validate_expects(i, cmd)
            continue
        try:
            number = parse_number(line)
        except ValueError:
            number = None
        if number is not None:
            cmd.expect_scalar = True
            cmd.scalar = SeqValue(number)
            cmd.expected = {}
            break
        try:
            desc = parse_series_desc(line)
        except NotationError as e:
            raise _Error(i, f"invalid result line: {e}") from None
        if len(desc.values) > 1 and cmd.kind == "instant" and not cmd.range_vector:
            raise _Error(
                i,
                "expecting multiple values in instant evaluation not allowed; use "
                "'expect range vector' for a range-vector result",
            )
        cmd.expect_scalar = False
        cmd.expected[desc.labels] = ExpectedSeries(j, desc.values)
        j += 1
    return i, cmd


def _check_regex(i: int, pattern: str, what: str) -> None:
    try:
        re2.compile(pattern)
    except re2.error:
        raise _Error(i, f"invalid regex {pattern!r} for {what}") from None


def _parse_expect(i: int, line: str) -> Expect:
    m = _EXPECT.match(line)
    if not m:
        raise _Error(
            i, f"invalid expect line {line!r} (expected: expect <type> [msg|regex: <text>])"
        )
    kind, qualifier, text = m.group(1), m.group(2), m.group(3)
    if qualifier == "msg":
        return Expect(kind, message=text.strip())
    if qualifier == "regex":
        pattern = text.strip()
        _check_regex(i, pattern, kind)
        return Expect(kind, regex=pattern)
    return Expect(kind)


def _validate_expects(i: int, cmd: EvalCmd) -> None:
    e = cmd.expects
    if e.get("info") and e.get("no_info"):
        raise _Error(i, "invalid expect lines: info and no_info cannot be used together")
    if e.get("warn") and e.get("no_warn"):
        raise _Error(i, "invalid expect lines: warn and no_warn cannot be used together")
    if len(e.get("fail", [])) > 1:
        raise _Error(i, "invalid expect lines: only one expect fail line is allowed")


def _expected_string(i: int, line: str) -> str:
    body = line[len(_STRING_PREFIX) + 1 :] if line.startswith(_STRING_PREFIX + " ") else ""
    if body == "":
        raise _Error(i, "expect string needs a quoted string literal")
    try:
        value = unquote(body)
    except ValueError:
        value = None
    if value is None or (body[0] == "'" and len(value) != 1):  # Go's Unquote: 'x' is one rune
        raise _Error(i, "expect string: the string literal is not correctly quoted")
    return value
