package tunudp

import (
	"errors"
	"net"
	"net/netip"

	"github.com/vigil-ipsec/vigil/dataplane"
	"github.com/vigil-ipsec/vigil/dataplane/sad"
)

// SetPolicy adds or replaces the policy of p.Tunnel and routes p.RemoteTS through the TUN
// device (with a preferred source address taken from p.LocalTS when one is local to this host).
// Routes shared by several tunnels are reference-counted.
func (d *Dataplane) SetPolicy(p dataplane.Policy) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return ErrClosed
	}
	if err := d.db.SetPolicy(p); err != nil {
		return err
	}
	var want []netip.Prefix
	seen := map[netip.Prefix]bool{}
	for _, s := range p.RemoteTS {
		for _, pf := range sad.RangePrefixes(s.StartAddr, s.EndAddr) {
			if !seen[pf] {
				seen[pf] = true
				want = append(want, pf)
			}
		}
	}
	old := d.polRoutes[p.Tunnel]
	return d.ns.do(func() error {
		src4, src6 := localSource(p.LocalTS)
		var errs []error
		for _, pf := range want {
			if r := d.routes[pf]; r != nil {
				if !contains(old, pf) {
					r.refs++
				}
				continue
			}
			src := src4
			if pf.Addr().Is6() {
				src = src6
			}
			if err := route(true, d.tunIndex, pf, src); err != nil {
				errs = append(errs, err)
				continue
			}
			d.routes[pf] = &routeRef{refs: 1, src: src}
		}
		var kept []netip.Prefix
		for _, pf := range want {
			if d.routes[pf] != nil {
				kept = append(kept, pf)
			}
		}
		for _, pf := range old {
			if !seen[pf] {
				errs = append(errs, d.unrefRoute(pf))
			}
		}
		d.polRoutes[p.Tunnel] = kept
		return errors.Join(errs...)
	})
}

// DeletePolicy removes a tunnel's policy, drops its hold queue and removes its routes.
func (d *Dataplane) DeletePolicy(tunnel string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.db.DeletePolicy(tunnel); err != nil {
		return err
	}
	old := d.polRoutes[tunnel]
	delete(d.polRoutes, tunnel)
	if d.closed || len(old) == 0 {
		return nil
	}
	return d.ns.do(func() error {
		var errs []error
		for _, pf := range old {
			errs = append(errs, d.unrefRoute(pf))
		}
		return errors.Join(errs...)
	})
}

// unrefRoute drops one reference to a route and deletes it with the last one. d.mu is held.
func (d *Dataplane) unrefRoute(pf netip.Prefix) error {
	r := d.routes[pf]
	if r == nil {
		return nil
	}
	if r.refs--; r.refs > 0 {
		return nil
	}
	delete(d.routes, pf)
	return route(false, d.tunIndex, pf, r.src)
}

func contains(l []netip.Prefix, p netip.Prefix) bool {
	for _, x := range l {
		if x == p {
			return true
		}
	}
	return false
}

// localSource picks, per family, an address of this host inside the local selectors: the
// first selector's start address if it is local, else the first local address any selector
// covers. Runs inside the dataplane's namespace.
func localSource(sels []dataplane.Selector) (v4, v6 netip.Addr) {
	ifAddrs, err := net.InterfaceAddrs()
	if err != nil {
		return
	}
	var local []netip.Addr
	isLocal := map[netip.Addr]bool{}
	for _, a := range ifAddrs {
		if n, ok := a.(*net.IPNet); ok {
			if x, ok := netip.AddrFromSlice(n.IP); ok {
				x = x.Unmap()
				local = append(local, x)
				isLocal[x] = true
			}
		}
	}
	set := func(a netip.Addr) {
		if a.Is4() && !v4.IsValid() {
			v4 = a
		} else if a.Is6() && !v6.IsValid() && !a.IsLinkLocalUnicast() {
			v6 = a
		}
	}
	for _, s := range sels {
		if isLocal[s.StartAddr] {
			set(s.StartAddr)
		}
	}
	for _, s := range sels {
		for _, a := range local {
			if !a.Less(s.StartAddr) && !s.EndAddr.Less(a) {
				set(a)
			}
		}
	}
	return
}
