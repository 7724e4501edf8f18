"""``promreplay rules test FILE...``: run ``promtool test rules`` files unchanged.

Prints what promtool prints (``  SUCCESS`` or ``  FAILED:`` with the failures on stderr)
and exits 1 when any test fails. ``--run RE`` (repeatable) runs only the test groups
whose name matches; ``--json OUT`` writes one record per failure
(``file, group, kind, alertname|expr|rule, eval_time, exp, got``); ``--junit OUT.xml``
writes JUnit XML; ``--debug`` prints timings and a dump of all data; ``--diff`` shows
alert mismatches as a diff. Rule files are found relative to each test file's folder.
"""

from __future__ import annotations

import argparse

__all__ = ["add_arguments", "run"]

#: feature flags promtool's ``test rules`` knows; they change nothing else here
KNOWN_FEATURES = ("promql-experimental-functions", "promql-delayed-name-removal")


def add_arguments(rsub, name: str) -> argparse.ArgumentParser:
    p = rsub.add_parser(
        name,
        help="run promtool test rules files",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("files", nargs="+", metavar="FILE", help="promtool unit test files")
    p.add_argument(
        "--run",
        action="append",
        default=[],
        metavar="RE",
        dest="run_patterns",
        help="only test groups whose name matches (repeatable)",
    )
    p.add_argument("--json", metavar="OUT", help="write one JSON record per failure")
    p.add_argument("--junit", metavar="OUT.xml", help="write JUnit XML results")
    p.add_argument("--debug", action="store_true", help="print timings and a dump of all data")
    p.add_argument("--diff", action="store_true", help="show alert mismatches as a diff")
    p.add_argument(
        "--ignore-unknown-fields", action="store_true", help="accept unknown fields in rule files"
    )
    p.add_argument(
        "--enable-feature",
        action="append",
        default=[],
        metavar="F",
        help="promtool feature flags (comma-separated, repeatable)",
    )
    return p


def run(args: argparse.Namespace) -> int:
    features = tuple(f.strip() for v in args.enable_feature for f in v.split(",") if f.strip())
    from .unittest import TestOptions, run_files  # loads the engine only when run

    opts = TestOptions(
        run=tuple(args.run_patterns),
        diff=args.diff,
        debug=args.debug,
        ignore_unknown_fields=args.ignore_unknown_fields,
        features=features,
    )
    return run_files(args.files, opts, json_out=args.json, junit_out=args.junit)
