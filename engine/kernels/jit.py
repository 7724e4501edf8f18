"""The one way kernels are compiled.

``cache=True`` keeps compiled code on disk so a new process starts fast, and nothing is
compiled at import time. ``error_model="numpy"`` makes float division by zero give
±Inf/NaN, as Go does, instead of raising ``ZeroDivisionError``. ``nogil=True`` lets
:mod:`engine.kernels.threads` run one kernel on several cores.
"""

from __future__ import annotations

import functools

import numba as nb

#: ``@kernel`` / ``@kernel(inline="always")``: numba ``njit`` with the project's options.
kernel = functools.partial(nb.njit, cache=True, error_model="numpy", nogil=True)
