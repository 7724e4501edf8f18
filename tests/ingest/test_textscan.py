"""The numba scanner (``engine.kernels.textscan``) against the naive reference parser.

Inputs are built from exposition-like fragments, then mutated (bytes dropped, swapped,
inserted), so most of them exercise the error paths: where the scan stops, how many
samples it read before, which bytes form each series, the exact value bits and the
timestamps must all agree with ``textparse_reference``.
"""

from __future__ import annotations

import math
import struct

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from textparse_reference import OM, TEXT, reference_parse

from engine.ingest.exposition import OPENMETRICS, raw_scan
from engine.ingest.exposition import TEXT as TEXT_FMT

FMT = {TEXT: TEXT_FMT, OM: OPENMETRICS}

names = st.sampled_from(["a", "up", "m_total", "x:y", "_h", "h_bucket", "h_created", "Ab9"])
lnames = st.sampled_from(["le", "quantile", "job", "a", "_b", "c9"])
lvalues = st.sampled_from(["", "x", "1", "+Inf", "0.5", 'q\\"d', "b\\\\s", "n\\nl", "é", " ", ","])
values = st.sampled_from(
    [
        "0",
        "1",
        "-1",
        "1.5",
        "+Inf",
        "-Inf",
        "Inf",
        "NaN",
        "nan",
        "1e3",
        "1E-3",
        ".5",
        "5.",
        "-0",
        "007",
        "1_0",
        "0x1p3",
        "1e",
        "+nan",
        "18446744073709551616",
        "9007199254740993",
        "1.7976931348623157e308",
        "1e400",
        "123456789012345678901234",
        "2.5e-324",
        "infinity",
    ]
)
timestamps = st.sampled_from(
    [
        "",
        " 1",
        " 1700000000000",
        " -5",
        " 1.5",
        " 1e3",
        " 99999999999999999999",
        " 1700000000.123",
        " NaN",
    ]
)


@st.composite
def sample_line(draw) -> str:
    name = draw(names)
    quoted_name = draw(st.booleans())
    labels = draw(st.lists(st.tuples(lnames, lvalues, st.booleans()), max_size=3))
    parts = [f'"{k}"="{v}"' if q else f'{k}="{v}"' for k, v, q in labels]
    if quoted_name:
        parts.insert(draw(st.integers(0, len(parts))), f'"{name}"')
        series = "{" + ",".join(parts) + "}"
    elif labels or draw(st.booleans()):
        series = name + "{" + ",".join(parts) + draw(st.sampled_from(["", ","])) + "}"
    else:
        series = name
    line = f"{series} {draw(values)}{draw(timestamps)}"
    if draw(st.integers(0, 5)) == 0:
        line += ' # {trace_id="abc"} 0.5' + draw(st.sampled_from(["", " 1.7e9", " x"]))
    return line


meta_lines = st.sampled_from(
    [
        "# TYPE h histogram",
        "# TYPE s summary",
        "# TYPE a gauge",
        "# TYPE a untyped",
        "# TYPE a unknown",
        "# TYPE a bogus",
        "# HELP a some help",
        "# HELP a",
        "# HELP  a x",
        "# UNIT a_seconds seconds",
        "# UNIT a_bytes seconds",
        "# plain comment",
        "#nospace",
        "",
        "# EOF",
    ]
)


@st.composite
def exposition(draw) -> bytes:
    lines = draw(st.lists(st.one_of(sample_line(), meta_lines), max_size=8))
    text = "\n".join(lines) + draw(st.sampled_from(["\n", "", "\n# EOF\n", "\n# EOF"]))
    data = text.encode()
    # mutate a little: drop, duplicate or replace bytes
    for _ in range(draw(st.integers(0, 2))):
        if not data:
            break
        i = draw(st.integers(0, len(data) - 1))
        op = draw(st.integers(0, 2))
        if op == 0:
            data = data[:i] + data[i + 1 :]
        elif op == 1:
            data = data[:i] + data[i : i + 1] * 2 + data[i + 1 :]
        else:
            data = (
                data[:i]
                + draw(
                    st.sampled_from(
                        [b" ", b"\t", b'"', b"{", b"}", b"=", b",", b"\n", b"#", b"\\", b"x"]
                    )
                )
                + data[i + 1 :]
            )
    return data


def _compare(data: bytes, mode: int) -> None:
    ours = raw_scan(data, FMT[mode])
    theirs = reference_parse(data, mode)
    assert ours[2] == theirs[2], f"error differs: kernel {ours[2]} reference {theirs[2]}"
    assert ours[0] == theirs[0]
    assert ours[1] == theirs[1]


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(exposition())
@example(b'a{b="c"} 1\n  x 2\n')
@example(b"a 1 2 3\n")
@example(b'{"a.b",c="d"} 1\n')
def test_text_scan_matches_reference(data: bytes) -> None:
    _compare(data, TEXT)


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(exposition())
@example(b"a 1 \n# EOF\n")
@example(b"a 1 # x\n# EOF\n")
@example(b'a 1 # {b="c"} 2 3\n# EOF\n')
@example(b"{ab} 1\n# EOF\n")
def test_openmetrics_scan_matches_reference(data: bytes) -> None:
    _compare(data, OM)


# ---- floats -----------------------------------------------------------------------------------


def _bits(f: float) -> int:
    return struct.unpack("<Q", struct.pack("<d", f))[0]


def _value_bits(text: str) -> int:
    samples, _, err = raw_scan(f"m {text}\n".encode())
    assert err is None, text
    return samples[0][1]


@settings(max_examples=3000, deadline=None)
@given(st.floats(allow_nan=False, allow_infinity=False))
def test_floats_round_trip_bit_exactly(f: float) -> None:
    for text in (repr(f), f"{f:.17g}", f"{f:e}", f"{f:.3f}", f"{f:.15g}"):
        if math.isinf(float(text)):  # rounded past the largest double: Go's ErrRange
            assert raw_scan(f"m {text}\n".encode())[2] == (2, 0)
            continue
        assert _value_bits(text) == _bits(float(text)), text


@settings(max_examples=1000, deadline=None)
@given(st.integers(min_value=0, max_value=10**25), st.integers(-30, 30))
def test_decimal_mantissas_are_correctly_rounded(m: int, e: int) -> None:
    text = f"{m}e{e}"
    expected = float(text)
    if math.isinf(expected):
        return
    assert _value_bits(text) == _bits(expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("16440392441958861461", 16440392441958861461.0),  # uint64 gauge from Envoy
        ("9007199254740993", 9007199254740992.0),  # 2**53 + 1 -> nearest even
        ("18446744073709551615", 18446744073709551616.0),
        ("-0", -0.0),
        ("+Inf", math.inf),
        ("-inf", -math.inf),
        ("Infinity", math.inf),
        ("4.9e-324", 5e-324),
    ],
)
def test_special_values(text: str, expected: float) -> None:
    assert _value_bits(text) == _bits(expected)


@pytest.mark.parametrize("text", ["NaN", "nan", "NAN"])
def test_nan_has_prometheus_normal_nan_bits(text: str) -> None:
    assert _value_bits(text) == 0x7FF8000000000001


@pytest.mark.parametrize(
    "text", ["1_0", "0x10", "0x1p3", "+nan", "1e", ".", "1e400", "inf1", "--1"]
)
def test_rejected_values(text: str) -> None:
    samples, _, err = raw_scan(f"m {text}\n".encode())
    assert samples == [] and err == (2, 0)


# ---- the series cache ----------------------------------------------------------------------------


def test_cache_identity_is_by_bytes_not_hash() -> None:
    """Two thousand distinct series: every slot holds exactly its own bytes, repeated
    lines map back to their first slot, and a slot whose stored bytes differ is never
    matched, whatever its hash says."""
    from engine.ingest.exposition import _scan, _SeriesCache, _Workspace

    cache, ws = _SeriesCache(), _Workspace()
    lines = [f'm{{i="{i}"}} {i}' for i in range(2000)]
    body = ("\n".join(lines + lines[::-1]) + "\n").encode()
    sc = _scan(body, "text", cache, ws)
    slots = ws.S[: sc.ns, 0]
    assert cache.n_slots == 2000
    assert np.array_equal(slots[:2000], np.arange(2000))
    assert np.array_equal(slots[2000:], np.arange(2000)[::-1])
    assert all(cache.series_bytes(i) == f'm{{i="{i}"}}'.encode() for i in range(2000))
    dup = (ws.S[: sc.ns, 2] & 2) != 0
    assert not dup[:2000].any() and dup[2000:].all()

    # a slot whose stored bytes differ (hash unchanged) must not be matched: identity
    # is the bytes, by the successor guess and by the hash table alike
    off = int(cache.slots[5, 0])
    cache.arena[off] = ord("M")
    sc = _scan(("\n".join(lines[3:8]) + "\n").encode(), "text", cache, ws)
    assert ws.S[: sc.ns, 0].tolist() == [3, 4, 2000, 6, 7]
    assert cache.series_bytes(2000) == b'm{i="5"}'
