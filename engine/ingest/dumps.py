"""Single files: exposition dumps and JSON exports, loaded as they are.

:func:`detect_format` tells these apart by content (gzip is undone first):

========================  ======================================================================
``openmetrics``           OpenMetrics ending in ``# EOF``, e.g. ``promtool tsdb dump-openmetrics``
                          output (``name{labels} value seconds.mmm``), read with the same parser as
                          ``promtool tsdb create-blocks-from openmetrics`` (float seconds ->
                          ``int64(seconds*1000)`` ms)
``promtool-dump``         ``promtool tsdb dump`` output: ``{__name__="m", a="b"} value ts_ms``
                          (values Go-quoted, as ``labels.String()`` writes them)
``prometheus-api``        a Prometheus HTTP API response (or its ``data``) with a ``matrix`` (or
                          ``vector``) result
``victoriametrics``       VictoriaMetrics ``/api/v1/export`` JSON lines
                          (``{"metric": {...}, "values": [...], "timestamps": [...]}``)
``text``                  one Prometheus text exposition (a single scrape)
========================  ======================================================================

Samples are stored as they are: no target labels, no ``up``, no stale markers. Lines
without a timestamp (a plain scrape file) take the time in the file name when it is a
scrape time (see :func:`~engine.ingest.capture.parse_scrape_time`), else the file's
modification time. A malformed file is one failed scrape: it loads nothing and leaves a
warning (``strict=True`` raises :class:`~engine.errors.IngestError`). A file whose format
cannot be told raises :class:`~engine.errors.IngestError` in both modes.
"""

from __future__ import annotations

import json
import math
from decimal import Decimal, InvalidOperation
from pathlib import Path

import numpy as np

from ..errors import IngestError
from ..gostrconv import NORMAL_NAN, parse_float
from ..store import StoreBuilder
from .capture import _stem, parse_scrape_time, read_body
from .exposition import DUMP, OPENMETRICS, TEXT, TargetParser, sniff_format

__all__ = ["FORMATS", "detect_format", "load_file"]

FORMATS = (OPENMETRICS, DUMP, "prometheus-api", "victoriametrics", TEXT)
_SERIES_JSON = "series-json"


def _first_line(data: bytes) -> bytes:
    s = data.lstrip(b"\xef\xbb\xbf \t\r\n")
    end = s.find(b"\n")
    return (s if end < 0 else s[:end]).strip()


def detect_format(data: bytes) -> str:
    """The format of a single file's bytes (one of :data:`FORMATS`); raises ``ValueError``
    with the reason when it cannot be told.

    >>> detect_format(b'{__name__="up", job="a"} 1 1000\\n')
    'promtool-dump'
    >>> detect_format(b'{"metric":{"__name__":"up"},"values":[1],"timestamps":[1000]}\\n')
    'victoriametrics'
    >>> detect_format(b'up 1\\n# EOF\\n'), detect_format(b'# TYPE up gauge\\nup 1\\n')
    ('openmetrics', 'text')
    """
    first = _first_line(data)
    if not first:
        raise ValueError("the file is empty")
    if first[:1] in (b"{", b"["):
        try:
            obj = json.loads(first)
        except (json.JSONDecodeError, UnicodeDecodeError):
            obj = None
        if isinstance(obj, dict):
            if {"metric", "values", "timestamps"} <= obj.keys():
                return "victoriametrics"
            if {"status", "data", "resultType", "result"} & obj.keys():
                return "prometheus-api"
            if obj and all(isinstance(v, str) for v in obj.values()):
                return _SERIES_JSON
        if obj is None and first[:1] in (b"{", b"["):
            try:
                whole = json.loads(data)
            except (json.JSONDecodeError, UnicodeDecodeError):
                whole = None
            if isinstance(whole, dict):
                return "prometheus-api"
            if whole is not None:
                raise ValueError(
                    "a JSON document, but neither a Prometheus API response "
                    "nor VictoriaMetrics export lines"
                )
        if first.startswith(b"{") and b"__name__=" in first.split(b"}")[0]:
            return DUMP
    if sniff_format(data) == OPENMETRICS:
        return OPENMETRICS
    c = first[:1]
    if c == b"#" or c.isalpha() or c in (b"_", b":", b"{"):
        return TEXT
    raise ValueError(
        "cannot tell the format: expected Prometheus text or OpenMetrics, `promtool tsdb "
        "dump` output, a Prometheus API JSON matrix or VictoriaMetrics export JSON lines"
    )


def load_file(path: str | Path, builder: StoreBuilder, *, strict: bool = False) -> str:
    """Load one file into ``builder``; returns the format it was read as."""
    path = Path(path)
    data = read_body(path)
    try:
        fmt = detect_format(data)
    except ValueError as e:
        raise IngestError(str(e), str(path)) from None
    try:
        if fmt == _SERIES_JSON:
            raise IngestError(
                "holds label sets only (promtool's series listing), no samples to load",
                str(path),
            )
        if fmt == "prometheus-api":
            _load_api_json(data, path, builder)
        elif fmt == "victoriametrics":
            _load_vm_export(data, path, builder)
        else:
            _load_exposition(data, fmt, path, builder)
    except IngestError as e:
        if strict or fmt == _SERIES_JSON:
            raise
        builder.warnings.append(f"{e} (nothing loaded from this file)")
    return fmt


# ---- exposition-like ---------------------------------------------------------------------------


def _file_time_ms(path: Path) -> int:
    stem = _stem(path.name)
    if stem is not None:
        try:
            return parse_scrape_time(stem)
        except ValueError:
            pass
    return path.stat().st_mtime_ns // 1_000_000


#: single files are parsed in pieces of about this size (cut at line ends), so the
#: scanner's per-line workspace stays small for multi-gigabyte dumps
CHUNK_BYTES = 32 << 20


def _pieces(data: bytes, fmt: str, size: int):
    """``(piece, offset)`` parts of ``data`` cut after a newline; OpenMetrics pieces
    but the last get a ``# EOF`` line of their own (the file's is in the last one)."""
    start = 0
    while start < len(data):
        end = data.find(b"\n", start + size) + 1 if start + size < len(data) else 0
        end = end or len(data)
        piece = data[start:end]
        if fmt == OPENMETRICS and end < len(data):
            piece += b"# EOF\n"
        yield piece, start
        start = end


def _load_exposition(
    data: bytes, fmt: str, path: Path, builder: StoreBuilder, chunk: int = CHUNK_BYTES
) -> None:
    tp = TargetParser(None)
    t_ms = _file_time_ms(path)
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    exemplars = []
    mtype = 0
    for piece, offset in _pieces(data, fmt, chunk):
        p = tp.parse(piece, fmt, t_ms, str(path), mtype0=mtype)
        if not p.ok:
            e = p.error
            assert e is not None
            first_line = data.count(b"\n", 0, offset)  # lines of the pieces before
            raise IngestError(e.reason, e.file, (e.line or 1) + first_line, e.column)
        mtype = p.mtype_end
        parts.append((p.kept_sids, p.kept_ts, p.kept_values))
        if p.ex_sids:
            exemplars.append((p.ex_sids, p.ex_ts, p.ex_values, p.ex_labels))
    # nothing reaches the builder unless the whole file is good
    sids = np.concatenate([x[0] for x in parts]) if parts else np.zeros(0, np.int64)
    if len(sids):
        used = np.unique(sids)
        remap = np.full(len(tp.keys), -1, np.int64)
        remap[used] = builder.series_ids([tp.keys[i] for i in used.tolist()])
        builder.append(
            remap[sids],
            np.concatenate([x[1] for x in parts]),
            np.concatenate([x[2] for x in parts]),
        )
        for ex_sids, ex_ts, ex_values, ex_labels in exemplars:
            builder.add_exemplars(
                remap[np.asarray(ex_sids, np.int64)],
                np.asarray(ex_ts, np.int64),
                np.asarray(ex_values, np.float64),
                ex_labels,
            )
    for name, meta in tp.metadata.items():
        builder.metadata[name] = meta


# ---- JSON --------------------------------------------------------------------------------------


def _value(v: object, where: str) -> float:
    if isinstance(v, bool) or v is None:
        raise ValueError(f"{where}: not a number: {v!r}")
    if isinstance(v, (int, float, Decimal)):
        f = float(v)
        if math.isinf(f) and not (
            isinstance(v, float) or (isinstance(v, Decimal) and v.is_infinite())
        ):
            raise ValueError(f"{where}: value out of range: {v!r}")
    elif isinstance(v, str):
        f = parse_float(v)
    else:
        raise ValueError(f"{where}: not a number: {v!r}")
    return NORMAL_NAN if f != f else f


def _labels(metric: object, where: str) -> tuple[tuple[str, str], ...]:
    if not isinstance(metric, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in metric.items()
    ):
        raise ValueError(f'{where}: "metric" must map label names to strings')
    if not metric.get("__name__"):
        raise ValueError(f"{where}: missing metric name (__name__ label)")
    return tuple(sorted((k, v) for k, v in metric.items() if v != ""))


def _seconds_ms(t: object, where: str) -> int:
    try:
        d = Decimal(str(t)) if not isinstance(t, Decimal) else t
        return int((d * 1000).to_integral_value(rounding="ROUND_HALF_EVEN"))
    except (InvalidOperation, ValueError):
        raise ValueError(f"{where}: not a timestamp: {t!r}") from None


def _load_api_json(data: bytes, path: Path, builder: StoreBuilder) -> None:
    try:
        doc = json.loads(data, parse_float=Decimal)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise IngestError(f"invalid JSON: {e}", str(path)) from None
    try:
        if doc.get("status") == "error":
            raise ValueError(f"an error response: {doc.get('error', '')}")
        body = doc.get("data", doc)
        rtype = body.get("resultType")
        result = body.get("result")
        if rtype not in ("matrix", "vector") or not isinstance(result, list):
            raise ValueError(f'expected a "matrix" result, got resultType {rtype!r}')
        keys, ts, vals, skipped = [], [], [], 0
        for k, r in enumerate(result):
            where = f"result[{k}]"
            key = _labels(r.get("metric"), where)
            points = r.get("values", []) if rtype == "matrix" else [r.get("value")]
            skipped += len(r.get("histograms", [])) + (1 if r.get("histogram") else 0)
            for j, pt in enumerate(points):
                if pt is None:
                    continue
                if not isinstance(pt, list) or len(pt) != 2:
                    raise ValueError(f'{where}.values[{j}]: expected [time, "value"]')
                keys.append(key)
                ts.append(_seconds_ms(pt[0], f"{where}.values[{j}]"))
                vals.append(_value(pt[1], f"{where}.values[{j}]"))
    except (ValueError, AttributeError, TypeError) as e:
        raise IngestError(str(e), str(path)) from None
    if skipped:
        builder.warnings.append(f"{path}: {skipped} native histogram samples skipped")
    if keys:
        builder.append(
            builder.series_ids(keys), np.asarray(ts, np.int64), np.asarray(vals, np.float64)
        )


def _load_vm_export(data: bytes, path: Path, builder: StoreBuilder) -> None:
    rows = []
    for lineno, line in enumerate(data.split(b"\n"), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line, parse_float=Decimal)
            if not isinstance(obj, dict):
                raise ValueError("expected a JSON object")
            key = _labels(obj.get("metric"), "line")
            v, t = obj.get("values"), obj.get("timestamps")
            if not isinstance(v, list) or not isinstance(t, list) or len(v) != len(t):
                raise ValueError('"values" and "timestamps" must be lists of one length')
            tt = [
                int(x) if isinstance(x, int) and not isinstance(x, bool) else _bad_ts(x) for x in t
            ]
            vv = [_value(x, "value") for x in v]
        except (json.JSONDecodeError, UnicodeDecodeError, ValueError, OverflowError) as e:
            raise IngestError(str(e).removeprefix("line: "), str(path), lineno) from None
        rows.append((key, tt, vv))
    if rows:  # nothing reaches the builder unless the whole file is good
        ids = builder.series_ids([r[0] for r in rows])
        builder.append(
            np.repeat(ids, [len(r[1]) for r in rows]),
            np.asarray([x for r in rows for x in r[1]], np.int64),
            np.asarray([x for r in rows for x in r[2]], np.float64),
        )


def _bad_ts(x: object) -> int:
    raise ValueError(f"timestamps must be integer milliseconds, got {x!r}")
