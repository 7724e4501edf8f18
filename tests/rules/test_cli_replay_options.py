"""``promreplay rules replay|eval`` options end to end, through the real entry point
(``engine.cli.main``): ``--format csv``, ``--alert``, ``--warmup``, ``--query-offset``,
``--group-order``, ``--external-url``/``--external-label``, ``--rule-file-path`` with
``--align server``, millisecond fractions in JSON times, rule errors in the JSON, and the
Alertmanager view (table section, ``--notifications``)."""

from __future__ import annotations

import csv
import io
import json

import pytest

from engine.cli import main

T0 = 1_700_000_040  # a whole minute
MIN = 60
RULES = """
groups:
- name: g
  rules:
  - alert: Down
    expr: up == 0
    for: 1m
    labels: {severity: page}
    annotations:
      summary: "{{ $labels.instance }} down"
      link: "{{ $externalURL }}/x {{ $externalLabels.cluster }}"
  - alert: Always
    expr: vector(1)
- name: meta
  rules:
  - record: seen_b
    expr: count(b_out) or vector(0)
- name: b
  rules:
  - record: b_out
    expr: vector(1)
"""
# evaluation at T0 + j min sees sample j - 1: a is 0 at j = 4..10, b at j = 6..30
DOWN = {"a": range(3, 10), "b": range(5, 30)}
JSON_KEYS = {"start", "end", "evaluation_interval", "align", "instances", "errors"}


@pytest.fixture
def files(tmp_path):
    lines = ["# TYPE up gauge"]
    for k in range(40):
        for inst, down in DOWN.items():
            lines.append(f'up{{instance="{inst}"}} {0 if k in down else 1} {T0 + MIN * k + 5}')
    lines.append("# EOF")
    om = tmp_path / "data.om"
    om.write_text("\n".join(lines) + "\n")
    rules = tmp_path / "rules.yml"
    rules.write_text(RULES)
    return om, rules


def cli(capsys, files, command, *argv):
    om, rules = files
    code = main(["rules", command, str(om), str(rules), *argv])
    out = capsys.readouterr()
    assert code == 0, out.err
    return out.out


def replay_json(capsys, files, *argv):
    return json.loads(cli(capsys, files, "replay", "--format", "json", *argv))


def episodes(doc, alertname="Down"):
    return {
        i["labels"].get("instance"): [
            (e["active_at"], e["fired_at"], e["resolved_at"]) for e in i["episodes"]
        ]
        for i in doc["instances"]
        if i["alertname"] == alertname
    }


RANGE = ("--start", str(T0 + MIN), "--end", str(T0 + 35 * MIN))


def test_csv_has_one_row_per_episode(capsys, files):
    out = cli(capsys, files, "replay", *RANGE, "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    got = [
        (r["alertname"], json.loads(r["labels"]).get("instance"), r["active_at"], r["fired_at"])
        + (r["resolved_at"], r["dropped_at"], r["summary_at_firing"])
        for r in rows
    ]
    assert got == [
        ("Always", None, str(T0 + MIN), str(T0 + MIN), "", "", ""),
        ("Down", "a", str(T0 + 4 * MIN), str(T0 + 5 * MIN), str(T0 + 11 * MIN), "", "a down"),
        ("Down", "b", str(T0 + 6 * MIN), str(T0 + 7 * MIN), str(T0 + 31 * MIN), "", "b down"),
    ]
    assert {r["group"] for r in rows} == {"g"}


def test_alert_filter_applies_to_every_format(capsys, files):
    doc = replay_json(capsys, files, *RANGE, "--alert", "Always")
    assert [i["alertname"] for i in doc["instances"]] == ["Always"]
    out = cli(capsys, files, "replay", *RANGE, "--format", "csv", "--alert", "Down")
    assert [r["alertname"] for r in csv.DictReader(io.StringIO(out))] == ["Down", "Down"]
    table = cli(capsys, files, "replay", *RANGE, "--alert", "Always")
    assert "Always" in table and "Down" not in table  # episodes, strip and notifications


def test_warmup_starts_the_evaluation_earlier(capsys, files):
    start = ("--start", str(T0 + 5 * MIN), "--end", str(T0 + 12 * MIN))
    cold = replay_json(capsys, files, *start)
    warm = replay_json(capsys, files, *start, "--warmup", "3m")
    # cold: a is new at the first evaluation; warm: it was pending since 4m
    assert episodes(cold)["a"] == [(T0 + 5 * MIN, T0 + 6 * MIN, T0 + 11 * MIN)]
    assert episodes(warm)["a"] == [(T0 + 4 * MIN, T0 + 5 * MIN, T0 + 11 * MIN)]
    assert warm["start"] == T0 + 5 * MIN


def test_query_offset_moves_queries_and_outputs_not_alert_times(capsys, files):
    doc = replay_json(capsys, files, *RANGE, "--query-offset", "1m")
    # each evaluation sees the data one minute older: everything a minute later
    assert episodes(doc)["a"] == [(T0 + 5 * MIN, T0 + 6 * MIN, T0 + 12 * MIN)]
    at = T0 + 10 * MIN
    out = cli(
        capsys,
        files,
        "eval",
        "--start",
        str(T0 + MIN),
        "--at",
        str(at),
        "--query-offset",
        "1m",
        "--expr",
        'timestamp(ALERTS_FOR_STATE{alertname="Always"})',
        "--expr",
        'ALERTS_FOR_STATE{alertname="Always"}',
        "--format",
        "json",
    )
    (entry,) = json.loads(out)["times"]
    exprs = entry["exprs"]
    written = exprs['timestamp(ALERTS_FOR_STATE{alertname="Always"})']["samples"]
    assert [s["value"] for s in written] == [repr(float(at - MIN))]  # at t - 1m
    active = exprs['ALERTS_FOR_STATE{alertname="Always"}']["samples"]
    assert [s["value"] for s in active] == [repr(float(T0 + MIN))]  # activeAt on the slot


@pytest.mark.parametrize(("order", "seen"), [((), "0.0"), (("--group-order", "b,meta"), "1.0")])
def test_group_order_decides_who_sees_whom_at_one_instant(capsys, files, order, seen):
    at = str(T0 + MIN)
    out = cli(
        capsys, files, "eval", "--start", at, "--at", at, "--expr", "seen_b", "--format", "json",
        *order,
    )
    (entry,) = json.loads(out)["times"]
    assert [s["value"] for s in entry["exprs"]["seen_b"]["samples"]] == [seen]


def test_external_url_and_labels_reach_templates_and_notifications(capsys, files):
    ext = ("--external-url", "http://prom.example", "--external-label", "cluster=c1")
    doc = replay_json(capsys, files, *RANGE, *ext, "--alert", "Down", "--notifications")
    (a,) = [i for i in doc["instances"] if i["labels"]["instance"] == "a"]
    assert a["episodes"][0]["annotations_at_firing"] == {
        "summary": "a down",
        "link": "http://prom.example/x c1",
    }
    first = doc["notifications"][0]
    assert first == {
        "time": T0 + 5 * MIN,
        "alertname": "Down",
        "status": "firing",
        "labels": {"alertname": "Down", "cluster": "c1", "instance": "a", "severity": "page"},
        "annotations": {"summary": "a down", "link": "http://prom.example/x c1"},
        "starts_at": T0 + 5 * MIN,
        "ends_at": T0 + 9 * MIN,
    }
    resolved = [n for n in doc["notifications"] if n["status"] == "resolved"]
    assert resolved[0]["time"] == resolved[0]["ends_at"] == T0 + 11 * MIN


@pytest.mark.parametrize("version", ["2", "3"])
def test_rule_file_path_is_what_the_server_slot_hashes(capsys, files, version):
    from engine.rules.clock import slot_offset_ns

    path = "/etc/prometheus/rules/prometheus-k8s-rulefiles-0/monitoring-x.yaml"
    off_ms = slot_offset_ns(path, "g", 60_000, int(version)) // 1_000_000
    # the flag matters: the file's own path gives another slot
    assert off_ms != slot_offset_ns(str(files[1]), "g", 60_000, int(version)) // 1_000_000
    argv = ("--align", "server", "--rule-file-path", path, "--prometheus-version", version)
    doc = replay_json(capsys, files, "--start", str(T0), "--end", str(T0 + 3 * MIN), *argv)
    (always,) = episodes(doc, "Always").values()
    assert round(always[0][0] * 1000) == T0 * 1000 + off_ms


def test_json_times_keep_millisecond_fractions(capsys, files):
    start = T0 + 0.25
    text = cli(
        capsys, files, "replay", "--format", "json", "--align", "promtool",
        "--start", str(start), "--end", str(T0 + 6 * MIN),
    )  # fmt: skip
    doc = json.loads(text)
    assert doc["start"] == start and f'"start": {start}' in text
    assert episodes(doc, "Always")[None] == [(start, start, None)]
    assert episodes(doc)["a"] == [(start + 4 * MIN, start + 5 * MIN, None)]
    assert f'"active_at": {start + 4 * MIN}' in text


def test_rule_errors_are_listed_in_the_json(capsys, files, tmp_path):
    om, _ = files
    limited = tmp_path / "limited.yml"
    limited.write_text(
        "groups:\n- name: lim\n  limit: 1\n  rules:\n  - alert: Down\n    expr: up == 0\n"
    )
    doc = replay_json(capsys, (om, limited), *RANGE)
    # a and b are both down at 6m..10m
    msg = "exceeded limit of 1 with 2 alerts"
    assert doc["errors"] == [
        {"time": T0 + j * MIN, "group": "lim", "rule": "Down", "error": msg} for j in range(6, 11)
    ]
    assert set(doc) == JSON_KEYS


def test_alertmanager_view_in_the_table_and_json_only_on_request(capsys, files):
    doc = replay_json(capsys, files, *RANGE, "--external-label", "cluster=c1")
    assert set(doc) == JSON_KEYS  # the normative document is unchanged
    full = replay_json(capsys, files, *RANGE, "--notifications")
    n = len(full["notifications"])
    sent = [(x["time"], x["alertname"], x["labels"].get("instance")) for x in full["notifications"]]
    # time order, then rule order (Down is the group's first rule)
    assert sent[:4] == [(T0 + MIN, "Always", None), (T0 + 3 * MIN, "Always", None),
                        (T0 + 5 * MIN, "Down", "a"), (T0 + 5 * MIN, "Always", None)]  # fmt: skip
    assert n > 20

    table = cli(capsys, files, "replay", *RANGE, "--external-label", "cluster=c1")
    head = (
        "Alertmanager view (reported, not sent; resend delay 1m; "
        f"external labels cluster=c1 added where missing): {n} notifications"
    )
    assert head in table
    section = table[table.index(head) :].splitlines()
    # T0 is 22:14 UTC: Down{a} first sent when it fires at 22:19, valid for 4 minutes
    down = [ln.split() for ln in section if " Down " in ln]
    assert down[0] == ["22:19:00", "Down", "instance=a", "firing", "22:19:00", "22:23:00"]
    assert len(section) == 3 + 20 + 1 and section[-1].startswith(f"... {n - 20} more")
    everything = cli(capsys, files, "replay", *RANGE, "--notifications")
    section = everything[everything.index("Alertmanager view") :].splitlines()
    assert len(section) == 3 + n
    resolved = [ln for ln in section if " resolved " in ln]
    assert resolved[0].split() == ["22:25:00", "Down", "instance=a", "resolved", "22:19:00",
                                   "22:25:00"]  # fmt: skip


def test_eval_json_pending_alerts_and_stale_rule_outputs(capsys, files):
    at = [T0 + 4 * MIN, T0 + 5 * MIN]
    pending = 'ALERTS{alertname="Down", alertstate="pending"}'
    argv = ["--start", str(T0 + MIN), "--external-url", "http://p", "--format", "json"]
    for t in at:
        argv += ["--at", str(t)]
    out = cli(capsys, files, "eval", *argv, "--expr", pending)
    first, second = json.loads(out)["times"]
    annotations = {"summary": "a down", "link": "http://p/x "}
    labels = {"alertname": "Down", "instance": "a", "severity": "page"}
    assert first["pending"] == {
        "Down": [{"labels": labels, "annotations": annotations, "active_at": T0 + 4 * MIN}],
        "Always": [],
    }
    assert first["firing"]["Down"] == []
    assert first["firing"]["Always"] == [{"labels": {"alertname": "Always"}, "annotations": {}}]
    assert second["pending"]["Down"] == []
    assert second["firing"]["Down"] == [{"labels": labels, "annotations": annotations}]
    # the pending series is written at 4m and stale-marked at 5m, when the alert fires:
    # within the lookback window, only the stale marker hides it
    assert [s["labels"]["instance"] for s in first["exprs"][pending]["samples"]] == ["a"]
    assert second["exprs"][pending] == {"samples": []}


def test_resend_delay_sets_the_notification_cadence(capsys, files):
    doc = replay_json(capsys, files, *RANGE, "--alert", "Always", "--notifications",
                      "--resend-delay", "2m")  # fmt: skip
    sent = [(n["time"], n["ends_at"]) for n in doc["notifications"]]
    # lastSent + 2m strictly before t: every third evaluation; valid for 4 x 2m
    assert sent[:3] == [(T0 + j * MIN, T0 + (j + 8) * MIN) for j in (1, 4, 7)]


def test_notifications_with_csv_is_a_clear_error(capsys, files):
    om, rules = files
    code = main(["rules", "replay", str(om), str(rules), "--format", "csv", "--notifications"])
    assert code == 1
    assert "--notifications: not available with --format csv" in capsys.readouterr().err
