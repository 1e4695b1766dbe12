# The two set-up commands of the README. Each creates .venv on first use.
#   make test   run the whole test suite (what .ci/run runs)
#   make book   execute the notebooks and build the HTML book into _build/html
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin

.PHONY: test book student-edition clean

test: $(VENV)/.installed
	$(BIN)/python -m pytest

book: $(VENV)/.installed
	$(BIN)/jupyter-book build . --warningiserror --keep-going

student-edition: $(VENV)/.installed
	$(BIN)/python tools/student_edition.py student_edition

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (ipykernel)"
	touch $@

clean:
	rm -rf _build student_edition
