#!/bin/sh
# Builds and runs the recovery benchmark (see bench/recovery/README.md); arguments go to the
# program, e.g. bench/recovery.sh -quick. Needs root. The binary is cached under
# ${XDG_CACHE_HOME:-$HOME/.cache}/vigil-bench/bin and exec'd (from the repository root, where
# it builds vigild), so Ctrl-C reaches it directly and it cleans up its namespaces and daemons.
set -eu
cd "$(dirname "$0")/.."
bin="${XDG_CACHE_HOME:-$HOME/.cache}/vigil-bench/bin"
mkdir -p "$bin"
go build -buildvcs=auto -o "$bin/vigil-bench-recovery" ./bench/recovery
exec "$bin/vigil-bench-recovery" "$@"
