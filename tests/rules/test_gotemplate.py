"""Go ``text/template`` semantics and Prometheus' template functions.

The expected outputs and error texts are what Go 1.2x and Prometheus 3.14 produce: the
ones marked (upstream) are re-derived from Prometheus' ``template/template_test.go``
scenarios; the others follow Go's ``text/template``, ``fmt`` and ``strconv`` sources.
"""

from __future__ import annotations

import math
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.labels import format_go_float
from engine.rules.gotemplate import (
    ALERT_TEMPLATE_DEFS,
    TemplateError,
    TemplateExpandError,
    alert_template_uses,
    expand_alert_template,
    parse_template,
    prometheus_funcs,
)
from engine.rules.gotmpl import builtins as B
from engine.rules.gotmpl.gofmt import sprintf
from engine.rules.gotmpl.parse import parse

EXT = "http://testhost:9090/path/prefix"


def run(text, data=None, query=None, ts_ms=0):
    rows = query if query is not None else []
    t = parse_template("test", text)
    return t.execute(data, prometheus_funcs(lambda e, ts: rows, ts_ms, EXT))


def exec_error(text, data=None, query=None):
    with pytest.raises(TemplateExpandError) as ei:
        run(text, data, query)
    return str(ei.value)


def parse_error(text):
    with pytest.raises(TemplateError) as ei:
        parse_template("test", text)
    return str(ei.value)


M_A = ({"__name__": "metric", "instance": "a"}, 11.0)
M_B = ({"__name__": "metric", "instance": "b"}, 21.0)

OUTPUT_CASES = [
    # (upstream) basics, functions on query results, humanizers
    ("plain text", None, None, "plain text"),
    ("{{ 1 }}", None, None, "1"),
    ('{{ "<b>" }}', None, None, "<b>"),
    ('{{define "x"}}{{.arg0}} {{.arg1}}{{end}}{{template "x" (args 1 "2")}}', None, None, "1 2"),
    ('{{ query "1.5" | first | value }}', None, [({}, 1.5)], "1.5"),
    ("{{ query \"metric{instance='a'}\" | first | value }}", None, [M_A], "11"),
    ("{{ query \"metric{instance='a'}\" | first | label \"instance\" }}", None, [M_A], "a"),
    ("{{ query \"x\" | first | strvalue }}", None, [({"__value__": "a"}, 11.0)], "a"),
    ("{{ query \"x\" | first | label \"foo\" }}", None, [M_A], ""),
    ('{{ $x := query "metric" | first }}{{ $x.Labels.foo }}', None, [M_A], ""),
    ('{{ range query "metric" | sortByLabel "instance" }}{{.Labels.instance}}:{{.Value}}: {{end}}',
     None, [M_B, M_A], "a:11: b:21: "),
    ('{{ "foo.example.com" | stripPort }}', None, None, "foo.example.com"),
    ('{{ "foo.example.com:12345" | stripPort }}', None, None, "foo.example.com"),
    ('{{ "192.0.2.1" | stripPort }}', None, None, "192.0.2.1"),
    ('{{ "192.0.2.1:12345" | stripPort }}', None, None, "192.0.2.1"),
    ('{{ "2001:0DB8::1" | stripPort }}', None, None, "2001:0DB8::1"),
    ('{{ "[2001:0DB8::1]:12345" | stripPort }}', None, None, "2001:0DB8::1"),
    ('{{ "[2001:0DB8::1]::12345" | stripPort }}', None, None, "[2001:0DB8::1]::12345"),
    ("{{ .Foo }}", None, None, "<no value>"),
    ('{{ reReplaceAll "(a)b" "x$1" "ab" }}', None, None, "xa"),
    ("{{ range . }}{{ humanize . }}:{{ end }}", [0.0, 1.0, 1234567.0, .12], None,
     "0:1:1.235M:120m:"),
    ("{{ range . }}{{ humanize . }}:{{ end }}", ["0.0", "1.0", "1234567.0", ".12"], None,
     "0:1:1.235M:120m:"),
    ("{{ range . }}{{ humanize . }}:{{ end }}", [0, -1, 1, 1234567, 2**63 - 1], None,
     "0:-1:1:1.235M:9.223E:"),
    ("{{ range . }}{{ humanize1024 . }}:{{ end }}", [0.0, 1.0, 1048576.0, .12], None,
     "0:1:1Mi:0.12:"),
    ("{{ range . }}{{ humanize1024 . }}:{{ end }}", [0, -1, 1, 1234567, 2**63 - 1], None,
     "0:-1:1:1.177Mi:8Ei:"),
    ("{{ range . }}{{ humanizeDuration . }}:{{ end }}",
     [0.0, 1.0, 60.0, 3600.0, 86400.0, 90000.0, -(86400 * 2 + 3600 * 3 + 60 * 4 + 5.0), 899.99],
     None, "0s:1s:1m 0s:1h 0m 0s:1d 0h 0m 0s:1d 1h 0m 0s:-2d 3h 4m 5s:14m 59s:"),
    ("{{ range . }}{{ humanizeDuration . }}:{{ end }}", ["0", "1", "60", "3600", "86400"], None,
     "0s:1s:1m 0s:1h 0m 0s:1d 0h 0m 0s:"),
    ("{{ range . }}{{ humanizeDuration . }}:{{ end }}",
     [.1, .0001, .12345, 60.1, 60.5, 1.2345, 12.345], None,
     "100ms:100us:123.5ms:1m 0s:1m 0s:1.234s:12.35s:"),
    ("{{ range . }}{{ humanizeDuration . }}:{{ end }}", [0, -1, 1, 1234567], None,
     "0s:-1s:1s:14d 6h 56m 7s:"),
    ("{{ range . }}{{ humanize . }}:{{ humanize1024 . }}:{{ humanizeDuration . }}:"
     "{{humanizeTimestamp .}}:{{ end }}", [math.inf, -math.inf, math.nan], None,
     "+Inf:+Inf:+Inf:+Inf:-Inf:-Inf:-Inf:-Inf:NaN:NaN:NaN:NaN:"),
    ("{{ range . }}{{ humanize . }}:{{ humanize1024 . }}:{{ humanizeDuration . }}:"
     "{{humanizeTimestamp .}}:{{ end }}", ["+Inf", "-Inf", "NaN"], None,
     "+Inf:+Inf:+Inf:+Inf:-Inf:-Inf:-Inf:-Inf:NaN:NaN:NaN:NaN:"),
    ("{{ -0.22222 | humanizePercentage }}:{{ 0.0 | humanizePercentage }}:"
     "{{ 0.1234567 | humanizePercentage }}:{{ 1.23456 | humanizePercentage }}", None, None,
     "-22.22%:0%:12.35%:123.5%"),
    ("{{ range . }}{{ humanizePercentage . }}:{{ end }}", [0, -1, 1, 1234567, 2**63 - 1], None,
     "0%:-100%:100%:1.235e+08%:9.223e+20%:"),
    ("{{ range . }}{{ humanizeTimestamp . }}:{{ end }}", [0, -1, 1, 1234567, 9223372036], None,
     "1970-01-01 00:00:00 +0000 UTC:1969-12-31 23:59:59 +0000 UTC:1970-01-01 00:00:01 +0000 UTC:"
     "1970-01-15 06:56:07 +0000 UTC:2262-04-11 23:47:16 +0000 UTC:"),
    ("{{ 1435065584.128 | humanizeTimestamp }}", None, None, "2015-06-23 13:19:44.128 +0000 UTC"),
    ('{{ "1435065584.128" | humanizeTimestamp }}', None, None,
     "2015-06-23 13:19:44.128 +0000 UTC"),
    ('{{ (1435065584.128 | toTime).Format "2006" }}', None, None, "2015"),
    ('{{ ("1435065584.128" | toTime).Format "2006" }}', None, None, "2015"),
    ('{{ "aa bb CC" | title }}', None, None, "Aa Bb CC"),
    ('{{ "aa bb CC" | toUpper }}', None, None, "AA BB CC"),
    ('{{ "aA bB CC" | toLower }}', None, None, "aa bb cc"),
    ('{{ match "a+" "aa" }} {{ match "a+" "b" }}', None, None, "true false"),
    ('{{ graphLink "up" }}', None, None, "/graph?g0.expr=up&g0.tab=0"),
    ('{{ tableLink "up" }}', None, None, "/graph?g0.expr=up&g0.tab=1"),
    ("{{ pathPrefix }}", None, None, "/path/prefix"),
    ("{{ externalURL }}", None, None, EXT),
    ('{{ printf "%0.2f" (parseDuration "1h2m10ms") }}', None, None, "3720.01"),
    ('{{ "foo.example.com" | stripDomain }}', None, None, "foo"),
    ('{{ "foo.example.com:12345" | stripDomain }}', None, None, "foo:12345"),
    ('{{ "192.0.2.1" | stripDomain }}', None, None, "192.0.2.1"),
    ('{{ "192.0.2.1:12345" | stripDomain }}', None, None, "192.0.2.1:12345"),
    ('{{ "2001:0DB8::1" | stripDomain }}', None, None, "2001:0DB8::1"),
    ('{{ "[2001:0DB8::1]:12345" | stripDomain }}', None, None, "[2001:0DB8::1]:12345"),
    ('{{ "[2001:0DB8::1]::12345" | stripDomain }}', None, None, "[2001:0DB8::1]::12345"),
    # the 3.x additions
    ('{{ urlQueryEscape "a b&c/é" }}', None, None, "a+b%26c%2F%C3%A9"),
    # (upstream) alert templates are text templates: nothing is escaped, safeHtml or not
    ('{{ "<b>" }}', None, None, "<b>"),
    ('{{ "<b>" | safeHtml }}', None, None, "<b>"),
    ('{{ safeHtml "a&b" | printf "%s!" }}', None, None, "a&b!"),
    ("{{ toDuration 3661.5 }} {{ (toDuration 90).Minutes }} {{ toDuration 0.0015 }}", None, None,
     "1h1m1.5s 1.5 1.5ms"),
    ("{{ now }} {{ (toTime now).Unix }}", None, None, "1.7e+09 1700000000"),
    ('{{ (toTime 1.5).UnixMilli }} {{ (toTime 86400).Weekday }} {{ (toTime 0).Month }}', None,
     None, "1500 Friday January"),
    ('{{ (toTime 1435065584.128).Format "Mon Jan _2 15:04:05.000 MST 2006 -07:00 Z07:00" }}',
     None, None, "Tue Jun 23 13:19:44.128 UTC 2015 +00:00 Z"),
    ("{{ humanize 999999 }} {{ humanize 0.000001234 }} {{ humanize1024 1536 }} "
     "{{ humanizeDuration 3661 }} {{ humanizePercentage 1.5 }}", None, None,
     "1000k 1.234u 1.5ki 1h 1m 1s 150%"),
    # text/template: printing, constants, variables, control flow
    ("{{ 1e6 }} {{ 1.2345675e6 }} {{ 999999.9 }} {{ 0.0001 }} {{ 0.00001 }} {{ -0.0 }}",
     None, None, "1e+06 1.2345675e+06 999999.9 0.0001 1e-05 -0"),
    ("{{ 0x1F }} {{ 1_000 }} {{ 'a' }} {{ 1.5e3 }} {{ true }} {{ \"\\u00e9\\t\" }}", None, None,
     "31 1000 97 1500 true é\t"),
    ("{{ . }}", {"b": "2", "a": "1"}, None, "map[a:1 b:2]"),
    ("{{ . }}", [1, "x", 2.5], None, "[1 x 2.5]"),
    ("{{ $x := 1 }}{{ $x = 2 }}{{ $x }}", None, None, "2"),
    ("{{ $ }}", "top", None, "top"),
    ("{{ if true }}{{ $x := 1 }}{{ end }}{{ $y := 2 }}{{ $y }}", None, None, "2"),
    ("{{ if false }}a{{ else if true }}b{{ else }}c{{ end }}", None, None, "b"),
    ('{{ with "" }}a{{ else with "b" }}{{ . }}{{ end }}', None, None, "b"),
    ("{{ with $x := 5 }}{{ $x }}{{ . }}{{ end }}", None, None, "55"),
    ("{{ range $i, $e := . }}{{ $i }}={{ $e }},{{ end }}", ["x", "y"], None, "0=x,1=y,"),
    ("{{ range $k, $v := . }}{{ $k }}={{ $v }};{{ end }}", {"b": 2, "a": 1}, None, "a=1;b=2;"),
    ("{{ range . }}{{ if eq . 2 }}{{ continue }}{{ end }}{{ if eq . 4 }}{{ break }}{{ end }}"
     "{{ . }}{{ end }}", [1, 2, 3, 4, 5], None, "13"),
    ("{{ range 3 }}{{ . }}{{ else }}none{{ end }}|{{ range . }}x{{ else }}none{{ end }}", [], None,
     "012|none"),
    ("{{ range $i := 2 }}[{{ $i }}]{{ end }}", None, None, "[0][1]"),
    ("a  {{- 1 -}}  b {{- /* comment */ -}}\n c {{/* another */}}d", None, None, "a1bc d"),
    ("{{- \" x \" }}|{{ \" y \" -}} |", None, None, " x | y |"),
    ('{{ define "t" }}<{{ . }}>{{ end }}{{ template "t" 1 }}{{ template "t" }}', None, None,
     "<1><<no value>>"),
    ('{{ block "b" . }}[{{ . }}]{{ end }}', "d", None, "[d]"),
    ("{{ and 1 0 \"x\" }} {{ or 0 \"\" \"y\" }} {{ not 0 }} {{ and 1 2 }} {{ or 0 \"\" }}",
     None, None, "0 y true 2 "),
    # short circuit: the failing call is never made
    ('{{ or 1 (query "x" | first) }} {{ and 0 (query "x" | first) }}', None, None, "1 0"),
    ('{{ len "héllo" }} {{ len . }} {{ index . 1 }} {{ index "abc" 1 }} {{ slice "abcdef" 1 3 }}',
     [1, 2, 3], None, "6 3 2 98 bc"),
    ('{{ index . "a" }}|{{ index . "zz" }}|{{ .zz }}', {"a": "x"}, None, "x|<no value>|<no value>"),
    ("{{ slice . 1 }}|{{ slice . 1 2 }}", [1, 2, 3], None, "[2 3]|[2]"),
    ('{{ html "<a href=\\"x\\">&\'" }} {{ js "a\'b\\"<=>&" }} {{ urlquery "a b" "c" }}', None,
     None, "&lt;a href=&#34;x&#34;&gt;&amp;&#39; a\\'b\\\"\\u003C\\u003D\\u003E\\u0026 a+bc"),
    ("{{ print 1 2 \"a\" \"b\" 3.5 }}|{{ println 1 \"a\" }}|", None, None, "1 2ab3.5|1 a\n|"),
    # comparisons
    ("{{ eq 1 1 }} {{ eq \"a\" \"b\" \"a\" }} {{ ne 1.5 2.5 }} {{ lt \"a\" \"b\" }} {{ le 2 2 }} "
     "{{ gt 3 2 }} {{ ge 1.0 2.0 }}", None, None, "true true true true true true false"),
    ("{{ gt . 1.0 }} {{ ge . 1.0 }} {{ lt . 1.0 }} {{ le . 1.0 }} {{ eq . . }} {{ ne . . }}",
     math.nan, None, "true true false false false true"),
    ("{{ eq .x nil }}", {"x": None}, None, "true"),
    # printf verbs
    ('{{ printf "%d|%5d|%-5d|%05d|%x|%X|%o|%b|%c|%q|%U" 42 42 42 42 255 255 8 5 65 65 65 }}', None,
     None, "42|   42|42   |00042|ff|FF|10|101|A|'A'|U+0041"),
    ('{{ printf "%f|%.2f|%8.3f|%e|%.3e|%g|%.3g|%G|%v" 3.14159 3.14159 3.14159 1234.5678 1234.5678 '
     '0.000012345 1234567.0 1e-7 100000000.0 }}', None, None,
     "3.141590|3.14|   3.142|1.234568e+03|1.235e+03|1.2345e-05|1.23e+06|1E-07|1e+08"),
    ('{{ printf "%s|%10s|%-10s|%.2s|%q|%x|%v|%t|%T|%T|%%" "abc" "abc" "abc" "abc" "a\\nb" "hi" '
     'true false . 1 }}', 1.5, None,
     'abc|       abc|abc       |ab|"a\\nb"|6869|true|false|float64|int|%'),
    ('{{ printf "%d %s" "x" }}|{{ printf "%d" 1 2 }}|{{ printf "%!" }}|{{ printf "%" }}|'
     '{{ printf "%z" 1 }}', None, None,
     "%!d(string=x) %!s(MISSING)|1%!(EXTRA int=2)|%!!(MISSING)|%!(NOVERB)|%!z(int=1)"),
    ('{{ printf "%v %v %v %.1f %+.1f %f" . 1e21 -0.0 2.25 2.25 . }}', math.inf, None,
     "+Inf 1e+21 -0 2.2 +2.2 +Inf"),
    ('{{ printf "%[2]s %[1]s" "a" "b" }} {{ printf "%*d|%-*d|%.*f" 4 7 4 7 2 3.14159 }}', None,
     None, "b a    7|7   |3.14"),
]


@pytest.mark.parametrize("text,data,query,want", OUTPUT_CASES,
                         ids=[c[0][:40] for c in OUTPUT_CASES])
def test_output(text, data, query, want):
    assert run(text, data, query, ts_ms=1_700_000_000_000) == want


EXEC_ERROR_CASES = [
    # (upstream)
    ('{{ query "missing" | first }}', None,
     'template: test:1:21: executing "test" at <first>: error calling first: first() called on '
     "vector with no elements"),
    ('{{ (query "missing").banana }}', None,
     'template: test:1:10: executing "test" at <"missing">: can\'t evaluate field banana in type '
     "template.queryResult"),
    ('{{ humanize "one" }}', None,
     'template: test:1:3: executing "test" at <humanize "one">: error calling humanize: '
     'strconv.ParseFloat: parsing "one": invalid syntax'),
    ('{{ humanize1024 "one" }}', None,
     'template: test:1:3: executing "test" at <humanize1024 "one">: error calling humanize1024: '
     'strconv.ParseFloat: parsing "one": invalid syntax'),
    ('{{ humanizeDuration "one" }}', None,
     'template: test:1:3: executing "test" at <humanizeDuration "one">: error calling '
     'humanizeDuration: strconv.ParseFloat: parsing "one": invalid syntax'),
    ('{{ "one" | humanizePercentage }}', None,
     'template: test:1:11: executing "test" at <humanizePercentage>: error calling '
     'humanizePercentage: strconv.ParseFloat: parsing "one": invalid syntax'),
    ("{{ range . }}{{ humanizeTimestamp . }}:{{ end }}", [-(2**63), 2**63 - 1],
     'template: test:1:16: executing "test" at <humanizeTimestamp .>: error calling '
     "humanizeTimestamp: -9.223372036854776e+18 cannot be represented as a nanoseconds "
     "timestamp since it overflows int64"),
    # text/template
    ("{{ if gt 1.5 1 }}x{{ end }}", None,
     'template: test:1:6: executing "test" at <gt 1.5 1>: error calling gt: incompatible types '
     "for comparison"),
    ("{{ lt true false }}", None,
     'template: test:1:3: executing "test" at <lt true false>: error calling lt: invalid type '
     "for comparison"),
    ("{{ eq . . }}", {"a": "b"},
     'template: test:1:3: executing "test" at <eq . .>: error calling eq: uncomparable type '
     "map[string]interface {}: map[a:b]"),
    ('{{ title 1.5 }}', None,
     'template: test:1:9: executing "test" at <1.5>: expected string; found 1.5'),
    ("{{ title . }}", 1.5,
     'template: test:1:9: executing "test" at <.>: wrong type for value; expected string; got '
     "float64"),
    ("{{ humanize }}", None,
     'template: test:1:3: executing "test" at <humanize>: wrong number of args for humanize: '
     "want 1 got 0"),
    ("{{ printf }}", None,
     'template: test:1:3: executing "test" at <printf>: wrong number of args for printf: '
     "want at least 1 got 0"),
    ('{{ template "nope" }}', None,
     'template: test:1:12: executing "test" at <{{template "nope"}}>: template "nope" not '
     "defined"),
    ("{{ range . }}{{ end }}", "abc",
     'template: test:1:9: executing "test" at <.>: range can\'t iterate over abc'),
    ("{{ 1 2 }}", None, 'template: test:1:3: executing "test" at <1>: can\'t give argument to '
     "non-function 1"),
    ("{{ index . 5 }}", [1],
     'template: test:1:3: executing "test" at <index . 5>: error calling index: index out of '
     "range: 5"),
    ("{{ len 3 }}", None,
     'template: test:1:3: executing "test" at <len 3>: error calling len: len of type int'),
    ("{{ .a.b }}", {"a": "x"},
     # the field chain is positioned at its second field, as Go's parser does
     'template: test:1:5: executing "test" at <.a.b>: can\'t evaluate field b in type string'),
    ('{{ reReplaceAll "(" "" "a" }}', None,
     'template: test:1:3: executing "test" at <reReplaceAll "(" "" "a">: error calling '
     "reReplaceAll: regexp: Compile(`(`): error parsing regexp: missing closing ): `(`"),
    ('{{ parseDuration "1x" }}', None,
     'template: test:1:3: executing "test" at <parseDuration "1x">: error calling parseDuration: '
     'unknown unit "x" in duration "1x"'),
    ("{{ toTime . }}", math.nan,
     'template: test:1:3: executing "test" at <toTime .>: error calling toTime: value is NaN or '
     "Inf"),
    ("{{ humanize true }}", None,
     'template: test:1:3: executing "test" at <humanize true>: error calling humanize: '
     "can't convert bool to float"),
    ("{{ humanizeDuration (toDuration 5) }}", None,
     'template: test:1:3: executing "test" at <humanizeDuration (toDuration 5)>: error calling '
     "humanizeDuration: can't convert *time.Duration to float"),
    ("line one\n  {{ query \"x\" | first }}", None,
     'template: test:2:17: executing "test" at <first>: error calling first: first() called on '
     "vector with no elements"),
]


@pytest.mark.parametrize("text,data,want", EXEC_ERROR_CASES,
                         ids=[c[0][:40] for c in EXEC_ERROR_CASES])
def test_execution_errors(text, data, want):
    assert exec_error(text, data) == want


PARSE_ERROR_CASES = [
    ("{{", "template: test:1: unclosed action"),  # (upstream)
    ("{{\u00a0}}", "template: test:1: unrecognized character in action: U+00A0"),  # (upstream)
    ("{{ .x ", "template: test:1: unclosed action"),
    ("a\n{{ .x\n\n", "template: test:4: unclosed action started at test:2"),
    ("{{ nope }}", 'template: test:1: function "nope" not defined'),
    ("{{ $label.foo }}", 'template: test:1: undefined variable "$label"'),
    ("{{ .x * 100 }}", 'template: test:1: unexpected "*" in operand'),
    ("{{ end }}", "template: test:1: unexpected {{end}}"),
    ("{{ else }}", "template: test:1: unexpected {{else}}"),
    ("{{ if 1 }}", "template: test:1: unexpected EOF"),
    ("{{ if }}{{ end }}", "template: test:1: missing value for if"),
    ("{{ 1 | 2 }}", "template: test:1: non executable command in pipeline stage 2"),
    ("{{ 3x }}", 'template: test:1: bad number syntax: "3x"'),
    ("{{ true.x }}", 'template: test:1: unexpected . after term "true"'),
    ('{{ "abc }}', "template: test:1: unterminated quoted string"),
    ('{{ "\\q" }}', "template: test:1: invalid syntax"),
    ("{{ ( 1 }}", "template: test:1: unclosed left paren"),
    ("{{ ) }}", "template: test:1: unexpected right paren"),
    ("{{ break }}", "template: test:1: {{break}} outside {{range}}"),
    ("{{ $x, $y := 1 }}", "template: test:1: too many declarations in command"),
    ("{{/* x */ 1 }}", "template: test:1: comment ends before closing delimiter"),
    ("{{/* x ", "template: test:1: unclosed comment"),
    ('{{ template x }}', "template: test:1: unexpected \"x\" in template clause"),
    ('{{ define "a" }}x{{ end }}{{ define "a" }}y{{ end }}',
     'template: test:1: template: multiple definition of template "a"'),
    ("{{ | .x }}", 'template: test:1: unexpected "|" in command'),
    ("{{ $x := }}", "template: test:1: missing value for command"),
    ("{{ 99999999999999999999 }}", 'template: test:1: integer overflow: "99999999999999999999"'),
    ("{{ .abc-d }}", "template: test:1: bad character U+002D '-'"),
]


@pytest.mark.parametrize("text,want", PARSE_ERROR_CASES, ids=[c[0][:30] for c in PARSE_ERROR_CASES])
def test_parse_errors(text, want):
    assert parse_error(text) == want


# ---- alert templates -------------------------------------------------------------------------


def alert(text, labels=None, value=1.0, ext_labels=None, url="http://prom:9090", query=None,
          ts_ms=0):
    rows = query or []
    return expand_alert_template(text, labels or {}, ext_labels or {}, url, value, ts_ms,
                                 lambda e, t: rows, "HighLoad")


@pytest.mark.parametrize("value,printed", [
    (1e6, "1e+06"), (1.2345675e6, "1.2345675e+06"), (999999.9, "999999.9"), (0.0001, "0.0001"),
    (1e-05, "1e-05"), (math.inf, "+Inf"), (-math.inf, "-Inf"), (math.nan, "NaN"), (-0.0, "-0"),
    (5.0, "5"), (0.1 + 0.2, "0.30000000000000004"),
])
def test_value_prints_like_go(value, printed):
    assert alert("{{ $value }}|{{ .Value }}", value=value) == f"{printed}|{printed}"


def test_alert_variables():
    out = alert("{{ $labels.instance }} {{ $labels.__name__ }} {{ $labels.missing }}|"
                "{{ $externalLabels.cluster }}|{{ $externalURL }}|{{ .ExternalURL }}",
                labels={"instance": "i1", "__name__": "up"}, ext_labels={"cluster": "eu"})
    assert out == "i1 up |eu|http://prom:9090|http://prom:9090"


def test_alert_template_errors_become_text():
    assert alert("{{ $value ") == (
        "<error expanding template: error parsing template __alert_HighLoad: template: "
        "__alert_HighLoad:1: unclosed action>")
    # the column counts the 112 characters Prometheus prepends
    assert len(ALERT_TEMPLATE_DEFS) == 112
    assert alert("{{ .Foo }}") == (
        '<error expanding template: error executing template __alert_HighLoad: template: '
        '__alert_HighLoad:1:115: executing "__alert_HighLoad" at <.Foo>: can\'t evaluate field '
        "Foo in type struct { Labels map[string]string; ExternalLabels map[string]string; "
        "ExternalURL string; Value interface {} }>")
    assert alert('{{ printf "%d" $value }}') == "%!d(float64=1)"


def test_alert_query_runs_at_the_evaluation_time():
    seen = []

    def q(expr, ts):
        seen.append((expr, ts))
        return [({"job": "a"}, 0.25)]

    out = expand_alert_template('{{ with query "up" }}{{ . | first | value | humanizePercentage }}'
                                "{{ end }} {{ now }}", {}, {}, "", 1.0, 1_700_000_123_456, q, "A")
    assert out == "25% 1.700000123456e+09"
    assert seen == [("up", 1_700_000_123_456)]


def test_alert_query_errors_are_reported():
    def q(expr, ts):
        raise ValueError("1:1: parse error: unexpected end of input")

    out = expand_alert_template('{{ query "(" }}', {}, {}, "", 1.0, 0, q, "A")
    assert out.endswith('at <query "(">: error calling query: 1:1: parse error: unexpected end of '
                        "input>")


def test_severity_from_value():
    t = '{{ if gt $value 0.5 }}critical{{ else if gt $value 0.1 }}warning{{ else }}info{{ end }}'
    assert [alert(t, value=v) for v in (0.9, 0.2, 0.05, math.nan)] == [
        "critical", "warning", "info", "critical"]


@pytest.mark.parametrize("text,uses", [
    ("no actions", set()), ("{{ $labels.job }} {{ $externalLabels.a }} {{ $externalURL }}", set()),
    ("{{ $value }}", {"value"}), ("{{ .Value | humanize }}", {"value"}), ("{{ . }}", {"value"}),
    ("{{ $.Value }}", {"value"}), ("{{ with $labels }}{{ .job }}{{ end }}", set()),
    ('{{ define "x" }}{{ . }}{{ end }}{{ template "x" $labels }}', {"value"}),
    ("{{ now }}", {"time"}), ('{{ query "up" | len }}', {"query", "time"}), ("{{ bad", set()),
])
def test_alert_template_uses(text, uses):
    assert alert_template_uses(text) == uses


@given(st.sampled_from(["{{ $labels.a }}", "x{{ $externalLabels.b }}", "{{ humanize 3 }}"]),
       st.floats(allow_nan=False), st.integers(0, 2**40))
def test_templates_that_use_neither_value_nor_time_ignore_them(text, v, t):
    assert alert_template_uses(text) == frozenset()
    base = alert(text, labels={"a": "A"}, ext_labels={"b": "B"})
    assert alert(text, labels={"a": "A"}, ext_labels={"b": "B"}, value=v, ts_ms=t) == base


def test_parsed_templates_are_cached():
    assert parse_template("x", "{{ 1 }}") is parse_template("x", "{{ 1 }}")


# ---- properties ------------------------------------------------------------------------------

finite = st.floats(allow_nan=False, allow_infinity=False)


@given(st.floats())
def test_value_is_go_percent_v(v):
    assert alert("{{ $value }}", value=v) == format_go_float(v)


@given(st.text().filter(lambda s: "{{" not in s))
def test_text_without_actions_is_unchanged(s):
    assert run(s) == s


@given(st.integers(-(2**63), 2**63 - 1))
def test_printf_integers(n):
    got = sprintf("%d|%x|%X|%o|%b|%+d|%08d", n, n, n, n, n, n, n)
    sign = "-" if n < 0 else ""
    a = abs(n)
    want = (f"{n}|{sign}{a:x}|{sign}{a:X}|{sign}{a:o}|{sign}{a:b}|{n:+d}|"
            + (f"-{a:07d}" if n < 0 else f"{n:08d}"))
    assert got == want


@given(finite, st.integers(0, 12))
def test_printf_fixed_and_exponent_precision(v, p):
    assert sprintf(f"%.{p}f", v) == f"{v:.{p}f}"
    e = f"{v:.{p}e}"
    assert sprintf(f"%.{p}e", v) == e  # Python also prints at least two exponent digits


@given(finite.filter(lambda v: v != 0 and 1e-20 < abs(v) < 1e20))
def test_humanize_round_trips_within_its_precision(v):
    out = run("{{ humanize . }}", v)
    m = re.fullmatch(r"(-?[0-9.]+(?:e[+-]\d+)?)([kMGTPEZYmunpfazy]?)", out)
    assert m, out
    scale = {"": 1, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15, "E": 1e18, "Z": 1e21,
             "Y": 1e24, "m": 1e-3, "u": 1e-6, "n": 1e-9, "p": 1e-12, "f": 1e-15, "a": 1e-18,
             "z": 1e-21, "y": 1e-24}[m.group(2)]
    assert math.isclose(float(m.group(1)) * scale, v, rel_tol=1e-3)


@given(finite, finite)
def test_comparisons_are_consistent(a, b):
    lt, eq, gt = B.lt(a, b), B.eq(a, b), B.gt(a, b)
    assert [lt, eq, gt].count(True) == 1
    assert B.le(a, b) == (lt or eq) and B.ge(a, b) == (gt or eq) and B.ne(a, b) == (not eq)


@given(finite)
def test_nan_is_unordered(a):
    nan = math.nan
    assert not B.lt(nan, a) and not B.le(nan, a) and not B.eq(nan, a)
    assert B.gt(nan, a) and B.ge(nan, a) and B.gt(a, nan) and B.ne(a, nan)


# templates built from a small grammar: printing a parsed tree gives text that parses to
# the same printed tree (Go's Node.String() is meant to be re-parseable)
_atoms = st.sampled_from(['.', '.a', '.a.b', '$', '$x', '1', '2.5', '"s"', 'true', 'nil'])
_funcs = st.sampled_from(["len", "print", "not", "html"])


@st.composite
def _pipeline(draw, depth=0):
    first = draw(_atoms)
    parts = [first if first != "nil" else "print nil"]
    for _ in range(draw(st.integers(0, 2))):
        fn = draw(_funcs)
        arg = draw(_atoms) if draw(st.booleans()) else ""
        parts.append(f"{fn} {arg}".strip() if fn != "not" else "not")
    if depth < 1 and draw(st.booleans()):
        parts[0] = "(" + draw(_pipeline(depth + 1)) + ")"
    return " | ".join(parts)


@st.composite
def _template(draw, depth=0):
    out = []
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["text", "action", "if", "range", "with"] if depth < 2
                                    else ["text", "action"]))
        if kind == "text":
            out.append(draw(st.sampled_from(["a", " ", "x\ny", "-"])))
        elif kind == "action":
            out.append("{{" + draw(_pipeline()) + "}}")
        else:
            body = draw(_template(depth + 1))
            els = "{{else}}" + draw(_template(depth + 1)) if draw(st.booleans()) else ""
            out.append("{{" + kind + " " + draw(_pipeline()) + "}}" + body + els + "{{end}}")
    return "".join(out)


@settings(max_examples=150, deadline=None)
@given(_template())
def test_printed_trees_reparse_to_themselves(text):
    text = "{{$x := 1}}" + text
    funcs = {"len", "print", "not", "html"}
    first = str(parse("t", text, funcs)["t"].root)
    assert str(parse("t", first, funcs)["t"].root) == first


@settings(max_examples=100, deadline=None)
@given(_template(), st.sampled_from([None, 1.5, "str", {"a": "b"}, [1, 2]]))
def test_execution_never_raises_anything_but_template_errors(text, data):
    try:
        run("{{$x := 1}}" + text, data)
    except TemplateExpandError:
        pass

