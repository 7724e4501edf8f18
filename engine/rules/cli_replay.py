"""``promreplay rules replay`` and ``promreplay rules eval``: rule groups over a capture.

``replay DATA RULES... --start S --end E`` evaluates every group as Prometheus 3.14's rule
manager would and prints, per alert instance, its episodes (pending at, firing at,
resolved at), a per-instance strip with one character per evaluation, the rule errors,
and the Alertmanager view: the notifications the rule manager would have sent
(``--format table``; ``--notifications`` lists them all); or the JSON document of issue
5 §4 (``--format json``: exactly one document on stdout; ``--notifications`` adds a
``notifications`` key); or one CSV row per episode. ``--plot`` writes a Gantt PNG,
``--write-series`` the recorded series, ``ALERTS`` and ``ALERTS_FOR_STATE`` as a store
``promreplay query`` opens.

``eval DATA RULES... --start S --at T [--at T2 ...] [--expr E ...]`` runs the rules from
``S`` to the last ``--at`` and prints, at each ``--at``, the firing and pending alerts and
the expressions evaluated over the data plus everything the rules wrote.

Times are unix seconds, RFC 3339, or relative to the data (``end-1h``); durations are
Prometheus durations or seconds. Examples::

    promreplay rules replay capture/ rules.yml --start end-1h --end end
    promreplay rules replay data.om rules.yml --align promtool --start 1700000040 \\
        --end 1700004440 --format json
    promreplay rules eval data.om rules.yml --start 1700000040 --at 1700001500 \\
        --expr 'ALERTS{alertstate="firing"}' --format json
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING

from ..errors import PromReplayError
from ..times import parse_duration_seconds, parse_time

if TYPE_CHECKING:  # the replay engine (and numba) load only when a command runs
    from .replay import ReplayResult

__all__ = ["add_arguments", "run"]

_HELP = {
    "replay": "replay rule groups over a capture: alert episodes, strip, errors",
    "eval": "run rule groups up to given times and show alerts and expressions there",
}


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("data", help="capture folder, dump, OpenMetrics file or saved store")
    p.add_argument(
        "rules",
        nargs="+",
        help="rule files, directories or globs (Prometheus YAML or PrometheusRule objects)",
    )
    p.add_argument("--start", help="first evaluation (default: the first sample)")
    p.add_argument(
        "--evaluation-interval", default="1m", help="global evaluation interval (default 1m)"
    )
    p.add_argument(
        "--align",
        choices=["epoch", "promtool", "server"],
        default="epoch",
        help="evaluation clock (default epoch)",
    )
    p.add_argument(
        "--rule-file-path", help="the path the server loaded the rules from (--align server)"
    )
    p.add_argument(
        "--prometheus-version",
        type=int,
        choices=[2, 3],
        default=3,
        help="label encoding of the --align server slot hash (default 3)",
    )
    p.add_argument("--warmup", help="evaluate from START minus this, report from START")
    p.add_argument("--query-offset", help="global rule query offset (default 0)")
    p.add_argument(
        "--external-label",
        action="append",
        default=[],
        metavar="K=V",
        help="an external label (repeatable)",
    )
    p.add_argument("--external-url", default="", help="the server's external URL")
    p.add_argument(
        "--group-order", help="comma-separated group names: evaluation order at one instant"
    )
    p.add_argument(
        "--alert",
        action="append",
        default=[],
        metavar="NAME",
        help="report only this alert (repeatable)",
    )
    p.add_argument("--format", choices=["table", "json", "csv"], default="table")
    p.add_argument(
        "--ignore-unknown-fields", action="store_true", help="accept unknown fields in rule files"
    )
    p.add_argument("--resend-delay", default="1m", help="Alertmanager resend delay (default 1m)")
    p.add_argument("--lookback-delta", default="5m", help="instant selector lookback (default 5m)")
    p.add_argument("--max-samples", type=int, default=50_000_000)
    p.add_argument(
        "--strategy",
        choices=["auto", "step"],
        default="auto",
        help="auto: evaluate rules over the whole grid where possible; step: one "
        "instant at a time (same results, slower)",
    )
    p.add_argument("--strict", action="store_true", help="fail on malformed scrapes")


def add_arguments(rsub, name: str) -> argparse.ArgumentParser:
    p = rsub.add_parser(
        name,
        help=_HELP[name],
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _common(p)
    if name == "replay":
        p.add_argument("--end", help="last evaluation (default: the last sample)")
        p.add_argument("--plot", metavar="FILE.png", help="write a Gantt PNG of the episodes")
        p.add_argument(
            "--plot-values",
            metavar="NAME",
            help="add a panel with this alert's expression value and threshold",
        )
        p.add_argument("--write-series", metavar="OUT", help="save the rule outputs as a store")
        p.add_argument("--no-strip", action="store_true", help="table format: omit the strip")
        p.add_argument(
            "--notifications",
            action="store_true",
            help="the Alertmanager view in full: every notification in the table (else the "
            "first 20); with --format json, a \"notifications\" key",
        )
    else:
        p.add_argument(
            "--at",
            action="append",
            required=True,
            metavar="T",
            help="a time to report (repeatable)",
        )
        p.add_argument(
            "--expr",
            action="append",
            default=[],
            metavar="E",
            help="an expression to evaluate at each --at (repeatable)",
        )
    return p


def _labels(pairs: list[str]) -> dict[str, str]:
    out = {}
    for p in pairs:
        k, sep, v = p.partition("=")
        if not sep or not k:
            raise PromReplayError(f"--external-label {p!r}: expected NAME=VALUE")
        out[k] = v
    return out


def _ms(seconds: float) -> int:
    return int(round(seconds * 1000))


def prepare(args: argparse.Namespace, end_text: str | None):
    """Open the data, load the rules and build the options from the command line."""
    import engine
    from engine.rules import load

    rules = load(
        *args.rules,
        ignore_unknown_fields=args.ignore_unknown_fields,
        rule_file_path=args.rule_file_path,
    )
    db = engine.open(args.data, strict=args.strict)
    st = db.stats()
    lo, hi = st["min_time"], st["max_time"]
    if args.start is None and lo is None:
        raise PromReplayError("the data holds no samples: give --start")
    start = parse_time(args.start, lo, hi) if args.start else lo
    end = parse_time(end_text, lo, hi) if end_text else hi
    if end is None:
        end = start
    from .replay import ReplayOptions

    opts = ReplayOptions(
        evaluation_interval_ms=_ms(parse_duration_seconds(args.evaluation_interval)),
        align=args.align,
        rule_file_path=args.rule_file_path,
        prometheus_version=args.prometheus_version,
        warmup_ms=_ms(parse_duration_seconds(args.warmup)) if args.warmup else 0,
        query_offset_ms=_ms(parse_duration_seconds(args.query_offset)) if args.query_offset else 0,
        external_labels=_labels(args.external_label),
        external_url=args.external_url,
        group_order=tuple(g for g in (args.group_order or "").split(",") if g),
        resend_delay_ms=_ms(parse_duration_seconds(args.resend_delay)),
        lookback_delta_ms=_ms(parse_duration_seconds(args.lookback_delta)),
        max_samples=args.max_samples,
        strategy=args.strategy,
    )
    known = {r.alert for r in rules.rules if hasattr(r, "alert")}
    for a in args.alert:
        if a not in known:
            raise PromReplayError(f"--alert {a!r}: no alerting rule has this name")
    return rules, db, _ms(start), _ms(end), opts, (lo, hi)


def run(args: argparse.Namespace) -> int:
    if args.rules_command == "eval":
        return _run_eval(args)
    return _run_replay(args)


def _run_replay(args: argparse.Namespace) -> int:
    from . import notify_report, report

    if args.notifications and args.format == "csv":
        raise PromReplayError("--notifications: not available with --format csv")
    rules, db, start, end, opts, _ = prepare(args, args.end)
    from .replay import run_replay

    rep: ReplayResult = run_replay(rules, db, start, end, opts)
    alerts = args.alert or None
    if args.format == "json":
        doc = report.replay_json(rep, alerts)
        if args.notifications:
            doc["notifications"] = notify_report.notifications_json(rep, alerts)
        json.dump(doc, sys.stdout)
        sys.stdout.write("\n")
    elif args.format == "csv":
        sys.stdout.write(report.episodes_csv(rep, alerts))
    else:
        print(report.replay_table(rep, alerts, strip=not args.no_strip))
        print()
        rows = None if args.notifications else notify_report.MAX_ROWS
        print(notify_report.notifications_table(rep, alerts, max_rows=rows))
    if args.plot:
        report.plot_timeline(rep, args.plot, values_for=args.plot_values, alerts=alerts)
        print(f"wrote {args.plot}", file=sys.stderr)
    if args.write_series:
        report.write_series(rep, args.write_series)
        print(f"wrote {args.write_series}", file=sys.stderr)
    return 0


def _run_eval(args: argparse.Namespace) -> int:
    from . import report

    rules, db, start, _end, opts, (lo, hi) = prepare(args, None)
    ats = [_ms(parse_time(a, lo, hi)) for a in args.at]
    end = max(ats)
    if end < start:
        raise PromReplayError("every --at is before --start")
    from .replay import run_replay

    rep = run_replay(rules, db, start, end, opts)
    doc = report.eval_json(rep, ats, args.expr)
    if args.format == "json":
        json.dump(doc, sys.stdout)
        sys.stdout.write("\n")
        return 0
    for entry in doc["times"]:
        print(f"at {entry['time']}:")
        for state in ("firing", "pending"):
            for name, alerts in entry[state].items():
                for a in alerts:
                    print(f"  {state:7s} {name} {json.dumps(a['labels'], sort_keys=True)}")
        for e, r in entry["exprs"].items():
            if "error" in r:
                print(f"  {e}: error: {r['error']}")
                continue
            print(f"  {e}:")
            for s in r["samples"]:
                value = s.get("value", s.get("values"))
                print(f"    {json.dumps(s['labels'], sort_keys=True)} {value}")
    return 0
