"""Which instants a replay evaluates: the three ``--align`` modes.

- ``epoch`` (the default): each group at multiples of its own interval since the epoch
  (the group's ``interval:``, else the evaluation interval).
- ``promtool``: every group at ``start + k * evaluation_interval``, group intervals
  ignored, exactly as ``promtool test rules`` evaluates.
- ``server``: each group at ``k * interval + offset``, as a Prometheus server slots it
  (``rules/group.go``, ``Group.EvalTimestamp``): ``offset = hash % interval`` in
  nanoseconds, where ``hash`` is XXH64 of the label set ``{file=<path>, name=<group>}``
  (labels sorted by name, so ``file`` comes first) in the label encoding of the
  Prometheus version:

  - 3.x (``stringlabels``, the default build): each name and value preceded by its
    length, one byte for lengths 0-254, else ``0xff`` and 3 bytes little-endian;
  - 2.x: ``name 0xff value 0xff`` for each label.

  The path is the one the server loaded the file from (``--rule-file-path``), since it
  is part of the hash.

Groups that fall on the same instant run in file order, or in the order that
``--group-order`` (promtool's ``group_eval_order``) gives: listed groups take their
position in the list, unlisted ones rank as position 0 (promtool's partial order), ties
keep file order.

>>> slot_offset_ns("/etc/prometheus/rules.yml", "example", 60_000, version=3) < 60_000 * 10**6
True
>>> eval_times("epoch", 60_000, start_ms=90_000, end_ms=250_000).tolist()
[120000, 180000, 240000]
>>> eval_times("promtool", 60_000, start_ms=90_000, end_ms=250_000).tolist()
[90000, 150000, 210000]
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import xxhash

__all__ = [
    "ALIGNS",
    "encode_labels",
    "eval_times",
    "group_order_key",
    "slot_offset_ns",
]

#: The accepted ``--align`` values.
ALIGNS = ("epoch", "promtool", "server")

_NS_PER_MS = 1_000_000


def _size3(n: int) -> bytes:
    """A string length in Prometheus 3's ``stringlabels`` encoding."""
    if n < 255:
        return bytes([n])
    if n > 1 << 24:
        raise ValueError("label string too long to encode (more than 16 MiB)")
    return bytes([255, n & 0xFF, (n >> 8) & 0xFF, (n >> 16) & 0xFF])


def encode_labels(labels: dict[str, str], version: int = 3) -> bytes:
    """The bytes Prometheus hashes for ``labels.Hash()`` (labels sorted by name).

    >>> encode_labels({"name": "g", "file": "f.yml"}, 3)
    b'\\x04file\\x05f.yml\\x04name\\x01g'
    >>> encode_labels({"name": "g", "file": "f.yml"}, 2)
    b'file\\xfff.yml\\xffname\\xffg\\xff'
    """
    out = bytearray()
    for name in sorted(labels):
        n = name.encode("utf-8", "surrogateescape")
        v = labels[name].encode("utf-8", "surrogateescape")
        if version >= 3:
            out += _size3(len(n)) + n + _size3(len(v)) + v
        else:
            out += n + b"\xff" + v + b"\xff"
    return bytes(out)


def slot_offset_ns(file: str, name: str, interval_ms: int, version: int = 3) -> int:
    """A group's evaluation offset within its interval, in nanoseconds (``Group.hash() %
    interval``)."""
    if interval_ms <= 0:
        raise ValueError("the evaluation interval must be positive")
    h = xxhash.xxh64_intdigest(encode_labels({"file": file, "name": name}, version))
    return h % (interval_ms * _NS_PER_MS)


def eval_times(
    align: str,
    interval_ms: int,
    start_ms: int,
    end_ms: int,
    *,
    offset_ns: int = 0,
) -> np.ndarray:
    """Evaluation instants (ms) in ``[start_ms, end_ms]`` for one group.

    ``align="promtool"`` counts from ``start_ms``; ``"epoch"`` and ``"server"`` use the
    slots ``k * interval + offset`` (``offset_ns`` is 0 for ``epoch``). A server's
    evaluation timestamp has nanosecond precision; samples and ``activeAt`` use its
    millisecond truncation, which is what is returned.
    """
    if align not in ALIGNS:
        raise ValueError(f"unknown alignment {align!r} (expected one of {', '.join(ALIGNS)})")
    if interval_ms <= 0:
        raise ValueError("the evaluation interval must be positive")
    if end_ms < start_ms:
        return np.zeros(0, np.int64)
    if align == "promtool":
        return np.arange(start_ms, end_ms + 1, interval_ms, dtype=np.int64)
    step_ns = interval_ms * _NS_PER_MS
    off = offset_ns if align == "server" else 0
    lo_ns, hi_ns = start_ms * _NS_PER_MS, end_ms * _NS_PER_MS + (_NS_PER_MS - 1)
    k0 = -((off - lo_ns) // step_ns)  # ceil((lo - off) / step)
    k1 = (hi_ns - off) // step_ns
    if k1 < k0:
        return np.zeros(0, np.int64)
    ks = np.arange(k0, k1 + 1, dtype=np.int64)
    return ks * interval_ms + off // _NS_PER_MS


def group_order_key(names: Sequence[str], order: Sequence[str] | None) -> list[int]:
    """Positions that sort groups (given in file order) for evaluation at one instant.

    Unlisted groups rank as position 0, like promtool's ``group_eval_order`` (a map
    lookup that defaults to 0), so they share the first listed group's rank:

    >>> group_order_key(["a", "b", "c"], ["c", "b"])
    [0, 2, 1]
    """
    if not order:
        return list(range(len(names)))
    rank = {g: i for i, g in enumerate(order)}
    keyed = sorted(range(len(names)), key=lambda i: (rank.get(names[i], 0), i))
    pos = [0] * len(names)
    for p, i in enumerate(keyed):
        pos[i] = p
    return pos
