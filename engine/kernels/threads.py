"""Running one kernel on several cores: split the series, not the code.

Every kernel is compiled with ``nogil=True`` (see :mod:`engine.kernels.jit`), and the
series of a query are independent of each other. So a kernel that returns arrays with one
row per series can run on contiguous row ranges in threads and have its outputs
concatenated, with the same results bit for bit: each row is computed by the same code
in the same order, whichever thread runs it. There is one compiled version of each kernel
and no ``prange``, so scratch buffers inside a kernel are never shared between threads.

Splitting pays only for large calls; below :data:`MIN_WORK` a query stays on one core.

>>> import numpy as np
>>> def double(lo, hi):
...     return (np.arange(lo, hi) * 2,)
>>> split_rows(2, 6, double, weights=np.ones(6), min_work=0)[0].tolist()
[0, 2, 4, 6, 8, 10]
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np

#: Work (samples x steps, roughly) below which a call is not worth splitting.
MIN_WORK = 200_000

_pool: ThreadPoolExecutor | None = None
_pool_size = 0
_pool_lock = threading.Lock()


def _executor(workers: int) -> ThreadPoolExecutor:
    global _pool, _pool_size
    with _pool_lock:
        if _pool is None or _pool_size < workers:
            if _pool is not None:
                _pool.shutdown(wait=False)
            _pool = ThreadPoolExecutor(workers, thread_name_prefix="promreplay")
            _pool_size = workers
        return _pool


def cuts(weights: np.ndarray, parts: int) -> np.ndarray:
    """Row boundaries splitting ``weights`` into ``parts`` contiguous runs of about equal sum.

    >>> cuts(np.array([5, 1, 1, 1, 1, 1]), 2).tolist()
    [0, 1, 6]
    """
    rows = len(weights)
    total = np.cumsum(weights, dtype=np.float64)
    if rows == 0 or total[-1] <= 0:
        inner = np.linspace(0, rows, parts + 1)[1:-1].astype(np.int64)
    else:
        targets = total[-1] * np.arange(1, parts) / parts
        inner = np.minimum(np.searchsorted(total, targets, side="left") + 1, rows)
    return np.unique(np.concatenate(([0], inner, [rows]))).astype(np.int64)


def split_rows(
    threads: int,
    rows: int,
    call: Callable[[int, int], tuple[np.ndarray, ...]],
    weights: np.ndarray | None = None,
    work: float | None = None,
    min_work: float | None = None,
) -> tuple[np.ndarray, ...]:
    """``call(0, rows)``, computed as ``call(lo, hi)`` over row ranges on ``threads`` threads.

    ``call`` returns a tuple of arrays whose first axis has ``hi - lo`` rows; the parts are
    concatenated in row order. ``weights`` (one per row, e.g. samples per series) balance
    the ranges; ``work`` (default: the sum of ``weights``) below ``min_work`` (default
    :data:`MIN_WORK`) means one call on the calling thread.
    """
    if min_work is None:
        min_work = MIN_WORK
    if weights is None:
        weights = np.ones(rows)
    if work is None:
        work = float(np.sum(weights))
    if threads <= 1 or rows < 2 or work < min_work:
        return call(0, rows)
    bounds = cuts(weights, min(threads, rows))
    ranges = list(zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True))
    if len(ranges) == 1:
        return call(0, rows)
    pool = _executor(len(ranges) - 1)
    futures = [pool.submit(call, lo, hi) for lo, hi in ranges[1:]]
    first = call(*ranges[0])
    parts = [first] + [f.result() for f in futures]
    return tuple(np.concatenate(arrays, axis=0) for arrays in zip(*parts, strict=True))
