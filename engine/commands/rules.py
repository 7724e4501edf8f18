"""``promreplay rules``: check, replay and evaluate rule files; run promtool test files.

Each subcommand lives in its own module of :mod:`engine.rules` (``cli_check``,
``cli_replay``, ``cli_test``, ``cli_sweep``); this module only wires them into the command line.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util

#: subcommand -> module of engine.rules that defines ``add_arguments(p)`` and ``run(args)``
SUBCOMMANDS = {
    "check": "cli_check",
    "replay": "cli_replay",
    "eval": "cli_replay",
    "test": "cli_test",
    "sweep": "cli_sweep",
}


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("rules", help="check, replay and test alerting/recording rules",
                       description=__doc__)
    rsub = p.add_subparsers(dest="rules_command", required=True, metavar="SUBCOMMAND")
    for name, modname in SUBCOMMANDS.items():
        if importlib.util.find_spec(f"engine.rules.{modname}") is None:
            continue  # not built yet
        mod = importlib.import_module(f"engine.rules.{modname}")
        sp = mod.add_arguments(rsub, name)
        if sp is not None:
            sp.set_defaults(rules_run=mod.run)
    return p


def run(args: argparse.Namespace) -> int:
    return int(args.rules_run(args) or 0)
