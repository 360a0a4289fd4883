package e2e

// Attack tests: a hostile peer (internal/attacker) against a victim vigild with two tunnels.
// Each test says what it proves and how a vulnerable engine fails it. Run them with
//
//	go test ./e2e -run 'TestAttack' -count=1 -v
//
// They need root (network namespaces); namespaces are named "atk-<hex>-...".
//
// Unlike the other e2e tests they run once, not per IKE version: each attack is made of IKEv2
// messages (IKE_SA_INIT left half-open, COOKIE, traffic selector payloads, an IKE SA request
// from another address), so it exists in IKEv2 only. The IKEv1 attack, a replayed Quick Mode,
// is in attack_v1_test.go; the ESP floods (attack_flood_test.go) act below IKE, on the
// gateway's unknown-SPI budget, and each version's answer to an unknown SPI is tested per
// version in TestRecoverSilentChildLossInvalidSPI and TestUnknownSPIFlood.

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vigil-ipsec/vigil/ikev2/wire"
	"github.com/vigil-ipsec/vigil/internal/attacker"
	"github.com/vigil-ipsec/vigil/internal/netns"
	"github.com/vigil-ipsec/vigil/internal/vigiltest"
)

// victimOutage bounds the probe gap on the victim tunnel during an attack that must not touch
// it: the probes run every millisecond, so this allows scheduling noise, not a rekey or an SA
// replacement.
const victimOutage = 300 * time.Millisecond

// TestAttackHalfOpenInvalidSPI: an attacker at B's address (another port) completes only
// IKE_SA_INIT (it has no PSK) and sends, encrypted in that unauthenticated IKE SA, INVALID_SPI
// naming the victim's outbound SPI and a Delete for it. Neither may touch the victim tunnel:
// INFORMATIONAL content counts only on an established IKE SA, and only for its own children.
func TestAttackHalfOpenInvalidSPI(t *testing.T) {
	r := newAtkRig(t, rigOpts{})
	m := r.v2(r.topo.GwB, netip.AddrPortFrom(netns.GwBWAN, 5000), netip.AddrPortFrom(netns.GwAWAN, 500))
	m.Timeout = time.Second
	if err := m.Init(); err != nil {
		t.Fatalf("IKE_SA_INIT: %v", err)
	}
	r.attackStarts()
	resp, err := m.Informational(attacker.InvalidSPI(uint32(r.ca.SPIOut)))
	t.Logf("INVALID_SPI in a half-open IKE SA: answer %v, err %v", resp, err)
	resp, err = m.Informational(attacker.DeleteESP(uint32(r.ca.SPIOut)))
	t.Logf("Delete in a half-open IKE SA: answer %v, err %v", resp, err)
	r.pause(3 * time.Second)
	r.checkVictim(victimOutage)
}

// TestAttackSPIHijack: mallory, an authenticated peer, proposes as its inbound SPI the SPI A
// already uses outbound towards B. A must not let mallory's SA take over that SPI: the
// victim's traffic keeps going to B on the victim SA (a fixed A refuses mallory's Child SA).
func TestAttackSPIHijack(t *testing.T) {
	r := newAtkRig(t, rigOpts{})
	m := r.mallory()
	if err := m.Init(); err != nil {
		t.Fatalf("IKE_SA_INIT: %v", err)
	}
	r.attackStarts()
	child := &attacker.ChildReq{SPI: uint32(r.ca.SPIOut), TSi: tsOf("10.66.0.0/24"), TSr: tsOf(netns.NetA.String())}
	resp, err := m.Auth([]byte(malPSK), malID, aID, child)
	if err != nil {
		t.Fatalf("IKE_AUTH: %v", err)
	}
	if ne := attacker.ChildRefused(resp); ne != 0 {
		t.Logf("A refused the hijacking Child SA: %v", ne)
	} else {
		t.Logf("A accepted mallory's Child SA with outbound SPI %v (the victim's)", r.ca.SPIOut)
	}
	m.Serve(2 * time.Second)
	r.checkVictim(victimOutage)
}

// TestAttackAddressMove: mallory authenticates from 203.0.113.2:500, then sends a valid
// request of its IKE SA from its other address 203.0.113.3. No NAT was detected, so A must
// keep the IKE SA's peer address (an authenticated peer may not redirect its SAs, and with
// them everyone's ESP, wherever it likes).
func TestAttackAddressMove(t *testing.T) {
	r := newAtkRig(t, rigOpts{})
	m := r.mallory()
	r.authMallory(m)
	r.attackStarts()
	other := attacker.UDP{Conn: udpFrom(t, r.topo.Atk, netip.AddrPortFrom(netns.AtkAddr2, 500), netip.AddrPortFrom(netns.AtkGwA, 500))}
	id := m.NextMessageID()
	resp, err := m.SendAwaitVia(other, m.Seal(wire.ExchangeInformational, nil), id)
	t.Logf("liveness check from the other address: answer %v, err %v", resp, err)
	r.pause(time.Second)
	sas, err := r.a.Client.SAs(r.ctx, "mallory")
	if err != nil || len(sas) != 1 {
		t.Fatalf("mallory's IKE SA on A: %v %s", err, childList(sas))
	}
	want := netip.AddrPortFrom(netns.AtkAddr, 500)
	if got, err := netip.ParseAddrPort(sas[0].Remote); err != nil || got != want {
		t.Errorf("A moved mallory's IKE SA to %s without NAT (want %v)", sas[0].Remote, want)
	}
	r.checkVictim(victimOutage)
}

// TestAttackTSExplosion: mallory proposes 64 traffic selectors that each overlap the four
// remote subnets of its tunnel, so that narrowing yields 256 selectors, one more than a TS
// payload can carry. A must answer (TS_UNACCEPTABLE or at most 255 selectors) and stay up.
func TestAttackTSExplosion(t *testing.T) {
	r := newAtkRig(t, rigOpts{})
	m := r.mallory()
	r.authMallory(m)
	r.attackStarts()
	var tsi []wire.TrafficSelector
	for i := 0; i < 64; i++ {
		s := wire.TrafficSelectorFromPrefix(netip.MustParsePrefix("10.66.0.0/16"))
		s.StartPort = uint16(i) // distinct selectors
		tsi = append(tsi, s)
	}
	resp, err := m.CreateChild(attacker.ChildReq{SPI: attacker.RandomSPI(), TSi: tsi, TSr: tsOf(netns.NetA.String())})
	if err != nil {
		t.Errorf("CREATE_CHILD_SA with 64x4 selectors not answered: %v", err)
	} else if ne := attacker.ChildRefused(resp); ne == 0 {
		if n := len(resp.TSi().Selectors); n > 255 {
			t.Errorf("A answered %d selectors", n)
		}
		t.Logf("A accepted with %d selectors", len(resp.TSi().Selectors))
	} else {
		t.Logf("A refused: %v", ne)
	}
	r.checkVictim(victimOutage)
}

// TestAttackCookies: with cookie_threshold = 0 ("always"), A must demand a COOKIE from every
// IKE_SA_INIT, so a flood creates no half-open state: 1000 IKE_SA_INITs from a configured
// peer's address and 1000 from 50 other addresses in its subnet get no SA answer. The victim tunnel is
// untouched, a cookie-returning initiator still gets in, and B (which initiates the victim
// tunnel here) reconnects through the cookie round.
func TestAttackCookies(t *testing.T) {
	r := newAtkRig(t, rigOpts{globalA: []string{"cookie_threshold = 0"}, mod: func(ta, tb *vigiltest.Tunnel) {
		ta.StartAction, tb.StartAction = "none", "start"
	}})
	m := r.mallory()
	r.attackStarts()
	resp, err := m.InitOnce(nil)
	if err != nil {
		t.Fatalf("IKE_SA_INIT: %v", err)
	}
	if resp.Notify(wire.NotifyCookie) == nil {
		t.Errorf("cookie_threshold = 0: A answered IKE_SA_INIT without a cookie with %v, not COOKIE", resp)
	}
	// The flood: from mallory's (configured) address and from 50 spoofed neighbours.
	var srcs []netip.Addr
	for i := 0; i < 50; i++ {
		a := netip.AddrFrom4([4]byte{203, 0, 113, byte(100 + i)})
		if err := r.topo.Atk.AddAddr(netns.AtkIfA, netip.PrefixFrom(a, 24)); err != nil {
			t.Fatal(err)
		}
		srcs = append(srcs, a)
	}
	srcPorts := []netip.AddrPort{netip.AddrPortFrom(netns.AtkAddr, 501)}
	for _, s := range srcs {
		srcPorts = append(srcPorts, netip.AddrPortFrom(s, 500))
	}
	halfOpen := flood(t, r, srcPorts, 2000)
	if halfOpen > 0 {
		t.Errorf("cookie_threshold = 0: %d of 2000 flooded IKE_SA_INITs created half-open IKE SAs", halfOpen)
	}
	// A legitimate initiator that returns the cookie gets in.
	if err := m.Init(); err != nil {
		t.Errorf("IKE_SA_INIT with the cookie round: %v", err)
	} else if _, err := m.Auth([]byte(malPSK), malID, aID, nil); err != nil {
		t.Errorf("IKE_AUTH after the cookie round: %v", err)
	}
	r.checkVictim(victimOutage)
	// B reconnects (through the cookie round once A demands cookies).
	if _, err := r.b.Client.TunnelDown(r.ctx, "site"); err != nil {
		t.Fatal(err)
	}
	r.pause(500 * time.Millisecond)
	if _, err := r.b.Client.TunnelUp(r.ctx, "site"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(r.ctx, 10*time.Second)
	defer cancel()
	pairUp(t, ctx, r.a, r.b, "site")
}

// flood sends n IKE_SA_INITs (fresh SPIs): half of them from srcs[0], the rest spread over
// the other sources. It counts the answers that carry a KE payload, i.e. that created a
// half-open IKE SA.
func flood(t *testing.T, r *atkRig, srcs []netip.AddrPort, n int) int {
	t.Helper()
	var got atomic.Int64
	var wg sync.WaitGroup
	conns := make([]*net.UDPConn, len(srcs))
	for i, src := range srcs {
		c := udpFrom(t, r.topo.Atk, src, netip.AddrPortFrom(netns.AtkGwA, 500))
		conns[i] = c
		wg.Add(1)
		go func() {
			defer wg.Done()
			u := attacker.UDP{Conn: c}
			for {
				b, err := u.Recv(time.Second)
				if err != nil {
					return
				}
				if msg, err := wire.ParseMessage(b); err == nil && msg.KE() != nil {
					got.Add(1)
				}
			}
		}()
	}
	m, err := attacker.NewV2(nil, "", "")
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		raw, _, _, err := m.InitRequest(attacker.RandomSPI64(), nil)
		if err != nil {
			t.Fatal(err)
		}
		c := conns[0]
		if i%2 == 1 && len(conns) > 1 {
			c = conns[1+(i/2)%(len(conns)-1)]
		}
		c.Write(raw)
		if i%50 == 49 {
			time.Sleep(5 * time.Millisecond) // stay under the engine loop's queue
		}
	}
	wg.Wait()
	return int(got.Load())
}

// TestAttackUnprotectedInvalidSPI: unprotected INVALID_SPI notifies from B's address naming
// the victim's outbound SPI (with no IKE SPIs, and with the real ones as a forged response)
// are hints: at most a liveness check, which B answers. The victim Child SA must stay.
func TestAttackUnprotectedInvalidSPI(t *testing.T) {
	r := newAtkRig(t, rigOpts{})
	sas, err := r.a.Client.SAs(r.ctx, "site")
	if err != nil || len(sas) != 1 {
		t.Fatalf("A's IKE SAs: %v %s", err, childList(sas))
	}
	spii, spir := parseSPI(t, sas[0].SPIi), parseSPI(t, sas[0].SPIr)
	c := udpFrom(t, r.topo.GwB, netip.AddrPortFrom(netns.GwBWAN, 5001), netip.AddrPortFrom(netns.GwAWAN, 500))
	r.attackStarts()
	c.Write(attacker.UnprotectedInvalidSPI(0, 0, uint32(r.ca.SPIOut), false))
	r.pause(1500 * time.Millisecond)
	c.Write(attacker.UnprotectedInvalidSPI(spii, spir, uint32(r.ca.SPIOut), true))
	r.pause(3 * time.Second)
	r.checkVictim(victimOutage)
}

func parseSPI(t *testing.T, s string) uint64 {
	t.Helper()
	var v uint64
	for _, ch := range strings.ToLower(s) {
		switch {
		case ch >= '0' && ch <= '9':
			v = v<<4 | uint64(ch-'0')
		case ch >= 'a' && ch <= 'f':
			v = v<<4 | uint64(ch-'a'+10)
		default:
			t.Fatalf("bad SPI %q", s)
		}
	}
	return v
}
