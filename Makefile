# The two commands: `make run` and `make test`. Everything else supports them.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
PYTEST_WORKERS ?= 2
export PORT

.PHONY: run test lint pytest bench install format stop clean messages

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet ".[dev]"
	@touch $@

node_modules/.installed: package.json
	npm install --no-audit --no-fund --loglevel=error
	@touch $@

install: $(VENV)/.installed node_modules/.installed

run: install
	$(BIN)/python -m helpdesk.launcher

# With DATABASE_URL and REDIS_URL set the suite uses those servers; otherwise embedded ones in a temporary folder.
test: install
	@if [ -n "$$DATABASE_URL" ] && [ -n "$$REDIS_URL" ]; then \
		$(MAKE) --no-print-directory lint pytest; \
	else \
		$(BIN)/python -m helpdesk.embedded run-temporary -- $(MAKE) --no-print-directory lint pytest; \
	fi

pytest:
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadgroup

lint:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	DJANGO_SETTINGS_MODULE=helpdesk.settings.test $(BIN)/python manage.py makemigrations --check --dry-run

format:
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# stdout carries the figures only (one JSON object per line); installing reports on stderr.
bench:
	@$(MAKE) --no-print-directory install >&2
	@if [ -n "$$DATABASE_URL" ] && [ -n "$$REDIS_URL" ]; then \
		$(BIN)/python bench/run_all.py; \
	else \
		$(BIN)/python -m helpdesk.embedded run-temporary -- $(BIN)/python bench/run_all.py; \
	fi

stop:
	$(BIN)/python -m helpdesk.embedded stop

clean:
	rm -rf $(VENV) node_modules var

# Refresh the translation catalogues after changing customer-facing text (needs GNU gettext), then compile them.
LANGUAGES := es fr de pt id tr ru ja ko zh_Hans zh_Hant ar
messages: install
	$(BIN)/python manage.py makemessages $(addprefix -l ,$(LANGUAGES)) --no-location \
		--ignore=.venv --ignore=node_modules --ignore=var --ignore=tests --ignore=bench
	$(BIN)/python manage.py compilemessages --ignore=.venv --ignore=node_modules
