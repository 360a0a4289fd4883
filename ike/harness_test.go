package ike

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
)

// fakeNet connects engines by address; messages are delivered asynchronously in order.
type fakeNet struct {
	mu      sync.Mutex
	nodes   map[netip.Addr]*fakeDP
	ports   map[netip.AddrPort]*fakeDP // nodes reached on one port of another node's address
	drop    func(from, to netip.AddrPort, msg []byte) bool
	held    []func()
	holding bool
}

// hold queues messages instead of delivering them; hold(false) delivers the queue.
func (n *fakeNet) hold(on bool) {
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

type fakeDP struct {
	net    *fakeNet
	addr   netip.Addr
	engine *Engine

	mu       sync.Mutex
	addErr   func(dataplane.SAConfig) error // if set, may refuse an AddSA
	sas      map[dpKey]dataplane.SAConfig
	policies map[string]dataplane.Policy
	moved    map[uint64]netip.AddrPort // UpdateRemote calls
	sent     int
}

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

func (d *fakeDP) AddSA(c dataplane.SAConfig) error {
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

func (d *fakeDP) DeleteSA(r dataplane.SARef) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.sas[keyOf(r)]; !ok {
		return dataplane.ErrNotFound
	}
	delete(d.sas, keyOf(r))
	return nil
}

func (d *fakeDP) SAStats(dataplane.SARef) (dataplane.Stats, bool) {
	return dataplane.Stats{}, false
}

func (d *fakeDP) UpdateRemote(child uint64, remote netip.AddrPort) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.moved == nil {
		d.moved = map[uint64]netip.AddrPort{}
	}
	d.moved[child] = remote
	return nil
}
func (d *fakeDP) Failed() <-chan error { return nil }

func (d *fakeDP) SetPolicy(p dataplane.Policy) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.policies[p.Tunnel] = p
	return nil
}

func (d *fakeDP) DeletePolicy(t string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.policies, t)
	return nil
}

func (d *fakeDP) SendIKE(local, remote netip.AddrPort, msg []byte) error {
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
	if peer == nil || (drop != nil && drop(local, remote, msg)) {
		return nil
	}
	peer.engine.HandlePacket(remote, local, msg)
	return nil
}

func (d *fakeDP) Listen(netip.Addr) error        { return nil }
func (d *fakeDP) Events() <-chan dataplane.Event { return nil }
func (d *fakeDP) Close() error                   { return nil }

func (d *fakeDP) sa(spi uint32, dir dataplane.Direction) (dataplane.SAConfig, bool) {
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

func (d *fakeDP) policy(t string) dataplane.Policy {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.policies[t]
}

func (d *fakeDP) count() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.sas)
}

// recHooks records events on a channel.
type recHooks struct {
	NopHooks
	ev chan string
}

func (h *recHooks) post(s string) {
	select {
	case h.ev <- s:
	default:
	}
}
func (h *recHooks) IKEUp(sa *IKESA)              { h.post("ike-up") }
func (h *recHooks) IKEDown(sa *IKESA, err error) { h.post("ike-down") }
func (h *recHooks) ChildUp(c, old *ChildSA) {
	if old != nil {
		h.post("child-rekeyed")
		return
	}
	h.post("child-up")
}
func (h *recHooks) ChildDown(c *ChildSA, err error)        { h.post("child-down") }
func (h *recHooks) ChildFailed(t *Tunnel, err error)       { h.post("child-failed") }
func (h *recHooks) ChildRekeyFailed(c *ChildSA, err error) { h.post("rekey-failed:" + err.Error()) }
func (h *recHooks) InvalidSPI(sa *IKESA, spi uint32, c *ChildSA) {
	if c != nil {
		h.post(fmt.Sprintf("invalid-spi-own:%08x", spi))
	}
	h.post(fmt.Sprintf("invalid-spi:%08x", spi))
}
func (h *recHooks) UnknownSPI(ev dataplane.Event, sa *IKESA, answered bool) {
	h.post(fmt.Sprintf("unknown-spi:%08x:ike=%v:answered=%v", ev.SPI, sa != nil, answered))
}
func (h *recHooks) UnprotectedNotify(r netip.AddrPort, t Hint, spi uint32) {
	h.post(fmt.Sprintf("unprotected:%v:%08x", t, spi))
}

type node struct {
	e     *Engine
	dp    *fakeDP
	hooks *recHooks
	t     *Tunnel
}

type pairOpts struct {
	ikeA, ikeB, espA, espB string
	pskB                   string
	cfg                    Config
	encap                  EncapMode
	version                int // 1: IKEv1 tunnels (default proposals aes128-sha256-ecp256 / aes128gcm16)
}

func mustProps(t testing.TB, s string, ike bool) []crypto.Proposal {
	t.Helper()
	p, err := crypto.ParseProposals(s, ike)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// newPair builds two engines A (192.0.2.1, 10.1.0.0/16) and B (192.0.2.2, 10.2.0.0/16) with one
// tunnel each, running until the test ends.
func newPair(t testing.TB, o pairOpts) (*node, *node, *fakeNet) {
	t.Helper()
	if o.ikeA == "" {
		o.ikeA = "aes128gcm16-prfsha256-x25519"
		if o.version == 1 {
			o.ikeA = "aes128-sha256-ecp256"
		}
	}
	if o.ikeB == "" {
		o.ikeB = o.ikeA
	}
	if o.espA == "" {
		o.espA = "aes128gcm16"
	}
	if o.espB == "" {
		o.espB = o.espA
	}
	psk := "a-very-secret-pre-shared-key"
	if o.pskB == "" {
		o.pskB = psk
	}
	fn := &fakeNet{nodes: map[netip.Addr]*fakeDP{}}
	mk := func(local, remote string, lnet, rnet string, ike, esp, psk string, lid, rid string) *node {
		dp := &fakeDP{net: fn, addr: netip.MustParseAddr(local), sas: map[dpKey]dataplane.SAConfig{}, policies: map[string]dataplane.Policy{}}
		h := &recHooks{ev: make(chan string, 256)}
		e := New(o.cfg, dp, h, nil)
		dp.engine = e
		fn.nodes[dp.addr] = dp
		tc := &TunnelConfig{
			Name: "t", Version: o.version, Local: netip.MustParseAddrPort(local + ":500"), Remote: netip.MustParseAddrPort(remote + ":500"),
			LocalID: Identity{IDFQDN, []byte(lid)}, RemoteID: Identity{IDFQDN, []byte(rid)},
			PSK: []byte(psk), LocalTS: []netip.Prefix{netip.MustParsePrefix(lnet)}, RemoteTS: []netip.Prefix{netip.MustParsePrefix(rnet)},
			IKEProposals: mustProps(t, ike, true), ESPProposals: mustProps(t, esp, false),
			IKELifetime: time.Hour, ChildLifetime: time.Hour, DPDTimeout: 10 * time.Second, ReplayWindow: 1024, Encap: o.encap,
		}
		n := &node{e: e, dp: dp, hooks: h}
		e.Call0(func() { n.t = e.AddTunnel(tc) })
		return n
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	a := mk("192.0.2.1", "192.0.2.2", "10.1.0.0/16", "10.2.0.0/16", o.ikeA, o.espA, psk, "a.example", "b.example")
	b := mk("192.0.2.2", "192.0.2.1", "10.2.0.0/16", "10.1.0.0/16", o.ikeB, o.espB, o.pskB, "b.example", "a.example")
	go a.e.Run(ctx)
	go b.e.Run(ctx)
	return a, b, fn
}

// Call0 runs f synchronously before the loop is started (tests only).
func (e *Engine) Call0(f func()) { f() }

// wait waits for an event on n, failing after a generous deadline.
func (n *node) wait(t testing.TB, want string) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case got := <-n.hooks.ev:
			if got == want {
				return
			}
		case <-deadline:
			t.Fatalf("timed out waiting for %q", want)
		}
	}
}

// checkChildPair asserts that a's outbound SA equals b's inbound SA and vice versa.
func checkChildPair(t testing.TB, a, b *node) (uint32, uint32) {
	t.Helper()
	var ca, cb *ChildSA
	a.e.Call(func() { ca = a.t.Child })
	b.e.Call(func() { cb = b.t.Child })
	if ca == nil || cb == nil {
		t.Fatalf("child missing: a=%v b=%v", ca, cb)
	}
	if ca.SPIOut != cb.SPIIn || ca.SPIIn != cb.SPIOut {
		t.Fatalf("SPIs do not pair: a in=%08x out=%08x, b in=%08x out=%08x", ca.SPIIn, ca.SPIOut, cb.SPIIn, cb.SPIOut)
	}
	aOut, ok1 := a.dp.sa(ca.SPIOut, dataplane.Out)
	bIn, ok2 := b.dp.sa(cb.SPIIn, dataplane.In)
	aIn, ok3 := a.dp.sa(ca.SPIIn, dataplane.In)
	bOut, ok4 := b.dp.sa(cb.SPIOut, dataplane.Out)
	if !ok1 || !ok2 || !ok3 || !ok4 {
		t.Fatalf("SAs not installed in dataplanes")
	}
	if !bytes.Equal(aOut.EncrKey, bIn.EncrKey) || !bytes.Equal(aIn.EncrKey, bOut.EncrKey) || !bytes.Equal(aOut.IntegKey, bIn.IntegKey) {
		t.Fatalf("keys differ between the two sides")
	}
	if bytes.Equal(aOut.EncrKey, aIn.EncrKey) {
		t.Fatalf("both directions use the same key")
	}
	if p := a.dp.policy("t"); p.OutChild != ca.ID {
		t.Fatalf("a's policy uses child %d, want %d", p.OutChild, ca.ID)
	}
	return ca.SPIIn, ca.SPIOut
}

type netipAddrPort = netip.AddrPort
