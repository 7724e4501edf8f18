"""Shared test fixtures.

``../shared`` (next to the checkout) holds data we may read but never commit: the
upstream promqltest corpus, real captured scrapes and promtool's test files. Tests that
need it use the ``shared`` fixture: it skips with a clear message when the folder is
missing, and fails instead when ``CI=true``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("PROMREPLAY_SHARED", ROOT.parent / "shared"))


def shared_path(*parts: str) -> Path:
    """Path under ../shared; skips (or fails under CI=true) when it is missing."""
    p = SHARED.joinpath(*parts)
    if not p.exists():
        msg = f"{p} is missing: the shared data folder (../shared) is not present"
        if os.environ.get("CI") == "true":
            pytest.fail(msg)
        pytest.skip(msg)
    return p


@pytest.fixture
def shared() -> Path:
    return shared_path()
