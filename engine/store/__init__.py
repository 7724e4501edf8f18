"""The columnar store: series ids and labels, CSR samples, metadata, exemplars, persistence."""

from .index import Matcher, compile_regex, match_series
from .samples import STALE_NAN, STALE_NAN_BITS, SampleBuilder, Samples, is_stale
from .store import Exemplars, FamilyMeta, HistogramSamples, Store, StoreBuilder

__all__ = [
    "STALE_NAN",
    "STALE_NAN_BITS",
    "Exemplars",
    "FamilyMeta",
    "HistogramSamples",
    "Matcher",
    "SampleBuilder",
    "Samples",
    "Store",
    "StoreBuilder",
    "compile_regex",
    "is_stale",
    "match_series",
]
