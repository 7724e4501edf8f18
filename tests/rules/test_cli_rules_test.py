"""``promreplay rules test FILE --json OUT`` through the real entry point
(``engine.cli.main``): ``rule_files`` globs relative to the test file from any working
directory, exit codes, and the failures found before a rule error aborts a test group."""

from __future__ import annotations

import contextlib
import io
import json

from engine.cli import main

RECORD = """
groups:
- name: rec
  rules:
  - record: r
    expr: x
    labels: {i: same}
"""
ALERT = """
groups:
- name: alerts
  rules:
  - alert: High
    expr: x > 0
"""
# {x2}: the values of x{i="2"}; {at2m}/{at4m}: the firing alerts expected then
TEST = """
rule_files: ['../rules/*.yml']
evaluation_interval: 1m
group_eval_order: [alerts, rec]
tests:
- name: t
  interval: 1m
  input_series:
  - series: 'x{{i="1"}}'
    values: '1 1 1 1 1'
  - series: 'x{{i="2"}}'
    values: '{x2}'
  alert_rule_test:
  - eval_time: 1m
    alertname: High
    exp_alerts: [{{exp_labels: {{i: "1"}}}}]
  - eval_time: 2m
    alertname: High
    exp_alerts: {at2m}
  - eval_time: 4m
    alertname: High
    exp_alerts: {at4m}
  promql_expr_test:
  - expr: r
    eval_time: 4m
    exp_samples: [{{labels: 'r{{i="same"}}', value: 1}}]
"""
ONE = '[{exp_labels: {i: "1"}}]'


def write(tmp_path, **fields):
    """rules/rec.yml and rules/alert.yml, and tests/t.yml that loads them by a glob."""
    (tmp_path / "rules").mkdir(exist_ok=True)
    (tmp_path / "rules" / "rec.yml").write_text(RECORD)
    (tmp_path / "rules" / "alert.yml").write_text(ALERT)
    t = tmp_path / "tests" / "t.yml"
    t.parent.mkdir(exist_ok=True)
    t.write_text(TEST.format(**fields))
    return t


def run(capsys, *argv):
    code = main(["rules", "test", *argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_rule_file_globs_resolve_relative_to_the_test_file(tmp_path, capsys, monkeypatch):
    t = write(tmp_path, x2="_ _ _ _ _", at2m=ONE, at4m=ONE)
    elsewhere = tmp_path / "a" / "b"  # where ../rules is no folder
    elsewhere.mkdir(parents=True)
    monkeypatch.chdir(elsewhere)
    out_json = tmp_path / "out.json"
    code, out, err = run(capsys, str(t), "--json", str(out_json))
    assert (code, err) == (0, "")
    assert "SUCCESS" in out
    assert json.loads(out_json.read_text()) == []
    # both rule files come through the glob: breaking either one fails the test
    (tmp_path / "rules" / "alert.yml").write_text(ALERT.replace("x > 0", "x > 5"))
    assert run(capsys, str(t))[0] == 1
    (tmp_path / "rules" / "alert.yml").write_text(ALERT)
    (tmp_path / "rules" / "rec.yml").write_text(RECORD.replace("expr: x", "expr: x * 2"))
    assert run(capsys, str(t))[0] == 1


def test_failures_before_a_rule_error_are_reported_with_it(tmp_path, capsys):
    # x{i="2"} appears at 3m: r then has two series with the label set {i="same"}
    t = write(tmp_path, x2="_ _ _ 1 1", at2m="[]", at4m="[]")
    out_json = tmp_path / "out.json"
    code, _out, err = run(capsys, str(t), "--json", str(out_json))
    assert code == 1
    recs = json.loads(out_json.read_text())
    got = [(r["kind"], r.get("alertname") or r.get("rule"), r["eval_time"]) for r in recs]
    # the 2m failure, then the error; the (wrong) 4m check and the expression never run
    assert got == [("alert", "High", "2m0s"), ("rule_error", "r", "3m0s")]
    assert all(r["file"] == str(t) and r["group"] == "t" for r in recs)
    assert "    alertname: High, time: 2m" in err
    msg = "vector contains metrics with the same labelset after applying rule labels"
    assert f"    rule: r, time: 3m0s, err: {msg}" in err


def test_output_goes_to_the_streams_current_at_the_call(tmp_path):
    import engine.rules.unittest  # noqa: F401  (imported before the streams change)

    t = write(tmp_path, x2="_ _ _ _ _", at2m="[]", at4m=ONE)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["rules", "test", str(t)])
    assert code == 1
    assert "  FAILED:" in err.getvalue() and "alertname: High, time: 2m" in err.getvalue()


TEMPLATED = """
groups:
- name: alerts
  rules:
  - alert: High
    expr: x > 0
    annotations: {where: '{{ $externalLabels.cluster }} {{ $externalURL }}'}
"""


def test_external_labels_and_url_of_a_test_group_reach_templates(tmp_path, capsys):
    t = write(tmp_path, x2="_ _ _ _ _", at2m=ONE, at4m=ONE)
    (tmp_path / "rules" / "alert.yml").write_text(TEMPLATED)
    exp = '[{exp_labels: {i: "1"}, exp_annotations: {where: "c1 http://prom:9090"}}]'
    text = t.read_text().replace(f"exp_alerts: {ONE}", f"exp_alerts: {exp}")
    ext = "  external_labels: {cluster: c1}\n  external_url: http://prom:9090\n"
    t.write_text(text.replace("  interval: 1m\n", "  interval: 1m\n" + ext))
    code, out, err = run(capsys, str(t))
    assert (code, err) == (0, "") and "SUCCESS" in out
    # the labels are for templates only: they are not added to the alerts' labels
    t.write_text(text.replace("  interval: 1m\n", "  interval: 1m\n" + ext.replace("c1", "c2")))
    code, _, err = run(capsys, str(t))
    assert code == 1 and 'where="c2 http://prom:9090"' in err


def test_expression_and_file_errors_are_json_records(tmp_path, capsys):
    t = write(tmp_path, x2="_ _ _ _ _", at2m=ONE, at4m=ONE)
    t.write_text(t.read_text().replace("  - expr: r\n", "  - expr: sum(r\n"))
    missing = tmp_path / "tests" / "missing.yml"
    out_json = tmp_path / "out.json"
    code, _, err = run(capsys, str(t), str(missing), "--json", str(out_json))
    assert code == 1
    expr_rec, file_rec = json.loads(out_json.read_text())
    assert (expr_rec["file"], expr_rec["kind"], expr_rec["expr"], expr_rec["eval_time"]) == (
        str(t),
        "expr_error",
        "sum(r",
        "4m0s",
    )
    assert "parse error" in expr_rec["error"] and expr_rec["error"] in err
    assert (file_rec["file"], file_rec["kind"]) == (str(missing), "file_error")
    assert file_rec["error"] == f"open {missing}: no such file or directory"
    assert "expr" not in file_rec and "eval_time" not in file_rec


def test_rule_file_paths_are_joined_and_globbed_as_go_does(tmp_path, capsys):
    t = write(tmp_path, x2="_ _ _ _ _", at2m=ONE, at4m=ONE)
    # filepath.Glob matches dot files
    (tmp_path / "rules" / "alert.yml").rename(tmp_path / "rules" / ".alert.yml")
    # filepath.Join cleans the path it reports
    t.write_text(t.read_text().replace("rule_files: [", "rule_files: ['../x/../missing.yml', "))
    code, out, err = run(capsys, str(t))
    assert code == 0 and "SUCCESS" in out
    assert err == f"  WARNING: no file match pattern {tmp_path / 'missing.yml'}\n"


def test_glob_matches_come_folder_by_folder_in_name_order(tmp_path):
    from engine.rules.unittest import parse_test_file

    for folder in ("rules", "rules-a", "rules.b"):
        (tmp_path / folder).mkdir()
        for name in ("b.yml", "a.yml"):
            (tmp_path / folder / name).write_text(ALERT)
    t = tmp_path / "t.yml"
    t.write_text("rule_files: ['rules*/*.yml']\ntests: []\n")
    got = parse_test_file(str(t), io.StringIO()).rule_files
    # Go sorts each folder's names: "rules" < "rules-a" < "rules.b", then a.yml < b.yml
    # (a plain sort of whole paths puts "rules-a/..." and "rules.b/..." first)
    assert [p.removeprefix(str(tmp_path) + "/") for p in got] == [
        f"{d}/{n}" for d in ("rules", "rules-a", "rules.b") for n in ("a.yml", "b.yml")
    ]


def test_enable_feature_turns_on_experimental_functions(tmp_path, capsys):
    t = write(tmp_path, x2="_ _ _ _ _", at2m=ONE, at4m=ONE)
    rec = RECORD.replace("expr: x", "expr: sort_by_label(x, 'i')")
    (tmp_path / "rules" / "rec.yml").write_text(rec)
    code, _, err = run(capsys, str(t))
    assert code == 1 and 'parse error: function "sort_by_label" is not enabled' in err
    code, out, err = run(capsys, str(t), "--enable-feature=promql-experimental-functions")
    assert (code, err) == (0, "") and "SUCCESS" in out
