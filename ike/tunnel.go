package ike

import (
	"bytes"
	"crypto/subtle"
	"net/netip"
	"slices"
	"time"

	"github.com/vigil-ipsec/vigil/crypto"
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

// IDType is an identification type. IKEv1 (RFC 2407 4.6.2.1) and IKEv2 (RFC 7296 3.5) number
// the types an identity can have here alike.
type IDType uint8

const (
	IDIPv4   IDType = 1
	IDFQDN   IDType = 2
	IDRFC822 IDType = 3 // user@fqdn
	IDIPv6   IDType = 5
	IDDN     IDType = 9 // DER ASN.1 distinguished name
	IDKeyID  IDType = 11
)

// Identity is an identification: its type and its data as sent on the wire.
type Identity struct {
	Type IDType
	Data []byte
}

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

	removed   bool // deleted from the configuration
	countedUp bool // counted in the engine's tunnels up (counts.go)

	// The engine's indexes (index.go): the identities as keys, and the tunnel's slots in the
	// lists of its peer and of its peer and remote identity.
	remoteKey, localKey string
	peerPos, idPos      int
	bySubnet            bool // in the engine's byRemoteSubnet index (index.go)
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

// Selectors turns prefixes into selectors (any protocol, all ports).
func Selectors(ps []netip.Prefix) []Selector {
	out := make([]Selector, 0, len(ps))
	for _, p := range ps {
		s, e := PrefixRange(p)
		out = append(out, Selector{StartAddr: s, EndAddr: e, EndPort: 0xffff})
	}
	return out
}

// Removed reports whether the tunnel was deleted from the configuration.
func (t *Tunnel) Removed() bool { return t.removed }

// Equal reports whether c and o configure a tunnel alike, field by field (a reload keeps a
// tunnel whose configuration is Equal to the running one). It is what reflect.DeepEqual says,
// at a fraction of the cost for 100,000 tunnels: proposals shared by many tunnels compare
// by identity first.
func (c *TunnelConfig) Equal(o *TunnelConfig) bool {
	return c.Name == o.Name && c.Version == o.Version && c.Local == o.Local && c.Remote == o.Remote &&
		c.LocalID.Type == o.LocalID.Type && bytes.Equal(c.LocalID.Data, o.LocalID.Data) &&
		c.RemoteID.Type == o.RemoteID.Type && bytes.Equal(c.RemoteID.Data, o.RemoteID.Data) &&
		subtle.ConstantTimeCompare(c.PSK, o.PSK) == 1 && (len(c.PSK) == 0) == (len(o.PSK) == 0) &&
		slices.Equal(c.LocalTS, o.LocalTS) && slices.Equal(c.RemoteTS, o.RemoteTS) &&
		sameProposals(c.IKEProposals, o.IKEProposals) && sameProposals(c.ESPProposals, o.ESPProposals) &&
		c.IKELifetime == o.IKELifetime && c.ChildLifetime == o.ChildLifetime &&
		c.ChildLifeBytes == o.ChildLifeBytes && c.ChildLifePackets == o.ChildLifePackets &&
		c.StartAction == o.StartAction && c.Encap == o.Encap &&
		c.DPDDelay == o.DPDDelay && c.DPDTimeout == o.DPDTimeout && c.ReplayWindow == o.ReplayWindow
}

// sameProposals compares proposal lists: the same list (as config shares them), or equal ones.
func sameProposals(a, b []crypto.Proposal) bool {
	if len(a) != len(b) {
		return false
	}
	if len(a) == 0 || &a[0] == &b[0] {
		return true
	}
	return slices.EqualFunc(a, b, func(x, y crypto.Proposal) bool {
		return slices.Equal(x.Encr, y.Encr) && slices.Equal(x.PRF, y.PRF) && slices.Equal(x.Integ, y.Integ) &&
			slices.Equal(x.DH, y.DH) && slices.Equal(x.ESN, y.ESN)
	})
}
