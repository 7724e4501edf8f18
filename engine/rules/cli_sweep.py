"""``promreplay rules sweep``: one alert with several thresholds, ``for`` and
``keep_firing_for`` values.

``sweep DATA RULES... --alert NAME --threshold v1,v2,... --for d1,d2,...
[--keep-firing-for k1,k2,...]`` rewrites the alert's top-level comparison threshold
(``expr OP <number>`` or ``<number> OP expr``) and its durations, evaluates the
expression once over the whole grid and runs only the alert state machine per variant
(:mod:`engine.rules.sweep`). Values left out keep the rule's own. It prints one row per
variant (``--format table``), one JSON document (``json``) or CSV, and ``--plot`` writes a
heat map (``--plot-metric episodes|time``). The clock and time options are those of
``rules replay``. A negative threshold needs ``=``: ``--threshold=-1,0``.

Example::

    promreplay rules sweep fixtures/demo-capture fixtures/rules/istio.yml \\
        --alert IstioErrorRatioHigh --threshold 0.02,0.05,0.1,0.2 --for 0s,2m,5m \\
        --start start+5m --plot sweep.png
"""

from __future__ import annotations

import argparse
import json
import sys

from ..errors import PromReplayError
from ..times import parse_duration_seconds
from .cli_replay import _common, _ms, prepare

__all__ = ["add_arguments", "parse_durations", "parse_thresholds", "run"]


def add_arguments(rsub, name: str) -> argparse.ArgumentParser:
    p = rsub.add_parser(
        name,
        help="replay one alert with several thresholds / for durations",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _common(p)
    for action in p._actions:  # --alert is repeatable for replay; sweep takes one (see run)
        if action.dest == "alert":
            action.help = "the alerting rule to sweep (exactly one)"
    p.add_argument("--end", help="last evaluation (default: the last sample)")
    p.add_argument("--threshold", metavar="V1,V2,...", help="thresholds (default: the rule's own)")
    p.add_argument("--for", dest="for_", metavar="D1,D2,...", help="for durations")
    p.add_argument("--keep-firing-for", metavar="K1,K2,...", help="keep_firing_for durations")
    p.add_argument("--plot", metavar="FILE.png", help="write a heat map (threshold x for)")
    p.add_argument(
        "--plot-metric",
        choices=["episodes", "time"],
        default="episodes",
        help="heat-map colour: firing episodes (default) or firing time",
    )
    return p


def _items(text: str, option: str) -> list[str]:
    items = [x.strip() for x in text.split(",")]
    if not items or any(x == "" for x in items):
        raise PromReplayError(f"{option} {text!r}: expected a comma-separated list of values")
    return items


def parse_thresholds(text: str) -> list[float]:
    """``--threshold``: comma-separated numbers.

    >>> parse_thresholds("0.05, 1e3,-2,+Inf")
    [0.05, 1000.0, -2.0, inf]
    """
    out = []
    for x in _items(text, "--threshold"):
        try:
            out.append(float(x))
        except ValueError:
            raise PromReplayError(f"--threshold: {x!r} is not a number") from None
    return out


def parse_durations(text: str, option: str) -> list[int]:
    """``--for``/``--keep-firing-for``: comma-separated durations, in ms.

    >>> parse_durations("0s,90s,2m", "--for")
    [0, 90000, 120000]
    """
    out = []
    for x in _items(text, option):
        try:
            ms = _ms(parse_duration_seconds(x))
        except PromReplayError as e:
            raise PromReplayError(f"{option}: {e}") from None
        if ms < 0:
            raise PromReplayError(f"{option}: {x!r} is negative")
        out.append(ms)
    return out


def run(args: argparse.Namespace) -> int:
    from .sweep import run_sweep

    if len(args.alert) != 1:
        raise PromReplayError("rules sweep: give exactly one --alert NAME")
    thresholds = parse_thresholds(args.threshold) if args.threshold else None
    fors = parse_durations(args.for_, "--for") if args.for_ else None
    keeps = (
        parse_durations(args.keep_firing_for, "--keep-firing-for") if args.keep_firing_for else None
    )
    rules, db, start, end, opts, _ = prepare(args, args.end)
    res = run_sweep(
        rules,
        db,
        start,
        end,
        opts,
        alert=args.alert[0],
        thresholds=thresholds,
        fors_ms=fors,
        keep_firing_fors_ms=keeps,
    )
    if args.format == "json":
        json.dump(res.to_json(), sys.stdout)
        sys.stdout.write("\n")
    elif args.format == "csv":
        sys.stdout.write(res.to_csv())
    else:
        print(res.table())
    if args.plot:
        res.plot(args.plot, metric=args.plot_metric)
        print(f"wrote {args.plot}", file=sys.stderr)
    return 0
