package gateway

import (
	"fmt"

	"github.com/vigil-ipsec/vigil/api"
	"github.com/vigil-ipsec/vigil/config"
	"github.com/vigil-ipsec/vigil/ike"
)

func identityString(t uint8, v []byte) string {
	return config.Identity{Type: t, Value: v}.String()
}

// Reload re-reads the configuration file. A file that fails validation is refused and the
// running configuration stays. Unchanged tunnels keep their SAs; changed ones are deleted
// (with Delete notifies) and set up again; removed ones are deleted; added ones are started
// per their start action.
func (g *Gateway) Reload() (api.ReloadResult, error) {
	newCfg, err := g.load()
	if err != nil {
		g.log.Error("reload refused: configuration is invalid; keeping the running one", "err", err)
		return api.ReloadResult{}, fmt.Errorf("%w: configuration refused, running configuration kept:\n%v", api.ErrBadRequest, err)
	}
	g.cfgMu.Lock()
	old := g.cfg
	g.cfgMu.Unlock()
	added, removed, changed, unchanged := config.Diff(old, newCfg)
	var res api.ReloadResult
	g.engine.Call(func() {
		for _, name := range append(append([]string(nil), removed...), changed...) {
			if ts := g.tstate[name]; ts != nil {
				ts.manualDown = true
				stopTimer(ts.retryTimer)
				stopTimer(ts.probeTimer)
			}
			g.engine.RemoveTunnel(name, true)
			delete(g.tstate, name)
		}
		g.cfgMu.Lock()
		g.cfg = newCfg
		g.cfgMu.Unlock()
		for _, name := range append(append([]string(nil), changed...), added...) {
			ct := newCfg.Tunnel(name)
			if err = g.addTunnel(ct); err != nil {
				return
			}
			if t := g.engine.Tunnel(name); t != nil && t.Cfg.StartAction == ike.StartStart {
				g.initiate(name, "reload")
			}
		}
		res = api.ReloadResult{Added: added, Removed: removed, Changed: changed, Unchanged: unchanged}
		g.event("", "reload", "", "", 0, nil, fmt.Sprintf("configuration reloaded: %d added, %d removed, %d changed, %d unchanged", len(added), len(removed), len(changed), len(unchanged)), 0)
	})
	if err != nil {
		return res, err
	}
	g.log.Info("configuration reloaded", "added", added, "removed", removed, "changed", changed, "unchanged", len(unchanged))
	return res, nil
}
