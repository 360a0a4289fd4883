// Package iketest runs IKE engines against each other in memory for tests: a network that
// delivers IKE messages between engines by address (and can hold or drop them), a dataplane
// that records SAs and policies instead of carrying packets, and hooks that record events.
// Tests of the core (package ike) and of each protocol (ike/v1, ike/v2) share it; gateway-level
// tests with real SAD and ESP use dataplane/memory instead.
package iketest

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/vigil-ipsec/vigil/crypto"
	"github.com/vigil-ipsec/vigil/dataplane"
	"github.com/vigil-ipsec/vigil/ike"
)

// Net connects engines by address; messages are delivered synchronously, in order.
type Net struct {
	mu      sync.Mutex
	nodes   map[netip.Addr]*DP
	ports   map[netip.AddrPort]*DP // nodes reached on one port of another node's address
	drop    func(from, to netip.AddrPort, msg []byte) bool
	held    []func()
	holding bool
}

// NewNet returns an empty network.
func NewNet() *Net { return &Net{nodes: map[netip.Addr]*DP{}} }

// Hold queues messages instead of delivering them; Hold(false) delivers the queue.
func (n *Net) Hold(on bool) {
	n.mu.Lock()
	n.holding = on
	q := n.held
	n.held = nil
	n.mu.Unlock()
	if !on {
		for _, f := range q {
			f()
		}
	}
}

// SetDrop installs a filter: messages for which drop returns true are lost (nil: none).
func (n *Net) SetDrop(drop func(from, to netip.AddrPort, msg []byte) bool) {
	n.mu.Lock()
	n.drop = drop
	n.mu.Unlock()
}

// Route makes messages to ap reach d (a second node behind another node's address).
func (n *Net) Route(ap netip.AddrPort, d *DP) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.ports == nil {
		n.ports = map[netip.AddrPort]*DP{}
	}
	n.ports[ap] = d
}

// DP is a dataplane that records what the engine installs.
type DP struct {
	net    *Net
	addr   netip.Addr
	engine *ike.Engine

	mu       sync.Mutex
	addErr   func(dataplane.SAConfig) error // if set, may refuse an AddSA
	sas      map[dpKey]dataplane.SAConfig
	policies map[string]dataplane.Policy
	moved    map[uint64]netip.AddrPort // UpdateRemote calls
	sent     int
	ka       int // NAT keepalives sent
	events   chan dataplane.Event
}

// NewDP attaches a dataplane for addr to the network; Attach gives it its engine.
func (n *Net) NewDP(addr netip.Addr) *DP {
	d := &DP{net: n, addr: addr, sas: map[dpKey]dataplane.SAConfig{}, policies: map[string]dataplane.Policy{}, events: make(chan dataplane.Event, 64)}
	n.mu.Lock()
	n.nodes[addr] = d
	n.mu.Unlock()
	return d
}

// NewDPOn attaches a dataplane reached at ap only: a second engine behind another node's
// address (another port), or an attacker's.
func (n *Net) NewDPOn(ap netip.AddrPort) *DP {
	d := &DP{net: n, addr: ap.Addr(), sas: map[dpKey]dataplane.SAConfig{}, policies: map[string]dataplane.Policy{}, events: make(chan dataplane.Event, 64)}
	n.Route(ap, d)
	return d
}

// Attach names the engine that receives the messages sent to d.
func (d *DP) Attach(e *ike.Engine) { d.engine = e }

// dpKey is how the dataplane finds an SA: inbound by SPI, outbound by Child SA id.
type dpKey struct {
	spi   uint32
	dir   dataplane.Direction
	child uint64
}

func keyOf(r dataplane.SARef) dpKey {
	if r.Dir == dataplane.Out {
		return dpKey{dir: r.Dir, child: r.Child}
	}
	return dpKey{spi: r.SPI, dir: r.Dir}
}

func (d *DP) AddSA(c dataplane.SAConfig) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.addErr != nil {
		if err := d.addErr(c); err != nil {
			return err
		}
	}
	k := keyOf(dataplane.SARef{Dir: c.Dir, SPI: c.SPI, Child: c.ChildID})
	if _, ok := d.sas[k]; ok {
		return dataplane.ErrExists // like the real dataplanes: never replace
	}
	d.sas[k] = c
	return nil
}

func (d *DP) DeleteSA(r dataplane.SARef) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.sas[keyOf(r)]; !ok {
		return dataplane.ErrNotFound
	}
	delete(d.sas, keyOf(r))
	return nil
}

func (d *DP) SAStats(dataplane.SARef) (dataplane.Stats, bool) { return dataplane.Stats{}, false }

func (d *DP) UpdateRemote(child uint64, remote netip.AddrPort) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.moved == nil {
		d.moved = map[uint64]netip.AddrPort{}
	}
	d.moved[child] = remote
	return nil
}

func (d *DP) Failed() <-chan error { return nil }

func (d *DP) SetPolicy(p dataplane.Policy) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.policies[p.Tunnel] = p
	return nil
}

func (d *DP) DeletePolicy(t string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.policies, t)
	return nil
}

// WatchSA reports every SA active: the fake dataplane keeps no counters to watch.
func (d *DP) WatchSA(dataplane.SARef, time.Time) (bool, error) { return true, nil }

func (d *DP) SetPolicies(ps []dataplane.Policy) error {
	for _, p := range ps {
		d.SetPolicy(p)
	}
	return nil
}

func (d *DP) DeletePolicies(ts []string) error {
	for _, t := range ts {
		d.DeletePolicy(t)
	}
	return nil
}

func (d *DP) SendIKE(local, remote netip.AddrPort, msg []byte) error {
	d.net.mu.Lock()
	peer := d.net.nodes[remote.Addr()]
	if p := d.net.ports[remote]; p != nil {
		peer = p
	}
	drop := d.net.drop
	if d.net.holding && peer != nil {
		m := append([]byte(nil), msg...)
		d.net.held = append(d.net.held, func() { peer.engine.HandlePacket(remote, local, m) })
		d.net.mu.Unlock()
		return nil
	}
	d.net.mu.Unlock()
	d.mu.Lock()
	d.sent++
	d.mu.Unlock()
	if peer == nil || peer.engine == nil || (drop != nil && drop(local, remote, msg)) {
		return nil
	}
	peer.engine.HandlePacket(remote, local, msg)
	return nil
}

func (d *DP) SendKeepalive(local, remote netip.AddrPort) error {
	d.mu.Lock()
	d.ka++
	d.mu.Unlock()
	return nil
}

// Keepalives is the number of NAT keepalives sent.
func (d *DP) Keepalives() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.ka
}

// Addr is the address d was attached at.
func (d *DP) Addr() netip.Addr { return d.addr }

func (d *DP) Listen(netip.Addr) error        { return nil }
func (d *DP) Events() <-chan dataplane.Event { return d.events }

// Emit hands the engine a dataplane event (ESP on an unknown SPI, an acquire, ...), as the
// real dataplanes do.
func (d *DP) Emit(ev dataplane.Event) { d.events <- ev }
func (d *DP) Close() error            { return nil }

// SA returns the installed SA with spi in direction dir.
func (d *DP) SA(spi uint32, dir dataplane.Direction) (dataplane.SAConfig, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if dir == dataplane.In {
		c, ok := d.sas[dpKey{spi: spi, dir: dir}]
		return c, ok
	}
	for _, c := range d.sas {
		if c.Dir == dir && c.SPI == spi {
			return c, true
		}
	}
	return dataplane.SAConfig{}, false
}

// Policy returns tunnel t's policy.
func (d *DP) Policy(t string) dataplane.Policy {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.policies[t]
}

// Count is the number of installed SAs.
func (d *DP) Count() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.sas)
}

// Sent is the number of IKE messages sent (held ones not counted until delivered).
func (d *DP) Sent() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.sent
}

// SetAddErr makes AddSA fail when f returns an error (nil: never).
func (d *DP) SetAddErr(f func(dataplane.SAConfig) error) {
	d.mu.Lock()
	d.addErr = f
	d.mu.Unlock()
}

// Moved returns the remote address the last UpdateRemote gave Child SA child.
func (d *DP) Moved(child uint64) (netip.AddrPort, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	ap, ok := d.moved[child]
	return ap, ok
}

// Hooks record events as strings on Ev (dropped when Ev is full).
type Hooks struct {
	ike.NopHooks
	Ev chan string
	// Before, if set, sees each event before it is recorded (on the engine's loop: set it
	// there too, with Call).
	Before func(event string)
}

// NewHooks returns hooks with room for 256 events.
func NewHooks() *Hooks { return &Hooks{Ev: make(chan string, 256)} }

func (h *Hooks) post(s string) {
	if h.Before != nil {
		h.Before(s)
	}
	select {
	case h.Ev <- s:
	default:
	}
}
func (h *Hooks) IKEUp(*ike.IKESA)          { h.post("ike-up") }
func (h *Hooks) IKEDown(*ike.IKESA, error) { h.post("ike-down") }
func (h *Hooks) ChildUp(c, old *ike.ChildSA) {
	if old != nil {
		h.post("child-rekeyed")
		return
	}
	h.post("child-up")
}
func (h *Hooks) ChildDown(*ike.ChildSA, error)              { h.post("child-down") }
func (h *Hooks) ChildFailed(*ike.Tunnel, error)             { h.post("child-failed") }
func (h *Hooks) ChildRekeyFailed(c *ike.ChildSA, err error) { h.post("rekey-failed:" + err.Error()) }
func (h *Hooks) InvalidSPI(sa *ike.IKESA, spi uint32, c *ike.ChildSA) {
	if c != nil {
		h.post(fmt.Sprintf("invalid-spi-own:%08x", spi))
	}
	h.post(fmt.Sprintf("invalid-spi:%08x", spi))
}
func (h *Hooks) UnknownSPI(ev dataplane.Event, sa *ike.IKESA, answered bool) {
	h.post(fmt.Sprintf("unknown-spi:%08x:ike=%v:answered=%v", ev.SPI, sa != nil, answered))
}
func (h *Hooks) UnprotectedNotify(r netip.AddrPort, t ike.Hint, spi uint32) {
	h.post(fmt.Sprintf("unprotected:%v:%08x", t, spi))
}

// Node is one engine with its dataplane, hooks and tunnel "t".
type Node struct {
	E     *ike.Engine
	DP    *DP
	Hooks *Hooks
	T     *ike.Tunnel
}

// PairOpts configure NewPair.
type PairOpts struct {
	IKEA, IKEB, ESPA, ESPB string
	PSKB                   string
	Cfg                    ike.Config
	Encap                  ike.EncapMode
	Version                int // 1: IKEv1 tunnels (default proposals aes128-sha256-ecp256 / aes128gcm16)
	// Protocols are passed to ike.New (IKEv1: v1.New); IKEv2 is built in.
	Protocols []func(*ike.Engine) ike.Protocol
}

// MustProps parses proposals or fails the test.
func MustProps(t testing.TB, s string, isIKE bool) []crypto.Proposal {
	t.Helper()
	p, err := crypto.ParseProposals(s, isIKE)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// NewPair builds two engines A (192.0.2.1, 10.1.0.0/16) and B (192.0.2.2, 10.2.0.0/16) with one
// tunnel "t" each, running until the test ends.
func NewPair(t testing.TB, o PairOpts) (*Node, *Node, *Net) {
	t.Helper()
	if o.IKEA == "" {
		o.IKEA = "aes128gcm16-prfsha256-x25519"
		if o.Version == 1 {
			o.IKEA = "aes128-sha256-ecp256"
		}
	}
	if o.IKEB == "" {
		o.IKEB = o.IKEA
	}
	if o.ESPA == "" {
		o.ESPA = "aes128gcm16"
	}
	if o.ESPB == "" {
		o.ESPB = o.ESPA
	}
	psk := "a-very-secret-pre-shared-key"
	if o.PSKB == "" {
		o.PSKB = psk
	}
	fn := NewNet()
	mk := func(local, remote string, lnet, rnet string, ikeProps, esp, psk string, lid, rid string) *Node {
		dp := fn.NewDP(netip.MustParseAddr(local))
		h := NewHooks()
		e := ike.New(o.Cfg, dp, h, nil, o.Protocols...)
		e.VerifyCounts() // after every event; CheckCounts reports a difference at the end
		dp.Attach(e)
		tc := &ike.TunnelConfig{
			Name: "t", Version: o.Version, Local: netip.MustParseAddrPort(local + ":500"), Remote: netip.MustParseAddrPort(remote + ":500"),
			LocalID: ike.Identity{Type: ike.IDFQDN, Data: []byte(lid)}, RemoteID: ike.Identity{Type: ike.IDFQDN, Data: []byte(rid)},
			PSK: []byte(psk), LocalTS: []netip.Prefix{netip.MustParsePrefix(lnet)}, RemoteTS: []netip.Prefix{netip.MustParsePrefix(rnet)},
			IKEProposals: MustProps(t, ikeProps, true), ESPProposals: MustProps(t, esp, false),
			IKELifetime: time.Hour, ChildLifetime: time.Hour, DPDTimeout: 10 * time.Second, ReplayWindow: 1024, Encap: o.Encap,
		}
		// Before Run: nothing else touches the engine yet.
		return &Node{E: e, DP: dp, Hooks: h, T: e.AddTunnel(tc)}
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	a := mk("192.0.2.1", "192.0.2.2", "10.1.0.0/16", "10.2.0.0/16", o.IKEA, o.ESPA, psk, "a.example", "b.example")
	b := mk("192.0.2.2", "192.0.2.1", "10.2.0.0/16", "10.1.0.0/16", o.IKEB, o.ESPB, o.PSKB, "b.example", "a.example")
	// Whatever the test did, the engines' totals must still match a recount (before the
	// engines stop: cleanups run last registered first).
	t.Cleanup(func() { CheckCounts(t, a.E); CheckCounts(t, b.E) })
	go a.E.Run(ctx)
	go b.E.Run(ctx)
	return a, b, fn
}

// CheckCounts fails the test if e's totals (Engine.Counts: tunnels, tunnels up, SAs by state)
// differ from a recount over every tunnel and SA, now or (Engine.VerifyCounts) after any
// event. e must be running or have stopped.
func CheckCounts(t testing.TB, e *ike.Engine) {
	t.Helper()
	var err error
	if e.Call(func() { err = e.CheckCounts() }) != nil {
		err = e.CheckCounts() // the loop has ended: nothing else touches the engine
	}
	if err != nil {
		t.Error(err)
	}
}

// Wait waits for event want on n, failing after a generous deadline.
func (n *Node) Wait(t testing.TB, want string) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case got := <-n.Hooks.Ev:
			if got == want {
				return
			}
		case <-deadline:
			t.Fatalf("timed out waiting for %q", want)
		}
	}
}

// Drain returns the events recorded so far.
func (n *Node) Drain() []string {
	var got []string
	for {
		select {
		case s := <-n.Hooks.Ev:
			got = append(got, s)
		default:
			return got
		}
	}
}

// Up initiates a's tunnel and waits for the Child SA on both sides; it returns b's SPIs.
func Up(t testing.TB, a, b *Node) (in, out uint32) {
	t.Helper()
	a.E.Do(func() { a.E.Initiate(a.T) })
	a.Wait(t, "child-up")
	b.Wait(t, "child-up")
	b.E.Call(func() { in, out = b.T.Child.SPIIn, b.T.Child.SPIOut })
	return in, out
}

// ChildSPIs returns n's current Child SA's SPIs (0, 0 if none).
func (n *Node) ChildSPIs() (in, out uint32) {
	n.E.Call(func() {
		if c := n.T.Child; c != nil {
			in, out = c.SPIIn, c.SPIOut
		}
	})
	return in, out
}

// CheckChildPair asserts that a's outbound SA equals b's inbound SA and vice versa, and that
// a's policy uses its Child SA; it returns a's SPIs.
func CheckChildPair(t testing.TB, a, b *Node) (uint32, uint32) {
	t.Helper()
	var ca, cb *ike.ChildSA
	a.E.Call(func() { ca = a.T.Child })
	b.E.Call(func() { cb = b.T.Child })
	if ca == nil || cb == nil {
		t.Fatalf("child missing: a=%v b=%v", ca, cb)
	}
	if ca.SPIOut != cb.SPIIn || ca.SPIIn != cb.SPIOut {
		t.Fatalf("SPIs do not pair: a in=%08x out=%08x, b in=%08x out=%08x", ca.SPIIn, ca.SPIOut, cb.SPIIn, cb.SPIOut)
	}
	aOut, ok1 := a.DP.SA(ca.SPIOut, dataplane.Out)
	bIn, ok2 := b.DP.SA(cb.SPIIn, dataplane.In)
	aIn, ok3 := a.DP.SA(ca.SPIIn, dataplane.In)
	bOut, ok4 := b.DP.SA(cb.SPIOut, dataplane.Out)
	if !ok1 || !ok2 || !ok3 || !ok4 {
		t.Fatalf("SAs not installed in dataplanes")
	}
	if !bytes.Equal(aOut.EncrKey, bIn.EncrKey) || !bytes.Equal(aIn.EncrKey, bOut.EncrKey) || !bytes.Equal(aOut.IntegKey, bIn.IntegKey) {
		t.Fatalf("keys differ between the two sides")
	}
	if bytes.Equal(aOut.EncrKey, aIn.EncrKey) {
		t.Fatalf("both directions use the same key")
	}
	if p := a.DP.Policy("t"); p.OutChild != ca.ID {
		t.Fatalf("a's policy uses child %d, want %d", p.OutChild, ca.ID)
	}
	return ca.SPIIn, ca.SPIOut
}

// Capture records the messages sent from address from (it replaces any drop filter).
func (n *Net) Capture(from netip.Addr) *[][]byte {
	var mu sync.Mutex
	var got [][]byte
	n.SetDrop(func(f, to netip.AddrPort, msg []byte) bool {
		if f.Addr() == from {
			mu.Lock()
			got = append(got, append([]byte(nil), msg...))
			mu.Unlock()
		}
		return false
	})
	return &got
}

// Stats returns n's engine counters.
func (n *Node) Stats() (s ike.Stats) {
	n.E.Call(func() { s = n.E.Stats() })
	return s
}
