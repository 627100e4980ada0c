# `make test` and `make reproduce` each set up everything they need (venv, requirements, package).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
NOTEBOOKS := $(sort $(wildcard notebooks/[0-9][0-9]_*.ipynb))

.PHONY: test reproduce lab benchmark lint format clean

$(STAMP): requirements.txt pyproject.toml
	@$(PYTHON) -c 'import sys; v = sys.version_info[:2]; assert (3, 10) <= v <= (3, 12), \
		f"keraslstm needs Python 3.10 to 3.12, $(PYTHON) is {v[0]}.{v[1]}; run make PYTHON=python3.11"'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Unit tests, then every notebook under nbval in quick mode (conftest.py sets KERASLSTM_MODE=quick).
# pytest exits 5 when it collects nothing; that is not a failure here.
test: lint
	$(BIN)/python -m pytest --nbval-lax --nbval-current-env tests $(NOTEBOOKS) || [ $$? -eq 5 ]

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

benchmark: $(STAMP)
	$(BIN)/python benchmarks/lstm_cell.py
	$(BIN)/python benchmarks/codec.py

# JupyterLab on the notebooks in lab mode: each notebook in a few minutes on 2 CPU cores.
lab: $(STAMP)
	KERASLSTM_MODE=lab $(BIN)/jupyter lab notebooks

clean:
	rm -rf $(VENV) results/quick results/local student .pytest_cache .ruff_cache
