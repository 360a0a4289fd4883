package gateway

import (
	"fmt"
	"net/netip"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/vigil-ipsec/vigil/config"
	"github.com/vigil-ipsec/vigil/dataplane"
	"github.com/vigil-ipsec/vigil/dataplane/memory"
	"github.com/vigil-ipsec/vigil/internal/memtest"
)

// maxConfiguredTunnelHeap bounds the heap a configured tunnel that never started costs the
// gateway: the engine's configuration and indexes, the gateway's record, the hold policy in
// the SA database. (Issue #12 asks for at most 2 KiB of RSS per configured idle tunnel; the
// routes of the real dataplane and the Go runtime's overhead come on top.) Measured when
// written: about 1,190 bytes.
const maxConfiguredTunnelHeap = 1600

// TestConfiguredTunnelMemory builds a gateway with 20,000 configured tunnels that do not start
// and measures the live heap each one costs once the configuration itself is dropped: the
// gateway keeps no copy of the file's tunnels and no run-time state for a tunnel that never
// ran.
func TestConfiguredTunnelMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("builds 20,000 tunnels")
	}
	const n = 20000
	before := memtest.LiveHeap()
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "\n[tunnel.t%d]\nlocal_addr = %q\nremote_addr = %q\nlocal_id = \"fqdn:b%d.example\"\n"+
			"remote_id = \"fqdn:a%d.example\"\npsk = \"memory-test-psk-%08d-xxxxxxxx\"\n"+
			"local_subnets = [\"10.%d.%d.0/24\"]\nremote_subnets = [\"10.%d.%d.0/24\"]\nstart_action = \"none\"\n",
			i, addrA, addrB, i, i, i, 128+i>>8, i&255, i>>8, i&255)
	}
	cfg := parseConf(t, b.String())
	b = strings.Builder{}
	net := memory.NewNetwork()
	g, err := New(cfg, Options{OpenDataplane: func(h dataplane.IKEHandler) (dataplane.Dataplane, error) {
		return net.Attach([]netip.Addr{netip.MustParseAddr(addrA)}, h), nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	cfg = nil // what the daemon does: the gateway holds the tunnels now
	per := (int64(memtest.LiveHeap()) - int64(before)) / n
	t.Logf("%d bytes of heap per configured tunnel", per)
	if got := len(g.engine.Tunnels()); got != n {
		t.Fatalf("%d tunnels in the engine, want %d", got, n)
	}
	runtime.KeepAlive(g)
	if per > maxConfiguredTunnelHeap {
		t.Errorf("%d bytes per configured tunnel, want at most %d", per, maxConfiguredTunnelHeap)
	}
}

// maxLoaderTunnelHeap bounds what a configured tunnel costs more when the configuration is in
// included files: what the gateway's config.Loader keeps of it for the next reload, which
// re-reads only the files that changed (config/snapshot.go), beyond the values the gateway
// shares with it. Kept as config.Tunnel values, that was about 470 bytes (issue #12's 2 KiB of
// RSS per idle tunnel was then missed with included files); as snapshots, about 60.
const maxLoaderTunnelHeap = 128

// TestConfiguredTunnelMemoryIncludes: 20,000 configured tunnels that do not start, loaded by
// vigild's way (a config.Loader, its Config released once the gateway is built), cost at most
// maxLoaderTunnelHeap of live heap more each in 20 included files than in the main file.
func TestConfiguredTunnelMemoryIncludes(t *testing.T) {
	if testing.Short() {
		t.Skip("builds 20,000 tunnels twice")
	}
	const n, files = 20000, 20
	one := loadedTunnelHeap(t, n, 1)
	split := loadedTunnelHeap(t, n, files)
	t.Logf("%d bytes of heap per configured tunnel in the main file, %d in %d included files", one, split, files)
	if split-one > maxLoaderTunnelHeap {
		t.Errorf("included files cost %d bytes more per configured tunnel, want at most %d", split-one, maxLoaderTunnelHeap)
	}
}

// loadedTunnelHeap writes n tunnels that do not start, in the main file (files = 1) or in
// that many included files, loads them with config.Load, builds a gateway of them, releases
// the Config as vigild does, and returns the live heap per tunnel that remains.
func loadedTunnelHeap(t *testing.T, n, files int) int64 {
	dir := t.TempDir()
	main := filepath.Join(dir, "vigil.toml")
	head := "[global]\nsocket = \"/nonexistent/vigil.sock\"\n"
	if files == 1 {
		writeConf(t, main, head+spokeFile(0, n, nil, nil), longAgo)
	} else {
		writeConf(t, main, "include = [\"tunnels.d/*.toml\"]\n"+head, longAgo)
		for k := range files {
			writeConf(t, filepath.Join(dir, "tunnels.d", fmt.Sprintf("%03d.toml", k)), spokeFile(k*n/files, (k+1)*n/files, nil, nil), longAgo)
		}
	}
	before := memtest.LiveHeap()
	cfg, err := config.Load(main)
	if err != nil {
		t.Fatal(err)
	}
	net := memory.NewNetwork()
	g, err := New(cfg, Options{OpenDataplane: func(h dataplane.IKEHandler) (dataplane.Dataplane, error) {
		return net.Attach([]netip.Addr{netip.MustParseAddr(addrA)}, h), nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Loader().Release(cfg)
	cfg = nil
	per := (int64(memtest.LiveHeap()) - int64(before)) / int64(n)
	if got := len(g.engine.Tunnels()); got != n {
		t.Fatalf("%d tunnels in the engine, want %d", got, n)
	}
	runtime.KeepAlive(g)
	return per
}
