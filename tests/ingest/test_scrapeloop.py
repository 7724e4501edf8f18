"""The fused scrape kernel (``ScrapeLoop``) against the scrape-by-scrape reference.

:class:`engine.ingest.scrapeloop.ScrapeLoop` replays a known scrape in one kernel call
and sends every other one through ``TargetParser.parse``. The reference here is the
replay as it was written before the kernel existed: every scrape through
``TargetParser.parse``, stale markers from ``TargetParser.missing``. Sequences of
scrapes drawn from a small pool of lines (so series repeat, vanish and come back),
with parse errors, empty bodies, failed reads, changing TYPE/HELP lines, explicit
timestamps and OpenMetrics exemplars must give the same samples (bit for bit, in the
same order), the same ``up``, warnings, metadata and exemplars.

The scanner's successor fast path is checked the same way: a body scanned with a
series cache that earlier scans (of other bodies, in either format) filled must give
exactly what a fresh cache gives.
"""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from test_textscan import exposition

from engine.errors import IngestError
from engine.ingest.exposition import (
    OPENMETRICS,
    TEXT,
    TargetParser,
    _scan,
    _SeriesCache,
    _Workspace,
    raw_scan,
    sniff_format,
)
from engine.ingest.scrapeloop import ScrapeLoop
from engine.store.samples import stale_markers

TARGET = {"job": "j", "instance": "i"}

# ---- the reference: one scrape at a time, as the capture replay used to run ----------------


def reference_replay(scrapes, honor_timestamps=True):
    tp = TargetParser(TARGET, honor_timestamps=honor_timestamps)
    prev = np.zeros(0, np.int64)
    out, up, warnings, exemplars = [], [], [], []
    for t_ms, file, body, err in scrapes:
        if body is None:
            warnings.append(str(err))
            tp.empty_scrape()
            cur, ok = np.zeros(0, np.int64), False
        elif not body:
            tp.empty_scrape()
            cur, ok = np.zeros(0, np.int64), True
        else:
            p = tp.parse(bytes(body), sniff_format(body, file), t_ms, file)
            cur, ok = p.tracked, p.ok
            if ok:
                out.append((p.kept_sids, p.kept_ts, p.kept_values))
                if p.ex_sids:
                    exemplars.append((p.ex_sids, p.ex_ts, p.ex_values, p.ex_labels))
            else:
                warnings.append(f"{p.error} (scrape dropped, up=0)")
        stale = tp.missing(prev, cur)
        if len(stale):
            out.append((stale, np.full(len(stale), t_ms, np.int64), stale_markers(len(stale))))
        prev = cur
        up.append(1.0 if ok else 0.0)
    return tp, _flat(tp, out), up, warnings, exemplars


def kernel_replay(scrapes, honor_timestamps=True):
    tp = TargetParser(TARGET, honor_timestamps=honor_timestamps)
    warnings: list[str] = []
    loop = ScrapeLoop(tp, warnings)
    for t_ms, file, body, err in scrapes:
        loop.scrape(t_ms, file, body, err)
    return tp, _flat(tp, loop.samples()), loop.up.tolist(), warnings, loop.exemplars


def _flat(tp, chunks):
    """``[(labels, ts, value bits)]`` in order."""
    rows = []
    for sids, ts, values in chunks:
        bits = np.asarray(values, np.float64).view(np.uint64)
        rows += [
            (tp.keys[s], t, b)
            for s, t, b in zip(sids.tolist(), ts.tolist(), bits.tolist(), strict=True)
        ]
    return rows


def _same(scrapes, honor_timestamps=True):
    ref = reference_replay(scrapes, honor_timestamps)
    ours = kernel_replay(scrapes, honor_timestamps)
    assert ours[1] == ref[1]  # samples, stale markers included, in order
    assert ours[2] == ref[2]  # up
    assert ours[3] == ref[3]  # warnings
    assert [(lab, ts, v) for _, ts, v, lab in ours[4]] == [(lab, ts, v) for _, ts, v, lab in ref[4]]
    assert ours[0].metadata == ref[0].metadata
    return ours


# ---- scrape sequences --------------------------------------------------------------------------

TEXT_LINES = [
    'a{x="1"} 1',
    'a{x="2"} 2',
    'a{x="3"} 3.5',
    'b{y="é"} 4',
    'h_bucket{le="1"} 5',
    'h_bucket{le="+Inf"} 6',
    'c{x="1"} 7 1700000000000',
    'a{x="1"} 8',  # a repeat within the scrape: dropped
    "plain 9",
    'd{x=""} 10',
    'e{x="1"} 1e400',  # out of range: a parse error
    'f{x="1"} 123456789012345678901234',  # slow path number
    'g{x="1"} NaN',
    "# TYPE h histogram",
    "# TYPE h gauge",
    "# HELP a the a family",
    "# HELP a another help",
    'broken{x="1" 1',  # a syntax error
]
OM_LINES = [
    'a_total{x="1"} 1',
    'a_total{x="2"} 2 1700000000.5',
    'a_total{x="3"} 3 # {trace_id="t1"} 0.5 1700000000',
    "# TYPE a counter",
    "# HELP a om help",
]


@st.composite
def scrape_sequence(draw):
    n = draw(st.integers(1, 8))
    out = []
    t = 1_700_000_000_000
    for _ in range(n):
        t += draw(st.sampled_from([15_000, 15_001, 30_000]))
        kind = draw(st.sampled_from(["text"] * 6 + ["om", "empty", "failed"]))
        if kind == "failed":
            out.append((t, f"/c/t/{t}.prom.gz", None, IngestError("corrupt gzip data: x", "f")))
            continue
        if kind == "empty":
            out.append((t, f"/c/t/{t}.prom", b"", None))
            continue
        pool = OM_LINES if kind == "om" else TEXT_LINES
        lines = draw(st.lists(st.sampled_from(pool), max_size=8))
        body = "\n".join(lines)
        if kind == "om":
            body += "\n# EOF\n"
        elif draw(st.booleans()):
            body += "\n"  # else the loop appends the newline itself
        data = body.encode()
        if draw(st.booleans()):
            data = bytearray(data)  # any bytes-like body
        out.append((t, f"/c/t/{t}.{'om' if kind == 'om' else 'prom'}", data, None))
    return out


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scrape_sequence(), st.booleans())
def test_kernel_replay_matches_scrape_by_scrape_replay(scrapes, honor_ts) -> None:
    _same(scrapes, honor_ts)


def test_steady_scrapes_take_the_kernel_path() -> None:
    """After the first scrape, identical series lines (new values) need no Python."""
    body = "# TYPE a gauge\n" + "".join(f'a{{x="{i}"}} {{v}}\n' for i in range(50))
    scrapes = [
        (1_700_000_000_000 + 15_000 * k, "f.prom", body.replace("{v}", str(k)).encode(), None)
        for k in range(20)
    ]
    tp = TargetParser(TARGET)
    calls = []
    parse = tp.parse
    tp.parse = lambda *a, **kw: calls.append(1) or parse(*a, **kw)  # type: ignore[method-assign]
    loop = ScrapeLoop(tp, [])
    for s in scrapes:
        loop.scrape(*s)
    assert len(calls) == 1
    _same(scrapes)


def test_changed_metadata_goes_through_python_and_is_applied() -> None:
    a = b"# HELP a one\na 1\n"
    b = b"# HELP a two\na 2\n"
    scrapes = [(1000 * k, "f.prom", body, None) for k, body in enumerate([a, a, b, b])]
    tp = _same(scrapes)[0]
    assert tp.metadata["a"].help == "two"


def test_a_failed_scrape_then_a_known_one() -> None:
    """After a parse error the next scrape (known series only) compares with the partial
    set: the kernel must start from that same state."""
    good = b'a{x="1"} 1\na{x="2"} 2\na{x="3"} 3\n'
    bad = b'a{x="1"} 1\na{x="2"} oops\n'
    _same([(1000 * k, "f.prom", body, None) for k, body in enumerate([good, bad, good, good])])


def test_large_scrapes_grow_the_workspace_and_fill_the_outputs() -> None:
    """Scans that need more room, and more samples than the output arrays hold (they
    are handed over or copied out, and written on in new ones)."""
    big = "".join(f'm{{i="{i}"}} {i}\n' for i in range(30_000)).encode()
    mid = big[: big.index(b'm{i="2000"}')]
    small = b'm{i="1"} 1\n'
    bodies = [small, big, big, big, small, big, big] + [mid] * 40
    _same([(1000 * k, "f.prom", body, None) for k, body in enumerate(bodies)])


# ---- the scanner's fast path: a warm cache changes nothing -------------------------------------


def _scan_with(cache, ws, data: bytes, fmt: str):
    """What :func:`raw_scan` reports, but scanned with the given (warm) cache."""
    sc = _scan(data, fmt, cache, ws)
    n = sc.ns if sc.err is None else sc.err[1]
    s_slot, s_flags = ws.S[:, 0], ws.S[:, 2]
    return (
        [
            (
                cache.series_bytes(int(s_slot[i])),
                float(sc.values[i]).hex() if sc.values[i] == sc.values[i] else "nan",
                int(sc.ts_own[i]) if s_flags[i] & 1 else None,
                int(s_flags[i]),
            )
            for i in range(n)
        ],
        None if sc.err is None else sc.err[:2],
    )


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(exposition(), st.booleans()), min_size=1, max_size=4), exposition())
@example([(b'a{b="c"} 1\n', False)], b'a{b="c"} 1\n')
@example([(b'a{b="c"} 1\n', False)], b'a{b="c"}} 1\n')
@example([(b'a{b="c"} 1\n# EOF\n', True)], b'a{b="c"} 1\n')
@example([(b'a{b="c"} 1\n', False)], b'a{b="c"} 1\n# EOF\n')
@example([(b'a{b="c"} 1\nd 2\n', False)], b'a{b="c"} 1\nd{x="y"} 2\n')
def test_warm_cache_scans_like_a_fresh_one(warmups, data) -> None:
    for fmt in (TEXT, OPENMETRICS):
        fresh = _scan_with(_SeriesCache(), _Workspace(), data, fmt)
        cache, ws = _SeriesCache(), _Workspace()
        for body, om in warmups:
            _scan(body, OPENMETRICS if om else TEXT, cache, ws)
            _scan(data, fmt, cache, ws)  # also the same body again: the common case
        assert _scan_with(cache, ws, data, fmt) == fresh
        assert raw_scan(data, fmt)[2] == fresh[1]
