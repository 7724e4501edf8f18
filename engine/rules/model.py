"""Rule groups as Prometheus 3.14 loads them: the data model of a rule file.

A :class:`RuleSet` holds :class:`Group` objects in load order (files in the order given,
groups in file order). Each group holds its rules in file order, as
:class:`RecordingRule` or :class:`AlertingRule`. Durations are integer milliseconds,
parsed with Prometheus' duration syntax (``model.ParseDuration``).

A group remembers the path of its file (``Group.file``): Prometheus identifies a group
by ``(file, name)``, and a server slots its evaluations by a hash of both. Rules keep
their 0-based position in the group (``index``); error messages count from 1, as
``promtool`` does.

>>> from engine.rules import load
>>> rs = load("tests/rules/data/example.yml")          # doctest: +SKIP
>>> [(g.name, [r.name for r in g.rules]) for g in rs.groups]   # doctest: +SKIP
[('example', ['job:up:sum', 'InstanceDown'])]
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import PromReplayError
from ..promql.nodes import Expr

__all__ = [
    "AlertingRule",
    "Group",
    "RecordingRule",
    "Rule",
    "RuleFileError",
    "RuleSet",
]


class RuleFileError(PromReplayError):
    """A rule file that Prometheus would refuse to load.

    ``errors`` holds one line per problem, each in the words ``promtool check rules``
    prints, already prefixed with the file (and, for rule problems, with the YAML
    position, group name and 1-based rule index)::

        rules.yml: 7:15: group "g", rule 1, "x": could not parse expression: 1:7: parse error: ...

    ``str(err)`` is all of them, one per line. ``file`` is the first file in error.
    """

    def __init__(self, errors: list[str], file: str | None = None) -> None:
        self.errors = list(errors)
        self.file = file
        super().__init__("\n".join(self.errors))


@dataclass(frozen=True)
class RecordingRule:
    """``record:`` rule. ``labels`` are the rule's own labels (no templating)."""

    record: str
    expr: str
    node: Expr = field(repr=False, compare=False)
    labels: dict[str, str]
    index: int

    @property
    def name(self) -> str:
        """The record name, as Prometheus' ``Rule.Name()``."""
        return self.record

    def __hash__(self) -> int:
        return hash(("record", self.record, self.expr, self.index))


@dataclass(frozen=True)
class AlertingRule:
    """``alert:`` rule. ``labels`` and ``annotations`` hold raw Go templates."""

    alert: str
    expr: str
    node: Expr = field(repr=False, compare=False)
    for_ms: int
    keep_firing_for_ms: int
    labels: dict[str, str]
    annotations: dict[str, str]
    index: int

    @property
    def name(self) -> str:
        """The alert name, as Prometheus' ``Rule.Name()``."""
        return self.alert

    def __hash__(self) -> int:
        return hash(("alert", self.alert, self.expr, self.index))


Rule = RecordingRule | AlertingRule


@dataclass(frozen=True)
class Group:
    """One rule group.

    - ``file``: the path the group was loaded from (as given, or as a directory/glob
      expanded it), or ``rule_file_path`` when :func:`~engine.rules.load` was given one;
    - ``interval_ms``: the group's ``interval:``, ``None`` when unset (the evaluation
      interval applies);
    - ``limit``: ``limit:`` (0 = no limit);
    - ``query_offset_ms``: the group's ``query_offset:``, ``None`` when unset (the global
      query offset applies);
    - ``labels``: the group's ``labels:`` (3.x), added to every rule's output under the
      rule's own labels.
    """

    name: str
    file: str
    interval_ms: int | None
    limit: int
    query_offset_ms: int | None
    labels: dict[str, str]
    rules: tuple[Rule, ...]

    def __hash__(self) -> int:
        return hash((self.file, self.name))

    @property
    def alerting_rules(self) -> tuple[AlertingRule, ...]:
        return tuple(r for r in self.rules if isinstance(r, AlertingRule))

    @property
    def recording_rules(self) -> tuple[RecordingRule, ...]:
        return tuple(r for r in self.rules if isinstance(r, RecordingRule))


@dataclass
class RuleSet:
    """The groups of one or more rule files, in load order."""

    groups: list[Group]

    @property
    def rules(self) -> list[Rule]:
        """Every rule of every group, in evaluation order."""
        return [r for g in self.groups for r in g.rules]

    def group(self, name: str, file: str | None = None) -> Group:
        """The group called ``name`` (in ``file`` when several files define one)."""
        found = [g for g in self.groups if g.name == name and (file is None or g.file == file)]
        if not found:
            raise KeyError(f"no rule group {name!r}")
        if len(found) > 1:
            raise KeyError(f"rule group {name!r} is defined in several files; give file=")
        return found[0]

    def replay(self, *args: Any, **kwargs: Any) -> Any:
        """Replay the rules over a store: see :func:`engine.rules.replay.replay`."""
        from .replay import replay  # type: ignore[attr-defined]

        return replay(self, *args, **kwargs)

    def sweep(self, *args: Any, **kwargs: Any) -> Any:
        """Sweep one alert's threshold, ``for`` and ``keep_firing_for`` over a store
        (``sweep(db, alert=..., thresholds=[...], fors=[...], start=..., end=...)``):
        see :func:`engine.rules.sweep.sweep`."""
        from .sweep import sweep

        return sweep(self, *args, **kwargs)
