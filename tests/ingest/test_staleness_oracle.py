"""Staleness after a failed scrape, checked against a real Prometheus.

A target first serves a good body (series ``a``, ``b``, ``c``), then, at every later
scrape, a body that is malformed at its third line. Prometheus drops each failed scrape
(``up`` = 0) but counts ``a`` and ``b`` as seen (they were read before the error): they get
no stale marker, so an instant query still finds their last value through the 5m
lookback, while ``c`` is marked stale and disappears. ``engine.open`` on the same bodies
as a capture folder must store exactly that: stale markers for ``c`` only.
"""

from __future__ import annotations

import http.server
import threading
import time
from pathlib import Path

import pytest
from oracle import CONTENT_TYPE_TEXT, PrometheusServer, require_prometheus

import engine
from engine.store import is_stale

pytestmark = pytest.mark.prometheus

GOOD = b"a 1\nb 2\nc 3\n"
BAD = b"a 10\nb 20\nc{ 30\n"


def _serve_sequence(bodies: list[bytes]):
    """An HTTP server answering the i-th request with ``bodies[min(i, last)]``."""
    hits: list[float] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            body = bodies[min(len(hits), len(bodies) - 1)]
            hits.append(time.time())
            self.send_response(200)
            self.send_header("Content-Type", CONTENT_TYPE_TEXT)
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
    return httpd, thread, hits


def test_series_read_before_a_parse_error_are_not_marked_stale(tmp_path: Path) -> None:
    require_prometheus()
    httpd, thread, hits = _serve_sequence([GOOD, BAD])
    target = f"127.0.0.1:{httpd.server_address[1]}"
    cfg = {
        "job_name": "seq",
        "scrape_interval": "1s",
        "scrape_timeout": "1s",
        "static_configs": [{"targets": [target]}],
    }
    try:
        with PrometheusServer(tmp_path / "prom", scrape_configs=[cfg]) as prom:
            deadline = time.time() + 60
            while len(hits) < 4 and time.time() < deadline:
                time.sleep(0.2)
            time.sleep(1.5)
            now = time.time()
            present = {
                r["metric"]["__name__"]: float(r["value"][1])
                for r in prom.query('{__name__=~"a|b|c"}', now)["result"]
            }
            ups = [
                float(v)
                for _, v in prom.query_range('up{job="seq"}', now - 30, now, 1)["result"][0][
                    "values"
                ]
            ]
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)
    assert len(hits) >= 4
    assert 1.0 in ups and ups[-1] == 0.0
    # a and b keep their first value (seen, never stale); c went stale at the first failure
    assert present == {"a": 1.0, "b": 2.0}

    # the same bodies, replayed
    d = tmp_path / "cap" / "t"
    d.mkdir(parents=True)
    for k, body in enumerate([GOOD, BAD, BAD, BAD]):
        (d / f"{1_700_000_000 + k}.prom").write_bytes(body)
    db = engine.open(d.parent)
    stale = {
        lab["__name__"]: is_stale(v).tolist() for lab, _, v in db.select('{__name__=~"a|b|c"}')
    }
    assert stale == {"a": [False], "b": [False], "c": [False, True]}
    ((_, _, up),) = db.select("up")
    assert up.tolist() == [1.0, 0.0, 0.0, 0.0]
