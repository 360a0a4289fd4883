# Makefile for Vigil developers. ./test.sh (what CI runs) uses the fuzz target.

GO       ?= go
FUZZTIME ?= 20000x

.PHONY: build test unit fuzz demo

build:
	$(GO) build -o bin/vigild ./cmd/vigild
	$(GO) build -o bin/vigil ./cmd/vigil

test:
	./test.sh

unit:
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 25m ./...

demo:
	./demo/run.sh

# fuzz: run each FuzzXxx target for $(FUZZTIME). Targets are discovered with
# `go test -list`, whose output is the target names of a package followed by
# its "ok <import path>" line.
fuzz:
	@set -eu; \
	list=$$($(GO) test -run '^$$' -list '^Fuzz' ./...); \
	targets=$$(printf '%s\n' "$$list" | awk '/^Fuzz/ { names[n++] = $$1; next } /^ok / { for (i = 0; i < n; i++) print $$2 " " names[i]; n = 0 }'); \
	if [ -z "$$targets" ]; then echo "fuzz: no targets found"; exit 0; fi; \
	printf '%s\n' "$$targets" | while read -r pkg name; do \
		echo "==> fuzz $$pkg $$name ($(FUZZTIME))"; \
		$(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) "$$pkg" || exit 1; \
	done
