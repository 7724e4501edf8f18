"""Saving and loading a :class:`~engine.store.Store`: one Parquet (or Arrow IPC) file.

Layout (format version 1). One row per series, in series-id order:

- ``label:<name>``: one ``dictionary<int32, string>`` column per label name, null where the
  series has no such label;
- ``ts``: ``large_list<int64>``, the series' timestamps (ms), so the list offsets *are* the
  CSR offsets;
- ``values``: ``large_list<uint64>``, the float64 values as their raw bits. Storing bits
  rather than doubles keeps every NaN payload exact (the stale marker
  ``0x7ff0000000000002`` and Go's ``math.NaN()`` ``0x7ff8000000000001`` are different
  values), whatever the writer's dictionary or statistics code does with NaNs;
- ``exemplars``: ``large_list<struct<pos, ts, value, labels>>``, the series' exemplars, with
  ``pos`` their row in the store's exemplar table, so its order comes back exactly.

The file's key-value metadata holds ``promreplay`` = a JSON header: format name and
version, the row counts, the family metadata (``# TYPE``/``# HELP``/``# UNIT``), the
ingestion warnings, the rejected-duplicate count, and a BLAKE2b digest of the whole
store in a canonical form that does not depend on string-interning ids. Parquet pages
also carry CRC32 checksums. On load every structural invariant is checked (offsets,
lengths, ids, sort order) and the digest is recomputed, so a damaged, truncated or
foreign file raises :class:`~engine.errors.StoreError` and never yields a wrong store.

Writes are atomic: a temporary file in the destination folder, flushed and fsynced, then
``os.replace``. A path ending in ``.arrow``, ``.feather`` or ``.ipc`` is written as an
Arrow IPC file instead of Parquet; loading tells the two apart by their magic bytes.

>>> import tempfile, os
>>> from engine.store import StoreBuilder
>>> b = StoreBuilder()
>>> ids = b.series_ids([(("__name__", "up"), ("job", "a"))])
>>> b.append(ids, np.array([1000]), np.array([1.0]))
>>> d = tempfile.mkdtemp()
>>> save_store(b.finish(), os.path.join(d, "s.parquet"))
>>> load_store(os.path.join(d, "s.parquet")).labels.rows()
[{'__name__': 'up', 'job': 'a'}]
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.ipc as ipc
import pyarrow.parquet as pq

from ..errors import StoreError
from ..labels import POOL, LabelTable
from .samples import Samples
from .store import Exemplars, FamilyMeta, Store

__all__ = ["FORMAT_NAME", "FORMAT_VERSION", "is_saved_store", "load_store", "save_store"]

#: Name written in every header; a file without it is not a saved store.
FORMAT_NAME = "promreplay-store"
#: The version this code writes and the only one it reads.
FORMAT_VERSION = 1

_META_KEY = b"promreplay"
_LABEL_PREFIX = "label:"
_PARQUET_MAGIC = b"PAR1"
_ARROW_MAGIC = b"ARROW1"
_IPC_SUFFIXES = (".arrow", ".feather", ".ipc")
#: Series per Parquet row group (and per Arrow IPC record batch).
_ROW_GROUP_SERIES = 1 << 20


# ---- public API ------------------------------------------------------------------------


def save_store(store: Store, path: str | os.PathLike[str]) -> None:
    """Write ``store`` to ``path`` atomically (Parquet, or Arrow IPC for ``.arrow``).

    Raises :class:`~engine.errors.StoreError` when the store holds something this format
    cannot keep losslessly (native-histogram samples, for now) or the write fails; the
    destination is then left untouched.
    """
    path = Path(path)
    if len(store.histograms):
        raise StoreError(
            f"{path}: cannot save {len(store.histograms)} native-histogram samples: "
            "the store file format does not hold native histograms yet"
        )
    table = _to_table(store)
    header = _header(store)
    header["digest"] = _digest(store, header)
    table = table.replace_schema_metadata({_META_KEY: json.dumps(header).encode()})
    ipc_format = path.suffix.lower() in _IPC_SUFFIXES
    _atomic_write(path, table, ipc_format)


def load_store(path: str | os.PathLike[str]) -> Store:
    """Read a store written by :func:`save_store`.

    Raises :class:`~engine.errors.StoreError` naming the file and the reason when it is
    missing, not a saved store, of an unsupported format version, truncated or damaged.
    """
    path = Path(path)
    table = _read_table(path)
    header = _read_header(path, table.schema.metadata)
    try:
        store = _from_table(path, table, header)
    except UnicodeDecodeError as e:  # pyarrow decodes a column's name only when asked
        raise StoreError(f"{path}: damaged store file: a name is not UTF-8 ({e.reason})") from None
    if _digest(store, {k: v for k, v in header.items() if k != "digest"}) != header.get("digest"):
        raise StoreError(f"{path}: damaged store file: checksum mismatch")
    return store


def is_saved_store(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is a Parquet or Arrow IPC file (by its magic bytes), and so should
    be read with :func:`load_store` rather than as a capture or dump.

    Only the first bytes are read: a damaged or foreign Parquet file is still ``True``,
    so that :func:`load_store` reports what is wrong with it.

    >>> is_saved_store(__file__)
    False
    """
    try:
        with open(path, "rb") as f:
            magic = f.read(6)
    except OSError:
        return False
    return magic.startswith(_PARQUET_MAGIC) or magic == _ARROW_MAGIC


# ---- writing ---------------------------------------------------------------------------


def _header(store: Store) -> dict[str, Any]:
    return {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "series": store.labels.n,
        "samples": len(store.samples),
        "exemplars": len(store.exemplars),
        "rejected_duplicates": int(store.rejected_duplicates),
        "metadata": {name: [m.type, m.help, m.unit] for name, m in sorted(store.metadata.items())},
        "warnings": list(store.warnings),
    }


def _label_columns(table: LabelTable) -> Iterator[tuple[str, pa.DictionaryArray]]:
    """``(name, dictionary array)`` per label name, null where the label is absent."""
    for name in table.names():
        codes = table.cols[name]
        uniq, inverse = np.unique(codes, return_inverse=True)
        indices = pa.array(inverse.reshape(-1).astype(np.int32), mask=(codes == 0), type=pa.int32())
        dictionary = pa.array(POOL.strings(uniq).tolist(), type=pa.string())
        yield name, pa.DictionaryArray.from_arrays(indices, dictionary)


def _to_table(store: Store) -> pa.Table:
    s = store.samples
    offsets = pa.array(np.ascontiguousarray(s.offsets, np.int64))
    cols: dict[str, pa.Array] = {}
    try:
        for name, arr in _label_columns(store.labels):
            cols[_LABEL_PREFIX + name] = arr
    except (pa.ArrowException, UnicodeError) as e:
        raise StoreError(f"cannot save label values: {e}") from e
    cols["ts"] = pa.LargeListArray.from_arrays(offsets, pa.array(s.ts.astype(np.int64)))
    bits = np.ascontiguousarray(s.values, np.float64).view(np.uint64)
    cols["values"] = pa.LargeListArray.from_arrays(offsets, pa.array(bits))
    cols["exemplars"] = _exemplar_column(store.exemplars, store.labels.n)
    return pa.table(cols)


def _exemplar_column(ex: Exemplars, n_series: int) -> pa.LargeListArray:
    series = np.asarray(ex.series, np.int64)
    if len(series) and (series.min() < 0 or series.max() >= n_series):
        raise StoreError("exemplar series id out of range")
    order = np.argsort(series, kind="stable")
    offsets = np.zeros(n_series + 1, np.int64)
    np.cumsum(np.bincount(series, minlength=n_series), out=offsets[1:])
    fields = [
        pa.array(order.astype(np.int64)),
        pa.array(np.asarray(ex.ts, np.int64)[order]),
        pa.array(np.ascontiguousarray(ex.values, np.float64).view(np.uint64)[order]),
    ]
    names = ["pos", "ts", "value"]
    label_cols = list(_label_columns(ex.labels.take(order)))
    if label_cols:
        fields.append(
            pa.StructArray.from_arrays([a for _, a in label_cols], [n for n, _ in label_cols])
        )
        names.append("labels")
    return pa.LargeListArray.from_arrays(
        pa.array(offsets), pa.StructArray.from_arrays(fields, names)
    )


def _atomic_write(path: Path, table: pa.Table, ipc_format: bool) -> None:
    folder = path.parent if str(path.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    except OSError as e:
        raise StoreError(f"{path}: cannot write: {e.strerror or e}") from e
    try:
        with os.fdopen(fd, "wb") as f:
            if ipc_format:
                with ipc.new_file(f, table.schema) as w:
                    w.write_table(table, max_chunksize=_ROW_GROUP_SERIES)
            else:
                pq.write_table(
                    table,
                    f,
                    compression="zstd",
                    row_group_size=_ROW_GROUP_SERIES,
                    write_page_checksum=True,
                    use_dictionary=[c for c in table.column_names if c.startswith(_LABEL_PREFIX)],
                )
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as e:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(e, (OSError, pa.ArrowException)):
            raise StoreError(f"{path}: cannot write: {e}") from e
        raise
    _fsync_dir(folder)


def _fsync_dir(folder: Path) -> None:
    """Make the rename durable (best effort: not every platform opens directories)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# ---- reading ---------------------------------------------------------------------------


def _read_table(path: Path) -> pa.Table:
    try:
        with open(path, "rb") as f:
            magic = f.read(6)
    except FileNotFoundError:
        raise StoreError(f"{path}: no such file") from None
    except OSError as e:
        raise StoreError(f"{path}: cannot read: {e.strerror or e}") from None
    try:
        if magic.startswith(_PARQUET_MAGIC):
            return pq.ParquetFile(path, page_checksum_verification=True).read()
        if magic == _ARROW_MAGIC:
            with ipc.open_file(path) as r:
                table = r.read_all()
            table.validate(full=True)
            return table
    except Exception as e:  # noqa: BLE001 - any failure to decode a damaged file is a StoreError
        raise StoreError(
            f"{path}: damaged or truncated store file ({type(e).__name__}: {e})"
        ) from e
    raise StoreError(f"{path}: not a saved store (neither a Parquet nor an Arrow IPC file)")


def _read_header(path: Path, meta: dict[bytes, bytes] | None) -> dict[str, Any]:
    if not meta or _META_KEY not in meta:
        raise StoreError(f"{path}: not a saved promreplay store (no 'promreplay' header)")
    try:
        header = json.loads(meta[_META_KEY])
    except (ValueError, UnicodeError) as e:
        raise StoreError(f"{path}: damaged store file: unreadable header ({e})") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT_NAME:
        raise StoreError(f"{path}: damaged store file: bad header")
    version = header.get("version")
    if not isinstance(version, int):
        raise StoreError(f"{path}: damaged store file: bad header field 'version'")
    if version != FORMAT_VERSION:
        raise StoreError(
            f"{path}: store format version {version!r} is not supported "
            f"(this promreplay reads version {FORMAT_VERSION})"
        )
    for key in ("series", "samples", "exemplars", "rejected_duplicates"):
        if not isinstance(header.get(key), int) or header[key] < 0:
            raise StoreError(f"{path}: damaged store file: bad header field {key!r}")
    if not isinstance(header.get("metadata"), dict) or not isinstance(header.get("warnings"), list):
        raise StoreError(f"{path}: damaged store file: bad header")
    return header


def _from_table(path: Path, table: pa.Table, header: dict[str, Any]) -> Store:
    def bad(reason: str) -> StoreError:
        return StoreError(f"{path}: damaged store file: {reason}")

    n = header["series"]
    if table.num_rows != n:
        raise bad(f"{table.num_rows} series rows, header says {n}")
    for name in ("ts", "values", "exemplars"):
        if name not in table.column_names:
            raise bad(f"column {name!r} is missing")
    offsets, ts = _list_column("ts", table.column("ts"), pa.int64(), bad)
    v_offsets, bits = _list_column("values", table.column("values"), pa.uint64(), bad)
    if len(offsets) != n + 1 or not np.array_equal(offsets, v_offsets):
        raise bad("ts and values columns disagree")
    if offsets[0] != 0 or offsets[-1] != header["samples"] or np.any(np.diff(offsets) < 0):
        raise bad("sample offsets are inconsistent")
    if len(ts) > 1:
        # compared, not subtracted: a difference of two int64 times can overflow
        rising = ts[1:] > ts[:-1]
        inner = np.ones(len(ts) - 1, bool)
        inner[offsets[1:-1][(offsets[1:-1] > 0) & (offsets[1:-1] < len(ts))] - 1] = False
        if not np.all(rising[inner]):
            raise bad("timestamps are not sorted within a series")
    labels = _label_table(
        n,
        {
            c[len(_LABEL_PREFIX) :]: table.column(c)
            for c in table.column_names
            if c.startswith(_LABEL_PREFIX)
        },
        bad,
    )
    exemplars = _read_exemplars(table.column("exemplars"), n, header["exemplars"], bad)
    try:
        metadata = {k: FamilyMeta(*v) for k, v in header["metadata"].items()}
    except TypeError:
        raise bad("bad family metadata") from None
    return Store(
        labels,
        Samples(offsets, ts, bits.view(np.float64)),
        metadata,
        exemplars,
        [str(w) for w in header["warnings"]],
        header["rejected_duplicates"],
    )


# Fixed-width Arrow types the loader reads, and their numpy dtypes.
_NUMPY_TYPES = {
    pa.int8(): np.int8, pa.int16(): np.int16, pa.int32(): np.int32, pa.int64(): np.int64,
    pa.uint8(): np.uint8, pa.uint16(): np.uint16, pa.uint32(): np.uint32,
    pa.uint64(): np.uint64, pa.float64(): np.float64,
}


def _numpy(arr: pa.Array) -> np.ndarray:
    """The values of a fixed-width Arrow array as numpy, null slots unspecified.

    Reads the data buffer directly: pyarrow's own ``to_numpy`` goes through its pandas
    bridge, which imports pandas (half a second of every process's first query).

    >>> _numpy(pa.array([3, 1, 2], pa.int64()).slice(1)).tolist()
    [1, 2]
    """
    dtype = _NUMPY_TYPES.get(arr.type)
    if dtype is None:
        raise TypeError(f"no numpy conversion for {arr.type}")
    data = arr.buffers()[1]
    if data is None or len(arr) == 0:
        return np.zeros(0, dtype)
    return np.frombuffer(data, dtype, count=len(arr), offset=arr.offset * np.dtype(dtype).itemsize)


def _valid(arr: pa.Array) -> np.ndarray:
    """Boolean mask of ``arr``'s non-null slots, read from its validity bitmap.

    >>> _valid(pa.array([1, None, 3], pa.int64())).tolist()
    [True, False, True]
    """
    bitmap = arr.buffers()[0]
    if bitmap is None or arr.null_count == 0:
        return np.ones(len(arr), bool)
    bits = np.unpackbits(np.frombuffer(bitmap, np.uint8), bitorder="little")
    return bits[arr.offset : arr.offset + len(arr)].astype(bool)


def _list_column(
    name: str, col: pa.ChunkedArray, value_type: pa.DataType, bad: Any
) -> tuple[np.ndarray, np.ndarray]:
    """CSR ``(offsets, values)`` of a list column of ``value_type``."""
    if not pa.types.is_large_list(col.type) or col.type.value_type != value_type:
        raise bad(f"column {name!r} has type {col.type}")
    arr = col.combine_chunks() if col.num_chunks != 1 else col.chunk(0)
    if arr.null_count:
        raise bad(f"nulls in column {name!r}")
    offsets = _numpy(arr.offsets).astype(np.int64)
    values = arr.values.slice(offsets[0], offsets[-1] - offsets[0]) if len(offsets) else arr.values
    if values.null_count:
        raise bad("null samples")
    return offsets - offsets[0], _numpy(values).copy()


def _label_table(n: int, cols: dict[str, pa.ChunkedArray | pa.Array], bad: Any) -> LabelTable:
    out: dict[str, np.ndarray] = {}
    for name, col in cols.items():
        chunks = col.chunks if isinstance(col, pa.ChunkedArray) else [col]
        parts = []
        for chunk in chunks:
            if pa.types.is_string(chunk.type) or pa.types.is_large_string(chunk.type):
                chunk = chunk.dictionary_encode()
            if not pa.types.is_dictionary(chunk.type) or not pa.types.is_string(
                chunk.type.value_type
            ):
                raise bad(f"label column {name!r} has type {chunk.type}")
            ids = POOL.intern_many(chunk.dictionary.to_pylist())
            idx = _numpy(chunk.indices)
            valid = _valid(chunk)
            if np.any(valid & ((idx < 0) | (idx >= len(ids)))):
                raise bad(f"label column {name!r} has dictionary indices out of range")
            codes = np.zeros(len(chunk), np.int32)
            codes[valid] = ids[idx[valid].astype(np.int64)]
            parts.append(codes)
        codes = np.concatenate(parts) if parts else np.zeros(0, np.int32)
        if len(codes) != n:
            raise bad(f"label column {name!r} has {len(codes)} rows, expected {n}")
        out[name] = codes
    return LabelTable(n, out)


def _field(rows: pa.StructArray, name: str, dtype: type) -> np.ndarray:
    """One field of a struct array, which must be null-free, as numpy ``dtype``."""
    col = rows.field(name)
    if col.null_count:
        raise ValueError(f"nulls in {name!r}")
    return _numpy(col).astype(dtype)


def _read_exemplars(col: pa.ChunkedArray, n: int, expected: int, bad: Any) -> Exemplars:
    arr = col.combine_chunks() if col.num_chunks != 1 else col.chunk(0)
    if not pa.types.is_large_list(arr.type) or not pa.types.is_struct(arr.type.value_type):
        raise bad(f"exemplars column has type {arr.type}")
    if arr.null_count:
        raise bad("null exemplar lists")
    offsets = _numpy(arr.offsets).astype(np.int64)
    start, end = int(offsets[0]), int(offsets[-1])
    offsets = offsets - start
    counts = np.diff(offsets)
    if len(offsets) != n + 1 or np.any(counts < 0) or end - start != expected:
        raise bad("exemplar offsets are inconsistent")
    rows = arr.values.slice(start, end - start)
    st = rows.type
    try:
        pos = _field(rows, "pos", np.int64)
        ts = _field(rows, "ts", np.int64)
        vbits = _field(rows, "value", np.uint64)
    except (KeyError, pa.ArrowException, TypeError, ValueError) as e:
        raise bad(f"exemplar columns: {e}") from None
    seen = np.zeros(expected, bool)
    if len(pos) and (pos.min() < 0 or pos.max() >= expected):
        raise bad("exemplar positions out of range")
    seen[pos] = True
    if not seen.all():
        raise bad("exemplar positions are not a permutation")
    series = np.repeat(np.arange(n, dtype=np.int64), counts)
    if st.get_field_index("labels") >= 0:
        lab = rows.field("labels")
        cols = {lab.type.field(i).name: lab.field(i) for i in range(lab.type.num_fields)}
    else:
        cols = {}
    ex_labels = _label_table(len(pos), cols, bad)
    inv = np.empty(expected, np.int64)
    inv[pos] = np.arange(expected)
    return Exemplars(series[inv], ts[inv], vbits[inv].view(np.float64), ex_labels.take(inv))


# ---- the digest ------------------------------------------------------------------------


def _digest(store: Store, header: dict[str, Any]) -> str:
    """BLAKE2b of the store in a canonical form (strings, not interning ids)."""
    h = hashlib.blake2b(digest_size=16)
    h.update(json.dumps(header, sort_keys=True).encode())
    s = store.samples
    for arr in (s.offsets, s.ts):
        h.update(_le_bytes(arr, "<i8"))
    h.update(_le_bytes(np.asarray(s.values, np.float64).view(np.uint64), "<u8"))
    _hash_labels(h, store.labels)
    ex = store.exemplars
    for arr in (ex.series, ex.ts):
        h.update(_le_bytes(arr, "<i8"))
    h.update(_le_bytes(np.asarray(ex.values, np.float64).view(np.uint64), "<u8"))
    _hash_labels(h, ex.labels)
    return h.hexdigest()


def _le_bytes(arr: np.ndarray, dtype: str) -> memoryview:
    """``arr``'s bytes as ``dtype`` (little-endian), without a copy when they already
    are: the hash reads the buffer in place (``tobytes`` copied 244 MB of the medium
    mesh's columns on every load and save, 0.18 s)."""
    return memoryview(np.ascontiguousarray(arr, dtype)).cast("B")


def _hash_labels(h: Any, table: LabelTable) -> None:
    h.update(f"labels {table.n}\n".encode())
    for name in table.names():
        uniq, inverse = np.unique(table.cols[name], return_inverse=True)
        strings = POOL.strings(uniq).tolist()
        order = sorted(range(len(strings)), key=strings.__getitem__)
        rank = np.empty(len(order), np.int64)
        rank[np.asarray(order, np.int64)] = np.arange(len(order))
        h.update(json.dumps([name, [strings[i] for i in order]]).encode())
        h.update(_le_bytes(rank[inverse.reshape(-1)], "<i8"))
