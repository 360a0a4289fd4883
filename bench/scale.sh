#!/bin/sh
# Builds and runs the scale benchmark (see bench/README.md); arguments go to the program,
# e.g. bench/scale.sh -n 1000,10000. Needs root. The binary is cached under
# ${XDG_CACHE_HOME:-$HOME/.cache}/vigil-bench/bin and exec'd, so Ctrl-C reaches it directly
# and it cleans up its namespaces and daemons. -buildvcs=auto: the figures it prints name the
# commit even where GOFLAGS turns stamping off.
set -eu
cd "$(dirname "$0")/.."
bin="${XDG_CACHE_HOME:-$HOME/.cache}/vigil-bench/bin"
mkdir -p "$bin"
go build -buildvcs=auto -o "$bin/vigil-bench-scale" ./bench/scale
exec "$bin/vigil-bench-scale" "$@"
