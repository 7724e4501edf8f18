"""Error and warning types of promreplay.

Every error a user can provoke with bad input is one of these. PromQL errors keep
Prometheus' own message text, so that a message seen here can be searched for in
Prometheus' documentation and issues.

>>> try:
...     raise ParseError("unexpected end of input", position=7, expr="sum(foo")
... except PromReplayError as e:
...     print(e)
1:8: parse error: unexpected end of input
"""

from __future__ import annotations

__all__ = [
    "PromReplayError",
    "IngestError",
    "StoreError",
    "ParseError",
    "QueryError",
    "TooManySamplesError",
]


class PromReplayError(Exception):
    """Base class of every error promreplay raises on bad input."""


class IngestError(PromReplayError):
    """Malformed or unreadable capture data.

    ``file``, ``line`` and ``column`` (1-based) locate the problem when they are known.
    The message reads ``FILE:LINE:COLUMN: reason``.
    """

    def __init__(
        self,
        reason: str,
        file: str | None = None,
        line: int | None = None,
        column: int | None = None,
    ) -> None:
        self.reason = reason
        self.file = file
        self.line = line
        self.column = column
        where = ":".join(str(p) for p in (file, line, column) if p is not None)
        super().__init__(f"{where}: {reason}" if where else reason)


class StoreError(PromReplayError):
    """A saved store that cannot be read: damaged, truncated or of an unknown version."""


class ParseError(PromReplayError):
    """A PromQL syntax or type error, with Prometheus' message text.

    ``position`` is the 0-based character offset in ``expr``. ``str(err)`` reads like
    Prometheus' ``1:8: parse error: ...``; ``err.message`` is the bare message.
    """

    def __init__(self, message: str, position: int = 0, expr: str = "") -> None:
        self.message = message
        self.position = position
        self.expr = expr
        line, col = line_col(expr, position)
        super().__init__(f"{line}:{col}: parse error: {message}")


class QueryError(PromReplayError):
    """An error raised while evaluating a query, with Prometheus' message text."""


class TooManySamplesError(QueryError):
    """The query would hold more samples in memory than ``max_samples`` allows."""

    def __init__(self) -> None:
        super().__init__(
            "query processing would load too many samples into memory in query execution"
        )


def line_col(text: str, position: int) -> tuple[int, int]:
    """1-based (line, column) of a 0-based character offset, as Prometheus reports them.

    Prometheus counts columns in UTF-8 bytes (``PositionRange.StartPosInput``), so a
    multi-byte character before the position moves the column by its byte length.

    >>> line_col("a\\nbc", 3), line_col('x{a="é"} + y', 11)
    ((2, 2), (1, 13))
    """
    position = max(0, min(position, len(text)))
    line = text.count("\n", 0, position) + 1
    start = text.rfind("\n", 0, position) + 1
    col = len(text[start:position].encode("utf-8", "surrogateescape")) + 1
    return line, col
