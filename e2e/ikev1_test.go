package e2e

import (
	"context"
	"encoding/binary"
	"net/netip"
	"strconv"
	"testing"
	"time"

	"github.com/vigil-ipsec/vigil/api"
	v1wire "github.com/vigil-ipsec/vigil/ikev1/wire"
	"github.com/vigil-ipsec/vigil/internal/netns"
	"github.com/vigil-ipsec/vigil/internal/swan"
	"github.com/vigil-ipsec/vigil/internal/vigiltest"
)

// IKEv1 (Main Mode + Quick Mode, RFC 2409) end to end: Vigil <-> Vigil and Vigil <-> strongSwan
// (kernel-libipsec, so NAT-T is faked and everything floats to UDP 4500).

// IKEv1 phase 1 has no AEAD: the IKE proposal is AES-CBC with SHA2.
const (
	v1IKE = "aes128-sha256-ecp256"
	v1ESP = "aes128gcm16"
)

func v1Tunnel(t vigiltest.Tunnel) vigiltest.Tunnel {
	if t.IKEProposals == "" {
		t.IKEProposals = v1IKE
	}
	if t.ESPProposals == "" {
		t.ESPProposals = v1ESP
	}
	t.Extra = append(t.Extra, "version = 1")
	return t
}

// v1Vigils starts two IKEv1 Vigils; A initiates.
func v1Vigils(t *testing.T, topo *netns.Topo, mod func(a, b *vigiltest.Tunnel), global ...string) (*vigiltest.Vigil, *vigiltest.Vigil) {
	t.Helper()
	ta, tb := sideA("site"), sideB("site")
	ta.StartAction = "start"
	if mod != nil {
		mod(&ta, &tb)
	}
	ta, tb = v1Tunnel(ta), v1Tunnel(tb)
	b := vigiltest.Start(t, topo.GwB, "b", vigiltest.Conf{Global: global, Tunnels: []vigiltest.Tunnel{tb}})
	a := vigiltest.Start(t, topo.GwA, "a", vigiltest.Conf{Tunnels: []vigiltest.Tunnel{ta}})
	return a, b
}

func v1SwanConf(ike, esp string) swan.Conf {
	c := swanConf(ike, esp)
	c.Version = 1
	return c
}

// v1SwanPair starts Vigil (gwA) and strongSwan (gwB), both IKEv1; vigilInit chooses who
// initiates.
func v1SwanPair(t *testing.T, ctx context.Context, sc swan.Conf, tv vigiltest.Tunnel, vigilInit bool) (*netns.Topo, *vigiltest.Vigil, *swan.Charon) {
	t.Helper()
	topo := netns.NewSiteToSite(t, "vg1")
	if vigilInit {
		tv.StartAction = "start"
	}
	ch := swan.StartT(t, topo.GwB, sc)
	v := vigiltest.Start(t, topo.GwA, "a", vigiltest.Conf{Tunnels: []vigiltest.Tunnel{v1Tunnel(tv)}})
	if !vigilInit {
		if err := ch.Initiate("site"); err != nil {
			t.Fatal(err)
		}
	}
	bothUp(t, ctx, v, ch)
	return topo, v, ch
}

// v1XferSize bounds the transfers of this file (the 2-core test machine runs them often).
func v1XferSize(t *testing.T) int64 { return min(xferSize(t), 20<<20) }

// ikeSAs returns v's established IKE SAs of tunnel "site".
func ikeSAs(t *testing.T, ctx context.Context, v *vigiltest.Vigil) []api.IKESA {
	t.Helper()
	sas, err := v.Client.SAs(ctx, "site")
	if err != nil {
		t.Fatal(err)
	}
	return sas
}

// TestIKEv1VigilVigil: Main Mode + Quick Mode between two Vigils, ping and a TCP transfer each
// way, a Child SA deleted by each side, and the tunnel taken down.
func TestIKEv1VigilVigil(t *testing.T) {
	topo := netns.NewSiteToSite(t, "vg1")
	ctx := ctxT(t, 120*time.Second)
	a, b := v1Vigils(t, topo, func(ta, tb *vigiltest.Tunnel) {
		ta.ESPProposals, tb.ESPProposals = "aes256-sha256", "aes256-sha256"
	})
	ca, cb := pairUp(t, ctx, a, b, "site")
	sa := ikeSAs(t, ctx, a)
	if len(sa) != 1 || sa[0].Algorithms != v1IKE || !sa[0].Initiator || ca.Algorithms != "aes256-sha256" || ca.Encap != "raw" {
		t.Errorf("A: IKE %+v, child %s/%s", sa, ca.Algorithms, ca.Encap)
	}
	ping(t, ctx, topo)
	n := v1XferSize(t)
	xferTCP(t, ctx, topo, true, xferOpts{Size: n, Seed: 11})
	xferCheckCounters(t, ctx, a, "gwA", ca, n, true)
	xferCheckCounters(t, ctx, b, "gwB", cb, n, false)
	ca, cb = xferChild(t, ctx, a), xferChild(t, ctx, b)
	xferTCP(t, ctx, topo, false, xferOpts{Size: n, Seed: 12})
	xferCheckCounters(t, ctx, b, "gwB", cb, n, true)
	xferCheckCounters(t, ctx, a, "gwA", ca, n, false)

	// B deletes the Child SA (Informational Delete): A, whose tunnel starts, creates a new one.
	if _, err := b.Client.DeleteChildSA(ctx, cb.SPIIn, true); err != nil {
		t.Fatal(err)
	}
	ca2, _ := xferWaitRekeyed(t, ctx, a, b, ca)
	ping(t, ctx, topo)
	// A deletes it: with start_action start it re-creates it itself.
	if _, err := a.Client.DeleteChildSA(ctx, ca2.SPIIn, true); err != nil {
		t.Fatal(err)
	}
	xferWaitRekeyed(t, ctx, a, b, ca2)
	ping(t, ctx, topo)

	// Tunnel down on B: Delete for the ESP SAs and the ISAKMP SA; A has nothing left.
	if _, err := b.Client.TunnelDown(ctx, "site"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.WaitFor(ctx, "A's SAs gone", func(s []api.IKESA) bool {
		for _, x := range s {
			if x.State == "established" && x.SPIi == sa[0].SPIi {
				return false
			}
		}
		return true
	}); err != nil {
		t.Fatal(err)
	}
}

// TestIKEv1VigilVigilBothStart: both Vigils initiate at start; they settle on one ISAKMP SA and
// one Child SA pair.
func TestIKEv1VigilVigilBothStart(t *testing.T) {
	topo := netns.NewSiteToSite(t, "vg1")
	ctx := ctxT(t, 60*time.Second)
	a, b := v1Vigils(t, topo, func(ta, tb *vigiltest.Tunnel) { tb.StartAction = "start" })
	pairUp(t, ctx, a, b, "site")
	if _, err := a.WaitFor(ctx, "one ISAKMP SA on A", func(s []api.IKESA) bool { return len(s) == 1 }); err != nil {
		t.Fatal(err)
	}
	if _, err := b.WaitFor(ctx, "one ISAKMP SA on B", func(s []api.IKESA) bool { return len(s) == 1 }); err != nil {
		t.Fatal(err)
	}
	sa, sb := ikeSAs(t, ctx, a), ikeSAs(t, ctx, b)
	if sa[0].SPIi != sb[0].SPIi || sa[0].SPIr != sb[0].SPIr {
		t.Errorf("different ISAKMP SAs: A %s/%s, B %s/%s", sa[0].SPIi, sa[0].SPIr, sb[0].SPIi, sb[0].SPIr)
	}
	pairUp(t, ctx, a, b, "site")
	ping(t, ctx, topo)
}

// TestIKEv1StrongSwan: Vigil and strongSwan, IKEv1, each initiating: algorithms and SPIs agree,
// ping and a TCP transfer each way (counted on both sides), then a Child SA Delete from
// strongSwan and a tunnel down from Vigil.
func TestIKEv1StrongSwan(t *testing.T) {
	for _, p := range []struct{ ike, esp, swanEncr, swanDH, swanInteg string }{
		{"aes128-sha256-ecp256", "aes128gcm16", "AES_CBC", "ECP_256", ""},
		{"aes256-sha384-modp2048", "aes256-sha256", "AES_CBC", "MODP_2048", "HMAC_SHA2_256_128"},
	} {
		for _, vigilInit := range []bool{true, false} {
			role := map[bool]string{true: "vigil-initiator", false: "vigil-responder"}[vigilInit]
			t.Run(p.ike+"/"+role, func(t *testing.T) {
				ctx := ctxT(t, 120*time.Second)
				tv := sideA("site")
				tv.IKEProposals, tv.ESPProposals = p.ike, p.esp
				topo, v, ch := v1SwanPair(t, ctx, v1SwanConf(p.ike, p.esp), tv, vigilInit)
				vc, ss := bothUp(t, ctx, v, ch)
				sch := swanChild(ss)
				if ss.Version != 1 || ss.EncrAlg != p.swanEncr || ss.DHGroup != p.swanDH || sch.IntegAlg != p.swanInteg || !sch.Encap {
					t.Errorf("strongSwan sees IKEv%d %s/%s, child integ %q encap %v", ss.Version, ss.EncrAlg, ss.DHGroup, sch.IntegAlg, sch.Encap)
				}
				sas := ikeSAs(t, ctx, v)
				if sas[0].Algorithms != p.ike || vc.Algorithms != p.esp || vc.Encap != "udp" || sas[0].Initiator != vigilInit {
					t.Errorf("Vigil: IKE %s initiator %v, child %s/%s", sas[0].Algorithms, sas[0].Initiator, vc.Algorithms, vc.Encap)
				}
				if sas[0].SPIi != map[bool]string{true: ss.RemoteSPI, false: ss.LocalSPI}[vigilInit] {
					t.Errorf("cookies differ: Vigil %s/%s strongSwan local %s remote %s", sas[0].SPIi, sas[0].SPIr, ss.LocalSPI, ss.RemoteSPI)
				}
				ping(t, ctx, topo)
				n := v1XferSize(t)
				for _, aToB := range []bool{true, false} {
					vc, sc := xferChild(t, ctx, v), xferSwanChild(t, ctx, ch)
					xferTCP(t, ctx, topo, aToB, xferOpts{Size: n, Seed: 13})
					xferCheckCounters(t, ctx, v, "Vigil", vc, n, aToB)
					sc2 := xferSwanChild(t, ctx, ch)
					got := sc2.BytesIn - sc.BytesIn
					if !aToB {
						got = sc2.BytesOut - sc.BytesOut
					}
					if sc2.SPIIn != sc.SPIIn || got < uint64(n) {
						t.Errorf("strongSwan counted %d bytes (SPI %08x -> %08x) for %d", got, sc.SPIIn, sc2.SPIIn, n)
					}
				}

				// strongSwan deletes the Child SA.
				vc = xferChild(t, ctx, v)
				if err := ch.TerminateChild("site"); err != nil {
					t.Fatal(err)
				}
				if _, err := v.WaitFor(ctx, "child deleted", func(s []api.IKESA) bool {
					c, ok := vigiltest.Child(s, "site")
					return !ok || c.SPIIn != vc.SPIIn
				}); err != nil {
					t.Fatal(err)
				}
				// Vigil takes the tunnel down: strongSwan loses its ISAKMP SA.
				if _, err := v.Client.TunnelDown(ctx, "site"); err != nil {
					t.Fatal(err)
				}
				if _, err := ch.WaitFor(ctx, func(s []swan.IKESA) bool { return countLive(s) == 0 }); err != nil {
					t.Fatal(err)
				}
			})
		}
	}
}

// TestIKEv1RekeyUnderTraffic rekeys phase 2 and phase 1 in the middle of a paced TCP transfer,
// started by either side, between Vigils and against strongSwan.
func TestIKEv1RekeyUnderTraffic(t *testing.T) {
	t.Run("vigil-vigil", func(t *testing.T) {
		topo := netns.NewSiteToSite(t, "vg1")
		ctx := ctxT(t, 150*time.Second)
		a, b := v1Vigils(t, topo, nil)
		for _, byA := range []bool{true, false} {
			ca, _ := pairUp(t, ctx, a, b, "site")
			var na, nb api.ChildSA
			n := xferDuringRekey(t, ctx, topo, byA, func() {
				rk, old := a, ca
				if !byA {
					rk, old = b, xferChild(t, ctx, b)
				}
				if err := rk.Client.RekeyChildSA(ctx, old.SPIIn); err != nil {
					t.Fatal(err)
				}
				na, nb = xferWaitRekeyed(t, ctx, a, b, ca)
			})
			snd, rcv, sc, rc := a, b, na, nb
			if !byA {
				snd, rcv, sc, rc = b, a, nb, na
			}
			xferNewSACarried(t, ctx, snd, "sender", sc, n/3, true)
			xferNewSACarried(t, ctx, rcv, "receiver", rc, n/3, false)
		}
		for _, byA := range []bool{true, false} {
			ca, _ := pairUp(t, ctx, a, b, "site")
			ike0 := ikeSAs(t, ctx, a)[0]
			xferDuringRekey(t, ctx, topo, byA, func() {
				rk := a
				if !byA {
					rk = b
				}
				if err := rk.Client.RekeyIKESA(ctx, "site"); err != nil {
					t.Fatal(err)
				}
				waitNewIKE(t, ctx, a, ike0.SPIi+ike0.SPIr)
				if _, err := b.WaitFor(ctx, "B's new ISAKMP SA", func(s []api.IKESA) bool {
					return len(s) == 1 && s[0].SPIi != ike0.SPIi && len(s[0].Children) == 1
				}); err != nil {
					t.Fatal(err)
				}
			})
			ca2, _ := pairUp(t, ctx, a, b, "site")
			if ca2.SPIIn != ca.SPIIn {
				t.Errorf("the Child SA changed during the phase 1 rekey: %v -> %v", ca.SPIIn, ca2.SPIIn)
			}
		}
		ping(t, ctx, topo)
	})
	for _, bySwan := range []bool{true, false} {
		name := map[bool]string{true: "strongswan-rekeys", false: "vigil-rekeys-strongswan"}[bySwan]
		t.Run(name, func(t *testing.T) {
			ctx := ctxT(t, 150*time.Second)
			topo, v, ch := v1SwanPair(t, ctx, v1SwanConf(v1IKE, v1ESP), sideA("site"), bySwan)
			vc, _ := bothUp(t, ctx, v, ch)
			var nc api.ChildSA
			n := xferDuringRekey(t, ctx, topo, bySwan, func() {
				if bySwan {
					if err := ch.RekeyChild("site"); err != nil {
						t.Fatal(err)
					}
				} else if err := v.Client.RekeyChildSA(ctx, vc.SPIIn); err != nil {
					t.Fatal(err)
				}
				nc = waitNewChild(t, ctx, v, ch, vc)
			})
			if nc.SPIIn == vc.SPIIn || nc.SPIOut == vc.SPIOut {
				t.Errorf("SPIs unchanged: %v/%v", nc.SPIIn, nc.SPIOut)
			}
			xferNewSACarried(t, ctx, v, "Vigil", nc, n/3, bySwan)

			ike0 := ikeSAs(t, ctx, v)[0]
			xferDuringRekey(t, ctx, topo, !bySwan, func() {
				if bySwan {
					if err := ch.RekeyIKE("site"); err != nil {
						t.Fatal(err)
					}
				} else if err := v.Client.RekeyIKESA(ctx, "site"); err != nil {
					t.Fatal(err)
				}
				waitNewIKE(t, ctx, v, ike0.SPIi+ike0.SPIr)
				if _, err := ch.WaitFor(ctx, func(s []swan.IKESA) bool {
					sa, ok := swanSA(s)
					return ok && countLive(s) == 1 && sa.LocalSPI != ike0.SPIi && sa.LocalSPI != ike0.SPIr
				}); err != nil {
					t.Fatal(err)
				}
			})
			bothUp(t, ctx, v, ch)
			ping(t, ctx, topo)
		})
	}
}

// TestIKEv1RecoverSilentChildLoss: B silently drops its Child SA; A's ESP reaches B on an
// unknown SPI, B answers with a protected INVALID-SPI Informational (HASH(1)), and A deletes
// and re-creates the Child SA with a new Quick Mode.
func TestIKEv1RecoverSilentChildLoss(t *testing.T) {
	topo := netns.NewSiteToSite(t, "vg1")
	a, b := v1Vigils(t, topo, func(ta, tb *vigiltest.Tunnel) {
		ta.ChildProbe, tb.ChildProbe = "0s", "0s" // the INVALID-SPI path alone
	})
	ctx := ctxT(t, 60*time.Second)
	ca, cb := pairUp(t, ctx, a, b, "site")
	probes := startProbes(t, ctx, topo)
	seq := a.LastSeq(ctx)
	fault := time.Now()
	if _, err := b.Client.DeleteChildSA(ctx, cb.SPIIn, false); err != nil {
		t.Fatal(err)
	}
	ev, err := a.WaitEvent(ctx, seq, recovered)
	if err != nil {
		t.Fatal(err)
	}
	if err := probes.WaitFlowing(ctx); err != nil {
		t.Fatal(err)
	}
	res := probes.Result(fault)
	t.Logf("IKEv1 silent Child SA loss: recovered by %s, outage %v (events: %.1f ms), probes lost %d", ev.Cause, res.Outage, ev.OutageMS, res.Lost)
	if ev.Cause != "invalid-spi" {
		t.Errorf("recovered by %q, want invalid-spi", ev.Cause)
	}
	if res.Outage > 2*time.Second {
		t.Errorf("outage %v", res.Outage)
	}
	evs, _ := a.Client.Events(ctx, "site", seq)
	var detect *api.Event
	for i := range evs {
		if evs[i].Kind == "detect" && evs[i].Cause == "invalid-spi" {
			detect = &evs[i]
		}
	}
	if detect == nil || detect.Protected == nil || !*detect.Protected || detect.SPI != ca.SPIOut {
		t.Errorf("no protected INVALID-SPI detection for our outbound SPI %v: %+v", ca.SPIOut, evs)
	}
	ca2, _ := pairUp(t, ctx, a, b, "site")
	if ca2.SPIOut == ca.SPIOut {
		t.Errorf("A still uses the dead SPI")
	}
	ping(t, ctx, topo)
}

// TestIKEv1ForgedUnprotectedInvalidSPI: 10,000 unencrypted INVALID-SPI notifications naming the
// real outbound SPI (half with the ISAKMP SA's cookies in the header) delete nothing and do
// not interrupt traffic: without HASH(1) they are hints only.
func TestIKEv1ForgedUnprotectedInvalidSPI(t *testing.T) {
	topo := netns.NewSiteToSite(t, "vg1")
	a, b := v1Vigils(t, topo, nil)
	ctx := ctxT(t, 60*time.Second)
	ca, _ := pairUp(t, ctx, a, b, "site")
	ike := ikeSAs(t, ctx, a)[0]
	ckyI, _ := strconv.ParseUint(ike.SPIi, 16, 64)
	ckyR, _ := strconv.ParseUint(ike.SPIr, 16, 64)
	probes := startProbes(t, ctx, topo)
	seq := a.LastSeq(ctx)
	start := time.Now()
	c := udpFrom(t, topo.GwB, netip.AddrPortFrom(netns.GwBWAN, 5000), netip.AddrPortFrom(netns.GwAWAN, 500))
	var spi [4]byte
	binary.BigEndian.PutUint32(spi[:], uint32(ca.SPIOut))
	for i := 0; i < 10000; i++ {
		h := v1wire.Header{CookieI: uint64(i) + 1, Exchange: v1wire.ExchangeInformational, MessageID: uint32(i)}
		if i%2 == 0 {
			h.CookieI, h.CookieR = ckyI, ckyR
		}
		n := &v1wire.Notification{DOI: v1wire.DOIIPsec, Protocol: v1wire.ProtoESP, SPI: spi[:], Type: v1wire.NotifyInvalidSPI}
		c.Write((&v1wire.Message{Header: h, Payloads: []v1wire.Payload{n}}).Append(nil))
	}
	if err := probes.WaitFlowing(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := a.WaitEvent(ctx, seq, func(ev api.Event) bool { return ev.Kind == "detect" && ev.Protected != nil && !*ev.Protected }); err != nil {
		t.Fatal("no unprotected hint was logged:", err)
	}
	ctx2, cancel := context.WithTimeout(ctx, 2*time.Second)
	<-ctx2.Done()
	cancel()
	res := probes.Result(start)
	evs, _ := a.Client.Events(ctx, "site", seq)
	hints, rekeys := 0, 0
	for _, ev := range evs {
		switch {
		case ev.Kind == "action" || ev.Kind == "recovered" || ev.Kind == "down" || (ev.Kind == "delete" && ev.Cause != ""):
			t.Errorf("forged notification changed state: %+v", ev)
		case ev.Kind == "detect" && ev.Protected != nil && !*ev.Protected:
			hints++
		case ev.Kind == "rekey":
			rekeys++ // IKEv1: a hint only starts a DPD check, no Quick Mode
		}
	}
	sas := ikeSAs(t, ctx, a)
	pairUp(t, ctx, a, b, "site")
	if len(sas) != 1 || sas[0].SPIi != ike.SPIi {
		t.Errorf("ISAKMP SA changed: %+v", sas)
	}
	if res.Outage > 250*time.Millisecond {
		t.Errorf("traffic interrupted for %v", res.Outage)
	}
	if limit := int(time.Since(start).Seconds()) + 2; hints > limit || rekeys > 0 {
		t.Errorf("%d liveness checks and %d probe rekeys started by hints in %v", hints, rekeys, time.Since(start))
	}
	t.Logf("10000 forged IKEv1 notifications: %d hints acted on (%d probe rekeys), max probe gap %v, probes lost %d", hints, rekeys, res.Outage, res.Lost)
}

// dropSwanV1Deletes drops strongSwan's outgoing IKEv1 Informationals of the size of a one-SPI
// ESP Delete (HASH(1) of SHA2-256 + Delete = 52 bytes, padded to 64; 28 + 64 bytes of ISAKMP,
// after the 4-byte non-ESP marker and the UDP header: UDP length 104). DPD messages are longer
// and pass. The exchange type sits at UDP payload byte 4+18.
func dropSwanV1Deletes(t *testing.T, ns *netns.NS) {
	t.Helper()
	ctx := ctxT(t, 10*time.Second)
	for _, args := range [][]string{
		{"nft", "add", "table", "inet", "vg1test"},
		{"nft", "add", "chain", "inet", "vg1test", "out", "{ type filter hook output priority 0; }"},
		{"nft", "add", "rule", "inet", "vg1test", "out", "udp", "dport", "4500", "udp", "length", "104", "@th,240,8", "5", "counter", "drop"},
	} {
		if out, err := ns.Run(ctx, args...); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
	}
}

// TestIKEv1StrongSwanSilentChildLoss: strongSwan's Child SA expires (hard lifetime, no rekey)
// and its Delete is dropped, so it silently stops accepting our ESP and, being strongSwan,
// sends no INVALID-SPI. Vigil's child probe (outbound without inbound for child_probe) rekeys
// the Child SA, which in IKEv1 is a new Quick Mode: strongSwan answers it with a new SA,
// Vigil switches to it and deletes the old one, and traffic flows again. IKEv1 has no
// CHILD_SA_NOT_FOUND, so this is a "rekey" event, not a "recovered" one, and the DPD path is
// not needed (strongSwan still has its ISAKMP SA and answers).
func TestIKEv1StrongSwanSilentChildLoss(t *testing.T) {
	ctx := ctxT(t, 90*time.Second)
	sc := v1SwanConf(v1IKE, v1ESP)
	sc.ExtraChildOptions = map[string]string{"rekey_time": "0", "life_time": "6s", "rand_time": "0"}
	tv := sideA("site")
	tv.ChildProbe = "1s" // the probe looks every second: detection within 1-2 s of silence
	topo, v, ch := v1SwanPair(t, ctx, sc, tv, true)
	vc, _ := bothUp(t, ctx, v, ch)
	dropSwanV1Deletes(t, topo.GwB)
	probes := startProbes(t, ctx, topo)
	seq := v.LastSeq(ctx)
	if _, err := ch.WaitFor(ctx, func(s []swan.IKESA) bool { _, ok := swanSA(s); return !ok }); err != nil {
		t.Fatal(err)
	}
	fault := time.Now()
	if _, err := v.WaitFor(ctx, "a new Child SA", func(s []api.IKESA) bool {
		c, ok := vigiltest.Child(s, "site")
		return ok && c.SPIOut != vc.SPIOut
	}); err != nil {
		t.Fatal(err)
	}
	if err := probes.WaitFlowing(ctx); err != nil {
		t.Fatal(err)
	}
	res := probes.Result(fault)
	evs, _ := v.Client.Events(ctx, "site", seq)
	var detect, rekey, dpd bool
	for _, ev := range evs {
		detect = detect || ev.Kind == "detect" && ev.Cause == "child-probe"
		rekey = rekey || ev.Kind == "rekey"
		dpd = dpd || ev.Cause == "dpd"
	}
	t.Logf("strongSwan lost its IKEv1 Child SA: probe detected %v, rekeyed %v, DPD involved %v; outage %v, probes lost %d", detect, rekey, dpd, res.Outage, res.Lost)
	if !detect || !rekey || dpd {
		t.Errorf("want child-probe detection and a rekey without DPD: %+v", evs)
	}
	if res.Outage > 3*time.Second {
		t.Errorf("outage %v with a 1 s child probe, want <= 3 s", res.Outage)
	}
	vc2, _ := bothUp(t, ctx, v, ch)
	if vc2.SPIOut == vc.SPIOut {
		t.Errorf("Vigil still sends on the dead SPI")
	}
	ping(t, ctx, topo)
}

// TestIKEv1StrongSwanDPD: strongSwan checks liveness with RFC 3706 R-U-THERE (dpd_delay 1 s,
// dpd_timeout 4 s) on an idle tunnel; Vigil's R-U-THERE-ACKs keep the ISAKMP SA alive.
func TestIKEv1StrongSwanDPD(t *testing.T) {
	ctx := ctxT(t, 60*time.Second)
	sc := v1SwanConf(v1IKE, v1ESP)
	sc.DPDDelay = time.Second
	sc.ExtraConnOptions = map[string]string{"dpd_timeout": "4s"}
	topo, v, ch := v1SwanPair(t, ctx, sc, sideA("site"), true)
	ike0 := ikeSAs(t, ctx, v)[0]
	wait, cancel := context.WithTimeout(ctx, 7*time.Second)
	<-wait.Done()
	cancel()
	if _, err := ch.WaitFor(ctx, func(s []swan.IKESA) bool { _, ok := swanSA(s); return ok && countLive(s) == 1 }); err != nil {
		t.Fatal(err)
	}
	if sas := ikeSAs(t, ctx, v); len(sas) != 1 || sas[0].SPIi != ike0.SPIi {
		t.Fatalf("ISAKMP SA replaced: %+v", sas)
	}
	log := ch.Log()
	if !contains(log, "N(DPD)") || !contains(log, "N(DPD_ACK)") {
		t.Errorf("no R-U-THERE / R-U-THERE-ACK in strongSwan's log")
	}
	ping(t, ctx, topo)
}

// TestIKEv1StrongSwanRestart: strongSwan is killed (all state lost) and restarted. It says
// nothing about our ESP (and drops our Quick Mode for an ISAKMP SA it does not know), so Vigil's
// probe goes unanswered within dpd_timeout, the ISAKMP SA is declared dead and a new Main Mode
// with INITIAL-CONTACT restores the tunnel.
func TestIKEv1StrongSwanRestart(t *testing.T) {
	ctx := ctxT(t, 90*time.Second)
	sc := v1SwanConf(v1IKE, v1ESP)
	tv := sideA("site")
	tv.ChildProbe, tv.DPDTimeout = "1s", "3s"
	topo, v, ch := v1SwanPair(t, ctx, sc, tv, true)
	probes := startProbes(t, ctx, topo)
	seq := v.LastSeq(ctx)
	fault := time.Now()
	if err := ch.Kill9(); err != nil {
		t.Fatal(err)
	}
	ch2 := swan.StartT(t, topo.GwB, sc)
	ev, err := v.WaitEvent(ctx, seq, recovered)
	if err != nil {
		t.Fatal(err)
	}
	if err := probes.WaitFlowing(ctx); err != nil {
		t.Fatal(err)
	}
	res := probes.Result(fault)
	t.Logf("strongSwan (IKEv1) restarted: recovered by %s, outage %v", ev.Cause, res.Outage)
	// The outage starts with the probe ("child-probe"); its Quick Mode times out and takes the
	// ISAKMP SA with it, as an unanswered liveness check would ("dpd").
	if ev.Cause != "child-probe" && ev.Cause != "dpd" {
		t.Errorf("recovered by %q, want child-probe or dpd", ev.Cause)
	}
	if res.Outage > 8*time.Second {
		t.Errorf("outage %v with child_probe 1s and dpd_timeout 3s", res.Outage)
	}
	bothUp(t, ctx, v, ch2)
}

// TestIKEv1StrongSwanWrongPSK: with different PSKs, Vigil as responder cannot decrypt or verify
// Main Mode message 5, logs AUTHENTICATION-FAILED and refuses; as initiator it hears nothing
// back for message 5 (strongSwan cannot read it either) and gives the SA up within dpd_timeout.
func TestIKEv1StrongSwanWrongPSK(t *testing.T) {
	topo := netns.NewSiteToSite(t, "vg1")
	ctx := ctxT(t, 60*time.Second)
	sc := v1SwanConf(v1IKE, v1ESP)
	sc.PSK = "strongswan-has-another-key-1234"
	ch := swan.StartT(t, topo.GwB, sc)
	tv := v1Tunnel(sideA("site"))
	tv.DPDTimeout = "3s"
	v := vigiltest.Start(t, topo.GwA, "a", vigiltest.Conf{Tunnels: []vigiltest.Tunnel{tv}})
	go ch.Initiate("site") // fails; the call returns only when strongSwan gives up
	ev, err := v.WaitEvent(ctx, 0, func(ev api.Event) bool { return ev.Kind == "failed" && ev.Cause == "auth-failed" })
	if err != nil {
		t.Fatal(err)
	}
	if !contains(v.Log(), "AUTHENTICATION-FAILED") {
		t.Errorf("Vigil did not log AUTHENTICATION-FAILED")
	}
	if _, err := v.Client.TunnelUp(ctx, "site"); err != nil {
		t.Fatal(err)
	}
	if _, err := v.WaitEvent(ctx, ev.Seq, func(ev api.Event) bool { return ev.Kind == "connect" }); err != nil {
		t.Fatal(err)
	}
	if _, err := v.WaitFor(ctx, "the failed ISAKMP SA gone", func(s []api.IKESA) bool { return len(s) == 0 }); err != nil {
		t.Fatal(err)
	}
	if !contains(v.Log(), "peer did not answer") {
		t.Errorf("no timeout logged for the unanswered message 5")
	}
	if contains(v.Log(), testPSK) || contains(v.Log(), sc.PSK) {
		t.Errorf("PSK in the log")
	}
}
