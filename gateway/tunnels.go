package gateway

import (
	"net/netip"

	"github.com/vigil-ipsec/vigil/config"
	"github.com/vigil-ipsec/vigil/ike"
)

// tunnelConfig converts a validated configuration tunnel into the engine's form. The
// proposals are the ones config parsed; the engine shares them and only reads them.
func tunnelConfig(g config.Global, t *config.Tunnel) ike.TunnelConfig {
	lp, rp := t.LocalPort, t.RemotePort
	if lp == 0 {
		lp = g.IKEPort
	}
	if rp == 0 {
		rp = g.IKEPort
	}
	c := ike.TunnelConfig{
		Name:             t.Name,
		Version:          t.Version,
		Local:            netip.AddrPortFrom(t.LocalAddr, uint16(lp)),
		Remote:           netip.AddrPortFrom(t.RemoteAddr, uint16(rp)),
		LocalID:          ike.Identity{Type: ike.IDType(t.LocalID.Type), Data: t.LocalID.Value},
		RemoteID:         ike.Identity{Type: ike.IDType(t.RemoteID.Type), Data: t.RemoteID.Value},
		PSK:              t.PSK.Bytes(),
		LocalTS:          t.LocalTS,
		RemoteTS:         t.RemoteTS,
		IKEProposals:     t.IKEParsed,
		ESPProposals:     t.ESPParsed,
		IKELifetime:      t.IKELifetime,
		ChildLifetime:    t.ChildLifetime,
		ChildLifeBytes:   t.ChildLifeBytes,
		ChildLifePackets: t.ChildLifePackets,
		DPDDelay:         t.DPDDelay,
		DPDTimeout:       t.DPDTimeout,
		ReplayWindow:     t.ReplayWindow,
	}
	switch t.StartAction {
	case "start":
		c.StartAction = ike.StartStart
	case "trap":
		c.StartAction = ike.StartTrap
	default:
		c.StartAction = ike.StartNone
	}
	switch t.Encap {
	case "udp":
		c.Encap = ike.EncapUDP
	case "raw":
		c.Encap = ike.EncapRaw
	default:
		c.Encap = ike.EncapAuto
	}
	return c
}
