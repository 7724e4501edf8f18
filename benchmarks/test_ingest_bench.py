"""Ingest speed and memory: promreplay's scanner vs ``prometheus_client``'s parser.

Run with ``make bench`` or::

    .venv/bin/python -m pytest benchmarks/test_ingest_bench.py --benchmark-enable -s

Both parsers read the same uncompressed bytes, generated here (deterministic, no
fixtures needed): mesh-style captures with repeated series, many scrapes of the same
targets, counters moving between scrapes.

- ``short``: Envoy-sidecar style lines (``envoy_cluster_*{cluster_name=...}``, about 90
  bytes a line), the case the 1M samples/s target is about;
- ``istio``: Istio standard metrics with the 25-label schema and Envoy's default buckets
  (about 750 bytes a line), the case the 100 MB/s target is about.

Reported (``extra_info``, and printed with ``-s``): MB/s and samples/s of promreplay's
per-target scrape replay on bodies in memory (what a capture replay runs per file) and of
``prometheus_client.parser.text_string_to_metric_families`` on the same bytes, end to
end ``engine.open`` on a folder of the same files, and the store's bytes per sample.

``test_engine_open_medium`` opens the generated medium mesh capture (``fixtures/
generate.py --preset medium``: about 12.4k series, 6 h at 15 s, 15M samples in 51k
gzipped files; built once into ``~/.cache/promreplay-bench``, see
``benchmarks/meshdata.py``) and reports samples/s, MB/s of exposition text and the
time per scrape file. Run it alone with ``-k medium`` (it takes a few minutes the
first time, to generate the files). Use ``--benchmark-timer=time.process_time`` on a
shared machine: the targets are about one core.
"""

from __future__ import annotations

import time
import tracemalloc
from pathlib import Path

import pytest
from meshdata import dataset, uncompressed_bytes
from prometheus_client.parser import text_string_to_metric_families

import engine
from engine.ingest.exposition import TargetParser
from engine.ingest.scrapeloop import ScrapeLoop

TARGETS = 10
SCRAPES = 240  # one hour at 15 s per target
RESULTS: dict[str, dict[str, float]] = {}

_ISTIO_KEYS = (
    "response_code",
    "reporter",
    "source_workload",
    "source_workload_namespace",
    "source_principal",
    "source_app",
    "source_version",
    "source_cluster",
    "destination_workload",
    "destination_workload_namespace",
    "destination_principal",
    "destination_app",
    "destination_version",
    "destination_service",
    "destination_service_name",
    "destination_service_namespace",
    "destination_cluster",
    "request_protocol",
    "response_flags",
    "grpc_response_status",
    "connection_security_policy",
    "source_canonical_service",
    "destination_canonical_service",
    "source_canonical_revision",
    "destination_canonical_revision",
)
_BUCKETS = (
    "0.5",
    "1",
    "5",
    "10",
    "25",
    "50",
    "100",
    "250",
    "500",
    "1000",
    "2500",
    "5000",
    "10000",
    "30000",
    "60000",
    "300000",
    "600000",
    "1800000",
    "3600000",
    "+Inf",
)


def _short_scrape(target: int, k: int) -> str:
    out = []
    for fam, kind in (
        ("envoy_cluster_upstream_cx_active", "gauge"),
        ("envoy_cluster_upstream_cx_overflow", "counter"),
        ("envoy_cluster_upstream_rq_total", "counter"),
        ("envoy_cluster_upstream_rq_timeout", "counter"),
    ):
        out.append(f"# TYPE {fam} {kind}")
        for c in range(60):
            v = (target * 7 + c * 13 + k * (c % 5)) % 100000
            out.append(
                f'{fam}{{cluster_name="outbound|9080||svc-{c}.default.svc.cluster.local"}} {v}'
            )
    for c in range(40):
        for code in ("2xx", "4xx", "5xx"):
            v = k * (c + 1) * (3 if code == "2xx" else 1)
            out.append(
                f'envoy_cluster_upstream_rq{{response_code_class="{code}",'
                f'cluster_name="inbound|{9000 + c}||"}} {v}'
            )
    return "\n".join(out) + "\n"


def _istio_scrape(target: int, k: int) -> str:
    out = ["# TYPE istio_requests_total counter"]
    peers = [{key: f"{key}-{target}-{p}" for key in _ISTIO_KEYS} for p in range(6)]
    for p, lab in enumerate(peers):
        lab = dict(lab, response_code="200", grpc_response_status="")
        body = ",".join(f'{key}="{v}"' for key, v in lab.items())
        out.append(f"istio_requests_total{{{body}}} {k * (p + 3)}")
    out.append("# TYPE istio_request_duration_milliseconds histogram")
    for p, lab in enumerate(peers[:3]):
        body = ",".join(f'{key}="{v}"' for key, v in lab.items())
        for i, le in enumerate(_BUCKETS):
            out.append(
                f'istio_request_duration_milliseconds_bucket{{{body},le="{le}"}} '
                f"{k * (p + 1) * min(i + 1, 12)}"
            )
        out.append(f"istio_request_duration_milliseconds_sum{{{body}}} {k * 12.5 * (p + 1)}")
        out.append(f"istio_request_duration_milliseconds_count{{{body}}} {k * (p + 1) * 12}")
    return "\n".join(out) + "\n"


_GENERATORS = {"short": _short_scrape, "istio": _istio_scrape}


@pytest.fixture(scope="module", params=["short", "istio"])
def corpus(request) -> tuple[str, list[list[bytes]]]:  # noqa: ANN001
    gen = _GENERATORS[request.param]
    return request.param, [[gen(t, k).encode() for k in range(SCRAPES)] for t in range(TARGETS)]


def _sizes(bodies: list[list[bytes]]) -> tuple[int, int]:
    nbytes = sum(len(b) for per in bodies for b in per)
    lines = sum(
        b.count(b"\n") - b.count(b"\n#") - (1 if b.startswith(b"#") else 0)
        for per in bodies
        for b in per
    )
    return nbytes, lines


def _timed(benchmark, fn, rounds: int, warmup: int = 1) -> float:  # noqa: ANN001
    """Median seconds of ``fn`` (also when pytest-benchmark is disabled)."""
    benchmark.pedantic(fn, rounds=rounds, iterations=1, warmup_rounds=warmup)
    if benchmark.stats is not None:
        return benchmark.stats.stats.median
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _record(name: str, seconds: float, nbytes: int, samples: int, benchmark) -> None:  # noqa: ANN001
    r = {"MB/s": nbytes / 1e6 / seconds, "samples/s": samples / seconds}
    RESULTS[name] = r
    benchmark.extra_info.update(r)
    print(f"\n{name:32s} {r['MB/s']:9.1f} MB/s {r['samples/s'] / 1e6:8.3f} M samples/s")


def test_promreplay_parse(benchmark, corpus) -> None:  # noqa: ANN001
    """What a capture replay runs per scrape body (:class:`ScrapeLoop`: the scrape
    loop's kernel, with ``TargetParser`` for new series), on bodies in memory."""
    kind, bodies = corpus
    nbytes, samples = _sizes(bodies)

    def run() -> int:
        n = 0
        for t, per in enumerate(bodies):
            loop = ScrapeLoop(TargetParser({"job": "mesh", "instance": f"pod-{t}"}), [])
            for k, body in enumerate(per):
                loop.scrape(1_700_000_000_000 + 15_000 * k, "scrape.prom", body)
            n += sum(len(sids) for sids, _, _ in loop.samples())
        assert n == samples
        return n

    _record(f"promreplay parse [{kind}]", _timed(benchmark, run, 5), nbytes, samples, benchmark)


def test_prometheus_client_parse(benchmark, corpus) -> None:  # noqa: ANN001
    kind, bodies = corpus
    subset = [per[:3] for per in bodies[:4]]  # it is slow: a sample of the same bytes
    nbytes, samples = _sizes(subset)

    def run() -> int:
        n = 0
        for per in subset:
            for body in per:
                for fam in text_string_to_metric_families(body.decode()):
                    n += len(fam.samples)
        return n

    _record(
        f"prometheus_client parse [{kind}]", _timed(benchmark, run, 3), nbytes, samples, benchmark
    )
    ours = RESULTS.get(f"promreplay parse [{kind}]")
    if ours:
        ratio = ours["MB/s"] / RESULTS[f"prometheus_client parse [{kind}]"]["MB/s"]
        benchmark.extra_info["promreplay_speedup"] = ratio
        print(f"promreplay / prometheus_client [{kind}]: {ratio:.0f}x")


def _write_capture(root: Path, bodies: list[list[bytes]]) -> Path:
    cap = root / "cap"
    for t, per in enumerate(bodies):
        d = cap / f"pod-{t}"
        d.mkdir(parents=True)
        for k, body in enumerate(per):
            (d / f"{1_700_000_000 + 15 * k}.prom").write_bytes(body)
    return cap


def test_engine_open_end_to_end(benchmark, corpus, tmp_path: Path) -> None:  # noqa: ANN001
    kind, bodies = corpus
    nbytes, samples = _sizes(bodies)
    cap = _write_capture(tmp_path, bodies)
    stored = {}

    def run() -> None:
        stored["db"] = engine.open(cap)

    _record(f"engine.open [{kind}]", _timed(benchmark, run, 3), nbytes, samples, benchmark)
    db = stored["db"]
    assert db.stats()["samples"] == samples + TARGETS * SCRAPES  # + up
    assert not db.warnings


def test_bytes_per_sample(benchmark, corpus, tmp_path: Path) -> None:  # noqa: ANN001
    kind, bodies = corpus
    cap = _write_capture(tmp_path, bodies)
    tracemalloc.start()
    db = benchmark.pedantic(engine.open, args=(cap,), rounds=1, iterations=1)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    n = len(db.samples)
    st = db.stats()
    per_sample = db.samples.nbytes() / n
    benchmark.extra_info.update(
        {
            "store_bytes_per_sample": per_sample,
            "stats_bytes_per_sample": st["bytes"] / n,
            "peak_build_bytes_per_sample": peak / n,
        }
    )
    print(
        f"\nbytes per stored sample [{kind}]: samples {per_sample:.2f}, "
        f"store {st['bytes'] / n:.2f}, "
        f"peak while building {peak / n:.1f} ({n} samples, {st['series']} series)"
    )


def test_engine_open_medium(benchmark) -> None:  # noqa: ANN001
    """``engine.open`` of the medium mesh capture (gzipped scrape files, target.json)."""
    d = dataset("medium")
    cap = d.capture()  # generated once, then reused from the cache folder
    summary = d.summary
    nbytes = uncompressed_bytes(cap)
    engine.open(dataset("small").capture())  # compile (or load) the kernels first
    stored = {}

    def run() -> None:
        stored["db"] = engine.open(cap)

    seconds = _timed(benchmark, run, 1, warmup=0)
    _record("engine.open [medium]", seconds, nbytes, summary["samples"], benchmark)
    per_file = seconds / summary["files"] * 1e3
    benchmark.extra_info["ms_per_file"] = per_file
    print(f"{summary['files']} files, {per_file:.3f} ms per file")
    db = stored["db"]
    assert db.stats()["series"] == summary["series"] and not db.warnings
    assert db.stats()["samples"] >= summary["samples"]  # + stale markers
