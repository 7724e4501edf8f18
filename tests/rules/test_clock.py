"""Evaluation clocks: epoch / promtool / server slots, and the label encodings hashed."""

from __future__ import annotations

import xxhash
from hypothesis import given
from hypothesis import strategies as st

from engine.rules.clock import encode_labels, eval_times, group_order_key, slot_offset_ns


def test_encoding_3x_length_prefixed_sorted():
    # stringlabels: names sorted, "file" before "name", one length byte each
    assert (
        encode_labels({"name": "grp", "file": "/r.yml"}, 3) == b"\x04file\x06/r.yml\x04name\x03grp"
    )


def test_encoding_3x_long_strings_use_ff_and_3_bytes_little_endian():
    v = "x" * 300  # 300 = 0x012c
    enc = encode_labels({"file": v}, 3)
    assert enc[:5] == b"\x04file"
    assert enc[5:9] == b"\xff\x2c\x01\x00" and enc[9:] == v.encode()
    assert encode_labels({"file": "y" * 254}, 3)[5] == 254  # 254 still fits in one byte
    assert encode_labels({"file": "y" * 255}, 3)[5:9] == b"\xff\xff\x00\x00"


def test_encoding_2x_ff_separated():
    assert encode_labels({"name": "g", "file": "f"}, 2) == b"file\xfff\xffname\xffg\xff"


def test_slot_offset_is_xxh64_mod_interval_in_ns():
    f, g, iv = "/etc/prometheus/rules/a.yml", "example", 60_000
    for version in (2, 3):
        h = xxhash.xxh64_intdigest(encode_labels({"file": f, "name": g}, version))
        assert slot_offset_ns(f, g, iv, version) == h % (iv * 1_000_000)
    assert slot_offset_ns(f, g, iv, 2) != slot_offset_ns(f, g, iv, 3)


def test_utf8_group_names_hash_their_bytes():
    a = slot_offset_ns("r.yml", "grüppe", 30_000)
    h = xxhash.xxh64_intdigest(b"\x04file\x05r.yml\x04name\x07gr\xc3\xbcppe")
    assert a == h % 30_000_000_000


def test_epoch_and_promtool_alignment():
    assert eval_times("epoch", 30_000, 10_000, 100_000).tolist() == [30_000, 60_000, 90_000]
    assert eval_times("promtool", 30_000, 10_000, 100_000).tolist() == [
        10_000,
        40_000,
        70_000,
        100_000,
    ]
    assert eval_times("epoch", 60_000, 61_000, 119_999).tolist() == []


@given(
    interval_s=st.sampled_from([10, 15, 30, 60, 120, 300]),
    start=st.integers(1_600_000_000_000, 1_800_000_000_000),
    span=st.integers(0, 3_600_000),
    name=st.text(min_size=1, max_size=20),
)
def test_server_slots(interval_s, start, span, name):
    iv = interval_s * 1000
    off_ns = slot_offset_ns("/r.yml", name, iv)
    ts = eval_times("server", iv, start, start + span, offset_ns=off_ns)
    off_ms = off_ns // 1_000_000
    assert all(start <= t <= start + span for t in ts.tolist())
    assert all((t - off_ms) % iv == 0 for t in ts.tolist())
    # nothing missed just outside: the previous and next slots fall outside the range
    first = ts[0] if len(ts) else None
    if first is not None:
        assert first - iv < start
        assert ts[-1] + iv > start + span
    else:
        k = -(-(start * 1_000_000 - off_ns) // (iv * 1_000_000))
        assert k * iv + off_ms > start + span


def test_group_order_follows_promtool_partial_order():
    assert group_order_key(["a", "b", "c"], None) == [0, 1, 2]
    assert group_order_key(["a", "b", "c"], ["b", "a"]) == [2, 0, 1]  # c ranks 0 with b
    # unlisted groups rank 0 (promtool's map default), ties keep file order
    assert group_order_key(["a", "b", "c"], ["c", "b"]) == [0, 2, 1]
