"""Replays pinned into promtool test files, run by both the real ``promtool test rules``
(the oracle) and ``promreplay rules test``: shared by the oracle tests of tests/rules."""

from __future__ import annotations

import io
import re
import subprocess

import numpy as np
import yaml
from oracle import require_prometheus

from engine.promqltest.notation import parse_series_desc
from engine.rules.load import load
from engine.rules.replay import ReplayOptions, run_replay
from engine.rules.report import promtool_test
from engine.rules.unittest import TestOptions, run_files
from engine.store import StoreBuilder


def data_store(series: list[tuple[str, str]], interval_ms: int):
    """The store a promtool test group's ``input_series`` describe (one sample per
    ``interval_ms`` from 0; ``_`` leaves a step out)."""
    b = StoreBuilder()
    for desc, values in series:
        d = parse_series_desc(f"{desc} {values}")
        sid = b.series_id(d.labels)
        ts = [k * interval_ms for k, v in enumerate(d.values) if not v.omitted]
        vs = [v.value for v in d.values if not v.omitted]
        b.append(np.full(len(ts), sid), np.array(ts), np.array(vs))
    return b.finish()


def replay_and_pin(tmp, rules, series, interval_ms, eval_times_ms, exprs):
    """Replay ``rules`` (written to ``tmp/rules.yml``) over ``series`` as promtool would
    (its alignment, 1m evaluations, external label ``cluster="c1"``, its 10000-sample
    limit) up to the last of ``eval_times_ms``, and pin the replay into a promtool test
    document: ``(replay, document)``."""
    (tmp / "rules.yml").write_text(rules)
    rep = run_replay(
        load(str(tmp / "rules.yml")),
        data_store(series, interval_ms),
        0,
        max(eval_times_ms),
        ReplayOptions(
            align="promtool",
            evaluation_interval_ms=60_000,
            external_labels={"cluster": "c1"},
            max_samples=10_000,
        ),
    )
    doc = promtool_test(
        rep,
        ["rules.yml"],
        series,
        input_interval_ms=interval_ms,
        eval_times_ms=eval_times_ms,
        exprs=exprs,
    )
    return rep, doc


def failing(stderr: str) -> set[tuple[str, str]]:
    """The failing ``(alertname|"expr", eval_time)`` pairs of promtool's output."""
    alerts = set(re.findall(r"alertname: (\S+), time: (\S+), ", stderr))
    exprs = set(re.findall(r'expr: (".*?"), time: (\S+?),', stderr))
    return alerts | exprs


def rule_errors(stderr: str) -> list[str]:
    """The ``rule: ..., time: ..., err: ...`` lines of promtool's output."""
    return [ln.strip() for ln in stderr.splitlines() if ln.strip().startswith("rule: ")]


def run_both(tmp, doc, name):
    """Write ``doc`` as ``tmp/<name>.yml`` and run it with promtool and with promreplay:
    ``((exit code, failing pairs, stderr), (the same for promreplay))``."""
    path = tmp / f"{name}.yml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    _, promtool = require_prometheus()
    p = subprocess.run(
        [promtool, "test", "rules", str(path)], capture_output=True, text=True, timeout=120
    )
    err = io.StringIO()
    code = run_files([str(path)], TestOptions(), out=io.StringIO(), err=err)
    return (p.returncode, failing(p.stderr), p.stderr), (
        code,
        failing(err.getvalue()),
        err.getvalue(),
    )
