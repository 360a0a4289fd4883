package config

import (
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigil-ipsec/vigil/crypto"
)

// base is a minimal valid tunnel occupying lines 1 to 6; cases append
// their own lines from line 7.
const base = `[tunnel.a]
local_addr = "192.0.2.1"
remote_addr = "192.0.2.2"
psk = "0123456789abcdef"
local_subnets = ["10.1.0.0/16"]
remote_subnets = ["10.2.0.0/16"]
`

// second is another valid tunnel, to the same peer as base, starting on
// line 7 when appended to base.
const second = `[tunnel.b]
local_addr = "192.0.2.1"
remote_addr = "192.0.2.2"
psk = "0123456789abcdef"
`

func mustParse(t *testing.T, src string) *Config {
	t.Helper()
	c, err := Parse("test.toml", []byte(src))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return c
}

func TestDefaults(t *testing.T) {
	c := mustParse(t, base)
	if c.File != "test.toml" {
		t.Errorf("File = %q", c.File)
	}
	if c.Global != DefaultGlobal() {
		t.Errorf("Global = %+v, want defaults %+v", c.Global, DefaultGlobal())
	}
	g := c.Global
	if g.Socket != "/run/vigil/vigil.sock" || g.IKEPort != 500 || g.NATTPort != 4500 || g.LogLevel != "info" ||
		g.LogFormat != "text" || g.MetricsAddr != "127.0.0.1:9745" || g.CookieThreshold != 500 || g.TUNName != "vigil0" {
		t.Errorf("global defaults: %+v", g)
	}
	if r := g.Retransmit; r.Timeout != 500*time.Millisecond || r.Base != 1.8 || r.Tries != 5 || r.MaxTimeout != 4*time.Second {
		t.Errorf("retransmit defaults: %+v", r)
	}
	if s := g.InvalidSPI; s.PerSPIInterval != time.Second || s.PerPeerRate != 10 || s.Unprotected || s.UnprotectedRate != 10 {
		t.Errorf("invalid_spi defaults: %+v", s)
	}
	if len(c.Tunnels) != 1 {
		t.Fatalf("%d tunnels", len(c.Tunnels))
	}
	tun := c.Tunnel("a")
	if tun != &c.Tunnels[0] {
		t.Fatalf("Tunnel(a) = %p, want %p", tun, &c.Tunnels[0])
	}
	want := Tunnel{
		Name: "a", Line: 1, Version: 2,
		LocalAddr:  netip.MustParseAddr("192.0.2.1"),
		RemoteAddr: netip.MustParseAddr("192.0.2.2"),
		LocalPort:  500, RemotePort: 500,
		LocalID:      Identity{Type: IDIPv4, Value: []byte{192, 0, 2, 1}},
		RemoteID:     Identity{Type: IDIPv4, Value: []byte{192, 0, 2, 2}},
		PSK:          Secret("0123456789abcdef"),
		LocalTS:      []netip.Prefix{netip.MustParsePrefix("10.1.0.0/16")},
		RemoteTS:     []netip.Prefix{netip.MustParsePrefix("10.2.0.0/16")},
		IKEProposals: "aes128gcm16-prfsha256-x25519", ESPProposals: "aes128gcm16",
		IKEParsed: mustParseProposals("aes128gcm16-prfsha256-x25519", true), ESPParsed: mustParseProposals("aes128gcm16", false),
		IKELifetime: 4 * time.Hour, ChildLifetime: time.Hour,
		StartAction: "none", Encap: "auto",
		DPDDelay: 10 * time.Second, DPDTimeout: 10 * time.Second, ChildProbe: 3 * time.Second, Heal: true, HealDelay: time.Second,
		ReplayWindow: 1024,
	}
	if !tun.Equal(&want) || tun.Line != 1 {
		t.Errorf("tunnel = %+v\nwant     %+v", *tun, want)
	}
	if c.Tunnel("nope") != nil {
		t.Error("Tunnel(nope) != nil")
	}
}

func TestDefaultLocalPortFollowsIKEPort(t *testing.T) {
	c := mustParse(t, "[global]\nike_port = 1500\n"+base)
	if p := c.Tunnels[0].LocalPort; p != 1500 {
		t.Errorf("LocalPort = %d, want 1500", p)
	}
	if p := c.Tunnels[0].RemotePort; p != 500 {
		t.Errorf("RemotePort = %d, want 500", p)
	}
	// [global] after the tunnels still applies to them.
	c = mustParse(t, base+"[global]\nike_port = 1600\n")
	if p := c.Tunnels[0].LocalPort; p != 1600 {
		t.Errorf("LocalPort = %d, want 1600 with [global] last", p)
	}
}

func TestFullConfig(t *testing.T) {
	src := `# every setting
[global]
socket = "/tmp/v.sock"
ike_port = 1500
natt_port = 14500
log_level = "debug"
log_format = "json"
metrics_addr = ""
cookie_threshold = 0
half_open_max = 300
half_open_per_source = 30
tun_name = "vpn1"
dh_reuse = "0s"

[global.retransmit]
timeout = "1s"
base = 2
tries = 3
max_timeout = "10s"

[global.invalid_spi]
per_spi_interval = "2s"
per_peer_rate = 5
unprotected = true
unprotected_rate = 0x10

[tunnel.site-b]
version = 2
local_addr = "2001:db8::1"
remote_addr = "2001:db8::2"
local_port = 1500
remote_port = 4501
local_id = "fqdn:a.example"
remote_id = "email:b@example.org"
psk = "a very long pre-shared key"
local_subnets = ["10.1.0.0/16", "2001:db8:1::/48"]
remote_subnets = [
  "10.2.0.0/16",  # comment
  "192.0.2.77",
]
ike_proposals = "aes256-sha256-modp2048,aes128gcm16-prfsha256-x25519"
esp_proposals = "aes256gcm16"
ike_lifetime = "0s"
child_lifetime = "30m"
child_life_bytes = 1_000_000
child_life_packets = 5000
start_action = "start"
encap = "udp"
dpd_delay = "0"
dpd_timeout = "0s"
child_probe = "1.5s"
heal = false
heal_delay = "250ms"
replay_window = 0
mobike = true
`
	c := mustParse(t, src)
	wantG := Global{
		Socket: "/tmp/v.sock", IKEPort: 1500, NATTPort: 14500, LogLevel: "debug", LogFormat: "json",
		MetricsAddr: "", CookieThreshold: 0, HalfOpenMax: 300, HalfOpenPerSource: 30, TUNName: "vpn1",
		Retransmit: Retransmit{Timeout: time.Second, Base: 2, Tries: 3, MaxTimeout: 10 * time.Second},
		InvalidSPI: InvalidSPI{PerSPIInterval: 2 * time.Second, PerPeerRate: 5, Unprotected: true, UnprotectedRate: 16},
	}
	if c.Global != wantG {
		t.Errorf("Global = %+v\nwant     %+v", c.Global, wantG)
	}
	want := Tunnel{
		Name: "site-b", Version: 2,
		LocalAddr:  netip.MustParseAddr("2001:db8::1"),
		RemoteAddr: netip.MustParseAddr("2001:db8::2"),
		LocalPort:  1500, RemotePort: 4501,
		LocalID:      Identity{Type: IDFQDN, Value: []byte("a.example")},
		RemoteID:     Identity{Type: IDRFC822, Value: []byte("b@example.org")},
		PSK:          Secret("a very long pre-shared key"),
		LocalTS:      []netip.Prefix{netip.MustParsePrefix("10.1.0.0/16"), netip.MustParsePrefix("2001:db8:1::/48")},
		RemoteTS:     []netip.Prefix{netip.MustParsePrefix("10.2.0.0/16"), netip.MustParsePrefix("192.0.2.77/32")},
		IKEProposals: "aes256-sha256-modp2048,aes128gcm16-prfsha256-x25519", ESPProposals: "aes256gcm16",
		IKEParsed:   mustParseProposals("aes256-sha256-modp2048,aes128gcm16-prfsha256-x25519", true),
		ESPParsed:   mustParseProposals("aes256gcm16", false),
		IKELifetime: 0, ChildLifetime: 30 * time.Minute, ChildLifeBytes: 1000000, ChildLifePackets: 5000,
		StartAction: "start", Encap: "udp",
		DPDDelay: 0, DPDTimeout: 0, ChildProbe: 1500 * time.Millisecond, Heal: false, HealDelay: 250 * time.Millisecond,
		ReplayWindow: 0, Mobike: true,
	}
	got := c.Tunnel("site-b")
	if got == nil || !got.Equal(&want) {
		t.Fatalf("tunnel = %+v\nwant     %+v", got, want)
	}
	if got.Line != 27 {
		t.Errorf("Line = %d, want 27", got.Line)
	}
}

func TestTunnelOrderAndLines(t *testing.T) {
	src := "[tunnel.z]\r\n" + strings.ReplaceAll(base[len("[tunnel.a]\n"):], "\n", "\r\n") + // lines 1-6, CRLF
		`[tunnel]
m = { local_addr = "192.0.2.1", remote_addr = "192.0.2.3", psk = "0123456789abcdef", local_subnets = ["10.1.0.0/16"], remote_subnets = ["10.3.0.0/16"] }
[tunnel.b]
local_addr = "192.0.2.1"
remote_addr = "192.0.2.4"
psk = "0123456789abcdef"
local_subnets = ["10.1.0.0/16"]
remote_subnets = ["10.4.0.0/16"]
`
	c := mustParse(t, src)
	var names []string
	var lines []int
	for _, tun := range c.Tunnels {
		names = append(names, tun.Name)
		lines = append(lines, tun.Line)
	}
	if strings.Join(names, ",") != "z,m,b" {
		t.Errorf("order %v", names)
	}
	if lines[0] != 1 || lines[1] != 8 || lines[2] != 9 {
		t.Errorf("lines %v, want [1 8 9]", lines)
	}
}

// errCase is a configuration with exactly one problem.
type errCase struct {
	name string
	src  string
	line int
	frag string
}

func TestErrors(t *testing.T) {
	cases := []errCase{
		// TOML itself
		{"syntax", base + "ike_lifetime = \n", 7, "TOML syntax error"},
		{"syntax bare word", "[global]\n\nsocket = /run/x\n", 3, "TOML syntax error"},
		{"unterminated string", base + "encap = \"auto\n", 7, "TOML syntax error"},
		{"unclosed header", "[global\nsocket = \"x\"\n", 1, "TOML syntax error"},
		{"impossible date", base + "ike_lifetime = 1979-13-27\n", 7, "invalid TOML"},
		{"duplicate tunnel", base + "[tunnel.a]\n", 7, `duplicate tunnel "a": already defined at line 1`},
		{"duplicate tunnel via inline", "[tunnel]\na = {local_addr = \"192.0.2.1\", remote_addr = \"192.0.2.2\", psk = \"0123456789abcdef\", local_subnets = [\"10.1.0.0/16\"], remote_subnets = [\"10.2.0.0/16\"]}\n[tunnel.a]\n", 3, `duplicate tunnel "a": already defined at line 2`},
		{"duplicate key", base + "psk = \"0123456789abcdefX\"\n", 7, `duplicate key tunnel.a.psk (first set at line 4)`},
		{"duplicate table", "[global]\n[global]\n" + base, 2, "table [global] is defined twice (first at line 1)"},
		{"array of tunnels", "[[tunnel]]\nlocal_addr = \"192.0.2.1\"\n", 1, "use [tunnel.NAME] tables"},
		{"tunnel not a table", "[tunnel]\nx = 1\n", 2, "tunnel.x: expected a table, got an integer"},
		{"global not a table", "global = 1\n" + base, 1, "global: expected a table, got an integer"},
		{"bad tunnel name", "[tunnel.\"a b\"]\n" + base[len("[tunnel.a]\n"):], 1, `tunnel name "a b"`},

		// unknown keys
		{"unknown top-level", "tunnels = 1\n" + base, 1, `unknown top-level key "tunnels" (did you mean "tunnel"?)`},
		{"unknown global", "[global]\nlog_levle = \"info\"\n" + base, 2, `global: unknown key "log_levle" (did you mean "log_level"?)`},
		{"unknown retransmit", "[global.retransmit]\ntimeuot = \"1s\"\n" + base, 2, `global.retransmit: unknown key "timeuot" (did you mean "timeout"?)`},
		{"unknown invalid_spi", "[global.invalid_spi]\nrate = 1\n" + base, 2, `global.invalid_spi: unknown key "rate"`},
		{"unknown tunnel key", base + "lcal_id = \"x\"\n", 7, `tunnel.a: unknown key "lcal_id" (did you mean "local_id"?)`},
		{"unknown sub-table", base + "[tunnel.a.extra]\n", 7, `tunnel.a: unknown key "extra"`},
		{"unknown global table", "[global.foo]\n" + base, 1, `global: unknown key "foo"`},

		// types
		{"int as string", base + "version = \"2\"\n", 7, "tunnel.a.version: expected an integer, got a string"},
		{"bool as string", base + "mobike = \"yes\"\n", 7, "tunnel.a.mobike: expected a boolean"},
		{"string as int", "[global]\nsocket = 5\n" + base, 2, "global.socket: expected a string, got an integer"},
		{"float as int", "[global]\nike_port = 500.0\n" + base, 2, "global.ike_port: expected an integer, got a float"},
		{"subnets not array", base[:len(base)-len("remote_subnets = [\"10.2.0.0/16\"]\n")] + "remote_subnets = \"10.2.0.0/16\"\n", 6, "tunnel.a.remote_subnets: expected an array"},
		{"subnet element type", base + "[tunnel.x]\nlocal_addr = \"192.0.2.1\"\nremote_addr = \"192.0.2.9\"\npsk = \"0123456789abcdef\"\nlocal_subnets = [\"10.1.0.0/16\"]\nremote_subnets = [\n  \"10.9.0.0/16\",\n  9,\n]\n", 14, "tunnel.x.remote_subnets[1]: expected a string, got an integer"},
		{"date as duration", base + "dpd_delay = 1979-05-27\n", 7, "tunnel.a.dpd_delay: expected a duration string"},
		{"int as duration", base + "dpd_delay = 10\n", 7, `tunnel.a.dpd_delay: expected a duration string such as "10s", got an integer`},

		// values
		{"bad duration", base + "ike_lifetime = \"4x\"\n", 7, `tunnel.a.ike_lifetime: invalid duration "4x"`},
		{"negative duration", base + "child_lifetime = \"-1h\"\n", 7, "tunnel.a.child_lifetime: duration -1h must not be negative"},
		{"negative global duration", "[global.invalid_spi]\nper_spi_interval = \"-1s\"\n" + base, 2, "must not be negative"},
		{"version", base + "version = 3\n", 7, "tunnel.a.version: 3 is out of range (1 to 2)"},
		{"port range", base + "remote_port = 70000\n", 7, "tunnel.a.remote_port: 70000 is out of range"},
		{"negative bytes", base + "child_life_bytes = -1\n", 7, "tunnel.a.child_life_bytes: -1 is out of range"},
		{"replay window", base + "replay_window = 100000\n", 7, "tunnel.a.replay_window: 100000 is out of range"},
		{"start_action", base + "start_action = \"begin\"\n", 7, `tunnel.a.start_action: invalid value "begin" (valid: start, trap, none)`},
		{"start_action suggestion", base + "start_action = \"strat\"\n", 7, `(did you mean "start"?)`},
		{"encap", base + "encap = \"esp\"\n", 7, `tunnel.a.encap: invalid value "esp" (valid: auto, udp, raw)`},
		{"log_level", "[global]\nlog_level = \"verbose\"\n" + base, 2, `global.log_level: invalid value "verbose" (valid: debug, info, warn, error)`},
		{"log_format", "[global]\nlog_format = \"xml\"\n" + base, 2, `(valid: text, json)`},
		{"bad address", "[tunnel.a]\nlocal_addr = \"192.0.2.300\"\n" + base[len("[tunnel.a]\nlocal_addr = \"192.0.2.1\"\n"):], 2, `tunnel.a.local_addr: "192.0.2.300" is not an IP address`},
		{"unspecified address", "[tunnel.a]\nlocal_addr = \"0.0.0.0\"\n" + base[len("[tunnel.a]\nlocal_addr = \"192.0.2.1\"\n"):], 2, "is not a unicast address"},
		{"zoned address", "[tunnel.a]\nlocal_addr = \"fe80::1%eth0\"\nremote_addr = \"fe80::2\"\n" + base[len("[tunnel.a]\nlocal_addr = \"192.0.2.1\"\nremote_addr = \"192.0.2.2\"\n"):], 2, "zones are not supported"},
		{"family mismatch", "[tunnel.a]\nlocal_addr = \"192.0.2.1\"\nremote_addr = \"2001:db8::2\"\n" + base[len("[tunnel.a]\nlocal_addr = \"192.0.2.1\"\nremote_addr = \"192.0.2.2\"\n"):], 3, "local_addr 192.0.2.1 is IPv4 but remote_addr 2001:db8::2 is IPv6"},
		{"bad cidr", base[:len(base)-len("remote_subnets = [\"10.2.0.0/16\"]\n")] + "remote_subnets = [\"10.2.0.0/33\"]\n", 6, `tunnel.a.remote_subnets[0]: "10.2.0.0/33" is not a subnet`},
		{"host bits", base[:len(base)-len("remote_subnets = [\"10.2.0.0/16\"]\n")] + "remote_subnets = [\"10.2.3.4/16\"]\n", 6, `has host bits set (did you mean "10.2.0.0/16"?)`},
		{"empty subnets", base[:len(base)-len("remote_subnets = [\"10.2.0.0/16\"]\n")] + "remote_subnets = []\n", 6, "tunnel.a.remote_subnets: must list at least one subnet"},
		{"bad identity type", base + "remote_id = \"fqnd:b.example\"\n", 7, `tunnel.a.remote_id: unknown identity type "fqnd" (valid: fqdn, email, rfc822, keyid, ipv4, ipv6) (did you mean "fqdn"?)`},
		{"bad identity", base + "local_id = \"ipv4:2001:db8::1\"\n", 7, "tunnel.a.local_id: ipv4 identity"},
		{"unknown ike algorithm", base + "ike_proposals = \"aes128gcm16-prfsha256-x25519,aes256-bogus-modp2048\"\n", 7, `tunnel.a.ike_proposals: crypto: unknown algorithm "bogus"`},
		{"unknown esp algorithm", base + "esp_proposals = \"rot13\"\n", 7, `tunnel.a.esp_proposals: crypto: unknown algorithm "rot13"`},
		{"empty proposals", base + "esp_proposals = \" \"\n", 7, "tunnel.a.esp_proposals: must not be empty"},
		{"dpd timeout", base + "dpd_timeout = \"0s\"\n", 7, "tunnel.a.dpd_timeout: must be positive when dpd_delay is set"},

		// global relations
		{"same ports", "[global]\nike_port = 4500\n" + base, 2, "global.ike_port: ike_port and natt_port must differ"},
		{"metrics addr", "[global]\nmetrics_addr = \"localhost\"\n" + base, 2, `global.metrics_addr: "localhost" is not host:port`},
		{"tun name", "[global]\ntun_name = \"a-very-long-interface-name\"\n" + base, 2, "global.tun_name"},
		{"dh reuse too long", "[global]\ndh_reuse = \"2m\"\n" + base, 2, "global.dh_reuse: 2m0s is longer than 1m0s"},
		{"dh reuse negative", "[global]\ndh_reuse = \"-1s\"\n" + base, 2, "global.dh_reuse"},
		{"empty socket", "[global]\nsocket = \"\"\n" + base, 2, "global.socket: must not be empty"},
		{"retransmit base", "[global.retransmit]\nbase = 0.5\n" + base, 2, "global.retransmit.base: 0.5 is out of range"},
		{"retransmit nan", "[global.retransmit]\nbase = nan\n" + base, 2, "global.retransmit.base: NaN is out of range"},
		{"retransmit tries", "[global.retransmit]\ntries = 0\n" + base, 2, "global.retransmit.tries: 0 is out of range"},
		{"retransmit timeout", "[global.retransmit]\ntimeout = \"0s\"\n" + base, 2, "global.retransmit.timeout: must be positive"},
		{"retransmit max", "[global.retransmit]\ntimeout = \"5s\"\n" + base, 2, "max_timeout (4s) must not be shorter than timeout (5s)"},

		// required keys and PSK
		{"missing local_addr", "\n[tunnel.a]\nremote_addr = \"192.0.2.2\"\npsk = \"0123456789abcdef\"\nlocal_subnets = [\"10.1.0.0/16\"]\nremote_subnets = [\"10.2.0.0/16\"]\n", 2, `tunnel.a: missing required key "local_addr"`},
		{"missing subnets", "[tunnel.a]\nlocal_addr = \"192.0.2.1\"\nremote_addr = \"192.0.2.2\"\npsk = \"0123456789abcdef\"\nlocal_subnets = [\"10.1.0.0/16\"]\n", 1, `tunnel.a: missing required key "remote_subnets"`},
		{"missing psk", "[tunnel.a]\nlocal_addr = \"192.0.2.1\"\nremote_addr = \"192.0.2.2\"\nlocal_subnets = [\"10.1.0.0/16\"]\nremote_subnets = [\"10.2.0.0/16\"]\n", 1, "tunnel.a: missing pre-shared key: set psk or psk_file"},
		{"psk and psk_file", base + "psk_file = \"a.psk\"\n", 7, "tunnel.a: psk and psk_file are mutually exclusive"},
		{"short psk", "[tunnel.a]\nlocal_addr = \"192.0.2.1\"\nremote_addr = \"192.0.2.2\"\npsk = \"tooshort\"\nlocal_subnets = [\"10.1.0.0/16\"]\nremote_subnets = [\"10.2.0.0/16\"]\n", 4, "tunnel.a.psk: the pre-shared key must be at least 16 bytes long"},
		{"psk not a string", "[tunnel.a]\nlocal_addr = \"192.0.2.1\"\nremote_addr = \"192.0.2.2\"\npsk = 1234567890123456789\nlocal_subnets = [\"10.1.0.0/16\"]\nremote_subnets = [\"10.2.0.0/16\"]\n", 4, "tunnel.a.psk: expected a string, got an integer"},

		// selectors across tunnels
		{"same peer overlap", base + second + "local_subnets = [\"10.1.2.0/24\"]\nremote_subnets = [\"10.2.0.0/24\"]\n", 7,
			`tunnel "b": traffic selectors 10.1.2.0/24 === 10.2.0.0/24 overlap 10.1.0.0/16 === 10.2.0.0/16 of tunnel "a" (line 1) to the same peer 192.0.2.2`},
		{"remote overlap", base + "[tunnel.b]\nlocal_addr = \"192.0.2.1\"\nremote_addr = \"192.0.2.3\"\npsk = \"0123456789abcdef\"\nlocal_subnets = [\"10.5.0.0/16\"]\nremote_subnets = [\"10.9.0.0/16\", \"10.0.0.0/8\"]\n", 7,
			`tunnel "b": remote_subnets 10.0.0.0/8 overlaps 10.2.0.0/16 of tunnel "a" (line 1); routing would be ambiguous`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("test.toml", []byte(tc.src))
			list := Errors(err)
			if len(list) != 1 {
				t.Fatalf("want 1 error, got %d: %v", len(list), err)
			}
			e := list[0]
			if e.File != "test.toml" || e.Line != tc.line || !strings.Contains(e.Msg, tc.frag) {
				t.Errorf("got  %v\nwant test.toml:%d: ...%s...", e, tc.line, tc.frag)
			}
			var ce *Error
			if !errors.As(err, &ce) || ce.Error() != e.Error() {
				t.Errorf("returned %T, want *Error", err)
			}
		})
	}
}

func TestNoSuggestionWhenFar(t *testing.T) {
	_, err := Parse("test.toml", []byte(base+"frobnicate = 1\n"))
	if err == nil || strings.Contains(err.Error(), "did you mean") || !strings.Contains(err.Error(), `unknown key "frobnicate"`) {
		t.Errorf("err = %v", err)
	}
}

func TestValidSelectors(t *testing.T) {
	for name, src := range map[string]string{
		"same peer, distinct remote": base + second + "local_subnets = [\"10.1.0.0/16\"]\nremote_subnets = [\"10.3.0.0/16\"]\n",
		"other peer, same local":     base + "[tunnel.b]\nlocal_addr = \"192.0.2.1\"\nremote_addr = \"192.0.2.3\"\npsk = \"0123456789abcdef\"\nlocal_subnets = [\"10.1.0.0/16\"]\nremote_subnets = [\"10.3.0.0/16\"]\n",
		"mixed families":             base + "[tunnel.b]\nlocal_addr = \"192.0.2.1\"\nremote_addr = \"192.0.2.3\"\npsk = \"0123456789abcdef\"\nlocal_subnets = [\"10.1.0.0/16\", \"2001:db8:1::/48\"]\nremote_subnets = [\"2001:db8:2::/48\", \"10.3.0.0/16\"]\n",
	} {
		if _, err := Parse("test.toml", []byte(src)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestAllErrorsReported checks that every problem is reported, in line
// order, joined in one error.
func TestAllErrorsReported(t *testing.T) {
	src := `[global]
log_level = "loud"
[tunnel.a]
local_addr = "192.0.2.1"
remote_addr = "192.0.2.2"
psk = "0123456789abcdef"
local_subnets = ["10.1.0.0/16"]
remote_subnets = ["10.2.0.0/16"]
ike_lifetime = "soon"
[tunnel.b]
local_addr = "192.0.2.1"
remote_addr = "192.0.2.3"
local_subnets = ["10.1.0.0/16"]
remote_subnets = ["10.2.1.0/24"]
encap = "gre"
[tunnel.a]
`
	_, err := Parse("x.toml", []byte(src))
	want := []struct {
		line int
		frag string
	}{
		{2, `invalid value "loud"`},
		{9, `invalid duration "soon"`},
		{10, "missing pre-shared key"},
		{10, `overlaps 10.2.0.0/16 of tunnel "a" (line 3)`},
		{15, `invalid value "gre"`},
		{16, `duplicate tunnel "a"`},
	}
	list := Errors(err)
	if len(list) != len(want) {
		t.Fatalf("got %d errors, want %d:\n%v", len(list), len(want), err)
	}
	for i, w := range want {
		if list[i].Line != w.line || !strings.Contains(list[i].Msg, w.frag) {
			t.Errorf("error %d = %v, want line %d %q", i, list[i], w.line, w.frag)
		}
	}
	if got := strings.Count(err.Error(), "\n"); got != len(want)-1 {
		t.Errorf("joined error has %d newlines:\n%v", got, err)
	}
	if !strings.HasPrefix(err.Error(), "x.toml:2: ") {
		t.Errorf("error text %q", err.Error())
	}
}

func TestErrorFormat(t *testing.T) {
	if s := (&Error{File: "f.toml", Line: 3, Msg: "bad"}).Error(); s != "f.toml:3: bad" {
		t.Errorf("%q", s)
	}
	if s := (&Error{File: "f.toml", Msg: "bad"}).Error(); s != "f.toml: bad" {
		t.Errorf("%q", s)
	}
	if Errors(nil) != nil {
		t.Error("Errors(nil) != nil")
	}
}

func TestEmptyConfig(t *testing.T) {
	c := mustParse(t, "")
	if len(c.Tunnels) != 0 || c.Global != DefaultGlobal() {
		t.Errorf("%+v", c)
	}
}

func TestProposalSeam(t *testing.T) {
	saved := parseProposals
	t.Cleanup(func() { parseProposals = saved })
	var calls []string
	marker := []crypto.Proposal{{Encr: []crypto.EncrAlg{{ID: 999, KeyBits: 1}}}}
	parseProposals = func(s string, ike bool) ([]crypto.Proposal, error) {
		calls = append(calls, s)
		if ike && s == "custom" {
			return nil, errors.New("custom proposal refused")
		}
		return marker, nil
	}
	_, err := Parse("t.toml", []byte(base+"ike_proposals = \"custom\"\nesp_proposals = \"custom\"\n"))
	list := Errors(err)
	if len(list) != 1 || list[0].Line != 7 || list[0].Msg != "tunnel.a.ike_proposals: custom proposal refused" {
		t.Errorf("err = %v", err)
	}
	if len(calls) != 2 {
		t.Errorf("parser called %d times, want 2", len(calls))
	}
	// The parser's result is what the tunnel carries: nobody parses the text again.
	c := mustParse(t, base+"esp_proposals = \"other\"\n")
	if got := c.Tunnel("a").ESPParsed; !reflect.DeepEqual(got, marker) {
		t.Errorf("ESPParsed = %v, want the parser's result %v", got, marker)
	}
}

// TestParsedProposals checks that every tunnel carries its proposals parsed, whether they
// were given, are the defaults, or are the IKEv1 default.
func TestParsedProposals(t *testing.T) {
	parse := func(s string, ike bool) []crypto.Proposal {
		p, err := crypto.ParseProposals(s, ike)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	c := mustParse(t, base+"ike_proposals = \"aes256-sha256-modp2048\"\nesp_proposals = \"aes256gcm16,aes128gcm16\"\n")
	for _, tc := range []struct {
		name     string
		tun      *Tunnel
		ike, esp string
	}{
		{"given", c.Tunnel("a"), "aes256-sha256-modp2048", "aes256gcm16,aes128gcm16"},
		{"defaults", mustParse(t, base).Tunnel("a"), DefaultIKEProposals, DefaultESPProposals},
		{"IKEv1 defaults", mustParse(t, base+"version = 1\n").Tunnel("a"), DefaultIKEv1Proposals, DefaultESPProposals},
	} {
		if tc.tun.IKEProposals != tc.ike || !reflect.DeepEqual(tc.tun.IKEParsed, parse(tc.ike, true)) {
			t.Errorf("%s: ike %q parsed %v, want %q", tc.name, tc.tun.IKEProposals, tc.tun.IKEParsed, tc.ike)
		}
		if tc.tun.ESPProposals != tc.esp || !reflect.DeepEqual(tc.tun.ESPParsed, parse(tc.esp, false)) {
			t.Errorf("%s: esp %q parsed %v, want %q", tc.name, tc.tun.ESPProposals, tc.tun.ESPParsed, tc.esp)
		}
	}
}

func TestLoadPSKFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("good.psk", "file-secret-0123456789\n")
	write("crlf.psk", "file-secret-0123456789\r\n")
	write("short.psk", "0123456789\n")
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o700); err != nil {
		t.Fatal(err)
	}
	write("sub/rel.psk", "relative-secret-0123")
	src := func(pskFile string) string {
		return "[tunnel.a]\nlocal_addr = \"192.0.2.1\"\nremote_addr = \"192.0.2.2\"\npsk_file = \"" + pskFile +
			"\"\nlocal_subnets = [\"10.1.0.0/16\"]\nremote_subnets = [\"10.2.0.0/16\"]\n"
	}
	for _, tc := range []struct{ file, want string }{
		{"good.psk", "file-secret-0123456789"},
		{"crlf.psk", "file-secret-0123456789"},
		{"sub/rel.psk", "relative-secret-0123"},
		{filepath.Join(dir, "good.psk"), "file-secret-0123456789"},
	} {
		cfg := write("vigil.toml", src(tc.file))
		c, err := Load(cfg)
		if err != nil {
			t.Errorf("%s: %v", tc.file, err)
			continue
		}
		if got := string(c.Tunnels[0].PSK.Bytes()); got != tc.want {
			t.Errorf("%s: psk %q, want %q", tc.file, got, tc.want)
		}
		if c.File != cfg {
			t.Errorf("File = %q", c.File)
		}
	}
	for _, tc := range []struct{ file, frag string }{
		{"missing.psk", `tunnel.a.psk_file: cannot read "` + filepath.Join(dir, "missing.psk") + `": no such file or directory`},
		{"sub", `cannot read "` + filepath.Join(dir, "sub") + `": not a regular file`},
		{"short.psk", `tunnel.a.psk_file: the pre-shared key in "` + filepath.Join(dir, "short.psk") + `" must be at least 16 bytes long`},
		{"", "tunnel.a.psk_file: must not be empty"},
	} {
		cfg := write("vigil.toml", src(tc.file))
		_, err := Load(cfg)
		list := Errors(err)
		if len(list) != 1 || list[0].Line != 4 || list[0].File != cfg || !strings.Contains(list[0].Msg, tc.frag) {
			t.Errorf("%q: err = %v, want line 4 %q", tc.file, err, tc.frag)
		}
		if err != nil && strings.Contains(err.Error(), "0123456789") {
			t.Errorf("%q: error shows the key: %v", tc.file, err)
		}
	}
}

func TestLoadMissingFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "none.toml")
	_, err := Load(p)
	var e *Error
	if !errors.As(err, &e) || e.File != p || e.Line != 0 || !strings.Contains(e.Msg, "no such file") {
		t.Errorf("err = %v", err)
	}
}

func TestTunnelLookupWithoutIndex(t *testing.T) {
	c := &Config{Tunnels: []Tunnel{{Name: "x"}, {Name: "y"}}}
	if c.Tunnel("y") != &c.Tunnels[1] || c.Tunnel("z") != nil {
		t.Error("lookup on a hand-built Config failed")
	}
	var nilc *Config
	if nilc.Tunnel("x") != nil {
		t.Error("nil Config lookup")
	}
}

// TestLoadRefusesOpenKeyFiles: a psk_file, or a configuration file holding an inline psk,
// that group or others may access is refused with the file, its mode and the fix.
func TestLoadRefusesOpenKeyFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil { // WriteFile's mode is subject to the umask
			t.Fatal(err)
		}
		return p
	}
	fileSrc := "[tunnel.a]\nlocal_addr = \"192.0.2.1\"\nremote_addr = \"192.0.2.2\"\npsk_file = \"k.psk\"\n" +
		"local_subnets = [\"10.1.0.0/16\"]\nremote_subnets = [\"10.2.0.0/16\"]\n"
	for _, mode := range []os.FileMode{0o644, 0o640, 0o604, 0o660} {
		key := write("k.psk", "file-secret-0123456789\n", mode)
		cfg := write("vigil.toml", fileSrc, 0o644) // no inline key: the config may be public
		_, err := Load(cfg)
		list := Errors(err)
		want := []string{"tunnel.a.psk_file", key, "mode 0" + strconv.FormatUint(uint64(mode), 8), "chmod 600 " + key}
		if len(list) != 1 || list[0].Line != 4 {
			t.Fatalf("psk_file mode %o: err = %v, want one error at line 4", mode, err)
		}
		for _, w := range want {
			if !strings.Contains(list[0].Msg, w) {
				t.Errorf("psk_file mode %o: %q lacks %q", mode, list[0].Msg, w)
			}
		}
		if strings.Contains(err.Error(), "0123456789") {
			t.Errorf("error shows the key: %v", err)
		}
	}
	write("k.psk", "file-secret-0123456789\n", 0o600)
	if _, err := Load(filepath.Join(dir, "vigil.toml")); err != nil {
		t.Errorf("psk_file of mode 0600 refused: %v", err)
	}
	write("k.psk", "file-secret-0123456789\n", 0o400)
	if _, err := Load(filepath.Join(dir, "vigil.toml")); err != nil {
		t.Errorf("psk_file of mode 0400 refused: %v", err)
	}

	// Inline psk: the configuration file itself is a key file.
	inline := base
	cfg := write("inline.toml", inline, 0o644)
	_, err := Load(cfg)
	list := Errors(err)
	if len(list) != 1 || list[0].Line != 4 || !strings.Contains(list[0].Msg, cfg) ||
		!strings.Contains(list[0].Msg, "mode 0644") || !strings.Contains(list[0].Msg, "chmod 600 "+cfg) {
		t.Errorf("inline psk in a mode 0644 file: err = %v", err)
	}
	if err != nil && strings.Contains(err.Error(), "0123456789abcdef") {
		t.Errorf("error shows the key: %v", err)
	}
	write("inline.toml", inline, 0o600)
	if _, err := Load(cfg); err != nil {
		t.Errorf("inline psk in a mode 0600 file refused: %v", err)
	}
	// Parse knows no file mode and checks none.
	if _, err := Parse(cfg, []byte(inline)); err != nil {
		t.Errorf("Parse: %v", err)
	}
}
