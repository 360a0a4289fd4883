#!/usr/bin/env bash
# Runs every Vigil test on this machine: installs what the tests need (Debian packages, Go
# modules), then go vet, all unit, netns and strongSwan interop tests, a short run of every
# fuzz target, and the demo in its quick mode. Run as root (network namespaces).
#
#   sudo ./test.sh            # everything
#   FUZZTIME=30s ./test.sh    # longer fuzzing (a count like 20000x or a duration)
set -euo pipefail
cd "$(dirname "$0")"
export PATH="$PATH:/usr/local/go/bin"
step() { printf '\n=== %s: %s\n' "$(date -u +%H:%M:%S)" "$*"; }

step "dependencies"
./scripts/install-deps.sh
go version
go mod download

step "go vet"
go vet ./...

step "go test (unit, netns, strongSwan interop)"
go test -count=1 -timeout 25m ./...

step "fuzz targets (${FUZZTIME:-20000x} each)"
make --no-print-directory fuzz FUZZTIME="${FUZZTIME:-20000x}"

step "demo (quick mode)"
./demo/run.sh --quick

step "all tests passed"
