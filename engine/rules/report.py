"""What a replay shows: the episode table, the per-instance strip, JSON, CSV, pandas, the
Gantt PNG, and the recorded series as a store.

- :func:`replay_json` is the ``rules replay --format json`` document (issue 5 §4): times
  are unix seconds (millisecond fractions when they have them), ``null`` means "did not
  happen";
- :func:`eval_json` is the ``rules eval --format json`` document: at each time, the
  firing and pending alerts (every alert name listed, ``[]`` when none) and the
  expressions evaluated over the data plus everything the rules wrote;
- :func:`replay_table` prints one row per episode: alertname, the labels that tell its
  instances apart, pending at, firing at, resolved at (or "dropped while pending", or
  "still firing"), firing duration and the first line of ``summary`` at firing; then
  :func:`instance_strip` (one character per evaluation: ``.`` nothing, ``p`` pending,
  ``F`` firing, ``k`` kept firing by ``keep_firing_for``, ``x`` the rule failed); then
  the rule errors;
- :func:`plot_timeline` draws one row per instance: pending amber, firing red, kept
  firing hatched, a marker at each resolution, and optionally a top panel with one
  alert's expression value and threshold.
"""

from __future__ import annotations

import bisect
import csv
import io
import json
import math
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import PromReplayError
from ..labels import format_go_float
from ..promql.nodes import format_duration
from ..result import format_api_time

if TYPE_CHECKING:
    from .replay import AlertInstance, ReplayResult

__all__ = [
    "STRIP_LEGEND",
    "episodes_csv",
    "episodes_frame",
    "eval_json",
    "format_value",
    "instance_strip",
    "plot_timeline",
    "promtool_test",
    "replay_json",
    "replay_table",
    "timeline_figure",
    "write_series",
]

STRIP_LEGEND = ". nothing   p pending   F firing   k kept firing (keep_firing_for)   x rule error"


def _t(ms: int | None) -> float | int | None:
    return None if ms is None else format_api_time(int(ms))


def format_value(v: float) -> str:
    """A sample value in ``eval`` JSON: Python's repr, or ``NaN``/``+Inf``/``-Inf``.

    >>> format_value(0.1), format_value(float("inf")), format_value(3.0)
    ('0.1', '+Inf', '3.0')
    """
    v = float(v)
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    return repr(v)


def _selected(rep: ReplayResult, alerts: Sequence[str] | None) -> list[AlertInstance]:
    if not alerts:
        return list(rep.instances)
    return [i for i in rep.instances if i.alertname in set(alerts)]


# ---- JSON ------------------------------------------------------------------------------------


def replay_json(rep: ReplayResult, alerts: Sequence[str] | None = None) -> dict[str, Any]:
    """The ``rules replay --format json`` document."""
    o = rep.options
    instances = []
    for inst in _selected(rep, alerts):
        eps = []
        for e in inst.episodes:
            eps.append(
                {
                    "active_at": _t(e.active_at),
                    "fired_at": _t(e.fired_at),
                    "resolved_at": _t(e.resolved_at),
                    "dropped_at": _t(e.dropped_at),
                    "annotations_at_firing": e.annotations_at_firing,
                    "annotations_last": e.annotations_last,
                    "value_at_firing": _go_value(e.value_at_firing),
                }
            )
        instances.append({"alertname": inst.alertname, "labels": inst.labels, "episodes": eps})
    return {
        "start": _t(rep.start),
        "end": _t(rep.end),
        "evaluation_interval": format_duration(o.evaluation_interval_ms),
        "align": o.align,
        "instances": instances,
        "errors": [
            {"time": _t(e.time), "group": e.group, "rule": e.rule, "error": e.message}
            for e in rep.errors
        ],
    }


def eval_json(rep: ReplayResult, times_ms: Sequence[int], exprs: Sequence[str]) -> dict[str, Any]:
    """The ``rules eval --format json`` document."""
    from ..store import Store

    out_store: Store = rep.output_store()
    stores = [rep.data, out_store]
    from ..promql.evaluator import instant_query

    qopts = rep._rp.qopts
    docs = []
    for t in times_ms:
        firing: dict[str, list] = {n: [] for n in rep.alert_names}
        pending: dict[str, list] = {n: [] for n in rep.alert_names}
        for a in rep.alerts_at(int(t)):
            if a.state == "firing":
                firing[a.alertname].append({"labels": a.labels, "annotations": a.annotations})
            else:
                pending[a.alertname].append(
                    {"labels": a.labels, "annotations": a.annotations, "active_at": _t(a.active_at)}
                )
        ex: dict[str, Any] = {}
        for e in exprs:
            try:
                res = instant_query(stores, e, int(t), qopts)
                if res.type == "scalar":
                    samples = [{"labels": {}, "value": format_value(res.values[0])}]
                elif res.type == "vector":
                    samples = [
                        {"labels": lab, "value": format_value(v[0])} for lab, _ts, v in res.series()
                    ]
                elif res.type == "string":
                    samples = [{"labels": {}, "value": res.string}]
                else:
                    samples = [
                        {
                            "labels": lab,
                            "values": [
                                [_t(int(x)), format_value(y)]
                                for x, y in zip(ts.tolist(), v.tolist(), strict=True)
                            ],
                        }
                        for lab, ts, v in res.series()
                    ]
                ex[e] = {"samples": samples}
            except PromReplayError as err:
                ex[e] = {"error": str(err)}
        docs.append({"time": _t(int(t)), "firing": firing, "pending": pending, "exprs": ex})
    return {"times": docs}


# ---- text ---------------------------------------------------------------------------------------


def _clock(ms: int | None, with_date: bool) -> str:
    if ms is None:
        return ""
    dt = datetime.fromtimestamp(ms / 1000, tz=UTC)
    s = dt.strftime("%Y-%m-%d %H:%M:%S" if with_date else "%H:%M:%S")
    if ms % 1000:
        s += f".{ms % 1000:03d}"
    return s


def _span(ms: int) -> str:
    return format_duration(int(ms)) if ms else "0s"


def _distinguishing(instances: list[AlertInstance]) -> dict[str, list[str]]:
    """Per alertname, the label names whose values differ between its instances."""
    by: dict[str, list[dict[str, str]]] = {}
    for i in instances:
        by.setdefault(i.alertname, []).append(i.labels)
    out = {}
    for name, sets in by.items():
        keys = sorted({k for s in sets for k in s} - {"alertname"})
        diff = [k for k in keys if len({s.get(k, "") for s in sets}) > 1]
        out[name] = diff or [k for k in keys if k not in ("severity",)][:1]
    return out


def _labels_text(labels: dict[str, str], names: list[str]) -> str:
    return ",".join(f"{k}={labels[k]}" for k in names if labels.get(k))


def _grid(rows: list[list[str]], header: list[str]) -> str:
    widths = [
        max(len(header[c]), *(len(r[c]) for r in rows)) if rows else len(header[c])
        for c in range(len(header))
    ]
    lines = [
        "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip(),
        "  ".join("-" * w for w in widths),
    ]
    for r in rows:
        lines.append("  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip())
    return "\n".join(lines)


def replay_table(
    rep: ReplayResult, alerts: Sequence[str] | None = None, *, strip: bool = True
) -> str:
    """The ``rules replay --format table`` text: episodes, strip, errors."""
    instances = _selected(rep, alerts)
    with_date = (rep.end // 86_400_000) != (rep.start // 86_400_000)
    diff = _distinguishing(instances)
    rows = []
    for inst in instances:
        for e in inst.episodes:
            if e.resolved_at is not None:
                end_text = _clock(e.resolved_at, with_date)
            elif e.dropped_at is not None:
                end_text = (
                    "dropped while pending"
                    if e.fired_at is None
                    else f"dropped {_clock(e.dropped_at, with_date)}"
                )
            elif e.fired_at is not None:
                end_text = "still firing"
            else:
                end_text = "still pending"
            dur = ""
            if e.fired_at is not None:
                stop = e.end if e.end is not None else rep.end
                dur = _span(stop - e.fired_at)
            summary = ""
            ann = e.annotations_at_firing if e.fired_at is not None else None
            if ann:
                summary = (ann.get("summary") or "").splitlines()[0] if ann.get("summary") else ""
            rows.append(
                [
                    inst.alertname,
                    _labels_text(inst.labels, diff[inst.alertname]),
                    _clock(e.active_at, with_date),
                    _clock(e.fired_at, with_date),
                    end_text,
                    dur,
                    summary,
                ]
            )
    day = datetime.fromtimestamp(rep.start / 1000, tz=UTC).strftime("%Y-%m-%d")
    head = (
        f"Replay {_clock(rep.start, True)} .. {_clock(rep.end, True)} UTC, "
        f"align {rep.options.align}, "
        f"evaluation interval {format_duration(rep.options.evaluation_interval_ms)}"
    )
    parts = [head, ""]
    if rows:
        parts.append(
            _grid(
                rows,
                [
                    "ALERT",
                    "LABELS",
                    "PENDING AT",
                    "FIRING AT",
                    "RESOLVED AT",
                    "FIRING FOR",
                    "SUMMARY AT FIRING",
                ],
            )
        )
        if not with_date:
            parts.append(f"(times are UTC on {day})")
    else:
        parts.append("No alert was pending or firing.")
    if strip and instances:
        parts += ["", instance_strip(rep, alerts)]
    parts.append("")
    if rep.errors:
        parts.append(f"Rule errors ({len(rep.errors)}):")
        for e in rep.errors:
            parts.append(
                f"  {_clock(e.time, True)}  group {e.group!r}, rule {e.rule!r}: {e.message}"
            )
    else:
        parts.append("No rule errors.")
    return "\n".join(parts)


def instance_strip(rep: ReplayResult, alerts: Sequence[str] | str | None = None) -> str:
    """One line per alert instance, one character per evaluation of its group."""
    if isinstance(alerts, str):
        alerts = [alerts]
    instances = _selected(rep, alerts)
    diff = _distinguishing(instances)
    rules = {rr.pos: rr for rr in rep._rp.rules_}
    error_times: dict[int, set[int]] = {}
    for e in rep._rp._errors:
        error_times.setdefault(e[1], set()).add(e[0])
    lines = []
    names = [f"{i.alertname}{{{_labels_text(i.labels, diff[i.alertname])}}}" for i in instances]
    width = max((len(n) for n in names), default=0)
    for inst, name in zip(instances, names, strict=True):
        rr = rules[inst.rule_index]
        key = tuple(sorted(inst.labels.items()))
        chars = []
        for t in rr.times.tolist():
            if t < rep.start:
                continue
            if t in error_times.get(rr.pos, ()):
                chars.append("x")
                continue
            i = bisect.bisect_right(rr.snap_times, t) - 1
            c = "."
            if i >= 0 and rr.snap_times[i] == t:
                for s in rr.snaps[i]:
                    if s.key == key:
                        c = "p" if s.state == "pending" else ("k" if s.kept else "F")
                        break
            chars.append(c)
        lines.append(f"{name.ljust(width)}  {''.join(chars)}")
    if not lines:
        return ""
    first = next((t for t in rep.evaluation_times() if t >= rep.start), rep.start)
    return "\n".join(
        [f"Per-instance strip from {_clock(first, True)} UTC ({STRIP_LEGEND}):", *lines]
    )


# ---- tables ---------------------------------------------------------------------------------


#: the columns of :func:`episodes_csv` and :func:`episodes_frame`, one row per episode
EPISODE_COLUMNS = (
    "alertname",
    "group",
    "labels",
    "active_at",
    "fired_at",
    "resolved_at",
    "dropped_at",
    "value_at_firing",
    "summary_at_firing",
)


def _go_value(v: float | None) -> str | None:
    """An alert's value as Prometheus prints it, or None."""
    return None if v is None else format_go_float(v)


def _episode_rows(rep: ReplayResult, alerts: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """One dict per episode, keyed by :data:`EPISODE_COLUMNS` (labels as a dict)."""
    rows = []
    for inst in _selected(rep, alerts):
        for e in inst.episodes:
            ann = e.annotations_at_firing or {}
            values = (
                inst.alertname,
                inst.group,
                inst.labels,
                _t(e.active_at),
                _t(e.fired_at),
                _t(e.resolved_at),
                _t(e.dropped_at),
                _go_value(e.value_at_firing),
                ann.get("summary"),
            )
            rows.append(dict(zip(EPISODE_COLUMNS, values, strict=True)))
    return rows


def episodes_csv(rep: ReplayResult, alerts: Sequence[str] | None = None) -> str:
    """One CSV row per episode (labels as JSON with sorted keys)."""
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=EPISODE_COLUMNS, lineterminator="\n")
    w.writeheader()
    for r in _episode_rows(rep, alerts):
        r["labels"] = json.dumps(r["labels"], sort_keys=True)
        w.writerow({k: ("" if v is None else v) for k, v in r.items()})
    return buf.getvalue()


def episodes_frame(rep: ReplayResult, alerts: Sequence[str] | None = None):
    """A ``pandas.DataFrame`` with one row per episode (times as UTC timestamps)."""
    import pandas as pd

    df = pd.DataFrame(_episode_rows(rep, alerts), columns=list(EPISODE_COLUMNS))
    for c in ("active_at", "fired_at", "resolved_at", "dropped_at"):
        df[c] = pd.to_datetime(df[c].astype("float64"), unit="s", utc=True)
    return df


# ---- outputs ----------------------------------------------------------------------------------


def write_series(rep: ReplayResult, path: str) -> None:
    """Save the recorded series, ``ALERTS`` and ``ALERTS_FOR_STATE`` (stale markers kept)
    as a store that ``promreplay query`` opens."""
    rep.output_store().save(path)


# ---- promtool test files -----------------------------------------------------------------------


def promtool_test(
    rep: ReplayResult,
    rule_files: Sequence[str],
    input_series: Sequence[tuple[str, str]],
    *,
    input_interval_ms: int,
    eval_times_ms: Sequence[int],
    exprs: Sequence[str] = (),
    name: str = "replay",
) -> dict[str, Any]:
    """A ``promtool test rules`` document that pins what the replay found.

    The replay must use ``align="promtool"`` from the test's origin (``rep.start``) over
    the data that ``input_series`` describes (promqltest notation, one sample per
    ``input_interval_ms`` from the origin). At each eval time (ms after the origin) it
    expects, for every alert name, the firing alerts of the replay, and the value of
    each expression over the data plus the rule outputs (samples whose value is NaN are
    left out of the file: promtool's exact comparison never accepts them). The groups'
    order is written as ``group_eval_order``: promtool otherwise picks one at random.
    """
    from ..labels import format_labels_go

    alerts = []
    names = rep.alert_names
    exprs_out = []
    for et in eval_times_ms:
        t = rep.start + int(et)
        firing = rep.alerts_at(t, state="firing")
        for n in names:
            exp = [
                {
                    "exp_labels": {k: v for k, v in a.labels.items() if k != "alertname"},
                    "exp_annotations": dict(a.annotations),
                }
                for a in firing
                if a.alertname == n
            ]
            alerts.append(
                {"eval_time": format_duration(int(et)), "alertname": n, "exp_alerts": exp}
            )
        for e in exprs:
            res = rep.query(e, time_ms=t)
            samples = []
            for lab, _ts, vals in res.series():
                v = float(vals[0])
                if math.isnan(v):
                    continue
                samples.append({"labels": format_labels_go(lab) if lab else "{}", "value": v})
            exprs_out.append(
                {"expr": e, "eval_time": format_duration(int(et)), "exp_samples": samples}
            )
    group: dict[str, Any] = {
        "name": name,
        "interval": format_duration(int(input_interval_ms)),
        "input_series": [{"series": s, "values": v} for s, v in input_series],
        "alert_rule_test": alerts,
        "promql_expr_test": exprs_out,
    }
    if rep.options.external_labels:
        group["external_labels"] = dict(rep.options.external_labels)
    if rep.options.external_url:
        group["external_url"] = rep.options.external_url
    doc: dict[str, Any] = {
        "rule_files": list(rule_files),
        "evaluation_interval": format_duration(rep.options.evaluation_interval_ms),
    }
    names = [g.name for g in rep._rp.groups]
    if len(names) > 1 and len(set(names)) == len(names):
        # without it promtool evaluates groups in Go map order, which varies between runs
        doc["group_eval_order"] = names
    doc["tests"] = [group]
    return doc


# ---- the picture ------------------------------------------------------------------------------


def _threshold(node) -> tuple[Any, float] | None:
    from ..promql import nodes as N

    while isinstance(node, N.ParenExpr):
        node = node.expr
    if (
        isinstance(node, N.BinaryExpr)
        and node.op in ("<", ">", "<=", ">=", "==", "!=")
        and not node.return_bool
    ):
        rhs = node.rhs
        while isinstance(rhs, N.ParenExpr):
            rhs = rhs.expr
        if isinstance(rhs, N.NumberLiteral):
            return node.lhs, rhs.value
    return None


def plot_timeline(
    rep: ReplayResult,
    path: str,
    *,
    values_for: str | None = None,
    alerts: Sequence[str] | None = None,
) -> None:
    """A Gantt-like PNG of the replay (see the module doc): :func:`timeline_figure`, saved."""
    fig = timeline_figure(rep, values_for=values_for, alerts=alerts)
    import matplotlib.pyplot as plt  # after timeline_figure chose the Agg backend

    fig.savefig(path, dpi=110)
    plt.close(fig)


def timeline_figure(
    rep: ReplayResult,
    *,
    values_for: str | None = None,
    alerts: Sequence[str] | None = None,
):
    """The ``matplotlib`` figure :func:`plot_timeline` saves: the Gantt rows are the last
    axes, one y tick per instance (top row first); ``values_for`` adds the top panel."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    instances = _selected(rep, alerts)
    diff = _distinguishing(instances)
    n = max(len(instances), 1)
    top = values_for is not None
    heights = [2.2, max(1.2, 0.35 * n)] if top else [max(1.2, 0.35 * n)]
    fig, axes = plt.subplots(
        len(heights),
        1,
        figsize=(11, sum(heights) + 1.2),
        sharex=True,
        gridspec_kw={"height_ratios": heights},
        squeeze=False,
    )
    ax = axes[-1][0]

    def dt(ms: int) -> float:
        return mdates.date2num(datetime.fromtimestamp(ms / 1000, tz=UTC))

    end = rep.end
    labels = []
    for row, inst in enumerate(instances):
        y = len(instances) - 1 - row
        labels.append(f"{inst.alertname} {_labels_text(inst.labels, diff[inst.alertname])}")
        for e in inst.episodes:
            stop = e.end if e.end is not None else end
            fire = e.fired_at if e.fired_at is not None else stop
            a = max(e.active_at, rep.start)
            if fire > a:
                ax.broken_barh([(dt(a), dt(fire) - dt(a))], (y - 0.35, 0.7), color="#f5a623")
            if e.fired_at is not None and stop > e.fired_at:
                f0 = max(e.fired_at, rep.start)
                ax.broken_barh([(dt(f0), dt(stop) - dt(f0))], (y - 0.35, 0.7), color="#d0021b")
                for k0, k1 in e.kept:
                    k1 = k1 if k1 is not None else stop
                    ax.broken_barh(
                        [(dt(k0), dt(k1) - dt(k0))],
                        (y - 0.35, 0.7),
                        facecolor="#d0021b",
                        hatch="///",
                        edgecolor="white",
                    )
            if e.resolved_at is not None:
                ax.plot([dt(e.resolved_at)], [y], marker="|", markersize=16, color="black")
            if e.dropped_at is not None:
                ax.plot([dt(e.dropped_at)], [y], marker="x", markersize=7, color="black")
    ax.set_yticks(range(len(instances)))
    ax.set_yticklabels(list(reversed(labels)), fontsize=8)
    ax.set_ylim(-0.8, n - 0.2)
    ax.set_xlim(dt(rep.start), dt(end))
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M", tz=UTC))
    ax.set_xlabel("time (UTC)")
    ax.legend(
        handles=[
            Patch(color="#f5a623", label="pending"),
            Patch(color="#d0021b", label="firing"),
            Patch(facecolor="#d0021b", hatch="///", edgecolor="white", label="kept firing"),
        ],
        loc="upper left",
        fontsize=8,
        ncol=3,
    )
    if not instances:
        ax.text(0.5, 0.5, "no alert was pending or firing", transform=ax.transAxes, ha="center")
    if top:
        _values_panel(rep, axes[0][0], values_for, dt)
    fig.suptitle(
        f"Alert replay ({rep.options.align} clock, "
        f"{format_duration(rep.options.evaluation_interval_ms)} interval)"
    )
    fig.tight_layout()
    return fig


def _values_panel(rep: ReplayResult, ax, name: str, dt) -> None:
    from ..promql.evaluator import range_query

    rule = next((rr for rr in rep._rp.rules_ if rr.is_alert and rr.name == name), None)
    if rule is None:
        raise PromReplayError(f"--plot-values: no alerting rule named {name!r}")
    times = [t for t in rule.times.tolist() if t >= rep.start]
    th = _threshold(rule.node)
    expr = th[0] if th else rule.node
    if len(times) >= 2:
        res = range_query(
            [rep.data, rep.output_store()],
            expr,
            times[0] - rule.offset,
            times[-1] - rule.offset,
            times[1] - times[0],
            rep._rp.qopts,
        )
        series = res.series()[:12]
        varying = sorted({k for lab, _, _ in series for k in lab
                          if len({x[0].get(k) for x in series}) > 1} - {"__name__"})
        for lab, ts, vals in series:
            short = ",".join(f"{k}={lab.get(k, '')}" for k in varying)[:60]
            ax.plot(
                [dt(int(x) + rule.offset) for x in ts.tolist()], vals, lw=1.2, label=short or name
            )
        if res.labels.n:
            ax.legend(fontsize=7, loc="upper left")
    if th:
        ax.axhline(th[1], color="black", ls="--", lw=1)
        ax.text(
            0.995,
            th[1],
            f"threshold {format_go_float(th[1])}",
            transform=ax.get_yaxis_transform(),
            ha="right",
            va="bottom",
            fontsize=8,
        )
    ax.set_title(f"{name}: {'expression value' if not th else str(th[0])}", fontsize=9)
    _ = np  # numpy is used by callers through the result arrays
