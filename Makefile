# Makefile for Vigil developers. ./test.sh (what CI runs) uses the fuzz target.

GO       ?= go
FUZZTIME ?= 20000x

.PHONY: build test unit fuzz demo bench-readme

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

# bench-readme: run the benchmark programs and write each one's result block between the
# <!-- bench:NAME:begin --> and <!-- bench:NAME:end --> lines of README.md and bench/README.md
# (package bench/internal/readme), so that no figure in them is typed by hand. Needs root and
# an otherwise idle machine; takes about 55 minutes. The two recovery runs measure disjoint
# scenarios: the peer-side faults for the Benchmarks section, the heal lines for "How recovery
# works". Commit the changed files afterwards.
bench-readme:
	@test "$$(id -u)" -eq 0 || { echo "bench-readme: needs root (sudo make bench-readme)" >&2; exit 1; }
	bench/throughput.sh -readme README.md -readme bench/README.md -section throughput
	bench/setup.sh -readme README.md -readme bench/README.md -section setup
	bench/recovery.sh -only silent-child-loss,peer-restart,silent-child-loss-v1,peer-restart-v1 -readme README.md -readme bench/README.md -section recovery
	bench/recovery.sh -only child-lost-here,restart-here,restart-here-nodpd -readme README.md -section recovery-heal
	bench/scale.sh -n 1000,10000,100000 -readme README.md -readme bench/README.md -section scale
	bench/scale.sh -n 1000,10000 -peers 1000 -readme bench/README.md -section scale-peers
