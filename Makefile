# The two commands: `make run` (demo portal on SQLite) and `make test` (the whole suite).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
HOST ?= 127.0.0.1
PORT ?= 8000
SUDO := $(shell [ "$$(id -u)" = "0" ] || echo sudo)

.PHONY: run test lint format messages screenshots bench-% chromium clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip

$(VENV)/.runtime: requirements.txt | $(PY)
	$(PIP) install -q -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt | $(PY)
	$(PIP) install -q -r requirements-dev.txt
	touch $@ $(VENV)/.runtime

run: $(VENV)/.runtime
	@mkdir -p var
	$(PY) manage.py migrate --noinput -v 0
	$(PY) manage.py seed_demo
	@echo
	@echo "Amparo is starting at http://$(HOST):$(PORT)/  (web server + huey worker; Ctrl-C stops both)"
	@echo
	@trap 'kill 0' INT TERM; \
	  $(PY) manage.py run_huey & \
	  $(PY) manage.py runserver $(HOST):$(PORT) & \
	  wait

chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "Installing Debian's chromium for the browser tests"; \
	  $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium fonts-dejavu-core; }

test: $(VENV)/.dev chromium
	@mkdir -p var
	$(PY) -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

format: $(VENV)/.dev
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# Regenerate the Spanish (es-CO) catalogue after changing user-facing text (needs GNU gettext).
messages: $(VENV)/.dev
	$(PY) manage.py makemessages -l es_CO --ignore=.venv --ignore=var --no-obsolete
	$(PY) manage.py compilemessages -l es_CO --ignore=.venv

# Each role's dashboard and main list in Spanish, into docs/screenshots/ (the accessibility check takes them).
screenshots: $(VENV)/.dev chromium
	@mkdir -p var docs/screenshots
	AMPARO_SCREENSHOTS=docs/screenshots $(PY) -m pytest -q -p no:cacheprovider tests/e2e/test_accessibility.py

bench-%: $(VENV)/.dev
	$(PY) -m bench $*

clean:
	rm -rf var/amparo.sqlite3 var/huey.sqlite3 var/staticfiles
