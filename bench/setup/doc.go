// Command setup measures how long it takes to establish an IKE SA and its first Child SA
// between two gateways of the site-to-site topology (four network namespaces), for
// Vigil↔Vigil and strongSwan↔strongSwan (kernel-libipsec), both with
// aes128gcm16-prfsha256-x25519 / aes128gcm16 and a PSK.
//
//	go run ./bench/setup [-n 20] [-quick] [-systems vigil,strongswan] [-readme FILE]... [-section NAME]
//
// Every run brings the tunnel up from gwA, records the time and takes it down again,
// waiting until both sides hold no SAs. It prints the median and 90th percentile per
// system and the strongSwan/Vigil ratio; see bench/README.md.
// With -readme and -section it also writes the result lines into that section of the
// Markdown files (package bench/internal/readme; `make bench-readme`).
package main
