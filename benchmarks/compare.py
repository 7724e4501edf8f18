"""Side by side: promreplay, Prometheus and VictoriaMetrics on the same data (issue 4 §2).

Usage (``make bench-compare`` runs the default)::

    .venv/bin/python benchmarks/compare.py                 # the medium set: 6 h, ~11k series
    .venv/bin/python benchmarks/compare.py --hours 1       # a quick run on 1 h of it
    .venv/bin/python benchmarks/compare.py --profile       # + cProfile of promreplay's queries

What it does:

1. generates the medium mesh (``fixtures/generate.py``): the capture folder, cached in
   ``~/.cache/promreplay-bench`` (see :mod:`meshdata`), and its OpenMetrics view (about
   2 GB per hour) in ``--workdir``, after checking that the disk has room for it;
2. loads it into promreplay (``engine.open`` of the capture folder, on one pinned core,
   after reading it once untimed: see :func:`warm_page_cache`),
   into Debian's ``prometheus`` (``promtool tsdb create-blocks-from openmetrics``, then a
   server on the blocks) and into Debian's ``victoria-metrics``
   (``/api/v1/import/prometheus``), timing each; the OpenMetrics file is deleted as soon
   as both peers have it;
3. waits until both servers are idle (VictoriaMetrics merges its import and Prometheus
   compacts in the background, on every core), then runs each query of :mod:`queries` as
   a range query over the whole set at a 60 s step
   and as an instant query at its end: a warm-up, then the median of ``--runs`` runs,
   taken in rounds that run each system once in turn (see :func:`interleaved`).
   promreplay's time is measured in process on one core (``os.sched_setaffinity`` and
   ``NUMBA_NUM_THREADS=1``); ``--cores 2`` adds a second promreplay column on two cores
   with ``QueryOptions.threads=2``, measured in the same run; Prometheus' is its
   engine's ``evalTotalTime`` (``stats=all``); VictoriaMetrics' is the request's wall time
   (``nocache=1``, server started with ``-search.disableCache``);
4. checks that promreplay's answers equal Prometheus' (:mod:`agreement`);
5. writes ``benchmarks/results/<date>-<host>.json`` and ``.md`` and prints the table.

Servers bind to 127.0.0.1 only and are stopped by their pid, also on errors and Ctrl-C.
The exit status is 1 when an answer differs from Prometheus' (or between one and more
threads), 2 on a setup error (missing binaries, no disk space), 0 otherwise; missed speed
targets are reported, not failed.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import functools
import io
import os
import pstats
import shutil
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
for p in (str(HERE), str(ROOT)):
    if p not in sys.path:
        sys.path.insert(0, p)

#: OpenMetrics bytes per sample of the medium mesh (25 Istio labels), measured: ~845.
OM_BYTES_PER_SAMPLE = 850
#: Samples per hour of the medium mesh, measured: ~2.42M.
SAMPLES_PER_HOUR = 2_450_000


class SetupError(RuntimeError):
    """Something the run needs is missing (binaries, disk space)."""


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="benchmarks/compare.py",
        description="promreplay vs Prometheus vs VictoriaMetrics on the generated medium mesh.",
    )
    p.add_argument(
        "--hours",
        type=float,
        default=6.0,
        help="length of the data set (default 6: the issue's medium set)",
    )
    p.add_argument("--runs", type=int, default=3, help="timed runs per query (default 3)")
    p.add_argument("--step", type=float, default=60.0, help="range query step, s (default 60)")
    p.add_argument(
        "--cores",
        type=int,
        default=1,
        help="also time promreplay on this many cores with as many query threads "
        "(default 1: the one-core figures only)",
    )
    p.add_argument("--queries", default="", help="comma-separated query keys to run (default: all)")
    p.add_argument(
        "--workdir",
        type=Path,
        default=None,
        help="where the OpenMetrics file, the TSDB blocks and VictoriaMetrics' "
        "data go (default: ~/.cache/promreplay-bench/compare)",
    )
    p.add_argument(
        "--results",
        type=Path,
        default=HERE / "results",
        help="folder of the JSON and Markdown records (default benchmarks/results)",
    )
    p.add_argument("--no-prometheus", action="store_true", help="leave Prometheus out")
    p.add_argument("--no-vm", action="store_true", help="leave VictoriaMetrics out")
    p.add_argument(
        "--profile",
        action="store_true",
        help="also cProfile one run of each promreplay range query (written next "
        "to the results as <stem>.profiles.txt)",
    )
    return p


# ---- small helpers -------------------------------------------------------------------------


@contextlib.contextmanager
def pinned(cores: int) -> Iterator[None]:
    """Run the calling thread on the first ``cores`` allowed CPUs, then restore. Servers
    must not be started inside: a child inherits the affinity."""
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, sorted(before)[:cores])
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


def interleaved(timers: dict[str, Callable[[], float]], runs: int) -> dict[str, list[float]]:
    """One warm-up call of every timer, then ``runs`` rounds that call each timer once in
    turn; each timer returns its own time. Taking turns, rather than timing one system's
    runs and then the next's, puts every system under the same drift of a shared
    machine's speed (it moved by up to 2x within minutes here)."""
    for fn in timers.values():
        fn()
    times: dict[str, list[float]] = {name: [] for name in timers}
    for _ in range(runs):
        for name, fn in timers.items():
            times[name].append(fn())
    return times


def warm_page_cache(folder: Path) -> int:
    """Read every file under ``folder`` once; the bytes read. The timed ingest then reads
    the capture from memory, as the peers read the OpenMetrics file just written for
    them: the OpenMetrics view (13 GB) evicts the capture between runs, and reading it
    back from disk took a third of the ingest time (17.8 s cold, 13.4 s warm)."""
    total = 0
    for p in sorted(folder.rglob("*")):
        if p.is_file():
            total += len(p.read_bytes())
    return total


def check_disk(
    folder: Path, hours: float, capture_cached: bool, peers: bool = True
) -> dict[str, float]:
    """Raise :class:`SetupError` unless ``folder``'s disk can hold the capture and, for
    the ``peers``, the OpenMetrics view (deleted once loaded), the TSDB blocks and
    VictoriaMetrics' data."""
    samples = hours * SAMPLES_PER_HOUR
    om = samples * OM_BYTES_PER_SAMPLE if peers else 0.0
    need = om + (samples * 6 if peers else 0) + (0 if capture_cached else hours * 80e6) + 1e9
    folder.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(folder).free
    if free < need:
        raise SetupError(
            f"not enough free disk in {folder}: the run needs about {need / 1e9:.1f} GB "
            f"(the OpenMetrics view of {hours:g} h is about {om / 1e9:.1f} GB, deleted once "
            f"both peers have loaded it) and {free / 1e9:.1f} GB is free; use --hours to "
            "shrink the data or --workdir on a bigger disk"
        )
    return {"needed_gb": need / 1e9, "free_gb": free / 1e9}


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# ---- the run --------------------------------------------------------------------------------


class Comparison:
    """One run: data, the three systems, the timings and the checks."""

    def __init__(self, args: argparse.Namespace) -> None:
        from meshdata import CACHE, dataset
        from queries import QUERIES

        self.args = args
        self.data = dataset("medium", hours=None if args.hours == 6 else args.hours)
        self.workdir = (args.workdir or CACHE / "compare").expanduser()
        keys = [k for k in args.queries.split(",") if k]
        self.queries = [q for q in QUERIES if not keys or q.key in keys]
        if keys and len(self.queries) != len(keys):
            raise SetupError(f"unknown query key in {keys}; choose from {[q.key for q in QUERIES]}")
        self.prom_bins: tuple[str, str] | None = None
        self.vm_bin: str | None = None
        self.prom: Any = None
        self.vm: Any = None
        self.db: Any = None
        self.record: dict[str, Any] = {"queries": [], "ingest": [], "notes": []}

    # -- setup ----------------------------------------------------------------------------------
    def find_binaries(self) -> None:
        from peers import find_binaries, find_victoria_metrics

        if not self.args.no_prometheus:
            self.prom_bins = find_binaries()
            if self.prom_bins is None:
                raise SetupError(
                    "prometheus/promtool not found: apt-get install -y prometheus "
                    "(or --no-prometheus)"
                )
        if not self.args.no_vm:
            self.vm_bin = find_victoria_metrics()
            if self.vm_bin is None:
                raise SetupError(
                    "victoria-metrics not found: apt-get install -y victoria-metrics (or --no-vm)"
                )

    def load_all(self) -> None:
        """Generate, then load into the three systems; the OpenMetrics file goes at once."""
        from meshdata import dataset, uncompressed_bytes

        import engine

        cached = (self.data.folder / "capture.done").exists()
        peers = self.prom_bins is not None or self.vm_bin is not None
        disk = check_disk(self.workdir, self.args.hours, cached, peers)
        log(
            f"data set {self.data.name} in {self.data.folder}"
            f"{' (cached)' if cached else ''}; disk {disk['free_gb']:.0f} GB free"
        )
        t0 = time.perf_counter()
        capture = self.data.capture(jobs=2)
        s = self.data.summary
        if not cached:
            log(f"capture generated in {time.perf_counter() - t0:.0f} s")
        text = uncompressed_bytes(capture)

        # promreplay: a warm-up ingest of the small set loads the kernels, and the capture
        # is read once untimed, then the timed ingest
        with pinned(1):
            engine.open(dataset("small").capture())
            log(f"reading the capture into the page cache: {warm_page_cache(capture) / 1e6:.0f} MB")
            log("promreplay: engine.open of the capture ...")
            t0 = time.perf_counter()
            self.db = engine.open(capture)
            took = time.perf_counter() - t0
        assert self.db.stats()["series"] == s["series"], "the store does not hold every series"
        self._ingest(
            "promreplay",
            "engine.open of the capture folder (gzipped scrapes)",
            took,
            s["samples"],
            text,
            target=s["samples"] / took >= 1e6,
        )
        if self.prom_bins is None and self.vm_bin is None:
            return
        om = self.workdir / f"{self.data.name}.om"
        try:
            log(f"writing the OpenMetrics view to {om} ...")
            t0 = time.perf_counter()
            om_bytes = self.data.write_openmetrics(om)
            log(f"{om_bytes / 1e9:.1f} GB in {time.perf_counter() - t0:.0f} s")
            if self.prom_bins is not None:
                self._load_prometheus(om, om_bytes, s["samples"])
            if self.vm_bin is not None:
                self._load_vm(om, om_bytes, s["samples"])
        finally:
            om.unlink(missing_ok=True)

    def _ingest(
        self,
        system: str,
        what: str,
        seconds: float,
        samples: int,
        nbytes: int,
        target: bool | None = None,
    ) -> None:
        row = {
            "system": system,
            "what": what,
            "seconds": seconds,
            "samples_per_s": samples / seconds,
            "mb_per_s": nbytes / 1e6 / seconds,
        }
        if target is not None:
            row["target_met"] = target
        self.record["ingest"].append(row)
        log(
            f"{system}: {seconds:.1f} s, {samples / seconds / 1e3:,.0f}k samples/s, "
            f"{nbytes / 1e6 / seconds:.1f} MB/s"
        )

    def _load_prometheus(self, om: Path, om_bytes: int, samples: int) -> None:
        from peers import PrometheusServer, backfill_openmetrics

        assert self.prom_bins is not None
        blocks = self.workdir / "prometheus" / "data"
        shutil.rmtree(blocks.parent, ignore_errors=True)
        log("promtool tsdb create-blocks-from openmetrics ...")
        t0 = time.perf_counter()
        backfill_openmetrics(om, blocks, self.prom_bins[1], timeout=3 * 3600)
        took = time.perf_counter() - t0
        self._ingest(
            "Prometheus", "promtool backfill of the OpenMetrics view", took, samples, om_bytes
        )
        self.prom = PrometheusServer(blocks.parent, binary=self.prom_bins[0], data_dir=blocks)
        self.prom.start()

    def _load_vm(self, om: Path, om_bytes: int, samples: int) -> None:
        from peers import VictoriaMetricsServer, vm_import_chunks

        folder = self.workdir / "victoria-metrics"
        shutil.rmtree(folder, ignore_errors=True)
        self.vm = VictoriaMetricsServer(folder, binary=self.vm_bin)
        self.vm.start()
        log("VictoriaMetrics: /api/v1/import/prometheus ...")
        took, sent = 0.0, 0
        for body, n in vm_import_chunks(om):
            took += self.vm.import_prometheus(body)
            sent += n
        took += self.vm.force_flush()
        rows = self.vm.rows_inserted()
        if rows != samples or sent != samples:
            raise SetupError(
                f"VictoriaMetrics stored {rows} rows of {sent} sent; the data "
                f"set has {samples} samples"
            )
        self._ingest(
            "VictoriaMetrics",
            "/api/v1/import/prometheus of the OpenMetrics view "
            "(request time; timestamps converted to ms outside it)",
            took,
            samples,
            om_bytes,
        )

    # -- queries --------------------------------------------------------------------------------
    def settle(self, idle_share: float = 0.02, window_s: float = 2.0, limit_s: float = 300) -> None:
        """Wait until the servers are idle: VictoriaMetrics merges what it imported, and
        Prometheus compacts after start, for minutes, on both cores (the pinned one
        included), which slowed every timing of a run by up to 3x. Idle means under
        ``idle_share`` of a core each over ``window_s`` seconds; gives up after
        ``limit_s`` seconds and says so in the record."""
        procs = [sv.proc for sv in (self.prom, self.vm) if sv is not None and sv.proc]
        if not procs:
            return
        tick = os.sysconf("SC_CLK_TCK")

        def cpu_s() -> float:
            total = 0.0
            for proc in procs:
                with contextlib.suppress(OSError):
                    fields = Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
                    total += (int(fields[11]) + int(fields[12])) / tick  # utime + stime
            return total

        t0 = time.perf_counter()
        while time.perf_counter() - t0 < limit_s:
            before = cpu_s()
            time.sleep(window_s)
            if cpu_s() - before < idle_share * window_s * len(procs):
                waited = time.perf_counter() - t0
                self.record["settle_s"] = waited
                log(f"servers idle after {waited:.0f} s")
                return
        self.record["notes"].append(f"servers still busy after {limit_s:.0f} s; timed anyway")
        log(f"servers still busy after {limit_s:.0f} s; timing anyway")

    def run_queries(self) -> None:
        import numpy as np
        from agreement import agree, old_rate_points
        from queries import Grid

        from engine.promql.evaluator import QueryOptions, instant_query, range_query

        lo, hi = self.db.samples.time_range()
        grid = Grid.over(int(lo), int(hi), round(self.args.step * 1000))
        self.grid = grid
        cores = self.args.cores
        times = {
            "range": grid.start_ms + grid.step_ms * np.arange(grid.steps),
            "instant": np.array([grid.end_ms]),
        }
        start_s, end_s, step_s = grid.seconds()
        interval = self.data.config.interval_ms
        for q in self.queries:
            for mode in ("range", "instant"):
                row: dict[str, Any] = {"key": q.key, "mode": mode, "expr": q.expr}
                result: dict[int, Any] = {}  # the last answer on each number of threads

                def pinned_ours(
                    threads: int, q: Any = q, mode: str = mode, result: dict[int, Any] = result
                ) -> float:
                    opts = QueryOptions(threads=threads)
                    with pinned(threads):
                        t0 = time.perf_counter()
                        if mode == "range":
                            r = range_query(
                                self.db, q.expr, grid.start_ms, grid.end_ms, grid.step_ms, opts
                            )
                        else:
                            r = instant_query(self.db, q.expr, grid.end_ms, opts)
                        took = time.perf_counter() - t0
                    result[threads] = r
                    return took

                timers: dict[str, Callable[[], float]] = {
                    "promreplay": functools.partial(pinned_ours, 1)
                }
                if cores > 1:
                    timers["promreplay_multi"] = functools.partial(pinned_ours, cores)
                if mode == "range":
                    params = {
                        "query": q.expr,
                        "start": f"{start_s:.3f}",
                        "end": f"{end_s:.3f}",
                        "step": f"{step_s:g}",
                    }
                else:
                    params = {"query": q.expr, "time": f"{end_s:.3f}"}
                endpoint = "query_range" if mode == "range" else "query"
                answers: dict[str, Any] = {}
                if self.prom is not None:
                    timers["prometheus"] = functools.partial(
                        self._prometheus, answers, endpoint, params
                    )
                if self.vm is not None:
                    timers["vm"] = functools.partial(self._vm, answers, endpoint, params)
                for name, runs in interleaved(timers, self.args.runs).items():
                    row[f"{name}_s"], row[f"{name}_runs"] = statistics.median(runs), runs
                ours = result[1].to_prometheus_json()
                if cores > 1:  # threads split the work, never the answer
                    row["multi_identical"] = result[cores].to_prometheus_json() == ours
                row["series_out"] = result[1].labels.n
                if self.prom is not None:
                    left_out = old_rate_points(self.db, q, times[mode], interval)
                    a = agree(q, answers["prometheus"], ours, left_out)
                    row["check"] = {
                        "ok": a.ok,
                        "problems": a.problems,
                        "compared_points": a.compared_points,
                        "left_out_points": a.left_out_points,
                        "notes": a.notes,
                    }
                if self.vm is not None:
                    row["vm_series_out"] = len(answers["vm"]["result"])
                self._targets(row)
                self.record["queries"].append(row)
                log(self._line(row))

    def _prometheus(self, answers: dict[str, Any], endpoint: str, params: dict[str, str]) -> float:
        """One Prometheus query: its answer into ``answers``, its ``evalTotalTime`` out."""
        from peers import prometheus_timed

        answers["prometheus"], took = prometheus_timed(self.prom, endpoint, params)
        return took

    def _vm(self, answers: dict[str, Any], endpoint: str, params: dict[str, str]) -> float:
        """One VictoriaMetrics query: its answer into ``answers``, its wall time out."""
        answers["vm"], took = self.vm.api(endpoint, params)
        return float(took)

    @staticmethod
    def _targets(row: dict[str, Any]) -> None:
        ours, prom, vm = row["promreplay_s"], row.get("prometheus_s"), row.get("vm_s")
        row["ratio_prometheus"] = ours / prom if prom else None
        row["ratio_vm"] = ours / vm if vm else None
        if row["mode"] == "range":
            checks = [row["ratio_prometheus"] <= 0.1] if prom else []
            checks += [row["ratio_vm"] <= 1.0] if vm else []
        else:
            checks = [row["ratio_prometheus"] <= 1.0] if prom else []
        row["target_met"] = all(checks) if checks else None

    @staticmethod
    def _line(row: dict[str, Any]) -> str:
        from results import fmt_ratio, fmt_seconds

        s = (
            f"({row['key']}) {row['mode']:7s} promreplay {fmt_seconds(row['promreplay_s'])}, "
            f"Prometheus {fmt_seconds(row.get('prometheus_s'))}, VM {fmt_seconds(row.get('vm_s'))}"
            f" (ratios {fmt_ratio(row.get('ratio_prometheus'))}, {fmt_ratio(row.get('ratio_vm'))})"
        )
        if "promreplay_multi_s" in row:
            s += f"; on more cores {fmt_seconds(row['promreplay_multi_s'])}"
            if not row["multi_identical"]:
                s += " WITH A DIFFERENT ANSWER"
        c = row.get("check")
        if c is not None:
            s += " check ok" if c["ok"] else " CHECK FAILED: " + "; ".join(c["problems"][:3])
        return s

    def profile(self, path: Path) -> None:
        """cProfile one run of each promreplay range query; top functions to ``path``."""
        from engine.promql.evaluator import QueryOptions, range_query

        g, out = self.grid, io.StringIO()
        for q in self.queries:
            prof = cProfile.Profile()
            with pinned(1):
                prof.enable()
                range_query(self.db, q.expr, g.start_ms, g.end_ms, g.step_ms, QueryOptions())
                prof.disable()
            out.write(f"==== ({q.key}) {q.expr}\n")
            stats = pstats.Stats(prof, stream=out)
            stats.sort_stats("tottime").print_stats(12)
        path.write_text(out.getvalue())
        log(f"profiles: {path}")

    def stop(self) -> None:
        """Stop the servers (by pid) and delete their data."""
        for server in (self.prom, self.vm):
            if server is not None:
                server.stop()
        self.prom = self.vm = None
        for name in ("prometheus", "victoria-metrics"):
            shutil.rmtree(self.workdir / name, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.cores < 1 or args.runs < 1 or args.hours <= 0:
        print("compare.py: --cores, --runs and --hours must be positive", file=sys.stderr)
        return 2
    # before numba is imported anywhere: the thread pool size is read once
    os.environ["NUMBA_NUM_THREADS"] = str(args.cores)
    from results import machine, markdown, versions, write

    try:
        run = Comparison(args)
        run.find_binaries()
    except SetupError as e:
        print(f"compare.py: {e}", file=sys.stderr)
        return 2
    record = run.record
    record["machine"] = machine()
    record["versions"] = versions(
        run.prom_bins[0] if run.prom_bins else None,
        run.prom_bins[1] if run.prom_bins else None,
        run.vm_bin,
    )
    record.update(runs=args.runs, cores=args.cores)
    t_start = time.perf_counter()
    try:
        run.load_all()
        run.settle()
        run.run_queries()
        stem = f"{record['machine']['date'][:10]}-{record['machine']['host']}"
        if args.hours != 6:
            stem += f"-{args.hours:g}h"
        if args.cores != 1:
            stem += f"-{args.cores}cores"
        if args.profile:
            args.results.mkdir(parents=True, exist_ok=True)
            run.profile(args.results / f"{stem}.profiles.txt")
    except SetupError as e:
        print(f"compare.py: {e}", file=sys.stderr)
        return 2
    finally:
        run.stop()
    s = run.data.summary
    record["data"] = {
        "name": run.data.name,
        "hours": args.hours,
        "series": s["series"],
        "samples": s["samples"],
        "steps": run.grid.steps,
        "step_s": args.step,
        "start_ms": run.grid.start_ms,
        "end_ms": run.grid.end_ms,
    }
    record["machine"]["loadavg_at_end"] = os.getloadavg()
    record["machine"]["wall_s"] = time.perf_counter() - t_start
    failed = [r for r in record["queries"] if r.get("check") and not r["check"]["ok"]]
    if failed:
        record["notes"].append(f"{len(failed)} answers differ from Prometheus'")
    split = [r for r in record["queries"] if r.get("multi_identical") is False]
    if split:
        record["notes"].append(f"{len(split)} answers differ between one and more threads")
    failed += split
    path = write(record, stem, args.results)
    print(markdown(record))
    log(f"written {path} and {path.with_suffix('.json')}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
