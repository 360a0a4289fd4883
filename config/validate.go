package config

import (
	"bytes"
	"fmt"
	"math"
	"net"
	"net/netip"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/vigil-ipsec/vigil/crypto"
)

// parseProposals parses a comma-separated list of proposals in strongSwan
// syntax ("aes128gcm16-prfsha256-x25519,aes256-sha256-modp2048"); ike
// selects IKE rather than ESP proposals. Its error is shown to the user as
// is. It is a variable so that tests can substitute it.
var parseProposals = crypto.ParseProposals

// mustParseProposals parses one of this package's default proposal lists,
// which the tests prove valid.
func mustParseProposals(s string, ike bool) []crypto.Proposal {
	p, err := crypto.ParseProposals(s, ike)
	if err != nil {
		panic("config: default proposals " + s + ": " + err.Error())
	}
	return p
}

// The default proposal strings parsed once, shared by every tunnel that uses them.
var (
	defaultIKEParsed   = mustParseProposals(DefaultIKEProposals, true)
	defaultESPParsed   = mustParseProposals(DefaultESPProposals, false)
	defaultIKEv1Parsed = mustParseProposals(DefaultIKEv1Proposals, true)
)

// Limits of the numeric settings.
const (
	maxRetransmitTries = 100
	maxRetransmitBase  = 10
	maxReplayWindow    = 1 << 16
	maxNameLen         = 64
	maxTUNNameLen      = 15 // IFNAMSIZ - 1
	minPSKLen          = 16
	maxPSKFileSize     = 4096
)

// validName reports whether name is acceptable as a tunnel name: a bare
// TOML key of at most maxNameLen bytes.
func validName(name string) bool {
	return len(name) <= maxNameLen && isBareKey(name)
}

// setAddr decodes an IP address (no zone, not unspecified or multicast);
// IPv4-mapped IPv6 addresses are stored as IPv4.
func (d *decoder) setAddr(dst *netip.Addr, v *value, p keyPath) {
	s, ok := d.str(v, p)
	if !ok {
		return
	}
	a, err := netip.ParseAddr(s)
	switch {
	case err != nil:
		d.errs.add(int(v.line), "%s: %q is not an IP address", p, s)
	case a.Zone() != "":
		d.errs.add(int(v.line), "%s: %q: zones are not supported", p, s)
	case a.IsUnspecified() || a.IsMulticast():
		d.errs.add(int(v.line), "%s: %s is not a unicast address", p, s)
	default:
		*dst = a.Unmap()
	}
}

// parsePrefix parses "10.1.0.0/16" or a single address; host bits must be
// zero.
func parsePrefix(s string) (netip.Prefix, error) {
	if !strings.Contains(s, "/") {
		a, err := netip.ParseAddr(s)
		if err != nil || a.Zone() != "" {
			return netip.Prefix{}, fmt.Errorf("%q is not a subnet (CIDR such as 10.1.0.0/16) or address", s)
		}
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	pfx, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is not a subnet (CIDR such as 10.1.0.0/16)", s)
	}
	if m := pfx.Masked(); m != pfx {
		return netip.Prefix{}, fmt.Errorf("%q has host bits set (did you mean %q?)", s, m.String())
	}
	return pfx, nil
}

// setProposals decodes a proposal list into its text (dst) and its parsed
// form (parsed); neither is set if it is invalid.
func (d *decoder) setProposals(dst *string, parsed *[]crypto.Proposal, ike bool, v *value, p keyPath) {
	s, ok := d.str(v, p)
	if !ok {
		return
	}
	if strings.TrimSpace(s) == "" {
		d.errs.add(int(v.line), "%s: must not be empty", p)
		return
	}
	text, props, err := d.parseProposals(s, ike)
	if err != nil {
		d.errs.add(int(v.line), "%s: %v", p, err)
		return
	}
	*dst, *parsed = text, props
}

// psk returns the tunnel's pre-shared key from psk (pv) or psk_file (fv), exactly one
// of which must be set; t is the tunnel's table, at its path. Messages never include the key.
func (d *decoder) psk(t *table, pv, fv *value, at keyPath) Secret {
	switch {
	case pv != nil && fv != nil:
		d.errs.add(int(max(pv.line, fv.line)), "%s: psk and psk_file are mutually exclusive; set only one", at)
		if pv.kind == kindString {
			d.errs.secrets = append(d.errs.secrets, []byte(d.text(pv)))
		}
		return nil
	case pv == nil && fv == nil:
		d.errs.add(int(t.line), "%s: missing pre-shared key: set psk or psk_file", at)
		return nil
	case pv != nil:
		if pv.kind != kindString {
			d.typeErr(pv, at.with("psk"), "a string")
			return nil
		}
		key := []byte(d.text(pv))
		d.errs.secrets = append(d.errs.secrets, key)
		if d.checkMode && tooOpen(d.mode) && !d.modeRefused {
			d.modeRefused = true
			d.errs.add(int(pv.line), "%s: the configuration file %s %s; or move the key to a psk_file of mode 0600", at.with("psk"), d.errs.file, modeAdvice(d.errs.file, d.mode))
			return nil
		}
		if len(key) < minPSKLen {
			d.errs.add(int(pv.line), "%s: the pre-shared key must be at least %d bytes long", at.with("psk"), minPSKLen)
			return nil
		}
		return Secret(key)
	}
	fp := at.with("psk_file")
	name, ok := d.str(fv, fp)
	if !ok {
		return nil
	}
	if name == "" {
		d.errs.add(int(fv.line), "%s: must not be empty", fp)
		return nil
	}
	if !filepath.IsAbs(name) {
		name = filepath.Join(d.dir, name)
	}
	key, st, err := readFile(name, maxPSKFileSize, true)
	if err != nil {
		d.errs.add(int(fv.line), "%s: cannot read %q: %v", fp, name, err)
		return nil
	}
	mode := st.Mode()
	if d.psks != nil {
		if fs, ok := statOf(st); ok {
			d.psks[name] = fs
		}
	}
	if tooOpen(mode) {
		clear(key)
		d.errs.add(int(fv.line), "%s: %q %s", fp, name, modeAdvice(name, mode))
		return nil
	}
	buf := key
	if b, ok := bytes.CutSuffix(key, []byte("\n")); ok {
		key, _ = bytes.CutSuffix(b, []byte("\r"))
	}
	key = bytes.Clone(key) // the tunnel keeps the key, not the read buffer around it
	clear(buf)
	d.errs.secrets = append(d.errs.secrets, key)
	if len(key) < minPSKLen {
		d.errs.add(int(fv.line), "%s: the pre-shared key in %q must be at least %d bytes long", fp, name, minPSKLen)
		return nil
	}
	return Secret(key)
}

// checkGlobal checks the relations between global settings.
func (d *decoder) checkGlobal(g *Global) {
	if g.Socket == "" {
		d.errs.add(d.line("global.socket"), "global.socket: must not be empty")
	}
	if g.IKEPort == g.NATTPort {
		p := "global.natt_port"
		if !d.has(p) {
			p = "global.ike_port"
		}
		d.errs.add(d.line(p), "%s: ike_port and natt_port must differ (both are %d)", p, g.IKEPort)
	}
	if a := g.MetricsAddr; a != "" {
		host, port, err := net.SplitHostPort(a)
		n, perr := strconv.Atoi(port)
		if err != nil || perr != nil || n < 0 || n > 65535 {
			d.errs.add(d.line("global.metrics_addr"), "global.metrics_addr: %q is not host:port (use \"\" to disable metrics)", a)
		} else if host != "" && strings.ContainsAny(host, " /") {
			d.errs.add(d.line("global.metrics_addr"), "global.metrics_addr: invalid host %q", host)
		}
	}
	if n := g.TUNName; n == "" || len(n) > maxTUNNameLen || n == "." || n == ".." || strings.ContainsAny(n, "/: \t\n\r\x00") {
		d.errs.add(d.line("global.tun_name"), "global.tun_name: %q is not a valid interface name (1 to %d characters, no '/', ':' or spaces)", n, maxTUNNameLen)
	}
	if g.DHReuse > MaxDHReuse {
		d.errs.add(d.line("global.dh_reuse"), "global.dh_reuse: %v is longer than %v (a longer reuse weakens forward secrecy and saves nothing more)", g.DHReuse, MaxDHReuse)
	}
	r := &g.Retransmit
	if r.Timeout <= 0 {
		d.errs.add(d.line("global.retransmit.timeout"), "global.retransmit.timeout: must be positive")
	}
	if math.IsNaN(r.Base) || r.Base < 1 || r.Base > maxRetransmitBase {
		d.errs.add(d.line("global.retransmit.base"), "global.retransmit.base: %v is out of range (1 to %d)", r.Base, maxRetransmitBase)
	}
	if r.MaxTimeout < r.Timeout {
		p := "global.retransmit.max_timeout"
		if !d.has(p) {
			p = "global.retransmit.timeout"
		}
		d.errs.add(d.line(p), "global.retransmit: max_timeout (%v) must not be shorter than timeout (%v)", r.MaxTimeout, r.Timeout)
	}
}

// checkTunnel checks required keys and relations within one tunnel (its keys' values vals,
// at its path), and fills in the default identities.
func (d *decoder) checkTunnel(t *Tunnel, vals *tunnelValues, at keyPath) {
	line := func(k int) int {
		if v := vals[k]; v != nil {
			return int(v.line)
		}
		return t.Line
	}
	for _, k := range []int{tkLocalAddr, tkRemoteAddr, tkLocalSubnets, tkRemoteSubnets} {
		if vals[k] == nil {
			d.errs.add(t.Line, "%s: missing required key %q", at, tunnelKeys[k])
		}
	}
	if t.LocalAddr.IsValid() && t.RemoteAddr.IsValid() && t.LocalAddr.Is4() != t.RemoteAddr.Is4() {
		d.errs.add(max(line(tkLocalAddr), line(tkRemoteAddr)),
			"%s: local_addr %s is %s but remote_addr %s is %s; they must be of the same address family",
			at, t.LocalAddr, family(t.LocalAddr), t.RemoteAddr, family(t.RemoteAddr))
	}
	if vals[tkLocalID] == nil && t.LocalAddr.IsValid() {
		t.LocalID = d.addrIdentity(local, t.LocalAddr)
	}
	if vals[tkRemoteID] == nil && t.RemoteAddr.IsValid() {
		t.RemoteID = d.addrIdentity(remote, t.RemoteAddr)
	}
	if t.DPDDelay > 0 && t.DPDTimeout <= 0 {
		d.errs.add(line(tkDPDTimeout), "%s.dpd_timeout: must be positive when dpd_delay is set (use dpd_delay = \"0s\" to disable liveness checks)", at)
	}
}

// family names the address family of a.
func family(a netip.Addr) string {
	if a.Is4() {
		return "IPv4"
	}
	return "IPv6"
}

// v1Key is what an IKEv1 responder tells a tunnel by in Main Mode (the peer's address and
// the two identities: Main Mode carries no traffic selectors, and each tunnel has its own
// ISAKMP SA), or "" for an IKEv2 tunnel.
func v1Key(version int, remote netip.Addr, local, rem Identity) string {
	if version != 1 {
		return ""
	}
	b := remote.AppendTo(nil)
	b = append(b, 0, local.Type)
	b = append(b, local.Value...)
	b = append(b, 0, rem.Type)
	b = append(b, rem.Value...)
	return string(b)
}

// checkV1Identities rejects two IKEv1 tunnels to the same peer with the same local_id and
// remote_id: the peer's Main Mode could not be matched to one of them. The error is reported
// at the later tunnel and names the earlier one.
func checkV1Identities(ts []Tunnel, report func(at *Tunnel, format string, args ...any)) {
	var seen map[string]int
	for i := range ts {
		t := &ts[i]
		k := v1Key(t.Version, t.RemoteAddr, t.LocalID, t.RemoteID)
		if k == "" {
			continue
		}
		if seen == nil {
			seen = map[string]int{}
		}
		if j, ok := seen[k]; ok {
			report(t, "tunnel %q: IKEv1 tunnel to %s with the local_id and remote_id of tunnel %q (%s): IKEv1 tunnels to one peer must differ in identities (Main Mode has no traffic selectors to tell them apart)",
				t.Name, t.RemoteAddr, ts[j].Name, position(&ts[j], t.File))
			continue
		}
		seen[k] = i
	}
}

// checkOverlaps rejects ambiguous traffic selectors: two tunnels to the same
// peer whose local×remote subnets overlap, and any two tunnels whose remote
// subnets overlap (a packet could not be routed to one tunnel). The error
// is reported, with report, at the later tunnel and names the earlier one. ts are the
// tunnels of every file of a configuration.
//
// It runs in O(n log n) over all remote subnets: sorted by first address (and
// wider prefixes first), a prefix overlaps an earlier one exactly when it
// starts inside the widest range seen so far (prefixes nest or are disjoint).
func checkOverlaps(ts []Tunnel, report func(at *Tunnel, format string, args ...any)) {
	type ent struct {
		p netip.Prefix
		t int
	}
	n := 0
	for i := range ts {
		n += len(ts[i].RemoteTS)
	}
	es := make([]ent, 0, n)
	for i := range ts {
		for _, p := range ts[i].RemoteTS {
			es = append(es, ent{p.Masked(), i})
		}
	}
	slices.SortFunc(es, func(x, y ent) int {
		if c := x.p.Addr().Compare(y.p.Addr()); c != 0 {
			return c
		}
		return x.p.Bits() - y.p.Bits()
	})
	reported := map[[2]int]bool{}
	var cur ent // the widest prefix of the current run of overlapping prefixes
	for k, e := range es {
		if k > 0 && cur.p.IsValid() && cur.p.Addr().Is4() == e.p.Addr().Is4() && cur.p.Contains(e.p.Addr()) {
			if cur.t != e.t {
				ai, bi := cur.t, e.t
				if ai > bi {
					ai, bi = bi, ai
				}
				if !reported[[2]int{ai, bi}] {
					reported[[2]int{ai, bi}] = true
					reportOverlap(&ts[ai], &ts[bi], report)
				}
			}
			continue
		}
		cur = e
	}
}

func reportOverlap(a, b *Tunnel, report func(at *Tunnel, format string, args ...any)) {
	if a.RemoteAddr.IsValid() && a.RemoteAddr == b.RemoteAddr {
		if la, lb, ok := overlap(a.LocalTS, b.LocalTS); ok {
			if ra, rb, ok := overlap(a.RemoteTS, b.RemoteTS); ok {
				report(b, "tunnel %q: traffic selectors %s === %s overlap %s === %s of tunnel %q (%s) to the same peer %s",
					b.Name, lb, rb, la, ra, a.Name, position(a, b.File), b.RemoteAddr)
				return
			}
		}
	}
	if ra, rb, ok := overlap(a.RemoteTS, b.RemoteTS); ok {
		report(b, "tunnel %q: remote_subnets %s overlaps %s of tunnel %q (%s); routing would be ambiguous",
			b.Name, rb, ra, a.Name, position(a, b.File))
	}
}

// position names where t is defined, for a message about a tunnel of file: "line N" in the
// same file, "FILE:N" in another.
func position(t *Tunnel, file string) string {
	if t.File == file {
		return "line " + strconv.Itoa(t.Line)
	}
	return t.File + ":" + strconv.Itoa(t.Line)
}

// overlap returns the first pair of overlapping prefixes from x and y.
func overlap(x, y []netip.Prefix) (netip.Prefix, netip.Prefix, bool) {
	for _, p := range x {
		for _, q := range y {
			if p.Overlaps(q) {
				return p, q, true
			}
		}
	}
	return netip.Prefix{}, netip.Prefix{}, false
}
