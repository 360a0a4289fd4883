package swan

import (
	"strings"
	"testing"
)

func TestBulkSwanctlConf(t *testing.T) {
	a, b := validConf(), validConf()
	b.Name, b.PSK, b.LocalID = "s2s-2", "another secret", "fqdn:b.example"
	got, err := bulkSwanctlConf([]Conf{a, b})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"connections {\n\ts2s {\n\t\tversion = 2\n",
		"\t}\n\ts2s-2 {\n\t\tversion = 2\n",
		"\t\tlocal {\n\t\t\tauth = psk\n\t\t\tid = fqdn:b.example\n",
		"secrets {\n\tike-s2s {\n\t\tid-local = 192.0.2.1\n",
		"\tike-s2s-2 {\n\t\tid-local = fqdn:b.example\n\t\tid-remote = 192.0.2.2\n\t\tsecret = 0x616e6f7468657220736563726574\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("swanctl.conf lacks %q:\n%s", want, got)
		}
	}
	if strings.Count(got, "{") != strings.Count(got, "}") {
		t.Errorf("unbalanced braces:\n%s", got)
	}
	if _, err := bulkSwanctlConf([]Conf{a, a}); err == nil || !strings.Contains(err.Error(), "twice") {
		t.Errorf("duplicate name: %v", err)
	}
	b.PSK = ""
	if _, err := bulkSwanctlConf([]Conf{a, b}); err == nil {
		t.Error("a connection without PSK was accepted")
	}
}

func TestBulkStrongswanConf(t *testing.T) {
	got, err := bulkStrongswanConf("/tmp/x", BulkConf{
		Charon:   [][2]string{{"ikesa_table_size", "1024"}, {"threads", "32"}, {"threads", "24"}},
		LogLevel: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"\tload_modular = no\n",
		"\tikesa_table_size = 1024\n\tthreads = 24\n",
		"\t\t\tpath = /tmp/x/charon.log\n",
		"\t\t\tdefault = 1\n",
		"\t\t\tike = 1\n\t\t\tcfg = 1\n\t\t\tchd = 1\n\t\t\tknl = 1\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("strongswan.conf lacks %q:\n%s", want, got)
		}
	}
	if _, err := bulkStrongswanConf("/tmp/x", BulkConf{Charon: [][2]string{{"bad key", "1"}}}); err == nil {
		t.Error("an option name with a space was accepted")
	}
}

func TestParseStats(t *testing.T) {
	ok := msg(t, map[string]any{"ikesas": msg(t, map[string]any{"total": "10", "half-open": "3"})})
	s, err := parseStats(ok)
	if err != nil || s.IKESAs != 10 || s.HalfOpen != 3 || s.Established() != 7 {
		t.Fatalf("parseStats = %+v, %v", s, err)
	}
	for name, m := range map[string]map[string]any{
		"no ikesas":      {"uptime": msg(t, map[string]any{"running": "1 second"})},
		"bad number":     {"ikesas": msg(t, map[string]any{"total": "ten", "half-open": "0"})},
		"more half-open": {"ikesas": msg(t, map[string]any{"total": "1", "half-open": "2"})},
	} {
		if s, err := parseStats(msg(t, m)); err == nil {
			t.Errorf("%s: parseStats = %+v, want an error", name, s)
		}
	}
}
