# The README's commands are these targets; .ci/run runs `make test`.
PY ?= python
PIP_TORCH = torch==2.13.0   # the CPU build; an unpinned torch pulls GBs of CUDA packages

.PHONY: install install-dev run ask test test-fast lint eval eval-retrieval bench bench-scale clean

install:
	$(PY) -m pip install -q $(PIP_TORCH) -e .

install-dev:
	@command -v chromium >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null)
	$(PY) -m pip install -q $(PIP_TORCH) -e ".[dev]"

# Infinity (OpenAI-compatible embeddings server) for the server tier of tests/test_embedders_openai.py:
# it needs transformers 4.x and numpy 1.x, so it gets its own venv beside the project's pins
INFINITY_VENV ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/qa/infinity-venv
embed-server:
	@test -x $(INFINITY_VENV)/bin/infinity_emb || ($(PY) -m venv $(INFINITY_VENV) && \
	  $(INFINITY_VENV)/bin/pip install -q $(PIP_TORCH) "infinity-emb[server,torch]==0.0.78")

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
