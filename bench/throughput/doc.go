// Command throughput measures iperf3 TCP throughput from hostA to hostB of the
// site-to-site topology (four network namespaces) through Vigil↔Vigil (ESP in UDP and
// raw ESP), strongSwan↔strongSwan (kernel-libipsec) and wireguard-go↔wireguard-go, all
// with AES-128-GCM (ChaCha20-Poly1305 for WireGuard, which has no choice), and the CPU
// time each gateway daemon used meanwhile.
//
//	go run ./bench/throughput [-duration 10s] [-quick] [-systems vigil-udp,vigil-raw,strongswan,wireguard-go]
//		[-readme FILE]... [-section NAME]
//
// It prints one line per system and stream count, then ratio lines; see bench/README.md.
// It needs root, iperf3, iproute2, strongSwan (charon, swanctl) and wg (wireguard-tools).
// With -readme and -section it also writes the result lines into that section of the
// Markdown files (package bench/internal/readme; `make bench-readme`).
package main
