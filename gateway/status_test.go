package gateway

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/vigil-ipsec/vigil/api"
)

// wantStatus checks the totals of g's Status (kept by the engine as things change, not
// counted per call) against what the run should have left, and the aggregate metrics against
// Status: both come from the same totals.
func wantStatus(t *testing.T, step string, g *testGateway, tunnels, up, ikeSAs, childSAs int) {
	t.Helper()
	s := g.Status()
	if s.Tunnels != tunnels || s.TunnelsUp != up || s.IKESAs != ikeSAs || s.ChildSAs != childSAs {
		t.Errorf("%s: status has %d tunnels, %d up, %d IKE SAs, %d Child SAs; want %d, %d, %d, %d",
			step, s.Tunnels, s.TunnelsUp, s.IKESAs, s.ChildSAs, tunnels, up, ikeSAs, childSAs)
	}
	if m := metric(t, g, "vigil_tunnels_up"); m != float64(s.TunnelsUp) {
		t.Errorf("%s: vigil_tunnels_up %v, status %d", step, m, s.TunnelsUp)
	}
	if m := metric(t, g, "vigil_sas", "kind", "ike", "state", "established"); s.IKESAs == 1 && m != 1 {
		t.Errorf("%s: vigil_sas{ike,established} %v, want the one IKE SA", step, m)
	}
	checkCounts(t, g.Gateway)
}

// TestStatusCounts takes tunnel "ab" through set-up, operator rekeys, deletes with and
// without notify, down and up, a restart of the peer and the tunnel's removal, and checks the
// totals of both gateways after each (the harness also compares the engines' totals with a
// recount after every event).
func TestStatusCounts(t *testing.T) {
	inFakeTime(t, func(t *testing.T, v int) {
		l := startLink(t, v, linkConf{})
		settle := func() { time.Sleep(5 * time.Second) }
		both := func(step string, up, ikeSAs, childSAs int) {
			t.Helper()
			for _, g := range []*testGateway{l.a, l.b} {
				wantStatus(t, step, g, 1, up, ikeSAs, childSAs)
			}
		}
		both("up", 1, 1, 1)

		in, _ := l.agree()
		if err := l.a.RekeyChildSA(api.SPI(in), ""); err != nil {
			t.Fatal(err)
		}
		settle()
		both("Child SA rekeyed", 1, 1, 1)
		if err := l.a.RekeyIKESA("ab"); err != nil {
			t.Fatal(err)
		}
		settle()
		both("IKE SA rekeyed", 1, 1, 1)

		in, _ = l.agree()
		if _, err := l.a.DeleteChildSA(api.SPI(in), "ab", true); err != nil {
			t.Fatal(err)
		}
		settle()
		both("Child SA deleted and re-created", 1, 1, 1)

		// Before the probe stream starts: traffic would bring the tunnel up again.
		if err := l.a.TunnelDown("ab"); err != nil {
			t.Fatal(err)
		}
		settle()
		both("tunnel down", 0, 0, 0)
		if err := l.a.TunnelUp("ab"); err != nil {
			t.Fatal(err)
		}
		settle()
		both("tunnel up", 1, 1, 1)

		// B loses its Child SA silently: it is down there at once, and up again once A's ESP
		// has made the two sides repair it. The probe stream runs from here on.
		in, _ = l.agree()
		if _, err := l.b.DeleteChildSA(api.SPI(in), "", false); err != nil {
			t.Fatal(err)
		}
		wantStatus(t, "B lost its Child SA", l.b, 1, 0, 1, 0)
		if _, ok := l.startEcho(tick).flowsAfter(time.Now(), 10*time.Second); !ok {
			t.Fatal("no traffic through the tunnel 10 s after B lost its Child SA")
		}
		settle()
		both("Child SA repaired", 1, 1, 1)

		l.restartB("start")
		settle()
		both("peer restarted", 1, 1, 1)

		l.a.next.Store(parseConf(t, tunnelTOML("other", addrA, "192.0.2.60", 9, "none")))
		if _, err := l.a.Reload(); err != nil {
			t.Fatal(err)
		}
		settle()
		wantStatus(t, "tunnel removed", l.a, 1, 0, 0, 0)
		wantStatus(t, "peer's tunnel deleted", l.b, 1, 0, 0, 0)
	})
}

// TestChildSAByTunnel: --tunnel (?tunnel=) narrows an SPI to one tunnel's Child SAs; a tunnel
// that does not exist, or has no Child SA with the SPI, is not found.
func TestChildSAByTunnel(t *testing.T) {
	inFakeTime(t, func(t *testing.T, v int) {
		l := startLink(t, v, linkConf{})
		in, out := l.agree()
		for _, spi := range []uint32{in, out} {
			c, err := l.a.ChildSA(api.SPI(spi), "ab")
			if err != nil || uint32(c.SPIIn) != in {
				t.Errorf("SPI %08x in tunnel ab: %+v, %v", spi, c, err)
			}
		}
		if _, err := l.a.ChildSA(api.SPI(in), "nope"); !errors.Is(err, api.ErrNotFound) || !strings.Contains(err.Error(), `no tunnel "nope"`) {
			t.Errorf("unknown tunnel: %v", err)
		}
		if err := l.a.RekeyChildSA(api.SPI(in^1), "ab"); !errors.Is(err, api.ErrNotFound) || !strings.Contains(err.Error(), "tunnel ab has no Child SA with SPI") {
			t.Errorf("SPI not in the tunnel: %v", err)
		}
	})
}
