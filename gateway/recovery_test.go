package gateway

// Recovery tests: every fault of bench/recovery (scenarios.go, heal.go, ikev1.go), played by
// two real gateways on an in-memory network, in fake time (testing/synctest), for IKEv2 and
// IKEv1. A 1 ms probe stream runs from A to B and back, as in the benchmark; the outage is
// the time from the fault to the first echo after it, and IKE messages take ikeRTT/2 each way,
// so every bound below is the design's: detection, then so many round trips.
//
// Where bench/recovery runs strongSwan, the peer here is a Vigil configured to act like it in
// what matters: it never sends INVALID_SPI (per_peer_rate = 0), or ignores the loss of its own
// state (heal = false), or, on A's side, has no Child SA probe or no DPD.
//
//	bench/recovery line                      test
//	silent-child-loss vigil<->vigil          TestRecoverySilentChildLossVigilPeer
//	silent-child-loss vigil<->strongswan     TestRecoverySilentChildLossQuietPeer
//	peer-restart vigil<->vigil               TestRecoveryPeerRestartVigil
//	peer-restart vigil<->strongswan          TestRecoveryPeerRestartQuietPeer
//	child-lost-here vigil<->strongswan       TestRecoveryChildLostHere
//	restart-here(-nodpd) vigil<->strongswan  TestRecoveryRestartHere
//	(the *-v1 lines)                         the ikev1 subtests
//	(README: the liveness check)             TestRecoveryDeadPeer

import (
	"testing"
	"time"

	"github.com/vigil-ipsec/vigil/api"
)

// Defaults the bounds rely on (config.DefaultTunnel and recovery.go).
const (
	defaultChildProbe = 3 * time.Second
	defaultHealDelay  = time.Second
	defaultDPDDelay   = 10 * time.Second
	defaultDPDTimeout = 10 * time.Second
)

// TestRecoverySilentChildLossVigilPeer: B drops its Child SA without telling A. A's next ESP
// reaches B on an unknown SPI, B answers with a protected INVALID_SPI, and A replaces the
// Child SA at once: the outage is at most one probe interval, half a round trip and one
// Child SA exchange. B, which knows it lost the SA, sees the peer's replacement arrive long before its
// heal_delay and creates nothing itself.
func TestRecoverySilentChildLossVigilPeer(t *testing.T) {
	inFakeTime(t, func(t *testing.T, v int) {
		l := startLink(t, v, linkConf{})
		s := l.steady()
		if _, err := l.b.DeleteChildSA(api.SPI(s.out), "", false); err != nil {
			t.Fatal(err)
		}
		outage := l.recovered(s.at, 5*time.Second)
		within(t, "recovery", outage, ikeRTT/2+childExchange(v), 2*tick+ikeRTT/2+childExchange(v))
		l.replaced(s)

		mustEvent(t, l.b, s.seqB, "action", "unknown-spi")
		detect := mustEvent(t, l.a, s.seqA, "detect", "invalid-spi")
		mustEvent(t, l.a, s.seqA, "action", "invalid-spi")
		rec := mustEvent(t, l.a, s.seqA, "recovered", "invalid-spi")
		if uint32(detect.SPI) != s.out {
			t.Errorf("A's detect names SPI %v, want its lost outbound SPI %08x", detect.SPI, s.out)
		}
		// A counts its outage from detection to its own new SAs: as the initiator of the
		// replacement (CREATE_CHILD_SA or Quick Mode) it installs them on the first answer.
		if got := time.Duration(rec.OutageMS * float64(time.Millisecond)); got != ikeRTT {
			t.Errorf("A reports an outage of %v (detection to new Child SA), want one round trip, %v", got, ikeRTT)
		}
		mustEvent(t, l.b, s.seqB, "detect", "child-lost-here")
		mustEvent(t, l.b, s.seqB, "recovered", "child-lost-here")
		noEvent(t, l.b, s.seqB, "action", "child-lost-here")

		wantMetric(t, l.b, 1, "vigil_invalid_spi_sent_total", "kind", "protected")
		wantMetric(t, l.a, 1, "vigil_invalid_spi_received_total", "protected", "true")
		wantMetric(t, l.a, 1, "vigil_recoveries_total", "cause", "invalid-spi")
		wantMetric(t, l.a, 1, "vigil_outage_seconds", "cause", "invalid-spi")
		wantMetric(t, l.b, 0, "vigil_heals_total", "cause", "child-lost-here")
	})
}

// TestRecoverySilentChildLossQuietPeer: B loses its Child SA and says nothing (like
// strongSwan: no INVALID_SPI, no repair of its own). A's Child SA probe notices that nothing
// came back for child_probe and rekeys the Child SA: in IKEv2 B answers CHILD_SA_NOT_FOUND and
// A replaces it (a second exchange); in IKEv1 the probe is a new Quick Mode, which simply
// moves traffic to a fresh pair and is reported as a rekey.
func TestRecoverySilentChildLossQuietPeer(t *testing.T) {
	inFakeTime(t, func(t *testing.T, v int) {
		l := startLink(t, v, linkConf{bGlobal: noInvalidSPI, b: []string{"heal = false"}})
		s := l.steady()
		if _, err := l.b.DeleteChildSA(api.SPI(s.out), "", false); err != nil {
			t.Fatal(err)
		}
		exchanges := 2 * childExchange(v) // probe answered with an error, then the replacement
		if v == 1 {
			exchanges = childExchange(v) // the probe's Quick Mode is the replacement
		}
		outage := l.recovered(s.at, 10*time.Second)
		within(t, "recovery", outage, defaultChildProbe, defaultChildProbe+2*tick+exchanges)
		l.replaced(s)

		detect := mustEvent(t, l.a, s.seqA, "detect", "child-probe")
		within(t, "detection", detect.Time.Sub(s.at), defaultChildProbe-tick, defaultChildProbe+tick)
		if v == 2 {
			mustEvent(t, l.a, s.seqA, "action", "child-probe")
			mustEvent(t, l.a, s.seqA, "recovered", "child-probe")
			wantMetric(t, l.a, 1, "vigil_recoveries_total", "cause", "child-probe")
			wantMetric(t, l.a, 1, "vigil_outage_seconds", "cause", "child-probe")
		} else {
			mustEvent(t, l.a, s.seqA, "rekey", "")
			wantMetric(t, l.a, 1, "vigil_rekeys_total", "kind", "child")
		}
		wantMetric(t, l.b, 0, "vigil_invalid_spi_sent_total", "kind", "protected")
		wantMetric(t, l.b, 0, "vigil_heals_total", "cause", "child-lost-here")
	})
}

// TestRecoverySilentChildLossAfterIdle: the tunnel carries nothing for ten minutes (A's probe
// stops looking at the idle Child SA and waits for the dataplane's EventActive), B silently
// loses its Child SA, then traffic starts: A probes child_probe after the first packet went
// out unanswered, and replaces the Child SA.
func TestRecoverySilentChildLossAfterIdle(t *testing.T) {
	inFakeTime(t, func(t *testing.T, v int) {
		l := startLink(t, v, linkConf{bGlobal: noInvalidSPI, b: []string{"heal = false"}})
		time.Sleep(10*time.Minute + 1500*time.Millisecond) // off the probe's old 3 s grid
		_, out := l.agree()
		seqA := lastSeq(l.a)
		if _, err := l.b.DeleteChildSA(api.SPI(out), "", false); err != nil {
			t.Fatal(err)
		}
		t0 := time.Now()
		l.startEcho(tick)
		exchanges := 2 * childExchange(v)
		if v == 1 {
			exchanges = childExchange(v)
		}
		outage := l.recovered(t0, 10*time.Second)
		within(t, "recovery", outage, defaultChildProbe, defaultChildProbe+2*tick+exchanges)
		detect := mustEvent(t, l.a, seqA, "detect", "child-probe")
		within(t, "detection", detect.Time.Sub(t0), defaultChildProbe, defaultChildProbe+2*tick)
	})
}

// TestRecoveryPeerRestartVigil: B is killed and started again with start_action "start" (the
// first B had "none", see linkConf; bench/recovery does the same for its baseline): it
// initiates at once, its IKE_AUTH (Main Mode) carries INITIAL_CONTACT, and A drops the old IKE
// SA for the new one. The outage is one IKE SA set-up (at least its exchanges before the
// Child SA part, whatever the order of the last messages).
func TestRecoveryPeerRestartVigil(t *testing.T) {
	inFakeTime(t, func(t *testing.T, v int) {
		l := startLink(t, v, linkConf{})
		s := l.steady()
		old := l.a.SAs("ab")
		l.restartB("start")
		outage := l.recovered(s.at, 5*time.Second)
		within(t, "recovery", outage, ikeSetup(v)-childExchange(v), 2*tick+ikeSetup(v))
		l.replaced(s)

		down := mustEvent(t, l.a, s.seqA, "down", "ike-down")
		if down.Time.Sub(s.at) > ikeSetup(v) {
			t.Errorf("A dropped the old IKE SA %v after the restart, want within one set-up", down.Time.Sub(s.at))
		}
		mustEvent(t, l.b, 0, "connect", "start")
		if now := l.a.SAs("ab"); len(now) != 1 || len(old) != 1 || now[0].ID == old[0].ID {
			t.Errorf("A's IKE SAs: %d after the restart, %d before, want one new one", len(now), len(old))
		}
		wantMetric(t, l.a, 2, "vigil_ike_sas_established_total")
		noSpuriousReplacement(t, l, s)
	})
}

// TestRecoveryPeerRestartQuietPeer: B is killed and started again, waits (start_action none)
// and says nothing about A's ESP (like strongSwan; here heal = false). A's Child SA probe
// finds the silence after child_probe; the peer does not answer the probe (it has no IKE SA)
// within the probe budget, so A starts a new IKE SA with INITIAL_CONTACT at once.
func TestRecoveryPeerRestartQuietPeer(t *testing.T) {
	inFakeTime(t, func(t *testing.T, v int) {
		l := startLink(t, v, linkConf{b: []string{"heal = false"}})
		s := l.steady()
		l.restartB("none")
		outage := l.recovered(s.at, 10*time.Second)
		least := defaultChildProbe + probeBudget
		within(t, "recovery", outage, least, least+2*tick+ikeSetup(v))
		l.replaced(s)

		detect := mustEvent(t, l.a, s.seqA, "detect", "child-probe")
		within(t, "detection", detect.Time.Sub(s.at), defaultChildProbe-tick, defaultChildProbe+tick)
		mustEvent(t, l.a, s.seqA, "action", "child-probe")
		mustEvent(t, l.a, s.seqA, "recovered", "child-probe")
		wantMetric(t, l.a, 1, "vigil_recoveries_total", "cause", "child-probe")
		wantMetric(t, l.b, 0, "vigil_heals_total", "cause", "restart-heal")
		noEvent(t, l.b, 0, "detect", "restart-heal")
	})
}

// TestRecoveryChildLostHere: B (Vigil, responder) drops its Child SA silently and A never acts
// on INVALID_SPI (like strongSwan; here B sends none: per_peer_rate = 0). A has neither
// probe nor DPD. B sees A's ESP on the lost SA's SPI, waits heal_delay for a replacement,
// then creates the Child SA itself and deletes A's stale pair.
func TestRecoveryChildLostHere(t *testing.T) {
	inFakeTime(t, func(t *testing.T, v int) {
		l := startLink(t, v, linkConf{bGlobal: noInvalidSPI, a: []string{`child_probe = "0s"`, `dpd_delay = "0s"`}})
		s := l.steady()
		if _, err := l.b.DeleteChildSA(api.SPI(s.out), "", false); err != nil {
			t.Fatal(err)
		}
		outage := l.recovered(s.at, 5*time.Second)
		within(t, "recovery", outage, defaultHealDelay+childExchange(v), defaultHealDelay+2*tick+childExchange(v))
		l.replaced(s) // one pair at A too: B deleted the stale one

		detect := mustEvent(t, l.b, s.seqB, "detect", "child-lost-here")
		within(t, "detection", detect.Time.Sub(s.at), 0, tick)
		if uint32(detect.SPI) != s.out {
			t.Errorf("B's detect names SPI %v, want the lost inbound SPI %08x", detect.SPI, s.out)
		}
		action := mustEvent(t, l.b, s.seqB, "action", "child-lost-here")
		within(t, "heal_delay", action.Time.Sub(detect.Time), defaultHealDelay, defaultHealDelay)
		mustEvent(t, l.b, s.seqB, "recovered", "child-lost-here")
		wantMetric(t, l.b, 1, "vigil_heals_total", "cause", "child-lost-here")
		wantMetric(t, l.b, 1, "vigil_outage_seconds", "cause", "child-lost-here")
		wantMetric(t, l.b, 0, "vigil_invalid_spi_sent_total", "kind", "protected")
		noEvent(t, l.a, s.seqA, "detect", "invalid-spi")
	})
}

// TestRecoveryRestartHere: B (Vigil, responder, start_action none) is killed and started
// again while A keeps sending, with DPD (5 s, like strongSwan's in bench/recovery) or without.
// A's first ESP reaches the new B on an SPI it does not know, from the configured peer of a
// tunnel without IKE SA: B initiates with INITIAL_CONTACT, whatever its start_action, and A
// drops its old SAs. A's DPD plays no part: the outage is one IKE SA set-up.
func TestRecoveryRestartHere(t *testing.T) {
	for _, dpd := range []string{"5s", "0s"} {
		t.Run("dpd="+dpd, func(t *testing.T) {
			inFakeTime(t, func(t *testing.T, v int) {
				l := startLink(t, v, linkConf{a: []string{`child_probe = "0s"`, `dpd_delay = "` + dpd + `"`}})
				s := l.steady()
				l.restartB("none")
				outage := l.recovered(s.at, 5*time.Second)
				within(t, "recovery", outage, ikeSetup(v)-childExchange(v), 2*tick+ikeSetup(v))
				l.replaced(s)

				detect := mustEvent(t, l.b, 0, "detect", "restart-heal")
				within(t, "detection", detect.Time.Sub(s.at), 0, tick)
				mustEvent(t, l.b, 0, "action", "restart-heal")
				mustEvent(t, l.b, 0, "connect", "restart-heal")
				mustEvent(t, l.b, 0, "recovered", "restart-heal")
				wantMetric(t, l.b, 1, "vigil_heals_total", "cause", "restart-heal")
				wantMetric(t, l.b, 1, "vigil_outage_seconds", "cause", "restart-heal")
				mustEvent(t, l.a, s.seqA, "down", "ike-down")
				noEvent(t, l.a, s.seqA, "detect", "dpd")
				noSpuriousReplacement(t, l, s)
				if n := len(l.a.SAs("ab")); n != 1 {
					t.Errorf("A has %d IKE SAs, want the new one only", n)
				}
			})
		})
	}
}

// TestRecoveryDeadPeer: B drops off the network (its SAs stay) while A sends; A has no Child
// SA probe, so its liveness check finds out: DPD starts a check as soon as A has sent but heard
// nothing for dpd_delay (the check is re-armed for the moment the silence reaches dpd_delay,
// not a whole interval later), the peer is declared dead dpd_timeout later and A re-initiates
// with back-off.
// When B is back, A's next attempt brings the tunnel up; its INITIAL_CONTACT makes B drop the
// old SAs.
func TestRecoveryDeadPeer(t *testing.T) {
	inFakeTime(t, func(t *testing.T, v int) {
		l := startLink(t, v, linkConf{a: []string{`child_probe = "0s"`}})
		s := l.steady()
		mem(l.b).SetOffline(true)

		latest := defaultDPDDelay + defaultDPDTimeout
		time.Sleep(latest + time.Second)
		detect := mustEvent(t, l.a, s.seqA, "detect", "dpd")
		// The last reply A received came at most one echo tick before the fault.
		within(t, "detection", detect.Time.Sub(s.at), defaultDPDDelay-tick, defaultDPDDelay+tick)
		down := mustEvent(t, l.a, s.seqA, "down", "dpd")
		within(t, "declaring the peer dead", down.Time.Sub(detect.Time), 0, defaultDPDTimeout)
		wantMetric(t, l.a, 1, "vigil_recoveries_total", "cause", "dpd")
		if n := metric(t, l.a, "vigil_ike_exchange_timeouts_total"); n < 1 {
			t.Errorf("%v exchange timeouts, want the liveness check's", n)
		}

		back := time.Now()
		mem(l.b).SetOffline(false)
		// A retries with back-off (at most 30 s between attempts) and each attempt
		// retransmits (at most max_timeout, 4 s, between tries): the next one reaches B.
		d, ok := l.echo.flowsAfter(back, 35*time.Second)
		if !ok {
			t.Fatalf("no traffic within 35 s of the peer's return; A's events:\n%s", eventList(l.a))
		}
		t.Logf("traffic again %v after the peer's return", d)
		l.replaced(s)
		// A re-initiates on its reconnect timer, or on the first packet that needs the tunnel
		// (an acquire), whichever comes first.
		if _, ok := event(l.a, s.seqA, "connect", "reconnect"); !ok {
			mustEvent(t, l.a, s.seqA, "connect", "acquire")
		}
		rec := mustEvent(t, l.a, s.seqA, "recovered", "dpd")
		if rec.Time.Before(back) {
			t.Errorf("recovered at %v, before the peer was back", rec.Time.Sub(s.at))
		}
		// The outage runs from the last reply before the silence: the whole time B was away.
		if want := rec.Time.Sub(s.at); rec.OutageMS < float64((want - tick).Milliseconds()) {
			t.Errorf("outage %.1f ms reported, but traffic stopped %v before the recovery", rec.OutageMS, want)
		}
		wantMetric(t, l.a, 1, "vigil_outage_seconds", "cause", "dpd")
	})
}

// TestRecoveryDeadPeerAfterIdle: the tunnel carries nothing for ten minutes (A's DPD check
// waits for the dataplane's EventActive instead of looking every dpd_delay), B goes offline,
// then traffic starts: the liveness check starts dpd_delay after the first packet went out.
func TestRecoveryDeadPeerAfterIdle(t *testing.T) {
	inFakeTime(t, func(t *testing.T, v int) {
		l := startLink(t, v, linkConf{a: []string{`child_probe = "0s"`}})
		time.Sleep(10*time.Minute + 4500*time.Millisecond) // off the old dpd_delay grid
		seqA := lastSeq(l.a)
		mem(l.b).SetOffline(true)
		t0 := time.Now()
		l.startEcho(tick)
		time.Sleep(defaultDPDDelay + defaultDPDTimeout + time.Second)
		detect := mustEvent(t, l.a, seqA, "detect", "dpd")
		within(t, "detection", detect.Time.Sub(t0), defaultDPDDelay, defaultDPDDelay+2*tick)
		mustEvent(t, l.a, seqA, "down", "dpd")
	})
}

// noSpuriousReplacement checks that the new IKE SA's Child SA went into use cleanly: no ESP
// reached B on an SPI it did not have yet, so nothing was replaced again. In IKEv1 both ends
// run a Quick Mode after the new Main Mode; the pair the peer created is not sent on before
// its Quick Mode message 3 confirms it (ike.ChildSA.Unconfirmed), for either version.
func noSpuriousReplacement(t *testing.T, l *link, s steady) {
	t.Helper()
	noEvent(t, l.a, s.seqA, "detect", "invalid-spi")
	noEvent(t, l.b, 0, "action", "unknown-spi")
}
