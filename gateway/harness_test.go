package gateway

// The test harness shared by this package's tests: gateways built from TOML snippets, running
// on an in-memory network (dataplane/memory: real SA database and ESP, packets in process).
// Tests that measure time run it inside a testing/synctest bubble; see recovery_test.go.

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/vigil-ipsec/vigil/api"
	"github.com/vigil-ipsec/vigil/config"
	"github.com/vigil-ipsec/vigil/dataplane"
	"github.com/vigil-ipsec/vigil/dataplane/memory"
	"github.com/vigil-ipsec/vigil/ike"
)

// Test tunnels: "ab" between gateway A (192.0.2.1, initiator) and B (192.0.2.2).
const (
	addrA = "192.0.2.1"
	addrB = "192.0.2.2"
	psk   = "reload-test-psk-0123456789"
)

// tunnelTOML renders a [tunnel.NAME] table; n picks distinct subnets.
func tunnelTOML(name, local, remote string, n int, start string, extra ...string) string {
	s := fmt.Sprintf("\n[tunnel.%s]\nlocal_addr = %q\nremote_addr = %q\npsk = %q\n"+
		"local_subnets = [\"10.%d.1.0/24\"]\nremote_subnets = [\"10.%d.2.0/24\"]\nstart_action = %q\n",
		name, local, remote, psk, n, n, start)
	for _, e := range extra {
		s += e + "\n"
	}
	return s
}

// mirror swaps a tunnel's sides for the peer's configuration.
func mirrorTOML(name, local, remote string, n int) string {
	return fmt.Sprintf("\n[tunnel.%s]\nlocal_addr = %q\nremote_addr = %q\npsk = %q\n"+
		"local_subnets = [\"10.%d.2.0/24\"]\nremote_subnets = [\"10.%d.1.0/24\"]\n",
		name, local, remote, psk, n, n)
}

func parseConf(t testing.TB, src string) *config.Config {
	t.Helper()
	c, err := config.Parse("/etc/vigil/test.toml", []byte("[global]\nsocket = \"/nonexistent/vigil.sock\"\n"+src))
	if err != nil {
		t.Fatalf("config:\n%v\n%s", err, src)
	}
	return c
}

// failListen is a memory dataplane on which listening on some addresses fails.
type failListen struct {
	*memory.Dataplane
	bad map[netip.Addr]bool
}

func (f failListen) Listen(a netip.Addr) error {
	if f.bad[a] {
		return errors.New("address not available")
	}
	return f.Dataplane.Listen(a)
}

// testGateway is a running gateway on a memory network whose Reload loads *next.
type testGateway struct {
	*Gateway
	next  atomic.Pointer[config.Config]
	loads func() // called by every load, before it returns (tests may block in it)
	stop  context.CancelFunc
	done  chan struct{} // closed when Run has returned
}

func startGateway(t *testing.T, n *memory.Network, cfg *config.Config, bad ...string) *testGateway {
	t.Helper()
	tg := &testGateway{}
	tg.next.Store(cfg)
	fl := failListen{bad: map[netip.Addr]bool{}}
	for _, b := range bad {
		fl.bad[netip.MustParseAddr(b)] = true
	}
	g, err := New(cfg, Options{
		OpenDataplane: func(h dataplane.IKEHandler) (dataplane.Dataplane, error) {
			fl.Dataplane = n.Attach(nil, h)
			return fl, nil
		},
		LoadConfig: func() (*config.Config, error) {
			if tg.loads != nil {
				tg.loads()
			}
			return tg.next.Load(), nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	tg.Gateway = g
	g.engine.VerifyCounts() // after every event; checkCounts reports a difference at the end
	ctx, cancel := context.WithCancel(context.Background())
	tg.stop = cancel
	done := make(chan struct{})
	tg.done = done
	go func() { g.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	t.Cleanup(func() { checkCounts(t, g) }) // first, while the gateway runs
	return tg
}

// checkCounts fails the test if the engine's totals, which Status and the metrics report,
// differ from a recount over every tunnel and SA, now or (VerifyCounts) after any event.
func checkCounts(t testing.TB, g *Gateway) {
	t.Helper()
	var err error
	if !g.callIfRunning(func() { err = g.engine.CheckCounts() }) {
		err = g.engine.CheckCounts() // the loop has ended: nothing else touches the engine
	}
	if err != nil {
		t.Error(err)
	}
}

// childSPIs returns the SPIs of a tunnel's Child SA, waiting up to 5 s for one.
func childSPIs(t *testing.T, g *Gateway, name string) (in, out uint32) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		g.engine.Call(func() {
			if tun := g.engine.Tunnel(name); tun != nil && tun.Child != nil && tun.State() == ike.TunnelUp {
				in, out = tun.Child.SPIIn, tun.Child.SPIOut
			}
		})
		if in != 0 {
			return in, out
		}
		if time.Now().After(deadline) {
			t.Fatalf("tunnel %s: no Child SA", name)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// mem returns the memory dataplane under a test gateway.
func mem(g *testGateway) *memory.Dataplane { return g.Dataplane().(failListen).Dataplane }

// kill ends the gateway as SIGKILL would: it falls silent at once (its dataplane is cut off
// the network, so its shutdown's Delete notifies go nowhere) and stops in the background.
func (g *testGateway) kill() {
	mem(g).SetOffline(true)
	g.stop()
}

// forVersions runs f for IKEv2 and IKEv1 tunnels (v is the TOML line that selects the version).
func forVersions(t *testing.T, f func(t *testing.T, v string)) {
	for _, v := range []string{"version = 2\n", "version = 1\n"} {
		t.Run("ikev"+v[10:11], func(t *testing.T) { f(t, v) })
	}
}

// ---- Two gateways in fake time -----------------------------------------------------------------

// ikeRTT is the round-trip time of IKE messages between the gateways of a link (each way
// takes half): recovery bounds are counted in round trips, so they must not be zero. It is no
// multiple of the probe stream's tick, so that no IKE message arrives at the instant a probe
// packet leaves (the order of two things at one fake instant is up to the scheduler).
const ikeRTT = 10*time.Millisecond + 274*time.Microsecond

// tick is the interval of the probe stream (bench/recovery's is 1 ms too).
const tick = time.Millisecond

// Round trips until both ends have installed the new SAs, as the protocols count them.
//   - a Child SA: CREATE_CHILD_SA is one round trip; a Quick Mode has three messages and its
//     responder installs on the third.
//   - an IKE SA with its first Child SA: IKE_SA_INIT and IKE_AUTH; Main Mode (three round
//     trips) and a Quick Mode.
func childExchange(v int) time.Duration {
	if v == 1 {
		return 3 * ikeRTT / 2
	}
	return ikeRTT
}

func ikeSetup(v int) time.Duration {
	if v == 1 {
		return 3*ikeRTT + childExchange(1)
	}
	return 2 * ikeRTT
}

// inFakeTime runs f for IKEv2 and IKEv1 tunnels, each in its own synctest bubble: time only
// passes when every goroutine of the bubble is blocked, so timers of seconds take
// microseconds and every duration a test reads is exact.
func inFakeTime(t *testing.T, f func(t *testing.T, v int)) {
	for _, v := range []int{2, 1} {
		t.Run(fmt.Sprintf("ikev%d", v), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) { f(t, v) })
		})
	}
}

// linkConf configures a link; the zero value gives Vigil's defaults on both sides, A with
// start_action "start" and B with "none" (so that the first set-up is A's alone: two
// initiators at once would race into two IKE SAs).
type linkConf struct {
	aGlobal, bGlobal string   // [global.*] tables of A and B (e.g. noInvalidSPI)
	a, b             []string // extra lines in A's and B's tunnel "ab"
}

// link is gateway A (192.0.2.1) and gateway B (192.0.2.2) joined by tunnel "ab" (IKE version
// v, subnets 10.1.1.0/24 at A and 10.1.2.0/24 at B) on a memory network whose IKE messages
// take ikeRTT/2 each way.
type link struct {
	t    *testing.T
	v    int
	conf linkConf
	net  *memory.Network
	a, b *testGateway
	echo *echoStream
}

// startLink starts B, then A, and waits until both have the Child SA.
func startLink(t *testing.T, v int, c linkConf) *link {
	t.Helper()
	l := &link{t: t, v: v, conf: c, net: memory.NewNetwork()}
	l.net.SetIKELatency(ikeRTT / 2)
	l.b = startGateway(t, l.net, l.bConfig("none"))
	l.a = startGateway(t, l.net, parseConf(t, c.aGlobal+tunnelTOML("ab", addrA, addrB, 1, "start",
		append([]string{fmt.Sprintf("version = %d", v)}, c.a...)...)))
	l.waitChild(l.a, 0, time.Second)
	l.waitChild(l.b, 0, time.Second)
	return l
}

// bConfig is B's configuration with that start_action.
func (l *link) bConfig(start string) *config.Config {
	return parseConf(l.t, l.conf.bGlobal+mirrorTOML("ab", addrB, addrA, 1)+
		fmt.Sprintf("start_action = %q\nversion = %d\n", start, l.v)+lines(l.conf.b))
}

func lines(ls []string) string {
	s := ""
	for _, l := range ls {
		s += l + "\n"
	}
	return s
}

// abChild returns the SPIs of g's Child SA for tunnel "ab" (zero if it has none installed) and
// how many Child SAs its IKE SA has.
func abChild(g *testGateway) (in, out uint32, children int) {
	g.engine.Call(func() {
		t := g.engine.Tunnel("ab")
		if t == nil || t.IKE == nil {
			return
		}
		children = len(t.IKE.Children())
		if c := t.Child; c != nil && c.State == ike.ChildInstalled && t.State() == ike.TunnelUp {
			in, out = c.SPIIn, c.SPIOut
		}
	})
	return in, out, children
}

// waitChild waits (in fake time) up to d for g to have a Child SA whose inbound SPI is not
// notIn, and returns its SPIs.
func (l *link) waitChild(g *testGateway, notIn uint32, d time.Duration) (in, out uint32) {
	l.t.Helper()
	deadline := time.Now().Add(d)
	for {
		if in, out, _ = abChild(g); in != 0 && in != notIn {
			return in, out
		}
		if !time.Now().Before(deadline) {
			l.t.Fatalf("no new Child SA within %v", d)
		}
		time.Sleep(time.Millisecond)
	}
}

// agree checks that A and B have one Child SA each, the same pair seen from both ends (A's
// inbound SPI is B's outbound one and the other way round), and returns A's SPIs.
func (l *link) agree() (in, out uint32) {
	l.t.Helper()
	inA, outA, nA := abChild(l.a)
	inB, outB, nB := abChild(l.b)
	if inA == 0 || inA != outB || outA != inB {
		l.t.Fatalf("A and B disagree: A in %08x out %08x, B in %08x out %08x", inA, outA, inB, outB)
	}
	if nA != 1 || nB != 1 {
		l.t.Errorf("%d Child SAs at A and %d at B, want one pair", nA, nB)
	}
	return inA, outA
}

// restartB kills B (SIGKILL: silent, all state lost) and starts a new B on the same address
// at once, with the same configuration but that start_action.
func (l *link) restartB(start string) {
	l.b.kill()
	l.b = startGateway(l.t, l.net, l.bConfig(start))
	if l.echo != nil {
		l.echo.from(mem(l.b))
	}
}

// ---- The probe stream ----------------------------------------------------------------------------

// echoStream is bench/recovery's probe stream in miniature: every tick A sends a UDP packet
// from its subnet to B's through the tunnel, B echoes every packet it decrypts, and the times
// the echoes arrive back at A are recorded. A recovery is over when echoes arrive again.
type echoStream struct {
	stop    chan struct{}
	mu      chan struct{} // a lock that synctest sees blocking on (a channel of one token)
	arrived []time.Time
	notify  chan struct{} // closed and replaced at every arrival
}

// startEcho starts the stream with one packet per tick.
func (l *link) startEcho(tick time.Duration) *echoStream {
	s := &echoStream{stop: make(chan struct{}), mu: make(chan struct{}, 1), notify: make(chan struct{})}
	s.mu <- struct{}{}
	l.echo = s
	l.t.Cleanup(func() { close(s.stop) })
	req, _ := memory.BuildUDP(netip.MustParseAddrPort("10.1.1.5:4000"), netip.MustParseAddrPort("10.1.2.5:7"), []byte("probe"))
	a := mem(l.a)
	go func() {
		tk := time.NewTicker(tick)
		defer tk.Stop()
		for {
			select {
			case <-tk.C:
				a.Inject(req) // losses are what the stream measures
			case <-s.stop:
				return
			}
		}
	}()
	go func() {
		for {
			select {
			case <-a.Received():
				<-s.mu
				s.arrived = append(s.arrived, time.Now())
				close(s.notify)
				s.notify = make(chan struct{})
				s.mu <- struct{}{}
			case <-s.stop:
				return
			}
		}
	}()
	s.from(mem(l.b))
	return s
}

// from makes the stream's echoes come from dp (B, or B after a restart).
func (s *echoStream) from(dp *memory.Dataplane) {
	reply, _ := memory.BuildUDP(netip.MustParseAddrPort("10.1.2.5:7"), netip.MustParseAddrPort("10.1.1.5:4000"), []byte("echo"))
	go func() {
		for {
			select {
			case <-dp.Received():
				dp.Inject(reply)
			case <-s.stop:
				return
			}
		}
	}()
}

// flowsAfter waits up to limit for the first echo arriving after t0 and returns how long
// after t0 it arrived; ok is false if none did.
func (s *echoStream) flowsAfter(t0 time.Time, limit time.Duration) (d time.Duration, ok bool) {
	timeout := time.NewTimer(time.Until(t0.Add(limit)))
	defer timeout.Stop()
	for {
		<-s.mu
		for _, at := range s.arrived {
			if at.After(t0) {
				s.mu <- struct{}{}
				return at.Sub(t0), true
			}
		}
		next := s.notify
		s.mu <- struct{}{}
		select {
		case <-next:
		case <-timeout.C:
			return 0, false
		}
	}
}

// recovered waits up to limit for traffic to flow again after the fault at t0 and returns
// the outage: from the fault to the first echo after it.
func (l *link) recovered(t0 time.Time, limit time.Duration) time.Duration {
	l.t.Helper()
	d, ok := l.echo.flowsAfter(t0, limit)
	if !ok {
		l.t.Fatalf("no traffic within %v of the fault; A's events:\n%s\nB's events:\n%s", limit, eventList(l.a), eventList(l.b))
	}
	return d
}

// ---- Events and metrics --------------------------------------------------------------------------

func eventList(g *testGateway) string {
	s := ""
	for _, ev := range g.Events("", 0) {
		s += fmt.Sprintf("  %s %s/%s %s\n", ev.Time.Format("05.000000"), ev.Kind, ev.Cause, ev.Message)
	}
	return s
}

// event returns g's first event of tunnel "ab" with that kind and cause after seq.
func event(g *testGateway, since uint64, kind, cause string) (api.Event, bool) {
	for _, ev := range g.Events("ab", since) {
		if ev.Kind == kind && ev.Cause == cause {
			return ev, true
		}
	}
	return api.Event{}, false
}

// lastSeq is the sequence number of g's newest event.
func lastSeq(g *testGateway) uint64 {
	evs := g.Events("", 0)
	if len(evs) == 0 {
		return 0
	}
	return evs[len(evs)-1].Seq
}

// metric reads one series of g's metrics: a counter's or gauge's value, a histogram's sample
// count; labels are name, value pairs. A series never touched reads 0.
func metric(t *testing.T, g *testGateway, name string, labels ...string) float64 {
	t.Helper()
	mfs, err := g.metrics.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	series:
		for _, m := range mf.GetMetric() {
			for i := 0; i+1 < len(labels); i += 2 {
				found := false
				for _, lp := range m.GetLabel() {
					if lp.GetName() == labels[i] && lp.GetValue() == labels[i+1] {
						found = true
					}
				}
				if !found {
					continue series
				}
			}
			switch {
			case m.Counter != nil:
				return m.GetCounter().GetValue()
			case m.Gauge != nil:
				return m.GetGauge().GetValue()
			case m.Histogram != nil:
				return float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return 0
}

// ---- Before and after a fault --------------------------------------------------------------------

// steady is the link just before a fault: the Child SA pair and the newest events.
type steady struct {
	in, out    uint32 // A's SPIs (B's are the same, swapped)
	seqA, seqB uint64
	at         time.Time // when the fault happens
}

// steady starts the probe stream, lets it run for 100 ms, and returns the state at the
// instant the test injects its fault (half a tick after a probe packet).
func (l *link) steady() steady {
	l.t.Helper()
	l.startEcho(tick)
	time.Sleep(100*time.Millisecond + tick/2)
	if _, ok := l.echo.flowsAfter(time.Now().Add(-50*time.Millisecond), 0); !ok {
		l.t.Fatal("no traffic through the tunnel before the fault")
	}
	in, out := l.agree()
	return steady{in: in, out: out, seqA: lastSeq(l.a), seqB: lastSeq(l.b), at: time.Now()}
}

// replaced lets the link settle for a second (stale SAs deleted, duplicates resolved), then
// checks that A and B share one new Child SA pair (all four SPIs differ from before) and that
// it is the one carrying the probe stream, both ways, at both ends.
func (l *link) replaced(before steady) {
	l.t.Helper()
	time.Sleep(time.Second)
	in, out := l.agree()
	if in == before.in || in == before.out || out == before.in || out == before.out {
		l.t.Errorf("SPIs in %08x out %08x, before the fault in %08x out %08x: not a new pair", in, out, before.in, before.out)
	}
	for _, side := range []struct {
		name string
		g    *testGateway
		in   uint32
	}{{"A", l.a, in}, {"B", l.b, out}} {
		found := false
		for _, sa := range side.g.SAs("ab") {
			for _, c := range sa.Children {
				if uint32(c.SPIIn) != side.in {
					continue
				}
				found = true
				if c.PacketsIn == 0 || c.PacketsOut == 0 {
					l.t.Errorf("%s: the new Child SA carried %d packets in and %d out", side.name, c.PacketsIn, c.PacketsOut)
				}
			}
		}
		if !found {
			l.t.Errorf("%s: the API does not list the Child SA with inbound SPI %08x", side.name, side.in)
		}
	}
}

// within checks lo <= d <= hi.
func within(t *testing.T, what string, d, lo, hi time.Duration) {
	t.Helper()
	if d < lo || d > hi {
		t.Errorf("%s took %v, want %v to %v", what, d, lo, hi)
	}
}

// mustEvent returns g's first event of tunnel "ab" with that kind and cause after seq, and
// fails the test if there is none.
func mustEvent(t *testing.T, g *testGateway, since uint64, kind, cause string) api.Event {
	t.Helper()
	ev, ok := event(g, since, kind, cause)
	if !ok {
		t.Fatalf("no %s/%s event; events:\n%s", kind, cause, eventList(g))
	}
	return ev
}

// noEvent fails the test if g has an event of tunnel "ab" with that kind and cause after seq.
func noEvent(t *testing.T, g *testGateway, since uint64, kind, cause string) {
	t.Helper()
	if ev, ok := event(g, since, kind, cause); ok {
		t.Errorf("unexpected %s/%s event: %s", kind, cause, ev.Message)
	}
}

// wantMetric checks one metric series (see metric) against want.
func wantMetric(t *testing.T, g *testGateway, want float64, name string, labels ...string) {
	t.Helper()
	if got := metric(t, g, name, labels...); got != want {
		t.Errorf("%s%v = %v, want %v", name, labels, got, want)
	}
}
