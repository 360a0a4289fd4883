package main

import (
	"fmt"
	"time"

	"github.com/vigil-ipsec/vigil/api"
	"github.com/vigil-ipsec/vigil/internal/swan"
	"github.com/vigil-ipsec/vigil/internal/vigiltest"
)

// The heal lines: Vigil is the side that lost its state (gateway/heal.go). Vigil runs on
// gateway B as the responder (start_action none) and strongSwan on gateway A initiates, so
// the probe stream comes from strongSwan's side. They are printed after the other IKEv2 lines.
var (
	healScenarios = []scenario{
		{"child-lost-here-swan", "child-lost-here", "vigil<->strongswan", at(ikev2, childLostHereSwan), "swan-child-lost-here", false},
		{"restart-here-swan", "restart-here", "vigil<->strongswan", at(ikev2, restartHereSwanDPD), "swan-restart-waiting", true},
		{"restart-here-nodpd-swan", "restart-here-nodpd", "vigil<->strongswan", at(ikev2, restartHereSwanNoDPD), "swan-restart-here-nodpd", true},
	}
	healBaselines = []baseline{
		{"swan-child-lost-here", "strongswan<->strongswan", at(ikev2, swanChildLostHere)},
		{"swan-restart-here-nodpd", "strongswan<->strongswan", at(ikev2, swanRestartHereNoDPD)},
	}
)

// noDPD turns strongSwan A's connection into one without dead peer detection (no dpd_delay,
// so no dpd_action either).
func noDPD(c swan.Conf) swan.Conf {
	c.DPDDelay = 0
	c.ExtraChildOptions = nil
	return c
}

// startSwanVigil starts Vigil B (responder, start_action none, Vigil's defaults otherwise) and
// strongSwan A (initiator, connection sa with the PSK set here) and waits until they agree
// on one Child SA pair; it returns Vigil's Child SA.
func (r *run) startSwanVigil(v ikeVersion, sa swan.Conf) (*vigiltest.Vigil, api.ChildSA, error) {
	ctx, cancel := r.setupCtx()
	defer cancel()
	psk := newPSK()
	tb := vigilSide("b", psk, v)
	tb.StartAction = "none"
	b, err := r.startVigil(r.topo.GwB, "b", vigiltest.Conf{Tunnels: []vigiltest.Tunnel{tb}})
	if err != nil {
		return nil, api.ChildSA{}, err
	}
	sa.PSK = psk
	a, err := r.startSwan(r.topo.GwA, "a", sa)
	if err != nil {
		return nil, api.ChildSA{}, err
	}
	if _, err := vigilSwanPaired(ctx, b, a); err != nil {
		return nil, api.ChildSA{}, err
	}
	sas, err := b.Client.SAs(ctx, "")
	if err != nil {
		return nil, api.ChildSA{}, err
	}
	cb, ok := vigiltest.Child(sas, tunnelName)
	if !ok {
		return nil, api.ChildSA{}, fmt.Errorf("Vigil B's Child SA is gone right after setup")
	}
	return b, cb, nil
}

// childLostHereSwan: Vigil B drops its Child SA without telling strongSwan A
// (DeleteChildSA(B's inbound SPI, notify=false)). A (no DPD) keeps sending on it; B answers
// INVALID_SPI, which strongSwan ignores, and after heal_delay (1 s) creates the Child SA
// itself and deletes A's stale pair.
func childLostHereSwan(r *run, v ikeVersion) (sample, error) {
	b, cb, err := r.startSwanVigil(v, noDPD(swanSide("a", "", v)))
	if err != nil {
		return sample{}, err
	}
	ctx, cancel := r.setupCtx()
	defer cancel()
	probes, err := r.startProbes(ctx)
	if err != nil {
		return sample{}, err
	}
	seq := b.LastSeq(ctx)
	fault := time.Now()
	if _, err := b.Client.DeleteChildSA(ctx, cb.SPIIn, false); err != nil {
		return sample{}, err
	}
	smp, err := r.measure(probes, fault, probes.Arrived())
	if err == nil {
		smp.note = recoveredBy(r, b, seq)
	}
	return smp, err
}

// restartHereSwanDPD: Vigil B is killed with SIGKILL and started again with the same
// configuration (start_action none) while strongSwan A (dpd_delay 5 s, dpd_action restart)
// keeps sending; A's next ESP (or DPD request) makes B initiate with INITIAL_CONTACT.
func restartHereSwanDPD(r *run, v ikeVersion) (sample, error) {
	return restartHereSwan(r, v, swanSide("a", "", v))
}

// restartHereSwanNoDPD is restartHereSwanDPD with strongSwan A without DPD: only its ESP
// tells B.
func restartHereSwanNoDPD(r *run, v ikeVersion) (sample, error) {
	return restartHereSwan(r, v, noDPD(swanSide("a", "", v)))
}

func restartHereSwan(r *run, v ikeVersion, sa swan.Conf) (sample, error) {
	b, _, err := r.startSwanVigil(v, sa)
	if err != nil {
		return sample{}, err
	}
	ctx, cancel := r.setupCtx()
	defer cancel()
	probes, err := r.startProbes(ctx)
	if err != nil {
		return sample{}, err
	}
	fault := time.Now()
	b.Kill9()
	base := probes.Arrived()
	// Back is when the new process starts: its control API is polled every 20 ms, and the
	// heal is often done before the first poll that succeeds.
	back := time.Now()
	if err := b.Relaunch(); err != nil {
		return sample{}, err
	}
	ready := time.Now()
	smp, err := r.measure(probes, fault, base)
	smp.back = back
	if err == nil {
		smp.note = fmt.Sprintf("vigild started %s after the kill, API answered %s after the start; %s",
			formatDuration(back.Sub(fault)), formatDuration(ready.Sub(back)), recoveredBy(r, b, 0))
	}
	return smp, err
}

// swanChildLostHere is the baseline of child-lost-here: strongSwan B (the responder) loses
// its Child SA silently as in swanSilentChildLoss (hard lifetime, Delete dropped), against
// strongSwan A without DPD as in childLostHereSwan.
func swanChildLostHere(r *run, v ikeVersion) (sample, error) {
	return swanSilentChildLossA(r, v, noDPD(swanSide("a", "", v)))
}

// swanRestartHereNoDPD is the baseline of restart-here-nodpd: strongSwan B restarted with
// start_action none, strongSwan A without DPD. (The baseline of restart-here, with A's DPD,
// is swanRestartWaiting.)
func swanRestartHereNoDPD(r *run, v ikeVersion) (sample, error) {
	return swanRestartA(r, v, noDPD(swanSide("a", "", v)), "none")
}
