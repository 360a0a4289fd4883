package ike

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"runtime/debug"
	"sync/atomic"
	"time"

	"github.com/vigil-ipsec/vigil/dataplane"
	"github.com/vigil-ipsec/vigil/internal/logthrottle"
)

// Config holds engine-wide settings.
type Config struct {
	IKEPort  uint16 // 500
	NATTPort uint16 // 4500

	// Retransmission of requests: the first timeout, multiplied by Base after every try, capped
	// at MaxTimeout, for at most Tries retransmissions (and never longer than the tunnel's
	// DPDTimeout in total).
	RetransmitTimeout time.Duration
	RetransmitBase    float64
	RetransmitTries   int
	RetransmitMax     time.Duration

	// CookieThreshold is the number of half-open IKE SAs from which on IKE_SA_INIT requests
	// must carry a COOKIE (RFC 7296 2.6): 0 demands one always, a negative value never.
	CookieThreshold int
	// HalfOpenTimeout removes responder IKE SAs that never completed IKE_AUTH.
	HalfOpenTimeout time.Duration
	// HalfOpenMax caps the half-open responder IKE SAs (both versions) in all, and
	// HalfOpenPerSource those from one source address; beyond either, new IKE_SA_INIT and
	// Main Mode requests are dropped (the newest go, the exchanges in progress go on).
	HalfOpenMax       int
	HalfOpenPerSource int

	// QuietOnUnknownSPI: never answer ESP on unknown SPIs with INVALID_SPI (per_peer_rate = 0).
	// UnprotectedInvalidSPIRate: unprotected INVALID_SPI notifies per second, to senders we
	// have no IKE SA with (all together); 0 never sends them.
	QuietOnUnknownSPI         bool
	UnprotectedInvalidSPIRate float64

	// DHReuse is how long one Diffie-Hellman value of ours serves every exchange that needs
	// one of its group (dhreuse.go): 0 selects DefaultDHReuse, a negative value a new value
	// for every exchange.
	DHReuse time.Duration

	// Rand is the source of randomness (SPIs, nonces, cookies, message IDs); nil selects
	// crypto/rand. Tests set it to choose SPIs.
	Rand io.Reader

	// LogThrottle limits log lines triggered by unauthenticated input (malformed messages,
	// unknown IKE SPIs, authentication failures, cookie and half-open drops) per source
	// address: log them with LogThrottle.Log(e.log, level, remote.Addr(), kind, msg, ...).
	// nil selects one with logthrottle's defaults (one line per source and kind per 10 s).
	LogThrottle *logthrottle.Throttle
}

func (c *Config) defaults() {
	if c.IKEPort == 0 {
		c.IKEPort = 500
	}
	if c.NATTPort == 0 {
		c.NATTPort = 4500
	}
	if c.RetransmitTimeout == 0 {
		c.RetransmitTimeout = 500 * time.Millisecond
	}
	if c.RetransmitBase < 1 {
		c.RetransmitBase = 1.8
	}
	if c.RetransmitTries == 0 {
		c.RetransmitTries = 5
	}
	if c.RetransmitMax == 0 {
		c.RetransmitMax = 4 * time.Second
	}
	if c.HalfOpenTimeout == 0 {
		c.HalfOpenTimeout = 30 * time.Second
	}
	if c.HalfOpenMax == 0 {
		c.HalfOpenMax = DefaultHalfOpenMax
	}
	if c.HalfOpenPerSource == 0 {
		c.HalfOpenPerSource = DefaultHalfOpenPerSource
	}
	if c.DHReuse == 0 {
		c.DHReuse = DefaultDHReuse
	}
	if c.Rand == nil {
		c.Rand = rand.Reader
	}
	if c.LogThrottle == nil {
		c.LogThrottle = logthrottle.New(0, 0)
	}
}

// Engine is the IKE engine (IKEv2 and, in the v1_*.go files, IKEv1). Its exported methods other than New, Run, Do and
// HandlePacket must be called on the loop (from Do or from a Hooks callback).
type Engine struct {
	cfg   Config
	log   *slog.Logger
	dp    dataplane.Dataplane
	hooks Hooks
	rand  io.Reader

	loop    chan func()
	stopped chan struct{} // closed when Run returns

	tunnels  map[string]*Tunnel
	peers    map[netip.Addr]*peer // by configured remote address (index.go)
	byPeerID map[peerID][]*Tunnel // by remote address and identity
	// byRemoteSubnet: the tunnels of byPeerID's lists of two or more, also by each remote
	// subnet (index.go).
	byRemoteSubnet map[peerSubnet][]*Tunnel

	ikeSAs   map[uint64]*IKESA      // by our own IKE SPI
	halfOpen map[HalfOpenKey]*IKESA // responder SAs by (peer, SPIi) for IKE_SA_INIT retransmits
	nHalf    int
	children map[uint32]*ChildSA // by inbound SPI
	outSPIs  map[outKey]*ChildSA // by (peer address, outbound SPI)
	outBySPI outIndex            // by outbound SPI alone (operator path; control.go)
	counts   counts              // totals for operators (counts.go)

	childByID map[uint64]*ChildSA // installed Child SAs by ID (the dataplane's key of outbound SAs)
	dhShares  map[uint16]*dhShare // the DH value of each group handed out now (dhreuse.go)
	timers    timerHeap           // armed timers (timers.go)
	epoch     time.Time           // origin of the timers' deadlines (clock)
	timerSeq  uint64              // timers armed so far
	wake      *time.Timer         // fires at the earliest deadline in timers

	cur            *IKESA               // the IKE SA whose message is being handled (for run's recover)
	later          []func()             // run after the current event (Later)
	quiesced       bool                 // shutting down: no retransmissions (Quiesce)
	unprotectedIn  syncLimiter          // unauthenticated messages other than set-up let into the loop (any goroutine)
	setupIn        syncLimiter          // IKE_SA_INIT / Main Mode messages let into the loop (any goroutine)
	unprotectedOut syncLimiter          // unprotected INVALID_SPI notifies sent
	unauthDropped  atomic.Uint64        // unauthenticated messages dropped by those limits
	halfBySrc      map[netip.Addr]int   // half-open responder SAs per source address
	spiReserved    map[uint32]time.Time // inbound SPIs offered in negotiations in progress
	gone           map[uint32]goneChild // inbound SPIs of Child SAs removed lately
	spiSwept       time.Time
	goneSwept      time.Time
	protos         [3]Protocol // by IKE major version
	nextID         uint64
	stats          Stats
}

type HalfOpenKey struct {
	Remote netip.AddrPort
	SPIi   uint64
}

type outKey struct {
	peer netip.Addr
	spi  uint32
}

// Stats counts protocol events.
type Stats struct {
	Malformed, UnknownSPI, Retransmits, ResponsesResent, CookiesSent uint64
	AuthFailures, InvalidSPISent, ExchangeTimeouts                   uint64
	// Rejected counts authenticated-looking requests refused for the SA's state (an
	// INFORMATIONAL on a half-open SA, a replayed Quick Mode); AddressChangesRefused requests
	// from a new address without NAT; InternalErrors messages whose handling panicked.
	Rejected, AddressChangesRefused, InternalErrors uint64
	// HalfOpenRefused counts IKE_SA_INITs dropped by the half-open caps; UnprotectedDropped
	// unauthenticated messages dropped before the loop by its rate limits.
	HalfOpenRefused, UnprotectedDropped uint64
	// NotifiesDropped counts volunteered notifies dropped from a full request queue.
	NotifiesDropped uint64
	// DHValues counts the Diffie-Hellman values made, DHReused the exchanges that were given
	// one made earlier (dhreuse.go).
	DHValues, DHReused uint64
	// DHSecrets counts shared secrets computed with a shared value, DHSecretsReused those it
	// remembered from an earlier exchange with the same peer value.
	DHSecrets, DHSecretsReused uint64
}

// New creates an engine that speaks the protocols given: ike/v1.New for IKEv1, ike/v2.New for
// IKEv2 (a message of a version without a protocol is dropped as malformed). hooks may be nil.
func New(cfg Config, dp dataplane.Dataplane, hooks Hooks, log *slog.Logger, protocols ...func(*Engine) Protocol) *Engine {
	cfg.defaults()
	if hooks == nil {
		hooks = NopHooks{}
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	e := &Engine{
		cfg: cfg, log: log, dp: dp, hooks: hooks, rand: cfg.Rand, epoch: time.Now(),
		loop:        make(chan func(), 4096),
		stopped:     make(chan struct{}),
		tunnels:     map[string]*Tunnel{},
		peers:       map[netip.Addr]*peer{},
		byPeerID:    map[peerID][]*Tunnel{},
		ikeSAs:      map[uint64]*IKESA{},
		halfOpen:    map[HalfOpenKey]*IKESA{},
		children:    map[uint32]*ChildSA{},
		outSPIs:     map[outKey]*ChildSA{},
		halfBySrc:   map[netip.Addr]int{},
		spiReserved: map[uint32]time.Time{},
		gone:        map[uint32]goneChild{},
		childByID:   map[uint64]*ChildSA{},
	}
	e.hooks = countingHooks{Hooks: hooks, e: e}
	for _, mk := range protocols {
		p := mk(e)
		e.protos[p.Version()] = p
	}
	return e
}

// Run executes the event loop until ctx ends. It owns every SA: the closures queued by Do and
// HandlePacket, and the dataplane's events, run here one at a time.
func (e *Engine) Run(ctx context.Context) {
	defer close(e.stopped)
	defer e.stopTimers()
	defer e.retireAllDH()
	var events <-chan dataplane.Event
	if e.dp != nil {
		events = e.dp.Events()
	}
	for {
		select {
		case <-ctx.Done():
			return
		case f := <-e.loop:
			e.run(f)
		case ev, ok := <-events:
			if !ok {
				events = nil
				continue
			}
			e.run(func() { e.dataplaneEvent(ev) })
		}
		if e.counts.verify {
			e.verifyCounts()
		}
	}
}

// run executes one loop function. A panic in it (a bug reachable by some input) is logged and
// counted, and the IKE SA whose message or timer caused it is torn down; every other tunnel is
// served on as before.
func (e *Engine) run(f func()) {
	defer func() {
		r := recover()
		if r == nil {
			return
		}
		sa := e.cur
		e.cur = nil
		e.stats.InternalErrors++
		e.log.Error("internal error: tearing down the SA concerned", "panic", fmt.Sprint(r), "ike", saName(sa), "tunnel", saTunnel(sa), "stack", string(debug.Stack()))
		if sa != nil {
			e.run(func() { e.RemoveIKE(sa, ErrInternal) })
		}
	}()
	f()
	e.cur = nil
	for len(e.later) > 0 {
		fs := e.later
		e.later = nil
		for _, g := range fs {
			e.run(g)
		}
	}
}

// Later runs f on the loop once the current event has been handled (loop only). Unlike Do it
// never blocks, so hooks and other loop code may use it: Do from the loop would deadlock when
// the loop's queue is full.
func (e *Engine) Later(f func()) { e.later = append(e.later, f) }

func saName(sa *IKESA) string {
	if sa == nil {
		return ""
	}
	return sa.String()
}

func saTunnel(sa *IKESA) string {
	if sa == nil {
		return ""
	}
	return sa.TunnelName()
}

// Do queues f to run on the loop goroutine. It blocks while the loop's queue is full, and
// returns ErrStopped (without running f) once Run has returned. From the loop itself use
// Later.
func (e *Engine) Do(f func()) error {
	select {
	case <-e.stopped:
		return ErrStopped
	default:
	}
	select {
	case e.loop <- f:
		return nil
	case <-e.stopped:
		return ErrStopped
	}
}

// Call runs f on the loop and waits for it; ErrStopped means the loop stopped first (f may not
// have run).
func (e *Engine) Call(f func()) error {
	done := make(chan struct{})
	if err := e.Do(func() { defer close(done); f() }); err != nil {
		return err
	}
	select {
	case <-done:
		return nil
	case <-e.stopped:
		select {
		case <-done:
			return nil
		default:
			return ErrStopped
		}
	}
}

// HandlePacket is the dataplane's IKEHandler: it may be called from any goroutine.
func (e *Engine) HandlePacket(local, remote netip.AddrPort, msg []byte) {
	// A flood of unauthenticated messages must not crowd authenticated ones out of the loop:
	// each kind has its own budget, and protected messages have none.
	switch e.Classify(msg) {
	case ClassSetup:
		if !e.setupIn.allowAt(time.Now(), unauthSetupRate) {
			e.unauthDropped.Add(1)
			return
		}
	case ClassOther:
		if !e.unprotectedIn.allowAt(time.Now(), unauthOtherRate) {
			e.unauthDropped.Add(1)
			return
		}
	}
	b := append([]byte(nil), msg...)
	select {
	case e.loop <- func() { e.handle(local, remote, b) }:
	default:
		// The loop is saturated: drop, as a busy responder must (the peer retransmits).
	}
}

// Stats returns a copy of the counters.
func (e *Engine) Stats() Stats {
	s := e.stats
	s.UnprotectedDropped = e.unauthDropped.Load()
	return s
}

// Tunnels returns all tunnels (loop only).
func (e *Engine) Tunnels() map[string]*Tunnel { return e.tunnels }

// Tunnel returns a tunnel by name (loop only).
func (e *Engine) Tunnel(name string) *Tunnel { return e.tunnels[name] }

// AddTunnel registers a tunnel configuration (loop only). It does not initiate.
func (e *Engine) AddTunnel(c *TunnelConfig) *Tunnel { return e.AddTunnels([]*TunnelConfig{c})[0] }

// AddTunnels registers tunnel configurations (loop only) with one dataplane change for all
// their policies (start-up and reload with many tunnels). It does not initiate.
func (e *Engine) AddTunnels(cs []*TunnelConfig) []*Tunnel {
	now := time.Now()
	ts := make([]*Tunnel, len(cs))
	ps := make([]dataplane.Policy, 0, len(cs))
	slab := make([]Tunnel, len(cs)) // one allocation for records that live as long as the tunnels
	if len(e.tunnels) == 0 && len(cs) > 1024 {
		// The first, large batch (start-up): size the maps once rather than grow them by
		// doubling, rehashing each time.
		e.tunnels, e.byPeerID = make(map[string]*Tunnel, len(cs)), make(map[peerID][]*Tunnel, len(cs))
	}
	for i, c := range cs {
		t := &slab[i]
		*t = Tunnel{Cfg: c, Since: now}
		ts[i] = t
		e.tunnels[c.Name] = t
		e.indexTunnel(t)
		ps = append(ps, holdPolicy(t))
		if p := e.protocol(c.Version); p != nil {
			p.CheckTunnel(c)
		}
	}
	if err := e.dp.SetPolicies(ps); err != nil {
		e.log.Warn("setting policies failed", "tunnels", len(ps), "err", err)
	}
	return ts
}

// RemoveTunnel deletes a tunnel's SAs (with Delete notifies when notify is set) and forgets it.
func (e *Engine) RemoveTunnel(name string, notify bool) { e.RemoveTunnels([]string{name}, notify) }

// RemoveTunnels does what RemoveTunnel does for each of the named tunnels (unknown names are
// skipped), with one dataplane change for all their policies.
func (e *Engine) RemoveTunnels(names []string, notify bool) {
	gone := make([]string, 0, len(names))
	for _, name := range names {
		t := e.tunnels[name]
		if t == nil {
			continue
		}
		t.removed = true
		if t.IKE != nil {
			e.DeleteIKE(t.IKE, notify)
		}
		delete(e.tunnels, name)
		e.unindexTunnel(t)
		gone = append(gone, name)
	}
	if len(gone) > 0 {
		if err := e.dp.DeletePolicies(gone); err != nil {
			e.log.Warn("deleting policies failed", "tunnels", len(gone), "err", err)
		}
	}
}

// IKESAs returns the live IKE SAs (loop only).
func (e *Engine) IKESAs() map[uint64]*IKESA { return e.ikeSAs }

// ChildByInSPI finds a Child SA by its inbound SPI (loop only).
func (e *Engine) ChildByInSPI(spi uint32) *ChildSA { return e.children[spi] }

// ChildByID finds an installed Child SA by its id (dataplane.Event.Child; loop only).
func (e *Engine) ChildByID(id uint64) *ChildSA { return e.childByID[id] }

// ChildByOutSPI finds a Child SA by the outbound SPI it uses towards peer (loop only).
func (e *Engine) ChildByOutSPI(peer netip.Addr, spi uint32) *ChildSA {
	return e.outSPIs[outKey{peer, spi}]
}

func (e *Engine) NewID() uint64 { e.nextID++; return e.nextID }

func (e *Engine) RandomSPI() uint64 {
	var b [8]byte
	for {
		io.ReadFull(e.rand, b[:])
		s := binary.BigEndian.Uint64(b[:])
		if s != 0 && e.ikeSAs[s] == nil {
			return s
		}
	}
}

// RandomChildSPI allocates an inbound SPI unique among our installed Child SAs and those
// offered in negotiations still in progress: it is reserved until the SA is installed, or for
// spiReservation at most (longer than any exchange's retransmissions).
func (e *Engine) RandomChildSPI() uint32 {
	now := time.Now()
	e.sweepReserved(now)
	var b [4]byte
	for {
		io.ReadFull(e.rand, b[:])
		s := binary.BigEndian.Uint32(b[:])
		if s < 256 || e.children[s] != nil { // 1-255 are reserved (RFC 4303 2.1)
			continue
		}
		if at, ok := e.spiReserved[s]; ok && now.Sub(at) < spiReservation {
			continue
		}
		e.spiReserved[s] = now
		return s
	}
}

const spiReservation = time.Minute

// goneChild remembers which tunnel an inbound SPI belonged to after its Child SA was removed,
// so that ESP still arriving on it (the peer did not hear, or we lost the SA) names its tunnel
// in O(1): that is the tunnel whose traffic it carries.
type goneChild struct {
	tunnel *Tunnel
	peer   netip.Addr
	at     time.Time
}

// goneMemory is how long a removed Child SA's inbound SPI is remembered.
const goneMemory = 10 * time.Minute

func (e *Engine) rememberGone(c *ChildSA) {
	now := time.Now()
	if len(e.gone) >= 1024 && now.Sub(e.goneSwept) >= 10*time.Second {
		e.goneSwept = now
		for s, g := range e.gone {
			if now.Sub(g.at) >= goneMemory {
				delete(e.gone, s)
			}
		}
	}
	e.gone[c.SPIIn] = goneChild{tunnel: c.Tunnel, peer: c.IKE.Remote.Addr(), at: now}
}

// TunnelOfGoneSPI returns the tunnel whose removed Child SA had inbound SPI spi with peer,
// if that was within the last 10 minutes and the tunnel is still configured (loop only).
func (e *Engine) TunnelOfGoneSPI(peer netip.Addr, spi uint32) *Tunnel {
	g, ok := e.gone[spi]
	if !ok || g.peer != peer || time.Since(g.at) >= goneMemory || g.tunnel.removed || e.tunnels[g.tunnel.Cfg.Name] != g.tunnel {
		return nil
	}
	return g.tunnel
}

// sweepReserved forgets expired reservations, at most every few seconds and only when there
// are many (negotiations that failed; installed SAs release theirs at once).
func (e *Engine) sweepReserved(now time.Time) {
	if len(e.spiReserved) < 1024 || now.Sub(e.spiSwept) < 10*time.Second {
		return
	}
	e.spiSwept = now
	for s, at := range e.spiReserved {
		if now.Sub(at) >= spiReservation {
			delete(e.spiReserved, s)
		}
	}
}

func (e *Engine) Nonce() []byte {
	b := make([]byte, 32)
	io.ReadFull(e.rand, b)
	return b
}

// handle passes one received IKE message to its version's protocol: the major version, in the
// high nibble of octet 17, tells ISAKMP (1) from IKEv2 (2).
func (e *Engine) handle(local, remote netip.AddrPort, msg []byte) {
	var p Protocol
	if len(msg) > 17 {
		p = e.protocol(int(msg[17] >> 4))
	}
	if p == nil {
		e.stats.Malformed++
		e.cfg.LogThrottle.Log(e.log, slog.LevelDebug, remote.Addr(), "ike-malformed", "dropping malformed IKE message", "peer", remote, "len", len(msg), "err", "too short or unknown IKE version")
		return
	}
	p.Handle(local, remote, msg)
}

// Defaults of the half-open caps.
const (
	DefaultHalfOpenMax       = 20000
	DefaultHalfOpenPerSource = 2000
)
