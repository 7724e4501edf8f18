"""Alerting and recording rules over a capture: rule files, Go templates, replay exactly as
Prometheus 3.14's rule manager would have evaluated them, and ``promtool test rules``."""
