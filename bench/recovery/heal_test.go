package main

import (
	"strings"
	"testing"
	"time"
)

// TestHealSelection: the heal lines have their own ids and fault names, come after the other
// IKEv2 lines, and restart-here shares the peer-restart vigil<->strongswan baseline (the same
// strongSwan<->strongSwan fault and DPD settings).
func TestHealSelection(t *testing.T) {
	for _, tc := range []struct{ only, want string }{
		{"child-lost-here", "child-lost-here-swan"},
		{"restart-here", "restart-here-swan"},
		{"restart-here-nodpd-swan,silent-child-loss", "silent-child-loss-vigil,silent-child-loss-swan,restart-here-nodpd-swan"},
	} {
		got, err := selectScenarios(scenarios, tc.only)
		if err != nil || scenarioIDs(got) != tc.want {
			t.Errorf("selectScenarios(%q) = %s, %v; want %s", tc.only, scenarioIDs(got), err, tc.want)
		}
	}
	for _, sc := range healScenarios {
		if want := strings.HasPrefix(sc.fault, "restart-here"); sc.sinceBack != want {
			t.Errorf("%s: sinceBack %v", sc.id, sc.sinceBack)
		}
	}
	if healScenarios[1].baseline != "swan-restart-waiting" {
		t.Errorf("restart-here baseline %s", healScenarios[1].baseline)
	}
}

// TestNoDPD: the no-DPD initiator differs from strongSwan A only in DPD.
func TestNoDPD(t *testing.T) {
	a := swanSide("a", "k", ikev2)
	n := noDPD(a)
	if n.DPDDelay != 0 || n.ExtraChildOptions != nil || n.StartAction != "start" || n.PSK != "k" {
		t.Errorf("noDPD = %+v", n)
	}
	if a.DPDDelay != swanDPDDelay || a.ExtraChildOptions["dpd_action"] != "restart" {
		t.Errorf("noDPD changed its argument: %+v", a)
	}
}

func TestDescribeSinceBack(t *testing.T) {
	const limit = 240 * time.Second
	t0 := time.Unix(1000, 0)
	run := func(outage, sinceBack time.Duration) outcome {
		return outcome{sample: sample{recovered: true, outage: outage, end: t0, back: t0.Add(-sinceBack)}}
	}
	outs := []outcome{run(1200*time.Millisecond, 300*time.Millisecond), run(1100*time.Millisecond, 250*time.Millisecond), run(1300*time.Millisecond, 400*time.Millisecond)}
	if got, want := describeSinceBack(outs, limit), "since back median 300ms max 400ms, total median 1.20s max 1.30s (n=3)"; got != want {
		t.Errorf("describeSinceBack = %q, want %q", got, want)
	}
	if got, want := describeSinceBack(append(outs[:1:1], missed), limit), "since back median > 240 s max > 240 s, total median > 240 s max > 240 s (n=2, 1 no recovery in 240 s)"; got != want {
		t.Errorf("describeSinceBack with a missed run = %q, want %q", got, want)
	}
	if got, want := describeSinceBack([]outcome{missed}, limit), "no recovery in 240 s (n=1)"; got != want {
		t.Errorf("describeSinceBack none = %q, want %q", got, want)
	}
	sc := scenario{fault: "restart-here", pair: "vigil<->strongswan", sinceBack: true}
	got := line(sc, outs[:1], baseline{pair: "strongswan<->strongswan"}, []outcome{missed}, limit)
	want := "recovery restart-here       vigil<->strongswan  since back median 300ms max 300ms, total median 1.20s max 1.20s (n=1) | strongswan<->strongswan no recovery in 240 s (n=1)"
	if got != want {
		t.Errorf("line =\n%q\nwant\n%q", got, want)
	}
}
