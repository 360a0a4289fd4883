package e2e

import (
	"context"
	"encoding/binary"
	"math/rand/v2"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vigil-ipsec/vigil/internal/netns"
	"github.com/vigil-ipsec/vigil/internal/vigiltest"
)

// espFlood sends ESP-in-UDP packets (port 4500 to 4500) with random SPIs, each from a random
// spoofed source address in netns.AtkNetB, to dst, at rate packets per second, from a raw
// socket in ns, until stop is closed. The pacing is even (no bursts), so that the flood takes
// every unknown-SPI event token of a global budget as soon as it is refilled. It returns the
// count of packets sent so far.
func espFlood(t *testing.T, ns *netns.NS, dst netip.Addr, rate int, stop <-chan struct{}) *atomic.Int64 {
	t.Helper()
	// Sources 198.18.1.0 - 198.19.255.255 (198.18.0.x holds the real link addresses).
	src := func(int64) netip.Addr {
		var b [4]byte
		binary.BigEndian.PutUint32(b[:], 0xc6120100+rand.Uint32N(0x1ff00))
		return netip.AddrFrom4(b)
	}
	return espSend(t, ns, dst, rate, src, true, stop)
}

// TestAttackUnknownSPIFloodStarvation: while 10,000 ESP packets per second on random SPIs
// arrive at B from spoofed sources, B silently loses its Child SA of the victim tunnel. A's
// next ESP packets (a datagram every 250 ms) reach B on the lost SPI; B must still raise the
// unknown-SPI event for its known peer and send INVALID_SPI, so that A recovers within 5 s.
// The flood must not use up the budget that a known peer's INVALID_SPI needs.
func TestAttackUnknownSPIFloodStarvation(t *testing.T) {
	r := newAtkRig(t, rigOpts{noProbes: true, mod: func(ta, tb *vigiltest.Tunnel) {
		ta.Encap, tb.Encap = "udp", "udp"
		ta.ChildProbe, tb.ChildProbe = "0s", "0s" // recovery by INVALID_SPI only
	}})
	if err := r.topo.Atk.AddRoute(netns.NetWAN, netns.AtkGwB); err != nil {
		t.Fatal(err)
	}
	// Sparse traffic on the victim tunnel.
	c := udpFrom(t, r.topo.HostA, netip.AddrPortFrom(netns.HostAAddr, 9998), netip.AddrPortFrom(netns.HostBAddr, 9998))
	stopTraffic := make(chan struct{})
	defer close(stopTraffic)
	go func() {
		for {
			c.Write([]byte("victim datagram"))
			select {
			case <-stopTraffic:
				return
			case <-time.After(250 * time.Millisecond):
			}
		}
	}()
	seq := r.a.LastSeq(r.ctx)
	stop := make(chan struct{})
	stopped := false
	stopFlood := func() {
		if !stopped {
			stopped = true
			close(stop)
		}
	}
	defer stopFlood()
	sent := espFlood(t, r.topo.Atk, netns.GwBWAN, 10000, stop)
	r.pause(time.Second) // the flood drains every burst allowance
	fault := time.Now()
	if _, err := r.b.Client.DeleteChildSA(r.ctx, r.cb.SPIIn, false); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(r.ctx, 5*time.Second)
	ev, err := r.a.WaitEvent(ctx, seq, recovered)
	cancel()
	elapsed := time.Since(fault)
	stopFlood()
	rate := float64(sent.Load()) / time.Since(fault.Add(-time.Second)).Seconds()
	if err != nil {
		t.Errorf("A's lost Child SA not recovered within 5 s while %.0f unknown-SPI packets/s arrived at B from spoofed sources: %v", rate, err)
	} else {
		t.Logf("recovered by %s after %v under a flood of %.0f packets/s", ev.Cause, elapsed.Round(time.Millisecond), rate)
		if ev.Cause != "invalid-spi" {
			t.Errorf("recovered by %q, want invalid-spi", ev.Cause)
		}
	}
	for _, v := range []*vigiltest.Vigil{r.a, r.b} {
		if _, err := v.Client.Status(r.ctx); err != nil {
			t.Errorf("vigild %s does not answer: %v", v.Name, err)
		}
	}
}
