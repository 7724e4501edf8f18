"""`promreplay test PATH...`: run promqltest files (see ``promqltest/DSL.md``).

For every failed eval it prints ``FAIL file:line: expr`` with the reason, what was
expected and what came back; it ends with one line ``N passed, M failed, K skipped``
and exits 1 when anything failed. ``PATH`` is a ``.test`` file or a folder of them.

- ``--json OUT`` writes one record per eval: ``{"file", "line", "expr", "status", "message"}``
  (``line`` is the eval header's line; a load the storage rejects adds a ``load`` record).
- ``--tier core|nh|exp`` runs only the evals of that tier and skips the others; tiers
  come from ``--manifest``, by default the ``manifest-upstream.tsv`` next to each file or
  in the folder above it (the shared corpus keeps it beside ``upstream/``).
- ``--no-range-check`` / ``--no-at-check`` turn off the two extra checks upstream runs
  on every instant eval (range-mode consistency, ``@``-modifier invariance).
- ``--quiet`` prints only the summary line.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import PromReplayError

__all__ = ["add_parser", "run"]


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "test",
        help="run promqltest files",
        description="Run PromQL conformance scripts (the promqltest DSL) against the engine.",
    )
    p.add_argument("paths", nargs="+", metavar="PATH", help="a .test file, or a folder of them")
    p.add_argument("--json", metavar="OUT", help="write one JSON record per eval to OUT")
    p.add_argument("--tier", choices=("core", "nh", "exp"), help="run only the evals of this tier")
    p.add_argument(
        "--manifest",
        metavar="FILE",
        help="tier manifest (default: manifest-upstream.tsv next to the files or above them)",
    )
    p.add_argument(
        "--no-range-check",
        action="store_true",
        help="skip the range-mode consistency check of instant evals",
    )
    p.add_argument(
        "--no-at-check",
        action="store_true",
        help="skip the @-modifier invariance check of instant evals",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="print only the summary line")
    return p


def find_test_files(paths: list[str]) -> list[Path]:
    """The ``.test`` files named by ``paths`` (folders are searched recursively)."""
    out: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            found = sorted(p.rglob("*.test"))
            if not found:
                raise PromReplayError(f"{p}: no .test files in this folder")
            out.extend(found)
        elif p.is_file():
            out.append(p)
        else:
            raise PromReplayError(f"{p}: no such file or folder")
    return out


def run(args: argparse.Namespace) -> int:
    from ..promqltest import Manifest, RunnerOptions, TierFilter, run_file
    from ..promqltest.manifest import MANIFEST_NAME
    from ..promqltest.report import counts, format_failure, summary_line, write_json

    files = find_test_files(args.paths)
    options = RunnerOptions(range_check=not args.no_range_check, at_check=not args.no_at_check)
    given = Manifest.load(args.manifest) if args.manifest else None
    manifests: dict[Path, Manifest] = {}

    def selector(path: Path):
        if args.tier is None:
            return None
        manifest = given
        if manifest is None:
            found = [d / MANIFEST_NAME for d in (path.parent, path.parent.parent)]
            default = next((f for f in found if f.is_file()), None)
            if default is None:
                raise PromReplayError(
                    f"--tier needs a manifest: none given, and no {MANIFEST_NAME} "
                    f"next to {path} or in the folder above"
                )
            if default not in manifests:
                manifests[default] = Manifest.load(default)
            manifest = manifests[default]
        return TierFilter(args.tier, manifest)

    engine = _engine()
    records = []
    for path in files:
        file_records = run_file(path, engine, options, selector(path))
        records.extend(file_records)
        if not args.quiet:
            for r in file_records:
                if r.status == "fail":
                    print(format_failure(r))
            p, f, s = counts(file_records)
            print(f"{path}: {p} passed, {f} failed, {s} skipped", file=sys.stderr)
    if args.json:
        write_json(records, args.json)
    print(summary_line(records))
    return 1 if counts(records)[1] else 0


def _engine():
    from ..promqltest import PrometheusEngine

    try:
        return PrometheusEngine()
    except ImportError as e:
        raise PromReplayError(f"the PromQL engine is not available: {e}") from None
