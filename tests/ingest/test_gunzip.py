"""Gunzipping capture files: the libdeflate fast path answers exactly as ``gzip.decompress``.

:func:`engine.ingest.capture.gunzip` takes a fast path for the common file (one gzip
member) and leaves everything else to the standard library. Whatever the bytes, its
result must be the standard library's, or both must fail (then with an
:class:`~engine.errors.IngestError` naming the file).
"""

from __future__ import annotations

import gzip
import struct
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from zlib_ng import zlib_ng

from engine.errors import IngestError
from engine.ingest import capture
from engine.ingest.capture import gunzip

BODY = b"".join(b'm{i="%d"} %d\n' % (i, i * 7) for i in range(2000))
A = gzip.compress(BODY)
B = gzip.compress(b"b 2\n")


def _with_header(flags: int, extra: bytes) -> bytes:
    """A member of BODY whose header carries optional fields."""
    raw = zlib.compress(BODY, 6)[2:-4]  # raw deflate data
    head = b"\x1f\x8b\x08" + bytes([flags]) + b"\0\0\0\0\0\xff" + extra
    return head + raw + struct.pack("<II", zlib.crc32(BODY), len(BODY))


CASES = {
    "one member": A,
    "empty member": gzip.compress(b""),
    "two members": A + B,
    "two equal members": A + A,  # same CRC and length as the first: must not lose one
    "zero padding": A + b"\0" * 8,
    "trailing garbage": A + b"xyz",
    "truncated": A[:-6],
    "truncated in the data": A[: len(A) // 2],
    "bad crc": A[:-8] + bytes([A[-8] ^ 1]) + A[-7:],
    "length field too small": A[:-4] + struct.pack("<I", 5),
    "length field too large": A[:-4] + struct.pack("<I", 10**6),
    "length field beyond any ratio": A[:-4] + struct.pack("<I", 2**32 - 1),
    "flipped data byte": A[:20] + bytes([A[20] ^ 0x55]) + A[21:],
    "FNAME": _with_header(8, b"name.prom\0"),
    "FEXTRA FCOMMENT FHCRC": _with_header(4 | 16 | 2, b"\x02\0ab" + b"note\0" + b"\0\0"),
    "reserved flag": _with_header(0x20, b""),
    "only a header": A[:10],
}


def _stdlib(raw: bytes):
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error):
        return None


@pytest.fixture(params=["one-stream decompressor", "decompressobj"])
def decompressor(request, monkeypatch) -> None:  # noqa: ANN001
    """Both zlib-ng decompressors gunzip may use."""
    if request.param == "decompressobj":
        monkeypatch.setattr(capture, "_decompressor", zlib_ng.decompressobj)


@pytest.mark.usefixtures("decompressor")
@pytest.mark.parametrize("name", list(CASES))
def test_same_answer_as_the_standard_library(name: str) -> None:
    raw = CASES[name]
    expected = _stdlib(raw)
    if expected is None:
        with pytest.raises(IngestError, match="corrupt gzip data") as e:
            gunzip(raw, "cap/t/1.prom.gz")
        assert "cap/t/1.prom.gz" in str(e.value)
    else:
        assert bytes(gunzip(raw)) == expected


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.binary(max_size=300), min_size=1, max_size=3),
    st.integers(0, 9),
    st.binary(max_size=4),
    st.data(),
)
def test_members_padding_and_damage(payloads, level, tail, data) -> None:
    raw = b"".join(gzip.compress(p * 20, compresslevel=level) for p in payloads) + tail
    if data.draw(st.booleans()):  # damage one byte
        i = data.draw(st.integers(0, len(raw) - 1))
        raw = raw[:i] + bytes([raw[i] ^ data.draw(st.integers(1, 255))]) + raw[i + 1 :]
    expected = _stdlib(raw)
    if expected is None:
        with pytest.raises(IngestError):
            gunzip(raw)
    else:
        assert bytes(gunzip(raw)) == expected
