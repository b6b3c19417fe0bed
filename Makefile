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
	@# the peers pull the full opencv-python, whose cv2 would shadow the headless OpenCV 5
	$(PY) -m pip uninstall --quiet --yes opencv-python
	$(PY) -m pip install --quiet --force-reinstall --no-deps "opencv-python-headless>=5.0"
	$(PY) -m pytest benchmarks -q --benchmark-columns=min,median,mean,rounds

FUZZ_SECONDS ?= 600
FUZZ_TARGETS ?= imread tiff dicom rjpeg seq
# Each target runs FUZZ_SECONDS; its log (inputs tried, coverage, peak memory) goes to
# fuzz/logs/, a finding to fuzz/crash-* (make it a case in tests/hostile/regressions/).
fuzz: $(STAMP)
	$(PY) -m pip install --quiet atheris
	@mkdir -p fuzz/logs
	@for target in $(FUZZ_TARGETS); do \
	  echo "== fuzz/fuzz_$$target.py for $(FUZZ_SECONDS) s"; \
	  $(PY) fuzz/fuzz_$$target.py -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=3072 \
	    -timeout=10 -print_final_stats=1 -artifact_prefix=fuzz/ 2> fuzz/logs/$$target.log; \
	  status=$$?; tail -n 12 fuzz/logs/$$target.log; [ $$status -eq 0 ] || exit $$status; \
	done

clean:
	rm -rf $(VENV) out build *.egg-info .pytest_cache .ruff_cache
