"""Alerting and recording rules over a capture: rule files, Go templates, replay exactly as
Prometheus 3.14's rule manager would have evaluated them, and ``promtool test rules``."""

from .load import load  # noqa: E402  (engine.rules.load is the function; the module is engine.rules.load too)
from .model import AlertingRule, Group, RecordingRule, RuleFileError, RuleSet  # noqa: E402

__all__ = ["AlertingRule", "Group", "RecordingRule", "RuleFileError", "RuleSet", "load"]
