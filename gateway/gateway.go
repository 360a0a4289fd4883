package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vigil-ipsec/vigil/config"
	"github.com/vigil-ipsec/vigil/dataplane"
	"github.com/vigil-ipsec/vigil/ike"
	v1 "github.com/vigil-ipsec/vigil/ike/v1"
	v2 "github.com/vigil-ipsec/vigil/ike/v2"
	"github.com/vigil-ipsec/vigil/internal/logthrottle"
)

// Version is the daemon's version string.
var Version = "0.1.0"

// Options configure a Gateway.
type Options struct {
	Logger   *slog.Logger
	LogLevel *slog.LevelVar
	// OpenDataplane creates the dataplane, delivering IKE messages to h.
	OpenDataplane func(h dataplane.IKEHandler) (dataplane.Dataplane, error)
	// LoadConfig re-reads the configuration for Reload; defaults to the LoadUpdate of the
	// config.Loader that loaded cfg (cfg.Loader()), or of a new one of cfg.File.
	LoadConfig func() (*config.Config, error)
	// LogThrottle limits log lines triggered by unauthenticated input, per source, in the
	// gateway and the IKE engine; nil selects logthrottle's defaults.
	LogThrottle *logthrottle.Throttle
}

// Gateway is a running Vigil instance.
type Gateway struct {
	log     *slog.Logger
	level   *slog.LevelVar
	dp      dataplane.Dataplane
	engine  *ike.Engine
	timers  *ike.TimerGroup // every timer of the gateway, owned by the engine loop (ike/timers.go)
	events  *eventLog
	metrics *Metrics
	started time.Time
	// load re-reads the configuration for Reload. With the default loader it does not put the
	// tunnels of the included files that did not change into a Config: Reload needs only their
	// names and generations (see config.Update).
	load func() (*config.Update, error)
	lt   *logthrottle.Throttle // log lines triggered by unauthenticated input

	reloadMu sync.Mutex // serialises Reload (SIGHUP and API)
	cfgMu    sync.Mutex // guards cfg for readers outside the loop; written on the loop
	cfg      *config.Config

	// problem is why the gateway is unhealthy (nil: healthy): set when the dataplane fails.
	problem atomic.Pointer[string]

	// Loop-owned state.
	tstate map[string]*tunnelState
	// gens counts the tunnels of tstate by the generation they run (tunnelState.gen, not 0):
	// a reload finds every tunnel of an unchanged file unchanged at once when as many run its
	// generation as the file has tunnels (see diff). Loop only.
	gens map[uint64]int
	// restartHealAt: the last restart heal per configured peer address (heal.go).
	restartHealAt map[netip.Addr]time.Time
	pace          pacer // initiations in flight and waiting (pacing.go)
	ctx           context.Context
	closing       map[*ike.IKESA]bool // IKE SAs whose Delete is in flight at shutdown
	closed        chan struct{}       // closed when closing empties
}

// tunnelState is the gateway's per-tunnel bookkeeping (loop-owned).
type tunnelState struct {
	// The tunnel's settings (from its configuration) and whether it is taken down on purpose.
	childProbe time.Duration
	healDelay  time.Duration // heal_delay
	// gen is the generation of the configuration the tunnel runs (config.Tunnel.Gen): a
	// reload finds a tunnel of the same generation unchanged without comparing it.
	gen        uint64
	heal       bool // heal: repair when this side lost its state
	manualDown bool
	// What the tunnel does at run time: allocated when it first does something (see state),
	// so that a configured tunnel that never starts costs only the fields above.
	*tunnelRun
}

// tunnelRun is a tunnel's run-time state in the gateway.
type tunnelRun struct {
	outageStart time.Time // detection of the current outage; zero if none
	outageCause string
	recovering  bool // a replacement Child SA or IKE SA is being negotiated
	lastProbe   time.Time
	probeTimer  *ike.Timer
	lastHint    time.Time
	backoff     time.Duration
	retryTimer  *ike.Timer
	// probeIdle, dpdIdle: the Child SA probe, the DPD check wait for the dataplane's
	// EventActive (nothing goes out), with only a long backstop timer armed.
	probeIdle, dpdIdle bool
	lastKind, lastMsg  string // of the last event: "kind: message" in the tunnel's status
	everUp             bool
	probeSince         time.Time // last inbound before the probe in flight; zero if none
	probeCause         string
	dpdSince           time.Time
	lastAuthFail       time.Time // last "failed auth-failed" event of a peer's IKE SA

	healTimer       *ike.Timer // a lost Child SA waiting for the peer's replacement
	lastRestartHeal time.Time  // last IKE SA started by a restart heal
	peerDeleted     time.Time  // when the peer last deleted the tunnel's Child SA
}

// state returns the gateway's record of a configured tunnel, with its run-time part (which it
// allocates on first use), or nil if no tunnel has that name.
func (g *Gateway) state(name string) *tunnelState {
	ts := g.tstate[name]
	if ts != nil && ts.tunnelRun == nil {
		ts.tunnelRun = new(tunnelRun)
	}
	return ts
}

// New builds a gateway from a validated configuration. Nothing runs until Run.
func New(cfg *config.Config, o Options) (*Gateway, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.LogLevel == nil {
		o.LogLevel = new(slog.LevelVar)
	}
	g := &Gateway{
		log: o.Logger, level: o.LogLevel, cfg: cfg, events: newEventLog(10000),
		started: time.Now(), tstate: map[string]*tunnelState{}, restartHealAt: map[netip.Addr]time.Time{},
		lt: o.LogThrottle,
	}
	g.pace = pacer{inflight: map[*ike.IKESA]struct{}{}, waiting: map[string]bool{}}
	g.metrics = newMetrics(g)
	if g.lt == nil {
		g.lt = logthrottle.New(0, 0)
	}
	if load := o.LoadConfig; load != nil {
		g.load = func() (*config.Update, error) {
			c, err := load()
			if err != nil {
				return nil, err
			}
			return c.Update(), nil
		}
	} else {
		// The Loader that loaded cfg knows which files it read: the first reload reads only
		// those that changed since. (Not cfg itself: it holds every tunnel of the file.)
		l := cfg.Loader()
		if l == nil {
			l = config.NewLoader(cfg.File)
		}
		g.load = l.LoadUpdate
	}
	// The dataplane first: the engine sends through it. Received IKE messages reach the
	// engine through in, which is attached to the engine once it is built.
	in := new(ikeInput)
	dp, err := o.OpenDataplane(in.handle)
	if err != nil {
		return nil, err
	}
	gl := cfg.Global
	eng := ike.New(ike.Config{
		IKEPort: uint16(gl.IKEPort), NATTPort: uint16(gl.NATTPort),
		RetransmitTimeout: gl.Retransmit.Timeout, RetransmitBase: gl.Retransmit.Base,
		RetransmitTries: gl.Retransmit.Tries, RetransmitMax: gl.Retransmit.MaxTimeout,
		CookieThreshold: gl.CookieThreshold, HalfOpenMax: gl.HalfOpenMax, HalfOpenPerSource: gl.HalfOpenPerSource,
		LogThrottle: g.lt, DHReuse: dhReuse(gl.DHReuse),
		// The dataplane limits the unknown-SPI events, per (source, SPI) and per source, with
		// per_spi_interval and per_peer_rate: each event gets at most one notify.
		QuietOnUnknownSPI:         gl.InvalidSPI.PerPeerRate == 0,
		UnprotectedInvalidSPIRate: unprotectedRate(gl.InvalidSPI),
	}, dp, g, g.log, v1.New, v2.New)
	in.attach(eng)
	g.dp, g.engine, g.timers = dp, eng, eng.NewTimerGroup()
	tcs := make([]*ike.TunnelConfig, len(cfg.Tunnels))
	cts := make([]*config.Tunnel, len(cfg.Tunnels))
	slab := make([]ike.TunnelConfig, len(cfg.Tunnels)) // one allocation: see register
	// The tunnels' values are copied into an arena unless a loader keeps them anyway: the
	// loader of a configuration with included files keeps their names, identities, keys and
	// subnets, in blocks, for the next reload (config/snapshot.go), and a copy would only
	// double them.
	a := new(arena)
	if len(cfg.Includes) > 0 {
		a = nil
	}
	for i := range cfg.Tunnels {
		ct := &cfg.Tunnels[i]
		slab[i] = tunnelConfig(gl, ct, a)
		tcs[i], cts[i] = &slab[i], ct
		if a := tcs[i].Local.Addr(); i == 0 || a != tcs[i-1].Local.Addr() {
			if err := dp.Listen(a); err != nil {
				dp.Close()
				return nil, fmt.Errorf("tunnel %s: listening on %v: %w", ct.Name, a, err)
			}
		}
	}
	g.register(tcs, cts)
	// From here the engine's configuration of each tunnel is its record (reload compares with
	// it): the file's tunnels are not kept.
	g.cfg = withoutTunnels(cfg)
	return g, nil
}

// unprotectedRate is how many unprotected INVALID_SPI notifies may go out per second (0: none).
func unprotectedRate(c config.InvalidSPI) float64 {
	if !c.Unprotected {
		return 0
	}
	return float64(max(c.UnprotectedRate, 1))
}

// register adds checked tunnels to the engine and the gateway's bookkeeping (before Run, or
// on the loop); it cannot fail.
//
// The tunnels' records live as long as the tunnels and are allocated in one slab per call, not
// one by one among the garbage of start-up or reload: 100,000 records scattered over
// half-empty pages of the heap cost as much memory again.
func (g *Gateway) register(tcs []*ike.TunnelConfig, cts []*config.Tunnel) {
	g.engine.AddTunnels(tcs)
	slab := make([]tunnelState, len(cts))
	if len(g.tstate) == 0 && len(cts) > 1024 {
		g.tstate = make(map[string]*tunnelState, len(cts)) // start-up: sized once, not grown
	}
	for i, ct := range cts {
		ts := &slab[i]
		ts.childProbe, ts.heal, ts.healDelay = ct.ChildProbe, ct.Heal, ct.HealDelay
		g.setGen(ts, ct.Gen)
		g.tstate[tcs[i].Name] = ts // the engine's copy of the name: the file's is dropped
	}
}

// setGen records that the tunnel of ts runs the settings of generation gen (0: none known),
// keeping gens in step.
func (g *Gateway) setGen(ts *tunnelState, gen uint64) {
	if ts.gen != 0 {
		if g.gens[ts.gen]--; g.gens[ts.gen] <= 0 {
			delete(g.gens, ts.gen)
		}
	}
	ts.gen = gen
	if gen != 0 {
		if g.gens == nil {
			g.gens = map[uint64]int{}
		}
		g.gens[gen]++
	}
}

// Engine exposes the IKE engine (tests).
func (g *Gateway) Engine() *ike.Engine { return g.engine }

// Dataplane exposes the dataplane (tests).
func (g *Gateway) Dataplane() dataplane.Dataplane { return g.dp }

// Run starts the tunnels whose start action is "start", processes dataplane events and runs
// the engine until ctx ends; then it deletes all SAs (telling the peers) and closes the
// dataplane. If the dataplane fails on its own (a dead worker: no traffic can flow any more)
// the gateway marks itself unhealthy, shuts down the same way and returns an error, so that
// the daemon exits non-zero and gets restarted.
//
// Run owns the goroutines it starts and waits for them before it returns: the engine loop,
// which outlives ctx because the shutdown runs on it and is stopped by stopLoop after the
// shutdown, and the dataplane event pump, which stops when ctx ends. The gateway's timers
// (a group of the engine's, ike/timers.go) are stopped by the shutdown; the engine stops its
// own when its loop ends.
func (g *Gateway) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	g.ctx = ctx
	loopCtx, stopLoop := context.WithCancel(context.Background())
	loopDone := make(chan struct{})
	go func() { g.engine.Run(loopCtx); close(loopDone) }()
	g.engine.Do(func() {
		for name, t := range g.engine.Tunnels() {
			if t.Cfg.StartAction == ike.StartStart {
				g.initiate(name, "start")
			}
		}
	})
	var failed error
	select {
	case <-ctx.Done():
	case err := <-g.dp.Failed():
		failed = fmt.Errorf("dataplane failed: %w", err)
		g.setUnhealthy(failed)
		cancel()
	}
	g.shutdown()
	stopLoop()
	<-loopDone
	// The engine stopped every timer still armed, the gateway's among them, when its loop
	// ended.
	return errors.Join(failed, g.dp.Close())
}

// setUnhealthy records why the gateway cannot work any more (status, metrics, log).
func (g *Gateway) setUnhealthy(err error) {
	msg := err.Error()
	g.problem.Store(&msg)
	g.metrics.dataplaneHealthy.Set(0)
	g.log.Error("gateway unhealthy: shutting down", "err", err)
}

// callIfRunning runs f on the engine loop and waits for it, unless Run has stopped the loop
// (then f does not run and it returns false).
func (g *Gateway) callIfRunning(f func()) bool { return g.engine.Call(f) == nil }

// Problem reports why the gateway is unhealthy, or "" if it is healthy.
func (g *Gateway) Problem() string {
	if p := g.problem.Load(); p != nil {
		return *p
	}
	return ""
}

// shutdown stops the gateway's timers, deletes every IKE SA with a Delete notify, sent once
// (the engine stops retransmitting), waiting for the answers up to one retransmission timeout
// and at most 1.5 s, then removes the tunnels (policies, routes).
func (g *Gateway) shutdown() {
	done := make(chan struct{})
	g.engine.Call(func() {
		g.closing = map[*ike.IKESA]bool{}
		g.closed = done
		for _, ts := range g.tstate {
			ts.manualDown = true
		}
		g.timers.StopAll()
		g.engine.Quiesce() // each Delete goes out once: one retransmission timeout, not 1.5 s
		// The whole set first: an IKEv1 Delete completes at once, and its IKEDown may find the
		// set empty (and close it) while later SAs are still to be deleted.
		var established []*ike.IKESA
		for _, sa := range g.engine.IKESAs() {
			if sa.State == ike.IKEEstablished {
				g.closing[sa] = true
				established = append(established, sa)
			}
		}
		for _, sa := range established {
			g.engine.DeleteIKE(sa, true)
		}
		g.closedIfDone()
	})
	select {
	case <-done:
	case <-time.After(1500 * time.Millisecond):
	}
	g.engine.Call(func() {
		names := make([]string, 0, len(g.engine.Tunnels()))
		for name := range g.engine.Tunnels() {
			names = append(names, name)
		}
		g.engine.RemoveTunnels(names, false)
		g.timers.StopAll() // any armed while the Deletes were answered
	})
}

// closedIfDone signals shutdown once no IKE SA Delete is in flight any more (loop only).
func (g *Gateway) closedIfDone() {
	if g.closed != nil && len(g.closing) == 0 {
		close(g.closed)
		g.closed, g.closing = nil, nil
	}
}

// scheduleReconnect re-initiates a tunnel after a failure, with exponential back-off from
// 0 up to 30 s (loop only).
func (g *Gateway) scheduleReconnect(t *ike.Tunnel) {
	ts := g.state(t.Cfg.Name)
	if ts == nil || ts.manualDown || t.Cfg.StartAction != ike.StartStart || g.ctx == nil || g.ctx.Err() != nil || g.engine.Tunnel(t.Cfg.Name) != t {
		return
	}
	ts.retryTimer.Stop()
	d := ts.backoff
	ts.backoff = min(max(2*ts.backoff, 250*time.Millisecond), 30*time.Second)
	name := t.Cfg.Name
	ts.retryTimer = g.timers.After(d, func() { g.initiate(name, "reconnect") })
}

// TunnelUp initiates a tunnel.
func (g *Gateway) tunnelUp(name string) error {
	var err error
	g.engine.Call(func() {
		t := g.engine.Tunnel(name)
		if t == nil {
			err = notFound("tunnel %q", name)
			return
		}
		g.tstate[name].manualDown = false
		if t.IKE != nil && t.Child == nil && t.IKE.State == ike.IKEEstablished {
			g.engine.CreateChild(t, nil)
			return
		}
		g.initiate(name, "manual")
	})
	return err
}

// tunnelDown deletes a tunnel's SAs (with Delete notifies) and keeps it down.
func (g *Gateway) tunnelDown(name string) error {
	var err error
	g.engine.Call(func() {
		t := g.engine.Tunnel(name)
		if t == nil {
			err = notFound("tunnel %q", name)
			return
		}
		ts := g.state(name)
		ts.manualDown = true
		ts.retryTimer.Stop()
		if t.IKE != nil {
			g.engine.DeleteIKE(t.IKE, true)
		}
		g.event(name, "down", "manual", t.Cfg.Remote.Addr().String(), 0, nil, "tunnel taken down by operator", 0)
	})
	return err
}

// dhReuse is the engine's DHReuse for dh_reuse: "0s" turns reuse off.
func dhReuse(d time.Duration) time.Duration {
	if d <= 0 {
		return -1
	}
	return d
}
