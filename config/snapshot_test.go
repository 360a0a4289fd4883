package config

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/vigil-ipsec/vigil/crypto"
)

// filledTunnel returns a Tunnel with every field set to a value that is not its zero value,
// the name distinct per k. A field of a type it does not know fails the test: teach it, so
// that the snapshot tests cover the field.
func filledTunnel(t *testing.T, k int) Tunnel { return filledTunnelV(t, k, 0) }

// filledTunnelV is filledTunnel with every field but the name different per variant v
// (bools are true only in variant 0).
func filledTunnelV(t *testing.T, k, v int) Tunnel {
	t.Helper()
	var tun Tunnel
	tv := reflect.ValueOf(&tun).Elem()
	for i := range tv.NumField() {
		f, name := tv.Field(i), tv.Type().Field(i).Name
		switch f.Interface().(type) {
		case string:
			if name == "Name" {
				f.SetString(fmt.Sprintf("t%d", k))
			} else {
				f.SetString(fmt.Sprintf("%s-%d", name, v))
			}
		case int, time.Duration:
			f.SetInt(int64(100 + i + 1000*v))
		case uint64:
			f.SetUint(uint64(200 + i + 1000*v))
		case bool:
			f.SetBool(v == 0)
		case netip.Addr:
			f.Set(reflect.ValueOf(netip.AddrFrom4([4]byte{192, 0, byte(2 + v), byte(i)})))
		case Identity:
			f.Set(reflect.ValueOf(Identity{Type: IDFQDN, Value: fmt.Appendf(nil, "%s.%d.%d.example", name, k, v)}))
		case Secret:
			f.Set(reflect.ValueOf(Secret(fmt.Appendf(nil, "a pre-shared key %d.%d", k, v))))
		case []netip.Prefix:
			f.Set(reflect.ValueOf([]netip.Prefix{netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i), byte(k), byte(v)}), 32),
				netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i), byte(k), 128}), 25)}))
		case []crypto.Proposal:
			f.Set(reflect.ValueOf([][]crypto.Proposal{defaultESPParsed, defaultIKEParsed}[v]))
		default:
			t.Fatalf("Tunnel.%s is of type %s: teach filledTunnel to set it", name, f.Type())
		}
	}
	return tun
}

// TestSnapshotKeepsEveryField: a tunnel rebuilt from a snapshot equals the tunnel it was made
// of, field by field, but for File and Gen, which are the snapshot's; tunnels that differ only
// in their own values share one entry of settings; and the slices of a rebuilt tunnel are full
// (an append to one cannot write into the snapshot's blocks).
func TestSnapshotKeepsEveryField(t *testing.T) {
	tunnels := []Tunnel{filledTunnel(t, 1), filledTunnel(t, 2), filledTunnel(t, 3)}
	tunnels[1].LocalTS = tunnels[0].LocalTS // shared lists are kept once
	tunnels[2].DPDDelay = time.Minute       // a setting of its own
	want := slices.Clone(tunnels)
	for i := range want {
		want[i].File, want[i].Gen = "f.toml", 42
	}
	s := newSnapshot("f.toml", 42, tunnels)
	if s == nil {
		t.Fatal("no snapshot")
	}
	for i := range want {
		if got := s.tunnel(i); !reflect.DeepEqual(got, want[i]) {
			t.Errorf("tunnel %d rebuilt as\n%#v\nwant\n%#v", i, got, want[i])
		}
		if !reflect.DeepEqual(tunnels[i], want[i]) {
			t.Errorf("tunnel %d replaced by\n%#v\nwant\n%#v", i, tunnels[i], want[i])
		}
		got := s.tunnel(i)
		for _, c := range []int{cap(got.LocalID.Value) - len(got.LocalID.Value), cap(got.RemoteID.Value) - len(got.RemoteID.Value),
			cap(got.PSK) - len(got.PSK), cap(got.LocalTS) - len(got.LocalTS), cap(got.RemoteTS) - len(got.RemoteTS)} {
			if c != 0 {
				t.Errorf("tunnel %d: a slice has room for %d more", i, c)
			}
		}
		if s.name(i) != want[i].Name || !slices.Equal(s.remoteTS(i), want[i].RemoteTS) {
			t.Errorf("tunnel %d: name %q, remote subnets %v", i, s.name(i), s.remoteTS(i))
		}
	}
	if len(s.settings) != 2 {
		t.Errorf("%d distinct settings kept, want 2", len(s.settings))
	}
	if n := len(want[0].LocalTS) + 2*len(want[0].RemoteTS) + len(want[2].LocalTS) + len(want[2].RemoteTS); len(s.prefixes) != n {
		t.Errorf("%d subnets kept, want %d", len(s.prefixes), n)
	}
	if size := unsafe.Sizeof(tunnelRec{}); size > 52 {
		t.Errorf("a tunnel's record is %d bytes", size)
	}
}

// TestLoadUpdate: an Update has the tunnels of the Config of the same load, in the same order
// with the same generations, found by name. After a reload in which a setting of one included
// file changed, the tunnels of the files not read are not rebuilt until asked for, and then
// equal the Config's; after one that added a tunnel (a new shape, checked across files), all
// are. A Config's Update has its tunnels.
func TestLoadUpdate(t *testing.T) {
	main, files := writeScaleIncludes(t, t.TempDir(), 3, 10)
	l := NewLoader(main)
	if _, err := l.LoadUpdate(); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(files[1])
	if err != nil {
		t.Fatal(err)
	}
	past := time.Now().Add(-30 * time.Minute)
	writeAt(t, files[1], strings.Replace(string(data), `start_action = "start"`, `start_action = "trap"`, 1), 0o600, past)
	u, err := l.LoadUpdate()
	if err != nil {
		t.Fatal(err)
	}
	for k, full := range []bool{true, false, true, false} { // the main file, then the three files
		if got := u.parts[k].full(); got != full {
			t.Errorf("part %d in full: %v, want %v", k, got, full)
		}
	}
	c := u.Config()
	same := func(u *Update, c *Config) {
		t.Helper()
		if u.Len() != len(c.Tunnels) {
			t.Fatalf("%d tunnels, Config has %d", u.Len(), len(c.Tunnels))
		}
		u.Range(func(i int, name string, gen uint64) bool {
			ct := &c.Tunnels[i]
			if name != ct.Name || gen != ct.Gen || u.Name(i) != name || u.Find(name) != i {
				t.Errorf("tunnel %d: %q gen %d (found at %d), Config has %q gen %d", i, name, gen, u.Find(name), ct.Name, ct.Gen)
			}
			if ut := u.Tunnel(i); !ut.Equal(ct) || ut.File != ct.File || ut.Line != ct.Line || ut.Gen != ct.Gen {
				t.Errorf("tunnel %d: %+v, Config has %+v", i, ut, ct)
			}
			return true
		})
		if u.Find("nonexistent") != -1 {
			t.Error("found a tunnel that is not there")
		}
		// Files cover the tunnels in order; a file's generation is each of its tunnels'.
		next := 0
		u.Files(func(off, n int, gen uint64) bool {
			if off != next {
				t.Errorf("a file starts at %d, want %d", off, next)
			}
			next = off + n
			u.RangeFrom(off, n, func(i int, name string, g uint64) bool {
				if i < off || i >= off+n || name != c.Tunnels[i].Name || g != c.Tunnels[i].Gen || (gen != 0 && g != gen) {
					t.Errorf("tunnel %d (%q, generation %d) of the file from %d (%d tunnels, generation %d)", i, name, g, off, n, gen)
				}
				return true
			})
			return true
		})
		if next != u.Len() {
			t.Errorf("files cover %d tunnels of %d", next, u.Len())
		}
	}
	same(u, c)
	if c.Tunnel("t10").StartAction != "trap" || c.Tunnel("t11").StartAction != "start" {
		t.Errorf("edited file: %+v", c.Tunnel("t10"))
	}

	writeAt(t, files[1], string(data)+"\n[tunnel.extra]\nlocal_addr = \"192.0.2.1\"\nremote_addr = \"192.0.2.3\"\npsk = \"0123456789abcdef\"\n"+
		"local_subnets = [\"10.200.0.0/24\"]\nremote_subnets = [\"10.201.0.0/24\"]\n", 0o600, past.Add(time.Second))
	if u, err = l.LoadUpdate(); err != nil {
		t.Fatal(err)
	}
	for k := range u.parts {
		if !u.parts[k].full() {
			t.Errorf("part %d not in full after a load of a new shape", k)
		}
	}
	c = u.Config()
	same(u, c)
	if u.Len() != 31 || c.Tunnel("extra") == nil || c.Tunnel("t5").File != files[0] {
		t.Errorf("%d tunnels, extra %v, t5 %+v", u.Len(), c.Tunnel("extra"), c.Tunnel("t5"))
	}
	same(c.Update(), c)
}

// TestSnapshotKeepsEveryDifference: of two tunnels that differ in one field only, each is
// rebuilt from a snapshot as it was, field by field: a field that the settings of tunnels
// (settingsKey) or their records (tunnelRec) miss fails it. (The parsed proposals are not
// varied alone: they follow from the proposal text.)
func TestSnapshotKeepsEveryDifference(t *testing.T) {
	alt := filledTunnelV(t, 1, 1)
	n := reflect.TypeFor[Tunnel]().NumField()
	for i := range n {
		field := reflect.TypeFor[Tunnel]().Field(i).Name
		if field == "IKEParsed" || field == "ESPParsed" || field == "File" || field == "Gen" {
			continue
		}
		a, b := filledTunnel(t, 1), filledTunnel(t, 2)
		reflect.ValueOf(&b).Elem().Field(i).Set(reflect.ValueOf(alt).Field(i))
		tunnels := []Tunnel{a, b}
		want := slices.Clone(tunnels)
		for j := range want {
			want[j].File, want[j].Gen = "f.toml", 7
		}
		s := newSnapshot("f.toml", 7, tunnels)
		for j := range want {
			if got := s.tunnel(j); !reflect.DeepEqual(got, want[j]) {
				t.Errorf("%s varied: tunnel %d rebuilt as\n%#v\nwant\n%#v", field, j, got, want[j])
			}
		}
	}
}

// TestSnapshotPrintsNoKey: printing a snapshot, by value or pointer, with any verb, shows no
// key.
func TestSnapshotPrintsNoKey(t *testing.T) {
	tunnels := []Tunnel{filledTunnel(t, 1)}
	key := string(tunnels[0].PSK)
	s := newSnapshot("f.toml", 1, tunnels)
	for _, out := range []string{fmt.Sprintf("%v %+v %#v %s %x %q", s, s, s, s, s, s), fmt.Sprintf("%v %+v %#v %s %x %q", *s, *s, *s, *s, *s, *s)} {
		if strings.Contains(out, key) || strings.Contains(out, fmt.Sprintf("%x", key)) || !strings.Contains(out, "snapshot of 1 tunnels of f.toml") {
			t.Errorf("printed as %s", out)
		}
	}
}

// TestLoaderTunnelBeyondSnapshot: a tunnel too large for a snapshot record (an inline psk of
// more than 65,535 bytes) is loaded as written; its file is read again by every load (nothing
// of it is kept), while the other files are still reused.
func TestLoaderTunnelBeyondSnapshot(t *testing.T) {
	key := strings.Repeat("k", 70000)
	dir := writeTree(t, t.TempDir(), map[string]string{
		"vigil.toml": "include = [\"t/*.toml\"]\n",
		"t/a.toml":   strings.Replace(incTunnel("a1", 2), "0123456789abcdef", key, 1),
		"t/b.toml":   incTunnel("b1", 4),
	})
	l := NewLoader(filepath.Join(dir, "vigil.toml"))
	c1, err := l.Load()
	if err != nil {
		t.Fatal(err)
	}
	c2, err := l.Load()
	if err != nil {
		t.Fatal(err)
	}
	a1, b1 := c2.Tunnel("a1"), c2.Tunnel("b1")
	if a1 == nil || string(a1.PSK) != key || !a1.Equal(c1.Tunnel("a1")) || a1.Gen == c1.Tunnel("a1").Gen {
		t.Errorf("a1: %+v (was generation %d)", a1, c1.Tunnel("a1").Gen)
	}
	if b1 == nil || b1.Gen != c1.Tunnel("b1").Gen {
		t.Errorf("b1 not reused: %+v", b1)
	}
}
