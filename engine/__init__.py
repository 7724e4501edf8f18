"""promreplay: an offline PromQL engine over captured Prometheus scrapes.

>>> import engine
>>> db = engine.open("fixtures/demo-capture")          # doctest: +SKIP
>>> db.series('up{job="demo-capture"}')[:1]            # doctest: +SKIP
[{'__name__': 'up', 'instance': '...', 'job': 'demo-capture'}]
"""

from .errors import (
    IngestError,
    ParseError,
    PromReplayError,
    QueryError,
    StoreError,
    TooManySamplesError,
)
from .ingest import open
from .store import STALE_NAN, Store, is_stale

__version__ = "0.1.0"


def __getattr__(name: str):
    # ``engine.rules`` without an explicit import, loaded only when first used so that
    # ``import engine`` stays fast
    if name == "rules":
        import importlib

        return importlib.import_module(".rules", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = [
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
