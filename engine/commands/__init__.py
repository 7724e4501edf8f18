"""One module per ``promreplay`` subcommand.

Each module defines ``add_parser(subparsers) -> ArgumentParser`` and ``run(args) -> int``
(the exit code), and is listed in :data:`MODULES` in the order ``--help`` shows them.
"""

from . import demo, info, ingest, query, rules, test

MODULES = [demo, ingest, info, query, test, rules]
