"""Running test scripts: commands in file order, one :class:`EvalRecord` per eval.

Each eval is checked as upstream's runner checks it (DSL.md §5), then, for instant
evals, with the two extra checks of §7 (both on by default, switchable in
:class:`RunnerOptions`):

* **range mode**: unless the eval expects failure, a string or a range vector, or its
  text calls ``start()``/``end()``/``range()``/``step()``, the expression also runs as a
  range query from t-1m to t+1m, step 1m; that must succeed and be sorted, and its
  points at t must meet the same expectations (ordered evals stop after it succeeds);
* **@-modifier invariance**: see :mod:`engine.promqltest.invariance`; every rewritten
  query must meet all expectations again, the range-mode check included.

A load that the storage rejects stops the file, as upstream: it is recorded as a failed
``load`` record, and the evals after it as failed ("not run"). An eval whose expression
does not parse fails on its own (upstream fails the whole file). An exception other
than a query error (``ParseError``/``QueryError``) is an engine bug: the eval fails with
its type and where it was raised.
"""

from __future__ import annotations

import re
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import PromReplayError
from .checks import (
    Mismatch,
    check_annotations,
    check_error,
    check_result,
    check_scalar,
    check_sorted,
    check_vector,
    describe_result,
    points_at,
    series_of,
)
from .engines import QueryEngine, error_text
from .invariance import at_modifier_cases
from .script import ClearCmd, EvalCmd, LoadCmd, Script, ScriptError, parse_script
from .storage import LoadError, TestStorage

if TYPE_CHECKING:
    from ..promql.nodes import Expr
    from ..result import Result
    from ..store import Store

__all__ = ["EvalRecord", "RunnerOptions", "Selector", "run_file", "run_script"]

#: Functions whose value depends on the query's range; such evals skip range mode.
_QUERY_CONTEXT_FUNCS = re.compile(r"(start|end|range|step)\(\)")
_MINUTE = 60_000

#: Decides per eval whether to run it: returns a skip reason, or ``None`` to run it.
Selector = Callable[[str, EvalCmd], "str | None"]


@dataclass(frozen=True)
class RunnerOptions:
    """Switches for the extra checks of DSL.md §7 (on by default, as upstream)."""

    range_check: bool = True
    at_check: bool = True


@dataclass(frozen=True)
class EvalRecord:
    """The outcome of one eval (or of a failed ``load``, with ``expr`` ``"load"``).

    ``line`` is the line of the eval header; ``status`` is ``pass``, ``fail`` or ``skip``.
    """

    file: str
    line: int
    expr: str
    status: str
    message: str = ""

    def as_json(self) -> dict[str, object]:
        return {
            "file": self.file,
            "line": self.line,
            "expr": self.expr,
            "status": self.status,
            "message": self.message,
        }


def run_file(
    path: str | Path,
    engine: QueryEngine,
    options: RunnerOptions = RunnerOptions(),
    select: Selector | None = None,
    name: str | None = None,
) -> list[EvalRecord]:
    """Parse and run one file. ``name`` is how records name it (default: ``path``).

    A file that does not parse gives one failed record at the offending line.
    """
    name = str(path) if name is None else name
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        return [EvalRecord(name, 0, "", "fail", f"cannot read the file: {e}")]
    try:
        script = parse_script(text, name)
    except ScriptError as e:
        return [EvalRecord(name, e.line or 0, "", "fail", f"the file does not parse: {e.reason}")]
    return run_script(script, engine, options, select)


def run_script(
    script: Script,
    engine: QueryEngine,
    options: RunnerOptions = RunnerOptions(),
    select: Selector | None = None,
) -> list[EvalRecord]:
    """Run the commands of ``script`` in order; one record per eval (see module doc)."""
    storage = TestStorage()
    records: list[EvalRecord] = []
    stopped: str | None = None
    for cmd in script.commands:
        if isinstance(cmd, ClearCmd):
            storage.clear()
        elif isinstance(cmd, LoadCmd):
            if stopped is not None:
                continue
            try:
                storage.load(cmd)
            except LoadError as e:
                stopped = f"the load at line {cmd.line} failed"
                records.append(
                    EvalRecord(script.file, cmd.line, "load", "fail", f"load failed: {e}")
                )
        else:
            reason = select(script.file, cmd) if select is not None else None
            if reason is not None:
                records.append(EvalRecord(script.file, cmd.line, cmd.expr, "skip", reason))
            elif stopped is not None:
                records.append(
                    EvalRecord(script.file, cmd.line, cmd.expr, "fail", f"not run: {stopped}")
                )
            else:
                records.append(_EvalRun(engine, options, storage.store, cmd).record(script.file))
    return records


class _EvalRun:
    """One eval against one store."""

    def __init__(
        self, engine: QueryEngine, options: RunnerOptions, store: Store, cmd: EvalCmd
    ) -> None:
        self.engine = engine
        self.options = options
        self.store = store
        self.cmd = cmd

    def record(self, file: str) -> EvalRecord:
        cmd = self.cmd
        try:
            node = self.engine.parse(cmd.expr)
        except PromReplayError as e:
            return EvalRecord(
                file, cmd.line, cmd.expr, "fail", f"the expression does not parse: {e}"
            )
        except Exception as e:  # noqa: BLE001 - an engine bug must not stop the run
            return EvalRecord(file, cmd.line, cmd.expr, "fail", _internal(e, "parsing"))
        try:
            if cmd.kind == "range":
                self.run_range(node)
            else:
                self.run_instant(node)
        except Mismatch as m:
            return EvalRecord(file, cmd.line, cmd.expr, "fail", m.text())
        except Exception as e:  # noqa: BLE001
            return EvalRecord(file, cmd.line, cmd.expr, "fail", _internal(e, "evaluation"))
        return EvalRecord(file, cmd.line, cmd.expr, "pass")

    # ---- queries -----------------------------------------------------------------------------
    def _instant(self, node: Expr, t: int) -> Result | PromReplayError:
        try:
            return self.engine.instant(self.store, node, t, text=self.cmd.expr)
        except PromReplayError as e:
            return e

    def _range(self, node: Expr, start: int, end: int, step: int) -> Result | PromReplayError:
        try:
            return self.engine.range(self.store, node, start, end, step, text=self.cmd.expr)
        except PromReplayError as e:
            return e

    def _check_outcome(self, res: Result | PromReplayError) -> Result | None:
        """Error and annotation checks; the result when its value is to be checked."""
        cmd = self.cmd
        if isinstance(res, PromReplayError):
            check_error(cmd, error_text(res))
            return None
        if cmd.fails:
            raise Mismatch(
                "expected the query to fail, but it succeeded",
                expected=cmd.describe_expected(),
                got=describe_result(res),
            )
        check_annotations(cmd, res)
        check_result(cmd, res)
        return res

    # ---- eval kinds ----------------------------------------------------------------------------
    def run_range(self, node: Expr) -> None:
        cmd = self.cmd
        assert cmd.end_ms is not None
        self._check_outcome(self._range(node, cmd.start_ms, cmd.end_ms, cmd.step_ms))

    def run_instant(self, node: Expr) -> None:
        cmd = self.cmd
        self.run_instant_once(node, cmd.time_ms, cmd.expr)
        if not self.options.at_check:
            return
        for pinned, t in at_modifier_cases(node, cmd.time_ms):
            try:
                self.run_instant_once(pinned, t, str(pinned))
            except Mismatch as m:
                raise m.prefixed(f"@-modifier check ({pinned} evaluated at t={t}ms)") from None

    def run_instant_once(self, node: Expr, t: int, printed: str) -> None:
        cmd = self.cmd
        res = self._check_outcome(self._instant(node, t))
        if res is None or cmd.exclude_from_range_query or not self.options.range_check:
            return
        if _QUERY_CONTEXT_FUNCS.search(printed):
            return
        rres = self._range(node, t - _MINUTE, t + _MINUTE, _MINUTE)
        if isinstance(rres, PromReplayError):
            raise Mismatch(
                "range-mode check: the range query failed", got=f"error: {error_text(rres)}"
            )
        if cmd.ordered:
            return
        if rres.type != "matrix":
            raise Mismatch(f"range-mode check: a range query returned a {rres.type}")
        series = series_of(rres)
        try:
            check_sorted(series)
            points = points_at(series, t)
            if res.type == "scalar":
                if not points or not points[0].floats:
                    raise Mismatch(
                        "no point at the evaluation time",
                        expected=cmd.describe_expected(),
                        got=describe_result(rres),
                    )
                check_scalar(cmd, points[0].floats[0])
            else:
                check_vector(cmd, points)
        except Mismatch as m:
            raise m.prefixed(
                f"range-mode check (t-1m to t+1m, step 1m; points at t={t}ms)"
            ) from None


def _internal(e: Exception, during: str) -> str:
    frames = traceback.extract_tb(e.__traceback__)
    where = f" at {Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else ""
    return f"internal error during {during}: {type(e).__name__}: {e}{where}"
