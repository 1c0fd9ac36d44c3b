# Two commands do everything on a fresh machine with Python >= 3.10:
#   make lab    create .venv (if missing), install the course, open JupyterLab on notebooks/
#   make test   the same set-up, then every test
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: lab test unit nbval browser notebooks figures sync-url benchmark clean

# Tests, builds and benchmarks use one torch thread: the course's models are tiny, and on a small
# shared machine (CI, with JupyterLab and Chromium running beside the kernel) extra threads only contend.
test unit nbval browser notebooks benchmark: export OMP_NUM_THREADS = 1

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install -e '.[dev]'
	touch $(STAMP)

# JupyterLab refuses to run as root unless told (containers often run as root).
ALLOW_ROOT := $(if $(filter 0,$(shell id -u 2>/dev/null)),--allow-root)

lab: $(STAMP)
	$(BIN)/jupyter lab $(ALLOW_ROOT) notebooks/

test: $(STAMP)
	$(BIN)/python -m pytest --nbval-lax --nbval-current-env tests/ notebooks/

unit: $(STAMP)
	$(BIN)/python -m pytest -m "not browser" tests/

nbval: $(STAMP)
	$(BIN)/python -m pytest --nbval-lax --nbval-current-env notebooks/

browser: $(STAMP)
	$(BIN)/python -m pytest -m browser tests/

notebooks: $(STAMP)
	$(BIN)/python tools/nb.py build

figures: $(STAMP)
	$(BIN)/python -m helpers.figures --out pic

sync-url: $(STAMP)
	$(BIN)/python tools/nb.py sync-url

benchmark: $(STAMP)
	$(BIN)/python benchmarks/panels.py

clean:
	rm -rf $(VENV) *.egg-info
