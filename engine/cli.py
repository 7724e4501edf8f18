"""The ``promreplay`` console script.

Subcommands (``promreplay COMMAND --help`` for details):

- ``demo CAPTURE``      replay the bundled capture and print what it holds
- ``ingest CAPTURE -o STORE``  capture folder or dump file -> saved store
- ``info DATA``         series, samples, time range, top metrics, parse warnings
- ``query DATA EXPR``   evaluate PromQL (instant or range)
- ``test PATH...``      run promqltest files

Every user error ends with a one-line message on stderr and exit code 2 (usage) or 1
(bad input); tracebacks are reserved for bugs.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from .errors import PromReplayError

__all__ = ["main"]


def build_parser() -> argparse.ArgumentParser:
    from .commands import MODULES

    p = argparse.ArgumentParser(
        prog="promreplay", description="Offline PromQL over captured scrapes."
    )
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for mod in MODULES:
        sp = mod.add_parser(sub)
        sp.set_defaults(run=mod.run)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except PromReplayError as e:
        print(f"promreplay {args.command}: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
