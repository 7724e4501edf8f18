"""Saving and loading stores (engine/store/parquet.py): lossless, atomic, versioned, and
a damaged file is an error, never a wrong store."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.errors import StoreError
from engine.labels import LabelTable
from engine.store import Exemplars, FamilyMeta, HistogramSamples, Samples, Store, StoreBuilder
from engine.store.parquet import FORMAT_VERSION, is_saved_store, load_store, save_store
from engine.store.samples import STALE_NAN_BITS

GO_NAN_BITS = 0x7FF8000000000001  # Go's math.NaN(); different from the stale marker
SUFFIXES = [".parquet", ".arrow"]

# ---- strategies --------------------------------------------------------------------------

label_names = st.sampled_from(["__name__", "job", "instance", "le", "a.b", "ünï", "x y", "ts"])
label_values = st.text(min_size=0, max_size=8)  # "" = absent label
value_bits = st.one_of(
    st.sampled_from([STALE_NAN_BITS, GO_NAN_BITS, 0x7FF8000000000000, 0xFFF8000000000000]),
    st.floats(allow_nan=False).map(lambda f: int(np.array([f]).view(np.uint64)[0])),
    st.integers(0, 2**64 - 1),  # any bit pattern, signalling NaNs included
)


@st.composite
def stores(draw: st.DrawFn) -> Store:
    n = draw(st.integers(0, 6))
    rows = [draw(st.dictionaries(label_names, label_values, max_size=4)) for _ in range(n)]
    labels = LabelTable.from_dicts(rows)
    lengths = [draw(st.integers(0, 5)) for _ in range(n)]
    ts_parts = [
        np.array(
            sorted(draw(st.sets(st.integers(-(2**62), 2**62), min_size=k, max_size=k))), np.int64
        )
        for k in lengths
    ]
    total = sum(lengths)
    bits = np.array(draw(st.lists(value_bits, min_size=total, max_size=total)), np.uint64)
    offsets = np.zeros(n + 1, np.int64)
    np.cumsum(lengths, out=offsets[1:])
    ts = np.concatenate(ts_parts) if ts_parts else np.zeros(0, np.int64)
    samples = Samples(offsets, ts.astype(np.int64), bits.view(np.float64))
    n_ex = draw(st.integers(0, 5)) if n else 0
    ex_rows = [
        draw(st.dictionaries(st.sampled_from(["trace_id", "span.id"]), label_values, max_size=2))
        for _ in range(n_ex)
    ]
    exemplars = Exemplars(
        np.array(
            draw(st.lists(st.integers(0, max(n - 1, 0)), min_size=n_ex, max_size=n_ex)), np.int64
        ),
        np.array(draw(st.lists(st.integers(-1, 2**62), min_size=n_ex, max_size=n_ex)), np.int64),
        np.array(draw(st.lists(value_bits, min_size=n_ex, max_size=n_ex)), np.uint64).view(
            np.float64
        ),
        LabelTable.from_dicts(ex_rows),
    )
    metadata = draw(
        st.dictionaries(
            st.text(min_size=1, max_size=6),
            st.builds(
                FamilyMeta,
                st.sampled_from(["counter", "gauge", "histogram", "unknown"]),
                st.text(max_size=10),
                st.text(max_size=3),
            ),
            max_size=3,
        )
    )
    warnings = draw(st.lists(st.text(max_size=20), max_size=3))
    return Store(labels, samples, metadata, exemplars, warnings, draw(st.integers(0, 2**40)))


def assert_same(a: Store, b: Store) -> None:
    """Bit-exact equality of everything a store holds."""
    assert a.labels.rows() == b.labels.rows()
    assert a.samples.offsets.tolist() == b.samples.offsets.tolist()
    assert a.samples.ts.tolist() == b.samples.ts.tolist()
    assert a.samples.ts.dtype == b.samples.ts.dtype == np.int64
    assert a.samples.values.dtype == b.samples.values.dtype == np.float64
    assert a.samples.values.view(np.uint64).tolist() == b.samples.values.view(np.uint64).tolist()
    assert a.exemplars.series.tolist() == b.exemplars.series.tolist()
    assert a.exemplars.ts.tolist() == b.exemplars.ts.tolist()
    assert (
        a.exemplars.values.view(np.uint64).tolist() == b.exemplars.values.view(np.uint64).tolist()
    )
    assert a.exemplars.labels.rows() == b.exemplars.labels.rows()
    assert a.metadata == b.metadata
    assert a.warnings == b.warnings
    assert a.rejected_duplicates == b.rejected_duplicates


def small_store() -> Store:
    b = StoreBuilder()
    ids = b.series_ids(
        [
            (("__name__", "up"), ("instance", "a:1"), ("job", "j")),
            (("__name__", "req_total"), ("code", "200"), ("job", "j")),
            (("__name__", "req_total"), ("code", "503"), ("job", "j")),
        ]
    )
    ts = np.array([1000, 1000, 1000, 16000, 16000, 16000])
    vals = np.array([1.0, 5.0, 0.0, 1.0, 7.5, 0.0])
    vals[5] = np.array([STALE_NAN_BITS], np.uint64).view(np.float64)[0]
    b.append(np.concatenate([ids, ids]), ts, vals)
    b.append(ids[1:2], np.array([1000]), np.array([6.0]))  # rejected duplicate
    b.add_exemplars(ids[1:2], np.array([900]), np.array([0.25]), [{"trace_id": "abc"}])
    b.metadata["req_total"] = FamilyMeta("counter", "Requests.", "")
    b.warnings.append("t/1.prom:3:7: bad value")
    return b.finish()


# ---- round trips -------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", SUFFIXES)
@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(store=stores())
def test_round_trip_is_bit_exact(tmp_path: Path, suffix: str, store: Store) -> None:
    path = tmp_path / f"s{suffix}"
    save_store(store, path)
    assert_same(load_store(path), store)


@pytest.mark.parametrize("suffix", SUFFIXES)
@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(store=stores(), group=st.integers(1, 3))
def test_round_trip_over_many_row_groups(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, suffix: str, store: Store, group: int
) -> None:
    """Row groups / record batches of a few series each: per-chunk dictionaries and
    list offsets must be stitched back together exactly."""
    import engine.store.parquet as mod

    monkeypatch.setattr(mod, "_ROW_GROUP_SERIES", group)
    path = tmp_path / f"g{suffix}"
    save_store(store, path)
    assert_same(load_store(path), store)


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_stale_marker_and_nan_payloads_survive(tmp_path: Path, suffix: str) -> None:
    # Different NaN payloads must stay different: a writer that hashes doubles for its
    # dictionary would merge them, which is why values are stored as uint64 bits.
    bits = np.array(
        [STALE_NAN_BITS, GO_NAN_BITS, STALE_NAN_BITS, 0x7FF8000000000000, 0x3FF0000000000000],
        np.uint64,
    )
    store = Store(
        LabelTable.from_dicts([{"__name__": "m"}]),
        Samples(np.array([0, 5]), np.arange(5, dtype=np.int64) * 1000, bits.view(np.float64)),
    )
    store.save(tmp_path / f"s{suffix}")
    back = Store.load(tmp_path / f"s{suffix}")
    assert back.samples.values.view(np.uint64).tolist() == bits.tolist()


def test_small_store_round_trip_and_header(tmp_path: Path) -> None:
    store = small_store()
    assert store.rejected_duplicates == 1
    path = tmp_path / "s.parquet"
    save_store(store, path)
    assert_same(load_store(path), store)
    header = json.loads(pq.read_schema(path).metadata[b"promreplay"])
    assert header["version"] == FORMAT_VERSION
    assert (header["series"], header["samples"], header["exemplars"]) == (3, 6, 1)
    assert is_saved_store(path)


def test_is_saved_store_tells_stores_from_captures(tmp_path: Path) -> None:
    text = tmp_path / "a.prom"
    text.write_text("up 1\n")
    arrow = _write(small_store(), tmp_path / "x.arrow")
    damaged = tmp_path / "d.parquet"
    damaged.write_bytes(_write(small_store(), tmp_path / "y.parquet").read_bytes()[:100])
    assert is_saved_store(arrow) and is_saved_store(damaged)
    assert not is_saved_store(text)
    assert not is_saved_store(tmp_path / "missing.parquet")
    assert not is_saved_store(tmp_path)


def _write(store: Store, path: Path) -> Path:
    save_store(store, path)
    return path


# ---- atomicity ---------------------------------------------------------------------------


def test_failed_write_leaves_old_file_and_no_temporaries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _write(small_store(), tmp_path / "s.parquet")
    before = path.read_bytes()

    def boom(table, where, **kw):  # noqa: ANN001
        where.write(b"PAR1 partial")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pq, "write_table", boom)
    with pytest.raises(StoreError, match="No space left"):
        save_store(Store(LabelTable.empty(0), Samples.empty(0)), path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.parquet"]


def test_save_replaces_existing_file(tmp_path: Path) -> None:
    path = _write(small_store(), tmp_path / "s.parquet")
    empty = Store(LabelTable.empty(0), Samples.empty(0))
    save_store(empty, path)
    assert load_store(path).labels.n == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.parquet"]


def test_save_into_missing_folder_is_a_store_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="cannot write"):
        save_store(small_store(), tmp_path / "no" / "such" / "s.parquet")


def test_native_histograms_are_refused_not_dropped(tmp_path: Path) -> None:
    store = small_store()
    store.histograms = HistogramSamples(
        np.array([0]), np.array([1000]), np.array([object()], dtype=object)
    )
    with pytest.raises(StoreError, match="native-histogram"):
        save_store(store, tmp_path / "s.parquet")
    assert not (tmp_path / "s.parquet").exists()


# ---- versions and foreign files ----------------------------------------------------------


def _rewrite_header(src: Path, dst: Path, **changes: object) -> None:
    table = pq.read_table(src)
    header = json.loads(table.schema.metadata[b"promreplay"])
    header.update(changes)
    pq.write_table(table.replace_schema_metadata({b"promreplay": json.dumps(header).encode()}), dst)


def test_unknown_version_is_a_clear_error(tmp_path: Path) -> None:
    src = _write(small_store(), tmp_path / "s.parquet")
    _rewrite_header(src, tmp_path / "v2.parquet", version=FORMAT_VERSION + 1)
    with pytest.raises(StoreError, match=r"v2\.parquet: store format version 2 is not supported"):
        load_store(tmp_path / "v2.parquet")


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "not a saved store"),
        (b"up 1\n", "not a saved store"),
        (b"PAR1\x00\x00garbage", "damaged or truncated"),
    ],
)
def test_foreign_files(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "f.parquet"
    path.write_bytes(content)
    with pytest.raises(StoreError, match=message):
        load_store(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no such file"):
        load_store(tmp_path / "nope.parquet")


def test_parquet_without_header(tmp_path: Path) -> None:
    src = _write(small_store(), tmp_path / "s.parquet")
    pq.write_table(pq.read_table(src).replace_schema_metadata({}), tmp_path / "bare.parquet")
    with pytest.raises(StoreError, match="no 'promreplay' header"):
        load_store(tmp_path / "bare.parquet")


# ---- damage ------------------------------------------------------------------------------


def test_consistent_but_wrong_columns_fail_the_checksum(tmp_path: Path) -> None:
    """A file whose Parquet is valid but whose data differ from what was saved (here one
    value changed and the file rewritten with the old header) must not load."""
    import pyarrow as pa

    src = _write(small_store(), tmp_path / "s.parquet")
    table = pq.read_table(src)
    values = table.column("values").combine_chunks()
    bits = values.values.to_numpy().copy()
    bits[0] ^= 1
    new = pa.LargeListArray.from_arrays(values.offsets, pa.array(bits))
    table = table.set_column(table.column_names.index("values"), "values", new)
    pq.write_table(table, tmp_path / "w.parquet")
    with pytest.raises(StoreError, match="checksum mismatch"):
        load_store(tmp_path / "w.parquet")


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_every_truncation_is_an_error(tmp_path: Path, suffix: str) -> None:
    data = _write(small_store(), tmp_path / f"s{suffix}").read_bytes()
    cut = tmp_path / f"cut{suffix}"
    for n in range(0, len(data), max(1, len(data) // 200)):
        cut.write_bytes(data[:n])
        with pytest.raises(StoreError):
            load_store(cut)


@pytest.mark.parametrize("suffix", SUFFIXES)
@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(where=st.floats(0, 1, exclude_max=True), xor=st.integers(1, 255))
def test_damaged_byte_gives_error_or_identical_store(
    tmp_path: Path, suffix: str, where: float, xor: int
) -> None:
    """Flip bits of one byte anywhere: loading either raises StoreError or gives back the
    very same store (a byte in, say, the writer's version string changes nothing)."""
    store = small_store()
    path = tmp_path / f"s{suffix}"
    if not path.exists():
        save_store(store, path)
    data = bytearray(path.read_bytes())
    i = int(where * len(data))
    data[i] ^= xor
    bad = tmp_path / f"bad{suffix}"
    bad.write_bytes(bytes(data))
    try:
        back = load_store(bad)
    except StoreError:
        return
    assert_same(back, store)


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_a_name_that_is_not_utf8_is_a_damaged_store(tmp_path: Path, suffix: str) -> None:
    """An exemplar label's name with a byte that breaks its UTF-8 (found by the test
    above): pyarrow raises UnicodeDecodeError when the name is read, which must surface
    as StoreError naming the file."""
    path = tmp_path / f"s{suffix}"
    save_store(small_store(), path)
    data = path.read_bytes()
    if data.count(b"trace_id") == 0:
        pytest.skip("the name is stored compressed in this format")
    bad = tmp_path / f"bad{suffix}"
    bad.write_bytes(data.replace(b"trace_id", b"trace_i\xe4"))
    with pytest.raises(StoreError, match="damaged") as e:
        load_store(bad)
    assert str(bad) in str(e.value)


def test_error_names_the_file(tmp_path: Path) -> None:
    data = _write(small_store(), tmp_path / "s.parquet").read_bytes()
    (tmp_path / "half.parquet").write_bytes(data[: len(data) // 2])
    with pytest.raises(StoreError) as e:
        load_store(tmp_path / "half.parquet")
    assert str(tmp_path / "half.parquet") in str(e.value)
    assert os.path.exists(tmp_path / "s.parquet")


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_times_whose_difference_overflows_int64_load_again(tmp_path: Path, suffix: str) -> None:
    """The sortedness check compares times instead of subtracting them: -2^62 then 2^62
    in one series is sorted, though 2^62 - (-2^62) does not fit in an int64."""
    b = StoreBuilder()
    sid = b.series_id((("__name__", "x"),))
    b.append(np.array([sid, sid]), np.array([-(2**62), 2**62]), np.array([1.0, 2.0]))
    store = b.finish()
    path = tmp_path / f"s{suffix}"
    save_store(store, path)
    assert_same(store, load_store(path))
