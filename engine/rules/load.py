"""Load rule files as Prometheus 3.14 does (``model/rulefmt/rulefmt.go``).

Accepted inputs, in any mix:

- Prometheus rule files (``groups:``);
- Kubernetes ``PrometheusRule`` objects (``apiVersion: monitoring.coreos.com/v1``,
  ``spec.groups``), a ``List`` of them, and multi-document YAML; each object counts as
  its own rule file (group names must be unique within it), as prometheus-operator
  writes one file per object. Objects of other kinds are skipped;
- files, directories (every ``*.yml``/``*.yaml``/``*.json`` below them, sorted) and
  globs (``**`` allowed).

Validation follows ``rulefmt.Parse``: the document is decoded twice with yaml.v3's
rules (once strictly, unknown fields being errors unless ``ignore_unknown_fields``, once
for positions), then each group and rule is checked. Error texts are Prometheus' own,
each prefixed with the file as ``promtool check rules`` prints them::

    rules.yml: yaml: unmarshal errors:
      line 7: field namespace not found in type rulefmt.RuleGroup
    rules.yml: 7:15: group "g", rule 1, "x": could not parse expression: 1:7: parse error: ...
    rules.yml: 4:5: groupname: "g" is repeated in the same file

Known differences from Prometheus, on purpose: every document of a multi-document file
is read (Prometheus reads the first only); YAML syntax errors carry libyaml's text, which
is yaml.v3's in most cases but not all; an alias node reports the position of the node
it points to.

>>> rs = load_text('''
... groups:
... - name: g
...   rules:
...   - record: job:up:sum
...     expr: sum by (job) (up)
... ''', file="example.yml")
>>> [(g.name, g.file, [r.name for r in g.rules]) for g in rs.groups]
[('g', 'example.yml', ['job:up:sum'])]
>>> chk = check_text("groups:\\n- name: g\\n  rules:\\n  - record: x\\n    expr: 'a +'\\n", "r.yml")
>>> print(chk.errors[0].replace(": ", ":\\n "))
r.yml:
 5:11:
 group "g", rule 1, "x":
 could not parse expression:
 1:4:
 parse error:
 unexpected end of input
"""

from __future__ import annotations

import functools
import glob as globmod
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import yaml

from ..errors import ParseError
from ..gostrconv import quote as go_quote
from ..promql.nodes import Expr
from ..promql.parse import _duration_ns, parse_expr
from .model import AlertingRule, Group, RecordingRule, Rule, RuleFileError, RuleSet

__all__ = [
    "FileCheck",
    "check_file",
    "check_text",
    "expand_paths",
    "load",
    "load_text",
]

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_RULE_FILE_SUFFIXES = (".yml", ".yaml", ".json")


# ---- public API -----------------------------------------------------------------------


@dataclass
class FileCheck:
    """What loading one file found: its groups (empty unless the file is valid) and its
    errors, each a line as ``promtool check rules`` prints it."""

    file: str
    groups: list[Group] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def n_rules(self) -> int:
        return sum(len(g.rules) for g in self.groups)


def load(
    *paths: str | os.PathLike[str],
    ignore_unknown_fields: bool = False,
    rule_file_path: str | None = None,
    experimental: bool = False,
) -> RuleSet:
    """Load rule files, directories and globs into one :class:`RuleSet`.

    Raises :class:`RuleFileError` listing every problem of every file (file order).
    ``rule_file_path`` replaces each group's ``file`` (the path a server loaded the file
    from, which the ``--align server`` slot hash depends on). ``experimental`` enables
    the PromQL features Prometheus keeps behind feature flags.
    """
    files = expand_paths(paths)
    groups: list[Group] = []
    errors: list[str] = []
    first_bad: str | None = None
    for f in files:
        chk = check_file(f, ignore_unknown_fields=ignore_unknown_fields,
                         experimental=experimental)
        if chk.errors:
            errors.extend(chk.errors)
            first_bad = first_bad or f
        groups.extend(chk.groups)
    if errors:
        raise RuleFileError(errors, file=first_bad)
    if rule_file_path is not None:
        groups = [_with_file(g, rule_file_path) for g in groups]
    return RuleSet(groups)


def load_text(
    text: str,
    file: str = "<string>",
    *,
    ignore_unknown_fields: bool = False,
    experimental: bool = False,
) -> RuleSet:
    """Like :func:`load`, for YAML text; ``file`` names it in errors and groups."""
    chk = check_text(text, file, ignore_unknown_fields=ignore_unknown_fields,
                     experimental=experimental)
    if chk.errors:
        raise RuleFileError(chk.errors, file=file)
    return RuleSet(chk.groups)


def check_file(
    path: str, *, ignore_unknown_fields: bool = False, experimental: bool = False
) -> FileCheck:
    """Load and validate one file; never raises for bad content."""
    try:
        with open(path, "rb") as fh:
            raw = fh.read()
    except OSError as e:
        reason = e.strerror.lower() if e.strerror else str(e)
        if isinstance(e, FileNotFoundError):
            reason = "no such file or directory"
        elif isinstance(e, IsADirectoryError):
            reason = "is a directory"
        return FileCheck(path, errors=[f"{path}: open {path}: {reason}"])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return FileCheck(path, errors=[f"{path}: yaml: invalid leading UTF-8 octet"])
    return check_text(text, path, ignore_unknown_fields=ignore_unknown_fields,
                      experimental=experimental)


def check_text(
    text: str, file: str, *, ignore_unknown_fields: bool = False, experimental: bool = False
) -> FileCheck:
    """Validate YAML text as the rule file ``file``; never raises for bad content."""
    out = FileCheck(file)
    try:
        docs = list(yaml.compose_all(text, Loader=_Loader))
    except yaml.YAMLError as e:
        out.errors.append(f"{file}: {_yaml_syntax_error(e)}")
        return out
    units, skipped = _rule_units(docs)
    if not units and skipped:
        out.errors.append(f"{file}: no rule groups and no PrometheusRule objects found "
                          f"(found {', '.join(sorted(set(skipped)))})")
        return out
    for unit in units:
        groups, errs = _parse_unit(unit, file, ignore_unknown_fields, experimental)
        out.errors.extend(f"{file}: {e}" for e in errs)
        if not errs:
            out.groups.extend(groups)
    if out.errors:
        out.groups = []
    return out


def expand_paths(paths: Iterable[str | os.PathLike[str]]) -> list[str]:
    """Files named by ``paths``: files as given, directories walked (``*.yml``,
    ``*.yaml``, ``*.json``, sorted), globs expanded (sorted). A path that names nothing
    is kept, so that loading it reports ``no such file or directory``; a glob that
    matches nothing raises :class:`RuleFileError`.

    >>> expand_paths(["missing.yml"])
    ['missing.yml']
    """
    out: list[str] = []
    for p in paths:
        s = os.fspath(p)
        if os.path.isdir(s):
            found = []
            for root, dirs, files in os.walk(s):
                dirs.sort()
                found.extend(os.path.join(root, f) for f in files
                             if f.endswith(_RULE_FILE_SUFFIXES))
            out.extend(sorted(found))
        elif not os.path.exists(s) and globmod.has_magic(s):
            matches = sorted(m for m in globmod.glob(s, recursive=True) if os.path.isfile(m))
            if not matches:
                raise RuleFileError([f"{s}: no rule files match this pattern"], file=s)
            out.extend(matches)
        else:
            out.append(s)
    seen: set[str] = set()
    uniq = []
    for f in out:
        if f not in seen:
            seen.add(f)
            uniq.append(f)
    return uniq


# ---- YAML documents -> rule file units -------------------------------------------------


@dataclass
class _Unit:
    """One rule file's worth of YAML: a plain ``groups:`` document, or the ``spec`` of a
    PrometheusRule object."""

    node: yaml.Node | None  # the mapping holding "groups" (None: empty document)
    k8s: bool = False


def _scalar(node: yaml.Node | None) -> str | None:
    return node.value if isinstance(node, yaml.ScalarNode) else None


def _get(node: yaml.MappingNode, key: str) -> yaml.Node | None:
    for k, v in node.value:
        if _scalar(k) == key:
            return v
    return None


def _rule_units(docs: Sequence[yaml.Node]) -> tuple[list[_Unit], list[str]]:
    units: list[_Unit] = []
    skipped: list[str] = []

    def visit(node: yaml.Node | None, top: bool) -> None:
        if node is None or (isinstance(node, yaml.ScalarNode) and _is_null(node)):
            if top:
                units.append(_Unit(None))
            return
        if isinstance(node, yaml.MappingNode) and _get(node, "apiVersion") is not None:
            kind = _scalar(_get(node, "kind")) or ""
            if kind == "PrometheusRule":
                spec = _get(node, "spec")
                units.append(_Unit(spec if isinstance(spec, yaml.MappingNode) else None, k8s=True))
            elif kind.endswith("List"):
                items = _get(node, "items")
                if isinstance(items, yaml.SequenceNode):
                    for item in items.value:
                        visit(item, False)
            else:
                skipped.append(kind or "an object without kind")
            return
        units.append(_Unit(node))

    for d in docs:
        visit(d, True)
    return units, skipped


# ---- yaml.v3 decoding -------------------------------------------------------------------

_NULLS = {"", "~", "null", "Null", "NULL"}
_YAML_FLOAT = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")


def _is_null(n: yaml.Node) -> bool:
    return isinstance(n, yaml.ScalarNode) and not n.style and n.value in _NULLS


def _short_tag(n: yaml.Node) -> str:
    """yaml.v3's resolved short tag of a node, for error messages."""
    if isinstance(n, yaml.SequenceNode):
        return "!!seq"
    if isinstance(n, yaml.MappingNode):
        return "!!map"
    if n.style:  # quoted or block scalar
        return "!!str"
    v = n.value
    if v in _NULLS:
        return "!!null"
    if v in ("true", "True", "TRUE", "false", "False", "FALSE"):
        return "!!bool"
    if _go_int(v) is not None:
        return "!!int"
    plain = v.replace("_", "")
    if _YAML_FLOAT.match(plain) or plain.lower() in (".inf", "+.inf", "-.inf", ".nan"):
        return "!!float"
    return "!!str"


def _go_int(v: str) -> int | None:
    """strconv.ParseInt(v without underscores, 0, 64), as yaml.v3 resolves ints."""
    s = v.replace("_", "")
    m = re.fullmatch(r"([-+]?)(0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)", s)
    if not m:
        return None
    sign, body = m.groups()
    low = body.lower()
    if low.startswith("0x"):
        n = int(low[2:], 16)
    elif low.startswith("0o"):
        n = int(low[2:], 8)
    elif low.startswith("0b"):
        n = int(low[2:], 2)
    else:
        n = int(body, 8) if len(body) > 1 else int(body)
    n = -n if sign == "-" else n
    return n if -(1 << 63) <= n < (1 << 63) else None


def _line(n: yaml.Node) -> int:
    return n.start_mark.line + 1


def _pos(n: yaml.Node | None) -> tuple[int, int]:
    """yaml.v3 Node (Line, Column), 1-based; (0, 0) for an absent node."""
    if n is None:
        return (0, 0)
    return (n.start_mark.line + 1, n.start_mark.column + 1)


class _Fatal(Exception):
    """A non-type error: yaml.v3 stops decoding and returns it alone."""


# Go type names per decoding pass: pass 1 decodes into rulefmt.RuleGroups (strict when
# asked), pass 2 into rulefmt.ruleGroups (the yaml.Node variant, never strict).
_TYPES = {
    1: {"top": "rulefmt.RuleGroups", "groups": "[]rulefmt.RuleGroup",
        "group": "rulefmt.RuleGroup", "rules": "[]rulefmt.Rule", "rule": "rulefmt.Rule"},
    2: {"top": "rulefmt.ruleGroups", "groups": "[]rulefmt.RuleGroupNode",
        "group": "rulefmt.RuleGroupNode", "rules": "[]rulefmt.RuleNode",
        "rule": "rulefmt.RuleNode"},
}
_GROUP_FIELDS = ("name", "interval", "query_offset", "limit", "rules", "labels")
_RULE_FIELDS = ("record", "alert", "expr", "for", "keep_firing_for", "labels", "annotations")


@dataclass
class _RawRule:
    node: yaml.MappingNode
    fields: dict[str, yaml.Node]
    record: str = ""
    alert: str = ""
    expr: str = ""
    for_ms: int = 0
    keep_firing_for_ms: int = 0
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)


@dataclass
class _RawGroup:
    node: yaml.MappingNode
    name: str = ""
    interval_ms: int = 0
    query_offset_ms: int | None = None
    limit: int = 0
    labels: dict[str, str] = field(default_factory=dict)
    rules: list[_RawRule] = field(default_factory=list)


class _Decoder:
    """Decode the rule-file schema from PyYAML nodes with yaml.v3's rules and messages."""

    def __init__(self, pass_: int, known_fields: bool, drop_group_keys: tuple[str, ...] = ()):
        self.types = _TYPES[pass_]
        self.known = known_fields
        self.drop = drop_group_keys
        self.terrors: list[str] = []

    # -- helpers
    def terror(self, n: yaml.Node, into: str) -> None:
        tag = _short_tag(n)
        value = ""
        if tag not in ("!!seq", "!!map"):
            raw = n.value
            value = f" `{raw[:7]}...`" if len(raw.encode()) > 10 else f" `{raw}`"
        self.terrors.append(f"line {_line(n)}: cannot unmarshal {tag}{value} into {into}")

    def pairs(self, n: yaml.MappingNode) -> list[tuple[yaml.Node, yaml.Node]] | None:
        """Key/value pairs with merges applied, or None after duplicate-key errors."""
        explicit = [(k, v) for k, v in n.value if not (_scalar(k) == "<<" and not k.style)]
        before = len(self.terrors)
        keys = [k.value for k, _ in explicit if isinstance(k, yaml.ScalarNode)]
        has_duplicates = len(set(keys)) != len(keys)
        for i, (ki, _) in enumerate(explicit if has_duplicates else ()):
            for kj, _ in explicit[i + 1:]:
                if (isinstance(ki, yaml.ScalarNode) and isinstance(kj, yaml.ScalarNode)
                        and ki.value == kj.value):
                    self.terrors.append(f"line {_line(kj)}: mapping key {go_quote(kj.value)} "
                                        f"already defined at line {_line(ki)}")
        if len(self.terrors) > before:
            return None
        out = list(explicit)
        have = {_scalar(k) for k, _ in explicit}
        for k, v in n.value:
            if _scalar(k) == "<<" and not k.style:
                sources = v.value if isinstance(v, yaml.SequenceNode) else [v]
                for src in sources:
                    if isinstance(src, yaml.MappingNode):
                        for mk, mv in src.value:
                            if _scalar(mk) not in have:
                                have.add(_scalar(mk))
                                out.append((mk, mv))
        return out

    def string(self, n: yaml.Node) -> str:
        if isinstance(n, yaml.ScalarNode):
            return "" if _is_null(n) else n.value
        self.terror(n, "string")
        return ""

    def duration(self, n: yaml.Node) -> int:
        """model.Duration (milliseconds): any scalar, then model.ParseDuration."""
        if _is_null(n):
            return 0
        if not isinstance(n, yaml.ScalarNode):
            self.terror(n, "string")
            return 0
        try:
            return _duration_ns(n.value) // 10**6
        except ValueError as e:
            raise _Fatal(str(e)) from None

    def integer(self, n: yaml.Node) -> int:
        if _is_null(n):
            return 0
        if isinstance(n, yaml.ScalarNode) and not n.style:
            v = _go_int(n.value)
            if v is not None:
                return v
            plain = n.value.replace("_", "")
            if _YAML_FLOAT.match(plain):
                f = float(plain)
                if abs(f) < 2.0**63:
                    return int(f)
        self.terror(n, "int")
        return 0

    def strmap(self, n: yaml.Node) -> dict[str, str]:
        if _is_null(n):
            return {}
        if not isinstance(n, yaml.MappingNode):
            self.terror(n, "map[string]string")
            return {}
        pairs = self.pairs(n)
        out: dict[str, str] = {}
        for k, v in pairs or []:
            key = self.string(k)
            out[key] = self.string(v)
        return out

    def fields(self, n: yaml.MappingNode, known: Sequence[str], typ: str,
               drop: tuple[str, ...] = ()) -> dict[str, yaml.Node] | None:
        pairs = self.pairs(n)
        if pairs is None:
            return None
        out: dict[str, yaml.Node] = {}
        for k, v in pairs:
            name = self.string(k) if isinstance(k, yaml.ScalarNode) else None
            if name is None:
                self.terror(k, "string")
                continue
            if name in drop:
                continue
            if name in known:
                if name in out:
                    self.terrors.append(f"line {_line(k)}: field {name} already set in type {typ}")
                    continue
                out[name] = v
            elif self.known:
                self.terrors.append(f"line {_line(k)}: field {name} not found in type {typ}")
        return out

    # -- schema
    def top(self, n: yaml.Node, only_groups: bool = False) -> list[_RawGroup]:
        if _is_null(n):
            return []
        if not isinstance(n, yaml.MappingNode):
            self.terror(n, self.types["top"])
            return []
        if only_groups:
            g = _get(n, "groups")
            return self.groups(g) if g is not None else []
        f = self.fields(n, ("groups",), self.types["top"])
        if not f or "groups" not in f:
            return []
        return self.groups(f["groups"])

    def groups(self, n: yaml.Node) -> list[_RawGroup]:
        if _is_null(n):
            return []
        if not isinstance(n, yaml.SequenceNode):
            self.terror(n, self.types["groups"])
            return []
        out = []
        for item in n.value:
            g = self.group(item)
            if g is not None:
                out.append(g)
        return out

    def group(self, n: yaml.Node) -> _RawGroup | None:
        if _is_null(n):
            return _RawGroup(node=n)  # type: ignore[arg-type]
        if not isinstance(n, yaml.MappingNode):
            self.terror(n, self.types["group"])
            return None
        g = _RawGroup(node=n)
        f = self.fields(n, _GROUP_FIELDS, self.types["group"], self.drop)
        if f is None:
            return g
        if "name" in f:
            g.name = self.string(f["name"])
        if "interval" in f:
            g.interval_ms = self.duration(f["interval"])
        if "query_offset" in f and not _is_null(f["query_offset"]):
            g.query_offset_ms = self.duration(f["query_offset"])
        if "limit" in f:
            g.limit = self.integer(f["limit"])
        if "rules" in f:
            g.rules = self.rules(f["rules"])
        if "labels" in f:
            g.labels = self.strmap(f["labels"])
        return g

    def rules(self, n: yaml.Node) -> list[_RawRule]:
        if _is_null(n):
            return []
        if not isinstance(n, yaml.SequenceNode):
            self.terror(n, self.types["rules"])
            return []
        out = []
        for item in n.value:
            if _is_null(item):
                out.append(_RawRule(node=item, fields={}))  # type: ignore[arg-type]
            elif not isinstance(item, yaml.MappingNode):
                self.terror(item, self.types["rule"])
            else:
                out.append(self.rule(item))
        return out

    def rule(self, n: yaml.MappingNode) -> _RawRule:
        f = self.fields(n, _RULE_FIELDS, self.types["rule"]) or {}
        r = _RawRule(node=n, fields=f)
        node_typed = self.types["rule"].endswith("Node")  # record/alert/expr are yaml.Node
        for key in ("record", "alert", "expr"):
            if key in f:
                if node_typed:
                    val = f[key].value if isinstance(f[key], yaml.ScalarNode) else ""
                else:
                    val = self.string(f[key])
                setattr(r, key, "" if _is_null(f[key]) else val)
        if "for" in f:
            r.for_ms = self.duration(f["for"])
        if "keep_firing_for" in f:
            r.keep_firing_for_ms = self.duration(f["keep_firing_for"])
        if "labels" in f:
            r.labels = self.strmap(f["labels"])
        if "annotations" in f:
            r.annotations = self.strmap(f["annotations"])
        return r

    def run(self, unit: _Unit) -> tuple[list[_RawGroup], str | None]:
        """Decode; the error text yaml.v3 would return (or None)."""
        try:
            groups = self.top(unit.node, only_groups=unit.k8s) if unit.node is not None else []
        except _Fatal as e:
            return [], str(e)
        if self.terrors:
            return groups, "yaml: unmarshal errors:\n  " + "\n  ".join(self.terrors)
        return groups, None


# ---- validation (rulefmt.RuleGroups.Validate) -------------------------------------------


def _parse_unit(unit: _Unit, file: str, ignore_unknown_fields: bool,
                experimental: bool) -> tuple[list[Group], list[str]]:
    drop = ("partial_response_strategy",) if unit.k8s else ()
    raw, err1 = _Decoder(1, not ignore_unknown_fields, drop).run(unit)
    _, err2 = _Decoder(2, False, drop).run(unit)
    errs = [e for e in (err1, err2) if e is not None]
    if errs:
        return [], errs
    return _validate(raw, file, experimental)


def _valid_name(name: str) -> bool:
    """model.UTF8Validation: non-empty valid UTF-8 (YAML text is always valid UTF-8)."""
    return bool(name)


def _validate(raw: list[_RawGroup], file: str, experimental: bool) -> tuple[list[Group], list[str]]:
    errs: list[str] = []
    seen: set[str] = set()
    groups: list[Group] = []
    for g in raw:
        line, col = _pos(g.node if isinstance(g.node, yaml.Node) else None)
        if g.name == "":
            errs.append(f"{line}:{col}: Groupname must not be empty")
        if g.name in seen:
            errs.append(f'{line}:{col}: groupname: "{g.name}" is repeated in the same file')
        for k in g.labels:
            if not _valid_name(k) or k == "__name__":
                errs.append(f"invalid label name: {k}")
        seen.add(g.name)
        rules: list[Rule] = []
        for i, r in enumerate(g.rules):
            node_errs, rule = _validate_rule(r, i, experimental)
            rule_name = r.alert if r.alert != "" else r.record
            for where, msg in node_errs:
                prefix = f"group {go_quote(g.name)}, rule {i + 1}, {go_quote(rule_name)}: {msg}"
                errs.append(f"{where}: {prefix}" if where else prefix)
            if rule is not None:
                rules.append(rule)
        groups.append(Group(
            name=g.name, file=file,
            interval_ms=g.interval_ms or None, limit=g.limit,
            query_offset_ms=g.query_offset_ms, labels=dict(g.labels), rules=tuple(rules),
        ))
    return (groups if not errs else []), errs


def _where(*nodes: yaml.Node | None) -> str:
    return ": ".join(f"{ln}:{col}" for ln, col in (_pos(n) for n in nodes))


def _validate_rule(r: _RawRule, index: int,
                   experimental: bool) -> tuple[list[tuple[str, str]], Rule | None]:
    """rulefmt.Rule.Validate: (position, message) pairs, and the rule when valid."""
    out: list[tuple[str, str]] = []
    f = r.fields
    rec_node, alert_node, expr_node = f.get("record"), f.get("alert"), f.get("expr")
    if r.record and r.alert:
        out.append((_where(rec_node, alert_node), "only one of 'record' and 'alert' must be set"))
    if not r.record and not r.alert:
        out.append((_where(rec_node, alert_node), "one of 'record' or 'alert' must be set"))
    node = None
    if r.expr == "":
        out.append((_where(expr_node), "field 'expr' must be set in rule"))
    else:
        parsed = _parse_expr_cached(r.expr, experimental)
        if isinstance(parsed, str):
            out.append((_where(expr_node), f"could not parse expression: {parsed}"))
        else:
            node = parsed
    if r.record:
        if r.annotations:
            out.append((_where(rec_node), "invalid field 'annotations' in recording rule"))
        if r.for_ms:
            out.append((_where(rec_node), "invalid field 'for' in recording rule"))
        if r.keep_firing_for_ms:
            out.append((_where(rec_node), "invalid field 'keep_firing_for' in recording rule"))
        if not _valid_name(r.record):
            out.append((_where(rec_node), f"invalid recording rule name: {r.record}"))
        if "{" in r.record or "}" in r.record:
            out.append((_where(rec_node), "braces present in the recording rule name; "
                        f"should it be in expr?: {r.record}"))
    for k in r.labels:
        if not _valid_name(k) or k == "__name__":
            out.append(("", f"invalid label name: {k}"))
    for k in r.annotations:
        if not _valid_name(k):
            out.append(("", f"invalid annotation name: {k}"))
    if r.alert:
        out.extend(("", m) for m in _template_errors(r))
    if out or node is None:
        return out, None
    if r.alert:
        return out, AlertingRule(
            alert=r.alert, expr=r.expr, node=node, for_ms=r.for_ms,
            keep_firing_for_ms=r.keep_firing_for_ms, labels=dict(r.labels),
            annotations=dict(r.annotations), index=index)
    return out, RecordingRule(record=r.record, expr=r.expr, node=node,
                              labels=dict(r.labels), index=index)


@functools.lru_cache(maxsize=8192)
def _parse_expr_cached(expr: str, experimental: bool) -> Expr | str:
    """The parsed expression, or the parse error's text (syntax trees are immutable, so
    rules with the same expression may share one)."""
    try:
        return parse_expr(expr, experimental=experimental)
    except ParseError as e:
        return str(e)


def _template_errors(r: _RawRule) -> list[str]:
    """testTemplateParsing: every label and annotation template must parse."""
    from .gotemplate import ALERT_TEMPLATE_DEFS, TemplateError, parse_template

    errs = []
    name = "__alert_" + r.alert
    for what, items in (("label", r.labels), ("annotation", r.annotations)):
        for k, v in items.items():
            try:
                parse_template(name, ALERT_TEMPLATE_DEFS + v)
            except TemplateError as e:
                errs.append(f"{what} {go_quote(k)}: {e}")
    return errs


# ---- misc --------------------------------------------------------------------------------


def _with_file(g: Group, path: str) -> Group:
    from dataclasses import replace

    return replace(g, file=path)


def _yaml_syntax_error(e: yaml.YAMLError) -> str:
    """yaml.v3's ``yaml: line N: problem`` (its line choice, quirks included)."""
    problem = getattr(e, "problem", None) or "unknown problem parsing YAML content"
    scanner = isinstance(e, yaml.scanner.ScannerError)
    line = 0
    ctx = getattr(e, "context_mark", None)
    prob = getattr(e, "problem_mark", None)
    if ctx is not None and ctx.line != 0:
        line = ctx.line + (1 if scanner else 0)
    elif prob is not None and prob.line != 0:
        line = prob.line + (1 if scanner else 0)
    where = f"line {line}: " if line else ""
    return f"yaml: {where}{problem}"
