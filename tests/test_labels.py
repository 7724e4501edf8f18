"""Label tables: sorting and grouping against plain-Python references."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.labels import LabelTable, labels_key

# few names and values, so that shared prefixes, ties and absent labels are common
NAMES = st.sampled_from(["__name__", "a", "b", "job", "le", "z", "\u00e9"])
VALUES = st.sampled_from(["", "0", "1", "10", "9", "a", "ab", "b", "\u00e9", "\U0001f600"])
ROWS = st.lists(st.dictionaries(NAMES, VALUES, max_size=5), max_size=30)


@settings(deadline=None)  # the first call compiles the sort (or loads it from numba's cache)
@given(ROWS)
def test_sort_order_is_labels_compare(rows):
    """Go's labels.Compare is Python's order of sorted (name, value) tuples (UTF-8 byte
    order is code point order); the sort must also be stable."""
    table = LabelTable.from_dicts(rows)
    keys = [labels_key(r) for r in rows]
    expected = sorted(range(len(rows)), key=keys.__getitem__)
    assert table.sort_order().tolist() == expected


@settings(deadline=None)
@given(ROWS)
def test_sort_order_of_label_sets_in_order_keeps_them(rows):
    """Label sets already in order (as a selection of a store's series often is) keep
    their order, ties included: the sort is skipped, and must only be skipped then."""
    rows = sorted(rows, key=labels_key)
    assert LabelTable.from_dicts(rows).sort_order().tolist() == list(range(len(rows)))


@given(ROWS)
def test_group_is_first_appearance_of_equal_label_sets(rows):
    table = LabelTable.from_dicts(rows)
    inverse, first = table.group()
    seen: dict = {}
    for r in rows:
        seen.setdefault(labels_key(r), len(seen))
    assert inverse.tolist() == [seen[labels_key(r)] for r in rows]
    assert [labels_key(rows[i]) for i in first.tolist()] == list(seen)


@given(ROWS.filter(bool), st.data())
def test_a_selection_keeps_exactly_the_columns_its_series_use(rows, data):
    """StoreView.labels_of (one gather from a per-store code matrix) gives the same label
    sets as a plain take, with only the names some selected series has."""
    import numpy as np

    from engine.labels import METRIC_NAME
    from engine.promql.select import StoreView
    from engine.store import StoreBuilder

    b = StoreBuilder()
    keys = {labels_key({**r, METRIC_NAME: "m"}) for r in rows}  # a store's series are distinct
    for key in keys:
        b.series_id(key)
    store = b.finish()
    view = StoreView(store)
    n = store.labels.n
    ids = np.array(sorted(data.draw(st.sets(st.integers(0, n - 1), max_size=n))), np.int64)
    got = view.labels_of(ids)
    want = store.labels.take(ids)
    assert got.rows() == want.rows()
    assert got.names() == sorted(got.cols) == want.names()


# a step of a chain of table operations: (what, argument drawn for it)
STEPS = st.lists(
    st.one_of(
        st.tuples(st.just("take"), st.lists(st.integers(-40, 40), max_size=12)),
        st.tuples(st.just("mask"), st.lists(st.booleans(), max_size=40)),
        st.tuples(st.just("drop"), st.sets(NAMES, max_size=3)),
        st.tuples(st.just("keep"), st.sets(NAMES, max_size=4)),
        st.tuples(st.just("set"), st.tuples(NAMES, VALUES)),
        st.tuples(st.just("read"), NAMES),
        st.tuples(st.just("names"), st.none()),
    ),
    max_size=8,
)


@given(ROWS, STEPS)
def test_chained_takes_and_subsets_are_the_plain_label_sets(rows, steps):
    """take gathers its columns only when they are read; any chain of takes, subsets and
    reads in between (which gather some columns and leave others pending) gives the label
    sets that plain lists of dicts give, whichever accessor reads them."""
    import numpy as np

    table = LabelTable.from_dicts(rows)
    want = [{k: v for k, v in r.items() if v} for r in rows]
    for what, arg in steps:
        if what == "take":
            idx = [i for i in arg if -len(want) <= i < len(want)]
            a = np.array(idx, np.int64)
            table = table.take(a)
            a[:] = 0  # the caller's array is its own again
            want = [want[i] for i in idx]
        elif what == "mask":
            mask = [arg[i % len(arg)] if arg else True for i in range(len(want))]
            table = table.take(np.array(mask, bool))
            want = [r for r, keep in zip(want, mask, strict=True) if keep]
        elif what == "drop":
            table = table.drop(arg)
            want = [{k: v for k, v in r.items() if k not in arg} for r in want]
        elif what == "keep":
            table = table.keep(arg)
            want = [{k: v for k, v in r.items() if k in arg} for r in want]
        elif what == "set":
            name, value = arg
            table = table.with_value(name, value)
            want = [{k: v for k, v in r.items() if k != name} for r in want]
            if value:
                want = [{**r, name: value} for r in want]
        elif what == "read":
            assert table.values(arg).tolist() == [r.get(arg, "") for r in want]
        else:
            assert table.names() == sorted({k for r in want for k in r})
        assert table.n == len(want)
    assert [dict(sorted(r.items())) for r in want] == table.rows()
    assert table.keys() == [labels_key(r) for r in want]
    assert table.names() == sorted({k for r in want for k in r})
    from engine.labels import POOL

    for k, c in table.cols.items():  # every column gathered, none left pending
        assert c.dtype == np.int32 and c.shape == (len(want),)
        assert POOL.strings(c).tolist() == [r.get(k, "") for r in want]
