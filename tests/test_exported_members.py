"""The public surface of ``import engine`` is pinned here; change it deliberately."""

import engine


def test_all_is_sorted_and_pinned():
    assert engine.__all__ == sorted(engine.__all__)
    assert engine.__all__ == [
        "IngestError",
        "ParseError",
        "PromReplayError",
        "QueryError",
        "STALE_NAN",
        "Store",
        "StoreError",
        "TooManySamplesError",
        "is_stale",
        "open",
        "rules",
    ]


def test_every_exported_name_exists():
    for name in engine.__all__:
        assert hasattr(engine, name), name


def test_rules_is_reachable_without_its_own_import():
    import subprocess
    import sys

    code = "import engine; print(engine.rules.load.__name__)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "load"
