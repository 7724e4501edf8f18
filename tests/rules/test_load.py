"""Rule files: every accepted format, and rejections with Prometheus 3.14's messages
(``model/rulefmt/rulefmt.go`` and yaml.v3's decoder texts)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

import engine.rules
from engine.rules import AlertingRule, RecordingRule, RuleFileError
from engine.rules.load import check_file, check_text, expand_paths, load, load_text
from tests.conftest import shared_path

RULES = """\
groups:
  - name: alerts
    interval: 30s
    limit: 5
    query_offset: 1m
    labels:
      team: core
    rules:
      - alert: InstanceDown
        expr: up == 0
        for: 5m
        keep_firing_for: 2m
        labels:
          severity: page
        annotations:
          summary: "Instance {{ $labels.instance }} down"
      - record: job:up:sum
        expr: sum by (job) (up)
        labels:
          source: rule
"""


def errors_of(text: str, **kw) -> list[str]:
    return check_text(textwrap.dedent(text), "f.yml", **kw).errors


def one_error(text: str, **kw) -> str:
    errs = errors_of(text, **kw)
    assert len(errs) == 1, errs
    return errs[0]


# ---- the full 3.14 format ----------------------------------------------------------------


def test_full_format_fields():
    rs = load_text(RULES, file="r.yml")
    (g,) = rs.groups
    assert (g.name, g.file, g.interval_ms, g.limit, g.query_offset_ms, g.labels) == (
        "alerts", "r.yml", 30_000, 5, 60_000, {"team": "core"})
    alert, rec = g.rules
    assert isinstance(alert, AlertingRule) and isinstance(rec, RecordingRule)
    assert (alert.alert, alert.expr, alert.for_ms, alert.keep_firing_for_ms, alert.index) == (
        "InstanceDown", "up == 0", 300_000, 120_000, 0)
    assert alert.labels == {"severity": "page"}
    assert alert.annotations == {"summary": "Instance {{ $labels.instance }} down"}
    assert str(alert.node) == "up == 0"
    assert (rec.record, rec.labels, rec.index, str(rec.node)) == (
        "job:up:sum", {"source": "rule"}, 1, "sum by (job) (up)")
    assert [r.name for r in rs.rules] == ["InstanceDown", "job:up:sum"]


def test_unset_optional_fields_are_none_or_zero():
    (g,) = load_text("groups: [{name: g, rules: [{record: r, expr: '1'}]}]").groups
    assert (g.interval_ms, g.query_offset_ms, g.limit, g.labels) == (None, None, 0, {})
    # an explicit query_offset of 0 overrides the global one, so it is kept
    (g,) = load_text("groups: [{name: g, query_offset: 0s, rules: []}]").groups
    assert g.query_offset_ms == 0


def test_engine_rules_load_is_the_loader(tmp_path):
    p = tmp_path / "r.yml"
    p.write_text(RULES)
    assert engine.rules.load is load
    assert [g.name for g in engine.rules.load(str(p)).groups] == ["alerts"]


def test_empty_file_has_no_groups(tmp_path):
    assert load_text("").groups == []
    assert load_text("# only a comment\n").groups == []


def test_anchors_aliases_and_merge_keys():
    text = """\
    groups:
      - name: g
        rules:
          - &high
            alert: &name HighAlert
            expr: &expr |
              sum(rate(errors_total[5m]))
            for: 5m
            labels: {severity: &sev critical}
          - record: new_metric
            expr: *expr
          - <<: *high
            alert: HighAlert2
          - alert: *name
            expr: *expr
            labels: {severity: *sev}
    """
    (g,) = load_text(textwrap.dedent(text)).groups
    a, r, a2, a3 = g.rules
    assert r.expr == a.expr == a2.expr == a3.expr == "sum(rate(errors_total[5m]))\n"
    assert (a2.alert, a2.for_ms, a2.labels) == ("HighAlert2", 300_000, {"severity": "critical"})
    assert (a3.alert, a3.labels) == ("HighAlert", {"severity": "critical"})


def test_utf8_record_name_is_valid_in_3x():
    (g,) = load_text("groups: [{name: g, rules: [{record: x-y, expr: '1'}]}]").groups
    assert g.rules[0].record == "x-y"


# ---- Kubernetes objects, several files, directories, globs ---------------------------------

K8S = """\
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata:
  name: r
  namespace: monitoring
spec:
  groups:
  - name: alerts
    interval: 30s
    limit: 5
    query_offset: 1m
    partial_response_strategy: warn
    labels:
      team: core
    rules:
    - alert: InstanceDown
      expr: up == 0
      for: 5m
      keep_firing_for: 2m
      labels:
        severity: page
      annotations:
        summary: "Instance {{ $labels.instance }} down"
    - record: job:up:sum
      expr: sum by (job) (up)
      labels:
        source: rule
"""


def _shape(rs):
    return [(g.name, g.interval_ms, g.limit, g.query_offset_ms, g.labels,
             [(type(r).__name__, r.name, r.expr, r.labels, getattr(r, "for_ms", None),
               getattr(r, "annotations", None)) for r in g.rules]) for g in rs.groups]


def test_prometheusrule_list_and_multidoc_give_the_same_groups(tmp_path):
    plain = _shape(load_text(RULES))
    (tmp_path / "plain.yml").write_text(RULES)
    (tmp_path / "k8s.yaml").write_text(K8S)
    items = "\n".join("  " + line for line in ("- " + K8S.replace("\n", "\n  ")).splitlines())
    (tmp_path / "list.yaml").write_text("apiVersion: v1\nkind: List\nitems:\n" + items + "\n")
    (tmp_path / "multi.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n---\n" + K8S)
    for name in ("plain.yml", "k8s.yaml", "list.yaml", "multi.yaml"):
        rs = load(str(tmp_path / name))
        assert _shape(rs) == plain, name
        assert {g.file for g in rs.groups} == {str(tmp_path / name)}


def test_multidocument_plain_rule_files_are_all_read():
    two = RULES + "---\n" + RULES.replace("name: alerts", "name: more")
    assert [g.name for g in load_text(two).groups] == ["alerts", "more"]


def test_group_names_are_unique_per_prometheusrule_object():
    other = K8S.replace("name: r\n", "name: other\n")
    rs = load_text(K8S + "---\n" + other)
    assert [g.name for g in rs.groups] == ["alerts", "alerts"]


def test_a_file_with_only_other_kubernetes_objects_is_an_error():
    (err,) = errors_of("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n")
    assert err == "f.yml: no rule groups and no PrometheusRule objects found (found ConfigMap)"


def test_directories_and_globs_in_any_mix(tmp_path):
    d = tmp_path / "rules"
    (d / "sub").mkdir(parents=True)
    (d / "b.yml").write_text(RULES.replace("name: alerts", "name: b"))
    (d / "sub" / "a.yaml").write_text(RULES.replace("name: alerts", "name: a"))
    (d / "notes.txt").write_text("not rules")
    (tmp_path / "c.yml").write_text(RULES.replace("name: alerts", "name: c"))
    files = expand_paths([str(d), str(tmp_path / "*.yml")])
    assert files == [str(d / "b.yml"), str(d / "sub" / "a.yaml"), str(tmp_path / "c.yml")]
    assert [g.name for g in load(str(d), str(tmp_path / "c*.yml")).groups] == ["b", "a", "c"]
    with pytest.raises(RuleFileError, match="no rule files match this pattern"):
        load(str(tmp_path / "nothing*.yml"))


def test_rule_file_path_replaces_the_group_file(tmp_path):
    p = tmp_path / "r.yml"
    p.write_text(RULES)
    rs = load(str(p), rule_file_path="/etc/prometheus/rules/r.yml")
    assert [g.file for g in rs.groups] == ["/etc/prometheus/rules/r.yml"]


def test_errors_of_every_file_are_reported_together(tmp_path):
    (tmp_path / "a.yml").write_text("groups: [{name: g, rules: [{record: x}]}]\n")
    (tmp_path / "b.yml").write_text("groups: [{name: g, rules: [{record: 'y{}', expr: '1'}]}]\n")
    with pytest.raises(RuleFileError) as ei:
        load(str(tmp_path / "a.yml"), str(tmp_path / "b.yml"), str(tmp_path / "c.yml"))
    a, b, c = (str(tmp_path / n) for n in ("a.yml", "b.yml", "c.yml"))
    assert ei.value.errors == [
        f"{a}: 0:0: group \"g\", rule 1, \"x\": field 'expr' must be set in rule",
        f"{b}: 1:37: group \"g\", rule 1, \"y{{}}\": braces present in the recording rule "
        "name; should it be in expr?: y{}",
        f"{c}: open {c}: no such file or directory",
    ]
    assert ei.value.file == a


# ---- the upstream promtool test files ----------------------------------------------------


@pytest.mark.parametrize("name,n_rules", [
    ("rules.yml", 5), ("at-modifier.yml", 1), ("negative-offset.yml", 1),
    ("bad-rules-error.yml", 1), ("prometheus-rules.lint.yml", 2), ("rules_duplicates.yml", 5),
    ("rules_large.yml", 10002),
])
def test_upstream_good_rule_files_load(name, n_rules):
    chk = check_file(str(shared_path("promtool", "testdata", name)))
    assert chk.errors == [] and chk.n_rules == n_rules


def test_upstream_rules_yml_content():
    (alerts, rules) = load(str(shared_path("promtool", "testdata", "rules.yml"))).groups
    assert [r.name for r in alerts.rules] == ["InstanceDown", "AlwaysFiring"]
    assert alerts.rules[0].for_ms == 300_000
    assert [str(r.node) for r in rules.rules] == [
        "sum without (instance) (count_over_time(test[1m]))", "1", "count_over_time(up[5m:])"]


def test_upstream_bad_files_are_rejected_with_prometheus_text():
    td = shared_path("promtool", "testdata")
    f = str(td / "rules-bad.yml")
    assert check_file(f).errors == [
        f'{f}: group "alerts", rule 1, "InstanceDown": annotation "summary": template: '
        '__alert_InstanceDown:1: undefined variable "$label"']
    f = str(td / "bad-rules-syntax.yml")
    assert check_file(f).errors == [
        f'{f}: 7:15: group "bad-syntax", rule 1, "x": could not parse expression: 1:7: '
        "parse error: unexpected end of input"]
    f = str(td / "rules_extrafields.yml")
    assert check_file(f).errors == [
        f"{f}: yaml: unmarshal errors:\n"
        "  line 7: field namespace not found in type rulefmt.RuleGroup\n"
        "  line 21: field ownership not found in type rulefmt.RuleGroup"]
    assert check_file(f, ignore_unknown_fields=True).n_rules == 5


# ---- rulefmt validation, one message each ---------------------------------------------------


def test_groupname_repeated_and_empty():
    errs = errors_of("""\
    groups:
      - name: x
        rules: []
      - name: x
        rules: []
      - name: ""
        rules: []
    """)
    assert errs == ['f.yml: 4:5: groupname: "x" is repeated in the same file',
                    "f.yml: 6:5: Groupname must not be empty"]


def test_record_and_alert_both_or_neither():
    assert one_error("""\
    groups:
    - name: g
      rules:
      - record: r
        alert: a
        expr: "1"
    """) == ("f.yml: 4:13: 5:12: group \"g\", rule 1, \"a\": only one of 'record' and "
             "'alert' must be set")
    assert one_error("""\
    groups:
    - name: g
      rules:
      - expr: "1"
    """) == "f.yml: 0:0: 0:0: group \"g\", rule 1, \"\": one of 'record' or 'alert' must be set"


def test_expr_must_be_set_and_must_parse():
    assert one_error("groups: [{name: g, rules: [{alert: a}]}]") == (
        "f.yml: 0:0: group \"g\", rule 1, \"a\": field 'expr' must be set in rule")
    assert one_error("groups: [{name: g, rules: [{alert: a, expr: ''}]}]") == (
        "f.yml: 1:45: group \"g\", rule 1, \"a\": field 'expr' must be set in rule")
    assert one_error("groups: [{name: g, rules: [{alert: a, expr: 'sum(x'}]}]") == (
        'f.yml: 1:45: group "g", rule 1, "a": could not parse expression: 1:6: parse error: '
        "unclosed left parenthesis")


@pytest.mark.parametrize("field,value", [("for", "5m"), ("keep_firing_for", "1m")])
def test_recording_rules_take_no_for(field, value):
    assert one_error(f"""\
    groups:
    - name: g
      rules:
      - record: r
        expr: "1"
        {field}: {value}
    """) == f"f.yml: 4:13: group \"g\", rule 1, \"r\": invalid field '{field}' in recording rule"


def test_recording_rules_take_no_annotations_and_no_braces():
    errs = errors_of("""\
    groups:
    - name: g
      rules:
      - record: 'r{a="b"}'
        expr: "1"
        annotations: {x: y}
    """)
    assert errs == [
        "f.yml: 4:13: group \"g\", rule 1, \"r{a=\\\"b\\\"}\": invalid field 'annotations' in "
        "recording rule",
        'f.yml: 4:13: group "g", rule 1, "r{a=\\"b\\"}": braces present in the recording rule '
        'name; should it be in expr?: r{a="b"}',
    ]


def test_invalid_label_and_annotation_names():
    errs = errors_of("""\
    groups:
    - name: g
      labels: {__name__: x}
      rules:
      - alert: a
        expr: "1"
        labels: {__name__: x, "": y}
        annotations: {"": z}
    """)
    assert errs == [
        "f.yml: invalid label name: __name__",
        'f.yml: group "g", rule 1, "a": invalid label name: __name__',
        'f.yml: group "g", rule 1, "a": invalid label name: ',
        'f.yml: group "g", rule 1, "a": invalid annotation name: ',
    ]


def test_alert_templates_must_parse():
    errs = errors_of("""\
    groups:
    - name: g
      rules:
      - alert: A
        expr: "1"
        labels: {severity: "{{ $value"}
        annotations:
          summary: "{{ $this_is_wrong }}"
          description: "{{ $labels.quantile * 100 }}"
          ok: "{{ humanize $value }} {{ .Labels.job }}"
    """)
    assert errs == [
        'f.yml: group "g", rule 1, "A": label "severity": template: __alert_A:1: unclosed action',
        'f.yml: group "g", rule 1, "A": annotation "summary": template: __alert_A:1: '
        'undefined variable "$this_is_wrong"',
        'f.yml: group "g", rule 1, "A": annotation "description": template: __alert_A:1: '
        'unexpected "*" in operand',
    ]


def test_recording_rule_labels_are_not_templates():
    text = "groups: [{name: g, rules: [{record: r, expr: '1', labels: {a: '{{'}}]}]"
    assert errors_of(text) == []


def test_unknown_fields_are_errors_unless_ignored():
    text = """\
    groups:
    - name: g
      foo: 1
      rules:
      - record: r
        expr: "1"
        bar: 2
    """
    assert errors_of(text) == ["f.yml: yaml: unmarshal errors:\n"
                               "  line 3: field foo not found in type rulefmt.RuleGroup\n"
                               "  line 7: field bar not found in type rulefmt.Rule"]
    assert errors_of(text, ignore_unknown_fields=True) == []
    assert errors_of("group: []") == ["f.yml: yaml: unmarshal errors:\n"
                                      "  line 1: field group not found in type rulefmt.RuleGroups"]


def test_type_errors_are_reported_by_both_decoding_passes():
    errs = errors_of("groups: [{name: g, limit: lots, rules: x}]")
    assert errs == [
        "f.yml: yaml: unmarshal errors:\n"
        "  line 1: cannot unmarshal !!str `lots` into int\n"
        "  line 1: cannot unmarshal !!str `x` into []rulefmt.Rule",
        "f.yml: yaml: unmarshal errors:\n"
        "  line 1: cannot unmarshal !!str `lots` into int\n"
        "  line 1: cannot unmarshal !!str `x` into []rulefmt.RuleNode",
    ]
    assert errors_of("- a\n- b\n") == [
        "f.yml: yaml: unmarshal errors:\n  line 1: cannot unmarshal !!seq into rulefmt.RuleGroups",
        "f.yml: yaml: unmarshal errors:\n  line 1: cannot unmarshal !!seq into rulefmt.ruleGroups",
    ]
    (err, _) = errors_of("groups: [{name: g, rules: [{record: r, expr: '1', labels: [a]}]}]")
    assert err == ("f.yml: yaml: unmarshal errors:\n"
                   "  line 1: cannot unmarshal !!seq into map[string]string")


def test_long_values_are_shortened_in_type_errors():
    (err, _) = errors_of("groups: [{name: g, limit: abcdefghijkl, rules: []}]")
    assert err.endswith("cannot unmarshal !!str `abcdefg...` into int")


def test_bad_durations_stop_decoding_with_their_own_message():
    errs = errors_of("groups: [{name: g, interval: 5x, rules: []}]")
    assert errs == ['f.yml: unknown unit "x" in duration "5x"'] * 2
    errs = errors_of("groups: [{name: g, rules: [{alert: a, expr: '1', for: 1.5m}]}]")
    assert errs == ['f.yml: unknown unit "." in duration "1.5m"'] * 2


def test_duplicate_keys():
    errs = errors_of("""\
    groups:
    - name: g
      rules:
      - record: r
        expr: "1"
        expr: "2"
    """)
    assert errs == ['f.yml: yaml: unmarshal errors:\n'
                    '  line 6: mapping key "expr" already defined at line 5'] * 2


def test_yaml_syntax_errors():
    # yaml.v3 reports the 0-based line of a scanner error plus one, and no line on line 0
    assert errors_of("groups:\n- name: a\n  rules: b: c\n") == [
        "f.yml: yaml: line 3: mapping values are not allowed in this context"]
    assert errors_of("a: b: c") == ["f.yml: yaml: mapping values are not allowed in this context"]


def test_limit_accepts_yaml_integers():
    (g,) = load_text("groups: [{name: g, limit: 0x10, rules: []}]").groups
    assert g.limit == 16


# ---- properties ---------------------------------------------------------------------------

_UNITS = (("y", 365 * 86_400_000), ("w", 7 * 86_400_000), ("d", 86_400_000),
          ("h", 3_600_000), ("m", 60_000), ("s", 1000), ("ms", 1))


def _duration_text(ms: int) -> str:
    """A Prometheus duration for ``ms`` (the inverse the loader must undo)."""
    if ms == 0:
        return "0s"
    out = []
    for unit, size in _UNITS:
        if ms >= size:
            out.append(f"{ms // size}{unit}")
            ms %= size
    return "".join(out)


_text = st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=12)
_name = st.text(st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")), min_size=1,
                max_size=8).filter(lambda s: s.strip() == s and s != "__name__")
_exprs = st.sampled_from(["up", "up == 0", "sum by (job) (rate(x[5m]))", "1", "vector(1) > 0"])


@st.composite
def _groups(draw):
    groups = []
    for gi in range(draw(st.integers(1, 3))):
        rules = []
        for _ in range(draw(st.integers(0, 3))):
            labels = draw(st.dictionaries(_name, _text, max_size=3))
            if draw(st.booleans()):
                rules.append({"record": draw(_name.filter(lambda s: "{" not in s and "}" not in s)),
                              "expr": draw(_exprs), "labels": labels})
            else:
                rules.append({"alert": draw(_name), "expr": draw(_exprs), "labels": labels,
                              "for": _duration_text(draw(st.integers(0, 10**9))),
                              "annotations": draw(st.dictionaries(
                                  _name, _text.filter(lambda s: "{{" not in s), max_size=2))})
        g = {"name": f"g{gi}-" + draw(_text), "rules": rules}
        if draw(st.booleans()):
            g["interval"] = _duration_text(draw(st.integers(1, 10**8)))
        groups.append(g)
    return {"groups": groups}


@settings(max_examples=60, deadline=None)
@given(_groups())
def test_dumped_rule_files_load_back_to_what_was_written(doc):
    rs = load_text(yaml.safe_dump(doc, allow_unicode=True))
    assert [g.name for g in rs.groups] == [g["name"] for g in doc["groups"]]
    for g, want in zip(rs.groups, doc["groups"], strict=True):
        if "interval" in want:
            assert _duration_text(g.interval_ms) == want["interval"]
        for r, w in zip(g.rules, want["rules"], strict=True):
            assert (r.name, r.expr, r.labels) == (w.get("record", w.get("alert")), w["expr"],
                                                  w["labels"])
            if "alert" in w:
                assert _duration_text(r.for_ms) == w["for"]
                assert r.annotations == w["annotations"]


def test_path_objects_are_accepted(tmp_path: Path):
    p = tmp_path / "r.yml"
    p.write_text(RULES)
    assert len(load(p).groups) == 1
