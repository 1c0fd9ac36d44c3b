# Two commands do everything on a fresh machine with Python >= 3.10:
#   make lab    create .venv (if missing), install the course, open JupyterLab on notebooks/00_overview.ipynb
#   make test   the same set-up, then every test
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# A second venv with Google Colab's widget stack (ipywidgets 7, IPython 7) and without the course:
# tests/test_colab_stack.py runs every notebook in a kernel from it, as Colab would.
COLAB_VENV  := .venv-colab
COLAB_STAMP := $(COLAB_VENV)/.installed
COLAB_REQS  := tools/colab-requirements.txt

.PHONY: lab test unit colab colab-venv nbval browser notebooks figures sync-url benchmark benchmark-browser site benchmark-site glossary clean

# Tests, builds and benchmarks use one torch thread: the course's models are tiny, and on a small
# shared machine (CI, with JupyterLab and Chromium running beside the kernel) extra threads only contend.
test unit colab nbval browser notebooks benchmark benchmark-browser site benchmark-site: export OMP_NUM_THREADS = 1

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install -e '.[dev]'
	touch $(STAMP)

$(COLAB_VENV)/bin/python:
	$(PYTHON) -m venv $(COLAB_VENV)

$(COLAB_STAMP): $(COLAB_REQS) Makefile | $(COLAB_VENV)/bin/python
	$(COLAB_VENV)/bin/python -m pip install --upgrade pip
	$(COLAB_VENV)/bin/python -m pip install -r $(COLAB_REQS)
	touch $(COLAB_STAMP)

colab-venv: $(COLAB_STAMP)

# JupyterLab refuses to run as root unless told (containers often run as root).
ALLOW_ROOT := $(if $(filter 0,$(shell id -u 2>/dev/null)),--allow-root)

lab: $(STAMP)
	$(BIN)/jupyter lab $(ALLOW_ROOT) notebooks/00_overview.ipynb

# Two workers, one group of tests each at a time (a file, a notebook, a panel: see tests/conftest.py),
# longest first; nbval needs a notebook's cells in one process, so a notebook is one group.
test: $(STAMP) $(COLAB_STAMP)
	$(BIN)/python -m pytest -n 2 --dist loadscope --no-loadscope-reorder --nbval-lax --nbval-current-env tests/ notebooks/

unit: $(STAMP)
	$(BIN)/python -m pytest -m "not browser and not colab" tests/

colab: $(STAMP) $(COLAB_STAMP)
	$(BIN)/python -m pytest -m colab tests/

nbval: $(STAMP)
	$(BIN)/python -m pytest --nbval-lax --nbval-current-env notebooks/

browser: $(STAMP) $(COLAB_STAMP)
	$(BIN)/python -m pytest -m browser tests/

notebooks: $(STAMP)
	$(BIN)/python tools/nb.py build

glossary: $(STAMP)
	$(BIN)/python tools/glossary.py

site: $(STAMP)
	$(BIN)/python -m tools.site

benchmark-site: $(STAMP)
	$(BIN)/python benchmarks/site.py

figures: $(STAMP)
	$(BIN)/python -m helpers.figures --out pic

sync-url: $(STAMP)
	$(BIN)/python tools/nb.py sync-url

benchmark: $(STAMP)
	$(BIN)/python benchmarks/panels.py

benchmark-browser: $(STAMP)
	$(BIN)/python benchmarks/browser.py

clean:
	rm -rf $(VENV) $(COLAB_VENV) *.egg-info site
