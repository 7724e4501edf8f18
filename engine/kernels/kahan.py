"""Kahan–Neumaier compensated addition, as Prometheus' ``util/kahansum.Inc``.

>>> s, c = 0.0, 0.0
>>> for x in (1e100, 1.0, -1e100):
...     s, c = kahan_inc(x, s, c)
>>> s + c
1.0
"""

from __future__ import annotations

import numpy as np

from .jit import kernel


@kernel(inline="always")
def kahan_inc(inc, total, c):
    """Add ``inc`` to ``total`` with compensation ``c``; returns ``(total, c)``.

    Mirrors ``kahansum.Inc``: an infinite running sum clears the compensation, and the
    Neumaier variant compensates with whichever operand is larger in magnitude.
    """
    t = total + inc
    if np.isinf(t):
        c = 0.0
    elif abs(total) >= abs(inc):
        c += (total - t) + inc
    else:
        c += (inc - t) + total
    return t, c
