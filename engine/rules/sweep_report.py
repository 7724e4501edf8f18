"""What a sweep shows: the variant table, one JSON document, CSV, pandas, the heat map.

- :func:`sweep_table`: one row per variant (threshold, for, keep_firing_for), with the
  number of firing episodes, the total firing time, the time from the start to the
  first fire, the episodes per alert instance (by the labels that tell instances
  apart), and the rule errors when there are any; ``*`` marks the rule as written;
  durations are rounded to the second there (JSON and CSV keep milliseconds);
- :func:`sweep_json`: the ``rules sweep --format json`` document; times are unix seconds
  and ``null`` means "did not happen", as in ``rules replay --format json``;
- :func:`sweep_csv`/:func:`sweep_frame`: one row per variant;
- :func:`plot_heatmap`: threshold (x) by ``for`` (y), one panel per ``keep_firing_for``,
  coloured by firing episodes or firing time, each cell labelled with its value.

Thresholds print as Go prints floats (``0.05``, ``1e+06``); JSON holds them as numbers,
or as the strings ``"+Inf"``/``"-Inf"``/``"NaN"``, which JSON has no numbers for.
"""

from __future__ import annotations

import csv
import io
import json
import math
from typing import TYPE_CHECKING, Any

from ..labels import format_go_float
from ..promql.nodes import format_duration
from .report import _clock, _distinguishing, _grid, _labels_text, _span, _t

if TYPE_CHECKING:
    from .sweep import SweepResult, VariantResult

__all__ = ["plot_heatmap", "sweep_csv", "sweep_frame", "sweep_json", "sweep_table"]

#: ``plot_heatmap`` metrics: colour by firing episodes or by firing time (minutes).
METRICS = ("episodes", "time")


def _num(v: float) -> float | str:
    v = float(v)
    return v if math.isfinite(v) else format_go_float(v)


def _seconds(ms: int | None) -> float | int | None:
    return None if ms is None else _t(ms)


def _variant_fields(res: SweepResult, v: VariantResult) -> dict[str, Any]:
    w, s = v.variant, v.summary
    return {
        "threshold": _num(w.threshold),
        "for": format_duration(w.for_ms),
        "keep_firing_for": format_duration(w.keep_firing_for_ms),
        "firing_episodes": s.firing_episodes,
        "firing_seconds": _seconds(s.firing_ms),
        "first_fired_at": None if s.first_fire_ms is None else _t(res.start + s.first_fire_ms),
        "time_to_first_fire_seconds": _seconds(s.first_fire_ms),
        "instances_firing": len(s.instances),
    }


def sweep_json(res: SweepResult) -> dict[str, Any]:
    """The ``rules sweep --format json`` document."""
    o = res.options
    w = res.as_written
    variants = []
    for v in res.variants:
        per = {tuple(sorted(i.labels.items())): i for i in v.summary.instances}
        instances = []
        for inst in v.instances:
            s = per.get(tuple(sorted(inst.labels.items())))
            instances.append(
                {
                    "labels": inst.labels,
                    "firing_episodes": 0 if s is None else s.firing_episodes,
                    "firing_seconds": 0 if s is None else _seconds(s.firing_ms),
                    "episodes": [
                        {
                            "active_at": _t(e.active_at),
                            "fired_at": _t(e.fired_at),
                            "resolved_at": _t(e.resolved_at),
                            "dropped_at": _t(e.dropped_at),
                        }
                        for e in inst.episodes
                    ],
                }
            )
        variants.append(
            {
                **_variant_fields(res, v),
                "as_written": v.variant == w,
                "instances": instances,
                "errors": [{"time": _t(e.time), "error": e.message} for e in v.errors],
            }
        )
    return {
        "alertname": res.alertname,
        "group": res.group,
        "expr": res.threshold.text(),
        "as_written": {
            "threshold": _num(w.threshold),
            "for": format_duration(w.for_ms),
            "keep_firing_for": format_duration(w.keep_firing_for_ms),
        },
        "start": _t(res.start),
        "end": _t(res.end),
        "evaluation_interval": format_duration(o.evaluation_interval_ms),
        "align": o.align,
        "evaluations": len(res.evaluation_times),
        "variants": variants,
    }


def _instances_text(v: VariantResult, names: list[str]) -> str:
    parts = []
    for i in v.summary.instances:
        who = _labels_text(i.labels, names) or "{}"
        if len(names) == 1 and who.startswith(f"{names[0]}="):
            who = who[len(names[0]) + 1 :]
        parts.append(f"{who}:{i.firing_episodes}")
    return " ".join(parts)


def _first_fire(res: SweepResult, ms: int | None, with_date: bool) -> str:
    """``22:33:00 (+14m34s)``: when, and how long after the start (to the second)."""
    if ms is None:
        return "-"
    return f"{_clock(res.start + ms, with_date)} (+{_seconds_span(ms)})"


def _seconds_span(ms: int) -> str:
    """A duration rounded to the second, for the table (JSON keeps milliseconds)."""
    return _span(int(round(ms / 1000)) * 1000)


def sweep_table(res: SweepResult) -> str:
    """The ``rules sweep --format table`` text."""
    from .replay import AlertInstance

    every: list[AlertInstance] = [i for v in res.variants for i in v.instances]
    names = _distinguishing(every).get(res.alertname, [])
    with_errors = any(v.errors for v in res.variants)
    header = [
        "",
        "THRESHOLD",
        "FOR",
        "KEEP FIRING FOR",
        "EPISODES",
        "FIRING FOR",
        "FIRST FIRE",
        "EPISODES PER " + (names[0] if len(names) == 1 else "INSTANCE"),
    ]
    if with_errors:
        header.append("ERRORS")
    written = res.as_written
    with_date = (res.end // 86_400_000) != (res.start // 86_400_000)
    rows = []
    for v in res.variants:
        w, s = v.variant, v.summary
        row = [
            "*" if w == written else "",
            format_go_float(w.threshold),
            _span(w.for_ms),
            _span(w.keep_firing_for_ms),
            str(s.firing_episodes),
            _seconds_span(s.firing_ms),
            _first_fire(res, s.first_fire_ms, with_date),
            _instances_text(v, names),
        ]
        if with_errors:
            row.append(str(len(v.errors)) if v.errors else "")
        rows.append(row)
    o = res.options
    head = (
        f"Sweep of {res.alertname} (group {res.group!r}): {res.threshold.text()}\n"
        f"{_clock(res.start, True)} .. {_clock(res.end, True)} UTC, align {o.align}, "
        f"evaluation interval {format_duration(o.evaluation_interval_ms)}, "
        f"{len(res.evaluation_times)} evaluations; * = the rule as written"
    )
    return "\n".join([head, "", _grid(rows, header)])


_CSV_COLUMNS = [
    "threshold",
    "for",
    "keep_firing_for",
    "firing_episodes",
    "firing_seconds",
    "first_fired_at",
    "time_to_first_fire_seconds",
    "instances_firing",
    "errors",
    "episodes_per_instance",
]


def _rows(res: SweepResult) -> list[dict[str, Any]]:
    rows = []
    for v in res.variants:
        r = _variant_fields(res, v)
        r["errors"] = len(v.errors)
        r["episodes_per_instance"] = json.dumps(
            [
                {"labels": i.labels, "firing_episodes": i.firing_episodes}
                for i in v.summary.instances
            ],
            sort_keys=True,
        )
        rows.append(r)
    return rows


def sweep_csv(res: SweepResult) -> str:
    """One CSV row per variant (empty cells for "did not happen")."""
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=_CSV_COLUMNS, lineterminator="\n")
    w.writeheader()
    for r in _rows(res):
        w.writerow({k: ("" if r[k] is None else r[k]) for k in _CSV_COLUMNS})
    return buf.getvalue()


def sweep_frame(res: SweepResult):
    """A ``pandas.DataFrame`` with one row per variant."""
    import pandas as pd

    rows = _rows(res)
    for r in rows:
        r["episodes_per_instance"] = json.loads(r["episodes_per_instance"])
    return pd.DataFrame(rows, columns=_CSV_COLUMNS)


def plot_heatmap(res: SweepResult, path: str, *, metric: str = "episodes") -> None:
    """A PNG heat map: threshold by ``for``, one panel per ``keep_firing_for``, coloured
    by ``metric`` (``episodes``: firing episodes; ``time``: firing minutes)."""
    if metric not in METRICS:
        from ..errors import PromReplayError

        raise PromReplayError(f"unknown heat-map metric {metric!r} (use episodes or time)")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    ths = list(dict.fromkeys(v.variant.threshold for v in res.variants))
    fors = list(dict.fromkeys(v.variant.for_ms for v in res.variants))
    keeps = list(dict.fromkeys(v.variant.keep_firing_for_ms for v in res.variants))
    grids = np.zeros((len(keeps), len(fors), len(ths)))
    for v in res.variants:
        w, s = v.variant, v.summary
        val = s.firing_episodes if metric == "episodes" else s.firing_ms / 60_000
        grids[keeps.index(w.keep_firing_for_ms), fors.index(w.for_ms), ths.index(w.threshold)] = val
    vmax = max(float(grids.max()), 1.0)
    fig, axes = plt.subplots(
        1,
        len(keeps),
        figsize=(max(4.0, 0.8 * len(ths) + 2.5) * len(keeps), 0.5 * len(fors) + 2.2),
        squeeze=False,
    )
    label = "firing episodes" if metric == "episodes" else "firing time (minutes)"
    im = None
    for p, k in enumerate(keeps):
        ax = axes[0][p]
        im = ax.imshow(grids[p], cmap="Reds", vmin=0, vmax=vmax, aspect="auto", origin="lower")
        ax.set_xticks(range(len(ths)), [format_go_float(t) for t in ths])
        ax.set_yticks(range(len(fors)), [_span(f) for f in fors])
        ax.set_xlabel(f"threshold ({res.threshold.text()})", fontsize=8)
        if p == 0:
            ax.set_ylabel("for")
        ax.set_title(f"keep_firing_for {_span(k)}", fontsize=9)
        for y in range(len(fors)):
            for x in range(len(ths)):
                val = grids[p, y, x]
                text = f"{int(val)}" if metric == "episodes" else f"{val:.3g}"
                ax.text(
                    x,
                    y,
                    text,
                    ha="center",
                    va="center",
                    fontsize=8,
                    color="white" if val > 0.6 * vmax else "black",
                )
    assert im is not None
    fig.colorbar(im, ax=axes[0].tolist(), label=label)
    fig.suptitle(f"{res.alertname}: {label}", fontsize=10)
    fig.savefig(path, dpi=110)
    plt.close(fig)
