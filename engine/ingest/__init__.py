"""Ingestion: exposition text and OpenMetrics, capture folders, dump formats.

:func:`open` is the one entry point: it takes a capture folder, a single capture or dump
file, or a saved store, tells which it is, and returns a :class:`~engine.store.Store`.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import IngestError
from ..store import Store, StoreBuilder

__all__ = ["open"]

_STORE_SUFFIXES = (".parquet", ".arrow", ".feather", ".ipc")
_STORE_MAGIC = (b"PAR1", b"ARROW1")


def _is_store_file(path: Path) -> bool:
    if path.suffix.lower() in _STORE_SUFFIXES:
        return True
    try:
        with path.open("rb") as f:
            head = f.read(6)
    except OSError:
        return False
    return head.startswith(_STORE_MAGIC)


def open(path: str | os.PathLike[str], *, strict: bool = False, progress: bool = False) -> Store:  # noqa: A001
    """Load ``path`` into a :class:`~engine.store.Store`; the format is auto-detected.

    - a folder laid out as ``CAPTURE/<target>/<time>.<prom|txt|om>[.gz]`` is replayed as
      Prometheus' scrape loop would have scraped it (target labels, ``up``, staleness);
      see :mod:`engine.ingest.capture`;
    - a saved store (``.parquet``/``.arrow``, or their magic bytes) is loaded as saved;
    - any other file is read on its own (:mod:`engine.ingest.dumps`): ``promtool tsdb
      dump`` output, OpenMetrics with timestamps, Prometheus API JSON, VictoriaMetrics
      export JSON lines, or one text exposition; samples as they are, no stale markers
      invented.

    A malformed scrape is dropped with a warning in ``store.warnings`` naming file, line,
    column and reason; ``strict=True`` raises :class:`~engine.errors.IngestError` on the
    first one instead. ``progress=True`` shows a progress bar (on stderr) for folders.

    >>> import engine, tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp()) / "cap" / "pod-a"
    >>> d.mkdir(parents=True)
    >>> _ = (d / "1700000000.prom").write_text("requests_total 1\\n")
    >>> _ = (d / "1700000015.prom").write_text("requests_total 3\\n")
    >>> db = engine.open(d.parent)
    >>> [(lab["__name__"], v.tolist()) for lab, _, v in db.select('{job="cap"}')]
    [('requests_total', [1.0, 3.0]), ('up', [1.0, 1.0])]
    """
    p = Path(path)
    if not p.exists():
        raise IngestError("no such file or folder", str(p))
    if p.is_dir():
        return _open_capture(p, strict=strict, progress=progress)
    if _is_store_file(p):
        return Store.load(p)
    from .dumps import load_file

    builder = StoreBuilder()
    load_file(p, builder, strict=strict)
    return builder.finish()


def _open_capture(root: Path, *, strict: bool, progress: bool) -> Store:
    from .capture import count_bytes, discover_targets, replay_capture

    builder = StoreBuilder()
    targets = discover_targets(root, builder.warnings.append)
    if not progress:
        replay_capture(targets, builder, strict=strict)
        return builder.finish()
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    with Progress(
        TextColumn("[bold]replaying[/bold] {task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as bar:
        task = bar.add_task(root.name, total=count_bytes(targets))
        replay_capture(targets, builder, strict=strict, on_file=lambda _p, n: bar.advance(task, n))
        bar.update(task, description=f"{root.name}: building the store")
        return builder.finish()
