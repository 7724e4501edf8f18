"""Byte scanner for Prometheus text 0.0.4 and OpenMetrics 1.0 expositions.

Mirrors the lexers and ``Next()`` loops of prometheus/prometheus
``model/textparse/promlex.l`` + ``promparse.go`` (text) and ``openmetricslex.l`` +
``openmetricsparse.go`` (OpenMetrics), 3.x: the same tokens are accepted in the same
places, and the first malformed token stops the scan with an error code and its byte
offset, exactly where Prometheus' parser would return its error.

Per sample line the scanner writes the *series* bytes' cache slot, the value and the
optional timestamp. The series bytes (name plus ``{...}``, exactly the ``met`` bytes
Prometheus' scrape cache is keyed by) are looked up in an open-addressing hash table
whose keys live in a byte arena; a hit is confirmed by comparing the bytes, never by the
hash alone. Label text is therefore parsed (in Python) once per distinct series, not
once per line.

Numbers are parsed as Go's ``strconv.ParseFloat`` parses them
(:mod:`engine.kernels.floatscan`); the series cache is :mod:`engine.kernels.seriescache`.

Label values, quoted names and HELP text are checked for UTF-8 by the caller, once per
distinct series; they are only *delimited* here.

NUL bytes follow the lexers where it matters in practice: a NUL at the start of a text
line ends the body, as upstream's ``\\0 -> EOF`` rule does, and NULs inside label values,
HELP text and comments are kept. Upstream's lexer also skips NULs in a few other states
depending on how it reached them; those corners are not reproduced (a NUL there is a
parse error here).
"""

from __future__ import annotations

import numba as nb
import numpy as np

from .floatscan import F_SLOW, F_SYNTAX, parse_go_float, seconds_to_ms
from .seriescache import lookup, same_bytes

__all__ = [
    "MODE_TEXT",
    "MODE_OPENMETRICS",
    "MODE_DUMP",
    "FLAG_TS",
    "FLAG_DUP",
    "FLAG_EXEMPLAR",
    "SLOW_VALUE",
    "SLOW_TS",
    "SLOW_EX_VALUE",
    "SLOW_EX_TS",
    "ERROR_NAMES",
    "MTYPE_NAMES",
    "RES_FIELDS",
    "scan_exposition",
]

MODE_TEXT = 0  # text/plain; version=0.0.4
MODE_OPENMETRICS = 1  # application/openmetrics-text; version=1.0.0
MODE_DUMP = 2  # `promtool tsdb dump`: text syntax, name may come from __name__, signed ms ts

# per-sample flags
FLAG_TS = 1  # the line carries its own timestamp
FLAG_DUP = 2  # the same series bytes were already seen earlier in this scan
FLAG_EXEMPLAR = 4  # an exemplar follows the sample (OpenMetrics)

# kinds of entries in the slow-number list
SLOW_VALUE = 0
SLOW_TS = 1
SLOW_EX_VALUE = 2
SLOW_EX_TS = 3

#: metric types as the scanner tracks them (index = code)
MTYPE_NAMES = (
    "unknown",
    "counter",
    "gauge",
    "histogram",
    "summary",
    "gaugehistogram",
    "info",
    "stateset",
)

#: error codes (index = code) -> the phrase Prometheus' parser uses
ERROR_NAMES = (
    "",
    "expected a valid start token",  # 1
    "expected metric name after {kw}",  # 2
    "expected text in {kw}",  # 3
    "invalid metric type",  # 4
    "unit not a suffix of metric",  # 5
    "expected label name",  # 6
    "expected equal",  # 7
    "expected label value",  # 8
    "metric name already set",  # 9
    "metric name not set",  # 10
    "expected comma or brace close",  # 11
    "expected value after metric",  # 12
    "invalid syntax in float",  # 13
    "unsupported character in float",  # 14
    "expected timestamp or new record",  # 15
    "expected next entry after timestamp",  # 16
    "timestamp out of range",  # 17
    "data does not end with # EOF",  # 18
    "unexpected data after # EOF",  # 19
    "invalid timestamp",  # 20
    "expected value after exemplar labels",  # 21
    "expected timestamp or comment",  # 22
    "expected next entry after exemplar timestamp",  # 23
    "invalid exemplar timestamp",  # 24
    "linebreak expected after metadata",  # 25
)

#: fields of the ``res`` array filled by :func:`scan_exposition`
RES_FIELDS = (
    "n_samples",
    "n_meta",
    "n_ex",
    "n_slow",
    "err_code",
    "err_pos",
    "err_aux",
    "n_slots",
    "arena_used",
    # on an error: the failing line's slow numbers, as (flag, start, end) for its
    # value, timestamp, exemplar value and exemplar timestamp
    "pend_value",
    "pv_a",
    "pv_b",
    "pend_ts",
    "pt_a",
    "pt_b",
    "pend_ex_value",
    "pxv_a",
    "pxv_b",
    "pend_ex_ts",
    "pxt_a",
    "pxt_b",
)


# byte classes, looked up instead of called (one load per byte)
_C_M = 1  # [a-zA-Z_:]    metric name start
_C_MC = 2  # [a-zA-Z0-9_:] metric name
_C_L = 4  # [a-zA-Z_]     label name start
_C_LC = 8  # [a-zA-Z0-9_]  label name


def _classes() -> np.ndarray:
    t = np.zeros(256, np.uint8)
    for c in range(256):
        ch = chr(c)
        alpha = ch.isascii() and ch.isalpha()
        digit = ch.isascii() and ch.isdigit()
        if alpha or ch in "_:":
            t[c] |= _C_M
        if alpha or digit or ch in "_:":
            t[c] |= _C_MC
        if alpha or ch == "_":
            t[c] |= _C_L
        if alpha or digit or ch == "_":
            t[c] |= _C_LC
    return t


_CC = _classes()


@nb.njit(cache=True, inline="always")
def _quoted_end(buf, i, n, allow_nl, skip_nul):
    """End (exclusive) of the quoted string starting at ``buf[i] == '"'``, or -1.

    ``\\"(\\\\.|[^\\\\"])*\\"``: a backslash escapes any byte but NUL and newline; a raw
    newline is allowed when ``allow_nl``; NUL bytes are allowed (Prometheus' lexer
    skips them) only when ``skip_nul``.
    """
    j = i + 1
    while j < n:
        c = buf[j]
        if c == 34:
            return j + 1
        if c == 92:
            j += 1
            while skip_nul and j < n and buf[j] == 0:
                j += 1
            if j >= n:
                return -1
            d = buf[j]
            if d == 10 or d == 0:
                return -1
            j += 1
        elif c == 10:
            if not allow_nl:
                return -1
            j += 1
        elif c == 0:
            if not skip_nul:
                return -1
            j += 1
        else:
            j += 1
    return -1


_W_COUNTER = np.frombuffer(b"counter", np.uint8).copy()
_W_GAUGE = np.frombuffer(b"gauge", np.uint8).copy()
_W_HISTOGRAM = np.frombuffer(b"histogram", np.uint8).copy()
_W_SUMMARY = np.frombuffer(b"summary", np.uint8).copy()
_W_UNTYPED = np.frombuffer(b"untyped", np.uint8).copy()
_W_UNKNOWN = np.frombuffer(b"unknown", np.uint8).copy()
_W_GAUGEHIST = np.frombuffer(b"gaugehistogram", np.uint8).copy()
_W_INFO = np.frombuffer(b"info", np.uint8).copy()
_W_STATESET = np.frombuffer(b"stateset", np.uint8).copy()


@nb.njit(cache=True)
def _eq(buf, a, b, word):
    if b - a != len(word):
        return False
    for k in range(b - a):
        if buf[a + k] != word[k]:
            return False
    return True


@nb.njit(cache=True)
def _metric_type(buf, a, b, om):
    """Type code of the TYPE text ``buf[a:b]``, or -1 when it is not a known type."""
    if _eq(buf, a, b, _W_COUNTER):
        return 1
    if _eq(buf, a, b, _W_GAUGE):
        return 2
    if _eq(buf, a, b, _W_HISTOGRAM):
        return 3
    if _eq(buf, a, b, _W_SUMMARY):
        return 4
    if om:
        if _eq(buf, a, b, _W_UNKNOWN):
            return 0
        if _eq(buf, a, b, _W_GAUGEHIST):
            return 5
        if _eq(buf, a, b, _W_INFO):
            return 6
        if _eq(buf, a, b, _W_STATESET):
            return 7
    elif _eq(buf, a, b, _W_UNTYPED):
        return 0
    return -1


@nb.njit(cache=True, inline="always")
def _skip_ws(buf, i, n):
    while i < n and (buf[i] == 32 or buf[i] == 9):
        i += 1
    return i


@nb.njit(cache=True, inline="always")
def _token_end(buf, i, n, om):
    """End of a value/timestamp token: text ``[^{ \\t\\n\\0]+``, OpenMetrics ``[^ \\n\\0]+``."""
    while i < n:
        c = buf[i]
        if c == 32 or c == 10 or c == 0:
            break
        if not om and (c == 9 or c == 123):
            break
        i += 1
    return i


@nb.njit(cache=True)
def scan_exposition(
    buf, mode, mtype0, ht, slots, slot_hash, arena, st, S, S_val, M, X, X_val, W, res
):
    """Scan one exposition ``buf`` (uint8) and fill the output arrays.

    ``mode`` is :data:`MODE_TEXT`, :data:`MODE_OPENMETRICS` or :data:`MODE_DUMP`; a text
    buffer must end with a newline (Prometheus appends one). ``mtype0`` is the metric
    type in force at the start (normally 0).

    Cache state: ``ht`` (int64 hash table, power-of-two length, 0 = empty), ``slots``
    (int64 ``[cap, 5]``: arena offset, length, last scan id, slot that followed it last
    time, bit mask of the modes whose lexer accepted its bytes as a complete series
    ending in ``}``), ``slot_hash``, the byte ``arena`` and ``st = [n_slots, arena_used,
    scan_id, first_slot]`` (each scan takes the next scan id). The caller guarantees
    room for one new slot per line and ``len(buf)`` arena bytes, and a table at most
    half full afterwards. Expositions repeat their series in the same order, so the slot
    that followed the previous line's slot last time is tried first: when its bytes
    (validated before, in this mode) start the line, the line's series is read without
    validating or hashing them again; otherwise the series is lexed and looked up in the
    hash table.

    Outputs (few arguments keep numba's dispatch cheap):

    - ``S[i]`` (int64 ``[cap, 5]``) per sample: cache slot, own timestamp (ms, when
      ``FLAG_TS``), flags, metric type in force (the type Prometheus normalises
      ``le``/``quantile`` under), line start offset; ``S_val[i]`` its value;
    - ``M[k]`` (int64 ``[cap, 7]``) per HELP/TYPE/UNIT line: kind (0, 1, 2), line start,
      name start/end, text start/end, samples before it;
    - ``X[k]`` (int64 ``[cap, 5]``) per exemplar: sample, ``{...}`` start/end, timestamp,
      flags; ``X_val[k]`` its value;
    - ``W[k]`` (int64 ``[4 cap, 4]``) per number left to the slow path: sample or exemplar
      index, kind (``SLOW_*``), token start/end.

    ``res`` receives :data:`RES_FIELDS`. On the first malformed token the scan stops:
    ``err_code`` indexes :data:`ERROR_NAMES`, ``err_pos`` is the token's byte offset and
    the sample counts cover the lines before it.
    """
    slot_off = slots[:, 0]
    slot_len = slots[:, 1]
    slot_mark = slots[:, 2]
    slot_next = slots[:, 3]
    slot_modes = slots[:, 4]
    s_slot = S[:, 0]
    s_ts = S[:, 1]
    s_flags = S[:, 2]
    s_mtype = S[:, 3]
    s_pos = S[:, 4]
    s_val = S_val
    m_kind = M[:, 0]
    m_pos = M[:, 1]
    m_name_a = M[:, 2]
    m_name_b = M[:, 3]
    m_text_a = M[:, 4]
    m_text_b = M[:, 5]
    m_sample = M[:, 6]
    x_sample = X[:, 0]
    x_lab_a = X[:, 1]
    x_lab_b = X[:, 2]
    x_ts = X[:, 3]
    x_flags = X[:, 4]
    x_val = X_val
    w_entry = W[:, 0]
    w_kind = W[:, 1]
    w_a = W[:, 2]
    w_b = W[:, 3]
    n = len(buf)
    om = mode == MODE_OPENMETRICS
    dump = mode == MODE_DUMP
    scan_id = st[2] + 1  # a new scan: repeats are marked by this id
    st[2] = scan_id
    mtype = mtype0
    ns = 0
    nm = 0
    nx = 0
    nw = 0
    err = 0
    err_pos = 0
    err_aux = 0
    prev = -1
    i = 0
    # slow-path numbers of the current line (reported with an error on that line,
    # because Go would have parsed them, and possibly failed, before the error)
    slow_val = False
    slow_ts = False
    ex_slow_v = False
    ex_slow_t = False
    va = 0
    vb = 0
    tsa = 0
    tsb = 0
    exva = 0
    exvb = 0
    exta = 0
    extb = 0
    while True:
        # ---------------------------------------------------------------- line start
        line = i
        slow_val = False
        slow_ts = False
        ex_slow_v = False
        ex_slow_t = False
        if om:
            if i >= n:
                err = 18
                err_pos = i
                break
        else:
            i = _skip_ws(buf, i, n)
            if i >= n or buf[i] == 0:
                break  # end of input (a NUL at a token start ends it, as in Prometheus)
        c = buf[i]
        if not om and c == 10:
            i += 1
            continue
        if c == 35:  # '#'
            # ------------------------------------------------------------ comments, meta
            kind = -1
            if om:
                if i + 1 >= n or buf[i + 1] != 32:
                    err = 1
                    err_pos = i
                    break
                j = i + 2
                if j + 3 <= n and buf[j] == 69 and buf[j + 1] == 79 and buf[j + 2] == 70:
                    j += 3  # "EOF"
                    if j < n and buf[j] == 10:
                        j += 1
                    if j != n:
                        err = 19
                        err_pos = j
                    break
                if j + 5 <= n and buf[j + 4] == 32:
                    if buf[j] == 72 and buf[j + 1] == 69 and buf[j + 2] == 76 and buf[j + 3] == 80:
                        kind = 0
                    elif (
                        buf[j] == 84 and buf[j + 1] == 89 and buf[j + 2] == 80 and buf[j + 3] == 69
                    ):
                        kind = 1
                    elif (
                        buf[j] == 85 and buf[j + 1] == 78 and buf[j + 2] == 73 and buf[j + 3] == 84
                    ):
                        kind = 2
                if kind < 0:
                    err = 1
                    err_pos = i
                    break
                j += 5
            else:
                j = i + 1
                blank_after = j < n and (buf[j] == 32 or buf[j] == 9)
                if blank_after:
                    j = _skip_ws(buf, j, n)
                    if j + 4 < n and (buf[j + 4] == 32 or buf[j + 4] == 9):
                        if (
                            buf[j] == 72
                            and buf[j + 1] == 69
                            and buf[j + 2] == 76
                            and buf[j + 3] == 80
                        ):
                            kind = 0
                        elif (
                            buf[j] == 84
                            and buf[j + 1] == 89
                            and buf[j + 2] == 80
                            and buf[j + 3] == 69
                        ):
                            kind = 1
                if kind < 0:
                    # a plain comment, up to the newline; a NUL in a comment whose '#'
                    # is not followed by a blank ends the input (Prometheus' lexer)
                    k = i + 1
                    stop = False
                    while k < n and buf[k] != 10:
                        if buf[k] == 0 and not blank_after:
                            stop = True
                            break
                        k += 1
                    if stop:
                        break
                    i = k + 1
                    continue
                j = _skip_ws(buf, j + 5, n)
            # metric family name
            name_a = j
            name_b = j
            if j < n and buf[j] == 34:
                e = _quoted_end(buf, j, n, True, False)
                if e < 0:
                    err = 2
                    err_pos = j
                    err_aux = kind
                    break
                name_a = j + 1
                name_b = e - 1
                j = e
            elif j < n and (_CC[buf[j]] & _C_M):
                j += 1
                while j < n and (_CC[buf[j]] & _C_MC):
                    j += 1
                name_b = j
            else:
                err = 2
                err_pos = j
                err_aux = kind
                break
            # text
            if om:
                if j >= n or buf[j] != 32:
                    err = 3
                    err_pos = j
                    err_aux = kind
                    break
                k = j + 1
                while k < n and buf[k] != 10:
                    k += 1
                if k >= n:
                    err = 3
                    err_pos = j
                    err_aux = kind
                    break
                text_a = j + 1
                text_b = k
                i = k + 1
            else:
                k = j
                while k < n and buf[k] != 10:
                    k += 1
                # a token of blanks only is whitespace: the text is then empty
                blank = True
                for q in range(j, k):
                    if buf[q] != 32 and buf[q] != 9:
                        blank = False
                        break
                if blank or k - j <= 1:
                    text_a = k
                    text_b = k
                else:
                    text_a = j + 1
                    text_b = k
                i = k + 1
            if kind == 1:
                t = _metric_type(buf, text_a, text_b, om)
                if t < 0:
                    err = 4
                    err_pos = text_a
                    break
                mtype = t
            elif kind == 2 and text_b > text_a:
                u = text_b - text_a
                ok = name_b - name_a >= u + 1 and buf[name_b - u - 1] == 95
                if ok:
                    for q in range(u):
                        if buf[name_b - u + q] != buf[text_a + q]:
                            ok = False
                            break
                if not ok:
                    err = 5
                    err_pos = text_a
                    break
            m_kind[nm] = kind
            m_pos[nm] = line
            m_name_a[nm] = name_a
            m_name_b[nm] = name_b
            m_text_a[nm] = text_a
            m_text_b[nm] = text_b
            m_sample[nm] = ns
            nm += 1
            continue
        # ---------------------------------------------------------------- series
        # the series bytes start at the line start: Prometheus' text parser keeps the
        # leading blanks in ``p.series`` (and in the metric name)
        start = line
        # fast path: the series that followed the previous line's series last time,
        # byte for byte, ending in "}" and already read in this mode. The lexer reads
        # those bytes the same way again and stops at that "}", so they need no
        # second validation and no hash.
        hit = st[3] if prev < 0 else slot_next[prev]
        if hit >= 0 and (slot_modes[hit] >> mode) & 1:
            ln = slot_len[hit]
            if start + ln > n or not same_bytes(buf, start, start + ln, arena, slot_off[hit]):
                hit = -1
        else:
            hit = -1
        if hit >= 0:
            i = start + slot_len[hit]
            name_set = True
        else:
            name_set = False
            has_labels = False
            if _CC[c] & _C_M:
                i += 1
                while i < n and (_CC[buf[i]] & _C_MC):
                    i += 1
                name_set = True
                j = i if om else _skip_ws(buf, i, n)
                has_labels = j < n and buf[j] == 123
                if has_labels:
                    i = j
            elif c == 123:
                has_labels = True
            else:
                err = 1
                err_pos = i
                break
            if has_labels:
                i += 1  # '{'
                bad = False
                while True:
                    if not om:
                        i = _skip_ws(buf, i, n)
                    if i >= n:
                        err = 6
                        err_pos = i
                        bad = True
                        break
                    c = buf[i]
                    if c == 125:  # '}'
                        i += 1
                        break
                    tok = i
                    quoted = False
                    if c == 34:
                        e = _quoted_end(buf, i, n, True, False)
                        if e < 0:
                            err = 6
                            err_pos = i
                            bad = True
                            break
                        i = e
                        quoted = True
                    elif _CC[c] & _C_L:
                        i += 1
                        while i < n and (_CC[buf[i]] & _C_LC):
                            i += 1
                    else:
                        err = 6
                        err_pos = i
                        bad = True
                        break
                    if not om:
                        i = _skip_ws(buf, i, n)
                    c = buf[i] if i < n else 0
                    if (c == 44 or c == 125) and (quoted or om):
                        # a quoted string followed by ',' or '}' is the metric name
                        if name_set:
                            err = 9
                            err_pos = tok
                            bad = True
                            break
                        if not quoted and i - tok < 2:
                            err = 10
                            err_pos = tok
                            bad = True
                            break
                        name_set = True
                        i += 1
                        if c == 125:
                            break
                        continue
                    if c != 61:  # '='
                        err = 7
                        err_pos = i
                        bad = True
                        break
                    i += 1
                    if not om:
                        i = _skip_ws(buf, i, n)
                    if i >= n or buf[i] != 34:
                        err = 8
                        err_pos = i
                        bad = True
                        break
                    e = _quoted_end(buf, i, n, not om, True)
                    if e < 0:
                        err = 8
                        err_pos = i
                        bad = True
                        break
                    i = e
                    if om:
                        if i < n and buf[i] == 44:
                            i += 1
                        elif not (i < n and buf[i] == 125):
                            err = 11
                            err_pos = i
                            bad = True
                            break
                    else:
                        i = _skip_ws(buf, i, n)
                        if i < n and buf[i] == 44:
                            i += 1
                if bad:
                    break
        series_end = i
        if not name_set and not dump:
            err = 10
            err_pos = start
            break
        # value
        if om:
            if i >= n or buf[i] != 32:
                err = 12
                err_pos = i
                break
            va = i + 1
        else:
            va = _skip_ws(buf, i, n)
        vb = _token_end(buf, va, n, om)
        if vb == va:
            err = 12
            err_pos = va - 1 if om else va
            break
        fs, v = parse_go_float(buf, va, vb)
        if fs >= F_SYNTAX:
            err = 13 if fs == F_SYNTAX else 14
            err_pos = va
            break
        i = vb
        flags = 0
        ts = np.int64(0)
        slow_val = fs == F_SLOW
        ex_a = 0
        ex_b = 0
        ex_v = 0.0
        ex_t = np.int64(0)
        ex_f = 0
        late_err = 0  # OpenMetrics: the sample stands, then the *next* entry fails
        late_pos = 0
        if om:
            bad = False
            first = True  # right after the value (no timestamp read yet)
            while True:
                if i >= n:
                    err = 18 if first else 16
                    err_pos = i
                    bad = True
                    break
                c = buf[i]
                if c == 10:
                    i += 1
                    break
                is_ex = (
                    c == 32
                    and i + 3 < n
                    and buf[i + 1] == 35
                    and buf[i + 2] == 32
                    and buf[i + 3] == 123
                )
                if not is_ex:
                    if not first:
                        err = 16
                        err_pos = i
                        bad = True
                        break
                    tsa = i + 1
                    tsb = _token_end(buf, tsa, n, True) if c == 32 else tsa
                    if tsb == tsa or (
                        tsb == tsa + 1 and buf[tsa] == 35 and (tsb >= n or buf[tsb] == 32)
                    ):
                        # Go's lexer yields an invalid token here and the parser's
                        # switch has no default: the sample stands, the next entry fails
                        late_err = 18 if (c == 32 and tsa >= n) else 1
                        late_pos = tsa if c == 32 else i
                        break
                    fs4, tv = parse_go_float(buf, tsa, tsb)
                    if fs4 >= F_SYNTAX:
                        err = 13 if fs4 == F_SYNTAX else 14
                        err_pos = tsa
                        bad = True
                        break
                    if fs4 == F_SLOW:
                        slow_ts = True
                    elif tv != tv or tv == np.inf or tv == -np.inf:
                        err = 20
                        err_pos = tsa
                        bad = True
                        break
                    else:
                        ts = seconds_to_ms(tv)
                    flags |= FLAG_TS
                    first = False
                    i = tsb
                    continue
                # ---------------------------------------------------------- exemplar
                ex_a = i + 3
                k = i + 4
                while True:
                    if k >= n:
                        err = 6
                        err_pos = k
                        bad = True
                        break
                    c = buf[k]
                    if c == 125:
                        k += 1
                        break
                    if c == 34:
                        e = _quoted_end(buf, k, n, False, False)
                        if e < 0:
                            err = 6
                            err_pos = k
                            bad = True
                            break
                        k = e
                    elif _CC[c] & _C_L:
                        k += 1
                        while k < n and (_CC[buf[k]] & _C_LC):
                            k += 1
                    else:
                        err = 6
                        err_pos = k
                        bad = True
                        break
                    c = buf[k] if k < n else 0
                    if c == 44 or c == 125:
                        err = 6
                        err_pos = k
                        bad = True
                        break
                    if c != 61:
                        err = 7
                        err_pos = k
                        bad = True
                        break
                    k += 1
                    if k >= n or buf[k] != 34:
                        err = 8
                        err_pos = k
                        bad = True
                        break
                    e = _quoted_end(buf, k, n, False, False)
                    if e < 0:
                        err = 8
                        err_pos = k
                        bad = True
                        break
                    k = e
                    if k < n and buf[k] == 44:
                        k += 1
                    elif not (k < n and buf[k] == 125):
                        err = 11
                        err_pos = k
                        bad = True
                        break
                if bad:
                    break
                ex_b = k
                if k >= n or buf[k] != 32:
                    err = 21
                    err_pos = k
                    bad = True
                    break
                exva = k + 1
                exvb = _token_end(buf, exva, n, True)
                if exvb == exva:
                    err = 21
                    err_pos = k
                    bad = True
                    break
                fs2, ex_v = parse_go_float(buf, exva, exvb)
                if fs2 >= F_SYNTAX:
                    err = 13 if fs2 == F_SYNTAX else 14
                    err_pos = exva
                    bad = True
                    break
                ex_slow_v = fs2 == F_SLOW
                k = exvb
                if k >= n:
                    err = 18
                    err_pos = k
                    bad = True
                    break
                if buf[k] == 32:
                    exta = k + 1
                    extb = _token_end(buf, exta, n, True)
                    if extb == exta:
                        err = 22
                        err_pos = k
                        bad = True
                        break
                    fs3, tv = parse_go_float(buf, exta, extb)
                    if fs3 >= F_SYNTAX:
                        err = 13 if fs3 == F_SYNTAX else 14
                        err_pos = exta
                        bad = True
                        break
                    if fs3 == F_SLOW:
                        ex_slow_t = True
                    elif tv != tv or tv == np.inf or tv == -np.inf:
                        err = 24
                        err_pos = exta
                        bad = True
                        break
                    else:
                        ex_t = seconds_to_ms(tv)
                    ex_f = FLAG_TS
                    k = extb
                    if k >= n or buf[k] != 10:
                        err = 23
                        err_pos = k
                        bad = True
                        break
                elif buf[k] != 10:
                    err = 22
                    err_pos = k
                    bad = True
                    break
                i = k + 1
                flags |= FLAG_EXEMPLAR
                break
            if bad:
                break
        else:
            i = _skip_ws(buf, i, n)
            c = buf[i] if i < n else 0
            if c == 10:
                i += 1
            elif (48 <= c <= 57) or (dump and c == 45):
                tsa = i
                neg = c == 45
                if neg:
                    i += 1
                acc = np.int64(0)
                over = False
                nd = 0
                while i < n and 48 <= buf[i] <= 57:
                    d = np.int64(buf[i] - 48)
                    if acc > (9223372036854775807 - d) // 10:
                        over = True
                    else:
                        acc = acc * 10 + d
                    nd += 1
                    i += 1
                if nd == 0:
                    err = 15
                    err_pos = tsa
                    break
                if over:
                    err = 17
                    err_pos = tsa
                    break
                ts = -acc if neg else acc
                flags |= FLAG_TS
                i = _skip_ws(buf, i, n)
                if i >= n or buf[i] != 10:
                    err = 16
                    err_pos = i
                    break
                i += 1
            else:
                err = 15
                err_pos = i
                break
        # ---------------------------------------------------------------- record
        cand = st[3] if prev < 0 else slot_next[prev]
        if hit >= 0:
            s = hit
        elif (
            cand >= 0
            and slot_len[cand] == series_end - start
            and same_bytes(buf, start, series_end, arena, slot_off[cand])
        ):
            s = cand
        else:
            s = lookup(buf, start, series_end, ht, slot_off, slot_len, slot_hash, arena, st)
        if prev < 0:
            st[3] = s
        else:
            slot_next[prev] = s
        prev = s
        if slot_mark[s] == scan_id:
            flags |= FLAG_DUP
        slot_mark[s] = scan_id
        if buf[series_end - 1] == 125:  # "}": eligible for the fast path in this mode
            slot_modes[s] |= 1 << mode
        s_slot[ns] = s
        s_val[ns] = v
        s_ts[ns] = ts
        s_flags[ns] = flags
        s_mtype[ns] = mtype
        s_pos[ns] = line
        if slow_val:
            w_entry[nw] = ns
            w_kind[nw] = SLOW_VALUE
            w_a[nw] = va
            w_b[nw] = vb
            nw += 1
        if slow_ts:
            w_entry[nw] = ns
            w_kind[nw] = SLOW_TS
            w_a[nw] = tsa
            w_b[nw] = tsb
            nw += 1
        if flags & FLAG_EXEMPLAR:
            x_sample[nx] = ns
            x_lab_a[nx] = ex_a
            x_lab_b[nx] = ex_b
            x_val[nx] = ex_v
            x_ts[nx] = ex_t
            x_flags[nx] = ex_f
            if ex_slow_v:
                w_entry[nw] = nx
                w_kind[nw] = SLOW_EX_VALUE
                w_a[nw] = exva
                w_b[nw] = exvb
                nw += 1
            if ex_slow_t:
                w_entry[nw] = nx
                w_kind[nw] = SLOW_EX_TS
                w_a[nw] = exta
                w_b[nw] = extb
                nw += 1
            nx += 1
        ns += 1
        slow_val = False  # recorded: its slow numbers are in the w_* list now
        slow_ts = False
        ex_slow_v = False
        ex_slow_t = False
        if late_err:
            err = late_err
            err_pos = late_pos
            break
    res[0] = ns
    res[1] = nm
    res[2] = nx
    res[3] = nw
    res[4] = err
    res[5] = err_pos
    res[6] = err_aux
    res[7] = st[0]
    res[8] = st[1]
    if err != 0 and (slow_val or slow_ts or ex_slow_v or ex_slow_t):
        res[9] = 1 if slow_val else 0
        res[10] = va
        res[11] = vb
        res[12] = 1 if slow_ts else 0
        res[13] = tsa
        res[14] = tsb
        res[15] = 1 if ex_slow_v else 0
        res[16] = exva
        res[17] = exvb
        res[18] = 1 if ex_slow_t else 0
        res[19] = exta
        res[20] = extb
    else:
        res[9] = 0
        res[12] = 0
        res[15] = 0
        res[18] = 0
    return mtype
