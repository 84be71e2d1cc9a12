# ticketlab: `make run` and `make test` work from a fresh clone (Debian/Ubuntu, Python 3.10+).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# The CPU wheel of this exact release is what the development machines carry; a looser
# spec would pull a multi-GB CUDA build. Override for a GPU: make TORCH_SPEC=torch==2.x.y
TORCH_SPEC ?= torch==2.13.0
STAMP := $(VENV)/.ticketlab-installed
RUN_ARGS ?=

.PHONY: install data run test bench clean

$(PY):
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 10))' || \
		{ echo "ticketlab needs Python 3.10 or newer ($(PYTHON) is older)" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(PY) pyproject.toml
	$(PY) -m pip install --quiet "$(TORCH_SPEC)"
	$(PY) -m pip install --quiet -e ".[test,mip,ray,tensorboard,onnx]"
	@touch $(STAMP)

install: $(STAMP)

# Fashion-MNIST: Debian's package when apt is usable as root, else the official download.
data: install
	@PY=$(PY) sh scripts/ensure-data.sh fashion-mnist

# The main job: a short lottery (IMP with two ablation branches), its table and plot.
run: data
	$(PY) -m ticketlab lottery --model lenet300 --dataset fashion-mnist --levels 5 --prune-fraction 0.5 \
		--epochs 3 --val 5000 --branches random-prune,random-reinit $(RUN_ARGS)

# Lint (ruff, configured in pyproject.toml), then the tests. Tests do not need the data
# (end-to-end tests on real data skip without it), so a failed data step only warns here.
test: install
	@PY=$(PY) sh scripts/ensure-data.sh fashion-mnist || echo "warning: no Fashion-MNIST; its end-to-end tests will be skipped" >&2
	$(PY) -m ruff check ticketlab tests benchmarks experiments scripts
	$(PY) -m pytest -q

bench: data
	$(PY) benchmarks/masked_training.py

clean:
	rm -rf $(VENV) runs .pytest_cache *.egg-info
