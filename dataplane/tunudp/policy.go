package tunudp

import (
	"net"
	"net/netip"
	"slices"

	"github.com/vigil-ipsec/vigil/dataplane"
	"github.com/vigil-ipsec/vigil/dataplane/sad"
)

// SetPolicy adds or replaces the policy of p.Tunnel and routes p.RemoteTS through the TUN
// device (with a preferred source address taken from p.LocalTS when one is local to this host).
// Routes shared by several tunnels are reference-counted. The router applies the route
// changes in the background (routes.go), so that many policies set at once cost few system
// calls; a policy with an outbound SA (traffic about to flow) waits for its routes.
func (d *Dataplane) SetPolicy(p dataplane.Policy) error {
	return d.SetPolicies([]dataplane.Policy{p})
}

// SetPolicies sets many policies as one change of the SA database, and their routes.
func (d *Dataplane) SetPolicies(ps []dataplane.Policy) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return ErrClosed
	}
	if err := d.db.SetPolicies(ps); err != nil {
		return err
	}
	var ops []routeOp
	wait := false
	for _, p := range ps {
		n := len(ops)
		ops = d.policyRoutes(ops, p)
		wait = wait || (p.OutChild != 0 && len(ops) > n)
	}
	if d.rt != nil && len(ops) > 0 {
		d.rt.enqueue(ops...)
		if wait {
			d.rt.sync()
		}
	}
	return nil
}

// policyRoutes updates the route references for p's remote selectors and appends the
// route changes that follow. d.mu is held.
func (d *Dataplane) policyRoutes(ops []routeOp, p dataplane.Policy) []routeOp {
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
	for _, pf := range want {
		if contains(old, pf) {
			continue
		}
		d.routes[pf]++
		if d.routes[pf] == 1 {
			ops = append(ops, routeOp{add: true, dst: pf, local: p.LocalTS})
		}
	}
	for _, pf := range old {
		if !seen[pf] {
			ops = append(ops, d.unrefRoute(pf)...)
		}
	}
	d.polRoutes[p.Tunnel] = want
	return ops
}

// DeletePolicy removes a tunnel's policy and the routes only it needed.
func (d *Dataplane) DeletePolicy(tunnel string) error {
	return d.DeletePolicies([]string{tunnel})
}

// DeletePolicies removes many tunnels' policies as one change, and the routes only they
// needed.
func (d *Dataplane) DeletePolicies(tunnels []string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.db.DeletePolicies(tunnels); err != nil {
		return err
	}
	if d.closed {
		return nil
	}
	var ops []routeOp
	for _, t := range tunnels {
		for _, pf := range d.polRoutes[t] {
			ops = append(ops, d.unrefRoute(pf)...)
		}
		delete(d.polRoutes, t)
	}
	if d.rt != nil && len(ops) > 0 {
		d.rt.enqueue(ops...)
	}
	return nil
}

// unrefRoute drops one reference to a route and returns its removal with the last one. d.mu
// is held.
func (d *Dataplane) unrefRoute(pf netip.Prefix) []routeOp {
	n, ok := d.routes[pf]
	if !ok {
		return nil
	}
	if n > 1 {
		d.routes[pf] = n - 1
		return nil
	}
	delete(d.routes, pf)
	return []routeOp{{dst: pf}}
}

// syncRoutes waits until the kernel has every route change made so far.
func (d *Dataplane) syncRoutes() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.rt != nil && !d.closed {
		d.rt.sync()
	}
}

func contains(l []netip.Prefix, p netip.Prefix) bool {
	for _, x := range l {
		if x == p {
			return true
		}
	}
	return false
}

// hostAddrs lists this host's addresses (in the calling thread's namespace).
func hostAddrs() []netip.Addr {
	ifAddrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil
	}
	var local []netip.Addr
	for _, a := range ifAddrs {
		if n, ok := a.(*net.IPNet); ok {
			if x, ok := netip.AddrFromSlice(n.IP); ok {
				local = append(local, x.Unmap())
			}
		}
	}
	return local
}

// pickSource picks, per family, an address of this host (local) inside the local selectors:
// the first selector's start address if it is local, else the first local address any
// selector covers.
func pickSource(sels []dataplane.Selector, local []netip.Addr) (v4, v6 netip.Addr) {
	set := func(a netip.Addr) {
		if a.Is4() && !v4.IsValid() {
			v4 = a
		} else if a.Is6() && !v6.IsValid() && !a.IsLinkLocalUnicast() {
			v6 = a
		}
	}
	for _, s := range sels {
		if slices.Contains(local, s.StartAddr) {
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
