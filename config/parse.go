package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-ipsec/vigil/crypto"
)

// maxConfigSize bounds the configuration file read by Load: 100,000 tunnels of a few
// hundred bytes each, with room for comments.
const maxConfigSize = 256 << 20

// Load reads and validates the configuration file at path and the files it includes (see
// [Loader]). Relative psk_file paths are resolved against the directory of the file that
// names them.
//
// A file holding an inline psk must not be accessible by group or others
// (mode 0600 or stricter), nor may any psk_file, as ssh demands of private
// keys; such files are refused with a message naming the fix.
func Load(path string) (*Config, error) { return NewLoader(path).Load() }

// Parse validates the configuration in data. filename is used in error
// messages and to resolve relative psk_file paths and include patterns. On failure it returns
// an *Error, or every problem found joined with errors.Join, in line order (the main file's,
// then each included file's). Parse does not know the mode of the file data came from; Load
// checks it. Included files Parse reads itself, and checks them as Load does.
func Parse(filename string, data []byte) (*Config, error) {
	u, _, err := build(filename, data, 0, false, nil, time.Now())
	if err != nil {
		return nil, err
	}
	return u.Config(), nil
}

// readFile reads at most limit bytes of the file at path and returns them
// with the file's status (of the opened file, taken before reading, not of a second lookup).
// With regular set, anything but a regular file is refused (and never opened, so
// that a FIFO cannot block the caller). Errors name the problem but not the
// content.
func readFile(path string, limit int64, regular bool) ([]byte, fs.FileInfo, error) {
	if regular {
		st, err := os.Stat(path)
		if err != nil {
			return nil, nil, pathErr(err)
		}
		if !st.Mode().IsRegular() {
			return nil, nil, errors.New("not a regular file")
		}
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, pathErr(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, nil, pathErr(err)
	}
	// Read into a buffer of the file's size: growing one from nothing copies a 27 MB
	// configuration of 100,000 tunnels three times over.
	var buf bytes.Buffer
	buf.Grow(int(min(max(st.Size(), 0), limit)) + bytes.MinRead)
	if _, err := buf.ReadFrom(io.LimitReader(f, limit+1)); err != nil {
		return nil, nil, pathErr(err)
	}
	b := buf.Bytes()
	if int64(len(b)) > limit {
		return nil, nil, fmt.Errorf("larger than %d bytes", limit)
	}
	return b, st, nil
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
	tr   *tree  // the document

	mode        fs.FileMode // the configuration file's mode, if checkMode
	checkMode   bool        // refuse an inline psk when mode is too open
	modeRefused bool        // that refusal has been reported

	includes []includePattern // the main file's include list
	// psks records every psk_file read and its status, when not nil (an included file's
	// decoder: a Loader reuses the file's tunnels only while these are unchanged too).
	psks map[string]fileStat

	// proposals holds every proposal string parsed so far: tunnels mostly share theirs, and
	// share the parsed slices too (read-only, like the whole Config).
	proposals map[proposalKey]parsedProposals

	shared // values the previous tunnel decoded, for the next to share
}

type proposalKey struct {
	s   string
	ike bool
}

// parsedProposals is a proposal string, held by the Config (not by the document), and its
// parsed form.
type parsedProposals struct {
	text   string
	parsed []crypto.Proposal
}

// parseProposals parses s once per decode (see decoder.proposals). It returns s as the
// Config keeps it, and parsed.
func (d *decoder) parseProposals(s string, ike bool) (text string, parsed []crypto.Proposal, err error) {
	if p, ok := d.proposals[proposalKey{s, ike}]; ok {
		return p.text, p.parsed, nil
	}
	parsed, err = parseProposals(s, ike)
	if err != nil {
		return "", nil, err
	}
	if d.proposals == nil {
		d.proposals = map[proposalKey]parsedProposals{}
	}
	s = strings.Clone(s) // s is part of the document, which the Config must not keep
	d.proposals[proposalKey{s, ike}] = parsedProposals{s, parsed}
	return s, parsed, nil
}

// keyPath names a key in messages: "global.socket", "tunnel.a.psk",
// "tunnel.a.remote_subnets[1]". Decoders pass it by value and format it only for a message,
// so that a valid tunnel costs no path strings.
type keyPath struct {
	table    string // path of the key's table ("" for the root); unused in a tunnel
	tunnel   string // the tunnel's name, if inTunnel
	inTunnel bool
	key      string // "" for the table itself
	elem     int    // 1 + index of an array element; 0 for none
}

// String formats the path.
func (p keyPath) String() string {
	s := p.table
	if p.inTunnel {
		s = tunnelPath(p.tunnel)
	}
	s = join(s, p.key)
	if p.elem > 0 {
		s += "[" + strconv.Itoa(p.elem-1) + "]"
	}
	return s
}

// with returns the path of key k of p's table.
func (p keyPath) with(k string) keyPath {
	p.key = k
	return p
}

// tunnelPath is the key path of the tunnel called name.
func tunnelPath(name string) string {
	if !isBareKey(name) {
		return "tunnel." + strconv.Quote(name)
	}
	return "tunnel." + name
}

// field is a key a table accepts and how to decode its value.
type field struct {
	name string
	set  func(v *value, p keyPath)
}

// join appends a key to a path.
func join(path, key string) string {
	if path == "" {
		return key
	}
	if key == "" {
		return path
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
	t, line := &d.tr.tables[0], 0
	for t != nil {
		k, rest, more := strings.Cut(path, ".")
		v := d.get(t, k)
		if v == nil {
			return line, false
		}
		if !more {
			return int(v.line), true
		}
		line, path, t = int(v.line), rest, nil
		if v.kind == kindTable {
			t = &d.tr.tables[v.sub]
		}
	}
	return line, false
}

// get returns the value of key k in t, or nil.
func (d *decoder) get(t *table, k string) *value { return d.tr.val(d.tr.lookup(t, k)) }

// keys calls fn with each key of t and its value, in file order.
func (d *decoder) keys(t *table, fn func(k string, v *value)) {
	for v := d.tr.val(t.first); v != nil; v = d.tr.val(v.next) {
		fn(d.tr.s(v.key), v)
	}
}

// fields decodes every key of t (at path) with fs, in file order; keys fs
// does not know are reported.
func (d *decoder) fields(t *table, path string, fs []field) {
	d.keys(t, func(k string, v *value) {
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
			d.unknownKey(v, path, k, names)
			return
		}
		if f.set != nil {
			f.set(v, keyPath{table: path, key: k})
		}
	})
}

// unknownKey reports key k, set to v in the table at path, that is none of names.
func (d *decoder) unknownKey(v *value, path, k string, names []string) {
	switch {
	case path == "":
		d.errs.add(int(v.line), "unknown top-level key %q%s", k, suggest(k, names))
	case k == "include":
		// A key after a [table] header belongs to that table.
		d.errs.add(int(v.line), "%s: unknown key \"include\" (include is a top-level key: put it before the first [table] header)", path)
	default:
		d.errs.add(int(v.line), "%s: unknown key %q%s", path, k, suggest(k, names))
	}
}

// typeErr reports a value of the wrong type.
func (d *decoder) typeErr(v *value, p keyPath, want string) {
	d.errs.add(int(v.line), "%s: expected %s, got %s", p, want, v.kind)
}

// text returns the text of v. It is part of the document: clone what the Config keeps.
func (d *decoder) text(v *value) string { return d.tr.s(v.text) }

// eachString calls f with each string element of the array v (at path p) and its line and
// index (from 0); an element that is not a string is reported and skipped.
func (d *decoder) eachString(v *value, p keyPath, f func(s string, line int, i int, ep keyPath)) {
	i := 0
	for e := d.tr.val(v.sub); e != nil; e, i = d.tr.val(e.next), i+1 {
		ep := p
		ep.elem = i + 1
		if s, ok := d.str(e, ep); ok {
			f(s, int(e.line), i, ep)
		}
	}
}

func (d *decoder) str(v *value, p keyPath) (string, bool) {
	if v.kind != kindString {
		d.typeErr(v, p, "a string")
		return "", false
	}
	return d.text(v), true
}

func (d *decoder) integer(v *value, p keyPath, lo, hi int64) (int64, bool) {
	if v.kind != kindInteger {
		d.typeErr(v, p, "an integer")
		return 0, false
	}
	n, err := strconv.ParseInt(d.text(v), 0, 64)
	if err != nil {
		d.errs.add(int(v.line), "%s: invalid integer %s", p, d.text(v))
		return 0, false
	}
	if n < lo || n > hi {
		d.errs.add(int(v.line), "%s: %d is out of range (%d to %d)", p, n, lo, hi)
		return 0, false
	}
	return n, true
}

func (d *decoder) float(v *value, p keyPath) (float64, bool) {
	switch v.kind {
	case kindInteger:
		n, ok := d.integer(v, p, math.MinInt64, math.MaxInt64)
		return float64(n), ok
	case kindFloat:
		f, err := strconv.ParseFloat(strings.ReplaceAll(d.text(v), "_", ""), 64)
		if err != nil {
			d.errs.add(int(v.line), "%s: invalid number %s", p, d.text(v))
			return 0, false
		}
		return f, true
	}
	d.typeErr(v, p, "a number")
	return 0, false
}

func (d *decoder) boolean(v *value, p keyPath) (bool, bool) {
	if v.kind != kindBool {
		d.typeErr(v, p, "a boolean (true or false)")
		return false, false
	}
	return d.text(v) == "true", true
}

// duration accepts Go duration strings ("500ms", "1h30m", "0"); negative
// values are refused.
func (d *decoder) duration(v *value, p keyPath) (time.Duration, bool) {
	if v.kind != kindString {
		d.typeErr(v, p, `a duration string such as "10s"`)
		return 0, false
	}
	s := d.text(v)
	dur, err := time.ParseDuration(s)
	if err != nil {
		d.errs.add(int(v.line), "%s: invalid duration %q (examples: \"500ms\", \"30s\", \"4h\")", p, s)
		return 0, false
	}
	if dur < 0 {
		d.errs.add(int(v.line), "%s: duration %s must not be negative", p, s)
		return 0, false
	}
	return dur, true
}

// choice returns the element of valid that v is (so that the Config does not keep the
// document's copy).
func (d *decoder) choice(v *value, p keyPath, valid []string) (string, bool) {
	s, ok := d.str(v, p)
	if !ok {
		return "", false
	}
	for _, c := range valid {
		if s == c {
			return c, true
		}
	}
	d.errs.add(int(v.line), "%s: invalid value %q (valid: %s)%s", p, s, strings.Join(valid, ", "), suggest(s, valid))
	return "", false
}

func (d *decoder) table(v *value, p keyPath) (*table, bool) {
	if v.kind != kindTable {
		d.typeErr(v, p, "a table")
		return nil, false
	}
	return &d.tr.tables[v.sub], true
}

// Setters storing a valid value into dst; strings are cloned out of the document.

func (d *decoder) setStr(dst *string, v *value, p keyPath) {
	if s, ok := d.str(v, p); ok {
		*dst = strings.Clone(s)
	}
}

func (d *decoder) setInt(dst *int, v *value, p keyPath, lo, hi int64) {
	if n, ok := d.integer(v, p, lo, hi); ok {
		*dst = int(n)
	}
}

func (d *decoder) setUint(dst *uint64, v *value, p keyPath) {
	if n, ok := d.integer(v, p, 0, math.MaxInt64); ok {
		*dst = uint64(n)
	}
}

func (d *decoder) setFloat(dst *float64, v *value, p keyPath) {
	if f, ok := d.float(v, p); ok {
		*dst = f
	}
}

func (d *decoder) setBool(dst *bool, v *value, p keyPath) {
	if b, ok := d.boolean(v, p); ok {
		*dst = b
	}
}

func (d *decoder) setDur(dst *time.Duration, v *value, p keyPath) {
	if t, ok := d.duration(v, p); ok {
		*dst = t
	}
}

func (d *decoder) setChoice(dst *string, v *value, p keyPath, valid []string) {
	if s, ok := d.choice(v, p, valid); ok {
		*dst = s
	}
}

// The same as field decoders, for the tables decoded once per file.

func (d *decoder) strTo(dst *string) func(*value, keyPath) {
	return func(v *value, p keyPath) { d.setStr(dst, v, p) }
}

func (d *decoder) intTo(dst *int, lo, hi int64) func(*value, keyPath) {
	return func(v *value, p keyPath) { d.setInt(dst, v, p, lo, hi) }
}

func (d *decoder) floatTo(dst *float64) func(*value, keyPath) {
	return func(v *value, p keyPath) { d.setFloat(dst, v, p) }
}

func (d *decoder) boolTo(dst *bool) func(*value, keyPath) {
	return func(v *value, p keyPath) { d.setBool(dst, v, p) }
}

func (d *decoder) durTo(dst *time.Duration) func(*value, keyPath) {
	return func(v *value, p keyPath) { d.setDur(dst, v, p) }
}

func (d *decoder) choiceTo(dst *string, valid []string) func(*value, keyPath) {
	return func(v *value, p keyPath) { d.setChoice(dst, v, p, valid) }
}

func (d *decoder) tableTo(fn func(t *table, path string)) func(*value, keyPath) {
	return func(v *value, p keyPath) {
		if t, ok := d.table(v, p); ok {
			fn(t, p.String())
		}
	}
}

// config decodes the main file: its global settings, include list (into d.includes) and
// tunnels. The checks across tunnels wait for the included files' (see build).
func (d *decoder) config() *Config {
	c := &Config{Global: DefaultGlobal()}
	var tunnels *table
	d.fields(&d.tr.tables[0], "", []field{
		{"global", d.tableTo(func(t *table, p string) { d.global(t, p, &c.Global) })},
		{"include", d.include},
		{"tunnel", func(v *value, p keyPath) { tunnels = d.tunnelTable(v, p) }},
	})
	d.checkGlobal(&c.Global)
	if tunnels != nil {
		c.Tunnels = d.tunnels(tunnels, &c.Global)
	}
	return c
}

// tunnelTable returns the table of the "tunnel" key, set to v, or nil after reporting why it
// is none.
func (d *decoder) tunnelTable(v *value, p keyPath) *table {
	if v.kind == kindArrayOfTables {
		d.errs.add(int(v.line), "tunnel: use [tunnel.NAME] tables, not [[tunnel]]")
		return nil
	}
	t, _ := d.table(v, p)
	return t
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
		{"dh_reuse", d.durTo(&g.DHReuse)},
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
