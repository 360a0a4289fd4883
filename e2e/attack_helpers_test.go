package e2e

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/vigil-ipsec/vigil/api"
	"github.com/vigil-ipsec/vigil/ikev2/wire"
	"github.com/vigil-ipsec/vigil/internal/attacker"
	"github.com/vigil-ipsec/vigil/internal/netns"
	"github.com/vigil-ipsec/vigil/internal/probe"
	"github.com/vigil-ipsec/vigil/internal/vigiltest"
)

// The attack tests run a victim vigild (A, in gwA) with two tunnels: "site" to a real vigild B
// (the victim tunnel, carrying a probe stream hostA -> hostB) and "mallory" to the attacker's
// address. The attacker holds mallory's PSK: it is a legitimately configured peer that turns
// hostile. Attacks that need another peer's address run in that peer's namespace on a
// port other than 500.

const malPSK = "mallory-pre-shared-key-0123456789"

var (
	malID      = attacker.FQDN("mallory.example")
	aID        = attacker.FQDN("a.example")
	malSubnets = []string{"10.66.0.0/24", "10.66.1.0/24", "10.66.2.0/24", "10.66.3.0/24"}
)

// malTunnel is A's tunnel to the attacker.
func malTunnel() vigiltest.Tunnel {
	return vigiltest.Tunnel{
		Name: "mallory", LocalAddr: netns.AtkGwA.String(), RemoteAddr: netns.AtkAddr.String(),
		LocalID: "fqdn:a.example", RemoteID: "fqdn:mallory.example", PSK: malPSK,
		LocalTS: []string{netns.NetA.String()}, RemoteTS: malSubnets,
	}
}

type rigOpts struct {
	globalA  []string
	mod      func(ta, tb *vigiltest.Tunnel)
	extraA   []vigiltest.Tunnel
	noProbes bool
}

// atkRig is a running victim: A with its tunnels, B, the victim Child SA as first seen.
type atkRig struct {
	t      *testing.T
	topo   *netns.AttackTopo
	a, b   *vigiltest.Vigil
	ctx    context.Context
	probes *probe.Stream
	ca, cb api.ChildSA // the victim Child SA on A and on B before the attack
	start  time.Time   // when the attack started (set by newAtkRig, reset with attackStarts)
}

func newAtkRig(t *testing.T, o rigOpts) *atkRig {
	t.Helper()
	topo := netns.NewAttackTopo(t, "atk")
	ta, tb := sideA("site"), sideB("site")
	ta.StartAction, tb.StartAction = "start", "none" // A initiates: one IKE SA, settled
	if o.mod != nil {
		o.mod(&ta, &tb)
	}
	tunnels := append([]vigiltest.Tunnel{ta, malTunnel()}, o.extraA...)
	b := vigiltest.Start(t, topo.GwB, "b", vigiltest.Conf{Tunnels: []vigiltest.Tunnel{tb}})
	a := vigiltest.Start(t, topo.GwA, "a", vigiltest.Conf{Global: o.globalA, Tunnels: tunnels})
	r := &atkRig{t: t, topo: topo, a: a, b: b, ctx: ctxT(t, 120*time.Second)}
	r.ca, r.cb = pairUp(t, r.ctx, a, b, "site")
	if !o.noProbes {
		r.probes = startProbes(t, r.ctx, topo.Topo)
	}
	r.start = time.Now()
	return r
}

// attackStarts marks the start of the attack (probe outages are measured from here).
func (r *atkRig) attackStarts() { r.start = time.Now() }

// v2 opens an IKEv2 attacker in ns, from laddr to A's raddr.
func (r *atkRig) v2(ns *netns.NS, laddr, raddr netip.AddrPort) *attacker.V2 {
	r.t.Helper()
	c := udpFrom(r.t, ns, laddr, raddr)
	a, err := attacker.NewV2(attacker.UDP{Conn: c}, "", "")
	if err != nil {
		r.t.Fatal(err)
	}
	return a
}

// mallory opens the attacker at its own address (A's configured peer "mallory").
func (r *atkRig) mallory() *attacker.V2 {
	return r.v2(r.topo.Atk, netip.AddrPortFrom(netns.AtkAddr, 500), netip.AddrPortFrom(netns.AtkGwA, 500))
}

// authMallory runs IKE_SA_INIT and IKE_AUTH as mallory with an ordinary Child SA.
func (r *atkRig) authMallory(m *attacker.V2) {
	r.t.Helper()
	if err := m.Init(); err != nil {
		r.t.Fatalf("mallory IKE_SA_INIT: %v", err)
	}
	child := &attacker.ChildReq{SPI: attacker.RandomSPI(), TSi: tsOf("10.66.0.0/24"), TSr: tsOf(netns.NetA.String())}
	resp, err := m.Auth([]byte(malPSK), malID, aID, child)
	if err != nil {
		r.t.Fatalf("mallory IKE_AUTH: %v", err)
	}
	if ne := attacker.ChildRefused(resp); ne != 0 {
		r.t.Fatalf("mallory's ordinary Child SA refused: %v", ne)
	}
}

func tsOf(prefixes ...string) []wire.TrafficSelector {
	var out []wire.TrafficSelector
	for _, p := range prefixes {
		out = append(out, wire.TrafficSelectorFromPrefix(netip.MustParsePrefix(p)))
	}
	return out
}

// pause waits d (or until the test's context ends).
func (r *atkRig) pause(d time.Duration) {
	select {
	case <-time.After(d):
	case <-r.ctx.Done():
	}
}

// checkVictim asserts that A still answers, that the victim tunnel's Child SA has the SPIs it
// had before the attack, on A and on B, and that the probe stream kept flowing with no gap
// longer than maxOutage since the attack started.
func (r *atkRig) checkVictim(maxOutage time.Duration) {
	t := r.t
	t.Helper()
	ctx, cancel := context.WithTimeout(r.ctx, 5*time.Second)
	defer cancel()
	if _, err := r.a.Client.Status(ctx); err != nil {
		t.Errorf("victim vigild does not answer its API (crashed?): %v", err)
		return
	}
	sas, err := r.a.Client.SAs(ctx, "site")
	if err != nil {
		t.Errorf("listing A's SAs: %v", err)
	}
	c, ok := vigiltest.Child(sas, "site")
	if !ok || c.SPIIn != r.ca.SPIIn || c.SPIOut != r.ca.SPIOut {
		t.Errorf("victim Child SA changed on A: was in %v out %v, now %s", r.ca.SPIIn, r.ca.SPIOut, childList(sas))
	}
	sbs, _ := r.b.Client.SAs(ctx, "site")
	if cb, ok := vigiltest.Child(sbs, "site"); !ok || cb.SPIIn != r.cb.SPIIn || cb.SPIOut != r.cb.SPIOut {
		t.Errorf("victim Child SA changed on B: was in %v out %v, now %s", r.cb.SPIIn, r.cb.SPIOut, childList(sbs))
	}
	if r.probes == nil {
		return
	}
	if err := r.probes.WaitFlowing(ctx); err != nil {
		t.Errorf("victim traffic does not flow: %v", err)
	}
	res := r.probes.Result(r.start)
	t.Logf("victim probes since the attack: sent %d, lost %d, longest gap %v", res.Sent, res.Lost, res.Outage)
	if res.Outage > maxOutage {
		t.Errorf("victim traffic interrupted for %v (bound %v) from %v", res.Outage, maxOutage, res.GapStart.Format("15:04:05.000"))
	}
}

func childList(sas []api.IKESA) string {
	s := ""
	for _, sa := range sas {
		s += "[" + sa.Tunnel + " " + sa.State + " remote " + sa.Remote + ":"
		for _, c := range sa.Children {
			s += " in " + c.SPIIn.String() + " out " + c.SPIOut.String() + " " + c.State + ";"
		}
		s += "] "
	}
	if s == "" {
		return "no SAs"
	}
	return s
}
