"""``anchored`` and ``smoothed`` selectors (experimental in Prometheus 3.7+).

Mirrors ``extendedRate``, ``pickOrInterpolateLeft/Right``, ``interpolate``,
``correctForCounterResets`` (``promql/functions.go``) and ``smoothSeries``
(``promql/engine.go``):

- an *anchored* range looks back one lookback delta further for the sample at or before
  the window start, and uses it as the window's left value;
- a *smoothed* range also looks one lookback delta past the end, and interpolates the
  values at both window edges linearly between the neighbouring samples (a counter that
  dropped is treated as having restarted from 0);
- a *smoothed* instant selector returns the sample at the step time, or the value
  interpolated between its neighbours, or the last value when nothing follows yet.

The windows handed to these kernels are the *fetched* ranges (lookback included); the
true edges come separately as ``range_start``/``range_end``.
"""

from __future__ import annotations

import numpy as np

from .jit import kernel

__all__ = ["extended_rate", "smoothed_instant", "interpolate"]


@kernel
def interpolate(t1, v1, t2, v2, t, is_counter):
    """The straight line through (t1, v1) and (t2, v2) at ``t``; a counter that dropped
    from v1 to v2 restarts from 0."""
    if is_counter and v2 < v1:
        v1 = 0.0
    return v1 + (v2 - v1) * (t - t1) / (t2 - t1)


@kernel
def extended_rate(
    ts, values, start, end, range_start, range_end, smoothed, is_counter, is_rate, range_seconds
):
    """rate/increase/delta over anchored or smoothed windows (``extendedRate``)."""
    S, T = start.shape
    out = np.zeros((S, T), np.float64)
    present = np.zeros((S, T), np.bool_)
    for s in range(S):
        for j in range(T):
            a = start[s, j]
            b = end[s, j]
            if b <= a:
                continue
            rs = range_start[j]
            re = range_end[j]
            last = b - 1
            # first: the last sample at or before the window start (sort.Search over [a, last))
            i = a
            while i < last and ts[i] <= rs:
                i += 1
            first = max(a, i - 1)
            if smoothed:
                k = a
                while k < last and ts[k] < re:
                    k += 1
                last = k
            if ts[last] <= rs:
                continue  # every sample is before the window
            if smoothed and ts[first] > re:
                continue  # every sample is after the window
            if smoothed and ts[first] < rs:
                left = interpolate(
                    ts[first], values[first], ts[first + 1], values[first + 1], rs, is_counter
                )
            else:
                left = values[first]
            if smoothed and last > a and ts[last] > re:
                right = interpolate(
                    ts[last - 1], values[last - 1], ts[last], values[last], re, is_counter
                )
            else:
                right = values[last]
            result = right - left
            if is_counter:
                if ts[first] <= rs:
                    first += 1
                if ts[last] >= re:
                    last -= 1
                correction = 0.0
                prev = left
                for q in range(first, last + 1):
                    if values[q] < prev:
                        correction += prev
                    prev = values[q]
                if right < prev:
                    correction += prev
                result += correction
            if is_rate:
                result /= range_seconds
            out[s, j] = result
            present[s, j] = True
    return out, present


@kernel
def smoothed_instant(ts, values, start, end, at):
    """A smoothed instant selector over windows ``(at - lookback, at + lookback]``."""
    S, T = start.shape
    out = np.zeros((S, T), np.float64)
    present = np.zeros((S, T), np.bool_)
    for s in range(S):
        for j in range(T):
            a = start[s, j]
            b = end[s, j]
            if b <= a:
                continue
            t = at[j]
            i = a
            while i < b and ts[i] < t:
                i += 1
            if i < b and ts[i] == t:
                out[s, j] = values[i]
            elif i > a and i < b:
                out[s, j] = interpolate(ts[i - 1], values[i - 1], ts[i], values[i], t, False)
            elif i > a:
                out[s, j] = values[i - 1]
            else:
                continue
            present[s, j] = True
    return out, present
