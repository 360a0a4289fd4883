package config

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-ipsec/vigil/crypto"
)

// maxConfigSize bounds the configuration file read by Load: 100,000 tunnels of a few
// hundred bytes each, with room for comments.
const maxConfigSize = 256 << 20

// Load reads and validates the configuration file at path. Relative
// psk_file paths are resolved against the file's directory.
//
// A file holding an inline psk must not be accessible by group or others
// (mode 0600 or stricter), nor may any psk_file, as ssh demands of private
// keys; such files are refused with a message naming the fix.
func Load(path string) (*Config, error) {
	data, mode, err := readFile(path, maxConfigSize, false)
	if err != nil {
		return nil, &Error{File: path, Msg: "cannot read configuration: " + err.Error()}
	}
	return parse(path, data, mode, true)
}

// Parse validates the configuration in data. filename is used in error
// messages and to resolve relative psk_file paths. On failure it returns
// an *Error, or every problem found joined with errors.Join, in line order.
// Parse does not know the mode of the file data came from; Load checks it.
func Parse(filename string, data []byte) (*Config, error) {
	return parse(filename, data, 0, false)
}

// parse is Parse; with checkMode, mode is the configuration file's and an
// inline psk in a file accessible by group or others is refused.
func parse(filename string, data []byte, mode fs.FileMode, checkMode bool) (*Config, error) {
	errs := &errList{file: filename}
	root := parseTree(data, errs)
	if root == nil {
		return nil, errs.err()
	}
	d := &decoder{errs: errs, dir: filepath.Dir(filename), root: root, mode: mode, checkMode: checkMode}
	c := d.config(root)
	if !errs.empty() {
		return nil, errs.err()
	}
	c.File = filename
	return c, nil
}

// readFile reads at most limit bytes of the file at path and returns them
// with the file's mode (of the opened file, not of a second lookup). With
// regular set, anything but a regular file is refused (and never opened, so
// that a FIFO cannot block the caller). Errors name the problem but not the
// content.
func readFile(path string, limit int64, regular bool) ([]byte, fs.FileMode, error) {
	if regular {
		st, err := os.Stat(path)
		if err != nil {
			return nil, 0, pathErr(err)
		}
		if !st.Mode().IsRegular() {
			return nil, 0, errors.New("not a regular file")
		}
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, pathErr(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, 0, pathErr(err)
	}
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, 0, pathErr(err)
	}
	if int64(len(b)) > limit {
		return nil, 0, fmt.Errorf("larger than %d bytes", limit)
	}
	return b, st.Mode(), nil
}

// tooOpen reports whether a file of this mode, holding key material, is
// accessible by its group or by others.
func tooOpen(mode fs.FileMode) bool { return mode.Perm()&0o077 != 0 }

// modeAdvice is the end of the message refusing a file that is too open.
func modeAdvice(name string, mode fs.FileMode) string {
	return fmt.Sprintf("has mode %04o, readable or writable by group or others, and holds a pre-shared key; restrict it with: chmod 600 %s", mode.Perm(), name)
}

// pathErr drops the path and operation os errors repeat, keeping the cause.
func pathErr(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// decoder decodes the configuration schema from the document tree.
type decoder struct {
	errs *errList
	dir  string // directory of the configuration file
	root *table // the document

	mode        fs.FileMode // the configuration file's mode, if checkMode
	checkMode   bool        // refuse an inline psk when mode is too open
	modeRefused bool        // that refusal has been reported

	// proposals holds every proposal string parsed so far: tunnels mostly share theirs, and
	// share the parsed slices too (read-only, like the whole Config).
	proposals map[proposalKey][]crypto.Proposal
}

type proposalKey struct {
	s   string
	ike bool
}

// parseProposals parses s once per decode (see decoder.proposals).
func (d *decoder) parseProposals(s string, ike bool) ([]crypto.Proposal, error) {
	k := proposalKey{s, ike}
	if p, ok := d.proposals[k]; ok {
		return p, nil
	}
	p, err := parseProposals(s, ike)
	if err != nil {
		return nil, err
	}
	if d.proposals == nil {
		d.proposals = map[proposalKey][]crypto.Proposal{}
	}
	d.proposals[k] = p
	return p, nil
}

// field is a key a table accepts and how to decode its value; path is the
// full key path, for messages.
type field struct {
	name string
	set  func(v *value, path string)
}

// join appends a key to a path.
func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// line returns the line where path was set, or else the line of its
// closest enclosing table in the file, or 0. Paths are looked up in the
// tree, a dot separating keys (the paths asked for have no quoted keys).
func (d *decoder) line(path string) int {
	l, _ := d.lookup(path)
	return l
}

// has reports whether path was set in the file.
func (d *decoder) has(path string) bool {
	_, ok := d.lookup(path)
	return ok
}

// lookup walks path down the tree: the line of the value at path and true, or the line of
// the deepest table on the way (0 for the root) and false.
func (d *decoder) lookup(path string) (int, bool) {
	t, line := d.root, 0
	for t != nil {
		k, rest, more := strings.Cut(path, ".")
		v := t.get(k)
		if v == nil {
			return line, false
		}
		if !more {
			return v.line, true
		}
		line, path, t = v.line, rest, v.tbl
	}
	return line, false
}

// fields decodes every key of t (at path) with fs, in file order; keys fs
// does not know are reported.
func (d *decoder) fields(t *table, path string, fs []field) {
	for i, k := range t.order {
		v := t.vals[i]
		p := join(path, k)
		var f *field
		for i := range fs {
			if fs[i].name == k {
				f = &fs[i]
				break
			}
		}
		if f == nil {
			names := make([]string, len(fs))
			for i := range fs {
				names[i] = fs[i].name
			}
			if path == "" {
				d.errs.add(v.line, "unknown top-level key %q%s", k, suggest(k, names))
			} else {
				d.errs.add(v.line, "%s: unknown key %q%s", path, k, suggest(k, names))
			}
			continue
		}
		if f.set != nil {
			f.set(v, p)
		}
	}
}

// typeErr reports a value of the wrong type.
func (d *decoder) typeErr(v *value, path, want string) {
	d.errs.add(v.line, "%s: expected %s, got %s", path, want, v.kind)
}

func (d *decoder) str(v *value, path string) (string, bool) {
	if v.kind != kindString {
		d.typeErr(v, path, "a string")
		return "", false
	}
	return v.text, true
}

func (d *decoder) integer(v *value, path string, lo, hi int64) (int64, bool) {
	if v.kind != kindInteger {
		d.typeErr(v, path, "an integer")
		return 0, false
	}
	n, err := strconv.ParseInt(v.text, 0, 64)
	if err != nil {
		d.errs.add(v.line, "%s: invalid integer %s", path, v.text)
		return 0, false
	}
	if n < lo || n > hi {
		d.errs.add(v.line, "%s: %d is out of range (%d to %d)", path, n, lo, hi)
		return 0, false
	}
	return n, true
}

func (d *decoder) float(v *value, path string) (float64, bool) {
	switch v.kind {
	case kindInteger:
		n, ok := d.integer(v, path, math.MinInt64, math.MaxInt64)
		return float64(n), ok
	case kindFloat:
		f, err := strconv.ParseFloat(strings.ReplaceAll(v.text, "_", ""), 64)
		if err != nil {
			d.errs.add(v.line, "%s: invalid number %s", path, v.text)
			return 0, false
		}
		return f, true
	}
	d.typeErr(v, path, "a number")
	return 0, false
}

func (d *decoder) boolean(v *value, path string) (bool, bool) {
	if v.kind != kindBool {
		d.typeErr(v, path, "a boolean (true or false)")
		return false, false
	}
	return v.text == "true", true
}

// duration accepts Go duration strings ("500ms", "1h30m", "0"); negative
// values are refused.
func (d *decoder) duration(v *value, path string) (time.Duration, bool) {
	if v.kind != kindString {
		d.typeErr(v, path, `a duration string such as "10s"`)
		return 0, false
	}
	dur, err := time.ParseDuration(v.text)
	if err != nil {
		d.errs.add(v.line, "%s: invalid duration %q (examples: \"500ms\", \"30s\", \"4h\")", path, v.text)
		return 0, false
	}
	if dur < 0 {
		d.errs.add(v.line, "%s: duration %s must not be negative", path, v.text)
		return 0, false
	}
	return dur, true
}

func (d *decoder) choice(v *value, path string, valid []string) (string, bool) {
	s, ok := d.str(v, path)
	if !ok {
		return "", false
	}
	for _, c := range valid {
		if s == c {
			return s, true
		}
	}
	d.errs.add(v.line, "%s: invalid value %q (valid: %s)%s", path, s, strings.Join(valid, ", "), suggest(s, valid))
	return "", false
}

func (d *decoder) table(v *value, path string) (*table, bool) {
	if v.kind != kindTable {
		d.typeErr(v, path, "a table")
		return nil, false
	}
	return v.tbl, true
}

// Field decoders storing into dst when the value is valid.

func (d *decoder) strTo(dst *string) func(*value, string) {
	return func(v *value, p string) {
		if s, ok := d.str(v, p); ok {
			*dst = s
		}
	}
}

func (d *decoder) intTo(dst *int, lo, hi int64) func(*value, string) {
	return func(v *value, p string) {
		if n, ok := d.integer(v, p, lo, hi); ok {
			*dst = int(n)
		}
	}
}

func (d *decoder) uintTo(dst *uint64) func(*value, string) {
	return func(v *value, p string) {
		if n, ok := d.integer(v, p, 0, math.MaxInt64); ok {
			*dst = uint64(n)
		}
	}
}

func (d *decoder) floatTo(dst *float64) func(*value, string) {
	return func(v *value, p string) {
		if f, ok := d.float(v, p); ok {
			*dst = f
		}
	}
}

func (d *decoder) boolTo(dst *bool) func(*value, string) {
	return func(v *value, p string) {
		if b, ok := d.boolean(v, p); ok {
			*dst = b
		}
	}
}

func (d *decoder) durTo(dst *time.Duration) func(*value, string) {
	return func(v *value, p string) {
		if t, ok := d.duration(v, p); ok {
			*dst = t
		}
	}
}

func (d *decoder) choiceTo(dst *string, valid []string) func(*value, string) {
	return func(v *value, p string) {
		if s, ok := d.choice(v, p, valid); ok {
			*dst = s
		}
	}
}

func (d *decoder) tableTo(fn func(t *table, path string)) func(*value, string) {
	return func(v *value, p string) {
		if t, ok := d.table(v, p); ok {
			fn(t, p)
		}
	}
}

// config decodes the whole document.
func (d *decoder) config(root *table) *Config {
	c := &Config{Global: DefaultGlobal(), byName: make(map[string]int)}
	var tunnels *table
	d.fields(root, "", []field{
		{"global", d.tableTo(func(t *table, p string) { d.global(t, p, &c.Global) })},
		{"tunnel", func(v *value, p string) {
			if v.kind == kindArrayOfTables {
				d.errs.add(v.line, "tunnel: use [tunnel.NAME] tables, not [[tunnel]]")
				return
			}
			tunnels, _ = d.table(v, p)
		}},
	})
	d.checkGlobal(&c.Global)
	if tunnels == nil {
		return c
	}
	c.Tunnels = make([]Tunnel, 0, len(tunnels.order))
	for i, name := range tunnels.order {
		t, ok := d.tunnel(name, tunnels.vals[i], &c.Global)
		if !ok {
			continue
		}
		c.byName[name] = len(c.Tunnels)
		c.Tunnels = append(c.Tunnels, t)
	}
	d.checkOverlaps(c.Tunnels)
	return c
}

// global decodes [global].
func (d *decoder) global(t *table, path string, g *Global) {
	d.fields(t, path, []field{
		{"socket", d.strTo(&g.Socket)},
		{"ike_port", d.intTo(&g.IKEPort, 1, 65535)},
		{"natt_port", d.intTo(&g.NATTPort, 1, 65535)},
		{"log_level", d.choiceTo(&g.LogLevel, logLevels)},
		{"log_format", d.choiceTo(&g.LogFormat, logFormats)},
		{"metrics_addr", d.strTo(&g.MetricsAddr)},
		{"cookie_threshold", d.intTo(&g.CookieThreshold, 0, math.MaxInt32)},
		{"half_open_max", d.intTo(&g.HalfOpenMax, 1, math.MaxInt32)},
		{"half_open_per_source", d.intTo(&g.HalfOpenPerSource, 1, math.MaxInt32)},
		{"retransmit", d.tableTo(func(t *table, p string) {
			r := &g.Retransmit
			d.fields(t, p, []field{
				{"timeout", d.durTo(&r.Timeout)},
				{"base", d.floatTo(&r.Base)},
				{"tries", d.intTo(&r.Tries, 1, maxRetransmitTries)},
				{"max_timeout", d.durTo(&r.MaxTimeout)},
			})
		})},
		{"tun_name", d.strTo(&g.TUNName)},
		{"invalid_spi", d.tableTo(func(t *table, p string) {
			s := &g.InvalidSPI
			d.fields(t, p, []field{
				{"per_spi_interval", d.durTo(&s.PerSPIInterval)},
				{"per_peer_rate", d.intTo(&s.PerPeerRate, 0, math.MaxInt32)},
				{"unprotected", d.boolTo(&s.Unprotected)},
				{"unprotected_rate", d.intTo(&s.UnprotectedRate, 0, math.MaxInt32)},
			})
		})},
	})
}

// tunnel decodes [tunnel.NAME]; ok is false when v is not a table.
func (d *decoder) tunnel(name string, v *value, g *Global) (Tunnel, bool) {
	path := "tunnel." + name
	if !isBareKey(name) {
		path = "tunnel." + strconv.Quote(name)
	}
	t, ok := d.table(v, path)
	if !ok {
		return Tunnel{}, false
	}
	if !validName(name) {
		d.errs.add(v.line, "tunnel name %q: use 1 to %d letters, digits, '-' or '_'", name, maxNameLen)
	}
	tun := defaultTunnel(name, v.line, g)
	d.fields(t, path, []field{
		{"version", d.intTo(&tun.Version, 1, 2)},
		{"local_addr", d.addrTo(&tun.LocalAddr)},
		{"remote_addr", d.addrTo(&tun.RemoteAddr)},
		{"local_port", d.intTo(&tun.LocalPort, 1, 65535)},
		{"remote_port", d.intTo(&tun.RemotePort, 1, 65535)},
		{"local_id", d.identityTo(&tun.LocalID)},
		{"remote_id", d.identityTo(&tun.RemoteID)},
		{"psk", nil}, // handled below, together with psk_file
		{"psk_file", nil},
		{"local_subnets", d.prefixesTo(&tun.LocalTS)},
		{"remote_subnets", d.prefixesTo(&tun.RemoteTS)},
		{"ike_proposals", d.proposalsTo(&tun.IKEProposals, &tun.IKEParsed, true)},
		{"esp_proposals", d.proposalsTo(&tun.ESPProposals, &tun.ESPParsed, false)},
		{"ike_lifetime", d.durTo(&tun.IKELifetime)},
		{"child_lifetime", d.durTo(&tun.ChildLifetime)},
		{"child_life_bytes", d.uintTo(&tun.ChildLifeBytes)},
		{"child_life_packets", d.uintTo(&tun.ChildLifePackets)},
		{"start_action", d.choiceTo(&tun.StartAction, startActions)},
		{"encap", d.choiceTo(&tun.Encap, encaps)},
		{"dpd_delay", d.durTo(&tun.DPDDelay)},
		{"dpd_timeout", d.durTo(&tun.DPDTimeout)},
		{"child_probe", d.durTo(&tun.ChildProbe)},
		{"heal", d.boolTo(&tun.Heal)},
		{"heal_delay", d.durTo(&tun.HealDelay)},
		{"replay_window", d.intTo(&tun.ReplayWindow, 0, maxReplayWindow)},
		{"mobike", d.boolTo(&tun.Mobike)},
	})
	tun.PSK = d.psk(t, path)
	if tun.Version == 1 {
		d.ikev1Proposals(t, &tun, path)
	}
	d.checkTunnel(&tun, t, path)
	return tun, true
}

// ikev1Proposals applies the IKEv1 default for ike_proposals (IKEv1 phase 1 has no AEAD
// ciphers) and rejects AEAD ones that were given explicitly.
func (d *decoder) ikev1Proposals(t *table, tun *Tunnel, path string) {
	kv := t.get("ike_proposals")
	if kv == nil {
		tun.IKEProposals = DefaultIKEv1Proposals
		tun.IKEParsed = mustParseProposals(DefaultIKEv1Proposals, true)
		return
	}
	if i := slices.IndexFunc(tun.IKEParsed, crypto.Proposal.AEAD); i >= 0 {
		d.errs.add(kv.line, "%s.ike_proposals: IKEv1 phase 1 has no AEAD ciphers (%q); use e.g. %q", path, tun.IKEParsed[i].String(), DefaultIKEv1Proposals)
	}
}
