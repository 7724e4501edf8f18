"""The side-by-side comparison's record: the machine, the versions, and the tables.

:func:`machine` and :func:`versions` describe where and with what a run was made;
:func:`markdown` renders a run's record (the dict ``compare.py`` writes as JSON) as the
tables the README shows; :func:`write` saves both as ``benchmarks/results/<date>-<host>``
``.json`` and ``.md``.

>>> fmt_seconds(0.0123), fmt_seconds(3.2), fmt_seconds(None)
('12.3 ms', '3.20 s', '-')
>>> fmt_ratio(0.05), fmt_ratio(None)
('0.05', '-')
"""

from __future__ import annotations

import json
import os
import platform
import re
import socket
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

__all__ = ["fmt_ratio", "fmt_seconds", "machine", "markdown", "versions", "write"]

RESULTS = Path(__file__).resolve().parent / "results"


def _run(*cmd: str) -> str:
    try:
        p = subprocess.run(
            cmd, capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL
        )
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return (p.stdout or p.stderr).strip()


def machine() -> dict[str, Any]:
    """Host, date, ``nproc``, CPU model, memory and load."""
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        m = re.search(r"MemTotal:\s+(\d+) kB", Path("/proc/meminfo").read_text())
        mem = f"{int(m.group(1)) / 1024 / 1024:.1f} GiB" if m else ""
    except OSError:
        pass
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "host": socket.gethostname(),
        "nproc": len(os.sched_getaffinity(0)),
        "cpu_count": os.cpu_count(),
        "cpu_model": cpu or platform.processor(),
        "memory": mem,
        "python": platform.python_version(),
        "loadavg_at_start": os.getloadavg(),
    }


def versions(prometheus: str | None, promtool: str | None, vm: str | None) -> dict[str, str]:
    """Versions of promreplay (with its git commit), numpy, numba, pyarrow, Prometheus,
    promtool and VictoriaMetrics (the Debian build prints no version: its package's)."""
    import numba
    import numpy
    import pyarrow

    import engine

    root = Path(__file__).resolve().parent.parent
    commit = _run("git", "-C", str(root), "rev-parse", "--short", "HEAD")
    dirty = _run("git", "-C", str(root), "status", "--porcelain", "--untracked-files=no")
    out = {
        "promreplay": f"{engine.__version__} ({commit}{', modified' if dirty else ''})",
        "numpy": numpy.__version__,
        "numba": numba.__version__,
        "pyarrow": pyarrow.__version__,
    }
    for name, binary in (("prometheus", prometheus), ("promtool", promtool)):
        if binary:
            text = _run(binary, "--version")
            m = re.search(r"version (\S+)", text)
            out[name] = m.group(1) if m else text.splitlines()[0] if text else "unknown"
    if vm:
        v = _run(vm, "-version")
        pkg = _run("dpkg-query", "-W", "-f", "${Version}", "victoria-metrics")
        out["victoria-metrics"] = v or (f"{pkg} (Debian package)" if pkg else "unknown")
    return out


def fmt_seconds(s: float | None) -> str:
    if s is None:
        return "-"
    if s < 1e-3:
        return f"{s * 1e6:.0f} µs"
    if s < 1:
        return f"{s * 1e3:.3g} ms"
    return f"{s:.2f} s"


def fmt_ratio(r: float | None) -> str:
    return "-" if r is None else f"{r:.3g}" if r >= 0.01 else f"{r:.2g}"


def markdown(run: dict[str, Any]) -> str:
    """The record of a run as Markdown: setup, the query table, the ingest table."""
    m, v, d = run["machine"], run["versions"], run["data"]
    lines = [
        f"# promreplay vs Prometheus vs VictoriaMetrics ({m['date'][:10]}, {m['host']})",
        "",
        f"- machine: {m['nproc']} CPUs ({m['cpu_model']}), {m['memory']}; load average "
        f"{', '.join(f'{x:.2f}' for x in m['loadavg_at_start'])} at start",
        "- versions: " + ", ".join(f"{k} {val}" for k, val in v.items()),
        f"- data: `fixtures/generate.py` {d['name']} ({d['hours']:g} h at 15 s): "
        f"{d['series']:,} series, {d['samples']:,} samples",
        f"- queries: range over {d['steps']} steps of {d['step_s']:g} s, and instant at the "
        f"end; median of {run['runs']} runs after a warm-up. promreplay: in process, from a "
        f"loaded store, on one core{_multi_note(run)}; Prometheus: `evalTotalTime` of "
        "`stats=all`; VictoriaMetrics: request wall time with `nocache=1` and "
        "`-search.disableCache`, both servers free to use every core",
        "- ratios are promreplay's time over the peer's (below 1: promreplay is faster). "
        "Targets: a range query at most 1/10 of Prometheus' time and at most "
        "VictoriaMetrics'; an instant query at most Prometheus' time",
        "- check: promreplay's answer equals Prometheus' within 1e-12 (points where 2.42's "
        "rate extrapolation differs from 3.x by design left out, and counted)",
        "",
        "| query | mode | promreplay | Prometheus | VictoriaMetrics | promreplay/Prometheus "
        "| promreplay/VM | target | check |",
        "|---|---|---:|---:|---:|---:|---:|:---:|---|",
    ]
    multi = run.get("cores", 1) > 1
    if multi:
        lines[-2] = lines[-2].replace("| promreplay |", f"| promreplay | {run['cores']} cores |")
        lines[-1] = lines[-1].replace("|---|---:|", "|---|---:|---:|", 1)
    for r in run["queries"]:
        ours = fmt_seconds(r["promreplay_s"])
        if multi:
            ours += f" | {fmt_seconds(r.get('promreplay_multi_s'))}"
        lines.append(
            f"| ({r['key']}) | {r['mode']} | {ours} | "
            f"{fmt_seconds(r.get('prometheus_s'))} | {fmt_seconds(r.get('vm_s'))} | "
            f"{fmt_ratio(r.get('ratio_prometheus'))} | {fmt_ratio(r.get('ratio_vm'))} | "
            f"{_mark(r.get('target_met'))} | {_check(r)} |"
        )
    lines += ["", "| query | expression |", "|---|---|"]
    seen = set()
    for r in run["queries"]:
        if r["key"] not in seen:
            seen.add(r["key"])
            lines.append(f"| ({r['key']}) | `{_cell(r['expr'])}` |")
    lines += [
        "",
        "| ingest | what | seconds | samples/s | MB/s | target |",
        "|---|---|---:|---:|---:|:---:|",
    ]
    for g in run["ingest"]:
        target = _mark(g.get("target_met")) if "target_met" in g else ""
        lines.append(
            f"| {g['system']} | {g['what']} | {g['seconds']:.1f} | "
            f"{g['samples_per_s'] / 1e3:,.0f}k | {g['mb_per_s']:.1f} | {target} |"
        )
    if run.get("notes"):
        lines += ["", *[f"- {n}" for n in run["notes"]]]
    return "\n".join(lines) + "\n"


def _multi_note(run: dict[str, Any]) -> str:
    cores = run.get("cores", 1)
    if cores <= 1:
        return ""
    return (
        f" (the ratios and targets); the '{cores} cores' column is the same query with "
        f"`QueryOptions(threads={cores})` on {cores} cores"
    )


def _cell(text: str) -> str:
    """Text for a Markdown table cell (``|`` escaped, also inside code spans)."""
    return text.replace("|", "\\|").replace("\n", " ")


def _mark(ok: bool | None) -> str:
    return "" if ok is None else "yes" if ok else "**no**"


def _check(r: dict[str, Any]) -> str:
    c = r.get("check")
    if c is None:
        return "-"
    if not c["ok"]:
        return "**FAIL**: " + _cell("; ".join(c["problems"][:2]))
    s = f"ok, {c['compared_points']:,} points"
    if c["left_out_points"]:
        s += f" ({c['left_out_points']} left out)"
    return s


def write(run: dict[str, Any], stem: str | None = None, folder: Path = RESULTS) -> Path:
    """Save ``run`` as ``<stem>.json`` and ``<stem>.md`` (default stem: ``<date>-<host>``);
    returns the Markdown path."""
    folder.mkdir(parents=True, exist_ok=True)
    stem = stem or f"{run['machine']['date'][:10]}-{run['machine']['host']}"
    (folder / f"{stem}.json").write_text(json.dumps(run, indent=1) + "\n")
    md = folder / f"{stem}.md"
    md.write_text(markdown(run))
    return md
