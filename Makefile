# The two commands the README opens with: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip install --disable-pip-version-check -q
DEMO   ?= fixtures/demo-capture

.PHONY: demo test bench bench-compare lint clean fixtures

# compileall: an editable install leaves no bytecode, and with PYTHONDONTWRITEBYTECODE set
# every process would compile engine/ again (about 0.25 s of each command's start-up)
$(VENV)/.ok-runtime: setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) -e '.[plot]'
	$(PY) -m compileall -q engine
	touch $@

$(VENV)/.ok-test: setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) -e '.[test]'
	$(PY) -m compileall -q engine
	touch $@ $(VENV)/.ok-runtime

demo: $(VENV)/.ok-runtime
	$(VENV)/bin/promreplay demo $(DEMO)

# regenerate the bundled demo capture (deterministic: same bytes every time)
fixtures: $(VENV)/.ok-runtime
	rm -rf fixtures/demo-capture.new
	$(PY) fixtures/generate.py --preset demo fixtures/demo-capture.new
	rm -rf fixtures/demo-capture && mv fixtures/demo-capture.new fixtures/demo-capture

test: $(VENV)/.ok-test
	$(PY) -m pytest -q -n 2

bench: $(VENV)/.ok-test
	$(PY) -m pytest benchmarks --benchmark-enable -q

# promreplay vs Prometheus vs VictoriaMetrics on the medium mesh (about 15 min; needs Debian's
# prometheus and victoria-metrics packages). Quick run: make bench-compare COMPARE="--hours 1"
bench-compare: $(VENV)/.ok-test
	$(PY) benchmarks/compare.py $(COMPARE)

lint: $(VENV)/.ok-test
	$(PY) -m ruff check engine tests benchmarks fixtures

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis .benchmarks
