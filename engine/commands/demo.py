"""`promreplay demo [CAPTURE]`: replay the bundled mesh capture and print what it holds.

The bundled capture (``fixtures/demo-capture``, written by ``make fixtures``) is about
40 minutes of scrapes of Istio's bookinfo sidecars and Linkerd's emojivoto proxies,
with an incident on ``ratings-v1``: a spike in errors and latency lasting about 10 minutes.

The demo opens it with :func:`engine.open`, exactly as ``promreplay info`` would. Then it
prints the scrape targets (job, instance, pod, scrapes, failed scrapes), the overview
that ``info`` prints (series, samples, time range, top metrics, warnings), and finally
the golden signals (:func:`golden_signals`).

Example::

    $ promreplay demo
    ...
    │ envoy-stats   │ 10.244.4.229:15090 │ productpage-v1-mmfrdbsg5b-mt7bk │ 80 │ 0 │
    ...
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

import engine

from ..errors import IngestError
from ..store import Store, is_stale
from . import info

#: Where ``make fixtures`` writes the bundled capture, relative to the repository root.
BUNDLED = Path("fixtures") / "demo-capture"


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:  # type: ignore[type-arg]
    p = sub.add_parser(
        "demo",
        help="replay the bundled mesh capture and print what it holds",
        description="Replay a capture folder (default: the bundled demo capture) and print "
        "its targets, series, samples, time range, top metrics and warnings.",
    )
    p.add_argument(
        "capture",
        nargs="?",
        metavar="CAPTURE",
        help=f"capture folder (default: the bundled {BUNDLED.as_posix()})",
    )
    p.add_argument("--top", type=int, default=10, metavar="N", help="metrics to list (default 10)")
    p.add_argument("--strict", action="store_true", help="fail on a malformed scrape")
    return p


def bundled_capture() -> Path:
    """The bundled capture: next to the ``engine`` package in a checkout, else under the
    current directory."""
    for root in (Path(engine.__file__).resolve().parent.parent, Path.cwd()):
        p = root / BUNDLED
        if p.is_dir():
            return p
    raise IngestError(
        "the bundled demo capture is missing (run `make fixtures`, or pass a capture folder)",
        file=str(BUNDLED),
    )


def targets_table(store: Store) -> Table:
    """One row per scrape target (one ``up`` series): job, instance, pod, scrapes and
    failed scrapes (``up == 0``)."""
    table = Table(title="Scrape targets")
    for col, justify in (("Job", "left"), ("Instance", "left"), ("Pod", "left"),
                         ("Scrapes", "right"), ("Failed", "right")):  # fmt: skip
        table.add_column(col, justify=justify, overflow="fold")  # type: ignore[arg-type]
    rows = []
    for labels, _ts, values in store.select("up"):
        real = values[~is_stale(values)]
        rows.append((labels.get("job", ""), labels.get("instance", ""), labels.get("pod", ""),
                     len(real), int(np.count_nonzero(real == 0))))  # fmt: skip
    for job, instance, pod, n, failed in sorted(rows):
        table.add_row(job, instance, pod, f"{n:,}", f"[red]{failed}[/red]" if failed else "0")
    return table


def golden_signals(store: Store, console: Console) -> None:
    """The place for the golden signals per destination service (RPS, error ratio, p50
    and p99 latency) and the latency plot, once the demo switches to PromQL (issue 3).

    Until then it prints nothing: the demo shows what the capture holds.
    """


def run(args: argparse.Namespace) -> int:
    path = Path(args.capture) if args.capture else bundled_capture()
    if not path.exists():
        raise IngestError("no such capture folder", file=str(path))
    console = Console()
    store = engine.open(path, strict=args.strict)
    console.print(targets_table(store))
    info.render(info.summary(store, args.top), f"Capture {path}", console)
    golden_signals(store, console)
    return 0
