"""``promreplay rules check FILE|DIR|GLOB...``: validate rule files as ``promtool check
rules`` (3.14) does, with its output and exit codes.

For each file: ``Checking FILE`` on stdout, then either ``  SUCCESS: N rules found`` or
``  FAILED:`` on stderr followed by Prometheus' messages, one per line. The
``duplicate-rules`` lint (on by default, ``--lint=none`` to disable) reports rules with
the same name and labels; it fails the file but only changes the exit code with
``--lint-fatal``. Exit codes: 0 valid, 1 any invalid file, 3 lint problems only with
``--lint-fatal``. With no file, or ``-``, the rules are read from standard input.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TextIO

from .load import FileCheck, check_file, check_text, expand_paths
from .model import Group, RuleFileError

__all__ = ["add_arguments", "duplicate_rules", "lint_message", "run"]

SUCCESS, FAILURE, LINT_FAILURE = 0, 1, 3
LINT_OPTIONS = ("all", "duplicate-rules", "none")


def add_arguments(rsub: argparse._SubParsersAction, name: str) -> argparse.ArgumentParser:
    p = rsub.add_parser(name, help="check rule files as `promtool check rules` does",
                        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("files", nargs="*", metavar="FILE|DIR|GLOB",
                   help="rule files (Prometheus YAML or PrometheusRule objects), folders, "
                        "globs; standard input when none is given")
    p.add_argument("--ignore-unknown-fields", action="store_true",
                   help="ignore unknown fields in the rule groups")
    p.add_argument("--lint", default="duplicate-rules",
                   help="linting checks: all, duplicate-rules, none (comma separated; "
                        "default %(default)s)")
    p.add_argument("--lint-fatal", action="store_true",
                   help="make lint problems exit with code 3")
    p.add_argument("--enable-feature", action="append", default=[], metavar="FEATURE",
                   help="promql-experimental-functions enables experimental PromQL syntax")
    return p


def duplicate_rules(groups: Sequence[Group]) -> list[tuple[str, tuple[tuple[str, str], ...]]]:
    """promtool's checkDuplicates: (name, sorted labels) of each rule defined twice,
    labels being the group's labels overlaid by the rule's, in sorted order."""
    keyed = sorted(
        (r.name, tuple(sorted({**g.labels, **r.labels}.items())))
        for g in groups for r in g.rules
    )
    dups: list[tuple[str, tuple[tuple[str, str], ...]]] = []
    for prev, cur in zip(keyed, keyed[1:], strict=False):
        if prev == cur and (not dups or dups[-1] != prev):
            dups.append(cur)
    return dups


def lint_message(dups: Sequence[tuple[str, tuple[tuple[str, str], ...]]]) -> str:
    """The lint error promtool prints for duplicate rules."""
    lines = [f"lint error {len(dups)} duplicate rule(s) found."]
    for name, labels in dups:
        lines.append(f"Metric: {name}")
        lines.append("Label(s):")
        lines.extend(f"\t{k}: {v}" for k, v in labels)
    return "\n".join(lines) + "\nMight cause inconsistency while recording expressions"


def _lint_settings(spec: str, out: TextIO) -> bool:
    dup = False
    for item in spec.split(","):
        if item in ("all", "duplicate-rules"):
            dup = True
        elif item != "none":
            print(f"WARNING: unknown lint option {item}", file=out)
    return dup


def check_one(chk: FileCheck, name: str, lint_duplicates: bool, out: TextIO,
              err: TextIO) -> tuple[bool, bool]:
    """Print one file's verdict; (failed, has_errors) as promtool's checkRules."""
    print(f"Checking {name}", file=out)
    if chk.errors:
        print("  FAILED:", file=err)
        for e in chk.errors:
            print(e, file=err)
        return True, True
    dups = duplicate_rules(chk.groups) if lint_duplicates else []
    if dups:
        print("  FAILED:", file=err)
        print(lint_message(dups), file=err)
        print(file=out)
        return True, False
    print(f"  SUCCESS: {chk.n_rules} rules found", file=out)
    print(file=out)
    return False, False


def run(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    lint_duplicates = _lint_settings(args.lint, out)
    experimental = "promql-experimental-functions" in args.enable_feature
    failed = has_errors = False
    files = list(args.files)
    if not files or files == ["-"]:
        text = sys.stdin.read()
        chk = check_text(text, "<stdin>", ignore_unknown_fields=args.ignore_unknown_fields,
                         experimental=experimental)
        chk.errors = [e.removeprefix("<stdin>: ") for e in chk.errors]
        f, h = check_one(chk, "standard input", lint_duplicates, out, err)
        failed, has_errors = f, h
    else:
        try:
            paths = expand_paths(files)
        except RuleFileError as e:
            print("  FAILED:", file=err)
            print(e, file=err)
            return FAILURE
        for path in paths:
            chk = check_file(path, ignore_unknown_fields=args.ignore_unknown_fields,
                             experimental=experimental)
            f, h = check_one(chk, path, lint_duplicates, out, err)
            failed, has_errors = failed or f, has_errors or h
    if failed and has_errors:
        return FAILURE
    if failed and args.lint_fatal:
        return LINT_FAILURE
    return SUCCESS
