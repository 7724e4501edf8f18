"""Which rules may be evaluated once over their whole step grid, and which must run step
by step, interleaved with others.

A replay processes the rules in *global order* (groups in evaluation order, rules in file
order). A rule is evaluated over the whole grid at once (a range evaluation) when what it
reads at each step is already complete and nothing it could see would have been written
after it ran in a real server. It reads through its selectors; a selector may read a rule
(a *producer*) when its ``__name__`` matcher accepts the producer's output name
(``record``, or ``ALERTS``/``ALERTS_FOR_STATE``), its ``alertname`` matcher the alert's
name, and its other matchers the producer's static labels. A reader/producer pair is
safe when the producer comes earlier in global order and writes at an offset no larger
than the reader's (``query_offset``): then every sample the producer writes later in real
time lies after the reader's query time, and a lookback never reaches forward.

Rules are instead grouped into *blocks* evaluated step by step, all rules of a block at
each instant in (time, global order), when:

- a rule reads its own output, a later rule's output (``ALERTS`` of a later rule
  included), or an earlier rule's that writes at a larger offset: the block spans both;
- a rule reading other rules looks ahead (``@`` or a negative offset): the block spans it
  and its producers;
- two rules write the same metric name (their samples may collide, which the head
  appender resolves in evaluation order);
- an alert template calls ``query`` (it reads the store as it is at that moment): one
  block holds every rule;
- a rule's meaning differs between instant and range queries (``@ start()``, ``@ end()``,
  ``step()``/``range()`` in durations), or it must see the data only up to the
  evaluation time while looking ahead (``promtool test rules``): a block of its own.

>>> from engine.promql.parse import parse_expr
>>> sorted(m.value for m in selectors(parse_expr('a + on() b offset 1m'))[0])
['a']
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from ..promql import nodes as N
from ..store.index import Matcher

__all__ = ["RuleInfo", "Unit", "analyse", "plan_units", "selectors"]

ALERT_OUTPUTS = ("ALERTS", "ALERTS_FOR_STATE")


def selectors(node: N.Expr) -> list[tuple[Matcher, ...]]:
    """Matchers of every vector selector in ``node`` (range selectors included)."""
    return [n.matchers for n in N.walk(node) if isinstance(n, N.VectorSelector)]


def _durations(node: N.Expr):
    for n in N.walk(node):
        if isinstance(n, N.VectorSelector):
            yield n.offset
        elif isinstance(n, N.MatrixSelector):
            yield n.range
        elif isinstance(n, N.SubqueryExpr):
            yield n.range
            yield n.step
            yield n.offset


def looks_ahead(node: N.Expr) -> bool:
    """Whether some selector can see samples after the evaluation time (``@`` or a
    negative offset)."""
    for n in N.walk(node):
        if isinstance(n, N.VectorSelector | N.SubqueryExpr):
            if n.at is not None:
                return True
            if isinstance(n.offset, N.DurationExpr) or (isinstance(n.offset, int) and n.offset < 0):
                return True
    return False


def range_differs(node: N.Expr) -> bool:
    """Whether a range evaluation could differ from instant ones at the same times."""
    for n in N.walk(node):
        if isinstance(n, N.VectorSelector | N.SubqueryExpr) and isinstance(n.at, str):
            return True  # @ start() / @ end()
    return any(isinstance(d, N.DurationExpr) for d in _durations(node))


@dataclass
class RuleInfo:
    """One rule in global order, with what the planner needs to know about it."""

    pos: int
    group_pos: int
    offset_ms: int
    kind: str  # "record" or "alert"
    name: str
    node: N.Expr
    static_labels: dict[str, str] = field(default_factory=dict)
    template_query: bool = False

    @property
    def outputs(self) -> tuple[str, ...]:
        return (self.name,) if self.kind == "record" else ALERT_OUTPUTS


def _may_read(matchers: Sequence[Matcher], producer: RuleInfo) -> bool:
    for out in producer.outputs:
        ok = True
        for m in matchers:
            if m.name == "__name__":
                ok = m.matches(out)
            elif m.name == "alertname" and producer.kind == "alert":
                ok = m.matches(producer.name)
            elif m.name == "alertstate" and producer.kind == "alert" and out == "ALERTS_FOR_STATE":
                ok = m.matches("")
            elif m.name in producer.static_labels:
                ok = m.matches(producer.static_labels[m.name])
            if not ok:
                break
        if ok:
            return True
    return False


@dataclass(frozen=True)
class Unit:
    """Rules processed together: ``mode`` is ``"range"`` (one rule over its whole grid)
    or ``"step"`` (the rules at each instant, in order)."""

    mode: str
    positions: tuple[int, ...]


def analyse(rules: Sequence[RuleInfo], *, data_until_eval: bool = False) -> list[tuple[int, int]]:
    """Intervals ``[lo, hi]`` of global positions that must be evaluated step by step."""
    spans: list[tuple[int, int]] = []
    if any(r.template_query for r in rules):
        return [(0, len(rules) - 1)] if rules else []
    by_output: dict[str, list[int]] = {}
    for r in rules:
        for o in r.outputs:
            by_output.setdefault(o, []).append(r.pos)
    for o, ps in by_output.items():
        # ALERTS of different alerting rules differ by alertname unless the names match
        if o in ALERT_OUTPUTS:
            names: dict[str, list[int]] = {}
            for p in ps:
                names.setdefault(rules[p].name, []).append(p)
            groups = [g for g in names.values() if len(g) > 1]
        else:
            groups = [ps] if len(ps) > 1 else []
        for g in groups:
            spans.append((min(g), max(g)))
    for r in rules:
        ahead = looks_ahead(r.node)
        if range_differs(r.node) or (ahead and data_until_eval):
            spans.append((r.pos, r.pos))
        sels = selectors(r.node)
        for p in rules:
            if not any(_may_read(ms, p) for ms in sels):
                continue
            unsafe = p.pos >= r.pos or ahead or p.offset_ms > r.offset_ms
            if unsafe:
                spans.append((min(p.pos, r.pos), max(p.pos, r.pos)))
    return _merge(spans)


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for lo, hi in sorted(spans):
        if out and lo <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return out


def plan_units(
    rules: Sequence[RuleInfo], *, data_until_eval: bool = False, force_step: bool = False
) -> list[Unit]:
    """The processing units in global order (see the module doc)."""
    if not rules:
        return []
    if force_step:
        return [Unit("step", tuple(r.pos for r in rules))]
    spans = analyse(rules, data_until_eval=data_until_eval)
    units: list[Unit] = []
    i = 0
    for lo, hi in spans:
        units.extend(Unit("range", (p,)) for p in range(i, lo))
        units.append(Unit("step", tuple(range(lo, hi + 1))))
        i = hi + 1
    units.extend(Unit("range", (p,)) for p in range(i, len(rules)))
    return units
