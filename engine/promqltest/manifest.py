"""Corpus manifests: which tier each eval belongs to.

A manifest is a TSV file with the header ``file line eval_no kind tier flags expr``
and one row per eval, ``line`` being the eval header's line. ``tier`` is ``core``,
``nh`` (native histograms), ``exp`` (experimental features) or ``nh+exp``; selecting
``nh`` or ``exp`` includes ``nh+exp``.

>>> m = Manifest.parse("file\\tline\\teval_no\\tkind\\ttier\\tflags\\texpr\\n"
...                    "a.test\\t3\\t0\\tinstant\\tnh+exp\\t\\tfoo\\n")
>>> m.entry("a.test", 3).tier, tier_matches("nh+exp", "exp"), tier_matches("nh+exp", "core")
('nh+exp', True, False)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import PromReplayError
from .script import EvalCmd

__all__ = ["MANIFEST_NAME", "TIERS", "Manifest", "ManifestEntry", "TierFilter", "tier_matches"]

#: The manifest the CLI looks for next to the test files.
MANIFEST_NAME = "manifest-upstream.tsv"
TIERS = ("core", "nh", "exp")
_COLUMNS = ["file", "line", "eval_no", "kind", "tier", "flags", "expr"]


def tier_matches(tier: str, wanted: str) -> bool:
    """Whether an eval of ``tier`` belongs to the selected tier ``wanted``."""
    return wanted in tier.split("+")


@dataclass(frozen=True)
class ManifestEntry:
    file: str
    line: int
    eval_no: int
    kind: str
    tier: str
    flags: tuple[str, ...]
    expr: str


class Manifest:
    """Rows of a manifest, looked up by (file base name, eval header line)."""

    def __init__(self, entries: list[ManifestEntry], source: str = "<manifest>") -> None:
        self.source = source
        self.entries = {(e.file, e.line): e for e in entries}

    @classmethod
    def load(cls, path: str | Path) -> Manifest:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as e:
            raise PromReplayError(f"cannot read manifest {path}: {e}") from None
        return cls.parse(text, str(path))

    @classmethod
    def parse(cls, text: str, source: str = "<manifest>") -> Manifest:
        lines = text.split("\n")
        if lines[0].rstrip("\r").split("\t") != _COLUMNS:
            raise PromReplayError(f"{source}:1: expected the header {' '.join(_COLUMNS)}")
        entries = []
        for n, raw in enumerate(lines[1:], start=2):
            row = raw.rstrip("\r")
            if not row:
                continue
            cells = row.split("\t", 6)
            if len(cells) != 7 or not cells[1].isdigit() or not cells[2].isdigit():
                raise PromReplayError(
                    f"{source}:{n}: expected 7 tab-separated cells with numeric line and eval_no"
                )
            file, line, eval_no, kind, tier, flags, expr = cells
            entries.append(
                ManifestEntry(
                    file,
                    int(line),
                    int(eval_no),
                    kind,
                    tier,
                    tuple(f for f in flags.split(",") if f),
                    expr,
                )
            )
        return cls(entries, source)

    def entry(self, file: str, line: int) -> ManifestEntry | None:
        return self.entries.get((Path(file).name, line))

    def __len__(self) -> int:
        return len(self.entries)


class TierFilter:
    """A runner selector that runs only the evals of one tier; the others are skipped
    with a reason (evals missing from the manifest, or listed with another expression,
    are skipped too)."""

    def __init__(self, tier: str, manifest: Manifest) -> None:
        if tier not in TIERS:
            raise PromReplayError(f"unknown tier {tier!r}: expected one of {', '.join(TIERS)}")
        self.tier = tier
        self.manifest = manifest

    def __call__(self, file: str, cmd: EvalCmd) -> str | None:
        e = self.manifest.entry(file, cmd.line)
        if e is None:
            return f"not listed in {self.manifest.source}"
        if e.expr != cmd.expr:
            return f"{self.manifest.source} lists another expression for this line: {e.expr}"
        if tier_matches(e.tier, self.tier):
            return None
        return f"tier {e.tier}"
