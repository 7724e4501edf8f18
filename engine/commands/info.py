"""`promreplay info STORE|CAPTURE [--top N] [--json]`: what a store or capture holds.

Prints, as ``rich`` tables: series, samples, exemplars, the time range, memory, rejected
duplicate samples, the top metrics by series count, and the parse warnings.
``--json`` prints the same facts as one JSON object instead.

Example::

    $ promreplay info mesh.parquet --top 3
    ...
    │ Series      │ 1,204                                             │
    │ Time range  │ 2024-05-01 10:00:00.000Z → 2024-05-01 11:00:00.000Z │
    ...
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

import engine

from ..errors import IngestError
from ..store import Store

#: Warnings listed in the table view; the rest are counted.
SHOWN_WARNINGS = 20


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:  # type: ignore[type-arg]
    p = sub.add_parser(
        "info",
        help="series, samples, time range, top metrics, parse warnings",
        description="Summarise a saved store, capture folder or dump file.",
    )
    p.add_argument("data", metavar="STORE|CAPTURE", help="saved store, capture folder or dump file")
    p.add_argument(
        "--top", type=_count, default=10, metavar="N", help="metrics to list (default 10)"
    )
    p.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    return p


def _count(text: str) -> int:
    n = int(text)
    if n < 0:
        raise argparse.ArgumentTypeError("must be >= 0")
    return n


def summary(store: Store, top: int = 10) -> dict[str, Any]:
    """The facts ``info`` prints, as plain data (times in unix seconds).

    >>> from engine.store import StoreBuilder
    >>> import numpy as np
    >>> b = StoreBuilder()
    >>> ids = b.series_ids([(("__name__", "up"), ("job", "a")), (("__name__", "up"), ("job", "b"))])
    >>> b.append(ids, np.array([1000, 61000]), np.array([1.0, 1.0]))
    >>> s = summary(b.finish())
    >>> s["series"], s["samples"], s["min_time"], s["max_time"], s["top_metrics"]
    (2, 2, 1.0, 61.0, [['up', 2]])
    """
    st = store.stats()
    return {
        "series": st["series"],
        "samples": st["samples"],
        "exemplars": st["exemplars"],
        "min_time": st["min_time"],
        "max_time": st["max_time"],
        "bytes": st["bytes"],
        "rejected_duplicates": st["rejected_duplicates"],
        "metric_families": len(store.metadata),
        "top_metrics": [[name, n] for name, n in store.top_metrics(top)],
        "warnings": list(store.warnings),
    }


def run(args: argparse.Namespace) -> int:
    source = Path(args.data)
    if not source.exists():
        raise IngestError("no such file or folder", file=str(source))
    facts = summary(engine.open(source), args.top)
    if args.json:
        json.dump(facts, sys.stdout, indent=1)
        sys.stdout.write("\n")
        return 0
    render(facts, str(source), Console())
    return 0


def render(facts: dict[str, Any], title: str, console: Console) -> None:
    """Print ``facts`` (from :func:`summary`) as tables."""
    overview = Table(title=title, show_header=False)
    overview.add_column(style="bold")
    overview.add_column()
    overview.add_row("Series", f"{facts['series']:,}")
    overview.add_row("Samples", f"{facts['samples']:,}")
    overview.add_row("Exemplars", f"{facts['exemplars']:,}")
    overview.add_row("Time range", _time_range(facts["min_time"], facts["max_time"]))
    overview.add_row("Metric families", f"{facts['metric_families']:,}")
    overview.add_row("Memory", _bytes(facts["bytes"]))
    overview.add_row("Rejected duplicates", f"{facts['rejected_duplicates']:,}")
    overview.add_row("Parse warnings", f"{len(facts['warnings']):,}")
    console.print(overview)
    if facts["top_metrics"]:
        top = Table(title="Top metrics by series count")
        top.add_column("Metric")
        top.add_column("Series", justify="right")
        for name, n in facts["top_metrics"]:
            top.add_row(name, f"{n:,}")
        console.print(top)
    warnings = facts["warnings"]
    if warnings:
        table = Table(title="Parse warnings")
        table.add_column("Warning", overflow="fold")
        for w in warnings[:SHOWN_WARNINGS]:
            table.add_row(w)
        if len(warnings) > SHOWN_WARNINGS:
            table.add_row(f"... and {len(warnings) - SHOWN_WARNINGS:,} more (--json lists all)")
        console.print(table)


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + "Z"


def _time_range(lo: float | None, hi: float | None) -> str:
    """``2024-05-01 10:00:00.000Z → 2024-05-01 11:00:00.000Z (1h0m0s)``, or ``-``."""
    if lo is None or hi is None:
        return "-"
    return f"{_iso(lo)} → {_iso(hi)} ({_duration(hi - lo)})"


def _duration(seconds: float) -> str:
    """Prometheus-style duration text.

    >>> _duration(3600), _duration(90.5), _duration(0), _duration(2 * 86400 + 1)
    ('1h0m0s', '1m30.5s', '0s', '2d0h0m1s')
    """
    ms = round(seconds * 1000)
    d, ms = divmod(ms, 86_400_000)
    h, ms = divmod(ms, 3_600_000)
    m, ms = divmod(ms, 60_000)
    s = f"{ms / 1000:g}s"
    if d:
        return f"{d}d{h}h{m}m{s}"
    if h:
        return f"{h}h{m}m{s}"
    if m:
        return f"{m}m{s}"
    return s


def _bytes(n: int) -> str:
    """Binary units.

    >>> _bytes(512), _bytes(1536), _bytes(5 * 2**20)
    ('512 B', '1.5 KiB', '5.0 MiB')
    """
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{int(size)} B" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")  # pragma: no cover
