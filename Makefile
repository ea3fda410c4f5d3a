# Two entry points for a newcomer: `make book` and `make test`. Each sets up .venv itself;
# `make dist` also builds the book and packs it with the records for a release.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
SHARED ?= ../shared/data
PIP    := $(BIN)/python -m pip install -q --disable-pip-version-check
# The exact torch pair the book's results were produced with (see environment.yml).
TORCH  ?= torch==2.14.1 torchvision==0.29.1

.PHONY: book dist test data clean

$(BIN)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) $(TORCH)
	$(PIP) -e ".[book,dask,dev]"
	touch $@

# The browser test drives Debian's Chromium; install it when missing (needs root and apt).
CHROMIUM := /usr/bin/chromium /usr/bin/chromedriver
$(CHROMIUM):
	@if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; \
	else echo "the browser test needs Debian's chromium and chromium-driver; it is skipped without them"; fi

## make test: lint and the offline test suite (with a headless-browser check of the book)
test: $(BIN)/.installed $(CHROMIUM)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest -q -n auto --dist loadfile  # one worker a core; a test file stays on one worker (its fixtures are made once)

## make data: the paper's datasets as .npz in data/ (from ../shared/data when present, else downloaded on first use), for
## training; the book needs none (the method notebook's images are the sample in book/sample)
data:
	mkdir -p data
	@for f in mnist cifar100; do \
	  if [ ! -e data/$$f.npz ] && [ -e $(SHARED)/$$f.npz ]; then ln -s "$$(cd $(SHARED) && pwd)/$$f.npz" data/$$f.npz; fi; done
	@if [ ! -e data/cifar10.npz ] && [ -e $(SHARED)/get_cifar10.py ]; then $(BIN)/python $(SHARED)/get_cifar10.py data; fi

## make book: execute the notebooks from the recorded results, then build the HTML book in _build/html
book: $(BIN)/.installed
	$(BIN)/python book/build.py

## make dist: the book built afresh, then dist/seedinit-<version>.tar.gz: its HTML and the records, for a release or a deposit
dist: $(BIN)/.installed
	$(BIN)/python book/build.py --dist dist

clean:
	rm -rf _build dist
