# The README's commands. Needs Python 3.11+ and make; uv is installed on first use if missing.
.DEFAULT_GOAL := help
SHELL := /bin/bash

PYTHON ?= python3
UV := $(shell command -v uv 2>/dev/null || echo .uv/bin/uv)
RUN := $(UV) run --frozen
HOST ?= 127.0.0.1
PORT ?= 8000
# The address the demo is served at, printed and used in its links (emails, calendar).
DEMO_SITE_URL := $(or $(SITE_URL),http://$(HOST):$(PORT))
# Tests run with production-like settings (DEBUG off) and a throwaway key.
TEST_ENV := DEBUG=0 SECRET_KEY=test-only-secret-key-0123456789abcdef-0123456789abcdef SITE_URL=http://testserver

.PHONY: help demo demo-reset test lint format install

help:
	@echo "make demo        start the product with the reference case at http://$(HOST):$(PORT)"
	@echo "make demo-reset  forget the demo database and start again"
	@echo "make test        run the whole test suite"
	@echo "make lint        ruff lint and format check"

.uv/bin/uv:
	@command -v uv >/dev/null 2>&1 || { echo "Installing uv into .uv/ ..."; \
	  $(PYTHON) -m venv .uv && .uv/bin/pip install --quiet uv; }

install: $(if $(filter .uv/bin/uv,$(UV)),.uv/bin/uv)
	$(UV) sync --frozen

demo: install
	DEBUG=1 $(RUN) python manage.py migrate --no-input -v 0
	DEBUG=1 SITE_URL=$(DEMO_SITE_URL) $(RUN) python manage.py load_demo --shift-to-today
	@echo
	@echo "Open $(DEMO_SITE_URL)/ (Ctrl-C stops the server, the worker and beat)."
	@echo "Emails the demo sends (deadline reminders) are saved under $${DATA_DIR:-var}/emails/."
	DEBUG=1 DEMO_ADDR=$(HOST):$(PORT) SITE_URL=$(DEMO_SITE_URL) PYTHONUNBUFFERED=1 \
	  EMAIL_BACKEND=django.core.mail.backends.filebased.EmailBackend \
	  $(RUN) honcho -f Procfile.dev start

demo-reset:
	rm -rf var/db.sqlite3 var/documents var/broker var/emails

test: install
	$(TEST_ENV) $(RUN) pytest $(PYTEST_ARGS)

lint: install
	$(RUN) ruff check .
	$(RUN) ruff format --check .

format: install
	$(RUN) ruff format .
	$(RUN) ruff check --fix .
