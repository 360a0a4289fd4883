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
	// The routes a tunnel had are those of its installed policy (the database keeps them;
	// nothing else does): read them before the batch replaces it.
	var old [][]netip.Prefix
	for _, p := range ps {
		var pfs []netip.Prefix
		if op, ok := d.db.Policy(p.Tunnel); ok {
			pfs = op.RemotePrefixes(nil)
		}
		old = append(old, pfs)
	}
	if err := d.db.SetPolicies(ps); err != nil {
		return err
	}
	var ops []routeOp
	var batch map[string][]netip.Prefix // a tunnel's routes so far in this batch
	if len(ps) > 1 {
		batch = make(map[string][]netip.Prefix, len(ps))
	}
	wait := false
	for i, p := range ps {
		prev, want := old[i], policyPrefixes(p)
		if batch != nil {
			// A tunnel named twice in one batch: its earlier entry is what the later replaces.
			if pfs, ok := batch[p.Tunnel]; ok {
				prev = pfs
			}
			batch[p.Tunnel] = want
		}
		n := len(ops)
		ops = d.policyRoutes(ops, prev, want, p.LocalTS)
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

// policyPrefixes returns the distinct prefixes that cover p's remote selectors: the routes
// it needs.
func policyPrefixes(p dataplane.Policy) []netip.Prefix {
	var out []netip.Prefix
	for _, s := range p.RemoteTS {
		for _, pf := range sad.RangePrefixes(s.StartAddr, s.EndAddr) {
			if !slices.Contains(out, pf) {
				out = append(out, pf)
			}
		}
	}
	return out
}

// policyRoutes moves a tunnel's route references from the prefixes old to want and appends
// the route changes that follow (new routes get a preferred source address from local). d.mu
// is held.
func (d *Dataplane) policyRoutes(ops []routeOp, old, want []netip.Prefix, local []dataplane.Selector) []routeOp {
	for _, pf := range want {
		if slices.Contains(old, pf) {
			continue
		}
		d.routes[pf]++
		if d.routes[pf] == 1 {
			ops = append(ops, routeOp{add: true, dst: pf, local: local})
		}
	}
	for _, pf := range old {
		if !slices.Contains(want, pf) {
			ops = append(ops, d.unrefRoute(pf)...)
		}
	}
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
	// The routes the tunnels had are those of their installed policies: read them before
	// they go. (A batch naming a tunnel without a policy, or one twice, changes nothing.)
	var old []netip.Prefix
	if !d.closed {
		for _, t := range tunnels {
			if p, ok := d.db.Policy(t); ok {
				old = p.RemotePrefixes(old)
			}
		}
	}
	if err := d.db.DeletePolicies(tunnels); err != nil {
		return err
	}
	if d.closed {
		return nil
	}
	var ops []routeOp
	for _, pf := range old {
		ops = append(ops, d.unrefRoute(pf)...)
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
