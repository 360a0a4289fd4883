package config

import (
	"net/netip"
	"runtime"
	"strings"
	"testing"
	"unsafe"

	"github.com/vigil-ipsec/vigil/internal/memtest"
)

// maxBytesPerTunnel bounds the live heap a loaded Config holds per tunnel of the scale file
// (issue #12 allows 2 KiB per idle tunnel for the whole daemon).
const maxBytesPerTunnel = 600

// TestLoadMemory: a Config of 100,000 tunnels in the scale benchmark's shape holds at most
// maxBytesPerTunnel of live heap per tunnel, index and shared values included.
func TestLoadMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("loads 100,000 tunnels")
	}
	const n = 100_000
	path := writeScaleConfig(t, t.TempDir(), n)
	before := memtest.LiveHeap()
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	after := memtest.LiveHeap()
	per := float64(int64(after)-int64(before)) / n
	t.Logf("%d tunnels: %.0f bytes of live heap per tunnel (Tunnel struct %d bytes)", n, per, unsafe.Sizeof(Tunnel{}))
	if tun := c.Tunnel("t77777"); tun == nil || tun.RemoteTS[0] != netip.MustParsePrefix("10.165.250.32/27") {
		t.Fatalf("tunnel t77777 lost or wrong: %+v", tun)
	}
	runtime.KeepAlive(c)
	if per > maxBytesPerTunnel {
		t.Errorf("%.0f bytes per tunnel, more than %d", per, maxBytesPerTunnel)
	}
}

// TestConfigKeepsNoDocument: the strings of a Config are its own, not parts of the document
// (the decoder reads strings out of a copy of it), so a Config does not keep the file's
// text alive. Every string-valued setting is set, in a document padded with a large comment.
func TestConfigKeepsNoDocument(t *testing.T) {
	const pad = 8 << 20
	const settings = `
[global]
socket = "/tmp/v.sock"
log_level = "debug"
log_format = "json"
metrics_addr = "127.0.0.1:9000"
tun_name = "vpn1"
[tunnel.site-b]
local_addr = "2001:db8::1"
remote_addr = "2001:db8::2"
local_id = "fqdn:a.example"
remote_id = "email:b@example.org"
psk = "a very long pre-shared key"
local_subnets = ["10.1.0.0/16"]
remote_subnets = ["10.2.0.0/16"]
ike_proposals = "aes256-sha256-modp2048"
esp_proposals = "aes256gcm16"
start_action = "trap"
encap = "udp"
`
	before := memtest.LiveHeap()
	data := []byte("# " + strings.Repeat("x", pad) + settings)
	c, err := Parse("keep.toml", data)
	if err != nil {
		t.Fatal(err)
	}
	data = nil
	grown := int64(memtest.LiveHeap()) - int64(before)
	if c.Global.TUNName != "vpn1" || c.Tunnel("site-b").IKEProposals != "aes256-sha256-modp2048" {
		t.Fatalf("config not as written: %+v", c)
	}
	runtime.KeepAlive(c)
	if grown > pad/4 {
		t.Errorf("a parsed Config holds %d bytes of live heap: it keeps the %d-byte document", grown, pad)
	}
}

// maxLoaderBytesPerTunnel bounds the live heap a Loader keeps per tunnel of included files
// between loads: the snapshot of its settings (about 60 bytes, config/snapshot.go) and its
// name, identities, key and subnets (about 140 bytes, which the gateway shares rather than
// copies). Kept as config.Tunnel values, as before the snapshots, it was 589 bytes.
const maxLoaderBytesPerTunnel = 256

// TestLoaderMemory: what a Loader keeps between loads of 100,000 tunnels in 100 included
// files, once the Config is released: the snapshots of the last load's tunnels (so that the
// next reads only the files that changed), at most maxLoaderBytesPerTunnel of live heap per
// tunnel, and nothing of a configuration in one file, which is read whole every time.
func TestLoaderMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("loads 100,000 tunnels")
	}
	const n = 100_000
	dir := t.TempDir()
	main, _ := writeScaleIncludes(t, dir, 100, n/100)
	one := writeScaleConfig(t, dir, n)
	before := memtest.LiveHeap()
	l, l1 := NewLoader(main), NewLoader(one)
	for _, l := range []*Loader{l, l1} {
		c, err := l.Load()
		if err != nil {
			t.Fatal(err)
		}
		if len(c.Tunnels) != n {
			t.Fatalf("%d tunnels", len(c.Tunnels))
		}
		l.Release(c)
	}
	kept := float64(int64(memtest.LiveHeap())-int64(before)) / n
	t.Logf("a Loader keeps %.0f bytes of live heap per tunnel in included files", kept)
	runtime.KeepAlive(l)
	runtime.KeepAlive(l1)
	if kept > maxLoaderBytesPerTunnel {
		t.Errorf("%.0f bytes per tunnel, more than %d", kept, maxLoaderBytesPerTunnel)
	}
	l1.mu.Lock()
	defer l1.mu.Unlock()
	if len(l1.cache.shape) != 0 || len(l1.cache.files) != 0 {
		t.Errorf("a Loader of one file keeps %d snapshots", len(l1.cache.shape))
	}
}
