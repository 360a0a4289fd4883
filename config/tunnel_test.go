package config

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// parallelDoc renders n tunnels in the scale benchmark's shape; with faults, every few
// tunnels have a problem of their own or overlap an earlier one, and the tunnel table starts
// with keys that are not tables.
func parallelDoc(n int, faults bool) []byte {
	var b strings.Builder
	if faults {
		b.WriteString("[tunnel]\nx = 1\ny = \"two\"\n")
	}
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("t%d", i)
		if faults && i%733 == 5 {
			name = `"t ` + name + `"`
		}
		fmt.Fprintf(&b, "[tunnel.%s]\nlocal_addr = \"192.0.2.1\"\nremote_addr = \"192.0.2.%d\"\nlocal_id = \"fqdn:hub.example\"\n", name, 2+i%200)
		a := 10<<24 | 128<<16 | i*4
		remote := fmt.Sprintf("%d.%d.%d.%d/30", a>>24, a>>16&255, a>>8&255, a&255)
		fmt.Fprintf(&b, "psk = \"0123456789abcdef-%d\"\nlocal_subnets = [\"172.16.0.0/16\"]\nremote_subnets = [\"%s\"]\n", i, remote)
		if !faults {
			continue
		}
		switch i % 97 {
		case 3:
			b.WriteString("lcal_id = \"x\"\n")
		case 10:
			b.WriteString("dpd_delay = 10\nencap = \"gre\"\n")
		case 20:
			b.WriteString("esp_proposals = \"rot13\"\nremote_id = \"fqnd:b\"\n")
		case 30:
			b.WriteString("psk_file = \"missing.psk\"\n")
		case 40:
			b.WriteString("version = 1\nike_proposals = \"aes128gcm16-prfsha256-x25519\"\n")
		}
		if i%1000 == 999 {
			b.WriteString("remote_subnets = [\"10.128.0.0/16\"]\n") // duplicate key, overlaps t0
		}
	}
	return []byte(b.String())
}

// TestParallelDecode: a configuration of many tunnels, decoded on several goroutines, gives
// the tunnels, or the problems in their order, that one decoder gives.
func TestParallelDecode(t *testing.T) {
	const n = 5 * tunnelsPerWorker
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	parse := func(procs int, data []byte) (*Config, error) {
		runtime.GOMAXPROCS(procs)
		return Parse("many.toml", data)
	}

	good := parallelDoc(n, false)
	want, err := parse(1, good)
	if err != nil {
		t.Fatal(err)
	}
	bad := parallelDoc(n, true)
	_, wantErr := parse(1, bad)
	if len(Errors(wantErr)) < 100 {
		t.Fatalf("the faulty configuration has only %d problems: %v", len(Errors(wantErr)), wantErr)
	}
	for _, procs := range []int{2, 3, 4} {
		c, err := parse(procs, good)
		if err != nil {
			t.Fatalf("%d procs: %v", procs, err)
		}
		if len(c.Tunnels) != len(want.Tunnels) {
			t.Fatalf("%d procs: %d tunnels, want %d", procs, len(c.Tunnels), len(want.Tunnels))
		}
		for i := range c.Tunnels {
			g, w := &c.Tunnels[i], &want.Tunnels[i]
			if !g.Equal(w) || g.Line != w.Line || c.Tunnel(w.Name) != g {
				t.Fatalf("%d procs: tunnel %d = %+v, want %+v", procs, i, g, w)
			}
		}
		if _, err := parse(procs, bad); err == nil || err.Error() != wantErr.Error() {
			t.Errorf("%d procs: problems differ from one decoder's:\n%v\nwant\n%v", procs, err, wantErr)
		}
	}
}

// TestTunnelKeyOf: the switch finds every key of tunnelKeys at its index, and nothing else.
func TestTunnelKeyOf(t *testing.T) {
	if len(tunnelKeys) != numTunnelKeys {
		t.Fatalf("%d tunnel keys named, %d indexes", len(tunnelKeys), numTunnelKeys)
	}
	for i, k := range tunnelKeys {
		if got := tunnelKeyOf(k); got != i {
			t.Errorf("tunnelKeyOf(%q) = %d, want %d", k, got, i)
		}
		if got := tunnelKeyOf(k + "x"); got != -1 {
			t.Errorf("tunnelKeyOf(%q) = %d, want -1", k+"x", got)
		}
	}
}

// TestParallelDecodeOpenFile: a large configuration in a file readable by others reports
// only its first inline psk, as a small one does, however many goroutines decode it.
func TestParallelDecodeOpenFile(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	path := filepath.Join(t.TempDir(), "open.toml")
	if err := os.WriteFile(path, parallelDoc(5*tunnelsPerWorker, false), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Load(path)
	list := Errors(err)
	if len(list) != 1 || list[0].Line != 5 || !strings.Contains(list[0].Msg, "tunnel.t0.psk: the configuration file") {
		t.Errorf("want one refusal of the first inline psk (line 5), got %d problems: %v", len(list), err)
	}
}
