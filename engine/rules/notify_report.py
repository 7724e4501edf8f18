"""The Alertmanager view of a replay in the reports: what the rule manager would have sent
(:attr:`engine.rules.replay.ReplayResult.notifications`), never sent.

- :func:`notifications_table` is the section that ``rules replay --format table`` prints
  after the rule errors: one row per notification (sent at, alert, the labels that tell
  its instances apart, firing or resolved, ``startsAt``, ``endsAt``), at most
  :data:`MAX_ROWS` of them unless asked for all (``--notifications``);
- :func:`notifications_json` is the list that ``rules replay --format json
  --notifications`` adds under the ``notifications`` key (the document is otherwise
  unchanged); times are unix seconds like the rest of it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..promql.nodes import format_duration
from .report import _clock, _distinguishing, _grid, _labels_text, _selected, _t

if TYPE_CHECKING:
    from .replay import Notification, ReplayResult

__all__ = ["MAX_ROWS", "notifications_json", "notifications_table"]

#: rows of the table section unless every notification is asked for
MAX_ROWS = 20


def _chosen(rep: ReplayResult, alerts: Sequence[str] | None) -> list[Notification]:
    return [n for n in rep.notifications if not alerts or n.alertname in alerts]


def _status(n: Notification) -> str:
    return "resolved" if n.resolved else "firing"


def notifications_json(
    rep: ReplayResult, alerts: Sequence[str] | None = None
) -> list[dict[str, Any]]:
    """One record per notification, in the order they would have been sent."""
    return [
        {
            "time": _t(n.time),
            "alertname": n.alertname,
            "status": _status(n),
            "labels": n.labels,
            "annotations": n.annotations,
            "starts_at": _t(n.starts_at),
            "ends_at": _t(n.ends_at),
        }
        for n in _chosen(rep, alerts)
    ]


def notifications_table(
    rep: ReplayResult, alerts: Sequence[str] | None = None, *, max_rows: int | None = MAX_ROWS
) -> str:
    """The table section: a heading with the count, then the rows (see the module doc)."""
    sent = _chosen(rep, alerts)
    o = rep.options
    notes = [f"resend delay {format_duration(o.resend_delay_ms)}"]
    if o.external_labels:
        ext = ",".join(f"{k}={v}" for k, v in sorted(o.external_labels.items()))
        notes.append(f"external labels {ext} added where missing")
    head = f"Alertmanager view (reported, not sent; {'; '.join(notes)}): "
    if not sent:
        return head + "no notification."
    head += f"{len(sent)} notification{'s' if len(sent) != 1 else ''}"
    with_date = (rep.end // 86_400_000) != (rep.start // 86_400_000)
    diff = _distinguishing(_selected(rep, alerts))
    shown = sent if max_rows is None else sent[:max_rows]
    rows = [
        [
            _clock(n.time, with_date),
            n.alertname,
            _labels_text(n.labels, diff.get(n.alertname, [])),
            _status(n),
            _clock(n.starts_at, with_date),
            _clock(n.ends_at, with_date),
        ]
        for n in shown
    ]
    parts = [
        head,
        _grid(rows, ["SENT AT", "ALERT", "LABELS", "STATUS", "STARTS AT", "ENDS AT"]),
    ]
    if len(shown) < len(sent):
        parts.append(
            f"... {len(sent) - len(shown)} more (--notifications lists them all; "
            "with --format json it adds them under \"notifications\")"
        )
    return "\n".join(parts)
