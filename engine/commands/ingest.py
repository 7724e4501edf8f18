"""`promreplay ingest CAPTURE -o STORE [--strict]`: read a capture folder, dump file or
saved store, and save it as one store file (Parquet; Arrow IPC when STORE ends in
``.arrow``).

The capture is read by :func:`engine.open`, which shows a ``rich`` progress bar on stderr
while it works. Parse warnings are counted in the summary line and kept in the store
(``promreplay info STORE`` lists them); ``--strict`` turns the first one into an error.

Example::

    $ promreplay ingest captures/mesh -o mesh.parquet
    mesh.parquet: 1,204 series, 96,320 samples, 2 warnings (promreplay info mesh.parquet)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rich.console import Console

import engine

from ..errors import IngestError


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:  # type: ignore[type-arg]
    p = sub.add_parser(
        "ingest",
        help="capture folder or dump file -> saved store",
        description="Read CAPTURE (capture folder, dump file or saved store) and save it "
        "as one store file: Parquet, or Arrow IPC when STORE ends in .arrow.",
    )
    p.add_argument("capture", metavar="CAPTURE", help="capture folder, dump file or saved store")
    p.add_argument("-o", "--output", metavar="STORE", required=True, help="store file to write")
    p.add_argument(
        "--strict",
        action="store_true",
        help="fail on the first malformed scrape instead of warning",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar, no summary")
    return p


def run(args: argparse.Namespace) -> int:
    source = Path(args.capture)
    if not source.exists():
        raise IngestError("no such file or folder", file=str(source))
    err = Console(stderr=True)
    store = engine.open(source, strict=args.strict, progress=not args.quiet)
    if args.quiet:
        store.save(args.output)
        return 0
    with err.status(f"saving {args.output}"):
        store.save(args.output)
    st = store.stats()
    line = (
        f"{args.output}: {st['series']:,} series, {st['samples']:,} samples, "
        f"{len(store.warnings):,} warning{'s' if len(store.warnings) != 1 else ''}"
    )
    if store.warnings:
        line += f" (promreplay info {args.output})"
    print(line, file=sys.stdout)
    return 0
