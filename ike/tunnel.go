package ike

import (
	"net/netip"
	"time"

	"github.com/vigil-ipsec/vigil/crypto"
	"github.com/vigil-ipsec/vigil/dataplane"
	"github.com/vigil-ipsec/vigil/ikev2/wire"
)

// StartAction says when a tunnel is initiated.
type StartAction uint8

const (
	StartNone  StartAction = iota // respond only
	StartTrap                     // initiate when traffic needs it (dataplane acquire)
	StartStart                    // initiate at start-up and keep up
)

// EncapMode selects how ESP is carried.
type EncapMode uint8

const (
	EncapAuto EncapMode = iota // ESP-in-UDP when a NAT is detected, raw ESP otherwise
	EncapUDP                   // always ESP-in-UDP (IKE floats to port 4500 after IKE_SA_INIT)
	EncapRaw                   // raw ESP unless a NAT forces UDP
)

// Identity is an IKEv2 identification (ID type and its wire data).
type Identity struct {
	Type wire.IDType
	Data []byte
}

func (id Identity) key() string { return string(rune(id.Type)) + string(id.Data) }

// TunnelConfig is one configured site-to-site tunnel: one IKE SA and one Child SA.
type TunnelConfig struct {
	Name             string
	Version          int            // IKE version: 1 (IKEv1, RFC 2409), or 0/2 (IKEv2)
	Local, Remote    netip.AddrPort // IKE addresses (port 500 normally)
	LocalID          Identity
	RemoteID         Identity
	PSK              []byte
	LocalTS          []netip.Prefix
	RemoteTS         []netip.Prefix
	IKEProposals     []crypto.Proposal
	ESPProposals     []crypto.Proposal
	IKELifetime      time.Duration // rekey interval, 0 = never
	ChildLifetime    time.Duration // rekey interval, 0 = never
	ChildLifeBytes   uint64
	ChildLifePackets uint64
	StartAction      StartAction
	Encap            EncapMode
	DPDDelay         time.Duration // liveness check after this much silence with outbound traffic
	DPDTimeout       time.Duration // retransmission budget of any request
	ReplayWindow     int
}

// TunnelState summarises a tunnel for operators.
type TunnelState uint8

const (
	TunnelDown TunnelState = iota
	TunnelConnecting
	TunnelUp
)

func (s TunnelState) String() string {
	switch s {
	case TunnelUp:
		return "up"
	case TunnelConnecting:
		return "connecting"
	}
	return "down"
}

// Tunnel is the runtime state of a configured tunnel.
type Tunnel struct {
	Cfg   *TunnelConfig
	IKE   *IKESA   // current IKE SA (nil if none)
	Child *ChildSA // newest installed Child SA (nil if none)
	// active is the Child SA the outbound policy points at; during a rekey it may still be the
	// old one while Child is the new one.
	active *ChildSA
	Since  time.Time

	removed bool // deleted from the configuration
}

// State reports the tunnel's state.
func (t *Tunnel) State() TunnelState {
	switch {
	case t.Child != nil && t.IKE != nil && t.IKE.State == IKEEstablished:
		return TunnelUp
	case t.IKE != nil:
		return TunnelConnecting
	}
	return TunnelDown
}

// selectors converts prefixes into dataplane selectors.
func selectors(ps []netip.Prefix) []dataplane.Selector {
	out := make([]dataplane.Selector, 0, len(ps))
	for _, p := range ps {
		s, e := prefixRange(p)
		out = append(out, dataplane.Selector{StartAddr: s, EndAddr: e, EndPort: 0xffff})
	}
	return out
}
