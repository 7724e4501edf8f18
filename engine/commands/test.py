"""`promreplay test`."""

from __future__ import annotations

import argparse


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("test", help="(not yet implemented)")
    return p


def run(args: argparse.Namespace) -> int:
    raise NotImplementedError("promreplay test")
