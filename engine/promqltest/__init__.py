"""A runner for Prometheus' PromQL conformance scripts (the promqltest DSL).

The language is described in ``promqltest/DSL.md`` of the shared data folder: ``load``
blocks put series into a fresh store, ``eval`` blocks run a query and say what must come
back, ``clear`` empties the store. This package parses those files and runs them
against a :class:`~engine.promqltest.engines.QueryEngine`, by default
:class:`~engine.promqltest.engines.PrometheusEngine` (our evaluator, configured as
upstream's test engine). Modules, in the order data flows through them:

- :mod:`.notation`   series lines: labels, value sequences, ``{{...}}`` histograms, ``@st``
- :mod:`.script`     a file -> ``LoadCmd`` / ``ClearCmd`` / ``EvalCmd``
- :mod:`.storage`    load commands -> a :class:`~engine.store.Store`
- :mod:`.checks`     one query outcome against an eval block
- :mod:`.invariance` the ``@``-modifier rewrite of the extra checks
- :mod:`.runner`     commands in order -> one :class:`EvalRecord` per eval
- :mod:`.engines`    the engine interface, and our evaluator configured as upstream's
- :mod:`.manifest`   tiers of the upstream corpus; :mod:`.report` output

>>> from engine.promqltest import parse_script
>>> [c.line for c in parse_script("load 1m\\n  x 1\\n\\neval instant at 0 x\\n  x 1\\n").evals]
[4]
"""

from .engines import PrometheusEngine, QueryEngine, error_text
from .manifest import Manifest, TierFilter
from .runner import EvalRecord, RunnerOptions, run_file, run_script
from .script import Script, ScriptError, parse_script

__all__ = [
    "EvalRecord",
    "Manifest",
    "PrometheusEngine",
    "QueryEngine",
    "RunnerOptions",
    "Script",
    "ScriptError",
    "TierFilter",
    "error_text",
    "parse_script",
    "run_file",
    "run_script",
]
