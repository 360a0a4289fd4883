package swan

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func validConf() Conf {
	return Conf{
		Name:         "s2s",
		LocalAddr:    "192.0.2.1",
		RemoteAddr:   "192.0.2.2",
		PSK:          "super secret psk",
		LocalTS:      []string{"10.1.0.0/24"},
		RemoteTS:     []string{"10.2.0.0/24", "10.3.0.0/24"},
		IKEProposals: "aes128gcm16-prfsha256-x25519",
		ESPProposals: "aes128gcm16",
	}
}

func TestSwanctlConf(t *testing.T) {
	c := validConf()
	c.ChildName = "net"
	c.LocalID = "gw a"
	c.RekeyTime = time.Hour
	c.LifeTime = 90 * time.Minute
	c.ChildRekeyTime = 10 * time.Minute
	c.ChildLifeTime = 20 * time.Minute
	c.DPDDelay = 5 * time.Second
	c.StartAction = "trap"
	c.Encap = true
	c.ExtraConnOptions = map[string]string{"mobike": "no", "rekey_time": "0"}
	c.ExtraChildOptions = map[string]string{"rand_time": "0"}
	got, err := c.swanctlConf()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"connections {\n\ts2s {\n\t\tversion = 2\n",
		"\t\tlocal_addrs = 192.0.2.1\n",
		"\t\tremote_addrs = 192.0.2.2\n",
		"\t\tproposals = aes128gcm16-prfsha256-x25519\n",
		"\t\trekey_time = 0\n", // overridden in place
		"\t\tover_time = 1800s\n",
		"\t\tdpd_delay = 5s\n",
		"\t\tencap = yes\n",
		"\t\tmobike = no\n",
		"\t\tlocal {\n\t\t\tauth = psk\n\t\t\tid = gw a\n",
		"\t\tremote {\n\t\t\tauth = psk\n\t\t\tid = 192.0.2.2\n",
		"\t\t\tnet {\n\t\t\t\tlocal_ts = 10.1.0.0/24\n\t\t\t\tremote_ts = 10.2.0.0/24,10.3.0.0/24\n",
		"\t\t\t\tesp_proposals = aes128gcm16\n",
		"\t\t\t\trekey_time = 600s\n\t\t\t\tlife_time = 1200s\n\t\t\t\tstart_action = trap\n\t\t\t\trand_time = 0\n",
		"secrets {\n\tike-s2s {\n\t\tid-local = gw a\n\t\tid-remote = 192.0.2.2\n",
		"\t\tsecret = 0x" + fmt.Sprintf("%x", c.PSK) + "\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("swanctl.conf lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, c.PSK) {
		t.Errorf("PSK in clear in swanctl.conf")
	}
	if strings.Count(got, "rekey_time") != 2 {
		t.Errorf("duplicate rekey_time:\n%s", got)
	}
}

func TestConfValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		mod  func(*Conf)
	}{
		{"no name", func(c *Conf) { c.Name = "" }},
		{"bad name", func(c *Conf) { c.Name = "a b" }},
		{"bad child name", func(c *Conf) { c.ChildName = "x{" }},
		{"version", func(c *Conf) { c.Version = 3 }},
		{"no addr", func(c *Conf) { c.RemoteAddr = "" }},
		{"no psk", func(c *Conf) { c.PSK = "" }},
		{"no ts", func(c *Conf) { c.LocalTS = nil }},
		{"start action", func(c *Conf) { c.StartAction = "route" }},
		{"life <= rekey", func(c *Conf) { c.RekeyTime, c.LifeTime = time.Hour, time.Hour }},
		{"life without rekey", func(c *Conf) { c.LifeTime = time.Hour }},
		{"fractional", func(c *Conf) { c.ChildRekeyTime = 1500 * time.Millisecond }},
		{"negative", func(c *Conf) { c.DPDDelay = -time.Second }},
		{"retransmit", func(c *Conf) { c.RetransmitTries = -1 }},
		{"extra key", func(c *Conf) { c.ExtraConnOptions = map[string]string{"a b": "x"} }},
		{"extra newline", func(c *Conf) { c.ExtraChildOptions = map[string]string{"mode": "tunnel\n}"} }},
		{"id newline", func(c *Conf) { c.RemoteID = "a\nb" }},
	} {
		c := validConf()
		tc.mod(&c)
		if _, err := c.swanctlConf(); err == nil {
			t.Errorf("%s: accepted", tc.name)
		}
	}
	if _, err := validConf().swanctlConf(); err != nil {
		t.Errorf("valid conf rejected: %v", err)
	}
}

func TestConfStringHidesPSK(t *testing.T) {
	c := validConf()
	for _, s := range []string{c.String(), fmt.Sprintf("%v %+v %#v %s", c, c, c, c)} {
		if strings.Contains(s, c.PSK) {
			t.Errorf("PSK printed: %s", s)
		}
	}
	if err := c.validate(); err != nil {
		t.Fatal(err)
	}
	c.PSK = ""
	if err := c.validate(); err == nil || strings.Contains(err.Error(), "secret") {
		t.Errorf("validate without PSK: %v", err)
	}
}

func TestStrongswanConf(t *testing.T) {
	c := validConf()
	c.RetransmitTries = 2
	c.RetransmitTimeout = 1500 * time.Millisecond
	c.RetransmitBase = 1.2
	got, err := strongswanConf("/tmp/x", c)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"\tload_modular = no\n",
		"kernel-libipsec kernel-netlink socket-default vici\n",
		"\tretransmit_tries = 2\n\tretransmit_timeout = 1.5\n\tretransmit_base = 1.2\n",
		"\t\tvici {\n\t\t\tsocket = unix:///tmp/x/charon.vici\n",
		"\t\tsocket-default {\n\t\t\tuse_ipv6 = no\n",
		"\t\t\tpath = /tmp/x/charon.log\n",
		"\t\t\tike = 2\n\t\t\tcfg = 2\n\t\t\tchd = 2\n\t\t\tknl = 2\n",
		"swanctl {\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("strongswan.conf lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "include") {
		t.Errorf("strongswan.conf includes host files:\n%s", got)
	}
	if i, j := strings.Index(got, "kernel-libipsec"), strings.Index(got, "kernel-netlink"); i < 0 || j < i {
		t.Errorf("kernel-libipsec must be loaded before kernel-netlink")
	}
}

// unquote reverses quote, as strongSwan's parser reads the value.
func unquote(s string) string {
	if !strings.HasPrefix(s, `"`) {
		return s
	}
	s = s[1 : len(s)-1]
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func TestQuote(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"10.1.0.0/24,10.2.0.0/24", "10.1.0.0/24,10.2.0.0/24", true},
		{"%any", "%any", true},
		{"@gw.example", "@gw.example", true},
		{"C=CH, O=x", `"C=CH, O=x"`, true},
		{`a"b\c`, `"a\"b\\c"`, true},
		{"", `""`, true},
		{"a b", "a b", true},
		{" a", `" a"`, true},
		{"#comment", `"#comment"`, true},
		{"a\nb", "", false},
		{"a\x00", "", false},
	} {
		got, err := quote(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("quote(%q) = %q, %v; want %q ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func FuzzQuote(f *testing.F) {
	for _, s := range []string{"", "abc", `a"b`, `\`, "a b", "x\ny", "}{#"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		q, err := quote(s)
		if err != nil {
			if !strings.ContainsAny(s, "\r\n\x00") {
				t.Fatalf("quote(%q) rejected: %v", s, err)
			}
			return
		}
		if strings.ContainsAny(q, "\r\n") {
			t.Fatalf("quote(%q) = %q has a line break", s, q)
		}
		if got := unquote(q); got != s {
			t.Fatalf("unquote(quote(%q)) = %q", s, got)
		}
	})
}
