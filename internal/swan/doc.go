// Package swan runs strongSwan's charon daemon (Debian 12, 5.9.8) as an IPsec
// peer for interoperability tests, each instance inside its own network
// namespace (package netns) and its own private mount namespace.
//
// The kernel of the test machines has no ESP support, so charon uses the
// kernel-libipsec plugin: a userspace ESP implementation behind a TUN device
// "ipsec0", with routes installed in routing table 220. libipsec handles only
// UDP-encapsulated ESP (RFC 3948) and no extended sequence numbers. charon
// knows this (the plugin requires UDP encapsulation), so it always sends
// faked NAT_DETECTION payloads: whatever Conf.Encap says, the peer sees a
// NAT, both sides float IKE to port 4500 and ESP is carried in UDP. Peers
// must therefore support NAT traversal and must not require ESN.
//
// Start writes strongswan.conf and swanctl.conf into a directory of the
// caller's, starts charon with STRONGSWAN_CONF pointing there and a private
// /run (so its fixed pid file /var/run/charon.pid does not collide), waits for
// its VICI socket and loads the connection with swanctl. The Charon methods
// drive it over VICI (github.com/strongswan/govici) and wait on VICI events.
package swan
