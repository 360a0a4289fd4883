package main

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/vigil-ipsec/vigil/internal/netns"
	"github.com/vigil-ipsec/vigil/internal/swan"
	"github.com/vigil-ipsec/vigil/internal/vigiltest"
)

// scenario is one output line: a fault measured with Vigil on gateway A (and Vigil or
// strongSwan on B), next to a strongSwan<->strongSwan baseline.
type scenario struct {
	id    string // for -only, e.g. "silent-child-loss-vigil"
	fault string // first column, e.g. "silent-child-loss"
	pair  string // e.g. "vigil<->vigil"
	run   func(*run) (sample, error)
	// baseline names the strongSwan<->strongSwan measurement shown beside it; scenarios that
	// name the same baseline share its runs.
	baseline string
	// sinceBack prints the outage from the restarted daemon being back to the first echo
	// after, then the total (restart-here lines; their runs record sample.back).
	sinceBack bool
}

// baseline is a strongSwan<->strongSwan measurement.
type baseline struct {
	key  string
	pair string
	run  func(*run) (sample, error)
}

// scenarios are measured and printed in this order.
var scenarios = slices.Concat([]scenario{
	{"silent-child-loss-vigil", "silent-child-loss", "vigil<->vigil", at(ikev2, silentChildLossVigil), "swan-silent-child-loss", false},
	{"silent-child-loss-swan", "silent-child-loss", "vigil<->strongswan", at(ikev2, silentChildLossSwanPeer), "swan-silent-child-loss", false},
	{"peer-restart-vigil", "peer-restart", "vigil<->vigil", at(ikev2, peerRestartVigil), "swan-restart-initiating", false},
	{"peer-restart-swan", "peer-restart", "vigil<->strongswan", at(ikev2, peerRestartSwanPeer), "swan-restart-waiting", false},
}, healScenarios, ikev1Scenarios)

var baselines = slices.Concat([]baseline{
	{"swan-silent-child-loss", "strongswan<->strongswan", at(ikev2, swanSilentChildLoss)},
	{"swan-restart-initiating", "strongswan<->strongswan", at(ikev2, swanRestartInitiating)},
	{"swan-restart-waiting", "strongswan<->strongswan", at(ikev2, swanRestartWaiting)},
}, healBaselines, ikev1Baselines)

func findBaseline(key string) (baseline, bool) {
	for _, b := range baselines {
		if b.key == key {
			return b, true
		}
	}
	return baseline{}, false
}

func newPSK() string { return "vgr2-" + netns.RandHex(32) }

// recoveredBy describes Vigil's "recovered" event after seq, for the progress line. Without
// one it names a rekey that followed a detection (IKEv1 has no CHILD_SA_NOT_FOUND: a Child SA
// that a probe finds dead is replaced by a new Quick Mode, which vigild reports as a rekey),
// else the kinds of events seen.
func recoveredBy(r *run, v *vigiltest.Vigil, seq uint64) string {
	ctx, cancel := r.setupCtx()
	defer cancel()
	evs, err := v.Client.Events(ctx, tunnelName, seq)
	if err != nil {
		return ""
	}
	for _, e := range evs {
		if e.Kind == "recovered" {
			return fmt.Sprintf("recovered by %s, vigild says %.1f ms", e.Cause, e.OutageMS)
		}
	}
	var seen []string
	detected := ""
	for _, e := range evs {
		switch {
		case e.Kind == "detect" && detected == "":
			detected = e.Cause
		case e.Kind == "rekey" && detected != "":
			return "replaced by a rekey after detect/" + detected
		}
		k := e.Kind
		if e.Cause != "" {
			k += "/" + e.Cause
		}
		if !slices.Contains(seen, k) && len(seen) < 8 {
			seen = append(seen, k)
		}
	}
	return "no recovered event; events: " + strings.Join(seen, ", ")
}

// silentChildLossVigil: B deletes its Child SA without telling A (DeleteChildSA with
// notify=false); A's next ESP packet reaches B on an unknown SPI, B answers INVALID_SPI
// (IKEv1: an Informational protected with HASH(1)) and A replaces the Child SA. B does not
// re-initiate by itself (start_action none).
func silentChildLossVigil(r *run, v ikeVersion) (sample, error) {
	ctx, cancel := r.setupCtx()
	defer cancel()
	psk := newPSK()
	ta, tb := vigilSide("a", psk, v), vigilSide("b", psk, v)
	ta.StartAction, tb.StartAction = "start", "none"
	b, err := r.startVigil(r.topo.GwB, "b", vigiltest.Conf{Tunnels: []vigiltest.Tunnel{tb}})
	if err != nil {
		return sample{}, err
	}
	a, err := r.startVigil(r.topo.GwA, "a", vigiltest.Conf{Tunnels: []vigiltest.Tunnel{ta}})
	if err != nil {
		return sample{}, err
	}
	cb, err := vigilPaired(ctx, a, b)
	if err != nil {
		return sample{}, err
	}
	probes, err := r.startProbes(ctx)
	if err != nil {
		return sample{}, err
	}
	seq := a.LastSeq(ctx)
	fault := time.Now()
	if _, err := b.Client.DeleteChildSA(ctx, cb.SPIIn, false); err != nil {
		return sample{}, err
	}
	smp, err := r.measure(probes, fault, probes.Arrived())
	if err == nil {
		smp.note = recoveredBy(r, a, seq)
	}
	return smp, err
}

// silentChildLossSwanPeer: strongSwan B's Child SA hits its hard lifetime (6 s, no rekey) and
// the Delete it sends is dropped, so B silently stops accepting A's ESP. Vigil A runs its
// defaults (child_probe 3 s). The fault time is when B's Child SA is gone. In IKEv1 the probe
// replaces the Child SA with a new Quick Mode, which Vigil logs as a rekey (IKEv1 has no
// CHILD_SA_NOT_FOUND to turn it into a recovery).
func silentChildLossSwanPeer(r *run, v ikeVersion) (sample, error) {
	ctx, cancel := r.setupCtx()
	defer cancel()
	psk := newPSK()
	sb := swanSide("b", psk, v)
	silentExpiry(&sb, r.env.childLife)
	ch, err := r.startSwan(r.topo.GwB, "b", sb)
	if err != nil {
		return sample{}, err
	}
	ta := vigilSide("a", psk, v)
	ta.StartAction = "start"
	a, err := r.startVigil(r.topo.GwA, "a", vigiltest.Conf{Tunnels: []vigiltest.Tunnel{ta}})
	if err != nil {
		return sample{}, err
	}
	cb, err := vigilSwanPaired(ctx, a, ch)
	if err != nil {
		return sample{}, err
	}
	if err := dropDeletes(ctx, r.topo.GwB, v); err != nil {
		return sample{}, err
	}
	probes, err := r.startProbes(ctx)
	if err != nil {
		return sample{}, err
	}
	seq := a.LastSeq(ctx)
	if _, err := ch.WaitFor(ctx, swanChildGone(cb.SPIIn)); err != nil {
		return sample{}, fmt.Errorf("strongSwan's Child SA did not expire: %w", err)
	}
	fault := time.Now()
	smp, err := r.measure(probes, fault, probes.Arrived())
	if err == nil {
		smp.note = recoveredBy(r, a, seq)
	}
	return smp, err
}

// peerRestartVigil: Vigil B is killed with SIGKILL (all state lost, nothing sent) and
// started again; both ends have start_action = "start".
func peerRestartVigil(r *run, v ikeVersion) (sample, error) {
	ctx, cancel := r.setupCtx()
	defer cancel()
	psk := newPSK()
	ta, tb := vigilSide("a", psk, v), vigilSide("b", psk, v)
	ta.StartAction, tb.StartAction = "start", "start"
	b, err := r.startVigil(r.topo.GwB, "b", vigiltest.Conf{Tunnels: []vigiltest.Tunnel{tb}})
	if err != nil {
		return sample{}, err
	}
	a, err := r.startVigil(r.topo.GwA, "a", vigiltest.Conf{Tunnels: []vigiltest.Tunnel{ta}})
	if err != nil {
		return sample{}, err
	}
	if _, err := vigilPaired(ctx, a, b); err != nil {
		return sample{}, err
	}
	probes, err := r.startProbes(ctx)
	if err != nil {
		return sample{}, err
	}
	seq := a.LastSeq(ctx)
	fault := time.Now()
	b.Kill9()
	base := probes.Arrived()
	if err := b.Relaunch(); err != nil {
		return sample{}, err
	}
	smp, err := r.measure(probes, fault, base)
	if err == nil {
		smp.note = recoveredBy(r, a, seq)
	}
	return smp, err
}

// peerRestartSwanPeer: strongSwan B is killed with SIGKILL and started again; it waits
// (start_action none) and says nothing about A's ESP, so Vigil A (defaults: dpd_delay 10 s,
// dpd_timeout 10 s, child_probe 3 s) must find out by itself.
func peerRestartSwanPeer(r *run, v ikeVersion) (sample, error) {
	ctx, cancel := r.setupCtx()
	defer cancel()
	psk := newPSK()
	sb := swanSide("b", psk, v)
	ch, err := r.startSwan(r.topo.GwB, "b", sb)
	if err != nil {
		return sample{}, err
	}
	ta := vigilSide("a", psk, v)
	ta.StartAction = "start"
	a, err := r.startVigil(r.topo.GwA, "a", vigiltest.Conf{Tunnels: []vigiltest.Tunnel{ta}})
	if err != nil {
		return sample{}, err
	}
	if _, err := vigilSwanPaired(ctx, a, ch); err != nil {
		return sample{}, err
	}
	probes, err := r.startProbes(ctx)
	if err != nil {
		return sample{}, err
	}
	seq := a.LastSeq(ctx)
	fault := time.Now()
	if err := ch.Kill9(); err != nil {
		return sample{}, err
	}
	base := probes.Arrived()
	if _, err := r.startSwan(r.topo.GwB, "b2", sb); err != nil {
		return sample{}, err
	}
	smp, err := r.measure(probes, fault, base)
	if err == nil {
		smp.note = recoveredBy(r, a, seq)
	}
	return smp, err
}

// swanSilentChildLoss is the baseline of both silent-child-loss lines: strongSwan cannot drop
// a Child SA silently on command, so B loses it as in silentChildLossSwanPeer (hard lifetime,
// Delete dropped), against strongSwan A (dpd_delay 5 s, dpd_action restart).
func swanSilentChildLoss(r *run, v ikeVersion) (sample, error) {
	return swanSilentChildLossA(r, v, swanSide("a", "", v))
}

// swanSilentChildLossA is swanSilentChildLoss with strongSwan A's connection sa (its PSK is
// set here).
func swanSilentChildLossA(r *run, v ikeVersion, sa swan.Conf) (sample, error) {
	ctx, cancel := r.setupCtx()
	defer cancel()
	psk := newPSK()
	sb := swanSide("b", psk, v)
	silentExpiry(&sb, r.env.childLife)
	b, err := r.startSwan(r.topo.GwB, "b", sb)
	if err != nil {
		return sample{}, err
	}
	sa.PSK = psk
	a, err := r.startSwan(r.topo.GwA, "a", sa)
	if err != nil {
		return sample{}, err
	}
	cb, err := swanPaired(ctx, a, b)
	if err != nil {
		return sample{}, err
	}
	if err := dropDeletes(ctx, r.topo.GwB, v); err != nil {
		return sample{}, err
	}
	probes, err := r.startProbes(ctx)
	if err != nil {
		return sample{}, err
	}
	if _, err := b.WaitFor(ctx, swanChildGone(cb.SPIIn)); err != nil {
		return sample{}, fmt.Errorf("strongSwan B's Child SA did not expire: %w", err)
	}
	fault := time.Now()
	return r.measure(probes, fault, probes.Arrived())
}

// swanRestartInitiating is the baseline of peer-restart vigil<->vigil: strongSwan B is killed
// with SIGKILL and comes back with start_action start, so it initiates at once (with
// INITIAL_CONTACT). The first B waits (start_action none) so that the initial setup does not
// race A's into two IKE SAs.
func swanRestartInitiating(r *run, v ikeVersion) (sample, error) {
	return swanRestart(r, v, "start")
}

// swanRestartWaiting is the baseline of peer-restart vigil<->strongswan: B comes back with
// start_action none, so A must detect the dead peer with DPD (dpd_delay 5 s, dpd_action
// restart; in IKEv1 with R-U-THERE).
func swanRestartWaiting(r *run, v ikeVersion) (sample, error) {
	return swanRestart(r, v, "none")
}

func swanRestart(r *run, v ikeVersion, restartAction string) (sample, error) {
	return swanRestartA(r, v, swanSide("a", "", v), restartAction)
}

// swanRestartA is swanRestart with strongSwan A's connection sa (its PSK is set here). The
// sample records when the restarted charon was started, for the restart-here lines.
func swanRestartA(r *run, v ikeVersion, sa swan.Conf, restartAction string) (sample, error) {
	ctx, cancel := r.setupCtx()
	defer cancel()
	psk := newPSK()
	sb := swanSide("b", psk, v)
	b, err := r.startSwan(r.topo.GwB, "b", sb)
	if err != nil {
		return sample{}, err
	}
	sa.PSK = psk
	a, err := r.startSwan(r.topo.GwA, "a", sa)
	if err != nil {
		return sample{}, err
	}
	if _, err := swanPaired(ctx, a, b); err != nil {
		return sample{}, err
	}
	probes, err := r.startProbes(ctx)
	if err != nil {
		return sample{}, err
	}
	fault := time.Now()
	if err := b.Kill9(); err != nil {
		return sample{}, err
	}
	base := probes.Arrived()
	sb.StartAction = restartAction
	back := time.Now() // charon starts, as in restartHereSwan
	if _, err := r.startSwan(r.topo.GwB, "b2", sb); err != nil {
		return sample{}, err
	}
	smp, err := r.measure(probes, fault, base)
	smp.back = back
	return smp, err
}
