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
