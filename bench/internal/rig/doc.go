// Package rig is the shared machinery of the Vigil benchmark programs under bench/: it
// builds the four-namespace site-to-site topology without a testing.TB, runs vigild,
// strongSwan's charon and wireguard-go in it, drives iperf3, reads daemons' CPU time from
// /proc and summarises samples.
//
// Everything that starts a process or creates a namespace registers its undo on a Cleanup
// stack, so a benchmark program removes what it made on success, on error and on SIGINT/SIGTERM.
// Nothing here is used by `go test ./...` except the unit tests of the parsers.
package rig
