// Package netns is test infrastructure for running code and processes inside
// Linux network namespaces.
//
// It wraps iproute2 ("ip netns ...") for creating namespaces, veth links,
// addresses and routes, and golang.org/x/sys/unix Setns for running Go code
// (opening sockets or TUN devices) inside a namespace from the test process.
// Ping sends ICMP echo from a namespace without needing a ping binary.
// NewSiteToSite builds the four-namespace topology used by the IPsec interop
// tests:
//
//	hostA 10.1.0.2 ── 10.1.0.1 gwA 192.0.2.1 ── 192.0.2.2 gwB 10.2.0.1 ── 10.2.0.2 hostB
//
// Everything here needs root; tests call Available (or NewSiteToSite, which
// does it for them) and skip when it reports an error.
package netns
