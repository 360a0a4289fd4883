package gateway

import (
	"errors"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vigil-ipsec/vigil/api"
	"github.com/vigil-ipsec/vigil/config"
	"github.com/vigil-ipsec/vigil/dataplane/memory"
	"github.com/vigil-ipsec/vigil/ike"
)

// engineState is what a reload may change: the engine's tunnels (by identity), their SAs and
// the gateway's bookkeeping.
type engineState struct {
	cfg     *config.Config
	tunnels map[string]*ike.Tunnel
	ike     map[string]*ike.IKESA
	child   map[string]*ike.ChildSA
	tstate  map[string]*tunnelState
}

func snapshot(g *Gateway) engineState {
	s := engineState{tunnels: map[string]*ike.Tunnel{}, ike: map[string]*ike.IKESA{},
		child: map[string]*ike.ChildSA{}, tstate: map[string]*tunnelState{}}
	g.engine.Call(func() {
		for n, t := range g.engine.Tunnels() {
			s.tunnels[n], s.ike[n], s.child[n] = t, t.IKE, t.Child
		}
		for n, ts := range g.tstate {
			s.tstate[n] = ts
		}
		g.cfgMu.Lock()
		s.cfg = g.cfg
		g.cfgMu.Unlock()
	})
	return s
}

func sameState(t *testing.T, before, after engineState) {
	t.Helper()
	if before.cfg != after.cfg {
		t.Error("running configuration replaced")
	}
	if len(before.tunnels) != len(after.tunnels) || len(before.tstate) != len(after.tstate) {
		t.Errorf("engine has %d tunnels (%d states), had %d (%d)", len(after.tunnels), len(after.tstate), len(before.tunnels), len(before.tstate))
	}
	for n, tun := range before.tunnels {
		if after.tunnels[n] != tun || after.ike[n] != before.ike[n] || after.child[n] != before.child[n] {
			t.Errorf("tunnel %s or its SAs changed", n)
		}
		if after.tstate[n] != before.tstate[n] {
			t.Errorf("tunnel %s: gateway state replaced", n)
		}
	}
}

// TestReloadFailureKeepsEverything: a reload that removes one tunnel, changes another and adds
// three, the second and third of which cannot listen on their local address, is refused as a
// whole: configuration, engine tunnels, SAs and gateway state stay exactly as they were, and
// both listening problems are reported with file and line.
func TestReloadFailureKeepsEverything(t *testing.T) {
	n := memory.NewNetwork()
	startGateway(t, n, parseConf(t, mirrorTOML("ab", addrB, addrA, 1)))
	old := parseConf(t, tunnelTOML("ab", addrA, addrB, 1, "start")+
		tunnelTOML("gone", addrA, "192.0.2.50", 2, "none")+
		tunnelTOML("edit", addrA, "192.0.2.51", 3, "none"))
	a := startGateway(t, n, old, "192.0.2.100", "192.0.2.101")
	in, out := childSPIs(t, a.Gateway, "ab")
	before := snapshot(a.Gateway)

	next := tunnelTOML("ab", addrA, addrB, 1, "start") +
		tunnelTOML("edit", addrA, "192.0.2.51", 3, "none", `dpd_delay = "20s"`) +
		tunnelTOML("new1", addrA, "192.0.2.60", 4, "none") +
		tunnelTOML("new2", "192.0.2.100", "192.0.2.61", 5, "none") +
		tunnelTOML("new3", "192.0.2.101", "192.0.2.62", 6, "none")
	a.next.Store(parseConf(t, next))
	_, err := a.Reload()
	if err == nil {
		t.Fatal("reload with unusable local addresses succeeded")
	}
	if !errors.Is(err, api.ErrBadRequest) {
		t.Errorf("err = %v, want a bad request", err)
	}
	// Lines: 1-2 [global], then per tunnel a blank line, the header and 6 keys (edit has 7).
	for _, want := range []string{
		"/etc/vigil/test.toml:29: tunnel new2: listening on 192.0.2.100: address not available",
		"/etc/vigil/test.toml:37: tunnel new3: listening on 192.0.2.101: address not available",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), psk) {
		t.Errorf("error shows the key: %v", err)
	}
	sameState(t, before, snapshot(a.Gateway))
	if i, o := childSPIs(t, a.Gateway, "ab"); i != in || o != out {
		t.Errorf("Child SA of ab replaced: SPIs %#x/%#x, were %#x/%#x", i, o, in, out)
	}

	// The same reload without the bad tunnels applies.
	a.next.Store(parseConf(t, tunnelTOML("ab", addrA, addrB, 1, "start")+
		tunnelTOML("edit", addrA, "192.0.2.51", 3, "none", `dpd_delay = "20s"`)+
		tunnelTOML("new1", addrA, "192.0.2.60", 4, "none")))
	res, err := a.Reload()
	if err != nil {
		t.Fatal(err)
	}
	want := api.ReloadResult{Added: []string{"new1"}, Removed: []string{"gone"}, Changed: []string{"edit"}, Unchanged: []string{"ab"}}
	if !slices.Equal(res.Added, want.Added) || !slices.Equal(res.Removed, want.Removed) ||
		!slices.Equal(res.Changed, want.Changed) || !slices.Equal(res.Unchanged, want.Unchanged) {
		t.Errorf("reload = %+v, want %+v", res, want)
	}
	after := snapshot(a.Gateway)
	if _, ok := after.tunnels["gone"]; ok || after.tunnels["new1"] == nil || after.tunnels["edit"] == before.tunnels["edit"] {
		t.Errorf("reload not applied: tunnels %v", after.tunnels)
	}
	if after.cfg == before.cfg || len(after.cfg.Tunnels) != 0 {
		t.Errorf("running configuration not replaced, or it keeps the file's tunnels (%d)", len(after.cfg.Tunnels))
	}
	if c := after.tunnels["edit"].Cfg; c.DPDDelay != 20*time.Second || c.Remote.Addr() != netip.MustParseAddr("192.0.2.51") {
		t.Errorf("changed tunnel runs with %+v", c)
	}
}

// TestReloadKeepsUnchangedChildSA: a reload that adds a tunnel leaves an unchanged tunnel's
// IKE and Child SA in place, same SPIs.
func TestReloadKeepsUnchangedChildSA(t *testing.T) {
	n := memory.NewNetwork()
	startGateway(t, n, parseConf(t, mirrorTOML("ab", addrB, addrA, 1)))
	a := startGateway(t, n, parseConf(t, tunnelTOML("ab", addrA, addrB, 1, "start")))
	in, out := childSPIs(t, a.Gateway, "ab")
	before := snapshot(a.Gateway)
	a.next.Store(parseConf(t, tunnelTOML("ab", addrA, addrB, 1, "start")+tunnelTOML("more", addrA, "192.0.2.70", 2, "none")))
	res, err := a.Reload()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Added, []string{"more"}) || !slices.Equal(res.Unchanged, []string{"ab"}) {
		t.Errorf("reload = %+v", res)
	}
	after := snapshot(a.Gateway)
	if after.tunnels["ab"] != before.tunnels["ab"] || after.ike["ab"] != before.ike["ab"] || after.child["ab"] != before.child["ab"] {
		t.Error("unchanged tunnel ab or its SAs replaced")
	}
	if i, o := childSPIs(t, a.Gateway, "ab"); i != in || o != out {
		t.Errorf("SPIs %#x/%#x, were %#x/%#x", i, o, in, out)
	}
}

// TestReloadSerialised: reloads from two goroutines (SIGHUP and API) do not interleave: the
// second loads and compares only after the first has applied, so the tunnel both add is added
// once and found unchanged by the other.
func TestReloadSerialised(t *testing.T) {
	n := memory.NewNetwork()
	a := startGateway(t, n, parseConf(t, tunnelTOML("one", addrA, addrB, 1, "none")))
	var inLoad, maxInLoad atomic.Int32
	a.loads = func() {
		v := inLoad.Add(1)
		for {
			m := maxInLoad.Load()
			if v <= m || maxInLoad.CompareAndSwap(m, v) {
				break
			}
		}
		time.Sleep(50 * time.Millisecond) // room for the other reload to overlap, if it can
		inLoad.Add(-1)
	}
	a.next.Store(parseConf(t, tunnelTOML("one", addrA, addrB, 1, "none")+tunnelTOML("two", addrA, "192.0.2.80", 2, "none")))
	var wg sync.WaitGroup
	results := make([]api.ReloadResult, 2)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var err error
			if results[i], err = a.Reload(); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if m := maxInLoad.Load(); m != 1 {
		t.Errorf("%d reloads ran at once", m)
	}
	added := 0
	for _, r := range results {
		added += len(r.Added)
	}
	if added != 1 {
		t.Errorf("tunnel two added %d times: %+v", added, results)
	}
	if s := snapshot(a.Gateway); len(s.tunnels) != 2 || len(s.tstate) != 2 {
		t.Errorf("engine has %d tunnels, %d states; want 2", len(s.tunnels), len(s.tstate))
	}
}

// TestReloadComparesWithRunning: a reload compares the file with the running tunnels (the
// gateway keeps no copy of the file's): what the engine runs and the gateway's own settings
// (child_probe, heal) count, and wording that means the same does not.
func TestReloadComparesWithRunning(t *testing.T) {
	n := memory.NewNetwork()
	base := tunnelTOML("same", addrA, "192.0.2.50", 1, "none") +
		tunnelTOML("port", addrA, "192.0.2.51", 2, "none") +
		tunnelTOML("probe", addrA, "192.0.2.52", 3, "none") +
		tunnelTOML("heal", addrA, "192.0.2.53", 4, "none") +
		tunnelTOML("zz", addrA, "192.0.2.54", 5, "none") +
		tunnelTOML("aa", addrA, "192.0.2.55", 6, "none")
	a := startGateway(t, n, parseConf(t, base))
	a.next.Store(parseConf(t, tunnelTOML("same", addrA, "192.0.2.50", 1, "none")+
		tunnelTOML("port", addrA, "192.0.2.51", 2, "none", "remote_port = 500")+ // the default, written out
		tunnelTOML("probe", addrA, "192.0.2.52", 3, "none", `child_probe = "7s"`)+
		tunnelTOML("heal", addrA, "192.0.2.53", 4, "none", "heal = false")))
	res, err := a.Reload()
	if err != nil {
		t.Fatal(err)
	}
	want := api.ReloadResult{Removed: []string{"aa", "zz"}, Changed: []string{"probe", "heal"}, Unchanged: []string{"same", "port"}}
	if len(res.Added) != 0 || !slices.Equal(res.Removed, want.Removed) ||
		!slices.Equal(res.Changed, want.Changed) || !slices.Equal(res.Unchanged, want.Unchanged) {
		t.Errorf("reload = %+v, want %+v", res, want)
	}
	// The same file again: nothing left to change.
	res, err = a.Reload()
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Added)+len(res.Removed)+len(res.Changed) != 0 || len(res.Unchanged) != 4 {
		t.Errorf("second reload = %+v, want 4 unchanged", res)
	}
}
