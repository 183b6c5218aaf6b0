# Two commands on a fresh machine:  make report   (the main job)   and   make test.
# Each runs `setup` first, which creates .venv when missing and installs everything.
VENV       ?= .venv
PY         := $(VENV)/bin/python
PYTHON     ?= python3
# The CPU build lies on this machine's disk; CUDA users override, e.g.
#   make setup TORCH_SPEC="torch==2.13.0 --index-url <your CUDA wheel index>"
TORCH_SPEC ?= torch==2.13.0
STAMP      := $(VENV)/.toolkit-installed
# Embedding/model cache of the make targets: inside the checkout, so a fresh clone (and CI)
# starts from an empty cache and `rm -rf .cache` resets it. Override to share one.
export TOOLKIT_CACHE_DIR ?= $(CURDIR)/.cache/toolkit

.PHONY: setup report notebooks test lint unit nb lab bench clean-cache

setup: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet $(TORCH_SPEC)
	$(PY) -m pip install --quiet -e ".[dev]"
	@touch $@

# Your own model/data without editing the notebooks: P passes papermill-style parameters, e.g.
#   make report P="-p MODEL=ai-forever/sbert_large_nlu_ru -p DATA=path/"
#   make report P="--parameters-file params.yaml -p SEED=1"   (YAML/JSON NAME: value; -p wins)
# (a name no notebook declares is an error; one only some declare goes to those only).
report: setup
	$(PY) -m toolkit report $(P)

# Restart-and-run-all of the committed notebooks, outputs written back (byte-stable).
notebooks: setup
	$(PY) -m toolkit execute notebooks/[0-9][0-9]_*.ipynb

lint: setup
	$(PY) -m ruff check toolkit tests benchmarks

# pytest exits 5 when it collected no test: that is a failure here, never a pass.
unit: setup
	$(PY) -m pytest tests; rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "pytest collected no tests" >&2; exit 1; fi; exit $$rc

nb: setup
	@if ls notebooks/*.ipynb >/dev/null 2>&1; then \
	  $(PY) -m pytest --nbval --nbval-current-env \
	    --nbval-sanitize-with notebooks/sanitize.cfg -p no:cacheprovider notebooks; \
	else echo "no notebooks yet"; fi

test: lint unit nb

lab: setup
	$(VENV)/bin/jupyter lab notebooks

bench: setup
	@for f in benchmarks/bench_*.py; do echo "== $$f"; $(PY) $$f || exit 1; done

clean-cache: setup
	$(PY) -m toolkit cache clear
