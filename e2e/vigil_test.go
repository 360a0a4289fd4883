package e2e

import (
	"testing"
	"time"

	"github.com/vigil-ipsec/vigil/api"
	"github.com/vigil-ipsec/vigil/internal/netns"
	"github.com/vigil-ipsec/vigil/internal/vigiltest"
)

// TestVigilVigil establishes a tunnel between two Vigils for each proposal set and encapsulation,
// checks the SAs on both sides and passes traffic between the hosts.
func TestVigilVigil(t *testing.T) {
	for _, tc := range []struct{ name, ike, esp, encap string }{
		{"gcm-raw", "aes128gcm16-prfsha256-x25519", "aes128gcm16", "raw"},
		{"cbc-udp", "aes256-sha256-modp2048", "aes256-sha256", "udp"},
		{"chacha-auto", "chacha20poly1305-prfsha256-ecp256", "chacha20poly1305", "auto"},
		{"gcm256-esn", "aes256gcm16-prfsha384-ecp384", "aes256gcm16-esn", "udp"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			topo := netns.NewSiteToSite(t, "vgt")
			ta, tb := sideA("site"), sideB("site")
			ta.IKEProposals, ta.ESPProposals, ta.Encap, ta.StartAction = tc.ike, tc.esp, tc.encap, "start"
			tb.IKEProposals, tb.ESPProposals, tb.Encap = tc.ike, tc.esp, tc.encap
			b := vigiltest.Start(t, topo.GwB, "b", vigiltest.Conf{Tunnels: []vigiltest.Tunnel{tb}})
			a := vigiltest.Start(t, topo.GwA, "a", vigiltest.Conf{Tunnels: []vigiltest.Tunnel{ta}})
			ctx := ctxT(t, 30*time.Second)
			ca, cb := pairUp(t, ctx, a, b, "site")
			if ca.Algorithms != tc.esp || cb.Algorithms != tc.esp {
				t.Errorf("child algorithms %q / %q, want %q", ca.Algorithms, cb.Algorithms, tc.esp)
			}
			wantEncap := "udp"
			if tc.encap != "udp" {
				wantEncap = "raw"
			}
			if ca.Encap != wantEncap || cb.Encap != wantEncap {
				t.Errorf("encap %q / %q, want %q", ca.Encap, cb.Encap, wantEncap)
			}
			ping(t, ctx, topo)
			sas, _ := a.Client.SAs(ctx, "site")
			if len(sas) != 1 || sas[0].Algorithms != tc.ike {
				t.Errorf("IKE SA: %+v", sas)
			}
			c, _ := vigiltest.Child(sas, "site")
			if c.PacketsOut == 0 || c.PacketsIn == 0 {
				t.Errorf("no packets counted: %+v", c)
			}
		})
	}
}

// TestVigilVigilRekeyDelete covers Child and IKE rekeys started by either side (short
// lifetimes) and Deletes started by either side.
func TestVigilVigilRekeyDelete(t *testing.T) {
	topo := netns.NewSiteToSite(t, "vgt")
	ta, tb := sideA("site"), sideB("site")
	ta.StartAction = "start"
	ta.ChildLifetime = "3s" // A rekeys the Child SA
	tb.IKELifetime = "4s"   // B rekeys the IKE SA
	b := vigiltest.Start(t, topo.GwB, "b", vigiltest.Conf{Tunnels: []vigiltest.Tunnel{tb}})
	a := vigiltest.Start(t, topo.GwA, "a", vigiltest.Conf{Tunnels: []vigiltest.Tunnel{ta}})
	ctx := ctxT(t, 60*time.Second)
	ca, _ := pairUp(t, ctx, a, b, "site")
	sas, _ := a.Client.SAs(ctx, "site")
	ike0 := sas[0].SPIi

	// Child rekey by A, IKE rekey by B: wait for both in A's events.
	if _, err := a.WaitEvent(ctx, 0, func(ev api.Event) bool { return ev.Kind == "rekey" }); err != nil {
		t.Fatal("no child rekey:", err)
	}
	if _, err := a.WaitFor(ctx, "IKE rekey", func(s []api.IKESA) bool {
		return len(s) == 1 && s[0].SPIi != ike0 && s[0].State == "established" && vigiltest.HasChild("site")(s)
	}); err != nil {
		t.Fatal(err)
	}
	ca2, _ := pairUp(t, ctx, a, b, "site")
	if ca2.SPIIn == ca.SPIIn {
		t.Errorf("child SPI unchanged after rekey")
	}
	ping(t, ctx, topo)

	// Delete by B (with notify): A removes its half; A's start action re-creates it.
	if _, err := b.Client.DeleteChildSA(ctx, ca2.SPIOut, true); err != nil {
		t.Fatal(err)
	}
	if _, err := a.WaitEvent(ctx, 0, func(ev api.Event) bool { return ev.Kind == "delete" && ev.Cause == "peer-delete" }); err != nil {
		t.Fatal(err)
	}
	pairUp(t, ctx, a, b, "site")
	ping(t, ctx, topo)

	// Delete of the whole tunnel by A: B's SAs go too.
	if _, err := a.Client.TunnelDown(ctx, "site"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.WaitFor(ctx, "B without SAs", func(s []api.IKESA) bool { return len(s) == 0 }); err != nil {
		t.Fatal(err)
	}
}

// TestWrongPSK: a PSK mismatch is rejected with AUTHENTICATION_FAILED and a clear log line.
func TestWrongPSK(t *testing.T) {
	topo := netns.NewSiteToSite(t, "vgt")
	ta, tb := sideA("site"), sideB("site")
	tb.PSK = "a-completely-different-key-xyz"
	b := vigiltest.Start(t, topo.GwB, "b", vigiltest.Conf{Tunnels: []vigiltest.Tunnel{tb}})
	a := vigiltest.Start(t, topo.GwA, "a", vigiltest.Conf{Tunnels: []vigiltest.Tunnel{ta}})
	ctx := ctxT(t, 20*time.Second)
	if _, err := a.Client.TunnelUp(ctx, "site"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.WaitEvent(ctx, 0, func(ev api.Event) bool { return ev.Kind == "failed" && ev.Cause == "auth-failed" }); err != nil {
		t.Fatal(err)
	}
	for _, v := range []*vigiltest.Vigil{a, b} {
		log := v.Log()
		if !contains(log, "AUTHENTICATION_FAILED") {
			t.Errorf("no AUTHENTICATION_FAILED log line:\n%s", log)
		}
		if contains(log, testPSK) || contains(log, tb.PSK) {
			t.Errorf("PSK appears in the log")
		}
	}
}
