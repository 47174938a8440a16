# BidEngine — `make run` serves, `make test` proves. Both install what is missing first.
SHELL := /bin/bash
SWIFT ?= swift
APT_PACKAGES := pkg-config libevent-dev libpq-dev postgresql php-cli
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
DEBUG_BIN := .build/debug/bidengine
RELEASE_BIN := .build/release/bidengine

.PHONY: help deps build release run test unit-test parity contract chart-check lint clean

help:
	@echo "make run    install missing system packages, build (release), serve on :8080"
	@echo "            (embedded PostgreSQL under ./.bidengine unless DATABASE_URL is set)"
	@echo "make test   install missing system packages, build, run every test"

## deps: install the Debian packages BidEngine builds and tests against, only those missing.
deps:
	@missing=""; for p in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	else echo "system packages present: $(APT_PACKAGES)"; fi

build: deps
	$(SWIFT) build --product bidengine

release: deps
	$(SWIFT) build -c release --product bidengine

run: release
	$(RELEASE_BIN) serve

## test: unit and integration tests (real sockets, real PostgreSQL), PHP parity, chart checks.
test: deps
	$(MAKE) --no-print-directory lint
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build
	$(MAKE) --no-print-directory parity
	$(MAKE) --no-print-directory contract
	$(MAKE) --no-print-directory chart-check

unit-test: deps
	$(SWIFT) test

parity: build
	bash legacy/parity.sh $(DEBUG_BIN)

## contract: schemathesis drives a live server from openapi.yaml (no 5xx, every response matches the spec).
contract: build
	bash scripts/schemathesis.sh --start $(DEBUG_BIN)

## lint: the style gate; .swift-format holds the rules (swift-format ships with the toolchain).
lint:
	$(SWIFT) format lint --strict --recursive --parallel Sources Tests Benchmarks Package.swift

chart-check:
	bash scripts/chart-check.sh

clean:
	rm -rf .build legacy/work
