# deeptheory: `make demo` runs the main job, `make test` the test suite.
# Both create .venv and install everything on first use (and again when pyproject.toml changes).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# The CPU wheel of torch is installed first: an unpinned `torch` would pull a multi-GB CUDA
# build. On a machine with a GPU, `make TORCH=torch ...` installs the default build instead.
TORCH  ?= torch==2.13.0

.PHONY: help venv browser sandbox demo figures slides slides-quick test test-slow lint format bench bench-grading bench-train bench-widgets study gallery clean

help:
	@echo "make demo       build the homework, autograde the sample class (grades/hw1_ntk/)"
	@echo "make figures    the NTK convergence figure (Jacot et al. Fig. 1) in figures/"
	@echo "make slides     the seminar decks, full runs (seminar_slides/_build/index.html; needs npm)"
	@echo "make slides-quick  the decks with small runs (a few minutes; what the tests build)"
	@echo "make study      JupyterLab on the homework and the widget gallery (127.0.0.1 only)"
	@echo "make gallery    rebuild exercises/gallery.ipynb from deeptheory/widgets/gallery.py"
	@echo "make test       lint + format check + test suite (what CI runs)"
	@echo "make test-slow  the slow checks (marked 'slow')"
	@echo "make bench      benchmarks/ntk.py (NTK methods, ~20 min)"
	@echo "make bench-grading  benchmarks/grading.py (seconds per graded notebook, ~10 min)"
	@echo "make bench-train    benchmarks/train.py (batched vs sequential training)"
	@echo "make bench-widgets  benchmarks/widgets.py (widget update times, ~5 min)"
	@echo "make format     apply ruff format and the autofixable lint rules"
	@echo "make clean      remove .venv and generated files"

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet "$(TORCH)"
	$(BIN)/python -m pip install --quiet -e ".[dev,course,study]"
	touch $(STAMP)

venv: $(STAMP)

# Build the exercises (and the sample class) from solutions/, then autograde the sample
# class of Homework 1 on both cores; results are reused on a second run.
demo: $(STAMP) $(BWRAP)
	$(BIN)/deeptheory course build
	$(BIN)/deeptheory course grade hw1_ntk course/sample_submissions/hw1_ntk \
		--out grades/hw1_ntk --cell-timeout 10 --expect course/sample_class/hw1_ntk.py

figures: $(STAMP)
	$(BIN)/deeptheory ntk-convergence --out figures/ntk_convergence.png

# The seminar decks: every deck executed (full runs), exported as offline reveal.js pages
# in seminar_slides/_build/ with reveal.js and KaTeX from `npm ci` (Node.js with npm
# needed). Unchanged decks are not executed again.
slides: $(STAMP)
	$(BIN)/deeptheory slides build

slides-quick: $(STAMP)
	$(BIN)/deeptheory slides build --quick

# Self-study: JupyterLab on copies of exercises/ (the homework and the widget gallery) in
# $(STUDY)/, which keeps the student's work; on 127.0.0.1 only, at the address it prints
# ($(STUDY_PORT), or a free port if taken). Widget results are kept in $(STUDY)/.cache
# unless DEEPTHEORY_CACHE is set. tests/test_study_e2e.py runs the same command.
STUDY      ?= study
STUDY_PORT ?= 8888

study: $(STAMP)
	$(BIN)/python -m deeptheory.study --folder $(STUDY) --port $(STUDY_PORT)

gallery: $(STAMP)
	$(BIN)/python -m deeptheory.widgets.gallery --out exercises/gallery.ipynb

# Browser tests (slides, self-study) drive Debian's Chromium through Playwright: installed
# here when missing (apt-get as root, else through sudo). Elsewhere, install Chromium and
# run `make CHROMIUM=/path/to/chromium test`.
CHROMIUM ?= /usr/bin/chromium
export DEEPTHEORY_CHROMIUM := $(CHROMIUM)

$(CHROMIUM):
	@command -v apt-get >/dev/null || { echo "Chromium is needed for the browser tests: install it and run make CHROMIUM=/path/to/chromium test"; exit 1; }
	if [ "$$(id -u)" = 0 ]; then apt-get update -q && apt-get install -y -q chromium; \
	else sudo apt-get update -q && sudo apt-get install -y -q chromium; fi

browser: $(CHROMIUM)

# The grader sandboxes each student's kernel with bubblewrap (deeptheory.course.sandbox);
# installed here when missing. Without it, `course grade` still runs (resource limits and
# an unprivileged user only) and says so in every result's "isolation".
BWRAP ?= /usr/bin/bwrap

$(BWRAP):
	@command -v apt-get >/dev/null || { echo "bubblewrap (bwrap) is needed for the grader's sandbox: install it and run make BWRAP=/path/to/bwrap"; exit 1; }
	if [ "$$(id -u)" = 0 ]; then apt-get update -q && apt-get install -y -q bubblewrap; \
	else sudo apt-get update -q && sudo apt-get install -y -q bubblewrap; fi

sandbox: $(BWRAP)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: lint $(CHROMIUM) $(BWRAP)
	$(BIN)/python -m pytest -m "not slow"

test-slow: $(STAMP) $(CHROMIUM) $(BWRAP)
	$(BIN)/python -m pytest -m slow

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: $(STAMP)
	$(BIN)/python benchmarks/ntk.py

bench-grading: $(STAMP) $(BWRAP)
	$(BIN)/python benchmarks/grading.py

bench-train: $(STAMP)
	$(BIN)/python benchmarks/train.py

bench-widgets: $(STAMP)
	$(BIN)/python benchmarks/widgets.py

# (study/ is kept: it holds the students' own work)
clean:
	rm -rf $(VENV) figures grades build .pytest_cache .ruff_cache .hypothesis \
		seminar_slides/_build seminar_slides/node_modules
