"""Label matchers with Prometheus semantics, resolved over a :class:`~engine.labels.LabelTable`.

Regular expressions use RE2 (``google-re2``), fully anchored, with ``.`` matching newlines,
exactly as Prometheus compiles them: ``^(?s:<re>)$``. A matcher is evaluated once per
*distinct value* of its label, then mapped to series with one vectorised lookup, so a
selector costs O(series) array work plus O(distinct values) regex calls.

>>> from engine.labels import LabelTable
>>> t = LabelTable.from_dicts([{"__name__": "a", "code": "200"}, {"__name__": "a", "code": "503"},
...                            {"__name__": "b"}])
>>> match_series(t, [Matcher("__name__", "=", "a"), Matcher("code", "=~", "5..")]).tolist()
[1]
>>> match_series(t, [Matcher("code", "=", "")]).tolist()
[2]
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import re2

from ..errors import PromReplayError
from ..labels import POOL, LabelTable

__all__ = ["Matcher", "compile_regex", "match_series", "parse_matchers", "regex_matches"]

_OPS = ("=", "!=", "=~", "!~")


@dataclass(frozen=True, slots=True)
class Matcher:
    """One label matcher: ``name op "value"``, with ``op`` one of ``= != =~ !~``."""

    name: str
    op: str
    value: str

    def __post_init__(self) -> None:
        if self.op not in _OPS:
            raise ValueError(f"unknown matcher operator {self.op!r}")
        if self.op in ("=~", "!~"):
            compile_regex(self.value)  # raise early on a bad regex

    def __str__(self) -> str:
        v = self.value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        return f'{self.name}{self.op}"{v}"'

    def matches(self, value: str) -> bool:
        """Whether a label value (``""`` for absent) satisfies the matcher."""
        if self.op == "=":
            return value == self.value
        if self.op == "!=":
            return value != self.value
        hit = regex_matches(self.value, value)
        return hit if self.op == "=~" else not hit

    def matches_empty(self) -> bool:
        return self.matches("")


@functools.lru_cache(maxsize=4096)
def compile_regex(pattern: str) -> re2._Regexp:
    """Compile a PromQL regex: RE2 syntax, fully anchored, ``.`` matches ``\\n``.

    Raises :class:`~engine.errors.PromReplayError` with RE2's reason on a bad pattern.
    """
    options = re2.Options()
    options.dot_nl = True
    options.log_errors = False
    try:
        return re2.compile("^(?:" + pattern + ")$", options)
    except re2.error as e:
        reason = e.args[0].decode() if e.args and isinstance(e.args[0], bytes) else str(e)
        raise PromReplayError(f"error parsing regexp: {reason}: `{pattern}`") from None


@functools.lru_cache(maxsize=65536)
def regex_matches(pattern: str, value: str) -> bool:
    """Whether ``value`` matches the PromQL regex ``pattern`` (see :func:`compile_regex`).

    Remembered: a query's regex matchers meet the same few label values again and again,
    and a call into RE2 costs ten times a lookup here."""
    return compile_regex(pattern).fullmatch(value) is not None


def _value_mask(codes: np.ndarray, m: Matcher) -> np.ndarray:
    """Which of ``codes`` (value ids of label ``m.name``) satisfy ``m``."""
    if m.op in ("=", "!="):
        target = POOL._ids.get(m.value)
        hit = np.zeros(len(codes), bool) if target is None else codes == target
        return hit if m.op == "=" else ~hit
    uniq, inverse = np.unique(codes, return_inverse=True)
    strings = POOL.strings(uniq)
    ok = np.fromiter((m.matches(s) for s in strings), dtype=bool, count=len(uniq))
    return ok[inverse.reshape(-1)]


def match_series(table: LabelTable, matchers: Sequence[Matcher]) -> np.ndarray:
    """Indices (sorted) of the series of ``table`` that satisfy every matcher."""
    # cheap equality matchers first; they narrow what the regexes must look at
    rest = sorted(matchers, key=lambda m: m.op != "=")
    if rest and rest[0].op == "=":  # the first one straight from the table's index
        m = rest.pop(0)
        target = POOL._ids.get(m.value)
        ids = table.series_with(m.name, target) if target is not None else np.zeros(0, np.int64)
    else:
        ids = np.arange(table.n)
    for m in rest:
        if len(ids) == 0:
            break
        # which of the table's series pass, found once per table and matcher
        ids = ids[table.remember(m, lambda m=m: _frozen(_value_mask(table.get(m.name), m)))[ids]]
    return ids


def _frozen(a: np.ndarray) -> np.ndarray:
    a.flags.writeable = False
    return a


def parse_matchers(text: str) -> list[Matcher]:
    """Matchers of a series selector such as ``up{job="x"}`` (no offset, range or ``@``)."""
    from ..promql.nodes import VectorSelector
    from ..promql.parse import parse_expr  # the one place that knows PromQL syntax

    node = parse_expr(text)
    if not isinstance(node, VectorSelector) or node.offset or node.at is not None:
        raise PromReplayError(f"not a plain series selector: {text!r}")
    return list(node.matchers)
