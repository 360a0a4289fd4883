package gateway

import (
	"fmt"
	"net/netip"

	"github.com/vigil-ipsec/vigil/config"
	"github.com/vigil-ipsec/vigil/crypto"
	"github.com/vigil-ipsec/vigil/ikev2"
	"github.com/vigil-ipsec/vigil/ikev2/wire"
)

// tunnelConfig converts a validated configuration tunnel into the engine's form.
func tunnelConfig(g config.Global, t *config.Tunnel) (*ikev2.TunnelConfig, error) {
	ike, err := crypto.ParseProposals(t.IKEProposals, true)
	if err != nil {
		return nil, fmt.Errorf("tunnel %s: ike_proposals: %w", t.Name, err)
	}
	esp, err := crypto.ParseProposals(t.ESPProposals, false)
	if err != nil {
		return nil, fmt.Errorf("tunnel %s: esp_proposals: %w", t.Name, err)
	}
	lp, rp := t.LocalPort, t.RemotePort
	if lp == 0 {
		lp = g.IKEPort
	}
	if rp == 0 {
		rp = g.IKEPort
	}
	c := &ikev2.TunnelConfig{
		Name:             t.Name,
		Local:            netip.AddrPortFrom(t.LocalAddr, uint16(lp)),
		Remote:           netip.AddrPortFrom(t.RemoteAddr, uint16(rp)),
		LocalID:          ikev2.Identity{Type: wire.IDType(t.LocalID.Type), Data: t.LocalID.Value},
		RemoteID:         ikev2.Identity{Type: wire.IDType(t.RemoteID.Type), Data: t.RemoteID.Value},
		PSK:              t.PSK.Bytes(),
		LocalTS:          t.LocalTS,
		RemoteTS:         t.RemoteTS,
		IKEProposals:     ike,
		ESPProposals:     esp,
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
		c.StartAction = ikev2.StartStart
	case "trap":
		c.StartAction = ikev2.StartTrap
	default:
		c.StartAction = ikev2.StartNone
	}
	switch t.Encap {
	case "udp":
		c.Encap = ikev2.EncapUDP
	case "raw":
		c.Encap = ikev2.EncapRaw
	default:
		c.Encap = ikev2.EncapAuto
	}
	return c, nil
}
