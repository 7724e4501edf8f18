"""Capture folders, replayed as Prometheus' scrape loop would have scraped them.

Layout (what a ``curl`` loop produces naturally)::

    CAPTURE/<target>/<time>.<prom|txt|om>[.gz]
    CAPTURE/<target>/target.json     optional: {"labels": {...}, "interval": "15s"}

- ``<time>`` is unix seconds (fractions allowed), unix milliseconds (exactly 13 digits)
  or an RFC 3339 time with a zone (``2024-05-01T12:00:00Z``, ``...+02:00``); it is the
  scrape time, truncated to the millisecond.
- ``.om`` bodies (and any body whose last line is ``# EOF``) are OpenMetrics; the rest
  text 0.0.4. ``.gz`` files (or gzip magic bytes) are decompressed first.
- Without ``target.json`` (or without these keys in it), ``job`` is the capture folder's
  name and ``instance`` the target folder's name. Labels starting with ``__`` are dropped,
  as Prometheus drops them from target labels. Optional keys ``honor_labels`` (default
  false) and ``honor_timestamps`` (default true) act as in a scrape config.
- A folder that holds scrape files itself is read as a single target of its parent.

Replay, per target and in time order, follows ``scrape/scrape.go``:

- every sample without its own timestamp is stored at the scrape time; target labels are
  attached (``honor_labels: false``: a clashing exposed label becomes ``exported_<name>``);
- ``up`` gets 1 per scrape, or 0 for a failed one (parse error, truncated file, corrupt
  gzip). A failed scrape stores nothing else and leaves a warning naming file, line,
  column and reason (``strict=True`` raises :class:`~engine.errors.IngestError` instead);
- staleness markers (NaN bits ``0x7ff0000000000002``) go, at a scrape's time, to every
  series of the previous scrape that this scrape did not show. After a failed scrape the
  series read before the error count as shown (the scrape cache already tracked them), so
  a file malformed at its first line marks everything stale and one malformed at its last
  line almost nothing; the next scrape is then compared with that partial set. An empty
  body is a successful scrape with no series. Samples with their own timestamp are not
  tracked for staleness (``track_timestamps_staleness: false``);
- a target whose captures stop more than half an interval before the capture's last
  scrape gets stale markers for its last series, and for ``up``, at its next expected
  scrape (last scrape + interval), as ``endOfRunStaleness`` writes them;
- the interval is ``target.json``'s ``interval``, else the median gap between the
  target's scrapes, else the median of the other targets', else 1m (Prometheus' default).

Only ``up`` is written among the scrape loop's report series (``scrape_duration_seconds``
and friends depend on the live scrape).
"""

from __future__ import annotations

import gzip
import json
import os
import re
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import numpy as np
from zlib_ng import zlib_ng

from ..errors import IngestError
from ..store import FamilyMeta, StoreBuilder
from ..store.samples import stale_markers
from .exposition import TargetParser
from .scrapeloop import ScrapeLoop

__all__ = [
    "Target",
    "SCRAPE_SUFFIXES",
    "count_bytes",
    "discover_targets",
    "gunzip",
    "parse_scrape_time",
    "parse_duration",
    "read_body",
    "replay_capture",
]

#: file suffixes of scrape bodies (each optionally followed by ``.gz``)
SCRAPE_SUFFIXES = (".prom", ".txt", ".om")
DEFAULT_INTERVAL_MS = 60_000  # Prometheus' global scrape_interval default
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass
class Target:
    """One target folder: its labels, scrape options and ``(time_ms, file path)`` scrapes
    (paths as plain strings: there is one per file)."""

    name: str
    labels: dict[str, str]
    scrapes: list[tuple[int, str]] = field(default_factory=list)
    interval_ms: int | None = None
    honor_labels: bool = False
    honor_timestamps: bool = True


# ---- names -----------------------------------------------------------------------------------


def _stem(name: str) -> str | None:
    """The ``<time>`` part of a scrape file name, or None when it is not one."""
    base = name[:-3] if name.endswith(".gz") else name
    for suf in SCRAPE_SUFFIXES:
        if base.endswith(suf):
            return base[: -len(suf)]
    return None


def parse_scrape_time(stem: str) -> int:
    """Unix milliseconds of a scrape file's ``<time>``; raises ``ValueError``.

    >>> parse_scrape_time("1700000000"), parse_scrape_time("1700000000.0429")
    (1700000000000, 1700000000042)
    >>> parse_scrape_time("1700000000123"), parse_scrape_time("2023-11-14T22:13:20.5+00:00")
    (1700000000123, 1700000000500)
    """
    if stem.isascii() and stem.isdigit():  # the common names, without a regex
        if len(stem) == 13:
            return int(stem)
        if len(stem) <= 12:
            return int(stem) * 1000
    if re.fullmatch(r"\d{1,12}(\.\d+)?", stem):
        return int((Decimal(stem) * 1000).to_integral_value(rounding="ROUND_FLOOR"))
    if re.fullmatch(r"\d{4}-\d\d-\d\d[Tt ]\d\d:\d\d:\d\d(\.\d+)?([Zz]|[+-]\d\d:\d\d)", stem):
        frac = re.search(r"\.(\d+)", stem)
        whole = re.sub(r"\.\d+", "", stem)
        dt = datetime.fromisoformat(whole.replace("z", "Z").replace("t", "T"))
        ms = (dt - _EPOCH) // timedelta(milliseconds=1)
        if frac:
            ms += int(frac.group(1)[:3].ljust(3, "0"))
        return ms
    raise ValueError(
        f"cannot read a scrape time from {stem!r} (unix seconds, 13-digit unix "
        "milliseconds or RFC 3339 with a zone)"
    )


_DURATION = re.compile(r"(\d+)(ms|s|m|h|d|w|y)")
_UNIT_MS = {
    "ms": 1,
    "s": 1000,
    "m": 60_000,
    "h": 3_600_000,
    "d": 86_400_000,
    "w": 604_800_000,
    "y": 31_536_000_000,
}


def parse_duration(text: str | float | int) -> int:
    """Milliseconds of a Prometheus duration (``"15s"``, ``"1m30s"``) or of seconds.

    >>> parse_duration("1m30s"), parse_duration(15), parse_duration("500ms")
    (90000, 15000, 500)
    """
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        if text <= 0:
            raise ValueError(f"interval must be positive, got {text!r}")
        return int(Decimal(str(text)) * 1000)
    s = str(text).strip()
    pos, total = 0, 0
    for m in _DURATION.finditer(s):
        if m.start() != pos:
            break
        total += int(m.group(1)) * _UNIT_MS[m.group(2)]
        pos = m.end()
    if pos != len(s) or not s or total <= 0:
        raise ValueError(f"not a duration: {text!r} (like 15s, 1m30s)")
    return total


# ---- discovery ------------------------------------------------------------------------------


def _scrape_files(folder: Path) -> list[tuple[str, str]]:
    """``(name, <time> stem)`` of the scrape files in ``folder``, sorted by name."""
    with os.scandir(folder) as it:  # DirEntry.is_file() needs no stat() on most systems
        found = [(e.name, stem) for e in it if (stem := _stem(e.name)) is not None and e.is_file()]
    found.sort()
    return found


def discover_targets(root: Path, warn: Callable[[str], None]) -> list[Target]:
    """Targets under a capture folder (see the module docs); ``warn`` gets the problems."""
    root = Path(root)
    if _scrape_files(root):
        dirs, job_default = [root], root.resolve().parent.name
    else:
        dirs = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
        job_default = root.resolve().name
    targets = []
    for d in dirs:
        files = _scrape_files(d)
        if not files:
            continue
        t = _read_target(d, job_default)
        folder = os.path.join(d, "")  # noqa: PTH118 - plain strings: one per file
        for name, stem in files:
            try:
                t.scrapes.append((parse_scrape_time(stem), folder + name))
            except ValueError as e:
                warn(str(IngestError(f"skipped: {e}", folder + name)))
        t.scrapes.sort(key=_scrape_time)  # stable: same time -> by name
        if t.scrapes:
            targets.append(t)
    if not targets:
        raise IngestError(
            "no scrape files found: expected CAPTURE/<target>/<time>.<prom|txt|om>[.gz]",
            str(root),
        )
    return targets


def _scrape_time(scrape: tuple[int, str]) -> int:
    return scrape[0]


def _read_target(folder: Path, job_default: str) -> Target:
    cfg: dict = {}
    tj = folder / "target.json"
    if tj.exists():
        try:
            cfg = json.loads(tj.read_text("utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
            raise IngestError(f"unreadable target.json: {e}", str(tj)) from None
        if not isinstance(cfg, dict):
            raise IngestError("target.json must hold a JSON object", str(tj))
    labels_in = cfg.get("labels", {})
    if not isinstance(labels_in, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in labels_in.items()
    ):
        raise IngestError('"labels" must map label names to string values', str(tj))
    labels = {"job": job_default, "instance": folder.name}
    labels.update(labels_in)
    labels = {k: v for k, v in labels.items() if not k.startswith("__") and v != ""}
    t = Target(folder.name, labels)
    try:
        if "interval" in cfg:
            t.interval_ms = parse_duration(cfg["interval"])
    except ValueError as e:
        raise IngestError(str(e), str(tj)) from None
    t.honor_labels = bool(cfg.get("honor_labels", False))
    t.honor_timestamps = bool(cfg.get("honor_timestamps", True))
    return t


# ---- bodies -------------------------------------------------------------------------------


def read_body(path: Path | str) -> bytes:
    """The scrape body in ``path``, gunzipped when needed; raises :class:`IngestError`
    for unreadable files and corrupt or truncated gzip streams."""
    try:
        raw = _read_file(path)
    except OSError as e:
        raise IngestError(f"cannot read file: {e.strerror or e}", str(path)) from None
    if raw[:2] == b"\x1f\x8b":
        return gunzip(raw, path)
    return raw


_O_READ = os.O_RDONLY | getattr(os, "O_BINARY", 0)  # O_BINARY: Windows only


def _read_file(path: Path | str) -> bytes:
    """The bytes of a file, with plain system calls (cheaper per file than ``open``)."""
    fd = os.open(path, _O_READ)
    try:
        # one read of the whole file when its size is known (+1: the end shows at once)
        want = max(os.fstat(fd).st_size + 1, 1 << 16)
        parts = []
        while chunk := os.read(fd, want):
            parts.append(chunk)
            want = 1 << 16
    finally:
        os.close(fd)
    return parts[0] if len(parts) == 1 else b"".join(parts)


# zlib-ng's one-stream decompressor (as the gzip module uses it) sizes its output
# buffer from ``max_length``: about 15% faster here than ``decompressobj``, which has
# the same ``eof``/``unused_data`` semantics and stands in if it is ever gone
_decompressor = getattr(zlib_ng, "_ZlibDecompressor", zlib_ng.decompressobj)


def gunzip(raw: bytes, path: Path | str = "") -> bytes:
    """Decompress a gzip file's bytes, exactly as :func:`gzip.decompress` does.

    The common case, a file that is one gzip member, is decompressed by zlib-ng (about
    six times faster than the standard library's zlib) into a buffer of the length its
    trailer gives; zlib-ng checks the CRC-32 and the length, and the member must end
    where the file ends. Anything else (several members, padding, damage, a length
    field that lies) is left to :func:`gzip.decompress`, whose result or error is the
    answer.

    >>> gunzip(gzip.compress(b"a 1\\n") + gzip.compress(b"b 2\\n"))
    b'a 1\\nb 2\\n'
    """
    size = int.from_bytes(raw[-4:], "little")
    # a length field beyond deflate's best ratio (about 1032:1) is not to be trusted
    if len(raw) >= 18 and size <= 1032 * len(raw):
        d = _decompressor(31)
        try:
            out = d.decompress(raw, size + 1)
        except zlib_ng.error:
            pass
        else:
            if d.eof and not d.unused_data:
                return out
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as e:
        raise IngestError(f"corrupt gzip data: {e}", str(path)) from None


# ---- replay ----------------------------------------------------------------------------------


def _median_gap(times: list[int]) -> int | None:
    if len(times) < 2:
        return None
    return int(np.median(np.diff(np.asarray(times, np.int64))))


def replay_capture(
    targets: list[Target],
    builder: StoreBuilder,
    *,
    strict: bool = False,
    on_file: Callable[[str, int], None] | None = None,
) -> None:
    """Replay ``targets`` into ``builder`` (samples, ``up``, stale markers, metadata,
    exemplars, warnings). ``on_file(path, nbytes)`` is called after each file."""
    gaps = [g for t in targets if (g := _median_gap([s[0] for s in t.scrapes]))]
    fallback = int(np.median(gaps)) if gaps else DEFAULT_INTERVAL_MS
    capture_end = max(t.scrapes[-1][0] for t in targets)
    for t in targets:
        interval = t.interval_ms or _median_gap([s[0] for s in t.scrapes]) or fallback
        _replay_target(t, interval, capture_end, builder, strict, on_file)


def _replay_target(t, interval, capture_end, builder, strict, on_file) -> None:
    tp = TargetParser(t.labels, honor_labels=t.honor_labels, honor_timestamps=t.honor_timestamps)
    loop = ScrapeLoop(tp, builder.warnings, strict=strict)
    for t_ms, file in t.scrapes:
        try:
            body = read_body(file)
        except IngestError as e:
            loop.scrape(t_ms, file, None, e)
        else:
            loop.scrape(t_ms, file, body)
        if on_file is not None:
            on_file(file, _file_size(file))
    last = t.scrapes[-1][0]
    end_stale = None
    if last + interval // 2 < capture_end:
        end_stale = last + interval
        loop.end_of_run(end_stale)
    _commit(t, tp, loop, end_stale, builder)


def _file_size(file: str) -> int:
    try:
        return os.path.getsize(file)  # noqa: PTH202
    except OSError:
        return 0


def _commit(t, tp, loop, end_stale, builder) -> None:
    lid_to_gid = np.full(len(tp.keys), -1, np.int64)
    chunks = loop.samples()
    if chunks:
        counts = sum(np.bincount(c[0], minlength=len(tp.keys)) for c in chunks)
        used = np.flatnonzero(counts)
        lid_to_gid[used] = builder.series_ids([tp.keys[i] for i in used.tolist()])
        for lids, ts, values in chunks:
            builder.append(lid_to_gid[lids], ts, values)
    up_key = tuple(sorted([("__name__", "up"), *t.labels.items()]))
    up_id = builder.series_id(up_key)
    ts = np.asarray([s[0] for s in t.scrapes], np.int64)
    vals = loop.up
    if end_stale is not None:
        ts = np.append(ts, end_stale)
        vals = np.concatenate([vals, stale_markers(1)])
    builder.append(np.full(len(ts), up_id, np.int64), ts, vals)
    for sids, ets, evals, elabels in loop.exemplars:
        gids = lid_to_gid[np.asarray(sids, np.int64)]
        ok = gids >= 0
        if ok.all():
            builder.add_exemplars(
                gids, np.asarray(ets, np.int64), np.asarray(evals, np.float64), elabels
            )
    for name, meta in tp.metadata.items():
        builder.metadata[name] = _merge_meta(builder.metadata.get(name), meta)


def _merge_meta(old: FamilyMeta | None, new: FamilyMeta) -> FamilyMeta:
    if old is None:
        return new
    return FamilyMeta(
        new.type if new.type != "unknown" or old.type == "unknown" else old.type,
        new.help or old.help,
        new.unit or old.unit,
    )


def count_bytes(targets: Iterable[Target]) -> int:
    """Total size of the scrape files (for progress bars)."""
    return sum(os.path.getsize(p) for t in targets for _, p in t.scrapes)  # noqa: PTH202
