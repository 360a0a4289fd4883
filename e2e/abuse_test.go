package e2e

import (
	"context"
	"encoding/binary"
	"math/rand/v2"
	"net"
	"net/netip"
	"strconv"
	"testing"
	"time"

	"github.com/vigil-ipsec/vigil/api"
	v1wire "github.com/vigil-ipsec/vigil/ikev1/wire"
	"github.com/vigil-ipsec/vigil/ikev2/wire"
	"github.com/vigil-ipsec/vigil/internal/netns"
	"github.com/vigil-ipsec/vigil/internal/vigiltest"
)

// udpFrom opens a UDP socket inside ns bound to laddr and connected to raddr.
func udpFrom(t *testing.T, ns *netns.NS, laddr, raddr netip.AddrPort) *net.UDPConn {
	t.Helper()
	var c *net.UDPConn
	err := ns.Do(func() error {
		var err error
		c, err = net.DialUDP("udp", net.UDPAddrFromAddrPort(laddr), net.UDPAddrFromAddrPort(raddr))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// forgedInvalidSPI is the i-th of the forged unprotected INVALID_SPI notifies naming spi (the
// victim's outbound SPI): the even ones carry the real IKE SPIs (IKEv1: cookies) in the header,
// the others none (IKEv1: a made-up initiator cookie).
func (iv ikeVersion) forgedInvalidSPI(i int, spiI, spiR uint64, spi uint32) []byte {
	var s [4]byte
	binary.BigEndian.PutUint32(s[:], spi)
	if iv.num == 1 {
		h := v1wire.Header{CookieI: uint64(i) + 1, Exchange: v1wire.ExchangeInformational, MessageID: uint32(i)}
		if i%2 == 0 {
			h.CookieI, h.CookieR = spiI, spiR
		}
		n := &v1wire.Notification{DOI: v1wire.DOIIPsec, Protocol: v1wire.ProtoESP, SPI: s[:], Type: v1wire.NotifyInvalidSPI}
		return (&v1wire.Message{Header: h, Payloads: []v1wire.Payload{n}}).Append(nil)
	}
	h := wire.Header{Version: 0x20, Exchange: wire.ExchangeInformational, MessageID: uint32(i)}
	if i%2 == 0 {
		h.SPIi, h.SPIr, h.Flags = spiI, spiR, wire.FlagResponse
	}
	return (&wire.Message{Header: h, Payloads: []wire.Payload{&wire.Notify{Type: wire.NotifyInvalidSPI, Data: s[:]}}}).Append(nil)
}

// TestForgedUnprotectedInvalidSPI: 10,000 unprotected INVALID_SPI notifies that carry the real
// SPIs (half with the real IKE SPIs in the header, half with none) delete nothing, rekey
// nothing and do not interrupt traffic (RFC 7296 2.21.4; IKEv1: without HASH(1)): they are
// hints, acted on with at most a rate-limited liveness check.
func TestForgedUnprotectedInvalidSPI(t *testing.T) {
	forVersions(t, func(t *testing.T, iv ikeVersion) {
		topo := netns.NewSiteToSite(t, "vgf")
		// Only A initiates, so that the IKE SA is settled before the forgeries start.
		a, b := vigilPair(t, topo, iv, func(ta, tb *vigiltest.Tunnel) { tb.StartAction = "none" })
		ctx := ctxT(t, 60*time.Second)
		ca, _ := pairUp(t, ctx, a, b, "site")
		ike := ikeSAs(t, ctx, a)[0]
		spii, _ := strconv.ParseUint(ike.SPIi, 16, 64)
		spir, _ := strconv.ParseUint(ike.SPIr, 16, 64)
		probes := startProbes(t, ctx, topo)
		seq := a.LastSeq(ctx)
		start := time.Now()

		// The forger sits at B's address (another port: B's daemon owns 500).
		c := udpFrom(t, topo.GwB, netip.AddrPortFrom(netns.GwBWAN, 5000), netip.AddrPortFrom(netns.GwAWAN, 500))
		for i := 0; i < 10000; i++ {
			c.Write(iv.forgedInvalidSPI(i, spii, spir, uint32(ca.SPIOut)))
		}
		// Let A work through them, then check nothing was torn down.
		if err := probes.WaitFlowing(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := a.WaitEvent(ctx, seq, func(ev api.Event) bool { return ev.Kind == "detect" && ev.Protected != nil && !*ev.Protected }); err != nil {
			t.Fatal("no unprotected hint was logged:", err)
		}
		// Keep traffic going for a while after the flood.
		ctx2, cancel := context.WithTimeout(ctx, 2*time.Second)
		<-ctx2.Done()
		cancel()
		res := probes.Result(start)
		evs, _ := a.Client.Events(ctx, "site", seq)
		hints, rekeys := 0, 0
		for _, ev := range evs {
			switch {
			case ev.Kind == "action" || ev.Kind == "recovered" || ev.Kind == "down" || (ev.Kind == "delete" && ev.Cause != ""):
				t.Errorf("forged notify changed state: %+v", ev)
			case ev.Kind == "detect" && ev.Protected != nil && !*ev.Protected:
				hints++
			case ev.Kind == "rekey":
				rekeys++ // a hint starts a liveness check, never a probe rekey
			}
		}
		if sas := ikeSAs(t, ctx, a); len(sas) != 1 || sas[0].SPIi != ike.SPIi {
			t.Errorf("IKE SA changed: %+v", sas)
		}
		pairUp(t, ctx, a, b, "site")
		if res.Outage > 250*time.Millisecond {
			t.Errorf("traffic interrupted for %v from %v", res.Outage, res.GapStart.Format("15:04:05.000000"))
		}
		// Hints are rate-limited to one per second per tunnel.
		if max := int(time.Since(start).Seconds()) + 2; hints > max || rekeys > 0 {
			t.Errorf("%d liveness checks and %d probe rekeys started by hints in %v", hints, rekeys, time.Since(start))
		}
		t.Logf("10000 forged notifies: %d hints acted on (%d probe rekeys), max probe gap %v, probes lost %d", hints, rekeys, res.Outage, res.Lost)
	})
}

// TestUnknownSPIFlood: 100k ESP packets on random unknown SPIs keep INVALID_SPI sends within
// the rate limits and B's memory flat.
func TestUnknownSPIFlood(t *testing.T) {
	forVersions(t, func(t *testing.T, iv ikeVersion) {
		topo := netns.NewSiteToSite(t, "vgf")
		a, b := vigilPair(t, topo, iv, func(ta, tb *vigiltest.Tunnel) { ta.Encap, tb.Encap = "udp", "udp" })
		ctx := ctxT(t, 60*time.Second)
		pairUp(t, ctx, a, b, "site")
		rss0 := b.RSS()
		seqA := a.LastSeq(ctx)
		seqB := b.LastSeq(ctx)
		c := udpFrom(t, topo.GwA, netip.AddrPortFrom(netns.GwAWAN, 4501), netip.AddrPortFrom(netns.GwBWAN, 4500))
		start := time.Now()
		pkt := make([]byte, 120)
		for i := 0; i < 100000; i++ {
			binary.BigEndian.PutUint32(pkt[0:4], rand.Uint32()|0x100)
			binary.BigEndian.PutUint32(pkt[4:8], uint32(i+1))
			c.Write(pkt)
		}
		elapsed := time.Since(start)
		// A answers every INVALID_SPI it gets with "matches nothing": wait for the last of them
		// by checking that B is still responsive and its counts are final.
		if _, err := b.Client.Status(ctx); err != nil {
			t.Fatal(err)
		}
		ctx2, cancel := context.WithTimeout(ctx, time.Second)
		<-ctx2.Done()
		cancel()
		bevs, _ := b.Client.Events(ctx, "", seqB)
		sent := 0
		for _, ev := range bevs {
			if ev.Kind == "action" && ev.Cause == "unknown-spi" {
				sent++
			}
		}
		aevs, _ := a.Client.Events(ctx, "", seqA)
		got := 0
		for _, ev := range aevs {
			if ev.Kind == "detect" && ev.Cause == "invalid-spi" {
				got++
			}
		}
		limit := 10 + int(10*(elapsed.Seconds()+1.5))
		t.Logf("100k unknown-SPI packets in %v: B sent %d INVALID_SPI, A received %d; B RSS %d -> %d KiB", elapsed, sent, got, rss0, b.RSS())
		if sent == 0 || sent > limit {
			t.Errorf("B sent %d INVALID_SPI notifies (limit %d)", sent, limit)
		}
		if got > sent {
			t.Errorf("A saw %d notifies, B sent %d", got, sent)
		}
		if grow := b.RSS() - rss0; grow > 16*1024 {
			t.Errorf("B's memory grew by %d KiB", grow)
		}
		// The tunnel is untouched.
		pairUp(t, ctx, a, b, "site")
		ping(t, ctx, topo)
	})
}
