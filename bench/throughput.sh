#!/bin/sh
# Builds and runs the throughput benchmark (see bench/README.md); arguments go to the program,
# e.g. bench/throughput.sh -quick. Needs root. The binary is cached under
# ${XDG_CACHE_HOME:-$HOME/.cache}/vigil-bench/bin and exec'd, so Ctrl-C reaches it directly
# and it cleans up its namespaces and daemons.
set -eu
cd "$(dirname "$0")/.."
bin="${XDG_CACHE_HOME:-$HOME/.cache}/vigil-bench/bin"
mkdir -p "$bin"
go build -buildvcs=auto -o "$bin/vigil-bench-throughput" ./bench/throughput
exec "$bin/vigil-bench-throughput" "$@"
