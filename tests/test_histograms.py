"""Float histograms: arithmetic of the test notation, compaction and the test rule."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.histograms import (
    CUSTOM_BUCKETS_SCHEMA,
    FloatHistogram,
    HistogramError,
    histograms_match,
)


def H(**kw):
    return FloatHistogram(**kw)


def test_add_inserts_missing_buckets_and_sums_the_rest():
    a = H(count=3, sum=2, positive={0: 1, 2: 2}, negative={1: 4})
    b = H(count=5, sum=1, positive={1: 3, 2: 1}, negative={-1: 1})
    c = a.add(b)
    assert (c.count, c.sum) == (8, 3)
    assert c.positive == {0: 1, 1: 3, 2: 3}
    assert c.negative == {-1: 1, 1: 4}
    assert a.positive == {0: 1, 2: 2}, "operands are not modified"


def test_sub_keeps_emptied_buckets_until_compacted():
    a = H(count=3, sum=2, positive={0: 1, 1: 2})
    c = a.sub(H(count=1, sum=1, positive={0: 1}))
    assert c.positive == {0: 0, 1: 2}
    assert c.compact().positive == {1: 2}
    assert H(positive={0: math.nan, 1: 0.0, 2: -0.0}).compact().positive.keys() == {0}


def test_add_reduces_the_finer_schema():
    # schema 1 buckets 1,2 both fall into schema-0 bucket 1 ((idx-1) >> 1) + 1.
    fine = H(schema=1, count=2, positive={1: 1, 2: 1, 3: 5})
    coarse = H(schema=0, count=1, positive={1: 10})
    for c in (coarse.add(fine), fine.add(coarse)):
        assert c.schema == 0
        assert c.positive == {1: 12, 2: 5}


def test_add_widens_the_smaller_zero_bucket():
    # schema 0: bucket 0 is (0.5, 1], bucket -1 is (0.25, 0.5].
    a = H(zero_threshold=0.5, zero_count=1, count=3, positive={0: 2})
    b = H(zero_threshold=0.1, zero_count=1, count=4, positive={-1: 1, 0: 2})
    c = a.add(b)
    assert c.zero_threshold == 0.5
    assert c.zero_count == 3  # 1 + b's zero bucket (1) + b's bucket (0.25, 0.5] (1)
    assert c.positive == {0: 4}


def test_counter_reset_hint_of_a_sum():
    def hint(x, y):
        return H(counter_reset_hint=x).add(H(counter_reset_hint=y)).counter_reset_hint

    assert hint("gauge", "reset") == "gauge"
    assert hint("not_reset", "gauge") == "gauge"
    assert hint("reset", "reset") == "reset"
    assert hint("reset", "unknown") == "unknown"
    assert hint("reset", "not_reset") == "unknown"
    assert (
        H(counter_reset_hint="reset").sub(H(counter_reset_hint="gauge")).counter_reset_hint
        == "reset"
    )


def test_custom_buckets_need_equal_bounds():
    a = H(schema=CUSTOM_BUCKETS_SCHEMA, custom_values=(1, 2), positive={0: 1})
    assert a.add(a).positive == {0: 2}
    with pytest.raises(HistogramError):
        a.add(H(schema=CUSTOM_BUCKETS_SCHEMA, custom_values=(1, 3)))
    with pytest.raises(HistogramError):
        a.add(H(schema=0))


def test_spans_and_test_expression():
    h = H(schema=2, count=4, sum=1.5, positive={-2: 1, -1: 0, 3: 3}, counter_reset_hint="gauge")
    assert h.spans() == ([(-2, 2), (3, 1)], [1, 0, 3])  # 3 empty buckets (0, 1, 2) between
    assert h.test_expression() == (
        "{{schema:2 count:4 sum:1.5 offset:-2 buckets:[1 0 0 0 0 3] counter_reset_hint:gauge}}"
    )


def test_bucket_bounds():
    assert H(schema=0).upper_bound(3) == 8
    assert H(schema=-1).upper_bound(1) == 4
    assert H(schema=2).upper_bound(4) == 2
    assert H(schema=1).upper_bound(1) == pytest.approx(math.sqrt(2), rel=1e-15)
    nhcb = H(schema=CUSTOM_BUCKETS_SCHEMA, custom_values=(0.5, 1))
    assert [nhcb.upper_bound(i) for i in range(3)] == [0.5, 1, math.inf]


@pytest.mark.parametrize(
    ("got", "hint", "match"),
    [
        (H(count=2, sum=3, positive={0: 1, 1: 1}), False, True),
        (
            H(count=2, sum=3 * (1 + 1e-7), positive={0: 1, 1: 1, 5: 0}),
            False,
            True,
        ),  # float rule, compaction
        (H(count=2.1, sum=3, positive={0: 1, 1: 1}), False, False),
        (H(count=2, sum=3, positive={0: 1, 2: 1}), False, False),  # other layout
        (H(count=2, sum=3, positive={0: 1, 1: 1.1}), False, False),
        (H(count=2, sum=3, positive={0: 1, 1: 1}, negative={0: 1}), False, False),
        (H(schema=1, count=2, sum=3, positive={0: 1, 1: 1}), False, False),
        (H(count=2, sum=3, zero_threshold=0.1, positive={0: 1, 1: 1}), False, False),
        (H(count=2, sum=3, positive={0: 1, 1: 1}, counter_reset_hint="gauge"), False, True),
        (H(count=2, sum=3, positive={0: 1, 1: 1}, counter_reset_hint="gauge"), True, False),
    ],
)
def test_histograms_match(got, hint, match):
    expected = H(count=2, sum=3, positive={0: 1, 1: 1, 2: 0})
    assert histograms_match(expected, got, compare_hint=hint) is match


def test_custom_bounds_are_compared():
    e = H(schema=CUSTOM_BUCKETS_SCHEMA, custom_values=(1, 2), positive={0: 1})
    assert histograms_match(
        e, H(schema=CUSTOM_BUCKETS_SCHEMA, custom_values=(1, 2), positive={0: 1})
    )
    assert not histograms_match(
        e, H(schema=CUSTOM_BUCKETS_SCHEMA, custom_values=(1, 3), positive={0: 1})
    )


buckets = st.dictionaries(st.integers(-20, 20), st.floats(-1e6, 1e6, allow_nan=False), max_size=8)


@given(buckets, buckets, buckets, buckets)
def test_add_and_sub_are_bucketwise_against_a_naive_reference(pa, pb, na, nb):
    a, b = H(positive=pa, negative=na, count=1, sum=2), H(positive=pb, negative=nb, count=3, sum=4)
    for op, sign in ((a.add, 1), (a.sub, -1)):
        c = op(b)
        for mine, theirs, out in ((pa, pb, c.positive), (na, nb, c.negative)):
            assert set(out) == set(mine) | set(theirs)
            for i in out:
                ref = (
                    mine.get(i, 0.0) + sign * theirs.get(i, 0.0) if i in mine else sign * theirs[i]
                )
                assert out[i] == ref
            assert list(out) == sorted(out)
        assert (c.count, c.sum) == (1 + sign * 3, 2 + sign * 4)
