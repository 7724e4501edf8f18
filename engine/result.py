"""Query results: one class for every PromQL result type, with conversions.

A :class:`Result` is ``scalar``, ``vector`` (instant query), ``matrix`` (range query, or an
instant query of a range selector) or ``string``. Its points are held in CSR layout, like
the store: series ``i`` owns ``ts[offsets[i]:offsets[i+1]]`` and the same slice of
``values``. A scalar is one series with no labels.

>>> import numpy as np
>>> from engine.labels import LabelTable
>>> r = Result("vector", LabelTable.from_dicts([{"job": "a"}]), np.array([0, 1]),
...            np.array([1000]), np.array([0.5]))
>>> r.to_prometheus_json()
{'resultType': 'vector', 'result': [{'metric': {'job': 'a'}, 'value': [1, '0.5']}]}
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .errors import line_col
from .labels import LabelTable, format_go_float

__all__ = ["Annotation", "Result", "format_api_float", "format_api_time"]


@dataclass(frozen=True, slots=True)
class Annotation:
    """A PromQL warning or info. ``pos`` is the 0-based offset of the sub-expression it
    is about; ``str()`` gives Prometheus' text, e.g.
    ``PromQL info: metric might not be a counter, name does not end in
    _total/_sum/_count/_bucket: "x" (1:6)``.
    """

    severity: str  # "warning" or "info"
    message: str
    pos: int = 0
    expr: str = field(default="", compare=False)

    def text(self, with_position: bool = True) -> str:
        s = f"PromQL {self.severity}: {self.message}"
        if with_position:
            line, col = line_col(self.expr, self.pos)
            s += f" ({line}:{col})"
        return s

    def __str__(self) -> str:
        return self.text()


def format_api_float(v: float) -> str:
    """A sample value as Prometheus' HTTP API writes it (``jsonutil.MarshalFloat``): Go's
    shortest ``'f'`` format, or ``'e'`` when ``|v| < 1e-6`` or ``|v| >= 1e21``.

    >>> [format_api_float(v) for v in (0.1, 1e21, 1e-7, float("nan"))]
    ['0.1', '1e+21', '1e-07', 'NaN']
    """
    v = float(v)
    a = abs(v)
    return format_go_float(v, "e" if a != 0 and (a < 1e-6 or a >= 1e21) else "f")


def format_api_time(ms: int) -> float | int:
    """A timestamp as the API writes it: unix seconds, integral when whole."""
    return ms // 1000 if ms % 1000 == 0 else ms / 1000


@dataclass
class Result:
    """The result of a query. ``type`` is ``scalar``, ``vector``, ``matrix`` or ``string``."""

    type: str
    labels: LabelTable
    offsets: np.ndarray  # int64 [S+1]
    ts: np.ndarray  # int64 [N], ms
    values: np.ndarray  # float64 [N]
    string: str | None = None
    annotations: list[Annotation] = field(default_factory=list)

    # ---- access --------------------------------------------------------------------
    def __len__(self) -> int:
        return self.labels.n

    @property
    def warnings(self) -> list[str]:
        return [str(a) for a in self.annotations if a.severity == "warning"]

    @property
    def infos(self) -> list[str]:
        return [str(a) for a in self.annotations if a.severity == "info"]

    def series(self) -> list[tuple[dict[str, str], np.ndarray, np.ndarray]]:
        """``(labels, ts_ms, values)`` for every series, in result order."""
        return [
            (self.labels.row(i), self.ts[a:b], self.values[a:b])
            for i, (a, b) in enumerate(zip(self.offsets[:-1], self.offsets[1:], strict=True))
        ]

    def scalar(self) -> float:
        if self.type != "scalar":
            raise TypeError(f"result is a {self.type}, not a scalar")
        return float(self.values[0])

    # ---- conversions ---------------------------------------------------------------
    def to_prometheus_json(self) -> dict[str, Any]:
        """The ``data`` object of ``/api/v1/query`` or ``/api/v1/query_range``."""
        if self.type == "string":
            return {
                "resultType": "string",
                "result": [format_api_time(int(self.ts[0])), self.string],
            }
        if self.type == "scalar":
            return {
                "resultType": "scalar",
                "result": [format_api_time(int(self.ts[0])), format_api_float(self.values[0])],
            }
        out = []
        for labels, ts, vals in self.series():
            if self.type == "vector":
                out.append(
                    {
                        "metric": labels,
                        "value": [format_api_time(int(ts[0])), format_api_float(vals[0])],
                    }
                )
            else:
                pts = [
                    [format_api_time(int(t)), format_api_float(v)]
                    for t, v in zip(ts.tolist(), vals.tolist(), strict=True)
                ]
                out.append({"metric": labels, "values": pts})
        return {"resultType": self.type, "result": out}

    def to_arrow(self):
        """A long-format ``pyarrow.Table``: one row per point, a column per label name,
        then ``timestamp`` (ms, timestamp type) and ``value``."""
        import pyarrow as pa

        lengths = np.diff(self.offsets)
        cols: dict[str, Any] = {}
        for name in self.labels.names():
            cols[name] = pa.array(np.repeat(self.labels.values(name), lengths).astype(str).tolist())
        cols["timestamp"] = pa.array(self.ts.astype("datetime64[ms]"))
        cols["value"] = pa.array(self.values)
        return pa.table(cols)

    def to_pandas(self):
        """A long-format ``pandas.DataFrame`` (see :meth:`to_arrow`)."""
        return self.to_arrow().to_pandas()
