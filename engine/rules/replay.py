"""Replay rule groups over a capture exactly as Prometheus 3.14's rule manager would.

:func:`replay` evaluates every group of a :class:`~engine.rules.model.RuleSet` at the
instants its clock gives (:mod:`engine.rules.clock`), writes what the rules return into an
:class:`~engine.rules.outputs.OutputStore` that later rules read (layered over the data),
and runs the alert state machine (:mod:`engine.rules.alerts`). The result,
:class:`ReplayResult`, answers "which alerts were pending or firing when, for which
labels, with which annotations", lists the rule errors, and can be queried.

Evaluation of a group at ``t`` (``rules/group.go``, ``rules/recording.go``,
``rules/alerting.go``):

- rules run in file order; each queries at ``t - query_offset`` (the group's, else the
  global one) and its output is written (at ``t - query_offset``) before the next runs;
- recording rules: result labels, ``__name__ = record``, then the group's and the rule's
  labels (empty values delete); a scalar is one unlabelled series; a string result is
  ``rule result is not a vector or scalar``; equal final label sets are ``vector
  contains metrics with the same labelset after applying rule labels``; more series
  than ``limit`` is ``exceeded limit of N with M series``;
- alerting rules: see :mod:`engine.rules.alerts`; ``for``, ``keep_firing_for``,
  ``activeAt`` and the template time use ``t`` itself;
- each rule's series that it returned at its previous successful evaluation and not now
  get a stale marker at ``t - query_offset``;
- a failing rule records ``(time, group, rule, message)``, writes nothing and no stale
  markers, and the replay carries on.

How (see :mod:`engine.rules.plan`): a rule whose inputs allow it is evaluated once over
its group's whole step grid (a range query over the data and the complete outputs of the
rules before it), and only the state machine runs per step; other rules run step by step
in blocks. Both paths give the same results (``tests/rules/test_replay.py`` checks it
with hypothesis).

Known limits (documented, not hidden):

- on the whole-grid path the sample limit (``max_samples``, promtool's 10000) is checked
  against the grid as a whole (limit x steps); an error there falls back to instant
  evaluations, but one step over the limit inside a grid under it goes unreported;
- the head appender's out-of-order/duplicate checks apply between rule outputs (rules
  that write one metric name are evaluated step by step for that), not between a rule
  output and a data series of the same label set;
- a template is re-expanded only when its inputs change: the labels, ``$value`` when the
  text mentions it, the evaluation time when it calls ``now``/``query`` or a time
  function.

>>> import engine.rules                                                      # doctest: +SKIP
>>> rep = engine.rules.load("rules.yml").replay(db, start="end-1h", end="end")  # doctest: +SKIP
>>> [(i.alertname, i.labels, len(i.episodes)) for i in rep.instances]      # doctest: +SKIP
"""

from __future__ import annotations

import bisect
import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import PromReplayError, TooManySamplesError
from ..labels import Labels
from ..promql.evaluator import QueryOptions, instant_query, range_query
from ..result import Result
from ..store import HistogramSamples, Store
from ..store.samples import STALE_NAN, Samples
from . import clock
from .alerts import INACTIVE, AlertRuleState, Episode, RuleEvalError
from .outputs import OutputStore
from .plan import RuleInfo, plan_units

if TYPE_CHECKING:
    from .model import Group, RuleSet

__all__ = [
    "ActiveAlert",
    "AlertInstance",
    "Notification",
    "ReplayOptions",
    "ReplayResult",
    "RuleError",
    "record_outputs",
    "replay",
    "replay_options",
    "run_replay",
    "truncate",
]

NOT_VECTOR = "rule result is not a vector or scalar"
DUPLICATE_RECORD = "vector contains metrics with the same labelset after applying rule labels"


@dataclass(frozen=True)
class ReplayOptions:
    """How to replay. Durations and times are milliseconds.

    - ``evaluation_interval_ms``: the global evaluation interval (groups without an
      ``interval:``, every group with ``align="promtool"``, and the default subquery step);
    - ``align``: ``epoch``, ``promtool`` or ``server`` (:mod:`engine.rules.clock`);
    - ``rule_file_path``: the path the server loaded the rule file from (``server``);
    - ``prometheus_version``: 3 or 2, the label encoding of the ``server`` slot hash;
    - ``warmup_ms``: evaluate from ``start - warmup`` and report from ``start``;
    - ``query_offset_ms``: the global rule query offset (a group's own wins);
    - ``external_labels``/``external_url``: template data (and the Alertmanager view);
    - ``group_order``: evaluation order of groups at one instant (by name);
    - ``resend_delay_ms``: Alertmanager resend delay (1m);
    - ``lookback_delta_ms``/``max_samples``: engine limits (5m / 50M; promtool 10000);
    - ``strategy``: ``auto`` (range evaluation where possible) or ``step`` (every rule
      step by step; the reference the fast path is tested against);
    - ``data_until_eval``: the data is visible only up to each evaluation instant
      (promtool's lazy loading; matters for ``@`` and negative offsets);
    - ``delayed_name_removal``/``experimental``: the PromQL feature flags.
    """

    evaluation_interval_ms: int = 60_000
    align: str = "epoch"
    rule_file_path: str | None = None
    prometheus_version: int = 3
    warmup_ms: int = 0
    query_offset_ms: int = 0
    external_labels: Mapping[str, str] = field(default_factory=dict)
    external_url: str = ""
    group_order: tuple[str, ...] = ()
    resend_delay_ms: int = 60_000
    lookback_delta_ms: int = 300_000
    max_samples: int = 50_000_000
    strategy: str = "auto"
    data_until_eval: bool = False
    delayed_name_removal: bool = False
    experimental: bool = False

    def query_options(self) -> QueryOptions:
        return QueryOptions(
            lookback_delta_ms=self.lookback_delta_ms,
            max_samples=self.max_samples,
            default_subquery_step_ms=self.evaluation_interval_ms,
            delayed_name_removal=self.delayed_name_removal,
            experimental=self.experimental,
        )


@dataclass(frozen=True)
class RuleError:
    """A failed rule evaluation: time (ms), group name, rule name, Prometheus' message."""

    time: int
    group: str
    rule: str
    message: str


@dataclass
class AlertInstance:
    """One alert identity (its final label set) and its episodes, in time order."""

    alertname: str
    group: str
    labels: dict[str, str]
    episodes: list[Episode]
    rule_index: int = 0


@dataclass(frozen=True)
class ActiveAlert:
    """An alert as the rule manager holds it after an evaluation (``alerts_at``)."""

    alertname: str
    state: str  # "pending" or "firing"
    labels: dict[str, str]
    annotations: dict[str, str]
    value: float
    active_at: int
    fired_at: int | None
    kept: bool
    evaluated_at: int


@dataclass(frozen=True)
class Notification:
    """What the rule manager would send to Alertmanager (not sent): at ``time``, the
    alert's labels (external labels added where missing) and annotations, ``startsAt``
    (the firing time) and ``endsAt`` (the resolution time once ``resolved``, else the
    alert's ``validUntil``)."""

    time: int
    alertname: str
    labels: dict[str, str]
    annotations: dict[str, str]
    starts_at: int | None
    ends_at: int | None
    resolved: bool = False


# ---- per-rule state ---------------------------------------------------------------------


@dataclass
class _Snap:
    """One alert in a snapshot after an evaluation."""

    key: Labels
    state: str
    value: float
    active_at: int
    fired_at: int | None
    kept: bool
    sample: tuple
    annotations: dict[str, str] | None


class _Rule:
    """A rule in global order, with its evaluation state."""

    def __init__(
        self, pos: int, gpos: int, group: Group, rule: Any, offset_ms: int, times: np.ndarray
    ) -> None:
        self.pos = pos
        self.gpos = gpos
        self.group = group
        self.rule = rule
        self.offset = offset_ms
        self.times = times
        self.is_alert = hasattr(rule, "alert")
        self.name: str = rule.alert if self.is_alert else rule.record
        self.node = rule.node
        self.labels: dict[str, str] = {**dict(group.labels or {}), **dict(rule.labels or {})}
        self.prev: set[Labels] = set()
        self.state: AlertRuleState | None = None
        self.snap_times: list[int] = []
        self.snaps: list[tuple[_Snap, ...]] = []
        self.annotations: dict[str, str] = dict(getattr(rule, "annotations", {}) or {})
        self.template_query = self.is_alert and any(
            "query" in v for v in [*self.labels.values(), *self.annotations.values()]
        )

    def info(self) -> RuleInfo:
        static = {k: v for k, v in self.labels.items() if "{{" not in v}
        return RuleInfo(
            self.pos,
            self.gpos,
            self.offset,
            "alert" if self.is_alert else "record",
            self.name,
            self.node,
            static,
            self.template_query,
        )


class _Buffer:
    """Samples of one rule, gathered per series and flushed to the store at the end."""

    def __init__(self) -> None:
        self.ts: dict[Labels, list[int]] = {}
        self.vals: dict[Labels, list[float]] = {}

    def add(self, key: Labels, t: int, v: float) -> bool:
        self.ts.setdefault(key, []).append(t)
        self.vals.setdefault(key, []).append(v)
        return True

    def flush(self, out: OutputStore) -> None:
        for key, ts in self.ts.items():
            out.extend(key, np.asarray(ts, np.int64), np.asarray(self.vals[key], np.float64))


# ---- the replay --------------------------------------------------------------------------


class _Replayer:
    def __init__(
        self, rules: RuleSet, data: Store, start_ms: int, end_ms: int, opts: ReplayOptions
    ):
        if opts.align not in clock.ALIGNS:
            raise PromReplayError(f"unknown --align {opts.align!r} (use epoch, promtool or server)")
        if opts.evaluation_interval_ms <= 0:
            raise PromReplayError("the evaluation interval must be positive")
        if end_ms < start_ms:
            raise PromReplayError("the end of the replay is before its start")
        self.rules = rules
        self.data = data
        self.opts = opts
        self.start = start_ms
        self.end = end_ms
        self.qopts = opts.query_options()
        self.out = OutputStore()
        self._errors: list[tuple[int, int, RuleError]] = []
        self.errors: list[RuleError] = []
        self.notifications: list[tuple] = []
        self._truncated: dict[int, Store] = {}
        self._tmpl_cache: dict[tuple, str] = {}
        groups = list(rules.groups)
        order = clock.group_order_key([g.name for g in groups], opts.group_order)
        self.groups = [groups[i] for i in sorted(range(len(groups)), key=order.__getitem__)]
        self.group_times: list[np.ndarray] = []
        self.rules_: list[_Rule] = []
        for gpos, g in enumerate(self.groups):
            times = self._times(g)
            self.group_times.append(times)
            off = g.query_offset_ms if g.query_offset_ms is not None else opts.query_offset_ms
            for r in g.rules:
                self.rules_.append(_Rule(len(self.rules_), gpos, g, r, int(off), times))
        for rr in self.rules_:
            if rr.is_alert:
                rr.state = AlertRuleState(
                    rr.name,
                    rr.rule.for_ms or 0,
                    rr.rule.keep_firing_for_ms or 0,
                    rr.group.limit or 0,
                    rr.labels,
                    self._identity_fn(rr),
                )

    # ---- clocks ---------------------------------------------------------------------------
    def _times(self, g: Group) -> np.ndarray:
        o = self.opts
        lo = self.start - o.warmup_ms
        if o.align == "promtool":
            return clock.eval_times("promtool", o.evaluation_interval_ms, lo, self.end)
        interval = g.interval_ms or o.evaluation_interval_ms
        off = 0
        if o.align == "server":
            path = o.rule_file_path or str(g.file)
            off = clock.slot_offset_ns(path, g.name, interval, o.prometheus_version)
        return clock.eval_times(o.align, interval, lo, self.end, offset_ns=off)

    # ---- stores -----------------------------------------------------------------------------
    def _data_at(self, t: int) -> Store:
        if not self.opts.data_until_eval:
            return self.data
        st = self._truncated.get(t)
        if st is None:
            st = truncate(self.data, t)
            self._truncated = {t: st}
        return st

    def stores(self, t: int | None = None) -> list:
        data = self.data if t is None else self._data_at(t)
        return [data, self.out.view()]

    # ---- templates ----------------------------------------------------------------------------
    def query_fn(self, expr: str, ts_ms: int) -> list[tuple[dict[str, str], float]]:
        res = instant_query(self.stores(ts_ms), expr, int(ts_ms), self.qopts)
        return _samples(res)

    def expand(self, rr: _Rule, text: str, lab: dict[str, str], v: float, t: int) -> str:
        if "{{" not in text:
            return text
        uses = _template_uses(text)
        key = (
            rr.pos,
            text,
            tuple(sorted(lab.items())),
            float(v) if "value" in uses else None,
            t if "time" in uses else None,
        )
        hit = self._tmpl_cache.get(key)
        if hit is None:
            from .gotemplate import expand_alert_template

            hit = expand_alert_template(
                text,
                lab,
                dict(self.opts.external_labels),
                self.opts.external_url,
                float(v),
                int(t),
                self.query_fn,
                rr.name,
            )
            if len(self._tmpl_cache) > 200_000:
                self._tmpl_cache.clear()
            self._tmpl_cache[key] = hit
        return hit

    def _identity_fn(self, rr: _Rule):
        def identity(lab: dict[str, str], v: float, t: int) -> Labels:
            out = {k: x for k, x in lab.items() if k != "__name__"}
            for k, tmpl in rr.labels.items():
                out[k] = self.expand(rr, tmpl, lab, v, t)
            out["alertname"] = rr.name
            return tuple(sorted((k, x) for k, x in out.items() if x != ""))

        return identity

    def render(self, rr: _Rule, sample: tuple) -> dict[str, str]:
        lab, v, t = sample
        return {k: self.expand(rr, text, lab, v, t) for k, text in sorted(rr.annotations.items())}

    # ---- driving ---------------------------------------------------------------------------------
    def run(self) -> ReplayResult:
        infos = [rr.info() for rr in self.rules_]
        units = plan_units(
            infos,
            data_until_eval=self.opts.data_until_eval,
            force_step=self.opts.strategy == "step",
        )
        self.units = units
        for u in units:
            if u.mode == "range":
                self._range_rule(self.rules_[u.positions[0]])
            else:
                self._step_block([self.rules_[p] for p in u.positions])
        self._errors.sort(key=lambda e: (e[0], e[1]))
        self.errors = [e[2] for e in self._errors]
        return ReplayResult(self)

    def _error(self, rr: _Rule, t: int, message: str) -> None:
        self._errors.append((int(t), rr.pos, RuleError(int(t), rr.group.name, rr.name, message)))

    # ---- step by step ------------------------------------------------------------------------
    def _step_block(self, block: list[_Rule]) -> None:
        events = sorted((int(t), rr.pos) for rr in block for t in rr.times.tolist())
        for t, pos in events:
            rr = self.rules_[pos]
            self._eval_instant(rr, t, self.stores(t), direct=True)

    def _eval_instant(
        self, rr: _Rule, t: int, stores: list, direct: bool, buf: _Buffer | None = None
    ) -> None:
        q = t - rr.offset
        try:
            res = instant_query(stores, rr.node, q, self.qopts)
            samples = _samples(res)
        except RuleEvalError as e:
            self._fail(rr, t, str(e))
            return
        except PromReplayError as e:
            self._fail(rr, t, str(e))
            return
        if rr.is_alert:
            self._alert_step(rr, t, samples, direct, buf)
        else:
            try:
                outs = record_outputs(rr.name, rr.labels, rr.group.limit or 0, samples)
            except RuleEvalError as e:
                self._fail(rr, t, str(e))
                return
            self._commit(rr, q, outs, direct, buf)

    def _fail(self, rr: _Rule, t: int, message: str) -> None:
        self._error(rr, t, message)
        if rr.is_alert:
            self._snapshot(rr, t)

    def _alert_step(self, rr: _Rule, t: int, samples, direct: bool, buf: _Buffer | None) -> None:
        st = rr.state
        assert st is not None
        try:
            outs = st.step(t, samples)
        except RuleEvalError as e:
            self._fail(rr, t, str(e))
            return
        if rr.template_query:
            for a in st.active.values():
                if a.annotations is None:
                    a.annotations = self.render(rr, a.sample)
        self._send(rr, t)
        q = t - rr.offset
        writes: list[tuple[Labels, float]] = []
        for a, state in outs:
            writes.append((st.series_labels(a, "ALERTS", state), 1.0))
            writes.append(
                (st.series_labels(a, "ALERTS_FOR_STATE", None), float(a.active_at // 1000))
            )
        self._commit(rr, q, writes, direct, buf)
        self._snapshot(rr, t)

    def _snapshot(self, rr: _Rule, t: int) -> None:
        st = rr.state
        assert st is not None
        snap = tuple(
            _Snap(
                a.key,
                a.state,
                a.value,
                a.active_at,
                a.fired_at,
                a.keep_firing_since is not None,
                a.sample,
                a.annotations,
            )
            for a in st.active.values()
            if a.state != INACTIVE
        )
        rr.snap_times.append(t)
        rr.snaps.append(snap)

    def _send(self, rr: _Rule, t: int) -> None:
        st = rr.state
        assert st is not None
        interval = rr.group.interval_ms or self.opts.evaluation_interval_ms
        if self.opts.align == "promtool":
            interval = self.opts.evaluation_interval_ms
        delta = max(interval, self.opts.resend_delay_ms)
        for a in st.active.values():
            if st.needs_sending(a, t, self.opts.resend_delay_ms):
                a.last_sent_at = t
                a.valid_until = t + 4 * delta
                if t < self.start:
                    continue
                labels = dict(a.key)
                for k, v in self.opts.external_labels.items():
                    labels.setdefault(k, v)
                self.notifications.append(
                    (
                        t,
                        rr.pos,
                        labels,
                        a.annotations,
                        a.sample,
                        a.fired_at,
                        a.resolved_at if a.resolved_at is not None else a.valid_until,
                        a.resolved_at is not None,
                    )
                )

    def _commit(
        self,
        rr: _Rule,
        q: int,
        writes: list[tuple[Labels, float]],
        direct: bool,
        buf: _Buffer | None,
    ) -> None:
        """Write a successful evaluation's samples, then stale markers for the series
        the rule returned last time and not now."""
        add = self.out.append if direct else buf.add  # type: ignore[union-attr]
        returned: set[Labels] = set()
        for key, v in writes:
            if add(key, q, v):
                returned.add(key)
        for key in rr.prev:
            if key not in returned:
                add(key, q, STALE_NAN)
        rr.prev = returned

    # ---- whole grid at once ------------------------------------------------------------------
    def _range_rule(self, rr: _Rule) -> None:
        times = rr.times
        if len(times) == 0:
            return
        stores = self.stores()
        res = None
        if len(times) > 1:
            q0, q1 = int(times[0]) - rr.offset, int(times[-1]) - rr.offset
            step = int(times[1] - times[0])
            try:
                opts = replace(self.qopts, max_samples=self.qopts.max_samples * len(times))
                res = range_query(stores, rr.node, q0, q1, step, opts)
                if res.labels.duplicated_pair() is not None:
                    res = None
            except (PromReplayError, TooManySamplesError):
                res = None
        buf = _Buffer()
        if res is None:
            # an error at some step, or a single step: evaluate each instant
            for t in times.tolist():
                self._eval_instant(rr, int(t), stores, direct=False, buf=buf)
            buf.flush(self.out)
            return
        if rr.is_alert:
            self._range_alert(rr, res, buf)
            buf.flush(self.out)
        else:
            self._range_record(rr, res)

    def _range_alert(self, rr: _Rule, res: Result, buf: _Buffer) -> None:
        times = rr.times
        q0 = int(times[0]) - rr.offset
        step = int(times[1] - times[0])
        rows = res.labels.rows()
        per_step: list[list[tuple[dict[str, str], float]]] = [[] for _ in range(len(times))]
        idx = (res.ts - q0) // step
        vals = res.values.tolist()
        for j in range(len(rows)):
            a, b = int(res.offsets[j]), int(res.offsets[j + 1])
            lab = rows[j]
            for i, v in zip(idx[a:b].tolist(), vals[a:b], strict=True):
                per_step[i].append((lab, v))
        for i, t in enumerate(times.tolist()):
            self._alert_step(rr, int(t), per_step[i], direct=False, buf=buf)

    def _range_record(self, rr: _Rule, res: Result) -> None:
        times = rr.times
        T = len(times)
        q_times = times - rr.offset
        q0 = int(q_times[0])
        step = int(times[1] - times[0])
        n = res.labels.n
        table = res.labels.with_value("__name__", rr.name)
        for k, v in rr.labels.items():
            table = (
                table.with_value(k, v) if v != "" else table.with_column(k, np.zeros(n, np.int32))
            )
        keys = table.keys()
        uniq: dict[Labels, int] = {}
        g = np.fromiter((uniq.setdefault(k, len(uniq)) for k in keys), np.int64, count=n)
        G = len(uniq)
        P = np.zeros((n, T), bool)
        V = np.zeros((n, T), np.float64)
        lengths = np.diff(res.offsets)
        rows = np.repeat(np.arange(n), lengths)
        cols = (res.ts - q0) // step
        P[rows, cols] = True
        V[rows, cols] = res.values
        count = np.zeros((G, T), np.int64)
        np.add.at(count, g, P.astype(np.int64))
        dup = (count > 1).any(axis=0)
        total = P.sum(axis=0)
        limit = rr.group.limit or 0
        over = (total > limit) if limit > 0 else np.zeros(T, bool)
        ok = ~dup & ~over
        for i in np.flatnonzero(~ok).tolist():
            msg = (
                DUPLICATE_RECORD
                if dup[i]
                else f"exceeded limit of {limit} with {int(total[i])} series"
            )
            self._error(rr, int(times[i]), msg)
        PK = count > 0
        VK = np.zeros((G, T), np.float64)
        VK[g[rows], cols] = res.values
        okc = np.flatnonzero(ok)
        if len(okc) == 0:
            return
        PKo = PK[:, okc]
        stale = np.zeros_like(PKo)
        stale[:, 1:] = PKo[:, :-1] & ~PKo[:, 1:]
        tq = q_times[okc]
        key_list = list(uniq)
        for gi in range(G):
            w = PKo[gi] | stale[gi]
            if not w.any():
                continue
            vals = np.where(PKo[gi], VK[gi, okc], STALE_NAN)
            self.out.extend(key_list[gi], tq[w], vals[w])
        rr.prev = {key_list[gi] for gi in np.flatnonzero(PKo[:, -1]).tolist()}


# ---- helpers ---------------------------------------------------------------------------------


def _samples(res: Result) -> list[tuple[dict[str, str], float]]:
    """A query result as the rule manager's query function returns it."""
    if res.type == "scalar":
        return [({}, float(res.values[0]))]
    if res.type != "vector":
        raise RuleEvalError(NOT_VECTOR)
    return [(lab, float(vals[0])) for lab, _ts, vals in res.series()]


def record_outputs(
    record: str,
    labels: Mapping[str, str],
    limit: int,
    samples: Sequence[tuple[dict[str, str], float]],
) -> list[tuple[Labels, float]]:
    """A recording rule's output series at one instant (raises :class:`RuleEvalError`).

    >>> record_outputs("r", {"team": "x"}, 0, [({"__name__": "a", "job": "j"}, 1.0)])
    [((('__name__', 'r'), ('job', 'j'), ('team', 'x')), 1.0)]
    """
    outs = []
    seen: set[Labels] = set()
    for lab, v in samples:
        d = dict(lab)
        d["__name__"] = record
        d.update(labels)
        key = tuple(sorted((k, x) for k, x in d.items() if x != ""))
        if key in seen:
            raise RuleEvalError(DUPLICATE_RECORD)
        seen.add(key)
        outs.append((key, v))
    if limit > 0 and len(outs) > limit:
        raise RuleEvalError(f"exceeded limit of {limit} with {len(outs)} series")
    return outs


def truncate(store: Store, t_ms: int) -> Store:
    """The store with only the samples at or before ``t_ms`` (promtool's lazy loading)."""
    s = store.samples
    keep = s.ts <= t_ms
    hs = store.histograms
    hkeep = hs.ts <= t_ms
    if keep.all() and hkeep.all():
        return store
    csum = np.concatenate([[0], np.cumsum(keep, dtype=np.int64)])
    counts = csum[s.offsets[1:]] - csum[s.offsets[:-1]]
    offsets = np.zeros(len(s.offsets), np.int64)
    np.cumsum(counts, out=offsets[1:])
    hist = HistogramSamples(hs.series[hkeep], hs.ts[hkeep], hs.values[hkeep])
    return Store(
        store.labels, Samples(offsets, s.ts[keep], s.values[keep]), store.metadata, histograms=hist
    )


# ---- results -----------------------------------------------------------------------------------


class ReplayResult:
    """The outcome of a replay.

    - ``instances``: every alert identity with an episode overlapping the reported range;
    - ``errors``: rule errors in the reported range, in time order;
    - ``alerts_at(t)``: the pending and firing alerts after the last evaluation at or
      before ``t``;
    - ``query(expr, time)``: PromQL over the data and everything the rules wrote;
    - ``to_json()``, ``to_pandas()``, ``plot(path)``, ``table()``, ``strip()``.
    """

    def __init__(self, rp: _Replayer) -> None:
        self._rp = rp
        self.options = rp.opts
        self.start = rp.start
        self.end = rp.end
        self.data = rp.data
        self.outputs = rp.out
        self.units = rp.units
        self.errors: list[RuleError] = [e for e in rp.errors if e.time >= rp.start]
        self.all_errors: list[RuleError] = list(rp.errors)
        self.alert_names: list[str] = []
        self.instances: list[AlertInstance] = []
        for rr in rp.rules_:
            if not rr.is_alert:
                continue
            if rr.name not in self.alert_names:
                self.alert_names.append(rr.name)
            assert rr.state is not None
            for key, eps in rr.state.episodes.items():
                shown = [e for e in eps if e.end is None or e.end >= rp.start]
                if not shown:
                    continue
                for e in shown:
                    if e.firing_sample is not None and e.annotations_at_firing is None:
                        e.annotations_at_firing = rp.render(rr, e.firing_sample)
                    if e.last_sample is not None and e.annotations_last is None:
                        e.annotations_last = rp.render(rr, e.last_sample)
                self.instances.append(
                    AlertInstance(rr.name, rr.group.name, dict(key), shown, rr.pos)
                )
        self.instances.sort(key=lambda i: (i.alertname, sorted(i.labels.items()), i.rule_index))
        self._store: Store | None = None

    # ---- questions ---------------------------------------------------------------------------
    @property
    def notifications(self) -> list[Notification]:
        """What would have been sent to Alertmanager, in time order, then rule order
        (``startsAt = firedAt``, ``endsAt = resolvedAt`` or ``validUntil``; external
        labels added where missing)."""
        rules = self._rp.rules_
        out = []
        # rules evaluated over the whole grid send all their evaluations at once
        sent = sorted(self._rp.notifications, key=lambda n: (n[0], n[1]))
        for t, pos, labels, ann, sample, starts, ends, resolved in sent:
            rr = rules[pos]
            out.append(
                Notification(
                    t,
                    rr.name,
                    labels,
                    ann if ann is not None else self._rp.render(rr, sample),
                    starts,
                    ends,
                    resolved,
                )
            )
        return out

    def evaluation_times(self, alertname: str | None = None) -> list[int]:
        """Evaluation instants (ms) of the groups holding ``alertname`` (all groups if None)."""
        ts: set[int] = set()
        for rr in self._rp.rules_:
            if alertname is None or (rr.is_alert and rr.name == alertname):
                ts.update(rr.times.tolist())
        return sorted(ts)

    def alerts_at(self, t_ms: int, *, state: str | None = None) -> list[ActiveAlert]:
        """Pending and firing alerts after the last evaluation at or before ``t_ms``."""
        out: list[ActiveAlert] = []
        for rr in self._rp.rules_:
            if not rr.is_alert:
                continue
            i = bisect.bisect_right(rr.snap_times, int(t_ms)) - 1
            if i < 0:
                continue
            for s in rr.snaps[i]:
                if state is not None and s.state != state:
                    continue
                ann = s.annotations if s.annotations is not None else self._rp.render(rr, s.sample)
                out.append(
                    ActiveAlert(
                        rr.name,
                        s.state,
                        dict(s.key),
                        ann,
                        s.value,
                        s.active_at,
                        s.fired_at,
                        s.kept,
                        rr.snap_times[i],
                    )
                )
        out.sort(key=lambda a: (a.alertname, sorted(a.labels.items())))
        return out

    def output_store(self) -> Store:
        """Everything the rules wrote (stale markers included) as a store."""
        if self._store is None:
            self._store = self.outputs.to_store()
        return self._store

    def query(
        self, expr: str, time: float | int | None = None, *, time_ms: int | None = None
    ) -> Result:
        """PromQL at ``time`` (unix seconds) or ``time_ms`` over the data and the outputs."""
        t = (
            time_ms
            if time_ms is not None
            else (self.end if time is None else int(round(float(time) * 1000)))
        )
        return instant_query([self.data, self.output_store()], expr, int(t), self._rp.qopts)

    # ---- reports (engine.rules.report) ---------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        from .report import replay_json

        return replay_json(self)

    def to_pandas(self):
        from .report import episodes_frame

        return episodes_frame(self)

    def table(self) -> str:
        from .report import replay_table

        return replay_table(self)

    def strip(self, alertname: str | None = None) -> str:
        from .report import instance_strip

        return instance_strip(self, alertname)

    def plot(self, path: str, *, values_for: str | None = None) -> None:
        from .report import plot_timeline

        plot_timeline(self, path, values_for=values_for)


def run_replay(
    rules: RuleSet, data: Store, start_ms: int, end_ms: int, options: ReplayOptions | None = None
) -> ReplayResult:
    """Replay ``rules`` over ``data`` from ``start_ms`` to ``end_ms`` (inclusive, ms)."""
    return _Replayer(rules, data, int(start_ms), int(end_ms), options or ReplayOptions()).run()


def _ms_duration(v: str | float | int | None, default: int = 0) -> int:
    from ..times import parse_duration_seconds

    if v is None:
        return default
    if isinstance(v, str):
        return int(round(parse_duration_seconds(v) * 1000))
    return int(round(float(v) * 1000))


def _ms_time(v: str | float | int | None, data: Store, default_end: bool) -> int:
    from ..times import parse_time

    tr = data.samples.time_range()
    lo = None if tr is None else tr[0] / 1000
    hi = None if tr is None else tr[1] / 1000
    if v is None:
        v = hi if default_end else lo
        if v is None:
            raise PromReplayError("the data holds no samples: give a start and an end")
    if isinstance(v, str):
        v = parse_time(v, lo, hi)
    return int(np.floor(float(v) * 1000 + 1e-6))


def replay_options(
    *,
    evaluation_interval: str | float = "1m",
    align: str = "epoch",
    warmup: str | float | None = None,
    query_offset: str | float | None = None,
    external_labels: Mapping[str, str] | None = None,
    external_url: str = "",
    group_order: Sequence[str] = (),
    rule_file_path: str | None = None,
    prometheus_version: int = 3,
    resend_delay: str | float = "1m",
    lookback_delta: str | float = "5m",
    max_samples: int = 50_000_000,
    strategy: str = "auto",
) -> ReplayOptions:
    """:class:`ReplayOptions` from API arguments: durations are Prometheus durations
    (``"1m"``) or seconds. Shared by :func:`replay` and :func:`engine.rules.sweep.sweep`.

    >>> replay_options(evaluation_interval="30s", warmup=60).warmup_ms
    60000
    """
    return ReplayOptions(
        evaluation_interval_ms=_ms_duration(evaluation_interval),
        align=align,
        rule_file_path=rule_file_path,
        prometheus_version=int(prometheus_version),
        warmup_ms=_ms_duration(warmup),
        query_offset_ms=_ms_duration(query_offset),
        external_labels=dict(external_labels or {}),
        external_url=external_url,
        group_order=tuple(group_order),
        resend_delay_ms=_ms_duration(resend_delay),
        lookback_delta_ms=_ms_duration(lookback_delta),
        max_samples=int(max_samples),
        strategy=strategy,
    )


def replay(
    rules: RuleSet,
    data: Store,
    start: str | float | None = None,
    end: str | float | None = None,
    **options: Any,
) -> ReplayResult:
    """Replay ``rules`` over ``data``: the API behind ``RuleSet.replay``.

    Times are unix seconds, RFC 3339, or relative to the data (``"end-1h"``);
    ``start``/``end`` default to the data's first and last sample. ``options`` are the
    keyword arguments of :func:`replay_options` (``evaluation_interval``, ``align``,
    ``warmup``, ``query_offset``, ``external_labels``, ...).
    """
    opts = replay_options(**options)
    return run_replay(rules, data, _ms_time(start, data, False), _ms_time(end, data, True), opts)


@functools.lru_cache(maxsize=4096)
def _template_uses(text: str) -> frozenset[str]:
    """What an expansion of ``text`` depends on besides labels (see
    :func:`engine.rules.gotemplate.alert_template_uses`); decides the cache key."""
    from .gotemplate import alert_template_uses

    return alert_template_uses(text)
