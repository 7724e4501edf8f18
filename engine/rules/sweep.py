"""Sweep one alert's threshold, ``for`` and ``keep_firing_for``: evaluate once, replay many.

``rules sweep`` answers "what if this alert had used ``> 0.1`` and ``for: 5m``?" for many
variants at once. It splits the alert's expression at its top-level comparison with a
number (:func:`split_threshold`)::

    destination_service:istio_request_errors:ratio_rate5m > 0.05
    └──────────────── vector side, evaluated once ───────────┘ │   └ threshold, per variant
                                                              op

and then:

1. evaluates the *vector side* once over the alert group's whole step grid, through the
   replay engine itself (:class:`engine.rules.replay._Replayer`, so its planning, the
   recorded rules the alert reads, query offsets, warm-up, clocks and rule errors are
   exactly those of ``rules replay``). Only the rules the alert reads, directly or
   through other rules, are evaluated;
2. per variant (threshold x for x keep_firing_for), applies the comparison to the
   evaluated values with numpy and runs only the alert state machine
   (:class:`engine.rules.alerts.AlertRuleState`) over them. No PromQL runs per variant.

Why this is exact: a filter comparison with a number (``v OP c`` or ``c OP v``, no
``bool``) keeps a sample with its labels (``__name__`` included, Prometheus 3 drops it
only for arithmetic operators) and the *vector's* value whichever side the number is
on, drops it otherwise, and never fails; so ``expr OP c`` at a step is the vector
side's samples filtered by the comparison, and its errors are the vector side's errors.
Alert identities (label templates may read ``$value``) are computed once per sample and
shared by the variants. ``tests/rules/test_sweep.py`` checks the outcome against one
``replay`` per variant with a rewritten rule file.

What is refused, with an error naming the rule and expression:

- an expression that is not ``<expr> OP <number>`` or ``<number> OP <expr>`` at the top
  level (parentheses and a sign around the number are fine), or a ``bool`` comparison;
- an alert whose inputs read its own ``ALERTS``/``ALERTS_FOR_STATE`` (directly or via
  recorded rules): they would differ per variant;
- label templates that call ``query`` (on the alert, or on alerts it reads): what they
  read depends on when, during the replay, they are expanded.

Known limit: the sample limit (``max_samples``) is checked on the vector side, which
holds at least as many samples as the comparison; a variant whose full expression
would just exceed it is not reported as failing.

>>> from engine.rules.load import load_text
>>> rs = load_text('''
... groups:
... - name: g
...   rules:
...   - alert: High
...     expr: (rate(x[5m]) > 0.5)
...     for: 1m
... ''', "r.yml")
>>> th = split_threshold(rs.rules[0], "g")
>>> th.op, th.value, str(th.vector), th.number_left
('>', 0.5, 'rate(x[5m])', False)
>>> th.keep(np.array([0.2, 0.7, np.nan]), 0.5).tolist()
[False, True, False]
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import PromReplayError
from ..labels import Labels, format_go_float
from ..promql import nodes as N
from ..store import Store
from .alerts import AlertRuleState, RuleEvalError
from .model import AlertingRule, RuleSet
from .plan import _may_read, selectors
from .replay import (
    AlertInstance,
    ReplayOptions,
    RuleError,
    _ms_duration,
    _ms_time,
    _Replayer,
    _template_uses,
    replay_options,
)

if TYPE_CHECKING:
    from .replay import _Rule

__all__ = [
    "InstanceSummary",
    "SweepError",
    "SweepResult",
    "Summary",
    "Threshold",
    "Variant",
    "VariantResult",
    "episode_summary",
    "run_sweep",
    "split_threshold",
    "sweep",
]

#: The comparison operators a threshold may use, as numpy ufuncs. NaN compares as in
#: Go: false for everything but ``!=``.
_UFUNCS = {
    ">": np.greater,
    "<": np.less,
    ">=": np.greater_equal,
    "<=": np.less_equal,
    "==": np.equal,
    "!=": np.not_equal,
}


class SweepError(PromReplayError):
    """A sweep that cannot be run as asked (which rule, which expression, why)."""


# ---- the threshold -----------------------------------------------------------------------


@dataclass(frozen=True)
class Threshold:
    """An alert expression split at its top-level comparison with a number.

    ``vector`` is the side evaluated once, ``value`` the number as written, and
    ``number_left`` tells ``c OP v`` from ``v OP c``.
    """

    op: str
    value: float
    vector: N.Expr
    number_left: bool

    def keep(self, values: np.ndarray, threshold: float) -> np.ndarray:
        """Which of the vector side's ``values`` the comparison with ``threshold`` keeps.

        >>> Threshold("<", 1.0, N.NumberLiteral(value=0.0), True).keep(np.array([0.5, 2.0]), 1.0)
        array([False,  True])
        """
        f = _UFUNCS[self.op]
        return f(threshold, values) if self.number_left else f(values, threshold)

    def text(self, threshold: float | None = None) -> str:
        """The expression with ``threshold`` (``THRESHOLD`` when None), for display.

        >>> th = Threshold(">", 5.0, N.VectorSelector(name="up", matchers=()), False)
        >>> th.text(), th.text(2.5)
        ('up > THRESHOLD', 'up > 2.5')
        """
        c = "THRESHOLD" if threshold is None else format_go_float(float(threshold))
        v = str(self.vector)
        return f"{c} {self.op} {v}" if self.number_left else f"{v} {self.op} {c}"


def _number(node: N.Expr) -> float | None:
    """The value of a number literal, through parentheses and unary signs."""
    sign = 1.0
    while True:
        if isinstance(node, N.ParenExpr):
            node = node.expr
        elif isinstance(node, N.UnaryExpr) and node.op in "+-":
            if node.op == "-":
                sign = -sign
            node = node.expr
        else:
            break
    if isinstance(node, N.NumberLiteral):
        return sign * node.value
    return None


def split_threshold(rule: AlertingRule, group: str) -> Threshold:
    """Split ``rule``'s expression at its top-level ``OP <number>`` (see the module doc);
    :class:`SweepError` when it has none."""
    node = rule.node
    while isinstance(node, N.ParenExpr):
        node = node.expr
    why = None
    if not (isinstance(node, N.BinaryExpr) and node.op in _UFUNCS):
        why = "its top level is not a comparison (> < >= <= == !=)"
    elif node.return_bool:
        why = "the comparison uses bool, so it does not filter"
    else:
        lv, rv = _number(node.lhs), _number(node.rhs)
        if rv is not None and lv is None:
            return Threshold(node.op, rv, node.lhs, False)
        if lv is not None and rv is None:
            return Threshold(node.op, lv, node.rhs, True)
        why = "neither side of the comparison is a number"
    raise SweepError(
        f"group {group!r}, alert {rule.alert!r}: cannot sweep the threshold of "
        f"{rule.expr.strip()!r}: {why}; sweep needs `<expr> OP <number>` or `<number> OP <expr>`"
    )


# ---- variants and their outcome -----------------------------------------------------------


@dataclass(frozen=True)
class Variant:
    """One combination of threshold, ``for`` and ``keep_firing_for`` (ms)."""

    threshold: float
    for_ms: int
    keep_firing_for_ms: int


@dataclass(frozen=True)
class InstanceSummary:
    """One alert instance (its labels) under one variant."""

    labels: dict[str, str]
    firing_episodes: int
    firing_ms: int


@dataclass(frozen=True)
class Summary:
    """What a variant did over the reported range ``[start, end]``.

    - ``firing_episodes``: episodes that were firing at some evaluation in the range
      (fired, and not resolved or dropped by ``start``);
    - ``firing_ms``: their firing time inside the range, from ``max(fired_at, start)``
      to the resolution, the drop, or ``end`` while still firing (as the replay table's
      ``FIRING FOR``); kept firing by ``keep_firing_for`` counts as firing;
    - ``first_fire_ms``: from ``start`` to the first of those episodes firing in the
      range (0 when one was already firing at ``start``), ``None`` when none fired;
    - ``instances``: per alert instance with a firing episode, its count and time.
    """

    firing_episodes: int
    firing_ms: int
    first_fire_ms: int | None
    instances: tuple[InstanceSummary, ...]


def episode_summary(instances: Iterable[AlertInstance], start_ms: int, end_ms: int) -> Summary:
    """The :class:`Summary` of alert instances (a sweep variant's, or a replay's).

    >>> from engine.rules.alerts import Episode
    >>> inst = AlertInstance("A", "g", {"alertname": "A", "job": "x"}, [
    ...     Episode(active_at=0, fired_at=60_000, resolved_at=180_000),
    ...     Episode(active_at=240_000, fired_at=None, dropped_at=300_000),
    ...     Episode(active_at=360_000, fired_at=360_000)])
    >>> s = episode_summary([inst], 0, 600_000)
    >>> s.firing_episodes, s.firing_ms, s.first_fire_ms
    (2, 360000, 60000)
    """
    total_n, total_ms, first = 0, 0, None
    per: list[InstanceSummary] = []
    for inst in instances:
        n, ms = 0, 0
        for e in inst.episodes:
            stop = e.end
            if e.fired_at is None or (stop is not None and stop <= start_ms):
                continue
            a = max(e.fired_at, start_ms)
            n += 1
            ms += (end_ms if stop is None else min(stop, end_ms)) - a
            first = a if first is None else min(first, a)
        if n:
            per.append(InstanceSummary(dict(inst.labels), n, ms))
            total_n += n
            total_ms += ms
    return Summary(total_n, total_ms, None if first is None else first - start_ms, tuple(per))


@dataclass
class VariantResult:
    """A variant's alert instances (episodes as a replay gives them), its rule errors in
    the reported range (the vector side's query errors and the state machine's), and
    their :class:`Summary`."""

    variant: Variant
    instances: list[AlertInstance]
    errors: list[RuleError]
    summary: Summary


class SweepResult:
    """The outcome of a sweep: one :class:`VariantResult` per variant, threshold-major
    (then ``for``, then ``keep_firing_for``), in the order given.

    - ``rule``/``group``/``threshold``: the alert as written and its split expression;
    - ``variant(threshold, for_ms, keep_firing_for_ms)``: one variant's result;
    - ``to_json()``, ``table()``, ``to_csv()``, ``to_pandas()``, ``plot(path)``.
    """

    def __init__(
        self,
        rule: AlertingRule,
        group: str,
        threshold: Threshold,
        start: int,
        end: int,
        options: ReplayOptions,
        evaluation_times: list[int],
        variants: list[VariantResult],
    ) -> None:
        self.rule = rule
        self.alertname = rule.alert
        self.group = group
        self.threshold = threshold
        self.start = start
        self.end = end
        self.options = options
        self.evaluation_times = evaluation_times
        self.variants = variants

    @property
    def as_written(self) -> Variant:
        """The variant of the rule as written."""
        return Variant(self.threshold.value, self.rule.for_ms, self.rule.keep_firing_for_ms)

    def variant(
        self, threshold: float, for_ms: int, keep_firing_for_ms: int | None = None
    ) -> VariantResult:
        """The result of one variant (``keep_firing_for_ms`` may be omitted when the sweep
        has one value)."""
        for v in self.variants:
            w = v.variant
            if (
                w.threshold == threshold
                and w.for_ms == for_ms
                and (keep_firing_for_ms is None or w.keep_firing_for_ms == keep_firing_for_ms)
            ):
                return v
        raise KeyError((threshold, for_ms, keep_firing_for_ms))

    def to_json(self) -> dict[str, Any]:
        from .sweep_report import sweep_json

        return sweep_json(self)

    def table(self) -> str:
        from .sweep_report import sweep_table

        return sweep_table(self)

    def to_csv(self) -> str:
        from .sweep_report import sweep_csv

        return sweep_csv(self)

    def to_pandas(self):
        from .sweep_report import sweep_frame

        return sweep_frame(self)

    def plot(self, path: str, *, metric: str = "episodes") -> None:
        from .sweep_report import plot_heatmap

        plot_heatmap(self, path, metric=metric)


# ---- evaluating the vector side once -------------------------------------------------------


class _Capture(_Replayer):
    """A replay that, for one alerting rule, keeps what its expression returned at each
    evaluation (or the error) instead of running its state machine and writing
    ``ALERTS``. Every other rule runs exactly as in a replay."""

    def __init__(self, *args: Any, target: AlertingRule) -> None:
        super().__init__(*args)
        (self.target,) = [rr for rr in self.rules_ if rr.rule is target]
        #: evaluation time -> [(labels, value)] or the error message
        self.captured: dict[int, list[tuple[dict[str, str], float]] | str] = {}

    def _alert_step(self, rr: _Rule, t: int, samples, direct: bool, buf) -> None:
        if rr is self.target:
            self.captured[int(t)] = list(samples)
            return
        super()._alert_step(rr, t, samples, direct, buf)

    def _fail(self, rr: _Rule, t: int, message: str) -> None:
        if rr is self.target:
            self.captured[int(t)] = message
            return
        super()._fail(rr, t, message)


def _label_templates_query(rule: Any) -> bool:
    return any("query" in _template_uses(v) for v in (getattr(rule, "labels", None) or {}).values())


def _inputs(full: _Replayer, target: _Rule) -> set[int]:
    """Global positions of the rules ``target`` reads, directly or through others."""
    infos = [rr.info() for rr in full.rules_]
    sels = [selectors(i.node) for i in infos]
    need = {target.pos}
    todo = [target.pos]
    while todo:
        r = todo.pop()
        for p in infos:
            if p.pos not in need and any(_may_read(ms, p) for ms in sels[r]):
                need.add(p.pos)
                todo.append(p.pos)
    tinfo = infos[target.pos]
    for r in sorted(need):
        rr = full.rules_[r]
        if any(_may_read(ms, tinfo) for ms in sels[r]):
            via = (
                "" if r == target.pos else f" (through rule {rr.name!r} of group {rr.group.name!r})"
            )
            raise SweepError(
                f"group {target.group.name!r}, alert {target.name!r}: its expression reads "
                f"its own ALERTS/ALERTS_FOR_STATE{via}, which differ per variant; run one "
                "replay per variant instead"
            )
        if rr.is_alert and _label_templates_query(rr.rule):
            raise SweepError(
                f"group {rr.group.name!r}, alert {rr.name!r}: a label template calls query, "
                "which sweep does not support (its result depends on when it is expanded)"
            )
    return need


def _find(rules: RuleSet, alert: str) -> tuple[AlertingRule, str]:
    found = [
        (r, g.name)
        for g in rules.groups
        for r in g.rules
        if isinstance(r, AlertingRule) and r.alert == alert
    ]
    if not found:
        raise SweepError(f"no alerting rule is named {alert!r}")
    if len(found) > 1:
        where = ", ".join(repr(g) for _, g in found)
        raise SweepError(
            f"{len(found)} alerting rules are named {alert!r} (groups {where}); sweep one "
            "rule at a time (load only the file that holds it)"
        )
    return found[0]


def _unique(xs: Iterable[Any]) -> list[Any]:
    out: list[Any] = []
    for x in xs:
        if x not in out:
            out.append(x)
    return out


class _Evaluated:
    """The vector side at every evaluation of the alert's group, as flat arrays (so one
    comparison per threshold covers the whole grid), plus the identity function of the
    alert, memoised per sample: an identity depends only on (labels, value, time), so
    the variants share it."""

    def __init__(self, cap: _Capture) -> None:
        rr = cap.target
        self.rule = rr
        self.times = [int(t) for t in rr.times.tolist()]
        missing = [t for t in self.times if t not in cap.captured]
        assert not missing, f"no evaluation captured at {missing[:3]}"
        self.items = [cap.captured[t] for t in self.times]
        step_of: list[int] = []
        self.labs: list[dict[str, str]] = []
        self.vals: list[float] = []
        for i, item in enumerate(self.items):
            if isinstance(item, str):
                continue
            for lab, v in item:
                step_of.append(i)
                self.labs.append(lab)
                self.vals.append(float(v))
        self.step_of = np.asarray(step_of, np.int64)
        self.val_arr = np.asarray(self.vals, np.float64)
        self._identity = cap._identity_fn(rr)
        self._ids: dict[tuple[int, int], Labels] = {}

    def identity(self, lab: dict[str, str], v: float, t: int) -> Labels:
        # every lab dict lives as long as the sweep, so id() is a stable key at one step
        k = (t, id(lab))
        key = self._ids.get(k)
        if key is None:
            key = self._ids[k] = self._identity(lab, v, t)
        return key

    def passing(self, th: Threshold, c: float) -> list[list[tuple[dict[str, str], float]] | str]:
        """Per evaluation, the samples ``expr OP c`` returns (in the vector side's
        order), or the evaluation's error message."""
        keep = np.flatnonzero(th.keep(self.val_arr, c))
        bounds = np.searchsorted(self.step_of[keep], np.arange(len(self.times) + 1)).tolist()
        kept = keep.tolist()
        labs, vals = self.labs, self.vals
        out: list[list[tuple[dict[str, str], float]] | str] = []
        for i, item in enumerate(self.items):
            if isinstance(item, str):
                out.append(item)
            else:
                out.append([(labs[j], vals[j]) for j in kept[bounds[i] : bounds[i + 1]]])
        return out


def _evaluate_once(
    rules: RuleSet,
    data: Store,
    start_ms: int,
    end_ms: int,
    opts: ReplayOptions,
    rule: AlertingRule,
    th: Threshold,
) -> _Evaluated:
    """Replay the rules ``rule`` reads, with ``rule`` reduced to its vector side and
    captured instead of run."""
    full = _Replayer(rules, data, start_ms, end_ms, opts)
    (target,) = [rr for rr in full.rules_ if rr.rule is rule]
    need = {id(full.rules_[p].rule) for p in _inputs(full, target)}
    base = replace(
        rule, expr=str(th.vector), node=th.vector, for_ms=0, keep_firing_for_ms=0, annotations={}
    )
    groups = []
    for g in rules.groups:
        kept = tuple(base if r is rule else r for r in g.rules if id(r) in need)
        if kept:
            groups.append(replace(g, rules=kept))
    cap = _Capture(RuleSet(groups), data, start_ms, end_ms, opts, target=base)
    cap.run()
    return _Evaluated(cap)


def _run_variant(
    ev: _Evaluated,
    steps: list[list[tuple[dict[str, str], float]] | str],
    variant: Variant,
    group: str,
    start_ms: int,
    end_ms: int,
) -> VariantResult:
    """The alert state machine over one threshold's samples, as a replay runs it."""
    rr = ev.rule
    state = AlertRuleState(
        rr.name,
        variant.for_ms,
        variant.keep_firing_for_ms,
        rr.group.limit or 0,
        rr.labels,
        ev.identity,
    )
    errors: list[RuleError] = []
    for t, item in zip(ev.times, steps, strict=True):
        if isinstance(item, str):
            msg = item
        else:
            try:
                state.step(t, item)
                continue
            except RuleEvalError as e:
                msg = str(e)
        if t >= start_ms:
            errors.append(RuleError(t, group, rr.name, msg))
    instances = []
    for key, eps in state.episodes.items():
        shown = [e for e in eps if e.end is None or e.end >= start_ms]
        if shown:
            instances.append(AlertInstance(rr.name, group, dict(key), shown, rr.pos))
    instances.sort(key=lambda i: sorted(i.labels.items()))
    return VariantResult(variant, instances, errors, episode_summary(instances, start_ms, end_ms))


def run_sweep(
    rules: RuleSet,
    data: Store,
    start_ms: int,
    end_ms: int,
    options: ReplayOptions | None = None,
    *,
    alert: str,
    thresholds: Sequence[float] | None = None,
    fors_ms: Sequence[int] | None = None,
    keep_firing_fors_ms: Sequence[int] | None = None,
) -> SweepResult:
    """Sweep ``alert`` over ``data`` from ``start_ms`` to ``end_ms`` (inclusive, ms).

    ``thresholds``, ``fors_ms`` and ``keep_firing_fors_ms`` default to the rule's own
    value; every combination is a variant. See the module doc for how and what is refused.
    """
    opts = options or ReplayOptions()
    start_ms, end_ms = int(start_ms), int(end_ms)
    rule, gname = _find(rules, alert)
    th = split_threshold(rule, gname)
    ths = _unique(float(x) for x in (thresholds if thresholds is not None else [th.value]))
    fors = _unique(int(x) for x in (fors_ms if fors_ms is not None else [rule.for_ms]))
    keeps = _unique(
        int(x)
        for x in (
            keep_firing_fors_ms if keep_firing_fors_ms is not None else [rule.keep_firing_for_ms]
        )
    )
    if not ths or not fors or not keeps:
        raise SweepError("a sweep needs at least one threshold, for and keep_firing_for value")
    for name, vals in (("for", fors), ("keep_firing_for", keeps)):
        if any(v < 0 for v in vals):
            raise SweepError(f"a {name} duration cannot be negative")
    ev = _evaluate_once(rules, data, start_ms, end_ms, opts, rule, th)
    results = []
    for c in ths:
        steps = ev.passing(th, c)
        for f in fors:
            for k in keeps:
                results.append(_run_variant(ev, steps, Variant(c, f, k), gname, start_ms, end_ms))
    shown = [t for t in ev.times if t >= start_ms]
    return SweepResult(rule, gname, th, start_ms, end_ms, opts, shown, results)


def sweep(
    rules: RuleSet,
    data: Store,
    start: str | float | None = None,
    end: str | float | None = None,
    *,
    alert: str,
    thresholds: Sequence[float] | None = None,
    fors: Sequence[str | float] | None = None,
    keep_firing_fors: Sequence[str | float] | None = None,
    **options: Any,
) -> SweepResult:
    """Sweep one alert: the API behind ``RuleSet.sweep``.

    Times are unix seconds, RFC 3339 or relative to the data (``"end-1h"``); ``fors`` and
    ``keep_firing_fors`` are Prometheus durations (``"2m"``) or seconds; ``options`` are
    :func:`engine.rules.replay.replay_options`' (``evaluation_interval``, ``align``,
    ``warmup``, ...).

    >>> res = engine.rules.load("rules.yml").sweep(db, alert="High",   # doctest: +SKIP
    ...     thresholds=[0.05, 0.1], fors=["1m", "5m"], start="end-1h", end="end")
    >>> [(v.variant, v.summary.firing_episodes) for v in res.variants]  # doctest: +SKIP
    """
    opts = replay_options(**options)
    return run_sweep(
        rules,
        data,
        _ms_time(start, data, False),
        _ms_time(end, data, True),
        opts,
        alert=alert,
        thresholds=thresholds,
        fors_ms=None if fors is None else [_ms_duration(f) for f in fors],
        keep_firing_fors_ms=None
        if keep_firing_fors is None
        else [_ms_duration(k) for k in keep_firing_fors],
    )
