package config

import (
	"maps"
	"net/netip"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/vigil-ipsec/vigil/crypto"
)

// A configuration may hold 100,000 tunnels, so a tunnel's keys are decoded with a fixed
// schema (no closures or paths built per tunnel), and values equal to the previous tunnel's
// are shared rather than allocated again (see shared).

// Keys of a tunnel table, indexes in tunnelKeys.
const (
	tkVersion = iota
	tkLocalAddr
	tkRemoteAddr
	tkLocalPort
	tkRemotePort
	tkLocalID
	tkRemoteID
	tkPSK
	tkPSKFile
	tkLocalSubnets
	tkRemoteSubnets
	tkIKEProposals
	tkESPProposals
	tkIKELifetime
	tkChildLifetime
	tkChildLifeBytes
	tkChildLifePackets
	tkStartAction
	tkEncap
	tkDPDDelay
	tkDPDTimeout
	tkChildProbe
	tkHeal
	tkHealDelay
	tkReplayWindow
	tkMobike
	numTunnelKeys
)

// tunnelKeys are the keys a tunnel table accepts, in the order suggestions try them.
var tunnelKeys = []string{
	tkVersion:          "version",
	tkLocalAddr:        "local_addr",
	tkRemoteAddr:       "remote_addr",
	tkLocalPort:        "local_port",
	tkRemotePort:       "remote_port",
	tkLocalID:          "local_id",
	tkRemoteID:         "remote_id",
	tkPSK:              "psk",
	tkPSKFile:          "psk_file",
	tkLocalSubnets:     "local_subnets",
	tkRemoteSubnets:    "remote_subnets",
	tkIKEProposals:     "ike_proposals",
	tkESPProposals:     "esp_proposals",
	tkIKELifetime:      "ike_lifetime",
	tkChildLifetime:    "child_lifetime",
	tkChildLifeBytes:   "child_life_bytes",
	tkChildLifePackets: "child_life_packets",
	tkStartAction:      "start_action",
	tkEncap:            "encap",
	tkDPDDelay:         "dpd_delay",
	tkDPDTimeout:       "dpd_timeout",
	tkChildProbe:       "child_probe",
	tkHeal:             "heal",
	tkHealDelay:        "heal_delay",
	tkReplayWindow:     "replay_window",
	tkMobike:           "mobike",
}

// tunnelKey returns the index in tunnelKeys of key k, or -1. A switch (which the compiler
// turns into a search by length and content) costs less than hashing k for a map, once per
// key of every tunnel; TestTunnelKeyOf checks it against tunnelKeys.
func tunnelKeyOf(k string) int {
	switch k {
	case "version":
		return tkVersion
	case "local_addr":
		return tkLocalAddr
	case "remote_addr":
		return tkRemoteAddr
	case "local_port":
		return tkLocalPort
	case "remote_port":
		return tkRemotePort
	case "local_id":
		return tkLocalID
	case "remote_id":
		return tkRemoteID
	case "psk":
		return tkPSK
	case "psk_file":
		return tkPSKFile
	case "local_subnets":
		return tkLocalSubnets
	case "remote_subnets":
		return tkRemoteSubnets
	case "ike_proposals":
		return tkIKEProposals
	case "esp_proposals":
		return tkESPProposals
	case "ike_lifetime":
		return tkIKELifetime
	case "child_lifetime":
		return tkChildLifetime
	case "child_life_bytes":
		return tkChildLifeBytes
	case "child_life_packets":
		return tkChildLifePackets
	case "start_action":
		return tkStartAction
	case "encap":
		return tkEncap
	case "dpd_delay":
		return tkDPDDelay
	case "dpd_timeout":
		return tkDPDTimeout
	case "child_probe":
		return tkChildProbe
	case "heal":
		return tkHeal
	case "heal_delay":
		return tkHealDelay
	case "replay_window":
		return tkReplayWindow
	case "mobike":
		return tkMobike
	}
	return -1
}

// tunnelValues are the values of a tunnel's keys, by index in tunnelKeys; nil for keys not set.
type tunnelValues [numTunnelKeys]*value

// The sides of a tunnel, indexes of the per-side values in shared.
const (
	local = iota
	remote
)

// shared holds the values the previous tunnel decoded, per side, so that the next tunnel
// shares them when they are equal: many tunnels have the same local address, identity or
// subnets. They are read-only, like the whole Config.
type shared struct {
	ids     [2]sharedID
	addrIDs [2]sharedAddrID
	subnets [2][]netip.Prefix
	scratch []netip.Prefix // reused while decoding a list of subnets
}

type sharedID struct {
	text string // as written in the document
	id   Identity
}

type sharedAddrID struct {
	addr netip.Addr
	id   Identity
}

// tunnelsPerWorker is the fewest tunnels worth a decoding goroutine of their own.
const tunnelsPerWorker = 1024

// tunnels decodes the tunnels, the keys of table t, in file order. Many tunnels are decoded
// on every core: each goroutine takes a run of consecutive tunnels, with a decoder of its own
// (and so its own list of problems), and the lists are joined in file order. The tunnels and
// the problems, in their order, are those of one decoder taking the tunnels in turn. A file
// too open for an inline psk is decoded in one goroutine: only its first inline psk is
// reported (see psk), and which is first takes that one decoder.
func (d *decoder) tunnels(t *table, g *Global) []Tunnel {
	vals := make([]*value, 0, t.n)
	d.keys(t, func(_ string, v *value) { vals = append(vals, v) })
	out := make([]Tunnel, len(vals))
	ok := make([]bool, len(vals))
	decode := func(d *decoder, lo, hi int) {
		for i := lo; i < hi; i++ {
			out[i], ok[i] = d.tunnel(d.tr.s(vals[i].key), vals[i], g)
		}
	}
	workers := min(runtime.GOMAXPROCS(0), len(vals)/tunnelsPerWorker)
	if workers < 2 || (d.checkMode && tooOpen(d.mode)) {
		decode(d, 0, len(vals))
	} else {
		subs := make([]*decoder, workers)
		var wg sync.WaitGroup
		for w := range subs {
			sub := &decoder{errs: &errList{file: d.errs.file}, dir: d.dir, tr: d.tr, mode: d.mode, checkMode: d.checkMode}
			if d.psks != nil {
				sub.psks = map[string]fileStat{}
			}
			subs[w] = sub
			wg.Go(func() { decode(sub, len(vals)*w/workers, len(vals)*(w+1)/workers) })
		}
		wg.Wait()
		for _, sub := range subs {
			d.errs.errs = append(d.errs.errs, sub.errs.errs...)
			d.errs.secrets = append(d.errs.secrets, sub.errs.secrets...)
			maps.Copy(d.psks, sub.psks)
		}
	}
	n := 0 // keep the tunnels that are tables
	for i := range out {
		if ok[i] {
			if n != i {
				out[n] = out[i]
			}
			n++
		}
	}
	clear(out[n:])
	return out[:n]
}

// tunnel decodes [tunnel.NAME]; ok is false when v is not a table.
func (d *decoder) tunnel(name string, v *value, g *Global) (Tunnel, bool) {
	at := keyPath{inTunnel: true, tunnel: name}
	t, ok := d.table(v, at)
	if !ok {
		return Tunnel{}, false
	}
	if !validName(name) {
		d.errs.add(int(v.line), "tunnel name %q: use 1 to %d letters, digits, '-' or '_'", name, maxNameLen)
	}
	tun := defaultTunnel(strings.Clone(name), int(v.line), g)
	var vals tunnelValues
	d.keys(t, func(k string, kv *value) {
		i := tunnelKeyOf(k)
		if i < 0 {
			d.unknownKey(kv, at.String(), k, tunnelKeys)
			return
		}
		vals[i] = kv
		d.tunnelKey(&tun, i, kv, at.with(k))
	})
	tun.PSK = d.psk(t, vals[tkPSK], vals[tkPSKFile], at)
	if tun.Version == 1 {
		d.ikev1Proposals(vals[tkIKEProposals], &tun, at)
	}
	d.checkTunnel(&tun, &vals, at)
	return tun, true
}

// tunnelKey decodes key k of a tunnel, set to v, into tun. psk and psk_file are decoded
// together, by psk, once every key is known.
func (d *decoder) tunnelKey(tun *Tunnel, k int, v *value, p keyPath) {
	switch k {
	case tkVersion:
		d.setInt(&tun.Version, v, p, 1, 2)
	case tkLocalAddr:
		d.setAddr(&tun.LocalAddr, v, p)
	case tkRemoteAddr:
		d.setAddr(&tun.RemoteAddr, v, p)
	case tkLocalPort:
		d.setInt(&tun.LocalPort, v, p, 1, 65535)
	case tkRemotePort:
		d.setInt(&tun.RemotePort, v, p, 1, 65535)
	case tkLocalID:
		d.setIdentity(&tun.LocalID, local, v, p)
	case tkRemoteID:
		d.setIdentity(&tun.RemoteID, remote, v, p)
	case tkLocalSubnets:
		d.setPrefixes(&tun.LocalTS, local, v, p)
	case tkRemoteSubnets:
		d.setPrefixes(&tun.RemoteTS, remote, v, p)
	case tkIKEProposals:
		d.setProposals(&tun.IKEProposals, &tun.IKEParsed, true, v, p)
	case tkESPProposals:
		d.setProposals(&tun.ESPProposals, &tun.ESPParsed, false, v, p)
	case tkIKELifetime:
		d.setDur(&tun.IKELifetime, v, p)
	case tkChildLifetime:
		d.setDur(&tun.ChildLifetime, v, p)
	case tkChildLifeBytes:
		d.setUint(&tun.ChildLifeBytes, v, p)
	case tkChildLifePackets:
		d.setUint(&tun.ChildLifePackets, v, p)
	case tkStartAction:
		d.setChoice(&tun.StartAction, v, p, startActions)
	case tkEncap:
		d.setChoice(&tun.Encap, v, p, encaps)
	case tkDPDDelay:
		d.setDur(&tun.DPDDelay, v, p)
	case tkDPDTimeout:
		d.setDur(&tun.DPDTimeout, v, p)
	case tkChildProbe:
		d.setDur(&tun.ChildProbe, v, p)
	case tkHeal:
		d.setBool(&tun.Heal, v, p)
	case tkHealDelay:
		d.setDur(&tun.HealDelay, v, p)
	case tkReplayWindow:
		d.setInt(&tun.ReplayWindow, v, p, 0, maxReplayWindow)
	case tkMobike:
		d.setBool(&tun.Mobike, v, p)
	}
}

// ikev1Proposals applies the IKEv1 default for ike_proposals (IKEv1 phase 1 has no AEAD
// ciphers) and rejects AEAD ones that were given explicitly (kv, nil when not set).
func (d *decoder) ikev1Proposals(kv *value, tun *Tunnel, at keyPath) {
	if kv == nil {
		tun.IKEProposals = DefaultIKEv1Proposals
		tun.IKEParsed = defaultIKEv1Parsed
		return
	}
	if i := slices.IndexFunc(tun.IKEParsed, crypto.Proposal.AEAD); i >= 0 {
		d.errs.add(int(kv.line), "%s.ike_proposals: IKEv1 phase 1 has no AEAD ciphers (%q); use e.g. %q", at, tun.IKEParsed[i].String(), DefaultIKEv1Proposals)
	}
}

// setIdentity decodes an identity (see ParseIdentity) of the given side.
func (d *decoder) setIdentity(dst *Identity, side int, v *value, p keyPath) {
	s, ok := d.str(v, p)
	if !ok {
		return
	}
	if sh := &d.ids[side]; sh.id.Type != 0 && sh.text == s {
		*dst = sh.id
		return
	}
	id, err := ParseIdentity(s)
	if err != nil {
		d.errs.add(int(v.line), "%s: %v", p, err)
		return
	}
	*dst = id
	d.ids[side] = sharedID{s, id}
}

// addrIdentity returns the identity of address a (see AddrIdentity), the default identity of
// the given side.
func (d *decoder) addrIdentity(side int, a netip.Addr) Identity {
	if sh := &d.addrIDs[side]; sh.id.Type == 0 || sh.addr != a {
		*sh = sharedAddrID{a, AddrIdentity(a)}
	}
	return d.addrIDs[side].id
}

// setPrefixes decodes a non-empty array of CIDR prefixes of the given side; a bare address
// stands for a single host. dst is only set when every element is valid.
func (d *decoder) setPrefixes(dst *[]netip.Prefix, side int, v *value, p keyPath) {
	if v.kind != kindArray {
		d.typeErr(v, p, `an array of subnets such as ["10.0.0.0/8"]`)
		return
	}
	if v.n == 0 {
		d.errs.add(int(v.line), "%s: must list at least one subnet", p)
		return
	}
	out := d.scratch[:0]
	d.eachString(v, p, func(s string, line, _ int, ep keyPath) {
		pfx, err := parsePrefix(s)
		if err != nil {
			d.errs.add(line, "%s: %v", ep, err)
			return
		}
		out = append(out, pfx)
	})
	d.scratch = out
	if len(out) != int(v.n) {
		return
	}
	if prev := d.subnets[side]; slices.Equal(prev, out) {
		*dst = prev
		return
	}
	*dst = append(make([]netip.Prefix, 0, len(out)), out...)
	d.subnets[side] = *dst
}
