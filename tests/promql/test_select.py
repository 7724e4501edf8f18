"""What a range selector reads: each selected series' samples without its stale markers,
and the counter resets among them, whichever way :class:`StoreView` builds them.

The view cleans only the run of series that share the selection's metric name, and
copies nothing when every marker ends its series; a selection across names reads the
whole store. The stores drawn here mix all of these: series with no marker, with
markers at the end, in the middle and at the start, under several names, and label
names that sort before ``__name__`` (so one name's series need not be consecutive).
"""

from __future__ import annotations

import numpy as np
from hypothesis import event, given, settings
from hypothesis import strategies as st

from engine.labels import labels_key
from engine.promql.select import StoreView
from engine.store import StoreBuilder
from engine.store.index import Matcher
from engine.store.samples import STALE_NAN, is_stale

NAMES = ("a", "b", "c")


@st.composite
def stores(draw):
    """A store of up to 8 series, and each series' samples as ``(ts, value)`` lists."""
    b = StoreBuilder()
    series = {}
    for _ in range(draw(st.integers(1, 8))):
        labels = {"__name__": draw(st.sampled_from(NAMES)), "i": str(len(series))}
        if draw(st.booleans()):
            labels["A"] = draw(st.sampled_from(["x", "y"]))  # sorts before __name__
        kind = draw(st.sampled_from(["none", "trailing", "inside", "leading"]))
        values = draw(st.lists(st.integers(0, 5).map(float), min_size=1, max_size=12))
        if kind == "trailing":
            values += [STALE_NAN] * draw(st.integers(1, 2))
        elif kind == "inside":
            values.insert(draw(st.integers(1, len(values))), STALE_NAN)
        elif kind == "leading":
            values.insert(0, STALE_NAN)
        ts = list(range(1000, 1000 + 10 * len(values), 10))
        series[labels_key(labels)] = list(zip(ts, values, strict=True))
    for key, samples in series.items():
        sid = b.series_id(key)
        ts, vals = zip(*samples, strict=True)
        b.append(np.full(len(ts), sid, np.int64), np.array(ts, np.int64), np.array(vals))
    return b.finish(), series


@settings(max_examples=200, deadline=None)
@given(stores(), st.sampled_from([*NAMES, "a|b", ".+"]))
def test_range_selection_reads_each_series_without_markers(inp, name):
    store, series = inp
    view = StoreView(store)
    op = "=" if name in NAMES else "=~"
    sel = view.select([Matcher("__name__", op, name)], clean=True)
    if sel.n_series:
        (lo, hi), = view._clean
        event("whole store" if (lo, hi) == (0, store.labels.n) else "one name's run")
        event("copied" if not np.shares_memory(sel.values, store.samples.values) else "no copy")
    pos, prefix = sel.resets
    for i, row in enumerate(sel.labels.rows()):
        raw = series[labels_key(row)]
        live = [(t, v) for t, v in raw if not is_stale(np.array([v]))[0]]
        a, b = int(sel.seg_start[i]), int(sel.seg_end[i])
        assert sel.ts[a:b].tolist() == [t for t, _ in live]
        assert sel.values[a:b].tolist() == [v for _, v in live]
        want = [a + k for k in range(1, len(live)) if live[k][1] < live[k - 1][1]]
        assert [p for p in pos.tolist() if a < p < b] == want
        if b > a:  # what the rate kernels read: resets at positions a+1 .. b-1
            assert prefix[b - 1] - prefix[a] == len(want)
    want_rows = sorted(k for k in series if re_full(name, dict(k)["__name__"]))
    assert sorted(labels_key(r) for r in sel.labels.rows()) == want_rows


def re_full(pattern: str, value: str) -> bool:
    import re

    return re.fullmatch(pattern, value) is not None


def test_one_name_is_cleaned_alone_and_trailing_markers_copy_nothing():
    """The cheap paths are taken: a one-name selection builds that name's run only, and
    a run whose markers all end their series reads the store's own columns."""
    b = StoreBuilder()
    for name, vals in (("a", [1.0, 2.0, STALE_NAN]), ("b", [1.0, STALE_NAN, 2.0])):
        sid = b.series_id(labels_key({"__name__": name}))
        b.append(np.full(3, sid, np.int64), np.array([10, 20, 30], np.int64), np.array(vals))
    store = b.finish()
    view = StoreView(store)
    a = view.select([Matcher("__name__", "=", "a")], clean=True)
    assert list(view._clean) == [(0, 1)]
    assert np.shares_memory(a.values, store.samples.values)  # no copy
    assert (a.seg_start.tolist(), a.seg_end.tolist()) == ([0], [2])
    bsel = view.select([Matcher("__name__", "=", "b")], clean=True)
    assert not np.shares_memory(bsel.values, store.samples.values)  # a marker inside: copied
    assert bsel.values[bsel.seg_start[0] : bsel.seg_end[0]].tolist() == [1.0, 2.0]
    view.select([Matcher("__name__", "=~", "a|b")], clean=True)
    assert sorted(view._clean) == [(0, 1), (0, 2), (1, 2)]
