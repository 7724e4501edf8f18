"""Label tables: sorting and grouping against plain-Python references."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from engine.labels import LabelTable, labels_key

# few names and values, so that shared prefixes, ties and absent labels are common
NAMES = st.sampled_from(["__name__", "a", "b", "job", "le", "z", "\u00e9"])
VALUES = st.sampled_from(["", "0", "1", "10", "9", "a", "ab", "b", "\u00e9", "\U0001f600"])
ROWS = st.lists(st.dictionaries(NAMES, VALUES, max_size=5), max_size=30)


@given(ROWS)
def test_sort_order_is_labels_compare(rows):
    """Go's labels.Compare is Python's order of sorted (name, value) tuples (UTF-8 byte
    order is code point order); the sort must also be stable."""
    table = LabelTable.from_dicts(rows)
    keys = [labels_key(r) for r in rows]
    expected = sorted(range(len(rows)), key=keys.__getitem__)
    assert table.sort_order().tolist() == expected


@given(ROWS)
def test_group_is_first_appearance_of_equal_label_sets(rows):
    table = LabelTable.from_dicts(rows)
    inverse, first = table.group()
    seen: dict = {}
    for r in rows:
        seen.setdefault(labels_key(r), len(seen))
    assert inverse.tolist() == [seen[labels_key(r)] for r in rows]
    assert [labels_key(rows[i]) for i in first.tolist()] == list(seen)
