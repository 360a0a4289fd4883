package gateway

import (
	"encoding/binary"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/vigil-ipsec/vigil/api"
	"github.com/vigil-ipsec/vigil/dataplane/memory"
	"github.com/vigil-ipsec/vigil/ike"
	"github.com/vigil-ipsec/vigil/ikev2/wire"
)

// waitEvent polls the timeline of g for an event matching f, up to d.
func waitEvent(t *testing.T, g *Gateway, d time.Duration, f func(api.Event) bool) api.Event {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		for _, ev := range g.Events("", 0) {
			if f(ev) {
				return ev
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no matching event within %v", d)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func countEvents(g *Gateway, f func(api.Event) bool) int {
	n := 0
	for _, ev := range g.Events("", 0) {
		if f(ev) {
			n++
		}
	}
	return n
}

// TestHalfOpenSADoesNotTouchReconnect: a responder IKE SA that never authenticated (anyone can
// make one with a spoofed IKE_SA_INIT) going away leaves the tunnel's reconnect schedule and
// timeline alone; the tunnel's own initiation failing reschedules it (item 6).
func TestHalfOpenSADoesNotTouchReconnect(t *testing.T) {
	n := memory.NewNetwork()
	a := startGateway(t, n, parseConf(t, tunnelTOML("ab", addrA, addrB, 1, "start")))
	g := a.Gateway
	var timer *ike.Timer
	var tun *ike.Tunnel
	// Wait for the start-up initiation, then remove it without a reconnect.
	for deadline := time.Now().Add(5 * time.Second); ; {
		var up bool
		g.engine.Call(func() {
			tun = g.engine.Tunnel("ab")
			if up = tun.IKE != nil; up {
				g.tstate["ab"].manualDown = true
				g.engine.RemoveIKE(tun.IKE, ike.ErrDeleted)
			}
		})
		if up {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the tunnel did not start")
		}
		time.Sleep(time.Millisecond)
	}
	g.engine.Call(func() {}) // let what RemoveIKE queued run
	events := len(g.Events("", 0))
	g.engine.Call(func() {
		ts := g.tstate["ab"]
		ts.manualDown = false
		if tun.IKE != nil {
			t.Fatal("the tunnel initiated again")
		}
		ts.retryTimer.Stop()
		ts.retryTimer, ts.backoff = g.timers.After(time.Hour, func() {}), 8*time.Second
		timer = ts.retryTimer
		spoofed := &ike.IKESA{Version: 2, Tunnel: tun, Initiator: false, State: ike.IKEHalfOpen}
		g.IKEDown(spoofed, ike.ErrTimeout)
		g.IKEDown(spoofed, ike.ErrAuthFailed)
	})
	g.engine.Call(func() {
		ts := g.tstate["ab"]
		if ts.retryTimer != timer || ts.backoff != 8*time.Second {
			t.Errorf("a half-open responder SA changed the reconnect schedule (backoff 8s -> %v)", ts.backoff)
		}
	})
	if got := len(g.Events("", 0)) - events; got > 1 {
		t.Errorf("%d timeline entries for one spoofed SA", got)
	}
	// The tunnel's own initiation failing does reschedule it.
	g.engine.Call(func() {
		// Its initiation in flight (start_action = "start") fails; or a stand-in does.
		if tun.IKE != nil {
			g.engine.RemoveIKE(tun.IKE, ike.ErrTimeout)
			return
		}
		g.IKEDown(&ike.IKESA{Version: 2, Tunnel: tun, Initiator: true, State: ike.IKEInitSent}, ike.ErrTimeout)
	})
	g.engine.Call(func() {
		if g.tstate["ab"].retryTimer == timer {
			t.Error("the tunnel's own failed initiation did not reschedule")
		}
	})
}

// TestUnprotectedHintOnlyLiveness: an unprotected INVALID_SPI naming a live Child SA's
// outbound SPI changes nothing (no rekey, no probe) and starts at most one liveness check per
// dpd_delay per peer (item 7).
func TestUnprotectedHintOnlyLiveness(t *testing.T) {
	n := memory.NewNetwork()
	startGateway(t, n, parseConf(t, mirrorTOML("ab", addrB, addrA, 1)))
	a := startGateway(t, n, parseConf(t, tunnelTOML("ab", addrA, addrB, 1, "start", `dpd_delay = "30s"`, `child_probe = "0s"`)))
	in0, out0 := childSPIs(t, a.Gateway, "ab")
	var spi [4]byte
	binary.BigEndian.PutUint32(spi[:], out0)
	m := &wire.Message{Header: wire.Header{Version: 0x20, Exchange: wire.ExchangeInformational},
		Payloads: []wire.Payload{&wire.Notify{Type: wire.NotifyInvalidSPI, Data: spi[:]}}}
	raw := m.Append(nil)
	local, remote := netip.MustParseAddrPort(addrA+":500"), netip.MustParseAddrPort(addrB+":500")
	hint := func(ev api.Event) bool { return ev.Kind == "detect" && strings.HasPrefix(ev.Cause, "unprotected") }
	var st0 ike.Stats
	a.engine.Call(func() { st0 = a.engine.Stats() })
	for range 5 {
		a.engine.HandlePacket(local, remote, raw)
	}
	waitEvent(t, a.Gateway, 5*time.Second, hint)
	// Let the liveness check complete, then look.
	deadline := time.Now().Add(5 * time.Second)
	for {
		var pending bool
		a.engine.Call(func() { pending = a.engine.Tunnel("ab").IKE.LivenessPending() })
		if !pending || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if in, out := childSPIs(t, a.Gateway, "ab"); in != in0 || out != out0 {
		t.Errorf("unprotected hint replaced or rekeyed the Child SA: %08x/%08x -> %08x/%08x", in0, out0, in, out)
	}
	if got := countEvents(a.Gateway, hint); got != 1 {
		t.Errorf("%d liveness checks from 5 hints within dpd_delay, want 1", got)
	}
	if got := countEvents(a.Gateway, func(ev api.Event) bool { return ev.Kind == "rekey" || ev.Kind == "action" }); got != 0 {
		t.Errorf("%d rekey/action events after an unprotected hint", got)
	}
	var st ike.Stats
	a.engine.Call(func() { st = a.engine.Stats() })
	if st.ExchangeTimeouts != st0.ExchangeTimeouts {
		t.Error("the liveness check failed against a live peer")
	}
}
