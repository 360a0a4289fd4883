// Command recovery measures how long a site-to-site tunnel is down after a stale-SA fault,
// for Vigil and, as a baseline, for strongSwan on both ends.
//
//	go run ./bench/recovery [-runs 5] [-cap 240s] [-quick] [-only SCENARIO[,SCENARIO]] [-parallel 5] [-keep]
//		[-readme FILE]... [-section NAME]
//
// Every run builds a fresh four-namespace topology (prefix "vgr2"), brings the tunnel up,
// starts a 1 ms UDP echo probe stream hostA -> hostB (internal/probe), injects the fault and
// measures the outage: the gap from the last probe that made the round trip before the fault
// to the first one after it. The result is one line per scenario on stdout with the median
// and maximum over the runs, Vigil's next to strongSwan<->strongSwan's; progress and
// diagnostics go to stderr. See bench/recovery/README.md for the scenarios and durations.
// With -readme and -section it also writes the result lines into that section of the
// Markdown files (package bench/internal/readme; `make bench-readme`).
package main
