# BidEngine — `make run` serves, `make test` proves. Both install what is missing first.
SHELL := /bin/bash
SWIFT ?= swift
APT_PACKAGES := pkg-config libevent-dev libpq-dev postgresql php-cli
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
DEBUG_BIN := .build/debug/bidengine
RELEASE_BIN := .build/release/bidengine
# The Python tools run as modules of the repository (python3 -m scripts.…) from its root; no
# __pycache__ in the source tree.
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: help deps test-deps build release run test unit-test parity contract chart-check monitoring-check trace-check report-browser-check image-check lint imports fuzz fuzz-smoke leaks soak chaos scale-test pooler-test clean install

help:
	@echo "make run    install missing system packages, build (release), serve on :8080"
	@echo "            (embedded PostgreSQL under ./.bidengine unless DATABASE_URL is set)"
	@echo "make test   install missing system packages, build, run every test"
	@echo "make install  the release binary to PREFIX/bin (default /usr/local), migrations to PREFIX/share/bidengine"
	@echo "make fuzz   every libFuzzer target for FUZZ_SECONDS (60) s each"
	@echo "make soak   SOAK_DURATION (600) s of mixed load on a release build: RSS, descriptors, rows"
	@echo "make chaos  load while PostgreSQL is restarted, its backends killed and frozen (CHAOS_ROUNDS=4)"
	@echo "make image-check  the Dockerfile's runtime image, built with debootstrap, boots under chroot"
	@echo "make leaks  LeakSanitizer over a scripted run with errors and reconnects (part of make test)"
	@echo "make scale-test  a real hot standby, two servers and two schedulers on one PostgreSQL (part of make test)"
	@echo "make pooler-test  serve, audit, maintain and poll through a real PgBouncer in transaction mode (part of make test)"

## deps: install the Debian packages BidEngine builds and tests against, only those missing.
## test-deps: what only the checks need (promtool/prometheus, headless Chromium and its driver, pgbouncer; for
## make image-check debootstrap, and libcurl4-openssl-dev, which the Dockerfile's build stage installs
## for the static Foundation).
TEST_APT_PACKAGES := prometheus chromium chromium-driver debootstrap libcurl4-openssl-dev pgbouncer
# What make lint needs: shellcheck for the shell scripts (ruff, for the Python, goes into .venv/ from PyPI).
LINT_APT_PACKAGES := shellcheck
# $(call apt_require,packages): apt-get install those of the packages that are not installed.
define apt_require
	@missing=""; for p in $(1); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	else echo "system packages present: $(1)"; fi
endef

deps:
	$(call apt_require,$(APT_PACKAGES))

test-deps:
	$(call apt_require,$(TEST_APT_PACKAGES))

build: deps
	$(SWIFT) build --product bidengine

release: deps
	$(SWIFT) build -c release --product bidengine

run: release
	$(RELEASE_BIN) serve

## install: the release binary to $(PREFIX)/bin/bidengine (on the PATH), migrations and openapi.yaml
## to $(PREFIX)/share/bidengine, where the binary finds them. PREFIX=$$HOME/.local installs without root.
PREFIX ?= /usr/local
install: release
	install -D -m 0755 $(RELEASE_BIN) $(DESTDIR)$(PREFIX)/bin/bidengine
	install -d $(DESTDIR)$(PREFIX)/share/bidengine/Migrations
	install -m 0644 Migrations/*.sql $(DESTDIR)$(PREFIX)/share/bidengine/Migrations/
	install -m 0644 openapi.yaml $(DESTDIR)$(PREFIX)/share/bidengine/openapi.yaml
	@echo "installed $(DESTDIR)$(PREFIX)/bin/bidengine"

## test: style gate and import rules, unit and integration tests (real sockets, real PostgreSQL), fuzz smoke runs,
## leak check, PHP parity, OpenAPI contract, chart checks, traces against an OTLP receiver.
test: deps test-deps
	$(MAKE) --no-print-directory lint
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build
	$(MAKE) --no-print-directory fuzz-smoke
	$(MAKE) --no-print-directory leaks
	$(MAKE) --no-print-directory scale-test
	$(MAKE) --no-print-directory pooler-test
	$(MAKE) --no-print-directory parity
	$(MAKE) --no-print-directory contract
	$(MAKE) --no-print-directory chart-check
	$(MAKE) --no-print-directory monitoring-check
	$(MAKE) --no-print-directory trace-check
	$(MAKE) --no-print-directory report-browser-check

unit-test: deps
	$(SWIFT) test

parity: build
	bash legacy/parity.sh $(DEBUG_BIN)

## contract: schemathesis drives a live server from openapi.yaml (no 5xx, every response matches the spec).
contract: build
	bash scripts/ci/schemathesis.sh --start $(DEBUG_BIN)

## lint: the style gate; .swift-format holds the rules (swift-format ships with the toolchain),
## then the import rules, then ruff and shellcheck over the scripts (ruff.toml, .shellcheckrc).
lint:
	$(call apt_require,$(LINT_APT_PACKAGES))
	$(SWIFT) format lint --strict --recursive --parallel Sources Tests Benchmarks Package.swift
	$(MAKE) --no-print-directory imports
	bash scripts/ci/lint-scripts.sh

## imports: which target may import what (scripts/ci/import-rules.txt); fails naming the file and the rule.
imports:
	python3 scripts/ci/check-imports.py

FUZZ_SECONDS ?= 60
SOAK_DURATION ?= 600
CHAOS_ROUNDS ?= 4
RELIABILITY_OUT ?= .build-reliability

## fuzz: every libFuzzer target for $(FUZZ_SECONDS) s each (scripts/ci/fuzz.sh; builds into .build-fuzz).
fuzz: deps
	bash scripts/ci/fuzz.sh --seconds $(FUZZ_SECONDS)

## fuzz-smoke: 10 s per target from the committed seeds only; fails on any crash, trap or sanitizer report.
fuzz-smoke: deps
	bash scripts/ci/fuzz.sh --smoke

## leaks: an AddressSanitizer build of bidengine (.build-asan) under thousands of mixed requests,
## backend kills and PostgreSQL restarts; fails on any LeakSanitizer report at exit.
leaks: deps
	python3 -m scripts.integration.reliability.leaks --output $(RELIABILITY_OUT)/leaks.json

## scale-test: a hot standby made with pg_basebackup -R (read fallback, audit completeness), then two
## `serve` and two `schedule` processes on one PostgreSQL with kill -9 of each kind (scripts/integration/scaleout).
scale-test: build
	python3 -m scripts.integration.scaleout.scaleout --binary $(DEBUG_BIN) --output $(RELIABILITY_OUT)/scaleout.json

## pooler-test: Debian's pgbouncer in transaction mode in front of a throwaway cluster; serve (mixed load, bulk,
## idempotent replays, history), audit, maintain and poll through it with DATABASE_POOLER=transaction, no error,
## every acknowledged bid stored; migrate and schedule refused without DATABASE_DIRECT_URL (scripts/integration/pooler).
pooler-test: build test-deps
	python3 -m scripts.integration.pooler.pgbouncer_check --binary $(DEBUG_BIN) --output $(RELIABILITY_OUT)/pooler.json

## soak: a release bidengine under mixed load for $(SOAK_DURATION) s; RSS, descriptors, 5xx, rows.
soak: deps
	python3 -m scripts.integration.reliability.soak --duration $(SOAK_DURATION) --output $(RELIABILITY_OUT)/soak.json \
	  --svg $(RELIABILITY_OUT)/soak.svg

## chaos: load while PostgreSQL is restarted, its backends terminated and the cluster frozen.
chaos: deps
	python3 -m scripts.integration.reliability.chaos --rounds $(CHAOS_ROUNDS) --strict --output $(RELIABILITY_OUT)/chaos.json

chart-check:
	bash scripts/ci/chart-check.sh

## trace-check: a real serve exports OpenTelemetry spans to an OTLP/HTTP receiver on loopback (decoded with
## opentelemetry-proto); spans, parents, trace ids, access log and Server-Timing checked; then audit, maintain,
## poll and schedule export their steps' and pages' spans to it (scripts/ci/trace_check.py, trace_check_jobs.py).
trace-check: build
	bash scripts/ci/trace-check.sh --binary $(DEBUG_BIN)

## monitoring-check: promtool tests of the chart's alerts, then a live Prometheus scraping serve and
## schedule through a database outage (docs/operations.md).
monitoring-check: test-deps build
	bash scripts/ci/monitoring-check.sh --binary $(DEBUG_BIN)

## report-browser-check: a seeded audit's HTML report in headless Chromium (axe-core, 375/1280 px,
## console, the run's numbers, print layout). Its screenshot goes under .build (untracked), so a test
## run leaves the checkout clean; REPORT_SCREENSHOT=docs/audit-report.png refreshes the docs' one.
REPORT_SCREENSHOT ?= .build/report-browser-check/audit-report.png
report-browser-check: test-deps build
	mkdir -p $(dir $(REPORT_SCREENSHOT))
	bash scripts/ci/report-browser-check.sh --binary $(DEBUG_BIN) --screenshot $(REPORT_SCREENSHOT)

## image-check: the Dockerfile's runtime image without Docker: a debootstrap --variant=minbase root
## file system with exactly the final stage's packages (cached in .build-image), the binary built as
## the Dockerfile builds it, `migrate` and `serve` (/readyz, a bid) under chroot as the image's user.
image-check: test-deps
	python3 -m scripts.ci.image_check

clean:
	rm -rf .build .build-fuzz .build-asan .build-soak .build-reliability .build-image legacy/work
