"""The benchmark queries (issue 4 §2: the seed's golden signals, (a) to (f)) and the
evaluation grid they run on.

Every query runs as a range query over the whole data set at a 60 s step and as an
instant query at its end. Times are 7 s past a minute, as in the differential test: the
generator never puts a sample on a whole second, so no sample sits on the edge of a
window, where Prometheus 2.42 (closed windows) and 3.x (left-open) differ.

>>> [q.key for q in QUERIES]
['a', 'b', 'c', 'd', 'e', 'f-max', 'f-quantile', 'f-topk']
>>> g = Grid.over(1_700_000_000_941, 1_700_021_599_000)
>>> g.start_ms % 60_000, (g.end_ms - g.start_ms) // g.step_ms + 1
(7000, 360)
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["BenchQuery", "Grid", "QUERIES", "query"]


@dataclass(frozen=True)
class BenchQuery:
    """One benchmark query.

    ``group_by`` names the labels that identify an output series of a query whose
    ``rate`` results feed an aggregation: the comparison with Prometheus 2.42 maps each
    raw series to its output series with them, to leave out the points where 2.42's rate
    extrapolation differs from 3.x by design (``None``: the query has no ``rate``).
    ``ranked`` marks ``topk``: among equal values, which series is kept depends on each
    engine's internal order."""

    key: str
    title: str
    expr: str
    group_by: tuple[str, ...] | None = None
    ranked: bool = False


QUERIES: tuple[BenchQuery, ...] = (
    BenchQuery(
        "a",
        "requests per second by service",
        "sum by (destination_service_name)(rate(istio_requests_total[5m]))",
        ("destination_service_name",),
    ),
    BenchQuery(
        "b",
        "p99 latency by service",
        "histogram_quantile(0.99, sum by (le, destination_service_name)"
        "(rate(istio_request_duration_milliseconds_bucket[5m])))",
        ("destination_service_name",),
    ),
    BenchQuery(
        "c",
        "error ratio by service",
        'sum(rate(istio_requests_total{reporter="destination",response_code!~"2.."}[5m])) '
        "by (destination_service_name) / on(destination_service_name) "
        'sum(rate(istio_requests_total{reporter="destination"}[5m])) by (destination_service_name)',
        ("destination_service_name",),
    ),
    BenchQuery(
        "d",
        "upstream overflow by pod and cluster",
        "sum(rate(envoy_cluster_upstream_cx_overflow[5m])) by (pod, cluster_name)",
        ("pod", "cluster_name"),
    ),
    BenchQuery(
        "e",
        "response flags by service",
        # no reporter="destination" as in the seed's rule: the generator, like Envoy, sets
        # these flags on the client side only (reporter="source"), so it would be empty
        'sum(rate(istio_requests_total{response_flags=~"UH|UT|UC|URX|UF"}[5m])) '
        "by (destination_service_name, response_flags)",
        ("destination_service_name", "response_flags"),
    ),
    BenchQuery(
        "f-max",
        "max_over_time of active connections",
        "max_over_time(envoy_cluster_upstream_cx_active[5m])",
    ),
    BenchQuery(
        "f-quantile",
        "quantile_over_time of active connections",
        "quantile_over_time(0.9, envoy_cluster_upstream_cx_active[5m])",
    ),
    BenchQuery(
        "f-topk",
        "topk of active connections",
        "topk(5, max_over_time(envoy_cluster_upstream_cx_active[5m]))",
        ranked=True,
    ),
)


def query(key: str) -> BenchQuery:
    """The query ``key`` of :data:`QUERIES`."""
    for q in QUERIES:
        if q.key == key:
            return q
    raise KeyError(f"no benchmark query {key!r}; choose one of {[q.key for q in QUERIES]}")


@dataclass(frozen=True)
class Grid:
    """A range query's ``start``/``end``/``step`` (ms) and the instant queries' time
    (``end``)."""

    start_ms: int
    end_ms: int
    step_ms: int = 60_000

    @classmethod
    def over(cls, first_ms: int, last_ms: int, step_ms: int = 60_000) -> Grid:
        """The grid of whole steps 7 s past a minute from the first sample to the last."""
        start = -(-(first_ms - 7_000) // 60_000) * 60_000 + 7_000
        end = start + (last_ms - start) // step_ms * step_ms
        return cls(start, end, step_ms)

    @property
    def steps(self) -> int:
        return (self.end_ms - self.start_ms) // self.step_ms + 1

    def seconds(self) -> tuple[float, float, float]:
        """``(start, end, step)`` in unix seconds, as the HTTP APIs take them."""
        return self.start_ms / 1000, self.end_ms / 1000, self.step_ms / 1000
