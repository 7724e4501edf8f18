"""One target's scrape loop, replayed scrape after scrape.

The capture replay (:mod:`engine.ingest.capture`) hands over the bodies of a target's
scrapes in time order. Each body is scanned (:func:`~engine.kernels.textscan.
scan_exposition`); a scrape whose series the scrape cache already holds is then
replayed to the end by the kernel :func:`~engine.kernels.scrapeloop.replay_scanned`:
scrape cache, staleness and ``up``. Any other scrape (new series, a parse error
and its message, numbers for the slow path, exemplars, changed metadata) goes through
:meth:`~engine.ingest.exposition.TargetParser.parse`, as a scrape on its own would.
Either way a scrape gives the same samples, in the same order, and leaves the same
state for the next one.

>>> from engine.ingest.exposition import TargetParser
>>> loop = ScrapeLoop(TargetParser({"job": "j"}), warnings=[])
>>> loop.scrape(1000, "a.prom", b"m 1\\n")
>>> loop.scrape(2000, "b.prom", b"")  # shows nothing: m goes stale
>>> [values.tolist() for _, _, values in loop.samples()], loop.up.tolist()
([[1.0, nan]], [1.0, 1.0])
"""

from __future__ import annotations

import numpy as np

from ..errors import IngestError
from ..kernels.scrapeloop import (
    DONE,
    LOOP_META,
    LOOP_POS,
    LOOP_PREV,
    NEEDS_OUTPUT,
    replay_scanned,
)
from ..kernels.textscan import scan_exposition
from ..store.samples import stale_markers
from .exposition import _MODES, TargetParser, line_room, sniff_format

__all__ = ["ScrapeLoop"]

_FORMATS = {mode: fmt for fmt, mode in _MODES.items()}


class ScrapeLoop:
    """Replays one target's scrapes, in time order (see the module docs).

    ``warnings`` receives the failed scrapes' messages; ``strict=True`` raises the
    first one instead. :meth:`samples` holds what the scrapes stored (target-local
    series ids, see ``tp.keys``), :attr:`up` one value per scrape and
    :attr:`exemplars` the exemplar chunks; :meth:`end_of_run` marks the last scrape's
    series stale.
    """

    def __init__(self, tp: TargetParser, warnings: list[str], *, strict: bool = False) -> None:
        self.tp = tp
        self.warnings = warnings
        self.strict = strict
        self.exemplars: list[tuple[list, list, list, list]] = []
        self._ups: list[float] = []
        self._chunks: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self._prev = np.zeros(0, np.int64)
        self._cur = np.zeros(0, np.int64)
        self._scratch = np.zeros((0, 2), np.int64)
        self._scratch_keep = np.zeros(0, bool)
        self._room(1024)
        self._meta = np.zeros(4096, np.uint8)
        self._out = _outputs(1 << 16)
        self._headroom = (-1, -1)  # rows and bytes a scan has room for
        # the kernels' arrays (scan, then replay), while none of them is replaced
        self._args: tuple[tuple[np.ndarray, ...], tuple[np.ndarray, ...]] | None = None
        tp.loop[LOOP_META] = -1

    # -- one scrape ----------------------------------------------------------------------------
    def scrape(
        self,
        t_ms: int,
        file: str,
        body: bytes | bytearray | None,
        error: IngestError | None = None,
    ) -> None:
        """Replay the scrape taken at ``t_ms`` (ms) from ``file``: its ``body`` (``b""``
        for an empty one), or None when the file could not be read (``error`` says why).
        """
        if body is None:
            self._failed_read(error or IngestError("cannot read file", file), t_ms)
            self._ups.append(0.0)
            return
        kind, rows = -1, 0
        if body:
            kind = _MODES[sniff_format(body, file)]
            if kind != 1 and body[-1] != 10:  # a text body ends with a newline
                body = body + b"\n"  # (not +=: a bytearray is the caller's)
            rows = line_room(np.frombuffer(body, np.uint8))
        # room for the scan, and stamps for every series (the kernels do not check):
        # what :meth:`TargetParser.reserve` gave holds until the Python path runs
        if rows > self._headroom[0] or len(body) > self._headroom[1]:
            if self.tp.reserve(rows, len(body)) or len(self._cur) < rows:
                self._room(rows)
                self._args = None
            self._headroom = (rows, len(body))
        view = np.frombuffer(body, np.uint8)
        view.flags.writeable = False  # one compiled type for bytes and bytearray bodies
        if self._args is None:
            self._args = self._kernel_args()
        scan, replay = self._args
        if kind >= 0:
            scan_exposition(view, kind, 0, *scan)
        while True:
            status, room = replay_scanned(view, kind >= 0, t_ms, *replay)
            if status == DONE:
                self._ups.append(1.0)
                return
            if status != NEEDS_OUTPUT:  # NEEDS_PYTHON
                self._ups.append(self._python(bytes(body), kind, t_ms, file))
                self._args = None  # the Python path may have replaced arrays,
                self._headroom = (-1, -1)  # added series and cache slots
                return
            self._out_room(int(room))
            if self._args is None:
                self._args = self._kernel_args()
            replay = self._args[1]

    def _kernel_args(self) -> tuple[tuple[np.ndarray, ...], tuple[np.ndarray, ...]]:
        """Arguments of :func:`scan_exposition` and of :func:`replay_scanned` after the
        body, from the current arrays."""
        arrays = self.tp.kernel_arrays()
        scan = arrays[:12]  # ht, slots, slot_hash, arena, st, S, S_val, M, X, X_val, W, res
        _, _, _, _, st, S, S_val, M, _, _, _, res = scan
        replay = (
            res,
            S,
            S_val,
            M,
            st,
            *arrays[12:],  # slot_sid, slot_iter, stamp, gone, loop
            self._prev,
            self._cur,
            self._meta,
            self._scratch,
            self._scratch_keep,
            *self._out,
        )
        return scan, replay

    def end_of_run(self, t_ms: int) -> None:
        """Stale markers at ``t_ms`` for every series of the last scrape (the target's
        scrapes stop before the capture's end: ``endOfRunStaleness``)."""
        self._next(np.zeros(0, np.int64), t_ms)

    # -- results -------------------------------------------------------------------------------
    @property
    def up(self) -> np.ndarray:
        """``up`` of every scrape so far, in order."""
        return np.array(self._ups, np.float64)

    def samples(self) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Every sample stored so far, in scrape order, as chunks of ``(local ids, ts,
        values)``."""
        self._flush()
        return list(self._chunks)

    # -- the Python path -----------------------------------------------------------------------
    def _python(self, data: bytes, kind: int, t_ms: int, file: str) -> float:
        """One scrape through :meth:`TargetParser.parse`; returns its ``up``."""
        tp = self.tp
        p = tp.parse(data, _FORMATS[kind], t_ms, file)
        if p.ok:
            self._emit(p.kept_sids, p.kept_ts, p.kept_values)
            if p.ex_sids:
                self.exemplars.append((p.ex_sids, p.ex_ts, p.ex_values, p.ex_labels))
            lines = tp.meta_lines(data)
            if lines:
                self._set_meta(lines)
        else:
            assert p.error is not None
            if self.strict:
                raise p.error
            self.warnings.append(f"{p.error} (scrape dropped, up=0)")
            tp.loop[LOOP_META] = -1  # only the lines before the error were applied
        self._next(p.tracked, t_ms)
        return 1.0 if p.ok else 0.0

    def _failed_read(self, err: IngestError, t_ms: int) -> None:
        """A file that could not be read: a failed scrape without series (up=0)."""
        if self.strict:
            raise err
        self.warnings.append(str(err))
        self.tp.empty_scrape()
        self._next(np.zeros(0, np.int64), t_ms)

    def _next(self, cur: np.ndarray, t_ms: int) -> None:
        """Stale markers at ``t_ms`` for the series of the previous scrape missing from
        ``cur``, then ``cur`` becomes the previous scrape's series."""
        loop = self.tp.loop
        stale = self.tp.missing(self._prev[: loop[LOOP_PREV]], cur)
        if len(stale):
            self._emit(stale, np.full(len(stale), t_ms, np.int64), stale_markers(len(stale)))
        self._room(len(cur))
        self._prev[: len(cur)] = cur
        loop[LOOP_PREV] = len(cur)

    def _emit(self, sids: np.ndarray, ts: np.ndarray, values: np.ndarray) -> None:
        n = len(sids)
        self._out_room(n)
        loop = self.tp.loop
        pos = int(loop[LOOP_POS])
        o_sid, o_ts, o_val = self._out
        o_sid[pos : pos + n] = sids
        o_ts[pos : pos + n] = ts
        o_val[pos : pos + n] = values
        loop[LOOP_POS] = pos + n

    def _set_meta(self, lines: bytes) -> None:
        if len(lines) > len(self._meta):
            self._meta = np.zeros(2 * len(lines), np.uint8)
        self._meta[: len(lines)] = np.frombuffer(lines, np.uint8)
        self.tp.loop[LOOP_META] = len(lines)
        self._args = None

    # -- room ----------------------------------------------------------------------------------
    def _room(self, rows: int) -> None:
        """Work arrays for a scan of ``rows`` rows: ``cur``/``prev`` (tracked series)
        and the bookkeeping scratch."""
        if len(self._cur) >= rows:
            return
        n = 2 * rows
        self._cur = np.zeros(n, np.int64)
        self._scratch = np.zeros((n, 2), np.int64)
        self._scratch_keep = np.zeros(n, bool)
        grown = np.zeros(n, np.int64)
        grown[: len(self._prev)] = self._prev
        self._prev = grown
        self._args = None

    def _out_room(self, n: int) -> None:
        """Room for ``n`` more samples in the output arrays."""
        pos = int(self.tp.loop[LOOP_POS])
        cap = len(self._out[0])
        if pos + n <= cap:
            return
        self._flush()
        if n > cap:
            self._out = _outputs(max(n, 2 * cap))
            self._args = None

    def _flush(self) -> None:
        """Move the samples written so far out of the output arrays, into a chunk."""
        loop = self.tp.loop
        pos = int(loop[LOOP_POS])
        if pos:
            sids, ts, values = self._out
            if 2 * pos >= len(sids):  # mostly full: hand the arrays over, write on in new ones
                self._chunks.append((sids[:pos], ts[:pos], values[:pos]))
                self._out = _outputs(len(sids))
                self._args = None
            else:  # keep no more memory than the samples need
                self._chunks.append((sids[:pos].copy(), ts[:pos].copy(), values[:pos].copy()))
            loop[LOOP_POS] = 0


def _outputs(cap: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Output arrays of the kernel: local series ids, timestamps, values."""
    return np.empty(cap, np.int64), np.empty(cap, np.int64), np.empty(cap, np.float64)
