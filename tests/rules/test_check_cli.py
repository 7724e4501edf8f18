"""``promreplay rules check``: promtool's output layout and exit codes (0 valid, 1 invalid,
3 lint problems with ``--lint-fatal``)."""

from __future__ import annotations

import io
import sys

import pytest

from engine.cli import main
from tests.conftest import shared_path


def run(capsys, *argv):
    code = main(["rules", "check", *argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def td(name: str) -> str:
    return str(shared_path("promtool", "testdata", name))


@pytest.mark.parametrize("name,n", [("rules.yml", 5), ("at-modifier.yml", 1),
                                    ("negative-offset.yml", 1), ("rules_large.yml", 10002)])
def test_good_files_succeed(capsys, name, n):
    if name == "rules_large.yml":
        code, out, err = run(capsys, "--lint=none", td(name))
    else:
        code, out, err = run(capsys, td(name))
    assert code == 0 and err == ""
    assert out == f"Checking {td(name)}\n  SUCCESS: {n} rules found\n\n"


def test_bad_files_fail_with_prometheus_messages(capsys):
    code, out, err = run(capsys, td("rules-bad.yml"), td("bad-rules-syntax.yml"),
                         td("rules_extrafields.yml"), td("rules.yml"))
    assert code == 1
    assert out == (f"Checking {td('rules-bad.yml')}\nChecking {td('bad-rules-syntax.yml')}\n"
                   f"Checking {td('rules_extrafields.yml')}\nChecking {td('rules.yml')}\n"
                   "  SUCCESS: 5 rules found\n\n")
    assert err == (
        "  FAILED:\n"
        f'{td("rules-bad.yml")}: group "alerts", rule 1, "InstanceDown": annotation "summary": '
        'template: __alert_InstanceDown:1: undefined variable "$label"\n'
        "  FAILED:\n"
        f'{td("bad-rules-syntax.yml")}: 7:15: group "bad-syntax", rule 1, "x": could not parse '
        "expression: 1:7: parse error: unexpected end of input\n"
        "  FAILED:\n"
        f"{td('rules_extrafields.yml')}: yaml: unmarshal errors:\n"
        "  line 7: field namespace not found in type rulefmt.RuleGroup\n"
        "  line 21: field ownership not found in type rulefmt.RuleGroup\n")


def test_ignore_unknown_fields(capsys):
    code, out, _ = run(capsys, "--ignore-unknown-fields", td("rules_extrafields.yml"))
    assert code == 0 and "SUCCESS: 5 rules found" in out


DUP_LINT = ("  FAILED:\nlint error 1 duplicate rule(s) found.\n"
            "Metric: job:test:count_over_time1m\nLabel(s):\n"
            "Might cause inconsistency while recording expressions\n")


def test_duplicate_rules_are_a_lint_finding(capsys):
    code, out, err = run(capsys, td("rules_duplicates.yml"))
    assert (code, out, err) == (0, f"Checking {td('rules_duplicates.yml')}\n\n", DUP_LINT)
    code, _, err = run(capsys, "--lint-fatal", td("rules_duplicates.yml"))
    assert (code, err) == (3, DUP_LINT)
    code, out, err = run(capsys, "--lint=none", "--lint-fatal", td("rules_duplicates.yml"))
    assert (code, err) == (0, "") and "SUCCESS: 5 rules found" in out


def test_duplicates_compare_group_and_rule_labels(capsys):
    code, _, err = run(capsys, td("prometheus-rules.lint.yml"))
    assert code == 0
    assert err == ("  FAILED:\nlint error 1 duplicate rule(s) found.\nMetric: HighRequestLatency\n"
                   "Label(s):\n\tseverity: page\n"
                   "Might cause inconsistency while recording expressions\n")


def test_errors_take_precedence_over_lint_for_the_exit_code(capsys):
    code, _, _ = run(capsys, "--lint-fatal", td("rules_duplicates.yml"), td("rules-bad.yml"))
    assert code == 1


def test_directories_globs_and_kubernetes_objects(capsys, tmp_path):
    (tmp_path / "a.yml").write_text("groups: [{name: a, rules: [{record: r, expr: '1'}]}]\n")
    (tmp_path / "k.yaml").write_text(
        "apiVersion: monitoring.coreos.com/v1\nkind: PrometheusRule\nmetadata: {name: k}\n"
        "spec:\n  groups: [{name: k, rules: [{alert: A, expr: 'up == 0', for: 1m}]}]\n")
    code, out, err = run(capsys, str(tmp_path))
    assert (code, err) == (0, "")
    assert out == (f"Checking {tmp_path / 'a.yml'}\n  SUCCESS: 1 rules found\n\n"
                   f"Checking {tmp_path / 'k.yaml'}\n  SUCCESS: 1 rules found\n\n")
    code, out, _ = run(capsys, str(tmp_path / "*.yaml"))
    assert code == 0 and out.startswith(f"Checking {tmp_path / 'k.yaml'}\n")


def test_utf8_record_names_are_accepted(capsys, tmp_path):
    p = tmp_path / "u.yml"
    p.write_text("groups: [{name: g, rules: [{record: x-y, expr: '1'}]}]\n")
    assert run(capsys, str(p))[0] == 0


def test_missing_file(capsys, tmp_path):
    missing = str(tmp_path / "nope.yml")
    code, _, err = run(capsys, missing)
    assert code == 1
    assert err == f"  FAILED:\n{missing}: open {missing}: no such file or directory\n"


def test_standard_input(capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO("groups: [{name: g, rules: [{record: x}]}]\n"))
    code, out, err = run(capsys)
    assert code == 1
    assert out == "Checking standard input\n"
    assert err == "  FAILED:\n0:0: group \"g\", rule 1, \"x\": field 'expr' must be set in rule\n"


def test_experimental_functions_need_the_feature_flag(capsys, tmp_path):
    p = tmp_path / "e.yml"
    p.write_text("groups: [{name: g, rules: [{record: r, expr: 'limitk(1, up)'}]}]\n")
    code, _, err = run(capsys, str(p))
    assert code == 1 and "could not parse expression" in err and "limitk" in err
    code, _, _ = run(capsys, "--enable-feature=promql-experimental-functions", str(p))
    assert code == 0
