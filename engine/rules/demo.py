"""The rule-replay part of ``promreplay demo``: the bundled Istio rules over a capture.

:func:`replay_demo` loads ``fixtures/rules/istio.yml`` (recorded golden signals and two
alerts, ``IstioErrorRatioHigh`` and ``IstioLatencyP99High``), replays it over the capture
from five minutes after its first sample (the rate windows need them) to its end, and
prints the episode table, the per-instance strip and the rule errors; with a path it
also writes the Gantt PNG.
"""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from ..store import Store

__all__ = ["RULES", "replay_demo"]

#: The demo's rule file, relative to the repository root.
RULES = Path("fixtures") / "rules" / "istio.yml"


def demo_rules() -> Path | None:
    import engine

    for root in (Path(engine.__file__).resolve().parent.parent, Path.cwd()):
        if (root / RULES).is_file():
            return root / RULES
    return None


def replay_demo(store: Store, console: Console, plot_path: Path | None = None) -> None:
    """Replay the demo rules over ``store`` and print what fired (see the module doc)."""
    from .load import load
    from .replay import ReplayOptions, run_replay

    rules = demo_rules()
    tr = store.samples.time_range()
    if rules is None or tr is None:
        console.print("(rule replay skipped: no rules file or no samples)")
        return
    start, end = tr[0] + 300_000, tr[1]
    if end < start:
        console.print("(rule replay skipped: the capture is shorter than five minutes)")
        return
    rep = run_replay(load(str(rules)), store, start, end, ReplayOptions())
    console.rule(f"Rule replay: {RULES.as_posix()}")
    console.print(rep.table(), markup=False, highlight=False, soft_wrap=True)
    if plot_path is not None:
        rep.plot(str(plot_path), values_for="IstioErrorRatioHigh")
        console.print(f"alert timeline plot: {plot_path}")
