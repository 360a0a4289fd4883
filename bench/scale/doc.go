// Command scale measures how Vigil and strongSwan cope with many tunnels (issue #12): N
// tunnels from gwA to gwB of the site-to-site topology, each with its own IKE SA and Child SA,
// identities, pre-shared key and /28 subnets (package internal/scaleplan), for Vigil↔Vigil and
// strongSwan↔strongSwan (kernel-libipsec, its limits raised to Vigil's defaults).
//
//	go run ./bench/scale [-n 1000,10000,100000] [-systems vigil,strongswan] [-peers 1]
//	    [-timeout 300s] [-profile DIR] [-keep] [-readme FILE -section NAME]
//
// For each N and system it starts B (the responder, every tunnel configured) and records its
// idle memory, then starts A with every tunnel to be initiated at once and times until A
// reports N tunnels up. It prints one line per system and N (tunnels/s, memory per tunnel,
// idle memory, CPU time per tunnel) and a ratio line per N; see bench/README.md#scale.
// A system that does not bring all tunnels up within -timeout gets an "x of N up" line and is
// not run for larger N. With -peers P side A uses P IKE addresses (a hub B with P spokes).
package main
