"""Times and durations as users write them on the command line.

A time is unix seconds (``1700000000``, ``1700000000.5``), RFC 3339
(``2023-11-14T22:13:20Z``), or relative to the end or start of the data (``end``,
``end-1h``, ``start+90s``). A duration is a Prometheus duration (``5m``, ``1h30m``) or a
number of seconds.

>>> parse_time("end-1h", data_start=0.0, data_end=7200.0)
3600.0
>>> parse_time("2023-11-14T22:13:20Z")
1700000000.0
>>> parse_duration_seconds("1m30s"), parse_duration_seconds("15")
(90.0, 15.0)
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime

from .errors import PromReplayError

__all__ = ["parse_time", "parse_duration_seconds", "format_time"]

_RELATIVE = re.compile(r"^(start|end)\s*(?:([+-])\s*(\S+))?$")


def parse_duration_seconds(text: str) -> float:
    """Seconds of a Prometheus duration or a plain number of seconds."""
    text = text.strip()
    try:
        v = float(text)
    except ValueError:
        from .promql.parse import parse_duration

        try:
            return parse_duration(text) / 1000.0
        except PromReplayError as e:
            raise PromReplayError(f"bad duration {text!r}: {e}") from None
    if not math.isfinite(v):
        raise PromReplayError(f"bad duration {text!r}: not a finite number")
    return v


def parse_time(text: str, data_start: float | None = None, data_end: float | None = None) -> float:
    """Unix seconds of a time given as unix seconds, RFC 3339, or ``end-1h``/``start+5m``."""
    text = text.strip()
    m = _RELATIVE.match(text)
    if m:
        anchor = data_start if m.group(1) == "start" else data_end
        if anchor is None:
            raise PromReplayError(f"{text!r} is relative to the data, but there is no data")
        if m.group(2) is None:
            return float(anchor)
        delta = parse_duration_seconds(m.group(3))
        return float(anchor) + (delta if m.group(2) == "+" else -delta)
    try:
        v = float(text)
        if not math.isfinite(v):
            raise ValueError
        return v
    except ValueError:
        pass
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise PromReplayError(
            f"bad time {text!r}: use unix seconds, RFC 3339, or end-<duration>/start+<duration>"
        ) from None
    if dt.tzinfo is None:
        raise PromReplayError(f"bad time {text!r}: RFC 3339 times need a zone (Z or +hh:mm)")
    return dt.timestamp()


def format_time(seconds: float) -> str:
    """RFC 3339 in UTC with milliseconds when there are any: ``2023-11-14T22:13:20Z``."""
    dt = datetime.fromtimestamp(seconds, tz=UTC)
    text = dt.strftime("%Y-%m-%dT%H:%M:%S")
    ms = int(round((seconds - math.floor(seconds)) * 1000))
    if ms and ms < 1000:
        text += f".{ms:03d}"
    return text + "Z"
