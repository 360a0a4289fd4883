package e2e

import (
	"testing"
	"time"

	"github.com/vigil-ipsec/vigil/api"
	"github.com/vigil-ipsec/vigil/internal/netns"
	"github.com/vigil-ipsec/vigil/internal/vigiltest"
)

// TestVigilVigil establishes a tunnel between two Vigils for each proposal set and encapsulation
// of each IKE version, checks the SAs on both sides and passes traffic between the hosts. The
// proposal sets differ by version: IKEv1 phase 1 has no AEAD and Quick Mode no ChaCha20.
func TestVigilVigil(t *testing.T) {
	cases := map[int][]struct{ name, ike, esp, encap string }{
		2: {
			{"gcm-raw", "aes128gcm16-prfsha256-x25519", "aes128gcm16", "raw"},
			{"cbc-udp", "aes256-sha256-modp2048", "aes256-sha256", "udp"},
			{"chacha-auto", "chacha20poly1305-prfsha256-ecp256", "chacha20poly1305", "auto"},
			{"gcm256-esn", "aes256gcm16-prfsha384-ecp384", "aes256gcm16-esn", "udp"},
		},
		1: {
			{"cbc-raw", v1IKE, "aes256-sha256", "raw"},
			{"gcm-udp", "aes256-sha256-modp2048", "aes256gcm16", "udp"},
			{"gcm256-esn", "aes256-sha256-modp2048", "aes256gcm16-esn", "udp"},
		},
	}
	forVersions(t, func(t *testing.T, iv ikeVersion) {
		for _, tc := range cases[iv.num] {
			t.Run(tc.name, func(t *testing.T) {
				topo := netns.NewSiteToSite(t, "vgt")
				a, b := vigilPair(t, topo, iv, func(ta, tb *vigiltest.Tunnel) {
					tb.StartAction = "none"
					ta.IKEProposals, ta.ESPProposals, ta.Encap = tc.ike, tc.esp, tc.encap
					tb.IKEProposals, tb.ESPProposals, tb.Encap = tc.ike, tc.esp, tc.encap
				})
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
				sas := ikeSAs(t, ctx, a)
				if len(sas) != 1 || sas[0].Algorithms != tc.ike || !sas[0].Initiator {
					t.Errorf("A's IKE SA (A initiated it, %s): %+v", tc.ike, sas)
				}
				c, _ := vigiltest.Child(sas, "site")
				if c.PacketsOut == 0 || c.PacketsIn == 0 {
					t.Errorf("no packets counted: %+v", c)
				}
			})
		}
	})
}

// TestVigilVigilBothStart: both Vigils initiate at start; they settle on one IKE SA and one
// Child SA pair.
func TestVigilVigilBothStart(t *testing.T) {
	forVersions(t, func(t *testing.T, iv ikeVersion) {
		topo := netns.NewSiteToSite(t, "vgt")
		ctx := ctxT(t, 60*time.Second)
		a, b := vigilPair(t, topo, iv, nil)
		pairUp(t, ctx, a, b, "site")
		if _, err := a.WaitFor(ctx, "one IKE SA on A", func(s []api.IKESA) bool { return len(s) == 1 }); err != nil {
			t.Fatal(err)
		}
		if _, err := b.WaitFor(ctx, "one IKE SA on B", func(s []api.IKESA) bool { return len(s) == 1 }); err != nil {
			t.Fatal(err)
		}
		sa, sb := ikeSAs(t, ctx, a), ikeSAs(t, ctx, b)
		if sa[0].SPIi != sb[0].SPIi || sa[0].SPIr != sb[0].SPIr {
			t.Errorf("different IKE SAs: A %s/%s, B %s/%s", sa[0].SPIi, sa[0].SPIr, sb[0].SPIi, sb[0].SPIr)
		}
		pairUp(t, ctx, a, b, "site")
		ping(t, ctx, topo)
	})
}

// TestVigilVigilRekeyDelete covers Child and IKE rekeys started by either side (short
// lifetimes), a Child SA Delete started by either side (the initiator, start_action start,
// re-creates it), and the tunnel taken down by either side.
func TestVigilVigilRekeyDelete(t *testing.T) {
	forVersionsParallel(t, func(t *testing.T, iv ikeVersion) {
		topo := netns.NewSiteToSite(t, "vgt")
		a, b := vigilPair(t, topo, iv, func(ta, tb *vigiltest.Tunnel) {
			tb.StartAction = "none"
			ta.ChildLifetime = "3s" // A rekeys the Child SA
			tb.IKELifetime = "4s"   // B rekeys the IKE SA
		})
		ctx := ctxT(t, 60*time.Second)
		ca, _ := pairUp(t, ctx, a, b, "site")
		ike0 := ikeSAs(t, ctx, a)[0].SPIi

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
		seq := a.LastSeq(ctx)
		if _, err := b.Client.DeleteChildSA(ctx, ca2.SPIOut, true); err != nil {
			t.Fatal(err)
		}
		if _, err := a.WaitEvent(ctx, seq, func(ev api.Event) bool { return ev.Kind == "delete" && ev.Cause == "peer-delete" }); err != nil {
			t.Fatal(err)
		}
		ca3, _ := xferWaitRekeyed(t, ctx, a, b, ca2)
		ping(t, ctx, topo)
		// Delete by A (with notify): with start_action start it re-creates it itself.
		if _, err := a.Client.DeleteChildSA(ctx, ca3.SPIIn, true); err != nil {
			t.Fatal(err)
		}
		xferWaitRekeyed(t, ctx, a, b, ca3)
		ping(t, ctx, topo)

		// Tunnel down on A: B's SAs go too (A's operator took it down: A does not reconnect).
		if _, err := a.Client.TunnelDown(ctx, "site"); err != nil {
			t.Fatal(err)
		}
		if _, err := b.WaitFor(ctx, "B without SAs", func(s []api.IKESA) bool { return len(s) == 0 }); err != nil {
			t.Fatal(err)
		}
		// Up again, and down on B: A hears the Delete and its IKE SA goes.
		if _, err := a.Client.TunnelUp(ctx, "site"); err != nil {
			t.Fatal(err)
		}
		pairUp(t, ctx, a, b, "site")
		up := ikeSAs(t, ctx, a)[0]
		seq = a.LastSeq(ctx)
		if _, err := b.Client.TunnelDown(ctx, "site"); err != nil {
			t.Fatal(err)
		}
		if _, err := a.WaitEvent(ctx, seq, func(ev api.Event) bool { return ev.Kind == "down" && ev.Cause == "peer-delete" }); err != nil {
			t.Fatal(err)
		}
		if _, err := a.WaitFor(ctx, "A's IKE SA gone", func(s []api.IKESA) bool {
			for _, x := range s {
				if x.SPIi == up.SPIi {
					return false
				}
			}
			return true
		}); err != nil {
			t.Fatal(err)
		}
	})
}

// TestWrongPSK: a PSK mismatch is refused with AUTHENTICATION_FAILED (IKEv1: an unprotected
// AUTHENTICATION-FAILED notify, as the responder cannot decrypt Main Mode message 5); the
// initiator reports it, both sides log it, and neither logs a PSK.
func TestWrongPSK(t *testing.T) {
	forVersions(t, func(t *testing.T, iv ikeVersion) {
		topo := netns.NewSiteToSite(t, "vgt")
		const otherPSK = "a-completely-different-key-xyz"
		a, b := vigilPair(t, topo, iv, func(ta, tb *vigiltest.Tunnel) {
			ta.StartAction, tb.StartAction = "none", "none"
			tb.PSK = otherPSK
		})
		ctx := ctxT(t, 20*time.Second)
		if _, err := a.Client.TunnelUp(ctx, "site"); err != nil {
			t.Fatal(err)
		}
		if _, err := a.WaitEvent(ctx, 0, func(ev api.Event) bool { return ev.Kind == "failed" && ev.Cause == "auth-failed" }); err != nil {
			t.Fatal(err)
		}
		for _, v := range []*vigiltest.Vigil{a, b} {
			log, err := v.WaitLog(ctxT(t, 5*time.Second), iv.authFailed)
			if err != nil {
				t.Errorf("no %s log line:\n%s", iv.authFailed, log)
			}
			if contains(log, testPSK) || contains(log, otherPSK) {
				t.Errorf("PSK appears in the log")
			}
		}
	})
}
