"""Label matchers over a table against matching row by row."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from engine.labels import LabelTable
from engine.store.index import Matcher, match_series

NAMES = st.sampled_from(["__name__", "a", "code"])
VALUES = st.sampled_from(["", "200", "201", "404", "503", "x"])
ROWS = st.lists(st.dictionaries(NAMES, VALUES, max_size=3), max_size=30)
MATCHERS = st.builds(
    Matcher,
    NAMES,
    st.sampled_from(["=", "!=", "=~", "!~"]),
    st.sampled_from(["", "200", "503", "2..", "x|", ".*", ".+", "5.*", "new"]),
)


@given(ROWS, st.lists(st.lists(MATCHERS, max_size=3), max_size=4))
def test_selectors_match_row_by_row_whatever_the_table_remembers(rows, selectors):
    """A table remembers which of its series each matcher selects; selectors that share
    matchers, in any order and repeated, still select exactly the rows that satisfy every
    matcher, on the table and on a table taken from it (which remembers its own)."""
    table = LabelTable.from_dicts(rows)
    half = LabelTable.from_dicts(rows[::2])
    taken = table.take(list(range(0, len(rows), 2)))
    for matchers in selectors + selectors[::-1]:
        for t, rs in ((table, rows), (half, rows[::2]), (taken, rows[::2])):
            want = [
                i for i, r in enumerate(rs) if all(m.matches(r.get(m.name, "")) for m in matchers)
            ]
            assert match_series(t, matchers).tolist() == want


@given(ROWS, st.lists(st.tuples(NAMES, VALUES), max_size=12))
def test_series_with_a_value_whatever_the_table_remembers(rows, asked):
    """series_with keeps each answer on the table; asking for values of the same and of
    other names, in any order and again, still gives the series with that value."""
    from engine.labels import POOL

    table = LabelTable.from_dicts(rows)
    for name, value in asked + asked:
        want = [i for i, r in enumerate(rows) if r.get(name, "") == value]
        assert table.series_with(name, POOL.intern(value)).tolist() == want
