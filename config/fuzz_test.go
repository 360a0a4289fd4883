package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	toml "github.com/pelletier/go-toml/v2"
)

func FuzzParse(f *testing.F) {
	f.Add([]byte(base))
	f.Add([]byte(base + second + "local_subnets = [\"10.1.0.0/16\"]\nremote_subnets = [\"10.3.0.0/16\"]\n"))
	f.Add([]byte("[global]\nike_port = 0x1f4\nnatt_port = 4_500\n[global.retransmit]\nbase = 1.5e0\ntimeout = \"1s\"\n"))
	f.Add([]byte("[global.invalid_spi]\nunprotected = true\n[[tunnel]]\n"))
	f.Add([]byte("[tunnel]\na = { local_addr = \"2001:db8::1\", remote_addr = \"2001:db8::2\", psk_file = \"/nonexistent\", local_subnets = [\"::/0\"], remote_subnets = [\"2001:db8::/32\"] }\n"))
	f.Add([]byte("a.b.c = 1\n[a]\n[a.b]\n[[a.d]]\nx = [[1, 2], [\"a\", {b = 1}]]\n"))
	f.Add([]byte("[tunnel.a]\nlocal_id = \"@#zz\"\nremote_id = \"keyid:0x\"\nike_proposals = \"aes128gcm16-prfsha256-x25519!,,\"\n"))
	f.Add([]byte("x = 1979-05-27T07:32:00Z\ny = 07:32:00\nz = '''\nq'''\n\"quoted key\" = \"\"\"\\u00e9\"\"\"\n"))
	f.Add([]byte("[tunnel.a]\r\nlocal_addr = \"192.0.2.1\"\r\nx = \"\\"))
	f.Add([]byte("include = [\"inc/*.toml\"]\n" + second))
	f.Add([]byte("include = [\"inc/a.toml\", \"inc/[\", \"\", 1, \"/*\", \"../*\", \"inc/*\"]\n"))
	f.Add([]byte("include = \"inc\"\n[global]\ninclude = []\n"))
	// Included files live in a directory of the fuzz target's own, and patterns reach no
	// further: inputs must not make the target read the machine's files.
	dir := f.TempDir()
	files := map[string]string{
		"inc/a.toml": base,
		"inc/b.toml": "include = [\"a.toml\"]\n[global]\n[tunnel.c]\nlocal_addr = 1\n",
		"inc/c.toml": second + "local_subnets = [\"10.5.0.0/16\"]\nremote_subnets = [\"10.6.0.0/16\"]\n",
	}
	lines := map[string]int{}
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			f.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			f.Fatal(err)
		}
		lines[p] = strings.Count(content, "\n") + 1
	}
	defer func(g func(string) ([]string, error)) { glob = g }(glob)
	glob = func(pattern string) ([]string, error) {
		if _, err := filepath.Match(pattern, ""); err != nil {
			return nil, err
		}
		if !strings.HasPrefix(pattern, dir+string(filepath.Separator)) {
			return nil, nil
		}
		return filepath.Glob(pattern)
	}
	main := filepath.Join(dir, "fuzz.toml")
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(main, data)
		if err != nil {
			for _, e := range Errors(err) {
				n, ok := lines[e.File] // else a file it cannot read (inc, fuzz.toml itself): line 0
				if e.File == main {
					n = strings.Count(string(data), "\n") + 1
				}
				if (!ok && !strings.HasPrefix(e.File, dir)) || e.Line < 0 || e.Line > n {
					t.Fatalf("bad position in %v (%d lines)", e, n)
				}
			}
			if len(Errors(err)) == 0 {
				t.Fatalf("error without *Error: %v", err)
			}
			return
		}
		for i := range c.Tunnels {
			tun := &c.Tunnels[i]
			if c.Tunnel(tun.Name) != tun {
				t.Fatalf("Tunnel(%q) lookup", tun.Name)
			}
			if _, ok := lines[tun.File]; (!ok && tun.File != main) || tun.Gen == 0 {
				t.Fatalf("tunnel %q in file %q, generation %d", tun.Name, tun.File, tun.Gen)
			}
			if len(tun.PSK) < minPSKLen || len(tun.LocalTS) == 0 || len(tun.RemoteTS) == 0 ||
				!tun.LocalAddr.IsValid() || tun.LocalAddr.Is4() != tun.RemoteAddr.Is4() || tun.LocalID.IsZero() {
				t.Fatalf("accepted an invalid tunnel %+v", tun)
			}
			if !tun.Equal(tun) {
				t.Fatal("tunnel not equal to itself")
			}
		}
	})
}

// FuzzTreeAgreesWithDecoder: the tree builder accepts exactly the documents go-toml's full
// decoder accepts (the builder checks structure itself and hands only number and date/time
// literals to the decoder, see checkLiteral).
func FuzzTreeAgreesWithDecoder(f *testing.F) {
	f.Add([]byte(base))
	f.Add([]byte("a.b.c = 1\n[a]\n[a.b]\n[[a.d]]\nx = [[1, 2], [\"a\", {b = 1}]]\n"))
	f.Add([]byte("x = 1979-05-27T07:32:00Z\ny = 07:32:00\nz = '''\nq'''\n\"quoted key\" = \"\"\"\\u00e9\"\"\"\n"))
	f.Add([]byte("x = 1979-02-30\ny = 1__0\nz = 0x_1\nw = 1e\nv = 24:00:00\n"))
	f.Add([]byte("[a]\nb = 1\n[a]\n"))
	f.Add([]byte("a = {b = 1}\n[a.c]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		errs := &errList{file: "f.toml"}
		root := parseTree(data, errs)
		ours := root != nil && errs.empty()
		var m map[string]any
		derr := toml.Unmarshal(data, &m)
		if ours != (derr == nil) {
			t.Fatalf("tree builder accepts: %v (%v); go-toml decoder: %v\n%q", ours, errs.err(), derr, data)
		}
	})
}
