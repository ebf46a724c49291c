# Thin wrappers. `make demo` and `make test` each set up .venv on a fresh machine first.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: help venv demo demo-simclr test release grade formgrader bench lint clean

help:
	@echo "make demo        release hw1/hw2, grade sample submissions, print the grade table"
	@echo "make demo-simclr SimCLR on the embedded shapes (cpu profile), probe, save a figure"
	@echo "make test        set up .venv (and TeX for the project template), run pytest"
	@echo "make release     regenerate notebooks/ from autograder/source (nbgrader)"
	@echo "make grade HW=hw1  autograde every collected submission of HW in parallel"
	@echo "make formgrader  open nbgrader's formgrader on this course"
	@echo "make bench       CPU benchmarks: figures and ratios, never pass/fail"
	@echo "make lint        ruff over the code, the tests and the benchmarks"

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[dev,bench]"
	touch $@

venv: $(STAMP)

demo-simclr: $(STAMP)
	SSL_COURSE_PROFILE=$${SSL_COURSE_PROFILE:-cpu} $(PY) -m course_utils.demo

demo: $(STAMP)
	$(PY) -m autograder demo

test: $(STAMP)
	bash project_template/tools/install_tex.sh
	$(PY) -m pytest -q

release: $(STAMP)
	$(PY) -m autograder release

grade: $(STAMP)
	$(PY) -m autograder grade $(HW)

formgrader: $(STAMP)
	$(PY) -m autograder formgrader

bench: $(STAMP)
	$(PY) benchmarks/run_all.py

lint: $(STAMP)
	$(VENV)/bin/ruff check course_utils autograder benchmarks tests project_template

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
