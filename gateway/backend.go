package gateway

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/vigil-ipsec/vigil/api"
	"github.com/vigil-ipsec/vigil/dataplane"
	"github.com/vigil-ipsec/vigil/ike"
)

// The Gateway implements api.Backend. Reads run on the engine loop so they see a consistent
// state.
var _ api.Backend = (*Gateway)(nil)

func notFound(format string, args ...any) error {
	return fmt.Errorf("%w: %s", api.ErrNotFound, fmt.Sprintf(format, args...))
}

func (g *Gateway) Status() api.Status {
	s := api.Status{Version: Version, PID: os.Getpid(), Started: g.started, Uptime: api.Duration(time.Since(g.started)),
		LogLevel: strings.ToLower(g.level.Level().String())}
	s.Problem = g.Problem()
	s.Healthy = s.Problem == ""
	g.cfgMu.Lock()
	s.ConfigFile = g.cfg.File
	g.cfgMu.Unlock()
	// After a failure the loop stops while the API may still answer: report what we can. The
	// engine keeps the totals as things change: no walk over 100,000 tunnels on the loop.
	var n ike.Counts
	if g.callIfRunning(func() { n = g.engine.Counts() }) {
		s.Tunnels, s.TunnelsUp, s.IKESAs, s.ChildSAs = n.Tunnels, n.TunnelsUp, n.IKESAs(), n.ChildSAs()
	}
	return s
}

func (g *Gateway) apiTunnel(t *ike.Tunnel) api.Tunnel {
	c := t.Cfg
	out := api.Tunnel{
		Name: c.Name, State: t.State().String(), Version: ikeVersion(c.Version),
		Local: c.Local.Addr().String(), Remote: c.Remote.Addr().String(),
		LocalID: idText(c.LocalID), RemoteID: idText(c.RemoteID),
		StartAction: startName(c.StartAction), Since: t.Since,
	}
	for _, p := range c.LocalTS {
		out.LocalTS = append(out.LocalTS, p.String())
	}
	for _, p := range c.RemoteTS {
		out.RemoteTS = append(out.RemoteTS, p.String())
	}
	if t.IKE != nil {
		out.IKESAs = 1
		out.ChildSAs = len(t.IKE.Children())
	}
	if ts := g.tstate[c.Name]; ts != nil && ts.tunnelRun != nil && ts.lastKind != "" {
		out.LastEvent = ts.lastKind + ": " + ts.lastMsg
	}
	return out
}

func startName(a ike.StartAction) string {
	switch a {
	case ike.StartStart:
		return "start"
	case ike.StartTrap:
		return "trap"
	}
	return "none"
}

func idText(id ike.Identity) string {
	return identityString(uint8(id.Type), id.Data)
}

func (g *Gateway) Tunnels() []api.Tunnel {
	var out []api.Tunnel
	g.engine.Call(func() {
		for _, t := range g.engine.Tunnels() {
			out = append(out, g.apiTunnel(t))
		}
	})
	slices.SortFunc(out, func(a, b api.Tunnel) int { return strings.Compare(a.Name, b.Name) })
	return out
}

func (g *Gateway) Tunnel(name string) (api.Tunnel, error) {
	var out api.Tunnel
	var err error
	g.engine.Call(func() {
		t := g.engine.Tunnel(name)
		if t == nil {
			err = notFound("no tunnel %q", name)
			return
		}
		out = g.apiTunnel(t)
	})
	return out, err
}

func (g *Gateway) TunnelUp(name string) error   { return g.tunnelUp(name) }
func (g *Gateway) TunnelDown(name string) error { return g.tunnelDown(name) }

func rekeyIn(at time.Time) api.Duration {
	if at.IsZero() {
		return 0
	}
	return api.Duration(max(time.Until(at), 0))
}

func (g *Gateway) apiChild(c *ike.ChildSA) api.ChildSA {
	in, _ := g.dp.SAStats(dataplane.InSA(c.SPIIn))
	out, _ := g.dp.SAStats(dataplane.OutSA(c.ID, c.SPIOut))
	encap := "raw"
	if c.Encap == dataplane.EncapUDP {
		encap = "udp"
	}
	return api.ChildSA{
		ID: c.ID, Tunnel: c.Tunnel.Cfg.Name, IKESA: c.IKE.ID, SPIIn: api.SPI(c.SPIIn), SPIOut: api.SPI(c.SPIOut),
		State: c.State.String(), Algorithms: c.Algorithms(), Encap: encap,
		LocalTS: c.LocalTSStrings(), RemoteTS: c.RemoteTSStrings(), Established: c.Created,
		Age: api.Duration(time.Since(c.Created)), RekeyIn: rekeyIn(c.RekeyAt),
		BytesIn: in.Bytes, BytesOut: out.Bytes, PacketsIn: in.Packets, PacketsOut: out.Packets,
		LastIn: in.LastUsed, LastOut: out.LastUsed, ReplayDrops: in.ReplayDrops, AuthFails: in.AuthFails,
	}
}

func (g *Gateway) SAs(tunnel string) []api.IKESA {
	var out []api.IKESA
	g.engine.Call(func() {
		for _, sa := range g.engine.IKESAs() {
			if sa.Tunnel == nil || (tunnel != "" && sa.Tunnel.Cfg.Name != tunnel) {
				continue
			}
			a := api.IKESA{
				ID: sa.ID, Tunnel: sa.Tunnel.Cfg.Name, SPIi: fmt.Sprintf("%016x", sa.SPIi), SPIr: fmt.Sprintf("%016x", sa.SPIr),
				Initiator: sa.Initiator, State: sa.State.String(), Local: sa.Local.String(), Remote: sa.Remote.String(),
				Algorithms: algorithms(sa), Established: sa.Up, RekeyIn: rekeyIn(sa.RekeyAt),
			}
			if !sa.Up.IsZero() {
				a.Age = api.Duration(time.Since(sa.Up))
			}
			for _, c := range sa.Children() {
				a.Children = append(a.Children, g.apiChild(c))
			}
			slices.SortFunc(a.Children, func(x, y api.ChildSA) int { return int(x.ID) - int(y.ID) })
			out = append(out, a)
		}
	})
	slices.SortFunc(out, func(a, b api.IKESA) int {
		if c := strings.Compare(a.Tunnel, b.Tunnel); c != 0 {
			return c
		}
		return int(a.ID) - int(b.ID)
	})
	return out
}

func (g *Gateway) ChildSA(spi api.SPI, tunnel string) (api.ChildSA, error) {
	var out api.ChildSA
	var err error
	g.engine.Call(func() {
		var c *ike.ChildSA
		if c, err = g.findChild(spi, tunnel); err != nil {
			return
		}
		out = g.apiChild(c)
	})
	return out, err
}

// DeleteChildSA removes the Child SA with that SPI (either direction; of that tunnel unless
// tunnel is ""). With notify the peer gets a Delete and the tunnel is re-established per its
// start action; without, the SA is dropped silently and nothing else happens (this is how a
// peer that lost an SA is simulated).
func (g *Gateway) DeleteChildSA(spi api.SPI, tunnel string, notify bool) (api.DeleteResult, error) {
	var res api.DeleteResult
	var err error
	g.engine.Call(func() {
		var c *ike.ChildSA
		if c, err = g.findChild(spi, tunnel); err != nil {
			return
		}
		t := c.Tunnel
		res = api.DeleteResult{Tunnel: t.Cfg.Name, SPIIn: api.SPI(c.SPIIn), SPIOut: api.SPI(c.SPIOut), Notified: notify && c.IKE.State == ike.IKEEstablished, Action: "none"}
		g.log.Info("operator deletes Child SA", "tunnel", t.Cfg.Name, "spi_in", spiText(c.SPIIn), "spi_out", spiText(c.SPIOut), "notify", notify)
		g.event(t.Cfg.Name, "delete", "manual", c.IKE.Remote.Addr().String(), api.SPI(c.SPIIn), nil,
			fmt.Sprintf("operator deleted Child SA in 0x%08x out 0x%08x (notify=%v)", c.SPIIn, c.SPIOut, notify), 0)
		g.engine.DeleteChild(c, notify, nil)
		if notify && t.Cfg.StartAction == ike.StartStart && t.IKE != nil && t.IKE.State == ike.IKEEstablished {
			res.Action = "recreate"
			g.engine.CreateChild(t, nil)
		}
	})
	return res, err
}

func (g *Gateway) Events(tunnel string, since uint64) []api.Event {
	return g.events.since(tunnel, since)
}

func (g *Gateway) Subscribe(ctx context.Context, tunnel string) <-chan api.Event {
	return g.events.subscribe(ctx, tunnel)
}

func (g *Gateway) SetLogLevel(level string) error {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return fmt.Errorf("%w: unknown log level %q (debug, info, warn, error)", api.ErrBadRequest, level)
	}
	g.level.Set(l)
	g.log.Info("log level changed", "level", l)
	return nil
}

// RekeyChildSA rekeys the Child SA with that SPI (either direction; of that tunnel unless
// tunnel is ""), make-before-break.
func (g *Gateway) RekeyChildSA(spi api.SPI, tunnel string) error {
	var err error
	g.engine.Call(func() {
		var c *ike.ChildSA
		if c, err = g.findChild(spi, tunnel); err != nil {
			return
		}
		if c.State != ike.ChildInstalled || c.IKE.State != ike.IKEEstablished {
			err = fmt.Errorf("%w: Child SA 0x%08x is %v; only installed Child SAs of established IKE SAs can be rekeyed", api.ErrConflict, c.SPIIn, c.State)
			return
		}
		g.log.Info("operator rekeys Child SA", "tunnel", c.Tunnel.Cfg.Name, "spi_in", spiText(c.SPIIn))
		g.engine.RekeyChild(c, nil)
	})
	return err
}

// RekeyIKESA rekeys the tunnel's IKE SA.
func (g *Gateway) RekeyIKESA(tunnel string) error {
	var err error
	g.engine.Call(func() {
		t := g.engine.Tunnel(tunnel)
		if t == nil {
			err = notFound("no tunnel %q", tunnel)
			return
		}
		if t.IKE == nil || t.IKE.State != ike.IKEEstablished {
			err = fmt.Errorf("%w: tunnel %s has no established IKE SA", api.ErrConflict, tunnel)
			return
		}
		g.log.Info("operator rekeys IKE SA", "tunnel", tunnel, "ike", t.IKE.String())
		g.engine.RekeyIKE(t.IKE)
	})
	return err
}

// algorithms renders an IKE SA's suite, "-" while it is not negotiated yet.
func algorithms(sa *ike.IKESA) string {
	if sa.Suite.Encr == 0 {
		return "-"
	}
	return sa.Algorithms()
}

// findChild looks a Child SA up by either direction's SPI, among the Child SAs of tunnel
// unless it is "" (loop only). Outbound SPIs are the peers' choice, so one SPI may name
// several Child SAs: then the operator is told which, and how to pick one, rather than one
// being picked for them.
func (g *Gateway) findChild(spi api.SPI, tunnel string) (*ike.ChildSA, error) {
	if tunnel != "" && g.engine.Tunnel(tunnel) == nil {
		return nil, notFound("no tunnel %q", tunnel)
	}
	return pickChild(uint32(spi), tunnel, g.engine.FindChildren(uint32(spi)))
}

// pickChild picks the Child SA of tunnel (any if "") among those an SPI names.
func pickChild(spi uint32, tunnel string, cs []*ike.ChildSA) (*ike.ChildSA, error) {
	var found []*ike.ChildSA
	for _, c := range cs {
		if tunnel == "" || c.Tunnel.Cfg.Name == tunnel {
			found = append(found, c)
		}
	}
	switch {
	case len(found) == 1:
		return found[0], nil
	case len(found) == 0 && tunnel != "":
		return nil, notFound("tunnel %s has no Child SA with SPI 0x%08x (inbound or outbound)", tunnel, spi)
	case len(found) == 0:
		return nil, notFound("no Child SA with SPI 0x%08x (inbound or outbound)", spi)
	}
	return nil, ambiguousSPI(spi, tunnel, found)
}

// maxAmbiguousListed bounds the Child SAs an ambiguity error lists.
const maxAmbiguousListed = 8

// ambiguousSPI is the error for an SPI that names several Child SAs: it lists them (by tunnel
// name) with what tells them apart, and says how to name one.
func ambiguousSPI(spi uint32, tunnel string, cs []*ike.ChildSA) error {
	slices.SortFunc(cs, func(a, b *ike.ChildSA) int {
		if c := strings.Compare(a.Tunnel.Cfg.Name, b.Tunnel.Cfg.Name); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	var b strings.Builder
	for i, c := range cs {
		if i == maxAmbiguousListed {
			fmt.Fprintf(&b, ", and %d more", len(cs)-i)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		if c.SPIIn == spi {
			fmt.Fprintf(&b, "tunnel %s (inbound, peer %s)", c.Tunnel.Cfg.Name, c.IKE.Remote.Addr())
		} else {
			fmt.Fprintf(&b, "tunnel %s (outbound, peer %s, inbound SPI 0x%08x)", c.Tunnel.Cfg.Name, c.IKE.Remote.Addr(), c.SPIIn)
		}
	}
	how := "name its tunnel (vigil: --tunnel NAME; API: ?tunnel=NAME) or give its inbound SPI"
	if tunnel != "" {
		how = "give its inbound SPI"
	}
	return fmt.Errorf("%w: SPI 0x%08x is ambiguous: it names %d Child SAs: %s; to pick one, %s", api.ErrConflict, spi, len(cs), b.String(), how)
}

func ikeVersion(v int) int {
	if v == 1 {
		return 1
	}
	return 2
}
