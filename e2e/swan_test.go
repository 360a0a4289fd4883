package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/vigil-ipsec/vigil/api"
	"github.com/vigil-ipsec/vigil/internal/netns"
	"github.com/vigil-ipsec/vigil/internal/swan"
	"github.com/vigil-ipsec/vigil/internal/vigiltest"
)

// swanConf is strongSwan's side at gwB of the standard topology.
func swanConf(ike, esp string) swan.Conf {
	return swan.Conf{
		Name: "site", LocalAddr: netns.GwBWAN.String(), RemoteAddr: netns.GwAWAN.String(),
		LocalID: "b.example", RemoteID: "a.example", PSK: testPSK,
		LocalTS: []string{netns.NetB.String()}, RemoteTS: []string{netns.NetA.String()},
		IKEProposals: ike, ESPProposals: esp, Encap: true,
	}
}

// swanSA returns strongSwan's single live IKE SA "site" with its single live Child SA.
func swanSA(sas []swan.IKESA) (swan.IKESA, bool) {
	var found []swan.IKESA
	for _, sa := range sas {
		if sa.Name == "site" && sa.State == "ESTABLISHED" {
			sa.Children = sa.LiveChildren()
			found = append(found, sa)
		}
	}
	if len(found) != 1 {
		return swan.IKESA{}, false
	}
	n := 0
	for _, c := range found[0].Children {
		if c.State == "INSTALLED" {
			n++
		}
	}
	return found[0], n == 1
}

func swanChild(sa swan.IKESA) swan.ChildSA {
	for _, c := range sa.Children {
		if c.State == "INSTALLED" {
			return c
		}
	}
	return swan.ChildSA{}
}

// bothUp waits until Vigil (gwA) and strongSwan (gwB) agree on one Child SA pair.
func bothUp(t *testing.T, ctx context.Context, v *vigiltest.Vigil, c *swan.Charon) (api.ChildSA, swan.IKESA) {
	t.Helper()
	var vc api.ChildSA
	var ss swan.IKESA
	for try := 0; try < 50; try++ {
		sas, err := v.WaitFor(ctx, "Vigil child", vigiltest.HasChild("site"))
		if err != nil {
			t.Fatal(err)
		}
		vc, _ = vigiltest.Child(sas, "site")
		all, err := c.WaitFor(ctx, func(s []swan.IKESA) bool { _, ok := swanSA(s); return ok })
		if err != nil {
			t.Fatal(err)
		}
		ss, _ = swanSA(all)
		sc := swanChild(ss)
		if uint32(vc.SPIIn) == sc.SPIOut && uint32(vc.SPIOut) == sc.SPIIn {
			return vc, ss
		}
		// One side is mid-rekey: wait for its next change.
		select {
		case <-ctx.Done():
			t.Fatalf("SPIs never paired: Vigil in %v out %v, strongSwan in %08x out %08x", vc.SPIIn, vc.SPIOut, sc.SPIIn, sc.SPIOut)
		case <-time.After(100 * time.Millisecond):
		}
	}
	t.Fatalf("SPIs never paired")
	return vc, ss
}

// TestStrongSwanInterop runs the interop matrix: three proposal sets, Vigil as initiator and as
// responder; for each: SAs on both sides with matching SPIs and algorithms, traffic, Child and
// IKE rekeys started by each side, and a Delete started by each side.
func TestStrongSwanInterop(t *testing.T) {
	for _, p := range []struct {
		ike, esp      string
		swanEncr      string
		swanKey       int
		swanIKEDH     string
		swanChildInte string
	}{
		{"aes128gcm16-prfsha256-x25519", "aes128gcm16", "AES_GCM_16", 128, "CURVE_25519", ""},
		{"aes256-sha256-modp2048", "aes256-sha256", "AES_CBC", 256, "MODP_2048", "HMAC_SHA2_256_128"},
		{"chacha20poly1305-prfsha256-ecp256", "chacha20poly1305", "CHACHA20_POLY1305", 0, "ECP_256", ""},
	} {
		for _, role := range []string{"vigil-initiator", "vigil-responder"} {
			t.Run(p.ike+"/"+role, func(t *testing.T) {
				topo := netns.NewSiteToSite(t, "vgs")
				ctx := ctxT(t, 90*time.Second)
				tv := sideA("site")
				tv.IKEProposals, tv.ESPProposals = p.ike, p.esp
				sc := swanConf(p.ike, p.esp)
				if role == "vigil-initiator" {
					tv.StartAction = "start"
				}
				ch := swan.StartT(t, topo.GwB, sc)
				v := vigiltest.Start(t, topo.GwA, "a", vigiltest.Conf{Tunnels: []vigiltest.Tunnel{tv}})
				if role == "vigil-responder" {
					if err := ch.Initiate("site"); err != nil {
						t.Fatal(err)
					}
				}
				vc, ss := bothUp(t, ctx, v, ch)
				sch := swanChild(ss)
				if ss.EncrAlg != p.swanEncr || ss.DHGroup != p.swanIKEDH || sch.EncrAlg != p.swanEncr || sch.EncrKeySize != p.swanKey || sch.IntegAlg != p.swanChildInte {
					t.Errorf("strongSwan sees IKE %s/%s child %s-%d/%s", ss.EncrAlg, ss.DHGroup, sch.EncrAlg, sch.EncrKeySize, sch.IntegAlg)
				}
				if vc.Algorithms != p.esp {
					t.Errorf("Vigil child algorithms %q", vc.Algorithms)
				}
				sas, _ := v.Client.SAs(ctx, "site")
				if sas[0].Algorithms != p.ike || sas[0].Initiator != (role == "vigil-initiator") {
					t.Errorf("Vigil IKE SA %+v", sas[0])
				}
				if sas[0].SPIi != map[bool]string{true: ss.RemoteSPI, false: ss.LocalSPI}[sas[0].Initiator] {
					t.Errorf("IKE SPIs differ: Vigil %s/%s strongSwan local %s remote %s", sas[0].SPIi, sas[0].SPIr, ss.LocalSPI, ss.RemoteSPI)
				}
				ping(t, ctx, topo)

				// Child rekey started by strongSwan, then by Vigil.
				t.Logf("%s: %s", time.Now().Format("15:04:05.000"), "child rekeys")
				if err := ch.RekeyChild("site"); err != nil {
					t.Fatal(err)
				}
				vc2 := waitNewChild(t, ctx, v, ch, vc)
				if err := v.Client.RekeyChildSA(ctx, vc2.SPIIn); err != nil {
					t.Fatal(err)
				}
				vc3 := waitNewChild(t, ctx, v, ch, vc2)
				ping(t, ctx, topo)

				// IKE rekey started by strongSwan, then by Vigil.
				t.Logf("%s: %s", time.Now().Format("15:04:05.000"), "IKE rekeys")
				ike0 := sas[0].SPIi + sas[0].SPIr
				if err := ch.RekeyIKE("site"); err != nil {
					t.Fatal(err)
				}
				ike1 := waitNewIKE(t, ctx, v, ike0)
				if err := v.Client.RekeyIKESA(ctx, "site"); err != nil {
					t.Fatal(err)
				}
				waitNewIKE(t, ctx, v, ike1)
				bothUp(t, ctx, v, ch)
				ping(t, ctx, topo)

				// Delete started by strongSwan (child), then by Vigil (tunnel down).
				t.Logf("%s: %s", time.Now().Format("15:04:05.000"), "deletes")
				if err := ch.TerminateChild("site"); err != nil {
					t.Fatal(err)
				}
				if _, err := v.WaitFor(ctx, "child deleted", func(s []api.IKESA) bool {
					_, ok := vigiltest.Child(s, "site")
					return !ok || vigiltest.HasChild("site")(s) && childIn(s) != vc3.SPIIn
				}); err != nil {
					t.Fatal(err)
				}
				t.Logf("%s: tunnel down", time.Now().Format("15:04:05.000"))
				if _, err := v.Client.TunnelDown(ctx, "site"); err != nil {
					t.Fatal(err)
				}
				if _, err := ch.WaitFor(ctx, func(s []swan.IKESA) bool { _, ok := swanSA(s); return !ok && countLive(s) == 0 }); err != nil {
					t.Fatal(err)
				}
			})
		}
	}
}

func childIn(sas []api.IKESA) api.SPI {
	c, _ := vigiltest.Child(sas, "site")
	return c.SPIIn
}

func countLive(sas []swan.IKESA) int {
	n := 0
	for _, sa := range sas {
		if sa.State == "ESTABLISHED" {
			n++
		}
	}
	return n
}

// waitNewChild waits until both sides agree on a Child SA pair other than old.
func waitNewChild(t *testing.T, ctx context.Context, v *vigiltest.Vigil, ch *swan.Charon, old api.ChildSA) api.ChildSA {
	t.Helper()
	if _, err := v.WaitFor(ctx, "rekeyed child", func(s []api.IKESA) bool {
		c, ok := vigiltest.Child(s, "site")
		return ok && c.SPIIn != old.SPIIn
	}); err != nil {
		t.Fatal(err)
	}
	vc, _ := bothUp(t, ctx, v, ch)
	return vc
}

// waitNewIKE waits until Vigil's IKE SA for "site" has SPIs other than old.
func waitNewIKE(t *testing.T, ctx context.Context, v *vigiltest.Vigil, old string) string {
	t.Helper()
	sas, err := v.WaitFor(ctx, "rekeyed IKE SA", func(s []api.IKESA) bool {
		return len(s) == 1 && s[0].State == "established" && s[0].SPIi+s[0].SPIr != old && len(s[0].Children) >= 1
	})
	if err != nil {
		t.Fatal(err)
	}
	return sas[0].SPIi + sas[0].SPIr
}

// TestStrongSwanWrongPSK: strongSwan initiates with a PSK that differs; Vigil rejects it with
// AUTHENTICATION_FAILED and logs why, and the reverse.
func TestStrongSwanWrongPSK(t *testing.T) {
	topo := netns.NewSiteToSite(t, "vgs")
	ctx := ctxT(t, 30*time.Second)
	sc := swanConf("aes128gcm16-prfsha256-x25519", "aes128gcm16")
	sc.PSK = "strongswan-has-another-key-1234"
	ch := swan.StartT(t, topo.GwB, sc)
	tv := sideA("site")
	v := vigiltest.Start(t, topo.GwA, "a", vigiltest.Conf{Tunnels: []vigiltest.Tunnel{tv}})
	authFailed := func(ev api.Event) bool { return ev.Kind == "failed" && ev.Cause == "auth-failed" }
	_ = ch.Initiate("site") // fails: strongSwan reports the failure
	ev, err := v.WaitEvent(ctx, 0, authFailed)
	if err != nil {
		t.Fatal(err)
	}
	if !contains(v.Log(), "AUTHENTICATION_FAILED") {
		t.Fatalf("Vigil did not log AUTHENTICATION_FAILED:\n%s", v.Log())
	}
	// And Vigil as initiator: strongSwan answers AUTHENTICATION_FAILED.
	if _, err := v.Client.TunnelUp(ctx, "site"); err != nil {
		t.Fatal(err)
	}
	if _, err := v.WaitEvent(ctx, ev.Seq, authFailed); err != nil {
		t.Fatal(err)
	}
	if contains(v.Log(), testPSK) {
		t.Errorf("PSK in the log")
	}
}
