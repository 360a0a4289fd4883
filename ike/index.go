package ike

import (
	"net/netip"
	"slices"
)

// The engine's indexes of tunnels and IKE SAs by peer. A gateway may carry 100,000 tunnels,
// all to one peer address: every lookup a message or a dataplane event needs is a map access
// here, and adding or removing a tunnel costs O(1), never a walk over a peer's tunnels.

// peer is what the engine knows of one configured remote address.
type peer struct {
	tunnels []*Tunnel // configured with this remote address, in no particular order
	v1      int       // how many of them speak IKEv1
	anyID   int       // how many of them have no remote identity (accept any; tests only)
	// established holds the IKE SAs in state IKEEstablished of those tunnels.
	established map[*IKESA]struct{}
}

// peerID keys the tunnels by remote address and remote identity: what IKE_AUTH and
// INITIAL_CONTACT look up.
type peerID struct {
	addr netip.Addr
	id   string // Identity.key of the remote identity
}

// peerSubnet keys the tunnels of a peerID by one of their remote subnets: tunnels that share a
// peer address and remote identity (several subnets to one site, each its own tunnel) are told
// apart in IKE_AUTH by the initiator's traffic selectors, which name one of them exactly when
// both sides configured the same subnets (the usual case).
type peerSubnet struct {
	peerID
	subnet netip.Prefix
}

// key is the identity as a map key.
func (id Identity) key() string { return string(rune(id.Type)) + string(id.Data) }

// indexTunnel adds t to the indexes (AddTunnel).
func (e *Engine) indexTunnel(t *Tunnel) {
	a := t.Cfg.Remote.Addr()
	p := e.peers[a]
	if p == nil {
		p = &peer{established: map[*IKESA]struct{}{}}
		e.peers[a] = p
	}
	t.peerPos = len(p.tunnels)
	p.tunnels = append(p.tunnels, t)
	if t.Cfg.Version == 1 {
		p.v1++
	}
	if len(t.Cfg.RemoteID.Data) == 0 {
		p.anyID++
	}
	t.remoteKey, t.localKey = t.Cfg.RemoteID.key(), t.Cfg.LocalID.key()
	k := peerID{a, t.remoteKey}
	t.idPos = len(e.byPeerID[k])
	e.byPeerID[k] = append(e.byPeerID[k], t)
	// A tunnel alone with its identity needs no more (most configurations: no memory for
	// this index); the second one indexes both.
	if l := e.byPeerID[k]; len(l) > 1 {
		for _, o := range l {
			e.indexSubnets(k, o)
		}
	}
}

// indexSubnets adds t, of the tunnels keyed by k, to byRemoteSubnet unless it is there.
func (e *Engine) indexSubnets(k peerID, t *Tunnel) {
	if t.bySubnet {
		return
	}
	if e.byRemoteSubnet == nil {
		e.byRemoteSubnet = map[peerSubnet][]*Tunnel{}
	}
	for _, p := range t.Cfg.RemoteTS {
		ks := peerSubnet{k, p.Masked()}
		e.byRemoteSubnet[ks] = append(e.byRemoteSubnet[ks], t)
	}
	t.bySubnet = true
}

// unindexSubnets removes t from byRemoteSubnet.
func (e *Engine) unindexSubnets(k peerID, t *Tunnel) {
	if !t.bySubnet {
		return
	}
	for _, p := range t.Cfg.RemoteTS {
		ks := peerSubnet{k, p.Masked()}
		l := e.byRemoteSubnet[ks]
		if i := slices.Index(l, t); i >= 0 {
			l = slices.Delete(l, i, i+1)
		}
		if len(l) == 0 {
			delete(e.byRemoteSubnet, ks)
		} else {
			e.byRemoteSubnet[ks] = l
		}
	}
	t.bySubnet = false
}

// unindexTunnel removes t from the indexes (RemoveTunnel), moving the last tunnel of each
// list into its slot.
func (e *Engine) unindexTunnel(t *Tunnel) {
	e.uncountTunnel(t)
	a := t.Cfg.Remote.Addr()
	if p := e.peers[a]; p != nil {
		p.tunnels = swapRemove(p.tunnels, t.peerPos, func(m *Tunnel) { m.peerPos = t.peerPos })
		if t.Cfg.Version == 1 {
			p.v1--
		}
		if len(t.Cfg.RemoteID.Data) == 0 {
			p.anyID--
		}
		if len(p.tunnels) == 0 && len(p.established) == 0 {
			delete(e.peers, a)
		}
	}
	k := peerID{a, t.remoteKey}
	e.unindexSubnets(k, t)
	if l := swapRemove(e.byPeerID[k], t.idPos, func(m *Tunnel) { m.idPos = t.idPos }); len(l) > 0 {
		e.byPeerID[k] = l
	} else {
		delete(e.byPeerID, k)
	}
}

// swapRemove removes element i of l by moving the last element there (moved tells it its new
// position) and returns the shorter list.
func swapRemove(l []*Tunnel, i int, moved func(*Tunnel)) []*Tunnel {
	last := len(l) - 1
	if i < 0 || i > last {
		return l
	}
	if i != last {
		l[i] = l[last]
		moved(l[i])
	}
	l[last] = nil
	return l[:last]
}

// TunnelsTo returns the tunnels configured with remote address addr (loop only; do not keep
// the slice; its order changes as tunnels come and go).
func (e *Engine) TunnelsTo(addr netip.Addr) []*Tunnel {
	if p := e.peers[addr]; p != nil {
		return p.tunnels
	}
	return nil
}

// TunnelsToAnyID returns the tunnels configured with remote address addr, if any of them has
// no remote identity (and so accepts any); nil otherwise, without a walk: the configuration
// always sets one, only engine tests leave it out (loop only; do not keep the slice).
func (e *Engine) TunnelsToAnyID(addr netip.Addr) []*Tunnel {
	if p := e.peers[addr]; p != nil && p.anyID > 0 {
		return p.tunnels
	}
	return nil
}

// TunnelsFor returns the tunnels configured with remote address addr and remote identity id
// (loop only; do not keep the slice).
func (e *Engine) TunnelsFor(addr netip.Addr, id Identity) []*Tunnel {
	return e.byPeerID[peerID{addr, id.key()}]
}

// TunnelsForSubnet returns the tunnels configured with remote address addr, remote identity id
// and the remote subnet p, when more than one tunnel has that address and identity; nil
// otherwise (loop only; do not keep the slice). The caller falls back on TunnelsFor.
func (e *Engine) TunnelsForSubnet(addr netip.Addr, id Identity, p netip.Prefix) []*Tunnel {
	return e.byRemoteSubnet[peerSubnet{peerID{addr, id.key()}, p.Masked()}]
}

// sameIdentities returns the tunnels with t's remote address and both its identities.
func (e *Engine) sameIdentities(t *Tunnel, f func(*Tunnel)) {
	for _, o := range e.byPeerID[peerID{t.Cfg.Remote.Addr(), t.remoteKey}] {
		if o.localKey == t.localKey {
			f(o)
		}
	}
}

// IKEByPeer returns an established IKE SA of a tunnel configured with remote address addr,
// with which we can talk to that peer, if any (loop only).
func (e *Engine) IKEByPeer(addr netip.Addr) *IKESA {
	if p := e.peers[addr]; p != nil {
		for sa := range p.established {
			return sa
		}
	}
	return nil
}

// peerVersion is the IKE version to speak to addr in an unprotected notify: 1 if every
// tunnel configured with that address is IKEv1, else 2.
func (e *Engine) peerVersion(addr netip.Addr) int {
	if p := e.peers[addr]; p != nil && len(p.tunnels) > 0 && p.v1 == len(p.tunnels) {
		return 1
	}
	return 2
}

// SetIKEState moves sa to state st, keeping the index of established IKE SAs and the counts
// (loop only). Every change of an IKE SA's state goes through here.
func (e *Engine) SetIKEState(sa *IKESA, st IKEState) {
	e.recountIKE(sa, st)
	defer e.noteTunnel(sa.Tunnel)
	if sa.State == st {
		return
	}
	if p := sa.estPeer; p != nil {
		delete(p.established, sa)
		sa.estPeer = nil
		if len(p.established) == 0 && len(p.tunnels) == 0 && e.peers[sa.estAddr] == p {
			delete(e.peers, sa.estAddr)
		}
	}
	sa.State = st
	if st == IKEEstablished && sa.Tunnel != nil {
		a := sa.Tunnel.Cfg.Remote.Addr()
		p := e.peers[a]
		if p == nil { // the tunnel was removed meanwhile
			p = &peer{established: map[*IKESA]struct{}{}}
			e.peers[a] = p
		}
		p.established[sa] = struct{}{}
		sa.estPeer, sa.estAddr = p, a
	}
}
