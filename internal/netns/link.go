package netns

import (
	"fmt"
	"net/netip"
)

// checkIfName rejects interface names the kernel would refuse.
func checkIfName(name string) error {
	if name == "" || len(name) > 15 || name == "." || name == ".." {
		return fmt.Errorf("netns: invalid interface name %q (1-15 characters)", name)
	}
	for _, r := range name {
		if r == '/' || r == ':' || r <= ' ' || r > '~' {
			return fmt.Errorf("netns: invalid character %q in interface name %q", r, name)
		}
	}
	return nil
}

// Veth creates a veth pair with end aIf in a and end bIf in b, assigns the
// addresses (address plus prefix length, e.g. 10.1.0.1/24) and brings both
// ends up. The pair is created directly inside the namespaces, so the same
// interface names can be reused across namespaces.
func Veth(a *NS, aIf string, aAddr netip.Prefix, b *NS, bIf string, bAddr netip.Prefix) error {
	for _, name := range []string{aIf, bIf} {
		if err := checkIfName(name); err != nil {
			return err
		}
	}
	for _, p := range []netip.Prefix{aAddr, bAddr} {
		if !p.IsValid() {
			return fmt.Errorf("netns: invalid interface address %v", p)
		}
	}
	if err := a.ip("link", "add", aIf, "type", "veth", "peer", "name", bIf, "netns", b.Name); err != nil {
		return err
	}
	for _, e := range []struct {
		ns   *NS
		dev  string
		addr netip.Prefix
	}{{a, aIf, aAddr}, {b, bIf, bAddr}} {
		if err := e.ns.ip("addr", "add", e.addr.String(), "dev", e.dev); err != nil {
			return err
		}
		if err := e.ns.ip("link", "set", e.dev, "up"); err != nil {
			return err
		}
	}
	return nil
}

// AddRoute adds a route to dst via the gateway via inside the namespace.
// Use netip.MustParsePrefix("0.0.0.0/0") for a default route.
func (n *NS) AddRoute(dst netip.Prefix, via netip.Addr) error {
	if !dst.IsValid() || !via.IsValid() {
		return fmt.Errorf("netns %s: invalid route %v via %v", n.Name, dst, via)
	}
	return n.ip("route", "add", dst.Masked().String(), "via", via.String())
}
