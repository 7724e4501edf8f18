"""How one query execution is checked against an eval block (DSL.md §5).

In order: the error (:func:`check_error`), the annotations (:func:`check_annotations`),
then the value (:func:`check_result`). Each raises :class:`Mismatch` with what was
expected and what came back; the runner turns that into a failed eval.

Results are :class:`engine.result.Result`. Native-histogram points are read from an
optional ``histograms`` attribute: an object array parallel to ``values`` whose entries
are :class:`~engine.histograms.FloatHistogram` for histogram points and ``None`` for
float points (``Result`` does not carry histograms yet; until it does, every point is a
float).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..almost import almost_equal
from ..histograms import FloatHistogram, histograms_match
from ..labels import Labels
from ..result import Result
from .notation import SeqValue, format_labels, format_value
from .script import EvalCmd, Expect

__all__ = [
    "Mismatch",
    "ResultSeries",
    "check_annotations",
    "check_error",
    "check_result",
    "check_scalar",
    "check_sorted",
    "check_vector",
    "describe_result",
    "points_at",
    "series_of",
]


class Mismatch(AssertionError):
    """A check failed: ``reason``, and the ``expected`` / ``got`` sides when known."""

    def __init__(self, reason: str, expected: str | None = None, got: str | None = None) -> None:
        self.reason = reason
        self.expected = expected
        self.got = got
        super().__init__(self.text())

    def text(self) -> str:
        out = [self.reason]
        if self.expected is not None:
            out.append("expected: " + _indent(self.expected))
        if self.got is not None:
            out.append("got:      " + _indent(self.got))
        return "\n".join(out)

    def prefixed(self, context: str) -> Mismatch:
        """The same mismatch with ``context`` put in front of the reason."""
        return Mismatch(f"{context}: {self.reason}", self.expected, self.got)


def _indent(s: str) -> str:
    return s.replace("\n", "\n          ")


@dataclass
class ResultSeries:
    """One series of a result: float points and histogram points, ts in ms."""

    labels: Labels
    float_ts: list[int]
    floats: list[float]
    hist_ts: list[int]
    hists: list[FloatHistogram]

    def describe(self) -> str:
        pts = [(t, format_value(v)) for t, v in zip(self.float_ts, self.floats, strict=True)]
        pts += [(t, h.test_expression()) for t, h in zip(self.hist_ts, self.hists, strict=True)]
        pts.sort(key=lambda p: p[0])
        return f"{format_labels(self.labels)} " + " ".join(f"{v}@{t}" for t, v in pts)


def series_of(result: Result) -> list[ResultSeries]:
    """The series of a vector/matrix result, in result order."""
    keys = result.labels.keys()
    hist = getattr(result, "histograms", None)
    out = []
    offsets = result.offsets.tolist()
    for i, key in enumerate(keys):
        a, b = offsets[i], offsets[i + 1]
        s = ResultSeries(tuple(key), [], [], [], [])
        for k in range(a, b):
            h = hist[k] if hist is not None else None
            t = int(result.ts[k])
            if h is not None:
                s.hist_ts.append(t)
                s.hists.append(h)
            else:
                s.float_ts.append(t)
                s.floats.append(float(result.values[k]))
        out.append(s)
    return out


def describe_result(result: Result) -> str:
    if result.type == "scalar":
        return (
            f"scalar {format_value(float(result.values[0]))}"
            if len(result.values)
            else "scalar (no value)"
        )
    if result.type == "string":
        return f"string {result.string!r}"
    series = series_of(result)
    if not series:
        return f"empty {result.type}"
    return "\n".join(s.describe() for s in series)


# ---- errors ------------------------------------------------------------------------------


def check_error(cmd: EvalCmd, error_text: str) -> None:
    """The query failed with ``error_text``: fine if the block expects that failure."""
    if not cmd.fails:
        raise Mismatch(
            "the query failed", expected=cmd.describe_expected(), got=f"error: {error_text}"
        )
    if cmd.expected_fail_message is not None and cmd.expected_fail_message != error_text:
        raise Mismatch(
            "wrong error",
            expected=f"error {cmd.expected_fail_message!r}",
            got=f"error {error_text!r}",
        )
    if cmd.expected_fail_regexp is not None:
        if not Expect("fail", regex=cmd.expected_fail_regexp).matches(error_text):
            raise Mismatch(
                "wrong error",
                expected=f"error matching {cmd.expected_fail_regexp!r}",
                got=f"error {error_text!r}",
            )
    fail = cmd.expects.get("fail")
    if fail and not fail[0].matches(error_text):
        raise Mismatch(
            "wrong error",
            expected=f"error matching {fail[0].describe()}",
            got=f"error {error_text!r}",
        )


# ---- annotations -------------------------------------------------------------------------


def check_annotations(cmd: EvalCmd, result: Result) -> None:
    """Warnings and infos against the ``expect warn|info|no_warn|no_info`` lines.

    Annotations are deduplicated by severity and message (the last one of a kind is
    kept, as upstream's map does); the compared text is ``str(annotation)``, i.e.
    ``PromQL warning: <message> (<line>:<col>)``.
    """
    unique: dict[tuple[str, str], str] = {}
    for a in result.annotations:
        if a.severity not in ("warning", "info"):
            raise Mismatch(f"annotation of unknown kind {a.severity!r}: {a}")
        unique[(a.severity, a.message)] = str(a)
    warnings = [t for (sev, _), t in unique.items() if sev == "warning"]
    infos = [t for (sev, _), t in unique.items() if sev == "info"]
    if cmd.legacy == "warn" and not warnings:
        raise Mismatch("expected warnings, got none", got=_list(infos, "infos"))
    if cmd.legacy == "info" and not infos:
        raise Mismatch("expected info annotations, got none", got=_list(warnings, "warnings"))
    _check_kind(cmd.expects.get("warn", []), warnings, "warn")
    _check_kind(cmd.expects.get("info", []), infos, "info")
    if cmd.expects.get("no_warn") and warnings:
        raise Mismatch("unexpected warnings", expected="no warnings", got="\n".join(warnings))
    if cmd.expects.get("no_info") and infos:
        raise Mismatch(
            "unexpected info annotations", expected="no info annotations", got="\n".join(infos)
        )


def _list(items: list[str], what: str) -> str:
    return "\n".join(items) if items else f"no {what}"


def _check_kind(expects: list[Expect], actual: list[str], kind: str) -> None:
    if not expects:
        return
    want = "\n".join(e.describe() for e in expects)
    if not actual:
        raise Mismatch(
            f"expected {kind} annotations, got none", expected=want, got=f"no {kind} annotations"
        )
    for e in expects:
        if not any(e.matches(a) for a in actual):
            raise Mismatch(
                f"no {kind} annotation matches {e.describe()}", expected=want, got="\n".join(actual)
            )
    for a in actual:
        if not any(e.matches(a) for e in expects):
            raise Mismatch(
                f"unexpected {kind} annotation {a!r}", expected=want, got="\n".join(actual)
            )


# ---- values ------------------------------------------------------------------------------


def check_sorted(series: list[ResultSeries]) -> None:
    """A matrix must be sorted by label set (Prometheus' ``labels.Compare``)."""
    for i in range(len(series) - 1):
        if series[i].labels > series[i + 1].labels:
            raise Mismatch(
                "matrix result is not sorted by labels: "
                f"{format_labels(series[i + 1].labels)} (index {i + 1}) sorts before "
                f"{format_labels(series[i].labels)} (index {i})"
            )


def check_result(cmd: EvalCmd, result: Result) -> None:
    """The value of a successful query against the block's expected result."""
    if result.type == "matrix":
        _check_matrix(cmd, result)
    elif result.type == "vector":
        check_vector(cmd, series_of(result))
    elif result.type == "scalar":
        if not len(result.values):
            raise Mismatch("the scalar result holds no value")
        check_scalar(cmd, float(result.values[0]))
    elif result.type == "string":
        if result.string != cmd.expected_string:
            raise Mismatch(
                "wrong string",
                expected=f"string {cmd.expected_string!r}",
                got=f"string {result.string!r}",
            )
    else:
        raise Mismatch(f"unknown result type {result.type!r}")


def check_scalar(cmd: EvalCmd, got: float) -> None:
    """A scalar result against the block's number line."""
    if not cmd.expect_scalar or cmd.scalar is None:
        raise Mismatch(
            "expected a vector or matrix, got a scalar",
            expected=cmd.describe_expected(),
            got=f"scalar {format_value(got)}",
        )
    if not almost_equal(cmd.scalar.value, got):
        raise Mismatch(
            "wrong scalar", expected=f"scalar {cmd.scalar}", got=f"scalar {format_value(got)}"
        )


def check_vector(cmd: EvalCmd, series: list[ResultSeries]) -> None:
    """An instant vector: exactly the expected label sets, one value each, in order when
    the block says ``expect ordered``. Sample timestamps are not checked."""
    if cmd.expect_scalar:
        raise Mismatch(
            "expected a scalar, got a vector",
            expected=cmd.describe_expected(),
            got="\n".join(s.describe() for s in series) or "empty vector",
        )
    seen = set()
    for idx, s in enumerate(series):
        exp = cmd.expected.get(s.labels)
        if exp is None:
            raise Mismatch(
                f"unexpected series {format_labels(s.labels)}",
                expected=cmd.describe_expected(),
                got=s.describe(),
            )
        if cmd.ordered and exp.pos != idx + 1:
            raise Mismatch(
                f"series {format_labels(s.labels)} is at position {idx + 1}, expected at {exp.pos}",
            )
        if not exp.values:
            raise Mismatch(f"the block lists no value for {format_labels(s.labels)}")
        _check_point(s.labels, exp.values[0], s)
        seen.add(s.labels)
    missing = [k for k in cmd.expected if k not in seen]
    if missing:
        k = missing[0]
        raise Mismatch(
            f"missing series {format_labels(k)}",
            expected=f"{format_labels(k)} {' '.join(map(str, cmd.expected[k].values))}",
            got="\n".join(s.describe() for s in series) or "empty vector",
        )


def _check_point(labels: Labels, want: SeqValue, s: ResultSeries) -> None:
    name = format_labels(labels)
    got_h = s.hists[0] if s.hists else None
    got_f = s.floats[0] if s.floats else 0.0
    if want.histogram is None and got_h is not None:
        raise Mismatch(
            f"{name}: expected a float, got a histogram",
            expected=str(want),
            got=got_h.test_expression(),
        )
    if want.histogram is not None and got_h is None:
        raise Mismatch(
            f"{name}: expected a histogram, got a float",
            expected=str(want),
            got=format_value(got_f),
        )
    if want.histogram is not None and got_h is not None:
        if not histograms_match(want.histogram, got_h, compare_hint=want.hint_set):
            raise Mismatch(
                f"{name}: wrong histogram", expected=str(want), got=got_h.test_expression()
            )
        return
    if not almost_equal(want.value, got_f):
        raise Mismatch(f"{name}: wrong value", expected=str(want), got=format_value(got_f))


def _check_matrix(cmd: EvalCmd, result: Result) -> None:
    if cmd.ordered:
        raise Mismatch("expect ordered is not allowed for a matrix result")
    if cmd.expect_scalar:
        raise Mismatch(
            "expected a scalar, got a matrix",
            expected=cmd.describe_expected(),
            got=describe_result(result),
        )
    series = series_of(result)
    check_sorted(series)
    seen = set()
    for s in series:
        exp = cmd.expected.get(s.labels)
        if exp is None:
            raise Mismatch(
                f"unexpected series {format_labels(s.labels)}",
                expected=cmd.describe_expected(),
                got=s.describe(),
            )
        seen.add(s.labels)
        _check_matrix_series(cmd, exp, s)
    missing = [k for k in cmd.expected if k not in seen]
    if missing:
        k = missing[0]
        raise Mismatch(
            f"missing series {format_labels(k)}",
            expected=f"{format_labels(k)} {' '.join(map(str, cmd.expected[k].values))}",
            got=describe_result(result),
        )


def _check_matrix_series(cmd: EvalCmd, exp, s: ResultSeries) -> None:
    name = format_labels(s.labels)
    want_f: list[tuple[int, float]] = []
    want_h: list[tuple[int, SeqValue]] = []
    for i, v in enumerate(exp.values):
        t = cmd.start_ms + i * cmd.step_ms
        if cmd.end_ms is None or t > cmd.end_ms:
            raise Mismatch(
                f"{name}: the block lists {len(exp.values)} points, "
                "more than the query's time range can return"
            )
        if v.histogram is not None:
            want_h.append((t, v))
        elif not v.omitted:
            want_f.append((t, v.value))
    expected_text = f"{name} {' '.join(map(str, exp.values))}"
    if len(want_f) != len(s.floats) or len(want_h) != len(s.hists):
        raise Mismatch(
            f"{name}: expected {len(want_f)} float and {len(want_h)} histogram points, "
            f"got {len(s.floats)} and {len(s.hists)}",
            expected=expected_text,
            got=s.describe(),
        )
    for (t, v), gt, gv in zip(want_f, s.float_ts, s.floats, strict=True):
        if t != gt:
            raise Mismatch(
                f"{name}: float point at t={gt}, expected t={t}",
                expected=expected_text,
                got=s.describe(),
            )
        if not almost_equal(v, gv):
            raise Mismatch(
                f"{name}: wrong value at t={t}", expected=format_value(v), got=format_value(gv)
            )
    for (t, v), gt, gh in zip(want_h, s.hist_ts, s.hists, strict=True):
        if t != gt:
            raise Mismatch(
                f"{name}: histogram point at t={gt}, expected t={t}",
                expected=expected_text,
                got=s.describe(),
            )
        assert v.histogram is not None
        if not histograms_match(v.histogram, gh, compare_hint=v.hint_set):
            raise Mismatch(
                f"{name}: wrong histogram at t={t}", expected=str(v), got=gh.test_expression()
            )


def points_at(series: list[ResultSeries], t: int) -> list[ResultSeries]:
    """The points of a range result at time ``t``, as one-point series (range mode)."""
    out = []
    for s in series:
        pt = ResultSeries(s.labels, [], [], [], [])
        if t in s.float_ts:
            k = s.float_ts.index(t)
            pt.float_ts.append(t)
            pt.floats.append(s.floats[k])
        if t in s.hist_ts:
            k = s.hist_ts.index(t)
            pt.hist_ts.append(t)
            pt.hists.append(s.hists[k])
        if pt.float_ts or pt.hist_ts:
            out.append(pt)
    return out
