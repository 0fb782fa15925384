# Two commands on a fresh clone: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip install --quiet --disable-pip-version-check

.PHONY: demo test install dev browser dashboard benchmark benchmark-query benchmark-stores benchmark-nlp benchmark-firehose benchmark-latency nab es-start es-stop clean

$(PY):
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(PY)
	$(PIP) --upgrade pip
	$(PIP) -e .
	touch $@

$(VENV)/.dev-installed: pyproject.toml $(VENV)/.installed
	$(PIP) -e ".[dev]"
	touch $@

install: $(VENV)/.installed

dev: $(VENV)/.dev-installed

demo: install
	$(VENV)/bin/monitor demo

# Debian's Chromium for the browser test; never fails: without it that test skips with a message.
APT := $(if $(filter 0,$(shell id -u)),,sudo -n) apt-get -qq -y
browser:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 \
	  || ($(APT) install chromium >/dev/null 2>&1 || ($(APT) update >/dev/null 2>&1 && $(APT) install chromium >/dev/null 2>&1)) \
	  || echo "chromium could not be installed here; the browser test will be skipped"

# The Elasticsearch tests start scripts/elasticsearch.sh (Maven + JDK 17) when they can, else skip;
# MONITOR_REQUIRE_ES=1 (set by .ci/run) turns the skip into a failure.
test: dev browser
	MONITOR_ES_AUTOSTART=1 $(PY) -m pytest

es-start:
	scripts/elasticsearch.sh start

es-stop:
	scripts/elasticsearch.sh stop

benchmark: install
	$(PY) benchmarks/throughput.py

benchmark-query: dev
	$(PY) benchmarks/query_matching.py

nab: install
	$(PY) benchmarks/nab/run.py
	$(PY) benchmarks/nab/run.py --cv

benchmark-stores: install
	$(PY) benchmarks/store_backends.py

# Jetstream events per second on one core (parse + match + engagement update) against parse only.
benchmark-firehose: install
	$(PY) benchmarks/firehose.py

# Time to alert: viral posts on a loopback Jetstream-like stream through `monitor run` to a fake Slack.
benchmark-latency: install
	$(PY) benchmarks/latency.py

# Sentiment throughput (XLM-R base, random weights; offline backend), offline accuracy, language id.
benchmark-nlp: dev
	$(PY) benchmarks/nlp_throughput.py --threads 1
	$(PY) benchmarks/nlp_throughput.py --plain 32 --viral 64 --skip-offline
	$(PY) benchmarks/nlp_accuracy.py
	$(PY) benchmarks/nlp_language.py

dashboard: install
	$(VENV)/bin/monitor dashboard

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis build *.egg-info
