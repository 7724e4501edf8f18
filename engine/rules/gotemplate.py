"""Go ``text/template`` with Prometheus' template functions (3.14 ``template/template.go``).

Alert labels and annotations are Go templates. Prometheus expands each one with the
data ``{Labels, ExternalLabels, ExternalURL, Value}``, after prepending
``{{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}{{$externalURL :=
.ExternalURL}}{{$value := .Value}}``, under the name ``__alert_<alertname>``, with
``missingkey=zero`` (a missing label reads as ""). A failed expansion does not fail the
rule: the text becomes ``<error expanding template: ...>`` with Go's error.

The template language (``engine.rules.gotmpl``) is Go's: actions and pipelines,
``if``/``else if``/``with``/``else with``/``range`` (with ``break``/``continue`` and
``else``), ``define``/``template``/``block``, variables, ``{{-``/``-}}`` trimming,
comments, and the built-ins ``and or not len index slice print printf println html js
urlquery eq ne lt le gt ge``. The Prometheus functions: ``query first label value
strvalue sortByLabel args``; ``humanize humanize1024 humanizeDuration humanizePercentage
humanizeTimestamp toTime toDuration now parseDuration``; ``title toUpper toLower match
reReplaceAll stripPort stripDomain urlQueryEscape graphLink tableLink safeHtml``;
``pathPrefix externalURL``.

>>> expand_alert_template("{{ $labels.job }} at {{ $value }} ({{ $value | humanize }})",
...     {"job": "api"}, {}, "http://prom:9090", 1234567.0, 0, None, "HighLoad")
'api at 1.234567e+06 (1.235M)'
>>> expand_alert_template("{{ $value | humanizeDuration }} / {{ humanizePercentage 1.5 }}",
...     {}, {}, "", 3661.0, 0, None, "A")
'1h 1m 1s / 150%'
>>> print(expand_alert_template("{{ query \\"up\\" | first | value }}", {}, {}, "", 0.0, 0,
...     lambda q, t: [], "A").replace(": ", ":\\n "))
<error expanding template:
 error executing template __alert_A:
 template:
 __alert_A:1:128:
 executing "__alert_A" at <first>:
 error calling first:
 first() called on vector with no elements>
>>> parse_template("t", "{{ .x ")
Traceback (most recent call last):
  ...
engine.rules.gotemplate.TemplateError: template: t:1: unclosed action
"""

from __future__ import annotations

import functools
import ipaddress
import math
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import quote_plus, urlsplit

from ..errors import PromReplayError
from ..labels import format_go_float
from .gotmpl.builtins import BUILTINS
from .gotmpl.execute import TemplateExecError, TemplateSet, execute
from .gotmpl.gofmt import go_quote_string, sprintf
from .gotmpl.gotime import GoDuration, GoTime, ns_from_float_seconds
from .gotmpl.parse import TemplateParseError, Tree, parse, parse_go_float
from .gotmpl.values import (
    EMPTY_INTERFACE,
    HTML,
    NIL_DEREF,
    GoError,
    GoMap,
    GoMethod,
    GoPtr,
    GoStruct,
    QueryResult,
    type_of,
)

__all__ = [
    "ALERT_TEMPLATE_DEFS",
    "PROMETHEUS_FUNCTIONS",
    "QueryFn",
    "Template",
    "TemplateError",
    "TemplateExpandError",
    "alert_template_data",
    "alert_template_uses",
    "expand_alert_template",
    "parse_template",
    "prometheus_funcs",
]

#: what Prometheus prepends to every alert label/annotation template
ALERT_TEMPLATE_DEFS = (
    "{{$labels := .Labels}}"
    "{{$externalLabels := .ExternalLabels}}"
    "{{$externalURL := .ExternalURL}}"
    "{{$value := .Value}}"
)

#: ``query_fn(expr, ts_ms) -> [(labels, value), ...]``, an instant query
QueryFn = Callable[[str, int], Sequence[tuple[Mapping[str, str], float]]]


class TemplateError(PromReplayError):
    """A template that does not parse; ``str()`` is Go's message
    (``template: NAME:LINE: unclosed action``)."""


class TemplateExpandError(PromReplayError):
    """A template that failed to execute; ``str()`` is Go's message."""


# ---- Prometheus' functions ------------------------------------------------------------------

_SAMPLE_FIELDS = {"Labels": "map[string]string", "Value": EMPTY_INTERFACE}


def _sample(labels: Mapping[str, str], value: Any) -> GoPtr:
    return GoPtr(GoStruct("template.sample", {"Labels": GoMap(labels), "Value": value},
                          _SAMPLE_FIELDS), "template.sample")


def _deref(s: GoPtr) -> GoStruct:
    if s.is_nil:
        raise GoError(NIL_DEREF)
    return s.elem  # type: ignore[no-any-return]


def convert_to_float(i: Any) -> float:
    """prometheus/common templates.ConvertToFloat."""
    if isinstance(i, bool):
        raise GoError("can't convert bool to float")
    t = type_of(i)
    if t == "float64":
        return float(i)
    if t == "string":
        try:
            return parse_go_float(i)
        except ValueError as e:
            raise GoError(f"strconv.ParseFloat: parsing {go_quote_string(i)}: {e}") from None
    if t in ("int", "uint", "int64", "uint64"):
        return float(i)
    if t == "time.Duration":
        return float(GoDuration.go_methods["Seconds"].fn(i))
    raise GoError(f"can't convert {t} to float")


def _f4g(v: float) -> str:
    return sprintf("%.4g", v)


def humanize(i: Any) -> str:
    v = convert_to_float(i)
    if v == 0 or math.isnan(v) or math.isinf(v):
        return _f4g(v)
    if abs(v) >= 1:
        prefix = ""
        for p in ("k", "M", "G", "T", "P", "E", "Z", "Y"):
            if abs(v) < 1000:
                break
            prefix = p
            v /= 1000
        return _f4g(v) + prefix
    prefix = ""
    for p in ("m", "u", "n", "p", "f", "a", "z", "y"):
        if abs(v) >= 1:
            break
        prefix = p
        v *= 1000
    return _f4g(v) + prefix


def humanize1024(i: Any) -> str:
    v = convert_to_float(i)
    if abs(v) <= 1 or math.isnan(v) or math.isinf(v):
        return _f4g(v)
    prefix = ""
    for p in ("ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"):
        if abs(v) < 1024:
            break
        prefix = p
        v /= 1024
    return _f4g(v) + prefix


def humanize_duration(i: Any) -> str:
    v = convert_to_float(i)
    if math.isnan(v) or math.isinf(v):
        return _f4g(v)
    if v == 0:
        return _f4g(v) + "s"
    if abs(v) >= 1:
        sign = ""
        if v < 0:
            sign, v = "-", -v
        d = int(v) if v < 2.0**63 else -(1 << 63)
        seconds, minutes, hours, days = d % 60, (d // 60) % 60, (d // 3600) % 24, d // 86400
        if days != 0:
            return f"{sign}{days}d {hours}h {minutes}m {seconds}s"
        if hours != 0:
            return f"{sign}{hours}h {minutes}m {seconds}s"
        if minutes != 0:
            return f"{sign}{minutes}m {seconds}s"
        return f"{sign}{_f4g(v)}s"
    prefix = ""
    for p in ("m", "u", "n", "p", "f", "a", "z", "y"):
        if abs(v) >= 1:
            break
        prefix = p
        v *= 1000
    return f"{_f4g(v)}{prefix}s"


def humanize_percentage(i: Any) -> str:
    return _f4g(convert_to_float(i) * 100) + "%"


class _NaNOrInf(GoError):
    pass


def float_to_time(v: float) -> GoTime:
    """FloatToTime: seconds -> time (millisecond precision, as model.Time)."""
    if math.isnan(v) or math.isinf(v):
        raise _NaNOrInf("value is NaN or Inf")
    ts = v * 1e9
    if ts > 9.223372036854775807e18 or ts < -9.223372036854775808e18:
        raise GoError(f"{format_go_float(v)} cannot be represented as a nanoseconds timestamp "
                      "since it overflows int64")
    ns = int(ts)
    ms = abs(ns) // 10**6
    ms = -ms if ns < 0 else ms
    return GoTime(ms * 10**6)


def humanize_timestamp(i: Any) -> str:
    v = convert_to_float(i)
    try:
        return str(float_to_time(v))
    except _NaNOrInf:
        return _f4g(v)


def to_time(i: Any) -> GoPtr:
    return GoPtr(float_to_time(convert_to_float(i)), "time.Time")


def to_duration(i: Any) -> GoPtr:
    return GoPtr(GoDuration(ns_from_float_seconds(convert_to_float(i))), "time.Duration")


def parse_duration(d: str) -> float:
    from ..promql.parse import _duration_ns

    try:
        return _duration_ns(d) / 1e9
    except ValueError as e:
        raise GoError(str(e)) from None


def _split_host_port(hp: str) -> tuple[str, str]:
    """net.SplitHostPort; ValueError when it fails."""
    i = hp.rfind(":")
    if i < 0:
        raise ValueError("missing port in address")
    j = k = 0
    if hp.startswith("["):
        end = hp.find("]")
        if end < 0:
            raise ValueError("missing ']' in address")
        if end + 1 == len(hp):
            raise ValueError("missing port in address")
        if end + 1 != i:
            raise ValueError("too many colons in address" if hp[end + 1] == ":"
                             else "missing port in address")
        host = hp[1:end]
        j, k = 1, end + 1
    else:
        host = hp[:i]
        if ":" in host:
            raise ValueError("too many colons in address")
    if "[" in hp[j:]:
        raise ValueError("unexpected '[' in address")
    if "]" in hp[k:]:
        raise ValueError("unexpected ']' in address")
    return host, hp[i + 1:]


def strip_port(hp: str) -> str:
    try:
        return _split_host_port(hp)[0]
    except ValueError:
        return hp


def _is_ip(host: str) -> bool:
    if "%" in host:
        return False
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def strip_domain(hp: str) -> str:
    try:
        host, port = _split_host_port(hp)
    except ValueError:
        host, port = hp, ""
    if _is_ip(host):
        return hp
    host = host.split(".")[0]
    if port:
        return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    return host


def title(s: str) -> str:
    """cases.Title(language.AmericanEnglish, cases.NoLower): each word's first letter
    title-cased, the rest kept. Words are runs of letters, digits and marks, with ``'``
    ``.`` ``:`` ``_`` and ``’`` inside a word not breaking it."""
    out = []
    in_word = False
    prev = ""
    for i, c in enumerate(s):
        wordish = c.isalnum() or c == "_"
        mid = c in "'.:’·" and prev.isalnum() and i + 1 < len(s) and s[i + 1].isalnum()
        if wordish or (in_word and mid):
            out.append(c.title() if not in_word and c.isalpha() and len(c.title()) == 1 else c)
            in_word = True
        else:
            out.append(c)
            in_word = False
        prev = c
    return "".join(out)


def _case(s: str, upper: bool) -> str:
    """strings.ToUpper/ToLower: rune by rune (no multi-rune expansions such as ß -> SS)."""
    out = []
    for c in s:
        m = c.upper() if upper else c.lower()
        out.append(m if len(m) == 1 else c)
    return "".join(out)


_RE2_TO_GO = {
    "missing )": "missing closing )",
    "missing ]": "missing closing ]",
    "unexpected )": "unexpected )",
    "bad repetition operator": "invalid nested repetition operator",
    "no argument for repetition operator": "missing argument to repetition operator",
    "invalid escape sequence": "invalid escape sequence",
    "invalid character class range": "invalid character class range",
    "invalid character class": "invalid character class",
    "invalid named capture group": "invalid named capture",
    "invalid repetition size": "invalid repeat count",
    "missing argument to repetition operator": "missing argument to repetition operator",
    "bad named capture group": "invalid named capture",
    "duplicate capture group name": "duplicate capture group name",
}


@functools.lru_cache(maxsize=512)
def _compile_go_regexp(pattern: str) -> Any:
    """regexp.Compile (RE2 syntax); GoError with Go's ``error parsing regexp`` text."""
    import re2

    options = re2.Options()
    options.log_errors = False
    try:
        return re2.compile(pattern, options)
    except re2.error as e:
        raw = e.args[0].decode() if e.args and isinstance(e.args[0], bytes) else str(e)
        code, _, arg = raw.partition(": ")
        code = _RE2_TO_GO.get(code, code)
        raise GoError(f"error parsing regexp: {code}: `{arg or pattern}`") from None


def match(pattern: str, s: str) -> bool:
    return _compile_go_regexp(pattern).search(s) is not None


_GO_TEMPLATE_REF = re.compile(r"\$(?:\{([A-Za-z0-9_]*)\}|([A-Za-z0-9_]+))")


def _expand(repl: str, m: Any, groupindex: Mapping[str, int], ngroups: int) -> str:
    """regexp.Expand: $1, ${1}, $name, ${name}; $$ is a '$'; unknown groups are empty."""
    out = []
    i = 0
    while i < len(repl):
        j = repl.find("$", i)
        if j < 0:
            out.append(repl[i:])
            break
        out.append(repl[i:j])
        if repl.startswith("$$", j):
            out.append("$")
            i = j + 2
            continue
        mm = _GO_TEMPLATE_REF.match(repl, j)
        if not mm or (mm.group(1) is not None and mm.group(1) == ""):
            out.append("$")
            i = j + 1
            continue
        name = mm.group(1) if mm.group(1) is not None else mm.group(2)
        i = mm.end()
        if name.isdigit() and name.isascii():
            n = int(name)
            g = m.group(n) if n <= ngroups else None
        else:
            idx = groupindex.get(name)
            g = m.group(idx) if idx is not None else None
        out.append(g or "")
    return "".join(out)


def re_replace_all(pattern: str, repl: str, text: str) -> str:
    """regexp.MustCompile(pattern).ReplaceAllString(text, repl), Go's empty-match rules."""
    try:
        rx = _compile_go_regexp(pattern)
    except GoError as e:
        q = f"`{pattern}`" if "`" not in pattern else go_quote_string(pattern)
        raise GoError(f"regexp: Compile({q}): {e}") from None
    groupindex = dict(getattr(rx, "groupindex", {}) or {})
    ngroups = rx.groups
    out = []
    last_end = 0
    pos = 0
    n = len(text)
    while pos <= n:
        m = rx.search(text, pos)
        if m is None:
            break
        a0, a1 = m.span()
        out.append(text[last_end:a0])
        if a1 > last_end or a0 == 0:
            out.append(_expand(repl, m, groupindex, ngroups))
        last_end = a1
        if pos + 1 > a1:
            pos += 1
        else:
            pos = a1
    out.append(text[last_end:])
    return "".join(out)


def _query_result(query_fn: QueryFn | None, expr: str, ts_ms: int) -> QueryResult:
    if query_fn is None:
        raise GoError("query is not available here")
    try:
        rows = query_fn(expr, ts_ms)
    except GoError:
        raise
    except Exception as e:
        raise GoError(str(e)) from None
    return QueryResult(_sample(labels, value) for labels, value in rows)


def _first(v: QueryResult) -> GoPtr:
    if len(v) > 0:
        return v[0]  # type: ignore[no-any-return]
    raise GoError("first() called on vector with no elements")


def _sort_by_label(label: str, v: QueryResult) -> QueryResult:
    def key(s: GoPtr) -> str:
        return _deref(s).fields["Labels"].get(label, "") if not s.is_nil else ""

    v.sort(key=key)
    return v


def _link(expr: str, tab: int) -> str:
    return f"/graph?g0.expr={quote_plus(expr, safe='')}&g0.tab={tab}"


_S, _A, _Q, _P = "string", EMPTY_INTERFACE, "template.queryResult", "*template.sample"


def prometheus_funcs(query_fn: QueryFn | None = None, ts_ms: int = 0,
                     external_url: str = "") -> dict[str, GoMethod]:
    """Prometheus' template functions bound to one expansion (query, time, URL)."""
    path = urlsplit(external_url).path if external_url else ""
    return {
        **_STATIC_FUNCS,
        "query": GoMethod((_S,), lambda q: _query_result(query_fn, q, ts_ms)),
        "now": GoMethod((), lambda: ts_ms / 1000.0),
        "pathPrefix": GoMethod((), lambda: path),
        "externalURL": GoMethod((), lambda: external_url),
    }


def _static_funcs() -> dict[str, GoMethod]:
    """The functions that do not depend on the expansion."""
    S, A, Q, P = _S, _A, _Q, _P
    return {
        "first": GoMethod((Q,), _first),
        "label": GoMethod((S, P), lambda name, s: _deref(s).fields["Labels"].get(name, "")),
        "value": GoMethod((P,), lambda s: _deref(s).fields["Value"]),
        "strvalue": GoMethod((P,), lambda s: _deref(s).fields["Labels"].get("__value__", "")),
        "args": GoMethod((A,), lambda *a: GoMap({f"arg{i}": x for i, x in enumerate(a)},
                                                 elem=EMPTY_INTERFACE), variadic=True),
        "reReplaceAll": GoMethod((S, S, S), re_replace_all),
        "safeHtml": GoMethod((S,), HTML),
        "match": GoMethod((S, S), match),
        "title": GoMethod((S,), title),
        "toUpper": GoMethod((S,), lambda s: _case(s, True)),
        "toLower": GoMethod((S,), lambda s: _case(s, False)),
        "graphLink": GoMethod((S,), lambda e: _link(e, 0)),
        "tableLink": GoMethod((S,), lambda e: _link(e, 1)),
        "sortByLabel": GoMethod((S, Q), _sort_by_label),
        "stripPort": GoMethod((S,), strip_port),
        "stripDomain": GoMethod((S,), strip_domain),
        "humanize": GoMethod((A,), humanize),
        "humanize1024": GoMethod((A,), humanize1024),
        "humanizeDuration": GoMethod((A,), humanize_duration),
        "humanizePercentage": GoMethod((A,), humanize_percentage),
        "humanizeTimestamp": GoMethod((A,), humanize_timestamp),
        "toTime": GoMethod((A,), to_time),
        "toDuration": GoMethod((A,), to_duration),
        "parseDuration": GoMethod((S,), parse_duration),
        "urlQueryEscape": GoMethod((S,), lambda s: quote_plus(s, safe="")),
    }


_STATIC_FUNCS = _static_funcs()


#: the names a Prometheus template may call (checked when it is parsed)
PROMETHEUS_FUNCTIONS = frozenset(prometheus_funcs()) | frozenset(BUILTINS)


# ---- templates --------------------------------------------------------------------------------


class Template:
    """A parsed template set: the named template plus its ``define``/``block``s."""

    def __init__(self, name: str, trees: dict[str, Tree]) -> None:
        self.name = name
        self.trees = trees

    def execute(self, data: Any, funcs: Mapping[str, GoMethod] | None = None,
                missingkey: str = "zero") -> str:
        """Run the template over ``data``; raises :class:`TemplateExpandError`."""
        tset = TemplateSet(self.trees, funcs if funcs is not None else prometheus_funcs(),
                           missingkey)
        try:
            return execute(tset, self.name, data)
        except TemplateExecError as e:
            raise TemplateExpandError(str(e)) from None
        except RecursionError:
            raise TemplateExpandError(
                f"template: {self.name}: exceeded maximum template depth (100000)") from None


@functools.lru_cache(maxsize=4096)
def _parse_cached(name: str, text: str) -> Template | str:
    try:
        return Template(name, parse(name, text, PROMETHEUS_FUNCTIONS))
    except TemplateParseError as e:
        return str(e)
    except RecursionError:
        return f"template: {name}:1: max expression depth exceeded"


def parse_template(name: str, text: str) -> Template:
    """Parse ``text`` as template ``name`` (Prometheus' functions available).

    Raises :class:`TemplateError` with Go's message on a syntax error. Parsed templates
    are cached: parsing the same text twice returns the same object.
    """
    t = _parse_cached(name, text)
    if isinstance(t, str):
        raise TemplateError(t)
    return t


def alert_template_data(labels: Mapping[str, str], external_labels: Mapping[str, str],
                        external_url: str, value: Any) -> GoStruct:
    """template.AlertTemplateData: the ``.`` of an alert template."""
    return GoStruct(
        "struct { Labels map[string]string; ExternalLabels map[string]string; "
        "ExternalURL string; Value interface {} }",
        {"Labels": GoMap(labels), "ExternalLabels": GoMap(external_labels),
         "ExternalURL": external_url, "Value": value},
        {"Labels": "map[string]string", "ExternalLabels": "map[string]string",
         "ExternalURL": "string", "Value": EMPTY_INTERFACE},
    )


@functools.lru_cache(maxsize=4096)
def alert_template_uses(text: str) -> frozenset[str]:
    """What an alert template's output can depend on besides the labels, for callers
    that cache expansions: ``"value"`` (``$value``, ``.Value``, or ``.``/``$`` as a
    whole), ``"time"`` (``now``, ``query``), ``"query"`` (``query``). Text without
    ``{{`` depends on nothing; a template that does not parse depends on nothing either
    (its expansion is always the same error).

    >>> sorted(alert_template_uses("{{ $labels.job }}")), sorted(alert_template_uses(
    ...     "{{ $value | humanize }} {{ with query \\"up\\" }}{{ . }}{{ end }}"))
    ([], ['query', 'time', 'value'])
    """
    from .gotmpl import nodes as N

    if "{{" not in text:
        return frozenset()
    try:
        tmpl = parse_template("t", ALERT_TEMPLATE_DEFS + text)
    except TemplateError:
        return frozenset()
    uses: set[str] = set()
    start = len(ALERT_TEMPLATE_DEFS)

    def visit(n: object, user: bool) -> None:
        if isinstance(n, N.VariableNode) and user:
            if n.ident[0] == "$value" or (n.ident == ["$"]) or (
                    n.ident[0] == "$" and n.ident[1:2] == ["Value"]):
                uses.add("value")
        elif isinstance(n, N.FieldNode) and user and n.ident[:1] == ["Value"]:
            uses.add("value")
        elif isinstance(n, N.DotNode) and user:
            uses.add("value")
        elif isinstance(n, N.IdentifierNode):
            if n.ident == "query":
                uses.update(("query", "time"))
            elif n.ident == "now":
                uses.add("time")
        for child in _children(n):
            visit(child, user or getattr(child, "pos", 0) >= start)

    for name, tree in tmpl.trees.items():
        visit(tree.root, name != tmpl.name)
    return frozenset(uses)


def _children(n: object) -> list[object]:
    from .gotmpl import nodes as N

    if isinstance(n, N.ListNode):
        return list(n.nodes)
    if isinstance(n, N.ActionNode):
        return [n.pipe]
    if isinstance(n, N.PipeNode):
        return [*n.decl, *n.cmds]
    if isinstance(n, N.CommandNode):
        return list(n.args)
    if isinstance(n, N.ChainNode):
        return [n.node]
    if isinstance(n, N.BranchNode):
        return [n.pipe, n.list] + ([n.else_list] if n.else_list is not None else [])
    if isinstance(n, N.TemplateNode):
        return [n.pipe] if n.pipe is not None else []
    return []


def expand_alert_template(
    text: str,
    labels: Mapping[str, str],
    external_labels: Mapping[str, str],
    external_url: str | None,
    value: float,
    ts_ms: int,
    query_fn: QueryFn | None,
    name: str,
) -> str:
    """Expand one alert label or annotation template as ``rules/alerting.go`` does.

    ``name`` is the alerting rule's name (the template is ``__alert_<name>``); ``ts_ms``
    the evaluation time (``query`` runs at it, ``now`` returns it); ``query_fn`` runs
    an instant query. Errors do not raise: the result is
    ``<error expanding template: ...>``.
    """
    tname = "__alert_" + name
    url = external_url or ""
    try:
        tmpl = parse_template(tname, ALERT_TEMPLATE_DEFS + text)
    except TemplateError as e:
        return f"<error expanding template: error parsing template {tname}: {e}>"
    data = alert_template_data(labels, external_labels, url, float(value))
    try:
        return tmpl.execute(data, prometheus_funcs(query_fn, ts_ms, url))
    except TemplateExpandError as e:
        return f"<error expanding template: error executing template {tname}: {e}>"
    except Exception as e:  # a bug of ours must not fail the rule, as a Go panic would not
        return f"<error expanding template: panic expanding template {tname}: {e}>"


