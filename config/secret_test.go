package config

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

const testPSK = "Top-Secret-Pre-Shared-Key-42"

// leaks reports whether s shows the key, as text or in hex.
func leaks(s, key string) bool {
	return strings.Contains(s, key) || strings.Contains(strings.ToLower(s), hex.EncodeToString([]byte(key)))
}

func TestSecretFormatting(t *testing.T) {
	c := mustParse(t, strings.Replace(base, "0123456789abcdef", testPSK, 1))
	tun := c.Tunnels[0]
	if string(tun.PSK.Bytes()) != testPSK {
		t.Fatalf("PSK not loaded")
	}
	for _, v := range []any{tun.PSK, tun, &tun, c, *c, []Tunnel{tun}} {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%10.3s"} {
			s := fmt.Sprintf(verb, v)
			if leaks(s, testPSK) {
				t.Errorf("%s of %T shows the key: %s", verb, v, s)
			}
			if !strings.Contains(s, redacted) {
				t.Errorf("%s of %T has no %s: %s", verb, v, redacted, s)
			}
		}
		for _, s := range []string{fmt.Sprint(v), fmt.Sprintln(v)} {
			if leaks(s, testPSK) {
				t.Errorf("Sprint of %T shows the key", v)
			}
		}
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("json.Marshal(%T): %v", v, err)
		}
		// json.Marshal escapes '<' and '>' as \u003c and \u003e.
		if leaks(string(b), testPSK) || !strings.Contains(string(b), `"\u003credacted\u003e"`) {
			t.Errorf("json of %T: %s", v, b)
		}
	}
	if s := tun.PSK.String() + tun.PSK.GoString(); s != redacted+redacted {
		t.Errorf("String/GoString = %q", s)
	}
	if b, _ := tun.PSK.MarshalText(); string(b) != redacted {
		t.Errorf("MarshalText = %q", b)
	}
	var buf bytes.Buffer
	for _, h := range []slog.Handler{slog.NewTextHandler(&buf, nil), slog.NewJSONHandler(&buf, nil)} {
		slog.New(h).Info("x", "psk", tun.PSK, "tunnel", tun)
	}
	if leaks(buf.String(), testPSK) {
		t.Errorf("slog shows the key: %s", buf.String())
	}
}

// TestPSKNeverInErrors puts the key in places that produce errors.
func TestPSKNeverInErrors(t *testing.T) {
	short := "shortkey-123"
	tun := func(pskLine string) string {
		return "[tunnel.a]\nlocal_addr = \"192.0.2.1\"\nremote_addr = \"192.0.2.2\"\n" + pskLine +
			"\nlocal_subnets = [\"10.1.0.0/16\"]\nremote_subnets = [\"10.2.0.0/16\"]\n"
	}
	for name, tc := range map[string]struct{ src, key string }{
		"short":               {tun(`psk = "` + short + `"`), short},
		"both psk and file":   {tun(`psk = "`+testPSK+`"`) + "psk_file = \"x\"\n", testPSK},
		"other errors":        {tun(`psk = "`+testPSK+`"`) + "encap = \"none\"\n", testPSK},
		"bad escape":          {tun(`psk = "` + testPSK + `\q"`), testPSK},
		"unterminated":        {tun(`psk = "` + testPSK), testPSK},
		"trailing garbage":    {tun(`psk = "` + testPSK + `" x`), testPSK},
		"duplicate":           {tun(`psk = "`+testPSK+`"`) + "psk = \"" + testPSK + "\"\n", testPSK},
		"wrong table":         {"[global]\npsk = \"" + testPSK + "\"\n" + base, testPSK},
		"multi-line unclosed": {tun(`psk = """` + testPSK), testPSK},
		"literal bad":         {tun(`psk = '` + testPSK + "\n'"), testPSK},
		"array":               {tun(`psk = ["` + testPSK + `"]`), testPSK},
		"key in id":           {tun(`psk = "`+testPSK+`"`) + "local_id = \"fqdn:" + testPSK + " \"\n", testPSK},
	} {
		_, err := Parse("test.toml", []byte(tc.src))
		if err == nil {
			t.Errorf("%s: no error", name)
			continue
		}
		if strings.Contains(err.Error(), tc.key) {
			t.Errorf("%s: error shows the key: %v", name, err)
		}
	}
}
