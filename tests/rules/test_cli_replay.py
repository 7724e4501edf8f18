"""``promreplay rules replay|eval`` on an OpenMetrics file with timestamps: the command
contract the acceptance check relies on (one JSON document on stdout, times in unix
seconds), and the same replay from every rule-file format."""

from __future__ import annotations

import json

import pytest

from engine.cli import main

T0 = 1_700_000_000
RULES = """
groups:
- name: g
  rules:
  - record: job:err:ratio
    expr: sum by (job) (rate(req_total{code="500"}[155s])) / sum by (job) (rate(req_total[155s]))
  - alert: ErrorsHigh
    expr: job:err:ratio > 0.1
    for: 1m
    labels: {severity: page}
    annotations: {summary: "{{ $labels.job }} at {{ humanizePercentage $value }}"}
"""


def _om(path):
    lines = ["# TYPE req counter"]
    for k in range(60):
        t = T0 + 7 + 30 * k
        err = k * 1 if k < 20 else 20 + (k - 20) * 20 if k < 35 else 320 + (k - 35)
        lines.append(f'req_total{{job="api",code="200"}} {60 * k} {t}')
        lines.append(f'req_total{{job="api",code="500"}} {err} {t}')
    lines.append("# EOF")
    path.write_text("\n".join(lines) + "\n")


@pytest.fixture
def files(tmp_path):
    om = tmp_path / "data.om"
    _om(om)
    rules = tmp_path / "rules.yml"
    rules.write_text(RULES)
    return tmp_path, om, rules


def _run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_replay_json_is_one_document(files, capsys):
    tmp, om, rules = files
    code, out, _ = _run(
        capsys,
        "rules",
        "replay",
        str(om),
        str(rules),
        "--align",
        "promtool",
        "--start",
        str(T0 + 60),
        "--end",
        str(T0 + 1800),
        "--format",
        "json",
        "--external-label",
        "cluster=c1",
    )
    assert code == 0
    doc = json.loads(out)  # exactly one document, nothing else
    assert doc["start"] == T0 + 60 and doc["align"] == "promtool"
    (inst,) = doc["instances"]
    assert inst["alertname"] == "ErrorsHigh"
    assert inst["labels"] == {"alertname": "ErrorsHigh", "job": "api", "severity": "page"}
    ep = inst["episodes"][0]
    assert (ep["fired_at"] - ep["active_at"]) == 60
    assert ep["annotations_at_firing"]["summary"].startswith("api at ")
    assert doc["errors"] == []


def test_eval_json_lists_every_alert_and_evaluates_exprs(files, capsys):
    tmp, om, rules = files
    code, out, _ = _run(
        capsys,
        "rules",
        "eval",
        str(om),
        str(rules),
        "--align",
        "promtool",
        "--start",
        str(T0 + 60),
        "--at",
        str(T0 + 120),
        "--at",
        str(T0 + 960),
        "--expr",
        'ALERTS{alertstate="firing"}',
        "--expr",
        "sum(",
        "--format",
        "json",
    )
    assert code == 0
    doc = json.loads(out)
    first, second = doc["times"]
    assert first["time"] == T0 + 120 and first["firing"] == {"ErrorsHigh": []}
    assert second["firing"]["ErrorsHigh"][0]["labels"]["job"] == "api"
    (s,) = second["exprs"]['ALERTS{alertstate="firing"}']["samples"]
    assert s["labels"]["alertstate"] == "firing" and s["value"] == "1.0"
    assert "parse error" in second["exprs"]["sum("]["error"]


def test_same_replay_from_every_rule_format(files, capsys, tmp_path):
    _, om, rules = files
    body = RULES.replace("groups:", "").rstrip()
    indented = "\n".join("    " + ln if ln.strip() else ln for ln in body.splitlines())
    k8s = f"""apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata: {{name: x}}
spec:
  groups:{indented}
"""
    (tmp_path / "k8s.yaml").write_text(k8s)
    (tmp_path / "multi.yaml").write_text("---\n" + RULES + "\n---\n")
    lst = "apiVersion: v1\nkind: List\nitems:\n" + "\n".join(
        "  " + ln for ln in k8s.splitlines()
    ).replace("  apiVersion: monitoring", "- apiVersion: monitoring", 1)
    (tmp_path / "list.yaml").write_text(lst)
    (tmp_path / "glob").mkdir()
    (tmp_path / "glob" / "a.yml").write_text(RULES)
    docs = []
    for path in (
        rules,
        tmp_path / "k8s.yaml",
        tmp_path / "multi.yaml",
        tmp_path / "list.yaml",
        str(tmp_path / "glob" / "*.yml"),
    ):
        code, out, err = _run(
            capsys,
            "rules",
            "replay",
            str(om),
            str(path),
            "--align",
            "promtool",
            "--start",
            str(T0 + 60),
            "--end",
            str(T0 + 1800),
            "--format",
            "json",
        )
        assert code == 0, err
        docs.append(json.loads(out))
    assert all(d == docs[0] for d in docs[1:])


def test_table_plot_and_written_series(files, capsys, tmp_path):
    _, om, rules = files
    png, store = tmp_path / "t.png", tmp_path / "out.parquet"
    code, out, _ = _run(
        capsys,
        "rules",
        "replay",
        str(om),
        str(rules),
        "--start",
        str(T0 + 60),
        "--end",
        str(T0 + 1800),
        "--plot",
        str(png),
        "--plot-values",
        "ErrorsHigh",
        "--write-series",
        str(store),
    )
    assert code == 0
    assert "ErrorsHigh" in out and "Per-instance strip" in out and "No rule errors." in out
    assert png.read_bytes()[:4] == b"\x89PNG"
    code, out, _ = _run(
        capsys,
        "query",
        str(store),
        "count(ALERTS_FOR_STATE)",
        "--time",
        str(T0 + 960),
        "--format",
        "json",
    )
    assert code == 0 and json.loads(out)["data"]["result"][0]["value"][1] == "1"


def test_bad_input_is_a_clear_error(files, capsys):
    _, om, rules = files
    code, _, err = _run(capsys, "rules", "replay", str(om), str(rules), "--alert", "Nope")
    assert code == 1 and "no alerting rule has this name" in err
