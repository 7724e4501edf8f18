"""``rules sweep`` (engine.rules.sweep): every variant equals a replay of the rule file
rewritten with that threshold, ``for`` and ``keep_firing_for``; the expression is
evaluated once whatever the number of variants; what cannot be swept is refused clearly;
the CLI prints one table, one JSON document or CSV, and a heat map."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from replay_helpers import M, store

from engine.cli import main
from engine.rules.load import load_text
from engine.rules.replay import ReplayOptions, run_replay
from engine.rules.sweep import SweepError, episode_summary, run_sweep, split_threshold

S = 1_000


# ---- the oracle: one replay per variant of a rewritten rule file ---------------------------

RULES = """
groups:
- name: rec
  rules:
  - record: m:sum
    expr: sum by (job) (m)
- name: g
{group_extra}  rules:
  - alert: A
    expr: "{expr}"
    for: {for_}
    keep_firing_for: {keep}
    labels:
{labels}
    annotations:
      summary: "{{{{ $value }}}}"
  - record: alerts_seen
    expr: count(ALERTS)
"""

#: Alert expressions with a ``{c}`` threshold, the number on either side.
EXPRS = [
    "m > {c}",
    "{c} < m",
    "m:sum >= {c}",
    "({c}) >= max_over_time(m[90s])",
    "(rate(m[2m]) * 60 != {c})",
    "sum by (job) (m) / 2 == ({c})",
    "{c} <= m",
    "-m < ({c})",
    # fails at the steps where two series lose what tells them apart
    "label_replace(label_replace(m, 'inst', 'x', '', ''), 'job', 'x', '', '') > {c}",
]

#: Rule label blocks: static, templated from ``$value``, and one that makes identities
#: collide for high values (``vector contains metrics with the same labelset ...``).
LABELS = [
    "      severity: page",
    "      severity: '{{ if gt $value 3.0 }}high{{ else }}low{{ end }}'",
    "      inst: '{{ if ge $value 3.0 }}same{{ else }}{{ $labels.inst }}{{ end }}'\n"
    "      job: '{{ if ge $value 3.0 }}same{{ else }}{{ $labels.job }}{{ end }}'",
]


def _fmt(c: float) -> str:
    return repr(float(c))


def rule_text(expr: str, c: float, for_ms: int, keep_ms: int, labels: str, extra: str) -> str:
    return RULES.format(
        expr=expr.format(c=_fmt(c)),
        for_=f"{for_ms // 1000}s",
        keep=f"{keep_ms // 1000}s",
        labels=labels,
        group_extra=extra,
    )


@st.composite
def datasets(draw):
    series = {}
    for i in range(draw(st.integers(1, 3))):
        vals = draw(st.lists(st.one_of(st.none(), st.integers(0, 6)), min_size=8, max_size=36))
        phase = draw(st.integers(1, 14_999))
        key = (("__name__", "m"), ("inst", str(i)), ("job", "j" + str(i % 2)))
        series[key] = [(phase + k * 15_000, float(v)) for k, v in enumerate(vals) if v is not None]
    return store(series)


def _episodes(instances):
    return [
        (
            sorted(i.labels.items()),
            [
                (e.active_at, e.fired_at, e.resolved_at, e.dropped_at, e.kept, e.value_at_firing)
                for e in i.episodes
            ],
        )
        for i in instances
    ]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=datasets(),
    expr=st.sampled_from(EXPRS),
    labels=st.sampled_from(LABELS),
    thresholds=st.lists(
        st.sampled_from([-3.0, 0.0, 1.0, 1.5, 3.0, 4.0, 5.5]), min_size=1, max_size=3, unique=True
    ),
    fors=st.lists(
        st.sampled_from([0, 30_000, 60_000, 120_000]), min_size=1, max_size=2, unique=True
    ),
    keeps=st.lists(st.sampled_from([0, 30_000, 90_000]), min_size=1, max_size=2, unique=True),
    extra=st.sampled_from(["", "  limit: 1\n", "  query_offset: 30s\n", "  interval: 1m\n"]),
    align=st.sampled_from(["epoch", "promtool"]),
    warmup=st.sampled_from([0, M]),
)
def test_every_variant_equals_a_replay_of_the_rewritten_rule_file(
    data, expr, labels, thresholds, fors, keeps, extra, align, warmup
):
    opts = ReplayOptions(evaluation_interval_ms=30_000, align=align, warmup_ms=warmup)
    start, end = 2 * M, 9 * M
    # the rule as written has other values than the sweep's
    rs = load_text(rule_text(expr, 2.0, 45_000, 15_000, labels, extra), "r.yml")
    res = run_sweep(
        rs,
        data,
        start,
        end,
        opts,
        alert="A",
        thresholds=thresholds,
        fors_ms=fors,
        keep_firing_fors_ms=keeps,
    )
    assert [
        (v.variant.threshold, v.variant.for_ms, v.variant.keep_firing_for_ms) for v in res.variants
    ] == [(c, f, k) for c in thresholds for f in fors for k in keeps]
    for v in res.variants:
        w = v.variant
        text = rule_text(expr, w.threshold, w.for_ms, w.keep_firing_for_ms, labels, extra)
        rep = run_replay(load_text(text, "r.yml"), data, start, end, opts)
        want = [i for i in rep.instances if i.alertname == "A"]
        assert _episodes(v.instances) == _episodes(want), w
        assert [(e.time, e.group, e.rule, e.message) for e in v.errors] == [
            (e.time, e.group, e.rule, e.message) for e in rep.errors if e.rule == "A"
        ], w
        assert v.summary == episode_summary(want, start, end)
        event("a variant fires" if v.summary.firing_episodes else "a variant never fires")
        event("kept firing" if any(e.kept for i in want for e in i.episodes) else "nothing kept")
        for e in v.errors:
            event(f"error: {e.message}")


# ---- evaluated once ------------------------------------------------------------------------


def test_the_expression_is_evaluated_once_whatever_the_number_of_variants(monkeypatch):
    import engine.rules.replay as R

    calls: list[str] = []
    for name in ("range_query", "instant_query"):
        real = getattr(R, name)

        def spy(stores, expr, *a, _real=real, **k):
            calls.append(str(expr))
            return _real(stores, expr, *a, **k)

        monkeypatch.setattr(R, name, spy)
    rs = load_text(rule_text("m:sum >= {c}", 2.0, 60_000, 0, LABELS[1], ""), "r.yml")
    data = store(
        {
            (("__name__", "m"), ("inst", "0"), ("job", "j")): [
                (5_000 + 15_000 * k, float(k % 7)) for k in range(40)
            ]
        }
    )
    opts = ReplayOptions(evaluation_interval_ms=30_000)
    one = run_sweep(rs, data, M, 9 * M, opts, alert="A")
    n_one = list(calls)
    calls.clear()
    many = run_sweep(
        rs,
        data,
        M,
        9 * M,
        opts,
        alert="A",
        thresholds=[0, 1, 2, 3, 4, 5],
        fors_ms=[0, 30_000, 60_000],
        keep_firing_fors_ms=[0, 60_000],
    )
    # the recorded rule and the alert's vector side, once each; count(ALERTS) is not read
    assert sorted(n_one) == sorted(calls) == ["m:sum", "sum by (job) (m)"]
    assert len(one.variants) == 1 and len(many.variants) == 36
    assert one.variants[0].instances == many.variant(2.0, 60_000, 0).instances


# ---- the threshold -------------------------------------------------------------------------


def _alert(expr: str):
    rs = load_text(f"groups:\n- name: g\n  rules:\n  - alert: A\n    expr: '{expr}'\n", "r.yml")
    return rs.rules[0]


@pytest.mark.parametrize(
    "expr, op, value, vector, left",
    [
        ("up > 5", ">", 5.0, "up", False),
        ("(up <= (0.25))", "<=", 0.25, "up", False),
        ("3 < rate(x[5m])", "<", 3.0, "rate(x[5m])", True),
        ("up != -(2)", "!=", -2.0, "up", False),
        ("(up > 1) == 1", "==", 1.0, "(up > 1)", False),
        ("-1e3 >= sum(up)", ">=", -1000.0, "sum(up)", True),
    ],
)
def test_thresholds_on_either_side(expr, op, value, vector, left):
    th = split_threshold(_alert(expr), "g")
    assert (th.op, th.value, str(th.vector), th.number_left) == (op, value, vector, left)


@pytest.mark.parametrize(
    "expr, why",
    [
        ("up", "its top level is not a comparison"),
        ("up > bool 5", "uses bool"),
        ("up > on() group_left vector(1)", "neither side"),
        ("up > 1 + 2", "neither side"),
        ("up > 5 and up < 9", "its top level is not a comparison"),
        ("sum(up > 5)", "its top level is not a comparison"),
    ],
)
def test_anything_else_is_refused_naming_the_rule_and_expression(expr, why):
    with pytest.raises(SweepError) as e:
        split_threshold(_alert(expr), "g")
    msg = str(e.value)
    assert "group 'g', alert 'A'" in msg and repr(expr) in msg and why in msg


def test_the_comparison_keeps_what_prometheus_keeps():
    th = split_threshold(_alert("2 >= up"), "g")
    vals = np.array([1.0, 2.0, 3.0, np.nan, -np.inf])
    assert th.keep(vals, 2.0).tolist() == [True, True, False, False, True]
    ne = split_threshold(_alert("up != 2"), "g")
    assert ne.keep(vals, 2.0).tolist() == [True, False, True, True, True]  # NaN != 2


# ---- what cannot be swept -------------------------------------------------------------------


def _data():
    return store(
        {(("__name__", "m"), ("job", "j")): [(5_000 + 15_000 * k, 3.0) for k in range(30)]}
    )


def test_an_alert_reading_its_own_alerts_is_refused():
    rules = """
groups:
- name: g
  rules:
  - record: firing
    expr: count(ALERTS{alertstate="firing"}) or vector(0)
  - alert: A
    expr: m + on() group_left firing > 2
"""
    with pytest.raises(SweepError, match="reads its own ALERTS.*through rule 'firing'"):
        run_sweep(load_text(rules, "r.yml"), _data(), M, 5 * M, alert="A")


def test_label_templates_calling_query_are_refused():
    rules = """
groups:
- name: g
  rules:
  - alert: A
    expr: m > 2
    labels: {n: '{{ with query "count(m)" }}{{ . | first | value }}{{ end }}'}
"""
    with pytest.raises(SweepError, match="label template calls query"):
        run_sweep(load_text(rules, "r.yml"), _data(), M, 5 * M, alert="A")


def test_unknown_and_ambiguous_alert_names():
    rules = """
groups:
- name: g1
  rules: [{alert: A, expr: m > 1}]
- name: g2
  rules: [{alert: A, expr: m > 2}, {alert: B, expr: m > 2}]
"""
    rs = load_text(rules, "r.yml")
    with pytest.raises(SweepError, match="no alerting rule is named 'C'"):
        run_sweep(rs, _data(), M, 5 * M, alert="C")
    with pytest.raises(SweepError, match="2 alerting rules are named 'A'"):
        run_sweep(rs, _data(), M, 5 * M, alert="A")
    with pytest.raises(SweepError, match="cannot be negative"):
        run_sweep(rs, _data(), M, 5 * M, alert="B", fors_ms=[-1])


# ---- the summary -----------------------------------------------------------------------------


def test_summary_counts_firing_in_the_reported_range_only():
    # m is 3 until 3m, 0 from 3m to 6m, 3 again from 6m (samples 1 ms after each 15 s)
    pts = [(k * 15_000 + 1, 3.0 if k < 12 or k >= 24 else 0.0) for k in range(40)]
    data = store({(("__name__", "m"), ("job", "j")): pts})
    rules = "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: m > 2\n    for: 1m\n"
    rs = load_text(rules, "r.yml")
    start = 150_000  # evaluations every minute from 0 (warm-up), reported from 2m30s
    res = run_sweep(
        rs, data, start, 9 * M, ReplayOptions(warmup_ms=start), alert="A", fors_ms=[M, 2 * M]
    )
    one, two = res.variants
    # for 1m: pending at 1m, firing at 2m (in the warm-up), absent at 4m; again at 7m/8m
    assert [(e.fired_at, e.resolved_at) for e in one.instances[0].episodes] == [
        (2 * M, 4 * M),
        (8 * M, None),
    ]
    s1 = one.summary
    assert (s1.firing_episodes, s1.firing_ms, s1.first_fire_ms) == (2, 90_000 + M, 0)
    # for 2m: fires at 3m and at 9m, the last evaluation (counted, for no time)
    s2 = two.summary
    assert (s2.firing_episodes, s2.firing_ms, s2.first_fire_ms) == (2, M, 30_000)
    assert [(i.labels["job"], i.firing_episodes) for i in s2.instances] == [("j", 2)]


# ---- API and CLI -----------------------------------------------------------------------------

T0 = 1_700_000_000
CLI_RULES = """
groups:
- name: g
  rules:
  - record: job:err:ratio
    expr: sum by (job) (rate(req_total{{code="500"}}[155s])) / sum by (job) (rate(req_total[155s]))
  - alert: ErrorsHigh
    expr: {expr}
    for: {for_}
    labels: {{severity: '{{{{ if gt $value 0.3 }}}}page{{{{ else }}}}ticket{{{{ end }}}}'}}
"""


@pytest.fixture
def files(tmp_path):
    lines = ["# TYPE req counter"]
    for k in range(60):
        t = T0 + 7 + 30 * k
        for job, scale in (("api", 1), ("web", 3)):
            err = k if k < 20 else 20 + (k - 20) * 20 // scale if k < 35 else 320 + (k - 35)
            lines.append(f'req_total{{job="{job}",code="200"}} {60 * k} {t}')
            lines.append(f'req_total{{job="{job}",code="500"}} {err} {t}')
    lines.append("# EOF")
    om = tmp_path / "data.om"
    om.write_text("\n".join(lines) + "\n")
    rules = tmp_path / "rules.yml"
    rules.write_text(CLI_RULES.format(expr="job:err:ratio > 0.1", for_="1m"))
    return tmp_path, om, rules


def _run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


WINDOW = ["--align", "promtool", "--start", str(T0 + 60), "--end", str(T0 + 1800)]


def test_cli_json_variants_equal_cli_replays_of_rewritten_files(files, capsys):
    tmp, om, rules = files
    code, out, _ = _run(
        capsys,
        "rules",
        "sweep",
        str(om),
        str(rules),
        "--alert",
        "ErrorsHigh",
        "--threshold",
        "0.05,0.3",
        "--for",
        "0s,2m",
        *WINDOW,
        "--format",
        "json",
    )
    assert code == 0
    doc = json.loads(out)  # exactly one document
    assert doc["expr"] == "job:err:ratio > THRESHOLD"
    assert doc["as_written"] == {"threshold": 0.1, "for": "1m", "keep_firing_for": "0s"}
    assert [(v["threshold"], v["for"]) for v in doc["variants"]] == [
        (0.05, "0s"),
        (0.05, "2m"),
        (0.3, "0s"),
        (0.3, "2m"),
    ]
    assert any(v["firing_episodes"] for v in doc["variants"])
    for v in doc["variants"]:
        rewritten = tmp / f"r-{v['threshold']}-{v['for']}.yml"
        expr = f"{v['threshold']!r} < job:err:ratio"  # the number moved to the other side
        rewritten.write_text(CLI_RULES.format(expr=expr, for_=v["for"]))
        code, out, _ = _run(
            capsys, "rules", "replay", str(om), str(rewritten), *WINDOW, "--format", "json"
        )
        rep = json.loads(out)
        want = [
            {
                "labels": i["labels"],
                "episodes": [
                    {k: e[k] for k in ("active_at", "fired_at", "resolved_at", "dropped_at")}
                    for e in i["episodes"]
                ],
            }
            for i in rep["instances"]
        ]
        got = [{"labels": i["labels"], "episodes": i["episodes"]} for i in v["instances"]]
        assert got == want
        assert v["firing_episodes"] == sum(
            e["fired_at"] is not None for i in want for e in i["episodes"]
        )


def test_cli_table_csv_and_heat_map(files, capsys, tmp_path):
    _, om, rules = files
    png = tmp_path / "h.png"
    args = [
        "rules",
        "sweep",
        str(om),
        str(rules),
        "--alert",
        "ErrorsHigh",
        "--threshold",
        "0.1,0.5",
        "--for",
        "1m",
        "--keep-firing-for",
        "0s,1m",
        *WINDOW,
    ]
    code, out, err = _run(capsys, *args, "--plot", str(png), "--plot-metric", "time")
    assert code == 0 and png.read_bytes()[:4] == b"\x89PNG" and "wrote" in err
    lines = out.splitlines()
    assert lines[0].startswith("Sweep of ErrorsHigh (group 'g'): job:err:ratio > THRESHOLD")
    assert lines[3].split()[-3:] == ["EPISODES", "PER", "INSTANCE"]
    assert [ln[0] for ln in lines[5:]] == ["*", " ", " ", " "]  # the rule as written
    rows = [ln[1:].split() for ln in lines[5:]]
    assert [r[:3] for r in rows] == [
        ["0.1", "1m", "0s"],
        ["0.1", "1m", "1m"],
        ["0.5", "1m", "0s"],
        ["0.5", "1m", "1m"],
    ]
    # severity is templated from $value: it tells instances apart; keep_firing_for 1m
    # adds a minute to each of the three firing episodes
    assert rows[0][3:5] == ["3", "9m"] and rows[1][3:5] == ["3", "12m"]
    assert rows[0][-3:] == [
        "job=api,severity=ticket:1",
        "job=web,severity=page:1",
        "job=web,severity=ticket:1",
    ]
    assert rows[2][3:] == ["0", "0s", "-"]
    code, out, _ = _run(capsys, *args, "--format", "csv")
    head, *csv_rows = out.splitlines()
    assert head.startswith("threshold,for,keep_firing_for,firing_episodes,firing_seconds")
    assert len(csv_rows) == 4


@pytest.mark.parametrize(
    "extra, message",
    [
        ([], "give exactly one --alert NAME"),
        (["--alert", "ErrorsHigh", "--threshold", "0.1,x"], "--threshold: 'x' is not a number"),
        (["--alert", "ErrorsHigh", "--for", "1m,-120"], "--for: '-120' is negative"),
        (["--alert", "ErrorsHigh", "--for", "1m,,2m"], "comma-separated"),
        (["--alert", "Nope"], "no alerting rule has this name"),
    ],
)
def test_cli_bad_input_is_a_clear_error(files, capsys, extra, message):
    _, om, rules = files
    code, out, err = _run(capsys, "rules", "sweep", str(om), str(rules), *extra)
    assert code == 1 and out == "" and message in err


def test_cli_expression_without_threshold_names_rule_and_expression(files, capsys):
    tmp, om, _ = files
    rules = tmp / "bad.yml"
    rules.write_text(CLI_RULES.format(expr="job:err:ratio > bool 0.1", for_="1m"))
    code, _, err = _run(capsys, "rules", "sweep", str(om), str(rules), "--alert", "ErrorsHigh")
    assert code == 1
    assert "group 'g', alert 'ErrorsHigh'" in err and "'job:err:ratio > bool 0.1'" in err


def test_ruleset_sweep_api(files):
    import engine

    _, om, rules = files
    db = engine.open(str(om))
    rs = engine.rules.load(str(rules))
    res = rs.sweep(
        db,
        T0 + 60,
        T0 + 1800,
        alert="ErrorsHigh",
        thresholds=[0.1],
        fors=["1m", 120],
        align="promtool",
    )
    rep = rs.replay(db, T0 + 60, T0 + 1800, align="promtool")
    assert _episodes(res.variant(0.1, 60_000).instances) == _episodes(rep.instances)
    assert res.to_json()["variants"][1]["for"] == "2m"
    assert list(res.to_pandas()["for"]) == ["1m", "2m"]


# ---- the bundled capture (the README example) --------------------------------------------------

ROOT = __import__("pathlib").Path(__file__).resolve().parents[2]


def test_bundled_istio_alert_sweep_equals_replays_of_the_rewritten_file(tmp_path):
    import engine

    demo, rules = ROOT / "fixtures" / "demo-capture", ROOT / "fixtures" / "rules" / "istio.yml"
    db = engine.open(str(demo))
    rs = engine.rules.load(str(rules))
    res = rs.sweep(
        db,
        "start+5m",
        "end",
        alert="IstioErrorRatioHigh",
        thresholds=[0.05, 0.2, 0.3],
        fors=["0s", "2m"],
        keep_firing_fors=["0s", "2m"],
    )
    assert len(res.variants) == 12
    text = rules.read_text()
    for c, for_, keep in ((0.05, "2m", "2m"), (0.2, "0s", "0s"), (0.3, "2m", "0s")):
        rewritten = text.replace("ratio_rate5m > 0.05", f"ratio_rate5m > {c}").replace(
            "for: 2m\n        keep_firing_for: 2m", f"for: {for_}\n        keep_firing_for: {keep}"
        )
        assert rewritten.count(f"> {c}") == 1 and f"keep_firing_for: {keep}" in rewritten
        path = tmp_path / "istio.yml"
        path.write_text(rewritten)
        rep = engine.rules.load(str(path)).replay(db, "start+5m", "end")
        want = [i for i in rep.instances if i.alertname == "IstioErrorRatioHigh"]
        v = res.variant(c, int(for_[0]) * 60_000, int(keep[0]) * 60_000)
        assert _episodes(v.instances) == _episodes(want)
        assert v.summary == episode_summary(want, res.start, res.end)
    # the incident: one episode for ratings up to a 20% threshold, nothing above
    assert res.variant(0.2, 0, 0).summary.firing_episodes == 1
    assert all(v.summary.firing_episodes == 0 for v in res.variants if v.variant.threshold == 0.3)
