# Uplift: `make demo` runs it with demo data on embedded PostgreSQL and Redis;
# `make test` runs the whole suite against PostgreSQL and Redis.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
OWNER_URL ?= postgres://postgres@127.0.0.1:5432/uplift
TEST_WORKERS ?= 2

export DATABASE_OWNER_URL ?= $(OWNER_URL)

.PHONY: install demo test lint migrate clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev,demo]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m config.demo

test: $(STAMP)
	DJANGO_SETTINGS_MODULE=config.settings.test $(BIN)/python manage.py create_app_role
	@start=$$(date +%s); \
	$(BIN)/pytest -n $(TEST_WORKERS) --create-db $(PYTEST_ARGS); status=$$?; \
	echo "make test: $$(( $$(date +%s) - start )) s"; exit $$status

lint: $(STAMP)
	$(BIN)/ruff check .

migrate: $(STAMP)
	DATABASE_URL=$(DATABASE_OWNER_URL) $(BIN)/python manage.py migrate

clean:
	rm -rf $(VENV) .demo staticfiles

.PHONY: bench-data bench-lists bench-import

# Benchmarks (bench/README.md): never part of `make test`.
bench-data: $(STAMP)
	$(BIN)/python -m bench.generate --partners 50000 --programs 1000 --enrollments 200000

bench-lists: $(STAMP)
	$(BIN)/python -m bench.lists

bench-import: $(STAMP)
	$(BIN)/python -m bench.partner_import --rows 200000
