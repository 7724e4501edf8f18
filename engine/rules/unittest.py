"""``promtool test rules`` (``cmd/promtool/unittest.go``, Prometheus 3.14) over our engine.

A test file names rule files (globs, relative to the test file), an
``evaluation_interval`` (1m), an optional ``group_eval_order`` and ``fuzzy_compare``, and
test groups. Each test group loads its ``input_series`` (promqltest series notation, one
sample per ``interval``, from ``start_timestamp``), evaluates every rule group at
``start + k * evaluation_interval`` for ``k = 0 .. max(eval_time) / evaluation_interval``
(group ``interval:`` ignored; input samples visible up to each evaluation), and then:

- ``alert_rule_test``: at each ``eval_time``, the **firing** alerts of the last
  evaluation at or before it, labels (with ``alertname``) and annotations, compared
  exactly;
- ``promql_expr_test``: after all evaluations, the expression at ``start + eval_time``
  over the input data and everything the rules wrote; values compared exactly (a NaN
  expectation never passes) or within one ulp with ``fuzzy_compare``.

The first rule error stops the test group (``rule: <name>, time: <Go duration>, err:
<message>``), after reporting the alert failures found before it. The engine limits are
promtool's: 10000 samples per query, lookback 5m, subquery step = evaluation interval.

Output follows promtool: ``  SUCCESS`` or ``  FAILED:`` and the failures (on stderr), a
blank line after each file; :func:`run_files` returns the exit code (1 on any failure).

>>> go_duration(4_440_000), go_duration(179_999), go_duration(0), go_duration(1500)
('1h14m0s', '2m59.999s', '0s', '1.5s')
"""

from __future__ import annotations

import glob
import json
import math
import os
import sys
import time as _time
from collections.abc import Sequence
from dataclasses import dataclass, field
from dataclasses import replace as dc_replace
from typing import Any, TextIO
from xml.sax.saxutils import escape as _xml_escape
from xml.sax.saxutils import quoteattr

import numpy as np
import re2
import yaml

from ..errors import PromReplayError
from ..gostrconv import quote as go_quote
from ..labels import format_go_float, format_labels_go
from ..promql import nodes as N
from ..promql.nodes import format_duration
from ..promql.parse import parse_duration
from ..store import Store, StoreBuilder
from ..times import parse_time

__all__ = [
    "Failure",
    "FileResult",
    "TestOptions",
    "go_duration",
    "run_file",
    "run_files",
]

_MAX_SAMPLES = 10_000


def go_duration(ms: int) -> str:
    """Go's ``time.Duration.String()`` of a whole number of milliseconds."""
    if ms == 0:
        return "0s"
    sign = "-" if ms < 0 else ""
    ms = abs(int(ms))
    if ms < 1000:
        return f"{sign}{ms}ms"
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, frac = divmod(rest, 1000)
    sec = str(s) + (f".{frac:03d}".rstrip("0") if frac else "")
    if h:
        return f"{sign}{h}h{m}m{sec}s"
    if m:
        return f"{sign}{m}m{sec}s"
    return f"{sign}{sec}s"


def _go_float_e(v: float) -> str:
    """``strconv.FormatFloat(v, 'E', -1, 64)``."""
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    return format_go_float(v, "e").upper()


# ---- the file format -------------------------------------------------------------------------


class _FileError(Exception):
    pass


_FIELDS = {
    "main.unitTestFile": {
        "rule_files",
        "evaluation_interval",
        "group_eval_order",
        "tests",
        "fuzzy_compare",
    },
    "main.testGroup": {
        "interval",
        "input_series",
        "alert_rule_test",
        "promql_expr_test",
        "external_labels",
        "external_url",
        "name",
        "start_timestamp",
    },
    "main.series": {"series", "values"},
    "main.alertTestCase": {"eval_time", "alertname", "exp_alerts"},
    "main.alert": {"exp_labels", "exp_annotations"},
    "main.promqlTestCase": {"expr", "eval_time", "exp_samples"},
    "main.sample": {"labels", "value", "histogram"},
}


def _plain(node: yaml.Node, typ: str | None, errors: list[str]) -> Any:
    """A composed YAML node as Python data (every scalar a string), checking field names
    as ``yaml.UnmarshalStrict`` does."""
    if isinstance(node, yaml.ScalarNode):
        return (
            None
            if node.tag.endswith(":null")
            or (node.style is None and node.value in ("", "~", "null"))
            else node.value
        )
    if isinstance(node, yaml.SequenceNode):
        return [_plain(n, typ, errors) for n in node.value]
    out: dict[str, Any] = {}
    for k, v in node.value:
        key = k.value if isinstance(k, yaml.ScalarNode) else str(k.value)
        allowed = _FIELDS.get(typ or "")
        if allowed is not None and key not in allowed:
            errors.append(f"line {k.start_mark.line + 1}: field {key} not found in type {typ}")
            continue
        sub = _CHILD.get((typ, key))
        if typ is not None and key in out:
            errors.append(f"line {k.start_mark.line + 1}: field {key} already set in type {typ}")
        out[key] = _plain(v, sub, errors)
    return out


_CHILD = {
    ("main.unitTestFile", "tests"): "main.testGroup",
    ("main.testGroup", "input_series"): "main.series",
    ("main.testGroup", "alert_rule_test"): "main.alertTestCase",
    ("main.testGroup", "promql_expr_test"): "main.promqlTestCase",
    ("main.alertTestCase", "exp_alerts"): "main.alert",
    ("main.promqlTestCase", "exp_samples"): "main.sample",
}


def _scalar(v: Any) -> Any:
    """A YAML scalar resolved as YAML 1.1 would type it."""
    if v is None:
        return None
    try:
        return yaml.safe_load(v) if isinstance(v, str) else v
    except yaml.YAMLError:
        return v


def _duration(v: Any, what: str) -> int:
    if v is None:
        return 0
    s = str(v).strip()
    try:
        return parse_duration(s)
    except PromReplayError as e:
        raise _FileError(f"{what}: {e}") from None


def _float(v: Any, what: str) -> float:
    if v is None:
        return 0.0
    x = _scalar(v)
    if isinstance(x, bool) or not isinstance(x, int | float):
        try:
            return float(str(v))
        except ValueError:
            raise _FileError(f"{what}: cannot unmarshal {v!r} into float64") from None
    return float(x)


def _bool(v: Any) -> bool:
    x = _scalar(v)
    return bool(x) if isinstance(x, bool) else str(v).lower() == "true"


def _dict(v: Any) -> dict[str, str]:
    if v is None:
        return {}
    if not isinstance(v, dict):
        raise _FileError(f"expected a mapping, got {v!r}")
    return {str(k): "" if x is None else str(x) for k, x in v.items()}


def _list(v: Any) -> list:
    if v is None:
        return []
    if not isinstance(v, list):
        raise _FileError(f"expected a list, got {v!r}")
    return v


@dataclass
class AlertCase:
    eval_time: int
    alertname: str
    exp: list[tuple[dict[str, str], dict[str, str]]]


@dataclass
class ExprCase:
    expr: str
    eval_time: int
    exp: list[dict[str, Any]]


@dataclass
class TestGroup:
    name: str
    interval: int
    input_series: list[tuple[str, str]]
    alert_tests: list[AlertCase]
    expr_tests: list[ExprCase]
    external_labels: dict[str, str]
    external_url: str
    start_ms: int | None

    def max_eval_time(self) -> int:
        return max(
            [a.eval_time for a in self.alert_tests] + [e.eval_time for e in self.expr_tests] + [0]
        )


@dataclass
class TestFile:
    rule_files: list[str]
    evaluation_interval: int
    group_eval_order: list[str]
    tests: list[TestGroup]
    fuzzy_compare: bool


def parse_test_file(path: str, warn: TextIO) -> TestFile:
    """Read a test file (strict: unknown fields are errors) and resolve its rule files."""
    with open(path, encoding="utf-8") as fh:
        text = fh.read()
    try:
        root = yaml.compose(text, Loader=yaml.BaseLoader)
    except yaml.YAMLError as e:
        raise _FileError(f"yaml: {e}") from None
    errors: list[str] = []
    doc = _plain(root, "main.unitTestFile", errors) if root is not None else {}
    if errors:
        raise _FileError("yaml: unmarshal errors:\n  " + "\n  ".join(errors))
    if not isinstance(doc, dict):
        raise _FileError("yaml: the test file is not a mapping")
    ev = _duration(doc.get("evaluation_interval"), "evaluation_interval") or 60_000
    base = os.path.dirname(path)
    files: list[str] = []
    for rf in _list(doc.get("rule_files")):
        rf = "" if rf is None else str(rf)
        # Go: filepath.Join (which cleans the path), then filepath.Glob, which matches
        # dot files too and lists each folder's names in order
        pattern = rf
        if rf and not os.path.isabs(rf):
            pattern = os.path.normpath(os.path.join(base, rf))
        found = glob.glob(pattern, include_hidden=True) if pattern else []
        matches = sorted(found, key=lambda p: p.split(os.sep))
        if not matches:
            print("  WARNING: no file match pattern", pattern, file=warn)
        files.extend(matches)
    tests = []
    for t in _list(doc.get("tests")):
        t = t or {}
        start = None
        if t.get("start_timestamp") not in (None, ""):
            try:
                start = int(round(parse_time(str(t["start_timestamp"])) * 1000))
            except PromReplayError as e:
                raise _FileError(str(e)) from None
        alerts = []
        for a in _list(t.get("alert_rule_test")):
            a = a or {}
            exp = [
                (_dict((x or {}).get("exp_labels")), _dict((x or {}).get("exp_annotations")))
                for x in _list(a.get("exp_alerts"))
            ]
            alerts.append(
                AlertCase(
                    _duration(a.get("eval_time"), "eval_time"), str(a.get("alertname") or ""), exp
                )
            )
        exprs = []
        for e in _list(t.get("promql_expr_test")):
            e = e or {}
            samples = [
                {
                    "labels": str((s or {}).get("labels") or ""),
                    "value": _float((s or {}).get("value"), "value"),
                    "histogram": str((s or {}).get("histogram") or ""),
                }
                for s in _list(e.get("exp_samples"))
            ]
            exprs.append(
                ExprCase(
                    str(e.get("expr") or ""), _duration(e.get("eval_time"), "eval_time"), samples
                )
            )
        series = [
            (str((s or {}).get("series") or ""), str((s or {}).get("values") or ""))
            for s in _list(t.get("input_series"))
        ]
        tests.append(
            TestGroup(
                name=str(t.get("name") or ""),
                interval=_duration(t.get("interval"), "interval") or ev,
                input_series=series,
                alert_tests=alerts,
                expr_tests=exprs,
                external_labels=_dict(t.get("external_labels")),
                external_url=str(t.get("external_url") or ""),
                start_ms=start,
            )
        )
    order = [str(g) for g in _list(doc.get("group_eval_order"))]
    return TestFile(files, ev, order, tests, _bool(doc.get("fuzzy_compare")))


# ---- running ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TestOptions:
    """``--run`` patterns, ``--diff``, ``--debug``, ``--ignore-unknown-fields`` and
    ``--enable-feature`` values."""

    __test__ = False  # not a pytest class

    run: tuple[str, ...] = ()
    diff: bool = False
    debug: bool = False
    ignore_unknown_fields: bool = False
    features: tuple[str, ...] = ()


@dataclass
class Failure:
    """One failure, as promtool prints it (``text``) and as ``--json`` records it."""

    kind: str  # alert | expr | expr_error | rule_error | file_error
    text: str
    group: str = ""
    name: str | None = None  # alertname, expr or rule
    eval_time: str | None = None
    exp: Any = None
    got: Any = None

    def record(self, file: str) -> dict[str, Any]:
        key = {"alert": "alertname", "rule_error": "rule"}.get(self.kind, "expr")
        rec: dict[str, Any] = {"file": file, "group": self.group, "kind": self.kind}
        if self.kind != "file_error":
            rec[key] = self.name
            rec["eval_time"] = self.eval_time
        rec["exp"] = self.exp
        rec["got"] = self.got
        if self.kind in ("file_error", "rule_error", "expr_error"):
            rec["error"] = self.text.strip()
        return rec


@dataclass
class FileResult:
    file: str
    failures: list[Failure] = field(default_factory=list)
    cases: list[tuple[str, list[Failure], float]] = field(default_factory=list)  # junit
    aborted: str | None = None

    @property
    def ok(self) -> bool:
        return not self.failures


def _matches_run(name: str, run: re2._Regexp | None) -> bool:
    return run is None or run.search(name) is not None


def run_file(
    path: str, opts: TestOptions, *, out: TextIO | None = None, err: TextIO | None = None
) -> FileResult:
    """Run one test file; failures are returned (not printed). ``out``/``err`` default
    to ``sys.stdout``/``sys.stderr`` as they are at the call."""
    err = sys.stderr if err is None else err
    res = FileResult(path)
    try:
        tf = parse_test_file(path, err)
        seen = set()
        for g in tf.group_eval_order:
            if g in seen:
                raise _FileError(f"group name repeated in evaluation order: {g}")
            seen.add(g)
    except (_FileError, OSError) as e:
        msg = (
            str(e)
            if not isinstance(e, OSError)
            else f"open {path}: {e.strerror.lower() if e.strerror else e}"
        )
        res.failures.append(Failure("file_error", msg))
        res.aborted = msg
        return res
    run = re2.compile("|".join(opts.run)) if opts.run else None
    for i, tg in enumerate(tf.tests):
        if not _matches_run(tg.name, run):
            continue
        name = tg.name or f"unnamed#{i}"
        t0 = _time.monotonic()
        if opts.debug:
            print(f"DEBUG: Starting test {name}", file=err)
        fails = _run_group(tf, tg, opts, err)
        took = _time.monotonic() - t0
        if opts.debug:
            print(f"DEBUG: Test {name} finished, took {took * 1000:.3f}ms", file=err)
        res.cases.append((name, fails, took))
        res.failures.extend(fails)
    return res


def run_files(
    files: Sequence[str],
    opts: TestOptions,
    *,
    json_out: str | None = None,
    junit_out: str | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """Run test files as ``promtool test rules`` does; returns the exit code. ``out`` and
    ``err`` default to ``sys.stdout``/``sys.stderr`` as they are at the call."""
    out = sys.stdout if out is None else out
    err = sys.stderr if err is None else err
    failed = False
    results = []
    for f in files:
        r = run_file(f, opts, out=out, err=err)
        results.append(r)
        if r.failures:
            print("  FAILED:", file=err)
            for x in r.failures:
                print(x.text, file=err)
                print(file=out)
            failed = True
        else:
            print("  SUCCESS", file=out)
        print(file=out)
    if json_out:
        records = [x.record(r.file) for r in results for x in r.failures]
        with open(json_out, "w", encoding="utf-8") as fh:
            json.dump(records, fh, indent=1)
            fh.write("\n")
    if junit_out:
        with open(junit_out, "w", encoding="utf-8") as fh:
            fh.write(junit_xml(results))
    return 1 if failed else 0


def junit_xml(results: Sequence[FileResult]) -> str:
    """The JUnit XML promtool writes with ``--junit`` (one suite per file, one case per
    test group)."""
    stamp = _time.strftime("%Y-%m-%dT%H:%M:%S")
    lines = ["<testsuites>"]
    for r in results:
        fails = sum(1 for _, f, _ in r.cases if f)
        errors = 1 if r.aborted else 0
        lines.append(
            f'  <testsuite name={quoteattr(r.file)} tests="{len(r.cases)}" failures="{fails}" '
            f'errors="{errors}" skipped="0" timestamp="{stamp}">'
        )
        if r.aborted:
            lines.append(f"    <error>{_xml_escape(r.aborted)}</error>")
        for name, fs, _took in r.cases:
            if fs:
                lines.append(f"    <testcase name={quoteattr(name)}>")
                for f in fs:
                    lines.append(f"      <failure>{_xml_escape(f.text)}</failure>")
                lines.append("    </testcase>")
            else:
                lines.append(f"    <testcase name={quoteattr(name)}></testcase>")
        lines.append("  </testsuite>")
    lines.append("</testsuites>")
    return "\n".join(lines) + "\n"


# ---- one test group -------------------------------------------------------------------------


def _load_series(tg: TestGroup, start: int) -> Store:
    from ..promqltest.notation import NotationError, parse_series_desc

    b = StoreBuilder()
    ids, tss, vals = [], [], []
    for series, values in tg.input_series:
        line = f"{series} {values}"
        try:
            desc = parse_series_desc(line)
        except (NotationError, PromReplayError) as e:
            raise _FileError(f"error in series {series!r}: {e}") from None
        sid = b.series_id(desc.labels)
        for k, v in enumerate(desc.values):
            if v.omitted:
                continue
            t = start + k * tg.interval
            if v.histogram is not None:
                b.append_histogram(sid, t, v.histogram)
            else:
                ids.append(sid)
                tss.append(t)
                vals.append(v.value)
    if ids:
        b.append(np.asarray(ids, np.int64), np.asarray(tss, np.int64), np.asarray(vals, np.float64))
    return b.finish()


def _run_group(tf: TestFile, tg: TestGroup, opts: TestOptions, err: TextIO) -> list[Failure]:
    from .load import load as load_rules
    from .model import RuleFileError, RuleSet
    from .replay import ReplayOptions, run_replay, truncate

    gname = tg.name
    try:
        data = _load_series(tg, tg.start_ms or 0)
    except _FileError as e:
        return [Failure("file_error", str(e), gname)]
    experimental = "promql-experimental-functions" in opts.features
    try:
        rules = (
            load_rules(
                *tf.rule_files,
                ignore_unknown_fields=opts.ignore_unknown_fields,
                experimental=experimental,
            )
            if tf.rule_files
            else RuleSet([])
        )
    except RuleFileError as e:
        return [Failure("file_error", line, gname) for line in e.errors]
    for a in tg.alert_tests:
        if a.alertname == "":
            where = f" (in TestGroup {tg.name})" if tg.name else ""
            return [
                Failure(
                    "file_error",
                    "an item under alert_rule_test misses required attribute "
                    f"alertname at eval_time {format_duration(a.eval_time)}{where}",
                    gname,
                )
            ]
    mint = tg.start_ms or 0
    maxt = mint + tg.max_eval_time()
    interval = tf.evaluation_interval
    ropts = ReplayOptions(
        evaluation_interval_ms=interval,
        align="promtool",
        external_labels=tg.external_labels,
        external_url=tg.external_url,
        group_order=tuple(tf.group_eval_order),
        max_samples=_MAX_SAMPLES,
        data_until_eval=True,
        delayed_name_removal="promql-delayed-name-removal" in opts.features,
        experimental=experimental,
    )
    rep = run_replay(rules, data, mint, maxt, ropts)
    fuzzy = tf.fuzzy_compare
    fails: list[Failure] = []

    # the first instant with a rule error stops the test group
    t_err = rep.all_errors[0].time if rep.all_errors else None
    last_ts = mint + ((maxt - mint) // interval) * interval

    alert_times = sorted({a.eval_time for a in tg.alert_tests})
    by_time: dict[int, list[AlertCase]] = {}
    for a in tg.alert_tests:
        by_time.setdefault(a.eval_time, []).append(a)
    for et in alert_times:
        ts = mint + (et // interval) * interval
        if t_err is not None and ts >= t_err:
            break
        firing = rep.alerts_at(ts, state="firing")
        for case in by_time[et]:
            got = sorted(
                ((a.labels, a.annotations) for a in firing if a.alertname == case.alertname),
                key=_la_key,
            )
            exp = sorted(
                (({**lab, "alertname": case.alertname}, ann) for lab, ann in case.exp), key=_la_key
            )
            if got == exp:
                continue
            head = f"    name: {tg.name},\n" if tg.name else ""
            when = format_duration(case.eval_time)
            if opts.diff:
                text = (
                    f"{head}    alertname: {case.alertname}, time: {when}, \n        diff: "
                    + _indent(_json_diff(exp, got), "            ")
                )
            else:
                text = (
                    f"{head}    alertname: {case.alertname}, time: {when}, \n"
                    f"        exp:{_indent(_la_string(exp), '            ')}, \n"
                    f"        got:{_indent(_la_string(got), '            ')}"
                )
            fails.append(
                Failure(
                    "alert",
                    text,
                    gname,
                    case.alertname,
                    go_duration(case.eval_time),
                    [_la_json(x) for x in exp],
                    [_la_json(x) for x in got],
                )
            )
    if t_err is not None:
        seen = set()
        for e in rep.all_errors:
            if e.time != t_err:
                break
            key = (e.group, e.rule, e.message)
            if key in seen:
                continue
            seen.add(key)
            when = go_duration(e.time)  # promtool prints the time since the epoch
            fails.append(
                Failure(
                    "rule_error",
                    f"    rule: {e.rule}, time: {when}, err: {e.message}",
                    gname,
                    e.rule,
                    when,
                )
            )
        return fails

    final = [truncate(data, last_ts), rep.output_store()]
    qopts = rep._rp.qopts
    for case in tg.expr_tests:
        f = _expr_case(case, final, mint, qopts, fuzzy, gname)
        if f is not None:
            fails.append(f)
    if opts.debug:
        _debug_dump(final, mint, tg.max_eval_time(), qopts, err)
    return fails


def _la_key(x: tuple[dict[str, str], dict[str, str]]):
    return (sorted(x[0].items()), sorted(x[1].items()))


def _la_string(items: list[tuple[dict[str, str], dict[str, str]]]) -> str:
    if not items:
        return "[]"
    parts = []
    for i, (lab, ann) in enumerate(items):
        body = "Labels:" + format_labels_go(lab) + "\nAnnotations:" + format_labels_go(ann)
        parts.append(f"{i}:" + _indent("\n" + body, "  "))
    return "[\n" + ",\n".join(parts) + "\n]"


def _la_json(x: tuple[dict[str, str], dict[str, str]]) -> dict[str, Any]:
    return {"labels": x[0], "annotations": x[1]}


def _indent(text: str, indent: str) -> str:
    lines = text.split("\n")
    return "\n".join(lines[:1] + [indent + ln for ln in lines[1:]])


def _json_diff(exp: list, got: list) -> str:
    """A line diff of the pretty JSON of both sides (``--diff``)."""
    import difflib

    def js(items):
        items = items or [({}, {})]
        return json.dumps(
            [{"Labels": a, "Annotations": b} for a, b in items], indent=2, sort_keys=True
        )

    return "\n".join(
        difflib.unified_diff(js(exp).split("\n"), js(got).split("\n"), "exp", "got", lineterm="")
    )


def _expr_case(
    case: ExprCase, stores: list, mint: int, qopts, fuzzy: bool, gname: str
) -> Failure | None:
    from ..promql.evaluator import instant_query
    from ..promql.parse import parse_expr
    from ..promqltest.notation import NotationError, parse_labels, parse_series_desc

    q = go_quote(case.expr)
    when = format_duration(case.eval_time)
    t = mint + case.eval_time
    try:
        node = parse_expr(case.expr, experimental=qopts.experimental)
        res = instant_query(stores, node, t, qopts, text=case.expr)
        if res.type == "scalar":
            got = [((), float(res.values[0]), "")]
        elif res.type == "vector":
            got = [(tuple(sorted(lab.items())), float(v[0]), "") for lab, _ts, v in res.series()]
        else:
            raise PromReplayError("rule result is not a vector or scalar")
        got += _histogram_samples(stores[0], node, t, qopts.lookback_delta_ms)
    except PromReplayError as e:
        return Failure(
            "expr_error",
            f"    expr: {q}, time: {when}, err: {e}",
            gname,
            case.expr,
            go_duration(case.eval_time),
            None,
            str(e),
        )
    exp = []
    for s in case.exp:
        try:
            lab = parse_labels(s["labels"].strip())
            hist = ""
            if s["histogram"]:
                vals = parse_series_desc("{} " + s["histogram"]).values
                if len(vals) != 1:
                    raise PromReplayError(f"expected 1 value, got {len(vals)}")
                if vals[0].histogram is None:
                    raise PromReplayError(f"expected histogram, got {vals[0]}")
                hist = vals[0].histogram.test_expression()
        except (NotationError, PromReplayError) as e:
            msg = f"labels {go_quote(s['labels'])}: {e}"
            return Failure(
                "expr_error",
                f"    expr: {q}, time: {when}, err: {msg}",
                gname,
                case.expr,
                go_duration(case.eval_time),
                None,
                msg,
            )
        exp.append((lab, s["value"], hist))
    exp.sort(key=lambda x: x[0])
    got.sort(key=lambda x: x[0])
    if _samples_equal(exp, got, fuzzy):
        return None
    text = (
        f"    expr: {q}, time: {when},\n        exp: {_samples_string(exp)}\n"
        f"        got: {_samples_string(got)}"
    )
    return Failure(
        "expr",
        text,
        gname,
        case.expr,
        go_duration(case.eval_time),
        [_sample_json(x) for x in exp],
        [_sample_json(x) for x in got],
    )


def _float_eq(x: float, y: float, fuzzy: bool) -> bool:
    if x == y:
        return True
    return fuzzy and (math.nextafter(x, -math.inf) == y or math.nextafter(x, math.inf) == y)


def _samples_equal(exp: list, got: list, fuzzy: bool) -> bool:
    if len(exp) != len(got):
        return False
    return all(
        a[0] == b[0] and a[2] == b[2] and _float_eq(a[1], b[1], fuzzy)
        for a, b in zip(exp, got, strict=True)
    )


def _samples_string(items: list) -> str:
    if not items:
        return "nil"
    parts = []
    for lab, v, hist in items:
        parts.append(format_labels_go(dict(lab)) + " " + (hist if hist else _go_float_e(v)))
    return ", ".join(parts)


def _sample_json(x) -> dict[str, Any]:
    lab, v, hist = x
    d: dict[str, Any] = {"labels": dict(lab)}
    if hist:
        d["histogram"] = hist
    else:
        d["value"] = _go_float_e(v)
    return d


def _histogram_samples(store: Store, node: N.Expr, t: int, lookback: int) -> list:
    """Native-histogram samples of a plain selector (the evaluator has no native
    histograms yet): the newest histogram in the lookback window, with the counter-reset
    hint the TSDB would give it (first sample of a series: unknown; later: not_reset, or
    reset when the count dropped)."""
    hs = store.histograms
    if not len(hs):
        return []
    while isinstance(node, N.ParenExpr):
        node = node.expr
    if not isinstance(node, N.VectorSelector) or node.at is not None or node.offset:
        return []
    out = []
    for sid in store.match(list(node.matchers)).tolist():
        rows = np.flatnonzero(hs.series == sid)
        if not len(rows):
            continue
        ts = hs.ts[rows]
        k = int(np.searchsorted(ts, t, "right")) - 1
        if k < 0 or ts[k] <= t - lookback:
            continue
        h = hs.values[rows[k]]
        hint = h.counter_reset_hint
        if hint != "gauge":
            if k == 0:
                hint = "unknown"
            else:
                prev = hs.values[rows[k - 1]]
                hint = "reset" if h.count < prev.count else "not_reset"
        h = dc_replace(h, counter_reset_hint=hint)
        out.append((tuple(sorted(store.labels.row(sid).items())), 0.0, h.test_expression()))
    return out


def _debug_dump(stores: list, mint: int, max_eval: int, qopts, err: TextIO) -> None:
    from ..promql.evaluator import instant_query

    ts = (max_eval // 1000 + 1) * 1000
    expr = f'{{__name__=~".+"}}[{format_duration(ts)}]'
    try:
        res = instant_query(stores, expr, mint + ts, qopts)
    except PromReplayError as e:
        print(f"DEBUG: Failed querying, expr: {go_quote(expr)}, err: {e}", file=err)
        return
    print(f"DEBUG: Dump of all data (input_series and rules) at {go_duration(ts)}:", file=err)
    for lab, tss, vals in res.series():
        pts = "\n".join(
            f"{format_go_float(v)} @[{x}]" for x, v in zip(tss.tolist(), vals.tolist(), strict=True)
        )
        print(f"{format_labels_go(lab)} =>\n{pts}", file=err)
