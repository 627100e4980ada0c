# `make test` and `make reproduce` each set up everything they need (venv, the locked versions of
# requirements-lock.txt, the package). Without make: pip install -e ".[dev]" (see README).
# The locked versions go in with uv (from PyPI: 21 s on a fresh machine here, against 75 s for
# pip), or with pip where uv cannot install them (an index that only pip is configured for).
# uv compiles the bytecode at install time, as pip does: where PYTHONDONTWRITEBYTECODE is set (CI
# machines here) nothing else would, and every process would compile TensorFlow's modules again
# (importing keras and tensorflow took 17.5 s instead of 6.9 s).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
NOTEBOOKS := $(sort $(wildcard notebooks/[0-9][0-9]_*.ipynb))

.PHONY: test reproduce lab student benchmark mutate lint format clean

$(STAMP): requirements-lock.txt pyproject.toml
	@$(PYTHON) -c 'import sys; v = sys.version_info[:2]; assert (3, 11) <= v <= (3, 13), \
		f"keraslstm needs Python 3.11 to 3.13, $(PYTHON) is {v[0]}.{v[1]}; run make PYTHON=python3.11"'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip uv==0.13.9
	$(BIN)/python -m uv pip install --quiet --compile-bytecode --python $(BIN)/python -r requirements-lock.txt \
		|| $(BIN)/python -m pip install --quiet -r requirements-lock.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Every notebook under nbval in quick mode (conftest.py sets KERASLSTM_MODE=quick) and the unit
# tests, on JOBS processes (pytest-xdist; loadscope keeps a notebook's cells in one kernel; the
# notebooks go first, being the longest). pytest exits 5 when it collects nothing: not a failure.
# The 15 slowest tests are listed at the end, so the next trim of the 15-minute budget is measured.
JOBS ?= 2
test: lint
	$(BIN)/python -m pytest -n $(JOBS) --dist loadscope --nbval-lax --nbval-current-env \
		--durations=15 $(NOTEBOOKS) tests || [ $$? -eq 5 ]

# Every notebook at full size, executed in place (outputs and figures saved; progress bars kept at
# their last state), then results/summary.md. The only target that writes results/ and
# results/figures/ (KERASLSTM_WRITE_RESULTS=1); other runs write results/local/ or results/quick/.
# One notebook: make reproduce NOTEBOOKS=notebooks/01_....ipynb
reproduce: $(STAMP)
	@for nb in $(NOTEBOOKS); do \
		echo "== $$nb"; \
		env -u KERASLSTM_QUICK KERASLSTM_MODE=full KERASLSTM_WRITE_RESULTS=1 \
			$(BIN)/jupyter nbconvert --to notebook --execute --inplace \
			--ExecutePreprocessor.timeout=-1 \
			--NotebookExporter.preprocessors=nbconvert.preprocessors.CoalesceStreamsPreprocessor \
			"$$nb" || exit 1; \
	done
	$(BIN)/python -c 'from keraslstm.results import main; main()'

# Student versions of the notebooks in student/ (ignored by git): every solution cell removed, an
# empty cell under each exercise. The committed notebooks keep the solutions, collapsed.
student: $(STAMP)
	$(BIN)/python -m keraslstm.classroom notebooks student

benchmark: $(STAMP)
	$(BIN)/python benchmarks/lstm_cell.py
	$(BIN)/python benchmarks/codec.py

# Mutation testing (slow, so not part of `make test`): mutmut ([tool.mutmut] in pyproject.toml)
# mutates the codec's file format, entropy coder and rate control, metrics, config and stats, one
# module at a time, and runs the fast tests that cover each mutant; the share killed per module
# goes to results/mutation.json. One module: make mutate MUTATE=keraslstm/metrics.py
mutate: $(STAMP)
	$(BIN)/python benchmarks/mutation.py $(MUTATE)

# JupyterLab on the notebooks in lab mode: each notebook in a few minutes on 2 CPU cores.
lab: $(STAMP)
	KERASLSTM_MODE=lab $(BIN)/jupyter lab notebooks

clean:
	rm -rf $(VENV) results/quick results/local student mutants .pytest_cache .ruff_cache
