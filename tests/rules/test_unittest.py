"""``promreplay rules test``: promtool's unit-test files, with upstream's verdicts."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest
from conftest import shared_path

from engine.rules.unittest import TestOptions, run_files

# (file, --run patterns, --ignore-unknown-fields, exit code): ../shared/promtool/README.md
UPSTREAM = [
    ("unittest.yml", (), False, 0),
    ("long-period.yml", (), False, 0),
    ("at-modifier-test.yml", (), False, 0),
    ("negative-offset-test.yml", (), False, 0),
    ("no-test-group-interval.yml", (), False, 0),
    ("start-time-test.yml", (), False, 0),
    ("bad-input-series.yml", (), False, 1),
    ("bad-promql.yml", (), False, 1),
    ("bad-rules-syntax-test.yml", (), False, 1),
    ("bad-rules-error-test.yml", (), False, 1),
    ("failing.yml", (), False, 1),
    ("rules_run.yml", (), False, 1),
    ("rules_run.yml", ("correct", "wrong"), False, 1),
    ("rules_run.yml", ("correct",), False, 0),
    ("rules_run.yml", ("wrong",), False, 1),
    ("rules_run_extrafields.yml", (), True, 0),
    ("rules_run_no_fuzzy.yml", (), False, 1),
    ("rules_run_fuzzy.yml", ("correct",), False, 0),
    ("rules_run_fuzzy.yml", ("wrong",), False, 1),
]


def run(files, **kw):
    out, err = io.StringIO(), io.StringIO()
    opts = TestOptions(
        **{k: v for k, v in kw.items() if k in ("run", "ignore_unknown_fields", "diff")}
    )
    code = run_files(
        [str(f) for f in files],
        opts,
        out=out,
        err=err,
        json_out=kw.get("json_out"),
        junit_out=kw.get("junit_out"),
    )
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize(
    ("name", "patterns", "ignore", "expected"),
    UPSTREAM,
    ids=[f"{n}-{'|'.join(p) or 'all'}" for n, p, _, _ in UPSTREAM],
)
def test_upstream_files_give_promtools_exit_codes(name, patterns, ignore, expected):
    f = shared_path("promtool", "testdata", name)
    code, out, err = run([f], run=patterns, ignore_unknown_fields=ignore)
    assert code == expected, err
    assert ("  SUCCESS" in out) == (expected == 0)


def test_failure_text_matches_promtool_layout():
    code, out, err = run([shared_path("promtool", "testdata", "failing.yml")])
    assert code == 1
    assert err.startswith("  FAILED:\n")
    assert (
        '    expr: "test", time: 0s,\n        exp: {__name__="test"} 1E+00\n'
        '        got: {__name__="test"} 0E+00' in err
    )
    assert (
        "    name: Failing alert test,\n    alertname: AlwaysFiring, time: 5m, \n        exp:[], \n"
        in err
    )
    assert (
        '        got:[\n            0:\n              Labels:{alertname="AlwaysFiring"}\n'
        "              Annotations:{}\n            ]" in err
    )


def test_rule_error_stops_the_test_group(tmp_path):
    src = shared_path("promtool", "testdata")
    for f in ("bad-rules-error-test.yml", "bad-rules-error.yml"):
        shutil.copy(src / f, tmp_path / f)  # a throwaway copy, in tmp only
    code, _out, err = run(
        [tmp_path / "bad-rules-error-test.yml"], json_out=str(tmp_path / "r.json")
    )
    assert code == 1
    assert "    rule: joined, time: 0s, err: found duplicate series for the match group" in err
    (rec,) = json.loads((tmp_path / "r.json").read_text())
    assert rec["kind"] == "rule_error" and rec["rule"] == "joined" and rec["eval_time"] == "0s"


def _write(tmp_path: Path, rules: str, test: str) -> Path:
    (tmp_path / "rules").mkdir(exist_ok=True)
    (tmp_path / "rules" / "r.yml").write_text(rules)
    t = tmp_path / "t.yml"
    t.write_text(test)
    return t


RULES = """
groups:
- name: g
  rules:
  - record: job:x:sum
    expr: sum by (job) (x)
  - alert: High
    expr: job:x:sum > 2
    for: 2m
    labels: {severity: page}
    annotations: {summary: too high}
"""

TEST = """
rule_files: [rules/r.yml]
evaluation_interval: 1m
tests:
- name: t1
  interval: 1m
  input_series:
  - series: 'x{job="a", i="1"}'
    values: '1 1 2 2 2 2 0'
  - series: 'x{job="a", i="2"}'
    values: '1 1 1 1 1 1 0'
  alert_rule_test:
  - eval_time: 3m
    alertname: High
    exp_alerts: []
  - eval_time: 4m30s
    alertname: High
    exp_alerts:
    - exp_labels: {job: a, severity: page}
      exp_annotations: {summary: too high}
  promql_expr_test:
  - expr: job:x:sum
    eval_time: 5m
    exp_samples:
    - labels: 'job:x:sum{job="a"}'
      value: 3
  - expr: ALERTS_FOR_STATE
    eval_time: 5m
    exp_samples:
    - labels: 'ALERTS_FOR_STATE{alertname="High", job="a", severity="page"}'
      value: 120
"""


def test_own_file_passes_and_json_records_failures(tmp_path):
    t = _write(tmp_path, RULES, TEST)
    assert run([t])[0] == 0
    bad = _write(
        tmp_path,
        RULES,
        TEST.replace("value: 120", "value: 121").replace("eval_time: 3m", "eval_time: 4m"),
    )
    code, _, err = run(
        [bad], json_out=str(tmp_path / "out.json"), junit_out=str(tmp_path / "j.xml")
    )
    assert code == 1
    recs = json.loads((tmp_path / "out.json").read_text())
    assert {(r["kind"], r.get("alertname") or r.get("expr"), r["eval_time"]) for r in recs} == {
        ("alert", "High", "4m0s"),
        ("expr", "ALERTS_FOR_STATE", "5m0s"),
    }
    assert "<testsuites>" in (tmp_path / "j.xml").read_text()


def test_rule_files_resolve_relative_to_the_test_file(tmp_path, monkeypatch):
    t = _write(tmp_path, RULES, TEST)
    monkeypatch.chdir("/")
    assert run([t])[0] == 0


def test_unknown_field_in_test_file_fails(tmp_path):
    t = _write(
        tmp_path,
        RULES,
        TEST.replace("evaluation_interval: 1m", "evaluation_interval: 1m\nbogus: 1"),
    )
    code, _, err = run([t])
    assert code == 1 and "field bogus not found in type main.unitTestFile" in err


def test_nan_expectation_never_passes(tmp_path):
    nan = TEST.replace("  - expr: job:x:sum\n", "  - expr: job:x:sum * 0 / 0\n").replace(
        "'job:x:sum{job=\"a\"}'\n      value: 3", "'{job=\"a\"}'\n      value: NaN"
    )
    assert "NaN" in nan
    code, _, err = run([_write(tmp_path, RULES, nan)])
    assert code == 1 and '    expr: "job:x:sum * 0 / 0", time: 5m,' in err
    assert 'exp: {job="a"} NaN\n        got: {job="a"} NaN' in err


@pytest.mark.parametrize(("window", "ok"), [("1h", True), ("3h", False)])
def test_sample_limit_counts_range_windows(tmp_path, window, ok):
    """promtool allows 10000 samples per query, and a range selector's window counts in
    full: 10501 one-second samples under [3h] fail the expression, 3600 under [1h] pass."""
    test = f"""
rule_files: [rules/r.yml]
tests:
- interval: 1s
  input_series:
  - series: 'x'
    values: '0+1x10500'
  promql_expr_test:
  - expr: count_over_time(x[{window}])
    eval_time: 10500s
    exp_samples:
    - labels: '{{}}'
      value: {3600 if window == "1h" else 10501}
"""
    code, out, err = run([_write(tmp_path, RULES, test)])
    assert code == (0 if ok else 1), err
    too_many = "query processing would load too many samples into memory in query execution"
    assert (too_many in err) != ok
