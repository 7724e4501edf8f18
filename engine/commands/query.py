"""``promreplay query DATA EXPR``: evaluate PromQL over a capture, dump or saved store.

Instant queries take ``--time``; range queries take ``--start``, ``--end`` and ``--step``.
Times are unix seconds, RFC 3339, or relative to the data (``end-1h``, ``start+5m``).
``--format json`` prints what Prometheus' ``/api/v1/query(_range)`` returns;
``--format csv`` one row per point; ``--plot`` a PNG of a range result.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys

import numpy as np

from ..errors import PromReplayError
from ..result import Result, format_api_float
from ..times import format_time, parse_duration_seconds, parse_time


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "query",
        help="evaluate a PromQL expression",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("data", help="capture folder, dump file or saved store")
    p.add_argument("expr", help="PromQL expression")
    p.add_argument("--time", help="instant query time (default: the newest sample)")
    p.add_argument("--start", help="range query start")
    p.add_argument("--end", help="range query end (default: the newest sample)")
    p.add_argument(
        "--step", default="60", help="range query step (seconds or a duration; default 60)"
    )
    p.add_argument("--format", choices=["table", "json", "csv"], default="table")
    p.add_argument("--plot", metavar="FILE.png", help="write a line plot of a range result")
    p.add_argument("--lookback-delta", default="5m", help="instant selector lookback (default 5m)")
    p.add_argument("--max-samples", type=int, default=50_000_000)
    p.add_argument("--experimental", action="store_true", help="enable experimental functions")
    p.add_argument(
        "--threads",
        type=_positive_int,
        default=1,
        help="cores for the range-vector kernels of large queries (default 1; same results)",
    )
    p.add_argument("--strict", action="store_true", help="fail on malformed scrapes")
    return p


def _positive_int(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return n


def run(args: argparse.Namespace) -> int:
    import engine

    db = engine.open(args.data, strict=args.strict)
    st = db.stats()
    lo, hi = st["min_time"], st["max_time"]
    options = {
        "lookback_delta": parse_duration_seconds(args.lookback_delta),
        "max_samples": args.max_samples,
        "experimental": args.experimental,
        "threads": args.threads,
    }
    if args.start is not None:
        start = parse_time(args.start, lo, hi)
        end = parse_time(args.end, lo, hi) if args.end else (hi if hi is not None else start)
        step = parse_duration_seconds(args.step)
        if step <= 0:
            raise PromReplayError("--step must be positive")
        result = db.query_range(args.expr, start, end, step, **options)
    else:
        if args.end:
            raise PromReplayError("--end needs --start (a range query)")
        t = parse_time(args.time, lo, hi) if args.time else None
        result = db.query(args.expr, time=t, **options)
    emit(result, args.format, sys.stdout)
    for a in result.annotations:
        print(str(a), file=sys.stderr)
    if args.plot:
        plot(result, args.plot, title=args.expr)
        print(f"wrote {args.plot}", file=sys.stderr)
    return 0


def emit(result: Result, fmt: str, out) -> None:
    if fmt == "json":
        doc = {"status": "success", "data": result.to_prometheus_json()}
        if result.warnings:
            doc["warnings"] = result.warnings
        if result.infos:
            doc["infos"] = result.infos
        json.dump(doc, out)
        out.write("\n")
    elif fmt == "csv":
        w = csv.writer(out)
        names = result.labels.names()
        w.writerow([*names, "timestamp", "value"])
        if result.type in ("scalar", "string"):
            w.writerow(
                [format_api_float(result.values[0]) if result.type == "scalar" else result.string]
            )
            return
        for labels, ts, vals in result.series():
            for t, v in zip(ts.tolist(), vals.tolist(), strict=True):
                w.writerow([*(labels.get(n, "") for n in names), t / 1000, format_api_float(v)])
    else:
        _table(result, out)


def _table(result: Result, out) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(file=out, soft_wrap=True)
    if result.type == "scalar":
        console.print(f"scalar {format_api_float(result.values[0])}")
        return
    if result.type == "string":
        console.print(f"string {result.string!r}")
        return
    if len(result) == 0:
        console.print("(empty result)")
        return
    table = Table(show_lines=False)
    table.add_column("series", overflow="fold")
    if result.type == "vector":
        table.add_column("value", justify="right")
        for labels, _, vals in result.series():
            table.add_row(_series_name(labels), format_api_float(vals[0]))
    else:
        for col in ("points", "first", "last", "min", "max", "last value"):
            table.add_column(col, justify="right")
        for labels, ts, vals in result.series():
            finite = vals[np.isfinite(vals)]
            table.add_row(
                _series_name(labels),
                str(len(vals)),
                format_time(ts[0] / 1000),
                format_time(ts[-1] / 1000),
                format_api_float(finite.min()) if len(finite) else "-",
                format_api_float(finite.max()) if len(finite) else "-",
                format_api_float(vals[-1]),
            )
    console.print(table)


def _series_name(labels: dict[str, str]) -> str:
    name = labels.get("__name__", "")
    inner = ", ".join(f'{k}="{v}"' for k, v in labels.items() if k != "__name__")
    return f"{name}{{{inner}}}"


def plot(result: Result, path: str, title: str = "") -> None:
    """One line per series, labelled by the labels that differ between series."""
    if result.type != "matrix":
        raise PromReplayError("--plot needs a range query (--start/--end/--step)")
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise PromReplayError("--plot needs matplotlib: pip install 'promreplay[plot]'") from None
    series = result.series()
    names = sorted({k for labels, _, _ in series for k in labels})
    varying = [k for k in names if len({labels.get(k, "") for labels, _, _ in series}) > 1]
    fig, ax = plt.subplots(figsize=(10, 5))
    for labels, ts, vals in series:
        label = ", ".join(f"{k}={labels.get(k, '')}" for k in varying) or _series_name(labels)
        ax.plot(ts.astype("datetime64[ms]"), vals, label=label, linewidth=1.2)
    import matplotlib.dates as mdates

    ax.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M"))
    ax.set_xlabel("time (UTC)")
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3)
    if len(series) <= 20:
        ax.legend(fontsize=7, loc="best")
    fig.autofmt_xdate()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
