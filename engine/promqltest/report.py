"""Reporting run outcomes: failure blocks, the summary line, the ``--json`` file.

>>> from engine.promqltest.runner import EvalRecord
>>> recs = [EvalRecord("a.test", 3, "up", "pass"),
...         EvalRecord("a.test", 7, "x", "fail", "wrong\\nexpected: 1"),
...         EvalRecord("a.test", 9, "y", "skip", "tier nh")]
>>> summary_line(recs)
'1 passed, 1 failed, 1 skipped'
>>> print(format_failure(recs[1]))
FAIL a.test:7: x
    wrong
    expected: 1
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from .runner import EvalRecord

__all__ = ["counts", "format_failure", "summary_line", "write_json"]


def counts(records: Iterable[EvalRecord]) -> tuple[int, int, int]:
    """``(passed, failed, skipped)``."""
    n = {"pass": 0, "fail": 0, "skip": 0}
    for r in records:
        n[r.status] += 1
    return n["pass"], n["fail"], n["skip"]


def summary_line(records: Iterable[EvalRecord]) -> str:
    p, f, s = counts(records)
    return f"{p} passed, {f} failed, {s} skipped"


def format_failure(r: EvalRecord) -> str:
    """``FAIL file:line: expr`` and the indented message (expected and got)."""
    body = "\n".join("    " + line for line in r.message.splitlines())
    return f"FAIL {r.file}:{r.line}: {r.expr}" + (f"\n{body}" if body else "")


def write_json(records: Iterable[EvalRecord], path: str | Path) -> None:
    """A JSON array with one object per record (one object per line, for diffs)."""
    rows = [json.dumps(r.as_json(), ensure_ascii=False) for r in records]
    Path(path).write_text(
        "[\n" + ",\n".join(rows) + ("\n" if rows else "") + "]\n", encoding="utf-8"
    )
