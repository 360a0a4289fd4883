package gateway

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/vigil-ipsec/vigil/api"
	"github.com/vigil-ipsec/vigil/config"
	"github.com/vigil-ipsec/vigil/ike"
)

func identityString(t uint8, v []byte) string {
	return config.Identity{Type: t, Value: v}.String()
}

// reloadPlan is a reload worked out in full, and checked, before anything changes.
type reloadPlan struct {
	cfg                                *config.Config // the new configuration without its tunnels
	added, removed, changed, unchanged []string
	tcs                                map[string]*ike.TunnelConfig // added and changed tunnels, ready for the engine
	cts                                map[string]*config.Tunnel    // the same tunnels as the file gives them
	compared                           time.Duration                // time the comparison held the engine loop
}

// Reload re-reads the configuration: the main file, and of the included files those that
// changed (with the default loader, see config.Loader). It is transactional: the new
// configuration is parsed and validated in full, the difference to the running one worked
// out, and everything that can fail checked (listening on the local addresses of added or
// changed tunnels) before anything changes; then the difference is applied on the engine loop
// in one step. On any problem the running configuration is kept whole, the
// engine and the gateway untouched, and every problem is reported, with FILE:LINE where the
// configuration gives one. Unchanged tunnels keep their SAs; changed ones are deleted (with
// Delete notifies) and set up again; removed ones are deleted; added ones are started per
// their start action. Reloads are serialised: a SIGHUP and an API reload never interleave.
//
// [global] settings are read at start-up only: a reload keeps the running ones (and warns when
// the file's differ). A refused reload may leave the dataplane listening on a new local
// address that a checked tunnel needed (the dataplane cannot stop listening on one address);
// nothing is configured there.
func (g *Gateway) Reload() (api.ReloadResult, error) {
	g.reloadMu.Lock()
	defer g.reloadMu.Unlock()
	start := time.Now()
	p, err := g.planReload()
	if err != nil {
		g.log.Error("reload refused; keeping the running configuration", "err", err)
		return api.ReloadResult{}, fmt.Errorf("%w: configuration refused, running configuration kept:\n%v", api.ErrBadRequest, err)
	}
	var applied time.Duration
	g.engine.Call(func() {
		t0 := time.Now()
		g.applyReload(p)
		applied = time.Since(t0)
	})
	// How long the reload took, and how long of that it held the engine loop (which then
	// handles no IKE message and no timer): with 100,000 tunnels, both matter.
	g.log.Info("configuration reloaded", "added", p.added, "removed", p.removed, "changed", p.changed, "unchanged", len(p.unchanged),
		"took", time.Since(start).Round(time.Microsecond), "loop_held", (p.compared + applied).Round(time.Microsecond))
	return api.ReloadResult{Added: p.added, Removed: p.removed, Changed: p.changed, Unchanged: p.unchanged}, nil
}

// planReload loads the configuration, compares it with the running one and checks every step
// that can fail. It changes no gateway or engine state (it only notes, for the next reload,
// the generation of the settings an unchanged tunnel runs: see diff). The error joins every
// problem found.
func (g *Gateway) planReload() (*reloadPlan, error) {
	newCfg, err := g.load()
	if err != nil {
		return nil, err
	}
	g.cfgMu.Lock()
	old := g.cfg
	g.cfgMu.Unlock()
	fileGlobal := newCfg.Global
	fileGlobal.Socket = old.Global.Socket // vigild --socket overrides the file's
	if fileGlobal != old.Global {
		g.log.Warn("reload: [global] settings changed; they take effect only after a restart of vigild")
	}
	p := &reloadPlan{tcs: map[string]*ike.TunnelConfig{}, cts: map[string]*config.Tunnel{}}
	// Keep the running [global]: the engine, dataplane and limiters were built from it.
	p.cfg = &config.Config{File: newCfg.File, Global: old.Global}
	// The running tunnels are compared with what the file now says they should be (the
	// gateway keeps no copy of the file's tunnels: the engine's configuration is the record).
	g.engine.Call(func() {
		t0 := time.Now()
		p.added, p.removed, p.changed, p.unchanged = g.diff(old.Global, newCfg, p.tcs, p.cts)
		p.compared = time.Since(t0)
	})

	fail := func(ct *config.Tunnel, err error) error {
		file := ct.File // the main file or an included one
		if file == "" {
			file = newCfg.File
		}
		return &config.Error{File: file, Line: ct.Line, Msg: err.Error()}
	}
	setUp := append(append([]string(nil), p.changed...), p.added...)
	// Only a configuration that config accepted makes the dataplane listen on new addresses.
	var errs []error
	listened := map[netip.Addr]bool{}
	for _, name := range setUp {
		a := p.tcs[name].Local.Addr()
		if listened[a] {
			continue
		}
		listened[a] = true
		if err := g.dp.Listen(a); err != nil {
			errs = append(errs, fail(p.cts[name], fmt.Errorf("tunnel %s: listening on %v: %w", name, a, err)))
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return p, nil
}

// applyReload switches to a checked plan (loop only); nothing in it can fail.
func (g *Gateway) applyReload(p *reloadPlan) {
	gone := append(append([]string(nil), p.removed...), p.changed...)
	for _, name := range gone {
		ts := g.tstate[name]
		if ts == nil {
			continue
		}
		ts.manualDown = true
		if ts.tunnelRun != nil {
			ts.retryTimer.Stop()
			ts.probeTimer.Stop()
			ts.healTimer.Stop()
		}
	}
	g.engine.RemoveTunnels(gone, true)
	for _, name := range gone {
		if ts := g.tstate[name]; ts != nil {
			g.setGen(ts, 0)
		}
		delete(g.tstate, name)
	}
	setUp := append(append([]string(nil), p.changed...), p.added...)
	tcs := make([]*ike.TunnelConfig, len(setUp))
	cts := make([]*config.Tunnel, len(setUp))
	for i, name := range setUp {
		tcs[i], cts[i] = p.tcs[name], p.cts[name]
	}
	g.register(tcs, cts)
	g.cfgMu.Lock()
	g.cfg = p.cfg
	g.cfgMu.Unlock()
	for _, name := range setUp {
		if t := g.engine.Tunnel(name); t != nil && t.Cfg.StartAction == ike.StartStart {
			g.initiate(name, "reload")
		}
	}
	g.event("", "reload", "", "", 0, nil, fmt.Sprintf("configuration reloaded: %d added, %d removed, %d changed, %d unchanged",
		len(p.added), len(p.removed), len(p.changed), len(p.unchanged)), 0)
}

// diff compares the running tunnels with a configuration (loop only), whose tunnels run with
// the global settings gl. A tunnel is unchanged when the engine's configuration and the
// gateway's settings of it equal what the file gives now (so a rewording that means the same,
// such as a proposal written differently or the default port written out, changes nothing).
// added, changed and unchanged follow the file's order, removed is sorted by name. The
// configurations of the added and changed tunnels go into setUp.
//
// With 100,000 tunnels, most of them in files a reload did not read again, the comparison is
// cut short twice. A tunnel whose configuration has the generation (config.Tunnel.Gen) the
// running one was found equal to is unchanged: the engine's configuration is built and
// compared only for the others: the tunnels of an included file that did not change, which
// the loader reused, are not even rebuilt in full (see config.Update). When as many running
// tunnels run a file's generation as the file has tunnels, they are that file's tunnels
// (a generation is one parse of one file, whose names are distinct, and a running tunnel gets
// a generation only from a tunnel of its name): the whole file is unchanged without a
// look-up of its tunnels by name. And when every running tunnel was found by name, none was
// removed: the engine's tunnels are not walked. The file's tunnels of the added and changed
// tunnels go into cts.
func (g *Gateway) diff(gl config.Global, newCfg *config.Update, setUp map[string]*ike.TunnelConfig, cts map[string]*config.Tunnel) (added, removed, changed, unchanged []string) {
	unchanged = make([]string, 0, newCfg.Len())
	found := 0 // running tunnels found in the file
	keep := func(_ int, name string, _ uint64) bool {
		unchanged = append(unchanged, name)
		return true
	}
	compare := func(i int, name string, gen uint64) bool {
		ts := g.tstate[name] // settings only: no run-time part is made
		if ts != nil && gen != 0 && ts.gen == gen {
			found++
			unchanged = append(unchanged, name)
			return true
		}
		ct := newCfg.Tunnel(i)
		t := g.engine.Tunnel(ct.Name)
		if t == nil || ts == nil {
			added = append(added, ct.Name)
			tc := tunnelConfig(gl, ct, nil)
			setUp[ct.Name], cts[ct.Name] = &tc, ct
			return true
		}
		found++
		next := tunnelConfig(gl, ct, nil)
		if t.Cfg.Equal(&next) && ts.childProbe == ct.ChildProbe && ts.heal == ct.Heal && ts.healDelay == ct.HealDelay {
			unchanged = append(unchanged, ct.Name)
			// The tunnel runs the settings of this generation, whether or not the reload
			// applies: the next reload need not compare it again.
			g.setGen(ts, ct.Gen)
			return true
		}
		changed = append(changed, ct.Name)
		tc := next
		setUp[ct.Name], cts[ct.Name] = &tc, ct
		return true
	}
	newCfg.Files(func(off, n int, gen uint64) bool {
		if gen != 0 && n > 0 && g.gens[gen] == n {
			found += n
			newCfg.RangeFrom(off, n, keep)
		} else {
			newCfg.RangeFrom(off, n, compare)
		}
		return true
	})
	if found != len(g.engine.Tunnels()) {
		for name := range g.engine.Tunnels() {
			if newCfg.Find(name) < 0 {
				removed = append(removed, name)
			}
		}
		slices.Sort(removed)
	}
	return added, removed, changed, unchanged
}

// withoutTunnels is c without its tunnels: what the gateway keeps of a configuration once the
// engine has the tunnels.
func withoutTunnels(c *config.Config) *config.Config {
	return &config.Config{File: c.File, Global: c.Global}
}
