"""The scrape loop's bookkeeping, and one scanned scrape replayed start to end (numba).

Mirrors ``scrapeLoop.append`` and the scrape cache of prometheus/prometheus
``scrape/scrape.go`` once the exposition is scanned (:mod:`engine.kernels.textscan`) and
the labels of each series are known.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from .textscan import FLAG_DUP, FLAG_TS

__all__ = [
    "DONE",
    "LOOP_FIELDS",
    "LOOP_GONE",
    "LOOP_HONOR_TS",
    "LOOP_ITER",
    "LOOP_META",
    "LOOP_POS",
    "LOOP_PREV",
    "LOOP_STAMP",
    "NEEDS_OUTPUT",
    "NEEDS_PYTHON",
    "missing_ids",
    "replay_scanned",
    "scrape_bookkeeping",
]


@nb.njit(cache=True)
def scrape_bookkeeping(
    S,
    values,
    ts_own,
    cut,
    slot_sid,
    slot_iter,
    it,
    honor_ts,
    t_ms,
    ok,
    n_slots,
    stamp,
    stamp_id,
    out_sid,
    out_ts,
    out_keep,
    kept,
    kept_ts,
    kept_val,
    tracked,
):
    """The scrape loop's per-sample bookkeeping for the first ``cut`` samples of a scan.

    Mirrors the body of ``scrapeLoop.append`` in prometheus/prometheus
    ``scrape/scrape.go`` once labels are known:

    - ``slot_sid[slot]`` is the scrape cache (cache slot -> target-local series id, -1
      when not cached). If any sample misses the cache, nothing else is done: the first
      line of each missing slot is written to ``out_sid`` (in line order) and
      ``-count`` is returned, for the caller to parse those labels and call again;
    - every sample read marks its slot as seen in iteration ``it`` (``lastIter``);
    - the sample's time is its own timestamp when it has one (``honor_ts``), else ``t_ms``;
    - a repeat of a series without its own timestamp is dropped
      (``ErrDuplicateSampleForTimestamp``); the rest go to ``kept*``;
    - series read without their own timestamp are tracked for staleness, each once
      (``stamp``/``stamp_id`` de-duplicate), in ``tracked``;
    - when ``ok``, cache entries not seen in this scrape are forgotten
      (``scrapeCache.iterDone(true)``).

    Returns ``(n_kept, n_tracked)``, or ``(-n_missing, 0)``.
    """
    nmiss = 0
    for i in range(cut):
        s = S[i, 0]
        if slot_sid[s] < 0:
            if slot_sid[s] == -1:
                slot_sid[s] = -2  # first line of this missing slot
                out_sid[nmiss] = i
                nmiss += 1
    if nmiss:
        for k in range(nmiss):
            slot_sid[S[out_sid[k], 0]] = -1
        return -nmiss, 0
    nk = 0
    nt = 0
    for i in range(cut):
        s = S[i, 0]
        sid = slot_sid[s]
        slot_iter[s] = it
        f = S[i, 2]
        own = honor_ts and (f & FLAG_TS) != 0
        t = ts_own[i] if own else t_ms
        out_sid[i] = sid
        out_ts[i] = t
        keep = own or (f & FLAG_DUP) == 0
        out_keep[i] = keep
        if keep:
            kept[nk] = sid
            kept_ts[nk] = t
            kept_val[nk] = values[i]
            nk += 1
        if not own and stamp[sid] != stamp_id:
            stamp[sid] = stamp_id
            tracked[nt] = sid
            nt += 1
    if ok:
        for s in range(n_slots):
            if slot_sid[s] >= 0 and slot_iter[s] != it:
                slot_sid[s] = -1
    return nk, nt


@nb.njit(cache=True)
def missing_ids(prev, cur, stamp, stamp_id, out):
    """The ids of ``prev`` not in ``cur`` (into ``out``; returns how many): the series
    that get a stale marker (``scrapeCache.forEachStale``)."""
    for i in range(len(cur)):
        stamp[cur[i]] = stamp_id
    n = 0
    for i in range(len(prev)):
        if stamp[prev[i]] != stamp_id:
            out[n] = prev[i]
            n += 1
    return n


# ---- one scanned scrape, start to end ----------------------------------------------------------

#: what :func:`replay_scanned` did
DONE = 0  # the scrape is replayed
NEEDS_PYTHON = 1  # nothing done: a new series, an error, slow numbers, exemplars, or
#                  metadata lines that differ from the last ones applied
NEEDS_OUTPUT = 2  # nothing done: the output arrays are too small

#: fields of the ``loop`` state array shared with the Python path
LOOP_ITER = 0  # scrape cache iteration (``scrapeCache.iter``)
LOOP_STAMP = 1  # de-duplication stamp of tracked series
LOOP_GONE = 2  # stamp of :func:`missing_ids`
LOOP_PREV = 3  # how many series ``prev`` holds (tracked by the last scrape)
LOOP_META = 4  # bytes of the last metadata lines applied, -1 when unknown
LOOP_POS = 5  # samples written to the outputs
LOOP_HONOR_TS = 6  # honor_timestamps
LOOP_FIELDS = 7

_STALE = np.array([0x7FF0000000000002], np.uint64).view(np.float64)


@nb.njit(cache=True)
def _same_meta(buf, M, nm, meta, meta_len):
    """Whether the ``nm`` HELP/TYPE/UNIT lines of a scan (``M`` rows over ``buf``) are
    byte for byte the lines held in ``meta`` (each followed by a newline)."""
    if meta_len < 0:
        return False
    p = 0
    for k in range(nm):
        a = M[k, 1]
        b = M[k, 5]
        ln = b - a
        if p + ln + 1 > meta_len:
            return False
        for q in range(ln):
            if buf[a + q] != meta[p + q]:
                return False
        if meta[p + ln] != 10:
            return False
        p += ln + 1
    return p == meta_len


@nb.njit(cache=True)
def replay_scanned(
    body,
    scanned,
    t_ms,
    res,
    S,
    S_val,
    M,
    st,
    slot_sid,
    slot_iter,
    stamp,
    gone,
    loop,
    prev,
    cur,
    meta,
    scratch,
    scratch_keep,
    out_sid,
    out_ts,
    out_val,
):
    """Replay one scrape, whose body the scanner has just read; returns ``(status,
    room)``.

    ``body`` (uint8) is the scrape taken at ``t_ms`` (ms); when ``scanned``,
    :func:`~engine.kernels.textscan.scan_exposition` has just filled ``res``, ``S``,
    ``S_val`` and ``M`` from it (``st[0]`` cache slots exist), else the body is empty:
    a successful scrape without series. As the scrape loop of prometheus/prometheus
    ``scrape/scrape.go`` does, and as :meth:`engine.ingest.exposition.TargetParser.parse`
    plus the capture replay do in Python:

    - :func:`scrape_bookkeeping` maps cache slots to series ids (``slot_sid``), drops
      repeated series, tracks the series read without a timestamp (into ``cur``) and
      flushes the scrape cache; the samples kept go to ``out_*`` at ``loop[LOOP_POS]``;
    - the series of ``prev`` (the previous scrape's tracked set, ``loop[LOOP_PREV]``
      long) missing from ``cur`` get a stale marker at ``t_ms``, then ``cur`` becomes
      ``prev``.

    Metadata is only *checked* here: a scrape whose HELP/TYPE/UNIT lines are not byte
    for byte the last ones applied (``meta[:loop[LOOP_META]]``) goes to Python, which
    applies them; lines applied once more change nothing.

    Any status but :data:`DONE` means nothing was done; for :data:`NEEDS_OUTPUT`,
    ``room`` is the samples the scrape may write. ``cur``, ``prev``, ``scratch`` and
    ``scratch_keep`` hold at least one entry per sample of the scan.
    """
    pos = loop[LOOP_POS]
    n_prev = loop[LOOP_PREV]
    nt = 0
    if scanned:
        ns = res[0]
        nm = res[1]
        if res[4] != 0 or res[3] != 0 or res[2] != 0:
            return NEEDS_PYTHON, 0  # an error, slow numbers or exemplars
        if nm and not _same_meta(body, M, nm, meta, loop[LOOP_META]):
            return NEEDS_PYTHON, 0
        if pos + ns + n_prev > len(out_sid):
            return NEEDS_OUTPUT, ns + n_prev
        stamp_id = loop[LOOP_STAMP] + 1
        n_kept, nt = scrape_bookkeeping(
            S,
            S_val,
            S[:, 1],
            ns,
            slot_sid,
            slot_iter,
            loop[LOOP_ITER],
            loop[LOOP_HONOR_TS] != 0,
            t_ms,
            True,
            st[0],
            stamp,
            stamp_id,
            scratch[:, 0],
            scratch[:, 1],
            scratch_keep,
            out_sid[pos:],
            out_ts[pos:],
            out_val[pos:],
            cur,
        )
        if n_kept < 0:
            return NEEDS_PYTHON, 0  # a series the scrape cache does not hold
        loop[LOOP_STAMP] = stamp_id
        pos += n_kept
    elif pos + n_prev > len(out_sid):
        return NEEDS_OUTPUT, n_prev
    if n_prev:
        loop[LOOP_GONE] += 1
        n_stale = missing_ids(prev[:n_prev], cur[:nt], gone, loop[LOOP_GONE], out_sid[pos:])
        for q in range(pos, pos + n_stale):
            out_ts[q] = t_ms
            out_val[q] = _STALE[0]
        pos += n_stale
    prev[:nt] = cur[:nt]
    loop[LOOP_PREV] = nt
    loop[LOOP_POS] = pos
    loop[LOOP_ITER] += 1
    return DONE, 0
