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
    p.add_argument(
        "--plot",
        default="out/demo-latency.png",
        metavar="FILE.png",
        help="where to write the p99 latency plot (default out/demo-latency.png; '' for none)",
    )
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


#: The seed's golden-signal queries (issue 3), per destination service. The bundled capture
#: is scraped every 30 s, so every window is 5m: a 1m window would hold only two samples
#: and lose its rate at every missed scrape.
GOLDEN_SIGNALS = {
    "RPS": (
        'sum(rate(istio_requests_total{reporter="destination"}[5m])) '
        "by (destination_service_name)"
    ),
    "error ratio": (
        'sum(rate(istio_requests_total{reporter="destination",response_code!~"2.."}[5m])) '
        "by (destination_service_name) / on(destination_service_name) "
        'sum(rate(istio_requests_total{reporter="destination"}[5m])) by (destination_service_name)'
    ),
    "p50 ms": (
        "histogram_quantile(0.5, sum(rate(istio_request_duration_milliseconds_bucket"
        '{reporter="destination"}[5m])) by (le, destination_service_name))'
    ),
    "p99 ms": (
        "histogram_quantile(0.99, sum(rate(istio_request_duration_milliseconds_bucket"
        '{reporter="destination"}[5m])) by (le, destination_service_name))'
    ),
}


def golden_signals(store: Store, console: Console, plot_path: Path | None = None) -> None:
    """The golden signals per destination service: RPS, error ratio, p50 and p99 latency,
    at the end of the capture and at their worst, evaluated with :data:`GOLDEN_SIGNALS`
    as one range query each at a 30 s step; and a PNG of p99 latency over time."""
    st = store.stats()
    if st["min_time"] is None:
        return
    start, end = st["min_time"] + 300, st["max_time"]
    if end <= start:
        return
    results = {name: store.query_range(q, start, end, 30) for name, q in GOLDEN_SIGNALS.items()}
    services: dict[str, dict[str, tuple[float, float]]] = {}
    for name, res in results.items():
        for labels, _ts, vals in res.series():
            svc = labels.get("destination_service_name", "")
            finite = vals[np.isfinite(vals)]
            worst = float(finite.max()) if len(finite) else float("nan")
            services.setdefault(svc, {})[name] = (float(vals[-1]), worst)
    if not services:
        console.print("(no Istio request metrics in this capture)")
        return
    table = Table(title="Golden signals per destination service (last value / worst)")
    table.add_column("Service")
    for name in GOLDEN_SIGNALS:
        table.add_column(name, justify="right")
    for svc in sorted(services):
        row = [svc]
        for name in GOLDEN_SIGNALS:
            if name not in services[svc] and name == "error ratio":
                row.append("no errors")  # no non-2xx series at all: the ratio has no numerator
                continue
            last, worst = services[svc].get(name, (float("nan"), float("nan")))
            fmt = "{:.1%}" if name == "error ratio" else "{:,.2f}"
            cell = f"{_fmt(fmt, last)} / {_fmt(fmt, worst)}"
            if name == "error ratio" and worst > 0.05:
                cell = f"[red]{cell}[/red]"
            row.append(cell)
        table.add_row(*row)
    console.print(table)
    if plot_path is not None:
        from .query import plot

        plot_path.parent.mkdir(parents=True, exist_ok=True)
        plot(results["p99 ms"], str(plot_path), title="p99 latency (ms) by destination service")
        console.print(f"p99 latency plot: {plot_path}")


def _fmt(fmt: str, v: float) -> str:
    return "-" if v != v else fmt.format(v)


def run(args: argparse.Namespace) -> int:
    path = Path(args.capture) if args.capture else bundled_capture()
    if not path.exists():
        raise IngestError("no such capture folder", file=str(path))
    console = Console()
    store = engine.open(path, strict=args.strict)
    console.print(targets_table(store))
    info.render(info.summary(store, args.top), f"Capture {path}", console)
    golden_signals(store, console, Path(args.plot) if args.plot else None)
    # ---- rule replay of fixtures/rules/istio.yml (engine/rules/demo.py, the rules work) ----
    from ..rules.demo import replay_demo

    replay_demo(store, console, Path(args.plot).with_name("demo-alerts.png") if args.plot else None)
    return 0
