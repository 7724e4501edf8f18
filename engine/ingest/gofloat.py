"""Prometheus' own rules on top of Go's number syntax (:mod:`engine.gostrconv`).

- :func:`parse_sample_float` adds Prometheus' own guard (``model/textparse`` ``parseFloat``:
  no ``p``, ``P`` or ``_`` at all) and returns NaN with Go's bits ``0x7ff8000000000001``
  (Prometheus' ``value.NormalNaN``).
- :func:`normalize_label_float` is ``normalizeFloatsInLabelValues``' inner step:
  parse with Go's rules, format with ``labels.FormatOpenMetricsFloat``; text that Go cannot
  parse is kept as it is.

>>> [normalize_label_float(s) for s in ("1", "600000", "3600000", "+Inf", "-0", "1e-3", "x")]
['1.0', '600000.0', '3.6e+06', '+Inf', '0.0', '0.001', 'x']
>>> parse_sample_float("1_000")
Traceback (most recent call last):
...
ValueError: unsupported character in float
"""

from __future__ import annotations

import functools

from ..gostrconv import NORMAL_NAN, parse_float
from ..labels import format_label_float

__all__ = ["parse_sample_float", "normalize_label_float"]


def parse_sample_float(s: str) -> float:
    """Prometheus' ``parseFloat``: Go's syntax minus ``p``/``P``/``_``, NaN normalised."""
    if any(c in s for c in "pP_"):
        raise ValueError("unsupported character in float")
    f = parse_float(s)
    return NORMAL_NAN if f != f else f


@functools.lru_cache(maxsize=4096)  # bucket bounds repeat across series
def normalize_label_float(v: str) -> str:
    """An ``le``/``quantile`` value as Prometheus 3 stores it (unparsable text unchanged)."""
    try:
        f = parse_float(v)
    except ValueError:
        return v
    return format_label_float(f)
