"""Hypothesis strategies and comparison helpers shared by the kernel property tests.

The generated inputs are chosen to reach the branches where kernels and Prometheus can
disagree, not to look like production data:

- **values** mix ordinary floats with the ones IEEE arithmetic treats specially: 0.0 and
  -0.0, ±Inf, NaN (two payloads), the largest finite floats (sums overflow), subnormals,
  and small integers (ties for min/max/topk/quantile, equal neighbours for ``changes``);
  Kahan-sensitive triples (``1e100, 1, -1e100``) come from the huge/tiny mix;
- **series** are either such values or counters: cumulative non-negative increments with
  resets to a smaller value, so reset corrections and the zero-point cap of ``rate``
  both run;
- **timestamps** are strictly increasing per series (a store invariant), with gaps drawn
  from a few regular intervals (so 1.1x-average-interval comparisons tie) or arbitrary;
- **step grids** are regular, constant (``@``), reversed, or arbitrary (non-monotone), and
  their window edges are often *exactly* on a sample timestamp or one millisecond off it,
  so left-open / right-closed boundaries are exercised at every size.

>>> bits_equal(np.array([np.nan, -0.0]), np.array([-np.nan, -0.0]))
True
>>> bits_equal(np.array([0.0]), np.array([-0.0]))
False
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from hypothesis import HealthCheck, Phase, find, settings
from hypothesis import strategies as st

__all__ = [
    "SPECIAL_VALUES",
    "Csr",
    "Grid",
    "assert_same",
    "bits_equal",
    "csr",
    "find_counterexample",
    "grid_for",
    "kernel_settings",
    "matrix_inputs",
    "series_values",
    "values",
    "window_samples",
]

NEG_NAN = float(np.array([0xFFF8000000000000], dtype=np.uint64).view(np.float64)[0])

#: Floats that IEEE arithmetic (and therefore Go) treats specially.
SPECIAL_VALUES = [
    0.0,
    -0.0,
    math.inf,
    -math.inf,
    math.nan,
    NEG_NAN,
    1e308,
    -1e308,
    1.7976931348623157e308,
    -1.7976931348623157e308,
    5e-324,
    -5e-324,
    2.2250738585072014e-308,
    1e-300,
    1e100,
    -1e100,
    1.0,
    -1.0,
    0.1,
    1e16,
]


def values(finite: bool = False) -> st.SearchStrategy[float]:
    """One float: ordinary, special (see :data:`SPECIAL_VALUES`) or a small integer."""
    special = [v for v in SPECIAL_VALUES if math.isfinite(v)] if finite else SPECIAL_VALUES
    return st.one_of(
        st.floats(allow_nan=not finite, allow_infinity=not finite),
        st.sampled_from(special),
        st.integers(-3, 3).map(float),
        st.floats(-1e3, 1e3),
        st.just(1.0 if finite else math.nan),
    )


@st.composite
def counter(draw: st.DrawFn, n: int) -> list[float]:
    """A counter of ``n`` samples: non-negative increments, sometimes reset to a smaller
    value (possibly 0)."""
    v = draw(st.sampled_from([0.0, 1.0, 5.0, 100.0, 1e15]))
    out = []
    for _ in range(n):
        if draw(st.integers(0, 6)) == 0:
            v = draw(st.sampled_from([0.0, 1.0, v / 2]))
        else:
            v = v + draw(st.sampled_from([0.0, 1.0, 2.5, 10.0, 1e-9, 1e6]))
        out.append(v)
    return out


def series_values(n: int, finite: bool = False) -> st.SearchStrategy[list[float]]:
    """``n`` sample values: a counter, or arbitrary :func:`values`."""
    return st.one_of(counter(n), st.lists(values(finite), min_size=n, max_size=n))


@st.composite
def timestamps(draw: st.DrawFn, n: int) -> list[int]:
    """``n`` strictly increasing timestamps (ms), regular or irregular gaps."""
    t = draw(st.integers(-20_000, 20_000))
    regular = draw(st.sampled_from([1, 1000, 15_000, 60_000, None]))
    out = []
    for _ in range(n):
        out.append(t)
        if regular is not None and draw(st.integers(0, 4)) > 0:
            t += regular
        else:
            t += draw(
                st.one_of(
                    st.sampled_from([1, 2, 999, 1000, 15_000, 16_500]), st.integers(1, 120_000)
                )
            )
    return out


@dataclass(frozen=True)
class Csr:
    """CSR sample columns: series ``s`` owns ``ts[offsets[s]:offsets[s+1]]``."""

    offsets: np.ndarray
    ts: np.ndarray
    values: np.ndarray

    @property
    def n_series(self) -> int:
        return len(self.offsets) - 1

    def samples(self, a: int, b: int) -> list[tuple[int, float]]:
        """The ``(t, v)`` points ``[a, b)`` as Go's ``FPoint`` slice."""
        return [(int(self.ts[i]), float(self.values[i])) for i in range(a, b)]


@st.composite
def csr(
    draw: st.DrawFn,
    max_series: int = 4,
    max_samples: int = 12,
    min_samples: int = 0,
    finite: bool = False,
    stale: bool = False,
) -> Csr:
    """A CSR store of up to ``max_series`` series; with ``stale``, some samples are stale
    markers (bit pattern ``0x7ff0000000000002``)."""
    n_series = draw(st.integers(1, max_series))
    offsets, ts, vals = [0], [], []
    for _ in range(n_series):
        n = draw(st.integers(min_samples, max_samples))
        ts += draw(timestamps(n))
        vs = draw(series_values(n, finite))
        if stale:
            stale_nan = float(np.array([0x7FF0000000000002], dtype=np.uint64).view(np.float64)[0])
            vs = [stale_nan if draw(st.integers(0, 3)) == 0 else v for v in vs]
        vals += vs
        offsets.append(len(ts))
    return Csr(
        np.array(offsets, dtype=np.int64),
        np.array(ts, dtype=np.int64),
        np.array(vals, dtype=np.float64),
    )


@dataclass(frozen=True)
class Grid:
    """Per-step window edges ``(lo[j], hi[j]]`` (ms), and the range ``hi - lo`` when it is
    the same for every step (rate needs one)."""

    lo: np.ndarray
    hi: np.ndarray
    range_ms: int
    kind: str

    @property
    def monotone(self) -> bool:
        return bool((np.diff(self.lo) >= 0).all() and (np.diff(self.hi) >= 0).all())


@st.composite
def grid_for(
    draw: st.DrawFn,
    ts: Sequence[int],
    max_steps: int = 8,
    kinds: Sequence[str] = ("regular", "at", "reversed", "random"),
    inverted: bool = False,
) -> Grid:
    """A step grid whose edges often sit exactly on (or 1 ms off) one of ``ts``.

    ``inverted`` also allows windows with ``hi < lo`` (arbitrary per-step edges).
    """
    kind = draw(st.sampled_from(list(kinds) + (["inverted"] if inverted else [])))
    T = draw(st.integers(1, max_steps))
    ts = list(ts)
    near = (
        st.builds(lambda t, d: t + d, st.sampled_from(ts), st.sampled_from([-1, 0, 1]))
        if ts
        else st.integers(-50_000, 50_000)
    )
    anchor = st.one_of(near, st.integers(-200_000, 400_000))
    r = draw(
        st.one_of(
            st.sampled_from([1, 1000, 15_000, 16_500, 30_000, 60_000, 300_000]),
            st.integers(1, 600_000),
        )
    )
    if kind == "inverted":
        lo = draw(st.lists(anchor, min_size=T, max_size=T))
        hi = draw(st.lists(anchor, min_size=T, max_size=T))
        return Grid(np.array(lo, dtype=np.int64), np.array(hi, dtype=np.int64), -1, kind)
    if kind == "random":
        hi = draw(st.lists(anchor, min_size=T, max_size=T))
    else:
        t0 = draw(anchor)
        step = 0 if kind == "at" else draw(st.sampled_from([1, 1000, 7_000, 15_000, 60_000]))
        hi = [t0 + j * step for j in range(T)]
        if kind == "reversed":
            hi.reverse()
    hi_a = np.array(hi, dtype=np.int64)
    return Grid(hi_a - r, hi_a, r, kind)


@st.composite
def matrix_inputs(
    draw: st.DrawFn,
    max_series: int = 4,
    max_samples: int = 12,
    min_samples: int = 0,
    finite: bool = False,
    stale: bool = False,
    kinds: Sequence[str] = ("regular", "at", "reversed", "random"),
    inverted: bool = False,
    max_steps: int = 8,
) -> tuple[Csr, Grid]:
    """A store and a step grid aimed at its timestamps."""
    store = draw(csr(max_series, max_samples, min_samples, finite, stale))
    g = draw(grid_for(store.ts.tolist(), max_steps, kinds, inverted))
    return store, g


def window_samples(store: Csr, start: np.ndarray, end: np.ndarray, s: int, j: int):
    """The ``FPoint`` slice of series ``s`` at step ``j``."""
    return store.samples(int(start[s, j]), int(end[s, j]))


# -------------------------------------------------------------------------------------
# Comparisons
# -------------------------------------------------------------------------------------


def bits_equal(a: np.ndarray, b: np.ndarray) -> bool:
    """Bitwise equality of float arrays, every NaN equal to every NaN, -0.0 != 0.0."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        return False
    nan_a, nan_b = np.isnan(a), np.isnan(b)
    if not np.array_equal(nan_a, nan_b):
        return False
    return bool(np.array_equal(a[~nan_a].view(np.uint64), b[~nan_b].view(np.uint64)))


def assert_same(
    out: np.ndarray,
    present: np.ndarray,
    expected: Sequence[Sequence[float | None]],
    context: object = "",
) -> None:
    """``out``/``present`` ([S, T]) against a reference table (``None`` = no output): the
    present mask must match exactly, and each present value bit for bit (NaN == NaN)."""
    exp_present = np.array([[e is not None for e in row] for row in expected], dtype=bool)
    exp_present = exp_present.reshape(present.shape)
    if not np.array_equal(present, exp_present):
        where = np.argwhere(present != exp_present)[0]
        raise AssertionError(
            f"presence differs at {tuple(where)}: kernel {bool(present[tuple(where)])}, "
            f"reference {bool(exp_present[tuple(where)])}; {context}"
        )
    for s, row in enumerate(expected):
        for j, e in enumerate(row):
            if e is None:
                continue
            got = float(out[s, j])
            if not bits_equal(np.array([got]), np.array([e])):
                raise AssertionError(
                    f"value differs at ({s}, {j}): kernel {got!r}, reference {e!r}; {context}"
                )


def kernel_settings(max_examples: int) -> settings:
    """Settings for a kernel property test: no deadline (the first call compiles, or
    loads from numba's cache) and no complaints about large composite inputs."""
    return settings(
        max_examples=max_examples,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


def find_counterexample(strategy: st.SearchStrategy, differs, max_examples: int = 1000):
    """The smallest input from ``strategy`` on which ``differs(input)`` holds, found by
    hypothesis; fails the test (``NoSuchExample``) when there is none in ``max_examples``.

    Used to show that a deliberately broken copy of a reference *is* told apart from the
    kernel by the very strategy the property test draws from. Only the generate phase
    runs: the point is that a difference is found, not its minimal form.
    """
    return find(
        strategy,
        differs,
        settings=settings(
            max_examples=max_examples,
            deadline=None,
            database=None,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        ),
    )
