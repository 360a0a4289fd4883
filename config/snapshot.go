package config

import (
	"fmt"
	"net/netip"
	"slices"
	"time"
	"unsafe"
)

// A Loader keeps the tunnels of every included file between loads, so that a reload reads only
// the files that changed (loader.go). Kept as []Tunnel, that is a 448-byte struct per tunnel
// on top of what the gateway keeps of it: 45 MB for 100,000 idle tunnels (issue #12 allows
// 2 KiB of RSS per configured tunnel for the whole daemon). So a file's tunnels are kept as a
// snapshot instead, some 60 bytes a tunnel:
//   - the settings most tunnels of a file share (proposals, lifetimes, start action...) once
//     per distinct combination, in settings;
//   - their addresses once per distinct address, in addrs;
//   - the per-tunnel values (name, identities, key, subnets) in three blocks, text, secrets
//     and prefixes, and per tunnel only offsets and lengths into them (tunnelRec).
//
// The tunnels a load hands out for a file are made from its snapshot (see tunnel): their
// strings and slices point into the blocks, so the gateway, which keeps those values of a
// configuration with included files rather than copies (gateway.New), shares them with the
// snapshot. A tunnel is rebuilt from the snapshot only when a caller needs all of it: a
// reload that the gateway drives needs the name and generation of an unchanged file's
// tunnels, not their settings (see Update).
//
// A snapshot is never written once made: the tunnels made from it are read-only, like every
// Config's, and share its blocks.
type snapshot struct {
	file     string
	gen      uint64 // Tunnel.Gen of every tunnel of the snapshot
	recs     []tunnelRec
	settings []Tunnel // distinct settings: tunnels without their per-tunnel fields (see settingsOf)
	addrs    []netip.Addr
	text     []byte         // names and identity values
	secrets  []byte         // pre-shared keys, apart from the text
	prefixes []netip.Prefix // local subnets, then remote subnets, of each tunnel
}

// tunnelRec is what a snapshot keeps of one tunnel besides the shared values: 52 bytes.
type tunnelRec struct {
	text                      uint32 // offset in text of the name, local ID value, remote ID value, back to back
	secret                    uint32 // offset in secrets of the pre-shared key
	localTS, remoteTS         uint32 // offsets in prefixes
	nLocalTS, nRemoteTS       uint32
	line                      int32
	localAddr, remoteAddr     uint32 // indexes in addrs
	settings                  uint32 // index in settings
	localIDLen, remoteIDLen   uint16 // at most maxIdentityLen
	pskLen                    uint16 // a psk_file holds at most maxPSKFileSize; a longer inline psk: see fitsSnapshot
	nameLen                   uint8  // at most maxNameLen
	localIDType, remoteIDType uint8
}

// settingsKey is the part of a Tunnel that many tunnels of a file share: every field but the
// per-tunnel ones that tunnelRec holds. The parsed proposals follow from the proposal text
// (and version), so the key has only the text. TestSnapshotKeepsEveryField fails when a field
// added to Tunnel is in neither.
type settingsKey struct {
	version, localPort, remotePort   int
	ikeProposals, espProposals       string
	ikeLifetime, childLifetime       time.Duration
	childLifeBytes, childLifePackets uint64
	startAction, encap               string
	dpdDelay, dpdTimeout             time.Duration
	childProbe, healDelay            time.Duration
	replayWindow                     int
	heal, mobike                     bool
}

func keyOf(t *Tunnel) settingsKey {
	return settingsKey{
		version: t.Version, localPort: t.LocalPort, remotePort: t.RemotePort,
		ikeProposals: t.IKEProposals, espProposals: t.ESPProposals,
		ikeLifetime: t.IKELifetime, childLifetime: t.ChildLifetime,
		childLifeBytes: t.ChildLifeBytes, childLifePackets: t.ChildLifePackets,
		startAction: t.StartAction, encap: t.Encap,
		dpdDelay: t.DPDDelay, dpdTimeout: t.DPDTimeout, childProbe: t.ChildProbe, healDelay: t.HealDelay,
		replayWindow: t.ReplayWindow, heal: t.Heal, mobike: t.Mobike,
	}
}

// settingsOf is t without its per-tunnel fields: what settings holds.
func settingsOf(t *Tunnel) Tunnel {
	s := *t
	s.Name, s.File, s.Line, s.Gen = "", "", 0, 0
	s.LocalAddr, s.RemoteAddr = netip.Addr{}, netip.Addr{}
	s.LocalID, s.RemoteID, s.PSK = Identity{}, Identity{}, nil
	s.LocalTS, s.RemoteTS = nil, nil
	return s
}

// fitsSnapshot reports whether t's values fit a tunnelRec. A tunnel that config accepted
// always does; newSnapshot is not called for others.
func fitsSnapshot(t *Tunnel) bool {
	return len(t.Name) <= 255 && len(t.LocalID.Value) <= 65535 && len(t.RemoteID.Value) <= 65535 &&
		len(t.PSK) <= 65535 && t.Line >= 0 && t.Line <= 1<<31-1
}

// newSnapshot makes the snapshot of tunnels, all of file and of generation gen, and replaces
// each tunnel with the one made from it (so the tunnels share the snapshot's blocks). It returns
// nil, changing nothing, when a tunnel does not fit one (see fitsSnapshot).
func newSnapshot(file string, gen uint64, tunnels []Tunnel) *snapshot {
	var nText, nSecret, nPrefix int
	for i := range tunnels {
		t := &tunnels[i]
		if !fitsSnapshot(t) {
			return nil
		}
		nText += len(t.Name) + len(t.LocalID.Value) + len(t.RemoteID.Value)
		nSecret += len(t.PSK)
		nPrefix += len(t.LocalTS) + len(t.RemoteTS)
	}
	if nText >= 1<<32 || nSecret >= 1<<32 || nPrefix >= 1<<32 {
		return nil
	}
	s := &snapshot{
		file: file, gen: gen, recs: make([]tunnelRec, len(tunnels)),
		text: make([]byte, 0, nText), secrets: make([]byte, 0, nSecret), prefixes: make([]netip.Prefix, 0, nPrefix),
	}
	settings := map[settingsKey]uint32{}
	addrs := map[netip.Addr]uint32{}
	addr := func(a netip.Addr) uint32 {
		i, ok := addrs[a]
		if !ok {
			i = uint32(len(s.addrs))
			addrs[a] = i
			s.addrs = append(s.addrs, a)
		}
		return i
	}
	// Equal subnet lists of consecutive tunnels are kept once (the decoder shares them too).
	var lastLocal, lastRemote []netip.Prefix
	var lastLocalOff, lastRemoteOff uint32
	prefixes := func(ps []netip.Prefix, last *[]netip.Prefix, lastOff *uint32) uint32 {
		if *last != nil && slices.Equal(ps, *last) {
			return *lastOff
		}
		off := uint32(len(s.prefixes))
		s.prefixes = append(s.prefixes, ps...)
		*last, *lastOff = ps, off
		return off
	}
	for i := range tunnels {
		t := &tunnels[i]
		k := keyOf(t)
		si, ok := settings[k]
		if !ok {
			si = uint32(len(s.settings))
			settings[k] = si
			s.settings = append(s.settings, settingsOf(t))
		}
		r := &s.recs[i]
		r.settings = si
		r.line = int32(t.Line)
		r.localAddr, r.remoteAddr = addr(t.LocalAddr), addr(t.RemoteAddr)
		r.text = uint32(len(s.text))
		s.text = append(append(append(s.text, t.Name...), t.LocalID.Value...), t.RemoteID.Value...)
		r.nameLen, r.localIDLen, r.remoteIDLen = uint8(len(t.Name)), uint16(len(t.LocalID.Value)), uint16(len(t.RemoteID.Value))
		r.localIDType, r.remoteIDType = t.LocalID.Type, t.RemoteID.Type
		r.secret, r.pskLen = uint32(len(s.secrets)), uint16(len(t.PSK))
		s.secrets = append(s.secrets, t.PSK...)
		r.localTS, r.nLocalTS = prefixes(t.LocalTS, &lastLocal, &lastLocalOff), uint32(len(t.LocalTS))
		r.remoteTS, r.nRemoteTS = prefixes(t.RemoteTS, &lastRemote, &lastRemoteOff), uint32(len(t.RemoteTS))
	}
	s.settings = slices.Clip(s.settings)
	s.addrs = slices.Clip(s.addrs)
	s.prefixes = slices.Clip(s.prefixes)
	for i := range tunnels {
		tunnels[i] = s.tunnel(i)
	}
	return s
}

// Format prints what s is a snapshot of, never its content: s holds pre-shared keys in an
// unexported field, which fmt would print as bytes (see Secret).
func (s snapshot) Format(f fmt.State, _ rune) {
	fmt.Fprintf(f, "snapshot of %d tunnels of %s", len(s.recs), s.file)
}

// len is the number of tunnels in s.
func (s *snapshot) len() int { return len(s.recs) }

// name is the name of tunnel i; it shares s's memory.
func (s *snapshot) name(i int) string {
	r := &s.recs[i]
	if r.nameLen == 0 {
		return ""
	}
	return unsafe.String(&s.text[r.text], int(r.nameLen))
}

// remoteTS is the remote subnets of tunnel i; they share s's memory.
func (s *snapshot) remoteTS(i int) []netip.Prefix {
	r := &s.recs[i]
	return span(s.prefixes, r.remoteTS, r.nRemoteTS)
}

// v1Key is tunnel i's v1Key (see checkV1Identities).
func (s *snapshot) v1Key(i int) string {
	r := &s.recs[i]
	if s.settings[r.settings].Version != 1 {
		return ""
	}
	off := r.text + uint32(r.nameLen)
	local := Identity{Type: r.localIDType, Value: span(s.text, off, uint32(r.localIDLen))}
	remote := Identity{Type: r.remoteIDType, Value: span(s.text, off+uint32(r.localIDLen), uint32(r.remoteIDLen))}
	return v1Key(1, s.addrs[r.remoteAddr], local, remote)
}

// tunnel rebuilds tunnel i. Its strings and slices share s's blocks, and are full (an append
// to one copies it rather than write into the block).
func (s *snapshot) tunnel(i int) Tunnel {
	r := &s.recs[i]
	t := s.settings[r.settings]
	t.Name, t.File, t.Line, t.Gen = s.name(i), s.file, int(r.line), s.gen
	t.LocalAddr, t.RemoteAddr = s.addrs[r.localAddr], s.addrs[r.remoteAddr]
	off := r.text + uint32(r.nameLen)
	t.LocalID = Identity{Type: r.localIDType, Value: span(s.text, off, uint32(r.localIDLen))}
	off += uint32(r.localIDLen)
	t.RemoteID = Identity{Type: r.remoteIDType, Value: span(s.text, off, uint32(r.remoteIDLen))}
	t.PSK = Secret(span(s.secrets, r.secret, uint32(r.pskLen)))
	t.LocalTS = span(s.prefixes, r.localTS, r.nLocalTS)
	t.RemoteTS = span(s.prefixes, r.remoteTS, r.nRemoteTS)
	return t
}

// span is b[off:off+n] with no room to append, or nil when n is 0 (as the decoder leaves an
// unset value).
func span[E any](b []E, off, n uint32) []E {
	if n == 0 {
		return nil
	}
	return b[off : off+n : off+n]
}
