"""Label sets: string interning, the column-wise label table, and Go float formatting.

Every label name and value in the process is interned once in :data:`POOL`, which gives
it a dense ``int32`` id. Id 0 is the empty string, which PromQL treats exactly like an
absent label, so "absent" needs no special case anywhere.

A :class:`LabelTable` holds the label sets of ``n`` series column-wise: one ``int32``
array of value ids per label name. Label work (matching, grouping, vector-matching
signatures) then runs over arrays, once per series, never once per step.

>>> t = LabelTable.from_dicts([{"__name__": "up", "job": "a"}, {"__name__": "up", "job": "b"}])
>>> t.row(1)
{'__name__': 'up', 'job': 'b'}
>>> inverse, first = t.drop(["job"]).group()
>>> inverse.tolist(), first.tolist()
([0, 0], [0])
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from decimal import Decimal
from typing import TypeVar

import numpy as np

from .gostrconv import quote

__all__ = [
    "POOL",
    "StringPool",
    "LabelTable",
    "Labels",
    "format_go_float",
    "format_label_float",
    "labels_key",
    "format_labels_go",
    "is_valid_label_name",
    "printable",
    "METRIC_NAME",
]

METRIC_NAME = "__name__"

#: A hashable label set: ``(name, value)`` pairs sorted by name, no empty values.
Labels = tuple[tuple[str, str], ...]


class StringPool:
    """Process-wide string interning: ``str`` <-> dense ``int32`` id. Id 0 is ``""``.

    Interning is thread-safe; lookups are lock-free.

    >>> p = StringPool()
    >>> p.intern("a"), p.intern("b"), p.intern("a"), p.intern("")
    (1, 2, 1, 0)
    >>> p.strings(np.array([2, 0, 1])).tolist()
    ['b', '', 'a']
    """

    def __init__(self) -> None:
        self._ids: dict[str, int] = {"": 0}
        self._strs: list[str] = [""]
        self._array: np.ndarray = np.array([""], dtype=object)
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._strs)

    def intern(self, s: str) -> int:
        i = self._ids.get(s)
        if i is not None:
            return i
        with self._lock:
            i = self._ids.get(s)
            if i is None:
                i = len(self._strs)
                self._strs.append(s)
                self._ids[s] = i
            return i

    def intern_many(self, strings: Iterable[str]) -> np.ndarray:
        """Ids of ``strings`` as an ``int32`` array."""
        get = self._ids.get
        out = [get(s) for s in strings]
        if None in out:
            out = [
                i if i is not None else self.intern(s) for i, s in zip(out, strings, strict=True)
            ]
        return np.asarray(out, dtype=np.int32).reshape(-1)

    def string(self, i: int) -> str:
        return self._strs[i]

    def strings(self, ids: np.ndarray) -> np.ndarray:
        """Vectorised lookup: an object array of the strings behind ``ids``."""
        arr = self._array
        if len(arr) != len(self._strs):
            arr = self._array = np.array(self._strs, dtype=object)
        return arr[np.asarray(ids, dtype=np.int64)]


#: The one pool every label table in the process uses.
POOL = StringPool()


def labels_key(labels: Mapping[str, str]) -> Labels:
    """The hashable, canonical form of a label mapping (empty values dropped)."""
    return tuple(sorted((k, v) for k, v in labels.items() if v != ""))


class LabelTable:
    """Label sets of ``n`` series, column-wise.

    ``cols`` maps a label name to an ``int32`` array of :data:`POOL` ids, one per series;
    0 means the series has no such label. A column may hold only zeros (a name no series
    of this table has): :meth:`names` leaves it out. Tables are immutable by convention:
    every method returns a new table and shares unchanged columns.

    :meth:`take` gathers no column: it notes the rows to gather (the column is then
    ``(source, rows)``), and a column is gathered when first read (:meth:`get`,
    :attr:`cols`, :meth:`names`), so a table pays only for the columns later read (an
    aggregation reads its grouping labels only).
    """

    __slots__ = ("n", "_cols", "_lazy", "_names", "_memo")

    def __init__(self, n: int, cols: Mapping[str, np.ndarray] | None = None) -> None:
        self.n = int(n)
        self._cols: dict[str, np.ndarray | tuple[np.ndarray, np.ndarray]] = {}
        self._lazy = False  # whether a column may be still to gather
        self._names: list[str] | None = None
        self._memo: dict = {}
        for name, codes in (cols or {}).items():
            codes = np.asarray(codes, dtype=np.int32)
            if codes.shape != (self.n,):
                raise ValueError(f"column {name!r} has shape {codes.shape}, expected ({self.n},)")
            self._cols[name] = codes

    @classmethod
    def _of(cls, n: int, cols: dict) -> LabelTable:
        """A table over columns already checked (int32, length ``n``): no copies, no checks."""
        t = cls.__new__(cls)
        t.n = n
        t._cols = cols
        t._lazy = False
        t._names = None
        t._memo = {}
        return t

    # ---- construction -------------------------------------------------------------
    @classmethod
    def from_dicts(cls, rows: Sequence[Mapping[str, str]]) -> LabelTable:
        n = len(rows)
        names = sorted({k for r in rows for k in r})
        cols = {name: POOL.intern_many([r.get(name, "") for r in rows]) for name in names}
        return cls(n, cols)

    @classmethod
    def empty(cls, n: int = 0) -> LabelTable:
        """``n`` series that all have the empty label set."""
        return cls(n, {})

    @staticmethod
    def concat(tables: Sequence[LabelTable]) -> LabelTable:
        """The series of ``tables``, one table after the other."""
        n = sum(t.n for t in tables)
        names = sorted({k for t in tables for k in t.names()})
        cols = {name: np.concatenate([t.get(name) for t in tables]) for name in names}
        return LabelTable.of_columns(n, cols, names)

    # ---- access ----------------------------------------------------------------------
    def __len__(self) -> int:
        return self.n

    def __repr__(self) -> str:
        shown = ", ".join(_format_labels(self.row(i)) for i in range(min(self.n, 3)))
        more = ", ..." if self.n > 3 else ""
        return f"LabelTable(n={self.n}: {shown}{more})"

    def names(self) -> list[str]:
        """Sorted label names present in at least one series."""
        if self._names is None:
            self._names = sorted(k for k, c in self.cols.items() if c.any())
        return self._names

    @property
    def cols(self) -> dict[str, np.ndarray]:
        """Value ids (``int32``, one per series) of every label name, by name."""
        cols = self._cols
        if self._lazy:
            for name, c in cols.items():
                if type(c) is tuple:
                    cols[name] = c[0][c[1]]  # replaces a value: the dict keeps its size
            self._lazy = False
        return cols  # type: ignore[return-value]

    def _column(self, name: str) -> np.ndarray | None:
        c = self._cols.get(name)
        if type(c) is tuple:
            c = self._cols[name] = c[0][c[1]]
        return c

    def get(self, name: str) -> np.ndarray:
        """Value ids of label ``name`` (zeros where absent)."""
        c = self._column(name)
        return c if c is not None else np.zeros(self.n, dtype=np.int32)

    def values(self, name: str) -> np.ndarray:
        """Values of label ``name`` as an object array of ``str`` ("" where absent)."""
        return POOL.strings(self.get(name))

    def series_with(self, name: str, value_id: int) -> np.ndarray:
        """Indices (ascending, read-only) of the series whose label ``name`` has the value
        id ``value_id`` (0: the series without the label).

        As a TSDB's postings index: the first call for ``name`` sorts its column once and
        keeps the order on the table (tables are immutable), later calls are a binary
        search instead of a pass over every series, and the answer for a value is kept.

        >>> t = LabelTable.from_dicts([{"a": "x"}, {"a": "y"}, {"a": "x"}])
        >>> t.series_with("a", POOL.intern("x")).tolist(), t.series_with("b", 0).tolist()
        ([0, 2], [0, 1, 2])
        """
        key = ("series_with", name, value_id)
        hit = self._memo.get(key)
        if hit is not None:
            return hit
        ordered, order = self.remember(("postings", name), lambda: _postings(self.get(name)))
        lo, hi = np.searchsorted(ordered, (value_id, value_id + 1)).tolist()
        return self.remember(key, lambda: order[lo:hi])

    def remember(self, key: Hashable, build: Callable[[], _T]) -> _T:
        """``build()``, kept on the table under ``key`` for later calls: tables are
        immutable, so what is derived from their columns stays true (the postings of
        :meth:`series_with`, the series a regex matcher selects). Arrays kept must be
        read-only; at most :data:`_REMEMBERED` results are kept."""
        memo = self._memo
        hit = memo.get(key, _MISSING)
        if hit is _MISSING:
            if len(memo) >= _REMEMBERED:
                memo.clear()
            hit = memo[key] = build()
        return hit

    def row(self, i: int) -> dict[str, str]:
        """Labels of series ``i``, sorted by name."""
        s = POOL.string
        return {name: s(int(c[i])) for name, c in sorted(self.cols.items()) if c[i]}

    def rows(self) -> list[dict[str, str]]:
        return [self.row(i) for i in range(self.n)]

    def keys(self) -> list[Labels]:
        """One hashable :data:`Labels` tuple per series."""
        names = self.names()
        if not names:
            return [()] * self.n
        cols = [POOL.strings(self.get(k)) for k in names]
        out = []
        for vals in zip(*cols, strict=True):
            out.append(tuple((k, v) for k, v in zip(names, vals, strict=True) if v))
        return out

    # ---- transformation --------------------------------------------------------------
    def take(self, idx: np.ndarray | Sequence[int]) -> LabelTable:
        """The series at ``idx`` (integer indices or a boolean mask)."""
        idx = np.asarray(idx)
        # a copy: the caller may reuse its array, and this one is read when gathering
        idx = np.flatnonzero(idx) if idx.dtype == bool else np.array(idx, dtype=np.int64)
        cols: dict[str, np.ndarray | tuple[np.ndarray, np.ndarray]] = {}
        composed: dict[int, np.ndarray] = {}  # the rows of each pending gather, taken once
        for k, c in self._cols.items():
            if type(c) is tuple:
                source, rows = c
                at = composed.get(id(rows))
                if at is None:
                    at = composed[id(rows)] = rows[idx]
                cols[k] = (source, at)
            else:
                cols[k] = (c, idx)
        t = LabelTable._of(len(idx), cols)
        t._lazy = True
        return t

    def pruned(self) -> LabelTable:
        """The same label sets without the columns no series uses."""
        names = self.names()
        if len(names) == len(self._cols):
            return self
        return LabelTable.of_columns(self.n, {k: self.get(k) for k in names}, names)

    @classmethod
    def of_columns(cls, n: int, cols: dict[str, np.ndarray], names: list[str]) -> LabelTable:
        """A table over checked columns (int32, length ``n``) of which ``names`` (sorted)
        are exactly the ones some series uses."""
        t = cls._of(n, cols)
        t._names = names
        return t

    def drop(self, names: Iterable[str]) -> LabelTable:
        names = set(names)
        return self._subset({k: c for k, c in self._cols.items() if k not in names})

    def keep(self, names: Iterable[str]) -> LabelTable:
        names = set(names)
        return self._subset({k: c for k, c in self._cols.items() if k in names})

    def _subset(self, cols: dict) -> LabelTable:
        """A table over some of this table's columns; which of them some series uses is
        known already when this table's :meth:`names` is."""
        t = LabelTable._of(self.n, cols)
        t._lazy = self._lazy
        if self._names is not None:
            t._names = [k for k in self._names if k in cols]
        return t

    def with_column(self, name: str, codes: np.ndarray) -> LabelTable:
        """A copy with label ``name`` set to ``codes`` (0 removes it)."""
        codes = np.asarray(codes, dtype=np.int32)
        if codes.shape != (self.n,):
            raise ValueError(f"column {name!r} has shape {codes.shape}, expected ({self.n},)")
        cols = dict(self._cols)
        cols[name] = codes
        t = LabelTable._of(self.n, cols)
        t._lazy = self._lazy
        return t

    def with_value(self, name: str, value: str) -> LabelTable:
        """A copy with label ``name`` set to ``value`` on every series."""
        return self.with_column(name, np.full(self.n, POOL.intern(value), dtype=np.int32))

    # ---- grouping ----------------------------------------------------------------------
    def codes_matrix(self, names: Sequence[str] | None = None) -> np.ndarray:
        """``int32 [n, k]`` value ids of ``names`` (default: every present name, sorted)."""
        names = self.names() if names is None else list(names)
        if not names:
            return np.zeros((self.n, 0), dtype=np.int32)
        return np.stack([self.get(k) for k in names], axis=1)

    def group(self) -> tuple[np.ndarray, np.ndarray]:
        """Dense ids of the distinct label sets.

        Returns ``(inverse, first)``: ``inverse[i]`` is the group of series ``i``, and
        ``first[g]`` the first series of group ``g``. Groups are numbered in order of
        first appearance, so the result is stable under the input order.
        """
        return group_columns([self.get(k) for k in self.names()], self.n)

    def duplicated_pair(self) -> tuple[int, int] | None:
        """Indices of two series with identical label sets, or ``None``."""
        if self.n < 2:
            return None
        inverse, first = self.group()
        if len(first) == self.n:
            return None
        seen = np.full(len(first), -1, dtype=np.int64)
        for i, g in enumerate(inverse.tolist()):
            if seen[g] >= 0:
                return int(seen[g]), i
            seen[g] = i
        return None  # pragma: no cover - unreachable

    def sort_order(self) -> np.ndarray:
        """Indices that sort the series as Prometheus' ``labels.Compare`` does (stable).

        ``labels.Compare`` walks the sorted ``(name, value)`` pairs of two label sets. The
        sort here runs column by column instead: a present value sorts by its string; an
        absent label sorts after every value when the series has a later label (its next
        pair has a greater name) and before every value when it has none (its pairs end,
        and the shorter set sorts first). The strings are ranked here, the rest is one
        kernel (:func:`engine.kernels.labelsort.lex_order`).

        >>> t = LabelTable.from_dicts([{"b": "1"}, {"a": "2", "c": "1"}, {"a": "2"}, {}])
        >>> t.sort_order().tolist()
        [3, 2, 1, 0]
        """
        from .kernels.labelsort import distinct, lex_order  # numba: not at ``import engine``

        names = self.names()
        if self.n < 2 or not names:
            return np.arange(self.n, dtype=np.int64)
        m = np.vstack([self.get(k) for k in names])  # [k, n], rows in name order
        codes = distinct(np.sort(m, axis=None))  # numpy's sort is faster than numba's
        strings = POOL.strings(codes).tolist()
        by_string = np.array(sorted(range(len(strings)), key=strings.__getitem__), np.int64)
        return lex_order(m, codes, by_string)


_T = TypeVar("_T")
_MISSING = object()
#: at most this many results kept by :meth:`LabelTable.remember` on one table
_REMEMBERED = 256


def _postings(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(sorted codes, order)`` of a column, both read-only: its postings index."""
    order = np.argsort(codes, kind="stable")
    index = (codes[order], order)
    for a in index:
        a.flags.writeable = False
    return index


#: up to this many rows, :func:`group_columns` groups with a dict (numpy's fixed cost is larger)
_SMALL_GROUP = 100


def group_columns(cols: Sequence[np.ndarray], n: int) -> tuple[np.ndarray, np.ndarray]:
    """Dense ids of the distinct rows of ``n`` rows given column-wise (integer arrays of
    length ``n``), numbered by first appearance: ``(inverse, first)`` as in
    :meth:`LabelTable.group`.

    >>> inv, first = group_columns([np.array([1, 3, 1]), np.array([2, 4, 2])], 3)
    >>> inv.tolist(), first.tolist()
    ([0, 1, 0], [0, 1])
    """
    if n == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    if not cols:
        return np.zeros(n, np.int64), np.zeros(1, np.int64)
    if n <= _SMALL_GROUP:
        ids: dict = {}
        rows = zip(*[c.tolist() for c in cols], strict=True) if len(cols) > 1 else cols[0].tolist()
        inverse, starts = [], []
        for i, r in enumerate(rows):
            g = ids.get(r)
            if g is None:
                g = ids[r] = len(starts)
                starts.append(i)
            inverse.append(g)
        return np.array(inverse, np.int64), np.array(starts, np.int64)
    if len(cols) == 1:
        flat = cols[0]
    else:
        m = np.stack(cols, axis=1)
        flat = m.view(np.dtype((np.void, m.dtype.itemsize * m.shape[1]))).ravel()
    order = flat.argsort(kind="stable")
    ordered = flat[order]
    new = np.empty(n, bool)
    new[0] = True
    new[1:] = ordered[1:] != ordered[:-1]
    first = order[new]  # the first row of each group (the sort is stable), groups by key
    by_appearance = first.argsort()
    rank = np.empty(len(first), np.int64)
    rank[by_appearance] = np.arange(len(first))
    inverse = np.empty(n, np.int64)
    inverse[order] = rank[np.cumsum(new) - 1]
    return inverse, first[by_appearance].astype(np.int64)


def _format_labels(labels: Mapping[str, str]) -> str:
    name = labels.get(METRIC_NAME, "")
    inner = ", ".join(f'{k}="{_escape(v)}"' for k, v in labels.items() if k != METRIC_NAME)
    return f"{name}{{{inner}}}"


def _escape(v: str) -> str:
    return v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


# ---- Go float formatting ---------------------------------------------------------------


def _shortest(v: float) -> tuple[str, int]:
    """Shortest round-trip decimal digits of finite ``v != 0`` and the exponent ``x``
    such that ``v = 0.d1d2d3... * 10**(x+1)``; the same digits Go's ``strconv`` picks."""
    sign, digits, exp = Decimal(repr(abs(v))).normalize().as_tuple()
    ds = "".join(map(str, digits))
    return ds, len(ds) + int(exp) - 1


def format_go_float(v: float, fmt: str = "g") -> str:
    """Go's ``strconv.FormatFloat(v, fmt, -1, 64)`` for ``fmt`` in ``'g'``, ``'f'``, ``'e'``.

    Digits are the shortest that round-trip (Python's ``repr`` picks the same ones as
    Go). With ``'g'``, Go switches to exponent form when the decimal exponent is below
    -4 or at least 6 (shortest precision uses 6 for that decision), and exponents have
    at least two digits. Go's ``%v`` of a float64 is the same text.

    >>> [format_go_float(x) for x in (1.0, 600000.0, 3600000.0, 0.0001, 1e-05, 1.2345675e6)]
    ['1', '600000', '3.6e+06', '0.0001', '1e-05', '1.2345675e+06']
    >>> format_go_float(1e21, 'f'), format_go_float(0.1, 'f'), format_go_float(-0.0)
    ('1000000000000000000000', '0.1', '-0')
    """
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    neg = math.copysign(1.0, v) < 0
    if v == 0:
        body = {"g": "0", "f": "0", "e": "0e+00"}[fmt]
        return "-" + body if neg else body
    digits, x = _shortest(v)
    if fmt == "e" or (fmt == "g" and (x < -4 or x >= 6)):
        mant = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        body = f"{mant}e{'-' if x < 0 else '+'}{abs(x):02d}"
    else:
        if x < 0:
            body = "0." + "0" * (-x - 1) + digits
        elif x + 1 >= len(digits):
            body = digits + "0" * (x + 1 - len(digits))
        else:
            body = digits[: x + 1] + "." + digits[x + 1 :]
    return "-" + body if neg else body


def format_label_float(v: float) -> str:
    """Prometheus 3's normalisation of ``le``/``quantile`` label values.

    ``FormatFloat(v, 'g', -1, 64)``, then ``.0`` appended when the text has neither
    ``.`` nor ``e``. As in Prometheus' ``labels.FormatOpenMetricsFloat``, zero of either
    sign is ``"0.0"`` (Go's ``f == 0`` test is true for ``-0``).

    >>> [format_label_float(float(s)) for s in ("1", "600000", "3600000", "+Inf", "0.25", "-0")]
    ['1.0', '600000.0', '3.6e+06', '+Inf', '0.25', '0.0']
    """
    if v == 0:
        return "0.0"
    s = format_go_float(v, "g")
    if "." in s or "e" in s or "Inf" in s or s == "NaN":
        return s
    return s + ".0"


def format_labels_go(labels: Mapping[str, str]) -> str:
    """Go's ``labels.Labels.String()``: ``{__name__="up", job="a"}`` (names sorted).

    >>> format_labels_go({"job": "a", "__name__": "up"})
    '{__name__="up", job="a"}'
    """
    import re

    parts = []
    for k in sorted(labels):
        name = k if re.fullmatch(r"[a-zA-Z_:][a-zA-Z0-9_:]*", k) else quote(k)
        parts.append(f"{name}={quote(labels[k])}")
    return "{" + ", ".join(parts) + "}"


def printable(s: str) -> str:
    """``s`` safe to print: invalid UTF-8 bytes (kept as surrogates) become ``\\xNN``."""
    return s.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def is_valid_label_name(name: str) -> bool:
    """Prometheus 3's UTF-8 label-name rule: non-empty, valid UTF-8 (strings decoded with
    ``surrogateescape`` carry invalid bytes as lone surrogates).

    >>> is_valid_label_name("a.b"), is_valid_label_name(""), is_valid_label_name("\\udcff")
    (True, False, False)
    """
    if not name:
        return False
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
