"""The replay API's tables and picture: ``rep.to_pandas()`` (one row per episode) and
``rep.plot()`` / ``report.timeline_figure`` (one Gantt row per alert instance)."""

from __future__ import annotations

import matplotlib.dates as mdates
import pandas as pd
import pytest
from matplotlib.colors import to_hex
from replay_helpers import M, replay, store, up

from engine.rules.report import timeline_figure

RULES = """
groups:
- name: g
  rules:
  - alert: Down
    expr: up == 0
    for: 2m
    annotations: {summary: "{{ $labels.instance }} down"}
"""
AMBER, RED = "#f5a623", "#d0021b"


@pytest.fixture(scope="module")
def rep():
    # a: pending 2m, firing 4m, resolved 6m; b: pending 7m, dropped 8m
    data = store(
        {
            **up([1, 0, 0, 0, 0, 1, 1, 1, 1], instance="a"),
            **up([1, 1, 1, 1, 1, 1, 0, 1, 1], instance="b"),
        }
    )
    return replay(RULES, data, M, 9 * M)


def ts(minutes):
    return pd.Timestamp(minutes * 60, unit="s", tz="UTC")


def test_to_pandas_has_one_row_per_episode(rep):
    df = rep.to_pandas()
    assert list(df.columns) == [
        "alertname",
        "group",
        "labels",
        "active_at",
        "fired_at",
        "resolved_at",
        "dropped_at",
        "value_at_firing",
        "summary_at_firing",
    ]
    assert df["labels"].tolist() == [
        {"alertname": "Down", "instance": "a"},
        {"alertname": "Down", "instance": "b"},
    ]
    assert df["group"].tolist() == ["g", "g"]
    assert df["active_at"].tolist() == [ts(2), ts(7)]
    assert df["fired_at"].iloc[0] == ts(4) and pd.isna(df["fired_at"].iloc[1])
    assert df["resolved_at"].iloc[0] == ts(6) and pd.isna(df["resolved_at"].iloc[1])
    assert pd.isna(df["dropped_at"].iloc[0]) and df["dropped_at"].iloc[1] == ts(8)
    assert df["value_at_firing"].iloc[0] == "0" and pd.isna(df["value_at_firing"].iloc[1])
    assert df["summary_at_firing"].iloc[0] == "a down"
    assert pd.isna(df["summary_at_firing"].iloc[1])
    assert str(df["active_at"].dt.tz) == "UTC"


def bars(ax):
    """``(row, colour, start ms, end ms)`` of every bar of the Gantt axes."""
    out = []
    for coll in ax.collections:
        colour = to_hex(coll.get_facecolor()[0])
        for path in coll.get_paths():
            (x0, y0), (x1, y1) = path.vertices.min(axis=0), path.vertices.max(axis=0)
            t0, t1 = (round(mdates.num2date(x).timestamp() * 1000) for x in (x0, x1))
            out.append((round((y0 + y1) / 2), colour, t0, t1))
    return sorted(out)


def test_timeline_has_a_row_per_instance_with_its_episodes(rep):
    fig = timeline_figure(rep)
    ax = fig.axes[-1]
    # rows from the top: one per instance
    names = [t.get_text() for t in ax.get_yticklabels()][::-1]
    assert names == ["Down instance=a", "Down instance=b"]
    row_a, row_b = 1, 0
    assert bars(ax) == [
        (row_b, AMBER, 7 * M, 8 * M),
        (row_a, RED, 4 * M, 6 * M),
        (row_a, AMBER, 2 * M, 4 * M),
    ]
    marks = sorted(
        (round(line.get_ydata()[0]), line.get_marker(),
         round(mdates.num2date(line.get_xdata()[0]).timestamp() * 1000))
        for line in ax.lines
    )  # fmt: skip
    assert marks == [(row_b, "x", 8 * M), (row_a, "|", 6 * M)]


def test_values_panel_shows_the_expression_and_threshold(rep):
    fig = timeline_figure(rep, values_for="Down")
    top, gantt = fig.axes[0], fig.axes[-1]
    assert len(fig.axes) == 2 and len(gantt.get_yticklabels()) == 2
    assert top.get_title() == "Down: up"
    # one line per instance, and the dashed threshold at 0
    dashed = [ln for ln in top.lines if ln.get_linestyle() == "--"]
    assert [tuple(ln.get_ydata()) for ln in dashed] == [(0, 0)]
    assert len(top.lines) - len(dashed) == 2


def test_plot_writes_the_png(rep, tmp_path):
    path = tmp_path / "t.png"
    rep.plot(str(path))
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
