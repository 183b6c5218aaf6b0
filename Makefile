# Two commands on a fresh machine:  make report   (the main job)   and   make test.
# Each runs `setup` first, which creates .venv when missing and installs everything.
VENV       ?= .venv
PY         := $(VENV)/bin/python
PYTHON     ?= python3
# The CPU build lies on this machine's disk; CUDA users override, e.g.
#   make setup TORCH_SPEC="torch==2.13.0 --index-url <your CUDA wheel index>"
TORCH_SPEC ?= torch==2.13.0
STAMP      := $(VENV)/.toolkit-installed
# Every other package of the environment, at the exact version (and hashes) the committed
# notebook outputs were made with; `make lock` regenerates it from pyproject.toml's ranges.
LOCK       := requirements-lock.txt
UV_VERSION := 0.13.8
UV         := $(VENV)/bin/uv
# Where `make lock` finds torch's CPU wheel (its dependencies are locked, torch itself is
# TORCH_SPEC above). On a machine that has the wheel on disk: TORCH_WHEELS="--find-links DIR".
TORCH_WHEELS ?= --extra-index-url https://download.pytorch.org/whl/cpu
TORCH_LOCKED ?= torch==2.13.0+cpu
# `make lock` keeps every pin it can; LOCK_FLAGS="--upgrade-package NAME" (or "--upgrade") moves them.
LOCK_FLAGS ?=
# Embedding/model cache of the make targets: inside the checkout, so a fresh clone (and CI)
# starts from an empty cache and `rm -rf .cache` resets it. Override to share one.
export TOOLKIT_CACHE_DIR ?= $(CURDIR)/.cache/toolkit

.PHONY: setup lock report notebooks test lint unit nb lab bench clean-cache

setup: $(STAMP)

# torch first (pip, so TORCH_SPEC may name a CUDA index), then exactly the lock (hash-checked,
# no dependency resolution: nothing outside the lock gets in), then the toolkit itself.
$(STAMP): pyproject.toml $(LOCK)
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet uv==$(UV_VERSION)
	$(PY) -m pip install --quiet $(TORCH_SPEC)
	$(UV) pip install --quiet --python $(PY) --no-deps --require-hashes -r $(LOCK)
	$(UV) pip install --quiet --python $(PY) --no-deps -e .
	$(UV) pip check --python $(PY)
	@touch $@

# Upgrading a dependency: edit its range in pyproject.toml (and environment.yml) if needed,
# `make lock`, `make notebooks`, check `git diff notebooks/` reads the same, commit all three.
lock:
	@test -x $(UV) || { test -x $(PY) || $(PYTHON) -m venv $(VENV); $(PY) -m pip install --quiet uv==$(UV_VERSION); }
	echo "$(TORCH_LOCKED)" > $(VENV)/torch-constraint.txt
	$(UV) pip compile pyproject.toml --extra dev --generate-hashes \
	  --python-version 3.11 --python-platform x86_64-manylinux_2_28 \
	  --no-emit-package torch -c $(VENV)/torch-constraint.txt $(TORCH_WHEELS) $(LOCK_FLAGS) \
	  --custom-compile-command "make lock" -o $(LOCK)

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
	$(PY) -m pytest --durations=15 tests; rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "pytest collected no tests" >&2; exit 1; fi; exit $$rc

nb: setup
	@if ls notebooks/*.ipynb >/dev/null 2>&1; then \
	  $(PY) -m pytest --nbval --nbval-current-env \
	    --nbval-sanitize-with notebooks/sanitize.cfg -p no:cacheprovider notebooks; \
	else echo "no notebooks yet"; fi

# nbval is `make nb`; `make test` executes each notebook once per plan and checks it the same
# way (tests/test_notebooks.py), so it does not execute them a third time.
test: lint unit

lab: setup
	$(VENV)/bin/jupyter lab notebooks

bench: setup
	@for f in benchmarks/bench_*.py; do echo "== $$f"; $(PY) $$f || exit 1; done

clean-cache: setup
	$(PY) -m toolkit cache clear
