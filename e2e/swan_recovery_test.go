package e2e

import (
	"testing"
	"time"

	"github.com/vigil-ipsec/vigil/internal/netns"
	"github.com/vigil-ipsec/vigil/internal/swan"
	"github.com/vigil-ipsec/vigil/internal/vigiltest"
)

// dropSwanInformationalRequests installs an nftables rule in ns that drops outgoing IKE
// INFORMATIONAL requests on port 4500 (exchange type 37 at UDP payload byte 4+18, response
// flag clear at byte 4+19): strongSwan's Delete never leaves.
func dropSwanInformationalRequests(t *testing.T, ns *netns.NS) {
	t.Helper()
	ctx := ctxT(t, 10*time.Second)
	for _, args := range [][]string{
		{"nft", "add", "table", "inet", "vgtest"},
		{"nft", "add", "chain", "inet", "vgtest", "out", "{ type filter hook output priority 0; }"},
		{"nft", "add", "rule", "inet", "vgtest", "out", "udp", "dport", "4500", "@th,240,8", "37", "@th,248,8", "&", "0x20", "==", "0", "drop"},
	} {
		if out, err := ns.Run(ctx, args...); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
	}
}

// TestStrongSwanSilentChildLoss: strongSwan's Child SA expires (hard lifetime, no rekey) and
// its Delete is dropped, so it silently stops accepting our ESP and sends nothing. Vigil's
// child probe finds it (rekey answered CHILD_SA_NOT_FOUND) and re-creates the Child SA within
// the default child_probe budget.
func TestStrongSwanSilentChildLoss(t *testing.T) {
	topo := netns.NewSiteToSite(t, "vgq")
	ctx := ctxT(t, 90*time.Second)
	sc := swanConf("aes128gcm16-prfsha256-x25519", "aes128gcm16")
	sc.ExtraChildOptions = map[string]string{"rekey_time": "0", "life_time": "6s", "rand_time": "0"}
	sc.RetransmitTries, sc.RetransmitTimeout = 30, 10*time.Second
	ch := swan.StartT(t, topo.GwB, sc)
	tv := sideA("site")
	tv.StartAction = "start" // child_probe stays at its default (3 s)
	v := vigiltest.Start(t, topo.GwA, "a", vigiltest.Conf{Tunnels: []vigiltest.Tunnel{tv}})
	vc, _ := bothUp(t, ctx, v, ch)
	dropSwanInformationalRequests(t, topo.GwB)
	probes := startProbes(t, ctx, topo)
	seq := v.LastSeq(ctx)

	// strongSwan's child dies about 6 s after it was installed.
	if _, err := ch.WaitFor(ctx, func(s []swan.IKESA) bool { _, ok := swanSA(s); return !ok }); err != nil {
		t.Fatal(err)
	}
	fault := time.Now()
	ev, err := v.WaitEvent(ctx, seq, recovered)
	if err != nil {
		t.Fatal(err)
	}
	if err := probes.WaitFlowing(ctx); err != nil {
		t.Fatal(err)
	}
	res := probes.Result(fault)
	t.Logf("strongSwan lost its Child SA: Vigil recovered by %s, outage %v (event %.0f ms)", ev.Cause, res.Outage, ev.OutageMS)
	if res.Outage > 5*time.Second {
		t.Errorf("outage %v, want <= 5 s", res.Outage)
	}
	vc2, _ := bothUp(t, ctx, v, ch)
	if vc2.SPIOut == vc.SPIOut {
		t.Errorf("Vigil still sends on the dead SPI")
	}
	ping(t, ctx, topo)
}

// TestStrongSwanRestart: strongSwan is killed (all state lost) and restarted; it says nothing
// about our ESP, so Vigil's probe and liveness check find the dead peer and re-initiate.
func TestStrongSwanRestart(t *testing.T) {
	topo := netns.NewSiteToSite(t, "vgq")
	ctx := ctxT(t, 90*time.Second)
	sc := swanConf("aes128gcm16-prfsha256-x25519", "aes128gcm16")
	ch := swan.StartT(t, topo.GwB, sc)
	tv := sideA("site")
	tv.StartAction, tv.ChildProbe, tv.DPDTimeout = "start", "1s", "3s"
	v := vigiltest.Start(t, topo.GwA, "a", vigiltest.Conf{Tunnels: []vigiltest.Tunnel{tv}})
	bothUp(t, ctx, v, ch)
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
	if ev.Cause != "child-probe" && ev.Cause != "dpd" {
		t.Errorf("recovered by %q", ev.Cause)
	}
	if err := probes.WaitFlowing(ctx); err != nil {
		t.Fatal(err)
	}
	res := probes.Result(fault)
	t.Logf("strongSwan restarted: outage %v", res.Outage)
	if res.Outage > 8*time.Second {
		t.Errorf("outage %v with child_probe 1s and dpd_timeout 3s", res.Outage)
	}
	bothUp(t, ctx, v, ch2)
}
