package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/vigil-ipsec/vigil/config"
	"github.com/vigil-ipsec/vigil/internal/netns"
	"github.com/vigil-ipsec/vigil/internal/swan"
)

// dropSwanDeletes installs an nftables rule in ns that drops strongSwan's outgoing Deletes on
// port 4500, so that a Child SA it deletes vanishes silently. The exchange type sits at UDP
// payload byte 4+18 (after the 4-byte non-ESP marker and the UDP header: bit 240).
//
// IKEv2: INFORMATIONAL requests (type 37, response flag clear at byte 4+19). IKEv1: the
// Informationals (type 5) of the size of a one-SPI ESP Delete (HASH(1) of SHA2-256 + Delete =
// 52 bytes, padded to 64; 28 + 64 bytes of ISAKMP: UDP length 104); DPD messages are longer
// and pass, as IKEv1 has no request/response flag to tell them apart.
func (iv ikeVersion) dropSwanDeletes(t *testing.T, ns *netns.NS) {
	t.Helper()
	ctx := ctxT(t, 10*time.Second)
	rule := []string{"udp", "dport", "4500", "@th,240,8", "37", "@th,248,8", "&", "0x20", "==", "0", "drop"}
	if iv.num == 1 {
		rule = []string{"udp", "dport", "4500", "udp", "length", "104", "@th,240,8", "5", "counter", "drop"}
	}
	for _, args := range [][]string{
		{"nft", "add", "table", "inet", "vgtest"},
		{"nft", "add", "chain", "inet", "vgtest", "out", "{ type filter hook output priority 0; }"},
		append([]string{"nft", "add", "rule", "inet", "vgtest", "out"}, rule...),
	} {
		if out, err := ns.Run(ctx, args...); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
	}
}

// TestStrongSwanSilentChildLoss: strongSwan's Child SA expires (hard lifetime, no rekey) and
// its Delete is dropped, so it silently stops accepting our ESP and, being strongSwan, sends
// no INVALID_SPI. Vigil's child probe (outbound without inbound for child_probe: 1 s, and the
// default) finds it and replaces the Child SA (see probeReplacement) within probeOutage;
// strongSwan still has its IKE SA and answers, so no liveness check is needed.
func TestStrongSwanSilentChildLoss(t *testing.T) {
	forVersionsParallel(t, func(t *testing.T, iv ikeVersion) {
		for _, p := range []struct {
			name  string
			probe string // child_probe; "" leaves the default
		}{{"probe-1s", "1s"}, {"probe-default", ""}} {
			t.Run(p.name, func(t *testing.T) { swanSilentChildLoss(t, iv, p.probe) })
		}
	})
}

func swanSilentChildLoss(t *testing.T, iv ikeVersion, childProbe string) {
	ctx := ctxT(t, 90*time.Second)
	sc := iv.swanConf()
	sc.ExtraChildOptions = map[string]string{"rekey_time": "0", "life_time": "6s", "rand_time": "0"}
	// strongSwan retransmits its dropped IKEv2 Delete instead of giving the IKE SA up.
	sc.RetransmitTries, sc.RetransmitTimeout = 30, 10*time.Second
	tv := sideA("site")
	tv.ChildProbe = childProbe
	probe := config.DefaultChildProbe
	if childProbe != "" {
		var err error
		if probe, err = time.ParseDuration(childProbe); err != nil {
			t.Fatal(err)
		}
	}
	topo, v, ch := swanPair(t, ctx, iv, sc, tv, true)
	vc, _ := bothUp(t, ctx, v, ch)
	iv.dropSwanDeletes(t, topo.GwB)
	probes := startProbes(t, ctx, topo)
	seq := v.LastSeq(ctx)

	// strongSwan's child dies about 6 s after it was installed.
	if _, err := ch.WaitFor(ctx, func(s []swan.IKESA) bool { _, ok := swanSA(s); return !ok }); err != nil {
		t.Fatal(err)
	}
	fault := time.Now()
	ev := waitProbeReplaced(t, ctx, iv, v, seq)
	if err := probes.WaitFlowing(ctx); err != nil {
		t.Fatal(err)
	}
	res := probes.Result(fault)
	t.Logf("strongSwan lost its Child SA: Vigil replaced it (%s/%s), outage %v with child_probe %v, probes lost %d", ev.Kind, ev.Cause, res.Outage, probe, res.Lost)
	if bound := probeOutage(probe); res.Outage > bound {
		t.Errorf("outage %v with child_probe %v, want <= %v", res.Outage, probe, bound)
	}
	vc2, _ := bothUp(t, ctx, v, ch)
	if vc2.SPIOut == vc.SPIOut {
		t.Errorf("Vigil still sends on the dead SPI")
	}
	ping(t, ctx, topo)
}

// TestStrongSwanRestart: strongSwan is killed (all state lost) and restarted. It says nothing
// about our ESP (IKEv1: and drops our Quick Mode for an ISAKMP SA it does not know), so
// Vigil's probe and liveness check find the dead peer and re-initiate (with INITIAL_CONTACT).
func TestStrongSwanRestart(t *testing.T) {
	forVersionsParallel(t, func(t *testing.T, iv ikeVersion) {
		ctx := ctxT(t, 90*time.Second)
		sc := iv.swanConf()
		tv := sideA("site")
		tv.ChildProbe, tv.DPDTimeout = "1s", "3s"
		topo, v, ch := swanPair(t, ctx, iv, sc, tv, true)
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
		// The outage starts with the probe ("child-probe"); if its exchange times out it takes
		// the IKE SA with it, as an unanswered liveness check would ("dpd").
		if ev.Cause != "child-probe" && ev.Cause != "dpd" {
			t.Errorf("recovered by %q, want child-probe or dpd", ev.Cause)
		}
		if err := probes.WaitFlowing(ctx); err != nil {
			t.Fatal(err)
		}
		res := probes.Result(fault)
		t.Logf("strongSwan restarted: recovered by %s, outage %v", ev.Cause, res.Outage)
		if res.Outage > 8*time.Second {
			t.Errorf("outage %v with child_probe 1s and dpd_timeout 3s", res.Outage)
		}
		bothUp(t, ctx, v, ch2)
	})
}

// TestStrongSwanDPD: strongSwan checks liveness every second (dpd_delay 1 s) on an idle
// tunnel and would declare Vigil dead after 4 s without an answer (IKEv1: dpd_timeout;
// IKEv2: one retransmission 2 s after the check, given up 2 s later). Vigil's answers
// (IKEv1: RFC 3706 R-U-THERE-ACK; IKEv2: empty INFORMATIONAL responses) keep the IKE SA alive.
func TestStrongSwanDPD(t *testing.T) {
	forVersionsParallel(t, func(t *testing.T, iv ikeVersion) {
		ctx := ctxT(t, 60*time.Second)
		sc := iv.swanConf()
		sc.DPDDelay = time.Second
		sc.ExtraConnOptions = map[string]string{"dpd_timeout": "4s"}
		sc.RetransmitTries, sc.RetransmitTimeout, sc.RetransmitBase = 1, 2*time.Second, 1
		topo, v, ch := swanPair(t, ctx, iv, sc, sideA("site"), true)
		ike0 := ikeSAs(t, ctx, v)[0]
		wait, cancel := context.WithTimeout(ctx, 7*time.Second)
		<-wait.Done()
		cancel()
		if _, err := ch.WaitFor(ctx, func(s []swan.IKESA) bool { _, ok := swanSA(s); return ok && countLive(s) == 1 }); err != nil {
			t.Fatal(err)
		}
		if sas := ikeSAs(t, ctx, v); len(sas) != 1 || sas[0].SPIi != ike0.SPIi {
			t.Fatalf("IKE SA replaced: %+v", sas)
		}
		log := ch.Log()
		check, answer := iv.swanDPDLog()
		if !contains(log, check) || !contains(log, answer) {
			t.Errorf("no liveness check (%q) and answer (%q) in strongSwan's log", check, answer)
		}
		ping(t, ctx, topo)
	})
}

// swanDPDLog returns what strongSwan's log shows of a liveness check it sends and of Vigil's
// answer.
func (iv ikeVersion) swanDPDLog() (check, answer string) {
	if iv.num == 1 {
		return "N(DPD)", "N(DPD_ACK)"
	}
	return "generating INFORMATIONAL request", "parsed INFORMATIONAL response"
}
