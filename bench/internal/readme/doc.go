// Package readme writes a benchmark program's result block into a Markdown file, between the
// marker lines of a named section:
//
//	<!-- bench:setup:begin -->
//	```text
//	setup vigil median 1.53ms p90 2.41ms min 1.04ms max 2.41ms (n=20)
//	...
//	```
//
//	Printed by `sudo bench/setup.sh` on 2026-05-01 at commit 0123456789ab.
//	<!-- bench:setup:end -->
//
// so that the figures in README.md and bench/README.md are the programs' own output, never
// typed by hand. Everything outside the markers is left byte for byte as it was, the file is
// replaced atomically (a crash leaves the old or the new file, never half of one), and writing
// the same block twice changes nothing. The programs take the flags -readme FILE (repeatable)
// and -section NAME through Target; `make bench-readme` runs them all.
package readme
