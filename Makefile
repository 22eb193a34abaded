# autograd_viz development tasks. Everything lives in ./.venv; only python3 (>= 3.10) is needed.
#   make lab    set up, then open JupyterLab on the tutorials
#   make test   set up, then ruff + the whole pytest suite (tests/ and nbval on notebooks/)
# Extra pytest arguments: make test PYTEST_ARGS="--slow -k oracle"

PYTHON      ?= python3
VENV        := .venv
PY          := $(VENV)/bin/python
PIP         := $(PY) -m pip
STAMP       := $(VENV)/.installed
CONSTRAINTS := $(VENV)/constraints.txt

# PyTorch oracle: only ever this CPU build, and only from a local wheel (never the CUDA build).
TORCH_SPEC       := torch==2.13.0+cpu
TORCH_WHEELS     ?= /opt/wheels
TORCH_FIND_LINKS := $(if $(wildcard $(TORCH_WHEELS)),--find-links $(TORCH_WHEELS))

SYS_PKGS    := graphviz chromium
APT_INSTALL := apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y $(SYS_PKGS)

NOTEBOOK_DIR := $(wildcard notebooks)
PYTEST_ARGS  ?=
LAB_ARGS     ?=

.PHONY: venv install sysdeps test lint lab bench clean distclean

venv: $(PY)

$(PY):
	@if ! $(PYTHON) -m venv $(VENV); then \
	  rm -rf $(VENV); \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo ">> python3 -m venv failed; installing python3-venv with apt-get"; \
	    apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y python3-venv \
	      && $(PYTHON) -m venv $(VENV); \
	  else \
	    echo "!! python3 -m venv failed. Run: sudo apt-get install -y python3-venv"; exit 1; \
	  fi; \
	fi
	$(PIP) install -q -U pip

# System packages: Graphviz's `dot` (graph rendering) and Debian's Chromium (browser tests).
sysdeps:
	@if command -v dot >/dev/null 2>&1 && [ -x /usr/bin/chromium ]; then \
	  :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo ">> installing system packages: $(SYS_PKGS)"; \
	  $(APT_INSTALL) || echo "!! WARNING: apt-get failed; tests needing dot/chromium will fail or skip"; \
	else \
	  echo "!! missing Graphviz 'dot' and/or /usr/bin/chromium. Run:"; \
	  echo "   sudo apt-get update && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y $(SYS_PKGS)"; \
	  echo "   (continuing; tests that need them will fail or skip)"; \
	fi

install: sysdeps $(STAMP)

# (setup.py builds the optional C helper of the recorder's summaries: a changed source
#  rebuilds it)
$(STAMP): pyproject.toml setup.py autograd_viz/viz/_summary.c | $(PY)
	@echo "$(TORCH_SPEC)" > $(CONSTRAINTS)
	$(PIP) install -c $(CONSTRAINTS) -e '.[dev]'
	@if $(PY) -c 'import importlib.metadata as m, sys; sys.exit(m.version("torch") != "2.13.0+cpu")' 2>/dev/null; then \
	  echo ">> PyTorch oracle: $(TORCH_SPEC) already installed"; \
	else \
	  d=$$(mktemp -d); \
	  if $(PIP) download -q --no-index --no-deps $(TORCH_FIND_LINKS) -d "$$d" '$(TORCH_SPEC)' >/dev/null 2>&1; then \
	    echo ">> PyTorch oracle: installing $(TORCH_SPEC) from a local wheel"; \
	    $(PIP) install -c $(CONSTRAINTS) "$$d"/torch-*.whl || { rm -rf "$$d"; exit 1; }; \
	  else \
	    echo ">> PyTorch oracle: no local wheel for $(TORCH_SPEC); oracle tests will skip"; \
	  fi; \
	  rm -rf "$$d"; \
	fi
	@touch $@

lint: install
	$(PY) -m ruff check .

# ruff runs first but does not stop pytest; the target fails if either failed.
test: install
	@rc=0; \
	echo ">> ruff check ."; $(PY) -m ruff check . || rc=$$?; \
	echo ">> pytest tests $(NOTEBOOK_DIR)"; \
	$(PY) -m pytest tests $(NOTEBOOK_DIR) --nbval --nbval-current-env \
	  --nbval-sanitize-with tests/nbval_sanitize.cfg $(PYTEST_ARGS) || rc=$$?; \
	exit $$rc

lab: install
	@nb=notebooks/01_tensors.ipynb; \
	[ -f "$$nb" ] || nb=$$(ls notebooks/*.ipynb 2>/dev/null | head -n 1); \
	[ -n "$$nb" ] || nb=notebooks; \
	[ -e "$$nb" ] || nb=.; \
	root=; [ "$$(id -u)" = 0 ] && root=--allow-root; \
	echo ">> jupyter lab $$nb"; \
	exec $(VENV)/bin/jupyter lab $$root $(LAB_ARGS) "$$nb"

bench: install
	$(PY) -m benchmarks

clean:
	rm -rf build dist *.egg-info .pytest_cache .ruff_cache tests/artifacts
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV)
	find autograd_viz -name '*.so' -delete
