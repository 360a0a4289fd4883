package gateway

import (
	"net/netip"
	"unsafe"

	"github.com/vigil-ipsec/vigil/config"
	"github.com/vigil-ipsec/vigil/ike"
)

// tunnelConfig converts a validated configuration tunnel into the engine's form. The
// proposals are the ones config parsed; the engine shares them and only reads them. With an
// arena, the names, identities, key and subnets are copied into it (see arena).
func tunnelConfig(g config.Global, t *config.Tunnel, a *arena) ike.TunnelConfig {
	lp, rp := t.LocalPort, t.RemotePort
	if lp == 0 {
		lp = g.IKEPort
	}
	if rp == 0 {
		rp = g.IKEPort
	}
	name, localID, remoteID, psk, localTS, remoteTS := t.Name, t.LocalID.Value, t.RemoteID.Value, t.PSK.Bytes(), t.LocalTS, t.RemoteTS
	if a != nil {
		name, localID, remoteID, psk = a.copyString(name), a.copyBytes(localID), a.copyBytes(remoteID), a.copyBytes(psk)
		localTS, remoteTS = a.copyPrefixes(localTS), a.copyPrefixes(remoteTS)
	}
	c := ike.TunnelConfig{
		Name:             name,
		Version:          t.Version,
		Local:            netip.AddrPortFrom(t.LocalAddr, uint16(lp)),
		Remote:           netip.AddrPortFrom(t.RemoteAddr, uint16(rp)),
		LocalID:          ike.Identity{Type: ike.IDType(t.LocalID.Type), Data: localID},
		RemoteID:         ike.Identity{Type: ike.IDType(t.RemoteID.Type), Data: remoteID},
		PSK:              psk,
		LocalTS:          localTS,
		RemoteTS:         remoteTS,
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

// arena holds copies of the small values (names, identities, keys, subnets) of many tunnels'
// configurations in large blocks. Parsing a configuration leaves them scattered among its
// garbage, a few live bytes on each page of the heap: 100,000 tunnels configured that way kept
// some 130 MB of heap pages in use for 200 MB of live data. Copied into blocks at
// registration, they take the pages they fill and no more. Blocks are never written again once
// a value is in them (a string's bytes never are); a block lives as long as any value in it.
type arena struct {
	bytes    []byte
	prefixes []netip.Prefix
}

const (
	arenaBytes    = 64 << 10
	arenaPrefixes = 4 << 10
)

// copyBytes returns a copy of b in the arena (nil for an empty b).
func (a *arena) copyBytes(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	if cap(a.bytes)-len(a.bytes) < len(b) {
		a.bytes = make([]byte, 0, max(arenaBytes, len(b)))
	}
	n := len(a.bytes)
	a.bytes = append(a.bytes, b...)
	return a.bytes[n:len(a.bytes):len(a.bytes)] // full: an append to it reallocates
}

// copyString returns a copy of s in the arena.
func (a *arena) copyString(s string) string {
	if s == "" {
		return ""
	}
	if cap(a.bytes)-len(a.bytes) < len(s) {
		a.bytes = make([]byte, 0, max(arenaBytes, len(s)))
	}
	n := len(a.bytes)
	a.bytes = append(a.bytes, s...)
	// The bytes are never written again (appends go past them), as a string requires.
	return unsafe.String(&a.bytes[n], len(s))
}

// copyPrefixes returns a copy of ps in the arena (nil for an empty ps).
func (a *arena) copyPrefixes(ps []netip.Prefix) []netip.Prefix {
	if len(ps) == 0 {
		return nil
	}
	if cap(a.prefixes)-len(a.prefixes) < len(ps) {
		a.prefixes = make([]netip.Prefix, 0, max(arenaPrefixes, len(ps)))
	}
	n := len(a.prefixes)
	a.prefixes = append(a.prefixes, ps...)
	return a.prefixes[n:len(a.prefixes):len(a.prefixes)]
}
