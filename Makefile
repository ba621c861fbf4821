# The README's commands are these targets; .ci/run runs `make test`.
PY ?= python
PIP_TORCH = torch==2.13.0   # the CPU build; an unpinned torch pulls GBs of CUDA packages
CACHE ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/qa
# Installs come from the lock files in requirements/ (exact versions with hashes, made by
# `make lock` from pyproject.toml's ranges), so a fresh machine gets what CI tested.
# TORCH_WHEELS: where the CPU build of torch lies (pip.conf's find-links on this project's machines;
# elsewhere e.g. https://download.pytorch.org/whl/cpu as an extra index).
TORCH_WHEELS ?= /opt/wheels
UV = uv==0.13.9
LOCK = $(PY) -m uv pip compile --quiet --python-version 3.11 --find-links $(TORCH_WHEELS) --generate-hashes

.PHONY: install install-dev run ask test test-fast test-latest lock lint eval eval-retrieval bench bench-scale clean

# Tesseract reads scans (PDF pages without text, images); a Debian package, like chromium
OCR_APT = tesseract-ocr tesseract-ocr-deu tesseract-ocr-eng
install:
	-@command -v tesseract >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq $(OCR_APT) >/dev/null) \
	  || echo "note: without Tesseract ($(OCR_APT)) scans are skipped"
	$(PY) -m pip install -q --require-hashes -r requirements/run.lock
	$(PY) -m pip install -q --no-deps -e .

install-dev:
	@command -v chromium >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null)
	@command -v tesseract >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq $(OCR_APT) >/dev/null)
	$(PY) -m pip install -q --require-hashes -r requirements/dev.lock
	$(PY) -m pip install -q --no-deps -e .

lock:                 ## regenerate requirements/*.lock: the newest versions pyproject.toml's ranges allow
	$(PY) -m pip install -q $(UV)
	$(LOCK) pyproject.toml -o requirements/run.lock
	$(LOCK) pyproject.toml --extra dev -c requirements/run.lock -o requirements/dev.lock
	$(LOCK) requirements/infinity.in -o requirements/infinity.lock

# the suite against the newest versions the ranges allow, in a venv of its own (the locked
# environment stays as it is): drift is seen here on purpose, then `make lock` takes it in
LATEST_VENV ?= $(CACHE)/latest-venv
test-latest: embed-server
	@command -v chromium >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null)
	test -x $(LATEST_VENV)/bin/python || $(PY) -m venv $(LATEST_VENV)
	$(LATEST_VENV)/bin/python -m pip install -q --upgrade --upgrade-strategy eager $(PIP_TORCH) -e ".[dev]"
	$(LATEST_VENV)/bin/python -m pip list --format=freeze > $(CACHE)/latest-versions.txt
	$(LATEST_VENV)/bin/python -m pytest

# Infinity (OpenAI-compatible embeddings server) for the server tier of tests/test_embedders_openai.py:
# it needs transformers 4.x and numpy 1.x, so it gets its own venv beside the project's pins
INFINITY_VENV ?= $(CACHE)/infinity-venv
embed-server:
	@test -x $(INFINITY_VENV)/bin/infinity_emb || ($(PY) -m venv $(INFINITY_VENV) && \
	  $(INFINITY_VENV)/bin/pip install -q --require-hashes -r requirements/infinity.lock)

run: install          ## the main job: the chat window on http://127.0.0.1:7860
	$(PY) ui.py

ask: install          ## the same from the command line
	qa ask "Wie viel investiert Alibaba in KI-Infrastruktur?"

test: install-dev embed-server  ## every tier: unit, integration (real models), server, browser, retrieval eval
	$(PY) -m pytest

test-fast:            ## unit tier only (seconds)
	$(PY) -m pytest -m "not integration and not browser and not server"

lint:
	ruff check qa tests ui.py eval
	mypy qa

eval:                 ## full answer eval with the current settings (~7 min on 2 cores)
	qa eval

eval-retrieval:
	qa eval --retrieval-only

bench:                ## speed and memory figures
	$(PY) scripts/bench.py

bench-scale:          ## retrieval at 100k and 1M synthetic chunks (~70 min on 2 cores): docs/scaling.md
	$(PY) scripts/bench_scale.py --chunks 100000 --backends faiss-exact,faiss-ann,faiss-store,postgres
	$(PY) scripts/bench_scale.py --chunks 1000000 --backends faiss-exact,faiss-ann,faiss-store --sweep-ef 32,64,96,128

clean:
	rm -rf index/v-* index/CURRENT .pytest_cache
