"""Go's number syntax (engine.gostrconv) and Prometheus' label-float normalisation."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.gostrconv import parse_float as parse_go_float
from engine.gostrconv import unquote as go_unquote
from engine.ingest.gofloat import normalize_label_float, parse_sample_float
from engine.labels import format_go_float, format_label_float


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1", 1.0),
        ("-1.5e3", -1500.0),
        (".5", 0.5),
        ("5.", 5.0),
        ("+Inf", math.inf),
        ("inf", math.inf),
        ("-Infinity", -math.inf),
        ("0x1p-2", 0.25),
        ("0X1.8P1", 3.0),
        ("1_000", 1000.0),
        ("0x_1p0", 1.0),
        ("1e-400", 0.0),
    ],
)
def test_go_accepts(text: str, value: float) -> None:
    assert parse_go_float(text) == value


@pytest.mark.parametrize(
    "text",
    [
        "",
        "+nan",
        "-NaN",
        "1e",
        "0x1",
        "1__0",
        "_1",
        "1_",
        "infin",
        " 1",
        "1e400",
        "0x1p99999",
        "1.2.3",
        "٣",
    ],
)
def test_go_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_go_float(text)


def test_sample_floats_refuse_p_and_underscore() -> None:
    for text in ("1_0", "0x1p3"):
        with pytest.raises(ValueError, match="unsupported character"):
            parse_sample_float(text)
    assert math.isnan(parse_sample_float("NaN"))


@given(st.floats(allow_nan=False))
def test_normalisation_is_format_label_float_of_the_parsed_value(f: float) -> None:
    assert normalize_label_float(repr(f)) == format_label_float(f)
    assert normalize_label_float(format_label_float(f)) == format_label_float(f)


def test_format_label_float_zero_is_unsigned() -> None:
    # labels.FormatOpenMetricsFloat hardcodes f == 0 -> "0.0", true for -0 too
    assert format_label_float(-0.0) == "0.0" == format_label_float(0.0)
    assert format_go_float(-0.0) == "-0"


@pytest.mark.parametrize(
    ("body", "text"),
    [
        ("plain", "plain"),
        (r"a\"b", 'a"b'),
        (r"\\n", "\\n"),
        (r"\n\t\r", "\n\t\r"),
        (r"\x41", "A"),
        (r"\u00e9\U0001F600", "é😀"),
        (r"\101", "A"),
        (r"\xc3\xa9", "é"),
    ],
)
def test_go_unquote(body: str, text: str) -> None:
    assert go_unquote(body) == text


@pytest.mark.parametrize("body", [r"\q", "\\", r"\x4", r"\ud800", r"\xff"])
def test_go_unquote_rejects(body: str) -> None:
    with pytest.raises(ValueError):
        go_unquote(body)
