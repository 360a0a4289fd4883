package ike

import (
	"net/netip"

	"github.com/vigil-ipsec/vigil/dataplane"
)

// PeerMoved applies the addresses an authenticated request arrived on to sa. The peer's
// address and port may change only when a NAT was detected between us (RFC 7296 2.23: the
// NAT may have re-mapped the peer), and the move from port 500 to the NAT-T port is always
// allowed (the peer floated). Anything else is answered where it came from but moves nothing:
// an authenticated peer must not redirect its SAs (and the ESP of its Child SAs) at will, and
// an on-path attacker replaying a request from another address must not either.
func (e *Engine) PeerMoved(sa *IKESA, local, remote netip.AddrPort) {
	if remote == sa.Remote && local == sa.Local {
		return
	}
	floated := remote.Addr() == sa.Remote.Addr() && remote.Port() == e.cfg.NATTPort && local.Port() == e.cfg.NATTPort
	if !floated && !sa.NATRemote && !sa.NATLocal {
		e.stats.AddressChangesRefused++
		e.log.Debug("authenticated request from another address without NAT: SA not moved", "ike", sa.String(), "sa_remote", sa.Remote, "from", remote)
		return
	}
	if local.Addr() != sa.Local.Addr() && !floated {
		// Our own address is configured, not learnt: the request reached another of our
		// addresses. Answer it, but keep the SA where it is.
		return
	}
	old := sa.Remote
	if old.Addr() != remote.Addr() {
		for _, c := range sa.children {
			if o := e.outSPIs[outKey{remote.Addr(), c.SPIOut}]; o != nil && o != c && c.State != ChildDeleted {
				// Another peer at the new address already receives on that SPI: the two
				// could not be told apart there.
				e.stats.AddressChangesRefused++
				e.log.Info("peer moved to an address where its SPI is taken: SA not moved", "tunnel", sa.TunnelName(), "ike", sa.String(), "to", remote)
				return
			}
		}
		e.log.Info("peer behind NAT moved: following it", "tunnel", sa.TunnelName(), "ike", sa.String(), "from", old, "to", remote)
	}
	sa.Local, sa.Remote = local, remote
	e.rehomeChildren(sa, old)
}

// rehomeChildren re-indexes sa's Child SAs after the peer's address changed from old, and
// points their ESP at the new address.
func (e *Engine) rehomeChildren(sa *IKESA, old netip.AddrPort) {
	for _, c := range sa.children {
		if c.State == ChildDeleted {
			continue
		}
		if old.Addr() != sa.Remote.Addr() {
			k := outKey{old.Addr(), c.SPIOut}
			if e.outSPIs[k] == c {
				delete(e.outSPIs, k)
			}
			e.outSPIs[outKey{sa.Remote.Addr(), c.SPIOut}] = c
		}
		remote := netip.AddrPortFrom(sa.Remote.Addr(), 0)
		if c.Encap == dataplane.EncapUDP {
			remote = sa.Remote
			if remote.Port() == e.cfg.IKEPort {
				remote = netip.AddrPortFrom(remote.Addr(), e.cfg.NATTPort)
			}
		}
		if err := e.dp.UpdateRemote(c.ID, remote); err != nil {
			e.log.Warn("moving a Child SA to the peer's new address failed", "tunnel", sa.TunnelName(), "child", c.ID, "to", remote, "err", err)
		}
	}
}
