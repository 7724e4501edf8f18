"""The alert state machine of one alerting rule, as ``rules/alerting.go`` (3.14) runs it.

:class:`AlertRuleState` keeps the rule's active alerts between evaluations, keyed by their
identity (the final label set), and :meth:`AlertRuleState.step` is one evaluation, given
the samples the expression returned. Each alert instance's history is kept as
:class:`Episode` objects for the report.

Semantics (each is tested in ``tests/rules/test_alerts.py``):

- identity: result labels without ``__name__``, then each rule label with its value
  templated (an empty result deletes the label), then ``alertname`` (always wins);
- two samples with one identity: ``vector contains metrics with the same labelset after
  applying alert labels``, and nothing changes;
- a new identity becomes pending with ``activeAt = t``; a present pending or firing one
  takes the new value and re-rendered annotations; a resolved-but-retained one that
  comes back starts a new pending alert;
- pending -> firing at the first evaluation with ``t - activeAt >= for`` (``firedAt = t``);
- an absent pending alert is deleted at once; an absent firing alert keeps firing while
  ``t - firstMissedAt < keep_firing_for`` (value and annotations frozen; the first-missed
  time resets when it is present again), else it becomes inactive (``resolvedAt = t``)
  and is forgotten once ``t - resolvedAt > 15m``;
- more pending/firing/kept alerts than ``limit`` (> 0) clears every alert of the rule and
  fails with ``exceeded limit of N with M alerts``;
- outputs, for every pending or firing alert: ``ALERTS{..., alertstate} 1`` and
  ``ALERTS_FOR_STATE{...} <activeAt in unix seconds>``, both built from the rule's *raw*
  label templates with the alert's labels on top.

Annotations are rendered lazily: an alert remembers the sample (labels, value, time) of
its last rendering, and :func:`AlertRuleState.render` expands the templates on demand
(memoised), unless the templates call ``query`` (then the replay renders at once).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from ..labels import Labels

__all__ = [
    "DUPLICATE_ALERT",
    "FIRING",
    "INACTIVE",
    "PENDING",
    "RESOLVED_RETENTION_MS",
    "Alert",
    "AlertRuleState",
    "Episode",
    "RuleEvalError",
]

INACTIVE, PENDING, FIRING = "inactive", "pending", "firing"
#: How long a resolved alert is kept (and re-sent to Alertmanager): 15m.
RESOLVED_RETENTION_MS = 15 * 60_000
DUPLICATE_ALERT = "vector contains metrics with the same labelset after applying alert labels"


class RuleEvalError(Exception):
    """A rule evaluation failed at one instant (Prometheus' message text)."""


@dataclass
class Episode:
    """One life of an alert instance: from pending to resolved or dropped.

    Times are ms since the epoch; ``None`` means "did not happen (yet)".
    ``kept`` lists the ``[from, to)`` spans (evaluation instants) where the alert was
    absent but kept firing by ``keep_firing_for``; ``to`` is ``None`` while it lasts.
    """

    active_at: int
    fired_at: int | None = None
    resolved_at: int | None = None
    dropped_at: int | None = None
    value_at_firing: float | None = None
    firing_sample: tuple | None = None  # (labels, value, t) rendered for firing annotations
    last_sample: tuple | None = None  # (labels, value, t) of the last rendering
    annotations_at_firing: dict[str, str] | None = None
    annotations_last: dict[str, str] | None = None
    kept: list[list[int | None]] = field(default_factory=list)

    @property
    def end(self) -> int | None:
        return self.resolved_at if self.resolved_at is not None else self.dropped_at


@dataclass
class Alert:
    """An active (pending, firing, or resolved-but-retained) alert instance."""

    key: Labels
    state: str
    value: float
    active_at: int
    episode: Episode
    sample: tuple  # (labels dict, value, t) of the last annotation rendering
    annotations: dict[str, str] | None = None  # eager rendering only
    fired_at: int | None = None
    resolved_at: int | None = None
    keep_firing_since: int | None = None
    last_sent_at: int | None = None
    valid_until: int | None = None

    @property
    def labels(self) -> dict[str, str]:
        return dict(self.key)


#: ``identity(sample_labels, value, t) -> Labels`` (alertname included)
IdentityFn = Callable[[dict[str, str], float, int], Labels]


class AlertRuleState:
    """State of one alerting rule across evaluations."""

    def __init__(
        self,
        name: str,
        for_ms: int,
        keep_firing_for_ms: int,
        limit: int,
        raw_labels: dict[str, str],
        identity: IdentityFn,
    ) -> None:
        self.name = name
        self.for_ms = int(for_ms)
        self.keep_ms = int(keep_firing_for_ms)
        self.limit = int(limit)
        self.raw_labels = dict(raw_labels)
        self.identity = identity
        self.active: dict[Labels, Alert] = {}
        #: every episode ever started, per identity, in order
        self.episodes: dict[Labels, list[Episode]] = {}

    # ---- one evaluation -------------------------------------------------------------
    def step(
        self, t: int, samples: Iterable[tuple[dict[str, str], float]]
    ) -> list[tuple[Alert, str]]:
        """Evaluate at ``t`` given the expression's samples ``(labels, value)``.

        Returns the alerts to write out (pending or firing, kept ones included) with
        their state; raises :class:`RuleEvalError` on a duplicate identity (state
        untouched) or an exceeded limit (state cleared).
        """
        seen: dict[Labels, tuple[dict[str, str], float]] = {}
        for lab, v in samples:
            key = self.identity(lab, v, t)
            if key in seen:
                raise RuleEvalError(DUPLICATE_ALERT)
            seen[key] = (lab, v)

        created: list[Labels] = []
        for key, (lab, v) in seen.items():
            a = self.active.get(key)
            if a is not None and a.state != INACTIVE:
                a.value = v
                a.sample = (lab, v, t)
                a.annotations = None
                a.episode.last_sample = a.sample
                continue
            ep = Episode(active_at=t, last_sample=(lab, v, t))
            self.active[key] = Alert(key, PENDING, v, t, ep, (lab, v, t))
            self.episodes.setdefault(key, []).append(ep)
            created.append(key)

        out: list[tuple[Alert, str]] = []
        for key, a in list(self.active.items()):
            if key not in seen:
                keep = False
                if a.state == FIRING and self.keep_ms > 0:
                    if a.keep_firing_since is None:
                        a.keep_firing_since = t
                    keep = t - a.keep_firing_since < self.keep_ms
                if a.state == PENDING or (
                    a.resolved_at is not None and t - a.resolved_at > RESOLVED_RETENTION_MS
                ):
                    del self.active[key]
                    if a.state == PENDING:
                        a.episode.dropped_at = t
                if a.state != INACTIVE and not keep:
                    if a.state == FIRING:
                        a.episode.resolved_at = t
                        self._end_kept(a.episode, t)
                    a.state = INACTIVE
                    a.resolved_at = t
                if not keep:
                    continue
                if not a.episode.kept or a.episode.kept[-1][1] is not None:
                    a.episode.kept.append([t, None])
            else:
                if a.keep_firing_since is not None:
                    self._end_kept(a.episode, t)
                a.keep_firing_since = None
            if a.state == PENDING and t - a.active_at >= self.for_ms:
                a.state = FIRING
                a.fired_at = t
                a.episode.fired_at = t
                a.episode.value_at_firing = a.value
                a.episode.firing_sample = a.sample
            out.append((a, a.state))

        if self.limit > 0 and len(out) > self.limit:
            n = len(out)
            for a in self.active.values():
                if a.state != INACTIVE and a.episode.end is None:
                    a.episode.dropped_at = t
                    self._end_kept(a.episode, t)
            for key in created:
                # alerts born in this failed evaluation never existed for anyone
                eps = self.episodes[key]
                eps.pop()
                if not eps:
                    del self.episodes[key]
            self.active = {}
            raise RuleEvalError(f"exceeded limit of {self.limit} with {n} alerts")
        return out

    @staticmethod
    def _end_kept(ep: Episode, t: int) -> None:
        if ep.kept and ep.kept[-1][1] is None:
            ep.kept[-1][1] = t

    # ---- outputs --------------------------------------------------------------------
    def series_labels(self, a: Alert, metric: str, state: str | None) -> Labels:
        """Labels of an ``ALERTS``/``ALERTS_FOR_STATE`` sample for ``a``: the raw rule
        label templates, the alert's labels on top, then name, alertname and state."""
        lab = dict(self.raw_labels)
        lab.update(a.key)
        lab["__name__"] = metric
        lab["alertname"] = self.name
        if state is not None:
            lab["alertstate"] = state
        return tuple(sorted((k, v) for k, v in lab.items() if v != ""))

    def needs_sending(self, a: Alert, t: int, resend_delay_ms: int) -> bool:
        """``Alert.needsSending``: not pending, and resolved since the last send or not
        sent for longer than the resend delay."""
        if a.state == PENDING:
            return False
        if a.resolved_at is not None and (a.last_sent_at is None or a.resolved_at > a.last_sent_at):
            return True
        return (a.last_sent_at if a.last_sent_at is not None else -(2**62)) + resend_delay_ms < t
