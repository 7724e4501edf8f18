"""A real Prometheus as a test oracle: Debian's ``prometheus`` and ``promtool`` binaries.

Everything here binds to 127.0.0.1 only, on free ports, with temporary data folders, and
every process started is stopped by its pid (SIGTERM, then SIGKILL), in a ``finally`` or a
fixture finaliser. Importable by tests (``from oracle import ...``: ``tests/`` is on
``sys.path`` through its ``conftest.py``) and by benchmarks (``from tests.oracle import ...``).

Two ways of putting data into the server:

- :func:`scrape_once` serves a file over 127.0.0.1 HTTP with the right ``Content-Type``,
  lets the server scrape it, and reads back what the first scrape stored;
- :func:`backfill_openmetrics` turns an OpenMetrics file into TSDB blocks with
  ``promtool tsdb create-blocks-from openmetrics`` and :class:`PrometheusServer` then
  serves those blocks.

Tests that use this are marked ``@pytest.mark.prometheus`` and call
:func:`require_prometheus` (or use the :func:`prometheus_binaries` fixture), which skips
with a clear message when the binaries are missing, and fails instead under ``CI=true``
(``.ci/run`` installs Debian's ``prometheus`` package).

>>> with PrometheusServer(tmp_dir) as prom:                        # doctest: +SKIP
...     prom.query("1 + 1")
{'resultType': 'scalar', 'result': [..., '2']}
"""

from __future__ import annotations

import contextlib
import http.server
import json
import math
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

__all__ = [
    "CONTENT_TYPE_OPENMETRICS",
    "CONTENT_TYPE_TEXT",
    "PrometheusServer",
    "Scrape",
    "SeriesSamples",
    "backfill_openmetrics",
    "backfilled_server",
    "find_binaries",
    "free_port",
    "is_nan_equal",
    "prometheus_binaries",
    "require_prometheus",
    "scrape_once",
    "serve_bytes",
    "stop_process",
]

CONTENT_TYPE_TEXT = "text/plain; version=0.0.4; charset=utf-8"
CONTENT_TYPE_OPENMETRICS = "application/openmetrics-text; version=1.0.0; charset=utf-8"

#: Label set as a hashable, sorted tuple of (name, value).
LabelKey = tuple[tuple[str, str], ...]
#: ``{labels: [(ts_ms, value), ...]}`` as read back from the server.
SeriesSamples = dict[LabelKey, list[tuple[int, float]]]

_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


# ---- binaries ----------------------------------------------------------------------------


def find_binaries() -> tuple[str, str] | None:
    """Paths of ``prometheus`` and ``promtool``, or ``None`` when either is missing.

    ``PROMREPLAY_PROMETHEUS`` / ``PROMREPLAY_PROMTOOL`` override the ``PATH`` lookup.
    """
    prom = os.environ.get("PROMREPLAY_PROMETHEUS") or shutil.which("prometheus")
    tool = os.environ.get("PROMREPLAY_PROMTOOL") or shutil.which("promtool")
    if not prom or not tool:
        return None
    return prom, tool


def require_prometheus() -> tuple[str, str]:
    """The binaries, or skip the test (fail it under ``CI=true``) when they are missing."""
    found = find_binaries()
    if found is None:
        msg = (
            "the prometheus/promtool binaries are not installed "
            "(apt-get install -y prometheus; .ci/run does this)"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(msg)
        pytest.skip(msg)
    return found


@pytest.fixture
def prometheus_binaries() -> tuple[str, str]:
    """Fixture form of :func:`require_prometheus`: ``(prometheus, promtool)``."""
    return require_prometheus()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LocalServer:
    """The process side of a server under test, shared by :class:`PrometheusServer` and
    the benchmarks' VictoriaMetrics: started on a free port of 127.0.0.1 (again on another
    port if that one was taken meanwhile), ready when ``ready_path`` answers 200, logging
    to ``folder/<log_name>``, stopped by its pid. Subclasses are dataclasses with
    ``folder``, ``start_timeout``, ``port`` and ``proc`` fields, and call :meth:`_launch`
    from ``start``."""

    log_name = "server.log"
    ready_path = "/"
    error: type[Exception] = RuntimeError
    folder: Path
    start_timeout: float
    port: int
    proc: subprocess.Popen[bytes] | None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.folder / self.log_name

    def log_tail(self, n: int = 20) -> str:
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return ""
        return "\n".join(lines[-n:])

    def _launch(self, args_for_port: Callable[[int], list[str]]) -> None:
        for attempt in range(3):  # a free port can be taken by someone else before we bind it
            self.port = free_port()
            with open(self.log_path, "ab") as log:
                self.proc = subprocess.Popen(
                    args_for_port(self.port),
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    start_new_session=True,
                )
            try:
                self._wait_ready()
                return
            except self.error:
                self.stop()
                if "address already in use" in self.log_tail() and attempt < 2:
                    continue
                raise

    def _wait_ready(self) -> None:
        name = self.log_name.removesuffix(".log")
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise self.error(
                    f"{name} exited with code {self.proc.returncode}:\n{self.log_tail()}"
                )
            try:
                with _NO_PROXY.open(self.url + self.ready_path, timeout=2) as r:
                    if r.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.1)
        raise self.error(f"{name} not ready after {self.start_timeout}s:\n{self.log_tail()}")

    def stop(self) -> None:
        """Stop the process by its pid: SIGTERM, then SIGKILL after 20 s."""
        proc, self.proc = self.proc, None
        stop_process(proc)

    def __enter__(self):  # noqa: ANN204 - the subclass
        return self.start()  # type: ignore[attr-defined]

    def __exit__(self, *exc: object) -> None:
        self.stop()


# ---- the server --------------------------------------------------------------------------


class PrometheusError(RuntimeError):
    """The server would not start, or an API call failed."""


@dataclass
class PrometheusServer(LocalServer):
    """One Prometheus process on 127.0.0.1, with its own data folder and config.

    ``folder`` receives ``prometheus.yml``, ``data/`` (unless ``data_dir`` is given, e.g.
    a folder of backfilled blocks) and ``prometheus.log``. ``scrape_configs`` is the YAML
    list under ``scrape_configs:`` as Python data (JSON is valid YAML). Use it as a
    context manager, or call :meth:`start` and :meth:`stop` yourself.
    """

    folder: Path
    binary: str | None = None
    scrape_configs: Sequence[Mapping[str, Any]] = ()
    global_config: Mapping[str, Any] = field(default_factory=dict)
    data_dir: Path | None = None
    lookback_delta: str = "5m"
    retention: str = "100y"
    extra_args: Sequence[str] = ()
    start_timeout: float = 60.0

    port: int = 0
    proc: subprocess.Popen[bytes] | None = None

    log_name = "prometheus.log"
    ready_path = "/-/ready"
    error = PrometheusError

    def __post_init__(self) -> None:
        self.folder = Path(self.folder)
        if self.binary is None:
            self.binary = require_prometheus()[0]

    # ---- lifecycle ---------------------------------------------------------------------
    def start(self) -> PrometheusServer:
        self.folder.mkdir(parents=True, exist_ok=True)
        data = self.data_dir or self.folder / "data"
        data.mkdir(parents=True, exist_ok=True)
        config = self.folder / "prometheus.yml"
        config.write_text(
            json.dumps(
                {"global": dict(self.global_config), "scrape_configs": list(self.scrape_configs)}
            )
        )
        self._launch(
            lambda port: [
                str(self.binary),
                f"--config.file={config}",
                f"--storage.tsdb.path={data}",
                f"--web.listen-address=127.0.0.1:{port}",
                f"--storage.tsdb.retention.time={self.retention}",
                f"--query.lookback-delta={self.lookback_delta}",
                "--storage.tsdb.min-block-duration=2h",
                "--storage.tsdb.max-block-duration=2h",
                *self.extra_args,
            ]
        )
        return self

    # ---- the HTTP API ------------------------------------------------------------------
    def api(self, endpoint: str, params: Sequence[tuple[str, str]] | Mapping[str, str]) -> Any:
        """GET ``/api/v1/<endpoint>`` and return its ``data``; raises on ``status: error``."""
        if not self.port:
            raise PrometheusError("the server is not running")
        query = urllib.parse.urlencode(
            list(params.items()) if isinstance(params, Mapping) else params
        )
        try:
            with _NO_PROXY.open(f"{self.url}/api/v1/{endpoint}?{query}", timeout=60) as r:
                body = json.load(r)
        except urllib.error.HTTPError as e:
            body = json.load(e)
        if body.get("status") != "success":
            raise PrometheusError(f"{endpoint}: {body.get('errorType')}: {body.get('error')}")
        return body["data"]

    def query(self, expr: str, time_s: float | None = None) -> dict[str, Any]:
        """``/api/v1/query``: ``{"resultType": ..., "result": ...}``."""
        params = {"query": expr}
        if time_s is not None:
            params["time"] = _fmt_time(time_s)
        return self.api("query", params)  # type: ignore[no-any-return]

    def query_range(self, expr: str, start: float, end: float, step: float) -> dict[str, Any]:
        """``/api/v1/query_range`` (times in unix seconds, step in seconds)."""
        return self.api(  # type: ignore[no-any-return]
            "query_range",
            {"query": expr, "start": _fmt_time(start), "end": _fmt_time(end), "step": repr(step)},
        )

    def series(
        self, match: Sequence[str], start: float | None = None, end: float | None = None
    ) -> list[dict[str, str]]:
        """``/api/v1/series`` for the ``match[]`` selectors."""
        params = [("match[]", m) for m in match]
        if start is not None:
            params.append(("start", _fmt_time(start)))
        if end is not None:
            params.append(("end", _fmt_time(end)))
        return self.api("series", params)  # type: ignore[no-any-return]

    def raw_samples(self, selector: str, at: float, window: str = "20y") -> SeriesSamples:
        """Raw samples of ``selector`` in ``(at - window, at]``, stale markers excluded
        (the API never returns them)."""
        data = self.query(f"{selector}[{window}]", at)
        out: SeriesSamples = {}
        for item in data["result"]:
            key = tuple(sorted(item["metric"].items()))
            out[key] = [(round(float(t) * 1000), parse_value(v)) for t, v in item["values"]]
        return out

    def target_metadata(self, job: str) -> dict[str, tuple[str, str, str]]:
        """``/api/v1/targets/metadata`` of a job's targets: ``{family: (type, help, unit)}``."""
        data = self.api("targets/metadata", {"match_target": f'{{job="{job}"}}'})
        return {m["metric"]: (m["type"], m["help"], m.get("unit", "")) for m in data}

    def wait_for(self, expr: str, timeout: float = 30.0) -> list[dict[str, Any]]:
        """Poll an instant query until it returns a non-empty vector."""
        deadline = time.monotonic() + timeout
        while True:
            result = self.query(expr)["result"]
            if result:
                return result  # type: ignore[no-any-return]
            if time.monotonic() > deadline:
                raise PrometheusError(f"{expr!r} still empty after {timeout}s:\n{self.log_tail()}")
            time.sleep(0.2)


def stop_process(proc: subprocess.Popen[bytes] | None, grace: float = 20.0) -> None:
    """Stop ``proc`` by its pid: SIGTERM, then SIGKILL after ``grace`` seconds."""
    if proc is None or proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


def _fmt_time(t: float) -> str:
    return f"{t:.3f}"


def parse_value(v: str) -> float:
    """A sample value as the API writes it (``"NaN"``, ``"+Inf"``, Go float text)."""
    return float(v)


# ---- serving a file ----------------------------------------------------------------------


@contextlib.contextmanager
def serve_bytes(
    body: bytes, content_type: str, path: str = "/metrics"
) -> Iterator[tuple[str, list[float]]]:
    """Serve ``body`` at ``http://127.0.0.1:PORT{path}`` in a thread.

    Yields ``(host:port, request_times)``; ``request_times`` collects the wall time of
    every request answered. The server is shut down on exit.
    """
    hits: list[float] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            if self.path.split("?")[0] != path:
                self.send_error(404)
                return
            hits.append(time.time())
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(
        target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield f"127.0.0.1:{httpd.server_address[1]}", hits
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


@dataclass
class Scrape:
    """What one scrape stored: the target labels, the scrape time (Prometheus' own
    timestamp, ms), every series' samples at that scrape (``scrape_*`` and ``up``
    included), and the family metadata the server kept (``{family: (type, help, unit)}``)."""

    job: str
    instance: str
    time_ms: int
    samples: SeriesSamples
    metadata: dict[str, tuple[str, str, str]]

    def up(self) -> float:
        key = (("__name__", "up"), ("instance", self.instance), ("job", self.job))
        return self.samples[key][0][1]


def scrape_once(
    folder: Path,
    body: bytes,
    content_type: str,
    job: str = "oracle",
    interval: str = "2s",
    extra_args: Sequence[str] = (),
) -> Scrape:
    """Let a fresh Prometheus scrape ``body`` (served over 127.0.0.1) and read back the
    samples of its first scrape.

    The samples read are those of the first scrape's time ``T`` (the timestamp of the
    first ``up`` sample): everything in ``(T - 20y, T]``, so samples with explicit,
    older timestamps in the body are included. Samples with explicit timestamps
    after ``T`` are not.
    """
    with serve_bytes(body, content_type) as (target, hits):
        scrape_config = {
            "job_name": job,
            "scrape_interval": interval,
            "scrape_timeout": interval,
            "static_configs": [{"targets": [target]}],
        }
        with PrometheusServer(
            folder, scrape_configs=[scrape_config], extra_args=extra_args
        ) as prom:
            first = prom.wait_for(f'up{{job="{job}"}}')
            up_key = tuple(sorted(first[0]["metric"].items()))
            ups = prom.raw_samples(f'up{{job="{job}"}}', time.time() + 1)
            t0 = ups[up_key][0][0]
            samples = prom.raw_samples('{__name__=~".+"}', t0 / 1000)
            metadata = prom.target_metadata(job)
    return Scrape(job, target, t0, samples, metadata)


# ---- backfilling -------------------------------------------------------------------------


def backfill_openmetrics(
    om_file: Path, data_dir: Path, promtool: str | None = None, timeout: float = 300.0
) -> Path:
    """``promtool tsdb create-blocks-from openmetrics --max-block-duration=24h`` into
    ``data_dir``; returns ``data_dir``, ready to be a :class:`PrometheusServer`'s
    ``data_dir``. Raises :class:`PrometheusError` with promtool's output on failure
    (``timeout`` seconds at most: the benchmarks backfill gigabytes)."""
    tool = promtool or require_prometheus()[1]
    data_dir.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(
        [
            tool,
            "tsdb",
            "create-blocks-from",
            "openmetrics",
            "--max-block-duration=24h",
            str(om_file),
            str(data_dir),
        ],
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )
    if proc.returncode != 0:
        raise PrometheusError(f"promtool failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return data_dir


@contextlib.contextmanager
def backfilled_server(
    om_file: Path, lookback_delta: str = "5m", folder: Path | None = None
) -> Iterator[PrometheusServer]:
    """A server started on the blocks backfilled from ``om_file`` (no scrape targets)."""
    with contextlib.ExitStack() as stack:
        if folder is None:
            folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="prom-oracle-")))
        data = backfill_openmetrics(om_file, folder / "data")
        with PrometheusServer(folder, data_dir=data, lookback_delta=lookback_delta) as prom:
            yield prom


def is_nan_equal(a: float, b: float) -> bool:
    """Equality of sample values with NaN equal to NaN (the API cannot tell payloads)."""
    return (math.isnan(a) and math.isnan(b)) or a == b
