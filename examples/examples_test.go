package examples

import (
	"bufio"
	"bytes"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vigil-ipsec/vigil/config"
)

// load loads an example, failing the test with every problem config.Load reports. Git keeps
// no file modes but 0644 and 0755, and vigild refuses key files others may read, so the
// example, its key files and included files are loaded from private (mode 0600) copies, as
// installed.
func load(t *testing.T, name string) *config.Config {
	t.Helper()
	dir := t.TempDir()
	files, err := filepath.Glob("*.psk")
	if err != nil {
		t.Fatal(err)
	}
	// And the directories of included files (hub.d/ of vigil-hub.toml), whole.
	included, err := filepath.Glob("*.d/*")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range append(append(files, name), included...) {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(f)), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	c, err := config.Load(filepath.Join(dir, name))
	if err != nil {
		t.Fatalf("%s does not load:\n%v", name, err)
	}
	return c
}

// only returns the single tunnel of c.
func only(t *testing.T, c *config.Config) *config.Tunnel {
	t.Helper()
	if len(c.Tunnels) != 1 {
		t.Fatalf("%s: %d tunnels, want 1", c.File, len(c.Tunnels))
	}
	return &c.Tunnels[0]
}

// TestExamplesLoad loads every .toml file here as vigild would.
func TestExamplesLoad(t *testing.T) {
	files, err := filepath.Glob("*.toml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 3 {
		t.Fatalf("found %d example configurations (%v), want at least 3", len(files), files)
	}
	for _, f := range files {
		t.Run(f, func(t *testing.T) {
			c := load(t, f)
			if len(c.Tunnels) == 0 {
				t.Errorf("%s configures no tunnel", f)
			}
			for _, tun := range c.Tunnels {
				if tun.Version != 2 {
					t.Errorf("%s: tunnel %s uses IKE version %d; vigild only runs IKEv2", f, tun.Name, tun.Version)
				}
			}
		})
	}
}

// TestHubIncludes checks that vigil-hub.toml reads its tunnels from hub.d/, each with the key
// file beside it.
func TestHubIncludes(t *testing.T) {
	c := load(t, "vigil-hub.toml")
	if len(c.Tunnels) != 2 || len(c.Includes) != 2 {
		t.Fatalf("%d tunnels from %v, want 2 from hub.d/spoke-1.toml and spoke-2.toml", len(c.Tunnels), c.Includes)
	}
	for i, name := range []string{"spoke-1", "spoke-2"} {
		tun := c.Tunnel(name)
		if tun == nil || tun.File != c.Includes[i] || !strings.HasSuffix(tun.File, filepath.Join("hub.d", name+".toml")) {
			t.Errorf("tunnel %s: %+v, want it from hub.d/%s.toml", name, tun, name)
		}
	}
	if c.Tunnel("spoke-1").PSK.Equal(c.Tunnel("spoke-2").PSK) {
		t.Error("the spokes share a pre-shared key")
	}
}

// TestSitesMirror checks that vigil-site-a.toml and vigil-site-b.toml describe the same
// tunnel from both ends.
func TestSitesMirror(t *testing.T) {
	a := only(t, load(t, "vigil-site-a.toml"))
	b := only(t, load(t, "vigil-site-b.toml"))
	checks := []struct {
		what string
		ok   bool
	}{
		{"A's local_addr is B's remote_addr", a.LocalAddr == b.RemoteAddr},
		{"A's remote_addr is B's local_addr", a.RemoteAddr == b.LocalAddr},
		{"A's local_id is B's remote_id", a.LocalID.Equal(b.RemoteID)},
		{"A's remote_id is B's local_id", a.RemoteID.Equal(b.LocalID)},
		{"A's local_subnets are B's remote_subnets", slices.Equal(a.LocalTS, b.RemoteTS)},
		{"A's remote_subnets are B's local_subnets", slices.Equal(a.RemoteTS, b.LocalTS)},
		{"the pre-shared keys are equal", a.PSK.Equal(b.PSK)},
		{"the IKE proposals are equal", a.IKEProposals == b.IKEProposals},
		{"the ESP proposals are equal", a.ESPProposals == b.ESPProposals},
		{"the ports match", a.LocalPort == b.RemotePort && a.RemotePort == b.LocalPort},
	}
	for _, c := range checks {
		if !c.ok {
			t.Errorf("site A and site B disagree: want %s", c.what)
		}
	}
}

// TestStrongSwanMatches checks vigil-to-strongswan.toml against strongswan/swanctl.conf.
func TestStrongSwanMatches(t *testing.T) {
	v := only(t, load(t, "vigil-to-strongswan.toml"))
	data, err := os.ReadFile(filepath.Join("strongswan", "swanctl.conf"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := parseSwanctl(data)
	if err != nil {
		t.Fatalf("swanctl.conf: %v", err)
	}
	const conn = "connections.vigil."
	const child = conn + "children.site-a."
	get := func(key string) string {
		t.Helper()
		val, ok := s[key]
		if !ok {
			t.Errorf("swanctl.conf has no %s", key)
		}
		return val
	}
	addr := func(key string) netip.Addr {
		a, _ := netip.ParseAddr(get(key))
		return a
	}
	id := func(key string) config.Identity {
		id, err := config.ParseIdentity(get(key))
		if err != nil {
			t.Errorf("swanctl.conf %s: %v", key, err)
		}
		return id
	}
	prefixes := func(key string) []netip.Prefix {
		var out []netip.Prefix
		for _, f := range strings.Split(get(key), ",") {
			p, err := netip.ParsePrefix(strings.TrimSpace(f))
			if err != nil {
				t.Errorf("swanctl.conf %s: %v", key, err)
			}
			out = append(out, p)
		}
		return out
	}
	checks := []struct {
		what string
		ok   bool
	}{
		{"local_addrs = Vigil's remote_addr", addr(conn+"local_addrs") == v.RemoteAddr},
		{"remote_addrs = Vigil's local_addr", addr(conn+"remote_addrs") == v.LocalAddr},
		{"local.id = Vigil's remote_id", id(conn + "local.id").Equal(v.RemoteID)},
		{"remote.id = Vigil's local_id", id(conn + "remote.id").Equal(v.LocalID)},
		{"local.auth = psk", get(conn+"local.auth") == "psk"},
		{"remote.auth = psk", get(conn+"remote.auth") == "psk"},
		{"proposals = Vigil's ike_proposals", get(conn+"proposals") == v.IKEProposals},
		{"esp_proposals = Vigil's esp_proposals", get(child+"esp_proposals") == v.ESPProposals},
		{"no ESN (kernel-libipsec cannot do it)", !strings.Contains(v.ESPProposals, "-esn")},
		{"encap = yes (kernel-libipsec needs ESP-in-UDP)", get(conn+"encap") == "yes"},
		{"local_ts = Vigil's remote_subnets", slices.Equal(prefixes(child+"local_ts"), v.RemoteTS)},
		{"remote_ts = Vigil's local_subnets", slices.Equal(prefixes(child+"remote_ts"), v.LocalTS)},
		// The value is compared, never printed.
		{"secrets.ike-vigil.secret = Vigil's psk", bytes.Equal([]byte(get("secrets.ike-vigil.secret")), v.PSK.Bytes())},
	}
	for _, c := range checks {
		if !c.ok {
			t.Errorf("vigil-to-strongswan.toml and swanctl.conf disagree: want %s", c.what)
		}
	}
}

// TestStrongSwanConf checks that strongswan.conf enables kernel-libipsec, which the
// comments of the other two files rely on.
func TestStrongSwanConf(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("strongswan", "strongswan.conf"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := parseSwanctl(data)
	if err != nil {
		t.Fatalf("strongswan.conf: %v", err)
	}
	if got := s["charon.plugins.kernel-libipsec.load"]; got != "yes" {
		t.Errorf("charon.plugins.kernel-libipsec.load = %q, want yes", got)
	}
}

// parseSwanctl reads the settings of a strongSwan configuration file (swanctl.conf and
// strongswan.conf share the syntax) into a map from dotted key paths
// ("connections.vigil.local.id") to values. It understands what the examples use:
// "name {", "}", "key = value" with optional double quotes, "#" comments and "include"
// lines (ignored).
func parseSwanctl(data []byte) (map[string]string, error) {
	out := map[string]string{}
	var path []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		line = strings.TrimSpace(line)
		switch {
		case line == "" || strings.HasPrefix(line, "include "):
		case line == "}":
			if len(path) == 0 {
				return nil, fmt.Errorf("line %d: unbalanced }", n)
			}
			path = path[:len(path)-1]
		case strings.HasSuffix(line, "{"):
			name := strings.TrimSpace(strings.TrimSuffix(line, "{"))
			if !isName(name) {
				return nil, fmt.Errorf("line %d: bad section name %q", n, name)
			}
			path = append(path, name)
		default:
			key, val, ok := strings.Cut(line, "=")
			key, val = strings.TrimSpace(key), strings.TrimSpace(val)
			if !ok || !isName(key) {
				return nil, fmt.Errorf("line %d: expected key = value, name { or }", n)
			}
			if len(val) >= 2 && val[0] == '"' && val[len(val)-1] == '"' {
				val = val[1 : len(val)-1]
			}
			out[strings.Join(append(slices.Clone(path), key), ".")] = val
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(path) != 0 {
		return nil, fmt.Errorf("section %s is not closed", strings.Join(path, "."))
	}
	return out, nil
}

// isName reports whether s can be a section name or key: letters, digits, '-' and '_'.
func isName(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

func TestParseSwanctl(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     map[string]string
		wantErr  bool
	}{
		{"nested", "a {\n b = 1 # c\n d {\n  e = \"x y\"\n }\n}\n", map[string]string{"a.b": "1", "a.d.e": "x y"}, false},
		{"include", "charon {\n include strongswan.d/*.conf\n}\ninclude x\n", map[string]string{}, false},
		{"unclosed", "a {\n b = 1\n", nil, true},
		{"extra close", "}\n", nil, true},
		{"garbage", "a {\n just words\n}\n", nil, true},
		{"dot key", ". = x\n", nil, true},
		{"dotted section", "a.b {\n}\n", nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseSwanctl([]byte(tc.in))
			if (err != nil) != tc.wantErr {
				t.Fatalf("error %v, want error: %v", err, tc.wantErr)
			}
			if !tc.wantErr && !mapsEqual(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// FuzzParseSwanctl: any input gives a map or an error, never a panic, and every key of
// the map is a non-empty dotted path.
func FuzzParseSwanctl(f *testing.F) {
	for _, name := range []string{"swanctl.conf", "strongswan.conf"} {
		if b, err := os.ReadFile(filepath.Join("strongswan", name)); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("a {\n b = \"c\"\n}\n"))
	f.Add([]byte("}\n{\n=\n"))
	f.Add([]byte(". = x\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := parseSwanctl(data)
		if err != nil {
			return
		}
		for k := range m {
			if k == "" || strings.HasPrefix(k, ".") || strings.HasSuffix(k, ".") {
				t.Errorf("bad key path %q", k)
			}
		}
	})
}
