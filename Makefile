# The two commands of the README: `make demo` and `make test`. Each sets up its own virtual
# environment in .venv (override with VENV=...), using python3 >= 3.11 (override with PYTHON=...).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test lint bench fuzz venv clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "imaging needs Python 3.11 or newer: run make PYTHON=python3.11 ...")'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test]"
	@touch $(STAMP)

demo: $(STAMP)
	$(PY) scripts/demo.py --out out

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

test: lint
	$(PY) -m pytest -q

bench: $(STAMP)
	$(PY) -m pip install --quiet -e ".[bench]"
	$(PY) -m pytest benchmarks -q --benchmark-columns=min,median,mean,rounds

FUZZ_SECONDS ?= 600
fuzz: $(STAMP)
	$(PY) -m pip install --quiet atheris
	@for target in fuzz/fuzz_*.py; do \
	  echo "== $$target for $(FUZZ_SECONDS) s"; \
	  corpus=fuzz/corpus/$$(basename $$target .py | sed 's/^fuzz_//'); mkdir -p $$corpus; \
	  $(PY) $$target -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=3072 -timeout=10 \
	    -artifact_prefix=fuzz/ $$corpus || exit 1; \
	done

clean:
	rm -rf $(VENV) out build *.egg-info .pytest_cache .ruff_cache
