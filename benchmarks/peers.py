"""The peers of the side-by-side comparison: Prometheus and VictoriaMetrics.

Prometheus is ``tests/oracle.py``'s harness (the one the differential test uses: promtool
backfill, a server on 127.0.0.1 stopped by its pid); this module adds how its engine
time is read (:func:`prometheus_timed`). VictoriaMetrics (Debian's ``victoria-metrics``
1.79.5) is :class:`VictoriaMetricsServer`, run the same way: 127.0.0.1 only, its own
data folder, stopped by its pid, response cache off (``-search.disableCache``, and
``nocache=1`` on every query).

VictoriaMetrics imports the data through ``/api/v1/import/prometheus``, which reads
exposition text whose optional timestamp is in milliseconds. The OpenMetrics view has
unix seconds with three decimals, so :func:`om_to_vm_text` drops the decimal point of
every sample line (``x{a="1"} 5 1700000000.941`` becomes ``... 5 1700000000941``) and
:func:`vm_import_chunks` streams a file of any size that way in pieces of whole lines.

>>> om_to_vm_text(b'# TYPE x counter\\nx{a="1"} 5 1700000000.941\\nx 6 1700000015.007\\n')
(b'# TYPE x counter\\nx{a="1"} 5 1700000000941\\nx 6 1700000015007\\n', 2)
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.oracle import (  # noqa: E402
    LocalServer,
    PrometheusError,
    PrometheusServer,
    backfill_openmetrics,
    find_binaries,
)

__all__ = [
    "PrometheusError",
    "PrometheusServer",
    "VictoriaMetricsError",
    "VictoriaMetricsServer",
    "backfill_openmetrics",
    "find_binaries",
    "find_victoria_metrics",
    "om_to_vm_text",
    "prometheus_timed",
    "vm_import_chunks",
]

_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def prometheus_timed(
    prom: PrometheusServer, endpoint: str, params: Mapping[str, str]
) -> tuple[dict[str, Any], float]:
    """``/api/v1/query`` or ``/api/v1/query_range`` with ``stats=all``: the answer's
    ``data`` (without its ``stats``) and the engine's own ``evalTotalTime`` (seconds)."""
    data = prom.api(endpoint, {**params, "stats": "all"})
    stats = data.pop("stats")
    return data, float(stats["timings"]["evalTotalTime"])


# ---- VictoriaMetrics ---------------------------------------------------------------------


class VictoriaMetricsError(RuntimeError):
    """The server would not start, or an API call failed."""


def find_victoria_metrics() -> str | None:
    """Path of ``victoria-metrics`` (``PROMREPLAY_VICTORIA_METRICS`` overrides ``PATH``)."""
    return os.environ.get("PROMREPLAY_VICTORIA_METRICS") or shutil.which("victoria-metrics")


@dataclass
class VictoriaMetricsServer(LocalServer):
    """One single-node VictoriaMetrics on 127.0.0.1 with its own data folder.

    ``folder`` receives ``data/`` and ``victoria-metrics.log``. Use it as a context
    manager, or call :meth:`start` and :meth:`stop`.
    """

    folder: Path
    binary: str | None = None
    retention: str = "100y"
    extra_args: Sequence[str] = ()
    start_timeout: float = 60.0
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None

    log_name = "victoria-metrics.log"
    ready_path = "/health"
    error = VictoriaMetricsError

    def __post_init__(self) -> None:
        self.folder = Path(self.folder)
        self.binary = self.binary or find_victoria_metrics()
        if not self.binary:
            raise VictoriaMetricsError(
                "the victoria-metrics binary is not installed (apt-get install -y victoria-metrics)"
            )

    def start(self) -> VictoriaMetricsServer:
        self.folder.mkdir(parents=True, exist_ok=True)
        self._launch(
            lambda port: [
                str(self.binary),
                f"-storageDataPath={self.folder / 'data'}",
                f"-httpListenAddr=127.0.0.1:{port}",
                f"-retentionPeriod={self.retention}",
                "-search.disableCache",
                *self.extra_args,
            ]
        )
        return self

    # ---- HTTP ----------------------------------------------------------------------------
    def _request(self, path: str, body: bytes | None = None, timeout: float = 600) -> bytes:
        req = urllib.request.Request(self.url + path, data=body, method="POST" if body else "GET")
        try:
            with _NO_PROXY.open(req, timeout=timeout) as r:
                return r.read()  # type: ignore[no-any-return]
        except urllib.error.HTTPError as e:
            detail = e.read()[:500]
            raise VictoriaMetricsError(f"{path.split('?')[0]}: HTTP {e.code}: {detail!r}") from e

    def import_prometheus(self, text: bytes) -> float:
        """POST exposition text (timestamps in ms) to ``/api/v1/import/prometheus``;
        returns the request's wall time (the server has parsed and stored every row when
        it answers)."""
        t0 = time.perf_counter()
        self._request("/api/v1/import/prometheus", text)
        return time.perf_counter() - t0

    def force_flush(self) -> float:
        """Make every imported row searchable now; returns the wall time."""
        t0 = time.perf_counter()
        self._request("/internal/force_flush")
        return time.perf_counter() - t0

    def rows_inserted(self) -> int:
        """Rows the Prometheus-format import has stored (``vm_rows_inserted_total``)."""
        for line in self._request("/metrics").decode().splitlines():
            if line.startswith('vm_rows_inserted_total{type="prometheus"}'):
                return int(float(line.split()[-1]))
        raise VictoriaMetricsError('vm_rows_inserted_total{type="prometheus"} not exported')

    def api(self, endpoint: str, params: Mapping[str, str]) -> tuple[dict[str, Any], float]:
        """GET ``/api/v1/<endpoint>`` with ``nocache=1``: the answer's ``data`` and the
        request's wall time (response read, JSON not yet parsed)."""
        import json

        query = urllib.parse.urlencode({**params, "nocache": "1"})
        t0 = time.perf_counter()
        raw = self._request(f"/api/v1/{endpoint}?{query}")
        elapsed = time.perf_counter() - t0
        body = json.loads(raw)
        if body.get("status") != "success":
            raise VictoriaMetricsError(f"{endpoint}: {body.get('errorType')}: {body.get('error')}")
        return body["data"], elapsed


def om_to_vm_text(chunk: bytes) -> tuple[bytes, int]:
    """Whole lines of the OpenMetrics view as ``/api/v1/import/prometheus`` text
    (timestamps in ms), and the number of sample lines. Comment lines (``# TYPE``,
    ``# EOF``) pass unchanged; VictoriaMetrics skips them.

    Raises ``ValueError`` naming the line when a sample's timestamp is not ten digits of
    unix seconds with exactly three decimals (what ``fixtures/writers.py`` writes for
    any time between 2001 and 2286), or when the chunk does not end with a newline.
    """
    if not chunk:
        return b"", 0
    if not chunk.endswith(b"\n"):
        raise ValueError("the chunk must end with a whole line")
    a = np.frombuffer(chunk, np.uint8)
    nl = np.flatnonzero(a == 10)
    starts = np.concatenate([[0], nl[:-1] + 1])
    sample_nl = nl[a[starts] != ord("#")]
    dots = sample_nl - 4
    # from the newline back: 3 digits, ".", 10 digits, " " (unix seconds 2001..2286)
    tail = a[np.maximum(sample_nl[:, None] - np.arange(1, 16), 0)]
    bad = (sample_nl - starts[a[starts] != ord("#")] < 16) | (tail[:, 3] != ord("."))
    bad |= (tail[:, 14] != ord(" ")) | ~_is_digit(tail[:, [0, 1, 2, *range(4, 14)]]).all(axis=1)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        line_no = int(np.searchsorted(nl, sample_nl[i])) + 1
        line = chunk[int(starts[np.searchsorted(nl, sample_nl[i])]) : int(sample_nl[i])]
        raise ValueError(
            f"line {line_no} of the chunk: the timestamp is not unix seconds with three "
            f"decimals: {line[:200]!r}"
        )
    keep = np.ones(len(a), dtype=bool)
    keep[dots] = False
    return a[keep].tobytes(), len(sample_nl)


def _is_digit(a: np.ndarray) -> np.ndarray:
    return (a >= ord("0")) & (a <= ord("9"))


def vm_import_chunks(path: Path, chunk_bytes: int = 64 << 20) -> Iterator[tuple[bytes, int]]:
    """Stream the OpenMetrics file ``path`` as import bodies of about ``chunk_bytes``
    (whole lines): ``(body, samples)`` per piece."""
    rest = b""
    with open(path, "rb") as f:
        while True:
            block = f.read(chunk_bytes)
            if not block:
                break
            data = rest + block
            cut = data.rfind(b"\n") + 1
            rest = data[cut:]
            if cut:
                yield om_to_vm_text(data[:cut])
    if rest.strip():
        raise ValueError(f"{path}: the last line has no newline: {rest[:200]!r}")
